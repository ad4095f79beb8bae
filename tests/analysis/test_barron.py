import math

import numpy as np
import pytest
import torch

from companion.analysis.barron import (
    atom_bound,
    coefficient_threshold,
    geometric_tail,
    hermite_tensor_norms,
    index_dimension,
    polynomial_tail,
    single_index,
    sparsity_bound,
    spread_lines,
    supports,
    teacher_network,
)
from companion.engine.activations import get_activation
from companion.engine.targets import ridge_target, teacher


def test_tensor_norms_match_the_tensors():
    """The Gram identity gives the Frobenius norms of Target.hermite_tensors (teacher and ridge sum)."""
    gen = torch.Generator().manual_seed(3)
    targets = [
        teacher(
            "erf",
            torch.tensor([1.0, -0.5, 0.7], dtype=torch.float64),
            torch.randn(3, 3, generator=gen, dtype=torch.float64),
        ),
        ridge_target(
            torch.tensor([0.8, 1.3], dtype=torch.float64),
            torch.randn(2, 3, generator=gen, dtype=torch.float64),
            torch.randn(2, 7, generator=gen, dtype=torch.float64),
        ),
    ]
    for target in targets:
        direct = torch.stack([tensor.norm() for tensor in target.hermite_tensors(7)])
        assert torch.allclose(hermite_tensor_norms(target, 7), direct, rtol=1e-10, atol=1e-12)


def test_tensor_norms_sum_to_the_target_norm():
    """Σ_k ‖T*_k‖² = E f*² (Parseval), here for an erf teacher whose tail is geometric."""
    target = teacher_network("erf", 3, 3)
    assert float((hermite_tensor_norms(target, 160) ** 2).sum()) == pytest.approx(float(target.norm2()), rel=1e-8)


def test_geometric_threshold_has_its_closed_form():
    """Single index, unit direction: ‖T*_k‖ = |β_k| = ρ^k / Z on odd k, so K(ε) = largest odd k with ρ^k > εZ."""
    rate, K = 0.6, 40
    beta = geometric_tail(rate, K)
    odd = np.arange(1, K, 2)
    Z = math.sqrt(float((rate ** (2 * odd)).sum()))
    target = single_index(beta, 3)
    for eps in (0.3, 0.05, 1e-3):
        expected = max(k for k in odd if rate**k / Z > eps)
        assert coefficient_threshold(target, eps) == expected


def test_single_neuron_threshold_uses_the_activation_coefficients():
    """One erf neuron b σ(s u·x): ‖T*_k‖ = |b c_k(s)|."""
    b, s = 1.7, 0.8
    target = teacher("erf", torch.tensor([b], dtype=torch.float64), torch.tensor([[0.0, s]], dtype=torch.float64))
    coef = get_activation("erf").coefficients(torch.tensor(s, dtype=torch.float64), 60).abs() * b
    eps = 0.02
    assert coefficient_threshold(target, eps) == int(np.nonzero(coef.numpy() > eps)[0][-1])


def test_tails_have_the_requested_shape():
    poly = polynomial_tail(1.5, 20).numpy()
    assert np.sum(poly**2) == pytest.approx(1.0)
    assert np.all(poly[::2] == 0)
    odd = np.arange(1, 20, 2)
    ratio = np.abs(poly[odd]) * (odd + 1.0) ** 1.5
    assert np.allclose(ratio, ratio[0])
    assert np.array_equal(np.sign(poly[odd]), (-1.0) ** (odd // 2))
    positive = geometric_tail(0.5, 10, degrees="all", signs="positive").numpy()
    assert np.all(positive > 0) and np.allclose(positive[1:] / positive[:-1], 0.5)


def test_atom_bound_values():
    assert atom_bound(5, 1) == 6
    assert atom_bound(3, 2) == math.comb(5, 3) + 1 == 11
    assert atom_bound(-1, 3) == 0
    assert atom_bound(0, 4) == 2


def test_index_dimension_and_sparsity_bound():
    collinear = teacher(
        "erf",
        torch.ones(3, dtype=torch.float64),
        torch.tensor([[1.0, 2.0, 0.0], [-0.5, -1.0, 0.0], [2.0, 4.0, 0.0]], dtype=torch.float64),
    )
    assert index_dimension(collinear) == 1
    target = teacher_network("erf", 3, 3)
    assert index_dimension(target) == 3
    K, r, S = sparsity_bound(target, 0.05)
    assert (r, S) == (3, math.comb(3 + K, K) + 1) and K % 2 == 1


def test_spread_lines_are_unit_and_spread():
    for M, d in [(5, 2), (6, 3), (4, 4)]:
        U = spread_lines(M, d).numpy()
        assert np.allclose(np.linalg.norm(U, axis=1), 1)
        cosines = np.abs(U @ U.T)[~np.eye(M, dtype=bool)]
        limit = {2: math.cos(math.pi / 5), 3: 1 / math.sqrt(5), 4: 0.0}[d]
        assert np.allclose(cosines.max(), limit)


def test_bad_inputs_raise():
    target = teacher_network("erf", 2, 2)
    with pytest.raises(ValueError, match="K_max"):
        coefficient_threshold(target, 1e-6, K_max=10)
    with pytest.raises(ValueError, match="eps"):
        coefficient_threshold(target, 0.0)
    with pytest.raises(ValueError, match="rate"):
        geometric_tail(1.2, 10)
    with pytest.raises(ValueError, match="power"):
        polynomial_tail(-1, 10)
    with pytest.raises(ValueError, match="signs"):
        geometric_tail(0.5, 10, signs="random")
    with pytest.raises(ValueError, match="degrees"):
        geometric_tail(0.5, 10, degrees="prime")
    with pytest.raises(ValueError, match="M"):
        spread_lines(7, 3)
    with pytest.raises(ValueError, match="r"):
        atom_bound(2, 0)


@pytest.mark.parametrize(
    "activation, gauss, sphere, closed",
    [
        # z² = h_0 + √2 h_2; on the sphere 3t² = P_0 + 2 P_2
        ("quadratic", {0, 2}, {0, 2}, True),
        # h_3 alone; on the sphere h_3(√3 t) = (3/√2)(t³ − t) = (3/√2)(2/5)(P_3 − P_1): degree 1 appears
        ("he3", {3}, {1, 3}, False),
        # ReLU: degrees 0, 1 and the even ones, both ways (max(t, 0) has no odd Legendre term beyond P_1)
        ("relu", {0, 1, 2, 4, 6}, {0, 1, 2, 4, 6}, True),
        # erf is odd and not a polynomial: every odd degree
        ("erf", {1, 3, 5}, {1, 3, 5}, True),
    ],
)
def test_supports_by_hand(activation, gauss, sphere, closed):
    on_gauss, on_sphere, is_closed = supports(activation, 6)
    assert set(np.nonzero(on_gauss)[0]) == gauss
    assert set(np.nonzero(on_sphere)[0]) == sphere
    assert is_closed is closed


def test_vector_thresholds_equal_the_scalar_ones():
    from companion.analysis.barron import coefficient_thresholds

    target = single_index(polynomial_tail(1.5, 24), 2)
    grid = np.geomspace(1e-3, 1.0, 37)  # the profile has unit norm: no tensor exceeds ε = 1
    vector = coefficient_thresholds(target, grid)
    assert vector.dtype.kind == "i" and vector[-1] == -1  # above the largest tensor norm no degree counts
    assert vector.tolist() == [coefficient_threshold(target, eps) for eps in grid]
    assert np.all(np.diff(vector) <= 0)  # K(ε) never grows with ε
    with pytest.raises(ValueError, match="eps"):
        coefficient_thresholds(target, [0.1, -0.1])
