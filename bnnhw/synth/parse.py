"""Parse the outputs of Yosys (``stat -json``) and nextpnr (log and ``--report`` JSON).

Everything here is a pure function of tool output text, so it is tested on captured real output
(``tests/synth/data/``). The flow that produces the output is :mod:`bnnhw.synth.flow`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

__all__ = [
    "RESOURCE_KEYS",
    "BRAM_BITS",
    "resources",
    "lut4_equivalent",
    "parse_stat_json",
    "parse_stat_transistors",
    "hierarchy_counts",
    "block_counts",
    "yosys_version",
    "parse_utilisation",
    "overflows",
    "parse_fmax_log",
    "parse_nextpnr_report",
    "nextpnr_failure",
    "nextpnr_version",
]

#: Cell types Yosys adds for bookkeeping (hierarchy scopes); they are no hardware.
_IGNORED = ("$scopeinfo",)

#: Capacity in bits of one block RAM of each family's primitive.
BRAM_BITS = {
    "SB_RAM40_4K": 4096,  # iCE40 (also the NR/NW/NRNW variants)
    "SB_SPRAM256KA": 262144,  # iCE40 UltraPlus single-port RAM
    "DP16KD": 18432,  # ECP5 (16 Kbit + parity)
    "PDPW16KD": 18432,
}

#: Result keys of :func:`resources` per target, in report order.
RESOURCE_KEYS = {
    "ice40": ("luts", "ffs", "carry", "bram", "bram_bits", "spram", "dsp"),
    "ecp5": ("luts", "ffs", "carry", "bram", "bram_bits", "lutram", "muxes", "dsp"),
    "cmos": ("transistors", "gates", "ffs"),
}

#: Transistors per cell of ``stat -tech cmos`` (Yosys ``kernel/cost.h``, ``cmos_gate_cost``).
CMOS_TRANSISTORS = {
    "$_BUF_": 1, "$_NOT_": 2, "$_AND_": 6, "$_NAND_": 4, "$_OR_": 6, "$_NOR_": 4,
    "$_ANDNOT_": 6, "$_ORNOT_": 6, "$_XOR_": 12, "$_XNOR_": 12, "$_AOI3_": 6, "$_OAI3_": 6,
    "$_AOI4_": 8, "$_OAI4_": 8, "$_MUX_": 12, "$_NMUX_": 10, "$_DFF_P_": 16, "$_DFF_N_": 16,
}


def _plain(name: str) -> str:
    return name[1:] if name.startswith("\\") else name


def resources(target: str, cells: Mapping[str, int]) -> dict:
    """Sum primitive cell counts (type -> count) into the resource keys of ``target``.

    iCE40: ``luts`` = SB_LUT4, ``ffs`` = SB_DFF*, ``carry`` = SB_CARRY, ``bram`` = SB_RAM40_4K
    blocks and ``bram_bits`` their capacity (4096 bits each), ``spram`` = SB_SPRAM256KA,
    ``dsp`` = SB_MAC16. ECP5: ``luts`` = LUT4, ``ffs`` = TRELLIS_FF, ``carry`` = CCU2C (each a
    2-LUT4 slice with its carry logic), ``bram`` = DP16KD/PDPW16KD (18432 bits each), ``lutram``
    = TRELLIS_DPR16X4 (16x4 distributed RAM), ``muxes`` = PFUMX + L6MUX21 (LUT5+ muxes),
    ``dsp`` = MULT18X18D + ALU54B. CMOS: ``transistors`` with the costs of ``stat -tech cmos``,
    ``gates`` = all cells but flip-flops, ``ffs`` = $_DFF_* cells.

    Cell types not listed are counted nowhere but stay in the caller's per-type dict;
    ``transistors_exact`` (CMOS) is ``False`` if any cell type has no known cost.
    """
    cells = {k: v for k, v in cells.items() if k not in _IGNORED}
    if target == "cmos":
        known = all(t in CMOS_TRANSISTORS for t in cells)
        ffs = sum(n for t, n in cells.items() if t.startswith(("$_DFF", "$_SDFF", "$_DFFE")))
        return {
            "transistors": sum(CMOS_TRANSISTORS.get(t, 0) * n for t, n in cells.items()),
            "transistors_exact": known,
            "gates": sum(cells.values()) - ffs,
            "ffs": ffs,
        }

    def count(pred) -> int:
        return sum(n for t, n in cells.items() if pred(t))

    def bram_bits(prefixes) -> int:
        return sum(n * BRAM_BITS[p] for t, n in cells.items() for p in prefixes
                   if t.startswith(p))

    if target == "ice40":
        return {
            "luts": count(lambda t: t == "SB_LUT4"),
            "ffs": count(lambda t: t.startswith("SB_DFF")),
            "carry": count(lambda t: t == "SB_CARRY"),
            "bram": count(lambda t: t.startswith("SB_RAM40_4K")),
            "bram_bits": bram_bits(("SB_RAM40_4K",)),
            "spram": count(lambda t: t == "SB_SPRAM256KA"),
            "dsp": count(lambda t: t == "SB_MAC16"),
        }
    if target == "ecp5":
        return {
            "luts": count(lambda t: t == "LUT4"),
            "ffs": count(lambda t: t == "TRELLIS_FF"),
            "carry": count(lambda t: t == "CCU2C"),
            "bram": count(lambda t: t in ("DP16KD", "PDPW16KD")),
            "bram_bits": bram_bits(("DP16KD", "PDPW16KD")),
            "lutram": count(lambda t: t == "TRELLIS_DPR16X4"),
            "muxes": count(lambda t: t in ("PFUMX", "L6MUX21")),
            "dsp": count(lambda t: t in ("MULT18X18D", "ALU54B")),
        }
    raise ValueError(f"unknown target {target!r}")


def lut4_equivalent(target: str, counts: Mapping[str, int]) -> int:
    """LUT4s that ``counts`` (a :func:`resources` dict) occupy: on ECP5 the LUT4 cells plus the
    two LUT4 halves of every CCU2C carry cell (which nothing else can use); on iCE40 the SB_LUT4
    cells (an SB_CARRY rides in its LUT's logic cell)."""
    return counts["luts"] + (2 * counts.get("carry", 0) if target == "ecp5" else 0)


# --- Yosys ----------------------------------------------------------------------------------------


def parse_stat_json(text: str) -> dict[str, dict[str, int]]:
    """Per-module local cell counts from ``stat -json``: module -> {cell type -> count}.

    Module names lose the leading ``\\`` of Yosys identifiers; a cell whose type is another
    module of the design is an instance of it. ``$scopeinfo`` cells are dropped.
    """
    data = json.loads(text)
    out = {}
    for name, mod in data.get("modules", {}).items():
        out[_plain(name)] = {
            _plain(t): int(n) for t, n in mod.get("num_cells_by_type", {}).items()
            if t not in _IGNORED
        }
    return out


def parse_stat_transistors(text: str) -> dict[str, tuple[int, bool]]:
    """``stat -json -tech cmos`` estimates: module -> (transistors, exact).

    Yosys counts a module including its submodules. ``exact`` is ``False`` when Yosys marked the
    number with ``+`` (some cell type has no CMOS cost, e.g. a flip-flop with enable or reset
    that was not legalized to ``$_DFF_P_``). Modules without an estimate are left out.
    """
    data = json.loads(text)
    out = {}
    for name, mod in data.get("modules", {}).items():
        value = mod.get("estimated_num_transistors")
        if value is None:
            continue
        value = str(value).strip()
        out[_plain(name)] = (int(value.rstrip("+")), not value.endswith("+"))
    return out


def yosys_version(stat_json_text: str) -> str:
    """``Yosys 0.70 (git sha1 28ba3cb92)`` from the ``creator`` of a ``stat -json`` output."""
    creator = json.loads(stat_json_text).get("creator", "")
    return re.sub(r",.*\)$", ")", creator) or "Yosys (unknown version)"


def hierarchy_counts(modules: Mapping[str, Mapping[str, int]], top: str) -> dict[str, int]:
    """Primitive cell counts of ``top`` including every module instantiated below it."""
    memo: dict[str, dict[str, int]] = {}

    def walk(name: str, stack: tuple[str, ...]) -> dict[str, int]:
        if name in memo:
            return memo[name]
        if name in stack:
            raise ValueError(f"recursive module hierarchy at {name!r}")
        total: dict[str, int] = {}
        for cell_type, n in modules[name].items():
            sub = walk(cell_type, stack + (name,)) if cell_type in modules else {cell_type: 1}
            for t, k in sub.items():
                total[t] = total.get(t, 0) + n * k
        memo[name] = total
        return total

    if top not in modules:
        raise ValueError(f"module {top!r} not in the Yosys statistics")
    return dict(sorted(walk(top, ()).items()))


def block_counts(modules: Mapping[str, Mapping[str, int]], top: str,
                 blocks: Mapping[str, str]) -> dict[str, dict[str, int]]:
    """Cell counts per block of ``top``: instance name -> counts including its submodules.

    ``blocks`` maps instance names to module names (:func:`bnnhw.synth.wrapper.top_submodules`).
    Key ``(top)`` holds the cells directly in ``top`` (glue between the blocks); a block module
    that Yosys did not keep (removed as empty) is left out.
    """
    out = {}
    for instance, module in sorted(blocks.items()):
        if module in modules:
            out[instance] = hierarchy_counts(modules, module)
    own = {t: n for t, n in modules[top].items() if t not in modules}
    out["(top)"] = dict(sorted(own.items()))
    return out


# --- nextpnr --------------------------------------------------------------------------------------

_UTIL = re.compile(r"^Info:\s+([A-Za-z0-9_]+):\s+(\d+)/\s*(\d+)\s+\d+%", re.MULTILINE)
_FMAX = re.compile(
    r"Max frequency for clock\s+'([^']*)':\s+([\d.]+) MHz\s+\((PASS|FAIL) at ([\d.]+) MHz\)")


def parse_utilisation(log: str) -> dict[str, dict[str, int]]:
    """``Device utilisation`` of a nextpnr log: bel type -> {"used", "available"}.

    nextpnr prints the table after packing, also when the design does not fit (it then stops
    at placement), so this works on failed runs too. The last table in the log wins.
    """
    start = log.rfind("Device utilisation:")
    if start < 0:
        return {}
    out = {}
    for line in log[start:].splitlines()[1:]:
        match = _UTIL.match(line)
        if not match:
            if out:
                break
            continue
        out[match.group(1)] = {"used": int(match.group(2)), "available": int(match.group(3))}
    return out


def overflows(utilisation: Mapping[str, Mapping[str, int]]) -> list[dict]:
    """Resources used beyond what the device has: [{resource, used, available, over_by}]."""
    return [
        {"resource": bel, "used": u["used"], "available": u["available"],
         "over_by": u["used"] - u["available"]}
        for bel, u in utilisation.items() if u["used"] > u["available"]
    ]


def parse_fmax_log(log: str) -> dict[str, dict[str, float]]:
    """Fmax per clock from a nextpnr log: clock -> {"achieved", "constraint"} (MHz).

    nextpnr prints the figure after placement and again after routing; the last one (routed)
    wins.
    """
    out = {}
    for clock, achieved, _, constraint in _FMAX.findall(log):
        out[clock] = {"achieved": float(achieved), "constraint": float(constraint)}
    return out


def parse_nextpnr_report(text: str) -> dict:
    """The ``--report`` JSON of nextpnr: {"fmax": {clock: {achieved, constraint}},
    "utilization": {bel: {used, available}}}."""
    data = json.loads(text)
    fmax = {
        clock: {"achieved": float(v["achieved"]), "constraint": float(v["constraint"])}
        for clock, v in data.get("fmax", {}).items()
    }
    util = {
        bel: {"used": int(v["used"]), "available": int(v["available"])}
        for bel, v in data.get("utilization", {}).items()
    }
    return {"fmax": fmax, "utilization": util}


def nextpnr_failure(log: str) -> str | None:
    """The first ``ERROR:`` line of a nextpnr log (without the prefix), or ``None``."""
    match = re.search(r"^ERROR:\s*(.*)$", log, re.MULTILINE)
    return match.group(1).strip() if match else None


def nextpnr_version(text: str) -> str:
    """``nextpnr-0.11.1`` from the output of ``nextpnr-<family> --version``."""
    match = re.search(r"\(Version (\S+?)\)", text)
    return match.group(1) if match else text.strip().splitlines()[0] if text.strip() else "?"
