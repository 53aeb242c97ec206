"""Build emitted Verilog with Verilator and run cocotb 2.x testbenches on it (pytest or scripts).

:func:`run_cocotb` is the one entry point: it applies the toolchain environment
(:func:`bnnhw.toolchain.sim_environment`), builds through ``cocotb_tools.runner`` and turns any
failed, errored or missing cocotb test into an :class:`AssertionError`, so a pytest test that calls
it can never pass silently.

Caching: Verilator skips regenerating a model whose sources and options are unchanged, and ``make``
then has nothing to do, so a rerun costs well under a second. The cache keys on source *paths*, so
write the Verilog to a stable path (:func:`write_source` keeps the file untouched when the text is
the same) and give every parameter set its own ``build_dir``.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from .. import toolchain
from ..errors import BnnhwError

__all__ = ["DEFAULT_BUILD_ARGS", "CocotbFailure", "SimBuildError", "run_cocotb", "write_source"]

StrPath = str | os.PathLike[str]

#: Verilator options used unless ``build_args`` is given. Amaranth's Verilog relies on Verilog's
#: context-determined widths, which Verilator's WIDTH lint flags by default and would stop the
#: build over; other warnings are printed to ``build.log`` but do not stop it either (the cocotb
#: tests check behaviour). The C++ is compiled with Verilator's defaults (``-Os``): on a 2-core
#: machine ``-O0`` saved only ~1.5 s of a ~9 s build and ``-O1`` was slower, while the runtime
#: library's optimisation matters for long simulations.
DEFAULT_BUILD_ARGS: tuple[str, ...] = ("-Wno-fatal", "-Wno-WIDTH")

_TAIL_LINES = 40


class CocotbFailure(BnnhwError, AssertionError):
    """A cocotb test failed or errored, no test ran, or the simulation ended abnormally."""


class SimBuildError(BnnhwError, RuntimeError):
    """Verilator or the C++ build failed; the message ends with the tail of ``build.log``."""


def write_source(path: StrPath, text: str) -> Path:
    """Write ``text`` to ``path`` unless the file already holds exactly that text.

    Leaving an unchanged file alone keeps Verilator's build cache valid, and the write goes
    through a temporary file and a rename, so concurrent writers of the same text are safe.

    Parameters
    ----------
    path : path-like
        Destination; parent directories are created.
    text : str
        File contents.

    Returns
    -------
    pathlib.Path
        The absolute path written.
    """
    path = Path(path).absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        if path.read_text() == text:
            return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (pytest-xdist workers may share a build dir)."""
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(directory / ".bnnhw-sim.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def _sys_path_first(directory: Path | None) -> Iterator[None]:
    """Put ``directory`` first on :data:`sys.path`; cocotb's runner passes it as PYTHONPATH."""
    if directory is None:
        yield
        return
    entry = str(directory)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(entry)


def _resolve_test_module(test_module: StrPath) -> tuple[str, Path | None]:
    if isinstance(test_module, os.PathLike) or str(test_module).endswith(".py"):
        path = Path(test_module).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"cocotb test module {str(path)!r} does not exist")
        return path.stem, path.parent
    if not str(test_module):
        raise ValueError("test_module must name a module or a .py file")
    return str(test_module), None


def _tail(path: Path, lines: int = _TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _failures(results_xml: Path) -> tuple[int, list[str]]:
    """Return the number of test cases and a description of each failed or errored one."""
    root = ElementTree.parse(results_xml).getroot()
    count = 0
    failures = []
    for case in root.iter("testcase"):
        count += 1
        for tag in ("failure", "error"):
            for element in case.findall(tag):
                name = f"{case.get('classname', '')}.{case.get('name', '')}".strip(".")
                message = (element.get("message") or "").strip()
                trace = "\n".join((element.text or "").rstrip().splitlines()[-_TAIL_LINES:])
                body = trace if message and message in trace else f"{message}\n{trace}".strip()
                failures.append(f"{name} ({tag}):\n" + "\n".join(
                    "    " + line for line in body.splitlines()))
    return count, failures


def run_cocotb(
    *,
    verilog_sources: Sequence[StrPath],
    toplevel: str,
    test_module: StrPath,
    build_dir: StrPath,
    test_dir: StrPath | None = None,
    testcase: str | Sequence[str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    parameters: Mapping[str, object] | None = None,
    build_args: Sequence[str] = DEFAULT_BUILD_ARGS,
    waves: bool = False,
    timescale: tuple[str, str] = ("1ns", "1ps"),
    seed: int | None = None,
    cxx_opt: str | None = None,
    test_args: Sequence[str] = (),
    plusargs: Sequence[str] = (),
) -> Path:
    """Build ``verilog_sources`` with Verilator and run the cocotb tests of ``test_module`` on them.

    Parameters
    ----------
    verilog_sources : sequence of path-like
        Verilog files (e.g. from ``amaranth.back.verilog.convert``). Keep their paths stable
        between runs, or the model is rebuilt.
    toplevel : str
        Name of the top module (the ``name=`` given to ``verilog.convert``).
    test_module : str or path-like
        Python module holding the ``@cocotb.test()`` coroutines: a ``.py`` file path (its
        directory is put on the simulator's ``PYTHONPATH``) or an importable module name.
    build_dir : path-like
        Verilator output directory; one per design and parameter set. Holds ``build.log``. Runs
        sharing a build directory are serialized by a lock file.
    test_dir : path-like, optional
        Where the simulation runs and writes ``results.xml`` (and ``dump.vcd``); default
        ``build_dir``.
    testcase : str or sequence of str, optional
        Run only these tests (names, matched as suffixes). Tests marked ``skip=True`` run when
        named here. Default: all tests of the module.
    extra_env : mapping of str to str, optional
        Variables for the simulation process, e.g. parameters the testbench reads. They win over
        the same names in :data:`os.environ`.
    parameters : mapping of str to object, optional
        Verilog parameters of the top module (``-G``).
    build_args : sequence of str, optional
        Verilator options; default :data:`DEFAULT_BUILD_ARGS`.
    waves : bool, optional
        Trace signals to ``<test_dir>/dump.vcd``.
    timescale : tuple of str, optional
        Time unit and precision for the model (Amaranth emits no ```timescale``).
    seed : int, optional
        ``COCOTB_RANDOM_SEED``; default random (cocotb logs the one it used).
    cxx_opt : str, optional
        C++ optimisation flag for the Verilated model (e.g. ``"-O0"``: a large design compiles
        about 7x faster and simulates slower — right for short runs). Default: Verilator's own
        (``-Os``). Part of the build: use a separate ``build_dir`` per value.
    test_args : sequence of str, optional
        Extra command-line arguments of the simulator executable (cocotb's Verilator main knows
        ``--coverage-per-instance``, ``--trace``, ``--trace-file F``).
    plusargs : sequence of str, optional
        Plusargs of the simulation, e.g. ``+verilator+coverage+file+PATH`` (where a model built
        with ``--coverage*`` writes its coverage; default ``coverage.dat`` in ``test_dir``).

    Returns
    -------
    pathlib.Path
        The results XML file (every test in it passed).

    Raises
    ------
    CocotbFailure
        A test failed or errored, no test matched ``testcase``, or the simulator crashed. The
        message lists each failure with its assertion message and traceback.
    SimBuildError
        Verilator or the C++ compiler failed (message ends with the tail of ``build.log``).
    bnnhw.toolchain.ToolchainError
        Verilator, ``make``, ``c++``, ``perl`` or a shared libpython is missing.
    """
    from cocotb_tools.runner import get_runner

    build_dir = Path(build_dir).absolute()
    test_dir = build_dir if test_dir is None else Path(test_dir).absolute()
    sources = [Path(source).absolute() for source in verilog_sources]
    if not sources:
        raise ValueError("verilog_sources must name at least one file")
    for source in sources:
        if not source.is_file():
            raise FileNotFoundError(f"Verilog source {str(source)!r} does not exist")
    module_name, module_dir = _resolve_test_module(test_module)
    toolchain._require_libpython()
    build_log = build_dir / "build.log"
    results_xml = test_dir / "results.xml"
    test_env = {str(k): str(v) for k, v in (extra_env or {}).items()}

    if cxx_opt is not None and not re.fullmatch(r"-O[0-3sgz]?", cxx_opt):
        raise ValueError(f"cxx_opt: expected a -O flag such as '-O0', got {cxx_opt!r}")
    opt_flags = "" if cxx_opt is None else " ".join(
        f"{var}={cxx_opt}" for var in ("OPT_FAST", "OPT_SLOW", "OPT_GLOBAL"))
    with _locked(build_dir), toolchain.sim_environment(), toolchain._patched_environ(
            # on top of the MAKEFLAGS the sim environment set (PYTHON3=...)
            {"MAKEFLAGS": f"{os.environ.get('MAKEFLAGS', '')} {opt_flags}".strip()}
            if opt_flags else {}):
        runner = get_runner("verilator")
        try:
            runner.build(
                sources=sources,
                hdl_toplevel=toplevel,
                build_dir=build_dir,
                build_args=list(build_args),
                parameters=dict(parameters or {}),
                timescale=timescale,
                waves=waves,
                log_file=build_log,
            )
        except (RuntimeError, SystemExit, subprocess.CalledProcessError) as exc:
            raise SimBuildError(
                f"Verilator build of {toplevel!r} failed ({exc}); log {build_log}:\n"
                f"{_tail(build_log)}"
            ) from None

        with toolchain._patched_environ(test_env), _sys_path_first(module_dir):
            abnormal = None
            try:
                runner.test(
                    test_module=module_name,
                    hdl_toplevel=toplevel,
                    hdl_toplevel_lang="verilog",
                    build_dir=build_dir,
                    test_dir=test_dir,
                    testcase=testcase,
                    extra_env=test_env,
                    parameters=dict(parameters or {}),
                    waves=waves,
                    seed=seed,
                    results_xml=str(results_xml),
                    test_args=list(test_args),
                    plusargs=list(plusargs),
                )
            except SystemExit as exc:
                # Under pytest, cocotb's runner calls sys.exit() when a test failed; we report the
                # failures from the results file below.
                abnormal = f"simulator exit status {exc.code}"
            except (RuntimeError, subprocess.CalledProcessError) as exc:
                abnormal = str(exc)

    where = f"toplevel {toplevel!r}, test module {module_name!r}, build dir {build_dir}"
    if not results_xml.is_file():
        raise CocotbFailure(
            f"cocotb simulation ended abnormally ({abnormal or 'no results file'}) for {where}; "
            "see the simulator output above"
        )
    count, failures = _failures(results_xml)
    if failures:
        raise CocotbFailure(
            f"{len(failures)} of {count} cocotb tests failed for {where}:\n" + "\n".join(failures)
        )
    if count == 0:
        selected = f"matched testcase={testcase!r}" if testcase is not None else "was found"
        raise CocotbFailure(f"no cocotb test {selected} for {where}")
    if abnormal is not None:
        raise CocotbFailure(f"cocotb simulation ended abnormally ({abnormal}) for {where}")
    return results_xml
