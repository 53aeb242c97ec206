"""Folding: how many processing elements (PE) and bits per PE per cycle (SIMD) each layer gets.

A matrix-vector layer (binary, int8 or PA-Net convolution / dense) computes ``rows`` outputs of
``fan_in`` products at each of ``positions`` output pixels. With ``PE`` rows and ``SIMD`` products
per row per cycle it needs (DESIGN.md §5, grouped convolutions included via the per-output
fan-in)::

    cycles = (fan_in / SIMD) * (rows / PE) * positions

``PE`` must divide ``rows`` and ``SIMD`` must divide ``fan_in``; for a convolution ``SIMD`` must
also divide the input channels per group (``channels``) and ``PE`` the output channels per group
(a grouped engine takes one group's window at a time; an int8 depthwise convolution takes ``PE``
channels' windows side by side instead), so that one transfer of the sliding-window
unit never straddles two pixels (FINN's rule). The network is a pipeline of one
engine per layer, so its initiation interval (cycles per inference at full rate) is the maximum
over layers; element-wise engines (thresholds, pooling, requantization) keep pace with their
producer and are not folded.
"""

import dataclasses
import numbers
from dataclasses import dataclass

from ..errors import LayerError
from ..params import is_full_rate, pair, whole_window_geometry
from .fusion import MATRIX_OPS, pooled_dense_layers

__all__ = ["FoldingError", "LayerFolding", "FoldingPlan", "matrix_layers", "plan_folding",
           "restore_folding", "HARD_WIRED_WORDS",
           "window_pool_cycles", "POOLED_DRAIN_CYCLES", "WEIGHT_MODES",
           "settle_result_registers"]

#: How a layer's weights are built: ``rom`` (per-PE ROMs streamed into XNOR/AND lanes),
#: ``logic`` (constants in the popcount trees: an XNOR with a constant bit is a wire or an
#: inverter, no ROM, no address logic), and the planner's choice ``auto`` (logic wherever the
#: layer is fully unrolled).
WEIGHT_MODES = ("rom", "logic", "auto")

#: Most weight words per PE (``NF * SF``) a folded layer hard-wires: a multiplexer of that many
#: constants on two address bits fits a popcount leaf's LUT4 with its two activations, so the
#: ROM's LUTs and output register are saved; more words would cost LUTs of their own.
HARD_WIRED_WORDS = 4

#: Cycles of a pooled dense engine (``bnnhw.hw.pooldense``) from an image's last fold to its
#: result's transfer; when its result is the network's output, the argmax head also holds it one
#: cycle per class. Its cycles are ``max(folds, drain)`` with a result register (full-rate
#: networks), ``folds + drain`` without (:attr:`LayerFolding.result_register`).
POOLED_DRAIN_CYCLES = 3


class FoldingError(LayerError, ValueError):
    """A folding that does not divide its layer or cannot meet the requested target:
    ``FoldingError(layer, field, message)``, ``layer`` ``None`` for a whole-network option
    (``target_cycles: ...``)."""


@dataclass(frozen=True)
class LayerFolding:
    """The folding of one matrix-vector layer."""

    layer: str
    op: str
    rows: int
    fan_in: int
    positions: int
    pe: int = 1
    simd: int = 1
    channels: int = 0
    groups: int = 1
    pooled: bool = False
    drain: int = 0
    whole_window: bool = False
    hard_wirable: bool = False
    weights: str = "rom"
    #: A pooled dense engine with a result register (the next image's folds overlap the
    #: hand-over): in full-rate networks only (:func:`settle_result_registers`).
    result_register: bool = True

    def __post_init__(self):
        if self.pe < 1 or self.rows % self.pe:
            raise FoldingError(self.layer, "pe", f"{self.pe} does not divide the layer's "
                                                 f"{self.rows} output channels")
        if not self.depthwise and (self.rows // self.pe) % self.groups and not self.all_groups:
            raise FoldingError(self.layer, "pe", f"{self.pe} does not divide the "
                                                 f"{self.rows // self.groups} output channels "
                                                 f"of each of the {self.groups} groups")
        if self.simd < 1 or self.fan_in % self.simd:
            raise FoldingError(self.layer, "simd", f"{self.simd} does not divide the layer's "
                                                   f"fan-in of {self.fan_in}")
        if self.weights not in WEIGHT_MODES[:2]:
            raise FoldingError(self.layer, "weights", f"expected 'rom' or 'logic', got "
                                                      f"{self.weights!r}")
        if self.weights == "logic" and not self.can_hard_wire:
            raise FoldingError(self.layer, "weights", f"hard-wired weights need a binary layer "
                                                      f"without zero padding, fully unrolled or "
                                                      f"folded to at most {HARD_WIRED_WORDS} "
                                                      f"weight words per PE (NF * SF), got "
                                                      f"(PE, SIMD) = ({self.pe}, {self.simd}): "
                                                      f"{self.neuron_folds * self.synapse_folds}"
                                                      f" words")
        if self.channels and self.channels % self.simd and not (
                self.whole_window and self.simd == self.fan_in):
            raise FoldingError(self.layer, "simd", f"{self.simd} does not divide the layer's "
                                                   f"{self.channels} input channels per group "
                                                   f"(a window transfer may not straddle two "
                                                   f"pixels)")

    @property
    def fully_unrolled(self):
        """Every row and the whole fan-in in one cycle (per group, all groups at once)."""
        return self.simd == self.fan_in and self.pe == self.rows \
            and (self.groups == 1 or self.all_groups)

    @property
    def can_hard_wire(self):
        """Whether the weights may be logic: a binary layer without zero padding
        (``hard_wirable``), fully unrolled (the matrix unit's constant-weight mode) or folded to
        at most :data:`HARD_WIRED_WORDS` weight words per PE (its words multiplexed)."""
        return self.hard_wirable and (self.fully_unrolled or self.neuron_folds
                                      * self.synapse_folds <= HARD_WIRED_WORDS)

    @property
    def all_groups(self):
        """A grouped layer computing every group at once: its whole window (all groups side by
        side) in one transfer, ``PE = rows`` (one matrix unit per group, in parallel)."""
        return self.groups > 1 and self.whole_window and self.simd == self.fan_in \
            and self.pe == self.rows

    @property
    def neuron_folds(self):
        return self.rows // self.pe

    @property
    def synapse_folds(self):
        return self.fan_in // self.simd

    @property
    def cycles(self):
        folds = self.synapse_folds * self.neuron_folds * self.positions
        return max(folds, self.drain) if self.result_register else folds + self.drain

    @property
    def lanes(self):
        """Products per cycle: ``PE * SIMD``."""
        return self.pe * self.simd

    def with_(self, pe, simd, weights="rom"):
        return LayerFolding(self.layer, self.op, self.rows, self.fan_in, self.positions, pe,
                            simd, self.channels, self.groups, self.pooled, self.drain,
                            self.whole_window, self.hard_wirable, weights,
                            self.result_register)

    def with_result_register(self, flag):
        """This folding with (``flag``) or without a result register; unchanged unless
        ``pooled``."""
        if not self.pooled or flag == self.result_register:
            return self
        return dataclasses.replace(self, result_register=bool(flag))

    @property
    def depthwise(self):
        """An int8 depthwise convolution: PE channels side by side, each its own window."""
        return self.op == "int8_conv2d" and self.groups > 1 and self.groups == self.rows \
            and self.channels == 1

    def pe_options(self):
        """Legal PE values: divisors of the output channels per group (of all, depthwise), and
        all rows for a grouped layer whose whole window fits one transfer (:attr:`all_groups`,
        with ``SIMD = fan_in`` only)."""
        options = _divisors(self.rows if self.depthwise else self.rows // self.groups)
        if self.groups > 1 and self.whole_window and not self.depthwise:
            options.append(self.rows)
        return options

    def options(self):
        """Every legal ``(PE, SIMD)`` folding of this layer."""
        result = []
        for pe in self.pe_options():
            for simd in self.simd_options():
                try:
                    result.append(self.with_(pe, simd))
                except FoldingError:
                    continue
        return result

    def simd_options(self):
        """Legal SIMD values: divisors of the fan-in (and of ``channels`` for a convolution), and
        the whole fan-in when one transfer may carry the whole window (``whole_window``)."""
        options = [d for d in _divisors(self.fan_in)
                   if not self.channels or self.channels % d == 0]
        if self.whole_window and self.fan_in not in options:
            options.append(self.fan_in)
        return options

    def to_dict(self):
        return {"layer": self.layer, "op": self.op, "rows": self.rows, "fan_in": self.fan_in,
                "positions": self.positions, "channels": self.channels, "groups": self.groups,
                "pe": self.pe, "simd": self.simd, "cycles": self.cycles, "pooled": self.pooled,
                "drain": self.drain, "weights": self.weights,
                **({"result_register": self.result_register} if self.pooled else {})}


@dataclass(frozen=True)
class FoldingPlan:
    """Per-layer foldings, in network order."""

    layers: tuple
    stream_cycles: int = 1
    head_cycles: int = 0
    pool_cycles: int = 0

    @property
    def by_layer(self):
        return {f.layer: f for f in self.layers}

    @property
    def cycles_per_inference(self):
        """Initiation interval of the pipeline (cycles between results at full rate): the
        slowest stage, the largest of

        - every matrix layer's ``SF * NF * positions`` (at least ``drain``);
        - ``stream_cycles``: the input's pixels (the input stream takes one pixel per cycle);
        - ``head_cycles``: the argmax head compares one class per cycle, then transfers the
          result (``classes + 1``);
        - ``pool_cycles``: a max pool whose windows do not tile its map goes through a sliding
          window, one tap per cycle (:func:`window_pool_cycles`).

        Sliding windows hold enough rows to load the next image's first rows while they finish
        the current one (``bnnhw.hw.window.default_buffer_rows``) and per-channel engines get
        lanes to keep within this interval, so no stage adds to another's cycles."""
        return max([f.cycles for f in self.layers]
                   + [self.stream_cycles, self.head_cycles, self.pool_cycles])

    @property
    def lanes(self):
        return sum(f.lanes for f in self.layers)

    def to_dict(self):
        return {"cycles_per_inference": self.cycles_per_inference, "lanes": self.lanes,
                "layers": [f.to_dict() for f in self.layers]}


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


def window_pool_cycles(compiled):
    """Cycles per image of the slowest ``maxpool`` built as a sliding window (0 if none).

    A max pool whose windows tile its map (``stride == kernel`` dividing ``H`` and ``W``) streams
    one pixel per cycle (``bnnhw.hw.pool.StreamingMaxPool``); any other goes through a sliding
    window that sends one tap per cycle to ``bnnhw.hw.pool.BinaryMaxPool``:
    ``max(H_out * W_out * kh * kw, H * W)`` cycles per image, whatever the folding."""
    slowest = 0
    for layer in compiled.layers:
        if layer.op != "maxpool":
            continue
        _, height, width = compiled.values[layer.inputs[0]].shape
        kernel = pair(layer.params["kernel"], "kernel")
        stride = pair(layer.params.get("stride", kernel), "stride")
        if stride == kernel and height % kernel[0] == 0 and width % kernel[1] == 0:
            continue
        h_out = (height - kernel[0]) // stride[0] + 1
        w_out = (width - kernel[1]) // stride[1] + 1
        slowest = max(slowest, h_out * w_out * kernel[0] * kernel[1], height * width)
    return slowest


def matrix_layers(compiled, unfused=()):
    """Unfolded (PE = SIMD = 1) :class:`LayerFolding` of every matrix-vector layer; an int8
    dense layer reading a global pool is fused with it (``pooled``) unless named in
    ``unfused``."""
    pooled = {name: pool for name, pool in pooled_dense_layers(compiled).items()
              if name not in unfused}
    result = []
    for layer in compiled.layers:
        if layer.op not in MATRIX_OPS:
            continue
        value = compiled.values[layer.name]
        weight = layer.params["weight_bases"][0] if layer.op == "panet_conv2d" \
            else layer.params["weight"]
        rows = weight.shape[0]
        fan_in = int(weight[0].size)
        positions = value.shape[1] * value.shape[2]
        if layer.name in pooled:
            _, height, width = compiled.values[pooled[layer.name].inputs[0]].shape
            positions = height * width
        channels = int(weight.shape[1]) if layer.op.endswith("conv2d") else 0
        in_c, in_h, in_w = compiled.values[layer.inputs[0]].shape
        if layer.op.endswith("dense") and layer.name not in pooled and in_h * in_w > 1:
            # a dense layer on a multi-pixel map reads it through a sliding window as large as
            # the map: one transfer may not straddle two pixels either
            channels = int(in_c)
        groups = int(layer.params.get("groups", 1))
        if groups > 1 and layer.op == "panet_conv2d":
            raise FoldingError(layer.name, "groups", f"grouped PA-Net convolutions have no "
                                                     f"hardware engine (groups={groups})")
        if groups > 1 and layer.op == "int8_conv2d" and not (groups == rows and channels == 1):
            raise FoldingError(layer.name, "groups", f"grouped int8 convolutions are built "
                                                     f"only depthwise (groups == input == "
                                                     f"output channels), got groups={groups}")
        drain = 0
        if layer.name in pooled:     # pipeline, then the head's argmax on the held result
            drain = POOLED_DRAIN_CYCLES + (rows if compiled.output == layer.name else 0)
        whole = layer.name not in pooled and _whole_window(compiled, layer, groups)
        wirable = layer.op in ("binary_conv2d", "binary_dense") and not _zero_padded(layer)
        result.append(LayerFolding(layer.name, layer.op, rows, fan_in, positions,
                                   channels=channels, groups=groups,
                                   pooled=layer.name in pooled, drain=drain,
                                   whole_window=whole, hard_wirable=wirable))
    return result


def _zero_padded(layer):
    """A zero-padded XNOR convolution: its window flags border chunks (docs/numerics.md §4)."""
    p = layer.params
    return layer.op == "binary_conv2d" and p.get("dot", "xnor") == "xnor" \
        and int(p.get("pad_value", 1)) == 0 and max(pair(p["padding"], "padding")) > 0


def _whole_window(compiled, layer, groups):
    """Whether ``layer``'s window may go to its matrix unit as one transfer (``SIMD = fan_in``
    beyond the channel divisors; a grouped binary layer's group by group, or all groups at once
    with ``PE = rows``): a window the whole-window unit streams
    (:func:`bnnhw.params.whole_window_geometry`), not zero-padded (the border flag is per
    chunk)."""
    if groups > 1 and (layer.op != "binary_conv2d" or int(compiled.values[
            layer.inputs[0]].shape[0]) == groups):
        return False     # grouped int8 / PA-Net engines, depthwise: one window at a time
    _, height, width = (int(n) for n in compiled.values[layer.inputs[0]].shape)
    p = layer.params
    if layer.op.endswith("dense"):
        kernel, stride, padding = (height, width), (1, 1), (0, 0)
    else:
        weight = p["weight_bases"][0] if layer.op == "panet_conv2d" else p["weight"]
        kernel = tuple(int(k) for k in weight.shape[2:])
        stride, padding = pair(p["stride"], "stride"), pair(p["padding"], "padding")
        if _zero_padded(layer):
            return False
    return not whole_window_geometry(height, width, kernel, stride, padding)


def _unfused(compiled, target_cycles):
    """Pooled dense layers better built as a global pool engine (per-channel counters) and an
    int8 dense layer on the counts: a fused engine repeats all ``rows x C`` products for each of
    the ``P`` pooled pixels, so at a target below ``rows * P`` cycles it needs more than ``C``
    multiply-add lanes, where the counters and a dense layer that runs once per image need
    ``rows * C / target``."""
    if target_cycles is None or not isinstance(target_cycles, int):
        return ()
    result = []
    for name, pool in pooled_dense_layers(compiled).items():
        _, height, width = compiled.values[pool.inputs[0]].shape
        rows = compiled.values[name].shape[0]
        if rows * height * width > target_cycles:
            result.append(name)
    return tuple(result)


def _cheapest_for(folding, target, cost):
    """The option meeting ``target`` cycles with the lowest ``cost`` (predicted LUT4; ties:
    fewer lanes, then wider SIMD: one popcount tree)."""
    best = None
    for candidate in folding.options():
        if candidate.cycles > target:
            continue
        key = (cost(candidate), candidate.lanes, -candidate.simd)
        if best is None or key < best[0]:
            best = (key, candidate)
    return None if best is None else best[1]


def _next_step(folding):
    """The cheapest folding of this layer that is strictly faster, or None."""
    faster = [f for f in folding.options() if f.cycles < folding.cycles]
    return min(faster, key=lambda f: (f.lanes, -f.cycles, -f.simd), default=None)


def plan_folding(compiled, *, target_cycles=None, max_lanes=None, overrides=None,
                 weights="auto", resource_target="ecp5"):
    """Choose (PE, SIMD) per matrix layer.

    Parameters
    ----------
    target_cycles : int, optional
        Every layer at most this many cycles per inference, each with the folding and weight
        mode of the fewest LUT4 the resource model predicts on ``resource_target``
        (:mod:`bnnhw.compiler.resources`; ties: the fewest lanes).
    max_lanes : int, optional
        A resource cap: total ``PE * SIMD`` over layers. Lanes go greedily to the slowest layer
        while the cap allows. Exclusive with ``target_cycles``.
    overrides : dict, optional
        ``{layer: (pe, simd)}`` fixed by the user; checked to divide the layer.
    weights : ``"auto"``, ``"rom"`` or ``"logic"``
        Weight mode (:data:`WEIGHT_MODES`): ``auto`` (default) hard-wires the weights of every
        layer whose folding allows it (:attr:`LayerFolding.can_hard_wire`), ``logic`` those of
        every binary layer (a :class:`FoldingError` names a layer that cannot be hard-wired),
        ``rom`` keeps every layer's weights in ROMs. int8 and PA-Net layers keep ROMs.
        With a cycle target, ``auto`` hard-wires a layer only where the model predicts fewer
        LUT4 than its cheapest ROM folding.
    resource_target : ``"ecp5"`` or ``"ice40"``
        Whose calibrated coefficients rank the options (default ``ecp5``).

    Without a target or cap every layer is fully folded (PE = SIMD = 1).

    Raises
    ------
    FoldingError
        A folding that does not divide its layer, a target that cannot be met (the message
        gives the fastest possible), an unknown layer in ``overrides``.
    """
    stream_cycles, head_cycles, pool_cycles = _fixed_cycles(compiled)
    if target_cycles is not None and max_lanes is not None:
        raise FoldingError(None, "target_cycles", "give a cycle target or a lane cap, not both")
    if weights not in WEIGHT_MODES:
        raise FoldingError(None, "weights", f"expected one of {', '.join(WEIGHT_MODES)}, got "
                                            f"{weights!r}")
    overrides = dict(overrides or {})
    # the result registers the target implies, so that each layer's cycles below are the ones
    # it will have (settle_result_registers confirms them on the finished plan)
    registers = is_full_rate(target_cycles if isinstance(target_cycles, int) else None,
                             stream_cycles)
    layers = [f.with_result_register(registers)
              for f in matrix_layers(compiled, _unfused(compiled, target_cycles))]
    names = {f.layer for f in layers}
    for name in overrides:
        if name not in names:
            raise FoldingError(name, "folding", "not a matrix-vector layer of this network "
                                                f"(those are: {', '.join(sorted(names))})")
    for name, value in overrides.items():
        pair = tuple(value) if isinstance(value, (tuple, list)) else (value,)
        if len(pair) != 2:
            raise FoldingError(name, "folding", f"expected (pe, simd), got {value!r}")
        for field, number in zip(("pe", "simd"), pair):
            if isinstance(number, bool) or not isinstance(number, numbers.Integral):
                raise FoldingError(name, field, f"expected a positive integer, got {number!r}")
        overrides[name] = tuple(int(n) for n in pair)
    fixed = {f.layer: f.with_(*overrides[f.layer]) for f in layers if f.layer in overrides}
    if target_cycles is not None:
        if isinstance(target_cycles, bool) or not isinstance(target_cycles, int) \
                or target_cycles < 1:
            raise FoldingError(None, "target_cycles", f"expected a positive integer, got "
                                                      f"{target_cycles!r}")
        cost_of = _weight_costs(compiled, resource_target, target_cycles)
        cost = _lut_cost(cost_of, weights)
        chosen = []
        for folding in layers:
            if folding.layer in fixed:
                choice = fixed[folding.layer]
                if choice.cycles > target_cycles:
                    raise FoldingError(folding.layer, "folding", f"(PE, SIMD) = "
                                       f"({choice.pe}, {choice.simd}) needs {choice.cycles} "
                                       f"cycles, over the target of {target_cycles}")
            else:
                choice = _cheapest_for(folding, target_cycles, cost)
                if choice is None:
                    fastest = min(folding.options(), key=lambda f: f.cycles)
                    raise FoldingError(folding.layer, "target_cycles",
                                       f"{target_cycles} cycles cannot be met: even fully "
                                       f"parallel the layer needs {fastest.cycles}")
            chosen.append(choice)
        return settle_result_registers(FoldingPlan(_with_weights(chosen, weights, cost_of),
                                                   stream_cycles, head_cycles, pool_cycles))
    chosen = [fixed.get(f.layer, f) for f in layers]
    if max_lanes is not None:
        if sum(f.lanes for f in chosen) > max_lanes:
            raise FoldingError(None, "max_lanes", f"{max_lanes} lanes are fewer than the "
                                                  f"{sum(f.lanes for f in chosen)} needed")
        while True:
            free = [i for i, f in enumerate(chosen) if f.layer not in fixed]
            if not free:
                break
            slowest = max(free, key=lambda i: chosen[i].cycles)
            step = _next_step(chosen[slowest])
            if step is None:
                break
            total = sum(f.lanes for f in chosen) - chosen[slowest].lanes + step.lanes
            if total > max_lanes:
                break
            chosen[slowest] = step
    return settle_result_registers(FoldingPlan(
        _with_weights(chosen, weights, _weight_costs(compiled, resource_target, None)),
        stream_cycles, head_cycles, pool_cycles))


def settle_result_registers(plan):
    """``plan`` with a result register on each pooled dense layer exactly when the network is
    full rate (:func:`bnnhw.params.is_full_rate` of its cycles per inference and input pixels,
    ``stream_cycles``), as the hardware builds it.

    Consistent either way: without the registers a plan has at least the cycles it has with
    them, so a plan full rate without them stays so with them, and one that is not full rate
    with them is not without them either."""
    with_registers = FoldingPlan(tuple(f.with_result_register(True) for f in plan.layers),
                                 plan.stream_cycles, plan.head_cycles, plan.pool_cycles)
    if is_full_rate(with_registers.cycles_per_inference, plan.stream_cycles):
        return with_registers
    return FoldingPlan(tuple(f.with_result_register(False) for f in plan.layers),
                       plan.stream_cycles, plan.head_cycles, plan.pool_cycles)


def _weight_costs(compiled, target, cycles):
    """``cost_of(folding, mode)``: the resource model's LUT4 of a layer option built with
    weight ``mode`` on ``target``, in a network of ``cycles`` per inference (``None`` without a
    calibrated model)."""
    from .resources import layer_features, load_model
    model = load_model()
    if model is None:
        return None
    if target not in model.coefficients:
        raise FoldingError(None, "resource_target", f"no resource model for {target!r} (have "
                                                    f"{', '.join(sorted(model.coefficients))})")
    pixels = int(compiled.input_shape[1]) * int(compiled.input_shape[2])
    features_of = layer_features(compiled, full_rate=is_full_rate(cycles, pixels))
    return lambda f, mode: model.cost(target, features_of(f.with_(f.pe, f.simd, mode)))


def _lut_cost(cost_of, mode):
    """``cost(folding)`` for :func:`_cheapest_for`: predicted LUT4 under weight ``mode``
    (``auto``: the cheaper of ROM and hard-wired weights where the option allows both); 0 for
    every option without a model (ties then fall to the fewest lanes)."""
    def cost(folding):
        if cost_of is None:
            return 0
        modes = ["rom"]
        if folding.can_hard_wire and mode in ("auto", "logic"):
            modes = ["logic"] if mode == "logic" else ["rom", "logic"]
        return min(cost_of(folding, m) for m in modes)

    return cost


def _fixed_cycles(compiled):
    """``(stream, head, pool)`` cycles of :class:`FoldingPlan`: the input's pixels, the argmax
    head's ``classes + 1``, the slowest window-fed max pool."""
    stream_cycles = int(compiled.input_shape[1]) * int(compiled.input_shape[2])
    head_cycles = int(compiled.values[compiled.output].shape[0]) + 1   # ArgmaxHead
    return stream_cycles, head_cycles, window_pool_cycles(compiled)


def restore_folding(compiled, layers):
    """The :class:`FoldingPlan` of ``compiled`` whose layers are ``layers``
    (``FoldingPlan.to_dict()["layers"]``, as a build's report gives them): each layer's PE,
    SIMD and weight mode, pooled dense layers fused or not as listed."""
    listed = {entry["layer"]: entry for entry in layers}
    unfused = [name for name in pooled_dense_layers(compiled)
               if name in listed and not listed[name]["pooled"]]
    chosen = []
    for folding in matrix_layers(compiled, unfused):
        entry = listed.get(folding.layer)
        if entry is None:
            raise FoldingError(folding.layer, "folding", "missing from the listed layers")
        chosen.append(folding.with_(int(entry["pe"]), int(entry["simd"]),
                                    entry.get("weights", "rom")))
    return settle_result_registers(FoldingPlan(tuple(chosen), *_fixed_cycles(compiled)))


def _with_weights(chosen, mode, cost_of):
    """The chosen foldings with their weight mode: ``auto`` hard-wires where the folding allows
    it (:attr:`LayerFolding.can_hard_wire`) and ``cost_of`` (:func:`_weight_costs`; ``None``:
    always) predicts no more LUT4 than ROMs, ``logic`` every binary layer (the
    :class:`LayerFolding` raises a :class:`FoldingError` for one that cannot be hard-wired),
    ``rom`` none."""
    def cheaper_wired(f):
        return cost_of is None or cost_of(f, "logic") <= cost_of(f, "rom")

    def mode_of(f):
        if mode == "logic" and f.hard_wirable:
            return "logic"
        return "logic" if mode == "auto" and f.can_hard_wire and cheaper_wired(f) else "rom"
    return tuple(f.with_(f.pe, f.simd, mode_of(f)) for f in chosen)
