"""One builder per engine op: a :class:`~bnnhw.compiler.hardware.Engine` of the plan (read as
data) -> its Amaranth component, a stream ``i`` (or ``i0, i1, ..`` for a join) in and ``o`` out.

Matrix engines: a sliding window or serializer, the matrix unit built on the plan's per-PE ROM
words (``BinaryMVAU``, ``BinaryMVTU`` with a fused threshold, ``Int8MAC`` with threshold lanes
when fused, ``PooledInt8Dense`` with its pool, ``PANetMVU``) and a deserializer. Per-channel
engines: a serializer, the plan's lanes of units, a deserializer. Joins: a FIFO per input.
Permutations, slices and concatenations are wiring.
"""

import numpy as np
from amaranth.hdl import Cat, Shape, signed, unsigned
from amaranth.utils import ceil_log2

from ..engines import Chain, LaneArray, PixelFormat, PixelMap, convert, element, permute_bits
from ..fixed import DPReLU, QuantizedBN, Requantize
from ..int8mac import Int8MAC
from ..mvau import BinaryMVAU
from ..mvtu import BinaryMVTU
from ..panet import PANetMVU
from ..pool import BinaryMaxPool, GlobalPopcountPool, StreamingMaxPool
from ..pooldense import PooledInt8Dense
from ..streams import Deserializer, Join, Serializer, SkidBuffer, StreamFIFO
from ..threshold import ThresholdUnit
from ..window import SlidingWindow, block_rams, default_buffer_rows
from ..window_parallel import ParallelWindow
from . import NetworkError
from .stages import JoinEngine, clip_dot, clip_width, piece_indicators, saturating_sum

__all__ = ["build_engine"]


def build_engine(graph, engine):
    """The component of ``engine`` (a plan engine) in ``graph`` (a ``NetworkGraph``)."""
    builder = _BUILDERS.get(engine.op)
    if builder is None:
        raise NetworkError(engine.layers[0], "op", f"{engine.op!r} layers have no hardware "
                                                   f"engine yet")
    if engine.pool_layer is not None:
        builder = _pooled_int8_dense
    return builder(graph, engine)


def _repack(payload, src, dst):
    """Pixel vector ``payload`` in format ``src`` re-expressed in ``dst`` (same elements)."""
    if src.shape == dst.shape:
        return payload
    return Cat(*(convert(element(payload, src, e), src.shape, dst.shape)
                 for e in range(src.elements)))


def _window_or_serializer(graph, *, channels_bits, geometry, pad_bit, groups, simd_bits,
                          repeat=1, zero_pad=False, replays=1):
    """A serializer (1x1 convolutions, dense layers on a 1x1 map), a whole-window unit (a
    transfer of ``simd_bits`` carries the whole window) or a sliding window; a window sends
    each (group's) window ``repeat`` times, once per neuron fold of a ``reread`` MVU (no
    vector buffer); ``replays``: cycles the consumer spends on each transfer beyond taking it
    (neuron folds replayed from its own buffer)."""
    height, width = geometry.height, geometry.width
    kernel, stride, padding = geometry.kernel, geometry.stride, geometry.padding
    if kernel == (1, 1) and stride == (1, 1) and padding == (0, 0):
        return Serializer(elements=channels_bits // simd_bits, width=simd_bits, lanes=1,
                          registered=False)
    if kernel == (height, width) and padding == (0, 0) and height * width == 1:
        return Serializer(elements=channels_bits // simd_bits, width=simd_bits, lanes=1,
                          registered=False)
    whole = kernel[0] * kernel[1] * channels_bits
    if kernel[0] * kernel[1] > 1 and not zero_pad and simd_bits in (whole, whole // groups):
        return _whole_window(graph, channels_bits=channels_bits, geometry=geometry,
                             pad_bit=pad_bit, groups=groups, simd_bits=simd_bits, repeat=repeat,
                             replays=replays)
    # chunked line buffer when it needs fewer block RAMs and the writer keeps pace
    rows = default_buffer_rows(height, kernel[0], stride[0], padding[0])
    chunks = channels_bits // simd_bits
    chunked = chunks > 1 and height * width * chunks <= graph.budget and \
        block_rams(simd_bits, rows * width * chunks) < block_rams(channels_bits, rows * width)
    return SlidingWindow(channels=channels_bits, height=height, width=width, kernel=kernel,
                         stride=stride, padding=padding, pad_bit=pad_bit, simd=simd_bits,
                         groups=groups, chunked_buffer=chunked, repeat=repeat,
                         **({"zero_pad": True} if zero_pad else {}))


def _whole_window(graph, *, channels_bits, geometry, pad_bit, groups, simd_bits, repeat,
                  replays=1):
    """A :class:`ParallelWindow`: the whole window (or one group's) per transfer. When the
    consumer spends more than one cycle per window (``G`` group transfers, ``repeat`` neuron
    folds), windows go out whole into a FIFO as deep as their bursts need
    (:meth:`ParallelWindow.window_backlog` at the network's cycles per inference), then a
    serializer splits them into groups; the matrix unit replays each vector from its own
    buffer (no ``repeat``), so the window never holds its producer. In a full-rate network a
    register slice follows (:class:`SkidBuffer`): the matrix unit's stall then stops at it
    instead of also enabling every register of the window (boolnet at 64 cycles per inference:
    that path, 16.8 ns of mostly routing, set the clock after the popcount trees were
    pipelined)."""
    g = geometry
    whole = g.kernel[0] * g.kernel[1] * channels_bits
    service = whole // simd_bits * repeat * replays
    window = ParallelWindow(channels=channels_bits, height=g.height, width=g.width,
                            kernel=g.kernel, stride=g.stride, padding=g.padding,
                            pad_bit=pad_bit, groups=groups,
                            **({"simd": simd_bits, "repeat": repeat} if service == 1 else {}))
    slice_ = [SkidBuffer(shape=unsigned(simd_bits))] if graph.full_rate else []
    if service == 1:
        if not slice_:
            return window
        return Chain([window, *slice_], in_shape=unsigned(channels_bits),
                     out_shape=unsigned(simd_bits))
    stages = [window]
    backlog = window.window_backlog(graph.budget, service)
    if backlog > 1:
        stages.append(StreamFIFO(shape=unsigned(whole), depth=max(3, backlog)))
    if simd_bits < whole:
        stages.append(Serializer(elements=whole // simd_bits, width=simd_bits, lanes=1,
                                 registered=False))
    return Chain(stages + slice_, in_shape=unsigned(channels_bits),
                 out_shape=unsigned(simd_bits))


def _binary_matrix(graph, engine):
    folding, g = engine.folding, engine.geometry
    together = folding.all_groups        # every group at once: one unit per group, side by side
    window = _window_or_serializer(
        graph, channels_bits=g.channels, geometry=g, pad_bit=g.pad_bit, groups=g.groups,
        simd_bits=folding.simd * (g.groups if together else 1),
        repeat=1 if together else folding.rows // folding.pe // g.groups, zero_pad=g.zero_pad)
    reread = getattr(window, "repeat", 1) > 1
    rows, pe = folding.rows, folding.pe
    out_fmt = graph.formats[engine.name]
    double = graph.slow_readers(engine.name)
    stages = _popcount_stages(graph, engine)
    if together:
        core = _group_lanes(engine, stages)
        k = engine.thresholds.slices if engine.threshold_layer is not None else 0
    if engine.threshold_layer is not None:      # fused threshold: per-PE threshold ROMs
        thresholds = engine.thresholds
        if not together:
            core = BinaryMVTU(fan_in=folding.fan_in, rows=rows, pe=pe, simd=folding.simd,
                              **_weights(engine, engine.weights), op=g.dot,
                              threshold_words=[list(w) for w in thresholds.words],
                              slices=thresholds.slices, threshold_width=thresholds.width,
                              groups=folding.groups, reread=reread, zero_pad=g.zero_pad,
                              stages=stages)
            k = core.slices
        collect = Deserializer(elements=rows, width=k, lanes=pe, double_buffered=double)
        order = [r * k + n for n in range(k) for r in range(rows)]
        return Chain([window, core, *_core_slice(graph, core), collect],
                     in_shape=unsigned(g.channels), out_shape=unsigned(out_fmt.bits),
                     output=lambda v: permute_bits(v, order))
    if not together:
        core = BinaryMVAU(fan_in=folding.fan_in, rows=rows, pe=pe, simd=folding.simd,
                          **_weights(engine, engine.weights), op=g.dot, groups=g.groups,
                          reread=reread, zero_pad=g.zero_pad, stages=stages)
    count_width = ceil_log2(folding.fan_in + 1) if together else core.count_width
    collect = Deserializer(elements=rows, width=count_width, lanes=pe,
                           double_buffered=double)
    return Chain([window, core, *_core_slice(graph, core), collect],
                 in_shape=unsigned(g.channels), out_shape=unsigned(out_fmt.bits),
                 output=lambda v: _repack(v, PixelFormat(rows, unsigned(count_width)),
                                          out_fmt))


def _core_slice(graph, core):
    """``[SkidBuffer]`` behind a matrix unit (or its threshold lanes) in a full-rate network,
    else ``[]``: the unit's stall, which enables every register of its pipeline, then comes
    from two registers (its output and the slice's ``i.ready``) through one LUT instead of from
    the deserializer and the engine's output slice (boolnet at 64 cycles: 15.7 ns, 63.9 MHz).
    The slice holds one output transfer (``PE`` counts or bits), a few flip-flops."""
    return [SkidBuffer(shape=core.o.payload.shape())] if graph.full_rate else []


def _popcount_stages(graph, engine):
    """Register ranks of the engine's popcount trees (:meth:`NetworkGraph.popcount_stages`):
    over ``SIMD`` streamed products (ROM or multiplexed words), a hard-wired row's fan-in, or
    its ones (AND)."""
    folding = engine.folding
    if folding.weights != "logic" or not folding.fully_unrolled:
        return graph.popcount_stages(folding.simd)
    width = folding.simd
    if engine.geometry.dot == "and":
        width = max(bin(int(w[0])).count("1") for w in engine.weights)
    return graph.popcount_stages(width, kind="bits")


def _weights(engine, words):
    """The matrix unit's weight argument for per-PE ROM ``words``: ``words=`` (ROMs); for a
    hard-wired layer (``weights == "logic"``) folded over several words, the same words
    multiplexed (``words_in_logic``); fully unrolled (one word per PE, the whole fan-in),
    ``weights=`` the constant bit matrix, row ``p`` = PE ``p``'s word (element ``i`` at bit
    ``i``)."""
    if engine.folding.weights != "logic":
        return {"words": [list(w) for w in words]}
    if not engine.folding.fully_unrolled:
        return {"words": [list(w) for w in words], "words_in_logic": True}
    fan_in = engine.folding.fan_in
    return {"weights": [[(int(w[0]) >> i) & 1 for i in range(fan_in)] for w in words]}


def _group_lanes(engine, stages):
    """A grouped binary layer computing every group at once (``PE = rows``, ``SIMD`` = one
    group's window): one matrix unit per group, side by side in a :class:`LaneArray` fed the
    whole window in group order; lane ``g``'s outputs are rows ``g*rows/G ..``, so the lanes
    together give every row in order. Each unit's ROM words are its rows' PE words."""
    folding, g = engine.folding, engine.geometry
    per = folding.rows // g.groups
    fan_in = folding.fan_in

    def rows_of(words, group):
        return [list(w) for w in words[group * per:(group + 1) * per]]

    if engine.threshold_layer is not None:
        t = engine.thresholds
        units = [BinaryMVTU(fan_in=fan_in, rows=per, pe=per, simd=fan_in,
                            **_weights(engine, rows_of(engine.weights, n)), op=g.dot,
                            threshold_words=rows_of(t.words, n), slices=t.slices,
                            threshold_width=t.width, stages=stages) for n in range(g.groups)]
        width = per * units[0].slices
    else:
        units = [BinaryMVAU(fan_in=fan_in, rows=per, pe=per, simd=fan_in,
                            **_weights(engine, rows_of(engine.weights, n)), op=g.dot,
                            stages=stages) for n in range(g.groups)]
        width = per * units[0].count_width
    return LaneArray(units, in_width=fan_in, out_width=width)


def _threshold_parts(thresholds, in_shape):
    """``(make_unit(channels), k, width, pre)`` of a threshold: units for a subset of channels,
    slices per channel, popcount width, and the map of an input element of ``in_shape`` to the
    unit's input (subtract the offset; exact, the difference lies in ``[0, fan_in]``)."""
    offset = thresholds.offset
    threshold = np.asarray(thresholds.threshold)
    invert = np.asarray(thresholds.invert)
    k = 1 if threshold.ndim == 1 else threshold.shape[0]
    width = thresholds.width

    def unit(channels):
        return ThresholdUnit(fan_in=thresholds.fan_in, threshold=threshold[..., channels],
                             invert=invert[..., channels], width=width)

    def pre(v):
        return (v - offset)[:width] if Shape.cast(in_shape).signed or offset else v[:width]

    return unit, k, width, pre


def _threshold_lanes(thresholds, channels, lanes, in_shape):
    """``(LaneArray, k, width)``: ``lanes`` threshold units, lane ``l`` for channels ``l, l +
    lanes, ..`` (a MAC's PE lanes), each lane's input an element of ``in_shape``."""
    unit, k, width, pre = _threshold_parts(thresholds, in_shape)
    in_width = Shape.cast(in_shape).width
    array = LaneArray([unit(np.arange(lane, channels, lanes)) for lane in range(lanes)],
                      in_width=in_width, out_width=k,
                      pre=lambda v, lane: pre(v.as_signed() if Shape.cast(in_shape).signed
                                              else v))
    return array, k, width


def _int8_matrix(graph, engine):
    folding, g = engine.folding, engine.geometry
    source = engine.inputs[0]
    in_fmt = graph.formats[source]
    in_value = graph.value(source)
    if in_value.lo < -128 or in_value.hi > 127:
        raise NetworkError(engine.layers[0], "input", f"int8 layers need inputs in [-128, 127], "
                                                      f"the input ranges over [{in_value.lo}, "
                                                      f"{in_value.hi}]")
    c = g.channels
    pe, simd = folding.pe, folding.simd
    depthwise = folding.depthwise
    if g.groups > 1 and not depthwise:
        raise NetworkError(engine.layers[0], "groups", f"grouped int8 convolutions are built "
                                                       f"only depthwise (groups == channels), "
                                                       f"got groups={g.groups}")
    if depthwise:
        window = _window_or_serializer(graph, channels_bits=8 * c, geometry=g, pad_bit=0,
                                       groups=c // pe, simd_bits=8 * pe)
    else:
        window = _window_or_serializer(graph, channels_bits=8 * c, geometry=g, pad_bit=0,
                                       groups=1, simd_bits=8 * simd, repeat=folding.rows // pe)
    core = Int8MAC(weights=[list(w) for w in engine.weights], bias=list(engine.params["bias"]),
                   fan_in=folding.fan_in, pe=pe, simd=simd, depthwise=depthwise,
                   input_range=(in_value.lo, in_value.hi),
                   reread=not depthwise and getattr(window, "repeat", 1) > 1,
                   pipelined=graph.full_rate)
    out_fmt = graph.formats[engine.name]
    double = graph.slow_readers(engine.name)
    if engine.threshold_layer is not None:      # fused threshold: PE lanes of threshold units
        lanes, k, _ = _threshold_lanes(engine.thresholds, folding.rows, pe, signed(32))
        collect = Deserializer(elements=folding.rows, width=k, lanes=pe, double_buffered=double)
        order = [r * k + n for n in range(k) for r in range(folding.rows)]
        return Chain([window, core, lanes, *_core_slice(graph, lanes), collect],
                     in_shape=unsigned(in_fmt.bits),
                     out_shape=unsigned(out_fmt.bits),
                     input=lambda v: _repack(v, in_fmt, PixelFormat(c, signed(8))),
                     output=lambda v: permute_bits(v, order))
    collect = Deserializer(elements=folding.rows, width=32, lanes=pe, double_buffered=double)
    int8 = PixelFormat(c, signed(8))
    return Chain([window, core, *_core_slice(graph, core), collect],
                 in_shape=unsigned(in_fmt.bits),
                 out_shape=unsigned(out_fmt.bits),
                 input=lambda v: _repack(v, in_fmt, int8),
                 output=lambda v: _repack(v, PixelFormat(folding.rows, signed(32)), out_fmt))


def _pooled_int8_dense(graph, engine):
    folding, g = engine.folding, engine.geometry
    core = PooledInt8Dense(weights=[list(w) for w in engine.weights],
                           bias=list(engine.params["bias"]), channels=g.channels,
                           positions=g.height * g.width, pe=folding.pe, simd=folding.simd,
                           result_register=folding.result_register)
    out_fmt = graph.formats[engine.name]
    return Chain([core], in_shape=unsigned(g.channels), out_shape=unsigned(out_fmt.bits),
                 output=lambda v: _repack(v, PixelFormat(core.rows, signed(core.width)),
                                          out_fmt))


def _pa_bases(graph, engine):
    in_fmt = graph.formats[engine.inputs[0]]
    endpoints = np.asarray(engine.params["endpoints"], np.int64)
    n, c = endpoints.shape

    def bases(payload):
        return piece_indicators([element(payload, in_fmt, ch) for ch in range(c)], endpoints)

    return PixelMap(bases, in_bits=in_fmt.bits, out_bits=n * c)


def _panet_conv2d(graph, engine):
    folding, g = engine.folding, engine.geometry
    n = engine.params["activation_bases"]
    nc = g.channels
    c = nc // n
    if g.groups != 1:
        raise NetworkError(engine.layers[0], "groups", f"grouped PA-Net convolutions have no "
                                                       f"engine yet, got groups={g.groups}")
    simd = folding.simd
    window = _window_or_serializer(graph, channels_bits=nc, geometry=g, pad_bit=0, groups=1,
                                   simd_bits=n * simd,
                                   replays=folding.rows // folding.pe)
    core = PANetMVU(words=[list(w) for w in engine.weights],
                    phi=np.asarray(engine.params["phi"], np.int64), fan_in=folding.fan_in,
                    rows=folding.rows, pe=folding.pe, simd=simd)
    collect = Deserializer(elements=folding.rows, width=core.output_shape.width,
                           lanes=folding.pe, double_buffered=graph.slow_readers(engine.name))
    out_fmt = graph.formats[engine.name]
    channel_major = [j * c + ch for ch in range(c) for j in range(n)]   # bit ch*N + j
    split = [s * n + j for j in range(n) for s in range(simd)]           # base j at j*simd
    sliced = _core_slice(graph, core)
    return Chain([window, core, *sliced, collect], in_shape=unsigned(nc),
                 out_shape=unsigned(out_fmt.bits),
                 input=lambda v: permute_bits(v, channel_major),
                 adapters=[lambda v: permute_bits(v, split), None, *[None] * len(sliced)],
                 output=lambda v: _repack(v, PixelFormat(folding.rows, core.output_shape),
                                          out_fmt))


def _channel_engine(graph, engine, make_unit, *, unit_in, unit_out, out_slices=1, pre=None):
    """Serializer -> the plan's lanes of per-channel units -> Deserializer (-> slice order)."""
    in_fmt = graph.formats[engine.inputs[0]]
    c = engine.geometry.channels
    lanes = engine.lanes
    units = [make_unit(np.arange(lane, c, lanes)) for lane in range(lanes)]
    unit_in, unit_out = Shape.cast(unit_in), Shape.cast(unit_out)
    to_unit = pre or (lambda v: convert(v, in_fmt.shape, unit_in))
    array = LaneArray(units, in_width=in_fmt.width, out_width=unit_out.width,
                      pre=lambda v, lane: to_unit(v.as_signed() if in_fmt.shape.signed else v))
    serial = Serializer(elements=c, width=in_fmt.width, lanes=lanes, registered=False)
    collect = Deserializer(elements=c, width=unit_out.width, lanes=lanes,
                           double_buffered=graph.slow_readers(engine.name))
    out_fmt = graph.formats[engine.name]
    if out_slices > 1:
        order = [ch * out_slices + n for n in range(out_slices) for ch in range(c)]
        output = lambda v: permute_bits(v, order)
    else:
        output = lambda v: _repack(v, PixelFormat(c, unit_out), out_fmt)
    return Chain([serial, array, collect], in_shape=unsigned(in_fmt.bits),
                 out_shape=unsigned(out_fmt.bits), output=output)


def _threshold(graph, engine):
    in_fmt = graph.formats[engine.inputs[0]]
    unit, k, width, pre = _threshold_parts(engine.thresholds, in_fmt.shape)
    return _channel_engine(graph, engine, unit, unit_in=unsigned(width), unit_out=unsigned(k),
                           out_slices=k, pre=pre)


def _requantize(graph, engine):
    p = engine.params
    multiplier = np.asarray(p["multiplier"]).ravel()
    return _channel_engine(
        graph, engine,
        lambda ch: Requantize(multiplier=multiplier[ch].tolist(), shift=p["shift"]),
        unit_in=signed(32), unit_out=signed(8))


def _quantized_bn(graph, engine):
    p = engine.params
    scale, bias = np.asarray(p["scale"]).ravel(), np.asarray(p["bias"]).ravel()
    return _channel_engine(
        graph, engine,
        lambda ch: QuantizedBN(scale=scale[ch].tolist(), bias=bias[ch].tolist(),
                               frac_bits=p["frac_bits"]),
        unit_in=signed(8), unit_out=signed(8))


def _dprelu(graph, engine):
    p = engine.params
    arrays = {key: np.asarray(p[key]).ravel() for key in ("alpha", "beta", "eta", "gamma")}
    return _channel_engine(
        graph, engine,
        lambda ch: DPReLU(**{key: a[ch].tolist() for key, a in arrays.items()},
                          frac_bits=p["frac_bits"]),
        unit_in=signed(8), unit_out=signed(8))


def _global_pool(graph, engine):
    g = engine.geometry
    count = ceil_log2(g.height * g.width + 1)
    return _channel_engine(
        graph, engine,
        lambda ch: GlobalPopcountPool(channels=g.channels // engine.lanes,
                                      positions=g.height * g.width),
        unit_in=unsigned(1), unit_out=unsigned(count))


def _clip(graph, engine):
    in_fmt, out_fmt = graph.formats[engine.inputs[0]], graph.formats[engine.name]
    fan_in, bound = engine.params["fan_in"], engine.params["bound"]
    zero_padded = "dot" in engine.params     # zero-padded XNOR counts: clip(u - N)
    dot_top = fan_in // 2 if zero_padded else fan_in

    def clip(payload):
        return Cat(*(convert(clip_dot(element(payload, in_fmt, e), in_fmt.shape, fan_in,
                                      bound, zero_padded=zero_padded),
                             signed(clip_width(dot_top, bound)), out_fmt.shape)
                     for e in range(in_fmt.elements)))

    return PixelMap(clip, in_bits=in_fmt.bits, out_bits=out_fmt.bits)


def _joined(graph, engine, combine, *, registered=True):
    """Join of the inputs (each behind a FIFO of ``2 * H * W + 4`` pixels) ->
    PixelMap(``combine``)."""
    fmts = [graph.formats[name] for name in engine.inputs]
    join = Join(shapes=[unsigned(f.bits) for f in fmts], registered=False)   # FIFOs in
    out_fmt = graph.formats[engine.name]
    offsets = np.cumsum([0] + [f.bits for f in fmts])

    def fn(payload):
        parts = [payload[offsets[k]:offsets[k + 1]] for k in range(len(fmts))]
        return combine(parts, fmts, out_fmt)

    mapper = PixelMap(fn, in_bits=int(offsets[-1]), out_bits=out_fmt.bits,
                      registered=registered)
    _, height, width = graph.value(engine.name).shape
    return JoinEngine(join, mapper, [f.bits for f in fmts], out_fmt.bits,
                      depth=2 * height * width + 4)


def _add(graph, engine):
    bound = engine.params["bound"]

    def add(parts, fmts, out_fmt):
        return Cat(*(convert(saturating_sum(element(parts[0], fmts[0], e),
                                            element(parts[1], fmts[1], e), bound),
                             signed(8), out_fmt.shape)
                     for e in range(out_fmt.elements)))

    return _joined(graph, engine, add)


def _concat(graph, engine):
    def concat(parts, fmts, out_fmt):
        return Cat(*(_repack(part, fmt, PixelFormat(fmt.elements, out_fmt.shape))
                     for part, fmt in zip(parts, fmts)))

    return _joined(graph, engine, concat, registered=False)   # wiring


def _permute(graph, engine):
    in_fmt = graph.formats[engine.inputs[0]]
    bits = [j * in_fmt.width + b for j in engine.params["order"] for b in range(in_fmt.width)]
    return PixelMap(lambda v: permute_bits(v, bits), in_bits=in_fmt.bits, out_bits=len(bits),
                    registered=False)


def _maxpool(graph, engine):
    g = engine.geometry
    c, h, w, kernel, stride = g.channels, g.height, g.width, g.kernel, g.stride
    if stride == kernel and h % kernel[0] == 0 and w % kernel[1] == 0:
        return StreamingMaxPool(channels=c, height=h, width=w, kernel=kernel, registered=False)
    window = SlidingWindow(channels=c, height=h, width=w, kernel=kernel, stride=stride,
                           padding=0, pad_bit=0, simd=c)
    taps = kernel[0] * kernel[1]
    collect = Deserializer(elements=taps, width=c, lanes=1, double_buffered=False)
    order = [t * c + lane for lane in range(c) for t in range(taps)]
    pool = BinaryMaxPool(kernel=kernel, lanes=c)
    return Chain([window, collect, pool], in_shape=unsigned(c), out_shape=unsigned(c),
                 adapters=[None, lambda v: permute_bits(v, order)])


_BUILDERS = {
    "binary_conv2d": _binary_matrix, "binary_dense": _binary_matrix,
    "int8_conv2d": _int8_matrix, "int8_dense": _int8_matrix, "panet_conv2d": _panet_conv2d,
    "pa_bases": _pa_bases, "threshold": _threshold, "requantize": _requantize,
    "quantized_bn": _quantized_bn, "dprelu": _dprelu, "global_pool": _global_pool,
    "clip": _clip, "add": _add, "concat": _concat, "permute": _permute, "maxpool": _maxpool,
}
