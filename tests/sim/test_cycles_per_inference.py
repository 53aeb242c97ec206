# amaranth: UnusedElaboratable=no
"""The planner's ``cycles_per_inference`` is the interval the hardware really has.

Small networks run in Amaranth's own simulator (no Verilator), several images back to back at
full rate (input always valid, output always ready): the cycles between consecutive results in
steady state equal ``FoldingPlan.cycles_per_inference``, and every result is golden's. The cases
are the ones where the measured interval used to exceed the prediction: the last matrix layer
reading the whole map (a dense layer on a multi-pixel map, a convolution whose kernel covers the
map; an unpadded convolution before it), where the line buffer could not take the next image
while the last windows were re-read, and a network without matrix layers whose argmax head
(one class per cycle, then the transfer) is the slowest stage.
"""

import numpy as np
import pytest
from amaranth.sim import Simulator

from bnnhw.compiler import hardware_plan, lower, plan_folding
from bnnhw.hw.network import StreamingNetwork
from bnnhw.hw.window import SlidingWindow, default_buffer_rows
from bnnhw.model import Model
from bnnhw.sim.diagnose import expected_pixels
from bnnhw.sim.network import input_pixels

IMAGES = 4


def _bits(rng, shape):
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)


def _bn(rng, name, channels):
    return {f"{name}.gamma": rng.normal(size=channels), f"{name}.beta": rng.normal(size=channels),
            f"{name}.mean": rng.normal(size=channels) * 3,
            f"{name}.var": rng.random(channels) + 0.1}


def _graph(name, shape, layers, output):
    return {"format": "bnnhw-model", "version": 1, "name": name,
            "input": {"shape": list(shape), "type": "bits"}, "layers": layers, "output": output}


def dense_on_map(rng):
    """Padded 2 x 2 binary conv (3 x 3 -> 4 x 4), BN, sign, then a binary dense layer on the
    whole 4 x 4 map."""
    layers = [
        {"name": "c1", "op": "conv2d", "inputs": ["input"], "precision": "binary",
         "out_channels": 4, "kernel": 2, "padding": 1, "pad_value": -1},
        {"name": "bn1", "op": "batchnorm", "inputs": ["c1"], "eps": 1e-5},
        {"name": "s1", "op": "sign", "inputs": ["bn1"]},
        {"name": "fc", "op": "dense", "inputs": ["s1"], "precision": "binary",
         "out_features": 3},
    ]
    arrays = {"c1.weight": _bits(rng, (4, 2, 2, 2)), **_bn(rng, "bn1", 4),
              "fc.weight": _bits(rng, (3, 64))}
    return _graph("dense-on-map", (2, 3, 3), layers, "fc"), arrays


def conv_covering_map(rng):
    """Unpadded 2 x 2 binary conv (5 x 5 -> 4 x 4), BN, sign, then a 4 x 4 conv on the 4 x 4
    map (one output position)."""
    layers = [
        {"name": "c1", "op": "conv2d", "inputs": ["input"], "precision": "binary",
         "out_channels": 4, "kernel": 2},
        {"name": "bn1", "op": "batchnorm", "inputs": ["c1"], "eps": 1e-5},
        {"name": "s1", "op": "sign", "inputs": ["bn1"]},
        {"name": "c2", "op": "conv2d", "inputs": ["s1"], "precision": "binary",
         "out_channels": 5, "kernel": 4},
    ]
    arrays = {"c1.weight": _bits(rng, (4, 2, 2, 2)), **_bn(rng, "bn1", 4),
              "c2.weight": _bits(rng, (5, 4, 4, 4))}
    return _graph("conv-covering-map", (2, 5, 5), layers, "c2"), arrays


def pool_only(rng):
    """No matrix layer: a global pool of a 12-channel 2 x 2 bits input is the 12 logits."""
    layers = [{"name": "gp", "op": "global_pool", "inputs": ["input"]}]
    return _graph("pool-only", (12, 2, 2), layers, "gp"), {}


def overlapping_pool(rng):
    """A 3 x 3 stride-2 max pool (7 x 6 -> 3 x 2: a sliding window, one tap per cycle), then a
    3 x 2 binary conv covering the pooled map."""
    layers = [
        {"name": "mp", "op": "maxpool", "inputs": ["input"], "kernel": 3, "stride": 2},
        {"name": "c", "op": "conv2d", "inputs": ["mp"], "precision": "binary",
         "out_channels": 5, "kernel": [3, 2]},
    ]
    arrays = {"c.weight": _bits(rng, (5, 3, 3, 2))}
    return _graph("overlapping-pool", (3, 7, 6), layers, "c"), arrays


def pooled_head(rng):
    """A 1 x 1 binary conv (2 -> 16 channels on a 6 x 6 map), BN, sign, a global pool and an
    int8 dense layer of 5 classes: a pooled dense engine, 36 pooled pixels (full rate up to
    16 x 36 = 576 cycles)."""
    layers = [
        {"name": "c1", "op": "conv2d", "inputs": ["input"], "precision": "binary",
         "out_channels": 16, "kernel": 1},
        {"name": "bn1", "op": "batchnorm", "inputs": ["c1"], "eps": 1e-5},
        {"name": "s1", "op": "sign", "inputs": ["bn1"]},
        {"name": "gp", "op": "global_pool", "inputs": ["s1"]},
        {"name": "fc", "op": "dense", "inputs": ["gp"], "precision": "int8", "out_features": 5},
    ]
    arrays = {"c1.weight": _bits(rng, (16, 2, 1, 1)), **_bn(rng, "bn1", 16),
              "fc.weight": rng.integers(-128, 128, (5, 16)),
              "fc.bias": rng.integers(-300, 300, 5).astype(np.int32)}
    return _graph("pooled-head", (2, 6, 6), layers, "fc"), arrays


def full_rate(rng):
    """One input pixel per cycle: a grouped padded 3 x 3 conv (every group at once, weights as
    logic), a stride-2 3 x 3 conv whose windows come in bursts (whole windows through a FIFO,
    four neuron folds each), then a binary dense layer on the 3 x 3 map."""
    layers = [
        {"name": "c1", "op": "conv2d", "inputs": ["input"], "precision": "binary",
         "out_channels": 4, "kernel": 3, "padding": 1, "pad_value": -1, "groups": 2},
        {"name": "bn1", "op": "batchnorm", "inputs": ["c1"], "eps": 1e-5},
        {"name": "s1", "op": "sign", "inputs": ["bn1"]},
        {"name": "c2", "op": "conv2d", "inputs": ["s1"], "precision": "binary",
         "out_channels": 8, "kernel": 3, "stride": 2, "padding": 1, "pad_value": 1},
        {"name": "bn2", "op": "batchnorm", "inputs": ["c2"], "eps": 1e-5},
        {"name": "s2", "op": "sign", "inputs": ["bn2"]},
        {"name": "fc", "op": "dense", "inputs": ["s2"], "precision": "binary",
         "out_features": 3},
    ]
    arrays = {"c1.weight": _bits(rng, (4, 2, 3, 3)), **_bn(rng, "bn1", 4),
              "c2.weight": _bits(rng, (8, 4, 3, 3)), **_bn(rng, "bn2", 8),
              "fc.weight": _bits(rng, (3, 72))}
    return _graph("full-rate", (4, 6, 6), layers, "fc"), arrays


def _measure(network, compiled, images):
    """Cycles between consecutive results at full rate, and whether each result is golden's."""
    golden = compiled.run(images)
    pixels = input_pixels(network, images)
    fmt = network.format_of(compiled.output)
    mask = (1 << network.label_width) - 1
    results = []

    async def testbench(ctx):
        ctx.set(network.o.ready, 1)
        sent = 0
        for cycle in range(IMAGES * 4000):
            if sent < len(pixels):
                ctx.set(network.i.valid, 1)
                ctx.set(network.i.payload, pixels[sent])
            else:
                ctx.set(network.i.valid, 0)
            taking = sent < len(pixels) and ctx.get(network.i.ready)
            if ctx.get(network.o.valid):
                results.append((cycle, ctx.get(network.o.payload)))
            await ctx.tick()
            sent += bool(taking)
            if len(results) == len(images):
                return

    sim = Simulator(network)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    assert len(results) == len(images)
    logits = np.asarray(golden[compiled.output] if isinstance(golden, dict) else golden)
    for (_, payload), value in zip(results, logits.reshape(len(images), -1, 1, 1)):
        assert payload >> network.label_width == expected_pixels(value, fmt)[0]
        assert payload & mask == int(np.argmax(value.reshape(-1)))
    return [b - a for (a, _), (b, _) in zip(results, results[1:])]


#: c1 fully parallel (PE = 4, SIMD = 2): 16 positions x 4 taps = 64 cycles, so that the layer
#: reading the whole map sets the rate (before the fix its window added the rows of the next
#: image it could not take while re-reading the last window: 192 -> 232, 96 -> 136, 320 -> 360,
#: 80 -> 120 cycles; the head-bound network was predicted at its 4 input pixels, the pool-bound
#: one at its 42).
FAST_C1 = {"c1": (4, 2)}


@pytest.mark.parametrize("make, overrides, predicted", [
    (dense_on_map, FAST_C1, 192),                       # fc: 64 chunks x 3 neuron folds
    (dense_on_map, dict(FAST_C1, fc=(1, 2)), 96),
    (conv_covering_map, FAST_C1, 320),                  # c2: 64 chunks x 5 neuron folds
    (conv_covering_map, dict(FAST_C1, c2=(1, 4)), 80),
    (pool_only, None, 13),              # 12 classes + the transfer; the input takes 4
    (overlapping_pool, None, 90),                       # c: 18 chunks x 5 neuron folds
    (overlapping_pool, {"c": (5, 3)}, 54),              # the pool: 3 x 2 positions x 9 taps
    # pooled dense: folds + drain (3, then the head's 5 classes) without the result register
    # (slower than 16 cycles per input pixel), max(folds, drain) with it (full rate)
    (pooled_head, {"c1": (16, 2)}, 36 * 16 * 5 + 8),    # fc fully folded
    (pooled_head, {"c1": (16, 2), "fc": (1, 4)}, 36 * 4 * 5 + 8),
    (pooled_head, {"c1": (16, 2), "fc": (1, 16)}, 36 * 5),     # one word per pixel
    (pooled_head, {"c1": (16, 2), "fc": (5, 4)}, 36 * 4),      # SF = 4: the producer
])                                                              # double-buffers
def test_predicted_cycles_equal_measured(make, overrides, predicted):
    compiled = lower(Model.from_dict(*make(np.random.default_rng(3))))
    plan = plan_folding(compiled, overrides=overrides)
    assert plan.cycles_per_inference == predicted
    network = StreamingNetwork(hardware_plan(compiled, plan))
    c, h, w = compiled.input_shape
    images = np.random.default_rng(7).integers(0, 2, (IMAGES, c, h, w))
    intervals = _measure(network, compiled, images)
    assert intervals[1:] == [predicted] * (IMAGES - 2), intervals


def test_whole_windows_run_at_one_pixel_per_cycle():
    """At the input's 36 pixels per image: c1 all groups at once with logic weights, c2 whole
    windows (SIMD = fan-in) through a FIFO into 4 neuron folds, its 4 weight words per PE
    hard-wired where the resource model prefers it; measured = 36."""
    compiled = lower(Model.from_dict(*full_rate(np.random.default_rng(5))))
    plan = plan_folding(compiled, target_cycles=36)
    by = plan.by_layer
    assert (by["c1"].pe, by["c1"].simd, by["c1"].weights) == (4, 18, "logic")
    assert by["c1"].all_groups and (by["c2"].pe, by["c2"].simd) == (2, 36)
    assert by["c2"].can_hard_wire and not by["c2"].fully_unrolled and by["fc"].cycles <= 36
    network = StreamingNetwork(hardware_plan(compiled, plan))
    images = np.random.default_rng(8).integers(0, 2, (IMAGES + 2, 4, 6, 6))
    intervals = _measure(network, compiled, images)
    assert intervals[1:] == [36] * (len(images) - 2), intervals


def test_full_rate_networks_pipeline_their_trees():
    """Up to 16 cycles per input pixel a network is built for clock speed: register slices
    behind the engines, popcount trees with a register rank per three levels, pipelined int8
    multiply-add trees; slower foldings keep the area (no slices, one-stage trees)."""
    from bnnhw.hw.network.graph import NetworkGraph

    compiled = lower(Model.from_dict(*full_rate(np.random.default_rng(5))))
    fast = hardware_plan(compiled, plan_folding(compiled, target_cycles=36))
    slow = hardware_plan(compiled, plan_folding(compiled))          # fully folded
    assert fast.cycles_per_inference == 36 and slow.cycles_per_inference > 16 * 36
    assert StreamingNetwork(fast).register_slices and not StreamingNetwork(slow).register_slices
    assert NetworkGraph(fast).full_rate and not NetworkGraph(slow).full_rate
    assert NetworkGraph(fast).popcount_stages(288) == 3       # 8 levels of a streamed tree
    assert NetworkGraph(fast).popcount_stages(1) == 1
    assert NetworkGraph(slow).popcount_stages(288) == 0


def test_line_buffer_holds_the_next_images_first_rows():
    """``R = kh + sh`` unless the next image's first output row needs more rows than the writer
    could load during the last output row: unpadded and whole-map windows."""
    assert default_buffer_rows(8, 3, 1, 1) == 4          # padded 3 x 3: the usual
    assert default_buffer_rows(8, 3, 2, 1) == 5
    assert default_buffer_rows(6, 3, 1, 0) == 6          # unpadded: kh + sh + (kh - 1)
    assert default_buffer_rows(4, 4, 1, 0) == 8          # whole map: two images
    assert default_buffer_rows(8, 2, 2, 0) == 4          # 2 x 2 stride 2 tiles the map
    window = SlidingWindow(channels=2, height=5, width=3, kernel=(5, 3))
    assert window.buffer_rows == 10 and window.memory_bits == 10 * 3 * 2
    assert SlidingWindow(channels=2, height=5, width=3, kernel=3, padding=1).buffer_rows == 4
