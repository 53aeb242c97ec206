"""On-chip memory traffic of one inference, per engine, from the folding plan and memory map.

Counted per image at the rate the streaming network does its work (docs/network.md), not from
the simulation: every access the algorithm needs, once.

============================  ==================================================================
memory                        accesses per image
============================  ==================================================================
``weight_rom``                every matrix engine reads each PE's weight ROM once per cycle of
                              its folding: ``SF * NF * positions`` words per PE, of the memory
                              map's ``word_bits`` (= every weight bit once per output position)
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

``pa_bases`` endpoints are constants in comparators (no ROM is read, although the memory map
lists their image); permutations, slices, clipping, pooling units (a max-pool whose windows tile
the map included), serializers and deserializers hold registers only (their switching is in the
toggle counts).
"""

from collections import Counter

import numpy as np

from ..params import pair

__all__ = ["MEMORY_KINDS", "engine_of_layer", "memory_traffic"]

MEMORY_KINDS = ("weight_rom", "threshold_rom", "param_rom", "line_buffer", "vector_buffer",
                "fifo")
_CHANNEL_OPS = ("threshold", "requantize", "quantized_bn", "dprelu")


def _block(name):
    return name.replace(".", "_")


def engine_of_layer(compiled, engine_names):
    """Compiled layer name -> the engine (value name) that computes it.

    A binary or int8 convolution fused with its threshold is computed by the threshold's engine,
    a global pool fused into its dense layer by the dense layer's; every other layer is its own
    engine.
    """
    engines = set(engine_names)
    consumers = {}
    for layer in compiled.layers:
        for source in layer.inputs:
            consumers.setdefault(source, []).append(layer.name)
    mapping = {}
    for layer in compiled.layers:
        if layer.name in engines:
            mapping[layer.name] = layer.name
            continue
        users = [u for u in consumers.get(layer.name, []) if u in engines]
        if len(users) != 1:
            raise ValueError(f"layer {layer.name!r}: no engine computes it")
        mapping[layer.name] = users[0]
    return mapping


def _window(traffic, *, bits, height, width, kernel, stride, padding, positions, chunk_bits,
            chunked=False):
    """Line-buffer traffic of the engine's input stage (nothing for a serializer); a chunked
    line buffer stores and reads ``chunk_bits``-bit words."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if (kh, kw) == (1, 1) and (sh, sw) == (1, 1) and (ph, pw) == (0, 0):
        return
    if (kh, kw) == (height, width) and (ph, pw) == (0, 0) and height * width == 1:
        return
    chunks = positions * kh * kw * bits // chunk_bits
    if chunked:
        _add(traffic, "line_buffer", writes=height * width * bits // chunk_bits, reads=chunks,
             word_bits=chunk_bits)
        return
    _add(traffic, "line_buffer", writes=height * width, reads=chunks, word_bits=bits)


def _add(traffic, kind, *, writes=0, reads=0, word_bits=0, read_bits=None):
    entry = traffic.setdefault(kind, Counter())
    entry["writes"] += writes
    entry["reads"] += reads
    entry["write_bits"] += writes * word_bits
    entry["read_bits"] += reads * word_bits if read_bits is None else read_bits


def _images(memory_map, layer, kind):
    return [e for e in memory_map["images"] if e.get("layer") == layer and e.get("kind") == kind]


def _window_of(network, engine):
    """``(chunked, repeat)`` of ``engine``'s input sliding window (``(False, 1)`` without one)."""
    stages = getattr(dict(network.engines)[engine], "stages", ())
    first = stages[0] if stages else None
    return bool(getattr(first, "chunked_buffer", False)), int(getattr(first, "repeat", 1))


def _matrix(traffic, compiled, layer, folding, memory_map, fused, chunked=False, repeat=1):
    value = compiled.values[layer.inputs[0]]
    c, h, w = (int(x) for x in value.shape)
    positions, sf, nf, pe = folding.positions, folding.synapse_folds, folding.neuron_folds, \
        folding.pe
    weights = _images(memory_map, layer.name, "weights")
    steps = folding.positions * sf * nf       # one ROM word per PE per step
    _add(traffic, "weight_rom", reads=steps * len(weights),
         read_bits=steps * sum(e["word_bits"] for e in weights))
    if folding.pooled:      # pooled dense: pixels straight from the stream, biases in the rings
        return
    if layer.op.endswith("dense"):
        kernel, stride, padding = (h, w), (1, 1), (0, 0)
    else:
        shape = layer.params["weight_bases"].shape[3:] if layer.op == "panet_conv2d" \
            else layer.params["weight"].shape[2:]
        kernel = tuple(int(k) for k in shape)
        stride = pair(layer.params["stride"], "stride")
        padding = pair(layer.params["padding"], "padding")
    if layer.op.startswith("binary"):
        groups = int(layer.params.get("groups", 1))
        bits, chunk = c, folding.simd
        if nf // groups > 1 and repeat == 1:
            _add(traffic, "vector_buffer", writes=groups * sf * positions,
                 reads=(nf - groups) * sf * positions, word_bits=folding.simd)
        if fused is not None:
            thresholds = _images(memory_map, fused, "thresholds")
            _add(traffic, "threshold_rom", reads=nf * positions * len(thresholds),
                 read_bits=nf * positions * sum(e["word_bits"] for e in thresholds))
    elif layer.op.startswith("int8"):
        bits = 8 * c
        chunk = 8 * (pe if folding.depthwise else folding.simd)
        if not folding.depthwise and nf > 1 and repeat == 1:
            _add(traffic, "vector_buffer", writes=sf * positions, reads=(nf - 1) * sf * positions,
                 word_bits=8 * folding.simd)
        _add(traffic, "param_rom", reads=nf * positions, read_bits=folding.rows * positions * 32)
        if fused is not None:       # threshold units on the MAC's lanes: one word per output
            params = _images(memory_map, fused, "channel-params")
            _add(traffic, "param_rom", reads=folding.rows * positions,
                 word_bits=sum(e["word_bits"] for e in params))
    else:  # panet_conv2d: N activation bases side by side
        n = int(layer.params["activation_bases"])
        bits, chunk = c, n * folding.simd
        if nf > 1:
            _add(traffic, "vector_buffer", writes=sf * positions, reads=(nf - 1) * sf * positions,
                 word_bits=n * folding.simd)
    _window(traffic, bits=bits, height=h, width=w, kernel=kernel, stride=stride,
            padding=padding, positions=positions * repeat, chunk_bits=chunk, chunked=chunked)


def memory_traffic(network, compiled, plan, memory_map):
    """Memory accesses of one inference per block.

    Parameters
    ----------
    network : StreamingNetwork
        For the engine names and stream formats.
    compiled : CompiledNetwork
    plan : FoldingPlan
    memory_map : dict
        ``bnnhw.compiler.memory_images(compiled, plan)[1]``.

    Returns
    -------
    dict of str to dict
        Block (engine value name) -> ``{memory kind: {"reads", "writes",
        "read_bits", "write_bits"}}`` (:data:`MEMORY_KINDS`; kinds the block does not have are
        absent, a block without memory maps to ``{}``).
    """
    engine_names = [name for name, _ in network.engines]
    engine_of = engine_of_layer(compiled, engine_names)
    by_layer = plan.by_layer
    traffic = {name: {} for name in engine_names}
    for layer in compiled.layers:
        engine = engine_of[layer.name]
        entry = traffic[engine]
        if layer.name in by_layer:
            fused = engine if engine != layer.name else None
            chunked, repeat = _window_of(network, engine)
            _matrix(entry, compiled, layer, by_layer[layer.name], memory_map, fused,
                    chunked=chunked, repeat=repeat)
            continue
        if engine != layer.name or any(engine_of.get(x) == engine for x in layer.inputs):
            continue          # a fused threshold: counted with its convolution
        c, h, w = (int(x) for x in compiled.values[layer.inputs[0]].shape)
        if layer.op in _CHANNEL_OPS:
            params = _images(memory_map, layer.name, "channel-params")
            word_bits = sum(e["word_bits"] for e in params)
            _add(entry, "param_rom", reads=c * h * w, word_bits=word_bits)
        elif layer.op == "maxpool":
            kernel = pair(layer.params["kernel"], "kernel")
            stride = pair(layer.params.get("stride", layer.params["kernel"]), "stride")
            if stride == kernel and h % kernel[0] == 0 and w % kernel[1] == 0:
                continue      # StreamingMaxPool: partial ORs in registers, no line buffer
            positions = int(np.prod(compiled.values[layer.name].shape[1:]))
            _window(entry, bits=c, height=h, width=w, kernel=kernel, stride=stride,
                    padding=(0, 0), positions=positions, chunk_bits=c)
        elif layer.op in ("add", "concat"):
            for source in layer.inputs:
                _add(entry, "fifo", writes=h * w, reads=h * w,
                     word_bits=network.format_of(source).bits)
    return {block: {kind: dict(counts) for kind, counts in kinds.items()}
            for block, kinds in traffic.items()}
