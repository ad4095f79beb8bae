"""The figures of notebook 03: the projection of clouds onto the plot plane, and each figure's series and data."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from companion.pipeline import sparse_dictionary_plots as plots  # noqa: E402


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_plane_basis_is_orthonormal_and_orthogonal_to_n():
    n, e1, e2 = plots.plane_basis(np.array([1.0, 2.0, 2.0]))
    basis = np.stack([n, e1, e2])
    assert basis @ basis.T == pytest.approx(np.eye(3))
    assert n == pytest.approx(np.array([1.0, 2.0, 2.0]) / 3) and e1[2] == 0.0


def test_snapshot_indices_pick_the_nearest_recorded_times():
    times = np.array([0.0, 0.5, 1.9, 5.0, 18.0, 100.0])
    assert plots.snapshot_indices(times) == [0, 2, 4, 5]
    assert plots.snapshot_indices(np.array([0.0, 1.0])) == [0, 1]


def test_view_keeps_the_plane_in_two_dimensions_and_flips_directions_towards_n_in_three():
    cloud = np.array([[1.0, 0.3, -0.4], [-2.0, 1.0, 0.0]])
    U = np.array([[1.0, 0.0]])
    x, y, a, marks = plots.view(cloud, U, 2)
    assert x.tolist() == [0.3, 1.0] and y.tolist() == [-0.4, 0.0] and a.tolist() == [1.0, -2.0]
    assert marks.tolist() == [[1.0, 0.0], [-1.0, 0.0]]
    n = np.ones(3) / np.sqrt(3)
    cloud3 = np.array([[1.0, *(-2 * n)], [0.5, 0.0, 0.0, 3.0]])
    x, y, a, marks = plots.view(cloud3, np.array([[0.0, 0.0, -1.0]]), 3)
    assert a.tolist() == [-1.0, 0.5]  # the first particle points away from n: flipped, its weight with it
    assert [x[0], y[0]] == pytest.approx([0.0, 0.0], abs=1e-12)  # ±n projects to the centre
    _, e1, e2 = plots.plane_basis(np.ones(3))
    assert marks[0] == pytest.approx([e1[2], e2[2]])  # −e_3 flipped to +e_3, then projected


def test_targets_hermite_skips_tiny_norms_and_unset_thresholds():
    families = {"a": ["t1"], "b": ["t2"], "c": ["t3"]}
    tensor = pd.DataFrame(dict(target=["t1", "t1", "t2", "t3"], k=[0, 1, 0, 0], norm=[1.0, 1e-16, 0.5, 0.2]))
    bound = pd.DataFrame(
        dict(target=["t1", "t1", "t2", "t3"], eps=[0.1, 0.5, 0.1, 0.1], K=[2, -1, 1, 0], S_star=[3, 0, 2, 1])
    )
    fig = plots.targets_hermite(tensor, bound, families)
    axes = np.array(fig.axes[:9]).reshape(3, 3)
    assert len(axes[0, 0].lines[0].get_xdata()) == 1 and legend_texts(axes[0, 0]) == ["t1"]
    assert axes[0, 1].lines[0].get_xdata().tolist() == [0.1]
    assert axes[2, 0].get_title() == "Hermite tensors: c"
    plt.close(fig)


def test_snapshots_and_animation_rows():
    times = np.array([0.0, 2.0, 20.0, 50.0])
    rng = np.random.default_rng(0)
    shown = [
        (2, times, rng.normal(size=(4, 1, 5, 3)), np.array([[1.0, 0.0]])),
        (3, times, rng.normal(size=(4, 1, 5, 4)), np.eye(3)[:2]),
    ]
    fig, data = plots.directions_snapshots(shown, {2: 2.4, 3: 1.1})
    assert (data.series == "particles").sum() == 2 * 4 * 5
    assert (data.series == "teacher directions").sum() == 4 * 2 + 4 * 2
    plt.close(fig)
    animation, fig, frames = plots.cloud_animation(shown, {2: 2.4, 3: 1.1})
    assert len(frames) == 2 * 4 * 5 and sorted(frames.frame.unique()) == [0, 1, 2, 3]
    animation._func(2)  # draw frame 2: titles follow the frame's time
    assert fig.axes[0].get_title() == "$d=2$, $t=20.0$"
    plt.close(fig)


def test_atom_counts_mark_the_broken_temperature():
    rows = [dict(panel="t", target="teacher M=2", x=t, replica=0, count=c) for t, c in ((0.0, 5), (1.0, 2))]
    rows += [dict(panel="tau", target="teacher M=2", x=tau, replica=0, count=2) for tau in (1e-4, 6.4e-3)]
    rows += [dict(panel="N", target="teacher M=2", x=n, replica=0, count=2) for n in (16, 32)]
    fig = plots.atom_counts(pd.DataFrame(rows), {"teacher M=2": 2}, 0.4, 6.4e-3, [16, 32])
    assert legend_texts(fig.axes[1]) == ["largest τ, not fitted", "teacher M = 2"]
    assert fig.axes[0].lines[0].get_xdata().tolist() == [0.2, 1.0]  # t = 0 drawn at η/2
    plt.close(fig)


def test_count_vs_bound_rows_follow_the_given_order():
    summary = pd.DataFrame(dict(target=["t2", "t1"], replica=0, ratio=[0.5, 0.2], relaxed_ratio=[0.4, 0.1]))
    angles = pd.DataFrame(dict(M=[1], replica=[0], measured=[0.1], predicted=[0.1], noise=[0.01]))
    fig, data = plots.count_vs_bound(summary, angles, ["t1", "t2"], {"f": ["t2", "t1"]}, 1, 0.02)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["t1", "t2"]
    assert fig.axes[0].lines[0].get_ydata().tolist() == [1 - 0.06, 0 - 0.06]
    assert data.series.tolist()[:5] == ["f, final cloud"] * 2 + ["f, relaxed at τ = 0"] * 2 + ["bound: count = S*"]
    plt.close(fig)


def test_angle_vs_lambda_data_has_every_series():
    lam_angles = pd.DataFrame(
        dict(
            lam=[0.01, 0.02],
            replica=[0, 1],
            measured=[0.1, 0.2],
            predicted=[0.1, 0.21],
            noise=[0.01, 0.01],
            z=[0.0, 1.0],
        )
    )
    fig, data = plots.angle_vs_lambda(lam_angles, np.array([0.005, 0.05]), [0.05, 0.3], [0.01, 0.02])
    assert data.series.value_counts().to_dict()["predicted, masses 1/2"] == 2
    assert legend_texts(fig.axes[1]) == ["measured − predicted, in noise units", "claim window ±3"]
    plt.close(fig)
