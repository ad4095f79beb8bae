# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (companion)
#     language: python
#     name: companion
# ---

# %% [markdown]
# # 06 — A live explorer: train a student, watch its atoms, read its learning cell
#
# Controls for the activation $\sigma$, the teacher size $M$, the dimension $d \in \{2, 3\}$, the width $N$, the
# weight decay $\lambda$, the temperature $\tau$, the step $\eta$, the horizon and the seed drive the engine live.
# Each change trains one student $f_N(x) = \frac1N\sum_i a_i\sigma(w_i\cdot x)$ under μP with noisy gradient descent
# (the exact **population engine**: Gaussian expectations, no sampling noise) on the teacher
# $f^*(x) = \sum_{m<M}\sigma(u_m\cdot x)$ (orthogonal unit $u_m$ for $M \le d$, spread ones beyond), starting from a
# standard Gaussian cloud, and redraws four panels:
#
# 1. the final cloud: each particle at its input weight $w_i$, inside the unit circle ($d = 2$) or sphere ($d = 3$);
# 2. the exact population risk against time;
# 3. the atoms extracted from the cloud (notebook 03's rule, `companion.analysis.atoms`) against the teacher's
#    directions and against the **regularised optimum** (below);
# 4. the learning-cell numbers of $\sigma$, computed by the functions notebook 05 uses: $w^*$ of the initial law and
#    along the data-free flow, $D^*_{var}$ and $D^*_{orb}$ of generic $M$-atom measures in dimension $d$, and the atom
#    bound $S^*(\varepsilon)$ of the teacher at the level $\varepsilon = \|f_N - f^*\|$.
#
# Without a widget front-end (papermill, the runner, the tests) the notebook runs its default values once, saves
# the figure and records its claim and checks. In JupyterLab (or on Binder) the controls appear at the end.
#
# **The regularised optimum.** Weight decay moves the atoms off the teacher. Among $M$-atom measures
# $\mu = \sum_m p_m\delta_{\theta_m}$ the $\tau \to 0$ free energy
# $$F(\mu) = \tfrac12 E(f_\mu - f^*)^2 + \tfrac\lambda2\int|\theta|^2\,d\mu$$
# has a minimiser near the teacher, computed here with no particles and no noise: L-BFGS on $(p, \theta)$ with the
# engine's exact risk, started at the teacher (`companion.analysis.explore.regularised_optimum`). Its directions are
# the prediction the claim tests; nothing measured enters it.

# %% tags=["parameters"]
profile = "standard"
seed = 0
device = "auto"

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from companion.analysis import explore as ex
from companion.engine.activations import ACTIVATIONS, get_activation
from companion.engine.dynamics import DivergenceError, progress_default
from companion.pipeline import explorer_widgets
from companion.pipeline.notebook import setup_notebook
from companion.pipeline.style import palette

nb = setup_notebook("06_explore", profile, seed, device)
COLORS = palette(4)
DEFAULTS = nb.pick(quick=dict(ex.DEFAULTS, N=32, seed=seed), standard=dict(ex.DEFAULTS, seed=seed),
                   paper=dict(ex.DEFAULTS, N=256, seed=seed))
DEFAULTS

# %% [markdown]
# ## The explorer's two functions
#
# `ex.explore(params)` runs and analyses (engine and analysis layers only); `draw(results, fig)` draws the four
# panels into a figure and returns the plotted data. For display, each extracted atom and each optimum atom is
# moved to the teacher's side of its symmetry orbit ($(a, w) \sim (-a, -w)$ for odd $\sigma$, $(a, w) \sim (a, -w)$
# for even $\sigma$); the particles are drawn where they are.

# %%
def window(results):
    r"""Per matched atom (in teacher order), the 3-standard-error window of its direction: the atom's position is
    the |α|-weighted mean of its n members, whose angular spread is (spread / |w|), so its angle to the optimum's
    direction has standard error about (spread / |w|)/√n under independent Gibbs draws."""
    atoms, match = results["atoms"], results["optimum_match"]
    index = match.pairs[:, 1]
    norms = np.linalg.norm(atoms.positions[index], axis=1)
    return 3 * atoms.spreads[index] / (norms * np.sqrt(atoms.sizes[index]))


def to_teacher_side(activation, weights, positions, directions):
    """Atoms (weights, positions) moved within their symmetry orbit to the side of the nearest teacher direction."""
    act = get_activation(activation)
    if act.parity is None or len(positions) == 0:
        return weights, positions
    projections = positions @ directions.T
    side = np.sign(projections[np.arange(len(positions)), np.abs(projections).argmax(1)])
    side = np.where(side == 0, 1.0, side)[:, None]
    return (weights * side[:, 0] if act.parity == "odd" else weights), positions * side


def cell_rows(results):
    """The learning-cell numbers as (quantity, value) rows."""
    c, atoms = results["cell"], results["atoms"]
    fmt = lambda v: "∞" if v == math.inf else ("n/a" if isinstance(v, float) and math.isnan(v) else f"{v:.3g}")
    return [("w* of the initial law", fmt(c["w_star"])), ("w* along the data-free flow", fmt(c["w_star_flow"])),
            (f"D*_var ({results['params']['M']} atoms)", fmt(c["D_var"])),
            (f"D*_orb ({results['params']['M']} atoms)", fmt(c["D_orb"])),
            ("ε = ‖f_N − f*‖", fmt(c["eps"])), ("K(ε)", fmt(c["K_eps"])), ("S*(ε)", fmt(c["S_star"])),
            ("extracted atoms", str(atoms.count)), ("final risk", fmt(results["risk"][-1]))]


# %% [markdown]
# One function per panel; each draws into the figure and returns the plotted rows, whose `series` holds every legend
# label.

# %%
def panel_cloud(fig, results):
    """(a) the final cloud (particles by the sign of a, size by |a|), the teacher, the optimum and the atoms."""
    p, target, d, rows = results["params"], results["target"], results["params"]["d"], []
    U, cloud = target.U.numpy(), results["cloud"]
    ax = fig.add_subplot(2, 2, 1, projection="3d" if d == 3 else None)
    W, a = cloud[:, 1:], cloud[:, 0]
    sizes = 8 + 40 * np.abs(a) / max(np.abs(a).max(), 1e-12)
    for sign, color, label in ((1, COLORS[0], "particles, $a > 0$"), (-1, COLORS[2], "particles, $a < 0$")):
        mask = a * sign > 0
        ax.scatter(*W[mask].T, s=sizes[mask], color=color, alpha=0.5, label=label, edgecolors="none")
        rows += [dict(panel="a", series=label, x=w[0], y=w[1], z=w[2] if d == 3 else np.nan, a=ai)
                 for w, ai in zip(W[mask], a[mask])]
    opt_w, opt_pos = to_teacher_side(p["activation"], results["optimum"].weights, results["optimum"].positions, U)
    atom_w, atom_pos = to_teacher_side(p["activation"], results["atoms"].weights, results["atoms"].positions, U)
    for points, weights, style, label in (
            (U, target.b.numpy(), dict(marker="*", s=180, color=COLORS[1], edgecolors="k", linewidths=0.6),
             "teacher $u_m$"),
            (opt_pos, opt_w, dict(marker="o", s=130, facecolors="none", edgecolors=COLORS[3], linewidths=1.5),
             "regularised optimum"),
            (atom_pos, atom_w, dict(marker="x", s=70, color=COLORS[3], linewidths=2), "extracted atoms")):
        ax.scatter(*points.reshape(-1, d).T, label=label, zorder=5, **style)
        rows += [dict(panel="a", series=label, x=w[0], y=w[1], z=w[2] if d == 3 else np.nan, a=nu)
                 for w, nu in zip(points.reshape(-1, d), weights)]
    draw_unit_sphere(ax, d)
    ax.set_title(f"(a) cloud at t = {results['times'][-1]:g} (unit {'circle' if d == 2 else 'sphere'} in grey)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return rows


# %%
def draw_unit_sphere(ax, d):
    """The unit circle (d = 2, equal aspect) or a wireframe unit sphere (d = 3), and the axis labels."""
    angle = np.linspace(0, 2 * np.pi, 200)
    if d == 2:
        ax.plot(np.cos(angle), np.sin(angle), color="0.6", lw=0.8)
        ax.set_aspect("equal")
        ax.set(xlabel="$w_1$", ylabel="$w_2$")
        return
    u, v = np.meshgrid(angle[::10], np.linspace(0, np.pi, 10))
    ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.75", lw=0.4)
    ax.set(xlabel="$w_1$", ylabel="$w_2$", zlabel="$w_3$")
    ax.set_box_aspect((1, 1, 1))


# %%
def panel_risk(fig, results):
    """(b) the exact population risk against time, and the risk of the regularised optimum."""
    ax = fig.add_subplot(2, 2, 2)
    times, risk, optimum = results["times"][1:], results["risk"][1:], results["optimum"].risk
    ax.loglog(times, risk, "o-", ms=3, color=COLORS[0], label="risk $R(\\mu_t)$")
    ax.axhline(optimum, color=COLORS[3], ls="--", lw=1, label="risk of the regularised optimum")
    ax.set(xlabel="time $t$ ($t = 0$ not drawn)", ylabel="population risk", title="(b) risk against time")
    ax.legend(fontsize=8)
    return ([dict(panel="b", series="risk $R(\\mu_t)$", x=t, y=r) for t, r in zip(times, risk)]
            + [dict(panel="b", series="risk of the regularised optimum", x=t, y=optimum)
               for t in (times[0], times[-1])])


def panel_atoms(fig, results):
    """(c) each teacher neuron's angle to the optimum's atom and to the extracted atom (± the claim's window)."""
    ax, M = fig.add_subplot(2, 2, 3), results["params"]["M"]
    m, teacher_angles, tol = np.arange(1, M + 1), np.full(M, np.nan), np.full(M, np.nan)
    match, opt_match = results["teacher_match"], results["optimum_match"]
    teacher_angles[match.pairs[:, 0]] = match.angles
    tol[opt_match.pairs[:, 0]] = window(results)
    ax.plot(m - 0.06, results["optimum_angles"], "o", ms=10, mfc="none", mec=COLORS[3], mew=1.5,
            label="regularised optimum")
    ax.errorbar(m + 0.06, teacher_angles, yerr=tol, fmt="x", ms=8, mew=2, color=COLORS[2], capsize=4,
                label="extracted atoms (±3 standard errors)")
    ax.set_xticks(m)
    ax.set_xlim(0.5, M + 0.5)
    tops = np.concatenate([results["optimum_angles"], teacher_angles + np.nan_to_num(tol)])
    ax.set_ylim(0, 1.15 * np.nanmax(tops) if np.isfinite(tops).any() else 1.6)
    ax.set(xlabel="teacher neuron $m$", ylabel="angle to $u_m$ (rad)", title="(c) atoms against the teacher")
    ax.legend(fontsize=8)
    return ([dict(panel="c", series="regularised optimum", x=k, y=v) for k, v in zip(m, results["optimum_angles"])]
            + [dict(panel="c", series="extracted atoms (±3 standard errors)", x=k, y=v, error=e)
               for k, v, e in zip(m, teacher_angles, tol)])


# %%
def panel_cell(fig, results):
    """(d) the learning-cell numbers of σ as a table."""
    p, ax = results["params"], fig.add_subplot(2, 2, 4)
    ax.axis("off")
    table_rows = cell_rows(results)
    table = ax.table(cellText=[list(row) for row in table_rows], colLabels=["quantity", "value"], loc="center",
                     cellLoc="left", colWidths=[0.7, 0.3])
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1, 1.3)
    ax.set_title(f"(d) learning cell of σ = {p['activation']}\nM = {p['M']}, d = {p['d']}, N = {p['N']}, "
                 f"λ = {p['lam']:g}, τ = {p['tau']:g}, η = {p['eta']:g}, seed {p['seed']}", fontsize=10)
    return [dict(panel="d", series=q, value=v) for q, v in table_rows]


def draw(results, fig):
    """Draw the four panels of ``results`` (from ``ex.explore``) into ``fig`` (cleared first); return the plotted
    data as a long DataFrame (panel, series, x, y, z, ...) whose ``series`` holds every legend label."""
    fig.clear()
    rows = [row for panel in (panel_cloud, panel_risk, panel_atoms, panel_cell) for row in panel(fig, results)]
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.07, top=0.93, wspace=0.55, hspace=0.35)  # fixed: fast redraws
    return pd.DataFrame(rows)


# %% [markdown]
# ## The default run
#
# One run at the default values of this profile. How long an update takes per activation is measured by `make bench`
# (benchmarks/README.md), not here: a wall time in the published notebook would change with every regeneration.

# %%
results = ex.explore(DEFAULTS, device=nb.device, dtype=nb.dtype)
fig = plt.figure(figsize=(13, 9))
data = draw(results, fig)
nb.save_figure(fig, "explorer_defaults", data=data,
               caption=f"The explorer at its default values ({DEFAULTS['activation']} student and teacher, M = "
                       f"{DEFAULTS['M']}, d = {DEFAULTS['d']}, N = {DEFAULTS['N']}): the final cloud with the "
                       f"\"teacher u_m\", the \"regularised optimum\" and the \"extracted atoms\"; the risk against "
                       f"time; each atom's angle to its teacher direction (error bars: the claim's window); the "
                       f"learning-cell numbers of σ. Particles with a < 0 sit at −u_m: the same atoms modulo "
                       f"(a, w) ~ (−a, −w).",
               params=dict(DEFAULTS))
plt.show()

# %% [markdown]
# ## Claim and checks
#
# **Claim.** The extracted atoms sit at the regularised optimum's directions: for each teacher neuron, the angle
# between the extracted atom and the optimum's atom is within 3 standard errors of the atom's position (window
# above, $3\,(s/|w|)/\sqrt n$ for a cluster of $n$ particles of spread $s$). The value recorded is the largest ratio
# angle / window ($\infty$ if the count is not $M$). Weight decay's bias — the optimum's angle to the teacher, printed
# below beside the windows — is several windows wide at the defaults, so the claim tells the $\lambda$-biased
# prediction apart from the naive one ("the atoms sit on the teacher"). It is a statement about this one run at the
# defaults, at finite $\tau$, $N$ and horizon, not a limit theorem, and the window assumes the members of a cluster
# are independent draws around its centre.
#
# **Checks** (implementation and sanity, not evidence): the optimum search converged; the count does not exceed
# $S^*(\varepsilon)$ (Theorem 3's bound, loose by construction); $D^*_{orb} \ge D^*_{var}$ (the fibre is searched
# only from $D^*_{var}$ on).

# %%
ratios = results["optimum_match"].angles / window(results)
complete = results["atoms"].count == DEFAULTS["M"] and results["optimum_match"].pairs.shape[0] == DEFAULTS["M"]
nb.claim("extracted atoms match the regularised optimum's directions: largest angle / 3-standard-error window",
         float(ratios.max()) if complete else math.inf, 0.0, 1.0, "explorer_defaults",
         prediction=f"directions of the M-atom minimiser of the τ → 0 free energy (regularised_optimum, L-BFGS, no "
                    f"particles), {float(results['optimum_angles'].max()):.3g} rad off the teacher")
nb.check("regularised optimum search converged (L-BFGS success)", int(results["optimum"].converged), 1, 1,
         "explorer_defaults")
nb.check("extracted atom count ≤ S*(ε) (Theorem 3's bound)", results["atoms"].count / results["cell"]["S_star"],
         0.0, 1.0, "explorer_defaults")
nb.check("D*_orb ≥ D*_var for the default σ (D*_orb − D*_var)", results["cell"]["D_orb"] - results["cell"]["D_var"],
         0.0, None, "explorer_defaults")
print("angles to the optimum (rad):", results["optimum_match"].angles.round(4), " windows:", window(results).round(4),
      " angles to the teacher:", results["teacher_match"].angles.round(4))


# %% tags=["remove-input"]
nb.say(f"""At the defaults the optimum's largest angle to the teacher is
${nb.glue("optimum_angle", float(results["optimum_angles"].max()), ".3g")}$ rad, against windows of
${nb.glue("window_min", float(window(results).min()), ".3g")}$ to ${nb.glue("window_max", float(window(results).max()), ".3g")}$
rad; the largest angle / window of the extracted atoms is ${nb.glue("ratio_max", float(ratios.max()), ".2f")}$.""")

# %% [markdown]
# ## The controls
#
# `build_explorer` wires one control per parameter to a callback that reruns `ex.explore`, redraws into a figure
# kept by the explorer and shows it as a PNG in an image widget, with the learning-cell numbers and the time of the
# update underneath. Sliders update on release. $D^*_{var}$ and $D^*_{orb}$ depend only on $(\sigma, M, d)$; each new
# combination costs one fibre search (about a second), later visits are a lookup. tanh and GELU have no closed-form
# Gaussian kernel (the engine sums the Mehler series), so their runs are many times slower than erf and ReLU at the
# same sizes; quadratic $\sigma$ needs a smaller $\eta$ (at the default $\eta$ it diverges and the explorer says so).

# %%
def build_explorer(params, results=None):
    """The explorer's widgets at ``params``, drawn from ``results`` when given (no run until a control changes):
    ``explorer_widgets.build_explorer`` on ``ex.explore``, :func:`draw` and :func:`cell_rows`, refusing bad
    parameters and diverging runs. Returns a dict: ``box`` (to display), ``controls`` (name → widget), ``image``,
    ``numbers``, ``status``, ``timings`` (seconds per update) and ``results`` (the latest)."""
    return explorer_widgets.build_explorer(
        explorer_widgets.controls_for(params, ACTIVATIONS, ex.M_MAX, ex.DIMENSIONS),
        run=lambda chosen: ex.explore(chosen, device=nb.device, dtype=nb.dtype), draw=draw, rows=cell_rows,
        refused=(ValueError, DivergenceError), results=results)


# %% [markdown]
# In JupyterLab or on Binder the next cell shows the explorer (the default run above is its first picture). Under
# papermill, the runner and the tests it shows nothing: there is no front-end to draw the widgets.

# %%
if progress_default():
    from IPython.display import display

    explorer = build_explorer(DEFAULTS, results)
    display(explorer["box"])

# %%
nb.finish()
