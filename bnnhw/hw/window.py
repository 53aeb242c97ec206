"""Sliding-window unit for binary feature maps: line buffers in front of a ``BinaryMVAU``.

For one image of ``C`` channels, ``H x W`` pixels (a bit map, bit 1 = +1), kernel ``(kh, kw)``,
stride ``(sh, sw)`` and symmetric padding ``(ph, pw)`` with the layer's pad bit (docs/numerics.md
§1 and §4: ``H_out = (H + 2*ph - kh) // sh + 1``, likewise ``W_out``; the border holds the pad bit
for every channel, never a third value), the unit emits, for every output position
``(oy, ox)`` in raster order, the window

    x_pad[c, oy*sh + ky, ox*sw + kx]      for (ky, kx, c) in hardware fan-in order

(channel innermost, docs/compiler.md; ``x_pad`` = the map padded with the pad bit). That is
golden's ``patches`` window reordered by ``bnnhw.compiler.fan_in_order``. The window vector of
``kh*kw*C`` bits goes out as ``kh*kw*C/simd`` transfers of ``simd`` bits, element ``i`` at bit
``i % simd`` of transfer ``i // simd``: exactly what ``BinaryMVAU(fan_in=kh*kw*C, simd=simd)``
consumes. ``simd`` must divide ``C`` so that a transfer never straddles two pixels.

**Groups** (``groups = G``, grouped convolutions and pooling): the window goes out group by group,
``(g, k_h, k_w, c)`` with ``c`` over the ``C/G`` channels of group ``g`` (channels
``g*C/G ..``), i.e. ``G`` windows of ``kh*kw*C/G`` bits per position, one per group, each in
hardware fan-in order: what a grouped ``BinaryMVAU(groups=G)`` consumes. ``simd`` must divide
``C/G``. ``G = 1`` is the plain order above.

**Zero padding** (``zero_pad=True``, docs/numerics.md §4): a border tap of a zero-padded XNOR
convolution has no bit. Each output transfer then carries ``simd + 1`` bits: the chunk, and at
bit ``simd`` a border flag, set for a chunk of border taps (whose ``simd`` bits are then 0);
``BinaryMVAU(zero_pad=True)`` counts such a chunk as ``simd`` (two halves of a match per tap:
``u = 2*p_valid + P``). Since a chunk never straddles two pixels, a chunk is wholly border or
wholly real. The flag is the issue stage's pad flag, registered beside the read.

**Streams.** Input ``i``: one pixel per transfer, raster order, payload ``unsigned(C)`` (bit
``c`` = channel ``c``); an image is ``H*W`` transfers and images follow back to back (the unit
keeps its own row/position counters; payloads carry no coordinates). Output ``o``: ``unsigned(
simd)``, ``H_out*W_out*kh*kw*C/simd`` transfers per image.

**Line buffer.** One ``Memory`` of ``R*W`` words of ``C`` bits holding ``R`` whole input rows in
a circular order (``R = buffer_rows``, default :func:`default_buffer_rows`: ``kh + sh``, more
for unpadded and whole-map windows; memory bits ``R*W*C``). Rows are
numbered continuously over the stream of images; row ``A`` sits in slot ``A mod R`` at words
``slot*W .. slot*W + W-1``. A writer stores pixels as they come (one per cycle); a reader walks
``(oy, ox, ky, kx, c-chunk)`` and reads word ``slot(iy)*W + ix`` for the in-image tap
``(iy, ix) = (oy*sh - ph + ky, ox*sw - pw + kx)``, or emits the pad bits for a border tap. One
signed counter ``D`` = (rows the writer has completed) - (first row of the reader's image)
couples them:

- the reader issues a chunk of output row ``oy`` only when every input row it needs is complete:
  ``D > max(0, min(H-1, oy*sh - ph + kh - 1))`` (at least row 0 even when a window lies wholly
  in the border, ``ph >= kh``, so that nothing is emitted for an image that has not begun); at
  the end of an image ``D -= H``;
- the writer accepts a pixel only when its row's slot is free, i.e. the row ``R`` rows back is
  below the reader's first needed row: ``D < R + max(0, oy*sh - ph)``.

With ``R >= kh`` a reader waiting for a row always leaves the writer room for it (the rows it
needs span at most ``kh`` slots), so the unit never deadlocks, for any stride / padding / image
size, including input rows that no window uses (strides larger than the kernel, or rows below
the last window): the writer stores them and the reader skips them. ``R = kh + sh`` lets the
writer fill the ``sh`` rows of the next output row while the reader is on the current one; the
default adds the rows the next image's first output row needs beyond those the writer can load
while the reader is on the last output row (``max(0, H - H_out*sh)`` rows when ``ph < kh``:
``kh - 1`` for an unpadded stride-1 window, ``H - 1`` for a window as large as the map), so the
reader never waits for rows at an image boundary either. ``R = kh`` is the smallest legal
buffer, where the writer waits for each output row to finish before it can load the next rows
(slower, still correct).

**Pipeline** (docs/hw-conventions.md, one global stall ``stall = o.valid & ~o.ready``): issue
(window counters, address, pad flag) -> memory read port (enable ``~stall``) with the pad flag and
chunk index registered beside it -> ``o``. ``o.valid`` is a register, ``o.payload`` the selected
chunk of the held read word (or the pad bits); ``i.ready`` depends only on registers (never on
``o.ready``), so ``i`` and ``o`` are fully decoupled. The held read word is safe from the writer:
a slot is rewritten only after the reader's issue stage has moved past it, and the read port
keeps its data while disabled.

**Latency** (:attr:`latency` = 2): when the reader is waiting for input row ``r`` (the last row an
output row needs), the first chunk of that output row transfers 2 edges after the edge that
accepted row ``r``'s last pixel (no output stall). Rows are the unit of hand-over, so a window
never starts before its whole bottom row is in.

**Throughput.** The reader issues one output chunk per cycle whenever its rows are in and ``o``
is not stalled; the writer accepts one pixel per cycle whenever a slot is free. Per image the
reader needs ``chunks_per_image = H_out*W_out*kh*kw*C/simd`` cycles and the writer ``H*W``. With
the default buffer (``R = kh + sh``) the two overlap completely: without stalls, back-to-back
images take exactly ``max(chunks_per_image, H*W)`` cycles each in steady state
(:attr:`cycles_per_image`, checked by ``tests/hw/test_window.py``), i.e. one output chunk per cycle
whenever the output side is the slower one (roughly every kernel with ``kh*kw*C/simd >= sh*sw``:
the usual 3x3 and 1x1 stride-1 and 2x2 / 3x3 stride-2 layers), one input pixel per cycle
otherwise. With only ``kh + sh`` rows an unpadded or whole-map window would instead wait after
every image for the next image's missing rows (``(H - H_out*sh) * W`` pixels at the producer's
pace). ``R = kh`` saves ``sh*W*C`` bits but
serialises loading and reading at row boundaries (about ``sh*W`` extra cycles per output row in
the worst case). Behind a ``BinaryMVAU`` (``SF*NF`` cycles per window, ``SF = chunks per window``)
the unit is never the bottleneck; only when ``SF*NF*H_out*W_out < H*W`` (e.g. a 1x1 stride-2
layer with ``SF = NF = 1``) the input stream itself, one pixel per cycle, is the limit.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for, ceil_log2

from ..params import ParameterError, bool_param, int_param, is_bool, pair
from ._memory import buffer_memory

__all__ = ["SlidingWindow", "block_rams", "default_buffer_rows"]


def block_rams(width, depth):
    """iCE40 ``SB_RAM40_4K`` blocks for a ``width x depth`` memory (modes 256x16, 512x8,
    1024x4, 2048x2): what Yosys' memory mapping needs at the least."""
    return min(-(-width // w) * -(-depth // d) for w, d in ((16, 256), (8, 512), (4, 1024),
                                                            (2, 2048)))


def default_buffer_rows(height, kernel, stride, padding):
    """The default ``R`` along one axis: ``kh + sh``, plus the rows the writer must get ahead by
    so that the next image's first output row is in when the reader finishes an image.

    While the reader is on the last output row (top row ``(H_out-1)*sh - ph``) the writer may
    complete ``R + (H_out-1)*sh - ph - H`` rows of the next image; that image's first output row
    needs ``N1 = max(1, min(H, kh - ph))``. ``R = kh + sh`` covers it when ``H_out*sh >= H``
    (padded "same" convolutions, strides that tile the map); otherwise (unpadded convolutions,
    a window as large as the map) ``R`` grows by the difference, else the reader would wait for
    those rows after every image and the layer would take more than its chunks per image."""
    h_out = (height + 2 * padding - kernel) // stride + 1
    first = max(1, min(height, kernel - padding))
    need = height + first + padding - (h_out - 1) * stride
    return max(kernel + stride, need)


def window_parameters(*, channels, height, width, kernel, stride, padding, pad_bit, groups):
    """The checked parameters both sliding-window units share (this module's and
    ``bnnhw.hw.window_parallel``'s): ``(channels, groups, height, width, kernel, stride,
    padding, pad_bit, output_size)``, pairs as ``(h, w)`` tuples, ``output_size`` =
    ``(H_out, W_out)``. Raises :class:`ParameterError` naming the first bad one (a kernel larger
    than the padded map is ``kernel``)."""
    channels = int_param(channels, "channels", 1)
    groups = int_param(groups, "groups", 1)
    if channels % groups:
        raise ParameterError("groups", f"expected a divisor of channels={channels}", groups)
    height = int_param(height, "height", 1)
    width = int_param(width, "width", 1)
    kernel = pair(kernel, "kernel", 1)
    stride = pair(stride, "stride", 1)
    padding = pair(padding, "padding", 0)
    if is_bool(pad_bit) or pad_bit not in (0, 1) or isinstance(pad_bit, float):
        raise ParameterError("pad_bit", "expected 0 (pad value -1) or 1 (pad value +1)",
                             repr(pad_bit))
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    for axis, size, k, p in (("height", height, kh, ph), ("width", width, kw, pw)):
        if size + 2 * p < k:
            raise ParameterError("kernel", f"expected at most the padded {axis} {size} + "
                                           f"2*{p}", k)
    output_size = ((height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1)
    return (channels, groups, height, width, kernel, stride, padding, int(pad_bit),
            output_size)


class SlidingWindow(wiring.Component):
    """Sliding-window unit: a raster stream of ``C``-bit pixels in, binary conv windows out.

    For each output position (raster order over ``H_out x W_out``) emits the window in hardware
    fan-in order ``(ky, kx, c)`` as ``kh*kw*C/simd`` transfers of ``simd`` bits (window element
    ``i`` at bit ``i % simd`` of transfer ``i // simd``); border taps read ``pad_bit`` for every
    channel. With ``groups = G`` the window goes out group by group, ``(g, ky, kx, c)`` with ``c``
    over group ``g``'s ``C/G`` channels. See the module docstring for the line buffer, flow
    control and timing.

    Parameters (keyword-only)
    -------------------------
    channels : int
        ``C >= 1``, bits per input pixel (bit ``c`` = channel ``c``).
    height, width : int
        ``H, W >= 1``, input map size.
    kernel : int or (int, int)
        ``(kh, kw)``, each ``>= 1``; must fit the padded map (``H + 2*ph >= kh``, likewise ``w``).
    stride : int or (int, int)
        ``(sh, sw)``, each ``>= 1`` (default 1).
    padding : int or (int, int)
        ``(ph, pw)``, each ``>= 0`` (default 0), symmetric.
    pad_bit : 0 or 1
        The border value: 1 for pad value +1, 0 for -1 (docs/numerics.md §4; default 1).
    zero_pad : bool
        Zero padding: ``simd + 1``-bit transfers, bit ``simd`` flags a chunk of border taps
        (module docstring); the chunk bits of the border are 0 (``pad_bit`` must be 0).
        Default ``False``.
    simd : int
        Bits per output transfer; must divide ``channels / groups`` (default ``channels /
        groups``), so a transfer never straddles two pixels or two groups.
    buffer_rows : int, optional
        ``R``, input rows held by the line buffer, ``>= kh`` (default
        :func:`default_buffer_rows`: ``kh + sh``, plus the rows that let the writer load the next
        image's first output row while the reader finishes the current image).
    repeat : int
        Each window (each group's window) goes out ``repeat`` times in a row (default 1): the
        line buffer is re-read for every neuron fold of a ``reread`` MVAU, which then needs no
        vector buffer.
    chunked_buffer : bool
        Line-buffer words of ``simd`` bits instead of whole pixels (default ``False``): the
        writer stores a pixel over ``C/simd`` cycles (the pixel stays on ``i`` meanwhile, the
        stream rule), the reader reads exactly the chunk it emits. Same memory bits, narrower
        and deeper, which fits block RAMs of 16 bits or less (iCE40) in far fewer blocks
        (:func:`block_rams`); no multiplexer on the read side.
    groups : int
        ``G >= 1`` dividing ``channels`` (default 1): the window order of a grouped convolution
        (one window of ``kh*kw*C/G`` bits per group); the transfer count does not change.

    Members
    -------
    i : In(stream.Signature(unsigned(channels)))
        ``H*W`` pixels per image, raster order, images back to back.
    o : Out(stream.Signature(unsigned(simd)))
        ``H_out*W_out*kh*kw*channels/simd`` chunks per image (``simd + 1`` bits with
        ``zero_pad``: bit ``simd`` the border flag).

    Properties: the parameters, ``output_size`` ``(H_out, W_out)``, ``fan_in`` (``kh*kw*C``),
    ``chunks_per_window``, ``chunks_per_image``, ``cycles_per_image``
    (``max(chunks_per_image, H*W)``), ``memory_bits`` (``R*W*C``), ``latency`` (2).

    Raises
    ------
    ParameterError
        Message starting with the offending parameter's name: non-integer or out-of-range
        ``channels``/``height``/``width``/``kernel``/``stride``/``padding``/``simd``/
        ``buffer_rows``/``groups``; a kernel larger than the padded map; ``groups`` not dividing
        ``channels``; ``simd`` not dividing ``channels / groups``; ``pad_bit`` not 0/1.
    """

    def __init__(self, *, channels, height, width, kernel, stride=1, padding=0, pad_bit=1,
                 simd=None, buffer_rows=None, groups=1, chunked_buffer=False, repeat=1,
                 zero_pad=False):
        (self._channels, self._groups, self._height, self._width, self._kernel, self._stride,
         self._padding, self._pad_bit, self._output_size) = window_parameters(
            channels=channels, height=height, width=width, kernel=kernel, stride=stride,
            padding=padding, pad_bit=pad_bit, groups=groups)
        self._zero_pad = bool_param(zero_pad, "zero_pad")
        if self._zero_pad and self._pad_bit:
            raise ParameterError("pad_bit", "expected 0 with zero_pad (a border chunk's bits are "
                                            "0 beside its flag)", self._pad_bit)
        group_channels = self._channels // self._groups
        self._simd = group_channels if simd is None else int_param(simd, "simd", 1)
        if group_channels % self._simd:
            raise ParameterError("simd", f"expected a divisor of the {group_channels} channels "
                                         f"per group (channels={self._channels}, "
                                         f"groups={self._groups})", self._simd)
        (kh, _), (sh, _), (ph, _) = self._kernel, self._stride, self._padding
        self._buffer_rows = default_buffer_rows(self._height, kh, sh, ph) \
            if buffer_rows is None else int_param(buffer_rows, "buffer_rows", kh)
        self._repeat = int_param(repeat, "repeat", 1)
        self._chunked = bool_param(chunked_buffer, "chunked_buffer")
        super().__init__({
            "i": In(stream.Signature(unsigned(self._channels))),
            "o": Out(stream.Signature(unsigned(self._simd + self._zero_pad))),
        })

    channels = property(lambda self: self._channels, doc="``C``, bits per input pixel.")
    height = property(lambda self: self._height, doc="``H``.")
    width = property(lambda self: self._width, doc="``W``.")
    kernel = property(lambda self: self._kernel, doc="``(kh, kw)``.")
    stride = property(lambda self: self._stride, doc="``(sh, sw)``.")
    padding = property(lambda self: self._padding, doc="``(ph, pw)``.")
    pad_bit = property(lambda self: self._pad_bit, doc="Border bit (1 = +1, 0 = -1).")
    zero_pad = property(lambda self: self._zero_pad,
                        doc="Zero padding: bit ``simd`` of each transfer flags a border chunk.")
    simd = property(lambda self: self._simd, doc="Bits per output transfer.")
    groups = property(lambda self: self._groups,
                      doc="``G``: the window goes out group by group, ``(g, k_h, k_w, c)``.")
    buffer_rows = property(lambda self: self._buffer_rows, doc="``R``, rows in the line buffer.")
    output_size = property(lambda self: self._output_size, doc="``(H_out, W_out)``.")
    fan_in = property(lambda self: self._kernel[0] * self._kernel[1] * self._channels,
                      doc="Bits per window, ``kh*kw*C``.")
    chunks_per_window = property(lambda self: self.fan_in // self._simd,
                                 doc="Output transfers per window, ``kh*kw*C/simd``.")
    repeat = property(lambda self: self._repeat,
                      doc="Times each (group's) window goes out in a row.")
    chunks_per_image = property(
        lambda self: self._output_size[0] * self._output_size[1] * self.chunks_per_window
        * self._repeat, doc="Output transfers per image.")
    memory_bits = property(lambda self: self._buffer_rows * self._width * self._channels,
                           doc="Line-buffer bits, ``R*W*C``.")
    chunked_buffer = property(lambda self: self._chunked,
                              doc="Line-buffer words are ``simd``-bit chunks, not pixels.")
    buffer_word_bits = property(lambda self: self._simd if self._chunked else self._channels,
                                doc="Bits per line-buffer word.")
    cycles_per_image = property(
        lambda self: max(self.chunks_per_image, self._height * self._width * (
            self._channels // self._simd if self._chunked else 1)),
        doc="Steady-state cycles per image without stalls (default ``buffer_rows``).")
    latency = property(lambda self: 2,
                       doc="Edges from accepting the last pixel of a waited-for row to the "
                           "transfer of the first chunk that needed it.")

    def elaborate(self, platform):
        m = Module()
        C, H, W = self._channels, self._height, self._width
        (kh, kw), (sh, sw), (ph, pw) = self._kernel, self._stride, self._padding
        h_out, w_out = self._output_size
        R, simd = self._buffer_rows, self._simd
        G = self._groups
        n_chunks = C // G // simd                 # chunks of one group's channels per tap

        stall = Signal()
        run = ~stall
        m.d.comb += stall.eq(self.o.valid & ~self.o.ready)

        word_chunks = C // simd                   # chunks of one pixel (all groups)
        store = word_chunks if self._chunked else 1   # memory words per pixel
        buffer = buffer_memory(shape=unsigned(C // store), depth=R * W * store)
        m.submodules.line_buffer = buffer
        write = buffer.write_port()
        read = buffer.read_port()  # not transparent: the reader never reads a row being written

        # Signed coordinates: wide enough for every row/column offset (at most a map side plus a
        # kernel, a stride and the padding) and for D in [-H, H + R].
        span = max(H, W) + R + max(kh, kw) + max(sh, sw) + max(ph, pw) + 2
        coord = signed(bits_for(span) + 1)

        # --- reader state (issue stage) ---
        top = Signal(coord, init=-ph)            # oy*sh - ph
        left = Signal(coord, init=-pw)           # ox*sw - pw
        top_slot = Signal(range(R), init=(-ph) % R)  # slot of row `top` (mod R)
        oy = Signal(range(h_out))
        ox = Signal(range(w_out))
        ky = Signal(range(kh))
        kx = Signal(range(kw))
        cc = Signal(range(n_chunks))
        g = Signal(range(G))
        rep = Signal(range(self._repeat))
        rows = Signal(coord)                     # D
        image_done = Signal()
        row_done = Signal()

        # --- writer (a chunked buffer takes a pixel over `store` cycles, chunk wc each) ---
        write_addr = Signal(range(R * W * store))
        wx = Signal(range(W))
        wc = Signal(range(store))
        free = Signal()
        accept = Signal()
        m.d.comb += [
            free.eq((rows < R) | (rows < R + top)),
            self.i.ready.eq(free & (wc == store - 1)),
            accept.eq(self.i.valid & self.i.ready),
            write.addr.eq(write_addr),
            write.data.eq(self.i.payload.word_select(wc, C // store) if store > 1
                          else self.i.payload),
            write.en.eq(self.i.valid & free),
        ]
        with m.If(self.i.valid & free):
            m.d.sync += write_addr.eq(Mux(write_addr == R * W * store - 1, 0, write_addr + 1))
            if store > 1:
                m.d.sync += wc.eq(Mux(wc == store - 1, 0, wc + 1))
        with m.If(accept):
            m.d.sync += wx.eq(Mux(wx == W - 1, 0, wx + 1))
        m.d.comb += row_done.eq(accept & (wx == W - 1))
        m.d.sync += rows.eq(rows + row_done - Mux(image_done, H, 0))

        # --- reader: issue one chunk per cycle when its rows are complete and `o` moves ---
        available = Signal()
        issue = Signal()
        m.d.comb += [
            # `rows > 0`: never start an image before its first row is in (with ph >= kh the
            # first windows need no input row at all, and no image may be invented)
            available.eq(((rows > top + (kh - 1)) | (rows > H - 1)) & (rows > 0)),
            issue.eq(available & run),
        ]
        iy = Signal(coord)
        ix = Signal(coord)
        slot = Signal(range(R))
        pad = Signal()
        slot_sum = top_slot + ky
        m.d.comb += [
            iy.eq(top + ky),
            ix.eq(left + kx),
            slot.eq(Mux(slot_sum >= R, slot_sum - R, slot_sum)),
            pad.eq((iy < 0) | (iy >= H) | (ix < 0) | (ix >= W)),
            read.en.eq(run),
        ]
        pixel_addr = slot * W + ix[:ceil_log2(max(W, 2)) + 1]
        if store > 1:
            m.d.comb += read.addr.eq(pixel_addr * store + g * n_chunks + cc)
        else:
            m.d.comb += read.addr.eq(pixel_addr)

        last_chunk = cc == n_chunks - 1
        last_kx = kx == kw - 1
        last_ky = ky == kh - 1
        last_g = g == G - 1
        last_rep = rep == self._repeat - 1
        last_ox = ox == w_out - 1
        last_oy = oy == h_out - 1
        m.d.comb += image_done.eq(issue & last_chunk & last_kx & last_ky & last_rep & last_g
                                  & last_ox & last_oy)
        # slot of row `top` of the next output row / next image's first output row
        step_oy = sh % R
        step_image = (H - (h_out - 1) * sh) % R
        with m.If(issue):
            m.d.sync += cc.eq(Mux(last_chunk, 0, cc + 1))
            with m.If(last_chunk):
                m.d.sync += kx.eq(Mux(last_kx, 0, kx + 1))
                with m.If(last_kx):
                    m.d.sync += ky.eq(Mux(last_ky, 0, ky + 1))
                    with m.If(last_ky):
                        m.d.sync += rep.eq(Mux(last_rep, 0, rep + 1))
                    with m.If(last_ky & last_rep):
                        m.d.sync += g.eq(Mux(last_g, 0, g + 1))
                    with m.If(last_ky & last_rep & last_g):
                        m.d.sync += [
                            ox.eq(Mux(last_ox, 0, ox + 1)),
                            left.eq(Mux(last_ox, -pw, left + sw)),
                        ]
                        with m.If(last_ox):
                            step = Mux(last_oy, step_image, step_oy)
                            slot_next = top_slot + step
                            m.d.sync += [
                                oy.eq(Mux(last_oy, 0, oy + 1)),
                                top.eq(Mux(last_oy, -ph, top + sh)),
                                top_slot.eq(Mux(slot_next >= R, slot_next - R, slot_next)),
                            ]

        # --- stage 1: read word (held by the port while stalled), pad flag, chunk index ---
        pad1 = Signal()
        cc1 = Signal(range(word_chunks))
        with m.If(run):
            m.d.sync += [
                self.o.valid.eq(issue),
                pad1.eq(pad),
                cc1.eq(g * n_chunks + cc),
            ]
        pad_word = Const((1 << simd) - 1 if self._pad_bit else 0, simd)
        chunk = read.data.word_select(cc1, simd) if word_chunks > 1 and store == 1 \
            else read.data
        if self._zero_pad:
            m.d.comb += self.o.payload.eq(Cat(Mux(pad1, pad_word, chunk), pad1))
        else:
            m.d.comb += self.o.payload.eq(Mux(pad1, pad_word, chunk))
        return m
