"""PixelMap: o = fn(i) per pixel, registered (latency 1) or pure wiring (latency 0)."""

import random

import pytest

from amaranth.hdl import ClockDomain, Module

from bnnhw.hw.engines import PixelMap, permute_bits

from .streams import run_stream, stream_timing


class _Clocked(PixelMap):
    """A PixelMap that always has a ``sync`` domain (the wiring one has no register of its own)."""

    def elaborate(self, platform):
        m = Module()
        m.submodules.map = super().elaborate(platform)
        m.domains.sync = ClockDomain()
        return m


@pytest.mark.parametrize("registered", [True, False], ids=["registered", "wiring"])
@pytest.mark.parametrize("stalls", [(0.0, 0.0), (0.4, 0.4)], ids=["no_stall", "stall"])
def test_pixel_map_applies_fn_to_every_pixel(registered, stalls):
    order = [3, 0, 5, 1, 4, 2]
    dut = _Clocked(lambda v: permute_bits(v, order), in_bits=6, out_bits=6,
                   registered=registered)
    rng = random.Random(7)
    items = [rng.getrandbits(6) for _ in range(50)]
    want = [sum(((x >> j) & 1) << k for k, j in enumerate(order)) for x in items]
    assert run_stream(dut, items, len(items), stall_in=stalls[0], stall_out=stalls[1]) == want


@pytest.mark.parametrize("registered", [True, False], ids=["registered", "wiring"])
def test_pixel_map_latency_and_full_rate(registered):
    dut = _Clocked(lambda v: v, in_bits=4, out_bits=4, registered=registered)
    edges = stream_timing(dut, list(range(10)), 10)
    assert dut.latency == int(registered)
    assert edges == list(range(dut.latency, dut.latency + 10))
