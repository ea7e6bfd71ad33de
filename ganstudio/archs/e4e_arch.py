"""encoder4editing (omertov/encoder4editing): ``Encoder4Editing`` + the StyleGAN2 decoder.

Checkpoint ``e4e_ffhq_encode.pt`` = ``{"state_dict": {encoder.*, decoder.*}, "opts": dict,
"latent_avg": [18, 512]}``. :class:`E4E` has exactly the keys ``encoder.*``, ``decoder.*`` and
``latent_avg`` (the checkpoint's top-level average, flattened in by
:func:`flatten_psp_checkpoint`), so a strict load checks all three in both directions.

Encoder4Editing forward (as the official one): IR-SE-50 taps c1/c2/c3; ``w = styles[0](c3)``
repeated ``style_count`` times; for ``i = 1 .. min(stage + 1, style_count) - 1`` add
``styles[i](features)`` where the features are c3, then the FPN level p2 from i == 3 and p1 from
i == 7 (``progressive_stage`` = 18 at inference). Codes + latent_avg -> W+ [B, 18, 512], decoded
with ``input_is_latent=True, randomize_noise=False``. Input: aligned face 256x256 in [-1, 1].
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch
from torch import nn
from torch.nn import functional as F

from ganstudio.archs.psp_arch import IRSEBackbone, detect_encoder_kwargs, upsample_add
from ganstudio.archs.registry import register_arch
from ganstudio.archs.stylegan2_arch import Generator, detect_generator_kwargs, split_prefix

__all__ = ["Encoder4Editing", "E4E", "flatten_psp_checkpoint", "detect_e4e_kwargs", "build_e4e"]

INFERENCE_STAGE = 18
PSP_PREFIXES = ("encoder", "pretrained_encoder", "decoder")


class Encoder4Editing(IRSEBackbone):
    """e4e encoder: one base code + per-layer deltas. ``stylegan_size`` fixes the number of styles
    (2*log2(size) - 2: 18 for 1024); ``progressive_stage`` (0..18) limits the deltas as in training."""

    def __init__(self, stylegan_size: int = 1024, input_nc: int = 3, num_layers: int = 50,
                 mode: str = "ir_se", units=None, widths=(64, 128, 256, 512), style_dim: int = 512,
                 n_styles: int | None = None) -> None:
        if n_styles is None:
            n_styles = 2 * int(math.log2(stylegan_size)) - 2
        super().__init__(n_styles=n_styles, input_nc=input_nc, num_layers=num_layers, mode=mode,
                         units=units, widths=widths, style_dim=style_dim)
        self.progressive_stage = INFERENCE_STAGE

    def get_deltas_starting_dimensions(self) -> list[int]:
        return list(range(self.style_count))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c1, c2, c3 = self.features(x)
        w0 = self.styles[0](c3)
        rows = [w0] * self.style_count
        features = c3
        p2 = None
        for i in range(1, min(int(self.progressive_stage) + 1, self.style_count)):
            if i == self.coarse_ind:
                p2 = upsample_add(c3, self.latlayer1(c2))
                features = p2
            elif i == self.middle_ind:
                features = upsample_add(p2, self.latlayer2(c1))
            rows[i] = w0 + self.styles[i](features)
        return torch.stack(rows, dim=1)


class _PSPBundle(nn.Module):
    """Encoder(s) + StyleGAN2 decoder + latent average (buffer ``latent_avg`` [n_styles, dim])."""

    def encode(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - overridden
        raise NotImplementedError

    def decode(self, codes: torch.Tensor, resize: bool = False) -> torch.Tensor:
        """W+ codes -> image in about [-1, 1] (stored noise; ``resize`` = the official 256 face pool)."""
        img = self.decoder(codes, input_is_latent=True, randomize_noise=False)[0]
        if resize and img.shape[-1] != 256:
            img = F.adaptive_avg_pool2d(img, (256, 256))
        return img

    def forward(self, x: torch.Tensor, resize: bool = False):
        """``(image, codes)`` for an aligned face batch."""
        codes = self.encode(x)
        return self.decode(codes, resize=resize), codes


class E4E(_PSPBundle):
    def __init__(self, stylegan_size: int = 1024, style_dim: int = 512, n_mlp: int = 8,
                 channel_multiplier: float = 2, max_channels: int = 512,
                 encoder: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        enc_kw = dict(encoder or {})
        enc_kw.setdefault("stylegan_size", stylegan_size)
        enc_kw.setdefault("style_dim", style_dim)
        self.encoder = Encoder4Editing(**enc_kw)
        self.decoder = Generator(stylegan_size, style_dim, n_mlp, channel_multiplier=channel_multiplier,
                                 max_channels=max_channels)
        self.register_buffer("latent_avg", torch.zeros(self.encoder.style_count, style_dim))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Aligned faces [B,3,256,256] in [-1,1] -> W+ [B, n_styles, dim] (latent_avg added)."""
        return self.encoder(x) + self.latent_avg.unsqueeze(0)


def flatten_psp_checkpoint(obj: Mapping[str, Any], n_styles: int | None = None) -> dict[str, Any]:
    """One flat tensor dict from an e4e / SAM / pSp checkpoint: the ``state_dict`` entries plus
    ``latent_avg`` ([dim] averages are repeated to ``n_styles`` rows, as the official code does)."""
    if not isinstance(obj, Mapping):
        raise ValueError(f"not an e4e/pSp checkpoint (got {type(obj).__name__})")
    sd = obj.get("state_dict", obj)
    if not isinstance(sd, Mapping) or not any(k.startswith("encoder.") for k in sd):
        have = ", ".join(list(obj)[:8])
        raise ValueError(f"not an e4e/pSp checkpoint: no state_dict with encoder.* keys (has: {have})")
    # the official loaders read only these prefixes (anything else in the file is ignored there too)
    out = {k: v for k, v in sd.items()
           if isinstance(v, torch.Tensor) and k.split(".", 1)[0] in PSP_PREFIXES}
    avg = obj.get("latent_avg", sd.get("latent_avg"))
    if avg is None:
        raise ValueError("the checkpoint has no latent_avg (e4e / SAM inference needs it)")
    if avg.ndim == 1:
        rows = n_styles or len({k.split(".")[2] for k in out if k.startswith("encoder.styles.")})
        avg = avg.unsqueeze(0).repeat(rows, 1)
    out["latent_avg"] = avg
    return out


def _bundle_kwargs(sd: Mapping[str, Any]) -> dict:
    dec = detect_generator_kwargs(split_prefix(sd, "decoder")) or {}
    kw: dict[str, Any] = {}
    if dec:
        kw["stylegan_size"] = dec["size"]
        for k in ("style_dim", "n_mlp", "channel_multiplier", "max_channels"):
            if k in dec:
                kw[k] = dec[k]
    return kw


def detect_e4e_kwargs(sd: Mapping[str, Any]) -> dict | None:
    if not any(k.startswith("encoder.") for k in sd) or not any(k.startswith("decoder.") for k in sd):
        return None
    kw = _bundle_kwargs(sd)
    enc = detect_encoder_kwargs(split_prefix(sd, "encoder")) or {}
    enc.pop("n_styles", None)
    enc.pop("style_dim", None)
    defaults = {"input_nc": 3, "mode": "ir_se"}
    enc = {k: v for k, v in enc.items() if defaults.get(k, object()) != v}
    if enc:
        kw["encoder"] = enc
    return kw


def _convert(sd: dict, kwargs: dict) -> dict:
    if "state_dict" in sd and isinstance(sd["state_dict"], Mapping):
        return flatten_psp_checkpoint(sd)
    return sd


@register_arch("e4e", detect=detect_e4e_kwargs, convert=_convert)
def build_e4e(**kwargs: Any) -> E4E:
    return E4E(**kwargs)
