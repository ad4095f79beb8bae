"""Exact L² distances, the Hermite moment map and its Jacobian rank, fibre searches and Pearson's moment problem."""

import math

import pytest
import torch

from companion.analysis.identifiability import (
    OrbitDepth,
    catalecticant,
    fibre_search,
    form_on_hemisphere,
    gaussian_mixture_moments,
    l2_distance2,
    levenberg_marquardt,
    moment_jacobian,
    moment_map,
    moment_map_and_jacobian,
    moment_tensors,
    monte_carlo_distance2,
    multi_indices,
    numerical_rank,
    orbit_depth,
    pack,
    pearson_fibre,
    random_atoms,
    raw_moment,
    realization_norm2,
    symmetric_power,
    unpack,
    variety_depth,
)
from companion.analysis.symmetry import atoms_from_particles, particles_from_atoms
from companion.engine.activations import get_activation
from companion.engine.dynamics import function_distance2
from companion.engine.kernels import gaussian_kernel

F64 = torch.float64


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The fibre searches are many tiny tensor ops: one thread is several times faster than a contended pool."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("act,D", [("he3", 3), ("quadratic", 2), ("he4", 4)])
def test_l2_distance_is_the_sum_of_moment_gaps_for_polynomials(act, D):
    g = gen(1)
    a1, W1 = random_atoms(3, 3, g)
    a2, W2 = random_atoms(4, 3, g)
    gap = moment_map(act, a1, W1, D) - moment_map(act, a2, W2, D)
    assert float(l2_distance2(act, a1, W1, a2, W2)) == pytest.approx(float(gap @ gap), rel=1e-12)


def test_l2_distance_matches_the_moment_series_and_monte_carlo_for_erf():
    g = gen(2)
    a1, W1 = random_atoms(2, 3, g)
    a2, W2 = random_atoms(2, 3, g)
    exact = float(l2_distance2("erf", a1, W1, a2, W2))
    gap = moment_map("erf", a1, W1, 40) - moment_map("erf", a2, W2, 40)
    assert float(gap @ gap) == pytest.approx(exact, rel=1e-3)
    mean, err = monte_carlo_distance2("erf", a1, W1, a2, W2, 200_000, g)
    assert abs(mean - exact) < 5 * err
    assert float(realization_norm2("erf", a1, W1)) == pytest.approx(float(l2_distance2("erf", a1, W1, a1[:0], W1[:0])))


@pytest.mark.parametrize("act", ["erf", "relu", "he3"])
def test_atomic_l2_geometry_is_the_networks_one(act):
    """An atomic measure and the particle cloud (S a_j, w_j) are one function: the same norms and distances."""
    g = gen(4)
    a1, W1 = random_atoms(3, 2, g)
    a2, W2 = random_atoms(5, 2, g)
    theta1, theta2 = particles_from_atoms(a1, W1), particles_from_atoms(a2, W2)
    torch.testing.assert_close(atoms_from_particles(theta1)[0], a1, rtol=1e-15, atol=0)
    assert float(realization_norm2(act, a1, W1)) == pytest.approx(
        float(a1 @ gaussian_kernel(act, W1, W1) @ a1), rel=1e-13
    )
    assert float(l2_distance2(act, a1, W1, a2, W2)) == pytest.approx(
        float(function_distance2(theta1[None], theta2[None], act)[0]), rel=1e-12
    )


def test_symmetric_power_stores_the_frobenius_norm_and_the_entries():
    x = torch.tensor([0.3, -1.2, 2.0], dtype=F64)
    for k in range(5):
        assert float(symmetric_power(x, k).norm()) == pytest.approx(float(x.norm()) ** k, rel=1e-13)
    alpha, weight = multi_indices(3, 2)
    full = torch.outer(x, x)
    for row, w, value in zip(alpha, weight, symmetric_power(x, 2)):
        i, j = [n for n, c in enumerate(row) for _ in range(c)]
        assert float(value) == pytest.approx(w * float(full[i, j]), rel=1e-14)
    assert multi_indices(3, 2)[0].shape == (6, 3) and math.isclose(weight.max(), math.sqrt(2))


def test_moment_tensor_against_full_tensor_by_hand():
    g = gen(3)
    a, W = random_atoms(3, 2, g)
    r = W.norm(dim=1)
    U = W / r[:, None]
    c3 = get_activation("erf").coefficients(r, 4)[:, 3]
    full = torch.einsum("j,ja,jb,jc->abc", a * c3, U, U, U)
    T3 = moment_tensors("erf", a, W, 3)[3]  # multi-indices (3,0), (2,1), (1,2), (0,3)
    expected = torch.stack([full[0, 0, 0], math.sqrt(3) * full[0, 0, 1], math.sqrt(3) * full[0, 1, 1], full[1, 1, 1]])
    assert torch.allclose(T3, expected, rtol=1e-13, atol=1e-15)
    assert float(T3.norm()) == pytest.approx(float(full.norm()), rel=1e-13)
    assert torch.allclose(raw_moment(a, W, 1), (a[:, None] * W).sum(0), rtol=1e-14)


@pytest.mark.parametrize("act", ["erf", "tanh", "relu", "gelu", "he3"])
@pytest.mark.parametrize("unit_norm", [False, True])
def test_chain_rule_jacobian_matches_forward_mode_autodiff(act, unit_norm):
    g = gen(4)
    a, W = random_atoms(3, 3, g)
    x = pack(a, W)
    reference = torch.func.jacfwd(lambda v: moment_map(act, *unpack(v, 3), 4, unit_norm))(x)
    value, jacobian = moment_map_and_jacobian(act, a, W, 4, unit_norm)
    assert torch.allclose(value, moment_map(act, a, W, 4, unit_norm), rtol=0, atol=1e-14)
    assert torch.allclose(jacobian, reference, rtol=1e-12, atol=1e-13)


def test_jacobian_ranks_worked_by_hand():
    g = gen(5)
    # erf, one atom in the plane: T_1 = a c_1(r) ŵ gives 2 numbers, T_3 adds r: rank 2 then 3 = S(1+d).
    profile = variety_depth("erf", 1, 2, 5, g)
    assert profile.ranks == (2, 2, 3) and profile.depth == 3 and profile.target == 3
    # ReLU, one atom: T_1 = a|w| ŵ/2 fixes a w, T_0 only its sign: rank 2 = 3 − 1 (rescaling) at D = 1.
    assert variety_depth("relu", 1, 2, 4, g).depth == 1
    # z² realizes T_0 = tr(T_2)/√2 and T_2 only: 3 numbers in the plane, never 2·3 − 2 = 4.
    quad = variety_depth("quadratic", 2, 2, 4, g)
    assert max(quad.ranks) == 3 and quad.depth == math.inf
    # On the circle an odd σ's T_1 is a contraction of T_3: (T_1, T_3) carry only T_3's 4 numbers.
    a, W = random_atoms(3, 2, g, unit_norm=True)
    assert numerical_rank(moment_jacobian("erf", a, W, 3, unit_norm=True))[0] == 4


def test_levenberg_marquardt_solves_a_batch_of_small_systems():
    def residual_and_jacobian(x):
        r = torch.stack([10 * (x[:, 1] - x[:, 0] ** 2), 1 - x[:, 0]], dim=1)
        J = torch.stack(
            [
                torch.stack([-20 * x[:, 0], 10 * torch.ones_like(x[:, 0])], 1),
                torch.stack([-torch.ones_like(x[:, 0]), torch.zeros_like(x[:, 0])], 1),
            ],
            1,
        )
        return r, J

    x, cost = levenberg_marquardt(residual_and_jacobian, torch.tensor([[-1.2, 1.0], [3.0, -2.0]], dtype=F64))
    assert torch.allclose(x, torch.ones(2, 2, dtype=F64), atol=1e-10) and float(cost.max()) < 1e-20


def test_fibre_search_finds_the_second_gelu_preimage_at_the_variety_depth_and_not_two_depths_later():
    a = torch.tensor([1.385, -1.034], dtype=F64)
    W = torch.tensor([[0.486], [-0.219]], dtype=F64)
    result = orbit_depth("gelu", 2, 1, 6, gen(6), restarts=32, measures=[(a, W)], D_min=4)
    assert result.status == ("refuted", "refuted", "confirmed") and result.depth == 6
    search = result.searches[0][0]
    second = search.solutions[search.outside][0]
    a2, W2 = unpack(second, 2)
    gap4 = moment_map("gelu", a2, W2, 5) - moment_map("gelu", a, W, 5)
    gap6 = moment_map("gelu", a2, W2, 6) - moment_map("gelu", a, W, 6)
    assert float(gap4.norm()) < 1e-8 and float(gap6.norm()) > 1e-6
    assert float(l2_distance2("gelu", a, W, a2, W2)) > 1e-12


def test_pearson_two_gaussians_five_moments_leave_two_mixtures_six_pick_one():
    weights = torch.tensor([0.782, 0.218], dtype=F64)
    means = torch.tensor([-0.291, -1.07], dtype=F64)
    sds = torch.tensor([1.421, 1.145], dtype=F64)
    five, _ = pearson_fibre(weights, means, sds, 5, 48, gen(7))
    six, _ = pearson_fibre(weights, means, sds, 6, 48, gen(8))
    assert five.shape[0] == 2 and six.shape[0] == 1
    truth = torch.tensor([0.218, -1.07, -0.291, 1.145, 1.421], dtype=F64)
    assert torch.allclose(six[0], truth, atol=1e-8)
    assert float(gaussian_mixture_moments(weights, means, sds, 2)[1]) == pytest.approx(
        float((weights * (means**2 + sds**2)).sum()), rel=1e-14
    )


def test_bad_input_names_the_parameter():
    a, W = random_atoms(2, 2, gen())
    with pytest.raises(ValueError, match="a1:"):
        l2_distance2("erf", a[:1], W, a, W)
    with pytest.raises(ValueError, match="D:"):
        moment_map("erf", a, W, -1)
    with pytest.raises(ValueError, match="x0"):
        levenberg_marquardt(lambda x: (x, x), torch.zeros(3, dtype=F64))
    with pytest.raises(ValueError, match="S:"):
        random_atoms(0, 2, gen())


def test_catalecticant_of_a_power_sum_and_its_apolar_cubic():
    a, W = random_atoms(9, 3, gen(9), unit_norm=True)
    T6 = (a[:, None] * symmetric_power(W, 6)).sum(0)
    C = catalecticant(T6, 3, 6, 3)
    P3 = symmetric_power(W, 3)
    assert torch.allclose(C, (a[:, None, None] * P3[:, :, None] * P3[:, None, :]).sum(0), atol=1e-13)
    assert numerical_rank(C)[0] == 9
    cubic = torch.linalg.svd(C).Vh[-1]
    assert float((P3 @ cubic).abs().max()) < 1e-12


def test_he6_sextic_of_rank_nine_has_a_second_real_decomposition_on_its_cubic():
    a, W = random_atoms(9, 3, gen(5), unit_norm=True)
    cubic = torch.linalg.svd(catalecticant(moment_tensors("he6", a, W, 6, True)[6], 3, 6, 3)).Vh[-1]
    search = fibre_search("he6", a, W, 6, 48, gen(105), unit_norm=True, max_iter=300, form=cubic)
    assert search.n_outside >= 1
    a2, W2 = unpack(search.solutions[search.outside][0], 9)
    W2 = W2 / W2.norm(dim=1, keepdim=True)
    gap = moment_map("he6", a, W, 6, True) - moment_map("he6", a2, W2, 6, True)
    assert float(gap.norm()) < 1e-9 * float(moment_map("he6", a, W, 6, True).norm())
    assert abs(float(l2_distance2("he6", a, W, a2, W2))) < 1e-9 * float(realization_norm2("he6", a, W))


def orbit_result(depths, status):
    """An OrbitDepth with the given statuses per depth (search totals left empty)."""
    confirmed = [D for D, s in zip(depths, status) if s == "confirmed"]
    return OrbitDepth(
        depth=confirmed[0] if confirmed else math.inf,
        depths=tuple(depths),
        status=tuple(status),
        restarts=(),
        converged=(),
        outside=(),
        searches=(),
    )


@pytest.mark.parametrize(
    "depths, status, D_var, expected",
    [
        ((1, 2, 3, 4), ("refuted", "refuted", "refuted", "confirmed"), 2, "strict"),  # D = 2, 3 refuted
        ((1, 2, 3, 4), ("refuted", "undecided", "refuted", "confirmed"), 2, "open"),  # D = 2 undecided
        ((1, 2, 3), ("undecided", "refuted", "confirmed"), 2, "strict"),  # below D*_var does not count
        ((3, 4), ("refuted", "confirmed"), 2, "open"),  # D = 2 never scanned
        ((1, 2), ("refuted", "confirmed"), 2, "none"),  # D*_orb = D*_var
        ((1, 2, 3), ("refuted", "refuted", "refuted"), 2, "none"),  # D*_orb = inf
        ((1, 2), ("refuted", "confirmed"), math.inf, "none"),
    ],
)
def test_separation_of_the_orbit_depth_from_the_variety_depth(depths, status, D_var, expected):
    assert orbit_result(depths, status).separation(D_var) == expected


def test_form_on_hemisphere_evaluates_the_form_inside_the_disc_and_is_nan_outside():
    # C(x) = x_1 x_2 x_3 + x_2^3: its coefficients in the stored basis are the values at the basis' weights
    alpha, weight = multi_indices(3, 3)
    coefficients = torch.zeros(len(alpha), dtype=torch.float64)
    for i, row in enumerate(alpha.tolist()):
        if row == [1, 1, 1] or row == [0, 3, 0]:
            coefficients[i] = 1.0 / weight[i]
    Y, Z, values = form_on_hemisphere(coefficients, 3, n=5)
    assert Y.shape == Z.shape == values.shape == (5, 5)
    y, z = float(Y[2, 3]), float(Z[2, 3])  # (0.5, 0)
    x = math.sqrt(1 - y**2 - z**2)
    assert float(values[2, 3]) == pytest.approx(x * y * z + y**3)
    assert float(values[1, 1]) == pytest.approx(math.sqrt(0.5) * 0.25 - 0.125)  # (y, z) = (-0.5, -0.5)
    assert torch.isnan(values[0, 0]) and torch.isnan(values[0, 2])  # a corner and (0, -1): outside the open disc
    with pytest.raises(ValueError, match="coefficients"):
        form_on_hemisphere(torch.zeros(4, dtype=torch.float64), 3)
