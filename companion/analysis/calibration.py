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

**Simultaneous test over times** (:func:`max_band`, :func:`simultaneous_test`). For estimates
:math:`\hat s(t_j)` with bootstrap replicates :math:`s^*_b(t_j)` (one resample of replicas for all times, so their
correlation is kept), with :math:`se_j` the replicates' standard deviation, the max-statistic
:math:`M^*_b = \max_j |s^*_b(t_j) - \hat s(t_j)|/se_j` has level-L quantile q, and
:math:`\hat s(t_j) \pm q\,se_j` is a simultaneous band: it holds at every t at once with probability ≈ L. The test of
:math:`H_0: |s(t_j) - s_0| \le \delta` for every j rejects when :math:`\max_j (|\hat s(t_j) - s_0| - \delta)/se_j > q`:
its false-alarm rate is ≈ 1 − L when some :math:`|s(t_j) - s_0| = \delta` and at most that inside (δ = 0: exactly the
band test). :func:`false_alarm_rate` measures it over independent batches (each batch tested against the pooled
estimate), with its binomial interval.

**Heavy tails.** :func:`median_of_means`: the median over G groups of replicas of the group means — an estimate of
the mean whose deviations have exponential tails under a finite variance alone (one replica carrying 20–50 % of a
mean moves one group mean, not the median).
"""

import math

import numpy as np
from scipy import stats

from ..engine.contract import Callable, Int, Maybe, Real, Tensor, validated
from .statistics import bootstrap_draws

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


_ESTIMATE = Tensor("m", array=True)
_DRAWS = Tensor("9+B m", array=True)  # B + 9 >= 10 bootstrap replicates of the m estimates


@validated(estimate=_ESTIMATE, draws=_DRAWS, level=_LEVEL)
def max_band(estimate, draws, level=0.9):
    r"""Simultaneous band from bootstrap replicates: ``estimate`` (m,), ``draws`` (B, m) with B >= 10 →
    dict(lo, hi, se, critical): :math:`\hat s_j \pm q\,se_j`, q the level-quantile of
    :math:`\max_j |s^*_{bj} - \hat s_j|/se_j`."""
    se = draws.std(0, ddof=1)
    if not np.all(se > 0):
        raise ValueError("draws: every entry needs a positive bootstrap standard error")
    critical = float(np.quantile(np.max(np.abs(draws - estimate) / se, axis=1), level))
    return dict(lo=estimate - critical * se, hi=estimate + critical * se, se=se, critical=critical)


@validated(estimate=_ESTIMATE, draws=_DRAWS, null=Tensor(array=True), tolerance=Real(nonnegative=True), level=_LEVEL)
def simultaneous_test(estimate, draws, null, tolerance=0.0, level=0.9):
    r"""Test of :math:`H_0: |s_j - s_0| \le \delta` for every j at once (``null`` s_0 a number or (m,), ``tolerance``
    δ ≥ 0), false-alarm rate ≈ 1 − ``level`` at the boundary of H_0 and at most that inside it.

    Returns dict(statistic, critical, reject, worst, lo, hi): statistic
    :math:`\max_j (|\hat s_j - s_0| - \delta)/se_j`, the band's critical value q (:func:`max_band`), reject =
    statistic > q, worst the index j of the maximum, and the simultaneous band (lo, hi)."""
    if null.ndim > 1 or null.size not in (1, estimate.size):
        raise ValueError(f"null: need a number or ({estimate.size},) values, got shape {null.shape}")
    band = max_band(estimate, draws, level)
    z = (np.abs(estimate - null) - tolerance) / band["se"]
    statistic = float(z.max())
    return dict(
        statistic=statistic,
        critical=band["critical"],
        reject=statistic > band["critical"],
        worst=int(np.argmax(z)),
        lo=band["lo"],
        hi=band["hi"],
    )


def _replica_mean(sample):
    """The replica means (the fuzzing battery's statistic)."""
    return sample.mean(0)


@validated(
    values=Tensor(array=True),
    statistic=Callable(_replica_mean),
    K=Int(2),
    null=Maybe(Tensor(array=True)),
    tolerance=Real(nonnegative=True),
    level=_LEVEL,
    n_boot=Int(10, example_max=20),  # max_band needs >= 10 replicates
    seed=Int(0, 2**32 - 1),
    axis=Int(),
    memory=lambda a: (
        8 * a["n_boot"] * (a["values"].shape[a["axis"]] if -a["values"].ndim <= a["axis"] < a["values"].ndim else 1),
        "n_boot",
    ),
)
def false_alarm_rate(values, statistic, K, null=None, tolerance=0.0, level=0.9, n_boot=500, seed=0, axis=0):
    """Measured false-alarm rate of :func:`simultaneous_test` over K independent batches of replicas.

    ``statistic(sample)`` maps replicas (along ``axis``) to the m estimates; each batch is bootstrapped
    (:func:`companion.analysis.statistics.bootstrap_draws`, ``n_boot`` resamples, seed ``seed + k``) and tested against
    ``null`` (default: the pooled estimate of all replicas, the best stand-in for the truth; the batch's share of the
    pool makes this slightly conservative). Returns dict(rejections, K, rate, rate_lo, rate_hi, nominal, tests) with
    the Clopper–Pearson interval at ``level`` and each batch's test."""
    batches = split_batches(values, K, axis)
    null = statistic(np.asarray(values, dtype=np.float64)) if null is None else null
    tests = []
    for k, batch in enumerate(batches):
        value, draws = bootstrap_draws(batch, statistic, axis=axis, n_boot=n_boot, seed=seed + k)
        tests.append(simultaneous_test(value, draws, null, tolerance, level))
    rejections = sum(test["reject"] for test in tests)
    lo, hi = binomial_interval(rejections, int(K), level)
    return dict(
        rejections=rejections, K=int(K), rate=rejections / K, rate_lo=lo, rate_hi=hi, nominal=1 - level, tests=tests
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
