"""The build's ``--board`` step's entry points, kept at their old name.

The board code lives in :mod:`bnnhw.board` (``docs/boards.md``); the bitstream build in
:mod:`bnnhw.board.bitstream`, the board table in :mod:`bnnhw.board.boards`. The build step
(``bnnhw/build/steps.py``) calls :func:`build_board` through this module, so a test can stand in
for it here.
"""

from ..board.bitstream import (
    BOARDS,
    NAME,
    BoardError,
    build_board,
    plain_top_name,
    platform_for,
)

__all__ = ["BOARDS", "BoardError", "NAME", "build_board", "plain_top_name", "platform_for"]
