"""Random VALID model files over every op and documented attribute of docs/model-format.md.

The generator grows a network from its input, one layer at a time, choosing among the ops the
current tensor's type allows (bits, popcounts, int8 data, wide integers) and closing every branch
it opens (forks and slices rejoin through ``concat`` or ``add``), then ends in a ``(classes, 1,
1)`` integer vector, which is what the streaming hardware emits. Each layer's output type is
inferred with the model's own validator (``bnnhw.model.ops``), so the generator always knows the
shape, range and source the next layer sees.

Sizes stay small (C <= 8, H, W <= 8). Values lean on the edges: ties of batch-norm signs on
reachable integer dot values, thresholds outside ``[0, N]``, all-(+1)/all-(-1)/extreme int8
weights, int16/int8 extremes of the fixed-point layers, single-value input ranges. Real scales
(``requantize``, DPReLU slopes, PA-Net ``phi``) are dyadic rationals the compiler represents
exactly, so the float reference and the compiled network must agree bit for bit.

Choices go through a :class:`Chooser`: :class:`HypothesisChooser` (Hypothesis draws, for the
default test suite: derandomized, shrinkable structure) or :class:`RandomChooser` (a NumPy
generator, for the long campaign in ``benchmarks/fuzz.py``). :func:`models` is the Hypothesis
strategy; :func:`random_model` the plain function.

Patterns that hit a known bug in a file this fuzzer's owner does not own are switched off in
:data:`EXCLUDE` with the bug named; re-enable each once its fix lands.
"""

import copy

import numpy as np
from hypothesis import strategies as st

from bnnhw.golden import ZERO_PADDED_XNOR
from bnnhw.model.checks import LayerCheck
from bnnhw.model.ops import OPS
from bnnhw.model.types import TensorType

__all__ = ["EXCLUDE", "EXPECTED_FEATURES", "Chooser", "HypothesisChooser", "RandomChooser",
           "random_model", "models", "features", "MAX_C", "MAX_HW"]

MAX_C = 8
MAX_HW = 8

#: Known bugs (issue 14) whose patterns the generator avoids until they are fixed; each key
#: names the pattern, the value says why. An empty dict means every pattern is generated.
EXCLUDE = {}     # every pattern found so far is fixed (tests/fuzz/known_bugs.py lists them)


class Chooser:
    """Where the generator's choices come from."""

    def int(self, lo, hi):          # inclusive
        raise NotImplementedError

    def choice(self, options):
        options = list(options)
        return options[self.int(0, len(options) - 1)]

    def bool(self, p=0.5):
        return self.int(0, 999) < int(p * 1000)

    def rng(self):
        """A NumPy generator for array contents (seeded from one choice)."""
        return np.random.default_rng(self.int(0, 2 ** 32 - 1))


class HypothesisChooser(Chooser):
    def __init__(self, draw):
        self._draw = draw

    def int(self, lo, hi):
        return self._draw(st.integers(lo, hi))


class RandomChooser(Chooser):
    def __init__(self, seed):
        self._rng = np.random.default_rng(seed)

    def int(self, lo, hi):
        return int(self._rng.integers(lo, hi + 1))


# --- the network under construction ------------------------------------------------------------


class _Net:
    def __init__(self, ch, rtl=True):
        self.ch = ch
        self.rtl = rtl          # only patterns the streaming generator builds
        self.layers = []
        self.arrays = {}
        self.types = {}
        self.count = 0

    def name(self, op):
        self.count += 1
        return f"{op}{self.count}"

    def add(self, op, inputs, attrs=None, arrays=None):
        """Append a layer; returns its name (its type is inferred by the model's validator)."""
        name = self.name(op)
        attrs = dict(attrs or {})
        params = dict(arrays or {})
        check = LayerCheck(name, attrs, params)
        self.types[name] = OPS[op](check, [self.types[s] for s in inputs])
        check.finish()
        self.layers.append({"name": name, "op": op, "inputs": list(inputs), **attrs})
        self.arrays.update({f"{name}.{key}": value for key, value in params.items()})
        return name

    def t(self, name):
        return self.types[name]


def _category(t):
    if t.kind == "bits":
        return "bits"
    if t.kind == "real":
        return "real"
    if t.source == "popcount":
        return "popcount"
    if t.source == "fixed":         # PA-Net sums are reals: only a sign or bases may follow
        return "int"
    if t.lo >= -128 and t.hi <= 127:
        return "int8"
    return "int"


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


# --- parameter helpers ---------------------------------------------------------------------------


def _pm1(ch, shape):
    style = ch.choice(["random"] * 6 + ["plus", "minus"])
    if style == "plus":
        return np.ones(shape, np.int8)
    if style == "minus":
        return -np.ones(shape, np.int8)
    return ch.rng().choice(np.array([-1, 1], np.int8), size=shape)


def _bits01(ch, shape):
    style = ch.choice(["random"] * 6 + ["ones", "zeros"])
    if style == "ones":
        return np.ones(shape, np.uint8)
    if style == "zeros":
        return np.zeros(shape, np.uint8)
    return ch.rng().integers(0, 2, shape).astype(np.uint8)


def _int8_weight(ch, shape):
    style = ch.choice(["random"] * 5 + ["small", "max", "min", "zero"])
    rng = ch.rng()
    if style == "max":
        return np.full(shape, 127, np.int8)
    if style == "min":
        return np.full(shape, -128, np.int8)
    if style == "zero":
        return np.zeros(shape, np.int8)
    if style == "small":
        return rng.integers(-3, 4, shape).astype(np.int8)
    return rng.integers(-128, 128, shape).astype(np.int8)


def _pair(ch, lo, hi):
    """An int or (sometimes) an [h, w] pair."""
    if ch.bool(0.3):
        return [ch.int(lo, hi), ch.int(lo, hi)]
    return ch.int(lo, hi)


def _as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _dyadic(ch, count, magnitude_bits, lo_frac=0, hi_frac=15, signed=True, nonzero=False):
    """``count`` values ``raw / 2**F`` with ``|raw| < 2**magnitude_bits``: exact in the
    compiler's fixed-point formats."""
    frac = ch.int(lo_frac, hi_frac)
    rng = ch.rng()
    top = (1 << magnitude_bits) - 1
    raw = rng.integers(-top if signed else (1 if nonzero else 0), top + 1, count)
    if nonzero:
        raw[raw == 0] = 1
    if ch.bool(0.2):
        raw[0] = top if not signed or ch.bool() else -top
    return raw / 2.0 ** frac


def _dots(t):
    """``(fan_in, op, clip)`` per channel of a popcount type."""
    from bnnhw.model.types import channel_dots
    return channel_dots(t)


def _dot_values(n, op, clip):
    p = np.arange(n + 1)
    # zero-padded XNOR counts u in [0, n = 2N]: v = u - N
    v = 2 * p - n if op == "xnor" else p - n // 2 if op == ZERO_PADDED_XNOR else p
    return np.clip(v, -clip, clip) if clip is not None else v


def _reachable(t):
    """Integer values the rule of a batch norm / sign sees on ``t`` (for ties)."""
    if t.source == "popcount":
        return np.unique(np.concatenate([_dot_values(*d) for d in set(_dots(t))]))
    return np.arange(max(t.lo, -300), min(t.hi, 300) + 1)


def _single_dot(t):
    """The one ``(fan_in, op, clip)`` of a popcount type, or None (a mixed concat)."""
    dots = set(_dots(t))
    return next(iter(dots)) if len(dots) == 1 else None


def _bn_arrays(ch, t, rising=False):
    c = t.channels
    rng = ch.rng()
    values = _reachable(t)
    gamma = rng.normal(size=c)
    beta = rng.normal(size=c)
    mean = rng.choice(values, size=c).astype(np.float64) + rng.normal(size=c) * 0.5
    var = rng.random(c) + 0.05
    ties = rng.random(c) < 0.5          # a*m + b == 0 exactly at the reachable value m
    beta[ties] = 0.0
    mean[ties] = rng.choice(values, size=int(ties.sum()))
    if ch.bool(0.3):
        gamma[rng.integers(0, c)] = 0.0   # a constant channel
    if ch.bool(0.2):
        var[rng.integers(0, c)] = 0.0     # eps > 0 keeps the scale finite
    if rising:
        gamma = np.abs(gamma)
    eps = ch.choice([1e-5, 1e-3, 0.5])
    return {"gamma": gamma, "beta": beta, "mean": mean, "var": var}, eps


def _endpoints(ch, t, after_bn):
    n = ch.int(1, 3)
    if after_bn:
        raw = np.sort(ch.rng().choice(np.arange(-6, 7), size=n, replace=False)) / 2.0
        return raw
    values = _reachable(t)
    lo, hi = int(values.min()), int(values.max())
    span = np.arange(lo - 1, hi + 2)
    picks = np.sort(ch.rng().choice(span, size=min(n, len(span)), replace=False))
    if ch.bool(0.3):
        picks = picks + 0.5       # between integers
    return picks.astype(np.float64)


# --- ops -------------------------------------------------------------------------------------


def _conv_geometry(ch, h, w, allow_stride=True):
    """(kernel, stride, padding) attrs that fit an ``h x w`` map."""
    for _ in range(20):
        kernel = _pair(ch, 1, 3)
        padding = _pair(ch, 0, 1) if ch.bool(0.5) else 0
        stride = _pair(ch, 1, 2) if allow_stride and ch.bool(0.4) else 1
        (kh, kw), (ph, pw) = _as_pair(kernel), _as_pair(padding)
        if kh <= h + 2 * ph and kw <= w + 2 * pw:
            return kernel, stride, padding
    return 1, 1, 0


def binary_conv(net, x):
    ch, t = net.ch, net.t(x)
    c, h, w = t.shape
    kernel, stride, padding = _conv_geometry(ch, h, w)
    out = ch.int(1, MAX_C)
    groups = 1
    if ch.bool(0.45):
        if ch.bool(0.4) or c == 1:
            groups, out = c, c                      # depthwise
        else:
            groups = ch.choice([g for g in _divisors(c) if g > 1])
            out = groups * ch.int(1 if groups < c else 2, max(2, MAX_C // groups))
    dot = ch.choice(["xnor", "xnor", "and"])
    attrs = {"precision": "binary", "out_channels": out, "kernel": kernel}
    if stride != 1 or ch.bool(0.2):
        attrs["stride"] = stride
    if padding != 0 or ch.bool(0.1):
        attrs["padding"] = padding
    if max(_as_pair(padding)) > 0 or ch.bool(0.3):     # accepted without effect at padding 0
        attrs["pad_value"] = ch.choice([1, -1, 0])      # 0: zero padding
    if groups != 1 or ch.bool(0.1):
        attrs["groups"] = groups
    if dot != "xnor" or ch.bool(0.2):
        attrs["dot"] = dot
    kh, kw = _as_pair(kernel)
    fan_in = c // groups * kh * kw
    if dot == "xnor" and ch.bool(0.3):
        attrs["clip"] = ch.choice([1, max(1, fan_in // 2), fan_in, 127, fan_in + 3])
    shape = (out, c // groups, kh, kw)
    weight = _pm1(ch, shape) if dot == "xnor" else _bits01(ch, shape)
    return net.add("conv2d", [x], attrs, {"weight": weight})


def binary_dense(net, x, out=None, clip="maybe"):
    """``clip``: "maybe", "never" (an output layer) or "qbn" (XNOR with clip <= 127)."""
    ch, t = net.ch, net.t(x)
    out = out or ch.int(1, MAX_C)
    dot = "xnor" if clip == "qbn" else ch.choice(["xnor", "xnor", "and"])
    attrs = {"precision": "binary", "out_features": out}
    if dot != "xnor" or ch.bool(0.2):
        attrs["dot"] = dot
    if clip == "qbn":
        attrs["clip"] = ch.choice([1, min(127, max(1, t.features // 2)), min(127, t.features),
                                   127])
    elif dot == "xnor" and clip == "maybe" and ch.bool(0.3):
        attrs["clip"] = ch.choice([1, max(1, t.features // 2), t.features, 127])
    shape = (out, t.features)
    weight = _pm1(ch, shape) if dot == "xnor" else _bits01(ch, shape)
    return net.add("dense", [x], attrs, {"weight": weight})


def _int8_bias(ch, weight, out):
    style = ch.choice(["none", "none", "small", "large", "extreme"])
    if style == "none":
        return None
    rng = ch.rng()
    if style == "small":
        return rng.integers(-1000, 1001, out).astype(np.int32)
    bound = np.abs(weight.reshape(out, -1).astype(np.int64)).sum(axis=1) * 128
    room = (2 ** 31 - 1) - bound
    if style == "large":
        return rng.integers(-(1 << 20), (1 << 20) + 1, out).astype(np.int32)
    return (room * rng.choice([-1, 1], out)).astype(np.int64)       # at the int32 limit


def int8_conv(net, x):
    ch, t = net.ch, net.t(x)
    c, h, w = t.shape
    kernel, stride, padding = _conv_geometry(ch, h, w)
    out = ch.int(1, MAX_C)
    groups = 1
    if ch.bool(0.3):
        groups, out = c, c                          # depthwise (the RTL's grouped int8 conv)
    elif not net.rtl and ch.bool(0.2):
        groups = ch.choice([g for g in _divisors(c) if out % g == 0])
    kh, kw = _as_pair(kernel)
    weight = _int8_weight(ch, (out, c // groups, kh, kw))
    attrs = {"precision": "int8", "out_channels": out, "kernel": kernel}
    if stride != 1 or ch.bool(0.2):
        attrs["stride"] = stride
    if padding != 0 or ch.bool(0.1):
        attrs["padding"] = padding
    if groups != 1 or ch.bool(0.1):
        attrs["groups"] = groups
    arrays = {"weight": weight}
    bias = _int8_bias(ch, weight, out)
    if bias is not None:
        arrays["bias"] = bias
    return net.add("conv2d", [x], attrs, arrays)


def int8_dense(net, x, out=None):
    ch, t = net.ch, net.t(x)
    out = out or ch.int(1, MAX_C)
    weight = _int8_weight(ch, (out, t.features))
    arrays = {"weight": weight}
    bias = _int8_bias(ch, weight, out)
    if bias is not None:
        arrays["bias"] = bias
    return net.add("dense", [x], {"precision": "int8", "out_features": out}, arrays)


def sign(net, x):
    """batchnorm -> sign, or sign directly on integers; single or multi-slice."""
    ch, t = net.ch, net.t(x)
    source = x
    if ch.bool(0.6):
        arrays, eps = _bn_arrays(ch, t)
        source = net.add("batchnorm", [x], {"eps": eps}, arrays)
    attrs = {}
    if ch.bool(0.35):
        k = ch.int(1, 3)
        if t.channels * k > MAX_C * 2:
            k = 1
        biases = sorted(ch.choice([-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 0.25])
                        for _ in range(k))
        attrs["biases"] = biases
        if ch.bool(0.5):
            attrs["k"] = k
    return net.add("sign", [source], attrs)


def threshold(net, x):
    ch, t = net.ch, net.t(x)
    n = max(d[0] for d in _dots(t))
    c = t.channels
    k = ch.choice([1, 1, 2]) if c * 2 <= MAX_C * 2 else 1
    rng = ch.rng()
    shape = (c,) if k == 1 and ch.bool(0.7) else (k, c)
    style = ch.choice(["inside"] * 4 + ["edges", "outside"])
    if style == "inside":
        values = rng.integers(0, n + 2, shape)
    elif style == "edges":
        values = rng.choice(np.array([0, 1, n, n + 1, -n, 2 * n]), size=shape)
    else:
        values = rng.integers(-3 * n - 5, 3 * n + 6, shape)
    attrs = {}
    zero = np.array([d[1] == ZERO_PADDED_XNOR for d in _dots(t)])
    # a zero-padded convolution has no popcount: its thresholds are on the dot value
    domain = "dot" if zero.any() else ch.choice(["popcount", "dot"])
    if domain == "dot":
        xnor = np.array([d[1] == "xnor" for d in _dots(t)])
        values = np.where(xnor, 2 * values - n, np.where(zero, values - n // 2, values))
    if domain != "popcount" or ch.bool(0.2):
        attrs["domain"] = domain
    arrays = {"threshold": values.astype(np.int64)}
    if ch.bool(0.5):
        arrays["invert"] = rng.random(shape) < 0.5
    return net.add("threshold", [x], attrs, arrays)


def pa_bases(net, x):
    ch, t = net.ch, net.t(x)
    source = x
    after_bn = ch.bool(0.5)
    if after_bn:
        arrays, eps = _bn_arrays(ch, t, rising=True)
        source = net.add("batchnorm", [x], {"eps": eps}, arrays)
    endpoints = _endpoints(ch, t, after_bn)
    if t.channels * len(endpoints) > MAX_C * 2:
        endpoints = endpoints[:1]
    return net.add("pa_bases", [source], {}, {"endpoints": endpoints})


def panet_conv(net, x):
    ch, t = net.ch, net.t(x)
    n = t.bases
    c, h, w = t.shape
    channels = c // n
    kernel, stride, padding = _conv_geometry(ch, h, w)
    out = ch.int(1, MAX_C)
    groups = 1
    if not net.rtl and ch.bool(0.3):
        groups = ch.choice([g for g in _divisors(channels) if out % g == 0])
    m = ch.int(1, 3)
    kh, kw = _as_pair(kernel)
    bases = _bits01(ch, (m, out, channels // groups, kh, kw))
    phi = _dyadic(ch, m * n, 10, lo_frac=0, hi_frac=10).reshape(m, n)
    attrs = {"out_channels": out, "kernel": kernel}
    if stride == 1 and ch.bool(0.3) and kh <= h and kw <= w:
        stride = 2
    if stride != 1 or ch.bool(0.2):
        attrs["stride"] = stride
    if padding == 0 and ch.bool(0.3):
        padding = 1
    if padding != 0 or ch.bool(0.1):
        attrs["padding"] = padding
    if groups != 1 or ch.bool(0.1):
        attrs["groups"] = groups
    return net.add("panet_conv2d", [x], attrs, {"weight_bases": bases, "phi": phi})


def requantize(net, x):
    ch, t = net.ch, net.t(x)
    scale = _dyadic(ch, t.channels, 15, lo_frac=0, hi_frac=30, signed=False, nonzero=True)
    if ch.bool(0.3):        # scales that bring the accumulator range to about [-127, 127]
        top = 1 << max(0, max(1, int(max(abs(t.lo), abs(t.hi)))).bit_length() - 6)
        scale = ch.rng().integers(1, 1 << 10, t.channels) / (1024.0 * max(top, 1) / 64)
        scale = np.round(scale * 2 ** 30) / 2 ** 30
        scale[scale == 0] = 2.0 ** -30
    return net.add("requantize", [x], {}, {"scale": scale})


def quantized_bn(net, x):
    ch, t = net.ch, net.t(x)
    c = t.channels
    rng = ch.rng()
    style = ch.choice(["random", "pass", "extreme"])
    if style == "pass":
        scale, bias, frac = np.ones(c), np.zeros(c), 0
    elif style == "extreme":
        scale = rng.choice(np.array([-32768, 32767, 1, -1, 0]), c)
        bias = rng.choice(np.array([-32768, 32767, 0]), c)
        frac = ch.choice([0, 7, 15])
    else:
        scale = rng.integers(-400, 401, c)
        bias = rng.integers(-4000, 4001, c)
        frac = ch.int(0, 15)
    return net.add("quantized_bn", [x], {"frac_bits": frac},
                   {"scale": scale.astype(np.int16), "bias": bias.astype(np.int16)})


def dprelu(net, x):
    ch, t = net.ch, net.t(x)
    c = t.channels
    rng = ch.rng()
    frac = ch.int(0, 15)
    # |raw| <= 32767 at F fraction bits and |slope| < 128
    top = min(32767, (128 << frac) - 1)
    slopes = rng.integers(-top, top + 1, 2 * c) / 2.0 ** frac
    if ch.bool(0.3):
        slopes[rng.integers(0, 2 * c)] = top / 2.0 ** frac
    arrays = {"alpha": rng.choice(np.array([-128, -5, 0, 3, 127]), c).astype(np.int8)
              if ch.bool(0.3) else rng.integers(-10, 11, c).astype(np.int8),
              "beta": rng.integers(-128, 128, c).astype(np.int8) if ch.bool(0.3)
              else rng.integers(-10, 11, c).astype(np.int8),
              "eta": slopes[:c], "gamma": slopes[c:]}
    return net.add("dprelu", [x], {}, arrays)


def maxpool(net, x):
    ch, t = net.ch, net.t(x)
    c, h, w = t.shape
    kernel = [ch.int(1, min(3, h)), ch.int(1, min(3, w))] if ch.bool(0.2) else \
        ch.int(1, min(3, h, w))
    attrs = {"kernel": kernel}
    if ch.bool(0.5):
        attrs["stride"] = _pair(ch, 1, 3)
    return net.add("maxpool", [x], attrs)


def shuffle(net, x):
    ch, t = net.ch, net.t(x)
    return net.add("shuffle", [x], {"groups": ch.choice(_divisors(t.channels))})


def slice_(net, x):
    ch, t = net.ch, net.t(x)
    c = t.channels
    start = ch.int(0, c - 1)
    stop = ch.int(start + 1, c)
    if ch.bool(0.25):
        start, stop = 0, c                          # the whole tensor
    return net.add("slice", [x], {"start": start, "stop": stop})


# --- structure -------------------------------------------------------------------------------


def _to_bits(net, x):
    """Any integer tensor to bits (sign, threshold or PA-Net bases)."""
    t = net.t(x)
    cat = _category(t)
    options = ["sign", "sign", "pa_bases"]
    if cat == "popcount":
        options += ["threshold", "threshold"]
    op = net.ch.choice(options)
    if op == "threshold":
        return threshold(net, x)
    if op == "pa_bases" and t.channels * 3 <= MAX_C * 2:
        return pa_bases(net, x)
    return sign(net, x)


def _split_concat(net, x, depth):
    """Slices of ``x`` (maybe partial), each grown a little, concatenated (same kind/size)."""
    ch, t = net.ch, net.t(x)
    c = t.channels
    cuts = sorted({ch.int(1, c - 1) for _ in range(ch.int(1, 3))})
    bounds = [0] + cuts + [c]
    if ch.bool(0.3):            # drop the last channels: partial slices
        bounds = bounds[:-1]
    parts = []
    for start, stop in zip(bounds, bounds[1:]):
        part = net.add("slice", [x], {"start": start, "stop": stop})
        if ch.bool(0.5) and depth > 0:
            part = _bits_step(net, part, same_size=True)
        parts.append(part)
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return x
    return net.add("concat", parts)


def _bits_step(net, x, same_size=False):
    """One layer bits -> bits (keeping the spatial size if ``same_size``)."""
    ch, t = net.ch, net.t(x)
    c, h, w = t.shape
    options = ["shuffle", "conv_sign"]
    if not same_size and (h > 1 or w > 1):
        options.append("maxpool")
    op = ch.choice(options)
    if op == "shuffle":
        return shuffle(net, x)
    if op == "maxpool":
        return maxpool(net, x)
    # a 3x3 'same' binary conv then a sign/threshold
    attrs_padding = ch.bool(0.5)
    out = ch.int(1, MAX_C)
    dot = ch.choice(["xnor", "and"])
    attrs = {"precision": "binary", "out_channels": out, "kernel": 3 if attrs_padding else 1}
    if attrs_padding:
        attrs["padding"] = 1
        attrs["pad_value"] = ch.choice([1, -1])
    if dot == "and":
        attrs["dot"] = "and"
    k = attrs["kernel"]
    shape = (out, c, k, k)
    weight = _pm1(ch, shape) if dot == "xnor" else _bits01(ch, shape)
    y = net.add("conv2d", [x], attrs, {"weight": weight})
    return _to_bits(net, y) if net.t(y).channels * 3 <= MAX_C * 2 else sign(net, y)


def _fork_join_int8(net, x):
    """``add(x, f(x))`` or ``add(x, x)`` on int8 data; ``f`` keeps the shape."""
    ch, t = net.ch, net.t(x)
    if t.lo < -127 or t.hi > 127:      # add takes symmetric 8-bit operands
        x = dprelu(net, x)
    c = t.channels
    kind = ch.choice(["self", "self", "dprelu", "residual"])
    if kind == "self":
        other = x
    elif kind == "dprelu":
        other = dprelu(net, x)
    else:
        weight = _int8_weight(ch, (c, c, 3, 3))
        y = net.add("conv2d", [x], {"precision": "int8", "out_channels": c, "kernel": 3,
                                    "padding": 1}, {"weight": weight})
        other = requantize(net, y)
    return net.add("add", [x, other])


def _fork_concat(net, x, depth):
    """Two branches from ``x`` of one kind and size, concatenated."""
    ch, t = net.ch, net.t(x)
    cat = _category(t)
    if cat == "bits" and ch.bool(0.5):         # popcounts of two binary layers, concatenated
        c, h, w = t.shape
        parts = []
        for _ in range(2):
            kernel = ch.choice([1, 3])
            attrs = {"precision": "binary", "out_channels": ch.int(1, MAX_C // 2),
                     "kernel": kernel}
            if kernel == 3:
                attrs.update(padding=1, pad_value=ch.choice([1, -1]))
            if ch.bool(0.3):
                attrs["dot"] = "and"
            elif ch.bool(0.3):
                attrs["clip"] = ch.choice([1, 3, 127])
            shape = (attrs["out_channels"], c, kernel, kernel)
            weight = _bits01(ch, shape) if attrs.get("dot") == "and" else _pm1(ch, shape)
            parts.append(net.add("conv2d", [x], attrs, {"weight": weight}))
        return net.add("concat", parts)
    if cat == "bits":
        a = _bits_step(net, x, same_size=True)
        b = _bits_step(net, x, same_size=True) if ch.bool(0.7) else x
        if ch.bool(0.5):
            return net.add("concat", [a, b, x])
        return net.add("concat", [a, b])
    if cat == "int8":
        a = dprelu(net, x)
        b = x if ch.bool(0.5) and t.source not in ("fixed", "popcount") else dprelu(net, x)
        return net.add("concat", [a, b])
    return _step(net, x, depth)


def _step(net, x, depth):
    """One or a few layers from ``x``; returns the new frontier tensor."""
    ch, t = net.ch, net.t(x)
    cat = _category(t)
    c, h, w = t.shape
    if cat == "bits":
        options = ["binary_conv", "binary_conv", "binary_dense", "global_pool", "bits_step"]
        if c > 1:
            options += ["split", "shuffle", "slice"]
        if c * 2 <= MAX_C * 2:
            options.append("fork_concat")
        if t.bases > 1 or ch.bool(0.3):
            options += ["panet"] * (6 if t.bases > 1 else 1)
        if h > 1 or w > 1:
            options.append("maxpool")
        op = ch.choice(options)
        if op == "binary_conv":
            y = binary_conv(net, x)
        elif op == "binary_dense":
            y = binary_dense(net, x)
        elif op == "global_pool":
            y = net.add("global_pool", [x])
        elif op == "bits_step":
            y = _bits_step(net, x)
        elif op == "split":
            y = _split_concat(net, x, depth)
        elif op == "shuffle":
            y = shuffle(net, x)
        elif op == "slice":
            y = slice_(net, x)
        elif op == "fork_concat":
            y = _fork_concat(net, x, depth)
        elif op == "panet":
            y = panet_conv(net, x)
        else:
            y = maxpool(net, x)
        return y
    if cat == "popcount":
        options = ["to_bits", "to_bits", "threshold", "slice", "shuffle"]
        if t.detail.get("op") in ("xnor", ZERO_PADDED_XNOR) \
                and t.detail.get("clip") is not None and t.detail["clip"] <= 127:
            options += ["quantized_bn"] * 3
        op = ch.choice(options)
        if op == "quantized_bn":
            return quantized_bn(net, x)
        if op == "threshold":
            return threshold(net, x)
        if op == "slice" and c > 1:
            return slice_(net, x)
        if op == "shuffle":
            return shuffle(net, x)
        return _to_bits(net, x)
    if cat == "int8":
        options = ["int8_conv", "int8_conv", "int8_dense", "dprelu", "add", "to_bits",
                   "fork_concat"]
        op = ch.choice(options)
        if op == "int8_conv":
            return int8_conv(net, x)
        if op == "int8_dense":
            return int8_dense(net, x)
        if op == "dprelu":
            return dprelu(net, x)
        if op == "add":
            return _fork_join_int8(net, x)
        if op == "fork_concat" and c * 2 <= MAX_C:
            return _fork_concat(net, x, depth)
        return _to_bits(net, x)
    # wide ints: accumulators, PA-Net sums, uint8 input above 127
    if t.source == "acc" and ch.bool(0.6):
        return requantize(net, x)
    return _to_bits(net, x)


def _finish(net, x, classes):
    """End in a ``(classes, 1, 1)`` integer vector from ``x``."""
    ch, t = net.ch, net.t(x)
    for _ in range(4):
        t = net.t(x)
        cat = _category(t)
        one = tuple(t.shape[1:]) == (1, 1)
        if cat == "bits":
            kind = ch.choice(["binary_dense", "binary_dense", "pool_dense", "pool",
                              "panet", "panet"] if t.bases > 1 else
                             ["binary_dense", "binary_dense", "pool_dense", "pool", "panet"])
            if kind == "binary_dense":
                if ch.bool(0.4):
                    return quantized_bn(net, binary_dense(net, x, classes, clip="qbn"))
                return binary_dense(net, x, classes, clip="never")
            if kind == "panet":
                c, h, w = t.shape
                bases = _bits01(ch, (ch.int(1, 2), classes, c // t.bases, h, w))
                phi = _dyadic(ch, bases.shape[0] * t.bases, 10, 0, 10).reshape(
                    bases.shape[0], t.bases)
                return net.add("panet_conv2d", [x], {"out_channels": classes,
                                                      "kernel": [h, w]},
                               {"weight_bases": bases, "phi": phi})
            pooled = net.add("global_pool", [x])
            if kind == "pool":
                return pooled
            return int8_dense(net, pooled, classes)
        if cat == "int8":
            if one and ch.bool(0.2):
                return x
            y = int8_dense(net, x, classes)
            if ch.bool(0.4):
                y = requantize(net, y)
                if ch.bool(0.5):
                    y = dprelu(net, y)
            return y
        if cat == "popcount" and one:
            qbn = t.detail.get("op") in ("xnor", ZERO_PADDED_XNOR) \
                and t.detail.get("clip") is not None and t.detail["clip"] <= 127
            if qbn and ch.bool(0.5):
                return quantized_bn(net, x)
            layer = net.layers[-1] if net.layers and net.layers[-1]["name"] == x else {}
            if "clip" not in layer:     # a clip on the output layer is rejected
                return x
        if cat == "int" and t.source == "acc" and ch.bool(0.5):
            x = requantize(net, x)
            continue
        if cat == "int" and one and t.source == "fixed":
            return x
        x = _to_bits(net, x)
    return binary_dense(net, x, classes, clip="never") if _category(net.t(x)) == "bits" else \
        int8_dense(net, sign_to_int8(net, x), classes)


def sign_to_int8(net, x):
    return net.add("global_pool", [_to_bits(net, x)])


def _input(ch):
    kind = ch.choice(["bits", "int8", "int8", "uint8"])
    c = ch.int(1, 4)
    h = ch.int(1, MAX_HW if ch.bool(0.2) else 6)
    w = ch.int(1, MAX_HW if ch.bool(0.2) else 6)
    spec = {"shape": [c, h, w], "type": kind}
    full = {"bits": (0, 1), "int8": (-128, 127), "uint8": (0, 255)}[kind]
    style = ch.choice(["full", "default", "narrow", "narrow", "single"])
    if style == "full":
        spec["range"] = list(full)
    elif style == "narrow":
        lo = ch.int(full[0], full[1] - 1)
        hi = ch.int(lo + 1, min(full[1], lo + ch.choice([1, 3, 16, 200])))
        spec["range"] = [lo, hi]
    elif style == "single":
        v = ch.int(*full)
        spec["range"] = [v, v]
    lo, hi = spec.get("range", full)
    return spec, TensorType("int" if kind != "bits" else "bits", (c, h, w), lo, hi,
                            source="input")


def random_model(ch, *, rtl=True, max_steps=None):
    """``(graph, arrays)`` of one random valid model (see the module docstring).

    ``rtl=True`` keeps to what the streaming generator builds (no grouped PA-Net or grouped
    non-depthwise int8 convolutions); the output is always a ``(classes, 1, 1)`` vector.
    """
    net = _Net(ch, rtl)
    spec, input_type = _input(ch)
    net.types["input"] = input_type
    x = "input"
    steps = ch.int(1, max_steps or 6)
    for depth in range(steps, 0, -1):
        x = _step(net, x, depth)
        t = net.t(x)
        if t.kind == "int" and t.shape[0] > MAX_C * 2:
            break
    classes = ch.int(1, 6)
    x = _finish(net, x, classes)
    graph = {"format": "bnnhw-model", "version": 1, "name": "fuzz", "input": spec,
             "layers": net.layers, "output": x}
    return graph, net.arrays


@st.composite
def models(draw, rtl=True, max_steps=None):
    """Hypothesis strategy of ``(graph, arrays)`` random valid models."""
    return random_model(HypothesisChooser(draw), rtl=rtl, max_steps=max_steps)


#: Every op, input type and documented attribute value the generator is meant to reach (the
#: campaign reports each one's count, zeros included).
EXPECTED_FEATURES = sorted(
    [f"op={op}" for op in OPS]
    + [f"input.type={t}" for t in ("bits", "int8", "uint8")]
    + [f"input.range={r}" for r in ("default", "full", "narrow", "single", "includes-128")]
    + [f"{op}.{a}" for op in ("conv2d", "dense") for a in (
        "precision=binary", "precision=int8", "dot=xnor", "dot=and", "clip", "bias",
        "weight=constant", "weight=extreme", "input=map", "input=vector")]
    + [f"{op}.{a}" for op in ("conv2d", "panet_conv2d") for a in (
        "kernel=1", "kernel=>1", "kernel=non-square", "stride=1", "stride=other", "padding=0",
        "padding=other")]
    + ["conv2d.pad_value=1", "conv2d.pad_value=-1", "conv2d.pad_value=0",
       "conv2d.pad_value+padding=0",
       "conv2d.groups=depthwise",
       "conv2d.groups=grouped", "conv2d.kernel=pair", "panet_conv2d.kernel=pair",
       "batchnorm->sign", "batchnorm->pa_bases", "batchnorm.var=0", "batchnorm.gamma=0",
       "sign.on=batchnorm", "sign.on=ints", "sign.biases(k=1)", "sign.biases(k>1)", "sign.k",
       "threshold.domain=popcount", "threshold.domain=dot", "threshold.invert", "threshold.2d",
       "pa_bases.on=batchnorm", "pa_bases.on=ints", "slice.partial", "slice.full", "slice.from0",
       "maxpool.stride", "quantized_bn.frac_bits=0", "quantized_bn.frac_bits=>0",
       "add.same_input", "concat.inputs=2", "concat.inputs=3", "concat.of=popcounts",
       "output=dense(binary)", "output=dense(int8)", "output=global_pool",
       "output=panet_conv2d", "output=quantized_bn", "output=requantize", "output=dprelu"])


def features(graph, arrays):
    """The ops and attribute values a model uses, as strings (coverage statistics)."""
    out = set()
    spec = graph["input"]
    out.add(f"input.type={spec['type']}")
    full = {"bits": [0, 1], "int8": [-128, 127], "uint8": [0, 255]}[spec["type"]]
    rng_ = spec.get("range")
    out.add("input.range=" + ("default" if rng_ is None else "full" if rng_ == full else
                              "single" if rng_[0] == rng_[1] else "narrow"))
    if rng_ is not None and spec["type"] == "int8" and rng_[0] == -128:
        out.add("input.range=includes-128")
    from bnnhw.model import Model
    try:
        types = Model.from_dict(graph, arrays).types
    except Exception:          # noqa: BLE001 - features of an invalid model: fewer of them
        types = {}
    consumers = {}
    for layer in graph["layers"]:
        for source in layer["inputs"]:
            consumers.setdefault(source, []).append(layer)
    by_name = {layer["name"]: layer for layer in graph["layers"]}
    for layer in graph["layers"]:
        op, name = layer["op"], layer["name"]
        out.add(f"op={op}")
        if name == graph["output"]:
            kind = f"{op}({layer['precision']})" if op in ("conv2d", "dense") else op
            out.add(f"output={kind}" if kind in (
                "dense(binary)", "dense(int8)", "global_pool", "panet_conv2d", "quantized_bn",
                "requantize", "dprelu") else "output=other")
        a = lambda key: arrays.get(f"{name}.{key}")  # noqa: E731
        if op in ("conv2d", "dense"):
            out.add(f"{op}.precision={layer['precision']}")
            source = types.get(layer["inputs"][0])
            if source is not None:
                out.add(f"{op}.input=" + ("vector" if tuple(source.shape[1:]) == (1, 1)
                                          else "map"))
            if layer["precision"] == "binary":
                out.add(f"{op}.dot={layer.get('dot', 'xnor')}")
                if "clip" in layer:
                    out.add(f"{op}.clip")
                w = a("weight")
                if np.all(w == w.flat[0]):
                    out.add(f"{op}.weight=constant")
            else:
                if a("bias") is not None:
                    out.add(f"{op}.bias")
                w = a("weight")
                if np.all(np.isin(w, (-128, 127))):
                    out.add(f"{op}.weight=extreme")
        if op in ("conv2d", "panet_conv2d"):
            kernel = _as_pair(layer["kernel"])
            out.add(f"{op}.kernel=" + ("non-square" if kernel[0] != kernel[1]
                                       else "pair" if isinstance(layer["kernel"], list)
                                       else "1" if kernel[0] == 1 else ">1"))
            stride = _as_pair(layer.get("stride", 1))
            out.add(f"{op}.stride={'1' if stride == (1, 1) else 'other'}")
            padding = _as_pair(layer.get("padding", 0))
            out.add(f"{op}.padding={'0' if padding == (0, 0) else 'other'}")
            if "pad_value" in layer:
                out.add(f"{op}.pad_value={layer['pad_value']}")
                if padding == (0, 0):
                    out.add(f"{op}.pad_value+padding=0")
            groups = layer.get("groups", 1)
            if groups != 1:
                depthwise = groups == layer["out_channels"] and groups > 1 and \
                    (a("weight") is not None and a("weight").shape[1] == 1)
                out.add(f"{op}.groups=" + ("depthwise" if depthwise else "grouped"))
        if op == "batchnorm":
            out.add("batchnorm->" + consumers[name][0]["op"])
            if np.any(a("var") == 0):
                out.add("batchnorm.var=0")
            if np.any(a("gamma") == 0):
                out.add("batchnorm.gamma=0")
        if op == "sign":
            if "biases" in layer:
                out.add("sign.biases" + ("(k>1)" if len(layer["biases"]) > 1 else "(k=1)"))
            if "k" in layer:
                out.add("sign.k")
            source = by_name.get(layer["inputs"][0], {}).get("op", "input")
            out.add("sign.on=" + ("batchnorm" if source == "batchnorm" else "ints"))
        if op == "threshold":
            out.add(f"threshold.domain={layer.get('domain', 'popcount')}")
            if a("invert") is not None:
                out.add("threshold.invert")
            if a("threshold").ndim == 2:
                out.add("threshold.2d")
        if op == "pa_bases":
            source = by_name.get(layer["inputs"][0], {}).get("op", "input")
            out.add("pa_bases.on=" + ("batchnorm" if source == "batchnorm" else "ints"))
        if op == "slice":
            source = types.get(layer["inputs"][0])
            full = source is not None and layer["stop"] == source.channels
            out.add("slice.partial" if layer["start"] > 0 or not full else "slice.full")
            if layer["start"] == 0:
                out.add("slice.from0")
        if op == "maxpool":
            if "stride" in layer:
                out.add("maxpool.stride")
        if op == "quantized_bn":
            out.add(f"quantized_bn.frac_bits={'0' if layer['frac_bits'] == 0 else '>0'}")
        if op == "add" and layer["inputs"][0] == layer["inputs"][1]:
            out.add("add.same_input")
        if op == "concat":
            out.add(f"concat.inputs={min(len(layer['inputs']), 3)}")
            if types.get(name) is not None and types[name].source == "popcount":
                out.add("concat.of=popcounts")
    return out


def copy_model(graph, arrays):
    return copy.deepcopy(graph), {k: np.array(v, copy=True) for k, v in arrays.items()}
