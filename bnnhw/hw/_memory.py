"""Buffers in block RAM whose reads never use the data of a same-cycle write to the same word.

An ``amaranth.lib.memory.Memory`` read port that is not transparent promises the old word when a
write to the same address lands in the same cycle. Block RAMs (iCE40 ``SB_RAM40_4K``, ECP5
``DP16KD``) leave that collision undefined, so Yosys emulates the promise with a register of the
write data and address and a bypass multiplexer: about ``width + 2*address`` flip-flops and
``width`` LUTs per memory (a 32 x 64 buffer: 72 flip-flops and 40 LUTs next to its 2 block
RAMs). Line buffers, vector buffers, pixel buffers and FIFOs never read a word in the cycle it is
written, or ignore what such a read returns; :func:`buffer_memory` marks them with Yosys'
``no_rw_check`` attribute so that the block RAM alone implements them. Simulation (Amaranth,
Verilator) is unaffected: the attribute only tells synthesis the collision does not matter.
"""

from amaranth.lib.memory import Memory

__all__ = ["buffer_memory"]


def buffer_memory(*, shape, depth):
    """A zero-initialised :class:`Memory` whose users guarantee that no read needs the data of
    a same-cycle write to its address (see the module docstring)."""
    return Memory(shape=shape, depth=depth, init=[], attrs={"no_rw_check": 1}, src_loc_at=1)
