"""One plotting style for every figure: a seaborn theme with a palette that stays distinct for colour-blind
readers and in greyscale.

The palette is Paul Tol's *high-contrast* scheme (blue, yellow, red, black: distinct under protanopia,
deuteranopia and tritanopia, and four well separated grey levels), continued by four colours of his *bright*
scheme (cyan, green, purple, grey) for figures with more series. Figures with more than four series should also
differ by marker or line style. Reference: P. Tol, "Colour schemes", SRON/EPS/TN/09-002 (2021).
"""

import numpy as np
import seaborn as sns

PALETTE = ("#004488", "#DDAA33", "#BB5566", "#000000", "#66CCEE", "#228833", "#AA3377", "#BBBBBB")


def apply_style():
    """Set the companion's seaborn theme (whitegrid, :data:`PALETTE`, readable sizes, mathtext labels) for all
    later figures."""
    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette=list(PALETTE),
        rc={
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "axes.titleweight": "bold",
            "legend.frameon": False,
            "legend.fontsize": 9,
            "pdf.fonttype": 42,
            "mathtext.fontset": "dejavusans",
        },
    )


def palette(n_colors=None):
    """The first ``n_colors`` colours of :data:`PALETTE` as RGB tuples; ValueError past its 8 colours (use
    markers or line styles, or a sequential colormap, for more series); None means all of them."""
    n_colors = len(PALETTE) if n_colors is None else n_colors
    if not 1 <= n_colors <= len(PALETTE):
        raise ValueError(f"n_colors: expected 1 to {len(PALETTE)} distinct colours, got {n_colors}")
    return sns.color_palette(list(PALETTE[:n_colors]))


def grey_level(colour):
    r"""CIE lightness :math:`L^*` (0 black … 100 white) of a matplotlib colour: the grey it prints as.

    :math:`Y = 0.2126R + 0.7152G + 0.0722B` of the linearised sRGB channels, :math:`L^* = 116\,Y^{1/3} - 16`
    (:math:`903.3\,Y` below :math:`Y = 0.008856`)."""
    from matplotlib.colors import to_rgb

    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(colour)]
    y = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 116 * y ** (1 / 3) - 16 if y > 0.008856 else 903.3 * y


def log_axis(axis, ticks=None):
    """No minor tick labels on a log axis (``ax.xaxis`` or ``ax.yaxis``); major ticks with plain labels at
    ``ticks``, or at 1, 2, 5 × 10^k when ``ticks`` is "125" (an axis spanning less than a decade or two), else
    matplotlib's decades."""
    from matplotlib import ticker

    if ticks is not None:
        axis.set_major_locator(
            ticker.LogLocator(subs=(1.0, 2.0, 5.0)) if ticks == "125" else ticker.FixedLocator(ticks)
        )
        axis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def errorbar_rows(ax, x, mean, lo, hi, color, label, marker="o"):
    """Plot ``mean`` with the interval [lo, hi] at ``x`` as error bars; return the plotted rows (series, knob, mean,
    lo, hi) for the figure's data file."""
    mean, lo, hi = (np.asarray(v, dtype=float) for v in (mean, lo, hi))
    ax.errorbar(x, mean, yerr=[mean - lo, hi - mean], fmt=marker, color=color, capsize=3, label=label)
    return [dict(series=label, knob=float(v), mean=m, lo=a, hi=b) for v, m, a, b in zip(x, mean, lo, hi)]


def log_axis_with_ticks(ax, axis="y", min_ratio=10.0):
    """Make ``axis`` ("x" or "y") of ``ax`` logarithmic with a range of at least ``min_ratio`` (so every panel has
    several labelled ticks): labelled ticks at 1, 2, 5 × 10^k over up to 2.5 decades and at 10^k beyond, no minor
    labels. Call after plotting (it reads the current limits)."""
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if axis not in ("x", "y"):
        raise ValueError(f"axis: expected 'x' or 'y', got {axis!r}")
    lo, hi = ax.get_ylim() if axis == "y" else ax.get_xlim()
    if not 0 < lo < hi:
        raise ValueError(f"ax: a log axis needs positive limits, got ({lo}, {hi})")
    if hi / lo < min_ratio:
        centre, half = math.sqrt(lo * hi), math.sqrt(min_ratio)
        lo, hi = centre / half, centre * half
    (ax.set_ylim if axis == "y" else ax.set_xlim)(lo, hi)
    target = ax.yaxis if axis == "y" else ax.xaxis
    subs = (1.0, 2.0, 5.0) if hi / lo < 10**2.5 else (1.0,)
    target.set_major_locator(LogLocator(base=10, subs=subs))
    target.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    target.set_minor_locator(LogLocator(base=10, subs=tuple(float(k) for k in range(2, 10) if k not in subs)))
    target.set_minor_formatter(NullFormatter())
