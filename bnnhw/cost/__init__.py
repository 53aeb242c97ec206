"""Analytic cost metrics: ACE, CPU64, BOPs, FLOPs, parameter and feature-map bits, per layer.

For a model file, a design under ``designs/`` (both compiled with :func:`bnnhw.compiler.lower`
first, so the counts are of what the hardware computes) or a built-in paper architecture
described by its layer shapes (ResNet-50, PokeBNN-0.5x ... 2.0x, ReActNet-A, XNOR-Net and
Bi-RealNet-18, BaseNet and the BoolNet Table 3 stage blocks)::

    from bnnhw.cost import cost_of
    report = cost_of("pokebnn-1.0x")          # or "boolnet", or "path/to/model.npz"
    report.ace, report.cpu64, report.macs     # 4223..., Fraction(...), {"int8": ..., ...}
    print(report.format_text())

Command line: ``python -m bnnhw.cost NAME [--json]``, ``python -m bnnhw.cost --table2``.
Definitions, what is counted per op, and the comparison with the papers: docs/cost.md.
"""

from .architectures import BUILTINS, builtin, builtin_names
from .compiled import cost_of_compiled
from .precision import ace_per_mac, cpu64_per_mac, precision
from .report import CostReport, LayerCost
from .resolve import CostError, cost_of, cost_of_model_file

__all__ = ["BUILTINS", "builtin", "builtin_names", "cost_of_compiled", "ace_per_mac",
           "cpu64_per_mac", "precision", "CostReport", "LayerCost", "CostError", "cost_of",
           "cost_of_model_file"]
