"""The compiler: model -> integer parameters -> hardware plan (folding) -> memory images."""

from .lower import CompiledNetwork, Value, lower
from .quantize import ConversionError, fixed_point, requant_params

__all__ = ["CompiledNetwork", "Value", "lower", "ConversionError", "fixed_point",
           "requant_params"]
