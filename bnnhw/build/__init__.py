"""``python -m bnnhw.build DESIGN``: turn a design into Verilog, memory images and a report.

A build is an ordered list of named steps (see :data:`STEPS`); each step reads the previous steps'
results and stages its artefacts; the output folder is replaced in one rename at the end, so a
failed build writes nothing. Only a folder a build made (marked ``.bnnhw-build``,
:mod:`.outdir`) or an empty one is ever replaced; every option is checked before the first
step (:class:`BuildConfig`). Steps whose subsystem does not exist yet are reported as missing.
The pipeline itself (model, compiled network, folding, images, network) is
:class:`bnnhw.design.Design`.
"""

from ..design import Design, DesignError, find_design, known_designs
from .config import BuildConfig
from .steps import STEPS, Build, BuildError, BuildResult, BuildResults, Step, run_build

__all__ = ["Design", "DesignError", "find_design", "known_designs", "STEPS", "BuildConfig",
           "Build", "BuildResults", "BuildError", "BuildResult", "Step", "run_build"]
