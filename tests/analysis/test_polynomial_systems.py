"""Total-degree homotopy: solution counts known in closed form, α-certificates, a Gröbner cross-check."""

import numpy as np
import pytest
import sympy as sp

from companion.analysis.polynomial_systems import ALPHA_0, PolynomialSystem, alpha_test, from_sympy, solve


def test_univariate_polynomial_has_n_roots():
    x = sp.symbols("x")
    roots = [-2.5, -1, 0.5, 1.5, 3]
    result = solve(from_sympy([sp.expand(sp.prod([x - r for r in roots]) * (x**2 + 1))], [x]))
    assert len(result.points) == 7 and result.n_real == 5 and result.certified.all()
    assert np.allclose(np.sort(result.real_points.ravel()), roots, atol=1e-10)


def test_generic_quadrics_meet_in_bezout_many_points():
    rng = np.random.default_rng(4)
    xs = sp.symbols("x0:4")
    monomials = [1, *xs] + [u * v for i, u in enumerate(xs) for v in xs[i:]]
    polys = [sum(rng.normal() * m for m in monomials) for _ in xs]
    result = solve(from_sympy(polys, list(xs)))
    assert len(result.points) == 2**4 and result.regular.all() and result.certified.all()
    assert result.multiplicity.sum() == result.paths == 16
    assert np.max(np.abs(from_sympy(polys, list(xs))(result.points))) < 1e-9


def test_known_real_count_and_groebner_cross_check():
    x, y = sp.symbols("x y")
    polys = [x**2 + y**2 - 4, x * y - 1]  # four real intersection points of circle and hyperbola
    result = solve(from_sympy(polys, [x, y]))
    assert len(result.points) == 4 and result.n_real == 4 and result.certified.all()
    basis = sp.groebner(polys, x, y, order="lex")
    univariate = [g for g in basis.exprs if g.free_symbols == {y}][0]
    assert sp.degree(univariate, y) == len(result.points)
    assert len(sp.real_roots(sp.Poly(univariate, y))) == result.n_real


def test_three_quadrics_against_groebner_count():
    x, y, z = sp.symbols("x y z")
    polys = [x**2 + 2 * y * z - 3 * x + 1, y**2 - x * z + 2 * y - 2, z**2 + x * y - z - 3]
    result = solve(from_sympy(polys, [x, y, z]))
    basis = sp.groebner(polys, x, y, z, order="grevlex")
    lex = sp.groebner(polys, x, y, z, order="lex")
    last = [g for g in lex.exprs if g.free_symbols == {z}][0]
    assert basis.is_zero_dimensional
    assert sp.degree(last, z) == len(result.points) == 8


def test_singular_solutions_merge_and_are_not_regular():
    x, y = sp.symbols("x y")
    result = solve(from_sympy([x**2, (y - 1) ** 3 * (y + 2)], [x, y]))
    assert len(result.points) == 2 and not result.regular.any()
    assert sorted(result.multiplicity) == [2, 6]
    assert np.allclose(np.sort(result.points[:, 1].real), [-2, 1], atol=1e-3)


def test_alpha_test_rejects_a_point_far_from_a_solution():
    F = from_sympy([sp.symbols("x") ** 2 - 2], [sp.symbols("x")])
    alpha_near, _, _ = alpha_test(F, np.array([[1.41421356237]]))
    alpha_far, _, _ = alpha_test(F, np.array([[0.3]]))
    assert alpha_near[0] < ALPHA_0 < alpha_far[0]


def test_bad_inputs_name_the_parameter():
    x, y = sp.symbols("x y")
    with pytest.raises(ValueError, match="F: 1 equations in 2 unknowns"):
        solve(from_sympy([x + y], [x, y]))
    with pytest.raises(ValueError, match="max_paths"):
        solve(from_sympy([x**3 - 1, y**3 - 1], [x, y]), max_paths=4)
    with pytest.raises(ValueError, match="exponents"):
        PolynomialSystem(np.array([[-1]]), np.array([[1.0]]))
