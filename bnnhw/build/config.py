"""The build's configuration: every command-line option, checked once, before any work.

:meth:`BuildConfig.make` takes ``run_build``'s keyword arguments (the flags of ``python -m
bnnhw.build``, ``docs/network.md``), checks each one and how they combine, reads an ``--inputs``
file, and checks that ``--out`` and the hidden work folders may be written
(:mod:`.outdir`). A bad option is a :class:`BuildError` naming the flag; nothing has run yet.
"""

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..design import find_design, read_config
from .outdir import OutError, check_out, check_work_dir
from ..errors import BnnhwError

__all__ = ["BuildError", "BuildConfig", "SYNTH_TARGETS"]

#: ``--synth`` targets, in the order the synthesis step may run them.
SYNTH_TARGETS = ("ice40", "ecp5", "cmos")

#: Hidden work folders next to ``--out`` (``.<out name>.<key>``) and the flag that uses each.
_WORK_DIRS = {"sim": "--sim", "synth": "--synth", "board": "--board", "energy": "--energy"}


class BuildError(BnnhwError, RuntimeError):
    """A build that cannot go on; the message names the step (or the flag) and the cause."""


@dataclass(frozen=True)
class BuildConfig:
    """One build's options, checked (see :meth:`make`).

    ``design_dir`` the design folder; ``design_config`` its ``design.json``; ``out`` the output
    folder; ``target_cycles`` the folding target (``None``: the design's own); ``sim``,
    ``images``, ``trace`` the RTL simulation; ``synth`` the synthesis targets; ``energy`` the
    energy proxy's image count; ``board``, ``program``, ``fit`` the board build (``fit`` implies
    ``board == fit``); ``inputs`` the ``--inputs`` path and ``inputs_data`` what it holds.
    """

    design_dir: Path
    out: Path
    design_config: dict = field(default_factory=dict, compare=False)
    target_cycles: int | None = None
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

    @classmethod
    def make(cls, design, *, out=None, target_cycles=None, sim=False, images=None, trace=False,
             synth=(), energy=None, board=None, program=False, fit=None, inputs=None):
        """Check every option of ``run_build`` and return the configuration.

        Raises :class:`BuildError` (or :class:`bnnhw.design.DesignError` for the design name),
        the message naming the flag, before anything is built or written.
        """
        from ..sim.inputs import MAX_INPUTS, InputsError, read_inputs_file
        design_dir = find_design(design)
        out = Path(out) if out is not None else Path("build") / design_dir.name
        if str(out) == "":
            raise BuildError("--out: expected a folder, got ''")
        if target_cycles is not None and target_cycles < 1:
            raise BuildError(f"--target-cycles: expected a positive number of cycles, got "
                             f"{target_cycles}")
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
        inputs_data = None
        if inputs is not None:
            if not sim and energy is None:
                raise BuildError("--inputs: needs --sim or --energy")
            try:
                inputs_data = read_inputs_file(inputs)
            except InputsError as error:
                raise BuildError(str(error)) from None
            count = len(inputs_data[0])
            for option, asked in (("--images", images), ("--energy", energy)):
                if asked is not None and asked > count:
                    raise BuildError(f"{option}: expected 1 .. {count} (the inputs in "
                                     f"{inputs}), got {asked}")
            if images is None and count > MAX_INPUTS:
                raise BuildError(f"--inputs: {inputs}: {count} inputs, at most {MAX_INPUTS} "
                                 "per simulation (--images N takes the first N)")
        config = cls(design_dir=design_dir, out=out, target_cycles=target_cycles, sim=sim,
                     images=images, trace=trace, synth=tuple(synth), energy=energy,
                     board=board, program=program, fit=fit, inputs=inputs,
                     inputs_data=inputs_data)
        config.check_folders(work_dirs=True)
        return replace(config, design_config=read_config(design_dir))

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
