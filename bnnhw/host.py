"""``python -m bnnhw.host``: the board's host script, kept at its old name.

The script lives in :mod:`bnnhw.board.host` (``docs/board-protocol.md``); this module re-exports
its public names and runs its ``main``. Like it, importing this module loads neither Amaranth nor
pyserial.
"""

import sys

from .board.host import (
    EXIT_ERROR,
    EXIT_MISMATCH,
    RETRIED_CODES,
    BoardClient,
    HostError,
    ReplyTimeout,
    load_design,
    load_images,
    main,
    open_port,
    run,
)

__all__ = ["HostError", "ReplyTimeout", "BoardClient", "open_port", "load_images", "main"]

if __name__ == "__main__":
    sys.exit(main())
