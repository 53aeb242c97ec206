"""The compiler: model -> integer parameters -> hardware plan (folding) -> memory images."""

from .folding import (FoldingError, FoldingPlan, LayerFolding, matrix_layers, plan_folding,
                      pooled_dense_layers)
from .images import fan_in_order, memory_images, write_images
from .lower import CompiledNetwork, Value, lower
from .quantize import ConversionError, fixed_point, requant_params

__all__ = ["CompiledNetwork", "Value", "lower", "ConversionError", "fixed_point",
           "requant_params", "FoldingError", "FoldingPlan", "LayerFolding", "matrix_layers",
           "plan_folding", "pooled_dense_layers", "fan_in_order", "memory_images", "write_images"]
