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
"""

from __future__ import annotations

import collections
import itertools
import math
import numbers

import numpy as np
from amaranth.hdl import Cat, Const, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..popcount import _check_op, _check_thresholds

__all__ = ["ConstMatrixDense", "ICE40_CELL_MODELS"]


# --- netlist --------------------------------------------------------------------------------------
#
# A *ref* is ``(node, inv)``: the logical bit ``value(node) ^ inv``. Node kinds:
#   ("x", i)                 input bit i
#   ("lut", ins, table)      LUT of up to 4 refs; ``table`` is an int truth table over the
#                            *logical* inputs (bit k = output for inputs k, input 0 = LSB)
#   ("sum", chain, pos)      sum output of a carry-chain position
#   ("top", chain)           carry-out of a chain, read by a pass-through LUT
# LUT/sum/top nodes also have ``out_inv`` (their physical output is the logical value ^ out_inv).
#
# A chain is a dict: ``domain`` d (operands are refs with inv == d, i.e. the carry logic sees
# logical ^ d), ``cin`` ("const", v) or ("bit", ref), ``ops`` list of (a, b) per position where
# each operand is a ref or ("one",) or None (zero), ``sums`` node ids (or None), ``top`` node.

_ONE = ("one",)

#: Delay units for depth estimates and stage balancing, from nextpnr's UP5K timing: one LUT level
#: with its routing (~4 ns) = 1; one step along a carry chain (~0.3 ns) = 0.1.
_LUT_DELAY, _CARRY_DELAY = 1.0, 0.1


class _Netlist:
    def __init__(self, width):
        self.kind = []       # per node
        self.args = []
        self.out_inv = []
        self.users = []      # use count
        self.fixed = set()   # nodes referenced from several heaps: polarity cannot change
        self.t = []          # estimated arrival time (see _LUT_DELAY / _CARRY_DELAY)
        self.chains = []
        for i in range(width):
            self._add("x", i)

    def _add(self, kind, args, t=0.0):
        self.kind.append(kind)
        self.args.append(args)
        self.out_inv.append(0)
        self.users.append(0)
        self.t.append(t)
        return len(self.kind) - 1

    def at(self, ref):
        """Arrival time of a ref (constants: 0)."""
        if ref is None or ref[0] == "one":
            return 0.0
        return self.t[ref[0]]

    def use(self, ref):
        if ref is not None and ref is not _ONE and ref[0] != "one":
            self.users[ref[0]] += 1

    def lut(self, ins, table):
        for r in ins:
            self.use(r)
        t = max([self.at(r) for r in ins], default=0.0) + _LUT_DELAY
        return self._add("lut", (tuple(ins), table), t)

    def flexible(self, node):
        """A LUT/chain output nobody uses yet: its output polarity can still be chosen."""
        return self.kind[node] != "x" and self.users[node] == 0 and node not in self.fixed

    def flip(self, ref):
        """Same logical bit, physical net inverted (only for flexible nodes)."""
        node, inv = ref
        self.out_inv[node] ^= 1
        return (node, inv ^ 1)

    def chain(self, domain, cin, ops, want_sums, want_top):
        idx = len(self.chains)
        if cin[0] == "bit":
            self.use(cin[1])
        for a, b in ops:
            self.use(a)
            self.use(b)
        ch = {"domain": domain, "cin": cin, "ops": list(ops), "sums": [], "top": None}
        self.chains.append(ch)
        carry = self.at(cin[1]) + _LUT_DELAY if cin[0] == "bit" else 0.0
        for pos, (a, b) in enumerate(ops):
            ins = max(self.at(a), self.at(b)) + _LUT_DELAY
            ts = max(ins, carry + _CARRY_DELAY)
            ch["sums"].append(self._add("sum", (idx, pos), ts) if want_sums[pos] else None)
            carry = max(ins, carry) + _CARRY_DELAY
        if want_top:
            ch["top"] = self._add("top", (idx,), carry + _LUT_DELAY)
        return ch

    # cost: one logic cell per LUT, per chain position, per fabric carry-in (nextpnr's feed-in
    # cell) and per top LUT
    def cells(self):
        n = sum(1 for k in self.kind if k == "lut")
        for ch in self.chains:
            n += len(ch["ops"]) + (ch["cin"][0] == "bit") + (ch["top"] is not None)
        return n

    # logical evaluation on a batch of input bits (bool arrays)
    def evaluate(self, x):
        x = np.asarray(x, dtype=bool)
        phys = [None] * len(self.kind)
        done_chain = set()

        def val(ref):
            if ref is None:
                return np.zeros(len(x), dtype=bool)
            if ref[0] == "one":
                return np.ones(len(x), dtype=bool)
            return phys[ref[0]] ^ bool(ref[1])

        for k, kind in enumerate(self.kind):
            if kind == "x":
                phys[k] = x[:, self.args[k]]
            elif kind == "lut":
                ins, table = self.args[k]
                idx = np.zeros(len(x), dtype=np.int64)
                for j, r in enumerate(ins):
                    idx |= val(r).astype(np.int64) << j
                phys[k] = (((table >> idx) & 1) == 1) ^ bool(self.out_inv[k])
            else:
                c = self.args[k][0]
                if c in done_chain:
                    continue
                done_chain.add(c)
                ch = self.chains[c]
                carry = (val(ch["cin"][1]) if ch["cin"][0] == "bit"
                         else np.full(len(x), bool(ch["cin"][1])))
                for pos, (a, b) in enumerate(ch["ops"]):
                    va, vb = val(a), val(b)
                    s = va ^ vb ^ carry
                    carry = (va & vb) | (va & carry) | (vb & carry)
                    n = ch["sums"][pos]
                    if n is not None:
                        phys[n] = s ^ bool(self.out_inv[n])
                if ch["top"] is not None:
                    phys[ch["top"]] = carry ^ bool(self.out_inv[ch["top"]])
        return phys, val


_XOR3 = 0x96
_MAJ3 = 0xE8


def _table3(fn):
    return sum(fn((k >> 0) & 1, (k >> 1) & 1, (k >> 2) & 1) << k for k in range(8))


# --- shared full adders ---------------------------------------------------------------------------


class _Heaps:
    """Per-output heaps: dict (node, weight) -> inv, plus constants."""

    def __init__(self, net, weights, op):
        self.net = net
        self.cols = []
        for row in weights:
            col = {}
            for i, w in enumerate(row):
                if op == "xnor":
                    col[(i, 0)] = 1 - w
                elif w:
                    col[(i, 0)] = 0
            self.cols.append(col)

    def apply_fa(self, trip, e, cols):
        net = self.net
        a, b, c = trip
        par = net.lut([(a, 0), (b, 0), (c, 0)], _XOR3)
        net.fixed.add(par)
        classes = {}
        for o in cols:
            col = self.cols[o]
            ia, ib, ic = col.pop((a, e)), col.pop((b, e)), col.pop((c, e))
            col[(par, e)] = ia ^ ib ^ ic
            key = (ib ^ ia, ic ^ ia)  # class up to complement; its net has ia = 0
            if key not in classes:
                classes[key] = net.lut([(a, 0), (b, key[0]), (c, key[1])], _MAJ3)
                net.fixed.add(classes[key])
            col[(classes[key], e + 1)] = ia

    def universal_step(self):
        """One full adder on nets held by every output (at the same weight)."""
        if len(self.cols) < 2:
            return False
        common = set(self.cols[0])
        for col in self.cols[1:]:
            common &= set(col)
        by_e = collections.defaultdict(list)
        for n, e in common:
            by_e[e].append(n)
        best = None
        for e, nets in sorted(by_e.items()):
            if len(nets) < 3:
                continue
            # Wallace order: only the earliest nets (at least three of them)
            nets = sorted(nets, key=lambda n: (self.net.t[n], n))
            cut = self.net.t[nets[2]]
            nets = sorted(n for n in nets if self.net.t[n] <= cut)
            pol = np.array([[col[(n, e)] for n in nets] for col in self.cols], dtype=np.int8)
            trips = np.array(list(itertools.combinations(range(len(nets)), 3)), dtype=np.int32)
            ka = pol[:, trips[:, 0]] ^ pol[:, trips[:, 1]]
            kb = pol[:, trips[:, 0]] ^ pol[:, trips[:, 2]]
            cls = (ka * 2 + kb).T
            counts = np.stack([(cls == k).sum(axis=1) for k in range(4)], axis=1)
            # fewest majority LUTs first, then the most concentrated classes
            score = (counts > 0).sum(axis=1) * 10000 - (counts ** 2).sum(axis=1)
            i = int(np.argmin(score))
            cand = (int(score[i]), e, tuple(nets[k] for k in trips[i]))
            if best is None or cand < best:
                best = cand
        if best is None:
            return False
        self.apply_fa(best[2], best[1], range(len(self.cols)))
        return True

    def general_step(self, beta, max_depth):
        """One full adder on a triple shared by >= 2 outputs, if it pays off."""
        ncol = len(self.cols)
        tnet = self.net.t
        keys = [set(c) for c in self.cols]
        seen = set()
        best = None
        for o1 in range(ncol):
            for o2 in range(o1 + 1, ncol):
                by_e = collections.defaultdict(list)
                for n, e in keys[o1] & keys[o2]:
                    by_e[e].append(n)
                for e, nets in by_e.items():
                    if len(nets) < 3:
                        continue
                    nets = [n for n in nets if tnet[n] + _LUT_DELAY <= max_depth]
                    for t in itertools.combinations(sorted(nets), 3):
                        if (t, e) in seen:
                            continue
                        seen.add((t, e))
                        cols = [o for o in range(ncol)
                                if (t[0], e) in keys[o] and (t[1], e) in keys[o]
                                and (t[2], e) in keys[o]]
                        classes = set()
                        for o in cols:
                            col = self.cols[o]
                            ia = col[(t[0], e)]
                            classes.add((col[(t[1], e)] ^ ia, col[(t[2], e)] ^ ia))
                        gain = beta * len(cols) - (1 + len(classes))
                        depth = max(tnet[n] for n in t)
                        cand = (gain, -depth, len(cols), -len(classes), -e, t)
                        if best is None or cand > best[0]:
                            best = (cand, t, e, cols)
        if best is None or best[0][0] <= 0:
            return False
        self.apply_fa(best[1], best[2], best[3])
        return True


# --- per-output heap compression ------------------------------------------------------------------


def _final_bit(maxheap, t):
    """Smallest m with 2**m >= t and maxheap - t < 2**m: then p >= t is bit m of p + 2**m - t."""
    m = 0
    while not ((1 << m) >= t and maxheap - t < (1 << m)):
        m += 1
    return m


class _Column:
    """Dadda-style compression of one output's heap into the single bit ``y``."""

    def __init__(self, net, entries, m):
        self.net = net
        self.m = m
        self.heap = collections.defaultdict(list)   # weight -> list of refs / _ONE
        for p, ref in entries:
            self.heap[p].append(ref)

    # a heap entry fits a chain of domain d if it is a constant, a flexible output, or has inv d
    def _fits(self, ref, d):
        return ref[0] == "one" or ref[1] == d or self.net.flexible(ref[0])

    def _count(self, p, d):
        return sum(1 for r in self.heap.get(p, ()) if self._fits(r, d))

    def _take(self, p, d, n):
        """Remove and return up to n entries of weight p that fit domain d, earliest first;
        flexible entries are given polarity d."""
        lst = self.heap.get(p, [])
        net = self.net

        def rank(i):  # the earliest bits, constants last
            r = lst[i]
            return (1, 0.0) if r[0] == "one" else (0, net.at(r))
        idx = sorted((i for i in range(len(lst)) if self._fits(lst[i], d)), key=rank)[:n]
        got = [lst[i] for i in idx]
        for i in sorted(idx, reverse=True):
            lst.pop(i)
        out = []
        for r in got:
            if r[0] != "one" and r[1] != d:
                r = net.flip(r)
            out.append(r)
        return out

    def _cin(self, p, d):
        """A carry-in candidate of weight p for domain d: a constant, else a bit private to this
        output (its only reader will be the chain, so it enters the carry chain from the fabric
        through nextpnr's feed-in cell). Shared nets are never carry-ins: see module notes."""
        lst = self.heap.get(p, [])
        one = next((r for r in lst if r[0] == "one"), None)
        if one is not None:
            return one
        private = [r for r in lst if r[0] != "one" and self.net.flexible(r[0])]
        return max(private, key=self.net.at, default=None)

    def _plan_chain(self, p0, d):
        """Greedy chain from weight p0 in domain d: (removed, cells, positions, n0, top)."""
        fit = self._count(p0, d)
        cin = self._cin(p0, d)
        n0 = 3 if (cin is not None and fit >= 3) else min(2, fit)
        if n0 < 2:
            return None
        feed = 1 if (n0 == 3 and cin[0] != "one") else 0
        positions, consumed = 1, n0
        q = p0 + 1
        while q <= self.m and self._count(q, d) >= 2:
            positions += 1
            consumed += 2
            q += 1
        top = 1 if q <= self.m else 0
        cells = positions + feed + top
        return consumed - positions - top, cells, positions, n0, top

    def _emit_chain(self, p0, d, positions, n0, top, *, final=False):
        net = self.net
        cin = ("const", 0)
        if n0 == 3:
            c = self._cin(p0, d)
            self.heap[p0].remove(c)
            if c[0] == "one":
                cin = ("const", 1)
            else:
                cin = ("bit", c if c[1] == d else net.flip(c))
            n0 = 2
        first = self._take(p0, d, n0)
        ops = [tuple(first) + (None,) * (2 - len(first))]
        for q in range(p0 + 1, p0 + positions):
            got = self._take(q, d, 2)
            ops.append(tuple(got) + (None,) * (2 - len(got)))
        if final:
            want = [p0 + i == self.m for i in range(positions)]
        else:
            want = [True] * positions
        ch = net.chain(d, cin, ops, want, top)
        if final:
            return ch
        for i, n in enumerate(ch["sums"]):
            self.heap[p0 + i].append((n, 0))
        if top:
            self.heap[p0 + positions].append((ch["top"], 0))
        return ch

    def _fa(self, p):
        """LUT full adder on the three earliest entries of weight p (any polarity)."""
        net = self.net
        lst = self.heap[p]
        def rank(i):  # the earliest bits; constants last
            r = lst[i]
            return (1, 0.0) if r[0] == "one" else (0, net.at(r))
        order = sorted(range(len(lst)), key=rank)[:3]
        got = [lst[i] for i in order]
        for i in sorted(order, reverse=True):
            lst.pop(i)
        ins, k = [], 0
        for r in got:
            if r[0] == "one":
                k += 1
            else:
                ins.append(r)
        # table over the non-constant inputs, with k constant ones added
        n = len(ins)
        ts = sum((((bin(i).count("1") + k) & 1) << i) for i in range(1 << n))
        tc = sum((((bin(i).count("1") + k) >> 1 & 1) << i) for i in range(1 << n))
        s = net.lut(ins, ts)
        self.heap[p].append((s, 0))
        if p + 1 <= self.m:
            c = net.lut(ins, tc)
            self.heap[p + 1].append((c, 0))

    def _convert(self, p, d):
        """Make one entry of weight p fit domain d with an inverting LUT."""
        lst = self.heap[p]
        i = next(i for i, r in enumerate(lst) if not self._fits(r, d))
        r = lst.pop(i)
        lst.append((self.net.lut([r], 0b10), 0))  # logical copy, polarity still free

    def run(self):
        m = self.m
        while True:
            ps = [p for p in sorted(self.heap) if self.heap[p] and p <= m]
            for p in [p for p in self.heap if p > m]:
                self.heap[p] = []   # weights above m are always zero (see _final_bit)
            if not ps:
                return None
            lo = ps[0]
            lo_cap = 3 if any(r[0] == "one" or self.net.flexible(r[0])
                              for r in self.heap[lo]) else 2
            tall = [p for p in ps if len(self.heap[p]) > (lo_cap if p == lo else 2)]
            if not tall:
                doms = [d for d in (0, 1)
                        if all(self._count(p, d) == len(self.heap[p]) for p in ps)]
                if doms:
                    return self._final(lo, doms[0])
                # fix the polarity of the domain with fewer misfits
                bad = {d: sum(len(self.heap[p]) - self._count(p, d) for p in ps) for d in (0, 1)}
                d = min(bad, key=bad.get)
                p = next(p for p in ps if self._count(p, d) < len(self.heap[p]))
                self._convert(p, d)
                continue
            p0 = tall[0]
            best = None
            for d in (0, 1):
                c = self._plan_chain(p0, d)
                if c is not None:
                    cand = (c[0] / c[1], c[0], -d, d, c)
                    if best is None or cand > best:
                        best = cand
            if best is None or best[0] < 0.5:
                self._fa(p0)
            else:
                _, _, _, d, (_, _, positions, n0, top) = best
                self._emit_chain(p0, d, positions, n0, top)

    def _final(self, lo, d):
        m = self.m
        heap = self.heap
        if lo == m and len(heap[m]) == 1:
            return heap[m].pop()
        # one chain from lo up to m; bit m is the answer
        positions = m - lo + 1
        n0 = len(heap[lo])
        if positions == 1:
            # bit m alone: parity of its (<= 3) entries
            got = self._take(m, d, n0)
            ins = [r for r in got if r[0] != "one"]
            k = len(got) - len(ins)
            n = len(ins)
            t = sum((((bin(i).count("1") + k) & 1) << i) for i in range(1 << n))
            return (self.net.lut(ins, t), 0)
        ch = self._emit_chain(lo, d, positions, n0, 0, final=True)
        return (ch["sums"][-1], 0)


# --- planning -------------------------------------------------------------------------------------


class _Plan:
    def __init__(self, weights, thresholds, op, beta, max_depth=math.inf):
        width = len(weights[0])
        self.width = width
        self.net = net = _Netlist(width)
        heaps = _Heaps(net, weights, op)
        while heaps.universal_step():
            pass
        while heaps.general_step(beta, max_depth):
            pass
        self.outputs = []  # per output: ref, or ("const", v)
        for col, t in zip(heaps.cols, thresholds):
            maxheap = sum(1 << e for (_, e) in col)
            if t <= 0:
                self.outputs.append(("const", 1))
                continue
            if t > maxheap:
                self.outputs.append(("const", 0))
                continue
            m = _final_bit(maxheap, t)
            k = (1 << m) - t
            entries = [(e, (n, inv)) for (n, e), inv in sorted(col.items())]
            entries += [(e, _ONE) for e in range(m + 1) if k >> e & 1]
            ref = _Column(net, entries, m).run()
            if ref is None or ref[0] == "one":
                self.outputs.append(("const", int(ref is not None)))
            else:
                net.use(ref)
                self.outputs.append(ref)

    def evaluate(self, x):
        """Output bits (B, outputs) of the planned netlist for input bits x (B, width)."""
        phys, val = self.net.evaluate(x)
        cols = []
        for ref in self.outputs:
            if ref[0] == "const":
                cols.append(np.full(len(x), bool(ref[1])))
            else:
                cols.append(val(ref))
        return np.stack(cols, axis=1).astype(np.int64)


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


# --- pipelining -----------------------------------------------------------------------------------


def _stage_plan(net, budget):
    """ASAP stages with at most ``budget`` delay units per stage; a chain is never split.

    Returns (stage per node, number of stages used)."""
    n = len(net.kind)
    st = [0] * n
    lt = [0.0] * n   # arrival time within the node's stage

    def inp(ref, s):
        """Local arrival of ref when read in stage s (registered inputs arrive at 0)."""
        if ref is None or ref[0] == "one":
            return 0.0
        k = ref[0]
        return lt[k] if st[k] == s else 0.0

    def sref(ref):
        return 0 if (ref is None or ref[0] == "one") else st[ref[0]]

    done = set()
    used = 1
    for k, kind in enumerate(net.kind):
        if kind == "x":
            continue
        if kind == "lut":
            ins = net.args[k][0]
            s = max([sref(r) for r in ins], default=0)
            t = max([inp(r, s) for r in ins], default=0.0) + _LUT_DELAY
            if t > budget and any(sref(r) == s and inp(r, s) > 0 for r in ins):
                s += 1
                t = _LUT_DELAY
            st[k], lt[k] = s, t
            used = max(used, s + 1)
            continue
        c = net.args[k][0]
        if c in done:
            continue
        done.add(c)
        ch = net.chains[c]
        refs = [r for ab in ch["ops"] for r in ab]
        if ch["cin"][0] == "bit":
            refs.append(ch["cin"][1])
        s = max([sref(r) for r in refs], default=0)
        for attempt in range(2):
            times = {}
            carry = inp(ch["cin"][1], s) + _LUT_DELAY if ch["cin"][0] == "bit" else 0.0
            for pos, (a, b) in enumerate(ch["ops"]):
                ins = max(inp(a, s), inp(b, s)) + _LUT_DELAY
                if ch["sums"][pos] is not None:
                    times[ch["sums"][pos]] = max(ins, carry + _CARRY_DELAY)
                carry = max(ins, carry) + _CARRY_DELAY
            if ch["top"] is not None:
                times[ch["top"]] = carry + _LUT_DELAY
            worst = max(times.values(), default=0.0)
            if worst <= budget or attempt == 1:
                break
            s += 1
        for o, t in times.items():
            st[o], lt[o] = s, t
        used = max(used, s + 1)
    return st, used


def _register_cells(net, st, outputs, last):
    """Logic cells spent on pipeline registers that cannot share a LUT's cell."""
    need = collections.defaultdict(set)   # node -> stages it is read in (beyond its own)
    same = collections.Counter()          # node -> readers in its own stage
    done = set()

    def read(ref, s):
        if ref is None or ref[0] == "one":
            return
        k = ref[0]
        if s > st[k]:
            need[k].add(s)
        else:
            same[k] += 1

    for k, kind in enumerate(net.kind):
        if kind == "lut":
            for r in net.args[k][0]:
                read(r, st[k])
        elif kind in ("sum", "top"):
            c = net.args[k][0]
            if c in done:
                continue
            done.add(c)
            ch = net.chains[c]
            outs = [o for o in ch["sums"] + [ch["top"]] if o is not None]
            s = st[outs[0]] if outs else 0
            for a, b in ch["ops"]:
                read(a, s)
                read(b, s)
            if ch["cin"][0] == "bit":
                read(ch["cin"][1], s)
    for ref in outputs:
        if ref[0] != "const":
            read(ref, last + 1)
    cells = 0
    for k, stages in need.items():
        hops = max(stages) - st[k]
        # the first register shares the LUT's cell if the LUT feeds nothing else
        cells += hops - (1 if (net.kind[k] != "x" and same[k] == 0) else 0)
    return cells


def _stages(net, outputs, stages):
    """Stage (0 .. stages-1) of every node: the smallest per-stage delay budget that fits."""
    n = len(net.kind)
    if stages <= 1:
        return [0] * n
    depth = max([net.t[r[0]] for r in outputs if r[0] != "const"], default=1.0) or 1.0
    lo, hi = depth / stages - 1e-6, depth
    best = None
    for _ in range(30):
        mid = (lo + hi) / 2
        st, used = _stage_plan(net, mid)
        if used <= stages:
            hi, best = mid, st
        else:
            lo = mid
    if best is None:
        best, _ = _stage_plan(net, hi)
    return best


# --- component ------------------------------------------------------------------------------------


def _check_weights(weights):
    try:
        rows = [list(r) for r in weights]
    except TypeError:
        raise ValueError(f"weights must be an (outputs, width) array of bits, not {weights!r}") \
            from None
    if not rows or not rows[0]:
        raise ValueError("weights must be a non-empty (outputs, width) array of bits")
    width = len(rows[0])
    out = []
    for row in rows:
        if len(row) != width:
            raise ValueError(f"weights must have {width} bits (width) in every row, "
                             f"not {len(row)}")
        bits = []
        for v in row:
            if isinstance(v, numbers.Integral) and not isinstance(v, bool) and int(v) in (0, 1):
                bits.append(int(v))
            elif isinstance(v, (bool, np.bool_)):
                bits.append(int(v))
            else:
                raise ValueError(f"weights must hold only bits 0 and 1, not {v!r}")
        out.append(tuple(bits))
    return tuple(out)


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


class ConstMatrixDense(wiring.Component):
    """Fully binarized dense layer with constant weights, shared across outputs.

    Same ports and behaviour as the constant-weight :class:`~bnnhw.hw.popcount.ThresholdDense`:
    ``y[o] = popcount(XNOR(x, weights[o])) >= thresholds[o]`` (``AND`` for ``op="and"``), but
    planned as one netlist whose shared full adders serve all outputs (module docstring).

    Parameters
    ----------
    weights : sequence of sequences of {0, 1}
        ``(outputs, width)`` constant weight bits, row ``o`` for output ``o``.
    thresholds : sequence of int
        One popcount threshold per output; ``<= 0`` gives a constant 1, above the number of
        counted bits a constant 0 (the folded form of ``docs/numerics.md`` §5 without the
        invert flag, as :class:`~bnnhw.hw.popcount.ThresholdDense`).
    op : {"xnor", "and"}, keyword-only
        Product (default ``"xnor"``).
    stages : int, keyword-only
        Pipeline register ranks (default 0, combinational): ``y`` follows ``x`` after exactly
        ``stages`` cycles of ``sync``, one new ``x`` per cycle. The last rank registers ``y``;
        the others split the netlist at equal estimated delay. The first ``stages`` outputs after
        reset are not results.
    target : {"generic", "ice40"}, keyword-only
        ``"generic"`` (default) emits Amaranth logic and additions (simulatable, any family);
        ``"ice40"`` emits the same netlist as ``SB_LUT4`` / ``SB_CARRY`` instances, so the iCE40
        logic-cell count is :attr:`cells` plus the registers that cannot share a LUT's cell.
        Simulate it with :data:`ICE40_CELL_MODELS`.
    beta : float, keyword-only
        Sharing aggressiveness: a triple held by ``k`` outputs gets a shared full adder when
        ``beta * k`` exceeds its LUT count (default 1.5: a bit removed from one output's heap
        costs it about 1.5 cells).
    max_depth : float, keyword-only
        Deepest shared net, in LUT levels; deeper triples are not shared. Default: unlimited for
        a layer without inner register ranks, 4 with them (``stages >= 2``: shallower shared
        logic balances the stages).

    Members
    -------
    x : In(width)
        Input bits.
    y : Out(outputs)
        Output bits, ``stages`` cycles later.

    Raises
    ------
    ValueError
        Empty or ragged ``weights``, non-bit weights, ``len(thresholds) != outputs``, non-integer
        thresholds, unknown ``op`` or ``target``, negative ``stages``, ``beta`` or
        ``max_depth`` not positive.
    TypeError
        ``stages`` not an integer.
    """

    def __init__(self, weights, thresholds, *, op="xnor", stages=0, target="generic", beta=1.5,
                 max_depth=None):
        self._weights = _check_weights(weights)
        self._thresholds = _check_thresholds(thresholds, len(self._weights))
        _check_op(op)
        if target not in ("generic", "ice40"):
            raise ValueError(f"target must be 'generic' or 'ice40', not {target!r}")
        if isinstance(stages, bool) or not isinstance(stages, numbers.Integral):
            raise TypeError(f"stages must be an integer, not {stages!r}")
        if stages < 0:
            raise ValueError(f"stages must be at least 0, not {stages!r}")
        for name, v in (("beta", beta), ("max_depth", max_depth)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)
                                  or not v > 0):
                raise ValueError(f"{name} must be a positive number, not {v!r}")
        if max_depth is None:
            max_depth = 4.0 if stages >= 2 else math.inf
        self._op, self._target, self._stages = op, target, int(stages)
        self._beta, self._max_depth = float(beta), float(max_depth)
        self._plan = _Plan(self._weights, self._thresholds, op, self._beta, self._max_depth)
        net = self._plan.net
        self._stage_of = _stages(net, self._plan.outputs, self._stages)
        self._register_cells = _register_cells(net, self._stage_of, self._plan.outputs,
                                               max(self._stages - 1, 0)) if self._stages else 0
        super().__init__({"x": In(len(self._weights[0])), "y": Out(len(self._weights))})

    @property
    def weights(self):
        """The constant weights, a tuple of rows of bits."""
        return self._weights

    @property
    def thresholds(self):
        """The popcount thresholds."""
        return self._thresholds

    @property
    def op(self):
        """The product, ``"xnor"`` or ``"and"``."""
        return self._op

    @property
    def target(self):
        """``"generic"`` or ``"ice40"``."""
        return self._target

    @property
    def stages(self):
        """Pipeline register ranks."""
        return self._stages

    @property
    def latency(self):
        """Clock cycles from ``x`` to ``y`` (equal to :attr:`stages`)."""
        return self._stages

    @property
    def cells(self):
        """Planned iCE40 logic cells: LUTs, carry-chain positions, chain carry-ins and carry-outs,
        plus pipeline registers that cannot share a LUT's cell (``y``'s own register excluded)."""
        return self._plan.net.cells() + self._register_cells

    def evaluate(self, x):
        """Outputs ``(B, outputs)`` of the planned netlist for input bits ``x (B, width)``: a fast
        bit-exact model of the emitted logic, without the latency."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != len(self._weights[0]):
            raise ValueError(f"x must have shape (B, {len(self._weights[0])}), not {x.shape}")
        return self._plan.evaluate(x)

    def elaborate(self, platform):
        m = Module()
        net = self._plan.net
        em = _Emitter(m, net, self.x, self._target, self._stages, self._stage_of)
        em.emit()
        last = max(self._stages - 1, 0)
        ys = []
        for ref in self._plan.outputs:
            if ref[0] == "const":
                ys.append(Const(ref[1], 1))
                continue
            v = em.phys(ref[0], last)
            ys.append(~v if ref[1] else v)
        if self._stages:
            m.d.sync += self.y.eq(Cat(*ys))
        else:
            m.d.comb += self.y.eq(Cat(*ys))
        return m
