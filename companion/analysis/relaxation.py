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

Both Hessians are formed by central differences of the explicit gradient (``engine.gradients.population_grad``),
every perturbed configuration a replica of one batched call; the result is symmetrised.
"""
import numpy as np
import torch
from scipy.optimize import minimize, nnls

from ..engine.activations import get_activation
from ..engine.gradients import population_grad
from ..engine.targets import teacher
from ..engine.validation import finite_number, float_array, float_tensor, positive_int

__all__ = ["jacobian", "particle_drift", "drift_hessian", "function_gram", "linearised_decay", "linearised_relaxation",
           "fit_exponentials"]


def jacobian(drift, x, step=1e-5, batch=512):
    r"""Jacobian :math:`\partial b_p / \partial x_q` of ``drift`` at the point x (P,) by central differences
    :math:`(b(x + h e_q) - b(x - h e_q)) / 2h` (error O(h²)). ``drift`` maps a batch (B, P) to (B, P); it is called on
    at most ``batch`` points at a time. Returns a NumPy array (P, P)."""
    x = float_tensor("x", x, shape=(None,), label="(P,)")
    step = finite_number("step", step, positive=True)
    batch = positive_int("batch", batch)
    P = x.numel()
    eye = torch.eye(P, dtype=x.dtype, device=x.device) * step
    columns = []
    for start in range(0, P, batch):
        shifts = eye[start:start + batch]
        with torch.no_grad():
            columns.append(((drift(x + shifts) - drift(x - shifts)) / (2 * step)).cpu().numpy())
    return np.concatenate(columns).T


def particle_drift(activation, target, lam, shape):
    r"""The drift :math:`b(\theta)_i = -(\nabla V(\mu_N, \theta_i) + \lambda\theta_i)` of one system of particles of
    ``shape`` (N, 1+d), as a map of flattened configurations (B, N(1+d)) → (B, N(1+d)) (exact population kernels)."""
    act = get_activation(activation)
    lam = finite_number("lam", lam, nonnegative=True)

    def drift(flat):
        theta = flat.reshape(-1, *shape)
        return -(population_grad(theta, act, target)[0] + lam * theta).reshape(flat.shape)

    return drift


def _one_system(theta):
    theta = float_tensor("theta", theta, shape=(None, None), label="(N, 1+d)")
    if theta.shape[-1] < 2:
        raise ValueError(f"theta: need particles (N, 1+d) with d >= 1, got shape {tuple(theta.shape)}")
    return theta


def drift_hessian(theta, activation, target, lam, step=1e-5):
    r""":math:`H = -J = \nabla^2 E` at the configuration ``theta`` (N, 1+d): the Hessian of
    :math:`E = N R + \frac\lambda2\lvert\theta\rvert^2`, interaction included; symmetric NumPy array (N(1+d), N(1+d)),
    index i·(1+d) + k for coordinate k of particle i."""
    theta = _one_system(theta)
    J = jacobian(particle_drift(activation, target.to(theta.device, theta.dtype), lam, theta.shape), theta.reshape(-1),
                 step)
    return -(J + J.T) / 2


def function_gram(theta, activation, step=1e-5):
    r""":math:`G = Df^\top Df` at ``theta`` (N, 1+d): :math:`\delta^\top G\delta = \lVert Df\,\delta\rVert^2_{L^2}`,
    the first-order change of :math:`\lVert f_{\theta + \delta} - f_\theta\rVert^2`. It is the Hessian of
    :math:`\frac12\lVert f_{\theta'} - f_\theta\rVert^2` in θ' at θ' = θ, i.e. :math:`\frac1N` times that of
    :math:`N R` for the target :math:`f_\theta` itself (a teacher with weights a/N), at zero weight decay."""
    theta = _one_system(theta)
    N = theta.shape[0]
    own = teacher(activation, theta[:, 0] / N, theta[:, 1:])
    return drift_hessian(theta, activation, own, 0.0, step) / N


def linearised_decay(hessian, gram, delta, s):
    r""":math:`\lVert Df\, e^{-Hs}\delta\rVert^2 = \delta^\top e^{-Hs} G e^{-Hs}\delta` at each s ≥ 0: the squared
    distance to the linearisation point predicted by the linearised flow from the displacement δ (P,) at s = 0.
    ``hessian`` H and ``gram`` G (P, P) symmetric. Returns (len(s),)."""
    H = float_array("hessian", hessian)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"hessian: need a square matrix, got shape {H.shape}")
    G = float_array("gram", gram, shape=H.shape, label=f"{H.shape}")
    delta = float_array("delta", delta, shape=(H.shape[0],), label=f"({H.shape[0]},)")
    s = float_array("s", s)
    if np.any(s < 0):
        raise ValueError(f"s: need times >= 0 after the start, got {s}")
    h, V = np.linalg.eigh((H + H.T) / 2)
    c = V.T @ delta
    M = V.T @ ((G + G.T) / 2) @ V
    decayed = c[None, :] * np.exp(-np.outer(s, h))                                  # (S, P)
    return np.einsum("sp,pq,sq->s", decayed, M, decayed)


def fit_exponentials(t, y, k=2, floor=False, starts=None):
    r"""Least-squares fit of :math:`y(t) \approx \sum_{m<k} A_m e^{-\kappa_m t}` (+ a constant :math:`c \ge 0` when
    ``floor``) on the log scale's weights: residuals relative to y, amplitudes ≥ 0 by non-negative least squares for
    given rates (variable projection), rates by Nelder–Mead over log κ from several starts.

    Returns dict(rates (k,) increasing, amplitudes (k,), floor, misfit: root-mean-square relative residual)."""
    t = float_array("t", t)
    y = float_array("y", y, shape=t.shape, label=f"{t.shape}")
    k = positive_int("k", k)
    if t.ndim != 1 or t.size < 2 * k + int(floor) + 1:
        raise ValueError(f"t: need at least {2 * k + int(floor) + 1} times for {k} exponentials, got {t.size}")
    if np.any(y <= 0):
        raise ValueError("y: a multi-exponential fit needs positive values")
    t0 = t.min()

    def amplitudes(log_rates):
        basis = np.exp(-np.outer(t - t0, np.exp(log_rates)))
        if floor:
            basis = np.column_stack([basis, np.ones_like(t)])
        coef, norm = nnls(basis / y[:, None], np.ones_like(y))
        return coef, norm

    span = max(t.max() - t0, 1e-12)
    if starts is None:
        base = np.geomspace(0.3 / span, 30 / span, k + 2)[1:-1]
        starts = [np.log(base * f) for f in (1.0, 0.5, 2.0)]
    best = min((minimize(lambda v: amplitudes(v)[1], np.asarray(s, dtype=float), method="Nelder-Mead",
                         options=dict(xatol=1e-8, fatol=1e-12, maxiter=4000)) for s in starts), key=lambda r: r.fun)
    coef, norm = amplitudes(best.x)
    rates = np.exp(best.x)
    order = np.argsort(rates)
    amps = coef[:k][order] * np.exp(rates[order] * t0)
    return dict(rates=rates[order], amplitudes=amps, floor=float(coef[k]) if floor else 0.0,
                misfit=float(norm / np.sqrt(t.size)))


def linearised_relaxation(start, stationary, activation, target, lam, s, step=1e-5):
    r"""The linearised prediction of :math:`\lVert f_t - f_{\theta_\infty}\rVert^2` for R systems: the flow
    linearised at each stationary configuration ``stationary[r]`` (N, 1+d) (:func:`drift_hessian`,
    :func:`function_gram`), started from the displacement ``start[r] - stationary[r]`` and evaluated at the times
    ``s`` after the start (:func:`linearised_decay`).

    Returns dict(decay (R, len(s)), eigenvalues (R, P) of H, weights (R, P): each eigenmode's share
    :math:`c_j^2 (V^\top G V)_{jj} / \sum_k c_k^2 (V^\top G V)_{kk}` of the start's visible displacement)."""
    start, stationary = float_tensor("start", start, shape=(None, None, None), label="(R, N, 1+d)"), float_tensor(
        "stationary", stationary, shape=(None, None, None), label="(R, N, 1+d)")
    if start.shape != stationary.shape:
        raise ValueError(f"stationary: need the shape of start {tuple(start.shape)}, got {tuple(stationary.shape)}")
    decay, eigenvalues, weights = [], [], []
    for theta0, theta in zip(start, stationary):
        H, G = drift_hessian(theta, activation, target, lam, step), function_gram(theta, activation, step)
        delta = (theta0 - theta).reshape(-1).cpu().numpy()
        decay.append(linearised_decay(H, G, delta, s))
        h, V = np.linalg.eigh(H)
        share = (V.T @ delta) ** 2 * np.einsum("pj,pq,qj->j", V, G, V)
        eigenvalues.append(h)
        weights.append(share / share.sum())
    return dict(decay=np.array(decay), eigenvalues=np.array(eigenvalues), weights=np.array(weights))
