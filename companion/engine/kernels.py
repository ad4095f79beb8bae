r"""Exact Gaussian expectations :math:`E_{x\sim N(0,I_d)}[\sigma(w\cdot x)\,\sigma_2(v\cdot x)]`.

Closed forms: erf (arcsine kernel) and ReLU (arc-cosine kernel of order 1), for any norms.
Otherwise Mehler's formula :math:`\sum_k c_k(|w|)\,c^{(2)}_k(|v|)\,\rho^k`, :math:`\rho = \hat w\cdot\hat v`,
summed by Horner's rule (truncated at the activation's ``series_terms``; exact for polynomials).
All functions are differentiable in their inputs: autograd through them is the reference for the explicit gradients
of :mod:`companion.engine.gradients`, which the engine uses.
"""
import math

import torch

from .activations import get_activation
from .validation import float_tensor, positive_int

_TINY = 1e-30


class _ArcCosineJ(torch.autograd.Function):
    r""":math:`J(\rho) = \sqrt{1-\rho^2} + (\pi - \arccos\rho)\rho` with the finite derivative
    :math:`J'(\rho) = \pi - \arccos\rho` (autograd through sqrt and arccos separately gives inf − inf at ρ = ±1)."""

    @staticmethod
    def forward(ctx, rho):
        rho = rho.clamp(-1.0, 1.0)
        ctx.save_for_backward(rho)
        return torch.sqrt(1 - rho * rho) + (math.pi - torch.arccos(rho)) * rho

    @staticmethod
    def backward(ctx, grad_out):
        (rho,) = ctx.saved_tensors
        return grad_out * (math.pi - torch.arccos(rho))


def norms_and_cosines(W, V):
    r"""Norms |w|, |v| and cosines :math:`\rho = \hat w\cdot\hat v` (0 where a norm vanishes): (..., N), (..., M), (..., N, M)."""
    nw = W.norm(dim=-1)
    nv = V.norm(dim=-1)
    rho = (W @ V.transpose(-1, -2)) / (nw[..., :, None] * nv[..., None, :]).clamp_min(_TINY)
    return nw, nv, rho.clamp(-1.0, 1.0)


def relu_kernel(W, V):
    r"""Arc-cosine kernel: :math:`E[\mathrm{relu}(w\cdot x)\mathrm{relu}(v\cdot x)] = \frac{|w||v|}{2\pi} J(\rho)`."""
    nw, nv, rho = norms_and_cosines(W, V)
    return nw[..., :, None] * nv[..., None, :] * _ArcCosineJ.apply(rho) / (2 * math.pi)


def erf_kernel(W, V):
    r"""Arcsine kernel: :math:`E[\mathrm{erf}(w\cdot x)\mathrm{erf}(v\cdot x)] = \frac{2}{\pi}\arcsin
    \frac{2\,w\cdot v}{\sqrt{(1+2|w|^2)(1+2|v|^2)}}`."""
    nw2 = (W * W).sum(-1)
    nv2 = (V * V).sum(-1)
    denom = torch.sqrt((1 + 2 * nw2)[..., :, None] * (1 + 2 * nv2)[..., None, :])
    return (2 / math.pi) * torch.arcsin(2 * (W @ V.transpose(-1, -2)) / denom)


_CLOSED_FORMS = {"relu": relu_kernel, "erf": erf_kernel}


def hermite_series(coef_a, coef_b, rho):
    r""":math:`\sum_k A_{nk} B_{mk} \rho_{nm}^k` by Horner's rule; A (..., N, K), B (..., M, K), ρ (..., N, M)."""
    K = min(coef_a.shape[-1], coef_b.shape[-1])
    total = coef_a[..., :, None, K - 1] * coef_b[..., None, :, K - 1]
    for k in range(K - 2, -1, -1):
        total = total * rho + coef_a[..., :, None, k] * coef_b[..., None, :, k]
    return total


def _check_pair(W, V):
    if W.shape[-1] != V.shape[-1]:
        raise ValueError(f"V: input dimension {V.shape[-1]} does not match W's {W.shape[-1]}")


def cross_kernel(activation, W, activation2, V, terms=None):
    r""":math:`E[\sigma(w\cdot x)\,\sigma_2(v\cdot x)]` for all pairs: shape (..., N, M)."""
    act, act2 = get_activation(activation), get_activation(activation2)
    _check_pair(W, V)
    if act == act2 and act.name in _CLOSED_FORMS:
        return _CLOSED_FORMS[act.name](W, V)
    K = terms or max(act.series_terms, act2.series_terms)
    nw, nv, rho = norms_and_cosines(W, V)
    return hermite_series(act.coefficients(nw, K), act2.coefficients(nv, K), rho)


def gaussian_kernel(activation, W, V, terms=None):
    r""":math:`E_{x\sim N(0,I)}[\sigma(w\cdot x)\sigma(v\cdot x)]` for all pairs (w in W, v in V): shape (..., N, M).

    Floating tensors pass unchecked for values (no device sync in the inner loops); integer or NumPy inputs are
    converted."""
    act = get_activation(activation)
    W = float_tensor("W", W, shape=(..., None, None), label="(..., N, d)", finite=False, nonempty=False)
    V = float_tensor("V", V, shape=(..., None, None), label="(..., M, d)", finite=False, nonempty=False,
                     dtype=None if torch.is_tensor(V) and V.is_floating_point() else W.dtype)
    if V.dtype != W.dtype:
        raise TypeError(f"V: dtype {V.dtype} does not match W's {W.dtype}")
    terms = None if terms is None else positive_int("terms", terms)
    return cross_kernel(act, W, act, V, terms)
