"""Run a sweep: the points not in the cache as one Dask task graph (or serially), rows in order.

- ``scheduler=ADDRESS``: an existing Dask cluster (``dask scheduler`` / ``dask worker``,
  dask-jobqueue, Kubernetes, ...). Its workers need bnnhw installed and the design folder at the
  same path.
- otherwise ``workers=N`` (default 2): a :class:`distributed.LocalCluster` of ``N`` worker
  processes, one thread each, started and stopped here.
- ``serial=True``: no Dask at all, the points one after another in this process.

The cache is the client's: the client looks up every point's key before submitting anything and
stores each row as its task finishes, so a stopped sweep resumes where it was and a repeated
point costs nothing. A task's key is ``bnnhw-point-KEY``: Dask runs a point once however often it
is asked for, and reruns it on another worker when its worker dies (no point lost, none twice in
the results). Rows come back in point order, whatever the worker count or finishing order.
"""

import time
from dataclasses import asdict

from .. import progress
from .cache import cached_row, store_row
from .evaluate import evaluate_point

__all__ = ["run_sweep", "SweepResult"]


class SweepResult:
    """``rows`` (point order), ``cached`` (keys served from the cache), ``computed`` (keys
    evaluated now), ``seconds`` (wall time), ``dashboard`` (the Dask dashboard's link or
    ``None``), ``workers`` (Dask workers, 0 for serial)."""

    def __init__(self, rows, cached, computed, seconds, dashboard, workers):
        self.rows, self.cached, self.computed = rows, cached, computed
        self.seconds, self.dashboard, self.workers = seconds, dashboard, workers


def _timed(design, point, settings, key):
    started = time.monotonic()
    row = evaluate_point(design, point, settings, key)
    return row, time.monotonic() - started


def run_sweep(design, keyed_points, settings, *, cache, scheduler=None, workers=2,
              serial=False, log=print):
    """Rows of ``keyed_points`` (``[(Point, key)]``, distinct points) of ``design`` (an
    absolute folder path); see the module docstring. ``settings`` go to
    :func:`.evaluate.evaluate_point`."""
    started = time.monotonic()
    rows, cached, todo = {}, [], []
    for point, key in keyed_points:
        found = cached_row(cache, key)
        if found is not None:
            rows[key] = found
            cached.append(key)
        else:
            todo.append((point, key))
    if cached:
        log(f"explore: {len(cached)} of {len(keyed_points)} points from the cache {cache}")

    done = [0]

    def finished(key, row, seconds):
        rows[key] = row
        store_row(cache, key, row, seconds)
        done[0] += 1

    dashboard, worker_count = None, 0
    if todo and serial:
        log(f"explore: {len(todo)} points, serially")
        with progress.counted("explore", len(todo), unit="points", poll=lambda: done[0],
                              log=log):
            for point, key in todo:
                finished(key, *_timed(str(design), asdict(point), settings, key))
    elif todo:
        dashboard, worker_count = _run_dask(design, todo, settings, finished, scheduler,
                                            workers, done, log)
    ordered = [rows[key] for _, key in keyed_points]
    return SweepResult(ordered, cached, [k for _, k in todo], time.monotonic() - started,
                       dashboard, worker_count)


def _run_dask(design, todo, settings, finished, scheduler, workers, done, log):
    from distributed import Client, LocalCluster, as_completed
    cluster = None
    if scheduler:
        client = Client(scheduler, timeout="30s")
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)
    try:
        dashboard = client.dashboard_link if _dashboard_up(client) else None
        worker_count = len(client.scheduler_info()["workers"])
        where = f"the Dask scheduler {scheduler}" if scheduler else \
            f"a local Dask cluster of {workers} worker{'s' if workers != 1 else ''}"
        log(f"explore: {len(todo)} points on {where}"
            + (f"; dashboard {dashboard}" if dashboard else ""))
        futures = {client.submit(_timed, str(design), asdict(point), settings, key,
                                 key=f"bnnhw-point-{key}", retries=2): key
                   for point, key in todo}
        with progress.counted("explore", len(futures), unit="points", poll=lambda: done[0],
                              log=log):
            for future in as_completed(futures):
                finished(futures[future], *future.result())
        return dashboard, worker_count
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _dashboard_up(client):
    try:
        return bool(client.scheduler_info().get("services", {}).get("dashboard"))
    except Exception:       # noqa: BLE001 - a missing dashboard is only a missing link
        return False
