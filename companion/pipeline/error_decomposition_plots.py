"""Figures of notebook 04 (the error decomposition): each function draws one figure or panel from the values the
notebook computed (replica means, bootstrap intervals, fits) and returns the rows of the figure's data file. No
computation of the analysis happens here."""

import matplotlib.pyplot as plt
import numpy as np

from .style import errorbar_rows, palette


def chain_members(wide, link_labels, title):
    """Left: the chain's members along a line (``wide``: one column per member, indexed by the position s; the last
    column, the target, dashed); right: the differences of consecutive members, labelled ``link_labels``. Returns
    the figure and the rows (s, member, value) of the differences."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for name, color in zip(wide.columns, palette(len(wide.columns))):
        target_line = name == wide.columns[-1]
        axes[0].plot(
            wide.index,
            wide[name],
            color=color,
            label=name,
            lw=2.5 if target_line else 1.5,
            ls="--" if target_line else "-",
        )
    link_rows = []
    for i, series in enumerate(link_labels):
        diff = wide.iloc[:, i] - wide.iloc[:, i + 1]
        axes[1].plot(wide.index, diff, color=palette(4)[i], label=series)
        link_rows += [dict(s=s, member=series, value=v) for s, v in diff.items()]
    axes[0].set(title=title, ylabel=r"$f(x)$")
    axes[1].axhline(0, color="0.5", lw=0.8)
    axes[1].set(ylabel="difference of consecutive members", title="the four links along the same line")
    for ax in axes:
        ax.set_xlabel(r"$s$  (input $x = s\,e_1$)")
        ax.legend(fontsize=9, loc="upper left")
    fig.tight_layout()
    return fig, link_rows


def relaxation(times, measured, measured_label, predicted_curve, fits, floor, rates, weights, replicas, n_ref):
    """Left: the optimization term against t, ``measured`` = (knobs, mean, lo, hi), the linearised prediction
    ``predicted_curve`` on ``times``, the two-exponential ``fits`` ({"measured": fit, "predicted": fit}, each with
    amplitudes and rates) dotted, and the stationary ``floor``; right: the histogram of the modes' ``rates`` weighted
    by ``weights`` (both (R, modes)) over the ``replicas`` R, with the fitted rates. Returns the figure, the left panel's and the fitted
    rates' rows, the bins and the modes' label (the notebook saves the bars as drawn)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    colors = palette(3)
    decay_rows = errorbar_rows(axes[0], *measured, colors[0], measured_label, "o")
    axes[0].plot(times, predicted_curve, "-", color=colors[2], label="linearised flow + floor")
    decay_rows += [dict(series="linearised flow + floor", knob=t, mean=v) for t, v in zip(times, predicted_curve)]
    for (name, fit), color in zip(fits.items(), (colors[0], colors[2])):
        model = fit["amplitudes"] @ np.exp(-np.outer(fit["rates"], times))
        fit_label = rf"{name}: two-exponential fit, rates {fit['rates'][0]:.2f}, {fit['rates'][1]:.2f}"
        axes[0].plot(times, model, ":", color=color, label=fit_label)
        decay_rows += [dict(series=fit_label, knob=t, mean=v) for t, v in zip(times, model)]
    axes[0].axhline(floor, color="0.5", ls="--", lw=1, label=r"stationary floor $F$")
    decay_rows.append(dict(series=r"stationary floor $F$", mean=floor))
    axes[0].set(
        yscale="log",
        xlabel=r"$t$",
        ylabel=r"$\|f_t - f_\infty\|^2$",
        title=rf"optimization term ($N_{{ref}} = {n_ref}$)",
    )
    axes[0].legend(fontsize=8, loc="upper right")
    bins = np.linspace(min(-0.5, rates.min()), 3.0, 50)
    modes_label = r"modes $2h_j$, weighted by their share of $\|Df\,\delta_0\|^2$"
    axes[1].hist(
        rates.ravel(), bins=bins, weights=weights.ravel() / replicas, color=colors[2], alpha=0.8, label=modes_label
    )
    rate_rows = []
    for (label, fit), color in zip(fits.items(), (colors[1], colors[2])):
        for rate in fit["rates"]:
            axes[1].axvline(rate, color=color, ls="--" if label == "measured" else ":", label=f"{label} fitted rate")
            rate_rows.append(dict(series=f"{label} fitted rate", knob=float(rate)))
    axes[1].set(
        xlabel=r"rate $2h_j$ of $\|\cdot\|^2$  ($h_j$ eigenvalues of $H$)",
        ylabel="share of the start's distance",
        title=r"spectrum of the linearised flow at $\theta_\infty$",
    )
    handles, labels = axes[1].get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    axes[1].legend(unique.values(), unique.keys(), fontsize=8, loc="center right")
    fig.tight_layout()
    return fig, decay_rows, rate_rows, bins, modes_label


def residual_by_degree(ax, excess, mass, colors, degrees_shown, lam, width=0.38):
    """Bars of the residual's excess over the head alone by Hermite degree (0 … ``degrees_shown`` − 1, then the
    rest) per tail (``excess``, ``mass``: tail → values per degree; ``colors``: tail → colour), with the tail's mass
    at each degree as a tick; returns the plotted rows."""
    rows = []
    for j, name in enumerate(excess):
        xs = np.arange(degrees_shown + 1) + (j - 0.5) * width
        bar_label, mass_label = f"{name}: residual excess over head alone", f"{name}: tail mass at that degree"
        ax.bar(xs, excess[name], width=width, color=colors[name], alpha=0.85, label=bar_label)
        ax.plot(xs, mass[name], "_", color="0.1" if j == 0 else "0.45", ms=13, mew=2.5, label=mass_label)
        rows += [dict(series=bar_label, degree=k, value=e) for k, e in enumerate(excess[name])]
        rows += [dict(series=mass_label, degree=k, value=m) for k, m in enumerate(mass[name])]
    ax.set_xticks(np.arange(degrees_shown + 1), [str(k) for k in range(degrees_shown)] + [f"≥{degrees_shown}"])
    ax.set(
        xlabel=r"Hermite degree $k$", ylabel=r"squared $L^2$ error", title=rf"residual by degree at $\lambda = {lam:g}$"
    )
    ax.legend(fontsize=8, loc="upper right")
    return rows


def decomposition_grid(ax, grid_means, components, labels, markers):
    """The components (offset side by side), sum, total and bound at each grid point (``grid_means``: one row per
    point, one column per quantity; ``labels``, ``markers``: quantity → legend label, marker), log scale; returns
    the plotted rows."""
    columns = list(grid_means.columns)
    colors, offsets, rows = (
        dict(zip(columns, palette(len(columns)))),
        dict(zip(components, (-0.24, -0.08, 0.08, 0.24))),
        [],
    )
    positions = np.arange(len(grid_means))
    for name in columns:
        ax.plot(
            positions + offsets.get(name, 0.0),
            grid_means[name],
            markers[name],
            color=colors[name],
            ms=18 if name == "total" else 7,
            mew=2.5 if name in ("total", "sum") else 1,
            label=labels[name],
            ls="none",
        )
        rows += [dict(series=labels[name], point=p.replace("\n", " "), value=v) for p, v in grid_means[name].items()]
    ax.set_yscale("log")
    ax.set_xticks(positions, grid_means.index, fontsize=10)
    ax.set(
        ylabel=r"squared $L^2$ error",
        xlim=(-0.6, len(positions) - 0.4),
        title=r"decomposition across $(n, N, t)$: replica means",
    )
    ax.legend(fontsize=10, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    return rows
