"""The micro-comparisons: small circuits synthesized with Yosys in the same run as the report.

Every circuit is an Amaranth component converted to Verilog and synthesized twice:

- **CMOS**: the flow of ``bnnhw.synth`` (``synth -flatten; dfflegalize -cell $_DFF_P_ 01;
  abc -g cmos2; opt_clean; stat -tech cmos``): NAND/NOR/NOT gates and plain flip-flops, priced
  by Yosys' transistor table (NOT 2, NAND/NOR 4, DFF 16);
- **iCE40**: ``synth_ice40`` and ``stat``: LUT4s, carry cells and flip-flops (no placement).

:func:`xnor_vs_and` (PA-Net's gate claim) and :func:`accumulator_bn` (the 8-bit data-flow paper)
return plain dicts with the counts and ratios; :func:`synthesize_component` is the shared step.
"""

import json
import shutil
import tempfile
import time
from pathlib import Path

from amaranth.back import verilog

from .. import toolchain
from ..hw import AndPopcount, XnorPopcount
from ..synth import parse
from .circuits import AccumulatorBN, ProductGates
from ..errors import BnnhwError

__all__ = ["MicroError", "synthesize_component", "xnor_vs_and", "accumulator_bn",
           "YOSYS_TIMEOUT", "TARGETS"]

#: Seconds before a micro-comparison's Yosys run is abandoned.
YOSYS_TIMEOUT = 900
TARGETS = ("cmos", "ice40")


class MicroError(BnnhwError, RuntimeError):
    """A micro-comparison's synthesis failed; the message names the circuit and the log."""


def _cmos_script(top):
    return "\n".join([
        f"read_verilog -defer {top}.v",
        f"hierarchy -top {top}",
        f"synth -top {top} -flatten",
        "dfflegalize -cell $_DFF_P_ 01",
        "abc -g cmos2",
        "opt_clean",
        "delete t:$scopeinfo",
        f"tee -q -o stat_cmos.json stat -json -tech cmos -top {top}",
        "",
    ])


def _ice40_script(top):
    return "\n".join([
        f"read_verilog -defer {top}.v",
        f"hierarchy -top {top}",
        f"synth_ice40 -top {top}",
        "delete t:$scopeinfo",
        f"tee -q -o stat_ice40.json stat -json -top {top}",
        "",
    ])


def synthesize_component(component, name, work_dir, *, targets=TARGETS, log=None):
    """Synthesize ``component`` as module ``name`` in ``work_dir/name``.

    Returns ``{target: {...}}``: ``cmos`` has ``transistors``, ``transistors_exact``, ``gates``,
    ``ffs`` and ``cells`` (type -> count); ``ice40`` has ``luts``, ``ffs``, ``carry`` and
    ``cells``; each has ``seconds``.
    """
    cwd = Path(work_dir) / name
    cwd.mkdir(parents=True, exist_ok=True)
    (cwd / f"{name}.v").write_text(verilog.convert(component, name=name, emit_src=False))
    result = {}
    for target in targets:
        script = {"cmos": _cmos_script, "ice40": _ice40_script}[target](name)
        started = time.monotonic()
        try:
            toolchain.run_yosys(script, cwd=cwd, name=f"yosys_{target}", timeout=YOSYS_TIMEOUT)
        except toolchain.YosysError as error:
            raise MicroError(f"{name} ({target}): {error}") from None
        seconds = time.monotonic() - started
        text = (cwd / f"stat_{target}.json").read_text()
        modules = parse.parse_stat_json(text)
        cells = parse.hierarchy_counts(modules, name)
        counts = parse.resources(target, cells)
        if target == "cmos":
            estimate = parse.parse_stat_transistors(text).get(name)
            if estimate is not None:
                counts["transistors"], counts["transistors_exact"] = estimate
        else:
            counts = {k: counts[k] for k in ("luts", "ffs", "carry")}
        result[target] = {**counts, "cells": cells, "seconds": round(seconds, 1)}
        if log:
            main = (f"{counts['transistors']:,} transistors" if target == "cmos" else
                    f"{counts['luts']} LUT4, {counts['carry']} carry, {counts['ffs']} FF")
            log(f"{name} {target}: {main} ({seconds:.1f} s)")
    return result


def _ratio(a, b):
    return None if not b or a is None else a / b


def _work(work_dir):
    if work_dir is not None:
        return Path(work_dir), None
    temp = tempfile.mkdtemp(prefix="bnnhw-compare-")
    return Path(temp), temp


def xnor_vs_and(width=256, *, work_dir=None, targets=TARGETS, log=None):
    """PA-Net Table 2's claim at ``width`` products: gates alone, and the whole streamed PE.

    Returns ``{"width", "gates": {"xnor": synth, "and": synth}, "pe": {...}, "ratios":
    {"gates_cmos", "pe_cmos", "gates_ice40", "pe_ice40", "popcount_share_cmos"},
    "per_gate_transistors": {"xnor", "and"}, "yosys_cost_table": {...}, "seconds"}``.
    Ratios are XNOR / AND; ``popcount_share_cmos`` is the part of the XNOR PE's transistors that
    is not its product gates.
    """
    root, temp = _work(work_dir)
    started = time.monotonic()
    try:
        out = {"width": width, "gates": {}, "pe": {}}
        for op in ("xnor", "and"):
            out["gates"][op] = synthesize_component(
                ProductGates(width, op=op), f"gates_{op}{width}", root, targets=targets, log=log)
            cls = XnorPopcount if op == "xnor" else AndPopcount
            out["pe"][op] = synthesize_component(
                cls(width), f"pe_{op}{width}", root, targets=targets, log=log)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    ratios = {}
    for part in ("gates", "pe"):
        for target in targets:
            key = "transistors" if target == "cmos" else "luts"
            ratios[f"{part}_{target}"] = _ratio(out[part]["xnor"][target][key],
                                                out[part]["and"][target][key])
    if "cmos" in targets:
        gates = {op: out["gates"][op]["cmos"]["transistors"] for op in ("xnor", "and")}
        out["per_gate_transistors"] = {op: n / width for op, n in gates.items()}
        pe = out["pe"]["xnor"]["cmos"]["transistors"]
        ratios["popcount_share_cmos"] = (pe - gates["xnor"]) / pe if pe else None
        out["per_gate_cells"] = {op: {t: n / width for t, n in out["gates"][op]["cmos"]
                                      ["cells"].items()} for op in ("xnor", "and")}
    out["ratios"] = ratios
    out["yosys_cost_table"] = {"xnor": parse.CMOS_TRANSISTORS["$_XNOR_"],
                               "and": parse.CMOS_TRANSISTORS["$_AND_"]}
    out["seconds"] = round(time.monotonic() - started, 1)
    return out


def accumulator_bn(fan_in=256, simd=32, *, work_dir=None, targets=TARGETS, log=None):
    """32-bit accumulator + 32-bit BN against the 8-bit flow, for both batch-norm kinds.

    Returns ``{"fan_in", "simd", "units": {bn: {flow: synth + {"param_bits"}}}, "ratios":
    {bn: {target: int32 / int8}}, "seconds"}``.
    """
    root, temp = _work(work_dir)
    started = time.monotonic()
    units = {}
    try:
        for bn in ("threshold", "affine"):
            units[bn] = {}
            for flow in ("int32", "int8"):
                unit = AccumulatorBN(flow=flow, bn=bn, fan_in=fan_in, simd=simd)
                result = synthesize_component(unit, f"acc_{bn}_{flow}", root, targets=targets,
                                              log=log)
                result["param_bits"] = unit.param_bits
                result["acc_width"] = unit.acc_width
                units[bn][flow] = result
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    ratios = {}
    for bn, flows in units.items():
        ratios[bn] = {}
        for target in targets:
            key = "transistors" if target == "cmos" else "luts"
            ratios[bn][target] = _ratio(flows["int32"][target][key], flows["int8"][target][key])
        ratios[bn]["param_bits"] = _ratio(flows["int32"]["param_bits"],
                                          flows["int8"]["param_bits"])
    return {"fan_in": fan_in, "simd": simd, "units": units, "ratios": ratios,
            "seconds": round(time.monotonic() - started, 1)}


def to_json(data):
    """``data`` as indented JSON text (for the compare.json file)."""
    return json.dumps(data, indent=1, sort_keys=True, default=str) + "\n"
