"""The fuzzer's checks: float reference == compiled golden == RTL, and mutations end cleanly.

- :func:`test_inputs`: random images from the model's declared input type and range, plus the
  all-minimum and all-maximum images.
- :func:`check_golden`: ``bnnhw.model.reference.run_float`` (float64, the docs' math) against
  ``lower(model).run`` (golden), logits in the model's units; then the build pipeline of
  ``bnnhw/build/steps.py`` (plan, memory images, :class:`StreamingNetwork`, elaboration) so a
  valid model either yields a network ready to simulate or one *named* error.
- :func:`check_rtl`: the RTL results of :func:`tests.fuzz.rtl.simulate_batch` against golden.
- :func:`pipeline`: a (possibly invalid) model file through load -> lower -> plan -> images ->
  generate, classified as ``ok``, ``named:<Error>`` (one of :data:`NAMED`) or
  ``traceback:<Exception>``.

Outcomes are plain dicts so the campaign can count and print them.
"""

import re
import signal
import traceback
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from bnnhw.build.steps import BuildError
from bnnhw.compiler import ConversionError, FoldingError, lower
from bnnhw.design import DesignError
from bnnhw.hw.network import NetworkError
from bnnhw.model import Model, ModelError, load
from bnnhw.model.reference import run_float

__all__ = ["NAMED", "Hang", "time_limit", "test_inputs", "check_golden", "check_rtl",
           "pipeline", "classify_error"]

#: The named errors a bad model may end in (each names the layer and field, or the step).
NAMED = (ModelError, ConversionError, FoldingError, NetworkError, BuildError, DesignError)


try:
    from bnnhw.errors import BnnhwError as _BASE
except ImportError:                 # a checkout before the common error base
    _BASE = None


class Hang(Exception):
    """A step ran longer than its time limit."""


@contextmanager
def time_limit(seconds):
    """Raise :class:`Hang` in the block after ``seconds`` (SIGALRM; main thread only)."""
    def fire(signum, frame):
        raise Hang(f"no result within {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def classify_error(error):
    """``named:<Class>`` for the named errors (:data:`NAMED`, or any ``bnnhw.errors.BnnhwError``,
    the one base of bnnhw's errors that name a layer and field), ``hang`` or
    ``traceback:<Class>`` otherwise (a bare ValueError, KeyError, .. is a traceback)."""
    if isinstance(error, Hang):
        return "hang"
    if type(error) in NAMED or (_BASE is not None and isinstance(error, _BASE)):
        return f"named:{type(error).__name__}"
    return f"traceback:{type(error).__name__}"


def test_inputs(model, count, seed):
    """``(count + 2, C, H, W)`` int64 images: random within the declared range, then all-min and
    all-max."""
    lo, hi = model.input_range
    shape = tuple(model.input_shape)
    rng = np.random.default_rng(seed)
    images = rng.integers(lo, hi + 1, (count, *shape))
    return np.concatenate([images, np.full((1, *shape), lo), np.full((1, *shape), hi)]).astype(
        np.int64)


def _logits_in_model_units(compiled, x):
    out = np.asarray(compiled.run(x))
    scale = getattr(compiled, "output_scale", 2.0 ** -compiled.values[compiled.output].frac_bits)
    return out.reshape(len(x), -1), out.reshape(len(x), -1).astype(np.float64) * scale


def _approximate(compiled):
    """The compiler's notes that state a non-zero conversion error (inexact real scales)."""
    found = []
    for layer, notes in compiled.notes.items():
        for note in notes:
            for number in re.findall(r"error <= ([0-9.eE+-]+)", note):
                if float(number) > 0:
                    found.append(f"{layer}: {note}")
    return found


def build_network(model, target_cycles):
    """``(compiled, plan, network)`` as a build makes them (``bnnhw.design.Design``: lower,
    plan, memory images, ``StreamingNetwork``), the network elaborated (no Verilog text). An
    unreachable ``target_cycles`` falls back to the fully folded plan."""
    from amaranth.hdl import Fragment

    from bnnhw.design import Design
    config = {} if target_cycles is None else {"folding": {"target_cycles": target_cycles}}
    design = Design(Path("fuzz"), config=config, model=model)
    try:
        design.plan
    except FoldingError:
        if target_cycles is None:
            raise
        design = Design(Path("fuzz"), config={}, model=model)
    network = design.network
    Fragment.get(network, None)                 # elaborate every engine (no Verilog text)
    return design.compiled, design.plan, network


def check_golden(graph, arrays, *, images=6, seed=0, target_cycles=None, build=True):
    """Reference vs golden on random and edge inputs; then build the network (if ``build``).

    Returns ``{"outcome": "ok" | "disagree" | "named:.." | "traceback:..", ...}`` with
    ``model``, ``compiled``, ``network``, ``images`` and ``golden`` (integer logits) on success;
    ``"ok-approximate"`` when the compiler's notes state a non-zero conversion error (real
    scales it cannot represent exactly): the float model is then not expected to agree.
    """
    result = {"outcome": "ok"}
    stage = "load"
    try:
        model = Model.from_dict(graph, arrays)
        result["model"] = model
        stage = "compile"
        compiled = lower(model)
        x = test_inputs(model, images, seed)
        stage = "reference"
        reference = np.asarray(run_float(model, x)[model.output], np.float64).reshape(len(x), -1)
        stage = "golden"
        raw, scaled = _logits_in_model_units(compiled, x)
        result.update(compiled=compiled, images=x, golden=raw)
        approximate = _approximate(compiled)
        if approximate and reference.shape == scaled.shape:
            # real scales the compiler could only approximate (its notes state the error):
            # the float model is not the contract there, golden is (docs/numerics.md)
            result.update(outcome="ok-approximate", approximate=approximate)
        elif reference.shape != scaled.shape or not np.array_equal(reference, scaled):
            bad = np.argwhere(reference != scaled) if reference.shape == scaled.shape else None
            where = None if bad is None or not len(bad) else tuple(int(i) for i in bad[0])
            result.update(outcome="disagree", stage="reference vs golden", where=where,
                          reference=None if where is None else float(reference[where]),
                          got=None if where is None else float(scaled[where]))
            return result
        if build:
            stage = "generate"
            compiled, plan, network = build_network(model, target_cycles)
            result.update(plan=plan, network=network)
    except Exception as error:              # noqa: BLE001 - classified, never hidden
        result.update(outcome=classify_error(error), stage=stage,
                      error=f"{type(error).__name__}: {error}",
                      trace=traceback.format_exc(limit=-6))
    return result


def check_rtl(network, compiled, images, runs):
    """Compare one network's :class:`~tests.fuzz.rtl.BatchResult` s with golden; returns a list
    of problems (empty: RTL == golden on every image of every run)."""
    logits = np.asarray(compiled.run(images)).reshape(len(images), -1)
    labels = compiled.classify(images)
    problems = []
    for number, run in enumerate(runs):
        name = "full rate" if number == 0 else "random stalls"
        if run.hung:
            problems.append(f"{name}: hang after {len(run.labels)} of {len(images)} outputs")
        if run.extra:
            problems.append(f"{name}: {run.extra} extra outputs")
        for index in range(min(len(run.labels), len(images))):
            if not np.array_equal(run.logits[index], logits[index]):
                problems.append(f"{name}: image {index}: logits {run.logits[index].tolist()} "
                                f"!= golden {logits[index].tolist()}")
                break
            if int(run.labels[index]) != int(labels[index]):
                problems.append(f"{name}: image {index}: label {int(run.labels[index])} != "
                                f"golden {int(labels[index])}")
                break
    return problems


def pipeline(path=None, graph=None, arrays=None, *, target_cycles=None, compare=True):
    """A model file (``path``) or an in-memory ``(graph, arrays)`` through load -> lower ->
    plan -> images -> generate (elaborated), and, if it is accepted and ``compare``, reference
    vs golden. Returns ``{"outcome": ..., "stage": ..., "error": ...}``."""
    stage = "load"
    try:
        model = load(path) if path is not None else Model.from_dict(graph, arrays)
        stage = "generate"
        compiled, plan, network = build_network(model, target_cycles)
    except Exception as error:              # noqa: BLE001 - classified, never hidden
        return {"outcome": classify_error(error), "stage": stage,
                "error": f"{type(error).__name__}: {str(error)[:300]}",
                "trace": traceback.format_exc(limit=-6)}
    if not compare:
        return {"outcome": "ok", "stage": "generate"}
    checked = check_golden(model.to_dict(), model.arrays(), images=4, build=False)
    checked.pop("model", None), checked.pop("compiled", None)
    checked.pop("images", None), checked.pop("golden", None)
    if checked["outcome"] in ("ok", "ok-approximate"):
        checked["stage"] = "compared"
    return checked
