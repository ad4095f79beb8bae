"""The figures of notebook 01 draw the series of the frames they are given, under the labels they are given."""

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from companion.pipeline import well_posedness_plots as plots  # noqa: E402

COLORS = ["C0", "C1", "C2", "C3"]
VARIANTS = ("subgaussian", "subexponential")


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_w_star_closed_forms_notes_infinite_moments_and_dashes_finite_closed_forms():
    k = np.arange(1, 6)
    rows = [
        dict(
            variant=v, family=f, k=kk, root_test_low=1.0, root_test_high=0.0 if (f == "t" and kk > 3) else 2.0, closed=c
        )
        for v in VARIANTS
        for f, c in (("g", 2.0), ("t", 0.0))
        for kk in k
    ]
    fig = plots.w_star_closed_forms(pd.DataFrame(rows), VARIANTS, {"g": "Gaussian", "t": "Student-t"}, COLORS, "closed")
    ax = fig.axes[0]
    assert legend_texts(ax) == ["Gaussian", "Student-t", "closed"]
    assert [t.get_text() for t in ax.texts] == [r"$m_k = \infty$ from k = 4: $w^* = 0$"]
    assert [line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == "--" and len(line.get_ydata())] == [2.0]
    plt.close(fig)


def test_w_star_estimator_draws_infinite_estimates_on_their_line():
    summary = pd.DataFrame(
        dict(
            variant=[v for v in VARIANTS for _ in range(2)],
            family="g",
            n=[10, 100] * 2,
            q10=[1.0, 1.5] * 2,
            median=[2.0, math.inf] * 2,
            q90=[3.0, math.inf] * 2,
            pop=[2.0, 2.0] * 2,
            closed=[2.0] * 4,
        )
    )
    labels = dict(closed="closed", population="pop", infinity="∞ drawn")
    fig = plots.w_star_estimator(summary, VARIANTS, {"g": "Gaussian"}, COLORS, labels, 1e4)
    assert fig.axes[0].get_ylim()[1] == pytest.approx(3e4)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert sorted(texts) == sorted(["Gaussian", "∞ drawn", "closed", "pop, sub-Gaussian only"])
    plt.close(fig)


def test_moment_ratios_marks_log_n():
    table = pd.DataFrame(
        dict(case=["a"] * 3 + ["b"] * 3, source="exact", k=[0.0, 1.0, 2.0] * 2, inverse_ratio=[1.0, 2.0, 3.0] * 2)
    )
    fig = plots.moment_ratios(table, COLORS, (100, 10000))
    xs = sorted(line.get_xdata()[0] for line in fig.axes[0].lines if line.get_linestyle() == ":")
    assert xs == pytest.approx([math.log(100), math.log(10000)])
    plt.close(fig)


def test_w_star_flow_shows_the_population_value_only_for_the_network_panel():
    rows = [
        dict(panel=p, source=s, t=t, w_star=1.0, low=0.5, high=1.5)
        for p in ("isotropic", "network")
        for s in ("OU exact", "OU population value", "OU estimate")
        for t in (0.0, 1.0)
    ]
    fig = plots.w_star_flow(
        pd.DataFrame(rows),
        ("isotropic", "network"),
        {"OU estimate": ("C0", "o", "none")},
        5.0,
        "Gibbs",
        regime="λ = 0.5, τ = 0.05",
    )
    assert legend_texts(fig.axes[0]) == ["OU exact", "Gibbs", "OU estimate"]
    assert legend_texts(fig.axes[1]) == ["OU exact", "OU population value", "Gibbs", "OU estimate"]
    assert fig.axes[1].get_title() == "network initialisation, λ = 0.5, τ = 0.05"
    plt.close(fig)


def test_phi_panels():
    styles = {"OU particles": ("C0", "o"), "erf, data on": ("C1", "s")}
    phi_time = pd.DataFrame(
        dict(
            source=["OU exact", "OU exact", "OU particles", "OU particles", "erf, data on"],
            t=[0.0, 1.0, 0.0, 1.0, 0.0],
            phi=[1.0, 1.1, 1.2, 1.1, 1.0],
            se=[0, 0, 0.1, 0.1, 0.1],
            inf=[True, False, True, False, None],
        )
    )
    growth = pd.DataFrame(
        dict(
            source=["prediction"] * 2 + ["OU particles"] * 4,
            n=[16, 32] * 3,
            w=[10.0, 10.0, 0.4, 0.4, 10.0, 10.0],
            series=["p", "p", "a", "a", "b", "b"],
            log_ratio=[0.0, 0.5, 0.0, 0.0, 0.0, 0.6],
            low=[0.0, 0.1] + [np.nan] * 4,
            high=[0.0, 0.9] + [np.nan] * 4,
        )
    )
    fig, axes = plt.subplots(1, 2)
    plots.phi_time_panel(axes[0], phi_time, styles, "inf", 0.4, 0.5)
    plots.phi_growth_panel(axes[1], growth, styles, 0.4, 10.0, [16, 32], "prediction label")
    assert legend_texts(axes[0])[0] == "inf" and axes[0].get_title() == "near the class boundary: w = 0.4 < 0.5"
    assert legend_texts(axes[1]) == ["prediction label", "a", "b"]
    assert [t.get_text() for t in axes[1].get_xticklabels()] == ["16", "32"]
    plt.close(fig)


def test_eta_and_reference_panels():
    eta = pd.DataFrame(
        dict(
            activation="erf",
            eta=[0.2, 0.1],
            rms_distance=[2.0, 1.0],
            low=[1.5, 0.8],
            high=[2.5, 1.2],
            series="erf: slope 1.00",
            order=[2.0, 1.0],
        )
    )
    ref = pd.DataFrame(dict(N_ref=[32, 32, 64, 64], t=[0.0, 1.0] * 2, function_distance2=[1e-2, 2e-2, 5e-3, 1e-2]))
    fig, axes = plt.subplots(1, 2)
    plots.eta_panel(axes[0], eta, COLORS, [0.2, 0.1], 0.0125, "order", 2.0)
    plots.references_panel(axes[1], ref, COLORS, 128)
    assert legend_texts(axes[0]) == ["order", "erf: slope 1.00"]
    assert axes[0].get_title() == "time step, τ = 0, T = 2.0"
    assert legend_texts(axes[1]) == ["$N_{ref}$ = 32", "$N_{ref}$ = 64"]
    assert axes[1].get_ylabel() == "$E(f_{N_{ref}} - f_{128})^2$"
    plt.close(fig)
