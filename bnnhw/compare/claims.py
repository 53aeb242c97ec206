"""The papers' hardware claims, and our measured ratio next to each with a one-sentence reason.

:data:`PAPERS` holds what the papers say (numbers typed from the texts in ``shared/papers``);
:func:`claim_rows` turns the micro-comparisons and the designs' energy into one row per claim:
``claim``, ``paper_ratio``, ``paper`` (the paper's statement), ``ours`` (our ratio), ``measured``
(what our ratio is a ratio of), ``verdict`` (``agrees`` within :data:`AGREEMENT`, ``differs``
or ``not measured``) and ``why`` (one sentence; for an agreement, what supports it).
"""

__all__ = ["PAPERS", "AGREEMENT", "claim_rows", "verdict"]

#: Relative difference within which our ratio counts as agreeing with the paper's.
AGREEMENT = 0.15

PAPERS = {
    "panet": {
        "ratio": 2.0,
        "source": "PA-Net, Table 2 and Sec. 3.3",
        "text": "an XNOR gate costs 2x the area and power of an AND gate (7 nm FinFET: "
                "2.90e3 vs 1.45e3 nm^2, 1.23 vs 0.624 uW), so a {-1,+1} binary convolution "
                "costs 2x a {0,1} one \"except for bitcount\"",
    },
    "eightbit": {
        "ratio": 4.0,
        "source": "8-bit data-flow paper, abstract and Sec. 3",
        "text": "clip the popcount to 8 bits and 8-bit-quantize (or threshold) the batch "
                "norm: data width 32 -> 8 bits (4x) with a saturating accumulator; measured "
                "only as speed on ARM (binary convolution 1.77x / 1.9x faster than LCE / "
                "DaBNN), no hardware area",
    },
    "boolnet": {
        "ratio": 2.95,
        "xnornet_ratio": 1.92 / 1.33,
        "source": "BoolNet, abstract and Fig. 3a",
        "text": "BoolNet (k = 4) uses 2.95x less energy than recent BNNs (Bi-RealNet 3.90 mJ "
                "vs 1.33 mJ per ImageNet inference; XNOR-Net 1.92 mJ, i.e. 1.44x), from "
                "accelerator simulations including SRAM and DRAM traffic",
    },
}


def verdict(ours, paper):
    if ours is None:
        return "not measured"
    return "agrees" if abs(ours / paper - 1) <= AGREEMENT else "differs"


def _gate_row(micro):
    paper = PAPERS["panet"]
    ratios = micro["ratios"]
    ours = ratios.get("gates_cmos")
    per = micro.get("per_gate_transistors", {})
    cells = micro.get("per_gate_cells", {})

    def mix(op):
        return " + ".join(f"{n:g} {t.strip('$_')}" for t, n in sorted(cells.get(op, {}).items()))

    table = micro["yosys_cost_table"]
    if verdict(ours, paper["ratio"]) == "agrees":
        why = (f"Agrees: after `abc -g cmos2` an XNOR2 costs {per.get('xnor', 0):g} transistors "
               f"({mix('xnor')}) and an AND2 {per.get('and', 0):g} ({mix('and')}); Yosys' "
               f"cell table (XNOR {table['xnor']}, AND {table['and']}) also gives exactly 2x.")
    else:
        why = (f"`abc -g cmos2` maps to NAND/NOR/NOT only, where an XNOR2 needs "
               f"{per.get('xnor', 0):g} transistors ({mix('xnor')}) against the AND2's "
               f"{per.get('and', 0):g} ({mix('and')}); with XNOR and AND as library cells "
               f"(Yosys' table: {table['xnor']} vs {table['and']}, like PA-Net's 7 nm cells) "
               "the ratio is exactly 2x.")
    return _claim_row(
        paper, ours, why, claim=f"XNOR vs AND product gates ({micro['width']} two-input gates)",
        measured="CMOS transistors, XNOR / AND (Yosys `abc -g cmos2`, `stat -tech cmos`)")


def _claim_row(paper, ours, why, *, claim, measured):
    """One row of the claims table: the paper's ratio and text next to ours and the verdict."""
    return {"claim": claim, "paper_ratio": paper["ratio"], "paper": paper["text"],
            "source": paper["source"], "ours": ours, "measured": measured,
            "verdict": verdict(ours, paper["ratio"]), "why": why}


def _pe_row(micro):
    paper = PAPERS["panet"]
    ratios = micro["ratios"]
    ours = ratios.get("pe_cmos")
    share = ratios.get("popcount_share_cmos")
    ice = ratios.get("pe_ice40")
    share_text = "" if share is None else f" is {100 * share:.0f} % of the XNOR PE's transistors"
    ice_text = "" if ice is None else (f"; on iCE40 the products fold into the tree's leaf "
                                      f"LUT4s ({ice:.2f}x the LUTs)")
    why = (f"The popcount tree, which PA-Net's claim leaves out (\"except for bitcount\"),"
           f"{share_text} and is the same for both, so the gates' difference shrinks to "
           f"{ours:.2f}x for the whole PE{ice_text}." if ours is not None else
           "Not synthesized.")
    return _claim_row(
        paper, ours, why,
        claim=f"XNOR vs AND popcount PE ({micro['width']} bits, streamed weights)",
        measured="CMOS transistors of `XnorPopcount` / `AndPopcount` (gates + popcount tree)")


def _accumulator_rows(micro):
    paper = PAPERS["eightbit"]
    rows = []
    names = {"threshold": "batch norm as a threshold compare (VGG-style)",
             "affine": "batch norm as a multiply-add (ResNet-style; ours: QuantizedBN, int16 "
                       "scale/bias)"}
    for bn in ("threshold", "affine"):
        units = micro["units"][bn]
        ours = micro["ratios"][bn].get("cmos")
        t32 = units["int32"].get("cmos", {}).get("transistors")
        t8 = units["int8"].get("cmos", {}).get("transistors")
        ff32 = units["int32"].get("cmos", {}).get("ffs")
        ff8 = units["int8"].get("cmos", {}).get("ffs")
        if ours is None:
            why = "Not synthesized."
        elif bn == "threshold":
            why = (f"The paper gives no hardware area, only the 4x narrower word; the "
                   f"accumulator, the comparator and the registers ({ff32} vs {ff8} flip-flops) "
                   f"scale with the width, so the lane shrinks {ours:.1f}x, "
                   + ("close to the width ratio." if abs(ours / 4 - 1) <= AGREEMENT else
                      "less than 4x because the chunk input, the control and the 8-bit "
                      "counter's saturation logic do not shrink."
                      if ours < 4 else
                      "more than 4x because the 32-bit lane also carries a 33-bit threshold "
                      "word and a wider carry chain."))
        else:
            why = (f"The paper gives no hardware area, only the 4x narrower word; the 32-bit "
                   f"multiply-add ({t32:,} transistors) grows with the product of its operand "
                   f"widths (32 x 32 against the 8-bit flow's 8 x 16, {t8:,} transistors in "
                   f"all), so area falls {ours:.1f}x, "
                   + ("about the width ratio." if abs(ours / 4 - 1) <= AGREEMENT else
                      "more than the 4x width ratio." if ours > 4 else
                      "less than 4x: the 8-bit flow keeps int16 parameters and a 25-bit "
                      "intermediate."))
        rows.append(_claim_row(
            paper, ours, why, claim=f"32-bit vs 8-bit accumulator + {names[bn]}, "
                                    f"N = {micro['fan_in']}, {micro['simd']} bits per chunk",
            measured="CMOS transistors, 32-bit lane / 8-bit lane (parameters on ports)"))
    return rows


def _energy_row(energy):
    paper = PAPERS["boolnet"]
    ours = energy.get("ratio") if energy else None
    basis = energy.get("basis") if energy else None
    if ours is None:
        why = ("No energy figure for boolnet and xnornet (run the designs with the energy "
               "proxy, `python -m bnnhw.build DESIGN --energy 20`).")
    else:
        xnor = paper["xnornet_ratio"]
        rest = (f"only its int8 per-channel units and wider streams cost more ({ours:.2f}x)"
                if ours >= 1 else
                f"its shorter run outweighs its int8 per-channel units ({ours:.2f}x)")
        near = (f", close to the paper's own {xnor:.2f}x against XNOR-Net"
                if abs(ours / xnor - 1) <= AGREEMENT else
                f", against the paper's own {xnor:.2f}x for XNOR-Net")
        why = (f"BoolNet's 2.95x is against Bi-RealNet, whose 32-bit feature maps go through "
               f"SRAM and DRAM in the paper's ImageNet accelerators, while our xnornet already "
               f"streams 8-bit feature maps (the 8-bit data flow) with every weight on chip and "
               f"no DRAM, so {rest}{near}.")
        if verdict(ours, paper["ratio"]) == "agrees":
            why = "Agrees: " + why
    return _claim_row(
        paper, ours, why, claim="BoolNet vs XNOR-Net-style design energy per inference",
        measured=f"xnornet / boolnet, {basis}" if basis else "xnornet / boolnet")


def claim_rows(pe=None, accumulator=None, energy=None):
    """One row per paper claim; ``None`` arguments give ``not measured`` rows."""
    rows = []
    if pe is not None:
        rows += [_gate_row(pe), _pe_row(pe)]
    if accumulator is not None:
        rows += _accumulator_rows(accumulator)
    rows.append(_energy_row(energy))
    return rows
