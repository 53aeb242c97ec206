"""Markdown sections for report.md from a :func:`bnnhw.synth.synthesize` result."""

from __future__ import annotations

__all__ = ["report_markdown"]

_FAMILY = {"ice40": "iCE40", "ecp5": "ECP5", "cmos": "CMOS (generic gates)"}


def _num(value, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _rate(value) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def _bram(r: dict) -> str:
    blocks = r.get("bram", 0)
    text = f"{blocks} ({_num(r.get('bram_bits', 0))} bits)" if blocks else "0"
    if r.get("lutram"):
        text += f" + {_num(r['lutram'])} LUT RAM 16x4"
    if r.get("spram"):
        text += f" + {_num(r['spram'])} SPRAM"
    return text


def _fits(r: dict) -> str:
    if r.get("fits"):
        return "yes"
    over = r.get("overflow") or []
    if over:
        return "no: " + ", ".join(
            f"{o['resource']} {_num(o['used'])}/{_num(o['available'])} (+{_num(o['over_by'])})"
            for o in over)
    return "no"


def _fpga_table(targets: dict) -> list[str]:
    fams = [f for f in ("ice40", "ecp5") if f in targets]
    if not fams:
        return []
    lines = [
        "| target | device | fits | LUT4 | FF | carry | BRAM | DSP | Fmax MHz | inferences/s |",
        "| --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for fam in fams:
        r = targets[fam]
        carry = "SB_CARRY" if fam == "ice40" else "CCU2C"
        lines.append(
            f"| {_FAMILY[fam]} | {r.get('device') or '–'} | {_fits(r)} | {_num(r['luts'])} | "
            f"{_num(r['ffs'])} | {_num(r['carry'])} {carry} | {_bram(r)} | {_num(r.get('dsp'))} "
            f"| {_num(r.get('fmax_mhz'), 1)} | {_rate(r.get('inferences_per_s'))} |")
    return lines


def _blocks_table(targets: dict) -> list[str]:
    names: list[str] = []
    for r in targets.values():
        for name in r.get("per_block", {}):
            if name not in names and name != "(top)":
                names.append(name)
    if not names:
        return []
    names = sorted(names) + ["(top)"]
    cols = []  # (header, target, key)
    for fam in ("ice40", "ecp5"):
        if fam in targets:
            label = _FAMILY[fam]
            cols += [(f"{label} LUT4", fam, "luts"), (f"{label} FF", fam, "ffs"),
                     (f"{label} carry", fam, "carry"), (f"{label} BRAM", fam, "bram")]
    if "cmos" in targets:
        cols += [("transistors", "cmos", "transistors"), ("CMOS FF", "cmos", "ffs")]
    lines = ["| block | " + " | ".join(c[0] for c in cols) + " |",
             "| --- |" + " ---: |" * len(cols)]
    for name in names:
        cells = [_num(targets[t].get("per_block", {}).get(name, {}).get(k)) for _, t, k in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    total = [_num(targets[t].get(k)) for _, t, k in cols]
    lines.append("| **total** | " + " | ".join(total) + " |")
    return lines


def report_markdown(result: dict) -> str:
    """Render a :func:`~bnnhw.synth.synthesize` result as report.md sections.

    Returns a ``## Synthesis`` section (one row per FPGA target: device, whether it fits and
    what overflows, LUT4/FF/carry/BRAM/DSP, Fmax and inferences/s = Fmax / cycles per
    inference; the CMOS transistor estimate), how the device was chosen, a per-block table, the
    wrapper's cost, tool versions and run times. Missing targets are left out.
    """
    targets = result.get("targets", {})
    cycles = result.get("cycles_per_inference")
    lines = ["## Synthesis", ""]
    lines.append(
        f"Design `{result.get('design')}` (top `{result.get('top')}`), "
        f"{_num(cycles)} cycles per inference; inferences/s = Fmax / cycles per inference. "
        "Resources are Yosys' counts for the design alone; the device, fit and Fmax come from "
        "nextpnr (see docs/synth.md).")
    lines.append("")
    fpga = _fpga_table(targets)
    if fpga:
        lines += fpga + [""]
        for fam in ("ice40", "ecp5"):
            if fam in targets:
                r = targets[fam]
                lines.append(f"- {_FAMILY[fam]}: {r.get('device_note', '–')}.")
        lines.append("")
    if "cmos" in targets:
        c = targets["cmos"]
        plus = "" if c.get("transistors_exact", True) else "+ (some cells have no known cost)"
        lines.append(
            f"CMOS estimate (`{c.get('flow')}`; `stat -tech cmos`): **{_num(c['transistors'])}"
            f"{plus} transistors**, {_num(c['gates'])} gates, {_num(c['ffs'])} flip-flops "
            "(memories mapped to flip-flops and logic).")
        lines.append("")
    blocks = _blocks_table(targets)
    if blocks:
        lines += ["### Per block", "",
                  "Direct submodules of the top (the engines, named after their layers), each "
                  "synthesized with its own submodules flattened into it; `(top)` is the glue in "
                  "the top module itself. The totals equal the sum of the rows.", ""]
        lines += blocks + [""]
    notes = []
    for fam in ("ice40", "ecp5"):
        if fam in targets and targets[fam].get("wrapper"):
            w = targets[fam]["wrapper"]
            notes.append(
                f"- {_FAMILY[fam]} place-and-route wrapper (not in the counts above, in nextpnr's "
                f"utilisation): {w['pins']} pins, {w['shift_register_bits']}-bit input shift "
                f"register, {w['xor_reduced_bits']} output bits XOR-reduced; "
                f"{_num(w.get('luts'))} LUT4, {_num(w.get('ffs'))} FF.")
    tools: dict[str, str] = {}
    for r in targets.values():
        tools.update({k: v for k, v in r.get("tools", {}).items() if v})
    if tools:
        notes.append("- Tools: " + ", ".join(
            str(v) if str(v).lower().startswith(k.lower()) else f"{k} {v}"
            for k, v in tools.items()) + ".")
    times = [f"{t} {r.get('seconds', 0):.0f} s" for t, r in targets.items()]
    if times:
        notes.append("- Run time: " + ", ".join(times) + ".")
    if notes:
        lines += notes + [""]
    return "\n".join(lines)
