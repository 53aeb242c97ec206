"""Field checks for one layer; each failure is a :class:`ModelError` naming layer and field."""

import numpy as np

from ..params import ParameterError, pair
from .errors import ModelError

__all__ = ["LayerCheck"]

_MISSING = object()


class LayerCheck:
    """Reads and checks the attributes and parameter arrays of one layer."""

    def __init__(self, name, attrs, params):
        self.name = name
        self.attrs = attrs
        self.params = params
        self.used_attrs = {"name", "op", "inputs"}
        self.used_params = set()
        #: integer arrays given with another dtype (floats with integral values), as int64: the
        #: layer keeps these, so everything after validation sees integers
        self.converted = {}

    def fail(self, field, message):
        raise ModelError(self.name, field, message)

    # --- attributes (JSON values) ------------------------------------------------------------

    def attr(self, key, default=_MISSING):
        self.used_attrs.add(key)
        if key in self.attrs:
            return self.attrs[key]
        if default is _MISSING:
            self.fail(key, "missing attribute")
        return default

    def int_attr(self, key, default=_MISSING, lo=None, hi=None):
        value = self.attr(key, default)
        if value is None and default is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, f"expected an integer, got {value!r}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.fail(key, f"{value} is outside [{lo}, {'inf' if hi is None else hi}]")
        return value

    def pair_attr(self, key, default=_MISSING, lo=0):
        value = self.attr(key, default)
        try:
            parsed = pair(value, key)
        except ParameterError:
            self.fail(key, f"expected an integer or a pair of integers, got {value!r}")
        if min(parsed) < lo:
            self.fail(key, f"expected values >= {lo}, got {value!r}")
        return parsed

    def choice_attr(self, key, choices, default=_MISSING):
        value = self.attr(key, default)
        if value not in choices:
            self.fail(key, f"expected one of {list(choices)}, got {value!r}")
        return value

    def float_attr(self, key, default=_MISSING, lo=None):
        value = self.attr(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, f"expected a number, got {value!r}")
        if lo is not None and value < lo:
            self.fail(key, f"expected >= {lo}, got {value!r}")
        return float(value)

    def float_list_attr(self, key, default=_MISSING):
        value = self.attr(key, default)
        if value is None:
            return None
        if (not isinstance(value, list) or not value
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)):
            self.fail(key, f"expected a non-empty list of numbers, got {value!r}")
        return [float(v) for v in value]

    def finish(self):
        """Reject attributes and arrays the op does not use (typos must not pass silently)."""
        for key in sorted(set(self.attrs) - self.used_attrs):
            self.fail(key, "unknown attribute for this op")
        for key in sorted(set(self.params) - self.used_params):
            self.fail(key, "unknown parameter array for this op")

    # --- parameter arrays --------------------------------------------------------------------

    def array(self, key, shape=None, optional=False):
        self.used_params.add(key)
        if key not in self.params:
            if optional:
                return None
            self.fail(key, "missing parameter array")
        value = np.asarray(self.params[key])
        if shape is not None and value.shape != tuple(shape):
            self.fail(key, f"expected shape {tuple(shape)}, got {value.shape}")
        return value

    def float_array(self, key, shape=None, optional=False):
        value = self.array(key, shape, optional)
        if value is None:
            return None
        if value.dtype == bool or not (np.issubdtype(value.dtype, np.floating)
                                       or np.issubdtype(value.dtype, np.integer)):
            self.fail(key, f"expected real numbers, got dtype {value.dtype}")
        value = value.astype(np.float64)
        if not np.isfinite(value).all():
            self.fail(key, f"non-finite value at {_where(~np.isfinite(value))}")
        return value

    def int_array(self, key, shape=None, lo=None, hi=None, optional=False):
        value = self.array(key, shape, optional)
        if value is None:
            return None
        if value.dtype == bool or not np.issubdtype(value.dtype, np.integer):
            if np.issubdtype(value.dtype, np.floating) and np.isfinite(value).all() \
                    and (value == np.round(value)).all() \
                    and (value.size == 0 or np.abs(value).max() < 2.0 ** 62):
                value = value.astype(np.int64)
                self.converted[key] = value
            else:
                self.fail(key, f"expected integers, got dtype {value.dtype}")
        if value.size and np.issubdtype(value.dtype, np.unsignedinteger) \
                and value.max() > np.iinfo(np.int64).max:
            where = _where(value > np.iinfo(np.int64).max)
            self.fail(key, f"value {int(value[where])} at {where} does not fit 64-bit integers")
        value = value.astype(np.int64)
        bad = np.zeros(value.shape, bool)
        if lo is not None:
            bad |= value < lo
        if hi is not None:
            bad |= value > hi
        if bad.any():
            where = _where(bad)
            self.fail(key, f"value {int(value[where])} at {where} is outside [{lo}, {hi}]")
        return value

    def pm1_array(self, key, shape=None):
        value = self.int_array(key, shape)
        bad = (value != 1) & (value != -1)
        if bad.any():
            where = _where(bad)
            self.fail(key, f"expected ±1 values, found {int(value[where])} at {where}")
        return value

    def bit_array(self, key, shape=None):
        """0/1 values: any integer dtype, integral floats or bool."""
        raw = self.array(key, shape)
        if raw.dtype == bool:
            self.converted[key] = raw.astype(np.uint8)
            return self.converted[key]
        value = self.int_array(key, shape)
        bad = (value != 0) & (value != 1)
        if bad.any():
            where = _where(bad)
            self.fail(key, f"expected 0/1 values, found {int(value[where])} at {where}")
        return value.astype(np.uint8)

    def bool_array(self, key, shape=None, optional=False):
        value = self.array(key, shape, optional)
        if value is None:
            return None
        if value.dtype != bool:
            # 0/1 integers (any integer dtype, or integral floats) mean False/True
            value = self.int_array(key, shape)
            bad = (value != 0) & (value != 1)
            if bad.any():
                where = _where(bad)
                self.fail(key, f"expected bools (or 0/1 integers), found {int(value[where])} "
                               f"at {where}")
            value = value.astype(bool)
            self.converted[key] = value
        return value

    def channel_vector(self, key, channels, kind="float", **bounds):
        """A per-channel vector of length ``channels``."""
        reader = self.float_array if kind == "float" else self.int_array
        return reader(key, (channels,), **bounds)


def _where(mask):
    index = tuple(int(i) for i in np.argwhere(mask)[0])
    return index if len(index) != 1 else index[0]
