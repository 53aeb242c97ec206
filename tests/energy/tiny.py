"""The every-op test network, compiled and folded as the build does (target 1000 cycles)."""

import functools

from bnnhw.compiler import hardware_plan, lower, plan_folding
from bnnhw.hw.network import StreamingNetwork
from bnnhw.model import Model

from ..model.samples import every_op_model


@functools.lru_cache(maxsize=None)
def tiny_design():
    """``(network, compiled, plan, memory_map)``; cached, so do not mutate."""
    compiled = lower(Model.from_dict(*every_op_model(1, exact=True)))
    # the folding the counts in test_traffic.py assume, fixed: the planner's own choice follows
    # the resource model, which each calibration refits
    plan = plan_folding(compiled, target_cycles=1000, overrides={
        "stem": (1, 1), "c1": (2, 8), "c2": (2, 8), "c3": (1, 1), "c4": (1, 1), "pc5": (1, 1),
        "fc": (1, 1)})
    hardware = hardware_plan(compiled, plan)
    return StreamingNetwork(hardware), compiled, plan, hardware.memory_map()
