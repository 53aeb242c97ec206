"""Float64 evaluation of a model file as trained, before any compilation.

This is the "training side" view: ±1 convolutions in floating point, batch norm as
``a*x + b``, multi-slice sign, real requantization scales and DPReLU slopes, PA-Net's real phi.
It follows docs/numerics.md wherever the contract fixes a float rule (the BN-sign rule, rounding
half up, clipping), so the compiled integer network must agree with it exactly whenever the real
parameters are representable in the compiled fixed-point formats. Whole batches, NCHW.
"""

import numpy as np

from .. import golden
from .types import channel_dots

__all__ = ["run_float", "classify_float"]


def _conv(x, w, stride, padding, groups, fill):
    """Float64 convolution of real NCHW ``x`` with ``w`` (PyTorch semantics, ``fill`` border)."""
    from ..golden._window import conv_geometry, grouped_weights, patches
    stride, padding, groups, out_size = conv_geometry(
        x, w, stride=stride, padding=padding, groups=groups)
    cols = patches(x, w.shape[2:], stride=stride, padding=padding, groups=groups, fill=fill)
    product = cols @ grouped_weights(w, groups)
    groups_, _, per_group = product.shape
    h, w_ = out_size
    product = product.reshape(groups_, x.shape[0], h, w_, per_group)
    return product.transpose(1, 0, 4, 2, 3).reshape(x.shape[0], groups_ * per_group, h, w_)



def _binary(layer, x, t_out):
    """Popcount ``p`` of a binary layer, from the ±1 (or {0, 1}) float product; for a
    zero-padded XNOR convolution (a border of real zeros) the count ``u = s + N``."""
    a = layer.attrs
    dot = a.get("dot", "xnor")
    w = np.asarray(layer.params["weight"], np.float64)
    values = x * 2.0 - 1.0 if dot == "xnor" else x.astype(np.float64)
    fill = float(a.get("pad_value", 1)) if dot == "xnor" else (1.0 if a.get("pad_value") == 1
                                                               else 0.0)
    if t_out.detail["op"] == golden.ZERO_PADDED_XNOR:
        s = _conv(values, w, a.get("stride", 1), a.get("padding", 0), a.get("groups", 1), 0.0)
        return np.rint(s + t_out.hi / 2).astype(np.int64)
    if layer.op == "dense":
        s = values.reshape(len(x), -1) @ w.T
        s = s.reshape(len(x), -1, 1, 1)
    else:
        s = _conv(values, w, a.get("stride", 1), a.get("padding", 0), a.get("groups", 1), fill)
    fan_in = t_out.hi
    p = (s + fan_in) / 2 if dot == "xnor" else s
    return np.rint(p).astype(np.int64)


def _dot_value(types, name, value):
    """What a batch norm, sign, ``dot``-domain threshold or PA-Net bases sees of ``name``: the
    (clipped) dot value of each channel for popcounts (``2p - N`` for XNOR, ``p`` for AND,
    ``u - N`` for a zero-padded XNOR count, each channel with its own binary layer's ``N``,
    ``op`` and ``clip``), the value itself otherwise."""
    t = types[name]
    value = np.asarray(value, np.float64)
    if t.source != "popcount":
        return value
    dots = channel_dots(t)
    shape = (1, -1) + (1,) * (value.ndim - 2)
    fan_in = np.array([d[0] for d in dots], np.float64).reshape(shape)
    xnor = np.array([d[1] == "xnor" for d in dots]).reshape(shape)
    clip = np.array([np.inf if d[2] is None else d[2] for d in dots], np.float64).reshape(shape)
    zero = np.array([d[1] == golden.ZERO_PADDED_XNOR for d in dots]).reshape(shape)
    v = np.where(xnor, 2.0 * value - fan_in, np.where(zero, value - fan_in / 2, value))
    return np.clip(v, -clip, clip)


def _per_channel(vector, ndim):
    return np.asarray(vector, np.float64).reshape((1, -1) + (1,) * (ndim - 2))


def _round_half_up(x):
    return np.floor(x + 0.5)


def run_float(model, x):
    """Every layer's output (dict by name, plus ``"input"``) for a batch ``x``."""
    types = model.types
    out = {"input": np.asarray(x)}
    for layer in model.layers:
        a, p = layer.attrs, layer.params
        ins = [out[name] for name in layer.inputs]
        t = types[layer.name]
        if layer.op in ("conv2d", "dense") and a["precision"] == "binary":
            y = _binary(layer, ins[0], t)
        elif layer.op == "conv2d":
            y = _conv(ins[0].astype(np.float64), np.asarray(p["weight"], np.float64),
                      a.get("stride", 1), a.get("padding", 0), a.get("groups", 1), 0.0)
            y = y + _per_channel(p.get("bias", np.zeros(t.channels)), 4)
        elif layer.op == "dense":
            w = np.asarray(p["weight"], np.float64)
            y = ins[0].reshape(len(x), -1).astype(np.float64) @ w.T
            y = (y + np.asarray(p.get("bias", np.zeros(len(w))), np.float64))[:, :, None, None]
        elif layer.op == "batchnorm":
            gain, shift = golden.bn_affine(p["gamma"], p["beta"], p["mean"], p["var"], a["eps"])
            v = _dot_value(types, layer.inputs[0], ins[0])
            y = _per_channel(gain, v.ndim) * v + _per_channel(shift, v.ndim)
        elif layer.op == "sign":
            v = _dot_value(types, layer.inputs[0], ins[0])
            biases = a.get("biases") or [0.0]
            y = np.concatenate([(v + bias >= 0) for bias in biases], axis=1).astype(np.uint8)
        elif layer.op == "threshold":
            v = ins[0] if a.get("domain", "popcount") == "popcount" else \
                _dot_value(types, layer.inputs[0], ins[0])
            threshold = np.asarray(p["threshold"]).reshape(-1, t.channels // t.bases)
            invert = np.asarray(p.get("invert", np.zeros(threshold.shape, bool))).reshape(
                threshold.shape)
            y = np.concatenate([
                ((v >= _per_channel(th, v.ndim)) != _per_channel(inv, v.ndim).astype(bool))
                for th, inv in zip(threshold, invert)], axis=1).astype(np.uint8)
        elif layer.op == "requantize":
            y = _round_half_up(ins[0] * _per_channel(p["scale"], ins[0].ndim))
            y = np.clip(y, -127, 127).astype(np.int64)
        elif layer.op == "quantized_bn":
            s = _dot_value(types, layer.inputs[0], ins[0]).astype(np.int64)
            y = golden.quantized_bn(s, p["scale"], p["bias"], a["frac_bits"])
        elif layer.op == "dprelu":
            d = ins[0] - _per_channel(p["alpha"], ins[0].ndim)
            slope = np.where(d > 0, _per_channel(p["eta"], d.ndim), _per_channel(p["gamma"],
                                                                                 d.ndim))
            y = _round_half_up(d * slope) - _per_channel(p["beta"], d.ndim)
            y = np.clip(y, -127, 127).astype(np.int64)
        elif layer.op == "add":
            y = np.clip(ins[0] + ins[1], -127, 127)
        elif layer.op == "maxpool":
            kernel = a["kernel"]
            y = golden.binary_maxpool2d(ins[0], kernel, a.get("stride", kernel))
        elif layer.op == "global_pool":
            y = ins[0].sum(axis=(2, 3), dtype=np.int64)[:, :, None, None]
        elif layer.op == "slice":
            y = ins[0][:, a["start"]:a["stop"]]
        elif layer.op == "concat":
            y = np.concatenate(ins, axis=1)
        elif layer.op == "shuffle":
            y = golden.channel_shuffle(ins[0], a["groups"])
        elif layer.op == "pa_bases":
            v = _dot_value(types, layer.inputs[0], ins[0])
            e = np.asarray(p["endpoints"], np.float64)
            upper = np.append(e[1:], np.inf)
            y = np.concatenate([(v >= lo) & (v < hi) for lo, hi in zip(e, upper)],
                               axis=1).astype(np.uint8)
        elif layer.op == "panet_conv2d":
            bases = np.asarray(p["weight_bases"], np.float64)
            phi = np.asarray(p["phi"], np.float64)
            n = phi.shape[1]
            c = ins[0].shape[1] // n
            y = 0.0
            for i in range(phi.shape[0]):
                for j in range(n):
                    v = ins[0][:, j * c:(j + 1) * c].astype(np.float64)
                    y = y + phi[i, j] * _conv(v, bases[i], a.get("stride", 1),
                                              a.get("padding", 0), a.get("groups", 1), 0.0)
        else:  # pragma: no cover - validation rejects unknown ops
            raise AssertionError(layer.op)
        out[layer.name] = y
    return out


def classify_float(model, x):
    """Class per image from the float model's logits (lowest index on ties)."""
    logits = run_float(model, x)[model.output]
    return np.argmax(np.asarray(logits, np.float64).reshape(len(x), -1), axis=1)
