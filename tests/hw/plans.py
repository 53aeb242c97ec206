"""Foldings for block-level tests.

A block (MVTU, MVAU) takes any SIMD that divides its fan-in; only the streaming network's window
forbids a transfer that straddles two pixels, and ``plan_folding`` enforces that rule. Block tests
that exercise the (h, w, c) fan-in order with a SIMD spanning pixels build their plan here.
"""

import dataclasses

from bnnhw.compiler import plan_folding


def unit_plan(compiled, layer, pe, simd):
    """``plan_folding(compiled)`` with ``layer`` folded as ``(pe, simd)``, the window rule
    lifted for that layer (a block-level folding, not one the network generator builds)."""
    plan = plan_folding(compiled)
    layers = tuple(dataclasses.replace(f, channels=0).with_(pe, simd) if f.layer == layer else f
                   for f in plan.layers)
    return dataclasses.replace(plan, layers=layers)
