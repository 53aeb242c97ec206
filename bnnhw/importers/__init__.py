"""Importers: models written by other tools, mapped exactly onto bnnhw's model format.

:mod:`bnnhw.importers.qonnx` reads QONNX / FINN-ONNX binary networks (Brevitas exports) with the
``onnx`` package alone (docs/import.md).
"""
