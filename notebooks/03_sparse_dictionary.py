# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (companion)
#     language: python
#     name: companion
# ---

# %% [markdown]
# # 03 — Theorem 3: the long-time limit is a sparse dictionary
#
# The abstract's third result: *"under the Barron–Hermite target condition the active support of the long-time
# limit measure admits a sparse-dictionary decomposition: it is supported on at most $S^*$ atoms modulo finite-rank
# realization symmetry, with $S^*$ bounded by an explicit coefficient-threshold number."*
#
# This notebook trains two-layer erf networks under μP with noisy gradient descent (weight decay $\lambda$,
# temperature $\tau$) on targets whose Hermite coefficients we control, runs them to long times with the **population
# engine** (exact Gaussian expectations, no sampling noise), extracts atoms from the particle cloud, and compares the
# count with the bound $S^*$. The paper's own definitions are not public; every definition below is an operational
# one chosen here and said so.

# %% tags=["parameters"]
profile = "standard"
seed = 0
device = "auto"

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from companion.analysis.atoms import (
    DELTA_REL,
    MIN_SIZE,
    THRESHOLD_FACTOR,
    THRESHOLD_FLOOR,
    match_directions,
    stationary_atoms,
    target_atoms,
    teacher_stationary_atoms,
)
from companion.analysis.barron import (
    atom_bound,
    coefficient_threshold,
    coefficient_thresholds,
    geometric_tail,
    hermite_tensor_norms,
    index_dimension,
    polynomial_tail,
    single_index,
    spread_lines,
    teacher_network,
)
from companion.analysis.statistics import loglog_fit
from companion.engine.dynamics import log_time_grid, simulate
from companion.engine.init import init_particles
from companion.engine.targets import ridge_target, teacher
from companion.pipeline import sparse_dictionary_plots as plots
from companion.pipeline.notebook import setup_notebook

nb = setup_notebook("03_sparse_dictionary", profile, seed, device)  # one CPU thread: many small tensor ops

# %% [markdown]
# ## Sizes and the regime
#
# - **Weight decay $\lambda$.** It is what makes the limit sparse: with a probability measure of particles, the cost
#   $\frac\lambda2\int(a^2 + |w|^2)\,d\mu$ of an output measure $\nu = \int a\,d\mu(a, \cdot)$ is minimized by putting
#   mass $p \propto |\nu|$ on each atom, which turns it into $\frac\lambda2(\sum|\nu|)^2$, an $\ell^1$-type penalty that
#   favours few atoms. It also biases the atoms (their directions move by an angle that grows with $\lambda$,
#   predicted and measured below) and sets the pace: once the data are fitted, redundant clusters merge at a rate
#   $\propto\lambda$, so horizons must be many times $1/\lambda$: we use $\lambda t \ge 12$.
# - **Temperature $\tau$.** Small enough that a cluster's width (measured below) is far below the distance between
#   teacher neurons ($\sqrt2$ for orthogonal ones), large enough that the dynamics is genuinely Langevin. For
#   $\tau > 0$ the long-time limit is a Gibbs density with **full support**: there are no atoms at any $\tau > 0$,
#   only clusters of width $\propto\sqrt\tau$, and atoms exist only in the limit $\tau \to 0$. Counting "atoms" at
#   $\tau > 0$ means counting these clusters.
# - **Step $\eta$.** Explicit Euler is stable when $\eta$ times the largest per-particle curvature (about
#   $a^2 E[\sigma'(w\cdot x)^2] ≲ 2.5$ here) stays below 2. The fixed points of the discrete map
#   $\theta \mapsto \theta - \eta(\nabla V + \lambda\theta)$ are exactly the stationary points of the flow, so $\eta$
#   sets the speed, not where atoms sit; at $\tau > 0$ it inflates a cluster's variance by a factor about
#   $1/(1 - \eta\kappa/2)$, about 1 % in the soft directions (curvature $\kappa \approx 0.04$) that set the spread.
#   Time is $t = k\eta$.
# - Student activation **erf** (odd: $(a, w) \sim (-a, -w)$); the spec excludes ReLU, whose antipodal linear family
#   adds representations. Initial cloud: standard Gaussian in $(a, w)$.

# %%
N = nb.pick(quick=32, standard=64, paper=512)
R = nb.pick(quick=2, standard=2, paper=4)
HORIZON = nb.pick(quick=600.0, standard=800.0, paper=1200.0)
ETA = 0.4
LAM, TAU = 0.02, 1e-4
RELAX = nb.pick(quick=60.0, standard=100.0, paper=200.0)
TAUS = [2.5e-5, 1e-4, 4e-4, 1.6e-3]
TAU_BREAK = 6.4e-3
N_GRID = nb.pick(quick=[16, 32, 64], standard=[16, 32, 64, 128], paper=[64, 128, 256, 512, 1024])
LAMS = nb.pick(quick=[0.02, 0.04, 0.08], standard=[0.01, 0.02, 0.04, 0.08], paper=[0.005, 0.01, 0.02, 0.04, 0.08])
FRAMES = nb.pick(quick=12, standard=60, paper=80)  # recorded snapshots per run (log-spaced in t): animation frames
ACTIVATION = "erf"
print(f"N={N} R={R} horizon={HORIZON} eta={ETA} lam={LAM} tau={TAU}")

# %% [markdown]
# ## 1. Targets and their coefficient-threshold numbers
#
# Targets $f^*(x) = \sum_m b_m g_m(u_m\cdot x)$: erf **teachers** with $M = 1, \dots, 4$ orthogonal unit neurons
# ($g = \sigma$, the student's own activation), and **Barron–Hermite ridges** whose profile $g = \sum_k\beta_k h_k$
# has a chosen tail on odd degrees, geometric ($\beta_k \propto \rho^k$) or polynomial ($\beta_k \propto
# (k+1)^{-p}$, truncated at degree 23), with erf's own sign pattern $(-1)^{\lfloor k/2\rfloor}$ so that erf atoms can
# realize them, and **line** targets $g(z) = \sum_j b_j\operatorname{erf}(s_j z)$ along one direction $u$ with
# alternating signs $b_j$ at radii $s_j$ (2 or 3 scales): single-index Barron–Hermite targets whose exact
# representation needs several atoms along $\pm u$ at different radii, so the count can approach $S^*$.
#
# Operational definitions (from SPEC.md, not the paper's text):
# - Hermite tensors $T^*_k = \sum_m b_m c_k(g_m, |u_m|)\,\hat u_m^{\otimes k}$, with $E f^{*2} = \sum_k\|T^*_k\|_F^2$;
# - coefficient-threshold number **$K(\varepsilon)$** = the largest $k$ with $\|T^*_k\|_F > \varepsilon$ (none, written
#   $K = -1$, when every tensor is below $\varepsilon$: at that level the target counts as zero);
# - Carathéodory-type bound **$S^*(\varepsilon) = \binom{r + K}{K} + 1$**, $r = \dim\operatorname{span}\{u_m\}$:
#   $\binom{r+K}{K}$ counts the polynomials of degree $\le K$ in $r$ variables and Carathéodory adds one; for a
#   single-index target the spec quotes $K + 1$, the linear count (signed weights need at most as many atoms as the
#   $K + 1$ moments along the line).

# %%
def teacher_target(M):
    return teacher_network(ACTIVATION, M, max(M, 2))


TAIL_TERMS = 24
def line_target(scales, weights):
    """Σ_j b_j erf(s_j u·x) with u the first basis vector of R²: erf atoms along one line at radii s_j."""
    U = torch.zeros(len(scales), 2, dtype=torch.float64)
    U[:, 0] = torch.tensor(scales, dtype=torch.float64)
    return teacher(ACTIVATION, torch.tensor(weights, dtype=torch.float64), U)


TARGETS = {
    "teacher M=1": teacher_target(1),
    "teacher M=2": teacher_target(2),
    "teacher M=3": teacher_target(3),
    "teacher M=4": teacher_target(4),
    "ridge geometric ρ=0.6": single_index(geometric_tail(0.6, TAIL_TERMS), 2),
    "ridge polynomial p=1.5": single_index(polynomial_tail(1.5, TAIL_TERMS), 2),
    "line, 2 scales": line_target((0.5, 2.0), (1.0, -1.0)),
    "line, 3 scales": line_target((0.4, 1.2, 3.0), (1.0, -1.0, 1.0)),
}
if profile != "quick":  # ridge runs cost about three teacher runs each (a Hermite series instead of a closed form)
    TARGETS["two ridges geometric ρ=0.6"] = ridge_target(torch.ones(2, dtype=torch.float64), spread_lines(2, 2),
                                                         geometric_tail(0.6, TAIL_TERMS))
    TARGETS["ridge geometric ρ=0.4"] = single_index(geometric_tail(0.4, TAIL_TERMS), 2)
    TARGETS["ridge polynomial p=2.5"] = single_index(polynomial_tail(2.5, TAIL_TERMS), 2)
TEACHER_M = {name: int(name.split("=")[1]) for name in TARGETS if name.startswith("teacher")}
FAMILIES = {"teachers": [n for n in TARGETS if n.startswith("teacher")],
            "ridges": [n for n in TARGETS if "ridge" in n],
            "line targets": [n for n in TARGETS if n.startswith("line")]}

# %%
K_SHOW = 26
EPS_GRID = np.geomspace(1e-3, 0.6, 80)
K_PARSEVAL = 600  # erf(3z) of the line target has tensor norms falling like (18/19)^(k/2): degree 600 leaves 1e-14
rows, bound_rows, parseval = [], [], []
for name, target in TARGETS.items():
    norms = hermite_tensor_norms(target, K_PARSEVAL).numpy()
    parseval.append(abs((norms**2).sum() - float(target.norm2())) / float(target.norm2()))
    r = index_dimension(target)
    rows += [dict(target=name, k=k, norm=norms[k]) for k in range(K_SHOW)]
    for eps, K in zip(EPS_GRID, coefficient_thresholds(target, EPS_GRID)):
        bound_rows.append(dict(target=name, eps=eps, K=K, r=r, S_star=atom_bound(K, r)))
tensor_df, bound_df = pd.DataFrame(rows), pd.DataFrame(bound_rows)

# %%
fig = plots.targets_hermite(tensor_df, bound_df, FAMILIES)
nb.save_figure(fig, "targets_hermite", data=pd.concat([tensor_df.assign(panel="tensors"),
                                                        bound_df.assign(panel="bound")]),
               caption="Hermite tensor norms of erf teachers, Barron–Hermite ridges and line targets (one row per "
                       "family), their coefficient-threshold numbers K(ε) and the bound S*(ε) = C(r+K, K) + 1 "
                       "(K + 1 for a single-index target). Where ε exceeds every tensor norm of a target (here the "
                       "line target with 2 scales at the largest ε) no degree counts: K(ε) = −1 and S*(ε) = 0 by "
                       "convention, and those ε are not drawn (the data file keeps them).",
               params=dict(K_max=160, K_parseval=K_PARSEVAL, tail_terms=TAIL_TERMS))
plt.show()

# %% [markdown]
# Two checks of the tensor norms: Parseval ($\sum_k\|T^*_k\|^2$ must equal the exact $E f^{*2}$), and the closed form
# of $K(\varepsilon)$ for the geometric ridge, whose tensors along a unit direction have norms $|\beta_k| = \rho^k/Z$
# on odd $k$.

# %%
nb.check("Parseval: Σ_k ‖T*_k‖² equals E f*² (max relative error over targets)", max(parseval), 0.0, 1e-8,
         "targets_hermite")
rho = 0.6
odd = np.arange(1, TAIL_TERMS, 2)
Z = np.sqrt(np.sum(rho ** (2 * odd)))
closed = [max([k for k in odd if rho**k / Z > eps], default=-1) for eps in EPS_GRID]
computed = bound_df[bound_df.target == "ridge geometric ρ=0.6"].K.to_numpy()
nb.check("K(ε) of the geometric ridge equals its closed form (number of ε where they differ)",
         int(np.sum(computed != np.array(closed))), 0, 0, "targets_hermite")

# %% [markdown]
# ## 2. Training to long times
#
# One helper runs the population engine from a standard Gaussian cloud (or from a given cloud) and caches the
# result. Atoms are extracted with the operational rule of `companion.analysis.atoms` (its docstring has the
# details): compare particles modulo $(a, w) \sim (-a, -w)$ by the orbit distance $\min(|w - w'|, |w + w'|)$; cluster
# by average linkage at the distance $h = 0.1 + 3\sqrt{\tau/\lambda}$ (near an atom the Gibbs density has width
# $\sqrt{\tau/\kappa}$ with a curvature $\kappa$ that scales like $\lambda$; the floor $0.1$ covers $\tau \to 0$); sum
# each cluster's net output weight $\sum a_i/N$; drop clusters whose net weight is at most $\delta = 0.02\|f^*\|$
# (inactive mass) and clusters of a **single particle** (a particle in transit between atoms: mass $1/N$, which
# vanishes as $N \to \infty$; at $N = 32$ one particle with $|a| \approx 0.8$ would pass $\delta$ on its own); the
# canonical form of the survivors comes from `symmetry.canonicalize`. Section 7 moves $h$ and $\delta$.

# %%
def train(target, N, replicas, eta, lam, tau, horizon, activation, cloud, noise, dtype, device, frames, start=None):
    """Noisy-GD run (a task): ``replicas`` clouds of N particles from a standard Gaussian drawn from the stream
    ``cloud`` (or the given ``start`` cloud (R, N, 1+d)), trained on the :class:`Target` ``target`` for
    ``horizon / eta`` steps with weight decay ``lam`` and temperature ``tau``, the noise from the stream ``noise``,
    recording about ``frames`` log-spaced snapshots. Returns times, particles (T, R, N, 1+d) as float64 numpy and
    risk (T, R)."""
    steps = int(round(horizon / eta))
    f_star = target.to(device, dtype)
    if start is None:
        theta0 = init_particles("gaussian", replicas, N, f_star.dim, rng=cloud, dtype=dtype, device=device)
    else:
        theta0 = torch.as_tensor(start).to(device, dtype)
    trajectory = simulate(theta0, activation, f_star, eta=eta, steps=steps, lam=lam, tau=tau, seed=noise,
                          record_steps=log_time_grid(steps, frames), progress=False)
    return dict(times=trajectory.times, particles=trajectory.particles.to(torch.float64).numpy(),
                risk=trajectory.risk.to(torch.float64).numpy())


def train_call(target, run, N=N, lam=LAM, tau=TAU, horizon=HORIZON, start=None):
    """The arguments of one :func:`train` task: the notebook's sizes, the streams "``run``: initial cloud" (unless
    ``start``, the final cloud of an earlier run, is given) and "``run``: noise"."""
    return dict(target=target, N=N, replicas=R, eta=ETA, lam=lam, tau=tau, horizon=horizon, activation=ACTIVATION,
                cloud=None if start is not None else nb.stream(f"{run}: initial cloud"),
                noise=nb.stream(f"{run}: noise"), dtype=nb.dtype, device=nb.device, frames=FRAMES,
                start=None if start is None else start["particles"][-1])


def atoms_of(cloud, target, tau=TAU, lam=LAM, h_mult=1.0, delta_mult=1.0):
    """The atoms of ``cloud`` by the package's one rule (``atoms.target_atoms``)."""
    return target_atoms(ACTIVATION, cloud, target, tau, lam, h_mult, delta_mult)


runs = dict(zip(TARGETS, nb.map(train, [train_call(target, run=name)
                                     for name, target in TARGETS.items()])))
print(f"{len(runs)} runs ready ({nb.elapsed():.1f} s)")

# %% [markdown]
# ## 3. Concentration: directions coloured by output weight
#
# Top, $d = 2$ (teacher with $M = 2$ orthogonal neurons): each particle's $w$ in the plane, coloured by its $a$.
# Because erf is odd, $(a, w)$ and $(-a, -w)$ are the same neuron, so each teacher line (dashed) collects a cluster at
# $+u$ with one sign of $a$ and one at $-u$ with the other sign; the stars mark $\pm u$. Bottom, $d = 3$ ($M = 3$):
# unit directions flipped to the hemisphere facing $n = (1, 1, 1)/\sqrt3$ (flipping $a$ with them) and projected
# orthographically on the plane orthogonal to $n$; the stars mark the teacher directions. The colour scale of each
# row is fixed over its four times.

# %%
SHOWN = [("teacher M=2", 2), ("teacher M=3", 3)]
LIMITS = {2: 2.4, 3: 1.1}
SHOWN_RUNS = [(d, runs[name]["times"], runs[name]["particles"], TARGETS[name].U.numpy()) for name, d in SHOWN]
fig, snapshots = plots.directions_snapshots(SHOWN_RUNS, LIMITS)
nb.save_figure(fig, "directions_snapshots", data=snapshots,
               caption="\"particles\" of an erf student (replica 0) coloured by output weight a at four times: in "
                       "the plane for d = 2 and projected from the sphere for d = 3, with the \"teacher directions\" "
                       "as stars; the particles gather on the teacher's directions.",
               params=dict(N=N, lam=LAM, tau=TAU, eta=ETA))
plt.show()

# %% [markdown]
# The same two runs as an animation over all their recorded times (log-spaced from $t = 0$ to the horizon), with
# the colour scale fixed over the whole run.

# %%
animation, fig, anim_df = plots.cloud_animation(SHOWN_RUNS, LIMITS)
gif = nb.save_animation(animation, "cloud_moves", data=anim_df,
                        caption="The particle clouds of the snapshots above over all recorded times: left d = 2 "
                                "(teacher M = 2, the plane), right d = 3 (teacher M = 3, directions projected as "
                                "above), coloured by output weight a on a colour scale fixed over the run.",
                        params=dict(N=N, lam=LAM, tau=TAU, eta=ETA, frames=FRAMES), fps=8, dpi=80)
plt.close(fig)
gif

# %% [markdown]
# How concentrated is the final cloud? We measure the share of the total output weight $\sum_i|a_i|/N$ that sits in
# active atoms whose direction is within $0.3$ rad of a teacher direction.

# %%
def matched_weight_share(cloud, target):
    atoms = atoms_of(cloud, target)
    match = match_directions(ACTIVATION, atoms.positions, target.U.numpy())
    good = [atom for (_, atom), angle in zip(match.pairs, match.angles) if angle < 0.3]
    inside = np.isin(atoms.labels, good)
    return np.abs(cloud[inside, 0]).sum() / np.abs(cloud[:, 0]).sum()


shares = [matched_weight_share(runs[name]["particles"][-1, r], TARGETS[name])
          for name in ("teacher M=2", "teacher M=3") for r in range(R)]
print("share of |a| on teacher-matched atoms:", np.round(shares, 3))
nb.claim("final clouds (d = 2, 3): smallest share of Σ|a| on atoms matched to teacher directions", min(shares),
         0.98, 1.0, "directions_snapshots",
         prediction="1: Theorem 3 puts the long-time limit on the M teacher atoms; at τ = 1e-4 the Gibbs tail beyond "
                    "the clustering distance h ≈ 4.4 cluster widths carries a share below 1e-3, and inactive "
                    "particles decay to a = 0 at rate λ (window 2 %)")

# %% [markdown]
# ## 4. Cluster width against temperature
#
# Starting from the long-time cloud of the $M = 2$ teacher we relax for $\Delta t$ = `RELAX` at each temperature
# (several local relaxation times $1/(2\kappa)$) and measure each active atom's spread: the $|a|$-weighted RMS
# distance of its particles' aligned $w$ from the atom's position (atoms of at least 3 particles: fewer give no
# width). The claim is spread $\propto\sqrt\tau$, i.e. a log–log slope of $\frac12$. One larger temperature,
# `TAU_BREAK`, is shown but not fitted: there the clusters are as wide as the gaps between them and, with $h$ growing
# like $\sqrt\tau$, the extractor merges them — atoms are a $\tau \to 0$ notion.
#
# *Window, fixed before the run.* The slope is $\frac12 \pm 0.1$. The allowance is statistical: a spread estimated
# from a cluster of $n ≳ 16$ particles has a relative error of about $1/\sqrt{2n} \le 0.18$; over the
# $2R$ atoms at each of the four fitted temperatures (a factor 64 in $\tau$) that gives a slope standard error of
# about $0.18/\sqrt{2R \cdot 4 \cdot 2.4} \approx 0.03$ at $R = 2$, and $0.1$ is three of them rounded up. The
# Laplace approximation's own corrections are $O(\tau)$ relative, far below that. What the claim does not show:
# the constant in front of $\sqrt\tau$ (the printed ratio spread$/\sqrt\tau$ is compared with nothing), or the
# spread at larger $\tau$, where the clusters merge.

# %%
base = runs["teacher M=2"]
target2 = TARGETS["teacher M=2"]
relaxed = dict(zip(TAUS + [TAU_BREAK], nb.map(train, [train_call(target2, tau=tau, horizon=RELAX, start=base,
                                                                 run=f"relaxation at tau = {tau:g}")
                                                      for tau in TAUS + [TAU_BREAK]])))
spread_rows = []
for tau, result in relaxed.items():
    for r in range(R):
        atoms = atoms_of(result["particles"][-1, r], target2, tau=tau)
        spread_rows += [dict(tau=tau, replica=r, atom=j, spread=s, size=n, count=atoms.count, fitted=tau in TAUS)
                        for j, (s, n) in enumerate(zip(atoms.spreads, atoms.sizes)) if n >= 3]
spread_df = pd.DataFrame(spread_rows)
fit = spread_df[spread_df.fitted]
slope, intercept = loglog_fit(fit.tau, fit.spread)
log_tau = np.log(fit.tau.to_numpy())
residuals = np.log(fit.spread.to_numpy()) - (intercept + slope * log_tau)
slope_se = float(np.sqrt((residuals**2).sum() / (len(fit) - 2) / ((log_tau - log_tau.mean())**2).sum()))
ratio = fit.groupby("tau").spread.mean() / np.sqrt(fit.groupby("tau").spread.mean().index)

fig, ax = plt.subplots(figsize=(6, 4.5))
unfit = spread_df[~spread_df.fitted]
grid = np.geomspace(min(TAUS), max(TAUS), 20)
spread_lines_df = pd.concat([
    spread_df.assign(series=np.where(spread_df.fitted, "active atoms", "merged, not fitted")),
    pd.DataFrame(dict(tau=grid, spread=np.exp(intercept) * grid**slope, series="least-squares fit")),
    pd.DataFrame(dict(tau=grid, spread=np.sqrt(grid / LAM), series=r"$\sqrt{\tau/\lambda}$"))])
ax.loglog(fit.tau, fit.spread, "o", label="active atoms")
ax.loglog(unfit.tau, unfit.spread, "x", color="0.5", label="merged, not fitted")
ax.loglog(grid, np.exp(intercept) * grid**slope, "-", label="least-squares fit")
ax.loglog(grid, np.sqrt(grid / LAM), "k:", label=r"$\sqrt{\tau/\lambda}$")
ax.set(xlabel=r"$\tau$", ylabel="cluster spread", title=r"cluster width against $\tau$")
ax.legend()
nb.save_figure(fig, "spread_vs_tau", data=spread_lines_df,
               caption=f"Spread of each active atom after relaxing at temperature τ (teacher M = 2, N = {N}); "
                       f"\"least-squares fit\" over the fitted τ: log–log slope {slope:.3f} ± {slope_se:.3f} against 1/2; "
                       f"at τ = {TAU_BREAK:g} (\"merged, not fitted\") the extractor merges the clusters.",
               params=dict(taus=TAUS, tau_break=TAU_BREAK, relax=RELAX, lam=LAM, N=N))
plt.show()

# %%
SPREAD_WINDOW = 0.1  # fixed before the run: see the markdown above
nb.claim(f"cluster spread ∝ √τ: fitted log–log slope (fixed window ± {SPREAD_WINDOW})", slope, 0.5 - SPREAD_WINDOW,
         0.5 + SPREAD_WINDOW, "spread_vs_tau",
         prediction="1/2: a Gibbs cluster is Gaussian with covariance τ H⁻¹ around its atom (Laplace approximation "
                    "of exp(−U/τ), H the per-particle Hessian); the η-dependent variance inflation does not depend "
                    "on τ")
print("mean spread / √τ at each τ:", ratio.round(3).to_dict())

# %% [markdown]
# ## 5. Counting atoms against $t$, $\tau$ and $N$
#
# The active atom count along the runs (all replicas), after relaxation at each $\tau$, and at the final time for
# widths $N$ (teacher $M = 2$). Early on the cloud is a spread of many weak clusters; weight decay then merges them.

# %%
other_N = [(i, n) for i, n in enumerate(N_GRID) if n != N]
by_N = dict(zip([n for _, n in other_N], nb.map(train, [train_call(target2, N=n, run=f"width N = {n}") for _, n in other_N])))
by_N = {n: runs["teacher M=2"] if n == N else by_N[n] for n in N_GRID}
count_rows = []
for name in ("teacher M=2", "teacher M=3"):
    result, target = runs[name], TARGETS[name]
    for k, t in enumerate(result["times"]):
        for r in range(R):
            count_rows.append(dict(panel="t", target=name, x=t, replica=r,
                                   count=atoms_of(result["particles"][k, r], target).count))
for tau, result in relaxed.items():
    for r in range(R):
        count_rows.append(dict(panel="tau", target="teacher M=2", x=tau, replica=r,
                               count=atoms_of(result["particles"][-1, r], target2, tau=tau).count))
for n, result in by_N.items():
    for r in range(R):
        count_rows.append(dict(panel="N", target="teacher M=2", x=n, replica=r,
                               count=atoms_of(result["particles"][-1, r], target2).count))
count_df = pd.DataFrame(count_rows)

# %%
fig = plots.atom_counts(count_df, TEACHER_M, ETA, TAU_BREAK, N_GRID)
count_df["series"] = np.where((count_df.panel == "tau") & (count_df.x == TAU_BREAK), "largest τ, not fitted",
                              count_df.target)
nb.save_figure(fig, "atom_counts", data=pd.concat([count_df, pd.DataFrame(dict(series=["teacher M = 2"],
                                                                               count=[2]))]),
               caption="Active atom count of erf students: along training (teachers M = 2, 3), after relaxing at "
                       "temperature τ, and at the final time for widths N (teacher M = 2).",
               params=dict(N=N, N_grid=N_GRID, taus=TAUS + [TAU_BREAK], horizon=HORIZON, lam=LAM))
plt.show()

# %%
by_width = count_df[count_df.panel == "N"]
nb.claim("final count equals M for the M = 2 teacher at every width N (fraction of runs)",
         float((by_width["count"] == 2).mean()), 1.0, 1.0, "atom_counts",
         prediction="M = 2 atoms: the teacher's own representation, unique modulo the sign symmetry for an erf student "
                    "(Theorem 3 with notebook 02's identifiability), at every N")
cold = count_df[(count_df.panel == "tau") & (count_df.x.isin(TAUS))]
nb.claim("count equals M = 2 at every fitted temperature (fraction of runs)", float((cold["count"] == 2).mean()),
         1.0, 1.0, "atom_counts",
         prediction="M = 2 whenever the Gibbs width √(τ/κ) stays below h and far below the √2 between the atoms "
                    "(Theorem 3, τ → 0)")

# %% [markdown]
# ## 6. Measured count against the bound $S^*$, and teacher recovery
#
# For each target and replica: the final count, and $S^*(\varepsilon)$ at the operational level
# $\varepsilon = \|f_\infty - f^*\|$ (the $L^2$ residual of the final network, exact): Hermite tensors smaller than
# what the student leaves unfitted do not count towards $K$. Theorem 3 bounds the count by $S^*$; the line targets
# are built so that their count comes near $S^*$, where the bound can be violated.
#
# Theorem 3 is about the $t \to \infty$, $\tau \to 0$ limit, and a finite-time cloud at $\tau > 0$ can hold small
# clusters between the main atoms (table `line_atoms` lists every atom of the line targets). Two counts are
# therefore recorded, each as a claim that can fail:
#
# - the **raw count** of the final cloud, against $S^*$: the prediction that at $\lambda t \ge 12$ and this small
#   $\tau$ the cloud is already in the regime the theorem describes;
# - the **relaxed count**: each final cloud's atoms relaxed at $\tau = 0$ with their masses fixed (a BFGS descent of
#   the objective $F$ below, *started at the measured atoms*) and sent through the same extractor, so that atoms which
#   relax onto one orbit count once. This is the measured cloud carried to the $\tau = 0$ fixed point its atoms
#   flow to — an estimate of the limit the theorem speaks of, not a prediction of where the atoms are. The
#   relaxation keeps masses fixed, so it does not show what the $\tau > 0$ flow does with a small cluster at later
#   times.
#
# The `quick` profile (a smaller $N$ and a shorter horizon, a smoke run for the tests) records the raw count as a check
# against a loose window ($\le 2 S^*$): at its sizes the finite-time premise is weaker still, and it is no evidence
# either way.
#
# For teachers we also **predict** the atoms' directions. Weight decay biases them: the prediction is the $\tau = 0$
# stationary point of the regularized objective
# $$F = \tfrac12\|f - f^*\|^2 + \tfrac\lambda2\sum_j p_j|\theta_j|^2$$
# over atoms with the measured masses $p_j$ (cluster sizes $/N$), found by BFGS on exact Gaussian kernels
# (`atoms.teacher_stationary_atoms`) **started at the teacher** — atom $j$, matched to teacher neuron $m$, starts at
# $(b_m/p_j, u_m)$ — so it uses neither the measured positions nor the noise, particles or time steps; the masses are
# the only measured input. The measured centre of a cluster of $n$ particles of width $s$ fluctuates by about
# $s/\sqrt n$, an angle $s/(|w|\sqrt n)$: the claim is that every matched angle lies within 3 such units of its
# prediction.

# %%
def predicted_atoms(atoms, target, lam, N):
    """The τ = 0 stationary atoms with the measured masses, relaxed from the teacher (None without a one-to-one
    match): ``atoms.teacher_stationary_atoms``."""
    return teacher_stationary_atoms(ACTIVATION, target, atoms, N, lam)


def relaxed_count(atoms, target, lam, N):
    """Atoms left when the measured atoms, relaxed at τ = 0 with fixed masses (BFGS from the measured atoms), are
    repeated by their cluster sizes (the rest of the N particles at the fixed point θ = 0) and go through the same
    extractor: atoms that relaxed onto one orbit count once."""
    a = atoms.weights * N / atoms.sizes
    stationary = stationary_atoms(ACTIVATION, target, np.column_stack([a, atoms.positions]), atoms.sizes / N, lam)
    cloud = np.repeat(stationary.theta, atoms.sizes, axis=0)
    cloud = np.concatenate([cloud, np.zeros((N - len(cloud), cloud.shape[1]))])
    return atoms_of(cloud, target, lam=lam).count


def angle_rows(atoms, stationary, target):
    """Per teacher neuron: measured and predicted matched angle and the centre-noise unit s/(|w|√n); one row with
    z = ∞ when there is no prediction (atoms and teacher neurons do not match one to one)."""
    if stationary is None:
        return [dict(neuron=-1, size=0, measured=np.nan, predicted=np.nan, noise=np.nan, z=np.inf,
                     stationary_grad=np.nan)]
    U = target.U.numpy()
    measured = match_directions(ACTIVATION, atoms.positions, U)
    predicted = match_directions(ACTIVATION, stationary.theta[:, 1:], U)
    rows = []
    for (m, j), angle in zip(measured.pairs, measured.angles):
        k = list(predicted.pairs[:, 0]).index(m)
        noise = atoms.spreads[j] / (np.linalg.norm(atoms.positions[j]) * np.sqrt(atoms.sizes[j]))
        rows.append(dict(neuron=m, size=int(atoms.sizes[j]), measured=angle, predicted=predicted.angles[k],
                         noise=noise, z=abs(angle - predicted.angles[k]) / noise, stationary_grad=stationary.max_grad))
    return rows


# %%
summary_rows, angle_rows_all, line_rows = [], [], []
for name, result in runs.items():
    target = TARGETS[name]
    r_dim = index_dimension(target)
    for r in range(R):
        cloud = result["particles"][-1, r]
        atoms = atoms_of(cloud, target)
        eps = float(np.sqrt(2 * result["risk"][-1, r]))
        K = coefficient_threshold(target, eps)
        S = atom_bound(K, r_dim)
        relaxed = relaxed_count(atoms, target, LAM, N)
        row = dict(target=name, replica=r, count=atoms.count, relaxed_count=relaxed, eps=eps, K=K, r=r_dim,
                   S_star=S, ratio=atoms.count / S, relaxed_ratio=relaxed / S)
        if name in FAMILIES["line targets"]:
            u = target.U[0].numpy() / np.linalg.norm(target.U[0].numpy())
            line_rows += [dict(target=name, replica=r, atom=j, radius=abs(w @ u), off_line=np.linalg.norm(w - (w @ u) * u),
                               net_weight=nu * np.sign(w @ u), particles=n)
                          for j, (nu, w, n) in enumerate(zip(atoms.weights, atoms.positions, atoms.sizes))]
        if name in TEACHER_M:
            angles = angle_rows(atoms, predicted_atoms(atoms, target, LAM, N), target)
            angle_rows_all += [dict(target=name, M=TEACHER_M[name], replica=r, **a) for a in angles]
            row.update(M=TEACHER_M[name], max_angle=max(a["measured"] for a in angles))
        summary_rows.append(row)
summary = pd.DataFrame(summary_rows)
teacher_angles = pd.DataFrame(angle_rows_all)
ratio_table = summary.groupby("target", sort=False).agg(
    count=("count", "max"), relaxed_count=("relaxed_count", "max"), K=("K", "max"), S_star=("S_star", "min"),
    ratio=("ratio", "max"), relaxed_ratio=("relaxed_ratio", "max"), eps=("eps", "mean")).reset_index()
print(summary.round(4).to_string(index=False))
line_atoms = pd.DataFrame(line_rows)
nb.save_table(line_atoms, "line_atoms",
              caption="Atoms of the line targets' final clouds: radius |w·u| along the target's direction u, distance "
                      "off the line, net weight Σa/N signed along +u, and the number of particles.",
              params=dict(N=N, horizon=HORIZON, lam=LAM, tau=TAU, min_size=MIN_SIZE))
nb.save_table(ratio_table, "count_over_bound",
              caption=f"Per target, over {R} replicas: largest final atom count (count) and count after the τ = 0 "
                      "relaxation of the atoms (relaxed_count), K(ε) and smallest S*(ε) at the residual level "
                      "ε = ‖f_∞ − f*‖ (mean eps shown), and the largest ratios count/S* (ratio, relaxed_ratio).",
              params=dict(N=N, horizon=HORIZON, lam=LAM, tau=TAU))

# %%
fig, figure_data = plots.count_vs_bound(summary, teacher_angles, list(TARGETS), FAMILIES, R, LAM)
nb.save_figure(fig, "count_vs_bound", data=figure_data,
               caption="Left: active-atom count over S*(ε) at the residual level for every target and replica "
                       "(replicas offset vertically), of the final cloud (filled) and after relaxing its atoms at "
                       "τ = 0 (open), against the \"bound: count = S*\". Right: every teacher atom's "
                       "matched angle, measured (bars: 3 units of centre noise) and \"predicted from the teacher\": "
                       "the τ = 0 stationary atoms with the measured masses, relaxed from the teacher's neurons.",
               params=dict(N=N, horizon=HORIZON, lam=LAM, tau=TAU))
plt.show()

# %%
print("count/S* per target (final cloud):", ratio_table.set_index("target").ratio.round(3).to_dict())
print("count/S* per target (relaxed at τ = 0):", ratio_table.set_index("target").relaxed_ratio.round(3).to_dict())
BOUND = ("≤ 1: Theorem 3, at most S*(ε) = C(r+K, K) + 1 atoms (K + 1 for one ridge) with K = K(ε) at ε = ‖f_∞ − f*‖, "
         "for the t → ∞, τ → 0 limit")
for column, what, premise in (("ratio", "raw count of the final cloud", "; here the final cloud at λt ≥ 12, "
                               "τ = 1e-4, taken to be in that regime"),
                              ("relaxed_ratio", "count after the τ = 0 relaxation of the measured atoms",
                               "; here the measured atoms carried to their τ = 0 fixed point")):
    worst = ratio_table.loc[ratio_table[column].idxmax()]
    nb.claim(f"long-time atoms never exceed S*(ε): largest {what} / S* over targets and replicas (at {worst.target})",
             float(summary[column].max()), 0.0, 1.0, "count_vs_bound", prediction=BOUND + premise,
             smoke=(0.0, 2.0) if column == "ratio" else None)
teachers = summary[summary.target.isin(TEACHER_M)]
nb.claim("teacher of M erf neurons: fraction of runs with exactly M atoms", float((teachers["count"] ==
         teachers.M).mean()), 1.0, 1.0, "count_vs_bound",
         prediction="M: the teacher's own atoms, unique modulo sign for an erf student (Theorem 3, identifiability)")
nb.claim(f"teacher atoms' angle at λ = {LAM}: largest |measured − predicted| in units of the centre noise s/(|w|√n)",
         float(teacher_angles.z.max()), 0.0, 3.0, "count_vs_bound",
         prediction="0 ± 3 noise units: the τ = 0 stationary atoms of F with the measured masses, relaxed from the "
                    "teacher's neurons (independent BFGS computation, atoms.stationary_atoms)")
nb.check("the predicted atoms are stationary: largest per-particle gradient of F", float(teacher_angles.stationary_grad.max()),
         0.0, 1e-6, "count_vs_bound")


# %% tags=["remove-input"]
nb.say(f"""In this run the largest count over the bound is ${nb.glue("raw_ratio", summary.ratio.max(), ".3g")}$ for the
final clouds and ${nb.glue("relaxed_ratio", summary.relaxed_ratio.max(), ".3g")}$ after the relaxation (both at
{ratio_table.loc[ratio_table.ratio.idxmax()].target}); the teachers' largest direction deviation is
${nb.glue("teacher_z", teacher_angles.z.max(), ".2f")}$ noise units.""")

# %% [markdown]
# The direction error grows with $M$: the $\ell^1$-type penalty prefers atoms that share the teacher's large linear
# component $\sum_m b_m u_m$, so the regularized optimum tilts towards it, and the stationary atoms reproduce that
# tilt. How does the bias depend on $\lambda$? We train the $M = 2$ teacher at several $\lambda$, with the horizon
# scaled by $\max(\frac12, 0.02/\lambda)$ (merging runs at a rate $\propto\lambda$, so $\lambda t \ge 12$ everywhere),
# and compare each atom's measured angle with its $\tau = 0$ prediction from the teacher. A log–log fit of the
# measured largest angle flattens at small $\lambda$; the comparison says why.

# %%
other_lams = [(i, lam) for i, lam in enumerate(LAMS) if lam != LAM]
by_lam = dict(zip([lam for _, lam in other_lams], nb.map(train, [
    train_call(target2, lam=lam, horizon=HORIZON * max(0.5, LAM / lam), run=f"weight decay lam = {lam:g}") for _, lam in other_lams])))
by_lam = {lam: runs["teacher M=2"] if lam == LAM else by_lam[lam] for lam in LAMS}
lam_rows, lam_angle_rows = [], []
for lam, result in by_lam.items():
    for r in range(R):
        atoms = atoms_of(result["particles"][-1, r], target2, lam=lam)
        angles = angle_rows(atoms, predicted_atoms(atoms, target2, lam, N), target2)
        lam_angle_rows += [dict(lam=lam, replica=r, **a) for a in angles]
        lam_rows.append(dict(lam=lam, replica=r, count=atoms.count, max_angle=max(a["measured"] for a in angles),
                             max_predicted=max(a["predicted"] for a in angles),
                             residual=float(np.sqrt(2 * result["risk"][-1, r]))))
lam_df, lam_angles = pd.DataFrame(lam_rows), pd.DataFrame(lam_angle_rows)
lam_slope, lam_intercept = loglog_fit(lam_df.lam, lam_df.max_angle)
pred_slope, _ = loglog_fit(lam_df.lam, lam_df.max_predicted)
local = lam_df.groupby("lam")[["max_angle", "max_predicted"]].mean()
local_slopes = np.diff(np.log(local.values), axis=0) / np.diff(np.log(local.index.values))[:, None]
print("local slopes (measured, predicted) between consecutive λ:\n", np.round(local_slopes, 3))
print("centre noise s/(|w|√n) at each λ:", lam_angles.groupby("lam").noise.mean().round(4).to_dict())
LAM_CURVE = np.geomspace(5e-4, 0.1, 14)
start = np.column_stack([np.ones(2), target2.U.numpy() + 0.1])
curve = [match_directions(ACTIVATION, stationary_atoms(ACTIVATION, target2, start, [0.5, 0.5], lam).theta[:, 1:],
                          target2.U.numpy()).max_angle for lam in LAM_CURVE]
curve_slopes = np.diff(np.log(curve)) / np.diff(np.log(LAM_CURVE))
print("equal-mass prediction, local slope at λ:", dict(zip(np.round(np.sqrt(LAM_CURVE[1:] * LAM_CURVE[:-1]), 5),
                                                          np.round(curve_slopes, 3))))

# %%
fig, lam_data = plots.angle_vs_lambda(lam_angles, LAM_CURVE, curve, LAMS)
nb.save_figure(fig, "angle_vs_lambda", data=lam_data,
               caption=f"Matched angle of each atom of a two-neuron erf teacher against the weight decay λ: measured "
                       f"(fit of the largest: log–log slope {lam_slope:.2f}), \"predicted from the teacher\" (τ = 0 "
                       f"stationary atoms with the measured masses, relaxed from the teacher; slope {pred_slope:.2f}), "
                       f"the same prediction with both masses 1/2 over a wider range of λ, "
                       f"and the centre noise s/(|w|√n); right, the deviation in noise units.",
               params=dict(lams=LAMS, N=N, tau=TAU))
plt.show()

# %%
nb.claim("teacher M = 2 at every λ: largest |measured − predicted| matched angle in noise units",
         float(lam_angles.z.max()), 0.0, 3.0, "angle_vs_lambda",
         prediction="0 ± 3 noise units: the τ = 0 stationary atoms of F at each λ with the measured masses, "
                    "relaxed from the teacher's neurons (independent BFGS computation)")
nb.claim("teacher M = 2: exactly 2 atoms at every λ (fraction of runs)", float((lam_df["count"] == 2).mean()),
         1.0, 1.0, "angle_vs_lambda",
         prediction="M = 2 (Theorem 3 with identifiability; λt ≥ 12 leaves time to merge redundant clusters)")

# %% [markdown]
# **Is there a floor in the bias as $\lambda$ decreases?** The local log–log slopes printed above answer it: those of
# the measured largest angle fall as $\lambda$ decreases, and those of the $\tau = 0$ stationary atoms (measured
# masses, relaxed from the teacher) fall with them, so the change of slope is a property of the regularized optimum
# itself, not of $\tau$, $N$ or the horizon — the measured angles follow the predicted ones atom by atom within the
# centre noise $s/(|w|\sqrt n)$ (finite $N$ and $\tau$; its size at each $\lambda$ is printed). The line (both masses
# $\frac12$, local slopes printed above) shows the whole shape: the local slope dips below 1 at intermediate
# $\lambda$ and climbs back towards 1 as $\lambda \to 0$, as first-order perturbation of the exact $\lambda = 0$
# representation (the teacher's own atoms) predicts (bias $\propto\lambda$); at large $\lambda$ the atoms shrink and
# tilt faster. A floor would appear only where the bias meets the noise unit. What this does not show: runs below
# the smallest $\lambda$ of the grid (the horizon $\lambda t \ge 12$ grows as $1/\lambda$), and $\tau \to 0$ at
# fixed $N$.

# %% [markdown]
# ## 7. Honesty about the extractor: moving $h$ and $\delta$
#
# The count is a property of the extractor as much as of the cloud. We recount the final teacher clouds
# ($M = 1, \dots, 4$, every replica) with the clustering distance $h$ multiplied by $\frac14, \dots, 8$ and the weight
# cut $\delta$ by $\frac14, \dots, 64$, and show the fraction of clouds whose count equals $M$. Too small an $h$ splits
# a Gibbs cluster into pieces that each pass $\delta$; too large an $h$ (beyond the $\sqrt2$ between orthogonal
# teacher neurons) merges distinct atoms; too large a $\delta$ drops real atoms. The chosen $h$ is several times the
# cluster spread measured in section 4. These are checks of the extractor, not evidence.

# %%
H_FACTORS = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
DELTA_FACTORS = [0.25, 1.0, 4.0, 16.0, 64.0]
sensitivity_rows = []
for h_mult in H_FACTORS:
    for delta_mult in DELTA_FACTORS:
        hits = [atoms_of(runs[name]["particles"][-1, r], TARGETS[name], h_mult=h_mult,
                         delta_mult=delta_mult).count == M
                for name, M in TEACHER_M.items() for r in range(R)]
        sensitivity_rows.append(dict(h_mult=h_mult, delta_mult=delta_mult, fraction=float(np.mean(hits))))
sensitivity = pd.DataFrame(sensitivity_rows)
table = sensitivity.pivot(index="h_mult", columns="delta_mult", values="fraction")

fig, ax = plt.subplots(figsize=(6, 5))
image = ax.imshow(table.values, origin="lower", cmap="viridis", vmin=0, vmax=1)
for i in range(len(H_FACTORS)):
    for j in range(len(DELTA_FACTORS)):
        ax.text(j, i, f"{table.values[i, j]:.2f}", ha="center", va="center", color="w" if table.values[i, j] < 0.6
                else "k")
ax.set_xticks(range(len(DELTA_FACTORS)), [f"×{f:g}" for f in DELTA_FACTORS])
ax.set_yticks(range(len(H_FACTORS)), [f"×{f:g}" for f in H_FACTORS])
ax.grid(False)
ax.set(xlabel="δ multiplier", ylabel="h multiplier", title="fraction of teacher clouds with count = M")
fig.colorbar(image, ax=ax, shrink=0.8)
nb.save_figure(fig, "extractor_sensitivity", data=sensitivity,
               caption=f"Fraction of final erf-teacher clouds (M = 1…4, {R} replicas each) whose atom count equals M "
                       f"when the clustering distance h and the weight cut δ are scaled.",
               params=dict(h_factors=H_FACTORS, delta_factors=DELTA_FACTORS, threshold_factor=THRESHOLD_FACTOR, floor=THRESHOLD_FLOOR,
                           delta_rel=DELTA_REL))
plt.show()

# %%
plateau = sensitivity[sensitivity.h_mult.between(1, 4) & sensitivity.delta_mult.between(0.25, 16)]
nb.check("count = M for h from 1× to 4× and δ from ¼× to 16× the chosen values: smallest fraction",
         float(plateau.fraction.min()), 0.85, 1.0, "extractor_sensitivity")
at_quarter = sensitivity[(sensitivity.h_mult == 0.25) & (sensitivity.delta_mult == 1.0)].fraction
nb.check("h at ¼× (chosen δ) splits Gibbs clusters: fraction of clouds still counted M", float(at_quarter.iloc[0]),
         0.0, 0.5, "extractor_sensitivity")

# %% [markdown]
# ## Summary
#
# - Checks (not evidence): the targets' Hermite tensors satisfy Parseval to rounding and $K(\varepsilon)$ has its
#   closed form for the geometric ridge; the predicted atoms are stationary; the extractor's count is stable for $h$
#   within $1\times$–$4\times$ and $\delta$ within $\frac14\times$–$16\times$ of the chosen values and breaks at
#   $\frac14\times h$.
# - Claims with their predictions: for erf teachers with the student's own activation the count settles at $M$ at
#   every $N$, $\tau$ and $\lambda$ tried; the direction bias of every atom is compared with the bias of the
#   $\tau = 0$ stationary point of the regularized objective, relaxed from the teacher with the measured masses;
#   cluster widths are compared with $\sqrt\tau$.
# - Count against the bound: two claims, on the raw count of the final cloud and on the count after the $\tau = 0$
#   relaxation of its atoms (table `count_over_bound` has both per target). For teachers and ridges the count is far
#   below $S^*(\varepsilon)$; the line targets are built to come near it, and there the raw count of a finite-time,
#   $\tau > 0$ cloud can exceed the bound through one small cluster that the relaxation merges into a neighbouring
#   atom. Whether that cluster survives to the horizon depends on the seed (it did under the seeding scheme this
#   notebook used before its streams were named, and the raw-count claim failed there); the claims table says
#   whether it does in this run, and table `line_atoms` lists the atoms. These are a handful of targets at one $\lambda$ and
#   $\varepsilon$ = the residual: they do not show that $S^*(\varepsilon)$ holds for every Barron–Hermite target,
#   nor that it is tight.
# - For $\tau > 0$ the long-time limit is a Gibbs density with full support: what we count are clusters, and atoms
#   exist only as $\tau \to 0$.

# %%
nb.finish()
