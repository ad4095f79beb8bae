"""Figures of notebook 03 (sparse dictionary: atoms of the long-time limit): each function draws one figure from the
values the notebook computed and returns it (with its data frame where the figure builds one). No computation of the
analysis happens here."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.animation import FuncAnimation
from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter

from .style import palette

AXIS_LABELS = {2: ("$w_1$", "$w_2$"), 3: ("$e_1$ (in-plane axis 1)", "$e_2$ (in-plane axis 2)")}


def targets_hermite(tensor_df, bound_df, families):
    """One row per family (``families``: family → target names): the Hermite tensor norms against the degree k
    (norms above 1e-14), the coefficient-threshold number K(ε) and the bound S*(ε) against ε (K = −1 not drawn)."""
    fig, axes = plt.subplots(3, 3, figsize=(15, 11), constrained_layout=True)
    markers = "osD^v"
    for row, (family, names) in enumerate(families.items()):
        for colour, marker, name in zip(palette(len(names)), markers, names):
            shown = tensor_df[(tensor_df.target == name) & (tensor_df.norm > 1e-14)]
            axes[row, 0].semilogy(shown.k, shown.norm, "-", marker=marker, ms=4, color=colour, label=name)
            group = bound_df[(bound_df.target == name) & (bound_df.K >= 0)]  # K = −1: no tensor above ε, not drawn
            axes[row, 1].step(group.eps, group.K, where="post", color=colour, label=name)
            axes[row, 2].step(group.eps, group.S_star, where="post", color=colour, label=name)
        axes[row, 0].set(xlabel="degree $k$", ylabel=r"$\|T^*_k\|_F$", title=f"Hermite tensors: {family}")
        axes[row, 1].set(
            xscale="log", xlabel=r"$\varepsilon$", ylabel=r"$K(\varepsilon)$", title="coefficient-threshold number"
        )
        axes[row, 2].set(
            xscale="log",
            yscale="log",
            xlabel=r"$\varepsilon$",
            ylabel=r"$S^*(\varepsilon)$",
            title="Carathéodory-type bound",
        )
        axes[row, 0].legend(fontsize=9)
        for ax in (axes[row, 0], axes[row, 2]):
            low, high = ax.get_ylim()
            if np.log10(high / low) < 2.5:  # under 2.5 decades: label 1, 2, 5 × 10^k, no minor labels
                ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_minor_formatter(NullFormatter())
    return fig


def plane_basis(n):
    """The unit vector along ``n`` and an orthonormal basis (e1, e2) of the plane orthogonal to it, e1 ⟂ e_3."""
    n = n / np.linalg.norm(n)
    e1 = np.cross(n, [0.0, 0.0, 1.0])
    e1 /= np.linalg.norm(e1)
    return n, e1, np.cross(n, e1)


def snapshot_indices(times, targets=(0.0, 2.0, 20.0, np.inf)):
    """Indices of the recorded ``times`` nearest to each of ``targets`` (capped at the last time), sorted, unique."""
    return sorted({int(np.argmin(np.abs(times - min(t, times[-1])))) for t in targets})


def view(cloud, U, d):
    """Plot coordinates of a cloud (N, 1+d) and of the teacher's directions: (x, y, a) of the particles and (x, y)
    of the teacher markers; d = 2 the plane itself (markers at ±u), d = 3 unit directions flipped towards
    n = (1, 1, 1)/√3 (a flipped with them) and projected on the plane orthogonal to n."""
    a, W = cloud[:, 0], cloud[:, 1:]
    if d == 2:
        return W[:, 0], W[:, 1], a, np.concatenate([U, -U])
    n, e1, e2 = plane_basis(np.ones(3))
    unit = W / np.linalg.norm(W, axis=1, keepdims=True)
    flip = np.where(unit @ n < 0, -1.0, 1.0)
    unit, a = unit * flip[:, None], a * flip
    teacher_unit = U * np.where(U @ n < 0, -1.0, 1.0)[:, None]
    return unit @ e1, unit @ e2, a, np.column_stack([teacher_unit @ e1, teacher_unit @ e2])


def draw_frame(ax, d, U, lim):
    """The unit circle, for d = 2 the teacher's lines through ±2u, and the square limits ±``lim``."""
    ax.add_patch(plt.Circle((0, 0), 1.0, fill=False, color="0.7"))
    if d == 2:
        for u in U:
            ax.plot([-2 * u[0], 2 * u[0]], [-2 * u[1], 2 * u[1]], "k--", lw=0.8)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")


def directions_snapshots(shown, limits):
    """Two rows of four snapshots of replica 0: ``shown`` is a list of (d, times, particles (T, R, N, 1+d), teacher
    directions U), one row each, at :func:`snapshot_indices`; particles coloured by a, teacher directions as stars.
    Returns the figure and its rows (series, d, t, particle, a, x, y)."""
    snap_rows = []
    fig, axes = plt.subplots(2, 4, figsize=(16, 9), layout="constrained")
    for row, (d, times, particles, U) in enumerate(shown):
        idx = snapshot_indices(times)
        vmax = np.abs(particles[idx[:4], 0, :, 0]).max()
        for col, k in enumerate(idx[:4]):
            x, y, a, marks = view(particles[k, 0], U, d)
            ax = axes[row, col]
            draw_frame(ax, d, U, limits[d])
            points = ax.scatter(
                x, y, c=a, cmap="coolwarm", vmin=-vmax, vmax=vmax, s=14, edgecolor="none", label="particles"
            )
            ax.plot(marks[:, 0], marks[:, 1], "k*", ms=13, mfc="none", label="teacher directions")
            ax.set(
                title=f"$d={d}$, $t={times[k]:.1f}$",
                xlabel=AXIS_LABELS[d][0],
                ylabel=AXIS_LABELS[d][1] if col == 0 else "",
            )
            if col > 0:
                ax.tick_params(labelleft=False)
            snap_rows += [
                dict(series="particles", d=d, t=times[k], particle=i, a=a[i], x=x[i], y=y[i]) for i in range(len(a))
            ]
            snap_rows += [
                dict(series="teacher directions", d=d, t=times[k], particle=-1, a=np.nan, x=mx, y=my)
                for mx, my in marks
            ]
        fig.colorbar(points, ax=axes[row].tolist(), shrink=0.8, label="output weight $a$")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside upper center", ncol=2, fontsize=10)
    return fig, pd.DataFrame(snap_rows)


def cloud_animation(shown, limits):
    """The clouds of replica 0 over all recorded times side by side (``shown`` as in :func:`directions_snapshots`,
    all with the same times), on colour scales fixed over each run: the animation, its figure (close it after
    saving) and the rows (frame, t, d, particle, x, y, a) of every frame."""
    anim_rows = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    fig.subplots_adjust(left=0.07, right=0.95, bottom=0.12, top=0.92, wspace=0.35)
    artists = []
    for ax, (d, times, particles, U) in zip(axes, shown):
        vmax = np.abs(particles[:, 0, :, 0]).max()
        for frame, t in enumerate(times):
            x, y, a, marks = view(particles[frame, 0], U, d)
            anim_rows += [dict(frame=frame, t=t, d=d, particle=i, x=x[i], y=y[i], a=a[i]) for i in range(len(a))]
        draw_frame(ax, d, U, limits[d])
        x, y, a, marks = view(particles[0, 0], U, d)
        points = ax.scatter(x, y, c=a, cmap="coolwarm", vmin=-vmax, vmax=vmax, s=16, edgecolor="none")
        ax.plot(marks[:, 0], marks[:, 1], "k*", ms=13, mfc="none", label="teacher directions")
        ax.set(xlabel=AXIS_LABELS[d][0], ylabel=AXIS_LABELS[d][1])
        ax.legend(loc="lower left", fontsize=9, framealpha=0.8, frameon=True)
        fig.colorbar(points, ax=ax, shrink=0.7, label="output weight $a$")
        artists.append((ax, points, d, times, particles, U))

    def update(frame):
        for ax, points, d, times, particles, U in artists:
            x, y, a, _ = view(particles[frame, 0], U, d)
            points.set_offsets(np.column_stack([x, y]))
            points.set_array(a)
            ax.set_title(f"$d={d}$, $t={times[frame]:.1f}$")
        return [artist[1] for artist in artists]

    animation = FuncAnimation(fig, update, frames=len(shown[0][1]), blit=False)
    return animation, fig, pd.DataFrame(anim_rows)


def atom_counts(count_df, teacher_m, eta, tau_break, n_grid):
    """Active atom counts: panel "t" (mean over replicas against t per target, t = 0 drawn at η/2, dotted at the
    target's ``teacher_m``), panels "tau" and "N" (final counts; the run at ``tau_break`` as grey crosses, dotted at
    2), x ticks at ``n_grid``."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for name, group in count_df[count_df.panel == "t"].groupby("target", sort=False):
        mean = group.groupby("x")["count"].mean()
        (line,) = axes[0].plot(np.maximum(mean.index, eta / 2), mean.values, "o-", ms=3, label=name)
        axes[0].axhline(teacher_m[name], color=line.get_color(), ls=":")
    axes[0].set(
        xscale="log",
        xlabel=r"$t$ ($t = 0$ drawn at $\eta/2$)",
        ylabel="active atoms (mean over replicas)",
        title="count against time",
    )
    for panel, ax, label in [("tau", axes[1], r"$\tau$"), ("N", axes[2], "$N$")]:
        group = count_df[count_df.panel == panel]
        broken = group.x == tau_break if panel == "tau" else np.zeros(len(group), dtype=bool)
        ax.plot(group.x[~broken], group["count"][~broken], "o", alpha=0.6)
        if broken.any():
            ax.plot(group.x[broken], group["count"][broken], "x", color="0.5", label="largest τ, not fitted")
        ax.axhline(2, color="k", ls=":", label="teacher M = 2")
        ax.set(xscale="log", xlabel=label, ylabel="active atoms", title=f"final count against {label}")
        ax.legend()
    axes[0].legend()
    axes[2].set_xticks(n_grid, [str(n) for n in n_grid])
    axes[2].xaxis.set_minor_formatter(NullFormatter())
    for ax in axes:
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def count_vs_bound(summary, teacher_angles, order, families, replicas, lam):
    """Left: count / S*(ε) of every target (rows in the ``order`` of the target names) and replica, final cloud
    (filled) and relaxed at τ = 0 (open), coloured by family; right: the teacher atoms' matched angles, measured
    (±3 noise units) and predicted, against M. Returns the figure and its data."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), constrained_layout=True)
    colours = dict(zip(families, palette(len(families))))
    family_of = {name: family for family, names in families.items() for name in names}
    for family in families:
        group = summary[summary.target.map(family_of) == family]
        y = group.target.map(order.index) + 0.12 * (group.replica - (replicas - 1) / 2)
        axes[0].plot(group.ratio, y - 0.06, "o", color=colours[family], label=f"{family}, final cloud")
        axes[0].plot(
            group.relaxed_ratio,
            y + 0.06,
            "D",
            mfc="none",
            mew=1.5,
            color=colours[family],
            label=f"{family}, relaxed at τ = 0",
        )
    axes[0].axvline(1.0, color="k", ls=":", label="bound: count = S*")
    axes[0].set_yticks(range(len(order)), order)
    axes[0].invert_yaxis()
    axes[0].set(
        xlim=(0, max(1.1, summary.ratio.max()) * 1.6),
        xlabel=r"count / $S^*(\varepsilon)$, $\varepsilon$ = residual",
        title="measured count over the bound (each replica)",
    )
    axes[0].legend(loc="upper right", fontsize=9, frameon=True, framealpha=0.9)
    for style, (M, group) in zip("osD^", teacher_angles.groupby("M")):
        x = M + 0.08 * (group.replica - (replicas - 1) / 2)
        axes[1].errorbar(
            x - 0.05,
            group.measured,
            yerr=3 * group.noise,
            fmt=style,
            color=palette(2)[0],
            ms=6,
            capsize=3,
            label="measured, 3 noise units" if M == 1 else None,
        )
        axes[1].plot(
            x + 0.05,
            group.predicted,
            style,
            color=palette(2)[1],
            mfc="none",
            ms=8,
            mew=1.5,
            label="predicted from the teacher" if M == 1 else None,
        )
    axes[1].set(
        xlabel="teacher neurons $M$",
        ylabel="matched angle (rad)",
        title=rf"teacher atoms' direction bias at $\lambda$ = {lam}",
    )
    axes[1].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].legend(loc="upper left", fontsize=9)
    data = pd.concat(
        [
            summary.assign(panel="ratio", series=summary.target.map(family_of) + ", final cloud"),
            summary.assign(panel="ratio", series=summary.target.map(family_of) + ", relaxed at τ = 0"),
            pd.DataFrame(dict(panel=["ratio"], series=["bound: count = S*"], ratio=[1.0])),
            teacher_angles.assign(panel="angles", series="measured, 3 noise units"),
            teacher_angles.assign(panel="angles", series="predicted from the teacher"),
        ]
    )
    return fig, data


def angle_vs_lambda(lam_angles, lam_curve, curve, lams):
    """Left: each atom's matched angle against λ, measured (±3 noise units), predicted, the noise unit and the
    equal-mass prediction ``curve`` on ``lam_curve``; right: measured − predicted in noise units with the claim
    window ±3. Returns the figure and its data."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    x_off = np.where(lam_angles.replica == 0, 0.97, 1.03)
    axes[0].errorbar(
        lam_angles.lam * x_off,
        lam_angles.measured,
        yerr=3 * lam_angles.noise,
        fmt="o",
        capsize=3,
        color=palette(2)[0],
        label="measured, 3 noise units",
    )
    axes[0].plot(
        lam_angles.lam * x_off,
        lam_angles.predicted,
        "s",
        mfc="none",
        ms=8,
        mew=1.5,
        color=palette(2)[1],
        label="predicted from the teacher",
    )
    axes[0].plot(lam_angles.lam * x_off, lam_angles.noise, "x", color="0.4", label="centre noise unit")
    axes[0].plot(lam_curve, curve, "-", color=palette(3)[2], lw=1.2, label="predicted, masses 1/2")
    axes[0].set(
        xscale="log",
        yscale="log",
        xlabel=r"weight decay $\lambda$",
        ylabel="matched angle (rad)",
        title="teacher $M = 2$: each atom's bias",
    )
    axes[0].set_xticks([1e-3, 1e-2, 1e-1], ["0.001", "0.01", "0.1"])
    axes[0].xaxis.set_minor_formatter(NullFormatter())
    axes[0].legend(fontsize=9)
    axes[1].axhline(0, color="k", lw=0.8)
    axes[1].plot(
        lam_angles.lam * x_off,
        (lam_angles.measured - lam_angles.predicted) / lam_angles.noise,
        "o",
        color=palette(2)[0],
        label="measured − predicted, in noise units",
    )
    axes[1].axhspan(-3, 3, color="0.85", label="claim window ±3")
    axes[1].set(
        xscale="log",
        xlabel=r"weight decay $\lambda$",
        ylabel="deviation / noise unit",
        title="deviation from the prediction",
    )
    axes[1].set_xticks(lams, [f"{lam:g}" for lam in lams])
    axes[1].minorticks_off()
    axes[1].legend(fontsize=9, loc="upper left", frameon=True)
    series = (
        "measured, 3 noise units",
        "predicted from the teacher",
        "centre noise unit",
        "measured − predicted, in noise units",
    )
    data = pd.concat(
        [lam_angles.assign(series=s) for s in series]
        + [
            pd.DataFrame(dict(series=["claim window ±3"], z=[3.0])),
            pd.DataFrame(dict(series="predicted, masses 1/2", lam=lam_curve, predicted=curve)),
        ]
    )
    return fig, data
