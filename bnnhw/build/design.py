"""Locating a design: kept for ``from bnnhw.build.design import ...``; the code is in
:mod:`bnnhw.design` (below ``build``, so that energy, cost, host and train find designs
without importing the build)."""

from ..design import (CONFIG_FILE, MODEL_FILE, DesignError, design_roots, find_design,
                      known_designs, read_config)

__all__ = ["DesignError", "design_roots", "known_designs", "find_design", "read_config",
           "MODEL_FILE", "CONFIG_FILE"]
