r"""All isolated complex solutions of a square polynomial system, by total-degree homotopy continuation (numpy).

A system F = (f_1, …, f_n) in n unknowns is stored term by term: exponents E (T, n), coefficients C (T, m) (term t
contributes C[t, i]·x^E[t] to f_i). Bézout's theorem bounds the number of isolated solutions in ℂⁿ by
:math:`\prod_i \deg f_i`; the total-degree homotopy

.. math:: H(x, t) = (1 - t)\,F(x) + t\,\gamma\,G(x),\qquad G_i(x) = x_i^{d_i} - 1,

starts at the :math:`\prod_i d_i` known roots of G (t = 1) and follows each to t = 0. For a random complex γ (the
"gamma trick") every path is smooth for t ∈ (0, 1] with probability one, and every isolated solution of F is the
end of some path. Paths are followed with a fourth-order Runge–Kutta predictor for dx/dt = −H_x⁻¹H_t, Newton
correctors and per-path step control; a path whose |x| exceeds ``divergence`` goes to infinity. Near t = 0 paths
ending at singular solutions are finished by the Cauchy endgame: x(0) is the mean of x over loops
:math:`t = t_e e^{i\theta}` until the path closes (winding number c ≤ ``max_winding``). Endpoints are refined by
Newton on F and deduplicated.

Regular solutions are certified by Smale's α-test with the Shub–Smale bound on γ (as in alphaCertified, Hauenstein
and Sottile 2012): with β = |DF(x)⁻¹F(x)| and
:math:`\gamma \le \mu(F, x)\,D^{3/2} / (2\lVert(1, x)\rVert)`, α = βγ < (13 − 3√17)/4 proves that Newton's method
from x converges quadratically to a solution within 2β of x; for real coefficients and real x that solution is real.
"""

import math
from dataclasses import dataclass

import numpy as np

ALPHA_0 = (13 - 3 * math.sqrt(17)) / 4


@dataclass(frozen=True)
class PolynomialSystem:
    """n polynomials in n unknowns: ``exponents`` (T, n) non-negative integers, ``coefficients`` (T, m) complex."""

    exponents: np.ndarray
    coefficients: np.ndarray

    def __post_init__(self):
        E, C = np.asarray(self.exponents), np.asarray(self.coefficients)
        if E.ndim != 2 or C.ndim != 2 or E.shape[0] != C.shape[0]:
            raise ValueError(f"exponents/coefficients: need shapes (T, n) and (T, m), got {E.shape} and {C.shape}")
        if (E < 0).any():
            raise ValueError("exponents: need non-negative integers")
        object.__setattr__(self, "exponents", E.astype(int))
        object.__setattr__(self, "coefficients", C.astype(complex))

    @property
    def n_vars(self):
        return self.exponents.shape[1]

    @property
    def n_equations(self):
        return self.coefficients.shape[1]

    @property
    def degrees(self):
        """Total degree of each polynomial (0 for the zero polynomial)."""
        total = self.exponents.sum(axis=1)
        return np.array([int(total[self.coefficients[:, i] != 0].max(initial=0)) for i in range(self.n_equations)])

    @property
    def is_real(self):
        return bool(np.all(self.coefficients.imag == 0))

    def __call__(self, X):
        """Values (B, m) at points X (B, n)."""
        return self._monomials(np.asarray(X, dtype=complex))[0] @ self.coefficients

    def jacobian(self, X):
        """Values (B, m) and Jacobians (B, m, n)."""
        mono, powers = self._monomials(np.asarray(X, dtype=complex))
        E = self.exponents
        J = np.empty((X.shape[0], self.n_equations, self.n_vars), dtype=complex)
        cols = np.arange(self.n_vars)
        for i in range(self.n_vars):
            lowered = E.copy()
            lowered[:, i] = np.maximum(E[:, i] - 1, 0)
            d_mono = powers[:, cols, lowered].prod(axis=-1) * E[:, i]
            J[:, :, i] = d_mono @ self.coefficients
        return mono @ self.coefficients, J

    def _monomials(self, X):
        top = int(self.exponents.max(initial=0))
        powers = np.ones(X.shape + (top + 1,), dtype=complex)
        for e in range(1, top + 1):
            powers[..., e] = powers[..., e - 1] * X
        return powers[:, np.arange(self.n_vars), self.exponents].prod(axis=-1), powers

    def combine(self, R):
        """The system R·F (R (m', m)): random linear combinations, e.g. to square an overdetermined system."""
        return PolynomialSystem(self.exponents, self.coefficients @ np.asarray(R).T)

    def stack(self, other):
        """F and ``other`` (same unknowns) as one system."""
        if other.n_vars != self.n_vars:
            raise ValueError(f"other: {other.n_vars} unknowns, need {self.n_vars}")
        E = np.concatenate([self.exponents, other.exponents])
        C = np.zeros((E.shape[0], self.n_equations + other.n_equations), dtype=complex)
        C[: self.exponents.shape[0], : self.n_equations] = self.coefficients
        C[self.exponents.shape[0] :, self.n_equations :] = other.coefficients
        return PolynomialSystem(E, C)


def from_sympy(polynomials, variables):
    """A ``PolynomialSystem`` from sympy expressions in ``variables`` (numeric coefficients)."""
    import sympy

    terms = {}
    for i, expr in enumerate(polynomials):
        for monomial, coefficient in sympy.Poly(sympy.expand(expr), *variables).terms():
            terms.setdefault(monomial, {})[i] = complex(coefficient)
    E = np.array(list(terms), dtype=int).reshape(-1, len(variables))
    C = np.zeros((len(terms), len(polynomials)), dtype=complex)
    for t, entries in enumerate(terms.values()):
        for i, value in entries.items():
            C[t, i] = value
    return PolynomialSystem(E, C)


def _start_system(degrees):
    """G_i = x_i^{d_i} − 1 as a system, and its ∏ d_i roots (P, n)."""
    n = len(degrees)
    E = np.concatenate([np.diag(degrees), np.zeros((1, n), dtype=int)])
    C = np.concatenate([np.eye(n), -np.ones((1, n))]).astype(complex)
    grids = np.meshgrid(*[np.exp(2j * np.pi * np.arange(d) / d) for d in degrees], indexing="ij")
    return PolynomialSystem(E, C), np.stack([g.ravel() for g in grids], axis=-1)


class _Homotopy:
    """H(x, t) = (1 − t) F + t γ G for complex t, batched: values, H_x, H_t."""

    def __init__(self, F, G, gamma):
        self.F, self.G, self.gamma = F, G, gamma

    def __call__(self, X, t):
        f, Jf = self.F.jacobian(X)
        g, Jg = self.G.jacobian(X)
        t_ = t[:, None]
        H = (1 - t_) * f + t_ * self.gamma * g
        Hx = (1 - t_)[..., None] * Jf + (t_ * self.gamma)[..., None] * Jg
        return H, Hx, self.gamma * g - f


def _solve(A, b):
    """Batched solve with a NaN result for singular matrices."""
    out = np.full(b.shape, np.nan + 0j)
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        for k in range(A.shape[0]):
            try:
                out[k] = np.linalg.solve(A[k], b[k])
            except np.linalg.LinAlgError:
                pass
        return out


def _velocity(hom, X, t, dt):
    """dx = −H_x⁻¹ H_t dt."""
    _, Hx, Ht = hom(X, t)
    return -_solve(Hx, Ht) * dt[:, None]


def _newton(hom, X, t, iterations, tol):
    """``iterations`` Newton steps on H(·, t); returns (X, converged, size of the first step): converged when the last
    step is below tol·(1 + |x|)."""
    ok = np.zeros(X.shape[0], dtype=bool)
    first = None
    for _ in range(iterations):
        H, Hx, _ = hom(X, t)
        step = _solve(Hx, H)
        X = X - step
        size = np.linalg.norm(step, axis=1)
        first = size if first is None else first
        ok = np.isfinite(size) & (size < tol * (1 + np.linalg.norm(X, axis=1)))
    return X, ok, first


def _track(hom, X, t0, t1, h0=0.05, h_min=1e-14, tol=1e-9, divergence=1e8, max_steps=20_000):
    """Follow H(x, t) = 0 from t0 to t1 along t(s) = t0 + s(t1 − t0), s: 0 → 1, for every row of X at once (own s
    and step per row). Returns (X, s reached, status): 0 reached, 1 diverged, 2 step below h_min."""
    B = X.shape[0]
    X = X.copy()
    s = np.zeros(B)
    h = np.full(B, h0)
    status = np.full(B, -1)
    streak = np.zeros(B, dtype=int)
    t0, t1 = np.broadcast_to(np.asarray(t0, dtype=complex), (B,)), np.broadcast_to(np.asarray(t1, dtype=complex), (B,))
    for _ in range(max_steps):
        active = np.nonzero(status < 0)[0]
        if active.size == 0:
            break
        x, sa = X[active], s[active]
        step = np.minimum(h[active], 1 - sa)
        a, b = t0[active], t1[active]
        dt = (b - a) * step
        t = a + sa * (b - a)
        k1 = _velocity(hom, x, t, dt)
        k2 = _velocity(hom, x + k1 / 2, t + dt / 2, dt)
        k3 = _velocity(hom, x + k2 / 2, t + dt / 2, dt)
        k4 = _velocity(hom, x + k3, t + dt, dt)
        predicted = x + (k1 + 2 * k2 + 2 * k3 + k4) / 6
        x_new, ok, first = _newton(hom, predicted, t + dt, 3, tol)
        ok &= np.isfinite(x_new).all(axis=1)
        # a step is rejected when the corrector moved the prediction by more than a tenth of the step: the
        # predictor was off, and a longer correction could land on another path
        ok &= first <= 0.1 * np.linalg.norm(predicted - x, axis=1) + tol * (1 + np.linalg.norm(x, axis=1))
        good, bad = active[ok], active[~ok]
        X[good], s[good] = x_new[ok], sa[ok] + step[ok]
        streak[good] += 1
        grow = good[streak[good] >= 3]
        h[grow], streak[grow] = np.minimum(2 * h[grow], 0.1), 0
        h[bad], streak[bad] = h[bad] / 2, 0
        status[good[s[good] >= 1 - 1e-15]] = 0
        status[good[np.linalg.norm(X[good], axis=1) > divergence]] = 1
        status[bad[h[bad] < h_min]] = 2
    status[status < 0] = 2
    return X, s, status


def _cauchy_endgame(hom, X, radius, max_winding, samples=32, tol=1e-10):
    """x(0) for paths at t = radius: the mean of x over loops t = radius·e^{iθ} until the path closes.
    Returns (X0, winding) with winding 0 where no loop closed within ``max_winding`` turns."""
    B = X.shape[0]
    out, winding = X.copy(), np.zeros(B, dtype=int)
    total = np.zeros_like(X)
    x, start = X.copy(), X.copy()
    open_ = np.ones(B, dtype=bool)
    for turn in range(1, max_winding + 1):
        for k in range(samples):
            theta = 2 * np.pi * (k + 1) / samples
            ta = np.full(B, radius * np.exp(2j * np.pi * k / samples))
            tb = np.full(B, radius * np.exp(1j * theta))
            x[open_], _, _ = _track(hom, x[open_], ta[open_], tb[open_], h0=1.0, tol=tol)
            total[open_] += x[open_]
        closed = open_ & (np.linalg.norm(x - start, axis=1) < 1e-6 * (1 + np.linalg.norm(start, axis=1)))
        out[closed], winding[closed] = total[closed] / (samples * turn), turn
        open_ &= ~closed
        if not open_.any():
            break
    return out, winding


def newton_refine(F, X, iterations=8):
    """Newton on the square system F from each row of X; returns (X, |F(X)|, cond DF(X), size of the last step).
    A row whose step is not finite stops where it is (infinite last step and condition number)."""
    X = np.array(X, dtype=complex)
    last = np.full(X.shape[0], np.inf)
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            f, J = F.jacobian(X)
            step = _solve(J, f)
            keep = np.isfinite(step).all(axis=1)
            X[keep] -= step[keep]
            last = np.where(keep, np.linalg.norm(step, axis=1), np.inf)
        f, J = F.jacobian(X)
        cond = np.full(X.shape[0], np.inf)
        ok = np.isfinite(J).all(axis=(1, 2))
        if ok.any():
            cond[ok] = np.linalg.cond(J[ok])
    return X, np.linalg.norm(f, axis=1), cond, last


def _converged(X, cond, last, tol=1e-11):
    """Regular endpoints: Newton's last step below tol·(1 + |x|) at a well-conditioned Jacobian."""
    return (cond < 1e8) & (last < tol * (1 + np.linalg.norm(X, axis=1)))


def bombieri_weyl_norms(F):
    """Bombieri–Weyl norm of each polynomial: √(Σ_α |c_α|² / multinomial(d; d − |α|, α))."""
    E, C = F.exponents, F.coefficients
    norms = np.empty(F.n_equations)
    for i, d in enumerate(F.degrees):
        used = C[:, i] != 0
        log_multinomial = np.array(
            [
                math.lgamma(d + 1) - math.lgamma(d - int(e.sum()) + 1) - sum(math.lgamma(int(k) + 1) for k in e)
                for e in E[used]
            ]
        )
        norms[i] = math.sqrt(float(np.sum(np.abs(C[used, i]) ** 2 / np.exp(log_multinomial))))
    return norms


def alpha_test(F, X):
    """Smale's α-test at each row of X for the square system F: (α, β, γ-bound) arrays. α < ALPHA_0 certifies a
    solution within 2β of x (see the module docstring)."""
    X = np.asarray(X, dtype=complex)
    f, J = F.jacobian(X)
    degrees = np.maximum(F.degrees, 1)
    norm_x = np.sqrt(1 + np.linalg.norm(X, axis=1) ** 2)
    beta = np.linalg.norm(_solve(J, f), axis=1)
    delta = np.sqrt(degrees)[None, :] * norm_x[:, None] ** (degrees - 1)[None, :]
    with np.errstate(all="ignore"):
        Jinv = np.linalg.inv(J)
    mu = np.maximum(
        1.0, np.linalg.norm(bombieri_weyl_norms(F)) * np.linalg.norm(Jinv * delta[:, None, :], ord=2, axis=(1, 2))
    )
    gamma = mu * degrees.max() ** 1.5 / (2 * norm_x)
    return beta * gamma, beta, gamma


@dataclass(frozen=True)
class Solutions:
    """Endpoints of a total-degree homotopy, refined and deduplicated.

    points (K, n): the distinct finite solutions; residual, condition: |F| and cond DF there; regular: Newton converges
    quadratically (cond below 1e8); certified: α-test passed (regular solutions only); real: imaginary parts below
    ``real_tol`` (certified real when also certified, for real F); multiplicity: how many paths ended there. paths: ∏
    d_i; diverged: paths that went to infinity; failed: the others that ended at no solution (lost steps, or slow paths
    to infinity that the endgame did not finish); seconds: wall time."""

    points: np.ndarray
    residual: np.ndarray
    condition: np.ndarray
    regular: np.ndarray
    certified: np.ndarray
    real: np.ndarray
    multiplicity: np.ndarray
    paths: int
    diverged: int
    failed: int
    seconds: float

    @property
    def n_regular(self):
        return int(self.regular.sum())

    @property
    def n_real(self):
        return int(self.real.sum())

    @property
    def real_points(self):
        return self.points[self.real].real


def solve(
    F,
    seed=0,
    max_paths=200_000,
    divergence=1e8,
    at_infinity=1e4,
    endgame_radius=1e-6,
    max_winding=4,
    residual_tol=1e-8,
    real_tol=1e-8,
    dedup_tol=1e-6,
    singular_tol=1e-3,
):
    """Every isolated solution of the square system F by total-degree homotopy (module docstring). ``seed`` draws γ; a
    system with more than ``max_paths`` paths is refused (ValueError). A path whose |x| at t = endgame_radius exceeds
    ``at_infinity`` is counted as going to infinity (solutions that large are not sought). Endpoints closer than
    ``dedup_tol`` (relative) are one solution; endpoints of the Cauchy endgame (singular solutions, located only to
    about the endgame's accuracy) merge within ``singular_tol``."""
    import time

    if not isinstance(F, PolynomialSystem):
        raise TypeError(f"F: need a PolynomialSystem, got {type(F).__name__}")
    if F.n_equations != F.n_vars:
        raise ValueError(f"F: {F.n_equations} equations in {F.n_vars} unknowns; square it with F.combine(R)")
    degrees = F.degrees
    if (degrees < 1).any():
        raise ValueError(f"F: polynomial {int(np.argmin(degrees))} is constant")
    paths = int(np.prod(degrees))
    if paths > max_paths:
        raise ValueError(f"F: {paths} homotopy paths exceed max_paths = {max_paths}")
    start = time.perf_counter()
    with np.errstate(all="ignore"):
        return _solve_system(
            F,
            degrees,
            paths,
            seed,
            divergence,
            at_infinity,
            endgame_radius,
            max_winding,
            residual_tol,
            real_tol,
            dedup_tol,
            singular_tol,
            start,
        )


def _solve_system(
    F,
    degrees,
    paths,
    seed,
    divergence,
    at_infinity,
    endgame_radius,
    max_winding,
    residual_tol,
    real_tol,
    dedup_tol,
    singular_tol,
    start,
):
    import time

    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi)
    G, X = _start_system(degrees)
    hom = _Homotopy(F, G, np.exp(1j * angle))
    X, _, status = _track(hom, X, 1.0, endgame_radius, divergence=divergence)
    reached = status == 0
    X_end = X[reached]
    refined, _, cond, last = newton_refine(F, X_end)
    singular = ~_converged(refined, cond, last) & (np.linalg.norm(X_end, axis=1) < at_infinity)
    X_end[~singular] = refined[~singular]
    if singular.any():
        X_end[singular], _ = _cauchy_endgame(hom, X_end[singular], endgame_radius, max_winding)
    residual = np.linalg.norm(F(X_end), axis=1)
    size = np.linalg.norm(X_end, axis=1)
    diverged = int((status == 1).sum() + (size >= at_infinity).sum())
    finite = (size < at_infinity) & np.isfinite(X_end).all(axis=1) & (residual < residual_tol * (1 + size**2))
    points, counts = [], []
    for x, loose in zip(X_end[finite], singular[finite]):
        for k, p in enumerate(points):
            if np.linalg.norm(x - p) < (singular_tol if loose else dedup_tol) * (1 + np.linalg.norm(p)):
                counts[k] += 1
                break
        else:
            points.append(x)
            counts.append(1)
    points = np.asarray(points, dtype=complex).reshape(-1, F.n_vars)
    points[:], residual, cond, last = newton_refine(F, points, iterations=0)
    refined, _, cond_r, last_r = newton_refine(F, points, iterations=3)
    regular = _converged(refined, cond_r, last_r)
    points[regular], cond[regular] = refined[regular], cond_r[regular]
    residual = np.linalg.norm(F(points), axis=1)
    real = np.abs(points.imag).max(axis=1, initial=0) < real_tol * (1 + np.abs(points).max(axis=1, initial=0))
    certified = np.zeros(len(points), dtype=bool)
    if regular.any():
        candidates = np.where(real[:, None] & F.is_real, points.real, points)
        alpha, _, _ = alpha_test(F, candidates[regular])
        certified[regular] = alpha < ALPHA_0
    return Solutions(
        points=points,
        residual=residual,
        condition=cond,
        regular=regular,
        certified=certified,
        real=real,
        multiplicity=np.asarray(counts, dtype=int),
        paths=paths,
        diverged=diverged,
        failed=paths - diverged - int(finite.sum()),
        seconds=time.perf_counter() - start,
    )
