"""Realization symmetries preserve the function exactly and the canonical form; distinct measures stay apart."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.analysis.symmetry import (
    add_inactive,
    antipodal_flip,
    atoms_from_particles,
    canonicalize,
    homogeneity_degree,
    matched_distance,
    merge_atoms,
    permute,
    quadratic_eigen_atoms,
    random_symmetry,
    rescale,
    sign_flip,
    split_atom,
    symmetry_names,
)
from companion.engine.kernels import gaussian_kernel

ACTS = ("relu", "tanh", "erf", "gelu", "quadratic", "he3")


def distance2(act, a1, W1, a2, W2):
    a = torch.cat([a1, -a2])
    W = torch.cat([W1, W2])
    return float(a @ gaussian_kernel(act, W, W) @ a), float(a1 @ gaussian_kernel(act, W1, W1) @ a1)


def measure(S, d, seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(S, generator=g, dtype=torch.float64)
    return a + torch.sign(a) * 0.3, torch.randn(S, d, generator=g, dtype=torch.float64), g


@settings(max_examples=30, deadline=None)
@given(
    act=st.sampled_from(ACTS),
    S=st.integers(1, 5),
    d=st.integers(1, 4),
    seed=st.integers(0, 10_000),
    steps=st.integers(1, 6),
)
def test_random_symmetry_keeps_function_and_canonical_form(act, S, d, seed, steps):
    a, W, g = measure(S, d, seed)
    a2, W2, applied = random_symmetry(act, a, W, g, steps=steps)
    assert len(applied) == steps and set(applied) <= set(symmetry_names(act))
    gap, norm = distance2(act, a, W, a2, W2)
    assert abs(gap) <= 1e-12 * max(norm, 1.0)
    assert matched_distance(canonicalize(act, a, W), canonicalize(act, a2, W2)) < 1e-9


@settings(max_examples=20, deadline=None)
@given(
    act=st.sampled_from(("relu", "tanh", "erf", "gelu")),
    S=st.integers(1, 4),
    d=st.integers(2, 4),
    seed=st.integers(0, 10_000),
    size=st.floats(1e-4, 1.0),
)
def test_perturbed_measure_differs_in_function_and_canonical_form(act, S, d, seed, size):
    a, W, _ = measure(S, d, seed)
    W2 = W.clone()
    W2[0] = W2[0] * (1 + size) + size
    gap, norm = distance2(act, a, W, a, W2)
    assert gap > 1e-14 * norm
    assert matched_distance(canonicalize(act, a, W), canonicalize(act, a, W2)) > 1e-6 * size


def test_relu_linear_function_has_no_atoms_only_a_linear_part():
    w = torch.tensor([[0.3, -2.0, 1.0]], dtype=torch.float64)
    form = canonicalize("relu", torch.tensor([1.0, -1.0], dtype=torch.float64), torch.cat([w, -w]))
    assert form.n_atoms == 0
    assert torch.allclose(form.linear, w[0], atol=1e-15)


def test_canonical_form_by_hand_for_odd_even_and_homogeneous():
    a = torch.tensor([2.0, 1.0], dtype=torch.float64)
    W = torch.tensor([[-1.0, 2.0], [3.0, 0.0]], dtype=torch.float64)
    odd = canonicalize("tanh", a, W)
    assert torch.equal(odd.weights, torch.tensor([-2.0, 1.0], dtype=torch.float64))
    assert torch.equal(odd.positions, torch.tensor([[1.0, -2.0], [3.0, 0.0]], dtype=torch.float64))
    even = canonicalize("quadratic", a, W)  # 2-homogeneous and even: weights a|w|², unit directions
    assert torch.allclose(even.weights, torch.tensor([10.0, 9.0], dtype=torch.float64))
    assert torch.allclose(even.positions[0], torch.tensor([1.0, -2.0], dtype=torch.float64) / math.sqrt(5))
    relu = canonicalize("relu", a, W)  # w = (−1, 2) flips: linear part a w = (−2, 4)
    assert torch.allclose(relu.weights, torch.tensor([2 * math.sqrt(5), 3.0], dtype=torch.float64))
    assert torch.allclose(relu.linear, torch.tensor([-2.0, 4.0], dtype=torch.float64))


def test_homogeneity_degree_and_symmetry_names():
    assert homogeneity_degree("relu") == 1
    assert homogeneity_degree("quadratic") == 2
    assert homogeneity_degree("he2") is None and homogeneity_degree("tanh") is None
    assert symmetry_names("erf") == ("permute", "split", "inactive", "sign_flip")
    assert symmetry_names("relu") == ("permute", "split", "inactive", "rescale", "antipodal")
    assert symmetry_names("gelu") == ("permute", "split", "inactive", "antipodal")


def test_transforms_reject_what_the_activation_does_not_allow():
    a, W, _ = measure(3, 2, 0)
    with pytest.raises(ValueError, match="activation"):
        sign_flip("relu", a, W, [True, False, False])
    with pytest.raises(ValueError, match="activation"):
        rescale("tanh", a, W, 2.0)
    with pytest.raises(ValueError, match="activation"):
        antipodal_flip("erf", a, W, [0])
    with pytest.raises(ValueError, match="subset"):
        antipodal_flip("relu", a, W, [0, 1])
    with pytest.raises(ValueError, match="fractions"):
        split_atom(a, W, 0, [0.5, 0.4])
    with pytest.raises(ValueError, match="order"):
        permute(a, W, [0, 0, 1])
    with pytest.raises(ValueError, match="scales"):
        rescale("relu", a, W, -1.0)


def test_antipodal_flip_of_a_balanced_set_keeps_relu_and_gelu_functions():
    W = torch.tensor([[1.0, 0.5], [-0.5, 1.0], [2.0, 0.0]], dtype=torch.float64)
    a = torch.tensor([1.0, 2.0, 0.0], dtype=torch.float64)
    a[2] = 1.0
    W[2] = -(a[0] * W[0] + a[1] * W[1]) / a[2]  # Σ a_j w_j = 0 over all three
    for act in ("relu", "gelu"):
        a2, W2 = antipodal_flip(act, a, W, [0, 1, 2])
        gap, norm = distance2(act, a, W, a2, W2)
        assert abs(gap) < 1e-13 * norm
        assert matched_distance(canonicalize(act, a, W), canonicalize(act, a2, W2)) < 1e-12


def test_merge_and_inactive_and_particles():
    a = torch.tensor([1.0, 2.0, -0.5], dtype=torch.float64)
    X = torch.tensor([[0.0, 1.0], [0.0, 1.0 + 1e-9], [3.0, 0.0]], dtype=torch.float64)
    weights, centres = merge_atoms(a, X, 1e-6)
    assert torch.allclose(weights.sort().values, torch.tensor([-0.5, 3.0], dtype=torch.float64))
    a2, W2 = add_inactive(a, X, torch.ones(2, 2, dtype=torch.float64), cancelling=True)
    assert a2.shape == (7,) and float(a2.sum()) == pytest.approx(2.5)
    theta = torch.cat([a[:, None] * 3, X], dim=1)
    a3, W3 = atoms_from_particles(theta)
    assert torch.equal(a3, a) and torch.equal(W3, X)


def test_many_equal_atoms_merge_exactly():
    # 40 copies: distances must come from differences (a matrix-product shortcut gives ~1e-8, above merge_tol)
    for seed in range(12):
        g = torch.Generator().manual_seed(seed)
        a = torch.randn(1, generator=g, dtype=torch.float64)
        W = 3 * torch.randn(1, 3, generator=g, dtype=torch.float64)
        pieces_a, pieces_W = split_atom(a, W, 0, torch.full((40,), 1 / 40, dtype=torch.float64))
        form = canonicalize("gelu", pieces_a, pieces_W)
        assert form.n_atoms == 1 and float(form.weights[0]) == pytest.approx(float(a[0]), rel=1e-14)


def test_quadratic_eigen_atoms_realize_the_same_function_with_other_fourth_moments():
    a, W, _ = measure(5, 3, 1)
    lam, E = quadratic_eigen_atoms(a, W)
    gap, norm = distance2("quadratic", a, W, lam, E)
    assert abs(gap) < 1e-12 * norm
    fourth = torch.einsum("j,ja,jb,jc,jd->abcd", a, W, W, W, W)
    fourth_eigen = torch.einsum("j,ja,jb,jc,jd->abcd", lam, E, E, E, E)
    assert float((fourth - fourth_eigen).norm()) > 0.1 * float(fourth.norm())
