"""The build folder: which folders a build may replace, and replacing one without losing anything.

A build writes its whole folder at once (:func:`publish`: a staging folder renamed into place),
so it must only ever replace a folder that a bnnhw build made. Every build folder holds
:data:`MARKER`, a file listing the files the build wrote; :func:`check_out` (run before any build
step) accepts as ``--out``:

- a path that does not exist yet (its nearest existing parent must be a writable folder);
- an empty folder;
- a folder holding :data:`MARKER` and no file the marker does not list (a file someone added
  is someone's: the build is refused, naming it);
- a build folder of a bnnhw from before the marker: ``report.json`` and ``memory_map.json``
  that parse as JSON objects holding the keys a build writes (``design``,
  ``cycles_per_inference``, ``folding``; ``folding``, ``images``, ``total_bits``), every
  ``images/*.hex`` named by that memory map,
  and nothing but the files a build writes.

and refuses everything else with one :class:`~.steps.BuildError` naming the folder and the
reason, touching nothing: a folder with other files, a file, a symbolic link, the current folder
or one of its parents, the home folder or one of its parents, the design folder or a folder
holding it, a folder holding the ``--inputs`` file.

The hidden work folders next to ``DIR`` (``.DIR.sim``, ``.DIR.synth``, ``.DIR.board``,
``.DIR.energy``: caches of the Verilator, Yosys and nextpnr runs) are checked the same way: each
one a build step will use must not exist, be empty, or hold :data:`WORK_MARKER` (or the files of
an older bnnhw's cache); the step marks it when it first uses it.
"""

import fnmatch
import json
import os
import shutil
import tempfile
from pathlib import Path
from ..errors import BnnhwError

__all__ = ["MARKER", "WORK_MARKER", "OutError", "check_out", "check_work_dir", "marker_bytes",
           "publish"]

#: File in every build folder: it marks the folder as a build's and lists the files written.
MARKER = ".bnnhw-build"
#: File in every hidden work folder a build step used.
WORK_MARKER = ".bnnhw-work"
WORK_MARKER_TEXT = ("bnnhw build work folder (Verilator / Yosys / nextpnr cache): python -m "
                    "bnnhw.build may write here and delete it freely.\n")
_MARKER_HEADER = ("bnnhw build folder: python -m bnnhw.build replaces this folder when it "
                  "rebuilds into it, as long as it holds only the files below.\n")

#: What a build folder of a bnnhw from before :data:`MARKER` held (top level, then subfolders).
_LEGACY_TOP = ("bnnhw_*.v", "images", "memory_map.json", "report.json", "report.md",
               "trace.vcd", "board", "outputs.npz")
_LEGACY_SUB = {"images": ("*.hex",), "board": ("bnnhw_board.*", "nextpnr.log")}
#: Sets of names, any one of which shows a hidden work folder is an older bnnhw's cache
#: (simulation / energy, synthesis, board).
_LEGACY_WORK = ({"bnnhw_harness.v", "job.json"}, {"build", "tools"},
                {"bnnhw_board.ys", "bnnhw_board.tim"})


class OutError(BnnhwError, ValueError):
    """``--out`` (or a work folder next to it) that a build must not write; says why."""


def marker_bytes(files):
    """The marker of a build folder holding ``files`` (relative paths): deterministic."""
    listed = sorted(set(files) | {MARKER})
    return (_MARKER_HEADER + "".join(f"{name}\n" for name in listed)).encode()


def _listed(folder):
    """The files :data:`MARKER` of ``folder`` lists, or None if it is no marker."""
    try:
        text = (folder / MARKER).read_text()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith(_MARKER_HEADER):
        return None
    return set(text[len(_MARKER_HEADER):].splitlines())


def _files(folder):
    """Every file and symbolic link under ``folder`` (relative, '/'), and every empty folder."""
    found = []

    def unreadable(error):             # a folder the walk cannot enter is someone's: list it
        found.append(Path(error.filename).relative_to(folder).as_posix() + "/")

    for root, dirs, files in os.walk(folder, onerror=unreadable):
        rel = Path(root).relative_to(folder)
        for name in files + [d for d in dirs if (Path(root) / d).is_symlink()]:
            found.append((rel / name).as_posix())
        if not dirs and not files and root != str(folder):
            found.append(rel.as_posix() + "/")
    return sorted(found)


#: Keys every ``report.json`` / ``memory_map.json`` a bnnhw build wrote holds.
_LEGACY_REPORT_KEYS = {"design", "cycles_per_inference", "folding"}
_LEGACY_MAP_KEYS = {"folding", "images", "total_bits"}


def _json_dict(path, keys):
    """The JSON object in ``path`` if it parses and holds ``keys``, else None."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and keys <= set(data) else None


def _is_legacy_build(folder, entries):
    """True if ``folder`` is a build folder of a bnnhw from before :data:`MARKER`: a
    ``report.json`` and a ``memory_map.json`` that parse and hold the keys a build writes, only
    files a build writes, and every ``images/*.hex`` named by that memory map."""
    names = {p.name for p in folder.iterdir()}
    if not {"report.json", "memory_map.json"} <= names:
        return False
    if _json_dict(folder / "report.json", _LEGACY_REPORT_KEYS) is None:
        return False
    memory_map = _json_dict(folder / "memory_map.json", _LEGACY_MAP_KEYS)
    if memory_map is None or not isinstance(memory_map["images"], list):
        return False
    mapped = {image.get("file") for image in memory_map["images"] if isinstance(image, dict)}
    for entry in entries:
        top, _, rest = entry.partition("/")
        if not rest:
            if not any(fnmatch.fnmatchcase(top, pattern) for pattern in _LEGACY_TOP) \
                    or top in _LEGACY_SUB:
                return False
        elif top not in _LEGACY_SUB or "/" in rest or not any(
                fnmatch.fnmatchcase(rest, pattern) for pattern in _LEGACY_SUB[top]):
            return False
        elif top == "images" and rest not in mapped:
            return False
    return True


def _inside(path, folder):
    """True if ``path`` is ``folder`` or lies inside it (both resolved)."""
    return path == folder or folder in path.parents


def check_out(out, *, design_dir, protect=()):
    """Raise :class:`OutError` unless a build may write ``out`` (see the module docstring).

    ``protect`` are further paths (the ``--inputs`` file) that must not lie inside ``out``.
    """
    out = Path(out)
    shown = str(out)
    if out.is_symlink():
        raise OutError(f"--out: {shown} is a symbolic link; name the folder itself")
    if out.exists() and not out.is_dir():
        raise OutError(f"--out: {shown} exists and is not a directory")
    target = out.resolve()
    cwd = Path.cwd().resolve()
    if _inside(cwd, target):
        what = "the current folder" if target == cwd else "a parent of the current folder"
        raise OutError(f"--out: {shown} is {what}; a build replaces its whole output folder, "
                       "so name a new folder (e.g. build/NAME)")
    try:
        home = Path.home().resolve()
    except (RuntimeError, KeyError):   # no home folder known
        home = None
    if home is not None and _inside(home, target):
        raise OutError(f"--out: {shown} is the home folder or one of its parents; name a new "
                       "folder")
    if _inside(Path(design_dir).resolve(), target):
        raise OutError(f"--out: {shown} is the design folder or holds it; name another folder")
    for path in protect:
        if _inside(Path(path).resolve(), target):
            raise OutError(f"--out: {shown} holds {path}, which the build reads; name another "
                           "folder")
    if target.is_dir():
        entries = _files(target)
        listed = _listed(target)
        if listed is not None:
            extra = [e for e in entries if e not in listed and e != MARKER]
            if extra:
                raise OutError(f"--out: {shown} is a bnnhw build folder, but it also holds "
                               f"{extra[0]!r}, which no build wrote ({len(extra)} such "
                               "file(s)); move them away or choose another folder")
        elif entries and not _is_legacy_build(target, entries):
            raise OutError(f"--out: {shown} is not empty and is not a bnnhw build folder (no "
                           f"{MARKER} file; it holds {entries[0]!r}); a build replaces its "
                           "whole output folder, so name a new or empty folder")
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OutError(f"--out: cannot create {shown}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutError(f"--out: cannot write {shown}: {parent} is not writable")


def check_work_dir(path, option):
    """Raise :class:`OutError` unless the hidden work folder ``path`` is free for a build step:
    absent, empty, marked with :data:`WORK_MARKER`, or an older bnnhw's cache."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise OutError(f"{option}: the work folder {path} exists and is not a directory; move "
                       "it away")
    if not path.is_dir():
        return
    names = {p.name for p in path.iterdir()}
    if not names or WORK_MARKER in names or any(sign <= names for sign in _LEGACY_WORK):
        return
    raise OutError(f"{option}: the work folder {path} (where the build keeps its {option} "
                   f"cache) holds files that are not a bnnhw build's ({sorted(names)[0]!r}, "
                   f"no {WORK_MARKER}); move them away or choose another --out")


def publish(files, out):
    """Write ``files`` (relative path -> bytes) and :data:`MARKER` into a staging folder next
    to ``out``, then swap it in for ``out`` (checked by :func:`check_out`).

    On any failure the staging folder is removed and ``out`` is left as it was.
    """
    out = Path(out).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    files = dict(files)
    files[MARKER] = marker_bytes(files)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.staging."))
    try:
        for name, data in sorted(files.items()):
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes it 0700
        if not out.exists():
            os.replace(staging, out)
            return
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old."))
        try:
            os.replace(out, old / "previous")
        except BaseException:
            old.rmdir()
            raise
        try:
            os.replace(staging, out)
        except BaseException:
            os.replace(old / "previous", out)
            old.rmdir()
            raise
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
