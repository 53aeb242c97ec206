"""Pareto fronts of a sweep's rows, and their plots (PNG, matplotlib's Agg backend).

Two fronts (``docs/explore.md``):

- **area vs speed**: fewest LUT4 against most inferences per second (per million cycles when the
  rows carry no Fmax: a sweep on the resource model alone);
- **energy vs accuracy**: least energy per inference (the toggle proxy, ``--energy``) against the
  highest accuracy in simulation.

A row is on a front when no other row is at least as good on both axes and better on one.
Rows with an error, a device they do not fit, or a missing axis value are left out.
"""

__all__ = ["pareto_front", "speed_axis", "plot_fronts"]


def speed_axis(rows):
    """``(field, label)`` of the speed axis: inferences per second when every usable row has
    an Fmax, else inferences per million cycles."""
    usable = [r for r in rows if r.get("error") is None]
    if usable and all(r.get("inferences_per_second") for r in usable):
        return "inferences_per_second", "inferences / s (nextpnr Fmax)"
    return "inferences_per_mcycle", "inferences per million cycles"


def pareto_front(rows, minimize, maximize):
    """Keys of the rows on the front of ``minimize`` (a field, lower is better) and ``maximize``
    (higher is better)."""
    usable = [r for r in rows if r.get("error") is None and r.get("fits") is not False
              and r.get(minimize) is not None and r.get(maximize) is not None]
    front = set()
    for row in usable:
        dominated = any(
            other[minimize] <= row[minimize] and other[maximize] >= row[maximize]
            and (other[minimize] < row[minimize] or other[maximize] > row[maximize])
            for other in usable)
        if not dominated:
            front.add(row["key"])
    return front


def _plot(ax, rows, x, y, front, xlabel, ylabel, title):
    for target, marker in (("ecp5", "o"), ("ice40", "s")):
        mine = [r for r in rows if r["target"] == target and r.get(x) is not None
                and r.get(y) is not None and r.get("error") is None]
        if not mine:
            continue
        ax.scatter([r[x] for r in mine], [r[y] for r in mine], marker=marker, color="#9aa5b1",
                   label=f"{target}")
        best = sorted((r for r in mine if r["key"] in front), key=lambda r: r[x])
        if best:
            ax.plot([r[x] for r in best], [r[y] for r in best], marker=marker, color="#c0392b",
                    label=f"{target}: Pareto front")
            for r in best:
                ax.annotate(f"{r['cycles_per_inference']}c {r['weights']}", (r[x], r[y]),
                            fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)


def plot_fronts(rows, folder, design):
    """Write ``pareto_area_speed.png`` (and ``pareto_energy_accuracy.png`` when rows carry
    energy and accuracy) into ``folder``; returns the file names written."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    speed, speed_label = speed_axis(rows)
    front = pareto_front(rows, "lut4", speed)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    _plot(ax, rows, "lut4", speed, front, "LUT4", speed_label,
          f"{design}: area vs throughput ({len(rows)} points)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(folder / "pareto_area_speed.png", metadata={"Software": None})
    plt.close(fig)
    written.append("pareto_area_speed.png")
    if any(r.get("energy_pj") is not None and r.get("accuracy") is not None for r in rows):
        front = pareto_front(rows, "energy_pj", "accuracy")
        fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
        _plot(ax, rows, "energy_pj", "accuracy", front, "energy proxy, pJ / inference",
              "accuracy (RTL simulation)", f"{design}: energy vs accuracy")
        fig.tight_layout()
        fig.savefig(folder / "pareto_energy_accuracy.png", metadata={"Software": None})
        plt.close(fig)
        written.append("pareto_energy_accuracy.png")
    return written
