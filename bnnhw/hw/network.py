"""The streaming network top: one engine per compiled layer, pixel stream in, class out.

:class:`StreamingNetwork` turns a :class:`bnnhw.compiler.CompiledNetwork`, its
:class:`~bnnhw.compiler.FoldingPlan` and the compiler's memory images into one Amaranth component
(DESIGN.md §5, the FINN-style dataflow architecture):

- **Input** ``i``: one input pixel per transfer in raster order, images back to back; payload =
  the input channels as :class:`~.engines.PixelFormat` elements (``unsigned(5)`` for the digits'
  values ``0 .. 16``).
- **Output** ``o``: one transfer per image: ``label`` (the argmax, lowest index on ties) in the
  low ``label_width`` bits, then the logits as a pixel vector (``logits_format``), from an
  :class:`ArgmaxHead` (one class compared per cycle on the held logits).
- **Engines** (:mod:`.engines`) exchange pixel vectors. A binary convolution followed only by its
  threshold becomes one sliding-window + ``BinaryMVTU`` engine (thresholds from the compiler's
  per-PE images); other binary convolutions a ``BinaryMVAU`` engine; int8 convolutions and dense
  layers an ``Int8MAC`` engine, except that an int8 dense layer reading a global pool of bits
  (the plan marks it ``pooled``) is one :class:`~.pooldense.PooledInt8Dense` engine with its pool
  (no counters, no pooled vector: it accumulates the weights of the set bits pixel by pixel);
  per-channel layers a lane array of their units; permutations,
  slices and concatenations are wiring (no register). A 1x1 unpadded stride-1
  convolution or a dense layer on a 1x1 map needs no line buffer: a serializer feeds its MVU.
- **Branches**: a value read by several layers goes through an eager :class:`~.streams.Fork`
  (unregistered: one flag per reader, the producer holds the pixel);
  every input of a join (``add``, ``concat``) has a FIFO of ``2 * H * W + 4`` pixels (at the join's
  resolution). Each branch absorbs less than one image before its first output (a line buffer
  needs the rows of its first output row before producing; the extra rows it may hold only let
  it take input ahead while it works, never make it wait for more), so the other branch's FIFO
  never fills while the join waits: no input pattern and no pattern of output stalls deadlocks
  (the stall tests check it).
- **Rate**: every matrix engine takes its plan's ``SF * NF`` cycles per output position; each
  per-channel engine gets the fewest lanes (a divisor of ``C``) that keep ``C/L * H*W`` within
  the plan's cycles per inference; line buffers hold the next image's first rows while they
  finish an image (:func:`~.window.default_buffer_rows`). So the slowest stage sets the
  throughput: a matrix layer, the input stream (``H*W``), the argmax head (``classes + 1``) or a
  max pool built as a sliding window (``FoldingPlan.cycles_per_inference``, docs/network.md).

PA-Net layers: ``pa_bases`` is a :class:`~.engines.PixelMap` of comparators (base-major bits
``n*C + c``, as golden); a ``panet_conv2d`` re-orders its input pixel channel-major so that one
window transfer of ``N*SIMD`` bits carries ``SIMD`` channels in all ``N`` bases, and a
:class:`~.panet.PANetMVU` combines them.

Unsupported layers (grouped PA-Net or grouped non-depthwise int8 convolutions, a network whose
output is not a ``(classes, 1, 1)`` vector) raise
:class:`NetworkError` naming the layer and field at construction, before any Verilog exists.
"""

import numpy as np
from amaranth.hdl import Array, Cat, Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from ..errors import LayerError
from .engines import Chain, LaneArray, PixelFormat, PixelMap, convert, element, permute_bits
from .fixed import DPReLU, QuantizedBN, Requantize
from .int8mac import Int8MAC
from .mvau import BinaryMVAU
from .mvtu import BinaryMVTU, parse_hex
from .panet import PANetMVU
from .pooldense import PooledInt8Dense
from .pool import BinaryMaxPool, GlobalPopcountPool, StreamingMaxPool
from .streams import Deserializer, Fork, Join, Serializer, StreamFIFO
from .threshold import ThresholdUnit
from .window import SlidingWindow, block_rams, default_buffer_rows

__all__ = ["NetworkError", "StreamingNetwork", "clip_dot", "clip_width", "piece_indicators",
           "saturating_sum"]

MATRIX_OPS = ("binary_conv2d", "binary_dense", "int8_conv2d", "int8_dense")


class NetworkError(LayerError, ValueError):
    """A compiled layer the generator cannot build; names the layer and the field."""


def clip_width(fan_in, bound):
    """Bits of :func:`clip_dot`'s result: a signed value holding ``[-min(N, B), min(N, B)]``."""
    return Shape.cast(range(-min(fan_in, bound), min(fan_in, bound) + 1)).width


def clip_dot(p, shape, fan_in, bound):
    """``clip(2p - N, -B, B)`` of a popcount ``p`` (a value of ``shape``, in ``[0, N]``), as a
    ``signed(clip_width(N, B))`` value (golden's ``clip`` layer).

    ``2p - N`` is formed in a signed width that holds both ``2p <= 2N`` and ``-N`` (one bit
    more than ``N`` itself needs, plus the sign), so it never wraps, whatever ``N`` and ``p``'s
    shape: Amaranth's ``as_signed`` on ``p << 1`` alone would read ``p >= 2**(w-1)`` as negative.
    """
    shape = Shape.cast(shape)
    wide = signed(max(shape.width, int(fan_in).bit_length()) + 2)
    d = (convert(p, shape, wide).as_signed() << 1) - int(fan_in)
    y = Mux(d > bound, bound, Mux(d < -bound, -bound, d))
    return convert(y, signed(len(y)), signed(clip_width(fan_in, bound))).as_signed()


def saturating_sum(x, y, bound=127):
    """``clip(x + y, -B, B)`` of two elements (any shapes; Amaranth's sum is exact) as a
    ``signed(8)`` value, ``B <= 127`` (golden's saturating ``add``)."""
    total = x + y
    clipped = Mux(total > bound, bound, Mux(total < -bound, -bound, total))
    return convert(clipped, clipped.shape(), signed(8)).as_signed()


def piece_indicators(values, endpoints):
    """PA-Net bases of one pixel: ``values`` (one element per channel, any shapes) against the
    integer ``endpoints`` ``(N, C)``: bit ``j*C + c`` is ``e[j, c] <= v[c] < e[j+1, c]`` (the
    last piece unbounded above). Comparisons are exact for any endpoint, also outside the
    element's range (below 0 for an unsigned element, or above its maximum)."""
    endpoints = np.asarray(endpoints, np.int64)
    n, c = endpoints.shape
    above = [[values[ch] >= int(endpoints[j, ch]) for ch in range(c)] for j in range(n)]
    return Cat(*(above[j][ch] & ~above[j + 1][ch] if j + 1 < n else above[j][ch]
                 for j in range(n) for ch in range(c)))


def _lanes(channels, positions, budget):
    """Fewest lanes (a divisor of ``channels``) with ``channels/L * positions <= budget``."""
    for lanes in range(1, channels + 1):
        if channels % lanes == 0 and channels // lanes * positions <= budget:
            return lanes
    return channels


def _images(files, memory_map, layer, kind):
    entries = sorted((e for e in memory_map["images"]
                      if e.get("layer") == layer and e.get("kind") == kind),
                     key=lambda e: e.get("pe", 0))
    if not entries:
        raise NetworkError(layer, kind, "no image in the memory map")
    return [parse_hex(files[e["file"]], e["file"]) for e in entries]


class _Node:
    """A built engine: its component, input stream names and output stream."""

    def __init__(self, name, component, inputs):
        self.name, self.component, self.inputs = name, component, inputs


class StreamingNetwork(wiring.Component):
    """A whole compiled network as one streaming component; see the module docstring.

    Parameters
    ----------
    compiled : CompiledNetwork
    plan : FoldingPlan
        ``PE``/``SIMD`` per matrix layer (the one the images were made with).
    files, memory_map
        ``bnnhw.compiler.memory_images(compiled, plan)``: the ROM contents are taken from these
        images, so the Verilog holds exactly what the build folder's ``.hex`` files say.

    Members
    -------
    i : In(stream.Signature(unsigned(input_format.bits)))
    o : Out(stream.Signature(unsigned(label_width + logits_format.bits)))
    """

    def __init__(self, compiled, plan, files, memory_map):
        self._compiled, self._plan = compiled, plan
        self._files, self._memory_map = files, memory_map
        self._foldings = plan.by_layer
        self._budget = plan.cycles_per_inference
        self._formats = {}
        self._nodes = []
        self._links = []          # (source stream getter, destination stream getter)
        self._outputs = {}        # value name -> callable giving its output stream
        self._build()
        super().__init__({
            "i": In(stream.Signature(unsigned(self.input_format.bits))),
            "o": Out(stream.Signature(unsigned(self.label_width + self.logits_format.bits))),
        })

    # --- public description ----------------------------------------------------------------

    input_format = property(lambda self: self._formats["input"])
    input_shape = property(lambda self: tuple(int(n) for n in self._value("input").shape),
                           doc="``(C, H, W)`` of one input image.")
    input_range = property(lambda self: (int(self._value("input").lo),
                                         int(self._value("input").hi)),
                           doc="``(lo, hi)`` of an input element (the model's input range).")
    logits_format = property(lambda self: self._formats[self._compiled.output])
    label_width = property(lambda self: max(1, ceil_log2(self.classes)))
    classes = property(lambda self: self._formats[self._compiled.output].elements)
    cycles_per_inference = property(lambda self: self._budget,
                                    doc="The plan's initiation interval (slowest matrix layer).")

    @property
    def engines(self):
        """``[(value name, component)]`` in execution order: each engine's ``o`` stream carries
        that compiled value as pixel vectors (:meth:`format_of`); a fused threshold engine
        carries the threshold's value."""
        return [(node.name, node.component) for node in self._nodes]

    def format_of(self, value):
        """:class:`PixelFormat` of a compiled value's stream."""
        return self._formats[value]

    # --- construction ----------------------------------------------------------------------

    def _value(self, name):
        return self._compiled.values[name]

    def _format(self, name):
        value = self._value(name)
        if value.kind == "bits":
            return PixelFormat(value.shape[0], unsigned(1))
        return PixelFormat.for_range(value.shape[0], value.lo, value.hi)

    def _add(self, name, component, inputs):
        node = _Node(name, component, inputs)
        self._nodes.append(node)
        return node

    def _build(self):
        compiled = self._compiled
        layers = compiled.layers
        consumers = {}
        for layer in layers:
            for source in layer.inputs:
                consumers.setdefault(source, []).append(layer)
        self._consumers = consumers
        self._formats["input"] = self._format("input")
        fused = {}
        for layer in layers:
            users = consumers.get(layer.name, [])
            if layer.op in ("binary_conv2d", "binary_dense") and len(users) == 1 \
                    and users[0].op == "threshold" and users[0].params["offset"] == 0:
                fused[layer.name] = users[0].name
            # an int8 convolution read only by its threshold: threshold units on the MAC's lanes
            if layer.op == "int8_conv2d" and len(users) == 1 and users[0].op == "threshold":
                fused[layer.name] = users[0].name
        skipped = set(fused.values())
        self._fused = fused
        # a global pool of bits read only by an int8 dense layer: one engine for both (the plan
        # marks such dense layers, ``bnnhw.compiler.pooled_dense_layers``)
        by_name = compiled.layer
        self._pooled = {f.layer: by_name[by_name[f.layer].inputs[0]]
                        for f in self._plan.layers if f.pooled}
        skipped |= {pool.name for pool in self._pooled.values()}

        # one stream per value; values with several readers get a fork
        self._sources = {"input": ("top", None)}
        for layer in layers:
            if layer.name in skipped:
                continue
            builder = getattr(self, "_build_" + layer.op, None)
            if builder is None:
                raise NetworkError(layer.name, "op", f"{layer.op!r} layers have no hardware "
                                                     f"engine yet")
            out_name = fused.get(layer.name, layer.name)
            self._formats[out_name] = self._format(out_name)
            inputs = list(layer.inputs)
            if layer.name in self._pooled:
                builder = self._build_pooled_int8_dense
                inputs = list(self._pooled[layer.name].inputs)
            component = builder(layer, out_name)
            self._add(out_name, component, inputs)

        output = compiled.output
        out_value = self._value(output)
        if out_value.kind != "int" or tuple(out_value.shape[1:]) != (1, 1):
            raise NetworkError(output, "output", f"the network must end in a (classes, 1, 1) "
                                                 f"integer vector, got {out_value.kind} "
                                                 f"{out_value.shape}")
        self._build_head(output)

        # readers per value (after fusion) -> forks
        readers = {}
        for node in self._nodes:
            for k, source in enumerate(node.inputs):
                readers.setdefault(source, []).append((node, k))
        self._readers = readers

    # --- engines per op --------------------------------------------------------------------

    def _takes_pixels_at_once(self, layer):
        """Whether ``layer``'s engine accepts an input pixel in one cycle whenever it has room
        (a line buffer, a FIFO, a register stage), rather than holding it while it works through
        it (serializers, the pooled dense layer)."""
        if layer.op in ("add", "concat", "maxpool", "clip", "pa_bases"):
            return True
        if layer.op == "permute":
            return not self._slow_readers(layer.name)
        if layer.op == "global_pool":       # fused into its dense layer: a pixel buffer
            return any(pool.name == layer.name for pool in self._pooled.values())
        if layer.op in ("binary_conv2d", "int8_conv2d", "panet_conv2d"):
            c, h, w, kernel, stride, padding = self._geometry(layer)
            return not (kernel == (1, 1) and stride == (1, 1) and padding == (0, 0)) \
                and not (kernel == (h, w) and h * w == 1 and padding == (0, 0))
        return False

    def _slow_readers(self, value):
        """Whether some reader of ``value`` holds its pixels: then the producer's output
        deserializer keeps a second buffer so that it can collect the next pixel meanwhile (one
        buffer otherwise: the reader frees it in the cycle it is full)."""
        readers = self._consumers.get(value, [])
        if value == self._compiled.output:
            return True         # the argmax head holds the logits one cycle per class
        return not readers or not all(self._takes_pixels_at_once(r) for r in readers)

    def _window_or_serializer(self, layer, fmt, *, channels_bits, height, width, kernel, stride,
                              padding, pad_bit, groups, simd_bits, repeat=1):
        """A serializer (1x1 convolutions, dense layers on a 1x1 map) or a sliding window; a
        window sends each (group's) window ``repeat`` times, once per neuron fold of a
        ``reread`` MVU (no vector buffer)."""
        (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
        if (kh, kw) == (1, 1) and (sh, sw) == (1, 1) and (ph, pw) == (0, 0):
            return Serializer(elements=channels_bits // simd_bits, width=simd_bits, lanes=1,
                              registered=False)
        if (kh, kw) == (height, width) and (ph, pw) == (0, 0) and height * width == 1:
            return Serializer(elements=channels_bits // simd_bits, width=simd_bits, lanes=1,
                              registered=False)
        # chunked line buffer when it needs fewer block RAMs and the writer keeps pace
        rows = default_buffer_rows(height, kernel[0], stride[0], padding[0])
        chunks = channels_bits // simd_bits
        chunked = chunks > 1 and height * width * chunks <= self._budget and \
            block_rams(simd_bits, rows * width * chunks) < block_rams(channels_bits, rows * width)
        return SlidingWindow(channels=channels_bits, height=height, width=width, kernel=kernel,
                             stride=stride, padding=padding, pad_bit=pad_bit, simd=simd_bits,
                             groups=groups, chunked_buffer=chunked, repeat=repeat)

    def _geometry(self, layer):
        c, h, w = self._value(layer.inputs[0]).shape
        if layer.op.endswith("dense"):
            return c, h, w, (h, w), (1, 1), (0, 0)
        # a PA-Net layer's kernel is the last two axes of its (M, C_out, C/g, kh, kw) bases
        weight = layer.params["weight_bases"][0] if layer.op == "panet_conv2d" else \
            layer.params["weight"]
        pair = lambda v: (int(v), int(v)) if np.isscalar(v) else tuple(int(x) for x in v)  # noqa
        return c, h, w, tuple(weight.shape[2:]), pair(layer.params["stride"]), \
            pair(layer.params["padding"])

    def _build_binary_conv2d(self, layer, out_name):
        folding = self._foldings[layer.name]
        c, h, w, kernel, stride, padding = self._geometry(layer)
        groups = int(layer.params.get("groups", 1))
        pad_bit = 1 if int(layer.params.get("pad_value", 1)) == 1 else 0
        window = self._window_or_serializer(
            layer, self._formats[layer.inputs[0]], channels_bits=c, height=h, width=w,
            kernel=kernel, stride=stride, padding=padding, pad_bit=pad_bit, groups=groups,
            simd_bits=folding.simd, repeat=folding.rows // folding.pe // groups)
        reread = getattr(window, "repeat", 1) > 1
        rows, pe = folding.rows, folding.pe
        dot = layer.params.get("dot", "xnor")
        out_fmt = self._formats[out_name]
        if out_name != layer.name:      # fused threshold
            core = BinaryMVTU.from_images(self._files, self._memory_map, layer.name, out_name,
                                          op=dot, reread=reread)
            k = core.slices
            collect = Deserializer(elements=rows, width=k, lanes=pe,
                                   double_buffered=self._slow_readers(out_name))
            order = [r * k + n for n in range(k) for r in range(rows)]
            return Chain([window, core, collect], in_shape=unsigned(c), out_shape=unsigned(
                out_fmt.bits), output=lambda v: permute_bits(v, order))
        words = _images(self._files, self._memory_map, layer.name, "weights")
        core = BinaryMVAU(fan_in=folding.fan_in, rows=rows, pe=pe, simd=folding.simd,
                          words=words, op=dot, groups=groups, reread=reread)
        collect = Deserializer(elements=rows, width=core.count_width, lanes=pe,
                               double_buffered=self._slow_readers(out_name))
        return Chain([window, core, collect], in_shape=unsigned(c),
                     out_shape=unsigned(out_fmt.bits),
                     output=lambda v: self._repack(v, PixelFormat(rows, unsigned(
                         core.count_width)), out_fmt))

    _build_binary_dense = _build_binary_conv2d

    def _repack(self, payload, src, dst):
        """Pixel vector ``payload`` in format ``src`` re-expressed in ``dst`` (same elements)."""
        if src.shape == dst.shape:
            return payload
        return Cat(*(convert(element(payload, src, e), src.shape, dst.shape)
                     for e in range(src.elements)))

    def _build_int8_conv2d(self, layer, out_name):
        folding = self._foldings[layer.name]
        in_fmt = self._formats[layer.inputs[0]]
        in_value = self._value(layer.inputs[0])
        if in_value.lo < -128 or in_value.hi > 127:
            raise NetworkError(layer.name, "input", f"int8 layers need inputs in [-128, 127], "
                                                    f"the input ranges over [{in_value.lo}, "
                                                    f"{in_value.hi}]")
        c, h, w, kernel, stride, padding = self._geometry(layer)
        groups = int(layer.params.get("groups", 1))
        pe, simd = folding.pe, folding.simd
        depthwise = folding.depthwise
        if groups > 1 and not depthwise:
            raise NetworkError(layer.name, "groups", f"grouped int8 convolutions are built only "
                                                     f"depthwise (groups == channels), got "
                                                     f"groups={groups}")
        if depthwise:
            window = self._window_or_serializer(
                layer, in_fmt, channels_bits=8 * c, height=h, width=w, kernel=kernel,
                stride=stride, padding=padding, pad_bit=0, groups=c // pe, simd_bits=8 * pe)
        else:
            window = self._window_or_serializer(
                layer, in_fmt, channels_bits=8 * c, height=h, width=w, kernel=kernel,
                stride=stride, padding=padding, pad_bit=0, groups=1, simd_bits=8 * simd,
                repeat=folding.rows // pe)
        words = _images(self._files, self._memory_map, layer.name, "weights")
        bias = [int(b) for b in np.asarray(layer.params["bias"]).ravel()]
        core = Int8MAC(weights=words, bias=bias, fan_in=folding.fan_in, pe=pe, simd=simd,
                       depthwise=depthwise, input_range=(int(in_value.lo), int(in_value.hi)),
                       reread=not depthwise and getattr(window, "repeat", 1) > 1)
        if out_name != layer.name:      # fused threshold: PE lanes of threshold units
            lanes, k, width = self._threshold_lanes(self._compiled.layer[out_name], pe,
                                                       signed(32))
            collect = Deserializer(elements=folding.rows, width=k, lanes=pe,
                                   double_buffered=self._slow_readers(out_name))
            order = [r * k + n for n in range(k) for r in range(folding.rows)]
            return Chain([window, core, lanes, collect], in_shape=unsigned(in_fmt.bits),
                         out_shape=unsigned(self._formats[out_name].bits),
                         input=lambda v: self._repack(v, in_fmt, PixelFormat(c, signed(8))),
                         output=lambda v: permute_bits(v, order))
        collect = Deserializer(elements=folding.rows, width=32, lanes=pe,
                               double_buffered=self._slow_readers(out_name))
        out_fmt = self._formats[out_name]
        int8 = PixelFormat(c, signed(8))
        return Chain([window, core, collect], in_shape=unsigned(in_fmt.bits),
                     out_shape=unsigned(out_fmt.bits),
                     input=lambda v: self._repack(v, in_fmt, int8),
                     output=lambda v: self._repack(v, PixelFormat(folding.rows, signed(32)),
                                                   out_fmt))

    _build_int8_dense = _build_int8_conv2d

    def _build_pooled_int8_dense(self, layer, out_name):
        folding = self._foldings[layer.name]
        pool = self._pooled[layer.name]
        c, h, w = self._value(pool.inputs[0]).shape
        words = _images(self._files, self._memory_map, layer.name, "weights")
        bias = [int(b) for b in np.asarray(layer.params["bias"]).ravel()]
        core = PooledInt8Dense(weights=words, bias=bias, channels=c, positions=h * w,
                               pe=folding.pe, simd=folding.simd)
        out_fmt = self._formats[out_name]
        return Chain([core], in_shape=unsigned(c), out_shape=unsigned(out_fmt.bits),
                     output=lambda v: self._repack(v, PixelFormat(core.rows, signed(core.width)),
                                                   out_fmt))

    def _build_pa_bases(self, layer, out_name):
        in_fmt = self._formats[layer.inputs[0]]
        endpoints = np.asarray(layer.params["endpoints"], np.int64)
        n, c = endpoints.shape

        def bases(payload):
            return piece_indicators([element(payload, in_fmt, ch) for ch in range(c)],
                                    endpoints)

        return PixelMap(bases, in_bits=in_fmt.bits, out_bits=n * c)

    def _build_panet_conv2d(self, layer, out_name):
        folding = self._foldings[layer.name]
        p = layer.params
        n = int(p["activation_bases"])
        nc, h, w = self._value(layer.inputs[0]).shape
        c = nc // n
        if int(p.get("groups", 1)) != 1:
            raise NetworkError(layer.name, "groups", f"grouped PA-Net convolutions have no "
                                                     f"engine yet, got groups={p['groups']}")
        weight = p["weight_bases"]
        pair = lambda v: (int(v), int(v)) if np.isscalar(v) else tuple(int(x) for x in v)  # noqa
        simd = folding.simd
        window = self._window_or_serializer(
            layer, None, channels_bits=nc, height=h, width=w, kernel=tuple(weight.shape[3:]),
            stride=pair(p["stride"]), padding=pair(p["padding"]), pad_bit=0, groups=1,
            simd_bits=n * simd)
        words = _images(self._files, self._memory_map, layer.name, "weights")
        core = PANetMVU(words=words, phi=p["phi"], fan_in=folding.fan_in, rows=folding.rows,
                        pe=folding.pe, simd=simd)
        collect = Deserializer(elements=folding.rows, width=core.output_shape.width,
                               lanes=folding.pe, double_buffered=self._slow_readers(out_name))
        out_fmt = self._formats[out_name]
        channel_major = [j * c + ch for ch in range(c) for j in range(n)]   # bit ch*N + j
        split = [s * n + j for j in range(n) for s in range(simd)]           # base j at j*simd
        return Chain([window, core, collect], in_shape=unsigned(nc),
                     out_shape=unsigned(out_fmt.bits),
                     input=lambda v: permute_bits(v, channel_major),
                     adapters=[lambda v: permute_bits(v, split), None],
                     output=lambda v: self._repack(
                         v, PixelFormat(folding.rows, core.output_shape), out_fmt))

    def _channel_engine(self, layer, out_name, make_unit, *, unit_in, unit_out, out_slices=1,
                        pre=None):
        """Serializer -> ``L`` lanes of per-channel units -> Deserializer (-> slice order)."""
        in_fmt = self._formats[layer.inputs[0]]
        c, h, w = self._value(layer.inputs[0]).shape
        lanes = _lanes(c, h * w, self._budget)
        units = [make_unit(np.arange(lane, c, lanes)) for lane in range(lanes)]
        unit_in, unit_out = Shape.cast(unit_in), Shape.cast(unit_out)
        to_unit = pre or (lambda v: convert(v, in_fmt.shape, unit_in))
        array = LaneArray(units, in_width=in_fmt.width, out_width=unit_out.width,
                          pre=lambda v, lane: to_unit(v.as_signed() if in_fmt.shape.signed
                                                      else v))
        serial = Serializer(elements=c, width=in_fmt.width, lanes=lanes,
                            registered=False)
        collect = Deserializer(elements=c, width=unit_out.width, lanes=lanes,
                               double_buffered=self._slow_readers(out_name))
        out_fmt = self._formats[out_name]
        if out_slices > 1:
            k = out_slices
            order = [ch * k + n for n in range(k) for ch in range(c)]
            output = lambda v: permute_bits(v, order)  # noqa: E731
        else:
            output = lambda v: self._repack(v, PixelFormat(c, unit_out), out_fmt)  # noqa: E731
        return Chain([serial, array, collect], in_shape=unsigned(in_fmt.bits),
                     out_shape=unsigned(out_fmt.bits), output=output)

    def _threshold_parts(self, layer, in_shape):
        """``(make_unit(channels), k, width, pre)`` of a threshold layer: units for a subset of
        channels, slices per channel, popcount width, and the map of an input element of
        ``in_shape`` to the unit's input (subtract the offset; exact, the difference lies in
        ``[0, fan_in]``)."""
        st = layer.params["thresholds"]
        offset = int(layer.params["offset"])
        threshold = np.asarray(st.threshold)
        invert = np.asarray(st.invert)
        k = 1 if threshold.ndim == 1 else threshold.shape[0]
        width = max(1, int(st.fan_in).bit_length())

        def unit(channels):
            return ThresholdUnit(fan_in=int(st.fan_in), threshold=threshold[..., channels],
                                 invert=invert[..., channels], width=width)

        def pre(v):
            return (v - offset)[:width] if Shape.cast(in_shape).signed or offset else v[:width]

        return unit, k, width, pre

    def _threshold_lanes(self, layer, lanes, in_shape):
        """``(LaneArray, k, width)``: ``lanes`` threshold units, lane ``l`` for channels ``l, l +
        lanes, ..`` (a MAC's PE lanes), each lane's input an element of ``in_shape``."""
        unit, k, width, pre = self._threshold_parts(layer, in_shape)
        channels = self._value(layer.inputs[0]).shape[0]
        in_width = Shape.cast(in_shape).width
        array = LaneArray([unit(np.arange(lane, channels, lanes)) for lane in range(lanes)],
                          in_width=in_width, out_width=k,
                          pre=lambda v, lane: pre(v.as_signed() if Shape.cast(in_shape).signed
                                                  else v))
        return array, k, width

    def _build_threshold(self, layer, out_name):
        in_fmt = self._formats[layer.inputs[0]]
        unit, k, width, pre = self._threshold_parts(layer, in_fmt.shape)
        return self._channel_engine(layer, out_name, unit, unit_in=unsigned(width),
                                    unit_out=unsigned(k), out_slices=k, pre=pre)

    def _build_requantize(self, layer, out_name):
        p = layer.params
        multiplier = np.asarray(p["multiplier"]).ravel()
        return self._channel_engine(
            layer, out_name,
            lambda ch: Requantize(multiplier=multiplier[ch].tolist(), shift=int(p["shift"])),
            unit_in=signed(32), unit_out=signed(8))

    def _build_quantized_bn(self, layer, out_name):
        p = layer.params
        scale, bias = np.asarray(p["scale"]).ravel(), np.asarray(p["bias"]).ravel()
        return self._channel_engine(
            layer, out_name,
            lambda ch: QuantizedBN(scale=scale[ch].tolist(), bias=bias[ch].tolist(),
                                   frac_bits=int(p["frac_bits"])),
            unit_in=signed(8), unit_out=signed(8))

    def _build_dprelu(self, layer, out_name):
        p = layer.params
        arrays = {key: np.asarray(p[key]).ravel() for key in ("alpha", "beta", "eta", "gamma")}
        return self._channel_engine(
            layer, out_name,
            lambda ch: DPReLU(**{key: a[ch].tolist() for key, a in arrays.items()},
                              frac_bits=int(p["frac_bits"])),
            unit_in=signed(8), unit_out=signed(8))

    def _build_global_pool(self, layer, out_name):
        c, h, w = self._value(layer.inputs[0]).shape
        count = ceil_log2(h * w + 1)
        lanes = _lanes(c, h * w, self._budget)
        return self._channel_engine(
            layer, out_name,
            lambda ch: GlobalPopcountPool(channels=c // lanes, positions=h * w),
            unit_in=unsigned(1), unit_out=unsigned(count))

    def _build_clip(self, layer, out_name):
        in_fmt, out_fmt = self._formats[layer.inputs[0]], self._formats[out_name]
        fan_in, bound = int(layer.params["fan_in"]), int(layer.params["bound"])

        def clip(payload):
            return Cat(*(convert(clip_dot(element(payload, in_fmt, e), in_fmt.shape, fan_in,
                                          bound), signed(clip_width(fan_in, bound)),
                                 out_fmt.shape)
                         for e in range(in_fmt.elements)))

        return PixelMap(clip, in_bits=in_fmt.bits, out_bits=out_fmt.bits)

    def _joined(self, layer, out_name, combine, *, registered=True):
        """Join of the inputs (each behind a FIFO) -> PixelMap(``combine``)."""
        fmts = [self._formats[name] for name in layer.inputs]
        join = Join(shapes=[unsigned(f.bits) for f in fmts], registered=False)   # FIFOs in
        out_fmt = self._formats[out_name]
        offsets = np.cumsum([0] + [f.bits for f in fmts])

        def fn(payload):
            parts = [payload[offsets[k]:offsets[k + 1]] for k in range(len(fmts))]
            return combine(parts, fmts, out_fmt)

        mapper = PixelMap(fn, in_bits=int(offsets[-1]), out_bits=out_fmt.bits,
                          registered=registered)
        return _JoinEngine(join, mapper, [f.bits for f in fmts], out_fmt.bits,
                           depth=2 * int(np.prod(self._value(out_name).shape[1:])) + 4)

    def _build_add(self, layer, out_name):
        bound = 127

        def add(parts, fmts, out_fmt):
            return Cat(*(convert(saturating_sum(element(parts[0], fmts[0], e),
                                                element(parts[1], fmts[1], e), bound),
                                 signed(8), out_fmt.shape)
                         for e in range(out_fmt.elements)))

        return self._joined(layer, out_name, add)

    def _build_concat(self, layer, out_name):
        def concat(parts, fmts, out_fmt):
            return Cat(*(self._repack(part, fmt, PixelFormat(fmt.elements, out_fmt.shape))
                         for part, fmt in zip(parts, fmts)))

        return self._joined(layer, out_name, concat, registered=False)   # wiring

    def _build_permute(self, layer, out_name):
        in_fmt = self._formats[layer.inputs[0]]
        order = [int(j) for j in np.asarray(layer.params["order"]).ravel()]
        bits = [j * in_fmt.width + b for j in order for b in range(in_fmt.width)]
        return PixelMap(lambda v: permute_bits(v, bits), in_bits=in_fmt.bits,
                        out_bits=len(bits), registered=False)

    def _build_maxpool(self, layer, out_name):
        c, h, w = self._value(layer.inputs[0]).shape
        kernel = layer.params["kernel"]
        kernel = (int(kernel), int(kernel)) if np.isscalar(kernel) else tuple(map(int, kernel))
        stride = layer.params.get("stride", kernel)
        stride = (int(stride), int(stride)) if np.isscalar(stride) else tuple(map(int, stride))
        if stride == kernel and h % kernel[0] == 0 and w % kernel[1] == 0:
            return StreamingMaxPool(channels=c, height=h, width=w, kernel=kernel,
                                    registered=False)
        window = SlidingWindow(channels=c, height=h, width=w, kernel=kernel, stride=stride,
                               padding=0, pad_bit=0, simd=c)
        taps = kernel[0] * kernel[1]
        collect = Deserializer(elements=taps, width=c, lanes=1, double_buffered=False)
        order = [t * c + lane for lane in range(c) for t in range(taps)]
        pool = BinaryMaxPool(kernel=kernel, lanes=c)
        return Chain([window, collect, pool], in_shape=unsigned(c), out_shape=unsigned(c),
                     adapters=[None, lambda v: permute_bits(v, order)])

    def _build_head(self, output):
        """Logits -> (argmax, logits) on ``o``."""
        self._head = ArgmaxHead(self._formats[output], self.label_width)

    # --- wiring ----------------------------------------------------------------------------

    def elaborate(self, platform):
        m = Module()
        streams = {"input": [self.i]}     # value -> list of output streams (one per reader)

        def connect(src, dst):
            m.d.comb += [dst.valid.eq(src.valid), dst.payload.eq(src.payload),
                         src.ready.eq(dst.ready)]

        produced = {"input": self.i}
        for node in self._nodes:
            m.submodules[node.name.replace(".", "_")] = node.component
            produced[node.name] = node.component.o
        m.submodules.head = head = self._head

        readers = {name: list(r) for name, r in self._readers.items()}
        readers.setdefault(self._compiled.output, []).append(("head", 0))
        for name, users in readers.items():
            source = produced[name]
            if len(users) == 1:
                streams[name] = [source]
            else:
                fork = Fork(shape=unsigned(self._formats[name].bits), outputs=len(users),
                            registered=False)
                m.submodules[f"fork_{name.replace('.', '_')}"] = fork
                connect(source, fork.i)
                streams[name] = [getattr(fork, f"o{k}") for k in range(len(users))]
        taken = {name: 0 for name in streams}

        def next_stream(name):
            stream_ = streams[name][taken[name]]
            taken[name] += 1
            return stream_

        for node in self._nodes:
            component = node.component
            if isinstance(component, _JoinEngine):
                for k, source in enumerate(node.inputs):
                    connect(next_stream(source), getattr(component, f"i{k}"))
            else:
                connect(next_stream(node.inputs[0]), component.i)
        connect(next_stream(self._compiled.output), head.i)
        connect(head.o, self.o)
        return m


class ArgmaxHead(wiring.Component):
    """The network's output stage: a logits pixel vector in, ``{label, logits}`` out.

    Compares one class of the input's logits per cycle against the best so far (strictly greater
    wins, so ties go to the lowest index, as ``numpy.argmax``), then presents the label in the low
    ``label_width`` bits with the input's logits above; the input and the output transfer
    together (``o.valid = i.valid & done``, ``i.ready = done & o.ready``). It keeps no copy of
    the logits: the stream rule holds the producer's payload until it transfers, so only the
    best value, its index and a counter are registers. Takes ``classes`` cycles per image before
    ``o.valid``, ``classes + 1`` with the transfer (``FoldingPlan.head_cycles``: the interval of
    a network whose other stages are faster, e.g. no matrix layer and many classes).
    """

    def __init__(self, fmt, label_width):
        self._fmt, self._label_width = fmt, label_width
        super().__init__({
            "i": In(stream.Signature(unsigned(fmt.bits))),
            "o": Out(stream.Signature(unsigned(label_width + fmt.bits))),
        })

    def elaborate(self, platform):
        m = Module()
        fmt, classes = self._fmt, self._fmt.elements
        done = Signal()
        index = Signal(range(max(2, classes)))
        best = Signal(fmt.shape)
        best_index = Signal(self._label_width)
        current = Signal(fmt.shape)
        m.d.comb += current.eq(Array(element(self.i.payload, fmt, e)
                                     for e in range(classes))[index])
        m.d.comb += [self.o.valid.eq(self.i.valid & done),
                     self.i.ready.eq(done & self.o.ready),
                     self.o.payload.eq(Cat(best_index, self.i.payload))]
        with m.If(self.i.valid & ~done):
            with m.If((index == 0) | (current > best)):
                m.d.sync += [best.eq(current), best_index.eq(index)]
            m.d.sync += index.eq(index + 1)
            with m.If(index == classes - 1):
                m.d.sync += done.eq(1)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += [done.eq(0), index.eq(0)]
        return m


class _JoinEngine(wiring.Component):
    """FIFO per input -> :class:`~.streams.Join` -> :class:`~.engines.PixelMap`."""

    def __init__(self, join, mapper, in_bits, out_bits, *, depth):
        self._join, self._mapper = join, mapper
        self._fifos = [StreamFIFO(shape=unsigned(bits), depth=depth) for bits in in_bits]
        members = {f"i{k}": In(stream.Signature(unsigned(bits))) for k, bits in enumerate(in_bits)}
        members["o"] = Out(stream.Signature(unsigned(out_bits)))
        super().__init__(members)

    fifo_depth = property(lambda self: self._fifos[0].depth if self._fifos else 0)

    def elaborate(self, platform):
        m = Module()
        m.submodules.join = self._join
        m.submodules.map = self._mapper
        for k, fifo in enumerate(self._fifos):
            m.submodules[f"fifo{k}"] = fifo
            wiring.connect(m, wiring.flipped(getattr(self, f"i{k}")), fifo.i)
            wiring.connect(m, fifo.o, getattr(self._join, f"i{k}"))
        wiring.connect(m, self._join.o, self._mapper.i)
        wiring.connect(m, self._mapper.o, wiring.flipped(self.o))
        return m

