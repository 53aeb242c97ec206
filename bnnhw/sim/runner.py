"""Build emitted Verilog with Verilator and run cocotb 2.x testbenches on it (pytest or scripts).

:func:`run_cocotb` is the one entry point: it applies the toolchain environment
(:func:`bnnhw.toolchain.sim_environment`), builds through ``cocotb_tools.runner`` and turns any
failed, errored or missing cocotb test into an :class:`AssertionError`, so a pytest test that calls
it can never pass silently.

Caching: without a ``build_dir`` the model comes from the user's model cache
(:mod:`.model_cache`), keyed by the sources' text and every build option, and is compiled once
for every caller. With an explicit ``build_dir``, Verilator skips regenerating a model whose
sources and options are unchanged and ``make`` then has nothing to do; that check keys on source
*paths*, so write the Verilog to a stable path (:func:`write_source` keeps the file untouched
when the text is the same) and give every parameter set its own ``build_dir``. Either way, runs
sharing a model folder are serialized by its lock file (:func:`.model_cache.locked`).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from .. import progress, toolchain
from ..errors import BnnhwError
from . import model_cache

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


_MAIN_CPP = Path(__file__).with_name("verilator_main.cpp")

#: Make variables every build gets (:data:`bnnhw.toolchain.VERILATOR_MAKE_VARS`).
_MAKE_VARS = toolchain.VERILATOR_MAKE_VARS

#: What a cached model folder keeps after its build (the rest, ~200 MB of objects and
#: precompiled headers, is deleted).
_KEEP_AFTER_BUILD = ("build.log", "src", "public.vlt", model_cache.COMPLETE, model_cache.LOCK)


def _runner_class(main_cpp: Path | None, public_top: str | None, *, control: bool):
    """cocotb's Verilator runner, with bnnhw's simulator main instead of cocotb's when
    ``main_cpp`` is given; when ``public_top`` is given, without ``--public-flat-rw`` on the
    whole design (which keeps Verilator from optimizing the insides): only ``public_top``'s
    signals are made visible to VPI (``control``) or only what the Verilog marks."""
    from cocotb_tools.runner import Verilator

    class _Verilator(Verilator):
        def _build_command(self):
            cmds = super()._build_command()
            verilate = cmds[0]
            if main_cpp is not None:
                verilate[:] = [str(main_cpp) if arg.endswith("/verilator/verilator.cpp") else arg
                               for arg in verilate]
            if public_top is not None:
                verilate.remove("--public-flat-rw")
            if public_top is not None and control:
                vlt = Path(self.build_dir) / "public.vlt"
                vlt.write_text("`verilator_config\n"
                               f'public_flat_rw -module "{public_top}" -var "*"\n')
                verilate.append(str(vlt))
            return cmds

    return _Verilator


def _make_flags(cxx_opt: str | None, clock: str | None, half_period: int | None) -> str:
    flags = list(_MAKE_VARS)
    if cxx_opt is not None:
        flags += [f"{var}={cxx_opt}" for var in ("OPT_FAST", "OPT_SLOW", "OPT_GLOBAL")]
    if clock is not None:
        # VL_USER_FINISH: verilator_main.cpp's silent vl_finish (no "Verilog $finish" line).
        # In MAKEFLAGS a space inside a value is escaped; unescaped, make took the words after
        # the first as more arguments.
        defines = (f"-DBNNHW_CLOCK={clock}", f"-DBNNHW_HALF_PERIOD={half_period}",
                   "-DVL_USER_FINISH")
        flags.append("USER_CPPFLAGS=" + "\\ ".join(defines))
    return " ".join(flags)


def _half_period(clock_period_ns: float, precision: str) -> int:
    units = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0, "ps": 1e-3, "fs": 1e-6}
    match = re.fullmatch(r"(1|10|100)\s*(s|ms|us|ns|ps|fs)", precision.strip())
    if match is None:
        raise ValueError(f"timescale precision {precision!r} not understood")
    step_ns = int(match[1]) * units[match[2]]
    half = clock_period_ns / 2 / step_ns
    if half < 1 or abs(half - round(half)) > 1e-9:
        raise ValueError(f"clock_period_ns {clock_period_ns}: half a period is not a whole "
                         f"number of {precision} steps")
    return round(half)


def _cached_build_dir(texts: Mapping[str, str], toplevel: str, settings: dict) -> Path:
    """The model cache folder of the sources ``texts`` (file name -> text) and ``settings``."""
    from cocotb_tools import config as cocotb_config

    settings = dict(settings, toplevel=toplevel, main=_MAIN_CPP.read_text(),
                    cocotb_libs=str(cocotb_config.libs_dir))
    return model_cache.model_dir(model_cache.model_key(texts, settings))


def _copy_sources(texts: Mapping[str, str], folder: Path) -> list[Path]:
    """Write the sources into ``folder/src`` (the model never depends on where the caller keeps
    them); return their paths there, in order."""
    return [write_source(folder / "src" / name, text) for name, text in texts.items()]


def _strip_build(folder: Path, executable: str) -> None:
    """Delete what a finished cached model no longer needs: objects, generated C++, headers."""
    import shutil

    for entry in folder.iterdir():
        if entry.name in _KEEP_AFTER_BUILD or entry.name == executable:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def run_cocotb(
    *,
    verilog_sources: Sequence[StrPath],
    toplevel: str,
    test_module: StrPath,
    build_dir: StrPath | None = None,
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
    clock: str | None = None,
    clock_period_ns: float = 10,
    public: str = "all",
    log: Callable[[str], None] | None = None,
    build_info: dict | None = None,
    watch=None,
) -> Path:
    """Build ``verilog_sources`` with Verilator and run the cocotb tests of ``test_module`` on them.

    Parameters
    ----------
    verilog_sources : sequence of path-like
        Verilog files (e.g. from ``amaranth.back.verilog.convert``). With an explicit
        ``build_dir``, keep their paths stable between runs, or the model is rebuilt.
    toplevel : str
        Name of the top module (the ``name=`` given to ``verilog.convert``).
    test_module : str or path-like
        Python module holding the ``@cocotb.test()`` coroutines: a ``.py`` file path (its
        directory is put on the simulator's ``PYTHONPATH``) or an importable module name.
    build_dir : path-like, optional
        Verilator output directory; one per design and parameter set. Holds ``build.log``. Runs
        sharing a build directory are serialized by a lock file. Default: the user's model
        cache (:mod:`bnnhw.sim.model_cache`): a folder named by the hash of the sources' text
        and every build option, shared by all callers, so the same model is compiled once;
        ``test_dir`` is then required.
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
        Extra command-line arguments of the simulator executable (``--coverage-per-instance``,
        ``--trace``, ``--trace-file F``).
    plusargs : sequence of str, optional
        Plusargs of the simulation, e.g. ``+verilator+coverage+file+PATH`` (where a model built
        with ``--coverage*`` writes its coverage; default ``coverage.dat`` in ``test_dir``).
    clock : str, optional
        A top-level input the simulator drives itself, in C++ (bnnhw's simulator main,
        ``verilator_main.cpp``): a clock of ``clock_period_ns`` from time 0 that never
        stops. The testbench must not start a cocotb ``Clock`` on it, and must bound every
        wait with a ``Timer``. Edges where no cocotb callback is due cost one model evaluation
        each: Verilator speed instead of a Python-scheduled clock.
    clock_period_ns : float, optional
        Period of ``clock``.
    public : {"all", "top", "marked"}, optional
        Which signals VPI (cocotb) can see: every one (``--public-flat-rw``, cocotb's default),
        only those of the top module, or only those the Verilog marks with
        ``/*verilator public_flat_rw*/``. The narrower, the more Verilator optimizes (a
        whole network simulates several times faster): a signal VPI may write is treated as
        an input, and everything combinational from an input is evaluated on every edge.
    log : callable, optional
        Called with one line before a Verilator build starts and after it ends.
    build_info : dict, optional
        Filled with ``model`` (the build folder), ``from_cache`` (no compile was needed) and
        ``seconds`` (spent building or looking the model up, the simulation excluded).
    watch : context manager, optional
        Entered around the simulation itself (the build excluded), e.g. a
        :func:`bnnhw.progress.counted` display.

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
    sources = [Path(source).absolute() for source in verilog_sources]
    if not sources:
        raise ValueError("verilog_sources must name at least one file")
    for source in sources:
        if not source.is_file():
            raise FileNotFoundError(f"Verilog source {str(source)!r} does not exist")
    if public not in ("all", "top", "marked"):
        raise ValueError(f"public: expected 'all', 'top' or 'marked', got {public!r}")
    if cxx_opt is not None and not re.fullmatch(r"-O[0-3sgz]?", cxx_opt):
        raise ValueError(f"cxx_opt: expected a -O flag such as '-O0', got {cxx_opt!r}")
    half_period = None if clock is None else _half_period(clock_period_ns, timescale[1])
    module_name, module_dir = _resolve_test_module(test_module)
    toolchain._require_libpython()
    cached = build_dir is None
    if cached:
        if test_dir is None:
            raise ValueError("test_dir is required when the model comes from the cache "
                             "(build_dir=None)")
        texts = {source.name: source.read_text() for source in sources}
        if len(texts) != len(sources):
            raise ValueError("verilog_sources: two sources share a file name")
        build_dir = _cached_build_dir(texts, toplevel, {
            "build_args": list(build_args), "parameters": dict(parameters or {}),
            "waves": waves, "timescale": list(timescale), "cxx_opt": cxx_opt, "clock": clock,
            "half_period": half_period, "public": public, "make": _MAKE_VARS})
    build_dir = Path(build_dir).absolute()
    test_dir = build_dir if test_dir is None else Path(test_dir).absolute()
    test_env = {str(k): str(v) for k, v in (extra_env or {}).items()}
    runner_class = _runner_class(_MAIN_CPP if clock is not None else None,
                                 None if public == "all" else toplevel,
                                 control=public == "top")
    make_flags = _make_flags(cxx_opt, clock, half_period)
    with toolchain.sim_environment(), toolchain._patched_environ(
            # on top of the MAKEFLAGS the sim environment set (PYTHON3=...)
            {"MAKEFLAGS": f"{os.environ.get('MAKEFLAGS', '')} {make_flags}".strip()}):
        runner = runner_class()
        started = time.monotonic()
        from_cache = False
        if cached:
            with model_cache.locked(build_dir):
                from_cache = model_cache.is_complete(build_dir)
                if not from_cache:
                    _build(runner, _copy_sources(texts, build_dir), toplevel, build_dir,
                           build_args, parameters, timescale, waves, log)
                    _strip_build(build_dir, toplevel)
                    model_cache.mark_complete(build_dir, {"toplevel": toplevel,
                                                          "sources": [s.name for s in sources]})
                    model_cache.prune(keep=build_dir)
                elif log:
                    log(f"Verilator model of {toplevel!r} from the cache ({build_dir})")
            _note_build(build_info, build_dir, from_cache, started)
            with watch or contextlib.nullcontext():
                abnormal = _test(runner, module_name, module_dir, toplevel, build_dir,
                                 test_dir, testcase, test_env, parameters, waves, seed,
                                 test_args, plusargs)
        else:
            with model_cache.locked(build_dir):
                _build(runner, sources, toplevel, build_dir, build_args, parameters, timescale,
                       waves, log)
                _note_build(build_info, build_dir, from_cache, started)
                with watch or contextlib.nullcontext():
                    abnormal = _test(runner, module_name, module_dir, toplevel, build_dir,
                                     test_dir, testcase, test_env, parameters, waves, seed,
                                     test_args, plusargs)
    return _check_results(test_dir / "results.xml", abnormal, toplevel, module_name, build_dir,
                          testcase)


def _note_build(build_info, build_dir, from_cache, started):
    if build_info is not None:
        build_info.update(model=build_dir, from_cache=from_cache,
                          seconds=time.monotonic() - started)


def _build(runner, sources, toplevel, build_dir, build_args, parameters, timescale, waves, log):
    build_log = build_dir / "build.log"
    started = time.monotonic()
    shown = progress.elapsed(f"Verilator build of {toplevel!r} ({build_dir})", log=log) \
        if log else contextlib.nullcontext()
    try:
        with shown:
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
    if log:
        log(f"Verilator build of {toplevel!r} done in {time.monotonic() - started:.1f} s")


def _test(runner, module_name, module_dir, toplevel, build_dir, test_dir, testcase, test_env,
          parameters, waves, seed, test_args, plusargs):
    """Run the cocotb tests; return a description of an abnormal end, or None."""
    results_xml = test_dir / "results.xml"
    with toolchain._patched_environ(test_env), _sys_path_first(module_dir):
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
            return f"simulator exit status {exc.code}"
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            return str(exc)
    return None


def _check_results(results_xml, abnormal, toplevel, module_name, build_dir, testcase):
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
