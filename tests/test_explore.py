"""python -m bnnhw.explore: points, keys, Pareto fronts, and sweeps on a real Dask cluster.

The sweep tests run the small design's points without simulation and with the resource model
instead of synthesis (a few seconds per point): what they check is the distribution, the cache
and the determinism, which do not depend on what a point evaluates. The same code path with
simulation and synthesis is the committed boolnet sweep (``benchmarks/results/explore/``).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bnnhw.explore import ExploreError, Point, explore, pareto_front, parse_points, point_key
from bnnhw.explore.__main__ import main
from bnnhw.explore.points import default_cycles

from .model.samples import small_model, write_design

#: Six points of the small design (64 input pixels): three foldings on two targets.
POINTS = "cycles=64,256,1024"
TARGETS = ["ecp5", "ice40"]


def test_points_are_the_cross_product_sorted_without_repeats():
    points = parse_points("cycles=256,64,64;weights=rom,auto", ["ice40", "ecp5"], [1])
    assert points == sorted(points) and len(points) == 8
    assert points[0] == Point("ecp5", 64, "auto")
    assert parse_points("", ["ecp5"], [64, 128]) == [Point("ecp5", 64), Point("ecp5", 128)]
    assert default_cycles(64, 300) == [64, 128, 256, 300]
    union = parse_points("cycles=64,128 | cycles=64;weights=rom", ["ecp5"], [1])
    assert union == [Point("ecp5", 64, "auto"), Point("ecp5", 64, "rom"),
                     Point("ecp5", 128, "auto")]


@pytest.mark.parametrize("spec, targets, message", [
    ("cycles=0", ["ecp5"], "--points: cycles: expected positive integers, got 0"),
    ("cycles=a", ["ecp5"], "--points: cycles: expected positive integers separated"),
    ("weights=flash", ["ecp5"], "--points: weights: expected modes among auto, rom, logic"),
    ("folds=3", ["ecp5"], "--points: expected 'cycles=A,B,...'"),
    ("", ["xilinx"], "--targets: expected targets among ecp5, ice40, got 'xilinx'"),
])
def test_bad_points_are_one_named_error(spec, targets, message):
    with pytest.raises(ExploreError, match=f"^{message}"):
        parse_points(spec, targets, [64])


def test_keys_change_with_the_point_and_the_settings_only():
    settings = {"images": 0, "synth": False, "energy": 0}
    a = point_key("d", Point("ecp5", 64), settings)
    assert a == point_key("d", Point("ecp5", 64), dict(settings))
    assert a != point_key("d", Point("ecp5", 128), settings)
    assert a != point_key("e", Point("ecp5", 64), settings)
    assert a != point_key("d", Point("ecp5", 64), dict(settings, images=4))


def test_keys_follow_bnnhw_own_files(monkeypatch):
    """A changed bnnhw (same version, other code) gives other keys: no stale cached rows."""
    from bnnhw.explore import points
    settings = {"images": 0, "synth": False, "energy": 0}
    a = point_key("d", Point("ecp5", 64), settings)
    monkeypatch.setattr(points, "_source_digest", lambda: "other code")
    assert point_key("d", Point("ecp5", 64), settings) != a


def test_pareto_front_keeps_the_undominated_rows():
    rows = [{"key": k, "lut4": lut, "ips": s} for k, lut, s in
            [("a", 100, 10), ("b", 200, 20), ("c", 150, 5), ("d", 200, 15), ("e", 50, 1)]]
    rows.append({"key": "f", "lut4": 10, "ips": 100, "error": "did not build"})
    rows.append({"key": "g", "lut4": 10, "ips": 100, "fits": False})
    assert pareto_front(rows, "lut4", "ips") == {"a", "b", "e"}


def test_bad_options_are_one_line_and_exit_1(tmp_path, capsys):
    assert main(["no-such-design", "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("bnnhw.explore: error: design: unknown design 'no-such-design'")
    assert len(err.strip().splitlines()) == 1
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep")
    assert main(["boolnet", "--out", str(user), "--no-synth", "--images", "0"]) == 1
    assert "is a non-empty folder that is not an earlier explore output" in \
        capsys.readouterr().err
    assert sorted(p.name for p in user.iterdir()) == ["notes.txt"]


@pytest.fixture(scope="module")
def design(tmp_path_factory):
    return write_design(tmp_path_factory.mktemp("explore"), "small", small_model(), 4096)


def _sweep(design, out, cache, **options):
    lines = []
    result = explore(str(design), targets=TARGETS, points=POINTS, images=0, synth=False,
                     out=out, cache=cache, log=lines.append, **options)
    return result, lines


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(cmd, **kwargs):
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, **kwargs)


def _stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.mark.filterwarnings("ignore")         # distributed's own shutdown warnings
def test_a_sweep_on_a_real_cluster_equals_local_and_serial_runs(design, tmp_path):
    """A scheduler and two workers as separate processes (``dask scheduler`` / ``dask worker``,
    no nanny): the sweep through ``--scheduler`` gives rows identical to a LocalCluster run and
    a serial run, byte-identical results.json; one worker is killed while it runs a point, its
    tasks rerun on the other, no point is lost or repeated; a second run of the same sweep is
    served from the cache without a task."""
    serial, _ = _sweep(design, tmp_path / "serial", tmp_path / "c1", serial=True)
    local, lines = _sweep(design, tmp_path / "local", tmp_path / "c2", workers=2)
    assert any("a local Dask cluster of 2 workers" in line for line in lines)
    assert local["rows"] == serial["rows"] and len(serial["rows"]) == 6
    assert not any(r["error"] for r in serial["rows"])

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).parent / "dask")          # the venv's `dask` command
    scheduler = _start([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                        "--dashboard-address", ":0"])
    workers = [_start([dask, "worker", address, "--nthreads", "1", "--no-nanny",
                       "--name", f"w{k}"]) for k in range(2)]
    try:
        from distributed import Client
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
            pids = client.run(os.getpid)            # worker address -> its process id
            killed = {}

            def kill_a_busy_worker():
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline and not killed:
                    busy = [w for w, tasks in client.processing().items() if tasks]
                    if busy:
                        victim = next(p for p in workers if p.pid == pids[busy[0]])
                        _stop(victim)
                        killed["worker"] = busy[0]
                    time.sleep(0.1)

            watcher = threading.Thread(target=kill_a_busy_worker)
            watcher.start()
            remote, lines = _sweep(design, tmp_path / "remote", tmp_path / "c3",
                                   scheduler=address)
            watcher.join()
        assert killed, "no worker was running a point to kill"
        assert any(f"the Dask scheduler {address}" in line for line in lines)
        assert remote["rows"] == serial["rows"]
        assert [r["key"] for r in remote["rows"]] == [r["key"] for r in serial["rows"]]
        assert len({r["key"] for r in remote["rows"]}) == 6
        assert len(list((tmp_path / "c3").glob("*.json"))) == 6
        for name in ("results.json", "results.csv"):
            assert (tmp_path / "remote" / name).read_bytes() == \
                (tmp_path / "serial" / name).read_bytes()

        again, lines = _sweep(design, tmp_path / "remote", tmp_path / "c3", scheduler=address)
        assert again["sweep"].computed == [] and len(again["sweep"].cached) == 6
        assert again["rows"] == serial["rows"]
        assert any("6 of 6 points from the cache" in line for line in lines)
    finally:
        for process in [*workers, scheduler]:
            _stop(process)
    run = json.loads((tmp_path / "remote" / "run.json").read_text())
    assert run["cached"] == 6 and run["computed"] == 0
    png = (tmp_path / "serial" / "pareto_area_speed.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_a_rerun_leaves_no_plot_of_an_earlier_run(design, tmp_path):
    """An earlier run's energy plot is removed when a rerun into the same folder draws none
    (it would contradict results.json); files that are not explore's stay."""
    out = tmp_path / "out"
    options = dict(targets=["ecp5"], points="cycles=1024", images=0, synth=False, serial=True,
                   cache=tmp_path / "cache", log=lambda line: None)
    explore(str(design), out=out, **options)
    (out / "pareto_energy_accuracy.png").write_bytes(b"from an earlier run")
    (out / "notes.txt").write_text("mine")
    explore(str(design), out=out, **options)
    assert not (out / "pareto_energy_accuracy.png").exists()
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "pareto_area_speed.png").is_file()
