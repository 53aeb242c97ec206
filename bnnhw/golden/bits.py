"""Binary encodings and bit packing.

XNOR domain: bit 1 encodes +1 and bit 0 encodes -1. AND domain (PA-Net bases): bit b encodes the
value b. Packing is little-endian in bits: element ``i`` of a row lands in bit ``i % 8`` of byte
``i // 8`` (and bit ``i`` of :func:`bits_to_int`), which is also the order of hardware bit vectors
and of the ``$readmemh`` words the compiler writes.
"""

import numpy as np

from ._check import as_bits, as_int, int_param

__all__ = ["pm1_to_bits", "bits_to_pm1", "pack_bits", "unpack_bits", "bits_to_int", "int_to_bits"]


def pm1_to_bits(values):
    """Map ±1 values to bits (+1 -> 1, -1 -> 0); any other value is a ValueError."""
    array = as_int(values, "values")
    bad = (array != 1) & (array != -1)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"values: expected ±1, found {int(array[where])} at index {where}")
    return (array > 0).astype(np.uint8)


def bits_to_pm1(bits):
    """Map bits to ±1 (1 -> +1, 0 -> -1) as ``int64``."""
    return as_bits(bits, "bits").astype(np.int64) * 2 - 1


def pack_bits(bits, axis=-1):
    """Pack 0/1 values along ``axis`` into ``uint8`` bytes, little-endian in bits, zero-filled."""
    return np.packbits(as_bits(bits, "bits"), axis=axis, bitorder="little")


def unpack_bits(packed, count, axis=-1):
    """Inverse of :func:`pack_bits`: the first ``count`` bits along ``axis``."""
    packed = np.asarray(packed)
    if packed.dtype != np.uint8:
        raise ValueError(f"packed: expected uint8 bytes, got dtype {packed.dtype}")
    capacity = packed.shape[axis] * 8
    count = int_param(count, "count", 0, capacity)
    return np.unpackbits(packed, axis=axis, count=count, bitorder="little")


def bits_to_int(bits):
    """A 1-D bit vector as a Python ``int``: element ``i`` is bit ``i`` (any width)."""
    bits = as_bits(bits, "bits")
    if bits.ndim != 1:
        raise ValueError(f"bits: expected a 1-D vector, got shape {bits.shape}")
    return int.from_bytes(pack_bits(bits).tobytes(), "little")


def int_to_bits(value, width):
    """Inverse of :func:`bits_to_int`: ``width`` bits of non-negative ``value``."""
    width = int_param(width, "width", 0)
    value = int_param(value, "value", 0)
    if value >> width:
        raise ValueError(f"value: {value} does not fit in {width} bits")
    raw = np.frombuffer(value.to_bytes((width + 7) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(raw, count=width, bitorder="little")
