"""The committed designs for the cost tests: ``DESIGNS`` and ``ROOT`` (the ``designs_compiled``
fixture is in tests/conftest.py, shared with the compiler tests)."""

from ..conftest import DESIGNS, ROOT

__all__ = ["DESIGNS", "ROOT"]
