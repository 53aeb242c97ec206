"""Small Amaranth designs written as build folders for the synthesis tests."""

import json
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Module, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out


class _Rom(wiring.Component):
    """Stream ROM lookup: 6-bit address in, 8-bit constant out (64 words, as LUT logic)."""

    def __init__(self):
        super().__init__({"i": In(stream.Signature(6)), "o": Out(stream.Signature(8))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = memory.Memory(
            shape=8, depth=64, init=[(i * 37 + 11) % 256 for i in range(64)])
        rd = mem.read_port()
        m.d.comb += [rd.addr.eq(self.i.payload), rd.en.eq(self.i.ready),
                     self.o.payload.eq(rd.data), self.i.ready.eq(~self.o.valid | self.o.ready)]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += self.o.valid.eq(1)
        return m


class _Acc(wiring.Component):
    """Stream accumulator: running sum of 8-bit inputs, 12 bits wide (an adder with carry)."""

    def __init__(self):
        super().__init__({"i": In(stream.Signature(8)), "o": Out(stream.Signature(12))})

    def elaborate(self, platform):
        m = Module()
        acc = Signal(12)
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [acc.eq(acc + self.i.payload), self.o.payload.eq(acc + self.i.payload),
                         self.o.valid.eq(1)]
        return m


class TinyNet(wiring.Component):
    """Two engines in a stream (``rom`` then ``acc``), like a two-layer network top."""

    i: In(stream.Signature(6))
    o: Out(stream.Signature(12))

    def elaborate(self, platform):
        m = Module()
        m.submodules.rom = rom = _Rom()
        m.submodules.acc = acc = _Acc()
        wiring.connect(m, wiring.flipped(self.i), rom.i)
        wiring.connect(m, rom.o, acc.i)
        wiring.connect(m, acc.o, wiring.flipped(self.o))
        return m


class WideRam(wiring.Component):
    """A 512 x 264-bit RAM (one write, one read port): 33+ iCE40 block RAMs, more than the
    32 of the HX8K, but 8 ECP5 DP16KD."""

    waddr: In(9)
    wdata: In(264)
    we: In(1)
    raddr: In(9)
    rdata: Out(264)

    def elaborate(self, platform):
        m = Module()
        m.submodules.ram = ram = memory.Memory(shape=264, depth=512, init=[])
        wr = ram.write_port()
        rd = ram.read_port()
        m.d.comb += [wr.addr.eq(self.waddr), wr.data.eq(self.wdata), wr.en.eq(self.we),
                     rd.addr.eq(self.raddr), self.rdata.eq(rd.data)]
        return m


def write_build(out, component, name, cycles=1):
    """Write ``component`` as a minimal build folder (Verilog + report.json) in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    top = f"bnnhw_{name}"
    (out / f"{top}.v").write_text(verilog.convert(component, name=top))
    (out / "report.json").write_text(json.dumps({
        "design": name, "top_module": top, "verilog": f"{top}.v",
        "cycles_per_inference": cycles}))
    return out
