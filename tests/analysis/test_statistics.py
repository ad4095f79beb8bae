"""Tests for companion.analysis.statistics: the replica bootstrap against its definition and the log–log fit."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.analysis.statistics import bootstrap, loglog_fit, loglog_slope, replica_log_slope, replica_loglog_fit


def test_bootstrap_is_the_percentile_interval_of_its_documented_resamples():
    values = np.random.default_rng(1).lognormal(size=(7, 3))
    estimate, lo, hi = bootstrap(values, lambda v: v.max(0), n_boot=50, level=0.5, seed=4)
    rng = np.random.default_rng(4)
    maxima = np.array([values[rng.integers(0, 7, 7)].max(0) for _ in range(50)])
    np.testing.assert_array_equal(estimate, values.max(0))
    np.testing.assert_array_equal(lo, np.percentile(maxima, 25, axis=0))
    np.testing.assert_array_equal(hi, np.percentile(maxima, 75, axis=0))


def test_bootstrap_of_two_replicas_by_hand():
    # resamples of (0, 1) have means 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4
    estimate, lo, hi = bootstrap(np.array([0.0, 1.0]), np.mean, n_boot=4000, level=0.4, seed=0)
    assert estimate == 0.5 and lo == hi == 0.5
    _, lo, hi = bootstrap(np.array([0.0, 1.0]), np.mean, n_boot=4000, level=0.9, seed=0)
    assert (lo, hi) == (0.0, 1.0)


def test_bootstrap_resamples_replicas_jointly_along_the_given_axis():
    # two identical columns stay identical in every resample, so their statistics' intervals coincide
    column = np.random.default_rng(2).standard_normal(9)
    values = np.stack([np.stack([column, column], -1)] * 2)  # (2, 9, 2): replicas on axis 1
    estimate, lo, hi = bootstrap(values, lambda v: v.mean(1)[0, 0] - v.mean(1)[1, 1], axis=1, seed=1)
    assert estimate == lo == hi == 0.0
    with pytest.raises(ValueError, match="values"):
        bootstrap(values[:, :1], np.mean, axis=1)
    with pytest.raises(ValueError, match="level"):
        bootstrap(column, np.mean, level=1.5)


@settings(max_examples=30, deadline=None)
@given(exponent=st.floats(-2, 2), constant=st.floats(0.01, 100))
def test_loglog_fit_recovers_power_laws(exponent, constant):
    x = np.array([16.0, 64.0, 256.0, 1024.0])
    slope, intercept = loglog_fit(x, constant * x**exponent)
    assert slope == pytest.approx(exponent, abs=1e-9) and intercept == pytest.approx(np.log(constant), abs=1e-9)
    assert loglog_slope(x, constant * x**exponent) == slope


@pytest.mark.parametrize(
    "x, y, parameter",
    [
        ([1.0, 1.0], [1.0, 2.0], "x"),
        ([1.0, 2.0], [1.0], "x"),
        ([1.0, 2.0], [0.0, 1.0], "y"),
        ([1.0, 2.0], [1.0, float("inf")], "y"),
        ([1.0, 2.0], [1.0, -1.0], "y"),
    ],
)
def test_loglog_fit_rejects_bad_input(x, y, parameter):
    with pytest.raises(ValueError, match=parameter):
        loglog_fit(x, y)


def test_replica_loglog_fit_brackets_the_slope_of_the_replica_mean():
    x = np.array([8.0, 16, 32, 64])
    values = 2 * x**-1.0 * np.exp(0.1 * np.random.default_rng(0).standard_normal((30, 4)))
    slope, lo, hi = replica_loglog_fit(x, values, seed=3)
    assert slope == loglog_slope(x, values.mean(0))
    assert lo < slope < hi and hi - lo < 0.2
    assert slope == pytest.approx(-1, abs=0.05)


def test_replica_log_slope_is_the_slope_of_the_mean_log_and_resists_one_heavy_replica():
    x = np.array([8.0, 16, 32, 64])
    values = 2 * x**-1.0 * np.random.default_rng(1).exponential(size=(40, 4))
    slope, lo, hi = replica_log_slope(x, values, seed=3)
    assert slope == pytest.approx(np.polyfit(np.log(x), np.log(values).mean(0), 1)[0])
    assert lo < slope < hi and slope == pytest.approx(-1, abs=0.15)
    values[0, -1] *= 1e4  # one replica carries almost all of the plain mean at the widest x
    assert abs(replica_log_slope(x, values, seed=3)[0] - slope) < 0.1
    assert abs(loglog_slope(x, values.mean(0)) - slope) > 1


def test_replica_log_slope_rejects_non_positive_values():
    with pytest.raises(ValueError, match="values"):
        replica_log_slope([1.0, 2.0], np.array([[1.0, 0.0], [1.0, 1.0]]))
