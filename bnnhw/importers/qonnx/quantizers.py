"""qonnx's quantizers in float32, and the exact integer thresholds derived from them.

The float32 evaluation (BatchNormalization as onnxruntime, Quant, MultiThreshold, the recorded
float ``steps``) is shared by the import and the host-side conversion; the thresholds evaluate
it on every reachable dot value of a layer (docs/import.md)."""

import numpy as np

from .errors import QonnxImportError

F32 = np.float32


# --- float32 evaluation, shared by import and the host-side conversion ------------------------

def _bn_float32(x, gamma, beta, mean, var, eps):
    """onnxruntime's BatchNormalization in float32: ``x * s + (beta - mean * s)`` with
    ``s = gamma * (1 / sqrt(var + eps))`` (checked equal to onnxruntime on every fixture)."""
    inv_std = F32(1) / np.sqrt(var + F32(eps))
    scale = gamma * inv_std
    return x * scale + (beta - mean * scale)


def _quant_levels(x, scale, zero_point, bitwidth, signed, narrow, rounding):
    """qonnx's Quant as integer levels ``q`` (before ``(q - zp) * scale``), float32."""
    y = x / scale + zero_point
    lo, hi = _int_range(bitwidth, signed, narrow)
    y = np.where(y > hi, F32(hi), y)
    y = np.where(y < lo, F32(lo), y)
    return _ROUNDING[rounding](y)


def _int_range(bitwidth, signed, narrow):
    bitwidth = int(bitwidth)
    if signed:
        return -(1 << (bitwidth - 1)) + (1 if narrow else 0), (1 << (bitwidth - 1)) - 1
    return 0, (1 << bitwidth) - 1 - (1 if narrow else 0)


_ROUNDING = {"ROUND": np.round, "HALF_EVEN": np.round, "FLOOR": np.floor, "CEIL": np.ceil,
             "DOWN": np.fix, "UP": lambda y: np.sign(y) * np.ceil(np.abs(y)),
             "HALF_UP": lambda y: np.sign(y) * np.floor(np.abs(y) + F32(0.5)),
             "HALF_DOWN": lambda y: np.sign(y) * np.ceil(np.abs(y) - F32(0.5))}


def _multithreshold_counts(x, thresholds):
    """qonnx's MultiThreshold count ``#{b : x >= T[c, b]}`` (channels on axis 1; one row of
    ``T`` for every channel when it has one row)."""
    moved = np.moveaxis(x, 1, -1)[..., None]
    counts = np.count_nonzero(moved >= thresholds, axis=-1)
    return np.moveaxis(counts, -1, 1)


def _apply_steps(x, steps, channel_axis=None):
    """Apply float32 ``steps`` (JSON form) to ``x``; per-channel arrays broadcast along
    ``channel_axis`` when given (the output tail), else as stored (the input conversion)."""
    for step in steps:
        op = step[0]
        if op == "reshape":
            x = x.reshape((x.shape[0], *step[1][1:]))
            continue
        if op == "bn":
            gamma, beta, mean, var = (_per(np.asarray(v, F32), x, channel_axis)
                                      for v in step[1:5])
            x = _bn_float32(x, gamma, beta, mean, var, step[5])
            continue
        c = np.asarray(step[1], F32)
        if channel_axis is not None:
            c = _per(c, x, channel_axis)
        if op == "add":
            x = x + c
        elif op == "sub":
            x = x - c
        elif op == "rsub":
            x = c - x
        elif op == "mul":
            x = x * c
        elif op == "div":
            x = x / c
        else:
            raise ValueError(f"unknown step {op!r}")
    return x


def _per(c, x, channel_axis):
    if channel_axis is None or c.ndim == 0:
        return c
    shape = [1] * x.ndim
    shape[channel_axis] = -1
    return c.reshape(shape)


def _as_json(array):
    array = np.asarray(array)
    return array.astype(np.float64).tolist() if array.dtype.kind == "f" else array.tolist()


# --- exact integer thresholds: the quantizer on every reachable dot value ---------------------

def _reachable(dot):
    """Every integer value the dot products of ``dot`` can take, ascending."""
    if dot.kind == "popcount" and dot.zero_pad:
        return np.arange(-dot.fan_in, dot.fan_in + 1)
    if dot.kind == "popcount":
        return 2 * np.arange(dot.fan_in + 1) - dot.fan_in
    return np.arange(dot.lo, dot.hi + 1)


def _dot_table(dot, error=0.0):
    """(C, R) float32 graph values of every channel for every reachable dot value (the
    value before the steps moved by ``error``, per channel)."""
    v = _reachable(dot).astype(F32)
    x = v[None, :] * _col(dot.base_scale) + _col(dot.base_offset)
    if np.any(error):
        x = x + _col(np.asarray(error, F32))
    return _apply_steps(x, dot.steps, channel_axis=0)


def _decide(node, dot, quantize):
    """``quantize(_dot_table(dot))``. When the graph's float32 sum of products is not exact (a
    scale that is not a power of two), the decision must not change when the value moves
    by the sum's worst-case rounding error ``N^2 |s| 2^-24``: else its summation order
    would decide, and the import refuses."""
    table = quantize(_dot_table(dot))
    if _powers_of_two(dot.base_scale):
        return table                       # sums of small powers of two: exact in float32
    scale = np.abs(np.asarray(dot.base_scale, np.float64))
    error = float(_reachable(dot).max()) ** 2 * scale * 2.0 ** -24
    for sign in (-1, 1):
        moved = quantize(_dot_table(dot, sign * error))
        if not np.array_equal(moved, table):
            channel = int(np.argwhere(moved != table)[0][-2])
            raise QonnxImportError(node, f"channel {channel}: a reachable dot product lies "
                                         "within the float32 rounding of the graph's sum "
                                         "of scaled products from a threshold; its "
                                         "summation order decides (not supported)")
    return table


def _integer_thresholds(node, dot, table):
    """Bits ``table[j, c, r]`` (slice j, channel c, reachable value r) as integer thresholds and
    inverts (slices, channels): bit = ``(x >= T) xor invert`` on popcounts ``p``, or on the dot
    value itself for accumulators and zero-padded counts."""
    channels = table.shape[1]
    thresholds = np.zeros(table.shape[:2], np.int64)
    inverts = np.zeros(table.shape[:2], bool)
    # popcount-domain thresholds on p; on v itself for zero-padded counts (domain "dot")
    raw = np.arange(dot.fan_in + 1) if dot.kind == "popcount" and not dot.zero_pad \
        else _reachable(dot)
    for j in range(table.shape[0]):
        for c in range(channels):
            bits = table[j, c]
            if bits.all() or not bits.any():
                # constant: T = first raw value -> bit (x >= T) xor invert
                thresholds[j, c] = raw[0]
                inverts[j, c] = not bits[0]
            elif (np.diff(bits.astype(int)) >= 0).all():
                thresholds[j, c] = raw[np.argmax(bits)]
            elif (np.diff(bits.astype(int)) <= 0).all():
                thresholds[j, c] = raw[np.argmin(bits)]
                inverts[j, c] = True
            else:       # float rounding is monotonic, so this cannot happen
                raise QonnxImportError(node, f"channel {c}: the quantizer is not monotonic "
                                             "in the dot product")
    return thresholds, inverts


def _powers_of_two(scale):
    scale = np.abs(np.asarray(scale, np.float64))
    exponent = np.log2(np.where(scale > 0, scale, 1.0))
    return bool((exponent == np.round(exponent)).all())


def _col(vector):
    vector = np.asarray(vector, F32)
    return vector.reshape(-1, 1) if vector.ndim else vector
