r"""Probabilists' Hermite polynomials and Gaussian quadrature.

``He_k`` are orthogonal under :math:`Z \sim N(0,1)` with :math:`E[He_j(Z) He_k(Z)] = k!\,\delta_{jk}`;
the orthonormal family is :math:`h_k = He_k/\sqrt{k!}`. Every activation in the companion is expanded as
:math:`\sigma(rz) = \sum_k c_k(r)\, h_k(z)` with :math:`c_k(r) = E[\sigma(rZ)\, h_k(Z)]`.
"""

import math
from functools import lru_cache

import numpy as np
import torch

from .validation import positive_int


def hermite_e(z, K):
    r"""Values :math:`He_0(z), \dots, He_{K-1}(z) = \sqrt{k!}\, h_k(z)`, shape ``z.shape + (K,)``."""
    values = hermite_orthonormal(z, K)
    log_factorials = torch.lgamma(torch.arange(1, K + 1, dtype=torch.float64))
    return values * torch.exp(0.5 * log_factorials).to(values)


def hermite_orthonormal(z, K):
    r"""Values :math:`h_k(z) = He_k(z)/\sqrt{k!}` for k < K, computed by the stable normalised recurrence
    :math:`h_{k+1} = (z h_k - \sqrt{k}\, h_{k-1})/\sqrt{k+1}`."""
    K = positive_int("K", K)
    values = [torch.ones_like(z)]
    if K > 1:
        values.append(z)
    for k in range(1, K - 1):
        values.append((z * values[k] - math.sqrt(k) * values[k - 1]) / math.sqrt(k + 1))
    return torch.stack(values, dim=-1)


@lru_cache(maxsize=16)
def _gauss_hermite_numpy(n):
    nodes, weights = np.polynomial.hermite_e.hermegauss(n)
    return nodes, weights / weights.sum()


def gauss_hermite(n, dtype=torch.float64, device="cpu"):
    r"""Nodes and weights with :math:`\sum_q w_q g(z_q) \approx E[g(Z)]`, exact for polynomials of degree < 2n."""
    nodes, weights = _gauss_hermite_numpy(positive_int("n", n))
    return (torch.as_tensor(nodes, dtype=dtype, device=device), torch.as_tensor(weights, dtype=dtype, device=device))


def hermite_coefficients(fn, r, K, n_nodes=200):
    r"""Orthonormal coefficients :math:`c_k(r) = E[fn(rZ)\, h_k(Z)]`, k < K, by Gauss–Hermite quadrature.

    ``r`` is a tensor of scales; the result has shape ``r.shape + (K,)`` and is differentiable in ``r``.
    Accurate for smooth ``fn``; kinks (ReLU) need closed forms.
    """
    r = torch.as_tensor(r)
    nodes, weights = gauss_hermite(n_nodes, dtype=r.dtype, device=r.device)
    basis = hermite_orthonormal(nodes, K) * weights[:, None]  # (q, K)
    return fn(r[..., None] * nodes) @ basis  # (..., K)


def hermite_coefficient_slopes(derivative, r, K, n_nodes=200):
    r"""Radial derivatives :math:`c_k'(r) = E[\sigma'(rZ)\, Z\, h_k(Z)]` of :func:`hermite_coefficients` (``derivative``
    is σ'), by the same Gauss–Hermite rule, so that they are the exact derivatives of the quadrature coefficients."""
    r = torch.as_tensor(r)
    nodes, weights = gauss_hermite(n_nodes, dtype=r.dtype, device=r.device)
    basis = hermite_orthonormal(nodes, K) * (weights * nodes)[:, None]
    return derivative(r[..., None] * nodes) @ basis


_PANEL_NODES = 16
_PANEL_WIDTH = 0.4


@lru_cache(maxsize=32)
def _graded_rule_numpy(K, scale):
    """Composite 16-point Gauss–Legendre on [−L, L], L = √(4K+2) + 7, panels 0.5/scale wide near 0 (8 a side),
    doubling up to 0.4, then 0.4 wide; weights include the Gaussian density."""
    L = math.sqrt(4 * K + 2) + 7
    edges, edge, width = [0.0], 0.0, 0.5 / scale
    for _ in range(8):
        edge += width
        edges.append(edge)
    while edge < L:
        width = min(2 * width, _PANEL_WIDTH)
        edge += width
        edges.append(edge)
    x, w = np.polynomial.legendre.leggauss(_PANEL_NODES)
    a, b = np.array(edges[:-1])[:, None], np.array(edges[1:])[:, None]
    half_nodes = ((a + b) / 2 + (b - a) / 2 * x).ravel()
    half_weights = ((b - a) / 2 * w).ravel() * np.exp(-(half_nodes**2) / 2) / math.sqrt(2 * math.pi)
    return np.concatenate([-half_nodes[::-1], half_nodes]), np.concatenate([half_weights[::-1], half_weights])


def graded_rule(K, r_max, dtype=torch.float64, device="cpu"):
    r"""Nodes and weights with :math:`\sum_q w_q g(z_q) \approx E[g(Z)]` for :math:`g(z) = \sigma(rz)\,h_k(z)`, k < K,
    σ analytic with singularities at distance ∝ 1/r from the real axis (tanh: iπ/2r), r ≤ r_max: panels near 0 shrink
    like 1/r_max (r_max rounded up to a power of 2, at least 1, so that few rules are built)."""
    scale = 2.0 ** max(0, math.ceil(math.log2(max(float(r_max), 1.0))))
    nodes, weights = _graded_rule_numpy(int(K), scale)
    return (torch.as_tensor(nodes, dtype=dtype, device=device), torch.as_tensor(weights, dtype=dtype, device=device))


def graded_coefficients(fn, r, K, slope=None, parity=None):
    r""":math:`c_k(r) = E[fn(rZ)\,h_k(Z)]` by :func:`graded_rule`, or with ``slope`` = σ' the radial derivatives
    :math:`c_k'(r) = E[\sigma'(rZ)\,Z\,h_k(Z)]`: shape ``r.shape + (K,)``, differentiable in r. For ``parity`` "odd" or
    "even" only the half line z > 0 and the coefficients of that parity are computed (the others vanish; the slopes'
    integrand σ'(rz)·z·h_k(z) has the parity of σ·h_k too). Computed in float64 whatever r's dtype (the h_k
    reach 1e60 at the outer nodes for K = 96, beyond float32) and returned in r's dtype."""
    r = torch.as_tensor(r)
    if r.dtype != torch.float64:
        return graded_coefficients(fn, r.double(), K, slope, parity).to(r.dtype)
    nodes, weights = graded_rule(K, r.detach().abs().max().item() if r.numel() else 1.0, r.dtype, r.device)
    weights = weights if slope is None else weights * nodes
    if parity is None:
        return (fn if slope is None else slope)(r[..., None] * nodes) @ (
            hermite_orthonormal(nodes, K) * weights[:, None]
        )
    half = nodes.numel() // 2
    nodes, weights = nodes[half:], 2 * weights[half:]
    ks = torch.arange(1 if parity == "odd" else 0, K, 2, device=r.device)
    basis = hermite_orthonormal(nodes, K)[:, ks] * weights[:, None]
    out = torch.zeros(*r.shape, K, dtype=r.dtype, device=r.device)
    out[..., ks] = (fn if slope is None else slope)(r[..., None] * nodes) @ basis
    return out


_KINK_REACH = 10.0  # φ(10) ≈ 8e-23: the Gaussian mass beyond is below every tolerance here


@lru_cache(maxsize=16)
def _kink_rule_numpy(scale):
    """Composite 16-point Gauss–Legendre on [−10, 10] with panel edges 0, ±w·2^j (w = 1/(2·scale)) up to ±1, then
    ±2, ±3, ±4, ±6, ±8, ±10; weights include the Gaussian density."""
    edges, edge = [0.0], 0.5 / scale
    while edge < 1.0:
        edges.append(edge)
        edge *= 2
    edges += [1.0, 2.0, 3.0, 4.0, 6.0, 8.0, _KINK_REACH]
    x, w = np.polynomial.legendre.leggauss(_PANEL_NODES)
    a, b = np.array(edges[:-1])[:, None], np.array(edges[1:])[:, None]
    half_nodes = ((a + b) / 2 + (b - a) / 2 * x).ravel()
    half_weights = ((b - a) / 2 * w).ravel() * np.exp(-(half_nodes**2) / 2) / math.sqrt(2 * math.pi)
    return np.concatenate([-half_nodes[::-1], half_nodes]), np.concatenate([half_weights[::-1], half_weights])


def kink_rule(r_max, dtype=torch.float64, device="cpu"):
    r"""Nodes and weights with :math:`\sum_q w_q g(z_q) \approx E[g(Z)]` for integrands that bend at z = 0 on the
    scale 1/r, r ≤ r_max: a kink exactly at 0 (ReLU: 0 is a panel edge), poles at distance ∝ 1/r from 0 (tanh(rz):
    iπ/2r), Gaussian smoothings of such functions. Panels are graded geometrically towards 0 from width 1 down to
    1/(2·scale), scale = r_max rounded up to a power of 2 (at least 1): a panel [t, 2t] sees a singularity near 0
    through a Bernstein ellipse of parameter ≥ 3 + √8, so 16 nodes give ~(3 + √8)^-32 ≈ 1e-24 relative accuracy;
    the first panel [0, w] sees iπ/2r at ≥ 2π half-widths. Smooth parts (unit panels up to 4, then width 2 up to
    10) are integrated to rounding. About 2·16·(log2(2·scale) + 7) nodes (448 for scale 16)."""
    scale = 2.0 ** max(0, math.ceil(math.log2(max(float(r_max), 1.0))))
    nodes, weights = _kink_rule_numpy(scale)
    return torch.as_tensor(nodes, dtype=dtype, device=device), torch.as_tensor(weights, dtype=dtype, device=device)
