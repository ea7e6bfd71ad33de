"""Tiny random-weight state dicts with the official key names, for fast tests (any task's tests).

Shapes follow the official BasicSR / Real-ESRGAN checkpoints (shared MODELS.md section 1), only
with small widths / depths, so the same loaders and strict loading are exercised.
"""

from __future__ import annotations

from typing import Any


def rrdbnet_state_dict(num_block: int = 1, num_feat: int = 8, num_grow_ch: int = 32, scale: int = 4,
                       num_in_ch: int = 3, num_out_ch: int = 3, seed: int = 0, std: float = 0.05,
                       zeros: bool = False) -> dict[str, Any]:
    """RRDBNet (conv_first, body.N.rdbK.convM, conv_body, conv_up1/2, conv_hr, conv_last).

    num_grow_ch stays 32: spandrel's RRDBNet fixes it (every public checkpoint uses 32)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    in_ch = num_in_ch * {4: 1, 2: 4, 1: 16}[scale]
    shapes: dict[str, tuple[int, ...]] = {"conv_first": (num_feat, in_ch, 3, 3)}
    for b in range(num_block):
        for r in (1, 2, 3):
            for c in range(1, 6):
                cin = num_feat + (c - 1) * num_grow_ch
                cout = num_grow_ch if c < 5 else num_feat
                shapes[f"body.{b}.rdb{r}.conv{c}"] = (cout, cin, 3, 3)
    for n in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        shapes[n] = (num_feat, num_feat, 3, 3)
    shapes["conv_last"] = (num_out_ch, num_feat, 3, 3)
    sd = {}
    for n, shp in shapes.items():
        if zeros:
            sd[f"{n}.weight"] = torch.zeros(shp)
        else:
            sd[f"{n}.weight"] = torch.randn(shp, generator=g) * std
        sd[f"{n}.bias"] = torch.zeros(shp[0]) if zeros else torch.randn(shp[0], generator=g) * 0.01
    return sd


def srvgg_state_dict(num_conv: int = 2, num_feat: int = 8, upscale: int = 4, num_in_ch: int = 3,
                     num_out_ch: int = 3, seed: int = 0, std: float = 0.1,
                     identity: bool = False) -> dict[str, Any]:
    """SRVGGNetCompact (body.0 conv, body.1 PReLU, ..., last conv to out*upscale^2).

    ``identity=True``: all-zero convs, so the output is exactly the nearest-upsampled input."""
    import torch

    g = torch.Generator().manual_seed(seed)
    sd: dict[str, Any] = {}
    i = 0

    def conv(cout: int, cin: int) -> None:
        nonlocal i
        w = torch.zeros(cout, cin, 3, 3) if identity else torch.randn(cout, cin, 3, 3, generator=g) * std
        sd[f"body.{i}.weight"] = w
        sd[f"body.{i}.bias"] = torch.zeros(cout) if identity else torch.randn(cout, generator=g) * 0.01
        i += 1

    def prelu() -> None:
        nonlocal i
        sd[f"body.{i}.weight"] = torch.full((num_feat,), 0.25)
        i += 1

    conv(num_feat, num_in_ch)
    prelu()
    for _ in range(num_conv):
        conv(num_feat, num_feat)
        prelu()
    conv(num_out_ch * upscale * upscale, num_feat)
    return sd


def save_safetensors(sd: dict[str, Any], path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
