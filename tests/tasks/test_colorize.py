"""Colourise task: exact luma, alpha / 16-bit / gray inputs, selections, registry, strict arch."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.tasks.base import TaskContext, TaskError, TaskInputs, drive
from ganstudio.tasks.colorize import ColorizeRequest, chroma, luma, recombine, run


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A random-weight GSColorizer (base 8) whose head is NOT zero, saved as safetensors."""
    import torch
    from safetensors.torch import save_file

    from ganstudio.archs.colorizer_arch import GSColorizer

    torch.manual_seed(0)
    net = GSColorizer(base=8, mid_blocks=1)
    with torch.no_grad():
        net.head[-1].weight.normal_(0, 0.5)
        net.head[-1].bias.copy_(torch.tensor([0.4, -0.3]))
    path = tmp_path_factory.mktemp("col") / "tiny_colorizer.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return str(path)


CTX = dict(device="cpu", precision="fp32")


def _run(img, model, mask=None, **kw):
    return drive(run(TaskInputs(image=img, mask=mask), ColorizeRequest(model_id=model, **kw),
                     TaskContext(**CTX)))


def _luma_u(img, full):
    return luma(img[..., :3].astype(np.float64) / full) * full


def test_recombine_keeps_luma_exactly_and_stays_in_gamut(rng):
    y = rng.random((64, 64))
    c = (rng.random((64, 64, 2)) - 0.5) * 2.0           # far outside the gamut on purpose
    out = recombine(y, c)
    assert out.min() >= 0 and out.max() <= 1
    np.testing.assert_allclose(luma(out), y, atol=1e-12)
    # in-gamut colours round-trip exactly
    rgb = rng.random((32, 32, 3))
    np.testing.assert_allclose(recombine(luma(rgb), chroma(rgb)), rgb, atol=1e-12)


def test_numpy_and_torch_colour_math_agree(rng):
    import torch

    from ganstudio.archs.colorizer_arch import rgb_to_ycbcr, ycbcr_to_rgb

    rgb = rng.random((8, 8, 3))
    t = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    y, c = rgb_to_ycbcr(t)
    np.testing.assert_allclose(y[0, 0].numpy(), luma(rgb), atol=1e-12)
    np.testing.assert_allclose(c[0].permute(1, 2, 0).numpy(), chroma(rgb), atol=1e-12)
    np.testing.assert_allclose(ycbcr_to_rgb(y, c)[0].permute(1, 2, 0).numpy(), rgb, atol=1e-12)


def test_gray_photo_gets_colour_with_its_own_luma(tiny_model, astronaut):
    gray = np.repeat(astronaut.mean(2, keepdims=True).astype(np.uint8), 3, 2)[:200, :240]
    res = _run(gray, tiny_model, work_size=96)
    out = res.image
    assert out.shape == gray.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - gray.astype(int)).max() > 20          # it really coloured
    assert np.abs(_luma_u(out, 255) - gray[..., 0]).max() <= 0.5 + 1e-9   # luma kept (rounding only)
    assert res.info["model"] == tiny_model and res.info["task"] == "colorize"


def test_saturation_zero_gives_the_luma(tiny_model, astronaut):
    img = astronaut[:64, :80]
    out = _run(img, tiny_model, saturation=0.0).image
    y = np.rint(_luma_u(img, 255))
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 0], out[..., 2])
    assert np.abs(out[..., 0] - y).max() <= 0


def test_alpha_16bit_and_gray_layouts(tiny_model, rng):
    rgba16 = rng.integers(0, 65536, (40, 52, 4), dtype=np.uint16)
    out = _run(rgba16, tiny_model).image
    assert out.dtype == np.uint16 and out.shape == rgba16.shape
    assert np.array_equal(out[..., 3], rgba16[..., 3])
    assert np.abs(_luma_u(out, 65535) - _luma_u(rgba16, 65535)).max() <= 0.5 + 1e-6
    g = rng.integers(0, 256, (33, 17), dtype=np.uint8)                    # HxW gray, odd sizes
    out = _run(g, tiny_model).image
    assert out.shape == (33, 17, 3)
    assert np.abs(_luma_u(out, 255) - g).max() <= 0.5 + 1e-9
    ga = np.stack([g, np.full_like(g, 7)], -1)                            # gray + alpha
    out = _run(ga, tiny_model).image
    assert out.shape == (33, 17, 4) and (out[..., 3] == 7).all()


def test_selection_only_changes_selected_pixels(tiny_model, astronaut):
    img = np.repeat(astronaut[:96, :96].mean(2, keepdims=True).astype(np.uint8), 3, 2)
    mask = np.zeros((96, 96), np.uint8)
    mask[20:60, 30:80] = 255
    mask[60:70, 30:80] = 128                                              # soft edge
    out = _run(img, tiny_model, mask=mask).image
    assert np.array_equal(out[mask == 0], img[mask == 0])                  # bit-exact outside
    assert (out[20:60, 30:80] != img[20:60, 30:80]).any()
    assert np.abs(_luma_u(out, 255) - img[..., 0]).max() <= 0.5 + 1e-9


def test_bad_inputs_raise_task_errors(tiny_model):
    with pytest.raises(TaskError):
        _run(np.zeros((8, 8, 3), np.float32), tiny_model)
    with pytest.raises(TaskError, match="selection is empty"):
        _run(np.zeros((8, 8, 3), np.uint8), tiny_model, mask=np.zeros((8, 8), np.uint8))
    with pytest.raises(TaskError):
        _run(np.zeros((8, 8, 3), np.uint8), "builtin.no-such-model")


def test_registered_task_and_request_round_trip():
    from ganstudio.tasks.registry import get_task

    spec = get_task("colorize")
    assert spec.request_type is ColorizeRequest and spec.ui == "ganstudio.ui.tasks.colorize"
    r = ColorizeRequest(work_size=256, saturation=1.2)
    assert ColorizeRequest.from_dict(r.to_dict()) == r and r.to_dict()["task"] == "colorize"


def test_arch_registered_strict_and_detected():
    import torch

    from ganstudio.archs.colorizer_arch import GSColorizer
    from ganstudio.archs.registry import ArchLoadError, build_model

    sd = GSColorizer(base=8, mid_blocks=1).state_dict()
    net = build_model("gscolorizer", sd)                     # kwargs detected from the keys
    assert net.stem.weight.shape[0] == 8 and len(net.mid) == 1
    out = net.eval()(torch.rand(1, 1, 48, 64))
    assert out.shape == (1, 2, 48, 64) and out.abs().max() <= 0.5
    bad = dict(sd)
    bad.pop("head.2.bias")
    with pytest.raises(ArchLoadError, match="head.2.bias"):
        build_model("gscolorizer", bad, base=8, mid_blocks=1)
