r"""Probabilists' Hermite polynomials and Gaussian quadrature.

``He_k`` are orthogonal under :math:`Z \sim N(0,1)` with :math:`E[He_j(Z) He_k(Z)] = k!\,\delta_{jk}`;
the orthonormal family is :math:`h_k = He_k/\sqrt{k!}`. Every activation in the companion is expanded as
:math:`\sigma(rz) = \sum_k c_k(r)\, h_k(z)` with :math:`c_k(r) = E[\sigma(rZ)\, h_k(Z)]`.
"""
import math
from functools import lru_cache

import numpy as np
import torch


def hermite_e(z, K):
    r"""Values :math:`He_0(z), \dots, He_{K-1}(z) = \sqrt{k!}\, h_k(z)`, shape ``z.shape + (K,)``."""
    values = hermite_orthonormal(z, K)
    log_factorials = torch.lgamma(torch.arange(1, K + 1, dtype=torch.float64))
    return values * torch.exp(0.5 * log_factorials).to(values)


def hermite_orthonormal(z, K):
    r"""Values :math:`h_k(z) = He_k(z)/\sqrt{k!}` for k < K, computed by the stable normalised recurrence
    :math:`h_{k+1} = (z h_k - \sqrt{k}\, h_{k-1})/\sqrt{k+1}`."""
    if K < 1:
        raise ValueError(f"K: need at least one Hermite polynomial, got {K}")
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
    if n < 1:
        raise ValueError(f"n: need at least one quadrature node, got {n}")
    nodes, weights = _gauss_hermite_numpy(int(n))
    return (torch.as_tensor(nodes, dtype=dtype, device=device),
            torch.as_tensor(weights, dtype=dtype, device=device))


def hermite_coefficients(fn, r, K, n_nodes=200):
    r"""Orthonormal coefficients :math:`c_k(r) = E[fn(rZ)\, h_k(Z)]`, k < K, by Gauss–Hermite quadrature.

    ``r`` is a tensor of scales; the result has shape ``r.shape + (K,)`` and is differentiable in ``r``.
    Accurate for smooth ``fn``; kinks (ReLU) need closed forms.
    """
    r = torch.as_tensor(r)
    nodes, weights = gauss_hermite(n_nodes, dtype=r.dtype, device=r.device)
    basis = hermite_orthonormal(nodes, K) * weights[:, None]          # (q, K)
    return fn(r[..., None] * nodes) @ basis                           # (..., K)


def hermite_coefficient_slopes(derivative, r, K, n_nodes=200):
    r"""Radial derivatives :math:`c_k'(r) = E[\sigma'(rZ)\, Z\, h_k(Z)]` of :func:`hermite_coefficients` (``derivative``
    is σ'), by the same Gauss–Hermite rule, so that they are the exact derivatives of the quadrature coefficients."""
    r = torch.as_tensor(r)
    nodes, weights = gauss_hermite(n_nodes, dtype=r.dtype, device=r.device)
    basis = hermite_orthonormal(nodes, K) * (weights * nodes)[:, None]
    return derivative(r[..., None] * nodes) @ basis
