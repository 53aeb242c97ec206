"""What docs/model-format.md states about fields, outputs and compile-time limits (issue 14,
black-box findings item 6): each stated rule checked here."""

import numpy as np
import pytest

from bnnhw.compiler import FoldingError, lower, plan_folding
from bnnhw.model import Model, ModelError
from bnnhw.model.reference import run_float

from .samples import pm1, tiny_graph

RNG = np.random.default_rng(14)
ALL8 = np.array([[(i >> b) & 1 for b in range(8)] for i in range(256)]).reshape(256, 8, 1, 1)


def _bn_arrays(prefix, c, **over):
    arrays = {f"{prefix}.gamma": np.ones(c), f"{prefix}.beta": np.zeros(c),
              f"{prefix}.mean": np.zeros(c), f"{prefix}.var": np.ones(c)}
    arrays.update({f"{prefix}.{k}": v for k, v in over.items()})
    return arrays


def _bn_sign(bn_attrs, **over):
    layers = [{"name": "c", "op": "dense", "inputs": ["input"], "precision": "binary",
               "out_features": 3},
              {"name": "bn", "op": "batchnorm", "inputs": ["c"], **bn_attrs},
              {"name": "s", "op": "sign", "inputs": ["bn"]},
              {"name": "gp", "op": "global_pool", "inputs": ["s"]}]
    arrays = {"c.weight": pm1(RNG, (3, 8)), **_bn_arrays("bn", 3, **over)}
    return tiny_graph(layers, "gp", shape=(8, 1, 1)), arrays


@pytest.mark.parametrize("attrs, over, field", [
    ({}, {}, "eps"),                                           # eps has no default
    ({"eps": 0.0}, {"gamma": np.float64(1.0)}, "gamma"),       # (C,) arrays, not scalars
    ({"eps": 0.0}, {"var": np.array([1.0, 0.0, 1.0])}, "var"),  # var + eps == 0: at load
])
def test_batchnorm_eps_required_vectors_only_and_var_plus_eps_positive(attrs, over, field):
    with pytest.raises(ModelError) as error:
        Model.from_dict(*_bn_sign(attrs, **over))
    assert (error.value.layer, error.value.field) == ("bn", field)
    Model.from_dict(*_bn_sign({"eps": 1e-5}, var=np.array([1.0, 0.0, 1.0])))


def test_requantize_clips_to_minus_127_127():
    layers = [{"name": "d", "op": "dense", "inputs": ["input"], "precision": "int8",
               "out_features": 2},
              {"name": "q", "op": "requantize", "inputs": ["d"]}]
    model = Model.from_dict(tiny_graph(layers, "q", shape=(2, 1, 1), input_type="int8"),
                            {"d.weight": np.array([[127, 127], [-127, -127]]),
                             "q.scale": np.array([1.0, 1.0])})
    x = np.array([[127, 127], [-128, -128]]).reshape(2, 2, 1, 1)
    y = lower(model).run(x)[:, :, 0, 0]
    assert y.tolist() == [[127, -127], [-127, 127]]       # never -128
    assert np.array_equal(run_float(model, x)["q"][:, :, 0, 0], y)


@pytest.mark.parametrize("clip", [8, 127, 200])
def test_clip_at_or_beyond_the_fan_in_changes_nothing(clip):
    def model(extra):
        layers = [{"name": "c", "op": "dense", "inputs": ["input"], "precision": "binary",
                   "out_features": 3, **extra},
                  {"name": "t", "op": "threshold", "inputs": ["c"], "domain": "dot"},
                  {"name": "gp", "op": "global_pool", "inputs": ["t"]}]
        return lower(Model.from_dict(tiny_graph(layers, "gp", shape=(8, 1, 1)),
                                     {"c.weight": np.ones((3, 8), np.int8),
                                      "t.threshold": np.array([-8, 0, 8])}))
    assert np.array_equal(model({"clip": clip}).run(ALL8), model({}).run(ALL8))


def test_popcount_threshold_and_int8_layers_see_raw_p_even_after_clip():
    layers = [{"name": "c", "op": "dense", "inputs": ["input"], "precision": "binary",
               "out_features": 2, "clip": 2},
              {"name": "t", "op": "threshold", "inputs": ["c"]},
              {"name": "d", "op": "dense", "inputs": ["c"], "precision": "int8",
               "out_features": 2},
              {"name": "gp", "op": "global_pool", "inputs": ["t"]},
              {"name": "cat", "op": "concat", "inputs": ["gp", "d"]}]
    arrays = {"c.weight": np.ones((2, 8), np.int8), "t.threshold": np.array([6, 7]),
              "d.weight": np.eye(2, dtype=np.int8)}
    model = Model.from_dict(tiny_graph(layers, "cat", shape=(8, 1, 1)), arrays)
    out = lower(model).run(ALL8)[:, :, 0, 0]
    p = ALL8[:, :, 0, 0].sum(axis=1)
    assert out[:, 0].tolist() == (p >= 6).astype(int).tolist()   # raw p, not clip(2p-8, -2, 2)
    assert out[:, 2].tolist() == p.tolist() and out[:, 3].tolist() == p.tolist()
    assert np.array_equal(run_float(model, ALL8)["cat"][:, :, 0, 0], out)


def _int_head():
    layers = [{"name": "d", "op": "dense", "inputs": ["input"], "precision": "int8",
               "out_features": 4},
              {"name": "q", "op": "requantize", "inputs": ["d"]}]
    arrays = {"d.weight": RNG.integers(-20, 20, (4, 4)), "q.scale": np.full(4, 0.125)}
    return layers, arrays


@pytest.mark.parametrize("tail, out", [
    ([], "q"),
    ([{"name": "p", "op": "dprelu", "inputs": ["q"]}], "p"),
    ([{"name": "a", "op": "add", "inputs": ["q", "q"]}], "a"),
    ([{"name": "sl", "op": "slice", "inputs": ["q"], "start": 1, "stop": 3}], "sl"),
    ([{"name": "sh", "op": "shuffle", "inputs": ["q"], "groups": 2}], "sh"),
    ([{"name": "cc", "op": "concat", "inputs": ["q", "d"]}], "cc"),
    ([{"name": "si", "op": "slice", "inputs": ["input"], "start": 0, "stop": 2},
      {"name": "cc", "op": "concat", "inputs": ["q", "si"]}], "cc"),
])
def test_integer_1x1_outputs_are_accepted_and_agree_with_the_float_model(tail, out):
    layers, arrays = _int_head()
    if out == "p":
        arrays.update({"p.alpha": np.zeros(4, np.int8), "p.beta": np.zeros(4, np.int8),
                       "p.eta": np.full(4, 0.5), "p.gamma": np.full(4, 0.25)})
    model = Model.from_dict(tiny_graph(layers + tail, out, shape=(4, 1, 1), input_type="int8",
                                       value_range=(-127, 127)), arrays)
    x = RNG.integers(-127, 128, (32, 4, 1, 1))
    compiled = lower(model)
    assert compiled.run(x).shape == (32, model.types[out].shape[0], 1, 1)
    assert compiled.logits(x).shape == compiled.run(x).shape
    assert np.array_equal(compiled.run(x), run_float(model, x)[out])


@pytest.mark.parametrize("tail, out", [
    ([{"name": "s", "op": "sign", "inputs": ["q"]}], "s"),
    ([{"name": "bn", "op": "batchnorm", "inputs": ["q"], "eps": 0.0}], "bn"),
])
def test_bits_and_real_outputs_are_rejected(tail, out):
    layers, arrays = _int_head()
    if out == "bn":
        arrays.update(_bn_arrays("bn", 4))
    with pytest.raises(ModelError) as error:
        Model.from_dict(tiny_graph(layers + tail, out, shape=(4, 1, 1), input_type="int8",
                                   value_range=(-127, 127)), arrays)
    assert error.value.field in ("output", "op")


def _pa_model(source_layers, source, n, weight_shape_c, groups=1, out_channels=2):
    layers = source_layers + [
        {"name": "pc", "op": "panet_conv2d", "inputs": [source], "out_channels": out_channels,
         "kernel": 1, "groups": groups},
        {"name": "gp", "op": "global_pool", "inputs": ["pcs"]}]
    layers.insert(-1, {"name": "pcs", "op": "sign", "inputs": ["pc"]})
    arrays = {"pc.weight_bases": RNG.integers(0, 2, (2, out_channels, weight_shape_c, 1, 1)),
              "pc.phi": RNG.normal(size=(2, n))}
    return layers, arrays


def test_panet_conv2d_on_multi_slice_sign_takes_c_as_channels_per_base():
    layers = [{"name": "s", "op": "sign", "inputs": ["input"], "biases": [-1.0, 0.0, 2.0]}]
    layers, arrays = _pa_model(layers, "s", 3, 4)          # 12 bit channels = 3 bases x 4
    model = Model.from_dict(tiny_graph(layers, "gp", shape=(4, 2, 2), input_type="int8"),
                            arrays)
    x = RNG.integers(-128, 128, (16, 4, 2, 2))
    assert np.array_equal(lower(model).run(x), run_float(model, x)["gp"])
    layers, arrays = _pa_model(layers[:1], "s", 3, 12)    # all 12 channels as C: rejected
    with pytest.raises(ModelError) as error:
        Model.from_dict(tiny_graph(layers, "gp", shape=(4, 2, 2), input_type="int8"), arrays)
    assert (error.value.layer, error.value.field) == ("pc", "weight_bases")


def test_grouped_panet_and_grouped_non_depthwise_int8_convs_fail_at_folding():
    layers, arrays = _pa_model([{"name": "s", "op": "sign", "inputs": ["input"]}], "s", 1, 2,
                               groups=2)
    compiled = lower(Model.from_dict(tiny_graph(layers, "gp", shape=(4, 2, 2),
                                                input_type="int8"), arrays))
    with pytest.raises(FoldingError) as error:
        plan_folding(compiled)
    assert (error.value.layer, error.value.field) == ("pc", "groups")
    layers = [{"name": "c", "op": "conv2d", "inputs": ["input"], "precision": "int8",
               "out_channels": 4, "kernel": 1, "groups": 2},
              {"name": "s", "op": "sign", "inputs": ["c"]},
              {"name": "gp", "op": "global_pool", "inputs": ["s"]}]
    compiled = lower(Model.from_dict(tiny_graph(layers, "gp", shape=(4, 2, 2),
                                                input_type="int8"),
                                     {"c.weight": RNG.integers(-3, 3, (4, 2, 1, 1))}))
    with pytest.raises(FoldingError) as error:
        plan_folding(compiled)
    assert (error.value.layer, error.value.field) == ("c", "groups")


def test_pa_bases_after_a_negative_gamma_batchnorm_is_a_compile_error():
    layers = [{"name": "c", "op": "dense", "inputs": ["input"], "precision": "binary",
               "out_features": 2},
              {"name": "bn", "op": "batchnorm", "inputs": ["c"], "eps": 0.0},
              {"name": "pa", "op": "pa_bases", "inputs": ["bn"]},
              {"name": "gp", "op": "global_pool", "inputs": ["pa"]}]
    arrays = {"c.weight": pm1(RNG, (2, 8)), "pa.endpoints": np.array([-1.0, 1.0]),
              **_bn_arrays("bn", 2, gamma=np.array([1.0, -1.0]))}
    model = Model.from_dict(tiny_graph(layers, "gp", shape=(8, 1, 1)), arrays)
    with pytest.raises(ModelError) as error:
        lower(model)
    assert (error.value.layer, error.value.field) == ("bn", "gamma")
    assert "rising" in str(error.value)


def test_design_without_design_json_is_fully_folded(tmp_path):
    from bnnhw.design import Design
    from bnnhw.model import save

    from .samples import every_op_model

    save(Model.from_dict(*every_op_model(0)), tmp_path / "model.npz")
    design = Design(tmp_path)
    assert design.config == {}
    assert {(f.pe, f.simd) for f in design.plan.layers} == {(1, 1)}


def test_concat_of_pa_net_sums_on_different_scales_is_a_compile_error():
    layers = [{"name": "s", "op": "sign", "inputs": ["input"]}]
    for name in ("pa", "pb"):
        layers.append({"name": name, "op": "panet_conv2d", "inputs": ["s"], "out_channels": 2,
                       "kernel": 1})
    layers += [{"name": "cc", "op": "concat", "inputs": ["pa", "pb"]},
               {"name": "cs", "op": "sign", "inputs": ["cc"]},
               {"name": "gp", "op": "global_pool", "inputs": ["cs"]}]
    arrays = {"pa.weight_bases": RNG.integers(0, 2, (1, 2, 2, 1, 1)),
              "pb.weight_bases": RNG.integers(0, 2, (1, 2, 2, 1, 1)),
              "pa.phi": np.array([[0.5]]), "pb.phi": np.array([[100.3]])}
    model = Model.from_dict(tiny_graph(layers, "gp", shape=(2, 2, 2), input_type="int8"),
                            arrays)
    with pytest.raises(ModelError) as error:
        lower(model)
    assert (error.value.layer, error.value.field) == ("cc", "inputs")
    arrays["pb.phi"] = np.array([[0.25]])
    lower(Model.from_dict(tiny_graph(layers, "gp", shape=(2, 2, 2), input_type="int8"),
                          arrays))
