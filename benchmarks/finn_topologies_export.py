"""Train and export FINN's reference topologies (brevitas_examples.bnn_pynq) as bnnhw designs.

Run by hand in the torch + Brevitas venv of ``tests/data/qonnx/make_fixtures.py`` (its docstring
has the pip commands; this script reuses its model, training, export and qonnx helpers)::

    cd /work/main && /work/venvs/brevitas/bin/python benchmarks/finn_topologies_export.py [NAME ...]

NAME is one of finn_tfc, finn_sfc, finn_cnv, finn_cnv32 (default: all). For each it writes

- ``designs/NAME/NAME.onnx``: the QONNX graph exported by Brevitas (TorchScript exporter), which
  takes raw pixels (digits 0..16, behind ``x / 16``; finn_cnv32: 0..255 behind ``x / 255``);
  the latent weights are replaced by their signs before export (same function, and the file
  compresses to a few percent in git);
- ``designs/NAME/qonnx_reference.npz``: ``labels`` (-1 for random inputs), ``outputs`` (qonnx's
  executor on the cleaned graph, one input at a time, as ``make_fixtures.run_qonnx``),
  ``argmax`` (first index on ties), ``torch_outputs`` (the Brevitas model in eval mode);
  inputs: the 360 held-out digits (finn_cnv32: 64 random images of ``default_rng(32)``);
- ``designs/NAME/design.json``: the training settings and the measured training time.

Then ``.venv/bin/python benchmarks/finn_topologies.py designs`` (bnnhw's venv, no torch) imports
each graph with bnnhw's converter and writes ``model.npz`` and ``README.md``.

Topologies (``FC`` and ``CNV`` are brevitas_examples' own classes, 1-bit weights and
activations): TFC = FC 64-64-64, SFC = FC 256-256-256 (both on the 8x8 digits: 64 inputs instead
of MNIST's 784); CNV at 8x8 keeps CNV's first conv block at full width (3x3 convs 64, 64, 2x2
pool: 8 -> 6 -> 4 -> 2) and CNV's full classifier (FC 256-512-512-10; 64 * 2 * 2 = 256 is CNV's
own first FC input): the later conv blocks need a larger image. finn_cnv32 is the whole CNV at
its own 32x32x3 shape, random weights, batch-norm statistics calibrated on the random inputs.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "data" / "qonnx"))

import make_fixtures as fx
import torch

from bnnhw.train.data import PIXEL_MAX

DESIGNS = REPO / "designs"
DIGITS_SHAPE = (1, 1, 8, 8)
CNV_FULL = [(64, False), (64, True), (128, False), (128, True), (256, False), (256, False)]
CNV_FC = [(256, 512), (512, 512)]


def held_out_digits():
    """(raw pixels 0..16 as float32 NCHW, labels) of the 360 held-out digits."""
    inputs, labels = fx.digits_inputs(1.0)
    digits = labels >= 0
    return inputs[digits], labels[digits]


def cnv_class(conv_channels_pool, in_channels):
    """brevitas_examples' ``CNV`` (W1A1, 8-bit Q1.7 input) with these conv blocks, full FC head."""
    with fx.cnv_topology(conv_channels_pool, CNV_FC, 512) as cls:
        return cls(num_classes=10, weight_bit_width=1, act_bit_width=1, in_bit_width=8,
                   in_ch=in_channels)


TOPOLOGIES = {
    "finn_tfc": {"build": lambda: fx.Scaled(fx.fc([64, 64, 64]), PIXEL_MAX), "seed": 11,
                     "epochs": 100},
    "finn_sfc": {"build": lambda: fx.Scaled(fx.fc([256, 256, 256]), PIXEL_MAX), "seed": 12,
                     "epochs": 100},
    "finn_cnv": {"build": lambda: fx.Scaled(cnv_class(CNV_FULL[:2], 1), PIXEL_MAX), "seed": 13,
                     "epochs": 60},
    "finn_cnv32": {"build": lambda: fx.Scaled(cnv_class(CNV_FULL, 3), 255), "seed": 32, "epochs": 0,
                       "target_cycles": 32768},
}


def binarize_latent_weights(model):
    """Replace every latent float weight by the ±1 its BipolarQuant gives (0 -> +1).

    The function is unchanged (the graph quantizes ``w >= 0``) and the ONNX file's weights become
    two float32 values, which git's zlib stores in a few percent of the raw size.
    """
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (fx.QuantConv2d, fx.QuantLinear)):
                module.weight.copy_(torch.where(module.weight >= 0, 1.0, -1.0))


def make(name):
    spec = TOPOLOGIES[name]
    folder = DESIGNS / name
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(spec["seed"])
    started = time.monotonic()
    if name == "finn_cnv32":
        rng = np.random.default_rng(32)
        inputs = rng.integers(0, 256, size=(fx.RANDOM_INPUTS, 3, 32, 32)).astype(np.float32)
        labels = np.full(fx.RANDOM_INPUTS, -1, dtype=np.int64)
        model = fx.calibrate_batchnorm(spec["build"](), inputs)
        shape = (1, 3, 32, 32)
        training = {"weights": "random uniform(-1, 1), torch seed 32",
                    "batchnorm": "statistics of the 64 random inputs"}
    else:
        inputs, labels = held_out_digits()
        model = fx.train(spec["build"](), 1.0, epochs=spec["epochs"], seed=spec["seed"])
        shape = DIGITS_SHAPE
        training = {"epochs": spec["epochs"], "seed": spec["seed"], "lr": 0.01,
                    "batch_size": 64, "optimizer": "Adam", "clip_weights": [-1, 1]}
    seconds = time.monotonic() - started
    binarize_latent_weights(model)
    onnx_path = folder / f"{name}.onnx"
    fx.export(model, onnx_path, dynamo=False, shape=shape)
    outputs = fx.run_qonnx(onnx_path, inputs)
    torch_out = fx.torch_outputs(model, inputs)
    argmax = np.argmax(outputs, axis=-1)
    np.savez_compressed(folder / "qonnx_reference.npz", labels=labels, outputs=outputs,
                        argmax=argmax, torch_outputs=torch_out.astype(np.float32))
    training["seconds"] = round(seconds, 1)
    training["threads"] = 1
    config = {"folding": {"target_cycles": spec.get("target_cycles", 4096)},
              "training": training}
    (folder / "design.json").write_text(json.dumps(config, indent=1) + "\n")
    digits = labels >= 0
    line = f"{name}: {seconds:.1f} s"
    if digits.any():
        line += f", qonnx accuracy {np.mean(argmax[digits] == labels[digits]):.4f}"
    line += (f", torch/qonnx argmax agreement {np.mean(np.argmax(torch_out, -1) == argmax):.4f}"
             f", max |diff| {np.max(np.abs(torch_out - outputs)):.3g}")
    print(line, flush=True)


def main(names):
    for name in names or TOPOLOGIES:
        make(name)


if __name__ == "__main__":
    main(sys.argv[1:])
