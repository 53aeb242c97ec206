"""The four bundled designs as trainable graphs of :mod:`bnnhw.train.layers` modules.

A :class:`GraphNet` is a list of named nodes, each one module applied to earlier nodes' outputs;
the same list drives the torch forward pass and the export (:mod:`bnnhw.train.export`), so the
exported graph is the trained graph. Builders take the keyword arguments stored under
``"architecture"`` in ``designs/NAME/design.json``. Every feature map is 8x8 or 4x4.
"""

import torch
from torch import nn

from .layers import (INT8_UNIT, BinaryConv2d, Concat, DPReLU, GlobalPool, Int8Conv2d, Int8Dense,
                     MaxPool, PABases, PAConv2d, SaturatingAdd, Shuffle, Sign, Slice)

__all__ = ["GraphNet", "BUILDERS", "build", "boolnet", "xnornet", "panet", "pokebnn"]

CLASSES = 10


class GraphNet(nn.Module):
    """A DAG of named modules; ``"input"`` is the image batch (int8 pixels, NCHW).

    Training mode runs in float32 with straight-through estimators; eval mode runs in float64
    and returns the integer logits of the exported model (see :mod:`bnnhw.train.layers`).
    """

    def __init__(self, name):
        super().__init__()
        self.name = name
        self.nodes = nn.ModuleDict()
        self.sources = {}
        self.output = None

    def add(self, name, module, *inputs):
        """Append node ``name`` = ``module(*inputs)`` (default input: the previous node)."""
        if name in self.nodes or name == "input":
            raise ValueError(f"name: duplicate node {name!r}")
        self.sources[name] = list(inputs) or [self.output or "input"]
        self.nodes[name] = module
        self.output = name
        return name

    def forward(self, images):
        dtype = torch.float32 if self.training else torch.float64
        values = {"input": images.to(dtype) * INT8_UNIT}
        for name, module in self.nodes.items():
            values[name] = module(*(values[source] for source in self.sources[name]))
        return values[self.output]


def _head(net, channels, positions, sign_name="head_sign", biases=None):
    net.add(sign_name, Sign(biases))
    net.add("pool", GlobalPool(positions))
    features = channels * (len(biases) if biases else 1)
    net.add("fc", Int8Dense(features, CLASSES, input_unit=1.0 / positions))


def boolnet(width=8, wide=32, slices=4, biases=(-0.75, -0.25, 0.25, 0.75)):
    """BoolNet-style: binary feature maps only, BN fused into multi-slice signs everywhere.

    int8 3x3 stem -> BN -> k-slice sign; grouped (groups = k) binary 3x3 conv; a ShuffleNet-V2
    block (split, one half through conv + BN + sign, concat, shuffle); BoolNet's binary downsample
    (3x3 conv -> BN -> sign -> 2x2 max-pool || 1x1 conv -> BN -> sign -> 2x2 max-pool, concat);
    two grouped 3x3 convs with ``wide`` channels at 4x4; k-slice sign -> global popcount pool ->
    int8 dense. ``width`` channels (``width * k`` bits) at 8x8.
    """
    if len(biases) != slices:
        raise ValueError(f"biases: {slices} slices need {slices} biases, got {len(biases)}")
    bits = width * slices
    half = bits // 2
    net = GraphNet("boolnet")
    net.add("stem", Int8Conv2d(1, width, 3, padding=1, post="batchnorm"))
    net.add("stem_sign", Sign(biases))
    net.add("conv1", BinaryConv2d(bits, width, 3, padding=1, groups=slices))
    net.add("sign1", Sign(biases))
    net.add("left", Slice(0, half), "sign1")
    net.add("right", Slice(half, bits), "sign1")
    net.add("conv2", BinaryConv2d(half, width // 2, 3, padding=1, groups=slices // 2), "right")
    net.add("sign2", Sign(biases))
    net.add("merge", Concat(), "left", "sign2")
    net.add("shuffle", Shuffle(2))
    net.add("down_conv", BinaryConv2d(bits, width, 3, padding=1, groups=slices), "shuffle")
    net.add("down_sign", Sign(biases))
    net.add("down_pool", MaxPool(2))
    net.add("skip_conv", BinaryConv2d(bits, width, 1, groups=slices), "shuffle")
    net.add("skip_sign", Sign(biases))
    net.add("skip_pool", MaxPool(2))
    net.add("down", Concat(), "down_pool", "skip_pool")
    net.add("conv5", BinaryConv2d(2 * bits, wide, 3, padding=1, groups=slices))
    net.add("sign5", Sign(biases))
    net.add("conv6", BinaryConv2d(wide * slices, wide, 3, padding=1, groups=slices))
    _head(net, wide, 16, biases=biases)
    return net


def xnornet(width=16, blocks=(2, 2), window=1.0):
    """XNOR-Net / Bi-Real-style baseline with an 8-bit data flow (8-bit flow paper, Fig. 3b).

    int8 3x3 stem -> requantize; blocks ``sign(x) -> binary 3x3 conv (clip 127, pad +1) ->
    quantized_bn -> saturating add with x``; a stride-2 block without shortcut doubles the
    channels (8x8 -> 4x4); head ``sign -> global popcount pool -> int8 dense``.
    """
    net = GraphNet("xnornet")
    x = net.add("stem", Int8Conv2d(1, width, 3, padding=1, post="requantize"))
    channels = width
    for stage, count in enumerate(blocks):
        if stage:
            net.add(f"down{stage}_sign", Sign(window=window), x)
            x = net.add(f"down{stage}", BinaryConv2d(channels, 2 * channels, 3, stride=2,
                                                     padding=1, clip=127, post="quantized_bn"))
            channels *= 2
        for index in range(count):
            block = f"s{stage}b{index}"
            net.add(f"{block}_sign", Sign(window=window), x)
            net.add(f"{block}_conv", BinaryConv2d(channels, channels, 3, padding=1, clip=127,
                                                  post="quantized_bn"))
            x = net.add(f"{block}_add", SaturatingAdd(), f"{block}_conv", x)
    positions = 64 // 4 ** (len(blocks) - 1)
    _head(net, channels, positions)
    return net


def pokebnn(width=32, blocks=2, window=3.0):
    """PokeBNN-style: PokeInit scaled to 8x8, PokeConv blocks with 8-bit residuals, DPReLU.

    PokeInit: int8 2x2 stride-2 conv (instead of 4x4 stride 4: 8x8 -> 4x4) -> requantize ->
    DPReLU -> int8 3x3 depthwise conv -> requantize. PokeConv: ``sign(x) -> binary 3x3 conv
    (clip 127) -> quantized_bn -> saturating add with x -> DPReLU``; the sign's STE window is
    PokeBNN's clipping bound ``B`` (3). Head: ``sign -> global popcount pool -> int8 dense``.
    """
    net = GraphNet("pokebnn")
    net.add("init", Int8Conv2d(1, width, 2, stride=2, post="requantize"))
    net.add("init_act", DPReLU(width))
    x = net.add("init_dw", Int8Conv2d(width, width, 3, padding=1, groups=width,
                                      post="requantize"))
    for index in range(blocks):
        block = f"poke{index}"
        net.add(f"{block}_sign", Sign(window=window), x)
        net.add(f"{block}_conv", BinaryConv2d(width, width, 3, padding=1, clip=127,
                                              post="quantized_bn"))
        net.add(f"{block}_add", SaturatingAdd(), f"{block}_conv", x)
        x = net.add(f"{block}_act", DPReLU(width))
    _head(net, width, 16)
    return net


def panet(width=16, weight_endpoints=(-0.6, 0.6), activation_endpoints=(0.0, 1.0),
          activation_levels=(0.5, 1.5)):
    """PA-Net-style: piecewise multi-base layers (M weight x N activation bases, AND-popcount).

    int8 3x3 stem -> BN (gamma > 0) -> N activation bases; PA conv (M weight bases, phi =
    alpha_i*beta_j) -> BN (gamma > 0) -> bases, twice at 8x8 then stride 2; a last PA conv at 4x4
    -> BN -> sign -> global popcount pool -> int8 dense.
    """
    net = GraphNet("panet")

    def pa_conv(in_channels, out_channels, stride=1, positive_bn=True):
        return PAConv2d(in_channels, out_channels, 3, stride=stride, padding=1,
                        weight_endpoints=weight_endpoints, activation_levels=activation_levels,
                        positive_bn=positive_bn)

    net.add("stem", Int8Conv2d(1, width, 3, padding=1, post="batchnorm", positive_bn=True))
    net.add("bases0", PABases(activation_endpoints))
    net.add("pa1", pa_conv(width, width))
    net.add("bases1", PABases(activation_endpoints))
    net.add("pa2", pa_conv(width, 2 * width, stride=2))
    net.add("bases2", PABases(activation_endpoints))
    net.add("pa3", pa_conv(2 * width, 2 * width, positive_bn=False))
    _head(net, 2 * width, 16)
    return net


#: design name -> builder.
BUILDERS = {"boolnet": boolnet, "xnornet": xnornet, "panet": panet, "pokebnn": pokebnn}


def build(name, **kwargs):
    """A fresh (seed-dependent) network for design ``name``."""
    if name not in BUILDERS:
        raise ValueError(f"design: unknown architecture {name!r} (known: {sorted(BUILDERS)})")
    return BUILDERS[name](**kwargs)
