"""``python -m bnnhw.build DESIGN``: turn a design into Verilog, memory images and a report.

A build is an ordered list of named steps (see :data:`STEPS`); each step reads the previous steps'
results and leaves an artefact in the build directory. Steps whose subsystem does not exist yet
say so instead of pretending: the build then stops with a list of what is missing and writes
nothing.
"""

from .design import DesignError, find_design, known_designs
from .steps import STEPS, BuildError, Step, run_build

__all__ = ["DesignError", "find_design", "known_designs", "STEPS", "BuildError", "Step",
           "run_build"]
