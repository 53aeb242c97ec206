"""Simulation-only tops around a :class:`~bnnhw.hw.network.StreamingNetwork`.

:class:`NetworkHarness` (Amaranth) streams input pixels into the network and takes its results,
each side stalling pseudo-randomly (32-bit LFSRs, a stall decided every cycle with probability
``in_threshold / 256`` / ``out_threshold / 256``; the source only changes ``valid`` between
transfers, as the stream rules require). It reads pixel ``pixel_address`` from ``pixel_data``
(combinationally). ``result_toggle`` flips on every output transfer, with the payload in
``result`` and the clock count of that edge in ``result_cycle``. The stall probabilities, the
LFSR ``seed`` and the number of pixels to send (``pixel_count``) are read while ``start`` is
low: one model serves every stall pattern and image count.

:func:`sim_top_verilog` writes the Verilog top ``bnnhw_sim`` around it: the pixel memory
(``depth`` words, loaded with ``$readmemh`` from the file named by the plusarg
``+bnnhw_pixels=FILE`` at time 0), so the images are data of the run, not part of the model,
and one Verilator build serves any images of the design. The clock ``clk`` is a top-level input
that bnnhw's simulator main drives (``run_cocotb(clock="clk")``).

Not synthesizable on purpose (asynchronous memory read, wide counters); never part of a build's
Verilog.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["NetworkHarness", "pixel_depth", "random_stalls", "sim_top_verilog"]

#: Name of the Verilog top written by :func:`sim_top_verilog`.
SIM_TOP = "bnnhw_sim"
#: Smallest pixel memory of a simulation top (a power of two; larger inputs double it), so most
#: image counts of a design share one model.
MIN_PIXEL_DEPTH = 1 << 16


def random_stalls(m, start, seed, in_threshold, out_threshold):
    """``(idle_in, idle_out)``: per-cycle stall flags of the source and the sink from two 32-bit
    Galois LFSRs, seeded from ``seed`` (two different non-zero states) while ``start`` is low
    and stepping while it is high; each side idles when 8 of its bits fall below its
    threshold (``threshold / 256`` of the cycles)."""
    lfsr_in, lfsr_out = Signal(32), Signal(32)
    with m.If(~start):
        m.d.sync += [lfsr_in.eq(seed ^ 0x9E3779B9), lfsr_out.eq(~seed ^ 0x7F4A7C15)]
    with m.Else():
        for lfsr in (lfsr_in, lfsr_out):
            m.d.sync += lfsr.eq((lfsr >> 1) ^ (lfsr[0].replicate(32) & 0x80200003))
    return lfsr_in[:8] < in_threshold, lfsr_out[8:16] < out_threshold


class NetworkHarness(wiring.Component):
    """Feed the pixels at ``pixel_data`` (address ``pixel_address``) to ``network``; expose each
    result.

    Parameters
    ----------
    network : StreamingNetwork
    """

    def __init__(self, network):
        self._network = network
        super().__init__({
            "start": In(1),
            "in_threshold": In(8),
            "out_threshold": In(8),
            "seed": In(32),
            "pixel_count": In(32),
            "pixel_address": Out(32),
            "pixel_data": In(len(network.i.payload)),
            "result": Out(len(network.o.payload)),
            "result_toggle": Out(1),
            "result_cycle": Out(40),
            "results_seen": Out(32),
            "pixels_sent": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.network = net = self._network

        cycle = Signal(40)
        with m.If(self.start):
            m.d.sync += cycle.eq(cycle + 1)

        idle_in, idle_out = random_stalls(m, self.start, self.seed, self.in_threshold,
                                          self.out_threshold)

        # --- source: valid only changes between transfers ---
        address = Signal(32)
        transfer = net.i.valid & net.i.ready
        next_address = address + transfer
        m.d.comb += [self.pixel_address.eq(address), net.i.payload.eq(self.pixel_data),
                     self.pixels_sent.eq(address)]
        with m.If(transfer):
            m.d.sync += address.eq(next_address)
        with m.If(~net.i.valid | transfer):
            m.d.sync += net.i.valid.eq(self.start & (next_address < self.pixel_count) &
                                       ~idle_in)

        # --- sink ---
        m.d.comb += net.o.ready.eq(self.start & ~idle_out)
        seen = Signal(32)
        with m.If(net.o.valid & net.o.ready):
            m.d.sync += [
                self.result.eq(net.o.payload),
                self.result_cycle.eq(cycle),
                self.result_toggle.eq(~self.result_toggle),
                seen.eq(seen + 1),
            ]
        m.d.comb += self.results_seen.eq(seen)
        return m


def pixel_depth(pixels):
    """Words of the pixel memory for ``pixels`` input transfers: :data:`MIN_PIXEL_DEPTH`, or
    the next power of two above ``pixels``."""
    depth = MIN_PIXEL_DEPTH
    while depth < pixels:
        depth *= 2
    return depth


def sim_top_verilog(harness_name, pixel_width, result_width, depth):
    """Verilog text of the simulation top :data:`SIM_TOP` around the harness module
    ``harness_name`` (``NetworkHarness`` converted with that name): ports as the harness's,
    ``pixel_address`` / ``pixel_data`` replaced by a ``depth``-word pixel memory loaded from
    ``+bnnhw_pixels=FILE`` (hex, one word per line). Every port is visible to VPI
    (``public_flat_rw``); the network inside is not.

    The control inputs reach the harness through a register (one cycle later): with no logic
    combinational from a top-level input, Verilator evaluates nothing but the clocked logic
    on each edge (2.3x faster on boolnet than with the inputs wired through)."""
    public = "/*verilator public_flat_rw*/"
    controls = [("rst", 1), ("start", 1), ("in_threshold", 8), ("out_threshold", 8),
                ("seed", 32), ("pixel_count", 32)]
    outputs = [("result", result_width), ("result_toggle", 1), ("result_cycle", 40),
               ("results_seen", 32), ("pixels_sent", 32)]

    def vector(width):
        return f"[{width - 1}:0] " if width > 1 else ""

    ports = [f"  input clk {public}"]
    ports += [f"  input {vector(width)}{name} {public}" for name, width in controls]
    ports += [f"  output {vector(width)}{name} {public}" for name, width in outputs]
    registers = "".join(f"  reg {vector(width)}{name}_q;\n" for name, width in controls)
    updates = "".join(f"    {name}_q <= {name};\n" for name, _ in controls)
    connections = ["    .clk(clk)"]
    connections += [f"    .{name}({name}_q)" for name, _ in controls]
    connections += [f"    .{name}({name})" for name, _ in outputs]
    address_bits = (depth - 1).bit_length()
    port_list = ",\n".join(ports)
    connection_list = ",\n".join(connections)
    return f"""// Simulation top written by bnnhw.sim.harness.sim_top_verilog; not for synthesis.
module {SIM_TOP} (
{port_list}
);
{registers}  always @(posedge clk) begin
{updates}  end
  // the test images: outside toggle coverage (bnnhw.energy counts the network's toggles only)
  /*verilator coverage_off*/
  reg {vector(pixel_width)}pixels [0:{depth - 1}];
  reg [8*4096-1:0] pixels_file;
  /*verilator coverage_on*/
  wire [31:0] pixel_address;
  initial begin
    if ($value$plusargs("bnnhw_pixels=%s", pixels_file)) $readmemh(pixels_file, pixels);
  end
  {harness_name} harness (
{connection_list},
    .pixel_address(pixel_address),
    .pixel_data(pixel_address < {depth} ? pixels[pixel_address[{address_bits - 1}:0]] : {pixel_width}'d0)
  );
endmodule
"""
