"""Figures of notebook 01 (w* and well-posedness): each function draws one figure from the data frame the notebook
saves next to it (the columns named in its docstring) and returns the figure. Series labels that are also column names
or legend entries are passed in, so the notebook's data files and the legends stay the same strings."""

import math

import matplotlib.pyplot as plt
import numpy as np


def w_star_closed_forms(root_table, variants, family_labels, colors, closed_label):
    """One log-log panel per variant: the root test's band [root_test_low, root_test_high] against the moment order k
    for each family of ``family_labels`` (its label), the closed-form w* (column ``closed_label``) dashed, and where
    the moments become infinite a note instead of the band."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, variant in zip(axes, variants):
        for color, family in zip(colors, family_labels):
            part = root_table[(root_table.variant == variant) & (root_table.family == family)]
            shown = part.root_test_high > 0
            ax.fill_between(
                part.k[shown],
                part.root_test_low[shown].clip(lower=1e-3),
                part.root_test_high[shown],
                color=color,
                alpha=0.35,
                lw=0,
            )
            ax.plot(part.k[shown], part.root_test_high[shown], color=color, label=family_labels[family])
            closed = part[closed_label].iloc[0]
            if 0 < closed < math.inf:
                ax.axhline(closed, color=color, ls="--", lw=1)
            if not shown.all():
                ax.annotate(
                    rf"$m_k = \infty$ from k = {part.k[~shown].min():d}: $w^* = 0$",
                    (0.03, 0.04),
                    xycoords="axes fraction",
                    color=color,
                    fontsize=9,
                )
        ax.plot([], [], color="gray", ls="--", lw=1, label=closed_label)
        ax.set(xscale="log", yscale="log", xlabel="moment order k", title=f"{variant}: root test $(m_k/k!)^{{-1/k}}$")
    axes[0].set_ylabel("$w^*_k$")
    axes[0].legend(title="$\\mu_0$", fontsize=9)
    fig.tight_layout()
    return fig


def w_star_estimator(summary, variants, family_labels, colors, labels, infinity_drawn):
    """One log-log panel per variant: the estimated w* (median with the q10–q90 bars) against the sample size n per
    family, its population value (×, column ``labels["population"]``) and the closed-form w* (dashed, column
    ``labels["closed"]``); infinite estimates are drawn on a dotted line at ``infinity_drawn`` (legend
    ``labels["infinity"]``). ``labels``: the keys closed, population, infinity."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
    for ax, variant in zip(axes, variants):
        for color, family in zip(colors, family_labels):
            part = summary[(summary.variant == variant) & (summary.family == family)]
            shown = part[["q10", "median", "q90"]].clip(upper=infinity_drawn)
            ax.errorbar(
                part.n,
                shown["median"],
                yerr=[shown["median"] - shown.q10, shown.q90 - shown["median"]],
                color=color,
                marker="o",
                capsize=3,
                label=family_labels[family],
            )
            ax.plot(
                part.n, part[labels["population"]].clip(upper=infinity_drawn), color=color, marker="x", ms=9, ls="none"
            )
            closed = part[labels["closed"]].iloc[0]
            if 0 < closed < math.inf:
                ax.axhline(closed, color=color, ls="--", lw=1)
        ax.set(xscale="log", yscale="log", xlabel="sample size n", title=f"{variant}: estimated w*")
    any_infinite = bool(np.isinf(summary[["q10", "median", "q90"]].to_numpy()).any())
    if any_infinite:  # an infinite estimate (fitted growth rate <= 0) is drawn on this line
        for ax in axes:
            ax.axhline(
                infinity_drawn, color="gray", lw=0.8, ls=":", label=labels["infinity"] if ax is axes[0] else None
            )
            ax.set_ylim(None, 3 * infinity_drawn)
    axes[0].plot([], [], color="gray", ls="--", lw=1, label=labels["closed"])
    axes[0].plot([], [], color="gray", marker="x", ms=9, ls="none", label=labels["population"] + ", sub-Gaussian only")
    axes[0].set_ylabel("estimated w* (median, 10–90 %)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=9)
    fig.tight_layout(rect=(0, 0.11, 1, 1))
    return fig


def moment_ratios(ratio_table, colors, sample_sizes):
    """One log-log panel per case: the inverse moment ratio against k + 1 per source (exact, samples), log n of each
    of ``sample_sizes`` dotted, the limit 2 dashed."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, case in zip(axes, ratio_table.case.unique()):
        for color, (source, part) in zip(colors, ratio_table[ratio_table.case == case].groupby("source", sort=False)):
            ax.plot(part.k + 1, part.inverse_ratio, marker=".", color=color, label=source)
        for color, n in zip(colors[1:], sample_sizes):
            ax.axvline(math.log(n), color=color, ls=":", lw=1)
        ax.axhline(2.0, color="k", ls="--", lw=1)
        ax.set(xscale="log", yscale="log", xlabel="k + 1 (dotted: log n)", title=case)
        ax.set_yticks([0.5, 1, 2, 4, 8], ["0.5", "1", "2", "4", "8"])
        ax.yaxis.set_minor_formatter(plt.NullFormatter())
        ax.legend(fontsize=9)
    axes[0].set_ylabel("$1/g_k = (k+1)\\, m_k / m_{k+1}$")
    fig.tight_layout()
    return fig


def w_star_flow(flow, panels, source_style, gibbs, gibbs_label, regime):
    """One panel per initialisation in ``panels``: w*(t) of the exact OU law (black), its population value (dashed,
    network panel only), the estimates of the sources in ``source_style`` (source: colour, marker, line) with their
    [low, high] bars, and the Gibbs value ``gibbs`` dotted; t = 0 drawn at 0.05. ``regime``: the title's λ, τ."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, panel in zip(axes, panels):
        part = flow[flow.panel == panel]
        exact = part[part.source == "OU exact"]
        ax.plot(exact.t.clip(lower=0.05), exact.w_star, color="k", label="OU exact")
        if panel == "network":  # for the isotropic law the population value is the exact curve itself
            population = part[part.source == "OU population value"]
            ax.plot(population.t.clip(lower=0.05), population.w_star, color="k", ls="--", label="OU population value")
        for source, sub in part[part.source.isin(list(source_style))].groupby("source", sort=False):
            color, marker, line = source_style[source]
            # The pooled estimate can fall outside the range of the group estimates; its bar then stops at it.
            ax.errorbar(
                sub.t.clip(lower=0.05),
                sub.w_star,
                yerr=[(sub.w_star - sub.low).clip(lower=0), (sub.high - sub.w_star).clip(lower=0)],
                marker=marker,
                ls=line,
                color=color,
                capsize=3,
                label=source,
                zorder=3,
            )
        ax.axhline(gibbs, color="gray", ls=":", label=gibbs_label)
        ax.set(xscale="log", xlabel="t (t = 0 drawn at 0.05)", title=f"{panel} initialisation, {regime}")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("w*(t)")
    fig.tight_layout()
    return fig


def phi_time_panel(ax, phi_time, styles, infinite_label, w, class_bound):
    """Φ_w(μ_t) at ``w`` against t: the exact OU curve (black), the other sources of ``phi_time`` (``styles``:
    source → colour, marker) with ±2 standard-error bars, none where column ``infinite_label`` is True; the times
    with infinite variance shaded."""
    exact = phi_time[phi_time.source == "OU exact"]
    if exact[infinite_label].astype(bool).any():  # shade up to the log-midpoint of the last such time and the next
        last_infinite = np.flatnonzero(exact[infinite_label].astype(bool).to_numpy())[-1]
        edges = exact.t.clip(lower=0.05).to_numpy()[last_infinite : last_infinite + 2]
        ax.axvspan(
            0.04,
            math.sqrt(edges.prod()) if len(edges) == 2 else edges[0],
            color="gray",
            alpha=0.15,
            lw=0,
            label=infinite_label,
        )
    for source, part in phi_time[phi_time.source != "OU exact"].groupby("source", sort=False):
        color, marker = styles[source]
        # No error bar where the summand's variance is infinite (OU particles in the shaded times).
        bars = np.where(part[infinite_label].eq(True), np.nan, 2 * part.se)
        ax.errorbar(
            part.t.clip(lower=0.05),
            part.phi,
            yerr=bars,
            color=color,
            marker=marker,
            capsize=2,
            mfc="none" if source == "OU particles" else color,
            ls={"OU particles": "none", "erf, data on": "-", "relu, data on": "--"}[source],
            label=source,
        )
    ax.plot(exact.t.clip(lower=0.05), exact.phi, color="k", lw=1.2, label="OU exact", zorder=4)
    ax.set(
        xscale="log",
        xlabel="t (t = 0 drawn at 0.05)",
        ylabel="$\\Phi_w(\\mu_t)$",
        ylim=(0, None),
        title=f"near the class boundary: w = {w} < {class_bound:g}",
    )
    ax.legend(fontsize=8)


def phi_growth_panel(ax, phi_growth, styles, w_in, w_out, block_sizes, prediction_label):
    """The block-averaged estimate over its value at the smallest block against the block size n at the final time,
    at ``w_in`` (dashed) and ``w_out`` (solid) per source, with the prediction's median (dotted) and band (rows of
    source "prediction": log_ratio, low, high)."""
    band = phi_growth[phi_growth.source == "prediction"]
    ax.fill_between(band.n, np.exp(band.low), np.exp(band.high), color="k", alpha=0.12, lw=0)
    ax.plot(band.n, np.exp(band.log_ratio), color="k", ls=":", label=prediction_label)
    for source, part in phi_growth[phi_growth.source != "prediction"].groupby("source", sort=False):
        color, marker = styles[source]
        for w, style in ((w_in, "--"), (w_out, "-")):
            sub = part[part.w == w]
            ax.plot(sub.n, np.exp(sub.log_ratio), ls=style, marker=marker, color=color, label=sub.series.iloc[0])
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="particles per block n",
        ylabel="block-averaged estimate / its value at n = 16",
        title="final time: inside vs outside the class",
    )
    ax.set_xticks(block_sizes, [str(n) for n in block_sizes])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.legend(fontsize=8)


def eta_panel(ax, eta_table, colors, eta_values, eta_fine, order_label, horizon):
    """RMS particle distance at T against η − η_fine per activation (mean, [low, high] bars, series label) with the
    first-order line (column ``order_label``, dashed)."""
    for color, (act, part) in zip(colors, eta_table.groupby("activation", sort=False)):
        ax.errorbar(
            part.eta - eta_fine,
            part.rms_distance,
            yerr=[part.rms_distance - part.low, part.high - part.rms_distance],
            marker="o",
            color=color,
            capsize=3,
            label=part.series.iloc[0],
        )
        ax.plot(part.eta - eta_fine, part[order_label], color=color, ls="--", lw=1)
    ax.plot([], [], color="gray", ls="--", lw=1, label=order_label)
    steps_shown = np.array(eta_values) - eta_fine
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="$\\eta - \\eta_{fine}$",
        ylabel="RMS particle distance at T",
        title=f"time step, τ = 0, T = {horizon}",
    )
    ax.set_xticks(steps_shown, [f"{x:.3g}" for x in steps_shown])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.legend(fontsize=9)


def references_panel(ax, ref_table, colors, n_max):
    """The function distance of each nested reference N_ref to the largest (N = ``n_max``) against t."""
    for color, (N, part) in zip(colors, ref_table.groupby("N_ref")):
        ax.plot(part.t.clip(lower=0.05), part.function_distance2, marker="o", color=color, label=f"$N_{{ref}}$ = {N}")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="t (t = 0 drawn at 0.05)",
        ylabel=f"$E(f_{{N_{{ref}}}} - f_{{{n_max}}})^2$",
        title="nested references agree (erf, strong)",
    )
    ax.legend(fontsize=9)
