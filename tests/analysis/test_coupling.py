import dataclasses

import numpy as np
import pytest
import torch

from companion.analysis import coupling
from companion.engine.dynamics import function_distance2, simulate
from companion.engine.init import init_particles
from companion.engine.kernels import gaussian_kernel
from companion.engine.spec import StartingLaw, problem
from companion.engine.targets import teacher


def test_coupling_error_uses_the_first_n_reference_particles():
    ref = torch.zeros(2, 5, 3, dtype=torch.float64)
    theta = torch.zeros(2, 2, 3, dtype=torch.float64)
    theta[0, 1] = torch.tensor([1.0, 2.0, 2.0])
    ref[:, 2:] = 100.0
    np.testing.assert_allclose(coupling.coupling_error(theta, ref), [4.5, 0.0])
    np.testing.assert_allclose(coupling.coupling_error(theta[None].expand(3, -1, -1, -1), ref), [[4.5, 0.0]] * 3)
    with pytest.raises(ValueError, match="theta_ref"):
        coupling.coupling_error(ref, theta)


def test_function_errors_match_function_distance2():
    ref = init_particles("gaussian", 3, 40, 3, rng=0)
    systems = [init_particles("gaussian", 3, n, 3, rng=n) for n in (4, 9)]
    for act in ("erf", "relu"):
        errors = coupling.function_errors(systems, ref, act)
        for theta, err in zip(systems, errors):
            np.testing.assert_allclose(err, function_distance2(theta, ref, act).numpy(), rtol=1e-10, atol=1e-14)


def test_iid_function_variance_is_the_two_sample_variance_for_two_particles():
    theta = torch.tensor([[[0.7, 0.3, -1.2], [-0.4, 0.9, 0.5]]], dtype=torch.float64)
    a, W = theta[0, :, 0], theta[0, :, 1:]
    K = gaussian_kernel("erf", W, W)
    half_square = 0.5 * (a[0] ** 2 * K[0, 0] - 2 * a[0] * a[1] * K[0, 1] + a[1] ** 2 * K[1, 1])
    assert coupling.iid_function_variance(theta, "erf") == pytest.approx(float(half_square), rel=1e-12)
    with pytest.raises(ValueError, match="theta"):
        coupling.iid_function_variance(theta[:, :1], "erf")


def test_nested_function_error_at_time_zero_is_the_iid_line():
    N, N_ref, R = 4, 32, 600
    cloud = init_particles("gaussian", R, N_ref, 3, scale=0.8, rng=1)
    error = coupling.function_errors([cloud[:, :N]], cloud, "erf")[0].mean()
    variance = coupling.iid_function_variance(init_particles("gaussian", 8, 500, 3, scale=0.8, rng=2), "erf")
    assert error == pytest.approx((1 / N - 1 / N_ref) * variance, rel=0.15)


def test_nested_rate_fit():
    N = np.array([8.0, 16, 32, 64])
    N_ref, C = 256, 0.7
    rng = np.random.default_rng(0)
    errors = C * (1 / N - 1 / N_ref) * np.exp(0.1 * rng.standard_normal((40, N.size)))
    fit = coupling.fit_rate(N, errors, N_ref)
    assert fit["slope"] == pytest.approx(-1, abs=0.05)
    assert fit["slope_lo"] <= fit["slope"] <= fit["slope_hi"]
    assert fit["constant"] == pytest.approx(C, rel=0.05)
    assert coupling.fit_rate(N, errors, np.inf)["slope"] < -1.05
    np.testing.assert_allclose(coupling.effective_size([8, 16], 16 * 4), [64 / 7, 64 / 3])
    with pytest.raises(ValueError, match="N"):
        coupling.effective_size([8, 64], 64)


def test_bootstrap_mean_interval():
    values = np.random.default_rng(1).standard_normal((50, 3)) + np.array([0.0, 5.0, -2.0])
    mean, lo, hi = coupling.bootstrap_mean(values, seed=3)
    assert np.all(lo <= mean) and np.all(mean <= hi)
    assert np.all(hi - lo < 1.0) and np.all(hi - lo > 0.1)
    again = coupling.bootstrap_mean(values, seed=3)
    np.testing.assert_array_equal(np.stack(again), np.stack((mean, lo, hi)))
    with pytest.raises(ValueError, match="level"):
        coupling.bootstrap_mean(values, level=1.5)


def test_synchronous_coupling_error_starts_at_zero_and_shrinks_with_n():
    target = teacher(
        "erf",
        torch.tensor([1.0, -1.0], dtype=torch.float64),
        torch.tensor([[1.5, 0.0], [0.0, 1.5]], dtype=torch.float64),
    )
    N_ref, R = 64, 12
    theta0 = init_particles("gaussian", R, N_ref, 2, scale=0.5, rng=3)
    kwargs = dict(eta=0.1, steps=30, lam=0.5, tau=0.05, seed=4, record_steps=[0, 30], progress=False)
    ref = simulate(theta0, "erf", target, **kwargs).particles
    errors = {}
    for N in (4, 16, N_ref):
        run = simulate(theta0[:, :N].clone(), "erf", target, noise_width=N_ref, **kwargs).particles
        errors[N] = coupling.coupling_error(run, ref)
    assert np.all(errors[4][0] == 0) and np.all(errors[N_ref] == 0)
    assert errors[4][1].mean() > 2 * errors[16][1].mean() > 0


def test_coupled_run_is_the_reference_and_its_nested_systems():
    target = teacher("erf", torch.tensor([1.0, -1.0], dtype=torch.float64), torch.eye(2, dtype=torch.float64))
    data = (
        torch.randn(2, 16, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64),
        torch.randn(2, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64),
    )
    run = coupling.coupled_run(
        problem("erf", target),
        R=2,
        N_ref=16,
        sizes=[4, 8],
        init_seed=(0, 2),
        seed=5,
        eta=0.1,
        steps=6,
        record_steps=[0, 3, 6],
        lam=0.5,
        tau=0.05,
        law=StartingLaw(scale=0.5),
        reference_steps=10,
        reference_record_steps=[0, 6, 10],
        datasets={16: data},
        pairs=[(16, 4)],
    )
    theta0 = init_particles("gaussian", 2, 16, 2, scale=0.5, rng=np.random.default_rng(np.random.SeedSequence([0, 2])))
    common = dict(eta=0.1, lam=0.5, tau=0.05, seed=5, progress=False)
    reference = simulate(theta0, "erf", target, steps=10, record_steps=[0, 6, 10], **common)
    torch.testing.assert_close(run.reference.particles, reference.particles, rtol=0, atol=0)
    nested = dict(steps=6, record_steps=[0, 3, 6], noise_width=16, **common)
    for N in (4, 8):
        alone = simulate(theta0[:, :N], "erf", target, **nested).particles
        torch.testing.assert_close(run.population[N], alone, rtol=0, atol=0)
    empirical = simulate(theta0[:, :4], "erf", target, engine="empirical", data=data, **nested).particles
    torch.testing.assert_close(run.empirical[(16, 4)], empirical, rtol=0, atol=0)
    # synchronous coupling: the same start, then apart once the reference feels its other particles
    errors = coupling.coupling_error(run.population[4][[0, 2]], run.reference.particles[:2])  # steps 0 and 6
    assert np.all(errors[0] == 0) and np.all(errors[1] > 0)
    common = dict(
        problem=problem("erf", target), R=2, N_ref=16, init_seed=0, seed=0, eta=0.1, steps=1, record_steps=[1]
    )
    with pytest.raises(ValueError, match="sizes"):
        coupling.coupled_run(sizes=[32], **common)
    with pytest.raises(ValueError, match="pairs"):
        coupling.coupled_run(sizes=[4], pairs=[(16, 4)], **common)


def test_plateau_fit_reads_the_growth_rate_of_the_scaled_error():
    N = np.array([8.0, 16, 32, 64])
    N_ref = 256
    times = np.arange(0.0, 41.0, 5.0)
    rng = np.random.default_rng(4)
    noise = np.exp(0.05 * rng.standard_normal((times.size, 40, N.size)))
    flat = 0.2 * (1 / N - 1 / N_ref) * noise
    fit = coupling.fit_plateau(times, N, flat, N_ref, window=(20, 40))
    assert fit["slope_lo"] <= 0 <= fit["slope_hi"] and fit["slope_hi"] - fit["slope_lo"] < 0.01
    assert fit["constant_lo"] <= 0.2 <= fit["constant_hi"]
    np.testing.assert_array_equal(fit["times"], [20, 25, 30, 35, 40])
    growing = flat * np.exp(0.03 * times)[:, None, None]
    fit = coupling.fit_plateau(times, N, growing, N_ref, window=(20, 40))
    assert fit["slope"] == pytest.approx(0.03, abs=0.003) and fit["slope_lo"] > 0
    # The constant is fit_rate's at each time, averaged over the window.
    per_time = [coupling.fit_rate(N, growing[i], N_ref)["constant"] for i in range(4, times.size)]
    assert fit["constant"] == pytest.approx(np.mean(per_time), rel=1e-12)
    with pytest.raises(ValueError, match="window"):
        coupling.fit_plateau(times, N, flat, N_ref, window=(41, 50))
    with pytest.raises(ValueError, match="errors"):
        coupling.fit_plateau(times[:-1], N, flat, N_ref)


def _erf_target():
    return teacher("erf", [1.0, 1.0], torch.eye(3)[:2].double())


def _erf_problem(activation="erf"):
    from companion.engine.spec import problem

    return problem(activation, _erf_target())


def test_tagged_copies_of_the_population_are_the_population():
    """A nonlinear process started at a population particle with that particle's noise is that particle: the
    tagged drift is the population's own drift (τ > 0 and τ = 0)."""
    from companion.engine.dynamics import simulate_mckean_vlasov

    population = init_particles("gaussian", 1, 24, 3, scale=0.6, rng=3)
    for tau in (0.05, 0.0):
        trajectory, tagged = simulate_mckean_vlasov(
            population,
            population,
            "erf",
            _erf_target(),
            eta=0.1,
            steps=30,
            lam=0.5,
            tau=tau,
            seed=11,
            population_seed=11,
        )
        lone = simulate(population, "erf", _erf_target(), eta=0.1, steps=30, lam=0.5, tau=tau, seed=11)
        torch.testing.assert_close(tagged[:, 0], trajectory.particles, rtol=0, atol=1e-13)
        torch.testing.assert_close(trajectory.particles, lone.particles, rtol=0, atol=1e-13)


def test_nonlinear_processes_of_separate_replicas_are_independent_runs():
    from companion.engine.dynamics import simulate_mckean_vlasov

    population = init_particles("gaussian", 1, 40, 3, scale=0.6, rng=3)
    theta0 = init_particles("gaussian", 3, 6, 3, scale=0.6, rng=4)
    run = dict(eta=0.1, steps=15, lam=0.5, tau=0.05, population_seed=99, noise_width=8)
    _, batch = simulate_mckean_vlasov(theta0, population, "relu", _erf_target(), seed=20, **run)
    _, lone = simulate_mckean_vlasov(theta0[2:], population, "relu", _erf_target(), seed=20, first_replica=2, **run)
    torch.testing.assert_close(batch[:, :, 2:], lone, rtol=0, atol=1e-13)


def test_ornstein_uhlenbeck_coupling_error_has_its_closed_form():
    """V ≡ 0: with the N-system's noise the nonlinear process is the particle itself (error 0, floor 0); with
    independent noise the two OU processes from one start differ by Gaussian sums, per coordinate
    E(X_k − Y_k)² = 4ητ Σ_{j<k} (1 − ηλ)^{2j}."""
    from companion.engine.dynamics import simulate_mckean_vlasov

    eta, lam, tau, steps, d = 0.1, 0.5, 0.05, 20, 3
    from companion.engine.spec import problem

    run = coupling.mckean_vlasov_run(
        problem("erf"),
        engine="none",
        R=4,
        d=d,
        sizes=[4, 8],
        N_big=16,
        init_seed=1,
        seed=5,
        population_init_seed=2,
        population_seed=1000,
        eta=eta,
        steps=steps,
        record_steps=[0, steps],
        lam=lam,
        tau=tau,
        floor_size=8,
    )
    for N, system in run.systems.items():
        assert np.all(coupling.coupling_error(system, run.nonlinear) == 0)
    assert np.all(coupling.population_floor(run) == 0)
    theta0 = init_particles("gaussian", 200, 20, d, rng=6)
    _, other = simulate_mckean_vlasov(
        theta0,
        theta0[:1],
        "erf",
        None,
        engine="none",
        eta=eta,
        steps=steps,
        lam=lam,
        tau=tau,
        seed=10**6,
        population_seed=1,
        record_steps=[steps],
    )
    system = simulate(
        theta0, "erf", None, engine="none", eta=eta, steps=steps, lam=lam, tau=tau, seed=0, record_steps=[steps]
    )
    expected = (d + 1) * 4 * eta * tau * sum((1 - eta * lam) ** (2 * j) for j in range(steps))
    measured = coupling.coupling_error(system.particles[0], other[0, 0]).mean()
    assert measured == pytest.approx(expected, rel=0.05)


def test_mckean_vlasov_error_falls_like_one_over_n_above_a_small_floor():
    from companion.engine.spec import StartingLaw

    run = coupling.mckean_vlasov_run(
        _erf_problem(),
        R=24,
        sizes=[4, 16],
        N_big=512,
        init_seed=1,
        seed=100,
        population_init_seed=7,
        population_seed=10**5,
        eta=0.1,
        steps=30,
        record_steps=[0, 30],
        lam=0.5,
        tau=0.05,
        law=StartingLaw(scale=0.6),
        floor_size=128,
        floor_R=8,
    )
    assert run.nonlinear.shape == (2, 24, 16, 4) and run.floor.shape == (2, 2, 8, 16, 4)
    errors = {N: coupling.coupling_error(system, run.nonlinear) for N, system in run.systems.items()}
    assert np.all(errors[4][0] == 0) and np.all(errors[16][0] == 0)
    ratio = errors[4][1].mean() / errors[16][1].mean()
    assert 2.5 < ratio < 6.5
    assert coupling.population_floor(run)[1].mean() < 0.2 * errors[16][1].mean()
    with pytest.raises(ValueError, match="N_big"):
        coupling.mckean_vlasov_run(
            _erf_problem(),
            R=2,
            sizes=[4, 16],
            N_big=8,
            init_seed=1,
            seed=1,
            population_init_seed=1,
            population_seed=1,
            eta=0.1,
            steps=1,
            record_steps=[1],
        )
    with pytest.raises(ValueError, match="run"):
        coupling.population_floor(dataclasses.replace(run, floor=None, floor_population=None))


def test_mckean_vlasov_function_error_at_time_zero_is_the_iid_line():
    """At t = 0 the N-system and the population are independent i.i.d. clouds: E(f_N − f_P)² = V(1/N + 1/N_big)."""
    from companion.engine.spec import StartingLaw

    run = coupling.mckean_vlasov_run(
        _erf_problem(),
        R=400,
        sizes=[2, 4],
        N_big=64,
        init_seed=1,
        seed=100,
        population_init_seed=7,
        population_seed=10**5,
        eta=0.1,
        steps=0,
        record_steps=[0],
        law=StartingLaw(scale=0.8),
        floor_size=16,
        floor_R=4,
    )
    errors = coupling.mckean_vlasov_errors(run, "erf")
    assert errors["coupling"].shape == (1, 400, 2) and np.all(errors["coupling"] == 0)
    variance = coupling.iid_function_variance(init_particles("gaussian", 8, 500, 3, scale=0.8, rng=2), "erf")
    np.testing.assert_allclose(errors["function"][0].mean(0), variance * (1 / np.array([2, 4]) + 1 / 64), rtol=0.15)
    assert errors["function_floor"].shape == (1,) and errors["coupling_floor"].shape == (1, 4)
