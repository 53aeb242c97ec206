"""Lower a validated model to integer-only layers (:class:`bnnhw.golden.IntLayer`).

Batch norms fold into the thresholds (or PA-Net endpoints) of the sign that follows them, real
scales become fixed point (:mod:`.quantize`), and full channel permutations feeding ungrouped
layers fold into those layers' weights. Every folded number comes from the golden rules, so
``bnnhw.golden.run`` on the result is what the hardware computes.
"""

from dataclasses import dataclass, field

import numpy as np

from .. import golden
from ..golden import IntLayer
from ..model import ModelError
from .quantize import (ConversionError, dprelu_disagreements, fixed_point, requant_disagreements,
                       requant_params)

__all__ = ["CompiledNetwork", "Value", "first_outside", "lower", "value_dots"]


@dataclass(frozen=True)
class Value:
    """A compiled tensor: integers in ``[lo, hi]`` (units of ``2**-frac_bits``) or bits.

    ``fan_in``, ``dot`` and ``clip`` are set for popcounts of a binary layer (for the counts of a
    zero-padded XNOR convolution ``dot`` is ``golden.ZERO_PADDED_XNOR`` and ``fan_in`` their top
    ``2N``). A concatenation of
    several binary layers' popcounts that differ in them keeps each channel's own in ``dots``
    (``((fan_in, dot, clip), ...)`` per channel); ``fan_in`` is then the largest, ``dot`` is
    ``"mixed"``. :func:`value_dots` gives the per-channel view of either form.
    """

    kind: str
    shape: tuple
    lo: int = 0
    hi: int = 1
    frac_bits: int = 0
    fan_in: int = 0
    dot: str = ""
    clip: int = None
    dots: tuple = None

    @property
    def is_popcount(self):
        return self.fan_in > 0


def value_dots(value):
    """``((fan_in, dot, clip), ...)`` per channel of a popcount :class:`Value`."""
    if value.dots is not None:
        return value.dots
    return ((value.fan_in, value.dot, value.clip),) * value.shape[0]


def _popcount_value(shape, dots):
    dots = tuple(dots)
    top = max(d[0] for d in dots)
    if len(set(dots)) == 1:
        fan_in, dot, clip = dots[0]
        return Value("int", shape, 0, top, fan_in=fan_in, dot=dot, clip=clip)
    return Value("int", shape, 0, top, fan_in=top, dot="mixed", dots=dots)


def _dot_groups(value):
    """``[(channel indices, fan_in, dot, clip)]``: the channels of a popcount value that share
    one binary layer's dot value, in first-appearance order."""
    groups = {}
    for channel, dot in enumerate(value_dots(value)):
        groups.setdefault(dot, []).append(channel)
    return [(np.asarray(channels), *dot) for dot, channels in groups.items()]


def first_outside(x, lo, hi):
    """``(index, value, count)`` of the first element of ``x`` outside ``[lo, hi]``, or None.

    ``x`` is an array of any integer dtype, bool (0 / 1) or integral floats; it is compared
    as it is, never converted first, so an unsigned value beyond int64 is reported as itself
    (``value`` is a Python int: ``2**64 - 1``, not ``-1``). The one range rule of the model's
    input: :meth:`CompiledNetwork.check_inputs` and ``bnnhw.sim.inputs`` (``--inputs``) use it.
    """
    x = np.asarray(x)
    if x.dtype == bool:
        x = x.astype(np.uint8)
    bad = (x < lo) | (x > hi)
    if not bad.any():
        return None
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return index, int(x[index]), int(bad.sum())


@dataclass(frozen=True)
class CompiledNetwork:
    """Integer layers in execution order, ``values`` per layer, and conversion ``notes``."""

    name: str
    input_shape: tuple
    layers: tuple
    output: str
    values: dict
    notes: dict = field(default_factory=dict)

    @property
    def layer(self):
        return {layer.name: layer for layer in self.layers}

    @property
    def output_frac_bits(self):
        """Fractional bits ``F`` of the integer logits (non-zero for a PA-Net output layer)."""
        return int(self.values[self.output].frac_bits)

    @property
    def output_scale(self):
        """The model's value of one unit of the integer logits, ``2**-F`` (1.0 unless the output
        is a PA-Net sum): ``run(x) * output_scale`` is in the model's units, the argmax is the
        same either way."""
        return 2.0 ** -self.output_frac_bits

    def logits(self, x):
        """Output of ``run`` in the model's units (float64): integer logits * ``output_scale``."""
        return np.asarray(self.run(x), np.float64) * self.output_scale

    def check_inputs(self, x):
        """Raise ValueError (message starting ``inputs:``) unless ``x`` is a batch ``(B, C, H,
        W)`` of integers within the model's declared input type and range.

        Any integer dtype (compared exactly: a uint64 ``2**64 - 1`` is that value, never -1),
        bool (0 / 1) or integral floats; the rule :func:`first_outside` also serves
        ``bnnhw.sim.inputs`` (``--inputs``)."""
        x = np.asarray(x)
        value = self.values["input"]
        if x.ndim != 4 or tuple(x.shape[1:]) != tuple(value.shape):
            raise ValueError(f"inputs: expected shape (B, {', '.join(map(str, value.shape))}), "
                             f"got {x.shape}")
        if x.dtype != bool and not np.issubdtype(x.dtype, np.integer):
            if not (np.issubdtype(x.dtype, np.floating) and np.isfinite(x).all()
                    and (x == np.round(x)).all()):
                raise ValueError(f"inputs: expected integers, got dtype {x.dtype}")
        found = first_outside(x, value.lo, value.hi)
        if found is not None:
            bad, number, _ = found
            raise ValueError(f"inputs: value {number} at {bad} is outside the declared range "
                             f"[{value.lo}, {value.hi}]")

    def run(self, x, *, keep=False):
        """``golden.run`` on a batch of images ``(B, C, H, W)``."""
        return golden.run(self.layers, x, keep=keep)

    def classify(self, x):
        return golden.classify(self.layers, x)


class _Lowering:
    def __init__(self, model):
        self.model = model
        self.layers = []
        self.values = {}
        self.notes = {}
        self.produced = {"input": "input"}   # model layer -> compiled value name
        self.pending_bn = {}                 # model batchnorm layer -> (a, b, source value)
        input_type = model.types["input"]
        self.values["input"] = Value(input_type.kind, input_type.shape, input_type.lo,
                                     input_type.hi)

    def emit(self, name, op, inputs, params, value):
        self.layers.append(IntLayer(name, op, tuple(inputs), params))
        self.values[name] = value
        return name

    def note(self, layer, text):
        self.notes.setdefault(layer, []).append(text)

    def source(self, layer, index=0):
        return self.produced[layer.inputs[index]]


def _fail_from(layer_name, error):
    field_name, _, message = str(error).partition(": ")
    raise ModelError(layer_name, field_name, message) from None


def _spatial(shape):
    return tuple(shape[1:])


def _conv(low, layer, out_type):
    a = layer.attrs
    x = low.source(layer)
    stride = a.get("stride", 1)
    padding = a.get("padding", 0)
    groups = a.get("groups", 1)
    if a["precision"] == "binary":
        dot = a.get("dot", "xnor")
        weight = np.asarray(layer.params["weight"])
        bits = golden.pm1_to_bits(weight) if dot == "xnor" else weight.astype(np.uint8)
        # the model's dot kind: "xnor", "and", or zero-padded XNOR counts (fan_in = 2N)
        fan_in = out_type.hi
        value = Value("int", out_type.shape, 0, fan_in, fan_in=fan_in,
                      dot=out_type.detail["op"], clip=a.get("clip"))
        if layer.op == "dense":
            return low.emit(layer.name, "binary_dense", [x], {"weight": bits, "dot": dot}, value)
        return low.emit(layer.name, "binary_conv2d", [x], {
            "weight": bits, "stride": stride, "padding": padding,
            "pad_value": a.get("pad_value", 1), "groups": groups, "dot": dot}, value)
    weight = np.asarray(layer.params["weight"]).astype(np.int64)
    bias = layer.params.get("bias")
    bias = np.zeros(weight.shape[0], np.int64) if bias is None else np.asarray(bias, np.int64)
    value = Value("int", out_type.shape, out_type.lo, out_type.hi)
    if layer.op == "dense":
        return low.emit(layer.name, "int8_dense", [x], {"weight": weight, "bias": bias}, value)
    return low.emit(layer.name, "int8_conv2d", [x], {
        "weight": weight, "bias": bias, "stride": stride, "padding": padding,
        "groups": groups}, value)


def _batchnorm(low, layer, out_type):
    p = layer.params
    try:
        a, b = golden.bn_affine(p["gamma"], p["beta"], p["mean"], p["var"], layer.attrs["eps"])
    except ValueError as error:
        _fail_from(layer.name, error)
    low.pending_bn[layer.name] = (a, b, low.source(layer))


def _affine_input(low, layer):
    """``(a, b, value name, bn layer name)`` of the rule feeding a sign or PA-Net bases."""
    source = layer.inputs[0]
    if source in low.pending_bn:
        a, b, x = low.pending_bn[source]
        return a, b, x, source
    x = low.produced[source]
    channels = low.values[x].shape[0]
    return np.ones(channels), np.zeros(channels), x, None


def _fold(low, a, b, x, bias):
    """SignThreshold (over ``x - offset``) and offset for ``((a*v + b) + bias) >= 0``."""
    value = low.values[x]
    if value.is_popcount:
        a, b = np.broadcast_to(a, value.shape[:1]), np.broadcast_to(b, value.shape[:1])
        threshold = np.zeros(value.shape[0], np.int64)
        invert = np.zeros(value.shape[0], bool)
        for channels, fan_in, dot, clip in _dot_groups(value):
            folded = golden.fold_sign_threshold(a[channels], b[channels], fan_in=fan_in, op=dot,
                                                clip=clip, bias=bias)
            threshold[channels], invert[channels] = folded.threshold, folded.invert
        return golden.SignThreshold(threshold, invert, value.fan_in), 0
    # v = raw * 2**-F; scaling a by a power of two is exact, so the rule is unchanged
    scaled = a * 2.0 ** -value.frac_bits
    # a one-value range (input range [v, v], an all-zero int8 layer) folds over [v, v + 1]:
    # x - v is always 0, so only the rule at v matters
    hi = max(value.hi, value.lo + 1)
    return golden.fold_sign_range(scaled, b, lo=value.lo, hi=hi, bias=bias), value.lo


def _stack(folds):
    return golden.SignThreshold(np.stack([f.threshold for f in folds]),
                                np.stack([f.invert for f in folds]), folds[0].fan_in)


def _sign(low, layer, out_type):
    a, b, x, _ = _affine_input(low, layer)
    biases = layer.attrs.get("biases")
    if biases is None:
        thresholds, offset = _fold(low, a, b, x, 0.0)
    else:
        folds = [_fold(low, a, b, x, bias) for bias in biases]
        thresholds, offset = _stack([f for f, _ in folds]), folds[0][1]
    return low.emit(layer.name, "threshold", [x], {"thresholds": thresholds, "offset": offset},
                    Value("bits", out_type.shape))


def _threshold(low, layer, out_type):
    x = low.source(layer)
    value = low.values[x]
    threshold = np.asarray(layer.params["threshold"], np.int64)
    invert = layer.params.get("invert")
    invert = np.zeros(threshold.shape, bool) if invert is None else np.asarray(invert)
    threshold = threshold.reshape(-1, value.shape[0])
    invert = invert.reshape(threshold.shape)
    canonical = np.zeros(threshold.shape, np.int64)
    flags = np.zeros(threshold.shape, bool)
    for channels, fan_in, dot, clip in _dot_groups(value):
        # "dot": the threshold is on what a batch norm would see (numerics §5): the clipped
        # 2p - N of an XNOR layer, p of an AND layer; "popcount": on p itself
        if layer.attrs.get("domain", "popcount") == "dot":
            points = golden.dot_values(fan_in, op=dot, clip=clip)
        else:
            points = np.arange(fan_in + 1)
        rows = threshold[:, channels].reshape(-1, 1)
        table = (points[None, :] >= rows) != invert[:, channels].reshape(-1, 1)
        t, f = golden.fold_table(table)
        canonical[:, channels] = t.reshape(len(threshold), -1)
        flags[:, channels] = f.reshape(len(threshold), -1)
    shape = np.shape(layer.params["threshold"])
    thresholds = golden.SignThreshold(canonical.reshape(shape), flags.reshape(shape),
                                      value.fan_in)
    return low.emit(layer.name, "threshold", [x], {"thresholds": thresholds, "offset": 0},
                    Value("bits", out_type.shape))


def _requantize(low, layer, out_type):
    try:
        multiplier, shift, error = requant_params(layer.params["scale"])
    except ConversionError as error:
        _fail_from(layer.name, error)
    value = low.values[low.source(layer)]
    differ, example = requant_disagreements(layer.params["scale"], multiplier, shift, value.lo,
                                            value.hi)
    low.note(layer.name, f"requantize: shift {shift}, scale relative error <= {error:.3g}; "
                         + _agreement(differ, example, "accumulator", "acc",
                                      "clip(round_half_up(acc*scale))"))
    return low.emit(layer.name, "requantize", [low.source(layer)],
                    {"multiplier": multiplier, "shift": shift},
                    Value("int", out_type.shape, out_type.lo, out_type.hi))


def _clipped(low, x):
    name = f"{x}.clip"
    if name not in low.values:
        value = low.values[x]
        params = {"bound": value.clip, "fan_in": value.fan_in}
        if value.dot == golden.ZERO_PADDED_XNOR:
            params["dot"] = value.dot   # clip(u - N, -B, B) of zero-padded counts
        low.emit(name, "clip", [x], params, Value("int", value.shape, -value.clip, value.clip))
    return name


def _quantized_bn(low, layer, out_type):
    p = layer.params
    return low.emit(layer.name, "quantized_bn", [_clipped(low, low.source(layer))], {
        "scale": np.asarray(p["scale"], np.int64), "bias": np.asarray(p["bias"], np.int64),
        "frac_bits": layer.attrs["frac_bits"]},
        Value("int", out_type.shape, out_type.lo, out_type.hi))


def _dprelu(low, layer, out_type):
    p = layer.params
    channels = out_type.shape[0]
    slopes = np.concatenate([p["eta"], p["gamma"]]).astype(np.float64)
    raw, frac_bits, error = fixed_point(slopes, bits=16)
    value = low.values[low.source(layer)]
    differ, example = dprelu_disagreements(p["alpha"], p["beta"], p["eta"], p["gamma"],
                                           raw[:channels], raw[channels:], frac_bits, value.lo,
                                           value.hi)
    low.note(layer.name, f"dprelu: {frac_bits} fraction bits, slope error <= {error:.3g}; "
                         + _agreement(differ, example, "input", "x",
                                      "DPReLU with its real slopes"))
    return low.emit(layer.name, "dprelu", [low.source(layer)], {
        "alpha": np.asarray(p["alpha"], np.int64), "beta": np.asarray(p["beta"], np.int64),
        "eta": raw[:channels], "gamma": raw[channels:], "frac_bits": frac_bits},
        Value("int", out_type.shape, out_type.lo, out_type.hi))


def _agreement(differ, example, what, symbol, rule):
    """The note's verdict on a fixed-point conversion, checked over every reachable value."""
    if not differ:
        return f"equal to the model's {rule} on every reachable {what} value"
    channel, x, want, got = example
    return (f"DIFFERS from the model's {rule} on {differ:,} reachable {what} values "
            f"(first: channel {channel}, {symbol} = {x}: {want} in the model, {got} in hardware); "
            "exact only for parameters that are multiples of a power of two the 16-bit fixed "
            "point can hold (docs/compiler.md)")


def _add(low, layer, out_type):
    return low.emit(layer.name, "add", [low.source(layer, 0), low.source(layer, 1)], {},
                    Value("int", out_type.shape, out_type.lo, out_type.hi))


def _maxpool(low, layer, out_type):
    kernel = layer.attrs["kernel"]
    return low.emit(layer.name, "maxpool", [low.source(layer)],
                    {"kernel": kernel, "stride": layer.attrs.get("stride", kernel)},
                    Value("bits", out_type.shape))


def _global_pool(low, layer, out_type):
    return low.emit(layer.name, "global_pool", [low.source(layer)], {},
                    Value("int", out_type.shape, out_type.lo, out_type.hi))


def _permute(low, layer, out_type, order):
    x = low.source(layer)
    value = low.values[x]
    if value.is_popcount:
        result = _popcount_value(out_type.shape, [value_dots(value)[i] for i in order])
    else:
        result = Value(value.kind, out_type.shape, value.lo, value.hi, value.frac_bits)
    return low.emit(layer.name, "permute", [x], {"order": np.asarray(order, np.int64)}, result)


def _slice(low, layer, out_type):
    return _permute(low, layer, out_type, np.arange(layer.attrs["start"], layer.attrs["stop"]))


def _shuffle(low, layer, out_type):
    return _permute(low, layer, out_type,
                    golden.shuffle_permutation(out_type.shape[0], layer.attrs["groups"]))


def _concat(low, layer, out_type):
    inputs = [low.produced[name] for name in layer.inputs]
    values = [low.values[name] for name in inputs]
    if values[0].is_popcount:     # validation: all parts are popcounts
        result = _popcount_value(out_type.shape, [d for v in values for d in value_dots(v)])
        return low.emit(layer.name, "concat", inputs, {}, result)
    frac_bits = {v.frac_bits for v in values}
    if len(frac_bits) > 1:
        raise ModelError(layer.name, "inputs", f"the concatenated PA-Net sums have different "
                                               f"fixed-point scales (2^-F, F in "
                                               f"{sorted(frac_bits)}: their phi need different "
                                               "fraction bits); export phi on one scale")
    return low.emit(layer.name, "concat", inputs, {},
                    Value(values[0].kind, out_type.shape, min(v.lo for v in values),
                          max(v.hi for v in values), frac_bits.pop()))


def _pa_bases(low, layer, out_type):
    a, b, x, bn = _affine_input(low, layer)
    value = low.values[x]
    endpoints = []
    for e in np.asarray(layer.params["endpoints"], np.float64):
        folded, offset = _fold(low, a, b, x, -e)
        rising = ~folded.invert & (folded.threshold > 0)
        falling = folded.invert & (folded.threshold > 0)
        if falling.any():
            channel = int(np.argmax(falling))
            raise ModelError(bn or layer.name, "gamma" if bn else "inputs",
                             f"PA-Net bases need a rising input; channel {channel} has a "
                             "negative batch norm scale")
        always = (folded.threshold == 0) & ~folded.invert
        top = value.fan_in if value.is_popcount else value.hi
        endpoints.append(np.where(rising, folded.threshold + offset,
                                  np.where(always, offset, top + 1)))
    return low.emit(layer.name, "pa_bases", [x], {"endpoints": np.stack(endpoints)},
                    Value("bits", out_type.shape))


def _panet_conv2d(low, layer, out_type):
    a = layer.attrs
    x = low.source(layer)
    try:
        phi, frac_bits, error = fixed_point(layer.params["phi"], bits=16)
    except ConversionError as error:
        raise ModelError(layer.name, "phi", str(error).partition(": ")[2]) from None
    low.note(layer.name, f"phi: {frac_bits} fraction bits, error <= {error:.3g}")
    bases = np.asarray(layer.params["weight_bases"], np.uint8)
    fan_in = bases.shape[2] * bases.shape[3] * bases.shape[4]
    bound = int(np.abs(phi).sum()) * fan_in
    return low.emit(layer.name, "panet_conv2d", [x], {
        "weight_bases": bases, "phi": phi, "stride": a.get("stride", 1),
        "padding": a.get("padding", 0), "groups": a.get("groups", 1),
        "activation_bases": phi.shape[1]},
        Value("int", out_type.shape, -bound, bound, frac_bits))


_LOWER = {
    "conv2d": _conv, "dense": _conv, "batchnorm": _batchnorm, "sign": _sign,
    "threshold": _threshold, "requantize": _requantize, "quantized_bn": _quantized_bn,
    "dprelu": _dprelu, "add": _add, "maxpool": _maxpool, "global_pool": _global_pool,
    "slice": _slice, "concat": _concat, "shuffle": _shuffle, "pa_bases": _pa_bases,
    "panet_conv2d": _panet_conv2d,
}

_FOLDABLE = ("binary_conv2d", "int8_conv2d", "binary_dense", "int8_dense")


def _fold_permutations(layers, output, values):
    """Fold full channel permutations into the weights of ungrouped consumers (exact)."""
    layers = list(layers)
    # last first, so that a chain of permutations folds link by link into the matrix layer
    for permute in [layer for layer in reversed(layers) if layer.op == "permute"]:
        order = permute.params["order"]
        channels = values[permute.inputs[0]].shape[0]
        if len(order) != channels or sorted(order.tolist()) != list(range(channels)) \
                or permute.name == output:
            continue  # a selection (slice, even one starting at 0) or the output: wiring
        consumers = [layer for layer in layers if permute.name in layer.inputs]
        if not consumers or any(c.op not in _FOLDABLE or c.params.get("groups", 1) != 1
                                for c in consumers):
            continue
        inverse = np.argsort(order)
        for index, consumer in enumerate(layers):
            if consumer not in consumers:
                continue
            weight = consumer.params["weight"]
            if consumer.op.endswith("dense"):
                blocks = weight.reshape(weight.shape[0], len(order), -1)
                weight = blocks[:, inverse].reshape(weight.shape)
            else:
                weight = weight[:, inverse]
            inputs = tuple(permute.inputs[0] if name == permute.name else name
                           for name in consumer.inputs)
            layers[index] = IntLayer(consumer.name, consumer.op, inputs,
                                     {**consumer.params, "weight": weight})
        layers.remove(permute)
    return tuple(layers)


def lower(model):
    """Compile ``model`` (a validated :class:`bnnhw.model.Model`) to a :class:`CompiledNetwork`."""
    low = _Lowering(model)
    for layer in model.layers:
        result = _LOWER[layer.op](low, layer, model.types[layer.name])
        if result is not None:
            low.produced[layer.name] = result
    output = low.produced[model.output]
    layers = _fold_permutations(low.layers, output, low.values)
    kept = {layer.name for layer in layers} | {"input"}
    values = {name: value for name, value in low.values.items() if name in kept}
    return CompiledNetwork(model.name, model.input_shape, layers, output, values, low.notes)
