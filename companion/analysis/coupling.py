r"""Propagation-of-chaos measurements for synchronously coupled particle systems, and their statistics.

An N-system run from ``theta0_ref[:, :N]`` with the reference's seed and ``noise_width = N_ref`` shares its initial
particles and noise with particles i ≤ N of the reference. Measured per replica:
coupling error :math:`\frac1N\sum_{i\le N}|\theta_i^N - \theta_i^{ref}|^2` and function error
:math:`E_\rho(f_N - f_{ref})^2` (exact). With nested coupling the leading term is :math:`C(1/N - 1/N_{ref})`, so
rates are fitted against the effective size :math:`N_{eff} = (1/N - 1/N_{ref})^{-1}`.
"""
import numpy as np
import torch

from ..engine.dynamics import function_inner, split
from ..engine.kernels import gaussian_kernel
from ..engine.validation import float_array, float_tensor


def _as_tensor(theta, name):
    """Particles (..., N, 1+d), d >= 1, as a finite float tensor (NumPy input as float64)."""
    theta = float_tensor(name, theta if torch.is_tensor(theta) else float_array(name, theta),
                         shape=(..., None, None), label="(..., N, 1+d)")
    if theta.shape[-1] < 2:
        raise ValueError(f"{name}: need particles of shape (..., N, 1+d) with d >= 1, got {tuple(theta.shape)}")
    return theta


def coupling_error(theta, theta_ref):
    r""":math:`\frac1N\sum_{i\le N}|\theta_i - \theta^{ref}_i|^2` for θ (..., N, 1+d) against the first N particles of
    θ_ref (..., N_ref, 1+d), N ≤ N_ref: NumPy array of shape (...)."""
    theta, theta_ref = _as_tensor(theta, "theta"), _as_tensor(theta_ref, "theta_ref")
    N = theta.shape[-2]
    if theta_ref.shape[-2] < N or theta_ref.shape[-1] != theta.shape[-1]:
        raise ValueError(f"theta_ref: need at least N = {N} particles of the same dimension, got {tuple(theta_ref.shape)}")
    diff = theta - theta_ref[..., :N, :].to(theta)
    return (diff * diff).sum(-1).mean(-1).cpu().numpy()


def function_errors(systems, theta_ref, activation):
    r""":math:`E_x(f_{\theta} - f_{ref})^2`, exact, for each θ in ``systems`` (each (R, N, 1+d)) against θ_ref
    (R, N_ref, 1+d): list of NumPy arrays (R,). Same value as ``dynamics.function_distance2``, with the reference's
    own inner product computed once."""
    theta_ref = _as_tensor(theta_ref, "theta_ref")
    with torch.no_grad():
        ref_norm2 = function_inner(theta_ref, theta_ref, activation)
        errors = []
        for theta in systems:
            theta = _as_tensor(theta, "systems").to(theta_ref)
            errors.append((function_inner(theta, theta, activation) - 2 * function_inner(theta, theta_ref, activation)
                           + ref_norm2).cpu().numpy())
    return errors


def iid_function_variance(theta, activation):
    r""":math:`V = E_x \mathrm{Var}_{\theta\sim\mu}[a\,\sigma(w\cdot x)]
    = E_\mu[a^2 k(w,w)] - E_{\mu\otimes\mu}[a a' k(w,w')]`, k the Gaussian kernel, estimated without bias from a cloud
    of i.i.d. particles θ (..., M, 1+d) (U-statistic over i ≠ j), averaged over leading dimensions.

    For i.i.d. initial particles and nested coupling, :math:`E(f_N - f_{ref})^2 = (1/N - 1/N_{ref})\,V` at t = 0."""
    theta = _as_tensor(theta, "theta")
    M = theta.shape[-2]
    if M < 2:
        raise ValueError(f"theta: need at least 2 particles, got {M}")
    a, W = split(theta)
    with torch.no_grad():
        K = gaussian_kernel(activation, W, W)
        weighted = a[..., :, None] * K * a[..., None, :]
        diagonal = torch.diagonal(weighted, dim1=-2, dim2=-1).sum(-1)
        off_diagonal = weighted.sum((-1, -2)) - diagonal
        value = diagonal / M - off_diagonal / (M * (M - 1))
    return float(value.mean())


def effective_size(N, N_ref):
    r""":math:`N_{eff} = (1/N - 1/N_{ref})^{-1}` (N_ref = inf gives N); needs N < N_ref."""
    N = float_array("N", N)
    if np.any(N < 1) or np.any(N >= N_ref):
        raise ValueError(f"N: need 1 <= N < N_ref = {N_ref}, got {N}")
    return 1 / (1 / N - 1 / N_ref)


def bootstrap_mean(values, n_boot=2000, level=0.9, seed=0):
    """Mean over axis 0 (replicas) with a percentile bootstrap interval: (mean, lo, hi), each of shape values.shape[1:]."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim < 1 or values.shape[0] < 2:
        raise ValueError("values: need at least 2 replicas along axis 0")
    if not 0 < level < 1:
        raise ValueError(f"level: need 0 < level < 1, got {level}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, values.shape[0], size=(int(n_boot), values.shape[0]))
    boot = values[idx].mean(1)
    tail = 50 * (1 - level)
    return values.mean(0), np.percentile(boot, tail, axis=0), np.percentile(boot, 100 - tail, axis=0)


def fit_power_law(x, y):
    """Least-squares line through (log x, log y): (slope, intercept), y ≈ exp(intercept)·x^slope."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.size < 2:
        raise ValueError("y: need at least two points, one per x")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("y: a log-log fit needs positive x and y")
    slope, intercept = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope), float(intercept)


def fit_rate(N, errors, N_ref=np.inf, n_boot=2000, level=0.9, seed=0):
    r"""Rate of the replica-mean error in N: slope of log mean error against log N_eff, with a bootstrap interval
    that resamples replicas (jointly over N, since the systems are coupled), and the constant C of the form
    :math:`C(1/N - 1/N_{ref})` (slope fixed at -1, geometric mean). ``errors`` has shape (R, len(N)).

    Returns dict(slope, slope_lo, slope_hi, constant)."""
    N = np.asarray(N, dtype=np.float64)
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim != 2 or errors.shape[1] != N.size or errors.shape[0] < 2:
        raise ValueError(f"errors: need shape (R >= 2, {N.size})")
    n_eff = effective_size(N, N_ref) if np.isfinite(N_ref) else N
    slope, _ = fit_power_law(n_eff, errors.mean(0))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, errors.shape[0], size=(int(n_boot), errors.shape[0]))
    boot = np.array([fit_power_law(n_eff, errors[i].mean(0))[0] for i in idx])
    tail = 50 * (1 - level)
    constant = float(np.exp(np.mean(np.log(errors.mean(0) * n_eff))))
    return dict(slope=slope, slope_lo=float(np.percentile(boot, tail)), slope_hi=float(np.percentile(boot, 100 - tail)),
                constant=constant)


def fit_common_rate(N, errors, N_ref=np.inf, n_boot=2000, level=0.9, seed=0):
    r"""One rate shared by several times: least squares of :math:`\log \bar e_t(N) = c_t + p \log N_{eff}` over all
    times t, with a free constant c_t per time, on the replica means :math:`\bar e_t(N)` of ``errors``
    (shape (T, R, len(N))). The bootstrap resamples replicas jointly over times and N (the runs are coupled).

    Returns dict(slope, slope_lo, slope_hi)."""
    N = np.asarray(N, dtype=np.float64)
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim != 3 or errors.shape[2] != N.size or errors.shape[1] < 2:
        raise ValueError(f"errors: need shape (T, R >= 2, {N.size})")
    x = np.log(effective_size(N, N_ref) if np.isfinite(N_ref) else N)
    x = x - x.mean()

    def slope(sample):
        y = np.log(sample.mean(1))
        if not np.all(np.isfinite(y)):
            raise ValueError("errors: a common log-log fit needs positive replica means")
        y = y - y.mean(1, keepdims=True)
        return float((y * x).sum() / (x * x).sum() / y.shape[0])

    rng = np.random.default_rng(seed)
    idx = rng.integers(0, errors.shape[1], size=(int(n_boot), errors.shape[1]))
    boot = np.array([slope(errors[:, i]) for i in idx])
    tail = 50 * (1 - level)
    return dict(slope=slope(errors), slope_lo=float(np.percentile(boot, tail)),
                slope_hi=float(np.percentile(boot, 100 - tail)))
