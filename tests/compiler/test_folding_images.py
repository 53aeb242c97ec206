"""Folding choice and memory images: divisibility, the cycle formula, exact and stable images."""

import json

import numpy as np
import pytest

from bnnhw.compiler import (
    FoldingError, fan_in_order, lower, memory_images, plan_folding, pooled_dense_layers,
    write_images,
)
from bnnhw.compiler.folding import POOLED_DRAIN_CYCLES
from bnnhw.model import Model

from ..model.samples import every_op_model


@pytest.fixture(scope="module")
def compiled():
    return lower(Model.from_dict(*every_op_model(2, exact=True)))


def _expected_cycles(layer, value, compiled=None):
    """DESIGN.md §5 from the shapes: (K*K*C_in/groups / SIMD) * (C_out / PE) * H_out*W_out; a
    dense layer fused with the global pool it reads repeats per pooled pixel, at least its drain
    with a result register (full-rate networks), else plus its drain."""
    weight = layer.params.get("weight", layer.params.get("weight_bases"))
    if layer.op == "panet_conv2d":
        weight = weight[0]
    c_out, fan_in = weight.shape[0], int(np.prod(weight.shape[1:]))
    positions, extra = value.shape[1] * value.shape[2], 0
    pool = pooled_dense_layers(compiled).get(layer.name) if compiled is not None else None
    if pool is not None:
        _, h, w = compiled.values[pool.inputs[0]].shape
        positions = h * w
        extra = POOLED_DRAIN_CYCLES + (c_out if compiled.output == layer.name else 0)
    def cycles(pe, simd, result_register=True):
        folds = (fan_in // simd) * (c_out // pe) * positions
        return max(folds, extra) if result_register else folds + extra
    return cycles


@pytest.mark.parametrize("target", [None, 4096, 1000, 600, 576])
def test_target_folding_divides_and_matches_the_cycle_formula(compiled, target):
    plan = plan_folding(compiled, target_cycles=target)
    layers = compiled.layer
    assert {f.layer for f in plan.layers} == {
        layer.name for layer in compiled.layers if layer.op.endswith(("conv2d", "dense"))}
    for folding in plan.layers:
        assert folding.rows % folding.pe == 0 and folding.fan_in % folding.simd == 0
        if folding.op.endswith("conv2d"):   # a chunk never straddles two pixels, or is a window
            assert folding.channels % folding.simd == 0 or (
                folding.whole_window and folding.simd == folding.fan_in)
        formula = _expected_cycles(layers[folding.layer], compiled.values[folding.layer],
                                   compiled)
        assert folding.cycles == formula(folding.pe, folding.simd, folding.result_register)
        # a pooled layer's result register exactly in a full-rate network
        assert folding.result_register or plan.cycles_per_inference > 16 * np.prod(
            compiled.input_shape[1:])
        if target is not None:
            assert folding.cycles <= target
    assert plan.cycles_per_inference == max(f.cycles for f in plan.layers)


def test_pooled_dense_layers(compiled):
    """The every-op network's classifier reads a global pool of bits: fused, folded per pixel."""
    pooled = pooled_dense_layers(compiled)
    assert len(pooled) == 1
    (dense, pool), = pooled.items()
    assert compiled.layer[dense].op == "int8_dense" and pool.op == "global_pool"
    folding = plan_folding(compiled).by_layer[dense]
    _, h, w = compiled.values[pool.inputs[0]].shape
    assert folding.pooled and folding.positions == h * w
    # pipeline drain, then the argmax head compares one class per cycle on the held result
    assert folding.drain == POOLED_DRAIN_CYCLES + folding.rows
    assert folding.to_dict()["pooled"] is True
    others = [f for f in plan_folding(compiled).layers if f.layer != dense]
    assert not any(f.pooled for f in others)


def test_target_takes_the_cheapest_predicted_folding(compiled):
    """Each layer gets, among the foldings that meet the target, one of the fewest LUT4 the
    resource model predicts (for the weight mode it is built with), and of those the fewest
    lanes."""
    from bnnhw.compiler.folding import _lut_cost, _weight_costs
    cost = _lut_cost(_weight_costs(compiled, "ecp5", 576), "auto")
    plan = plan_folding(compiled, target_cycles=576)
    for folding in plan.layers:
        legal = folding.channels or folding.fan_in
        per_group = folding.rows // folding.groups
        options = [folding.with_(pe, simd) for pe in range(1, per_group + 1)
                   if per_group % pe == 0 for simd in range(1, folding.fan_in + 1)
                   if folding.fan_in % simd == 0 and legal % simd == 0
                   and folding.with_(pe, simd).cycles <= 576]
        chosen = cost(folding)
        assert all(cost(o) >= chosen - 1e-6 for o in options), folding.layer
        assert not [o for o in options if abs(cost(o) - chosen) < 1e-6
                    and o.lanes < folding.lanes], folding.layer


def test_lane_cap_is_respected_and_speeds_up_the_slowest(compiled):
    slow = plan_folding(compiled)
    capped = plan_folding(compiled, max_lanes=100)
    assert capped.lanes <= 100
    assert capped.cycles_per_inference < slow.cycles_per_inference


def test_impossible_target_names_layer_and_field(compiled):
    with pytest.raises(FoldingError, match=r"layer 'stem': target_cycles: 8 cycles cannot be met"
                                           r": even fully parallel the layer needs 16"):
        plan_folding(compiled, target_cycles=8)


@pytest.mark.parametrize("override, field", [((3, 1), "pe"), ((1, 5), "simd"), ((0, 1), "pe")])
def test_folding_that_does_not_divide_is_an_error(compiled, override, field):
    with pytest.raises(FoldingError, match=rf"layer 'c1': {field}: "):
        plan_folding(compiled, overrides={"c1": override})


def test_override_of_unknown_layer_and_conflicting_options(compiled):
    with pytest.raises(FoldingError, match="layer 'ms1': folding: not a matrix-vector layer"):
        plan_folding(compiled, overrides={"ms1": (1, 1)})
    with pytest.raises(FoldingError, match="target_cycles: give a cycle target or a lane cap"):
        plan_folding(compiled, target_cycles=576, max_lanes=10)
    with pytest.raises(FoldingError, match="layer 'c1': folding: .* over the target"):
        plan_folding(compiled, target_cycles=576, overrides={"c1": (1, 1)})


def _read_words(data):
    return [int(line, 16) for line in data.decode().split()]


def test_weight_images_decode_to_the_compiled_weights(compiled):
    plan = plan_folding(compiled, target_cycles=576)
    files, memory_map = memory_images(compiled, plan)
    for folding in plan.layers:
        layer = compiled.layer[folding.layer]
        if layer.op == "panet_conv2d":
            continue
        weight = layer.params["weight"]
        dense = layer.op.endswith("dense")
        shape = compiled.values[layer.inputs[0]].shape if dense else None
        rows = weight.reshape(len(weight), -1)[:, fan_in_order(weight.shape, shape)]
        bits = 8 if layer.op.startswith("int8") else 1
        decoded = np.zeros_like(rows)
        for pe in range(folding.pe):
            words = _read_words(files[f"{layer.name}.weights.pe{pe}.hex"])
            assert len(words) == folding.neuron_folds * folding.synapse_folds
            for address, word in enumerate(words):
                nf, sf = divmod(address, folding.synapse_folds)
                for i in range(folding.simd):
                    element = (word >> (i * bits)) & ((1 << bits) - 1)
                    if bits == 8 and element >= 128:
                        element -= 256
                    decoded[nf * folding.pe + pe, sf * folding.simd + i] = element
        assert np.array_equal(decoded, rows), layer.name
    assert memory_map["total_bits"] == sum(e["bits"] for e in memory_map["images"])


def test_threshold_images_decode_to_the_folded_thresholds(compiled):
    plan = plan_folding(compiled, target_cycles=576)
    files, memory_map = memory_images(compiled, plan)
    thresholds = compiled.layer["ms1"].params["thresholds"]
    pe_count = plan.by_layer["c1"].pe
    entries = [e for e in memory_map["images"] if e["layer"] == "ms1"]
    assert len(entries) == pe_count
    for entry in entries:
        fields = {f["field"]: f for f in entry["fields"]}
        for nf, word in enumerate(_read_words(files[entry["file"]])):
            channel = nf * pe_count + entry["pe"]
            for n in range(thresholds.threshold.shape[0]):
                t, inv = fields[f"threshold{n}"], fields[f"invert{n}"]
                assert (word >> t["lsb"]) & ((1 << t["bits"]) - 1) == \
                    thresholds.threshold[n, channel]
                assert bool((word >> inv["lsb"]) & 1) == thresholds.invert[n, channel]


def test_images_are_byte_identical_across_compiles(tmp_path):
    outputs = []
    for run in range(2):
        compiled = lower(Model.from_dict(*every_op_model(4)))
        plan = plan_folding(compiled, target_cycles=576)
        write_images(compiled, plan, tmp_path / f"run{run}")
        outputs.append({p.name: p.read_bytes() for p in sorted((tmp_path / f"run{run}").iterdir())})
    assert outputs[0] == outputs[1]
    memory_map = json.loads(outputs[0]["memory_map.json"])
    assert {e["file"] for e in memory_map["images"]} | {"memory_map.json"} == set(outputs[0])


def test_write_images_refuses_an_existing_folder_and_leaves_nothing(tmp_path, compiled):
    target = tmp_path / "images"
    target.mkdir()
    with pytest.raises(FileExistsError):
        write_images(compiled, plan_folding(compiled), target)
    assert list(tmp_path.iterdir()) == [target] and list(target.iterdir()) == []
