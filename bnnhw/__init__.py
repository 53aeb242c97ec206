"""bnnhw: RTL generator for binary neural networks.

Data flows one way: model file -> :mod:`bnnhw.model` (validated IR) -> :mod:`bnnhw.compiler`
(integer params, folding, memory images) -> :mod:`bnnhw.hw` (Amaranth) -> Verilog, which is
checked against :mod:`bnnhw.golden` in simulation and costed by :mod:`bnnhw.synth`.
"""

__version__ = "0.1.0.dev0"
