"""FINN's reference topologies (TFC, SFC, CNV), imported from QONNX, synthesized for ECP5.

Run by hand (not in tests; minutes per design), in bnnhw's venv::

    python benchmarks/finn_topologies.py designs [NAME ...]   # .onnx -> model.npz + README.md
    python benchmarks/finn_topologies.py synth [NAME ...] [--timeout MIN] [--target-cycles C]
    python benchmarks/finn_topologies.py report             # .md again from the .json

NAME is one of :data:`DESIGNS` (default: all). The graphs ``designs/NAME/NAME.onnx`` and their
qonnx-executor outputs ``qonnx_reference.npz`` are written by ``finn_topologies_export.py`` in
the torch + Brevitas venv (see its docstring).

``designs`` imports each graph with bnnhw's converter (:func:`bnnhw.importers.qonnx.import_onnx`,
as ``python -m bnnhw.importers.qonnx``), records the design's source in the model's
``meta["design"]``, and writes ``model.npz`` and a README stating the golden network's accuracy
beside the ONNX graph's (qonnx's executor) on the 360 held-out digits.

``synth`` runs ``python -m bnnhw.build designs/NAME --synth ecp5`` for each design, one after
another (a subprocess each, killed after ``--timeout`` minutes), and writes
``benchmarks/results/finn_topologies.{json,md}``: LUT4, FF, BRAM (DP16KD), DSP, Fmax, cycles
and inferences per second, binary ops per second per LUT4, beside FINN's published figures for
the same topologies (:data:`FINN_PUBLISHED`).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DESIGNS_DIR = ROOT / "designs"

#: design -> (topology description, the FINN figure it is compared with, training line).
DESIGNS = {
    "finn_tfc": {
        "topology": "TFC",
        "description": (
            "FINN's TFC (brevitas_examples.bnn_pynq `FC`, `out_features` 64-64-64, W1A1) on the "
            "8x8 digits: 64 one-bit inputs (pixel >= 8) -> dense 64 -> BN -> sign -> dense 64 "
            "-> BN -> sign -> dense 64 -> BN -> sign -> dense 10 -> TensorNorm. MNIST's TFC has "
            "784 inputs; the hidden widths are TFC's own."),
        "layers_mnist": [(784, 64), (64, 64), (64, 64), (64, 10)]},
    "finn_sfc": {
        "topology": "SFC",
        "description": (
            "FINN's SFC (brevitas_examples.bnn_pynq `FC`, `out_features` 256-256-256, W1A1) on "
            "the 8x8 digits: 64 one-bit inputs (pixel >= 8) -> three dense 256 + BN + sign -> "
            "dense 10 -> TensorNorm. MNIST's SFC has 784 inputs; the hidden widths are SFC's "
            "own."),
        "layers_mnist": [(784, 256), (256, 256), (256, 256), (256, 10)]},
    "finn_cnv": {
        "topology": "CNV",
        "description": (
            "FINN's CNV (brevitas_examples.bnn_pynq `CNV` class, W1A1, 8-bit Q1.7 input) on the "
            "8x8 digits: CNV's first conv block at full width (3x3 conv 64 on the 8-bit input "
            "-> BN -> sign -> 3x3 binary conv 64 -> BN -> sign -> 2x2 max-pool: 8 -> 6 -> 4 -> "
            "2) then CNV's whole classifier (dense 256 -> 512 -> 512 -> 10, BN + sign between, "
            "TensorNorm); 64 x 2 x 2 = 256 is CNV's own first dense input. CNV's later conv "
            "blocks (128, 128, pool, 256, 256) need a larger image than 8x8."),
        "layers_mnist": None},
    "finn_cnv32": {
        "topology": "CNV",
        "description": (
            "FINN's CNV (brevitas_examples.bnn_pynq `CNV` class, W1A1, 8-bit Q1.7 input) at its "
            "own 32x32x3 shape and full width: 3x3 convs 64, 64, pool, 128, 128, pool, 256, 256 "
            "(32 -> 30 -> 28 -> 14 -> 12 -> 10 -> 5 -> 3 -> 1), dense 256 -> 512 -> 512 -> 10, "
            "TensorNorm. Random weights (uniform(-1, 1), torch seed 32), batch-norm statistics "
            "calibrated on 64 random images (integers 0..255 of `numpy.random.default_rng(32)`): "
            "a hardware-size benchmark, not a classifier."),
        "layers_mnist": None},
}

#: FINN's published figures as issue 16 quotes them (Umuroglu et al., "FINN", FPGA 2017: SFC-max
#: on a ZC706; BNN-PYNQ's README: LFC and CNV on a Pynq-Z1). Xilinx 6-input LUTs, Zynq-7000.
FINN_PUBLISHED = {
    "SFC-max": {"topology": "SFC", "device": "Xilinx Zynq-7045 (ZC706)", "lut6": 91131,
                    "clock_mhz": 200, "frames_per_s": 12.3e6, "dataset": "MNIST 28x28",
                    "source": "FINN paper (Umuroglu et al., FPGA 2017)"},
    "LFC (BNN-PYNQ)": {"topology": "LFC", "device": "Xilinx Zynq-7020 (Pynq-Z1)", "lut6": 25358,
                           "dataset": "MNIST 28x28", "source": "BNN-PYNQ README"},
    "CNV (BNN-PYNQ)": {"topology": "CNV", "device": "Xilinx Zynq-7020 (Pynq-Z1)", "lut6": 25770,
                           "dataset": "CIFAR-10 32x32x3", "source": "BNN-PYNQ README"},
}

#: MNIST LFC (1024-1024-1024) for the ops column of the BNN-PYNQ LFC row.
LFC_MNIST = [(784, 1024), (1024, 1024), (1024, 1024), (1024, 10)]


def _dense_ops(layers):
    """Binary ops (XNOR + popcount = 2 per MAC) of a stack of dense layers."""
    return 2 * sum(n_in * n_out for n_in, n_out in layers)


def _cnv32_ops():
    """Binary ops of CNV at 32x32x3 (2 per MAC; the first conv's 8-bit MACs counted alike)."""
    convs = [(3, 64, 30), (64, 64, 28), (64, 128, 12), (128, 128, 10), (128, 256, 3),
             (256, 256, 1)]
    conv_macs = sum(cin * cout * 9 * side * side for cin, cout, side in convs)
    return 2 * conv_macs + _dense_ops([(256, 512), (512, 512), (512, 10)])


# --------------------------------------------------------------------------------------------
# designs: import the .onnx, write model.npz and README.md


def _graph_inputs(name, reference):
    """The float32 inputs the graph took for ``qonnx_reference.npz`` (as the export script)."""
    if name == "finn_cnv32":
        rng = np.random.default_rng(32)
        return rng.integers(0, 256, size=(64, 3, 32, 32)).astype(np.float32)
    from bnnhw.train.data import held_out
    images, labels = held_out()
    assert np.array_equal(labels, reference["labels"]), name
    return images.astype(np.float32)


def evaluate_design(name, model):
    """Golden network, float64 model file and the ONNX graph (qonnx) on the reference inputs."""
    from bnnhw.compiler import lower
    from bnnhw.importers.qonnx import convert_inputs, graph_logits
    from bnnhw.train.report import evaluate

    reference = np.load(DESIGNS_DIR / name / "qonnx_reference.npz")
    graph_inputs = _graph_inputs(name, reference)
    labels = reference["labels"]
    model_inputs = convert_inputs(model, graph_inputs)
    metrics = evaluate(model, model_inputs, labels)
    compiled = lower(model)
    golden_logits = compiled.run(model_inputs).reshape(len(model_inputs), -1)
    golden = compiled.classify(model_inputs)
    graph = graph_logits(model, golden_logits)
    metrics.update(
        qonnx_accuracy=float(np.mean(reference["argmax"] == labels)),
        golden_vs_qonnx=float(np.mean(golden == reference["argmax"])),
        max_logit_difference=float(np.max(np.abs(graph - reference["outputs"]))),
        inputs=len(labels), labelled=bool((labels >= 0).all()))
    return metrics


def _readme(name, model, metrics, design_json):
    from bnnhw.train.report import _layer_rows
    spec = DESIGNS[name]
    bits, ops = metrics["parameter_bits"], metrics["operations"]
    training = design_json["training"]
    source = model.meta["source"]
    lines = [f"# {name}", "", spec["description"], "",
             (f"Imported from `{source['file']}` (QONNX, exported by Brevitas 0.13.4 with "
             "`export_qonnx(..., dynamo=False)`; sha256 "
             f"`{source['sha256'][:16]}...`) by bnnhw's converter, "
             "`python -m bnnhw.importers.qonnx` (docs/import.md): the imported network's argmax "
             "is the graph's on every input, its logits through the recorded tail the graph's "
             "float32 logits. Not one of the four trained designs checked by "
             "`tests/test_designs.py` (whose accuracy floor and iCE40 size budget, 42,000 "
             "parameter bits, are not FINN's); built and synthesized by "
             "`benchmarks/finn_topologies.py`. The latent weights were replaced by their signs "
             "before export (the same function: BipolarQuant maps `w >= 0` to +1)."), ""]
    if metrics["labelled"]:
        lines += [("## Results (360 held-out digits: the last 360 of scikit-learn's "
                  "`load_digits()`)"), "", "| metric | value |", "| --- | ---: |",
                  (f"| held-out accuracy, ONNX graph (qonnx `execute_onnx`, cleaned model) | "
                  f"{100 * metrics['qonnx_accuracy']:.2f} % |"),
                  (f"| held-out accuracy, golden integer network (`lower(model).classify`) | "
                  f"{100 * metrics['golden_accuracy']:.2f} % |"),
                  (f"| held-out accuracy, float64 model file (`reference.classify_float`) | "
                  f"{100 * metrics['float_accuracy']:.2f} % |")]
    else:
        lines += ["## Results (64 random images, integers 0..255, `default_rng(32)`)", "",
                  "| metric | value |", "| --- | ---: |"]
    lines += [(f"| golden vs ONNX graph (qonnx) argmax agreement | "
              f"{100 * metrics['golden_vs_qonnx']:.2f} % |"),
              (f"| max \\|golden logits through the tail - qonnx logits\\| | "
              f"{metrics['max_logit_difference']:g} |"),
              f"| golden vs float64 agreement | {100 * metrics['agreement']:.2f} % |",
              f"| parameter bits (as stored in hardware) | {bits['total']:,} |",
              (f"| binary ops per image (XNOR/AND + popcount per MAC) | "
              f"{ops['binary_ops']:,} |"),
              f"| int8 MACs per image | {ops['int8_macs']:,} |",
              f"| threshold / piece comparisons per image | {ops['comparisons']:,} |", ""]
    breakdown = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in bits.items()
                          if k != "total" and v)
    lines += [f"Parameter bits by kind: {breakdown} (`bnnhw.compiler.parameter_bits`).", ""]
    settings = ", ".join(f"{k} {v}" for k, v in training.items())
    lines += [f"Training: {settings} (`tests/data/qonnx/make_fixtures.train`: Adam, cross "
              "entropy, weights clipped to [-1, 1] after each step, as bnn_pynq's trainer)."
              if "epochs" in training else f"Weights: {settings}.", "",
              "## Rebuild", "",
              ("    # the .onnx and qonnx_reference.npz (torch + Brevitas venv, see "
              "tests/data/qonnx/make_fixtures.py)"),
              f"    /work/venvs/brevitas/bin/python benchmarks/finn_topologies_export.py {name}",
              "    # model.npz and this README (bnnhw's venv)",
              f"    python benchmarks/finn_topologies.py designs {name}",
              "    # or by hand: the converter alone",
              f"    python -m bnnhw.importers.qonnx designs/{name}/{name}.onnx --out model.npz",
              "    # hardware: Verilog, ROM images, ECP5 synthesis",
              f"    python -m bnnhw.build {name} --synth ecp5", "",
              ("ECP5 resources, Fmax and throughput beside FINN's published figures: "
              "`benchmarks/results/finn_topologies.md`."), "",
              "## Layers", "", *_layer_rows(model), ""]
    return "\n".join(lines)


def write_design(name):
    from bnnhw.importers.qonnx import import_onnx
    from bnnhw.model import save
    from bnnhw.train.report import write_text_atomic

    folder = DESIGNS_DIR / name
    model = import_onnx(folder / f"{name}.onnx", name=name)
    model.meta["design"] = {
        "topology": DESIGNS[name]["topology"],
        "onnx": f"designs/{name}/{name}.onnx",
        "exported_by": "benchmarks/finn_topologies_export.py",
        "imported_by": "benchmarks/finn_topologies.py designs (bnnhw.importers.qonnx)"}
    save(model, folder / "model.npz")
    metrics = evaluate_design(name, model)
    config = json.loads((folder / "design.json").read_text())
    write_text_atomic(folder / "README.md", _readme(name, model, metrics, config))
    print(f"{name}: golden {metrics['golden_accuracy']:.4f}, qonnx "
          f"{metrics['qonnx_accuracy']:.4f}, golden vs qonnx {metrics['golden_vs_qonnx']:.4f}, "
          f"max |logit diff| {metrics['max_logit_difference']:g}, parameter bits "
          f"{metrics['parameter_bits']['total']:,}", flush=True)


# --------------------------------------------------------------------------------------------
# synth: python -m bnnhw.build designs/NAME --synth ecp5, one design after another


def _build(name, out, timeout_s, target_cycles=None):
    """Run the build in its own process group; ``(report or None, log lines, seconds, timed_out)``."""
    started = time.monotonic()
    command = [sys.executable, "-m", "bnnhw.build", str(DESIGNS_DIR / name), "--synth", "ecp5",
               "--out", str(out)]
    if target_cycles:
        command += ["--target-cycles", str(target_cycles)]
    lines = []
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, start_new_session=True) as process:
        timed_out = False
        deadline = started + timeout_s

        def reader():
            for line in process.stdout:
                lines.append(line.rstrip())
                print(f"  {name}: {line.rstrip()}", flush=True)

        import threading
        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        while process.poll() is None:
            if time.monotonic() > deadline:
                timed_out = True
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                break
            time.sleep(2)
        process.wait()
        thread.join(10)
    seconds = time.monotonic() - started
    report_path = Path(out) / "report.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() and not timed_out \
        else None
    return report, lines, seconds, timed_out


def _partial(work):
    """What a stopped build got: Yosys' cell counts (whole design, its wrapper included) and
    the device lines of each nextpnr log (``Total LUT4s``, ``does not fit``, Fmax)."""
    found = {}
    for path in sorted(Path(work).rglob("stat.json")):
        try:
            found["yosys_cells"] = json.loads(path.read_text())["design"]["num_cells_by_type"]
        except (OSError, json.JSONDecodeError, KeyError):
            continue
    for path in sorted(Path(work).rglob("nextpnr_*.log")):
        keep = [line.strip() for line in path.read_text(errors="replace").splitlines()
                if any(k in line for k in ("Total LUT4s", "Total DFFs", "DP16KD:",
                                           "MULT18X18D:", "Max frequency", "ERROR"))]
        found[path.name] = keep[-8:]
    return found


def _design_row(name, report, lines, seconds, timed_out, timeout_s, work, target_cycles=None):
    from bnnhw.design import Design
    from bnnhw.model.stats import operation_counts
    design = Design(DESIGNS_DIR / name, target_cycles=target_cycles)
    ops = operation_counts(design.model)
    ops_per_inference = ops["binary_ops"] + 2 * ops["int8_macs"]
    row = {"design": name, "topology": DESIGNS[name]["topology"],
           "input": "x".join(map(str, design.model.input_shape)),
           "cycles_per_inference": design.plan.cycles_per_inference,
           "binary_ops_per_inference": ops["binary_ops"], "int8_macs_per_inference":
           ops["int8_macs"], "ops_per_inference": ops_per_inference,
           "parameter_bits": None, "build_seconds": round(seconds, 1),
           "date": time.strftime("%Y-%m-%d")}
    from bnnhw.compiler.parameter_bits import parameter_bits
    row["parameter_bits"] = parameter_bits(design.compiled)["total"]
    if timed_out:
        row.update(status=f"stopped after {timeout_s / 60:g} min",
                   last_log_lines=lines[-6:], **_partial(work))
        return row
    if report is None:
        row.update(status="build failed", last_log_lines=lines[-6:])
        return row
    ecp5 = report["synthesis"]["targets"]["ecp5"]
    row.update(status="fits" if ecp5.get("fits") else "fits no ECP5 device",
               device=ecp5.get("device"), luts=ecp5.get("luts"), ffs=ecp5.get("ffs"),
               bram=ecp5.get("bram"), dsp=ecp5.get("dsp"), lutram=ecp5.get("lutram"),
               carry=ecp5.get("carry"), fmax_mhz=ecp5.get("fmax_mhz"),
               fmax_target_mhz=ecp5.get("fmax_target_mhz"),
               inferences_per_s=ecp5.get("inferences_per_s"),
               overflow=ecp5.get("overflow"), device_note=ecp5.get("device_note"),
               tool_runs=ecp5.get("runs"), synth_seconds=ecp5.get("seconds"))
    return _derived(row)


def _derived(row):
    """``lut4_total`` (LUT4 + 2 per CCU2C carry slice: every LUT4 of logic and arithmetic, as
    nextpnr counts them, LUTRAM excluded) and ``ops_per_s_per_lut4`` on it."""
    if row.get("luts") is not None:
        row["lut4_total"] = row["luts"] + 2 * (row.get("carry") or 0)
        if row.get("inferences_per_s"):
            row["ops_per_s_per_lut4"] = (row["ops_per_inference"] * row["inferences_per_s"]
                                         / row["lut4_total"])
    return row


def finn_rows():
    """FINN's published figures with ops per frame (MNIST / CIFAR-10 sizes)."""
    sfc = _dense_ops(DESIGNS["finn_sfc"]["layers_mnist"])
    rows = []
    for label, figures in FINN_PUBLISHED.items():
        ops = {"SFC": sfc, "LFC": _dense_ops(LFC_MNIST), "CNV": _cnv32_ops()}[figures["topology"]]
        row = dict(figures, name=label, ops_per_frame=ops)
        if "frames_per_s" in figures:
            row["ops_per_s_per_lut6"] = ops * figures["frames_per_s"] / figures["lut6"]
            row["cycles_per_frame"] = figures["clock_mhz"] * 1e6 / figures["frames_per_s"]
        rows.append(row)
    return rows


def run_synth(names, timeout_min, target_cycles=None):
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "finn_topologies.json"
    data = json.loads(path.read_text()) if path.is_file() else {"designs": {}}
    timeout_s = 60 * timeout_min
    with tempfile.TemporaryDirectory(prefix="finn_topologies.") as work:
        for name in names:
            out = Path(work) / name
            print(f"{name}: python -m bnnhw.build designs/{name} --synth ecp5", flush=True)
            report, lines, seconds, timed_out = _build(name, out, timeout_s, target_cycles)
            row = _design_row(name, report, lines, seconds, timed_out, timeout_s,
                              Path(work) / f".{name}.synth", target_cycles)
            key = name if target_cycles is None else f"{name} --target-cycles {target_cycles}"
            row["build"] = f"designs/{name}" + ("" if target_cycles is None
                                                else f" --target-cycles {target_cycles}")
            data["designs"][key] = row
            data["finn"] = finn_rows()
            path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
            (RESULTS / "finn_topologies.md").write_text(markdown(data))
            print(f"{name}: {row['status']} ({seconds:.0f} s)", flush=True)


def _fmt(value, spec=",", missing="–"):
    return missing if value is None else format(value, spec)


COLUMNS = ["build", "topology", "input", "parameter bits", "ops / inference", "device", "LUT4",
           "CCU2C", "LUT4 total", "FF", "BRAM (DP16KD)", "DSP", "Fmax MHz", "cycles / inference",
           "inferences/s", "ops/s per LUT4 total", "build s", "status"]


def _ordered(rows):
    """Rows in :data:`DESIGNS` order, each design's own folding first."""
    names = list(DESIGNS)
    return [rows[k] for k in sorted(rows, key=lambda k: (names.index(rows[k]["design"]), k))]


def _table_row(cells):
    return "| " + " | ".join(cells) + " |"


def markdown(data):
    lines = [
        "# FINN's reference topologies on ECP5 (bnnhw)", "",
        ("Generated by `python benchmarks/finn_topologies.py synth`: each design under "
        "`designs/` was exported from brevitas_examples.bnn_pynq (`FC` at TFC and SFC widths, "
        "`CNV`) as QONNX, imported by `python -m bnnhw.importers.qonnx` and built by "
        "`python -m bnnhw.build designs/NAME --synth ecp5` (Yosys `synth_ecp5`, nextpnr-ecp5 on "
        "the smallest of LFE5U-25F / 85F that fits; Fmax is nextpnr's after routing against a "
        "200 MHz constraint). Resources are the network's own (the synthesis wrapper excluded). "
        "Builds ran one after another on a shared 2-core machine; a build is stopped after the "
        "timeout and recorded as such."), "",
        "## bnnhw on ECP5", "",
        _table_row(COLUMNS), _table_row(["---"] * 3 + ["---:"] * 2 + ["---"]
                                        + ["---:"] * (len(COLUMNS) - 7) + ["---"])]
    for row in _ordered(data["designs"]):
        _derived(row)
        cells = row.get("yosys_cells")
        if row.get("luts") is None and cells:     # a stopped build: Yosys' counts, marked
            yosys = {"luts": cells.get("LUT4", 0), "carry": cells.get("CCU2C", 0),
                     "ffs": cells.get("TRELLIS_FF", 0), "bram": cells.get("DP16KD", 0),
                     "dsp": cells.get("MULT18X18D", 0)}
            yosys["lut4_total"] = yosys["luts"] + 2 * yosys["carry"]
            shown = {k: f"{v:,}\\*" for k, v in yosys.items()}
        else:
            shown = {k: _fmt(row.get(k)) for k in ("luts", "carry", "lut4_total", "ffs",
                                                   "bram", "dsp")}
        lines.append(_table_row([
            row["build"], row["topology"], row["input"], _fmt(row["parameter_bits"]),
            _fmt(row["ops_per_inference"]), row.get("device") or "–", shown["luts"],
            shown["carry"], shown["lut4_total"], shown["ffs"],
            shown["bram"], shown["dsp"], _fmt(row.get("fmax_mhz"), ".1f"),
            _fmt(row["cycles_per_inference"]), _fmt(row.get("inferences_per_s"), ",.0f"),
            _fmt(row.get("ops_per_s_per_lut4"), ".3g"), _fmt(row["build_seconds"], ".0f"),
            row["status"]]))
    lines += [
        "", ("Ops per inference: 2 per binary MAC (XNOR + popcount) plus 2 per 8-bit MAC of "
        "CNV's first conv (`bnnhw.model.stats.operation_counts`: `binary_ops + 2 * "
        "int8_macs`), the convention of FINN's ops/s figures. Inferences/s = Fmax / cycles per "
        "inference (the layers run as a pipeline; cycles per inference is the folding's "
        "initiation interval). LUT4 counts Yosys' LUT4 cells (bnnhw.synth's `luts`); CCU2C "
        "are carry slices of 2 LUT4 each; LUT4 total = LUT4 + 2 x CCU2C (LUTRAM excluded) is "
        "what the ops/s per LUT4 column divides by. \\* A stopped build: Yosys' cell counts "
        "(the synthesis wrapper included: a few dozen cells), nextpnr unfinished (below)."), "",
        "## FINN's published figures (the same topologies, other sizes and devices)", "",
        ("| FINN design | topology | device | dataset | ops / frame | LUT6 | clock MHz | frames/s "
        "| cycles / frame | ops/s per LUT6 | source |"),
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for row in data["finn"]:
        lines.append(
            f"| {row['name']} | {row['topology']} | {row['device']} | {row['dataset']} | "
            f"{_fmt(row['ops_per_frame'])} | {_fmt(row['lut6'])} | "
            f"{_fmt(row.get('clock_mhz'))} | {_fmt(row.get('frames_per_s'), ',.0f')} | "
            f"{_fmt(row.get('cycles_per_frame'), '.1f')} | "
            f"{_fmt(row.get('ops_per_s_per_lut6'), '.3g')} | {row['source']} |")
    lines += [
        "", "## What differs", "",
        ("- **Device**: FINN's figures are Xilinx Zynq-7000 (6-input LUTs, 36 Kb BRAM, 28 nm; "
        "SFC-max on a ZC706's XC7Z045, BNN-PYNQ's LFC and CNV on a Pynq-Z1's XC7Z020); bnnhw's "
        "are Lattice ECP5 (4-input LUTs, 18 Kb DP16KD, 40 nm). A LUT6 holds about two LUT4s' "
        "logic, so LUT counts (and ops/s per LUT) compare only within a factor of about 2."),
        ("- **Input size**: FINN's TFC / SFC / LFC read MNIST 28x28 (784 inputs), CNV CIFAR-10 "
        "32x32x3; bnnhw's finn_tfc / finn_sfc read the 8x8 digits (64 inputs), so their first "
        "layer is 12x smaller and ops per inference differ (both stated above). finn_cnv keeps "
        "only CNV's first conv block (8x8 is too small for the rest) and CNV's full "
        "classifier; finn_cnv32 is the whole CNV at 32x32x3 with random weights, the same ops "
        "per frame as FINN's CNV."),
        ("- **Folding**: FINN's SFC-max is fully parallel (about 16 cycles per frame); BNN-PYNQ's "
        "LFC and CNV are folded to fit the XC7Z020. bnnhw's designs are folded by "
        "`design.json` (`folding.target_cycles`: 4,096, CNV 32x32x3 32,768), stated per row as "
        "cycles per inference; `--target-cycles 64` rows are bnnhw's fastest folding of the 8x8 "
        "FC designs (the input enters one pixel per cycle: 64 cycles for 8x8; CNV's int8 first "
        "conv needs at least 324 cycles at 8x8 and 8,100 at 32x32)."),
        ("- **Weights**: FINN keeps weights in BRAM / LUTRAM next to each MVTU; bnnhw stores them "
        "in ROM images (BRAM or LUTs as Yosys maps them)."), ""]
    for row in _ordered(data["designs"]):
        if row["status"] != "fits":
            lines.append(f"- **{row['build']}**: {row['status']} (a `Max frequency` line "
                         "below is nextpnr's estimate after placement, before routing)"
                         + (f"; {row['device_note']}" if row.get("device_note") else "")
                         + (f"; last log: `{row['last_log_lines'][-1].strip()}`"
                            if row.get("last_log_lines") else ""))
            for log in sorted(k for k in row if k.startswith("nextpnr_")):
                lines.append(f"  - `{log}` when stopped: "
                             + "; ".join(" ".join(line.replace("Info:", "").split())
                                         for line in row[log]))
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("designs", "synth", "report"),
                        help="report: rewrite finn_topologies.md from the .json")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"of {', '.join(DESIGNS)}")
    parser.add_argument("--timeout", type=float, default=15.0,
                        help="minutes per design before the build is stopped (synth)")
    parser.add_argument("--target-cycles", type=int,
                        help="fold to this many cycles instead of the design's design.json "
                             "(synth; a separate row)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(DESIGNS))
    if unknown:
        parser.error(f"unknown design {unknown[0]!r} (of {', '.join(DESIGNS)})")
    names = args.names or list(DESIGNS)
    if args.command == "designs":
        for name in names:
            write_design(name)
    elif args.command == "report":
        path = RESULTS / "finn_topologies.json"
        data = json.loads(path.read_text())
        data["finn"] = finn_rows()
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        (RESULTS / "finn_topologies.md").write_text(markdown(data))
    else:
        run_synth(names, args.timeout, args.target_cycles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
