"""Emission of a planned :class:`~bnnhw.hw.constmatrix.ConstMatrixDense` netlist.

:class:`_Emitter` turns the netlist into Amaranth logic (``target="generic"``) or ``SB_LUT4`` /
``SB_CARRY`` instances (``target="ice40"``), with the pipeline registers of the chosen stages;
:data:`ICE40_CELL_MODELS` simulates the latter. Imports nothing else of the package.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Instance, Signal

# --- emission -------------------------------------------------------------------------------------


def _lut_init(ins, table, out_inv):
    """SB_LUT4 INIT for physical inputs I0..I(k-1) = the refs' nets (unused pins tied to 0)."""
    init = 0
    for idx in range(16):
        logical = 0
        for j, (_, inv) in enumerate(ins):
            logical |= (((idx >> j) & 1) ^ inv) << j
        init |= (((table >> logical) & 1) ^ out_inv) << idx
    return init


class _Emitter:
    def __init__(self, m, net, x, target, stages, stage_of):
        self.m, self.net, self.x, self.target = m, net, x, target
        self.stages, self.stage_of = stages, stage_of
        self.sig = [None] * len(net.kind)
        self.regs = {}
        self.n_inst = 0

    def phys(self, node, stage):
        """Physical net of ``node`` as seen by logic in ``stage`` (registered copies)."""
        s0 = self.stage_of[node]
        value = self.sig[node]
        for s in range(s0 + 1, stage + 1):
            key = (node, s)
            if key not in self.regs:
                r = Signal(name=f"n{node}_s{s}")
                self.m.d.sync += r.eq(value)
                self.regs[key] = r
            value = self.regs[key]
        return value

    def operand(self, ref, d, stage):
        """Physical bit for a chain operand in domain d."""
        if ref is None:
            return Const(d, 1)
        if ref[0] == "one":
            return Const(1 ^ d, 1)
        assert ref[1] == d
        return self.phys(ref[0], stage)

    def _name(self, prefix):
        self.n_inst += 1
        return f"{prefix}{self.n_inst}"

    def lut(self, ins_phys, init, name):
        o = Signal(name=name)
        if self.target == "ice40":
            pins = list(ins_phys) + [Const(0, 1)] * (4 - len(ins_phys))
            self.m.submodules[self._name("lut")] = Instance(
                "SB_LUT4", p_LUT_INIT=Const(init, 16), i_I0=pins[0], i_I1=pins[1], i_I2=pins[2],
                i_I3=pins[3], o_O=o)
        else:
            idx = Cat(*ins_phys) if ins_phys else Const(0, 1)
            self.m.d.comb += o.eq(Const(init, 16).bit_select(idx, 1))
        return o

    def emit(self):
        net = self.net
        done = set()
        for k, kind in enumerate(net.kind):
            if kind == "x":
                self.sig[k] = self.x[net.args[k]]
            elif kind == "lut":
                ins, table = net.args[k]
                st = self.stage_of[k]
                self.sig[k] = self.lut([self.phys(r[0], st) for r in ins],
                                       _lut_init(ins, table, net.out_inv[k]), f"l{k}")
            else:
                c = net.args[k][0]
                if c not in done:
                    done.add(c)
                    self.chain(c)

    def chain(self, c):
        net = self.net
        ch = net.chains[c]
        d = ch["domain"]
        outs = [n for n in ch["sums"] + [ch["top"]] if n is not None]
        st = self.stage_of[outs[0]]
        pa = [self.operand(a, d, st) for a, _ in ch["ops"]]
        pb = [self.operand(b, d, st) for _, b in ch["ops"]]
        if ch["cin"][0] == "bit":
            ci = self.operand(ch["cin"][1], d, st)
        else:
            ci = Const(ch["cin"][1] ^ d, 1)
        n = len(pa)
        if self.target == "generic":
            bits = Signal(n + 1, name=f"ch{c}", attrs={"keep": 1})
            self.m.d.comb += bits.eq(Cat(*pa) + Cat(*pb) + ci)
            for pos in range(n):
                s = ch["sums"][pos]
                if s is not None:
                    o = Signal(name=f"s{s}")
                    self.m.d.comb += o.eq(bits[pos] ^ (d ^ net.out_inv[s]))
                    self.sig[s] = o
            if ch["top"] is not None:
                t = ch["top"]
                o = Signal(name=f"t{t}")
                self.m.d.comb += o.eq(bits[n] ^ (d ^ net.out_inv[t]))
                self.sig[t] = o
            return
        # iCE40 primitives: a fabric carry-in is a net private to this chain (nextpnr adds the
        # feed-in cell); the top LUT reads the last carry, so no feed-out cell is needed
        for pos in range(n):
            co = Signal(name=f"ch{c}_c{pos}")
            self.m.submodules[self._name("cy")] = Instance(
                "SB_CARRY", i_I0=pa[pos], i_I1=pb[pos], i_CI=ci, o_CO=co)
            s = ch["sums"][pos]
            if s is not None:
                # O = I1 ^ I2 ^ I3 (physical), corrected for the domain and output polarity
                init = 0
                for idx in range(16):
                    v = ((idx >> 1) ^ (idx >> 2) ^ (idx >> 3)) & 1
                    init |= (v ^ d ^ net.out_inv[s]) << idx
                o = Signal(name=f"s{s}")
                self.m.submodules[self._name("lut")] = Instance(
                    "SB_LUT4", p_LUT_INIT=Const(init, 16), i_I0=Const(0, 1), i_I1=pa[pos],
                    i_I2=pb[pos], i_I3=ci, o_O=o)
                self.sig[s] = o
            ci = co
        if ch["top"] is not None:
            t = ch["top"]
            init = 0xFF00 if (d ^ net.out_inv[t]) == 0 else 0x00FF
            o = Signal(name=f"t{t}")
            self.m.submodules[self._name("lut")] = Instance(
                "SB_LUT4", p_LUT_INIT=Const(init, 16), i_I0=Const(0, 1), i_I1=Const(0, 1),
                i_I2=Const(0, 1), i_I3=ci, o_O=o)
            self.sig[t] = o



#: Behavioural Verilog models of the two iCE40 primitives that ``target="ice40"`` instantiates
#: (for simulating that netlist with Verilator or Icarus; Yosys and nextpnr use their own).
ICE40_CELL_MODELS = """\
module SB_LUT4 (output O, input I0, input I1, input I2, input I3);
  parameter [15:0] LUT_INIT = 16'h0000;
  assign O = LUT_INIT[{I3, I2, I1, I0}];
endmodule

module SB_CARRY (output CO, input I0, input I1, input CI);
  assign CO = (I0 & I1) | ((I0 | I1) & CI);
endmodule
"""

