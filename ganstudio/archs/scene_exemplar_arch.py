"""SceneExemplar: the built-in scene painter, an exemplar-guided SPADE generator.

Input: the label map (one-hot, ``label_nc`` channels), the *guide* (a collage of real photo texture
for each painted class, built from the exemplar bank this model carries: ``scene_exemplar_bank``)
and noise. Output: RGB in [-1, 1]. The generator refines the collage into one picture: it hides
the seams between classes and sources, gives filled areas texture, matches light and colour.

* Encoder on [one-hot, guide]: 3x3 convs at 1/1 (``ch[0]``), 1/2 (``ch[1]``), 1/4 (``ch[2]``).
* ``n_blocks`` SPADE residual blocks at 1/4, the SPADE condition = [one-hot, guide] (InstanceNorm
  without affine + per-pixel gamma / beta; per-pixel noise with a learned per-channel strength on
  the normalised features, StyleGAN-style, for variations).
* Decoder: nearest x2 + 3x3 conv, concatenated with the encoder's features of that level (U-Net
  skips), a SPADE block at full size, ``conv_img``.
* Residual on the guide: ``out = tanh(atanh(guide) + conv_img(...))``; ``conv_img`` starts at zero, so
  an untrained model returns the collage and training only adds what the discriminator asks for.
* The exemplar bank lives in the state dict as uint8 buffers ``bank_images`` (N, H, W, 3) and
  ``bank_labels`` (N, H, W): one safetensors file holds the whole model.

Sizes: any multiple of 4. The discriminator of the compact model (``scene_compact_arch``) trains it.
The ``register_arch`` hook builds it by name ``scene_exemplar``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .scene_compact_arch import SPADENorm
from .scene_exemplar_bank import BANK_H, BANK_W, ExemplarBank, compose


class ExemplarBlock(nn.Module):
    def __init__(self, ch: int, cond_nc: int, hidden: int) -> None:
        super().__init__()
        self.norm_0 = SPADENorm(ch, cond_nc, hidden)
        self.conv_0 = nn.Conv2d(ch, ch, 3, padding=1)
        self.norm_1 = SPADENorm(ch, cond_nc, hidden)
        self.conv_1 = nn.Conv2d(ch, ch, 3, padding=1)
        self.noise_strength = nn.Parameter(torch.full((1, ch, 1, 1), 0.1))

    def forward(self, x: torch.Tensor, cond: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        cond = F.interpolate(cond, size=x.shape[-2:], mode="bilinear", align_corners=False)
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, cond, self.noise_strength * noise), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, cond), 0.2))
        return x + dx


class SceneExemplar(nn.Module):
    def __init__(self, label_nc: int = 8, ch: tuple[int, ...] = (32, 64, 128), n_blocks: int = 3,
                 hidden: int = 64, bank_size: int = 0, bank_h: int = BANK_H, bank_w: int = BANK_W) -> None:
        super().__init__()
        self.label_nc = label_nc
        cond_nc = label_nc + 3
        c0, c1, c2 = ch
        self.enc0 = nn.Conv2d(cond_nc, c0, 3, padding=1)
        self.enc1 = nn.Conv2d(c0, c1, 3, stride=2, padding=1)
        self.enc2 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.blocks = nn.ModuleList(ExemplarBlock(c2, cond_nc, hidden) for _ in range(n_blocks))
        self.up1 = nn.Conv2d(c2, c1, 3, padding=1)
        self.fuse1 = nn.Conv2d(2 * c1, c1, 3, padding=1)
        self.up0 = nn.Conv2d(c1, c0, 3, padding=1)
        self.fuse0 = nn.Conv2d(2 * c0, c0, 3, padding=1)
        self.out_block = ExemplarBlock(c0, cond_nc, min(hidden, 32))
        self.conv_img = nn.Conv2d(c0, 3, 3, padding=1)
        nn.init.zeros_(self.conv_img.weight)
        nn.init.zeros_(self.conv_img.bias)
        self.register_buffer("bank_images", torch.zeros(bank_size, bank_h, bank_w, 3, dtype=torch.uint8))
        self.register_buffer("bank_labels", torch.zeros(bank_size, bank_h, bank_w, dtype=torch.uint8))
        self._bank: ExemplarBank | None = None

    multiple = 4

    # -- the exemplar bank ----------------------------------------------------------------------------
    def set_bank(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.bank_images = torch.from_numpy(np.ascontiguousarray(images, np.uint8))
        self.bank_labels = torch.from_numpy(np.ascontiguousarray(labels, np.uint8))
        self._bank = None

    @property
    def bank(self) -> ExemplarBank:
        if self._bank is None or len(self._bank) != self.bank_images.shape[0]:
            if self.bank_images.shape[0] == 0:
                raise ValueError("this scene model has no exemplar bank")
            self._bank = ExemplarBank(self.bank_images.cpu().numpy(), self.bank_labels.cpu().numpy(),
                                      self.label_nc)
        return self._bank

    def guide_for(self, labels: np.ndarray, seed: int = 0, exclude: frozenset[int] = frozenset()
                  ) -> torch.Tensor:
        """The collage of a label map (HxW class ids) as a (1, 3, H, W) tensor in [-1, 1]."""
        g = compose(np.asarray(labels), self.bank, np.random.default_rng(seed), exclude)
        return torch.from_numpy(g).permute(2, 0, 1)[None].float().div(127.5).sub(1)

    # -- the generator ----------------------------------------------------------------------------------
    def noise_for(self, seg: torch.Tensor, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        b, _, h, w = seg.shape
        q = [torch.randn(b, 1, h // 4, w // 4, generator=generator, device=seg.device)
             for _ in self.blocks]
        return [*q, torch.randn(b, 1, h, w, generator=generator, device=seg.device)]

    def forward(self, seg: torch.Tensor, guide: torch.Tensor, noise: list[torch.Tensor] | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        h, w = seg.shape[-2:]
        if h % 4 or w % 4:
            raise ValueError(f"SceneExemplar needs sizes divisible by 4, got {w}x{h}")
        if noise is None:
            noise = self.noise_for(seg, generator)
        noise = [t.to(seg.dtype) for t in noise]
        guide = guide.to(seg.dtype)
        cond = torch.cat([seg, guide], 1)
        e0 = F.leaky_relu(self.enc0(cond), 0.2)
        e1 = F.leaky_relu(self.enc1(e0), 0.2)
        x = F.leaky_relu(self.enc2(e1), 0.2)
        for blk, n in zip(self.blocks, noise):
            x = blk(x, cond, n)
        x = F.leaky_relu(self.up1(F.interpolate(x, scale_factor=2, mode="nearest")), 0.2)
        x = F.leaky_relu(self.fuse1(torch.cat([x, e1], 1)), 0.2)
        x = F.leaky_relu(self.up0(F.interpolate(x, scale_factor=2, mode="nearest")), 0.2)
        x = F.leaky_relu(self.fuse0(torch.cat([x, e0], 1)), 0.2)
        x = self.out_block(x, cond, noise[-1])
        res = self.conv_img(F.leaky_relu(x, 0.2))
        base = torch.atanh(guide.float().clamp(-0.995, 0.995)).to(res.dtype)
        return torch.tanh(base + res)


def _detect(sd: dict) -> dict | None:
    if "enc0.weight" not in sd or "bank_images" not in sd:
        return None
    n_blocks = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
    bank = sd["bank_images"]
    return {"label_nc": int(sd["enc0.weight"].shape[1]) - 3,
            "ch": (int(sd["enc0.weight"].shape[0]), int(sd["enc1.weight"].shape[0]),
                   int(sd["enc2.weight"].shape[0])),
            "n_blocks": n_blocks, "hidden": int(sd["blocks.0.norm_0.mlp_shared.0.weight"].shape[0]),
            "bank_size": int(bank.shape[0]), "bank_h": int(bank.shape[1]), "bank_w": int(bank.shape[2])}


def build(**kwargs) -> SceneExemplar:
    if "ch" in kwargs:
        kwargs["ch"] = tuple(kwargs["ch"])
    return SceneExemplar(**kwargs)


try:  # the task platform's registry
    from .registry import register_arch
except ImportError:  # pragma: no cover
    register_arch = None
if register_arch is not None:
    register_arch("scene_exemplar", detect=_detect)(build)
