"""GSInpaint: GAN Studio's compact built-in inpainting generator (trained by ``ganstudio train inpaint``).

Design (a few hundred thousand parameters, fully convolutional, CPU friendly):

* ``PushPullFill`` (no parameters) fills the hole with a smooth pyramid interpolation of the known
  pixels (average-pool "push" of the valid pixels, bilinear "pull" back into the hole). It is a
  classical prior, comparable to diffusion inpainting, that gives the network a coarse colour guess.
* A small U-shaped network (stem at full resolution, two stride-2 downsamplings, ``n_blocks``
  residual blocks at 1/4 resolution, nearest upsampling + conv with additive skips) predicts a
  *residual* on top of the coarse fill. Each residual block mixes a local dilated 3x3 convolution
  with a global Fourier unit (1x1 convolution in the 2-D real FFT domain, as in LaMa's FFC) so the
  receptive field covers the whole image at any size.
* Output = clamp(coarse + residual) in [0, 1]; the caller composites it into the hole.

Input: ``image`` Bx3xHxW in [0, 1] and ``mask`` Bx1xHxW (1 = hole). H and W must be multiples of
``MULTIPLE`` (pad with reflect padding first). The last convolution starts at zero, so an untrained
network returns exactly the push-pull fill.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .registry import register_arch

MULTIPLE = 4


class PushPullFill(nn.Module):
    """Fill ``mask`` holes of ``image`` by pyramid push-pull interpolation (no learnable parameters)."""

    def __init__(self, min_size: int = 2) -> None:
        super().__init__()
        self.min_size = min_size

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        valid = 1.0 - mask
        return self._fill(image * valid, valid)

    def _fill(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        h, wd = x.shape[-2:]
        if min(h, wd) <= self.min_size:
            total = w.sum(dim=(-2, -1), keepdim=True)
            mean = (x * w).sum(dim=(-2, -1), keepdim=True) / total.clamp_min(1e-6)
            mean = torch.where(total > 0, mean, torch.full_like(mean, 0.5))
            return x * w + mean * (1.0 - w)
        xs = F.avg_pool2d(x * w, 2, ceil_mode=True)
        ws = F.avg_pool2d(w, 2, ceil_mode=True)
        xd = xs / ws.clamp_min(1e-6)
        wd_ = (ws > 1e-6).to(x.dtype)
        coarse = self._fill(xd * wd_, wd_)
        up = F.interpolate(coarse, size=(h, wd), mode="bilinear", align_corners=False)
        return x * w + up * (1.0 - w)


class FourierUnit(nn.Module):
    """1x1 convolution in the frequency domain (real/imag interleaved per channel, as LaMa)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels * 2, channels * 2, 1, bias=True)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        dtype = x.dtype
        ff = torch.fft.rfft2(x.float(), norm="ortho")
        ff = torch.stack((ff.real, ff.imag), dim=2).reshape(b, c * 2, h, w // 2 + 1)
        ff = self.act(self.conv(ff.to(dtype))).float()
        ff = ff.reshape(b, c, 2, h, w // 2 + 1)
        out = torch.fft.irfft2(torch.complex(ff[:, :, 0], ff[:, :, 1]), s=(h, w), norm="ortho")
        return out.to(dtype)


class FFCBlock(nn.Module):
    """Residual block: local dilated 3x3 branch + global Fourier branch, merged by a 1x1 conv."""

    def __init__(self, channels: int, dilation: int = 1, global_ratio: float = 0.25) -> None:
        super().__init__()
        cl = channels // 2
        cg = max(1, int(channels * global_ratio))
        self.local = nn.Conv2d(channels, cl, 3, padding=dilation, dilation=dilation,
                               padding_mode="reflect")
        self.reduce = nn.Conv2d(channels, cg, 1)
        self.fu = FourierUnit(cg)
        self.merge = nn.Conv2d(cl + cg, channels, 1)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        loc = self.act(self.local(x))
        g = self.act(self.reduce(x))
        g = g + self.fu(g)
        return x + self.merge(torch.cat([loc, g], dim=1))


def _conv(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, padding_mode="reflect")


class GSInpaint(nn.Module):
    MULTIPLE = MULTIPLE

    def __init__(self, base: int = 24, n_blocks: int = 6, dilations: tuple[int, ...] = (1, 2, 4)) -> None:
        super().__init__()
        c1, c2, c3 = base, base * 2, base * 4
        self.config = {"base": base, "n_blocks": n_blocks, "dilations": list(dilations)}
        self.fill = PushPullFill()
        self.stem = _conv(7, c1, 5)
        self.down1 = _conv(c1, c2, 3, 2)
        self.down2 = _conv(c2, c3, 3, 2)
        self.blocks = nn.Sequential(*[FFCBlock(c3, dilations[i % len(dilations)]) for i in range(n_blocks)])
        self.up1 = _conv(c3, c2)
        self.up2 = _conv(c2, c1)
        self.out = _conv(c1, 3)
        self.act = nn.LeakyReLU(0.2, inplace=True)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """image Bx3xHxW in [0,1], mask Bx1xHxW (1 = hole) -> prediction Bx3xHxW in [0,1]."""
        mask = (mask > 0.5).to(image.dtype)
        coarse = self.fill(image, mask)
        x = torch.cat([image * (1.0 - mask) * 2 - 1, mask, coarse * 2 - 1], dim=1)
        s1 = self.act(self.stem(x))
        s2 = self.act(self.down1(s1))
        h = self.act(self.down2(s2))
        h = self.blocks(h)
        h = self.act(self.up1(F.interpolate(h, scale_factor=2.0, mode="nearest"))) + s2
        h = self.act(self.up2(F.interpolate(h, scale_factor=2.0, mode="nearest"))) + s1
        return (coarse + self.out(h)).clamp(0.0, 1.0)


def config_from_state_dict(state: dict) -> dict:
    """Infer the constructor arguments from a state dict (weights files carry no code)."""
    base = int(state["stem.weight"].shape[0])
    n_blocks = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
    return {"base": base, "n_blocks": n_blocks}


@register_arch("gsinpaint", detect=config_from_state_dict)
def build_gsinpaint(base: int = 24, n_blocks: int = 6, dilations=(1, 2, 4)) -> GSInpaint:
    """Catalog arch ``gsinpaint`` (``arch_kwargs = { base, n_blocks }``)."""
    return GSInpaint(base=base, n_blocks=n_blocks, dilations=tuple(dilations))
