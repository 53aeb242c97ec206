"""The model file container: a deterministic ``.npz`` with a JSON graph entry.

``numpy.savez`` stamps each zip entry with the current time, so two saves of the same model
differ. This writer stores entries uncompressed, sorted by name, with a fixed timestamp, and
writes the file atomically (temporary file, then rename): the same model always gives the same
bytes, and a failed save leaves nothing behind. ``numpy.load`` reads the result as usual.
"""

import io
import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

__all__ = ["GRAPH_ENTRY", "write_container", "read_container"]

#: Name of the entry (a ``uint8`` array of UTF-8 JSON) that holds the graph.
GRAPH_ENTRY = "graph.json"

_EPOCH = (1980, 1, 1, 0, 0, 0)


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def graph_bytes(graph):
    """The canonical JSON encoding of ``graph`` (sorted keys, fixed separators, UTF-8)."""
    return json.dumps(graph, sort_keys=True, indent=1, ensure_ascii=False,
                      allow_nan=False).encode() + b"\n"


def write_container(path, graph, arrays):
    """Write ``graph`` (JSON-able dict) and ``arrays`` (name -> ndarray) to ``path``."""
    path = Path(path)
    entries = {GRAPH_ENTRY: np.frombuffer(graph_bytes(graph), dtype=np.uint8)}
    for name in arrays:
        if name == GRAPH_ENTRY:
            raise ValueError(f"arrays: the name {GRAPH_ENTRY!r} is reserved for the graph")
    entries.update(arrays)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as raw, zipfile.ZipFile(raw, "w") as archive:
            for name in sorted(entries):
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
                info.external_attr = 0o644 << 16
                archive.writestr(info, _npy_bytes(entries[name]))
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; a model file is for sharing
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_container(path):
    """``(graph, arrays)`` from a container; raises ValueError with a plain reason if unreadable."""
    path = Path(path)
    try:
        # our own handle, closed on every path (np.load leaks its own when the zip is damaged)
        with open(path, "rb") as handle:
            archive = np.load(handle, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ValueError("a single array or pickle, not a zip of .npy arrays")
            with archive:
                arrays = {name: archive[name] for name in archive.files}
    except IsADirectoryError:
        raise ValueError(f"{path}: is a folder, not a model file") from None
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error,
            NotImplementedError, RuntimeError, KeyError) as error:
        # zipfile: NotImplementedError for an unknown compression method, RuntimeError for an
        # encrypted entry; zlib.error for a corrupt deflate stream
        raise ValueError(f"{path}: not a bnnhw model file ({error or type(error).__name__})") \
            from None
    for name, value in arrays.items():
        if not isinstance(value, np.ndarray):      # an entry that is not .npy data
            raise ValueError(f"{path}: entry {name!r} is not a .npy array, not a bnnhw model "
                             "file")
    if GRAPH_ENTRY not in arrays:
        raise ValueError(f"{path}: missing the {GRAPH_ENTRY!r} entry, not a bnnhw model file")
    raw = arrays.pop(GRAPH_ENTRY)
    if raw.ndim != 1 or raw.dtype.kind not in "ui" or (raw.size and (raw.min() < 0
                                                                    or raw.max() > 255)):
        # one form only: a string array (np.array(json_text)) or anything else is refused,
        # without echoing the whole JSON back
        raise ValueError(f"{path}: {GRAPH_ENTRY} must be a 1-D uint8 array of UTF-8 JSON "
                         f"bytes (np.frombuffer(text.encode(), np.uint8)), got dtype "
                         f"{raw.dtype} shape {raw.shape}")
    try:
        graph = json.loads(raw.astype(np.uint8).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: {GRAPH_ENTRY} is not valid JSON ({error})") from None
    return graph, arrays
