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
  :func:`companion.engine.kernels.exact_pairs`, computed on the gathered pairs (at most a block's, in chunks; on a
  diagonal block of the self-interaction once per unordered pair, K(r, s, ρ) = K(s, r, ρ)).

β is symmetric under w ↔ v for the self-interaction, so each off-diagonal block of pairs (I, J) is evaluated once and
serves both I and J. Blocks hold at most ``budget`` entries over all replicas together (R·|I|·|J|), so the per-replica
cost does not grow with R. ``dynamics._population_grad`` (autograd through the kernels) is the reference.
"""

import functools
import math

import torch

from .activations import get_activation
from .kernels import exact_pairs, flagged_pairs, may_flag, series_parts, tail_ratios
from .targets import Target

ENTRY_BUDGET = 2**16  # entries (replica × pair) per block: 512 KiB a block matrix in float64, cache-sized
POWER_BUDGET = 2**18  # entries (power × replica × pair) of the powers of ρ² held at once in a series block: 2 MiB
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
        out.append(
            (
                (2 / math.pi) * _vsums(arc, weights, rows),
                (-4 / math.pi) * inv * (S * M).sum(-1),
                (2 * math.sqrt(2) / math.pi) * root[..., None] * M,
            )
        )
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


def _power_groups(x, count):
    """(start, powers x^start … x^(stop−1) stacked on a new first dim) covering x^0 … x^(count−1): all at once by
    doubling (x^(n+i) = x^i·x^n, one product per doubling) where they fit in :data:`POWER_BUDGET` entries (small
    blocks: few calls), else one at a time, in place (large blocks: each stays in cache for its matrix product)."""
    if count * x.numel() <= POWER_BUDGET:
        powers = x.new_empty(count, *x.shape)
        powers[:1] = 1
        filled = 1
        while filled < count:
            step = min(filled, count - filled)
            torch.mul(powers[:step], powers[filled - 1] * x, out=powers[filled : filled + step])
            filled += step
        yield 0, powers
        return
    power = torch.ones_like(x)
    for m in range(count):
        if m:
            power.mul_(x)
        yield m, power[None]


def _series_block(P, Q, c, ct, acts, parts):
    r"""Mehler series on one block; P, Q: (ŵ, c_k(|w|), c_k'(|w|) or None, 1/|w|, |w|, τ(|w|)), ``acts`` the pair's
    activations, ``parts`` its terms by parity (:func:`companion.engine.kernels.series_parts`).

    Only the sums over j are needed, so the series is summed as matrix products over the powers
    :math:`X^{(m)} = x^m`, x = ρ² elementwise (one pass per power, no outer product of coefficients per term). With
    :math:`\rho_{ij} = \hat w_i\cdot\hat v_j`, an odd term k = 2m + 1 gives, through
    :math:`U^{(m)} = X^{(m)}(c_k(|v_j|)c_j\hat v_j)_j`, the value :math:`c_k(|w_i|)\,\hat w_i\cdot U^{(m)}_i`, the
    radial sum with :math:`c_k'(|w_i|)` instead, and the β-sum's :math:`k\,c_k(|w_i|)U^{(m)}_i`; an even term k = 2m
    gives the value and radial sums through :math:`X^{(m)}(c_k(|v_j|)c_j)_j` and, for k ≥ 2, the β-sum's through
    :math:`(\rho\circ X^{(m-1)})(c_k(|v_j|)c_j\hat v_j)_j`. Mirror sums (``ct``) use the transposed powers. With
    :math:`M_i = \sum_j S_{1,ij}c_j\hat v_j` (:math:`S_1 = \partial_\rho` of the series) and :math:`S_0` the radial
    series: α-sum :math:`(\sum_j S_{0,ij}c_j - \hat w_i\cdot M_i/|w_i|)/|w_i|`, β-sum :math:`M_i/|w_i|`.

    The pairs :func:`companion.engine.kernels.flagged_pairs` marks get x = 0 (their series reduces to the terms
    k ≤ 2 of the first power) and a correction to the exact values and partial derivatives of
    :func:`companion.engine.kernels.exact_pairs`."""
    (Wn, cw, dw, _, nw, tw), (Vn, cv, dv, _, nv, tv) = P, Q
    rho = (Wn @ Vn.transpose(-1, -2)).clamp_(-1.0, 1.0)
    x = rho * rho
    mask = flagged_pairs(tw, tv, rho, cw.shape[-1])
    symmetric = Q is P and acts[0] == acts[1]  # a diagonal block of the self-interaction
    if mask is not None:
        if symmetric:  # ρ_ij and ρ_ji may differ in the last bit; an extra flagged pair trades the series for exact
            mask = mask | mask.transpose(-1, -2)
        x.masked_fill_(mask, 0.0)
    terms = dict(parts)
    odd, even = list(terms.get(1, ())), list(terms.get(0, ()))
    bent = even[1:]  # even k ≥ 2: ρ^{k−1} = ρ·x^{(k−2)/2}
    sides = [(Wn, cw, dw, Vn, cv, c, False)] + ([(Vn, cv, dv, Wn, cw, ct, True)] if ct is not None else [])
    features, sums = [], []
    for _, _, _, unit_o, coef_o, weights, _ in sides:
        weighted = coef_o * weights[..., None]  # (…, j, K)
        features.append(
            [
                (weighted[..., odd, None] * unit_o[..., None, :]).movedim(-2, 0),
                weighted[..., even, None].movedim(-2, 0),
                (weighted[..., bent, None] * unit_o[..., None, :]).movedim(-2, 0),
            ]
        )
        sums.append([[], [], []])
    for start, powers in _power_groups(x, max(len(odd), len(even))):
        stop = start + powers.shape[0]
        shifted = powers[: max(0, len(bent) - start)] * rho
        for (_, _, _, _, _, _, transposed), feats, out in zip(sides, features, sums):
            for matrix, group, store in (
                (powers, feats[0], out[0]),
                (powers, feats[1], out[1]),
                (shifted, feats[2], out[2]),
            ):
                top = min(group.shape[0], stop)
                if top > start:
                    chunk = matrix[: top - start]
                    feat = group[start:top]
                    feat = feat.reshape(feat.shape[0], *[1] * (chunk.ndim - feat.ndim), *feat.shape[1:])
                    store.append((chunk.transpose(-1, -2) if transposed else chunk) @ feat)
    if mask is not None:
        exact = _flagged_exact(acts, mask, rho, nw, nv, symmetric)
        r_rho = rho[mask]

        def at(coef, k, rows):  # coefficient k of the flagged pairs' row (or column) particle
            return (coef[..., :, None, k] if rows else coef[..., None, :, k]).expand_as(rho)[mask]

        residual = [torch.zeros_like(r_rho) for _ in range(4)]  # value, radial, radial_t, slope at x = 0
        if 0 in even:
            residual[0] += at(cw, 0, True) * at(cv, 0, False)
            residual[1] += at(dw, 0, True) * at(cv, 0, False)
            if ct is not None:
                residual[2] += at(cw, 0, True) * at(dv, 0, False)
        if 1 in odd:
            residual[0] += r_rho * at(cw, 1, True) * at(cv, 1, False)
            residual[1] += r_rho * at(dw, 1, True) * at(cv, 1, False)
            if ct is not None:
                residual[2] += r_rho * at(cw, 1, True) * at(dv, 1, False)
            residual[3] += at(cw, 1, True) * at(cv, 1, False)
        if 2 in bent:
            residual[3] += 2 * r_rho * at(cw, 2, True) * at(cv, 2, False)
        corrections = []
        for got, res in zip(exact, residual):
            matrix = torch.zeros_like(rho)
            matrix[mask] = got - res
            corrections.append(matrix)
    out = []
    for (unit, coef, slope_coef, _, _, weights, transposed), (odd_sums, even_sums, bent_sums), inv in zip(
        sides, sums, (P[3], Q[3])
    ):
        value = torch.zeros_like(unit[..., 0])
        radial = torch.zeros_like(value)
        beta = torch.zeros_like(unit)
        if odd_sums:
            U = torch.cat(odd_sums)  # (m, …, i, d)
            proj = (U * unit).sum(-1)
            k = torch.tensor(odd, dtype=U.dtype, device=U.device)
            value += (coef[..., odd].movedim(-1, 0) * proj).sum(0)
            radial += (slope_coef[..., odd].movedim(-1, 0) * proj).sum(0)
            beta += ((coef[..., odd] * k).movedim(-1, 0)[..., None] * U).sum(0)
        if even_sums:
            E = torch.cat(even_sums)[..., 0]
            value += (coef[..., even].movedim(-1, 0) * E).sum(0)
            radial += (slope_coef[..., even].movedim(-1, 0) * E).sum(0)
        if bent_sums:
            k = torch.tensor(bent, dtype=unit.dtype, device=unit.device)
            beta += ((coef[..., bent] * k).movedim(-1, 0)[..., None] * torch.cat(bent_sums)).sum(0)
        if mask is not None:
            unit_o = Vn if not transposed else Wn
            rows = not transposed
            value += _vsums(corrections[0], weights, rows)
            radial += _vsums(corrections[2 if transposed else 1], weights, rows)
            beta += _sums(corrections[3], weights[..., None] * unit_o, rows)
        out.append((value, inv * (radial - inv * (unit * beta).sum(-1)), inv[..., None] * beta))
    return out + [None] * (2 - len(out))


def _flagged_exact(acts, mask, rho, nw, nv, symmetric):
    r"""Exact values and partial derivatives :math:`(K, \partial_rK, \partial_sK, \partial_\rho K)` at a block's
    flagged pairs ``mask``, by :func:`companion.engine.kernels.exact_pairs`. On a diagonal block of the
    self-interaction (``symmetric``: rows and columns the same particles, one activation, a symmetric mask)
    K(r, s, ρ) = K(s, r, ρ), so only the pairs i ≤ j are computed and the pair (j, i) takes their values with ∂_r and
    ∂_s swapped: half the arcsines."""
    if not symmetric:
        r, s = nw[..., :, None].expand_as(rho)[mask], nv[..., None, :].expand_as(rho)[mask]
        return exact_pairs(*acts, r, s, rho[mask])
    n = rho.shape[-1]
    triu = torch.ones(n, n, dtype=torch.bool, device=mask.device).triu()
    upper = mask & triu
    r, s = nw[..., :, None].expand_as(rho)[upper], nv[..., None, :].expand_as(rho)[upper]
    got = torch.stack(exact_pairs(*acts, r, s, rho[upper]))
    index = torch.zeros(rho.shape, dtype=torch.long, device=rho.device)
    index[upper] = torch.arange(got.shape[1], device=rho.device)
    lower = ~triu.expand_as(mask)[mask]  # the pairs i > j: their mirror (j, i), with ∂_r and ∂_s swapped
    where = torch.where(triu, index, index.transpose(-1, -2))[mask]
    return tuple(torch.where(lower, got[swapped, where], got[k, where]) for k, swapped in enumerate((0, 2, 1, 3)))


def _block(kind, acts, parts=None):
    """The block function of a kernel kind; the series' knows the pair's activations (for its flagged pairs) and its
    terms by parity."""
    if kind == "series":
        return functools.partial(_series_block, acts=acts, parts=parts)
    return {"erf": _erf_block, "relu": _relu_block}[kind]


def _prepare(kind, act, W, K=None, coefficients=None, exact=False, memo=None):
    """Per-particle quantities of one side of a kernel (particles on dim −2 of W); for the series, ``act`` None
    with given ``coefficients`` is a polynomial profile (exact series, never flagged), and ``exact`` (the pair's
    series has no tail, :func:`companion.engine.kernels.series_parts`) skips the tail ratios. ``memo`` (a dict)
    keeps the series' coefficients of W between calls of one step: those for a larger K serve a smaller one."""
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
        memo = {} if memo is None else memo
        sizes = [k for k in memo if isinstance(k, int) and k >= K]
        if not sizes:
            memo[K] = act.coefficients_and_slopes(norms, K)
        coefficients, slopes = (t[..., :K] for t in memo[min(sizes, default=K)])
        if not exact and ("tau", K) not in memo:
            memo["tau", K] = tail_ratios(act, norms, coefficients, slopes)
        return unit, coefficients, slopes, inv, norms, None if exact else memo["tau", K]
    tau = None if exact or act is None else tail_ratios(act, norms, coefficients, act.coefficient_slopes(norms, K))
    return unit, coefficients, None, inv, norms, tau


def _without_impossible_flags(P, Q):
    """P and Q with their tail ratios τ set to None where no pair between them can be flagged (series sides only), so
    the blocks skip the check without a device sync; one sync here."""
    if len(P) != 6 or (P[5] is not None and Q[5] is not None and may_flag(P[5], Q[5])):
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


def _self_sums(kind, act, a, W, budget, memo=None):
    r"""Self-interaction sums over j of :math:`K(w_i, w_j)\,a_j` (and slopes), each unordered block pair once.

    Blocks of b = min(N, √budget) particles, over as many replicas at once as keep R'·b² ≤ budget: the partition and
    the order of the sums do not depend on R, so a replica's arithmetic is the same alone or in a batch (torch does
    not promise batched matrix products bit-identical across batch sizes; measured differences are in the last bit)."""
    R, N = a.shape
    parts, exact = series_parts(act, act, act.series_terms)
    P, _ = _without_impossible_flags(*(_prepare(kind, act, W, act.series_terms, exact=exact, memo=memo),) * 2)
    block = _block(kind, (act, act), parts)
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


def _target_sums(act, W, target, budget, memo=None):
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
        parts, exact = series_parts(act, target.activation, K)
        if exact:  # no term beyond the last the pair's parities leave
            K = 1 + max((ks[-1] for _, ks in parts), default=0)
        Q = _prepare(kind, target.activation, U, K, coefficients=target.profile_coefficients(K).to(W), exact=exact)
    P, Q = _without_impossible_flags(_prepare(kind, act, W, K, exact=kind == "series" and exact, memo=memo), Q)
    block = _block(kind, (act, target.activation), parts if kind == "series" else None)
    sums = _Sums(W)
    for I in _blocks(W.shape[-2], max(1, budget // (math.prod(W.shape[:-2]) * U.shape[0]))):
        rows, _ = block(_take(P, I), Q, b, None)
        sums.add(slice(None), I, rows)
    return sums


def population_grad(theta, activation, target, budget=ENTRY_BUDGET):
    r"""Explicit :math:`N\,\nabla_{\theta_i} R` for particles theta (R, N, 1+d): (R, N, 1+d), and the exact
    population risk R (R,) from the same kernel sums. Blocks hold at most ``budget`` (replica × pair) entries."""
    act = get_activation(activation)
    _check(theta, target, budget)
    return _population_grad(theta, act, target, int(budget))


def _check(theta, target, budget):
    """The argument checks of :func:`population_grad` and :func:`target_grad`."""
    if int(budget) != budget or budget < 1:
        raise ValueError(f"budget: need a positive integer number of entries per block, got {budget!r}")
    if not torch.is_tensor(theta) or theta.ndim != 3 or theta.shape[-1] < 2:
        raise ValueError("theta: need a tensor of shape (R, N, 1+d) with d >= 1")
    if not isinstance(target, Target):
        raise TypeError(f"target: need a Target (teacher or ridge_target), got {type(target).__name__}")


def _population_grad(theta, act, target, budget=ENTRY_BUDGET):
    """:func:`population_grad` for an :class:`Activation` ``act`` and checked arguments (the engine's loops)."""
    a, W = split(theta)
    N = theta.shape[-2]
    memo = {}  # the series' coefficients of W, computed once per step
    own = _self_sums(act.name if act.name in _CLOSED else "series", act, a, W, budget, memo)
    cross = _target_sums(act, W, target, budget, memo)
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
    _check(theta, target, budget)
    return _target_grad(theta, act, target, int(budget))


def _target_grad(theta, act, target, budget=ENTRY_BUDGET):
    """:func:`target_grad` for an :class:`Activation` ``act`` and checked arguments (the engine's loops)."""
    a, W = split(theta)
    sums = _target_sums(act, W, target, budget)
    grad = torch.empty_like(theta)
    grad[..., 0] = sums.value
    grad[..., 1:] = a[..., None] * sums.slope(W)
    return grad
