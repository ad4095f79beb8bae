r"""Initial particle clouds :math:`\theta_i = (a_i, w_i) \in \mathbb{R}^{1+d}`, i.i.d. from :math:`\mu_0`.

Each family draws a standard vector :math:`\xi \in \mathbb{R}^{1+d}` and scales it: :math:`a = a_{scale}\,\xi_0`,
:math:`w = scale\,\xi_{1:}`. Families: "gaussian" (ξ ~ N(0, I)), "laplace" (i.i.d. Laplace(0, 1)), "student_t"
(i.i.d. t with ``df`` degrees of freedom), "ball" (uniform on the unit ball of R^{1+d}), "atomic" (θ drawn from given
atoms with given weights). Draws use a NumPy generator on the CPU, so CPU and GPU runs start from the same cloud,
and the first N particles of an N_ref cloud are an N-particle cloud (nested coupling).
"""

import numpy as np
import torch

from .contract import Anything, Choice, Device, Dtype, Int, Real, validated
from .seeding import Stream
from .validation import describe, float_array, seed

FAMILIES = ("gaussian", "laplace", "student_t", "ball", "atomic")


def _standard_draws(family, rng, R, N, p, df, atoms, weights):
    if family == "gaussian":
        return rng.standard_normal((R, N, p))
    if family == "laplace":
        return rng.laplace(size=(R, N, p))
    if family == "student_t":
        return rng.standard_t(df, size=(R, N, p))
    if family == "ball":
        direction = rng.standard_normal((R, N, p))
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
        return direction * rng.random((R, N, 1)) ** (1.0 / p)
    return atoms[rng.choice(len(atoms), size=(R, N), p=weights)]


def _atomic_law(atoms, weights, p):
    """Atoms (S, p) as a finite float64 array and their probabilities (S,) (uniform when ``weights`` is None)."""
    atoms = float_array("atoms", atoms, shape=(None, p), label=f"(S, {p}) of atoms (a, w)")
    probs = np.full(len(atoms), 1 / len(atoms)) if weights is None else float_array("weights", weights)
    if probs.shape != (len(atoms),) or (probs < 0).any() or not np.isclose(probs.sum(), 1):
        raise ValueError(
            f"weights: need {len(atoms)} non-negative probabilities (one per atom) summing to 1, "
            f"got {describe(weights)}"
        )
    return atoms, probs


def _memory(args):
    """Bytes of the cloud (R, N, 1+d) and its float64 draws, with the largest of R, N, d."""
    R, N, d = args["R"], args["N"], args["d"]
    return 16 * R * N * (d + 1), max((R, "R"), (N, "N"), (d, "d"))[1]


@validated(
    family=Choice(FAMILIES),
    R=Int(1),
    N=Int(1),
    d=Int(1),
    scale=Real(nonnegative=True),
    a_scale=Real(nonnegative=True),
    rng=Anything(0),
    dtype=Dtype(),
    device=Device(),
    df=Real(positive=True),
    atoms=Anything(None),
    weights=Anything(None),
    memory=_memory,
)
def init_particles(
    family,
    R,
    N,
    d,
    *,
    scale=1.0,
    a_scale=1.0,
    rng=0,
    dtype=torch.float64,
    device="cpu",
    df=3.0,
    atoms=None,
    weights=None,
):
    """Initial particles θ_i = (a_i, w_i) drawn i.i.d. from μ₀ of ``family``: R replicas of N particles in dimension
    d, a tensor (R, N, 1+d) whose column 0 is the output weight a.

    ``rng`` is a :class:`~companion.engine.seeding.Stream` (replica r drawn from the stream's replica r, so replica r
    equals a lone draw of that replica and the first N particles of each replica are an N-particle cloud), a seed (an
    integer or a sequence of integers) or a ``numpy.random.Generator`` (one generator for all replicas);
    ``scale``/``a_scale`` multiply w and a (ignored for "atomic").
    """
    if family == "atomic":
        atoms, weights = _atomic_law(atoms, weights, d + 1)
    if isinstance(rng, Stream):
        xi = np.concatenate([_standard_draws(family, rng.rng(r), 1, N, d + 1, df, atoms, weights) for r in range(R)])
    else:
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(seed("rng", rng))
        xi = _standard_draws(family, rng, R, N, d + 1, df, atoms, weights)
    if family != "atomic":
        xi = xi * np.concatenate([[a_scale], np.full(d, scale)])
    theta = torch.as_tensor(xi, dtype=dtype)
    if not torch.isfinite(theta).all():
        raise ValueError(
            f"scale: particles overflow {dtype} (scale = {scale}, a_scale = {a_scale}); use smaller scales"
        )
    return theta.to(device)
