"""The shared parameter checks of bnnhw.params: accepted values, the one error text, its classes."""

import numpy as np
import pytest

from bnnhw.errors import BnnhwError
from bnnhw.params import ParameterError, bool_param, int_param, int_vector, is_bool, pair


def test_parameter_error_is_a_bnnhw_value_and_type_error():
    error = ParameterError("pe", "expected a divisor of rows=10", 3)
    assert isinstance(error, BnnhwError)
    assert isinstance(error, ValueError)
    assert isinstance(error, TypeError)
    assert str(error) == "pe: expected a divisor of rows=10, got 3"
    assert (error.field, error.expected, error.got) == ("pe", "expected a divisor of rows=10", 3)


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3)])
def test_int_param_accepts_python_and_numpy_integers(value):
    result = int_param(value, "simd", 1, 8)
    assert result == 3 and type(result) is int


@pytest.mark.parametrize(("value", "lo", "hi", "text"), [
    (True, None, None, "simd: expected an integer, got True"),
    (np.bool_(False), 0, None, "simd: expected an integer >= 0, got np.False_"),
    (2.0, 1, None, "simd: expected an integer >= 1, got 2.0"),
    ("4", None, 8, "simd: expected an integer <= 8, got '4'"),
    (0, 1, 8, "simd: expected an integer in [1, 8], got 0"),
    (9, 1, 8, "simd: expected an integer in [1, 8], got 9"),
])
def test_int_param_rejects_with_the_one_text(value, lo, hi, text):
    with pytest.raises(ParameterError) as error:
        int_param(value, "simd", lo, hi)
    # NumPy 1 shows np.bool_(False) as "False": compare the part before the value exactly
    assert str(error.value).startswith(text.rsplit(", got ", 1)[0] + ", got ")
    if not isinstance(value, np.bool_):
        assert str(error.value) == text


def test_int_vector_returns_a_tuple_of_ints():
    result = int_vector(np.array([-3, 0, 7], dtype=np.int16), "scale", -8, 8, length=3)
    assert result == (-3, 0, 7) and all(type(v) is int for v in result)


@pytest.mark.parametrize(("value", "length", "text"), [
    (5, None, "scale: expected one integer per channel, got 5"),
    ("12", None, "scale: expected one integer per channel, got '12'"),
    ([], None, "scale: expected at least one channel, got none"),
    ([1, 2], 3, "scale: expected 3 channels, got 2"),
    ([1, 9], None, "scale[1]: expected an integer in [-8, 8], got 9"),
    ([1, 0.5], None, "scale[1]: expected an integer in [-8, 8], got 0.5"),
])
def test_int_vector_names_the_bad_channel(value, length, text):
    with pytest.raises(ParameterError) as error:
        int_vector(value, "scale", -8, 8, length=length)
    assert str(error.value) == text


def test_bool_param():
    assert bool_param(True, "registered") is True
    assert bool_param(np.bool_(False), "registered") is False
    assert is_bool(np.bool_(True)) and not is_bool(1)
    with pytest.raises(ParameterError, match=r"^registered: expected a bool, got 1$"):
        bool_param(1, "registered")


@pytest.mark.parametrize(("value", "expected"), [
    (3, (3, 3)),
    ((2, 3), (2, 3)),
    ([1, 4], (1, 4)),
    (np.array([5, 2]), (5, 2)),
    (np.int64(2), (2, 2)),
])
def test_pair_accepts_an_integer_or_two(value, expected):
    result = pair(value, "kernel", 1)
    assert result == expected and all(type(v) is int for v in result)


@pytest.mark.parametrize(("value", "text"), [
    ((3, 3, 3), "kernel: expected an integer or a pair (h, w), got (3, 3, 3)"),
    ([], "kernel: expected an integer or a pair (h, w), got []"),
    ((3, 0), "kernel: expected an integer >= 1, got 0"),
    ((3, 1.5), "kernel: expected an integer >= 1, got 1.5"),
    (None, "kernel: expected an integer >= 1, got None"),
])
def test_pair_rejects_with_the_one_text(value, text):
    with pytest.raises(ParameterError) as error:
        pair(value, "kernel", 1)
    assert str(error.value) == text


def test_pair_without_a_bound_takes_any_integer():
    assert pair((-1, 0), "padding") == (-1, 0)


def test_old_except_clauses_still_catch_it():
    with pytest.raises(ValueError, match="^stride"):
        pair("x", "stride", 1)
    with pytest.raises(TypeError, match="^stride"):
        pair("x", "stride", 1)
