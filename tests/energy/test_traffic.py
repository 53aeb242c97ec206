"""Memory traffic per inference of the every-op network, checked against hand-computed counts.

Folding (``plan_folding(target_cycles=1000)``): stem int8 2x2/2 conv 1 -> 8 ch on 8x8 (PE 1,
SIMD 1: SF 4, NF 8, 16 positions); c1 binary 3x3 8 -> 8 ch on 4x4, pad 1 (PE 2, SIMD 8: SF 9,
NF 4), fused into threshold ms1 (k = 4 slices); c2 3x3 grouped (4 groups) 32 -> 8 ch (PE 2,
SIMD 8: SF 9, NF 4) fused into t2; c3 1x1 4 -> 4 (PE 1, SIMD 1: SF 4, NF 4); pc5 PA-Net 1x1 on
2x2 with 3 activation and 2 weight bases, 6 -> 8 ch (SF 6, NF 8); fc int8 dense 8 -> 10 (SF 8,
NF 10).
"""

from bnnhw.compiler import hardware_plan, lower, plan_folding
from bnnhw.energy import memory_traffic
from bnnhw.hw.network import StreamingNetwork
from bnnhw.model import Model

from ..model.samples import tiny_graph
from .tiny import tiny_design


def _access(reads=0, writes=0, read_bits=0, write_bits=0):
    return {"reads": reads, "writes": writes, "read_bits": read_bits, "write_bits": write_bits}


def _traffic():
    network, _, _, _ = tiny_design()
    return memory_traffic(network)


def test_plan_is_the_one_the_counts_assume():
    _, _, plan, _ = tiny_design()
    got = {f.layer: (f.pe, f.simd, f.synapse_folds, f.neuron_folds, f.positions)
           for f in plan.layers}
    assert got == {"stem": (1, 1, 4, 8, 16), "c1": (2, 8, 9, 4, 16), "c2": (2, 8, 9, 4, 16),
                   "c3": (1, 1, 4, 4, 16), "c4": (1, 1, 8, 6, 4), "pc5": (1, 1, 6, 8, 4),
                   "fc": (1, 1, 8, 10, 4)}


def test_binary_conv_with_fused_threshold():
    ms1 = _traffic()["ms1"]
    assert ms1 == {
        # 2 PEs x SF*NF*positions = 9*4*16 = 576 words of SIMD = 8 bits: every weight bit of the
        # 8 x 72 matrix once per position (8*72*16 = 9216)
        "weight_rom": _access(reads=2 * 576, read_bits=9216),
        # 2 PEs x NF*positions = 64 words of 4 slices x (7-bit threshold + invert) = 32 bits
        "threshold_rom": _access(reads=128, read_bits=128 * 32),
        # 4x4 pixels of 8 bits in; one 8-bit word per output chunk: 16 positions x 9 taps, once
        # per neuron fold (NF = 4: the window re-reads, the MVTU keeps no vector buffer)
        "line_buffer": _access(reads=4 * 144, writes=16, read_bits=4 * 144 * 8,
                               write_bits=16 * 8),
    }


def test_grouped_conv_reads_line_buffer_chunks_and_needs_no_vector_buffer():
    network, _, _, _ = tiny_design()
    t2 = _traffic()["t2"]
    # 4 groups and NF = 4: each input vector (one group) feeds one neuron fold only
    assert "vector_buffer" not in t2
    assert t2["weight_rom"] == _access(reads=2 * 576, read_bits=9216)
    assert t2["threshold_rom"] == _access(reads=128, read_bits=128 * 8)   # k = 1: 7 + 1 bits
    # input ms1: 32 bits per pixel in a chunked line buffer (8-bit words: one iCE40 block RAM
    # instead of two); 16 positions x 9 taps x 32/8 chunks read, 16 pixels x 4 chunks written
    assert dict(network.engines)["t2"].stages[0].chunked_buffer
    assert t2["line_buffer"] == _access(reads=576, writes=64, read_bits=576 * 8,
                                        write_bits=64 * 8)


def test_int8_engines():
    traffic = _traffic()
    assert traffic["stem"] == {
        "weight_rom": _access(reads=512, read_bits=512 * 8),
        # bias: one 32-bit value per output channel and position
        "param_rom": _access(reads=8 * 16, read_bits=8 * 16 * 32),
        # 8x8 input pixels of one int8 channel; 2x2 windows: 16 positions x 4 taps, re-read for
        # each of the NF = 8 neuron folds (no vector buffer)
        "line_buffer": _access(reads=8 * 64, writes=64, read_bits=8 * 64 * 8,
                               write_bits=64 * 8),
    }
    # dense fused with its global pool: every weight once per pooled pixel (4), biases in the
    # accumulators' reset values, pixels straight from the stream (no buffer, no window)
    assert traffic["fc"] == {"weight_rom": _access(reads=4 * 80, read_bits=4 * 80 * 8)}


def test_one_by_one_convolutions_use_a_serializer():
    traffic = _traffic()
    assert traffic["c3"] == {
        "weight_rom": _access(reads=256, read_bits=256),
        "vector_buffer": _access(reads=3 * 4 * 16, writes=4 * 16, read_bits=3 * 4 * 16,
                                 write_bits=4 * 16),
    }
    # PA-Net: words of M = 2 weight bases; the vector buffer holds N = 3 activation bases
    assert traffic["pc5"] == {
        "weight_rom": _access(reads=192, read_bits=192 * 2),
        "vector_buffer": _access(reads=7 * 6 * 4, writes=6 * 4, read_bits=7 * 6 * 4 * 3,
                                 write_bits=6 * 4 * 3),
    }


def test_per_channel_units_pooling_and_fifos():
    network, _, _, memory_map = tiny_design()
    traffic = _traffic()
    words = {e["layer"]: e["word_bits"] for e in memory_map["images"]
             if e["kind"] == "channel-params"}
    assert words["stem_q"] == 17 and words["qbn3"] == 32
    # one parameter word per element: C*H*W
    assert traffic["stem_q"] == {"param_rom": _access(reads=128, read_bits=128 * 17)}
    assert traffic["qbn3"] == {"param_rom": _access(reads=64, read_bits=64 * 32)}
    assert traffic["s5"] == {"param_rom": _access(reads=32, read_bits=32 * words["s5"])}
    # 2x2 max-pool over 8 bits (windows tile the map): partial ORs in registers, no memory
    assert traffic["pool"] == {}
    # residual add of qbn3 with itself: two FIFOs of 16 pixels of 4 x int8
    assert network.format_of("qbn3").bits == 32
    assert traffic["res"] == {"fifo": _access(reads=32, writes=32, read_bits=32 * 32,
                                              write_bits=32 * 32)}
    assert traffic["cat"] == {"fifo": _access(reads=32, writes=32, read_bits=32 * 4,
                                              write_bits=32 * 4)}
    for wiring in ("left", "right", "shuf", "c3.clip", "pa4"):
        assert traffic[wiring] == {}
    assert "gp" not in traffic      # the global pool is part of the fc engine
    assert list(traffic) == [name for name, _ in network.engines]


def test_overlapping_max_pool_reads_its_line_buffer():
    """A 3x3 max-pool of stride 1 on 4x4 pixels of 8 bits does not tile the map: a sliding
    window writes the 16 pixels and reads the 9 taps of each of the 2x2 output positions."""
    layers = [{"name": "pool", "op": "maxpool", "inputs": ["input"], "kernel": 3, "stride": 1},
              {"name": "gp", "op": "global_pool", "inputs": ["pool"]}]
    compiled = lower(Model.from_dict(tiny_graph(layers, "gp", shape=(8, 4, 4)), {}))
    network = StreamingNetwork(hardware_plan(compiled, plan_folding(compiled)))
    traffic = memory_traffic(network)
    assert traffic["pool"] == {"line_buffer": _access(reads=2 * 2 * 9, writes=16,
                                                      read_bits=36 * 8, write_bits=16 * 8)}
    assert traffic["gp"] == {}
