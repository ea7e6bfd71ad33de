"""SRVGGNetCompact (Real-ESRGAN's compact SR network: general-x4v3, animevideov3), official names.

Our own copy for the same reason as rrdbnet_arch.py (no spandrel import on the offline path).
Facts (shared MODELS.md section 1): body = [conv, act, (conv, act) x num_conv, conv to
num_out_ch * upscale^2]; PixelShuffle(upscale); plus nearest-upsampled input. act_type prelu
(PReLU(num_feat), the released models), relu or leakyrelu (0.1).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register_arch


class SRVGGNetCompact(nn.Module):
    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64, num_conv: int = 16,
                 upscale: int = 4, act_type: str = "prelu") -> None:
        super().__init__()
        self.upscale = upscale
        self.MULTIPLE = 1

        def act() -> nn.Module:
            if act_type == "prelu":
                return nn.PReLU(num_parameters=num_feat)
            if act_type == "relu":
                return nn.ReLU(inplace=True)
            if act_type == "leakyrelu":
                return nn.LeakyReLU(negative_slope=0.1, inplace=True)
            raise ValueError(f"unknown act_type {act_type!r}")

        layers: list[nn.Module] = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), act()]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), act()]
        layers.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        out = self.upsampler(out)
        return out + F.interpolate(x, scale_factor=self.upscale, mode="nearest")


def detect(sd: Mapping[str, Any]) -> dict | None:
    idx = sorted({int(m.group(1)) for k in sd if (m := re.match(r"body\.(\d+)\.weight$", k))})
    if not idx or "body.0.weight" not in sd or getattr(sd["body.0.weight"], "ndim", 0) != 4:
        return None
    last = idx[-1]
    num_feat, num_in = int(sd["body.0.weight"].shape[0]), int(sd["body.0.weight"].shape[1])
    prelu = "body.1.weight" in sd and getattr(sd["body.1.weight"], "ndim", 0) == 1
    step = 2 if prelu else 2
    num_conv = (last - 2) // step
    out_total = int(sd[f"body.{last}.weight"].shape[0])
    for out_ch in (num_in, 3, 1):
        up = math.isqrt(max(1, out_total // out_ch))
        if out_ch * up * up == out_total:
            return {"num_in_ch": num_in, "num_out_ch": out_ch, "num_feat": num_feat,
                    "num_conv": num_conv, "upscale": up, "act_type": "prelu" if prelu else "relu"}
    return None


@register_arch("srvggnet_compact", detect=detect)
def build(num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64, num_conv: int = 16,
          upscale: int = 4, act_type: str = "prelu", **_ignored: Any) -> SRVGGNetCompact:
    return SRVGGNetCompact(num_in_ch, num_out_ch, num_feat, num_conv, upscale, act_type)
