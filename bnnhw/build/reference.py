"""``--reference qonnx``: the ONNX graph under qonnx's own executor, against golden and the RTL.

For a design given as an ``.onnx`` file, :func:`compare_with_reference` runs
``qonnx.core.onnx_exec.execute_onnx`` on the cleaned-up graph
(``qonnx.util.cleanup.cleanup_model(ModelWrapper(path))``), one input ``(1, C, H, W)`` at a
time, on the ``--inputs`` file's float32 values, and compares its output with the imported
model's: the argmax (the graph's TopK / ArgMax index, or the first maximal logit) exactly, and
the logits after the recorded tail (:func:`bnnhw.importers.qonnx.graph_logits`), as the largest
absolute difference. qonnx is an optional dependency (bnnhw's test extra), imported only here;
about 25 ms per input.
"""

import numpy as np

from ..errors import BnnhwError

__all__ = ["ReferenceError", "compare_with_reference", "qonnx_outputs"]


class ReferenceError(BnnhwError, RuntimeError):
    """The reference executor cannot run (not installed, or it rejects the graph)."""


def _qonnx_version():
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("qonnx")
    except PackageNotFoundError:   # pragma: no cover - importable but not installed as a dist
        return "unknown"


def qonnx_outputs(path, graph_inputs):
    """qonnx's output for each input of ``graph_inputs`` (float32 ``(N, C, H, W)``), stacked on
    axis 0 (``(N, classes)`` float32 logits, or ``(N, 1)`` int64 TopK indices)."""
    try:
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.core.onnx_exec import execute_onnx
        from qonnx.util.cleanup import cleanup_model
    except ImportError as error:
        raise ReferenceError(f"cannot import qonnx ({error}); pip install qonnx") from None
    try:
        graph = cleanup_model(ModelWrapper(str(path)))
        name_in, name_out = graph.graph.input[0].name, graph.graph.output[0].name
        return np.concatenate([np.asarray(execute_onnx(graph, {name_in: x[None]})[name_out])
                               for x in np.asarray(graph_inputs, np.float32)])
    except Exception as error:      # noqa: BLE001 - onnxruntime and qonnx raise many kinds
        raise ReferenceError(f"qonnx's executor failed on {path}: "
                             f"{type(error).__name__}: {error}") from None


def _argmax(outputs, graph_output):
    """The class of each row of a graph output: the TopK / ArgMax index, or the first maximal
    logit (what ``numpy.argmax`` and ONNX TopK return on ties)."""
    if graph_output == "argmax":
        return outputs.reshape(len(outputs), -1)[:, 0].astype(np.int64)
    return np.argmax(outputs.reshape(len(outputs), -1), axis=1)


def _agreement(labels, logits, reference, reference_labels, graph_output):
    """``argmax_equal`` (count), ``first_difference`` (input index or None) and
    ``max_abs_logit_difference`` (None for an index output) of one side against qonnx."""
    count = len(labels)
    equal = labels == reference_labels[:count]
    worst = None
    if graph_output == "logits":
        diff = np.abs(logits.astype(np.float64) - reference[:count].astype(np.float64))
        worst = float(diff.max()) if diff.size else 0.0
    return {"outputs": int(count), "argmax_equal": int(equal.sum()),
            "first_difference": None if equal.all() else int(np.argmin(equal)),
            "max_abs_logit_difference": worst}


def compare_with_reference(path, model, graph_inputs, golden_labels, golden_logits, *,
                           rtl_labels=None, rtl_logits=None, log=print):
    """``(report, reference outputs)``: qonnx on ``graph_inputs`` against the imported
    ``model``'s golden labels and integer logits (and the RTL's, when
    simulated; a timed-out run's fewer outputs are compared as far as they go).

    ``report``: ``executor`` ("qonnx <version>"), ``graph_output`` (``logits`` / ``argmax``),
    ``golden`` and ``rtl`` (``None`` without a simulation), each ``{"outputs",
    "argmax_equal", "first_difference", "max_abs_logit_difference"}`` (logits in the graph's
    units; ``None`` for an index output), and ``agree``: every argmax equal and every logit
    difference 0 on every compared output.
    """
    import time

    from ..importers.qonnx import graph_logits
    graph_output = model.meta["qonnx"]["output"]["graph_output"]
    started = time.monotonic()
    reference = qonnx_outputs(path, graph_inputs)
    log(f"{len(reference)} inputs in {time.monotonic() - started:.1f} s")
    reference_labels = _argmax(reference, graph_output)
    golden_logits = np.asarray(golden_logits).reshape(len(golden_logits), -1)
    golden = _agreement(np.asarray(golden_labels, np.int64).reshape(len(golden_logits)),
                        graph_logits(model, golden_logits), reference, reference_labels,
                        graph_output)
    rtl = None
    if rtl_logits is not None:
        rtl_logits = np.asarray(rtl_logits).reshape(len(rtl_logits), -1)
        rtl = _agreement(np.asarray(rtl_labels, np.int64), graph_logits(model, rtl_logits),
                         reference, reference_labels, graph_output)
    sides = [golden] + ([rtl] if rtl else [])
    agree = all(s["argmax_equal"] == len(reference) and s["outputs"] == len(reference)
                and not s["max_abs_logit_difference"] for s in sides)
    report = {"executor": f"qonnx {_qonnx_version()}", "graph_output": graph_output,
              "golden": golden, "rtl": rtl, "agree": agree}
    return report, reference
