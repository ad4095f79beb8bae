import numpy as np
import pytest
from scipy import stats

from companion.analysis import calibration, coupling


def test_expected_coverage_and_binomial_interval():
    assert calibration.expected_coverage(0.9, 8) == pytest.approx(0.9214, abs=1e-3)
    assert calibration.expected_coverage(0.9, 10**6) == pytest.approx(0.9, abs=1e-4)
    lo, hi = calibration.binomial_interval(7, 8, 0.9)
    assert lo == pytest.approx(0.5293, abs=1e-3) and hi == pytest.approx(0.9936, abs=1e-3)
    assert calibration.binomial_interval(8, 8)[1] == 1.0 and calibration.binomial_interval(0, 8)[0] == 0.0
    assert calibration.binomial_p_value(9, 10, 0.9) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="successes"):
        calibration.binomial_interval(9, 8)
    with pytest.raises(ValueError, match="K"):
        calibration.split_batches(np.zeros(10), 4)


def _mean_interval(sample, level=0.9):
    """Normal-theory interval of the mean over axis 0."""
    mean, se = sample.mean(0), sample.std(0, ddof=1) / np.sqrt(sample.shape[0])
    return mean, mean - 1.6449 * se, mean + 1.6449 * se


def test_calibrated_interval_covers_the_pool_at_the_expected_rate_and_a_narrow_one_does_not():
    rng = np.random.default_rng(0)
    values = rng.standard_normal((40 * 50, 5))
    study = calibration.calibration_study(values, _mean_interval, K=40)
    assert study["trials"] == 200 and abs(study["share"] - study["expected"]) < 0.06
    assert study["p_value"] > 0.01 and study["share_lo"] <= study["expected"] <= study["share_hi"]
    np.testing.assert_allclose(study["spread_ratio"], 1, atol=0.35)

    def narrow(sample):
        mean, lo, hi = _mean_interval(sample)
        return mean, mean - (mean - lo) / 3, mean + (hi - mean) / 3

    bad = calibration.calibration_study(values, narrow, K=40)
    assert bad["share"] < 0.6 and bad["p_value"] < 1e-6 and np.all(bad["spread_ratio"] > 2)


def _autoregressive(rng, shape, rho):
    """Standard normal noise, AR(1) with correlation ``rho`` along axis 0 (the recorded times)."""
    z = np.empty(shape)
    z[0] = rng.standard_normal(shape[1:])
    for t in range(1, shape[0]):
        z[t] = rho * z[t - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(shape[1:])
    return z


def _planted_errors(rng, replicas, N, T=11, sigma=0.6, rho=0.9):
    """Replica errors (T, replicas, len(N)) = A(t)/N · log-normal noise, correlated over t (AR(1)) and over N (a
    shared factor): the noise has the same law at every N, so E log(replica mean) shifts by the same amount at every
    N and the expected slope of any batch is exactly −1 at every t, whatever the batch size."""
    noise = 0.8 * _autoregressive(rng, (T, replicas, 1), rho) + 0.6 * _autoregressive(rng, (T, replicas, N.size), rho)
    return np.linspace(1, 3, T)[:, None, None] * np.exp(sigma * noise) / N


@pytest.mark.parametrize("sigma", [0.6, 1.0])
def test_batch_means_rate_test_keeps_its_stated_false_alarm_rate_under_a_true_null(sigma):
    """300 experiments of K = 8 batches of R = 48 replicas, 11 recorded times whose per-time slopes are correlated
    (≈ 0.9 between neighbours) and log-normal replica tails (σ = 0.6, 1.0; one replica can carry a fifth of a mean):
    testing the true −1 with δ = 0 rejects at most 10 % of the time (measured ≈ 0.06: Bonferroni over correlated
    times is conservative; binomial s.d. 0.017 at 300 trials). The same test with the bootstrap's max-statistic
    rejected 25 % of true nulls at this batch size in notebook 01b."""
    rng = np.random.default_rng(0)
    N = np.array([8.0, 16, 32])
    statistic = coupling.rate_statistic(N)
    rejections = sum(
        calibration.batch_means_test(
            calibration.batch_estimates(_planted_errors(rng, 8 * 48, N, sigma=sigma), statistic, 8, axis=1),
            np.array(-1.0),
        )["reject"]
        for _ in range(300)
    )
    assert 0.01 <= rejections / 300 <= 0.12


def test_batch_means_test_is_exact_for_one_entry_and_has_power():
    """m = 1, Gaussian batches: the t-test's false-alarm rate is the stated 10 % (2000 trials, s.d. 0.007); a slope
    0.3 away from the null with batch s.d. 0.05 is rejected always; a bias within the tolerance is not."""
    rng = np.random.default_rng(1)
    rate = np.mean(
        [calibration.batch_means_test(rng.standard_normal((8, 1)), np.array(0.0))["reject"] for _ in range(2000)]
    )
    assert 0.08 <= rate <= 0.12
    noise = 0.05 * rng.standard_normal((8, 10))
    near = calibration.batch_means_test(-1.05 + noise, np.array(-1.0), tolerance=0.1)
    far = calibration.batch_means_test(-1.3 + noise, np.array(-1.0), tolerance=0.1)
    assert not near["reject"] and far["reject"] and far["critical"] == pytest.approx(stats.t.ppf(1 - 0.1 / 20, 7))
    assert np.all(far["lo"] < far["mean"]) and np.all(far["mean"] < far["hi"])
    with pytest.raises(ValueError, match="null"):
        calibration.batch_means_test(noise, np.zeros(3))
    with pytest.raises(ValueError, match="estimates"):
        calibration.batch_means_test(np.ones((8, 3)), np.array(1.0))


def test_resampled_false_alarm_rate_matches_the_rate_under_the_planted_truth():
    """On one planted data set (K = 8, R = 48) the experiments resampled from the pooled replicas, each tested
    against the pool's slopes (their known truth), reject at a rate that matches the rate measured above against the
    planted −1 (≈ 0.06, at most 10 %), with a Clopper–Pearson interval."""
    N = np.array([8.0, 16, 32])
    errors = _planted_errors(np.random.default_rng(3), 8 * 48, N)
    statistic = coupling.rate_statistic(N)
    truth = statistic(errors)

    def reject(sample):
        return calibration.batch_means_test(calibration.batch_estimates(sample, statistic, 8, axis=1), truth)["reject"]

    alarm = calibration.resampled_false_alarm_rate(errors, reject, experiments=300, axis=1)
    assert alarm["trials"] == 300 and alarm["nominal"] == pytest.approx(0.1)
    assert 0.01 <= alarm["rate"] <= 0.12 and alarm["rate_lo"] <= alarm["rate"] <= alarm["rate_hi"]
    with pytest.raises(ValueError, match="K"):
        calibration.batch_estimates(errors, statistic, 7, axis=1)


def _held_out_differences(rng, R, m, skewed):
    """R replicas of m held-out differences with mean 0, correlated across points through a shared factor:
    log-normal errors minus their mean (skewed) or the difference of two such errors (symmetric)."""
    shared = rng.standard_normal((R, 1))
    error = lambda: np.exp(0.8 * (0.8 * shared + 0.6 * rng.standard_normal((R, m))))
    return error() - np.exp(0.32) if skewed else error() - error()


@pytest.mark.parametrize("skewed, most", [(True, 0.17), (False, 0.06)])
def test_studentized_max_test_keeps_its_family_wise_rate_where_a_bonferroni_t_test_does_not(skewed, most):
    """Notebook 04's held-out test: R = 16 replicas of 12 correlated differences with true mean 0. The bootstrap-t
    maximum rejects ≈ 10 % of 400 experiments (measured 0.135 with skewed log-normal replicas, σ = 0.8, binomial
    s.d. 0.017; 0.01 with symmetric ones); the Bonferroni t test of the same skewed data, whose t quantile ignores
    the skewness far in the tail, rejects 0.25."""
    rng = np.random.default_rng(4)
    samples = [_held_out_differences(rng, 16, 12, skewed) for _ in range(400)]
    rate = np.mean(
        [
            calibration.studentized_max_test(d, np.array(0.0), n_boot=500, seed=i)["reject"]
            for i, d in enumerate(samples)
        ]
    )
    assert rate <= most and (rate >= 0.05 if skewed else True)
    if skewed:
        assert np.mean([calibration.batch_means_test(d, np.array(0.0))["reject"] for d in samples]) > 0.2
    with pytest.raises(ValueError, match="null"):
        calibration.studentized_max_test(samples[0], np.zeros(3))


def test_median_of_means_ignores_one_heavy_replica():
    values = np.ones((64, 2))
    values[3] = 1000.0
    np.testing.assert_allclose(calibration.median_of_means(values, 8), [1.0, 1.0])
    assert values.mean(0)[0] > 10
    with pytest.raises(ValueError, match="groups"):
        calibration.median_of_means(values, 65)
