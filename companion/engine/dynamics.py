r"""Noisy gradient descent under μP: the mean-field Langevin particle system.

Particles :math:`\theta_i = (a_i, w_i)`, :math:`f_N(x) = \frac1N \sum_i a_i \sigma(w_i\cdot x)`, risk
:math:`R = \frac12 E(f_N - f^*)^2` (population) or :math:`\frac12 \frac1n \sum_j (f_N(x_j) - y_j)^2` (empirical).
First variation :math:`V(\mu,\theta) = E[(f_\mu(x) - y)\, a\,\sigma(w\cdot x)]`, one step

.. math:: \theta_i \leftarrow \theta_i - \eta\,(\nabla_\theta V(\mu_N, \theta_i) + \lambda\theta_i) + \sqrt{2\eta\tau}\,\xi_i,

which is plain GD on :math:`f_N` with per-neuron learning rate ηN, weight decay λ and Langevin noise at temperature τ;
time is t = kη. Engines for ∇V: "population" (exact Gaussian expectations, explicit gradients of the kernels in
:mod:`companion.engine.gradients`; ``_population_grad``, autograd through the kernels, is their reference),
"empirical" (n samples, explicit gradient, chunked over samples and particles), "none" (V ≡ 0: Ornstein–Uhlenbeck).
"""

import math
import os
import sys
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from .activations import get_activation
from .contract import (
    ActivationName,
    Anything,
    Bool,
    Choice,
    Int,
    Ints,
    Maybe,
    Particles,
    Real,
    Seed,
    TargetSpec,
    Tensor,
    validated,
)
from .gradients import _population_grad as _explicit_grad
from .gradients import _target_grad, split
from .kernels import _cross_kernel
from .seeding import torch_seed
from .spec import Problem, RunSpec
from .targets import Target
from .validation import describe, float_tensor, integer_array, positive_int

ENGINES = ("population", "empirical", "none")
NOISE, MINIBATCH = 0, 1  # the sub-streams (SeedSequence spawn keys) of a replica: Langevin noise, minibatch indices
KERNEL_BLOCK = 512


class DivergenceError(FloatingPointError):
    """Raised when particles become non-finite during a run."""


@dataclass
class Trajectory:
    """Snapshots of a run at ``steps`` (times = steps·η): particles (T, R, N, 1+d) on the CPU (None unless kept),
    risk (T, R) the exact population risk at each snapshot (None without a target), final particles (R, N, 1+d);
    ``problem`` and ``spec`` the run's :class:`~companion.engine.spec.Problem` and
    :class:`~companion.engine.spec.RunSpec`, ``params`` both as a plain dict with the sizes R, N, d."""

    steps: np.ndarray
    times: np.ndarray
    particles: torch.Tensor | None
    risk: torch.Tensor | None
    final: torch.Tensor
    params: dict = field(default_factory=dict)
    problem: Problem | None = None
    spec: RunSpec | None = None


@validated(
    theta=Particles(),
    activation=ActivationName(),
    X=Tensor("... n d", like="theta"),
    memory=lambda a: (8 * a["X"].shape[-2] * a["theta"].shape[-2] * max(a["theta"].shape[:-2].numel(), 1), "X"),
)
def network(theta, activation, X):
    r""":math:`f_N(x) = \frac1N\sum_i a_i\sigma(w_i\cdot x)` for X (n, d) or (R, n, d) (cast to θ's dtype and
    device): shape (R, n)."""
    a, W = split(theta)
    act = activation
    return (act.fn(X @ W.transpose(-1, -2)) @ a[..., :, None])[..., 0] / theta.shape[-2]


def particle_blocks(N, size=KERNEL_BLOCK):
    """Slices covering range(N) in blocks of at most ``size`` particles."""
    return [slice(start, min(start + size, N)) for start in range(0, N, size)]


def function_inner(theta1, theta2, activation):
    r""":math:`E_x[f_1(x) f_2(x)] = \frac{1}{N_1N_2}\sum_{ij} a_i a'_j K(w_i, w'_j)` for two particle systems (exact):
    shape (R,). The kernel is formed in blocks of at most KERNEL_BLOCK × KERNEL_BLOCK pairs, so memory stays bounded."""
    return _inner(theta1, theta2, get_activation(activation))


def _inner(theta1, theta2, act):
    """:func:`function_inner` for an :class:`Activation` ``act``."""
    a1, W1 = split(theta1)
    a2, W2 = split(theta2)
    total = 0
    for i in particle_blocks(theta1.shape[-2]):
        for j in particle_blocks(theta2.shape[-2]):
            K = _cross_kernel(act, W1[..., i, :], act, W2[..., j, :])
            total = total + (a1[..., i, None] * K * a2[..., None, j]).sum((-1, -2))
    return total / (theta1.shape[-2] * theta2.shape[-2])


@validated(theta1=Particles(), theta2=Particles("... M 1+d", like="theta1"), activation=ActivationName())
def function_distance2(theta1, theta2, activation):
    r""":math:`E_x(f_1 - f_2)^2 = \langle f_1,f_1\rangle - 2\langle f_1,f_2\rangle + \langle f_2,f_2\rangle`, exact: (R,)."""
    return _distance2(theta1, theta2, activation)


def _distance2(theta1, theta2, act):
    """:func:`function_distance2` for an :class:`Activation` ``act`` and checked particles (the package's loops)."""
    return _inner(theta1, theta1, act) - 2 * _inner(theta1, theta2, act) + _inner(theta2, theta2, act)


@validated(theta=Particles(), activation=ActivationName(), target=TargetSpec())
def population_risk(theta, activation, target):
    r"""The population risk :math:`\frac12 E_{x\sim N(0, I_d)}(f_N(x) - f^*(x))^2` of particles θ (R, N, 1+d) for the
    target f*, exact (closed-form Gaussian kernels): shape (R,)."""
    return _risk(theta, activation, target)


def _risk(theta, act, target):
    """:func:`population_risk` for an :class:`Activation` ``act`` and a checked target (the engine's inner loop)."""
    a, W = split(theta)
    linear = (a * target.cross_resolved(act, W)).sum(-1) / theta.shape[-2]
    return 0.5 * (_inner(theta, theta, act) - 2 * linear + target.norm2().to(theta))


def _population_grad(theta, act, target):
    r"""The reference for :func:`companion.engine.gradients.population_grad`: :math:`N\,\nabla_\theta R` by autograd
    through :func:`population_risk`, and R."""
    with torch.enable_grad():
        leaf = theta.detach().requires_grad_(True)
        risk = _risk(leaf, act, target)
        (grad,) = torch.autograd.grad(risk.sum(), leaf)
    return grad * theta.shape[-2], risk.detach()


def _accumulate(grad, cs, a, W, G, grad_a):
    r"""Add one chunk's sums to particles ``cs``: :math:`G_i = \sum_j r_j\sigma'(w_i\cdot x_j)\,x_j` (R, c, d) gives
    :math:`\nabla_w \mathrel{+}= a_iG_i`; ``grad_a`` :math:`= \sum_j r_j\sigma(w_i\cdot x_j)` (R, c), or None for a
    1-homogeneous σ, where :math:`\sigma(z) = z\sigma'(z)` makes it :math:`w_i\cdot G_i` (no pass over σ's values)."""
    grad[:, cs, 1:] += a[:, cs, None] * G
    grad[:, cs, 0] += (W[:, cs] * G).sum(-1) if grad_a is None else grad_a


def _empirical_grad(theta, act, X, y, chunk_size):
    r"""Explicit :math:`\nabla_a V = \frac1n\sum_j r_j\sigma(w\cdot x_j)`, :math:`\nabla_w V = a\frac1n\sum_j r_j\sigma'(w\cdot x_j)x_j`,
    :math:`r_j = f_N(x_j) - y_j`, in chunks of at most ``chunk_size`` (sample × particle × replica) entries (one chunk
    whenever the whole problem fits). Data shared by the replicas (X (n, d)) go through plain matrix products with every
    replica's particles as columns, pre-activations laid out (samples, R, particles); per-replica data (X (R, n, d))
    through batched ones, laid out (R, samples, particles)."""
    R, N, p = theta.shape
    a, W = split(theta)
    n = X.shape[-2]
    shared = X.ndim == 2
    cols = min(N, max(1, chunk_size // R))
    rows = max(1, chunk_size // (R * cols))
    col_slices = [slice(s, s + cols) for s in range(0, N, cols)]
    grad = torch.zeros_like(theta)
    risk = torch.zeros(R, dtype=theta.dtype, device=theta.device)
    if shared:
        y = y.T if y.ndim == 2 else y[:, None]  # (n, R) or (n, 1)
        Wt = [W[:, cs].reshape(-1, p - 1).T for cs in col_slices]  # (d, R·c) per column block
    else:
        Wt = [W[:, cs].transpose(-1, -2) for cs in col_slices]  # (R, d, c)
    a_blocks = [a[:, cs, None] for cs in col_slices]  # (R, c, 1)
    for start in range(0, n, rows):
        Xc = X[..., start : start + rows, :]
        yc = y[start : start + rows] if shared else y[..., start : start + rows]
        m = Xc.shape[-2]
        if shared:
            pre = [(Xc @ Wb).view(m, R, -1) for Wb in Wt]  # (m, R, c)
            acts = [act.fn(P) for P in pre]
            r = sum((A.permute(1, 0, 2) @ ab)[..., 0] for A, ab in zip(acts, a_blocks)).T.div_(N).sub_(yc)  # (m, R)
            risk += 0.5 * (r * r).sum(0)
            for P, A, cs in zip(pre, acts, col_slices):
                G = act.derivative(P).permute(1, 2, 0) @ (r.T[..., None] * Xc)  # (R, c, d)
                grad_a = None if act.homogeneous else (A.permute(1, 2, 0) @ r.T[..., None])[..., 0]
                _accumulate(grad, cs, a, W, G, grad_a)
        else:
            pre = [Xc @ Wb for Wb in Wt]  # (R, m, c)
            acts = [act.fn(P) for P in pre]
            r = sum((A @ ab)[..., 0] for A, ab in zip(acts, a_blocks)).div_(N).sub_(yc)
            risk += 0.5 * (r * r).sum(-1)
            for P, A, cs in zip(pre, acts, col_slices):
                G = act.derivative(P).transpose(-1, -2) @ (r[..., :, None] * Xc)  # (R, c, d)
                grad_a = None if act.homogeneous else (A.transpose(-1, -2) @ r[..., :, None])[..., 0]
                _accumulate(grad, cs, a, W, G, grad_a)
    return grad.div_(n), risk.div_(n)


def first_variation_grad(theta, activation, target=None, engine="population", data=None, chunk_size=2**20):
    r""":math:`\nabla_\theta V(\mu_N, \theta_i)` for every particle: (R, N, 1+d), and the risk the engine sees (R,).

    "population": explicit gradients of the exact kernels (:func:`companion.engine.gradients.population_grad`, blocks
    of ``gradients.ENTRY_BUDGET`` replica × pair entries); "empirical": blocks of ``chunk_size`` (replica × sample ×
    particle) entries."""
    return _variation_grad(theta, get_activation(activation), target, engine, data, chunk_size)


def _variation_grad(theta, act, target, engine, data, chunk_size):
    """:func:`first_variation_grad` for an :class:`Activation` ``act``."""
    if engine == "population":
        return _explicit_grad(theta, act, target)
    if engine == "empirical":
        return _empirical_grad(theta, act, data[0], data[1], chunk_size)
    return torch.zeros_like(theta), torch.zeros(theta.shape[0], dtype=theta.dtype, device=theta.device)


def _minibatch(data, batch_size, generators, device):
    """Per-replica minibatches without replacement: X (R, b, d), y (R, b)."""
    X, y = data
    n = X.shape[-2]
    idx = torch.stack([torch.randperm(n, generator=g)[:batch_size] for g in generators]).to(device)
    X = X.expand(len(generators), *X.shape[-2:]) if X.ndim == 2 else X
    y = y.expand(len(generators), n) if y.ndim == 1 else y
    return torch.gather(X, 1, idx[..., None].expand(-1, -1, X.shape[-1])), torch.gather(y, 1, idx)


NOISE_BUDGET = 2**22


def _noise_steps(generators, steps, shape, dtype, device):
    """Noise ξ (R, *shape) for each of ``steps`` steps, replica r from ``generators[r]``. Where the stream allows it
    (CPU, 16 | numel: torch then draws a batch exactly as the consecutive single draws), many steps are drawn per call,
    up to NOISE_BUDGET numbers, so the values equal one draw per step."""
    per_step = math.prod(shape)
    batch = 1
    if device.type == "cpu" and per_step % 16 == 0:
        batch = max(1, min(steps, NOISE_BUDGET // (per_step * len(generators))))
    done = 0
    while done < steps:
        n = min(batch, steps - done)
        drawn = torch.stack([torch.randn(n, *shape, generator=g, device=device, dtype=dtype) for g in generators], 1)
        yield from drawn
        done += n


def _replica_generators(stream, first, R, purpose, device):
    """torch generators of replicas first … first + R − 1 of ``stream``, sub-stream ``purpose`` (NOISE, MINIBATCH)."""
    return [
        torch.Generator(device=device).manual_seed(torch_seed(stream.sequence(first + r, purpose))) for r in range(R)
    ]


@validated(steps=Int(0), num=Int(1), memory=lambda args: (16 * args["num"], "num"))
def log_time_grid(steps, num=20):
    """About ``num`` log-spaced step indices in [0, steps], always including 0 and ``steps``."""
    if steps < 1:
        return np.array([0])
    grid = np.unique(np.round(np.geomspace(1, steps, max(num - 1, 1))).astype(int))
    return np.unique(np.concatenate([[0], grid, [steps]]))


def _check_data(data, R, d):
    """The empirical engine's data (X (n, d) or (R, n, d), y (n,) or (R, n)) as finite float tensors, n >= 1."""
    if data is None:
        raise ValueError("data: the empirical engine needs data = (X, y), got None")
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"data: the empirical engine needs data = (X, y), got {describe(data)}")
    X = float_tensor("data", data[0], finite=False, nonempty=False)
    y = float_tensor("data", data[1], finite=False, nonempty=False)
    if X.ndim not in (2, 3) or X.shape[-1] != d or (X.ndim == 3 and X.shape[0] != R):
        raise ValueError(f"data: X must have shape (n, {d}) or ({R}, n, {d}), got {tuple(X.shape)}")
    if X.shape[-2] == 0:
        raise ValueError("data: need at least one sample, got n = 0")
    if y.ndim not in (1, 2) or y.shape[-1] != X.shape[-2] or (y.ndim == 2 and y.shape[0] != R):
        raise ValueError(
            f"data: y must have shape ({X.shape[-2]},) or ({R}, {X.shape[-2]}) for X of shape "
            f"{tuple(X.shape)}, got {tuple(y.shape)}"
        )
    if not (torch.isfinite(X).all() and torch.isfinite(y).all()):
        raise ValueError("data: X or y contains NaN or inf")
    return X, y


def _validate(
    theta0,
    *,
    target,
    eta,
    steps,
    lam,
    tau,
    engine,
    record_steps,
    seed,
    first_replica,
    noise_width=None,
    data=None,
    batch_size=None,
    chunk_size=1,
    check_every=None,
):
    """The rules of :func:`simulate` that relate its arguments (each already checked by its contract): data and
    batch size against the engine, record steps and noise width against the run; the run as a
    :class:`~companion.engine.spec.RunSpec`."""
    R, N, p = theta0.shape
    if engine == "population" and target is None:
        raise ValueError("target: the population engine needs a target")
    if engine == "empirical":
        data = _check_data(data, R, p - 1)
    elif data is not None:
        raise ValueError(f"data: only the empirical engine uses data, got data with engine = {engine!r}")
    if batch_size is not None:
        if engine != "empirical":
            raise ValueError(
                f"batch_size: only the empirical engine uses minibatches, got batch_size = "
                f"{batch_size!r} with engine = {engine!r}"
            )
        batch_size = positive_int("batch_size", batch_size, maximum=data[0].shape[-2])
    record = (
        log_time_grid(steps)
        if record_steps is None
        else np.unique(integer_array("record_steps", record_steps, minimum=0, maximum=steps))
    )
    if noise_width is not None and noise_width < N:
        raise ValueError(f"noise_width: must be at least N = {N}, got {noise_width}")
    spec = RunSpec(
        eta=eta,
        steps=steps,
        lam=lam,
        tau=tau,
        engine=engine,
        batch_size=batch_size,
        record=tuple(int(k) for k in record),
        seed=seed,
        first_replica=first_replica,
        noise_width=noise_width,
        chunk_size=chunk_size,
        check_every=check_every,
    )
    return data, spec


def _simulate_memory(args):
    """Bytes :func:`simulate` holds at once, roughly, and the argument that drives them: the noise of one step
    (R, noise_width, 1+d) and the recorded particles (T, R, N, 1+d) (kernels and gradients are formed in blocks of
    bounded size)."""
    R, N, p = args["theta0"].shape
    record = len(log_time_grid(args["steps"])) if args["record_steps"] is None else len(args["record_steps"])
    noise = 8 * R * (args["noise_width"] or N) * p
    particles = 8 * record * R * N * p * bool(args["keep_particles"])
    return max((noise, "noise_width"), (particles, "record_steps"))


@validated()
def progress_default():
    """Whether ``simulate(progress=None)`` shows a progress bar: ``$COMPANION_PROGRESS`` ("1"/"0") when set (the
    notebook runner sets "0", so executed notebooks and logs carry no bars), else on in an interactive Jupyter kernel
    (a widget bar through tqdm.auto) or when stderr is a terminal."""
    setting = os.environ.get("COMPANION_PROGRESS")
    if setting is not None:
        return setting.strip().lower() not in ("", "0", "false", "no", "off")
    return "ipykernel" in sys.modules or sys.stderr.isatty()


@validated(
    theta0=Particles("R N 1+d"),
    activation=ActivationName(),
    target=TargetSpec(optional=True),
    eta=Real(positive=True),
    steps=Int(0, example_max=3),
    lam=Real(nonnegative=True),
    tau=Real(nonnegative=True),
    engine=Choice(ENGINES),
    record_steps=Maybe(Ints(0, example_high=0)),
    seed=Seed("simulate"),
    first_replica=Int(0),
    noise_width=Maybe(Int(1, example_max=0)),
    keep_particles=Bool(),
    progress=Maybe(Bool()),
    chunk_size=Int(1, example_max=2**20),
    check_every=Maybe(Int(1)),
    data=Anything(None),
    batch_size=Anything(None),
    memory=_simulate_memory,
)
def simulate(
    theta0,
    activation,
    target=None,
    *,
    eta,
    steps,
    lam=0.0,
    tau=0.0,
    engine="population",
    data=None,
    batch_size=None,
    record_steps=None,
    seed=0,
    first_replica=0,
    noise_width=None,
    keep_particles=True,
    progress=None,
    chunk_size=2**20,
    check_every=None,
):
    r"""Noisy gradient descent under μP from ``theta0`` (R replicas of N particles θ_i = (a_i, w_i), shape
    (R, N, 1+d)): ``steps`` steps of

    .. math:: \theta_i \leftarrow \theta_i - \eta\,(\nabla_\theta V(\mu_N, \theta_i) + \lambda\theta_i)
              + \sqrt{2\eta\tau}\,\xi_i,

    V the first variation of the risk :math:`\frac12 E(f_N - f^*)^2` for
    :math:`f_N(x) = \frac1N\sum_i a_i\sigma(w_i\cdot x)` (σ = ``activation``, f* = ``target``): η (``eta``) is the
    step (time t = kη; per-neuron learning rate ηN), λ (``lam``) the weight decay, τ (``tau``) the temperature of the
    Langevin noise ξ ~ N(0, I). ``engine``: "population" (exact Gaussian expectations), "empirical" (the samples
    ``data`` = (X, y), minibatches of ``batch_size``), "none" (V ≡ 0: an Ornstein–Uhlenbeck chain).

    Returns a :class:`Trajectory`: ``times`` and ``steps`` of the snapshots at ``record_steps`` (default about 20
    log-spaced steps), ``particles`` (T, R, N, 1+d) on the CPU (``keep_particles``), ``risk`` (T, R) the exact
    population risk (with a target), ``final`` (R, N, 1+d), and the run's ``problem`` and ``spec``.

    Randomness is per replica (:mod:`companion.engine.seeding`): ``seed`` is a :class:`~companion.engine.seeding.Stream`
    or an integer k (the stream ``Stream(k, "simulate")``); replica r of the batch is replica ``first_replica + r`` of
    the stream and draws its noise ξ (noise_width, 1+d) from its sub-stream 0 and its minibatches from its sub-stream
    1, so replica r of a batch equals a lone run with ``first_replica = r``. Only the first N noise columns are used:
    an N-system started from ``theta0_ref[:, :N]`` with ``noise_width = N_ref`` is synchronously coupled to the
    reference. Noise is drawn for many steps at once where that leaves each generator's stream unchanged
    (:func:`_noise_steps`), so the numbers are those of one draw per step; replica r's noise equals a lone run's bit
    for bit (its arithmetic too, up to the last bit of batched BLAS products). Non-finite particles raise
    :class:`DivergenceError` naming the first non-finite step; the flag stays on the device and is read every
    ``check_every`` steps (default 1 on the CPU, 25 elsewhere), so CUDA does not sync every step. The population
    engine's recorded risk comes from the same kernel sums as the step's gradient.
    """
    data, spec = _validate(
        theta0,
        target=target,
        eta=eta,
        steps=steps,
        lam=lam,
        tau=tau,
        engine=engine,
        record_steps=record_steps,
        seed=seed,
        first_replica=first_replica,
        noise_width=noise_width,
        data=data,
        batch_size=batch_size,
        chunk_size=chunk_size,
        check_every=check_every,
    )
    return run(theta0, Problem(activation, target), spec, data, keep_particles, progress)


def run(theta0, problem, spec, data=None, keep_particles=True, progress=None):
    """:func:`simulate` for checked values: particles ``theta0`` (R, N, 1+d), a
    :class:`~companion.engine.spec.Problem`, a :class:`~companion.engine.spec.RunSpec` and the empirical engine's
    checked ``data``."""
    act, target = problem.activation, problem.target
    eta, steps, lam, tau, engine = spec.eta, spec.steps, spec.lam, spec.tau, spec.engine
    theta = theta0.clone()
    device, dtype = theta.device, theta.dtype
    R, N, p = theta.shape
    if target is not None:
        target = target.to(device, dtype)
    if data is not None:
        data = (data[0].to(device, dtype), data[1].to(device, dtype))
    width = spec.noise_width or N
    noise_gens = _replica_generators(spec.seed, spec.first_replica, R, NOISE, device)
    batch_gens = _replica_generators(spec.seed, spec.first_replica, R, MINIBATCH, "cpu")
    noise_scale = math.sqrt(2 * eta * tau)
    noise = _noise_steps(noise_gens, steps, (width, p), dtype, device) if tau > 0 else None
    check_every = spec.check_every or (1 if device.type == "cpu" else 25)
    first_bad = torch.zeros((), dtype=torch.long, device=device)  # first non-finite step, 0 while none (no sync)
    record = spec.record_steps
    record_set = set(spec.record)
    snapshots, risks = [], []
    show = progress_default() if progress is None else bool(progress)
    for k in tqdm(range(steps + 1), disable=not show, desc=f"{engine} N={N}", leave=False):
        grad = risk = None
        if k < steps:
            batch = data
            if engine == "empirical" and spec.batch_size is not None:
                batch = _minibatch(data, spec.batch_size, batch_gens, device)
            grad, risk = _variation_grad(theta, act, target, engine, batch, spec.chunk_size)
        if k in record_set:
            snapshots.append(theta.detach().cpu().clone() if keep_particles else None)
            if target is not None:
                if engine != "population" or risk is None:  # the population step's kernel sums carry the exact risk
                    with torch.no_grad():
                        risk = _risk(theta, act, target)
                risks.append(risk.cpu())
        if k == steps:
            break
        with torch.no_grad():
            theta.add_(grad.add_(theta, alpha=lam), alpha=-eta)  # theta is this run's own copy of theta0
            if noise is not None:
                theta.add_(next(noise)[:, :N], alpha=noise_scale)
        first_bad.masked_fill_(first_bad.eq(0) & ~torch.isfinite(theta).all(), k + 1)
        if (k + 1) % check_every == 0 or k + 1 == steps:
            if first_bad.item():
                bad = first_bad.item()
                raise DivergenceError(
                    f"non-finite particles at step {bad} (t = {bad * eta:.4g}): reduce eta (now {eta}) or the initial "
                    f"scale"
                )
    return Trajectory(
        steps=record,
        times=record * eta,
        particles=torch.stack(snapshots) if keep_particles else None,
        risk=torch.stack(risks) if risks else None,
        final=theta,
        params=dict(activation=act.name, **spec.params(), R=R, N=N, d=p - 1) | dict(noise_width=width),
        problem=problem,
        spec=spec,
    )


@validated(
    theta0=Particles("R N 1+d"),
    population0=Particles("P M 1+d", like="theta0"),
    activation=ActivationName(),
    target=TargetSpec(optional=True),
    eta=Real(positive=True),
    steps=Int(0, example_max=3),
    lam=Real(nonnegative=True),
    tau=Real(nonnegative=True),
    engine=Choice(("population", "none")),
    record_steps=Maybe(Ints(0, example_high=0)),
    seed=Seed("simulate"),
    first_replica=Int(0),
    population_seed=Seed("simulate"),
    population_first_replica=Int(0),
    noise_width=Maybe(Int(1, example_max=0)),
)
def simulate_mckean_vlasov(
    theta0,
    population0,
    activation,
    target=None,
    *,
    eta,
    steps,
    lam=0.0,
    tau=0.0,
    engine="population",
    record_steps=None,
    seed=0,
    first_replica=0,
    population_seed,
    population_first_replica=0,
    noise_width=None,
):
    r"""Nonlinear (McKean–Vlasov) processes driven by populations that stand for the limit law :math:`\mu_t`.

    ``population0`` (P, M, 1+d): P independent particle systems of M particles, each run exactly as :func:`simulate`
    runs replica ``population_first_replica + p`` of ``population_seed`` (a Stream or an int, as ``seed``).
    ``theta0`` (R, N, 1+d): tagged initial conditions. Under population p, tagged particle i of replica r moves by

    .. math:: \bar\theta_i \leftarrow \bar\theta_i - \eta\,(\nabla_\theta V(\mu^{(p)}, \bar\theta_i)
              + \lambda\bar\theta_i) + \sqrt{2\eta\tau}\,\xi_i,

    the drift of the population's law (:func:`companion.engine.gradients.target_grad` against the population's
    network, minus the target's) and the noise ξ of replica ``first_replica + r`` of ``seed`` (``noise_width``
    wide) — the noise :func:`simulate` gives particle i of an N'-system run with the same ``seed``,
    ``first_replica`` and ``noise_width``, so that particle and its nonlinear process share :math:`\theta_i(0)` and
    :math:`\xi_i` (Sznitman's coupling). Every population drives the same tagged processes with the same noise; the
    tagged particles do not act on each other or on the population. ``engine`` "none" is V ≡ 0 (Ornstein–Uhlenbeck).

    Returns (populations, tagged): the populations' :class:`Trajectory` (particles (T, P, M, 1+d), risk (T, P)) and
    the tagged particles (T, P, R, N, 1+d) at the recorded steps, on the CPU."""
    act = activation
    run_args = dict(target=target, eta=eta, steps=steps, lam=lam, tau=tau, engine=engine, record_steps=record_steps)
    _, spec = _validate(theta0, seed=seed, first_replica=first_replica, noise_width=noise_width, **run_args)
    _, population_spec = _validate(
        population0, seed=population_seed, first_replica=population_first_replica, **run_args
    )
    device, dtype = theta0.device, theta0.dtype
    population = population0.to(device, dtype).clone()
    (P, M, p), (R, N, _) = population.shape, theta0.shape
    tagged = theta0[None].repeat(P, 1, 1, 1)
    if target is not None:
        target = target.to(device, dtype)
    noise_scale = math.sqrt(2 * eta * tau)
    pop_noise = noise = None
    if tau > 0:
        pop_noise = _noise_steps(
            _replica_generators(population_spec.seed, population_spec.first_replica, P, NOISE, device),
            spec.steps,
            (M, p),
            dtype,
            device,
        )
        noise = _noise_steps(
            _replica_generators(spec.seed, spec.first_replica, R, NOISE, device),
            spec.steps,
            (spec.noise_width or N, p),
            dtype,
            device,
        )
    record_set = set(spec.record)
    snapshots, tagged_snapshots, risks = [], [], []
    for k in range(spec.steps + 1):
        with torch.no_grad():
            if engine == "population":
                grad, risk = _explicit_grad(population, act, target)
            else:
                grad, risk = torch.zeros_like(population), None
            if k in record_set:
                if not (torch.isfinite(population).all() and torch.isfinite(tagged).all()):
                    raise DivergenceError(
                        f"non-finite particles at step {k} (t = {k * eta:.4g}): reduce eta (now "
                        f"{eta}) or the initial scale"
                    )
                snapshots.append(population.cpu().clone())
                tagged_snapshots.append(tagged.cpu().clone())
                if risk is not None:
                    risks.append(risk.cpu())
            if k == spec.steps:
                break
            if engine == "population":
                drift = torch.stack([_mckean_vlasov_drift(tagged[q], population[q], act, target) for q in range(P)])
            else:
                drift = torch.zeros_like(tagged)
            population.add_(grad.add_(population, alpha=spec.lam), alpha=-spec.eta)
            tagged.add_(drift.add_(tagged, alpha=spec.lam), alpha=-spec.eta)
            if noise is not None:
                population.add_(next(pop_noise), alpha=noise_scale)
                tagged.add_(next(noise)[None, :, :N], alpha=noise_scale)
    record = population_spec.record_steps
    trajectory = Trajectory(
        steps=record,
        times=record * spec.eta,
        particles=torch.stack(snapshots),
        risk=torch.stack(risks) if risks else None,
        final=population,
        params=dict(activation=act.name, **population_spec.params(), R=P, N=M, d=p - 1),
        problem=Problem(act, target),
        spec=population_spec,
    )
    return trajectory, torch.stack(tagged_snapshots)


def _mckean_vlasov_drift(tagged, population, act, target):
    r""":math:`\nabla_\theta V(\mu_P, \bar\theta)` for tagged particles (P, R, N, 1+d) slice q, i.e. (R, N, 1+d),
    against one population (M, 1+d): the population's network as a teacher of weights :math:`a_j/M`, minus the
    target, both through :func:`companion.engine.gradients.target_grad` on all R·N tagged particles at once."""
    R, N, p = tagged.shape
    flat = tagged.reshape(1, R * N, p)
    network_target = Target(population[:, 0] / population.shape[0], population[:, 1:], activation=act)
    return (_target_grad(flat, act, network_target) - _target_grad(flat, act, target)).view(R, N, p)
