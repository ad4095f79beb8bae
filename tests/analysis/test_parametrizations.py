import math
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
import torch

from companion.analysis.parametrizations import (
    PARAMETRIZATIONS,
    QUANTITIES,
    TwoLayerNetwork,
    coordinate_check,
    engine_step,
    held_out_windows,
    initial_network,
    mup_sgd_step,
    offset_power_exponent,
    relative_step_error,
    scaling,
    width_slope_intervals,
    width_slopes,
)
from companion.engine.dynamics import network
from companion.engine.init import init_particles
from companion.engine.targets import sample_data, teacher

D = 4


@pytest.fixture
def data():
    U = torch.tensor([[1.0, 0.5, 0.0, 0.3], [0.0, -0.7, 1.0, 0.2]], dtype=torch.float64)
    target = teacher("erf", torch.tensor([1.0, -0.6], dtype=torch.float64), U)
    return sample_data(target, 64, noise_std=0.1, generator=torch.Generator().manual_seed(3))


def test_parametrizations_coincide_at_base_width():
    reference = asdict(scaling("mup", 64, D, 0.3, base_width=64))
    for parametrization in PARAMETRIZATIONS:
        for key, value in asdict(scaling(parametrization, 64, D, 0.3, base_width=64)).items():
            assert value == pytest.approx(reference[key])


@pytest.mark.parametrize(
    "parametrization, exponents",
    [
        ("mup", {"multiplier": -1.0, "a_std": 0.0, "lr_a": 1.0, "lr_w": 1.0}),
        ("ntk", {"multiplier": -0.5, "a_std": 0.0, "lr_a": 0.0, "lr_w": 0.0}),
        ("sp", {"multiplier": 0.0, "a_std": -0.5, "lr_a": 0.0, "lr_w": 0.0}),
    ],
)
def test_scalings_have_their_width_exponents(parametrization, exponents):
    narrow, wide = asdict(scaling(parametrization, 64, D, 1.0)), asdict(scaling(parametrization, 64 * 256, D, 1.0))
    for key, exponent in exponents.items():
        assert math.log(wide[key] / narrow[key]) / math.log(256) == pytest.approx(exponent)
    assert wide["w_std"] == narrow["w_std"] == pytest.approx(1 / math.sqrt(D))


@pytest.mark.parametrize(
    "kwargs, parameter",
    [
        ({"parametrization": "mf"}, "parametrization"),
        ({"N": 0}, "N"),
        ({"N": 2.5}, "N"),
        ({"d": -1}, "d"),
        ({"eta": 0.0}, "eta"),
        ({"eta": float("nan")}, "eta"),
        ({"base_width": 0}, "base_width"),
    ],
)
def test_scaling_rejects_bad_input(kwargs, parameter):
    arguments = {"parametrization": "mup", "N": 8, "d": D, "eta": 0.1, **kwargs}
    with pytest.raises(ValueError, match=parameter):
        scaling(**arguments)


def test_mup_network_is_the_engines_mean_field_network(data):
    X, _ = data
    theta = init_particles("gaussian", 1, 32, D, rng=0)[0]
    net = TwoLayerNetwork(theta[:, 0], theta[:, 1:], "erf", 1 / 32)
    torch.testing.assert_close(net(X).detach(), network(theta[None], "erf", X)[0])
    torch.testing.assert_close(net.particles(), theta)


def test_network_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="W"):
        TwoLayerNetwork(torch.zeros(5), torch.zeros(4, D), "erf", 1.0)


def test_initial_networks_agree_at_base_width_and_optimizer_rates_follow_scaling():
    nets = {p: initial_network(p, 64, D, "relu", 0.2, rng=5) for p in PARAMETRIZATIONS}
    for net, optimizer in nets.values():
        torch.testing.assert_close(net.particles(), nets["mup"][0].particles())
        assert [group["lr"] for group in optimizer.param_groups] == pytest.approx([0.2 * 64, 0.2 * 64])
    net, optimizer = initial_network("sp", 1024, D, "relu", 0.2, rng=5)
    assert net.multiplier == pytest.approx(1 / 64)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.2 * 64)


@pytest.mark.parametrize("activation", ["erf", "relu", "tanh"])
@pytest.mark.parametrize("lam", [0.0, 0.3])
def test_autograd_mup_step_equals_engine_step(activation, lam, data):
    X, y = data
    theta = init_particles("gaussian", 1, 48, D, scale=0.6, rng=1)[0]
    by_autograd = mup_sgd_step(theta, activation, X, y, 0.1, lam)
    by_engine = engine_step(theta, activation, X, y, 0.1, lam)
    assert relative_step_error(theta, by_autograd, by_engine) < 1e-10
    assert torch.linalg.norm(by_engine - theta) > 1e-3  # a real step, not a no-op


def test_mup_step_rejects_bad_input(data):
    X, y = data
    theta = init_particles("gaussian", 1, 8, D, rng=1)[0]
    with pytest.raises(ValueError, match="theta"):
        mup_sgd_step(theta[None], "erf", X, y, 0.1)
    with pytest.raises(ValueError, match="eta"):
        mup_sgd_step(theta, "erf", X, y, -0.1)
    with pytest.raises(ValueError, match="lam"):
        mup_sgd_step(theta, "erf", X, y, 0.1, lam=-1.0)


def test_relative_step_error_is_relative_to_the_update():
    theta0 = torch.zeros(3, 2)
    theta2 = torch.ones(3, 2)
    assert relative_step_error(theta0, theta2 * 1.1, theta2) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="theta2"):
        relative_step_error(theta0, theta2, theta0)


def test_coordinate_check_records_every_quantity_and_step(data):
    X, y = data
    check = coordinate_check("ntk", [16, 32], [0, 1], X, y, "erf", 0.5, steps=2)
    assert list(check.columns) == ["parametrization", "width", "seed", "t", "quantity", "value"]
    assert len(check) == 2 * 2 * 3 * len(QUANTITIES)
    assert np.isfinite(check["value"]).all()
    at_start = check[check["t"] == 0].set_index("quantity")["value"]
    assert (at_start[["feature_update", "output_update"]] == 0).all()
    assert (check[check["t"] > 0].groupby("quantity")["value"].min() > 0).all()


def test_coordinate_check_separates_mup_from_ntk(data):
    """Feature updates: μP keeps them Θ(1) in width, NTK shrinks them like N^(-1/2) (factor 8 over 64 → 4096)."""
    X, y = data
    ratios = {}
    for parametrization in ("mup", "ntk"):
        check = coordinate_check(parametrization, [64, 4096], [0, 1], X, y, "erf", 0.5, steps=1)
        update = check[(check["quantity"] == "feature_update") & (check["t"] == 1)].groupby("width")["value"].mean()
        ratios[parametrization] = update[64] / update[4096]
    assert 0.8 < ratios["mup"] < 1.25
    assert 5 < ratios["ntk"] < 12


def test_coordinate_check_rejects_bad_input(data):
    X, y = data
    with pytest.raises(ValueError, match="steps"):
        coordinate_check("mup", [16], [0], X, y, "erf", 0.5, steps=0)
    with pytest.raises(ValueError, match="widths"):
        coordinate_check("mup", [], [0], X, y, "erf", 0.5)
    with pytest.raises(ValueError, match="X"):
        coordinate_check("mup", [16], [0], X, y[:-1], "erf", 0.5)
    with pytest.raises(ValueError, match="parametrization"):
        coordinate_check("lazy", [16], [0], X, y, "erf", 0.5)


def test_width_slopes_fit_seed_means_and_skip_updates_at_start():
    rows = []
    for width in (64, 256, 1024):
        for seed, noise in ((0, 0.9), (1, 1.1)):
            rows += [
                ("mup", width, seed, 0, "output", noise * width**-0.5),
                ("mup", width, seed, 0, "output_update", 0.0),
                ("mup", width, seed, 1, "output_update", noise * 0.3),
            ]
    slopes = width_slopes(pd.DataFrame(rows, columns=["parametrization", "width", "seed", "t", "quantity", "value"]))
    assert len(slopes) == 2
    by_quantity = slopes.set_index("quantity")["slope"]
    assert by_quantity["output"] == pytest.approx(-0.5)
    assert by_quantity["output_update"] == pytest.approx(0.0, abs=1e-12)


def test_offset_power_exponent_recovers_p_where_the_local_slope_has_not_reached_it():
    widths = np.array([64, 128, 256, 512, 1024, 2048])
    exact = 0.7 + 0.01 * (widths / 64.0) ** 1.0
    noise = np.array([[1.0], [1.01], [0.99]])  # three seeds, a common relative factor each
    p, lo, hi = offset_power_exponent(widths, noise * exact, n_boot=50)
    assert p == pytest.approx(1.0, abs=1e-6)
    assert lo <= p <= hi
    local = math.log(exact[-1] / exact[-2]) / math.log(2)
    assert local < 0.8  # a two-point slope would miss p = 1 by far


def test_offset_power_exponent_rejects_bad_input():
    with pytest.raises(ValueError, match="values"):
        offset_power_exponent([1, 2, 3], np.ones((2, 3)))
    with pytest.raises(ValueError, match="positive"):
        offset_power_exponent([1, 2, 3, 4], -np.ones((2, 4)))


def test_width_slope_intervals_fit_the_wide_half_and_measure_curvature():
    rows = []
    widths = np.array([64, 256, 1024, 4096.0])
    for width in widths:
        for seed, noise in ((0, 0.9), (1, 1.1), (2, 1.0)):
            rows += [
                ("ntk", width, seed, 1, "feature_update", noise * width**-0.5),
                ("ntk", width, seed, 1, "output_update", noise * (1 + 8 * width**-0.5)),
                ("ntk", width, seed, 0, "output_update", 0.0),
            ]
    check = pd.DataFrame(rows, columns=["parametrization", "width", "seed", "t", "quantity", "value"])
    table = width_slope_intervals(check, n_boot=50).set_index("quantity")
    assert len(table) == 2  # the update at t = 0 is skipped
    power = table.loc["feature_update"]
    assert power["slope"] == pytest.approx(-0.5) and power["curvature"] == pytest.approx(0.0, abs=1e-12)
    assert power["lo"] <= power["slope"] <= power["hi"]
    mean = 1 + 8 * widths**-0.5
    narrow = math.log(mean[1] / mean[0]) / math.log(4)
    wide = math.log(mean[3] / mean[2]) / math.log(4)
    corrected = table.loc["output_update"]
    assert corrected["slope"] == pytest.approx(wide) and corrected["narrow_slope"] == pytest.approx(narrow)
    assert corrected["curvature"] == pytest.approx(abs(wide - narrow))
    assert abs(corrected["slope"]) <= corrected["curvature"]  # the limit 0 lies within one curvature of the slope
    with pytest.raises(ValueError, match="3 widths"):
        width_slope_intervals(check[check.width <= 256])


def test_held_out_windows_add_interval_width_and_curvature():
    intervals = pd.DataFrame(
        dict(
            parametrization=["mup", "ntk"],
            quantity=["output_update", "feature_update"],
            t=[1, 2],
            slope=[0.01, -0.5],
            lo=[-0.02, -0.55],
            hi=[0.03, -0.45],
            narrow_slope=[0.0, -0.4],
            curvature=[0.01, 0.1],
        )
    )
    windows = held_out_windows(intervals)
    assert list(windows.columns) == ["parametrization", "quantity", "t", "half"]
    np.testing.assert_allclose(windows["half"], [0.06, 0.2])
    with pytest.raises(ValueError, match="held_out_intervals"):
        held_out_windows(intervals.drop(columns="curvature"))
