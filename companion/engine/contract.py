"""Validation declared once per public function: ``@validated(theta=Particles(), X=Tensor("... n d", like="theta"))``
checks each argument at the function's entry with the helpers of :mod:`companion.engine.validation`, binds named
dimensions across arguments (``d`` of ``theta`` and of ``X`` must agree, and the message names both parameters as the
caller wrote them), refuses a call whose memory estimate cannot fit before anything is allocated, and hands the body
the resolved values. The same declaration generates hypothesis strategies of valid and of invalid values
(:meth:`Spec.valid`, :meth:`Spec.invalid`), so every decorated function is fuzzed by ``tests/test_contracts.py``
without a list of its own. hypothesis is imported only by those two methods (it is a test dependency).

Why not jaxtyping + beartype (or pydantic): neither is installed here; jaxtyping binds named dimensions across
arguments but checks types only (not finiteness, ranges, devices, booleans-as-booleans or memory), names the failing
dimension rather than the caller's parameter, and generates no strategies; pydantic validates value objects, not
tensors. Each would carry a part of the spec and need a second declaration for the rest.
"""

import functools
import inspect
import math
import os
from dataclasses import dataclass, field

import numpy as np
import torch

from . import validation as v

__all__ = [
    "validated",
    "Spec",
    "Tensor",
    "Particles",
    "Int",
    "Real",
    "Bool",
    "Choice",
    "Maybe",
    "Device",
    "Dtype",
    "ActivationName",
    "TargetSpec",
    "Generator",
    "Callable",
    "Ints",
    "Reals",
    "Anything",
    "memory_limit",
    "refuse_memory",
    "Seed",
    "Instance",
    "REGISTRY",
]

REGISTRY = {}
DIM_SIZES = {"R": (1, 2), "N": (1, 4), "d": (1, 3), "n": (1, 5), "S": (1, 3), "M": (1, 3), "T": (2, 6), "K": (1, 4)}


MEMINFO = "/proc/meminfo"
PHYSICAL_SHARE = 0.5


def memory_limit():
    """Bytes a single call may allocate: the kernel's estimate of the memory available to a new program now,
    ``MemAvailable`` of /proc/meminfo (free memory plus the page cache and reclaimable slabs it can drop; Linux >= 3.14).
    Without it (other systems, or a /proc that does not say) :data:`PHYSICAL_SHARE` (half) of the physical memory,
    ``SC_PHYS_PAGES``. Free memory alone (``SC_AVPHYS_PAGES``) is not used: it leaves out the page cache, so the
    refusal threshold would move with whatever files were read last."""
    try:
        with open(MEMINFO) as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # the kernel writes it in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(PHYSICAL_SHARE * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # platforms without sysconf
        return 8 * 2**30


def refuse_memory(name, need):
    """Raise the error for a call that would allocate ``need`` bytes, above :func:`memory_limit`."""
    limit = memory_limit()
    if need > limit:
        raise ValueError(
            f"{name}: this call would allocate about {need / 2**30:.1f} GiB, more than the "
            f"{limit / 2**30:.1f} GiB of memory available"
        )


def _st():
    from hypothesis import strategies

    return strategies


class Spec:
    """One argument's contract: :meth:`check` resolves a value or raises an error naming the parameter; :meth:`valid`
    and :meth:`invalid` are hypothesis strategies given the call's drawn dimension sizes ``dims``."""

    def check(self, name, value, ctx):
        raise NotImplementedError

    def valid(self, dims):
        raise NotImplementedError

    def invalid(self, dims):
        return _st().sampled_from([object()])


@dataclass
class Anything(Spec):
    """Any value passes (an argument whose check lives in the body); fuzzed with ``example`` only."""

    example: object = None

    def check(self, name, value, ctx):
        return value

    def valid(self, dims):
        return _st().just(self.example)

    def invalid(self, dims):
        return _st().nothing()


@dataclass
class Int(Spec):
    """An integer in [minimum, maximum] (3.0 accepted, 2.7, True, "3" refused)."""

    minimum: int = None
    maximum: int = None
    example_max: int = 4
    example_min: int = None

    def check(self, name, value, ctx):
        return v.integer(name, value, self.minimum, self.maximum)

    def valid(self, dims):
        low = self.example_min if self.example_min is not None else 0 if self.minimum is None else self.minimum
        high = min(low + self.example_max, self.maximum if self.maximum is not None else low + self.example_max)
        return _st().integers(low, high)

    def invalid(self, dims):
        bad = [2.7, "3", True, None, math.nan, [1]]
        if self.minimum is not None:
            bad.append(self.minimum - 1)
        if self.maximum is not None:
            bad.append(self.maximum + 1)
        return _st().sampled_from(bad)


@dataclass
class Real(Spec):
    """A finite real number; ``positive`` (> 0), ``nonnegative`` (>= 0), ``below`` (< below), ``at_most`` (<=)."""

    positive: bool = False
    nonnegative: bool = False
    below: float = None
    at_most: float = None
    example: tuple = (0.1, 1.0)
    inf_ok: bool = False

    def check(self, name, value, ctx):
        if self.inf_ok and isinstance(value, (float, np.floating)) and value == math.inf:
            return math.inf
        value = v.finite_number(name, value, self.positive, self.nonnegative, self.below)
        if self.at_most is not None and value > self.at_most:
            raise ValueError(f"{name}: need a number <= {self.at_most}, got {value!r}")
        return value

    def valid(self, dims):
        low, high = self.example
        if self.below is not None and high >= self.below:
            return _st().floats(low, self.below, exclude_max=True)
        return _st().floats(low, high if self.at_most is None else min(high, self.at_most))

    def invalid(self, dims):
        bad = [math.nan, -math.inf, "0.1", True, None, 1 + 1j, [0.1]] + ([] if self.inf_ok else [math.inf])
        if self.positive:
            bad += [0.0, -1.0]
        elif self.nonnegative:
            bad.append(-1.0)
        if self.below is not None:
            bad.append(float(self.below))
        if self.at_most is not None:
            bad.append(self.at_most * 2 + 1)
        return _st().sampled_from(bad)


class Bool(Spec):
    """A boolean: True/False or a NumPy bool; "no", 1, None are refused."""

    def check(self, name, value, ctx):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name}: need True or False, got {v.describe(value)}")
        return bool(value)

    def valid(self, dims):
        return _st().booleans()

    def invalid(self, dims):
        return _st().sampled_from(["no", "yes", 1, 0, None, 0.0])


@dataclass
class Choice(Spec):
    """One of ``options``."""

    options: tuple

    def check(self, name, value, ctx):
        return v.choice(name, value, self.options)

    def valid(self, dims):
        return _st().sampled_from(self.options)

    def invalid(self, dims):
        return _st().sampled_from(["no such option", 3, None])


@dataclass
class Maybe(Spec):
    """None or a value of ``spec``."""

    spec: Spec

    def check(self, name, value, ctx):
        return None if value is None else self.spec.check(name, value, ctx)

    def valid(self, dims):
        return _st().one_of(_st().none(), self.spec.valid(dims))

    def invalid(self, dims):
        return self.spec.invalid(dims).filter(lambda value: value is not None)


def _device_problem(device):
    """Why a computation cannot run on ``device`` (a torch.device), or None."""
    if device.type == "meta":
        return "a meta device holds no values to compute with"
    if device.type == "cuda" and not torch.cuda.is_available():
        return "no CUDA device is available"
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        return f"only {torch.cuda.device_count()} CUDA device(s) are available"
    if device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        return "no MPS device is available"
    if device.type not in ("cpu", "cuda", "mps"):
        return "only cpu, cuda and mps devices are supported"
    return None


class Device(Spec):
    """A device (a name or torch.device) that exists on this machine."""

    def check(self, name, value, ctx):
        if not isinstance(value, (str, torch.device)):
            raise TypeError(f"{name}: need a device such as 'cpu' or 'cuda', got {v.describe(value)}")
        try:
            device = torch.device(value)
        except RuntimeError as error:
            raise ValueError(f"{name}={value!r}: not a device name (try 'cpu' or 'cuda')") from error
        problem = _device_problem(device)
        if problem:
            raise ValueError(f"{name}={value!r}: {problem}")
        return value

    def valid(self, dims):
        return _st().sampled_from(["cpu", torch.device("cpu")])

    def invalid(self, dims):
        bad = ["meta", "gpu", 0, None]
        bad += [] if torch.cuda.is_available() else ["cuda", "cuda:0"]
        bad += [] if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available() else ["mps"]
        return _st().sampled_from(bad)


class Dtype(Spec):
    """A floating torch dtype (float32 or float64)."""

    def check(self, name, value, ctx):
        if value not in (torch.float32, torch.float64):
            raise (ValueError if isinstance(value, torch.dtype) else TypeError)(
                f"{name}: need torch.float32 or torch.float64, got {v.describe(value)}"
            )
        return value

    def valid(self, dims):
        return _st().just(torch.float64)

    def invalid(self, dims):
        return _st().sampled_from([torch.int64, torch.complex128, "float64", np.float64, None])


@dataclass
class ActivationName(Spec):
    """An activation: a name ("erf", "he3", ...) or an Activation, resolved to the Activation
    (:func:`companion.engine.activations.lookup`); ``resolve=False``: checked, but handed on as given (a task whose
    rows carry the name); ``only``: the names a function supports (``why``: the reason, for the message)."""

    examples: tuple = ("erf", "relu", "tanh", "he2")
    resolve: bool = True
    only: tuple = None
    why: str = ""

    def check(self, name, value, ctx):
        from .activations import lookup

        resolved = lookup(name, value)
        if self.only is not None and resolved.name not in self.only:
            raise ValueError(f"{name}: {self.why}: need one of {self.only}, got {resolved.name!r}")
        return resolved if self.resolve else value

    def valid(self, dims):
        return _st().sampled_from(self.only or self.examples)

    def invalid(self, dims):
        return _st().sampled_from(["nope", "he100000", 3, None, b"erf"] + (["relu"] if self.only else []))


@dataclass
class TargetSpec(Spec):
    """A Target (teacher or ridge_target) whose input dimension is the call's ``d`` (``optional``: None allowed)."""

    optional: bool = False
    dim: str = "d"

    def check(self, name, value, ctx):
        from .targets import Target

        if value is None and self.optional:
            return None
        if not isinstance(value, Target):
            raise TypeError(
                f"{name}: need a Target (companion.teacher or ridge_target){' or None' * self.optional}, "
                f"got {v.describe(value)}"
            )
        ctx.bind(name, self.dim, value.dim)
        return value

    def valid(self, dims):
        from .targets import teacher

        d = dims[self.dim]
        return _st().just(
            teacher("erf", torch.tensor([1.0, -0.5], dtype=torch.float64), torch.eye(2, d, dtype=torch.float64) + 0.5)
        )

    def invalid(self, dims):
        from .targets import teacher

        wrong = teacher(
            "erf", torch.tensor([1.0], dtype=torch.float64), torch.ones(1, dims[self.dim] + 1, dtype=torch.float64)
        )
        shared = [wrong] if self.dim in dims.get("shared", ()) else []
        return _st().sampled_from(shared + ["erf", 1.0] + ([] if self.optional else [None]))


class Generator(Spec):
    """A torch.Generator (``optional``: or None)."""

    def __init__(self, optional=False):
        self.optional = optional

    def check(self, name, value, ctx):
        if value is None and self.optional:
            return None
        if not isinstance(value, torch.Generator):
            raise TypeError(f"{name}: need a torch.Generator{' or None' * self.optional}, got {v.describe(value)}")
        return value

    def valid(self, dims):
        return _st().integers(0, 3).map(lambda s: torch.Generator().manual_seed(s))

    def invalid(self, dims):
        return _st().sampled_from([0, np.random.default_rng(0), "seed"] + ([] if self.optional else [None]))


@dataclass
class Callable(Spec):
    """A callable; fuzzed with ``example``."""

    example: object = None

    def check(self, name, value, ctx):
        if not callable(value):
            raise TypeError(f"{name}: need a function, got {v.describe(value)}")
        return value

    def valid(self, dims):
        return _st().just(self.example)

    def invalid(self, dims):
        return _st().sampled_from(["mean", 3, None])


@dataclass
class Ints(Spec):
    """A 1-D sequence of integers in [minimum, maximum] (NumPy int64 array), non-empty unless ``nonempty`` is False;
    ``dim``: its length."""

    minimum: int = None
    maximum: int = None
    dim: str = None
    example_high: int = 4
    nonempty: bool = True

    def check(self, name, value, ctx):
        _refuse_meta(name, value)
        if isinstance(value, (list, tuple)) and any(isinstance(x, (str, bytes)) for x in value):
            raise TypeError(f"{name}: need a 1-D sequence of integers, got {v.describe(value)}")
        array = v.integer_array(name, value, self.minimum, self.maximum, nonempty=self.nonempty)
        if self.dim:
            ctx.bind(name, self.dim, len(array))
        return array

    def valid(self, dims):
        low = 1 if self.minimum is None else self.minimum
        size = dims[self.dim] if self.dim else 2
        return _st().lists(_st().integers(low, low + self.example_high), min_size=size, max_size=size)

    def invalid(self, dims):
        low = 1 if self.minimum is None else self.minimum
        bad = [["2"], [low - 1], [1.5], "12", None, [[1, 2]]]
        return _st().sampled_from(bad + [[]] if self.nonempty else bad)


@dataclass
class Reals(Spec):
    """A non-empty 1-D sequence of finite reals (float64 NumPy array); ``positive``; ``dim``: its length."""

    positive: bool = False
    dim: str = None

    def check(self, name, value, ctx):
        _refuse_meta(name, value)
        array = v.float_array(name, value, shape=(None,), label="(k,)")
        if self.positive and (array <= 0).any():
            raise ValueError(f"{name}: need positive values, got {array.tolist()[:8]}")
        if self.dim:
            ctx.bind(name, self.dim, len(array))
        return array

    def valid(self, dims):
        size = dims[self.dim] if self.dim else 3
        return _st().lists(_st().floats(0.5, 4.0), min_size=size, max_size=size)

    def invalid(self, dims):
        size = dims[self.dim] if self.dim else 3
        bad = [[math.nan] * size, [math.inf] * size, [1 + 1j] * size, "abc", None, [[1.0] * size]]
        bad += [[-1.0] * size] if self.positive else []
        return _st().sampled_from(bad)


def _refuse_meta(name, value):
    """Refuse a meta tensor (shape without values) by name."""
    if torch.is_tensor(value) and value.device.type == "meta":
        raise ValueError(f"{name}: a meta tensor holds no values to compute with")


def _parse_shape(text):
    """ "... N 1+d" -> (leading, [(offset, name or None, size or None)])."""
    tokens = text.split()
    leading = bool(tokens) and tokens[0] == "..."
    parsed = []
    for token in tokens[1:] if leading else tokens:
        if token.isdigit():
            parsed.append((0, None, int(token)))
        elif "+" in token:
            offset, name = token.split("+")
            parsed.append((int(offset), name, None))
        else:
            parsed.append((0, token, None))
    return leading, parsed


@dataclass
class Tensor(Spec):
    """A real array or tensor with ``shape`` in named dimensions ("... N 1+d": any leading batch, N rows, 1+d
    columns); names shared across arguments must agree, leading batches must broadcast. ``finite`` refuses NaN/inf;
    ``like``: cast to that argument's dtype and device; ``dtype``: cast to it; ``array``: return a float64 NumPy
    array; ``positive``/``nonnegative``: every entry > 0 / >= 0; ``max_abs``: a bound on |entries|; ``empty_ok``: the dimension names that may be 0 (e.g. "S": the zero
    measure). Complex, boolean, text and meta tensors are refused."""

    shape: str = None
    finite: bool = True
    like: str = None
    dtype: torch.dtype = None
    array: bool = False
    positive: bool = False
    nonnegative: bool = False
    empty_ok: str = ""
    max_abs: float = None

    def check(self, name, value, ctx):
        _refuse_meta(name, value)
        if torch.is_tensor(value) and value.is_complex() or isinstance(value, np.ndarray) and np.iscomplexobj(value):
            raise TypeError(f"{name}: need a real array or tensor, got {v.describe(value)}")
        nonempty = not self.empty_ok
        # inside vmap/jacfwd/grad the entries are traced and cannot be read: shapes, dtypes and kinds are still checked
        traced = torch._C._are_functorch_transforms_active()
        finite = self.finite and not traced
        if self.array:
            value = v.float_array(name, value, finite=finite, nonempty=nonempty)
        else:
            dtype = self.dtype
            if self.like is not None and torch.is_tensor(ctx.values.get(self.like)):
                dtype = ctx.values[self.like].dtype
            value = v.float_tensor(name, value, dtype=dtype, finite=finite, nonempty=nonempty)
            if self.like is not None and torch.is_tensor(ctx.values.get(self.like)):
                value = value.to(ctx.values[self.like].device)
        if self.shape is not None:
            self._bind(name, tuple(value.shape), ctx)
        if traced:
            return value
        if self.positive and not bool((value > 0).all()):
            raise ValueError(f"{name}: need positive entries")
        if self.nonnegative and not bool((value >= 0).all()):
            raise ValueError(f"{name}: need non-negative entries")
        plain = value.detach() if torch.is_tensor(value) else value
        size = plain.numel() if torch.is_tensor(plain) else plain.size
        if self.max_abs is not None and size and float(abs(plain).max()) > self.max_abs:
            raise ValueError(
                f"{name}: need entries of magnitude <= {self.max_abs:g} (larger ones overflow the "
                f"computation), got {float(abs(plain).max()):g}"
            )
        return value

    def _bind(self, name, shape, ctx):
        leading, parsed = _parse_shape(self.shape)
        if len(shape) < len(parsed) or (not leading and len(shape) != len(parsed)):
            raise ValueError(f"{name}: need shape ({self.shape.replace(' ', ', ')}), got shape {shape}")
        tail = shape[len(shape) - len(parsed) :]
        for size, (offset, dim, fixed) in zip(tail, parsed):
            if fixed is not None and size != fixed:
                raise ValueError(f"{name}: need shape ({self.shape.replace(' ', ', ')}), got shape {shape}")
            if dim is not None:
                if size - offset < (0 if dim in self.empty_ok.split() else 1):
                    raise ValueError(
                        f"{name}: need shape ({self.shape.replace(' ', ', ')}) with {dim} >= 1, got shape {shape}"
                    )
                ctx.bind(name, dim, size - offset)
        if leading:
            ctx.bind_batch(name, shape[: len(shape) - len(parsed)])

    def _shape(self, dims, batch=()):
        if self.shape is None:  # any shape: a vector for the battery
            return (dims["T"],)
        leading, parsed = _parse_shape(self.shape)
        return (tuple(batch) if leading else ()) + tuple(
            fixed if fixed is not None else offset + dims.get(dim, 2) for offset, dim, fixed in parsed
        )

    def valid(self, dims):
        st = _st()
        shape = self._shape(dims, dims.get("...", ()) if dims.get("batched") else ())
        draw = st.integers(0, 2**16).map(
            lambda s: torch.randn(shape, generator=torch.Generator().manual_seed(s), dtype=torch.float64)
        )
        return draw.map(lambda x: x.abs() + 0.1) if self.positive or self.nonnegative else draw

    def invalid(self, dims):
        st = _st()
        shape = self._shape(dims, dims.get("...", ()) if dims.get("batched") else ())
        good = torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        leading, parsed = _parse_shape(self.shape or "")
        wrong_rank = good[None] if not leading else (good.reshape(-1) if len(parsed) > 1 else torch.tensor(1.0))
        bad = ["tensor", None, {"a": 1}, good.to(torch.complex128), good > 0, torch.empty(shape, device="meta")]
        bad += [wrong_rank] if self.shape is not None and (len(parsed) > 0 or not leading) else []
        if self.positive or self.nonnegative:
            bad.append(-good.abs() - 0.1)
        if self.max_abs is not None:
            bad.append(good * 0 + 10 * self.max_abs)
        if self.finite:
            nan, inf = good.clone(), good.clone()
            nan.view(-1)[0], inf.view(-1)[-1] = math.nan, math.inf
            bad += [nan, inf]
        if parsed and parsed[-1][1] in dims.get("shared", ()):
            bad.append(torch.randn(shape[:-1] + (shape[-1] + 1,), dtype=torch.float64))
        return st.sampled_from(bad)


def Particles(shape="... N 1+d", max_abs=1e100, **kwargs):
    """Particles θ_i = (a_i, w_i): a tensor (..., N, 1+d) with N >= 1 and d >= 1, entries of magnitude <= 1e100 (the
    risk sums products a_i a_j of four such factors at most, which then stay finite in float64)."""
    return Tensor(shape, max_abs=max_abs, **kwargs)


@dataclass
class _Context:
    """What the checks of one call have resolved: values by parameter, dimension sizes and who set them."""

    values: dict = field(default_factory=dict)
    dims: dict = field(default_factory=dict)

    def bind(self, name, dim, size):
        if dim in self.dims and self.dims[dim][0] != size:
            known, other = self.dims[dim]
            raise ValueError(f"{name}: its {dim} = {size} does not match {other}'s {dim} = {known}")
        self.dims.setdefault(dim, (size, name))

    def bind_batch(self, name, batch):
        if "..." in self.dims:
            known, other = self.dims["..."]
            try:
                torch.broadcast_shapes(known, batch)
            except RuntimeError:
                raise ValueError(
                    f"{name}: its leading (replica) shape {batch} does not match {other}'s {known}"
                ) from None
            if len(batch) <= len(known):
                return
        self.dims["..."] = (batch, name)


def validated(memory=None, fuzz_valid=True, **specs):
    """Decorate a public function: each argument named in ``specs`` is checked (in the order given) and replaced by
    its resolved value before the body runs. ``memory(args) -> (bytes, parameter)`` estimates what the call will
    allocate from the resolved arguments (a dict); a call above :func:`memory_limit` is refused before allocating,
    naming that parameter and the estimate. The function is registered in ``REGISTRY`` for the fuzzing battery;
    ``fuzz_valid=False`` (a task of several seconds even at its smallest, e.g. a scan of notebook 02, or a result that
    holds NaN by design) keeps it out of the battery's valid calls (its invalid ones still run: they stop at the
    contract)."""

    def decorate(function):
        signature = inspect.signature(function)
        unknown = set(specs) - set(signature.parameters)
        if unknown:
            raise TypeError(f"validated: {function.__qualname__} has no parameter(s) {sorted(unknown)}")

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as error:
                raise TypeError(f"{function.__name__}: {error}") from None
            bound.apply_defaults()
            ctx = _Context()
            for name, spec in specs.items():
                ctx.values[name] = bound.arguments[name] = spec.check(name, bound.arguments[name], ctx)
            if memory is not None:
                need, name = memory(bound.arguments)
                refuse_memory(name, need)
            return function(*bound.args, **bound.kwargs)

        wrapper.contract = specs
        wrapper.fuzz_valid = fuzz_valid
        REGISTRY[f"{function.__module__}.{function.__qualname__}"] = wrapper
        return wrapper

    return decorate


@dataclass
class Seed(Spec):
    """A :class:`~companion.engine.seeding.Stream` or an integer seed in [0, 2**32); ``stream``: the name an integer
    k becomes (``Stream(k, stream)``), or None to keep the integer."""

    stream: str = None

    def check(self, name, value, ctx):
        from .seeding import Stream

        if isinstance(value, Stream):
            return value
        value = v.integer(name, value, 0, 2**32 - 1)
        return value if self.stream is None else Stream(value, self.stream)

    def valid(self, dims):
        return _st().integers(0, 2**32 - 1)

    def invalid(self, dims):
        return _st().sampled_from([-1, 2**32, 1.5, "0", None, True])


@dataclass
class ResamplingSeed(Spec):
    """The seed of a resampling (bootstrap, resampled experiments): a :class:`~companion.engine.seeding.Stream`, passed
    on as its :class:`numpy.random.SeedSequence` (replica 0), a SeedSequence (kept), or an integer seed in
    [0, 2**32); each is what ``numpy.random.default_rng`` takes."""

    def check(self, name, value, ctx):
        from .seeding import Stream

        if isinstance(value, Stream):
            return value.sequence()
        if isinstance(value, np.random.SeedSequence):
            return value
        return v.integer(name, value, 0, 2**32 - 1)

    def valid(self, dims):
        return _st().integers(0, 2**32 - 1)

    def invalid(self, dims):
        return _st().sampled_from([-1, 2**32, 1.5, "0", None, True])


@dataclass
class Instance(Spec):
    """An instance of ``kind`` (a class, or a function returning it to import lazily); fuzzed with ``example()``."""

    kind: object
    example: object
    what: str = None

    def check(self, name, value, ctx):
        kind = self.kind() if isinstance(self.kind, type(lambda: 0)) else self.kind
        if not isinstance(value, kind):
            raise TypeError(f"{name}: need {self.what or 'a ' + kind.__name__}, got {v.describe(value)}")
        return value

    def valid(self, dims):
        return _st().builds(lambda: self.example(dims))

    def invalid(self, dims):
        return _st().sampled_from(["erf", None, 1.0])
