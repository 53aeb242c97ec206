"""Whole-window sliding-window unit: one input pixel per cycle in, one whole window per transfer out.

Same windows as :class:`bnnhw.hw.window.SlidingWindow` (docs/numerics.md §1 and §4: for every
output position ``(oy, ox)`` in raster order the window ``x_pad[c, oy*sh + ky, ox*sw + kx]`` in
hardware fan-in order ``(ky, kx, c)``, border taps the pad bit), but the whole window of
``kh*kw*C`` bits goes out as one transfer (element ``(ky*kw + kx)*C + c`` at that bit; group
order below): what a matrix unit with ``SIMD = fan_in`` consumes in one cycle. A layer behind it runs at one input
pixel per cycle.

**Structure** (FINN's and every HLS line buffer's shift structure, with the border handled by
masking instead of inserted pad pixels). Pixels enter as a continuous sequence of *steps*, one
pixel per step. A column memory of ``W`` words of ``(kh-1)*C`` bits holds, at address ``s mod
W``, the pixels of steps ``s - W, s - 2W, .., s - (kh-1)W``: the same column of the ``kh - 1``
rows above. A step reads that word, forms the new window column (``kh`` pixels, the step's own
pixel at the bottom) and writes the word back shifted by one row; the column enters a register
window of ``kw`` columns. Tap ``(ky, kx)`` of the window complete at step ``s`` is the pixel of
step ``s - (kh-1-ky)*W - (kw-1-kx)``.

The window of output ``(oy, ox)`` is complete at the step whose pixel is image pixel
``need = (oy*sh - ph + kh - 1)*W + (ox*sw - pw + kw - 1)`` of its image; its taps are then image
pixels ``(oy*sh - ph + ky)*W + ox*sw - pw + kx``, exact for every tap inside the map. A tap in
the border (row or column outside the map) holds some other pixel (the row's neighbour, the
previous or the next image), and is replaced by the pad bit: the masking costs no cycles, so
back-to-back images take exactly ``H*W`` cycles each. The last output rows of a padded window
need pixels beyond their image: the next image's pixels serve (they are masked), or, when no
pixel is offered once an image is complete, the unit takes *virtual* steps (no input, masked the
same way) until the image's windows are out. Payloads of virtual steps are never visible.

**Geometry** (:func:`bnnhw.params.whole_window_geometry`): ``ph < kh``, ``pw < kw``, every output
complete at a later step than the one before it, and an image's windows out before the next
image's first window is due (true for unpadded windows, "same" padding, strided and whole-map
windows; not for padding larger than half a kernel). Other windows go through
:class:`~bnnhw.hw.window.SlidingWindow`.

**Groups** (``groups = G``): the window is in group order ``(g, ky, kx, c)`` with ``c`` over
group ``g``'s ``C/G`` channels, as :class:`~bnnhw.hw.window.SlidingWindow` sends it. With
``simd = kh*kw*C`` (default) it goes out whole, all groups side by side (a matrix unit computing
every group at once); with ``simd = kh*kw*C/G`` as ``G`` transfers, group by group.

**Streams.** Input ``i``: one pixel per transfer, raster order, payload ``unsigned(C)``; images
back to back. Output ``o``: ``unsigned(simd)``, ``H_out*W_out*(kh*kw*C/simd)*repeat`` transfers
per image (each transfer ``repeat`` times in a row, for a matrix unit that re-reads its input
per neuron fold).

**Timing.** ``o.valid`` and the held window are registers (``o.payload`` selects a group's
part of it), loaded at the step that completes a
window (:attr:`latency` = 1: the window transfers one edge after the edge that accepted its
bottom-right pixel). A step that completes no window proceeds while ``o`` is held; a step that
completes one waits until the held window has gone (``i.ready`` depends combinationally on
``o.ready`` for that step only). Without stalls: one pixel per cycle, ``max(H*W,
chunks_per_image)`` cycles per image in steady state (:attr:`cycles_per_image`).

**Cost.** ``W*(kh-1)*C`` bits of column memory (block or distributed RAM; a register for
``W = 1``), ``(kw-1)*kh*C`` window flip-flops and ``kh*kw*C`` output flip-flops.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from ..params import ParameterError, int_param, whole_window_geometry
from ._memory import buffer_memory
from .window import window_parameters

__all__ = ["ParallelWindow"]


class ParallelWindow(wiring.Component):
    """Whole-window sliding-window unit: a raster stream of ``C``-bit pixels in, one whole
    ``kh*kw*C``-bit window per transfer out (fan-in order ``(ky, kx, c)``); module docstring.

    Parameters (keyword-only)
    -------------------------
    channels, height, width : int
        ``C, H, W >= 1``.
    kernel, stride, padding : int or (int, int)
        As :class:`~bnnhw.hw.window.SlidingWindow`; the geometry must satisfy
        :func:`bnnhw.params.whole_window_geometry`.
    pad_bit : 0 or 1
        Border value (1 = +1, default; 0 = -1, or an int8 zero when pixels are int8 elements).
    groups : int
        ``G`` dividing ``C`` (default 1): the window in group order ``(g, ky, kx, c)``.
    simd : int
        Bits per transfer: ``kh*kw*C`` (default, the whole window) or ``kh*kw*C/G`` (one group's
        window per transfer).
    repeat : int
        Each transfer goes out this many times in a row (default 1).

    Members: ``i: In(stream.Signature(unsigned(C)))``, ``o: Out(stream.Signature(unsigned(
    simd)))``. Properties: the parameters, ``output_size``, ``fan_in`` (``kh*kw*C``),
    ``chunks_per_window`` (1 or ``G``), ``chunks_per_image``, ``cycles_per_image``,
    ``memory_bits``, ``latency`` (1).

    Raises
    ------
    ParameterError
        Out-of-range parameters; a geometry the unit cannot stream (named ``padding``).
    """

    def __init__(self, *, channels, height, width, kernel, stride=1, padding=0, pad_bit=1,
                 groups=1, simd=None, repeat=1):
        (self._channels, self._groups, self._height, self._width, self._kernel, self._stride,
         self._padding, self._pad_bit, self._output_size) = window_parameters(
            channels=channels, height=height, width=width, kernel=kernel, stride=stride,
            padding=padding, pad_bit=pad_bit, groups=groups)
        self._repeat = int_param(repeat, "repeat", 1)
        problem = whole_window_geometry(self._height, self._width, self._kernel, self._stride,
                                        self._padding)
        if problem:
            raise ParameterError("padding", f"a geometry a whole-window unit can stream "
                                            f"({problem})", self._padding)
        whole = self._kernel[0] * self._kernel[1] * self._channels
        self._simd = whole if simd is None else int_param(simd, "simd", 1)
        if self._simd not in (whole, whole // self._groups):
            raise ParameterError("simd", f"expected the whole window ({whole} bits) or one "
                                         f"group's ({whole // self._groups} bits)", self._simd)
        super().__init__({
            "i": In(stream.Signature(unsigned(self._channels))),
            "o": Out(stream.Signature(unsigned(self._simd))),
        })

    channels = property(lambda self: self._channels, doc="``C``, bits per input pixel.")
    height = property(lambda self: self._height, doc="``H``.")
    width = property(lambda self: self._width, doc="``W``.")
    kernel = property(lambda self: self._kernel, doc="``(kh, kw)``.")
    stride = property(lambda self: self._stride, doc="``(sh, sw)``.")
    padding = property(lambda self: self._padding, doc="``(ph, pw)``.")
    pad_bit = property(lambda self: self._pad_bit, doc="Border bit (1 = +1, 0 = -1).")
    repeat = property(lambda self: self._repeat, doc="Times each window goes out in a row.")
    output_size = property(lambda self: self._output_size, doc="``(H_out, W_out)``.")
    fan_in = property(lambda self: self._kernel[0] * self._kernel[1] * self._channels,
                      doc="Bits per window, ``kh*kw*C``.")
    simd = property(lambda self: self._simd,
                    doc="Bits per output transfer: the whole window or one group's.")
    groups = property(lambda self: self._groups,
                      doc="``G``: the window is in group order ``(g, ky, kx, c)``.")
    chunks_per_window = property(lambda self: self.fan_in // self._simd,
                                 doc="Transfers per window (1, or ``G`` group by group).")
    chunks_per_image = property(
        lambda self: self._output_size[0] * self._output_size[1] * self.chunks_per_window
        * self._repeat, doc="Output transfers per image.")
    cycles_per_image = property(
        lambda self: max(self._height * self._width, self.chunks_per_image),
        doc="Steady-state cycles per image without stalls, images back to back.")
    memory_bits = property(
        lambda self: self._width * (self._kernel[0] - 1) * self._channels,
        doc="Column-memory bits, ``W*(kh-1)*C``.")
    latency = property(lambda self: 1,
                       doc="Edges from accepting a window's bottom-right pixel to its transfer.")

    def window_backlog(self, cycles_per_image, service, images=3):
        """The most whole windows that wait between this unit and a consumer taking one window
        per ``service`` cycles, when the producer offers an image's ``H*W`` pixels evenly over
        ``cycles_per_image`` cycles (pixel ``k`` at cycle ``floor(k * cycles_per_image /
        (H*W))``, images back to back) and is never held. Windows complete in bursts when the
        stride exceeds 1 (a row of windows within a few pixels, then none for ``sh - 1`` rows):
        a FIFO of that many windows after the unit (``simd = fan_in``, ``repeat = 1``) lets
        the consumer even them out. 0 when one window per ``service`` cycles keeps pace."""
        (kh, kw), (sh, sw), (ph, pw) = self._kernel, self._stride, self._padding
        h_out, w_out = self._output_size
        pixels = self._height * self._width
        needs = [(oy * sh - ph + kh - 1) * self._width + ox * sw - pw + kw - 1
                 for oy in range(h_out) for ox in range(w_out)]
        done = [(n * pixels + need) * cycles_per_image // pixels
                for n in range(images) for need in needs]
        starts, free = [], 0
        for time in done:
            start = max(time + 1, free)
            starts.append(start)
            free = start + service
        return max(sum(1 for i in range(j + 1) if starts[i] > done[j]) for j in range(len(done)))

    def elaborate(self, platform):
        m = Module()
        C, H, W = self._channels, self._height, self._width
        (kh, kw), (sh, sw), (ph, pw) = self._kernel, self._stride, self._padding
        h_out, w_out = self._output_size
        pixels = H * W
        first_need = (kh - 1 - ph) * W + (kw - 1 - pw)
        last_need = ((h_out - 1) * sh - ph + kh - 1) * W + (w_out - 1) * sw - pw + kw - 1

        # --- step control ---
        # `t`: index, within the image the emitter works on, of the pixel of the next step
        # (negative while the writer still finishes the image before). `rel`: the writer's image
        # minus the emitter's (-1, 0 or +1). `wpos`: pixels the writer has taken of its image.
        t = Signal(signed(bits_for(max(last_need, pixels) + 1) + 1))
        rel = Signal(signed(2))
        wpos = Signal(range(pixels))
        need = Signal(range(last_need + 1), init=first_need)
        row_need = Signal(range(last_need + 1), init=first_need)
        oy = Signal(range(h_out))
        ox = Signal(range(w_out))
        top = Signal(signed(bits_for(H + kh + ph) + 1), init=-ph)     # oy*sh - ph
        left = Signal(signed(bits_for(W + kw + pw) + 1), init=-pw)    # ox*sw - pw
        rep = Signal(range(self._repeat))
        G = self._groups
        transfers = self.chunks_per_window
        part = Signal(range(transfers))          # the group of the transfer on `o`
        last_transfer = (rep == self._repeat - 1) & (part == transfers - 1)

        completes = Signal()     # the next step's pixel completes the window of (oy, ox)
        busy = Signal()          # the held window has not gone (or goes again)
        virtual = Signal()
        step = Signal()
        emit = Signal()
        m.d.comb += [
            completes.eq(t == need),
            busy.eq(self.o.valid & ~(self.o.ready & last_transfer)),
            virtual.eq((rel == 1) & (wpos == 0) & ~self.i.valid),
            self.i.ready.eq(~(busy & completes)),
            step.eq((self.i.valid | virtual) & ~(busy & completes)),
            emit.eq(step & completes),
        ]
        real = self.i.valid & self.i.ready
        wrap = real & (wpos == pixels - 1)
        wpos_next = Mux(real, Mux(wpos == pixels - 1, 0, wpos + 1), wpos)
        m.d.sync += wpos.eq(wpos_next)
        last_output = (oy == h_out - 1) & (ox == w_out - 1)
        finish = emit & last_output
        rel_next = rel + wrap - finish
        m.d.sync += rel.eq(rel_next)
        with m.If(step):
            m.d.sync += t.eq(Mux(finish, wpos_next + Mux(rel_next < 0, -pixels, 0), t + 1))

        # --- column memory: word `s mod W` = the pixels 1 .. kh-1 rows above step s ---
        addr = Signal(range(W))
        with m.If(step):
            m.d.sync += addr.eq(Mux(addr == W - 1, 0, addr + 1))
        pixel = self.i.payload
        if kh > 1:
            above_bits = (kh - 1) * C
            if W > 1:
                memory = buffer_memory(shape=unsigned(above_bits), depth=W)
                m.submodules.columns = memory
                write = memory.write_port()
                read = memory.read_port()    # reads the next step's word; never the one written
                m.d.comb += [
                    read.en.eq(step),
                    read.addr.eq(Mux(addr == W - 1, 0, addr + 1)),
                    write.addr.eq(addr),
                    write.en.eq(step),
                ]
                above = read.data
            else:
                above = Signal(above_bits)
            shifted = Cat(pixel, above[:(kh - 2) * C]) if kh > 2 else pixel
            if W > 1:
                m.d.comb += write.data.eq(shifted)
            else:
                with m.If(step):
                    m.d.sync += above.eq(shifted)
            # rows top (ky = 0) .. bottom (ky = kh-1, the step's pixel)
            column = [above[(kh - 2 - ky) * C:(kh - 1 - ky) * C] for ky in range(kh - 1)]
            column.append(pixel)
        else:
            column = [pixel]
        new_column = Cat(*column)

        # --- register window: columns kx = 0 .. kw-2; column kw-1 is the step's new column ---
        registers = [Signal(kh * C, name=f"window_col{kx}") for kx in range(kw - 1)]
        with m.If(step):
            for kx in range(kw - 1):
                m.d.sync += registers[kx].eq(registers[kx + 1] if kx + 1 < kw - 1
                                             else new_column)
        columns = registers + [new_column]

        # --- border masks of the window being completed, then the output register ---
        pad_word = Const((1 << C) - 1 if self._pad_bit else 0, C)
        row_in = [((top + ky) >= 0) & ((top + ky) < H) for ky in range(kh)]
        col_in = [((left + kx) >= 0) & ((left + kx) < W) for kx in range(kw)]
        taps = [Mux(row_in[ky] & col_in[kx], columns[kx][ky * C:(ky + 1) * C], pad_word)
                for ky in range(kh) for kx in range(kw)]
        per_group = C // G
        ordered = Cat(*(taps[t][g * per_group:(g + 1) * per_group]
                        for g in range(G) for t in range(kh * kw)))       # (g, ky, kx, c)
        held = Signal(len(ordered))
        if transfers > 1:
            m.d.comb += self.o.payload.eq(held.word_select(part, self._simd))
        else:
            m.d.comb += self.o.payload.eq(held)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += rep.eq(Mux(rep == self._repeat - 1, 0, rep + 1))
            if transfers > 1:
                with m.If(rep == self._repeat - 1):
                    m.d.sync += part.eq(Mux(part == transfers - 1, 0, part + 1))
            with m.If(last_transfer):
                m.d.sync += self.o.valid.eq(0)
        with m.If(emit):
            m.d.sync += [self.o.valid.eq(1), held.eq(ordered)]
            with m.If(ox == w_out - 1):
                m.d.sync += [ox.eq(0), left.eq(-pw)]
                with m.If(oy == h_out - 1):
                    m.d.sync += [oy.eq(0), top.eq(-ph), need.eq(first_need),
                                 row_need.eq(first_need)]
                with m.Else():
                    m.d.sync += [oy.eq(oy + 1), top.eq(top + sh), need.eq(row_need + sh * W),
                                 row_need.eq(row_need + sh * W)]
            with m.Else():
                m.d.sync += [ox.eq(ox + 1), left.eq(left + sw), need.eq(need + sw)]
        return m
