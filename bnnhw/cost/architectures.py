"""Built-in paper architectures, described as layer lists (shapes and number formats).

Every count comes from the layer shapes below; no total is typed in. Sources:

- **ResNet-50** (PokeBNN Table 2 rows "FP32/BF16/INT4 ResNet-50", refs [17], [1]): the
  torchvision "v1.5" layout (stride on the 3x3 convolution of a bottleneck, 1x1 projection
  shortcut in the first block of each stage), 224x224 input, 7x7/2 stem, 3x3/2 max-pool,
  [3, 4, 6, 3] bottlenecks of widths 64..512 (x4 out), 2048 -> 1000 classifier. INT4 keeps the
  stem and classifier at int8 ([1]: "mostly 4-bit"; Table 2 lists 120.1 M INT8 MACs).
- **PokeBNN-Mx** (PokeBNN Sec. 4.2-4.4, pseudocode ``PokeBNN50``): PokeInit, 16 bottlenecks of
  three PokeConvs (1x1, 3x3 with the stride, 1x1 to 4 ch) with ``ch = int(base * M)``, bases
  64/128/256/512, strides at blocks 3, 7, 13; no 1x1 projection shortcuts (Sec. 4.3,
  ReshapeAdd instead); int8 classifier (Sec. 4.4). Two details the paper's text leaves to its
  figures are taken from its reference code (AQT ``pokebnn.py``, cited as footnote 2):
  PokeInit is a 4x4/4 int8 convolution to ``init_group = 32`` channels followed by a 3x3
  grouped (32 groups) int8 convolution to 64 channels, independent of M (Sec. 4.3: "6.6
  million int8 MACs"); and each PokeConv's SE (Fig. 3, int4, "hidden projection length 1/8 of
  the input") pools the PokeConv's *input* ``x`` (C_in channels) and projects
  C_in -> C_in // 8 -> C_out.
- **ReActNet-A** (PokeBNN Table 2 row, ref [34]): the MobileNet-V1-shaped ReActNet-A:
  3x3/2 fp32 stem to 32 channels, 13 blocks with channels
  32-64-128-128-256-256-512x6-1024-1024, each a binary 3x3 convolution (C_in -> C_in, stride 2
  where the width grows, except 32 -> 64) and a binary 1x1 (C_in -> C_out; when the width
  doubles, two C_in -> C_in 1x1 convolutions whose outputs are concatenated), fp32
  1024 -> 1000 classifier.
- **XNOR-Net / Bi-RealNet-18** (Table 2 rows, refs [42], [35]): ResNet-18 with binary 3x3
  convolutions, fp32 stem and classifier; the 1x1 downsampling shortcut is binary in
  XNOR-Net and fp32 in Bi-RealNet.
- **BoolNet / BaseNet stages** (BoolNet appendix Table 3): one 3x3 binary convolution block per
  stage (64x56x56, 128x28x28, 256x14x14, 512x7x7) with its input activation and its output plus
  the kept feature map; k-slice BoolNet feeds a ``groups = k`` convolution with ``k*C`` input
  bits. **BaseNet** (BoolNet Table 1): the paper says only "ResNet-like" with binary feature
  maps, no downsample branch and "MaxPool instead of stride"; we take the ResNet-18 layout with
  every stride-2 3x3 convolution computed at stride 1 followed by a 2x2 max-pool.
"""

from .analytic import NetBuilder

__all__ = ["BUILTINS", "builtin", "builtin_names", "POKEBNN_WIDTHS"]

IMAGENET = (3, 224, 224)
CLASSES = 1000
#: PokeBNN widths listed in Table 2.
POKEBNN_WIDTHS = ("0.5", "0.75", "1.0", "1.25", "1.4", "1.5", "1.75", "2.0")


def resnet50(fmt):
    """ResNet-50 with every MAC in ``fmt`` (``fp32``/``bf16``), or ``int4`` (int8 stem/fc)."""
    edge = "int8" if fmt == "int4" else fmt
    feature_bits = {"fp32": 32, "bf16": 16, "int4": 4}[fmt]
    b = NetBuilder(f"resnet50-{fmt}", IMAGENET, feature_bits=feature_bits,
                   description=f"ResNet-50 (v1.5 layout), {fmt.upper()}"
                               + (" body, int8 stem and classifier" if fmt == "int4" else ""))
    x = b.conv("conv1", IMAGENET, 64, 7, stride=2, padding=3, fmt=edge)
    x = b.pool("maxpool", x, 3, stride=2, padding=1)
    for stage, (blocks, width, stride) in enumerate(((3, 64, 1), (4, 128, 2), (6, 256, 2),
                                                     (3, 512, 2)), start=1):
        for i in range(blocks):
            s = stride if i == 0 else 1
            name = f"s{stage}b{i}"
            y = b.conv(f"{name}.conv1", x, width, 1, fmt=fmt)
            y = b.conv(f"{name}.conv2", y, width, 3, stride=s, fmt=fmt)
            y = b.conv(f"{name}.conv3", y, 4 * width, 1, fmt=fmt)
            if i == 0:
                b.conv(f"{name}.proj", x, 4 * width, 1, stride=s, fmt=fmt)
            x = b.feature(f"{name}.add", y)
    x = b.pool("avgpool", x, None, kind="global_pool")
    b.dense("fc", x[0], CLASSES, fmt=edge)
    return b.report()


_POKE_BLOCKS = [(1, 64)] * 3 + [(2, 128)] + [(1, 128)] * 3 + [(2, 256)] + [(1, 256)] * 5 \
    + [(2, 512)] + [(1, 512)] * 2


def pokebnn(width, *, fmt=None):
    """PokeBNN-``width``x; ``fmt="bf16"`` makes every convolution and dense layer bf16."""
    m = float(width)
    binary, se, edge = ("binary", "int4", "int8") if fmt is None else (fmt, fmt, fmt)
    name = f"pokebnn-{width}x" + (f"-{fmt}" if fmt else "")
    b = NetBuilder(name, IMAGENET, feature_bits=16,
                   description=f"PokeBNN-{width}x" + (f", all convolutions and dense layers "
                                                     f"{fmt}" if fmt else
                                                     ": binary PokeConvs, int4 SE, int8 "
                                                     "PokeInit and classifier"))
    x = b.conv("init.conv", IMAGENET, 32, 4, stride=4, padding=0, fmt=edge)
    x = b.conv("init.group", x, 64, 3, groups=32, fmt=edge)

    def poke_conv(name, x, features, kernel, stride):
        y = b.conv(f"{name}.conv", x, features, kernel, stride=stride, fmt=binary)
        hidden = b.dense(f"{name}.se1", x[0], x[0] // 8, fmt=se, note="SE on the input")
        b.dense(f"{name}.se2", hidden[0], features, fmt=se)
        return b.feature(f"{name}.out", y, note="BN, ReshapeAdd, DPReLU, SE scale, BN")

    for i, (stride, base) in enumerate(_POKE_BLOCKS):
        features = int(base * m)
        x = poke_conv(f"b{i}.1", x, features, 1, 1)
        x = poke_conv(f"b{i}.2", x, features, 3, stride)
        x = poke_conv(f"b{i}.3", x, 4 * features, 1, 1)
    x = b.pool("mean", x, None, kind="global_pool")
    b.dense("fc", x[0], CLASSES, fmt=edge)
    return b.report()


_REACTNET_CHANNELS = [32, 64, 128, 128, 256, 256] + [512] * 6 + [1024, 1024]


def reactnet_a():
    """ReActNet-A: binary MobileNet-V1-shaped blocks, fp32 stem and classifier."""
    b = NetBuilder("reactnet-a", IMAGENET, feature_bits=32,
                   description="ReActNet-A: binary 3x3 + 1x1 blocks (MobileNet-V1 widths), "
                               "fp32 stem and classifier")
    x = b.conv("conv1", IMAGENET, _REACTNET_CHANNELS[0], 3, stride=2, fmt="fp32")
    for i in range(1, len(_REACTNET_CHANNELS)):
        cin, cout = _REACTNET_CHANNELS[i - 1], _REACTNET_CHANNELS[i]
        stride = 2 if cin != cout and cout != 64 else 1
        y = b.conv(f"block{i}.conv3x3", x, cin, 3, stride=stride, fmt="binary")
        y = b.feature(f"block{i}.add1", y, note="BN, shortcut (avg-pool if strided), RPReLU")
        if cin == cout:
            x = b.conv(f"block{i}.pw", y, cout, 1, fmt="binary")
        else:
            b.conv(f"block{i}.pw_down1", y, cin, 1, fmt="binary")
            b.conv(f"block{i}.pw_down2", y, cin, 1, fmt="binary")
            x = b.feature(f"block{i}.concat", (cout,) + y[1:], op="concat",
                          stores_output=False)
    x = b.pool("avgpool", x, None, kind="global_pool")
    b.dense("fc", x[0], CLASSES, fmt="fp32")
    return b.report()


def resnet18_binary(name, *, shortcut, description, pool_downsample=False, feature_bits=32):
    """Binary ResNet-18: fp32 7x7 stem and classifier, binary 3x3 convolutions.

    ``shortcut``: format of the 1x1 stride-2 downsampling shortcut, or None for none.
    ``pool_downsample``: strided 3x3 convolutions run at stride 1 and a 2x2 max-pool follows.
    """
    b = NetBuilder(name, IMAGENET, feature_bits=feature_bits, description=description)
    x = b.conv("conv1", IMAGENET, 64, 7, stride=2, padding=3, fmt="fp32", out_bits=32)
    x = b.pool("maxpool", x, 3, stride=2, padding=1)
    for stage, (width, stride) in enumerate(((64, 1), (128, 2), (256, 2), (512, 2)), start=1):
        for i in range(2):
            s = stride if i == 0 else 1
            prefix = f"s{stage}b{i}"
            if s == 2 and pool_downsample:
                y = b.conv(f"{prefix}.conv1", x, width, 3, fmt="binary")
                y = b.pool(f"{prefix}.pool", y, 2)
            else:
                y = b.conv(f"{prefix}.conv1", x, width, 3, stride=s, fmt="binary")
            y = b.conv(f"{prefix}.conv2", y, width, 3, fmt="binary")
            if s == 2 and shortcut is not None:
                b.conv(f"{prefix}.downsample", x, width, 1, stride=2, fmt=shortcut)
            x = y
    x = b.pool("avgpool", x, None, kind="global_pool")
    b.dense("fc", x[0], CLASSES, fmt="fp32")
    return b.report()


#: BoolNet appendix Table 3: (stage, channels, spatial size) of the example convolution block.
BOOLNET_STAGES = ((1, 64, 56), (2, 128, 28), (3, 256, 14), (4, 512, 7))


def boolnet_stages(k=None):
    """BoolNet Table 3: one 3x3 binary conv block per stage; ``k=None`` is the regular BNN.

    Per stage: the convolution reads ``C*H*W*k`` activation bits (1 for the regular BNN), writes
    ``C*H*W*k`` output bits (32-bit for the regular BNN) and keeps a feature map of the same
    size for the shortcut ("Output & Features" = 2 x output).
    """
    regular = k is None
    slices = 1 if regular else k
    out_bits = 32 if regular else k
    name = "regular-bnn-stages" if regular else f"boolnet-stages-k{k}"
    b = NetBuilder(name, (64, 56, 56), feature_bits=out_bits, input_bits_per_value=0,
                   description="BoolNet Table 3 convolution blocks, "
                               + ("regular BNN (1-bit activations, 32-bit outputs and features)"
                                  if regular else f"BoolNet k={k} (k-slice 1-bit feature maps)"))
    for stage, channels, size in BOOLNET_STAGES:
        x = (channels * slices, size, size)
        y = b.conv(f"stage{stage}.conv", x, channels, 3, groups=slices, fmt="binary",
                   out_bits=out_bits, note=f"3x3/1, {slices}-slice input")
        b.feature(f"stage{stage}.features", y, op="features", out_bits=out_bits,
                  note="feature map kept for the shortcut")
    b.note("input_bits is 0: each stage's input activation is its conv row's in_fmap_bits")
    return b.report()


def _pokebnn_entry(width):
    return lambda: pokebnn(width)


BUILTINS = {
    "resnet50-fp32": lambda: resnet50("fp32"),
    "resnet50-bf16": lambda: resnet50("bf16"),
    "resnet50-int4": lambda: resnet50("int4"),
    **{f"pokebnn-{w}x": _pokebnn_entry(w) for w in POKEBNN_WIDTHS},
    "pokebnn-1.0x-bf16": lambda: pokebnn("1.0", fmt="bf16"),
    "reactnet-a": reactnet_a,
    "xnornet-resnet18": lambda: resnet18_binary(
        "xnornet-resnet18", shortcut="binary",
        description="XNOR-Net ResNet-18: binary 3x3 and 1x1 shortcut, fp32 stem/classifier"),
    "birealnet-18": lambda: resnet18_binary(
        "birealnet-18", shortcut="fp32",
        description="Bi-RealNet-18: binary 3x3, fp32 1x1 shortcut, stem and classifier"),
    "basenet-resnet18": lambda: resnet18_binary(
        "basenet-resnet18", shortcut=None, pool_downsample=True, feature_bits=1,
        description="BaseNet (BoolNet Table 1), inferred ResNet-18 layout: binary 3x3, "
                    "max-pool instead of stride, no downsample branch"),
    "boolnet-stages-k1": lambda: boolnet_stages(1),
    "boolnet-stages-k4": lambda: boolnet_stages(4),
    "regular-bnn-stages": lambda: boolnet_stages(None),
}


def builtin_names():
    return list(BUILTINS)


def _canonical(name):
    """Accept ``pokebnn-1x`` / ``PokeBNN-2x`` for ``pokebnn-1.0x`` / ``pokebnn-2.0x``."""
    lowered = name.strip().lower()
    if lowered in BUILTINS:
        return lowered
    if lowered.startswith("pokebnn-") and lowered.endswith("x"):
        try:
            width = float(lowered[len("pokebnn-"):-1])
        except ValueError:
            return None
        for w in POKEBNN_WIDTHS:
            if float(w) == width:
                return f"pokebnn-{w}x"
    return None


def builtin(name):
    """The :class:`~bnnhw.cost.report.CostReport` of built-in ``name``, or None if unknown."""
    canonical = _canonical(name)
    return None if canonical is None else BUILTINS[canonical]()
