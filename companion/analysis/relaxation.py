r"""The relaxation of a particle system near its long-time configuration: the flow linearised there, and
multi-exponential fits of a measured decay, so that a decay can be compared with rates it was not fitted to.

The mean-field drift of particle i at the empirical measure :math:`\mu_N` is
:math:`b_i(\theta) = -(\nabla_\theta V(\mu_N, \theta_i) + \lambda\theta_i) = -\nabla_{\theta_i} E(\theta)`,
:math:`E(\theta) = N\,R(\theta) + \frac\lambda2\lvert\theta\rvert^2` (R the population risk
:math:`\frac12 E_x(f_\theta - f^*)^2`), so its Jacobian :math:`J = -\nabla^2 E` is symmetric and contains the
interaction between particles (the kernel's cross terms). Near a configuration :math:`\theta_\infty` the flow
:math:`\dot\theta = b(\theta)` is :math:`\dot\delta = J\delta` to first order, and the function moves by
:math:`f_\theta - f_{\theta_\infty} = Df\,\delta + O(\delta^2)`, so

.. math:: \lVert f_t - f_\infty\rVert^2 \approx \delta_0^\top e^{J s}\, G\, e^{J s}\delta_0,\qquad
          G = Df^\top Df = \nabla^2_\theta \tfrac12\lVert f_\theta - f_{\theta_\infty}\rVert^2\big|_{\theta_\infty},

:math:`s = t - t_0`, a sum of exponentials whose rates are the sums :math:`h_j + h_k` of eigenvalues of
:math:`H = -J`. With Langevin noise the mean of a linear SDE :math:`d\delta = J\delta\,dt + \sqrt{2\tau}\,dB`
relaxes by the same :math:`e^{Js}` whatever τ; the noise adds a stationary floor, not a rate.

Both Hessians are assembled from the second derivatives of the pair kernel :math:`k(\theta, \theta') = a a' K(w, w')`
and of the target term, by automatic differentiation (``torch.func``) of the exact kernels, one pair at a time.
"""

from itertools import combinations

import numpy as np
import torch
from scipy.optimize import minimize, nnls
from torch.func import hessian, vmap

from ..engine.contract import ActivationName, Anything, Bool, Int, Particles, Real, TargetSpec, Tensor, validated
from ..engine.kernels import gaussian_kernel

# torch.func differentiates the closed-form erf kernel; the series kernels branch on values (flagged pairs) and the
# ReLU kernel is an autograd.Function without functorch support
_ACTIVATION = ActivationName(only=("erf",), why="the Hessians differentiate the kernel by torch.func, closed form only")

__all__ = [
    "pair_hessians",
    "drift_hessian",
    "function_gram",
    "linearised_decay",
    "linearised_relaxation",
    "fit_exponentials",
]


def _pair_kernel(activation):
    """k(θ, θ') = a a' K(w, w'), K the exact Gaussian kernel of σ (``engine.kernels.gaussian_kernel``)."""

    def k(x, y):
        return x[0] * y[0] * gaussian_kernel(activation, x[None, 1:], y[None, 1:])[0, 0]

    return k


@validated(theta=Particles("N 1+d"), activation=_ACTIVATION, block=Int(1))
def pair_hessians(theta, activation, block=64):
    r"""For every pair (j, l) of particles of ``theta`` (N, 1+d): :math:`\partial_1^2 k(\theta_j, \theta_l)` and
    :math:`\partial_1\partial_2 k(\theta_j, \theta_l)` of the pair kernel :math:`k(\theta, \theta') = a a' K(w, w')`,
    each (N, N, 1+d, 1+d), by automatic differentiation of the exact kernel (rows in blocks of ``block``)."""
    N, p = theta.shape
    second = hessian(_pair_kernel(activation), argnums=(0, 1))
    d11, d12 = [], []
    for start in range(0, N, block):
        rows = theta[start : start + block]
        X = rows.repeat_interleave(N, dim=0)  # pair (j, l) at j·N + l; copies: vmap may write to its inputs
        Y = theta.repeat(rows.shape[0], 1)
        (h11, h12), _ = vmap(second)(X, Y)
        d11.append(h11.reshape(-1, N, p, p))
        d12.append(h12.reshape(-1, N, p, p))
    return torch.cat(d11), torch.cat(d12)


def _blocks(pairs):
    """(N, N, p, p) blocks as one (N·p, N·p) NumPy matrix, index j·p + k."""
    N, _, p, _ = pairs.shape
    return pairs.permute(0, 2, 1, 3).reshape(N * p, N * p).detach().cpu().numpy()


def _hessian_and_gram(theta, act, target, lam):
    """H (:func:`drift_hessian`) and G (:func:`function_gram`) from one evaluation of the pair kernel's derivatives."""
    N, p = theta.shape
    d11, d12 = pair_hessians(theta, act)
    own = vmap(hessian(lambda x: x[0] * target.cross(act, x[None, 1:])[0]))(theta)  # (N, p, p)
    M = _blocks(d12)
    H = M / N
    diagonal = (d11.sum(1) / N - own).detach().cpu().numpy() + lam * np.eye(p)
    for j in range(N):
        H[j * p : (j + 1) * p, j * p : (j + 1) * p] += diagonal[j]
    G = M / N**2
    return (H + H.T) / 2, (G + G.T) / 2


@validated(theta=Particles("N 1+d"), activation=_ACTIVATION, target=TargetSpec(), lam=Real(nonnegative=True))
def drift_hessian(theta, activation, target, lam):
    r""":math:`H = -J = \nabla^2 E` at the configuration ``theta`` (N, 1+d), E = N R + λ|θ|²/2 with
    :math:`N R = \frac1{2N}\sum_{jl} k(\theta_j, \theta_l) - \sum_j c(\theta_j) + \text{const}`,
    :math:`c(\theta) = a\,\langle\sigma(w\cdot x), f^*\rangle`: off-diagonal blocks
    :math:`\frac1N\partial_1\partial_2 k(\theta_j, \theta_l)` (the interaction), diagonal blocks
    :math:`\frac1N[\sum_l \partial_1^2 k(\theta_j, \theta_l) + \partial_1\partial_2 k(\theta_j, \theta_j)]
    - \nabla^2 c(\theta_j) + \lambda I`. Symmetric NumPy array (N(1+d), N(1+d)), index i·(1+d) + k."""
    return _hessian_and_gram(theta, activation, target.to(theta.device, theta.dtype), lam)[0]


@validated(theta=Particles("N 1+d"), activation=_ACTIVATION)
def function_gram(theta, activation):
    r""":math:`G = Df^\top Df` at ``theta`` (N, 1+d): :math:`\delta^\top G\delta = \lVert Df\,\delta\rVert^2_{L^2}`,
    the first-order change of :math:`\lVert f_{\theta + \delta} - f_\theta\rVert^2`; blocks
    :math:`\frac1{N^2}\partial_1\partial_2 k(\theta_j, \theta_l)`."""
    G = _blocks(pair_hessians(theta, activation)[1]) / theta.shape[0] ** 2
    return (G + G.T) / 2


@validated(
    hessian=Tensor("P P", array=True),
    gram=Tensor("P P", array=True),
    delta=Tensor("P", array=True),
    s=Tensor("S", array=True, nonnegative=True),
)
def linearised_decay(hessian, gram, delta, s):
    r""":math:`\lVert Df\, e^{-Hs}\delta\rVert^2 = \delta^\top e^{-Hs} G e^{-Hs}\delta` at each s ≥ 0: the squared
    distance to the linearisation point predicted by the linearised flow from the displacement δ (P,) at s = 0.
    ``hessian`` H and ``gram`` G (P, P) symmetric. Returns (len(s),)."""
    h, V = np.linalg.eigh((hessian + hessian.T) / 2)
    c = V.T @ delta
    M = V.T @ ((gram + gram.T) / 2) @ V
    decayed = c[None, :] * np.exp(-np.outer(s, h))  # (S, P)
    return np.einsum("sp,pq,sq->s", decayed, M, decayed)


@validated(
    t=Tensor("T", array=True),
    y=Tensor("T", array=True, positive=True),
    k=Int(1, example_max=1),
    floor=Bool(),
    starts=Anything(None),
)
def fit_exponentials(t, y, k=2, floor=False, starts=None):
    r"""Least-squares fit of :math:`y(t) \approx \sum_{m<k} A_m e^{-\kappa_m t}` (+ a constant :math:`c \ge 0` when
    ``floor``) on the log scale's weights: residuals relative to y, amplitudes ≥ 0 by non-negative least squares for
    given rates (variable projection), rates by Nelder–Mead over log κ from the best combination of a log grid of
    rates (or from ``starts``, a list of log-rate vectors).

    Returns dict(rates (k,) increasing, amplitudes (k,), floor, misfit: root-mean-square relative residual)."""
    if t.size < 2 * k + int(floor) + 1:
        raise ValueError(f"t: need at least {2 * k + int(floor) + 1} times for {k} exponentials, got {t.size}")
    t0 = t.min()

    def amplitudes(log_rates):
        basis = np.exp(-np.outer(t - t0, np.exp(log_rates)))
        if floor:
            basis = np.column_stack([basis, np.ones_like(t)])
        coef, norm = nnls(basis / y[:, None], np.ones_like(y))
        return coef, norm

    if starts is None:  # the best combination of a log grid of rates from 0.01/span to 100/span, then refined
        grid = np.log(np.geomspace(0.01, 100, 30) / max(t.max() - t0, 1e-12))
        starts = [min(combinations(grid, k), key=lambda v: amplitudes(np.asarray(v))[1])]
    best = min(
        (
            minimize(
                lambda v: amplitudes(v)[1],
                np.asarray(s, dtype=float),
                method="Nelder-Mead",
                options=dict(xatol=1e-8, fatol=1e-12, maxiter=4000),
            )
            for s in starts
        ),
        key=lambda r: r.fun,
    )
    coef, norm = amplitudes(best.x)
    rates = np.exp(best.x)
    order = np.argsort(rates)
    amps = coef[:k][order] * np.exp(rates[order] * t0)
    return dict(
        rates=rates[order],
        amplitudes=amps,
        floor=float(coef[k]) if floor else 0.0,
        misfit=float(norm / np.sqrt(t.size)),
    )


@validated(
    start=Particles("R N 1+d"),
    stationary=Particles("R N 1+d", like="start"),
    activation=_ACTIVATION,
    target=TargetSpec(),
    lam=Real(nonnegative=True),
    s=Tensor("S", array=True, nonnegative=True),
)
def linearised_relaxation(start, stationary, activation, target, lam, s):
    r"""The linearised prediction of :math:`\lVert f_t - f_{\theta_\infty}\rVert^2` for R systems: the flow
    linearised at each stationary configuration ``stationary[r]`` (N, 1+d) (:func:`drift_hessian`,
    :func:`function_gram`), started from the displacement ``start[r] - stationary[r]`` and evaluated at the times
    ``s`` after the start (:func:`linearised_decay`).

    Returns dict(decay (R, len(s)), eigenvalues (R, P) of H, weights (R, P): each eigenmode's share
    :math:`c_j^2 (V^\top G V)_{jj} / \sum_k c_k^2 (V^\top G V)_{kk}` of the start's visible displacement)."""
    act = activation
    target = target.to(stationary.device, stationary.dtype)
    decay, eigenvalues, weights = [], [], []
    for theta0, theta in zip(start, stationary):
        H, G = _hessian_and_gram(theta, act, target, lam)
        delta = (theta0 - theta).reshape(-1).cpu().numpy()
        decay.append(linearised_decay(H, G, delta, s))
        h, V = np.linalg.eigh(H)
        share = (V.T @ delta) ** 2 * np.einsum("pj,pq,qj->j", V, G, V)
        if not share.sum() > 0:
            raise ValueError(f"start: replica {len(weights)} has no visible displacement from stationary (δᵀGδ = 0)")
        eigenvalues.append(h)
        weights.append(share / share.sum())
    return dict(decay=np.array(decay), eigenvalues=np.array(eigenvalues), weights=np.array(weights))
