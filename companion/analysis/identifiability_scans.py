r"""The scans of notebook 02 as tasks: one row of the depth table, one certified row, one scanned measure of the
separated GELU case, of Pearson's problem and of the He_6 decomposition (reduced and full system). Each takes a
``Stream`` (and the index of its measure) and draws everything from it, so a task's result depends on its arguments
only (the task cache, Dask workers)."""

import math

import numpy as np
import torch

from ..engine.contract import ActivationName, Device, Instance, Int, validated
from ..engine.seeding import Stream
from .identifiability import (
    catalecticant,
    fibre_search,
    moment_tensors,
    numerical_rank,
    orbit_depth,
    pearson_fibre,
    random_atoms,
    symmetry_dimension,
    unpack,
    variety_depth,
)
from .moment_systems import certified_row, sextic_second_decomposition
from .waring import decomposition_terms, form_coefficients, term_distance, waring_decompositions

_NAME = ActivationName(examples=("he2", "erf"), resolve=False)
_STREAM = Instance(Stream, lambda dims: Stream(0, "scan"), "a Stream (companion.engine.seeding)")
_RESTARTS = Int(1, example_max=0)


@validated(
    name=_NAME,
    S=Int(1, example_max=0),
    d=Int(1, example_max=0),
    restarts=_RESTARTS,
    instances=Int(1, example_max=0),
    stream=_STREAM,
    device=Device(),
    fuzz_valid=False,
)
def depth_row(name, S, d, restarts, instances, stream, device):
    """One row of the depth table (a task): the Jacobian rank profile and D*_var of Φ_D for generic S-atom measures
    in d dimensions, then the fibre search at every depth up to D*_var + 3 (3 when D*_var = ∞), with ``instances``
    measures (one more for d = 1) and ``restarts`` restarts per round. Returns (row, cells): the row's summary and
    one dict per depth searched."""
    g = stream.generator(device=device)
    D_cap = 12 if d > 1 else 10
    var = variety_depth(name, S, d, D_cap, g)
    D_max = int(var.depth) + 3 if math.isfinite(var.depth) else 3
    instances = instances + (1 if d == 1 else 0)
    orb = orbit_depth(name, S, d, D_max, g, restarts=restarts, instances=instances)
    label = f"{name} S={S} d={d}"
    cells = []
    for D, status, total, conv, out in zip(orb.depths, orb.status, orb.restarts, orb.converged, orb.outside):
        rank = var.ranks[D - 1] if D <= len(var.ranks) else var.ranks[-1]
        cells.append(dict(row=label, D=D, status=status, restarts=total, converged=conv, outside=out, rank=rank))
    row = dict(
        row=label,
        activation=name,
        S=S,
        d=d,
        parameters=S * (1 + d),
        symmetry_dim=symmetry_dimension(name, S),
        target_rank=var.target,
        rank_profile=",".join(map(str, var.ranks)),
        D_var=var.depth,
        D_orb=orb.depth,
        status="".join(s[0].upper() for s in orb.status),
        instances=instances,
        restarts=sum(orb.restarts),
        converged=sum(orb.converged),
        outside=sum(orb.outside),
        success_at_D_orb=orb.converged[-1] / orb.restarts[-1],
        separation=orb.separation(var.depth),
    )
    return row, cells


@validated(
    name=_NAME,
    S=Int(1, example_max=0),
    d=Int(1, example_max=0),
    stream=_STREAM,
    max_paths=Int(1, example_min=100, example_max=0),
    restarts=_RESTARTS,
)
def certified_task(name, S, d, stream, max_paths, restarts):
    """One certified row (a task): ``moment_systems.certified_row`` on a unit-direction measure from ``stream``."""
    return certified_row(name, S, d, stream.generator(), restarts=restarts, max_paths=max_paths)


@validated(stream=_STREAM, instance=Int(0, example_max=0), device=Device(), fuzz_valid=False)
def separated_instance(stream, instance, device):
    """One scanned measure (a task): a random two-atom GELU measure in d = 1 and its fibre search at depths 1…7 (24
    restarts a round), both from replica ``instance`` of ``stream``. Returns (row, preimage): the scan's row and, when
    depth 4 is refuted, the second real preimage found there (else None)."""
    g = stream.generator(instance, device=device)
    a, W = random_atoms(2, 1, g)
    result = orbit_depth("gelu", 2, 1, 7, g, restarts=24, measures=[(a, W)])
    hit = result.status[3] == "refuted" if len(result.status) > 3 else False
    row = dict(D_orb=result.depth, status="".join(s[0].upper() for s in result.status), second_preimage_at_4=hit)
    if not hit:
        return row, None
    search = next(s for s in result.searches[3] if s.n_outside)
    b = int(torch.nonzero(search.outside).flatten()[0])
    a2, W2 = unpack(search.solutions[b], 2)
    return row, dict(
        a=a,
        W=W,
        a2=a2,
        W2=W2,
        D_orb=result.depth,
        orbit_distance=float(search.orbit_distance[b]),
        success=search.success_rate,
        restarts=search.restarts,
    )


@validated(restarts=_RESTARTS, stream=_STREAM, instance=Int(0, example_max=0), device=Device(), fuzz_valid=False)
def pearson_instance(restarts, stream, instance, device):
    """One scanned mixture (a task): p ~ U(0.2, 0.8), means N(0, 1), standard deviations 0.5 + U(0, 1) and the fibre of
    its first five moments (``restarts`` Levenberg–Marquardt starts), all from replica ``instance`` of ``stream``; when
    that fibre holds two admissible mixtures, also the fibre of six moments. Returns their dict, or None."""
    g = stream.generator(instance, device=device)
    p = 0.2 + 0.6 * torch.rand(1, generator=g, dtype=torch.float64)
    weights = torch.cat([p, 1 - p])
    means = torch.randn(2, generator=g, dtype=torch.float64)
    sds = 0.5 + torch.rand(2, generator=g, dtype=torch.float64)
    five, rate5 = pearson_fibre(weights, means, sds, 5, restarts, g)
    if five.shape[0] < 2:
        return None
    six, rate6 = pearson_fibre(weights, means, sds, 6, restarts, g)
    return dict(weights=weights, means=means, sds=sds, five=five, six=six, rate5=rate5, rate6=rate6)


@validated(restarts=_RESTARTS, stream=_STREAM, instance=Int(0, example_max=0), device=Device(), fuzz_valid=False)
def he6_instance(restarts, stream, instance, device):
    """One scanned measure (a task): nine random unit atoms in d = 3 and a fibre search of T_6 with ``restarts`` starts
    restricted to the apolar cubic of T_6, both from replica ``instance`` of ``stream``. Returns (row, second): the
    scan's row and, when a converged restart lies outside μ's orbit, the first such decomposition (else None). The
    row also holds the reduced formulation's linked partner (``moment_systems.sextic_second_decomposition``): the
    kernel dimension of its pairing matrix, the partner's relative residual and whether it is real."""
    g = stream.generator(instance, device=device)
    a, W = random_atoms(9, 3, g, unit_norm=True)
    T6 = moment_tensors("he6", a, W, 6, unit_norm=True)[6]
    C = catalecticant(T6, 3, 6, 3)
    cubic = torch.linalg.svd(C).Vh[-1]
    search = fibre_search("he6", a, W, 6, restarts, g, unit_norm=True, max_iter=300, form=cubic)
    partner = sextic_second_decomposition(a, W, seed=instance)
    s = partner["singular_values"]
    row = dict(
        catalecticant_rank=numerical_rank(C)[0],
        restarts=search.restarts,
        converged=int(search.converged.sum()),
        outside=search.n_outside,
        pairing_kernel=int((s < 1e-10).sum()),
        partner_residual=partner["relative_residual"],
        partner_distance=partner["distance_to_mu"],
        partner_real=partner["real"],
        partner_seconds=partner["seconds"],
    )
    if not search.n_outside:
        return row, None
    b = int(torch.nonzero(search.outside).flatten()[0])
    a2, W2 = unpack(search.solutions[b], 9)
    return row, dict(
        a=a,
        W=W,
        a2=a2,
        W2=W2 / W2.norm(dim=1, keepdim=True),
        cubic=cubic,
        orbit_distance=float(search.orbit_distance[b]),
        catalecticant_rank=numerical_rank(C)[0],
    )


@validated(
    starts=Int(1),
    iterations=Int(1),
    stream=_STREAM,
    instance=Int(0, example_max=0),
    device=Device(),
    fuzz_valid=False,
)
def he6_full_system(starts, iterations, stream, instance, device):
    """The He_6 measure of ``he6_instance`` (replica ``instance`` of ``stream``: the same nine unit atoms) and every
    nine-term decomposition of its sextic Σ_j a_j (ŵ_j·x)^6 that ``starts`` complex starts of Gauss–Newton on the full
    28-equation system reach (``waring.waring_decompositions``, starts from sub-stream 1 of the replica), without the
    apolar cubic. Returns the search's totals (starts, converged, seconds) and ``decompositions``: one row per
    distinct decomposition with hits, real, α and certified, residual, the Gauss–Newton residuals from a relative 1e-4
    away, its term distance to μ and to the reduced formulation's linked partner (``sextic_second_decomposition``;
    NaN where that partner was not computed)."""
    g = stream.generator(instance, device=device)
    a, W = random_atoms(9, 3, g, unit_norm=True)
    a, W = a.to(torch.float64).cpu().numpy(), W.to(torch.float64).cpu().numpy()
    f = form_coefficients(a, W, 6)
    search = waring_decompositions(f, 6, 9, starts, stream.rng(instance, purpose=1), iterations=iterations)
    mu = np.stack([form_coefficients(a[j : j + 1], W[j : j + 1], 6) for j in range(9)])
    partner = sextic_second_decomposition(a, W, seed=instance)
    linked = None
    if partner["relative_residual"] < 1e-9:
        linked = np.stack(
            [form_coefficients(partner["weights"][j : j + 1], partner["points"][j : j + 1], 6) for j in range(9)]
        )
    rows = []
    for K, terms in enumerate(decomposition_terms(search)):
        rows.append(
            dict(
                instance=instance,
                decomposition=K,
                hits=int(search.hits[K]),
                real=bool(search.real[K]),
                alpha=float(search.alpha[K]),
                certified=bool(search.certified[K]),
                residual=float(search.residual[K]),
                **{f"newton_{s}": float(v) for s, v in enumerate(search.newton[K])},
                distance_to_mu=term_distance(terms, mu),
                distance_to_partner=math.nan if linked is None else term_distance(terms, linked),
            )
        )
    return dict(
        instance=instance,
        starts=search.starts,
        converged=search.converged,
        seconds=search.seconds,
        certify_seconds=search.certify_seconds,
        partner_seconds=partner["seconds"],
        decompositions=rows,
    )
