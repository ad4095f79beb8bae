# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (companion)
#     language: python
#     name: companion
# ---

# %% [markdown]
# # 02 — Theorem 2: identifiability modulo the realization symmetry
#
# The abstract's second result: *"two admissible parameter measures induce the same network function in L² exactly
# when their active components agree modulo the finite-rank realization symmetry of the architecture. The orbit
# depth D\*_orb is separated from the moment-variety depth D\*_var."*
#
# The paper's definitions are not public. This notebook works with finite atomic measures
# μ = Σ_j δ_(a_j, w_j), realizing f_μ(x) = Σ_j a_j σ(w_j·x) with x ~ N(0, I_d), and uses these operational
# definitions, chosen here:
#
# - **Realization symmetries** (per σ): permutations, splitting an atom into pieces whose weights add up, adding
#   inactive mass (zero or cancelling weights); for odd σ (a, w) ↦ (−a, −w), for even σ (a, w) ↦ (a, −w); for
#   positively p-homogeneous σ (ReLU, z²) (a, w) ↦ (c^p a, w/c); for σ(z) − σ(−z) = z (ReLU, GELU) flipping
#   w_j ↦ −w_j over a set J with Σ_J a_j w_j = 0 (the antipodal linear family).
# - **Canonical active component**: each atom moved to a canonical representative (sphere for homogeneous σ,
#   first coordinate positive where σ has a sign symmetry, the linear part Σ a_j w_j of flipped atoms kept apart
#   for ReLU/GELU), equal atoms merged, zero weights dropped (`symmetry.canonicalize`). Two canonical forms are
#   compared by the cheapest matching of their atoms (`symmetry.matched_distance`).
# - **Exact L² distance**: E(f_μ − f_μ')² from the closed-form / Mehler-series Gaussian kernel, no sampling.
# - **Moment map** Φ_D(μ) = (T_0, …, T_D) with T_k = Σ_j a_j c_k(|w_j|) ŵ_j^⊗k, c_k(r) the orthonormal Hermite
#   coefficients of z ↦ σ(rz); then E(f_μ − f_μ')² = Σ_k ‖T_k(μ) − T_k(μ')‖².
# - **D\*_var**: the smallest D at which the Jacobian of Φ_D at generic S-atom measures has rank S(1+d) minus the
#   continuous symmetry dimension (S for homogeneous σ, else 0), in float64 with an SVD.
# - **D\*_orb**: the smallest D at which a multi-start search of the fibre {μ' : Φ_D(μ') = Φ_D(μ)} (S atoms,
#   Levenberg–Marquardt from random starts and from the points found one depth lower) finds converged points
#   and all of them lie in μ's orbit. A converged point outside the orbit refutes D. The search can miss points,
#   so every depth reports its restarts and success rate.

# %% tags=["parameters"]
profile = "standard"
seed = 0
device = "auto"

# %%
import math

import matplotlib.pyplot as plt
from matplotlib.colors import ListedColormap
import numpy as np
import pandas as pd
import torch

from companion.engine.activations import get_activation
from companion.analysis.identifiability import (catalecticant, fibre_search, gaussian_mixture_moments, l2_distance2, moment_map, moment_tensors,
                                       monte_carlo_distance2, numerical_rank, orbit_depth, pearson_fibre,
                                       pearson_parameters, random_atoms, raw_moment, realization_norm2,
                                       symmetric_power, symmetry_dimension, unpack, variety_depth)
from companion.pipeline.notebook import setup_notebook
from companion.pipeline.style import PALETTE, palette
from companion.analysis.symmetry import canonicalize, matched_distance, quadratic_eigen_atoms, random_symmetry

nb = setup_notebook("02_identifiability", profile, seed, device)


def scan_until(fn, calls, found):
    """``nb.map(fn, calls)`` in chunks, stopped after the first chunk with a result for which ``found(result)``
    holds: the results up to and including the first such one (all of them if none). Chunks of one task in this
    process (nothing to gain from more), of eight on a Dask scheduler. Every call is an independent task with its own
    stream, so the chunking decides how much is computed, never a value."""
    chunk = 1 if nb.scheduler is None else 8
    results = []
    for start in range(0, len(calls), chunk):
        results += nb.map(fn, calls[start:start + chunk])
        hits = [k for k, result in enumerate(results) if found(result)]
        if hits:
            return results[:hits[0] + 1]
    return results

F64 = torch.float64
ACTS = ("relu", "tanh", "erf", "gelu", "quadratic")
COLORS = dict(zip(ACTS + ("he4",), palette(6)))

# %% [markdown]
# ## Sizes
#
# Everything here is exact or float64 algebra on CPU; the profiles differ in how many random measures, pairs,
# table rows and fibre-search restarts they spend.

# %%
SYM_TRIALS = nb.pick(quick=6, standard=20, paper=60)
PAIRS = nb.pick(quick=8, standard=24, paper=60)
MC_PAIRS, MC_SAMPLES = nb.pick(quick=(3, 20_000), standard=(6, 100_000), paper=(10, 400_000))
TABLE_ROWS = nb.pick(
    quick=[("relu", 2, 2), ("erf", 2, 2), ("quadratic", 2, 2)],
    standard=[("relu", 2, 2), ("relu", 3, 2), ("relu", 4, 3), ("relu", 3, 5),
              ("tanh", 2, 1), ("tanh", 2, 2), ("tanh", 4, 3), ("tanh", 3, 5),
              ("erf", 1, 1), ("erf", 2, 1), ("erf", 2, 2), ("erf", 3, 2), ("erf", 6, 3),
              ("gelu", 2, 1), ("gelu", 2, 2), ("gelu", 3, 2), ("gelu", 4, 3),
              ("quadratic", 1, 2), ("quadratic", 2, 2), ("quadratic", 4, 3)],
    paper=[(name, S, d) for name in ACTS for S, d in [(1, 2), (2, 1), (2, 2), (3, 2), (4, 3), (6, 3), (3, 5), (6, 5)]
           if not (d == 1 and name in ("relu", "quadratic"))])
RESTARTS = nb.pick(quick=12, standard=16, paper=64)
INSTANCES = nb.pick(quick=1, standard=2, paper=4)
SEPARATED_SCAN = nb.pick(quick=8, standard=12, paper=24)
PEARSON_RESTARTS, PEARSON_SCAN = nb.pick(quick=(32, 8), standard=(64, 12), paper=(128, 24))
HE6_RESTARTS, HE6_SCAN = nb.pick(quick=(48, 3), standard=(128, 6), paper=(256, 16))

# %% [markdown]
# ## 1. Symmetries realize the same function
#
# For each activation: random measures (S = 2…5 atoms, d = 2…4), a random composition of four of the activation's
# symmetry transforms, then the exact squared relative L² distance |E(f_μ − f_μ')²| / E f_μ² and the matched
# distance between the canonical forms. Both must sit at rounding level: these are checks of the implementation
# (each transform is an exact identity of the realization map), not evidence for Theorem 2. (ReLU's antipodal step is built from any set J by
# adding an inactive atom at −Σ_J w_j and splitting a piece of equal weight off each atom, so that the flipped
# pieces satisfy Σ a w = 0.)

# %%
def symmetry_rows():
    g = nb.stream("symmetry checks").generator(device=nb.device)
    rows = []
    for name in ACTS:
        for trial in range(SYM_TRIALS):
            S = int(torch.randint(2, 6, (1,), generator=g))
            d = int(torch.randint(2, 5, (1,), generator=g))
            a, W = random_atoms(S, d, g)
            a2, W2, applied = random_symmetry(name, a, W, g, steps=4)
            gap = float(l2_distance2(name, a, W, a2, W2)) / float(realization_norm2(name, a, W))
            canon = matched_distance(canonicalize(name, a, W), canonicalize(name, a2, W2))
            rows.append(dict(activation=name, trial=trial, S=S, d=d, atoms_after=a2.numel(),
                             transforms="+".join(applied), relative_l2=abs(gap), canonical_distance=canon))
    return pd.DataFrame(rows)


sym = symmetry_rows()
FLOOR = 1e-18
EPS_LABEL = "float64 ε"
symmetry_jitter = nb.stream("symmetry plot jitter")
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=False)
for ax, column, title in zip(axes, ["relative_l2", "canonical_distance"],
                             [r"$E(f_\mu - f_{\mu'})^2 / E f_\mu^2$ (exact)", "matched distance of canonical forms"]):
    for i, name in enumerate(ACTS):
        values = np.maximum(sym.loc[sym.activation == name, column].to_numpy(), FLOOR)
        jitter = symmetry_jitter.rng(i).uniform(-0.15, 0.15, values.size)
        ax.scatter(i + jitter, values, s=18, color=COLORS[name])
    ax.axhline(np.finfo(float).eps, color="grey", ls="--", lw=1, label=EPS_LABEL)
    ax.set_yscale("log")
    ax.set_ylim(FLOOR / 3, 1e-6)
    ax.set_xticks(range(len(ACTS)), ACTS)
    ax.set_title(title)
axes[0].set_ylabel(f"value (zeros drawn at {FLOOR:g})")
axes[0].legend(loc="upper left")
fig.tight_layout()
nb.save_figure(fig, "symmetry_invariance", data=sym.assign(**{EPS_LABEL: np.finfo(float).eps}),
               caption="Random compositions of realization symmetries leave the function and the canonical form "
                       "unchanged to rounding, for every activation: left the exact squared relative L² distance "
                       "E(f_μ − f_μ')²/E f_μ², right the matched distance of the canonical forms (zeros drawn at "
                       f"{FLOOR:g}).",
               params=dict(trials=SYM_TRIALS, steps=4))
plt.show()
nb.check("symmetry transforms: largest squared relative L² distance E(f_μ − f_μ')²/E f_μ²",
         float(sym.relative_l2.max()), 0.0, 1e-12, "symmetry_invariance")
nb.check("symmetry transforms: largest matched distance of canonical forms", float(sym.canonical_distance.max()),
         0.0, 1e-9, "symmetry_invariance")
sym.groupby("activation")[["relative_l2", "canonical_distance"]].max()

# %% [markdown]
# ## 2. Distinct active components are told apart
#
# Pairs (μ, μ') of two kinds, for the non-polynomial activations: μ' a random symmetry transform of μ, or μ' a
# perturbation of μ (every weight moved by ε times a standard normal, ε log-uniform in [10⁻⁴, 1]). The canonical
# distance and the exact squared relative L² distance must vanish together; that a symmetry pair sits at
# rounding level and a perturbed one does not is a check of the implementation. The exact distances are also
# compared with Monte Carlo over fresh Gaussian inputs, an independent computation (a claim: the z-scores must look
# standard normal). None of this proves Theorem 2's "only if": the perturbations are small and random.

# %%
def pair_rows():
    g = nb.stream("pair checks").generator(device=nb.device)
    rows = []
    for name in ACTS[:4]:
        for k in range(PAIRS):
            S = int(torch.randint(2, 5, (1,), generator=g))
            d = int(torch.randint(2, 5, (1,), generator=g))
            a, W = random_atoms(S, d, g)
            if k % 3 == 0:
                a2, W2, _ = random_symmetry(name, a, W, g, steps=4)
                kind, eps = "symmetry", 0.0
            else:
                eps = float(10 ** (-4 + 4 * torch.rand(1, generator=g)))
                a2 = a + eps * torch.randn(S, generator=g, dtype=F64)
                W2 = W + eps * torch.randn(S, d, generator=g, dtype=F64)
                kind = "perturbed"
            l2 = abs(float(l2_distance2(name, a, W, a2, W2))) / float(realization_norm2(name, a, W))
            canon = matched_distance(canonicalize(name, a, W), canonicalize(name, a2, W2)) / float(a.abs().sum())
            rows.append(dict(activation=name, kind=kind, eps=eps, S=S, d=d, l2_relative2=l2, canonical_relative=canon,
                             series=f"{name} (perturbed)" if kind == "perturbed" else "symmetry pairs"))
    return pd.DataFrame(rows)


def monte_carlo_rows():
    g = nb.stream("Monte Carlo checks").generator(device=nb.device)
    rows = []
    for name in ACTS:
        for k in range(MC_PAIRS):
            a1, W1 = random_atoms(3, 3, g)
            a2, W2 = random_atoms(3, 3, g)
            exact = float(l2_distance2(name, a1, W1, a2, W2))
            mean, err = monte_carlo_distance2(name, a1, W1, a2, W2, MC_SAMPLES, g)
            rows.append(dict(activation=name, pair=k, exact=exact, monte_carlo=mean, stderr=err,
                             z=(mean - exact) / err, series=name))
    return pd.DataFrame(rows)


pairs = pair_rows()
mc = monte_carlo_rows()
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
ax = axes[0]
for name in ACTS[:4]:
    part = pairs[pairs.activation == name]
    for kind, marker in [("perturbed", "o"), ("symmetry", "x")]:
        sub = part[part.kind == kind]
        ax.scatter(np.maximum(sub.canonical_relative, FLOOR), np.maximum(sub.l2_relative2, FLOOR), marker=marker,
                   s=22, color=COLORS[name], label=f"{name} ({kind})" if kind == "perturbed" else None)
ax.scatter([], [], marker="x", color="grey", label="symmetry pairs")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel(r"canonical distance / $\Sigma_j |a_j|$")
ax.set_ylabel(r"$E(f_\mu - f_{\mu'})^2 / E f_\mu^2$ (exact)")
ax.set_title(f"zero together (zeros drawn at {FLOOR:g})")
ax.legend(fontsize=8)
ax = axes[1]
for name in ACTS:
    part = mc[mc.activation == name]
    ax.errorbar(part.exact, part.monte_carlo, yerr=2 * part.stderr, fmt="o", ms=4, color=COLORS[name], label=name)
lim = [mc.exact.min() * 0.8, mc.exact.max() * 1.2]
ax.plot(lim, lim, color="grey", lw=1)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel(r"exact $E(f_\mu - f_{\mu'})^2$")
ax.set_ylabel(f"Monte Carlo, $n = {MC_SAMPLES}$ (±2 s.e.)")
ax.set_title("exact distance against sampling")
ax.legend(fontsize=8)
fig.tight_layout()
nb.save_figure(fig, "distance_scatter",
               data=pd.concat([pairs.assign(panel="pairs"), mc.assign(panel="monte_carlo")]),
               caption="Left: canonical distance and exact squared relative L² distance E(f_μ − f_μ')²/E f_μ² vanish "
                       "together (\"symmetry pairs\" at rounding level, perturbed pairs both positive; zeros drawn at "
                       f"{FLOOR:g}). Right: the exact squared distances of random pairs against Monte Carlo.",
               params=dict(pairs=PAIRS, mc_pairs=MC_PAIRS, mc_samples=MC_SAMPLES))
plt.show()
sym_pairs, distinct = pairs[pairs.kind == "symmetry"], pairs[pairs.kind == "perturbed"]
nb.check("smallest squared relative L² distance of distinct pairs over largest of symmetry pairs",
         float(distinct.l2_relative2.min() / max(sym_pairs.l2_relative2.max(), 1e-300)), 1e3, None, "distance_scatter")
nb.check("smallest canonical distance of distinct pairs over largest of symmetry pairs",
         float(distinct.canonical_relative.min() / max(sym_pairs.canonical_relative.max(), 1e-300)), 1e3, None,
         "distance_scatter")
nb.claim(f"exact L² distance against Monte Carlo: largest |z| over {len(mc)} pairs", float(mc.z.abs().max()), 0.0,
         4.0, "distance_scatter",
         prediction="each z ~ N(0, 1): the Monte Carlo mean is an independent, unbiased estimate of the closed-form "
                    "/ Mehler-series distance; max |z| ≤ 4 over at most 100 pairs has probability > 0.99")

# %% [markdown]
# ## 3. The two depths, D\*_var and D\*_orb
#
# On the sphere the moment tensors are not independent: contracting T_k over one pair of indices gives
# (c_k/c_{k−2}) T_{k−2}, so for unit directions lower tensors of the same parity add nothing; with free norms the
# radial coefficients c_k(|w|) break this. We do not count by hand: the Jacobian rank counts the dimensions. Each
# row: generic measures (weights ±U(0.5, 1.5), input weights N(0, I_d)); the rank profile of Φ_1, Φ_2, …; D\*_var;
# and the fibre search at every depth from 1 up (so D\*_orb ≥ D\*_var is a check, not an assumption), with its
# status per depth — **R** refuted (a converged point outside the orbit), **C** confirmed, **U** undecided (no
# restart converged for some instance, even after three rounds) — and its success rate. z² realizes only T_0
# and T_2, so no depth identifies it beyond those: both depths are ∞ there. A row is called **separated** only when
# D\*_orb > D\*_var and every depth in between was refuted by a converged point outside the orbit; when some depth
# in between is undecided the gap is left open (the search may have missed the orbit). For GELU with two atoms in
# d = 2 the count is square at D = 2 (T_0, T_1, T_2: 1 + 2 + 3 = 6 numbers for 6 parameters) and T_3 ≡ 0, so a
# second real preimage at D = 2 is refuted only by T_4.

# %%
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
    row = dict(row=label, activation=name, S=S, d=d, parameters=S * (1 + d),
               symmetry_dim=symmetry_dimension(name, S), target_rank=var.target,
               rank_profile=",".join(map(str, var.ranks)), D_var=var.depth, D_orb=orb.depth,
               status="".join(s[0].upper() for s in orb.status), instances=instances,
               restarts=sum(orb.restarts), converged=sum(orb.converged), outside=sum(orb.outside),
               success_at_D_orb=orb.converged[-1] / orb.restarts[-1], separation=orb.separation(var.depth))
    return row, cells


# one task per row, each with its own stream
depth_rows = nb.map(depth_row, [dict(name=name, S=S, d=d, restarts=RESTARTS, instances=INSTANCES,
                                     stream=nb.stream(f"depth table: {name} S={S} d={d}"), device=nb.device)
                                for name, S, d in TABLE_ROWS])
table = pd.DataFrame([row for row, _ in depth_rows])
cells = pd.DataFrame([cell for _, row_cells in depth_rows for cell in row_cells])
table

# %%
status_code = {"refuted": 0, "confirmed": 1, "undecided": 2}
status_colors = [PALETTE[7], PALETTE[4], PALETTE[1]]  # grey, cyan, yellow: black text stays readable
labels = list(table.row)
D_top = int(cells.D.max())
fig, ax = plt.subplots(figsize=(9, 0.38 * len(labels) + 1.6))
grid = np.full((len(labels), D_top), np.nan)
for cell in cells.itertuples():
    grid[labels.index(cell.row), cell.D - 1] = status_code[cell.status]
ax.imshow(grid, cmap=ListedColormap(status_colors), vmin=-0.5, vmax=2.5, aspect="auto")
for cell in cells.itertuples():
    ax.text(cell.D - 1, labels.index(cell.row), f"{cell.converged}/{cell.restarts}", ha="center", va="center",
            fontsize=7)
for i, row in enumerate(table.itertuples()):
    if math.isfinite(row.D_var) and row.D_var <= D_top:
        ax.plot(row.D_var - 1.45, i, marker="|", color="black", ms=16, mew=2.5)
ax.set_xticks(range(D_top), [str(D) for D in range(1, D_top + 1)])
mark = {"strict": "  ★ separated", "open": "  (gap open)", "none": ""}
ax.set_yticks(range(len(labels)), [f"{r.row}  (D*_var={r.D_var:g}, D*_orb={r.D_orb:g}){mark[r.separation]}"
                                   for r in table.itertuples()], fontsize=8)
ax.set_xlabel(r"depth $D$ (cell: converged restarts / restarts; bar left of a cell: $D^*_{var}$)")
ax.grid(False)
for code, color in zip(status_code, status_colors):
    if (cells.status == code).any():  # a legend entry only for a status the table shows
        ax.scatter([], [], marker="s", color=color, label=code)
DVAR_LABEL = "$D^*_{var}$"
ax.plot([], [], marker="|", ls="none", color="black", ms=12, mew=2.5, label=DVAR_LABEL)
ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
ax.set_title("fibre search status per depth")
fig.tight_layout()
nb.save_figure(fig, "depth_table",
               data=cells.merge(table, on="row", suffixes=("", "_row")).assign(**{DVAR_LABEL: lambda f: f["D_var"]}),
               caption="Fibre-search status per depth (refuted, confirmed or undecided) with converged/total "
                       "restarts, and the Jacobian-rank depth D*_var (black bar left of its cell) for each activation, "
                       "atom count S and dimension d.",
               params=dict(rows=TABLE_ROWS, restarts=RESTARTS, instances=INSTANCES))
plt.show()
decided = table[np.isfinite(table.D_orb) | ~np.isfinite(table.D_var)]
gaps = [0.0 if not math.isfinite(r.D_var) and not math.isfinite(r.D_orb) else r.D_orb - r.D_var
        for r in decided.itertuples()]
nb.check("D*_orb − D*_var over the rows the search decided (smallest; below D*_var the fibre has positive "
         "dimension)", float(min(gaps)), 0.0, None, "depth_table")
nb.check("rows the fibre search decided (fraction)", len(decided) / len(table), 0.6, 1.0, "depth_table")
if nb.profile != "quick":  # the quick table is three small rows with no square case; section 3a covers separation
    nb.claim("rows strictly separated (D*_orb > D*_var, every depth between refuted)",
             int((table.separation == "strict").sum()), 1, None, "depth_table",
             prediction="at least one (the abstract: D*_orb is separated from D*_var), expected where the moment "
                        "count is square at D*_var, as for GELU with two atoms in d = 2 (6 numbers, 6 parameters)")

# %% [markdown]
# ### A separated case: GELU, two atoms, d = 1
#
# In one dimension each depth adds one number. For GELU the odd Hermite coefficients above the first vanish
# (σ(z) − σ(−z) = z), so the moments are T_0, T_1, T_2, T_4, T_6, …: with S = 2 atoms (four parameters, no
# continuous symmetry) the Jacobian reaches full rank at D = 4 — a square polynomial system, like Pearson's below —
# and T_5 ≡ 0 adds nothing. For some generic measures the square system has a second **real** solution outside the
# orbit; T_6 then separates them, so D\*_var = 4 < D\*_orb = 6 there. D\*_var is computed (Jacobian rank
# profile below), not assumed. We scan random measures, stop at the first with a second real preimage at depth 4,
# and report how many we scanned. Each scanned measure is one task with its own random stream (seed, 5, k), as are
# the mixtures of the Pearson scan and the measures of the He_6 scan below, and the rows of the table above.

# %%
def separated_instance(stream, instance, device):
    """One scanned measure (a task): a random two-atom GELU measure in d = 1 and its fibre search at depths 1…7
    (24 restarts a round), both from replica ``instance`` of ``stream``. Returns (row, preimage): the scan's row and, when depth 4
    is refuted, the second real preimage found there (else None)."""
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
    return row, dict(a=a, W=W, a2=a2, W2=W2, D_orb=result.depth, orbit_distance=float(search.orbit_distance[b]),
                     success=search.success_rate, restarts=search.restarts)


separated_var = variety_depth("gelu", 2, 1, 8, nb.stream("separated rank profile").generator(device=nb.device))
separated_stream = nb.stream("separated instances")
separated_runs = scan_until(separated_instance, [dict(stream=separated_stream, instance=k, device=nb.device)
                                                 for k in range(SEPARATED_SCAN)], found=lambda run: run[1] is not None)
sep = dict(scanned=pd.DataFrame([dict(instance=k, **row) for k, (row, _) in enumerate(separated_runs)]),
           D_var=separated_var.depth, ranks=separated_var.ranks, **(separated_runs[-1][1] or {}))
print("GELU S=2 d=1: Jacobian rank profile", sep["ranks"], "D*_var", sep["D_var"])
nb.claim("GELU S=2 d=1: D*_var from the Jacobian rank (the depth the scan tests)", sep["D_var"], 4, 4,
         "separated_gelu",
         prediction="4 by counting: GELU's odd Hermite coefficients above the first vanish, so T_0, T_1, T_2, T_4 "
                    "are the first four non-zero moments in d = 1, four numbers for four parameters")
nb.claim("GELU S=2 d=1: scanned measures with a second real preimage at depth 4",
         int(sep["scanned"].second_preimage_at_4.sum()), 1, None, "separated_gelu",
         prediction="at least one: the depth-4 system is square (4 polynomial equations, 4 unknowns), and a square "
                    "real system has further real solutions on an open set of measures (Theorem 2's separation)")
sep["scanned"]

# %%
found_separated = "a2" in sep
gelu = get_activation("gelu")
if found_separated:
    a, W, a2, W2 = sep["a"], sep["W"], sep["a2"], sep["W2"]
    T1 = torch.stack([t[0] for t in moment_tensors("gelu", a, W, 8)])
    T2 = torch.stack([t[0] for t in moment_tensors("gelu", a2, W2, 8)])
    forms = [canonicalize("gelu", a, W), canonicalize("gelu", a2, W2)]
    x = torch.linspace(-4, 4, 401, dtype=F64)
    f1 = gelu.fn(x[:, None] * W[:, 0]) @ a
    f2 = gelu.fn(x[:, None] * W2[:, 0]) @ a2
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    ax = axes[0]
    atom_labels = [f"{name}: linear part {float(form.linear[0]):+.3f}"
                   for form, name in zip(forms, [r"$\mu$", r"$\mu'$ (second preimage)"])]
    for k, (form, label, shift) in enumerate(zip(forms, atom_labels, [-0.01, 0.01])):
        color = palette(2)[k]
        ax.vlines(form.positions[:, 0] + shift, 0, form.weights, color=color, lw=2.5, label=label)
        ax.scatter(form.positions[:, 0] + shift, form.weights, color=color, zorder=3)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("canonical $w$ ($w > 0$)")
    ax.set_ylabel("weight $a$")
    ax.set_title("two real preimages (canonical forms)")
    ax.legend(fontsize=8)
    ax = axes[1]
    ks = np.arange(T1.numel())
    moment_labels = [r"$|T_k(\mu)|$", r"$|T_k(\mu')|$", r"$|T_k(\mu) - T_k(\mu')|$"]
    moment_values = [T1.abs(), T2.abs(), (T1 - T2).abs().clamp_min(1e-18)]
    ax.bar(ks - 0.2, moment_values[0], width=0.4, color=palette(2)[0], label=moment_labels[0])
    ax.bar(ks + 0.2, moment_values[1], width=0.4, color=palette(2)[1], label=moment_labels[1])
    ax.plot(ks, moment_values[2], "k.-", label=moment_labels[2])
    ax.set_yscale("log")
    ax.set_ylim(1e-18, 1e9)  # the room above the bars holds the legend
    ax.set_yticks([1e-15, 1e-10, 1e-5, 1])
    ax.axvline(4.5, color="grey", ls="--", lw=1)
    ax.set_xlabel("$k$")
    ax.set_title(r"equal moments up to $D^*_{var} = 4$ ($T_5 \equiv 0$)")
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    ax = axes[2]
    ax.plot(x, f1 - f2, color="black")
    ax.set_xlabel("$x$")
    ax.set_ylabel(r"$f_\mu(x) - f_{\mu'}(x)$")
    l2_gap = float(l2_distance2("gelu", a, W, a2, W2))
    ax.set_title(f"different functions: $E(f_\\mu - f_{{\\mu'}})^2 = {l2_gap:.2e}$")
    fig.tight_layout()
    data = pd.concat([pd.DataFrame({"panel": "moments", "k": ks, "T_mu": T1.numpy(), "T_mu2": T2.numpy(),
                                    **{label: v.numpy() for label, v in zip(moment_labels, moment_values)}}),
                      pd.DataFrame(dict(panel="function", x=x.numpy(), f_mu=f1.numpy(), f_mu2=f2.numpy())),
                      pd.concat([pd.DataFrame(dict(panel="atoms", series=label, w=form.positions[:, 0].numpy(),
                                                   a=form.weights.numpy()))
                                 for form, label in zip(forms, atom_labels)])])
    nb.save_figure(fig, "separated_gelu", data=data,
                   caption="GELU with two atoms in d = 1: two real measures outside each other's orbit share T_0…T_5 "
                           "(D*_var = 4) and differ at T_6, so D*_orb = 6 for this measure.",
                   params=dict(scan=SEPARATED_SCAN, restarts=sep["restarts"]))
    plt.show()
    rel5 = float((T1[:6] - T2[:6]).norm() / T1[:6].norm())
    print(f"scanned {len(sep['scanned'])} measures, {int(sep['scanned'].second_preimage_at_4.sum())} with a second "
          f"real preimage at depth 4; success rate there {sep['success']:.2f}; orbit distance {sep['orbit_distance']:.3f}")
    print("μ  canonical:", forms[0])
    print("μ' canonical:", forms[1])
    nb.check("separated GELU case: relative moment gap through T_5 (the search converged)", rel5, 0.0, 1e-9,
             "separated_gelu")
    nb.check("separated GELU case: |T_6(μ) − T_6(μ')| / |T_6(μ)|", float((T1[6] - T2[6]).abs() / T1[6].abs()), 1e-6,
             None, "separated_gelu")
    nb.check("separated GELU case: matched distance to μ's orbit / Σ|a| (the preimage lies outside it)",
             sep["orbit_distance"], 1e-3, None, "separated_gelu")
    nb.claim("separated GELU case: D*_orb − D*_var", sep["D_orb"] - sep["D_var"], 2, 2, "separated_gelu",
             prediction="2: T_5 ≡ 0, so T_6 is the next moment that can separate the two preimages, and two atoms "
                        "in d = 1 carry no continuous symmetry left to hide them")

# %% [markdown]
# Both preimages are real measures (real weights, real input weights): the search runs over the reals and the
# second preimage has moment gap at rounding level through T_5. Their functions differ — only by a small amount,
# since the first unmatched moment is T_6 — so this is a gap between the depths, not a failure of identifiability
# of the function.
#
# ### The classical analogue: Pearson's two-Gaussian moment problem
#
# A mixture p N(m_1, s_1²) + (1 − p) N(m_2, s_2²) has five parameters. Its first five raw moments determine them up
# to finitely many solutions (Jacobian rank 5: the algebraic depth is 5), but generically not uniquely; the sixth
# moment picks one (Pearson, 1894). We scan random mixtures, keep the first whose five moments admit two
# admissible mixtures (0 < p < 1, s > 0, found by multi-start Levenberg–Marquardt), and check that six moments leave
# one.

# %%
def pearson_instance(restarts, stream, instance, device):
    """One scanned mixture (a task): p ~ U(0.2, 0.8), means N(0, 1), standard deviations 0.5 + U(0, 1) and the
    fibre of its first five moments (``restarts`` Levenberg–Marquardt starts), all from replica ``instance`` of ``stream``; when
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


pearson_stream = nb.stream("Pearson instances")
pearson_runs = scan_until(pearson_instance, [dict(restarts=PEARSON_RESTARTS, stream=pearson_stream, instance=k,
                                                  device=nb.device)
                                             for k in range(PEARSON_SCAN)], found=lambda run: run is not None)
pearson = dict(instance=None) if pearson_runs[-1] is None else \
    dict(instance=len(pearson_runs) - 1, **pearson_runs[-1])
found_pearson = pearson["instance"] is not None
nb.claim("Pearson: a scanned mixture whose five moments admit a second admissible mixture (found = 1)",
         int(found_pearson), 1, 1, "pearson",
         prediction="found within the scan: Pearson (1894) — the first five moments determine a two-Gaussian "
                    "mixture only up to finitely many solutions, more than one admissible for a positive fraction "
                    "of mixtures")
if found_pearson:
    order = torch.argsort(pearson["means"])
    x_truth = torch.cat([torch.logit(pearson["weights"][order][:1]), pearson["means"][order],
                         torch.log(pearson["sds"][order])])
    J = torch.func.jacfwd(lambda v: gaussian_mixture_moments(*pearson_parameters(v), 5))(x_truth)
    rank5 = numerical_rank(J)[0]
    z = torch.linspace(-6, 6, 601, dtype=F64)

    def density(row):
        p, m1, m2, s1, s2 = row.tolist()
        gauss = lambda m, s: torch.exp(-0.5 * ((z - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
        return p * gauss(m1, s1) + (1 - p) * gauss(m2, s2)

    rows = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for k, row in enumerate(pearson["five"]):
        label = "$p = {:.3f}$, $m = ({:.2f}, {:.2f})$, $s = ({:.2f}, {:.2f})$".format(*row.tolist())
        axes[0].plot(z, density(row), lw=2, ls=["-", "--", ":"][k % 3], color=palette(3)[k % 3], label=label)
        w = torch.stack([row[0], 1 - row[0]])
        moments = gaussian_mixture_moments(w, row[1:3], row[3:5], 8)
        rows.append(pd.DataFrame(dict(solution=k, order=np.arange(1, 9), moment=moments.numpy(), series=label)))
    axes[0].set_xlabel("$x$")
    axes[0].set_title(r"two mixtures with the same $m_1, \ldots, m_5$")
    axes[0].set_ylim(top=1.45 * float(max(density(row).max() for row in pearson["five"])))  # room for the legend
    axes[0].legend(fontsize=8, loc="upper right")
    mom = pd.concat(rows)
    base = mom[mom.solution == 0].moment.to_numpy()
    mom["relative_difference"] = np.nan
    mom["comparison"] = ""
    for k in range(1, len(pearson["five"])):
        other = mom[mom.solution == k].moment.to_numpy()
        gap = np.maximum(np.abs(other - base) / np.abs(base), 1e-18)
        mom.loc[mom.solution == k, "relative_difference"] = gap
        mom.loc[mom.solution == k, "comparison"] = f"solution {k} vs 0"
        axes[1].semilogy(np.arange(1, 9), gap, "o-", color=palette(3)[k % 3], label=f"solution {k} vs 0")
    axes[1].axvline(5.5, color="grey", ls="--", lw=1)
    axes[1].set_xlabel("moment order $k$")
    axes[1].set_ylabel("relative difference of $m_k$")
    axes[1].set_title("the sixth moment separates them")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    nb.save_figure(fig, "pearson", data=mom,
                   caption="Pearson's problem: two admissible two-Gaussian mixtures share the first five moments and "
                           "differ from the sixth on, the one-dimensional analogue of D*_var < D*_orb.",
                   params=dict(restarts=PEARSON_RESTARTS, scan=PEARSON_SCAN, instance=pearson["instance"]))
    plt.show()
    print("five moments:", pearson["five"].numpy().round(4), "success", pearson["rate5"])
    print("six moments: ", pearson["six"].numpy().round(4), "success", pearson["rate6"])
    nb.check("Pearson: Jacobian rank of (m_1..m_5) in the five parameters (the fibre is finite)", rank5, 5, 5,
             "pearson")
    nb.claim("Pearson: admissible mixtures with the same m_1..m_6", pearson["six"].shape[0], 1, 1, "pearson",
             prediction="1: Pearson (1894) — the sixth moment selects one of the finitely many solutions of the "
                        "five-moment system")

# %% [markdown]
# ### The exceptional case of symmetric tensor decomposition: He_6 in d = 3 with nine atoms
#
# With σ = He_6 and unit directions, f depends on T_6 = Σ_j a_j √720 ŵ_j^⊗6 alone, a ternary sextic (28 numbers).
# Nine atoms have 9 × 3 = 27 free numbers, the Jacobian has rank 27, so D\*_var = 6; yet a general sextic of rank 9
# has **two** decompositions over ℂ (Chiantini–Ottaviani–Vannieuwenhoven). The pair is closed under complex
# conjugation, so for real μ the second is either real or contains complex-conjugate atoms; a search over the
# reals can only find the first kind.
#
# An unrestricted search converges rarely here (a few percent of restarts, mostly back to μ). Apolarity helps:
# the 10 × 10 catalecticant of T_6 (cubics against cubics) has rank 9, its kernel is one cubic C, and every
# nine-atom decomposition of T_6 has its directions on C. So we compute C from T_6 alone and restrict the search to
# directions on C (extra residuals C(ŵ_j)); the moment equations are unchanged. We scan random measures and report,
# for each, how many restarts converged and how many landed outside μ's orbit. A measure whose converged restarts
# all return to μ probably has a complex second decomposition — not proven by a finite search.

# %%
def he6_instance(restarts, stream, instance, device):
    """One scanned measure (a task): nine random unit atoms in d = 3 and a fibre search of T_6 with ``restarts``
    starts restricted to the apolar cubic of T_6, both from replica ``instance`` of ``stream``. Returns (row, second): the
    scan's row and, when a converged restart lies outside μ's orbit, the first such decomposition (else None)."""
    g = stream.generator(instance, device=device)
    a, W = random_atoms(9, 3, g, unit_norm=True)
    T6 = moment_tensors("he6", a, W, 6, unit_norm=True)[6]
    C = catalecticant(T6, 3, 6, 3)
    cubic = torch.linalg.svd(C).Vh[-1]
    search = fibre_search("he6", a, W, 6, restarts, g, unit_norm=True, max_iter=300, form=cubic)
    row = dict(catalecticant_rank=numerical_rank(C)[0], restarts=search.restarts,
               converged=int(search.converged.sum()), outside=search.n_outside)
    if not search.n_outside:
        return row, None
    b = int(torch.nonzero(search.outside).flatten()[0])
    a2, W2 = unpack(search.solutions[b], 9)
    return row, dict(a=a, W=W, a2=a2, W2=W2 / W2.norm(dim=1, keepdim=True), cubic=cubic,
                     orbit_distance=float(search.orbit_distance[b]), catalecticant_rank=numerical_rank(C)[0])


# measure k draws from replica k of its own stream, the rank profile from another stream
he6_stream = nb.stream("he6 instances")
he6_runs = nb.map(he6_instance, [dict(restarts=HE6_RESTARTS, stream=he6_stream, instance=k, device=nb.device)
                                 for k in range(HE6_SCAN)])
he6 = dict(var=variety_depth("he6", 9, 3, 6, nb.stream("he6 rank profile").generator(device=nb.device), unit_norm=True, points=1),
           scanned=pd.DataFrame([dict(instance=k, **row) for k, (row, _) in enumerate(he6_runs)]),
           **next((second for _, second in he6_runs if second is not None), {}))
print("rank profile", he6["var"].ranks, "target", he6["var"].target, "D*_var", he6["var"].depth)
he6["scanned"]

# %%
if "a2" in he6:
    a, W, a2, W2, cubic = he6["a"], he6["W"], he6["a2"], he6["W2"], he6["cubic"]
    forms = [canonicalize("he6", a, W), canonicalize("he6", a2, W2)]
    on_cubic = [float((symmetric_power(f.positions, 3) @ cubic).abs().max()) for f in forms]
    T6_gap = float((moment_map("he6", a, W, 6, True) - moment_map("he6", a2, W2, 6, True)).norm()
                   / moment_map("he6", a, W, 6, True).norm())
    l2_rel = abs(float(l2_distance2("he6", a, W, a2, W2))) / float(realization_norm2("he6", a, W))
    u = torch.linspace(-1, 1, 301, dtype=F64)
    Y, Z = torch.meshgrid(u, u, indexing="xy")
    inside = Y**2 + Z**2 < 1
    X = torch.sqrt((1 - Y**2 - Z**2).clamp_min(0))
    values = symmetric_power(torch.stack([X, Y, Z], dim=-1), 3) @ cubic
    values[~inside] = float("nan")
    fig, ax = plt.subplots(figsize=(7.6, 5.2))
    ax.contour(Y.numpy(), Z.numpy(), values.numpy(), levels=[0.0], colors="grey", linewidths=1.2)
    ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="black", lw=0.8))
    for k, (form, name, marker) in enumerate(zip(forms, ["first", "second"], ["o", "x"])):
        P = form.positions
        ax.scatter(P[:, 1], P[:, 2], s=40 + 40 * form.weights.abs() / form.weights.abs().max(), marker=marker,
                   color=palette(2)[k], label=f"{name} decomposition", zorder=3, linewidths=2)
    CUBIC_LABEL = "apolar cubic $C$ of $T_6$"
    ax.plot([], [], color="grey", label=CUBIC_LABEL)
    ax.set_aspect("equal")
    ax.set_xlabel(r"$\hat w_2$ (hemisphere $\hat w_1 > 0$, seen from $e_1$)")
    ax.set_ylabel(r"$\hat w_3$")
    ax.set_title(f"$He_6$, $d = 3$: two real 9-atom decompositions\nrelative $T_6$ gap {T6_gap:.1e}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # outside: the atoms fill the disc
    fig.tight_layout()
    data = pd.concat([pd.DataFrame(dict(decomposition=f"{name} decomposition", weight=f.weights.numpy(),
                                        w1=f.positions[:, 0].numpy(), w2=f.positions[:, 1].numpy(),
                                        w3=f.positions[:, 2].numpy(), on_curve=CUBIC_LABEL))
                      for name, f in zip(["first", "second"], forms)])
    nb.save_figure(fig, "he6_two_decompositions", data=data,
                   caption="σ = He_6, unit directions in d = 3: two real nine-atom measures outside each other's orbit "
                           "with the same T_6, hence the same function; the atoms of both lie on the apolar cubic C "
                           "of T_6 (grey curve; marker size ∝ |weight|).",
                   params=dict(restarts=HE6_RESTARTS, scan=HE6_SCAN))
    plt.show()
    print("first: ", forms[0])
    print("second:", forms[1])
    nb.claim("He_6 d=3 S=9: Jacobian rank at D = 6 equals 27 = 9·3", he6["var"].ranks[-1], 27, 27,
             "he6_two_decompositions",
             prediction="27 = 9 × 3: nine general points are not defective for ternary sextics (Alexander–Hirschowitz), "
                        "so the secant variety has the expected dimension")
    nb.check("He_6 d=3 S=9: relative T_6 gap of the two decompositions (the search converged)", T6_gap, 0.0, 1e-9,
             "he6_two_decompositions")
    nb.check("He_6 d=3 S=9: squared relative L² distance E(f_μ − f_μ')²/E f_μ² of the two functions", l2_rel, 0.0,
             1e-9, "he6_two_decompositions")
    nb.check("He_6 d=3 S=9: matched distance between the decompositions / Σ|a| (outside the orbit)",
             he6["orbit_distance"], 1e-3, None, "he6_two_decompositions")
    nb.claim("He_6 d=3 S=9: catalecticant rank (9 makes the apolar cubic unique)", he6["catalecticant_rank"], 9, 9,
             "he6_two_decompositions",
             prediction="9: the 10 × 10 cubic catalecticant of a general rank-9 ternary sextic has rank 9 (rank ≤ 10 "
                        "is read off the catalecticant; apolarity)")
    nb.check("He_6 d=3 S=9: μ's own directions on the cubic computed from T_6 (largest |C(ŵ_j)|)", on_cubic[0], 0.0,
             1e-10, "he6_two_decompositions")
else:
    print("no real second decomposition found in this scan:", he6["scanned"], sep="\n")
nb.claim("He_6 d=3 S=9: scanned measures with a real second decomposition", int((he6["scanned"].outside > 0).sum()),
         1, None, "he6_two_decompositions",
         prediction="at least one: a general ternary sextic of rank 9 has exactly two decompositions over ℂ "
                    "(Chiantini–Ottaviani–Vannieuwenhoven), both real for an open set of real measures")

# %% [markdown]
# The second decomposition found is **real**: nine real directions with real weights, at rounding-level T_6 gap,
# outside μ's orbit. Because He_6 on the sphere has no moments beyond T_6, no depth separates these two
# measures: for this polynomial σ the realization depends on T_6 only, which is the finite-rank symmetry of the
# next section, not a contradiction of Theorem 2.
#
# ## 4. Finite rank: polynomial σ sees moments up to its degree only
#
# For σ(z) = z² the function x ↦ Σ_j a_j (w_j·x)² = xᵀMx depends on M = Σ_j a_j w_j w_jᵀ, the raw moment of
# order 2, only: the eigen-atoms (λ_i, e_i) of M realize it with other raw moments ∫ a w^⊗k dμ for every k ≠ 2.
# For σ = He_4, He_4(w·x) = (w·x)⁴ − 6(w·x)² + 3, so f depends on the raw moments of orders 0, 2 and 4 only; a
# fibre search with six atoms in d = 3 (24 parameters against the 22 numbers of T_0, T_2, T_4) returns a second
# measure with those three equal and the others, order 6 included, different.

# %%
def finite_rank_rows():
    g = nb.stream("finite rank checks").generator(device=nb.device)
    a, W = random_atoms(5, 3, g)
    lam, E = quadratic_eigen_atoms(a, W)
    pairs_ = [("quadratic", a, W, lam, E)]
    b_, V = random_atoms(6, 3, g)
    search = fibre_search("he4", b_, V, 4, 24, g)
    k = int(torch.argmax(torch.where(search.converged, search.orbit_distance, -1.0)))  # converged, farthest from μ
    b2, V2 = unpack(search.solutions[k], 6)
    pairs_.append(("he4", b_, V, b2, V2))
    rows = []
    for name, a1, W1, a2, W2 in pairs_:
        l2_rel = abs(float(l2_distance2(name, a1, W1, a2, W2))) / float(realization_norm2(name, a1, W1))
        for order in range(0, 8):
            m1, m2 = raw_moment(a1, W1, order), raw_moment(a2, W2, order)
            rows.append(dict(activation=name, order=order, relative_l2=l2_rel,
                             raw_moment_gap=float((m1 - m2).norm() / m1.norm().clamp_min(1e-300))))
    return pd.DataFrame(rows)


finite = finite_rank_rows()
fig, ax = plt.subplots(figsize=(6.4, 3.8))
finite["series"] = [f"{name}: $E(f_\\mu - f_{{\\mu'}})^2 / E f_\\mu^2$ = {gap:.1e}"
                    for name, gap in zip(finite.activation, finite.relative_l2)]
for name, part in finite.groupby("activation"):
    ax.semilogy(part.order, part.raw_moment_gap.clip(lower=1e-18), "o-", color=COLORS[name], label=part.series.iloc[0])
ax.set_xlabel(r"order $k$ of the raw moment $\int a\, w^{\otimes k}\, d\mu$")
ax.set_ylabel("relative gap between μ and μ'")
ax.set_title("same function, different higher moments")
ax.legend(fontsize=8)
fig.tight_layout()
nb.save_figure(fig, "finite_rank", data=finite,
               caption="Polynomial activations: measures with the same function (relative L² gap at rounding level) "
                       "share the raw moments the function depends on (z²: order 2; He_4: 0, 2, 4) and differ in the "
                       "others.",
               params=dict())
plt.show()
quad, he4 = finite[finite.activation == "quadratic"], finite[finite.activation == "he4"]
nb.check("z²: squared relative L² distance between μ and its eigen-atoms (x^T M x depends on M only)",
         float(quad.relative_l2.iloc[0]), 0.0, 1e-12, "finite_rank")
nb.check("z²: relative gap of the fourth raw moments", float(quad[quad.order == 4].raw_moment_gap.iloc[0]), 1e-2,
         None, "finite_rank")
nb.check("He_4: squared relative L² distance between μ and the fibre point", float(he4.relative_l2.iloc[0]), 0.0,
         1e-12, "finite_rank")
nb.check("He_4: largest relative gap of the raw moments of orders 0, 2, 4",
         float(he4[he4.order.isin([0, 2, 4])].raw_moment_gap.max()), 0.0, 1e-8, "finite_rank")
nb.check("He_4: relative gap of the sixth raw moments", float(he4[he4.order == 6].raw_moment_gap.iloc[0]), 1e-2,
         None, "finite_rank")

# %% [markdown]
# ## Summary: what the claims and checks show
#
# **Checks** (implementation identities, not evidence): symmetry transforms preserve the function to rounding and
# canonicalize to the same active component; symmetry pairs and perturbed pairs are told apart by ≥ 10³ in both
# distances; D\*_orb ≥ D\*_var in every decided row; the fibre points found reproduce the moments they were fitted
# to; the polynomial activations' alternative measures share exactly the moments their functions depend on.
#
# **Claims** (a measurement against a prediction from outside this code): the exact distances agree with Monte
# Carlo; D\*_var = 4 for GELU with two atoms in d = 1 by counting, and a second real preimage there separated at
# T_6; strict separations in the depth table where the moment count is square at D\*_var; Pearson's five-moment
# ambiguity resolved by the sixth; for He_6 the Jacobian and catalecticant ranks predicted by classical results, and
# a real second decomposition for some scanned measures.
#
# **What they do not show.** The fibre searches are finite multi-start searches: a confirmed depth means no
# converged restart left the orbit, not that no other preimage exists, and undecided rows are left open. The
# perturbed pairs are small random perturbations, so the "only if" of Theorem 2 is illustrated, not proven, and
# the operational definitions above are this notebook's, not the paper's.

# %%
nb.finish()
