import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from companion.pipeline.style import log_axis_with_ticks  # noqa: E402


def test_log_axis_with_ticks_widens_a_narrow_range_and_labels_one_two_five():
    fig, ax = plt.subplots()
    ax.plot([1, 2], [3.0, 4.0])
    ax.set_yscale("log")
    log_axis_with_ticks(ax)
    lo, hi = ax.get_ylim()
    assert hi / lo == pytest.approx(10.0)
    labels = [ax.yaxis.get_major_formatter()(v, 0) for v in (1.0, 2.0, 5.0)]
    assert labels == ["1", "2", "5"]
    plt.close(fig)


def test_log_axis_with_ticks_rejects_a_bad_axis_name():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="axis"):
        log_axis_with_ticks(ax, axis="z")
    plt.close(fig)
