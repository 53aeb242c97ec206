"""bnnhw's simulator main (``bnnhw/sim/verilator_main.cpp``): the clock toggled in C++, edges run
back to back between cocotb's points of interest, every cocotb trigger still exact; the model
cache (:mod:`bnnhw.sim.model_cache`) serving a second folder without compiling."""

import os
import time
from pathlib import Path

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from bnnhw.compiler import hardware_plan, lower, plan_folding
from bnnhw.hw.network import StreamingNetwork
from bnnhw.model import Model
from bnnhw.sim import model_cache, run_cocotb, write_source
from bnnhw.sim.network import StallPattern, check_results, simulate_network

from .models import bits_model

pytestmark = pytest.mark.cocotb

TB = Path(__file__).with_name("clock_tb.py")


class Counter(wiring.Component):
    enable: In(1)
    count: Out(16)

    def elaborate(self, platform):
        m = Module()
        with m.If(self.enable):
            m.d.sync += self.count.eq(self.count + 1)
        return m


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("BNNHW_CACHE_DIR", str(folder))
    return folder


def test_cocotb_triggers_on_the_simulator_clock(tmp_path, cache):
    source = write_source(tmp_path / "counter.v",
                          verilog.convert(Counter(), name="counter", emit_src=False))
    info = {}
    run_cocotb(verilog_sources=[source], toplevel="counter", test_module=TB,
               test_dir=tmp_path / "run", clock="clk", public="top", cxx_opt="-O0",
               build_info=info)
    assert not info["from_cache"] and info["model"].parent.parent == cache
    again = {}
    run_cocotb(verilog_sources=[source], toplevel="counter", test_module=TB,
               test_dir=tmp_path / "again", clock="clk", public="top", cxx_opt="-O0",
               build_info=again)
    assert again["from_cache"] and again["model"] == info["model"]
    # only the executable, the log, the sources and the markers are kept
    kept = {path.name for path in info["model"].iterdir()}
    assert kept <= {"counter", "build.log", "src", "public.vlt", model_cache.COMPLETE,
                    model_cache.LOCK}, kept


def _network():
    compiled = lower(Model.from_dict(*bits_model(3)))
    return compiled, StreamingNetwork(hardware_plan(compiled, plan_folding(compiled, target_cycles=400)))


def test_second_simulation_into_another_folder_compiles_nothing(tmp_path, cache):
    compiled, network = _network()
    rng = np.random.default_rng(5)
    images = rng.integers(0, 2, (6, *network.input_shape))
    golden = compiled.run(images).reshape(len(images), -1), compiled.classify(images)
    runs = (StallPattern(), StallPattern(0.3, 0.3, seed=4))
    first = simulate_network(network, images, work_dir=tmp_path / "a", runs=runs)
    started = time.monotonic()
    # other images, fewer of them, another folder: the same model
    second = simulate_network(network, images[:4][::-1], work_dir=tmp_path / "b", runs=runs)
    elapsed = time.monotonic() - started
    assert not first[0].model_from_cache and second[0].model_from_cache
    assert second[0].model_seconds < 2, second[0].model_seconds
    assert elapsed < first[0].model_seconds, (elapsed, first[0].model_seconds)
    for result in first:
        assert check_results(result, *golden) == []
    reversed_golden = golden[0][:4][::-1], golden[1][:4][::-1]
    for result in second:
        assert check_results(result, *reversed_golden) == []
    assert len(list((cache / "verilator").iterdir())) == 1


def test_model_key_names_everything_that_goes_into_the_model():
    base = model_cache.model_key({"a.v": "module a; endmodule"}, {"opt": "-O2"})
    assert base == model_cache.model_key({"a.v": "module a; endmodule"}, {"opt": "-O2"})
    assert base != model_cache.model_key({"a.v": "module a;  endmodule"}, {"opt": "-O2"})
    assert base != model_cache.model_key({"b.v": "module a; endmodule"}, {"opt": "-O2"})
    assert base != model_cache.model_key({"a.v": "module a; endmodule"}, {"opt": "-O1"})


def test_cache_location_and_pruning(tmp_path, monkeypatch):
    monkeypatch.delenv("BNNHW_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert model_cache.cache_root() == tmp_path / "xdg" / "bnnhw"
    monkeypatch.setenv("BNNHW_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("BNNHW_CACHE_MODELS", "2")
    now = time.time()
    folders = []
    for age in range(5):                      # 0 = newest
        folder = model_cache.model_dir(f"key{age}")
        folder.mkdir(parents=True)
        model_cache.mark_complete(folder, {})
        os.utime(folder / model_cache.COMPLETE, (now - 3600 * (age + 1),) * 2)
        folders.append(folder)
    unfinished = model_cache.model_dir("building")
    unfinished.mkdir()
    removed = model_cache.prune(keep=folders[4])
    assert sorted(removed) == sorted(folders[2:4])
    assert all(folder.is_dir() for folder in folders[:2] + [folders[4], unfinished])
    assert model_cache.is_complete(folders[0]) and not model_cache.is_complete(unfinished)
