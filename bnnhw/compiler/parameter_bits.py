"""Parameter bits of a compiled network: the one count, as the hardware stores them.

Every count in bnnhw (design READMEs, the training report, the cost report, ``memory_map.json``)
comes from here: the bits of the ROM images :func:`bnnhw.compiler.memory_images` writes, plus
the parameters the hardware holds as constants outside ROMs (PA-Net ``phi``, 16 bits each). The
images do not depend on the folding (PE and SIMD only split the same words differently), so the
default folding is used when no memory map is given.
"""

import numpy as np

from .folding import plan_folding
from .images import memory_images

__all__ = ["PHI_BITS", "KINDS", "parameter_bits", "parameter_bits_by_layer"]

#: Stored width of a PA-Net merged scale ``phi`` (a constant in the combiner's logic).
PHI_BITS = 16

#: The kinds of :func:`parameter_bits`, in report order.
KINDS = ("binary_weights", "int8_weights", "biases", "thresholds", "endpoints", "fixed_point")


def _field_kind(op, field):
    if field.startswith(("threshold", "invert")):
        return "thresholds"
    if field.startswith("endpoint"):
        return "endpoints"
    if field == "bias" and op in ("int8_conv2d", "int8_dense"):
        return "biases"
    return "fixed_point"


def _entry_bits(entry, op):
    """``{kind: bits}`` of one memory-map image."""
    if entry["kind"] == "weights":
        kind = "binary_weights" if entry["element_bits"] == 1 else "int8_weights"
        return {kind: entry["bits"]}
    bits = {}
    for field in entry["fields"]:
        kind = _field_kind(op, field["field"])
        bits[kind] = bits.get(kind, 0) + field["bits"] * entry["depth"]
    return bits


def _phi_bits(layer):
    if layer.op != "panet_conv2d":
        return 0
    return PHI_BITS * int(np.size(layer.params["phi"]))


def parameter_bits_by_layer(compiled, memory_map=None):
    """``{layer name: {kind: bits}}`` for every layer that stores parameters."""
    if memory_map is None:
        _, memory_map = memory_images(compiled, plan_folding(compiled))
    ops = {layer.name: layer.op for layer in compiled.layers}
    by_layer = {}
    for entry in memory_map["images"]:
        counts = by_layer.setdefault(entry["layer"], {})
        for kind, bits in _entry_bits(entry, ops[entry["layer"]]).items():
            counts[kind] = counts.get(kind, 0) + bits
    for layer in compiled.layers:
        if phi := _phi_bits(layer):
            counts = by_layer.setdefault(layer.name, {})
            counts["fixed_point"] = counts.get("fixed_point", 0) + phi
    return by_layer


def parameter_bits(compiled, memory_map=None):
    """Bits of every stored parameter of a compiled network, by kind, and their ``"total"``.

    ``binary_weights`` (1 bit each, PA-Net weight bases included), ``int8_weights``, ``biases``
    (the int8 layers' int32 bias ROMs), ``thresholds`` (threshold fields at their ROM width plus
    the invert bit, per channel and slice), ``endpoints`` (PA-Net endpoints at their ROM
    width), ``fixed_point`` (requantize multipliers, quantized-BN scale and bias, DPReLU
    parameters, PA-Net ``phi``). ``total`` equals ``memory_map.json``'s ``total_bits`` plus the
    PA-Net ``phi`` bits.
    """
    counts = dict.fromkeys(KINDS, 0)
    for layer_counts in parameter_bits_by_layer(compiled, memory_map).values():
        for kind, bits in layer_counts.items():
            counts[kind] += bits
    counts["total"] = sum(counts[kind] for kind in KINDS)
    return counts
