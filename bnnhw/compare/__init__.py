"""Compare designs side by side and test the papers' hardware claims with synthesized numbers.

``python -m bnnhw.compare boolnet xnornet panet pokebnn`` reads (or builds) each design's
``build/DESIGN/report.json`` (simulation, synthesis, cost, energy), synthesizes three small
micro-comparisons with Yosys in the same run, and writes ``compare.md``, ``compare.json`` and
PNG plots (docs/compare.md)::

    from bnnhw.compare import compare
    data = compare(["boolnet", "xnornet"], builds="build", out="build/compare",
                   targets=("cmos",))
    data["claims"]        # one row per paper claim: paper_ratio, ours, verdict, why

- :mod:`.designs`: report.json per design (reused or built) and the compared metrics;
- :mod:`.circuits` / :mod:`.micro`: the micro-comparison circuits and their synthesis;
- :mod:`.claims`: the papers' claims and the one-sentence explanations;
- :mod:`.report`, :mod:`.plots`: Markdown and PNG output; :mod:`.run`: the whole run.
"""

from .circuits import AccumulatorBN, ProductGates
from .claims import PAPERS, claim_rows
from .designs import CompareError, energy_comparison, load_or_build, metrics, missing_sections
from .micro import MicroError, accumulator_bn, synthesize_component, xnor_vs_and
from .run import compare, write_outputs

__all__ = ["AccumulatorBN", "ProductGates", "PAPERS", "claim_rows", "CompareError",
           "energy_comparison", "load_or_build", "metrics", "missing_sections", "MicroError",
           "accumulator_bn", "synthesize_component", "xnor_vs_and", "compare", "write_outputs"]
