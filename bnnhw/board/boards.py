"""The board table: every board ``--board`` builds for, and what the build needs to know of it.

One :class:`Board` per name in :data:`BOARDS`: the amaranth-boards platform that builds its
bitstream, the FPGA part (the :class:`~bnnhw.synth.flow.Device` of ``bnnhw.synth``'s device list,
so the board and the synthesis reports name the same part with the same nextpnr flags), the
board clock, the pins the board top (:class:`~bnnhw.board.top.ClassifierBoard`) uses and the
constraints file holding them (``constraints/`` at the top of the checkout). Pure data: importing
this module loads no Amaranth. ``tests/board/test_constraints.py`` checks the table, the files in
``constraints/`` and the amaranth-boards platforms against each other, pin for pin.
"""

from dataclasses import dataclass

from ..synth.flow import DEVICES, Device

__all__ = ["Board", "BOARDS", "CAPACITY", "board_named"]


def _device(family, name):
    (device,) = [d for d in DEVICES[family] if d.name == name]
    return device


#: What each board's FPGA holds, in the resource model's units (``bnnhw.compiler.resources``):
#: LUT4 (iCE40 logic cells), block RAMs (iCE40 4 kbit EBR, ECP5 DP16KD) and DSP blocks.
CAPACITY = {
    "iCE40UP5K-SG48": {"luts": 5280, "bram": 30, "dsp": 8},
    "LFE5U-25F-CABGA381": {"luts": 24288, "bram": 56, "dsp": 28},
    "LFE5U-85F-CABGA381": {"luts": 83640, "bram": 208, "dsp": 156},
}


@dataclass(frozen=True)
class Board:
    """One board."""

    name: str                    #: ``--board`` name
    platform: tuple[str, str]    #: amaranth-boards module and platform class
    family: str                  #: ``ice40`` / ``ecp5``
    device: Device               #: the FPGA part and its nextpnr flags
    speed: str | None            #: nextpnr ``--speed`` grade (ECP5) or ``None``
    clock_mhz: float             #: the board clock the design runs on
    #: top-level port of the board top -> (amaranth-boards resource, pin / site)
    pins: tuple[tuple[str, tuple[str, str]], ...]
    constraints: str             #: the constraints file in ``constraints/``
    bitstream_suffix: str        #: ``bin`` (iCE40) / ``bit`` (ECP5)

    @property
    def nextpnr_args(self):
        """nextpnr's part flags: ``--up5k --package sg48`` or ``--25k --package CABGA381
        --speed 6``."""
        return self.device.args + (("--speed", self.speed) if self.speed else ())

    @property
    def capacity(self):
        """``{luts, bram, dsp}`` of the board's FPGA (:data:`CAPACITY`)."""
        return CAPACITY[self.device.name]

    @property
    def clock_port(self):
        """The board top's clock input port (``clk12_0__io``)."""
        return self.pins[-1][0]

    @property
    def pack_tool(self):
        return "icepack" if self.family == "ice40" else "ecppack"

    def platform_class(self):
        """The amaranth-boards platform class (imports Amaranth)."""
        import importlib

        module, cls = self.platform
        return getattr(importlib.import_module(module), cls)


_ULX3S_PINS = (
    ("uart_0__rx__io", ("uart.rx", "M1")),
    ("uart_0__tx__io", ("uart.tx", "L4")),
    ("led_0__io", ("led 0 (status)", "B2")),
    ("led_1__io", ("led 1 (error)", "C2")),
    ("clk25_0__io", ("clk25", "G2")),
)

#: board name -> :class:`Board`
BOARDS = {
    "icebreaker": Board(
        name="icebreaker", platform=("amaranth_boards.icebreaker", "ICEBreakerPlatform"),
        family="ice40", device=_device("ice40", "iCE40UP5K-SG48"), speed=None, clock_mhz=12.0,
        pins=(("uart_0__rx__io", ("uart.rx", "6")), ("uart_0__tx__io", ("uart.tx", "9")),
              ("led_g_0__io", ("led_g (status)", "37")), ("led_r_0__io", ("led_r (error)", "11")),
              ("clk12_0__io", ("clk12", "35"))),
        constraints="icebreaker.pcf", bitstream_suffix="bin"),
    "ulx3s-25f": Board(
        name="ulx3s-25f", platform=("amaranth_boards.ulx3s", "ULX3S_25F_Platform"),
        family="ecp5", device=_device("ecp5", "LFE5U-25F-CABGA381"), speed="6", clock_mhz=25.0,
        pins=_ULX3S_PINS, constraints="ulx3s.lpf", bitstream_suffix="bit"),
    "ulx3s-85f": Board(
        name="ulx3s-85f", platform=("amaranth_boards.ulx3s", "ULX3S_85F_Platform"),
        family="ecp5", device=_device("ecp5", "LFE5U-85F-CABGA381"), speed="6", clock_mhz=25.0,
        pins=_ULX3S_PINS, constraints="ulx3s.lpf", bitstream_suffix="bit"),
}


def board_named(name, error=ValueError):
    """The :class:`Board` called ``name``; ``error("--board: unknown board ...")`` if none is."""
    if name not in BOARDS:
        raise error(f"--board: unknown board {name!r}; choose one of "
                    f"{', '.join(sorted(BOARDS))}")
    return BOARDS[name]
