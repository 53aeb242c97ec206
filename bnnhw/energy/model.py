"""The energy proxy: switching (toggles), on-chip memory traffic and arithmetic op counts.

Per inference and per block of a :class:`~bnnhw.hw.network.StreamingNetwork` (docs/energy.md
has the model, every constant and its source):

- ``logic_toggle_pj``: signal-bit toggles from the coverage simulation x the switching energy
  of one toggle: ``transistors / signal bits x E_T`` when the block's CMOS transistor count is
  known (``bnnhw.synth``'s ``stat -tech cmos`` per block), else :attr:`EnergyConstants.toggle_fj`.
  Both constants are calibrated on one 8-bit adder so that it costs Horowitz's 30 fJ per add.
- ``memory_pj``: bits read and written in on-chip memories (:mod:`.traffic`) x
  :attr:`EnergyConstants.memory_fj_per_bit`.
- ``arithmetic_ops_pj``: the work of ``bnnhw.cost.cost_of_compiled`` in bit-adders (PokeBNN
  Sec. 3: an ``i x j`` MAC activates ``i*j`` bit-adders, i.e. ACE) x the 45 nm energy of one
  bit-adder from PokeBNN Table 1 (Horowitz): the cross-check of ``logic_toggle_pj``.
- ``toggle_proxy_pj = logic_toggle_pj + memory_pj`` and
  ``op_count_estimate_pj = arithmetic_ops_pj + memory_pj``.

These are proxies computed from counts, not measurements of any chip.
"""

from dataclasses import asdict, dataclass

from ..cost import cost_of_compiled
from ..cost.compiled import value_width
from ..cost.precision import ace_per_mac
from .coverage import ToggleCounts
from .traffic import MEMORY_KINDS, memory_traffic

__all__ = ["HOROWITZ_45NM_FJ", "ADDER_CALIBRATION", "EnergyConstants", "layer_bit_adders",
           "energy_report"]

#: PokeBNN Table 1, 45 nm column (Horowitz, ISSCC 2014): energy per operation in fJ.
HOROWITZ_45NM_FJ = {
    "fp32_add": 900, "fp32_mul": 3700, "fp16_add": 400, "fp16_mul": 1100,
    "int32_add": 100, "int32_mul": 3100, "int8_add": 30, "int8_mul": 200,
}

#: The calibration circuit of the switching constants: ``s = a + b`` with 8-bit ``a``, ``b``
#: and 9-bit ``s``. ``signal_bits`` = 8 + 8 + 9; ``toggles_per_add``: every input bit flips
#: with probability 1/2 between two random additions, every sum bit too (s[0..7] are uniform,
#: the carry s[8] is 1 with probability 0.498), 16/2 + 9/2 = 12.5; ``transistors``: Yosys
#: ``synth -flatten; abc -g cmos2; stat -tech cmos`` of that module (23 NAND, 50 NOR, 22 NOT;
#: ``tests/energy/test_model.py`` re-runs it), the flow ``bnnhw.synth`` uses for its CMOS count.
ADDER_CALIBRATION = {"signal_bits": 25, "toggles_per_add": 12.5, "transistors": 336}


@dataclass(frozen=True)
class EnergyConstants:
    """Constants of the proxy, fJ (45 nm, 0.9 V; sources in docs/energy.md)."""

    #: One bit-adder: Horowitz's 8-bit add (30 fJ, PokeBNN Table 1) over its 8 bit-adders.
    bit_adder_fj: float = HOROWITZ_45NM_FJ["int8_add"] / 8
    #: One toggle of a signal bit when the block's transistor count is unknown: the adder's
    #: 30 fJ over its 12.5 signal-bit toggles per add.
    toggle_fj: float = HOROWITZ_45NM_FJ["int8_add"] / ADDER_CALIBRATION["toggles_per_add"]
    #: Per transistor per signal-bit toggle: ``E = toggles x (transistors / bits) x this``,
    #: 30 fJ for the adder (12.5 toggles, 336 transistors, 25 bits).
    transistor_toggle_fj: float = (HOROWITZ_45NM_FJ["int8_add"] * ADDER_CALIBRATION["signal_bits"]
                                   / (ADDER_CALIBRATION["toggles_per_add"]
                                      * ADDER_CALIBRATION["transistors"]))
    #: One bit read or written in on-chip SRAM: Horowitz's 10 pJ per 64-bit access of an 8 KB
    #: SRAM at 45 nm (ISSCC 2014, the source of PokeBNN Table 1).
    memory_fj_per_bit: float = 10_000 / 64

    def to_dict(self):
        return asdict(self)


def layer_bit_adders(row, compiled):
    """Bit-adders one inference activates in one layer (a :class:`bnnhw.cost.LayerCost`).

    MACs and element-wise multiplies: their ACE (``i*j`` each, fp32 at 32 x 32); additions and
    comparisons: the width of the numbers (int8 bias: the 32-bit accumulator; ``add``: the
    output width; ``threshold``/``clip``/``pa_bases``: the compared input's width); a
    ``global_pool`` popcount input and a max-pool OR: one each. The XNORs/ANDs and popcount
    inputs of a matrix layer are its binary MACs (ACE 1 each) and are not added again.
    """
    total = sum(n * ace_per_mac(fmt, fp32_as_bf16=False) for fmt, n in row.macs.items())
    total += sum(n * ace_per_mac(fmt, fp32_as_bf16=False)
                 for fmt, n in row.elementwise_muls.items())
    layer = next(x for x in compiled.layers if x.name == row.name)
    ops = dict(row.ops)
    if row.macs:
        ops.pop("xnor", None), ops.pop("and", None), ops.pop("popcount", None)
        total += ops.pop("add", 0) * 32
    else:
        if "add" in ops:
            total += ops.pop("add") * value_width(compiled.values[row.name])
        if "compare" in ops:
            total += ops.pop("compare") * value_width(compiled.values[layer.inputs[0]])
        total += ops.pop("popcount", 0) + ops.pop("or", 0)
    if ops:
        raise ValueError(f"layer {row.name!r}: ops {sorted(ops)} have no energy rule")
    return int(total)


def _transistors_of(transistors, block, engine):
    if not transistors:
        return None
    for key in (block, engine):
        if key in transistors:
            value = transistors[key]
            if isinstance(value, dict):
                value = value.get("transistors")
            return None if value is None else int(value)
    return None


def _toggle_counts(toggles):
    """``{block: ToggleCounts}`` from what :func:`energy_report` accepts as ``toggles``."""
    if toggles is None:
        return None, None
    measurement = None
    if isinstance(toggles, dict) and "blocks" in toggles:
        measurement = {k: v for k, v in toggles.items() if k != "blocks"}
        toggles = toggles["blocks"]
    counts = {}
    for block, value in toggles.items():
        if isinstance(value, ToggleCounts):
            counts[block.replace(".", "_")] = value
        elif isinstance(value, dict):
            counts[block.replace(".", "_")] = ToggleCounts(
                value.get("toggles", 0), int(value.get("bits", 0)),
                value.get("memory_toggles", 0), int(value.get("memory_bits", 0)))
        else:
            counts[block.replace(".", "_")] = ToggleCounts(float(value), 0)
    return counts, measurement


def _pj(fj):
    return None if fj is None else fj / 1000.0


def energy_report(network, compiled, toggles=None, transistors=None, *,
                  constants=EnergyConstants()):
    """Energy proxy of one inference, per engine and in total (pJ; see the module docstring).

    Parameters
    ----------
    network : StreamingNetwork
        Its hardware plan (``network.plan``) gives the engines, the compiled layers each
        computes and the memory traffic (:func:`~.traffic.memory_traffic`).
    compiled : CompiledNetwork
        The network the plan was made from, for the operation counts
        (``bnnhw.cost.cost_of_compiled``).
    toggles : dict, optional
        Signal-bit toggles per inference per block: what :func:`bnnhw.energy.measure_toggles`
        returns (``{"blocks": {block: {"toggles", "bits", ...}}, ...}``), or a mapping block ->
        toggles (a number, a :class:`ToggleCounts` or a dict with ``toggles`` and ``bits``).
        Blocks are the network's submodule names (engine value names with ``.`` -> ``_``,
        ``fork_*``, ``head_*``); engine value names are accepted too. Without it the toggle
        terms are ``None``.
    transistors : dict, optional
        CMOS transistors per block (``bnnhw.synth``'s ``cmos`` ``per_block``: block -> number or
        ``{"transistors": n, ...}``). A block with a count (and measured signal bits) is charged
        ``toggles x transistors / bits x transistor_toggle_fj``; the others ``toggles x
        toggle_fj``.
    constants : EnergyConstants, optional

    Returns
    -------
    dict
        ``unit``, ``note``, ``constants``, ``measurement`` (the toggle measurement's metadata,
        if any), ``engines`` (engine value name -> row, in execution order), ``other_blocks``
        (forks and the output head -> row) and ``total``. A row has ``block``, ``toggles``,
        ``signal_bits``, ``transistors``, ``toggle_model`` (``"transistors"``, ``"default"`` or
        ``None``), ``memory`` (kind -> reads, writes, read_bits, write_bits),
        ``memory_read_bits``, ``memory_write_bits``, ``bit_adders``, and the energies
        ``logic_toggle_pj``, ``memory_pj``, ``arithmetic_ops_pj``, ``toggle_proxy_pj``,
        ``op_count_estimate_pj``. ``total`` sums the rows (toggle terms ``None`` without
        toggles).
    """
    counts, measurement = _toggle_counts(toggles)
    engine_names = [engine.name for engine in network.plan.engines]
    traffic = memory_traffic(network)
    engine_of = {layer: engine.name for engine in network.plan.engines
                 for layer in engine.layers}
    adders = {name: 0 for name in engine_names}
    for row in cost_of_compiled(compiled).layers:
        adders[engine_of[row.name]] += layer_bit_adders(row, compiled)

    blocks = [(name, name.replace(".", "_"), True) for name in engine_names]
    extra = set(traffic) - set(engine_names)
    if counts:
        extra |= set(counts) - {b for _, b, _ in blocks}
    blocks += [(name, name, False) for name in sorted(extra)]

    def row_for(name, block):
        memory = traffic.get(name, {})
        read_bits = sum(m["read_bits"] for m in memory.values())
        write_bits = sum(m["write_bits"] for m in memory.values())
        memory_fj = (read_bits + write_bits) * constants.memory_fj_per_bit
        ops_fj = adders.get(name, 0) * constants.bit_adder_fj
        count = None if counts is None else counts.get(block, ToggleCounts())
        n_transistors = _transistors_of(transistors, block, name)
        toggle_fj, model = None, None
        if count is not None:
            if count.bits == 0 and count.toggles == 0:   # wiring: no signals of its own
                model, toggle_fj = None, 0.0
            elif n_transistors is not None:
                model = "transistors"
                toggle_fj = count.toggles * n_transistors / count.bits * \
                    constants.transistor_toggle_fj
            else:
                model = "default"
                toggle_fj = count.toggles * constants.toggle_fj
        return {
            "block": block,
            "toggles": None if count is None else count.toggles,
            "signal_bits": None if count is None else count.bits,
            "transistors": n_transistors,
            "toggle_model": model,
            "memory": {kind: memory[kind] for kind in MEMORY_KINDS if kind in memory},
            "memory_read_bits": read_bits,
            "memory_write_bits": write_bits,
            "bit_adders": adders.get(name, 0),
            "logic_toggle_pj": _pj(toggle_fj),
            "memory_pj": _pj(memory_fj),
            "arithmetic_ops_pj": _pj(ops_fj),
            "toggle_proxy_pj": None if toggle_fj is None else _pj(toggle_fj + memory_fj),
            "op_count_estimate_pj": _pj(ops_fj + memory_fj),
        }

    engines, others = {}, {}
    for name, block, is_engine in blocks:
        (engines if is_engine else others)[name] = row_for(name, block)
    rows = list(engines.values()) + list(others.values())

    def total(key):
        values = [r[key] for r in rows]
        return None if any(v is None for v in values) else sum(values)

    totals = {key: total(key) for key in (
        "toggles", "memory_read_bits", "memory_write_bits", "bit_adders", "logic_toggle_pj",
        "memory_pj", "arithmetic_ops_pj", "toggle_proxy_pj", "op_count_estimate_pj")}
    models = {r["toggle_model"] for r in rows} - {None}
    return {
        "unit": "pJ per inference",
        "note": "energy PROXY from toggle counts, memory traffic and operation counts with "
                "45 nm constants (docs/energy.md); not a measurement",
        "constants": constants.to_dict(),
        "toggle_model": None if not models else models.pop() if len(models) == 1 else "mixed",
        "measurement": measurement,
        "engines": engines,
        "other_blocks": others,
        "total": totals,
    }
