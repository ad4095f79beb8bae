r"""Explicit first variation of the exact population risk: no autograd graph, memory bounded for any N and R.

For particles :math:`\theta_i = (a_i, w_i)` and :math:`R = \frac12\big(\frac1{N^2}\sum_{ij} a_i a_j K(w_i, w_j)
- \frac2N \sum_i a_i C(w_i) + E f^{*2}\big)`, :math:`C(w) = \sum_m b_m K^*(w, u_m)`, the engine's gradient is
:math:`N\,\partial R/\partial\theta_i`:

.. math:: \nabla_a = \frac1N\sum_j K_{ij} a_j - C(w_i), \qquad
          \nabla_w = a_i\Big(\frac1N\sum_j a_j\,\partial_1 K(w_i, w_j) - \sum_m b_m\,\partial_1 K^*(w_i, u_m)\Big).

Every kernel here is rotation invariant, so :math:`\partial_1 K(w, v) = \alpha(w, v)\,w + \beta(w, v)\,v` and each sum
over j is three matrix products per block of pairs. The closed forms:

- arcsine (erf): :math:`A_w = 1 + 2|w|^2`, :math:`s = 2\,w\cdot v/\sqrt{A_wA_v}`, :math:`K = \frac2\pi\arcsin s`,
  :math:`\kappa = \frac2\pi(1-s^2)^{-1/2}`, :math:`\beta = 2\kappa/\sqrt{A_wA_v}`, :math:`\alpha = -2\kappa s/A_w`;
- arc-cosine (ReLU): :math:`K = \frac{|w||v|}{2\pi}J(\rho)`, :math:`\beta = \frac{\pi - \arccos\rho}{2\pi}` (finite at
  ρ = ±1, the diagonal included), :math:`\alpha = \frac{|v|}{2\pi|w|}\sqrt{1-\rho^2}`;
- Mehler series :math:`K = \sum_k c_k(|w|)\,d_k(|v|)\,\rho^k` differentiated term by term, with
  :math:`S_0 = \sum_k c_k'(|w|)\,d_k\,\rho^k` and :math:`S_1 = \sum_k k\,c_k d_k\,\rho^{k-1}`:
  :math:`\alpha = (S_0 - S_1\rho/|w|)/|w|`, :math:`\beta = S_1/(|w||v|)` (particles with w = 0 are not supported);
  where the series' truncation bound exceeds the tolerance (:func:`companion.engine.kernels.flagged_pairs`: large
  norms, |ρ| → 1, the diagonal), K, :math:`S_0 = \partial_rK`, its mirror :math:`\partial_sK` and
  :math:`S_1 = \partial_\rho K` of the block's flagged pairs are replaced by the exact ones of
  :func:`companion.engine.kernels.exact_pairs`, computed on the gathered pairs (at most a block's, in chunks).

β is symmetric under w ↔ v for the self-interaction, so each off-diagonal block of pairs (I, J) is evaluated once and
serves both I and J. Blocks hold at most ``budget`` entries over all replicas together (R·|I|·|J|), so the per-replica
cost does not grow with R. ``dynamics._population_grad`` (autograd through the kernels) is the reference.
"""
import functools
import math

import torch

from .activations import get_activation
from .kernels import exact_pairs, flagged_pairs, may_flag, tail_ratios
from .targets import Target

ENTRY_BUDGET = 2**16  # entries (replica × pair) per block: 512 KiB a block matrix in float64, cache-sized
_CLOSED = ("erf", "relu")
_TINY = 1e-30


def split(theta):
    """(a, W) views of particles theta (..., N, 1+d)."""
    return theta[..., 0], theta[..., 1:]


def _sums(M, c, rows):
    r"""Row sums :math:`\sum_j M_{ij} c_j` (``rows``) or column sums :math:`\sum_i M_{ij} c_i` of a block M (..., n, m)
    against per-particle vectors c (..., m, k) or (..., n, k): (..., n, k) or (..., m, k)."""
    return M @ c if rows else (c.transpose(-1, -2) @ M).transpose(-1, -2)


def _vsums(M, c, rows):
    """:func:`_sums` against per-particle scalars c (..., m) or (..., n)."""
    return _sums(M, c[..., None], rows)[..., 0]


def _erf_block(P, Q, c, ct):
    r"""Arcsine kernel on one block; P, Q: (:math:`S = \sqrt2\,w/\sqrt{A_w}`, :math:`A_w^{-1/2}`, :math:`A_w^{-1}`).
    With :math:`s = S_w\cdot S_v` and :math:`M_i = \sum_j\kappa_{ij}c_j S_{v_j}`, the slope sums are
    :math:`\sum_j\alpha_{ij}c_j = -\frac4\pi A_{w_i}^{-1} S_{w_i}\cdot M_i` and
    :math:`\sum_j\beta_{ij}c_jv_j = \frac{2\sqrt2}{\pi}A_{w_i}^{-1/2} M_i`: two matrix products per side."""
    s = P[0] @ Q[0].transpose(-1, -2)
    kappa = torch.mul(1 - s, 1 + s).rsqrt_()
    arc = torch.arcsin_(s)
    out = []
    for (S, root, inv), (T, _, _), weights, rows in ((P, Q, c, True), (Q, P, ct, False)):
        if weights is None:
            out.append(None)
            continue
        M = _sums(kappa, weights[..., None] * T, rows)
        out.append(((2 / math.pi) * _vsums(arc, weights, rows), (-4 / math.pi) * inv * (S * M).sum(-1),
                    (2 * math.sqrt(2) / math.pi) * root[..., None] * M))
    return out


def _relu_block(P, Q, c, ct):
    r"""Arc-cosine kernel on one block; P, Q: (ŵ, |w|, 1/|w|). With :math:`A_i = \sum_j\sqrt{1-\rho_{ij}^2}|v_j|c_j`
    and :math:`B_i = \sum_j(\pi - \arccos\rho_{ij})c_jv_j`: value :math:`\frac{|w_i|}{2\pi}(A_i + \hat w_i\cdot B_i)`,
    α-sum :math:`\frac{A_i}{2\pi|w_i|}`, β-sum :math:`\frac{B_i}{2\pi}`: two matrix products per side."""
    rho = (P[0] @ Q[0].transpose(-1, -2)).clamp_(-1.0, 1.0)
    sine = torch.mul(1 - rho, 1 + rho).clamp_min_(0).sqrt_()
    slope = torch.arccos_(rho).neg_().add_(math.pi)
    out = []
    for (unit, norm, inv), (unit_v, norm_v, _), weights, rows in ((P, Q, c, True), (Q, P, ct, False)):
        if weights is None:
            out.append(None)
            continue
        A = _vsums(sine, norm_v * weights, rows)
        B = _sums(slope, (weights * norm_v)[..., None] * unit_v, rows)
        out.append((norm * (A + (unit * B).sum(-1)) / (2 * math.pi), inv * A / (2 * math.pi), B / (2 * math.pi)))
    return out


def _series_block(P, Q, c, ct, acts):
    r"""Mehler series on one block; P, Q: (ŵ, c_k(|w|), c_k'(|w|) or None, 1/|w|, |w|, τ(|w|)), ``acts`` the pair's
    activations. Horner's rule gives the value, :math:`S_1 = \partial_\rho` of the series and the radial series
    :math:`S_0` (per side); the pairs :func:`companion.engine.kernels.flagged_pairs` marks get the exact values and
    partial derivatives of :func:`companion.engine.kernels.exact_pairs` instead. With
    :math:`M_i = \sum_j S_{1,ij}c_j\hat v_j`: α-sum :math:`(\sum_j S_{0,ij}c_j - \hat w_i\cdot M_i/|w_i|)/|w_i|`,
    β-sum :math:`M_i/|w_i|`."""
    (Wn, cw, dw, _, nw, tw), (Vn, cv, dv, _, nv, tv) = P, Q
    rho = (Wn @ Vn.transpose(-1, -2)).clamp_(-1.0, 1.0)
    top = cw.shape[-1] - 1
    value = cw[..., :, None, top] * cv[..., None, :, top]
    slope = torch.zeros_like(value)
    radial = dw[..., :, None, top] * cv[..., None, :, top]
    radial_t = cw[..., :, None, top] * dv[..., None, :, top] if ct is not None else None
    for k in range(top - 1, -1, -1):  # Horner's rule for the value, its ρ-derivative and the radial derivatives
        slope.mul_(rho).add_(value)
        value.mul_(rho).addcmul_(cw[..., :, None, k], cv[..., None, :, k])
        radial.mul_(rho).addcmul_(dw[..., :, None, k], cv[..., None, :, k])
        if ct is not None:
            radial_t.mul_(rho).addcmul_(cw[..., :, None, k], dv[..., None, :, k])
    mask = flagged_pairs(tw, tv, rho, top + 1)
    if mask is not None:
        exact = exact_pairs(*acts, nw[..., :, None].expand_as(rho)[mask], nv[..., None, :].expand_as(rho)[mask],
                            rho[mask])
        for matrix, part in ((value, exact[0]), (radial, exact[1]), (radial_t, exact[2]), (slope, exact[3])):
            if matrix is not None:
                matrix[mask] = part
    out = []
    for (unit, _, _, inv, _, _), (unit_v, _, _, _, _, _), weights, rows, rad in ((P, Q, c, True, radial),
                                                                                 (Q, P, ct, False, radial_t)):
        if weights is None:
            out.append(None)
            continue
        M = _sums(slope, weights[..., None] * unit_v, rows)
        out.append((_vsums(value, weights, rows), inv * (_vsums(rad, weights, rows) - inv * (unit * M).sum(-1)),
                    inv[..., None] * M))
    return out


def _block(kind, acts):
    """The block function of a kernel kind; the series' knows the pair's activations (for its flagged pairs)."""
    if kind == "series":
        return functools.partial(_series_block, acts=acts)
    return {"erf": _erf_block, "relu": _relu_block}[kind]


def _prepare(kind, act, W, K=None, coefficients=None):
    """Per-particle quantities of one side of a kernel (particles on dim −2 of W); for the series, ``act`` None
    with given ``coefficients`` is a polynomial profile (exact series, never flagged)."""
    if kind == "erf":
        inv = 1 / (1 + 2 * (W * W).sum(-1))
        root = inv.sqrt()
        return math.sqrt(2) * W * root[..., None], root, inv
    norms = W.norm(dim=-1)
    inv = 1 / norms.clamp_min(_TINY)
    unit = W * inv[..., None]
    if kind == "relu":
        return unit, norms, inv
    if coefficients is None:
        coefficients, slopes = act.coefficients(norms, K), act.coefficient_slopes(norms, K)
        return unit, coefficients, slopes, inv, norms, tail_ratios(act, norms, coefficients, slopes)
    tau = torch.zeros_like(norms) if act is None else tail_ratios(act, norms, coefficients,
                                                                  act.coefficient_slopes(norms, K))
    return unit, coefficients, None, inv, norms, tau


def _without_impossible_flags(P, Q):
    """P and Q with their tail ratios τ set to None where no pair between them can be flagged (series sides only), so
    the blocks skip the check without a device sync; one sync here."""
    if len(P) != 6 or may_flag(P[5], Q[5]):
        return P, Q
    return P[:5] + (None,), Q[:5] + (None,)


def _take(P, rows):
    """The particles ``rows`` of prepared quantities P (vectors per particle come first, scalars have one dim less)."""
    rank = P[0].ndim
    return tuple(None if t is None else t[..., rows, :] if t.ndim == rank else t[..., rows] for t in P)


class _Sums:
    r"""Accumulators :math:`\sum_j K_{ij}c_j`, :math:`\sum_j \alpha_{ij}c_j`, :math:`\sum_j \beta_{ij}c_j v_j` for rows i."""

    def __init__(self, W):
        self.value = W.new_zeros(W.shape[:-1])
        self.alpha = W.new_zeros(W.shape[:-1])
        self.beta = torch.zeros_like(W)

    def add(self, reps, rows, parts):
        value, alpha, beta = parts
        self.value[reps, rows] += value
        self.alpha[reps, rows] += alpha
        self.beta[reps, rows, :] += beta

    def slope(self, W):
        r""":math:`\sum_j c_j\,\partial_1 K(w_i, v_j) = w_i \sum_j\alpha_{ij}c_j + \sum_j\beta_{ij}c_j v_j`."""
        return W * self.alpha[..., None] + self.beta


def _blocks(n, size):
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def _self_sums(kind, act, a, W, budget):
    r"""Self-interaction sums over j of :math:`K(w_i, w_j)\,a_j` (and slopes), each unordered block pair once.

    Blocks of b = min(N, √budget) particles, over as many replicas at once as keep R'·b² ≤ budget: the partition and
    the order of the sums do not depend on R, so a replica's arithmetic is the same alone or in a batch (torch does
    not promise batched matrix products bit-identical across batch sizes; measured differences are in the last bit)."""
    R, N = a.shape
    P, _ = _without_impossible_flags(*(_prepare(kind, act, W, act.series_terms),) * 2)
    block = _block(kind, (act, act))
    sums = _Sums(W)
    size = max(1, min(N, math.isqrt(budget)))
    blocks = _blocks(N, size)
    for reps in _blocks(R, max(1, budget // size**2)):
        Pr, ar = tuple(None if t is None else t[reps] for t in P), a[reps]
        for bi, I in enumerate(blocks):
            PI = _take(Pr, I)
            for J in blocks[bi:]:
                both = J != I
                rows, cols = block(PI, _take(Pr, J) if both else PI, ar[..., J], ar[..., I] if both else None)
                sums.add(reps, I, rows)
                if both:
                    sums.add(reps, J, cols)
    return sums


def _target_sums(act, W, target, budget):
    r"""Sums over the target's ridges m of :math:`K^*(w_i, u_m)\,b_m` (and slopes), in blocks of rows i."""
    U, b = target.U.to(W), target.b.to(W)
    if target.activation is not None and target.activation == act and act.name in _CLOSED:
        kind, K = act.name, None
        Q = _prepare(kind, act, U)
    else:
        kind = "series"
        if target.activation is not None:
            K = max(act.series_terms, target.activation.series_terms)
        else:
            K = target.beta.shape[1]  # the profile has no coefficient beyond len(beta), so neither does the series
        Q = _prepare(kind, target.activation, U, K, coefficients=target.profile_coefficients(K).to(W))
    P, Q = _without_impossible_flags(_prepare(kind, act, W, K), Q)
    block = _block(kind, (act, target.activation))
    sums = _Sums(W)
    for I in _blocks(W.shape[-2], max(1, budget // (math.prod(W.shape[:-2]) * U.shape[0]))):
        rows, _ = block(_take(P, I), Q, b, None)
        sums.add(slice(None), I, rows)
    return sums


def population_grad(theta, activation, target, budget=ENTRY_BUDGET):
    r"""Explicit :math:`N\,\nabla_{\theta_i} R` for particles theta (R, N, 1+d): (R, N, 1+d), and the exact
    population risk R (R,) from the same kernel sums. Blocks hold at most ``budget`` (replica × pair) entries."""
    act = get_activation(activation)
    if int(budget) != budget or budget < 1:
        raise ValueError(f"budget: need a positive integer number of entries per block, got {budget!r}")
    if not torch.is_tensor(theta) or theta.ndim != 3 or theta.shape[-1] < 2:
        raise ValueError("theta: need a tensor of shape (R, N, 1+d) with d >= 1")
    if not isinstance(target, Target):
        raise TypeError(f"target: need a Target (teacher or ridge_target), got {type(target).__name__}")
    a, W = split(theta)
    N = theta.shape[-2]
    own = _self_sums(act.name if act.name in _CLOSED else "series", act, a, W, int(budget))
    cross = _target_sums(act, W, target, int(budget))
    grad = torch.empty_like(theta)
    grad[..., 0] = own.value / N - cross.value
    grad[..., 1:] = a[..., None] * (own.slope(W) / N - cross.slope(W))
    risk = 0.5 * ((a * own.value).sum(-1) / N**2 - 2 * (a * cross.value).sum(-1) / N + target.norm2().to(theta))
    return grad, risk


def target_grad(theta, activation, target, budget=ENTRY_BUDGET):
    r"""Explicit :math:`\nabla_{\theta_i} E[g(x)\,a_i\sigma(w_i\cdot x)]` for particles theta (R, N, 1+d) against a
    fixed function :math:`g = \sum_m b_m g_m(u_m\cdot x)` (a :class:`Target`): :math:`\nabla_a = C(w_i)`,
    :math:`\nabla_w = a_i\,\partial_w C(w_i)`, :math:`C(w) = \sum_m b_m K_g(w, u_m)` — the target sums of
    :func:`population_grad`, in the same blocks. With g a population's network :math:`f_{\mu_P}` (a teacher of the
    particles' activation, weights :math:`a_j/N_P`), the first variation at particles that do not belong to the
    population is :math:`\nabla_\theta V(\mu_P, \theta) = \texttt{target\_grad}(\theta, f_{\mu_P}) -
    \texttt{target\_grad}(\theta, f^*)` (the McKean–Vlasov drift when :math:`\mu_P` stands for :math:`\mu_t`)."""
    act = get_activation(activation)
    if int(budget) != budget or budget < 1:
        raise ValueError(f"budget: need a positive integer number of entries per block, got {budget!r}")
    if not torch.is_tensor(theta) or theta.ndim != 3 or theta.shape[-1] < 2:
        raise ValueError("theta: need a tensor of shape (R, N, 1+d) with d >= 1")
    if not isinstance(target, Target):
        raise TypeError(f"target: need a Target (teacher or ridge_target), got {type(target).__name__}")
    a, W = split(theta)
    sums = _target_sums(act, W, target, int(budget))
    grad = torch.empty_like(theta)
    grad[..., 0] = sums.value
    grad[..., 1:] = a[..., None] * sums.slope(W)
    return grad
