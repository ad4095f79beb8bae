r"""The moment equations Φ_D(μ') = Φ_D(μ) as polynomial systems, solved for all complex solutions.

**Directions on the sphere.** With |w_j| = 1 the radial coefficients are constants c_k = c_k(1), and the
equations :math:`T_k(\mu') = T_k(\mu)` read, divided by c_k ≠ 0,

.. math:: \sum_j a'_j\,P_k(w'_j) = T_k(\mu)/c_k,\qquad |w'_j|^2 = 1,

polynomial in (a', W') (P_k the stored symmetric power, ``identifiability.symmetric_power``). On the sphere
contracting :math:`\hat w^{\otimes k}` over a pair of indices gives :math:`\hat w^{\otimes (k-2)}`, so T_{k−2} follows
from T_k when both are present (c_{k−2}, c_k ≠ 0): the system at depth D keeps, per parity, the highest order
k ≤ D with c_k ≠ 0. A system with more equations than unknowns is squared by a random real combination of its
moment equations; its solutions contain the fibre, and the fibre is read off by the residual of the full system.

**Depths certified.** Below D*_var the Jacobian of the full system at μ has rank < S(1+d): the fibre through μ has
positive dimension and contains real measures outside μ's finite orbit (constant-rank theorem), which refutes D.
At the first full-rank depth the square system is solved by ``polynomial_systems.solve``; every isolated point of
the fibre at any larger depth is one of these solutions that also matches the higher moments, so one solve
decides all depths: D is **certified** when every real solution lies in μ's orbit (canonical forms,
``symmetry.canonicalize``), **refuted** by a real one outside it.

**Pearson's problem.** A mixture p N(m_1, v_1) + (1 − p) N(m_2, v_2) has raw moments
:math:`\sum_i p_i\sum_j \binom{k}{2j}(2j-1)!!\,m_i^{k-2j}v_i^j`, polynomial of degree k + 1 in (p, m_1, m_2, v_1, v_2).
"""
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..engine.activations import get_activation
from ..engine.validation import atomic_measure, positive_int
from .identifiability import _canonical, moment_tensors, multi_indices, pack, unpack
from .polynomial_systems import PolynomialSystem, solve
from .symmetry import matched_distance


def _orders(activation, D, tol=1e-12):
    """Moment orders kept at depth D on the sphere: per parity the highest k ≤ D with c_k(1) ≠ 0."""
    c = get_activation(activation).coefficients(torch.ones((), dtype=torch.float64), D + 1).numpy()
    kept = [max((k for k in range(D + 1) if k % 2 == parity and abs(c[k]) > tol), default=None) for parity in (0, 1)]
    return sorted(k for k in kept if k is not None), c


def sphere_moment_system(activation, a, W, D):
    """(moments, sphere): the polynomial systems of Φ_D(μ') = Φ_D(μ) on the sphere in the unknowns
    (a'_1..a'_S, w'_1..w'_S) packed as ``identifiability.pack``: ``moments`` the kept moment equations (module
    docstring), ``sphere`` the S equations |w'_j|² − 1. μ = (a, W) has its directions normalised first."""
    a, W = atomic_measure(a, W, nonzero=True)
    a, W = a.to(torch.float64), W.to(torch.float64)
    W = W / W.norm(dim=-1, keepdim=True)
    S, d = W.shape
    D = positive_int("D", D)
    n = S * (1 + d)
    orders, c = _orders(activation, D)
    targets = moment_tensors(activation, a, W, D, unit_norm=True)
    rows, constants = [], []
    for k in orders:
        alpha, weight = multi_indices(d, k)
        for m in range(alpha.shape[0]):
            rows.append([(j, alpha[m], weight[m]) for j in range(S)])
            constants.append(float(targets[k][m]) / c[k])
    exps, coefs = {}, {}
    for i, (row, constant) in enumerate(zip(rows, constants)):
        for j, alpha, weight in row:
            e = np.zeros(n, dtype=int)
            e[j] = 1
            e[S + j * d:S + (j + 1) * d] = alpha
            coefs.setdefault(tuple(e), {})[i] = weight
        coefs.setdefault((0,) * n, {})[i] = -constant
    moments = _system(coefs, len(rows), n)
    sphere = {}
    for j in range(S):
        for i in range(d):
            e = np.zeros(n, dtype=int)
            e[S + j * d + i] = 2
            sphere.setdefault(tuple(e), {})[j] = 1.0
        sphere.setdefault((0,) * n, {})[j] = -1.0
    return moments, _system(sphere, S, n)


def _system(coefs, m, n):
    E = np.array(list(coefs), dtype=int).reshape(-1, n)
    C = np.zeros((E.shape[0], m))
    for t, entries in enumerate(coefs.values()):
        for i, value in entries.items():
            C[t, i] = value
    return PolynomialSystem(E, C)


def _rank(F, x, rtol=1e-9):
    s = np.linalg.svd(F.jacobian(np.asarray(x, dtype=complex)[None])[1][0], compute_uv=False)
    return int((s > rtol * s[0]).sum())


@dataclass(frozen=True)
class CertifiedDepth:
    """Outcome of ``certified_orbit_depth`` for one measure.

    depth: the first certified depth (math.inf if none up to D_max, math.nan if not solved); status per depth D =
    1..D_max: "positive-dimensional", "refuted", "certified" or "not solved" (over max_paths); solved_at: the
    depth whose square system was solved; paths, seconds, diverged, failed: the homotopy's; complex, real,
    outside: per depth, the fibre's isolated solutions, the real ones, the real ones outside μ's orbit;
    singular: singular solutions of the square system that satisfy the full system (certification needs none);
    alpha_certified: regular fibre solutions certified by the α-test."""

    depth: float
    depths: tuple
    status: tuple
    solved_at: int
    paths: int
    seconds: float
    diverged: int
    failed: int
    complex: tuple
    real: tuple
    outside: tuple
    singular: int
    alpha_certified: int


def certified_orbit_depth(activation, a, W, D_max, seed=0, max_paths=5000, residual_tol=1e-8, orbit_tol=1e-5,
                          at_infinity=100.0):
    """D*_orb of the measure (a, W) on the sphere from all solutions of the moment equations (module docstring).
    ``seed`` draws the squaring matrix and the homotopy's γ; systems with more than ``max_paths`` paths are not
    solved. Fibre points are solutions of the square system whose full moment residual, relative to |Φ_D(μ)|, is
    below ``residual_tol``; a real one lies outside the orbit when its canonical matched distance to μ, over Σ|a|,
    exceeds ``orbit_tol``. Solutions with |x| > ``at_infinity`` are not sought (``polynomial_systems.solve``): the
    weights of a fibre point are bounded by the moments, |a'_j| ≲ |T_k(μ)|/|c_k| for well-separated directions."""
    act = get_activation(activation)
    a, W = atomic_measure(a, W, nonzero=True)
    a, W = a.to(torch.float64), W.to(torch.float64)
    W = W / W.norm(dim=-1, keepdim=True)
    S, d = W.shape
    D_max = positive_int("D_max", D_max)
    n = S * (1 + d)
    x_mu = pack(a, W).numpy()
    rng = np.random.default_rng(seed)
    status, complex_, real, outside = [], [], [], []
    fibre, solved_at, result, singular, alpha_ok = None, 0, None, 0, 0
    reference = _canonical(act, a, W, True, 1e-7)
    scale = float(a.abs().sum())
    start = time.perf_counter()
    for D in range(1, D_max + 1):
        moments, sphere = sphere_moment_system(act, a, W, D)
        if fibre is None:
            if _rank(moments.stack(sphere), x_mu) < n:
                status.append("positive-dimensional")
                complex_.append(math.inf), real.append(math.inf), outside.append(math.inf)
                continue
            R = rng.standard_normal((n - S, moments.n_equations)) if moments.n_equations > n - S else np.eye(n - S)
            square = moments.combine(R).stack(sphere)
            if int(np.prod(square.degrees)) > max_paths:
                status += ["not solved"] * (D_max - D + 1)
                complex_ += [math.nan] * (D_max - D + 1)
                real += [math.nan] * (D_max - D + 1)
                outside += [math.nan] * (D_max - D + 1)
                break
            result = solve(square, seed=int(rng.integers(2**31)), at_infinity=at_infinity)
            solved_at = D
            fibre = result.points
            singular = int((~result.regular & _on(moments, sphere, fibre, residual_tol)).sum())
            keep = result.regular
            fibre, real_mask, cert = fibre[keep], result.real[keep], result.certified[keep]
        target = np.abs(moments(np.zeros((1, n), dtype=complex))).max()
        on = _on(moments, sphere, fibre, residual_tol, target)
        fibre, real_mask, cert = fibre[on], real_mask[on], cert[on]
        alpha_ok = int(cert.sum())
        out = 0
        for x in fibre[real_mask].real:
            a2, W2 = unpack(torch.as_tensor(x), S)
            if matched_distance(reference, _canonical(act, a2, W2, True, 1e-7)) / scale > orbit_tol:
                out += 1
        complex_.append(len(fibre)), real.append(int(real_mask.sum())), outside.append(out)
        status.append("refuted" if out else "certified")
    certified = [D for D, s in zip(range(1, D_max + 1), status) if s == "certified"]
    depth = certified[0] if certified else (math.nan if "not solved" in status else math.inf)
    return CertifiedDepth(depth=depth, depths=tuple(range(1, D_max + 1)), status=tuple(status), solved_at=solved_at,
                          paths=result.paths if result else 0, seconds=time.perf_counter() - start,
                          diverged=result.diverged if result else 0, failed=result.failed if result else 0,
                          complex=tuple(complex_), real=tuple(real), outside=tuple(outside), singular=singular,
                          alpha_certified=alpha_ok)


def _on(moments, sphere, X, tol, target=None):
    """Rows of X that satisfy the moment equations (relative to the constants' size) and the sphere equations."""
    if len(X) == 0:
        return np.zeros(0, dtype=bool)
    if target is None:
        target = np.abs(moments(np.zeros((1, X.shape[1]), dtype=complex))).max()
    return ((np.abs(moments(X)).max(axis=1) < tol * max(target, 1.0)) & (np.abs(sphere(X)).max(axis=1) < tol))


def normal_raw_moment(k, m, v):
    r""":math:`E(m + \sqrt v Z)^k = \sum_j \binom{k}{2j}(2j-1)!!\,m^{k-2j}v^j` (works for numbers and arrays)."""
    return sum(math.comb(k, 2 * j) * math.prod(range(1, 2 * j, 2)) * m ** (k - 2 * j) * v**j for j in range(k // 2 + 1))


def pearson_system(moments):
    """Pearson's system: the raw moments m_1..m_5 (``moments``, length ≥ 5) of p N(m_1, v_1) + (1 − p) N(m_2, v_2)
    as a ``PolynomialSystem`` in (p, m_1, m_2, v_1, v_2); degrees 2, 3, 4, 5, 6 (720 homotopy paths)."""
    moments = np.asarray(moments, dtype=float)
    if moments.ndim != 1 or moments.size < 5:
        raise ValueError(f"moments: need m_1..m_5, got shape {moments.shape}")
    coefs = {}
    for k in range(1, 6):
        for j in range(k // 2 + 1):
            value = math.comb(k, 2 * j) * math.prod(range(1, 2 * j, 2))
            for e, sign in [((1, k - 2 * j, 0, j, 0), 1.0), ((1, 0, k - 2 * j, 0, j), -1.0), ((0, 0, k - 2 * j, 0, j), 1.0)]:
                entry = coefs.setdefault(e, {})
                entry[k - 1] = entry.get(k - 1, 0.0) + sign * value
        entry = coefs.setdefault((0, 0, 0, 0, 0), {})
        entry[k - 1] = entry.get(k - 1, 0.0) - moments[k - 1]
    return _system(coefs, 5, 5)


def pearson_solutions(weights, means, sds, seed=0):
    """Every complex mixture (p, m_1, m_2, v_1, v_2) with the first five raw moments of the mixture
    Σ_i weights_i N(means_i, sds_i²), by ``polynomial_systems.solve``. Returns (Solutions, table): the table (one row
    per solution) has p, m_1, m_2, v_1, v_2 (real parts), real, admissible (real, 0 < p < 1, v > 0) and
    sixth_moment_gap |m_6 − m_6(μ)| / |m_6(μ)|."""
    import pandas as pd

    weights, means, sds = (np.asarray(v, dtype=float) for v in (weights, means, sds))
    target = [float(np.sum(weights * normal_raw_moment(k, means, sds**2))) for k in range(1, 7)]
    result = solve(pearson_system(target[:5]), seed=seed)
    X = result.points
    m6 = X[:, 0] * normal_raw_moment(6, X[:, 1], X[:, 3]) + (1 - X[:, 0]) * normal_raw_moment(6, X[:, 2], X[:, 4])
    table = pd.DataFrame(dict(p=X[:, 0].real, m_1=X[:, 1].real, m_2=X[:, 2].real, v_1=X[:, 3].real, v_2=X[:, 4].real,
                              real=result.real, certified=result.certified,
                              sixth_moment_gap=np.abs(m6 - target[5]) / abs(target[5])))
    table["admissible"] = table.real & (table.p > 0) & (table.p < 1) & (table.v_1 > 0) & (table.v_2 > 0)
    return result, table


def certified_row(activation, S, d, generator, D_max=6, restarts=16, max_paths=5000, seed=0):
    """One generic measure on the sphere (``identifiability.random_atoms(..., unit_norm=True)`` from
    ``generator``), its D*_orb from every solution (``certified_orbit_depth``) and, when that system was solved, from
    the multi-start search (``identifiability.orbit_depth(..., unit_norm=True)``, ``restarts`` starts, same
    generator): a dict row."""
    from .identifiability import orbit_depth, random_atoms

    a, W = random_atoms(S, d, generator, unit_norm=True)
    cert = certified_orbit_depth(activation, a, W, D_max, seed=seed, max_paths=max_paths)
    solved = cert.solved_at or None
    multi = orbit_depth(activation, S, d, D_max, generator, restarts=restarts, unit_norm=True,
                        measures=[(a, W)]) if solved else None
    index = (solved - 1) if solved else None
    return dict(activation=activation, S=S, d=d, certified_D_orb=cert.depth,
                multistart_D_orb=multi.depth if multi else math.nan,
                certified_status="".join(s[0].upper() for s in cert.status), solved_at=solved, paths=cert.paths,
                complex_solutions=cert.complex[index] if solved else math.nan,
                real_solutions=cert.real[index] if solved else math.nan,
                real_outside=cert.outside[index] if solved else math.nan,
                real_outside_at_certified=(cert.outside[int(cert.depth) - 1] if math.isfinite(cert.depth) else
                                           math.nan),
                alpha_certified=cert.alpha_certified, singular=cert.singular, diverged=cert.diverged,
                failed=cert.failed, seconds=cert.seconds)
