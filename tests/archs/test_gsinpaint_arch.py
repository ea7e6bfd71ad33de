"""The built-in inpainter's architecture and its PatchGAN discriminator."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from ganstudio.archs.gsinpaint_arch import GSInpaint, PushPullFill, config_from_state_dict  # noqa: E402
from ganstudio.archs.inpaint_patchgan_arch import InpaintPatchGAN  # noqa: E402


def test_forward_tiny_config_keeps_shape_and_range():
    torch.manual_seed(0)
    net = GSInpaint(base=4, n_blocks=2).eval()
    x = torch.rand(2, 3, 32, 48)
    m = torch.zeros(2, 1, 32, 48)
    m[:, :, 8:20, 10:30] = 1
    with torch.no_grad():
        y = net(x, m)
    assert y.shape == x.shape
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


def test_untrained_net_returns_push_pull_fill_and_keeps_known_pixels():
    net = GSInpaint(base=4, n_blocks=1).eval()  # last conv starts at zero
    x = torch.rand(1, 3, 16, 16)
    m = torch.zeros(1, 1, 16, 16)
    m[..., 4:12, 4:12] = 1
    with torch.no_grad():
        y = net(x, m)
        fill = PushPullFill()(x, m)
    assert torch.allclose(y, fill.clamp(0, 1))
    known = m.expand_as(x) == 0
    assert torch.allclose(y[known], x[known])
    # hole filled from the surroundings: inside the colour range of the known pixels
    assert float(y[~known].min()) >= float(x[known].min()) - 1e-6
    assert float(y[~known].max()) <= float(x[known].max()) + 1e-6


def test_push_pull_fills_constant_image_exactly_and_all_hole_is_grey():
    x = torch.full((1, 3, 20, 12), 0.3)
    m = torch.zeros(1, 1, 20, 12)
    m[..., 3:17, 2:10] = 1
    assert torch.allclose(PushPullFill()(x, m), x, atol=1e-6)
    y = PushPullFill()(torch.rand(1, 3, 8, 8), torch.ones(1, 1, 8, 8))
    assert torch.allclose(y, torch.full_like(y, 0.5))


def test_fully_convolutional_any_multiple_of_four_and_config_roundtrip():
    net = GSInpaint(base=8, n_blocks=3).eval()
    for h, w in ((64, 64), (36, 100)):
        with torch.no_grad():
            assert net(torch.rand(1, 3, h, w), torch.zeros(1, 1, h, w)).shape == (1, 3, h, w)
    cfg = config_from_state_dict(net.state_dict())
    assert cfg == {"base": 8, "n_blocks": 3}
    GSInpaint(**cfg).load_state_dict(net.state_dict(), strict=True)


def test_default_config_is_small():
    n = sum(p.numel() for p in GSInpaint().parameters())
    assert 100_000 < n < 7_500_000  # fp32 safetensors well under 30 MB


def test_patchgan_returns_logits_and_features():
    d = InpaintPatchGAN(base=8)
    logits, feats = d(torch.rand(2, 3, 64, 64), torch.zeros(2, 1, 64, 64))
    assert logits.shape == (2, 1, 8, 8)
    assert [f.shape[1] for f in feats] == [8, 16, 32]
