"""Tiny random-weight face networks in the OFFICIAL checkpoint formats (for tests and demos).

The files written here have the layout of the real downloads, so every loader and command works
on them unchanged:

* :func:`write_rosinality_checkpoint` -> ``{"g_ema": state_dict, "latent_avg": [dim]}``
* :func:`write_e4e_checkpoint` -> ``{"state_dict": {encoder.*, decoder.*}, "opts", "latent_avg"}``
* :func:`write_sam_checkpoint` -> ``{"state_dict": {encoder.*, pretrained_encoder.*, decoder.*},
  "opts", "latent_avg"}``

:func:`seeded_state_dict` fills a module's state dict deterministically (sorted keys, one seeded
generator) with magnitudes that keep activations finite (fan-in scaled encoder convs, BatchNorm
near identity, non-zero biases and noise strengths), so numerical tests exercise every tensor.
torch is imported inside the functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["TINY_GENERATOR", "TINY_ENCODER", "tiny_generator_kwargs", "tiny_e4e_kwargs",
           "tiny_sam_kwargs", "seeded_state_dict", "write_rosinality_checkpoint",
           "write_e4e_checkpoint", "write_sam_checkpoint"]

# StyleGAN2 decoder: 32x32 output (8 W+ rows), 16 channels, 16-d styles, 2 mapping layers.
TINY_GENERATOR: dict[str, Any] = {"size": 32, "style_dim": 16, "n_mlp": 2, "max_channels": 16}
# IR-SE encoder: one unit per stage, widths 16/32/48/64 (SE reduction 16 needs >= 16).
TINY_ENCODER: dict[str, Any] = {"units": (1, 1, 1, 1), "widths": (16, 32, 48, 64)}


def tiny_generator_kwargs(**over: Any) -> dict:
    return {**TINY_GENERATOR, **over}


def tiny_e4e_kwargs(**over: Any) -> dict:
    g = TINY_GENERATOR
    kw = {"stylegan_size": g["size"], "style_dim": g["style_dim"], "n_mlp": g["n_mlp"],
          "max_channels": g["max_channels"], "encoder": dict(TINY_ENCODER)}
    kw.update(over)
    return kw


def tiny_sam_kwargs(**over: Any) -> dict:
    return tiny_e4e_kwargs(**over)


def seeded_state_dict(module, seed: int = 0) -> dict:
    """A deterministic, well-scaled random state dict with the keys and shapes of ``module``."""
    import torch
    from torch import nn

    kinds: dict[str, str] = {}
    for name, mod in module.named_modules():
        pre = f"{name}." if name else ""
        if isinstance(mod, nn.modules.batchnorm._BatchNorm):
            for p in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
                kinds[pre + p] = "bn_" + p
        elif isinstance(mod, nn.Conv2d):
            kinds[pre + "weight"] = "conv"
            kinds[pre + "bias"] = "bias"
        elif isinstance(mod, nn.PReLU):
            kinds[pre + "weight"] = "prelu"
    g = torch.Generator().manual_seed(int(seed))
    out = {}
    for key, val in sorted(module.state_dict().items()):
        kind = kinds.get(key, "")
        shape = tuple(val.shape)
        if not val.dtype.is_floating_point or key.endswith("kernel"):
            out[key] = val.clone()
        elif kind == "bn_running_var":
            out[key] = torch.rand(shape, generator=g) + 0.5
        elif kind == "bn_weight":
            out[key] = 1 + 0.1 * torch.randn(shape, generator=g)
        elif kind in ("bn_bias", "bn_running_mean", "bias"):
            out[key] = 0.1 * torch.randn(shape, generator=g)
        elif kind == "prelu":
            out[key] = 0.25 + 0.05 * torch.randn(shape, generator=g)
        elif kind == "conv":
            out[key] = torch.randn(shape, generator=g) / (val[0].numel() ** 0.5)
        elif key.endswith("noise.weight"):
            out[key] = 0.3 * torch.randn(shape, generator=g)
        elif key.endswith("bias") or key == "latent_avg":
            out[key] = 0.1 * torch.randn(shape, generator=g)
        else:
            out[key] = torch.randn(shape, generator=g)
    return out


def _save(obj: dict, path: str | Path) -> Path:
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path)
    return path


def write_rosinality_checkpoint(path: str | Path, seed: int = 0, **kwargs: Any) -> Path:
    """A rosinality-format StyleGAN2 checkpoint ``{"g_ema", "latent_avg"}`` (tiny by default)."""
    from ganstudio.archs.stylegan2_arch import Generator

    g = Generator(**(kwargs or tiny_generator_kwargs()))
    sd = seeded_state_dict(g, seed)
    g.load_state_dict(sd)
    return _save({"g_ema": sd, "latent_avg": g.mean_latent(256)[0].detach().clone()}, path)


def _psp_checkpoint(module, seed: int, opts: dict) -> dict:
    sd = seeded_state_dict(module, seed)
    latent_avg = sd.pop("latent_avg")
    return {"state_dict": sd, "opts": opts, "latent_avg": latent_avg}


def write_e4e_checkpoint(path: str | Path, seed: int = 0, **kwargs: Any) -> Path:
    """An e4e-format checkpoint (``encoder.*`` + ``decoder.*``, opts, latent_avg [n_styles, dim])."""
    from ganstudio.archs.e4e_arch import E4E

    kw = kwargs or tiny_e4e_kwargs()
    m = E4E(**kw)
    opts = {"encoder_type": "Encoder4Editing", "stylegan_size": m.decoder.size,
            "start_from_latent_avg": True, "checkpoint_path": None, "device": "cpu"}
    return _save(_psp_checkpoint(m, seed, opts), path)


def write_sam_checkpoint(path: str | Path, seed: int = 0, **kwargs: Any) -> Path:
    """A SAM-format checkpoint (4-ch ``encoder.*``, ``pretrained_encoder.*``, ``decoder.*``)."""
    from ganstudio.archs.sam_arch import SAM

    kw = kwargs or tiny_sam_kwargs()
    m = SAM(**kw)
    opts = {"output_size": m.decoder.size, "input_nc": 4, "start_from_latent_avg": False,
            "start_from_encoded_w_plus": True, "checkpoint_path": None, "device": "cpu"}
    return _save(_psp_checkpoint(m, seed, opts), path)
