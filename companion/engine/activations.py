r"""Activations σ with their Hermite expansions and realization-symmetry flags.

Every activation carries its orthonormal Hermite coefficients
:math:`c_k(r) = E[\sigma(rZ)\, h_k(Z)]`, :math:`h_k = He_k/\sqrt{k!}`, :math:`Z \sim N(0,1)`, so that
:math:`\sigma(rz) = \sum_k c_k(r) h_k(z)` and, by Mehler's formula, for unit u, v,
:math:`E[\sigma(r\,u\cdot x)\,\sigma(s\,v\cdot x)] = \sum_k c_k(r) c_k(s) (u\cdot v)^k`.
Closed forms for ReLU and erf; Gauss–Hermite quadrature (exact for polynomials) otherwise.
"""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from .contract import ActivationName, refuse_memory, validated
from .hermite import (
    graded_coefficients,
    hermite_coefficient_slopes,
    hermite_coefficients,
    hermite_e,
    hermite_orthonormal,
)
from .validation import describe, positive_int

ACTIVATIONS = ("relu", "tanh", "erf", "gelu", "quadratic")
_QUADRATURE_NODES = 256


@dataclass(frozen=True)
class Activation:
    """An activation σ: its values, derivative, symmetry flags and Hermite coefficients.

    parity: "odd" (σ(−z) = −σ(z)), "even" (σ(−z) = σ(z)) or None.
    homogeneous: σ(cz) = cσ(z) for c > 0 (so (a, w) ~ (ca, w/c)).
    linear_part: σ(z) − σ(−z) = z (ReLU, GELU), the source of the antipodal linear family.
    degree: polynomial degree, or None.
    series_terms: Hermite terms used where no closed-form kernel exists (exact for polynomials).
    mixture: (weights, scales) with σ(z) = Σ_j w_j erf(β_j z) (erf: one term; tanh: to 2e-15, see
    :func:`tanh_erf_mixture`), or None.
    smoothing: closed form of the Gaussian smoothing, see :meth:`smoothed`, or None (for a mixture it is derived).
    closed_both: (r, K) ↦ (coefficients, slopes) in one pass where that is cheaper than the two apart, or None.
    """

    name: str
    fn: Callable
    derivative: Callable
    parity: str | None
    homogeneous: bool
    linear_part: bool
    degree: int | None
    series_terms: int
    closed_coefficients: Callable | None = None
    closed_slopes: Callable | None = None
    mixture: tuple | None = None
    smoothing: Callable | None = None
    closed_both: Callable | None = None

    def __call__(self, z):
        return self.fn(z)

    def cache_state(self):
        """The plain data that determine this activation: its name (``get_activation(name)`` rebuilds it)."""
        return {"name": self.name}

    def _arguments(self, r, K):
        K = self.series_terms if K is None else positive_int("K", K)
        r = torch.as_tensor(r, dtype=torch.get_default_dtype()) if not torch.is_tensor(r) else r
        nodes = _QUADRATURE_NODES if self.degree is None else max(8, (self.degree + K) // 2 + 2)
        return r, K, nodes

    def coefficients(self, r, K=None):
        r"""Orthonormal Hermite coefficients :math:`c_k(r)`, k < K, shape ``r.shape + (K,)``, differentiable in r ≥ 0."""
        r, K, nodes = self._arguments(r, K)
        if self.closed_coefficients is not None:
            return self.closed_coefficients(r, K)
        if self.degree is None:
            return graded_coefficients(self.fn, r, K, parity=self.parity)
        return hermite_coefficients(self.fn, r, K, n_nodes=nodes)

    def coefficient_slopes(self, r, K=None):
        r"""Their radial derivatives :math:`c_k'(r) = E[\sigma'(rZ)\,Z\,h_k(Z)]`, shape ``r.shape + (K,)`` (no autograd)."""
        r, K, nodes = self._arguments(r, K)
        if self.closed_slopes is not None:
            return self.closed_slopes(r, K)
        if self.degree is None:
            return graded_coefficients(self.fn, r, K, slope=self.derivative, parity=self.parity)
        return hermite_coefficient_slopes(self.derivative, r, K, n_nodes=nodes)

    def coefficients_and_slopes(self, r, K=None):
        """(:meth:`coefficients`, :meth:`coefficient_slopes`) at the norms r, in one pass where the activation has one
        (tanh: the powers of its erf mixture's q_j shared; GELU: erf's coefficients shared)."""
        if self.closed_both is not None:
            r, K, _ = self._arguments(r, K)
            return self.closed_both(r, K)
        return self.coefficients(r, K), self.coefficient_slopes(r, K)

    @property
    def has_smoothing(self):
        """Whether :meth:`smoothed` has a closed form."""
        return self.smoothing is not None or self.mixture is not None

    def smoothed(self, a, b):
        r"""For :math:`Y = a + bZ`: :math:`(E\,\sigma(Y),\ E\,\sigma'(Y),\ E[\sigma'(Y)\,Y])`, elementwise in the
        (broadcast) tensors a and b ≥ 0, in closed form (GELU, erf) or summed over the erf mixture (tanh):
        :math:`\sigma = \sum_j w_j\,\mathrm{erf}(\beta_j\,\cdot)` gives :math:`\sum_j w_j\,(m, \beta_j m', n)(\beta_j a,
        \beta_j b)` of erf's forms (m, m', n)."""
        if self.smoothing is not None:
            return self.smoothing(a, b)
        weights, scales = mixture_tensors(self.mixture, a.dtype, a.device)
        m, slope, n = _erf_smoothed(a[..., None] * scales, b[..., None] * scales)
        return (m @ weights, slope @ (weights * scales), n @ weights)


@cache
def mixture_tensors(mixture, dtype, device):
    """The (weights, scales) of an erf mixture (:attr:`Activation.mixture`) as tensors, built once per dtype and
    device (read-only: shared by every call)."""
    with torch.inference_mode(False):  # usable in autograd whatever mode the first call came from
        return tuple(torch.tensor(t, dtype=dtype, device=device) for t in mixture)


def _log_double_factorial_odd(m):
    """log m!! for odd m ≥ −1 (with (−1)!! = 1)."""
    return math.lgamma(m + 2) - ((m + 1) / 2) * math.log(2) - math.lgamma((m + 3) / 2)


def _relu_unit_coefficients(K, like):
    r"""ReLU at r = 1: :math:`c_0 = 1/\sqrt{2\pi}`, :math:`c_1 = 1/2`, and for k ≥ 2
    :math:`c_k = \varphi(0)\, He_{k-2}(0)/\sqrt{k!}` (Gaussian integration by parts, σ'' = δ_0); c_k(r) = r c_k(1)."""
    values = []
    for k in range(K):
        if k == 0:
            values.append(1 / math.sqrt(2 * math.pi))
        elif k == 1:
            values.append(0.5)
        elif k % 2 == 1:
            values.append(0.0)
        else:
            m = k - 2  # He_m(0) = (−1)^{m/2} (m−1)!!
            log_abs = _log_double_factorial_odd(m - 1) - 0.5 * math.log(2 * math.pi) - 0.5 * math.lgamma(k + 1)
            values.append((-1) ** (m // 2) * math.exp(log_abs))
    return torch.tensor(values, dtype=like.dtype, device=like.device)


def _relu_coefficients(r, K):
    return r[..., None] * _relu_unit_coefficients(K, r)


def _relu_slopes(r, K):
    return _relu_unit_coefficients(K, r).expand(*r.shape, K)


@cache
def _erf_constants(K):
    r"""(k, :math:`C_k = (-1)^{(k-1)/2}\sqrt{2/\pi}\,(k-2)!!/\sqrt{k!}`) for the odd k < K."""
    return tuple(
        (
            k,
            (-1) ** ((k - 1) // 2)
            * math.exp(0.5 * math.log(2 / math.pi) + _log_double_factorial_odd(k - 2) - 0.5 * math.lgamma(k + 1)),
        )
        for k in range(1, K, 2)
    )


def _erf_series(r, K, slope):
    r"""erf: even coefficients vanish; for odd k, with :math:`u = \sqrt2\, r/\sqrt{1+2r^2}` (so u² = q = 2r²/(1+2r²)),
    :math:`c_k = C_k u^k` and :math:`c_k' = k\,C_k u^{k-1}\,\sqrt2\,(1+2r^2)^{-3/2}`.
    u^k is written q^{(k-1)/2}·u, which keeps the sign of r and a finite gradient at 0."""
    q = 2 * r**2 / (1 + 2 * r**2)
    root = math.sqrt(2) * r / torch.sqrt(1 + 2 * r**2)
    du = math.sqrt(2) * (1 + 2 * r**2) ** -1.5
    constants = _erf_constants(K)
    if not constants:
        return torch.zeros(*r.shape, K, dtype=r.dtype, device=r.device)
    C = torch.tensor([const * k if slope else const for k, const in constants], dtype=r.dtype, device=r.device)
    powers = torch.cat([torch.ones_like(q)[..., None], q[..., None].expand(*q.shape, len(constants) - 1)], -1)
    return _odd_columns(powers.cumprod(-1) * C * (du if slope else root)[..., None], r, K)


def _odd_columns(odd, r, K):
    """Coefficients (…, K) with ``odd`` (…, K // 2) at the odd k and zeros at the even ones."""
    out = torch.zeros(*r.shape, K, dtype=r.dtype, device=r.device)
    out[..., 1::2] = odd
    return out


def _erf_coefficients(r, K):
    return _erf_series(r, K, slope=False)


def _erf_slopes(r, K):
    return _erf_series(r, K, slope=True)


def _mixture_lead(weights, scales, R, A, slope):
    r""":math:`w_j\sqrt2R_j/\sqrt{A_j}` (the values' factor u_j) or :math:`w_j\beta_j\sqrt2A_j^{-3/2}` (the slopes'
    ∂_r u_j), :math:`R_j = \beta_jr`, :math:`A_j = 1 + 2R_j^2`."""
    return weights * scales * math.sqrt(2) * A**-1.5 if slope else weights * math.sqrt(2) * R * A.rsqrt()


def _mixture_series(mixture, r, K, kinds=(False,)):
    r"""σ = Σ_j w_j erf(β_j ·) (:attr:`Activation.mixture`): :math:`c_k(r) = \sum_jw_jc^{\mathrm{erf}}_k(\beta_jr)`
    and :math:`c_k'(r) = \sum_jw_j\beta_j\,c^{\mathrm{erf}\prime}_k(\beta_jr)` from erf's closed form
    (:func:`_erf_series`; odd k only), the sums over j run by the recurrence in q_j = u_j²: one (…, J) pass per
    term instead of a quadrature per norm. Every w_j > 0 (tanh: a probability density), so the sums do not cancel,
    and :math:`|c_k - c_k^{\tanh}| \le \|\mathrm{mixture} - \tanh\|_{L^2(N(0,1))}` ≤ 3e-15 (Cauchy–Schwarz).
    One tensor per entry of ``kinds`` (False: c_k, True: c_k'); asked together they share the powers of q_j."""
    weights, scales = mixture_tensors(mixture, r.dtype, r.device)
    constants = _erf_constants(K)
    if not constants:
        return tuple(torch.zeros(*r.shape, K, dtype=r.dtype, device=r.device) for _ in kinds)
    C = torch.tensor(
        [[const * k if slope else const for slope in kinds] for k, const in constants], dtype=r.dtype, device=r.device
    )
    flat, terms = r.reshape(-1), len(constants)
    chunk = max(1, _MIXTURE_BUDGET // (terms * scales.numel()))
    parts = []
    for start in range(0, flat.numel(), chunk):
        R = flat[start : start + chunk, None] * scales
        A = 1 + 2 * R * R
        q = 2 * R * R / A
        lead = torch.stack([_mixture_lead(weights, scales, R, A, kind) for kind in kinds], -1)
        powers = torch.cat([torch.ones_like(q)[:, None], q[:, None].expand(-1, terms - 1, -1)], 1).cumprod(1)
        parts.append((powers @ lead) * C)  # (chunk, terms, kinds): Σ_j lead_j q_j^m
    odd = torch.cat(parts).reshape(*r.shape, terms, len(kinds)) if parts else r.new_zeros(*r.shape, terms, len(kinds))
    return tuple(_odd_columns(odd[..., i], r, K) for i in range(len(kinds)))


def _tanh_coefficients(r, K):
    return _mixture_series(tanh_erf_mixture(), r, K)[0]


def _tanh_slopes(r, K):
    return _mixture_series(tanh_erf_mixture(), r, K, (True,))[0]


def _tanh_both(r, K):
    return _mixture_series(tanh_erf_mixture(), r, K, (False, True))


def _gelu_series(r, K, kinds=(False,)):
    r"""GELU(rz) = rz/2 + rz·erf(rz/√2)/2 and :math:`z h_k = \sqrt{k+1}h_{k+1} + \sqrt k h_{k-1}`: with e_k the erf
    coefficients at s = r/√2 (:func:`_erf_series`), :math:`c_k(r) = \frac r2\delta_{k1} + \frac r2(\sqrt{k+1}e_{k+1}
    + \sqrt ke_{k-1})` (even k and k = 1), and c_k' by the product rule (:math:`\partial_r e_k(s) = e_k'(s)/\sqrt2`).
    One tensor per entry of ``kinds`` (False: c_k, True: c_k'), the e_k computed once."""
    s = r / math.sqrt(2)
    e = _erf_series(s, K + 1, slope=False)
    roots = torch.arange(K + 1, dtype=r.dtype, device=r.device).sqrt()

    def shifted(t):  # √(k+1) t_{k+1} + √k t_{k−1}, k < K
        out = t[..., 1:] * roots[1:]
        return torch.cat([out[..., :1], out[..., 1:] + t[..., : K - 1] * roots[1:K]], -1)

    linear = torch.zeros(K, dtype=r.dtype, device=r.device)
    linear[1:2] = 0.5
    out = []
    for slope in kinds:
        if not slope:
            out.append(r[..., None] * (linear + shifted(e) / 2))
        else:
            de = _erf_series(s, K + 1, slope=True)
            out.append(linear + shifted(e) / 2 + r[..., None] * shifted(de) / (2 * math.sqrt(2)))
    return tuple(out)


def _gelu_coefficients(r, K):
    return _gelu_series(r, K)[0]


def _gelu_slopes(r, K):
    return _gelu_series(r, K, (True,))[0]


def _gelu_both(r, K):
    return _gelu_series(r, K, (False, True))


def _erf_smoothed(a, b):
    r"""erf: with :math:`q = 1 + 2b^2`, :math:`E\,\mathrm{erf}(Y) = \mathrm{erf}(a/\sqrt q)`,
    :math:`E\,\mathrm{erf}'(Y) = \frac{2}{\sqrt\pi}e^{-a^2/q}/\sqrt q` and, since :math:`e^{-y^2}` tilts
    :math:`N(a, b^2)` to mean a/q, :math:`E[\mathrm{erf}'(Y)Y] = E\,\mathrm{erf}'(Y)\cdot a/q`."""
    q = 1 + 2 * b * b
    slope = (2 / math.sqrt(math.pi)) * torch.exp(-a * a / q) * q.rsqrt()
    return torch.erf(a * q.rsqrt()), slope, slope * a / q


def _gelu_smoothed(a, b):
    r"""GELU σ(y) = yΦ(y), σ'(y) = Φ(y) + yφ(y): with :math:`q = 1 + b^2`, :math:`t = a/\sqrt q`,
    :math:`E\,\Phi(Y) = \Phi(t)`, :math:`E\,\varphi(Y) = \varphi(t)/\sqrt q` and φ tilting :math:`N(a, b^2)` to
    :math:`N(a/q, b^2/q)`: :math:`E\sigma(Y) = a\Phi(t) + \frac{b^2}{\sqrt q}\varphi(t)` (Stein:
    :math:`E[bZ\Phi(Y)] = b^2 E\varphi(Y)`), :math:`E\sigma'(Y) = \Phi(t) + a\varphi(t)q^{-3/2}`,
    :math:`E[\sigma'(Y)Y] = E\sigma(Y) + \frac{\varphi(t)}{\sqrt q}\big(\frac{a^2}{q^2} + \frac{b^2}{q}\big)`."""
    q = 1 + b * b  # factors of q on b's shape (one per pair in the engine): few passes over a's shape
    inv_q, inv_root, b2 = 1 / q, q.rsqrt(), b * b
    t = a * inv_root
    cdf = _gaussian_cdf(t)
    density = torch.exp(t * t * -0.5) * (inv_root / math.sqrt(2 * math.pi))  # E φ(Y)
    m = torch.addcmul(a * cdf, b2, density)
    tilted = a * density
    n = torch.addcmul(m, a * tilted, inv_q * inv_q).addcmul_(density, b2 * inv_q)
    return m, torch.addcmul(cdf, tilted, inv_q), n


def _theta_derivative(u):
    r""":math:`\nu(u) = \sum_{n\ge1}(-1)^{n+1}2n^2e^{-n^2u}`, for u < 1.5 through Jacobi's transformation
    :math:`\nu(u) = 2\sqrt\pi\,u^{-5/2}\sum_{m\ge0}(c_m - u/2)e^{-c_m/u}`, :math:`c_m = \pi^2(2m+1)^2/4`."""
    small = u < 1.5
    m = np.arange(12)[:, None]
    c = np.pi**2 * (2 * m + 1) ** 2 / 4
    us = np.where(small, u, 1.0)
    jacobi = 2 * np.sqrt(np.pi) * us**-2.5 * ((c - us / 2) * np.exp(-c / us)).sum(0)
    n = np.arange(1, 40)[:, None]
    direct = ((-1.0) ** (n + 1) * 2 * n**2 * np.exp(-(n**2) * np.where(small, 1.5, u))).sum(0)
    return np.where(small, jacobi, direct)


_MIXTURE_STEP = 0.25
_MIXTURE_BUDGET = 2**20  # (norm × term × mixture term) entries per chunk of _mixture_series


@cache
def tanh_erf_mixture():
    r"""tanh as a Gaussian scale mixture of erf's: :math:`\tanh z = \int_0^\infty \mathrm{erf}(z/\sqrt u)\,\nu(u)\,du`
    with ν the density of :math:`\sum_{n\ge1}E_n/n^2`, :math:`E_n` i.i.d. Exp(1).

    Proof: :math:`\tanh z = \int_0^\infty \frac{\sin\omega z}{\sinh(\pi\omega/2)}d\omega` and
    :math:`\mathrm{erf}(\beta z) = \frac2\pi\int_0^\infty \frac{\sin\omega z}{\omega}e^{-\omega^2/4\beta^2}d\omega`, so
    the mixture needs :math:`\int e^{-tu}\nu(u)du = \frac{\pi\sqrt t}{\sinh\pi\sqrt t} = \prod_n (1 + t/n^2)^{-1}`
    (t = ω²/4), the Laplace transform of that sum. Discretised by the trapezoidal rule in log u (step 0.25,
    log u ∈ [−4.5, 4.5], weights below 1e-17 dropped: 26 terms); the integrand is analytic in a strip around the real
    log u axis and decays doubly exponentially at both ends, so the rule converges geometrically (step 0.3: 1.5e-12,
    0.25: 2.4e-15, 0.2: rounding, 1.3e-15): measured max |tanh − mixture| ≤ 3e-15 and ≤ 7e-15 for the derivatives
    (sech²) on a fine grid of z (tests), so a kernel through it is within ~1e-14 of the scale. Each pair of flagged tanh particles costs (terms)² arcsines. Returns
    (weights, scales β_j = u_j^{-1/2}) as tuples of floats."""
    log_u = np.arange(-4.5, 4.5, _MIXTURE_STEP)
    u = np.exp(log_u)
    weights = _MIXTURE_STEP * _theta_derivative(u) * u
    keep = weights > 1e-17
    return tuple(weights[keep].tolist()), tuple((u[keep] ** -0.5).tolist())


def _relu(z):
    return torch.relu(z)


def _relu_derivative(z):
    """1[z > 0], written into a floating tensor directly (several times faster than converting a bool tensor)."""
    return torch.gt(z, 0, out=torch.empty_like(z))


def _erf_derivative(z):
    return (2 / math.sqrt(math.pi)) * torch.exp(-z * z)


def _tanh_derivative(z):
    return 1 - torch.tanh(z) ** 2


def _gaussian_cdf(z):
    return 0.5 * (1 + torch.erf(z / math.sqrt(2)))


def _gelu(z):
    return z * _gaussian_cdf(z)


def _gelu_derivative(z):
    return _gaussian_cdf(z) + z * torch.exp(-z * z / 2) / math.sqrt(2 * math.pi)


@cache
def _hermite_polynomial_activation(p):
    """He_p as an Activation, built once per degree (so ``get_activation('he3') is get_activation('he3')``)."""

    def fn(z):
        return hermite_e(z, p + 1)[..., p]

    def derivative(z):
        return p * hermite_e(z, p)[..., p - 1] if p > 0 else torch.zeros_like(z)

    return Activation(
        name=f"he{p}",
        fn=fn,
        derivative=derivative,
        parity="even" if p % 2 == 0 else "odd",
        homogeneous=False,
        linear_part=False,
        degree=p,
        series_terms=p + 1,
    )


_NAMED = {
    "relu": Activation("relu", _relu, _relu_derivative, None, True, True, None, 96, _relu_coefficients, _relu_slopes),
    "erf": Activation(
        "erf",
        torch.erf,
        _erf_derivative,
        "odd",
        False,
        False,
        None,
        96,
        _erf_coefficients,
        _erf_slopes,
        mixture=((1.0,), (1.0,)),
    ),
    "tanh": Activation(
        "tanh",
        torch.tanh,
        _tanh_derivative,
        "odd",
        False,
        False,
        None,
        96,
        _tanh_coefficients,
        _tanh_slopes,
        mixture=tanh_erf_mixture(),
        closed_both=_tanh_both,
    ),
    "gelu": Activation(
        "gelu",
        _gelu,
        _gelu_derivative,
        None,
        False,
        True,
        None,
        64,
        _gelu_coefficients,
        _gelu_slopes,
        smoothing=_gelu_smoothed,
        closed_both=_gelu_both,
    ),
    "quadratic": Activation("quadratic", lambda z: z * z, lambda z: 2 * z, "even", False, False, 2, 3),
}


def lookup(param, name):
    """The activation called ``name`` ("relu", "tanh", "erf", "gelu", "quadratic", "he<k>"), or ``name`` if it is an
    Activation; errors start with ``param``. "he<k>" is refused before allocating when its (k+1)² Hermite table of
    float64 cannot fit in the memory available."""
    if isinstance(name, Activation):
        return name
    if isinstance(name, str):
        key = name.lower()
        if key in _NAMED:
            return _NAMED[key]
        match = re.fullmatch(r"he(\d+)", key)
        if match:
            refuse_memory(param, 8 * (int(match.group(1)) + 1) ** 2)
            return _hermite_polynomial_activation(int(match.group(1)))
    else:
        raise TypeError(f"{param}: need a name such as 'erf' or an Activation, got {describe(name)}")
    raise ValueError(f"{param}: unknown activation {name!r}; choose one of {ACTIVATIONS} or 'he<k>'")


@validated(activation=ActivationName())
def get_activation(activation):
    """The activation called ``activation`` ("relu", "tanh", "erf", "gelu", "quadratic", "he<k>"); an Activation passes
    through (the contract resolves it: :func:`lookup`); errors name the parameter ``activation``.

    The same name always gives the same object, so public functions resolve once at their entry and pass it on."""
    return activation


def hermite_activation(beta, name="hermite"):
    r"""The function :math:`g(z) = \sum_k \beta_k h_k(z)` (orthonormal Hermite coefficients β) as an Activation."""
    beta = torch.as_tensor(beta, dtype=torch.float64)
    if beta.ndim != 1 or beta.numel() == 0 or not torch.isfinite(beta).all():
        raise ValueError("beta: need a non-empty finite 1-D vector of Hermite coefficients")
    K = beta.numel()
    sqrt_k = torch.sqrt(torch.arange(K, dtype=torch.float64))

    def fn(z):
        return hermite_orthonormal(z, K) @ beta.to(z)

    def derivative(z):  # h_k' = sqrt(k) h_{k-1}
        if K == 1:
            return torch.zeros_like(z)
        return hermite_orthonormal(z, K - 1) @ (beta[1:] * sqrt_k[1:]).to(z)

    nonzero = torch.nonzero(beta).flatten()
    odd = bool((nonzero % 2 == 1).all()) and nonzero.numel() > 0
    even = bool((nonzero % 2 == 0).all())
    return Activation(
        name=name,
        fn=fn,
        derivative=derivative,
        parity="odd" if odd else ("even" if even else None),
        homogeneous=False,
        linear_part=False,
        degree=K - 1,
        series_terms=K,
    )
