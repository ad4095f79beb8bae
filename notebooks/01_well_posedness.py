# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (companion)
#     language: python
#     name: companion
# ---

# %% [markdown]
# # 01 — Theorem 1: w*, moment propagation and uniform-in-time propagation of chaos
#
# The abstract's first result: the mean-field limit of noisy gradient descent under μP exists and is unique,
# "identifying the maximal admissible weight w* on the moment sequence of the initialization as the reciprocal
# parameter-moment-growth boundary, and hence the largest weighted moment class propagated by the flow. The
# finite-particle approximation has uniform-in-time squared-Wasserstein rate O(N⁻¹)."
#
# This notebook measures each part of that sentence:
#
# 1. **w\* of initialisations** — closed forms from exact moment sequences, and an estimator from samples with its
#    error bars and its failure mode.
# 2. **Propagation along the flow** — the exact Ornstein–Uhlenbeck case (data term off), then w\*(t) and the weighted
#    moment Φ_w(t) with the data term on, for ReLU and erf.
# 3. **Well-posedness** — trajectories converge as the step η → 0, and references of different sizes agree.
# 4. **Propagation of chaos** — the synchronously coupled error between an N-particle system and a larger reference
#    that contains it decays like 1/N at every recorded time (d = 4 and d = 8), N·error does not grow over
#    [T/2, T] at λT = 40, and an animation shows a coupled pair moving together.
#
# The paper's own definitions are not public; where this notebook needs one it states the operational definition it
# uses.

# %% tags=["parameters"]
profile = "standard"
seed = 0
device = "auto"

# %%
import math

import matplotlib.pyplot as plt
from matplotlib import animation, ticker
import numpy as np
import pandas as pd
import torch

from companion.analysis import coupling, moments
from companion.analysis.statistics import loglog_fit
from companion.engine.dynamics import simulate
from companion.engine.init import init_particles
from companion.engine.spec import StartingLaw, problem
from companion.pipeline.notebook import setup_notebook
from companion.pipeline.style import palette
from companion.engine.targets import teacher
from companion.analysis.transport import w2_squared

nb = setup_notebook("01_well_posedness", profile, seed, device)
COLORS = palette(8)

# %% [markdown]
# ## Setting
#
# Particles θ = (a, w) ∈ ℝ × ℝ⁴ (so |θ| lives in dimension D = 5), f_N(x) = (1/N) Σ_i a_i σ(w_i·x) with x ~ N(0, I₄),
# population loss against an erf teacher with two neurons, f*(x) = erf(x₁) + erf(x₂). Two Gaussian initialisations:
#
# * the **isotropic** law N(0, s² I₅), s = 0.5, for the estimator checks (Section 1 and the exact Ornstein–Uhlenbeck
#   check), where every closed form applies exactly;
# * the **network** initialisation used for training, a ~ N(0, 1) and w ~ N(0, I₄/4) (the usual mean-field
#   w ~ N(0, I/d)), whose w\*(μ₀) = 1/(2 · 1²) = 1/2 is set by the output weight.
#
# Noisy gradient descent θ ← θ − η(∇V(μ_N, θ) + λθ) + √(2ητ) ξ runs at η = 0.1 in two regimes:
#
# * **strong** regularisation λ = 0.5, τ = 0.05 — the deliberate regime: weight decay and temperature are large
#   enough for the flow to contract after the features are learned, which is what a uniform-in-time rate needs, and
#   the data term still matters (the risk drops by 40 %); its Gibbs value λ/(2τ) = 5 lies above w\*(μ₀);
# * **weak** regularisation λ = 0.05, τ = 10⁻³ — shown for contrast: it is pre-asymptotic at these N (slopes steeper
#   than −1 and N·error growing in t), so no claim rests on it.
#
# `sizes["chaos"]` sizes the coupled runs of Section 2 (also shown for the weak regime in Section 4); Section 4 runs
# its own, larger and longer strong-regime systems (its `chaos_sizes`), in d = 4 and in a second setting, d = 8.

# %%
D_IN = 4
INIT_SCALE = 0.5
ETA = 0.1
REGIMES = {"strong": dict(lam=0.5, tau=0.05), "weak": dict(lam=0.05, tau=1e-3)}
RUN_ACTIVATIONS = ("erf", "relu")
SCALES = moments.init_scales(D_IN, INIT_SCALE, INIT_SCALE)
NETWORK_INIT = dict(scale=0.5, a_scale=1.0)
NETWORK_SCALES = moments.init_scales(D_IN, **NETWORK_INIT)
# The erf teacher f*(x) = Σ_m b_m erf(u_m·x) on the first two axes; tasks take it as it is and move it to their
# device and dtype.
TEACHER_B = torch.tensor([1.0, 1.0])
TEACHER = teacher("erf", TEACHER_B, torch.eye(D_IN)[:2])


sizes = nb.pick(
    quick=dict(estimator_n=[200, 2000, 20000], estimator_draws=6, ou_R=4, ou_N=1500,
               chaos=dict(strong=dict(N_ref=128, R=32, Ns=[16, 32, 64], horizon=10.0),
                          weak=dict(N_ref=64, R=8, Ns=[4, 8, 16], horizon=5.0)),
               eta_N=32, eta_R=4, eta_horizon=0.4, ref_sizes=[32, 64, 128], ref_R=4, ref_horizon=2.0),
    standard=dict(estimator_n=[100, 1000, 10000, 100000], estimator_draws=20, ou_R=8, ou_N=2000,
                  chaos=dict(strong=dict(N_ref=256, R=16, Ns=[8, 16, 32, 64], horizon=20.0),
                             weak=dict(N_ref=128, R=8, Ns=[8, 16, 32], horizon=20.0)),
                  eta_N=64, eta_R=4, eta_horizon=2.0, ref_sizes=[64, 128, 256, 512], ref_R=8, ref_horizon=5.0),
    paper=dict(estimator_n=[100, 1000, 10000, 100000, 1000000], estimator_draws=40, ou_R=16, ou_N=10000,
               chaos=dict(strong=dict(N_ref=2048, R=32, Ns=[16, 32, 64, 128, 256], horizon=80.0),
                          weak=dict(N_ref=1024, R=16, Ns=[16, 32, 64, 128], horizon=80.0)),
               eta_N=128, eta_R=8, eta_horizon=2.0, ref_sizes=[256, 512, 1024, 2048, 4096], ref_R=8,
               ref_horizon=10.0),
)
print(sizes)

# %% [markdown]
# ## 1. w\* of an initialisation
#
# **Operational definition.** For a law μ of θ take the moment sequence m_k = ∫|θ|^{2k} dμ. Weighting it as
# Σ_k w^k m_k / k! gives Φ_w(μ) = ∫ e^{w|θ|²} dμ, and the weighted (sub-Gaussian) moment class is
# M_w = {μ : Φ_w(μ) < ∞}, the class that mean-field Langevin theory works in. We take
#
# w\*(μ) = sup{w : μ ∈ M_w} = 1 / limsup_k (m_k / k!)^{1/k}
#
# (Cauchy–Hadamard: the reciprocal of the moment growth rate). A second variant uses m_k = ∫|θ|^k dμ, so that
# Σ_k w^k m_k / k! = ∫ e^{w|θ|} dμ (the sub-exponential class). Closed forms, with s_max the largest coordinate scale:
#
# | μ₀ | sub-Gaussian w\* | sub-exponential w\* |
# |---|---|---|
# | Gaussian N(0, s² I) | 1/(2s²) | ∞ |
# | uniform on a ball | ∞ | ∞ |
# | i.i.d. Laplace(b) coordinates | 0 | 1/b (any dimension) |
# | i.i.d. Student-t coordinates | 0 | 0 |
#
# The figure evaluates the root test w\*_k = (m_k/k!)^{−1/k} on exact moment sequences (χ moments for the Gaussian,
# D/(D+q) for the ball, a multinomial expansion for i.i.d. coordinates; odd powers of |θ| are pinned between
# log-convexity bounds, drawn as a band). Its liminf is w\*. The two numbers recorded from it are *checks* of the
# moment code — a closed form evaluated at large k — not evidence about the theorem.

# %%
FAMILY_LABELS = {"gaussian": "Gaussian", "ball": "uniform ball", "laplace": "Laplace",
                 "student_t": "Student-t (df=5)", "student_t30": "Student-t (df=30)"}
CLOSED_LABEL = "closed-form w* (dashed)"
K_ROOT = nb.pick(quick=1000, standard=2000, paper=4000)
ROOT_FAMILIES = [family for family in FAMILY_LABELS if family in moments.FAMILIES]
rows = []
for variant in moments.VARIANTS:
    for family in ROOT_FAMILIES:
        lower, upper = moments.log_moment_bounds(family, variant, K_ROOT, SCALES, df=5.0)
        root_lo, root_hi = moments.root_test(upper), moments.root_test(lower)
        closed = moments.w_star_closed_form(family, variant, SCALES, df=5.0)
        for k in np.unique(np.geomspace(1, K_ROOT - 1, 80).astype(int)):
            rows.append({"variant": variant, "family": family, "series": FAMILY_LABELS[family], "k": k,
                         "root_test_low": root_lo[k - 1], "root_test_high": root_hi[k - 1], CLOSED_LABEL: closed})
root_table = pd.DataFrame(rows)

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
for ax, variant in zip(axes, moments.VARIANTS):
    for color, family in zip(COLORS, ROOT_FAMILIES):
        part = root_table[(root_table.variant == variant) & (root_table.family == family)]
        shown = part.root_test_high > 0
        ax.fill_between(part.k[shown], part.root_test_low[shown].clip(lower=1e-3), part.root_test_high[shown],
                        color=color, alpha=0.35, lw=0)
        ax.plot(part.k[shown], part.root_test_high[shown], color=color, label=FAMILY_LABELS[family])
        closed = part[CLOSED_LABEL].iloc[0]
        if 0 < closed < math.inf:
            ax.axhline(closed, color=color, ls="--", lw=1)
        if not shown.all():
            ax.annotate(r"$m_k = \infty$ from k = %d: $w^* = 0$" % part.k[~shown].min(), (0.03, 0.04),
                        xycoords="axes fraction", color=color, fontsize=9)
    ax.plot([], [], color="gray", ls="--", lw=1, label=CLOSED_LABEL)
    ax.set(xscale="log", yscale="log", xlabel="moment order k",
           title=f"{variant}: root test $(m_k/k!)^{{-1/k}}$")
axes[0].set_ylabel("$w^*_k$")
axes[0].legend(title="$\\mu_0$", fontsize=9)
fig.tight_layout()
nb.save_figure(fig, "w_star_closed_forms", data=root_table,
               caption="Cauchy–Hadamard root test on exact moment sequences of four initialisations (s = 0.5, D = 5) "
                       "against the \"closed-form w* (dashed)\": 1/(2s²) = 2 for the Gaussian and 1/b = 2 for Laplace "
                       "in the sub-exponential variant; ∞ for the ball, whose root test grows without bound; 0 for the "
                       "Student-t and for Laplace in the sub-Gaussian variant (the root test decays to 0).",
               params=dict(K=K_ROOT, scales=SCALES.tolist(), df=5.0))
plt.show()

# %%
last = root_table[root_table.k == root_table.k.max()].set_index(["variant", "family"])
gauss_ratio = last.loc[("subgaussian", "gaussian"), "root_test_high"] / 2.0
laplace_ratio = last.loc[("subexponential", "laplace"), ["root_test_low", "root_test_high"]].to_numpy() / 2.0
# The Gaussian's root test is exact: (Γ(k + D/2)/(Γ(D/2) k!))^(-1/k) / (2s²), 1 − (D/2 − 1) log k / k to first order.
print(f"root test / w* at k = {last.k.iloc[0]}: Gaussian {gauss_ratio:.4f} "
      f"(first-order offset {-(len(SCALES) / 2 - 1) * math.log(last.k.iloc[0]) / last.k.iloc[0]:+.4f}), "
      f"Laplace sub-exponential {laplace_ratio.round(4).tolist()}")
nb.check(f"Root test at k = {K_ROOT} over closed-form w* = 1/(2s²), Gaussian, sub-Gaussian class (exact χ moments)",
         gauss_ratio, 0.98, 1.02, "w_star_closed_forms")
nb.check(f"Root test at k = {K_ROOT} over closed-form w* = 1/b, Laplace, sub-exponential class (worse "
         "log-convexity bound)", float(laplace_ratio[np.argmax(np.abs(laplace_ratio - 1))]), 0.98, 1.02,
         "w_star_closed_forms")

# %% [markdown]
# ### Estimating w\* from samples
#
# From n samples, with z = |θ|² (or |θ|), the empirical moments m̂_k give ratios g_k = m̂_{k+1} / ((k+1) m̂_k), which tend
# to the growth rate 1/w\*. For a Gamma-distributed z — which covers |θ|² under an isotropic Gaussian in any
# dimension — g_k = (1 + (α−1)/(k+1))/w\* exactly, so the estimator fits a line in 1/(k+1) and reads 1/w\* at k = ∞.
# It uses moments up to the largest k ≤ ⌈log n⌉ whose sample relative standard error stays below 5 %. Error bars:
# 10–90 % quantiles over independent draws.
#
# **What it converges to.** At a fixed k_max the estimate tends, as n → ∞, to its *population value*: the same line
# fit applied to the exact moments m_0 … m_{k_max} (`moments.estimator_limit`). That value is w\* for the isotropic
# Gaussian and something else for every other law — the estimator's model error. The claims below compare each
# estimate with the population value at the k_max it used, within a 99.9 % t-interval over the draws: they test that
# the estimator is consistent for that value, and show how far it is from w\* (0 for Laplace, ∞ for the ball).
#
# **Failure mode.** A finite sample is compactly supported: high empirical moments only see the largest sample, so
# only k ≲ log n carries information. Heavy tails (w\* = 0) are then seen through a few low moments and the estimate
# drifts to 0 only logarithmically; a Student-t with 30 degrees of freedom is indistinguishable from a Gaussian at any
# practical n. The Gamma-form extrapolation is also a model: for i.i.d. Laplace coordinates in the sub-exponential
# class the exact ratios reach 1/b only around k ≈ 20 and rise steeply before, so the extrapolation from k ≤ 7
# overshoots w\* = 2 by about half. For Student-t(5) the estimator stops at k_max = 2, whose population value (from the
# finite m₁, m₂) is printed below but not claimed: m̂₂ has infinite variance (E|θ|⁸ = ∞), so no error bar over draws
# is valid and the draws scatter above it.

# %%
def estimator_rows(family, df, n, d, scale, stream, draws):
    """w* estimates (both variants) of one sample of n particles per replica 0..draws-1 of ``stream``, drawn from
    ``family`` ("student_t30": Student-t with ``df``) at coordinate scale ``scale``, with the
    estimator's population value at the same k_max (sub-Gaussian variant, whose moments are exact; NaN otherwise)."""
    base = family.removesuffix("30")
    scales = moments.init_scales(d, scale, scale)
    rows = []
    for draw in range(draws):
        cloud = init_particles(base, 1, n, d, scale=scale, a_scale=scale, df=df, rng=stream.rng(draw))
        for variant in moments.VARIANTS:
            est = moments.estimate_w_star(cloud, variant)
            population = math.nan
            if variant == "subgaussian":
                exact, _ = moments.log_moment_bounds(base, variant, est.k_max + 1, scales, df=df)
                population = moments.estimator_limit(exact, est.k_max)
            rows.append(dict(family=family, variant=variant, n=n, draw=draw, w_star=est.w_star,
                             growth_rate=est.growth_rate, k_max=est.k_max, population=population))
    return rows


# One task per (family, n), each with its own stream; draw k is the stream's replica k.
ESTIMATOR_FAMILIES = (("gaussian", 5.0), ("ball", 5.0), ("laplace", 5.0), ("student_t", 5.0), ("student_t30", 30.0))
estimates = pd.DataFrame([row for rows in nb.map(estimator_rows, [
    dict(family=family, df=df, n=n, d=D_IN, scale=INIT_SCALE,
         stream=nb.stream(f"w* estimator draws: {family}, n = {n}"), draws=sizes["estimator_draws"])
    for family, df in ESTIMATOR_FAMILIES for n in sizes["estimator_n"]]) for row in rows])
# Quantiles are taken on the growth rate 1/w* (finite; <= 0 means w* = inf) and mapped back to w*.
grouped = estimates.groupby(["variant", "family", "n"])
summary = grouped.growth_rate.quantile([0.1, 0.5, 0.9]).unstack().reset_index()
for name, q in (("q10", 0.9), ("median", 0.5), ("q90", 0.1)):
    summary[name] = np.where(summary[q] > 0, 1 / summary[q].clip(lower=1e-300), np.inf)
summary = summary.drop(columns=[0.1, 0.5, 0.9])

INFINITY_DRAWN = 1e4
POPULATION_LABEL = "population value at k_max (×, median over draws)"
INFINITY_LABEL = "estimate = ∞ (drawn at 10⁴)"
summary["series"] = summary.family.map(FAMILY_LABELS)
summary[POPULATION_LABEL] = grouped.population.median().to_numpy()
summary[POPULATION_LABEL + ", sub-Gaussian only"] = summary[POPULATION_LABEL]
summary[CLOSED_LABEL] = [moments.w_star_closed_form(family.removesuffix("30"), variant, SCALES, df=5.0)
                         for variant, family in zip(summary.variant, summary.family)]
summary[INFINITY_LABEL] = np.isinf(summary["median"])
fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
for ax, variant in zip(axes, moments.VARIANTS):
    for color, family in zip(COLORS, FAMILY_LABELS):
        part = summary[(summary.variant == variant) & (summary.family == family)]
        shown = part[["q10", "median", "q90"]].clip(upper=INFINITY_DRAWN)
        ax.errorbar(part.n, shown["median"], yerr=[shown["median"] - shown.q10, shown.q90 - shown["median"]],
                    color=color, marker="o", capsize=3, label=FAMILY_LABELS[family])
        ax.plot(part.n, part[POPULATION_LABEL].clip(upper=INFINITY_DRAWN), color=color, marker="x", ms=9, ls="none")
        closed = part[CLOSED_LABEL].iloc[0]
        if 0 < closed < math.inf:
            ax.axhline(closed, color=color, ls="--", lw=1)
    ax.set(xscale="log", yscale="log", xlabel="sample size n", title=f"{variant}: estimated w*")
any_infinite = bool(np.isinf(summary[["q10", "median", "q90"]].to_numpy()).any())
if any_infinite:   # an infinite estimate (fitted growth rate <= 0) is drawn on this line
    for ax in axes:
        ax.axhline(INFINITY_DRAWN, color="gray", lw=0.8, ls=":", label=INFINITY_LABEL if ax is axes[0] else None)
        ax.set_ylim(None, 3 * INFINITY_DRAWN)
axes[0].plot([], [], color="gray", ls="--", lw=1, label=CLOSED_LABEL)
axes[0].plot([], [], color="gray", marker="x", ms=9, ls="none", label=POPULATION_LABEL + ", sub-Gaussian only")
axes[0].set_ylabel("estimated w* (median, 10–90 %)")
fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=9)
fig.tight_layout(rect=(0, 0.11, 1, 1))
nb.save_figure(fig, "w_star_estimator", data=summary,
               caption="Moment-growth estimator of w* against sample size (median and 10–90 % of the draws; an "
                       "infinite estimate, where one occurs, is drawn on a dotted line at 10⁴). In the "
                       "sub-Gaussian variant each estimate sits on the estimator's population value at the k_max it "
                       "used (×): the Gaussian value 1/(2s²) = 2 (dashed) is recovered, the ball's estimate grows "
                       "with n as k_max does, Laplace and the Student-t stay far above their w* = 0. In the "
                       "sub-exponential variant Laplace overshoots its 1/b = 2 (the model error).",
               params=dict(n=sizes["estimator_n"], draws=sizes["estimator_draws"], rel_se=0.05, scale=INIT_SCALE))
plt.show()
summary[summary.n == max(sizes["estimator_n"])]

# %%
from scipy import stats

N_LARGEST = max(sizes["estimator_n"])
largest = estimates[(estimates.n == N_LARGEST) & (estimates.variant == "subgaussian")]
T_DRAWS = stats.t.ppf(1 - 0.001 / 2, sizes["estimator_draws"] - 1)   # 99.9 % two-sided t-quantile over the draws
for family, truth in (("gaussian", "the closed form 1/(2s²) = 2, at every k_max (|θ|² is Gamma: the model is exact)"),
                      ("laplace", "far above the true w* = 0 (the failure mode)"),
                      ("ball", "far below the true w* = ∞; it grows with k_max")):
    part = largest[largest.family == family]
    ratio = part.w_star / part.population
    half = T_DRAWS * ratio.std(ddof=1) / math.sqrt(len(ratio))
    k_used = sorted(part.k_max.unique().tolist())
    nb.claim(f"{FAMILY_LABELS[family]}, sub-Gaussian, n = {N_LARGEST}: estimated w* over the estimator's population "
             f"value at the same k_max (mean over {len(ratio)} draws)", ratio.mean(), 1 - half, 1 + half,
             "w_star_estimator",
             prediction=f"1, consistency at fixed k_max (k_max = {k_used}): the population value "
                        f"{part.population.median():.3g} from the exact moments is {truth}; window: 99.9 % "
                        f"t-interval over the draws")
t5 = largest[largest.family == "student_t"]
print(f"Student-t(5), n = {N_LARGEST}: k_max {sorted(t5.k_max.unique().tolist())}, population value "
      f"{t5.population.median():.3f}, draws median {t5.w_star.median():.3f} (10–90 %: "
      f"{t5.w_star.quantile(0.1):.3f}–{t5.w_star.quantile(0.9):.3f}); not claimed (m̂₂ has infinite variance)")

# %% [markdown]
# Where does the information run out? The ratio sequence 1/g_k of a sample follows the exact one only up to k ≈ log n;
# beyond that it is the sequence of the sample's own (bounded) law and rises without bound. For Laplace in the
# sub-exponential class the exact sequence is known at even orders (χ-free multinomial expansion) and shows the late
# approach to 1/b that the extrapolation cannot see.

# %%
def ratio_rows(label, log_m, source):
    k = np.arange(len(log_m) - 1)
    ratios = np.exp(log_m[1:] - log_m[:-1]) / (k + 1)
    return [dict(case=label, source=source, k=float(kk), inverse_ratio=1 / r) for kk, r in zip(k, ratios)]


K_SHOW = 40
rows = []
exact_gauss, _ = moments.log_moment_bounds("gaussian", "subgaussian", K_SHOW + 1, SCALES)
rows += ratio_rows("Gaussian, sub-Gaussian", exact_gauss, "exact")
exact_even, _ = moments.log_moment_bounds("laplace", "subgaussian", K_SHOW // 2 + 1, SCALES)
k_even = 2 * np.arange(K_SHOW // 2)
ratio_even = np.sqrt(np.exp(exact_even[1:] - exact_even[:-1]) / ((k_even + 2) * (k_even + 1)))
rows += [dict(case="Laplace, sub-exponential", source="exact (even orders)", k=k + 0.5, inverse_ratio=1 / r)
         for k, r in zip(k_even, ratio_even)]
for n in (sizes["estimator_n"][1], sizes["estimator_n"][-1]):
    for family, variant, label in (("gaussian", "subgaussian", "Gaussian, sub-Gaussian"),
                                   ("laplace", "subexponential", "Laplace, sub-exponential")):
        cloud = init_particles(family, 1, n, D_IN, scale=INIT_SCALE, a_scale=INIT_SCALE,
                               rng=nb.stream(f"moment ratio sample: {family}, n = {n}"))
        rows += ratio_rows(label, moments.empirical_log_moments(cloud, variant, K_SHOW + 1), f"sample n={n}")
ratio_table = pd.DataFrame(rows)

fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, case in zip(axes, ratio_table.case.unique()):
    for color, (source, part) in zip(COLORS, ratio_table[ratio_table.case == case].groupby("source", sort=False)):
        ax.plot(part.k + 1, part.inverse_ratio, marker=".", color=color, label=source)
    for color, n in zip(COLORS[1:], (sizes["estimator_n"][1], sizes["estimator_n"][-1])):
        ax.axvline(math.log(n), color=color, ls=":", lw=1)
    ax.axhline(2.0, color="k", ls="--", lw=1)
    ax.set(xscale="log", yscale="log", xlabel="k + 1 (dotted: log n)", title=case)
    ax.set_yticks([0.5, 1, 2, 4, 8], ["0.5", "1", "2", "4", "8"])
    ax.yaxis.set_minor_formatter(plt.NullFormatter())
    ax.legend(fontsize=9)
axes[0].set_ylabel("$1/g_k = (k+1)\\, m_k / m_{k+1}$")
fig.tight_layout()
nb.save_figure(fig, "w_star_failure_mode", data=ratio_table,
               caption="Moment-ratio sequences of samples follow the exact ones only up to k ≈ log n (dotted) and then "
                       "rise like those of a bounded law; the exact Laplace sequence reaches its limit 1/b = 2 (dashed) "
                       "only around k ≈ 20, beyond any sample's reach.",
               params=dict(K=K_SHOW, n=[sizes["estimator_n"][1], sizes["estimator_n"][-1]]))
plt.show()

# %% [markdown]
# ## 2. Propagation of the moment class along the flow
#
# **Data term off: the exact Ornstein–Uhlenbeck reference.** With V ≡ 0 the step is θ ← (1 − ηλ)θ + √(2ητ) ξ, so from
# N(0, diag(v₀)) the law stays Gaussian with Var_{k+1} = (1 − ηλ)² Var_k + 2ητ in each coordinate, hence
# w\*(t) = 1/(2 max_j Var_t,j), moving from w\*(μ₀) to the Gibbs value λ(1 − ηλ/2)/(2τ) ≈ λ/(2τ). The class M_w is
# kept for all t exactly when w < min(w\*(μ₀), λ/(2τ)). We run the engine with the data term switched off from both
# initialisations and estimate w\*(t) from each replica. The network initialisation is anisotropic (Var a = 1,
# Var w_j = 1/4), which the estimator's Gamma model does not cover: its population value on the exact OU law
# N(0, diag Var_t) (`moments.estimator_limit` on the multinomial moments, at each replica's k_max) lies above
# 1/(2 max_j Var_t,j) until the flow has equalised the variances. That value, not w\*(t), is what the estimate is
# predicted to follow; the claims compare the replica mean with the estimator's mean on independent exact samples of
# the OU law of the same size (`moments.estimate_w_star_gaussian`: the population value plus the finite-n bias),
# in units of that law's spread. Both initialisations use the same noise seed, so once the flow has forgotten the
# initial law (t ≳ 5) their clouds nearly coincide and the two claims are one test there.

# %%
strong = REGIMES["strong"]
horizon_ou = sizes["chaos"]["strong"]["horizon"]
ou_steps = int(round(horizon_ou / ETA))
ou_record = np.unique(np.concatenate([[0], np.round(np.geomspace(1, ou_steps, 12)).astype(int)]))
OU_INITS = {"isotropic": dict(scale=INIT_SCALE, a_scale=INIT_SCALE), "network": NETWORK_INIT}


def run_ou(R, N, d, scale, a_scale, cloud, eta, steps, record_steps, noise, lam, tau, dtype, device):
    """Noisy GD with the data term off (an Ornstein–Uhlenbeck chain) from N(0, diag(a_scale², scale² I_d)) drawn
    from the stream ``cloud``, noise from the stream ``noise``: particles (len(record_steps), R, N, 1+d)."""
    theta0 = init_particles("gaussian", R, N, d, scale=scale, a_scale=a_scale, rng=cloud, dtype=dtype, device=device)
    return simulate(theta0, "erf", None, eta=eta, steps=steps, engine="none", record_steps=record_steps, seed=noise,
                    lam=lam, tau=tau).particles


# Both initialisations share their streams on purpose (common random numbers: the same standard draws, scaled).
ou_cloud, ou_noise = nb.stream("OU initial cloud"), nb.stream("OU noise")
ou_particles = dict(zip(OU_INITS, nb.map(run_ou, [
    dict(R=sizes["ou_R"], N=sizes["ou_N"], d=D_IN, **init, cloud=ou_cloud, eta=ETA, steps=ou_steps,
         record_steps=ou_record, noise=ou_noise, **strong, dtype=nb.dtype, device=nb.device)
    for init in OU_INITS.values()])))
OU_LAW_DRAWS = 64
ou_variances = {name: moments.ou_variance(moments.init_scales(D_IN, **init) ** 2, ETA, strong["lam"], strong["tau"],
                                          ou_record) for name, init in OU_INITS.items()}
ou_rows = []
ou_law_draws = nb.stream("OU estimator law draws")  # shared by the two initialisations: same exact-law samples
for name in OU_INITS:
    exact = moments.ou_w_star(ou_variances[name][0], ETA, strong["lam"], strong["tau"], ou_record)
    for ti, step in enumerate(ou_record):
        fits = [moments.estimate_w_star(ou_particles[name][ti, r]) for r in range(sizes["ou_R"])]
        law_moments, _ = moments.log_moment_bounds("gaussian", "subgaussian", max(f.k_max for f in fits) + 1,
                                                   np.sqrt(ou_variances[name][ti]))
        estimate = np.array([f.w_star for f in fits])
        population = np.median([moments.estimator_limit(law_moments, f.k_max) for f in fits])
        # The estimator's finite-n law on the exact OU law, from independent exact samples of the same size.
        law = moments.estimate_w_star_gaussian(ou_variances[name][ti], sizes["ou_N"], OU_LAW_DRAWS,
                                               rng=ou_law_draws.rng(ti))
        ou_rows.append(dict(init=name, t=step * ETA, exact=exact[ti], mean=estimate.mean(), median=np.median(estimate),
                            low=estimate.min(), high=estimate.max(), population=population,
                            predicted=law.mean(),
                            # the spread of a mean of R estimates, plus the Monte Carlo error of the predicted mean
                            predicted_se=law.std(ddof=1) * math.sqrt(1 / sizes["ou_R"] + 1 / OU_LAW_DRAWS)))
ou_table = pd.DataFrame(ou_rows)
ou_table.pivot_table(index="t", columns="init", values=["exact", "population", "predicted", "mean"]).round(3)

# %% [markdown]
# **Data term on.** The same w\* estimator along the flow of the strong-regime reference systems of Section 4 (network
# initialisation, erf and ReLU students, all replicas pooled; error bars are the range over four disjoint groups of
# replicas), against the OU run from the same initialisation, whose estimate carries the same anisotropy bias. The
# data term changes the stationary law, so the OU curve is a reference, not a prediction: for erf the data term is
# bounded in w and linear in a, which leaves the Gaussian tail rate λ/(2τ) unchanged; for ReLU it grows like a|w|, a
# quadratic perturbation of the confinement. Learned features are particles of larger norm, which the low moments
# seen by the estimator would register as a heavier bulk (not tested here). No claim is made on the data-on w\*(t):
# the estimator's bias on a non-Gaussian law is not known, so these curves show, without testing, that the estimate
# stays finite and away from 0.
#
# The reference runs are computed here once and reused for Φ_w below and in Section 4. erf and ReLU, in both regimes,
# start from the same initial clouds and receive the same noise (common random numbers, on purpose), so their
# differences come from the activation and the regime, not from the draws.

# %%
def record_steps_for(horizon):
    steps = int(round(horizon / ETA))
    times = np.array([0, 0.5, 1, 2, 5, 10, 20, 40, 80])
    return steps, np.unique(np.concatenate([np.round(times[times <= horizon] / ETA), [steps]]).astype(int))


def run_coupled(problem, law, R, N_ref, sizes, init_seed, seed, eta, steps, record_steps, lam, tau, dtype, device):
    """Reference of N_ref particles drawn from ``law`` and the nested N-systems, synchronously coupled (same init and
    noise), learning ``problem``: ``coupling.coupled_run``'s reference (times, particles ``ref``, risk) and its
    N-systems ``systems``."""
    run = coupling.coupled_run(problem.to(device, dtype), R=R, N_ref=N_ref, sizes=sizes, init_seed=init_seed,
                               seed=seed, eta=eta, steps=steps, record_steps=record_steps, lam=lam, tau=tau, law=law,
                               dtype=dtype, device=device)
    return dict(times=run.reference.times, ref=run.reference.particles, risk=run.reference.risk,
                systems=run.population)


def coupled_call(activation, regime_params, N_ref, R, Ns, horizon, cloud, noise):
    """The arguments of run_coupled in the network initialisation: initial cloud from the stream ``cloud``, noise
    from the stream ``noise``."""
    steps, record = record_steps_for(horizon)
    return dict(problem=problem(activation, TEACHER), law=StartingLaw(**NETWORK_INIT), R=R, N_ref=N_ref, sizes=Ns,
                init_seed=cloud, seed=noise, eta=ETA, steps=steps, record_steps=record, **regime_params,
                dtype=nb.dtype, device=nb.device)


RUN_KEYS = [(act, regime) for regime in REGIMES for act in RUN_ACTIVATIONS]
# erf and ReLU, strong and weak regime start from the same clouds with the same noise (common random numbers).
coupled_cloud, coupled_noise = nb.stream("coupled runs initial cloud"), nb.stream("coupled runs noise")
runs = dict(zip(RUN_KEYS, nb.map(run_coupled, [
    coupled_call(act, REGIMES[regime], **sizes["chaos"][regime], cloud=coupled_cloud, noise=coupled_noise)
    for act, regime in RUN_KEYS])))
print({key: f"risk {run['risk'][0].mean():.3f} -> {run['risk'][-1].mean():.3f}" for key, run in runs.items()})


# %%
def flow_w_star(run):
    rows = []
    groups = np.array_split(np.arange(run["ref"].shape[1]), 4)
    for ti, t in enumerate(run["times"]):
        cloud = run["ref"][ti]
        per_group = [moments.estimate_w_star(cloud[g]).w_star for g in groups]
        pooled = moments.estimate_w_star(cloud).w_star
        rows.append(dict(t=t, pooled=pooled, low=min(per_group + [pooled]), high=max(per_group + [pooled])))
    return pd.DataFrame(rows)


GIBBS_LABEL = "Gibbs λ/(2τ)"
flow_tables = {act: flow_w_star(runs[(act, "strong")]) for act in RUN_ACTIVATIONS}
w_star_rows = []
for r in ou_table.itertuples():
    w_star_rows.append(dict(panel=r.init, source="OU exact", t=r.t, w_star=r.exact))
    w_star_rows.append(dict(panel=r.init, source="OU population value", t=r.t, w_star=r.population))
    w_star_rows.append(dict(panel=r.init, source="OU estimate", t=r.t, w_star=r.median, low=r.low, high=r.high))
for act, table in flow_tables.items():
    w_star_rows += [dict(panel="network", source=f"{act}, data on", t=r.t, w_star=r.pooled, low=r.low, high=r.high)
                    for r in table.itertuples()]
w_star_flow = pd.DataFrame(w_star_rows)
w_star_flow[GIBBS_LABEL] = strong["lam"] / (2 * strong["tau"])
SOURCE_STYLE = {"OU estimate": (COLORS[0], "o", "none"), "erf, data on": (COLORS[1], "s", "-"),
                "relu, data on": (COLORS[2], "^", "-")}

fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for ax, panel in zip(axes, OU_INITS):
    part = w_star_flow[w_star_flow.panel == panel]
    exact = part[part.source == "OU exact"]
    ax.plot(exact.t.clip(lower=0.05), exact.w_star, color="k", label="OU exact")
    if panel == "network":   # for the isotropic law the population value is the exact curve itself
        population = part[part.source == "OU population value"]
        ax.plot(population.t.clip(lower=0.05), population.w_star, color="k", ls="--", label="OU population value")
    for source, sub in part[part.source.isin(list(SOURCE_STYLE))].groupby("source", sort=False):
        color, marker, line = SOURCE_STYLE[source]
        # The pooled estimate can fall outside the range of the group estimates; its bar then stops at the estimate.
        ax.errorbar(sub.t.clip(lower=0.05), sub.w_star,
                    yerr=[(sub.w_star - sub.low).clip(lower=0), (sub.high - sub.w_star).clip(lower=0)],
                    marker=marker, ls=line, color=color, capsize=3, label=source, zorder=3)
    ax.axhline(strong["lam"] / (2 * strong["tau"]), color="gray", ls=":", label=GIBBS_LABEL)
    ax.set(xscale="log", xlabel="t (t = 0 drawn at 0.05)", title=f"{panel} initialisation, λ = 0.5, τ = 0.05")
    ax.legend(fontsize=8)
axes[0].set_ylabel("w*(t)")
fig.tight_layout()
nb.save_figure(fig, "w_star_flow", data=w_star_flow,
               caption="w*(t) along the flow. \"OU exact\" is 1/(2 max_j Var_t,j) of the exact Ornstein–Uhlenbeck law "
                       "(data term off), moving towards the Gibbs value (dotted; the η = 0.1 chain's limit is "
                       "λ(1 − ηλ/2)/(2τ) = 4.88). Isotropic initialisation: the estimate (median, range over replicas) "
                       "tracks it. Network initialisation (anisotropic): the estimate sits above it up to t ≈ 3, on "
                       "the \"OU population value\" (dashed), the estimator's limit on the exact anisotropic law at the "
                       "k_max used — a model error, not a sampling error. The data-on estimates (erf, ReLU; range "
                       "over four groups of replicas) are shown for comparison, not tested.",
               params=dict(eta=ETA, **strong, ou_R=sizes["ou_R"], ou_N=sizes["ou_N"], inits=OU_INITS))
plt.show()

# %%
from scipy import stats

for name, target in (("isotropic", "w*(t) = 1/(2 Var_t) (the Gamma model is exact)"),
                     ("network", "above 1/(2 max_j Var_t,j) until the variances equalise (model error)")):
    part = ou_table[ou_table.init == name]
    z = ((part["mean"] - part.predicted) / part.predicted_se).abs()
    print(f"{name}: |z| over t {z.round(2).tolist()}")
    nb.claim(f"OU from the {name} initialisation (data term off): worst |z| over the {len(part)} recorded t of the "
             f"estimated w*(t), mean over {sizes['ou_R']} replicas of n = {sizes['ou_N']}", float(z.max()), 0.0,
             stats.norm.ppf(1 - 0.001 / (2 * len(part))), "w_star_flow",
             prediction=f"0: the estimator's mean on {OU_LAW_DRAWS} independent exact samples of the OU law "
                        f"N(0, diag Var_t) of the same size — its population value, {target}, plus the finite-n "
                        f"bias; z in units of that law's spread × √(1/R + 1/draws); window: Bonferroni 99.9 % over "
                        "the times")

# %% [markdown]
# **The weighted moment Φ_w(t) = ∫ e^{w|θ|²} dμ_t** (network initialisation), near the class boundary. The propagated
# class is w < min(w\*(μ₀), λ/(2τ)) = min(1/2, 5) = 1/2; we take w = 0.4. What Theorem 1 predicts there is
# Φ_w(μ_t) ≤ C uniformly in t, with C not given. On a finite horizon we test what that implies and can fail:
#
# * **the particle estimate against the exact value** where one is known: with the data term off the law is the
#   Gaussian N(0, diag Var_t), Φ_w = Π_j (1 − 2w Var_t,j)^{−1/2}. The plain average (1/N) Σ_i e^{w|θ_i|²} has
#   infinite variance while w > w\*(t)/2 (shaded: there it scatters, typically below the exact value), and its
#   standard error, from Φ_{2w}, is itself reliable only when w < w\*(t)/4; the claim uses those times;
# * **no growth late in the horizon** with the data term on: sup over [T/2, T] of Φ̂_w over its sup over (0, T/2),
#   a finite-horizon proxy for the uniform bound: ≤ 1 if Φ_w does not grow once the flow has passed its transient
#   (the OU closed form gives the value printed below, Φ_w decreasing); the tolerance is a one-sided 99.9 %
#   bootstrap over replicas. This cannot show that Φ_w stays bounded beyond T, and it does not test the value of C.
#
# **Outside the class**, at w = 10 (beyond every w\*(t), also beyond the Gibbs value), Φ_w = ∞ and the particle
# estimate grows without bound with the number of particles it averages. The summands e^{w|θ|²} then have tail index
# w\*/w < 1, so the average of n grows like n^{w/w\* − 1} = n^{1.05} at the final OU law (w\* = 4.87) — up to slowly
# varying factors that matter at these n. The prediction used is therefore computed, not asymptotic: the same
# statistic (the log estimate averaged over disjoint blocks of n particles, slope in n) on exact samples of the OU law
# with as many particles (`moments.block_log_phi_w_gaussian`), its median and 0.5–99.5 % range over 400 draws; the
# claim averages the slopes of the clouds recorded in [T/2, T].

# %%
W_IN, W_OUT = 0.4, 10.0
GROWTH_DRAWS = 400
CLASS_BOUND = min(moments.w_star_closed_form("gaussian", "subgaussian", NETWORK_SCALES),
                  strong["lam"] / (2 * strong["tau"]))
INFINITE_LABEL = "plain average: infinite variance (OU, w > w*(t)/2)"
network_var = ou_variances["network"]
ou_w_star_t = 1 / (2 * network_var.max(-1))
phi_rows = []
for ti, step in enumerate(ou_record):
    cloud = ou_particles["network"][ti].reshape(-1, D_IN + 1)
    phi_hat = math.exp(moments.log_phi_w(cloud, W_IN))
    # Var e^{w|θ|²} = Φ_2w − Φ_w²: the standard error of the plain average over i.i.d. particles.
    se = math.sqrt(max(math.exp(moments.log_phi_w(cloud, 2 * W_IN)) - phi_hat ** 2, 0.0) / cloud.shape[0])
    common = dict(t=step * ETA, **{INFINITE_LABEL: bool(ou_w_star_t[ti] < 2 * W_IN)},
                  se_reliable=bool(ou_w_star_t[ti] > 4 * W_IN))
    phi_rows.append(dict(source="OU exact", phi=float(moments.phi_w_gaussian(W_IN, network_var[ti])), **common))
    phi_rows.append(dict(source="OU particles", phi=phi_hat, se=se, **common))
per_replica_phi = {}
for act in RUN_ACTIVATIONS:
    run = runs[(act, "strong")]
    per_replica_phi[act] = np.exp(moments.log_phi_w(run["ref"], W_IN))            # (T, R)
    for ti, t in enumerate(run["times"]):
        values = per_replica_phi[act][ti]
        phi_rows.append(dict(source=f"{act}, data on", t=t, phi=values.mean(),
                             se=values.std(ddof=1) / math.sqrt(len(values))))
phi_time = pd.DataFrame(phi_rows)

growth_rows = []
final_clouds = {"OU particles": ou_particles["network"][-1].reshape(-1, D_IN + 1)}
final_clouds.update({f"{act}, data on": runs[(act, "strong")]["ref"][-1].reshape(-1, D_IN + 1) for act in RUN_ACTIVATIONS})
block_sizes = {}
growth_shuffle = nb.stream("growth block shuffle")  # the same permutation of every cloud, on purpose
for source, cloud in final_clouds.items():
    shuffled = cloud[torch.as_tensor(growth_shuffle.rng().permutation(cloud.shape[0]))]
    block_sizes[source] = np.unique(np.geomspace(16, cloud.shape[0] // 8, 7).astype(int))
    for w in (W_IN, W_OUT):
        log_phi = moments.block_log_phi_w(shuffled, w, block_sizes[source])
        growth_rows += [dict(source=source, series=f"{source}, w = {w:g}", w=w, n=n, log_phi=lp,
                             log_ratio=lp - log_phi[0]) for n, lp in zip(block_sizes[source], log_phi)]
ou_total = final_clouds["OU particles"].shape[0]
ou_curves = moments.block_log_phi_w_gaussian(network_var[-1], W_OUT, block_sizes["OU particles"], ou_total,
                                             GROWTH_DRAWS, rng=nb.stream("OU growth draws").rng())
# The claim pools the slopes of the OU clouds recorded in [T/2, T] (nearly independent: their correlation decays
# like (1 − ηλ)^steps), each against the same statistic on exact samples of its own law.
LATE_OU = [ti for ti, step in enumerate(ou_record) if step * ETA >= horizon_ou / 2]
log_ns = np.log(block_sizes["OU particles"])
late_measured, late_predicted = [], []
late_growth_draws = nb.stream("late OU growth draws")
for ti in LATE_OU:
    cloud = ou_particles["network"][ti].reshape(-1, D_IN + 1)
    shuffled = cloud[torch.as_tensor(growth_shuffle.rng().permutation(cloud.shape[0]))]
    late_measured.append(np.polyfit(log_ns, moments.block_log_phi_w(shuffled, W_OUT, block_sizes["OU particles"]),
                                    1)[0])
    curves = ou_curves if ti == len(ou_record) - 1 else moments.block_log_phi_w_gaussian(
        network_var[ti], W_OUT, block_sizes["OU particles"], ou_total, GROWTH_DRAWS, rng=late_growth_draws.rng(ti))
    late_predicted.append(np.polyfit(log_ns, curves.T, 1)[0])
predicted_slopes = np.mean(late_predicted, axis=0)
PREDICTION_LABEL = f"exact OU law, w = {W_OUT:g} (median, 0.5–99.5 %)"
ou_ratios = ou_curves - ou_curves[:, :1]                 # each draw against its own value at the smallest n
growth_rows += [dict(source="prediction", series=PREDICTION_LABEL, w=W_OUT, n=n, log_phi=np.median(curve),
                     log_ratio=np.median(column), low=np.percentile(column, 0.5), high=np.percentile(column, 99.5))
                for n, curve, column in zip(block_sizes["OU particles"], ou_curves.T, ou_ratios.T)]
phi_growth = pd.DataFrame(growth_rows)

TIME_STYLE = {"OU particles": (COLORS[0], "o"), "erf, data on": (COLORS[1], "s"), "relu, data on": (COLORS[2], "^")}
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
ax = axes[0]
exact = phi_time[phi_time.source == "OU exact"]
if exact[INFINITE_LABEL].astype(bool).any():   # shade up to the log-midpoint of the last such time and the next
    last_infinite = np.flatnonzero(exact[INFINITE_LABEL].astype(bool).to_numpy())[-1]
    edges = exact.t.clip(lower=0.05).to_numpy()[last_infinite:last_infinite + 2]
    ax.axvspan(0.04, math.sqrt(edges.prod()) if len(edges) == 2 else edges[0], color="gray", alpha=0.15, lw=0,
               label=INFINITE_LABEL)
for source, part in phi_time[phi_time.source != "OU exact"].groupby("source", sort=False):
    color, marker = TIME_STYLE[source]
    # No error bar where the summand's variance is infinite (OU particles in the shaded times).
    bars = np.where(part[INFINITE_LABEL].eq(True), np.nan, 2 * part.se)
    ax.errorbar(part.t.clip(lower=0.05), part.phi, yerr=bars, color=color, marker=marker, capsize=2,
                mfc="none" if source == "OU particles" else color,
                ls={"OU particles": "none", "erf, data on": "-", "relu, data on": "--"}[source], label=source)
ax.plot(exact.t.clip(lower=0.05), exact.phi, color="k", lw=1.2, label="OU exact", zorder=4)
ax.set(xscale="log", xlabel="t (t = 0 drawn at 0.05)", ylabel="$\\Phi_w(\\mu_t)$", ylim=(0, None),
       title=f"near the class boundary: w = {W_IN} < {CLASS_BOUND:g}")
ax.legend(fontsize=8)
ax = axes[1]
band = phi_growth[phi_growth.source == "prediction"]
ax.fill_between(band.n, np.exp(band.low), np.exp(band.high), color="k", alpha=0.12, lw=0)
ax.plot(band.n, np.exp(band.log_ratio), color="k", ls=":", label=PREDICTION_LABEL)
for source, part in phi_growth[phi_growth.source != "prediction"].groupby("source", sort=False):
    color, marker = TIME_STYLE[source]
    for w, style in ((W_IN, "--"), (W_OUT, "-")):
        sub = part[part.w == w]
        ax.plot(sub.n, np.exp(sub.log_ratio), ls=style, marker=marker, color=color, label=sub.series.iloc[0])
ax.set(xscale="log", yscale="log", xlabel="particles per block n",
       ylabel="block-averaged estimate / its value at n = 16", title="final time: inside vs outside the class")
ax.set_xticks(block_sizes["OU particles"], [str(n) for n in block_sizes["OU particles"]])
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.legend(fontsize=8)
fig.tight_layout()
nb.save_figure(fig, "phi_w", data=pd.concat([phi_time.assign(kind="time"), phi_growth.assign(kind="growth")]),
               caption=f"Left: Φ_w at w = {W_IN}, inside the propagated class w < 1/2 (error bars ±2 standard errors). "
                       "\"OU exact\" is the closed form of the data-free flow; the OU particle average (open circles) "
                       "lies on it except in the shaded times, where its variance is infinite (no error bar; it "
                       f"scatters, here {phi_time.phi[phi_time.source == 'OU particles'].iloc[0]:.2f} against "
                       f"{phi_time.phi[phi_time.source == 'OU exact'].iloc[0]:.2f} at t = 0); with the data term (erf, "
                       "solid; ReLU, dashed; they nearly coincide up to t ≈ 1, both starting from one cloud) Φ_w also "
                       "falls from its initial value and levels off, higher than without it. Right, at the final "
                       "time: the particle estimate, averaged in log over disjoint blocks of n particles and divided "
                       f"by its value at n = 16, is flat in n at w = {W_IN} (dashed) and grows with n at "
                       f"w = {W_OUT:g} (solid), outside every class; for the OU particles it is compared with the "
                       "same statistic on exact samples of the final OU law (dotted: median; band: 0.5–99.5 %).",
               params=dict(w_in=W_IN, w_out=W_OUT, class_bound=CLASS_BOUND, growth_draws=GROWTH_DRAWS, **strong))
plt.show()

# %%
from companion.analysis.statistics import bootstrap

reliable = phi_time[phi_time.se_reliable.eq(True)]
particles, closed_form = reliable[reliable.source == "OU particles"], reliable[reliable.source == "OU exact"]
z_scores = np.abs(particles.phi.to_numpy() - closed_form.phi.to_numpy()) / particles.se.to_numpy()
nb.claim(f"OU (data term off): worst |Φ̂_w − Φ_w| / standard error at w = {W_IN} over the {len(z_scores)} recorded "
         "times with w*(t) > 4w", float(z_scores.max()), 0.0, stats.norm.ppf(1 - 0.001 / (2 * len(z_scores))), "phi_w",
         prediction="0 against the closed form Π_j(1 − 2w Var_t,j)^(-1/2) of the exact OU law; window: Bonferroni "
                    "99.9 % of a standard normal over those times (i.i.d. particles; the summand has a finite fourth "
                    "moment there)")
ou_phi = phi_time[phi_time.source == "OU exact"]
ou_late = ou_phi[ou_phi.t >= horizon_ou / 2].phi.max() / ou_phi[(ou_phi.t > 0) & (ou_phi.t < horizon_ou / 2)].phi.max()
for act in RUN_ACTIVATIONS:
    times = runs[(act, "strong")]["times"]
    late, early = times >= times[-1] / 2, (times > 0) & (times < times[-1] / 2)

    def late_over_early(values):
        means = values.mean(0)
        return means[late].max() / means[early].max()

    value, low, _ = bootstrap(per_replica_phi[act].T, late_over_early, level=0.998, seed=9)
    print(f"{act}: Φ_w plateau {per_replica_phi[act][-1].mean():.3f} (OU closed form {ou_phi.phi.iloc[-1]:.3f}); "
          f"late/early {value:.3f}, 0.1 % bootstrap quantile {low:.3f}; OU closed form {ou_late:.3f}")
    nb.claim(f"{act}, data on: sup of Φ̂_w(μ_t) over t in [T/2, T] over its sup over (0, T/2), w = {W_IN}, "
             f"T = {times[-1]:g}", float(value), 0.0, 1.0 + (value - low), "phi_w",
             prediction=f"≤ 1, no growth past the transient: the finite-horizon form of Theorem 1's uniform bound on "
                        f"Φ_w for w < min(w*(μ₀), λ/(2τ)) = {CLASS_BOUND:g}; OU closed form: {ou_late:.2f}; tolerance: "
                        "one-sided 99.9 % bootstrap over replicas")
measured_slope = float(np.mean(late_measured))
slope_lo, slope_mid, slope_hi = np.percentile(predicted_slopes, [0.5, 50, 99.5])
asymptotic = np.mean([W_OUT / ou_w_star_t[ti] - 1 for ti in LATE_OU])
print(f"OU growth slopes at w = {W_OUT:g}, t = {[round(ou_record[ti] * ETA, 2) for ti in LATE_OU]}: measured "
      f"{np.round(late_measured, 2).tolist()}, mean {measured_slope:.2f}; predicted {slope_mid:.2f} "
      f"[{slope_lo:.2f}, {slope_hi:.2f}]; asymptotic w/w* − 1 = {asymptotic:.2f}")
nb.claim(f"OU: log-log slope in n of the block-averaged log particle estimate of Φ_w at w = {W_OUT:g} (outside the "
         f"class: grows without bound), mean over the {len(LATE_OU)} clouds recorded in [T/2, T]", measured_slope,
         slope_lo, slope_hi, "phi_w",
         prediction=f"{slope_mid:.2f}: the same statistic on {GROWTH_DRAWS} exact samples of each OU law "
                    f"(asymptotically n^(w/w* − 1) = n^{asymptotic:.2f}; steeper at these n from the slowly varying "
                    "factor of the tail); window: their 0.5–99.5 % range")
# %% [markdown]
# ## 3. Well-posedness
#
# **Time discretisation.** The engine draws fresh noise at every step, so runs with different η do not share a
# Brownian path; to isolate the time-discretisation error we switch the noise off (τ = 0, λ = 0.5) and compare the
# particles at time T for η = 0.2 … 0.025 with a run at η_fine = 0.025/8. With τ = 0 the scheme is the explicit
# Euler method for the ODE system dθ_i/dt = −∇V(μ_N, θ_i) − λθ_i, whose drift is smooth (erf) or Lipschitz (ReLU:
# the population loss has a Lipschitz gradient in the particles away from w = 0, the kink being averaged over
# x ~ N(0, I)), so the global error at a fixed T is O(η): **predicted order 1** (a one-step method of order p
# converges at order p for a Lipschitz right-hand side: Hairer, Nørsett & Wanner, *Solving ODEs I*, §II.3). The same
# order would hold with synchronously coupled noise: the noise here is additive (√(2τ) dB), and for additive noise
# Euler–Maruyama coincides with the Milstein scheme, of strong order 1 (Kloeden & Platen 1992, §10.3); the
# order-1/2 rate is that of multiplicative noise, which this engine does not have. The window of the claim is the
# 99 % t-interval of the slope over replicas, widened by the change of the local slope between the coarsest and the
# finest pair of steps (the O(η²) term not yet negligible at η = 0.2).

# %%
ETA_VALUES = [0.2, 0.1, 0.05, 0.025]
ETA_FINE = ETA_VALUES[-1] / 8


def run_eta_convergence(activation, target, R, N, d, scale, a_scale, cloud, etas, horizon, lam, tau, dtype, device):
    """Final particles at time ``horizon`` for each step in ``etas`` (``{eta: (R, N, 1+d)}`` on the CPU), all from
    one initial cloud drawn from the stream ``cloud``, learning ``target``."""
    target = target.to(device, dtype)
    theta0 = init_particles("gaussian", R, N, d, scale=scale, a_scale=a_scale, rng=cloud, dtype=dtype, device=device)
    finals = {}
    for eta in etas:
        steps = int(round(horizon / eta))
        if not math.isclose(steps * eta, horizon):
            raise ValueError(f"horizon: {horizon} is not a whole number of steps of {eta}")
        finals[eta] = simulate(theta0, activation, target, eta=eta, steps=steps, lam=lam, tau=tau,
                               record_steps=[steps]).final.cpu()
    return finals


# Both activations start from the same clouds (common random numbers, one stream).
eta_cloud = nb.stream("step size initial cloud")
eta_finals = nb.map(run_eta_convergence, [
    dict(activation=act, target=TEACHER, R=sizes["eta_R"], N=sizes["eta_N"], d=D_IN,
         **NETWORK_INIT, cloud=eta_cloud, etas=ETA_VALUES + [ETA_FINE], horizon=sizes["eta_horizon"], lam=0.5,
         tau=0.0, dtype=nb.dtype, device=nb.device)
    for act in RUN_ACTIVATIONS])
eta_rows, eta_rms = [], {}
for act, finals in zip(RUN_ACTIVATIONS, eta_finals):
    eta_rms[act] = np.stack([np.sqrt(coupling.coupling_error(finals[eta], finals[ETA_FINE])) for eta in ETA_VALUES],
                            -1)                                                   # (R, len(ETA_VALUES))
    for j, eta in enumerate(ETA_VALUES):
        rms = eta_rms[act][:, j]
        eta_rows.append(dict(activation=act, eta=eta, rms_distance=rms.mean(), low=rms.min(), high=rms.max()))
eta_table = pd.DataFrame(eta_rows)

# %% [markdown]
# **References of different sizes.** Nested references (the first N particles of the larger one, same noise) with
# N_ref = 64 … 512 in the strong regime (erf): their function distance to the largest shrinks like
# C(1/N_ref − 1/N_max), so a reference's own error is far below the errors measured in Section 4. This is also what
# bounds the rates there: with nested coupling an N-system's error is C(1/N − 1/N_ref), and the slope is fitted
# against N_eff = (1/N − 1/N_ref)⁻¹; fitting against N would give slopes steeper than −1 because of the −1/N_ref term.
# The spread of the scaled distance across N_ref (max/min, ≥ 1 by definition) is recorded as a sanity *check*: it
# shows the references improve with size at roughly that rate; the rate itself is what Section 4 claims.

# %%
# The largest reference and the smaller ones nested in it (its own initial-cloud and noise streams).
nested_run = nb.run(run_coupled, **coupled_call("erf", strong, N_ref=sizes["ref_sizes"][-1], R=sizes["ref_R"],
                                                Ns=sizes["ref_sizes"][:-1], horizon=sizes["ref_horizon"],
                                                cloud=nb.stream("references initial cloud"),
                                                noise=nb.stream("references noise")))
references = dict(times=nested_run["times"], largest=nested_run["ref"], nested=nested_run["systems"])
N_MAX = sizes["ref_sizes"][-1]
ref_rows = []
for N in sizes["ref_sizes"][:-1]:
    errors = [coupling.function_errors([references["nested"][N][ti]], references["largest"][ti], "erf")[0]
              for ti in range(len(references["times"]))]
    for t, err in zip(references["times"], errors):
        ref_rows.append(dict(N_ref=N, series=f"N_ref = {N}", t=t, function_distance2=err.mean(), low=err.min(),
                             high=err.max(), scaled=err.mean() / (1 / N - 1 / N_MAX)))
ref_table = pd.DataFrame(ref_rows)

ORDER_LABEL = "order 1 (Euler, prediction)"
eta_slopes = {act: loglog_fit(part.eta - ETA_FINE, part.rms_distance)[0]
              for act, part in eta_table.groupby("activation", sort=False)}
eta_table["series"] = [f"{act}: slope {eta_slopes[act]:.2f}" for act in eta_table.activation]
smallest_step = eta_table.groupby("activation").rms_distance.transform("last")       # at η = ETA_VALUES[-1]
eta_table[ORDER_LABEL] = smallest_step * (eta_table.eta - ETA_FINE) / (ETA_VALUES[-1] - ETA_FINE)
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
ax = axes[0]
for color, (act, part) in zip(COLORS, eta_table.groupby("activation", sort=False)):
    ax.errorbar(part.eta - ETA_FINE, part.rms_distance, yerr=[part.rms_distance - part.low,
                part.high - part.rms_distance], marker="o", color=color, capsize=3, label=part.series.iloc[0])
    ax.plot(part.eta - ETA_FINE, part[ORDER_LABEL], color=color, ls="--", lw=1)
ax.plot([], [], color="gray", ls="--", lw=1, label=ORDER_LABEL)
steps_shown = np.array(ETA_VALUES) - ETA_FINE
ax.set(xscale="log", yscale="log", xlabel="$\\eta - \\eta_{fine}$", ylabel="RMS particle distance at T",
       title=f"time step, τ = 0, T = {sizes['eta_horizon']}")
ax.set_xticks(steps_shown, [f"{x:.3g}" for x in steps_shown])
ax.xaxis.set_minor_formatter(plt.NullFormatter())
ax.legend(fontsize=9)
ax = axes[1]
for color, (N, part) in zip(COLORS, ref_table.groupby("N_ref")):
    ax.plot(part.t.clip(lower=0.05), part.function_distance2, marker="o", color=color, label=f"$N_{{ref}}$ = {N}")
ax.set(xscale="log", yscale="log", xlabel="t (t = 0 drawn at 0.05)",
       ylabel=f"$E(f_{{N_{{ref}}}} - f_{{{N_MAX}}})^2$", title="nested references agree (erf, strong)")
ax.legend(fontsize=9)
fig.tight_layout()
nb.save_figure(fig, "well_posedness", data=pd.concat([eta_table.assign(panel="eta"), ref_table.assign(panel="ref")]),
               caption="Left: RMS distance at time T between particles run with step η and with η_fine = η/8 at the "
                       "smallest η (noise off; mean and range over replicas), against η − η_fine, with the first-order "
                       "prediction (dashed, through the smallest step); erf and ReLU nearly coincide. Right: nested references of increasing size "
                       f"agree, their function distance to the largest (N = {N_MAX}) falling with N_ref at every "
                       "time.",
               params=dict(etas=ETA_VALUES, eta_fine=ETA_FINE, ref_sizes=sizes["ref_sizes"], **strong))
plt.show()

# %%
log_steps = np.log(np.array(ETA_VALUES) - ETA_FINE)
for act in RUN_ACTIVATIONS:
    per_replica = np.polyfit(log_steps, np.log(eta_rms[act]).T, 1)[0]                  # one slope per replica
    local = np.diff(np.log(eta_rms[act].mean(0))) / np.diff(log_steps)                 # coarsest … finest pair
    half = stats.t.ppf(0.995, len(per_replica) - 1) * per_replica.std(ddof=1) / math.sqrt(len(per_replica)) \
        + abs(local[0] - local[-1])
    print(f"{act}: slope {eta_slopes[act]:.3f}, per replica {per_replica.round(3).tolist()}, local slopes "
          f"{local.round(3).tolist()}, window half-width {half:.3f}")
    nb.claim(f"{act}: order of the time-discretisation error (slope of the RMS distance vs η − η_fine, τ = 0)",
             eta_slopes[act], 1 - half, 1 + half, "well_posedness",
             prediction="1: explicit Euler for a Lipschitz ODE (Hairer–Nørsett–Wanner §II.3); window: 99 % "
                        "t-interval over replicas plus the change of the local slope from the coarsest to the finest "
                        "pair of steps")
scaled_range = ref_table.groupby("t").scaled.agg(lambda s: s.max() / s.min()).max()
nb.check("Nested references: max over t of the spread (max/min across N_ref) of E(f_Nref − f_max)² / "
         "(1/N_ref − 1/N_max) — 1 for an exact 1/N_ref law, N_max/N_min if references did not improve",
         float(scaled_range), 1.0, 3.0, "well_posedness")

# %% [markdown]
# ## 4. Propagation of chaos, O(1/N) uniformly in time
#
# **Synchronous coupling.** A reference of N_ref particles and N-systems started from its first N particles, with the
# same noise for particle i ≤ N (same seed, noise drawn N_ref wide), population engine (no sampling noise), R
# independent replicas. Measured per replica, with bootstrap intervals over replicas (90 %, 2000 resamples):
#
# * the **coupling error** (1/N) Σ_{i≤N} |θ_i^N(t) − θ_i^ref(t)|², the quantity that is O(1/N) (it bounds W2² between
#   the two clouds restricted to the coupled particles, since the identity pairing is one transport plan);
# * the **function error** E_ρ(f_N − f_ref)², exact, whose value at t = 0 is known: for i.i.d. particles and nested
#   coupling E(f_N − f_ref)² = (1/N − 1/N_ref) · V, V = E_x Var_{θ∼μ₀}[a σ(w·x)].
#
# With nested coupling the leading error is C(t)(1/N − 1/N_ref), not C/N, so slopes are fitted against
# N_eff = (1/N − 1/N_ref)⁻¹ and "N·error" means N_eff·error; the raw slope against N is stored as `slope_in_N`.
# The time step η = 0.1 gives an O(η) bias shared by both systems of a pair, so it does not enter their difference at
# leading order.
#
# **Sizes.** The N-systems and references here are run in this section, recorded at t = 0, 0.5, 1, 2 and then every
# 5 time units up to the horizon T (every 2 in `quick`, a smoke run whose sizes resolve nothing). In `standard`:
# N_ref = 256, N = 8 … 192, so N_eff runs from 8.3 to 768 (almost two decades; the N = 192 system shares three
# quarters of its reference), R = 48 replicas, T = 80, i.e. λT = 40 at λ = 0.5. A larger N_ref (the 1024)
# costs N_ref² per step and replica and does not fit the notebook's budget on two CPU cores. With the N-systems nested
# in the reference, the reference's own O(1/N_ref) error enters through the −1/N_ref term of the fitted form rather
# than as a floor under the error.
#
# **A second setting, d = 8** (the rate only): the same teacher erf(x₁) + erf(x₂) in d = 8, the initialisation
# a ~ N(0, 1), w ~ N(0, I₈/8) (again w ~ N(0, I/d)), the strong regime, the same N_ref, N and R, horizon 10
# (past the initial transient; the budget does not allow a long second run).
#
# **What is claimed.** (i) The literal rate: for both activations, both error kinds and both settings, at *every*
# recorded t > 0 the 90 % bootstrap interval of the slope lies inside [−1.2, −0.8]. (ii) t = 0: the function error
# equals its exact i.i.d. value. (iii) No growth (d = 4): over [T/2, T] the fitted slope g of log(N_eff·error)
# against t has a 90 % bootstrap interval that contains 0 and is at most ±0.01 per unit time wide. Together these
# bound |g| by 0.02, i.e. growth by at most a factor e^{0.02·T/2} ≈ 2.2 over [40, 80]; the measured intervals (table
# `chaos_plateau`) bound it more tightly. The plateau constants are reported with their intervals; no theory here
# predicts their values. What this does not show: a rate in N beyond N_eff ≈ 800, a
# horizon beyond T, or anything about the weak regime, which stays pre-asymptotic at these sizes (shown, not claimed).

# %%
chaos_sizes = nb.pick(
    quick=dict(N_ref=64, R=8, Ns=[8, 16, 32], horizon=10.0, every=2.0, d8_horizon=2.0, d8_R=8, frame_N=16),
    standard=dict(N_ref=256, R=48, Ns=[8, 16, 32, 64, 128, 192], horizon=80.0, every=5.0, d8_horizon=10.0, d8_R=48,
                  frame_N=32),
    paper=dict(N_ref=1024, R=64, Ns=[8, 16, 32, 64, 128, 256, 512, 768], horizon=100.0, every=5.0, d8_horizon=40.0,
               d8_R=64, frame_N=32),
)
D_HIGH = 8
HIGH_INIT = dict(scale=1 / math.sqrt(D_HIGH), a_scale=1.0)
ANIMATION_FRAMES = nb.pick(quick=12, standard=60, paper=80)
N_BOOT = nb.pick(quick=200, standard=2000, paper=2000)  # bootstrap resamples of every interval in this section


def measure_times(horizon, every):
    """t = 0, 0.5, 1, 2, then every ``every`` up to ``horizon``, and ``horizon``."""
    times = np.unique(np.concatenate([[0.0, 0.5, 1.0, 2.0], np.arange(every, horizon, every), [horizon]]))
    return times[times <= horizon]


def chaos_task(problem, law, R, N_ref, Ns, horizon, times, frame_times, frame_N, init_seed, seed, eta, lam, tau,
               dtype, device):
    """One coupled run (``coupling.coupled_run``): per-replica coupling and function errors (T, R, len(Ns)) at
    ``times``, the final clouds, and replica 0 of the reference and of the ``frame_N``-system at ``frame_times``."""
    steps = int(round(horizon / eta))
    measured, frames = (np.round(np.asarray(ts) / eta).astype(int) for ts in (times, frame_times))
    record = np.unique(np.concatenate([measured, frames]))
    run = coupling.coupled_run(problem.to(device, dtype), R=R, N_ref=N_ref, sizes=Ns, init_seed=init_seed, seed=seed,
                               eta=eta, steps=steps, record_steps=record, lam=lam, tau=tau, law=law, dtype=dtype,
                               device=device)
    ref, at, at_frame = run.reference.particles, np.searchsorted(record, measured), np.searchsorted(record, frames)
    coupling_err = np.stack([np.stack([coupling.coupling_error(run.population[N][i], ref[i]) for N in Ns], -1)
                             for i in at])
    function_err = np.stack([np.stack(coupling.function_errors([run.population[N][i] for N in Ns], ref[i],
                                                                 problem.activation),
                                      -1) for i in at])
    return dict(times=measured * eta, coupling=coupling_err, function=function_err, risk=run.reference.risk[at],
                final_ref=ref[-1], final={N: run.population[N][-1] for N in Ns}, frame_times=frames * eta,
                frame_ref=ref[at_frame, 0], frame_system=run.population[frame_N][at_frame, 0] if len(frames) else None)


def chaos_call(activation, d, init, R, horizon, cloud, frames):
    """chaos_task's arguments in the strong regime: the erf teacher on the first two axes of R^d, initial cloud from
    the stream ``cloud``, noise from ``chaos_noise``, ``frames`` animation frames (0: none)."""
    frame_times = horizon * np.linspace(0, 1, frames) ** 2 if frames else np.array([])
    return dict(problem=problem(activation, teacher("erf", TEACHER_B, torch.eye(d)[:2])), law=StartingLaw(**init), R=R,
                N_ref=chaos_sizes["N_ref"], Ns=chaos_sizes["Ns"], horizon=horizon,
                times=measure_times(horizon, chaos_sizes["every"]), frame_times=frame_times,
                frame_N=chaos_sizes["frame_N"], init_seed=cloud, seed=chaos_noise, eta=ETA, **strong,
                dtype=nb.dtype, device=nb.device)


# Each dimension has its own initial-cloud stream, shared by erf and ReLU (common random numbers), and all share the
# noise stream; the animation is the erf run at d = 4.
chaos_noise = nb.stream("chaos noise")
SETTINGS = {"d = 4": dict(d=D_IN, init=NETWORK_INIT, R=chaos_sizes["R"], horizon=chaos_sizes["horizon"],
                          cloud=nb.stream("chaos d = 4 initial cloud")),
            f"d = {D_HIGH}": dict(d=D_HIGH, init=HIGH_INIT, R=chaos_sizes["d8_R"], horizon=chaos_sizes["d8_horizon"],
                                  cloud=nb.stream(f"chaos d = {D_HIGH} initial cloud"))}
CHAOS_KEYS = [(setting, act) for setting in SETTINGS for act in RUN_ACTIVATIONS]
chaos_runs = dict(zip(CHAOS_KEYS, nb.map(chaos_task, [
    chaos_call(act, **SETTINGS[setting], frames=ANIMATION_FRAMES if (setting, act) == ("d = 4", "erf") else 0)
    for setting, act in CHAOS_KEYS])))
print({key: f"risk {run['risk'][0].mean():.3f} -> {run['risk'][-1].mean():.3f}" for key, run in chaos_runs.items()})


# %%
def weak_errors(activation):
    """The weak-regime coupling and function errors (T, R, len(Ns)) of Section 2's coupled runs."""
    run, Ns = runs[(activation, "weak")], sizes["chaos"]["weak"]["Ns"]
    coupling_err = np.stack([coupling.coupling_error(run["systems"][N], run["ref"]) for N in Ns], -1)
    function_err = np.stack([np.stack(coupling.function_errors([run["systems"][N][ti] for N in Ns], run["ref"][ti],
                                                               activation), -1)
                             for ti in range(len(run["times"]))])
    return run["times"], {"coupling": coupling_err, "function": function_err}


# Every series: (setting, regime, activation) -> (times, Ns, N_ref, {kind: errors (T, R, len(Ns))}).
series = {}
for (setting, act), run in chaos_runs.items():
    series[(setting, "strong", act)] = (run["times"], chaos_sizes["Ns"], chaos_sizes["N_ref"],
                                        {"coupling": run["coupling"], "function": run["function"]})
for act in RUN_ACTIVATIONS:
    weak_times, weak = weak_errors(act)
    series[("d = 4", "weak", act)] = (weak_times, sizes["chaos"]["weak"]["Ns"], sizes["chaos"]["weak"]["N_ref"], weak)
iid_cloud = nb.stream("i.i.d. variance clouds")  # the same draws for every setting and activation
iid_variance = {(setting, act): coupling.iid_function_variance(init_particles(
                    "gaussian", 4, 1024, SETTINGS[setting]["d"], **SETTINGS[setting]["init"], rng=iid_cloud), act)
                for setting, act in CHAOS_KEYS}

error_rows, fit_rows = [], []
for (setting, regime, act), (times, Ns, N_ref, kinds) in series.items():
    n_eff = coupling.effective_size(Ns, N_ref)
    label = f"{act}, $d$ = {setting.split()[-1]}, {regime}"
    for kind, errors in kinds.items():
        for ti, t in enumerate(times):
            if kind == "coupling" and t == 0:                    # identical initial particles: the error is 0
                continue
            mean, low, high = coupling.bootstrap_mean(errors[ti], n_boot=N_BOOT, seed=ti)
            fit = coupling.fit_rate(Ns, errors[ti], N_ref, n_boot=N_BOOT, seed=ti)
            fit_rows.append(dict(setting=setting, regime=regime, activation=act, kind=kind, t=t, series=label, **fit,
                                 slope_in_N=loglog_fit(Ns, errors[ti].mean(0))[0]))
            for j, N in enumerate(Ns):
                error_rows.append(dict(setting=setting, regime=regime, activation=act, kind=kind, t=t, N=N,
                                       N_eff=n_eff[j], error=mean[j], low=low[j], high=high[j],
                                       scaled=n_eff[j] * mean[j], scaled_low=n_eff[j] * low[j],
                                       scaled_high=n_eff[j] * high[j], series=f"$N$ = {N}"))
chaos = pd.DataFrame(error_rows)
fits = pd.DataFrame(fit_rows)
fits["inside_band"] = (fits.slope_lo >= -1.2) & (fits.slope_hi <= -0.8)
fits.pivot_table(index=["setting", "regime", "activation", "t"], columns="kind", values="slope").round(3)

# %% [markdown]
# **Rates at every recorded time.** The literal claim, per time: the 90 % bootstrap interval of the slope in N_eff
# (replicas resampled jointly over N, since the N-systems of one replica share their reference) lies inside
# [−1.2, −0.8]. The table lists the interval at every recorded time of the strong regime.

# %%
strong_fits = fits[fits.regime == "strong"]
slope_table = strong_fits.pivot_table(index=["setting", "t"], columns=["activation", "kind"],
                                      values=["slope_lo", "slope_hi"])
slope_table.columns = [f"{act} {kind} {end.removeprefix('slope_')}" for end, act, kind in slope_table.columns]
slope_table = slope_table[sorted(slope_table.columns)].reset_index()
nb.save_table(slope_table, "chaos_slope_intervals",
              caption="90 % bootstrap intervals (lo, hi) of the log–log slope of the coupled errors in N_eff at every "
                      "recorded time, strong regime (λ = 0.5, τ = 0.05), both settings; the claim is that each "
                      "interval lies inside [−1.2, −0.8].",
              params=dict(eta=ETA, **strong, **chaos_sizes), float_format="{:.3f}")
slope_table

# %%
for (setting, act, kind), part in strong_fits.groupby(["setting", "activation", "kind"]):
    part = part[part.t > 0]
    excursion = np.maximum(part.slope_hi + 0.8, -1.2 - part.slope_lo)
    worst = part.iloc[int(np.argmax(excursion.to_numpy()))]
    print(f"{setting} {act} {kind}: worst t = {worst.t:g}, slope {worst.slope:.3f} "
          f"[{worst.slope_lo:.3f}, {worst.slope_hi:.3f}]; intervals inside the band at "
          f"{int(part.inside_band.sum())} of {len(part)} times")
    nb.claim(
        f"{act}, {setting}, strong regime: {kind}-error slope in N_eff at every recorded t > 0 (t = {part.t.min():g} "
        f"… {part.t.max():g}, {len(part)} times) — largest excursion of its 90 % bootstrap interval beyond "
        f"[-1.2, -0.8] (≤ 0: every interval inside)", float(excursion.max()), None, 0.0, "chaos_slope_intervals",
        smoke=(None, 1.0), prediction="slope −1 at every t (Theorem 1: O(1/N) propagation of chaos; the nested "
                                       "coupling's leading term C(t)(1/N − 1/N_ref)), band ±0.2")
for (setting, act), run in chaos_runs.items():
    n_eff = coupling.effective_size(chaos_sizes["Ns"], chaos_sizes["N_ref"])
    ratio_per_replica = (run["function"][0] * n_eff / iid_variance[(setting, act)]).mean(1)
    ratio, low, high = coupling.bootstrap_mean(ratio_per_replica[:, None], n_boot=N_BOOT, seed=0)
    half = float(high[0] - low[0]) / 2
    nb.claim(f"{act}, {setting}: function error at t = 0 over its exact i.i.d. value (1/N − 1/N_ref)·V, mean over "
             f"N and replicas (90 % interval [{low[0]:.3f}, {high[0]:.3f}])", float(ratio[0]), 1 - 2 * half,
             1 + 2 * half, "chaos_rates",
             prediction="1 (exact variance of nested i.i.d. empirical means); window ± twice the 90 % bootstrap "
                        "half-width")

# %% [markdown]
# **What the `standard` run shows.** In d = 4 the literal claim holds for erf (both error kinds, every t = 0.5 … 80:
# all intervals within [−1.14, −0.84]) and for the ReLU function error, and it **fails for the ReLU coupling error**
# at t = 70 and t = 75, where the slope is −0.86 [−0.95, −0.77] and −0.83 [−0.92, −0.73]: the interval crosses −0.8.
# This is not a shortage of replicas (the point estimates themselves sit near −0.85): at late times N_eff × coupling
# error still rises with N, from about 0.09 at N = 8 to 0.17 at N = 192, so either the small ReLU systems are not yet
# in the 1/N regime at these times or the rate there is shallower than 1/N; these sizes do not tell the two apart
# (without N = 8 the slope at t = 75 is −0.85 [−0.95, −0.74], no different).
#
# %% [markdown]
# **No growth.** C(t) = N_eff·error (the constant of the fit C(1/N − 1/N_ref) at time t, a geometric mean over N).
# Over [T/2, T] a straight line is fitted to log C(t) against t; the claim is that the 90 % bootstrap interval of its
# slope g contains 0 and has half-width ≤ 0.01 per unit time. The plateau constant is the mean of C(t) over the window.

# %%
plateau_rows = []
horizon = chaos_sizes["horizon"]
for act in RUN_ACTIVATIONS:
    times, Ns, N_ref, kinds = series[("d = 4", "strong", act)]
    for kind, errors in kinds.items():
        fit = coupling.fit_plateau(times, Ns, errors, N_ref, window=(horizon / 2, horizon), n_boot=N_BOOT, seed=1)
        plateau_rows.append(dict(activation=act, kind=kind, window=f"[{horizon / 2:g}, {horizon:g}]",
                                 times=len(fit.pop("times")), **fit))
plateau = pd.DataFrame(plateau_rows)
plateau["half_width"] = (plateau.slope_hi - plateau.slope_lo) / 2
for row in plateau.itertuples():
    prediction = "g = 0 (Theorem 1: the O(1/N) rate holds uniformly in t)"
    nb.claim(
        f"{row.activation}, d = 4: 0 lies in the 90 % interval [{row.slope_lo:.4f}, {row.slope_hi:.4f}] of the t-slope "
        f"g of log(N_eff·{row.kind} error) over t in {row.window} (value max(lo, −hi) ≤ 0)",
        max(row.slope_lo, -row.slope_hi), None, 0.0, "chaos_plateau", prediction=prediction, smoke=(None, 0.1))
    nb.claim(f"{row.activation}, d = 4: half-width of that interval for the {row.kind} error (per "
                            "unit time)", float(row.half_width), 0.0, 0.01, "chaos_plateau", smoke=(0.0, 0.2),
                            prediction=prediction + "; resolved to ±0.01 per unit time")
nb.save_table(plateau, "chaos_plateau",
              caption="No growth over [T/2, T] (d = 4, strong regime): t-slope g of log(N_eff·error) with its 90 % "
                      "bootstrap interval, and the plateau constant (mean of N_eff·error over the window) with its "
                      "interval.",
              params=dict(eta=ETA, **strong, **chaos_sizes))
plateau

# %%
LOG_TICKS = [10, 30, 100, 300]


def log_axis(axis, ticks=None):
    """No minor tick labels on a log axis; major ticks with plain labels at ``ticks``, or at 1, 2, 5 × 10^k when
    ``ticks`` is "125" (an axis spanning less than a decade or two), else matplotlib's decades."""
    if ticks is not None:
        axis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)) if ticks == "125" else
                               ticker.FixedLocator(ticks))
        axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


recorded = chaos_runs[("d = 4", "erf")]["times"]
shown_times = sorted({recorded[np.argmin(np.abs(recorded - t))] for t in (0.0, 1.0, 10.0, horizon / 2, horizon)})
strong4 = chaos[(chaos.setting == "d = 4") & (chaos.regime == "strong")].copy()
strong4["fit_label"] = ""
iid_label = r"$V/N_{eff}$ (exact, $t$ = 0)"
fig, axes = plt.subplots(2, 2, figsize=(11, 8.5), sharex=True)
for col, act in enumerate(RUN_ACTIVATIONS):
    for row, kind in enumerate(("coupling", "function")):
        ax = axes[row, col]
        for color, marker, t in zip(COLORS, "osD^v", shown_times):
            rows = (strong4.activation == act) & (strong4.kind == kind) & np.isclose(strong4.t, t)
            if not rows.any():
                continue
            sub = strong4[rows]
            fit = fits[(fits.setting == "d = 4") & (fits.regime == "strong") & (fits.activation == act)
                       & (fits.kind == kind) & np.isclose(fits.t, t)].iloc[0]
            label = f"$t$ = {t:g}: slope {fit.slope:.2f} [{fit.slope_lo:.2f}, {fit.slope_hi:.2f}]"
            strong4.loc[rows, "fit_label"] = label
            ax.errorbar(sub.N_eff, sub.error, yerr=[sub.error - sub.low, sub.high - sub.error], marker=marker,
                        color=color, capsize=3, ls="none", label=label)
            ax.plot(sub.N_eff, fit.constant / sub.N_eff, color=color, lw=1)
        if kind == "function":
            n_eff = coupling.effective_size(chaos_sizes["Ns"], chaos_sizes["N_ref"])
            ax.plot(n_eff, iid_variance[("d = 4", act)] / n_eff, color="k", ls="--", lw=1.5, label=iid_label)
        ax.set(xscale="log", yscale="log", title=f"{act}: {kind} error ($d$ = 4, λ = 0.5, τ = 0.05)")
        log_axis(ax.xaxis, LOG_TICKS)
        log_axis(ax.yaxis)
        ax.legend(fontsize=8, loc="lower left")
    axes[1, col].set_xlabel(rf"$N_{{eff}} = (1/N - 1/N_{{ref}})^{{-1}}$, $N_{{ref}}$ = {chaos_sizes['N_ref']}")
axes[0, 0].set_ylabel(r"$\frac{1}{N}\sum_i |\theta_i^N - \theta_i^{ref}|^2$")
axes[1, 0].set_ylabel(r"$E(f_N - f_{ref})^2$")
fig.tight_layout()
rates_data = strong4.assign(**{"V/N_eff (exact, t = 0)": [iid_variance[("d = 4", act)] / n for act, n in
                                                             zip(strong4.activation, strong4.N_eff)]})
nb.save_figure(fig, "chaos_rates", data=rates_data,
               caption="Synchronously coupled errors against N_eff at five of the recorded times (d = 4, strong "
                       "regime; bootstrap 90 % intervals over replicas, lines C/N_eff with the fitted constant; the "
                       "legend gives each time's fitted slope and its interval). The function error at t = 0 sits on "
                       "its exact i.i.d. line (dashed).",
               params=dict(eta=ETA, **strong, **chaos_sizes, times=shown_times))
plt.show()

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
styles = {("d = 4", "strong"): ("o", "-"), ("d = 8", "strong"): ("^", "--"), ("d = 4", "weak"): ("s", ":")}
for ax, kind in zip(axes, ("coupling", "function")):
    groups = list(fits[fits.kind == kind].groupby(["setting", "regime", "activation"], sort=False))
    for index, ((setting, regime, act), part) in enumerate(groups):
        part = part[part.t > 0]
        marker, ls = styles[(setting, regime)]
        color = COLORS[RUN_ACTIVATIONS.index(act) + (2 if setting != "d = 4" else 0)]
        ax.errorbar(part.t * (1 + 0.03 * index), part.slope, yerr=[part.slope - part.slope_lo,
                    part.slope_hi - part.slope], marker=marker, ls=ls, color=color, capsize=2, ms=4,
                    label=part.series.iloc[0])
    ax.axhspan(-1.2, -0.8, color="gray", alpha=0.15, lw=0)
    ax.axhline(-1, color="k", lw=0.8)
    ax.set(xscale="log", xlabel="$t$ (points offset by 3 % per series)", title=f"slope of the {kind} error in "
           r"$N_{eff}$")
    log_axis(ax.xaxis, [0.5, 1, 2, 5, 10, 20, 50])
axes[0].set_ylabel("log–log slope (90 % bootstrap over replicas)")
axes[1].legend(fontsize=8, loc="lower left")
fig.tight_layout()
nb.save_figure(fig, "chaos_slopes", data=fits,
               caption="Fitted log–log slopes of the coupled errors in N_eff at every recorded time t > 0 (grey band "
                       "[−1.2, −0.8]; bars: 90 % bootstrap intervals): strong regime in d = 4 and d = 8, and the weak "
                       "regime (λ = 0.05, τ = 10⁻³, Section 2's smaller runs) for contrast.",
               params=dict(eta=ETA, regimes=REGIMES, chaos=chaos_sizes, weak=sizes["chaos"]["weak"]))
plt.show()

# %%
OVER_TIME_PANELS = (("strong", "coupling"), ("strong", "function"), ("weak", "coupling"))
fig, axes = plt.subplots(3, 2, figsize=(11, 10.5))
for row, (regime, kind) in enumerate(OVER_TIME_PANELS):
    for col, act in enumerate(RUN_ACTIVATIONS):
        ax = axes[row, col]
        part = chaos[(chaos.setting == "d = 4") & (chaos.activation == act) & (chaos.regime == regime)
                     & (chaos.kind == kind)]
        for index, (N, sub) in enumerate(part.groupby("N")):
            ax.errorbar(sub.t, sub.scaled, yerr=[sub.scaled - sub.scaled_low, sub.scaled_high - sub.scaled],
                        marker="osD^v<"[index % 6], ms=4, color=COLORS[index], capsize=2, label=sub.series.iloc[0])
        if regime == "strong":
            fit = plateau[(plateau.activation == act) & (plateau.kind == kind)].iloc[0]
            ax.axvspan(horizon / 2, horizon, color="gray", alpha=0.12, lw=0)
            ax.axhline(fit.constant, color="k", lw=1, ls="--")
            ax.set_title(f"{act}, {kind}, strong: plateau {fit.constant:.3g}, $g$ = {fit.slope:.4f}", fontsize=10)
        else:
            ax.set_title(f"{act}, {kind} error, weak: λ = 0.05, τ = 0.001", fontsize=10)
        ax.set(yscale="log")
        log_axis(ax.yaxis, "125")
        ax.legend(fontsize=8, ncol=3)
    axes[row, 0].set_ylabel(rf"$N_{{eff}}$ × {kind} error")
for ax in axes[-1]:
    ax.set_xlabel("$t$")
fig.tight_layout()
nb.save_figure(fig, "chaos_over_time", data=chaos[chaos.setting == "d = 4"].merge(
                   plateau[["activation", "kind", "constant"]].rename(columns={"constant": "plateau_constant"}),
                   on=["activation", "kind"], how="left"),
               caption="N_eff × error against time, d = 4 (bootstrap 90 % intervals over replicas). Strong regime: "
                       "grey, the window [T/2, T] of the no-growth fit; dashed, its plateau constant; g, the fitted "
                       "slope of log(N_eff·error) in t there. Weak regime (Section 2's runs, horizon "
                       f"{sizes['chaos']['weak']['horizon']:g}): N_eff × coupling error grows, pre-asymptotic.",
               params=dict(eta=ETA, regimes=REGIMES, chaos=chaos_sizes, weak=sizes["chaos"]["weak"]))
plt.show()

# %% [markdown]
# **The coupled pair, moving.** Replica 0 of the erf run in d = 4: the N-system (N = `frame_N`, 32 in `standard`) and
# the first N particles of the reference it is coupled to, projected on the teacher directions (w·u₁, w·u₂), marker
# size ∝ |a|, over the whole run (frames quadratically spaced in t, denser early, where the features are learned).
# The other reference particles are drawn in light grey.

# %%
pair_run = chaos_runs[("d = 4", "erf")]
frame_N = chaos_sizes["frame_N"]
frame_rows = []
for frame, t in enumerate(pair_run["frame_times"]):
    for system, cloud in (("N-system", pair_run["frame_system"][frame]),
                          ("reference, coupled", pair_run["frame_ref"][frame, :frame_N]),
                          ("reference, others", pair_run["frame_ref"][frame, frame_N:])):
        cloud = np.asarray(cloud)
        for particle in range(cloud.shape[0]):
            frame_rows.append(dict(frame=frame, t=t, system=system, particle=particle, a=cloud[particle, 0],
                                   w_u1=cloud[particle, 1], w_u2=cloud[particle, 2]))
frames_table = pd.DataFrame(frame_rows)
limits = frames_table[["w_u1", "w_u2"]].abs().quantile(0.995).max() * 1.1
PAIR_STYLES = {"reference, others": (COLORS[7], ".", True), "reference, coupled": (COLORS[0], "o", False),
               "N-system": (COLORS[2], "x", True)}
fig, ax = plt.subplots(figsize=(5.5, 5))
scatters = {}
for system, (color, marker, filled) in PAIR_STYLES.items():
    colours = dict(c=[color]) if filled else dict(facecolors="none", edgecolors=[color])
    scatters[system] = ax.scatter(np.zeros(0), np.zeros(0), marker=marker, label=system, **colours)
ax.set(xlim=(-limits, limits), ylim=(-limits, limits), xlabel=r"$w \cdot u_1$", ylabel=r"$w \cdot u_2$")
ax.legend(fontsize=8, loc="upper left")
title = ax.set_title(f"erf, $d$ = 4, $N$ = {frame_N}, $N_{{ref}}$ = {chaos_sizes['N_ref']}: $t$ = 0.0")  # sets the layout
fig.tight_layout()


def draw_frame(frame):
    part = frames_table[frames_table.frame == frame]
    for system, scatter in scatters.items():
        sub = part[part.system == system]
        scatter.set_offsets(sub[["w_u1", "w_u2"]].to_numpy())
        scatter.set_sizes(np.clip(10 + 30 * np.abs(sub.a.to_numpy()), 10, 160))
    title.set_text(f"erf, $d$ = 4, $N$ = {frame_N}, $N_{{ref}}$ = {chaos_sizes['N_ref']}: $t$ = "
                   f"{pair_run['frame_times'][frame]:.1f}")
    return list(scatters.values()) + [title]


pair_animation = animation.FuncAnimation(fig, draw_frame, frames=len(pair_run["frame_times"]), blit=False)
shown_animation = nb.save_animation(
    pair_animation, "chaos_pair", data=frames_table,
    caption=f"A coupled pair moving together (erf, d = 4, strong regime, replica 0): the \"N-system\" (N = {frame_N}, "
            "crosses) and the \"reference, coupled\" particles it shares its initial cloud and noise with (circles), "
            "projected on the teacher directions, marker size ∝ |a|; the \"reference, others\" in grey.",
    params=dict(eta=ETA, **strong, N=frame_N, N_ref=chaos_sizes["N_ref"], frames=len(pair_run["frame_times"])))
plt.close(fig)
shown_animation

# %% [markdown]
# **W2² between the clouds, and why it is a trap.** The exact optimal-transport distance (POT's network simplex)
# between the N-particle cloud and the N_ref-particle reference cloud contains the sampling distance between an
# empirical measure and its law, which in dimension D = 5 decays only like N^{−2/D} (Fournier–Guillin) whatever the
# dynamics; the nesting pulls it further towards 0 as N approaches N_ref (the reference contains copies of the
# N-system's neighbours), so the panel uses N ≤ N_ref/4 only. Restricted to the coupled particles (the first N of the
# reference), W2² is at most the coupling error, because the synchronous coupling is one admissible transport plan;
# at these sizes the two coincide (the identity pairing is the optimal one), so that series is drawn as open markers
# over the coupling-error line, and their ratio is printed.

# %%
w2_rows = []
for act in RUN_ACTIVATIONS:
    run = chaos_runs[("d = 4", act)]
    for N in [N for N in chaos_sizes["Ns"] if N <= chaos_sizes["N_ref"] // 4]:
        cloud, ref = run["final"][N], run["final_ref"]
        for r in range(cloud.shape[0]):
            w2_rows.append(dict(activation=act, N=N, replica=r, w2_vs_reference=w2_squared(cloud[r], ref[r]),
                                w2_vs_coupled=w2_squared(cloud[r], ref[r, :N]),
                                coupling_error=float(coupling.coupling_error(cloud[r], ref[r]))))
w2_table = pd.DataFrame(w2_rows)
w2_summary = w2_table.groupby(["activation", "N"]).mean().drop(columns="replica").reset_index()
W2_SERIES = {"w2_vs_reference": (r"$W_2^2(\mu^N, \mu^{ref})$", "o", "-", "full"),
             "w2_vs_coupled": (r"$W_2^2(\mu^N$, first $N$ of ref$)$", "s", "none", "none"),
             "coupling_error": ("coupling error", None, "-", "full")}
w2_plot = []
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
for ax, (act, part) in zip(axes, w2_summary.groupby("activation")):
    for color, (column, (name, marker, ls, fill)) in zip(COLORS, W2_SERIES.items()):
        slope = loglog_fit(part.N, part[column])[0]
        label = f"{name}: slope {slope:.2f}"
        ax.plot(part.N, part[column], marker=marker, ls=ls, fillstyle=fill, ms=9 if fill == "none" else 5,
                color=color, label=label, zorder=3 if fill == "none" else 2)
        w2_plot += [dict(activation=act, N=N, series=label, value=v) for N, v in zip(part.N, part[column])]
    floor = part.w2_vs_reference.iloc[0] * (part.N / part.N.iloc[0]) ** (-2 / 5)
    ax.plot(part.N, floor, color="gray", ls=":", label=r"$N^{-2/5}$ (Fournier–Guillin, $D$ = 5)")
    w2_plot += [dict(activation=act, N=N, series=r"$N^{-2/5}$ (Fournier–Guillin, $D$ = 5)", value=v)
                for N, v in zip(part.N, floor)]
    ax.set(xscale="log", yscale="log", xlabel="$N$", title=f"{act}, $d$ = 4, strong regime, $t$ = {horizon:g}")
    log_axis(ax.xaxis, list(part.N))
    ax.legend(fontsize=8)
axes[0].set_ylabel("replica mean")
fig.tight_layout()
w2_ratio = (w2_table.w2_vs_coupled / w2_table.coupling_error)
w2_slopes = {(act, column): loglog_fit(part.N, part[column])[0] for act, part in w2_summary.groupby("activation")
             for column in W2_SERIES}
nb.save_figure(fig, "chaos_w2", data=pd.DataFrame(w2_plot).merge(w2_summary, on=["activation", "N"]),
               caption="W2² between the N-particle cloud and the reference cloud (POT, exact) against N at t = T: it "
                       "decays with fitted slopes " + ", ".join(f"{w2_slopes[(act, 'w2_vs_reference')]:.2f} ({act})"
                                                               for act in RUN_ACTIVATIONS)
                       + ", much slower than the coupling error ("
                       + ", ".join(f"{w2_slopes[(act, 'coupling_error')]:.2f}" for act in RUN_ACTIVATIONS)
                       + "); the dotted line is the N^(−2/5) sampling rate for reference. W2² restricted to the coupled "
                         f"particles (open squares) equals the coupling error here (ratio {w2_ratio.min():.4f}–"
                         f"{w2_ratio.max():.4f} over replicas and N): the identity pairing is optimal.",
               params=dict(t=horizon, N_ref=chaos_sizes["N_ref"], Ns=chaos_sizes["Ns"]))
plt.show()

# %%
for act, row in w2_summary[w2_summary.N == w2_summary.N.max()].set_index("activation").iterrows():
    nb.claim(
        f"{act}: W2²(μ^N, μ^ref) over the coupling error at N = {row.N:g}, t = {horizon:g}",
        float(row.w2_vs_reference / row.coupling_error), 10.0, None, "chaos_w2", smoke=(1.0, None),
        prediction="≫ 1: the cloud distance carries the empirical-measure sampling distance ∝ N^(−2/D), D = 5 "
                   "(Fournier–Guillin), an order of magnitude above the O(1/N) coupling error at N ≤ N_ref/4")
nb.check("W2² between coupled particles over the coupling error, max over N, replicas, activations (≤ 1: the identity "
         "pairing is a transport plan)", float(w2_ratio.max()), 0.0, 1.0 + 1e-9, "chaos_w2")

# %% [markdown]
# ## Summary
#
# * w\* read off the moment sequence reproduces the closed forms (root-test ratios are checks); from samples the
#   estimator converges to its computed population value at a fixed k_max, which equals w\* for Gaussian-type tails
#   but not for heavy tails or a misspecified model (Laplace: 0.34 where w\* = 0; the uniform ball: ≈ 140 where
#   w\* = ∞) — the estimator's failure mode, claimed as such.
# * Without the data term the flow is an exact Ornstein–Uhlenbeck process: the estimated w\*(t) agrees with the
#   estimator's mean on exact OU samples at every recorded time (for the anisotropic network initialisation that is
#   not 1/(2 Var_t): the offset at t ≤ 3 is the estimator's model error, drawn as the "OU population value"), and the
#   particle estimate of Φ_w at w = 0.4, just inside the class w\*(μ₀) = 1/2, agrees with its closed form. With the
#   data term on (erf, ReLU) Φ_w at w = 0.4 does not grow after T/2 over this finite horizon (the claim says nothing
#   beyond T). Outside the class (w = 10) the particle estimate grows in n with slope 1.42 against 1.44 computed on
#   exact OU samples at the same n (the asymptotic exponent w/w\* − 1 = 1.05 is not reached at these n).
# * Trajectories converge at order 1 in η (measured 1.01–1.02; explicit Euler with synchronously coupled additive
#   noise predicts 1), and nested references agree at the 1/N_ref − 1/N_max level (a check).
# * Propagation of chaos, strong regime (numbers of `standard`): with N_eff from 8 to 768 and 48 replicas, the
#   literal per-time claim — every 90 % interval of the slope in N_eff inside [−1.2, −0.8] — holds in d = 4 for erf
#   (coupling and function error, t = 0.5 … 80) and for the ReLU function error, and fails for the ReLU coupling
#   error at t = 70 and 75 (slopes −0.86 and −0.83, intervals reaching −0.77 and −0.73). In d = 8 (t ≤ 10 only) it
#   holds for both activations and both kinds (slopes −0.93 … −1.12). At t = 0 the function error agrees with its
#   exact i.i.d. value within the claim's window (ratios 0.88 and 0.91 in d = 4, whose 90 % intervals only just
#   reach 1 or miss it by 0.01; 0.98 and 1.02 in d = 8).
# * No growth over [40, 80] (λT = 40): the fitted t-slope of log(N_eff·error) has a 90 % interval containing 0 and
#   narrower than ±0.01 per unit time for both activations and both error kinds; the erf coupling error's interval
#   only just contains 0 (lower end ≈ −0.0002: its N_eff·error creeps from 0.16 at t = 40 to 0.19 at t = 55–80), so a
#   longer horizon would be needed to call that one flat with more confidence. The plateau constants (`chaos_plateau`)
#   are measured values, not predicted ones: N_eff·coupling error ≈ 0.18 (erf) and 0.14 (ReLU), N_eff·function error
#   ≈ 0.068 and 0.075. This is one teacher, one regime, finite N and T: it is evidence consistent with a
#   uniform-in-time O(1/N) rate at these sizes (and, for ReLU's coupling error at late times, not fully), not a proof.
# * The weak regime is pre-asymptotic at these sizes (shown, not claimed), and W2² between whole clouds is dominated by
#   its sampling floor; restricted to the coupled particles it equals the coupling error.

# %%
nb.finish()
