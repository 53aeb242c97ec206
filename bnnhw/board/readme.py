"""``board/README.md`` of a ``--board`` build: what is in the folder, how to load the bitstream,
the pins, clock and serial settings, and how to classify images with ``python -m bnnhw.host``.
Pure text from the board table and the build's result (no Amaranth, no machine paths)."""

from .boards import BOARDS

__all__ = ["board_readme"]

#: How each board's bitstream is usually loaded (the tools are not on PyPI).
_FLASH = {
    "ice40": ("iceprog", [
        "iceprog bnnhw_board.bin          # writes the iCEBreaker's flash; the FPGA boots from it",
    ], "`iceprog` comes with Project IceStorm (Debian/Ubuntu: `apt install fpga-icestorm`)."),
    "ecp5": ("openFPGALoader", [
        "openFPGALoader -b ulx3s -m bnnhw_board.bit   # SRAM: lost at power-off",
        "openFPGALoader -b ulx3s -f bnnhw_board.bit   # flash: kept",
    ], "`openFPGALoader` is packaged by most distributions (`apt install openfpgaloader`)."),
}

#: The serial port the board's UART usually appears as on Linux.
_PORT = {"icebreaker": "/dev/ttyUSB1 (the FTDI's second interface; the first one programs the "
                       "flash)",
         "ulx3s-25f": "/dev/ttyUSB0", "ulx3s-85f": "/dev/ttyUSB0"}


def board_readme(board, *, design, design_arg, result, baud=115200):
    """The README text; ``design_arg`` is what ``--design`` of the host script takes for this
    design (its name, or a placeholder for a design folder), ``result`` the board step's report
    section (``bitstream``, ``device``, ``utilisation``, ``fmax_mhz``, ``clock_mhz``,
    ``meets_timing``)."""
    spec = BOARDS[board]
    tool, commands, where = _FLASH[spec.family]
    port = _PORT.get(board, "/dev/ttyUSB0").split(" ")[0]
    used = ", ".join(f"{bel} {u['used']}/{u['available']}"
                     for bel, u in result["utilisation"].items() if u["used"])
    timing = "meets" if result["meets_timing"] else "does NOT meet"
    pins = [f"| `{port_name}` | {role} | {pin} |" for port_name, (role, pin) in spec.pins]
    bitstream = result["bitstream"].split("/")[-1]
    return "\n".join([
        f"# {design} on the {board}",
        "",
        f"- `{bitstream}`: the bitstream for the {result['device']} (the network behind a "
        "serial port: docs/board-protocol.md in bnnhw).",
        f"- `{spec.constraints}` and `bnnhw_*_top.v`: the board top as plain Verilog and its "
        "pin constraints, for your own Yosys/nextpnr flow (docs/boards.md).",
        "- `nextpnr.log`: utilisation and timing.",
        f"- Utilisation: {used}. Fmax {result['fmax_mhz']:.1f} MHz {timing} the "
        f"{result['clock_mhz']:g} MHz board clock.",
        "",
        "## Load the bitstream",
        "",
        "```sh",
        *[c.replace("bnnhw_board.bin", bitstream).replace("bnnhw_board.bit", bitstream)
          for c in commands],
        "```",
        "",
        f"{where} `python -m bnnhw.build ... --board {board} --program` runs `{tool}` for you.",
        "",
        "## Pins and clock",
        "",
        "| top-level port | role | pin |",
        "| --- | --- | --- |",
        *pins,
        "",
        f"The board clock is {spec.clock_mhz:g} MHz; there is no reset pin (the power-on reset "
        "holds the design after configuration). LEDs: status toggles once per classified "
        "image, error lights on a protocol error.",
        "",
        "## Serial port",
        "",
        f"{baud} baud, 8 data bits, no parity, 1 stop bit (8N1), no flow control. On Linux the "
        f"board appears as {_PORT.get(board, '/dev/ttyUSB0')}.",
        "",
        "## Classify images",
        "",
        "```sh",
        f"python -m bnnhw.host --port {port} --design {design_arg} --held-out 20",
        f"python -m bnnhw.host --port {port} --design {design_arg} IMAGES.npy "
        "[--labels LABELS.npy] [--logits]",
        "```",
        "",
        "The host script checks that the board holds this network, sends each image and prints "
        "the board's class next to the label and the golden model's class (exit status 0 when "
        "all agree with golden).",
        "",
    ])
