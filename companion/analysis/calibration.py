r"""Calibrated uncertainty: do the stated intervals hold across independent batches, and one test over many times.

**Calibration study** (:func:`calibration_study`). The replicas (axis 0 of ``values``) are split into K contiguous
batches that share no random stream; every batch states its interval for a statistic (e.g. a bootstrap interval),
and the pooled estimate uses all replicas. A calibrated level-L interval covers the pooled estimate in a share of
the batches near :func:`expected_coverage` (the batch estimate is part of the pool: for a Gaussian statistic of
variance σ² per batch, :math:`\hat\theta_k - \hat\theta_{pool}` has variance :math:`\sigma^2(1 - 1/K)`, so a
calibrated interval covers with probability :math:`2\Phi(z_L/\sqrt{1 - 1/K}) - 1`, 0.92 for L = 0.9 and K = 8).
The count of covering batches is binomial: :func:`binomial_interval` (Clopper–Pearson) states its uncertainty and
:func:`binomial_p_value` tests it against the expected share. The spread of the K batch estimates against the
batches' own standard errors (half-width / :math:`z_L`) is a second, count-free reading of the same question.

**One test over many entries from independent batches** (:func:`batch_means_test`). K batches that share no
random stream each give an estimate vector :math:`\hat s_k \in \mathbb{R}^m` (e.g. one slope per recorded time);
with :math:`\bar s_j` their mean and :math:`se_j = sd_j/\sqrt K` (sd over the K batches), the test of
:math:`H_0: |s_j - s_0| \le \delta` for every j rejects when :math:`\max_j (|\bar s_j - s_0| - \delta)/se_j > q`,
q the :math:`1 - (1-L)/(2m)` quantile of Student's t with K − 1 degrees of freedom (Bonferroni). If the batch
vectors are i.i.d. Gaussian with *any* covariance, each :math:`T_j = (\bar s_j - s_j)/se_j` is :math:`t_{K-1}`,
so :math:`P(\max_j |T_j| > q) \le \sum_j P(|T_j| > q) = 1 - L`; inside :math:`H_0`,
:math:`|\bar s_j - s_0| - \delta \le |\bar s_j - s_j|`, so the false-alarm rate is at most 1 − L at every point of
:math:`H_0` whatever the correlation between entries — no bootstrap standard error enters, only the batches' own
spread (the bootstrap's at small R was too narrow with heavy tails: 25 % false alarms stated as 10 %). The bound is
near 1 − L for independent entries and conservative (down to (1 − L)/m) for strongly correlated ones; the
Gaussian premise is measured, not assumed: :func:`resampled_false_alarm_rate` runs the whole test on many
experiments drawn from the pooled replicas, whose truth is known.

**One test over many entries from R replicas with skewed tails** (:func:`studentized_max_test`). When each replica
is its own batch (R of order ten, heavy or skewed tails) the t quantile is too small far in the tail; the critical
value then comes from the bootstrap-t maximum, each resample studentised by its own standard error.

**Heavy tails.** :func:`median_of_means`: the median over G groups of replicas of the group means — an estimate of
the mean whose deviations have exponential tails under a finite variance alone (one replica carrying 20–50 % of a
mean moves one group mean, not the median).
"""

import math

import numpy as np
from scipy import stats

from ..engine.contract import Callable, Int, Real, ResamplingSeed, Tensor, validated

_LEVEL = Real(positive=True, below=1, example=(0.1, 0.99))


@validated(level=_LEVEL, K=Int(2))
def expected_coverage(level, K):
    r"""Share of K batches whose calibrated level-``level`` interval covers the pooled estimate (Gaussian statistic,
    batch included in the pool): :math:`2\Phi(z/\sqrt{1-1/K}) - 1`, :math:`z = \Phi^{-1}((1+L)/2)`."""
    z = stats.norm.ppf(0.5 + level / 2)
    return float(2 * stats.norm.cdf(z / math.sqrt(1 - 1 / K)) - 1)


def _at_most_trials(successes, trials):
    if successes > trials:
        raise ValueError(f"successes: need 0 <= successes <= trials = {trials}, got {successes}")


@validated(successes=Int(0), trials=Int(1), level=_LEVEL)
def binomial_interval(successes, trials, level=0.9):
    """Clopper–Pearson interval (lo, hi) for a binomial proportion: ``successes`` of ``trials``."""
    _at_most_trials(successes, trials)
    tail = (1 - level) / 2
    lo = 0.0 if successes == 0 else stats.beta.ppf(tail, successes, trials - successes + 1)
    hi = 1.0 if successes == trials else stats.beta.ppf(1 - tail, successes + 1, trials - successes)
    return float(lo), float(hi)


@validated(successes=Int(0), trials=Int(1), p=Real(nonnegative=True, at_most=1.0))
def binomial_p_value(successes, trials, p):
    """Two-sided exact binomial test of ``successes`` of ``trials`` against the proportion ``p`` in [0, 1]."""
    _at_most_trials(successes, trials)
    return float(stats.binomtest(successes, trials, p).pvalue)


@validated(values=Tensor(array=True), K=Int(2), axis=Int())
def split_batches(values, K, axis=0):
    """``values`` split along ``axis`` into K contiguous batches of equal size (the replicas must divide evenly)."""
    if not -values.ndim <= axis < values.ndim:
        raise ValueError(f"axis: need an axis of values (ndim {values.ndim}), got {axis}")
    R = values.shape[axis]
    if R % K or R // K < 2:
        raise ValueError(f"K: {R} replicas do not split into {K} batches of at least 2 equal ones")
    return np.split(values, K, axis=axis)


def _mean_interval(sample):
    """The replica mean ± 2 standard errors (the fuzzing battery's interval)."""
    mean, se = sample.mean(0), sample.std(0, ddof=1) / np.sqrt(len(sample))
    return mean, mean - 2 * se, mean + 2 * se


def _replica_mean(sample):
    """The replica means (the fuzzing battery's statistic)."""
    return sample.mean(0)


def _rejects(sample):
    """Whether the replica mean of the first entry exceeds 1 (the fuzzing battery's test)."""
    return bool(np.ravel(sample.mean(0))[0] > 1)


@validated(values=Tensor(array=True), interval=Callable(_mean_interval), K=Int(2), level=_LEVEL, axis=Int())
def calibration_study(values, interval, K, level=0.9, axis=0):
    """Coverage of a stated interval over K independent batches of replicas.

    ``interval(sample)`` maps replicas (along ``axis``) to (estimate, lo, hi), arrays of one shape S (e.g. one per
    recorded time) — the interval the notebook states, computed on one batch exactly as on the pool. Returns a dict:
    ``pooled`` (estimate, lo, hi) of all replicas; ``estimates``, ``lo``, ``hi`` (K, *S) of the batches;
    ``covered`` (K, *S) whether batch k's interval holds the pooled estimate; ``coverage`` (*S) the share per entry;
    ``spread_ratio`` (*S) the standard deviation of the K batch estimates over the batches' mean standard error
    (half-width / z, ≈ 1 when the interval's width is right); and the summary over every entry of S together:
    ``covered_total``, ``trials``, ``share``, ``share_lo``, ``share_hi`` (Clopper–Pearson at ``level``),
    ``expected`` (:func:`expected_coverage`) and ``p_value`` (:func:`binomial_p_value` against it — the entries of
    S share batches, so read it as indicative when S has more than one entry)."""
    batches = split_batches(values, K, axis)
    pooled = tuple(np.asarray(x, dtype=np.float64) for x in interval(np.asarray(values, dtype=np.float64)))
    per_batch = [tuple(np.asarray(x, dtype=np.float64) for x in interval(batch)) for batch in batches]
    estimates, lo, hi = (np.stack([b[i] for b in per_batch]) for i in range(3))
    covered = (lo <= pooled[0]) & (pooled[0] <= hi)
    z = stats.norm.ppf(0.5 + level / 2)
    spread_ratio = estimates.std(0, ddof=1) / ((hi - lo) / (2 * z)).mean(0)
    total, trials = int(covered.sum()), covered.size
    share_lo, share_hi = binomial_interval(total, trials, level)
    expected = expected_coverage(level, K)
    return dict(
        pooled=pooled,
        estimates=estimates,
        lo=lo,
        hi=hi,
        covered=covered,
        coverage=covered.mean(0),
        spread_ratio=spread_ratio,
        covered_total=total,
        trials=trials,
        share=total / trials,
        share_lo=share_lo,
        share_hi=share_hi,
        expected=expected,
        p_value=binomial_p_value(total, trials, expected),
        K=int(K),
        level=level,
    )


@validated(values=Tensor(array=True), groups=Int(1), axis=Int())
def median_of_means(values, groups, axis=0):
    """Median over ``groups`` contiguous groups of replicas (along ``axis``) of the group means (shape of one
    replica)."""
    if not -values.ndim <= axis < values.ndim:
        raise ValueError(f"axis: need an axis of values (ndim {values.ndim}), got {axis}")
    R = values.shape[axis]
    if groups > R:
        raise ValueError(f"groups: need an integer in [1, {R}], got {groups!r}")
    means = [part.mean(axis) for part in np.array_split(values, groups, axis=axis)]
    return np.median(np.stack(means), axis=0)


_BATCH_ESTIMATES = Tensor("1+K m", array=True)  # K >= 2 batches (rows) of m estimates


@validated(estimates=_BATCH_ESTIMATES, null=Tensor(array=True), tolerance=Real(nonnegative=True), level=_LEVEL)
def batch_means_test(estimates, null, tolerance=0.0, level=0.9):
    r"""Test of :math:`H_0: |s_j - s_0| \le \delta` for every entry j at once from K independent batches:
    ``estimates`` (K, m), row k batch k's estimate of the m entries; ``null`` s_0 a number or (m,); ``tolerance`` δ.

    Statistic :math:`\max_j (|\bar s_j - s_0| - \delta)/se_j` with :math:`\bar s_j` the batch mean and
    :math:`se_j = sd_j/\sqrt K`; critical value q the :math:`1 - (1 - L)/(2m)` quantile of :math:`t_{K-1}`
    (Bonferroni over the m entries). False-alarm rate at most 1 − ``level`` at every point of :math:`H_0` when the
    batch rows are i.i.d. Gaussian, whatever their covariance (module docstring). Returns dict(statistic, critical,
    reject, worst, mean, se, lo, hi): reject = statistic > q, worst the index of the maximum, and the simultaneous
    band :math:`\bar s_j \pm q\,se_j` (coverage at least ``level``)."""
    K, m = estimates.shape
    if null.ndim > 1 or null.size not in (1, m):
        raise ValueError(f"null: need a number or ({m},) values, got shape {null.shape}")
    mean, se = estimates.mean(0), estimates.std(0, ddof=1) / math.sqrt(K)
    if not np.all(se > 0):
        raise ValueError("estimates: every entry needs a positive spread over the batches")
    critical = float(stats.t.ppf(1 - (1 - level) / (2 * m), K - 1))
    z = (np.abs(mean - null) - tolerance) / se
    statistic = float(z.max())
    return dict(
        statistic=statistic,
        critical=critical,
        reject=statistic > critical,
        worst=int(np.argmax(z)),
        mean=mean,
        se=se,
        lo=mean - critical * se,
        hi=mean + critical * se,
    )


@validated(values=Tensor(array=True), statistic=Callable(_replica_mean), K=Int(2), axis=Int())
def batch_estimates(values, statistic, K, axis=0):
    """The statistic on each of K contiguous equal batches of replicas along ``axis`` (a batch may be one replica):
    an array (K, m), m the statistic's entries — the input of :func:`batch_means_test`."""
    if not -values.ndim <= axis < values.ndim:
        raise ValueError(f"axis: need an axis of values (ndim {values.ndim}), got {axis}")
    if values.shape[axis] % K:
        raise ValueError(f"K: {values.shape[axis]} replicas do not split into K = {K} >= 2 equal batches")
    return np.stack(
        [np.atleast_1d(np.asarray(statistic(batch), dtype=np.float64)) for batch in np.split(values, K, axis=axis)]
    )


@validated(
    values=Tensor(array=True),
    reject=Callable(_rejects),
    experiments=Int(1, example_max=20),
    level=_LEVEL,
    seed=ResamplingSeed(),
    axis=Int(),
)
def resampled_false_alarm_rate(values, reject, experiments=400, level=0.9, seed=0, axis=0):
    r"""Measured false-alarm rate of a test in experiments whose truth is known.

    Each experiment draws all n replicas (along ``axis``) with replacement from ``values``; ``reject(sample)`` runs
    the whole test on it against the truth of that resampled world (the statistic of all of ``values``: its replicas
    follow their empirical law) and says whether it rejects. The experiments keep the claim's own number of replicas,
    tails and correlations between entries, so the share rejected measures the test's false-alarm rate without
    assuming Gaussian estimates. Resampling ties replicas, so with few replicas (tens, each its own batch) the
    resampled world has heavier tails than the real one and the rate is overestimated; with batches of many replicas
    it matches (tests/analysis/test_calibration.py). Returns dict(rejections, trials, rate, rate_lo, rate_hi,
    nominal) with the Clopper–Pearson interval at ``level`` and nominal 1 − ``level``."""
    if not -values.ndim <= axis < values.ndim:
        raise ValueError(f"axis: need an axis of values (ndim {values.ndim}), got {axis}")
    rng = np.random.default_rng(seed)
    n = values.shape[axis]
    rejections = int(sum(bool(reject(np.take(values, rng.integers(0, n, n), axis=axis))) for _ in range(experiments)))
    lo, hi = binomial_interval(rejections, experiments, level)
    return dict(
        rejections=rejections,
        trials=experiments,
        rate=rejections / experiments,
        rate_lo=lo,
        rate_hi=hi,
        nominal=1 - level,
    )


@validated(
    values=Tensor("1+R m", array=True),
    null=Tensor(array=True),
    level=_LEVEL,
    n_boot=Int(10),
    seed=ResamplingSeed(),
    memory=lambda a: (16 * a["n_boot"] * a["values"].size, "n_boot"),
)
def studentized_max_test(values, null, level=0.9, n_boot=2000, seed=0):
    r"""Test of :math:`H_0: \mu_j = s_{0j}` for every column j at once, ``values`` (R, m) R i.i.d. replicas (rows)
    of m entries whose means are :math:`\mu_j`; ``null`` s_0 a number or (m,).

    Statistic :math:`\max_j |\bar x_j - s_{0j}|/se_j`, :math:`se_j = sd_j/\sqrt R`; critical value q the
    ``level``-quantile of the studentised bootstrap maximum :math:`M^*_b = \max_j |\bar x^*_{bj} - \bar x_j|/se^*_{bj}`
    over ``n_boot`` resamples of rows, each studentised by its *own* standard error (bootstrap-t). :math:`M^*` mimics
    the law of :math:`\max_j |\bar x_j - \mu_j|/se_j` with the replicas' skewness and the correlation between
    columns (for one column the bootstrap-t is second-order accurate, where the normal or t quantile is first-order
    only), so the family-wise false-alarm rate is ≈ 1 − ``level``: an approximation, measured on planted data in
    tests/analysis/test_calibration.py (R = 16, 12 correlated columns: 13.5 % for skewed log-normal replicas, 1 % for
    symmetric ones, where :func:`batch_means_test` with one replica a batch gave 25 % on the skewed ones). A resample with
    :math:`se^*_{bj} = 0` counts as an exceedance. Returns dict(statistic, critical, reject, worst, mean, se)."""
    R, m = values.shape
    if null.ndim > 1 or null.size not in (1, m):
        raise ValueError(f"null: need a number or ({m},) values, got shape {null.shape}")
    mean, se = values.mean(0), values.std(0, ddof=1) / math.sqrt(R)
    if not np.all(se > 0):
        raise ValueError("values: every column needs a positive spread over the replicas")
    resampled = values[np.random.default_rng(seed).integers(0, R, (n_boot, R))]
    spread = resampled.std(1, ddof=1) / math.sqrt(R)
    with np.errstate(divide="ignore", invalid="ignore"):
        maxima = np.where(spread > 0, np.abs(resampled.mean(1) - mean) / spread, np.inf).max(1)
    critical = float(np.quantile(maxima, level))
    z = np.abs(mean - null) / se
    return dict(
        statistic=float(z.max()),
        critical=critical,
        reject=bool(z.max() > critical),
        worst=int(np.argmax(z)),
        mean=mean,
        se=se,
    )
