"""On-chip memory traffic of one inference, per engine, from the network's hardware plan.

The engines, the compiled layers each computes (fusion, pooling), their foldings, geometries
and ROMs are read from the :class:`~bnnhw.compiler.HardwarePlan` the network elaborates
(``network.plan``). The network itself is asked only for what its builders choose: the sliding
window in front of an engine, if any (its size, chunked line buffer, re-sends), and the stream
widths. Counted per image at the rate the streaming network does its work (docs/network.md),
not from the simulation: every access the algorithm needs, once.

============================  ==================================================================
memory                        accesses per image
============================  ==================================================================
``weight_rom``                every matrix engine reads each PE's weight ROM once per cycle of
                              its folding: ``SF * NF * positions`` words per PE, of the ROM's
                              ``word_bits`` (= every weight bit once per output position)
``threshold_rom``             a fused threshold (``BinaryMVTU``): ``NF * positions`` words per PE
``param_rom``                 per-channel units (``threshold``, ``requantize``, ``quantized_bn``,
                              ``dprelu``): one word per element, ``C * H * W`` reads; int8 bias:
                              one 32-bit value per output (``rows * positions``)
``line_buffer``               sliding window: ``H * W`` words of ``C`` bits written (each input
                              pixel once), one ``C``-bit word read per output chunk
                              (``H_out * W_out * kh * kw * C / chunk``, border taps included);
                              a chunked line buffer writes ``H * W * C / chunk`` and reads as
                              many words of ``chunk`` bits
``vector_buffer``             matrix engines with several neuron folds per input vector fed by
                              a serializer: the first fold writes the ``SF`` chunks, the other
                              folds replay them (behind a sliding window the window re-reads
                              its line buffer once per fold instead: more line-buffer reads,
                              no vector buffer)
``fifo``                      join FIFOs (``add``, ``concat``): every input pixel written and
                              read once (the output head compares the held logits in place)
============================  ==================================================================

``pa_bases`` endpoints are constants in comparators (no ROM is read, although the plan holds
their image); permutations, slices, clipping, pooling units (a max-pool whose windows tile
the map included), serializers and deserializers hold registers only (their switching is in the
toggle counts).
"""

from collections import Counter

from ..hw.window import SlidingWindow

__all__ = ["MEMORY_KINDS", "memory_traffic"]

MEMORY_KINDS = ("weight_rom", "threshold_rom", "param_rom", "line_buffer", "vector_buffer",
                "fifo")
_CHANNEL_OPS = ("threshold", "requantize", "quantized_bn", "dprelu")


def _input_window(network, name):
    """The :class:`~bnnhw.hw.window.SlidingWindow` in front of engine ``name``, or ``None`` (a
    serializer, a pool unit that keeps its partial results in registers, no input stage)."""
    stages = getattr(dict(network.engines)[name], "stages", ())
    return stages[0] if stages and isinstance(stages[0], SlidingWindow) else None


def _line_buffer(traffic, window):
    """Line-buffer traffic of ``window``: every input pixel written once (as ``C/simd`` chunks
    in a chunked buffer), one buffer word read per output chunk."""
    if window is None:
        return
    words_per_pixel = window.channels // window.simd if window.chunked_buffer else 1
    _add(traffic, "line_buffer", writes=window.height * window.width * words_per_pixel,
         reads=window.chunks_per_image, word_bits=window.buffer_word_bits)


def _add(traffic, kind, *, writes=0, reads=0, word_bits=0, read_bits=None):
    entry = traffic.setdefault(kind, Counter())
    entry["writes"] += writes
    entry["reads"] += reads
    entry["write_bits"] += writes * word_bits
    entry["read_bits"] += reads * word_bits if read_bits is None else read_bits


def _rom_word_bits(hardware, engine, kind, layer=None):
    """``(ROMs, summed word bits)`` of the plan's ``kind`` ROMs of the layers ``engine``
    computes (of ``layer`` only, if given)."""
    roms = [rom for rom in hardware.roms if rom.kind == kind and rom.layer in engine.layers
            and layer in (None, rom.layer)]
    return len(roms), sum(rom.word_bits for rom in roms)


def _matrix(traffic, hardware, engine, window):
    """A matrix engine: weight ROMs, its fused threshold's ROM, bias, buffers and window."""
    folding = engine.folding
    repeat = window.repeat if window is not None else 1
    positions, sf, nf = folding.positions, folding.synapse_folds, folding.neuron_folds
    steps = positions * sf * nf       # one ROM word per PE per step
    _add(traffic, "weight_rom", reads=steps * len(engine.weights),
         read_bits=steps * len(engine.weights) * engine.weight_bits)
    if engine.pool_layer is not None:   # pooled dense: pixels straight from the stream, biases
        return                          # in the rings
    if engine.op.startswith("binary"):
        groups = engine.geometry.groups
        if nf // groups > 1 and repeat == 1:
            _add(traffic, "vector_buffer", writes=groups * sf * positions,
                 reads=(nf - groups) * sf * positions, word_bits=folding.simd)
        if engine.threshold_layer is not None:
            roms, word_bits = _rom_word_bits(hardware, engine, "thresholds")
            _add(traffic, "threshold_rom", reads=nf * positions * roms,
                 read_bits=nf * positions * word_bits)
    elif engine.op.startswith("int8"):
        if not folding.depthwise and nf > 1 and repeat == 1:
            _add(traffic, "vector_buffer", writes=sf * positions, reads=(nf - 1) * sf * positions,
                 word_bits=8 * folding.simd)
        _add(traffic, "param_rom", reads=nf * positions, read_bits=folding.rows * positions * 32)
        if engine.threshold_layer is not None:  # threshold units on the MAC's lanes: one word
            _, word_bits = _rom_word_bits(hardware, engine, "channel-params",   # per output
                                          engine.threshold_layer)
            _add(traffic, "param_rom", reads=folding.rows * positions, word_bits=word_bits)
    else:  # panet_conv2d: N activation bases side by side
        n = int(engine.params["activation_bases"])
        if nf > 1:
            _add(traffic, "vector_buffer", writes=sf * positions, reads=(nf - 1) * sf * positions,
                 word_bits=n * folding.simd)
    _line_buffer(traffic, window)


def memory_traffic(network):
    """Memory accesses of one inference per block.

    Parameters
    ----------
    network : StreamingNetwork
        Its hardware plan (``network.plan``: engines, layers each computes, foldings,
        geometries, ROMs), its windows' line-buffer choices and its stream formats.

    Returns
    -------
    dict of str to dict
        Block (engine value name) -> ``{memory kind: {"reads", "writes",
        "read_bits", "write_bits"}}`` (:data:`MEMORY_KINDS`; kinds the block does not have are
        absent, a block without memory maps to ``{}``).
    """
    hardware = network.plan
    traffic = {engine.name: {} for engine in hardware.engines}
    for engine in hardware.engines:
        entry = traffic[engine.name]
        geometry = engine.geometry
        if engine.folding is not None:
            _matrix(entry, hardware, engine, _input_window(network, engine.name))
            continue
        if engine.op in _CHANNEL_OPS:
            _, word_bits = _rom_word_bits(hardware, engine, "channel-params")
            _add(entry, "param_rom", reads=geometry.channels * geometry.height * geometry.width,
                 word_bits=word_bits)
        elif engine.op == "maxpool":   # no window when they tile the map: ORs in registers
            _line_buffer(entry, _input_window(network, engine.name))
        elif engine.op in ("add", "concat"):
            for source in engine.inputs:
                _add(entry, "fifo", writes=geometry.height * geometry.width,
                     reads=geometry.height * geometry.width,
                     word_bits=network.format_of(source).bits)
    return {block: {kind: dict(counts) for kind, counts in kinds.items()}
            for block, kinds in traffic.items()}
