import numpy as np
import pytest
import scipy.linalg

from companion.analysis.transport import w2_squared, w2_squared_batch, w2_squared_gaussian


def _optimal_map(S1, S2):
    """Symmetric positive T with T S1 T = S2, the Brenier map between centred Gaussians."""
    root1 = scipy.linalg.sqrtm(S1).real
    inv_root1 = np.linalg.inv(root1)
    return inv_root1 @ scipy.linalg.sqrtm(root1 @ S2 @ root1).real @ inv_root1


def _random_covariance(rng, dim):
    A = rng.standard_normal((dim, dim))
    return A @ A.T / dim + 0.2 * np.eye(dim)


def test_gaussian_closed_form_special_cases():
    assert w2_squared_gaussian([0, 0], np.eye(2), [3, 4], np.eye(2)) == pytest.approx(25.0)
    assert w2_squared_gaussian([0, 0], np.diag([4.0, 1.0]), [0, 0], np.diag([1.0, 9.0])) == pytest.approx(1 + 4)
    rng = np.random.default_rng(0)
    S1, S2 = _random_covariance(rng, 3), _random_covariance(rng, 3)
    m1, m2 = rng.standard_normal(3), rng.standard_normal(3)
    assert w2_squared_gaussian(m1, S1, m2, S2) == pytest.approx(w2_squared_gaussian(m2, S2, m1, S1), rel=1e-9)
    assert w2_squared_gaussian(m1, S1, m1, S1) == pytest.approx(0.0, abs=1e-10)


def test_emd_between_brenier_coupled_clouds_equals_the_map_cost_and_the_closed_form():
    rng = np.random.default_rng(1)
    dim, n = 3, 600
    S1, S2 = _random_covariance(rng, dim), _random_covariance(rng, dim)
    m1, m2 = rng.standard_normal(dim), rng.standard_normal(dim)
    T = _optimal_map(S1, S2)
    x = m1 + rng.standard_normal((n, dim)) @ scipy.linalg.sqrtm(S1).real
    y = m2 + (x - m1) @ T
    map_cost = np.mean(np.sum((y - x) ** 2, axis=1))
    assert w2_squared(x, y) == pytest.approx(map_cost, rel=1e-9)
    z = rng.standard_normal((200_000, dim)) @ scipy.linalg.sqrtm(S1).real
    monte_carlo = np.mean(np.sum((m2 - m1 + z @ T - z) ** 2, axis=1))
    assert monte_carlo == pytest.approx(w2_squared_gaussian(m1, S1, m2, S2), rel=0.02)


def test_one_dimensional_emd_is_sorted_matching_and_handles_unequal_sizes():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal(50), 2 + 3 * rng.standard_normal(50)
    assert w2_squared(x, y) == pytest.approx(np.mean((np.sort(x) - np.sort(y)) ** 2), rel=1e-10)
    assert w2_squared([[0.0], [1.0]], [[0.0], [0.5], [1.0], [1.5]]) == pytest.approx(0.125)


def test_translation_and_batches():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 40, 5))
    shift = np.array([0.3, -0.1, 0.0, 0.2, 0.05])
    np.testing.assert_allclose(w2_squared_batch(x, x + shift), np.full(2, shift @ shift), rtol=1e-10)


def test_validation():
    with pytest.raises(ValueError, match="y"):
        w2_squared(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="x"):
        w2_squared(np.full((3, 2), np.nan), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="S1"):
        w2_squared_gaussian([0, 0], [[1, 2], [2, 1]], [0, 0], np.eye(2))
    with pytest.raises(RuntimeError, match="max_iter"):
        rng = np.random.default_rng(4)
        w2_squared(rng.standard_normal((200, 3)), rng.standard_normal((300, 3)), max_iter=5)
