"""Held-out accuracy and size of a model file, and the design README that states them.

NumPy only (no PyTorch): :func:`evaluate` is what ``tests/test_designs.py`` recomputes to check
the committed READMEs.
"""

import os
import re
import tempfile
from pathlib import Path

import numpy as np

from ..compiler import lower
from ..compiler.parameter_bits import parameter_bits
from ..model.reference import classify_float
from ..model.stats import operation_counts
from .data import held_out

__all__ = ["evaluate", "render_readme", "parse_readme", "write_text_atomic", "README_PATTERNS"]

#: README table row label -> metric key; the value cell reads ``12.34 %`` or an integer.
README_PATTERNS = {
    "golden_accuracy": r"held-out accuracy, golden integer network[^|]*\|\s*([0-9.]+) %",
    "float_accuracy": r"held-out accuracy, float64 model file[^|]*\|\s*([0-9.]+) %",
    "agreement": r"golden vs float64 agreement[^|]*\|\s*([0-9.]+) %",
    "parameter_bits": r"parameter bits[^|]*\|\s*([0-9,]+)\s*\|",
    "binary_ops": r"binary ops per image[^|]*\|\s*([0-9,]+)\s*\|",
}


def evaluate(model, images=None, labels=None):
    """Accuracy of the golden integer network and of the float64 model file, and sizes.

    Parameters
    ----------
    model : bnnhw.model.Model
    images, labels : arrays, optional
        Default: the 360 held-out digits.

    Returns
    -------
    dict
        ``golden_accuracy``, ``float_accuracy``, ``agreement`` (fraction of equal predictions),
        ``parameter_bits`` (dict, see :func:`bnnhw.compiler.parameter_bits`) and
        ``operations`` (dict, see :func:`bnnhw.model.stats.operation_counts`).
    """
    if images is None:
        images, labels = held_out()
    compiled = lower(model)
    golden = compiled.classify(np.asarray(images))
    reference = classify_float(model, np.asarray(images))
    return {"golden_accuracy": float(np.mean(golden == labels)),
            "float_accuracy": float(np.mean(reference == labels)),
            "agreement": float(np.mean(golden == reference)),
            "parameter_bits": parameter_bits(compiled),
            "operations": operation_counts(model)}


def _layer_rows(model):
    rows = ["| layer | op | output (C, H, W) | type |", "| --- | --- | --- | --- |"]
    for layer in model.layers:
        t = model.types[layer.name]
        detail = [f"{k}={v}" for k, v in layer.attrs.items()
                  if k in ("precision", "kernel", "stride", "groups", "pad_value", "clip", "k",
                           "dot", "frac_bits")]
        op = layer.op + (f" ({', '.join(detail)})" if detail else "")
        rows.append(f"| {layer.name} | {op} | {tuple(t.shape)} | {t.describe().split(' of ')[0]} |")
    return rows


def render_readme(model, metrics, *, description, training, seconds):
    """The design's README.md text.

    Parameters
    ----------
    model : bnnhw.model.Model
    metrics : dict from :func:`evaluate`
    description : str
        Markdown paragraphs on the architecture (how it maps the paper's blocks).
    training : dict
        Settings used (epochs, seed, lr, ...).
    seconds : float
        Training wall-clock time.
    """
    bits, ops = metrics["parameter_bits"], metrics["operations"]
    settings = ", ".join(f"{k} {v}" for k, v in training.items())
    breakdown = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in bits.items()
                          if k != "total" and v)
    lines = [
        f"# {model.name}", "", description.strip(), "",
        "## Results (360 held-out digits: the last 360 of scikit-learn's `load_digits()`)", "",
        "| metric | value |", "| --- | ---: |",
        f"| held-out accuracy, golden integer network (`lower(model).classify`) | "
        f"{100 * metrics['golden_accuracy']:.2f} % |",
        f"| held-out accuracy, float64 model file (`reference.classify_float`) | "
        f"{100 * metrics['float_accuracy']:.2f} % |",
        f"| golden vs float64 agreement | {100 * metrics['agreement']:.2f} % |",
        f"| parameter bits (as stored in hardware) | {bits['total']:,} |",
        f"| binary ops per image (XNOR/AND + popcount per MAC) | {ops['binary_ops']:,} |",
        f"| int8 MACs per image | {ops['int8_macs']:,} |",
        f"| threshold / piece comparisons per image | {ops['comparisons']:,} |",
        f"| fixed-point multiplies per image | {ops['fixed_point_ops']:,} |",
        f"| saturating additions per image | {ops['additions']:,} |",
        "",
        f"Parameter bits by kind: {breakdown}. Counted on the compiled network "
        "(`bnnhw.compiler.parameter_bits`, the bits of the ROM images plus constants held in "
        "logic): batch norms as their folded thresholds, real scales as the fixed-point "
        "integers the hardware holds.",
        "",
        f"Training: {settings}; {seconds:.0f} s on one CPU thread. The float64 model file and "
        "the golden network are computed by `tests/test_designs.py`, which checks this table.",
        "",
        "Retrain (needs the `train` extra, PyTorch): `python -m bnnhw.train "
        f"{model.name}`; build: `python -m bnnhw.build {model.name}`.",
        "", "## Layers", "", *_layer_rows(model), "",
    ]
    return "\n".join(lines)


def parse_readme(text):
    """The metrics a README states: accuracies as fractions, counts as ints (missing: absent)."""
    found = {}
    for key, pattern in README_PATTERNS.items():
        match = re.search(pattern, text)
        if match:
            value = match.group(1).replace(",", "")
            found[key] = float(value) / 100 if "accuracy" in key or key == "agreement" \
                else int(value)
    return found


def write_text_atomic(path, text):
    """Write ``text`` to ``path`` through a temporary file and one rename."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)  # mkstemp creates 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
