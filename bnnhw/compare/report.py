"""The Markdown comparison report (``compare.md``) from the collected numbers.

:func:`report_markdown` takes the dict :func:`bnnhw.compare.run.compare` builds (also written as
``compare.json``) and renders: the paper claims (our ratio next to the paper's, one sentence per
disagreement), the designs side by side, each micro-comparison's raw counts, and where every
number came from.
"""

__all__ = ["report_markdown"]


def _n(value, digits=0):
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int) or digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def _pct(value):
    return "-" if value is None else f"{100 * value:.2f} %"


def _x(value):
    return "-" if value is None else f"{value:.2f}x"


def _table(header, rows, align=None):
    align = align or ["---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _claims(data):
    lines = ["## Paper claims", "",
             "Each claim as the paper states it, the paper's ratio, the ratio we measure in this "
             "run, and one sentence on why they differ (`agrees`: within "
             f"{100 * data['agreement']:.0f} %).", ""]
    rows = []
    for c in data["claims"]:
        rows.append([c["claim"], f"{c['paper_ratio']:.2f}x", _x(c["ours"]), c["measured"],
                     c["verdict"], c["why"]])
    lines += _table(["claim", "paper", "ours", "our ratio is", "verdict", "why"], rows,
                    ["---", "---:", "---:", "---", "---", "---"])
    lines += ["", "What the papers say:", ""]
    seen = set()
    for c in data["claims"]:
        if c["source"] in seen:
            continue
        seen.add(c["source"])
        lines.append(f"- **{c['source']}**: {c['paper']}.")
    if data.get("plots", {}).get("claims"):
        lines += ["", f"![paper claims]({data['plots']['claims']})"]
    return lines


def _designs(data):
    rows = data["designs"]
    lines = ["## Designs side by side", ""]
    if data.get("plots", {}).get("overview"):
        lines += [f"![designs side by side]({data['plots']['overview']})", ""]
    lines += ["### Accuracy and work per inference", ""]
    lines += _table(
        ["design", "golden acc.", "RTL acc.", "RTL == golden", "images", "cycles / inference",
         "ROM bits", "ACE", "CPU64", "BOPs"],
        [[r["design"], _pct(r["golden_accuracy"]), _pct(r["rtl_accuracy"]),
          _n(r["rtl_equals_golden"]), _n(r["images"]), _n(r["cycles_per_inference"]),
          _n(r["rom_bits"]), _n(r["ace"]), _n(r["cpu64"], 1), _n(r["bops"])] for r in rows])
    for family, label in (("ice40", "iCE40"), ("ecp5", "ECP5")):
        lines += ["", f"### {label} (Yosys `synth_{family}`, nextpnr)", ""]
        lines += _table(
            ["design", "LUT4", "FF", "carry", "BRAM", "BRAM bits", "DSP", "device", "Fmax MHz",
             "inferences / s"],
            [[r["design"], _n(r[f"{family}_luts"]), _n(r[f"{family}_ffs"]),
              _n(r[f"{family}_carry"]), _n(r[f"{family}_bram"]), _n(r[f"{family}_bram_bits"]),
              _n(r[f"{family}_dsp"]),
              r[f"{family}_device"] or ("**fits none**" if r[f"{family}_fits"] is False else "-"),
              _n(r[f"{family}_fmax_mhz"], 1), _n(r[f"{family}_inferences_per_s"])]
             for r in rows], ["---"] + ["---:"] * 6 + ["---", "---:", "---:"])
        notes = [f"- {r['design']}: {r[f'{family}_note']}" for r in rows
                 if r.get(f"{family}_note")]
        if notes:
            lines += [""] + notes
    lines += ["", "### CMOS estimate and energy proxy", ""]
    lines += _table(
        ["design", "transistors", "flip-flops", "energy proxy pJ / inference",
         "op-count estimate pJ / inference", "toggle weighting"],
        [[r["design"], _n(r["transistors"]), _n(r["cmos_ffs"]), _n(r["energy_pj"]),
          _n(r["energy_op_count_pj"]), r["energy_model"] or "-"] for r in rows],
        ["---", "---:", "---:", "---:", "---:", "---"])
    if all(r["energy_pj"] is None for r in rows):
        lines += ["", "No report.json has an `energy` section, so the energy columns are empty "
                      "(build with `--energy N` to measure the proxy)."]
    return lines


def _micro_pe(pe):
    lines = [f"### 1. XNOR vs AND: gates alone and the popcount PE ({pe['width']} bits)", "",
             "Gates: `ProductGates` (`y = XNOR(a, w)` or `AND(a, w)`, nothing else). PE: "
             "`XnorPopcount` / `AndPopcount` with streamed weights (`w` a port), combinational.",
             ""]
    rows = []
    for part, label in (("gates", "gates"), ("pe", "PE")):
        for op in ("xnor", "and"):
            r = pe[part][op]
            cmos, ice = r.get("cmos", {}), r.get("ice40", {})
            cells = ", ".join(f"{n:,} {t.strip('$_')}" for t, n in sorted(
                cmos.get("cells", {}).items()))
            rows.append([f"{label} {op.upper()}", _n(cmos.get("transistors")),
                         _n(cmos.get("gates")), cells or "-", _n(ice.get("luts")),
                         _n(ice.get("carry"))])
    lines += _table(["circuit", "transistors", "gates", "CMOS cells", "iCE40 LUT4",
                     "iCE40 carry"], rows, ["---", "---:", "---:", "---", "---:", "---:"])
    r = pe["ratios"]
    lines += ["", f"XNOR / AND: gates {_x(r.get('gates_cmos'))} in transistors "
                  f"({_x(r.get('gates_ice40'))} in iCE40 LUT4s); PE {_x(r.get('pe_cmos'))} in "
                  f"transistors ({_x(r.get('pe_ice40'))} in LUT4s). Yosys' own cell table prices "
                  f"`$_XNOR_` at {pe['yosys_cost_table']['xnor']} and `$_AND_` at "
                  f"{pe['yosys_cost_table']['and']} transistors (2x), but `abc -g cmos2` maps to "
                  "NAND/NOR/NOT, where the cells above are what an XNOR2 and an AND2 become."]
    return lines


def _micro_acc(acc):
    lines = [f"### 2. 32-bit vs 8-bit accumulator + batch norm (N = {acc['fan_in']}, "
             f"{acc['simd']}-bit chunks)", "",
             "`AccumulatorBN`: one PE lane after its popcount tree. `int32`: 32-bit wrapping "
             "accumulator; threshold: `(acc >= T) ^ invert` with a 32-bit `T`; affine: "
             "`((2*acc - N) * S + B) >> 16` with 32-bit `S`, `B`, 32-bit result. `int8`: counter "
             "saturating at 255 (`BinaryMVAU`'s), then `ThresholdUnit`'s compare on 8 bits, or "
             "the clip to [-127, 127] and `QuantizedBN`'s `clip(round_shift(s*S + B, 8))` with "
             "int16 `S`, `B`. Parameters are ports (as if read from a parameter memory).", ""]
    rows = []
    for bn in ("threshold", "affine"):
        for flow in ("int32", "int8"):
            u = acc["units"][bn][flow]
            cmos, ice = u.get("cmos", {}), u.get("ice40", {})
            rows.append([f"{bn} {flow}", _n(cmos.get("transistors")), _n(cmos.get("gates")),
                         _n(cmos.get("ffs")), _n(ice.get("luts")), _n(ice.get("carry")),
                         _n(ice.get("ffs")), _n(u["param_bits"])])
    lines += _table(["lane", "transistors", "gates", "flip-flops", "iCE40 LUT4", "iCE40 carry",
                     "iCE40 FF", "parameter bits / channel"], rows)
    lines += [""]
    for bn in ("threshold", "affine"):
        r = acc["ratios"][bn]
        lines.append(f"- {bn}: int32 / int8 = {_x(r.get('cmos'))} transistors, "
                     f"{_x(r.get('ice40'))} iCE40 LUT4s, {_x(r.get('param_bits'))} parameter "
                     "bits per channel.")
    return lines


def _micro_energy(energy):
    lines = ["### 3. BoolNet vs XNOR-Net-style energy per inference", "",
             f"Basis: {energy['basis']}.", ""]
    rows = []
    for name, d in energy["designs"].items():
        rows.append([name, _n(d.get("toggle_proxy_pj")), _n(d.get("op_count_estimate_pj")),
                     _n(d.get("arithmetic_pj")), d.get("toggle_model") or "-"])
    lines += _table(["design", "toggle proxy pJ", "op-count estimate pJ", "arithmetic only pJ",
                     "toggle weighting"], rows, ["---", "---:", "---:", "---:", "---"])
    r = energy["ratios"]
    parts = [f"{label} {_x(r[key])}" for key, label in (
        ("toggle_proxy", "toggle proxy"), ("op_count_estimate", "op-count estimate"),
        ("arithmetic", "arithmetic only")) if r.get(key) is not None]
    lines += ["", "xnornet / boolnet: " + (", ".join(parts) if parts else "-") + "."]
    return lines


def report_markdown(data):
    """``compare.md`` text of the comparison ``data`` (see :func:`bnnhw.compare.run.compare`)."""
    names = ", ".join(r["design"] for r in data["designs"])
    lines = [f"# Design comparison: {names}", "",
             f"Generated by `{data['command']}` on {data['date']} ({data['machine']}); "
             f"{data['seconds']:.0f} s in all (micro-comparisons "
             f"{data['micro_seconds']:.0f} s). Every number is from this run's tools or from the "
             "builds' report.json; `docs/compare.md` explains the method.", ""]
    lines += _claims(data)
    lines += [""] + _designs(data)
    lines += ["", "## Micro-comparisons", "",
              "Synthesized in this run with Yosys: CMOS `synth -flatten; dfflegalize; abc -g "
              "cmos2; stat -tech cmos` (NOT 2, NAND/NOR 4, DFF 16 transistors) and "
              "`synth_ice40` (LUT4s and carry cells, no placement).", ""]
    if data.get("micro", {}).get("pe"):
        lines += _micro_pe(data["micro"]["pe"]) + [""]
    if data.get("micro", {}).get("accumulator"):
        lines += _micro_acc(data["micro"]["accumulator"]) + [""]
    if data.get("energy"):
        lines += _micro_energy(data["energy"]) + [""]
    lines += ["## Sources of the design numbers", ""]
    for name, origin in data["origins"].items():
        lines.append(f"- {name}: {origin}")
    if data.get("tools"):
        lines += ["", "Tools: " + ", ".join(f"{k} {v}" for k, v in sorted(data["tools"].items())
                                           if v) + "."]
    return "\n".join(lines) + "\n"
