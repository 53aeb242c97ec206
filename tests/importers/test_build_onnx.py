"""``python -m bnnhw.build model.onnx``: an imported QONNX file as the DESIGN (docs/import.md).

The fast tests build without simulating (import, named errors, ``--reference qonnx`` of golden
against qonnx's executor); the cocotb tests simulate eight fixtures (Brevitas' QONNX: tfc_w1a1,
tfc_w1a1_dynamo, sfc_w1a1_dynamo, cnv_w1a1, the W1A2 tfc_w1a2, the zero-padded conv_pad_w1a1;
FINN-ONNX: cnv_w1a1_finn; FINN's streamlined form: bn_negative_w1a1_streamlined) on every input
of the fixture (360 digits + 64 random images, both stall patterns) and compare the RTL with
the fixtures' qonnx outputs (``benchmarks/qonnx_rtl.py``: all 17).
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bnnhw.build import run_build
from bnnhw.build.__main__ import main
from bnnhw.importers.qonnx import convert_inputs, import_onnx

from ..model.samples import every_op_model, write_design

DATA = Path(__file__).resolve().parents[1] / "data" / "qonnx"
#: tfc_w1a1's inputs whose maximal qonnx logit is tied (tests/data/qonnx/README.md).
TFC_TIES = [143, 178, 180, 295, 404]


def _quiet(message):
    pass


def _expected(name):
    with np.load(DATA / f"{name}.expected.npz") as data:
        return {key: data[key] for key in data.files}


def _inputs_file(tmp_path, name, rows=None, labels=False):
    """An --inputs .npz of the fixture's float32 inputs (``rows`` of them; default all)."""
    expected = _expected(name)
    rows = np.arange(len(expected["inputs"])) if rows is None else np.asarray(rows)
    arrays = {"inputs": expected["inputs"][rows]}
    if labels:
        arrays["labels"] = np.maximum(expected["labels"][rows], 0)
    path = tmp_path / f"{name}.inputs.npz"
    np.savez(path, **arrays)
    return path, {key: value[rows] for key, value in expected.items() if np.ndim(value)}


def _outputs(out):
    with np.load(out / "outputs.npz") as data:
        return {name: data[name] for name in data.files}


def _leftovers(tmp_path, keep):
    return sorted(p.name for p in tmp_path.iterdir() if p.name not in keep)


# --- fast: no simulation --------------------------------------------------------------------

def test_a_file_that_is_not_onnx_is_one_named_error_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not a protobuf at all")
    assert main([str(bad), "--out", str(tmp_path / "out"), "--sim"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"bnnhw.build: error: import: {bad}: not a readable ONNX file")
    assert _leftovers(tmp_path, {"broken.onnx"}) == []


def test_an_unsupported_graph_names_its_node_and_writes_nothing(tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper
    node = helper.make_node("Relu", ["x"], ["y"], name="the_relu")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [1, 1, 8, 8])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, [1, 1, 8, 8])])
    path = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph), str(path))
    assert main([str(path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("bnnhw.build: error: import: ") and "'the_relu' (Relu)" in err
    assert _leftovers(tmp_path, {"relu.onnx"}) == []


def test_a_missing_onnx_file_is_a_named_error(tmp_path, capsys):
    missing = tmp_path / "absent.onnx"
    assert main([str(missing), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err == f"bnnhw.build: error: design: {missing}: no such ONNX file\n"
    assert _leftovers(tmp_path, set()) == []


def test_the_design_is_named_after_the_file_stem_as_a_verilog_identifier(tmp_path,
                                                                         monkeypatch):
    copy = tmp_path / "my-net.v2.onnx"
    shutil.copy(DATA / "tfc_w1a1.onnx", copy)
    monkeypatch.chdir(tmp_path)
    result = run_build(str(copy), log=_quiet)
    out = tmp_path / "build" / "my-net.v2"                 # default folder: build/<stem>
    assert result.out == Path("build") / "my-net.v2"
    report = json.loads((out / "report.json").read_text())
    assert report["design"] == "my_net_v2" and report["top_module"] == "bnnhw_my_net_v2"
    assert "module bnnhw_my_net_v2(" in (out / "bnnhw_my_net_v2.v").read_text()
    assert report["source"]["file"] == "my-net.v2.onnx" and report["source"]["ops"]
    assert report["reference"] is None and report["simulation"] is None
    # the same Verilog and images as the model imported by hand and built as a design folder
    model = import_onnx(DATA / "tfc_w1a1.onnx", name="my_net_v2")
    from bnnhw.model import save
    folder = tmp_path / "designs" / "my_net_v2"
    folder.mkdir(parents=True)
    save(model, folder / "model.npz")
    run_build(str(folder), out=tmp_path / "folder_build", log=_quiet)
    for name in ("bnnhw_my_net_v2.v", "memory_map.json"):
        assert (out / name).read_bytes() == (tmp_path / "folder_build" / name).read_bytes()


@pytest.mark.parametrize(("flags", "message"), [
    (["--reference", "qonnx"], "--reference qonnx: needs --inputs FILE"),
    (["--reference", "onnxruntime"], "--reference: unknown executor 'onnxruntime'; choose qonnx"),
    (["--inputs", "X"], "--inputs: needs --sim or --energy (or --reference)"),
])
def test_reference_and_inputs_flags_are_checked(tmp_path, capsys, flags, message):
    flags = [str(tmp_path / "x.npy") if f == "X" else f for f in flags]
    assert main([str(DATA / "tfc_w1a1.onnx"), "--out", str(tmp_path / "out")] + flags) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_reference_on_a_design_folder_is_refused(tmp_path, capsys):
    design = write_design(tmp_path, "tiny", every_op_model(1, exact=True), 1000)
    path, _ = _inputs_file(tmp_path, "tfc_w1a1", rows=[0])
    assert main([str(design), "--out", str(tmp_path / "out"), "--inputs", str(path),
                 "--reference", "qonnx"]) == 1
    err = capsys.readouterr().err
    assert "--reference qonnx: needs a design given as an .onnx file" in err
    assert not (tmp_path / "out").exists()


def test_reference_without_qonnx_installed_is_one_error_before_any_work(tmp_path, capsys,
                                                                       monkeypatch):
    import importlib.util

    from bnnhw.build import config
    real = importlib.util.find_spec
    monkeypatch.setattr(config.importlib.util, "find_spec",
                        lambda name, *a: None if name == "qonnx" else real(name, *a))
    path, _ = _inputs_file(tmp_path, "tfc_w1a1", rows=[0])
    assert main([str(DATA / "tfc_w1a1.onnx"), "--out", str(tmp_path / "out"), "--inputs",
                 str(path), "--reference", "qonnx"]) == 1
    err = capsys.readouterr().err
    assert "--reference qonnx: the qonnx package is not installed" in err
    assert "[1/" not in capsys.readouterr().out and not (tmp_path / "out").exists()


@pytest.mark.parametrize(("array", "message"), [
    (np.full((2, 1, 8, 8), 0.1),
     "value 0.1 at (0, 0, 0, 0) is not exactly a float32 (dtype float64; 128 such values)"),
    (np.zeros((2, 1, 7, 8), np.float32), "inputs: expected shape (B, 1, 8, 8), got (2, 1, 7, 8)"),
    (np.full((1, 1, 8, 8), np.nan, np.float32), "value nan at (0, 0, 0, 0) is not finite"),
    (np.full((1, 1, 8, 8), "a"), "expected float32 values (what the ONNX graph takes)"),
])
def test_graph_inputs_that_cannot_be_used_are_named_errors(tmp_path, capsys, array, message):
    path = tmp_path / "x.npy"
    np.save(path, array)
    assert main([str(DATA / "tfc_w1a1.onnx"), "--out", str(tmp_path / "out"), "--sim",
                 "--inputs", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"bnnhw.build: error: --inputs: {path}: " in err and message in err
    assert not (tmp_path / "out").exists()


def test_exact_float32_values_of_another_dtype_are_accepted(tmp_path):
    from bnnhw.sim.inputs import read_graph_inputs_file
    path = tmp_path / "x.npy"
    np.save(path, np.arange(64, dtype=np.int64).reshape(1, 1, 8, 8) % 17)
    inputs, labels, info = read_graph_inputs_file(path)
    assert inputs.dtype == np.float32 and inputs.max() == 16 and labels is None
    assert info["source"] == "file" and info["file"] == "x.npy"


def test_an_imported_model_without_inputs_gets_random_integers_never_the_digits(tmp_path):
    """cnv_w1a1's int8 1x8x8 input would hold the digits' 0..16, but they are not what its
    graph means by a pixel: the build's load-model step picks seeded random inputs."""
    from bnnhw.build.config import BuildConfig
    from bnnhw.build.steps import Build, BuildResults, _load_model
    from bnnhw.design import Design
    from bnnhw.sim.inputs import digits_fit
    config = BuildConfig.make(str(DATA / "cnv_w1a1.onnx"), out=tmp_path / "out", sim=True,
                              images=3)
    assert digits_fit(config.imported) and config.design_config == {}
    design = Design(config.design_dir, config={}, model=config.imported, name=config.name)
    build = Build(config, design, BuildResults(), _quiet)
    assert "simulation inputs: seeded random inputs over [-128, 127]" in _load_model(build)
    chosen = build.results.input_set
    assert chosen.source == "random" and chosen.labels is None and len(chosen) == 5
    assert (chosen.inputs[0] == -128).all() and (chosen.inputs[1] == 127).all()


def test_reference_qonnx_without_sim_agrees_with_golden_on_every_input(tmp_path):
    """Golden (no Verilator) against qonnx's executor on the tied inputs, a spread of digits
    and random images: argmax equal on all of them, logits after the tail identical."""
    rows = sorted(set(TFC_TIES) | set(range(0, 360, 12)) | set(range(360, 424, 8)))
    path, _ = _inputs_file(tmp_path, "tfc_w1a1", rows)
    out = tmp_path / "out"
    result = run_build(str(DATA / "tfc_w1a1.onnx"), out=out, inputs=str(path),
                       reference="qonnx", log=_quiet)
    reference = result.report["reference"]
    assert reference["executor"].startswith("qonnx ") and reference["graph_output"] == "logits"
    assert reference["golden"] == {"outputs": len(rows), "argmax_equal": len(rows),
                                   "first_difference": None, "max_abs_logit_difference": 0.0}
    assert reference["rtl"] is None and reference["agree"] is True
    assert reference["inputs"]["count"] == len(rows) and reference["inputs"]["file"] == path.name
    assert json.loads((out / "report.json").read_text())["reference"] == reference
    text = (out / "report.md").read_text()
    assert "## Reference: qonnx" in text and f"argmax equal on {len(rows)} of {len(rows)}" in text
    assert not (out / "outputs.npz").exists()          # no simulation, no outputs file


def test_reference_qonnx_on_a_streamlined_graph_compares_its_topk_index(tmp_path):
    rows = list(range(0, 360, 30)) + [400, 401]
    path, _ = _inputs_file(tmp_path, "tfc_w1a1_streamlined", rows)
    result = run_build(str(DATA / "tfc_w1a1_streamlined.onnx"), out=tmp_path / "out",
                       inputs=str(path), reference="qonnx", log=_quiet)
    reference = result.report["reference"]
    assert reference["graph_output"] == "argmax" and reference["agree"] is True
    assert reference["golden"]["argmax_equal"] == len(rows)
    assert reference["golden"]["max_abs_logit_difference"] is None


# --- cocotb + Verilator: the RTL against the fixtures' qonnx outputs -------------------------

def _simulate_fixture(tmp_path, name, extra=()):
    path, expected = _inputs_file(tmp_path, name, labels=True)
    out = tmp_path / "out"
    assert main([str(DATA / f"{name}.onnx"), "--out", str(out), "--sim", "--inputs", str(path),
                 *extra]) == 0
    report = json.loads((out / "report.json").read_text())
    sim = report["simulation"]
    assert sim["rtl_equals_golden"] and sim["images"] == 424, sim["first_mismatch"]
    assert [run["stalls"]["input"] for run in sim["runs"]] == [0.0, 0.3]   # both patterns
    assert all(run["outputs"] == 424 and not run["timed_out"] for run in sim["runs"])
    outputs = _outputs(out)
    assert np.array_equal(outputs["rtl_labels"], expected["argmax"])
    if expected["outputs"].dtype != np.int64:          # _streamlined graphs end in a TopK index
        assert outputs["rtl_graph_logits"].dtype == np.float32
        np.testing.assert_array_equal(outputs["rtl_graph_logits"], expected["outputs"])
        np.testing.assert_array_equal(outputs["golden_graph_logits"], expected["outputs"])
    # the raw inputs as given, and the model's integer inputs they became
    assert outputs["inputs"].dtype == np.float32
    np.testing.assert_array_equal(outputs["inputs"], expected["inputs"])
    model = import_onnx(DATA / f"{name}.onnx")
    np.testing.assert_array_equal(outputs["model_inputs"],
                                  convert_inputs(model, expected["inputs"]))
    assert sim["inputs"]["converted"] is True
    return report, outputs


@pytest.mark.cocotb
def test_cocotb_tfc_w1a1_rtl_is_qonnx_on_every_input_and_the_reference_agrees(tmp_path):
    """Folded to 640 cycles per inference (the default folding's 4,096 simulates 6x longer)."""
    report, outputs = _simulate_fixture(tmp_path, "tfc_w1a1", ["--reference", "qonnx",
                                                               "--target-cycles", "1000"])
    assert report["cycles_per_inference"] <= 1000
    reference = report["reference"]
    assert reference["agree"] is True
    for side in ("golden", "rtl"):
        assert reference[side]["argmax_equal"] == 424
        assert reference[side]["max_abs_logit_difference"] == 0.0
    np.testing.assert_array_equal(outputs["reference_outputs"], _expected("tfc_w1a1")["outputs"])


@pytest.mark.cocotb
def test_cocotb_cnv_w1a1_rtl_is_qonnx_on_every_input(tmp_path):
    """The 8-bit input conv net, folded to 648 cycles per inference (the default folding's
    36,864 would simulate for minutes): int8 first layer, convs, max-pool, TensorNorm tail."""
    report, _ = _simulate_fixture(tmp_path, "cnv_w1a1", ["--target-cycles", "1000"])
    assert report["design"] == "cnv_w1a1" and report["reference"] is None
    assert report["cycles_per_inference"] <= 1000
    assert report["simulation"]["measured_cycles_per_inference"] <= 1000


@pytest.mark.cocotb
@pytest.mark.parametrize("name", ["tfc_w1a2", "conv_pad_w1a1", "tfc_w1a1_dynamo",
                                  "sfc_w1a1_dynamo", "cnv_w1a1_finn",
                                  "bn_negative_w1a1_streamlined"])
def test_cocotb_more_fixtures_rtl_is_qonnx_on_every_input(tmp_path, name):
    """W1A2 activations (thermometer slices), zero padding, the dynamo exporter (TFC and SFC
    sizes), FINN-ONNX custom ops, FINN's streamlined form with a negative batch-norm scale and
    thresholds outside [0, N] (a TopK index out)."""
    report, outputs = _simulate_fixture(tmp_path, name, ["--target-cycles", "1000"])
    assert report["source"]["file"] == f"{name}.onnx"
    assert report["simulation"]["measured_cycles_per_inference"] <= 1000
    assert len(outputs["rtl_labels"]) == 424
