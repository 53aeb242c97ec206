"""``python -m bnnhw.build DESIGN``: turn a design into Verilog, memory images and a report.

A build is an ordered list of named steps (see :data:`STEPS`); each step reads the previous steps'
results and stages its artefacts; the output folder is replaced in one rename at the end, so a
failed build writes nothing. Only a folder a build made (marked ``.bnnhw-build``,
:mod:`.outdir`) or an empty one is ever replaced; every option is checked before the first
step. Steps whose subsystem does not exist yet are reported as missing.
"""

from .design import DesignError, find_design, known_designs
from .steps import STEPS, BuildError, BuildResult, Step, run_build

__all__ = ["DesignError", "find_design", "known_designs", "STEPS", "BuildError", "BuildResult",
           "Step", "run_build"]
