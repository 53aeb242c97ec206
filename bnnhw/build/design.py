"""Locating a design: ``designs/<name>/`` in the working directory or the source checkout."""

from pathlib import Path

import json

__all__ = ["DesignError", "design_roots", "known_designs", "find_design", "read_config"]

#: File every design directory holds once it is trained (see docs/model-format.md).
MODEL_FILE = "model.npz"
#: Optional build settings of a design: ``{"folding": {"target_cycles": N} | {"max_lanes": N},
#: "overrides": {layer: [pe, simd]}}``.
CONFIG_FILE = "design.json"
_FOLDING_KEYS = {"target_cycles", "max_lanes", "overrides"}


class DesignError(ValueError):
    """A design name or directory that cannot be built; the message says why."""


def design_roots():
    """Folders searched for designs: ``./designs`` then the checkout's ``designs/``."""
    roots = [Path.cwd() / "designs", Path(__file__).resolve().parents[2] / "designs"]
    unique = []
    for root in roots:
        if root.is_dir() and root.resolve() not in [r.resolve() for r in unique]:
            unique.append(root)
    return unique


def known_designs():
    """Names of the design folders found in :func:`design_roots`, sorted."""
    return sorted({p.name for root in design_roots() for p in root.iterdir() if p.is_dir()})


def find_design(name):
    """The directory of design ``name`` (a name under ``designs/`` or a path to a folder)."""
    candidate = Path(name)
    if candidate.is_dir():
        return candidate
    if candidate.exists():
        raise DesignError(f"design: {name!r} is a file, expected a design name or folder")
    if "/" in name or name in (".", ".."):
        raise DesignError(f"design: folder {name!r} does not exist")
    for root in design_roots():
        if (root / name).is_dir():
            return root / name
    available = ", ".join(known_designs())
    if not available:
        raise DesignError(
            f"design: {name!r} not found: this checkout has no trained designs yet "
            "(designs/ is empty)")
    raise DesignError(f"design: unknown design {name!r} (available: {available})")


def read_config(design_dir):
    """The design's build settings (``design.json``), ``{}`` if it has none."""
    path = Path(design_dir) / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise DesignError(f"{path}: not valid JSON ({error})") from None
    folding = config.get("folding", {}) if isinstance(config, dict) else None
    if not isinstance(folding, dict) or set(folding) - _FOLDING_KEYS:
        raise DesignError(f"{path}: folding: expected an object with keys among "
                          f"{sorted(_FOLDING_KEYS)}, got {folding!r}")
    return config
