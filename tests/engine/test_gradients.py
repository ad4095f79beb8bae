"""Explicit population gradients (companion.engine.gradients) against the autograd reference (dynamics._population_grad)."""

import math

import pytest
import torch

from companion.engine.activations import ACTIVATIONS, get_activation
from companion.engine.dynamics import _population_grad, first_variation_grad
from companion.engine.gradients import population_grad
from companion.engine.targets import ridge_target, teacher

D = 4


def _particles(R=2, N=30, seed=0):
    """Norms log-spaced over [0.05, 10]; particle 1 parallel to 0 (twice its norm), 2 antiparallel, 3 equal to 0."""
    gen = torch.Generator().manual_seed(seed)
    theta = torch.randn(R, N, D + 1, generator=gen)
    W = theta[..., 1:]
    W *= torch.logspace(math.log10(0.05), 1, N)[:, None] / W.norm(dim=-1, keepdim=True)
    theta[:, 1, 1:] = 2 * theta[:, 0, 1:]
    theta[:, 2, 1:] = -0.5 * theta[:, 0, 1:]
    theta[:, 3] = theta[:, 0]
    return theta


def _target(kind, activation):
    gen = torch.Generator().manual_seed(1)
    U = torch.randn(3, D, generator=gen) * torch.tensor([[0.3], [1.0], [4.0]])
    b = torch.tensor([1.0, -0.5, 0.3])
    if kind == "ridge":
        return ridge_target(b, U, torch.randn(3, 6, generator=gen))
    return teacher(activation if kind == "teacher" else "erf", b, U)


def _relative(got, ref):
    return ((got - ref).norm() / ref.norm()).item()


@pytest.mark.parametrize("name", ACTIVATIONS + ("he3",))
@pytest.mark.parametrize("kind", ["teacher", "erf", "ridge"])
def test_explicit_gradient_equals_autograd(name, kind):
    """Relative error < 1e-12 for the a- and w-parts, the risk too, whole and in blocks of 37 entries."""
    theta, act = _particles(), get_activation(name)
    target = _target(kind, act)
    ref, ref_risk = _population_grad(theta, act, target)
    for budget in (2**16, 37):
        got, risk = population_grad(theta, name, target, budget)
        assert _relative(got[..., 0], ref[..., 0]) < 1e-12
        assert _relative(got[..., 1:], ref[..., 1:]) < 1e-12
        assert ((risk - ref_risk).abs() / ref_risk.abs()).max() < 1e-12


@pytest.mark.parametrize("name", ["erf", "relu", "tanh"])
def test_explicit_gradient_on_the_diagonal_alone(name):
    """N = 1: only the self pair K(w, w) (ReLU: its finite derivative at ρ = 1) and the target."""
    theta = _particles(R=3, N=5)[:, 3:4]
    target = _target("teacher", name)
    ref, _ = _population_grad(theta, get_activation(name), target)
    got, _ = population_grad(theta, name, target)
    assert _relative(got, ref) < 1e-12


def test_engine_uses_the_explicit_gradient():
    theta, target = _particles(), _target("teacher", "erf")
    got, risk = first_variation_grad(theta, "erf", target, engine="population")
    expected, expected_risk = population_grad(theta, "erf", target)
    assert torch.equal(got, expected) and torch.equal(risk, expected_risk)


@pytest.mark.parametrize("name", ["erf", "tanh", "gelu"])
def test_float32_agrees_with_float64(name):
    """Norms 0.05 to 10: tanh and GELU take the series, the flagged pairs and their coefficients (float64 inside)."""
    theta, target = _particles(), _target("teacher", name)
    exact, _ = population_grad(theta, name, target)
    single, _ = population_grad(theta.float(), name, target.to(dtype=torch.float32))
    assert single.dtype == torch.float32
    assert _relative(single.double(), exact) < 1e-5


@pytest.mark.parametrize("budget", [0, 2.5, -3])
def test_bad_budget(budget):
    with pytest.raises(ValueError, match="budget"):
        population_grad(_particles(), "erf", _target("teacher", "erf"), budget)


@pytest.mark.parametrize("name", ["erf", "relu", "tanh"])
def test_target_grad_is_the_first_variation_of_a_population_at_outside_particles(name):
    """V(μ_P, θ) = E[(f_P − f*) aσ(w·x)] for particles θ outside the population P: target_grad against f_P (a teacher
    of weights a_j/M) minus target_grad against f* equals autograd through the kernels."""
    from companion.engine.dynamics import function_inner
    from companion.engine.gradients import target_grad
    from companion.engine.init import init_particles

    act = get_activation(name)
    target = teacher("erf", [1.0, -0.5], torch.eye(4)[:2].double())
    population = init_particles("gaussian", 1, 50, 4, scale=0.7, rng=1)
    tagged = init_particles("gaussian", 3, 5, 4, scale=0.7, rng=2)
    network = teacher(act, population[0, :, 0] / 50, population[0, :, 1:])
    explicit = target_grad(tagged, act, network) - target_grad(tagged, act, target)
    leaf = tagged.clone().requires_grad_(True)
    single = leaf.reshape(15, 1, 5)
    first_variation = (
        function_inner(population.expand(15, -1, -1), single, act)
        - single[:, 0, 0] * target.cross(act, single[:, :, 1:])[:, 0]
    )
    (reference,) = torch.autograd.grad(first_variation.sum(), leaf)
    torch.testing.assert_close(explicit, reference, rtol=1e-10, atol=1e-12)
