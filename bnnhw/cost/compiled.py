"""Costs of a compiled network (:class:`bnnhw.compiler.CompiledNetwork`), layer by layer.

What is counted for each compiled op (docs/cost.md has the same table):

======================  =====================================================================
op                      counted
======================  =====================================================================
``binary_conv2d``       ``C_out*H_out*W_out*N`` binary MACs (``N = C_in/groups*K_h*K_w``, the
``binary_dense``        value's fan-in); as many XNORs (or ANDs for ``dot: and``) and popcount
                        inputs (paper 000 Sec. 6.1: "the number of counts is roughly the same
                        as XNORs")
``int8_conv2d``         ``C_out*H_out*W_out*N`` int8 MACs (8-bit x 8-bit: the datapath width,
``int8_dense``          whatever the value range); one addition per output for a non-zero bias
``panet_conv2d``        PA-Net eq. 19: ``M*N_a`` AND-popcount convolutions, i.e.
                        ``M*N_a*C_out*H_out*W_out*N`` binary MACs, plus ``M*N_a`` MACs per
                        output merging them with ``phi`` (a ``P``-bit popcount times an int16
                        ``phi``, ``P = bit_length(N)``: format ``intPxint16``). Both are MACs,
                        so both are in ACE and CPU64.
``threshold``           one comparator per output bit (paper 000: "the number of comparators is
                        C_out*H*W"; k per channel for a k-slice sign)
``clip``                one comparison per element (the saturating accumulator)
``pa_bases``            one comparison per output bit (one endpoint per base)
``requantize``          one element-wise multiply ``acc x M`` (``intAxint17``; ``|M| < 2^16``)
``quantized_bn``        one element-wise multiply ``s x S`` (``int8xint16``)
``dprelu``              one element-wise multiply ``(x - alpha) x slope`` (``int9xint16``)
``add``                 one addition per element
``maxpool``             ``K*K - 1`` ORs per output bit
``global_pool``         one popcount input per input bit
``permute``, ``concat`` nothing (wiring); their outputs alias their inputs' storage
======================  =====================================================================

Element-wise multiplies are reported as ``elementwise_muls`` and kept out of ``ace``, which, as in
PokeBNN Table 2, covers the MACs of convolution and dense layers only.

Memory: ``param_bits`` of a layer are its count in the one parameter-bit count,
:func:`bnnhw.compiler.parameter_bits.parameter_bits_by_layer`: the bits of the ROM images the
build writes for it (so they always agree with ``memory_map.json``) plus parameters the hardware
holds as constants outside ROMs (PA-Net ``phi``: :data:`~bnnhw.compiler.parameter_bits.PHI_BITS`
bits each).
``out_fmap_bits`` is the output tensor at the smallest width holding its value range (1 bit for
bit maps, ``bit_length(hi)`` for non-negative integers, two's complement otherwise);
``in_fmap_bits`` sums the layer's inputs the same way.
"""

import math

import numpy as np

from ..compiler import MATRIX_OPS
from ..compiler.parameter_bits import PHI_BITS, parameter_bits_by_layer
from .precision import mixed
from .report import CostReport, LayerCost

__all__ = ["cost_of_compiled", "value_bits", "value_width"]

_REQUANT_MULTIPLIER_BITS = 17   # |M| < 2^16 plus a sign (docs/numerics.md §8)
_QBN_INPUT_BITS = 8             # s clipped to [-127, 127]
_QBN_SCALE_BITS = 16
_DPRELU_DIFF_BITS = 9           # d = x - alpha of two int8 values
_DPRELU_SLOPE_BITS = 16
_WIRING = ("permute", "concat")


def value_width(value):
    """Bits per element of a compiled :class:`~bnnhw.compiler.Value` (its range's width)."""
    if value.kind == "bits":
        return 1
    lo, hi = int(value.lo), int(value.hi)
    if lo >= 0:
        return max(hi.bit_length(), 1)
    return max((-lo - 1).bit_length(), hi.bit_length()) + 1


def value_bits(value):
    return math.prod(value.shape) * value_width(value)


def _matrix(layer, value):
    """``(macs, ops, note)`` of a matrix layer."""
    p = layer.params
    out = math.prod(value.shape)
    if layer.op == "panet_conv2d":
        bases = np.asarray(p["weight_bases"])
        m, n_act = bases.shape[0], int(p["activation_bases"])
        fan_in = int(bases[0, 0].size)
        products = m * n_act * out * fan_in
        popcount_bits = max(fan_in.bit_length(), 1)
        macs = {"binary": products, mixed(popcount_bits, PHI_BITS).name: m * n_act * out}
        ops = {"and": products, "popcount": products}
        return macs, ops, f"{m}x{n_act} bases, fan-in {fan_in}"
    weight = np.asarray(p["weight"])
    fan_in = int(weight[0].size)
    macs_count = out * fan_in
    if layer.op.startswith("binary"):
        gate = "and" if p.get("dot", "xnor") == "and" else "xnor"
        return {"binary": macs_count}, {gate: macs_count, "popcount": macs_count}, \
            f"fan-in {fan_in}, {gate}"
    ops = {"add": out} if np.any(p.get("bias", 0)) else {}
    return {"int8": macs_count}, ops, f"fan-in {fan_in}"


def _elementwise(layer, value, inputs):
    """``(ops, elementwise_muls)`` of a non-matrix layer."""
    out = math.prod(value.shape)
    op = layer.op
    if op in ("threshold", "clip", "pa_bases"):
        return {"compare": out}, {}
    if op == "requantize":
        acc = value_width(inputs[0])
        return {}, {mixed(acc, _REQUANT_MULTIPLIER_BITS).name: out}
    if op == "quantized_bn":
        return {}, {mixed(_QBN_INPUT_BITS, _QBN_SCALE_BITS).name: out}
    if op == "dprelu":
        return {}, {mixed(_DPRELU_DIFF_BITS, _DPRELU_SLOPE_BITS).name: out}
    if op == "add":
        return {"add": out}, {}
    if op == "maxpool":
        kernel = layer.params["kernel"]
        kh, kw = (kernel, kernel) if np.ndim(kernel) == 0 else tuple(kernel)
        return {"or": out * (kh * kw - 1)}, {}
    if op == "global_pool":
        return {"popcount": math.prod(inputs[0].shape)}, {}
    return {}, {}


def cost_of_compiled(compiled, *, source="model file", description=""):
    """The :class:`~bnnhw.cost.report.CostReport` of a compiled network, one row per layer."""
    stored = parameter_bits_by_layer(compiled)
    rows = []
    for layer in compiled.layers:
        value = compiled.values[layer.name]
        inputs = [compiled.values[name] for name in layer.inputs]
        macs, ops, muls, note = {}, {}, {}, ""
        if layer.op in MATRIX_OPS:
            macs, ops, note = _matrix(layer, value)
        else:
            ops, muls = _elementwise(layer, value, inputs)
        rows.append(LayerCost(
            layer.name, layer.op, tuple(value.shape), macs,
            param_bits=sum(stored.get(layer.name, {}).values()),
            in_fmap_bits=sum(value_bits(v) for v in inputs),
            out_fmap_bits=value_bits(value), stores_output=layer.op not in _WIRING,
            ops=ops, elementwise_muls=muls, note=note))
    notes = [f"{name}: {text}" for name, texts in compiled.notes.items() for text in texts]
    return CostReport(compiled.name, source, tuple(rows), description,
                      tuple(compiled.input_shape), value_bits(compiled.values["input"]),
                      tuple(notes))
