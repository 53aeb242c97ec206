"""Argument validation shared by the golden functions.

Every check raises :class:`ValueError` whose message starts with the argument's name, so a caller
(or the model loader, which adds the layer name) can tell the user exactly what is wrong. The
scalar check :func:`int_param` is the shared one of :mod:`bnnhw.params` (a ParameterError, which
is a ValueError).
"""

import numpy as np

from ..params import int_param

__all__ = ["as_bits", "as_int", "as_float", "check_ndim", "check_range", "int_param"]


def _first_bad(mask):
    index = tuple(int(i) for i in np.argwhere(mask)[0])
    return index if len(index) != 1 else index[0]


def as_bits(value, name):
    """``value`` as a ``uint8`` array of 0/1, or ValueError naming ``name``."""
    array = np.asarray(value)
    if array.dtype == bool:
        return array.astype(np.uint8)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name}: expected bits (0/1 integers or bools), got dtype {array.dtype}")
    bad = (array != 0) & (array != 1)
    if bad.any():
        where = _first_bad(bad)
        raise ValueError(f"{name}: expected bits 0/1, found {array[where]!r} at index {where}")
    return array.astype(np.uint8)


def as_int(value, name):
    """``value`` as an ``int64`` array; floats and other dtypes raise ValueError naming ``name``."""
    array = np.asarray(value)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name}: expected integers, got dtype {array.dtype}")
    if array.dtype == np.uint64 and array.size and array.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name}: value {array.max()} does not fit in 64 bits")
    return array.astype(np.int64)


def as_float(value, name):
    """``value`` as a finite ``float64`` array, or ValueError naming ``name``."""
    array = np.asarray(value)
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
    ):
        raise ValueError(f"{name}: expected real numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        where = _first_bad(~np.isfinite(array))
        raise ValueError(
            f"{name}: expected finite numbers, found {array[where]!r} at index {where}")
    return array


def check_ndim(array, ndim, name, layout=None):
    """Require ``array.ndim == ndim``; ``layout`` (e.g. ``"NCHW"``) is quoted in the message."""
    if array.ndim != ndim:
        described = f" ({layout})" if layout else ""
        raise ValueError(f"{name}: expected {ndim} dimensions{described}, got shape {array.shape}")


def check_range(array, lo, hi, name):
    """Require every element of integer ``array`` in ``[lo, hi]``."""
    bad = (array < lo) | (array > hi)
    if np.any(bad):
        where = _first_bad(np.atleast_1d(bad))
        value = np.atleast_1d(array)[where]
        raise ValueError(f"{name}: value {int(value)} at index {where} is outside [{lo}, {hi}]")
