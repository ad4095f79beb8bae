r"""Statistics over replicas: the percentile bootstrap and the least-squares log–log fit with its interval.

Replicas are independent runs stacked along one axis. Runs that share replicas (coupled systems, several times of
one run) are resampled jointly: one draw of replica indices per resample serves every other axis.

- :func:`bootstrap`: a statistic T of the replicas and its percentile interval, the (50(1 − level),
  50(1 + level)) percentiles of T over ``n_boot`` resamples of the R replicas with replacement;
- :func:`bootstrap_draws`: T and its bootstrap replicates themselves (for simultaneous bands,
  :mod:`.calibration`);
- :func:`loglog_fit`: least squares of :math:`\log y = c + p\log x`, i.e. :math:`y \approx e^c x^p`;
- :func:`replica_loglog_fit`: p for the replica mean :math:`\bar y(x)`, with its bootstrap interval.
"""

import numpy as np

from ..engine.contract import Callable, Int, Real, Reals, ResamplingSeed, Tensor, validated

_RESAMPLE = dict(n_boot=Int(1, example_max=50), level=Real(positive=True, below=1), seed=ResamplingSeed())


def _mean(sample):
    """The replica mean (the fuzzing battery's statistic)."""
    return sample.mean(0)


@validated(
    values=Tensor(array=True),
    statistic=Callable(_mean),
    axis=Int(),
    **_RESAMPLE,
    memory=lambda args: (
        8
        * args["n_boot"]
        * (args["values"].shape[args["axis"]] if -args["values"].ndim <= args["axis"] < args["values"].ndim else 1),
        "n_boot",
    ),
)
def bootstrap(values, statistic, *, axis=0, n_boot=2000, level=0.9, seed=0):
    """Percentile bootstrap over the replicas along ``axis`` of ``values``: (T(values), lo, hi), where ``statistic``
    T maps an array of the same shape to a number or an array and lo, hi are percentiles of T over the resamples
    (resample b takes the replicas ``rng.integers(0, R, R)`` of ``numpy.random.default_rng(seed)``, b = 1..n_boot)."""
    value, boot = bootstrap_draws(values, statistic, axis=axis, n_boot=n_boot, seed=seed)
    tail = 50 * (1 - level)
    return value, np.percentile(boot, tail, axis=0), np.percentile(boot, 100 - tail, axis=0)


@validated(
    values=Tensor(array=True), statistic=Callable(_mean), axis=Int(), n_boot=_RESAMPLE["n_boot"], seed=_RESAMPLE["seed"]
)
def bootstrap_draws(values, statistic, *, axis=0, n_boot=2000, seed=0):
    """T(values) and its ``n_boot`` bootstrap replicates (n_boot, *T.shape), the resamples of :func:`bootstrap`."""
    if not -values.ndim <= axis < values.ndim:
        raise ValueError(f"axis: need an axis of values (ndim {values.ndim}), got {axis}")
    if values.shape[axis] < 2:
        raise ValueError(f"values: need at least 2 replicas along axis {axis}, got shape {values.shape}")
    R = values.shape[axis]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, R, size=(n_boot, R))
    return statistic(values), np.array([statistic(np.take(values, i, axis=axis)) for i in idx])


@validated(x=Reals(positive=True, dim="T"), y=Reals(positive=True, dim="T"))
def loglog_fit(x, y):
    """Least-squares line through (log x, log y): (slope, intercept), y ≈ exp(intercept)·x^slope (positive finite
    x and y of equal length; at least two distinct x)."""
    if len(np.unique(x)) < 2:
        raise ValueError(f"x: need at least two distinct values, got {x.tolist()[:8]}")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(intercept)


@validated(x=Reals(positive=True, dim="T"), y=Reals(positive=True, dim="T"))
def loglog_slope(x, y):
    """The slope of :func:`loglog_fit`."""
    return loglog_fit(x, y)[0]


@validated(x=Reals(positive=True, dim="T"), values=Tensor("R T", array=True, nonnegative=True), **_RESAMPLE)
def replica_loglog_fit(x, values, n_boot=2000, level=0.9, seed=0):
    r"""Log–log slope of the replica mean :math:`\bar y(x)` of ``values`` (R, len(x)) against x, with the percentile
    bootstrap interval over replicas (jointly over x: the runs at different x share replicas).
    Returns (slope, lo, hi) as floats."""
    slope, lo, hi = bootstrap(
        values, lambda sample: loglog_slope(x, sample.mean(0)), n_boot=n_boot, level=level, seed=seed
    )
    return slope, float(lo), float(hi)


@validated(x=Reals(positive=True, dim="T"), values=Tensor("R T", array=True, positive=True), **_RESAMPLE)
def replica_log_slope(x, values, n_boot=2000, level=0.9, seed=0):
    r"""Log–log slope of the replica mean of :math:`\log y` (the log of the geometric mean) of ``values``
    (R, len(x)) against :math:`\log x`, with the percentile bootstrap interval over replicas (jointly over x).

    On the log scale one heavy-tailed replica cannot carry the mean. If :math:`y_r(x) = m(x)\,Z_r(x)` with the law of
    :math:`Z_r` the same at every x, the slope estimates that of m(x), as :func:`replica_loglog_fit` does for the
    plain mean. Returns (slope, lo, hi) as floats."""
    log_x = np.log(x)
    if np.unique(log_x).size < 2:
        raise ValueError(f"x: need at least two distinct values, got {x.tolist()}")
    slope, lo, hi = bootstrap(
        np.log(values),
        lambda sample: float(np.polyfit(log_x, sample.mean(0), 1)[0]),
        n_boot=n_boot,
        level=level,
        seed=seed,
    )
    return float(slope), float(lo), float(hi)
