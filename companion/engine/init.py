r"""Initial particle clouds :math:`\theta_i = (a_i, w_i) \in \mathbb{R}^{1+d}`, i.i.d. from :math:`\mu_0`.

Each family draws a standard vector :math:`\xi \in \mathbb{R}^{1+d}` and scales it: :math:`a = a_{scale}\,\xi_0`,
:math:`w = scale\,\xi_{1:}`. Families: "gaussian" (ξ ~ N(0, I)), "laplace" (i.i.d. Laplace(0, 1)), "student_t"
(i.i.d. t with ``df`` degrees of freedom), "ball" (uniform on the unit ball of R^{1+d}), "atomic" (θ drawn from given
atoms with given weights). Draws use a NumPy generator on the CPU, so CPU and GPU runs start from the same cloud,
and the first N particles of an N_ref cloud are an N-particle cloud (nested coupling).
"""
import numpy as np
import torch

FAMILIES = ("gaussian", "laplace", "student_t", "ball", "atomic")


def _standard_draws(family, rng, R, N, p, df, atoms, weights):
    if family == "gaussian":
        return rng.standard_normal((R, N, p))
    if family == "laplace":
        return rng.laplace(size=(R, N, p))
    if family == "student_t":
        if not df > 0:
            raise ValueError(f"df: Student-t needs positive degrees of freedom, got {df}")
        return rng.standard_t(df, size=(R, N, p))
    if family == "ball":
        direction = rng.standard_normal((R, N, p))
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
        return direction * rng.random((R, N, 1)) ** (1.0 / p)
    atoms = np.asarray(atoms, dtype=np.float64)
    if atoms.ndim != 2 or atoms.shape[1] != p or not np.isfinite(atoms).all():
        raise ValueError(f"atoms: need a finite (S, {p}) array of atoms (a, w), got shape {atoms.shape}")
    probs = np.full(len(atoms), 1 / len(atoms)) if weights is None else np.asarray(weights, dtype=np.float64)
    if probs.shape != (len(atoms),) or (probs < 0).any() or not np.isclose(probs.sum(), 1):
        raise ValueError("weights: need one non-negative probability per atom, summing to 1")
    return atoms[rng.choice(len(atoms), size=(R, N), p=probs)]


def init_particles(family, R, N, d, *, scale=1.0, a_scale=1.0, rng=0, dtype=torch.float64, device="cpu",
                   df=3.0, atoms=None, weights=None):
    """R replicas of N particles in dimension d: tensor (R, N, 1+d), column 0 the output weight a.

    ``rng`` is a seed or a ``numpy.random.Generator``; ``scale``/``a_scale`` multiply w and a (ignored for "atomic").
    """
    if family not in FAMILIES:
        raise ValueError(f"family: unknown initialisation {family!r}; choose one of {FAMILIES}")
    for name, value in (("R", R), ("N", N), ("d", d)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name}: need a positive integer, got {value}")
    if not (np.isfinite(scale) and scale >= 0):
        raise ValueError(f"scale: need a finite non-negative scale, got {scale}")
    if not (np.isfinite(a_scale) and a_scale >= 0):
        raise ValueError(f"a_scale: need a finite non-negative scale, got {a_scale}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    xi = _standard_draws(family, rng, int(R), int(N), int(d) + 1, df, atoms, weights)
    if family != "atomic":
        xi = xi * np.concatenate([[a_scale], np.full(int(d), scale)])
    return torch.as_tensor(xi, dtype=dtype).to(device)
