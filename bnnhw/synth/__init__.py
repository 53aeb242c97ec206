"""Synthesis and timing of a design: Yosys and nextpnr runs and their parsed reports.

:func:`synthesize_verilog` runs Yosys (``synth_ice40``, ``synth_ecp5``, generic ``synth; abc -g
cmos2; stat -tech cmos``) and nextpnr (iCE40 UP5K then HX8K, ECP5 25k then 85k: the smallest
device that fits) on a Verilog text and its top module, and returns resources overall and per
block, the device, whether it fits, Fmax and the CMOS transistor estimate; the build's synthesis
step calls it. :func:`synthesize` does the same on a folder written by ``python -m
bnnhw.build``. :func:`report_markdown` renders that result as report.md sections. ``python -m
bnnhw.synth BUILD_DIR`` does both from the command line. ``docs/synth.md`` explains flags and
numbers.
"""

from .flow import DEVICES, FREQ_MHZ, TARGETS, Device, SynthError, synthesize, synthesize_verilog
from .report import report_markdown

__all__ = ["synthesize", "synthesize_verilog", "report_markdown", "SynthError", "TARGETS",
           "DEVICES", "FREQ_MHZ", "Device"]
