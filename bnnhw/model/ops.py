"""The layer ops of the model format: their attributes, parameter arrays and output types.

Each ``infer_<op>(check, inputs) -> TensorType`` reads a layer through a :class:`LayerCheck`,
validates every field, and returns the type of the layer's output. docs/model-format.md is the
user-facing description of the same table.
"""

import numpy as np

from ..golden import ZERO_PADDED_XNOR
from .types import INT8_RANGE, TensorType, channel_dots, popcount_detail

__all__ = ["OPS", "ARITY"]

INT8_IN = (-128, 127)
INT16 = (-(1 << 15), (1 << 15) - 1)
INT32 = (-(1 << 31), (1 << 31) - 1)


def _require(check, value, kinds, sources=None, what=None):
    ok = value.kind in kinds and (sources is None or value.source in sources)
    if not ok:
        wanted = what or " or ".join(kinds)
        check.fail("inputs", f"expects {wanted}, got {value.describe()}"
                   + (f" from {value.source}" if value.source else ""))


def _not_fixed(check, x):
    """PA-Net sums are reals (fixed point once compiled), not int8 data."""
    if x.source == "fixed":
        check.fail("inputs", "expects int8 data, got PA-Net sums (reals, fixed point in "
                             "hardware); follow them with a batchnorm and a sign or pa_bases")


def _conv_geometry(check, x, kernel, stride, padding, groups, in_channels, out_channels):
    if in_channels % groups or out_channels % groups:
        check.fail("groups", f"{groups} must divide input ({in_channels}) and output "
                             f"({out_channels}) channels")
    sizes = []
    for axis, (size, k, s, p) in enumerate(zip(x.shape[1:], kernel, stride, padding)):
        if k > size + 2 * p:
            check.fail("kernel", f"{k} does not fit the padded input ({size} + 2*{p})")
        sizes.append((size + 2 * p - k) // s + 1)
    return tuple(sizes)


def _binary_weight(check, op, shape):
    return check.pm1_array("weight", shape) if op == "xnor" else check.bit_array("weight", shape)


def infer_conv2d(check, inputs):
    """Binary (XNOR/AND popcount) or int8 2-D convolution."""
    (x,) = inputs
    precision = check.choice_attr("precision", ("binary", "int8"))
    out_channels = check.int_attr("out_channels", lo=1)
    kernel = check.pair_attr("kernel", lo=1)
    stride = check.pair_attr("stride", 1, lo=1)
    padding = check.pair_attr("padding", 0, lo=0)
    groups = check.int_attr("groups", 1, lo=1)
    size = _conv_geometry(check, x, kernel, stride, padding, groups, x.channels, out_channels)
    shape = (out_channels, x.channels // groups, *kernel)
    fan_in = shape[1] * kernel[0] * kernel[1]
    if precision == "binary":
        _require(check, x, ("bits",), what="bits (a binary feature map)")
        op = check.choice_attr("dot", ("xnor", "and"), "xnor")
        pad_value = None
        if max(padding) > 0 or "pad_value" in check.attrs:
            # required with a border; accepted (and without effect) when there is none
            pad_value = check.choice_attr("pad_value", (1, -1, 0))
            if isinstance(pad_value, bool) or not isinstance(pad_value, int):
                check.fail("pad_value", f"expected one of [1, -1, 0], got {pad_value!r}")
        clip = check.int_attr("clip", None, lo=1)
        if clip is not None and op != "xnor":
            check.fail("clip", "the saturating accumulator applies to XNOR layers only")
        _binary_weight(check, op, shape)
        if pad_value == 0 and op == "xnor" and max(padding) > 0:
            # zero padding: the zero-padded count u = v + N in [0, 2N] (numerics §4)
            return TensorType("int", (out_channels, *size), 0, 2 * fan_in, "popcount",
                              detail={"fan_in": 2 * fan_in, "op": ZERO_PADDED_XNOR,
                                      "clip": clip})
        return TensorType("int", (out_channels, *size), 0, fan_in, "popcount",
                          detail={"fan_in": fan_in, "op": op, "clip": clip})
    _require(check, x, ("int",), what="integers (int8 data)")
    _not_fixed(check, x)
    if x.lo < INT8_IN[0] or x.hi > INT8_IN[1]:
        check.fail("inputs", f"int8 convolution needs inputs in {list(INT8_IN)}, "
                             f"got {x.describe()}")
    weight = check.int_array("weight", shape, *INT8_IN)
    bias = check.int_array("bias", (out_channels,), *INT32, optional=True)
    bias = np.zeros(out_channels, np.int64) if bias is None else bias
    bound = _accumulator_bound(check, np.abs(weight.reshape(out_channels, -1)).sum(axis=1)
                               * 128, bias, "output channel")
    return TensorType("int", (out_channels, *size), -int(bound.max()), int(bound.max()), "acc")


def _accumulator_bound(check, products, bias, what):
    """``|sum w*x| + |bias|`` per output (``products``: the weights' part); a
    :class:`ModelError` on ``weight`` when the weights alone can overflow the int32
    accumulator, on ``bias`` when the bias is what pushes it over."""
    bound = products + np.abs(bias)
    if bound.max() > INT32[1]:
        index = int(bound.argmax())
        field = "weight" if products[index] > INT32[1] else "bias"
        check.fail(field, f"{what} {index} can overflow the int32 accumulator (|weights| x 128 "
                          f"= {int(products[index])}, |bias| = {int(abs(bias[index]))}, sum > "
                          f"{INT32[1]})")
    return bound


def infer_dense(check, inputs):
    """Binary or int8 dense layer on the flattened (C, H, W) input, NCHW order."""
    (x,) = inputs
    precision = check.choice_attr("precision", ("binary", "int8"))
    out_features = check.int_attr("out_features", lo=1)
    shape = (out_features, x.features)
    if precision == "binary":
        _require(check, x, ("bits",), what="bits (a binary feature map)")
        op = check.choice_attr("dot", ("xnor", "and"), "xnor")
        clip = check.int_attr("clip", None, lo=1)
        if clip is not None and op != "xnor":
            check.fail("clip", "the saturating accumulator applies to XNOR layers only")
        _binary_weight(check, op, shape)
        return TensorType("int", (out_features, 1, 1), 0, x.features, "popcount",
                          detail={"fan_in": x.features, "op": op, "clip": clip})
    _require(check, x, ("int",), what="integers (int8 data)")
    _not_fixed(check, x)
    if x.lo < INT8_IN[0] or x.hi > INT8_IN[1]:
        check.fail("inputs", f"int8 dense needs inputs in {list(INT8_IN)}, got {x.describe()}")
    weight = check.int_array("weight", shape, *INT8_IN)
    bias = check.int_array("bias", (out_features,), *INT32, optional=True)
    bias = np.zeros(out_features, np.int64) if bias is None else bias
    bound = _accumulator_bound(check, np.abs(weight).sum(axis=1) * 128, bias, "output")
    return TensorType("int", (out_features, 1, 1), -int(bound.max()), int(bound.max()), "acc")


def infer_batchnorm(check, inputs):
    """Float batch norm on integer accumulators; only a sign or PA-Net bases may follow."""
    (x,) = inputs
    _require(check, x, ("int",), what="integers (popcounts or accumulators)")
    c = x.channels
    eps = check.float_attr("eps", lo=0.0)          # required: no default
    for key in ("gamma", "beta", "mean"):
        check.channel_vector(key, c)
    var = check.channel_vector("var", c)
    if (var < 0).any():
        check.fail("var", f"variance must be >= 0, found {var[var < 0][0]!r} in channel "
                          f"{int(np.argmax(var < 0))}")
    if (var + eps == 0).any():
        check.fail("var", f"var + eps is 0 in channel {int(np.argmax(var + eps == 0))}: the "
                          "batch norm scale gamma / sqrt(var + eps) is undefined")
    return TensorType("real", x.shape, source="bn", detail={"input": x})


def infer_sign(check, inputs):
    """Sign (bit = value >= 0); with ``biases``, BoolNet's k-slice sign (slice-major output)."""
    (x,) = inputs
    _require(check, x, ("real", "int"), what="a batch norm output or integers")
    biases = check.float_list_attr("biases", None)
    k = check.int_attr("k", None, lo=1)
    if k is not None and biases is not None and k != len(biases):
        check.fail("biases", f"k={k} slices need {k} biases, got {len(biases)}")
    if k is not None and biases is None and k != 1:
        check.fail("biases", f"k={k} slices need {k} biases, got none")
    slices = 1 if biases is None else len(biases)
    c, h, w = x.shape
    return TensorType("bits", (slices * c, h, w), bases=slices)


def infer_threshold(check, inputs):
    """Already-folded integer thresholds (as other tools export them) on popcounts."""
    (x,) = inputs
    _require(check, x, ("int",), ("popcount",), what="popcounts of a binary layer")
    threshold = check.int_array("threshold")
    if threshold.ndim not in (1, 2) or threshold.shape[-1] != x.channels:
        check.fail("threshold", f"expected shape ({x.channels},) or (k, {x.channels}), got "
                                f"{threshold.shape}")
    check.bool_array("invert", threshold.shape, optional=True)
    domain = check.choice_attr("domain", ("popcount", "dot"), "popcount")
    if domain == "popcount" and any(d[1] == ZERO_PADDED_XNOR for d in channel_dots(x)):
        check.fail("domain", "a zero-padded XNOR convolution has no popcount (a border tap "
                             "adds 0, its integers are the dot value plus N); threshold its dot "
                             "value: domain \"dot\"")
    k = 1 if threshold.ndim == 1 else threshold.shape[0]
    c, h, w = x.shape
    return TensorType("bits", (k * c, h, w), bases=k)


def infer_requantize(check, inputs):
    """int32 accumulator to int8 by a positive real per-channel ``scale``."""
    (x,) = inputs
    _require(check, x, ("int",), ("acc",), what="an int8 layer's accumulator")
    scale = check.channel_vector("scale", x.channels)
    if (scale <= 0).any():
        check.fail("scale", f"must be > 0, found {scale[scale <= 0][0]!r}")
    return TensorType("int", x.shape, *INT8_RANGE, "int8")


def infer_quantized_bn(check, inputs):
    """ResNet-style 8-bit batch norm on a clipped XNOR accumulator."""
    (x,) = inputs
    _require(check, x, ("int",), ("popcount",), what="popcounts of a binary layer")
    if "channel_dots" in x.detail:
        check.fail("inputs", "quantized batch norm needs the popcounts of one binary layer (one "
                             "fan-in, dot and clip); this input concatenates layers that differ")
    if x.detail.get("op") not in ("xnor", ZERO_PADDED_XNOR) or x.detail.get("clip") is None \
            or x.detail["clip"] > INT8_RANGE[1]:
        check.fail("inputs", "quantized batch norm needs an XNOR layer with clip <= 127")
    check.int_attr("frac_bits", lo=0, hi=15)
    check.channel_vector("scale", x.channels, "int", lo=INT16[0], hi=INT16[1])
    check.channel_vector("bias", x.channels, "int", lo=INT16[0], hi=INT16[1])
    return TensorType("int", x.shape, *INT8_RANGE, "int8")


def _int8_input(check, x):
    _require(check, x, ("int",), what="int8 data")
    _not_fixed(check, x)
    if x.lo < INT8_IN[0] or x.hi > INT8_IN[1]:
        check.fail("inputs", f"needs int8 data, got {x.describe()}")


def infer_dprelu(check, inputs):
    """PokeBNN DPReLU on int8 data (real slopes, int8 shifts)."""
    (x,) = inputs
    _int8_input(check, x)
    c = x.channels
    check.channel_vector("alpha", c, "int", lo=INT8_IN[0], hi=INT8_IN[1])
    check.channel_vector("beta", c, "int", lo=INT8_IN[0], hi=INT8_IN[1])
    for key in ("eta", "gamma"):
        slope = check.channel_vector(key, c)
        if (np.abs(slope) >= 128).any():
            check.fail(key, "slopes must satisfy |slope| < 128 (int16 with >= 8 fraction bits)")
    return TensorType("int", x.shape, *INT8_RANGE, "int8")


def infer_add(check, inputs):
    """Saturating add of two symmetric 8-bit tensors of one shape (operands in [-127, 127])."""
    x, r = inputs
    for value in (x, r):
        _require(check, value, ("int",), what="int8 data")
        _not_fixed(check, value)
        if value.lo < INT8_RANGE[0] or value.hi > INT8_RANGE[1]:
            hint = " (declare input.range within [-127, 127])" if value.source == "input" else ""
            check.fail("inputs", f"add needs operands in {list(INT8_RANGE)}, got "
                                 f"{value.describe()}{hint}")
    if x.shape != r.shape:
        check.fail("inputs", f"shapes differ: {x.shape} and {r.shape}")
    return TensorType("int", x.shape, *INT8_RANGE, "int8")


def infer_maxpool(check, inputs):
    """Max-pool of bits (OR over each window), no padding."""
    (x,) = inputs
    _require(check, x, ("bits",))
    kernel = check.pair_attr("kernel", lo=1)
    stride = check.pair_attr("stride", check.attrs.get("kernel"), lo=1)
    if kernel[0] > x.shape[1] or kernel[1] > x.shape[2]:
        check.fail("kernel", f"{kernel} is larger than the input {x.shape[1:]}")
    size = tuple((n - k) // s + 1 for n, k, s in zip(x.shape[1:], kernel, stride))
    return TensorType("bits", (x.channels, *size), bases=x.bases)


def infer_global_pool(check, inputs):
    """Global popcount pooling of bits: ones per channel over all positions."""
    (x,) = inputs
    _require(check, x, ("bits",))
    return TensorType("int", (x.channels, 1, 1), 0, x.shape[1] * x.shape[2], "count")


def infer_slice(check, inputs):
    """Channels ``start:stop`` of the input (one branch of a split)."""
    (x,) = inputs
    start = check.int_attr("start", lo=0)
    stop = check.int_attr("stop", lo=1)
    if not start < stop <= x.channels:
        check.fail("stop", f"expected start < stop <= {x.channels}, got {start}:{stop}")
    detail = x.detail
    if x.source == "popcount":
        dots = channel_dots(x)[start:stop]
        detail = popcount_detail(dots)
        return TensorType(x.kind, (stop - start, *x.shape[1:]), 0, max(d[0] for d in dots),
                          x.source, 1, detail)
    return TensorType(x.kind, (stop - start, *x.shape[1:]), x.lo, x.hi, x.source, 1, detail)


def infer_concat(check, inputs):
    """Channel concatenation, in input order, of tensors of one kind and spatial size."""
    first = inputs[0]
    for other in inputs[1:]:
        if other.kind != first.kind or other.shape[1:] != first.shape[1:]:
            check.fail("inputs", f"cannot concatenate {first.describe()} and "
                                 f"{other.describe()}")
    channels = sum(t.channels for t in inputs)
    for unit in ("popcount", "fixed"):
        if any(t.source == unit for t in inputs) and any(t.source != unit for t in inputs):
            other = next(t for t in inputs if t.source != unit)
            what = {"popcount": "binary-layer popcounts", "fixed": "PA-Net sums"}[unit]
            check.fail("inputs", f"cannot concatenate {what} with {other.describe()}"
                                 + (f" from {other.source}" if other.source else "")
                                 + ": a batch norm or sign after it would mix units")
    if first.source == "popcount":
        dots = [d for t in inputs for d in channel_dots(t)]
        return TensorType("int", (channels, *first.shape[1:]), 0, max(d[0] for d in dots),
                          "popcount", detail=popcount_detail(dots))
    return TensorType(first.kind, (channels, *first.shape[1:]), min(t.lo for t in inputs),
                      max(t.hi for t in inputs), first.source)


def infer_shuffle(check, inputs):
    """ShuffleNet channel shuffle with ``groups`` groups."""
    (x,) = inputs
    groups = check.int_attr("groups", lo=1)
    if x.channels % groups:
        check.fail("groups", f"{groups} does not divide {x.channels} channels")
    detail = x.detail
    if x.source == "popcount":
        dots = channel_dots(x)
        detail = popcount_detail(dots[int(i)] for i in
                                 (np.arange(x.channels) % groups) * (x.channels // groups)
                                 + np.arange(x.channels) // groups)
    return TensorType(x.kind, x.shape, x.lo, x.hi, x.source, 1, detail)


def infer_pa_bases(check, inputs):
    """PA-Net activation bases: N piece indicators per channel, base-major channels."""
    (x,) = inputs
    _require(check, x, ("real", "int"), what="a batch norm output or integers")
    endpoints = check.float_array("endpoints")
    if endpoints.ndim != 1 or endpoints.size < 1:
        check.fail("endpoints", f"expected a non-empty vector, got shape {endpoints.shape}")
    if (np.diff(endpoints) <= 0).any():
        check.fail("endpoints", "must be strictly increasing")
    n = endpoints.size
    c, h, w = x.shape
    return TensorType("bits", (n * c, h, w), bases=n)


def infer_panet_conv2d(check, inputs):
    """PA-Net multi-base convolution on N activation bases with M weight bases."""
    (x,) = inputs
    _require(check, x, ("bits",), what="PA-Net activation bases")
    n = x.bases
    channels = x.channels // n
    out_channels = check.int_attr("out_channels", lo=1)
    kernel = check.pair_attr("kernel", lo=1)
    stride = check.pair_attr("stride", 1, lo=1)
    padding = check.pair_attr("padding", 0, lo=0)
    groups = check.int_attr("groups", 1, lo=1)
    size = _conv_geometry(check, TensorType("bits", (channels, *x.shape[1:])), kernel, stride,
                          padding, groups, channels, out_channels)
    bases = check.bit_array("weight_bases")
    if bases.ndim != 5 or bases.shape[1:] != (out_channels, channels // groups, *kernel):
        check.fail("weight_bases", f"expected shape (M, {out_channels}, {channels // groups}, "
                                   f"{kernel[0]}, {kernel[1]}), got {bases.shape}")
    m = bases.shape[0]
    phi = check.float_array("phi", (m, n))
    fan_in = channels // groups * kernel[0] * kernel[1]
    bound = int(np.ceil(np.abs(phi).sum() * fan_in))
    return TensorType("int", (out_channels, *size), -bound, bound, source="fixed",
                      detail={"fan_in": fan_in, "weight_bases": m, "activation_bases": n})


#: op name -> inference function.
OPS = {
    "conv2d": infer_conv2d, "dense": infer_dense, "batchnorm": infer_batchnorm,
    "sign": infer_sign, "threshold": infer_threshold, "requantize": infer_requantize,
    "quantized_bn": infer_quantized_bn, "dprelu": infer_dprelu, "add": infer_add,
    "maxpool": infer_maxpool, "global_pool": infer_global_pool, "slice": infer_slice,
    "concat": infer_concat, "shuffle": infer_shuffle, "pa_bases": infer_pa_bases,
    "panet_conv2d": infer_panet_conv2d,
}

#: op name -> (min inputs, max inputs); None is unbounded.
ARITY = {op: (1, 1) for op in OPS}
ARITY.update({"add": (2, 2), "concat": (2, None)})
