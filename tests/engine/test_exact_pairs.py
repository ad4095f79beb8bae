"""Kernels beyond Mehler's series (companion.engine.kernels.exact_pairs and the flagged pairs) against an independent
reference: scipy.integrate.quad of the conditioned integrand E_U[σ(rU) E_Z σ_2(s(ρU + √(1−ρ²)Z))], quad inside."""

import math
import warnings

import numpy as np
import pytest
import torch
from scipy import integrate

from companion.engine import gradients, kernels
from companion.engine.activations import get_activation, tanh_erf_mixture
from companion.engine.dynamics import simulate
from companion.engine.init import init_particles
from companion.engine.kernels import cross_kernel, exact_pairs, gaussian_kernel, tail_ratios
from companion.engine.targets import teacher

SCALAR = {
    "relu": lambda z: max(z, 0.0),
    "erf": math.erf,
    "tanh": math.tanh,
    "gelu": lambda z: z * 0.5 * (1 + math.erf(z / math.sqrt(2))),
}
DERIVATIVE = {
    "tanh": lambda z: 1 - math.tanh(z) ** 2,
    "gelu": lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2))) + z * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
}
# (r, s, ρ): the diagonal and antipodes at the largest norm, near-parallel pairs, unequal and small norms
POINTS = [
    (10.0, 10.0, 1.0),
    (10.0, 10.0, -1.0),
    (10.0, 10.0, 0.999),
    (10.0, 10.0, 0.9),
    (2.7, 2.7, 1.0),
    (5.0, 5.0, -0.99),
    (1.0, 10.0, 0.95),
    (0.05, 10.0, 0.999),
    (0.05, 0.05, 1.0),
    (2.7, 5.0, 0.5),
    (5.0, 5.0, 0.3),
]


def _quad(f, edges):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return sum(
            integrate.quad(f, a, b, limit=200, epsabs=1e-15, epsrel=1e-13)[0] for a, b in zip(edges[:-1], edges[1:])
        )


def _phi(z):
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def reference(sigma, sigma2, r, s, rho):
    r""":math:`E[\sigma(rX)\sigma_2(sY)]`, corr(X, Y) = ρ, by nested adaptive quadrature split where the integrands
    bend: the outer at 0 and ±1/max(r, s), the inner at its kink z* = −ρu/c and z* ± 1/(sc); 1-D at ρ = ±1."""
    c = math.sqrt(max(0.0, 1 - rho * rho))

    def inner(u):
        if c == 0:
            return sigma2(s * rho * u)
        z0, width = -rho * u / c, 1 / (s * c)
        edges = sorted({-12.0, 12.0} | {e for e in (z0 - width, z0, z0 + width) if -12 < e < 12})
        return _quad(lambda z: _phi(z) * sigma2(s * (rho * u + c * z)), edges)

    h = 1 / max(r, s)
    return _quad(lambda u: _phi(u) * sigma(r * u) * inner(u), [-12.0, -h, 0.0, h, 12.0])


def _scale(name, r):
    """√E σ(rZ)²: |K| ≤ scale(r)·scale(s) (Cauchy–Schwarz); errors are measured against it where K ≈ 0."""
    sigma = SCALAR[name]
    return math.sqrt(_quad(lambda z: _phi(z) * sigma(r * z) ** 2, [-12.0, -1 / r, 0.0, 1 / r, 12.0]))


def _pair(r, s, rho):
    """Vectors w, v in R² with norms r, s and cosine ρ."""
    return torch.tensor([[r, 0.0]]), torch.tensor([[s * rho, s * math.sqrt(max(0.0, 1 - rho * rho))]])


def test_tanh_is_a_mixture_of_erfs_to_rounding():
    weights, scales = (np.array(t) for t in tanh_erf_mixture())
    from scipy.special import erf

    z = np.concatenate([np.linspace(0, 4, 4001), np.linspace(4, 60, 2000)])
    values = (weights[:, None] * erf(scales[:, None] * z)).sum(0)
    slopes = (weights[:, None] * scales[:, None] * 2 / math.sqrt(math.pi) * np.exp(-((scales[:, None] * z) ** 2))).sum(
        0
    )
    assert np.abs(values - np.tanh(z)).max() < 3e-15
    assert np.abs(slopes - 1 / np.cosh(z) ** 2).max() < 1e-14
    assert len(weights) < 30 and (weights > 0).all()


@pytest.mark.parametrize("name", ["erf", "tanh", "gelu"])
def test_gaussian_smoothing_matches_quadrature(name):
    """(E σ(Y), E σ'(Y), E σ'(Y)Y) for Y = a + bZ, b = 0 included."""
    act = get_activation(name)
    sigma = SCALAR[name]
    slope = DERIVATIVE.get(name, lambda z: 2 / math.sqrt(math.pi) * math.exp(-z * z))
    for a, b in ((0.3, 0.0), (-2.0, 0.5), (7.0, 3.0), (0.0, 10.0), (-25.0, 1e-3)):
        got = [t.item() for t in act.smoothed(torch.tensor([a]), torch.tensor([b]))]
        edges = sorted({-12.0, 12.0} | ({-a / b} if b > 0 and abs(a / b) < 12 else set()))
        for g, f in zip(got, (sigma, slope, lambda y: slope(y) * y)):
            ref = f(a) if b == 0 else _quad(lambda z: _phi(z) * f(a + b * z), edges)
            assert abs(g - ref) <= 1e-13 * max(1.0, abs(ref)), (a, b, g, ref)


@pytest.mark.parametrize("name", ["tanh", "gelu"])
def test_kernel_matches_nested_quadrature(name):
    """gaussian_kernel (series where its bound allows, exact pairs elsewhere) within 1e-12 relative, or 1e-12 of the
    scale where K ≈ 0, for norms 0.05 to 10, ρ = ±1 and ρ → 1."""
    sigma = SCALAR[name]
    for r, s, rho in POINTS:
        W, V = _pair(r, s, rho)
        got = gaussian_kernel(name, W, V).item()
        ref = reference(sigma, sigma, r, s, rho)
        scale = max(abs(ref), 1e-3 * _scale(name, r) * _scale(name, s))
        assert abs(got - ref) < 1e-12 * scale, (r, s, rho, got, ref)


@pytest.mark.parametrize("pair", [("tanh", "erf"), ("relu", "tanh"), ("gelu", "tanh"), ("relu", "gelu")])
def test_cross_kernel_between_activations_matches_nested_quadrature(pair):
    for r, s, rho in ((10.0, 5.0, 1.0), (5.0, 10.0, -0.999), (2.7, 10.0, 0.9)):
        W, V = _pair(r, s, rho)
        got = cross_kernel(pair[0], W, pair[1], V).item()
        ref = reference(SCALAR[pair[0]], SCALAR[pair[1]], r, s, rho)
        assert abs(got - ref) < 1e-12 * max(abs(ref), 1e-3), (pair, r, s, rho, got, ref)


@pytest.mark.parametrize("name", ["tanh", "gelu"])
def test_price_derivative_matches_nested_quadrature(name):
    r""":math:`\partial_\rho K = rs\,E[\sigma'(rX)\sigma'(sY)]` from exact_pairs against the quadrature of the right side."""
    act, slope = get_activation(name), DERIVATIVE[name]
    for r, s, rho in ((10.0, 10.0, 0.999), (5.0, 2.7, -1.0)):
        got = exact_pairs(act, act, torch.tensor([r]), torch.tensor([s]), torch.tensor([rho]))[3].item()
        ref = r * s * reference(slope, slope, r, s, rho)
        assert abs(got - ref) < 1e-12 * abs(ref), (r, s, rho, got, ref)


@pytest.mark.parametrize("pair", [("tanh", "tanh"), ("gelu", "gelu"), ("relu", "tanh"), ("gelu", "erf")])
def test_exact_partials_match_central_differences(pair):
    """(∂_r K, ∂_s K, ∂_ρ K) of exact_pairs against central differences of its value (step 1e-5: error ~1e-10)."""
    act, act2 = get_activation(pair[0]), get_activation(pair[1])
    r, s, rho = torch.tensor([8.0, 3.0, 0.7]), torch.tensor([6.0, 9.0, 4.0]), torch.tensor([0.97, -0.8, 0.3])
    value, *partials = exact_pairs(act, act2, r, s, rho)
    h = 1e-5
    for k, partial in enumerate(partials):
        step = [torch.zeros(3) for _ in range(3)]
        step[k] += h
        args_up = [x + d for x, d in zip((r, s, rho), step)]
        args_down = [x - d for x, d in zip((r, s, rho), step)]
        fd = (exact_pairs(act, act2, *args_up)[0] - exact_pairs(act, act2, *args_down)[0]) / (2 * h)
        torch.testing.assert_close(partial, fd, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("name", ["tanh", "gelu"])
def test_exact_pairs_in_chunks_and_alone_equal_one_chunk(name, monkeypatch):
    """A pair's values do not depend on the pairs computed with it (GELU: the rule is chosen per pair)."""
    act = get_activation(name)
    gen = torch.Generator().manual_seed(0)
    r, s = 10 * torch.rand(40, generator=gen), 10 * torch.rand(40, generator=gen)
    rho = 2 * torch.rand(40, generator=gen) - 1
    whole = exact_pairs(act, act, r, s, rho)
    alone = exact_pairs(act, act, r[:1], s[:1], rho[:1])
    monkeypatch.setattr(kernels, "PAIR_BUDGET", 1500)  # 1 or 2 pairs a chunk
    for a, b, c in zip(whole, exact_pairs(act, act, r, s, rho), alone):
        torch.testing.assert_close(a, b, rtol=1e-15, atol=0)
        torch.testing.assert_close(a[:1], c, rtol=1e-15, atol=0)


@pytest.mark.parametrize("name", ["tanh", "gelu"])
def test_kernel_gradcheck_through_flagged_pairs(name):
    """Autograd through gaussian_kernel where every pair is flagged (norms 3 to 8, near-parallel and antiparallel):
    the backward of the exact pairs against finite differences."""
    gen = torch.Generator().manual_seed(6)
    V = torch.randn(2, 3, generator=gen)
    V = V * torch.tensor([[3.0], [8.0]]) / V.norm(dim=-1, keepdim=True)
    W = torch.stack([1.5 * V[0] + 0.01 * torch.randn(3, generator=gen), -0.8 * V[1]]).requires_grad_(True)
    _, _, rho = kernels.norms_and_cosines(W.detach(), V)
    assert rho.diagonal().abs().min() > 0.99
    assert torch.autograd.gradcheck(lambda w: gaussian_kernel(name, w, V), (W,))


@pytest.mark.parametrize(
    "args, match",
    [
        ((torch.ones(2), torch.ones(3), torch.ones(2)), "1-D"),
        ((torch.zeros(1), torch.ones(1), torch.ones(1)), "r, s > 0"),
        ((torch.ones(1), torch.ones(1), torch.tensor([1.5])), "rho"),
    ],
)
def test_exact_pairs_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        exact_pairs(get_activation("tanh"), get_activation("tanh"), *args)


def test_no_exact_kernel_for_a_pair_without_smoothing():
    with pytest.raises(ValueError, match="activation"):
        exact_pairs(get_activation("relu"), get_activation("quadratic"), torch.ones(1), torch.ones(1), torch.ones(1))


def test_tail_ratios_vanish_for_polynomials_and_at_rounding_for_zero_norms():
    """τ = 0 for a polynomial; at r = 0 only the radial tail is defined (tanh: E σ'(0)²Z² = c_1'(0)² = 1) and τ is
    its rounding, √(eps)."""
    r = torch.tensor([0.0, 1.0, 10.0])
    quad = get_activation("quadratic")
    assert torch.equal(tail_ratios(quad, r, quad.coefficients(r), quad.coefficient_slopes(r)), torch.zeros(3))
    tanh = get_activation("tanh")
    tau = tail_ratios(tanh, r, tanh.coefficients(r), tanh.coefficient_slopes(r))
    assert tau[0] < 1e-7 and 1e-6 < tau[1] < tau[2] < 1


def test_float32_flagged_pairs():
    W, V = _pair(10.0, 10.0, 0.999)
    got = gaussian_kernel("tanh", W.float(), V.float())
    assert got.dtype == torch.float32
    assert abs(got.item() - reference(math.tanh, math.tanh, 10.0, 10.0, 0.999)) < 1e-6


def _flag_count(monkeypatch):
    """Wrap gradients.flagged_pairs to count the pairs it flags; returns the running count (a list of one int)."""
    count, original = [0], gradients.flagged_pairs

    def counting(*args):
        mask = original(*args)
        count[0] += 0 if mask is None else int(mask.sum())
        return mask

    monkeypatch.setattr(gradients, "flagged_pairs", counting)
    return count


def test_simulate_at_typical_norms_equals_the_series(monkeypatch):
    """Norms below 1 (a tanh run, R = 2, N = 48, d = 4, init scale 0.25): the flagged pairs (the diagonal and
    |ρ| → 1 at the larger norms) change the trajectory by < 1e-13 relative to the plain series, whose error there is
    below the tolerance; the fast path is taken for all but a few pairs."""
    theta = init_particles("gaussian", 2, 48, 4, scale=0.25, rng=0)
    target = teacher("tanh", torch.tensor([1.0, -0.5]), 0.8 * torch.eye(4)[:2])
    args = dict(eta=0.05, steps=5, lam=1e-3, tau=1e-4, seed=1, progress=False)
    count = _flag_count(monkeypatch)
    exact = simulate(theta, "tanh", target, **args)
    assert count[0] < 0.05 * 5 * 2 * 48 * 48
    monkeypatch.setattr(gradients, "flagged_pairs", lambda *args: None)
    series = simulate(theta, "tanh", target, **args)
    assert ((exact.final - series.final).norm() / series.final.norm()).item() < 1e-13
    assert ((exact.risk - series.risk).abs() / series.risk.abs()).max().item() < 1e-13
