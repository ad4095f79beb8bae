import numpy as np
import pytest
import torch

from companion.analysis.relaxation import (
    drift_hessian,
    fit_exponentials,
    function_gram,
    linearised_decay,
    linearised_relaxation,
    pair_hessians,
)
from companion.engine.dynamics import function_distance2, population_risk
from companion.engine.gradients import population_grad
from companion.engine.targets import teacher


def planted(P, rates, seed=0):
    """A symmetric matrix with eigenvalues ``rates`` and a random orthonormal eigenbasis."""
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((P, P)))
    return Q @ np.diag(rates) @ Q.T


def test_linearised_flow_of_a_planted_linear_system_has_its_eigenvalues_as_rates():
    rates = np.array([0.1, 0.25, 0.5, 1.0, 3.0])
    H = planted(5, rates)
    # each eigenvector decays alone at its eigenvalue: ||e^{-Hs} v||^2 = e^{-2 h s}
    w, V = np.linalg.eigh(H)
    s = np.array([0.0, 1.0, 2.5])
    for h, v in zip(w, V.T):
        np.testing.assert_allclose(linearised_decay(H, np.eye(5), v, s), np.exp(-2 * h * s), rtol=1e-10)
    np.testing.assert_allclose(w, rates, rtol=1e-12)


def test_linearised_decay_of_a_planted_linear_flow_is_its_exact_solution():
    H, G = planted(4, [0.2, 0.5, 1.0, 2.0]), planted(4, [1.0, 2.0, 0.5, 3.0], seed=1)
    delta, s = np.array([1.0, -0.5, 0.3, 2.0]), np.array([0.0, 0.7, 3.0])
    w, V = np.linalg.eigh(H)
    exact = [(V @ (np.exp(-w * t) * (V.T @ delta))) @ G @ (V @ (np.exp(-w * t) * (V.T @ delta))) for t in s]
    np.testing.assert_allclose(linearised_decay(H, G, delta, s), exact, rtol=1e-12)
    # one visible mode: the decay is a single exponential at twice its eigenvalue
    one = linearised_decay(np.diag([0.3, 1.0]), np.diag([1.0, 0.0]), [2.0, 5.0], s)
    np.testing.assert_allclose(one, 4 * np.exp(-0.6 * s), rtol=1e-12)


def small_system(seed=0, N=3, d=2):
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(N, 1 + d, generator=g, dtype=torch.float64)
    target = teacher(
        "erf", torch.tensor([1.0, -0.5], dtype=torch.float64), torch.randn(2, d, generator=g, dtype=torch.float64)
    )
    return theta, target


def test_drift_hessian_matches_autograd_including_the_interaction():
    theta, target = small_system()
    N, lam = theta.shape[0], 0.1

    def energy(flat):
        th = flat.reshape(1, *theta.shape)
        return N * population_risk(th, "erf", target)[0] + 0.5 * lam * (flat**2).sum()

    exact = torch.autograd.functional.hessian(energy, theta.reshape(-1)).numpy()
    H = drift_hessian(theta, "erf", target, lam)
    np.testing.assert_allclose(H, exact, atol=1e-10)
    assert np.abs(H[:3, 3:6]).max() > 1e-3  # particles interact


def test_function_gram_is_the_first_order_change_of_the_function():
    theta, _ = small_system(seed=1)
    G = function_gram(theta, "erf")
    delta = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    eps = 1e-4
    moved = (theta.reshape(-1) + eps * delta).reshape(1, *theta.shape)
    change = float(function_distance2(moved, theta[None], "erf")[0]) / eps**2
    assert change == pytest.approx(float(delta @ torch.as_tensor(G) @ delta), rel=1e-3)
    assert np.linalg.eigvalsh(G).min() > -1e-9


def test_pair_hessians_are_the_second_derivatives_of_the_pair_kernel():
    theta, _ = small_system(seed=3)
    d11, d12 = pair_hessians(theta, "erf")
    from companion.engine.kernels import gaussian_kernel

    def k(x, y):
        return x[0] * y[0] * gaussian_kernel("erf", x[None, 1:], y[None, 1:])[0, 0]

    full = torch.autograd.functional.hessian(k, (theta[0], theta[2]))
    torch.testing.assert_close(d11[0, 2], full[0][0])
    torch.testing.assert_close(d12[0, 2], full[0][1])


@pytest.mark.parametrize("floor", [False, True])
def test_two_exponential_fit_recovers_planted_rates(floor):
    t = np.arange(2, 8.01, 0.5)
    y = 0.05 * np.exp(-0.37 * t) + 0.6 * np.exp(-1.03 * t) + (2e-4 if floor else 0.0)
    fit = fit_exponentials(t, y, 2, floor=floor)
    np.testing.assert_allclose(fit["rates"], [0.37, 1.03], rtol=1e-4)
    np.testing.assert_allclose(fit["amplitudes"], [0.05, 0.6], rtol=1e-3)
    assert fit["misfit"] < 1e-6
    noisy = y * np.exp(0.01 * np.random.default_rng(0).standard_normal(t.size))
    assert fit_exponentials(t, noisy, 2, floor=floor)["rates"][0] == pytest.approx(0.37, rel=0.1)


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="^y:"):
        fit_exponentials([0, 1, 2, 3, 4], [1, 0.5, -0.1, 0.1, 0.05])
    with pytest.raises(ValueError, match="^t:"):
        fit_exponentials([0, 1, 2], [1, 0.5, 0.2])
    with pytest.raises(ValueError, match="^s:"):
        linearised_decay(np.eye(2), np.eye(2), [1.0, 1.0], [-1.0])
    with pytest.raises(ValueError, match="^gram:"):
        linearised_decay(np.eye(2), np.eye(3), [1.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="^theta:"):
        function_gram(torch.ones(3), "erf")


def test_linearised_relaxation_predicts_a_noiseless_flow_near_its_minimum():
    from companion.engine.dynamics import simulate

    _, target = small_system(seed=4)
    rest = torch.cat([2 * target.b[:, None], target.U], dim=1)[None]  # N = 2 particles realising the target
    assert float(population_grad(rest, "erf", target)[0].abs().max()) < 1e-12
    kick = rest + 1e-3 * torch.randn(rest.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    s = np.array([0.0, 0.5, 1.0])
    path = simulate(kick, "erf", target, eta=0.001, steps=1000, record_steps=[0, 500, 1000]).particles
    measured = [float(function_distance2(p, rest, "erf")[0]) for p in path]
    out = linearised_relaxation(kick, rest, "erf", target, 0.0, s)
    np.testing.assert_allclose(out["decay"][0], measured, rtol=0.02)
    assert measured[-1] < 0.8 * measured[0]
    assert out["eigenvalues"].shape == (1, 6) and out["eigenvalues"].min() > -1e-8
    assert out["weights"].sum() == pytest.approx(1.0)
