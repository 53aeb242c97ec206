"""The compiler: model -> integer parameters -> folding -> hardware plan -> memory images."""

from .folding import (WEIGHT_MODES, FoldingError, FoldingPlan, LayerFolding, matrix_layers,
                      plan_folding)
from .fusion import MATRIX_OPS, fused_thresholds, pooled_dense_layers
from .hardware import (Engine, Geometry, HardwarePlan, Rom, RomField, Thresholds, ValueFormat,
                       hardware_plan)
from .images import fan_in_order, memory_images, plan_images, write_images
from .lower import CompiledNetwork, Value, lower
from .quantize import ConversionError, fixed_point, requant_params

__all__ = ["CompiledNetwork", "Value", "lower", "ConversionError", "fixed_point",
           "requant_params", "FoldingError", "FoldingPlan", "LayerFolding", "matrix_layers",
           "plan_folding", "WEIGHT_MODES", "MATRIX_OPS", "fused_thresholds", "pooled_dense_layers",
           "HardwarePlan", "Engine", "Geometry", "Thresholds", "ValueFormat", "Rom", "RomField",
           "hardware_plan", "fan_in_order", "memory_images", "plan_images", "write_images"]
