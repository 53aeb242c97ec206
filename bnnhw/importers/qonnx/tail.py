"""The output tail: the model's integer logits -> the graph's float32 logits, recorded in the
model's meta, exact for the argmax (docs/import.md); per-class output scales become an int8
scaling layer of integer multipliers."""

import numpy as np

from .errors import QonnxImportError
from .quantizers import _as_json, _dot_table, _powers_of_two, _reachable
from .values import ArgMax, Dot, _kind, _squeezed

#: Largest integer ratio kept between per-class output scales (the int8 scaling layer).
MAX_MULTIPLIER = 2048


def _output_tail(importer, value, output_name):
    """The output tail of ``importer`` (an ``_Importer`` that mapped every node) for the graph
    output ``value``: ``(tail, output layer)``; per-class output scales add an int8 scaling
    layer."""
    if importer.input is None:
        raise QonnxImportError(None, "the graph input reaches no quantizer (BipolarQuant "
                                     "or Quant)")
    argmax = isinstance(value, ArgMax)
    dot = value.dot if argmax else value
    if not isinstance(dot, Dot):
        raise QonnxImportError(None, f"graph output {output_name!r}: expected logits of a "
                                     f"dense / conv layer, got {_kind(value)}")
    if _squeezed(dot.shape)[1:] != _squeezed(dot.shape)[1:2]:
        raise QonnxImportError(None, f"graph output {output_name!r}: shape {dot.shape} is "
                                     "not one logit per class")
    if importer.layers[-1]["name"] != dot.layer:
        raise QonnxImportError(None, f"graph output {output_name!r}: the output layer must "
                                     "be the last layer")
    table = _dot_table(dot).astype(np.float64)      # (classes, reachable v ascending)
    diffs = np.diff(table, axis=1)
    negated = (diffs < 0).all(axis=1)
    if not ((diffs > 0).all(axis=1) | negated).all():
        raise QonnxImportError(None, f"graph output {output_name!r}: the output tail maps "
                                     "different dot values to one float logit; the argmax "
                                     "would differ (not supported)")
    key = f"{dot.layer}.weight"
    if negated.any():           # v -> -v for those classes: negate their weights
        importer.arrays[key] = importer.arrays[key].copy()
        importer.arrays[key][negated] *= -1
        table[negated] = table[negated, ::-1]
    multiplier = intercept = None
    output = dot.layer
    if not (table == table[:1]).all():
        multiplier, intercept = _class_multipliers(output_name, dot, table)
        output = _scale_classes(importer, dot, multiplier, intercept)
    tail = {"kind": dot.kind, "fan_in": dot.fan_in, "negated": negated.tolist(),
            "multiplier": None if multiplier is None else multiplier.tolist(),
            "intercept": None if intercept is None else intercept.tolist(),
            "base_scale": _as_json(dot.base_scale), "base_offset": _as_json(dot.base_offset),
            "steps": dot.steps, "graph_output": "argmax" if argmax else "logits",
            "output_name": output_name}
    if dot.zero_pad:    # logits are zero-padded counts u: v = u - N (absent otherwise)
        tail["zero_pad"] = True
    return tail, output


def _class_multipliers(output_name, dot, table):
    """Smallest positive integers ``m`` (max at most ``MAX_MULTIPLIER``) and integers ``b``
    such that the integers ``m[o] * v + b[o]`` are ordered exactly as the graph's float
    logits ``table[o, v]`` over every pair of classes and reachable dot values (ties
    included); the float gaps must exceed the float32 summation error of the graph's own
    MatMul."""
    if dot.kind != "popcount":
        raise QonnxImportError(None, f"graph output {output_name!r}: per-class output "
                                     "scales are supported on a binary last layer only")
    v = _reachable(dot).astype(np.float64)
    flat = table.reshape(-1)
    order = np.sign(flat[:, None] - flat[None, :])
    gaps = np.abs(flat[:, None] - flat[None, :])[order != 0]
    error = float(v.max()) ** 2 * np.abs(np.asarray(dot.base_scale, np.float64)).max() \
        * 2.0 ** -24 * (0 if _powers_of_two(dot.base_scale) else 1)
    if gaps.size and gaps.min() <= 2 * error * _steps_gain(dot.steps):
        raise QonnxImportError(None, f"graph output {output_name!r}: two classes' logits "
                                     "differ by float32 rounding only; the argmax depends "
                                     "on the graph's summation order (not supported)")
    slope = (table[:, -1] - table[:, 0]) / (v[-1] - v[0])
    intercept = table[:, 0] - slope * v[0]
    for top in range(1, MAX_MULTIPLIER + 1):
        m = np.maximum(np.round(slope / slope.max() * top), 1).astype(np.int64)
        b = np.round(intercept / slope.max() * top).astype(np.int64)
        ints = (m[:, None] * v[None, :] + b[:, None]).reshape(-1)
        if np.array_equal(np.sign(ints[:, None] - ints[None, :]), order):
            return m, b
    raise QonnxImportError(None, f"graph output {output_name!r}: per-class output scales "
                                 f"need integer ratios beyond {MAX_MULTIPLIER} to keep the "
                                 "argmax exact (not supported)")


def _scale_classes(importer, dot, m, b):
    """An int8 dense layer giving ``m[o] * v[o] + b[o]``: the binary layer's rows repeated
    ``copies`` times (popcounts ``p``), weights summing to ``2 m[o]``, bias
    ``b[o] - m[o] N`` (zero-padded counts ``u = v + N``: weights summing to ``m[o]``)."""
    classes = len(m)
    copies = -(-int(2 * m.max()) // 127)
    key = f"{dot.layer}.weight"
    importer.arrays[key] = np.concatenate([importer.arrays[key]] * copies, axis=0)
    layer = importer.layers[-1]
    width = "out_features" if layer["op"] == "dense" else "out_channels"
    layer[width] = classes * copies
    weight = np.zeros((classes, classes * copies), np.int8)
    for o in range(classes):
        left = (1 if dot.zero_pad else 2) * int(m[o])
        for r in range(copies):
            part = min(127, left)
            weight[o, r * classes + o] = part
            left -= part
    return importer.add_layer("scale", "dense", [dot.layer],
                              {"precision": "int8", "out_features": classes},
                              {"weight": weight, "bias": b - m * dot.fan_in}, (classes, 1, 1))


def _steps_gain(steps):
    """How much the float ops after a dot product can stretch a difference (the product of
    the magnitudes of its Mul and of the inverse of its Div constants, batch norm scales)."""
    gain = 1.0
    for step in steps:
        if step[0] == "mul":
            gain *= float(np.abs(step[1]).max())
        elif step[0] == "div":
            gain /= float(np.abs(step[1]).min())
        elif step[0] == "bn":
            gamma, var, eps = np.abs(np.asarray(step[1])), np.asarray(step[4]), step[5]
            gain *= float((gamma / np.sqrt(var + eps)).max())
    return gain
