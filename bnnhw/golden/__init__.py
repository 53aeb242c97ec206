"""NumPy golden model: the executable specification of every bnnhw datapath.

Whole tensors in NCHW (or (B, N) for dense layers), exact integer arithmetic wherever hardware
computes in integers, float64 only where the contract says so (batch norm before folding). The
rules are stated in ``docs/numerics.md``; each function cites the paper equation it implements.
Bad arguments raise :class:`ValueError` naming the argument.
"""

from .binary import (
    DOTS, OPS, ZERO_PADDED_XNOR, and_popcount, binary_conv2d, binary_dense, conv_fan_in,
    count_top, pad_bit, popcount, xnor_dot, xnor_popcount, zero_padded_dot,
)
from .bits import bits_to_int, bits_to_pm1, int_to_bits, pack_bits, pm1_to_bits, unpack_bits
from .channels import channel_concat, channel_shuffle, channel_split, shuffle_permutation
from .classify import argmax
from .fixed import (
    INT8_MAX, dprelu, quantized_bn, requantize, round_shift, saturate, saturating_add,
)
from .int8 import int8_conv2d, int8_dense
from .panet import panet_activation_bases, panet_conv2d, panet_dense
from .pool import binary_maxpool2d, global_popcount_pool
from .threshold import (
    SignThreshold, bn_affine, dot_values, fold_multi_slice, fold_sign_range, fold_sign_threshold,
    fold_table,
    multi_slice_sign, sign_rule, sign_threshold,
)
from .network import IntLayer, classify, run

__all__ = [
    "OPS", "and_popcount", "binary_conv2d", "binary_dense", "conv_fan_in", "pad_bit", "popcount",
    "xnor_dot", "xnor_popcount", "DOTS", "ZERO_PADDED_XNOR", "count_top", "zero_padded_dot",
    "bits_to_int", "bits_to_pm1", "int_to_bits", "pack_bits", "pm1_to_bits", "unpack_bits",
    "channel_concat", "channel_shuffle", "channel_split", "shuffle_permutation",
    "argmax",
    "INT8_MAX", "dprelu", "quantized_bn", "requantize", "round_shift", "saturate",
    "saturating_add",
    "int8_conv2d", "int8_dense",
    "panet_activation_bases", "panet_conv2d", "panet_dense",
    "binary_maxpool2d", "global_popcount_pool",
    "SignThreshold", "bn_affine", "dot_values", "fold_multi_slice", "fold_sign_range", "fold_table",
    "fold_sign_threshold", "multi_slice_sign", "sign_rule", "sign_threshold",
    "IntLayer", "classify", "run",
]
