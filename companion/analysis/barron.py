r"""Barron–Hermite targets with controllable Hermite tails, the coefficient-threshold number and the atom bound.

A Barron–Hermite target is :math:`f^*(x) = \sum_m b_m g_m(u_m\cdot x)` whose profiles have orthonormal Hermite
coefficients :math:`\beta_{mk}` (``targets.ridge_target``); a teacher network is the case :math:`g_m = \sigma`
(``targets.teacher``). Its Hermite tensors are :math:`T^*_k = \sum_m b_m c_k^{g_m}(|u_m|)\,\hat u_m^{\otimes k}` and

.. math:: \lVert T^*_k\rVert_F^2 = \sum_{m,m'} b_m b_{m'}\, c_k(m)\, c_k(m')\, (\hat u_m\cdot\hat u_{m'})^k,

which needs no tensor of d^k entries. Operational definitions used by notebook 03:

- coefficient-threshold number :math:`K(\varepsilon)` = the largest degree k with :math:`\lVert T^*_k\rVert_F > \varepsilon`;
- Carathéodory-type bound :math:`S^*(\varepsilon) = \binom{r + K}{K} + 1` with r the dimension of the index space
  span{u_m}: :math:`\binom{r+K}{K}` counts the polynomials of degree ≤ K in r variables, and Carathéodory's theorem
  in that many dimensions adds one. For a single-index target (r = 1) the bound quoted is K + 1: the moments
  (T_0, …, T_K) along one line are K + 1 numbers, and a signed combination needs at most as many atoms as the
  dimension of the space it spans (the linear, not the convex, Carathéodory count).
"""

import math

import numpy as np
import torch
from scipy.special import eval_legendre, roots_legendre

from ..engine.contract import ActivationName, Choice, Int, Maybe, Real, Reals, TargetSpec, Tensor, validated
from ..engine.targets import ridge_target, teacher
from ..engine.validation import choice

DEGREE_SETS = ("all", "odd", "even")
SIGN_PATTERNS = ("positive", "alternating")
_GOLDEN = (1 + math.sqrt(5)) / 2


def _degree_mask(K, degrees):
    choice("degrees", degrees, DEGREE_SETS)
    k = np.arange(K)
    if degrees == "odd":
        return k % 2 == 1
    if degrees == "even":
        return k % 2 == 0
    return np.ones(K, dtype=bool)


def _normalised(values, K, degrees, signs):
    mask = _degree_mask(K, degrees)
    choice("signs", signs, SIGN_PATTERNS)
    k = np.arange(K)
    sign = (-1.0) ** (k // 2) if signs == "alternating" else np.ones(K)
    beta = np.where(mask, sign * values, 0.0)
    norm = np.sqrt((beta**2).sum())
    if norm == 0:
        raise ValueError(f"K: no degree below {K} is in the set {degrees!r}")
    return torch.as_tensor(beta / norm, dtype=torch.float64)


@validated(
    rate=Real(positive=True, below=1), K=Int(2, example_max=8), degrees=Choice(DEGREE_SETS), signs=Choice(SIGN_PATTERNS)
)
def geometric_tail(rate, K, degrees="odd", signs="alternating"):
    r"""Profile coefficients :math:`\beta_k \propto s_k\,\text{rate}^k` on the chosen degrees k < K, unit L² norm.

    ``signs`` "alternating" sets :math:`s_k = (-1)^{\lfloor k/2\rfloor}`, the sign pattern of erf's and tanh's own
    coefficients (so odd-σ students can realize the profile with positive weights); "positive" sets s_k = 1."""
    return _normalised(rate ** np.arange(K), K, degrees, signs)


@validated(power=Real(positive=True), K=Int(2, example_max=8), degrees=Choice(DEGREE_SETS), signs=Choice(SIGN_PATTERNS))
def polynomial_tail(power, K, degrees="odd", signs="alternating"):
    r"""Profile coefficients :math:`\beta_k \propto s_k\,(k+1)^{-\text{power}}` on the chosen degrees k < K, unit L²
    norm; ``signs`` as in :func:`geometric_tail`."""
    return _normalised((np.arange(K) + 1.0) ** (-power), K, degrees, signs)


@validated(M=Int(1), d=Int(1), memory=lambda args: (8 * args["M"] * args["d"], "M"))
def spread_lines(M, d):
    r"""M unit directions in :math:`\mathbb{R}^d`, pairwise far apart modulo sign: M ≤ d, the standard basis
    (orthogonal); d = 2, angles πm/M + π/(4M); d = 3 and M ≤ 6, the icosahedron's axes (pairwise angle 63.4°).
    Shape (M, d)."""
    if M <= d:
        return torch.eye(d, dtype=torch.float64)[:M]
    if d == 2:
        angles = np.pi * np.arange(M) / M + np.pi / (4 * M)
        return torch.as_tensor(np.stack([np.cos(angles), np.sin(angles)], axis=1))
    if d == 3 and M <= 6:
        g = _GOLDEN
        axes = np.array([[0, 1, g], [0, -1, g], [1, g, 0], [-1, g, 0], [g, 0, 1], [g, 0, -1]], dtype=float)
        return torch.as_tensor(axes[:M] / np.linalg.norm(axes[:M], axis=1, keepdims=True))
    raise ValueError(f"M: {M} spread directions are defined for M <= d, d = 2, or d = 3 with M <= 6; got d = {d}")


@validated(activation=ActivationName(), M=Int(1), d=Int(1), weights=Tensor(), scale=Real())
def teacher_network(activation, M, d, weights=1.0, scale=1.0):
    r"""Teacher :math:`\sum_{m<M} b_m\,\sigma(\text{scale}\;u_m\cdot x)` on the directions of :func:`spread_lines`."""
    U = spread_lines(M, d) * scale
    b = weights.to(torch.float64)
    if b.ndim > 1 or b.numel() not in (1, U.shape[0]):
        raise ValueError(f"weights: need a number or {U.shape[0]} output weights, got shape {tuple(b.shape)}")
    b = b.expand(U.shape[0]).clone()
    return teacher(activation, b, U)


@validated(
    beta=Tensor("K", dtype=torch.float64),
    d=Int(1),
    direction=Maybe(Tensor("n", dtype=torch.float64)),
    memory=lambda args: (8 * args["d"], "d"),
)
def single_index(beta, d, direction=None):
    r"""Single-index Barron–Hermite target :math:`g(u\cdot x)`, :math:`g = \sum_k \beta_k h_k`, u the first basis
    vector unless ``direction`` (d,) is given."""
    if direction is None:
        u = torch.zeros(1, d, dtype=torch.float64)
        u[0, 0] = 1.0
    elif direction.shape != (d,):
        raise ValueError(f"direction: need shape ({d},) for d = {d}, got shape {tuple(direction.shape)}")
    elif not bool(direction.any()):
        raise ValueError("direction: need a non-zero direction")
    else:
        u = direction[None, :]
    return ridge_target(torch.ones(1, dtype=torch.float64), u, beta)


@validated(
    activation=ActivationName(),
    D_max=Int(0, example_max=6),
    nodes=Int(1, example_max=50),
    rtol=Real(positive=True),
    memory=lambda args: max((8 * (args["D_max"] + 1) ** 2, "D_max"), (32 * args["nodes"], "nodes")),
)
def supports(activation, D_max, nodes=2000, rtol=1e-8):
    r"""Degrees k ≤ D_max on which σ has weight under two input laws, and whether the Gaussian one is closed under
    k ↦ k − 2. Returns (on_gauss, on_sphere, closed), two boolean arrays (D_max + 1,) and a bool.

    Gaussian x ~ N(0, I_d) and a unit w: σ(w·x) = Σ_k c_k(1) h_k(w·x), so on_gauss[k] is c_k(1) ≠ 0.
    x uniform on the sphere of radius √3 in R^3: t = ŵ·x/√3 is uniform on [−1, 1] and
    σ(√3 t) = Σ_k g_k P_k(t) with the Legendre (= Gegenbauer at d = 3) coefficients
    :math:`g_k = \frac{2k+1}{2}\int_{-1}^1 \sigma(\sqrt3 t) P_k(t)\,dt` (Gauss–Legendre quadrature with ``nodes``
    nodes), so on_sphere[k] is g_k ≠ 0. "≠ 0" means above ``rtol`` times the largest coefficient of the same kind."""
    act = activation
    hermite = act.coefficients(torch.tensor(1.0, dtype=torch.float64), D_max + 1).numpy()
    t, weights = roots_legendre(nodes)
    values = act.fn(torch.as_tensor(math.sqrt(3) * t)).numpy()
    legendre = np.array([(2 * k + 1) / 2 * np.sum(weights * values * eval_legendre(k, t)) for k in range(D_max + 1)])
    on_gauss = np.abs(hermite) > rtol * np.abs(hermite).max()
    on_sphere = np.abs(legendre) > rtol * np.abs(legendre).max()
    closed = all(not on_gauss[k] or on_gauss[k - 2] for k in range(2, D_max + 1))
    return on_gauss, on_sphere, closed


@validated(
    target=TargetSpec(), K=Int(1, example_max=8), memory=lambda args: (8 * args["K"] * len(args["target"].U) ** 2, "K")
)
def hermite_tensor_norms(target, K):
    r""":math:`\lVert T^*_k\rVert_F` for k < K by the Gram identity in the module docstring: shape (K,)."""
    if not bool((target.U.norm(dim=-1) > 0).all()):
        raise ValueError("target: a direction u_m = 0 has no unit direction; drop it (it is a constant)")
    coef = target.profile_coefficients(K).to(torch.float64)  # (M, K)
    unit = target.U / target.U.norm(dim=-1, keepdim=True)
    cosines = (unit @ unit.T).to(torch.float64)  # (M, M)
    weighted = target.b.to(torch.float64)[:, None] * coef  # (M, K)
    powers = cosines[None] ** torch.arange(K, dtype=torch.float64)[:, None, None]
    squares = torch.einsum("mk,kmn,nk->k", weighted, powers, weighted)
    return squares.clamp_min(0).sqrt()


@validated(target=TargetSpec(), eps=Reals(positive=True), K_max=Int(2, example_max=40))
def coefficient_thresholds(target, eps, K_max=160):
    r""":math:`K(\varepsilon)` for each ε of a 1-D array (one tensor-norm computation for all): int array, −1 where no
    degree k < K_max has :math:`\lVert T^*_k\rVert_F > \varepsilon`.

    Raises ValueError when one of the two highest degrees computed still exceeds the smallest ε (K_max too small to
    see the tail fall below ε for both parities)."""
    norms = hermite_tensor_norms(target, K_max).numpy()
    if (norms[-2:] > eps.min()).any():
        raise ValueError(
            f"K_max: tensors of degree {K_max - 2}..{K_max - 1} still exceed eps = {eps.min()}; raise K_max"
        )
    above = norms[None, :] > eps[:, None]
    degrees = np.arange(K_max)
    return np.where(above.any(1), np.where(above, degrees, -1).max(1), -1).astype(int)


@validated(target=TargetSpec(), eps=Real(positive=True), K_max=Int(2, example_max=40))
def coefficient_threshold(target, eps, K_max=160):
    r""":math:`K(\varepsilon)` = the largest degree k < K_max with :math:`\lVert T^*_k\rVert_F > \varepsilon` (−1 if none),
    by :func:`coefficient_thresholds`."""
    return int(coefficient_thresholds(target, [eps], K_max)[0])


@validated(target=TargetSpec(), rtol=Real(positive=True))
def index_dimension(target, rtol=1e-10):
    """r = dim span{u_m}, the numerical rank of the target's direction matrix."""
    singular = torch.linalg.svdvals(target.U.to(torch.float64))
    return int((singular > rtol * singular[0]).sum())


@validated(K=Int(), r=Int(1))
def atom_bound(K, r):
    r""":math:`S^* = \binom{r+K}{K} + 1` for r ≥ 2 and K + 1 for r = 1 (see the module docstring); 0 when K < 0."""
    if K < 0:
        return 0
    return K + 1 if r == 1 else math.comb(r + K, K) + 1


@validated(target=TargetSpec(), eps=Real(positive=True), K_max=Int(2, example_max=40))
def sparsity_bound(target, eps, K_max=160):
    """(K(ε), r, S*(ε)) for a target."""
    K = coefficient_threshold(target, eps, K_max)
    r = index_dimension(target)
    return K, r, atom_bound(K, r)
