"""Property: random small models over slices, concatenations (of popcounts too), adds, shuffles,
dot-domain thresholds, signs and PA-Net bases on popcounts, and PA-Net outputs compile to a
network that equals the float64 model (``model.reference.run_float``) on every layer, and that
plans, makes memory images and builds in the generator without an exception.

Real parameters are chosen representable (dyadic requantize scales and PA-Net phi), so the
comparison is exact.
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bnnhw.compiler import FoldingError, lower, memory_images, plan_folding
from bnnhw.model import Model
from bnnhw.model.reference import run_float

from ..model.samples import tiny_graph
from .generator import elaborate_network


class _Builder:
    """Draws one random model layer by layer; ``add`` returns the new layer's name."""

    def __init__(self, draw, seed):
        self.draw = draw
        self.rng = np.random.default_rng(seed)
        self.layers, self.arrays, self.count = [], {}, 0

    def add(self, op, inputs, **attrs):
        self.count += 1
        name = f"{op}{self.count}"
        self.layers.append({"name": name, "op": op, "inputs": list(inputs), **attrs})
        return name

    def pm1(self, shape):
        return self.rng.choice(np.array([-1, 1]), size=shape)

    def batchnorm(self, source, channels, positive=False, spread=4.0):
        name = self.add("batchnorm", [source], eps=1e-5)
        gamma = self.rng.normal(size=channels)
        self.arrays[f"{name}.gamma"] = np.abs(gamma) + 0.1 if positive else gamma
        self.arrays[f"{name}.beta"] = self.rng.normal(size=channels)
        # integer means on about half the channels put exact ties on reachable values
        mean = self.rng.normal(size=channels) * spread
        ties = self.rng.random(channels) < 0.5
        mean[ties] = np.round(mean[ties])
        self.arrays[f"{name}.beta"][ties] = 0.0
        self.arrays[f"{name}.mean"] = mean
        self.arrays[f"{name}.var"] = self.rng.random(channels) + 0.2
        return name


def _binary_layer(b, source, shape, kernel, padding, *, allow_clip):
    """A binary conv (kernel/padding fixed by the caller) of random dot, clip, groups."""
    c, h, w = shape
    dot = b.draw(st.sampled_from(["xnor", "and"]))
    groups = b.draw(st.sampled_from([g for g in (1, 2) if c % g == 0]))
    out = groups * b.draw(st.integers(1, 3))
    attrs = {"precision": "binary", "out_channels": out, "kernel": kernel, "padding": padding,
             "dot": dot, "groups": groups}
    if padding or b.draw(st.booleans()):
        attrs["pad_value"] = b.draw(st.sampled_from([1, -1]))
    if dot == "xnor" and allow_clip and b.draw(st.booleans()):
        attrs["clip"] = b.draw(st.integers(1, 12))
    name = b.add("conv2d", [source], **attrs)
    fan_in = c // groups * kernel * kernel
    weight_shape = (out, c // groups, kernel, kernel)
    b.arrays[f"{name}.weight"] = b.pm1(weight_shape) if dot == "xnor" \
        else b.rng.integers(0, 2, weight_shape)
    return name, (out, h + 2 * padding - kernel + 1, w + 2 * padding - kernel + 1), fan_in


def _popcounts(b, source, shape):
    """One binary layer, or a concatenation of two (a slice of one, maybe) from ``source``."""
    c, h, w = shape
    kernel = b.draw(st.sampled_from([k for k in (1, 2, 3) if k <= min(h, w) + 2]))
    padding = b.draw(st.sampled_from([0, 1])) if kernel == 3 or kernel > min(h, w) else 0
    if kernel > min(h, w) + 2 * padding:
        kernel, padding = 1, 0
    first, out, _ = _binary_layer(b, source, shape, kernel, padding, allow_clip=True)
    if not b.draw(st.booleans()):
        return first, out
    second, out2, _ = _binary_layer(b, source, shape, kernel, padding, allow_clip=True)
    if b.draw(st.booleans()) and out2[0] > 1:
        stop = b.draw(st.integers(1, out2[0] - 1))
        second = b.add("slice", [second], start=0, stop=stop)   # a partial slice from 0
        out2 = (stop, *out2[1:])
    name = b.add("concat", [first, second])
    return name, (out[0] + out2[0], *out[1:])


def _to_bits(b, source, shape, fan_in_hint):
    """Popcounts (or ints) -> bits: threshold (either domain), sign (plain, BN, multi-slice)
    or PA-Net bases."""
    c = shape[0]
    kind = b.draw(st.sampled_from(["threshold", "sign", "bn_sign", "pa_bases"]))
    if kind == "threshold" and fan_in_hint is not None:
        domain = b.draw(st.sampled_from(["popcount", "dot"]))
        name = b.add("threshold", [source], domain=domain)
        lo = -fan_in_hint if domain == "dot" else 0
        b.arrays[f"{name}.threshold"] = b.rng.integers(lo - 1, fan_in_hint + 2, c)
        b.arrays[f"{name}.invert"] = b.rng.random(c) < 0.3
        return name, shape, 1
    if kind in ("sign", "threshold"):
        return b.add("sign", [source]), shape, 1
    if kind == "bn_sign":
        bn = b.batchnorm(source, c)
        slices = b.draw(st.integers(1, 2))
        if slices == 1:
            return b.add("sign", [bn]), shape, 1
        return b.add("sign", [bn], biases=[-0.5, 0.5], k=2), (2 * c, *shape[1:]), 2
    bn = b.batchnorm(source, c, positive=True) if b.draw(st.booleans()) else source
    name = b.add("pa_bases", [bn])
    b.arrays[f"{name}.endpoints"] = np.sort(b.rng.choice(np.arange(-6, 7) + 0.5, 3,
                                                         replace=False))
    return name, (3 * c, *shape[1:]), 3


def _panet(b, source, shape, bases, output=False):
    """A PA-Net convolution; as the ``output``, its kernel covers the map (one logit each)."""
    c = shape[0] // bases
    h, w = shape[1:]
    k = b.draw(st.sampled_from([k for k in (1, 2) if k <= min(h, w)]))
    kh, kw = (h, w) if output else (k, k)
    out = b.draw(st.integers(1, 3))
    name = b.add("panet_conv2d", [source], out_channels=out, kernel=[kh, kw])
    m = b.draw(st.integers(1, 2))
    b.arrays[f"{name}.weight_bases"] = b.rng.integers(0, 2, (m, out, c, kh, kw))
    b.arrays[f"{name}.phi"] = b.rng.integers(-(1 << 9), 1 << 9, (m, bases)) / 2.0 ** 7
    return name, (out, h - kh + 1, w - kw + 1)


def _int8_block(b, source, shape):
    """int8 data -> add (with itself or its shuffle), or int8 conv + dyadic requantize."""
    c = shape[0]
    kind = b.draw(st.sampled_from(["add", "conv"]))
    if kind == "add":
        other = source
        if c % 2 == 0 and b.draw(st.booleans()):
            other = b.add("shuffle", [source], groups=2)
        return b.add("add", [source, other]), shape
    out = b.draw(st.integers(1, 3))
    name = b.add("conv2d", [source], precision="int8", out_channels=out, kernel=1)
    b.arrays[f"{name}.weight"] = b.rng.integers(-128, 128, (out, c, 1, 1))
    q = b.add("requantize", [name])
    b.arrays[f"{q}.scale"] = b.rng.integers(1, 1 << 12, out) / 2.0 ** 16
    return q, (out, *shape[1:])


@st.composite
def random_models(draw):
    b = _Builder(draw, draw(st.integers(0, 2 ** 16)))
    h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    c = draw(st.integers(1, 5))
    input_kind = draw(st.sampled_from(["bits", "int8"]))
    value_range = (draw(st.integers(-127, 0)), draw(st.integers(1, 127))) \
        if input_kind == "int8" else None
    current, shape, kind, bases = "input", (c, h, w), input_kind, 1
    if kind == "int8":
        for _ in range(draw(st.integers(0, 2))):
            current, shape = _int8_block(b, current, shape)
        route = draw(st.sampled_from(["panet_output", "panet", "bits"]))
        if route.startswith("panet"):
            bn = b.batchnorm(current, shape[0], positive=True) if draw(st.booleans()) \
                else current
            current = b.add("pa_bases", [bn])
            b.arrays[f"{current}.endpoints"] = np.sort(
                b.rng.choice(np.arange(-60, 61) + 0.5, 3, replace=False))
            current, shape = _panet(b, current, (3 * shape[0], *shape[1:]), 3,
                                    output=route == "panet_output")
            if route == "panet_output":
                return b, input_kind, value_range, (c, h, w), current
        current, shape, bases = _to_bits(b, current, shape, None)
        kind = "bits"
    for _ in range(draw(st.integers(1, 2))):
        if bases == 3 and draw(st.booleans()):
            current, shape = _panet(b, current, shape, bases)
            current, shape, bases = _to_bits(b, current, shape, None)
            continue
        if shape[0] > 1 and draw(st.booleans()):
            start = draw(st.integers(0, shape[0] - 1))
            stop = draw(st.integers(start + 1, shape[0]))
            current, shape = b.add("slice", [current], start=start, stop=stop), \
                (stop - start, *shape[1:])
        current, shape = _popcounts(b, current, shape)
        top = max(int(v.size // v.shape[0]) for k, v in b.arrays.items()
                  if k.endswith(".weight") and k.startswith("conv2d"))
        current, shape, bases = _to_bits(b, current, shape, top)
    end = draw(st.sampled_from(["popcounts", "dense", "global_pool"]))
    if end == "global_pool":
        current = b.add("global_pool", [current])
    elif end == "dense":
        current = b.add("dense", [current], precision="binary", out_features=3)
        b.arrays[f"{current}.weight"] = b.pm1((3, int(np.prod(shape))))
    else:
        current, out, _ = _binary_layer(b, current, shape, min(shape[1:]), 0,
                                        allow_clip=False)
        if out[1:] != (1, 1):
            current = b.add("global_pool", [b.add("sign", [current])])
    return b, input_kind, value_range, (c, h, w), current


def _inputs(rng, input_kind, value_range, shape, count=24):
    if input_kind == "bits":
        return rng.integers(0, 2, (count, *shape))
    lo, hi = value_range
    x = rng.integers(lo, hi + 1, (count, *shape))
    x[0], x[1] = lo, hi
    return x


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(random_models())
def test_random_models_compile_equal_to_the_float_model_and_build(drawn):
    b, input_kind, value_range, shape, output = drawn
    graph = tiny_graph(b.layers, output, shape=shape, input_type=input_kind,
                       value_range=value_range)
    model = Model.from_dict(graph, b.arrays)
    compiled = lower(model)
    x = _inputs(np.random.default_rng(len(b.layers)), input_kind, value_range, shape)
    floats = run_float(model, x)
    ints = compiled.run(x, keep=True)
    for layer in model.layers:
        if model.types[layer.name].kind == "real" or layer.name not in ints:
            continue     # batch norms fold into their sign; folded permutations leave no value
        got = np.asarray(ints[layer.name], np.float64) * \
            2.0 ** -compiled.values[layer.name].frac_bits
        assert np.array_equal(got, np.asarray(floats[layer.name], np.float64)), layer.name
    assert np.array_equal(compiled.logits(x), np.asarray(floats[model.output], np.float64))
    built = False
    for options in ({"target_cycles": 8}, {}, {"max_lanes": 6}):
        try:
            plan = plan_folding(compiled, **options)
        except FoldingError as error:
            assert error.field == "target_cycles"
            continue
        memory_images(compiled, plan)
        if not built:        # one elaboration per model keeps the test fast
            elaborate_network(compiled, plan)
            built = True
    assert built
