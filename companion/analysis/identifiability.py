r"""Identifiability of atomic measures: exact L² distances, the Hermite moment map, its Jacobian rank and fibres.

An atomic measure μ is given by signed weights ``a`` (S,) and input weights ``W`` (S, d) and realizes
:math:`f_\mu(x) = \sum_j a_j\sigma(w_j\cdot x)`, x ~ N(0, I_d). With the orthonormal Hermite coefficients
:math:`c_k(r)` of z ↦ σ(rz) and Mehler's formula,

.. math:: E(f_\mu - f_{\mu'})^2 = \sum_k \lVert T_k(\mu) - T_k(\mu')\rVert_F^2,\qquad
          T_k(\mu) = \sum_j a_j\,c_k(|w_j|)\,\hat w_j^{\otimes k}.

A symmetric tensor is stored by its entries at multi-indices α (|α| = k), each times √(k!/α!), so the Euclidean
norm of the stored vector is the Frobenius norm of the tensor. The depth-D moment map is
Φ_D(μ) = (T_0, …, T_D). Two depths (operational definitions, for generic μ):

- D*_var: the smallest D at which the Jacobian of Φ_D has rank S(1+d) − (continuous symmetry dimension),
  i.e. the image of S-atom measures has full dimension (float64 autograd + SVD);
- D*_orb: the smallest D at which a multi-start search of the fibre {μ' : Φ_D(μ') = Φ_D(μ)} finds only points of
  μ's symmetry orbit (matched distance of canonical forms, ``symmetry.canonicalize``).
"""

import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations_with_replacement

import numpy as np
import torch

from ..engine.activations import get_activation
from ..engine.contract import ActivationName, Anything, Bool, Dtype, Generator, Int, Maybe, Real, Tensor, validated
from ..engine.dynamics import function_inner
from ..engine.validation import atomic_measure, nonneg_int, positive_int
from .symmetry import canonicalize, homogeneity_degree, matched_distance, particles_from_atoms


def _measure(a="a", W="W", S="S", batch="...", nonzero=False):
    """The contract of an atomic measure (a (..., S), W (..., S, d)), entries small enough that c_k(|w|) stays finite;
    ``nonzero``: S >= 1."""
    return {
        W: Tensor(f"{batch} {S} d", max_abs=1e150, empty_ok="" if nonzero else S),
        a: Tensor(f"{batch} {S}", like=W, empty_ok="" if nonzero else S),
    }


def _moments_memory(args):
    """Bytes of Φ_D: Σ_{k≤D} C(d+k−1, k) = C(d+D, D) stored entries per atom and batch element."""
    W = args["W"]
    return 8 * math.comb(W.shape[-1] + args["D"], args["D"]) * max(W.shape[:-1].numel(), 1) * W.shape[-1], "D"


_MOMENTS = dict(
    activation=ActivationName(),
    **_measure(nonzero=True),
    D=Int(0, example_max=4),
    unit_norm=Bool(),
    memory=_moments_memory,
)


def _two_measures(a1, W1, a2, W2):
    """Two batched atomic measures of one input dimension, as tensors of one dtype."""
    a1, W1 = atomic_measure(a1, W1, batched=True, names=("a1", "W1"))
    a2, W2 = atomic_measure(a2, W2, batched=True, names=("a2", "W2"))
    if W2.shape[-1] != W1.shape[-1]:
        raise ValueError(f"W2: input dimension {W2.shape[-1]} does not match W1's {W1.shape[-1]}")
    if W2.dtype != W1.dtype:
        raise TypeError(f"W2: dtype {W2.dtype} does not match W1's {W1.dtype}")
    return a1, W1, a2, W2


@validated(activation=ActivationName(), **_measure("a1", "W1", "S"), **_measure("a2", "W2", "S2"))
def l2_distance2(activation, a1, W1, a2, W2):
    r"""Exact :math:`E_x(f_{\mu_1}(x) - f_{\mu_2}(x))^2`: the squared norm of the signed measure
    :math:`\mu_1 - \mu_2` (atoms of both, weights a1 and −a2)."""
    activation = get_activation(activation)
    a1, W1, a2, W2 = _two_measures(a1, W1, a2, W2)
    return _norm2(activation, torch.cat([a1, -a2], dim=-1), torch.cat([W1, W2], dim=-2))


@validated(activation=ActivationName(), **_measure())
def realization_norm2(activation, a, W):
    r""":math:`E_x f_\mu(x)^2 = \sum_{ij} a_i a_j K(w_i, w_j)`, exact."""
    activation = get_activation(activation)
    a, W = atomic_measure(a, W, batched=True)
    return _norm2(activation, a, W)


def _norm2(act, a, W):
    """``dynamics.function_inner`` of the particles that realize the atomic measure (``symmetry.particles_from_atoms``)."""
    theta = particles_from_atoms(a, W)
    return function_inner(theta, theta, act)


@validated(
    activation=ActivationName(),
    **_measure("a1", "W1", "S", batch=""),
    **_measure("a2", "W2", "M", batch=""),
    n=Int(2, example_max=50),
    generator=Generator(optional=True),
    memory=lambda args: (8 * args["n"] * (args["W1"].shape[0] + args["W2"].shape[0] + args["W1"].shape[1]), "n"),
)
def monte_carlo_distance2(activation, a1, W1, a2, W2, n, generator):
    r"""Monte Carlo estimate of :math:`E(f_1 - f_2)^2` from n Gaussian inputs: (mean, standard error)."""
    W2, a2 = W2.to(W1), a2.to(W1)
    X = torch.randn(n, W1.shape[-1], generator=generator, dtype=W1.dtype).to(W1.device)
    diff = activation.fn(X @ W1.T) @ a1 - activation.fn(X @ W2.T) @ a2
    sq = diff * diff
    return float(sq.mean()), float(sq.std() / math.sqrt(n))


@lru_cache(maxsize=256)
def multi_indices(d, k):
    """Multi-indices α ∈ ℕ^d with |α| = k (M, d) and the weights √(k!/α!) (M,), as numpy arrays."""
    d, k = positive_int("d", d), nonneg_int("k", k)
    rows = []
    for combo in combinations_with_replacement(range(d), k):
        rows.append(np.bincount(np.asarray(combo, dtype=int), minlength=d))
    alpha = np.asarray(rows, dtype=int).reshape(-1, d)
    log_w = 0.5 * (math.lgamma(k + 1) - np.sum([[math.lgamma(x + 1) for x in row] for row in alpha], axis=1))
    return alpha, np.exp(log_w)


def _powers(X, k):
    """X^p for p = 0..k by repeated products (no 0**0 gradients), shape (..., d, k+1)."""
    powers = [torch.ones_like(X)]
    for _ in range(k):
        powers.append(powers[-1] * X)
    return torch.stack(powers, dim=-1)


@validated(
    X=Tensor("... d"),
    k=Int(0, example_max=4),
    memory=lambda args: (8 * math.comb(args["X"].shape[-1] + args["k"] - 1, args["k"]) * args["X"].numel(), "k"),
)
def symmetric_power(X, k):
    r"""Stored form of :math:`x^{\otimes k}`: entries :math:`x^\alpha\sqrt{k!/\alpha!}`, shape (..., M_k)."""
    return _symmetric_power(X, k)


def _symmetric_power(X, k):
    """:func:`symmetric_power` of a checked X (the package's inner loops)."""
    d = X.shape[-1]
    alpha, weight = multi_indices(d, k)
    idx = torch.as_tensor(alpha, device=X.device)
    picked = _powers(X, k)[..., torch.arange(d, device=X.device), idx]  # (..., M, d)
    return picked.prod(dim=-1) * torch.as_tensor(weight, dtype=X.dtype, device=X.device)


@validated(
    coefficients=Tensor("M"),
    k=Int(0, example_max=3),
    n=Int(2, example_max=20),
    memory=lambda a: (8 * 6 * a["n"] ** 2 * math.comb(a["k"] + 2, 2), "n"),
    fuzz_valid=False,  # NaN outside the disc is the result (the plot's mask), not a failure
)
def form_on_hemisphere(coefficients, k, n=301):
    r"""A form of degree ``k`` in three variables, :math:`C(x) = \langle \text{coefficients}, x^{\otimes k}\rangle`
    (coefficients in the stored basis of :func:`symmetric_power`), on the hemisphere :math:`\hat w_1 > 0` seen from
    :math:`e_1`: the grids Y, Z (n, n) of [-1, 1]² (``meshgrid``, "xy") and the values
    :math:`C(\sqrt{1 - y^2 - z^2}, y, z)`, NaN outside the open unit disc; in the coefficients' dtype."""
    if coefficients.shape[-1:] != (len(multi_indices(3, k)[0]),):
        raise ValueError(
            f"coefficients: expected {len(multi_indices(3, k)[0])} entries (a form of degree {k} in "
            f"three variables), got shape {tuple(coefficients.shape)}"
        )
    u = torch.linspace(-1, 1, n, dtype=coefficients.dtype)
    Y, Z = torch.meshgrid(u, u, indexing="xy")
    inside = Y**2 + Z**2 < 1
    X = torch.sqrt((1 - Y**2 - Z**2).clamp_min(0))
    values = symmetric_power(torch.stack([X, Y, Z], dim=-1), k) @ coefficients
    values[~inside] = float("nan")
    return Y, Z, values


def _symmetric_power_and_gradient(X, k):
    """``symmetric_power(X, k)`` (..., M) and its gradient in X (..., M, d)."""
    d = X.shape[-1]
    alpha, weight = multi_indices(d, k)
    idx = torch.as_tensor(alpha, device=X.device)
    cols = torch.arange(d, device=X.device)
    powers = _powers(X, k)
    exponents = torch.arange(k + 1, device=X.device).to(X.dtype)
    lowered = torch.cat([torch.zeros_like(powers[..., :1]), powers[..., :-1]], dim=-1) * exponents  # p X^(p-1)
    picked = powers[..., cols, idx]  # (..., M, d)
    picked_d = lowered[..., cols, idx]
    weight = torch.as_tensor(weight, dtype=X.dtype, device=X.device)
    grads = []
    for i in range(d):
        others = torch.cat([picked[..., :i], picked[..., i + 1 :]], dim=-1).prod(dim=-1)
        grads.append(picked_d[..., i] * others)
    return picked.prod(dim=-1) * weight, torch.stack(grads, dim=-1) * weight[:, None]


@validated(**_MOMENTS)
def moment_tensors(activation, a, W, D, unit_norm=False):
    r"""Stored :math:`T_k(\mu) = \sum_j a_j c_k(|w_j|)\hat w_j^{\otimes k}` for k = 0..D, a list of (..., M_k).

    ``unit_norm``: use c_k(1) (atoms on the sphere; W is normalised first).
    """
    act = activation
    a, W = atomic_measure(a, W, batched=True, nonzero=True)
    norms = W.norm(dim=-1)
    directions = W / norms[..., None]
    radii = torch.ones_like(norms) if unit_norm else norms
    coef = act.coefficients(radii, D + 1) * a[..., None]  # (..., S, D+1)
    return [(coef[..., k, None] * _symmetric_power(directions, k)).sum(dim=-2) for k in range(D + 1)]


def moment_map_and_jacobian(activation, a, W, D, unit_norm=False):
    r"""Φ_D(μ) (..., M) and its Jacobian in (a, W) packed (..., M, S(1+d)), by the chain rule:
    :math:`\partial T_k/\partial a_j = c_k(r_j)\hat w_j^{\otimes k}` and
    :math:`\partial T_k/\partial w_j = a_j[c_k'(r_j)\,\hat w_j^{\otimes k}\otimes\hat w_j
    + c_k(r_j)\,\partial(\hat w^{\otimes k})(I-\hat w_j\hat w_j^\top)/r_j]`, with c_k' the activation's radial slopes
    (:meth:`Activation.coefficient_slopes`: closed forms where it has them, 15× cheaper than forward-mode AD through
    the coefficients)."""
    act = get_activation(activation)
    a, W = atomic_measure(a, W, batched=True, finite=False)  # finite values are the caller's: LM trial points
    D = nonneg_int("D", D)
    norms = W.norm(dim=-1)
    u = W / norms[..., None]
    if unit_norm:
        coef = act.coefficients(torch.ones_like(norms), D + 1)
        dcoef = torch.zeros_like(coef)
    else:
        coef, dcoef = act.coefficients(norms, D + 1), act.coefficient_slopes(norms, D + 1)
    values, jac_a, jac_W = [], [], []
    for k in range(D + 1):
        P, dP = _symmetric_power_and_gradient(u, k)  # (..., S, M), (..., S, M, d)
        c, dc = coef[..., k, None], dcoef[..., k, None]
        values.append((a[..., None] * c * P).sum(dim=-2))
        jac_a.append(c * P)
        tangential = dP - (dP @ u[..., :, None]) * u[..., None, :]  # dP (I − u uᵀ)
        jac_W.append(
            a[..., None, None]
            * (dc[..., None] * P[..., None] * u[..., None, :] + (c / norms[..., None])[..., None] * tangential)
        )
    value = torch.cat(values, dim=-1)
    J_a = torch.cat(jac_a, dim=-1).transpose(-1, -2)  # (..., M, S)
    J_W = torch.cat(jac_W, dim=-2).transpose(-3, -2)  # (..., M, S, d)
    return value, torch.cat([J_a, J_W.flatten(-2)], dim=-1)


@validated(**_MOMENTS)
def moment_map(activation, a, W, D, unit_norm=False):
    r"""Φ_D(μ) = (T_0, …, T_D) concatenated, shape (..., Σ_k M_k); ‖Φ_D(μ)−Φ_D(μ')‖² = Σ_{k≤D}‖T_k−T'_k‖_F²."""
    return torch.cat(moment_tensors(activation, a, W, D, unit_norm), dim=-1)


@validated(
    **_measure(),
    k=Int(0, example_max=4),
    memory=lambda args: (8 * math.comb(args["W"].shape[-1] + args["k"] - 1, args["k"]) * args["W"].numel(), "k"),
)
def raw_moment(a, W, k):
    r"""Stored :math:`\int a\, w^{\otimes k}\, d\mu = \sum_j a_j w_j^{\otimes k}` (no activation), shape (..., M_k)."""
    return (a[..., None] * _symmetric_power(W, k)).sum(dim=-2)


def pack(a, W):
    """Parameter vector (..., S(1+d)) = (a, W row by row)."""
    return torch.cat([a, W.flatten(-2)], dim=-1)


@validated(x=Tensor("... P"), S=Int(1))
def unpack(x, S):
    """Inverse of ``pack`` for S atoms: x (..., S(1+d)) -> (a (..., S), W (..., S, d))."""
    return _unpack(x, S)


def _unpack(x, S):
    """:func:`unpack` of a checked x (the fibre search's inner loop)."""
    d = x.shape[-1] // S - 1
    if x.shape[-1] != S * (1 + d) or d < 1:
        raise ValueError(f"x: length {x.shape[-1]} is not S(1+d) for S = {S}")
    return x[..., :S], x[..., S:].reshape(*x.shape[:-1], S, d)


@validated(**_MOMENTS)
def moment_jacobian(activation, a, W, D, unit_norm=False):
    """Jacobian of Φ_D with respect to (a, W) packed, in float64, shape (Σ_k M_k, S(1+d))."""
    a, W = atomic_measure(a, W, batched=True, nonzero=True)
    return moment_map_and_jacobian(activation, a.to(torch.float64), W.to(torch.float64), D, unit_norm)[1]


@validated(J=Tensor("m n", empty_ok="m n"), rtol=Real(nonnegative=True), scale=Maybe(Real(nonnegative=True)))
def numerical_rank(J, rtol=1e-9, scale=None):
    """Rank of J: singular values above rtol × ``scale`` (default: J's largest); returns (rank, singular values)."""
    s = torch.linalg.svdvals(J)
    reference = float(s[0]) if scale is None and s.numel() else float(scale or 0.0)
    if s.numel() == 0 or reference == 0.0:
        return 0, s
    return int((s > rtol * reference).sum()), s


def symmetry_dimension(activation, S, unit_norm=False):
    """Dimension of the continuous realization symmetry at a generic S-atom measure: one rescaling per atom for
    positively homogeneous σ (or when atoms are held on the sphere), else 0."""
    return S if (unit_norm or homogeneity_degree(activation) is not None) else 0


@validated(
    S=Int(1),
    d=Int(1),
    generator=Generator(),
    dtype=Dtype(),
    unit_norm=Bool(),
    memory=lambda args: (8 * args["S"] * (args["d"] + 1), "S"),
)
def random_atoms(S, d, generator, dtype=torch.float64, unit_norm=False):
    """A generic atomic measure: weights ±U(0.5, 1.5), input weights N(0, I_d) (normalised if ``unit_norm``)."""
    sign = torch.where(torch.rand(S, generator=generator) < 0.5, -1.0, 1.0).to(dtype)
    a = sign * (0.5 + torch.rand(S, generator=generator, dtype=dtype))
    W = torch.randn(S, d, generator=generator, dtype=dtype)
    if unit_norm:
        W = W / W.norm(dim=-1, keepdim=True)
    return a, W


@dataclass(frozen=True)
class RankProfile:
    """Jacobian ranks of Φ_D for D = 1..D_max at several generic points, and the variety depth."""

    depths: tuple
    ranks: tuple  # min rank over the points, per depth scanned
    target: int  # S(1+d) − symmetry dimension
    depth: float  # D*_var, math.inf when not reached by D_max
    gap: tuple  # per depth: s_rank / s_(rank+1) (inf when the spectrum stops), min over points


@validated(
    activation=ActivationName(),
    S=Int(1, example_max=1),
    d=Int(1, example_max=1),
    D_max=Int(1, example_max=2),
    generator=Generator(),
    points=Int(1, example_max=1),
    unit_norm=Bool(),
    rtol=Real(positive=True),
)
def variety_depth(activation, S, d, D_max, generator, points=2, unit_norm=False, rtol=1e-9):
    """D*_var: the smallest D ≤ D_max with Jacobian rank of Φ_D = S(1+d) − symmetry dimension at every point
    (the scan stops there). Singular values count above rtol × the largest singular value of the depth-D_max
    Jacobian at the same point (Φ_D is a sub-vector of Φ_{D_max}, so this is one scale for all depths)."""
    target = S * (1 + d) - symmetry_dimension(activation, S, unit_norm)
    atoms = [random_atoms(S, d, generator, unit_norm=unit_norm) for _ in range(points)]
    scales = [
        float(torch.linalg.matrix_norm(moment_jacobian(activation, a, W, D_max, unit_norm), ord=2)) for a, W in atoms
    ]
    ranks, gaps = [], []
    for D in range(1, D_max + 1):
        rank_here, gap_here = [], []
        for (a, W), scale in zip(atoms, scales):
            rank, s = numerical_rank(moment_jacobian(activation, a, W, D, unit_norm), rtol, scale)
            rank_here.append(rank)
            gap_here.append(float(s[rank - 1] / s[rank]) if 0 < rank < s.numel() and s[rank] > 0 else math.inf)
        ranks.append(min(rank_here))
        gaps.append(min(gap_here))
        if ranks[-1] >= target:
            break
    depth = len(ranks) if ranks[-1] >= target else math.inf
    return RankProfile(
        depths=tuple(range(1, len(ranks) + 1)), ranks=tuple(ranks), target=target, depth=depth, gap=tuple(gaps)
    )


def levenberg_marquardt(residual_and_jacobian, x0, max_iter=200, tol=1e-26):
    r"""Batched Levenberg–Marquardt: minimise :math:`\lVert r(x_b)\rVert^2` for each row x_b of x0 (B, n)
    independently. ``residual_and_jacobian`` maps (B, n) to residuals (B, M) and Jacobians (B, M, n).
    Complex x and r work for holomorphic r (Jᴴ in place of Jᵀ).
    Damping is per row (Marquardt's diagonal scaling); a row stops when its cost is below ``tol`` or its damping
    exceeds 1e12. Returns (x (B, n), squared residual (B,))."""
    if x0.ndim != 2:
        raise ValueError(f"x0: need shape (B, n), got {tuple(x0.shape)}")
    x = x0.clone()
    r, J = residual_and_jacobian(x)
    cost = (r.abs() ** 2).sum(-1)
    damping = torch.full_like(cost, 1e-3)
    active = cost > tol
    for _ in range(max_iter):
        idx = torch.nonzero(active).flatten()
        if idx.numel() == 0:
            break
        Jb, rb = J[idx], r[idx]
        JtJ = Jb.mH @ Jb
        grad = (Jb.mH @ rb[..., None])[..., 0]
        scale = torch.diagonal(JtJ, dim1=-2, dim2=-1).real.clamp_min(1e-12)
        step, info = torch.linalg.solve_ex(JtJ + damping[idx, None, None] * torch.diag_embed(scale), -grad[..., None])
        r_trial, J_trial = residual_and_jacobian(x[idx] + step[..., 0])
        cost_trial = (r_trial.abs() ** 2).sum(-1)
        better = (info == 0) & torch.isfinite(cost_trial) & (cost_trial < cost[idx])
        keep = idx[better]
        x[keep] = x[keep] + step[better, :, 0]
        r[keep], J[keep], cost[keep] = r_trial[better], J_trial[better], cost_trial[better]
        damping[idx] = torch.where(better, damping[idx] / 3, damping[idx] * 4)
        active = (cost > tol) & (damping < 1e12)
    return x, cost


@dataclass(frozen=True)
class FibreSearch:
    """Outcome of a multi-start fibre search at depth D around one measure μ."""

    depth: int
    restarts: int
    residual: torch.Tensor  # relative ‖Φ_D(μ')−Φ_D(μ)‖ / ‖Φ_D(μ)‖ per restart
    converged: torch.Tensor  # residual below the tolerance
    orbit_distance: torch.Tensor  # matched distance of canonical forms to μ's, relative to Σ|a|
    outside: torch.Tensor  # converged and orbit_distance above the tolerance: a second preimage
    solutions: torch.Tensor  # packed μ' per restart (restarts, S'(1+d))

    @property
    def success_rate(self):
        return float(self.converged.double().mean())

    @property
    def n_outside(self):
        return int(self.outside.sum())

    @property
    def n_in_orbit(self):
        return int((self.converged & ~self.outside).sum())


def _canonical(activation, a, W, unit_norm, merge_tol):
    if unit_norm:
        W = W / W.norm(dim=-1, keepdim=True)
    return canonicalize(activation, a, W, merge_tol=merge_tol, drop_tol=merge_tol)


def catalecticant(T, d, k, m):
    r"""The (M_m × M_{k−m}) catalecticant of a symmetric k-tensor given in stored form T (M_k,): for
    :math:`T = \sum_j \lambda_j u_j^{\otimes k}` it equals :math:`\sum_j \lambda_j P_m(u_j) P_{k-m}(u_j)^\top`, with
    P_m the stored symmetric power; its kernel holds the degree-m forms g(u) = P_m(u)·g apolar to T."""
    if not 0 <= m <= k:
        raise ValueError(f"m: need 0 <= m <= k = {k}, got {m}")
    alpha_k, weight_k = multi_indices(d, k)
    position = {tuple(row): i for i, row in enumerate(alpha_k)}
    full = T / torch.as_tensor(weight_k, dtype=T.dtype, device=T.device)  # plain tensor entries
    alpha_m, weight_m = multi_indices(d, m)
    alpha_r, weight_r = multi_indices(d, k - m)
    index = torch.as_tensor([[position[tuple(p + q)] for q in alpha_r] for p in alpha_m], device=T.device)
    scale = torch.as_tensor(np.outer(weight_m, weight_r), dtype=T.dtype, device=T.device)
    return full[index] * scale


def _form_residual(form, m, S, W):
    """Values g(ŵ_j) of the degree-m form with stored coefficients ``form`` and their Jacobian in W packed after
    S weights: shapes (..., S) and (..., S, S(1+d))."""
    norms = W.norm(dim=-1, keepdim=True)
    U = W / norms
    P, dP = _symmetric_power_and_gradient(U, m)
    values = P @ form
    grad = (dP * form[:, None]).sum(-2)
    grad = (grad - (grad * U).sum(-1, keepdim=True) * U) / norms  # chain rule through w/|w|
    d = W.shape[-1]
    jacobian = torch.zeros(*W.shape[:-2], S, S * (1 + d), dtype=W.dtype, device=W.device)
    atom = torch.arange(S, device=W.device)
    for i in range(d):
        jacobian[..., atom, S + atom * d + i] = grad[..., i]
    return values, jacobian


@validated(
    activation=ActivationName(),
    **_measure(batch="", nonzero=True),
    D=Int(0, example_max=2),
    restarts=Int(1, example_max=1),
    generator=Generator(),
    atoms=Maybe(Int(1, example_max=2)),
    unit_norm=Bool(),
    max_iter=Int(1, example_max=5),
    residual_tol=Real(positive=True),
    orbit_tol=Real(positive=True),
    merge_tol=Real(nonnegative=True, example=(0.0, 1e-6)),
    starts=Anything(None),
    form=Anything(None),
)
def fibre_search(
    activation,
    a,
    W,
    D,
    restarts,
    generator,
    atoms=None,
    unit_norm=False,
    max_iter=200,
    residual_tol=1e-9,
    orbit_tol=1e-5,
    merge_tol=1e-7,
    starts=None,
    form=None,
):
    r"""Minimise :math:`\lVert\Phi_D(\mu') - \Phi_D(\mu)\rVert^2` over μ' with ``atoms`` atoms (default S) from
    ``restarts`` random starts (weights ±U(0.5,1.5), input weights N(0, I)), plus any packed ``starts`` (B, S'(1+d)),
    by batched Levenberg–Marquardt.

    ``form`` (optional): stored coefficients of a form g of degree m (``symmetric_power(u, m) @ form``); the search is
    then restricted to directions on its zero set by the extra residuals g(ŵ_j).
    A restart converges when its relative residual (moments and form together) is below ``residual_tol``; it lies
    outside μ's orbit when the matched distance between canonical forms, relative to Σ|a|, exceeds ``orbit_tol``.
    """
    act = activation
    a, W = atomic_measure(a, W, nonzero=True)
    S, d = W.shape
    S_search = S if atoms is None else atoms
    target = moment_map(act, a, W, D, unit_norm).detach()
    target_norm = max(float(target.norm()), 1e-300)

    if form is not None:
        degree = next((m for m in range(64) if multi_indices(d, m)[0].shape[0] == form.numel()), None)
        if degree is None:
            raise ValueError(f"form: {form.numel()} coefficients are not a form in {d} variables")
        form = form.to(a) / form.norm()

    def residual_and_jacobian(x):
        a_x, W_x = _unpack(x, S_search)
        value, jacobian = moment_map_and_jacobian(act, a_x, W_x, D, unit_norm)
        residual, jacobian = (value - target) / target_norm, jacobian / target_norm
        if form is None:
            return residual, jacobian
        on_form, form_jacobian = _form_residual(form, degree, S_search, W_x)
        return torch.cat([residual, on_form], -1), torch.cat([jacobian, form_jacobian], -2)

    random_starts = torch.stack([pack(*random_atoms(S_search, d, generator, dtype=a.dtype)) for _ in range(restarts)])
    if starts is not None:
        if starts.ndim != 2 or starts.shape[1] != random_starts.shape[1]:
            raise ValueError(f"starts: need shape (B, {random_starts.shape[1]}), got {tuple(starts.shape)}")
        random_starts = torch.cat([random_starts, starts.to(random_starts)])
    x, cost = levenberg_marquardt(residual_and_jacobian, random_starts, max_iter=max_iter)
    rel = torch.sqrt(cost)
    converged = rel < residual_tol
    reference = _canonical(act, a, W, unit_norm, merge_tol)
    scale = float(a.abs().sum())
    distance = torch.full_like(rel, math.nan)
    for b in torch.nonzero(converged).flatten().tolist():
        a2, W2 = _unpack(x[b], S_search)
        distance[b] = matched_distance(reference, _canonical(act, a2, W2, unit_norm, merge_tol)) / scale
    outside = converged & (distance > orbit_tol)
    return FibreSearch(
        depth=D,
        restarts=x.shape[0],
        residual=rel,
        converged=converged,
        orbit_distance=distance,
        outside=outside,
        solutions=x,
    )


@dataclass(frozen=True)
class OrbitDepth:
    """D*_orb from fibre searches at D = D_min, D_min+1, …; per depth the totals over instances and rounds.

    status per depth: "refuted" (a converged restart outside the orbit), "confirmed" (every instance has a
    converged restart inside its orbit and none outside) or "undecided" (some instance had no converged restart).
    """

    depth: float  # first confirmed depth, math.inf if none up to D_max
    depths: tuple
    status: tuple
    restarts: tuple
    converged: tuple
    outside: tuple
    searches: tuple  # per depth, the FibreSearch objects of every instance and round

    def separation(self, variety_depth):
        """How D*_orb exceeds D*_var = ``variety_depth``: "strict" when D*_orb > D*_var and every depth
        D*_var ≤ D < D*_orb was scanned and refuted, "open" when one of them was undecided or not scanned, "none"
        when D*_orb ≤ D*_var or D*_orb is infinite."""
        if not (math.isfinite(self.depth) and self.depth > variety_depth):
            return "none"
        between = [s for D, s in zip(self.depths, self.status) if variety_depth <= D < self.depth]
        scanned = len(between) == self.depth - variety_depth
        return "strict" if scanned and set(between) == {"refuted"} else "open"


@validated(
    activation=ActivationName(),
    S=Int(1, example_max=1),
    d=Int(1, example_max=1),
    D_max=Int(1, example_max=1),
    generator=Generator(),
    restarts=Int(1, example_max=1),
    instances=Int(1, example_max=0),
    unit_norm=Bool(),
    D_min=Int(1, example_max=0),
    rounds=Int(1, example_max=0),
    measures=Anything(None),
    warm=Bool(),
)
def orbit_depth(
    activation,
    S,
    d,
    D_max,
    generator,
    restarts=16,
    instances=1,
    unit_norm=False,
    D_min=1,
    rounds=3,
    measures=None,
    warm=True,
    **search_kw,
):
    """D*_orb: the smallest D in [D_min, D_max] whose status is "confirmed" (see OrbitDepth) for ``instances``
    generic μ (or the given ``measures``, a list of (a, W)). An instance with no converged restart gets up to
    ``rounds`` batches of ``restarts``. Points found in the fibre at depth D−1 (which contains the fibre at D) are
    added as starts at depth D (``warm``, at most ``restarts`` of them)."""
    act = activation
    if D_min > D_max:
        raise ValueError(f"D_min: need D_min <= D_max = {D_max}, got {D_min}")
    if measures is None:
        measures = [random_atoms(S, d, generator, unit_norm=unit_norm) for _ in range(instances)]
    depths, status, totals, conv, outs, searches = [], [], [], [], [], []
    depth = math.inf
    previous = [None] * len(measures)
    for D in range(D_min, D_max + 1):
        found, decided, refuted = [], True, False
        for i, (a, W) in enumerate(measures):
            for _ in range(rounds):
                search = fibre_search(
                    act,
                    a,
                    W,
                    D,
                    restarts,
                    generator,
                    unit_norm=unit_norm,
                    starts=previous[i] if warm else None,
                    **search_kw,
                )
                found.append(search)
                if bool(search.converged.any()):
                    break
            previous[i] = search.solutions[search.converged][:restarts]
            refuted = refuted or any(f.n_outside > 0 for f in found)
            decided = decided and bool(search.converged.any())
        depths.append(D)
        status.append("refuted" if refuted else ("confirmed" if decided else "undecided"))
        totals.append(sum(f.restarts for f in found))
        conv.append(sum(int(f.converged.sum()) for f in found))
        outs.append(sum(f.n_outside for f in found))
        searches.append(tuple(found))
        if status[-1] == "confirmed":
            depth = D
            break
    return OrbitDepth(
        depth=depth,
        depths=tuple(depths),
        status=tuple(status),
        restarts=tuple(totals),
        converged=tuple(conv),
        outside=tuple(outs),
        searches=tuple(searches),
    )


@validated(
    means=Tensor("... C"),
    weights=Tensor("... C", like="means"),
    sds=Tensor("... C", like="means"),
    K=Int(1, example_max=8),
)
def gaussian_mixture_moments(weights, means, sds, K):
    r"""Raw moments :math:`m_1..m_K` of :math:`\sum_i p_i N(m_i, s_i^2)`, by
    :math:`E X^k = m\,E X^{k-1} + (k-1)s^2 E X^{k-2}` per component; shape (..., K)."""
    return _mixture_moments(weights, means, sds, K)


def _mixture_moments(weights, means, sds, K):
    """:func:`gaussian_mixture_moments` for checked arguments (no checks: it runs under vmap)."""
    prev, cur = torch.ones_like(means), means
    out = [cur]
    for k in range(2, K + 1):
        prev, cur = cur, means * cur + (k - 1) * sds**2 * prev
        out.append(cur)
    return (torch.stack(out, dim=-1) * weights[..., None]).sum(dim=-2)


@validated(x=Tensor("... 5", max_abs=700.0))
def pearson_parameters(x):
    """Two-component mixture from x (..., 5) = (logit p, m_1, m_2, log s_1, log s_2): (weights, means, sds); |x| <= 700
    (exp of a larger log s overflows)."""
    return _pearson_parameters(x)


def _pearson_parameters(x):
    """:func:`pearson_parameters` of a checked x (inside the fits)."""
    p = torch.sigmoid(x[..., 0])
    return torch.stack([p, 1 - p], dim=-1), x[..., 1:3], torch.exp(x[..., 3:5])


@validated(
    means=Tensor("2"),
    weights=Tensor("2", like="means"),
    sds=Tensor("2", like="means", positive=True),
    K=Int(1, example_max=6),
    restarts=Int(1, example_max=2),
    generator=Generator(),
    residual_tol=Real(positive=True),
    max_iter=Int(1, example_max=5),
)
def pearson_fibre(weights, means, sds, K, restarts, generator, residual_tol=1e-10, max_iter=300):
    r"""All two-component Gaussian mixtures found with the same moments m_1..m_K (Pearson's problem), by
    multi-start Levenberg–Marquardt on the moments scaled by 1/max(1, |m_k|). Returns the distinct converged
    solutions as rows (p, m_1, m_2, s_1, s_2) with m_1 ≤ m_2, and the success rate."""
    target = _mixture_moments(weights, means, sds, K).detach()
    scale = target.abs().clamp_min(1.0)

    def residual(x):
        return (_mixture_moments(*_pearson_parameters(x), K) - target) / scale

    def residual_and_jacobian(x):
        return torch.func.vmap(residual)(x), torch.func.vmap(torch.func.jacfwd(residual))(x)

    starts = torch.cat(
        [
            torch.randn(restarts, 1, generator=generator, dtype=means.dtype),
            2 * torch.randn(restarts, 2, generator=generator, dtype=means.dtype),
            0.5 * torch.randn(restarts, 2, generator=generator, dtype=means.dtype),
        ],
        dim=1,
    )
    x, cost = levenberg_marquardt(residual_and_jacobian, starts, max_iter=max_iter)
    good = torch.sqrt(cost) < residual_tol
    rows = []
    for xb in x[good]:
        w, m, s = _pearson_parameters(xb)
        order = torch.argsort(m)
        rows.append(torch.cat([w[order][:1], m[order], s[order]]))
    distinct = []
    for row in rows:
        if all(float((row - other).abs().max()) > 1e-6 for other in distinct):
            distinct.append(row)
    solutions = torch.stack(distinct) if distinct else torch.zeros(0, 5, dtype=means.dtype)
    return solutions, float(good.double().mean())
