"""Small PatchGAN discriminator used to train the built-in inpainter (GSInpaint).

Spectral-normalised strided convolutions; ``forward`` returns the patch logits and the list of
intermediate feature maps (for the discriminator feature-matching loss). Input: RGB in [0, 1] plus
the hole mask (4 channels), so the critic knows where to look.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .registry import register_arch


@register_arch("inpaint_patchgan")
class InpaintPatchGAN(nn.Module):
    def __init__(self, in_ch: int = 4, base: int = 32, n_layers: int = 3) -> None:
        super().__init__()
        layers = []
        c = in_ch
        for i in range(n_layers):
            co = base * (2 ** i)
            layers.append(nn.Sequential(spectral_norm(nn.Conv2d(c, co, 4, 2, 1)), nn.LeakyReLU(0.2, True)))
            c = co
        self.features = nn.ModuleList(layers)
        self.head = nn.Sequential(spectral_norm(nn.Conv2d(c, c, 3, 1, 1)), nn.LeakyReLU(0.2, True),
                                  nn.Conv2d(c, 1, 3, 1, 1))

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h = torch.cat([image * 2 - 1, mask], dim=1)
        feats = []
        for layer in self.features:
            h = layer(h)
            feats.append(h)
        return self.head(h), feats
