# amaranth: UnusedElaboratable=no
"""The network's ``clip`` stage (``clip(2p - N, -B, B)`` before a quantized batch norm).

Issue 14 item 1: the stage formed ``2p - N`` in a signed width too narrow for ``2p``, so every
popcount ``p >= 2**(w-1)`` wrapped (XNOR dense, N = 12, clip 127: all-zeros input gave logit -20
instead of 12). These tests drive :func:`bnnhw.hw.network.clip_dot` through a
:class:`~bnnhw.hw.engines.PixelMap` in the Amaranth simulator, exhaustively over every popcount
``0..N`` of fan-ins around every power of two, against ``golden.saturate(2p - N, B)``; and a
whole XNOR -> clip -> quantized BN network in the Amaranth simulator against golden.
"""

import numpy as np
import pytest
from amaranth.hdl import Cat, Shape, signed, unsigned

from bnnhw import golden
from bnnhw.hw.engines import PixelFormat, PixelMap, element
from bnnhw.hw.network import clip_dot, clip_width

from .streams import run_stream

#: Fan-ins 1, 2^k - 1, 2^k, 2^k + 1 and the two of the issue (12, 160).
FAN_INS = [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 160,
           255, 256, 257]
PER_PIXEL = 32


def _bounds(fan_in):
    return sorted({1, max(1, fan_in // 2), max(1, fan_in - 1), fan_in, fan_in + 1, 127})


def _run_clip(fan_in, bound, in_shape):
    """``clip_dot`` of every popcount ``0..fan_in`` (``in_shape`` elements), as Python ints."""
    in_shape = Shape.cast(in_shape)
    width = clip_width(fan_in, bound)
    fmt = PixelFormat(PER_PIXEL, in_shape)

    def fn(payload):
        return Cat(*(clip_dot(element(payload, fmt, e), in_shape, fan_in, bound)
                     for e in range(PER_PIXEL)))

    dut = PixelMap(fn, in_bits=fmt.bits, out_bits=PER_PIXEL * width)
    popcounts = list(range(fan_in + 1))
    popcounts += [0] * (-len(popcounts) % PER_PIXEL)
    mask = (1 << in_shape.width) - 1
    payloads = [sum((p & mask) << (e * in_shape.width)
                    for e, p in enumerate(popcounts[k:k + PER_PIXEL]))
                for k in range(0, len(popcounts), PER_PIXEL)]
    out = run_stream(dut, payloads, len(payloads))
    values = []
    for word in out:
        for e in range(PER_PIXEL):
            raw = (word >> (e * width)) & ((1 << width) - 1)
            values.append(raw - (1 << width) if raw >> (width - 1) else raw)
    return values[:fan_in + 1]


@pytest.mark.parametrize("fan_in", FAN_INS)
def test_clip_stage_equals_golden_for_every_popcount(fan_in):
    popcount_shape = unsigned(fan_in.bit_length())      # the popcount's own stream format
    for bound in _bounds(fan_in):
        want = golden.saturate(2 * np.arange(fan_in + 1) - fan_in, bound).tolist()
        assert _run_clip(fan_in, bound, popcount_shape) == want, (fan_in, bound)


@pytest.mark.parametrize("in_shape", [unsigned(9), signed(10)], ids=["wider", "signed"])
def test_clip_stage_equals_golden_in_wider_element_formats(in_shape):
    """A popcount re-packed in a wider or signed element (after a concat) clips the same."""
    for fan_in in (12, 128, 160, 255):
        for bound in (1, 63, 127):
            want = golden.saturate(2 * np.arange(fan_in + 1) - fan_in, bound).tolist()
            assert _run_clip(fan_in, bound, in_shape) == want, (fan_in, bound)


def test_clip_width_holds_the_clipped_range():
    for fan_in in FAN_INS:
        for bound in _bounds(fan_in):
            top = min(fan_in, bound)
            shape = signed(clip_width(fan_in, bound))
            assert -(1 << (shape.width - 1)) <= -top and top < (1 << (shape.width - 1))


def _xnor_qbn_network(fan_in, seed):
    """bits (N, 1, 1) -> XNOR dense (clip 127) -> quantized BN that passes s through."""
    from bnnhw.model import Model

    rng = np.random.default_rng(seed)
    weight = rng.choice(np.array([-1, 1], np.int8), size=(3, fan_in))
    weight[0] = -1          # all-zeros input: p = N, s = min(N, 127)
    weight[1] = 1           # all-zeros input: p = 0, s = -min(N, 127)
    graph = {"format": "bnnhw-model", "version": 1, "name": "xnor-qbn",
             "input": {"shape": [fan_in, 1, 1], "type": "bits"},
             "layers": [{"name": "fc", "op": "dense", "inputs": ["input"],
                         "precision": "binary", "out_features": 3, "clip": 127},
                        {"name": "q", "op": "quantized_bn", "inputs": ["fc"], "frac_bits": 0}],
             "output": "q"}
    arrays = {"fc.weight": weight, "q.scale": np.ones(3, np.int16),
              "q.bias": np.zeros(3, np.int16)}
    return Model.from_dict(graph, arrays)


@pytest.mark.parametrize("fan_in", [12, 160])
def test_xnor_clip_quantized_bn_network_equals_golden_amaranth_sim(fan_in):
    """The issue's two reproductions, whole network, Amaranth simulator: logits == golden."""
    from bnnhw.compiler import hardware_plan, lower, plan_folding
    from bnnhw.hw.network import StreamingNetwork
    from bnnhw.model.reference import run_float
    from bnnhw.sim.diagnose import first_difference

    model = _xnor_qbn_network(fan_in, seed=fan_in)
    compiled = lower(model)
    plan = plan_folding(compiled, target_cycles=200)
    network = StreamingNetwork(hardware_plan(compiled, plan))
    rng = np.random.default_rng(3)
    images = np.concatenate([np.zeros((1, fan_in, 1, 1), np.int64),
                             np.ones((1, fan_in, 1, 1), np.int64),
                             rng.integers(0, 2, (2, fan_in, 1, 1))])
    logits = compiled.run(images).reshape(len(images), -1)
    top = min(fan_in, 127)
    assert logits[0].tolist()[:2] == [top, -top]      # the spec's values (12 / 127)
    assert np.array_equal(logits, run_float(model, images)["q"].reshape(len(images), -1))
    for image in images:
        assert first_difference(network, compiled, image) is None


def _two_fan_in_network():
    """bits (160, 1, 1): an XNOR dense over all 160 bits and one over 12 of them (a slice),
    each clip 127 -> pass-through quantized BN, concatenated into 6 logits."""
    from bnnhw.model import Model

    rng = np.random.default_rng(14)
    layers, arrays = [{"name": "part", "op": "slice", "inputs": ["input"], "start": 4,
                       "stop": 16}], {}
    for name, source, fan_in in (("wide", "input", 160), ("narrow", "part", 12)):
        weight = rng.choice(np.array([-1, 1], np.int8), size=(3, fan_in))
        weight[0], weight[1] = -1, 1
        layers += [{"name": name, "op": "dense", "inputs": [source], "precision": "binary",
                    "out_features": 3, "clip": 127},
                   {"name": f"{name}_q", "op": "quantized_bn", "inputs": [name],
                    "frac_bits": 0}]
        arrays.update({f"{name}.weight": weight, f"{name}_q.scale": np.ones(3, np.int16),
                       f"{name}_q.bias": np.zeros(3, np.int16)})
    layers.append({"name": "logits", "op": "concat", "inputs": ["wide_q", "narrow_q"]})
    graph = {"format": "bnnhw-model", "version": 1, "name": "xnor-qbn-rtl",
             "input": {"shape": [160, 1, 1], "type": "bits"}, "layers": layers,
             "output": "logits"}
    return Model.from_dict(graph, arrays)


@pytest.mark.cocotb
def test_xnor_clip_quantized_bn_network_equals_golden_verilator(tmp_path):
    """The issue's reproduction under Verilator, full rate and random stalls: every logit of
    every image equals golden (all-zeros input: 127, -127, .., 12, -12, ..)."""
    from bnnhw.compiler import hardware_plan, lower, plan_folding
    from bnnhw.hw.network import StreamingNetwork
    from bnnhw.sim.network import StallPattern, check_results, simulate_network

    model = _two_fan_in_network()
    compiled = lower(model)
    plan = plan_folding(compiled, target_cycles=200)
    network = StreamingNetwork(hardware_plan(compiled, plan))
    rng = np.random.default_rng(5)
    images = np.concatenate([np.zeros((1, 160, 1, 1), np.int64),
                             np.ones((1, 160, 1, 1), np.int64),
                             rng.integers(0, 2, (10, 160, 1, 1))])
    logits = compiled.run(images).reshape(len(images), -1)
    assert logits[0].tolist()[:2] == [127, -127] and logits[0].tolist()[3:5] == [12, -12]
    results = simulate_network(network, images, work_dir=tmp_path / "sim",
                               runs=[StallPattern(), StallPattern(input=0.3, output=0.3,
                                                                  seed=7)])
    for result in results:
        assert not result.timed_out and len(result.labels) == len(images)
        assert check_results(result, logits, compiled.classify(images)) == []
