"""Read Verilator toggle coverage (``coverage.dat``) and sum it per block of the network.

A model built with ``--coverage-toggle`` counts, for every bit of every signal, its ``0->1`` and
``1->0`` transitions as two coverage points; cocotb's Verilator main writes them with
``VerilatedCov::write`` when the simulation ends (``bnnhw.sim.network.simulate_network(...,
coverage=True)``). The file is text, one point per line::

    C '<key>' <count>

where ``<key>`` is a list of fields, each ``\\x01`` + name + ``\\x02`` + value: ``f`` source
file, ``l`` line, ``n`` column, ``t`` type (``toggle``), ``page`` (``v_toggle/<module>``),
``o`` the point (``signal[bit]:0->1``; a memory word bit is ``memory[word][bit]:0->1``) and,
with ``--coverage-per-instance``, ``h`` the instance (``bnnhw_sim.harness.network.c1.s0_window``).
Lines starting with ``#`` are comments.

:func:`toggle_points` yields the points; :func:`parse_coverage` sums them per instance into
:class:`ToggleCounts` (toggles and bits of plain signals, kept apart from memory arrays, whose
bit flips the energy model charges as memory writes instead; clock and reset ports left out);
:func:`toggles_by_block` folds instances into the blocks directly under
a prefix (the engines of a :class:`~bnnhw.hw.network.StreamingNetwork`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from ..errors import BnnhwError

__all__ = ["ToggleCounts", "TogglePoint", "CoverageError", "toggle_points", "parse_coverage",
           "toggles_by_block",
           "NETWORK_PREFIX", "CLOCK_AND_RESET"]

#: Signals :func:`parse_coverage` leaves out by default.
CLOCK_AND_RESET = ("clk", "rst")

#: Where the network sits in the simulation top (``bnnhw_sim``, its harness ``harness``, the
#: network ``network``).
NETWORK_PREFIX = "bnnhw_sim.harness.network"

_POINT = re.compile(r"^(?P<signal>[^\[:]+)(?P<index>(\[-?\d+\])*):(?P<edge>0->1|1->0)$")


class CoverageError(BnnhwError, ValueError):
    """A ``coverage.dat`` that cannot be read as Verilator toggle coverage (names the line)."""


@dataclass(frozen=True)
class ToggleCounts:
    """Toggle coverage summed over some signals.

    ``toggles`` counts transitions (``0->1`` plus ``1->0``) of plain signal bits, ``bits`` those
    bits; ``memory_toggles`` / ``memory_bits`` the same for memory arrays (words of an unpacked
    array: line buffers, FIFOs, ROMs, vector buffers). Values may be fractional after
    :meth:`scaled` (toggles per inference).
    """

    toggles: float = 0
    bits: int = 0
    memory_toggles: float = 0
    memory_bits: int = 0

    def __add__(self, other):
        return ToggleCounts(self.toggles + other.toggles, self.bits + other.bits,
                            self.memory_toggles + other.memory_toggles,
                            self.memory_bits + other.memory_bits)

    def minus(self, other):
        """Toggles of ``self`` less ``other`` (the same signals, an earlier/shorter run)."""
        return ToggleCounts(self.toggles - other.toggles, self.bits,
                            self.memory_toggles - other.memory_toggles, self.memory_bits)

    def scaled(self, factor):
        """Toggles times ``factor`` (bits unchanged)."""
        return ToggleCounts(self.toggles * factor, self.bits, self.memory_toggles * factor,
                            self.memory_bits)

    def to_dict(self):
        return {"toggles": self.toggles, "bits": self.bits,
                "memory_toggles": self.memory_toggles, "memory_bits": self.memory_bits}


def _fields(key, where):
    fields = {}
    for item in key.split("\x01"):
        if not item:
            continue
        name, sep, value = item.partition("\x02")
        if not sep:
            raise CoverageError(f"{where}: field {item!r} has no value separator")
        fields[name] = value
    return fields


class TogglePoint(NamedTuple):
    """One toggle coverage point: ``count`` transitions ``edge`` of one bit of a signal."""

    hierarchy: str   #: instance (``h``; without per-instance coverage, the ``page`` module)
    signal: str      #: signal name as Verilator spells it (``i___05Fpayload`` = ``i__payload``)
    index: str       #: ``[bit]``, ``[word][bit]`` for a memory array, ``""`` for 1-bit signals
    edge: str        #: ``"0->1"`` or ``"1->0"``
    count: int

    @property
    def memory(self):
        """A bit of a memory array (an unpacked array of words: two or more indices)."""
        return self.index.count("[") >= 2


def _text(source):
    if isinstance(source, str) and "\n" in source:
        return source, "coverage text"
    path = Path(os.fspath(source))
    return path.read_text(encoding="latin-1"), str(path)


def toggle_points(source):
    """Every toggle point of a Verilator ``coverage.dat``, in file order.

    Parameters
    ----------
    source : path-like or str
        The file, or its text (a ``str`` that contains a newline is taken as the text).

    Yields
    ------
    TogglePoint
        Points of other coverage types (line, branch, user) are skipped.

    Raises
    ------
    CoverageError
        A ``C`` line that is not ``C '<key>' <count>``, or a toggle point whose ``o`` field is
        not ``signal[...]:0->1`` / ``:1->0``.
    """
    text, name = _text(source)
    for number, line in enumerate(text.splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        where = f"{name}: line {number}"
        end = line.rfind("' ")
        if not line.startswith("C '") or end < 3:
            raise CoverageError(f"{where}: expected C '<key>' <count>, got {line[:60]!r}")
        try:
            count = int(line[end + 2:])
        except ValueError:
            raise CoverageError(f"{where}: no count after the key") from None
        if count < 0:
            raise CoverageError(f"{where}: negative count {count}")
        fields = _fields(line[3:end], where)
        if fields.get("t") != "toggle":
            continue
        point = _POINT.match(fields.get("o", ""))
        if point is None:
            raise CoverageError(f"{where}: toggle point {fields.get('o')!r} is not "
                                "signal[bit]:0->1 or :1->0")
        hierarchy = fields.get("h") or fields.get("page", "").partition("/")[2]
        yield TogglePoint(hierarchy, point["signal"], point["index"], point["edge"], count)


def parse_coverage(source, *, exclude=CLOCK_AND_RESET):
    """Toggle counts per instance from a Verilator ``coverage.dat``.

    Parameters
    ----------
    source : path-like or str
        The file, or its text (a ``str`` that contains a newline is taken as the text).
    exclude : collection of str
        Signal names left out (default the clock and reset ports every module has: the clock
        toggles twice a cycle in every instance whatever the data, see docs/energy.md).

    Returns
    -------
    dict of str to ToggleCounts
        Instance hierarchy -> its signals' toggles (both edges) and bits, memory arrays apart.

    Raises
    ------
    CoverageError
        As :func:`toggle_points`, or a file without any toggle point (a model built without
        ``--coverage-toggle``).
    """
    totals = {}
    seen = set()
    points = 0
    for point in toggle_points(source):
        points += 1
        if point.signal in exclude:
            continue
        bit = point[:3]
        new_bit = bit not in seen
        seen.add(bit)
        old = totals.get(point.hierarchy, ToggleCounts())
        if point.memory:
            totals[point.hierarchy] = ToggleCounts(
                old.toggles, old.bits, old.memory_toggles + point.count,
                old.memory_bits + new_bit)
        else:
            totals[point.hierarchy] = ToggleCounts(
                old.toggles + point.count, old.bits + new_bit, old.memory_toggles,
                old.memory_bits)
    if not points:
        raise CoverageError(f"{_text(source)[1]}: no toggle coverage points (was the model "
                            "built with --coverage-toggle?)")
    return totals


def toggles_by_block(per_instance, prefix=NETWORK_PREFIX):
    """Sum instances into the blocks directly below ``prefix``.

    ``prefix.c1`` and everything below it (``prefix.c1.s0_slidingwindow`` ...) go to block
    ``c1``. Signals of ``prefix`` itself are left out: in Amaranth's Verilog they are the wires
    joining the blocks' ports (each also counted inside the block it enters or leaves).
    Instances outside ``prefix`` (the simulation harness) are left out too.

    Returns
    -------
    dict of str to ToggleCounts
        Block name (the submodule name) -> counts, in first-seen order.
    """
    blocks = {}
    head = prefix + "."
    for hierarchy, counts in per_instance.items():
        if not hierarchy.startswith(head):
            continue
        block = hierarchy[len(head):].split(".", 1)[0]
        blocks[block] = blocks.get(block, ToggleCounts()) + counts
    return blocks
