"""Waring decompositions by multi-start Gauss–Newton: Sylvester's unique binary decompositions, the two
decompositions of a ternary sextic of rank 9, a form of higher rank, term distances, bad input."""

import numpy as np
import pytest

from companion.analysis.waring import decomposition_terms, form_coefficients, term_distance, waring_decompositions


def _atoms(a, W, k):
    """The term coefficient vectors (r, M) of Σ_j a_j (w_j·x)^k, one row per atom."""
    return np.stack([form_coefficients(a[j : j + 1], W[j : j + 1], k) for j in range(len(a))])


@pytest.mark.parametrize("k, r, seed", [(3, 2, 0), (5, 3, 1), (7, 4, 2)])
def test_general_binary_form_of_odd_degree_has_one_decomposition(k, r, seed):
    # Sylvester: a general binary form of degree 2r − 1 has exactly one decomposition into r k-th powers
    rng = np.random.default_rng(seed)
    a, W = rng.standard_normal(r), rng.standard_normal((r, 2))
    search = waring_decompositions(form_coefficients(a, W, k), k, r, 24, np.random.default_rng([seed, 1]), 300)
    assert search.n_distinct == 1 and search.hits[0] == search.converged >= 12 and search.rejected == 0
    assert search.certified.all() and search.real.all() and search.residual[0] < 1e-12
    assert search.newton[0, -1] < 1e-10 < 1e-6 < search.newton[0, 0]  # from a relative 1e-4 to rounding in 4 steps
    assert term_distance(decomposition_terms(search)[0], _atoms(a, W, k)) < 1e-8


def test_representatives_reproduce_the_form():
    rng = np.random.default_rng(3)
    a, W = rng.standard_normal(3), rng.standard_normal((3, 2))
    f = form_coefficients(a, W, 5)
    search = waring_decompositions(f, 5, 3, 8, np.random.default_rng(4), iterations=300)
    assert np.abs(form_coefficients(np.ones(3), search.L[0], 5) - f).max() < 1e-10 * np.abs(f).max()


def test_ternary_sextic_of_rank_nine_has_two_decompositions_found():
    # Chiantini–Ottaviani–Vannieuwenhoven: a general ternary sextic of rank 9 has exactly two decompositions
    rng = np.random.default_rng(6)
    W = rng.standard_normal((9, 3))
    a, W = rng.standard_normal(9), W / np.linalg.norm(W, axis=1, keepdims=True)
    search = waring_decompositions(form_coefficients(a, W, 6), 6, 9, 48, np.random.default_rng(7), 400)
    assert search.n_distinct == 2 and search.hits.min() >= 5 and search.certified.all()
    distances = [term_distance(terms, _atoms(a, W, 6)) for terms in decomposition_terms(search)]
    assert min(distances) < 1e-8 < 1e-2 < max(distances)  # μ's own and another one


def test_a_form_of_higher_rank_has_no_decomposition_found():
    # x²y has rank 3 (border rank 2): starts that meet the projected residual are border-rank limits, rejected
    f = np.array([0.0, 1.0 / np.sqrt(3), 0.0, 0.0])  # Bombieri–Weyl coordinates of x²y: f_(2,1) / √3
    search = waring_decompositions(f, 3, 2, 16, np.random.default_rng(5), iterations=200)
    assert search.n_distinct == 0 and search.converged == 0 and search.rejected > 0


def test_term_distance_is_zero_exactly_up_to_permutation():
    rng = np.random.default_rng(8)
    terms = _atoms(rng.standard_normal(3), rng.standard_normal((3, 3)), 4)
    assert term_distance(terms, terms[[2, 0, 1]]) == 0.0
    assert term_distance(terms, terms * [[1.0], [1.0], [1.01]]) > 1e-4
    with pytest.raises(ValueError, match="terms"):
        term_distance(terms, terms[:2])


def test_bad_input_is_named():
    f = form_coefficients(np.ones(2), np.eye(2), 3)
    with pytest.raises(ValueError, match="f:"):
        waring_decompositions(f[:3], 3, 2, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        waring_decompositions(f, 3, 2, 4, 0)
    with pytest.raises(ValueError, match="f:"):
        waring_decompositions(f * np.nan, 3, 2, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="starts"):
        waring_decompositions(f, 3, 2, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="cluster_tol"):
        waring_decompositions(f, 3, 2, 4, np.random.default_rng(0), cluster_tol=0)
    with pytest.raises(ValueError, match="a, W"):
        form_coefficients(np.ones(3), np.eye(2), 3)
