r"""One live-explorer run: train a student on a teacher, extract its atoms, and the learning-cell numbers of σ.

:func:`explore` runs noisy GD under μP (``engine.simulate``, population engine, one replica) from a standard
Gaussian cloud on the teacher :math:`f^*(x) = \sum_{m<M}\sigma(u_m\cdot x)` (``barron.teacher_network``: orthogonal
or spread unit directions), extracts the atoms of the final cloud (``atoms.extract_atoms``, notebook 03's rule) and
matches them to the teacher's directions and to :func:`regularised_optimum`, the independent prediction of where they
should sit. It also gathers the learning-cell numbers of σ by the functions notebook 05 uses: w\* of the initial
law (``moments.w_star_closed_form``) and along the data-free flow, D\*_var and D\*_orb of generic M-atom measures in
dimension d (``identifiability.variety_depth`` / ``orbit_depth``, memoised per (σ, M, d): they do not depend on the
training parameters), and K(ε), S\*(ε) of the teacher at the level ε = ‖f_N − f\*‖ (``barron.sparsity_bound``).
"""

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import scipy.optimize
import torch

from ..engine.activations import ACTIVATIONS, get_activation
from ..engine.contract import Device, Dtype, Spec, validated
from ..engine.dynamics import log_time_grid, population_risk, simulate
from ..engine.init import init_particles
from ..engine.seeding import Stream
from ..engine.targets import Target
from ..engine.validation import choice, finite_number, integer, positive_int
from . import barron, identifiability, moments
from .atoms import match_directions, target_atoms

DEFAULTS = dict(activation="erf", M=2, d=2, N=64, lam=0.02, tau=1e-4, eta=0.5, horizon=400.0, seed=0)
DIMENSIONS = (2, 3)
M_MAX = 4
N_MAX = 1024
MAX_STEPS = 20_000
DEPTH_D_MAX, DEPTH_RESTARTS = 6, 8
INIT_SCALE = 1.0
RECORDED = 40


def check_params(params):
    """The explorer's parameters (a mapping with every key of :data:`DEFAULTS`, no other) as plain numbers, or a
    ValueError/TypeError naming the bad one: σ one of ACTIVATIONS, M in 1..M_MAX, d in {2, 3}, N in 1..N_MAX,
    λ > 0 (the extractor's threshold needs it), τ ≥ 0, η > 0, horizon > 0 with horizon/η ≤ MAX_STEPS, seed ≥ 0."""
    if not hasattr(params, "keys"):
        raise TypeError(f"params: need a mapping with the keys {sorted(DEFAULTS)}, got {type(params).__name__}")
    missing, unknown = set(DEFAULTS) - set(params), set(params) - set(DEFAULTS)
    if missing or unknown:
        raise ValueError(
            f"params: need exactly the keys {sorted(DEFAULTS)}; missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    d = integer("d", params["d"])
    if d not in DIMENSIONS:
        raise ValueError(f"d: the explorer draws the circle or the sphere, d in {DIMENSIONS}; got {d}")
    checked = dict(
        activation=choice("activation", params["activation"], ACTIVATIONS),
        M=positive_int("M", params["M"], maximum=M_MAX),
        d=d,
        N=positive_int("N", params["N"], maximum=N_MAX),
        lam=finite_number("lam", params["lam"], positive=True),
        tau=finite_number("tau", params["tau"], nonnegative=True),
        eta=finite_number("eta", params["eta"], positive=True),
        horizon=finite_number("horizon", params["horizon"], positive=True),
        seed=integer("seed", params["seed"], minimum=0),
    )
    steps = round(checked["horizon"] / checked["eta"])
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(
            f"horizon: horizon/eta = {checked['horizon'] / checked['eta']:.4g} steps; need 1 to "
            f"{MAX_STEPS} (raise eta or shorten the horizon)"
        )
    return checked


@dataclass(frozen=True)
class Optimum:
    r"""An M-atom stationary point of the τ → 0 free energy: masses p (M,) on the simplex, particles θ_m = (a_m, w_m)
    (M, 1+d); net output weights ν_m = p_m a_m (M,), the free energy and its risk part."""

    masses: np.ndarray
    particles: np.ndarray
    free_energy: float
    risk: float
    converged: bool

    @property
    def weights(self):
        return self.masses * self.particles[:, 0]

    @property
    def positions(self):
        return self.particles[:, 1:]


def _free_energy(x, activation, target, lam, M):
    r"""F(p, θ) = R(Σ_m p_m a_m σ(w_m·x)) + (λ/2) Σ_m p_m|θ_m|² at p = softmax(x[:M]), θ = x[M:] (M, 1+d), and R."""
    p = torch.softmax(x[:M], 0)
    theta = x[M:].reshape(M, -1)
    cloud = torch.cat([M * p[:, None] * theta[:, :1], theta[:, 1:]], 1)[None]  # f = (1/M) Σ_m (M p_m a_m) σ(w_m·x)
    risk = population_risk(cloud, activation, target)[0]
    return risk + 0.5 * lam * (p * (theta**2).sum(1)).sum(), risk


def regularised_optimum(activation, target, lam):
    r"""The M-atom measure :math:`\mu = \sum_m p_m\delta_{\theta_m}` (M = the teacher's neuron count) that minimises
    the τ → 0 free energy :math:`F(\mu) = \tfrac12 E(f_\mu - f^*)^2 + \tfrac\lambda2\int|\theta|^2d\mu` among M-atom
    measures, found by L-BFGS (float64, exact Gaussian risk ``engine.population_risk``, autograd) from the teacher
    itself (p_m = 1/M, a_m = M b_m, w_m = u_m). Weight decay biases it away from the teacher: its net weights and
    directions are what the particle system's clusters should converge to as τ → 0 and t → ∞ (an independent
    computation: no particles, no noise, no extractor)."""
    act = get_activation(activation)
    if not isinstance(target, Target) or target.activation is None:
        raise TypeError("target: need a teacher network (barron.teacher_network), whose neurons start the search")
    lam = finite_number("lam", lam, nonnegative=True)
    b, U = target.b.to(torch.float64), target.U.to(torch.float64)
    M = b.numel()
    start = torch.cat([torch.zeros(M, dtype=torch.float64), torch.cat([M * b[:, None], U], 1).reshape(-1)])

    def value_and_grad(x):
        x = torch.as_tensor(x, dtype=torch.float64).requires_grad_(True)
        value, _ = _free_energy(x, act, target, lam, M)
        (grad,) = torch.autograd.grad(value, x)
        return float(value.detach()), grad.numpy()

    result = scipy.optimize.minimize(
        value_and_grad, start.numpy(), jac=True, method="L-BFGS-B", options=dict(maxiter=2000, ftol=1e-15, gtol=1e-11)
    )
    x = torch.as_tensor(result.x)
    value, risk = _free_energy(x, act, target, lam, M)
    return Optimum(
        masses=torch.softmax(x[:M], 0).numpy(),
        particles=x[M:].reshape(M, -1).numpy(),
        free_energy=float(value),
        risk=float(risk),
        converged=bool(result.success),
    )


@cache
def learning_depths(activation, S, d):
    """(D*_var, D*_orb) of σ for generic S-atom measures in dimension d, as notebook 05 computes them (D_max =
    DEPTH_D_MAX, DEPTH_RESTARTS fibre-search starts, one generator seeded 0 for both); memoised per (σ, S, d)."""
    generator = torch.Generator().manual_seed(0)
    var = identifiability.variety_depth(activation, S, d, DEPTH_D_MAX, generator)
    start = int(var.depth) if math.isfinite(var.depth) else 1
    orb = identifiability.orbit_depth(activation, S, d, DEPTH_D_MAX, generator, restarts=DEPTH_RESTARTS, D_min=start)
    return float(var.depth), float(orb.depth)


def learning_cell(activation, target, M, d, lam, tau, eps):
    """The learning-cell numbers of σ for this run: w* of the standard Gaussian initial law (sub-Gaussian closed
    form) and along the data-free flow min(w*, λ/(2τ)), (D*_var, D*_orb) of :func:`learning_depths`, and
    (K(ε), r, S*(ε)) of the teacher (NaN when K(ε) is not resolved below degree 400)."""
    w_star = moments.w_star_closed_form("gaussian", "subgaussian", moments.init_scales(d, INIT_SCALE, INIT_SCALE))
    D_var, D_orb = learning_depths(get_activation(activation).name, M, d)
    try:
        K, r, S_star = barron.sparsity_bound(target, eps, K_max=400)
    except ValueError:
        K, r, S_star = math.nan, barron.index_dimension(target), math.nan
    return dict(
        w_star=w_star,
        w_star_flow=min(w_star, lam / (2 * tau)) if tau > 0 else w_star,
        D_var=D_var,
        D_orb=D_orb,
        eps=eps,
        K_eps=K,
        r=r,
        S_star=S_star,
    )


class Params(Spec):
    """The explorer's parameters: :func:`check_params`, its errors prefixed with ``params``; fuzzed with a run of
    4 steps of 8 particles."""

    def check(self, name, value, ctx):
        try:
            return check_params(value)
        except (TypeError, ValueError) as error:
            text = str(error)
            raise type(error)(text if text.startswith(name) else f"{name}: {text}") from None

    def valid(self, dims):
        from hypothesis import strategies

        return strategies.sampled_from(
            [dict(DEFAULTS, N=8, horizon=2.0), dict(DEFAULTS, activation="relu", N=4, d=3, M=1, horizon=1.0)]
        )

    def invalid(self, dims):
        from hypothesis import strategies

        bad = [
            None,
            [1, 2],
            {},
            dict(DEFAULTS, M=0),
            dict(DEFAULTS, d=5),
            dict(DEFAULTS, lam=0.0),
            dict(DEFAULTS, N=True),
            dict(DEFAULTS, activation="he3"),
            dict(DEFAULTS, eta=1e-9),
            dict(DEFAULTS, x=1),
        ]
        return strategies.sampled_from(bad)


@validated(params=Params(), device=Device(), dtype=Dtype())
def explore(params, device="cpu", dtype=torch.float64):
    r"""One explorer run at ``params`` (see :func:`check_params`): returns a dict with

    - ``params`` (checked), ``target`` (the teacher), ``times`` (T,) and ``risk`` (T,) at ~RECORDED log-spaced steps;
    - ``initial``, ``cloud``: the first and last particles (N, 1+d) as float64 arrays;
    - ``atoms`` (``atoms.target_atoms``: notebook 03's rule), ``teacher_match`` and
      ``optimum_match`` (``atoms.Matching`` of the atom directions to the teacher's and to the optimum's),
      ``optimum`` (:func:`regularised_optimum`), ``optimum_angles`` (M,): the optimum's angles to the teacher;
    - ``cell``: :func:`learning_cell` at ε = ‖f_N − f\*‖ = √(2R) at the horizon.
    """
    p = params
    act, target = p["activation"], barron.teacher_network(p["activation"], p["M"], p["d"])
    steps = round(p["horizon"] / p["eta"])
    theta0 = init_particles(
        "gaussian",
        1,
        p["N"],
        p["d"],
        scale=INIT_SCALE,
        a_scale=INIT_SCALE,
        rng=Stream(p["seed"], "explorer initial cloud"),
        dtype=dtype,
        device=device,
    )
    run = simulate(
        theta0,
        act,
        target,
        eta=p["eta"],
        steps=steps,
        lam=p["lam"],
        tau=p["tau"],
        seed=Stream(p["seed"], "explorer noise"),
        record_steps=log_time_grid(steps, RECORDED),
        progress=False,
    )
    risk = run.risk[:, 0].to(torch.float64).numpy()
    cloud = run.particles[-1, 0].to(torch.float64).numpy()
    atoms = target_atoms(act, cloud, target, p["tau"], p["lam"])
    optimum = regularised_optimum(act, target, p["lam"])
    U = target.U.numpy()
    return dict(
        params=p,
        target=target,
        times=run.times,
        risk=risk,
        initial=run.particles[0, 0].to(torch.float64).numpy(),
        cloud=cloud,
        atoms=atoms,
        teacher_match=match_directions(act, atoms.positions, U),
        optimum_match=match_directions(act, atoms.positions, optimum.positions),
        optimum=optimum,
        optimum_angles=match_directions(act, optimum.positions, U).angles,
        cell=learning_cell(act, target, p["M"], p["d"], p["lam"], p["tau"], math.sqrt(2 * risk[-1])),
    )
