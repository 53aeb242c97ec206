"""The small real design behind ``data/counter_fifo.coverage.dat`` and how to regenerate it.

``CounterFifo``: a 3-bit counter that counts every cycle after reset; its low two bits feed a
3-deep :class:`~bnnhw.hw.streams.StreamFIFO` (``i.valid`` always 1), whose output is taken when
the counter's bit 2 is set. ``sim/energy/fixture_tb.py`` holds reset for 2 cycles and then runs
``CYCLES`` cycles, so the counter's bits toggle exactly ``CYCLES``, ``CYCLES // 2`` and
``CYCLES // 4`` times (counting both edges) — the hand-checkable numbers of
``test_coverage.py``.

Regenerate (Verilator with toggle coverage, ~10 s)::

    python -m tests.energy.fixture_design
"""

import shutil
import sys
from pathlib import Path

from amaranth.hdl import Elaboratable, Module, Signal, unsigned

from bnnhw.hw.streams import StreamFIFO

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "data" / "counter_fifo.coverage.dat"
CYCLES = 32


class CounterFifo(Elaboratable):
    def __init__(self):
        self.count = Signal(3)
        self.out = Signal(2)

    def elaborate(self, platform):
        m = Module()
        m.submodules.fifo = fifo = StreamFIFO(shape=unsigned(2), depth=3)
        m.d.sync += self.count.eq(self.count + 1)
        m.d.comb += [fifo.i.payload.eq(self.count[:2]), fifo.i.valid.eq(1),
                     fifo.o.ready.eq(self.count[2]), self.out.eq(fifo.o.payload)]
        return m


def regenerate(work):
    from amaranth.back import verilog

    from bnnhw.sim import DEFAULT_BUILD_ARGS, run_cocotb, write_source
    from bnnhw.sim.network import COVERAGE_BUILD_ARGS

    top = CounterFifo()
    source = write_source(Path(work) / "counter_fifo.v",
                          verilog.convert(top, name="counter_fifo",
                                          ports=[top.count, top.out]))
    output = (Path(work) / "coverage.dat").resolve()
    run_cocotb(verilog_sources=[source], toplevel="counter_fifo",
               test_module=HERE.parents[1] / "sim" / "energy" / "fixture_tb.py",
               build_dir=Path(work) / "sim",
               build_args=DEFAULT_BUILD_ARGS + COVERAGE_BUILD_ARGS, cxx_opt="-O0",
               extra_env={"FIXTURE_CYCLES": str(CYCLES)},
               test_args=["--coverage-per-instance"],
               plusargs=[f"+verilator+coverage+file+{output}"])
    FIXTURE.parent.mkdir(exist_ok=True)
    shutil.copyfile(output, FIXTURE)
    return FIXTURE


if __name__ == "__main__":
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[1] / "tests" / "_build" / \
        "energy_fixture"
    print(regenerate(work))
