"""The figures of notebook 04 draw the values they are given and return the rows of the figure's data file."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from companion.pipeline import error_decomposition_plots as plots  # noqa: E402


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_chain_members_draws_the_target_dashed_and_returns_the_differences():
    s = np.linspace(-1, 1, 3)
    wide = pd.DataFrame({"a": s, "b": 2 * s, "target": 0 * s}, index=pd.Index(s, name="s"))
    fig, rows = plots.chain_members(wide, ["a - b", "b - target"], "members")
    left, right = fig.axes
    assert [line.get_linestyle() for line in left.lines] == ["-", "-", "--"]
    assert legend_texts(right) == ["a - b", "b - target"]
    assert [r["value"] for r in rows if r["member"] == "a - b"] == pytest.approx(list(-s))
    plt.close(fig)


def test_relaxation_returns_every_series_and_the_bins_it_drew():
    times = np.array([2.0, 4.0, 8.0])
    fit = dict(amplitudes=np.array([1.0, 0.5]), rates=np.array([0.5, 2.0]))
    rates, weights = np.array([[0.2, 1.0], [0.4, -0.1]]), np.array([[0.5, 0.5], [0.9, 0.1]])
    fig, decay, rate_rows, bins, label = plots.relaxation(
        times,
        (times, [1.0, 0.5, 0.2], [0.9, 0.4, 0.1], [1.1, 0.6, 0.3]),
        "measured",
        [1.0, 0.4, 0.2],
        dict(measured=fit, predicted=fit),
        0.01,
        rates,
        weights,
        2,
        64,
    )
    assert {r["series"] for r in decay} >= {"measured", "linearised flow + floor", r"stationary floor $F$"}
    assert [r["series"] for r in rate_rows] == ["measured fitted rate"] * 2 + ["predicted fitted rate"] * 2
    assert bins[0] == -0.5 and bins[-1] == 3.0 and len(bins) == 50
    heights = [patch.get_height() for patch in fig.axes[1].patches]
    assert sum(heights) == pytest.approx(weights.sum() / 2)
    assert len(set(legend_texts(fig.axes[1]))) == len(legend_texts(fig.axes[1]))  # one entry per label
    assert fig.axes[0].get_title() == r"optimization term ($N_{ref} = 64$)"
    plt.close(fig)


def test_residual_by_degree_labels_the_rest_of_the_degrees():
    fig, ax = plt.subplots()
    excess = {"odd tail": np.arange(4.0), "even tail": np.ones(4)}
    rows = plots.residual_by_degree(ax, excess, excess, {"odd tail": "C0", "even tail": "C1"}, 3, 0.01)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2", "≥3"]
    assert len(rows) == 2 * 2 * 4
    plt.close(fig)


def test_decomposition_grid_offsets_the_components():
    means = pd.DataFrame(dict(c1=[1.0, 2.0], c2=[1.0, 2.0], total=[3.0, 4.0]), index=["n=1\nN=2", "n=3\nN=4"])
    fig, ax = plt.subplots()
    rows = plots.decomposition_grid(
        ax, means, ("c1", "c2"), dict(c1="one", c2="two", total="all"), dict(c1="o", c2="s", total="_")
    )
    assert ax.lines[0].get_xdata().tolist() == pytest.approx([-0.24, 0.76])
    assert ax.lines[2].get_xdata().tolist() == [0, 1]
    assert rows[0] == dict(series="one", point="n=1 N=2", value=1.0)
    plt.close(fig)
