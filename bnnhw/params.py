"""The shared parameter checks of bnnhw: one error, one text, one parser per kind of parameter.

A bad parameter raises :class:`ParameterError`, whose text always reads
``<name>: <what was expected>, got <value>`` (``kernel: expected an integer or a pair (h, w),
got (3, 3, 3)``). It is a :class:`~bnnhw.errors.BnnhwError` and also both a ``ValueError`` and a
``TypeError``, so a caller's ``except ValueError`` or ``except TypeError`` keeps catching it.

The checks accept Python and NumPy integers alike and return plain Python values; ``bool`` is
never an integer here (``True`` as a kernel size is a mistake, not 1).

This module imports only :mod:`bnnhw.errors`: every layer may use it (``docs/architecture.md``).
"""

import operator

from .errors import BnnhwError

__all__ = ["ParameterError", "bool_param", "int_param", "int_vector", "is_bool", "pair",
           "whole_window_geometry", "FULL_RATE_FOLD", "is_full_rate"]

#: Networks folded to at most this many cycles per inference per input pixel are built for
#: clock speed (register slices, pipelined trees; docs/network.md): the one rule the generator
#: (``bnnhw.hw.network``) and the resource model (``bnnhw.compiler.resources``) share.
FULL_RATE_FOLD = 16


class ParameterError(BnnhwError, ValueError, TypeError):
    """A parameter ``name`` that is not what was ``expected``; ``got`` is the text shown for
    the value (usually its ``repr``). ``str(error)`` is ``"<name>: <expected>, got <got>"``."""

    def __init__(self, name, expected, got):
        self.expected = expected
        self.got = got
        super().__init__(f"{expected}, got {got}", field=name)


def is_bool(value):
    """``bool`` or a NumPy boolean scalar (``np.bool_``; named ``bool`` in NumPy 2)."""
    return isinstance(value, bool) or (
        type(value).__name__ in ("bool_", "bool") and type(value).__module__ == "numpy")


def bool_param(value, name):
    """A flag given as a ``bool`` (or NumPy boolean), as a Python ``bool``."""
    if not is_bool(value):
        raise ParameterError(name, "expected a bool", repr(value))
    return bool(value)


def _range_text(lo, hi):
    if lo is not None and hi is not None:
        return f" in [{lo}, {hi}]"
    if lo is not None:
        return f" >= {lo}"
    if hi is not None:
        return f" <= {hi}"
    return ""


def int_param(value, name, lo=None, hi=None):
    """A scalar integer (Python or NumPy, not ``bool``) in ``[lo, hi]`` (``None``: unbounded)
    as a Python ``int``."""
    expected = f"expected an integer{_range_text(lo, hi)}"
    if is_bool(value):
        raise ParameterError(name, expected, repr(value))
    try:
        value = operator.index(value)
    except TypeError:
        raise ParameterError(name, expected, repr(value)) from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ParameterError(name, expected, value)
    return value


def int_vector(value, name, lo, hi, length=None):
    """A non-empty 1-D sequence (or NumPy array) of integers in ``[lo, hi]`` as a tuple of
    ``int``; one per channel, ``length`` of them when given. Item ``i`` is named ``name[i]``."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ParameterError(name, "expected one integer per channel", repr(value))
    items = tuple(int_param(item, f"{name}[{index}]", lo, hi) for index, item in enumerate(value))
    if not items:
        raise ParameterError(name, "expected at least one channel", "none")
    if length is not None and len(items) != length:
        raise ParameterError(name, f"expected {length} channels", len(items))
    return items


def pair(value, name, lo=None):
    """A kernel, stride or padding: an integer or a pair (sequence or NumPy array) of integers,
    each ``>= lo``, as a ``(h, w)`` tuple of ``int``."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ParameterError(name, "expected an integer or a pair (h, w)", repr(value))
        return (int_param(value[0], name, lo), int_param(value[1], name, lo))
    value = int_param(value, name, lo)
    return (value, value)


def is_full_rate(cycles, pixels):
    """Whether a network of ``cycles`` per inference on inputs of ``pixels`` pixels is built for
    clock speed (:data:`FULL_RATE_FOLD`); ``cycles`` ``None`` (no target) is not."""
    return cycles is not None and cycles <= FULL_RATE_FOLD * pixels


def whole_window_geometry(height, width, kernel, stride, padding):
    """Why a whole-window sliding-window unit (``bnnhw.hw.window_parallel``) cannot stream this
    window geometry, or ``""`` when it can: the one rule the unit and the folding planner share.

    The unit completes the window of output ``(oy, ox)`` at image pixel ``need(oy, ox) =
    (oy*sh - ph + kh - 1)*W + ox*sw - pw + kw - 1`` of a continuous pixel sequence, one output
    per step. So the first output's pixel may not lie before the image (``ph < kh``,
    ``pw < kw``), each output needs a later pixel than the one before it (``sh*W`` beyond the
    last output of a row, ``(W_out - 1)*sw`` back), and an image's last window must be due
    before the next image's first window and its last pixel (``need_last - H*W <
    need_first``, ``need_last <= 2*H*W - 2``)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if ph >= kh or pw >= kw:
        return f"padding {(ph, pw)} reaches a whole kernel {(kh, kw)}"
    h_out = (height + 2 * ph - kh) // sh + 1
    w_out = (width + 2 * pw - kw) // sw + 1
    if h_out > 1 and sh * width <= (w_out - 1) * sw:
        return "a row's first window is due no later than the last window of the row above"
    first = (kh - 1 - ph) * width + kw - 1 - pw
    last = ((h_out - 1) * sh - ph + kh - 1) * width + (w_out - 1) * sw - pw + kw - 1
    if last - height * width >= first:
        return "an image's last window is due after the next image's first"
    if last > 2 * height * width - 2:
        return "an image's last window is due after the next image's last pixel"
    return ""
