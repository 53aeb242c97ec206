"""Locate a mismatch: which layer's output first differs from golden, at which pixel and bit.

:func:`first_difference` runs one image through a :class:`~bnnhw.hw.network.StreamingNetwork`
in Amaranth's own simulator (no Verilator build needed), records every engine's output stream
and compares each transfer with golden's value of that layer (``CompiledNetwork.run(keep=True)``),
in execution order: the first layer whose output differs is where the hardware and the spec part
ways (later layers only inherit the difference). It is slow (every engine is sampled every
cycle), so the build runs it only for the first mismatching image.
"""

import numpy as np
from amaranth.sim import Simulator

from .network import input_pixels

__all__ = ["expected_pixels", "first_difference"]


def expected_pixels(value, fmt):
    """Golden ``value`` ``(C, H, W)`` as pixel-vector payloads (raster order) in ``fmt``."""
    value = np.asarray(value)
    channels = value.shape[0]
    if channels != fmt.elements:
        raise ValueError(f"value has {channels} channels, the stream format {fmt.elements}")
    flat = value.reshape(channels, -1).astype(object)
    mask = (1 << fmt.width) - 1
    return [sum((int(flat[c, k]) & mask) << (c * fmt.width) for c in range(channels))
            for k in range(flat.shape[1])]


def _describe(name, value, fmt, index, expected, got):
    height, width = value.shape[1:]
    diff = expected ^ got
    bit = (diff & -diff).bit_length() - 1
    channel = bit // fmt.width

    def element(payload):
        raw = (payload >> (channel * fmt.width)) & ((1 << fmt.width) - 1)
        return raw - (1 << fmt.width) if fmt.shape.signed and raw >> (fmt.width - 1) else raw

    return {"layer": name, "pixel": [index // width, index % width], "channel": channel,
            "bit": bit % fmt.width, "expected": int(element(expected)),
            "got": int(element(got))}


def first_difference(network, compiled, image, *, max_cycles=None):
    """First differing layer output for one ``image`` ``(C, H, W)``, or ``None`` if all agree.

    Returns a dict: ``layer`` (the compiled value), ``pixel`` ``[y, x]``, ``channel``, ``bit``
    (within the element), ``expected`` / ``got`` element values — or, if the layer produced
    too few outputs within ``max_cycles``, ``what: "missing output"`` and the count.
    """
    image = np.asarray(image)
    golden = compiled.run(image[None], keep=True)
    engines = network.engines
    budget = max_cycles or (len(engines) + 4) * network.cycles_per_inference + 20000
    pixels = input_pixels(network, image[None])
    wanted = {name: int(np.prod(golden[name].shape[2:])) for name, _ in engines}
    seen = {name: [] for name, _ in engines}
    state = {"cycles": 0}

    async def testbench(ctx):
        ctx.set(network.o.ready, 1)
        streams = [(name, component.o) for name, component in engines]
        sent = 0
        for cycle in range(budget):
            if sent < len(pixels):
                ctx.set(network.i.valid, 1)
                ctx.set(network.i.payload, pixels[sent])
            else:
                ctx.set(network.i.valid, 0)
            taking = sent < len(pixels) and ctx.get(network.i.ready)
            for name, port in streams:
                if ctx.get(port.valid) and ctx.get(port.ready):
                    seen[name].append(ctx.get(port.payload))
            await ctx.tick()
            sent += bool(taking)
            state["cycles"] = cycle + 1
            if all(len(seen[name]) >= wanted[name] for name in wanted):
                return

    sim = Simulator(network)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    for name, _ in engines:
        fmt = network.format_of(name)
        value = golden[name][0]
        expected = expected_pixels(value, fmt)
        got = seen[name]
        for index, (want, have) in enumerate(zip(expected, got)):
            if want != have:
                return _describe(name, value, fmt, index, want, int(have))
        if len(got) < len(expected):
            return {"layer": name, "what": "missing output", "expected": len(expected),
                    "got": len(got), "cycles": state["cycles"]}
    return None
