r"""Power-sum (Waring) decompositions of a form found by multi-start complex Gauss–Newton on the full system, counted.

A form f of degree k in n variables has a decomposition of length r when :math:`f = \sum_{i=1}^r \ell_i^k` with
:math:`\ell_i \in ℂ^n` (each term's scalar absorbed in ℓ_i). In the Bombieri–Weyl coordinates
:math:`\tilde f_\alpha = f_\alpha / \sqrt{k!/\alpha!}` the coefficients of :math:`\ell^k` are
:math:`\sqrt{k!/\alpha!}\,\ell^\alpha`, so the rn unknowns L = (ℓ_1, …, ℓ_r) satisfy the
:math:`M = \binom{n+k-1}{k}` equations

.. math:: F_\alpha(L) = \sum_i \sqrt{k!/\alpha!}\,\ell_i^\alpha - \tilde f_\alpha = 0,

holomorphic in L (for the ternary sextic of rank 9: 27 unknowns, 28 equations). A decomposition is a point of
{F = 0} up to its symmetries, the r! permutations of the terms and ℓ_i ↦ ζℓ_i with ζ^k = 1, so it is r!·k^r
isolated points of {F = 0}. The symmetries are removed by invariants: with a fixed random complex unit vector c, term i is the
point :math:`p_i = \ell_i/(c\cdot\ell_i)` on the affine plane c·p = 1 (coordinates u_i ∈ ℂ^{n−1}) and the weight
:math:`\lambda_i = (c\cdot\ell_i)^k`, so :math:`\ell_i^k = \lambda_i\,(p_i\cdot x)^k` whatever the root ζ (terms
with c·ℓ_i = 0 are missed: a measure-zero set for random c).

**Search.** F = 0 reads :math:`A(U)\lambda = \tilde f` with A's columns the coefficient vectors of
:math:`(p_i\cdot x)^k`, linear in λ: the search minimises the variable-projection residual
:math:`\lVert (I - A A^+)\tilde f\rVert` over U (Golub–Pereyra), which is all M equations with λ eliminated by least
squares, by Levenberg–Marquardt in complex arithmetic (Kaufman's Jacobian :math:`-(I - AA^+)\,\partial_U A\,\lambda`,
steps :math:`(J^H J + \nu I)^{-1}J^H r`) from ``starts`` complex Gaussian U. A start *converges* when the relative
residual falls below ``tol``; two converged starts are the same decomposition when the cheapest matching of their
terms moves no (u, λ/max|λ|) by more than ``cluster_tol``. A cluster is kept when its representative
:math:`\ell_i = \lambda_i^{1/k} p_i`, after Newton on the square system below, solves all of F to 100·``tol``; the
others are border-rank limits (terms that grow and cancel: the projected residual is small, F at the ℓ_i is not)
and their starts are counted as rejected. A decomposition is real when each term's coefficient vector
:math:`\lambda_i(p_i\cdot x)^k` is real (to 1e-8 of the largest): the chart c is complex, so p_i and λ_i need not
be real themselves.

**Certificates**, for each distinct decomposition, in the original unknowns :math:`\ell_i = \lambda_i^{1/k} p_i`: Smale's
α-test (``polynomial_systems.alpha_test``) on the square system R·F, R a random real (rn × M) matrix; α < α_0
proves an exact solution of R·F within 2β of L, and that it solves all of F is read from F's residual (rounding
level). Quadratic convergence: Gauss–Newton on all of F from L moved by a relative 1e-4 (recorded residuals).

**What the count is.** Multi-start finds a **lower bound** on the number of decompositions; the upper bound must come
from elsewhere. For the ternary sextic of rank 9 (f on the hypersurface :math:`\sigma_9(\nu_6(\mathbb P^2))`) a
general f has exactly two (Chiantini, Ottaviani and Vannieuwenhoven, "On generic identifiability of symmetric tensors
of subgeneric rank", Trans. AMS 369 (2017) 4021–4042); a general binary form of degree 2r − 1 has exactly one of
length r (Sylvester). How many starts reach each decomposition says whether finding all of them was luck.
"""

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..engine.validation import positive_int
from .identifiability import multi_indices
from .polynomial_systems import ALPHA_0, PolynomialSystem, alpha_test, newton_refine


@dataclass(frozen=True)
class WaringSearch:
    """Decompositions found by :func:`waring_decompositions`, most-reached first.

    points (K, r, n) and weights (K, r): the K distinct decompositions as terms λ_i (p_i·x)^k (c·p_i = 1, terms
    sorted); L (K, r, n): one representative ℓ_i = λ_i^{1/k} p_i of each; hits (K,): converged starts that reached
    each; residual (K,): |F(L)|/|f̃|; alpha (K,): α of the certificate (``certified``: α < α_0); newton (K, s + 1):
    relative residuals at L moved by a relative 1e-4 and after each of s Gauss–Newton steps from there; real (K,);
    starts; converged: starts that reached a kept decomposition; rejected: starts that met ``tol`` in a cluster
    dropped because its ℓ_i do not solve F (module docstring); k: the degree; seconds: wall time of the search;
    certify_seconds: of the checks and certificates."""

    points: np.ndarray
    weights: np.ndarray
    L: np.ndarray
    hits: np.ndarray
    residual: np.ndarray
    alpha: np.ndarray
    newton: np.ndarray
    real: np.ndarray
    starts: int
    converged: int
    rejected: int
    k: int
    seconds: float
    certify_seconds: float

    @property
    def n_distinct(self):
        return int(self.hits.size)

    @property
    def certified(self):
        return self.alpha < ALPHA_0


def form_coefficients(a, W, k):
    """Bombieri–Weyl coefficients (M,) of Σ_j a_j (w_j·x)^k (a (S,), W (S, n), real or complex), in
    ``identifiability.multi_indices(n, k)`` order: Σ_j a_j √(k!/α!) w_j^α."""
    a, W = np.asarray(a), np.asarray(W)
    if W.ndim != 2 or a.shape != (W.shape[0],):
        raise ValueError(f"a, W: need shapes (S,) and (S, n), got {a.shape} and {W.shape}")
    alpha, weight = multi_indices(W.shape[1], positive_int("k", k))
    return weight * (a[:, None] * np.prod(W[:, None, :] ** alpha[None], axis=-1)).sum(axis=0)


def _powers(X, k):
    """X^e for e = 0..k, shape X.shape + (k + 1,)."""
    out = np.ones(X.shape + (k + 1,), dtype=complex)
    for e in range(1, k + 1):
        out[..., e] = out[..., e - 1] * X
    return out


def _columns(P, alpha, weight):
    """Coefficient vectors √(k!/α!) p^α of (p·x)^k and their derivatives in p: (B, M, r) and (B, M, r, n)."""
    k, n = int(alpha[0].sum()), P.shape[-1]
    powers, cols = _powers(P, k), np.arange(n)
    A = powers[..., cols, alpha].prod(axis=-1) * weight  # (B, r, M)
    dA = np.empty(A.shape + (n,), dtype=complex)
    for j in range(n):
        lowered = alpha.copy()
        lowered[:, j] = np.maximum(alpha[:, j] - 1, 0)
        dA[..., j] = powers[..., cols, lowered].prod(axis=-1) * (alpha[:, j] * weight)
    return np.swapaxes(A, 1, 2), np.moveaxis(dA, 2, 1)


def _solve(A, b):
    """A⁻¹b for a batch of square systems (least squares for one that is singular)."""
    with np.errstate(all="ignore"):
        try:
            return np.linalg.solve(A, b)
        except np.linalg.LinAlgError:
            return np.stack([np.linalg.lstsq(a, v, rcond=None)[0] for a, v in zip(A, b)])


def _projected(U, f, chart, alpha, weight):
    """Variable projection at U (B, r, n−1): residual (I − AA⁺)f (B, M), Kaufman's Jacobian (B, M, r(n−1)) and the
    least-squares weights λ (B, r)."""
    origin, basis = chart
    A, dA = _columns(origin + U @ basis.T, alpha, weight)
    Q, R = np.linalg.qr(A)
    QH = np.conj(np.swapaxes(Q, 1, 2))
    lam = _solve(R, QH @ f[:, None])[..., 0]
    residual = f - (A @ lam[..., None])[..., 0]
    G = ((dA @ basis) * lam[:, None, :, None]).reshape(A.shape[0], A.shape[1], -1)
    return residual, -(G - Q @ (QH @ G)), lam


def _lm(U, f, chart, alpha, weight, iterations, tol):
    """Levenberg–Marquardt on the projected residual from each start U (B, r, n−1); converged starts stop early.
    Returns (U, λ, relative residual)."""
    residual, J, lam = _projected(U, f, chart, alpha, weight)
    cost = np.linalg.norm(residual, axis=1)
    damping = np.full(U.shape[0], 1e-3)
    for _ in range(iterations):
        active = np.flatnonzero(cost >= tol)
        if not active.size:
            break
        Ja, ra = J[active], residual[active]
        JH = np.conj(np.swapaxes(Ja, 1, 2))
        normal = JH @ Ja + damping[active, None, None] * np.eye(Ja.shape[2])
        with np.errstate(all="ignore"):
            step = -_solve(normal, JH @ ra[..., None])[..., 0]
            trial = U[active] + step.reshape(-1, *U.shape[1:])
            r2, J2, lam2 = _projected(trial, f, chart, alpha, weight)
        cost2 = np.linalg.norm(r2, axis=1)
        better = np.isfinite(cost2) & (cost2 < cost[active])
        keep = active[better]
        U[keep], residual[keep], J[keep], lam[keep], cost[keep] = (
            trial[better],
            r2[better],
            J2[better],
            lam2[better],
            cost2[better],
        )
        damping[active] = np.where(better, damping[active] / 3, damping[active] * 2)
    return U, lam, cost


def _distance(a, b):
    """Cheapest matching of the terms of two decompositions (u, λ/max|λ|): the largest move."""
    (u, lam), (v, mu) = a, b
    cost = np.maximum(np.abs(u[:, None, :] - v[None, :, :]).max(axis=-1), np.abs(lam[:, None] - mu[None, :]))
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].max())


def _system(alpha, weight, f, r):
    """F as a ``PolynomialSystem`` in the rn unknowns (ℓ_1, …, ℓ_r): r blocks of terms, then the constants −f̃."""
    M, n = alpha.shape
    E = np.zeros((r * M + 1, r * n), dtype=int)
    C = np.zeros((r * M + 1, M), dtype=complex)
    for i in range(r):
        E[i * M : (i + 1) * M, i * n : (i + 1) * n] = alpha
        C[i * M : (i + 1) * M] = np.diag(weight)
    C[-1] = -f
    return PolynomialSystem(E, C)


def _gauss_newton(system, L, steps):
    """Relative residuals |F|/|f̃| at L (B, rn) and after each of ``steps`` Gauss–Newton steps on the (overdetermined)
    system: (B, steps + 1)."""
    out = np.empty((L.shape[0], steps + 1))
    norm_f = np.linalg.norm(system.coefficients[-1])
    for s in range(steps + 1):
        F, J = system.jacobian(L)
        out[:, s] = np.linalg.norm(F, axis=1) / norm_f
        if s < steps:
            L = L - np.stack([np.linalg.lstsq(j, v, rcond=None)[0] for j, v in zip(J, F)])
    return out


def waring_decompositions(f, k, r, starts, rng, iterations=600, tol=1e-12, cluster_tol=1e-3, newton_steps=4):
    """The length-r decompositions f = Σ_i ℓ_i^k that ``starts`` random complex starts reach (module docstring): a
    lower bound on their number, each with its hit count, an α-certificate and a quadratic-convergence record.

    f: coefficients (M,) in the Bombieri–Weyl coordinates f_α/√(k!/α!) of ``identifiability.multi_indices(n, k)``
    order (``form_coefficients``); rng: a ``numpy.random.Generator`` (starts, the chart c, R and the perturbation);
    ``iterations``: Levenberg–Marquardt steps per start; ``tol``: relative residual of convergence."""
    k, r, starts = positive_int("k", k), positive_int("r", r), positive_int("starts", starts)
    iterations, newton_steps = positive_int("iterations", iterations), positive_int("newton_steps", newton_steps)
    for name, value in (("tol", tol), ("cluster_tol", cluster_tol)):
        if not (isinstance(value, (int, float)) and 0 < value < 1):
            raise ValueError(f"{name}: need a number in (0, 1), got {value!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: need a numpy.random.Generator, got {type(rng).__name__}")
    f = np.asarray(f, dtype=complex)
    n = next((m for m in range(1, 64) if f.ndim == 1 and math.comb(m + k - 1, k) == f.size), None)
    if n is None or n < 2:
        raise ValueError(f"f: need C(n+k−1, k) coefficients with n ≥ 2 for k = {k}, got shape {f.shape}")
    if not np.isfinite(f).all() or not np.linalg.norm(f) > 0:
        raise ValueError("f: need finite coefficients, not all zero")
    t0 = time.perf_counter()
    alpha, weight = multi_indices(n, k)
    norm_f = np.linalg.norm(f)
    c = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    c /= np.linalg.norm(c)
    chart = (c.conj(), np.linalg.svd(c[None])[2][1:].conj().T)  # c·p = 1: p = c̄ + basis·u, c·basis = 0
    U = (rng.standard_normal((starts, r, n - 1)) + 1j * rng.standard_normal((starts, r, n - 1))) / math.sqrt(2)
    U, lam, cost = _lm(U, f / norm_f, chart, alpha, weight, iterations, tol)
    converged = np.flatnonzero(cost < tol)

    found, members = [], []
    for b in converged:
        order = np.lexsort(np.concatenate([U[b].imag.T[::-1], U[b].real.T[::-1]]))
        form = (U[b][order], lam[b][order])
        key = (form[0], form[1] / np.abs(form[1]).max())
        same = next((i for i, other in enumerate(found) if _distance(key, other[1]) < cluster_tol), None)
        if same is None:
            found.append((form, key))
            members.append([b])
        else:
            members[same].append(b)
    rank = np.argsort([-len(m) for m in members], kind="stable")
    found, members = [found[i][0] for i in rank], [members[i] for i in rank]
    seconds = time.perf_counter() - t0

    origin, basis = chart
    points = np.array([origin + u @ basis.T for u, _ in found], dtype=complex).reshape(-1, r, n)
    weights = np.array([w * norm_f for _, w in found], dtype=complex).reshape(-1, r)
    hits = np.array([len(m) for m in members], dtype=int)
    # in the unknowns ℓ_i of f/|f| (scaled by |f|^(−1/k)): Newton on the square system where it lowers |F|; a
    # cluster whose representative does not solve all of F to 100·tol (a border-rank limit: terms that diverge and
    # cancel) is dropped, its starts counted as rejected
    system = _system(alpha, weight, f / norm_f, r)
    square = system.combine(rng.standard_normal((r * n, f.size)) / math.sqrt(f.size))
    flat = (((weights / norm_f) ** (1 / k))[..., None] * points).reshape(-1, r * n)
    refined = newton_refine(square, flat, iterations=3)[0]
    before, after = np.linalg.norm(system(flat), axis=1), np.linalg.norm(system(refined), axis=1)
    flat = np.where((after <= before)[:, None], refined, flat)
    residual = np.minimum(before, after)
    valid = residual < 100 * tol
    points, weights, flat, residual, hits = points[valid], weights[valid], flat[valid], residual[valid], hits[valid]
    if valid.any():
        alpha_values = alpha_test(square, flat)[0]
        moved = flat * (1 + 1e-4 * (rng.standard_normal(flat.shape) + 1j * rng.standard_normal(flat.shape)))
        newton = _gauss_newton(system, moved, newton_steps)
    else:
        alpha_values, newton = np.zeros(0), np.zeros((0, newton_steps + 1))
    terms = weights[:, None, :] * _columns(points, alpha, weight)[0]
    real = np.abs(terms.imag).max(axis=(1, 2), initial=0) < 1e-8 * np.abs(terms).max(axis=(1, 2), initial=0)
    return WaringSearch(
        points=points,
        weights=weights,
        L=flat.reshape(-1, r, n) * norm_f ** (1 / k),
        hits=hits,
        residual=residual,
        alpha=np.asarray(alpha_values, dtype=float),
        newton=newton,
        real=real,
        starts=starts,
        converged=int(hits.sum()),
        rejected=int(converged.size - hits.sum()),
        k=k,
        seconds=seconds,
        certify_seconds=time.perf_counter() - t0 - seconds,
    )


def term_distance(terms, other):
    """Largest gap between matched terms of two decompositions, relative to the largest term: terms (r, M) and other
    (r, M) the Bombieri–Weyl coefficient vectors of their terms (e.g. ``form_coefficients`` of one atom each), matched
    by the cheapest assignment. Chart- and root-free: 0 exactly when the decompositions agree up to permutation."""
    terms, other = np.asarray(terms), np.asarray(other)
    if terms.ndim != 2 or terms.shape != other.shape:
        raise ValueError(f"terms, other: need two (r, M) arrays of one shape, got {terms.shape} and {other.shape}")
    cost = np.abs(terms[:, None, :] - other[None, :, :]).max(axis=-1)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].max() / np.abs(terms).max())


def decomposition_terms(search):
    """The term coefficient vectors (K, r, M) of every decomposition of a :class:`WaringSearch`: row i of
    decomposition K is the Bombieri–Weyl vector of ℓ_i^k."""
    K, r, n = search.L.shape
    if not K:
        return np.zeros((0, r, 0), dtype=complex)
    return np.stack([np.stack([form_coefficients(np.ones(1), l[None], search.k) for l in L]) for L in search.L])
