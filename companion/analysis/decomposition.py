r"""The four-term error decomposition of a trained network along a synchronously coupled chain.

The chain, all members sharing the initial particles and the Langevin noise:

- :math:`\hat f`: N particles trained on n samples (empirical engine) up to time t;
- :math:`f^N_t`: the same N particles trained on the population risk (population engine);
- :math:`f_t`: the reference of :math:`N_{ref} \gg N` particles (population engine), whose first N particles start
  where the N-systems start and receive the same noise (``theta0_ref[:, :N]``, same seed, ``noise_width = N_ref``);
- :math:`f_\infty`: the reference at long time, averaged over a late window (f is linear in μ, so the time average
  is the network formed by all the window's snapshots together); the average damps the reference's own
  stationary fluctuation;
- :math:`f^*`: the target.

Telescoping, :math:`\hat f - f^* = (\hat f - f^N_t) + (f^N_t - f_t) + (f_t - f_\infty) + (f_\infty - f^*)`, and
Cauchy–Schwarz, :math:`(\sum_{i=1}^4 x_i)^2 \le 4 \sum_i x_i^2`, give

.. math:: \lVert \hat f - f^*\rVert^2 \le (\textstyle\sum_i \lVert g_i \rVert)^2 \le 4 \sum_i \lVert g_i\rVert^2

for the statistical, propagation-of-chaos, optimization and sparse-residual components :math:`g_i`. All norms are
exact :math:`L^2(N(0, I_d))` norms (the closed-form kernels of ``dynamics.function_inner``, evaluated in blocks,
and ``Target.cross``/``norm2``); nothing is sampled.
"""

from dataclasses import dataclass, replace
from functools import cache

import numpy as np
import pandas as pd
import torch

from ..engine.activations import get_activation
from ..engine.contract import (
    ActivationName,
    Anything,
    Choice,
    Device,
    Dtype,
    Generator,
    Instance,
    Int,
    Ints,
    Particles,
    Real,
    Reals,
    Seed,
    TargetSpec,
    Tensor,
    validated,
)
from ..engine.dynamics import _distance2, _inner, _risk, network, particle_blocks, split
from ..engine.kernels import norms_and_cosines
from ..engine.spec import Problem, StartingLaw
from ..engine.targets import ridge_target, sample_data
from ..engine.validation import finite_number, float_array, nonneg_int
from .barron import hermite_tensor_norms
from .calibration import calibration_study
from .coupling import _problem_example, coupled_run, fit_rate
from .statistics import loglog_fit

COMPONENTS = ("statistical", "chaos", "optimization", "residual")


def steps_for(t, eta, name="t"):
    """The number of steps k with k·η = t; ValueError naming ``name`` unless t is a non-negative multiple of η."""
    eta = finite_number("eta", eta, positive=True)
    steps = np.round(float_array(name, t, nonempty=False) / eta)
    if np.any(steps < 0) or not np.allclose(steps * eta, t, rtol=0, atol=1e-9 * max(1.0, eta)):
        raise ValueError(f"{name}: need non-negative multiples of eta = {eta}, got {t}")
    return steps.astype(int)


@validated(
    target=TargetSpec(), R=Int(1), n=Int(1), noise_std=Real(nonnegative=True), generator=Generator(optional=True)
)
def replica_datasets(target, R, n, noise_std, generator):
    """R independent training sets of n samples each: X (R, n, d), y (R, n) with y = f*(x) + noise_std·ε."""
    X, y = sample_data(target, R * n, noise_std, generator)
    return X.reshape(R, n, -1), y.reshape(R, n)


@validated(t_inf=Real(positive=True), window=Real(positive=True), eta=Real(positive=True), snapshots=Int(1))
def window_steps(t_inf, window, eta, snapshots):
    """``snapshots`` step indices evenly spaced over the late window [t_inf − window, t_inf], always ending at t_inf."""
    if not window <= t_inf:
        raise ValueError(f"window: need 0 < window <= t_inf = {t_inf}, got {window}")
    if t_inf / eta > 2**53:
        raise ValueError(f"t_inf: t_inf / eta = {t_inf / eta:.3g} steps, more than 2**53 (integers exact in float64)")
    last = int(steps_for(t_inf, eta, "t_inf"))
    first = last - int(round(window / eta))
    return np.unique(np.round(np.linspace(last, first, snapshots)).astype(int))


@validated(particles=Tensor("S R N 1+d"))
def time_average(particles):
    r"""The network :math:`\frac1S\sum_s f_{\theta(t_s)}` of S snapshots (S, R, N, 1+d), as one system (R, S·N, 1+d)."""
    S, R, N, p = particles.shape
    return particles.permute(1, 0, 2, 3).reshape(R, S * N, p)


@validated(
    target=TargetSpec(), R=Int(1), sizes=Ints(1), noise_std=Real(nonnegative=True), generator=Generator(optional=True)
)
def nested_datasets(target, R, sizes, noise_std, generator):
    """{n: (X (R, n, d), y (R, n))} for each n in ``sizes``: the first n of one training set of max(sizes) samples per
    replica (:func:`replica_datasets`), so that the sets are nested and runs at different n share their first samples."""
    X, y = replica_datasets(target, R, int(sizes.max()), noise_std, generator)
    return {int(n): (X[:, :n].contiguous(), y[:, :n].contiguous()) for n in sizes}


@dataclass
class Chain:
    """Particles of the coupled chain at the recorded ``times`` (T,), and the ``problem`` they learn.

    reference (T, R, N_ref, 1+d): f_t; long_time (R, S·N_ref, 1+d): f_∞; population {N: (T, R, N, 1+d)}: f^N_t;
    empirical {(n, N): (T, R, N, 1+d)}: f̂.
    """

    times: np.ndarray
    reference: torch.Tensor
    long_time: torch.Tensor
    population: dict
    empirical: dict
    params: dict
    problem: Problem


@cache
def _chain_example(d):
    """A chain of 2 steps for the fuzzing battery (cached: its tables only read it): R = 1, N_ref = 3, N = 1 and 2,
    one empirical pair (n, N) = (2, 1), times 0 and 0.5, t_inf = 1."""
    example = _problem_example(dict(d=d))
    datasets = {2: replica_datasets(example.target, 1, 2, 0.1, torch.Generator().manual_seed(0))}
    return simulate_chain(
        example, R=1, N_ref=3, init_seed=0, N_values=[1, 2], datasets=datasets, pairs=[(2, 1)], eta=0.5,
        times=[0.0, 0.5], t_inf=1.0, window=0.5, lam=0.01, tau=0.0, snapshots=2,
    )  # fmt: skip


_CHAIN = Instance(Chain, lambda dims: _chain_example(dims["d"]), "a Chain (simulate_chain)")


@validated(
    problem=Instance(
        Problem, _problem_example, "a Problem with a target (companion.engine.problem(activation, target))"
    ),
    R=Int(1, example_max=1),
    N_ref=Int(2, example_max=2),
    init_seed=Anything(0),
    N_values=Ints(1, example_high=1),
    datasets=Anything({}),
    pairs=Anything(()),
    eta=Real(positive=True, example=(0.5, 0.5)),
    times=Tensor("T", array=True, nonnegative=True),
    t_inf=Real(positive=True, example=(1.0, 1.0)),
    window=Real(positive=True, example=(0.5, 0.5)),
    lam=Real(nonnegative=True),
    tau=Real(nonnegative=True),
    seed=Seed(),
    snapshots=Int(1, example_max=2),
    law=Instance(StartingLaw, lambda dims: StartingLaw()),
    dtype=Dtype(),
    device=Device(),
    memory=lambda a: max(
        (8 * a["R"] * a["N_ref"] * ((a["problem"].dim or 1) + 1) * 4, "N_ref"),
        (8 * a["snapshots"] * a["R"] * a["N_ref"] * ((a["problem"].dim or 1) + 1), "snapshots"),
    ),  # the reference cloud and its draws; the late window's snapshots
)
def simulate_chain(
    problem,
    *,
    R,
    N_ref,
    init_seed,
    N_values,
    datasets,
    pairs,
    eta,
    times,
    t_inf,
    window,
    lam,
    tau,
    seed=0,
    snapshots=8,
    law=StartingLaw(),
    dtype=torch.float64,
    device="cpu",
):
    r"""Run every member of the chain (one :func:`coupling.coupled_run`) for ``problem`` (a
    :class:`~companion.engine.spec.Problem`) from the reference cloud ``law.sample(R, N_ref, d, rng=init_seed)``.

    ``N_values``: the N-system sizes (population engine, each N < N_ref); ``datasets``: {n: (X (R, n, d), y (R, n))};
    ``pairs``: the (n, N) combinations trained on data (empirical engine, full batch). Everything is recorded at
    ``times`` (multiples of η, at most t_inf); f_∞ averages ``snapshots`` reference snapshots over
    [t_inf − window, t_inf].
    """
    N_values = sorted({int(N) for N in N_values} | {int(N) for _, N in pairs})
    if any(N < 1 or N >= N_ref for N in N_values):
        raise ValueError(f"N_values: need 1 <= N < N_ref = {N_ref}, got {N_values}")
    record = steps_for(times, eta, "times")
    late = window_steps(t_inf, window, eta, snapshots)
    if record.max() > late[-1]:
        raise ValueError(f"times: must not exceed t_inf = {t_inf}")
    run = coupled_run(
        problem,
        R=R,
        N_ref=N_ref,
        sizes=N_values,
        init_seed=init_seed,
        seed=seed,
        eta=eta,
        steps=int(record.max()),
        record_steps=record,
        lam=lam,
        tau=tau,
        law=law,
        reference_steps=int(late[-1]),
        reference_record_steps=np.union1d(record, late),
        datasets=datasets,
        pairs=[(int(n), int(N)) for n, N in pairs],
        dtype=dtype,
        device=device,
    )
    ref = run.reference
    at = {int(s): k for k, s in enumerate(ref.steps)}
    reference = ref.particles[[at[int(s)] for s in record]]
    long_time = time_average(ref.particles[[at[int(s)] for s in late]])
    params = dict(
        eta=eta,
        lam=lam,
        tau=tau,
        seed=ref.spec.seed.seed,
        stream=ref.spec.seed.name,
        t_inf=t_inf,
        window=window,
        snapshots=len(late),
        N_ref=N_ref,
        R=R,
        activation=problem.activation.name,
    )
    return Chain(
        np.asarray(times, dtype=np.float64), reference, long_time, run.population, run.empirical, params, problem
    )


@validated(chain=_CHAIN, times=Tensor(array=True))
def at_times(chain, times):
    """The chain restricted to the recorded ``times`` (a subset of ``chain.times``): same long-time member."""
    index = [
        int(np.flatnonzero(np.isclose(chain.times, t))[0]) if np.isclose(chain.times, t).any() else -1
        for t in np.atleast_1d(times)
    ]
    if -1 in index:
        raise ValueError(f"times: need a subset of the chain's recorded times {chain.times.tolist()}, got {times}")
    return replace(
        chain,
        times=chain.times[index],
        reference=chain.reference[index],
        population={N: p[index] for N, p in chain.population.items()},
        empirical={key: p[index] for key, p in chain.empirical.items()},
    )


@validated(chain=_CHAIN)
def late_snapshots(chain):
    """The S reference snapshots of the late window, (S, R, N_ref, 1+d), oldest first (``chain.long_time`` is their
    union); the last one is the reference at t_inf."""
    R, total, p = chain.long_time.shape
    N_ref = chain.reference.shape[-2]
    return chain.long_time.reshape(R, total // N_ref, N_ref, p).permute(1, 0, 2, 3)


@validated(chain=_CHAIN)
def stationary_floor(chain):
    r"""The reference's stationary fluctuation around :math:`f_\infty` over the late window,
    :math:`\frac1S\sum_s\lVert f_{t_s} - f_\infty\rVert^2 = \frac1S\sum_s\lVert f_{t_s}\rVert^2 - \lVert f_\infty\rVert^2`
    (f_∞ is the snapshots' mean), per replica (R,): the level under which ‖f_t − f_∞‖² cannot fall."""
    act = chain.problem.activation
    with torch.no_grad():
        own = torch.stack([_inner(snap, snap, act) for snap in late_snapshots(chain)]).mean(0)
        return (own - _inner(chain.long_time, chain.long_time, act)).cpu().numpy()


@validated(theta1=Particles(), theta2=Particles("... M 1+d", like="theta1"), activation=ActivationName())
def distance2(theta1, theta2, activation):
    r""":math:`\lVert f_1 - f_2\rVert^2` exactly (``dynamics.function_distance2``): NumPy array (R,)."""
    return _distance2_resolved(theta1, theta2, activation)


def _distance2_resolved(theta1, theta2, act):
    """:func:`distance2` for an :class:`Activation` ``act`` and checked particles (the tables of a chain)."""
    with torch.no_grad():
        return _distance2(theta1, theta2, act).cpu().numpy()


@validated(theta=Particles(), activation=ActivationName(), target=TargetSpec())
def residual(theta, activation, target):
    r""":math:`\lVert f_\theta - f^*\rVert^2`, exact: twice the population risk
    :math:`\frac12 E(f_\theta - f^*)^2` of ``dynamics.population_risk``. NumPy array (R,)."""
    return _residual_resolved(theta, activation, target)


def _residual_resolved(theta, act, target):
    """:func:`residual` for an :class:`Activation` ``act``, checked particles and a checked target (the tables of a
    chain)."""
    target = target.to(theta.device, theta.dtype)
    with torch.no_grad():
        return (2 * _risk(theta, act, target)).cpu().numpy()


def components(theta_hat, theta_pop, theta_ref, theta_inf, activation, target):
    r"""The four components and the total for one point of the chain, each a NumPy array over replicas (R,):
    statistical :math:`\lVert\hat f - f^N_t\rVert^2`, chaos :math:`\lVert f^N_t - f_t\rVert^2`, optimization
    :math:`\lVert f_t - f_\infty\rVert^2`, residual :math:`\lVert f_\infty - f^*\rVert^2`, total
    :math:`\lVert\hat f - f^*\rVert^2` (computed directly, not from the components)."""
    activation = get_activation(activation)
    return dict(
        statistical=distance2(theta_hat, theta_pop, activation),
        chaos=distance2(theta_pop, theta_ref, activation),
        optimization=distance2(theta_ref, theta_inf, activation),
        residual=residual(theta_inf, activation, target),
        total=residual(theta_hat, activation, target),
    )


def with_bounds(frame):
    r"""Add ``sum`` (of the four components), ``triangle`` :math:`(\sum_i \sqrt{c_i})^2` and ``bound`` (4 × sum)
    to a frame holding the components; :math:`\text{total} \le \text{triangle} \le \text{bound}` always."""
    frame = frame.copy()
    parts = frame[list(COMPONENTS)].clip(lower=0)
    frame["sum"] = parts.sum(axis=1)
    frame["triangle"] = np.sqrt(parts).sum(axis=1) ** 2
    frame["bound"] = 4 * frame["sum"]
    return frame


@validated(chain=_CHAIN, pairs=Anything(None))
def decomposition_table(chain, pairs=None):
    """Long table, one row per replica, (n, N) pair and recorded time, of the components, total and bounds, for the
    chain's problem."""
    activation, target = chain.problem.activation, chain.problem.target
    pairs = list(chain.empirical) if pairs is None else [(int(n), int(N)) for n, N in pairs]
    res = _residual_resolved(chain.long_time, activation, target)
    rows = []
    for k, t in enumerate(chain.times):
        opt = _distance2_resolved(chain.reference[k], chain.long_time, activation)
        chaos = {
            N: _distance2_resolved(chain.population[N][k], chain.reference[k], activation)
            for N in {N for _, N in pairs}
        }
        for n, N in pairs:
            hat = chain.empirical[(n, N)][k]
            stat = _distance2_resolved(hat, chain.population[N][k], activation)
            total = _residual_resolved(hat, activation, target)
            for r in range(len(res)):
                rows.append(
                    dict(
                        replica=r,
                        n=n,
                        N=N,
                        t=float(t),
                        statistical=stat[r],
                        chaos=chaos[N][r],
                        optimization=opt[r],
                        residual=res[r],
                        total=total[r],
                    )
                )
    return with_bounds(pd.DataFrame(rows))


@validated(chain=_CHAIN)
def chaos_table(chain):
    """Long table (replica, N, t, chaos) of :math:`\\lVert f^N_t - f_t\\rVert^2` for every simulated N."""
    activation = chain.problem.activation
    rows = []
    for N, particles in chain.population.items():
        for k, t in enumerate(chain.times):
            values = _distance2_resolved(particles[k], chain.reference[k], activation)
            rows += [dict(replica=r, N=N, t=float(t), chaos=v) for r, v in enumerate(values)]
    return pd.DataFrame(rows)


@validated(chain=_CHAIN)
def optimization_table(chain):
    """Long table (replica, t, optimization) of :math:`\\lVert f_t - f_\\infty\\rVert^2` at every recorded time."""
    activation = chain.problem.activation
    rows = []
    for k, t in enumerate(chain.times):
        values = _distance2_resolved(chain.reference[k], chain.long_time, activation)
        rows += [dict(replica=r, t=float(t), optimization=v) for r, v in enumerate(values)]
    return pd.DataFrame(rows)


@validated(chain=_CHAIN)
def population_table(chain):
    """Long table (replica, N, t, error) of :math:`\\lVert f^N_t - f^*\\rVert^2` for every simulated N."""
    activation, target = chain.problem.activation, chain.problem.target
    rows = []
    for N, particles in chain.population.items():
        for k, t in enumerate(chain.times):
            rows += [
                dict(replica=r, N=N, t=float(t), error=e)
                for r, e in enumerate(_residual_resolved(particles[k], activation, target))
            ]
    return pd.DataFrame(rows)


MEMBERS = ("empirical", "population", "reference", "long_time", "target")


@validated(chain=_CHAIN, pair=Ints(1, example_high=1), t=Real(nonnegative=True), line=Reals(), replica=Int(0))
def members_along_line(chain, pair, t, line, replica=0):
    """The chain's members f̂ (``pair`` = (n, N)), f^N_t, f_t, f_∞ and f* of one replica at time t along the input
    line x = s e₁ (s in ``line``): long table (s, member, value), member in :data:`MEMBERS`."""
    activation, target = chain.problem.activation, chain.problem.target
    pair = (int(pair[0]), int(pair[1])) if len(pair) == 2 else None
    if pair not in chain.empirical:
        raise ValueError(f"pair: need one of the chain's pairs (n, N) {sorted(chain.empirical)}, got {pair}")
    if not np.isclose(chain.times, t).any():
        raise ValueError(f"t: need one of the chain's recorded times {chain.times.tolist()}, got {t}")
    if replica >= chain.reference.shape[1]:
        raise ValueError(f"replica: need a replica index below R = {chain.reference.shape[1]}, got {replica}")
    k = int(np.flatnonzero(np.isclose(chain.times, t))[0])
    theta = (chain.empirical[tuple(pair)][k], chain.population[pair[1]][k], chain.reference[k], chain.long_time)
    X = torch.zeros(
        len(line), chain.reference.shape[-1] - 1, dtype=chain.reference.dtype, device=chain.reference.device
    )
    X[:, 0] = torch.as_tensor(np.asarray(line, dtype=np.float64))
    with torch.no_grad():
        curves = [network(th[replica : replica + 1], activation, X)[0] for th in theta]
        curves.append(target.to(X.device, X.dtype)(X))
    return pd.DataFrame(
        [
            dict(s=s, member=name, value=float(v))
            for name, curve in zip(MEMBERS, curves)
            for s, v in zip(line, curve.cpu().numpy())
        ]
    )


@validated(
    theta=Particles("R N 1+d"), activation=ActivationName(), target=TargetSpec(), inputs=Tensor("1+M d", like="theta")
)
def monte_carlo_check(theta, activation, target, inputs):
    """The exact :math:`\\lVert f_\\theta - f^*\\rVert^2` (:func:`residual`) of each replica beside its Monte Carlo
    estimate on ``inputs`` (M, d), M >= 2, and that estimate's standard error: table (replica, exact, monte_carlo,
    standard_error)."""
    with torch.no_grad():
        sq = (network(theta, activation, inputs) - target.to(inputs.device, inputs.dtype)(inputs)) ** 2
    return pd.DataFrame(
        dict(
            replica=range(theta.shape[0]),
            exact=residual(theta, activation, target),
            monte_carlo=sq.mean(-1).cpu().numpy(),
            standard_error=(sq.std(-1) / np.sqrt(inputs.shape[0])).cpu().numpy(),
        )
    )


@validated(theta=Particles(), activation=ActivationName(), target=TargetSpec(), K=Int(1, example_max=6))
def degree_errors(theta, activation, target, K):
    r"""Per-degree split of :math:`\lVert f_\theta - f^*\rVert^2 = \sum_k \lVert T_k(\mu) - T^*_k\rVert_F^2`
    (Parseval in the Hermite basis), with :math:`T_k(\mu) = \frac1N\sum_i a_i c_k(|w_i|)\,\hat w_i^{\otimes k}`, so
    :math:`\langle T_k(\mu), T_k(\mu')\rangle_F = \frac{1}{NN'}\sum_{ij} a_i a'_j c_k(|w_i|) c_k(|w'_j|)(\hat w_i\cdot\hat w'_j)^k`.

    Returns (R, K + 1): column k < K is :math:`\lVert T_k(\mu) - T^*_k\rVert_F^2`, the last column the rest
    (degrees ≥ K, by difference with the exact residual), so each row sums to :func:`residual`."""
    act = activation
    target = target.to(theta.device, theta.dtype)
    a, W = split(theta)
    N = theta.shape[-2]
    degrees = torch.arange(K, dtype=theta.dtype, device=theta.device)
    with torch.no_grad():
        weights = (a / N)[..., None] * act.coefficients(W.norm(dim=-1), K)  # (R, N, K)
        own = 0
        for i in particle_blocks(N):
            for j in particle_blocks(N):
                cosines = norms_and_cosines(W[..., i, :], W[..., j, :])[2]
                own = own + torch.einsum(
                    "...ik,...ijk,...jk->...k", weights[..., i, :], cosines[..., None] ** degrees, weights[..., j, :]
                )
        target_weights = target.b[:, None] * target.profile_coefficients(K)  # (M, K)
        cosines = norms_and_cosines(W, target.U)[2]
        cross = torch.einsum("...ik,...imk,mk->...k", weights, cosines[..., None] ** degrees, target_weights)
        per_degree = own - 2 * cross + hermite_tensor_norms(target, K).to(theta) ** 2
    per_degree = per_degree.cpu().numpy()
    rest = _residual_resolved(theta, act, target) - per_degree.sum(-1)
    return np.concatenate([per_degree, rest[..., None]], axis=-1)


def hermite_tail(target, K):
    r"""The target's Hermite tail beyond degree K: :math:`\sum_{k > K} \lVert T^*_k\rVert_F^2
    = E f^{*2} - \sum_{k \le K} \lVert T^*_k\rVert_F^2`, exact."""
    K = nonneg_int("K", K)
    head = (hermite_tensor_norms(target, K + 1).to(torch.float64) ** 2).sum()
    return float(target.norm2().to(torch.float64) - head)


@validated(head=TargetSpec(), direction=Tensor("d"), beta=Tensor("B"), K=Int(1, example_min=6))
def with_tail(head, direction, beta, K=64):
    r"""The target :math:`f^* + \sum_k \beta_k h_k(u\cdot x)` as one ridge target: each profile of ``head`` by its
    first K orthonormal Hermite coefficients (the head's own tail beyond K is dropped:
    :func:`hermite_tail` (head, K − 1) says how much), plus one profile β along the unit vector ``direction``."""
    beta = torch.as_tensor(beta, dtype=head.U.dtype)
    if beta.ndim != 1 or beta.numel() > K:
        raise ValueError(
            f"beta: need a 1-D vector of at most K = {K} Hermite coefficients, got shape {tuple(beta.shape)}"
        )
    u = torch.as_tensor(direction, dtype=head.U.dtype)
    if u.shape != (head.dim,) or not torch.isclose(u.norm(), torch.ones((), dtype=u.dtype)):
        raise ValueError(f"direction: need a unit vector in R^{head.dim}")
    profiles = torch.cat([head.profile_coefficients(K), torch.nn.functional.pad(beta, (0, K - beta.numel()))[None]])
    directions = torch.cat([head.U / head.U.norm(dim=-1, keepdim=True), u[None]])
    return ridge_target(torch.cat([head.b, torch.ones(1, dtype=head.b.dtype)]), directions, profiles)


@validated(
    rate=Real(positive=True, below=1),
    K=Int(1, example_min=6),
    degrees=Ints(0),
    memory=lambda args: (8 * args["K"], "K"),
)
def geometric_profile(rate, degrees, K=64):
    r"""Hermite coefficients :math:`\beta_k = \text{rate}^k` on the given degrees, 0 elsewhere (length K): a tail whose
    mass :math:`\sum_k \beta_k^2` decays at the geometric rate rate²."""
    if degrees.size and degrees.max() >= K:
        raise ValueError(f"degrees: need degrees < K = {K}, got {degrees.tolist()[:8]}")
    beta = np.zeros(K)
    beta[degrees] = float(rate) ** degrees
    return torch.as_tensor(beta)


@validated(
    x=Reals(positive=True, dim="T"),
    component=Reals(positive=True, dim="T"),
    excess=Reals(dim="T"),
    x_test=Reals(positive=True),
)
def rate_prediction(x, component, excess, x_test):
    r"""Predict an effect at held-out knob values from the rate of a component fitted on training values only.

    The rate p is the log–log slope of ``component`` (replica means) against the training knob values ``x``; the
    effect is modelled as :math:`\alpha x^p`, with α fitted by least squares to the measured ``excess`` at ``x``
    (the effect of the knob on the total error: the component plus its cross terms with the other links, which
    have the same order), and evaluated at ``x_test``. Returns dict(rate, amplitude, prediction (len(x_test),),
    component_only (len(x_test),): the component's own fit, i.e. the prediction that the cross terms vanish)."""
    p, log_c = loglog_fit(x, component)
    amplitude = float(np.dot(x**p, excess) / np.dot(x**p, x**p))
    return dict(rate=p, amplitude=amplitude, prediction=amplitude * x_test**p, component_only=np.exp(log_c) * x_test**p)


REPLICA_SERIES = {
    "statistical": "replica values: statistical (knob n)",
    "chaos": "replica values: propagation of chaos (knob N_eff)",
}


@validated(component=Choice(tuple(REPLICA_SERIES)), knob=Reals(dim="K"), values=Tensor("R K", array=True))
def replica_rows(component, knob, values):
    """Rows (series, knob, replica, value) of one component's replica values (R, len(knob)), in the layout that
    :func:`slope_calibration` reads back (``knob``: n for the statistical term, N_eff for propagation of chaos)."""
    return [
        dict(series=REPLICA_SERIES[component], knob=k, replica=r, value=v)
        for r, row in enumerate(values)
        for k, v in zip(knob, row)
    ]


def slope_calibration(frame, level=0.9, n_boot=2000):
    r"""Calibration of the slope intervals over independent batches: ``frame`` holds :func:`replica_rows` of K runs
    under independent seeds (column ``seed``), each run one batch of R replicas. For each component, the log–log
    slope of the replica mean against its knob with its percentile bootstrap interval (:func:`coupling.fit_rate`),
    per batch and pooled, and :func:`calibration.calibration_study`'s coverage of the pooled slope by the batches'
    intervals against the nominal level, with the spread of the batch slopes against their bootstrap standard error.
    Returns one row per component."""
    rows = []
    for component, series in REPLICA_SERIES.items():
        part = frame[frame["series"] == series]
        sizes = part.groupby("seed")["replica"].nunique()
        if sizes.nunique() != 1:
            raise ValueError(f"frame: the batches of {component} hold different numbers of replicas: {sizes.to_dict()}")
        wide = part.pivot_table(index=["seed", "replica"], columns="knob", values="value").sort_index()
        x = wide.columns.values

        def interval(sample):
            fit = fit_rate(x, sample, n_boot=n_boot, level=level)
            return fit["slope"], fit["slope_lo"], fit["slope_hi"]

        study = calibration_study(wide.values, interval, len(sizes), level)
        rows.append(
            dict(
                statistic=f"{component} slope",
                K=study["K"],
                R=int(sizes.iloc[0]),
                pooled=float(study["pooled"][0]),
                pooled_lo=float(study["pooled"][1]),
                pooled_hi=float(study["pooled"][2]),
                batch_sd=float(study["estimates"].std(ddof=1)),
                bootstrap_half_width=float(((study["hi"] - study["lo"]) / 2).mean()),
                spread_ratio=float(study["spread_ratio"]),
                covered=study["covered_total"],
                coverage=study["share"],
                coverage_lo=study["share_lo"],
                coverage_hi=study["share_hi"],
                expected=study["expected"],
                p_value=study["p_value"],
            )
        )
    return pd.DataFrame(rows)
