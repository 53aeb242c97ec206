"""Build a compiled network in the hardware generator, as the build's generate step does."""

from amaranth.hdl import Fragment

from bnnhw.compiler import hardware_plan
from bnnhw.hw.network import StreamingNetwork


def elaborate_network(compiled, plan):
    """``StreamingNetwork`` of the compiler's hardware plan, elaborated (every engine built, so
    Amaranth sees each one used); returns the network."""
    network = StreamingNetwork(hardware_plan(compiled, plan))
    Fragment.get(network, None)
    return network
