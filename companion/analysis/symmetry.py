r"""Realization symmetries of two-layer networks and canonical active components.

An atomic measure is given by signed weights ``a`` (S,) and input weights ``W`` (S, d); it realizes
:math:`f(x) = \sum_j a_j\,\sigma(w_j\cdot x)` (a particle cloud θ (N, 1+d) with the mean-field 1/N is
``atoms_from_particles(theta)``). Transforms that leave f unchanged, by activation:

- every σ: permutation, splitting an atom into pieces whose weights add up, adding inactive mass;
- odd σ: (a, w) ↦ (−a, −w); even σ: (a, w) ↦ (a, −w);
- positively p-homogeneous σ (ReLU p = 1, z² p = 2): (a, w) ↦ (c^p a, w/c), c > 0;
- σ(z) − σ(−z) = z (ReLU, GELU): flipping w_j ↦ −w_j for j in a set J whenever Σ_J a_j w_j = 0
  (the antipodal linear family, d linear constraints).

``canonicalize`` quotients by all of these: it moves each atom to a canonical representative, merges atoms that
coincide up to a tolerance, drops atoms whose weight vanishes, and for σ with σ(z) − σ(−z) = z writes the
realization as :math:`\sum_k \alpha_k \sigma(u_k\cdot x) + v\cdot x` with every u_k in a fixed half-space.
For a polynomial σ of degree p the realization depends on the moment tensors up to degree p only, a larger
symmetry than the atomwise one; the canonical form below is then a representative, not a complete invariant.
"""

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from ..engine.activations import get_activation
from ..engine.contract import ActivationName, Generator, Instance, Int, Real, Tensor, validated
from ..engine.validation import atomic_measure, float_tensor


@dataclass(frozen=True)
class CanonicalForm:
    r"""Canonical active component: :math:`f(x) = \sum_k \text{weights}_k\,\sigma(\text{positions}_k\cdot x)
    + \text{linear}\cdot x`.

    positions: unit directions for homogeneous σ, input weights otherwise, each with its first coordinate of
    magnitude above tolerance positive when σ has a sign symmetry; sorted lexicographically.
    linear: the linear part (d,) for σ with σ(z) − σ(−z) = z, else None.
    """

    weights: torch.Tensor
    positions: torch.Tensor
    linear: torch.Tensor | None

    @property
    def n_atoms(self):
        return int(self.weights.numel())


def atoms_from_particles(theta):
    r"""Atoms (a_i/N, w_i) of a particle cloud θ (N, 1+d) realizing :math:`(1/N)\sum_i a_i\sigma(w_i\cdot x)`."""
    if theta.ndim != 2 or theta.shape[-1] < 2:
        raise ValueError(f"theta: need shape (N, 1+d) with d >= 1, got {tuple(theta.shape)}")
    return theta[:, 0] / theta.shape[0], theta[:, 1:]


def _measure(batch=""):
    """The contract of an atomic measure: input weights W (S, d), d >= 1, and signed weights a (S,) (S = 0, the zero
    measure, allowed; a takes W's dtype and device); ``batch="..."``: leading batch dimensions allowed."""
    return dict(W=Tensor(f"{batch} S d", empty_ok="S"), a=Tensor(f"{batch} S", like="W", empty_ok="S"))


def _form_example(dims):
    """A canonical form for the fuzzing battery: erf atoms in dimension dims["d"]."""
    W = torch.eye(dims["S"], dims["d"], dtype=torch.float64) + 0.5
    return canonicalize("erf", torch.linspace(1.0, 2.0, dims["S"], dtype=torch.float64), W)


@validated(**_measure("..."))
def particles_from_atoms(a, W):
    r"""The particle cloud θ (..., S, 1+d) with θ_j = (S a_j, w_j), whose mean-field network
    :math:`\frac1S\sum_j (S a_j)\sigma(w_j\cdot x)` is the atomic measure's :math:`\sum_j a_j\sigma(w_j\cdot x)`
    (the inverse of :func:`atoms_from_particles`)."""
    return torch.cat([W.shape[-2] * a[..., None], W], dim=-1)


def homogeneity_degree(activation):
    """p with σ(cz) = c^p σ(z) for all c > 0 (1 for ReLU, the degree for a monomial polynomial), else None."""
    act = get_activation(activation)
    if act.homogeneous:
        return 1
    if act.degree is None or act.degree < 1:
        return None
    z = torch.linspace(-2.0, 2.0, 9, dtype=torch.float64)
    scaled, base = act.fn(1.7 * z), act.fn(z)
    return act.degree if torch.allclose(scaled, 1.7**act.degree * base, rtol=1e-12, atol=1e-12) else None


def symmetry_names(activation):
    """Names of the realization-symmetry transforms available for this activation."""
    act = get_activation(activation)
    names = ["permute", "split", "inactive"]
    if act.parity in ("odd", "even"):
        names.append("sign_flip")
    if homogeneity_degree(act) is not None:
        names.append("rescale")
    if act.linear_part:
        names.append("antipodal")
    return tuple(names)


def permute(a, W, order):
    """Atoms reordered by the permutation ``order`` (S,)."""
    a, W = atomic_measure(a, W)
    order = torch.as_tensor(order, dtype=torch.long, device=a.device)
    if sorted(order.tolist()) != list(range(a.shape[0])):
        raise ValueError(f"order: need a permutation of range({a.shape[0]})")
    return a[order], W[order]


def split_atom(a, W, index, fractions):
    """Atom ``index`` replaced by pieces with weights a_index · fractions (fractions sum to 1, any signs)."""
    a, W = atomic_measure(a, W)
    fractions = torch.as_tensor(fractions, dtype=a.dtype, device=a.device)
    if fractions.ndim != 1 or fractions.numel() < 1 or abs(float(fractions.sum()) - 1) > 1e-12:
        raise ValueError("fractions: need a non-empty vector summing to 1")
    if not 0 <= index < a.shape[0]:
        raise ValueError(f"index: {index} out of range for {a.shape[0]} atoms")
    pieces_a = a[index] * fractions
    pieces_W = W[index].expand(fractions.numel(), -1)
    keep = torch.arange(a.shape[0], device=a.device) != index
    return torch.cat([a[keep], pieces_a]), torch.cat([W[keep], pieces_W])


def add_inactive(a, W, W_new, cancelling=False):
    """Atoms at ``W_new`` added with weight 0, or (``cancelling``) as pairs of weights +1 and −1 at each point."""
    a, W = atomic_measure(a, W)
    W_new = float_tensor("W_new", W_new, shape=(None, W.shape[1]), label=f"(M, {W.shape[1]})", nonempty=False).to(W)
    if cancelling:
        ones = torch.ones(W_new.shape[0], dtype=a.dtype, device=a.device)
        return torch.cat([a, ones, -ones]), torch.cat([W, W_new, W_new])
    return torch.cat([a, a.new_zeros(W_new.shape[0])]), torch.cat([W, W_new])


def sign_flip(activation, a, W, mask):
    """Odd σ: (a, w) ↦ (−a, −w); even σ: (a, w) ↦ (a, −w); applied to the atoms where ``mask`` is true."""
    act = get_activation(activation)
    a, W = atomic_measure(a, W)
    if act.parity not in ("odd", "even"):
        raise ValueError(f"activation: {act.name} is neither odd nor even, so it has no sign flip")
    mask = torch.as_tensor(mask, dtype=torch.bool, device=a.device)
    sign = torch.where(mask, -1.0, 1.0).to(a.dtype)
    return (a * sign if act.parity == "odd" else a.clone()), W * sign[:, None]


def rescale(activation, a, W, scales):
    """Positively p-homogeneous σ: (a_j, w_j) ↦ (c_j^p a_j, w_j / c_j) with c_j = ``scales``_j > 0."""
    act = get_activation(activation)
    a, W = atomic_measure(a, W)
    p = homogeneity_degree(act)
    if p is None:
        raise ValueError(f"activation: {act.name} is not positively homogeneous, so it has no rescaling")
    scales = torch.as_tensor(scales, dtype=a.dtype, device=a.device).expand(a.shape[0])
    if not bool((scales > 0).all()):
        raise ValueError("scales: rescaling needs c > 0")
    return a * scales**p, W / scales[:, None]


def antipodal_flip(activation, a, W, subset, atol=1e-10):
    r"""σ(z) − σ(−z) = z: flip w_j ↦ −w_j for j in ``subset``, which leaves f unchanged iff
    :math:`\sum_{j\in J} a_j w_j = 0` (checked to ``atol`` relative to Σ_J |a_j||w_j|)."""
    act = get_activation(activation)
    a, W = atomic_measure(a, W)
    if not act.linear_part:
        raise ValueError(f"activation: {act.name} does not satisfy σ(z) − σ(−z) = z")
    subset = torch.as_tensor(subset, dtype=torch.long, device=a.device)
    imbalance = (a[subset, None] * W[subset]).sum(0).norm()
    scale = (a[subset].abs() * W[subset].norm(dim=1)).sum().clamp_min(1e-300)
    if float(imbalance) > atol * float(scale):
        raise ValueError(f"subset: Σ_J a_j w_j = {float(imbalance):.3g} is not 0, so the flip changes f")
    sign = torch.ones_like(a)
    sign[subset] = -1.0
    return a.clone(), W * sign[:, None]


@validated(activation=ActivationName(), **_measure(), generator=Generator(), steps=Int(0))
def random_symmetry(activation, a, W, generator, steps=4):
    r"""A random composition of the activation's symmetry transforms; returns (a', W', names applied).

    The antipodal step builds a valid flip set from random atoms J: it adds an inactive atom at −Σ_J w_j, splits a
    piece of weight t off each atom of J and off the inactive one (whose pieces are then t and −t), and flips the
    pieces of weight t, which satisfy Σ t w = 0.
    """
    act = activation
    a, W = atomic_measure(a, W)  # unbatched
    names = symmetry_names(act)
    applied = []
    opts = dict(dtype=a.dtype, device=a.device)
    for _ in range(steps):
        name = names[int(torch.randint(len(names), (1,), generator=generator))]
        S, d = W.shape
        if name == "permute":
            a, W = permute(a, W, torch.randperm(S, generator=generator))
        elif name == "split":
            index = int(torch.randint(S, (1,), generator=generator))
            pieces = 2 + int(torch.randint(2, (1,), generator=generator))
            raw = torch.randn(pieces, generator=generator, **opts)
            fractions = torch.cat([raw[:-1], (1 - raw[:-1].sum()).reshape(1)])
            a, W = split_atom(a, W, index, fractions)
        elif name == "inactive":
            W_new = torch.randn(1 + int(torch.randint(2, (1,), generator=generator)), d, generator=generator, **opts)
            a, W = add_inactive(a, W, W_new, cancelling=bool(torch.randint(2, (1,), generator=generator)))
        elif name == "sign_flip":
            a, W = sign_flip(act, a, W, torch.rand(S, generator=generator) < 0.5)
        elif name == "rescale":
            a, W = rescale(act, a, W, torch.exp(torch.randn(S, generator=generator, **opts)))
        elif name == "antipodal":
            a, W = _random_antipodal(act, a, W, generator)
        applied.append(name)
    return a, W, tuple(applied)


def _random_antipodal(act, a, W, generator):
    """A valid antipodal flip built from a random set J by an inactive atom and splitting (see random_symmetry)."""
    S = W.shape[0]
    J = torch.nonzero(torch.rand(S, generator=generator) < 0.5).flatten()
    if J.numel() == 0:
        J = torch.tensor([int(torch.randint(S, (1,), generator=generator))])
    t = float(torch.randn(1, generator=generator, dtype=a.dtype))
    w_extra = -W[J].sum(0, keepdim=True)
    a, W = add_inactive(a, W, w_extra)
    pieces_a = torch.cat(
        [torch.full((J.numel(),), t, dtype=a.dtype, device=a.device), torch.tensor([t], dtype=a.dtype, device=a.device)]
    )
    J_all = torch.cat([J, torch.tensor([S], device=J.device)])
    a = a.clone()
    a[J_all] = a[J_all] - pieces_a
    a = torch.cat([a, pieces_a])
    W = torch.cat([W, W[J_all]])
    flipped = torch.arange(W.shape[0] - J_all.numel(), W.shape[0])
    return antipodal_flip(act, a, W, flipped)


def _hemisphere_sign(X, tol):
    """+1 where the first coordinate of magnitude > tol is positive (or the row is ~0), −1 otherwise."""
    big = X.abs() > tol
    first = torch.where(big.any(1), big.to(torch.int8).argmax(1), torch.zeros(X.shape[0], dtype=torch.long))
    lead = X.gather(1, first[:, None]).squeeze(1)
    return torch.where(lead < -tol, -1.0, 1.0).to(X.dtype)


def pairwise_distances(X, Y):
    """Pairwise Euclidean distances |x_i − y_j| (..., n, m) from differences (torch.cdist's matrix-product shortcut
    for many rows loses ~1e-8 relative accuracy to cancellation, which would split equal atoms)."""
    return torch.cdist(X, Y, compute_mode="donot_use_mm_for_euclid_dist")


def _single_linkage(X, tol):
    """Cluster labels: rows of X within distance tol of each other (transitively) share a label."""
    n = X.shape[0]
    if n == 0:
        return np.zeros(0, dtype=int)
    close = (pairwise_distances(X, X) <= tol).cpu().numpy()
    labels = -np.ones(n, dtype=int)
    current = 0
    for start in range(n):
        if labels[start] >= 0:
            continue
        frontier = [start]
        labels[start] = current
        while frontier:
            i = frontier.pop()
            for j in np.nonzero(close[i] & (labels < 0))[0]:
                labels[j] = current
                frontier.append(j)
        current += 1
    return labels


def merge_atoms(a, X, tol):
    """Atoms whose positions lie within ``tol`` (single linkage) merged: weights summed, position the
    |weight|-weighted mean of the cluster (the plain mean where all weights vanish)."""
    a, X = atomic_measure(a, X, names=("a", "X"))
    labels = torch.as_tensor(_single_linkage(X, tol), device=a.device)
    n = int(labels.max()) + 1 if labels.numel() else 0
    weights = torch.zeros(n, dtype=a.dtype, device=a.device).index_add(0, labels, a)
    mass = a.abs() + 1e-300
    norm = torch.zeros(n, dtype=a.dtype, device=a.device).index_add(0, labels, mass)
    centres = torch.zeros(n, X.shape[1], dtype=X.dtype, device=X.device).index_add(0, labels, mass[:, None] * X)
    return weights, centres / norm[:, None]


# merge_tol is a tolerance for numerically equal atoms, not a length scale: above MERGE_TOL_MAX it would take real
# atoms for the origin (and merge distinct ones), so it is refused.
MERGE_TOL_MAX = 1e-3


@validated(
    activation=ActivationName(),
    **_measure(),
    merge_tol=Real(nonnegative=True, at_most=MERGE_TOL_MAX, example=(0.0, 1e-6)),
    drop_tol=Real(nonnegative=True),
)
def canonicalize(activation, a, W, merge_tol=1e-8, drop_tol=1e-10):
    r"""Canonical active component of :math:`\sum_j a_j\sigma(w_j\cdot x)` (see ``CanonicalForm``).

    Steps: p-homogeneous σ moves each atom to the sphere with weight a|w|^p; odd σ maps (a, w) to (−a, −w), even σ
    maps w to −w, and σ with σ(z) − σ(−z) = z maps w to −w adding a·w to the linear part, whenever w lies in the
    wrong half-space; atoms within ``merge_tol`` merge; atoms with |weight| ≤ ``drop_tol`` are inactive and dropped.
    Atoms at w = 0 (within ``merge_tol``, e.g. a fit's 1e-8) are a constant a σ(0) and merge into one atom (dropped
    when σ(0) = 0); ``merge_tol`` above ``MERGE_TOL_MAX`` is refused, since it would take real atoms for the origin.
    """
    act = activation
    a, W = atomic_measure(a, W)  # unbatched
    p = homogeneity_degree(act)
    norms = W.norm(dim=1)
    if p is not None:
        alive = norms > 0
        a, W = a[alive] * norms[alive] ** p, W[alive] / norms[alive, None]
    linear = torch.zeros(W.shape[1], dtype=W.dtype, device=W.device) if act.linear_part else None
    if act.parity is not None or act.linear_part:
        sign = _hemisphere_sign(W, merge_tol)
        if act.linear_part:
            flipped = sign < 0
            linear = linear + (a[flipped, None] * W[flipped]).sum(0)
        if act.parity == "odd":
            a = a * sign
        W = W * sign[:, None]
    weights, positions = merge_atoms(a, W, merge_tol)
    sigma_zero = float(act.fn(torch.zeros(1, dtype=torch.float64)))
    at_origin = positions.norm(dim=1) <= merge_tol
    keep = (weights.abs() > drop_tol) & ~(at_origin & (sigma_zero == 0.0))
    weights, positions = weights[keep], positions[keep]
    order = _lexicographic_order(positions)
    if linear is not None:
        linear = torch.where(linear.abs() <= drop_tol, torch.zeros_like(linear), linear)
    return CanonicalForm(weights=weights[order], positions=positions[order], linear=linear)


def _lexicographic_order(X):
    if X.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long, device=X.device)
    keys = X.detach().cpu().numpy()
    return torch.as_tensor(np.lexsort(keys.T[::-1]), device=X.device)


@validated(form1=Instance(CanonicalForm, _form_example), form2=Instance(CanonicalForm, _form_example))
def matched_distance(form1, form2):
    r"""Distance between canonical forms: the cheapest matching of atoms, pairs costing
    :math:`|\alpha_i - \alpha'_j| + |u_i - u'_j|` and unmatched atoms :math:`|\alpha|`, plus |v − v'| for the
    linear parts. Zero exactly when the two forms have the same atoms and linear part."""
    A1, X1, A2, X2 = form1.weights, form1.positions, form2.weights, form2.positions
    if X1.shape[1:] != X2.shape[1:] and X1.shape[0] and X2.shape[0]:
        raise ValueError("form2: positions have a different dimension than form1's")
    n, m = A1.numel(), A2.numel()
    cost = np.zeros((n + m, n + m))
    if n and m:
        pair = (A1[:, None] - A2[None, :]).abs() + pairwise_distances(X1, X2)
        cost[:n, :m] = pair.detach().cpu().numpy()
    cost[:n, m:] = np.abs(A1.detach().cpu().numpy())[:, None]
    cost[n:, :m] = np.abs(A2.detach().cpu().numpy())[None, :]
    rows, cols = linear_sum_assignment(cost)
    total = float(cost[rows, cols].sum())
    if (form1.linear is None) != (form2.linear is None):
        raise ValueError("form2: one form has a linear part and the other does not")
    if form1.linear is not None:
        total += float((form1.linear - form2.linear).norm())
    return total


@validated(**_measure())
def quadratic_eigen_atoms(a, W):
    r"""For σ(z) = z² the realization is :math:`x^\top M x` with :math:`M = \sum_j a_j w_j w_j^\top`; the d atoms
    (λ_i, e_i) of M's eigendecomposition realize the same function with different higher moments."""
    a, W = atomic_measure(a, W)
    M = (a[:, None, None] * W[:, :, None] * W[:, None, :]).sum(0)
    eigenvalues, eigenvectors = torch.linalg.eigh(M)
    return eigenvalues, eigenvectors.T
