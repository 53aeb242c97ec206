"""The QONNX importer against qonnx's own outputs (tests/data/qonnx): golden only, no Verilator.

Each supported fixture is imported, its inputs converted on the host, and
``bnnhw.compiler.lower(model).classify`` must give qonnx's argmax on every input (360 digits and
the random images); the integer logits after the recorded tail must give qonnx's float32 logits.
"""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from bnnhw.compiler import lower
from bnnhw.errors import BnnhwError
from bnnhw.importers import qonnx as importer
from bnnhw.importers.qonnx import (
    QonnxImportError,
    convert_inputs,
    graph_logits,
    import_onnx,
)
from bnnhw.model import load

DATA = Path(__file__).resolve().parents[1] / "data" / "qonnx"
ROOT = Path(__file__).resolve().parents[2]

SUPPORTED = ["tfc_w1a1", "tfc_w1a1_dynamo", "sfc_w1a1_dynamo", "bn_negative_w1a1", "cnv_w1a1",
             "tfc_w1a2", "cnv32_w1a1", "scaled_w1a1",
             # FINN-ONNX (ConvertQONNXtoFINN) and streamlined forms (TopK index outputs)
             "tfc_w1a1_finn", "cnv_w1a1_finn", "bn_negative_w1a1_finn", "tfc_w1a2_finn",
             "tfc_w1a1_streamlined", "bn_negative_w1a1_streamlined", "tfc_w1a2_streamlined",
             "cnv_w1a1_streamlined",
             # Brevitas' default zero padding of binary convolutions (pad_value 0)
             "conv_pad_w1a1"]
#: Fixtures whose graph scales are not 1: its MatMul sums N float32 products ``s * ±1`` in an
#: order of its own, so the logits agree to that summation's rounding, not bit for bit.
SCALED = {"scaled_w1a1": 32}


def _expected(name):
    with np.load(DATA / f"{name}.expected.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module", params=SUPPORTED)
def imported(request):
    name = request.param
    model = import_onnx(DATA / f"{name}.onnx")
    return name, model, lower(model), _expected(name)


def test_argmax_is_qonnx_argmax_on_every_input(imported):
    name, model, compiled, expected = imported
    x = convert_inputs(model, expected["inputs"])
    compiled.check_inputs(x)
    classes = compiled.classify(x)
    wrong = np.flatnonzero(classes != expected["argmax"])
    assert wrong.size == 0, f"{name}: {wrong.size} of {len(classes)} differ, first {wrong[:5]}"
    assert len(classes) == (64 if name == "cnv32_w1a1" else 424)


def test_logits_after_the_tail_are_qonnx_logits(imported):
    name, model, compiled, expected = imported
    if name.endswith("_streamlined"):   # the graph's output is TopK's index: checked above
        assert model.meta["qonnx"]["output"]["graph_output"] == "argmax"
        assert expected["outputs"].dtype == np.int64
        return
    logits = graph_logits(model, compiled.run(convert_inputs(model, expected["inputs"])))
    assert logits.dtype == np.float32 and logits.shape == expected["outputs"].shape
    if name in SCALED:
        bound = SCALED[name] * 2.0 ** -24 * np.abs(expected["outputs"]).max()
        np.testing.assert_allclose(logits, expected["outputs"], rtol=0, atol=bound)
    else:   # integer dot products, then the same float32 ops in the same order: bit for bit
        np.testing.assert_array_equal(logits, expected["outputs"])


def test_the_hardware_plan_accepts_the_imported_model(imported):
    """Folding and the hardware plan (no Verilog here) accept every imported model: the
    thresholds, int8 first layers, thermometer slices and scaling layer are all buildable."""
    from bnnhw.compiler.folding import plan_folding
    from bnnhw.compiler.hardware import hardware_plan
    _, _, compiled, _ = imported
    plan = plan_folding(compiled)
    assert hardware_plan(compiled, plan) is not None


def test_meta_records_source_conversion_and_tail(imported):
    name, model, _, expected = imported
    source = model.meta["source"]
    assert source["file"] == f"{name}.onnx"
    assert source["sha256"] == hashlib.sha256((DATA / f"{name}.onnx").read_bytes()).hexdigest()
    proto = onnx.load(str(DATA / f"{name}.onnx"))
    assert len(source["ops"]) == len(proto.graph.node)
    conversion = model.meta["qonnx"]["input"]
    assert conversion["input_name"] == str(expected["input_name"])
    assert model.meta["qonnx"]["output"]["output_name"] == str(expected["output_name"])
    json.dumps(model.meta, allow_nan=False)


def test_the_mappings_the_fixtures_exercise():
    """What each pattern becomes (docs/import.md): bits input for a BipolarQuant input, int8 for
    the 8-bit Quant, a 2-slice thermometer for the 2-bit Quant, a negated last layer for a
    negative tail scale, thresholds outside the dot range kept as constant channels."""
    tfc = import_onnx(DATA / "tfc_w1a1.onnx")
    assert (tfc.input_type, tfc.input_shape) == ("bits", (1, 8, 8))
    assert [layer.op for layer in tfc.layers] == ["dense", "threshold"] * 3 + ["dense"]
    cnv = import_onnx(DATA / "cnv_w1a1.onnx")
    assert (cnv.input_type, cnv.input_range) == ("int8", (-128, 127))
    pixels = np.arange(17, dtype=np.float32).reshape(1, 1, 1, 17) * np.ones((1, 1, 8, 1),
                                                                           np.float32)
    converted = convert_inputs(cnv, pixels[..., :8])
    assert converted[0, 0, 0].tolist() == [16 * p - 128 for p in range(8)]
    top = convert_inputs(cnv, np.full((1, 1, 8, 8), 16, np.float32))
    assert (top == 127).all()                      # Q1.7: the clip at the top is real
    w1a2 = import_onnx(DATA / "tfc_w1a2.onnx")
    assert (w1a2.input_type, w1a2.input_shape) == ("bits", (2, 8, 8))
    assert w1a2.layer["thr1"].params["threshold"].shape == (2, 64)
    # half-to-even: pixel 4 (x = -0.5) is level 0, pixel 12 (x = +0.5) is level 0 too
    rows = convert_inputs(w1a2, np.array([[[[3, 4, 12, 13, 0, 0, 0, 0]]]], np.float32) / 16
                          * np.ones((1, 1, 8, 1), np.float32))
    assert rows[0, :, 0, :4].T.tolist() == [[0, 0], [1, 0], [1, 0], [1, 1]]
    negative = import_onnx(DATA / "bn_negative_w1a1.onnx")
    assert negative.meta["qonnx"]["output"]["negated"] == [True] * 10
    threshold = negative.layer["thr1"].params
    constant = threshold["threshold"] == 0
    assert constant[8:12].all()                    # channels 8-11: far outside [-N, N]
    assert threshold["invert"][8:12].tolist() == [False, True, True, False]


def _qonnx_outputs(path, inputs):
    """qonnx's executor on the cleaned-up graph, one input (1, C, H, W) at a time."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.util.cleanup import cleanup_model
    reference = cleanup_model(ModelWrapper(str(path)))
    name_in, name_out = reference.graph.input[0].name, reference.graph.output[0].name
    return np.concatenate([execute_onnx(reference, {name_in: x[None]})[name_out]
                           for x in inputs])


def _assert_matches_qonnx(path, inputs):
    """The imported model's logits after the tail are qonnx's bit for bit, and its class is
    qonnx's argmax."""
    model = import_onnx(path)
    want = _qonnx_outputs(path, inputs)
    compiled = lower(model)
    x = convert_inputs(model, inputs)
    np.testing.assert_array_equal(graph_logits(model, compiled.run(x)), want)
    np.testing.assert_array_equal(compiled.classify(x), want.argmax(axis=1))
    return model


def _reachable_bn_cases():
    for path in sorted(DATA.glob("*.onnx")):
        proto = onnx.load(str(path))
        init = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
        for node in proto.graph.node:
            if node.op_type == "BatchNormalization":
                eps = next(a.f for a in node.attribute if a.name == "epsilon")
                yield path.stem, node.name, [init[i] for i in node.input[1:]], eps


def test_batch_norm_emulation_is_onnxruntime_on_every_reachable_integer():
    """The thresholds are derived with the importer's float32 batch norm; it must be
    onnxruntime's (which qonnx runs) bit for bit on every integer a dot product can reach."""
    import onnxruntime
    x = np.arange(-1200, 1201, dtype=np.float32)
    for fixture, name, (gamma, beta, mean, var), eps in _reachable_bn_cases():
        batch = np.repeat(x[:, None], gamma.size, 1)
        node = helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"],
                                epsilon=eps)
        graph = helper.make_graph(
            [node], "bn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, batch.shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, batch.shape)],
            [numpy_helper.from_array(a, n) for a, n in zip((gamma, beta, mean, var), "gbmv")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
        model.ir_version = 9
        session = onnxruntime.InferenceSession(model.SerializeToString())
        want = session.run(None, {"x": batch})[0]
        got = importer._bn_float32(batch, gamma, beta, mean, var, np.float32(eps))
        assert np.array_equal(got, want), f"{fixture} {name}"


def test_non_integer_inputs_against_qonnx_executor():
    """The input conversion is exact for any float32 input (not only pixel / 16): qonnx's own
    executor on random reals, including values exactly on the BipolarQuant edge."""
    for name in ("tfc_w1a1_dynamo", "tfc_w1a2"):
        rng = np.random.default_rng(7)
        inputs = rng.random((6, 1, 8, 8), dtype=np.float32)
        inputs[:, :, :2] = np.float32(0.5)          # 2x - 1 == 0: +1
        inputs[:, :, 2:4] = rng.choice(np.float32([0.25, 0.75]), (6, 1, 2, 8))   # -0.5, +0.5
        _assert_matches_qonnx(DATA / f"{name}.onnx", inputs)


# --- unsupported patterns: one named error each ---------------------------------------------

def test_zero_padded_binary_convs_import_as_pad_value_0():
    """conv_pad_w1a1 (Brevitas pads with zeros): each binary Conv becomes ``pad_value: 0`` and
    the activation after it a threshold on the dot value (its counts have no popcount)."""
    model = import_onnx(DATA / "conv_pad_w1a1.onnx")
    convs = [layer for layer in model.layers if layer.op == "conv2d"]
    assert len(convs) == 3 and all(layer.attrs["pad_value"] == 0 for layer in convs)
    assert all(layer.attrs["padding"] == [1, 1] for layer in convs)
    thresholds = [layer for layer in model.layers if layer.op == "threshold"]
    assert thresholds and all(layer.attrs["domain"] == "dot" for layer in thresholds)


def _zero_padded_conv_graph(tmp_path, *, classes_scale, input_quant="bipolar"):
    """x (1, 2, 5, 5) -> input quantizer -> Conv 3x3 pads 1 (1 channel) -> BN ->
    BipolarQuant -> Conv 7x7 pads 1 (the output layer, zero-padded too; N = 49, so its counts
    u in [0, 98] fit an int8 scaling layer) -> Reshape -> Mul ``classes_scale``."""
    rng = np.random.default_rng(11)
    q = "qonnx.custom_op.general"

    def tensor(name, value, dtype=np.float32):
        return numpy_helper.from_array(np.asarray(value, dtype), name)

    inits = [tensor("one", [1.0]), tensor("shape", [1, -1], np.int64),
             tensor("w1", np.where(rng.random((1, 2, 3, 3)) < .5, -1.0, 1.0)),
             tensor("w2", np.where(rng.random((3, 1, 7, 7)) < .5, -1.0, 1.0)),
             tensor("g", [1.25]), tensor("b", [0.25]), tensor("m", [3.0]), tensor("v", [2.5]),
             tensor("k", classes_scale), tensor("t", [[0.0]])]
    if input_quant == "bipolar":
        first = helper.make_node("BipolarQuant", ["x", "one"], ["a"], domain=q)
    else:   # FINN's 0/1 MultiThreshold: levels 0 and 1, not symmetric about 0
        first = helper.make_node("MultiThreshold", ["x", "t"], ["a"], domain=q,
                                 out_dtype="BINARY")
    nodes = [first,
             helper.make_node("Conv", ["a", "w1"], ["c1"], name="conv_zero", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c1", "g", "b", "m", "v"], ["n1"]),
             helper.make_node("BipolarQuant", ["n1", "one"], ["h1"], domain=q),
             helper.make_node("Conv", ["h1", "w2"], ["c2"], kernel_shape=[7, 7],
                              pads=[1, 1, 1, 1]),
             helper.make_node("Reshape", ["c2", "shape"], ["f"]),
             helper.make_node("Mul", ["f", "k"], ["y"])]
    graph = helper.make_graph(nodes, "zero_pad",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
                              inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid(q, 1)])
    proto.ir_version = 8
    path = tmp_path / "zero_pad.onnx"
    onnx.save(proto, str(path))
    return path


@pytest.mark.parametrize("classes_scale", [[[0.5, 0.5, 0.5]], [[1.0, -2.0, 3.0]]],
                         ids=["scalar", "per_class"])
def test_zero_padded_convs_against_qonnx_executor(tmp_path, classes_scale):
    """Two zero-padded binary Convs, the second the output layer (its counts u = v + N are the
    logits: the tail reads v = u - N), a per-class scale of either sign (the int8 scaling
    layer on zero-padded counts): qonnx's executor and the imported model agree bit for bit."""
    path = _zero_padded_conv_graph(tmp_path, classes_scale=classes_scale)
    rng = np.random.default_rng(12)
    inputs = rng.uniform(-1, 1, (60, 2, 5, 5)).astype(np.float32)
    model = _assert_matches_qonnx(path, inputs)
    assert [layer.attrs.get("pad_value") for layer in model.layers if layer.op == "conv2d"] \
        == [0, 0]
    assert model.meta["qonnx"]["output"]["zero_pad"] is True


def test_zero_padding_of_asymmetric_levels_is_a_named_error(tmp_path):
    """0/1 activations (FINN's MultiThreshold): a padded tap (0) is neither level's ±1 sum."""
    path = _zero_padded_conv_graph(tmp_path, classes_scale=[[1.0, 1.0, 1.0]],
                                   input_quant="multithreshold")
    with pytest.raises(QonnxImportError) as caught:
        import_onnx(path)
    assert (caught.value.node, caught.value.op_type) == ("conv_zero", "Conv")
    assert "zero padding of activations whose levels are not symmetric about 0" \
        in str(caught.value)
    assert isinstance(caught.value, BnnhwError) and isinstance(caught.value, ValueError)


def test_per_class_output_scales_become_an_exact_integer_scaling():
    """scaled_w1a1's logits are s[o] * v[o] with a per-class scale: the argmax of the popcounts
    alone is not the graph's, so an int8 dense layer gives m[o] * v[o] with integers m ordered
    like the float logits on every pair of reachable values."""
    model = import_onnx(DATA / "scaled_w1a1.onnx")
    tail = model.meta["qonnx"]["output"]
    m = np.array(tail["multiplier"])
    last, scale = model.layers[-2:]
    assert (last.op, last.attrs["precision"], scale.op, scale.attrs["precision"]) == (
        "dense", "binary", "dense", "int8")
    assert scale.params["weight"].sum(axis=1).tolist() == (2 * m).tolist()
    fan_in = tail["fan_in"]
    v = np.arange(-fan_in, fan_in + 1, 2)
    graph = (np.float32(tail["base_scale"])[:, None] * v.astype(np.float32)).reshape(-1)
    ints = (m[:, None] * v).reshape(-1)
    assert np.array_equal(np.sign(ints[:, None] - ints[None, :]),
                          np.sign(graph[:, None] - graph[None, :]))
    expected = _expected("scaled_w1a1")
    values = lower(model).run(convert_inputs(model, expected["inputs"]), keep=True)
    popcounts = values[last.name][:, :10].reshape(-1, 10)
    assert (popcounts.argmax(axis=1) != expected["argmax"]).sum() > 10   # the scaling matters
    assert np.array_equal(values[scale.name].reshape(-1, 10).argmax(axis=1), expected["argmax"])


def test_a_transpose_other_than_nchw_nhwc_is_a_named_error(tmp_path):
    path = _graph(tmp_path, [helper.make_node("Transpose", ["h"], ["out"], name="swap",
                                              perm=[1, 0])])
    with pytest.raises(QonnxImportError) as caught:
        import_onnx(path)
    assert (caught.value.node, caught.value.op_type) == ("swap", "Transpose")
    assert "only NCHW <-> NHWC transposes" in str(caught.value)


def test_streamlined_cnv_im2col_is_the_same_convolution():
    """FINN's Im2Col patches are (kh, kw, c) ordered: the streamlined CNV's first convolution,
    back in OIHW, has exactly the ±1 weights of the QONNX source's first Conv."""
    source = import_onnx(DATA / "cnv_w1a1.onnx")
    streamlined = import_onnx(DATA / "cnv_w1a1_streamlined.onnx")
    assert [layer.op for layer in streamlined.layers] == [layer.op for layer in source.layers]
    np.testing.assert_array_equal(streamlined.layer["conv1"].params["weight"],
                                  source.layer["conv1"].params["weight"])
    assert streamlined.input_type == source.input_type == "int8"


def _graph(tmp_path, middle, extra_init=(), weight_scale=1.0):
    """input (1,1,2,2) -> Reshape -> BipolarQuant -> MatMul 4x3 -> ``middle`` nodes reading
    ``h`` and writing ``out`` -> MatMul 3x2 -> ``y``."""
    rng = np.random.default_rng(0)
    q = "qonnx.custom_op.general"
    inits = [numpy_helper.from_array(np.array([1, -1], np.int64), "shape"),
             numpy_helper.from_array(np.array(1.0, np.float32), "one"),
             numpy_helper.from_array(np.where(rng.random((4, 3)) < .5, -1, 1).astype(np.float32)
                                     * np.float32(weight_scale), "w1"),
             numpy_helper.from_array(np.where(rng.random((3, 2)) < .5, -1, 1).astype(np.float32),
                                     "w2"), *extra_init]
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["flat"], name="flatten"),
             helper.make_node("BipolarQuant", ["flat", "one"], ["a"], domain=q, name="inq"),
             helper.make_node("MatMul", ["a", "w1"], ["h"], name="fc1"), *middle,
             helper.make_node("MatMul", ["out", "w2"], ["y"], name="fc2")]
    graph = helper.make_graph(nodes, "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid(q, 1)])
    path = tmp_path / "g.onnx"
    onnx.save(model, str(path))
    return path


def test_a_small_handmade_graph_imports(tmp_path):
    q = "qonnx.custom_op.general"
    path = _graph(tmp_path, [helper.make_node("BipolarQuant", ["h", "one"], ["out"], domain=q,
                                              name="act")])
    model = import_onnx(path)
    assert [layer.op for layer in model.layers] == ["dense", "threshold", "dense"]


def test_an_unknown_op_is_a_named_error(tmp_path):
    path = _graph(tmp_path, [helper.make_node("Relu", ["h"], ["out"], name="relu1")])
    with pytest.raises(QonnxImportError) as caught:
        import_onnx(path)
    assert (caught.value.node, caught.value.op_type) == ("relu1", "Relu")
    assert str(caught.value).startswith("node 'relu1' (Relu): this op is not supported")


def test_a_three_bit_activation_quant_is_a_named_error(tmp_path):
    q = "qonnx.custom_op.general"
    inits = [numpy_helper.from_array(np.array(v, np.float32), n)
             for n, v in (("s", 1.0), ("z", 0.0), ("b3", 3.0))]
    path = _graph(tmp_path, [helper.make_node("Quant", ["h", "s", "z", "b3"], ["out"], domain=q,
                                              name="act3", signed=1, narrow=0,
                                              rounding_mode="ROUND")], inits)
    with pytest.raises(QonnxImportError) as caught:
        import_onnx(path)
    assert (caught.value.node, caught.value.op_type) == ("act3", "Quant")
    assert "3-bit activation Quant" in str(caught.value)


def test_a_file_that_is_not_onnx_is_a_named_error(tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"not a protobuf at all \xff\xfe")
    with pytest.raises(QonnxImportError, match="not a readable ONNX file"):
        import_onnx(path)


# --- the converter CLI -------------------------------------------------------------------------

def _cli(*args):
    return subprocess.run([sys.executable, "-m", "bnnhw.importers.qonnx", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, check=False)


def test_converter_round_trip_and_overwrite_rules(tmp_path):
    out = tmp_path / "model.npz"
    result = _cli(DATA / "bn_negative_w1a1.onnx", "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {out}") and len(result.stdout.splitlines()) == 1
    model = load(out)
    expected = _expected("bn_negative_w1a1")
    x = convert_inputs(model, expected["inputs"])
    assert np.array_equal(lower(model).classify(x), expected["argmax"])
    assert model.meta == import_onnx(DATA / "bn_negative_w1a1.onnx").meta
    before = out.read_bytes()
    again = _cli(DATA / "tfc_w1a1.onnx", "--out", out)
    assert again.returncode == 1 and out.read_bytes() == before
    assert again.stderr.startswith("bnnhw.importers.qonnx: error: --out:")
    assert "exists" in again.stderr and "Traceback" not in again.stderr
    forced = _cli(DATA / "tfc_w1a1.onnx", "--out", out, "--force")
    assert forced.returncode == 0 and load(out).meta["source"]["file"] == "tfc_w1a1.onnx"


def test_converter_errors_are_one_line_and_leave_no_file(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    path = _zero_padded_conv_graph(source, classes_scale=[[1.0, 1.0, 1.0]],
                                   input_quant="multithreshold")
    out = tmp_path / "out" / "model.npz"
    out.parent.mkdir()
    result = _cli(path, "--out", out)
    assert result.returncode == 1 and not out.exists() and list(out.parent.iterdir()) == []
    assert result.stderr == ("bnnhw.importers.qonnx: error: node 'conv_zero' (Conv): pads "
                             "[1, 1, 1, 1]: zero padding of activations whose levels are not "
                             "symmetric about 0 (center 0.5): a padded tap would be no ±1 sum "
                             "of slices\n")


def test_a_malformed_node_is_a_named_error_not_a_traceback(tmp_path):
    path = _graph(tmp_path, [helper.make_node("Gemm", ["h"], ["out"], name="gemm_one_input")])
    with pytest.raises(QonnxImportError) as caught:
        import_onnx(path)
    assert (caught.value.node, caught.value.op_type) == ("gemm_one_input", "Gemm")
    assert "malformed or unsupported node" in str(caught.value)


def test_a_threshold_within_the_graphs_summation_error_is_a_named_error(tmp_path):
    """Weights of scale 1/3 sum in float32 with rounding: a dot product of 0 may come out as a
    tiny positive or negative number, so BipolarQuant's decision there is the summation
    order's; the importer refuses rather than guess. With scale 1/4 (exact sums) it imports."""
    q = "qonnx.custom_op.general"
    act = [helper.make_node("BipolarQuant", ["h", "one"], ["out"], domain=q, name="act")]
    with pytest.raises(QonnxImportError) as caught:
        import_onnx(_graph(tmp_path, act, weight_scale=1 / 3))
    assert (caught.value.node, caught.value.op_type) == ("act", "BipolarQuant")
    assert "summation order decides" in str(caught.value)
    model = import_onnx(_graph(tmp_path, act, weight_scale=1 / 4))
    assert [layer.op for layer in model.layers] == ["dense", "threshold", "dense"]


def _levels_graph(tmp_path, seed, act_signed, act_narrow):
    """input (1,1,4,4) -> Reshape -> Mul 2 -> Sub 1 -> 2-bit Quant (signed, not narrow: 4
    levels) -> MatMul ±1 16x8 -> BatchNormalization -> 2-bit Quant (``act_signed``,
    ``act_narrow``) -> MatMul ±1 8x5 -> Mul 0.5 -> y."""
    rng = np.random.default_rng(seed)
    q = "qonnx.custom_op.general"

    def tensor(name, value, dtype=np.float32):
        return numpy_helper.from_array(np.asarray(value, dtype), name)

    inits = [tensor("shape", [1, -1], np.int64), tensor("two", 2.0), tensor("one", [1.0]),
             tensor("s", 0.5), tensor("z", 0.0), tensor("bw", 2.0), tensor("half", 0.5),
             tensor("w1", np.where(rng.random((16, 8)) < .5, -1, 1)),
             tensor("w2", np.where(rng.random((8, 5)) < .5, -1, 1)),
             tensor("gamma", rng.uniform(-1.5, 1.5, 8)), tensor("beta", rng.uniform(-1, 1, 8)),
             tensor("mean", rng.uniform(-3, 3, 8)), tensor("var", rng.uniform(1, 9, 8)),
             tensor("as", 1.0)]
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["flat"]),
             helper.make_node("Mul", ["flat", "two"], ["m"]),
             helper.make_node("Sub", ["m", "one"], ["c"]),
             helper.make_node("Quant", ["c", "s", "z", "bw"], ["a"], domain=q, signed=1,
                              narrow=0, rounding_mode="ROUND", name="in_quant"),
             helper.make_node("MatMul", ["a", "w1"], ["h"]),
             helper.make_node("BatchNormalization", ["h", "gamma", "beta", "mean", "var"],
                              ["n"], epsilon=1e-5),
             helper.make_node("Quant", ["n", "as", "z", "bw"], ["b"], domain=q,
                              signed=act_signed, narrow=act_narrow, rounding_mode="ROUND",
                              name="act_quant"),
             helper.make_node("MatMul", ["b", "w2"], ["o"]),
             helper.make_node("Mul", ["o", "half"], ["y"])]
    graph = helper.make_graph(nodes, "levels",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid(q, 1)])
    model.ir_version = 8
    path = tmp_path / f"levels_{seed}_{act_signed}{act_narrow}.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize(("act_signed", "act_narrow"), [(1, 0), (0, 0), (1, 1)])
def test_two_bit_thermometer_codes_against_qonnx_executor(tmp_path, act_signed, act_narrow):
    """2-bit levels of every kind (signed 4 levels, unsigned 0..3: a thermometer with an
    offset, narrow {-1, 0, 1}) on the input and on activations: qonnx's executor and the
    imported model agree on random inputs, including inputs on the rounding edges."""
    path = _levels_graph(tmp_path, 3, act_signed, act_narrow)
    rng = np.random.default_rng(act_signed * 2 + act_narrow)
    inputs = rng.choice(np.arange(17, dtype=np.float32) / 16, (40, 1, 4, 4))
    model = _assert_matches_qonnx(path, inputs)
    assert model.input_shape == (3, 4, 4)      # 4 input levels: 3 slices


def test_a_small_conv_net_against_qonnx_executor(tmp_path):
    """8-bit input Quant, a zero-padded int8 first Conv (bnnhw's int8 border is zero too), a
    grouped binary Conv, MaxPool, Flatten, Gemm and a Sub/Div tail: qonnx's executor and the
    imported model agree on random real inputs, logits bit for bit."""
    rng = np.random.default_rng(5)
    q = "qonnx.custom_op.general"

    def tensor(name, value, dtype=np.float32):
        return numpy_helper.from_array(np.asarray(value, dtype), name)

    def pm1(*shape):
        return np.where(rng.random(shape) < .5, -1.0, 1.0)

    def bn(prefix, c):
        return [tensor(f"{prefix}g", rng.uniform(-1.5, 1.5, c)),
                tensor(f"{prefix}b", rng.uniform(-.5, .5, c)),
                tensor(f"{prefix}m", rng.uniform(-4, 4, c)),
                tensor(f"{prefix}v", rng.uniform(1, 30, c))]

    inits = [tensor("s8", 2.0 ** -7), tensor("z", 0.0), tensor("b8", 8.0), tensor("one", [1.0]),
             tensor("w1", pm1(4, 2, 3, 3) * rng.uniform(0.5, 2)), tensor("w2", pm1(4, 2, 3, 3)),
             tensor("w3", pm1(3, 16)), tensor("shape", [1, -1], np.int64),
             tensor("mu", [1.5]), tensor("sd", [3.25]), *bn("n1", 4), *bn("n2", 4)]
    nodes = [helper.make_node("Quant", ["x", "s8", "z", "b8"], ["a"], domain=q, signed=1,
                              narrow=0, rounding_mode="ROUND"),
             helper.make_node("BipolarQuant", ["w1", "one"], ["w1q"], domain=q),
             helper.make_node("Conv", ["a", "w1q"], ["c1"], kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c1", "n1g", "n1b", "n1m", "n1v"], ["n1"]),
             helper.make_node("BipolarQuant", ["n1", "one"], ["h1"], domain=q),
             helper.make_node("Conv", ["h1", "w2"], ["c2"], kernel_shape=[3, 3], group=2),
             helper.make_node("BatchNormalization", ["c2", "n2g", "n2b", "n2m", "n2v"], ["n2"]),
             helper.make_node("BipolarQuant", ["n2", "one"], ["h2"], domain=q),
             helper.make_node("MaxPool", ["h2"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Reshape", ["p", "shape"], ["f"]),
             helper.make_node("Gemm", ["f", "w3"], ["g"], transB=1),
             helper.make_node("Sub", ["g", "mu"], ["t"]),
             helper.make_node("Div", ["t", "sd"], ["y"])]
    graph = helper.make_graph(nodes, "conv",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
                              inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid(q, 1)])
    proto.ir_version = 8
    path = tmp_path / "conv.onnx"
    onnx.save(proto, str(path))
    model = import_onnx(path)
    assert [layer.op for layer in model.layers] == [
        "conv2d", "batchnorm", "sign", "conv2d", "threshold", "maxpool", "dense"]
    assert (model.input_type, model.layer["conv2"].attrs["groups"]) == ("int8", 2)
    inputs = rng.uniform(-1.1, 1.1, (40, 2, 6, 6)).astype(np.float32)
    _assert_matches_qonnx(path, inputs)


def _node(op, inputs, name, output="out", **attrs):
    domain = "qonnx.custom_op.general" if op in ("Quant", "BipolarQuant") else ""
    return helper.make_node(op, inputs, [output], name=name, domain=domain, **attrs)


UNSUPPORTED = {
    # case: (middle nodes from h to out, extra initializers, the node named, expected words)
    "zero point": ([_node("Quant", ["h", "one", "zp", "b2"], "q_zp", signed=1, narrow=1,
                          rounding_mode="ROUND")], {"zp": 1.0, "b2": 2.0}, "q_zp",
                   "zero point 1.0"),
    "per-channel activation scale": (
        [_node("BipolarQuant", ["h", "s3"], "bq_channel")], {"s3": [1.0, 2.0, 3.0]},
        "bq_channel", "the scale must be one constant value"),
    "rounding mode": ([_node("Quant", ["h", "one", "z0", "b2"], "q_round", signed=1, narrow=1,
                             rounding_mode="STOCHASTIC")], {"z0": 0.0, "b2": 2.0}, "q_round",
                      "rounding_mode 'STOCHASTIC' is not supported"),
    "per-channel arithmetic on bits": (
        [_node("BipolarQuant", ["h", "one"], "bq", output="bits"),
         _node("Mul", ["bits", "v3"], "mul_bits")], {"v3": [1.0, 2.0, 3.0]}, "mul_bits",
        "arithmetic on binary activations"),
}


@pytest.mark.parametrize("case", sorted(UNSUPPORTED))
def test_unsupported_quantizer_patterns_are_named_errors(tmp_path, case):
    middle, extra, node, words = UNSUPPORTED[case]
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in extra.items()]
    with pytest.raises(QonnxImportError) as caught:
        import_onnx(_graph(tmp_path, middle, inits))
    assert caught.value.node == node
    assert words in str(caught.value)


def test_a_gemm_with_a_bias_is_a_named_error(tmp_path):
    inits = [numpy_helper.from_array(np.ones((4, 3), np.float32), "wg"),
             numpy_helper.from_array(np.ones(3, np.float32), "bias")]
    q = "qonnx.custom_op.general"
    path = _graph(tmp_path, [helper.make_node("BipolarQuant", ["h", "one"], ["hb"], domain=q,
                                              name="act"),
                             helper.make_node("Gemm", ["hb", "w3t", "bias"], ["out"],
                                              name="gemm_bias", transB=1)],
                  [*inits, numpy_helper.from_array(np.ones((3, 3), np.float32), "w3t")])
    with pytest.raises(QonnxImportError) as caught:
        import_onnx(path)
    assert (caught.value.node, caught.value.op_type) == ("gemm_bias", "Gemm")
    assert "a bias (input C) is not supported" in str(caught.value)


@pytest.mark.parametrize("scale", [-1.0, -0.75, 2.5])
def test_activation_scales_of_any_sign_against_qonnx_executor(tmp_path, scale):
    """BipolarQuant with a negative scale flips the bits (the threshold inverts); a non-unit
    scale scales the next dot product; weights of scale 1/4 sum exactly."""
    q = "qonnx.custom_op.general"
    act = [helper.make_node("BipolarQuant", ["h", "act_scale"], ["out"], domain=q, name="act")]
    path = _graph(tmp_path, act, [numpy_helper.from_array(np.float32([scale]), "act_scale")],
                  weight_scale=0.25)
    grid = np.stack(np.meshgrid(*[np.float32([0.25, 0.5, 1.0])] * 4), -1).reshape(-1, 4)
    _assert_matches_qonnx(path, grid.reshape(-1, 1, 2, 2))


def test_unsqueeze_batchnorm_squeeze_against_qonnx_executor(tmp_path):
    """FINN's older form of a dense layer's batch norm: Unsqueeze to (1, C, 1, 1), a 4-D
    BatchNormalization, Squeeze back; only shapes change, the channels stay on axis 1."""
    q = "qonnx.custom_op.general"
    rng = np.random.default_rng(11)
    params = {"ax": np.array([2, 3], np.int64), "g": rng.uniform(-1, 1, 3),
              "b": rng.uniform(-1, 1, 3), "m": rng.uniform(-2, 2, 3), "v": rng.uniform(1, 4, 3)}
    inits = [numpy_helper.from_array(np.asarray(v, np.int64 if k == "ax" else np.float32), k)
             for k, v in params.items()]
    middle = [helper.make_node("Unsqueeze", ["h", "ax"], ["u"], name="unsqueeze"),
              helper.make_node("BatchNormalization", ["u", "g", "b", "m", "v"], ["n"]),
              helper.make_node("Squeeze", ["n", "ax"], ["sq"], name="squeeze"),
              helper.make_node("BipolarQuant", ["sq", "one"], ["out"], domain=q, name="act")]
    path = _graph(tmp_path, middle, inits)
    grid = np.stack(np.meshgrid(*[np.float32([0.25, 0.5, 1.0])] * 4), -1).reshape(-1, 4)
    model = _assert_matches_qonnx(path, grid.reshape(-1, 1, 2, 2))
    assert [layer.op for layer in model.layers] == ["dense", "threshold", "dense"]


def test_a_convolution_on_a_relaid_input_is_a_named_error(tmp_path):
    """The input bits are bnnhw's (1, 2, 2) image; after a flatten and an unsqueeze the graph
    reads them as (4, 1, 1): a convolution there would see another layout, so it is refused."""
    q = "qonnx.custom_op.general"
    inits = [numpy_helper.from_array(np.array([1, -1], np.int64), "shape"),
             numpy_helper.from_array(np.array([2, 3], np.int64), "ax"),
             numpy_helper.from_array(np.array([1.0], np.float32), "one"),
             numpy_helper.from_array(np.ones((3, 4, 1, 1), np.float32), "w")]
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["flat"]),
             helper.make_node("BipolarQuant", ["flat", "one"], ["a"], domain=q),
             helper.make_node("Unsqueeze", ["a", "ax"], ["a4"]),
             helper.make_node("Conv", ["a4", "w"], ["y"], name="conv_relaid",
                              kernel_shape=[1, 1])]
    graph = helper.make_graph(nodes, "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                                             [1, 3, 1, 1])], inits)
    path = tmp_path / "relaid.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                      helper.make_opsetid(q, 1)]), str(path))
    with pytest.raises(QonnxImportError) as caught:
        import_onnx(path)
    assert (caught.value.node, caught.value.op_type) == ("conv_relaid", "Conv")
    assert "is not laid out as bnnhw's (1, 2, 2)" in str(caught.value)
