"""GSColorizer: the built-in colouriser (pix2pix-style conditional generator, luma -> chroma).

Input: luma Y (BT.601 full range, ``[0, 1]``), N x 1 x H x W, H and W multiples of 16.
Output: chroma (Cb, Cr) centred on 0, in ``[-0.5, 0.5]``, N x 2 x H x W. The task recombines it with
the photo's *exact* luma (Y is a linear function of RGB, so the recombination keeps it).

A U-Net (pix2pix generator layout, shallower and narrower for CPU training): a 3x3 stem at full
resolution, four stride-2 stages (base, 2b, 4b, 8b, 8b channels), each a strided 4x4 conv + a
residual 3x3 block; a *global* branch at 1/16 resolution (mean-pooled features -> 2-layer MLP ->
per-channel bias added back to the bottleneck, as in Iizuka et al. 2016 "Let there be Color!") so
the whole scene steers the colours; the decoder upsamples (nearest + 3x3 conv) and concatenates the
encoder skip at each scale. GroupNorm (8 groups) + SiLU; the last conv starts at zero (the untrained
net outputs gray). Output ``0.5 * tanh``.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import register_arch


# BT.601 full-range (JPEG) YCbCr; Cb, Cr centred on 0. The task has the same numbers in numpy.
KR, KB = 0.299, 0.114
KG = 1.0 - KR - KB


def rgb_to_ycbcr(rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """N x 3 x H x W RGB in [0, 1] -> (Y N x 1 x H x W, CbCr N x 2 x H x W)."""
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    y = KR * r + KG * g + KB * b
    cb = (b - y) / (2 * (1 - KB))
    cr = (r - y) / (2 * (1 - KR))
    return y, torch.cat([cb, cr], 1)


def ycbcr_to_rgb(y: torch.Tensor, cbcr: torch.Tensor) -> torch.Tensor:
    cb, cr = cbcr[:, 0:1], cbcr[:, 1:2]
    r = y + 2 * (1 - KR) * cr
    b = y + 2 * (1 - KB) * cb
    g = (y - KR * r - KB * b) / KG
    return torch.cat([r, g, b], 1)


def _norm(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, c), c)


class ResBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_norm(c), nn.SiLU(), nn.Conv2d(c, c, 3, 1, 1),
                                  _norm(c), nn.SiLU(), nn.Conv2d(c, c, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Down(nn.Module):
    def __init__(self, ci: int, co: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(ci, co, 4, 2, 1)
        self.block = ResBlock(co)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(self.conv(x))


class Up(nn.Module):
    def __init__(self, ci: int, skip: int, co: int) -> None:
        super().__init__()
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(ci, co, 3, 1, 1))
        self.fuse = nn.Sequential(_norm(co + skip), nn.SiLU(), nn.Conv2d(co + skip, co, 3, 1, 1))
        self.block = ResBlock(co)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.block(self.fuse(torch.cat([self.up(x), skip], 1)))


class GSColorizer(nn.Module):
    multiple_of = 16

    def __init__(self, base: int = 32, mid_blocks: int = 2) -> None:
        super().__init__()
        b = base
        chans = [b, 2 * b, 4 * b, 8 * b]          # at 1/2, 1/4, 1/8, 1/16 of the input
        self.stem = nn.Conv2d(1, b, 4, 2, 1)
        self.stem_block = ResBlock(b)
        self.downs = nn.ModuleList(Down(chans[i], chans[i + 1]) for i in range(3))
        c = chans[-1]
        self.mid = nn.Sequential(*[ResBlock(c) for _ in range(mid_blocks)])
        self.global_mlp = nn.Sequential(nn.Linear(c, c), nn.SiLU(), nn.Linear(c, c))
        self.ups = nn.ModuleList(Up(chans[i + 1], chans[i], chans[i]) for i in reversed(range(3)))
        self.head = nn.Sequential(_norm(b), nn.SiLU(), nn.Conv2d(b, 2, 3, 1, 1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        h = self.stem_block(self.stem(y * 2 - 1))
        skips = [h]
        for d in self.downs:
            h = d(h)
            skips.append(h)
        skips.pop()
        g = self.global_mlp(h.mean(dim=(2, 3)))
        h = self.mid(h + g[:, :, None, None])
        for u in self.ups:
            h = u(h, skips.pop())
        c = self.head(h)                       # chroma at 1/2 resolution (chroma is smooth)
        c = nn.functional.interpolate(c, scale_factor=2, mode="bilinear", align_corners=False)
        return 0.5 * torch.tanh(c)


def _detect(state_dict: dict) -> dict | None:
    w = state_dict.get("stem.weight")
    if w is None or "global_mlp.0.weight" not in state_dict:
        return None
    mids = {k.split(".")[1] for k in state_dict if k.startswith("mid.")}
    return {"base": int(w.shape[0]), "mid_blocks": len(mids)}


@register_arch("gscolorizer", detect=_detect)
def build(**kwargs) -> nn.Module:
    return GSColorizer(**kwargs)
