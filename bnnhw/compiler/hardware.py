"""The hardware plan: every layout decision of the streaming network, as typed data.

:func:`hardware_plan` turns a :class:`~bnnhw.compiler.CompiledNetwork` and its
:class:`~bnnhw.compiler.FoldingPlan` into a frozen :class:`HardwarePlan`:

- one :class:`Engine` per hardware engine, in execution order: the value its output stream
  carries, the compiled layer(s) it computes (a fused threshold, a fused global pool:
  :mod:`.fusion`), its input values, its folding, its :class:`Geometry`, its weight ROM words
  per PE (ints), its :class:`Thresholds` (integer vectors, and the per-PE ROM words when the
  thresholds sit in per-PE ROMs), its lanes (per-channel engines) and its op's integer
  parameters;
- the :class:`ValueFormat` of every value a stream carries, the input and output values and
  the cycles per inference;
- every ROM image as a :class:`Rom` (words and field layout), in memory-map order.

``bnnhw.hw.network.StreamingNetwork`` elaborates the plan and nothing else, and
:func:`bnnhw.compiler.memory_images` writes the plan's ROM words, so the Verilog and the
``.hex`` files hold the same words by construction.

ROM layouts (docs/compiler.md, "Memory images"):

- **Fan-in order.** Hardware streams pixels with channels innermost, so each output's fan-in is
  ordered ``(k_h, k_w, c)`` for convolutions (``c`` within the group) and ``(h, w, c)`` for dense
  layers. :func:`fan_in_order` gives the permutation from golden's ``(c, k_h, k_w)`` order.
- **Weight ROMs**, one per PE: output row ``r = nf*PE + pe`` lives in ROM ``pe`` at addresses
  ``nf*SF .. nf*SF + SF-1`` (``SF = fan_in / SIMD``); a word holds SIMD fan-in elements, element
  ``i`` at bit ``i`` (binary) or bits ``8i .. 8i+7`` (int8, two's complement). PA-Net words hold
  the M weight bases side by side, base ``m`` at bits ``m*SIMD ..``.
- **Threshold ROMs** of a threshold of offset 0 after a matrix layer, one per PE, word ``nf``
  for row ``nf*PE + pe``: slice ``n`` at bits ``n*(w+1) ..``, threshold in ``w`` bits then the
  invert bit.
- **Per-channel ROMs** (other thresholds, requantization, quantized BN, DPReLU, PA-Net
  endpoints, int8 bias): one word per channel, fields packed low to high, signed fields two's
  complement.
"""

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from ..params import pair
from .fusion import MATRIX_OPS, fused_thresholds, per_pe_thresholds

__all__ = ["HardwarePlan", "Engine", "Geometry", "Thresholds", "ValueFormat", "Rom",
           "RomField", "hardware_plan", "fan_in_order", "channel_lanes"]

#: The saturation bound of golden's ``add`` (a signed 8-bit result).
ADD_BOUND = 127


@dataclass(frozen=True)
class ValueFormat:
    """A value's stream elements: ``kind`` ``"bits"`` or ``"int"``, ``shape`` ``(C, H, W)``,
    integers in ``[lo, hi]``."""

    kind: str
    shape: tuple
    lo: int
    hi: int


@dataclass(frozen=True)
class Geometry:
    """The input map an engine reads and, for windowed engines, its window: ``channels``,
    ``height``, ``width`` of the input; ``kernel``, ``stride``, ``padding`` as ``(h, w)`` pairs
    (a dense layer's kernel is the whole map); ``groups``; ``pad_bit`` of a binary convolution's
    padding; ``dot`` (``"xnor"`` / ``"and"``) of a binary layer; ``zero_pad``: an XNOR convolution
    with zero padding (a border tap adds 0: the window flags border chunks, the matrix unit
    accumulates the zero-padded count ``2*popcount`` per real chunk, ``SIMD`` per border
    chunk)."""

    channels: int
    height: int
    width: int
    kernel: tuple = (1, 1)
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    groups: int = 1
    pad_bit: int = 0
    dot: str = ""
    zero_pad: bool = False


@dataclass(frozen=True)
class RomField:
    """A field of a packed ROM word: ``name`` at bits ``lsb .. lsb + bits - 1``."""

    name: str
    lsb: int
    bits: int
    signed: bool

    def to_dict(self):
        return {"field": self.name, "lsb": self.lsb, "bits": self.bits, "signed": self.signed}


@dataclass(frozen=True)
class Rom:
    """One ROM image: ``words`` of ``word_bits`` bits, of compiled ``layer``; ``kind``
    ``"weights"`` (per PE: ``pe``, ``simd``, ``element_bits``, ``bases``), ``"thresholds"`` (per
    PE, ``fields``) or ``"channel-params"`` (one word per channel, ``fields``)."""

    file: str
    layer: str
    kind: str
    words: tuple
    word_bits: int
    pe: int = None
    fields: tuple = ()
    simd: int = 0
    element_bits: int = 0
    bases: int = 0

    def entry(self):
        """The image's ``memory_map.json`` entry."""
        info = {"kind": self.kind}
        if self.kind == "weights":
            info.update(pe=self.pe, simd=self.simd, element_bits=self.element_bits,
                        bases=self.bases)
        else:
            if self.pe is not None:
                info["pe"] = self.pe
            info["fields"] = [f.to_dict() for f in self.fields]
        return {"file": self.file, "word_bits": self.word_bits, "depth": len(self.words),
                "bits": self.word_bits * len(self.words), "layer": self.layer, **info}


@dataclass(frozen=True)
class Thresholds:
    """A threshold layer's rule ``bit_n = (p - offset >= threshold[n][c]) XOR invert[n][c]``:
    ``threshold`` and ``invert`` as the compiled layer holds them (``(C,)`` or ``(k, C)`` nested
    tuples), ``fan_in`` (the largest ``p - offset``), ``width`` (bits of a stored threshold) and,
    when the thresholds sit in per-PE ROMs, ``words`` (one tuple of ``NF`` words per PE, slice
    ``n`` at bits ``n*(width+1)``)."""

    threshold: tuple
    invert: tuple
    fan_in: int
    offset: int
    width: int
    words: tuple = None

    @property
    def slices(self):
        """``k``, bits per channel."""
        return len(self.threshold) if self.threshold and isinstance(self.threshold[0], tuple) \
            else 1


@dataclass(frozen=True)
class Engine:
    """One hardware engine; see the module docstring.

    ``name``: the value its output stream carries (a fused threshold's); ``op``: the compiled op
    it computes (the matrix layer's when it also computes a threshold or a pool); ``layers``: the
    compiled layers it computes, in order; ``threshold_layer`` / ``pool_layer``: the fused ones;
    ``weights``: per-PE ROM words (``weight_bits`` wide); ``params``: the op's integers (scalars
    or nested tuples), read-only."""

    name: str
    op: str
    layers: tuple
    inputs: tuple
    folding: object = None
    geometry: Geometry = None
    lanes: int = 0
    weights: tuple = None
    weight_bits: int = 0
    thresholds: Thresholds = None
    threshold_layer: str = None
    pool_layer: str = None
    params: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class HardwarePlan:
    """The streaming network as data: ``engines`` in execution order, ``values`` (name ->
    :class:`ValueFormat` of every stream), ``input`` / ``output`` value names, ``roms`` in
    memory-map order, the :class:`~bnnhw.compiler.FoldingPlan` it was made with (``folding``)
    and its ``cycles_per_inference``."""

    name: str
    engines: tuple
    values: MappingProxyType
    input: str
    output: str
    cycles_per_inference: int
    roms: tuple
    folding: object

    def engine(self, name):
        """The engine whose output stream carries value ``name``."""
        return next(e for e in self.engines if e.name == name)

    def memory_map(self):
        """``memory_map.json``'s content."""
        entries = [rom.entry() for rom in self.roms]
        return {"network": self.name, "folding": self.folding.to_dict(),
                "total_bits": sum(e["bits"] for e in entries), "images": entries}


# --- ROM words ------------------------------------------------------------------------------


def fan_in_order(weight_shape, dense_input_shape=None):
    """Indices into golden's flattened fan-in that give the hardware order (channel innermost)."""
    if dense_input_shape is not None:
        c, h, w = dense_input_shape
        return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)
    c, kh, kw = weight_shape[1:]
    return np.arange(c * kh * kw).reshape(c, kh, kw).transpose(1, 2, 0).reshape(-1)


def _pack(fields, count):
    """Words of ``count`` entries from ``[(name, values, width, signed)]``, low field first:
    ``(words, (RomField, ...), word bits)``."""
    words = [0] * count
    layout, offset = [], 0
    for name, values, width, signed in fields:
        values = np.broadcast_to(np.asarray(values, np.int64), (count,))
        mask = (1 << width) - 1
        for index, value in enumerate(values.tolist()):
            lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, mask)
            if not lo <= value <= hi:
                raise ValueError(f"{name}: value {value} does not fit {width} bits")
            words[index] |= (value & mask) << offset
        layout.append(RomField(name, offset, width, signed))
        offset += width
    return tuple(words), tuple(layout), offset


def _signed_width(values):
    values = np.asarray(values, np.int64)
    top = int(max(values.max(initial=0), -values.min(initial=0) - 1, 0))
    return top.bit_length() + 1


def _matrix_rows(layer, value_of_input):
    """Weight rows ``(rows, fan_in[, M])`` in hardware fan-in order."""
    if layer.op == "panet_conv2d":
        bases = layer.params["weight_bases"]
        order = fan_in_order(bases.shape[1:])
        rows = bases.reshape(bases.shape[0], bases.shape[1], -1)[:, :, order]
        return rows.transpose(1, 2, 0)  # (rows, fan_in, M)
    weight = layer.params["weight"]
    dense = layer.op.endswith("dense")
    order = fan_in_order(weight.shape, value_of_input.shape if dense else None)
    return weight.reshape(weight.shape[0], -1)[:, order]


def _weight_roms(layer, folding, value_of_input):
    rows = _matrix_rows(layer, value_of_input)
    pe, simd = folding.pe, folding.simd
    synapse_folds = folding.fan_in // simd
    element_bits = 8 if layer.op.startswith("int8") else 1
    bases = rows.shape[2] if rows.ndim == 3 else 1
    word_bits = simd * element_bits * bases
    roms = []
    for p in range(pe):
        words = []
        for r in range(p, folding.rows, pe):
            for sf in range(synapse_folds):
                chunk = rows[r, sf * simd:(sf + 1) * simd]
                word = 0
                if rows.ndim == 3:  # PA-Net: base m at bits m*SIMD
                    for m in range(bases):
                        for i, bit in enumerate(chunk[:, m].tolist()):
                            word |= int(bit) << (m * simd + i)
                else:
                    for i, element in enumerate(chunk.tolist()):
                        word |= (int(element) & ((1 << element_bits) - 1)) << (i * element_bits)
                words.append(word)
        roms.append(Rom(f"{layer.name}.weights.pe{p}.hex", layer.name, "weights", tuple(words),
                        word_bits, pe=p, simd=simd, element_bits=element_bits, bases=bases))
    return roms


def _threshold_fields(thresholds):
    t = thresholds.threshold.reshape(-1, thresholds.threshold.shape[-1])
    inv = thresholds.invert.reshape(t.shape)
    width = max(1, thresholds.width)
    fields = []
    for n in range(t.shape[0]):
        fields += [(f"threshold{n}", t[n], width, False), (f"invert{n}", inv[n], 1, False)]
    return fields


def _channel_fields(layer):
    """``(file, fields, count)`` of an element-wise layer's per-channel ROM, or None."""
    p = layer.params
    if layer.op == "threshold":
        fields = _threshold_fields(p["thresholds"])
    elif layer.op == "requantize":
        fields = [("multiplier", p["multiplier"], 17, True)]
    elif layer.op == "quantized_bn":
        fields = [("scale", p["scale"], 16, True), ("bias", p["bias"], 16, True)]
    elif layer.op == "dprelu":
        fields = [("alpha", p["alpha"], 8, True), ("beta", p["beta"], 8, True),
                  ("eta", p["eta"], 16, True), ("gamma", p["gamma"], 16, True)]
    elif layer.op == "pa_bases":
        endpoints = p["endpoints"]
        width = _signed_width(endpoints)
        fields = [(f"endpoint{j}", endpoints[j], width, True) for j in range(len(endpoints))]
    elif layer.op in ("int8_conv2d", "int8_dense"):
        fields = [("bias", p["bias"], 32, True)]
    else:
        return None
    count = max(np.size(values) if np.ndim(values) else 1 for _, values, _, _ in fields)
    kind = "bias" if layer.op.startswith("int8") else "params"
    return f"{layer.name}.{kind}.hex", fields, count


def _layer_roms(compiled, layer, by_layer):
    """The ROM images of one compiled layer, in memory-map order."""
    roms = []
    if layer.op in MATRIX_OPS:
        roms += _weight_roms(layer, by_layer[layer.name], compiled.values[layer.inputs[0]])
    if per_pe_thresholds(compiled, layer):
        folding = by_layer[layer.inputs[0]]
        fields = _threshold_fields(layer.params["thresholds"])
        for pe in range(folding.pe):
            picked = [(n, np.asarray(v)[pe::folding.pe], w, s) for n, v, w, s in fields]
            words, layout, bits = _pack(picked, folding.neuron_folds)
            roms.append(Rom(f"{layer.name}.thresholds.pe{pe}.hex", layer.name, "thresholds",
                            words, bits, pe=pe, fields=layout))
        return roms
    channel = _channel_fields(layer)
    if channel is not None:
        name, fields, count = channel
        words, layout, bits = _pack(fields, count)
        roms.append(Rom(name, layer.name, "channel-params", words, bits, fields=layout))
    return roms


# --- engines --------------------------------------------------------------------------------


def channel_lanes(channels, positions, budget):
    """Lanes of a per-channel engine: the fewest (a divisor of ``channels``) with
    ``channels/L * positions <= budget`` cycles per image."""
    for lanes in range(1, channels + 1):
        if channels % lanes == 0 and channels // lanes * positions <= budget:
            return lanes
    return channels


def _ints(values):
    """A NumPy array (any shape) as nested tuples of Python ints (bools stay bools)."""
    return np.asarray(values).tolist() if np.ndim(values) == 0 else \
        _tuples(np.asarray(values).tolist())


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _value_format(value):
    return ValueFormat(value.kind, tuple(int(n) for n in value.shape), int(value.lo),
                       int(value.hi))


def _geometry(compiled, layer):
    """The input map of ``layer`` and its window (matrix layers, max pools)."""
    c, h, w = (int(n) for n in compiled.values[layer.inputs[0]].shape)
    p = layer.params
    if layer.op.endswith("dense"):
        return Geometry(c, h, w, kernel=(h, w),
                        dot=p.get("dot", "xnor") if layer.op == "binary_dense" else "")
    if layer.op in ("binary_conv2d", "int8_conv2d", "panet_conv2d"):
        # a PA-Net layer's kernel is the last two axes of its (M, C_out, C/g, kh, kw) bases
        weight = p["weight_bases"][0] if layer.op == "panet_conv2d" else p["weight"]
        binary = layer.op == "binary_conv2d"
        padding = pair(p["padding"], "padding")
        dot = p.get("dot", "xnor") if binary else ""
        zero_pad = binary and dot == "xnor" and int(p.get("pad_value", 1)) == 0 \
            and max(padding) > 0
        return Geometry(c, h, w, kernel=tuple(int(k) for k in weight.shape[2:]),
                        stride=pair(p["stride"], "stride"), padding=padding,
                        groups=int(p.get("groups", 1)),
                        pad_bit=(1 if int(p.get("pad_value", 1)) == 1 else 0) if binary else 0,
                        dot=dot, zero_pad=zero_pad)
    if layer.op == "maxpool":
        kernel = pair(p["kernel"], "kernel")
        return Geometry(c, h, w, kernel=kernel, stride=pair(p.get("stride", kernel), "stride"))
    return Geometry(c, h, w)


def _thresholds(layer, words=None):
    st = layer.params["thresholds"]
    return Thresholds(_ints(st.threshold), _ints(st.invert), int(st.fan_in),
                      int(layer.params["offset"]), max(1, int(st.fan_in).bit_length()),
                      words)


def _params(layer):
    """The integers of an op whose engine reads them as values (not ROM words)."""
    p = layer.params
    names = {"requantize": ("multiplier", "shift"), "quantized_bn": ("scale", "bias",
                                                                   "frac_bits"),
             "dprelu": ("alpha", "beta", "eta", "gamma", "frac_bits"),
             "clip": ("fan_in", "bound"), "permute": ("order",), "pa_bases": ("endpoints",),
             "panet_conv2d": ("phi", "activation_bases"), "int8_conv2d": ("bias",),
             "int8_dense": ("bias",), "add": ()}.get(layer.op, ())
    params = {name: _ints(p[name]) for name in names}
    if layer.op == "clip" and "dot" in p:
        params["dot"] = p["dot"]
    if layer.op == "add":
        params["bound"] = ADD_BOUND
    return MappingProxyType(params)


def hardware_plan(compiled, plan):
    """The :class:`HardwarePlan` of ``compiled`` folded by ``plan`` (a
    :class:`~bnnhw.compiler.FoldingPlan` of it)."""
    by_layer = plan.by_layer
    budget = plan.cycles_per_inference
    layers = compiled.layer
    fused = fused_thresholds(compiled)
    pooled = {f.layer: layers[f.layer].inputs[0] for f in plan.layers if f.pooled}
    skipped = set(fused.values()) | set(pooled.values())

    roms, rom_of = [], {}
    for layer in compiled.layers:
        found = _layer_roms(compiled, layer, by_layer)
        roms += found
        rom_of[layer.name] = found

    engines = []
    for layer in compiled.layers:
        if layer.name in skipped:
            continue
        name = fused.get(layer.name, layer.name)
        computed = (layer.name,) if name == layer.name else (layer.name, name)
        inputs = tuple(layer.inputs)
        geometry = _geometry(compiled, layer) if layer.inputs else None
        if layer.name in pooled:
            pool = layers[pooled[layer.name]]
            computed, inputs = (pool.name, layer.name), tuple(pool.inputs)
            geometry = _geometry(compiled, pool)
        weights = [rom for rom in rom_of[layer.name] if rom.kind == "weights"]
        thresholds = None
        threshold_layer = layers[name] if name != layer.name else \
            (layer if layer.op == "threshold" else None)
        if threshold_layer is not None:
            words = tuple(rom.words for rom in rom_of[threshold_layer.name]
                          if rom.kind == "thresholds") or None
            thresholds = _thresholds(threshold_layer, words)
        lanes = 0
        if layer.op in ("threshold", "requantize", "quantized_bn", "dprelu", "global_pool"):
            lanes = channel_lanes(geometry.channels, geometry.height * geometry.width, budget)
        engines.append(Engine(
            name, layer.op, computed, inputs, folding=by_layer.get(layer.name),
            geometry=geometry, lanes=lanes,
            weights=tuple(rom.words for rom in weights) or None,
            weight_bits=weights[0].word_bits if weights else 0, thresholds=thresholds,
            threshold_layer=name if name != layer.name else None,
            pool_layer=pooled.get(layer.name), params=_params(layer)))

    carried = ["input"] + [e.name for e in engines]
    values = MappingProxyType({name: _value_format(compiled.values[name]) for name in carried})
    if compiled.output not in values:
        values = MappingProxyType({**values,
                                   compiled.output: _value_format(
                                       compiled.values[compiled.output])})
    return HardwarePlan(compiled.name, tuple(engines), values, "input", compiled.output, budget,
                        tuple(roms), plan)
