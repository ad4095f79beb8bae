import math

import pytest
import torch

from companion.engine.activations import ACTIVATIONS, get_activation, hermite_activation
from companion.engine.hermite import gauss_hermite, hermite_coefficients, hermite_e, hermite_orthonormal


def test_hermite_known_polynomials():
    z = torch.linspace(-3, 3, 13)
    He = hermite_e(z, 5)
    torch.testing.assert_close(He[:, 2], z**2 - 1)
    torch.testing.assert_close(He[:, 3], z**3 - 3 * z)
    torch.testing.assert_close(He[:, 4], z**4 - 6 * z**2 + 3)
    factorial = torch.tensor([math.factorial(k) for k in range(5)], dtype=torch.float64)
    torch.testing.assert_close(hermite_orthonormal(z, 5), He / factorial.sqrt())


def test_gauss_hermite_moments_and_orthonormality():
    nodes, weights = gauss_hermite(30)
    assert weights.sum().item() == pytest.approx(1.0, abs=1e-14)
    assert (weights * nodes**4).sum().item() == pytest.approx(3.0, rel=1e-12)
    assert (weights * nodes**6).sum().item() == pytest.approx(15.0, rel=1e-12)
    H = hermite_orthonormal(nodes, 20)
    gram = H.T @ (weights[:, None] * H)
    torch.testing.assert_close(gram, torch.eye(20), atol=1e-10, rtol=0)


def _trapezoid_coefficients(fn, r, K):
    z = torch.linspace(-40, 40, 400001)
    weight = torch.exp(-(z**2) / 2) / math.sqrt(2 * math.pi) * (z[1] - z[0])
    return torch.stack([((fn(s * z) * weight)[:, None] * hermite_orthonormal(z, K)).sum(0) for s in r])


@pytest.mark.parametrize("name", ["relu", "erf"])
def test_closed_form_coefficients_match_quadrature(name):
    r = torch.tensor([0.0, 0.3, 1.0, 2.5])
    act = get_activation(name)
    torch.testing.assert_close(act.coefficients(r, 12), _trapezoid_coefficients(act.fn, r, 12), atol=1e-8, rtol=0)


def test_known_coefficients():
    r = torch.tensor([0.5, 2.0])
    relu = get_activation("relu").coefficients(r, 5)
    torch.testing.assert_close(relu[:, 0], r / math.sqrt(2 * math.pi))
    torch.testing.assert_close(relu[:, 1], r / 2)
    torch.testing.assert_close(relu[:, 2], r / math.sqrt(2 * math.pi) / math.sqrt(2))
    assert relu[:, 3].abs().max() == 0
    quad = get_activation("quadratic").coefficients(r, 4)
    torch.testing.assert_close(quad, torch.stack([r**2, 0 * r, math.sqrt(2) * r**2, 0 * r], dim=-1), atol=1e-12, rtol=0)
    he3 = get_activation("he3").coefficients(torch.tensor([1.0]), 6)
    torch.testing.assert_close(he3[0], torch.tensor([0, 0, 0, math.sqrt(6), 0, 0.0]), atol=1e-12, rtol=0)
    erf1 = get_activation("erf").coefficients(r, 2)[:, 1]
    torch.testing.assert_close(erf1, 2 * r / torch.sqrt(math.pi * (1 + 2 * r**2)))


@pytest.mark.parametrize("name", ["erf", "tanh", "gelu"])
def test_parseval(name):
    """Σ_k c_k(r)² = E σ(rZ)²: the default truncation loses < 1e-8 (tanh at r = 1.5 loses ~2e-9)."""
    act = get_activation(name)
    r = torch.tensor([0.7, 1.5])
    nodes, weights = gauss_hermite(300)
    second_moment = (act.fn(r[:, None] * nodes) ** 2 * weights).sum(-1)
    torch.testing.assert_close((act.coefficients(r) ** 2).sum(-1), second_moment, atol=1e-8, rtol=0)


@pytest.mark.parametrize("name", ACTIVATIONS + ("he4",))
def test_activation_flags_and_derivatives(name):
    act = get_activation(name)
    z = torch.linspace(-2.3, 2.1, 41, requires_grad=True)
    (auto,) = torch.autograd.grad(act.fn(z).sum(), z)
    torch.testing.assert_close(act.derivative(z.detach()), auto, atol=1e-12, rtol=0)
    z = z.detach()
    if act.parity == "odd":
        torch.testing.assert_close(act.fn(-z), -act.fn(z))
    if act.parity == "even":
        torch.testing.assert_close(act.fn(-z), act.fn(z))
    if act.linear_part:
        torch.testing.assert_close(act.fn(z) - act.fn(-z), z)
    if act.homogeneous:
        torch.testing.assert_close(act.fn(3 * z), 3 * act.fn(z))


def test_hermite_activation_roundtrip():
    beta = torch.tensor([0.1, -0.5, 0.0, 0.25])
    g = hermite_activation(beta)
    torch.testing.assert_close(
        g.coefficients(torch.tensor([1.0]), 6)[0], torch.cat([beta, torch.zeros(2)]), atol=1e-12, rtol=0
    )
    assert g.parity is None
    assert hermite_activation(torch.tensor([0.0, 1.0, 0.0, 2.0])).parity == "odd"


def test_quadrature_coefficients_are_differentiable():
    r = torch.tensor([1.3], requires_grad=True)
    c = hermite_coefficients(torch.tanh, r, 4)
    (grad,) = torch.autograd.grad(c[0, 1], r)
    eps = 1e-6
    numeric = (
        hermite_coefficients(torch.tanh, r.detach() + eps, 4)[0, 1]
        - hermite_coefficients(torch.tanh, r.detach() - eps, 4)[0, 1]
    ) / (2 * eps)
    assert grad.item() == pytest.approx(numeric.item(), rel=1e-6)


@pytest.mark.parametrize("bad, error", [("sigmoid", ValueError), ("he", ValueError), (3, TypeError)])
def test_unknown_activation(bad, error):
    with pytest.raises(error, match="activation"):
        get_activation(bad)


def test_get_activation_resolves_a_name_to_one_object():
    assert get_activation("he3") is get_activation("HE3")
    assert get_activation("tanh") is get_activation("tanh")
    act = get_activation("gelu")
    assert get_activation(act) is act


@pytest.mark.parametrize("name", ACTIVATIONS + ("he4",))
def test_coefficient_slopes_are_the_radial_derivatives(name):
    """c_k'(r) without autograd equals autograd through c_k(r)."""
    act = get_activation(name)
    r = torch.tensor([0.05, 0.7, 2.5, 10.0], requires_grad=True)
    c = act.coefficients(r, 10)
    auto = torch.stack([torch.autograd.grad(c[:, k].sum(), r, retain_graph=True)[0] for k in range(10)], dim=-1)
    torch.testing.assert_close(act.coefficient_slopes(r.detach(), 10), auto, rtol=1e-12, atol=1e-12 * auto.abs().max())


@pytest.mark.parametrize("name", ["relu", "erf", "tanh", "gelu", "quadratic", "he3"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_coefficients_and_slopes_in_one_pass_equal_the_two_apart(name, dtype):
    """The engine's one-pass (coefficients, slopes) (tanh: shared powers of the mixture's q_j; GELU: shared erf
    coefficients) are the separate methods' values bit for bit, at norms 0..10, with the K given or the default."""
    act = get_activation(name)
    r = torch.linspace(0, 10, 41, dtype=dtype).reshape(41, 1).expand(41, 3)
    for K in (None, 1, 2, 96):
        coef, slopes = act.coefficients_and_slopes(r, K)
        assert torch.equal(coef, act.coefficients(r, K)) and torch.equal(slopes, act.coefficient_slopes(r, K))


def test_mixture_tensors_are_built_once_and_serve_autograd_after_inference_mode():
    from companion.engine.activations import mixture_tensors

    mixture = get_activation("tanh").mixture
    mixture_tensors.cache_clear()  # the first call under inference mode
    with torch.inference_mode():
        weights, scales = mixture_tensors(mixture, torch.float64, torch.device("cpu"))
    assert not weights.is_inference() and weights.numel() == scales.numel() == len(mixture[0])
    assert mixture_tensors(mixture, torch.float64, torch.device("cpu"))[0] is weights
    r = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)
    get_activation("tanh").coefficients(r, 8).sum().backward()
    assert torch.isfinite(r.grad).all()
