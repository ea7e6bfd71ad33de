"""RRDBNet (ESRGAN / Real-ESRGAN generator), BasicSR's official parameter names.

Written here rather than taken from spandrel at run time: spandrel's registry imports every
architecture it knows (torchvision included) before it can load one, which costs seconds of CLI
start-up; the offline Real-ESRGAN models only need these ~60 lines. spandrel stays the loader of
user-imported files of other architectures (ganstudio.models.loader).

Facts (shared MODELS.md section 1): RRDBNet(num_in_ch=3, num_out_ch=3, scale, num_feat=64,
num_block=23, num_grow_ch=32); scale 2 / 1 pixel-unshuffle the input by 2 / 4 first; two rounds of
x2 nearest + conv + LeakyReLU(0.2); ResidualDenseBlock returns x5 * 0.2 + x, RRDB out * 0.2 + x.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register_arch


class ResidualDenseBlock(nn.Module):
    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, num_feat: int, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, scale: int = 4, num_feat: int = 64,
                 num_block: int = 23, num_grow_ch: int = 32) -> None:
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(f"RRDBNet scale must be 1, 2 or 4 (got {scale})")
        self.scale = scale
        self.MULTIPLE = {1: 4, 2: 2, 4: 1}[scale]
        in_ch = num_in_ch * {1: 16, 2: 4, 4: 1}[scale]
        self.conv_first = nn.Conv2d(in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale == 2:
            x = F.pixel_unshuffle(x, 2)
        elif self.scale == 1:
            x = F.pixel_unshuffle(x, 4)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


def detect(sd: Mapping[str, Any]) -> dict | None:
    """Constructor arguments from the official key names and shapes (None: not an RRDBNet)."""
    if "conv_first.weight" not in sd or "conv_last.weight" not in sd or "body.0.rdb1.conv1.weight" not in sd:
        return None
    first = sd["conv_first.weight"]
    num_feat, in_ch = int(first.shape[0]), int(first.shape[1])
    out_ch = int(sd["conv_last.weight"].shape[0])
    blocks = {int(m.group(1)) for k in sd if (m := re.match(r"body\.(\d+)\.rdb1\.conv1\.weight$", k))}
    grow = int(sd["body.0.rdb1.conv1.weight"].shape[0])
    for scale, factor in ((4, 1), (2, 4), (1, 16)):
        if in_ch % factor == 0 and in_ch // factor == out_ch:
            return {"num_in_ch": in_ch // factor, "num_out_ch": out_ch, "scale": scale,
                    "num_feat": num_feat, "num_block": max(blocks) + 1, "num_grow_ch": grow}
    return None


@register_arch("rrdbnet", detect=detect)
def build(num_in_ch: int = 3, num_out_ch: int = 3, scale: int = 4, num_feat: int = 64,
          num_block: int = 23, num_grow_ch: int = 32, **_ignored: Any) -> RRDBNet:
    return RRDBNet(num_in_ch, num_out_ch, scale, num_feat, num_block, num_grow_ch)
