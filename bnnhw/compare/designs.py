"""Per-design numbers: read a build's report.json (or build it) and pick the compared metrics.

:func:`load_or_build` returns a design's report.json, building it with
``bnnhw.build.run_build(design, sim=True, synth=targets)`` when the folder has no report or the
report lacks a section the comparison needs (:func:`missing_sections`). :func:`metrics` flattens
a report into the row the comparison shows; every number is the report's own (accuracy from the
``simulation``, resources and Fmax from ``synthesis``, ACE from ``cost``, the energy proxy from
``energy`` when the build measured it), nothing is recomputed.
"""

import inspect
import json
from pathlib import Path
from ..errors import BnnhwError

__all__ = ["CompareError", "missing_sections", "load_or_build", "metrics", "energy_of",
           "energy_comparison",
           "op_count_energy", "DEFAULT_ENERGY_IMAGES", "FPGA_TARGETS"]

FPGA_TARGETS = ("ice40", "ecp5")
#: Held-out digits of the energy proxy's toggle measurement when a build is run here.
DEFAULT_ENERGY_IMAGES = 20


class CompareError(BnnhwError, RuntimeError):
    """The comparison cannot go on; the message names the design and the cause."""


def missing_sections(report, targets):
    """Sections of ``report`` the comparison needs but lacks: ``simulation``, ``synthesis:T``."""
    missing = []
    if not report.get("simulation"):
        missing.append("simulation")
    have = set(((report.get("synthesis") or {}).get("targets") or {}))
    missing += [f"synthesis:{t}" for t in targets if t not in have]
    return missing


def _read(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise CompareError(f"{path}: cannot read: {error}") from None


def load_or_build(design, builds, targets, *, rebuild=False, energy=DEFAULT_ENERGY_IMAGES,
                  log=print):
    """``(report, origin)`` of ``design``: origin ``"reused"`` or ``"built"``.

    ``builds/<design name>/report.json`` is reused unless ``rebuild`` or it misses a section;
    otherwise the design is built into that folder with ``--sim`` and ``--synth targets`` (and the
    energy proxy on ``energy`` held-out digits, when ``run_build`` supports it and ``energy``).
    """
    from ..build import BuildError, find_design, run_build

    name = find_design(design).name
    out = Path(builds) / name
    report_path = out / "report.json"
    if report_path.is_file() and not rebuild:
        report = _read(report_path)
        missing = missing_sections(report, targets)
        if not missing:
            log(f"compare: {name}: reusing {report_path}")
            return report, "reused"
        log(f"compare: {name}: {report_path} lacks {', '.join(missing)}; rebuilding")
    kwargs = {"out": out, "sim": True, "synth": list(targets)}
    if energy and "energy" in inspect.signature(run_build).parameters:
        kwargs["energy"] = energy
    slow = (f"; synthesis takes about {4 * len(targets)} min for {', '.join(targets)} "
            "(about 10 min per design for all three targets)" if targets else "")
    log(f"compare: {name}: building into {out} (--sim" +
        (f", --synth {','.join(targets)}" if targets else "") +
        (f", --energy {kwargs['energy']}" if "energy" in kwargs else "") + f"){slow}")
    try:
        result = run_build(design, log=lambda line: log(f"  {line}"), **kwargs)
    except BuildError as error:
        raise CompareError(f"{name}: build failed: {error}") from None
    return result.report, "built"


def _get(mapping, *keys):
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def energy_of(report):
    """``(toggle_proxy_pj, op_count_estimate_pj, toggle_model)`` from ``report["energy"]``.

    ``(None, None, None)`` when the build did not measure the energy proxy.
    """
    energy = report.get("energy")
    if not isinstance(energy, dict):
        return None, None, None
    total = energy.get("total") or {}
    return (total.get("toggle_proxy_pj"), total.get("op_count_estimate_pj"),
            energy.get("toggle_model"))


def op_count_energy(design):
    """Energy estimate without a simulation: ``bnnhw.cost`` op counts x 45 nm energies.

    Returns ``{"arithmetic_pj", "op_count_estimate_pj"}`` per inference: the bit-adders of every
    layer's MACs and element-wise work (``bnnhw.energy.model.layer_bit_adders``, i.e. ACE and
    widths) x PokeBNN Table 1's 30 fJ per 8-bit add / 8, and that plus the on-chip memory traffic
    (``bnnhw.energy``'s op-count estimate; docs/energy.md). ``None`` values if ``bnnhw.energy``
    is not available.
    """
    try:
        from ..energy import energy_report, load_design
    except ImportError:
        return {"arithmetic_pj": None, "op_count_estimate_pj": None}
    import gc
    import warnings

    from amaranth.hdl import UnusedElaboratable

    with warnings.catch_warnings():
        # the network is built for its structure only and never elaborated
        warnings.simplefilter("ignore", UnusedElaboratable)
        network, compiled, _, _ = load_design(design)
        total = energy_report(network, compiled, toggles=None)["total"]
        del network
        gc.collect()
    return {"arithmetic_pj": total["arithmetic_ops_pj"],
            "op_count_estimate_pj": total["op_count_estimate_pj"]}


def metrics(report):
    """The compared numbers of one build report (``None`` where the report has none).

    Keys: ``design``, ``golden_accuracy``, ``rtl_accuracy``, ``rtl_equals_golden``, ``images``,
    ``cycles_per_inference``, ``rom_bits``, ``ace``, ``cpu64``, ``bops``, per FPGA family
    ``{f}_luts``, ``{f}_ffs``, ``{f}_carry``, ``{f}_bram``, ``{f}_bram_bits``, ``{f}_dsp``,
    ``{f}_fits``, ``{f}_device``, ``{f}_fmax_mhz``, ``{f}_inferences_per_s``, ``{f}_overflow``
    (the largest device's, when nothing fits), ``{f}_note`` (the device note),
    ``transistors``, ``cmos_ffs``, ``energy_pj`` (the toggle proxy), ``energy_op_count_pj``,
    ``energy_model``.
    """
    sim = report.get("simulation") or {}
    cost = report.get("cost") or {}
    targets = _get(report, "synthesis", "targets") or {}
    row = {
        "design": report.get("design"),
        "golden_accuracy": sim.get("golden_accuracy"),
        "rtl_accuracy": sim.get("rtl_accuracy"),
        "rtl_equals_golden": sim.get("rtl_equals_golden"),
        "images": sim.get("images"),
        "cycles_per_inference": report.get("cycles_per_inference"),
        "rom_bits": report.get("memory_bits"),
        "ace": cost.get("ace"),
        "cpu64": cost.get("cpu64"),
        "bops": cost.get("bops"),
    }
    for family in FPGA_TARGETS:
        t = targets.get(family) or {}
        for key in ("luts", "ffs", "carry", "bram", "bram_bits", "dsp", "fits", "device",
                    "fmax_mhz", "inferences_per_s"):
            row[f"{family}_{key}"] = t.get(key)
        overflow = t.get("overflow") or []
        row[f"{family}_overflow"] = ", ".join(
            f"{o.get('resource', '?')} {o.get('used', '?')}/{o.get('available', '?')}"
            for o in overflow if isinstance(o, dict)) or None
        row[f"{family}_note"] = t.get("device_note")
    cmos = targets.get("cmos") or {}
    row["transistors"] = cmos.get("transistors")
    row["cmos_ffs"] = cmos.get("ffs")
    proxy, op_count, model = energy_of(report)
    row["energy_pj"], row["energy_op_count_pj"], row["energy_model"] = proxy, op_count, model
    return row


def energy_comparison(reports, *, first="xnornet", second="boolnet"):
    """``first`` / ``second`` energy per inference, from the reports or from op counts.

    ``reports`` maps design names to report.json contents (either may be missing). When both
    reports carry the energy proxy (``report["energy"]``, a Verilator toggle measurement) the
    ratio is of the toggle proxy; otherwise both designs are estimated from ``bnnhw.cost``'s op
    counts and the memory traffic (:func:`op_count_energy`) and ``basis`` says so. Returns
    ``{"designs": {name: {...}}, "ratio", "basis", "source", "ratios"}``.
    """
    designs = {}
    for name in (first, second):
        report = reports.get(name) or {}
        proxy, op_count, model = energy_of(report)
        designs[name] = {"toggle_proxy_pj": proxy, "op_count_estimate_pj": op_count,
                         "arithmetic_pj": _get(report, "energy", "total", "arithmetic_ops_pj"),
                         "toggle_model": model}

    def ratio(key):
        a, b = designs[first].get(key), designs[second].get(key)
        return a / b if a is not None and b else None

    ratios = {"toggle_proxy": ratio("toggle_proxy_pj")}
    if ratios["toggle_proxy"] is not None:
        model = designs[first]["toggle_model"]
        ratios["op_count_estimate"] = ratio("op_count_estimate_pj")
        ratios["arithmetic"] = ratio("arithmetic_pj")
        weighting = ("toggles x CMOS transistors per block" if model == "transistors" else
                     "toggles x a default energy per toggle" if model == "default" else
                     f"toggles ({model})")
        return {"designs": designs, "ratios": ratios, "ratio": ratios["toggle_proxy"],
                "source": "report",
                "basis": f"energy proxy of the builds' report.json ({weighting}, plus on-chip "
                         "memory bits; docs/energy.md)"}
    for name in (first, second):
        try:
            designs[name].update(op_count_energy(name))
        except Exception as error:  # a design that cannot be loaded: no estimate
            designs[name]["error"] = str(error)
    ratios["arithmetic"] = ratio("arithmetic_pj")
    ratios["op_count_estimate"] = ratio("op_count_estimate_pj")
    return {"designs": designs, "ratios": ratios, "ratio": ratios["op_count_estimate"],
            "source": "op counts",
            "basis": f"no energy proxy in both reports ({first}, {second}): bnnhw.cost op "
                     "counts x PokeBNN Table 1 "
                     "45 nm energies (3.75 fJ per bit-adder) plus on-chip memory bits x "
                     "156 fJ (bnnhw.energy op-count estimate, no simulation)"}
