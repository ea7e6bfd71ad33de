"""pSp ``GradualStyleEncoder`` (IR-SE-50 backbone + FPN + 18 style heads) with official names.

Shared by e4e (``e4e_arch``) and SAM (``sam_arch``). Parameter names are those of the reference
code (eladrich/pixel2style2pixel, omertov/encoder4editing, yuval-alaluf/SAM):

* ``input_layer.{0 Conv3x3 no bias, 1 BN, 2 PReLU}``;
* ``body.0..23``: ``bottleneck_IR_SE`` units, stages (64,64)x3, (64,128)x4, (128,256)x14,
  (256,512)x3, stride 2 on the first unit of each stage; ``res_layer.{0 BN, 1 Conv3, 2 PReLU,
  3 Conv3(stride), 4 BN, 5 SE(fc1, fc2)}``; ``shortcut_layer.{0 Conv1x1, 1 BN}`` when the width
  changes (else a stride-``s`` 1x1 max-pool, no parameters);
* ``styles.i``: ``GradualStyleBlock`` (``convs.{0,2,..}`` 3x3 stride-2 convs with bias, leaky
  ReLU 0.01 between them, ``linear`` EqualLinear); coarse i<3 read c3 (16x16 at 256 input),
  middle i<7 the FPN level p2, fine the level p1;
* ``latlayer1`` (c2 -> p2), ``latlayer2`` (c1 -> p1); FPN up-sampling is bilinear, align_corners.

``units`` / ``widths`` / ``style_dim`` exist for tiny test configurations; the defaults are the
official IR-SE-50 with 512-d styles.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ganstudio.archs.registry import register_arch
from ganstudio.archs.stylegan2_arch import EqualLinear

__all__ = ["SEModule", "bottleneck_IR", "bottleneck_IR_SE", "GradualStyleBlock", "IRSEBackbone",
           "GradualStyleEncoder", "ir_units", "upsample_add", "detect_encoder_kwargs"]

IR_UNITS = {50: (3, 4, 14, 3), 100: (3, 13, 30, 3), 152: (3, 8, 36, 3)}


def ir_units(num_layers: int) -> tuple[int, ...]:
    if num_layers not in IR_UNITS:
        raise ValueError(f"num_layers must be one of {sorted(IR_UNITS)}, got {num_layers}")
    return IR_UNITS[num_layers]


class SEModule(nn.Module):
    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, kernel_size=1, padding=0, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, kernel_size=1, padding=0, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.sigmoid(self.fc2(self.relu(self.fc1(self.avg_pool(x)))))


class bottleneck_IR(nn.Module):  # noqa: N801 - official class name
    def __init__(self, in_channel: int, depth: int, stride: int, se: bool = False) -> None:
        super().__init__()
        if in_channel == depth:
            self.shortcut_layer: nn.Module = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(nn.Conv2d(in_channel, depth, (1, 1), stride, bias=False),
                                                nn.BatchNorm2d(depth))
        layers: list[nn.Module] = [nn.BatchNorm2d(in_channel),
                                   nn.Conv2d(in_channel, depth, (3, 3), (1, 1), 1, bias=False),
                                   nn.PReLU(depth),
                                   nn.Conv2d(depth, depth, (3, 3), stride, 1, bias=False),
                                   nn.BatchNorm2d(depth)]
        if se:
            layers.append(SEModule(depth, 16))
        self.res_layer = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res_layer(x) + self.shortcut_layer(x)


class bottleneck_IR_SE(bottleneck_IR):  # noqa: N801 - official class name
    def __init__(self, in_channel: int, depth: int, stride: int) -> None:
        super().__init__(in_channel, depth, stride, se=True)


def upsample_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Bilinear (align_corners=True) up-sampling of ``x`` to ``y``'s size, plus ``y`` (FPN)."""
    return F.interpolate(x, size=y.shape[-2:], mode="bilinear", align_corners=True) + y


class GradualStyleBlock(nn.Module):
    def __init__(self, in_c: int, out_c: int, spatial: int) -> None:
        super().__init__()
        self.out_c = out_c
        self.spatial = spatial
        num_pools = int(math.log2(spatial))
        modules: list[nn.Module] = [nn.Conv2d(in_c, out_c, kernel_size=3, stride=2, padding=1),
                                    nn.LeakyReLU()]
        for _ in range(num_pools - 1):
            modules += [nn.Conv2d(out_c, out_c, kernel_size=3, stride=2, padding=1), nn.LeakyReLU()]
        self.convs = nn.Sequential(*modules)
        self.linear = EqualLinear(out_c, out_c, lr_mul=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.convs(x).reshape(-1, self.out_c))


class IRSEBackbone(nn.Module):
    """``input_layer`` + ``body`` + the style heads / lateral layers common to pSp and e4e.

    ``features(x) -> (c1, c2, c3)``: outputs of the last unit of stages 2, 3 and 4."""

    coarse_ind = 3
    middle_ind = 7

    def __init__(self, n_styles: int = 18, input_nc: int = 3, num_layers: int = 50,
                 mode: str = "ir_se", units: Sequence[int] | None = None,
                 widths: Sequence[int] = (64, 128, 256, 512), style_dim: int = 512) -> None:
        super().__init__()
        if mode not in ("ir", "ir_se"):
            raise ValueError(f"mode must be 'ir' or 'ir_se', got {mode!r}")
        units = tuple(units) if units is not None else ir_units(num_layers)
        widths = tuple(int(w) for w in widths)
        if len(units) != 4 or len(widths) != 4:
            raise ValueError("units and widths need 4 stages")
        self.input_layer = nn.Sequential(nn.Conv2d(input_nc, widths[0], (3, 3), 1, 1, bias=False),
                                         nn.BatchNorm2d(widths[0]), nn.PReLU(widths[0]))
        unit = bottleneck_IR_SE if mode == "ir_se" else bottleneck_IR
        modules: list[nn.Module] = []
        in_c = widths[0]
        for n, depth in zip(units, widths):
            modules.append(unit(in_c, depth, 2))
            modules.extend(unit(depth, depth, 1) for _ in range(n - 1))
            in_c = depth
        self.body = nn.Sequential(*modules)
        ends = [sum(units[: i + 1]) - 1 for i in range(4)]
        self._taps = (ends[1], ends[2], ends[3])
        self.style_count = int(n_styles)
        self.styles = nn.ModuleList()
        for i in range(self.style_count):
            spatial = 16 if i < self.coarse_ind else 32 if i < self.middle_ind else 64
            self.styles.append(GradualStyleBlock(widths[3], style_dim, spatial))
        self.latlayer1 = nn.Conv2d(widths[2], widths[3], kernel_size=1, stride=1, padding=0)
        self.latlayer2 = nn.Conv2d(widths[1], widths[3], kernel_size=1, stride=1, padding=0)

    def features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.input_layer(x)
        c1 = c2 = c3 = None
        t1, t2, t3 = self._taps
        for i, layer in enumerate(self.body):
            x = layer(x)
            if i == t1:
                c1 = x
            elif i == t2:
                c2 = x
            elif i == t3:
                c3 = x
        return c1, c2, c3


class GradualStyleEncoder(IRSEBackbone):
    """pSp encoder: every style head reads its own FPN level; returns [B, n_styles, style_dim]
    (without the latent average, which the caller adds)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c1, c2, c3 = self.features(x)
        latents = [self.styles[j](c3) for j in range(min(self.coarse_ind, self.style_count))]
        p2 = upsample_add(c3, self.latlayer1(c2))
        mid = range(self.coarse_ind, min(self.middle_ind, self.style_count))
        latents += [self.styles[j](p2) for j in mid]
        p1 = upsample_add(p2, self.latlayer2(c1))
        latents += [self.styles[j](p1) for j in range(self.middle_ind, self.style_count)]
        return torch.stack(latents, dim=1)


def detect_encoder_kwargs(sd: Mapping[str, Any]) -> dict | None:
    """Constructor kwargs of an encoder state dict (input_nc, n_styles, units, widths, style_dim)."""
    if "input_layer.0.weight" not in sd:
        return None
    w0 = sd["input_layer.0.weight"]
    n_styles = len({k.split(".")[1] for k in sd if k.startswith("styles.")})
    n_body = len({k.split(".")[1] for k in sd if k.startswith("body.")})
    # stage starts are the units with a shortcut conv (width change) or, for the first stage
    # (64 -> 64, a max-pool shortcut), unit 0
    starts = sorted({int(k.split(".")[1]) for k in sd
                     if k.startswith("body.") and ".shortcut_layer.0.weight" in k} | {0})
    kw: dict[str, Any] = {"input_nc": int(w0.shape[1]), "n_styles": n_styles}
    if len(starts) == 4:
        bounds = starts + [n_body]
        units = tuple(bounds[i + 1] - bounds[i] for i in range(4))
        widths = tuple(int(sd[f"body.{bounds[i + 1] - 1}.res_layer.1.weight"].shape[0]) for i in range(4))
        if units != IR_UNITS[50]:
            kw["units"] = units
        if widths != (64, 128, 256, 512):
            kw["widths"] = widths
    kw["mode"] = "ir_se" if any(".res_layer.5.fc1.weight" in k for k in sd) else "ir"
    lin = sd.get("styles.0.linear.weight")
    if lin is not None and int(lin.shape[0]) != 512:
        kw["style_dim"] = int(lin.shape[0])
    return kw


@register_arch("psp_encoder", detect=detect_encoder_kwargs)
def build_psp_encoder(**kwargs: Any) -> GradualStyleEncoder:
    return GradualStyleEncoder(**kwargs)
