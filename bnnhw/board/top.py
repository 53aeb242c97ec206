"""A UART-attached classifier: serial frames in, image buffer, streaming network, class out.

:class:`ClassifierBoard` wraps a :class:`~bnnhw.hw.network.StreamingNetwork` for an FPGA board
with a serial port (``docs/board-protocol.md``)::

    uart_rx -> UARTReceiver -> FrameParser -> image buffer (Memory, one pixel per word)
                                   | done                  |
                               controller -> stream pixels -> network (result held on o)
                                                                          |
    uart_tx <- UARTTransmitter <------------- reply (class / logits / info / error, CRC-8)

- The :class:`FrameParser` writes each element of a frame into the image buffer as it arrives
  (byte lanes of the pixel's word), checks every element against the network's input range and
  the CRC-8 at the end, and reports the frame's command and status. Bytes outside a frame that
  are not a command are dropped; an inter-byte timeout ends a truncated frame; after a UART
  framing error inside a frame it drops everything until the line has been quiet for the
  timeout. So any garbage on the line is followed, at the latest one timeout after it stops, by
  a parser that waits for a command byte: the board resynchronises by itself.
- After a good CLASSIFY frame the controller streams the buffer's pixels into the network
  (``valid`` a register, the buffer's read port advancing only when the network takes a pixel:
  the network may stall the input at any time). The network's result stays on its ``o``
  (``o.ready`` low) while the reply reads it and is taken when the reply has been sent, so the
  board keeps no copy of the logits. A watchdog resets the network and replies with an error
  if no result comes within ``watchdog_cycles``; every state of the board therefore ends within a
  bounded time and the board never hangs.
- While the board is busy (streaming, waiting, replying) incoming bytes are dropped: the host
  sends one frame and waits for its reply.
- ``led_status`` toggles on every classified image; ``led_error`` lights on an error reply and
  goes out on the next good reply.

With ``platform=None`` (simulation, ``verilog.convert``) the ports are ``uart_rx``, ``uart_tx``,
``led_status`` and ``led_error`` (plus ``clk`` and ``rst``). Given an amaranth-boards platform,
:meth:`ClassifierBoard.elaborate` requests ``uart`` 0 and the LEDs itself (``led_g`` 0 / ``led_r``
0 where the board names them, e.g. the iCEBreaker, else ``led`` 0 / ``led`` 1, e.g. the ULX3S)
and uses the platform's default clock and reset (both vendor platforms add a power-on reset:
iCE40 holds the domain in reset for 15 us after configuration, ECP5 releases a synchronised
global set/reset).
"""

from amaranth.hdl import Cat, Const, Module, ResetInserter, Signal, unsigned
from amaranth.lib import io, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from . import protocol as bp
from .uart import UARTReceiver, UARTTransmitter, uart_divisor

__all__ = ["FrameParser", "ClassifierBoard", "board_info", "crc8_next"]

#: Parser status codes: 0 = good frame, else the protocol's error codes.
STATUS_OK = 0


def crc8_next(crc, byte):
    """CRC-8 (:data:`~.protocol.CRC_POLY`) of ``crc`` after ``byte``: an XOR network."""
    x = crc ^ byte
    columns = bp.crc8_step_matrix()
    bits = []
    for i in range(8):
        terms = [x[j] for j in range(8) if columns[j] >> i & 1]
        value = terms[0]
        for term in terms[1:]:
            value = value ^ term
        bits.append(value)
    return Cat(*bits)


def board_info(network):
    """The :class:`~.protocol.BoardInfo` of a network (``StreamingNetwork`` or any
    component with the same description attributes).

    The image shape and input range come from ``network.input_shape`` / ``network.input_range``.
    """
    shape, in_range = network.input_shape, network.input_range
    channels, height, width = (int(v) for v in shape)
    fmt = network.input_format
    if fmt.elements != channels:
        raise ValueError(f"network: input format has {fmt.elements} channels, input shape "
                         f"{tuple(shape)}")
    logits = network.logits_format
    try:
        return bp.BoardInfo(channels=channels, height=height, width=width,
                            lo=int(in_range[0]), hi=int(in_range[1]), classes=network.classes,
                            logit_bytes=-(-logits.width // 8),
                            logits_signed=logits.shape.signed, element_bits=fmt.width)
    except ValueError as error:
        raise ValueError(f"network: {error}") from None


class FrameParser(wiring.Component):
    """Frame parser of the board protocol; see the module docstring.

    Parameters
    ----------
    info : BoardInfo
        Image geometry and input range.
    timeout_cycles : int
        Inter-byte timeout inside a frame (and the quiet time that ends a drain).

    Members
    -------
    i : In(stream.Signature(8))
        Received bytes (always ready).
    frame_error : In(1)
        The receiver's framing-error pulse.
    enable : In(1)
        Start frames only while high (the board is idle); other bytes are dropped.
    w_addr, w_data, w_en : Out
        Image buffer write: pixel address, the element in every lane, one enable bit per lane
        (channel). Registered: one cycle after the byte.
    done : Out(1)
        One-cycle pulse at the end of a frame, with ``command`` (the frame's first byte) and
        ``status`` (0 or an ``ERR_*`` code).
    """

    def __init__(self, info, *, timeout_cycles):
        if not isinstance(timeout_cycles, int) or timeout_cycles < 1:
            raise ValueError(f"timeout_cycles: expected a positive integer, got "
                             f"{timeout_cycles!r}")
        self._info = info
        self._timeout = timeout_cycles
        pixels = info.height * info.width
        super().__init__({
            "i": In(stream.Signature(8)),
            "frame_error": In(1),
            "enable": In(1),
            "w_addr": Out(range(max(pixels, 2))),
            "w_data": Out(info.channels * info.element_bits),
            "w_en": Out(info.channels),
            "done": Out(1),
            "command": Out(8),
            "status": Out(3),
        })

    info = property(lambda self: self._info)
    timeout_cycles = property(lambda self: self._timeout)

    def elaborate(self, platform):
        m = Module()
        info = self._info
        channels, w = info.channels, info.element_bits
        pixels = info.height * info.width

        byte = self.i.payload
        got = self.i.valid
        m.d.comb += self.i.ready.eq(1)

        crc = Signal(8)
        timer = Signal(range(self._timeout + 1))
        pixel = Signal(range(max(pixels, 2)))
        channel = Signal(range(max(channels, 2)))
        bad_value = Signal()
        value = byte.as_signed() if info.signed else byte
        out_of_range = (value < info.lo) | (value > info.hi)

        m.d.sync += [self.done.eq(0), self.w_en.eq(0)]

        def finish(status):
            m.d.sync += [self.done.eq(1), self.status.eq(status)]
            m.next = "IDLE"

        with m.FSM():
            with m.State("IDLE"):
                is_command = (byte == bp.CLASSIFY) | (byte == bp.CLASSIFY_LOGITS) | \
                    (byte == bp.INFO)
                with m.If(got & self.enable & is_command):
                    m.d.sync += [crc.eq(crc8_next(Const(0, 8), byte)), self.command.eq(byte),
                                 pixel.eq(0), channel.eq(0), bad_value.eq(0),
                                 timer.eq(self._timeout)]
                    with m.If(byte == bp.INFO):
                        m.next = "CRC"
                    with m.Else():
                        m.next = "ELEMENTS"
            with m.State("ELEMENTS"):
                with m.If(self.frame_error):
                    m.d.sync += timer.eq(self._timeout)
                    m.next = "DRAIN"
                with m.Elif(got):
                    m.d.sync += [
                        crc.eq(crc8_next(crc, byte)), timer.eq(self._timeout),
                        self.w_addr.eq(pixel), self.w_data.eq(byte[:w].replicate(channels)),
                        self.w_en.eq(1 << channel),
                    ]
                    with m.If(out_of_range):
                        m.d.sync += bad_value.eq(1)
                    last_channel = channel == channels - 1
                    with m.If(last_channel):
                        m.d.sync += [channel.eq(0), pixel.eq(pixel + 1)]
                        with m.If(pixel == pixels - 1):
                            m.next = "CRC"
                    with m.Else():
                        m.d.sync += channel.eq(channel + 1)
                with m.Elif(timer == 0):
                    finish(bp.ERR_TIMEOUT)
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("CRC"):
                with m.If(self.frame_error):
                    m.d.sync += timer.eq(self._timeout)
                    m.next = "DRAIN"
                with m.Elif(got):
                    with m.If(byte != crc):
                        finish(bp.ERR_CHECKSUM)
                    with m.Elif(bad_value):
                        finish(bp.ERR_VALUE)
                    with m.Else():
                        finish(STATUS_OK)
                with m.Elif(timer == 0):
                    finish(bp.ERR_TIMEOUT)
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("DRAIN"):             # drop bytes until the line is quiet
                with m.If(got | self.frame_error):
                    m.d.sync += timer.eq(self._timeout)
                with m.Elif(timer == 0):
                    finish(bp.ERR_FRAMING)
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
        return m


# reply kinds
_CLASS, _LOGITS, _INFO, _ERROR = range(4)


class ClassifierBoard(wiring.Component):
    """A streaming network behind a UART; see the module docstring and
    ``docs/board-protocol.md``.

    Parameters
    ----------
    network : StreamingNetwork
        (or a component with the same ``i`` / ``o`` streams and description attributes).
    clk_freq : float
        Clock frequency in Hz (with a platform: its default clock's).
    baud : int
        Serial baud rate (8N1); ``round(clk_freq / baud)`` cycles per bit must be at least 4
        and within 2 % of the rate.
    timeout_bits : int
        Inter-byte timeout of a frame, in bit periods (default 2048: 17.8 ms at 115200 baud).
    watchdog_cycles : int, optional
        Cycles from the start of an image's pixel stream until its result must have come;
        default ``16 * (engines + 1) * cycles_per_inference + 16 * pixels + 4096``.

    Members
    -------
    uart_rx : In(1), idle high
    uart_tx : Out(1), idle high
    led_status : Out(1)
        Toggles on every classified image.
    led_error : Out(1)
        Lit from an error reply until the next good reply.
    """

    def __init__(self, network, *, clk_freq, baud=115200,
                 timeout_bits=bp.DEFAULT_TIMEOUT_BITS, watchdog_cycles=None):
        self._divisor = uart_divisor(clk_freq, baud)
        if isinstance(timeout_bits, bool) or not isinstance(timeout_bits, int) \
                or timeout_bits < 20:
            raise ValueError(f"timeout_bits: expected an integer of at least 20 bit periods "
                             f"(two bytes), got {timeout_bits!r}")
        self._network = network
        self._info = board_info(network)
        self._clk_freq, self._baud = clk_freq, baud
        self._timeout = timeout_bits * self._divisor
        pixels = self._info.height * self._info.width
        if watchdog_cycles is None:
            engines = len(getattr(network, "engines", ()))
            watchdog_cycles = 16 * (engines + 1) * int(network.cycles_per_inference) + \
                16 * pixels + 4096
        if isinstance(watchdog_cycles, bool) or not isinstance(watchdog_cycles, int) \
                or watchdog_cycles < pixels:
            raise ValueError(f"watchdog_cycles: expected an integer of at least the pixel count "
                             f"{pixels}, got {watchdog_cycles!r}")
        self._watchdog = watchdog_cycles
        super().__init__({
            "uart_rx": In(1, init=1),
            "uart_tx": Out(1, init=1),
            "led_status": Out(1),
            "led_error": Out(1),
        })

    @classmethod
    def for_platform(cls, network, platform, **kwargs):
        """The board for an amaranth-boards ``platform``: ``clk_freq`` is its default clock's
        frequency; other keywords as the constructor."""
        return cls(network, clk_freq=platform.default_clk_frequency, **kwargs)

    network = property(lambda self: self._network)
    info = property(lambda self: self._info, doc="The board's :class:`BoardInfo` (INFO reply).")
    clk_freq = property(lambda self: self._clk_freq)
    baud = property(lambda self: self._baud)
    divisor = property(lambda self: self._divisor, doc="Clock cycles per UART bit.")
    timeout_cycles = property(lambda self: self._timeout,
                              doc="Inter-byte timeout of a frame in clock cycles.")
    watchdog_cycles = property(lambda self: self._watchdog)

    def _check_platform_clock(self, platform):
        freq = getattr(platform, "default_clk_frequency", None)
        if freq is not None and abs(freq - self._clk_freq) > 1e-3 * freq:
            raise ValueError(f"clk_freq: the board was built for {self._clk_freq:g} Hz, the "
                             f"platform's default clock runs at {freq:g} Hz")

    def _platform_io(self, m, platform, rx_line, tx_line, status, error):
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx_buffer = rx_buffer = io.Buffer("i", uart.rx)
        m.submodules.uart_tx_buffer = tx_buffer = io.Buffer("o", uart.tx)
        m.d.comb += [rx_line.eq(rx_buffer.i), tx_buffer.o.eq(tx_line)]
        resources = getattr(platform, "resources", {})
        if ("led_g", 0) in resources and ("led_r", 0) in resources:
            leds = [("led_g", 0, status), ("led_r", 0, error)]
        else:
            leds = [("led", 0, status), ("led", 1, error)]
        for name, number, signal in leds:
            if (name, number) in resources:
                buffer = io.Buffer("o", platform.request(name, number, dir="-"))
                m.submodules[f"{name}_{number}_buffer"] = buffer
                m.d.comb += buffer.o.eq(signal)

    def elaborate(self, platform):
        if platform is not None:
            self._check_platform_clock(platform)
        m = Module()
        info = self._info
        net = self._network
        pixels = info.height * info.width
        channels, w = info.channels, info.element_bits

        m.submodules.rx = rx = UARTReceiver(clk_freq=self._clk_freq, baud=self._baud)
        m.submodules.tx = tx = UARTTransmitter(clk_freq=self._clk_freq, baud=self._baud)
        m.submodules.parser = parser = FrameParser(info, timeout_cycles=self._timeout)
        net_reset = Signal()
        m.submodules.network = ResetInserter({"sync": net_reset})(net)

        rx_line, tx_line = Signal(init=1), Signal(init=1)
        if platform is None:
            m.d.comb += rx_line.eq(self.uart_rx)
        else:
            self._platform_io(m, platform, rx_line, tx_line, self.led_status, self.led_error)
        m.d.comb += [rx.rx.eq(rx_line), tx_line.eq(tx.tx), self.uart_tx.eq(tx.tx)]

        wiring.connect(m, rx.o, parser.i)
        m.d.comb += parser.frame_error.eq(rx.frame_error)

        # --- image buffer: one pixel vector per word, written a channel lane at a time ---
        m.submodules.image = image = Memory(shape=unsigned(channels * w), depth=pixels,
                                            init=[])
        write = image.write_port(granularity=w if channels > 1 else None)
        read = image.read_port(domain="sync")
        m.d.comb += [write.addr.eq(parser.w_addr), write.data.eq(parser.w_data),
                     write.en.eq(parser.w_en)]

        # --- pixel stream into the network: valid is a register, the read port holds its
        # data while the network stalls ---
        addr = Signal(range(pixels + 1))
        streaming = Signal()
        fetch = streaming & (addr < pixels)
        stall = net.i.valid & ~net.i.ready
        m.d.comb += [read.addr.eq(addr), read.en.eq(~stall), net.i.payload.eq(read.data)]
        with m.If(~stall):
            m.d.sync += net.i.valid.eq(fetch)
            with m.If(fetch):
                m.d.sync += addr.eq(addr + 1)

        # --- result: the network holds it on `o` (no copy here) until the reply is sent ---
        release = Signal()
        m.d.comb += net.o.ready.eq(release)
        result = net.o.payload
        label_width = net.label_width
        label = result[:label_width]

        # --- reply bytes ---
        kind = Signal(2)
        error_byte = Signal(8)
        lfmt = net.logits_format
        logit_bytes = []
        for k in range(info.classes):
            raw = result[label_width + k * lfmt.width:label_width + (k + 1) * lfmt.width]
            wide = Signal(8 * info.logit_bytes, name=f"logit{k}")
            m.d.comb += wide.eq(raw.as_signed() if lfmt.shape.signed else raw)
            logit_bytes += [wide[8 * j:8 * j + 8] for j in range(info.logit_bytes)]
        tables = {
            _CLASS: [label],
            _LOGITS: [label] + logit_bytes,
            _INFO: [Const(b, 8) for b in info.to_bytes()],
            _ERROR: [error_byte],
        }
        longest = max(len(t) for t in tables.values())
        index = Signal(range(longest + 2))
        length = Signal(range(longest + 1))
        byte = Signal(8)
        with m.Switch(kind):
            for k, table in tables.items():
                with m.Case(k):
                    m.d.comb += length.eq(len(table))
                    with m.Switch(index):
                        for j, value in enumerate(table):
                            with m.Case(j):
                                m.d.comb += byte.eq(value)
        crc = Signal(8)

        watchdog = Signal(range(self._watchdog + 1))
        logits_wanted = Signal()
        m.d.sync += net_reset.eq(0)

        def reply(reply_kind, error_code=None):
            m.d.sync += [kind.eq(reply_kind), index.eq(0), crc.eq(0)]
            if error_code is not None:
                m.d.sync += error_byte.eq(bp.ERROR_BASE | error_code)
            m.next = "REPLY"

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += parser.enable.eq(1)
                with m.If(parser.done):
                    with m.If(parser.status != STATUS_OK):
                        m.d.sync += error_byte.eq(bp.ERROR_BASE | parser.status)
                        reply(_ERROR)
                    with m.Elif(parser.command == bp.INFO):
                        reply(_INFO)
                    with m.Else():
                        m.d.sync += [addr.eq(0), streaming.eq(1), watchdog.eq(0),
                                     logits_wanted.eq(parser.command == bp.CLASSIFY_LOGITS)]
                        m.next = "CLASSIFY"
            with m.State("CLASSIFY"):
                m.d.sync += watchdog.eq(watchdog + 1)
                with m.If(net.o.valid):
                    m.d.sync += [streaming.eq(0), self.led_status.eq(~self.led_status)]
                    with m.If(logits_wanted):
                        reply(_LOGITS)
                    with m.Else():
                        reply(_CLASS)
                with m.Elif(watchdog == self._watchdog):
                    m.d.sync += [net_reset.eq(1), streaming.eq(0), net.i.valid.eq(0)]
                    reply(_ERROR, bp.ERR_NETWORK)
            with m.State("REPLY"):
                with m.If(~tx.i.valid | tx.i.ready):
                    with m.If(index < length):
                        m.d.sync += [tx.i.valid.eq(1), tx.i.payload.eq(byte),
                                     crc.eq(crc8_next(crc, byte)), index.eq(index + 1)]
                    with m.Elif(index == length):
                        m.d.sync += [tx.i.valid.eq(1), tx.i.payload.eq(crc),
                                     index.eq(index + 1)]
                    with m.Else():
                        m.d.sync += [tx.i.valid.eq(0),
                                     self.led_error.eq(kind == _ERROR)]
                        # a class / logits reply read the held result: let it go now
                        m.d.comb += release.eq((kind == _CLASS) | (kind == _LOGITS))
                        m.next = "IDLE"
        return m

    @property
    def reply_seconds(self):
        """Worst-case serial time of one reply (logits), for host timeouts."""
        return (2 + self._info.classes * self._info.logit_bytes) * 10 / (
            self._clk_freq / self._divisor)

    @property
    def frame_seconds(self):
        """Serial time of one CLASSIFY frame."""
        return self._info.frame_bytes * 10 * self._divisor / self._clk_freq

