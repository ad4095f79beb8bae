r"""Atoms of a particle cloud modulo the realization symmetry, and their matching to a teacher.

A cloud θ (N, 1+d) realizes :math:`\frac1N\sum_i a_i\sigma(w_i\cdot x)`, i.e. atoms :math:`(\alpha_i, w_i)` with
:math:`\alpha_i = a_i/N`. The extractor (an operational definition, chosen here, not the paper's):

1. reduce by the activation's symmetry: positively p-homogeneous σ moves each particle to the sphere with weight
   :math:`\alpha|w|^p`; for odd σ (a, w) ~ (−a, −w) and for even σ (a, w) ~ (a, −w), so particles are compared by
   the orbit distance :math:`\min(|w - w'|, |w + w'|)` (which, unlike a fixed hemisphere cut, keeps a cluster that
   straddles the cut together);
2. cluster the reduced positions by average linkage at a distance ``threshold`` (tied to √τ by
   :func:`clustering_threshold`);
3. align each cluster to its heaviest member (flip the members nearer to −w_ref), sum the net output weight
   :math:`\sum_i \alpha_i`, place the atom at the |α|-weighted mean position and record the |α|-weighted RMS spread;
4. drop clusters with :math:`|\sum_i \alpha_i| \le \delta` (inactive mass), and clusters of fewer than
   ``min_size`` particles (a lone particle in transit between atoms has mass 1/N, which vanishes as N → ∞).

``symmetry.canonicalize`` then gives the atoms' canonical form (hemisphere representative, sorted), so extracted
atoms can be compared with any other measure by ``symmetry.matched_distance``. The antipodal linear family of σ
with σ(z) − σ(−z) = z (ReLU, GELU) is not quotiented here: use odd σ (erf, tanh) for atom counts.
"""

from dataclasses import dataclass

import numpy as np
import torch
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.optimize import linear_sum_assignment, minimize
from scipy.spatial.distance import squareform

from ..engine.activations import get_activation
from ..engine.contract import ActivationName, Choice, Instance, Int, Real, TargetSpec, Tensor, validated
from ..engine.kernels import gaussian_kernel
from ..engine.validation import describe, float_array
from .symmetry import canonicalize, homogeneity_degree, pairwise_distances

LINKAGES = ("average", "single", "complete")


@dataclass(frozen=True)
class Atoms:
    r"""Active atoms of a cloud, heaviest first: net weights (S,), positions (S, d), spreads (S,), member
    counts (S,); ``labels`` (N,) gives each particle's atom index or −1 (dropped); ``dropped`` the net weights of
    the clusters under δ."""

    weights: np.ndarray
    positions: np.ndarray
    spreads: np.ndarray
    sizes: np.ndarray
    labels: np.ndarray
    dropped: np.ndarray
    activation: str

    @property
    def count(self):
        return int(self.weights.size)

    def canonical_form(self):
        """The atoms' canonical form by ``symmetry.canonicalize`` (no further merging or dropping)."""
        return canonicalize(
            self.activation, torch.as_tensor(self.weights), torch.as_tensor(self.positions), merge_tol=0.0, drop_tol=0.0
        )


@validated(
    tau=Real(nonnegative=True), lam=Real(positive=True), factor=Real(nonnegative=True), floor=Real(positive=True)
)
def clustering_threshold(tau, lam, factor=3.0, floor=0.1):
    r"""Clustering distance :math:`h = \text{floor} + \text{factor}\sqrt{\tau/\lambda}`: near an atom the Gibbs density
    is Gaussian with width :math:`\sqrt{\tau/\kappa}`, κ the local curvature, which scales with λ; ``floor`` covers
    τ → 0 and the finite-time spread."""
    return float(floor + factor * np.sqrt(tau / lam))


THRESHOLD_FACTOR, THRESHOLD_FLOOR, DELTA_REL, MIN_SIZE = 3.0, 0.1, 0.02, 2


@validated(
    activation=ActivationName(),
    theta=Tensor("N 1+d", array=True, max_abs=1e150),
    target=TargetSpec(),
    tau=Real(nonnegative=True),
    lam=Real(positive=True),
    h_mult=Real(positive=True),
    delta_mult=Real(nonnegative=True),
)
def target_atoms(activation, theta, target, tau, lam, h_mult=1.0, delta_mult=1.0):
    r"""The atoms of a cloud θ (N, 1+d) trained on ``target`` at temperature τ and weight decay λ, by the one rule the
    notebooks and the explorer share: :func:`extract_atoms` at :math:`h = h_{mult}\,(0.1 + 3\sqrt{	au/\lambda})`
    (:func:`clustering_threshold` with THRESHOLD_FLOOR, THRESHOLD_FACTOR), :math:`\delta = \delta_{mult}\cdot
    0.02\,\|f^*\|` (DELTA_REL) and at least MIN_SIZE = 2 particles per atom."""
    threshold = h_mult * clustering_threshold(tau, lam, THRESHOLD_FACTOR, THRESHOLD_FLOOR)
    delta = delta_mult * DELTA_REL * float(target.norm2()) ** 0.5
    return extract_atoms(activation, theta, threshold, delta, min_size=MIN_SIZE)


def reduced_atoms(activation, theta):
    r"""Atoms (α (N,), positions (N, d)) of a cloud θ (N, 1+d): :math:`\alpha_i = a_i/N` at :math:`w_i`, or for
    p-homogeneous σ :math:`\alpha_i = a_i|w_i|^p/N` at :math:`w_i/|w_i|` (particles at w = 0 get weight 0 at w = 0)."""
    activation = get_activation(activation)
    theta = float_array("theta", theta, shape=(None, None), label="(N, 1+d) with N >= 1")
    if theta.shape[-1] < 2:
        raise ValueError(f"theta: need a cloud of shape (N, 1+d) with d >= 1, got {tuple(theta.shape)}")
    alpha, W = theta[:, 0] / theta.shape[0], theta[:, 1:].copy()
    p = homogeneity_degree(activation)
    if p is not None:
        norms = np.linalg.norm(W, axis=1)
        alive = norms > 0
        alpha = np.where(alive, alpha * norms**p, 0.0)
        W[alive] /= norms[alive, None]
    return alpha, W


def orbit_distances(activation, W):
    r"""Pairwise distances between positions modulo the sign symmetry: :math:`\min(|w-w'|, |w+w'|)` for odd or even
    σ, :math:`|w - w'|` otherwise. Shape (N, N)."""
    act = get_activation(activation)
    W = torch.as_tensor(np.asarray(W, dtype=np.float64))
    direct = pairwise_distances(W, W).numpy()
    if act.parity is None:
        return direct
    return np.minimum(direct, pairwise_distances(W, -W).numpy())


def _cluster_labels(distances, threshold, method):
    n = distances.shape[0]
    if n == 1:
        return np.zeros(1, dtype=int)
    condensed = squareform(distances, checks=False)
    return fcluster(linkage(condensed, method=method), t=threshold, criterion="distance") - 1


@validated(
    activation=ActivationName(),
    theta=Tensor("N 1+d", array=True, max_abs=1e150),
    threshold=Real(positive=True),
    delta=Real(nonnegative=True),
    linkage_method=Choice(LINKAGES),
    min_size=Int(1),
)
def extract_atoms(activation, theta, threshold, delta, linkage_method="average", min_size=1):
    """Active atoms of the cloud θ (N, 1+d): reduce, cluster at ``threshold``, sum, drop |net weight| <= ``delta``
    and clusters of fewer than ``min_size`` particles (see the module docstring)."""
    act = activation
    alpha, W = reduced_atoms(act, theta)
    labels = _cluster_labels(orbit_distances(act, W), threshold, linkage_method)
    atoms, dropped = [], []
    member_of = -np.ones(len(alpha), dtype=int)
    for c in range(labels.max() + 1):
        members = np.nonzero(labels == c)[0]
        a_c, W_c = alpha[members], W[members]
        if act.parity is not None:
            ref = W_c[np.argmax(np.abs(a_c))]
            sign = np.where(W_c @ ref < 0, -1.0, 1.0)
            W_c = W_c * sign[:, None]
            a_c = a_c * sign if act.parity == "odd" else a_c
        net = a_c.sum()
        if abs(net) <= delta or len(members) < min_size:
            dropped.append(net)
            continue
        mass = np.abs(a_c) + 1e-300
        centre = (mass[:, None] * W_c).sum(0) / mass.sum()
        spread = np.sqrt((mass * ((W_c - centre) ** 2).sum(1)).sum() / mass.sum())
        atoms.append((net, centre, spread, members))
    atoms.sort(key=lambda atom: -abs(atom[0]))
    for index, (_, _, _, members) in enumerate(atoms):
        member_of[members] = index
    d = W.shape[1]
    return Atoms(
        weights=np.array([atom[0] for atom in atoms]),
        positions=np.array([atom[1] for atom in atoms]).reshape(-1, d),
        spreads=np.array([atom[2] for atom in atoms]),
        sizes=np.array([len(atom[3]) for atom in atoms], dtype=int),
        labels=member_of,
        dropped=np.array(dropped),
        activation=act.name,
    )


@dataclass(frozen=True)
class Matching:
    r"""Teacher directions matched to atom directions: ``pairs`` (k, 2) of (teacher index, atom index), ``angles``
    (k,) in radians between matched directions (modulo sign for odd or even σ), unmatched counts on both sides."""

    pairs: np.ndarray
    angles: np.ndarray
    unmatched_teacher: int
    unmatched_atoms: int

    @property
    def max_angle(self):
        """Largest matched angle; π/2 when no pair exists."""
        return float(self.angles.max()) if self.angles.size else float(np.pi / 2)


@validated(
    activation=ActivationName(),
    teacher_directions=Tensor("M d", array=True),
    positions=Tensor("S d", array=True, empty_ok="S"),
)
def match_directions(activation, positions, teacher_directions):
    r"""Match atom positions (S, d) to teacher directions (M, d) by the assignment minimizing the total angle
    between unit directions (modulo sign for odd or even σ)."""
    act, U, P = activation, teacher_directions, positions
    if not np.all(np.linalg.norm(U, axis=1) > 0):
        raise ValueError("teacher_directions: a direction is zero")
    if P.shape[0] == 0:
        return Matching(np.zeros((0, 2), dtype=int), np.zeros(0), U.shape[0], 0)
    unit_p = P / np.clip(np.linalg.norm(P, axis=1, keepdims=True), 1e-300, None)
    unit_u = U / np.linalg.norm(U, axis=1, keepdims=True)
    cosines = unit_u @ unit_p.T
    if act.parity is not None:
        cosines = np.abs(cosines)
    angles = np.arccos(np.clip(cosines, -1.0, 1.0))
    rows, cols = linear_sum_assignment(angles)
    return Matching(
        pairs=np.stack([rows, cols], axis=1),
        angles=angles[rows, cols],
        unmatched_teacher=U.shape[0] - len(rows),
        unmatched_atoms=P.shape[0] - len(cols),
    )


@dataclass(frozen=True)
class StationaryAtoms:
    r"""Atoms at a stationary point of the τ = 0 flow with fixed masses: ``theta`` (S, 1+d) rows (a_j, w_j),
    ``masses`` (S,), the objective ``value`` and ``max_grad``, the largest entry of
    :math:`|\nabla_\theta V(\mu, \theta_j) + \lambda\theta_j|` over the atoms (zero at an exact stationary point)."""

    theta: np.ndarray
    masses: np.ndarray
    value: float
    max_grad: float


@validated(
    activation=ActivationName(),
    target=TargetSpec(),
    theta=Tensor("S 1+d", array=True),
    masses=Tensor("S", array=True, positive=True),
    lam=Real(nonnegative=True),
    gtol=Real(positive=True),
    max_iter=Int(1, example_max=10),
)
def stationary_atoms(activation, target, theta, masses, lam, gtol=1e-10, max_iter=2000):
    r"""Relax S atoms of fixed masses to a stationary point of the regularized mean-field objective at τ = 0.

    The measure :math:`\mu = \sum_j p_j\delta_{\theta_j}`, :math:`\theta_j = (a_j, w_j)`, realizes
    :math:`f = \sum_j p_j a_j\sigma(w_j\cdot x)`; the objective is

    .. math:: F(\theta) = \tfrac12 E_x(f - f^*)^2 + \tfrac\lambda2\sum_j p_j\,(a_j^2 + |w_j|^2),

    with the exact Gaussian kernels (``gaussian_kernel``, ``Target.cross``). Since
    :math:`\nabla_{\theta_j}F = p_j(\nabla_\theta V(\mu,\theta_j) + \lambda\theta_j)`, its critical points are the
    fixed points of the particle flow (every particle of atom j at θ_j, no mass moving between atoms). F is
    minimized by BFGS (float64, gradients by autograd) from ``theta`` (S, 1+d); ``masses`` (S,) are positive (they
    need not sum to one: the rest of the mass sits inactive at θ = 0, itself a fixed point)."""
    act = activation
    p = torch.as_tensor(masses, dtype=torch.float64)
    norm2 = float(target.norm2())

    def objective(flat):
        leaf = torch.as_tensor(flat, dtype=torch.float64).reshape(theta.shape).requires_grad_(True)
        a, W = leaf[:, 0], leaf[:, 1:]
        nu = p * a
        fit = 0.5 * (nu @ gaussian_kernel(act, W, W) @ nu - 2 * nu @ target.cross(act, W) + norm2)
        value = fit + 0.5 * lam * (p * (leaf**2).sum(1)).sum()
        (grad,) = torch.autograd.grad(value, leaf)
        return float(value.detach()), grad.reshape(-1).numpy()

    result = minimize(
        objective, theta.reshape(-1), jac=True, method="BFGS", options=dict(gtol=gtol, maxiter=int(max_iter))
    )
    value, grad = objective(result.x)
    per_particle = np.abs(grad.reshape(theta.shape) / masses[:, None]).max()
    return StationaryAtoms(
        theta=result.x.reshape(theta.shape), masses=masses, value=value, max_grad=float(per_particle)
    )


def _atoms_example(dims):
    """Two atoms of 16 particles in dimension dims["d"] (the fuzzing battery's Atoms)."""
    d = dims["d"]
    cloud = np.zeros((16, 1 + d))
    cloud[:6, :2] = [16 / 6, 1.0]
    cloud[6:, 0], cloud[6:, -1] = -1.6, -1.0
    cloud[6:, 1] -= 0.1 * (d > 1)
    return extract_atoms("erf", cloud, threshold=0.1, delta=0.01)


@validated(
    activation=ActivationName(),
    target=TargetSpec(),
    atoms=Instance(Atoms, _atoms_example, "the Atoms of extract_atoms"),
    N=Int(1, example_min=16),
    lam=Real(positive=True),
)
def teacher_stationary_atoms(activation, target, atoms, N, lam):
    r"""The prediction of where the atoms of a cloud of N particles sit: the τ = 0 stationary atoms
    (:func:`stationary_atoms`) with the measured masses :math:`p_j = n_j/N` (cluster sizes), relaxed *from the
    teacher*: atom j, matched to teacher neuron m by :func:`match_directions`, starts at :math:`(b_m/p_j, u_m)`, so
    that the start realizes the teacher exactly. The measured positions only pair masses with neurons; they are never
    a starting point. Returns None unless the atoms and the teacher's neurons match one to one."""
    if target.activation is None:
        raise TypeError(f"target: need a teacher network (barron.teacher_network), got {describe(target)}")
    if atoms.positions.shape[1] != target.dim:
        raise ValueError(f"atoms: its d = {atoms.positions.shape[1]} does not match target's d = {target.dim}")
    if atoms.sizes.sum() > N:
        raise ValueError(f"N: the atoms hold {atoms.sizes.sum()} particles, more than N = {N}")
    U, b = target.U.detach().cpu().numpy(), target.b.detach().cpu().numpy()
    match = match_directions(activation, atoms.positions, U)
    if atoms.count != len(b) or match.unmatched_teacher or match.unmatched_atoms:
        return None
    masses = atoms.sizes / N
    start = np.zeros((atoms.count, 1 + U.shape[1]))
    for m, j in match.pairs:
        start[j] = np.concatenate([[b[m] / masses[j]], U[m]])
    return stationary_atoms(activation, target, start, masses, lam)
