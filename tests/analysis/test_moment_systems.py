"""Moment equations as polynomial systems: certified depths on the sphere, Pearson's nonic, the rank-9 sextic."""

import math

import numpy as np
import torch

from companion.analysis.identifiability import gaussian_mixture_moments, pack, random_atoms
from companion.analysis.moment_systems import (
    certified_orbit_depth,
    normal_raw_moment,
    pearson_system,
    sextic_second_decomposition,
    sphere_moment_system,
)


def test_sphere_system_vanishes_at_the_measure_and_its_sign_flips():
    g = torch.Generator().manual_seed(2)
    a, W = random_atoms(3, 2, g, unit_norm=True)
    moments, sphere = sphere_moment_system("erf", a, W, 5)
    for a2, W2 in [(a, W), (-a.flip(0), -W.flip(0))]:  # odd σ: (a, w) ↦ (−a, −w), and a permutation
        x = pack(a2, W2).numpy()[None].astype(complex)
        assert np.abs(moments(x)).max() < 1e-12 and np.abs(sphere(x)).max() < 1e-12
    assert moments.n_equations == 6  # T_5 only: T_3 and T_1 are its contractions


def test_relu_two_atoms_in_the_plane_certified_at_depth_two():
    g = torch.Generator().manual_seed(5)
    a, W = random_atoms(2, 2, g)
    result = certified_orbit_depth("relu", a, W, 4, max_paths=400)
    assert result.status[0] == "positive-dimensional"  # T_0, T_1: fewer numbers than parameters
    assert result.depth == 2 and result.solved_at == 2
    assert result.complex[1] == result.real[1] == 2  # the orbit: the two orderings of the atoms
    assert result.outside[1] == 0 and result.alpha_certified == 2


def test_quadratic_fibre_is_positive_dimensional_at_every_depth():
    g = torch.Generator().manual_seed(1)
    a, W = random_atoms(2, 2, g)
    result = certified_orbit_depth("quadratic", a, W, 4)
    assert set(result.status) == {"positive-dimensional"} and result.depth == math.inf


def test_too_large_systems_are_not_solved():
    g = torch.Generator().manual_seed(1)
    a, W = random_atoms(2, 2, g)
    result = certified_orbit_depth("erf", a, W, 4, max_paths=10)
    assert result.status[2:] == ("not solved", "not solved") and math.isnan(result.depth)


def test_pearson_system_matches_the_mixture_moments():
    weights, means, sds = (torch.tensor(v, dtype=torch.float64) for v in ([0.3, 0.7], [-0.4, 0.9], [0.8, 1.1]))
    m = gaussian_mixture_moments(weights.double(), means.double(), sds.double(), 6).numpy()
    assert np.isclose(normal_raw_moment(4, 0.5, 2.0), 0.5**4 + 6 * 0.5**2 * 2 + 3 * 4)
    F = pearson_system(m)
    x = np.array([[0.3, -0.4, 0.9, 0.8**2, 1.1**2]], dtype=complex)
    assert np.abs(F(x)).max() < 1e-12 and list(F.degrees) == [2, 3, 4, 5, 6]


def test_rank_nine_ternary_sextic_has_exactly_one_linked_partner():
    g = torch.Generator().manual_seed(0)
    a, W = random_atoms(9, 3, g, unit_norm=True)
    partner = sextic_second_decomposition(a, W)
    s = partner["singular_values"]
    assert s[-1] < 1e-10 < s[-2]  # a one-dimensional kernel: one partner
    assert partner["relative_residual"] < 1e-9 and partner["on_cubic"] < 1e-12
    assert partner["distance_to_mu"] > 1e-6  # not μ's own directions
