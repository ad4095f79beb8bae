"""Figures of notebook 02 (identifiability modulo the realization symmetry): each function draws one figure from
values the notebook computed and returns ``(fig, data)``, the figure and the data frame saved next to it. No
computation of the analysis happens here; the notebook passes canonical forms, moments and functions in.

A canonical form (``symmetry.canonicalize``) is read through its ``positions`` (atoms × d), ``weights`` and
``linear`` attributes only.
"""

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap

from .style import PALETTE, palette

EPS_LABEL = "float64 ε"
DVAR_LABEL = "$D^*_{var}$"
CUBIC_LABEL = "apolar cubic $C$ of $T_6$"
STATUS_CODE = {"refuted": 0, "confirmed": 1, "undecided": 2}
STATUS_COLORS = [PALETTE[7], PALETTE[4], PALETTE[1]]  # grey, cyan, yellow: black text stays readable


def tex_mantissa(value, digits):
    r"""``value`` as the mathtext ``m \times 10^{e}`` with ``digits`` decimals in the mantissa."""
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    return f"{mantissa} \\times 10^{{{int(exponent)}}}"


def symmetry_invariance(sym, activations, colors, floor, jitter_rng):
    """Two log panels, one column of jittered points per activation: the exact squared relative L² distance
    (``relative_l2``) and the matched canonical distance (``canonical_distance``) of ``sym``'s rows, zeros drawn at
    ``floor``, float64's ε dashed. ``jitter_rng(i)`` is the NumPy generator of activation ``i``'s horizontal jitter
    (uniform in ±0.15)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=False)
    titles = [r"$E(f_\mu - f_{\mu'})^2 / E f_\mu^2$ (exact)", "matched distance of canonical forms"]
    for ax, column, title in zip(axes, ["relative_l2", "canonical_distance"], titles):
        for i, name in enumerate(activations):
            values = np.maximum(sym.loc[sym.activation == name, column].to_numpy(), floor)
            jitter = jitter_rng(i).uniform(-0.15, 0.15, values.size)
            ax.scatter(i + jitter, values, s=18, color=colors[name])
        ax.axhline(np.finfo(float).eps, color="grey", ls="--", lw=1, label=EPS_LABEL)
        ax.set_yscale("log")
        ax.set_ylim(floor / 3, 1e-6)
        ax.set_xticks(range(len(activations)), activations)
        ax.set_title(title)
    axes[0].set_ylabel(f"value (zeros drawn at {floor:g})")
    axes[0].legend(loc="upper left")
    fig.tight_layout()
    return fig, sym.assign(**{EPS_LABEL: np.finfo(float).eps})


def distance_scatter(pairs, mc, pair_activations, activations, colors, floor, mc_samples):
    """Left: canonical against exact L² distance of symmetry pairs (×) and perturbed pairs (o) for
    ``pair_activations``; right: the exact squared distance of random pairs against its Monte Carlo estimate (±2
    standard errors, ``mc_samples`` inputs) for ``activations``, with the diagonal."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax = axes[0]
    for name in pair_activations:
        part = pairs[pairs.activation == name]
        for kind, marker in [("perturbed", "o"), ("symmetry", "x")]:
            sub = part[part.kind == kind]
            ax.scatter(
                np.maximum(sub.canonical_relative, floor),
                np.maximum(sub.l2_relative2, floor),
                marker=marker,
                s=22,
                color=colors[name],
                label=f"{name} ({kind})" if kind == "perturbed" else None,
            )
    ax.scatter([], [], marker="x", color="grey", label="symmetry pairs")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"canonical distance / $\Sigma_j |a_j|$")
    ax.set_ylabel(r"$E(f_\mu - f_{\mu'})^2 / E f_\mu^2$ (exact)")
    ax.set_title(f"zero together (zeros drawn at {floor:g})")
    ax.legend(fontsize=8)
    ax = axes[1]
    for name in activations:
        part = mc[mc.activation == name]
        ax.errorbar(part.exact, part.monte_carlo, yerr=2 * part.stderr, fmt="o", ms=4, color=colors[name], label=name)
    lim = [mc.exact.min() * 0.8, mc.exact.max() * 1.2]
    ax.plot(lim, lim, color="grey", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"exact $E(f_\mu - f_{\mu'})^2$")
    ax.set_ylabel(f"Monte Carlo, $n = {mc_samples}$ (±2 s.e.)")
    ax.set_title("exact distance against sampling")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, pd.concat([pairs.assign(panel="pairs"), mc.assign(panel="monte_carlo")])


def depth_table(table, cells):
    """The fibre search's status per row and depth (``cells``: row, D, status, converged, restarts) as coloured
    cells with converged/total restarts, a black bar left of each row's ``D_var`` and row labels with both depths,
    the separation mark and the sphere certificate (``table``: row, D_var, D_orb, separation, certified)."""
    labels = list(table.row)
    D_top = int(cells.D.max())
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(labels) + 1.6))
    grid = np.full((len(labels), D_top), np.nan)
    for cell in cells.itertuples():
        grid[labels.index(cell.row), cell.D - 1] = STATUS_CODE[cell.status]
    ax.imshow(grid, cmap=ListedColormap(STATUS_COLORS), vmin=-0.5, vmax=2.5, aspect="auto")
    for cell in cells.itertuples():
        ax.text(
            cell.D - 1,
            labels.index(cell.row),
            f"{cell.converged}/{cell.restarts}",
            ha="center",
            va="center",
            fontsize=7,
        )
    for i, row in enumerate(table.itertuples()):
        if math.isfinite(row.D_var) and row.D_var <= D_top:
            ax.plot(row.D_var - 1.45, i, marker="|", color="black", ms=16, mew=2.5)
    ax.set_xticks(range(D_top), [str(D) for D in range(1, D_top + 1)])
    mark = {"strict": "  ★ separated", "open": "  (gap open)", "none": ""}
    ax.set_yticks(
        range(len(labels)),
        [
            f"{r.row}  ($D^*_{{var}}$={r.D_var:g}, $D^*_{{orb}}$={r.D_orb:g})"
            f"{mark[r.separation]}"
            f"{'  ✓ sphere certified' if r.certified.startswith('certified (') else ''}"
            for r in table.itertuples()
        ],
        fontsize=8,
    )
    ax.set_xlabel(r"depth $D$ (cell: converged restarts / restarts; bar left of a cell: $D^*_{var}$)")
    ax.grid(False)
    for code, color in zip(STATUS_CODE, STATUS_COLORS):
        if (cells.status == code).any():  # a legend entry only for a status the table shows
            ax.scatter([], [], marker="s", color=color, label=code)
    ax.plot([], [], marker="|", ls="none", color="black", ms=12, mew=2.5, label=DVAR_LABEL)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("fibre search status per depth")
    fig.tight_layout()
    data = cells.merge(table, on="row", suffixes=("", "_row")).assign(**{DVAR_LABEL: lambda f: f["D_var"]})
    return fig, data


def separated_gelu(forms, T1, T2, x, f1, f2, l2_gap):
    """Three panels for two real preimages ``forms`` (canonical forms of μ and μ' in d = 1): their atoms, the
    moments ``T1``, ``T2`` (one number per order k) and their gap, and ``f1 - f2`` on ``x`` with the exact squared
    distance ``l2_gap`` in the title. Tensors are torch CPU tensors."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    ax = axes[0]
    atom_labels = [
        f"{name}: linear part {float(form.linear[0]):+.3f}"
        for form, name in zip(forms, [r"$\mu$", r"$\mu'$ (second preimage)"])
    ]
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
    ax.set_title(f"different functions: $E(f_\\mu - f_{{\\mu'}})^2 = {tex_mantissa(l2_gap, 2)}$")
    fig.tight_layout()
    data = pd.concat(
        [
            pd.DataFrame(
                {
                    "panel": "moments",
                    "k": ks,
                    "T_mu": T1.numpy(),
                    "T_mu2": T2.numpy(),
                    **{label: v.numpy() for label, v in zip(moment_labels, moment_values)},
                }
            ),
            pd.DataFrame(dict(panel="function", x=x.numpy(), f_mu=f1.numpy(), f_mu2=f2.numpy())),
            pd.concat(
                [
                    pd.DataFrame(
                        dict(panel="atoms", series=label, w=form.positions[:, 0].numpy(), a=form.weights.numpy())
                    )
                    for form, label in zip(forms, atom_labels)
                ]
            ),
        ]
    )
    return fig, data


def pearson(five, z, densities, moments):
    """Left: the densities (``densities[k]`` on ``z``) of the admissible mixtures ``five`` (rows p, m_1, m_2, s_1,
    s_2) that share five moments; right: the relative difference of each one's raw moments ``moments[k]`` (orders 1,
    2, …) from solution 0's. The data are the moments with their differences."""
    rows = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for k, (row, density, moment) in enumerate(zip(five, densities, moments)):
        label = "$p = {:.3f}$, $m = ({:.2f}, {:.2f})$, $s = ({:.2f}, {:.2f})$".format(*row.tolist())
        axes[0].plot(z, density, lw=2, ls=["-", "--", ":"][k % 3], color=palette(3)[k % 3], label=label)
        rows.append(
            pd.DataFrame(dict(solution=k, order=np.arange(1, len(moment) + 1), moment=moment.numpy(), series=label))
        )
    axes[0].set_xlabel("$x$")
    axes[0].set_title(r"two mixtures with the same $m_1, \ldots, m_5$")
    axes[0].set_ylim(top=1.45 * float(max(density.max() for density in densities)))  # room for the legend
    axes[0].legend(fontsize=8, loc="upper right")
    mom = pd.concat(rows)
    base = mom[mom.solution == 0].moment.to_numpy()
    mom["relative_difference"] = np.nan
    mom["comparison"] = ""
    for k in range(1, len(five)):
        other = mom[mom.solution == k].moment.to_numpy()
        gap = np.maximum(np.abs(other - base) / np.abs(base), 1e-18)
        mom.loc[mom.solution == k, "relative_difference"] = gap
        mom.loc[mom.solution == k, "comparison"] = f"solution {k} vs 0"
        axes[1].semilogy(np.arange(1, len(base) + 1), gap, "o-", color=palette(3)[k % 3], label=f"solution {k} vs 0")
    axes[1].axvline(5.5, color="grey", ls="--", lw=1)
    axes[1].set_xlabel("moment order $k$")
    axes[1].set_ylabel("relative difference of $m_k$")
    axes[1].set_title("the sixth moment separates them")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig, mom


def he6_decompositions(forms, Y, Z, values, T6_gap):
    """Two nine-atom decompositions ``forms`` (canonical, unit directions in d = 3) seen from e_1 on the unit disc
    (marker size ∝ |weight|), with the zero set of the apolar cubic (``values`` on the grid ``Y``, ``Z``: NaN outside
    the disc) and the relative T_6 gap ``T6_gap`` in the title."""
    fig, ax = plt.subplots(figsize=(7.6, 5.2))
    ax.contour(Y.numpy(), Z.numpy(), values.numpy(), levels=[0.0], colors="grey", linewidths=1.2)
    ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="black", lw=0.8))
    for k, (form, name, marker) in enumerate(zip(forms, ["first", "second"], ["o", "x"])):
        P = form.positions
        ax.scatter(
            P[:, 1],
            P[:, 2],
            s=40 + 40 * form.weights.abs() / form.weights.abs().max(),
            marker=marker,
            color=palette(2)[k],
            label=f"{name} decomposition",
            zorder=3,
            linewidths=2,
        )
    ax.plot([], [], color="grey", label=CUBIC_LABEL)
    ax.set_aspect("equal")
    ax.set_xticks([-1, -0.5, 0, 0.5, 1])
    ax.set_yticks([-1, -0.5, 0, 0.5, 1])
    ax.set_xlabel(r"$\hat w_2$ (hemisphere $\hat w_1 > 0$, seen from $e_1$)")
    ax.set_ylabel(r"$\hat w_3$")
    ax.set_title(f"$He_6$, $d = 3$: two real 9-atom decompositions\nrelative $T_6$ gap ${tex_mantissa(T6_gap, 1)}$")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # outside: the atoms fill the disc
    fig.tight_layout()
    data = pd.concat(
        [
            pd.DataFrame(
                dict(
                    decomposition=f"{name} decomposition",
                    weight=f.weights.numpy(),
                    w1=f.positions[:, 0].numpy(),
                    w2=f.positions[:, 1].numpy(),
                    w3=f.positions[:, 2].numpy(),
                    on_curve=CUBIC_LABEL,
                )
            )
            for name, f in zip(["first", "second"], forms)
        ]
    )
    return fig, data


def he6_scan(scan):
    """Converged restarts and restarts outside μ's orbit per scanned measure (``scan``: instance, converged,
    outside), the figure shown when the scan found no real second decomposition; the data are ``scan``."""
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    ax.bar(scan.instance - 0.2, scan.converged, width=0.4, color=palette(2)[0], label="converged restarts")
    ax.bar(scan.instance + 0.2, scan.outside, width=0.4, color=palette(2)[1], label="outside μ's orbit")
    ax.set_xticks(scan.instance)
    ax.set_xlabel("scanned measure")
    ax.set_title("$He_6$, $d = 3$: the restricted search found no real second decomposition")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, scan
