"""Memory images: weight and parameter ROM contents as ``$readmemh`` files plus a memory map.

Layouts (docs/memory-images.md):

- **Fan-in order.** Hardware streams pixels with channels innermost, so each output's fan-in is
  ordered ``(k_h, k_w, c)`` for convolutions (``c`` within the group) and ``(h, w, c)`` for dense
  layers. ``fan_in_order`` gives the permutation from golden's ``(c, k_h, k_w)`` order.
- **Weight ROMs**, one per PE: output row ``r = nf*PE + pe`` lives in ROM ``pe`` at addresses
  ``nf*SF .. nf*SF + SF-1`` (``SF = fan_in / SIMD``); a word holds SIMD fan-in elements, element
  ``i`` at bit ``i`` (binary) or bits ``8i .. 8i+7`` (int8, two's complement). PA-Net words hold
  the M weight bases side by side, base ``m`` at bits ``m*SIMD ..``.
- **Threshold ROMs** of signs that follow a matrix layer, one per PE, word ``nf`` for row
  ``nf*PE + pe``: slice ``n`` at bits ``n*(w+1) ..``, threshold in ``w`` bits then the invert bit.
- **Per-channel ROMs** (other thresholds, requantization, quantized BN, DPReLU, PA-Net endpoints,
  int8 bias): one word per channel, fields packed low to high as listed in the memory map,
  signed fields two's complement.

Words are written as lowercase hex, ``ceil(bits/4)`` digits, one per line. The same compiled
network and plan always give the same bytes.
"""

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .folding import MATRIX_OPS

__all__ = ["fan_in_order", "memory_images", "write_images"]


def fan_in_order(weight_shape, dense_input_shape=None):
    """Indices into golden's flattened fan-in that give the hardware order (channel innermost)."""
    if dense_input_shape is not None:
        c, h, w = dense_input_shape
        return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)
    c, kh, kw = weight_shape[1:]
    return np.arange(c * kh * kw).reshape(c, kh, kw).transpose(1, 2, 0).reshape(-1)


def _hex_lines(words, bits):
    digits = max(1, (bits + 3) // 4)
    return "".join(f"{word:0{digits}x}\n" for word in words).encode()


def _pack(fields, count):
    """Words of ``count`` entries from ``[(name, values, width, signed)]``, low field first."""
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
        layout.append({"field": name, "lsb": offset, "bits": width, "signed": signed})
        offset += width
    return words, layout, offset


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


def _weight_images(layer, folding, value_of_input):
    rows = _matrix_rows(layer, value_of_input)
    pe, simd = folding.pe, folding.simd
    synapse_folds = folding.fan_in // simd
    element_bits = 8 if layer.op.startswith("int8") else 1
    bases = rows.shape[2] if rows.ndim == 3 else 1
    word_bits = simd * element_bits * bases
    images = []
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
        images.append((f"{layer.name}.weights.pe{p}.hex", words, word_bits, {
            "kind": "weights", "pe": p, "simd": simd, "element_bits": element_bits,
            "bases": bases}))
    return images


def _threshold_fields(thresholds):
    t = thresholds.threshold.reshape(-1, thresholds.threshold.shape[-1])
    inv = thresholds.invert.reshape(t.shape)
    width = max(1, thresholds.width)
    fields = []
    for n in range(t.shape[0]):
        fields += [(f"threshold{n}", t[n], width, False), (f"invert{n}", inv[n], 1, False)]
    return fields


def _channel_images(layer):
    """Per-channel parameter ROM(s) of an element-wise layer, or []."""
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
        return []
    count = max(np.size(values) if np.ndim(values) else 1 for _, values, _, _ in fields)
    return [(f"{layer.name}.{'bias' if layer.op.startswith('int8') else 'params'}.hex",
             fields, count)]


def memory_images(compiled, plan):
    """``(files, memory_map)``: file name -> bytes, and the JSON-able map describing them."""
    by_layer = plan.by_layer
    producer_plan = {}
    files, entries = {}, []

    def add(name, words, bits, info):
        files[name] = _hex_lines(words, bits)
        entries.append({"file": name, "word_bits": bits, "depth": len(words),
                        "bits": bits * len(words), **info})

    for layer in compiled.layers:
        if layer.op in MATRIX_OPS:
            folding = by_layer[layer.name]
            producer_plan[layer.name] = folding
            for name, words, bits, info in _weight_images(
                    layer, folding, compiled.values[layer.inputs[0]]):
                add(name, words, bits, {"layer": layer.name, **info})
        source = layer.inputs[0] if layer.inputs else None
        if layer.op == "threshold" and source in producer_plan \
                and layer.params["offset"] == 0:
            folding = producer_plan[source]
            fields = _threshold_fields(layer.params["thresholds"])
            for pe in range(folding.pe):
                picked = [(n, np.asarray(v)[pe::folding.pe], w, s) for n, v, w, s in fields]
                words, layout, bits = _pack(picked, folding.neuron_folds)
                add(f"{layer.name}.thresholds.pe{pe}.hex", words, bits,
                    {"layer": layer.name, "kind": "thresholds", "pe": pe, "fields": layout})
            continue
        for name, fields, count in _channel_images(layer):
            words, layout, bits = _pack(fields, count)
            add(name, words, bits, {"layer": layer.name, "kind": "channel-params",
                                    "fields": layout})
    memory_map = {"network": compiled.name, "folding": plan.to_dict(),
                  "total_bits": sum(e["bits"] for e in entries), "images": entries}
    return files, memory_map


def write_images(compiled, plan, directory):
    """Write every image and ``memory_map.json`` into ``directory`` (created; all or nothing)."""
    files, memory_map = memory_images(compiled, plan)
    files["memory_map.json"] = (json.dumps(memory_map, indent=1, sort_keys=True) + "\n").encode()
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        if directory.exists():
            raise FileExistsError(f"{directory} already exists")
        os.replace(staging, directory)
    except BaseException:
        for child in staging.iterdir() if staging.exists() else ():
            child.unlink()
        if staging.exists():
            staging.rmdir()
        raise
    return memory_map
