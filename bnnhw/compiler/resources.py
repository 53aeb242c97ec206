"""Resource model: predicted LUT4, FF, block RAM and DSP of each engine, per FPGA target.

Every engine of a :class:`~bnnhw.compiler.HardwarePlan` is described by structural features
(:data:`FEATURES`, counted from its folding, geometry and stream formats), and each resource is
a non-negative linear combination of them whose coefficients were fitted on Yosys' counts of
synthesized networks, every engine kept as its own module (``benchmarks/calibrate_resources.py``;
data in ``benchmarks/results/resource_calibration.json``, the fit's error in
``resource_calibration.md``). The coefficients ship as ``resource_coefficients.json``.

The planner (:func:`bnnhw.compiler.plan_folding`) uses :func:`matrix_features` to pick, for each
matrix layer, the folding and weight mode with the fewest predicted LUT4 that meets the cycle
target; :func:`predict_plan` gives the whole network (the report's ``predicted`` resources).

Features of an engine (all counts, 0 where they do not apply):

====================  ==========================================================================
``engine``            1 per engine (control: handshakes, counters)
``stream_bits``       bits of its input and output pixels (serializers, deserializers, FIFOs)
``xnor_lanes``        ``PE * SIMD`` XNOR/AND popcount inputs fed from weight ROMs
``wired_lanes``       ``PE * SIMD`` popcount inputs of a folded hard-wired layer (its weight words
                      multiplexed)
``const_inputs``      popcount inputs of hard-wired rows (every weight bit for XNOR, the ones
                      for AND)
``acc_bits``          accumulator bits (``PE * count width`` when the fan-in is folded)
``count_bits``        output count register bits (``PE * count width``)
``compare_bits``      threshold comparator bits (``PE * slices * width`` or per channel lane)
``rom_columns``       output bits of ROMs of at most :data:`SHALLOW_ROM` words (one LUT and one
                      register each, whatever the depth)
``rom_deep_bits``     bits of deeper ROMs (block RAM, or LUT trees growing with the depth)
``fold_states``       ``log2`` of the steps per vector (``NF * SF``) and of the window positions
``window_bits``       register bits of a sliding window (the whole window or one chunk)
``line_bits``         bits of line-buffer memory (rows of the input map)
``slice_bits``        bits of the register slices of a full-rate network (behind the engine, its
                      matrix unit and its whole window; docs/network.md)
``pipelined_lanes``   popcount or int8 lanes whose trees are pipelined (full-rate networks)
``int8_lanes``        int8 multiply-adds per cycle (``PE * SIMD``)
``int8_acc_bits``     int8 accumulator bits (``PE * 32``)
``elementwise_bits``  bits of per-element arithmetic (requantize, batch norm, DPReLU, add, clip,
                      pools, standalone thresholds: lanes x element width)
``panet_combine_bits`` adder bits of a PA-Net engine's constant-coefficient combiner: per PE, the
                      nonzero binary digits of every ``phi[i][j]`` times the count width (each
                      digit a shifted copy of that base pair's count, added)
====================  ==========================================================================
"""

import json
import math
from functools import lru_cache
from importlib import resources as package_data

import numpy as np

from ..params import is_full_rate

__all__ = ["FEATURES", "RESOURCES", "ResourceModel", "engine_features", "matrix_features",
           "layer_features", "fastest_fitting", "plan_features", "predict_plan", "load_model",
           "calibration_samples", "fit_model", "calibration_report"]

FEATURES = ("engine", "stream_bits", "xnor_lanes", "wired_lanes", "const_inputs", "acc_bits",
            "count_bits", "compare_bits", "rom_columns", "rom_deep_bits", "fold_states",
            "window_bits", "line_bits", "slice_bits", "pipelined_lanes",
            "int8_lanes", "int8_acc_bits", "elementwise_bits", "panet_combine_bits")
RESOURCES = ("luts", "ffs", "bram", "dsp")
#: Smallest LUT4 per unit of a feature that the circuit's structure implies, kept by the fit
#: (whose data would otherwise let it trade one correlated feature for another): an
#: accumulator bit is one adder bit, one LUT4 (iCE40: with its SB_CARRY; ECP5: half a CCU2C).
LUT_FLOORS = {"acc_bits": 1.0}
#: ROMs up to this many words count by their width (``rom_columns``), deeper ones by their bits.
SHALLOW_ROM = 16
TARGETS = ("ecp5", "ice40")
_BINARY = ("binary_conv2d", "binary_dense")
_INT8 = ("int8_conv2d", "int8_dense")


def value_bits(value):
    """Bits of one pixel of a plan value (:class:`~bnnhw.compiler.ValueFormat`): one per
    channel for bit maps, else the narrowest element holding ``[lo, hi]`` per channel."""
    channels = int(value.shape[0])
    if value.kind == "bits":
        return channels
    lo, hi = int(value.lo), int(value.hi)
    width = max(hi.bit_length(), (-lo - 1).bit_length()) + 1 if lo < 0 else hi.bit_length()
    return channels * max(1, width)


def _count_width(n):
    return max(1, int(n).bit_length())


def _add_rom(features, words, width):
    """Count a ROM of ``words`` words of ``width`` bits (per PE, times PEs in ``width``)."""
    if words <= SHALLOW_ROM:
        features["rom_columns"] += width
    else:
        features["rom_deep_bits"] += words * width


def matrix_features(folding, geometry, *, slices=0, threshold_width=0, weight_ones=None,
                    full_rate=False):
    """Features of a matrix layer's engine (window, matrix unit, fused threshold) folded as
    ``folding`` (:class:`~bnnhw.compiler.LayerFolding`) on input ``geometry``
    (:class:`~bnnhw.compiler.Geometry`); ``slices`` / ``threshold_width`` of a fused threshold
    (0: none); ``weight_ones``: ones of an AND layer's weights (hard-wired AND rows keep only
    those inputs); ``full_rate``: the network is built for clock speed (register slices,
    pipelined trees)."""
    f, g = folding, geometry
    features = dict.fromkeys(FEATURES, 0)
    features["engine"] = 1
    pe, simd = f.pe, f.simd
    steps = f.neuron_folds * f.synapse_folds
    features["fold_states"] = math.log2(steps) if steps > 1 else 0
    kh, kw = g.kernel
    windowed = kh * kw > 1 or g.height * g.width > 1 and not f.pooled
    if f.op in _BINARY or f.op == "panet_conv2d":
        bases = 1
        if f.op == "panet_conv2d" and g.channels and f.channels:
            bases = max(1, g.channels // f.channels)
        element = bases            # bits per input element
        width = _count_width(f.fan_in)
        if f.weights == "logic" and not f.fully_unrolled:
            features["wired_lanes"] = pe * simd
        elif f.weights == "logic":
            features["const_inputs"] = weight_ones if weight_ones is not None \
                else f.rows * f.fan_in
        else:
            features["xnor_lanes"] = pe * simd * bases
            _add_rom(features, steps, pe * simd * bases)
        features["count_bits"] = pe * width
        if f.synapse_folds > 1:
            features["acc_bits"] = pe * width
        if slices:
            features["compare_bits"] = pe * slices * threshold_width
            if f.weights != "logic" or not f.fully_unrolled:
                _add_rom(features, f.neuron_folds, pe * slices * (threshold_width + 1))
    else:                          # int8 layers
        element = 8
        features["int8_lanes"] = pe * (1 if f.depthwise else simd)
        features["int8_acc_bits"] = pe * 32
        _add_rom(features, steps, pe * 8 * (1 if f.depthwise else simd))
        if slices:
            features["compare_bits"] = pe * slices * threshold_width
    if windowed and not f.pooled:
        channels = g.channels * element
        if f.whole_window and simd == f.fan_in:
            features["window_bits"] = kh * kw * channels
        else:
            features["window_bits"] = simd * element
        features["line_bits"] = max(kh - 1, 1) * g.width * channels if kh * kw > 1 else 0
        positions = g.height * g.width
        features["fold_states"] += math.log2(positions) if positions > 1 else 0
        if full_rate and f.whole_window:
            features["slice_bits"] += simd * element
    if full_rate:
        lanes = ("xnor_lanes", "wired_lanes", "int8_lanes")
        features["pipelined_lanes"] = sum(features[k] for k in lanes)
        features["slice_bits"] += features["count_bits"] if not slices else pe * slices
        if f.op in _INT8 and not slices:
            features["slice_bits"] += pe * 32
    return features


def engine_features(plan, engine):
    """Features (:data:`FEATURES`) of one engine of ``plan``."""
    values = plan.values
    inputs = sum(value_bits(values[name]) for name in engine.inputs)
    out_value = values[engine.name]
    out = value_bits(out_value)
    if engine.folding is not None:
        t = engine.thresholds
        ones = None
        if engine.folding.weights == "logic" and engine.folding.fully_unrolled \
                and engine.geometry.dot == "and" \
                and engine.weights is not None:
            ones = sum(bin(int(word)).count("1") for words in engine.weights for word in words)
        features = matrix_features(engine.folding, engine.geometry,
                                   slices=t.slices if t is not None else 0,
                                   threshold_width=t.width if t is not None else 0,
                                   weight_ones=ones, full_rate=full_rate(plan))
        if engine.op == "panet_conv2d" and "phi" in engine.params:
            digits = sum(bin(abs(int(v))).count("1") for row in engine.params["phi"]
                         for v in row)
            features["panet_combine_bits"] = engine.folding.pe * digits * _count_width(
                engine.folding.fan_in)
    else:
        features = dict.fromkeys(FEATURES, 0)
        features["engine"] = 1
        lanes = max(1, engine.lanes)
        channels = max(1, int(out_value.shape[0]))
        element = max(1, value_bits(values[engine.inputs[0]]) //
                      max(1, int(values[engine.inputs[0]].shape[0])))
        if engine.op == "threshold" and engine.thresholds is not None:
            features["compare_bits"] = lanes * engine.thresholds.slices * engine.thresholds.width
        elif engine.op == "permute":
            pass
        else:
            features["elementwise_bits"] = lanes * element * max(1, len(engine.inputs))
        g = engine.geometry
        if engine.op == "maxpool" and g is not None and g.kernel[0] * g.kernel[1] > 1:
            features["window_bits"] = g.kernel[0] * g.kernel[1] * g.channels * element // max(
                1, channels // lanes)
            features["line_bits"] = (g.kernel[0] - 1) * g.width * g.channels * element
    if engine.op == "permute":         # wiring: no module
        features["engine"] = 0
    else:
        features["stream_bits"] = inputs + out
        if full_rate(plan) and engine.op not in ("add", "concat"):   # joins end in FIFOs
            features["slice_bits"] += out        # the engine's output slice
    return features


def full_rate(plan):
    """Whether the generator builds ``plan`` for clock speed (:func:`bnnhw.params.is_full_rate`;
    docs/network.md)."""
    _, h, w = plan.values[plan.input].shape
    return is_full_rate(plan.cycles_per_inference, int(h) * int(w))


def plan_features(plan):
    """``{block name: features}``: the plan's engines under the names of their modules in the
    Verilog (value name, ``.`` as ``_``), forks and the argmax head (``head``) included."""
    blocks = {engine.name.replace(".", "_"): engine_features(plan, engine)
              for engine in plan.engines}
    readers = {}
    for engine in plan.engines:
        for source in engine.inputs:
            readers[source] = readers.get(source, 0) + 1
    readers[plan.output] = readers.get(plan.output, 0) + 1
    for name, count in readers.items():
        if count > 1:
            features = dict.fromkeys(FEATURES, 0)
            features["engine"] = 1
            blocks[f"fork_{name.replace('.', '_')}"] = features
    head = dict.fromkeys(FEATURES, 0)
    head["engine"] = 1
    head["elementwise_bits"] = value_bits(plan.values[plan.output])
    head["stream_bits"] = value_bits(plan.values[plan.output])
    blocks["head"] = head
    return blocks


def layer_features(compiled, *, full_rate=False):
    """``features_of(folding)``: :func:`matrix_features` of a matrix layer of ``compiled``
    folded as ``folding`` (the planner's view, before the hardware plan exists), in a network
    built for clock speed when ``full_rate``."""
    from .fusion import fused_thresholds
    from .hardware import _geometry, _thresholds
    layers = compiled.layer
    fused = fused_thresholds(compiled)
    fixed = {}

    def features_of(folding):
        name = folding.layer
        if name not in fixed:
            layer = layers[name]
            t = _thresholds(layers[fused[name]]) if name in fused else None
            ones = None
            if layer.op in _BINARY and layer.params.get("dot", "xnor") == "and":
                ones = int(np.count_nonzero(np.asarray(layer.params["weight"]) > 0))
            fixed[name] = (_geometry(compiled, layer), t, ones)
        geometry, t, ones = fixed[name]
        return matrix_features(folding, geometry, slices=t.slices if t else 0,
                               threshold_width=t.width if t else 0, weight_ones=ones,
                               full_rate=full_rate)

    return features_of


class ResourceModel:
    """Coefficients per target and resource: ``predict(target, features)`` -> resources."""

    def __init__(self, coefficients, meta=None):
        self.coefficients = coefficients       # target -> resource -> feature -> float
        self.meta = dict(meta or {})

    def predict(self, target, features):
        """``{resource: float}`` of one engine's ``features`` on ``target``."""
        table = self.coefficients[target]
        return {res: sum(table[res].get(k, 0.0) * v for k, v in features.items())
                for res in RESOURCES}

    def cost(self, target, features):
        """Predicted LUT4 (the planner's objective)."""
        table = self.coefficients[target]["luts"]
        return sum(table.get(k, 0.0) * v for k, v in features.items())

    def to_dict(self):
        return {"coefficients": self.coefficients, **self.meta}

    @classmethod
    def from_dict(cls, data):
        meta = {k: v for k, v in data.items() if k != "coefficients"}
        return cls(data["coefficients"], meta)


@lru_cache(maxsize=1)
def load_model():
    """The shipped :class:`ResourceModel` (``resource_coefficients.json``); ``None`` before the
    first calibration (the planner then counts lanes)."""
    path = package_data.files(__package__).joinpath("resource_coefficients.json")
    if not path.is_file():
        return None
    return ResourceModel.from_dict(json.loads(path.read_text()))


def predict_plan(plan, target, model=None):
    """``{"total": {resource: int}, "per_block": {block: {resource: int}}}`` of ``plan`` on
    ``target`` (``ecp5`` or ``ice40``)."""
    model = model or load_model()
    per_block = {}
    total = dict.fromkeys(RESOURCES, 0.0)
    for name, features in plan_features(plan).items():
        predicted = model.predict(target, features)
        per_block[name] = {k: round(v) for k, v in predicted.items()}
        for k in RESOURCES:
            total[k] += predicted[k]
    return {"total": {k: round(v) for k, v in total.items()}, "per_block": per_block}


def fastest_fitting(compiled, capacity, target, *, margin=0.85, model=None, **options):
    """The fastest cycle target (the input's pixels times a power of two, up to fully folded)
    whose plan the model predicts within ``margin`` of every resource in ``capacity``
    (``{luts, bram, dsp}``) on ``target``: ``(cycles target, predicted totals)``, or ``None``
    when no folding is predicted to fit. ``options`` go to :func:`plan_folding` (``weights``,
    ``overrides``)."""
    from .folding import FoldingError, _fixed_cycles, matrix_layers, plan_folding
    from .hardware import hardware_plan
    model = model or load_model()
    if model is None or target not in model.coefficients:
        return None
    slowest = max([f.cycles for f in matrix_layers(compiled)] + list(_fixed_cycles(compiled)))
    cycles = int(compiled.input_shape[1]) * int(compiled.input_shape[2])
    while True:
        cycles = min(cycles, slowest)
        try:
            plan = plan_folding(compiled, target_cycles=cycles, resource_target=target,
                                **options)
        except FoldingError:
            plan = None
        if plan is not None:
            total = predict_plan(hardware_plan(compiled, plan), target, model)["total"]
            if all(total[k] <= margin * capacity[k] for k in capacity):
                return cycles, total
        if cycles >= slowest:
            return None
        cycles *= 2


# --- calibration (benchmarks/calibrate_resources.py) ----------------------------------------------


def calibration_samples(rows, compiled_of):
    """``[(row, {block: features})]`` for calibration rows (design, cycle target, weights,
    target, the build's ``folding`` layers, per-block counts); the features are recomputed from
    each point's plan, ``compiled_of(design)`` giving the design's compiled network."""
    from .folding import restore_folding
    from .hardware import hardware_plan
    plans = {}
    samples = []
    for row in rows:
        key = (row["design"], json.dumps(row["folding"], sort_keys=True))
        if key not in plans:
            compiled = compiled_of(row["design"])
            plans[key] = plan_features(hardware_plan(compiled, restore_folding(
                compiled, row["folding"])))
        samples.append((row, plans[key]))
    return samples


def _design_matrix(samples, target, resource):
    """Per-block equations of the points on ``target``, each scaled by ``1 / (the point's
    total)``: every point weighs the same in relative terms, small designs as much as large
    ones."""
    xs, ys = [], []
    for row, blocks in samples:
        if row["target"] != target:
            continue
        scale = 1 / max(1, row["total"][resource])
        for name, counts in row["per_block"].items():
            if name not in blocks:
                continue          # "(top)": the top's own glue, a few cells
            xs.append([scale * blocks[name][k] for k in FEATURES])
            ys.append(scale * counts[resource])
    return np.asarray(xs, float), np.asarray(ys, float)


def _nnls(x, y):
    from scipy.optimize import nnls     # calibration only
    scale = np.maximum(np.abs(x).max(axis=0), 1e-9)
    coef, _ = nnls(x / scale, y, maxiter=50 * x.shape[1])
    return coef / scale


def fit_model(samples, exclude_design=None):
    """Fit a :class:`ResourceModel` by non-negative least squares on the per-block counts of
    ``samples`` (:func:`calibration_samples`), optionally leaving out one design; LUT4
    coefficients stay at or above :data:`LUT_FLOORS`."""
    coefficients = {}
    used = [(r, b) for r, b in samples if r["design"] != exclude_design]
    for target in TARGETS:
        if not any(r["target"] == target for r, _ in used):
            continue
        coefficients[target] = {}
        for resource in RESOURCES:
            x, y = _design_matrix(used, target, resource)
            floors = np.array([LUT_FLOORS.get(k, 0.0) if resource == "luts" else 0.0
                               for k in FEATURES])
            coef = _nnls(x, y - x @ floors) + floors
            coefficients[target][resource] = {k: round(float(c), 6)
                                              for k, c in zip(FEATURES, coef) if c > 0}
    model = ResourceModel(coefficients, {"yosys": sorted({r.get("yosys", "") for r, _ in used})})
    model.meta["calibration"] = [
        {"design": r["design"], "cycle_target": r["cycle_target"], "weights": r["weights"],
         "target": r["target"], "luts": r["total"]["luts"],
         "luts_predicted": round(_predict_total(model, r["target"], blocks)["luts"], 1)}
        for r, blocks in sorted(used, key=lambda s: tuple(str(s[0][k]) for k in (
            "design", "target", "weights")) + (s[0]["cycle_target"],))]
    return model


def _predict_total(model, target, blocks):
    total = dict.fromkeys(RESOURCES, 0.0)
    for features in blocks.values():
        for k, v in model.predict(target, features).items():
            total[k] += v
    return total


def calibration_report(samples, model, data="resource_calibration.json"):
    """Markdown: per calibration point the synthesized and predicted totals, in sample and
    leave-one-design-out, and the error summary per target."""
    designs = sorted({r["design"] for r, _ in samples})
    held_out = {d: fit_model(samples, exclude_design=d) for d in designs}
    lines = ["# Resource model calibration (`python benchmarks/calibrate_resources.py fit`)", "",
             f"Data: `{data}` (Yosys counts, every engine its own module). Coefficients: "
             "`bnnhw/compiler/resource_coefficients.json`. `fit`: the model fitted on every "
             "point; `held out`: fitted without the point's design.", "",
             "| design | target | cycle target | weights | LUT4 | predicted (fit) | error | "
             "predicted (held out) | error | FF | predicted FF | error |",
             "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    errors = {t: {"fit": [], "held": [], "ff": []} for t in TARGETS}
    for row, blocks in sorted(samples, key=lambda s: (s[0]["design"], s[0]["target"],
                                                      s[0]["cycle_target"])):
        t = row["target"]
        fitted = _predict_total(model, t, blocks)
        other = held_out[row["design"]]
        held = _predict_total(other, t, blocks) if t in other.coefficients else None
        lut = row["total"]["luts"]
        held_luts = f"{held['luts']:,.0f}" if held else "-"
        ff = row["total"]["ffs"]
        e_fit = fitted["luts"] / lut - 1
        e_held = held["luts"] / lut - 1 if held else None
        e_ff = fitted["ffs"] / ff - 1 if ff else 0
        errors[t]["fit"].append(abs(e_fit))
        errors[t]["ff"].append(abs(e_ff))
        if e_held is not None:
            errors[t]["held"].append(abs(e_held))
        lines.append(f"| {row['design']} | {t} | {row['cycle_target']} | {row['weights']} | "
                     f"{lut:,} | {fitted['luts']:,.0f} | {e_fit:+.1%} | "
                     f"{held_luts} | "
                     f"{f'{e_held:+.1%}' if e_held is not None else '-'} | {ff:,} | "
                     f"{fitted['ffs']:,.0f} | {e_ff:+.1%} |")
    lines += ["", "| target | points | LUT4 mean abs error (fit) | max | held out mean | max | "
              "FF mean abs error | max |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for t in TARGETS:
        e = errors[t]
        if not e["fit"]:
            continue
        lines.append(f"| {t} | {len(e['fit'])} | {np.mean(e['fit']):.1%} | {max(e['fit']):.1%} | "
                     f"{np.mean(e['held']):.1%} | {max(e['held']):.1%} | {np.mean(e['ff']):.1%} "
                     f"| {max(e['ff']):.1%} |")
    return "\n".join(lines) + "\n"
