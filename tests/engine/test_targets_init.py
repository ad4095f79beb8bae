import math

import numpy as np
import pytest
import torch

from companion.engine.init import init_particles
from companion.engine.targets import ridge_target, sample_data, teacher


@pytest.fixture(scope="module")
def inputs():
    return torch.randn(600_000, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def _mc(values):
    return values.mean().item(), values.std().item() / math.sqrt(values.numel())


@pytest.mark.parametrize("kind", ["teacher", "ridge"])
def test_target_norm_and_cross_match_monte_carlo(kind, inputs):
    gen = torch.Generator().manual_seed(1)
    U = torch.randn(2, 3, generator=gen)
    if kind == "teacher":
        tgt = teacher("tanh", torch.tensor([0.8, -1.1]), U)
    else:
        tgt = ridge_target(torch.tensor([0.8, -1.1]), U, torch.tensor([[0.0, 1.0, 0.5, 0.2], [0.3, 0.0, -0.4, 0.1]]))
    fx = tgt(inputs)
    mean, se = _mc(fx**2)
    assert abs(tgt.norm2().item() - mean) < 5 * se
    w = torch.tensor([[0.4, -0.9, 1.3]])
    mean, se = _mc(torch.relu(inputs @ w.T)[:, 0] * fx)
    assert abs(tgt.cross("relu", w).item() - mean) < 5 * se


def test_hermite_tensors_satisfy_parseval():
    U = torch.randn(3, 4, generator=torch.Generator().manual_seed(2))
    tgt = ridge_target(torch.tensor([1.0, 0.5, -0.3]), U, torch.tensor([0.2, 1.0, 0.6, 0.3, 0.1]))
    tensors = tgt.hermite_tensors(5)
    assert [t.shape for t in tensors] == [(), (4,), (4, 4), (4, 4, 4), (4, 4, 4, 4)]
    total = sum((t**2).sum() for t in tensors)
    assert total.item() == pytest.approx(tgt.norm2().item(), rel=1e-12)


def test_sample_data_noise_level():
    tgt = teacher("erf", torch.tensor([1.0]), torch.tensor([[1.0, 0.0, 0.0]]))
    X, y = sample_data(tgt, 50_000, noise_std=0.5, generator=torch.Generator().manual_seed(3))
    assert X.shape == (50_000, 3)
    assert (y - tgt(X)).std().item() == pytest.approx(0.5, rel=0.02)
    with pytest.raises(ValueError, match="noise_std"):
        sample_data(tgt, 10, noise_std=-1.0)
    with pytest.raises(ValueError, match="n"):
        sample_data(tgt, 0)


@pytest.mark.parametrize("family, variance", [("gaussian", 4.0), ("laplace", 8.0), ("student_t", 4.0 * 5 / 3)])
def test_init_families_scale(family, variance):
    theta = init_particles(family, 2, 50_000, 2, scale=2.0, a_scale=2.0, rng=0, df=5.0)
    assert theta.shape == (2, 50_000, 3)
    assert theta.var().item() == pytest.approx(variance, rel=0.05)


def test_init_ball_atomic_and_nesting():
    ball = init_particles("ball", 1, 5000, 3, scale=1.5, a_scale=1.5, rng=1)
    assert ball.norm(dim=-1).max() <= 1.5 + 1e-12
    atoms = np.array([[1.0, 0.0, 1.0], [-1.0, 1.0, 0.0]])
    cloud = init_particles("atomic", 1, 100, 2, rng=2, atoms=atoms, weights=[0.25, 0.75])
    assert {tuple(row) for row in cloud[0].tolist()} <= {tuple(row) for row in atoms.tolist()}
    big = init_particles("laplace", 1, 64, 3, rng=5)
    assert torch.equal(big, init_particles("laplace", 1, 64, 3, rng=5))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(family="cauchy"), "family"),
        (dict(N=0), "N"),
        (dict(scale=-1.0), "scale"),
        (dict(a_scale=float("inf")), "a_scale"),
        (dict(family="student_t", df=0.0), "df"),
        (dict(family="atomic", atoms=np.ones((2, 5))), "atoms"),
        (dict(family="atomic", atoms=np.ones((2, 3)), weights=[0.5, 0.6]), "weights"),
    ],
)
def test_init_bad_input(kwargs, name):
    args = dict(family="gaussian", R=1, N=4, d=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        init_particles(args.pop("family"), args.pop("R"), args.pop("N"), args.pop("d"), **args)
