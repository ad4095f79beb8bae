"""Tests for companion.analysis.decomposition: each component on a case with a known answer, and the bound on random cases."""

import numpy as np
import pandas as pd
import pytest
import torch

from companion.analysis import decomposition as dec
from companion.analysis.barron import teacher_network
from companion.analysis.coupling import iid_function_variance
from companion.engine.dynamics import KERNEL_BLOCK, function_distance2, network, simulate
from companion.engine.init import init_particles
from companion.engine.kernels import gaussian_kernel
from companion.engine.spec import StartingLaw, problem
from companion.engine.targets import ridge_target

D = 3


@pytest.fixture(scope="module")
def head():
    return teacher_network("erf", 2, D, weights=torch.tensor([1.0, -1.0]), scale=1.5)


def teacher_particles(target):
    """Two particles (a_i, w_i) = (2 b_i, u_i): the network (1/2) Σ a_i erf(w_i·x) is the teacher exactly."""
    return torch.cat([2 * target.b[:, None], target.U], dim=1)[None]


def test_inner_in_blocks_matches_unblocked():
    theta1 = init_particles("gaussian", 2, KERNEL_BLOCK + 88, D, rng=0)
    theta2 = init_particles("laplace", 2, KERNEL_BLOCK + 1, D, rng=1)

    def unblocked_inner(t1, t2):
        K = gaussian_kernel("erf", t1[..., 1:], t2[..., 1:])
        return (t1[..., :, None, 0] * K * t2[..., None, :, 0]).sum((-1, -2)) / (t1.shape[1] * t2.shape[1])

    expected = (
        unblocked_inner(theta1, theta1) - 2 * unblocked_inner(theta1, theta2) + unblocked_inner(theta2, theta2)
    ).numpy()
    np.testing.assert_allclose(dec.distance2(theta1, theta2, "erf"), expected, rtol=1e-10, atol=1e-14)


def test_residual_matches_monte_carlo(head):
    theta = init_particles("gaussian", 1, 30, D, scale=0.8, rng=2)
    X = torch.randn(2**18, D, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    squares = (network(theta, "erf", X)[0] - head(X)) ** 2
    standard_error = float(squares.std() / np.sqrt(len(X)))
    assert abs(dec.residual(theta, "erf", head)[0] - float(squares.mean())) < 5 * standard_error


def test_time_average_is_the_mean_of_the_snapshot_networks():
    snapshots = init_particles("gaussian", 3, 5, D, rng=4).reshape(3, 1, 5, D + 1).expand(3, 2, 5, D + 1)
    X = torch.randn(50, D, dtype=torch.float64)
    averaged = network(dec.time_average(snapshots), "erf", X)
    expected = torch.stack([network(s, "erf", X) for s in snapshots]).mean(0)
    torch.testing.assert_close(averaged, expected)


def test_residual_is_zero_for_a_realized_target_and_quadratic_in_weight_decay(head):
    theta = teacher_particles(head)
    assert dec.residual(theta, "erf", head)[0] == pytest.approx(0, abs=1e-12)
    biased = {
        lam: dec.residual(simulate(theta, "erf", head, eta=0.05, steps=200, lam=lam).final, "erf", head)[0]
        for lam in (1e-3, 1e-2)
    }
    assert biased[1e-3] < 1e-4
    # linear response: the particles move by O(lambda), so the residual is O(lambda^2)
    assert 50 < biased[1e-2] / biased[1e-3] < 200


def test_statistical_term_vanishes_like_one_over_n(head):
    theta0 = init_particles("gaussian", 4, 8, D, scale=0.5, rng=5)
    common = dict(eta=0.05, steps=20, lam=0.1, tau=0.01, seed=1, noise_width=32)
    population = simulate(theta0, "erf", head, **common).final
    generator = torch.Generator().manual_seed(6)
    sizes = [16, 256, 4096]
    stat = []
    for n in sizes:
        data = dec.replica_datasets(head, 4, n, 0.1, generator)
        empirical = simulate(theta0, "erf", head, engine="empirical", data=data, **common).final
        stat.append(dec.distance2(empirical, population, "erf").mean())
    slope = np.polyfit(np.log(sizes), np.log(stat), 1)[0]
    assert -1.25 < slope < -0.75
    assert stat[-1] < 1e-4


def test_chaos_at_time_zero_is_the_iid_variance_over_effective_size():
    R, N, N_ref = 400, 4, 64
    theta = init_particles("gaussian", R, N_ref, D, scale=0.7, rng=7)
    chaos = dec.distance2(theta[:, :N], theta, "erf")
    V = iid_function_variance(theta, "erf")
    expected = (1 / N - 1 / N_ref) * V
    assert abs(chaos.mean() - expected) < 4 * chaos.std() / np.sqrt(R)


def test_optimization_term_is_zero_at_t_inf_and_at_a_stationary_point(head):
    chain = dec.simulate_chain(
        problem("erf", head),
        R=2,
        N_ref=8,
        init_seed=8,
        law=StartingLaw(scale=0.5),
        N_values=[2],
        datasets={},
        pairs=[],
        eta=0.1,
        times=[0.5, 2.0],
        t_inf=2.0,
        window=1.0,
        lam=0.1,
        tau=0.01,
        snapshots=1,
    )
    assert dec.optimization_table(chain).query("t == 2.0")["optimization"].abs().max() < 1e-12
    # every particle at the one neuron (b, u) of a teacher, with lambda = tau = 0: every member stays at f*
    single = teacher_network("erf", 1, D, weights=0.8, scale=1.5)
    neuron = torch.cat([single.b, single.U[0]])[None]
    still = dec.simulate_chain(
        problem("erf", single),
        R=1,
        N_ref=4,
        init_seed=0,
        law=StartingLaw("atomic", atoms=neuron),
        N_values=[2],
        datasets={},
        pairs=[],
        eta=0.1,
        times=[0.5, 1.0],
        t_inf=2.0,
        window=1.0,
        lam=0.0,
        tau=0.0,
    )
    assert dec.optimization_table(still)["optimization"].abs().max() < 1e-12
    assert dec.residual(still.long_time, "erf", single)[0] < 1e-12


def random_case(seed):
    rng = np.random.default_rng(seed)
    target = teacher_network(
        "erf", int(rng.integers(1, 3)), D, weights=torch.tensor(rng.normal(size=1)), scale=float(rng.uniform(0.5, 2))
    )
    N_ref, N, n = 16, int(rng.integers(1, 8)), int(rng.integers(8, 64))
    cloud = dict(
        law=StartingLaw(str(rng.choice(["gaussian", "laplace", "student_t"])), scale=float(rng.uniform(0.2, 2))),
        R=2,
        N_ref=N_ref,
        init_seed=seed,
    )
    data = dec.replica_datasets(target, 2, n, float(rng.uniform(0, 0.5)), torch.Generator().manual_seed(seed))
    chain = dec.simulate_chain(
        problem("erf", target),
        N_values=[N],
        datasets={n: data},
        pairs=[(n, N)],
        eta=0.1,
        times=[0.1, 0.5, 1.0],
        t_inf=2.0,
        window=1.0,
        lam=float(rng.uniform(0, 0.5)),
        tau=float(rng.uniform(0, 0.05)),
        seed=seed,
        snapshots=3,
        **cloud,
    )
    return chain, target


@pytest.mark.parametrize("seed", range(6))
def test_bound_holds_on_random_cases(seed):
    chain, target = random_case(seed)
    table = dec.decomposition_table(chain)
    assert len(table) == 2 * 3
    assert (table["total"] <= table["triangle"] * (1 + 1e-9) + 1e-12).all()
    assert (table["triangle"] <= table["bound"] + 1e-12).all()
    assert (table[list(dec.COMPONENTS)] >= -1e-12).all().all()


def test_components_are_the_distances_along_the_chain(head):
    chain, target = random_case(11)
    ((n, N),) = chain.empirical
    hat, pop, ref = chain.empirical[(n, N)][-1], chain.population[N][-1], chain.reference[-1]
    values = dec.components(hat, pop, ref, chain.long_time, "erf", target)
    np.testing.assert_allclose(values["statistical"], function_distance2(hat, pop, "erf").numpy(), atol=1e-12)
    np.testing.assert_allclose(values["chaos"], function_distance2(pop, ref, "erf").numpy(), atol=1e-12)
    row = dec.decomposition_table(chain).query(f"t == {chain.times[-1]}").sort_values("replica")
    for name in dec.COMPONENTS + ("total",):
        np.testing.assert_allclose(row[name].values, values[name], atol=1e-12)


def test_even_tail_leaves_an_odd_student_unchanged_and_passes_into_the_residual(head):
    beta = dec.geometric_profile(0.7, range(2, 32, 2), K=32)
    direction = torch.eye(D, dtype=torch.float64)[2]
    target = dec.with_tail(head, direction, beta, K=32)
    truncated_head = dec.with_tail(head, direction, torch.zeros(1), K=32)  # same head profiles, no tail
    theta0 = init_particles("gaussian", 2, 12, D, scale=0.5, rng=9)
    common = dict(eta=0.05, steps=40, lam=0.1, tau=0.01, seed=2)
    plain = simulate(theta0, "erf", truncated_head, **common).final
    tailed = simulate(theta0, "erf", target, **common).final
    torch.testing.assert_close(tailed, plain, rtol=0, atol=1e-12)
    excess = dec.residual(plain, "erf", target) - dec.residual(plain, "erf", truncated_head)
    np.testing.assert_allclose(excess, float((beta**2).sum()), rtol=1e-6)


def test_with_tail_adds_an_orthogonal_tail(head):
    beta = dec.geometric_profile(0.6, range(3, 40, 2), K=64)
    target = dec.with_tail(head, torch.eye(D, dtype=torch.float64)[2], beta)
    assert float(target.norm2() - head.norm2()) == pytest.approx(float((beta**2).sum()), rel=1e-6)
    assert dec.hermite_tail(head, 63) < 1e-7
    assert dec.hermite_tail(target, 1) - dec.hermite_tail(head, 1) == pytest.approx(float((beta**2).sum()), rel=1e-6)


def test_degree_errors_sum_to_the_residual_and_are_exact_for_a_polynomial_student():
    target = ridge_target(
        torch.ones(1, dtype=torch.float64),
        torch.eye(D, dtype=torch.float64)[:1],
        dec.geometric_profile(0.6, range(1, 12, 2), K=12),
    )
    theta = init_particles("gaussian", 2, 20, D, scale=0.7, rng=10)
    for activation in ("erf", "he3"):
        split = dec.degree_errors(theta, activation, target, 6)
        np.testing.assert_allclose(split.sum(-1), dec.residual(theta, activation, target), rtol=1e-10)
        assert (split[:, :-1] > -1e-12).all()
    # a degree-3 polynomial network has no Hermite component above 3: the rest is the target's own tail
    split = dec.degree_errors(theta, "he3", target, 6)
    np.testing.assert_allclose(split[:, -1], dec.hermite_tail(target, 5), rtol=1e-8)


def test_window_steps():
    np.testing.assert_array_equal(dec.window_steps(2.0, 1.0, 0.1, 3), [10, 15, 20])
    np.testing.assert_array_equal(dec.window_steps(2.0, 1.0, 0.1, 1), [20])


def test_bad_input_names_the_parameter(head):
    common = dict(
        R=2, N_ref=8, init_seed=0, datasets={}, pairs=[], eta=0.1, times=[0.5], t_inf=1.0, window=0.5, lam=0.1, tau=0.0
    )
    with pytest.raises(ValueError, match="times"):
        dec.simulate_chain(problem("erf", head), N_values=[2], **{**common, "times": [0.55]})
    with pytest.raises(ValueError, match="N_values"):
        dec.simulate_chain(problem("erf", head), N_values=[8], **common)
    with pytest.raises(ValueError, match="pairs"):
        dec.simulate_chain(problem("erf", head), N_values=[2], **{**common, "pairs": [(16, 2)]})
    with pytest.raises(ValueError, match="window"):
        dec.window_steps(1.0, 2.0, 0.1, 3)
    with pytest.raises(ValueError, match="direction"):
        dec.with_tail(head, torch.ones(D, dtype=torch.float64), torch.ones(4))
    with pytest.raises(ValueError, match="rate"):
        dec.geometric_profile(1.5, [3])
    with pytest.raises(ValueError, match="K"):
        dec.degree_errors(init_particles("gaussian", 2, 8, D, rng=0), "erf", head, 0)


def test_rate_prediction_takes_the_rate_from_the_component_and_the_amplitude_from_the_excess():
    n = np.array([64.0, 256, 1024, 4096])
    component = 0.2 * n**-0.9
    # the excess carries a cross term of the same order: amplitude 0.5 instead of the component's 0.2
    fit = dec.rate_prediction(n, component, 0.5 * n**-0.9, [16384.0, 100.0])
    assert fit["rate"] == pytest.approx(-0.9) and fit["amplitude"] == pytest.approx(0.5)
    np.testing.assert_allclose(fit["prediction"], 0.5 * np.array([16384.0, 100.0]) ** -0.9, rtol=1e-9)
    np.testing.assert_allclose(fit["component_only"], 0.2 * np.array([16384.0, 100.0]) ** -0.9, rtol=1e-9)
    with pytest.raises(ValueError, match="excess"):
        dec.rate_prediction(n, component, component[:2], [1.0])


def test_slope_calibration_covers_a_planted_slope_at_about_the_nominal_rate():
    from companion.analysis.decomposition import REPLICA_SERIES, replica_rows, slope_calibration

    rng = np.random.default_rng(0)
    n, N_eff = np.array([64, 256, 1024, 4096]), np.array([4.0, 8.0, 16.0, 32.0])
    rows = []
    for seed in range(10):
        for component, knob in (("statistical", n), ("chaos", N_eff)):
            values = (1 / knob) * rng.lognormal(0, 0.3, size=(24, 1)) * rng.lognormal(0, 0.1, size=(24, knob.size))
            rows += [dict(row, seed=seed) for row in replica_rows(component, knob, values)]
    table = slope_calibration(pd.DataFrame(rows), n_boot=300).set_index("statistic")
    assert list(table.index) == [f"{c} slope" for c in REPLICA_SERIES]
    assert (table["K"] == 10).all() and (table["R"] == 24).all()
    np.testing.assert_allclose(table["pooled"], -1.0, atol=0.03)
    assert (table["coverage"] >= 0.6).all()
    assert table["spread_ratio"].between(0.4, 2.5).all()
    with pytest.raises(ValueError, match="^frame:"):
        slope_calibration(pd.DataFrame(rows[:-4]), n_boot=50)


def test_chain_views_floor_and_members():
    chain, target = random_case(3)
    ((n, N),) = chain.empirical
    sub = dec.at_times(chain, [0.5])
    assert sub.times.tolist() == [0.5] and sub.empirical[(n, N)].shape[0] == 1
    torch.testing.assert_close(sub.reference[0], chain.reference[1])
    with pytest.raises(ValueError, match="^times:"):
        dec.at_times(chain, [0.7])
    snaps = dec.late_snapshots(chain)
    assert snaps.shape == (3,) + tuple(chain.reference.shape[1:])
    torch.testing.assert_close(dec.time_average(snaps), chain.long_time)
    floor = dec.stationary_floor(chain)
    direct = np.mean([dec.distance2(snap, chain.long_time, "erf") for snap in snaps], axis=0)
    np.testing.assert_allclose(floor, direct, rtol=1e-9, atol=1e-14)
    pop = dec.population_table(chain)
    np.testing.assert_allclose(pop.query("t == 1.0")["error"], dec.residual(chain.population[N][-1], "erf", target))
    line = np.linspace(-2, 2, 5)
    members = dec.members_along_line(chain, (n, N), 1.0, line, replica=1)
    X = torch.zeros(5, D, dtype=torch.float64)
    X[:, 0] = torch.as_tensor(line)
    reference = members.query("member == 'reference'")["value"].values
    np.testing.assert_allclose(reference, network(chain.reference[-1][1:2], "erf", X)[0].numpy(), atol=1e-12)
    assert set(members["member"]) == set(dec.MEMBERS)


def test_nested_datasets_share_their_first_samples(head):
    sets = dec.nested_datasets(head, 2, [4, 16], 0.1, torch.Generator().manual_seed(0))
    assert sets[4][0].shape == (2, 4, D) and sets[16][1].shape == (2, 16)
    torch.testing.assert_close(sets[16][0][:, :4], sets[4][0])


def test_monte_carlo_check_agrees_with_the_exact_residual(head):
    theta = init_particles("gaussian", 2, 8, D, rng=0)
    inputs = torch.randn(2**15, D, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    table = dec.monte_carlo_check(theta, "erf", head, inputs)
    assert (np.abs(table["exact"] - table["monte_carlo"]) < 5 * table["standard_error"]).all()
