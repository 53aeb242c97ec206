"""The build's configuration: every command-line option, checked once, before any work.

:meth:`BuildConfig.make` takes ``run_build``'s keyword arguments (the flags of ``python -m
bnnhw.build``, ``docs/network.md``), checks each one and how they combine, reads an ``--inputs``
file, and checks that ``--out`` and the hidden work folders may be written
(:mod:`.outdir`). A bad option is a :class:`BuildError` naming the flag; nothing has run yet.

The design may be an ``.onnx`` file (docs/import.md, "Building an ONNX file"): it is imported
here (an import error is a ``BuildError``), and an ``--inputs`` file then holds the graph's own
float32 inputs, converted to the model's integer inputs here too.
"""

import importlib.util
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..compiler import WEIGHT_MODES
from ..design import find_design, read_config
from .outdir import OutError, check_out, check_work_dir
from ..errors import BnnhwError

__all__ = ["BuildError", "BuildConfig", "SYNTH_TARGETS", "REFERENCES", "is_onnx",
           "onnx_design_name"]

#: ``--synth`` targets, in the order the synthesis step may run them.
SYNTH_TARGETS = ("ice40", "ecp5", "cmos")
#: ``--reference`` executors (for a design given as an ``.onnx`` file).
REFERENCES = ("qonnx",)

#: Hidden work folders next to ``--out`` (``.<out name>.<key>``) and the flag that uses each.
_WORK_DIRS = {"sim": "--sim", "synth": "--synth", "board": "--board", "energy": "--energy"}


class BuildError(BnnhwError, RuntimeError):
    """A build that cannot go on; the message names the step (or the flag) and the cause."""


@dataclass(frozen=True)
class BuildConfig:
    """One build's options, checked (see :meth:`make`).

    ``design_dir`` the design folder; ``design_config`` its ``design.json``; ``out`` the output
    folder; ``target_cycles`` the folding target (``None``: the design's own); ``weights`` the
    weight mode (``None``: the design's own, else ``auto``); ``sim``,
    ``images``, ``trace`` the RTL simulation; ``synth`` the synthesis targets; ``energy`` the
    energy proxy's image count; ``board``, ``program``, ``fit`` the board build (``fit`` implies
    ``board == fit``); ``inputs`` the ``--inputs`` path and ``inputs_data`` what it holds
    (the model's integer inputs). A design given as an ``.onnx`` file: ``design_dir`` is that
    file, ``name`` the design's name, ``imported`` the imported model, ``graph_inputs`` the
    ``--inputs`` file's float32 values as the graph takes them, ``reference`` the
    ``--reference`` executor (``"qonnx"``) or ``None``.
    """

    design_dir: Path
    out: Path
    design_config: dict = field(default_factory=dict, compare=False)
    target_cycles: int | None = None
    weights: str | None = None
    sim: bool = False
    images: int | None = None
    trace: bool = False
    synth: tuple = ()
    energy: int | None = None
    board: str | None = None
    program: bool = False
    fit: str | None = None
    inputs: str | None = None
    inputs_data: object = field(default=None, compare=False, repr=False)
    name: str | None = None
    imported: object = field(default=None, compare=False, repr=False)
    graph_inputs: object = field(default=None, compare=False, repr=False)
    reference: str | None = None

    @property
    def onnx(self):
        """True when the design is an ``.onnx`` file (imported, docs/import.md)."""
        return self.imported is not None

    @classmethod
    def make(cls, design, *, out=None, target_cycles=None, sim=False, images=None, trace=False,
             synth=(), energy=None, board=None, program=False, fit=None, inputs=None,
             reference=None, weights=None):
        """Check every option of ``run_build`` and return the configuration.

        Raises :class:`BuildError` (or :class:`bnnhw.design.DesignError` for the design name),
        the message naming the flag, before anything is built or written.
        """
        from ..sim.inputs import MAX_INPUTS, InputsError, read_inputs_file
        onnx = is_onnx(design)
        design_dir = Path(design) if onnx else find_design(design)
        name = onnx_design_name(design_dir) if onnx else None
        default_out = Path("build") / (design_dir.stem if onnx else design_dir.name)
        out = Path(out) if out is not None else default_out
        if str(out) == "":
            raise BuildError("--out: expected a folder, got ''")
        if target_cycles is not None and target_cycles < 1:
            raise BuildError(f"--target-cycles: expected a positive number of cycles, got "
                             f"{target_cycles}")
        if weights is not None and weights not in WEIGHT_MODES:
            raise BuildError(f"--weights: expected one of {', '.join(WEIGHT_MODES)}, got "
                             f"{weights!r}")
        if trace and not sim:
            raise BuildError("--trace: needs --sim")
        if images is not None and not sim:
            raise BuildError("--images: needs --sim")
        if energy is not None and energy < 2:
            raise BuildError(f"--energy: expected at least 2 images (one warms up), got "
                             f"{energy}")
        if fit is not None:
            if board not in (None, fit):
                raise BuildError(f"--fit: {fit} differs from --board {board}")
            board = fit
        if program and not board:
            raise BuildError("--program: needs --board")
        if board is not None:
            from ..board.boards import BOARDS
            if board not in BOARDS:
                raise BuildError(f"--board: unknown board {board!r}; choose one of "
                                 f"{', '.join(sorted(BOARDS))}")
        unknown = [t for t in synth if t not in SYNTH_TARGETS]
        if unknown:
            raise BuildError(f"--synth: unknown target(s) {', '.join(unknown)}; choose from "
                             f"{', '.join(SYNTH_TARGETS)}")
        if images is not None and images < 1:
            raise BuildError(f"--images: expected at least 1 image, got {images}")
        if images is not None and images > MAX_INPUTS:
            raise BuildError(f"--images: expected at most {MAX_INPUTS} inputs per simulation, "
                             f"got {images}")
        if energy is not None and energy > MAX_INPUTS:
            raise BuildError(f"--energy: expected at most {MAX_INPUTS} inputs, got {energy}")
        if reference is not None:
            _check_reference(reference, onnx, inputs)
        inputs_data = None
        if inputs is not None:
            if not sim and energy is None and reference is None:
                raise BuildError("--inputs: needs --sim or --energy (or --reference)")
            try:
                inputs_data = read_inputs_file(inputs) if not onnx else None
            except InputsError as error:
                raise BuildError(str(error)) from None
        imported = graph_inputs = None
        if onnx:
            imported = _import(design_dir, name)
            if inputs is not None:
                graph_inputs, inputs_data = _graph_inputs(imported, inputs)
        if inputs is not None:
            count = len(inputs_data[0])
            for option, asked in (("--images", images), ("--energy", energy)):
                if asked is not None and asked > count:
                    raise BuildError(f"{option}: expected 1 .. {count} (the inputs in "
                                     f"{inputs}), got {asked}")
            if images is None and count > MAX_INPUTS:
                raise BuildError(f"--inputs: {inputs}: {count} inputs, at most {MAX_INPUTS} "
                                 "per simulation (--images N takes the first N)")
        config = cls(design_dir=design_dir, out=out, target_cycles=target_cycles,
                     weights=weights, sim=sim,
                     images=images, trace=trace, synth=tuple(synth), energy=energy,
                     board=board, program=program, fit=fit, inputs=inputs,
                     inputs_data=inputs_data, name=name, imported=imported,
                     graph_inputs=graph_inputs, reference=reference)
        config.check_folders(work_dirs=True)
        return replace(config, design_config={} if onnx else read_config(design_dir))

    def work_dir(self, key):
        """The hidden work folder of ``key`` (sim, synth, board, energy): ``.<out>.<key>``."""
        return self.out.parent / f".{self.out.name}.{key}"

    def _uses(self, key):
        return {"sim": self.sim, "synth": self.synth, "board": self.board,
                "energy": self.energy}[key]

    def check_folders(self, *, work_dirs=False):
        """``BuildError`` unless ``out`` (and, with ``work_dirs``, the work folders of the
        steps asked for) may be replaced (:func:`.outdir.check_out`)."""
        try:
            check_out(self.out, design_dir=self.design_dir,
                      protect=() if self.inputs is None else (self.inputs,))
            if work_dirs:
                for key, flag in _WORK_DIRS.items():
                    if self._uses(key):
                        check_work_dir(self.work_dir(key), flag)
        except OutError as error:
            raise BuildError(str(error)) from None


def is_onnx(design):
    """True when the build's DESIGN argument names an ``.onnx`` file (any letter case)."""
    return Path(str(design)).suffix.lower() == ".onnx"


def onnx_design_name(path):
    """The design name of an ``.onnx`` file: its stem as a Verilog identifier (every character
    other than a letter, a digit or ``_`` becomes ``_``; the top module is ``bnnhw_<name>``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", Path(path).stem) or "imported"


def _import(path, name):
    """The model imported from the ``.onnx`` file ``path`` (:func:`bnnhw.importers.qonnx.
    import_onnx`); a missing file or an import error is a :class:`BuildError`."""
    from ..importers.qonnx import import_onnx
    if path.is_dir():
        raise BuildError(f"design: {path} is a folder named like an ONNX file; name the "
                         ".onnx file or a design folder")
    if not path.is_file():
        raise BuildError(f"design: {path}: no such ONNX file")
    try:
        return import_onnx(path, name=name)
    except BnnhwError as error:
        message = str(error)
        if not message.startswith(str(path)):
            message = f"{path}: {message}"
        raise BuildError(f"import: {message}") from None


def _graph_inputs(model, inputs):
    """``(graph inputs, (model inputs, labels, info))`` of an ``--inputs`` file for an imported
    model: the file's float32 values, and the model's integer inputs converted from them
    (:func:`bnnhw.importers.qonnx.convert_inputs`) and checked against the model."""
    from ..importers.qonnx import convert_inputs
    from ..sim.inputs import InputsError, check_inputs, read_graph_inputs_file
    try:
        graph, labels, info = read_graph_inputs_file(inputs)
    except InputsError as error:
        raise BuildError(str(error)) from None
    try:
        converted = convert_inputs(model, graph)
    except BnnhwError as error:
        raise BuildError(f"--inputs: {inputs}: {error}") from None
    converted = converted.astype("int64")
    try:
        check_inputs(model, converted, labels, what=f"--inputs: {inputs}")
    except InputsError as error:     # the conversion always fits; labels may not
        raise BuildError(str(error)) from None
    return graph, (converted, labels, dict(info, converted=True))


def _check_reference(reference, onnx, inputs):
    """``--reference``: a known executor, an ``.onnx`` design, ``--inputs`` and the executor
    installed."""
    if reference not in REFERENCES:
        raise BuildError(f"--reference: unknown executor {reference!r}; choose "
                         f"{', '.join(REFERENCES)}")
    if not onnx:
        raise BuildError(f"--reference {reference}: needs a design given as an .onnx file "
                         "(the reference executes the ONNX graph); this design is a bnnhw "
                         "design folder")
    if inputs is None:
        raise BuildError(f"--reference {reference}: needs --inputs FILE (float32 NCHW, what "
                         "the ONNX graph takes)")
    if importlib.util.find_spec("qonnx") is None:
        raise BuildError(f"--reference {reference}: the qonnx package is not installed "
                         "(pip install qonnx, or bnnhw's test extra: pip install -e '.[test]')")
