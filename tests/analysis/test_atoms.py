import numpy as np
import pytest
import torch

from companion.analysis.atoms import clustering_threshold, extract_atoms, match_directions, orbit_distances
from companion.analysis.symmetry import canonicalize, matched_distance

PLANTED_W = np.array([[1.0, 0.2, -0.3], [-0.4, 1.1, 0.5], [0.3, -0.2, 0.9]])
PLANTED_NET = np.array([0.8, -0.5, 0.3])


def planted_cloud(rng, per_atom=40, jitter=0.01, flip=True, inactive=20):
    """Particles jittered around the planted atoms, each atom's net weight PLANTED_NET (in units of a/N); half of
    the particles sign-flipped (a, w) -> (-a, -w); plus an inactive group whose a cancel exactly."""
    N = per_atom * len(PLANTED_NET) + inactive
    rows = []
    for w, net in zip(PLANTED_W, PLANTED_NET):
        a = np.full(per_atom, net * N / per_atom)
        W = w + jitter * rng.standard_normal((per_atom, 3))
        rows.append(np.column_stack([a, W]))
    a_inactive = np.tile([2.0, -2.0], inactive // 2)
    W_inactive = np.array([-1.5, -1.5, 0.0]) + jitter * rng.standard_normal((inactive, 3))
    rows.append(np.column_stack([a_inactive, W_inactive]))
    theta = np.concatenate(rows)
    if flip:
        sign = np.where(rng.random(N) < 0.5, -1.0, 1.0)
        theta = theta * sign[:, None]
    return torch.as_tensor(theta[rng.permutation(N)])


def test_planted_atoms_are_recovered_with_their_weights():
    rng = np.random.default_rng(0)
    atoms = extract_atoms("erf", planted_cloud(rng), threshold=0.1, delta=0.05)
    assert atoms.count == 3
    assert np.allclose(atoms.weights * np.sign(atoms.weights), np.abs(PLANTED_NET), atol=1e-12)
    match = match_directions("erf", atoms.positions, PLANTED_W)
    assert match.unmatched_atoms == 0 and match.unmatched_teacher == 0
    assert match.max_angle < 0.03
    assert len(atoms.dropped) == 1 and abs(atoms.dropped[0]) < 1e-12
    assert np.all(atoms.labels[atoms.labels >= 0] < 3) and np.sum(atoms.labels == -1) == 20


def test_canonical_form_matches_the_planted_measure():
    """Up to the jitter, the extracted canonical form is the canonical form of the planted atoms."""
    rng = np.random.default_rng(1)
    atoms = extract_atoms("tanh", planted_cloud(rng, jitter=1e-4), threshold=0.05, delta=0.05)
    planted = canonicalize("tanh", torch.as_tensor(PLANTED_NET), torch.as_tensor(PLANTED_W))
    assert matched_distance(atoms.canonical_form(), planted) < 1e-3


def test_symmetric_copies_merge_only_with_the_symmetry():
    """(a, w) and (-a, -w) realize the same neuron for odd σ and merge; without the sign symmetry (ReLU, on the
    sphere) they are two atoms."""
    theta = torch.tensor([[1.0, 0.0, 1.0], [-1.0, 0.0, -1.0]], dtype=torch.float64)
    odd = extract_atoms("erf", theta, threshold=0.1, delta=0.0)
    assert odd.count == 1 and odd.weights[0] == pytest.approx(1.0)
    relu = extract_atoms("relu", theta, threshold=0.1, delta=0.0)
    assert relu.count == 2


def test_even_activation_flips_w_only():
    """Even σ (He_2, not homogeneous): (a, w) ~ (a, -w), weights add without a sign change; the 2-homogeneous
    z² also moves to the sphere with weight a|w|²/N."""
    theta = torch.tensor([[1.0, 0.5, 1.0], [1.0, -0.5, -1.0]], dtype=torch.float64)
    atoms = extract_atoms("he2", theta, threshold=0.1, delta=0.0)
    assert atoms.count == 1 and atoms.weights[0] == pytest.approx(1.0)
    squared = extract_atoms("quadratic", theta, threshold=0.1, delta=0.0)
    assert squared.count == 1 and squared.weights[0] == pytest.approx(1.25)


def test_cluster_on_the_hemisphere_boundary_stays_one_atom():
    """A cluster around w = (0, 1, 0) has first coordinates of both signs; a fixed hemisphere cut would split it."""
    rng = np.random.default_rng(2)
    W = np.array([0.0, 1.0, 0.0]) + 0.02 * rng.standard_normal((50, 3))
    theta = torch.as_tensor(np.column_stack([np.ones(50), W]))
    atoms = extract_atoms("erf", theta, threshold=0.2, delta=0.1)
    assert atoms.count == 1 and atoms.weights[0] == pytest.approx(1.0)
    assert abs(atoms.positions[0] @ [0, 1, 0]) == pytest.approx(1.0, abs=0.01)


def test_homogeneous_rescaling_merges_on_the_sphere():
    """ReLU: (a, w) ~ (a c, w / c); both copies sit at w/|w| with weight a|w|/N."""
    theta = torch.tensor([[2.0, 0.0, 3.0], [6.0, 0.0, 1.0]], dtype=torch.float64)
    atoms = extract_atoms("relu", theta, threshold=0.1, delta=0.0)
    assert atoms.count == 1
    assert atoms.weights[0] == pytest.approx((2.0 * 3.0 + 6.0 * 1.0) / 2)
    assert np.allclose(atoms.positions[0], [0.0, 1.0])


def test_spread_is_the_jitter_width():
    """Isotropic jitter s in d = 3 around one atom gives an RMS distance s√3."""
    rng = np.random.default_rng(3)
    s = 0.02
    W = np.array([1.0, 0.0, 0.0]) + s * rng.standard_normal((4000, 3))
    theta = torch.as_tensor(np.column_stack([np.ones(4000), W]))
    atoms = extract_atoms("erf", theta, threshold=0.5, delta=0.1)
    assert atoms.spreads[0] == pytest.approx(s * np.sqrt(3), rel=0.03)


def test_delta_cut_and_threshold_move_the_count():
    rng = np.random.default_rng(4)
    theta = planted_cloud(rng, flip=False)
    assert extract_atoms("erf", theta, threshold=0.1, delta=0.4).count == 2  # drops the 0.3 atom
    assert extract_atoms("erf", theta, threshold=5.0, delta=0.05).count == 1  # merges everything


def test_orbit_distance_is_sign_invariant():
    W = np.array([[1.0, 2.0], [-1.0, -2.0], [0.5, 0.0]])
    D = orbit_distances("tanh", W)
    assert D[0, 1] == pytest.approx(0.0, abs=1e-12)
    assert D[0, 2] == pytest.approx(D[1, 2])
    assert orbit_distances("relu", W)[0, 1] == pytest.approx(2 * np.sqrt(5))


def test_orbit_distances_are_exact_for_equal_and_opposite_positions():
    # a matrix-product shortcut |w|² + |w'|² − 2w·w' leaves ~1e-8 between equal rows of norm ~1e3
    W = np.array([[1e3, 2e3 / 3, 1 / 7], [1e3, 2e3 / 3, 1 / 7], [-1e3, -2e3 / 3, -1 / 7], [0.3, -0.1, 2.0]])
    D = orbit_distances("tanh", W)
    assert D[0, 1] == D[0, 2] == D[1, 2] == 0.0 and np.all(np.diag(D) == 0.0)
    expected = np.minimum(np.linalg.norm(W[:, None] - W[None], axis=-1), np.linalg.norm(W[:, None] + W[None], axis=-1))
    np.testing.assert_allclose(D, expected, rtol=1e-15, atol=0)
    np.testing.assert_allclose(orbit_distances("relu", W), np.linalg.norm(W[:, None] - W[None], axis=-1), rtol=1e-15)


def test_matching_counts_the_unmatched():
    U = np.array([[1.0, 0.0], [0.0, 1.0]])
    positions = np.array([[0.0, -2.0], [1.0, 0.1], [0.7, 0.7]])
    match = match_directions("erf", positions, U)
    assert match.unmatched_atoms == 1 and match.unmatched_teacher == 0
    assert sorted(match.angles.round(6)) == sorted([0.0, round(float(np.arctan(0.1)), 6)])
    empty = match_directions("erf", np.zeros((0, 2)), U)
    assert empty.unmatched_teacher == 2 and empty.max_angle == pytest.approx(np.pi / 2)


def test_threshold_rule_and_bad_inputs():
    assert clustering_threshold(1e-4, 0.01, factor=3.0, floor=0.1) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="tau"):
        clustering_threshold(-1.0, 0.1)
    with pytest.raises(ValueError, match="lam"):
        clustering_threshold(1e-3, 0.0)
    theta = torch.zeros(3, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="threshold"):
        extract_atoms("erf", theta, threshold=0.0, delta=0.1)
    with pytest.raises(ValueError, match="delta"):
        extract_atoms("erf", theta, threshold=0.1, delta=-1.0)
    with pytest.raises(ValueError, match="theta"):
        extract_atoms("erf", torch.zeros(3), threshold=0.1, delta=0.1)
    with pytest.raises(ValueError, match="linkage_method"):
        extract_atoms("erf", theta, threshold=0.1, delta=0.1, linkage_method="ward")
    with pytest.raises(ValueError, match="teacher_directions"):
        match_directions("erf", np.ones((2, 2)), np.zeros((0, 2)))


def test_stationary_atoms_recover_a_lone_teacher_neuron_as_lambda_vanishes():
    from companion.analysis.atoms import stationary_atoms
    from companion.analysis.barron import teacher_network

    target = teacher_network("erf", 1, 2)
    start = np.array([[0.7, 0.8, 0.3]])
    result = stationary_atoms("erf", target, start, [1.0], lam=1e-10)
    np.testing.assert_allclose(result.theta[0], [1.0, 1.0, 0.0], atol=1e-4)
    assert result.value < 1e-8


def test_stationary_atoms_are_fixed_points_of_the_engine_flow():
    from companion.analysis.atoms import stationary_atoms
    from companion.analysis.barron import teacher_network
    from companion.engine.dynamics import first_variation_grad

    lam, counts = 0.05, np.array([3, 5])
    target = teacher_network("erf", 2, 2)
    result = stationary_atoms("erf", target, [[1.0, 1.0, 0.1], [1.0, 0.1, 1.0]], counts / counts.sum(), lam)
    assert result.max_grad < 1e-7
    cloud = torch.as_tensor(np.repeat(result.theta, counts, axis=0))[None]
    grad, _ = first_variation_grad(cloud, "erf", target)
    assert float((grad + lam * cloud).abs().max()) < 1e-7
    angles = match_directions("erf", result.theta[:, 1:], target.U.numpy()).angles
    assert np.all(angles > 1e-3)  # weight decay tilts both atoms off the teacher directions


def test_stationary_atoms_reject_bad_input():
    from companion.analysis.atoms import stationary_atoms
    from companion.analysis.barron import teacher_network

    target = teacher_network("erf", 1, 2)
    with pytest.raises(ValueError, match="masses"):
        stationary_atoms("erf", target, [[1.0, 1.0, 0.0]], [-1.0], lam=0.1)
    with pytest.raises(ValueError, match="masses"):
        stationary_atoms("erf", target, [[1.0, 1.0, 0.0]], [0.5, 0.5], lam=0.1)
    with pytest.raises(ValueError, match="theta"):
        stationary_atoms("erf", target, [[1.0, 1.0]], [1.0], lam=0.1)
    with pytest.raises(TypeError, match="target"):
        stationary_atoms("erf", "teacher", [[1.0, 1.0, 0.0]], [1.0], lam=0.1)


def test_min_size_drops_a_lone_heavy_particle_and_keeps_the_atoms():
    rng = np.random.default_rng(7)
    cloud = planted_cloud(rng).numpy()
    straggler = np.array([[3.0 * cloud.shape[0], 5.0, -5.0, 5.0]])  # net weight ≈ 3, far from every atom
    theta = np.concatenate([cloud, straggler])
    kept = extract_atoms("erf", theta, threshold=0.1, delta=0.05)
    assert kept.count == 4 and kept.sizes.min() == 1
    atoms = extract_atoms("erf", theta, threshold=0.1, delta=0.05, min_size=2)
    assert atoms.count == 3 and atoms.sizes.min() >= 2
    assert atoms.labels[-1] == -1 and np.any(np.isclose(atoms.dropped, straggler[0, 0] / theta.shape[0]))
    with pytest.raises(ValueError, match="min_size"):
        extract_atoms("erf", theta, threshold=0.1, delta=0.05, min_size=0)


def test_teacher_stationary_atoms_start_at_the_teacher_and_agree_with_a_start_at_the_atoms():
    from companion.analysis.atoms import stationary_atoms, teacher_stationary_atoms
    from companion.analysis.barron import teacher_network

    target, lam, N = teacher_network("erf", 2, 2), 0.05, 16
    cloud = np.zeros((N, 3))
    cloud[:6] = [16 / 6 * 1.0, 0.9, 0.2]  # 6 particles near u_1, 10 at -u_2 with flipped a
    cloud[6:] = [-16 / 10 * 1.0, 0.1, -1.1]
    atoms = extract_atoms("erf", cloud, threshold=0.1, delta=0.01)
    predicted = teacher_stationary_atoms("erf", target, atoms, N, lam)
    assert predicted.max_grad < 1e-7
    np.testing.assert_allclose(predicted.masses, atoms.sizes / N)
    from_atoms = stationary_atoms(
        "erf", target, np.column_stack([atoms.weights * N / atoms.sizes, atoms.positions]), atoms.sizes / N, lam
    )
    angles = match_directions("erf", predicted.theta[:, 1:], from_atoms.theta[:, 1:]).angles
    assert np.all(angles < 1e-5)  # one stationary point near the teacher, whichever start
    assert (
        teacher_stationary_atoms(
            "erf",
            teacher_network("erf", 3, 3),
            extract_atoms("erf", np.column_stack([cloud, np.zeros(N)]), threshold=0.1, delta=0.01),
            N,
            lam,
        )
        is None
    )
    with pytest.raises(TypeError, match="target"):
        teacher_stationary_atoms("erf", "teacher", atoms, N, lam)
    with pytest.raises(ValueError, match="N"):
        teacher_stationary_atoms("erf", target, atoms, 4, lam)
