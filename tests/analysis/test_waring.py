"""Waring decompositions by multi-start Gauss–Newton: Sylvester's unique binary decompositions, a form of higher rank,
bad input."""

import numpy as np
import pytest

from companion.analysis.identifiability import multi_indices
from companion.analysis.waring import form_coefficients, waring_decompositions


def _terms(search, n, k):
    """The term coefficient vectors λ_i √(k!/α!) p_i^α of each decomposition found (K, r, M), rows sorted."""
    alpha, weight = multi_indices(n, k)
    T = search.weights[..., None] * weight * np.prod(search.points[..., None, :] ** alpha, axis=-1)
    return np.stack([t[np.lexsort(np.round(t.T, 8)[::-1])] for t in T])


@pytest.mark.parametrize("k, r, seed", [(3, 2, 0), (5, 3, 1), (7, 4, 2)])
def test_general_binary_form_of_odd_degree_has_one_decomposition(k, r, seed):
    # Sylvester: a general binary form of degree 2r − 1 has exactly one decomposition into r k-th powers
    rng = np.random.default_rng(seed)
    a, W = rng.standard_normal(r), rng.standard_normal((r, 2))
    f = form_coefficients(a, W, k)
    search = waring_decompositions(f, k, r, 24, np.random.default_rng([seed, 1]), iterations=300)
    assert search.n_distinct == 1 and search.hits[0] == search.converged >= 12
    assert search.certified.all() and search.real.all() and search.residual[0] < 1e-12
    assert search.newton[0, -1] < 1e-10 < 1e-6 < search.newton[0, 0]  # from a relative 1e-4 to rounding in 4 steps
    alpha, weight = multi_indices(2, k)
    expected = (a[:, None] * weight * np.prod(W[:, None, :] ** alpha, axis=-1))
    expected = expected[np.lexsort(np.round(expected.T, 8)[::-1])]
    assert np.abs(_terms(search, 2, k)[0] - expected).max() < 1e-8 * np.abs(expected).max()


def test_representatives_reproduce_the_form():
    rng = np.random.default_rng(3)
    a, W = rng.standard_normal(3), rng.standard_normal((3, 2))
    f = form_coefficients(a, W, 5)
    search = waring_decompositions(f, 5, 3, 8, np.random.default_rng(4), iterations=300)
    assert np.abs(form_coefficients(np.ones(3), search.L[0], 5) - f).max() < 1e-10 * np.abs(f).max()


def test_a_form_of_higher_rank_has_no_decomposition_found():
    # x²y has rank 3 (border rank 2): no start reaches a length-2 decomposition
    f = np.array([0.0, 1.0 / np.sqrt(3), 0.0, 0.0])  # Bombieri–Weyl coordinates of x²y: f_(2,1) / √3
    search = waring_decompositions(f, 3, 2, 16, np.random.default_rng(5), iterations=200)
    assert search.converged == 0 and search.n_distinct == 0


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
