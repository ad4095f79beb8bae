import math

import numpy as np
import pytest
import torch

from companion.engine.activations import get_activation
from companion.engine.dynamics import (
    NOISE,
    DivergenceError,
    _noise_steps,
    first_variation_grad,
    function_distance2,
    log_time_grid,
    network,
    population_risk,
    simulate,
)
from companion.engine.init import init_particles
from companion.engine.kernels import gaussian_kernel
from companion.engine.seeding import Stream
from companion.engine.targets import sample_data, teacher

D = 3


@pytest.fixture
def target():
    U = torch.tensor([[1.0, 0.5, 0.0], [0.0, -0.7, 1.0]])
    return teacher("erf", torch.tensor([1.0, -0.6]), U)


def _theta(R=2, N=16, seed=0, scale=0.7):
    return init_particles("gaussian", R, N, D, scale=scale, rng=seed)


@pytest.mark.parametrize("name", ["erf", "relu", "tanh"])
def test_engine_step_equals_autograd_mup_step(name, target):
    """One engine step = one SGD step on the μP network f = (1/N) Σ a σ(w·x) with per-neuron lr ηN, decay λ, noise."""
    N, eta, lam, tau, seed = 32, 0.05, 0.1, 0.01, 7
    theta = _theta(1, N)
    X, y = sample_data(target, 200, noise_std=0.1, generator=torch.Generator().manual_seed(1))
    a = torch.nn.Parameter(theta[0, :, 0].clone())
    W = torch.nn.Parameter(theta[0, :, 1:].clone())
    f = get_activation(name).fn(X @ W.T) @ a / N
    loss = 0.5 * ((f - y) ** 2).mean()
    loss.backward()
    xi = torch.randn(N, D + 1, generator=Stream(seed, "simulate").generator(0, purpose=NOISE))
    params = torch.cat([a.detach()[:, None], W.detach()], dim=1)
    grads = torch.cat([a.grad[:, None], W.grad], dim=1)
    expected = params - eta * N * grads - eta * lam * params + math.sqrt(2 * eta * tau) * xi
    got = simulate(
        theta, name, engine="empirical", data=(X, y), eta=eta, steps=1, lam=lam, tau=tau, seed=seed, progress=False
    ).final[0]
    assert ((got - expected).norm() / expected.norm()).item() < 1e-10


def test_population_gradient_matches_explicit_formula(target):
    r""":math:`\nabla_a V(\mu_N, \theta_i) = \frac1N\sum_j K(w_i, w_j) a_j - E[\sigma(w_i\cdot x) f^*(x)]`."""
    theta = _theta()
    grad, _ = first_variation_grad(theta, "erf", target, engine="population")
    K = gaussian_kernel("erf", theta[..., 1:], theta[..., 1:])
    expected = (K @ theta[..., 0:1])[..., 0] / theta.shape[1] - target.cross("erf", theta[..., 1:])
    torch.testing.assert_close(grad[..., 0], expected)


def test_population_gradient_is_limit_of_empirical(target):
    theta = _theta()
    X, y = sample_data(target, 400_000, generator=torch.Generator().manual_seed(2))
    g_pop, risk_pop = first_variation_grad(theta, "erf", target, engine="population")
    g_emp, risk_emp = first_variation_grad(theta, "erf", target, engine="empirical", data=(X, y))
    assert (g_pop - g_emp).abs().max() < 0.02 * g_pop.abs().max()
    torch.testing.assert_close(risk_pop, risk_emp, rtol=0.02, atol=0)


def test_population_risk_matches_monte_carlo(target):
    theta = _theta()
    X = torch.randn(500_000, D, generator=torch.Generator().manual_seed(3))
    mc = 0.5 * ((network(theta, "erf", X) - target(X)) ** 2).mean(-1)
    torch.testing.assert_close(population_risk(theta, "erf", target), mc, rtol=0.02, atol=0)
    assert function_distance2(theta, theta, "erf").abs().max() < 1e-12


def test_chunking_does_not_change_the_gradient(target):
    theta = _theta(N=40)
    X, y = sample_data(target, 300, generator=torch.Generator().manual_seed(4))
    whole, _ = first_variation_grad(theta, "relu", engine="empirical", data=(X, y))
    chunked, _ = first_variation_grad(
        theta, "relu", engine="empirical", data=(X, y), chunk_size=24
    )  # 12 particles x 1 row
    torch.testing.assert_close(whole, chunked)


def test_coupled_systems_match_without_interaction():
    """With the data term off, the first N particles of the reference equal an N-system run alone."""
    ref0 = _theta(R=2, N=64)
    ref = simulate(ref0, "erf", engine="none", eta=0.1, steps=30, lam=0.5, tau=0.2, seed=3, progress=False)
    small = simulate(
        ref0[:, :16], "erf", engine="none", eta=0.1, steps=30, lam=0.5, tau=0.2, seed=3, noise_width=64, progress=False
    )
    torch.testing.assert_close(small.final, ref.final[:, :16], atol=0, rtol=0)


def test_replicas_equal_separate_runs(target):
    theta = _theta(R=3, N=12)
    kwargs = dict(eta=0.05, steps=20, lam=0.1, tau=0.01, progress=False)
    batched = simulate(theta, "erf", target, seed=10, **kwargs)
    for r in range(3):
        alone = simulate(theta[r : r + 1], "erf", target, seed=10, first_replica=r, **kwargs)
        torch.testing.assert_close(alone.final[0], batched.final[r], atol=1e-13, rtol=0)


@pytest.mark.parametrize("N", [12, 7])  # 12·4 noise numbers a step are drawn many steps at once, 7·4 one step at a time
def test_replica_noise_equals_a_lone_run_bit_for_bit(N):
    theta = _theta(R=3, N=N)
    kwargs = dict(engine="none", eta=0.05, steps=40, lam=0.1, tau=0.01, progress=False)
    batched = simulate(theta, "erf", seed=10, **kwargs)
    for r in range(3):
        assert torch.equal(
            simulate(theta[r : r + 1], "erf", seed=10, first_replica=r, **kwargs).final[0], batched.final[r]
        )


def test_noise_drawn_in_batches_equals_one_draw_per_step():
    """50 steps of 8 × 4 numbers come in one draw per replica; the values are those of 50 single draws."""
    batched = torch.stack(
        list(
            _noise_steps(
                [torch.Generator().manual_seed(s) for s in (3, 4)], 50, (8, 4), torch.float64, torch.device("cpu")
            )
        )
    )
    gens = [torch.Generator().manual_seed(s) for s in (3, 4)]
    single = torch.stack([torch.stack([torch.randn(8, 4, generator=g) for g in gens]) for _ in range(50)])
    assert torch.equal(batched, single)


def test_recorded_risk_is_the_population_risk(target):
    theta = _theta()
    run = simulate(theta, "relu", target, eta=0.05, steps=12, tau=0.01, record_steps=[0, 5, 12], seed=2, progress=False)
    for particles, risk in zip(run.particles, run.risk):
        torch.testing.assert_close(risk, population_risk(particles, "relu", target), rtol=1e-13, atol=0)


def test_minibatch_replicas_equal_separate_runs(target):
    theta = _theta(R=2, N=12)
    X, y = sample_data(target, 50, generator=torch.Generator().manual_seed(5))
    kwargs = dict(engine="empirical", data=(X, y), batch_size=10, eta=0.05, steps=10, tau=0.01, progress=False)
    batched = simulate(theta, "relu", seed=4, **kwargs)
    alone = simulate(theta[1:], "relu", seed=4, first_replica=1, **kwargs)
    torch.testing.assert_close(alone.final[0], batched.final[1], atol=1e-13, rtol=0)


def test_determinism_and_recording(target):
    theta = _theta()
    run = lambda: simulate(
        theta, "erf", target, eta=0.05, steps=50, tau=0.01, record_steps=[0, 10, 50], seed=1, progress=False
    )
    first, second = run(), run()
    assert torch.equal(first.particles, second.particles)
    assert first.particles.shape == (3, 2, 16, D + 1)
    np.testing.assert_allclose(first.times, [0, 0.5, 2.5])
    assert torch.equal(first.particles[0], theta)
    assert first.risk[-1].max() < first.risk[0].min()  # training reduces the risk


def test_ornstein_uhlenbeck_variance_recursion():
    """Data term off: Var_{k+1} = (1 − ηλ)² Var_k + 2ητ exactly in law."""
    eta, lam, tau, steps, s = 0.1, 1.0, 0.05, 40, 2.0
    theta = init_particles("gaussian", 1, 20000, D, scale=s, a_scale=s, rng=0)
    var = s**2
    for _ in range(steps):
        var = (1 - eta * lam) ** 2 * var + 2 * eta * tau
    final = simulate(theta, "erf", engine="none", eta=eta, steps=steps, lam=lam, tau=tau, progress=False).final
    assert final.var().item() == pytest.approx(var, rel=0.03)


def test_log_time_grid():
    grid = log_time_grid(1000, 10)
    assert grid[0] == 0 and grid[-1] == 1000 and np.all(np.diff(grid) > 0)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(eta=0.0), "eta"),
        (dict(eta=-1.0), "eta"),
        (dict(eta=float("nan")), "eta"),
        (dict(lam=-0.1), "lam"),
        (dict(tau=-1e-3), "tau"),
        (dict(steps=-1), "steps"),
        (dict(steps=1.5), "steps"),
        (dict(engine="langevin"), "engine"),
        (dict(activation="softsign"), "activation"),
        (dict(record_steps=[0, 99]), "record_steps"),
        (dict(noise_width=3), "noise_width"),
        (dict(engine="empirical"), "data"),
        (dict(engine="empirical", data=(torch.ones(5, 2), torch.ones(5))), "data"),
        (dict(engine="empirical", data=(torch.ones(5, 3), torch.ones(4))), "data"),
        (dict(engine="empirical", data=(torch.ones(5, 3), torch.ones(5)), batch_size=6), "batch_size"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, name, target):
    args = dict(eta=0.1, steps=5, activation="erf")
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        simulate(_theta(), args.pop("activation"), target, progress=False, **args)


def test_bad_particles_and_target_dimension(target):
    theta = _theta()
    theta[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="theta0"):
        simulate(theta, "erf", target, eta=0.1, steps=1)
    with pytest.raises(ValueError, match="theta0"):
        simulate(torch.ones(4, 3), "erf", target, eta=0.1, steps=1)
    with pytest.raises(ValueError, match="target"):
        simulate(init_particles("gaussian", 1, 4, 5), "erf", target, eta=0.1, steps=1)


def test_divergence_stops_with_the_step(target):
    with pytest.raises(DivergenceError, match=r"step \d+.*reduce eta"):
        simulate(_theta(scale=3.0), "quadratic", target, eta=50.0, steps=200, progress=False)


def test_divergence_names_the_first_bad_step_when_checked_rarely(target):
    """The first non-finite step is kept on the device and read at the checks, so it is exact for any check_every."""
    theta = _theta(scale=3.0)
    messages = []
    for check_every in (1, 7):
        with pytest.raises(DivergenceError) as info:
            simulate(theta, "quadratic", target, eta=50.0, steps=200, progress=False, check_every=check_every)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_progress_default_follows_the_environment(monkeypatch):
    from companion.engine.dynamics import progress_default

    monkeypatch.setenv("COMPANION_PROGRESS", "0")
    assert progress_default() is False
    monkeypatch.setenv("COMPANION_PROGRESS", "1")
    assert progress_default() is True
