"""Progress of long steps (Verilator builds, simulations, Yosys and nextpnr runs).

On a terminal a live line (tqdm, on standard error) shows the elapsed time of a step whose
length is unknown, or a bar with rate and ETA for a count; it is erased when the step ends,
and the step's one-line summary follows as before. Anywhere else (CI logs, pipes) there is no
bar: :func:`elapsed` prints one line when a step starts and :func:`counted` one line at each
quarter of the count. ``BNNHW_PROGRESS=live`` or ``plain`` overrides the terminal test.

The live line writes to a duplicate of the terminal's descriptor taken when the step starts, so
a step that sends its tools' output to a log (:func:`bnnhw.toolchain.tool_output_to`) inside
the ``with`` block keeps its progress on the terminal.
"""

import os
import sys
import threading
import time
from contextlib import contextmanager

__all__ = ["counted", "elapsed", "is_live"]

#: Seconds between refreshes of a live line (and polls of a count).
INTERVAL = 0.5


def is_live():
    """True when progress is drawn live: ``BNNHW_PROGRESS`` if set, else whether standard
    error is a terminal."""
    mode = os.environ.get("BNNHW_PROGRESS", "").strip().lower()
    if mode in ("live", "plain"):
        return mode == "live"
    try:
        return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


@contextmanager
def _terminal():
    """A text stream on a duplicate of standard error's descriptor (closed on exit)."""
    sys.stderr.flush()
    stream = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
    try:
        yield stream
    finally:
        stream.close()


@contextmanager
def _every(action):
    """Call ``action()`` from a thread every :data:`INTERVAL` seconds while the block runs."""
    stop = threading.Event()

    def loop():
        while not stop.wait(INTERVAL):
            action()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _ticking(bar, poll=None):
    """Refresh ``bar`` (and set its count from ``poll()``) every :data:`INTERVAL` seconds
    while the block runs."""
    def tick():
        if poll is not None:
            done = poll()
            if done is not None and done > bar.n:
                bar.update(done - bar.n)
        bar.refresh()
    return _every(tick)


@contextmanager
def elapsed(what, *, log=print):
    """A step of unknown length: on a terminal ``what: 0:42`` ticking while the block runs;
    otherwise the line ``what ...`` through ``log`` at the start."""
    if not is_live():
        log(f"{what} ...")
        yield
        return
    from tqdm import tqdm
    with _terminal() as stream:
        bar = tqdm(total=None, desc=what, bar_format="{desc}: {elapsed}", leave=False,
                   file=stream, dynamic_ncols=True)
        try:
            with _ticking(bar):
                yield
        finally:
            bar.close()


@contextmanager
def counted(what, total, *, unit="", poll, log=print):
    """A step that counts to ``total``; ``poll()`` returns the count so far (or ``None``), and is
    called every :data:`INTERVAL` seconds from a thread. On a terminal: a bar with rate and ETA;
    otherwise ``what: k/total unit`` through ``log`` at each quarter (and at the end)."""
    if is_live():
        from tqdm import tqdm
        with _terminal() as stream:
            bar = tqdm(total=total, desc=what, unit=f" {unit}" if unit else "it", leave=False,
                       file=stream, dynamic_ncols=True)
            try:
                with _ticking(bar, poll):
                    yield
            finally:
                bar.close()
        return
    started = time.monotonic()
    marks = sorted({max(1, round(total * q / 4)) for q in (1, 2, 3, 4)}) if total else []
    reported = []

    def report(done):
        while marks and done >= marks[0]:
            mark = marks.pop(0)
            seconds = time.monotonic() - started
            rate = f", {mark / seconds:.1f} {unit or 'items'}/s" if seconds > 0 else ""
            reported.append(mark)
            log(f"{what}: {mark}/{total}" + (f" {unit}" if unit else "") + rate)

    def watch():
        done = poll()
        if done is not None:
            report(done)

    try:
        with _every(watch):
            yield
    finally:
        watch()
