"""The sweep's result cache: one ``KEY.json`` row per point (and ``KEY.seconds``, its wall time).

The client alone reads and writes it (:mod:`.sweep`): it looks every key up before submitting
anything and stores each row as its task finishes. Files are written through a temporary file
and a rename (:func:`write_atomically`), so a stopped sweep never leaves a half-written row.
"""

import json
import os
import tempfile
from pathlib import Path

__all__ = ["cached_row", "store_row", "write_atomically"]


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomically(path, data):
    """Write ``data`` (bytes) to ``path`` through a temporary file beside it and a rename:
    readers see the old file or the whole new one; mode as the umask gives."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def cached_row(cache, key):
    """The cached row of ``key`` in folder ``cache``, or ``None``."""
    try:
        return json.loads((Path(cache) / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None


def store_row(cache, key, row, seconds):
    """Store ``row`` of ``key`` in folder ``cache``, and beside it the evaluation's wall
    ``seconds`` (kept out of the row: not deterministic)."""
    folder = Path(cache)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / f"{key}.json",
                     json.dumps(row, sort_keys=True, indent=1).encode())
    write_atomically(folder / f"{key}.seconds", f"{seconds:.1f}\n".encode())
