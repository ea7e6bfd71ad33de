"""Architectures load through spandrel with the official key names, strictly."""

from __future__ import annotations

import pytest
import torch

from ganstudio.models.loader import WrongModelError, build_from_state_dict
from ganstudio.models.testing import rrdbnet_state_dict, srvgg_state_dict


def _official_x4plus_shapes() -> dict[str, tuple[int, ...]]:
    """RealESRGAN_x4plus.pth params_ema names and shapes (shared MODELS.md section 1)."""
    shapes = {"conv_first.weight": (64, 3, 3, 3), "conv_first.bias": (64,)}
    for b in range(23):
        for r in (1, 2, 3):
            for c, cin in zip(range(1, 6), (64, 96, 128, 160, 192), strict=True):
                cout = 32 if c < 5 else 64
                shapes[f"body.{b}.rdb{r}.conv{c}.weight"] = (cout, cin, 3, 3)
                shapes[f"body.{b}.rdb{r}.conv{c}.bias"] = (cout,)
    for n in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        shapes[f"{n}.weight"] = (64, 64, 3, 3)
        shapes[f"{n}.bias"] = (64,)
    shapes["conv_last.weight"] = (3, 64, 3, 3)
    shapes["conv_last.bias"] = (3,)
    return shapes


def test_real_x4plus_shapes_load_strictly():
    shapes = _official_x4plus_shapes()
    assert len(shapes) == 702
    sd = {k: torch.zeros(s) for k, s in shapes.items()}
    lm = build_from_state_dict(sd, mid="x4plus", task="super_resolution")
    assert lm.arch == "ESRGAN" and lm.scale == 4 and lm.input_channels == 3
    n_params = sum(p.numel() for p in lm.module.parameters())
    assert n_params == sum(torch.Size(s).numel() for s in shapes.values())  # 16,697,987
    assert n_params == 16697987


def test_tiny_configs_with_official_names():
    for scale in (4, 2):
        lm = build_from_state_dict(rrdbnet_state_dict(scale=scale), task="super_resolution")
        assert lm.scale == scale
        x = torch.rand(1, 3, 8, 8)
        assert lm.module(x).shape[-1] == 8 * scale
    lm = build_from_state_dict(srvgg_state_dict(num_conv=3, upscale=3), task="super_resolution")
    assert lm.arch == "Compact" and lm.scale == 3


def test_extra_or_missing_keys_fail_strict_loading():
    sd = rrdbnet_state_dict()
    with pytest.raises(WrongModelError):
        build_from_state_dict({**sd, "conv_extra.weight": torch.zeros(3, 3, 3, 3)})
    sd.pop("body.0.rdb2.conv3.weight")
    with pytest.raises(WrongModelError):
        build_from_state_dict(sd)


def test_wrong_task_is_refused():
    with pytest.raises(WrongModelError, match="not a super-resolution model"):
        build_from_state_dict(rrdbnet_state_dict(scale=1), mid="denoiser", task="super_resolution")
    with pytest.raises(WrongModelError, match="not a supported architecture"):
        build_from_state_dict({"foo.weight": torch.zeros(3, 3)}, mid="junk")


def test_identity_srvgg_is_nearest_upsampling():
    lm = build_from_state_dict(srvgg_state_dict(identity=True, upscale=2))
    x = torch.rand(1, 3, 5, 7)
    y = lm.module(x)
    assert torch.allclose(y, torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest"))
