"""Everything about the FPGA boards, in one place (``docs/boards.md``, ``docs/board-protocol.md``).

- :mod:`.protocol` — the serial protocol (frames, replies, CRC-8, :class:`~.protocol.BoardInfo`);
  pure Python, NumPy only: the host imports it without loading Amaranth.
- :mod:`.boards` — the board table :data:`~.boards.BOARDS`: platform, FPGA part, clock, the pins
  the board top uses and its constraints file (``constraints/`` at the top of the checkout).
- :mod:`.uart`, :mod:`.top` — the Amaranth UART and the UART classifier top
  :class:`~.top.ClassifierBoard` around a streaming network.
- :mod:`.bitstream` — ``--board``: the bitstream build with the YoWASP tools, the plain-Verilog
  board top and constraints file for a user's own flow.
- :mod:`.host` — ``python -m bnnhw.host``: classify images on a board over the serial port.

This ``__init__`` imports nothing, so ``import bnnhw.board.protocol`` stays free of Amaranth;
import the submodule you need.
"""
