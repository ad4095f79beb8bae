r"""The moment equations Φ_D(μ') = Φ_D(μ) as polynomial systems, solved for all complex solutions.

**Directions on the sphere.** With |w_j| = 1 the radial coefficients are constants c_k = c_k(1), and the
equations :math:`T_k(\mu') = T_k(\mu)` read, divided by c_k ≠ 0,

.. math:: \sum_j a'_j\,P_k(w'_j) = T_k(\mu)/c_k,\qquad |w'_j|^2 = 1,

polynomial in (a', W') (P_k the stored symmetric power, ``identifiability.symmetric_power``). On the sphere
contracting :math:`\hat w^{\otimes k}` over a pair of indices gives :math:`\hat w^{\otimes (k-2)}`, so T_{k−2} follows
from T_k when both are present (c_{k−2}, c_k ≠ 0): the system at depth D keeps, per parity, the highest order
k ≤ D with c_k ≠ 0. A system with more equations than unknowns is squared by a random real combination of its
moment equations; its solutions contain the fibre, and the fibre is read off by the residual of the full system.

**Depths certified.** Below D*_var the Jacobian of the full system at μ has rank < S(1+d): the fibre through μ has
positive dimension and contains real measures outside μ's finite orbit (constant-rank theorem), which refutes D.
At the first full-rank depth the square system is solved by ``polynomial_systems.solve``; every isolated point of
the fibre at any larger depth is one of these solutions that also matches the higher moments, so one solve
decides all depths: D is **certified** when every real solution lies in μ's orbit (canonical forms,
``symmetry.canonicalize``), **refuted** by a real one outside it.

**Pearson's problem.** A mixture p N(m_1, v_1) + (1 − p) N(m_2, v_2) has raw moments
:math:`\sum_i p_i\sum_j \binom{k}{2j}(2j-1)!!\,m_i^{k-2j}v_i^j`, polynomial of degree k + 1 in (p, m_1, m_2, v_1, v_2).
"""

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..engine.activations import get_activation
from ..engine.contract import Int, Tensor, validated
from ..engine.validation import atomic_measure, positive_int
from .identifiability import _canonical, moment_tensors, multi_indices, pack, unpack
from .polynomial_systems import PolynomialSystem, solve
from .symmetry import matched_distance


def _orders(activation, D, tol=1e-12):
    """Moment orders kept at depth D on the sphere: per parity the highest k ≤ D with c_k(1) ≠ 0."""
    c = get_activation(activation).coefficients(torch.ones((), dtype=torch.float64), D + 1).numpy()
    kept = [max((k for k in range(D + 1) if k % 2 == parity and abs(c[k]) > tol), default=None) for parity in (0, 1)]
    return sorted(k for k in kept if k is not None), c


def sphere_moment_system(activation, a, W, D):
    """(moments, sphere): the polynomial systems of Φ_D(μ') = Φ_D(μ) on the sphere in the unknowns
    (a'_1..a'_S, w'_1..w'_S) packed as ``identifiability.pack``: ``moments`` the kept moment equations (module
    docstring), ``sphere`` the S equations |w'_j|² − 1. μ = (a, W) has its directions normalised first."""
    a, W = atomic_measure(a, W, nonzero=True)
    a, W = a.to(torch.float64), W.to(torch.float64)
    W = W / W.norm(dim=-1, keepdim=True)
    S, d = W.shape
    D = positive_int("D", D)
    n = S * (1 + d)
    orders, c = _orders(activation, D)
    targets = moment_tensors(activation, a, W, D, unit_norm=True)
    rows, constants = [], []
    for k in orders:
        alpha, weight = multi_indices(d, k)
        for m in range(alpha.shape[0]):
            rows.append([(j, alpha[m], weight[m]) for j in range(S)])
            constants.append(float(targets[k][m]) / c[k])
    coefs = {}
    for i, (row, constant) in enumerate(zip(rows, constants)):
        for j, alpha, weight in row:
            e = np.zeros(n, dtype=int)
            e[j] = 1
            e[S + j * d : S + (j + 1) * d] = alpha
            coefs.setdefault(tuple(e), {})[i] = weight
        coefs.setdefault((0,) * n, {})[i] = -constant
    moments = _system(coefs, len(rows), n)
    sphere = {}
    for j in range(S):
        for i in range(d):
            e = np.zeros(n, dtype=int)
            e[S + j * d + i] = 2
            sphere.setdefault(tuple(e), {})[j] = 1.0
        sphere.setdefault((0,) * n, {})[j] = -1.0
    return moments, _system(sphere, S, n)


def _system(coefs, m, n):
    E = np.array(list(coefs), dtype=int).reshape(-1, n)
    C = np.zeros((E.shape[0], m))
    for t, entries in enumerate(coefs.values()):
        for i, value in entries.items():
            C[t, i] = value
    return PolynomialSystem(E, C)


def _rank(F, x, rtol=1e-9):
    s = np.linalg.svd(F.jacobian(np.asarray(x, dtype=complex)[None])[1][0], compute_uv=False)
    return int((s > rtol * s[0]).sum())


@dataclass(frozen=True)
class CertifiedDepth:
    """Outcome of ``certified_orbit_depth`` for one measure.

    depth: the first certified depth (math.inf if none up to D_max, math.nan if not solved); status per depth D =
    1..D_max: "positive-dimensional", "refuted", "certified" or "not solved" (over max_paths); solved_at: the
    depth whose square system was solved; paths, seconds, diverged, failed: the homotopy's; complex, real,
    outside: per depth, the fibre's isolated solutions, the real ones, the real ones outside μ's orbit;
    singular: singular solutions of the square system that satisfy the full system (certification needs none);
    alpha_certified: regular fibre solutions certified by the α-test."""

    depth: float
    depths: tuple
    status: tuple
    solved_at: int
    paths: int
    seconds: float
    diverged: int
    failed: int
    complex: tuple
    real: tuple
    outside: tuple
    singular: int
    alpha_certified: int


def certified_orbit_depth(
    activation, a, W, D_max, seed=0, max_paths=5000, residual_tol=1e-8, orbit_tol=1e-5, at_infinity=100.0
):
    """D*_orb of the measure (a, W) on the sphere from all solutions of the moment equations (module docstring).
    ``seed`` draws the squaring matrix and the homotopy's γ; systems with more than ``max_paths`` paths are not
    solved. Fibre points are solutions of the square system whose full moment residual, relative to |Φ_D(μ)|, is
    below ``residual_tol``; a real one lies outside the orbit when its canonical matched distance to μ, over Σ|a|,
    exceeds ``orbit_tol``. Solutions with |x| > ``at_infinity`` are not sought (``polynomial_systems.solve``): the
    weights of a fibre point are bounded by the moments, |a'_j| ≲ |T_k(μ)|/|c_k| for well-separated directions."""
    act = get_activation(activation)
    a, W = atomic_measure(a, W, nonzero=True)
    a, W = a.to(torch.float64), W.to(torch.float64)
    W = W / W.norm(dim=-1, keepdim=True)
    S, d = W.shape
    D_max = positive_int("D_max", D_max)
    n = S * (1 + d)
    x_mu = pack(a, W).numpy()
    rng = np.random.default_rng(seed)
    status, complex_, real, outside = [], [], [], []
    fibre, solved_at, result, singular, alpha_ok = None, 0, None, 0, 0
    reference = _canonical(act, a, W, True, 1e-7)
    scale = float(a.abs().sum())
    start = time.perf_counter()
    for D in range(1, D_max + 1):
        moments, sphere = sphere_moment_system(act, a, W, D)
        if fibre is None:
            if _rank(moments.stack(sphere), x_mu) < n:
                status.append("positive-dimensional")
                complex_.append(math.inf), real.append(math.inf), outside.append(math.inf)
                continue
            R = rng.standard_normal((n - S, moments.n_equations)) if moments.n_equations > n - S else np.eye(n - S)
            square = moments.combine(R).stack(sphere)
            if int(np.prod(square.degrees)) > max_paths:
                status += ["not solved"] * (D_max - D + 1)
                complex_ += [math.nan] * (D_max - D + 1)
                real += [math.nan] * (D_max - D + 1)
                outside += [math.nan] * (D_max - D + 1)
                break
            result = solve(square, seed=int(rng.integers(2**31)), at_infinity=at_infinity)
            solved_at = D
            fibre = result.points
            singular = int((~result.regular & _on(moments, sphere, fibre, residual_tol)).sum())
            keep = result.regular
            fibre, real_mask, cert = fibre[keep], result.real[keep], result.certified[keep]
        target = np.abs(moments(np.zeros((1, n), dtype=complex))).max()
        on = _on(moments, sphere, fibre, residual_tol, target)
        fibre, real_mask, cert = fibre[on], real_mask[on], cert[on]
        alpha_ok = int(cert.sum())
        out = 0
        for x in fibre[real_mask].real:
            a2, W2 = unpack(torch.as_tensor(x), S)
            if matched_distance(reference, _canonical(act, a2, W2, True, 1e-7)) / scale > orbit_tol:
                out += 1
        complex_.append(len(fibre)), real.append(int(real_mask.sum())), outside.append(out)
        status.append("refuted" if out else "certified")
    certified = [D for D, s in zip(range(1, D_max + 1), status) if s == "certified"]
    depth = certified[0] if certified else (math.nan if "not solved" in status else math.inf)
    return CertifiedDepth(
        depth=depth,
        depths=tuple(range(1, D_max + 1)),
        status=tuple(status),
        solved_at=solved_at,
        paths=result.paths if result else 0,
        seconds=time.perf_counter() - start,
        diverged=result.diverged if result else 0,
        failed=result.failed if result else 0,
        complex=tuple(complex_),
        real=tuple(real),
        outside=tuple(outside),
        singular=singular,
        alpha_certified=alpha_ok,
    )


def _on(moments, sphere, X, tol, target=None):
    """Rows of X that satisfy the moment equations (relative to the constants' size) and the sphere equations."""
    if len(X) == 0:
        return np.zeros(0, dtype=bool)
    if target is None:
        target = np.abs(moments(np.zeros((1, X.shape[1]), dtype=complex))).max()
    return (np.abs(moments(X)).max(axis=1) < tol * max(target, 1.0)) & (np.abs(sphere(X)).max(axis=1) < tol)


def normal_raw_moment(k, m, v):
    r""":math:`E(m + \sqrt v Z)^k = \sum_j \binom{k}{2j}(2j-1)!!\,m^{k-2j}v^j` (works for numbers and arrays)."""
    return sum(math.comb(k, 2 * j) * math.prod(range(1, 2 * j, 2)) * m ** (k - 2 * j) * v**j for j in range(k // 2 + 1))


def pearson_system(moments):
    """Pearson's system: the raw moments m_1..m_5 (``moments``, length ≥ 5) of p N(m_1, v_1) + (1 − p) N(m_2, v_2)
    as a ``PolynomialSystem`` in (p, m_1, m_2, v_1, v_2); degrees 2, 3, 4, 5, 6 (720 homotopy paths)."""
    moments = np.asarray(moments, dtype=float)
    if moments.ndim != 1 or moments.size < 5:
        raise ValueError(f"moments: need m_1..m_5, got shape {moments.shape}")
    coefs = {}
    for k in range(1, 6):
        for j in range(k // 2 + 1):
            value = math.comb(k, 2 * j) * math.prod(range(1, 2 * j, 2))
            terms = [((1, k - 2 * j, 0, j, 0), 1.0), ((1, 0, k - 2 * j, 0, j), -1.0), ((0, 0, k - 2 * j, 0, j), 1.0)]
            for e, sign in terms:
                entry = coefs.setdefault(e, {})
                entry[k - 1] = entry.get(k - 1, 0.0) + sign * value
        entry = coefs.setdefault((0, 0, 0, 0, 0), {})
        entry[k - 1] = entry.get(k - 1, 0.0) - moments[k - 1]
    return _system(coefs, 5, 5)


@validated(
    weights=Tensor("C", array=True),
    means=Tensor("C", array=True),
    sds=Tensor("C", array=True, positive=True),
    seed=Int(0, 2**31 - 1),
    fuzz_valid=False,
)
def pearson_solutions(weights, means, sds, seed=0):
    """Every complex mixture (p, m_1, m_2, v_1, v_2) with the first five raw moments of the mixture
    Σ_i weights_i N(means_i, sds_i²), by ``polynomial_systems.solve``. Returns (Solutions, table): the table (one row
    per solution) has p, m_1, m_2, v_1, v_2 (real parts), real, admissible (real, 0 < p < 1, v > 0) and
    sixth_moment_gap |m_6 − m_6(μ)| / |m_6(μ)|."""
    import pandas as pd

    target = [float(np.sum(weights * normal_raw_moment(k, means, sds**2))) for k in range(1, 7)]
    result = solve(pearson_system(target[:5]), seed=seed)
    X = result.points
    m6 = X[:, 0] * normal_raw_moment(6, X[:, 1], X[:, 3]) + (1 - X[:, 0]) * normal_raw_moment(6, X[:, 2], X[:, 4])
    table = pd.DataFrame(
        dict(
            p=X[:, 0].real,
            m_1=X[:, 1].real,
            m_2=X[:, 2].real,
            v_1=X[:, 3].real,
            v_2=X[:, 4].real,
            real=result.real,
            certified=result.certified,
            sixth_moment_gap=np.abs(m6 - target[5]) / abs(target[5]),
        )
    )
    table["admissible"] = table.real & (table.p > 0) & (table.p < 1) & (table.v_1 > 0) & (table.v_2 > 0)
    return result, table


def certified_row(activation, S, d, generator, D_max=6, restarts=16, max_paths=5000, seed=0):
    """One generic measure on the sphere (``identifiability.random_atoms(..., unit_norm=True)`` from
    ``generator``), its D*_orb from every solution (``certified_orbit_depth``) and, when that system was solved, from
    the multi-start search (``identifiability.orbit_depth(..., unit_norm=True)``, ``restarts`` starts, same
    generator): a dict row."""
    from .identifiability import orbit_depth, random_atoms

    a, W = random_atoms(S, d, generator, unit_norm=True)
    cert = certified_orbit_depth(activation, a, W, D_max, seed=seed, max_paths=max_paths)
    solved = cert.solved_at or None
    multi = (
        orbit_depth(activation, S, d, D_max, generator, restarts=restarts, unit_norm=True, measures=[(a, W)])
        if solved
        else None
    )
    index = (solved - 1) if solved else None
    return dict(
        activation=activation,
        S=S,
        d=d,
        certified_D_orb=cert.depth,
        multistart_D_orb=multi.depth if multi else math.nan,
        certified_status="".join(s[0].upper() for s in cert.status),
        solved_at=solved,
        paths=cert.paths,
        complex_solutions=cert.complex[index] if solved else math.nan,
        real_solutions=cert.real[index] if solved else math.nan,
        real_outside=cert.outside[index] if solved else math.nan,
        real_outside_at_certified=(cert.outside[int(cert.depth) - 1] if math.isfinite(cert.depth) else math.nan),
        alpha_certified=cert.alpha_certified,
        singular=cert.singular,
        diverged=cert.diverged,
        failed=cert.failed,
        seconds=cert.seconds,
    )


def _forms(d, k):
    """Monomial exponents of forms of degree k in d variables (``identifiability.multi_indices`` order)."""
    return multi_indices(d, k)[0]


def _evaluate(points, k):
    """Monomials of degree k at ``points`` (P, 3): (P, M_k), plain coefficients (no √(k!/α!))."""
    alpha = _forms(points.shape[1], k)
    return np.prod(points[:, None, :] ** alpha[None], axis=-1)


def _multiply(f, k, g, m):
    """Plain coefficients of the product of forms f (degree k) and g (degree m) in 3 variables."""
    A, B, AB = _forms(3, k), _forms(3, m), _forms(3, k + m)
    index = {tuple(e): i for i, e in enumerate(AB)}
    out = np.zeros(len(AB), dtype=np.result_type(f, g))
    for i, e in enumerate(A):
        for j, h in enumerate(B):
            out[index[tuple(e + h)]] += f[i] * g[j]
    return out


def _multiplication_matrix(f, k, m):
    """The matrix of g ↦ f·g from forms of degree m to degree k + m."""
    size = len(_forms(3, m))
    return np.stack([_multiply(f, k, np.eye(size)[j], m) for j in range(size)], axis=1)


def _null(A, dim):
    """An orthonormal basis (columns) of the ``dim`` smallest right singular vectors of A."""
    return np.linalg.svd(A)[2][-dim:].conj().T


def _complement(space, sub):
    """Columns spanning the orthogonal complement of span(sub) inside span(space) (both orthonormal columns)."""
    projected = space - sub @ (sub.conj().T @ space)
    U, s, _ = np.linalg.svd(projected, full_matrices=False)
    return U[:, : space.shape[1] - sub.shape[1]]


def _curve_points(F, G, kF, kG, rotation, seed):
    """The kF·kG intersection points of two ternary forms (plain coefficients) in the chart x = rotation·(u, v, 1),
    by ``polynomial_systems.solve``; returns points (P, 3) normalised to unit length (complex), each repeated by its
    multiplicity."""
    import sympy

    u, v = sympy.symbols("u v")
    X = [sum(float(rotation[i, j]) * c for j, c in enumerate((u, v, 1))) for i in range(3)]
    polys = [
        sum(float(coef) * sympy.Mul(*[X[i] ** int(e[i]) for i in range(3)]) for coef, e in zip(form, _forms(3, k)))
        for form, k in ((F, kF), (G, kG))
    ]
    from .polynomial_systems import from_sympy

    result = solve(from_sympy(polys, [u, v]), seed=seed, at_infinity=1e6)
    points = np.repeat(result.points, result.multiplicity, axis=0)  # a double point counts twice
    P = np.concatenate([points, np.ones((len(points), 1))], axis=1) @ rotation.T
    return P / np.sqrt((P * P).sum(axis=1, keepdims=True)), result


def _residual_points(points, Z):
    """``points`` without, for each direction of Z (up to sign), the nearest remaining point (greedy matching)."""
    keep = list(range(len(points)))
    for z in Z:
        if not keep:
            break
        gaps = [min(np.linalg.norm(points[k] - z), np.linalg.norm(points[k] + z)) for k in keep]
        keep.pop(int(np.argmin(gaps)))
    return points[keep]


def sextic_second_decomposition(a, W, seed=0):
    r"""The decomposition of :math:`T = \sum_j a_j \hat w_j^{\otimes 6}` (nine unit directions in ℝ³) linked to μ's on
    the apolar cubic C (reduced formulation; Chiantini–Ottaviani–Vannieuwenhoven).

    All nine-point decompositions Z of a general rank-9 ternary sextic lie on the cubic C spanning the kernel of its
    cubic catalecticant. On the elliptic curve C, T ∈ ⟨ν_6(Z)⟩ says that T annihilates the sextics vanishing on Z; for L
    = O_C(6)(−Z) the pairing :math:`B(u, g) = T(u g / h)` between sextics u through Z and the Riemann–Roch space L(Z) =
    {g/h} (h a quartic through Z with residual R = C·h − Z, g quartics through R) is singular, and a kernel vector u*
    cuts C in Z + Z′ with Z′ a second decomposition (Z + Z′ ~ 6H). This function builds the 9 × 9 matrix B, takes its
    kernel, intersects C with u* = 0 (an 18-path homotopy) and removes Z.

    Returns a dict: ``singular_values`` of B (one at rounding level: exactly one linked partner), ``points`` (9, 3) and
    ``weights`` (9,) of Z′ (complex, weights by least squares), ``relative_residual`` |T − T′|/|T|, ``real`` (Z′ and its
    weights real), ``distance_to_mu`` (the smallest distance between a point of Z′ and ±μ's directions), the
    homotopy ``seconds`` and ``attempts`` (charts tried: a chart whose homotopy lost a point is redrawn, up to 3)."""
    a, W = atomic_measure(a, W, nonzero=True)
    W = (W / W.norm(dim=-1, keepdim=True)).to(torch.float64).numpy()
    a = a.to(torch.float64).numpy()
    if W.shape != (9, 3):
        raise ValueError(f"W: need nine directions in d = 3, got shape {W.shape}")
    for attempt in range(3):  # another random chart when a homotopy lost an intersection point
        found = _linked_partner(a, W, np.random.default_rng([seed, attempt]))
        if found["relative_residual"] < 1e-9:
            break
    return dict(found, attempts=attempt + 1)


def _linked_partner(a, W, rng):
    """One attempt of ``sextic_second_decomposition`` in a random chart drawn from ``rng``."""
    seed = int(rng.integers(2**31))
    rotation = np.linalg.qr(rng.standard_normal((3, 3)))[0]
    alpha6 = _forms(3, 6)
    T = (a[:, None] * _evaluate(W, 6)).sum(0)  # T_α = Σ a_j w_j^α (plain moments)

    # the apolar cubic: kernel of the cubic catalecticant (Σ_j a_j w_j^(α+β))
    A3 = _forms(3, 3)
    index6 = {tuple(e): i for i, e in enumerate(alpha6)}
    cat = np.array([[T[index6[tuple(p + q)]] for q in A3] for p in A3])
    C = _null(cat, 1)[:, 0].real
    Z = W
    on_C = np.abs(_evaluate(Z, 3) @ C).max()
    # sextics through Z, modulo C·cubics (9-dim), and a quartic h through Z not divisible by C
    CM3 = np.linalg.qr(_multiplication_matrix(C, 3, 3))[0]
    U = _complement(_null(_evaluate(Z, 6), 28 - 9), CM3)
    CM1 = np.linalg.qr(_multiplication_matrix(C, 3, 1))[0]
    h = _complement(_null(_evaluate(Z, 4), 15 - 9), CM1) @ rng.standard_normal(3)
    # residual R of C·h: its 12 points minus Z
    P12, _ = _curve_points(C, h, 3, 4, rotation, seed)
    R = _residual_points(P12, Z)
    G = _complement(_null(_evaluate(R, 4), 15 - 3), CM1)  # quartics through R mod C·linears
    # v = u g / h on C: solve v h − C q = u g (v sextic, q septic), least squares
    system = np.concatenate([_multiplication_matrix(h, 4, 6), -_multiplication_matrix(C, 3, 7)], axis=1)
    B = np.empty((9, 9), dtype=complex)
    for i in range(9):
        for j in range(9):
            rhs = _multiply(U[:, i], 6, G[:, j], 4)
            v = np.linalg.lstsq(system, rhs, rcond=None)[0][:28]
            B[i, j] = (T * v).sum()  # T(v) = Σ_j a_j v(w_j)
    s = np.linalg.svd(B, compute_uv=False)
    u_star = U @ _null(B.T, 1)[:, 0].conj()
    P18, result = _curve_points(C, u_star.real if np.abs(u_star.imag).max() < 1e-12 else u_star, 3, 6, rotation, seed)
    Z2 = _residual_points(P18, Z)
    far = np.array([np.min(np.minimum(np.linalg.norm(p - Z, axis=1), np.linalg.norm(p + Z, axis=1))) for p in Z2])
    if len(Z2) != 9:  # an intersection point was lost: no partner from this chart
        return dict(
            singular_values=s / s[0],
            points=Z2,
            weights=np.zeros(0),
            relative_residual=math.inf,
            real=False,
            distance_to_mu=0.0,
            on_cubic=float(on_C),
            seconds=result.seconds,
        )
    M = _evaluate(Z2, 6).T
    lam = np.linalg.lstsq(M, T.astype(complex), rcond=None)[0]
    residual = np.linalg.norm(M @ lam - T) / np.linalg.norm(T)
    real = bool(np.abs(Z2.imag).max() < 1e-8 and np.abs(lam.imag).max() < 1e-8 * np.abs(lam).max())
    return dict(
        singular_values=s / s[0],
        points=Z2,
        weights=lam,
        relative_residual=float(residual),
        real=real,
        distance_to_mu=float(far.min()) if far.size else 0.0,
        on_cubic=float(on_C),
        seconds=result.seconds,
    )
