import math

import numpy as np
import pytest
from scipy.special import gammaln

from companion.analysis import moments
from companion.engine.dynamics import simulate
from companion.engine.init import init_particles

D4 = moments.init_scales(4, 0.5, 0.5)


def test_init_scales_follow_init_particles():
    np.testing.assert_array_equal(moments.init_scales(3, 0.5, 2.0), [2.0, 0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="d"):
        moments.init_scales(0)


@pytest.mark.parametrize("variant", ["subgaussian", "subexponential"])
def test_isotropic_gaussian_chi_moments_match_multinomial_expansion(variant):
    p = moments.VARIANTS[variant]
    chi, _ = moments.log_moment_bounds("gaussian", variant, 12, D4)
    k = np.arange(12)
    s, D = 0.5, 5
    expected = p * k * math.log(s) + 0.5 * p * k * math.log(2) + gammaln((D + p * k) / 2) - gammaln(D / 2)
    np.testing.assert_allclose(chi, expected, rtol=1e-12)
    if p == 2:
        multinomial = moments._log_even_moments_iid("gaussian", 12, np.full(D, s), 3.0)
        np.testing.assert_allclose(multinomial, chi, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "family,scale,a_scale", [("laplace", 0.5, 0.5), ("gaussian", 0.5, 1.3), ("student_t", 0.5, 0.5), ("ball", 0.7, 0.7)]
)
def test_exact_moments_match_monte_carlo(family, scale, a_scale):
    theta = init_particles(family, 1, 400_000, 4, scale=scale, a_scale=a_scale, rng=1, df=11.0)
    scales = moments.init_scales(4, scale, a_scale)
    for variant in moments.VARIANTS:
        lower, upper = moments.log_moment_bounds(family, variant, 4, scales, df=11.0)
        sample = moments.empirical_log_moments(theta, variant, 4)
        assert np.all(lower <= sample + 0.03) and np.all(sample <= upper + 0.03)
        if np.array_equal(lower, upper):
            np.testing.assert_allclose(sample, lower, atol=0.03)


def test_student_t_moments_are_infinite_from_df():
    lower, upper = moments.log_moment_bounds("student_t", "subgaussian", 6, D4, df=5.0)
    assert np.all(np.isfinite(lower[:3])) and np.all(np.isposinf(lower[3:]))
    lower, upper = moments.log_moment_bounds("student_t", "subexponential", 8, D4, df=5.0)
    assert np.all(np.isfinite(upper[:5])) and np.all(np.isposinf(lower[5:]))


def test_root_test_reaches_the_closed_forms():
    K = 2000
    gauss = moments.root_test(moments.log_moment_bounds("gaussian", "subgaussian", K, D4)[0])
    assert gauss[-1] == pytest.approx(moments.w_star_closed_form("gaussian", "subgaussian", D4), rel=0.01)
    assert np.all(np.diff(gauss[10:]) > 0)
    lower, upper = moments.log_moment_bounds("laplace", "subexponential", K, D4)
    assert moments.root_test(lower)[-1] == pytest.approx(2.0, rel=0.01)
    assert moments.root_test(upper)[-1] == pytest.approx(2.0, rel=0.01)
    ball = moments.root_test(moments.log_moment_bounds("ball", "subgaussian", K, D4)[0])
    assert ball[-1] > 100 * ball[0] and math.isinf(moments.w_star_closed_form("ball", "subgaussian", D4))
    laplace = moments.root_test(moments.log_moment_bounds("laplace", "subgaussian", 200, D4)[0])
    assert laplace[-1] < 0.05 * laplace[0] and moments.w_star_closed_form("laplace", "subgaussian", D4) == 0


def test_closed_forms_use_the_largest_scale():
    scales = moments.init_scales(3, 0.5, 2.0)
    assert moments.w_star_closed_form("gaussian", "subgaussian", scales) == pytest.approx(1 / 8)
    assert moments.w_star_closed_form("laplace", "subexponential", scales) == pytest.approx(0.5)
    assert math.isinf(moments.w_star_closed_form("gaussian", "subexponential", scales))
    assert moments.w_star_closed_form("student_t", "subexponential", scales, df=30) == 0


def test_estimator_recovers_the_gaussian_value():
    gauss = init_particles("gaussian", 1, 100_000, 4, scale=0.5, a_scale=0.5, rng=3)
    estimate = moments.estimate_w_star(gauss, "subgaussian")
    assert estimate.w_star == pytest.approx(2.0, rel=0.1)
    assert estimate.k_max >= 4


def test_estimator_orders_light_and_heavy_tails():
    kwargs = dict(scale=0.5, a_scale=0.5, rng=5, df=5.0)
    w = {
        fam: moments.estimate_w_star(init_particles(fam, 1, 20_000, 4, **kwargs), "subgaussian").w_star
        for fam in ("ball", "gaussian", "laplace", "student_t")
    }
    assert w["ball"] > 10 * w["gaussian"]
    assert w["laplace"] < 0.5 * w["gaussian"] and w["student_t"] < 0.5 * w["gaussian"]


def test_estimator_is_deterministic_and_validates():
    theta = init_particles("gaussian", 2, 500, 2, rng=0)
    assert moments.estimate_w_star(theta) == moments.estimate_w_star(theta.clone())
    with pytest.raises(ValueError, match="variant"):
        moments.estimate_w_star(theta, "gaussian")
    with pytest.raises(ValueError, match="rel_se"):
        moments.estimate_w_star(theta, rel_se=0)
    with pytest.raises(ValueError, match="theta"):
        moments.estimate_w_star(theta[:, :3])
    with pytest.raises(ValueError, match="family"):
        moments.log_moment_bounds("cauchy", "subgaussian", 4, D4)
    with pytest.raises(ValueError, match="df"):
        moments.log_moment_bounds("student_t", "subgaussian", 4, D4, df=-1)
    with pytest.raises(ValueError, match="scales"):
        moments.log_moment_bounds("gaussian", "subgaussian", 4, [1.0, -1.0])


def test_phi_w_plain_average_matches_gaussian_closed_form_inside_the_class():
    variances = np.array([1.3**2, 0.25, 0.25, 0.25, 0.25])
    theta = init_particles("gaussian", 1, 200_000, 4, scale=0.5, a_scale=1.3, rng=2)
    w = 0.2 / (2 * variances.max())
    exact = moments.phi_w_gaussian(w, variances)
    assert np.exp(moments.log_phi_w(theta, w))[0] == pytest.approx(exact, rel=0.01)
    one_d = moments.phi_w_gaussian(0.1, [2.0])
    assert one_d == pytest.approx((1 - 0.4) ** -0.5)
    assert np.isinf(moments.phi_w_gaussian(1 / (2 * variances.max()), variances))


def test_phi_w_outside_the_class_grows_with_n():
    w = 2.0 * moments.w_star_closed_form("gaussian", "subgaussian", D4)
    theta = init_particles("gaussian", 1, 2**16, 4, scale=0.5, a_scale=0.5, rng=7)
    values = [moments.log_phi_w(theta[:, :n], w)[0] for n in (2**8, 2**12, 2**16)]
    assert values[0] < values[1] < values[2]


def test_ou_variance_matches_recursion_and_gibbs_limit():
    eta, lam, tau = 0.1, 0.5, 0.05
    var = moments.ou_variance([1.0, 0.25], eta, lam, tau, np.arange(6))
    v = np.array([1.0, 0.25])
    for k in range(6):
        np.testing.assert_allclose(var[k], v, rtol=1e-13)
        v = (1 - eta * lam) ** 2 * v + 2 * eta * tau
    gibbs = moments.ou_w_star([1.0], eta, lam, tau, [10**5])[0]
    assert gibbs == pytest.approx(lam * (1 - eta * lam / 2) / (2 * tau), rel=1e-12)
    np.testing.assert_allclose(moments.ou_variance([1.0], eta, 0.0, tau, [3]), [[1 + 6 * eta * tau]])
    with pytest.raises(ValueError, match="steps"):
        moments.ou_variance([1.0], eta, lam, tau, [1.5])


def test_ou_variance_matches_the_data_free_engine():
    theta0 = init_particles("gaussian", 4, 20_000, 2, scale=0.8, a_scale=0.8, rng=6)
    eta, lam, tau = 0.1, 0.5, 0.05
    run = simulate(
        theta0,
        "erf",
        None,
        eta=eta,
        steps=40,
        lam=lam,
        tau=tau,
        engine="none",
        record_steps=[0, 10, 40],
        seed=3,
        progress=False,
    )
    exact = moments.ou_variance(np.full(3, 0.64), eta, lam, tau, run.steps)
    measured = run.particles.pow(2).mean((1, 2)).numpy()
    np.testing.assert_allclose(measured, exact, rtol=0.02)
    estimate = moments.estimate_w_star(run.particles[-1], "subgaussian").w_star
    assert estimate == pytest.approx(moments.ou_w_star(np.full(3, 0.64), eta, lam, tau, [40])[0], rel=0.15)


def test_moment_families_are_the_engines_initial_laws():
    """One definition: every family of init_particles but the atomic one, which has no law to take moments of."""
    from companion.engine import init

    assert moments.FAMILIES == tuple(family for family in init.FAMILIES if family != "atomic")
    for family in moments.FAMILIES:
        init.init_particles(family, 1, 2, 1, rng=0)
        assert moments.w_star_closed_form(family, "subgaussian", [1.0, 1.0]) >= 0
    with pytest.raises(ValueError, match="family"):
        moments.w_star_closed_form("atomic", "subgaussian", [1.0, 1.0])


def test_estimator_limit_is_exact_for_the_isotropic_gaussian_and_what_samples_tend_to():
    log_m, _ = moments.log_moment_bounds("gaussian", "subgaussian", 12, D4)
    for k_max in (2, 5, 10):
        assert moments.estimator_limit(log_m, k_max) == pytest.approx(2.0, rel=1e-10)
    # Laplace coordinates, |θ|²: the estimator's model error (w* = 0) that large samples reproduce at their k_max.
    cloud = init_particles("laplace", 1, 400_000, 4, scale=0.5, a_scale=0.5, rng=3)
    est = moments.estimate_w_star(cloud, k_cap=3)
    exact, _ = moments.log_moment_bounds("laplace", "subgaussian", 8, D4)
    limit = moments.estimator_limit(exact, est.k_max)
    assert 0.2 < limit < 0.5 and est.w_star == pytest.approx(limit, rel=0.03)


def test_estimator_limit_infinite_moments_and_validation():
    log_m, _ = moments.log_moment_bounds("student_t", "subgaussian", 6, D4, df=5.0)
    assert moments.estimator_limit(log_m, 2) > 0 and moments.estimator_limit(log_m, 3) == 0.0
    with pytest.raises(ValueError, match="k_max"):
        moments.estimator_limit(log_m, 1)
    with pytest.raises(ValueError, match="log_m"):
        moments.estimator_limit(log_m[:3], 3)
    with pytest.raises(ValueError, match="log_m"):
        moments.estimator_limit([0.0, np.nan, 1.0], 2)


def test_block_log_phi_w_gaussian_flat_inside_the_class_and_steep_outside():
    v = np.array([1.0, 0.25, 0.25])
    ns = np.unique(np.geomspace(4, 512, 6).astype(int))

    def slopes(w, draws, seed):
        return np.polyfit(np.log(ns), moments.block_log_phi_w_gaussian(v, w, ns, 4096, draws, rng=seed).T, 1)[0]

    inside = moments.block_log_phi_w_gaussian(v, 0.1, ns, 4096, 100, rng=0)
    exact = math.log(moments.phi_w_gaussian(0.1, v))
    assert inside.shape == (100, 6) and abs(np.median(inside[:, -1]) - exact) < 0.01
    assert abs(np.median(slopes(0.1, 100, 0))) < 0.01
    assert 1.5 < np.median(slopes(2.0, 200, 1)) < 3.5  # w* = 1/2: n^(w/w* - 1) = n^3
    np.testing.assert_array_equal(slopes(2.0, 5, 2), slopes(2.0, 5, 2))
    with pytest.raises(ValueError, match="ns"):
        moments.block_log_phi_w_gaussian(v, 2.0, [8, 8], 4096, 5, rng=0)
    with pytest.raises(ValueError, match="ns"):
        moments.block_log_phi_w_gaussian(v, 2.0, [8, 8192], 4096, 5, rng=0)
    with pytest.raises(ValueError, match="variances"):
        moments.block_log_phi_w_gaussian([1.0, -1.0], 2.0, ns, 4096, 5, rng=0)


def test_block_log_phi_w_averages_the_log_estimate_over_disjoint_blocks():
    theta = init_particles("gaussian", 2, 48, 2, scale=0.5, a_scale=1.0, rng=4)
    z = (theta.reshape(-1, 3) ** 2).sum(-1).numpy()
    blocks = z.reshape(8, 12)
    expected = np.mean(np.log(np.exp(0.3 * blocks).mean(-1)))
    got = moments.block_log_phi_w(theta, 0.3, [1, 12])
    np.testing.assert_allclose(got, [0.3 * z.mean(), expected], rtol=1e-12)


def test_estimate_w_star_gaussian_is_centred_on_the_population_value():
    v = np.array([1.0, 0.25, 0.25, 0.25, 0.25])
    draws = moments.estimate_w_star_gaussian(v, 5000, 40, rng=0)
    exact, _ = moments.log_moment_bounds("gaussian", "subgaussian", 12, np.sqrt(v))
    k_max = moments.estimate_w_star(np.random.default_rng(1).standard_normal((5000, 5)) * np.sqrt(v)).k_max
    assert draws.shape == (40,)
    assert abs(draws.mean() / moments.estimator_limit(exact, k_max) - 1) < 0.05
    assert draws.mean() > 1 / (2 * v.max()) * 1.2  # the anisotropy bias, well above w* = 1/2
    with pytest.raises(ValueError, match="variances"):
        moments.estimate_w_star_gaussian([0.0, 1.0], 100, 2, rng=0)


def test_grouped_w_star_pools_the_replicas_and_ranges_over_the_groups():
    clouds = np.stack(
        [
            init_particles("gaussian", 4, 500, 3, scale=s, a_scale=s, rng=np.random.default_rng(7)).numpy()
            for s in (0.5, 1.0)
        ]
    )  # (T=2, R=4, n=500, D=4)
    rows = moments.grouped_w_star(clouds, groups=2)
    assert rows.shape == (2, 3)
    for cloud, (pooled, low, high) in zip(clouds, rows):
        groups = [moments.estimate_w_star(cloud[:2]).w_star, moments.estimate_w_star(cloud[2:]).w_star]
        assert pooled == moments.estimate_w_star(cloud).w_star
        assert low == min(groups + [pooled]) and high == max(groups + [pooled])
    assert np.array_equal(moments.grouped_w_star(clouds, groups=1)[:, 1], rows[:, 0])
    with pytest.raises(ValueError, match="groups"):
        moments.grouped_w_star(clouds, groups=5)
