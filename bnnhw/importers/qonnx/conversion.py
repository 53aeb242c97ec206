"""The host side of an imported model, from its meta: the graph's float32 input -> the model's
integer input (:func:`convert_inputs`), the model's integer logits -> the graph's float32 output
(:func:`graph_logits`)."""

import numpy as np

from ...model import Model
from .errors import QonnxImportError
from .quantizers import F32, _apply_steps, _multithreshold_counts, _quant_levels


def _meta(model_or_meta):
    return model_or_meta.meta if isinstance(model_or_meta, Model) else model_or_meta


def convert_inputs(model_or_meta, x):
    """The model's integer inputs ``(B, C, H, W)`` for ``x``: float32 NCHW exactly as the ONNX
    graph takes it (batch on axis 0). Recomputes the graph's preprocessing and input quantizer
    in float32, as qonnx does."""
    conversion = _meta(model_or_meta)["qonnx"]["input"]
    x = np.asarray(x, F32)
    if tuple(x.shape[1:]) != tuple(conversion["graph_shape"][1:]):
        expected = ", ".join(map(str, conversion["graph_shape"][1:]))
        raise QonnxImportError(None, f"inputs: expected shape (B, {expected}), got {x.shape}")
    batch = x.shape[0]
    x = _apply_steps(x, conversion["steps"])
    quantizer = conversion["quantizer"]
    if quantizer["op"] == "bipolar":
        q = (x >= 0) ^ bool(quantizer["invert"])
        return q.reshape((batch, *conversion["model_shape"])).astype(np.uint8)
    if quantizer["op"] == "multithreshold":
        levels = _multithreshold_counts(x, np.asarray(quantizer["thresholds"], F32))
    else:
        levels = _quant_levels(x, F32(quantizer["scale"]), F32(0), quantizer["bitwidth"],
                               quantizer["signed"], quantizer["narrow"], quantizer["rounding"])
    levels = levels.astype(np.int64).reshape((batch, *conversion["graph_shape"][1:]))
    levels = levels + quantizer.get("offset", 0)
    if quantizer["slices"]:
        lo = quantizer["lo"]
        bits = [levels >= lo + j for j in range(1, quantizer["slices"] + 1)]
        return np.concatenate(bits, axis=1).astype(np.uint8)
    return levels


def graph_logits(model_or_meta, logits):
    """The graph's float32 output for the model's integer logits ``(B, C[, 1, 1])``: the
    recorded tail (dot values, base scale and offset, then the graph's float32 ops)."""
    tail = _meta(model_or_meta)["qonnx"]["output"]
    p = np.asarray(logits, np.int64).reshape(len(logits), -1)
    if tail["multiplier"] is not None:      # the int8 scaling layer gives m * v + b exactly
        v = (p - np.asarray(tail["intercept"], np.int64)) // np.asarray(tail["multiplier"],
                                                                         np.int64)
    elif tail["kind"] == "popcount":
        v = p - tail["fan_in"] if tail.get("zero_pad") else 2 * p - tail["fan_in"]
    else:
        v = p
    v = np.where(tail["negated"], -v, v)
    x = v.astype(F32) * np.asarray(tail["base_scale"], F32) + np.asarray(tail["base_offset"], F32)
    return _apply_steps(x, tail["steps"], channel_axis=1)
