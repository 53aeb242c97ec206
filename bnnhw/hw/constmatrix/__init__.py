"""Constant-weight binary dense layer that shares work between its outputs.

``ConstMatrixDense(weights, thresholds)`` computes ``y[o] = p[o] >= thresholds[o]`` with
``p[o] = popcount(XNOR(x, weights[o]))`` (or ``AND``), exactly like the constant-weight
:class:`~bnnhw.hw.popcount.ThresholdDense`, but it is planned as one netlist for the whole
matrix instead of one popcount tree per output. Design (measured in
``benchmarks/results/popcount.md``):

1. **Shared full adders.** Output ``o`` is a *bit heap*: its input literals ``x_i`` or ``~x_i``
   at weight 1 plus a constant. A full adder on three literals of the same weight splits their
   sum into ``parity * w + majority * 2w``. The parity of three nets is the same function for
   every output that holds those three nets, whatever their polarities (only its polarity
   changes), and the majority takes one of four functions up to complement (the "class" of the
   output's polarity pattern). So one XOR3 LUT plus at most four MAJ3 LUTs remove one bit from
   *every* output that holds the triple. A greedy pass (common-subexpression elimination on
   triples, in the spirit of RAG-n / Hcub, with full adders instead of two-term adds) first
   applies this to nets held by all outputs (all inputs of an XNOR layer, then the parities it
   creates), choosing triples whose polarity classes are most concentrated, then to triples
   shared by at least two outputs while ``beta * outputs > LUTs``.
2. **Per-output compression** of what is left: a Dadda-style reduction of the heap with
   carry-chain adders over arbitrary heap bits (each chain cell takes two bits of its weight
   and the carry, and leaves one: one logic cell per removed bit) and LUT full adders where a
   weight is too isolated for a chain. The threshold is folded into the heap: with
   ``K = 2**m - t`` added, ``p >= t`` is bit ``m`` of the sum, so the last chain computes just
   that bit and no comparator is needed. Constant bits ride in free slots (chain carry-ins,
   empty operand positions, LUT inputs).
3. **Polarity.** The iCE40 carry logic sees the true nets, so a chain adds either only true or
   only inverted bits (``maj(~a, ~b, ~c) = ~maj(a, b, c)``): the chain then runs in the inverted
   domain. Outputs of LUTs and chains are produced in whichever polarity their (single)
   consumer needs.

With ``target="ice40"`` the netlist is emitted as ``SB_LUT4`` / ``SB_CARRY`` instances, so the
logic-cell count is what the plan says (:attr:`ConstMatrixDense.cells`). As generic logic, Yosys'
``abc9`` re-synthesises the shared LUTs for delay and duplicates them. Two nextpnr details shape
the chains: a chain's carry-out is read by an explicit top LUT (no feed-out cell), and a carry-in
from the fabric is only ever a net private to one output (a constant otherwise): nextpnr then
adds one feed-in cell, whereas a shared carry-in net that also reaches other cells' ``I3`` keeps
the packer from pairing the chain's first carry with its sum LUT, and the self-adding
``SB_CARRY(c, c, 0)`` work-around made nextpnr's router1 fail to converge on seed 1
(``benchmarks/results/popcount.md``). ``target="generic"`` emits the same netlist as Amaranth
logic and additions (for simulation and other FPGA families); it is bit-identical.

Pipelining: ``stages`` register ranks split the netlist by estimated delay; the last rank
registers ``y``. Latency is ``stages`` cycles of ``sync`` (0 = combinational).

Modules, imported one way (each only from the ones before it): :mod:`.netlist` (the adder
netlist and the shared full adders), :mod:`.planning` (per-output heap compression, the whole
layer's plan, pipeline stages), :mod:`.emit` (Amaranth / iCE40 primitive emission and
:data:`ICE40_CELL_MODELS`), :mod:`.dense` (the component). Only the names below are public.
"""

from .dense import ConstMatrixDense
from .emit import ICE40_CELL_MODELS

__all__ = ["ConstMatrixDense", "ICE40_CELL_MODELS"]
