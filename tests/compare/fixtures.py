"""Synthetic report.json contents and micro-comparison results for the report tests (no tools).

The shapes follow what ``bnnhw.build`` (``simulation``, ``cost``), ``bnnhw.synth``
(``synthesis.targets``) and ``bnnhw.energy`` (``energy.total``) write; the numbers are made up
but chosen so that every ratio in the report is known in advance.
"""


def fpga(luts, fmax, *, fits=True, cycles=2304, bram_bits=4096):
    target = {"luts": luts, "ffs": 2 * luts, "carry": luts // 10, "bram": bram_bits // 4096,
              "bram_bits": bram_bits, "dsp": 0, "fits": fits,
              "device": "LFE5U-25F-CABGA381" if fits else None,
              "device_note": "LFE5U-25F-CABGA381 (smallest supported device)" if fits else
              "fits no supported ice40 device: not iCE40HX8K-CT256 (ICESTORM_LC 14318/7680)",
              "fmax_mhz": fmax if fits else None,
              "inferences_per_s": fmax * 1e6 / cycles if fits else None,
              "overflow": [] if fits else [{"resource": "ICESTORM_LC", "used": 14318,
                                            "available": 7680, "over_by": 6638}]}
    return target


def report(design, *, accuracy, luts, transistors, ace, energy_pj=None, ice40_fits=True,
           cycles=2304, simulation=True, targets=("ice40", "ecp5", "cmos")):
    synth = {"ice40": fpga(luts, 40.0, fits=ice40_fits, cycles=cycles),
             "ecp5": fpga(luts - 100, 50.0, cycles=cycles, bram_bits=18432),
             "cmos": {"transistors": transistors, "ffs": transistors // 40, "gates": 1}}
    data = {
        "design": design,
        "cycles_per_inference": cycles,
        "memory_bits": 30000,
        "simulation": {"images": 360, "golden_accuracy": accuracy, "rtl_accuracy": accuracy,
                       "rtl_equals_golden": True, "mismatches": 0} if simulation else None,
        "cost": {"ace": ace, "cpu64": ace / 64, "bops": ace, "macs": {"binary": ace}},
        "synthesis": {"targets": {t: {**synth[t], "seconds": 100.0} for t in targets},
                      "seconds": 100.0 * len(targets)},
    }
    if energy_pj is not None:
        data["energy"] = {"toggle_model": "transistors",
                          "total": {"toggle_proxy_pj": energy_pj,
                                    "op_count_estimate_pj": 0.9 * energy_pj}}
    return data


def four_reports(*, energy=True):
    return {
        "boolnet": report("boolnet", accuracy=0.925, luts=6747, transistors=992_894,
                          ace=1_000_000, energy_pj=100_000.0 if energy else None,
                          ice40_fits=False, cycles=4096),
        "xnornet": report("xnornet", accuracy=0.9583, luts=5000, transistors=800_000,
                          ace=2_000_000, energy_pj=150_000.0 if energy else None),
        "panet": report("panet", accuracy=0.9667, luts=7000, transistors=1_200_000,
                        ace=3_000_000),
        "pokebnn": report("pokebnn", accuracy=0.9333, luts=4000, transistors=700_000,
                          ace=1_500_000),
    }


def synth(transistors, luts, cells=None, ffs=0):
    return {"cmos": {"transistors": transistors, "gates": 10, "ffs": ffs,
                     "cells": cells or {"$_NAND_": 1}},
            "ice40": {"luts": luts, "carry": 0, "ffs": ffs}}


def pe_micro(width=256):
    """XNOR gates 16 T each, AND gates 6 T each; the PEs differ by the gates only."""
    tree = 20_000
    return {
        "width": width,
        "gates": {"xnor": synth(16 * width, width, {"$_NOR_": 3 * width, "$_NOT_": 2 * width}),
                  "and": synth(6 * width, width, {"$_NAND_": width, "$_NOT_": width})},
        "pe": {"xnor": synth(16 * width + tree, 300), "and": synth(6 * width + tree, 290)},
        "ratios": {"gates_cmos": 16 / 6, "gates_ice40": 1.0,
                   "pe_cmos": (16 * width + tree) / (6 * width + tree), "pe_ice40": 300 / 290,
                   "popcount_share_cmos": tree / (16 * width + tree)},
        "per_gate_transistors": {"xnor": 16.0, "and": 6.0},
        "per_gate_cells": {"xnor": {"$_NOR_": 3.0, "$_NOT_": 2.0},
                           "and": {"$_NAND_": 1.0, "$_NOT_": 1.0}},
        "yosys_cost_table": {"xnor": 12, "and": 6},
        "seconds": 1.0,
    }


def accumulator_micro():
    units = {
        "threshold": {"int32": {**synth(3000, 90, ffs=33), "param_bits": 33, "acc_width": 32},
                      "int8": {**synth(1000, 30, ffs=9), "param_bits": 9, "acc_width": 8}},
        "affine": {"int32": {**synth(60_000, 1500, ffs=64), "param_bits": 64, "acc_width": 32},
                   "int8": {**synth(6_000, 200, ffs=16), "param_bits": 32, "acc_width": 8}},
    }
    return {"fan_in": 256, "simd": 32, "units": units,
            "ratios": {"threshold": {"cmos": 3.0, "ice40": 3.0, "param_bits": 33 / 9},
                       "affine": {"cmos": 10.0, "ice40": 7.5, "param_bits": 2.0}},
            "seconds": 2.0}
