"""ArgmaxHead: label = numpy.argmax (lowest index on ties), logits passed through, under stalls."""

import numpy as np
import pytest
from amaranth.hdl import signed, unsigned
from amaranth.sim import Simulator

from bnnhw.hw.engines import PixelFormat
from bnnhw.hw.network import ArgmaxHead


def _pack(values, fmt):
    mask = (1 << fmt.width) - 1
    return sum((int(v) & mask) << (k * fmt.width) for k, v in enumerate(values))


@pytest.mark.parametrize("classes, shape", [(10, signed(6)), (3, unsigned(4)), (1, signed(3))])
def test_argmax_head_matches_numpy_with_ties_and_stalls(classes, shape):
    fmt = PixelFormat(classes, shape)
    label_width = max(1, (classes - 1).bit_length())
    head = ArgmaxHead(fmt, label_width)
    rng = np.random.default_rng(classes)
    lo, hi = (-(1 << (shape.width - 1)), (1 << (shape.width - 1))) if shape.signed \
        else (0, 1 << shape.width)
    vectors = [np.full(classes, lo), np.full(classes, hi - 1), np.full(classes, 0)]
    vectors += [rng.integers(lo, hi, classes) for _ in range(20)]
    vectors += [rng.integers(lo, lo + 2, classes) for _ in range(10)]      # many ties
    got = []

    async def source(ctx):
        for vector in vectors:
            ctx.set(head.i.payload, _pack(vector, fmt))
            ctx.set(head.i.valid, 1)
            await ctx.tick().until(head.i.ready)
            ctx.set(head.i.valid, 0)
            for _ in range(int(rng.integers(0, 3))):
                await ctx.tick()

    async def sink(ctx):
        while len(got) < len(vectors):
            ready = int(rng.random() < 0.6)
            ctx.set(head.o.ready, ready)
            await ctx.tick()

    async def monitor(ctx):
        async for _, _, valid, ready, payload in ctx.tick().sample(
                head.o.valid, head.o.ready, head.o.payload):
            if valid and ready:
                got.append(payload)
                if len(got) == len(vectors):
                    return

    sim = Simulator(head)
    sim.add_clock(1e-6)
    sim.add_testbench(source)
    sim.add_testbench(sink, background=True)
    sim.add_process(monitor)
    sim.run_until(1e-6 * 2000)
    assert len(got) == len(vectors)
    for vector, payload in zip(vectors, got):
        assert payload & ((1 << label_width) - 1) == int(np.argmax(vector))
        assert payload >> label_width == _pack(vector, fmt)
