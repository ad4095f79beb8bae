# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (companion)
#     language: python
#     name: companion
# ---

# %% [markdown]
# # 04 — Theorem 4: the four-term error decomposition
#
# The abstract's fourth result: "we derive the total feature-learning-error decomposition into statistical,
# optimization, propagation-of-chaos, and sparse-residual components, with a target-dependent Hermite/Barron tail
# replacing any initialization-only residual."
#
# This notebook builds the decomposition from measurements. A trained network f̂ — N particles, n noisy samples,
# noisy gradient descent up to time t — is linked to the target f* by a chain of networks that share its initial
# particles and its Langevin noise:
#
# f̂ → f^N_t (same N, trained on the population risk) → f_t (the mean-field reference, N_ref ≫ N particles)
# → f_∞ (the reference at long time) → f*.
#
# Each link is one component, measured as an exact squared L² distance under x ~ N(0, I_d):
#
# | component | definition | knob | predicted |
# |---|---|---|---|
# | statistical | ‖f̂ − f^N_t‖² | samples n | ∝ 1/n |
# | propagation of chaos | ‖f^N_t − f_t‖² | width N | ∝ 1/N_eff |
# | optimization | ‖f_t − f_∞‖² | time t | ∝ e^{−κt} |
# | sparse residual | ‖f_∞ − f*‖² | the target's Hermite tail, λ | the tail the student cannot hold, as λ → 0 |
#
# The four differences add up to f̂ − f*, so ‖f̂ − f*‖² ≤ (Σ_i ‖g_i‖)² ≤ 4 Σ_i ‖g_i‖² by the triangle and
# Cauchy–Schwarz inequalities. On exact norms that is an identity, so it is recorded as a **check**, not as
# evidence. The **claims** are predictions that can fail: each component's rate against its knob, a rate κ
# against an estimate that never uses f_∞, the total error at held-out (n, N) predicted from rates fitted
# elsewhere, and the absence of any initialisation effect in the residual.

# %% tags=["parameters"]
profile = "standard"
seed = 0
device = "auto"

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.ticker import LogLocator, NullFormatter
from scipy.stats import f_oneway

from companion.analysis.barron import teacher_network
from companion.analysis.coupling import bootstrap_mean, effective_size, fit_rate
from companion.analysis.decomposition import (COMPONENTS, rate_prediction, decomposition_table, degree_errors,
                                              distance2, fit_exponential_decay, fit_increment_decay,
                                              geometric_profile, optimization_table, chaos_table, residual,
                                              simulate_chain, time_average, window_steps, with_tail)
from companion.analysis.statistics import bootstrap, loglog_fit, replica_loglog_fit
from companion.engine.dynamics import network, simulate
from companion.engine.init import init_particles
from companion.engine.spec import StartingLaw, problem
from companion.engine.targets import sample_data
from companion.pipeline.notebook import setup_notebook
from companion.pipeline.style import palette

nb = setup_notebook("04_error_decomposition", profile, seed, device)

# %% [markdown]
# ## Setting and the choice of η, λ, τ
#
# Student: erf network in d = 4. Head target: a teacher of two erf neurons,
# f*(x) = erf(1.5 x₁) − erf(1.5 x₂), which the network realizes exactly with two atoms. Training labels carry
# Gaussian noise of standard deviation 0.1. Initial particles: a ~ N(0, 1), w ~ N(0, 0.25 I).
#
# - **λ = 0.1, τ = 0.01** for the chain. With weight decay the long-time limit is reached by t ≈ 25 from every
#   initialisation tried below, and the propagation-of-chaos error is in its 1/N regime. The price: at λ, τ > 0
#   the long-time limit minimizes the *regularized* free energy, so even for the realizable head target the
#   residual is not zero — it is the **regularization bias**. Section 4 follows the residual as λ → 0.
# - **η = 0.05.** The cell after the chain compares η with η/2 (at τ = 0, path by path) against the smallest
#   component.
# - **f_∞** is the reference averaged over the late window [T_∞ − T_∞/3, T_∞] (f is linear in μ, so the average
#   is itself a network: all the window's snapshots together). Averaging damps the reference's own stationary
#   fluctuation, which otherwise sets a floor O(1/N_ref) under the optimization term.
# - **Training sets are nested**: replica r draws one set of n_max samples and the run at n uses its first n.
#   Runs at different n then share their first samples, so the ratio of the statistical term at n and 4n — its
#   local slope — is measured with far less replica noise than with independent sets (section 2).

# %%
D = 4
ACTIVATION = "erf"
LAM, TAU, ETA = 0.1, 0.01, 0.05
LABEL_NOISE = 0.1
INIT_SCALE = 0.5


def head_target(activation, d, dtype, device):
    """The head target f*(x) = σ(1.5 x₁) − σ(1.5 x₂): a teacher of two atoms (built inside each task too)."""
    return teacher_network(activation, 2, d, weights=torch.tensor([1.0, -1.0]), scale=1.5).to(device, dtype)


head = head_target(ACTIVATION, D, nb.dtype, nb.device)

REPLICAS = nb.pick(quick=8, standard=16, paper=32)
N_REF = nb.pick(quick=128, standard=256, paper=1024)
WIDTHS = nb.pick(quick=[4, 8, 16, 32, 64], standard=[4, 8, 16, 32, 64, 128], paper=[4, 8, 16, 32, 64, 128, 256])
N_BASE = 16
N_HELD = 64
SAMPLE_SIZES = nb.pick(quick=[64, 256, 1024, 4096], standard=[64, 256, 1024, 4096, 16384],
                       paper=[64, 256, 1024, 4096, 16384, 65536])
TIMES = nb.pick(quick=[0.5, 1, 2, 4, 6, 8], standard=[0.5, 1, 2, 3, 4, 5, 6, 7, 8],
                paper=[0.5, 1, 2, 3, 4, 5, 6, 7, 8, 10])
T_INF = nb.pick(quick=30, standard=36, paper=48)
WINDOW = T_INF / 3
SNAPSHOTS = nb.pick(quick=8, standard=12, paper=16)
T_LATE = TIMES[-1]
GRID_TIMES = (1, T_LATE)
N_MAX = SAMPLE_SIZES[-1]
GRID_PAIRS = [(n, N) for n in (SAMPLE_SIZES[0], 1024, N_MAX) for N in (WIDTHS[0], N_BASE, N_HELD)]
PAIRS = sorted({(n, N_BASE) for n in SAMPLE_SIZES} | set(GRID_PAIRS))
HELD_OUT = [(n, N) for n, N in PAIRS if N != N_BASE]
print(f"{REPLICAS} replicas, N_ref = {N_REF}, N in {WIDTHS}, n in {SAMPLE_SIZES}, t in {TIMES}, T_inf = {T_INF}")
print(f"(n, N) pairs trained on data: {PAIRS}; held out for the prediction of the total: {HELD_OUT}")

# %% [markdown]
# ## 1. The chain
#
# One reference cloud of N_ref particles per replica; each N-system starts from its first N particles and receives
# the reference's noise on those particles, with the same seed (synchronous coupling). Each replica has its own
# initial cloud, noise and training set. All distances are exact (closed-form Gaussian kernels); as a check of the
# closed forms, the total error of one chain point is also estimated by Monte Carlo on fresh inputs.

# %%
MC_SAMPLES = nb.pick(quick=2**16, standard=2**18, paper=2**20)
LINE = np.linspace(-3, 3, 121)
MEMBERS = (r"$\hat f$ (empirical)", r"$f^N_t$ (population)", r"$f_t$ (reference)", r"$f_\infty$ (long time)",
           r"$f^*$ (target)")
SYMBOLS = (r"\hat f", "f^N_t", "f_t", r"f_\infty", "f^*")


def nested_datasets(target, R, sizes, noise_std, generator):
    """{n: (X (R, n, d), y (R, n))} for each n in ``sizes``: the first n of one set of max(sizes) samples per replica,
    y = f*(x) + noise_std·ε."""
    n_max = max(sizes)
    X, y = sample_data(target, R * n_max, noise_std, generator)
    X, y = X.reshape(R, n_max, -1), y.reshape(R, n_max)
    return {n: (X[:, :n].contiguous(), y[:, :n].contiguous()) for n in sizes}


def run_chain(activation, d, R, N_ref, widths, sample_sizes, datasets, pairs, init_seed, init_scale, eta, times, t_inf, window,
              lam, tau, seed, snapshots, N_small, line, member_names, mc_pair, mc_time, mc_inputs, dtype, device):
    """The coupled chain (one ``simulate_chain``) for the training sets ``datasets`` (one (X, y) per n), its
    decomposition tables, the errors ‖f − f*‖² of the reference and of each N-system, the reference's increments, the members along the line x = s e₁ (s in
    ``line``; names ``member_names``) and a Monte Carlo check of the exact total error at ``mc_pair``, ``mc_time`` on ``mc_inputs``."""
    head = head_target(activation, d, dtype, device)
    chain = simulate_chain(problem(activation, head), R=R, N_ref=N_ref, init_seed=init_seed,
                           law=StartingLaw(scale=init_scale),
                           N_values=widths, datasets=dict(zip(sample_sizes, datasets)), pairs=pairs, eta=eta, times=times, t_inf=t_inf,
                           window=window, lam=lam, tau=tau, seed=seed, snapshots=snapshots, dtype=dtype,
                           device=device)
    n_small = min(sample_sizes)
    k = list(chain.times).index(2)
    X = torch.zeros(len(line), d, dtype=dtype, device=device)
    X[:, 0] = torch.as_tensor(line)
    members = (chain.empirical[(n_small, N_small)][k], chain.population[N_small][k], chain.reference[k],
               chain.long_time)
    with torch.no_grad():
        curves = [network(theta[:1].to(X), activation, X)[0].cpu().numpy() for theta in members] + [head(X).cpu().numpy()]
    slices = pd.DataFrame([dict(s=s, member=name, value=v) for name, values in zip(member_names, curves)
                           for s, v in zip(line, values)])
    hat = chain.empirical[mc_pair][list(chain.times).index(mc_time)]
    with torch.no_grad():
        sq = (network(hat, activation, mc_inputs) - head(mc_inputs)) ** 2
    mc = pd.DataFrame(dict(replica=range(R), exact=residual(hat, activation, head),
                           monte_carlo=sq.mean(-1).cpu().numpy(),
                           standard_error=(sq.std(-1) / np.sqrt(len(mc_inputs))).cpu().numpy()))
    reference = pd.DataFrame([dict(replica=r, t=float(t), error=e) for k, t in enumerate(chain.times)
                              for r, e in enumerate(residual(chain.reference[k], activation, head))])
    population = pd.DataFrame([dict(replica=r, N=N, t=float(t), error=e) for N, particles in chain.population.items()
                               for k, t in enumerate(chain.times)
                               for r, e in enumerate(residual(particles[k], activation, head))])
    increments = pd.DataFrame([dict(replica=r, t=float(t), increment=v) for k, t in enumerate(chain.times[:-1])
                               for r, v in enumerate(distance2(chain.reference[k + 1], chain.reference[k],
                                                               activation))])
    return dict(table=decomposition_table(chain), chaos=chaos_table(chain),
                optimization=optimization_table(chain), reference=reference, population=population,
                increments=increments,
                slices=slices, mc=mc)


datasets = nested_datasets(head, REPLICAS, SAMPLE_SIZES, LABEL_NOISE,
                           nb.stream("training sets").generator(device=nb.device))
mc_inputs = torch.randn(MC_SAMPLES, D, generator=nb.stream("Monte Carlo inputs").generator(device=nb.device),
                        dtype=nb.dtype, device=nb.device)
# the reference cloud and the chain's noise have their own streams
main = nb.run(run_chain, activation=ACTIVATION, d=D, R=REPLICAS, N_ref=N_REF, widths=WIDTHS,
              sample_sizes=SAMPLE_SIZES, datasets=[datasets[n] for n in SAMPLE_SIZES],
              pairs=PAIRS, init_seed=nb.stream("chain initial cloud"), init_scale=INIT_SCALE, eta=ETA, times=TIMES, t_inf=T_INF,
              window=WINDOW, lam=LAM, tau=TAU, seed=nb.stream("chain noise"), snapshots=SNAPSHOTS, N_small=WIDTHS[0], line=LINE,
              member_names=MEMBERS, mc_pair=(N_MAX, N_BASE), mc_time=T_LATE, mc_inputs=mc_inputs, dtype=nb.dtype,
              device=nb.device)
table = main["table"]
print(table.groupby(["n", "N", "t"])[list(COMPONENTS) + ["total", "bound"]].mean().round(5).to_string())

# %%
slices = main["slices"]
colors = dict(zip(MEMBERS, palette(len(MEMBERS))))
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
for name in MEMBERS:
    part = slices[slices["member"] == name]
    target = name == MEMBERS[-1]
    axes[0].plot(part["s"], part["value"], color=colors[name], label=name, lw=2.5 if target else 1.5,
                 ls="--" if target else "-")
axes[0].set(xlabel=r"$s$  (input $x = s\,e_1$)", ylabel=r"$f(x)$",
            title=f"the chain's members (replica 0, n = {SAMPLE_SIZES[0]}, N = {WIDTHS[0]}, t = 2)")
axes[0].legend(fontsize=8, loc="upper left")
wide = slices.pivot(index="s", columns="member", values="value")
link_rows = []
for i, label in enumerate(COMPONENTS):
    series = f"{label}: ${SYMBOLS[i]} - {SYMBOLS[i + 1]}$"
    diff = wide[MEMBERS[i]] - wide[MEMBERS[i + 1]]
    axes[1].plot(wide.index, diff, color=palette(4)[i], label=series)
    link_rows += [dict(s=s, member=series, value=v) for s, v in diff.items()]
axes[1].axhline(0, color="0.5", lw=0.8)
axes[1].set(xlabel=r"$s$  (input $x = s\,e_1$)", ylabel="difference of consecutive members",
            title="the four links along the same line")
axes[1].legend(fontsize=8, loc="upper left")
fig.tight_layout()
mc = main["mc"]
z_max = float((np.abs(mc["exact"] - mc["monte_carlo"]) / mc["standard_error"]).max())
nb.save_figure(fig, "chain", data=pd.concat([slices, pd.DataFrame(link_rows)], ignore_index=True),
               caption="Left: the coupled chain f̂ → f^N_t → f_t → f_∞ → f* along one input line (replica 0). Right: "
                       "the differences between consecutive members, whose squared L² norms are the four components.",
               params=dict(n=SAMPLE_SIZES[0], N=WIDTHS[0], t=2, N_ref=N_REF, mc_samples=MC_SAMPLES))
print(mc.round(6).to_string(index=False))
nb.check(f"exact L2 total error vs Monte Carlo on {MC_SAMPLES} fresh inputs: largest |difference| in standard errors "
         f"over {REPLICAS} replicas", z_max, None, 4.0, "chain")

# %% [markdown]
# ## Time discretization
#
# At τ = 0 two runs with step η and η/2 from the same particles can be compared at equal times; their squared
# distance is the discretization error of the drift. It must sit well below every component measured above
# (a check of the choice of η, not a result).

# %%
def zero_noise_run(theta0, activation, d, eta, times, lam, dtype, device):
    """Particles at ``times`` of noiseless (τ = 0) gradient descent with step ``eta`` on the head target."""
    steps = np.round(np.asarray(times) / eta).astype(int)
    return simulate(theta0, activation, head_target(activation, d, dtype, device), eta=eta, steps=int(steps.max()),
                    lam=lam, tau=0.0, record_steps=steps).particles


theta0 = init_particles("gaussian", REPLICAS, N_BASE, D, scale=INIT_SCALE, rng=nb.stream("step size initial cloud"),
                        dtype=nb.dtype,
                        device=nb.device)
coarse, fine = nb.map(zero_noise_run, [dict(theta0=theta0, activation=ACTIVATION, d=D, eta=eta, times=TIMES, lam=LAM,
                                            dtype=nb.dtype, device=nb.device) for eta in (ETA, ETA / 2)])
gap_label = rf"$\|f^{{\eta}}_t - f^{{\eta/2}}_t\|^2$  ($\tau = 0$, $N = {N_BASE}$)"
smallest_label = "smallest component in the (n, N, t) grid"
gaps = pd.DataFrame([dict(series=gap_label, replica=r, t=t, value=g) for k, t in enumerate(TIMES)
                     for r, g in enumerate(distance2(coarse[k], fine[k], ACTIVATION))])
grid_table = table[table["t"].isin(GRID_TIMES) & table.apply(lambda row: (row["n"], row["N"]) in set(GRID_PAIRS),
                                                                axis=1)]
smallest = float(grid_table.groupby(["n", "N", "t"])[list(COMPONENTS)].mean().min().min())
gap_means = gaps.groupby("t")["value"].mean()
fig, ax = plt.subplots(figsize=(5.5, 4))
ax.plot(gap_means.index, gap_means.values, "o-", color=palette(1)[0], label=gap_label)
ax.axhline(smallest, color="0.3", ls="--", label=smallest_label)
ax.set(yscale="log", xlabel=r"$t$", ylabel=r"squared $L^2$ distance", title=rf"time step $\eta = {ETA}$")
ax.legend(fontsize=8, loc="center right")
nb.save_figure(fig, "time_step", data=pd.concat([gaps, pd.DataFrame([dict(series=smallest_label, value=smallest)])]),
               caption=f"Halving the time step η = {ETA} changes the trained function by at most "
                       f"{gap_means.max() / smallest:.1%} of the smallest of the four components in the grid.",
               params=dict(eta=ETA, N=N_BASE, lam=LAM, tau=0.0))
nb.check("time discretization: max_t ||f^eta - f^(eta/2)||^2 / smallest component", float(gap_means.max() / smallest),
         None, 0.1, "time_step")

# %% [markdown]
# ## 2. Each component against its knob
#
# Each panel varies one knob with the others held fixed; points are replica means with 90% bootstrap intervals
# over replicas, lines are least-squares fits. Each rate is a claim against its prediction, with a window of
# twice the 90% bootstrap half-width around the prediction.
#
# - **Statistical** against n (N = 16, t = T_late), n over 2.4 decades: predicted slope −1 — the empirical drift
#   differs from the population drift by O(n^{-1/2}) and the flow at λ > 0 contracts, so the squared distance is
#   O(1/n). The local slopes between consecutive n are tabulated with their intervals. (An earlier version
#   drew an independent training set for each n and 12 replicas; its local slope −0.47 between n = 1024 and
#   4096 came from two replica means whose 90% intervals overlapped, i.e. it was within that run's replica
#   noise. Nested sets and 16 replicas narrow those intervals. In the standard profile the flattening remains
#   at the largest n: the local slope from 4096 to 16384 is about −0.6 with an interval that excludes −1, a floor
#   of order 10⁻⁵ under the statistical term that this notebook does not explain.)
# - **Propagation of chaos** against N (t = T_late), N = 4 … 128: nested coupling makes the error
#   C(1/N − 1/N_ref), so it is fitted against N_eff = (1/N − 1/N_ref)^{-1} (notebook 01's convention); predicted
#   slope −1 (Theorem 1).
# - **Optimization** against t: the rate κ of ‖f_t − f_∞‖² ≈ C e^{−κt} is compared with an **independent
#   estimate** that never uses f_∞: if one slow mode dominates, f_t = f_∞ + e^{−κt/2} v and the increments of the
#   reference alone decay as ‖f_{t_{k+1}} − f_{t_k}‖² = ‖v‖² e^{−κt_k}(1 − e^{−κΔ_k/2})². Both are fitted on
#   the same window t ∈ [2, 6], fixed before the standard run. The decay is not a single exponential — its
#   local rate falls with t — and the two estimates weight the modes differently (the increments favour the
#   faster ones). In the standard profile the ratio on [2, 6] is 0.77: **the claim fails** the 20% test there
#   (other windows, looked at afterwards, give 0.76 to 0.93), while it passes in the quick profile.

# %%
late = table[(table["t"] == T_LATE) & (table["N"] == N_BASE)]
stat = late.pivot_table(index="replica", columns="n", values="statistical")
stat_fit = fit_rate(stat.columns.values, stat.values, seed=nb.seed)
chaos = main["chaos"][main["chaos"]["t"] == T_LATE].pivot_table(index="replica", columns="N", values="chaos")
chaos_fit = fit_rate(chaos.columns.values, chaos.values, N_ref=N_REF, seed=nb.seed)
KAPPA_WINDOW = (2, 6)
opt = main["optimization"].pivot_table(index="replica", columns="t", values="optimization")
in_window = [t for t in opt.columns if KAPPA_WINDOW[0] <= t <= KAPPA_WINDOW[1]]
opt_fit = fit_exponential_decay(in_window, opt[in_window].values, seed=nb.seed)
increments = main["increments"].pivot_table(index="replica", columns="t", values="increment")
inc_fit = fit_increment_decay(in_window, increments[in_window[:-1]].values, seed=nb.seed)


def local_slopes(x, values):
    """Log–log slope between consecutive x of the replica mean of ``values`` (R, len(x)), with 90% bootstrap
    intervals (replicas resampled jointly over x)."""
    x = np.asarray(x, dtype=float)
    slope, lo, hi = bootstrap(values, lambda v: np.diff(np.log(v.mean(0))) / np.diff(np.log(x)), seed=nb.seed)
    return pd.DataFrame(dict(n_from=x[:-1].astype(int), n_to=x[1:].astype(int), slope=slope, lo=lo, hi=hi))


stat_local = local_slopes(stat.columns.values, stat.values)
print(stat_local.round(3).to_string(index=False))


def half_width(fit, key):
    """The larger half of a fit's 90% bootstrap interval around its value."""
    return max(fit[f"{key}_hi"] - fit[key], fit[key] - fit[f"{key}_lo"])


fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
knob_rows = []


def interval_plot(ax, x, values, color, label, marker="o"):
    mean, lo, hi = bootstrap_mean(values, seed=nb.seed)
    ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], fmt=marker, color=color, capsize=3, label=label)
    return [dict(series=label, knob=v, mean=m, lo=a, hi=b) for v, m, a, b in zip(x, mean, lo, hi)]


def fit_line(ax, x, slope, intercept, color, label):
    ax.plot(x, np.exp(intercept) * x ** slope, color=color, alpha=0.7, label=label)
    return [dict(series=label, knob=v, mean=float(np.exp(intercept) * v ** slope)) for v in x]


x = stat.columns.values.astype(float)
series = rf"$\|\hat f - f^N_t\|^2$, $N = {N_BASE}$, $t = {T_LATE:g}$"
knob_rows += interval_plot(axes[0], x, stat.values, palette(3)[0], series)
knob_rows += fit_line(axes[0], x, *loglog_fit(x, stat.values.mean(0)), palette(3)[0],
                      f"fit: slope {stat_fit['slope']:.2f}")
axes[0].set(xscale="log", yscale="log", xlabel=r"samples $n$", ylabel=r"$\|\hat f - f^N_t\|^2$", title="statistical")

x = effective_size(chaos.columns.values, N_REF)
series = rf"$\|f^N_t - f_t\|^2$, $t = {T_LATE:g}$, $N_{{ref}} = {N_REF}$"
knob_rows += interval_plot(axes[1], x, chaos.values, palette(3)[1], series)
knob_rows += fit_line(axes[1], x, *loglog_fit(x, chaos.values.mean(0)), palette(3)[1],
                      f"fit: slope {chaos_fit['slope']:.2f}")
axes[1].set(xscale="log", yscale="log", xlabel=r"$N_{eff} = (1/N - 1/N_{ref})^{-1}$", ylabel=r"$\|f^N_t - f_t\|^2$",
            title="propagation of chaos")
axes[1].set_xticks(x, [f"{v:.3g}" for v in x])
axes[1].xaxis.set_minor_formatter(NullFormatter())

x = opt.columns.values.astype(float)
series_opt = r"$\|f_t - f_\infty\|^2$"
series_inc = r"$\|f_{t_{k+1}} - f_{t_k}\|^2$ at $t_k$ (no $f_\infty$)"
knob_rows += interval_plot(axes[2], x, opt.values, palette(3)[2], series_opt)
xs = increments.columns.values.astype(float)
knob_rows += interval_plot(axes[2], xs, increments.values, palette(3)[2], series_inc, marker="s")
window = np.asarray(in_window, dtype=float)
for fit, values, label in ((opt_fit, opt[in_window].values, rf"fit: $\kappa = {opt_fit['rate']:.2f}$"),
                           (inc_fit, increments[in_window[:-1]].values, rf"fit: $\kappa_{{inc}} = {inc_fit['rate']:.2f}$")):
    ts = window if values.shape[1] == len(window) else window[:-1]
    level = np.exp(np.mean(np.log(values.mean(0)) + fit["rate"] * ts))
    axes[2].plot(ts, level * np.exp(-fit["rate"] * ts), color="0.2", ls="-" if fit is opt_fit else ":", label=label)
    knob_rows += [dict(series=label, knob=t, mean=level * np.exp(-fit["rate"] * t)) for t in ts]
axes[2].axvspan(*KAPPA_WINDOW, color="0.9", zorder=0)
axes[2].set(yscale="log", xlabel=r"$t$", ylabel=r"squared $L^2$ distance",
            title=rf"optimization ($N_{{ref}} = {N_REF}$; shaded: fit window)")
for ax in axes:
    ax.legend(fontsize=8, loc="lower left")
fig.tight_layout()
nb.save_figure(fig, "components_vs_knobs", data=pd.DataFrame(knob_rows),
               caption=f"Each component against its own knob (replica means, 90% bootstrap intervals): statistical "
                       f"∝ n^{stat_fit['slope']:.2f}, propagation of chaos ∝ N_eff^{chaos_fit['slope']:.2f}, and "
                       f"optimization ∝ exp(−{opt_fit['rate']:.2f} t) on t ∈ [2, 6], where the reference's increments, "
                       f"which never use f_∞, decay at κ_inc = {inc_fit['rate']:.2f}.",
               params=dict(N_base=N_BASE, t_late=T_LATE, N_ref=N_REF, R=REPLICAS, kappa_window=KAPPA_WINDOW))
nb.save_table(stat_local, "statistical_local_slopes",
              caption=f"Local log–log slopes of the statistical term between consecutive n (N = {N_BASE}, "
                      f"t = {T_LATE:g}, {REPLICAS} replicas, nested training sets), with 90% bootstrap intervals.",
              params=dict(N=N_BASE, t=T_LATE, R=REPLICAS))
print(stat_fit, chaos_fit, opt_fit, inc_fit, sep="\n")
for name, fit in (("statistical term: fitted slope in n", stat_fit), ("propagation of chaos: fitted slope in N_eff",
                                                                      chaos_fit)):
    w = half_width(fit, "slope")
    nb.claim(f"{name} (t = {T_LATE:g}); window -1 +- 2 x its 90% bootstrap half-width {w:.3f}", fit["slope"],
             -1 - 2 * w, -1 + 2 * w, "components_vs_knobs",
             prediction="slope -1: O(1/n) from the O(n^-1/2) fluctuation of the empirical drift (Theorem 4)"
             if "statistical" in name else "slope -1 in N_eff (Theorem 1, propagation of chaos)")
nb.claim("optimization rate: kappa from ||f_t - f_inf||^2 over kappa_inc from the reference's increments, t in [2, 6]",
         opt_fit["rate"] / inc_fit["rate"], 0.8, 1.2, "components_vs_knobs",
         prediction=f"1 within 20%: kappa_inc = {inc_fit['rate']:.3f} from ||f_(t_k+1) - f_(t_k)||^2 of the reference "
                    "alone (independent estimate, no f_inf)")

# %% [markdown]
# ## 3. The sparse residual as λ → 0
#
# At one λ the residual cannot tell "set by the target's tail" from "λ too large". So the head target is trained
# with and without a Hermite tail Σ_k ρ^k h_k(x₃) along a third, orthogonal direction (ρ = 0.8), on odd degrees
# k ≥ 3 or on even degrees k ≥ 2, for λ from 0.1 down to 0.003 with τ = λ/10. The tail is orthogonal to the head
# in L², so its mass Σ_k ρ^{2k} is exactly the target's Hermite tail beyond the head's two atoms.
#
# - **Head alone** (realizable): the residual is the regularization bias, and it should vanish as λ → 0.
# - **Even tail**: the erf student is odd, so it is orthogonal to every even Hermite function: its dynamics do
#   not see the even tail (the even-tail run is actually run, and a check confirms it reproduces the head-alone
#   particles), and its residual is the head's plus the full even tail mass — it converges to the tail mass as the
#   bias vanishes.
# - **Odd tail**: whether the student absorbs part of an odd tail, and how much as λ → 0, is a measurement.
#
# Each run lasts T_res (48 in the standard profile, 12 more than the chain's reference). At the smallest λ the
# head's residual is still falling at that time (in a preliminary run, by about 20% between t = 36 and t = 48),
# so the smallest-λ bias is an upper estimate of its long-time value; none of the figures below needs it to be
# converged.

# %%
TAIL_RATE = 0.8
LAMBDAS = nb.pick(quick=[0.1, 0.01], standard=[0.1, 0.03, 0.01, 0.003], paper=[0.1, 0.03, 0.01, 0.003, 0.001])
TAU_RATIO = 0.1
RES_N = nb.pick(quick=16, standard=128, paper=256)
RES_REPLICAS = nb.pick(quick=2, standard=4, paper=8)
T_RES = nb.pick(quick=16, standard=48, paper=96)
TAIL_K = 64
DEGREES_SHOWN = 8
TAILS = {"head alone": [], "odd tail": list(range(3, TAIL_K, 2)), "even tail": list(range(2, TAIL_K, 2))}


def long_time_cloud(theta0, activation, target, t_inf, window, eta, snapshots, lam, tau, seed):
    """f_∞ from ``theta0``: the time average of ``snapshots`` snapshots over [t_inf − window, t_inf]."""
    steps = window_steps(t_inf, window, eta, snapshots)
    run = simulate(theta0, activation, target, eta=eta, steps=int(steps[-1]), lam=lam, tau=tau, record_steps=steps,
                   seed=seed)
    return time_average(run.particles)


def tailed_target(activation, d, degrees, rate, tail_K, dtype, device):
    """The head plus β_k = rate^k on ``degrees`` along e₃, every profile truncated at degree tail_K (head alone:
    no degrees)."""
    beta = geometric_profile(rate, degrees, tail_K) if degrees else torch.zeros(1)
    return with_tail(head_target(activation, d, dtype, device), torch.eye(d, dtype=dtype)[2], beta,
                     tail_K).to(device, dtype), float((beta**2).sum())


def tail_limit(theta0, activation, d, degrees, rate, tail_K, degrees_shown, flow, dtype, device):
    """Long-time cloud, residual and per-degree errors for the head plus the tail on ``degrees``."""
    target, mass = tailed_target(activation, d, degrees, rate, tail_K, dtype, device)
    cloud = long_time_cloud(theta0, activation, target, **flow)
    return dict(cloud=cloud, mass=mass, residual=residual(cloud, activation, target),
                degrees=degree_errors(cloud, activation, target, degrees_shown))


theta0 = init_particles("gaussian", RES_REPLICAS, RES_N, D, scale=INIT_SCALE, rng=nb.stream("tail sweep initial cloud"),
                        dtype=nb.dtype, device=nb.device)
tail_noise = nb.stream("tail sweep noise")  # every (λ, tail) pair shares the cloud and the noise (common random numbers)
calls = [dict(theta0=theta0, activation=ACTIVATION, d=D, degrees=degrees, rate=TAIL_RATE, tail_K=TAIL_K,
              degrees_shown=DEGREES_SHOWN, flow=dict(t_inf=T_RES, window=WINDOW, eta=ETA, snapshots=SNAPSHOTS, lam=lam,
                                                     tau=TAU_RATIO * lam, seed=tail_noise), dtype=nb.dtype,
              device=nb.device) for lam in LAMBDAS for degrees in TAILS.values()]
limits = dict(zip([(lam, name) for lam in LAMBDAS for name in TAILS], nb.map(tail_limit, calls)))
sweep = pd.DataFrame([dict(lam=lam, target=name, replica=r, residual=run["residual"][r], tail=run["mass"])
                      for (lam, name), run in limits.items() for r in range(RES_REPLICAS)])
head_alone = sweep[sweep["target"] == "head alone"].set_index(["lam", "replica"])["residual"]
sweep["excess"] = sweep["residual"].values - head_alone.loc[list(zip(sweep["lam"], sweep["replica"]))].values
summary = sweep.groupby(["target", "lam"])[["residual", "excess", "tail"]].mean()
summary["absorbed"] = 1 - summary["excess"] / summary["tail"]
print(summary.round(5).to_string())
even_gap = max(float((limits[(lam, "even tail")]["cloud"] - limits[(lam, "head alone")]["cloud"]).abs().max())
               for lam in LAMBDAS)

lam_min = min(LAMBDAS)
colors = dict(zip(TAILS, palette(3)))
fig, axes = plt.subplots(1, 2, figsize=(13, 4.4))
residual_rows = []
for name in TAILS:
    part = sweep[sweep["target"] == name].pivot_table(index="replica", columns="lam", values="residual")
    label = rf"{name}: $\|f_\infty - f^*\|^2$"
    residual_rows += interval_plot(axes[0], part.columns.values, part.values, colors[name], label)
    axes[0].plot(part.columns.values, part.values.mean(0), color=colors[name], lw=1)
    mass = float(summary.loc[(name, lam_min), "tail"])
    if mass > 0:
        line_label = rf"{name} mass $\sum_k \rho^{{2k}} = {mass:.3f}$"
        axes[0].axhline(mass, color=colors[name], ls="--", lw=1, label=line_label)
        residual_rows.append(dict(series=line_label, mean=mass))
axes[0].set(xscale="log", yscale="log", xlabel=r"weight decay $\lambda$  ($\tau = \lambda/10$)",
            ylabel=r"$\|f_\infty - f^*\|^2$", title=rf"residual against $\lambda$ ($N = {RES_N}$, $\rho = {TAIL_RATE}$)")
axes[0].set_xticks(LAMBDAS, [f"{v:g}" for v in LAMBDAS])
axes[0].xaxis.set_minor_formatter(NullFormatter())
axes[0].legend(fontsize=8, loc="lower right")
degree_rows = []
width = 0.38
for j, name in enumerate(("odd tail", "even tail")):
    excess = (limits[(lam_min, name)]["degrees"] - limits[(lam_min, "head alone")]["degrees"]).mean(0)
    beta = geometric_profile(TAIL_RATE, TAILS[name], TAIL_K).numpy() ** 2
    mass = np.append(beta[:DEGREES_SHOWN], beta[DEGREES_SHOWN:].sum())
    xs = np.arange(DEGREES_SHOWN + 1) + (j - 0.5) * width
    bar_label = f"{name}: residual excess over head alone"
    mass_label = f"{name}: tail mass at that degree"
    axes[1].bar(xs, excess, width=width, color=colors[name], alpha=0.85, label=bar_label)
    axes[1].plot(xs, mass, "_", color="0.1" if j == 0 else "0.45", ms=13, mew=2.5, label=mass_label)
    degree_rows += [dict(series=bar_label, degree=k, value=e) for k, e in enumerate(excess)]
    degree_rows += [dict(series=mass_label, degree=k, value=m) for k, m in enumerate(mass)]
axes[1].set_xticks(np.arange(DEGREES_SHOWN + 1), [str(k) for k in range(DEGREES_SHOWN)] + [f"≥{DEGREES_SHOWN}"])
axes[1].set(xlabel=r"Hermite degree $k$", ylabel=r"squared $L^2$ error",
            title=rf"residual by degree at $\lambda = {lam_min:g}$")
axes[1].legend(fontsize=8, loc="upper right")
fig.tight_layout()
nb.save_figure(fig, "residual_vs_lambda", data=pd.DataFrame(residual_rows + degree_rows),
               caption=f"Left: the long-time residual against λ (τ = λ/10, {RES_REPLICAS} replicas, 90% bootstrap "
                       f"intervals); dashed: the tails' masses. The head's regularization bias falls from "
                       f"{summary.loc[('head alone', max(LAMBDAS)), 'residual']:.3g} to "
                       f"{summary.loc[('head alone', lam_min), 'residual']:.2g}; the even-tail residual approaches its "
                       f"mass; the odd-tail excess over the head is {1 - summary.loc[('odd tail', lam_min), 'absorbed']:.1%} "
                       f"of its mass at λ = {lam_min:g}. Right: the same split by Hermite degree at λ = {lam_min:g}.",
               params=dict(lambdas=LAMBDAS, tau_ratio=TAU_RATIO, N=RES_N, R=RES_REPLICAS, tail_rate=TAIL_RATE,
                           t_res=T_RES))
nb.check("even tail: largest |particle difference| between the even-tail and head-alone runs, over lambda "
         "(an odd student is orthogonal to even Hermite functions)", even_gap, None, 1e-9, "residual_vs_lambda")
even_excess = summary.loc[("even tail", lam_min), "excess"] / summary.loc[("even tail", lam_min), "tail"]
nb.check("even tail: (residual - head residual) / tail mass at the smallest lambda (Parseval, exact)",
         float(even_excess), 1 - 1e-6, 1 + 1e-6, "residual_vs_lambda")

# %% [markdown]
# ## 4. The total error: the bound, and a prediction at held-out points
#
# Left panel: at each grid point (n, N, t) the four components (replica means), their sum, the measured total
# ‖f̂ − f*‖² and the Cauchy–Schwarz bound 4 Σ‖g_i‖², on a log scale so that the small statistical and chaos
# terms are visible next to the residual. That the total never exceeds (Σ‖g_i‖)² ≤ 4 Σ‖g_i‖² is a **check** (an
# inequality on exact norms); that the total is not far below the sum (no large cancellation between the links)
# can fail only at its lower end and is a check too.
#
# **The claim: the total at held-out points.** The chain splits the total as
# ‖f̂ − f*‖² = ‖f^N_t − f*‖² + [effect of the n samples], and the mean-field picture predicts that the effect of
# the samples does not depend on N at leading order (the statistical term converges to that of the mean-field
# flow). So the total at a pair (n, N), N ≠ 16, is predicted from two measurements that never saw that pair: the
# population run's own error ‖f^N_t − f*‖² at that N (no data), and the n-effect
# ‖f̂ − f*‖² − ‖f^N_t − f*‖² measured at N = 16. The tolerance comes from the replica spread: the whole prediction
# is bootstrapped over replicas jointly (all members of the chain share each replica), each held-out error is
# measured in units of its paired bootstrap standard deviation, and the claim is that none exceeds 3.
#
# **What a rate fit adds, and where it fails.** Replacing the measured n-effect by α n^p — p the statistical
# component's rate fitted on n < n_max, α fitted to the n-effect there — is shown for comparison (table column
# rate_fit). The n-effect is the component plus the cross term 2⟨f̂ − f^N_t, f^N_t − f*⟩, which is first order in
# the fluctuation of f̂: its replica mean decays more slowly than the component, so the component's rate
# under-predicts the n-effect at large n (the table's rate_fit column: in the standard profile by 0.2–0.7% of
# the total at n_max, 4 to 11 paired standard deviations). The claim therefore rests on the measured n-effect, not on the component's rate.

# %%
population_error = main["population"].pivot_table(index="replica", columns=["t", "N"], values="error")
totals = table.pivot_table(index="replica", columns=["t", "n", "N"], values="total")
stats = table[table["N"] == N_BASE].pivot_table(index="replica", columns=["t", "n"], values="statistical")
n_train = [n for n in SAMPLE_SIZES if n < N_MAX]


def held_out_values(t):
    """Per replica (R, ·), at time t: the statistical term at n_train (N = N_BASE), the total's n-effect
    ‖f̂ − f*‖² − ‖f^N_t − f*‖² at n_train and at each held-out n (N = N_BASE), the population error ‖f^N_t − f*‖²
    and the total at each held-out pair."""
    pop = lambda N: population_error[(t, N)].values
    effect = lambda n: totals[(t, n, N_BASE)].values - pop(N_BASE)
    return np.column_stack([stats[[(t, n) for n in n_train]].values] + [effect(n) for n in n_train]
                           + [effect(n) for n, _ in HELD_OUT] + [pop(N) for _, N in HELD_OUT]
                           + [totals[(t, n, N)].values for n, N in HELD_OUT])


def held_out_statistic(values):
    """[prediction, prediction from the rate fit, measured total, measured − prediction] at the held-out pairs, from
    the replica means of the columns laid out by ``held_out_values``: the prediction is the population error at N
    plus the n-effect measured at N = N_BASE; the rate fit replaces that n-effect by α n^p (p from the statistical
    component on n_train, α from the n-effect there)."""
    means = values.mean(0)
    a, k = len(n_train), len(HELD_OUT)
    fit = rate_prediction(n_train, means[:a], means[a:2 * a], [n for n, _ in HELD_OUT])
    effect, population = means[2 * a:2 * a + k], means[2 * a + k:2 * a + 2 * k]
    measured = means[2 * a + 2 * k:]
    predicted = population + effect
    return np.concatenate([predicted, population + fit["prediction"], measured, measured - predicted])


rows = []
for t in GRID_TIMES:
    estimate, lo, hi = bootstrap(held_out_values(t), held_out_statistic, seed=nb.seed)
    k = len(HELD_OUT)
    sigma = (hi[3 * k:] - lo[3 * k:]) / (2 * 1.645)
    for i, (n, N) in enumerate(HELD_OUT):
        rows.append(dict(t=t, n=n, N=N, predicted=estimate[i], rate_fit=estimate[k + i],
                         measured=estimate[2 * k + i], measured_lo=lo[2 * k + i], measured_hi=hi[2 * k + i],
                         error=estimate[3 * k + i], error_lo=lo[3 * k + i], error_hi=hi[3 * k + i], sigma=sigma[i],
                         z=estimate[3 * k + i] / sigma[i]))
held = pd.DataFrame(rows)
held["relative_error"] = held["error"] / held["measured"]
held["rate_fit_relative_error"] = (held["measured"] - held["rate_fit"]) / held["measured"]
print(held.round(5).to_string(index=False))

grid = grid_table.copy()
grid["point"] = grid.apply(lambda row: f"n={row['n']:.0f}\nN={row['N']:.0f}\nt={row['t']:g}", axis=1)
grid = grid.sort_values(["t", "n", "N"])
columns = list(COMPONENTS) + ["sum", "total", "bound"]
grid_means = grid.groupby("point", sort=False)[columns].mean()
labels = {"statistical": r"statistical $\|\hat f - f^N_t\|^2$", "chaos": r"chaos $\|f^N_t - f_t\|^2$",
          "optimization": r"optimization $\|f_t - f_\infty\|^2$", "residual": r"residual $\|f_\infty - f^*\|^2$",
          "sum": r"sum $\sum_i \|g_i\|^2$", "total": r"total $\|\hat f - f^*\|^2$",
          "bound": r"bound $4 \sum_i \|g_i\|^2$"}
markers = dict(statistical="o", chaos="s", optimization="D", residual="^", sum="x", total="_", bound="v")
colors = dict(zip(columns, palette(len(columns))))
fig, axes = plt.subplots(1, 2, figsize=(20, 5.5), gridspec_kw=dict(width_ratios=[3, 2]))
positions = np.arange(len(grid_means))
offsets = dict(zip(COMPONENTS, (-0.24, -0.08, 0.08, 0.24)))
decomposition_rows = []
for name in columns:
    x = positions + offsets.get(name, 0.0)
    axes[0].plot(x, grid_means[name], markers[name], color=colors[name], ms=16 if name == "total" else 6,
                 mew=2.5 if name in ("total", "sum") else 1, label=labels[name], ls="none")
    decomposition_rows += [dict(series=labels[name], point=p.replace("\n", " "), value=v)
                           for p, v in grid_means[name].items()]
axes[0].set_yscale("log")
axes[0].set_xticks(positions, grid_means.index, fontsize=7)
axes[0].set(ylabel=r"squared $L^2$ error", title="decomposition across (n, N, t): replica means")
axes[0].set_xlim(-0.6, len(positions) - 0.4)
axes[0].legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.2))
for j, (column, label, marker) in enumerate((("predicted", r"prediction: $\|f^N_t - f^*\|^2$ + n-effect at $N = 16$", "o"),
                                             ("rate_fit", r"n-effect replaced by $\alpha n^p$, $p$ from the component", "s"))):
    error = held["measured"] - held[column]
    x = np.arange(len(held)) + 0.12 * (2 * j - 1)
    if column == "predicted":
        yerr = np.vstack([held["error"] - held["error_lo"], held["error_hi"] - held["error"]])
        axes[1].errorbar(x, error, yerr=yerr, fmt=marker, color=palette(2)[j], capsize=3, label=label)
    else:
        axes[1].plot(x, error, marker, color=palette(2)[j], label=label, ls="none")
    decomposition_rows += [dict(series=label, point=f"held out n={r.n} N={r.N} t={r.t:g}", value=v)
                           for r, v in zip(held.itertuples(), error)]
axes[1].axhline(0, color="0.3", ls="--")
axes[1].set_xticks(np.arange(len(held)), [f"n={r.n}\nN={r.N}\nt={r.t:g}" for r in held.itertuples()], fontsize=7)
axes[1].set(ylabel="measured total − predicted total", title="held-out total (90% bootstrap intervals)")
axes[1].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2))
fig.tight_layout()
nb.save_figure(fig, "decomposition", data=pd.DataFrame(decomposition_rows),
               caption=f"Left: the four components, their sum, the total and the bound 4 × sum at each grid point "
                       f"({REPLICAS} replicas; log scale). Right: at the held-out pairs (N ≠ {N_BASE}), the measured "
                       f"total minus its prediction from the population run's error at that N plus the effect of n "
                       f"measured at N = {N_BASE} (largest |error| {held['z'].abs().max():.1f} paired bootstrap "
                       f"standard deviations, {held['relative_error'].abs().max():.2%} of the total); replacing that "
                       f"n-effect by the statistical component's rate fitted on n < {N_MAX} errs by up to "
                       f"{held['rate_fit_relative_error'].abs().max():.1%}.",
               params=dict(grid_pairs=GRID_PAIRS, grid_times=GRID_TIMES, held_out=HELD_OUT, R=REPLICAS, N_ref=N_REF))
nb.save_table(held.drop(columns=["error_lo", "error_hi"]), "held_out_total",
              caption=f"The total error at the held-out pairs (N ≠ {N_BASE}): predicted as the population run's "
                      f"error at that N plus the n-effect measured at N = {N_BASE}; measured (90% bootstrap interval); "
                      "their difference in paired bootstrap standard deviations (z); and the prediction with the "
                      f"n-effect replaced by α n^p, p the statistical component's rate on n < {N_MAX} (rate_fit).", params=dict(R=REPLICAS))
print(grid_means.round(5).to_string())
holds = float(((table["total"] <= table["triangle"] * (1 + 1e-9)) & (table["triangle"] <= table["bound"])).mean())
nb.check("total <= (sum of norms)^2 <= 4 x sum: fraction of (replica, n, N, t) rows where it holds", holds, 1.0, 1.0,
         "decomposition")
nb.check("no large cancellation between the links: min over rows of total / sum", float((table["total"] / table["sum"]).min()),
         0.25, None, "decomposition")
nb.claim(f"total at {len(held)} held-out (n, N, t), N != {N_BASE}: largest |measured - predicted| in paired "
         "bootstrap standard deviations", float(held["z"].abs().max()), 0.0, 3.0, "decomposition",
         prediction=f"||f^N_t - f*||^2 of the population run at that N plus the n-effect measured at N = {N_BASE}: "
                    "the effect of the samples is N-independent at leading order (mean-field limit of the "
                    "statistical term); tolerance 3 paired bootstrap standard deviations over replicas")

# %% [markdown]
# ## 5. Set by the target, not by the initialisation
#
# At λ, τ > 0 the long-time limit is the unique minimizer of the regularized free energy, so the residual should
# not remember where the particles started. The head target is trained from Gaussian, Laplace and Student-t
# (3 degrees of freedom) clouds at several scales s (a and w both scaled by s), with 8 independent replicas per
# initialisation. The residual carries finite-N noise of order ‖f_∞ − f*‖ · (C/N)^{1/2}, so the test compares the
# spread across initialisations with the spread across replicas of one initialisation (one-way ANOVA). A large
# p-value says the data show no initialisation effect at this noise level; it does not bound a small effect
# below the replica noise, whose size the figure shows.

# %%
FAMILIES = ("gaussian", "laplace", "student_t")
SCALES = nb.pick(quick=[0.25, 1.0, 2.0], standard=[0.25, 0.5, 1.0, 2.0], paper=[0.25, 0.5, 1.0, 2.0])
FLAT_N = nb.pick(quick=32, standard=64, paper=256)
FLAT_REPLICAS = nb.pick(quick=8, standard=8, paper=16)
inits = [(family, s) for family in FAMILIES for s in SCALES]


def flatness(theta0, inits, replicas, activation, d, flow, dtype, device):
    """Initial and long-time residual of the head target for ``replicas`` consecutive replicas of ``theta0`` per
    (family, scale) of ``inits``, all trained as one batch."""
    head = head_target(activation, d, dtype, device)
    cloud = long_time_cloud(theta0, activation, head, **flow)
    start, end = residual(theta0, activation, head), residual(cloud, activation, head)
    return pd.DataFrame([dict(family=family, scale=s, replica=r, initial=start[i * replicas + r],
                              residual=end[i * replicas + r])
                         for i, (family, s) in enumerate(inits) for r in range(replicas)])


theta0 = torch.cat([init_particles(family, FLAT_REPLICAS, FLAT_N, D, scale=s, a_scale=s, rng=nb.stream(f"flatness initial cloud: {family}, scale {s:g}"), dtype=nb.dtype,
                                   device=nb.device) for family, s in inits])
flat = nb.run(flatness, theta0=theta0, inits=inits, replicas=FLAT_REPLICAS, activation=ACTIVATION, d=D,
              flow=dict(t_inf=T_INF, window=WINDOW, eta=ETA, snapshots=SNAPSHOTS, lam=LAM, tau=TAU,
                        seed=nb.stream("flatness noise")),  # shared by every initialisation (common random numbers)
              dtype=nb.dtype, device=nb.device)
per_init = flat.groupby(["family", "scale"])[["initial", "residual"]].mean()
spread = float((per_init["residual"].max() - per_init["residual"].min()) / per_init["residual"].mean())
anova = f_oneway(*[group["residual"].values for _, group in flat.groupby(["family", "scale"])])
print(per_init.round(5).to_string())
print(f"one-way ANOVA of the residual on the initialisation: F = {anova.statistic:.2f}, p = {anova.pvalue:.3f}; "
      f"(max - min) / mean of the per-initialisation means: {spread:.3f}")

family_markers = dict(zip(FAMILIES, ("o", "s", "D")))
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
flat_rows = []
for i, family in enumerate(FAMILIES):
    offset = 1 + 0.04 * (i - 1)
    for ax, column, name in ((axes[0], "initial", "at t = 0"), (axes[1], "residual", r"$\|f_\infty - f^*\|^2$")):
        part = flat[flat["family"] == family].pivot_table(index="replica", columns="scale", values=column)
        label = f"{family}: {name}"
        rows = interval_plot(ax, part.columns.values * offset, part.values, palette(3)[i], label,
                             marker=family_markers[family])
        flat_rows += rows
for ax, title in ((axes[0], "error at initialisation"), (axes[1], rf"long-time residual ($N = {FLAT_N}$)")):
    ax.set(xscale="log", xlabel=r"initial scale $s$  ($a$ and $w$ both scaled)", ylabel=r"squared $L^2$ error",
           title=title)
    ax.set_xticks(SCALES, [f"{s:g}" for s in SCALES])
    ax.minorticks_off()
    ax.legend(fontsize=8, loc="upper left")
fig.tight_layout()
nb.save_figure(fig, "target_not_init", data=pd.DataFrame(flat_rows),
               caption=f"Left: the error at t = 0 from three initial families at four scales. Right: the long-time "
                       f"residual of the same runs ({FLAT_REPLICAS} replicas each, 90% bootstrap intervals; markers "
                       f"offset in s by ±4% to keep them apart): per-initialisation means within {spread:.1%} of each "
                       f"other, one-way ANOVA p = {anova.pvalue:.2f}.",
               params=dict(families=FAMILIES, scales=SCALES, N=FLAT_N, R=FLAT_REPLICAS))
nb.claim(f"residual: one-way ANOVA p-value of an initialisation effect ({len(inits)} initialisations x "
         f"{FLAT_REPLICAS} replicas)", float(anova.pvalue), 0.01, 1.0, "target_not_init",
         prediction="no effect: the long-time limit at lambda, tau > 0 is the unique minimizer of the regularized free "
                    "energy, so only finite-N replica noise separates the initialisations (rejected below p = 0.01)")

# %% [markdown]
# ## Summary: what the claims show and what they do not
#
# **Shown.** The statistical and propagation-of-chaos components decay at the predicted rate −1 in n and in
# N_eff (2.4 and 1.8 decades in the standard profile); the total error at held-out pairs
# (n, N ≠ 16) is predicted within its paired replica noise from the population run at that N and the n-effect
# measured at N = 16 alone; and the long-time residual shows no initialisation effect above the replica noise.
# As λ → 0 the head's regularization bias falls by two orders of magnitude in the standard profile (λ = 0.1 to
# 0.003), and the residual of the even tail approaches the tail's mass.
#
# **Checks, not evidence.** The bound total ≤ (Σ‖g_i‖)² ≤ 4 Σ‖g_i‖², the Monte Carlo agreement of the exact
# norms, the even-tail identity (an odd student never sees an even tail) and the size of the time-step error.
#
# **Not shown.** The n-effect on the total is not predicted by the statistical component's rate: its cross term
# with the other links decays more slowly, and a rate fitted on n < n_max misses the total at n_max by several
# standard deviations. The κ comparison fails in the standard profile (ratio 0.77 on t ∈ [2, 6]): the decay is
# not a single exponential, so one fitted "κ" is a window average and the two estimates average differently. The statistical term flattens between n = 4096 and 16384 (see its
# table); the cause (a floor from another term, or the engines' numerics) is not identified.
# The ANOVA does not exclude an initialisation effect smaller than the replica noise. The odd-tail run shows that
# the student starts to absorb an odd tail as λ decreases; where that stops (T → ∞, N → ∞, λ → 0) is not
# measured here, so for a tail in the student's own (odd) span the limit residual is not established.

# %%
nb.finish()
