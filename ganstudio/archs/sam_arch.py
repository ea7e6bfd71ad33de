"""SAM age transformation (yuval-alaluf/SAM): 4-channel pSp encoder + pretrained 3-channel pSp
encoder + StyleGAN2 decoder, official names.

Checkpoint ``sam_ffhq_aging.pt`` = ``{"state_dict": {encoder.*, pretrained_encoder.*, decoder.*},
"opts", "latent_avg" [18, 512]}``. Input: the aligned 256 face in [-1, 1] plus a constant channel
``target_age / 100`` -> [B, 4, 256, 256] (:func:`age_input`).
``codes = encoder(x4) + pretrained_encoder(x4[:, :3]) + latent_avg`` (the official
``start_from_encoded_w_plus`` path); each style head is independent (pSp GradualStyleEncoder).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from ganstudio.archs.e4e_arch import _bundle_kwargs, _PSPBundle, flatten_psp_checkpoint
from ganstudio.archs.psp_arch import GradualStyleEncoder, detect_encoder_kwargs
from ganstudio.archs.registry import register_arch
from ganstudio.archs.stylegan2_arch import Generator, split_prefix

__all__ = ["SAM", "age_input", "detect_sam_kwargs", "build_sam"]


def age_input(face: torch.Tensor, target_age: float | torch.Tensor) -> torch.Tensor:
    """[B,3,H,W] face in [-1,1] + constant age channel (``target_age / 100``) -> [B,4,H,W]."""
    b, _, h, w = face.shape
    age = torch.as_tensor(target_age, dtype=face.dtype, device=face.device).reshape(-1, 1, 1, 1) / 100.0
    return torch.cat([face, age.expand(b, 1, h, w)], dim=1)


class SAM(_PSPBundle):
    def __init__(self, stylegan_size: int = 1024, n_styles: int | None = None, style_dim: int = 512,
                 n_mlp: int = 8, channel_multiplier: float = 2, max_channels: int = 512,
                 encoder: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        import math

        n_styles = n_styles or 2 * int(math.log2(stylegan_size)) - 2
        enc_kw = dict(encoder or {})
        enc_kw.setdefault("style_dim", style_dim)
        enc_kw.pop("input_nc", None)
        enc_kw.pop("n_styles", None)
        self.encoder = GradualStyleEncoder(n_styles=n_styles, input_nc=4, **enc_kw)
        self.pretrained_encoder = GradualStyleEncoder(n_styles=n_styles, input_nc=3, **enc_kw)
        self.decoder = Generator(stylegan_size, style_dim, n_mlp, channel_multiplier=channel_multiplier,
                                 max_channels=max_channels)
        self.register_buffer("latent_avg", torch.zeros(n_styles, style_dim))

    def encode(self, x4: torch.Tensor) -> torch.Tensor:
        """[B,4,256,256] (face + age channel) -> W+ codes of the aged face."""
        if x4.shape[1] != 4:
            raise ValueError(f"SAM expects 4 input channels (RGB + age), got {x4.shape[1]}: use age_input()")
        encoded = self.pretrained_encoder(x4[:, :-1]) + self.latent_avg.unsqueeze(0)
        return self.encoder(x4) + encoded

    def encode_age(self, face: torch.Tensor, target_age: float) -> torch.Tensor:
        return self.encode(age_input(face, target_age))


def detect_sam_kwargs(sd: Mapping[str, Any]) -> dict | None:
    if not any(k.startswith("pretrained_encoder.") for k in sd):
        return None
    kw = _bundle_kwargs(sd)
    enc = detect_encoder_kwargs(split_prefix(sd, "encoder")) or {}
    if enc.get("n_styles"):
        kw["n_styles"] = enc["n_styles"]
    enc = {k: v for k, v in enc.items()
           if k in ("units", "widths") or (k == "mode" and v != "ir_se")}
    if enc:
        kw["encoder"] = enc
    return kw


def _convert(sd: dict, kwargs: dict) -> dict:
    if "state_dict" in sd and isinstance(sd["state_dict"], Mapping):
        return flatten_psp_checkpoint(sd)
    return sd


@register_arch("sam", detect=detect_sam_kwargs, convert=_convert)
def build_sam(**kwargs: Any) -> SAM:
    return SAM(**kwargs)
