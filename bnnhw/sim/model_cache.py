"""Verilated models cached by content, shared by every output folder of a user.

A model's folder is named by a hash of everything that goes into the executable: the Verilog
text (not its path), the top module, Verilator's options, the C++ options, the simulator main,
and the versions of Verilator, cocotb and Python. The same design built into another folder, or
built again, finds its model and spends no time compiling.

Where: ``$BNNHW_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/bnnhw``, else ``~/.cache/bnnhw``;
models under ``verilator/``. Models are kept while there are at most
``$BNNHW_CACHE_MODELS`` of them (default 64); beyond that, the least recently used go.
A folder being built holds a lock file; a model is complete only when its ``.complete`` marker
exists, so an interrupted build is finished (or redone) by the next user.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = ["cache_root", "is_complete", "locked", "mark_complete", "model_dir", "model_key",
           "prune"]

COMPLETE = ".complete"
LOCK = ".bnnhw-sim.lock"
DEFAULT_MAX_MODELS = 64


def cache_root() -> Path:
    """The user's bnnhw cache folder (not created here)."""
    explicit = os.environ.get("BNNHW_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser().absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base.absolute() / "bnnhw"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def model_key(sources: Mapping[str, str], settings: Mapping[str, object]) -> str:
    """Hex digest naming one model: ``sources`` (file name -> text) and ``settings`` (every
    option of the build, JSON-serializable), plus the tool versions and platform."""
    digest = hashlib.sha256()
    environment = {"verilator": _version("verilator"), "cocotb": _version("cocotb"),
                   "python": sys.version, "machine": platform.machine(),
                   "system": platform.system()}
    header = json.dumps({"settings": settings, "environment": environment}, sort_keys=True,
                        default=str)
    digest.update(header.encode())
    for name in sorted(sources):
        digest.update(f"\0{name}\0{len(sources[name])}\0".encode())
        digest.update(sources[name].encode())
    return digest.hexdigest()[:24]


def model_dir(key: str) -> Path:
    """The folder of the model ``key`` (not created here)."""
    return cache_root() / "verilator" / key


def is_complete(folder: Path) -> bool:
    """True once the model in ``folder`` was built successfully; marks it recently used."""
    marker = Path(folder) / COMPLETE
    if not marker.is_file():
        return False
    with contextlib.suppress(OSError):
        os.utime(marker)
    return True


def mark_complete(folder: Path, description: Mapping[str, object]) -> None:
    """Record that ``folder`` holds a finished model (``description`` kept for people)."""
    (Path(folder) / COMPLETE).write_text(json.dumps(dict(description), indent=1, default=str))


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (created): concurrent builders of one model, e.g.
    pytest-xdist workers or two ``--sim`` runs, build it once."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(folder / LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def prune(keep: Path | None = None) -> list[Path]:
    """Remove the least recently used models beyond ``$BNNHW_CACHE_MODELS`` (never ``keep``,
    never one being built); return the folders removed."""
    try:
        limit = int(os.environ.get("BNNHW_CACHE_MODELS", DEFAULT_MAX_MODELS))
    except ValueError:
        limit = DEFAULT_MAX_MODELS
    root = cache_root() / "verilator"
    if not root.is_dir():
        return []
    used = []
    for folder in root.iterdir():
        marker = folder / COMPLETE
        if folder.is_dir() and marker.is_file():
            with contextlib.suppress(OSError):
                used.append((marker.stat().st_mtime, folder))
    used.sort(reverse=True)
    removed = []
    keep = None if keep is None else Path(keep).absolute()
    for _, folder in used[max(limit, 1):]:
        if folder.absolute() == keep:
            continue
        # A model last used within the minute may be in use by another process: leave it.
        try:
            if time.time() - (folder / COMPLETE).stat().st_mtime < 60:
                continue
        except OSError:                 # removed meanwhile by another process
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed
