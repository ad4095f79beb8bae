r"""The three values a run is made of: a **problem** (the activation σ, resolved once, and the target f*), a
**starting law** μ₀ (family, scales, df, atoms) and a **run spec** (η, steps, λ, τ, engine, recording, seed stream).

Each is a frozen dataclass with ``cache_state()``, so a pipeline task takes it as an argument as it is; the engine
and the analysis pass them down instead of their fields one by one.
"""

from dataclasses import dataclass

import numpy as np
import torch

from .activations import Activation, get_activation
from .contract import Anything, TargetSpec, validated
from .init import FAMILIES, init_particles
from .seeding import Stream
from .targets import Target
from .validation import choice, describe, finite_number, integer

__all__ = ["Problem", "problem", "StartingLaw", "RunSpec"]


@dataclass(frozen=True)
class Problem:
    r"""Learn the target f* (a :class:`Target`, or None for a run without data term) with a network of activation σ
    (an :class:`Activation`): :math:`f_N(x) = \frac1N\sum_i a_i\sigma(w_i\cdot x)`. Build it with :func:`problem`."""

    activation: Activation
    target: Target | None = None

    def __post_init__(self):
        if not isinstance(self.activation, Activation):
            raise TypeError(
                f"activation: need an Activation (build a Problem with companion.problem(activation, target)), "
                f"got {describe(self.activation)}"
            )
        if not (self.target is None or isinstance(self.target, Target)):
            raise TypeError(f"target: need a Target or None, got {describe(self.target)}")

    @property
    def dim(self):
        """The input dimension d (None without a target)."""
        return None if self.target is None else self.target.dim

    def to(self, device=None, dtype=None):
        """The same problem with the target's tensors on ``device`` in ``dtype``."""
        return Problem(self.activation, None if self.target is None else self.target.to(device, dtype))

    def cache_state(self):
        """The plain data that determine this problem (for cache keys)."""
        return {
            "activation": self.activation.name,
            "target": None if self.target is None else self.target.cache_state(),
        }


@validated(activation=Anything("erf"), target=TargetSpec(optional=True))
def problem(activation, target=None):
    """A :class:`Problem`: ``activation`` a name ("erf", "relu", ...) or an :class:`Activation`, resolved here once;
    ``target`` a :class:`Target` (``teacher``, ``ridge_target``) or None. A Problem passes through unchanged."""
    if isinstance(activation, Problem):
        if target is not None:
            raise ValueError("target: a Problem already carries its target; pass the Problem alone")
        return activation
    return Problem(get_activation(activation), target)


@dataclass(frozen=True)
class StartingLaw:
    r"""The law μ₀ of the initial particles θ = (a, w) (:func:`companion.engine.init.init_particles`):
    ``family`` ("gaussian", "laplace", "student_t", "ball", "atomic"), :math:`a = a_{scale}\xi_0`,
    :math:`w = scale\,\xi_{1:}`, ``df`` (Student-t), ``atoms`` (S, 1+d) and ``weights`` (S,) for "atomic"."""

    family: str = "gaussian"
    scale: float = 1.0
    a_scale: float = 1.0
    df: float = 3.0
    atoms: torch.Tensor | None = None
    weights: torch.Tensor | None = None

    def __post_init__(self):
        choice("family", self.family, FAMILIES)
        object.__setattr__(self, "scale", finite_number("scale", self.scale, nonnegative=True))
        object.__setattr__(self, "a_scale", finite_number("a_scale", self.a_scale, nonnegative=True))
        object.__setattr__(self, "df", finite_number("df", self.df, positive=True))

    def sample(self, R, N, d, rng, dtype=torch.float64, device="cpu"):
        """R clouds of N particles in dimension d: (R, N, 1+d), drawn from ``rng`` (a Stream, a seed or a Generator)."""
        return init_particles(
            self.family,
            R,
            N,
            d,
            scale=self.scale,
            a_scale=self.a_scale,
            rng=rng,
            dtype=dtype,
            device=device,
            df=self.df,
            atoms=self.atoms,
            weights=self.weights,
        )

    def cache_state(self):
        """The plain data that determine this law (for cache keys)."""
        return {
            "family": self.family,
            "scale": self.scale,
            "a_scale": self.a_scale,
            "df": self.df,
            "atoms": self.atoms,
            "weights": self.weights,
        }


@dataclass(frozen=True)
class RunSpec:
    r"""How :func:`companion.engine.dynamics.simulate` runs, every field checked: step η (``eta``), ``steps``,
    weight decay λ (``lam``), temperature τ (``tau``), ``engine``, minibatch ``batch_size`` (None: full batch),
    ``record`` (the recorded steps, sorted), the noise ``seed`` stream and ``first_replica`` (replica r of the batch
    is replica ``first_replica + r`` of the stream), ``noise_width`` (None: N), ``chunk_size`` and ``check_every``
    (None: 1 on the CPU, 25 elsewhere)."""

    eta: float
    steps: int
    lam: float
    tau: float
    engine: str
    batch_size: int | None
    record: tuple
    seed: Stream
    first_replica: int = 0
    noise_width: int | None = None
    chunk_size: int = 2**20
    check_every: int | None = None

    def __post_init__(self):
        from .dynamics import ENGINES

        finite_number("eta", self.eta, positive=True)
        integer("steps", self.steps, minimum=0)
        finite_number("lam", self.lam, nonnegative=True)
        finite_number("tau", self.tau, nonnegative=True)
        choice("engine", self.engine, ENGINES)
        if self.batch_size is not None:
            integer("batch_size", self.batch_size, minimum=1)
        if not isinstance(self.record, tuple):
            raise TypeError(f"record: need a tuple of step indices, got {describe(self.record)}")
        for k in self.record:
            integer("record", k, minimum=0)
        if not isinstance(self.seed, Stream):
            raise TypeError(f"seed: need a Stream, got {describe(self.seed)}")
        integer("first_replica", self.first_replica, minimum=0)
        for name in ("noise_width", "check_every"):
            if getattr(self, name) is not None:
                integer(name, getattr(self, name), minimum=1)
        integer("chunk_size", self.chunk_size, minimum=1)

    @property
    def record_steps(self):
        """The recorded steps as an int64 array."""
        return np.asarray(self.record, dtype=np.int64)

    def params(self):
        """The run's parameters as a plain dict (``Trajectory.params``)."""
        return dict(
            eta=self.eta,
            steps=self.steps,
            lam=self.lam,
            tau=self.tau,
            engine=self.engine,
            batch_size=self.batch_size,
            seed=self.seed.seed,
            stream=self.seed.name,
            first_replica=self.first_replica,
            noise_width=self.noise_width,
        )

    def cache_state(self):
        """The plain data that determine this run (for cache keys)."""
        return {
            **self.params(),
            "record": list(self.record),
            "chunk_size": self.chunk_size,
            "check_every": self.check_every,
        }
