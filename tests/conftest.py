"""Shared pytest configuration.

Hypothesis runs derandomized by default (profile "ci") so every run of the suite explores the same
examples; set HYPOTHESIS_PROFILE=dev for fresh random examples when hunting bugs locally.
"""

import os
from pathlib import Path

import pytest
from hypothesis import settings

from bnnhw.compiler import lower
from bnnhw.model import load

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parents[1]
#: The four committed designs of the design tests (designs/finn_* are checked on their own).
DESIGNS = ("boolnet", "xnornet", "panet", "pokebnn")


@pytest.fixture(scope="session")
def designs_compiled():
    """The committed designs, loaded and compiled once per session."""
    return {name: lower(load(ROOT / "designs" / name / "model.npz")) for name in DESIGNS}
