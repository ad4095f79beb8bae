r"""Moment sequences of initial laws, the maximal admissible weight w*, and the weighted moment functional Φ_w.

Operational definition (the paper's own is not public). For a law μ of θ ∈ R^D and a power p ∈ {2, 1} take
:math:`m_k = \int |\theta|^{pk}\, d\mu` and :math:`\sum_k w^k m_k / k! = \int e^{w|\theta|^p} d\mu =: \Phi_w(\mu)`.
The weighted class is :math:`M_w = \{\mu : \Phi_w(\mu) < \infty\}` and

.. math:: w^*(\mu) = \sup\{w : \mu \in M_w\} = 1 \big/ \limsup_k (m_k / k!)^{1/k}

(Cauchy–Hadamard). p = 2 is the sub-Gaussian class ("subgaussian"), p = 1 the sub-exponential one
("subexponential"). Families follow :func:`companion.engine.init.init_particles`: θ_j = s_j ξ_j with per-coordinate scales
s = (a_scale, scale, ..., scale) and ξ Gaussian, Laplace(0, 1), Student-t(df) (i.i.d. coordinates) or uniform on
the unit ball of R^D.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, logsumexp

from ..engine import init
from ..engine.contract import Anything, Choice, Int, Ints, Maybe, Real, Reals, Tensor, validated
from ..engine.validation import choice, float_array, integer_array

# The initial laws of init.FAMILIES with a moment sequence here: every one but "atomic" (a cloud of given atoms).
FAMILIES = tuple(family for family in init.FAMILIES if family != "atomic")
VARIANTS = {"subgaussian": 2, "subexponential": 1}


def _power(variant):
    return VARIANTS[choice("variant", variant, tuple(VARIANTS))]


@validated(d=Int(1), scale=Real(positive=True), a_scale=Real(positive=True), memory=lambda args: (8 * args["d"], "d"))
def init_scales(d, scale=1.0, a_scale=1.0):
    """Per-coordinate scales (a_scale, scale, ..., scale) of :func:`companion.engine.init.init_particles` in R^{1+d}."""
    return np.concatenate([[a_scale], np.full(d, scale)])


def log_abs_moment_1d(family, q, df=3.0):
    r""":math:`\log E|\xi|^q` for one standard coordinate ξ (Gaussian, Laplace(0,1) or Student-t(df)); inf if infinite."""
    q = np.asarray(q, dtype=np.float64)
    if family == "gaussian":
        return 0.5 * q * math.log(2) + gammaln((q + 1) / 2) - 0.5 * math.log(math.pi)
    if family == "laplace":
        return gammaln(q + 1)
    if family == "student_t":
        finite = q < df
        qf = np.where(finite, q, 0.0)
        value = (
            0.5 * qf * math.log(df)
            + gammaln((qf + 1) / 2)
            + gammaln((df - qf) / 2)
            - 0.5 * math.log(math.pi)
            - gammaln(df / 2)
        )
        return np.where(finite, value, np.inf)
    raise ValueError(f"family: no one-dimensional coordinate law for {family!r}")


def _log_convolve(log_a, log_b):
    """log of the Cauchy product of two power series given by their log-coefficients (first len(log_a) terms)."""
    K = len(log_a)
    i = np.arange(K)
    lag = i[:, None] - i[None, :]  # (k, i) -> k - i
    terms = np.where(lag >= 0, log_a[None, :] + log_b[np.clip(lag, 0, None)], -np.inf)
    with np.errstate(invalid="ignore"):
        out = logsumexp(terms, axis=1)
    return np.where(np.isposinf(terms).any(axis=1), np.inf, out)


def _log_even_moments_iid(family, K, s, df):
    r"""Exact :math:`\log E|\theta|^{2k}`, k < K, for independent coordinates θ_j = s_j ξ_j: the generating function
    :math:`\sum_k E|\theta|^{2k} x^k / k! = \prod_j \sum_i E\theta_j^{2i} x^i / i!` (multinomial expansion)."""
    i = np.arange(K, dtype=np.float64)
    series = None
    for sj in s:
        coord = log_abs_moment_1d(family, 2 * i, df) + 2 * i * math.log(sj) - gammaln(i + 1)
        series = coord if series is None else _log_convolve(series, coord)
    return series + gammaln(i + 1)


def _odd_order_bounds(log_even, K):
    r"""Bounds on :math:`\log m_q`, q < K, from the exact even moments :math:`\log m_{2j}` (``log_even[j]``) and the
    log-convexity of q ↦ log m_q: exact at even q; at odd q, above by the neighbours' mean and below by
    :math:`\log m_q \ge \frac{q}{q-1}\log m_{q-1}` (Lyapunov) and :math:`\log m_q \ge (3\log m_{q+1} - \log m_{q+3})/2`."""
    lower, upper = np.empty(K), np.empty(K)
    for q in range(K):
        if q % 2 == 0:
            lower[q] = upper[q] = log_even[q // 2]
            continue
        below, above, above2 = log_even[(q - 1) // 2], log_even[(q + 1) // 2], log_even[(q + 3) // 2]
        upper[q] = 0.5 * (below + above)
        candidates = [-np.inf if np.isinf(above2) else 1.5 * above - 0.5 * above2]
        if q >= 3:
            candidates.append(q / (q - 1) * below)
        lower[q] = max(candidates)
    return lower, upper


@validated(
    family=Choice(FAMILIES),
    variant=Choice(tuple(VARIANTS)),
    K=Int(2, example_max=6),
    scales=Reals(positive=True),
    df=Real(positive=True),
    memory=lambda args: (8 * args["K"] * (len(args["scales"]) + 4), "K"),
)
def log_moment_bounds(family, variant, K, scales, df=3.0):
    r"""Lower and upper bounds on :math:`\log m_k = \log E|\theta|^{pk}`, k = 0..K-1; equal where the moment is exact.

    Exact: the ball (isotropic scales), the isotropic Gaussian (χ_D moments), and every i.i.d. family at even
    powers of |θ| (multinomial expansion), so always for p = 2. Odd powers (p = 1) lie between log-convexity bounds
    built from the exact even ones (tight: they share the growth rate); Student-t moments are infinite exactly
    from order df on. Returns two arrays of shape (K,), entries +inf where infinite.
    """
    p, s = VARIANTS[variant], scales
    D = s.size
    q = p * np.arange(K, dtype=np.float64)
    if family == "ball":
        base = math.log(D) - np.log(D + q)
        return base + q * math.log(s.min()), base + q * math.log(s.max())
    if family == "gaussian" and np.all(s == s[0]):
        exact = 0.5 * q * math.log(2) + gammaln((D + q) / 2) - gammaln(D / 2) + q * math.log(s[0])
        return exact, exact
    if p == 2:
        exact = _log_even_moments_iid(family, K, s, df)
        return exact, exact
    lower, upper = _odd_order_bounds(_log_even_moments_iid(family, K // 2 + 3, s, df), K)
    if family == "student_t":
        lower[q >= df] = np.inf
        upper[q >= df] = np.inf
    return lower, upper


@dataclass
class LogMoments(Tensor):
    r"""Log-moments :math:`\log m_0 \dots \log m_{K-1}`: a 1-D array with entries in (-inf, inf], +inf for an
    infinite moment (NaN and -inf refused)."""

    shape: str = "K"
    finite: bool = False
    array: bool = True

    def check(self, name, value, ctx):
        value = super().check(name, value, ctx)
        if np.isnan(value).any() or np.isneginf(value).any():
            raise ValueError(f"{name}: need log-moments in (-inf, inf] (+inf for an infinite moment), got NaN or -inf")
        return value

    def invalid(self, dims):
        from hypothesis import strategies

        return strategies.one_of(
            super().invalid(dims), strategies.sampled_from([[0.0, math.nan, 1.0], [0.0, -math.inf, 1.0]])
        )


@validated(log_m=LogMoments())
def root_test(log_m):
    r"""Cauchy–Hadamard sequence :math:`w^*_k = (m_k/k!)^{-1/k}` for k = 1..K-1 from :math:`\log m_k`, k = 0..K-1.

    :math:`w^* = \liminf_k w^*_k`; entries are 0 where m_k is infinite."""
    k = np.arange(1, log_m.size, dtype=np.float64)
    with np.errstate(over="ignore"):
        return np.exp(-(log_m[1:] - gammaln(k + 1)) / k)


@validated(
    family=Choice(FAMILIES), variant=Choice(tuple(VARIANTS)), scales=Reals(positive=True), df=Real(positive=True)
)
def w_star_closed_form(family, variant, scales, df=3.0):
    r"""Closed-form w* with s_max the largest coordinate scale. Sub-Gaussian (p = 2): Gaussian :math:`1/(2 s_{max}^2)`,
    ball ∞, Laplace 0, Student-t 0. Sub-exponential (p = 1): Gaussian ∞, ball ∞, Laplace :math:`1/s_{max}`,
    Student-t 0."""
    p = VARIANTS[variant]
    s_max = scales.max()
    if family == "ball":
        return math.inf
    if family == "student_t":
        return 0.0
    if family == "gaussian":
        return 1 / (2 * s_max**2) if p == 2 else math.inf
    return 0.0 if p == 2 else 1 / s_max


def _radial_samples(theta, variant):
    """|θ|^p of every particle, pooled over all leading dimensions, as a float64 NumPy vector."""
    p = _power(variant)
    x = float_array("theta", theta, shape=(..., None, None), label="(..., n, D)")
    return _powered_norms(x.reshape(-1, x.shape[-1]), p)


def _powered_norms(x, p):
    """|θ|^p of each row of the finite array x (..., D), refusing values that overflow float64."""
    z = np.linalg.norm(x, axis=-1) ** p
    if not np.all(np.isfinite(z)):
        raise ValueError(f"theta: |θ|^{p} overflows float64 for some particle; rescale the cloud")
    return z


def _powers_of_log(k, log_z):
    """k_i log z_j (k, n) with 0 · log 0 = 0, so that a particle at the origin counts once in the moment m_0."""
    with np.errstate(invalid="ignore"):
        return np.where(k[:, None] == 0, 0.0, k[:, None] * log_z[None, :])


@validated(
    theta=Tensor("... n D", array=True),
    variant=Choice(tuple(VARIANTS)),
    K=Int(1, example_max=8),
    memory=lambda args: (8 * args["K"] * args["theta"].size, "K"),
)
def empirical_log_moments(theta, variant, K):
    r""":math:`\log \hat m_k = \log \frac1n\sum_i |\theta_i|^{pk}`, k < K, pooled over all leading dimensions of θ."""
    z = _radial_samples(theta, variant)
    with np.errstate(divide="ignore"):
        log_z = np.log(z)
    k = np.arange(K, dtype=np.float64)
    return logsumexp(_powers_of_log(k, log_z), axis=1) - math.log(z.size)


@dataclass(frozen=True)
class WStarEstimate:
    """Estimated w* (inf when the fitted growth rate is <= 0), the growth rate 1/w*, and the moments used."""

    w_star: float
    growth_rate: float
    k_max: int
    n: int


@validated(
    theta=Tensor("... n D", array=True),
    variant=Choice(tuple(VARIANTS)),
    rel_se=Real(positive=True),
    k_cap=Maybe(Int(2)),
)
def estimate_w_star(theta, variant="subgaussian", rel_se=0.05, k_cap=None):
    r"""Estimate w* from samples θ (..., n, D) by extrapolating the moment-growth ratios.

    With :math:`z = |\theta|^p` and empirical moments :math:`\hat m_k`, the ratios
    :math:`g_k = \hat m_{k+1} / ((k+1)\hat m_k)` tend to the growth rate 1/w*. For a Gamma(α, 1/w) law of z (which
    covers |θ|² under an isotropic Gaussian in any dimension) :math:`g_k = (1 + (α-1)/(k+1))/w` exactly, so a
    least-squares line of :math:`g_k` against 1/(k+1) is extrapolated to k = ∞. Moments are used up to the largest
    k ≤ ``k_cap`` (default ⌈log n⌉) whose sample relative standard error is at most ``rel_se`` (at least k = 2).

    Failure mode: any finite sample has compact support, so only these few moments carry information; heavy tails
    whose higher moments are infinite (Student-t) or grow super-geometrically (Laplace, p = 2) are seen only through
    low moments and the estimate tends to its true value 0 only logarithmically in n.
    """
    z = _radial_samples(theta, variant)
    n = z.size
    if n < 8:
        raise ValueError(f"theta: need at least 8 particles to estimate w*, got {n}")
    if not np.any(z > 0):
        raise ValueError(
            "theta: every particle is at the origin, so the moment ratios are 0/0; w* of a point mass at 0 is infinite"
        )
    k_cap = max(3, math.ceil(math.log(n))) if k_cap is None else k_cap
    with np.errstate(divide="ignore"):
        log_z = np.log(z)
    k = np.arange(k_cap + 1, dtype=np.float64)
    log_m = logsumexp(_powers_of_log(k, log_z), axis=1) - math.log(n)
    log_m2 = logsumexp(_powers_of_log(2 * k, log_z), axis=1) - math.log(n)
    rel_var = np.expm1(np.clip(log_m2 - 2 * log_m, 0, 700)) / n
    usable = np.nonzero(np.sqrt(rel_var) > rel_se)[0]
    k_max = k_cap if usable.size == 0 else max(2, int(usable[0]) - 1)
    intercept = _growth_rate(log_m, k_max)
    return WStarEstimate(w_star=_reciprocal(intercept), growth_rate=intercept, k_max=int(k_max), n=int(n))


@validated(clouds=Tensor("T R n D", array=True), groups=Int(1), variant=Choice(tuple(VARIANTS)))
def grouped_w_star(clouds, groups=4, variant="subgaussian"):
    """:func:`estimate_w_star` along a run: for each cloud of ``clouds`` (T, R, n, D), the estimate from all its R
    replicas together and the range of that estimate and those of ``groups`` contiguous groups of replicas
    (``np.array_split``), an array (T, 3) of (pooled, low, high)."""
    if not 1 <= groups <= clouds.shape[1]:
        raise ValueError(f"groups: expected 1 to {clouds.shape[1]} groups of replicas, got {groups}")
    smallest = clouds.shape[1] // groups * clouds.shape[2]
    if smallest < 8:
        raise ValueError(
            f"clouds: each of the {groups} groups needs at least 8 particles to estimate w*, got {smallest}"
        )
    split = np.array_split(np.arange(clouds.shape[1]), groups)
    rows = []
    for cloud in clouds:
        pooled = estimate_w_star(cloud, variant).w_star
        per_group = [estimate_w_star(cloud[g], variant).w_star for g in split]
        rows.append((pooled, min(per_group + [pooled]), max(per_group + [pooled])))
    return np.array(rows, dtype=float).reshape(-1, 3)


def _growth_rate(log_m, k_max):
    r"""Intercept at 1/(k+1) = 0 of the least-squares line of :math:`g_k = m_{k+1}/((k+1) m_k)`, k < k_max,
    against 1/(k+1), from finite :math:`\log m_k`, k ≤ k_max."""
    kk = np.arange(k_max, dtype=np.float64)
    ratios = np.exp(log_m[1 : k_max + 1] - log_m[:k_max]) / (kk + 1)
    _, intercept = np.polyfit(1 / (kk + 1), ratios, 1)
    return float(intercept)


def _reciprocal(growth_rate):
    return 1 / growth_rate if growth_rate > 0 else math.inf


@validated(log_m=LogMoments(), k_max=Int(2))
def estimator_limit(log_m, k_max):
    r"""The population value of :func:`estimate_w_star` at a fixed ``k_max``: the same extrapolation of the ratios
    :math:`g_k = m_{k+1}/((k+1) m_k)`, k < k_max, applied to exact moments :math:`\log m_k` (k = 0..k_max used),
    which is what the estimate tends to as n → ∞ with k_max held. It equals w* for a Gamma law of z (the isotropic
    Gaussian, p = 2) and differs from w* otherwise — the estimator's model error. 0 when some m_k, k ≤ k_max, is
    infinite (as w* then is); inf when the fitted growth rate is <= 0."""
    if log_m.size <= k_max:
        raise ValueError(
            f"log_m: need a 1-D sequence log m_0..log m_k_max of length > k_max = {k_max}, got shape {log_m.shape}"
        )
    if np.isposinf(log_m[: k_max + 1]).any():
        return 0.0
    return _reciprocal(_growth_rate(log_m, k_max))


@validated(theta=Tensor("... N D", array=True), w=Real(), variant=Choice(tuple(VARIANTS)))
def log_phi_w(theta, w, variant="subgaussian"):
    r""":math:`\log \Phi_w(\mu_N) = \log \frac1N\sum_i e^{w|\theta_i|^p}` per system: θ (..., N, D) -> (...).

    A plain average: unbiased for Φ_w(μ) when the particles are i.i.d. from μ, but its variance is infinite once
    w > w*/2, so use it only well inside the class (or to show growth in N outside it)."""
    z = _powered_norms(theta, VARIANTS[variant])
    return logsumexp(w * z, axis=-1) - math.log(z.shape[-1])


@validated(w=Real(), variances=Tensor("... D", array=True, positive=True))
def phi_w_gaussian(w, variances):
    r"""Exact :math:`\Phi_w = E e^{w|\theta|^2} = \prod_j (1 - 2 w v_j)^{-1/2}` for θ ~ N(0, diag(v)); inf if
    :math:`w \ge 1/(2 v_{max})`. ``variances`` (..., D) gives one value per leading index."""
    factor = 1 - 2 * w * variances
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.exp(-0.5 * np.log(np.where(factor > 0, factor, 1.0)).sum(-1))
    return np.where((factor > 0).all(-1), value, np.inf)


_OU = dict(
    var0=Tensor("... D", array=True),
    eta=Real(positive=True),
    lam=Real(nonnegative=True),
    tau=Real(nonnegative=True),
    steps=Ints(0),
)


@validated(**_OU)
def ou_variance(var0, eta, lam, tau, steps):
    r"""Exact per-coordinate variance of the data-free flow θ ← (1 - ηλ)θ + √(2ητ)ξ from N(0, diag(var0)):
    :math:`v_{k+1} = (1-\eta\lambda)^2 v_k + 2\eta\tau`, returned at the given step indices, shape (len(steps), D)."""
    v0, k = np.atleast_1d(var0), steps
    if np.any(v0 < 0):
        raise ValueError("var0: need non-negative finite variances")
    c = (1 - eta * lam) ** 2
    k = k.astype(np.float64)[:, None]
    if c == 1:
        return v0 + 2 * eta * tau * k
    return c**k * v0 + 2 * eta * tau * (1 - c**k) / (1 - c)


@validated(**_OU)
def ou_w_star(var0, eta, lam, tau, steps):
    r"""w*(t) = 1/(2 max_j v_j(t)) of the data-free flow (sub-Gaussian); tends to the Gibbs value
    λ(1 - ηλ/2)/(2τ) (λ/(2τ) as η → 0)."""
    return 1 / (2 * ou_variance(var0, eta, lam, tau, steps).max(-1))


def _block_log_phi(z, w, ns):
    """For each n in ``ns``: the mean over the ⌊len/n⌋ disjoint consecutive blocks of n entries of the last axis of
    z (..., len) of log((1/n) Σ_block e^{w z}); shape (..., len(ns))."""
    columns = []
    for n in ns:
        blocks = w * z[..., : (z.shape[-1] // n) * n].reshape(*z.shape[:-1], -1, n)
        columns.append((logsumexp(blocks, axis=-1) - math.log(n)).mean(-1))
    return np.stack(columns, -1)


def _block_sizes(ns, total):
    ns = integer_array("ns", ns, minimum=1)
    if len(np.unique(ns)) < 2 or ns.max() > total:
        raise ValueError(f"ns: need at least two distinct block sizes of at most {total} particles, got {ns.tolist()}")
    return ns


@validated(theta=Tensor("... D", array=True), w=Real(), ns=Ints(1), variant=Choice(tuple(VARIANTS)))
def block_log_phi_w(theta, w, ns, variant="subgaussian"):
    r"""Block average of the log particle estimate of Φ_w at block sizes n ∈ ``ns``: the particles of θ (..., D),
    pooled in their stored order, are cut into ⌊total/n⌋ disjoint blocks of n, and
    :math:`\log\frac1n\sum_{i\in\text{block}} e^{w|\theta_i|^p}` is averaged over the blocks: an estimate of
    :math:`E\log\hat\Phi_w(n)`, which stays finite for every w (Φ_w itself may be infinite). Returns (len(ns),)."""
    z = _radial_samples(theta, variant)
    return _block_log_phi(z, w, _block_sizes(ns, z.size))


@validated(
    variances=Tensor("D", array=True, positive=True),
    w=Real(),
    ns=Ints(1),
    total=Int(1, example_min=2),
    draws=Int(1),
    rng=Anything(0),
    memory=lambda args: (8 * args["draws"] * args["total"], "total"),
)
def block_log_phi_w_gaussian(variances, w, ns, total, draws, rng):
    r""":func:`block_log_phi_w` of ``draws`` independent samples of ``total`` i.i.d. particles θ ~ N(0, diag(v)):
    its exact sampling law, shape (draws, len(ns)).

    Outside the class (w > w* = 1/(2 v_max)) Φ_w is infinite and the average of n summands of tail index w*/w < 1
    grows like :math:`n^{w/w^* - 1}` up to slowly varying factors, which bend the log–log slope at finite n; this
    simulation keeps them (``rng`` a NumPy Generator or seed)."""
    v = variances
    ns = _block_sizes(ns, total)
    generator = np.random.default_rng(rng)
    z = np.zeros((draws, total))
    for vj in v:  # one coordinate at a time: (draws, total) in memory
        z += vj * generator.standard_normal((draws, total)) ** 2
    return _block_log_phi(z, w, ns)


@validated(
    variances=Tensor("D", array=True, positive=True),
    n=Int(1, example_min=8, example_max=8),
    draws=Int(1),
    rng=Anything(0),
    variant=Choice(tuple(VARIANTS)),
    memory=lambda args: (8 * args["draws"] * args["n"] * len(args["variances"]), "n"),
)
def estimate_w_star_gaussian(variances, n, draws, rng, variant="subgaussian"):
    r"""Sampling law of :func:`estimate_w_star` on n i.i.d. particles θ ~ N(0, diag(v)): ``draws`` independent
    estimates (array). Its mean is the estimator's prediction at finite n — the population value
    (:func:`estimator_limit`) plus the O(1/n) bias of the moment ratios — and its spread the error of one estimate
    (``rng`` a NumPy Generator or seed)."""
    v = variances
    samples = np.random.default_rng(rng).standard_normal((draws, n, v.size)) * np.sqrt(v)
    return np.array([estimate_w_star(sample, variant).w_star for sample in samples])
