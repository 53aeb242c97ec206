"""Amaranth-simulator testbench helpers for ``amaranth.lib.stream`` interfaces.

In the style of Glasgow's ``gateware/stream.py``: :func:`stream_put` drives a stream as its
source, :func:`stream_get` consumes one as its sink, each optionally inserting random stalls
(idle cycles on the source side, ``ready = 0`` cycles on the sink side). Both check the stream
rules that a consumer relies on, so a block that loses, duplicates or changes data under
backpressure fails the test:

- once ``valid`` is asserted it stays asserted, with the same payload, until a transfer
  (checked by :func:`stream_get`);
- a transfer happens exactly on a clock edge with ``valid & ready``.

:func:`run_stream` wires both to a component with ``i`` / ``o`` streams, runs the simulator and
also checks that nothing more comes out after the expected results. :class:`Harness` and
:func:`run_harness_cocotb` put several blocks into one Verilog top for the cocotb tier.
"""

import json
import random
from pathlib import Path

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.sim import Simulator

__all__ = [
    "stream_put", "stream_get", "run_stream", "stream_timing", "Harness", "run_harness_cocotb",
]

#: Cycles without a transfer after which :func:`stream_get` declares the design stuck.
TIMEOUT = 1000


def _raw(payload):
    """The payload as a plain Amaranth value (layout views become their underlying bits)."""
    return payload.as_value() if hasattr(payload, "as_value") else payload


async def stream_put(ctx, stream, payloads, *, stall_probability=0, rng=None):
    """Send ``payloads`` on ``stream`` (the DUT's input), one transfer each.

    Before each payload the source idles for a random number of cycles (each with
    ``stall_probability``); while idle it drives garbage on the payload so that a sink which
    latches the payload without ``valid`` fails.
    """
    rng = rng or random.Random(0)
    raw = _raw(stream.payload)
    for payload in payloads:
        while stall_probability and rng.random() < stall_probability:
            ctx.set(stream.valid, 0)
            if len(raw):
                ctx.set(raw, rng.getrandbits(len(raw)))
            await ctx.tick()
        ctx.set(stream.valid, 1)
        ctx.set(stream.payload, payload)
        await ctx.tick().until(stream.ready)
    ctx.set(stream.valid, 0)


async def stream_get(ctx, stream, count, *, stall_probability=0, rng=None, timeout=TIMEOUT):
    """Receive ``count`` payloads from ``stream`` (the DUT's output) and return them as a list.

    ``ready`` is dropped for a cycle with ``stall_probability``. Fails if the source drops
    ``valid`` or changes the payload while a transfer is pending, or if no transfer happens for
    ``timeout`` cycles.
    """
    rng = rng or random.Random(1)
    payload_value = _raw(stream.payload)
    results = []
    pending = None  # payload offered but not taken on the previous edge
    idle = 0
    while len(results) < count:
        ready = not (stall_probability and rng.random() < stall_probability)
        ctx.set(stream.ready, ready)
        _, _, valid, payload = await ctx.tick().sample(stream.valid, payload_value)
        if pending is not None:
            assert valid, "valid was deasserted before the payload was taken"
            assert payload == pending, (
                f"payload changed from {pending} to {payload} while waiting for ready")
        if valid and ready:
            results.append(_signed(payload, payload_value))
            pending = None
            idle = 0
        else:
            pending = payload if valid else None
            idle += 1
            assert idle < timeout, (
                f"no transfer for {timeout} cycles after {len(results)} of {count} results")
    ctx.set(stream.ready, 0)
    return results


def _signed(raw, value):
    """Interpret a sampled raw value according to ``value``'s shape."""
    shape = value.shape()
    if shape.signed and raw >= 1 << (shape.width - 1):
        return raw - (1 << shape.width)
    return raw


def run_stream(dut, payloads, count, *, stall_in=0.0, stall_out=0.0, seed=0, drain=None):
    """Feed ``payloads`` into ``dut.i``, collect ``count`` results from ``dut.o`` and return them.

    ``stall_in`` / ``stall_out`` are the source's and sink's stall probabilities. After the last
    result the sink stays ready for ``drain`` more cycles (default: enough to flush any pipeline)
    and fails if anything else appears (duplicated data). Raw integers are returned (signed
    output shapes are sign-extended).
    """
    rng = random.Random(seed)
    put_rng, get_rng = random.Random(rng.getrandbits(32)), random.Random(rng.getrandbits(32))
    results = []
    drain = 8 if drain is None else drain

    async def source(ctx):
        await stream_put(ctx, dut.i, payloads, stall_probability=stall_in, rng=put_rng)

    async def sink(ctx):
        results.extend(await stream_get(ctx, dut.o, count, stall_probability=stall_out,
                                        rng=get_rng))
        ctx.set(dut.o.ready, 1)
        for _ in range(drain):
            _, _, valid = await ctx.tick().sample(dut.o.valid)
            assert not valid, f"extra output after the expected {count} results"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run()
    return results


def stream_timing(dut, payloads, count):
    """Edges at which each of ``count`` outputs transfers, with no stalls anywhere.

    Edge 0 is the one that accepts the first input; a unit of latency ``L`` and full throughput
    gives ``[L, L+1, ..., L+count-1]``.
    """
    edges = []

    async def testbench(ctx):
        ctx.set(dut.o.ready, 1)
        sent = 0
        ctx.set(dut.i.valid, 1)
        ctx.set(dut.i.payload, payloads[0])
        edge = 0
        while len(edges) < count:
            _, _, in_ready, out_valid = await ctx.tick().sample(dut.i.ready, dut.o.valid)
            if out_valid:
                edges.append(edge)
            if sent < len(payloads) and in_ready:
                sent += 1
                if sent < len(payloads):
                    ctx.set(dut.i.payload, payloads[sent])
                else:
                    ctx.set(dut.i.valid, 0)
            edge += 1
            assert edge < 100 * (count + 10), "stuck"

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return edges


# --- cocotb harness: several blocks in one Verilog top, so one Verilator build serves them all ---


class Harness(wiring.Component):
    """Top module exposing each block's ``i`` / ``o`` streams as ``<key>_i`` / ``<key>_o``.

    Flattened Verilog ports are then ``<key>_i__valid``, ``<key>_i__payload``, ... (what
    ``sim/blocks/streams.py`` drives with prefix ``<key>``); all blocks share ``clk`` and
    ``rst``.
    """

    def __init__(self, blocks):
        self._blocks = dict(blocks)
        members = {}
        for key, block in self._blocks.items():
            members[f"{key}_i"] = block.signature.members["i"]
            members[f"{key}_o"] = block.signature.members["o"]
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        for key, block in self._blocks.items():
            m.submodules[key] = block
            wiring.connect(m, wiring.flipped(getattr(self, f"{key}_i")), block.i)
            wiring.connect(m, block.o, wiring.flipped(getattr(self, f"{key}_o")))
        return m


BUILD_ROOT = Path(__file__).resolve().parent.parent / "_build"
TB_DIR = Path(__file__).resolve().parents[2] / "sim" / "blocks"


_HARNESS_CACHE = {}


def run_harness_cocotb(*, block, make_blocks, key, tb_module, test_dir, seed=1):
    """Run ``tb_module``'s cocotb tests on instance ``key`` of a harness of blocks.

    ``make_blocks()`` returns ``(blocks, specs)``: key -> component, and key -> plain-JSON
    description the testbench reads. It is called once per block family and process; the Verilog
    (``<top>.v``) and the JSON file go to ``tests/_build/<block>/all/`` at stable paths and the
    Verilator model (``-O0``: compile time is what counts) to the user's model cache, so every
    configuration of a family shares one build, kept across checkouts and runs. ``BNNHW_TB_SPEC`` and ``BNNHW_TB_INSTANCE`` tell the testbench where the
    parameters are and which instance to drive.
    """
    from amaranth.back import verilog

    from bnnhw.sim import run_cocotb, write_source

    top = f"bnnhw_tb_{block}"
    root = BUILD_ROOT / block / "all"
    if block not in _HARNESS_CACHE:
        blocks, specs = make_blocks()
        source = write_source(root / f"{top}.v", verilog.convert(Harness(blocks), name=top,
                                                                   emit_src=False))
        spec_path = write_source(root / "spec.json", json.dumps(specs, indent=1, sort_keys=True))
        _HARNESS_CACHE[block] = source, spec_path, set(specs)
    source, spec_path, keys = _HARNESS_CACHE[block]
    if key not in keys:
        raise KeyError(f"no instance {key!r} in the {block} harness")
    return run_cocotb(
        verilog_sources=[source], toplevel=top, test_module=TB_DIR / tb_module,
        test_dir=test_dir, seed=seed, cxx_opt="-O0",
        extra_env={"BNNHW_TB_SPEC": str(spec_path), "BNNHW_TB_INSTANCE": key},
    )
