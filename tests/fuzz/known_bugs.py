"""Minimal reproductions of the bugs the fuzzer found outside ``bnnhw/hw`` (issue 14).

Each entry of :data:`KNOWN_BUGS` gives where the bug was, what happened, and a ``repro()`` with
the smallest model (or model file bytes) that showed it. :func:`probe` runs a repro through the
fuzzer's pipeline and says whether it still fails. A key that is also in ``strategies.EXCLUDE`` or
``mutations.EXCLUDE`` is a bug still open, whose pattern the campaign leaves out;
every other entry is fixed, and ``tests/fuzz/test_fuzz.py`` keeps it fixed.
(The ``bnnhw/hw`` findings have their own regression tests in ``tests/hw``.)
"""

import io
import json
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from bnnhw.model.container import write_container

from .check import check_golden, pipeline

__all__ = ["KNOWN_BUGS", "open_bugs", "probe", "repro_json"]


def _graph(input_spec, layers, output):
    return {"format": "bnnhw-model", "version": 1, "name": "repro", "input": input_spec,
            "layers": layers, "output": output}


def _sign_on_constant():
    return _graph({"shape": [1, 1, 1], "type": "int8", "range": [5, 5]},
                  [{"name": "s", "op": "sign", "inputs": ["input"]},
                   {"name": "fc", "op": "dense", "inputs": ["s"], "precision": "binary",
                    "out_features": 2}], "fc"), {"fc.weight": np.array([[1], [-1]], np.int8)}


def _panet_into_int8():
    return _graph({"shape": [1, 1, 1], "type": "bits"},
                  [{"name": "p", "op": "panet_conv2d", "inputs": ["input"], "out_channels": 1,
                    "kernel": 1},
                   {"name": "fc", "op": "dense", "inputs": ["p"], "precision": "int8",
                    "out_features": 2}], "fc"), {
        "p.weight_bases": np.ones((1, 1, 1, 1, 1), np.uint8), "p.phi": np.array([[0.5]]),
        "fc.weight": np.array([[1], [2]], np.int8)}


def _xnor_qbn(extra=None):
    graph = _graph({"shape": [4, 1, 1], "type": "bits"},
                   [{"name": "fc", "op": "dense", "inputs": ["input"], "precision": "binary",
                     "out_features": 1, "clip": 127},
                    {"name": "q", "op": "quantized_bn", "inputs": ["fc"], "frac_bits": 0}], "q")
    arrays = {"fc.weight": np.ones((1, 4), np.int8), "q.scale": np.ones(1, np.int16),
              "q.bias": np.zeros(1, np.int16)}
    arrays.update(extra or {})
    return graph, arrays


def _uint64_weight():
    graph = _graph({"shape": [1, 1, 1], "type": "int8", "range": [0, 1]},
                   [{"name": "fc", "op": "dense", "inputs": ["input"], "precision": "int8",
                     "out_features": 1}], "fc")
    return graph, {"fc.weight": np.array([[2 ** 64 - 1]], np.uint64)}     # "-1" wrapped


def _file_bytes(kind):
    graph, arrays = _xnor_qbn()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.npz"
        write_container(path, graph, arrays)
        data = path.read_bytes()
    if kind == "empty":
        return b""
    if kind == "bad_compression":
        return unsupported_compression(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries["graph.json.npy"] = b"not an npy file"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, blob in entries.items():
            archive.writestr(name, blob)
    return out.getvalue()


def unsupported_compression(data):
    """A zip whose entries claim compression method 99 (zipfile: NotImplementedError)."""
    data = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            data[start + offset:start + offset + 2] = (99).to_bytes(2, "little")
            start += 4
    return bytes(data)


#: key -> (where the bug is, what happens, repro kind, repro function)
KNOWN_BUGS = {
    "sign_on_constant": (
        "bnnhw/compiler/lower.py _fold -> bnnhw/golden/threshold.py fold_sign_range",
        "sign (or pa_bases) on integers whose range is one value, e.g. input range [5, 5]: "
        "lower() raises ValueError 'hi: expected hi > lo, got [5, 5]' (a traceback, not a "
        "named error; the fold should give a constant channel)",
        "model", _sign_on_constant),
    "panet_into_int8": (
        "bnnhw/model/ops.py (infer_panet_conv2d's output type; infer_dense/conv2d/add/dprelu)",
        "PA-Net sums are reals in the model (phi = 0.5 gives 0.5) but typed as ints in "
        "[-1, 1]; an int8 dense accepts them, the float reference computes with 0.5, the "
        "compiled network with 2^15 * 0.5 and golden raises 'x: value 16384 .. is outside "
        "[-128, 127]'. Reject PA-Net sums as int8 operands (or define their integer units)",
        "model", _panet_into_int8),
    "file:empty": (
        "bnnhw/model/container.py read_container",
        "a 0-byte model file: numpy's EOFError 'No data left in file' escapes load()",
        "file", lambda: _file_bytes("empty")),
    "file:not_npy": (
        "bnnhw/model/container.py read_container",
        "a zip whose graph.json.npy entry is not .npy data: np.load returns bytes and load() "
        "fails with AttributeError \"'bytes' object has no attribute 'astype'\"",
        "file", lambda: _file_bytes("not_npy")),
    "file:bad_compression": (
        "bnnhw/model/container.py read_container",
        "a model file whose zip entries name an unsupported compression method (one flipped "
        "byte in a header): zipfile raises NotImplementedError 'That compression method is not "
        "supported', which escapes load()",
        "file", lambda: _file_bytes("bad_compression")),
    "output:unhashable": (
        "bnnhw/model/graph.py Model.from_dict",
        "\"output\": [\"q\"] (or an object): `output not in types` raises TypeError: "
        "unhashable type: 'list'",
        "model", lambda: ({**_xnor_qbn()[0], "output": ["q"]}, _xnor_qbn()[1])),
    "dtype:uint64": (
        "bnnhw/model/checks.py LayerCheck.int_array",
        "uint64 weights >= 2**63 pass the range check after a wrapping astype(int64) (2**64-1 "
        "reads as -1): the model loads, then golden raises 'does not fit in 64 bits' or the "
        "float reference (1.8e19) and golden disagree",
        "model", _uint64_weight),
    "dtype:float_ints": (
        "bnnhw/model/checks.py LayerCheck.int_array / bnnhw/model/graph.py (Layer keeps the "
        "raw arrays)",
        "an integer field given as floats with integral values (quantized_bn scale [1.0]) is "
        "accepted, but the Model keeps the float array: the reference and golden raise "
        "'scale: expected integers, got dtype float64'",
        "model", lambda: _xnor_qbn({"q.scale": np.array([1.0])})),
}


def _phi_beyond_int64():
    return _graph({"shape": [1, 1, 1], "type": "bits"},
                  [{"name": "p", "op": "panet_conv2d", "inputs": ["input"], "out_channels": 1,
                    "kernel": 1},
                   {"name": "bn", "op": "batchnorm", "inputs": ["p"], "eps": 1e-5},
                   {"name": "s", "op": "sign", "inputs": ["bn"]},
                   {"name": "fc", "op": "dense", "inputs": ["s"], "precision": "binary",
                    "out_features": 2}], "fc"), {
        "p.weight_bases": np.ones((1, 1, 1, 1, 1), np.uint8), "p.phi": np.array([[-1e300]]),
        "bn.gamma": np.ones(1), "bn.beta": np.zeros(1), "bn.mean": np.zeros(1),
        "bn.var": np.ones(1), "fc.weight": np.array([[1], [-1]], np.int8)}


KNOWN_BUGS["value:phi_beyond_int64"] = (
    "bnnhw/compiler/quantize.py fixed_point",
    "a PA-Net phi of magnitude >= 2**63 (-1e300, finite, so validation accepts it): "
    "round_half_up(...).astype(np.int64) wraps to -2**63, whose abs() is still negative, so "
    "the 16-bit range check passes; lower() then fails with OverflowError 'Python int too "
    "large to convert to C long' in golden.fold_sign_range (the sign after the layer) instead "
    "of a ConversionError naming phi",
    "model", _phi_beyond_int64)


def open_bugs():
    """Keys of the bugs whose patterns the campaign still leaves out."""
    from . import mutations, strategies
    return sorted(set(KNOWN_BUGS) & (set(strategies.EXCLUDE) | set(mutations.EXCLUDE)))


def probe(key):
    """``(still_failing, outcome text)`` for one known bug's repro."""
    where, what, kind, repro = KNOWN_BUGS[key]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "file":
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "m.npz"
                path.write_bytes(repro())
                result = pipeline(path)
                for key_ in ("error", "trace"):
                    if result.get(key_):
                        result[key_] = result[key_].replace(str(path), "model.npz")
        else:
            graph, arrays = repro()
            result = pipeline(None, graph, arrays)
            if result["outcome"] == "ok":
                result = check_golden(graph, arrays, images=4)
    outcome = result["outcome"]
    failing = not (outcome == "ok" or outcome.startswith("named:"))
    text = outcome + (f" ({result.get('error', '')[:200]})" if result.get("error") else "")
    return failing, text


def repro_json(key):
    """The repro's graph as JSON text (for the report)."""
    where, what, kind, repro = KNOWN_BUGS[key]
    if kind == "file":
        return "(model file bytes: " + {
            "file:empty": "empty",
            "file:not_npy": "graph.json.npy entry = b'not an npy file'",
            "file:bad_compression": "a valid model file whose zip headers give compression "
                                    "method 99"}[key] + ")"
    graph, arrays = repro()
    return json.dumps({"graph": graph, "arrays": {k: np.asarray(v).tolist() for k, v in
                                                  arrays.items()}}, sort_keys=True, default=str)
