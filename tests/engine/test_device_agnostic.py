"""The population step stays on the tensors' device: nothing in it converts a tensor to NumPy (a GPU tensor would
raise there). No GPU here, so the CPU run with ``Tensor.numpy`` disabled stands in for it."""

import pytest
import torch

from companion.engine.gradients import population_grad
from companion.engine.init import init_particles
from companion.engine.targets import teacher


@pytest.mark.parametrize("name", ["erf", "relu", "tanh", "gelu", "quadratic"])
@pytest.mark.parametrize("target_name", ["erf", "tanh"])
def test_population_step_never_calls_numpy(name, target_name, monkeypatch):
    theta = init_particles("gaussian", 2, 24, 3, scale=1.5, a_scale=1.0, rng=0, dtype=torch.float64)
    target = teacher(target_name, torch.tensor([1.0, -0.5], dtype=torch.float64), torch.eye(3, dtype=torch.float64)[:2])
    population_grad(theta, name, target)  # caches (quadrature rules, mixtures) may be built from NumPy once

    def refuse(self, *args, **kwargs):
        raise AssertionError("Tensor.numpy() called inside the population step")

    monkeypatch.setattr(torch.Tensor, "numpy", refuse)
    grad, risk = population_grad(theta, name, target, budget=37)
    assert torch.isfinite(grad).all() and torch.isfinite(risk).all()
