"""A battery of plausible wrong inputs that is NOT generated from the contracts: a hand-written valid call per public
function, and a hand-written generator of mutations by the kind of value each argument holds (wrong types, NaN/inf,
complex, booleans for numbers and strings for booleans, wrong ranks and mismatched dimensions, negative and huge sizes,
devices that do not exist here, generators that are not generators). It checks the contracts from outside: a spec
that forgets a case shows up here, not in ``tests/test_contracts.py``, whose inputs come from the specs themselves.

Each mutation is *invalid* (must be refused with a ValueError/TypeError naming the mutated parameter) or an *edge*
(may be accepted, but then with no NaN in the result; if refused, by a message naming a parameter). Anything else is
*cryptic* (another exception, or a message naming no parameter, or an invalid input refused under another
parameter's name) or *silent* (an invalid input accepted, or NaN out), as in ``tests/test_contracts.py``."""

import math
import warnings
from collections import Counter

import numpy as np
import torch
from result_nan import has_nan

import companion
from companion.analysis import (
    barron,
    calibration,
    coupling,
    decomposition,
    identifiability,
    moments,
    parametrizations,
    relaxation,
    statistics,
    symmetry,
)
from companion.analysis import explore as ex
from companion.engine import kernels

F64 = torch.float64
GEN = torch.Generator().manual_seed(0)
THETA = torch.randn(2, 5, 3, generator=GEN, dtype=F64) * 0.7  # (R, N, 1+d), d = 2
W = torch.randn(4, 2, generator=GEN, dtype=F64)
X = torch.randn(6, 2, generator=GEN, dtype=F64)
TARGET = companion.teacher("erf", torch.tensor([1.0, -0.5], dtype=F64), torch.eye(2, dtype=F64))
TARGET3 = companion.teacher("erf", torch.tensor([1.0], dtype=F64), torch.ones(1, 3, dtype=F64))  # d = 3
VALUES = np.abs(np.random.default_rng(0).normal(size=(8, 3))) + 0.1
ERRORS = np.abs(np.random.default_rng(1).normal(size=(3, 6, 2))) + 0.1  # (T, R, K)


def _mean(sample):
    return sample.mean(0)


def _rejects(sample):
    return bool(sample.mean(0)[0] > 1)


def _interval(sample):
    m, se = sample.mean(0), sample.std(0, ddof=1) / math.sqrt(len(sample))
    return m, m - 2 * se, m + 2 * se


# one valid call per function: (function, kwargs, {parameter: kind}); kinds pick the mutations below
CALLS = [
    (companion.simulate, dict(theta0=THETA, activation="erf", target=TARGET, eta=0.1, steps=2, progress=False),
     dict(theta0="particles", activation="activation", target="target", eta="positive", steps="count")),
    (companion.init_particles, dict(family="gaussian", R=1, N=3, d=2, scale=1.0, rng=0, device="cpu"),
     dict(family="choice", R="size", N="size", d="size", scale="positive", device="device")),
    (companion.teacher, dict(activation="erf", b=torch.tensor([1.0, 2.0], dtype=F64), U=torch.eye(2, dtype=F64)),
     dict(activation="activation", b="vector", U="matrix")),
    (companion.sample_data, dict(target=TARGET, n=4, noise_std=0.1, generator=torch.Generator().manual_seed(0)),
     dict(target="target alone", n="size", noise_std="nonnegative", generator="generator")),
    (companion.gaussian_kernel, dict(activation="erf", W=W, V=W[:3]),
     dict(activation="activation", W="matrix", V="matrix")),
    (companion.function_distance2, dict(theta1=THETA, theta2=THETA[:, :3], activation="tanh"),
     dict(theta1="particles", theta2="particles", activation="activation")),
    (companion.population_risk, dict(theta=THETA, activation="relu", target=TARGET),
     dict(theta="particles", activation="activation", target="target")),
    (companion.network, dict(theta=THETA, activation="erf", X=X),
     dict(theta="particles", activation="activation", X="matrix")),
    (companion.log_time_grid, dict(steps=50, num=5), dict(steps="count", num="size")),
    (companion.estimate_w_star, dict(theta=THETA[0].numpy(), variant="subgaussian"),
     dict(theta="particles", variant="choice")),
    (companion.w_star_closed_form, dict(family="gaussian", variant="subgaussian", scales=[1.0, 0.5, 0.5]),
     dict(family="choice", variant="choice", scales="vector")),
    (companion.canonicalize, dict(activation="relu", a=torch.tensor([1.0, 0.5], dtype=F64), W=W[:2]),
     dict(activation="activation", a="vector", W="matrix")),
    (companion.w2_squared, dict(x=W.numpy(), y=X.numpy()), dict(x="matrix", y="matrix")),
    (companion.bootstrap, dict(values=VALUES, statistic=_mean, n_boot=20, seed=0),
     dict(values="array", statistic="callable", n_boot="size", seed="seed")),
    (companion.loglog_fit, dict(x=[1.0, 2.0, 4.0], y=[1.0, 0.5, 0.26]), dict(x="vector", y="vector")),
    (companion.extract_atoms, dict(activation="erf", theta=THETA[0].numpy(), threshold=0.2, delta=0.01),
     dict(activation="activation", theta="particles", threshold="positive", delta="nonnegative")),
    (companion.match_directions, dict(activation="erf", positions=W.numpy(), teacher_directions=X[:2].numpy()),
     dict(activation="activation", positions="matrix", teacher_directions="matrix")),
    (coupling.coupling_error, dict(theta=THETA[:, :3], theta_ref=THETA), dict(theta="particles", theta_ref="particles")),
    (coupling.effective_size, dict(N=np.array([2.0, 4.0]), N_ref=16.0), dict(N="vector", N_ref="positive")),
    (coupling.fit_rate, dict(N=[2.0, 4.0], errors=VALUES[:, :2], n_boot=20),
     dict(N="vector", errors="array", n_boot="size", level="level")),
    (coupling.fit_plateau, dict(times=[0.0, 1.0, 2.0], N=[2.0, 4.0], errors=ERRORS, window=[0.0, 2.0], n_boot=20),
     dict(times="vector", N="vector", errors="array", n_boot="size", window="optional vector")),
    (statistics.replica_log_slope, dict(x=[1.0, 2.0, 4.0], values=VALUES, n_boot=20),
     dict(x="vector", values="array", n_boot="size", level="level", seed="seed")),
    (calibration.calibration_study, dict(values=VALUES, interval=_interval, K=2, level=0.9),
     dict(values="array", interval="callable", K="size", level="level", axis="axis")),
    (calibration.resampled_false_alarm_rate, dict(values=VALUES, reject=_rejects, experiments=10),
     dict(values="array", reject="callable", experiments="count", level="level", seed="seed", axis="axis")),
    (calibration.batch_estimates, dict(values=VALUES, statistic=_mean, K=2),
     dict(values="array", statistic="callable", K="size", axis="axis")),
    (calibration.median_of_means, dict(values=VALUES, groups=3), dict(values="array", groups="size", axis="axis")),
    (calibration.studentized_max_test, dict(values=VALUES, null=1.0, n_boot=20),
     dict(values="array", null="array", level="level", n_boot="size", seed="seed")),
    (relaxation.pair_hessians, dict(theta=THETA[0, :3], activation="erf"),
     dict(theta="particles", activation="activation", block="size")),
    (relaxation.drift_hessian, dict(theta=THETA[0, :3], activation="erf", target=TARGET, lam=0.1),
     dict(theta="particles", activation="activation", target="target", lam="nonnegative")),
    (relaxation.function_gram, dict(theta=THETA[0, :3], activation="erf"),
     dict(theta="particles", activation="activation")),
    (relaxation.linearised_relaxation,
     dict(start=THETA[:, :3], stationary=THETA[:, :3] * 0.9, activation="erf", target=TARGET, lam=0.1, s=[0.0, 1.0]),
     dict(start="particles", stationary="particles", target="target", lam="nonnegative", s="vector")),
    (parametrizations.coordinate_check,
     dict(parametrization="mup", widths=[2, 4], seeds=[0], X=X, y=X[:, 0], activation="erf", eta=0.5, steps=1),
     dict(parametrization="choice", widths="sizes", seeds="sizes", X="matrix", y="vector", eta="positive",
          steps="count")),
    (parametrizations.width_slopes, dict(check=parametrizations._check_example()), dict(check="object")),
    (ex.explore, dict(params=dict(ex.DEFAULTS, N=4, horizon=1.0), device="cpu", dtype=F64),
     dict(params="object", device="device", dtype="dtype")),
    (decomposition.simulate_chain,
     dict(problem=companion.problem("erf", TARGET), R=1, N_ref=3, init_seed=0, N_values=[1], datasets={}, pairs=(),
          eta=0.5, times=[0.0, 0.5], t_inf=1.0, window=0.5, lam=0.01, tau=0.0, snapshots=2),
     dict(problem="object", R="size", N_ref="size", N_values="sizes", eta="positive", times="vector",
          t_inf="positive", window="positive", lam="nonnegative", snapshots="size", device="device", dtype="dtype")),
    (decomposition.chaos_table, dict(chain=decomposition._chain_example(2)), dict(chain="object")),
    (decomposition.decomposition_table, dict(chain=decomposition._chain_example(2)), dict(chain="object")),
    (coupling.mckean_vlasov_run,
     dict(problem=companion.problem("erf", TARGET), R=1, sizes=[1, 2], N_big=3, init_seed=0, seed=0,
          population_init_seed=0, population_seed=1, eta=0.1, steps=1, record_steps=[0, 1]),
     dict(problem="object", R="size", sizes="sizes", N_big="size", seed="seed", eta="positive", steps="count",
          floor_size="size", device="device", engine="choice")),
    (moments.init_scales, dict(d=2, scale=1.0, a_scale=1.0), dict(d="size", scale="nonnegative", a_scale="nonnegative")),
    (barron.teacher_network, dict(activation="erf", M=2, d=2), dict(activation="activation", M="size", d="size")),
    (identifiability.moment_map, dict(activation="erf", a=torch.tensor([1.0, 0.5]), W=W[:2], D=2),
     dict(activation="activation", a="vector", W="matrix", D="count", unit_norm="bool")),
    (symmetry.random_symmetry,
     dict(activation="relu", a=torch.tensor([1.0, 0.5], dtype=F64), W=W[:2], generator=torch.Generator().manual_seed(0)),
     dict(a="vector", W="matrix", generator="generator", steps="count")),
    (kernels.gaussian_kernel, dict(activation="he3", W=W, V=X), dict(terms="size")),
]  # fmt: skip


def _meta(value):
    return torch.empty(tuple(torch.as_tensor(value).shape), device="meta")


def _nan(value):
    bad = torch.as_tensor(np.array(value, dtype=np.float64)).clone()
    bad.view(-1)[0] = math.nan
    return bad


def _inf(value):
    bad = np.array(value, dtype=np.float64).copy()
    bad.reshape(-1)[-1] = math.inf
    return bad


def _wider(value):
    tensor = torch.as_tensor(np.array(value, dtype=np.float64))
    return torch.cat([tensor, tensor[..., :1]], -1)


TENSOR = [
    ("invalid", "NaN entry", _nan),
    ("invalid", "inf entry", _inf),
    ("invalid", "complex", lambda v: torch.as_tensor(np.array(v, dtype=np.float64)).to(torch.complex128)),
    ("invalid", "bool tensor", lambda v: torch.as_tensor(np.array(v, dtype=np.float64)) > 0),
    ("invalid", "a string", lambda v: "tensor"),
    ("invalid", "None", lambda v: None),
    ("invalid", "meta tensor", _meta),
    ("invalid", "strings in a list", lambda v: [["a", "b"]]),
    ("edge", "int64 tensor", lambda v: torch.as_tensor(np.array(v, dtype=np.float64)).round().long()),
    ("edge", "one more column", _wider),
    ("edge", "rank lowered", lambda v: torch.as_tensor(np.array(v, dtype=np.float64)).reshape(-1)),
    ("edge", "empty rows", lambda v: torch.as_tensor(np.array(v, dtype=np.float64))[..., :0, :]
     if np.ndim(v) >= 2 else torch.zeros(0, dtype=F64)),
    ("edge", "huge entries", lambda v: torch.as_tensor(np.array(v, dtype=np.float64)) * 1e200),
    ("edge", "float32", lambda v: torch.as_tensor(np.array(v, dtype=np.float64)).float()),
]  # fmt: skip
INTEGER = [
    ("invalid", "2.5", lambda v: 2.5),
    ("invalid", "True", lambda v: True),
    ("invalid", "'3'", lambda v: "3"),
    ("invalid", "NaN", lambda v: math.nan),
    ("invalid", "[2]", lambda v: [2]),
    ("edge", "-1", lambda v: -1),
    ("edge", "0", lambda v: 0),
    ("edge", "None", lambda v: None),
    ("edge", "10**15", lambda v: 10**15),
    ("edge", "np.int64", lambda v: np.int64(2)),
]
REAL = [
    ("invalid", "NaN", lambda v: math.nan),
    ("invalid", "'0.1'", lambda v: "0.1"),
    ("invalid", "True", lambda v: True),
    ("invalid", "complex", lambda v: 0.5 + 1j),
    ("invalid", "a tensor of two", lambda v: torch.tensor([0.1, 0.2])),
    ("edge", "inf", lambda v: math.inf),
    ("edge", "-1.0", lambda v: -1.0),
    ("edge", "0.0", lambda v: 0.0),
    ("edge", "None", lambda v: None),
    ("edge", "1e300", lambda v: 1e300),
]
NAMES = [
    ("invalid", "'nope'", lambda v: "nope"),
    ("invalid", "3", lambda v: 3),
    ("invalid", "bytes", lambda v: b"erf"),
    ("invalid", "a list", lambda v: [v]),
    ("edge", "None", lambda v: None),
    ("edge", "upper case", lambda v: str(v).upper()),
]
MUTATIONS = {
    "particles": TENSOR,
    "matrix": TENSOR,
    "vector": TENSOR[:8] + [("edge", "empty", lambda v: []), ("edge", "rank raised", lambda v: [list(np.ravel(v))])],
    "optional vector": [m for m in TENSOR[:8] if m[1] != "None"] + [("edge", "None", lambda v: None)],
    "array": TENSOR[:8] + [("edge", "empty", lambda v: np.zeros((0, 3)))],
    "count": INTEGER[:8],  # no 10**15: a long run is not an error
    "size": INTEGER,
    "sizes": [("invalid", "['2']", lambda v: ["2"]), ("invalid", "[1.5]", lambda v: [1.5]),
              ("invalid", "[True]", lambda v: [True]), ("invalid", "'12'", lambda v: "12"),
              ("invalid", "[NaN]", lambda v: [math.nan]), ("edge", "[]", lambda v: []), ("edge", "[-1]", lambda v: [-1]),
              ("edge", "[0]", lambda v: [0]), ("edge", "[10**12]", lambda v: [10**12])],
    "positive": REAL,
    "nonnegative": REAL,
    "level": REAL + [("edge", "1.0", lambda v: 1.0), ("edge", "90", lambda v: 90)],
    "seed": INTEGER[:5] + [("edge", "-1", lambda v: -1), ("edge", "2**40", lambda v: 2**40)],
    "axis": INTEGER[:5] + [("edge", "5", lambda v: 5), ("edge", "-9", lambda v: -9)],
    "choice": NAMES,
    "activation": NAMES + [("invalid", "he100000", lambda v: "he100000"), ("edge", "he2", lambda v: "he2")],
    "target alone": [("invalid", "'erf'", lambda v: "erf"), ("invalid", "1.0", lambda v: 1.0), ("edge", "None", lambda v: None)],
    "target": [("invalid", "'erf'", lambda v: "erf"), ("invalid", "1.0", lambda v: 1.0),
               ("invalid", "another dimension", lambda v: TARGET3), ("edge", "None", lambda v: None)],
    "device": [("invalid", "'cuda'", lambda v: "cuda"), ("invalid", "'cuda:1'", lambda v: "cuda:1"),
               ("invalid", "'mps'", lambda v: "mps"), ("invalid", "'meta'", lambda v: "meta"),
               ("invalid", "'tpu'", lambda v: "tpu"), ("invalid", "7", lambda v: 7),
               ("invalid", "None", lambda v: None)],
    "dtype": [("invalid", "int64", lambda v: torch.int64), ("invalid", "'float64'", lambda v: "float64"),
              ("invalid", "complex128", lambda v: torch.complex128), ("edge", "np.float64", lambda v: np.float64)],
    "generator": [("invalid", "0", lambda v: 0), ("invalid", "'seed'", lambda v: "seed"),
                  ("invalid", "a numpy generator", lambda v: np.random.default_rng(0)), ("edge", "None", lambda v: None)],
    "callable": [("invalid", "'mean'", lambda v: "mean"), ("invalid", "None", lambda v: None),
                 ("invalid", "3", lambda v: 3)],
    "bool": [("invalid", "'no'", lambda v: "no"), ("invalid", "1", lambda v: 1), ("invalid", "None", lambda v: None)],
    "object": [("invalid", "None", lambda v: None), ("invalid", "'erf'", lambda v: "erf"),
               ("invalid", "a dict", lambda v: {"a": 1}), ("invalid", "1.0", lambda v: 1.0)],
}  # fmt: skip


def cases():
    """(function, kwargs, parameter, kind, description) for every mutation of every argument of every call."""
    out = []
    for function, base, kinds in CALLS:
        for parameter, kind in kinds.items():
            for severity, description, mutate in MUTATIONS[kind]:
                kwargs = dict(base)
                kwargs[parameter] = mutate(base.get(parameter))
                out.append((function, kwargs, parameter, severity, description))
    return out


def classify(function, kwargs, parameter, severity):
    """'named' / 'refused' / 'accepted' (fine) or 'silent' / 'cryptic', and a description."""
    names = list(getattr(function, "contract", {})) or list(kwargs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = function(**kwargs)
    except (ValueError, TypeError) as error:
        message = str(error)
        if message.startswith(parameter) or f"{parameter}'s" in message:
            return "named", ""
        if severity == "edge" and any(message.startswith(name) for name in names):
            return "refused", ""
        return "cryptic", f"{type(error).__name__}: {message[:200]}"
    except companion.DivergenceError as error:
        return ("refused", "") if severity == "edge" else ("cryptic", f"DivergenceError: {error}")
    except Exception as error:  # noqa: BLE001 - classified, not hidden
        return "cryptic", f"{type(error).__name__}: {str(error)[:200]}"
    if severity == "invalid":
        return "silent", "accepted"
    if has_nan(result):
        return "silent", "NaN in the result"
    return "accepted", ""


CASES = cases()


def test_the_fresh_battery_is_large_enough():
    assert len(CASES) >= 300


def test_fresh_battery_has_no_silent_and_no_cryptic_outcome():
    counts, bad = Counter(), []
    for function, kwargs, parameter, severity, description in CASES:
        outcome, text = classify(function, kwargs, parameter, severity)
        counts[outcome] += 1
        if outcome in ("silent", "cryptic"):
            bad.append(f"{outcome}: {function.__name__}({parameter} = {description}): {text}")
    print(dict(counts), len(CASES))
    assert not bad, f"{len(bad)} of {len(CASES)}:\n" + "\n".join(bad)


def test_the_classifier_catches_silent_outcomes():
    """The classifier itself: a function that accepts anything is silent on an invalid input."""

    def accepts_anything(x):
        return 1.0

    assert classify(accepts_anything, dict(x="no"), "x", "invalid")[0] == "silent"
    assert classify(lambda x: math.nan, dict(x=1), "x", "edge")[0] == "silent"
