"""Generate the QONNX fixtures of this folder (Brevitas exports, FINN-ONNX forms, expected outputs).

Run by hand, never in CI: it needs PyTorch, Brevitas and (for the FINN forms) FINN's transforms,
none of which bnnhw depends on. One venv outside the repository, torch pinned to the CPU build::

    python3 -m venv /work/venvs/brevitas
    /work/venvs/brevitas/bin/pip install torch==2.13.0 brevitas==0.13.4 onnx==1.23.2 \\
        onnxoptimizer==0.4.2 onnxscript==0.7.2 onnxruntime==1.32.0 qonnx==1.0.0 \\
        scikit-learn==1.9.1 numpy==2.4.6 protobuf==7.36.2 rich==13.9.4
    # FINN's converters only, WITHOUT its dependencies (a full install pulls a CUDA torch):
    /work/venvs/brevitas/bin/pip install --no-deps finn-plus==1.6.1
    cd /work/main && /work/venvs/brevitas/bin/python tests/data/qonnx/make_fixtures.py [NAME ...]

NAME is one of tfc, sfc, cnv, conv_pad, bn_negative, w1a2, scaled, cnv32 (a few minutes in all on
one core); with none every fixture is rebuilt. Then refresh the listing with ``describe.py``. For
each fixture it writes ``NAME.onnx`` (exactly what the exporter or FINN wrote; the dynamo exporter's
unused ``NAME.onnx.data`` leftover is deleted, every tensor is inline) and ``NAME.expected.npz``:

- ``inputs``: float32, NCHW, exactly what the graph input takes: first the 360 held-out digits of
  bnnhw's split (:mod:`bnnhw.train.data`), then 64 seeded random images on the same pixel grid
  (CNV 32x32x3: 64 random images only);
- ``labels``: int64 digit labels, -1 for the random inputs;
- ``outputs``: the graph output of ``qonnx.core.onnx_exec.execute_onnx`` for each input (run one
  input at a time on the model after ``qonnx.util.cleanup.cleanup_model``), stacked on axis 0;
- ``argmax``: ``np.argmax(outputs, axis=-1)`` (first index on ties), or the TopK index for graphs
  that end in TopK;
- ``torch_outputs``: the Brevitas model's own eval-mode output (Brevitas fixtures only);
- ``output_name``, ``input_name``: the graph's tensor names.

Everything is seeded; training runs on one thread for a few epochs on the 1437 training digits.
"""

import contextlib
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO))

from bnnhw.train.data import HELD_OUT, PIXEL_MAX, load_split

warnings.filterwarnings("ignore")

import onnx
import torch
from brevitas.core.scaling import ScalingImplType
from brevitas.core.stats import StatsOp
from brevitas.export import export_qonnx
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear
from brevitas_examples.bnn_pynq.models import CNV as cnv_module
from brevitas_examples.bnn_pynq.models.common import CommonActQuant, CommonWeightQuant
from brevitas_examples.bnn_pynq.models.FC import FC
from brevitas_examples.bnn_pynq.models.tensor_norm import TensorNorm
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.util.cleanup import cleanup_model

RANDOM_INPUTS = 64
EPOCHS = 20
torch.set_num_threads(1)


# ----------------------------------------------------------------------------------------------
# Models


class Scaled(torch.nn.Module):
    """``inner(x / divisor)``: the graph takes raw pixels and starts with a ``Div`` node."""

    def __init__(self, inner, divisor):
        super().__init__()
        self.inner = inner
        self.divisor = float(divisor)

    def forward(self, x):
        return self.inner(x / self.divisor)

    def clip_weights(self, low, high):
        self.inner.clip_weights(low, high)


@contextlib.contextmanager
def cnv_topology(conv_channels_pool, fc_features, last_fc_in):
    """Instantiate brevitas_examples' own ``CNV`` class with other channel counts / depth."""
    saved = (
        cnv_module.CNV_OUT_CH_POOL,
        cnv_module.INTERMEDIATE_FC_FEATURES,
        cnv_module.LAST_FC_IN_FEATURES,
    )
    cnv_module.CNV_OUT_CH_POOL = conv_channels_pool
    cnv_module.INTERMEDIATE_FC_FEATURES = fc_features
    cnv_module.LAST_FC_IN_FEATURES = last_fc_in
    try:
        yield cnv_module.CNV
    finally:
        (
            cnv_module.CNV_OUT_CH_POOL,
            cnv_module.INTERMEDIATE_FC_FEATURES,
            cnv_module.LAST_FC_IN_FEATURES,
        ) = saved


class PaddedBinaryConvNet(torch.nn.Module):
    """Bipolar input, three 3x3 binary convs with padding=1 (Brevitas' zero padding), pools, FC."""

    def __init__(self):
        super().__init__()

        def conv(cin, cout):
            return QuantConv2d(
                cin,
                cout,
                kernel_size=3,
                padding=1,
                bias=False,
                weight_quant=CommonWeightQuant,
                weight_bit_width=1,
            )

        def act():
            return QuantIdentity(act_quant=CommonActQuant, bit_width=1)

        self.features = torch.nn.ModuleList(
            [
                act(),
                conv(1, 16),
                torch.nn.BatchNorm2d(16, eps=1e-4),
                act(),
                conv(16, 16),
                torch.nn.BatchNorm2d(16, eps=1e-4),
                act(),
                torch.nn.MaxPool2d(2),
                conv(16, 32),
                torch.nn.BatchNorm2d(32, eps=1e-4),
                act(),
                torch.nn.MaxPool2d(2),
            ]
        )
        self.classifier = torch.nn.ModuleList(
            [
                QuantLinear(
                    32 * 2 * 2,
                    10,
                    bias=False,
                    weight_quant=CommonWeightQuant,
                    weight_bit_width=1,
                ),
                TensorNorm(),
            ]
        )
        for module in self.modules():
            if isinstance(module, (QuantConv2d, QuantLinear)):
                torch.nn.init.uniform_(module.weight.data, -1, 1)

    def clip_weights(self, low, high):
        for module in self.modules():
            if isinstance(module, (QuantConv2d, QuantLinear)):
                module.weight.data.clamp_(low, high)

    def forward(self, x):
        x = 2.0 * x - torch.tensor([1.0])
        for module in self.features:
            x = module(x)
        x = x.view(x.shape[0], -1)
        for module in self.classifier:
            x = module(x)
        return x


class StatsScaledWeight(CommonWeightQuant):
    """1-bit weights scaled per output channel by max |w| (floats, not powers of two)."""

    scaling_impl_type = ScalingImplType.STATS
    scaling_stats_op = StatsOp.MAX
    scaling_per_output_channel = True


class LearnedScaleAct(CommonActQuant):
    """1-bit activations whose scale is a trained parameter (starts at 1.0)."""

    scaling_impl_type = ScalingImplType.PARAMETER


class ScaledBinaryMLP(torch.nn.Module):
    """64 -> 32 -> 10 with scaled binary weights and activations; no TensorNorm (raw logits)."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            QuantIdentity(act_quant=LearnedScaleAct, bit_width=1),
            QuantLinear(
                64, 32, bias=False, weight_quant=StatsScaledWeight, weight_bit_width=1
            ),
            torch.nn.BatchNorm1d(32),
            QuantIdentity(act_quant=LearnedScaleAct, bit_width=1),
            QuantLinear(
                32, 10, bias=False, weight_quant=StatsScaledWeight, weight_bit_width=1
            ),
        )

    def clip_weights(self, low, high):
        pass  # the weight scale follows max |w|

    def forward(self, x):
        return self.features(2.0 * x.view(x.shape[0], -1) - 1.0)


def fc(widths, act_bits=1, in_bits=1):
    """brevitas_examples' ``FC`` (TFC/SFC topology) on 8x8 digits, 1-bit weights."""
    return FC(
        num_classes=10,
        weight_bit_width=1,
        act_bit_width=act_bits,
        in_bit_width=in_bits,
        in_channels=1,
        out_features=widths,
        in_features=(8, 8),
    )


# ----------------------------------------------------------------------------------------------
# Data and training


def digits_inputs(pixel_scale):
    """(inputs, labels): the 360 held-out digits then 64 random pixel images, times pixel_scale."""
    split = load_split()
    rng = np.random.default_rng(16)
    random_pixels = rng.integers(0, PIXEL_MAX + 1, size=(RANDOM_INPUTS, 1, 8, 8))
    pixels = np.concatenate([split.test_images.astype(np.int64), random_pixels])
    labels = np.concatenate(
        [split.test_labels, np.full(RANDOM_INPUTS, -1, dtype=np.int64)]
    )
    assert len(split.test_images) == HELD_OUT
    return (pixels * pixel_scale).astype(np.float32), labels


def train(model, pixel_scale, epochs, seed, lr=0.01):
    """A few epochs of Adam on the training digits (graph-input units = pixels * pixel_scale)."""
    torch.manual_seed(seed)
    split = load_split()
    images = torch.tensor(split.train_images.astype(np.float32) * pixel_scale)
    labels = torch.tensor(split.train_labels)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images), 64):
            batch = order[start : start + 64]
            loss = torch.nn.functional.cross_entropy(
                model(images[batch]), labels[batch]
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            model.clip_weights(-1.0, 1.0)
    model.eval()
    return model


def calibrate_batchnorm(model, inputs):
    """Random-weight models: set BatchNorm / TensorNorm running stats from a forward in train mode."""
    for module in model.modules():
        if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over the calibration batch
        if isinstance(module, TensorNorm):
            module.momentum = 1.0
    model.train()
    with torch.no_grad():
        model(torch.tensor(inputs))
    model.eval()
    return model


def torch_outputs(model, inputs):
    with torch.no_grad():
        return model.eval()(torch.tensor(inputs)).numpy()


# ----------------------------------------------------------------------------------------------
# Export and reference execution


def export(model, path, dynamo, shape):
    example = torch.zeros(shape)
    if dynamo:
        export_qonnx(model, example, str(path), dynamo=True, optimize=True)
        # torch.onnx writes the weights to NAME.onnx.data; Brevitas then reloads and saves the
        # model with every tensor inline, leaving that file behind unused.
        path.with_name(path.name + ".data").unlink(missing_ok=True)
        stored = onnx.load(str(path), load_external_data=False)
        assert all(not t.external_data for t in stored.graph.initializer), path
    else:
        export_qonnx(model, example, str(path), dynamo=False)


def run_qonnx(path, inputs):
    """execute_onnx outputs, one input at a time, on the cleaned-up model (as qonnx documents)."""
    model = cleanup_model(ModelWrapper(str(path)))
    input_name = model.graph.input[0].name
    output_name = model.graph.output[0].name
    outputs = [
        execute_onnx(model, {input_name: sample[None]})[output_name]
        for sample in inputs
    ]
    return np.concatenate(outputs)


def write_expected(path, inputs, labels, torch_out=None):
    outputs = run_qonnx(path, inputs)
    raw = onnx.load(str(path)).graph
    ends_in_topk = raw.node[-1].op_type == "TopK"
    argmax = (
        outputs[:, 0].astype(np.int64) if ends_in_topk else np.argmax(outputs, axis=-1)
    )
    arrays = {
        "inputs": inputs,
        "labels": labels,
        "outputs": outputs,
        "argmax": argmax,
        "input_name": np.str_(raw.input[0].name),
        "output_name": np.str_(raw.output[0].name),
    }
    digits = labels >= 0
    line = f"{path.name}: {len(inputs)} inputs"
    if digits.any():
        line += f", qonnx argmax accuracy on digits {np.mean(argmax[digits] == labels[digits]):.3f}"
    if torch_out is not None:
        arrays["torch_outputs"] = torch_out.astype(np.float32)
        agree = np.mean(np.argmax(torch_out, -1) == argmax)
        line += f", torch/qonnx argmax agreement {agree:.4f}, max |diff| {np.max(np.abs(torch_out - outputs)):.3g}"
    ties = (
        np.sum(np.sum(outputs == outputs.max(-1, keepdims=True), -1) > 1)
        if not ends_in_topk
        else 0
    )
    line += f", inputs with tied maxima {ties}"
    np.savez_compressed(path.with_name(path.stem + ".expected.npz"), **arrays)
    print(line, flush=True)
    return argmax


def brevitas_fixture(name, model, inputs, labels, shape, dynamo=False):
    path = HERE / f"{name}.onnx"
    export(model, path, dynamo, shape)
    write_expected(path, inputs, labels, torch_outputs(model, inputs))
    return path


# ----------------------------------------------------------------------------------------------
# FINN forms


def finn_forms(source, name, inputs, labels, exact=True):
    """ConvertQONNXtoFINN + tidy-up (NAME_finn) and FINN's step_streamline with TopK (NAME_streamlined).

    With ``exact`` the FINN forms must give the QONNX source's argmax on every input; without, the
    agreement is only printed (FINN turns a Quant's half-to-even rounding into ``>=`` thresholds).
    """
    from finn.transformation.qonnx.convert_qonnx_to_finn import ConvertQONNXtoFINN
    from finn.transformation.streamline import Streamline, absorb
    from finn.transformation.streamline.reorder import MakeMaxPoolNHWC
    from qonnx.transformation.bipolar_to_xnor import ConvertBipolarMatMulToXnorPopcount
    from qonnx.transformation.fold_constants import FoldConstants
    from qonnx.transformation.general import (
        GiveReadableTensorNames,
        GiveUniqueNodeNames,
        RemoveStaticGraphInputs,
        RemoveUnusedTensors,
    )
    from qonnx.transformation.infer_data_layouts import InferDataLayouts
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.transformation.infer_shapes import InferShapes
    from qonnx.transformation.insert_topk import InsertTopK
    from qonnx.transformation.lower_convs_to_matmul import LowerConvsToMatMul

    def tidy(model):
        for transform in (
            InferShapes(),
            FoldConstants(),
            GiveUniqueNodeNames(),
            GiveReadableTensorNames(),
            InferDataTypes(),
            RemoveStaticGraphInputs(),
        ):
            model = model.transform(transform)
        return model

    # step_qonnx_to_finn + step_tidy_up of finn.builder.build_dataflow_steps
    model = cleanup_model(ModelWrapper(str(source)))
    model = tidy(model.transform(ConvertQONNXtoFINN()))
    finn_path = HERE / f"{name}_finn.onnx"
    model.save(str(finn_path))
    reference = np.load(source.with_name(source.stem + ".expected.npz"))["argmax"]
    check_agreement(
        finn_path, write_expected(finn_path, inputs, labels), reference, exact
    )

    # FINN's end-to-end BNN flow adds TopK before streamlining; then step_streamline
    model = tidy(model.transform(InsertTopK(k=1)))
    model = model.transform(absorb.AbsorbScalarBiasIntoMultiThreshold())
    model = model.transform(Streamline())
    if model.get_nodes_by_op_type("Conv"):
        model = model.transform(LowerConvsToMatMul())
        model = model.transform(MakeMaxPoolNHWC())
        model = model.transform(absorb.AbsorbTransposeIntoMultiThreshold())
        model = model.transform(MakeMaxPoolNHWC())
        model = model.transform(absorb.AbsorbConsecutiveTransposes())
    model = model.transform(ConvertBipolarMatMulToXnorPopcount())
    model = model.transform(Streamline())
    model = model.transform(absorb.AbsorbScalarMulAddIntoTopK())
    model = model.transform(InferDataLayouts())
    model = model.transform(RemoveUnusedTensors())
    streamlined_path = HERE / f"{name}_streamlined.onnx"
    model.save(str(streamlined_path))
    argmax = write_expected(streamlined_path, inputs, labels)
    check_agreement(streamlined_path, argmax, reference, exact)


def check_agreement(path, argmax, reference, exact):
    agreement = np.mean(argmax == reference)
    print(
        f"{path.name}: argmax agreement with the QONNX source {agreement:.4f}",
        flush=True,
    )
    assert agreement == 1 or not exact, path


# ----------------------------------------------------------------------------------------------
# Fixtures

DIGITS_SHAPE = (1, 1, 8, 8)


def make_tfc():
    """TFC (FC 64-64-64, W1A1), input pixels/16 in [0, 1]; TorchScript and dynamo; FINN forms."""
    inputs, labels = digits_inputs(1.0 / PIXEL_MAX)
    torch.manual_seed(1)
    model = train(fc([64, 64, 64]), 1.0 / PIXEL_MAX, epochs=EPOCHS, seed=1)
    path = brevitas_fixture("tfc_w1a1", model, inputs, labels, DIGITS_SHAPE)
    brevitas_fixture(
        "tfc_w1a1_dynamo", model, inputs, labels, DIGITS_SHAPE, dynamo=True
    )
    finn_forms(path, "tfc_w1a1", inputs, labels)


def make_sfc():
    """SFC (FC 256-256-256, W1A1) behind x / 16 (raw pixels), dynamo exporter."""
    inputs, labels = digits_inputs(1.0)
    torch.manual_seed(2)
    model = train(Scaled(fc([256, 256, 256]), PIXEL_MAX), 1.0, epochs=EPOCHS, seed=2)
    brevitas_fixture(
        "sfc_w1a1_dynamo", model, inputs, labels, DIGITS_SHAPE, dynamo=True
    )


def make_cnv():
    """CNV class (8-bit Q1.7 input Quant, W1A1) at 8x8: convs 16, 16 + pool, FC 64-64-10."""
    inputs, labels = digits_inputs(1.0)
    torch.manual_seed(3)
    with cnv_topology([(16, False), (16, True)], [(64, 64)], 64) as cnv_class:
        inner = cnv_class(
            num_classes=10, weight_bit_width=1, act_bit_width=1, in_bit_width=8, in_ch=1
        )
    model = train(Scaled(inner, PIXEL_MAX), 1.0, epochs=EPOCHS, seed=3)
    path = brevitas_fixture("cnv_w1a1", model, inputs, labels, DIGITS_SHAPE)
    finn_forms(path, "cnv_w1a1", inputs, labels)


def make_conv_pad():
    """Zero-padded (padding=1) binary convs on bipolar input, raw pixels behind x / 16."""
    inputs, labels = digits_inputs(1.0)
    torch.manual_seed(4)
    model = train(Scaled(PaddedBinaryConvNet(), PIXEL_MAX), 1.0, epochs=EPOCHS, seed=4)
    brevitas_fixture("conv_pad_w1a1", model, inputs, labels, DIGITS_SHAPE)


def make_bn_negative():
    """FC 32-32 trained, then BatchNorm set by hand: gamma < 0, thresholds out of range, TensorNorm < 0."""
    inputs, labels = digits_inputs(1.0 / PIXEL_MAX)
    torch.manual_seed(5)
    model = train(fc([32, 32]), 1.0 / PIXEL_MAX, epochs=EPOCHS, seed=5)
    layers = [m for m in model.features if isinstance(m, QuantLinear)]
    norms = [m for m in model.features if isinstance(m, torch.nn.BatchNorm1d)]
    with torch.no_grad():
        for norm, following in zip(norms, layers[1:]):
            # channels 0..7: gamma and beta negated, the next layer's weights from them negated
            # (sign(-y) = -sign(y) except at y == 0): same function, negative gammas.
            norm.weight[:8] *= -1
            norm.bias[:8] *= -1
            following.weight[:, :8] *= -1
            # channel 8: always +1 (threshold below the dot product's range, gamma > 0)
            norm.bias[8] = 1000.0
            # channel 9: always -1 (gamma > 0, threshold above the range)
            norm.running_mean[9] = 1000.0
            # channel 10: gamma < 0 and a threshold below the range: always -1
            norm.weight[10] = -abs(norm.weight[10])
            norm.running_mean[10] = -1000.0
            # channel 11: gamma < 0, mean above the range: always +1
            norm.weight[11] = -abs(norm.weight[11])
            norm.running_mean[11] = 1000.0
        # the tail scales by a negative number; negated last weights keep the logits' meaning
        model.features[-1].weight *= -1
        model.features[-1].running_mean *= -1
        layers[-1].weight *= -1
    path = brevitas_fixture("bn_negative_w1a1", model, inputs, labels, DIGITS_SHAPE)
    finn_forms(path, "bn_negative_w1a1", inputs, labels)


def make_w1a2():
    """TFC-1w2a style: FC 64-64-64, 2-bit input and activation Quant, 1-bit weights."""
    inputs, labels = digits_inputs(1.0 / PIXEL_MAX)
    torch.manual_seed(6)
    model = train(
        fc([64, 64, 64], act_bits=2, in_bits=2), 1.0 / PIXEL_MAX, epochs=EPOCHS, seed=6
    )
    path = brevitas_fixture("tfc_w1a2", model, inputs, labels, DIGITS_SHAPE)
    finn_forms(path, "tfc_w1a2", inputs, labels, exact=False)


def make_scaled():
    """Per-output-channel weight scales and trained activation scales, logits without TensorNorm."""
    inputs, labels = digits_inputs(1.0 / PIXEL_MAX)
    torch.manual_seed(7)
    model = train(ScaledBinaryMLP(), 1.0 / PIXEL_MAX, epochs=EPOCHS, seed=7)
    brevitas_fixture("scaled_w1a1", model, inputs, labels, DIGITS_SHAPE)


def make_cnv32():
    """CNV at 32x32x3 with random weights, a quarter of CNV's channels, behind x / 255."""
    rng = np.random.default_rng(32)
    inputs = rng.integers(0, 256, size=(RANDOM_INPUTS, 3, 32, 32)).astype(np.float32)
    labels = np.full(RANDOM_INPUTS, -1, dtype=np.int64)
    torch.manual_seed(32)
    quarter = [
        (16, False),
        (16, True),
        (32, False),
        (32, True),
        (64, False),
        (64, False),
    ]
    with cnv_topology(quarter, [(64, 128), (128, 128)], 128) as cnv_class:
        inner = cnv_class(
            num_classes=10, weight_bit_width=1, act_bit_width=1, in_bit_width=8, in_ch=3
        )
    model = calibrate_batchnorm(Scaled(inner, 255), inputs)
    brevitas_fixture("cnv32_w1a1", model, inputs, labels, (1, 3, 32, 32))


FIXTURES = {
    "tfc": make_tfc,
    "sfc": make_sfc,
    "cnv": make_cnv,
    "conv_pad": make_conv_pad,
    "bn_negative": make_bn_negative,
    "w1a2": make_w1a2,
    "scaled": make_scaled,
    "cnv32": make_cnv32,
}


def main(names):
    for name in names or FIXTURES:
        FIXTURES[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
