"""The figures of notebook 02 draw from the values they are given and return the data saved next to them."""

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from companion.pipeline import identifiability_plots as plots  # noqa: E402

ACTS = ("relu", "tanh")
COLORS = {"relu": "C0", "tanh": "C1"}


def form(positions, weights):
    positions = torch.as_tensor(positions, dtype=torch.float64)
    weights = torch.as_tensor(weights, dtype=torch.float64)
    return SimpleNamespace(positions=positions, weights=weights, linear=torch.zeros(positions.shape[1]))


def test_tex_mantissa():
    assert plots.tex_mantissa(1.234e-7, 2) == "1.23 \\times 10^{-7}"
    assert plots.tex_mantissa(5.0, 1) == "5.0 \\times 10^{0}"


def test_symmetry_invariance_draws_one_column_per_activation_and_adds_epsilon():
    sym = pd.DataFrame(
        dict(activation=["relu", "relu", "tanh"], relative_l2=[0.0, 1e-17, 2e-16], canonical_distance=[1e-15, 0.0, 0.0])
    )
    fig, data = plots.symmetry_invariance(sym, ACTS, COLORS, 1e-18, lambda i: np.random.default_rng(i))
    left, right = fig.axes
    assert left.get_yscale() == "log" and left.get_ylim() == pytest.approx((1e-18 / 3, 1e-6))
    assert [len(c.get_offsets()) for c in left.collections] == [2, 1]
    assert data[plots.EPS_LABEL].eq(np.finfo(float).eps).all() and len(data) == 3
    plt.close(fig)


def test_distance_scatter_data_has_both_panels():
    pairs = pd.DataFrame(
        dict(
            activation="relu",
            kind=["symmetry", "perturbed"],
            canonical_relative=[0.0, 1e-3],
            l2_relative2=[1e-30, 1e-5],
        )
    )
    mc = pd.DataFrame(
        dict(activation=["relu", "tanh"], exact=[0.1, 0.2], monte_carlo=[0.11, 0.19], stderr=[0.01, 0.01])
    )
    fig, data = plots.distance_scatter(pairs, mc, ACTS[:1], ACTS, COLORS, 1e-18, 1000)
    assert data.panel.tolist() == ["pairs", "pairs", "monte_carlo", "monte_carlo"]
    assert fig.axes[1].get_ylabel() == "Monte Carlo, $n = 1000$ (±2 s.e.)"
    plt.close(fig)


def test_depth_table_colours_each_cell_and_labels_each_row():
    table = pd.DataFrame(
        dict(
            row=["relu S=2 d=2", "erf S=2 d=2"],
            D_var=[3.0, math_inf()],
            D_orb=[3.0, 4.0],
            separation=["none", "open"],
            certified=["certified (sphere) ...", "multi-start"],
        )
    )
    cells = pd.DataFrame(
        dict(
            row=["relu S=2 d=2"] * 3 + ["erf S=2 d=2"],
            D=[1, 2, 3, 1],
            status=["refuted", "refuted", "confirmed", "undecided"],
            converged=[1, 2, 3, 0],
            restarts=[4, 4, 4, 4],
        )
    )
    fig, data = plots.depth_table(table, cells)
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].endswith("✓ sphere certified") and labels[1].endswith("(gap open)")
    assert [t.get_text() for t in ax.texts] == ["1/4", "2/4", "3/4", "0/4"]
    assert len(data) == 4 and data[plots.DVAR_LABEL].tolist()[:3] == [3.0, 3.0, 3.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["refuted", "confirmed", "undecided", "$D^*_{var}$"]
    plt.close(fig)


def math_inf():
    return float("inf")


def test_separated_gelu_returns_moments_function_and_atoms():
    forms = [form([[0.5], [1.0]], [1.0, -0.5]), form([[0.7], [1.2]], [0.8, -0.3])]
    T1, T2 = torch.arange(1.0, 9.0, dtype=torch.float64), torch.arange(1.0, 9.0, dtype=torch.float64) * 1.01
    x = torch.linspace(-1, 1, 5, dtype=torch.float64)
    fig, data = plots.separated_gelu(forms, T1, T2, x, x, 2 * x, 1.5e-4)
    assert data.groupby("panel").size().to_dict() == {"atoms": 4, "function": 5, "moments": 8}
    assert fig.axes[2].get_title() == "different functions: $E(f_\\mu - f_{\\mu'})^2 = 1.50 \\times 10^{-4}$"
    plt.close(fig)


def test_pearson_compares_every_solution_with_the_first():
    five = torch.tensor([[0.3, -1.0, 1.0, 0.5, 0.8], [0.6, -0.5, 1.5, 0.7, 0.4]], dtype=torch.float64)
    z = torch.linspace(-3, 3, 7, dtype=torch.float64)
    moments = [torch.arange(1.0, 9.0, dtype=torch.float64), torch.arange(1.0, 9.0, dtype=torch.float64) * 2]
    fig, mom = plots.pearson(five, z, [torch.ones(7), 2 * torch.ones(7)], moments)
    later = mom[mom.solution == 1]
    assert later.relative_difference.tolist() == pytest.approx([1.0] * 8)
    assert set(later.comparison) == {"solution 1 vs 0"} and mom[mom.solution == 0].relative_difference.isna().all()
    assert fig.axes[0].get_ylim()[1] == pytest.approx(2.9)
    plt.close(fig)


def test_he6_figures():
    forms = [form([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0]], [1.0, -2.0]), form([[0.6, 0.0, 0.8]], [0.5])]
    u = torch.linspace(-1, 1, 5, dtype=torch.float64)
    Y, Z = torch.meshgrid(u, u, indexing="xy")
    fig, data = plots.he6_decompositions(forms, Y, Z, Y * Z, 3.2e-12)
    assert data.decomposition.tolist() == ["first decomposition"] * 2 + ["second decomposition"]
    assert fig.axes[0].get_title().endswith("relative $T_6$ gap $3.2 \\times 10^{-12}$")
    plt.close(fig)
    scan = pd.DataFrame(dict(instance=[0, 1], converged=[3, 4], outside=[0, 0]))
    fig, data = plots.he6_scan(scan)
    assert data is scan and len(fig.axes[0].patches) == 4
    plt.close(fig)
