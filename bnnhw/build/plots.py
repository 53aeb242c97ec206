"""PNG plots of a build (matplotlib's Agg canvas, no display): what the report's tables say, at
a glance.

- ``plots/cycles.png`` (every build): cycles per inference of each matrix layer, the bottleneck
  (the slowest layer, which sets the throughput) marked.
- ``plots/resources.png`` (``--synth``): LUT4 (every LUT4 occupied) and flip-flops per engine,
  per FPGA target.
- ``plots/confusion.png`` (``--sim`` on labelled inputs): the RTL's confusion matrix, with the
  RTL's and the golden model's accuracy.
- ``plots/energy.png`` (``--energy``): the energy proxy per engine, split into logic toggles,
  memory and arithmetic.

Files carry no timestamp or software version, so a build's plots depend only on the build and
the installed matplotlib.
"""

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["build_plots"]

_BLUE, _ORANGE, _GREEN, _RED = "#4878d0", "#ee854a", "#6acc64", "#d65f5f"
_DPI = 100


def _png(fig):
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def cycles_plot(design, layers, cycles_per_inference):
    """``layers``: ``[(name, cycles)]`` in network order."""
    names = [name for name, _ in layers]
    cycles = [c for _, c in layers]
    slowest = max(cycles) if cycles else 0
    fig = Figure(figsize=(8, 1.6 + 0.32 * len(layers)))
    ax = fig.add_subplot()
    y = np.arange(len(layers))
    ax.barh(y, cycles, color=[_RED if c == slowest else _BLUE for c in cycles])
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.axvline(cycles_per_inference, color="black", linestyle="--", linewidth=1)
    ax.set_xlabel("cycles per inference")
    ax.set_title(f"{design}: cycles per layer (red: the bottleneck; dashed: the network, "
                 f"{cycles_per_inference:,})", fontsize=10)
    for k, c in enumerate(cycles):
        ax.text(c, k, f" {c:,}", va="center", fontsize=8)
    ax.set_xlim(0, max(cycles + [cycles_per_inference]) * 1.18)
    fig.tight_layout()
    return _png(fig)


def resources_plot(design, per_target):
    """``per_target``: ``{target: {engine: {"lut4": n, "ffs": n}}}``."""
    targets = list(per_target)
    fig = Figure(figsize=(9, 3.2 * len(targets)))
    for row, target in enumerate(targets):
        blocks = per_target[target]
        names = sorted(blocks, key=lambda b: -blocks[b]["lut4"])
        ax = fig.add_subplot(len(targets), 1, row + 1)
        x = np.arange(len(names))
        ax.bar(x - 0.2, [blocks[b]["lut4"] for b in names], 0.4, color=_BLUE, label="LUT4")
        ax.bar(x + 0.2, [blocks[b]["ffs"] for b in names], 0.4, color=_ORANGE, label="FF")
        ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
        ax.set_title(f"{design} on {target}: per engine (Yosys)", fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def confusion_plot(design, labels, predicted, classes, rtl_accuracy, golden_accuracy):
    matrix = np.zeros((classes, classes), dtype=np.int64)
    for true, got in zip(labels, predicted):
        matrix[int(true), int(got)] += 1
    fig = Figure(figsize=(6, 5.4))
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax)
    for (i, j), n in np.ndenumerate(matrix):
        if n:
            ax.text(j, i, str(n), ha="center", va="center", fontsize=7,
                    color="white" if n > matrix.max() / 2 else "black")
    ax.set_xticks(range(classes))
    ax.set_yticks(range(classes))
    ax.set_xlabel("class from the RTL")
    ax.set_ylabel("label")
    golden = "" if golden_accuracy is None else f", golden {100 * golden_accuracy:.1f} %"
    ax.set_title(f"{design}: {len(labels)} inputs, RTL {100 * rtl_accuracy:.1f} %{golden}",
                 fontsize=10)
    fig.tight_layout()
    return _png(fig)


def energy_plot(design, engines):
    """``engines``: ``{engine: {"logic_toggle_pj", "memory_pj", "arithmetic_ops_pj"}}``."""
    names = list(engines)
    parts = (("logic_toggle_pj", "logic toggles", _BLUE), ("memory_pj", "memory", _ORANGE),
             ("arithmetic_ops_pj", "arithmetic (op count)", _GREEN))
    fig = Figure(figsize=(9, 3.8))
    ax = fig.add_subplot()
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for key, label, color in parts:
        values = np.array([engines[n].get(key) or 0.0 for n in names], dtype=float)
        ax.bar(x, values, 0.6, bottom=bottom, color=color, label=label)
        bottom += values
    ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("pJ per inference (proxy)")
    ax.set_title(f"{design}: energy proxy per engine (45 nm constants, docs/energy.md)",
                 fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def build_plots(report, *, sim_arrays=None):
    """``{"plots/NAME.png": bytes}`` for a build's ``report`` (report.json's dict) and, with
    ``--sim``, its ``outputs.npz`` arrays."""
    from ..synth.parse import lut4_equivalent
    design = report["design"]
    plots = {"plots/cycles.png": cycles_plot(
        design, [(f["layer"], f["cycles"]) for f in report["folding"]],
        report["cycles_per_inference"])}
    synthesis = report.get("synthesis") or {}
    per_target = {
        target: {name: {"lut4": lut4_equivalent(target, b), "ffs": b["ffs"]}
                 for name, b in result["per_block"].items()}
        for target, result in synthesis.get("targets", {}).items()
        if target in ("ice40", "ecp5") and result.get("per_block")}
    if per_target:
        plots["plots/resources.png"] = resources_plot(design, per_target)
    sim = report.get("simulation")
    if sim and sim_arrays is not None and "labels" in sim_arrays \
            and sim.get("rtl_accuracy") is not None:
        classes = int(np.asarray(sim_arrays["golden_logits"]).shape[1])
        plots["plots/confusion.png"] = confusion_plot(
            design, sim_arrays["labels"], sim_arrays["rtl_labels"], classes,
            sim["rtl_accuracy"], sim.get("golden_accuracy"))
    energy = report.get("energy")
    if energy and energy.get("engines"):
        plots["plots/energy.png"] = energy_plot(design, energy["engines"])
    return plots
