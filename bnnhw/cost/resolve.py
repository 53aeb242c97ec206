"""Find what a user means by NAME: a built-in architecture, a model file, or a design."""

from pathlib import Path

from ..design import Design, DesignError, find_design, known_designs
from ..compiler import lower
from ..model import load
from .architectures import builtin, builtin_names
from .compiled import cost_of_compiled
from ..errors import BnnhwError

__all__ = ["CostError", "cost_of", "cost_of_model_file"]


class CostError(BnnhwError, ValueError):
    """A NAME that is none of the things :func:`cost_of` accepts; the message lists them."""


def cost_of_model_file(path, *, source="model file"):
    """Load, validate and lower ``path`` (``bnnhw.model`` format), then count its costs."""
    model = load(path)
    return cost_of_compiled(lower(model), source=f"{source} {path}")


def _design_dir(name):
    try:
        return find_design(name)
    except DesignError:
        return None


def cost_of(name):
    """The :class:`~bnnhw.cost.report.CostReport` of ``name``.

    Tried in order: a built-in architecture (``resnet50-fp32``, ``pokebnn-1.0x``, ...), a model
    file (``.npz``), a design under ``designs/`` or a design folder (its ``model.npz``).

    Raises
    ------
    CostError
        ``name`` is none of these; the message names the valid built-ins and designs.
    bnnhw.model.ModelError
        The model file is malformed (the message names the layer and field).
    """
    report = builtin(name)
    if report is not None:
        return report
    path = Path(name)
    if path.is_file():
        return cost_of_model_file(path)
    folder = _design_dir(name)
    if folder is not None:
        design = Design(folder)
        if not design.model_file.is_file():
            raise CostError(f"design {name!r} has no trained model ({design.model_file} is "
                            "missing)")
        return cost_of_compiled(design.compiled, source=f"design {design.model_file}")
    designs = ", ".join(known_designs()) or "none found"
    raise CostError(f"unknown name {name!r}: not a built-in architecture "
                    f"({', '.join(builtin_names())}), a design ({designs}) or a model file")
