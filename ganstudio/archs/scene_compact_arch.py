"""SceneCompact: the built-in scene painter (a compact SPADE-style generator) and its discriminator.

Generator (``SceneCompact``): label map (one-hot, ``label_nc`` channels) + noise -> RGB in [-1, 1].
* Fully convolutional: the lowest level is 1/16 of the output size (any size divisible by 16).
* ``fc``: 3x3 conv on [one-hot resized (nearest) to 1/16, ``z_ch`` channels of Gaussian noise]
  (the noise map at 1/16 sets the large-scale look).
* 5 SPADE residual blocks (as in SPADE: ``x + conv(relu(SPADE(x)))`` pairs, learned 1x1 shortcut
  without normalisation where the width changes) at 1/16, 1/8, 1/4, 1/2, 1/1, nearest x2 upsampling between them.
  SPADE here = parameter-free InstanceNorm + label-conditioned per-pixel gamma / beta
  (``norm(x) * (1 + gamma) + beta``); every block's first SPADE also gets per-pixel noise with a
  learned per-channel strength added to the normalised features (StyleGAN-style), for texture.
* Noise (``noise_for``): z at 1/16 = bilinear-upsampled noise from a 4x coarser grid + 0.35 x
  per-cell noise; one N(0, 1) map per block at its resolution. One seed = one variation.
* ``conv_img`` 3x3 -> tanh.

Discriminator (training only, ``SceneMSDiscriminator``): 2 PatchGANs (one at 1/2 scale) on
[image, one-hot], spectral norm, LeakyReLU; returns the logits and intermediate features (for the
feature-matching loss).

The ``register_arch`` hook (task platform) builds it by name ``scene_compact``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SPADENorm(nn.Module):
    def __init__(self, ch: int, label_nc: int, hidden: int) -> None:
        super().__init__()
        self.param_free_norm = nn.InstanceNorm2d(ch, affine=False)
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, hidden, 3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, ch, 3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, ch, 3, padding=1)

    def forward(self, x: torch.Tensor, seg: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        n = self.param_free_norm(x)
        if noise is not None:
            n = n + noise
        a = self.mlp_shared(seg)
        return n * (1 + self.mlp_gamma(a)) + self.mlp_beta(a)


class SceneBlock(nn.Module):
    def __init__(self, fin: int, fout: int, label_nc: int, hidden: int) -> None:
        super().__init__()
        fmid = min(fin, fout)
        self.learned_shortcut = fin != fout
        self.conv_0 = nn.Conv2d(fin, fmid, 3, padding=1)
        self.conv_1 = nn.Conv2d(fmid, fout, 3, padding=1)
        self.norm_0 = SPADENorm(fin, label_nc, hidden)
        self.norm_1 = SPADENorm(fmid, label_nc, hidden)
        if self.learned_shortcut:
            self.conv_s = nn.Conv2d(fin, fout, 1, bias=False)
        self.noise_strength = nn.Parameter(torch.zeros(1, fin, 1, 1))

    def forward(self, x: torch.Tensor, seg: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        seg = F.interpolate(seg, size=x.shape[-2:], mode="nearest")
        xs = self.conv_s(x) if self.learned_shortcut else x
        # per-pixel noise on the normalised features (unit variance), learned strength per channel
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg, self.noise_strength * noise), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 0.2))
        return xs + dx


class SceneCompact(nn.Module):
    def __init__(self, label_nc: int = 8, ngf: int = 16, z_ch: int = 16,
                 widths: tuple[int, ...] = (8, 8, 4, 2, 1), hidden: int = 64) -> None:
        super().__init__()
        self.label_nc = label_nc
        self.z_ch = z_ch
        self.levels = len(widths) - 1           # x2 upsamplings: lowest level = 1/2^levels
        chans = [ngf * w for w in widths]
        self.fc = nn.Conv2d(label_nc + z_ch, chans[0], 3, padding=1)
        self.blocks = nn.ModuleList(
            SceneBlock(chans[max(0, i - 1)], c, label_nc, min(hidden, max(16, c)))
            for i, c in enumerate(chans))
        self.conv_img = nn.Conv2d(chans[-1], 3, 3, padding=1)

    @property
    def multiple(self) -> int:
        return 2 ** self.levels

    def noise_for(self, seg: torch.Tensor, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """The noise inputs for a one-hot ``seg`` (B, C, H, W): [z map, one map per block]."""
        b, _, h, w = seg.shape
        m = self.multiple
        sizes = [(h // m * 2 ** i, w // m * 2 ** i) for i in range(self.levels + 1)]
        dev = seg.device
        # z: spatially smooth (bilinear from a 4x coarser grid) plus a weaker per-cell part, so the
        # 1/16 grid does not print as blocks
        h0, w0 = sizes[0]
        coarse = torch.randn(b, self.z_ch, max(1, h0 // 4), max(1, w0 // 4), generator=generator, device=dev)
        fine = torch.randn(b, self.z_ch, h0, w0, generator=generator, device=dev)
        z = (F.interpolate(coarse, size=(h0, w0), mode="bilinear", align_corners=False) + 0.35 * fine) / 1.06
        per = [torch.randn(b, 1, *sizes[i], generator=generator, device=dev)
               for i in range(len(self.blocks))]
        return [z, *per]

    def forward(self, seg: torch.Tensor, noise: list[torch.Tensor] | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        h, w = seg.shape[-2:]
        m = self.multiple
        if h % m or w % m:
            raise ValueError(f"SceneCompact needs sizes divisible by {m}, got {w}x{h}")
        if noise is None:
            noise = self.noise_for(seg, generator)
        noise = [t.to(seg.dtype) for t in noise]
        x = self.fc(torch.cat([F.interpolate(seg, size=noise[0].shape[-2:], mode="nearest"),
                               noise[0]], 1))
        for i, blk in enumerate(self.blocks):
            if i > 0:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = blk(x, seg, noise[1 + i])
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


class PatchD(nn.Module):
    def __init__(self, in_ch: int, ndf: int = 32, n_layers: int = 3) -> None:
        super().__init__()
        sn = nn.utils.spectral_norm
        layers = [nn.Sequential(nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2))]
        nf = ndf
        for i in range(1, n_layers):
            nf_prev, nf = nf, min(nf * 2, 256)
            stride = 2 if i < n_layers - 1 else 1
            layers.append(nn.Sequential(sn(nn.Conv2d(nf_prev, nf, 4, stride, 1)), nn.LeakyReLU(0.2)))
        layers.append(nn.Conv2d(nf, 1, 4, 1, 1))
        self.body = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for layer in self.body:
            x = layer(x)
            feats.append(x)
        return feats


class SceneMSDiscriminator(nn.Module):
    def __init__(self, label_nc: int = 8, ndf: int = 32, n_layers: int = 3, num_d: int = 2) -> None:
        super().__init__()
        self.ds = nn.ModuleList(PatchD(3 + label_nc, ndf, n_layers) for _ in range(num_d))

    def forward(self, img: torch.Tensor, seg: torch.Tensor) -> list[list[torch.Tensor]]:
        x = torch.cat([img, seg], 1)
        out = []
        for i, d in enumerate(self.ds):
            if i:
                x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
            out.append(d(x))
        return out


def _detect(sd: dict) -> dict | None:
    w = sd.get("fc.weight")
    if w is None or "blocks.0.conv_0.weight" not in sd:
        return None
    n_blocks = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
    label_nc = int(sd["blocks.0.norm_0.mlp_shared.0.weight"].shape[1])
    z_ch = int(w.shape[1]) - label_nc
    chans = [int(sd[f"blocks.{i}.conv_1.weight"].shape[0]) for i in range(n_blocks)]
    ngf = chans[-1]
    return {"label_nc": label_nc, "ngf": ngf, "z_ch": z_ch,
            "widths": tuple(c // ngf for c in chans),
            "hidden": int(sd["blocks.0.norm_0.mlp_shared.0.weight"].shape[0])}


def build(**kwargs) -> SceneCompact:
    if "widths" in kwargs:
        kwargs["widths"] = tuple(kwargs["widths"])
    return SceneCompact(**kwargs)


try:  # the task platform's registry (issue 8); absent in older trees
    from .registry import register_arch
except ImportError:  # pragma: no cover
    register_arch = None
if register_arch is not None:
    register_arch("scene_compact", detect=_detect)(build)
