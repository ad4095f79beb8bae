r"""Propagation-of-chaos measurements for synchronously coupled particle systems, and their statistics.

An N-system run from ``theta0_ref[:, :N]`` with the reference's seed and ``noise_width = N_ref`` shares its initial
particles and noise with particles i ≤ N of the reference. Measured per replica:
coupling error :math:`\frac1N\sum_{i\le N}|\theta_i^N - \theta_i^{ref}|^2` and function error
:math:`E_\rho(f_N - f_{ref})^2` (exact). With nested coupling the leading term is :math:`C(1/N - 1/N_{ref})`, so
rates are fitted against the effective size :math:`N_{eff} = (1/N - 1/N_{ref})^{-1}`. :func:`coupled_run` runs a
reference and its nested systems from explicit seeds and sizes; the statistics are those of :mod:`.statistics`.

The McKean–Vlasov reference (:func:`mckean_vlasov_run`) needs no N_ref: particle i of each N-system is coupled to its
own nonlinear process :math:`\bar\theta_i` (same :math:`\theta_i(0)`, same noise :math:`\xi_i`) moved by the drift of
one large population of N_big particles standing for :math:`\mu_t`, shared by every replica and size. The error
:math:`\frac1N\sum_i|\theta_i^N - \bar\theta_i|^2 \approx A/N + B/N_{big}`: the population's own fluctuation adds a
floor :math:`B/N_{big}`. Two further independent populations of M particles drive the same tagged processes; half the
mean square distance between their two nonlinear processes estimates :math:`B/M`, hence the floor
:math:`(M/N_{big})\cdot B/M` (:func:`population_floor`).
"""

from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from ..engine.contract import (
    ActivationName,
    Anything,
    Choice,
    Device,
    Dtype,
    Instance,
    Int,
    Ints,
    Maybe,
    Particles,
    Real,
    Reals,
    Seed,
    Tensor,
    validated,
)
from ..engine.dynamics import ENGINES, Trajectory, function_distance2, simulate, simulate_mckean_vlasov, split
from ..engine.kernels import gaussian_kernel
from ..engine.spec import Problem, StartingLaw, problem
from ..engine.targets import teacher
from ..engine.validation import describe, float_array, float_tensor
from .statistics import _RESAMPLE, bootstrap, replica_loglog_fit


def _as_tensor(theta, name):
    """Particles (..., N, 1+d), d >= 1, as a finite float tensor (NumPy input as float64)."""
    theta = float_tensor(
        name,
        theta if torch.is_tensor(theta) else float_array(name, theta),
        shape=(..., None, None),
        label="(..., N, 1+d)",
    )
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
    return problem(
        "erf",
        teacher("erf", torch.tensor([1.0, -0.5], dtype=torch.float64), torch.eye(2, dims["d"], dtype=torch.float64)),
    )


@validated(
    problem=Instance(
        Problem, _problem_example, "a Problem with a target (companion.engine.problem(activation, target))"
    ),
    R=Int(1, example_max=1),
    N_ref=Int(1),
    sizes=Ints(1, example_high=0, nonempty=False),  # empty: the reference alone
    init_seed=Anything(0),
    seed=Seed(),
    eta=Real(positive=True),
    steps=Int(0, example_max=2),
    record_steps=Maybe(Ints(0, example_high=0)),
    lam=Real(nonnegative=True),
    tau=Real(nonnegative=True),
    law=Instance(StartingLaw, lambda dims: StartingLaw()),
    reference_steps=Maybe(Int(0, example_max=2)),
    reference_record_steps=Maybe(Ints(0, example_high=0)),
    datasets=Anything(None),
    pairs=Anything(()),
    dtype=Dtype(),
    device=Device(),
)
def coupled_run(
    problem,
    *,
    R,
    N_ref,
    sizes,
    init_seed,
    seed,
    eta,
    steps,
    record_steps,
    lam=0.0,
    tau=0.0,
    law=StartingLaw(),
    reference_steps=None,
    reference_record_steps=None,
    datasets=None,
    pairs=(),
    dtype=torch.float64,
    device="cpu",
):
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
    reference = simulate(
        theta0,
        act,
        target,
        steps=steps if reference_steps is None else reference_steps,
        record_steps=record_steps if reference_record_steps is None else reference_record_steps,
        **common,
    )
    population = {N: simulate(theta0[:, :N].clone(), act, target, **nested).particles for N in sizes}
    empirical = {
        (n, N): simulate(theta0[:, :N].clone(), act, target, engine="empirical", data=datasets[n], **nested).particles
        for n, N in pairs
    }
    return CoupledRun(reference, population, empirical, problem)


@dataclass
class McKeanVlasovRun:
    """N-systems coupled to their nonlinear processes. ``systems`` {N: particles (T, R, N, 1+d)}; ``nonlinear`` the
    nonlinear processes of particles i ≤ N_max under the main population (T, R, N_max, 1+d); ``population`` the main
    population's :class:`Trajectory` (particles (T, 1, N_big, 1+d)); ``floor`` the same tagged processes of the first
    ``floor_R`` replicas under the two floor populations (T, 2, floor_R, N_max, 1+d), or None; ``floor_population``
    those two populations' :class:`Trajectory` (particles (T, 2, M, 1+d)), or None."""

    times: np.ndarray
    systems: dict
    nonlinear: torch.Tensor
    population: Trajectory
    floor: torch.Tensor | None
    floor_population: Trajectory | None


@validated(
    problem=Instance(Problem, _problem_example, "a Problem (companion.engine.problem(activation, target))"),
    R=Int(1, example_max=1),
    sizes=Ints(1, example_high=1),
    N_big=Int(1, example_min=2, example_max=2),
    init_seed=Anything(0),
    seed=Seed(),
    population_init_seed=Seed("population clouds"),
    population_seed=Seed(),
    eta=Real(positive=True),
    steps=Int(0, example_max=2),
    record_steps=Maybe(Ints(0, example_high=0)),
    lam=Real(nonnegative=True),
    tau=Real(nonnegative=True),
    law=Instance(StartingLaw, lambda dims: StartingLaw()),
    d=Maybe(Int(1)),
    floor_size=Maybe(Int(1, example_max=2)),
    floor_R=Maybe(Int(1, example_max=1)),
    engine=Choice(ENGINES),
    dtype=Dtype(),
    device=Device(),
    memory=lambda a: max(
        (8 * a["N_big"] * 4 * (a["problem"].dim or a["d"] or 1), "N_big"),
        (8 * 3 * (a["floor_size"] or 0) * 4 * (a["problem"].dim or a["d"] or 1), "floor_size"),
    ),  # a population cloud (1+d columns) and its draws; the recorded particles are simulate's to refuse
)
def mckean_vlasov_run(
    problem,
    *,
    R,
    sizes,
    N_big,
    init_seed,
    seed,
    population_init_seed,
    population_seed,
    eta,
    steps,
    record_steps,
    lam=0.0,
    tau=0.0,
    law=StartingLaw(),
    d=None,
    floor_size=None,
    floor_R=None,
    engine="population",
    dtype=torch.float64,
    device="cpu",
):
    r"""N-systems (N in ``sizes``) learning ``problem`` and their nonlinear processes, driven by a population of N_big
    particles standing for :math:`\mu_t`.

    Tagged initial conditions θ(0) (R, N_max, 1+d) = ``law.sample(R, N_max, d, rng=init_seed)`` (d the target's, or
    ``d`` without one); the N-system starts from θ(0)[:, :N] and runs :func:`simulate` with the noise stream ``seed``
    and ``noise_width = N_max``; the nonlinear processes (:func:`companion.engine.dynamics.simulate_mckean_vlasov`)
    share θ(0) and that noise. The populations start i.i.d. from ``law``: the main one (N_big particles) is replica 0
    of the streams ``population_init_seed`` (cloud) and ``population_seed`` (noise); with ``floor_size`` M, two more
    of M particles (replicas 1 and 2 of both streams) drive the first ``floor_R`` (default R) replicas' tagged
    processes (an integer ``population_init_seed`` k means ``Stream(k, "population clouds")``, so the three clouds are
    independent). Replica r's noise is replica r of ``seed``, so replicas are independent given the populations, and
    batches of replicas are independent batches."""
    d = problem.dim if problem.target is not None else d
    if d is None:
        raise ValueError("d: a problem without a target needs the dimension d")
    sizes = sorted(int(N) for N in sizes)
    N_max = sizes[-1]
    if floor_R is not None and floor_R > R:
        raise ValueError(f"floor_R: need at most R = {R} replicas, got {floor_R}")
    if int(N_big) < N_max:
        raise ValueError(f"N_big: need at least N_max = {N_max} particles, got {N_big}")
    act, target = problem.activation, problem.target
    theta0 = law.sample(R, N_max, d, rng=init_seed, dtype=dtype, device=device)
    tagged = dict(
        seed=seed, noise_width=N_max, eta=eta, steps=steps, record_steps=record_steps, lam=lam, tau=tau, engine=engine
    )
    systems = {N: simulate(theta0[:, :N].clone(), act, target, **tagged).particles for N in sizes}
    population0 = law.sample(1, int(N_big), d, rng=population_init_seed, dtype=dtype, device=device)
    population, nonlinear = simulate_mckean_vlasov(
        theta0, population0, act, target, population_seed=population_seed, **tagged
    )
    floor = floor_population = None
    if floor_size is not None:
        floor_R = R if floor_R is None else int(floor_R)
        pair0 = law.sample(3, int(floor_size), d, rng=population_init_seed, dtype=dtype, device=device)[1:]
        floor_population, floor = simulate_mckean_vlasov(
            theta0[:floor_R], pair0, act, target, population_seed=population_seed, population_first_replica=1, **tagged
        )
    return McKeanVlasovRun(
        times=population.times,
        systems=systems,
        nonlinear=nonlinear[:, 0],
        population=population,
        floor=floor,
        floor_population=floor_population,
    )


@cache
def _run_example(d, floor):
    """A McKean–Vlasov run of 2 steps for the fuzzing battery (cached: the functions of a run only read it)."""
    return mckean_vlasov_run(
        _problem_example(dict(d=d)), R=2, sizes=[1, 2], N_big=4, init_seed=0, seed=0, population_init_seed=0,
        population_seed=1, eta=0.1, steps=2, record_steps=[0, 1, 2], floor_size=3 if floor else None,
    )  # fmt: skip


_RUN = Instance(McKeanVlasovRun, lambda dims: _run_example(dims["d"], True), "a McKeanVlasovRun (mckean_vlasov_run)")


@validated(run=_RUN)
def population_floor(run):
    r"""The population's floor :math:`B/N_{big}` per recorded time and floor replica: (T, floor_R). Two independent
    populations of M particles give nonlinear processes whose difference is the difference of their fluctuations,
    so :math:`\frac12 E|\bar\theta^{(1)} - \bar\theta^{(2)}|^2 \approx B/M` (each particle, mean over i), scaled to
    N_big by M/N_big."""
    if run.floor is None:
        raise ValueError("run: no floor populations (run mckean_vlasov_run with floor_size)")
    half = 0.5 * coupling_error(run.floor[:, 1], run.floor[:, 0])
    return half * run.floor_population.params["N"] / run.population.params["N"]


@validated(run=_RUN, activation=ActivationName(), at=Maybe(Ints(0, example_high=0)))
def mckean_vlasov_errors(run, activation, at=None):
    r"""Per-replica errors of a :class:`McKeanVlasovRun` at its recorded times: dict(times, sizes,
    ``coupling`` (T, R, n) :math:`\frac1N\sum_i|\theta_i^N - \bar\theta_i|^2`, ``function`` (T, R, n)
    :math:`E_x(f_{\mu^N} - f_{\mu_P})^2` against the main population (exact), and, with floor populations,
    ``coupling_floor`` (T, floor_R) (:func:`population_floor`) and ``function_floor`` (T,)
    :math:`\frac12 E_x(f_{P_1} - f_{P_2})^2\cdot M/N_{big}`, the function error's floor :math:`B_f/N_{big}`),
    at the recorded times of index ``at`` (default: all)."""
    at = np.arange(len(run.times)) if at is None else at
    if at.size and at.max() >= len(run.times):
        raise ValueError(f"at: need indices of the run's {len(run.times)} recorded times, got {at.tolist()[:8]}")
    sizes = sorted(run.systems)
    population = run.population.particles[:, 0]
    out = dict(
        times=run.times[at],
        sizes=np.array(sizes),
        coupling=np.stack([coupling_error(run.systems[N][at], run.nonlinear[at]) for N in sizes], -1),
        function=np.stack(
            [
                np.stack(function_errors([run.systems[N][i] for N in sizes], population[i][None], activation), -1)
                for i in at
            ]
        ),
    )
    if run.floor is not None:
        pair = run.floor_population.particles
        scale = run.floor_population.params["N"] / run.population.params["N"]
        out["coupling_floor"] = population_floor(run)[at]
        out["function_floor"] = np.array(
            [0.5 * scale * float(function_errors([pair[i, :1]], pair[i, 1:], activation)[0][0]) for i in at]
        )
    return out


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
        return [
            function_distance2(_as_tensor(theta, f"systems[{k}]").to(theta_ref), theta_ref, activation).cpu().numpy()
            for k, theta in enumerate(systems)
        ]


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


@validated(
    N=Reals(positive=True, dim="K"),
    errors=Tensor("R K", array=True, nonnegative=True),
    N_ref=Real(positive=True, inf_ok=True),
    **_RESAMPLE,
)
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


@validated(N=Reals(positive=True))
def rate_statistic(N):
    r"""The per-time rate as a statistic of replicas: errors (T, R, len(N)) → (T,) least-squares slopes of
    :math:`\log \bar e_t(N)` against log N (:math:`\bar e_t` the replica mean; pass :func:`effective_size` for the
    nested design). Replicas are on axis 1, as :mod:`.calibration` and the bootstrap resample them."""
    x = np.log(N)
    if np.unique(x).size < 2:
        raise ValueError(f"N: need at least two distinct sizes, got {N.tolist()}")
    centred = (x - x.mean()) / ((x - x.mean()) ** 2).sum()

    def statistic(errors):
        means = np.asarray(errors, dtype=np.float64).mean(1)
        if means.shape[-1] != x.size or not np.all(means > 0):
            raise ValueError(f"errors: need positive replica means of shape (T, R, {x.size})")
        return np.log(means) @ centred

    return statistic


_REPLICA_ERRORS = Tensor("T R K", array=True, nonnegative=True)


def _two_replicas(errors):
    """Refuse replica errors (T, R, K) with fewer than two replicas: the bootstrap resamples them."""
    if errors.shape[1] < 2:
        raise ValueError(f"errors: need R >= 2 replicas on axis 1, got shape {errors.shape}")


_PLATEAU = dict(
    times=Reals(dim="T"),
    N=Reals(positive=True, dim="K"),
    N_ref=Real(positive=True, inf_ok=True),
    window=Maybe(Tensor("2", array=True)),
)


@validated(**_PLATEAU)
def plateau_statistic(times, N, N_ref=np.inf, window=None):
    r"""Growth in time of the scaled error as a statistic of replicas: errors (T, R, len(N)) at ``times`` (T,) →
    (g, constant). :math:`C(t) = \exp\big(\mathrm{mean}_N \log(N_{eff}\,\bar e_t(N))\big)` (the constant of
    :func:`fit_rate` at each time, :math:`\bar e_t(N)` the replica mean), g the least-squares slope of
    :math:`\log C(t) = c + g\,t` over the times in ``window`` = (t0, t1) (default: all) and the constant the mean of
    C(t) there. A uniform-in-time rate predicts g = 0. Returns (statistic, the fitted times)."""
    t0, t1 = (times.min(), times.max()) if window is None else window
    inside = (times >= t0) & (times <= t1)
    if np.unique(times[inside]).size < 2:
        raise ValueError(f"window: need at least two distinct times in [{t0}, {t1}], got {times[inside]}")
    n_eff = effective_size(N, N_ref) if np.isfinite(N_ref) else N
    t = times[inside]

    def statistic(errors):
        if errors.ndim != 3 or errors.shape[0] != times.size or errors.shape[2] != N.size:
            raise ValueError(
                f"errors: need shape ({times.size}, R, {N.size}) for {times.size} times and {N.size} "
                f"sizes, got {errors.shape}"
            )
        means = errors[inside].mean(1) * n_eff
        if not np.all(means > 0):
            raise ValueError("errors: the scaled error needs positive replica means")
        log_c = np.log(means).mean(1)
        return np.array([np.polyfit(t, log_c, 1)[0], np.exp(log_c).mean()])

    return statistic, t


@validated(**_PLATEAU, errors=_REPLICA_ERRORS, **_RESAMPLE)
def fit_plateau(times, N, errors, N_ref=np.inf, window=None, n_boot=2000, level=0.9, seed=0):
    r"""The growth g and plateau constant of :func:`plateau_statistic` with percentile bootstrap intervals that
    resample replicas jointly over times and N (the runs are coupled).

    ``errors`` has shape (len(times), R, len(N)), R >= 2.

    Returns dict(slope, slope_lo, slope_hi, constant, constant_lo, constant_hi, times) — ``times`` those fitted."""
    _two_replicas(errors)
    statistic, t = plateau_statistic(times, N, N_ref, window)
    value, lo, hi = bootstrap(errors, statistic, axis=1, n_boot=n_boot, level=level, seed=seed)
    return dict(
        slope=float(value[0]),
        slope_lo=float(lo[0]),
        slope_hi=float(hi[0]),
        constant=float(value[1]),
        constant_lo=float(lo[1]),
        constant_hi=float(hi[1]),
        times=t,
    )
