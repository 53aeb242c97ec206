"""Build a compiled network in the hardware generator, as the build's generate step does."""

from amaranth.hdl import Fragment

from bnnhw.compiler import memory_images
from bnnhw.hw.network import StreamingNetwork


def elaborate_network(compiled, plan):
    """``StreamingNetwork`` from the compiler's images, elaborated (every engine built, so
    Amaranth sees each one used); returns the network."""
    files, memory_map = memory_images(compiled, plan)
    network = StreamingNetwork(compiled, plan, files, memory_map)
    Fragment.get(network, None)
    return network
