"""StyleGAN2 (rosinality format): official keys/shapes, strict loading, numerics vs the reference.

The golden file was produced by rosinality/stylegan2-pytorch's own Generator (pure-torch CPU path)
with the tiny widths of ``face_testing.TINY_GENERATOR`` and ``seeded_state_dict(seed=11)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganstudio.archs.registry import ArchLoadError, build_model, check_state_dict, get_arch
from ganstudio.archs.stylegan2_arch import (Generator, detect_generator_kwargs, read_rosinality_checkpoint,
                                            upfirdn2d)
from ganstudio.models import face_testing as ft
from ganstudio.models.safeload import load_checkpoint


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks: one thread is much faster than two on a shared, loaded 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

DATA = Path(__file__).resolve().parents[1] / "data" / "faces"


def _meta_generator(**kw) -> Generator:
    """Shapes only: uninitialised CPU tensors (randn -> empty; fast on a loaded 2-core machine)."""
    real = torch.randn
    try:
        torch.randn = lambda *a, **k: torch.empty(*a, **{x: y for x, y in k.items() if x != "generator"})
        return Generator(**kw)
    finally:
        torch.randn = real


def test_official_1024_keys_and_shapes():
    sd = _meta_generator(size=1024).state_dict()
    shapes = {k: tuple(v.shape) for k, v in sd.items()}
    # mapping: style.0 is PixelNorm (no params), style.1..8 EqualLinear 512x512
    assert [k for k in shapes if k.startswith("style.")] == [
        f"style.{i}.{p}" for i in range(1, 9) for p in ("weight", "bias")]
    assert shapes["style.8.weight"] == (512, 512) and shapes["style.1.bias"] == (512,)
    assert shapes["input.input"] == (1, 512, 4, 4)
    assert shapes["conv1.conv.weight"] == (1, 512, 512, 3, 3)
    assert shapes["conv1.conv.modulation.weight"] == (512, 512)
    assert shapes["conv1.conv.modulation.bias"] == (512,)
    assert shapes["conv1.noise.weight"] == (1,)
    assert shapes["conv1.activate.bias"] == (512,)
    assert shapes["to_rgb1.conv.weight"] == (1, 3, 512, 1, 1)
    assert shapes["to_rgb1.bias"] == (1, 3, 1, 1)
    convs = sorted({int(k.split(".")[1]) for k in shapes if k.startswith("convs.")})
    assert convs == list(range(16))
    rgbs = sorted({int(k.split(".")[1]) for k in shapes if k.startswith("to_rgbs.")})
    assert rgbs == list(range(8))
    for k in range(8):  # up-sampling convs carry the blur kernel buffer, the others none
        assert shapes[f"convs.{2 * k}.conv.blur.kernel"] == (4, 4)
        assert f"convs.{2 * k + 1}.conv.blur.kernel" not in shapes
        assert shapes[f"to_rgbs.{k}.upsample.kernel"] == (4, 4)
    assert [k for k in shapes if k.startswith("noises.")] == [f"noises.noise_{i}" for i in range(17)]
    assert shapes["noises.noise_0"] == (1, 1, 4, 4) and shapes["noises.noise_16"] == (1, 1, 1024, 1024)
    # channel table 4..64 -> 512, 128 -> 256, 256 -> 128, 512 -> 64, 1024 -> 32
    out_ch = [shapes[f"convs.{2 * k}.conv.weight"][1] for k in range(8)]
    assert out_ch == [512, 512, 512, 512, 256, 128, 64, 32]
    # style 16, input 1, conv1 5, to_rgb1 4, convs 16x5 + 8 blur kernels, to_rgbs 8x(4 + kernel), noises 17
    assert len(shapes) == 16 + 1 + 5 + 4 + 16 * 5 + 8 + 8 * 5 + 17 == 171
    g = _meta_generator(size=1024)
    assert g.n_latent == 18 and g.num_layers == 17


def test_official_256_config():
    g = _meta_generator(size=256)
    assert g.n_latent == 14
    assert sorted({int(k.split(".")[1]) for k in g.state_dict() if k.startswith("convs.")}) == list(range(12))
    assert detect_generator_kwargs(g.state_dict()) == {"size": 256, "style_dim": 512, "n_mlp": 8,
                                                       "channel_multiplier": 2}


def test_matches_reference_golden():
    kw = ft.tiny_generator_kwargs()
    sd = ft.seeded_state_dict(Generator(**kw), seed=11)
    g = build_model("stylegan2", sd).eval()  # kwargs detected from the keys
    gold = np.load(DATA / "stylegan2_rosinality_tiny.npz")
    gen = torch.Generator().manual_seed(7)
    torch.rand(1, 3, 64, 64, generator=gen)
    w = torch.randn(1, 8, 16, generator=gen)
    z = torch.randn(1, 16, generator=gen)
    with torch.no_grad():
        img_w = g([w], input_is_latent=True, randomize_noise=False)[0]
        wavg = g.style(torch.randn(64, 16, generator=torch.Generator().manual_seed(5))).mean(0, keepdim=True)
        img_z = g([z], randomize_noise=False, truncation=0.7, truncation_latent=wavg)[0]
    assert np.abs(wavg.numpy() - gold["w_avg"]).max() <= 1e-5
    assert img_w.shape == (1, 3, 32, 32)
    assert np.abs(img_w.numpy() - gold["img_w"]).max() <= 1e-4
    assert np.abs(img_z.numpy() - gold["img_z"]).max() <= 1e-4
    assert float(np.abs(gold["img_w"]).max()) > 0.1  # the golden is not trivially zero


def test_w_broadcast_equals_wplus_and_noise_is_deterministic():
    g = Generator(**ft.tiny_generator_kwargs()).eval()
    g.load_state_dict(ft.seeded_state_dict(g, 3))
    w = torch.randn(2, 16)
    with torch.no_grad():
        a = g([w], input_is_latent=True, randomize_noise=False)[0]
        b = g.synthesize(w.unsqueeze(1).repeat(1, g.n_latent, 1))
        c = g(w.unsqueeze(1).repeat(1, g.n_latent, 1), input_is_latent=True, randomize_noise=True)[0]
        img, lat = g([w], input_is_latent=True, randomize_noise=False, return_latents=True)
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)  # random noise differs from the stored buffers
    assert lat.shape == (2, g.n_latent, 16)
    assert g.mean_latent(32).shape == (1, 16)


def test_strict_loading_both_directions():
    kw = ft.tiny_generator_kwargs()
    sd = ft.seeded_state_dict(Generator(**kw), seed=1)
    extra = dict(sd, **{"convs.99.conv.weight": torch.zeros(1)})
    with pytest.raises(ArchLoadError) as e:
        build_model("stylegan2", extra, **kw)
    assert e.value.unexpected == ["convs.99.conv.weight"]
    missing = {k: v for k, v in sd.items() if k != "noises.noise_3"}
    with pytest.raises(ArchLoadError) as e:
        build_model("stylegan2", missing, **kw)
    assert e.value.missing == ["noises.noise_3"]
    bad = dict(sd, **{"to_rgb1.bias": torch.zeros(3)})
    with pytest.raises(ArchLoadError) as e:
        build_model("stylegan2", bad, **kw)
    assert "to_rgb1.bias" in e.value.reshaped
    # a wrong size is a reshape error, not a silent partial load
    with pytest.raises(ArchLoadError):
        build_model("stylegan2", sd, **dict(kw, size=64))


def test_rosinality_checkpoint_file_roundtrip(tmp_path):
    p = ft.write_rosinality_checkpoint(tmp_path / "550000.pt", seed=2)
    obj = load_checkpoint(p)
    assert set(obj) == {"g_ema", "latent_avg"}
    sd, avg = read_rosinality_checkpoint(obj)
    assert avg.shape == (16,)
    g = build_model("stylegan2", sd)
    check_state_dict(g, sd)
    # the registered convert also accepts the checkpoint flattened as g_ema.* + latent_avg
    flat = {f"g_ema.{k}": v for k, v in sd.items()} | {"latent_avg": avg}
    g2 = build_model("stylegan2", flat)
    assert torch.equal(g2.input.input, g.input.input)
    assert get_arch("stylegan2").module == "ganstudio.archs.stylegan2_arch"


def test_upfirdn2d_upsample_is_transpose_of_blur():
    # x2 up-sampling with a [1,3,3,1] kernel: interior of a constant image stays constant (gain 4)
    from ganstudio.archs.stylegan2_arch import Upsample

    up = Upsample([1, 3, 3, 1])
    y = up(torch.ones(1, 2, 6, 6))
    assert y.shape == (1, 2, 12, 12)
    assert torch.allclose(y[..., 2:-2, 2:-2], torch.ones(1, 2, 8, 8))
    # plain FIR with a delta kernel and pads is a crop/shift
    k = torch.zeros(3, 3)
    k[1, 1] = 1
    x = torch.randn(1, 1, 5, 5)
    assert torch.equal(upfirdn2d(x, k, pad=(1, 1)), x)
    assert torch.equal(upfirdn2d(x, k, down=2, pad=(1, 1)), x[..., ::2, ::2])
