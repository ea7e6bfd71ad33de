"""StyleGAN2 generator with the parameter names of rosinality/stylegan2-pytorch.

Checkpoints in that format are ``{"g_ema": state_dict, "latent_avg": [512]}`` (plus optional
``g`` / ``d``); the e4e and SAM checkpoints hold the same generator under ``decoder.``. Every
operation is written in plain torch (no compiled ops): the blur / up-sampling FIR filter
(``upfirdn2d``), the fused bias + leaky ReLU, the modulated convolution with demodulation.

Numerics follow the reference: equalised learning rate (``EqualLinear``: weight * lr_mul/sqrt(in),
bias * lr_mul), modulated conv scale 1/sqrt(in*k*k) with demodulation eps 1e-8, ToRGB without
demodulation, leaky ReLU 0.2 with gain sqrt(2), transposed-conv up-sampling followed by a
[1,3,3,1] blur (x4 gain). Output in [-1, 1] (not clamped).

Extension over the reference: ``conv_clamp`` (None in rosinality) clamps the activations as
NVIDIA's StyleGAN2-ADA does (``+-conv_clamp`` after each conv's activation and each ToRGB's bias),
so a converted ``ffhq.pkl`` that was trained with a clamp renders exactly as NVIDIA's code.
``max_channels`` caps the channel widths (tiny test configurations; default 512 = official).
"""

from __future__ import annotations

import math
import random
from typing import Any, Mapping, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ganstudio.archs.registry import register_arch

__all__ = ["Generator", "EqualLinear", "EqualConv2d", "ModulatedConv2d", "StyledConv", "ToRGB",
           "upfirdn2d", "make_kernel", "fused_leaky_relu", "FusedLeakyReLU", "PixelNorm",
           "detect_generator_kwargs", "split_prefix", "read_rosinality_checkpoint",
           "generator_channels", "build_stylegan2"]

SQRT2 = math.sqrt(2.0)


# --------------------------------------------------------------------------- low-level ops
def make_kernel(k: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """Separable FIR kernel: outer product of ``k`` with itself, normalised to sum 1."""
    k = torch.as_tensor(k, dtype=torch.float32)
    if k.ndim == 1:
        k = k[None, :] * k[:, None]
    return k / k.sum()


def upfirdn2d(x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1,
              pad: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """Up-sample (zero insertion), pad, FIR-filter (true convolution), down-sample.

    Same pads on both axes, ``pad = (before, after)``; negative pads crop."""
    b, c, h, w = x.shape
    kh, kw = kernel.shape
    p0, p1 = int(pad[0]), int(pad[1])
    y = x.reshape(b * c, 1, h, w)
    if up > 1:
        y = y.reshape(b * c, 1, h, 1, w, 1)
        y = F.pad(y, [0, up - 1, 0, 0, 0, up - 1])
        y = y.reshape(b * c, 1, h * up, w * up)
    y = F.pad(y, [max(p0, 0), max(p1, 0), max(p0, 0), max(p1, 0)])
    if p0 < 0 or p1 < 0:
        y = y[:, :, max(-p0, 0): y.shape[2] - max(-p1, 0), max(-p0, 0): y.shape[3] - max(-p1, 0)]
    weight = torch.flip(kernel, [0, 1]).reshape(1, 1, kh, kw).to(y.dtype)
    y = F.conv2d(y, weight)
    if down > 1:
        y = y[:, :, ::down, ::down]
    return y.reshape(b, c, y.shape[2], y.shape[3])


def fused_leaky_relu(x: torch.Tensor, bias: torch.Tensor | None = None, negative_slope: float = 0.2,
                     scale: float = SQRT2) -> torch.Tensor:
    """leaky_relu(x + bias) * scale, bias broadcast on dim 1."""
    if bias is not None:
        x = x + bias.reshape(1, bias.shape[0], *([1] * (x.ndim - 2)))
    return F.leaky_relu(x, negative_slope=negative_slope) * scale


class PixelNorm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(torch.mean(x ** 2, dim=1, keepdim=True) + 1e-8)


class FusedLeakyReLU(nn.Module):
    def __init__(self, channel: int, bias: bool = True, negative_slope: float = 0.2,
                 scale: float = SQRT2) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channel)) if bias else None
        self.negative_slope = negative_slope
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu(x, self.bias, self.negative_slope, self.scale)


class Upsample(nn.Module):
    """x2 FIR up-sampling (buffer ``kernel``)."""

    def __init__(self, kernel: Sequence[float], factor: int = 2) -> None:
        super().__init__()
        self.factor = factor
        k = make_kernel(kernel) * (factor ** 2)
        self.register_buffer("kernel", k)
        p = k.shape[0] - factor
        self.pad = ((p + 1) // 2 + factor - 1, p // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.factor, down=1, pad=self.pad)


class Blur(nn.Module):
    def __init__(self, kernel: Sequence[float], pad: tuple[int, int], upsample_factor: int = 1) -> None:
        super().__init__()
        k = make_kernel(kernel)
        if upsample_factor > 1:
            k = k * (upsample_factor ** 2)
        self.register_buffer("kernel", k)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class EqualConv2d(nn.Module):
    def __init__(self, in_channel: int, out_channel: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channel, in_channel, kernel_size, kernel_size))
        self.scale = 1 / math.sqrt(in_channel * kernel_size ** 2)
        self.stride, self.padding = stride, padding
        self.bias = nn.Parameter(torch.zeros(out_channel)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, bias=self.bias, stride=self.stride,
                        padding=self.padding)


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate (``weight``, ``bias``)."""

    def __init__(self, in_dim: int, out_dim: int, bias: bool = True, bias_init: float = 0.0,
                 lr_mul: float = 1.0, activation: str | None = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim).div_(lr_mul))
        self.bias = nn.Parameter(torch.zeros(out_dim).fill_(bias_init)) if bias else None
        self.activation = activation
        self.scale = (1 / math.sqrt(in_dim)) * lr_mul
        self.lr_mul = lr_mul

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.bias * self.lr_mul if self.bias is not None else None
        if self.activation:
            return fused_leaky_relu(F.linear(x, self.weight * self.scale), bias)
        return F.linear(x, self.weight * self.scale, bias=bias)


class ModulatedConv2d(nn.Module):
    """Style-modulated convolution (``weight`` [1,out,in,k,k], ``modulation``, ``blur`` when up)."""

    def __init__(self, in_channel: int, out_channel: int, kernel_size: int, style_dim: int,
                 demodulate: bool = True, upsample: bool = False, downsample: bool = False,
                 blur_kernel: Sequence[float] = (1, 3, 3, 1)) -> None:
        super().__init__()
        self.eps = 1e-8
        self.kernel_size = kernel_size
        self.in_channel, self.out_channel = in_channel, out_channel
        self.upsample, self.downsample = upsample, downsample
        factor = 2
        if upsample:
            p = (len(blur_kernel) - factor) - (kernel_size - 1)
            self.blur = Blur(blur_kernel, pad=((p + 1) // 2 + factor - 1, p // 2 + 1),
                             upsample_factor=factor)
        if downsample:
            p = (len(blur_kernel) - factor) + (kernel_size - 1)
            self.blur = Blur(blur_kernel, pad=((p + 1) // 2, p // 2))
        self.scale = 1 / math.sqrt(in_channel * kernel_size ** 2)
        self.padding = kernel_size // 2
        self.weight = nn.Parameter(torch.randn(1, out_channel, in_channel, kernel_size, kernel_size))
        self.modulation = EqualLinear(style_dim, in_channel, bias_init=1)
        self.demodulate = demodulate

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        batch, in_channel, height, width = x.shape
        k = self.kernel_size
        style = self.modulation(style).reshape(batch, 1, in_channel, 1, 1)
        weight = self.scale * self.weight * style
        if self.demodulate:
            demod = torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + self.eps)
            weight = weight * demod.reshape(batch, self.out_channel, 1, 1, 1)
        if self.upsample:
            x = x.reshape(1, batch * in_channel, height, width)
            weight = weight.transpose(1, 2).reshape(batch * in_channel, self.out_channel, k, k)
            out = F.conv_transpose2d(x, weight, padding=0, stride=2, groups=batch)
            out = out.reshape(batch, self.out_channel, out.shape[2], out.shape[3])
            return self.blur(out)
        weight = weight.reshape(batch * self.out_channel, in_channel, k, k)
        if self.downsample:
            x = self.blur(x)
            x = x.reshape(1, batch * in_channel, x.shape[2], x.shape[3])
            out = F.conv2d(x, weight, padding=0, stride=2, groups=batch)
        else:
            x = x.reshape(1, batch * in_channel, height, width)
            out = F.conv2d(x, weight, padding=self.padding, groups=batch)
        return out.reshape(batch, self.out_channel, out.shape[2], out.shape[3])


class NoiseInjection(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, image: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        if noise is None:
            b, _, h, w = image.shape
            noise = image.new_empty(b, 1, h, w).normal_()
        return image + self.weight * noise


class ConstantInput(nn.Module):
    def __init__(self, channel: int, size: int = 4) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channel, size, size))

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.input.repeat(latent.shape[0], 1, 1, 1)


class StyledConv(nn.Module):
    def __init__(self, in_channel: int, out_channel: int, kernel_size: int, style_dim: int,
                 upsample: bool = False, blur_kernel: Sequence[float] = (1, 3, 3, 1),
                 demodulate: bool = True, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channel, out_channel, kernel_size, style_dim,
                                    upsample=upsample, blur_kernel=blur_kernel, demodulate=demodulate)
        self.noise = NoiseInjection()
        self.activate = FusedLeakyReLU(out_channel)
        self.conv_clamp = conv_clamp

    def forward(self, x: torch.Tensor, style: torch.Tensor,
                noise: torch.Tensor | None = None) -> torch.Tensor:
        out = self.activate(self.noise(self.conv(x, style), noise=noise))
        if self.conv_clamp is not None:
            out = out.clamp(-self.conv_clamp, self.conv_clamp)
        return out


class ToRGB(nn.Module):
    def __init__(self, in_channel: int, style_dim: int, upsample: bool = True,
                 blur_kernel: Sequence[float] = (1, 3, 3, 1), conv_clamp: float | None = None) -> None:
        super().__init__()
        if upsample:
            self.upsample = Upsample(blur_kernel)
        self.conv = ModulatedConv2d(in_channel, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))
        self.conv_clamp = conv_clamp

    def forward(self, x: torch.Tensor, style: torch.Tensor,
                skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x, style) + self.bias
        if self.conv_clamp is not None:
            out = out.clamp(-self.conv_clamp, self.conv_clamp)
        if skip is not None:
            out = out + self.upsample(skip)
        return out


def generator_channels(channel_multiplier: float = 2, max_channels: int = 512) -> dict[int, int]:
    """Feature channels per resolution (rosinality's table, capped at ``max_channels``)."""
    base = {4: 512, 8: 512, 16: 512, 32: 512, 64: 256 * channel_multiplier,
            128: 128 * channel_multiplier, 256: 64 * channel_multiplier,
            512: 32 * channel_multiplier, 1024: 16 * channel_multiplier}
    return {r: max(1, int(min(c, max_channels))) for r, c in base.items()}


# --------------------------------------------------------------------------- generator
class Generator(nn.Module):
    """rosinality's StyleGAN2 ``Generator(size, style_dim, n_mlp, channel_multiplier, ...)``.

    ``forward(styles, return_latents=False, inject_index=None, truncation=1,
    truncation_latent=None, input_is_latent=False, noise=None, randomize_noise=True)`` as the
    reference: ``styles`` is a list of Z (or W with ``input_is_latent``) tensors [B, style_dim],
    or one W+ tensor [B, n_latent, style_dim]; a bare tensor is accepted too. Returns
    ``(image [B,3,size,size] in about [-1,1], latent or None)``. ``randomize_noise=False`` uses the
    stored noise buffers ``noises.noise_i`` (deterministic, what e4e / SAM inference do).
    """

    def __init__(self, size: int = 1024, style_dim: int = 512, n_mlp: int = 8,
                 channel_multiplier: float = 2, blur_kernel: Sequence[float] = (1, 3, 3, 1),
                 lr_mlp: float = 0.01, conv_clamp: float | None = None,
                 max_channels: int = 512) -> None:
        super().__init__()
        if size < 4 or size & (size - 1):
            raise ValueError(f"StyleGAN2 size must be a power of two >= 4, got {size}")
        self.size = size
        self.style_dim = style_dim
        self.n_mlp = n_mlp
        blur_kernel = list(blur_kernel)
        layers: list[nn.Module] = [PixelNorm()]
        for _ in range(n_mlp):
            layers.append(EqualLinear(style_dim, style_dim, lr_mul=lr_mlp, activation="fused_lrelu"))
        self.style = nn.Sequential(*layers)
        self.channels = generator_channels(channel_multiplier, max_channels)
        ch = self.channels
        self.input = ConstantInput(ch[4])
        self.conv1 = StyledConv(ch[4], ch[4], 3, style_dim, blur_kernel=blur_kernel,
                                conv_clamp=conv_clamp)
        self.to_rgb1 = ToRGB(ch[4], style_dim, upsample=False, conv_clamp=conv_clamp)
        self.log_size = int(math.log2(size))
        self.num_layers = (self.log_size - 2) * 2 + 1
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()
        for layer_idx in range(self.num_layers):
            res = (layer_idx + 5) // 2
            self.noises.register_buffer(f"noise_{layer_idx}", torch.randn(1, 1, 2 ** res, 2 ** res))
        in_channel = ch[4]
        for i in range(3, self.log_size + 1):
            out_channel = ch[2 ** i]
            self.convs.append(StyledConv(in_channel, out_channel, 3, style_dim, upsample=True,
                                         blur_kernel=blur_kernel, conv_clamp=conv_clamp))
            self.convs.append(StyledConv(out_channel, out_channel, 3, style_dim,
                                         blur_kernel=blur_kernel, conv_clamp=conv_clamp))
            self.to_rgbs.append(ToRGB(out_channel, style_dim, conv_clamp=conv_clamp))
            in_channel = out_channel
        self.n_latent = self.log_size * 2 - 2

    def make_noise(self) -> list[torch.Tensor]:
        dev = self.input.input.device
        noises = [torch.randn(1, 1, 4, 4, device=dev)]
        for i in range(3, self.log_size + 1):
            for _ in range(2):
                noises.append(torch.randn(1, 1, 2 ** i, 2 ** i, device=dev))
        return noises

    @torch.no_grad()
    def mean_latent(self, n_latent: int) -> torch.Tensor:
        """Mean W of ``n_latent`` random Z through the mapping network -> [1, style_dim]."""
        z = torch.randn(n_latent, self.style_dim, device=self.input.input.device)
        return self.style(z).mean(0, keepdim=True)

    def get_latent(self, z: torch.Tensor) -> torch.Tensor:
        return self.style(z)

    def forward(self, styles: Any, return_latents: bool = False, inject_index: int | None = None,
                truncation: float = 1, truncation_latent: torch.Tensor | None = None,
                input_is_latent: bool = False, noise: Sequence[torch.Tensor | None] | None = None,
                randomize_noise: bool = True):
        if isinstance(styles, torch.Tensor):
            styles = [styles]
        if not input_is_latent:
            styles = [self.style(s) for s in styles]
        if noise is None:
            if randomize_noise:
                noise = [None] * self.num_layers
            else:
                noise = [getattr(self.noises, f"noise_{i}") for i in range(self.num_layers)]
        if truncation < 1:
            styles = [truncation_latent + truncation * (s - truncation_latent) for s in styles]
        if len(styles) < 2:
            inject_index = self.n_latent
            latent = styles[0].unsqueeze(1).repeat(1, inject_index, 1) if styles[0].ndim < 3 else styles[0]
        else:
            if inject_index is None:
                inject_index = random.randint(1, self.n_latent - 1)
            latent = styles[0].unsqueeze(1).repeat(1, inject_index, 1)
            latent2 = styles[1].unsqueeze(1).repeat(1, self.n_latent - inject_index, 1)
            latent = torch.cat([latent, latent2], 1)
        out = self.input(latent)
        out = self.conv1(out, latent[:, 0], noise=noise[0])
        skip = self.to_rgb1(out, latent[:, 1])
        i = 1
        for conv1, conv2, noise1, noise2, to_rgb in zip(self.convs[::2], self.convs[1::2],
                                                        noise[1::2], noise[2::2], self.to_rgbs):
            out = conv1(out, latent[:, i], noise=noise1)
            out = conv2(out, latent[:, i + 1], noise=noise2)
            skip = to_rgb(out, latent[:, i + 2], skip)
            i += 2
        return (skip, latent) if return_latents else (skip, None)

    def synthesize(self, wplus: torch.Tensor) -> torch.Tensor:
        """W+ [B, n_latent, style_dim] -> image [B,3,size,size], deterministic noise."""
        return self(wplus, input_is_latent=True, randomize_noise=False)[0]


# --------------------------------------------------------------------------- checkpoints
def split_prefix(state_dict: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Entries of ``state_dict`` under ``prefix.`` with the prefix removed (``decoder.`` ...)."""
    p = prefix if prefix.endswith(".") else prefix + "."
    return {k[len(p):]: v for k, v in state_dict.items() if k.startswith(p)}


def detect_generator_kwargs(sd: Mapping[str, Any]) -> dict | None:
    """Generator kwargs (size, style_dim, n_mlp, channel_multiplier, max_channels) from the keys."""
    if "input.input" not in sd or "conv1.conv.weight" not in sd:
        return None
    n_rgb = len({k.split(".")[1] for k in sd if k.startswith("to_rgbs.")})
    size = 4 * 2 ** n_rgb
    style_dim = int(sd["conv1.conv.modulation.weight"].shape[1])
    n_mlp = len({k.split(".")[1] for k in sd if k.startswith("style.") and k.endswith(".weight")})
    c4 = int(sd["input.input"].shape[1])
    kw: dict[str, Any] = {"size": size, "style_dim": style_dim, "n_mlp": n_mlp}
    if c4 != 512:
        kw["max_channels"] = c4
    if size >= 64:
        c64 = int(sd["convs.6.conv.weight"].shape[1])
        cm = c64 / 256
        kw["channel_multiplier"] = int(cm) if cm == int(cm) else cm
    return kw


def read_rosinality_checkpoint(obj: Mapping[str, Any], key: str = "g_ema") -> tuple[dict, Any]:
    """``(generator state dict, latent_avg or None)`` from a rosinality checkpoint object
    (``{"g_ema", "latent_avg", ...}``), an e4e / SAM checkpoint (``decoder.`` keys of
    ``state_dict``) or a bare generator state dict."""
    if not isinstance(obj, Mapping):
        raise ValueError(f"not a StyleGAN2 checkpoint (got {type(obj).__name__})")
    latent_avg = obj.get("latent_avg")
    if key in obj and isinstance(obj[key], Mapping):
        return dict(obj[key]), latent_avg
    if "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        dec = split_prefix(obj["state_dict"], "decoder")
        if dec:
            return dec, latent_avg
    if "input.input" in obj:
        return {k: v for k, v in obj.items() if k != "latent_avg"}, latent_avg
    have = ", ".join(list(obj)[:8])
    raise ValueError(f"not a StyleGAN2 checkpoint: no '{key}' entry and no generator keys (has: {have})")


# Non-weight entries a converted file may carry next to the generator keys: the truncation centre
# and NVIDIA's activation clamp (a 0-d tensor; read by detect, dropped before the strict load).
EXTRA_KEYS = ("latent_avg", "conv_clamp")


def _convert(sd: dict, kwargs: dict) -> dict:
    # a full rosinality checkpoint flattened as g_ema.* (or with latent_avg) -> the generator keys
    if "input.input" not in sd and any(k.startswith("g_ema.") for k in sd):
        sd = split_prefix(sd, "g_ema")
    for k in EXTRA_KEYS:
        sd.pop(k, None)
    return sd


def _detect(sd: Mapping[str, Any]) -> dict | None:
    clamp = sd.get("conv_clamp")
    if "input.input" not in sd and any(k.startswith("g_ema.") for k in sd):
        sd = split_prefix(sd, "g_ema")
    kw = detect_generator_kwargs(sd)
    if kw is not None and clamp is not None:
        kw["conv_clamp"] = float(clamp)
    return kw


def build_stylegan2(**kwargs: Any) -> Generator:
    return Generator(**kwargs)


register_arch("stylegan2", detect=_detect, convert=_convert)(build_stylegan2)
