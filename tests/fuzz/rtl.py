"""Many small networks in ONE Verilator build: the fuzzer's RTL check at an affordable cost.

A Verilator build of even a tiny network costs ~15 s here (most of it compiling the C++ of the
runtime and the cocotb glue), so the campaign puts several random networks side by side in one
simulation-only top, :class:`MultiHarness`: per network a ROM of its input pixels, an LFSR
source and sink (the same stall scheme as ``bnnhw.sim.harness.NetworkHarness``: a stall decided
every cycle with probability ``threshold / 256``; the source changes ``valid`` only between
transfers) and a RAM that records every result transfer (payload and clock count), so the
cocotb side (:mod:`.multi_tb`) wakes only every few thousand cycles instead of once per result.
All networks share the clock, reset, ``start`` and the stall settings, and run concurrently.

:func:`simulate_batch` returns per network and per run the decoded labels/logits, whether it
produced too few results within its timeout (a hang) or more than it was sent (duplicates).
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from amaranth.back import verilog
from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from bnnhw.sim.harness import random_stalls
from bnnhw.sim.network import decode_output, input_pixels
from bnnhw.sim.runner import run_cocotb, write_source

__all__ = ["MultiHarness", "BatchResult", "simulate_batch", "STALLS"]

TB = Path(__file__).with_name("multi_tb.py")

#: The two stall patterns every network runs: full rate, then 30 % random stalls on both ends.
STALLS = ((0, 0, 1), (77, 77, 11))       # (in threshold, out threshold, seed); 77/256 ~ 0.3


class _Slot(wiring.Component):
    """One network with its pixel ROM, LFSR source/sink and result RAM."""

    def __init__(self, network, pixels, results):
        self._network, self._pixels, self._results = network, [int(p) for p in pixels], results
        self._width = len(network.o.payload)
        super().__init__({
            "start": In(1), "in_threshold": In(8), "out_threshold": In(8), "seed": In(32),
            "read_addr": In(16), "read_data": Out(self._width + 40), "seen": Out(16),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.network = net = self._network
        total = len(self._pixels)
        rom = Memory(shape=unsigned(len(net.i.payload)), depth=max(total, 1),
                     init=self._pixels or [0])
        m.submodules.pixels = rom
        read = rom.read_port(domain="comb")
        depth = self._results + 2
        ram = Memory(shape=unsigned(self._width + 40), depth=depth, init=[])
        m.submodules.results = ram
        write = ram.write_port()
        out = ram.read_port(domain="comb")
        m.d.comb += [out.addr.eq(self.read_addr), self.read_data.eq(out.data)]

        cycle = Signal(40)
        with m.If(self.start):
            m.d.sync += cycle.eq(cycle + 1)
        idle_in, idle_out = random_stalls(m, self.start, self.seed, self.in_threshold,
                                          self.out_threshold)

        address = Signal(32)
        transfer = net.i.valid & net.i.ready
        next_address = address + transfer
        m.d.comb += [read.addr.eq(address), net.i.payload.eq(read.data)]
        with m.If(transfer):
            m.d.sync += address.eq(next_address)
        with m.If(~net.i.valid | transfer):
            m.d.sync += net.i.valid.eq(self.start & (next_address < total) & ~idle_in)

        m.d.comb += net.o.ready.eq(self.start & ~idle_out)
        seen = Signal(16)
        taken = net.o.valid & net.o.ready
        m.d.comb += [write.addr.eq(Mux(seen < depth - 1, seen, depth - 1)),
                     write.data.eq(Cat(net.o.payload, cycle)), write.en.eq(taken)]
        with m.If(taken):
            m.d.sync += seen.eq(seen + 1)
        m.d.comb += self.seen.eq(seen)
        return m


class MultiHarness(wiring.Component):
    """Several ``(network, images)`` slots under one top; ports ``start``, ``in_threshold``,
    ``out_threshold``, ``seed``, ``read_addr`` shared, ``seen_<k>`` / ``data_<k>`` per slot."""

    def __init__(self, entries):
        self._slots = [_Slot(network, input_pixels(network, images), len(images))
                       for network, images in entries]
        members = {"start": In(1), "in_threshold": In(8), "out_threshold": In(8),
                   "seed": In(32), "read_addr": In(16)}
        for k, slot in enumerate(self._slots):
            members[f"seen_{k}"] = Out(16)
            members[f"data_{k}"] = Out(len(slot.read_data))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        for k, slot in enumerate(self._slots):
            m.submodules[f"slot{k}"] = slot
            m.d.comb += [slot.start.eq(self.start), slot.in_threshold.eq(self.in_threshold),
                         slot.out_threshold.eq(self.out_threshold), slot.seed.eq(self.seed),
                         slot.read_addr.eq(self.read_addr),
                         getattr(self, f"seen_{k}").eq(slot.seen),
                         getattr(self, f"data_{k}").eq(slot.read_data)]
        return m


@dataclass
class BatchResult:
    """One network's outcome in one run."""

    labels: np.ndarray
    logits: np.ndarray
    cycles: np.ndarray
    hung: bool          # fewer results than images within the timeout
    extra: int          # results beyond the images sent (duplicates)


def simulate_batch(entries, work_dir, *, stalls=STALLS, cxx_opt="-O1"):
    """Simulate every ``(network, images)`` of ``entries`` in one Verilator build.

    Returns ``[[BatchResult per run] per network]``. A Verilator or cocotb failure raises (the
    caller may split the batch).
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    top = MultiHarness(entries)
    text = verilog.convert(top, name="fuzz_top", emit_src=False)
    source = write_source(work_dir / "fuzz_top.v", text)
    timeouts = [20 * network.cycles_per_inference + 5000 for network, _ in entries]
    job = {"networks": [{"results": len(images), "timeout": timeout}
                        for (network, images), timeout in zip(entries, timeouts)],
           "runs": [{"in_threshold": a, "out_threshold": b, "seed": s} for a, b, s in stalls],
           "output": str((work_dir / "results.json").resolve())}
    job_path = work_dir / "job.json"
    job_path.write_text(json.dumps(job))
    (work_dir / "results.json").unlink(missing_ok=True)
    run_cocotb(verilog_sources=[source], toplevel="fuzz_top", test_module=str(TB),
               test_dir=work_dir, cxx_opt=cxx_opt,
               extra_env={"FUZZ_TB_JOB": str(job_path.resolve()),
                          "COCOTB_LOG_LEVEL": "WARNING", "GPI_LOG_LEVEL": "WARNING"},
               build_args=("-Wno-fatal", "-Wno-WIDTH"))
    raw = json.loads((work_dir / "results.json").read_text())
    out = []
    for k, (network, images) in enumerate(entries):
        width = len(network.o.payload)
        per_run = []
        for run in raw:
            words = [int(w) for w in run["data"][k]]
            decoded = [decode_output(network, w & ((1 << width) - 1)) for w in words]
            per_run.append(BatchResult(
                labels=np.array([d[0] for d in decoded], np.int64),
                logits=np.array([d[1] for d in decoded], np.int64).reshape(
                    len(decoded), network.classes),
                cycles=np.array([w >> width for w in words], np.int64),
                hung=run["seen"][k] < len(images),
                extra=max(0, run["seen"][k] - len(images))))
        out.append(per_run)
    return out
