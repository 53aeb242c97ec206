"""Simulation-only top around a :class:`~bnnhw.hw.network.StreamingNetwork`.

The pixels of all test images sit in a ROM inside the harness; a source streams them into the
network and a sink takes its results, each stalling pseudo-randomly (32-bit LFSRs, a stall
decided every cycle with probability ``in_stall`` / ``out_stall``; the source only changes
``valid`` between transfers, as the stream rules require). So the simulator runs at Verilator
speed and the cocotb side only wakes once per result: ``result_toggle`` flips on every output
transfer, with the transfer's payload in ``result`` and the clock count of that edge in
``result_cycle``. The stall probabilities (``in_threshold / 256``, ``out_threshold / 256``), the
LFSR ``seed`` and the number of pixels to send (``pixel_count``) are inputs, read while ``start``
is low: one Verilator build serves every stall pattern and image count.

Not synthesizable on purpose (asynchronous ROM read, wide counters); never part of a build's
Verilog.
"""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = ["NetworkHarness", "random_stalls"]


def random_stalls(m, start, seed, in_threshold, out_threshold):
    """``(idle_in, idle_out)``: per-cycle stall flags of the source and the sink from two 32-bit
    Galois LFSRs, seeded from ``seed`` (two different non-zero states) while ``start`` is low
    and stepping while it is high; each side idles when 8 of its bits fall below its
    threshold (``threshold / 256`` of the cycles)."""
    lfsr_in, lfsr_out = Signal(32), Signal(32)
    with m.If(~start):
        m.d.sync += [lfsr_in.eq(seed ^ 0x9E3779B9), lfsr_out.eq(~seed ^ 0x7F4A7C15)]
    with m.Else():
        for lfsr in (lfsr_in, lfsr_out):
            m.d.sync += lfsr.eq((lfsr >> 1) ^ (lfsr[0].replicate(32) & 0x80200003))
    return lfsr_in[:8] < in_threshold, lfsr_out[8:16] < out_threshold


class NetworkHarness(wiring.Component):
    """Feed ``pixels`` (input payloads in stream order) to ``network``; expose each result.

    Parameters
    ----------
    network : StreamingNetwork
    pixels : sequence of int
        Every input transfer, images back to back (the first ``pixel_count`` are sent).
    """

    def __init__(self, network, pixels):
        self._network = network
        self._pixels = [int(p) for p in pixels]
        super().__init__({
            "start": In(1),
            "in_threshold": In(8),
            "out_threshold": In(8),
            "seed": In(32),
            "pixel_count": In(32),
            "result": Out(len(network.o.payload)),
            "result_toggle": Out(1),
            "result_cycle": Out(40),
            "results_seen": Out(32),
            "pixels_sent": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.network = net = self._network
        total = len(self._pixels)
        width = len(net.i.payload)
        rom = Memory(shape=unsigned(width), depth=max(total, 1), init=self._pixels or [0])
        m.submodules.pixels = rom
        read = rom.read_port(domain="comb")

        cycle = Signal(40)
        with m.If(self.start):
            m.d.sync += cycle.eq(cycle + 1)

        idle_in, idle_out = random_stalls(m, self.start, self.seed, self.in_threshold,
                                          self.out_threshold)

        # --- source: valid only changes between transfers ---
        address = Signal(32)
        limit = Signal(32)
        m.d.comb += limit.eq(Mux(self.pixel_count < total, self.pixel_count, total))
        transfer = net.i.valid & net.i.ready
        next_address = address + transfer
        m.d.comb += [read.addr.eq(address), net.i.payload.eq(read.data),
                     self.pixels_sent.eq(address)]
        with m.If(transfer):
            m.d.sync += address.eq(next_address)
        with m.If(~net.i.valid | transfer):
            m.d.sync += net.i.valid.eq(self.start & (next_address < limit) & ~idle_in)

        # --- sink ---
        m.d.comb += net.o.ready.eq(self.start & ~idle_out)
        seen = Signal(32)
        with m.If(net.o.valid & net.o.ready):
            m.d.sync += [
                self.result.eq(net.o.payload),
                self.result_cycle.eq(cycle),
                self.result_toggle.eq(~self.result_toggle),
                seen.eq(seen + 1),
            ]
        m.d.comb += self.results_seen.eq(seen)
        return m
