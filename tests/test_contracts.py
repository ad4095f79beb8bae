"""The generated battery: every function decorated with ``@validated`` (``contract.REGISTRY``) is called with inputs
drawn from its own contract, one argument at a time made invalid. Each call is classified:

- valid input → runs, no NaN in the result (or refuses with a ValueError/TypeError naming one of its parameters:
  a relation between arguments the one-argument contracts do not express);
- invalid input → ValueError/TypeError whose message starts with the parameter's name;
- anything else is *cryptic* (another exception type, or a message naming no parameter) or *silent* (an invalid
  input accepted, or NaN out).

A new public function is fuzzed by decorating it; no list here names functions. Deterministic (derandomized,
fixed per-function example counts) so CI is stable."""

import importlib
import pkgutil
import warnings
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from result_nan import has_nan

import companion.analysis  # the layers whose modules register their contracts on import
import companion.engine
from companion.engine import contract

for package in (companion.engine, companion.analysis):  # every module, so that no list here can forget one
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")

FUNCTIONS = sorted(contract.REGISTRY)
VALID_PER_FUNCTION = 8
INVALID_PER_FUNCTION = 40
RESULTS = Counter()


@st.composite
def calls(draw, function, invalid):
    """Keyword arguments for ``function`` from its contract; with ``invalid``, one argument replaced by an invalid
    value. Returns (kwargs, the invalid parameter or None)."""
    specs = function.contract
    dims = {name: draw(st.integers(*bounds)) for name, bounds in contract.DIM_SIZES.items()}
    dims["..."] = (dims["R"],)
    dims["batched"] = draw(st.booleans())
    named = Counter(dim for spec in specs.values() for dim in _dims(spec))
    dims["shared"] = {dim for dim, count in named.items() if count > 1}
    kwargs = {name: draw(spec.valid(dims)) for name, spec in specs.items()}
    bad = None
    if invalid:
        candidates = [name for name, spec in specs.items() if not isinstance(spec, contract.Anything)]
        bad = draw(st.sampled_from(candidates))
        kwargs[bad] = draw(specs[bad].invalid(dims))
    return kwargs, bad


def _dims(spec):
    """The dimension names a spec binds."""
    spec = spec.spec if isinstance(spec, contract.Maybe) else spec
    if isinstance(spec, contract.Tensor) and spec.shape:
        return [token.split("+")[-1] for token in spec.shape.split() if token != "..." and not token.isdigit()]
    return [spec.dim] if getattr(spec, "dim", None) else []


def classify(function, kwargs, bad):
    """'valid', 'refused' (valid input refused by a named relation), 'named' (invalid input refused by name),
    'silent' or 'cryptic', with a description."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = function(**kwargs)
    except (ValueError, TypeError) as error:
        message = str(error)
        if bad is not None:
            named = message.startswith(bad) or f"{bad}'s" in message
            return ("named", "") if named else ("cryptic", f"{bad}: {type(error).__name__}: {message}")
        if any(message.startswith(name) for name in function.contract):
            return "refused", message
        return "cryptic", f"valid input: {type(error).__name__}: {message}"
    except Exception as error:  # noqa: BLE001 - classified, not hidden
        return "cryptic", f"{bad}: {type(error).__name__}: {error}"
    if bad is not None:
        return "silent", f"{bad} = {contract.v.describe(kwargs[bad])} accepted"
    if has_nan(result):
        return "silent", "NaN in the result of a valid input"
    return "valid", ""


def _fuzzable(name):
    """Whether the contract has an argument the battery can make invalid (not every one is Anything)."""
    return any(not isinstance(spec, contract.Anything) for spec in contract.REGISTRY[name].contract.values())


CASES = [(name, False) for name in FUNCTIONS if contract.REGISTRY[name].fuzz_valid]
CASES += [(name, True) for name in FUNCTIONS if _fuzzable(name)]


@pytest.mark.parametrize(("name", "invalid"), CASES, ids=[f"{n}-{'invalid' if i else 'valid'}" for n, i in CASES])
def test_contract_battery(name, invalid):
    function = contract.REGISTRY[name]
    failures = []

    @settings(
        max_examples=INVALID_PER_FUNCTION if invalid else VALID_PER_FUNCTION,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(calls(function, invalid))
    def check(call):
        kind, text = classify(function, *call)
        RESULTS[kind] += 1
        if kind in ("silent", "cryptic"):
            failures.append(f"{kind}: {text}")

    check()
    assert not failures, f"{name}: {len(failures)} bad outcomes, e.g. " + "; ".join(sorted(set(failures))[:5])


def test_battery_size():
    """The battery reaches at least 1,000 calls (run after the parametrized tests in this module)."""
    valid, invalid = (sum(i == flag for _, i in CASES) for flag in (False, True))
    assert valid * VALID_PER_FUNCTION + invalid * INVALID_PER_FUNCTION >= 1000
