"""Size and work of a model: parameter bits as the hardware stores them, operations per image.

:func:`parameter_bits` counts the compiled form (the result of :func:`bnnhw.compiler.lower`,
passed in: this module sits below the compiler and never imports it), i.e. what the ROMs hold:
batch norms appear as their folded thresholds, real scales as their fixed-point integers.
:func:`operation_counts` counts the work of one inference from the model's layer shapes. NumPy
only.
"""

import math

import numpy as np

__all__ = ["parameter_bits", "operation_counts"]

#: Stored width of per-channel fixed-point parameters, by compiled op (docs/numerics.md §8).
_REQUANT_BITS = 16          # multiplier M (the shift is one per layer)
_QUANTIZED_BN_BITS = 32     # int16 scale + int16 bias
_DPRELU_BITS = 48           # int8 alpha, int8 beta, int16 eta, int16 gamma
_PHI_BITS = 16
_INT32 = 32


def _signed_width(lo, hi):
    """Two's-complement bits holding every integer in ``[lo, hi]``."""
    return max(int(lo).bit_length(), int(hi).bit_length(), 1) + (1 if lo < 0 else 0)


def parameter_bits(compiled):
    """Bits of every stored parameter of a compiled network, by kind, and their ``"total"``.

    Parameters
    ----------
    compiled : bnnhw.compiler.CompiledNetwork
        ``bnnhw.compiler.lower(model)``.

    Returns
    -------
    dict
        ``binary_weights`` (1 bit each, PA-Net weight bases included), ``int8_weights``,
        ``biases`` (int32, counted only when some bias is non-zero), ``thresholds``
        (``ceil(log2(N + 1))`` bits + 1 invert bit per channel and slice), ``endpoints``
        (PA-Net integer endpoints at the width of their input), ``fixed_point`` (requantize
        multipliers, quantized-BN scale/bias, DPReLU parameters, PA-Net phi) and ``total``.
    """
    counts = dict.fromkeys(("binary_weights", "int8_weights", "biases", "thresholds",
                            "endpoints", "fixed_point"), 0)
    for layer in compiled.layers:
        p = layer.params
        if layer.op in ("binary_conv2d", "binary_dense"):
            counts["binary_weights"] += int(np.size(p["weight"]))
        elif layer.op in ("int8_conv2d", "int8_dense"):
            counts["int8_weights"] += 8 * int(np.size(p["weight"]))
            if np.any(p["bias"]):
                counts["biases"] += _INT32 * int(np.size(p["bias"]))
        elif layer.op == "threshold":
            thresholds = p["thresholds"]
            counts["thresholds"] += int(thresholds.threshold.size) * (thresholds.width + 1)
        elif layer.op == "requantize":
            counts["fixed_point"] += _REQUANT_BITS * int(np.size(p["multiplier"]))
        elif layer.op == "quantized_bn":
            counts["fixed_point"] += _QUANTIZED_BN_BITS * int(np.size(p["scale"]))
        elif layer.op == "dprelu":
            counts["fixed_point"] += _DPRELU_BITS * int(np.size(p["alpha"]))
        elif layer.op == "pa_bases":
            source = compiled.values[layer.inputs[0]]
            top = source.fan_in if source.is_popcount else source.hi
            width = _signed_width(source.lo, top + 1)
            counts["endpoints"] += width * int(np.size(p["endpoints"]))
        elif layer.op == "panet_conv2d":
            counts["binary_weights"] += int(np.size(p["weight_bases"]))
            counts["fixed_point"] += _PHI_BITS * int(np.size(p["phi"]))
    counts["total"] = sum(counts.values())
    return counts


def _fan_in(layer, in_type):
    a = layer.attrs
    if layer.op == "dense":
        return in_type.features
    kernel = a["kernel"] if isinstance(a["kernel"], list) else [a["kernel"]] * 2
    channels = in_type.channels // in_type.bases if layer.op == "panet_conv2d" else \
        in_type.channels
    return channels // a.get("groups", 1) * kernel[0] * kernel[1]


def operation_counts(model):
    """Operations of one inference of ``model``, by kind.

    Returns
    -------
    dict
        ``binary_ops``: XNOR (or AND) + popcount per binary multiply-accumulate, PA-Net's
        ``M*N`` AND-popcount convolutions included; ``int8_macs``: int8 multiply-accumulates;
        ``comparisons``: threshold / piece comparisons (one per output bit);
        ``fixed_point_ops``: per-element fixed-point multiplies (requantize, quantized BN,
        DPReLU, PA-Net phi scaling); ``additions``: saturating residual additions.
    """
    types = model.types
    counts = dict.fromkeys(("binary_ops", "int8_macs", "comparisons", "fixed_point_ops",
                            "additions"), 0)
    for layer in model.layers:
        out = types[layer.name]
        elements = math.prod(out.shape)
        in_type = types[layer.inputs[0]]
        if layer.op in ("conv2d", "dense"):
            macs = elements * _fan_in(layer, in_type)
            key = "binary_ops" if layer.attrs["precision"] == "binary" else "int8_macs"
            counts[key] += macs
        elif layer.op == "panet_conv2d":
            bases = layer.params["weight_bases"].shape[0] * in_type.bases
            counts["binary_ops"] += elements * _fan_in(layer, in_type) * bases
            counts["fixed_point_ops"] += elements * bases
        elif layer.op in ("sign", "threshold", "pa_bases"):
            counts["comparisons"] += elements
        elif layer.op in ("requantize", "quantized_bn", "dprelu"):
            counts["fixed_point_ops"] += elements
        elif layer.op == "add":
            counts["additions"] += elements
    return counts
