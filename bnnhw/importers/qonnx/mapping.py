"""Mapping the graph's nodes onto bnnhw layers: :func:`import_onnx`.

``_Importer`` walks the cleaned graph node by node, tracking what every tensor is in bnnhw terms
(:mod:`.values`): folding constants (:mod:`.graph`), recording the host-side input conversion,
emitting dense / conv / pool layers for binary weights and integer thresholds for every float
decision made on a dot product (:mod:`.quantizers`), and the output tail (:mod:`.tail`).
Anything else raises one :class:`QonnxImportError` naming the node."""

import hashlib
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from ...errors import BnnhwError
from ...model import FORMAT, VERSION, Model
from .errors import QonnxImportError
from .graph import QONNX_DOMAINS, _attr, _fold, _load_onnx, _reshape_target
from .quantizers import (
    _ROUNDING,
    F32,
    _as_json,
    _decide,
    _int_range,
    _integer_thresholds,
    _quant_levels,
)
from .tail import _output_tail
from .values import (
    ArgMax,
    Bits,
    Const,
    Dot,
    IntIn,
    Patches,
    Pre,
    _channel_axis,
    _kind,
    _shape_of,
    _squeezed,
)

#: Slices of a thermometer-coded activation: 2-bit narrow or 2-bit (3 or 4 levels) at most.
MAX_SLICES = 3


class _Importer:
    def __init__(self, proto, name):
        from onnx import numpy_helper
        self.numpy_helper = numpy_helper
        self.proto = proto
        self.name = name
        self.values = {}
        self.layers = []
        self.arrays = {}
        self.counts = Counter()
        self.input = None           # the model input: dict(type, shape, range) + conversion
        self.layer_shapes = {}      # bnnhw layer (or "input") -> its (C, H, W)
        graph = proto.graph
        for tensor in graph.initializer:
            self.values[tensor.name] = Const(numpy_helper.to_array(tensor))
        data = [i for i in graph.input if i.name not in self.values]
        if len(data) != 1:
            raise QonnxImportError(None, f"expected one graph input that is not an initializer, "
                                         f"found {len(data)}: {[i.name for i in data]}")
        dims = data[0].type.tensor_type.shape.dim
        shape = tuple(d.dim_value for d in dims)
        if data[0].type.tensor_type.elem_type != 1 or len(shape) != 4 or shape[0] != 1 \
                or not all(shape):
            raise QonnxImportError(None, f"graph input {data[0].name!r}: expected float32 "
                                         f"(1, C, H, W), got shape {shape}")
        self.input_name = data[0].name
        self.graph_shape = shape
        self.values[data[0].name] = Pre([], shape)

    # layer output
    def add_layer(self, prefix, op, inputs, attrs, arrays, shape):
        """Append a bnnhw layer whose output is ``shape`` (C, H, W); returns its name."""
        self.counts[prefix] += 1
        name = f"{prefix}{self.counts[prefix]}"
        self.layer_shapes[name] = tuple(int(d) for d in shape)
        self.layers.append({"name": name, "op": op, "inputs": inputs, **attrs})
        for key, value in arrays.items():
            self.arrays[f"{name}.{key}"] = value
        return name

    def get(self, node, name):
        if name not in self.values:
            raise QonnxImportError(node, f"input {name!r} is not produced by an earlier node")
        return self.values[name]

    def run(self):
        for node in self.proto.graph.node:
            try:
                self.step(node)
            except BnnhwError:
                raise
            except Exception as error:       # noqa: BLE001 - a malformed node, never a traceback
                raise QonnxImportError(node, "malformed or unsupported node "
                                             f"({type(error).__name__}: {error})") from None
        outputs = self.proto.graph.output
        if len(outputs) != 1:
            raise QonnxImportError(None, f"expected one graph output, found {len(outputs)}")
        return _output_tail(self, self.values.get(outputs[0].name), outputs[0].name)

    def step(self, node):
        """Map one node: fold it, or call its ``op_<OpType>`` handler."""
        if node.domain not in ("", "ai.onnx") + QONNX_DOMAINS:
            raise QonnxImportError(node, f"unknown domain {node.domain!r}")
        inputs = [self.get(node, n) if n else None for n in node.input]
        if node.op_type == "Constant":
            result = [Const(self.numpy_helper.to_array(_attr(node, "value")))]
        elif node.op_type == "Identity":
            result = [inputs[0]]
        elif inputs and all(isinstance(v, Const) for v in inputs if v is not None):
            result = [Const(_fold(node, [v.value if v else None for v in inputs]))]
        else:
            handler = getattr(self, f"op_{node.op_type}", None)
            if handler is None:
                raise QonnxImportError(node, "this op is not supported on a computed "
                                             "tensor (docs/import.md lists what is)")
            result = handler(node, *inputs)
            result = result if isinstance(result, list) else [result]
        for name, value in zip(node.output, result):
            if name:
                self.values[name] = value

    # --- elementwise on computed tensors
    def _elementwise(self, node, a, b):
        op = node.op_type.lower()
        if isinstance(b, Const) and not isinstance(a, Const):
            tensor, const = a, b.value
        elif isinstance(a, Const) and op in ("add", "mul", "sub"):
            tensor, const = b, a.value
            op = {"sub": "rsub"}.get(op, op)
        else:
            raise QonnxImportError(node, "only one computed operand and one constant are "
                                         "supported")
        if const.dtype.kind != "f":
            raise QonnxImportError(node, f"constant of type {const.dtype}, expected float32")
        const = const.astype(F32)
        if isinstance(tensor, Pre):
            if np.broadcast_shapes(tensor.shape, const.shape) != tensor.shape:
                raise QonnxImportError(node, f"constant of shape {const.shape} broadcasts the "
                                             f"input {tensor.shape} to a larger shape")
            return Pre(tensor.steps + [[op, _as_json(const)]], tensor.shape)
        if isinstance(tensor, Dot):
            return replace(tensor, steps=tensor.steps + [[op, _as_json(
                self.per_channel(node, const, tensor.shape, _channel_axis(tensor)))]])
        if isinstance(tensor, (Bits, IntIn)) and const.size == 1 and op in ("add", "sub",
                                                                            "mul", "div"):
            # exact on the graph's small integer levels: an affine change of what they mean
            c = float(const.reshape(()))
            offset = tensor.center if isinstance(tensor, Bits) else tensor.offset
            if op in ("add", "sub"):
                offset += (c if op == "add" else -c) / tensor.scale
                field_name = "center" if isinstance(tensor, Bits) else "offset"
                return replace(tensor, **{field_name: offset})
            if c <= 0:
                raise QonnxImportError(node, f"scaling quantized values by {c} (only by a "
                                             "positive constant)")
            return replace(tensor, scale=tensor.scale * c if op == "mul" else tensor.scale / c)
        raise QonnxImportError(node, f"arithmetic on {_kind(tensor)} is not supported (only on "
                                     "the graph input before its quantizer, and on dot products "
                                     "before a quantizer or the output)")

    op_Add = op_Sub = op_Mul = op_Div = _elementwise

    def per_channel(self, node, const, shape, axis=1):
        """``const`` as a (C,) vector along axis 1 of ``shape`` (a scalar stays a scalar)."""
        if const.size == 1:
            return const.reshape(())
        try:
            full = np.broadcast_to(const, shape)
        except ValueError:
            raise QonnxImportError(node, f"constant of shape {const.shape} does not broadcast "
                                         f"to {shape}") from None
        if np.broadcast_shapes(shape, const.shape) != tuple(shape):
            raise QonnxImportError(node, f"constant of shape {const.shape} grows {shape}")
        moved = np.moveaxis(full, axis, 0).reshape(shape[axis], -1)
        if (moved != moved[:, :1]).any():
            raise QonnxImportError(node, "constant varies along an axis other than the "
                                         "channels")
        return moved[:, 0].copy()

    # --- shapes
    def op_Reshape(self, node, x, shape):
        if not isinstance(shape, Const):
            raise QonnxImportError(node, "the target shape must be a constant")
        target = _reshape_target(node, _shape_of(x), shape.value)
        return self._reshape(node, x, target)

    def op_Flatten(self, node, x):
        axis = _attr(node, "axis", 1)
        shape = _shape_of(x)
        axis = axis + len(shape) if axis < 0 else axis
        return self._reshape(node, x, (int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))))

    def op_Unsqueeze(self, node, x, axes=None):
        shape = list(_shape_of(x))
        for axis in sorted(_axes(node, axes, len(shape) + len(_axes(node, axes, 0)))):
            shape.insert(axis, 1)
        return self._reshape(node, x, tuple(shape))

    def op_Squeeze(self, node, x, axes=None):
        shape = _shape_of(x)
        drop = _axes(node, axes, len(shape)) or [i for i, d in enumerate(shape) if d == 1]
        if any(shape[i] != 1 for i in drop):
            raise QonnxImportError(node, f"cannot squeeze axes {drop} of {shape}")
        return self._reshape(node, x, tuple(d for i, d in enumerate(shape) if i not in drop))

    def _reshape(self, node, x, target):
        if target[0] != 1:
            raise QonnxImportError(node, f"reshape to {target} mixes the batch axis")
        if isinstance(x, Pre):
            return Pre(x.steps + [["reshape", list(target)]], tuple(target))
        if getattr(x, "layout", "NCHW") != "NCHW":
            raise QonnxImportError(node, "a reshape of NHWC values would flatten in (H, W, C) "
                                         "order; transpose back to NCHW first")
        if isinstance(x, Bits):
            if len(target) != 2 and not _same_channels(x.shape, target):
                raise QonnxImportError(node, f"only a flatten to (1, features) is supported on "
                                             f"bits, got {target}")
            return replace(x, shape=tuple(target))
        if isinstance(x, Dot) and _same_channels(x.shape, target):
            return replace(x, shape=tuple(target))
        raise QonnxImportError(node, f"reshape of {_kind(x)} to {target} is not supported")

    # --- quantizers
    def op_BipolarQuant(self, node, x, scale):
        scale = self.scalar(node, scale, "scale")
        if scale == 0:
            raise QonnxImportError(node, "scale 0")
        invert = scale < 0
        if isinstance(x, Pre):
            self.set_input(node, x, {"op": "bipolar", "invert": bool(invert)}, "bits", 1)
            return Bits("input", x.shape, abs(scale))
        if isinstance(x, Dot):
            table = _decide(node, x, lambda values: values >= 0)    # (C, R) per reachable v
            return self.threshold(node, x, table[None] ^ invert, abs(scale), 1, 0.0, 1.0)
        raise QonnxImportError(node, f"BipolarQuant of {_kind(x)} is not supported")

    def op_Quant(self, node, x, scale, zero_point, bitwidth):
        scale = self.scalar(node, scale, "scale")
        zero_point = self.scalar(node, zero_point, "zero point")
        bitwidth = self.scalar(node, bitwidth, "bit width")
        signed, narrow = int(_attr(node, "signed", 1)), int(_attr(node, "narrow", 0))
        rounding = _attr(node, "rounding_mode", "ROUND")
        rounding = rounding.decode() if isinstance(rounding, bytes) else rounding
        if rounding.upper() not in _ROUNDING:
            raise QonnxImportError(node, f"rounding_mode {rounding!r} is not supported")
        if bitwidth != int(bitwidth) or not 2 <= bitwidth <= 8:
            raise QonnxImportError(node, f"bit width {bitwidth} is not supported (2 to 8; "
                                         "1-bit quantizers are BipolarQuant)")
        if zero_point != 0 or scale <= 0:
            raise QonnxImportError(node, f"zero point {zero_point} / scale {scale}: only zero "
                                         "point 0 and a positive scale are supported")
        lo, hi = _int_range(bitwidth, signed, narrow)
        slices = hi - lo
        levels = {"scale": F32(scale), "zero_point": F32(0), "bitwidth": bitwidth,
                  "signed": signed, "narrow": narrow, "rounding": rounding.upper()}
        if isinstance(x, Pre):
            quantizer = {"op": "quant", "scale": float(F32(scale)), "bitwidth": int(bitwidth),
                         "signed": signed, "narrow": narrow, "rounding": rounding.upper(),
                         "lo": lo, "slices": slices if slices <= MAX_SLICES else 0}
            if slices <= MAX_SLICES:        # thermometer bits: binary layers follow
                self.set_input(node, x, quantizer, "bits", slices)
                return Bits("input", x.shape, float(scale), slices, lo + slices / 2, 0.5)
            self.set_input(node, x, quantizer, "int8" if signed else "uint8", 1, (lo, hi))
            return IntIn(x.shape, float(scale))
        if isinstance(x, Dot):
            if slices > MAX_SLICES:
                raise QonnxImportError(node, f"a {int(bitwidth)}-bit activation Quant ({slices} "
                                             f"levels above the lowest) is not supported: only "
                                             f"up to {MAX_SLICES} thermometer slices (2 bits)")
            table = _decide(node, x, lambda values: np.stack(
                [_quant_levels(values, **levels) >= lo + j for j in range(1, slices + 1)]))
            return self.threshold(node, x, table, float(scale), slices, lo + slices / 2, 0.5)
        raise QonnxImportError(node, f"Quant of {_kind(x)} is not supported")

    def scalar(self, node, value, what):
        if not isinstance(value, Const) or value.value.size != 1:
            raise QonnxImportError(node, f"the {what} must be one constant value (per-tensor), "
                                         f"got {_kind(value)}"
                                   + (f" of shape {value.value.shape}" if isinstance(value, Const)
                                      else ""))
        return float(value.value.reshape(()))

    def set_input(self, node, pre, quantizer, kind, slices, value_range=(0, 1)):
        if self.input is not None:
            raise QonnxImportError(node, "a second quantizer on the graph input")
        c, h, w = self.graph_shape[1:]
        self.layer_shapes["input"] = (c * slices, h, w)
        self.input = {"type": kind, "shape": [c * slices, h, w], "range": list(value_range),
                      "conversion": {"input_name": self.input_name,
                                     "graph_shape": list(self.graph_shape),
                                     "model_shape": [c * slices, h, w],
                                     "steps": pre.steps, "quantizer": quantizer}}

    def fix_int_input(self, node, x):
        """Move the integer input's offset into the host conversion (``q + offset``)."""
        if x.offset != int(x.offset):
            raise QonnxImportError(node, f"the integer input's offset {x.offset} is not an "
                                         "integer")
        quantizer = self.input["conversion"]["quantizer"]
        offset = int(x.offset) - quantizer.get("offset", 0)
        if offset:
            if self.input.get("consumed"):
                raise QonnxImportError(node, "the integer input is read with two offsets")
            quantizer["offset"] = int(x.offset)
            self.input["range"] = [v + offset for v in self.input["range"]]
        lo, hi = self.input["range"]
        self.input["type"] = "int8" if -128 <= lo and hi <= 127 else "uint8"
        if not (-128 <= lo and hi <= 127 or 0 <= lo and hi <= 255):
            raise QonnxImportError(node, f"integer input range [{lo}, {hi}] fits neither int8 "
                                         "nor uint8")
        self.input["consumed"] = True

    def check_layout(self, node, x):
        """A convolution or pool reads bnnhw's (C, H, W) layer output as the graph's NCHW
        tensor: they must be the same (a flatten followed by a reshape back is not)."""
        layer = "input" if isinstance(x, IntIn) else x.layer
        slices = x.slices if isinstance(x, Bits) else 1
        want = (x.shape[1] * slices, *x.shape[2:])
        if self.layer_shapes[layer] != want:
            raise QonnxImportError(node, f"the input {tuple(x.shape)} is not laid out as "
                                         f"bnnhw's {self.layer_shapes[layer]} (C, H, W) of "
                                         f"layer {layer!r}")

    def threshold(self, node, dot, table, scale, slices, center, step):
        """Bits ``table[j, c, r]`` (slice j, channel c, reachable value r) as integer
        thresholds: a ``threshold`` layer on popcounts, a unit batchnorm + sign on int8
        accumulators (one slice only)."""
        channels = table.shape[1]
        thresholds, inverts = _integer_thresholds(node, dot, table)
        if dot.kind == "popcount":
            arrays = {"threshold": thresholds[0] if slices == 1 else thresholds,
                      "invert": inverts[0] if slices == 1 else inverts}
            source = self.layer_shapes[dot.layer]
            name = self.add_layer("thr", "threshold", [dot.layer],
                                  {"domain": "dot"} if dot.zero_pad else {}, arrays,
                                  (slices * source[0], *source[1:]))
        else:
            if slices != 1:
                raise QonnxImportError(node, "a multi-level activation on an int8 layer's "
                                             "accumulators is not supported")
            # bit = sign(g * (v - (T - 0.5))) with g = ±1: exact in float64 for integers v
            sign = np.where(inverts[0], -1.0, 1.0)
            source = self.layer_shapes[dot.layer]
            bn = self.add_layer("bn", "batchnorm", [dot.layer], {"eps": 0.0},
                                {"gamma": sign, "beta": np.zeros(channels),
                                 "mean": thresholds[0] - 0.5, "var": np.ones(channels)}, source)
            name = self.add_layer("sign", "sign", [bn], {}, {}, source)
        return Bits(name, dot.shape, scale, slices, center, step, dot.layout)

    def op_MultiThreshold(self, node, x, thresholds):
        """FINN's quantizer: ``out_scale * #{b : x >= T[c, b]} + out_bias``."""
        if not isinstance(thresholds, Const) or thresholds.value.ndim != 2:
            raise QonnxImportError(node, "the thresholds must be a constant (C, B) matrix")
        layout = _attr(node, "data_layout", "NCHW")
        layout = layout.decode() if isinstance(layout, bytes) else layout
        if layout not in ("NC", "NCHW", "NHWC") or (layout == "NHWC") != (
                getattr(x, "layout", "NCHW") == "NHWC"):
            raise QonnxImportError(node, f"data_layout {layout!r} does not match the input's "
                                         f"layout {getattr(x, 'layout', 'NCHW')}")
        out_scale = float(_attr(node, "out_scale", 1.0))
        out_bias = float(_attr(node, "out_bias", 0.0))
        if out_scale <= 0:
            raise QonnxImportError(node, f"out_scale {out_scale}: only a positive scale")
        table_t = thresholds.value.astype(F32)
        steps = table_t.shape[1]
        if isinstance(x, Pre):
            quantizer = {"op": "multithreshold", "thresholds": _as_json(table_t), "lo": 0,
                         "slices": steps if steps <= MAX_SLICES else 0}
            if steps <= MAX_SLICES:
                self.set_input(node, x, quantizer, "bits", steps)
                return Bits("input", x.shape, out_scale, steps, steps / 2 + out_bias / out_scale,
                            0.5)
            self.set_input(node, x, quantizer, "uint8", 1, (0, steps))
            return IntIn(x.shape, out_scale, out_bias / out_scale)
        if isinstance(x, Dot):
            if steps > MAX_SLICES:
                raise QonnxImportError(node, f"{steps} thresholds per channel on activations: "
                                             f"only up to {MAX_SLICES} (2-bit) are supported")
            channels = x.shape[_channel_axis(x)]
            if table_t.shape[0] not in (1, channels):
                raise QonnxImportError(node, f"thresholds {table_t.shape} for {channels} "
                                             "channels")
            ordered = np.sort(np.broadcast_to(table_t, (channels, steps)), axis=1)
            table = _decide(node, x, lambda values: np.stack(
                [values >= ordered[:, j:j + 1] for j in range(steps)]))
            return self.threshold(node, x, table, out_scale, steps,
                                  steps / 2 + out_bias / out_scale, 0.5)
        raise QonnxImportError(node, f"MultiThreshold of {_kind(x)} is not supported")

    def op_XnorPopcountMatMul(self, node, x, weight):
        """FINN's ``(2a - 1) @ (2W - 1)`` on 0/1 values, returned as ``(dot + K) / 2``."""
        if not isinstance(weight, Const) or weight.value.ndim != 2 \
                or not np.isin(weight.value, (0, 1)).all():
            raise QonnxImportError(node, "the weights must be a constant 0/1 matrix [in, out]")
        source = x.source if isinstance(x, Patches) else x
        if not isinstance(source, Bits) or source.slices != 1 \
                or source.scale * source.center != 0.5 or source.scale * source.step != 0.5:
            raise QonnxImportError(node, f"expects 0/1 binary activations, got {_kind(x)}")
        unit = replace(source, scale=1.0, center=0.0, step=1.0)     # as ±1: 2a - 1
        if isinstance(x, Patches):
            dot = self.patches_conv(node, replace(x, source=unit), 2.0 * weight.value - 1)
        else:
            dot = self.dense(node, unit, (2 * weight.value.T - 1).astype(np.float32))
        half = np.full(dot.base_scale.shape, 0.5, F32)
        return replace(dot, base_scale=half, base_offset=half * F32(dot.fan_in))

    # --- FINN's NHWC layout (streamlined graphs)
    def op_Transpose(self, node, x):
        perm = list(_attr(node, "perm", []))
        if not isinstance(x, (Bits, IntIn, Dot)) or len(x.shape) != 4 \
                or (perm, x.layout) not in (([0, 2, 3, 1], "NCHW"), ([0, 3, 1, 2], "NHWC")):
            raise QonnxImportError(node, f"only NCHW <-> NHWC transposes of quantized values or "
                                         f"dot products are supported, got perm {perm} on "
                                         f"{_kind(x)}")
        return replace(x, shape=tuple(x.shape[i] for i in perm),
                       layout="NHWC" if x.layout == "NCHW" else "NCHW")

    def op_Im2Col(self, node, x):
        if not isinstance(x, (Bits, IntIn)) or x.layout != "NHWC":
            raise QonnxImportError(node, f"expects NHWC quantized values, got {_kind(x)}")
        kernel = tuple(_attr(node, "kernel_size"))
        stride = tuple(_attr(node, "stride", [1, 1]))
        if any(_attr(node, "pad_amount", [0, 0, 0, 0])) or _attr(node, "depthwise", 0) \
                or any(d != 1 for d in _attr(node, "dilations", [1, 1])):
            raise QonnxImportError(node, "only Im2Col without padding, dilation or depthwise "
                                         "is supported")
        _, h, w, c = x.shape
        size = [(n - k) // st + 1 for n, k, st in zip((h, w), kernel, stride)]
        return Patches(x, kernel, stride, (1, *size, kernel[0] * kernel[1] * c))

    def op_MaxPoolNHWC(self, node, x):
        if not isinstance(x, Bits) or x.layout != "NHWC":
            raise QonnxImportError(node, f"expects NHWC binary activations, got {_kind(x)}")
        nchw = replace(x, shape=(1, x.shape[3], x.shape[1], x.shape[2]), layout="NCHW")
        pooled = self.op_MaxPool(node, nchw)
        _, c, h, w = pooled.shape
        return replace(pooled, shape=(1, h, w, c), layout="NHWC")

    def patches_conv(self, node, patches, matrix):
        """``MatMul(Im2Col(x), W)``, W [(kh, kw, c), out]: a convolution, NHWC output."""
        source = patches.source
        kh, kw = patches.kernel
        c = source.shape[3]
        if matrix.shape[0] != kh * kw * c:
            raise QonnxImportError(node, f"weights {matrix.shape} do not match patches "
                                         f"{patches.shape}")
        weight = matrix.reshape(kh, kw, c, -1).transpose(3, 2, 0, 1)
        signs, weight_scale = self.signs(node, weight)
        out = weight.shape[0]
        nchw = replace(source, shape=(1, c, *source.shape[1:3]), layout="NCHW")
        self.check_layout(node, nchw)
        attrs = {"out_channels": out, "kernel": [kh, kw], "stride": list(patches.stride),
                 "padding": [0, 0], "groups": 1}
        dot = self.linear(node, nchw, signs, weight_scale, (1, out, *patches.shape[1:3]),
                          "conv2d", "conv", attrs, tile_axis=1)
        return replace(dot, shape=(1, *patches.shape[1:3], out), layout="NHWC")

    # --- layers
    def op_MatMul(self, node, x, weight):
        if not isinstance(weight, Const):
            raise QonnxImportError(node, "the weights (second input) must be constant")
        if weight.value.ndim != 2:
            raise QonnxImportError(node, f"weights of shape {weight.value.shape}, expected 2-D")
        if isinstance(x, Patches):
            return self.patches_conv(node, x, weight.value.astype(np.float64))
        return self.dense(node, x, weight.value.T)

    def op_Gemm(self, node, x, weight, bias=None):
        if not isinstance(weight, Const):
            raise QonnxImportError(node, "the weights (second input) must be constant")
        if _attr(node, "transA", 0) or _attr(node, "alpha", 1.0) != 1.0:
            raise QonnxImportError(node, "only transA=0, alpha=1 are supported")
        if bias is not None and (not isinstance(bias, Const) or bias.value.any()):
            raise QonnxImportError(node, "a bias (input C) is not supported")
        matrix = weight.value if _attr(node, "transB", 0) else weight.value.T
        return self.dense(node, x, matrix)

    def signs(self, node, weight):
        """``weight`` (out, ...) as ``scale[o] * ±1``: (±1 int8 array, scale (out,))."""
        flat = weight.reshape(len(weight), -1).astype(np.float64)
        magnitude = np.abs(flat)
        if (magnitude == 0).any() or (magnitude != magnitude[:, :1]).any():
            raise QonnxImportError(node, "weights are not ±scale (one positive scale per output "
                                         "channel): only binary weights are supported")
        return np.where(weight > 0, 1, -1).astype(np.int8), magnitude[:, 0]

    def dense(self, node, x, matrix):
        signs, weight_scale = self.signs(node, matrix)
        features = matrix.shape[1]
        if not isinstance(x, (Bits, IntIn)) or len(x.shape) != 2 or x.shape[1] != features:
            raise QonnxImportError(node, f"expects flat quantized inputs (1, {features}), got "
                                         f"{_kind(x)} of shape {_shape_of(x)}")
        out = matrix.shape[0]
        return self.linear(node, x, signs, weight_scale, (1, out), "dense", "fc",
                           {"out_features": out}, tile_axis=1)

    def op_Conv(self, node, x, weight, bias=None):
        if not isinstance(weight, Const) or weight.value.ndim != 4:
            raise QonnxImportError(node, "the weights must be a constant OIHW tensor")
        if bias is not None and (not isinstance(bias, Const) or bias.value.any()):
            raise QonnxImportError(node, "a bias is not supported")
        if _attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise QonnxImportError(node, "auto_pad is not supported (give pads)")
        if any(d != 1 for d in _attr(node, "dilations", [1, 1])):
            raise QonnxImportError(node, "dilations other than 1 are not supported")
        kernel = weight.value.shape[2:]
        pads = list(_attr(node, "pads", [0, 0, 0, 0]))
        strides = list(_attr(node, "strides", [1, 1]))
        groups = _attr(node, "group", 1)
        if not isinstance(x, (Bits, IntIn)) or len(x.shape) != 4 or x.layout != "NCHW":
            raise QonnxImportError(node, f"expects quantized NCHW inputs, got {_kind(x)}")
        if pads[:2] != pads[2:]:
            raise QonnxImportError(node, f"asymmetric pads {pads} are not supported")
        zero_pad = any(pads) and isinstance(x, Bits)
        if zero_pad and x.center != 0:
            raise QonnxImportError(node, f"pads {pads}: zero padding of activations whose levels "
                                         f"are not symmetric about 0 (center {x.center}): a "
                                         "padded tap would be no ±1 sum of slices")
        self.check_layout(node, x)
        c = x.shape[1]
        if weight.value.shape[1] * groups != c:
            raise QonnxImportError(node, f"weights {weight.value.shape} with group {groups} do "
                                         f"not match {c} input channels")
        signs, weight_scale = self.signs(node, weight.value)
        out = weight.value.shape[0]
        size = [(n + 2 * p - k) // s + 1 for n, k, s, p in zip(x.shape[2:], kernel, strides,
                                                                 pads[:2])]
        attrs = {"out_channels": out, "kernel": list(kernel), "stride": strides,
                 "padding": pads[:2], "groups": groups}
        if zero_pad:    # a padded tap adds 0: bnnhw's zero padding (docs/numerics.md §4)
            attrs["pad_value"] = 0
        if isinstance(x, Bits) and x.slices > 1 and groups != 1:
            raise QonnxImportError(node, "grouped convolution of multi-level activations is not "
                                         "supported")
        return self.linear(node, x, signs, weight_scale, (1, out, *size), "conv2d", "conv",
                           attrs, tile_axis=1)

    def linear(self, node, x, signs, weight_scale, shape, op, prefix, attrs, tile_axis):
        """A dense / conv layer on ``x`` with weights ``weight_scale[o] * signs``."""
        out = signs.shape[0]
        sums = signs.reshape(out, -1).astype(np.int64).sum(axis=1)
        if isinstance(x, IntIn):
            self.fix_int_input(node, x)
            name = self.add_layer(prefix, op, ["input"], {"precision": "int8", **attrs},
                                  {"weight": signs}, _chw(shape))
            bound = int(np.abs(signs.reshape(out, -1)).sum(axis=1).max()) * 128
            scale = F32(x.scale) * weight_scale.astype(F32)
            return Dot(name, shape, "acc", -bound, bound, 0, scale, np.zeros(out, F32))
        weight = np.concatenate([signs] * x.slices, axis=tile_axis)
        name = self.add_layer(prefix, op, [x.layer], {"precision": "binary", **attrs},
                              {"weight": weight}, _chw(shape))
        scale = F32(x.scale) * weight_scale.astype(F32)
        fan_in = weight[0].size
        # graph value = s * s_w * (center * sum(w) + step * v)
        return Dot(name, shape, "popcount", -fan_in, fan_in, fan_in,
                   (scale * F32(x.step)).astype(F32),
                   (scale * F32(x.center) * sums.astype(F32)).astype(F32),
                   zero_pad=attrs.get("pad_value") == 0)

    def op_BatchNormalization(self, node, x, gamma, beta, mean, var):
        if not isinstance(x, Dot):
            raise QonnxImportError(node, f"a batch norm on {_kind(x)} is not supported (only on "
                                         "a dot product)")
        if x.layout != "NCHW":
            raise QonnxImportError(node, "a batch norm on NHWC values is not supported")
        if _attr(node, "training_mode", 0):
            raise QonnxImportError(node, "training_mode=1 is not supported")
        params = []
        for value, what in ((gamma, "scale"), (beta, "B"), (mean, "mean"), (var, "var")):
            if not isinstance(value, Const):
                raise QonnxImportError(node, f"{what} must be constant")
            params.append(_as_json(self.per_channel(node, value.value.astype(F32).reshape(
                1, -1, *([1] * (len(x.shape) - 2))), x.shape)))
        eps = float(F32(_attr(node, "epsilon", 1e-5)))
        return replace(x, steps=x.steps + [["bn", *params, eps]])

    def op_MaxPool(self, node, x):
        if len(node.output) > 1 and node.output[1]:
            raise QonnxImportError(node, "the Indices output is not supported")
        if not isinstance(x, Bits) or len(x.shape) != 4 or x.layout != "NCHW":
            raise QonnxImportError(node, f"max-pool of {_kind(x)} is not supported (only of "
                                         "quantized NCHW activations)")
        kernel = list(_attr(node, "kernel_shape"))
        strides = list(_attr(node, "strides", [1, 1]))
        if strides != kernel or any(_attr(node, "pads", [0, 0, 0, 0])) \
                or _attr(node, "ceil_mode", 0) or any(d != 1 for d in _attr(node, "dilations",
                                                                            [1, 1])):
            raise QonnxImportError(node, "only stride = kernel, no pads, ceil_mode 0 and "
                                         "dilation 1 are supported")
        self.check_layout(node, x)
        size = [(n - k) // k + 1 for n, k in zip(x.shape[2:], kernel)]
        channels = self.layer_shapes[x.layer][0]
        name = self.add_layer("pool", "maxpool", [x.layer], {"kernel": kernel}, {},
                              (channels, *size))
        return replace(x, layer=name, shape=(1, x.shape[1], *size))

    def op_TopK(self, node, x, k):
        if not isinstance(x, Dot) or not isinstance(k, Const) or k.value.reshape(-1).tolist() \
                != [1] or _attr(node, "largest", 1) != 1 or _attr(node, "axis", -1) not in (
                -1, len(x.shape) - 1) or len(x.shape) != 2:
            raise QonnxImportError(node, "only TopK k=1, largest, on the last axis of the "
                                         "(1, classes) logits is supported")
        return [None, ArgMax(x)]

    def op_ArgMax(self, node, x):
        if not isinstance(x, Dot) or len(x.shape) != 2 or _attr(node, "axis", 0) not in (1, -1) \
                or _attr(node, "select_last_index", 0):
            raise QonnxImportError(node, "only ArgMax on axis 1 of (1, classes) logits, first "
                                         "index on ties, is supported")
        return ArgMax(x)


def _chw(shape):
    """bnnhw's (C, H, W) for the graph's NCHW (1, C, H, W) or dense (1, C) shape."""
    return (shape[1], *shape[2:]) if len(shape) == 4 else (shape[1], 1, 1)


def _axes(node, axes, rank):
    """Squeeze / Unsqueeze axes (attribute before opset 13, constant input after), made
    non-negative for ``rank`` dimensions (``rank`` 0: as given)."""
    if axes is not None and not isinstance(axes, Const):
        raise QonnxImportError(node, "the axes must be constant")
    raw = axes.value.reshape(-1).tolist() if axes is not None else _attr(node, "axes", [])
    return [a + rank if a < 0 and rank else a for a in (int(a) for a in raw)]


def _same_channels(shape, target):
    """Only size-1 axes added or removed, the channel axis (1) kept in place."""
    return (_squeezed(shape) == _squeezed(target) and len(shape) >= 2 and len(target) >= 2
            and shape[1] == target[1])


def import_onnx(path, name=None):
    """The validated bnnhw :class:`~bnnhw.model.Model` of the QONNX file ``path``; its meta
    holds the source, the input conversion and the output tail (docs/import.md)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise QonnxImportError(None, f"{path}: {error.strerror}") from None
    proto = _load_onnx(path)
    name = name or re.sub(r"[^A-Za-z0-9_-]", "_", path.stem) or "imported"
    importer = _Importer(proto, name)
    tail, output = importer.run()
    ops = [(n.domain + "::" if n.domain else "") + n.op_type for n in proto.graph.node]
    meta = {"importer": "bnnhw.importers.qonnx",
            "source": {"file": path.name, "sha256": hashlib.sha256(data).hexdigest(),
                       "ops": ops},
            "qonnx": {"input": importer.input["conversion"], "output": tail}}
    graph = {"format": FORMAT, "version": VERSION, "name": name,
             "input": {k: importer.input[k] for k in ("shape", "type", "range")},
             "layers": importer.layers, "output": output, "meta": meta}
    return Model.from_dict(graph, importer.arrays)
