"""Amaranth components of the bnnhw datapaths (docs/hw-conventions.md).

Popcount trees and binary dot products (:mod:`.popcount`); the constant-weight dense layer that
shares work between its outputs (:mod:`.constmatrix`); the binary matrix-vector unit
(:mod:`.mvau`) and the same with folded thresholds (:mod:`.mvtu`); the int8 dot-product unit
(:mod:`.int8mac`); the PA-Net base combiner (:mod:`.panet`); threshold / sign units
(:mod:`.threshold`); fixed-point units (:mod:`.fixed`); pooling and argmax (:mod:`.pool`); the
sliding-window unit that feeds convolutions (:mod:`.window`). Each is bit-exact to
:mod:`bnnhw.golden`; tests connect them. The streaming network top (:mod:`.network`) elaborates
the compiler's hardware plan, which it receives as data (``bnnhw.hw`` imports no compiler).
"""

from .constmatrix import ConstMatrixDense
from .fixed import DPReLU, QuantizedBN, Requantize, SaturatingAdd
from .int8mac import Int8MAC, pack_int8_weights
from .mvau import BinaryMVAU
from .mvtu import BinaryMVTU
from .panet import PANetCombiner, csd_digits
from .pool import Argmax, BinaryMaxPool, GlobalPopcountPool
from .popcount import (
    AndPopcount,
    NaivePopcount,
    Popcount,
    ThresholdDense,
    XnorPopcount,
    popcount_depth,
)
from .threshold import ThresholdUnit
from .window import SlidingWindow

__all__ = [
    "AndPopcount", "NaivePopcount", "Popcount", "ThresholdDense", "XnorPopcount",
    "popcount_depth", "ConstMatrixDense", "BinaryMVAU", "BinaryMVTU", "Int8MAC",
    "pack_int8_weights", "PANetCombiner",
    "csd_digits", "ThresholdUnit", "DPReLU", "QuantizedBN", "Requantize", "SaturatingAdd",
    "Argmax", "BinaryMaxPool", "GlobalPopcountPool", "SlidingWindow",
]
