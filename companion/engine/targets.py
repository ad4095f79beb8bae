r"""Targets :math:`f^*(x) = \sum_m b_m\, g_m(u_m\cdot x)` and finite samples of them.

Two kinds: a *teacher* network (:math:`g_m = \sigma`, any norms of :math:`u_m`) and a *ridge* target whose profiles
are given by orthonormal Hermite coefficients, :math:`g_m(z) = \sum_k \beta_{mk} h_k(z)` with unit :math:`u_m` —
the Barron–Hermite family, whose tail :math:`\beta_{mk}` is under the user's control.
"""

from dataclasses import dataclass
from functools import cached_property

import torch

from .activations import Activation, get_activation
from .contract import ActivationName, Generator, Int, Real, TargetSpec, Tensor, validated
from .hermite import hermite_orthonormal
from .kernels import _cross_kernel, hermite_series, norms_and_cosines
from .validation import float_tensor, positive_int


@dataclass(frozen=True)
class Target:
    """f*(x) = Σ_m b_m g_m(u_m·x): b (M,), U (M, d); ``activation`` for a teacher, ``beta`` (M, K) for a ridge target."""

    b: torch.Tensor
    U: torch.Tensor
    activation: Activation | None = None
    beta: torch.Tensor | None = None

    @property
    def dim(self):
        return self.U.shape[-1]

    def cache_state(self):
        """The plain data that determine this target (tensors and the activation's name), e.g. for cache keys."""
        return {
            "b": self.b,
            "U": self.U,
            "activation": None if self.activation is None else self.activation.name,
            "beta": self.beta,
        }

    def to(self, device=None, dtype=None):
        """The same target with its tensors moved to ``device`` / ``dtype``."""
        move = lambda t: None if t is None else t.to(device=device, dtype=dtype)
        return Target(move(self.b), move(self.U), self.activation, move(self.beta))

    def profile_coefficients(self, K):
        r"""Hermite coefficients of :math:`z \mapsto g_m(|u_m| z)`: (M, K)."""
        K = positive_int("K", K)
        if self.activation is not None:
            return self.activation.coefficients(self.U.norm(dim=-1), K)
        beta = self.beta[:, :K]
        return torch.nn.functional.pad(beta, (0, K - beta.shape[1]))

    def __call__(self, X):
        """f*(X) for inputs X (..., n, d): shape (..., n). Integer or NumPy inputs are converted to U's dtype."""
        X = float_tensor(
            "X",
            X,
            shape=(..., None, self.dim),
            label=f"(..., n, {self.dim})",
            nonempty=False,
            dtype=None if torch.is_tensor(X) and X.dtype == self.U.dtype else self.U.dtype,
        )
        pre = X @ self.U.T
        if self.activation is not None:
            return self.activation.fn(pre) @ self.b
        values = (hermite_orthonormal(pre, self.beta.shape[1]) * self.beta).sum(-1)
        return values @ self.b

    def cross(self, activation, W):
        r""":math:`E[\sigma(w\cdot x)\, f^*(x)]` for each row w of W (..., N, d): shape (..., N)."""
        W = float_tensor(
            "W", W, shape=(..., None, self.dim), label=f"(..., N, {self.dim})", finite=False, nonempty=False
        )
        return self.cross_resolved(get_activation(activation), W)

    def cross_resolved(self, act, W):
        """:meth:`cross` for an :class:`Activation` ``act`` and a floating tensor W (no checks: for the engine's
        inner loops, which resolved both at their entry)."""
        if self.activation is not None:
            return _cross_kernel(act, W, self.activation, self.U.to(W)) @ self.b.to(W)
        K = self.beta.shape[1]  # the profile has no coefficient beyond len(beta), so neither does the series
        nw, _, rho = norms_and_cosines(W, self.U.to(W))
        return hermite_series(act.coefficients(nw, K), self.profile_coefficients(K).to(W), rho) @ self.b.to(W)

    def norm2(self):
        r""":math:`E[f^*(x)^2]`, exact; computed once per Target (the engine asks at every step; a Target's tensors
        are not changed in place, :meth:`to` makes a new one)."""
        return self._norm2

    @cached_property
    def _norm2(self):
        if self.activation is not None:
            gram = _cross_kernel(self.activation, self.U, self.activation, self.U)
        else:
            _, _, rho = norms_and_cosines(self.U, self.U)
            gram = hermite_series(self.beta, self.beta, rho)
        return self.b @ gram @ self.b

    def hermite_tensors(self, K):
        r"""The target's Hermite tensors :math:`T^*_k = \sum_m b_m c^{g_m}_k(|u_m|)\, \hat u_m^{\otimes k}`, k < K,
        so that :math:`E f^{*2} = \sum_k \|T^*_k\|_F^2`. Returns a list of tensors of shapes (d,)*k."""
        K = positive_int("K", K)
        coef = self.profile_coefficients(K)
        unit = self.U / self.U.norm(dim=-1, keepdim=True)
        tensors = []
        power = torch.ones(self.U.shape[0], dtype=self.U.dtype, device=self.U.device)
        for k in range(K):
            tensors.append(torch.einsum("m,m...->...", self.b * coef[:, k], power))
            power = power[..., None] * unit.reshape(unit.shape[0], *([1] * k), unit.shape[1])
        return tensors


@validated(activation=ActivationName(), U=Tensor("M d"), b=Tensor("M", like="U"))
def teacher(activation, b, U):
    """Teacher network f*(x) = Σ_m b_m σ(u_m·x) (no 1/M factor: put it in b); U (M, d) finite directions, b (M,)."""
    return Target(b, U, activation=activation)


@validated(U=Tensor("M d"), b=Tensor("M", like="U"), beta=Tensor("... K", like="U"))
def ridge_target(b, U, beta):
    r"""Ridge target :math:`\sum_m b_m \sum_k \beta_{mk} h_k(\hat u_m\cdot x)`; rows of U are normalised to unit length."""
    norms = U.norm(dim=-1, keepdim=True)
    if (norms == 0).any():
        raise ValueError("U: ridge directions must be non-zero")
    if beta.ndim == 1:
        beta = beta.expand(U.shape[0], -1)
    if beta.ndim != 2 or beta.shape[0] != U.shape[0]:
        raise ValueError(
            f"beta: need finite (K,) or ({U.shape[0]}, K) Hermite coefficients, got shape {tuple(beta.shape)}"
        )
    return Target(b, U / norms, beta=beta.clone())


@validated(
    target=TargetSpec(),
    n=Int(1),
    noise_std=Real(nonnegative=True),
    generator=Generator(optional=True),
    memory=lambda a: (8 * a["n"] * (a["target"].dim + 2), "n"),
)
def sample_data(target, n, noise_std=0.0, generator=None):
    """n samples x ~ N(0, I_d) with labels y = f*(x) + noise_std·ε, ε ~ N(0, 1). Returns (X (n, d), y (n,))."""
    dtype, device = target.U.dtype, target.U.device
    gen = generator if generator is not None else torch.Generator(device="cpu").manual_seed(0)
    X = torch.randn(n, target.dim, generator=gen, dtype=dtype, device=gen.device).to(device)
    eps = torch.randn(n, generator=gen, dtype=dtype, device=gen.device).to(device)
    return X, target(X) + noise_std * eps
