"""Shared fixtures: the committed designs, loaded and compiled once per session."""

from pathlib import Path

import pytest

from bnnhw.compiler import lower
from bnnhw.model import load

ROOT = Path(__file__).resolve().parents[2]
DESIGNS = ("boolnet", "xnornet", "panet", "pokebnn")


@pytest.fixture(scope="session")
def designs_compiled():
    return {name: lower(load(ROOT / "designs" / name / "model.npz")) for name in DESIGNS}
