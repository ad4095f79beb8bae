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
# This notebook builds the decomposition from measurements. A trained network $\hat f$ — $N$ particles, $n$ noisy
# samples, noisy gradient descent up to time $t$ — is linked to the target $f^*$ by a chain of networks that share
# its initial particles and its Langevin noise:
#
# $$\hat f \;\to\; f^N_t \;\to\; f_t \;\to\; f_\infty \;\to\; f^*,$$
#
# where $f^N_t$ has the same $N$ particles trained on the population risk, $f_t$ is the mean-field reference
# ($N_{ref} \gg N$ particles) and $f_\infty$ the reference at long time. Each link is one component, an exact
# squared $L^2$ distance under $x \sim N(0, I_d)$:
#
# | component | definition | knob | predicted |
# |---|---|---|---|
# | statistical | $\lVert\hat f - f^N_t\rVert^2$ | samples $n$ | $\propto 1/n$ |
# | propagation of chaos | $\lVert f^N_t - f_t\rVert^2$ | width $N$ | $\propto 1/N_{eff}$ |
# | optimization | $\lVert f_t - f_\infty\rVert^2$ | time $t$ | the rates of the flow linearised at $f_\infty$ |
# | sparse residual | $\lVert f_\infty - f^*\rVert^2$ | the target's Hermite tail, $\lambda$ | the tail the student cannot hold, as $\lambda \to 0$ |
#
# The four differences $g_i$ add up to $\hat f - f^*$, so
# $\lVert\hat f - f^*\rVert^2 \le (\sum_i \lVert g_i\rVert)^2 \le 4 \sum_i \lVert g_i\rVert^2$: on exact norms
# an identity, recorded as a **check**. The **claims** (listed in the summary) are predictions that can fail; every
# window is a constant in the code, fixed before the standard run.

# %% tags=["parameters"]
profile = "standard"
seed = 0
device = "auto"

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.ticker import NullFormatter
from scipy.stats import f_oneway

from companion.analysis.barron import teacher_network
from companion.analysis.calibration import resampled_false_alarm_rate, studentized_max_test
from companion.analysis.coupling import bootstrap_mean, effective_size, fit_rate
from companion.analysis.decomposition import (
    COMPONENTS,
    at_times,
    chaos_table,
    decomposition_table,
    degree_errors,
    distance2,
    geometric_profile,
    late_snapshots,
    members_along_line,
    monte_carlo_check,
    nested_datasets,
    optimization_table,
    population_table,
    rate_prediction,
    replica_rows,
    residual,
    simulate_chain,
    stationary_floor,
    time_average,
    window_steps,
    with_tail,
)
from companion.analysis.relaxation import fit_exponentials, linearised_relaxation
from companion.analysis.statistics import bootstrap, loglog_fit

# %%
from companion.engine.dynamics import simulate
from companion.engine.init import init_particles
from companion.engine.spec import StartingLaw, problem
from companion.pipeline import error_decomposition_plots as plots
from companion.pipeline.notebook import setup_notebook
from companion.pipeline.prose import tex_scientific
from companion.pipeline.style import errorbar_rows, palette

nb = setup_notebook("04_error_decomposition", profile, seed, device)

# %% [markdown]
# ## Setting and the choice of $\eta$, $\lambda$, $\tau$
#
# Student: erf network in $d = 4$. Head target: a teacher of two erf neurons,
# $f^*(x) = \mathrm{erf}(1.5\,x_1) - \mathrm{erf}(1.5\,x_2)$, which the network realizes exactly with two atoms.
# Training labels carry Gaussian noise of standard deviation $0.1$. Initial particles: $a \sim N(0, 1)$,
# $w \sim N(0, 0.25\, I)$.
#
# - $\lambda = 0.1$, $\tau = 0.01$ for the chain: the long-time limit is reached by $t \approx 25$ from every
#   initialisation tried below, and the chaos error is in its $1/N$ regime. At $\lambda, \tau > 0$ the limit
#   minimizes the *regularized* free energy, so even for the realizable head target the residual is not zero — it is
#   the **regularization bias**, followed as $\lambda \to 0$ in section 4.
# - $\eta = 0.05$, checked against $\eta/2$ below.
# - $f_\infty$ is the reference averaged over the late window $[T_\infty - T_\infty/3, T_\infty]$ (all the window's
#   snapshots together, $f$ being linear in $\mu$), which damps the reference's own stationary fluctuation.
# - Training sets are nested (the run at $n$ uses the first $n$ of one set of $n_{max}$ samples), so the local
#   slopes of the statistical term carry little replica noise.

# %%
D, ACTIVATION = 4, "erf"
LAM, TAU, ETA = 0.1, 0.01, 0.05
LABEL_NOISE, INIT_SCALE = 0.1, 0.5
REPLICAS = nb.pick(quick=8, standard=16, paper=32)
N_REF = nb.pick(quick=128, standard=256, paper=1024)
WIDTHS = nb.pick(quick=[4, 8, 16, 32, 64], standard=[4, 8, 16, 32, 64, 128], paper=[4, 8, 16, 32, 64, 128, 256])
N_BASE, N_HELD = 16, 64
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
# The optimization term's decay: window, times and tolerance fixed here, before the standard run (chosen on the
# held-out seeds 100 and 101 of a preliminary run, never on this notebook's seeds).
KAPPA_TIMES = np.arange(2.0, 8.01, 0.5)
KAPPA_TOLERANCE = 1.25
SLOPE_WINDOW = (-1.2, -0.8)
HELD_OUT_LEVEL = 0.9  # the held-out test: family-wise false-alarm rate 10 %, fixed before the run
MC_SAMPLES = nb.pick(quick=2**16, standard=2**18, paper=2**20)
LINE = np.linspace(-3, 3, 121)
print(f"R = {REPLICAS}, N_ref = {N_REF}, N: {WIDTHS}, n: {SAMPLE_SIZES}, t: {TIMES}; held out: {HELD_OUT}")

# %% [markdown]
# ## 1. The chain
#
# One reference cloud of $N_{ref}$ particles per replica; each $N$-system starts from its first $N$ particles and
# receives the reference's noise on those particles (synchronous coupling). Each replica has its own initial cloud,
# noise and training set. All distances are exact (closed-form Gaussian kernels); as a check of the closed forms,
# the total error of one chain point is also estimated by Monte Carlo on fresh inputs. The same task linearises the
# reference's flow at its last snapshot for section 3.

# %%
def head_target(activation, d, dtype, device):
    """The head target f*(x) = σ(1.5 x₁) − σ(1.5 x₂): a teacher of two atoms (built inside each task too)."""
    return teacher_network(activation, 2, d, weights=torch.tensor([1.0, -1.0]), scale=1.5).to(device, dtype)


def run_chain(activation, d, R, N_ref, widths, sample_sizes, datasets, pairs, init_seed, init_scale, eta, times, kappa_times, t_inf,
              window, lam, tau, seed, snapshots, slice_pair, line, mc_pair, mc_inputs, dtype, device):
    """The coupled chain (one ``simulate_chain``, recorded at ``times`` and ``kappa_times``), its tables at ``times``,
    the optimization term and the stationary floor at ``kappa_times``, the flow linearised at each replica's last
    reference snapshot and started at kappa_times[0], the members along a line and a Monte Carlo check of the exact
    total error at ``mc_pair``, t = times[-1]."""
    head = head_target(activation, d, dtype, device)
    full = simulate_chain(problem(activation, head), R=R, N_ref=N_ref, init_seed=init_seed,
                          law=StartingLaw(scale=init_scale), N_values=widths, datasets=dict(zip(sample_sizes, datasets)), pairs=pairs, eta=eta,
                          times=sorted(set(times) | set(kappa_times)), t_inf=t_inf, window=window, lam=lam, tau=tau,
                          seed=seed, snapshots=snapshots, dtype=dtype, device=device)
    chain, decay = at_times(full, times), at_times(full, kappa_times)
    linear = linearised_relaxation(decay.reference[0], late_snapshots(full)[-1], activation, head, lam,
                                   np.asarray(kappa_times) - kappa_times[0])
    return dict(table=decomposition_table(chain), chaos=chaos_table(chain), population=population_table(chain),
                optimization=optimization_table(decay), floor=stationary_floor(full), linear=linear,
                slices=members_along_line(chain, slice_pair, 2, line),
                mc=monte_carlo_check(chain.empirical[mc_pair][-1], activation, head, mc_inputs))


head = head_target(ACTIVATION, D, nb.dtype, nb.device)
datasets = nested_datasets(head, REPLICAS, SAMPLE_SIZES, LABEL_NOISE,
                           nb.stream("training sets").generator(device=nb.device))
mc_inputs = torch.randn(MC_SAMPLES, D, generator=nb.stream("Monte Carlo inputs").generator(device=nb.device),
                        dtype=nb.dtype, device=nb.device)
main = nb.run(run_chain, activation=ACTIVATION, d=D, R=REPLICAS, N_ref=N_REF, widths=WIDTHS, sample_sizes=SAMPLE_SIZES,
              datasets=[datasets[n] for n in SAMPLE_SIZES], pairs=PAIRS, init_seed=nb.stream("chain initial cloud"),
              init_scale=INIT_SCALE, eta=ETA, times=TIMES, kappa_times=KAPPA_TIMES.tolist(), t_inf=T_INF,
              window=WINDOW, lam=LAM, tau=TAU, seed=nb.stream("chain noise"),
              snapshots=SNAPSHOTS, slice_pair=(SAMPLE_SIZES[0], WIDTHS[0]), line=LINE,
              mc_pair=(N_MAX, N_BASE), mc_inputs=mc_inputs, dtype=nb.dtype, device=nb.device)
table = main["table"]
print(table.groupby(["n", "N", "t"])[list(COMPONENTS) + ["total", "bound"]].mean().round(5).to_string())

# %%
MEMBER_LABELS = dict(empirical=r"$\hat f$ (empirical)", population=r"$f^N_t$ (population)",
                     reference=r"$f_t$ (reference)", long_time=r"$f_\infty$ (long time)", target=r"$f^*$ (target)")
SYMBOLS = (r"\hat f", "f^N_t", "f_t", r"f_\infty", "f^*")
slices = main["slices"].assign(member=lambda frame: frame["member"].map(MEMBER_LABELS))
wide = slices.pivot(index="s", columns="member", values="value")[list(MEMBER_LABELS.values())]
fig, link_rows = plots.chain_members(
    wide, [f"{label}: ${SYMBOLS[i]} - {SYMBOLS[i + 1]}$" for i, label in enumerate(COMPONENTS)],
    rf"the chain's members (replica 0, $n = {SAMPLE_SIZES[0]}$, $N = {WIDTHS[0]}$, $t = 2$)")
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
# At $\tau = 0$ two runs with step $\eta$ and $\eta/2$ from the same particles can be compared at equal times; their
# squared distance is the discretization error of the drift. It must sit well below every component measured above
# (a check of the choice of $\eta$, not a result).

# %%
def zero_noise_run(theta0, activation, d, eta, times, lam, dtype, device):
    """Particles at ``times`` of noiseless (τ = 0) gradient descent with step ``eta`` on the head target."""
    steps = np.round(np.asarray(times) / eta).astype(int)
    return simulate(theta0, activation, head_target(activation, d, dtype, device), eta=eta, steps=int(steps.max()),
                    lam=lam, tau=0.0, record_steps=steps).particles


theta0 = init_particles("gaussian", REPLICAS, N_BASE, D, scale=INIT_SCALE, rng=nb.stream("step size initial cloud"),
                        dtype=nb.dtype, device=nb.device)
coarse, fine = nb.map(zero_noise_run, [dict(theta0=theta0, activation=ACTIVATION, d=D, eta=eta, times=TIMES, lam=LAM,
                                            dtype=nb.dtype, device=nb.device) for eta in (ETA, ETA / 2)])
gap_label = rf"$\|f^{{\eta}}_t - f^{{\eta/2}}_t\|^2$  ($\tau = 0$, $N = {N_BASE}$)"
smallest_label = "smallest component in the (n, N, t) grid"
gaps = pd.DataFrame([dict(series=gap_label, replica=r, t=t, value=g) for k, t in enumerate(TIMES)
                     for r, g in enumerate(distance2(coarse[k], fine[k], ACTIVATION))])
in_grid = table.apply(lambda row: (row["n"], row["N"]) in set(GRID_PAIRS), axis=1)
grid_table = table[table["t"].isin(GRID_TIMES) & in_grid]
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
# ## 2. The statistical and chaos components against their knobs
#
# Each panel varies one knob with the others held fixed; points are replica means with 90% bootstrap intervals over
# replicas, lines are least-squares fits of the log replica mean.
#
# - **Statistical** against $n$ ($N = 16$, $t = T_{late}$): predicted slope $-1$ — the empirical drift differs from
#   the population drift by $O(n^{-1/2})$ and the flow at $\lambda > 0$ contracts, so the squared distance is
#   $O(1/n)$. The local slopes between consecutive $n$ are tabulated with their intervals.
# - **Propagation of chaos** against $N$ ($t = T_{late}$): nested coupling makes the error $C(1/N - 1/N_{ref})$, so
#   it is fitted against $N_{eff} = (1/N - 1/N_{ref})^{-1}$ (notebook 01's convention); predicted slope $-1$
#   (Theorem 1).
#
# Both claims use the fixed window $[-1.2, -0.8]$. Whether the bootstrap interval beside each slope is calibrated —
# whether a 90% interval from one batch of replicas covers the slope of many batches about 90% of the time — needs
# $K \ge 8$ independent batches, eight times this chain: more than the standard profile's budget. That study runs in
# `make robustness` (seeds $1 \dots 8$, each seed one batch with its own streams; this figure's data file carries
# the replica values it reads) and its table is `figures/robustness/calibration_04.md`.

# %%
late = table[(table["t"] == T_LATE) & (table["N"] == N_BASE)]
stat = late.pivot_table(index="replica", columns="n", values="statistical")
stat_fit = fit_rate(stat.columns.values, stat.values, seed=nb.stream("bootstrap: statistical slope"))
chaos = main["chaos"][main["chaos"]["t"] == T_LATE].pivot_table(index="replica", columns="N", values="chaos")
chaos_fit = fit_rate(chaos.columns.values, chaos.values, N_ref=N_REF, seed=nb.stream("bootstrap: chaos slope"))
n_eff = effective_size(chaos.columns.values, N_REF)


def local_slopes(x, values, stream):
    """Log–log slope between consecutive x of the replica mean of ``values`` (R, len(x)), with 90% bootstrap
    intervals (replicas resampled jointly over x, by ``stream``)."""
    x = np.asarray(x, dtype=float)
    slope, lo, hi = bootstrap(values, lambda v: np.diff(np.log(v.mean(0))) / np.diff(np.log(x)), seed=stream)
    return pd.DataFrame(dict(n_from=x[:-1].astype(int), n_to=x[1:].astype(int), slope=slope, lo=lo, hi=hi))


def interval_plot(ax, x, values, color, label, marker="o"):
    """Replica means of ``values`` (R, len(x)), 90% bootstrap intervals (stream named by ``label``); plotted rows."""
    return errorbar_rows(ax, x, *bootstrap_mean(values, seed=nb.stream(f"bootstrap: {label}")), color, label, marker)


def fit_line(ax, x, values, color, label):
    """The least-squares line of the log replica mean of ``values`` against log x; returns the plotted rows."""
    slope, intercept = loglog_fit(x, values.mean(0))
    ax.plot(x, np.exp(intercept) * x ** slope, color=color, alpha=0.7, label=label)
    return [dict(series=label, knob=float(v), mean=float(np.exp(intercept) * v ** slope)) for v in x]


stat_local = local_slopes(stat.columns.values, stat.values, nb.stream("bootstrap: local statistical slopes"))
print(stat_local.round(3).to_string(index=False))

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
knob_rows = []
for ax, x, values, fit, color, series, xlabel in (
        (axes[0], stat.columns.values.astype(float), stat.values, stat_fit, palette(2)[0],
         rf"$\|\hat f - f^N_t\|^2$, $N = {N_BASE}$, $t = {T_LATE:g}$", r"samples $n$"),
        (axes[1], n_eff, chaos.values, chaos_fit, palette(2)[1],
         rf"$\|f^N_t - f_t\|^2$, $t = {T_LATE:g}$, $N_{{ref}} = {N_REF}$", r"$N_{eff} = (1/N - 1/N_{ref})^{-1}$")):
    knob_rows += interval_plot(ax, x, values, color, series)
    knob_rows += fit_line(ax, x, values, color, f"fit: slope {fit['slope']:.2f}")
    ax.set(xscale="log", yscale="log", xlabel=xlabel)
    ax.legend(fontsize=9, loc="lower left")
axes[0].set(ylabel=r"$\|\hat f - f^N_t\|^2$", title="statistical")
axes[1].set(ylabel=r"$\|f^N_t - f_t\|^2$", title="propagation of chaos")
axes[1].set_xticks(n_eff, [f"{v:.3g}" for v in n_eff])
axes[1].xaxis.set_minor_formatter(NullFormatter())
fig.tight_layout()
knob_rows += replica_rows("statistical", stat.columns.values, stat.values)
knob_rows += replica_rows("chaos", n_eff, chaos.values)
nb.save_figure(fig, "components_vs_knobs", data=pd.DataFrame(knob_rows),
               caption=f"The statistical and chaos components against their knobs (replica means, 90% bootstrap "
                       f"intervals): statistical ∝ n^{stat_fit['slope']:.2f}, propagation of chaos ∝ "
                       f"N_eff^{chaos_fit['slope']:.2f}. The data file also holds every replica's value (read by "
                       f"make robustness for the calibration of these intervals).",
               params=dict(N_base=N_BASE, t_late=T_LATE, N_ref=N_REF, R=REPLICAS))
nb.save_table(stat_local, "statistical_local_slopes",
              caption=f"Local log–log slopes of the statistical term between consecutive n (N = {N_BASE}, "
                      f"t = {T_LATE:g}, {REPLICAS} replicas, nested training sets), with 90% bootstrap intervals.",
              params=dict(N=N_BASE, t=T_LATE, R=REPLICAS))
for name, fit, prediction in (
        ("statistical term: fitted slope in n", stat_fit,
         "slope -1: O(1/n) from the O(n^-1/2) fluctuation of the empirical drift (Theorem 4)"),
        ("propagation of chaos: fitted slope in N_eff", chaos_fit, "slope -1 in N_eff (Theorem 1)")):
    nb.claim(f"{name} (t = {T_LATE:g}); fixed window [-1.2, -0.8]", fit["slope"], *SLOPE_WINDOW,
             "components_vs_knobs", prediction=prediction)

# %% tags=["remove-input"]
worst = stat_local.iloc[-1]
nb.say(f"""Measured: the statistical slope is ${nb.glue('stat_slope', stat_fit['slope'], '.2f')}$ over
${nb.glue('stat_decades', np.log10(N_MAX / SAMPLE_SIZES[0]), '.1f')}$ decades of $n$ (90% interval
$[{stat_fit['slope_lo']:.2f}, {stat_fit['slope_hi']:.2f}]$), the chaos slope
${nb.glue('chaos_slope', chaos_fit['slope'], '.2f')}$ over ${np.log10(n_eff[-1] / n_eff[0]):.1f}$ decades of
$N_{{eff}}$ (90% interval $[{chaos_fit['slope_lo']:.2f}, {chaos_fit['slope_hi']:.2f}]$). The local slope of the
statistical term between $n = {int(worst['n_from'])}$ and ${int(worst['n_to'])}$ is
${nb.glue('stat_last_local', worst['slope'], '.2f')}$ $[{worst['lo']:.2f}, {worst['hi']:.2f}]$: where it flattens,
a floor under the statistical term that this notebook does not explain.""")

# %% [markdown]
# ## 3. The optimization term: decay rates from the linearised flow
#
# The decay of $\lVert f_t - f_\infty\rVert^2$ is not one exponential: its local rate falls with $t$, so a single
# fitted "$\kappa$" is a window average and two single-rate estimators agree only by chance. The prediction here
# comes from something the decay itself never enters: the flow linearised at the long-time configuration.
#
# **Operational definition.** The particle drift $b_i(\theta) = -(\nabla V(\mu_N, \theta_i) + \lambda\theta_i)$ is
# $-\nabla E$ for $E = N R(\theta) + \frac\lambda2\lvert\theta\rvert^2$; its Jacobian $J = -H$,
# $H = \nabla^2 E$ (interaction between particles included), is taken at the reference's last snapshot
# $\theta_\infty$ (at $T_\infty$), by central differences of the exact kernel gradients. With
# $G = Df^\top Df$ the first-order metric of $f$ at $\theta_\infty$, the linearised flow started from the measured
# configuration at $t_0 = 2$ predicts
# $$\lVert f_t - f_\infty\rVert^2 \approx \delta_0^\top e^{-H(t - t_0)} G\, e^{-H(t - t_0)} \delta_0 + F,\qquad
#   \delta_0 = \theta_{t_0} - \theta_\infty,$$
# a sum of exponentials with rates $h_j + h_k$ from the spectrum of $H$; $F$ is the stationary floor (the
# reference's own fluctuation around $f_\infty$ over the late window, measured there). The claim compares the
# slow rate of a two-exponential fit of the measured curve on $t \in [2, 8]$ with that of the same fit of the
# prediction, on the same replicas; the window, the times and the tolerance (a factor $1.25$ either way) are fixed in
# the code above.
#
# **Assumptions.** (i) On $[2, 8]$ the reference is close enough to $\theta_\infty$ for the first-order flow.
# (ii) With noise, the mean of a linear SDE $d\delta = -H\delta\,dt + \sqrt{2\tau}\,dB$ relaxes by $e^{-Ht}$ whatever
# $\tau$, and the noise adds the floor $F$, not a rate; the full Langevin generator's spectrum (which also moves the
# fluctuations) is not what is computed. (iii) $\theta_\infty$ is one stationary sample, not a zero of the drift:
# at $\tau > 0$ it sits off the minimum by the noise, so $H$ has a few negative eigenvalues (their weight is
# reported below); the prediction uses $H$ as it is.
#
# **What it does not show.** Agreement of the slow rate says the late decay is the linear relaxation of
# $\theta_\infty$'s visible modes; it does not test the mean-field Fokker–Planck operator's spectrum, nor the fast
# rate (its fit rests on the first few points and is shown, not claimed).

# %%
opt = main["optimization"].pivot_table(index="replica", columns="t", values="optimization")
linear = main["linear"]
floor = float(main["floor"].mean())
measured_curve = opt.values.mean(0)
predicted_curve = linear["decay"].mean(0) + floor
fit_measured = fit_exponentials(KAPPA_TIMES, measured_curve, 2)
fit_predicted = fit_exponentials(KAPPA_TIMES, predicted_curve, 2)
kappa_ratio = fit_measured["rates"][0] / fit_predicted["rates"][0]
rates = 2 * linear["eigenvalues"]
negative_weight = float((linear["weights"] * (rates < 0)).sum(1).mean())
print(f"measured rates {fit_measured['rates'].round(3)}, predicted {fit_predicted['rates'].round(3)}, "
      f"floor {floor:.2e}, weight on negative eigenvalues {negative_weight:.3f}")
fig, decay_rows, rate_rows, bins, modes_label = plots.relaxation(
    KAPPA_TIMES, (opt.columns.values, *bootstrap_mean(opt.values, seed=nb.stream("bootstrap: relaxation"))), rf"measured ({REPLICAS} replicas)",
    predicted_curve, dict(measured=fit_measured, predicted=fit_predicted), floor, rates, linear["weights"], REPLICAS,
    N_REF)

# %%
heights, _ = np.histogram(rates.ravel(), bins=bins, weights=linear["weights"].ravel() / REPLICAS)
spectrum_rows = [dict(series=modes_label, knob=(lo + hi) / 2, mean=float(h), lo=lo, hi=hi)  # the bars as drawn
                 for lo, hi, h in zip(bins[:-1], bins[1:], heights)]
nb.save_figure(fig, "relaxation", data=pd.DataFrame(decay_rows + spectrum_rows + rate_rows),
               caption="Left: ‖f_t − f_∞‖² on t ∈ [2, 8] (replica means, 90% bootstrap intervals) and the prediction "
                       "of the flow linearised at each replica's last reference snapshot plus the stationary floor, "
                       "each with its two-exponential fit. Right: the linearised modes' rates weighted by their share "
                       "of the start's visible displacement.",
               params=dict(kappa_times=KAPPA_TIMES.tolist(), R=REPLICAS, N_ref=N_REF, lam=LAM, tau=TAU))
nb.claim("optimization term: slow rate of a two-exponential fit of ||f_t - f_inf||^2 on t in [2, 8] over that of the "
         "flow linearised at each replica's last reference snapshot", kappa_ratio, 1 / KAPPA_TOLERANCE,
         KAPPA_TOLERANCE, "relaxation", smoke=(0.4, 2.5),
         prediction="1 within a factor 1.25: the decay is the first-order relaxation dtheta/dt = -H theta of the "
                    "stationary configuration's modes (H the Hessian of the particle energy with interaction, exact "
                    "kernels), plus the measured stationary floor; window and tolerance fixed before the run")

# %% tags=["remove-input"]
nb.say(f"""Measured: the two-exponential fit of $\\lVert f_t - f_\\infty\\rVert^2$ on $[2, 8]$ has rates
${nb.glue('kappa_slow', fit_measured['rates'][0], '.2f')}$ and ${nb.glue('kappa_fast', fit_measured['rates'][1], '.2f')}$;
the linearised flow predicts ${nb.glue('kappa_slow_predicted', fit_predicted['rates'][0], '.2f')}$ and
${nb.glue('kappa_fast_predicted', fit_predicted['rates'][1], '.2f')}$, a slow-rate ratio of
${nb.glue('kappa_ratio', kappa_ratio, '.2f')}$. The stationary floor is
$F = {nb.glue('kappa_floor', floor, tex_scientific)}$, and the eigenmodes of $H$ with negative eigenvalues carry
${nb.glue('negative_weight', 100 * negative_weight, '.1f')}\\%$ of the start's visible displacement.""")

# %% [markdown]
# ## 4. The sparse residual as $\lambda \to 0$
#
# At one $\lambda$ the residual cannot tell "set by the target's tail" from "$\lambda$ too large". So the head target
# is trained with and without a Hermite tail $\sum_k \rho^k h_k(x_3)$ along a third, orthogonal direction
# ($\rho = 0.8$), on odd degrees $k \ge 3$ or on even degrees $k \ge 2$, for $\lambda$ from $0.1$ down to $0.003$
# with $\tau = \lambda/10$. The tail is orthogonal to the head in $L^2$, so its mass $\sum_k \rho^{2k}$ is exactly
# the target's Hermite tail beyond the head's two atoms.
#
# - **Head alone** (realizable): the residual is the regularization bias, and it should vanish as $\lambda \to 0$.
# - **Even tail**: the erf student is odd, so it is orthogonal to every even Hermite function: its dynamics do not
#   see the even tail (a check confirms the even-tail run reproduces the head-alone particles), and its residual is
#   the head's plus the full even tail mass.
# - **Odd tail**: whether the student absorbs part of an odd tail, and how much as $\lambda \to 0$, is a
#   measurement.
#
# Each run lasts $T_{res}$; at the smallest $\lambda$ the head's residual is still falling then, so that bias is an
# upper estimate of its long-time value.

# %%
TAIL_RATE, TAU_RATIO, TAIL_K, DEGREES_SHOWN = 0.8, 0.1, 64, 8
LAMBDAS = nb.pick(quick=[0.1, 0.01], standard=[0.1, 0.03, 0.01, 0.003], paper=[0.1, 0.03, 0.01, 0.003, 0.001])
RES_N = nb.pick(quick=16, standard=128, paper=256)
RES_REPLICAS = nb.pick(quick=2, standard=4, paper=8)
T_RES = nb.pick(quick=16, standard=48, paper=96)
TAILS = {"head alone": [], "odd tail": list(range(3, TAIL_K, 2)), "even tail": list(range(2, TAIL_K, 2))}


def long_time_cloud(theta0, activation, target, t_inf, window, eta, snapshots, lam, tau, seed):
    """f_∞ from ``theta0``: the time average of ``snapshots`` snapshots over [t_inf − window, t_inf]."""
    steps = window_steps(t_inf, window, eta, snapshots)
    run = simulate(theta0, activation, target, eta=eta, steps=int(steps[-1]), lam=lam, tau=tau, record_steps=steps,
                   seed=seed)
    return time_average(run.particles)


def tail_limit(theta0, activation, d, degrees, rate, tail_K, degrees_shown, flow, dtype, device):
    """Long-time cloud, residual and per-degree errors for the head plus β_k = rate^k on ``degrees`` along e₃
    (every profile truncated at degree tail_K; head alone: no degrees)."""
    beta = geometric_profile(rate, degrees, tail_K) if degrees else torch.zeros(1)
    target = with_tail(head_target(activation, d, dtype, device), torch.eye(d, dtype=dtype)[2], beta,
                       tail_K).to(device, dtype)
    cloud = long_time_cloud(theta0, activation, target, **flow)
    return dict(cloud=cloud, mass=float((beta**2).sum()), residual=residual(cloud, activation, target),
                degrees=degree_errors(cloud, activation, target, degrees_shown))


# %%
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
tail_colors = dict(zip(TAILS, palette(3)))

# %%
def plot_residual_sweep(ax):
    """The residual against λ for the three targets, with the tails' masses; returns the plotted rows."""
    rows = []
    for name in TAILS:
        part = sweep[sweep["target"] == name].pivot_table(index="replica", columns="lam", values="residual")
        rows += interval_plot(ax, part.columns.values, part.values, tail_colors[name],
                              rf"{name}: $\|f_\infty - f^*\|^2$")
        ax.plot(part.columns.values, part.values.mean(0), color=tail_colors[name], lw=1)
        mass = float(summary.loc[(name, lam_min), "tail"])
        if mass > 0:
            label = rf"{name} mass $\sum_k \rho^{{2k}} = {mass:.3f}$"
            ax.axhline(mass, color=tail_colors[name], ls="--", lw=1, label=label)
            rows.append(dict(series=label, mean=mass))
    ax.set(xscale="log", yscale="log", xlabel=r"weight decay $\lambda$  ($\tau = \lambda/10$)",
           ylabel=r"$\|f_\infty - f^*\|^2$", title=rf"residual against $\lambda$ ($N = {RES_N}$, $\rho = {TAIL_RATE}$)")
    ax.set_xticks(LAMBDAS, [f"{v:g}" for v in LAMBDAS])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=8, loc="lower right")
    return rows


def plot_degrees(ax):
    """The residual's excess over the head alone by Hermite degree at the smallest λ, against the tail's mass."""
    excess, mass = {}, {}
    for name in ("odd tail", "even tail"):
        excess[name] = (limits[(lam_min, name)]["degrees"] - limits[(lam_min, "head alone")]["degrees"]).mean(0)
        beta = geometric_profile(TAIL_RATE, TAILS[name], TAIL_K).numpy() ** 2
        mass[name] = np.append(beta[:DEGREES_SHOWN], beta[DEGREES_SHOWN:].sum())
    return plots.residual_by_degree(ax, excess, mass, tail_colors, DEGREES_SHOWN, lam_min)


# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 4.4))
residual_rows = plot_residual_sweep(axes[0]) + plot_degrees(axes[1])
fig.tight_layout()
nb.save_figure(fig, "residual_vs_lambda", data=pd.DataFrame(residual_rows),
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

# %% tags=["remove-input"]
bias = summary.loc["head alone", "residual"]
nb.say(f"""Measured: the head's regularization bias falls from
${nb.glue('bias_max_lambda', bias[max(LAMBDAS)], tex_scientific)}$ at $\\lambda = {max(LAMBDAS):g}$ to
${nb.glue('bias_min_lambda', bias[lam_min], tex_scientific)}$ at $\\lambda = {lam_min:g}$; the odd tail's excess
over the head is ${nb.glue('odd_excess_share', 100 * (1 - summary.loc[('odd tail', lam_min), 'absorbed']), '.0f')}\\%$
of its mass at the smallest $\\lambda$.""")

# %% [markdown]
# ## 5. The total error: the bound, and a prediction at held-out points
#
# The upper panel shows, at each grid point $(n, N, t)$, the four components (replica means), their sum, the measured
# total $\lVert\hat f - f^*\rVert^2$ and the Cauchy–Schwarz bound $4 \sum_i \lVert g_i\rVert^2$. That the total never
# exceeds $(\sum_i\lVert g_i\rVert)^2 \le 4 \sum_i \lVert g_i\rVert^2$ is a **check** (an inequality on exact
# norms); that the total is not far below the sum (no large cancellation between the links) is a check too.
#
# **The claim: the total at held-out points.** The chain splits the total as
# $\lVert\hat f - f^*\rVert^2 = \lVert f^N_t - f^*\rVert^2 + [\text{effect of the } n \text{ samples}]$, and the
# mean-field picture predicts that the effect of the samples does not depend on $N$ at leading order. So the total at
# a pair $(n, N)$, $N \ne 16$, is predicted from two measurements that never saw that pair: the population run's own
# error $\lVert f^N_t - f^*\rVert^2$ at that $N$, and the $n$-effect $\lVert\hat f - f^*\rVert^2 -
# \lVert f^N_t - f^*\rVert^2$ measured at $N = 16$. Measured minus predicted at each of the $m$ held-out points is
# a replica mean $\bar d_j$; the claim is **one test of all $m$** (`calibration.studentized_max_test`):
# $\max_j |\bar d_j|/se_j$ against the 90 % quantile of that maximum over bootstrap resamples of replicas, each
# studentised by its own standard error (bootstrap-t: family-wise false-alarm rate 10 %, measured on planted data in
# `tests/analysis/test_calibration.py` and here on experiments resampled from these replicas).
#
# **A rate fit, for comparison** (table column `rate_fit`): the $n$-effect replaced by $\alpha n^p$, $p$ the
# statistical component's rate on $n < n_{max}$. The $n$-effect also holds the cross term
# $2\langle\hat f - f^N_t, f^N_t - f^*\rangle$, which decays more slowly, so this under-predicts at large $n$.

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


# %%
rows, k = [], len(HELD_OUT)
for t in GRID_TIMES:
    estimate, lo, hi = bootstrap(held_out_values(t), held_out_statistic, seed=nb.stream(f"bootstrap: held-out t={t:g}"))
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
columns = list(COMPONENTS) + ["sum", "total", "bound"]
grid_means = grid.sort_values(["t", "n", "N"]).groupby("point", sort=False)[columns].mean()
print(grid_means.round(5).to_string())

# %%
GRID_LABELS = {"statistical": r"statistical $\|\hat f - f^N_t\|^2$", "chaos": r"chaos $\|f^N_t - f_t\|^2$",
               "optimization": r"optimization $\|f_t - f_\infty\|^2$", "residual": r"residual $\|f_\infty - f^*\|^2$",
               "sum": r"sum $\sum_i \|g_i\|^2$", "total": r"total $\|\hat f - f^*\|^2$",
               "bound": r"bound $4 \sum_i \|g_i\|^2$"}
GRID_MARKERS = dict(statistical="o", chaos="s", optimization="D", residual="^", sum="x", total="_", bound="v")


# %%
def plot_grid(ax):
    """The components, sum, total and bound at each grid point (replica means, log scale); returns the rows."""
    return plots.decomposition_grid(ax, grid_means, COMPONENTS, GRID_LABELS, GRID_MARKERS)


def plot_held_out(ax):
    """Measured minus predicted total at the held-out pairs, for the prediction and for the rate fit."""
    rows = []
    for j, (column, label, marker) in enumerate(
            (("predicted", rf"prediction: $\|f^N_t - f^*\|^2$ + $n$-effect at $N = {N_BASE}$", "o"),
             ("rate_fit", r"$n$-effect replaced by $\alpha n^p$, $p$ from the component", "s"))):
        error, x = held["measured"] - held[column], np.arange(len(held)) + 0.12 * (2 * j - 1)
        if column == "predicted":
            yerr = np.vstack([held["error"] - held["error_lo"], held["error_hi"] - held["error"]])
            ax.errorbar(x, error, yerr=yerr, fmt=marker, color=palette(2)[j], capsize=3, label=label)
        else:
            ax.plot(x, error, marker, color=palette(2)[j], label=label, ls="none")
        rows += [dict(series=label, point=f"held out n={r.n} N={r.N} t={r.t:g}", value=v)
                 for r, v in zip(held.itertuples(), error)]
    ax.axhline(0, color="0.3", ls="--")
    ax.set_xticks(np.arange(len(held)), [f"n={r.n}\nN={r.N}\nt={r.t:g}" for r in held.itertuples()], fontsize=10)
    ax.set(ylabel="measured − predicted total", title="held-out total (90% bootstrap intervals)")
    ax.legend(fontsize=10, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    return rows


# %%
fig, axes = plt.subplots(2, 1, figsize=(13, 11))
decomposition_rows = plot_grid(axes[0]) + plot_held_out(axes[1])
fig.tight_layout()
nb.save_figure(fig, "decomposition", data=pd.DataFrame(decomposition_rows),
               caption=f"Top: the four components, their sum, the total and the bound 4 × sum at each grid point "
                       f"({REPLICAS} replicas; log scale). Bottom: at the held-out pairs (N ≠ {N_BASE}), the measured "
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
                      f"n-effect replaced by α n^p, p the statistical component's rate on n < {N_MAX} (rate_fit).",
              params=dict(R=REPLICAS))
holds = float(((table["total"] <= table["triangle"] * (1 + 1e-9)) & (table["triangle"] <= table["bound"])).mean())
nb.check("total <= (sum of norms)^2 <= 4 x sum: fraction of (replica, n, N, t) rows where it holds", holds, 1.0, 1.0,
         "decomposition")
nb.check("no large cancellation between the links: min over rows of total / sum",
         float((table["total"] / table["sum"]).min()), 0.25, None, "decomposition")
differences = np.column_stack([totals[(t, n, N)].values - population_error[(t, N)].values - totals[(t, n, N_BASE)]
                               + population_error[(t, N_BASE)] for t in GRID_TIMES for n, N in HELD_OUT])
held_test = studentized_max_test(differences, np.array(0.0), HELD_OUT_LEVEL, seed=nb.stream("bootstrap-t: held-out"))
held_alarm = resampled_false_alarm_rate(
    differences, lambda sample: studentized_max_test(sample, differences.mean(0), HELD_OUT_LEVEL, 500)["reject"],
    nb.pick(quick=100, standard=400, paper=1000), HELD_OUT_LEVEL, seed=nb.stream("resampled experiments: held-out"))
nb.claim(f"total at {differences.shape[1]} held-out (n, N, t), N != {N_BASE}, as one test: max over the points of "
         f"|measured - predicted| / se over its bootstrap-t critical value ({REPLICAS} replicas; <= 1: not rejected)",
         held_test["statistic"] / held_test["critical"], 0.0, 1.0, "decomposition", smoke=(0.0, 6.0),
         prediction=f"||f^N_t - f*||^2 of the population run at that N plus the n-effect measured at N = {N_BASE}: "
                    "the effect of the samples is N-independent at leading order (mean-field limit of the "
                    "statistical term); family-wise false-alarm rate 10 % (bootstrap-t; measured)")
nb.say(f"""Measured: the largest held-out difference is ${nb.glue('held_max', held_test['statistic'], '.2f')}$ standard
errors against the family-wise critical value ${nb.glue('held_critical', held_test['critical'], '.2f')}$; on experiments
resampled from the replicas it rejected their mean in ${nb.glue('held_alarm', 100 * held_alarm['rate'], '.1f')}\\%$.""")

# %% [markdown]
# ## 6. Set by the target, not by the initialisation
#
# At $\lambda, \tau > 0$ the long-time limit is the unique minimizer of the regularized free energy, so the residual
# should not remember where the particles started. The head target is trained from Gaussian, Laplace and Student-t
# (3 degrees of freedom) clouds at several scales $s$ ($a$ and $w$ both scaled by $s$), with independent replicas
# per initialisation. The residual carries finite-$N$ noise of order
# $\lVert f_\infty - f^*\rVert \cdot (C/N)^{1/2}$, so the test compares the spread across initialisations with the
# spread across replicas of one initialisation (one-way ANOVA). A large p-value says the data show no
# initialisation effect at this noise level; it does not bound a small effect below the replica noise, whose size
# the figure shows.

# %%
FAMILIES = ("gaussian", "laplace", "student_t")
FAMILY_NAMES = dict(gaussian="Gaussian", laplace="Laplace", student_t="Student-t (3 d.o.f.)")
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


theta0 = torch.cat([init_particles(family, FLAT_REPLICAS, FLAT_N, D, scale=s, a_scale=s,
                                   rng=nb.stream(f"flatness initial cloud: {family}, scale {s:g}"), dtype=nb.dtype,
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

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
flat_rows = []
for i, family in enumerate(FAMILIES):
    for ax, column, name in ((axes[0], "initial", "at $t = 0$"), (axes[1], "residual", r"$\|f_\infty - f^*\|^2$")):
        part = flat[flat["family"] == family].pivot_table(index="replica", columns="scale", values=column)
        flat_rows += interval_plot(ax, part.columns.values * (1 + 0.04 * (i - 1)), part.values, palette(3)[i],
                                   f"{FAMILY_NAMES[family]}: {name}", marker="osD"[i])
for ax, title in ((axes[0], "error at initialisation"), (axes[1], rf"long-time residual ($N = {FLAT_N}$)")):
    ax.set(xscale="log", xlabel=r"initial scale $s$  ($a$ and $w$ both scaled)", ylabel=r"squared $L^2$ error",
           title=title)
    ax.set_xticks(SCALES, [f"{s:g}" for s in SCALES])
    ax.minorticks_off()
    ax.legend(fontsize=9, loc="upper left")
fig.tight_layout()
nb.save_figure(fig, "target_not_init", data=pd.DataFrame(flat_rows),
               caption=f"Left: the error at t = 0 from three initial families at {len(SCALES)} scales. Right: the "
                       f"long-time residual of the same runs ({FLAT_REPLICAS} replicas each, 90% bootstrap intervals; "
                       f"markers offset in s by ±4% to keep them apart): per-initialisation means within {spread:.1%} "
                       f"of each other, one-way ANOVA p = {anova.pvalue:.2f}.",
               params=dict(families=FAMILIES, scales=SCALES, N=FLAT_N, R=FLAT_REPLICAS))
nb.claim(f"residual: one-way ANOVA p-value of an initialisation effect ({len(inits)} initialisations x "
         f"{FLAT_REPLICAS} replicas)", float(anova.pvalue), 0.01, 1.0, "target_not_init",
         prediction="no effect: the long-time limit at lambda, tau > 0 is the unique minimizer of the regularized free "
                    "energy, so only finite-N replica noise separates the initialisations (rejected below p = 0.01)")

# %% [markdown]
# ## Summary: what the claims show and what they do not
#
# **Claims.** The statistical and propagation-of-chaos slopes against $-1$ (fixed window $[-1.2, -0.8]$); the slow
# decay rate of the optimization term against the flow linearised at the stationary configuration (a factor
# $1.25$); the total at held-out $(n, N)$ against a prediction from the population run and the $n$-effect at
# $N = 16$ (one test of every held-out point, family-wise false-alarm rate $10\%$, measured); no initialisation
# effect in the residual (ANOVA, rejected below $p = 0.01$). Their verdicts, this run's numbers, follow.
#
# **Checks, not evidence.** The bound total $\le (\sum_i\lVert g_i\rVert)^2 \le 4 \sum_i\lVert g_i\rVert^2$, the
# Monte Carlo agreement of the exact norms, the even-tail identity (an odd student never sees an even tail) and the
# size of the time-step error.
#
# **Not shown.** The slope intervals' calibration is not measured here (it needs $K \ge 8$ batches: `make
# robustness`). The held-out test, if not rejected, does not show the $n$-effect $N$-independent beyond its points
# or below its standard error. The $n$-effect on the total is not predicted by the statistical component's rate (its
# cross term with the other links decays more slowly). The linearisation is taken at one noisy stationary sample, so it
# predicts the relaxation of that configuration's modes, not the spectrum of the mean-field Fokker–Planck operator.
# The ANOVA does not exclude an initialisation effect smaller than the replica noise. Where the student's absorption
# of an odd tail stops ($T \to \infty$, $N \to \infty$, $\lambda \to 0$) is not measured, so for a tail in the
# student's own (odd) span the limit residual is not established.

# %% tags=["remove-input"]
INFINITY = r"\infty"
bound = lambda value, infinite: infinite if value is None else f"{value:.3g}"
nb.say("This run's claims:\n\n" + "\n".join(
    f"- {'pass' if r['passed'] else '**FAIL**'}: `{r['claim']}` — measured ${r['value']:.3g}$, window "
    f"$[{bound(r['lo'], '-' + INFINITY)}, {bound(r['hi'], INFINITY)}]$" for r in nb.claims if r["kind"] == "claim"))

# %%
nb.finish()
