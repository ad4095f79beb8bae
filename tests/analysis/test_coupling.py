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
    variance = coupling.iid_function_variance(init_particles("gaussian", 4, 2000, 3, scale=0.8, rng=2), "erf")
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
    target = teacher("erf", torch.tensor([1.0, -1.0], dtype=torch.float64),
                     torch.tensor([[1.5, 0.0], [0.0, 1.5]], dtype=torch.float64))
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
    data = (torch.randn(2, 16, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64),
            torch.randn(2, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64))
    run = coupling.coupled_run(problem("erf", target), R=2, N_ref=16, sizes=[4, 8], init_seed=(0, 2),
                               seed=5, eta=0.1, steps=6, record_steps=[0, 3, 6], lam=0.5, tau=0.05,
                               law=StartingLaw(scale=0.5),
                               reference_steps=10, reference_record_steps=[0, 6, 10], datasets={16: data},
                               pairs=[(16, 4)])
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
    common = dict(problem=problem("erf", target), R=2, N_ref=16, init_seed=0, seed=0, eta=0.1, steps=1,
                  record_steps=[1])
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
