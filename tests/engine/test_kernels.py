import math

import pytest
import torch

from companion.engine.activations import ACTIVATIONS, get_activation
from companion.engine.kernels import cross_kernel, gaussian_kernel, hermite_series, norms_and_cosines


@pytest.fixture(scope="module")
def gaussian_inputs():
    gen = torch.Generator().manual_seed(0)
    return torch.randn(1_000_000, 3, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("name", ACTIVATIONS + ("he3",))
def test_kernel_matches_monte_carlo(name, gaussian_inputs):
    """Exact kernel within 5 Monte Carlo standard errors (10^6 samples), norms from 0.3 to 2."""
    gen = torch.Generator().manual_seed(1)
    W = torch.randn(4, 3, generator=gen) * torch.tensor([[0.3], [0.8], [1.2], [2.0]])
    V = torch.randn(3, 3, generator=gen)
    act = get_activation(name)
    X = gaussian_inputs
    products = act.fn(X @ W.T)[:, :, None] * act.fn(X @ V.T)[:, None, :]
    mc, se = products.mean(0), products.std(0) / math.sqrt(X.shape[0])
    exact = gaussian_kernel(act, W, V)
    assert ((exact - mc).abs() < 5 * se + 1e-12).all(), (exact - mc).abs() / se


@pytest.mark.parametrize("name", ["erf", "relu"])
def test_closed_forms_match_series(name):
    gen = torch.Generator().manual_seed(2)
    W = torch.randn(6, 4, generator=gen)
    act = get_activation(name)
    nw, _, rho = norms_and_cosines(W, W)
    series = hermite_series(act.coefficients(nw, 600), act.coefficients(nw, 600), rho)
    off_diagonal = ~torch.eye(6, dtype=bool)
    tol = 1e-12 if name == "erf" else 1e-6  # ReLU coefficients decay like k^(-5/4)
    torch.testing.assert_close(series[off_diagonal], gaussian_kernel(act, W, W)[off_diagonal], atol=tol, rtol=0)


def test_relu_diagonal_is_half_square_norm_with_finite_gradient():
    W = torch.randn(5, 3, generator=torch.Generator().manual_seed(3), requires_grad=True)
    K = gaussian_kernel("relu", W, W)
    torch.testing.assert_close(K.diagonal(), 0.5 * (W.detach() ** 2).sum(-1))
    (grad,) = torch.autograd.grad(K.sum(), W)
    assert torch.isfinite(grad).all()


@pytest.mark.parametrize("name", ["relu", "erf", "tanh"])
def test_kernel_gradcheck(name):
    gen = torch.Generator().manual_seed(4)
    W = torch.randn(3, 2, generator=gen, requires_grad=True)
    V = torch.randn(2, 2, generator=gen)
    assert torch.autograd.gradcheck(lambda w: gaussian_kernel(name, w, V), (W,))


def test_cross_kernel_between_activations(gaussian_inputs):
    gen = torch.Generator().manual_seed(5)
    W, U = torch.randn(3, 3, generator=gen), torch.randn(2, 3, generator=gen)
    X = gaussian_inputs
    products = torch.erf(X @ W.T)[:, :, None] * torch.relu(X @ U.T)[:, None, :]
    mc, se = products.mean(0), products.std(0) / math.sqrt(X.shape[0])
    assert ((cross_kernel("erf", W, "relu", U) - mc).abs() < 5 * se).all()


def test_kernel_dimension_mismatch():
    with pytest.raises(ValueError, match="V"):
        gaussian_kernel("erf", torch.ones(2, 3), torch.ones(2, 4))
