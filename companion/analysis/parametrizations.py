r"""A width-N two-layer network in three parametrizations, and the measurements of a coordinate check.

The network is :math:`f(x) = \alpha_N \sum_{i=1}^N a_i\,\sigma(w_i\cdot x)` with :math:`a_i \sim N(0, s_a^2)`,
:math:`w_i \sim N(0, I_d/d)` and plain SGD with learning rates :math:`\eta_a, \eta_w` on :math:`a` and :math:`W`.
With a base width :math:`N_0` and a base learning rate η the three parametrizations are (all equal at N = N_0):

============  ======================  ======================  ====================
              multiplier α_N          init std s_a            learning rate η_a = η_w
============  ======================  ======================  ====================
μP            1/N                     1                       η N
NTK           1/√(N N_0)              1                       η N_0
SP            1/N_0                   √(N_0/N)                η N_0
============  ======================  ======================  ====================

μP is the mean-field scaling of :mod:`companion.engine.dynamics` (one SGD step is one engine step, per-neuron rate ηN);
NTK keeps the function update Θ(1) but moves each w_i by O(1/√N) (lazy); SP at a fixed learning rate makes the
function update grow like N. The input dimension d does not scale with width.
"""

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
import torch

from ..engine.activations import get_activation
from ..engine.contract import (
    ActivationName,
    Choice,
    Instance,
    Int,
    Ints,
    Particles,
    Real,
    Reals,
    ResamplingSeed,
    Tensor,
    validated,
)
from ..engine.dynamics import simulate, split
from ..engine.seeding import Stream
from ..engine.validation import finite_number
from .statistics import bootstrap, loglog_slope, replica_loglog_fit

PARAMETRIZATIONS = ("mup", "ntk", "sp")
QUANTITIES = ("feature", "feature_update", "output", "output_update")
QUANTITY_LABELS = {
    "feature": r"mean $|w_i\cdot x|$",
    "feature_update": r"mean $|\Delta(w_i\cdot x)|$",
    "output": r"mean $|f(x)|$",
    "output_update": r"mean $|\Delta f(x)|$",
}


@dataclass(frozen=True)
class Scaling:
    """Multiplier α_N, init standard deviations of a and of each coordinate of w, SGD learning rates of a and W."""

    multiplier: float
    a_std: float
    w_std: float
    lr_a: float
    lr_w: float


@validated(parametrization=Choice(PARAMETRIZATIONS), N=Int(1), d=Int(1), eta=Real(positive=True), base_width=Int(1))
def scaling(parametrization, N, d, eta, base_width=64):
    """The :class:`Scaling` of ``parametrization`` ("mup", "ntk", "sp") at width N, input dimension d, base rate η."""
    w_std = 1 / math.sqrt(d)
    if parametrization == "mup":
        return Scaling(1 / N, 1.0, w_std, eta * N, eta * N)
    if parametrization == "ntk":
        return Scaling(1 / math.sqrt(N * base_width), 1.0, w_std, eta * base_width, eta * base_width)
    return Scaling(1 / base_width, math.sqrt(base_width / N), w_std, eta * base_width, eta * base_width)  # "sp"


class TwoLayerNetwork(torch.nn.Module):
    r""":math:`f(x) = \alpha\sum_i a_i\sigma(w_i\cdot x)` with ``torch.nn.Parameter`` a (N,) and W (N, d)."""

    def __init__(self, a, W, activation, multiplier):
        super().__init__()
        if a.ndim != 1 or W.ndim != 2 or W.shape[0] != a.shape[0]:
            raise ValueError(
                f"W: need a of shape (N,) and W of shape (N, d), got {tuple(a.shape)} and {tuple(W.shape)}"
            )
        self.a = torch.nn.Parameter(a.detach().clone())
        self.W = torch.nn.Parameter(W.detach().clone())
        self.activation = get_activation(activation)
        self.multiplier = finite_number("multiplier", multiplier, positive=True)

    def features(self, X):
        """Pre-activations h_ij = w_i·x_j for X (n, d): shape (n, N)."""
        return X @ self.W.T

    def forward(self, X):
        """f(x_j) for X (n, d): shape (n,)."""
        return self.multiplier * (self.activation.fn(self.features(X)) @ self.a)

    def particles(self):
        """The parameters as engine particles θ_i = (a_i, w_i): a detached (N, 1+d) tensor."""
        return torch.cat([self.a.detach()[:, None], self.W.detach()], dim=1)


def initial_network(parametrization, N, d, activation, eta, *, rng, base_width=64, dtype=torch.float64, device="cpu"):
    """A freshly initialised width-N network and its SGD optimiser (per-layer rates of :func:`scaling`).

    ``rng`` is a seed or a NumPy Generator; draws are made on the CPU so every device starts from the same weights.
    """
    s = scaling(parametrization, N, d, eta, base_width)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    a = torch.as_tensor(s.a_std * rng.standard_normal(N), dtype=dtype, device=device)
    W = torch.as_tensor(s.w_std * rng.standard_normal((N, d)), dtype=dtype, device=device)
    net = TwoLayerNetwork(a, W, activation, s.multiplier)
    optimizer = torch.optim.SGD([{"params": [net.a], "lr": s.lr_a}, {"params": [net.W], "lr": s.lr_w}])
    return net, optimizer


def squared_loss(net, X, y):
    r""":math:`L = \frac12\frac1n\sum_j (f(x_j) - y_j)^2`."""
    residual = net(X) - y
    return 0.5 * (residual * residual).mean()


def _sgd_step(net, optimizer, X, y):
    optimizer.zero_grad()
    squared_loss(net, X, y).backward()
    optimizer.step()


@validated(
    parametrization=Choice(PARAMETRIZATIONS),
    widths=Ints(1, 2**32 - 1, example_high=4),  # a width is a sub-stream of stream
    seeds=Ints(0, 2**32 - 1, example_high=2),  # a seed is a replica of stream
    X=Tensor("n d"),
    y=Tensor("n", like="X"),
    activation=ActivationName(),
    eta=Real(positive=True),
    steps=Int(1, example_max=1),
    base_width=Int(1),
    stream=Instance(Stream, lambda dims: Stream(0, "coordinate check"), "a Stream (companion.engine.seeding)"),
    memory=lambda a: (8 * int(a["widths"].max()) * (a["X"].shape[0] + a["X"].shape[1] + 2) * 4, "widths"),
)
def coordinate_check(
    parametrization,
    widths,
    seeds,
    X,
    y,
    activation,
    eta,
    *,
    steps=3,
    base_width=64,
    stream=Stream(0, "coordinate check"),
):
    r"""Train each width for ``steps`` full-batch SGD steps on the same batch (X, y), from ``seeds`` initialisations:
    seed s at width N draws from replica s, sub-stream N, of ``stream`` (:class:`companion.engine.seeding.Stream`).

    Returns a long DataFrame (parametrization, width, seed, t, quantity, value) with, at every t = 0..steps,
    feature = mean|w_i·x_j|, feature_update = mean|(w_i(t) − w_i(0))·x_j|, output = mean|f_t(x_j)| and
    output_update = mean|f_t(x_j) − f_0(x_j)| (means over neurons i and inputs j; updates are 0 at t = 0).
    """
    widths, seeds = widths.tolist(), seeds.tolist()
    rows = []
    for N in widths:
        for seed in seeds:
            net, optimizer = initial_network(
                parametrization,
                N,
                X.shape[1],
                activation,
                eta,
                rng=stream.rng(seed, purpose=N),
                base_width=base_width,
                dtype=X.dtype,
                device=X.device,
            )
            with torch.no_grad():
                h0, f0 = net.features(X), net(X)
            for t in range(steps + 1):
                if t > 0:
                    _sgd_step(net, optimizer, X, y)
                with torch.no_grad():
                    h, f = net.features(X), net(X)
                    values = (h.abs().mean(), (h - h0).abs().mean(), f.abs().mean(), (f - f0).abs().mean())
                rows += [(parametrization, N, int(seed), t, q, float(v)) for q, v in zip(QUANTITIES, values)]
    return pd.DataFrame(rows, columns=["parametrization", "width", "seed", "t", "quantity", "value"])


@cache
def _check_example():
    """A coordinate check at widths 2, 4, 8 with 2 seeds and 1 step (the fuzzing battery's DataFrame)."""
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(3, 2, generator=gen, dtype=torch.float64)
    return coordinate_check("mup", [2, 4, 8], [0, 1], X, X[:, 0], "erf", 0.5, steps=1)


_CHECK = Instance(pd.DataFrame, lambda dims: _check_example(), "a DataFrame of coordinate_check")
_CHECK_COLUMNS = {"parametrization", "width", "seed", "t", "quantity", "value"}


def _check_frame(check):
    """Refuse a frame without the columns of :func:`coordinate_check`."""
    if not _CHECK_COLUMNS <= set(check.columns):
        raise ValueError(f"check: need the columns {sorted(_CHECK_COLUMNS)} of coordinate_check")
    if check.empty or not np.isfinite(check["value"].to_numpy(dtype=np.float64)).all():
        raise ValueError("check: need a non-empty frame of finite values")


@validated(check=_CHECK)
def width_slopes(check):
    """Log–log slope in width of the seed-averaged value, per (parametrization, quantity, t); updates at t ≥ 1 only."""
    _check_frame(check)
    mean = check.groupby(["parametrization", "quantity", "t", "width"], as_index=False)["value"].mean()
    mean = mean[~(mean["quantity"].str.endswith("_update") & (mean["t"] == 0))]
    rows = [
        (*key, loglog_slope(group["width"], group["value"]))
        for key, group in mean.groupby(["parametrization", "quantity", "t"])
    ]
    return pd.DataFrame(rows, columns=["parametrization", "quantity", "t", "slope"])


@validated(
    check=_CHECK,
    n_boot=Int(1, example_max=50),
    level=Real(positive=True, below=1),
    seed=ResamplingSeed(),
)
def width_slope_intervals(check, n_boot=1000, level=0.9, seed=0):
    r"""Width slopes of a :func:`coordinate_check` over the wider half of its widths, with their uncertainty, per
    (parametrization, quantity, t); updates at t ≥ 1 only.

    ``slope``, ``lo``, ``hi``: the log–log slope in width of the seed mean over the wider half of the widths (the
    middle width is in both halves when their number is odd) and its percentile bootstrap interval over seeds
    (:func:`companion.analysis.statistics.replica_loglog_fit`; needs the same ≥ 2 seeds at every width).
    ``narrow_slope``: the same over the narrower half; ``curvature`` = |slope − narrow_slope|, the finite-width
    departure from a pure power law, which the bootstrap over seeds does not see. If that departure is a correction
    :math:`c N^{-q}` and the halves' widths differ by a factor M, the wide-half slope is off its limit by about
    curvature / (M^q − 1), at most the curvature itself once M^q ≥ 2. Needs ≥ 3 widths.
    """
    _check_frame(check)
    widths = np.sort(check["width"].unique())
    if widths.size < 3:
        raise ValueError(f"check: need at least 3 widths for a slope and its curvature, got {widths.size}")
    half = (widths.size + 1) // 2
    wide, narrow = widths[-half:], widths[:half]
    rows = []
    for key, group in check.groupby(["parametrization", "quantity", "t"]):
        if key[1].endswith("_update") and key[2] == 0:
            continue
        values = group.pivot_table(index="seed", columns="width", values="value")
        if values.shape[0] < 2 or values.isna().any().any():
            raise ValueError(f"check: need the same >= 2 seeds at every width, got {values.shape[0]} for {key}")
        slope, lo, hi = replica_loglog_fit(wide, values[wide].to_numpy(), n_boot=n_boot, level=level, seed=seed)
        narrow_slope = loglog_slope(narrow, values[narrow].mean(axis=0).to_numpy())
        rows.append((*key, slope, lo, hi, narrow_slope, abs(slope - narrow_slope)))
    return pd.DataFrame(
        rows, columns=["parametrization", "quantity", "t", "slope", "lo", "hi", "narrow_slope", "curvature"]
    )


@validated(
    held_out_intervals=Instance(
        pd.DataFrame,
        lambda dims: width_slope_intervals(_check_example(), n_boot=20),
        "a DataFrame of width_slope_intervals",
    )
)
def held_out_windows(held_out_intervals):
    r"""Half-widths of the windows for the width slopes of a judged coordinate check, computed from a *held-out* one
    (independent seeds, same widths): per (parametrization, quantity, t) the held-out 90 % bootstrap interval's
    full width plus its curvature (:func:`width_slope_intervals`),
    :math:`h = (\mathrm{hi} - \mathrm{lo}) + |\text{slope} - \text{narrow\_slope}|`.

    A 90 % interval is :math:`2 \times 1.645 \approx 3.3` standard errors wide, so a judged slope whose limit is
    the prediction leaves the window by chance with probability about 0.1 % per (quantity, t) when the held-out
    spread equals its own; the curvature term is the finite-width allowance. The judged run's values never enter."""
    columns = {"parametrization", "quantity", "t", "lo", "hi", "curvature"}
    if not columns <= set(held_out_intervals.columns):
        raise ValueError(f"held_out_intervals: need the columns {sorted(columns)} of width_slope_intervals")
    half = (held_out_intervals["hi"] - held_out_intervals["lo"]) + held_out_intervals["curvature"]
    return held_out_intervals[["parametrization", "quantity", "t"]].assign(half=half.to_numpy())


@validated(
    widths=Reals(positive=True, dim="T"),
    values=Tensor("R T", array=True, positive=True),
    n_boot=Int(1, example_max=20),
    level=Real(positive=True, below=1),
    seed=ResamplingSeed(),
)
def offset_power_exponent(widths, values, n_boot=300, level=0.9, seed=0):
    r"""The exponent p of :math:`m(N) = c_0 + c_1 (N/N_{\min})^p` (c_0, c_1 > 0) fitted to the seed mean of
    ``values`` (seeds, len(widths)), with its percentile bootstrap interval over seeds: (p, lo, hi).

    The fit is least squares in log m over log N (``scipy.optimize.curve_fit``). It measures the growth exponent of
    a quantity that is a constant plus a power of N, e.g. the first SP function update
    :math:`\Delta f_1 = c_0 + c_1 N/N_0`, whose local log–log slope only tends to p as N grows. Needs positive
    values at ≥ 4 widths and ≥ 2 seeds. A resample on which the fit fails counts as NaN and raises."""
    from scipy.optimize import curve_fit

    if widths.size < 4 or values.shape[0] < 2:
        raise ValueError(f"values: need (seeds, widths) with >= 2 seeds and >= 4 widths, got {values.shape}")
    log_n = np.log(widths / widths.min())

    def model(x, log_c0, log_c1, p):
        return np.logaddexp(log_c0, log_c1 + p * x)

    def exponent(sample):
        log_m = np.log(sample.mean(0))
        start = [log_m[0] - math.log(2), log_m[0] - math.log(2), (log_m[-1] - log_m[0]) / max(log_n[-1], 1e-12)]
        try:
            return float(curve_fit(model, log_n, log_m, p0=start, maxfev=20_000)[0][2])
        except RuntimeError:
            return math.nan

    p, lo, hi = bootstrap(values, exponent, n_boot=n_boot, level=level, seed=seed)
    if not all(map(math.isfinite, (p, lo, hi))):
        raise ValueError("values: the offset power law c0 + c1 N^p could not be fitted (to the mean or a resample)")
    return p, float(lo), float(hi)


_STEP = dict(
    theta=Particles("N 1+d"),
    activation=ActivationName(),
    X=Tensor("n d", like="theta"),
    y=Tensor("n", like="theta"),
    eta=Real(positive=True),
    lam=Real(nonnegative=True),
)


@validated(**_STEP)
def mup_sgd_step(theta, activation, X, y, eta, lam=0.0):
    r"""One autograd SGD step on the μP network built from particles θ (N, 1+d): ``torch.optim.SGD`` on
    :math:`\frac12\frac1n\sum_j(f(x_j)-y_j)^2` with learning rate ηN and weight decay λ/N, i.e.
    :math:`\theta_i \leftarrow \theta_i - \eta N\,\partial_{\theta_i} L - \eta\lambda\theta_i`. Returns the new (N, 1+d)."""
    N = theta.shape[0]
    a, W = split(theta)
    net = TwoLayerNetwork(a, W, activation, 1 / N)
    optimizer = torch.optim.SGD(net.parameters(), lr=eta * N, weight_decay=lam / N)
    _sgd_step(net, optimizer, X, y)
    return net.particles()


@validated(**_STEP)
def engine_step(theta, activation, X, y, eta, lam=0.0):
    """One step of :func:`companion.engine.dynamics.simulate` (empirical engine, full batch, no noise) from θ (N, 1+d)."""
    run = simulate(
        theta[None],
        activation,
        eta=eta,
        steps=1,
        lam=lam,
        engine="empirical",
        data=(X, y),
        record_steps=[1],
        keep_particles=False,
        progress=False,
    )
    return run.final[0]


@validated(theta0=Tensor("N p"), theta1=Tensor("N p", like="theta0"), theta2=Tensor("N p", like="theta0"))
def relative_step_error(theta0, theta1, theta2):
    r""":math:`\|\theta_1 - \theta_2\| / \|\theta_2 - \theta_0\|`: the disagreement of two updates of θ0,
    relative to the size of the update (not of θ, which would hide errors in a small step)."""
    size = torch.linalg.norm(theta2 - theta0)
    if size == 0:
        raise ValueError("theta2: the reference update is zero, so a relative error is undefined")
    return float(torch.linalg.norm(theta1 - theta2) / size)
