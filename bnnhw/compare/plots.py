"""PNG plots of the comparison (matplotlib, ``Agg`` backend: no display needed).

:func:`overview_plot` draws the designs side by side, one panel per metric (accuracy, LUTs, BRAM
bits, Fmax, inferences/s, transistors, energy proxy, ACE); a missing number leaves its bar out
and says why in the panel. :func:`claims_plot` draws each paper claim's ratio next to ours.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["PANELS", "overview_plot", "claims_plot"]

#: (title, [(series label, metric key)], unit scale, unit label) per panel.
PANELS = (
    ("Accuracy (held-out digits)", [("golden", "golden_accuracy"), ("RTL", "rtl_accuracy")],
     100, "%"),
    ("LUT4s", [("iCE40", "ice40_luts"), ("ECP5", "ecp5_luts")], 1, "LUT4"),
    ("Block RAM bits used", [("iCE40", "ice40_bram_bits"), ("ECP5", "ecp5_bram_bits")],
     1e-3, "Kbit"),
    ("Fmax after place & route", [("iCE40", "ice40_fmax_mhz"), ("ECP5", "ecp5_fmax_mhz")],
     1, "MHz"),
    ("Inferences per second", [("iCE40", "ice40_inferences_per_s"),
                               ("ECP5", "ecp5_inferences_per_s")], 1e-3, "thousand / s"),
    ("CMOS transistors (Yosys)", [("cmos", "transistors")], 1e-6, "million"),
    ("Energy proxy per inference", [("toggle proxy", "energy_pj")], 1e-3, "nJ"),
    ("ACE per inference", [("ACE", "ace")], 1e-6, "million"),
)

_COLORS = ("#4878d0", "#ee854a", "#6acc64")


def _missing_text(rows, key):
    if key.startswith("energy"):
        return "no energy in report.json"
    if key.endswith(("fmax_mhz", "inferences_per_s")):
        family = key.split("_")[0]
        if any(r.get(f"{family}_fits") is False for r in rows):
            return f"no fit on {family}"
    return "n/a"


def overview_plot(rows, path, *, title=None):
    """One PNG with :data:`PANELS` for ``rows`` (from :func:`bnnhw.compare.designs.metrics`)."""
    names = [r["design"] for r in rows]
    fig, axes = plt.subplots(2, 4, figsize=(17, 7.5))
    for ax, (panel, series, scale, unit) in zip(axes.flat, PANELS):
        width = 0.8 / len(series)
        notes, labelled = [], set()
        for s, (label, key) in enumerate(series):
            for i, row in enumerate(rows):
                x = i - 0.4 + width * (s + 0.5)
                value = row.get(key)
                if value is None:
                    ax.text(x, 0, "x", ha="center", va="bottom", color=_COLORS[s], fontsize=9)
                    notes.append(f"x {label} {row['design']}: {_missing_text(rows, key)}")
                    continue
                ax.bar(x, value * scale, width, color=_COLORS[s],
                       label=None if label in labelled else label)
                labelled.add(label)
                family = key.split("_")[0]
                no_fit = family in ("ice40", "ecp5") and row.get(f"{family}_fits") is False
                device = row.get(f"{family}_device") or ""
                big = "85k" if key.endswith("fmax_mhz") and "85F" in device else ""
                ax.text(x, value * scale, _short(value * scale) + ("\nno fit" if no_fit else "")
                        + (f"\n({big})" if big else ""), ha="center", va="bottom", fontsize=7)
        if len(series) > 1 and labelled:
            ax.legend(fontsize=7, loc="upper right", ncol=len(series))
        values = [r.get(key) * scale for _, key in series for r in rows
                  if r.get(key) is not None]
        if key.endswith("accuracy") and values:   # differences of a few % on a 0-100 axis
            ax.set_ylim(max(0.0, 10 * (min(values) // 10) - 10), 106)
        ax.set_title(panel, fontsize=10)
        ax.set_ylabel(unit, fontsize=8)
        ax.set_xticks(range(len(names)), names, fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        ax.margins(y=0.3)
        if notes:
            ax.text(0.01, 0.99, "\n".join(sorted(set(notes))[:4]), transform=ax.transAxes,
                    va="top", ha="left", fontsize=6.5, color="#555555")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _short(value):
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def claims_plot(rows, path):
    """Horizontal bars: each claim's paper ratio and our measured ratio."""
    fig, ax = plt.subplots(figsize=(10, 0.9 + 0.75 * len(rows)))
    labels = [_wrap(r["claim"]) for r in rows]
    for i, row in enumerate(rows):
        ax.barh(i + 0.2, row["paper_ratio"], 0.38, color="#999999",
                label="paper" if i == 0 else None)
        ax.text(row["paper_ratio"], i + 0.2, f" {row['paper_ratio']:.2f}x", va="center",
                fontsize=8)
        if row["ours"] is not None:
            ax.barh(i - 0.2, row["ours"], 0.38, color="#4878d0", label="ours" if i == 0 else None)
            ax.text(row["ours"], i - 0.2, f" {row['ours']:.2f}x", va="center", fontsize=8)
        else:
            ax.text(0.05, i - 0.2, "not measured", va="center", fontsize=8)
    ax.axvline(1.0, color="black", linewidth=0.6)
    ax.set_yticks(range(len(rows)), labels, fontsize=7.5)
    ax.invert_yaxis()
    ax.set_xlabel("ratio (costlier / cheaper variant)")
    ax.margins(x=0.12)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Paper claims: the paper's ratio and ours", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _wrap(text, width=48):
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])
