r"""Propagation-of-chaos measurements for synchronously coupled particle systems, and their statistics.

An N-system run from ``theta0_ref[:, :N]`` with the reference's seed and ``noise_width = N_ref`` shares its initial
particles and noise with particles i ≤ N of the reference. Measured per replica:
coupling error :math:`\frac1N\sum_{i\le N}|\theta_i^N - \theta_i^{ref}|^2` and function error
:math:`E_\rho(f_N - f_{ref})^2` (exact). With nested coupling the leading term is :math:`C(1/N - 1/N_{ref})`, so
rates are fitted against the effective size :math:`N_{eff} = (1/N - 1/N_{ref})^{-1}`. :func:`coupled_run` runs a
reference and its nested systems from explicit seeds and sizes; the statistics are those of :mod:`.statistics`.
"""
from dataclasses import dataclass

import numpy as np
import torch

from ..engine.dynamics import Trajectory, function_distance2, simulate, split
from ..engine.contract import (ActivationName, Anything, Device, Dtype, Instance, Int, Ints, Maybe, Particles, Real,
                               Reals, Seed, Tensor, validated)
from ..engine.spec import Problem, StartingLaw, problem
from ..engine.kernels import gaussian_kernel
from ..engine.targets import teacher
from ..engine.validation import describe, float_array, float_tensor
from .statistics import _RESAMPLE, bootstrap, replica_loglog_fit


def _as_tensor(theta, name):
    """Particles (..., N, 1+d), d >= 1, as a finite float tensor (NumPy input as float64)."""
    theta = float_tensor(name, theta if torch.is_tensor(theta) else float_array(name, theta),
                         shape=(..., None, None), label="(..., N, 1+d)")
    if theta.shape[-1] < 2:
        raise ValueError(f"{name}: need particles of shape (..., N, 1+d) with d >= 1, got {tuple(theta.shape)}")
    return theta


@dataclass
class CoupledRun:
    """A reference and its synchronously coupled N-systems: ``reference`` the reference's :class:`Trajectory`
    (particles (T_ref, R, N_ref, 1+d)); ``population`` {N: particles (T, R, N, 1+d)} of the population engine;
    ``empirical`` {(n, N): particles (T, R, N, 1+d)} of the empirical engine (full batch) on ``datasets[n]``;
    ``problem`` the :class:`~companion.engine.spec.Problem` they learn."""

    reference: Trajectory
    population: dict
    empirical: dict
    problem: Problem


def _problem_example(dims):
    """A problem for the fuzzing battery: erf teacher in dimension dims["d"]."""
    return problem("erf", teacher("erf", torch.tensor([1.0, -0.5], dtype=torch.float64),
                                  torch.eye(2, dims["d"], dtype=torch.float64)))


@validated(problem=Instance(Problem, _problem_example, "a Problem with a target (companion.engine.problem(activation, "
                                                      "target))"),
           R=Int(1, example_max=1), N_ref=Int(1), sizes=Ints(1, example_high=0), init_seed=Anything(0), seed=Seed(),
           eta=Real(positive=True), steps=Int(0, example_max=2), record_steps=Maybe(Ints(0, example_high=0)),
           lam=Real(nonnegative=True), tau=Real(nonnegative=True), law=Instance(StartingLaw, lambda dims: StartingLaw()),
           reference_steps=Maybe(Int(0, example_max=2)), reference_record_steps=Maybe(Ints(0, example_high=0)),
           datasets=Anything(None), pairs=Anything(()), dtype=Dtype(), device=Device())
def coupled_run(problem, *, R, N_ref, sizes, init_seed, seed, eta, steps, record_steps, lam=0.0, tau=0.0,
                law=StartingLaw(), reference_steps=None, reference_record_steps=None, datasets=None, pairs=(),
                dtype=torch.float64, device="cpu"):
    r"""A reference of N_ref particles and the N-systems nested in it, synchronously coupled, learning ``problem``
    (a :class:`~companion.engine.spec.Problem`: ``companion.engine.problem(activation, target)``) in dimension
    d = the target's.

    The reference cloud θ_ref(0) (R, N_ref, 1+d) is ``law.sample(R, N_ref, d, rng=init_seed)`` (a
    :class:`~companion.engine.spec.StartingLaw`); the reference runs ``reference_steps`` (default ``steps``) noisy GD
    steps recorded at ``reference_record_steps`` (default ``record_steps``). Each N-system, N in ``sizes``
    (population engine) and (n, N) in ``pairs`` (empirical engine on ``datasets[n]`` = (X (R, n, d), y (R, n))),
    starts from θ_ref(0)[:, :N] with the reference's noise stream ``seed`` and ``noise_width = N_ref``, so it shares
    its initial particles and noise with particles i ≤ N of the reference; it runs ``steps`` steps recorded at
    ``record_steps``."""
    if problem.target is None:
        raise ValueError("problem: need a Problem with a target (companion.engine.problem(activation, target))")
    outside = [N for N in [*sizes, *(N for _, N in pairs)] if not 1 <= N <= N_ref]
    if outside:
        raise ValueError(f"sizes: need 1 <= N <= N_ref = {N_ref}, got {outside}")
    missing = sorted({n for n, _ in pairs} - set(datasets or {}))
    if missing:
        raise ValueError(f"pairs: no dataset for n = {missing}")
    theta0 = law.sample(R, N_ref, problem.dim, rng=init_seed, dtype=dtype, device=device)
    act, target = problem.activation, problem.target
    common = dict(eta=eta, lam=lam, tau=tau, seed=seed)
    nested = dict(steps=steps, record_steps=record_steps, noise_width=N_ref, **common)
    reference = simulate(theta0, act, target, steps=steps if reference_steps is None else reference_steps,
                         record_steps=record_steps if reference_record_steps is None else reference_record_steps,
                         **common)
    population = {N: simulate(theta0[:, :N].clone(), act, target, **nested).particles for N in sizes}
    empirical = {(n, N): simulate(theta0[:, :N].clone(), act, target, engine="empirical", data=datasets[n],
                                  **nested).particles for n, N in pairs}
    return CoupledRun(reference, population, empirical, problem)


@validated(theta=Particles(), theta_ref=Particles("... M 1+d", like="theta"))
def coupling_error(theta, theta_ref):
    r""":math:`\frac1N\sum_{i\le N}|\theta_i - \theta^{ref}_i|^2` for θ (..., N, 1+d) against the first N particles of
    θ_ref (..., N_ref, 1+d), N ≤ N_ref: NumPy array of shape (...)."""
    N = theta.shape[-2]
    if theta_ref.shape[-2] < N:
        raise ValueError(f"theta_ref: need at least N = {N} particles, got {tuple(theta_ref.shape)}")
    diff = theta - theta_ref[..., :N, :]
    return (diff * diff).sum(-1).mean(-1).cpu().numpy()


@validated(systems=Anything([]), theta_ref=Particles(), activation=ActivationName())
def function_errors(systems, theta_ref, activation):
    r""":math:`E_x(f_{\theta} - f_{ref})^2`, exact (``dynamics.function_distance2``), for each θ in ``systems``
    (each (R, N, 1+d)) against θ_ref (R, N_ref, 1+d): list of NumPy arrays (R,)."""
    if not isinstance(systems, (list, tuple)):
        raise TypeError(f"systems: need a list of particle tensors (R, N, 1+d), got {describe(systems)}")
    with torch.no_grad():
        return [function_distance2(_as_tensor(theta, f"systems[{k}]").to(theta_ref), theta_ref, activation).cpu().numpy()
                for k, theta in enumerate(systems)]


@validated(theta=Particles(), activation=ActivationName())
def iid_function_variance(theta, activation):
    r""":math:`V = E_x \mathrm{Var}_{\theta\sim\mu}[a\,\sigma(w\cdot x)]
    = E_\mu[a^2 k(w,w)] - E_{\mu\otimes\mu}[a a' k(w,w')]`, k the Gaussian kernel, estimated without bias from a cloud
    of i.i.d. particles θ (..., M, 1+d) (U-statistic over i ≠ j), averaged over leading dimensions.

    For i.i.d. initial particles and nested coupling, :math:`E(f_N - f_{ref})^2 = (1/N - 1/N_{ref})\,V` at t = 0."""
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


@validated(N=Tensor(array=True, positive=True), N_ref=Real(positive=True, inf_ok=True))
def effective_size(N, N_ref):
    r""":math:`N_{eff} = (1/N - 1/N_{ref})^{-1}` (N_ref = inf gives N); needs N < N_ref."""
    if np.any(N < 1) or np.any(N >= N_ref):
        raise ValueError(f"N: need 1 <= N < N_ref = {N_ref}, got {N}")
    return 1 / (1 / N - 1 / N_ref)


@validated(values=Tensor(array=True), **_RESAMPLE)
def bootstrap_mean(values, n_boot=2000, level=0.9, seed=0):
    """Mean over axis 0 (replicas) with a percentile bootstrap interval: (mean, lo, hi), each of shape values.shape[1:]."""
    return bootstrap(values, lambda sample: sample.mean(0), n_boot=n_boot, level=level, seed=seed)


@validated(N=Reals(positive=True, dim="K"), errors=Tensor("R K", array=True, nonnegative=True),
           N_ref=Real(positive=True, inf_ok=True), **_RESAMPLE)
def fit_rate(N, errors, N_ref=np.inf, n_boot=2000, level=0.9, seed=0):
    r"""Rate of the replica-mean error in N: slope of log mean error against log N_eff, with a bootstrap interval
    that resamples replicas (jointly over N, since the systems are coupled), and the constant C of the form
    :math:`C(1/N - 1/N_{ref})` (slope fixed at -1, geometric mean). ``errors`` has shape (R, len(N)).

    Returns dict(slope, slope_lo, slope_hi, constant)."""
    if errors.shape[0] < 2:
        raise ValueError(f"errors: need R >= 2 replicas, got shape {errors.shape}")
    n_eff = effective_size(N, N_ref) if np.isfinite(N_ref) else N
    slope, lo, hi = replica_loglog_fit(n_eff, errors, n_boot=n_boot, level=level, seed=seed)
    constant = float(np.exp(np.mean(np.log(errors.mean(0) * n_eff))))
    return dict(slope=slope, slope_lo=lo, slope_hi=hi, constant=constant)


@validated(times=Reals(dim="T"), N=Reals(positive=True, dim="K"), errors=Tensor("T R K", array=True),
           N_ref=Real(positive=True, inf_ok=True), window=Anything(None), **_RESAMPLE)
def fit_plateau(times, N, errors, N_ref=np.inf, window=None, n_boot=2000, level=0.9, seed=0):
    r"""Growth in time of the scaled error :math:`C(t) = \exp\big(\mathrm{mean}_N \log(N_{eff}\,\bar e_t(N))\big)`
    (the constant of :func:`fit_rate` at each time; :math:`\bar e_t(N)` the replica mean of ``errors``, shape
    (T, R, len(N)), at ``times`` (T,)): the least-squares slope g of :math:`\log C(t) = c + g\,t` over the times in
    ``window`` = (t0, t1) (default: all), and the plateau constant, the mean of C(t) there. A uniform-in-time rate
    predicts g = 0. The bootstrap resamples replicas jointly over times and N (the runs are coupled).

    Returns dict(slope, slope_lo, slope_hi, constant, constant_lo, constant_hi, times) — ``times`` those fitted."""
    t0, t1 = (times.min(), times.max()) if window is None else window
    inside = (times >= t0) & (times <= t1)
    if np.unique(times[inside]).size < 2:
        raise ValueError(f"window: need at least two distinct times in [{t0}, {t1}], got {times[inside]}")
    n_eff = effective_size(N, N_ref) if np.isfinite(N_ref) else N
    t = times[inside]

    def statistic(sample):
        means = sample[inside].mean(1) * n_eff
        if not np.all(means > 0):
            raise ValueError("errors: the scaled error needs positive replica means")
        log_c = np.log(means).mean(1)
        return np.array([np.polyfit(t, log_c, 1)[0], np.exp(log_c).mean()])

    value, lo, hi = bootstrap(errors, statistic, axis=1, n_boot=n_boot, level=level, seed=seed)
    return dict(slope=float(value[0]), slope_lo=float(lo[0]), slope_hi=float(hi[0]), constant=float(value[1]),
                constant_lo=float(lo[1]), constant_hi=float(hi[1]), times=t)
