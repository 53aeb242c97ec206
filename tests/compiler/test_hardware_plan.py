"""The hardware plan: one engine per compiled layer (fused layers share one), in execution order,
holding the very ROM words the images are written from; the fusion rules; one MATRIX_OPS."""

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from bnnhw.compiler import (
    MATRIX_OPS, fused_thresholds, hardware_plan, lower, memory_images, plan_folding,
    pooled_dense_layers,
)
from bnnhw.design import Design
from bnnhw.model import Model

from ..model.samples import every_op_model

ROOT = Path(__file__).resolve().parents[2]


def _plans():
    every_op = lower(Model.from_dict(*every_op_model(2, exact=True)))
    yield "every_op", every_op, plan_folding(every_op, target_cycles=1000)
    design = Design.find("boolnet")
    yield "boolnet", design.compiled, design.plan


PLANS = list(_plans())


@pytest.fixture(params=PLANS, ids=[name for name, _, _ in PLANS], scope="module")
def case(request):
    _, compiled, plan = request.param
    return compiled, plan, hardware_plan(compiled, plan)


def _words(data):
    return tuple(int(line, 16) for line in data.decode().split())


def test_every_layer_is_computed_by_one_engine_in_execution_order(case):
    compiled, _, hardware = case
    computed = [name for engine in hardware.engines for name in engine.layers]
    assert sorted(computed) == sorted(layer.name for layer in compiled.layers)
    order = [layer.name for layer in compiled.layers]
    produced = {hardware.input}
    for engine in hardware.engines:
        assert set(engine.inputs) <= produced, engine.name     # inputs come from earlier engines
        assert [order.index(n) for n in engine.layers] == sorted(order.index(n)
                                                                for n in engine.layers)
        assert engine.name == engine.layers[-1]               # the stream carries the last one
        produced.add(engine.name)
    assert hardware.output == compiled.output and hardware.output in produced
    assert set(hardware.values) == produced
    for name, value in hardware.values.items():
        assert (value.kind, value.shape) == (compiled.values[name].kind,
                                             tuple(compiled.values[name].shape))


def test_fusion_follows_the_rules(case):
    compiled, plan, hardware = case
    readers = {}
    for layer in compiled.layers:
        for source in layer.inputs:
            readers.setdefault(source, []).append(layer)
    by_name = compiled.layer
    for engine in hardware.engines:
        head = by_name[engine.layers[0]]
        if engine.threshold_layer is not None:
            threshold = by_name[engine.threshold_layer]
            assert [r.name for r in readers[head.name]] == [threshold.name]
            assert head.op == "int8_conv2d" or (head.op.startswith("binary")
                                               and threshold.params["offset"] == 0)
        elif head.op in ("binary_conv2d", "binary_dense") and head.name != hardware.output:
            users = readers.get(head.name, [])
            assert not (len(users) == 1 and users[0].op == "threshold"
                        and users[0].params["offset"] == 0)
        if engine.pool_layer is not None:
            assert head.op == "global_pool" and plan.by_layer[engine.layers[1]].pooled
    fused = {e.layers[0]: e.threshold_layer for e in hardware.engines if e.threshold_layer}
    assert fused and fused == fused_thresholds(compiled)
    assert {e.layers[1]: e.pool_layer for e in hardware.engines if e.pool_layer} == \
        {dense: pool.name for dense, pool in pooled_dense_layers(compiled).items()}


def test_images_hold_the_engines_words(case):
    compiled, plan, hardware = case
    files, memory_map = memory_images(compiled, plan)
    assert memory_map == hardware.memory_map()
    assert set(files) == {rom.file for rom in hardware.roms}
    for engine in hardware.engines:
        matrix = [name for name in engine.layers if compiled.layer[name].op in MATRIX_OPS]
        if not matrix:
            assert engine.weights is None
            continue
        assert engine.folding is plan.by_layer[matrix[0]]
        assert len(engine.weights) == engine.folding.pe
        for pe, words in enumerate(engine.weights):
            data = files[f"{matrix[0]}.weights.pe{pe}.hex"]
            assert _words(data) == words
            assert len(words) == engine.folding.synapse_folds * engine.folding.neuron_folds
        if engine.thresholds is not None and engine.thresholds.words is not None:
            owner = engine.threshold_layer or engine.name
            for pe, words in enumerate(engine.thresholds.words):
                assert _words(files[f"{owner}.thresholds.pe{pe}.hex"]) == words


def test_threshold_words_decode_to_the_threshold_vectors(case):
    """A per-PE threshold word packs slice ``n`` at bits ``n*(w+1)``: threshold, then invert."""
    _, _, hardware = case
    checked = 0
    for engine in hardware.engines:
        t = engine.thresholds
        if t is None or t.words is None:
            continue
        threshold = np.atleast_2d(np.asarray(t.threshold))
        invert = np.atleast_2d(np.asarray(t.invert))
        pe = len(t.words)
        for p, words in enumerate(t.words):
            for nf, word in enumerate(words):
                for n in range(t.slices):
                    field = word >> (n * (t.width + 1))
                    assert field & ((1 << t.width) - 1) == threshold[n, nf * pe + p]
                    assert bool(field >> t.width & 1) == bool(invert[n, nf * pe + p])
        checked += 1
    assert checked > 0


def test_the_plan_is_frozen(case):
    _, _, hardware = case
    with pytest.raises(dataclasses.FrozenInstanceError):
        hardware.engines = ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        hardware.engines[0].name = "x"
    with pytest.raises(TypeError):
        hardware.values["input"] = None


def test_one_matrix_ops_and_hw_reads_no_hex():
    definitions = [path.relative_to(ROOT).as_posix()
                   for path in sorted((ROOT / "bnnhw").rglob("*.py"))
                   if re.search(r"^_?MATRIX_OPS\s*=", path.read_text(), re.MULTILINE)]
    assert definitions == ["bnnhw/compiler/fusion.py"]
    for path in sorted((ROOT / "bnnhw" / "hw" / "network").rglob("*.py")):
        text = path.read_text()
        assert "parse_hex" not in text and "layer.params" not in text, path
        assert "compiler" not in "".join(re.findall(r"^\s*(?:from|import) .*$", text, re.MULTILINE))
