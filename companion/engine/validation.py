"""Resolve the arguments of public functions once, at entry: each helper checks one argument and returns it in the
form the computation uses, or raises an error whose message starts with the parameter's name and says what was
expected and what was given (``"steps: need an integer >= 0, got 1.5 (float)"``).

TypeError when the kind of value is wrong (a string for a number, a float tensor expected and a dict given),
ValueError when the kind is right and the value is not (a negative count, NaN, a wrong shape). Values with an
obvious meaning are accepted: NumPy and 0-d tensor scalars, integral floats as counts (3.0), integer data as floats.
bool is never a number here.
"""

import math
import numbers

import numpy as np
import torch

__all__ = [
    "describe",
    "integer",
    "positive_int",
    "nonneg_int",
    "finite_number",
    "choice",
    "float_tensor",
    "float_array",
    "integer_array",
    "atomic_measure",
]


_INT64_LIMIT = 2**63


def describe(value):
    """A short description of ``value`` for an error message: its repr (cut at 60 characters) and type, or for an
    array its type, shape and dtype."""
    if torch.is_tensor(value) or isinstance(value, np.ndarray):
        return f"{type(value).__name__} of shape {tuple(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _scalar(value):
    """A 0-d tensor or 0-d NumPy array as its Python/NumPy scalar; anything else unchanged."""
    if (torch.is_tensor(value) or isinstance(value, np.ndarray)) and value.ndim == 0:
        return value.item()
    return value


def integer(name, value, minimum=None, maximum=None):
    """``value`` as a Python int in [minimum, maximum] (either bound optional) that fits in 64 bits (torch and NumPy
    sizes and seeds). Accepts Python and NumPy integers and integral finite floats (3.0); refuses bool, 1.9, NaN,
    inf, strings and None."""
    value = _scalar(value)
    if minimum is not None and maximum is not None:
        expected = f"an integer in [{minimum}, {maximum}]"
    elif minimum is not None or maximum is not None:
        expected = f"an integer >= {minimum}" if maximum is None else f"an integer <= {maximum}"
    else:
        expected = "an integer"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: need {expected}, got {describe(value)}")
    if isinstance(value, numbers.Integral):
        resolved = int(value)
    elif math.isfinite(value) and float(value).is_integer():
        resolved = int(value)
    else:
        raise ValueError(f"{name}: need {expected}, got {describe(value)}")
    if (minimum is not None and resolved < minimum) or (maximum is not None and resolved > maximum):
        raise ValueError(f"{name}: need {expected}, got {resolved}")
    if not -_INT64_LIMIT <= resolved < _INT64_LIMIT:
        raise ValueError(f"{name}: need {expected} that fits in 64 bits, got {resolved}")
    return resolved


def positive_int(name, value, maximum=None):
    """``value`` as an int >= 1 (see :func:`integer`)."""
    return integer(name, value, 1, maximum)


def nonneg_int(name, value, maximum=None):
    """``value`` as an int >= 0 (see :func:`integer`)."""
    return integer(name, value, 0, maximum)


def finite_number(name, value, positive=False, nonnegative=False, below=None):
    """``value`` as a finite Python float; ``positive``: > 0, ``nonnegative``: >= 0, ``below``: < below.
    Accepts Python and NumPy reals and 0-d tensors (np.float32(0.1) is 0.10000000149011612); refuses bool."""
    value = _scalar(value)
    conditions = [
        text
        for flag, text in ((positive, "> 0"), (nonnegative and not positive, ">= 0"), (below is not None, f"< {below}"))
        if flag
    ]
    expected = "a finite number" + (" " + " and ".join(conditions) if conditions else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: need {expected}, got {describe(value)}")
    try:
        resolved = float(value)
    except OverflowError:  # a Python int beyond float range
        resolved = math.inf
    if (
        not math.isfinite(resolved)
        or (positive and not resolved > 0)
        or (nonnegative and not resolved >= 0)
        or (below is not None and not resolved < below)
    ):
        raise ValueError(f"{name}: need {expected}, got {value!r}")
    return resolved


def choice(name, value, options):
    """``value`` if it is one of ``options`` (compared with ==, strings only when options are strings)."""
    if all(isinstance(option, str) for option in options) and not isinstance(value, str):
        raise TypeError(f"{name}: need one of {tuple(options)}, got {describe(value)}")
    if value not in options:
        raise ValueError(f"{name}: need one of {tuple(options)}, got {value!r}")
    return value


def _check_shape(name, shape, spec, label):
    """Check ``shape`` against ``spec``: a tuple of ints (exact size) and None (any size), optionally starting
    with ... (any leading dimensions, possibly none)."""
    if spec is None:
        return
    lead = len(spec) > 0 and spec[0] is Ellipsis
    tail = spec[1:] if lead else spec
    offset = len(shape) - len(tail)
    ok = offset >= 0 and (lead or offset == 0)
    for index, want in enumerate(tail):
        if not ok:
            break
        ok = want is None or shape[offset + index] == want
    if not ok:
        wanted = (
            label or "(" + ", ".join("..." if s is Ellipsis else ("*" if s is None else str(s)) for s in spec) + ")"
        )
        raise ValueError(f"{name}: need shape {wanted}, got shape {tuple(shape)}")


def _as_tensor(name, value, dtype=None):
    """A non-tensor (NumPy array, nested list, scalar) as a tensor by torch's own conversion (Python floats take the
    default dtype, or the floating ``dtype`` when given, so that 0.1 is not rounded through float32 on its way to
    float64; NumPy arrays keep theirs), refusing text, None, objects and ragged lists."""
    if isinstance(value, (str, bytes, dict, set)) or value is None:
        raise TypeError(f"{name}: need a real array or tensor, got {describe(value)}")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{name}: need a real array or tensor (a ragged list?), got {describe(value)}") from error
    if array.dtype == object:  # e.g. a pandas Index of Python ints: numbers in an object array mean numbers
        if not all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in array.flat):
            raise TypeError(f"{name}: need a real array or tensor, got {describe(value)}")
        try:
            return torch.as_tensor(array.astype(np.float64))
        except OverflowError as error:
            raise ValueError(f"{name}: an entry overflows float64, got {describe(value)}") from error
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(f"{name}: need a real array or tensor, got {describe(value)}")
    if isinstance(value, (list, tuple, numbers.Number)):
        real = np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
        return torch.as_tensor(value, dtype=dtype if real and dtype is not None and dtype.is_floating_point else None)
    # NumPy arrays and array-likes (a pandas Series or Index); a read-only one (a pandas column) is copied, not shared
    return torch.as_tensor(array if array.flags.writeable else array.copy())


def seed(name, value):
    """A NumPy seed: a non-negative integer, or a non-empty sequence of them (``SeedSequence`` entropy, e.g.
    ``(notebook seed, experiment index)``). Returned as an int or a tuple of ints."""
    if isinstance(value, (tuple, list)):
        if not value:
            raise ValueError(
                f"{name}: need a non-negative integer or a non-empty sequence of them, got an empty sequence"
            )
        return tuple(nonneg_int(f"{name}[{k}]", entry) for k, entry in enumerate(value))
    return nonneg_int(name, value)


def float_tensor(name, value, shape=None, label=None, dtype=None, finite=True, nonempty=True):
    """``value`` as a floating torch tensor: floating tensors pass through unchanged (same object, dtype, device,
    autograd graph) unless ``dtype`` is given; integer tensors, NumPy arrays and nested lists are converted
    (integers to ``dtype`` or torch's default dtype). ``shape`` as in ``_check_shape`` (``label`` names it in the
    message, e.g. "(R, N, 1+d)"); ``finite`` refuses NaN/inf; ``nonempty`` refuses a zero-size dimension.
    Cheap for a floating tensor with ``finite=False`` (no device synchronisation), so kernels can call it."""
    if not torch.is_tensor(value):
        value = _as_tensor(name, value, dtype)
    if not value.is_floating_point():
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name}: need a real array or tensor, got {describe(value)}")
        value = value.to(dtype or torch.get_default_dtype())
    elif dtype is not None:
        value = value.to(dtype)
    _check_shape(name, value.shape, shape, label)
    if nonempty and 0 in value.shape:
        raise ValueError(f"{name}: need a non-empty array, got shape {tuple(value.shape)}")
    if finite and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name}: contains NaN or inf")
    return value


def float_array(name, value, shape=None, label=None, finite=True, nonempty=True):
    """``value`` (array, list, tensor on any device) as a float64 NumPy array, checked like :func:`float_tensor`."""
    if torch.is_tensor(value):
        value = value.detach().cpu()
    tensor = float_tensor(name, value, shape, label, torch.float64, finite, nonempty)
    return tensor.numpy()


def integer_array(name, value, minimum=None, maximum=None, nonempty=True):
    """``value`` as a 1-D int64 NumPy array of integers in [minimum, maximum]; integral floats are accepted, 1.7 is not."""
    if isinstance(value, (str, bytes, dict, set)) or value is None:
        raise TypeError(f"{name}: need a 1-D sequence of integers, got {describe(value)}")
    array = np.asarray(value.detach().cpu() if torch.is_tensor(value) else value)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise TypeError(f"{name}: need a 1-D sequence of integers, got {describe(value)}")
    array = np.atleast_1d(array)
    if array.ndim != 1:
        raise ValueError(f"{name}: need a 1-D sequence of integers, got shape {array.shape}")
    if nonempty and array.size == 0:
        raise ValueError(f"{name}: need at least one entry, got an empty sequence")
    if not np.issubdtype(array.dtype, np.integer):
        if not (np.isfinite(array).all() and (array == np.round(array)).all()):
            raise ValueError(f"{name}: need integers, got {array.tolist()[:8]}")
    array = array.astype(np.int64)
    if (minimum is not None and (array < minimum).any()) or (maximum is not None and (array > maximum).any()):
        raise ValueError(f"{name}: need integers in [{minimum}, {maximum}], got {array.tolist()[:8]}")
    return array


def atomic_measure(a, W, batched=False, finite=True, nonzero=False, names=("a", "W")):
    """Signed weights ``a`` (S,) and input weights ``W`` (S, d), d >= 1, of an atomic measure as tensors (``batched``:
    (..., S) and (..., S, d)); S = 0 (the zero measure) is allowed. Integer weights take W's dtype; ``nonzero``
    refuses an atom at w = 0 (its direction is undefined). ``names``: the two parameters' names in messages."""
    name_a, name_W = names
    W = float_tensor(
        name_W,
        W,
        shape=(..., None, None) if batched else (None, None),
        label="(..., S, d)" if batched else "(S, d)",
        finite=finite,
        nonempty=False,
    )
    if W.shape[-1] == 0:
        raise ValueError(f"{name_W}: need input weights of dimension d >= 1, got shape {tuple(W.shape)}")
    floating = torch.is_tensor(a) and a.is_floating_point()
    a = float_tensor(name_a, a, dtype=None if floating else W.dtype, finite=finite, nonempty=False)
    if a.shape != W.shape[:-1]:
        raise ValueError(f"{name_a}: need shape {tuple(W.shape[:-1])} to match {name_W}, got {tuple(a.shape)}")
    if nonzero and bool((W.norm(dim=-1) == 0).any()):
        raise ValueError(f"{name_W}: an atom has w = 0, whose direction is undefined; drop it (it realizes a constant)")
    return a, W
