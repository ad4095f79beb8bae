r"""Exact Gaussian expectations :math:`E_{x\sim N(0,I_d)}[\sigma(w\cdot x)\,\sigma_2(v\cdot x)]`.

Closed forms: erf (arcsine kernel) and ReLU (arc-cosine kernel of order 1), for any norms.
Otherwise Mehler's formula :math:`\sum_k c_k(|w|)\,c^{(2)}_k(|v|)\,\rho^k`, :math:`\rho = \hat w\cdot\hat v`,
summed by Horner's rule (truncated at K terms, the activation's ``series_terms``; exact for polynomials), except
for the pairs where the truncation could matter, which are computed exactly instead (:func:`exact_pairs`).

Which pairs: with :math:`T_0(r)^2 = E\sigma(rZ)^2 - \sum_{k<K}c_k(r)^2` the tail energy of the coefficients,
Cauchy–Schwarz bounds the truncation error by :math:`|\rho|^K T_0(r)T_0(s)`. The same holds for the ρ-derivative
(:math:`\sum_k k c_k^2 = r^2E\sigma'(rZ)^2`, since :math:`h_k' = \sqrt k h_{k-1}`; tail :math:`|\rho|^{K-1}T_1T_1`)
and the radial one (:math:`\sum_k c_k'^2 = E[\sigma'(rZ)^2Z^2]`). Per particle, τ(r) is the largest of the three
tail ratios T/S (S² the full sums, the scales that bound |K| and its derivatives); a pair is *flagged* when
:math:`|\rho|^{K-1}\tau(r)\tau(s) >` :data:`SERIES_TOLERANCE` (1e-13 in float64, the dtype's eps otherwise), so the
series is used only where it is within that fraction of the scale. Norms ≲ 1 (tanh, GELU) are never flagged, so the
common case costs one comparison per block; large norms near ρ = ±1 (the diagonal w = v!) are.

All functions are differentiable in their inputs: autograd through them (flagged pairs through :class:`_ExactPairs`,
whose backward uses the exact partial derivatives) is the reference for the explicit gradients of
:mod:`companion.engine.gradients`, which the engine uses.
"""

import math

import torch

from .activations import get_activation, mixture_tensors
from .contract import ActivationName, Int, Maybe, Tensor, validated
from .hermite import kink_rule

_TINY = 1e-30
SERIES_TOLERANCE = 1e-13
PAIR_BUDGET = 2**16  # (pair × node) entries per chunk of flagged pairs: 512 KiB a temporary in float64, cache-sized
# (measured on one CPU thread against 2**20: the erf mixture 1.2×, the GELU quadrature 2.2× faster; the conditioned
# quadrature, with more temporaries per entry, takes half of it: 1.3× faster again than at 2**16)


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


def _hermite_support(act):
    """(even terms present, odd terms: "all", "linear" (k = 1 only) or "none", highest degree or None) of the Hermite
    expansion of σ (None: a profile, unknown)."""
    if act is None:
        return True, "all", None
    if act.parity == "odd":
        even, odd = False, "all"
    elif act.parity == "even":
        even, odd = True, "none"
    else:
        even, odd = True, "linear" if act.linear_part else "all"  # σ(z) − σ(−z) = z: the odd part is z/2
    return even, odd, act.degree


def series_parts(act, act2, K):
    r"""The terms k < K of the Mehler series of the pair (σ, σ_2) that parity does not cancel, split by parity:
    [(p, (p, p + 2, …))] for p in (0, 1), and whether the series is exact (finite support within K, no tail: e.g. an
    odd σ against one whose odd part is linear, ReLU or GELU against erf or tanh, where K = c_1d_1ρ). c_kd_k vanishes
    for the other k whatever the norms (odd σ: even k; σ(z) − σ(−z) = z: odd k > 1)."""
    (even, odd, top), (even2, odd2, top2) = _hermite_support(act), _hermite_support(act2)
    tops = [t for t in (top, top2) if t is not None]
    top = min(tops) if tops else None
    odd = "none" if "none" in (odd, odd2) else "linear" if "linear" in (odd, odd2) else "all"
    last = K - 1 if top is None else min(K - 1, top)
    parts = []
    if even and even2:
        parts.append((0, tuple(range(0, last + 1, 2))))
    if odd != "none" and last >= 1:
        parts.append((1, tuple(range(1, (1 if odd == "linear" else last) + 1, 2))))
    parts = [(p, ks) for p, ks in parts if ks]
    exact = (top is not None and top < K) or (not (even and even2) and odd != "all")
    return parts, exact


def series_tolerance(dtype):
    """The truncation bound below which the Mehler series is used: 1e-13, or the dtype's eps where that is larger."""
    return max(SERIES_TOLERANCE, torch.finfo(dtype).eps)


def _full_moments(act, r):
    r""":math:`(E\sigma(rZ)^2,\ r^2E\sigma'(rZ)^2,\ E[\sigma'(rZ)^2Z^2])` by :func:`companion.engine.hermite.kink_rule`."""
    nodes, weights = kink_rule(r.max().item() if r.numel() else 1.0, r.dtype, r.device)
    pre = r[..., None] * nodes
    value, slope = act.fn(pre), act.derivative(pre)
    return (value * value) @ weights, r * r * ((slope * slope) @ weights), (slope * slope) @ (weights * nodes * nodes)


def tail_ratios(act, r, coef, slopes):
    r"""τ(r) (see the module docstring) for norms r (...,) from the series' own coefficients c_k(r) and radial slopes
    c_k'(r) (..., K): the largest of :math:`T_0/S_0`, :math:`T_1/S_1`, :math:`T'/S'`; 0 for polynomials (the series
    is exact) and where a scale vanishes (r = 0). No autograd."""
    if act is None or act.degree is not None:
        return torch.zeros_like(r)
    with torch.no_grad():
        coef, slopes = coef.detach(), slopes.detach()
        k = torch.arange(coef.shape[-1], dtype=coef.dtype, device=coef.device)
        partial = ((coef * coef).sum(-1), (k * coef * coef).sum(-1), (slopes * slopes).sum(-1))
        ratios = []
        for full, part in zip(_full_moments(act, r.detach()), partial):
            tail = (full - part).clamp_min(0)
            ratios.append(torch.where(full > 0, (tail / full.clamp_min(_TINY)).sqrt(), torch.zeros_like(full)))
        return torch.stack(ratios).amax(0)


def may_flag(tau_w, tau_v):
    """Whether any pair of particles with tail ratios tau_w, tau_v can be flagged (one device sync)."""
    return (
        tau_w.numel() > 0
        and tau_v.numel() > 0
        and tau_w.max().item() * tau_v.max().item() > series_tolerance(tau_w.dtype)
    )


def flagged_pairs(tau_w, tau_v, rho, terms):
    r"""Mask of the pairs (..., N, M) whose series bound :math:`|\rho|^{K-1}\tau_w\tau_v` exceeds the tolerance,
    or None when no pair can (the common case: one comparison, no pass over the pairs). τ None: known beforehand
    (:func:`may_flag`) that none can, so the engine's blocks need no device sync then."""
    if tau_w is None or tau_v is None or not may_flag(tau_w, tau_v):
        return None
    tol = series_tolerance(rho.dtype)
    mask = rho.detach().abs().pow(terms - 1).mul_(tau_w[..., :, None]).mul_(tau_v[..., None, :]) > tol
    return mask if mask.any().item() else None


def _erf_gains(mixture, r):
    r"""Per particle and mixture term: :math:`u_j = \sqrt2\beta_jr/\sqrt{1+2\beta_j^2r^2}` and
    :math:`\partial_ru_j = \sqrt2\beta_j(1+2\beta_j^2r^2)^{-3/2}`, shapes (F, M); and the weights (M,)."""
    weights, scales = mixture_tensors(mixture, r.dtype, r.device)
    R = r[:, None] * scales
    inv = (1 + 2 * R * R).rsqrt()
    return math.sqrt(2) * R * inv, math.sqrt(2) * scales * inv**3, weights


def _mixture_pairs(act, act2, r, s, rho):
    r"""Both σ = Σ_i w_i erf(β_i ·), σ_2 = Σ_j v_j erf(γ_j ·): the arcsine kernel term by term,
    :math:`K = \frac2\pi\sum_{ij} w_iv_j\arcsin(\rho\,u_i(r)\,u_j(s))` (:func:`_erf_gains`; exact for every
    ρ ∈ [−1, 1], since |u| < 1). With :math:`\kappa_{ij} = \frac2\pi(1-z_{ij}^2)^{-1/2}`, :math:`z = \rho u_iu_j`:
    :math:`\partial_\rho K = \sum\kappa w_iu_i v_ju_j`, :math:`\partial_rK = \rho\sum\kappa w_iu_i' v_ju_j`,
    :math:`\partial_sK = \rho\sum\kappa w_iu_i v_ju_j'`: (F, M, M') passes of asin and rsqrt in chunks of at most
    :data:`PAIR_BUDGET` entries, each reduced at once to (F, M) and (F, M') sums by matrix–vector products; the gains
    before and the weighted sums after are passes over all F pairs together (few small operations per chunk)."""
    if act.mixture == act2.mixture:  # one pass over both sides' norms (elementwise: the same values)
        (urs, durs, w), n = _erf_gains(act.mixture, torch.cat([r, s])), r.numel()
        (ur, dur, v), (us, dus) = (urs[:n], durs[:n], w), (urs[n:], durs[n:])
    else:
        (ur, dur, w), (us, dus, v) = _erf_gains(act.mixture, r), _erf_gains(act2.mixture, s)
    lead, vus, wur = rho[:, None] * ur, v * us, w * ur
    size = max(1, PAIR_BUDGET // (w.numel() * v.numel()))
    arcs, rights, lefts = [], [], []
    for i in range(0, r.numel(), size):
        chunk = slice(i, i + size)
        z = (lead[chunk, :, None] * us[chunk, None, :]).clamp_(-1.0, 1.0)  # float32 may round |z| to 1
        # 1 − z² as −z² + 1 (faster than addcmul with a scalar): |z| ≤ ρ·u_i·u_j with 1 − u ≥ 1/(4R²)·(1 − o(1)), so
        # 1 − z² ≥ 3e-4 for βr ≤ 40 (r ≤ 10) and its rounding is ≤ 4e-13 relative, in κ only; sqrt + reciprocal:
        # rsqrt is slower here
        kappa = torch.mul(z, z).neg_().add_(1)
        kappa.clamp_min_(torch.finfo(z.dtype).tiny).sqrt_().reciprocal_()
        arcs.append(torch.asin_(z) @ v)  # Σ_j v_j arcsin z_ij
        rights.append((kappa @ vus[chunk, :, None])[..., 0])  # Σ_j κ_ij v_j u_j
        lefts.append((wur[chunk, None, :] @ kappa)[:, 0])  # Σ_i w_i u_i κ_ij
    arc, right, left = torch.cat(arcs), torch.cat(rights), torch.cat(lefts)
    scale = 2 / math.pi
    return (
        scale * (arc * w).sum(-1),
        scale * rho * (right * w * dur).sum(-1),
        scale * rho * (left * v * dus).sum(-1),
        scale * (right * w * ur).sum(-1),
    )


def _conditioned_pairs(act, act2, r, s, rho, scale):
    r"""σ_2 with a closed Gaussian smoothing (:meth:`Activation.smoothed`): X = U, Y = ρU + cZ, c = √(1−ρ²), and with
    a = sρu, b = sc, (m, m', n) = smoothed(a, b), a 1-D integral over U by :func:`companion.engine.hermite.kink_rule`
    for ``scale`` ≥ max(r, s) (both factors bend at u = 0 on the scale 1/max(r, s); the inner one's kink at
    z = −ρu/c is smoothed out in closed form):
    :math:`K = E[\sigma(rU)m]`, :math:`\partial_rK = E[\sigma'(rU)Um]`, :math:`\partial_sK = E[\sigma(rU)n]/s`,
    and Price's theorem :math:`\partial_\rho K = rs\,E[\sigma'(rX)\sigma_2'(sY)] = rs\,E[\sigma'(rU)m']`."""
    nodes, weights = kink_rule(scale, r.dtype, r.device)
    c = torch.mul(1 - rho, 1 + rho).clamp_min(0).sqrt()
    m, mp, n = act2.smoothed((s * rho)[:, None] * nodes, (s * c)[:, None])
    pre = r[:, None] * nodes
    value, slope = act.fn(pre) * weights, act.derivative(pre) * weights
    return (value * m).sum(-1), (slope * nodes * m).sum(-1), (value * n).sum(-1) / s, r * s * (slope * mp).sum(-1)


def _in_chunks(method, r, s, rho, per_pair, budget, *extra):
    """``method`` on chunks of at most ``budget`` // per_pair pairs: the four outputs stacked (4, F)."""
    size = max(1, budget // per_pair)
    return torch.cat(
        [
            torch.stack(method(r[i : i + size], s[i : i + size], rho[i : i + size], *extra))
            for i in range(0, r.numel(), size)
        ],
        -1,
    )


def exact_pairs(act, act2, r, s, rho):
    r""":math:`K = E[\sigma(rX)\sigma_2(sY)]`, corr(X, Y) = ρ, and its partial derivatives
    :math:`(K, \partial_rK, \partial_sK, \partial_\rho K)` for gathered pairs (1-D tensors r, s > 0, ρ ∈ [−1, 1]),
    without Mehler's series: erf mixtures on both sides (erf, tanh) by :func:`_mixture_pairs`, otherwise conditioning
    on the side without a closed smoothing (:func:`_conditioned_pairs`; K is symmetric under (σ, r) ↔ (σ_2, s)), its
    rule chosen per pair by max(r, s) rounded up to a power of 2, so a pair's value does not depend on the pairs it is
    computed with. Chunks of at most :data:`PAIR_BUDGET` (pair × node) entries keep memory bounded."""
    if not (r.ndim == 1 and r.shape == s.shape == rho.shape):
        raise ValueError(
            f"r, s, rho: need 1-D tensors of one length, got shapes {tuple(r.shape)}, {tuple(s.shape)}, "
            f"{tuple(rho.shape)}"
        )
    if r.numel() == 0:
        return tuple(r.new_zeros((4, 0)))
    if not (torch.minimum(r, s).min() > 0 and rho.abs().max() <= 1):
        raise ValueError("r, s, rho: need norms r, s > 0 and cosines |rho| <= 1")
    if act.mixture is not None and act2.mixture is not None:
        return _mixture_pairs(act, act2, r, s, rho)
    if not (act2.has_smoothing or act.has_smoothing):
        raise ValueError(f"activation: no exact kernel for the pair ({act.name}, {act2.name}) beyond Mehler's series")
    swap = not act2.has_smoothing
    outer, inner, r, s = (act2, act, s, r) if swap else (act, act2, r, s)
    terms = 1 if inner.mixture is None else len(inner.mixture[0])
    out = r.new_empty((4, r.numel()))
    exponents = torch.maximum(r, s).clamp_min(1.0).log2().ceil()
    for exponent in exponents.unique().tolist():
        group = exponents == exponent
        nodes = kink_rule(2.0**exponent)[0].numel()
        out[:, group] = _in_chunks(
            lambda *x: _conditioned_pairs(outer, inner, *x),
            r[group],
            s[group],
            rho[group],
            nodes * terms,
            PAIR_BUDGET // 2,
            2.0**exponent,
        )
    value, dr, ds, drho = out
    return (value, ds, dr, drho) if swap else (value, dr, ds, drho)


class _ExactPairs(torch.autograd.Function):
    """:func:`exact_pairs` value with its exact partial derivatives as the backward (first order only)."""

    @staticmethod
    def forward(ctx, r, s, rho, act, act2):
        value, dr, ds, drho = exact_pairs(act, act2, r.detach(), s.detach(), rho.detach())
        ctx.save_for_backward(dr, ds, drho)
        return value

    @staticmethod
    def backward(ctx, grad):
        dr, ds, drho = ctx.saved_tensors
        return grad * dr, grad * ds, grad * drho, None, None


def _check_pair(W, V):
    if W.shape[-1] != V.shape[-1]:
        raise ValueError(f"V: input dimension {V.shape[-1]} does not match W's {W.shape[-1]}")


def cross_kernel(activation, W, activation2, V, terms=None):
    r""":math:`E[\sigma(w\cdot x)\,\sigma_2(v\cdot x)]` for all pairs: shape (..., N, M)."""
    return _cross_kernel(get_activation(activation), W, get_activation(activation2), V, terms)


def _cross_kernel(act, W, act2, V, terms=None):
    """:func:`cross_kernel` for two :class:`Activation` objects (the package's inner loops, which resolved them at
    their public entry)."""
    _check_pair(W, V)
    if act == act2 and act.name in _CLOSED_FORMS:
        return _CLOSED_FORMS[act.name](W, V)
    K = terms or max(act.series_terms, act2.series_terms)
    nw, nv, rho = norms_and_cosines(W, V)
    cw, cv = act.coefficients(nw, K), act2.coefficients(nv, K)
    series = hermite_series(cw, cv, rho)
    mask = flagged_pairs(
        tail_ratios(act, nw, cw, act.coefficient_slopes(nw, K)),
        tail_ratios(act2, nv, cv, act2.coefficient_slopes(nv, K)),
        rho,
        K,
    )
    if mask is None:
        return series
    r, s = nw[..., :, None].expand_as(rho)[mask], nv[..., None, :].expand_as(rho)[mask]
    return series.masked_scatter(mask, _ExactPairs.apply(r, s, rho[mask], act, act2))


PAIR_TENSORS = 8  # (..., N, M) tensors alive at once in the series' Horner loop and the tail test (measured: 4-8)


def _kernel_memory(act, W, V, terms):
    """Bytes :func:`gaussian_kernel` holds at once: :data:`PAIR_TENSORS` tensors of the pairs (..., N, M) (the Horner
    sum of :func:`hermite_series`, ρ, the tail test's ratios and mask), the Hermite coefficients of both sides (rows
    × K terms, with their slopes: the series is summed term by term, so K multiplies the rows, never the pairs) and
    one chunk of flagged pairs (:data:`PAIR_BUDGET`)."""
    item = W.element_size()
    batch = torch.broadcast_shapes(W.shape[:-2], V.shape[:-2]).numel()
    N, M = W.shape[-2], V.shape[-2]
    K = terms or act.series_terms or 1
    return item * (PAIR_TENSORS * batch * N * M + 4 * batch * (N + M) * K + 8 * PAIR_BUDGET)


@validated(
    activation=ActivationName(),
    W=Tensor("... N d"),
    V=Tensor("... M d", like="W"),
    terms=Maybe(Int(1)),
    memory=lambda a: (_kernel_memory(a["activation"], a["W"], a["V"], a["terms"]), "W"),
)
def gaussian_kernel(activation, W, V, terms=None):
    r""":math:`E_{x\sim N(0,I)}[\sigma(w\cdot x)\sigma(v\cdot x)]` for all pairs (w in W, v in V): shape (..., N, M).
    V is cast to W's dtype and device. The inner loops call :func:`cross_kernel`, which checks nothing (no device
    sync)."""
    return _cross_kernel(activation, W, activation, V, terms)
