"""UART receiver and transmitter: 8 data bits, no parity, 1 stop bit (8N1), LSB first.

Both take the clock frequency and the baud rate and run at ``divisor = round(clk_freq / baud)``
clock cycles per bit (:func:`uart_divisor` checks it: at least :data:`MIN_DIVISOR` cycles per
bit and a baud rate error below :data:`MAX_BAUD_ERROR`).

:class:`UARTReceiver`: the ``rx`` line goes through a 2-flip-flop synchroniser (initialised
high, the idle level), a low level starts a frame, and each bit is sampled once in its middle:
``divisor // 2`` cycles after the start edge (the start bit is sampled again there; a glitch that
is gone by then is ignored), then every ``divisor`` cycles. A byte whose stop bit reads 0 is
dropped and flagged on ``frame_error``; the receiver then waits for the line to go high again
(a break or a wrong baud rate does not produce a stream of bytes). Right after the stop bit's
sample it looks for the next start bit, so back-to-back bytes from a transmitter up to 2 % off
are received.

:class:`UARTTransmitter`: ``tx`` is a register (high when idle); a byte takes exactly
``10 * divisor`` cycles and the next one can follow without a gap.
"""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["MIN_DIVISOR", "MAX_BAUD_ERROR", "uart_divisor", "UARTReceiver", "UARTTransmitter"]

#: Fewest clock cycles per bit: the receiver samples ``divisor // 2`` cycles into a bit and the
#: synchroniser plus start detection take up to 3 cycles of that.
MIN_DIVISOR = 4
#: Largest relative difference between ``clk_freq / divisor`` and the requested baud rate.
MAX_BAUD_ERROR = 0.02


def uart_divisor(clk_freq, baud):
    """Clock cycles per bit for ``baud`` at ``clk_freq``.

    Raises
    ------
    ValueError
        ``clk_freq`` or ``baud`` not a positive number, fewer than :data:`MIN_DIVISOR` cycles
        per bit, or an actual baud rate more than 2 % off the requested one (the message starts
        with the parameter's name).
    """
    for name, value in (("clk_freq", clk_freq), ("baud", baud)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name}: expected a positive number, got {value!r}")
    divisor = round(clk_freq / baud)
    if divisor < MIN_DIVISOR:
        raise ValueError(f"baud: {baud} baud at clk_freq {clk_freq:g} Hz gives "
                         f"{clk_freq / baud:.2f} clock cycles per bit; at least {MIN_DIVISOR} "
                         f"are needed (lower the baud rate)")
    error = abs(clk_freq / divisor - baud) / baud
    if error >= MAX_BAUD_ERROR:
        raise ValueError(f"baud: {baud} baud at clk_freq {clk_freq:g} Hz: the nearest divisor "
                         f"{divisor} gives {clk_freq / divisor:.1f} baud, {error:.1%} off (must "
                         f"be below {MAX_BAUD_ERROR:.0%})")
    return divisor


class _UART(wiring.Component):
    def __init__(self, clk_freq, baud, members):
        self._divisor = uart_divisor(clk_freq, baud)
        self._clk_freq, self._baud = clk_freq, baud
        super().__init__(members)

    divisor = property(lambda self: self._divisor, doc="Clock cycles per bit.")
    clk_freq = property(lambda self: self._clk_freq)
    baud = property(lambda self: self._baud)

    @property
    def actual_baud(self):
        return self._clk_freq / self._divisor


class UARTReceiver(_UART):
    """8N1 receiver; see the module docstring.

    Members
    -------
    rx : In(1), idle high
        The serial line (asynchronous; synchronised inside).
    o : Out(stream.Signature(8))
        One transfer per byte. ``valid`` holds until ``ready``; a byte that completes while the
        previous one is still waiting replaces it and pulses ``overrun``.
    frame_error : Out(1)
        One-cycle pulse: a byte's stop bit was 0 (the byte is dropped).
    overrun : Out(1)
        One-cycle pulse: a byte was lost because ``o`` was not ready in time.
    """

    def __init__(self, *, clk_freq, baud):
        super().__init__(clk_freq, baud, {
            "rx": In(1, init=1),
            "o": Out(stream.Signature(8)),
            "frame_error": Out(1),
            "overrun": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        divisor = self.divisor
        rx = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, rx, init=1, stages=2)

        timer = Signal(range(divisor))
        bit = Signal(range(8))
        shift = Signal(8)

        m.d.sync += [self.frame_error.eq(0), self.overrun.eq(0)]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += timer.eq(divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer == 0):
                    with m.If(rx):                   # a glitch, not a start bit
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += [timer.eq(divisor - 1), bit.eq(0)]
                        m.next = "DATA"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("DATA"):
                with m.If(timer == 0):
                    m.d.sync += [shift.eq(Cat(shift[1:], rx)), timer.eq(divisor - 1),
                                 bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("STOP"):
                with m.If(timer == 0):
                    with m.If(rx):
                        m.d.sync += [self.o.payload.eq(shift), self.o.valid.eq(1)]
                        with m.If(self.o.valid & ~self.o.ready):
                            m.d.sync += self.overrun.eq(1)
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += self.frame_error.eq(1)
                        m.next = "BREAK"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("BREAK"):                   # wait for the line to return high
                with m.If(rx):
                    m.next = "IDLE"
        return m


class UARTTransmitter(_UART):
    """8N1 transmitter; see the module docstring.

    Members
    -------
    i : In(stream.Signature(8))
        One byte per transfer; ``ready`` depends only on the transmitter's state.
    tx : Out(1), idle high
        The serial line (a register).
    busy : Out(1)
        A byte is being shifted out.
    """

    def __init__(self, *, clk_freq, baud):
        super().__init__(clk_freq, baud, {
            "i": In(stream.Signature(8)),
            "tx": Out(1, init=1),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        divisor = self.divisor
        shift = Signal(10, init=0x3FF)
        timer = Signal(range(divisor))
        count = Signal(range(11))               # bit periods still to send
        m.d.comb += [
            self.tx.eq(shift[0]),
            self.busy.eq(count != 0),
            # ready in the last cycle of the stop bit too, so bytes follow without a gap
            self.i.ready.eq((count == 0) | ((count == 1) & (timer == 0))),
        ]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [shift.eq(Cat(Const(0, 1), self.i.payload, Const(1, 1))),
                         count.eq(10), timer.eq(divisor - 1)]
        with m.Elif(count != 0):
            with m.If(timer == 0):
                m.d.sync += [shift.eq(Cat(shift[1:], Const(1, 1))), count.eq(count - 1),
                             timer.eq(divisor - 1)]
            with m.Else():
                m.d.sync += timer.eq(timer - 1)
        return m
