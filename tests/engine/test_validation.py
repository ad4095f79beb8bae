import math

import numpy as np
import pytest
import torch

from companion.engine.validation import (
    atomic_measure,
    choice,
    finite_number,
    float_array,
    float_tensor,
    integer,
    integer_array,
    nonneg_int,
    positive_int,
)


@pytest.mark.parametrize(
    "value, expected",
    [
        (3, 3),
        (np.int64(3), 3),
        (np.uint8(3), 3),
        (3.0, 3),
        (np.float32(3), 3),
        (torch.tensor(3), 3),
        (np.array(3), 3),
        (2**63 - 1, 2**63 - 1),
    ],
)
def test_integer_accepts_integers_and_integral_floats(value, expected):
    resolved = integer("k", value)
    assert resolved == expected and type(resolved) is int


@pytest.mark.parametrize(
    "value, error",
    [
        (True, TypeError),
        (np.bool_(False), TypeError),
        (None, TypeError),
        ("3", TypeError),
        ([3], TypeError),
        (1j, TypeError),
        (1.9, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        (-math.inf, ValueError),
    ],
)
def test_integer_refuses_non_integers_naming_the_parameter(value, error):
    with pytest.raises(error, match=r"^steps: need an integer, got "):
        integer("steps", value)


def test_integer_fits_in_64_bits():
    with pytest.raises(ValueError, match=r"^seed: need an integer that fits in 64 bits, got 9223372036854775808$"):
        integer("seed", 2**63)
    with pytest.raises(ValueError, match=r"^N: need an integer >= 1 that fits in 64 bits"):
        positive_int("N", 1e300)


def test_integer_bounds():
    assert positive_int("N", 1) == 1 and nonneg_int("steps", 0) == 0
    with pytest.raises(ValueError, match=r"^N: need an integer >= 1, got 0$"):
        positive_int("N", 0)
    with pytest.raises(ValueError, match=r"^steps: need an integer >= 0, got -2$"):
        nonneg_int("steps", -2.0)
    with pytest.raises(ValueError, match=r"^b: need an integer in \[1, 5\], got 6$"):
        positive_int("b", 6, maximum=5)


def test_finite_number_accepts_numpy_and_tensor_scalars():
    assert finite_number("eta", np.float32(0.1), positive=True) == float(np.float32(0.1))
    assert finite_number("eta", torch.tensor(0.25)) == 0.25
    assert finite_number("lam", 0, nonnegative=True) == 0.0 and type(finite_number("lam", 0)) is float
    assert finite_number("rate", 0.5, positive=True, below=1) == 0.5


@pytest.mark.parametrize(
    "value, kw, error",
    [
        (0.0, dict(positive=True), ValueError),
        (-1e-300, dict(nonnegative=True), ValueError),
        (1.0, dict(below=1), ValueError),
        (math.nan, {}, ValueError),
        (math.inf, {}, ValueError),
        (np.float64("nan"), {}, ValueError),
        (10**400, {}, ValueError),
        (True, {}, TypeError),
        (None, {}, TypeError),
        ("0.1", {}, TypeError),
        ([0.1], {}, TypeError),
        (torch.ones(2), {}, TypeError),
        (1 + 0j, {}, TypeError),
    ],
)
def test_finite_number_refuses(value, kw, error):
    with pytest.raises(error, match=r"^eta: need a finite number"):
        finite_number("eta", value, **kw)


def test_finite_number_message_says_expected_and_given():
    with pytest.raises(ValueError) as info:
        finite_number("eta", -0.5, positive=True)
    assert str(info.value) == "eta: need a finite number > 0, got -0.5"


def test_choice():
    assert choice("engine", "none", ("population", "none")) == "none"
    with pytest.raises(ValueError, match=r"^engine: need one of \('a', 'b'\), got 'c'"):
        choice("engine", "c", ("a", "b"))
    with pytest.raises(TypeError, match=r"^engine: need one of"):
        choice("engine", None, ("a", "b"))


def test_float_tensor_passes_floating_tensors_through_unchanged():
    x = torch.ones(2, 3, dtype=torch.float32, requires_grad=True)
    assert float_tensor("x", x) is x
    y = x * 2
    assert float_tensor("y", y, shape=(..., 3)).grad_fn is y.grad_fn


def test_float_tensor_converts_integers_lists_and_numpy():
    previous = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float32)
        assert float_tensor("U", [[1, 0, 0]]).dtype == torch.float32
        assert float_tensor("U", [[1.0, 0.0]]).dtype == torch.float32  # as torch.as_tensor does
        assert float_tensor("U", torch.ones(2, dtype=torch.int64)).dtype == torch.float32
        assert float_tensor("U", np.ones(2, dtype=np.int32), dtype=torch.float64).dtype == torch.float64
    finally:
        torch.set_default_dtype(previous)
    assert float_tensor("U", np.ones(2, dtype=np.float32)).dtype == torch.float32  # NumPy keeps its dtype
    assert float_tensor("N", np.array([8, 16], dtype=object)).tolist() == [8.0, 16.0]  # a pandas Index's values


def test_float_tensor_shapes():
    x = torch.zeros(2, 4, 3)
    assert float_tensor("x", x, shape=(None, None, 3)) is x
    assert float_tensor("x", x, shape=(..., 3)) is x and float_tensor("x", x, shape=(..., 2, 4, 3)) is x
    with pytest.raises(ValueError, match=r"^x: need shape \(R, N, 4\), got shape \(2, 4, 3\)$"):
        float_tensor("x", x, shape=(None, None, 4), label="(R, N, 4)")
    with pytest.raises(ValueError, match=r"^x: need shape \(\*, \*\), got shape \(2, 4, 3\)$"):
        float_tensor("x", x, shape=(None, None))
    with pytest.raises(ValueError, match=r"^x: need shape \(\.\.\., \*, \*\)"):
        float_tensor("x", torch.zeros(3), shape=(..., None, None))


@pytest.mark.parametrize(
    "value, error",
    [
        ("abc", TypeError),
        (None, TypeError),
        ({"a": 1}, TypeError),
        (torch.ones(2, dtype=torch.bool), TypeError),
        (np.ones(2, dtype=complex), TypeError),
        (np.array([None, 1.0], dtype=object), TypeError),
        ([[1.0, 2.0], [1.0]], ValueError),
        (torch.tensor([1.0, math.nan]), ValueError),
        (np.array([math.inf]), ValueError),
        (np.zeros((0, 3)), ValueError),
    ],
)
def test_float_tensor_refuses(value, error):
    with pytest.raises(error, match=r"^theta: "):
        float_tensor("theta", value)


def test_float_tensor_options():
    assert float_tensor("x", torch.zeros(0, 3), nonempty=False).shape == (0, 3)
    assert torch.isnan(float_tensor("x", torch.tensor([math.nan]), finite=False)).all()


def test_float_array():
    out = float_array("x", torch.ones(2, 2, dtype=torch.float32))
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    assert float_array("x", [[1, 2]]).dtype == np.float64
    with pytest.raises(ValueError, match="^x: contains NaN or inf"):
        float_array("x", [1.0, math.nan])


def test_integer_array():
    assert integer_array("record_steps", [0, 2.0, np.int64(5)]).tolist() == [0, 2, 5]
    assert integer_array("record_steps", 3).tolist() == [3]
    assert integer_array("record_steps", torch.tensor([1, 2])).dtype == np.int64
    for value, error in (
        ([1.7], ValueError),
        ([], ValueError),
        ([math.nan], ValueError),
        ([True], TypeError),
        ("0", TypeError),
        ([[0, 1]], ValueError),
        ([1j], TypeError),
        (None, TypeError),
    ):
        with pytest.raises(error, match="^record_steps: "):
            integer_array("record_steps", value)
    with pytest.raises(ValueError, match=r"^record_steps: need integers in \[0, 4\]"):
        integer_array("record_steps", [0, 5], minimum=0, maximum=4)
    assert integer_array("degrees", [], nonempty=False).size == 0


def test_atomic_measure():
    W = torch.ones(3, 2, dtype=torch.float64)
    a, W2 = atomic_measure([1, 2, 3], W)
    assert a.dtype == torch.float64 and W2 is W
    assert atomic_measure(torch.zeros(0), torch.zeros(0, 2))[0].shape == (0,)  # the zero measure
    assert atomic_measure(torch.ones(4, 3), torch.ones(4, 3, 2), batched=True)[1].shape == (4, 3, 2)
    with pytest.raises(ValueError, match=r"^a1: need shape \(3,\) to match W1"):
        atomic_measure(torch.ones(2), W, names=("a1", "W1"))
    with pytest.raises(ValueError, match=r"^W: need shape \(S, d\)"):
        atomic_measure(torch.ones(3), W[None])
    with pytest.raises(ValueError, match=r"^W: an atom has w = 0"):
        atomic_measure(torch.ones(3), torch.cat([W[:2], torch.zeros(1, 2, dtype=torch.float64)]), nonzero=True)
    with pytest.raises(ValueError, match=r"^W: need input weights of dimension d >= 1"):
        atomic_measure(torch.ones(3), torch.ones(3, 0))
    with pytest.raises(ValueError, match=r"^W: contains NaN"):
        atomic_measure(torch.ones(1), torch.tensor([[math.nan]]))


def test_seed_accepts_an_integer_or_a_sequence_of_them():
    from companion.engine.validation import seed

    assert seed("rng", np.int64(3)) == 3
    assert seed("rng", [0, 2]) == (0, 2)
    with pytest.raises(ValueError, match=r"^rng: .*empty"):
        seed("rng", ())
    with pytest.raises(ValueError, match=r"^rng\[1\]: "):
        seed("rng", (1, -1))
