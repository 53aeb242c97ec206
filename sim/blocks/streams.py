"""cocotb drivers and monitors for ``amaranth.lib.stream`` ports in emitted Verilog.

Amaranth flattens a stream port ``i`` into ``i__valid``, ``i__ready`` and ``i__payload`` (a
``lib.data`` payload is one vector, first field in the low bits). A harness that holds several
blocks (``tests/hw/streams.py``: ``harness``) prefixes them, e.g. ``t0_i__valid``; both take the
prefix (``"i"`` or ``"t0_i"``).

Timing: every coroutine here changes its outputs just after a rising edge of ``clk`` and samples
the handshake at the falling edge, when everything has settled; a transfer happens on the rising
edge that follows a falling edge with ``valid & ready``. Call them right after a rising edge
(:func:`start_and_reset` returns there).

:class:`StreamSink` checks the stream rule a consumer relies on: once ``valid`` is high it stays
high, with the same payload, until the transfer. Together with counting every transfer this makes
lost or duplicated data fail the test.

Not a pytest module: imported by the testbench modules inside the simulator.
"""

import random

from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, RisingEdge

__all__ = ["StreamSource", "StreamSink", "start_and_reset", "run_stream"]

#: Cycles without a transfer after which :class:`StreamSink` declares the design stuck.
TIMEOUT = 1000


def _port(dut, prefix, name):
    return getattr(dut, f"{prefix}__{name}")


class StreamSource:
    """Drives the input stream ``<prefix>__{valid,payload}`` of ``dut``; reads ``__ready``."""

    def __init__(self, dut, prefix, *, clk=None):
        self.clk = dut.clk if clk is None else clk
        self.valid = _port(dut, prefix, "valid")
        self.ready = _port(dut, prefix, "ready")
        self.payload = _port(dut, prefix, "payload")
        self.width = len(self.payload)
        self.valid.value = 0

    async def send(self, payloads, *, stall_probability=0.0, rng=None):
        """Send each payload (int, negative allowed: masked to the port width) in one transfer.

        Before each payload the source idles for a random number of cycles (each with
        ``stall_probability``), driving garbage on the payload while ``valid`` is low.
        """
        rng = rng or random.Random(0)
        mask = (1 << self.width) - 1
        for payload in payloads:
            while stall_probability and rng.random() < stall_probability:
                self.valid.value = 0
                self.payload.value = rng.getrandbits(self.width)
                await RisingEdge(self.clk)
            self.valid.value = 1
            self.payload.value = int(payload) & mask
            while True:
                await FallingEdge(self.clk)
                ready = bool(self.ready.value)
                await RisingEdge(self.clk)
                if ready:
                    break
        self.valid.value = 0


class StreamSink:
    """Consumes the output stream ``<prefix>__{valid,payload}`` of ``dut``; drives ``__ready``."""

    def __init__(self, dut, prefix, *, signed=False, clk=None):
        self.clk = dut.clk if clk is None else clk
        self.valid = _port(dut, prefix, "valid")
        self.ready = _port(dut, prefix, "ready")
        self.payload = _port(dut, prefix, "payload")
        self.signed = signed
        self.width = len(self.payload)
        self.ready.value = 0

    def _read(self):
        value = self.payload.value  # LogicArray, or Logic for a 1-bit port
        raw = value.to_unsigned() if hasattr(value, "to_unsigned") else int(value)
        if self.signed and raw >> (self.width - 1):
            raw -= 1 << self.width
        return raw

    async def receive(self, count, *, stall_probability=0.0, rng=None, timeout=TIMEOUT):
        """Return the next ``count`` payloads; ``ready`` drops for a cycle with the probability.

        Fails if ``valid`` falls or the payload changes while a transfer is pending, or if no
        transfer happens for ``timeout`` cycles.
        """
        rng = rng or random.Random(1)
        results = []
        pending = None
        idle = 0
        while len(results) < count:
            ready = not (stall_probability and rng.random() < stall_probability)
            self.ready.value = int(ready)
            await FallingEdge(self.clk)
            valid = bool(self.valid.value)
            payload = self._read() if valid else None
            if pending is not None:
                assert valid, "valid was deasserted before the payload was taken"
                assert payload == pending, (
                    f"payload changed from {pending} to {payload} while waiting for ready")
            if valid and ready:
                results.append(payload)
                pending = None
                idle = 0
            else:
                pending = payload
                idle += 1
                assert idle < timeout, (
                    f"no transfer for {timeout} cycles after {len(results)} of {count} results")
            await RisingEdge(self.clk)
        self.ready.value = 0
        return results

    async def expect_idle(self, cycles):
        """With ``ready`` high, fail if ``valid`` rises within ``cycles`` (duplicated data)."""
        self.ready.value = 1
        for _ in range(cycles):
            await FallingEdge(self.clk)
            assert not self.valid.value, "extra output after the expected results"
            await RisingEdge(self.clk)
        self.ready.value = 0


async def start_and_reset(dut, *, cycles=2):
    """Start a 100 MHz clock on ``clk``, hold ``rst`` high for ``cycles`` rising edges.

    Call once per cocotb test (cocotb stops the clock task when a test ends). Returns just after
    a rising edge with ``rst`` released.
    """
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    for _ in range(cycles):
        await RisingEdge(dut.clk)
    dut.rst.value = 0


async def run_stream(dut, prefix, payloads, count, *, signed=False, stall_in=0.0, stall_out=0.0,
                     seed=0, drain=8):
    """Reset, send ``payloads`` to ``<prefix>_i``, return ``count`` results of ``<prefix>_o``.

    ``prefix`` is the harness instance (``"t0"``); pass ``""`` for a bare block (``i`` / ``o``).
    After the results the sink stays ready ``drain`` cycles and fails on any extra output.
    """
    import cocotb

    in_prefix, out_prefix = (f"{prefix}_i", f"{prefix}_o") if prefix else ("i", "o")
    source = StreamSource(dut, in_prefix)
    sink = StreamSink(dut, out_prefix, signed=signed)
    await start_and_reset(dut)
    rng = random.Random(seed)
    source_rng, sink_rng = random.Random(rng.getrandbits(32)), random.Random(rng.getrandbits(32))
    sender = cocotb.start_soon(
        source.send(payloads, stall_probability=stall_in, rng=source_rng))
    results = await sink.receive(count, stall_probability=stall_out, rng=sink_rng)
    await sender
    await sink.expect_idle(drain)
    return results


#: (input stall probability, output stall probability) pairs every block testbench runs.
STALLS = [(0.0, 0.0), (0.3, 0.3), (0.7, 0.1), (0.1, 0.7)]


def load_spec():
    """``(key, spec)`` of the harness instance under test (``BNNHW_TB_INSTANCE`` in the JSON
    file ``BNNHW_TB_SPEC``, both set by ``tests/hw/streams.py: run_harness_cocotb`` or, in the
    Makefile flow, by ``generate.py``)."""
    import json
    import os

    key = os.environ["BNNHW_TB_INSTANCE"]
    with open(os.environ["BNNHW_TB_SPEC"]) as file:
        return key, json.load(file)[key]


async def check_stream(dut, key, payloads, expected, *, signed=False, stalls=(0.0, 0.0), seed=0,
                       describe=None):
    """Run ``payloads`` through instance ``key`` and assert the results equal ``expected``.

    ``describe(index)`` (optional) names the input behind a mismatching result.
    """
    got = await run_stream(dut, key, payloads, len(expected), signed=signed,
                           stall_in=stalls[0], stall_out=stalls[1], seed=seed)
    for index, (g, e) in enumerate(zip(got, expected)):
        where = describe(index) if describe else f"result {index}"
        assert g == e, f"{key}: {where}: got {g}, want {e}"
    dut._log.info("%s: %d results match the golden model (stalls %s)", key, len(expected), stalls)
