# amaranth: UnusedElaboratable=no
"""Serializer, Deserializer, Fork, Join and StreamFIFO (``bnnhw.hw.streams``).

Amaranth-simulator tier: random payloads through several configurations of each block, with and
without random stalls on every input and output; the helpers of ``tests/hw/streams.py`` check
that each output holds ``valid`` and its payload until the transfer, and the results are compared
item by item (no loss, duplication or reordering) and checked for trailing extra outputs.
Throughput without stalls: serializers take ``elements/lanes`` cycles per vector back to back,
deserializers one cycle per chunk, Fork / Join / StreamFIFO (``depth >= 3``) one item per cycle.
Every output ``valid`` is checked not to depend combinationally on any ``ready``. Bad parameters.
"""

import random

import pytest
from amaranth.back import verilog
from amaranth.hdl import ClockDomain, Module, Shape, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from bnnhw.hw.streams import Deserializer, Fork, Join, Serializer, SkidBuffer, StreamFIFO

from .streams import run_stream, stream_get, stream_put, stream_timing

STALLS = [(0.0, 0.0), (0.3, 0.3), (0.5, 0.5), (0.0, 0.7), (0.7, 0.0)]
STALL_IDS = ["no_stall", "stall_0.3", "stall_0.5", "stall_out", "stall_in"]


def chunks_of(vector, elements, width, lanes):
    """Transfers of one vector: transfer ``t`` = elements ``t*lanes ..``, lowest first."""
    bits = lanes * width
    return [(vector >> (t * bits)) & ((1 << bits) - 1) for t in range(elements // lanes)]


def _raw(payload):
    return payload.as_value() if hasattr(payload, "as_value") else payload


def run_streams(dut, sources, sinks, *, seed=0, drain=8):
    """Drive ``sources`` ``[(stream, payloads, stall)]`` and collect from ``sinks``
    ``[(stream, count, stall)]`` concurrently; return one result list per sink. After its last
    result each sink stays ready for ``drain`` cycles and fails on any further output."""
    rng = random.Random(seed)
    results = [[] for _ in sinks]

    def source(port, payloads, stall, put_rng):
        async def testbench(ctx):
            await stream_put(ctx, port, payloads, stall_probability=stall, rng=put_rng)
        return testbench

    def sink(index, port, count, stall, get_rng):
        async def testbench(ctx):
            results[index].extend(
                await stream_get(ctx, port, count, stall_probability=stall, rng=get_rng))
            ctx.set(port.ready, 1)
            for _ in range(drain):
                _, _, valid = await ctx.tick().sample(port.valid)
                assert not valid, f"extra output on sink {index} after {count} results"
        return testbench

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for port, payloads, stall in sources:
        sim.add_testbench(source(port, payloads, stall, random.Random(rng.getrandbits(32))))
    for index, (port, count, stall) in enumerate(sinks):
        sim.add_testbench(sink(index, port, count, stall, random.Random(rng.getrandbits(32))))
    sim.run()
    return results


def timing_streams(dut, sources, sinks):
    """Edges at which each sink ``(stream, count)`` transfers, sources ``(stream, payloads)``
    always valid while they have data and sinks always ready; edge 0 is the first edge."""
    edges = [[] for _ in sinks]

    async def testbench(ctx):
        sent = [0] * len(sources)
        for port, _ in sinks:
            ctx.set(port.ready, 1)
        for port, payloads in sources:
            ctx.set(port.valid, 1)
            ctx.set(port.payload, payloads[0])
        edge = 0
        while any(len(e) < count for e, (_, count) in zip(edges, sinks)):
            sampled = await ctx.tick().sample(*[port.ready for port, _ in sources],
                                              *[port.valid for port, _ in sinks])
            readies, valids = sampled[2:2 + len(sources)], sampled[2 + len(sources):]
            for index, valid in enumerate(valids):
                if valid:
                    edges[index].append(edge)
            for index, ((port, payloads), ready) in enumerate(zip(sources, readies)):
                if sent[index] < len(payloads) and ready:
                    sent[index] += 1
                    if sent[index] < len(payloads):
                        ctx.set(port.payload, payloads[sent[index]])
                    else:
                        ctx.set(port.valid, 0)
            edge += 1
            assert edge < 1000, "stuck"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return edges


def check_valid_ignores_ready(dut, inputs, outputs, cycles=60, seed=0):
    """Random inputs and readies; within every cycle, toggling any output ``ready`` leaves every
    output ``valid`` unchanged (``valid`` has no combinational path from ``ready``)."""
    rng = random.Random(seed)

    async def testbench(ctx):
        for _ in range(cycles):
            for port in inputs:
                ctx.set(port.valid, rng.random() < 0.7)
                raw = _raw(port.payload)
                ctx.set(raw, rng.getrandbits(len(raw)))
            for toggled in outputs:
                before = []
                for value in (0, 1):
                    ctx.set(toggled.ready, value)
                    before.append([ctx.get(port.valid) for port in outputs])
                assert before[0] == before[1], "an output valid depends on an output ready"
            for port in outputs:
                ctx.set(port.ready, rng.random() < 0.5)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()


# --- Serializer / Deserializer -------------------------------------------------------------------

VECTOR_CONFIGS = [(8, 1, 1), (6, 3, 2), (4, 5, 4), (12, 2, 3), (1, 7, 1), (9, 4, 9)]
VECTOR_IDS = [f"e{e}w{w}l{lanes}" for e, w, lanes in VECTOR_CONFIGS]


def random_vectors(rng, count, elements, width):
    return [rng.getrandbits(elements * width) for _ in range(count)]


def _lean_configs():
    """VECTOR_CONFIGS with several chunks (one chunk lean is plain wiring, no clock of its own)."""
    return [(e, w, n) for e, w, n in VECTOR_CONFIGS if e // n > 1]


@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
@pytest.mark.parametrize("elements, width, lanes", _lean_configs())
def test_serializer_without_register(elements, width, lanes, stalls):
    """registered=False: chunks straight from the held input; same chunks, same rate, latency 0."""
    rng = random.Random(elements * 100 + lanes)
    vectors = random_vectors(rng, 12, elements, width) + [0, (1 << (elements * width)) - 1]
    expected = [c for v in vectors for c in chunks_of(v, elements, width, lanes)]
    dut = Serializer(elements=elements, width=width, lanes=lanes, registered=False)
    assert run_stream(dut, vectors, len(expected), stall_in=stalls[0], stall_out=stalls[1],
                      seed=lanes) == expected
    dut = Serializer(elements=elements, width=width, lanes=lanes, registered=False)
    count = 6 * elements // lanes
    edges = stream_timing(dut, random_vectors(random.Random(1), 6, elements, width), count)
    assert dut.latency == 0 and edges == list(range(count))


@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
@pytest.mark.parametrize("elements, width, lanes", VECTOR_CONFIGS, ids=VECTOR_IDS)
def test_single_buffered_deserializer(elements, width, lanes, stalls):
    """double_buffered=False: same vectors; back to back at one chunk per cycle when the output
    is always ready."""
    rng = random.Random(elements * 100 + lanes + 7)
    vectors = random_vectors(rng, 12, elements, width) + [0, (1 << (elements * width)) - 1]
    payloads = [c for v in vectors for c in chunks_of(v, elements, width, lanes)]
    dut = Deserializer(elements=elements, width=width, lanes=lanes, double_buffered=False)
    assert run_stream(dut, payloads, len(vectors), stall_in=stalls[0], stall_out=stalls[1],
                      seed=lanes + 1) == vectors
    dut = Deserializer(elements=elements, width=width, lanes=lanes, double_buffered=False)
    chunks = elements // lanes
    edges = stream_timing(dut, payloads, len(vectors))
    assert edges == [(v + 1) * chunks - 1 + dut.latency for v in range(len(vectors))]


@pytest.mark.parametrize("elements, width, lanes", [(8, 2, 2), (5, 3, 1), (3, 4, 3)])
def test_lean_round_trip(elements, width, lanes):
    """Unregistered serializer -> single-buffered deserializer, under stalls."""
    vectors = random_vectors(random.Random(elements), 20, elements, width)
    dut = _RoundTrip(elements, width, lanes, lean=True)
    assert run_stream(dut, vectors, len(vectors), stall_in=0.4, stall_out=0.4) == vectors


def test_lean_flags_must_be_bools():
    with pytest.raises(ValueError, match="^registered"):
        Serializer(elements=4, width=1, registered=0)
    with pytest.raises(ValueError, match="^double_buffered"):
        Deserializer(elements=4, width=1, double_buffered="no")


@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
@pytest.mark.parametrize("elements, width, lanes", VECTOR_CONFIGS, ids=VECTOR_IDS)
def test_serializer(elements, width, lanes, stalls):
    rng = random.Random(elements * 100 + lanes)
    vectors = random_vectors(rng, 12, elements, width)
    vectors += [0, (1 << (elements * width)) - 1]
    expected = [c for v in vectors for c in chunks_of(v, elements, width, lanes)]
    dut = Serializer(elements=elements, width=width, lanes=lanes)
    got = run_stream(dut, vectors, len(expected), stall_in=stalls[0], stall_out=stalls[1],
                     seed=lanes)
    assert got == expected


@pytest.mark.parametrize("elements, width, lanes", VECTOR_CONFIGS, ids=VECTOR_IDS)
def test_serializer_throughput(elements, width, lanes):
    """Back-to-back vectors: one chunk per cycle, no bubble between vectors."""
    dut = Serializer(elements=elements, width=width, lanes=lanes)
    vectors = random_vectors(random.Random(1), 6, elements, width)
    count = len(vectors) * elements // lanes
    edges = stream_timing(dut, vectors, count)
    assert dut.latency == 1
    assert edges == list(range(dut.latency, dut.latency + count))


@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
@pytest.mark.parametrize("elements, width, lanes", VECTOR_CONFIGS, ids=VECTOR_IDS)
def test_deserializer(elements, width, lanes, stalls):
    rng = random.Random(elements * 100 + lanes + 7)
    vectors = random_vectors(rng, 12, elements, width)
    vectors += [0, (1 << (elements * width)) - 1]
    payloads = [c for v in vectors for c in chunks_of(v, elements, width, lanes)]
    dut = Deserializer(elements=elements, width=width, lanes=lanes)
    got = run_stream(dut, payloads, len(vectors), stall_in=stalls[0], stall_out=stalls[1],
                     seed=lanes + 1)
    assert got == vectors


@pytest.mark.parametrize("elements, width, lanes", VECTOR_CONFIGS, ids=VECTOR_IDS)
def test_deserializer_throughput(elements, width, lanes):
    """One chunk accepted per cycle; the vector comes out ``latency`` edges after its last
    chunk, while the first chunk of the next vector is accepted."""
    dut = Deserializer(elements=elements, width=width, lanes=lanes)
    vectors = random_vectors(random.Random(2), 6, elements, width)
    payloads = [c for v in vectors for c in chunks_of(v, elements, width, lanes)]
    chunks = elements // lanes
    edges = stream_timing(dut, payloads, len(vectors))
    assert dut.latency == 1
    assert edges == [(v + 1) * chunks - 1 + dut.latency for v in range(len(vectors))]


class _RoundTrip(wiring.Component):
    """Serializer -> Deserializer (the identity on vectors)."""

    def __init__(self, elements, width, lanes, lean=False):
        self.ser = Serializer(elements=elements, width=width, lanes=lanes, registered=not lean)
        self.des = Deserializer(elements=elements, width=width, lanes=lanes,
                                double_buffered=not lean)
        super().__init__({
            "i": In(stream.Signature(unsigned(elements * width))),
            "o": Out(stream.Signature(unsigned(elements * width))),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.ser, m.submodules.des = self.ser, self.des
        wiring.connect(m, wiring.flipped(self.i), self.ser.i)
        wiring.connect(m, self.ser.o, self.des.i)
        wiring.connect(m, self.des.o, wiring.flipped(self.o))
        return m


@pytest.mark.parametrize("elements, width, lanes", [(8, 2, 2), (5, 3, 1), (3, 4, 3)])
def test_serializer_deserializer_round_trip(elements, width, lanes):
    vectors = random_vectors(random.Random(elements), 20, elements, width)
    dut = _RoundTrip(elements, width, lanes)
    assert run_stream(dut, vectors, len(vectors), stall_in=0.4, stall_out=0.4) == vectors
    edges = stream_timing(_RoundTrip(elements, width, lanes), vectors, len(vectors))
    chunks = elements // lanes
    assert edges == [2 + chunks - 1 + v * chunks for v in range(len(vectors))]


@pytest.mark.parametrize("cls", [Serializer, Deserializer])
def test_vector_valid_is_registered(cls):
    dut = cls(elements=6, width=2, lanes=2)
    check_valid_ignores_ready(dut, [dut.i], [dut.o])


def test_vector_properties():
    dut = Serializer(elements=12, width=3, lanes=4)
    assert (dut.elements, dut.width, dut.lanes, dut.chunks) == (12, 3, 4, 3)
    assert (dut.chunk_width, dut.vector_width, dut.latency) == (12, 36, 1)
    assert dut.i.payload.shape() == unsigned(36) and dut.o.payload.shape() == unsigned(12)
    dut = Deserializer(elements=12, width=3, lanes=4)
    assert dut.i.payload.shape() == unsigned(12) and dut.o.payload.shape() == unsigned(36)


# --- Fork ----------------------------------------------------------------------------------------

FORK_CONFIGS = [(unsigned(8), 1), (unsigned(5), 2), (signed(6), 3), (unsigned(1), 4)]
FORK_IDS = [f"{shape.width}{'s' if shape.signed else 'u'}x{n}" for shape, n in FORK_CONFIGS]


def random_items(rng, shape, count):
    items = [rng.getrandbits(shape.width) for _ in range(count)]
    if shape.signed:
        items = [v - (1 << shape.width) if v >> (shape.width - 1) else v for v in items]
    return items


@pytest.mark.parametrize("registered", [True, False], ids=["registered", "passthrough"])
@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
@pytest.mark.parametrize("shape, outputs", FORK_CONFIGS, ids=FORK_IDS)
def test_fork(shape, outputs, stalls, registered):
    rng = random.Random(outputs)
    items = random_items(rng, shape, 40)
    dut = Fork(shape=shape, outputs=outputs, registered=registered)
    # Each output stalls with its own probability (some much more than others).
    out_stalls = [stalls[1] * (k + 1) / outputs for k in range(outputs)]
    got = run_streams(dut, [(dut.i, items, stalls[0])],
                      [(dut.output(k), len(items), out_stalls[k]) for k in range(outputs)],
                      seed=outputs)
    assert got == [items] * outputs


def test_fork_one_output_blocked():
    """An output that takes nothing holds back the input after one item, not the others' copy."""
    dut = Fork(shape=unsigned(4), outputs=3)

    async def testbench(ctx):
        ctx.set(dut.o0.ready, 1)
        ctx.set(dut.o2.ready, 1)
        ctx.set(dut.i.valid, 1)
        ctx.set(dut.i.payload, 5)
        accepted, taken = 0, [0, 0, 0]
        for _ in range(10):
            sampled = await ctx.tick().sample(dut.i.ready, *[o.valid for o in dut.o],
                                              *[o.ready for o in dut.o])
            in_ready, valids, readies = sampled[2], sampled[3:6], sampled[6:9]
            accepted += in_ready
            taken = [t + (v and r) for t, v, r in zip(taken, valids, readies)]
            ctx.set(dut.i.payload, 6)
        assert accepted == 1 and taken == [1, 0, 1]
        assert ctx.get(dut.o1.valid) and ctx.get(dut.o1.payload) == 5
        ctx.set(dut.o1.ready, 1)
        await ctx.tick()
        assert ctx.get(dut.i.ready)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()


@pytest.mark.parametrize("registered", [True, False], ids=["registered", "passthrough"])
@pytest.mark.parametrize("shape, outputs", FORK_CONFIGS, ids=FORK_IDS)
def test_fork_throughput(shape, outputs, registered):
    dut = Fork(shape=shape, outputs=outputs, registered=registered)
    items = random_items(random.Random(3), shape, 20)
    edges = timing_streams(dut, [(dut.i, items)], [(o, len(items)) for o in dut.o])
    assert dut.latency == int(registered)
    start = dut.latency
    assert edges == [list(range(start, start + len(items)))] * outputs


def test_passthrough_fork_holds_the_input_until_every_output_took_it():
    """One output blocked: the others take the item once, the input is not accepted."""
    dut = Fork(shape=unsigned(4), outputs=3, registered=False)

    async def testbench(ctx):
        ctx.set(dut.o0.ready, 1)
        ctx.set(dut.o2.ready, 1)
        ctx.set(dut.i.valid, 1)
        ctx.set(dut.i.payload, 5)
        accepted, taken = 0, [0, 0, 0]
        for _ in range(10):
            sampled = await ctx.tick().sample(dut.i.ready, *[o.valid for o in dut.o],
                                              *[o.ready for o in dut.o])
            in_ready, valids, readies = sampled[2], sampled[3:6], sampled[6:9]
            accepted += in_ready
            taken = [t + (v and r) for t, v, r in zip(taken, valids, readies)]
        assert accepted == 0 and taken == [1, 0, 1]
        assert ctx.get(dut.o1.valid) and ctx.get(dut.o1.payload) == 5
        assert not ctx.get(dut.o0.valid) and not ctx.get(dut.o2.valid)
        ctx.set(dut.o1.ready, 1)
        assert ctx.get(dut.i.ready)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()


def test_fork_registered_must_be_a_bool():
    with pytest.raises(ValueError, match="^registered"):
        Fork(shape=unsigned(4), outputs=2, registered=1)


def test_fork_valid_is_registered():
    dut = Fork(shape=unsigned(3), outputs=3)
    check_valid_ignores_ready(dut, [dut.i], dut.o)


def test_fork_layout_payload():
    layout = data.StructLayout({"a": unsigned(3), "b": signed(5)})
    dut = Fork(shape=layout, outputs=2)
    items = [{"a": 3, "b": -7}, {"a": 0, "b": 15}, {"a": 7, "b": -16}]
    raw = [layout.const(item).as_value().value for item in items]
    got = run_streams(dut, [(dut.i, items, 0.3)], [(o, 3, 0.3) for o in dut.o])
    assert got == [raw, raw]


# --- Join ----------------------------------------------------------------------------------------

JOIN_CONFIGS = [
    [unsigned(8)],
    [unsigned(3), unsigned(5)],
    [signed(4), unsigned(1), signed(7)],
    [unsigned(2), unsigned(6), unsigned(1), data.StructLayout({"x": unsigned(2), "y": signed(3)})],
]
JOIN_IDS = ["one", "two", "three_signed", "four_layout"]


def join_expected(shapes, columns):
    out = []
    for row in zip(*columns):
        value, offset = 0, 0
        for shape, item in zip(shapes, row):
            width = Shape.cast(shape).width
            value |= (item & ((1 << width) - 1)) << offset
            offset += width
        out.append(value)
    return out


@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
@pytest.mark.parametrize("shapes", JOIN_CONFIGS, ids=JOIN_IDS)
def test_join(shapes, stalls):
    rng = random.Random(len(shapes))
    dut = Join(shapes=shapes)
    count = 40
    columns = [[rng.getrandbits(Shape.cast(s).width) for _ in range(count)] for s in shapes]
    # Each input idles with its own probability.
    in_stalls = [stalls[0] * (k + 1) / len(shapes) for k in range(len(shapes))]
    sources = [(dut.input(k), [c for c in columns[k]], in_stalls[k]) for k in range(len(shapes))]
    for port, payloads, _ in sources:
        if hasattr(port.payload, "as_value"):  # a layout: drive the raw bits
            payloads[:] = [data.Const(port.payload.shape(), v) for v in payloads]
    got = run_streams(dut, sources, [(dut.o, count, stalls[1])], seed=len(shapes))
    assert got == [join_expected(shapes, columns)]


@pytest.mark.parametrize("shapes", JOIN_CONFIGS, ids=JOIN_IDS)
def test_join_throughput(shapes):
    rng = random.Random(4)
    dut = Join(shapes=shapes)
    columns = [[rng.getrandbits(Shape.cast(s).width) for _ in range(20)] for s in shapes]
    sources = [(port, [data.Const(port.payload.shape(), v) for v in column]
                if hasattr(port.payload, "as_value") else column)
               for port, column in zip(dut.i, columns)]
    edges = timing_streams(dut, sources, [(dut.o, 20)])
    assert dut.latency == 1
    assert edges == [list(range(1, 21))]


class _ClockedJoin(Join):
    """An unregistered Join with a ``sync`` domain for the simulator's clock."""

    def elaborate(self, platform):
        m = Module()
        m.submodules.join = super().elaborate(platform)
        m.domains.sync = ClockDomain()
        return m


@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
@pytest.mark.parametrize("shapes", JOIN_CONFIGS[:3], ids=JOIN_IDS[:3])
def test_unregistered_join(shapes, stalls):
    """registered=False: the same items, transferred in the cycle every input is valid."""
    rng = random.Random(len(shapes) + 9)
    dut = _ClockedJoin(shapes=shapes, registered=False)
    assert dut.latency == 0
    count = 40
    columns = [[rng.getrandbits(Shape.cast(s).width) for _ in range(count)] for s in shapes]
    in_stalls = [stalls[0] * (k + 1) / len(shapes) for k in range(len(shapes))]
    sources = [(dut.input(k), list(columns[k]), in_stalls[k]) for k in range(len(shapes))]
    got = run_streams(dut, sources, [(dut.o, count, stalls[1])], seed=len(shapes))
    assert got == [join_expected(shapes, columns)]
    dut = _ClockedJoin(shapes=shapes, registered=False)
    edges = timing_streams(dut, [(port, column) for port, column in zip(dut.i, columns)],
                           [(dut.o, count)])
    assert edges == [list(range(count))]


def test_join_valid_is_registered():
    dut = Join(shapes=[unsigned(2), unsigned(3), unsigned(1)])
    check_valid_ignores_ready(dut, dut.i, [dut.o])


def test_join_properties():
    layout = data.StructLayout({"x": unsigned(2), "y": signed(3)})
    dut = Join(shapes=(unsigned(2), signed(4), layout))
    assert dut.shapes == (unsigned(2), signed(4), layout)
    assert (dut.inputs, dut.width, dut.latency) == (3, 11, 1)
    assert dut.o.payload.shape() == unsigned(11)
    assert [port.payload.shape() for port in dut.i] == [unsigned(2), signed(4), layout]


# --- StreamFIFO ----------------------------------------------------------------------------------

FIFO_CONFIGS = [(unsigned(8), 1), (unsigned(4), 2), (signed(5), 3), (unsigned(9), 5),
                (unsigned(3), 16)]
FIFO_IDS = [f"w{shape.width}d{depth}" for shape, depth in FIFO_CONFIGS]


@pytest.mark.parametrize("stalls", STALLS, ids=STALL_IDS)
@pytest.mark.parametrize("shape, depth", FIFO_CONFIGS, ids=FIFO_IDS)
def test_fifo(shape, depth, stalls):
    items = random_items(random.Random(depth), shape, 60)
    dut = StreamFIFO(shape=shape, depth=depth)
    got = run_stream(dut, items, len(items), stall_in=stalls[0], stall_out=stalls[1], seed=depth)
    assert got == items


@pytest.mark.parametrize("shape, depth", FIFO_CONFIGS, ids=FIFO_IDS)
def test_fifo_throughput(shape, depth):
    items = random_items(random.Random(5), shape, 20)
    dut = StreamFIFO(shape=shape, depth=depth)
    edges = stream_timing(dut, items, len(items))
    period = 1 if depth >= 3 else 2
    assert edges == [dut.latency + period * k for k in range(len(items))]


@pytest.mark.parametrize("depth", [1, 2, 3, 7])
def test_fifo_holds_depth_items(depth):
    """With the output blocked the FIFO accepts exactly ``depth`` items, then drains them."""
    dut = StreamFIFO(shape=unsigned(6), depth=depth)

    async def testbench(ctx):
        accepted = 0
        ctx.set(dut.i.valid, 1)
        for _ in range(3 * depth + 4):
            ctx.set(dut.i.payload, accepted)
            _, _, ready = await ctx.tick().sample(dut.i.ready)
            accepted += ready
        assert accepted == depth
        ctx.set(dut.i.valid, 0)
        got = await stream_get(ctx, dut.o, depth)
        assert got == list(range(depth))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()


def test_fifo_valid_is_registered():
    dut = StreamFIFO(shape=unsigned(3), depth=4)
    check_valid_ignores_ready(dut, [dut.i], [dut.o])


# --- Verilog and parameters ----------------------------------------------------------------------


def test_verilog_ports():
    text = verilog.convert(Fork(shape=unsigned(4), outputs=2), name="fork")
    for port in ("i__valid", "i__ready", "o0__valid", "o1__ready", "o1__payload"):
        assert port in text
    text = verilog.convert(Join(shapes=[unsigned(1), unsigned(2)]), name="join")
    for port in ("i0__valid", "i1__payload", "o__payload"):
        assert port in text


@pytest.mark.parametrize("make, name", [
    (lambda: Serializer(elements=6, width=2, lanes=4), "lanes"),
    (lambda: Serializer(elements=4, width=2, lanes=8), "lanes"),
    (lambda: Serializer(elements=4, width=2, lanes=0), "lanes"),
    (lambda: Serializer(elements=0, width=2), "elements"),
    (lambda: Serializer(elements=4, width=0), "width"),
    (lambda: Serializer(elements=4, width=1.5), "width"),
    (lambda: Serializer(elements=True, width=1), "elements"),
    (lambda: Deserializer(elements=6, width=2, lanes=4), "lanes"),
    (lambda: Deserializer(elements=4, width=-1), "width"),
    (lambda: Deserializer(elements=-2, width=1), "elements"),
    (lambda: Fork(shape=unsigned(4), outputs=0), "outputs"),
    (lambda: Fork(shape=unsigned(4), outputs="2"), "outputs"),
    (lambda: Fork(shape="wide", outputs=2), "shape"),
    (lambda: Fork(shape=unsigned(0), outputs=2), "shape"),
    (lambda: Join(shapes=[]), "shapes"),
    (lambda: Join(shapes=unsigned(4)), "shapes"),
    (lambda: Join(shapes=[unsigned(4), "x"]), r"shapes\[1\]"),
    (lambda: StreamFIFO(shape=unsigned(4), depth=0), "depth"),
    (lambda: StreamFIFO(shape=unsigned(4), depth=None), "depth"),
    (lambda: StreamFIFO(shape=object(), depth=2), "shape"),
])
def test_bad_parameters(make, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        make()


def test_port_lookup():
    fork = Fork(shape=unsigned(2), outputs=3)
    assert fork.o == [fork.o0, fork.o1, fork.o2] and fork.output(1) is fork.o1
    assert (fork.outputs, fork.shape, fork.latency) == (3, unsigned(2), 1)
    with pytest.raises(IndexError):
        fork.output(3)
    join = Join(shapes=[unsigned(1)])
    assert join.i == [join.i0] and join.input(0) is join.i0
    with pytest.raises(IndexError):
        join.input(1)
    fifo = StreamFIFO(shape=unsigned(3), depth=4)
    assert (fifo.shape, fifo.depth, fifo.latency) == (unsigned(3), 4, 2)
    assert StreamFIFO(shape=unsigned(3), depth=1).latency == 1


# --- SkidBuffer ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stalls", [(0.0, 0.0), (0.5, 0.5), (0.1, 0.8), (0.8, 0.1)])
def test_skid_buffer_passes_every_item_once_in_order(stalls):
    items = list(range(1, 200))
    got = run_stream(SkidBuffer(shape=unsigned(8)), items, len(items), stall_in=stalls[0],
                     stall_out=stalls[1], seed=int(10 * stalls[1]))
    assert got == items


def test_skid_buffer_timing_and_registered_ready():
    """Latency 1 and one item per cycle; ``i.ready`` does not follow ``o.ready`` within a cycle
    (it is a register), even while the output is held."""
    dut = SkidBuffer(shape=unsigned(4))
    assert stream_timing(dut, list(range(10)), 10) == list(range(1, 11))
    dut = SkidBuffer(shape=unsigned(4))
    seen = []

    async def testbench(ctx):
        ctx.set(dut.i.valid, 1)
        ctx.set(dut.i.payload, 3)
        for cycle in range(6):
            readies = []
            for ready in (0, 1, 0):
                ctx.set(dut.o.ready, ready)
                readies.append(ctx.get(dut.i.ready))
            seen.append(readies)
            ctx.set(dut.o.ready, 0)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    assert all(len(set(r)) == 1 for r in seen)
    assert [r[0] for r in seen] == [1, 1, 0, 0, 0, 0]     # output, then the skid register full
