"""Straight-through-estimator layers whose eval-mode forward is the inference semantics.

Every module here trains in float32 with straight-through estimators (STE) and, in eval mode,
computes in float64 **from the parameters it exports** exactly what docs/numerics.md and
:func:`bnnhw.model.reference.run_float` compute on the exported model file, so export is faithful
by construction (tests compare the logits bit for bit with the compiled golden network).

Tensors between modules are real-valued:

- bits are ±1 (XNOR domain; bit 1 = +1), or {0, 1} piece indicators after :class:`PABases`;
- int8 data (the digits input and every int8 stream) are ``value * INT8_UNIT`` with
  ``INT8_UNIT = 2**-4``, so ``[-127, 127]`` spans about ``[-7.9, 7.9]``;
- batch-norm outputs are reals, consumed only by :class:`Sign` or :class:`PABases`.

int8 weights use one power-of-two scale per tensor, so every unit conversion is exact in float64
and a batch norm on an int8 accumulator exports its statistics in accumulator units without any
change of the float rule. Real scales the compiler turns into fixed point (requantize scales,
DPReLU slopes, PA-Net phi) are exported already rounded the way the compiler rounds them
(:func:`bnnhw.compiler.requant_params`, :func:`bnnhw.compiler.fixed_point`), so the compiled
integer network equals the float model file exactly.

Each module's ``export(name, inputs)`` returns ``(layers, arrays, output_name)``: model-format
layer dicts, ``"<layer>.<field>"`` arrays, and the name of the layer downstream nodes consume.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..compiler.quantize import fixed_point, requant_params

__all__ = [
    "INT8_UNIT", "INT8_MAX", "round_half_up_ste", "sign_ste", "BatchNorm", "Int8Conv2d",
    "BinaryConv2d", "Sign", "PABases", "PAConv2d", "MaxPool", "GlobalPool", "Int8Dense",
    "DPReLU", "SaturatingAdd", "Slice", "Concat", "Shuffle",
]

#: Real value of one step of int8 data (inputs and int8 streams).
INT8_UNIT = 2.0 ** -4
#: Symmetric int8 bound (docs/numerics.md §8).
INT8_MAX = 127


# ----------------------------------------------------------------------------- estimators

def round_half_up_ste(x):
    """``floor(x + 0.5)`` forward (numerics' rounding), identity gradient."""
    return x + (torch.floor(x + 0.5) - x).detach()


def sign_ste(x, window=1.0):
    """±1 with ``sign(0) = +1`` forward; hardtanh gradient ``1/window`` on ``|x| <= window``."""
    hard = torch.where(x >= 0, 1.0, -1.0).to(x.dtype)
    soft = torch.clamp(x / window, -1.0, 1.0)
    return soft + (hard - soft).detach()


def _binary_weight(weight):
    """±1 weights (``w >= 0 -> +1``) with an identity STE."""
    hard = torch.where(weight >= 0, 1.0, -1.0).to(weight.dtype)
    return weight + (hard - weight).detach()


def _pow2_scale(max_abs):
    """Smallest power of two ``s`` with ``max_abs / s <= 127`` (1.0 for an all-zero tensor)."""
    if max_abs <= 0:
        return 1.0
    return 2.0 ** math.ceil(math.log2(max_abs / INT8_MAX))


def _int8_weight(weight):
    """``(fake-quantized weight, integer weight, scale)`` with a power-of-two per-tensor scale."""
    scale = _pow2_scale(float(weight.detach().abs().max()))
    integer = torch.clamp(torch.floor(weight.detach() / scale + 0.5), -INT8_MAX, INT8_MAX)
    return weight + (integer * scale - weight).detach(), integer, scale


def _np(tensor):
    return tensor.detach().cpu().double().numpy()


def _t(array, like):
    return torch.as_tensor(np.asarray(array, np.float64), dtype=torch.float64,
                           device=like.device)


def _per_channel(vector, ndim):
    return vector.reshape((1, -1) + (1,) * (ndim - 2))


def _conv_attrs(kernel, stride, padding, groups):
    attrs = {"kernel": kernel}
    if stride != 1:
        attrs["stride"] = stride
    if padding:
        attrs["padding"] = padding
    if groups != 1:
        attrs["groups"] = groups
    return attrs


def _conv_weight(out_channels, in_channels, kernel, groups, bound=None):
    fan_in = in_channels // groups * kernel * kernel
    bound = 1.0 / math.sqrt(fan_in) if bound is None else bound
    weight = torch.empty(out_channels, in_channels // groups, kernel, kernel)
    return nn.Parameter(weight.uniform_(-bound, bound))


# ----------------------------------------------------------------------------- batch norm

class BatchNorm(nn.Module):
    """Batch norm whose inference form is exported as float gamma/beta/mean/var/eps.

    Parameters
    ----------
    channels : int
    positive : bool
        Parametrize ``gamma = softplus(raw)`` so the scale stays > 0 (PA-Net bases need a
        rising input).
    """

    def __init__(self, channels, *, positive=False, eps=1e-5, momentum=0.1):
        super().__init__()
        self.positive = positive
        self.eps = eps
        self.momentum = momentum
        initial = math.log(math.e - 1.0) if positive else 1.0  # gamma starts at 1
        self.gamma_raw = nn.Parameter(torch.full((channels,), initial))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def gamma(self):
        return F.softplus(self.gamma_raw) if self.positive else self.gamma_raw

    def forward(self, x):
        """Training-mode batch norm (batch statistics, running averages updated)."""
        return F.batch_norm(x, self.running_mean, self.running_var, self.gamma(), self.beta,
                            training=self.training, momentum=self.momentum, eps=self.eps)

    def export_params(self, unit=1.0):
        """Float64 parameters for an input measured in units of ``unit`` (a power of two)."""
        return {"gamma": _np(self.gamma()), "beta": _np(self.beta),
                "mean": _np(self.running_mean) / unit, "var": _np(self.running_var) / unit ** 2,
                "eps": self.eps / unit ** 2}

    @staticmethod
    def apply_exported(params, values):
        """The contract's ``a*v + b`` (numerics §5) on float64 ``values``, bit for bit."""
        gamma, beta, mean, var = (_t(params[k], values) for k in ("gamma", "beta", "mean", "var"))
        a = gamma / torch.sqrt(var + params["eps"])
        b = beta - a * mean
        return _per_channel(a, values.ndim) * values + _per_channel(b, values.ndim)

    @staticmethod
    def export_layer(name, source, params):
        layer = {"name": name, "op": "batchnorm", "inputs": [source], "eps": params["eps"]}
        arrays = {f"{name}.{k}": params[k] for k in ("gamma", "beta", "mean", "var")}
        return layer, arrays


# ----------------------------------------------------------------------------- int8 layers

class Int8Conv2d(nn.Module):
    """int8 convolution (zero border) on int8 data, then ``requantize`` or ``batchnorm``.

    ``post="requantize"``: int32 bias and a positive per-channel gain, output int8 data
    ``clip(floor(acc*scale + 0.5))`` with ``scale`` exported dyadic. ``post="batchnorm"``: no bias,
    output reals for a :class:`Sign` or :class:`PABases` (``positive_bn`` for the latter).
    """

    def __init__(self, in_channels, out_channels, kernel, *, stride=1, padding=0, groups=1,
                 post="requantize", positive_bn=False):
        super().__init__()
        if post not in ("requantize", "batchnorm"):
            raise ValueError(f"post: expected 'requantize' or 'batchnorm', got {post!r}")
        self.out_channels, self.kernel = out_channels, kernel
        self.stride, self.padding, self.groups, self.post = stride, padding, groups, post
        self.weight = _conv_weight(out_channels, in_channels, kernel, groups)
        if post == "requantize":
            self.bias = nn.Parameter(torch.zeros(out_channels))
            self.log_gain = nn.Parameter(torch.zeros(out_channels))
        else:
            self.bn = BatchNorm(out_channels, positive=positive_bn)

    def _conv(self, x, weight):
        return F.conv2d(x, weight, stride=self.stride, padding=self.padding, groups=self.groups)

    def export_params(self):
        _, integer, scale = _int8_weight(self.weight)
        params = {"weight": _np(integer).astype(np.int8), "weight_scale": scale}
        if self.post == "requantize":
            unit = scale * INT8_UNIT
            params["bias"] = np.floor(_np(self.bias) / unit + 0.5).astype(np.int32)
            multiplier, shift, _ = requant_params(scale * np.exp(_np(self.log_gain)))
            params["scale"] = multiplier / 2.0 ** shift
        else:
            params["bn"] = self.bn.export_params(scale * INT8_UNIT)
        return params

    def forward(self, x):
        if not self.training:
            return self._forward_exported(x)
        weight, _, scale = _int8_weight(self.weight)
        acc = self._conv(x, weight)
        if self.post == "batchnorm":
            return self.bn(acc)
        unit = scale * INT8_UNIT
        bias = round_half_up_ste(self.bias / unit) * unit
        y = (acc + _per_channel(bias, 4)) * _per_channel(torch.exp(self.log_gain), 4)
        return torch.clamp(round_half_up_ste(y / INT8_UNIT), -INT8_MAX, INT8_MAX) * INT8_UNIT

    def _forward_exported(self, x):
        p = self.export_params()
        x = x.double() / INT8_UNIT
        acc = self._conv(x, _t(p["weight"], x))
        if self.post == "batchnorm":
            return BatchNorm.apply_exported(p["bn"], acc)
        acc = acc + _per_channel(_t(p["bias"], x), 4)
        y = torch.floor(acc * _per_channel(_t(p["scale"], x), 4) + 0.5)
        return torch.clamp(y, -INT8_MAX, INT8_MAX) * INT8_UNIT

    def export(self, name, inputs):
        p = self.export_params()
        conv = {"name": name, "op": "conv2d", "inputs": inputs, "precision": "int8",
                "out_channels": self.out_channels,
                **_conv_attrs(self.kernel, self.stride, self.padding, self.groups)}
        arrays = {f"{name}.weight": p["weight"]}
        if self.post == "batchnorm":
            bn, bn_arrays = BatchNorm.export_layer(f"{name}_bn", name, p["bn"])
            return [conv, bn], {**arrays, **bn_arrays}, bn["name"]
        arrays[f"{name}.bias"] = p["bias"]
        requant = {"name": f"{name}_q", "op": "requantize", "inputs": [name]}
        arrays[f"{name}_q.scale"] = p["scale"]
        return [conv, requant], arrays, requant["name"]


class Int8Dense(nn.Module):
    """int8 dense classifier on global-pool counts (``count * input_unit`` in torch).

    Eval mode returns the integer logits the golden network computes. Training multiplies the
    logits by ``logit_scale`` (a positive constant, so the argmax and the export are unchanged)
    to give the cross-entropy loss confident logits from small weights.
    """

    def __init__(self, in_features, out_features, *, input_unit, logit_scale=8.0):
        super().__init__()
        self.out_features = out_features
        self.input_unit = input_unit
        self.logit_scale = logit_scale
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.zeros(out_features))

    def export_params(self):
        _, integer, scale = _int8_weight(self.weight)
        unit = scale * self.input_unit
        return {"weight": _np(integer).astype(np.int8),
                "bias": np.floor(_np(self.bias) / unit + 0.5).astype(np.int32)}

    def forward(self, x):
        x = x.reshape(len(x), -1)
        if not self.training:
            p = self.export_params()
            counts = torch.round(x.double() / self.input_unit)
            return counts @ _t(p["weight"], counts).T + _t(p["bias"], counts)
        weight, _, scale = _int8_weight(self.weight)
        unit = scale * self.input_unit
        logits = x @ weight.T + round_half_up_ste(self.bias / unit) * unit
        return logits * self.logit_scale

    def export(self, name, inputs):
        p = self.export_params()
        layer = {"name": name, "op": "dense", "inputs": inputs, "precision": "int8",
                 "out_features": self.out_features}
        return [layer], {f"{name}.weight": p["weight"], f"{name}.bias": p["bias"]}, name


# ----------------------------------------------------------------------------- binary layers

class BinaryConv2d(nn.Module):
    """XNOR-popcount convolution on ±1 bits, then ``batchnorm`` (reals) or ``quantized_bn``.

    Parameters
    ----------
    pad_value : +1 or -1
        Border value of the binary input (numerics §4), applied with ``F.pad``.
    clip : int or None
        The 8-bit flow's saturating accumulator: the dot value is clipped to ``[-clip, clip]``.
    post : ``"batchnorm"`` or ``"quantized_bn"``
        ``quantized_bn`` (needs ``clip <= 127``) outputs int8 data with int16 scale / bias and
        ``F`` fraction bits, chosen per layer as the most that fit (8-bit flow, Algorithm 2).
    """

    def __init__(self, in_channels, out_channels, kernel, *, stride=1, padding=0, groups=1,
                 pad_value=1, clip=None, post="batchnorm"):
        super().__init__()
        if post not in ("batchnorm", "quantized_bn"):
            raise ValueError(f"post: expected 'batchnorm' or 'quantized_bn', got {post!r}")
        if post == "quantized_bn" and (clip is None or clip > INT8_MAX):
            raise ValueError("clip: quantized_bn needs a saturating accumulator with clip <= 127")
        self.out_channels, self.kernel = out_channels, kernel
        self.stride, self.padding, self.groups = stride, padding, groups
        self.pad_value, self.clip, self.post = pad_value, clip, post
        self.weight = _conv_weight(out_channels, in_channels, kernel, groups, bound=1.0)
        self.bn = BatchNorm(out_channels)
        self.latent_clip = True  # keep latent weights in [-1, 1] after each step

    def _dot(self, x, weight):
        if self.padding:
            p = self.padding
            x = F.pad(x, (p, p, p, p), value=float(self.pad_value))
        s = F.conv2d(x, weight, stride=self.stride, groups=self.groups)
        return torch.clamp(s, -self.clip, self.clip) if self.clip is not None else s

    def export_params(self):
        weight = np.where(_np(self.weight) >= 0, 1, -1).astype(np.int8)
        params = {"weight": weight, "bn": self.bn.export_params()}
        if self.post == "quantized_bn":
            bn = params["bn"]
            a = bn["gamma"] / np.sqrt(bn["var"] + bn["eps"])
            b = bn["beta"] - a * bn["mean"]
            raw, frac_bits, _ = fixed_point(np.concatenate([a, b]) / INT8_UNIT, bits=16)
            params["scale"] = raw[:len(a)].astype(np.int16)
            params["bias"] = raw[len(a):].astype(np.int16)
            params["frac_bits"] = frac_bits
        return params

    def forward(self, x):
        if not self.training:
            return self._forward_exported(x)
        s = self._dot(x, _binary_weight(self.weight))
        y = self.bn(s)
        if self.post == "batchnorm":
            return y
        return torch.clamp(round_half_up_ste(y / INT8_UNIT), -INT8_MAX, INT8_MAX) * INT8_UNIT

    def _forward_exported(self, x):
        p = self.export_params()
        x = x.double()
        s = self._dot(x, _t(p["weight"], x))
        if self.post == "batchnorm":
            return BatchNorm.apply_exported(p["bn"], s)
        frac = p["frac_bits"]
        y = s * _per_channel(_t(p["scale"], s), 4) + _per_channel(_t(p["bias"], s), 4)
        if frac:
            y = torch.floor((y + 2.0 ** (frac - 1)) / 2.0 ** frac)
        return torch.clamp(y, -INT8_MAX, INT8_MAX) * INT8_UNIT

    def export(self, name, inputs):
        p = self.export_params()
        conv = {"name": name, "op": "conv2d", "inputs": inputs, "precision": "binary",
                "out_channels": self.out_channels,
                **_conv_attrs(self.kernel, self.stride, self.padding, self.groups)}
        if self.padding:
            conv["pad_value"] = self.pad_value
        if self.clip is not None:
            conv["clip"] = self.clip
        arrays = {f"{name}.weight": p["weight"]}
        if self.post == "batchnorm":
            bn, bn_arrays = BatchNorm.export_layer(f"{name}_bn", name, p["bn"])
            return [conv, bn], {**arrays, **bn_arrays}, bn["name"]
        qbn = {"name": f"{name}_qbn", "op": "quantized_bn", "inputs": [name],
               "frac_bits": p["frac_bits"]}
        arrays.update({f"{name}_qbn.scale": p["scale"], f"{name}_qbn.bias": p["bias"]})
        return [conv, qbn], arrays, qbn["name"]


class Sign(nn.Module):
    """sign (bit 1 iff ``x >= 0``) of reals or int8 data; with ``biases``, BoolNet's k-slice sign.

    Output is ±1, slice-major (channel ``n*C + c`` is slice ``n`` of channel ``c``). ``window``
    is the STE's clipping bound (PokeBNN's ``B``) in the input's real units.
    """

    def __init__(self, biases=None, *, window=1.0):
        super().__init__()
        self.biases = None if biases is None else [float(b) for b in biases]
        self.window = window

    def forward(self, x):
        biases = self.biases or [0.0]
        if not self.training:
            x = x.double()
            return torch.cat([torch.where(x + b >= 0, 1.0, -1.0).double() for b in biases], 1)
        return torch.cat([sign_ste(x + b, self.window) for b in biases], 1)

    def export(self, name, inputs):
        layer = {"name": name, "op": "sign", "inputs": inputs}
        if self.biases is not None:
            layer.update({"biases": self.biases, "k": len(self.biases)})
        return [layer], {}, name


class MaxPool(nn.Module):
    """2-D max-pool of ±1 bits, i.e. the OR of the window (numerics §10)."""

    def __init__(self, kernel):
        super().__init__()
        self.kernel = kernel

    def forward(self, x):
        return F.max_pool2d(x, self.kernel)

    def export(self, name, inputs):
        return [{"name": name, "op": "maxpool", "inputs": inputs, "kernel": self.kernel}], {}, name


class GlobalPool(nn.Module):
    """Popcount per channel of ±1 bits, returned as ``count / positions`` (shape ``(B, C, 1, 1)``).

    ``positions`` (``H*W``) must be a power of two, so the division is exact.
    """

    def __init__(self, positions):
        super().__init__()
        if positions & (positions - 1):
            raise ValueError(f"positions: {positions} is not a power of two")
        self.positions = positions

    def forward(self, x):
        counts = (x.sum(dim=(2, 3), keepdim=True) + self.positions) / 2
        return counts / self.positions

    def export(self, name, inputs):
        return [{"name": name, "op": "global_pool", "inputs": inputs}], {}, name


# ----------------------------------------------------------------------------- int8 data flow

class DPReLU(nn.Module):
    """PokeBNN's DPReLU on int8 data (eq. 4): int8 shifts ``alpha``, ``beta``; fixed-point slopes.

    Initialized as in the paper: ``alpha = beta = 0``, ``gamma = 0.25``, ``eta = 1``.
    """

    def __init__(self, channels):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(channels))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.eta = nn.Parameter(torch.ones(channels))
        self.gamma = nn.Parameter(torch.full((channels,), 0.25))

    def _shift(self, value):
        return torch.clamp(torch.floor(value.detach() / INT8_UNIT + 0.5), -128, 127)

    def export_params(self):
        slopes = np.clip(np.concatenate([_np(self.eta), _np(self.gamma)]), -127.0, 127.0)
        raw, frac_bits, _ = fixed_point(slopes, bits=16)
        slopes = raw / 2.0 ** frac_bits
        channels = len(slopes) // 2
        return {"alpha": _np(self._shift(self.alpha)).astype(np.int8),
                "beta": _np(self._shift(self.beta)).astype(np.int8),
                "eta": slopes[:channels], "gamma": slopes[channels:]}

    def forward(self, x):
        if not self.training:
            p = self.export_params()
            d = x.double() / INT8_UNIT - _per_channel(_t(p["alpha"], x), 4)
            slope = torch.where(d > 0, _per_channel(_t(p["eta"], x), 4),
                                _per_channel(_t(p["gamma"], x), 4))
            y = torch.floor(d * slope + 0.5) - _per_channel(_t(p["beta"], x), 4)
            return torch.clamp(y, -INT8_MAX, INT8_MAX) * INT8_UNIT
        alpha = round_half_up_ste(self.alpha / INT8_UNIT).clamp(-128, 127)
        beta = round_half_up_ste(self.beta / INT8_UNIT).clamp(-128, 127)
        d = x / INT8_UNIT - _per_channel(alpha, 4)
        y = torch.where(d > 0, d * _per_channel(self.eta, 4), d * _per_channel(self.gamma, 4))
        y = round_half_up_ste(y) - _per_channel(beta, 4)
        return torch.clamp(y, -INT8_MAX, INT8_MAX) * INT8_UNIT

    def export(self, name, inputs):
        p = self.export_params()
        return ([{"name": name, "op": "dprelu", "inputs": inputs}],
                {f"{name}.{k}": v for k, v in p.items()}, name)


class SaturatingAdd(nn.Module):
    """``clip(x + r, -127, 127)`` on two int8 tensors (PokeBNN's 8-bit residual)."""

    def forward(self, x, residual):
        limit = INT8_MAX * INT8_UNIT
        return torch.clamp(x + residual, -limit, limit)

    def export(self, name, inputs):
        return [{"name": name, "op": "add", "inputs": inputs}], {}, name


# ----------------------------------------------------------------------------- channel wiring

class Slice(nn.Module):
    """Channels ``start:stop`` (one branch of a split)."""

    def __init__(self, start, stop):
        super().__init__()
        self.start, self.stop = start, stop

    def forward(self, x):
        return x[:, self.start:self.stop]

    def export(self, name, inputs):
        return ([{"name": name, "op": "slice", "inputs": inputs, "start": self.start,
                  "stop": self.stop}], {}, name)


class Concat(nn.Module):
    """Channel concatenation in input order."""

    def forward(self, *xs):
        return torch.cat(xs, 1)

    def export(self, name, inputs):
        return [{"name": name, "op": "concat", "inputs": inputs}], {}, name


class Shuffle(nn.Module):
    """ShuffleNet channel shuffle: output ``i`` is input ``(i % g)*(C/g) + i // g``."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        b, c, h, w = x.shape
        return x.reshape(b, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(
            b, c, h, w)

    def export(self, name, inputs):
        return ([{"name": name, "op": "shuffle", "inputs": inputs, "groups": self.groups}], {},
                name)


# ----------------------------------------------------------------------------- PA-Net

class PABases(nn.Module):
    """PA-Net activation bases (eq. 18): N piece indicators per channel, base-major, in {0, 1}.

    ``V_j = (e_j <= y < e_(j+1))``, ``V_(N-1) = (y >= e_(N-1))``; below ``e_0`` all bases are 0.
    The endpoints are fixed: the batch norm in front (positive scale, learned shift) places the
    pieces. Backward: each ``y >= e_j`` step is replaced by a unit-width ramp around ``e_j``, so
    the gradient of ``sum_j beta_j V_j`` is ``beta_j - beta_(j-1)`` near ``e_j`` (PA-Net eq. 12).
    """

    def __init__(self, endpoints):
        super().__init__()
        self.endpoints = [float(e) for e in endpoints]
        if any(b <= a for a, b in zip(self.endpoints, self.endpoints[1:])):
            raise ValueError(f"endpoints: must be strictly increasing, got {self.endpoints}")
        gaps = np.diff(self.endpoints)
        self.ramp = float(gaps.min()) if len(gaps) else 1.0

    def forward(self, y):
        if not self.training:
            y = y.double()
            above = [(y >= e).double() for e in self.endpoints]
        else:
            above = []
            for e in self.endpoints:
                hard = (y >= e).to(y.dtype)
                soft = torch.clamp((y - e) / self.ramp + 0.5, 0.0, 1.0)
                above.append(soft + (hard - soft).detach())
        pieces = [lo - hi for lo, hi in zip(above, above[1:])] + [above[-1]]
        return torch.cat(pieces, 1)

    def export(self, name, inputs):
        return ([{"name": name, "op": "pa_bases", "inputs": inputs}],
                {f"{name}.endpoints": np.asarray(self.endpoints, np.float64)}, name)


class PAConv2d(nn.Module):
    """PA-Net multi-base convolution (eq. 15-19) on N activation bases, then a batch norm.

    Weights: M pieces from M endpoints ``u`` (``weight_endpoints`` times ``std(W)``; half below
    0, half above) plus a zero piece around 0; each piece's ``alpha_i`` is the mean of its latent
    weights (PA-Net §3.1). Activations: ``A = sum_j beta_j V_j`` with learned levels ``beta``.
    ``phi_ij = alpha_i * beta_j`` is exported rounded to the compiler's 16-bit fixed point, and
    eval mode computes ``sum_ij phi_ij * conv(V_j, T_i)`` with exactly that phi.
    """

    def __init__(self, in_channels, out_channels, kernel, *, stride=1, padding=0, groups=1,
                 weight_endpoints=(-0.6, 0.6), activation_levels=(0.5, 1.5), positive_bn=True):
        super().__init__()
        endpoints = sorted(float(u) for u in weight_endpoints)
        negative = sum(u < 0 for u in endpoints)
        if len(endpoints) % 2 or negative != len(endpoints) // 2:
            raise ValueError("weight_endpoints: need as many negative as positive endpoints")
        self.weight_endpoints = endpoints
        self.out_channels, self.kernel = out_channels, kernel
        self.stride, self.padding, self.groups = stride, padding, groups
        self.in_channels = in_channels
        self.weight = _conv_weight(out_channels, in_channels, kernel, groups)
        self.levels = nn.Parameter(torch.tensor([float(v) for v in activation_levels]))
        self.bn = BatchNorm(out_channels, positive=positive_bn)

    def weight_pieces(self):
        """``(T, alpha)``: bases ``(M, *weight.shape)`` in {0, 1} and per-piece means ``(M,)``."""
        w = self.weight.detach()
        u = [e * float(w.std()) for e in self.weight_endpoints]
        half = len(u) // 2
        bounds = [(-math.inf, u[0])] + list(zip(u[:half - 1], u[1:half]))
        bounds += list(zip(u[half:-1], u[half + 1:])) + [(u[-1], math.inf)]
        bases, alphas = [], []
        for lo, hi in bounds:
            member = (w >= lo) & (w < hi)
            fallback = hi if math.isinf(lo) else lo
            alphas.append(float(w[member].mean()) if member.any() else fallback)
            bases.append(member)
        return torch.stack(bases).to(w.dtype), torch.tensor(alphas, dtype=w.dtype)

    def export_params(self):
        bases, alphas = self.weight_pieces()
        phi = np.outer(_np(alphas), _np(self.levels))
        raw, frac_bits, _ = fixed_point(phi, bits=16)
        return {"weight_bases": _np(bases).astype(np.uint8), "phi": raw / 2.0 ** frac_bits,
                "bn": self.bn.export_params()}

    def _conv(self, x, weight):
        return F.conv2d(x, weight, stride=self.stride, padding=self.padding, groups=self.groups)

    def forward(self, v):
        n = len(self.levels)
        if not self.training:
            p = self.export_params()
            v = v.double()
            bases = _t(p["weight_bases"], v)
            y = 0.0
            for i in range(bases.shape[0]):
                for j in range(n):
                    piece = v[:, j * self.in_channels:(j + 1) * self.in_channels]
                    y = y + float(p["phi"][i, j]) * self._conv(piece, bases[i])
            return BatchNorm.apply_exported(p["bn"], y)
        bases, alphas = self.weight_pieces()
        quantized = (bases * alphas.reshape(-1, 1, 1, 1, 1)).sum(0)
        weight = self.weight + (quantized - self.weight).detach()
        activation = sum(self.levels[j] * v[:, j * self.in_channels:(j + 1) * self.in_channels]
                         for j in range(n))
        return self.bn(self._conv(activation, weight))

    def export(self, name, inputs):
        p = self.export_params()
        conv = {"name": name, "op": "panet_conv2d", "inputs": inputs,
                "out_channels": self.out_channels,
                **_conv_attrs(self.kernel, self.stride, self.padding, self.groups)}
        arrays = {f"{name}.weight_bases": p["weight_bases"], f"{name}.phi": p["phi"]}
        bn, bn_arrays = BatchNorm.export_layer(f"{name}_bn", name, p["bn"])
        return [conv, bn], {**arrays, **bn_arrays}, bn["name"]
