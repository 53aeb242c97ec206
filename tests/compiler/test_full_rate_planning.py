"""Planning for full rate: whole-window SIMD, every group at once, weight modes, unfused pools.

The shipped boolnet design exercises every rule at once: its grouped 3 x 3 convolutions reach
one output position per cycle only with whole windows and all groups side by side, its pooled
int8 classifier is unfused below ``rows x P`` cycles, and its fully unrolled binary layers are
hard-wired under ``auto``. The RTL side (measured cycles equal to these plans, bit-exact) is
``tests/sim/test_cycles_per_inference.py::test_whole_windows_run_at_one_pixel_per_cycle`` and
``benchmarks/throughput.py``.
"""

import pytest

from bnnhw.compiler import WEIGHT_MODES, FoldingError, plan_folding
from bnnhw.compiler.folding import HARD_WIRED_WORDS
from bnnhw.design import Design, folding_options


@pytest.fixture(scope="module")
def boolnet():
    return Design.find("boolnet").compiled


def test_one_pixel_per_cycle(boolnet):
    plan = plan_folding(boolnet, target_cycles=64)
    assert plan.cycles_per_inference == 64
    by = plan.by_layer
    assert (by["conv1"].pe, by["conv1"].simd) == (8, 72) and by["conv1"].all_groups
    assert by["conv1"].channels == 8 and by["conv1"].whole_window     # 72 > 8 channels/group
    assert (by["stem"].pe, by["stem"].simd) == (8, 9)                  # int8, whole window
    assert by["conv5"].simd == 144 and not by["conv5"].all_groups     # groups one by one
    assert not by["fc"].pooled and by["fc"].positions == 1            # unfused at 64 < 10 x 16


def test_weight_modes(boolnet):
    """At 64 cycles every binary layer may be hard-wired: conv1..skip_conv fully unrolled,
    conv5 and conv6 folded to 4 weight words per PE (multiplexed). ``auto`` picks per layer
    by the resource model (tests/compiler/test_resource_model.py), ``logic`` forces it,
    ``rom`` never; int8 layers keep ROMs."""
    auto = plan_folding(boolnet, target_cycles=64).by_layer
    binary = ("conv1", "conv2", "down_conv", "skip_conv", "conv5", "conv6")
    assert all(auto[n].can_hard_wire for n in binary)
    assert [auto[n].fully_unrolled for n in binary] == [True] * 4 + [False] * 2
    assert auto["conv5"].neuron_folds * auto["conv5"].synapse_folds == HARD_WIRED_WORDS
    assert auto["stem"].weights == "rom" and not auto["stem"].can_hard_wire   # int8
    logic = plan_folding(boolnet, target_cycles=64, weights="logic").by_layer
    assert [logic[n].weights for n in binary] == ["logic"] * 6
    rom = plan_folding(boolnet, target_cycles=64, weights="rom")
    assert {f.weights for f in rom.layers} == {"rom"}
    assert {f.weights for f in plan_folding(boolnet).layers} == {"rom"}      # fully folded
    with pytest.raises(FoldingError, match=r"layer 'conv5': weights: hard-wired weights need "
                                           r"a binary layer without zero padding, fully "
                                           r"unrolled or folded to at most 4 weight words per "
                                           r"PE \(NF \* SF\), got \(PE, SIMD\) = \(2, 144\): "
                                           r"16 words"):
        plan_folding(boolnet, target_cycles=256, weights="logic")
    with pytest.raises(FoldingError, match="weights: expected one of rom, logic, auto"):
        plan_folding(boolnet, weights="wires")
    assert WEIGHT_MODES == ("rom", "logic", "auto")


def test_every_option_is_legal_and_the_fastest_is_named(boolnet):
    plan = plan_folding(boolnet, target_cycles=64)
    for folding in plan.layers:
        options = folding.options()
        assert options and all(o.cycles >= 1 for o in options)
        assert any((o.pe, o.simd) == (folding.pe, folding.simd) for o in options)
    with pytest.raises(FoldingError, match=r"layer 'stem': target_cycles: 8 cycles cannot be "
                                           r"met: even fully parallel the layer needs 64"):
        plan_folding(boolnet, target_cycles=8)


def test_pooled_dense_stays_fused_at_slow_targets(boolnet):
    for target in (160, 1024, 4096):
        assert plan_folding(boolnet, target_cycles=target).by_layer["fc"].pooled
    assert not plan_folding(boolnet, target_cycles=159).by_layer["fc"].pooled


def test_design_weights_and_command_line_override():
    config = {"folding": {"target_cycles": 128, "weights": "rom"}}
    assert folding_options(config) == {"target_cycles": 128, "weights": "rom", "overrides": {}}
    assert folding_options(config, target_cycles=64) == {
        "target_cycles": 64, "weights": "rom", "overrides": {}}
    assert folding_options(config, weights="auto")["weights"] == "auto"
