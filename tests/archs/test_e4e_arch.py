"""e4e: official checkpoint layout, strict loading, numerics vs the official pSp/e4e code.

Golden: omertov/encoder4editing's own ``pSp`` (Encoder4Editing + rosinality decoder, pure-torch CPU
ops) with the tiny widths of ``face_testing`` (TINY_ENCODER / TINY_GENERATOR), loading the file
``write_e4e_checkpoint(seed=12)``, input ``torch.rand(1,3,64,64)`` from seed 7.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganstudio.archs.e4e_arch import E4E, Encoder4Editing, flatten_psp_checkpoint
from ganstudio.archs.psp_arch import detect_encoder_kwargs
from ganstudio.archs.registry import ArchLoadError, build_model
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


def _empty_init(cls, **kw):
    real = torch.randn
    try:
        torch.randn = lambda *a, **k: torch.empty(*a, **{x: y for x, y in k.items() if x != "generator"})
        return cls(**kw)
    finally:
        torch.randn = real


def _seed7_input() -> torch.Tensor:
    return torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(7)) * 2 - 1


@pytest.mark.slow
def test_official_ir_se50_keys_and_shapes():
    enc = _empty_init(Encoder4Editing, stylegan_size=1024)
    sd = {k: tuple(v.shape) for k, v in enc.state_dict().items()}
    assert sd["input_layer.0.weight"] == (64, 3, 3, 3)
    assert "input_layer.0.bias" not in sd and sd["input_layer.2.weight"] == (64,)
    assert sorted({int(k.split(".")[1]) for k in sd if k.startswith("body.")}) == list(range(24))
    # stage starts with a width change carry a 1x1 shortcut conv + BN; body.0 (64 -> 64) a max-pool
    shortcut = sorted({int(k.split(".")[1]) for k in sd if ".shortcut_layer.0.weight" in k})
    assert shortcut == [3, 7, 21]
    assert sd["body.3.shortcut_layer.0.weight"] == (128, 64, 1, 1)
    assert sd["body.21.res_layer.3.weight"] == (512, 512, 3, 3)
    assert sd["body.23.res_layer.5.fc1.weight"] == (32, 512, 1, 1)
    assert sd["body.23.res_layer.5.fc2.weight"] == (512, 32, 1, 1)
    assert sd["body.0.res_layer.2.weight"] == (64,)  # PReLU
    assert len([k for k in sd if k.startswith("styles.")]) == 18 * 0 + sum(
        (4 if i < 3 else 5 if i < 7 else 6) * 2 + 2 for i in range(18))
    assert sd["styles.0.convs.6.weight"] == (512, 512, 3, 3) and "styles.0.convs.8.weight" not in sd
    assert "styles.6.convs.8.weight" in sd and "styles.6.convs.10.weight" not in sd
    assert "styles.17.convs.10.weight" in sd and sd["styles.17.linear.weight"] == (512, 512)
    assert sd["latlayer1.weight"] == (512, 256, 1, 1) and sd["latlayer2.weight"] == (512, 128, 1, 1)
    kw = detect_encoder_kwargs(enc.state_dict())
    assert kw == {"input_nc": 3, "n_styles": 18, "mode": "ir_se"}


def test_e4e_bundle_keys():
    m = E4E(**ft.tiny_e4e_kwargs())
    keys = set(m.state_dict())
    assert {k.split(".")[0] for k in keys} == {"encoder", "decoder", "latent_avg"}
    assert m.latent_avg.shape == (8, 16)
    assert "decoder.noises.noise_0" in keys and "encoder.styles.7.linear.weight" in keys


def test_matches_official_golden(tmp_path):
    path = ft.write_e4e_checkpoint(tmp_path / "e4e_ffhq_encode.pt", seed=12)
    obj = load_checkpoint(path)
    assert set(obj) == {"state_dict", "opts", "latent_avg"}
    assert obj["latent_avg"].shape == (8, 16)
    flat = flatten_psp_checkpoint(obj)
    m = build_model("e4e", flat).eval()  # every kwarg detected from the keys
    gold = np.load(DATA / "e4e_official_tiny.npz")
    with torch.no_grad():
        img, codes = m(_seed7_input())
    assert codes.shape == (1, 8, 16) and img.shape == (1, 3, 32, 32)
    assert np.abs(codes.numpy() - gold["codes"]).max() <= 1e-4
    assert np.abs(img.numpy() - gold["img"]).max() <= 1e-4
    assert float(np.abs(gold["img"]).max()) > 0.1


def test_progressive_stage_limits_deltas():
    m = E4E(**ft.tiny_e4e_kwargs()).eval()
    m.load_state_dict(ft.seeded_state_dict(m, 4))
    x = _seed7_input()
    with torch.no_grad():
        full = m.encoder(x)
        m.encoder.progressive_stage = 0
        base = m.encoder(x)
        m.encoder.progressive_stage = 3
        three = m.encoder(x)
    assert torch.allclose(base, base[:, :1].expand_as(base))  # stage 0: w0 repeated
    assert torch.equal(three[:, :4], full[:, :4]) and torch.equal(three[:, 4:], base[:, 4:])


def test_strict_load_refuses_mismatch(tmp_path):
    flat = flatten_psp_checkpoint(load_checkpoint(ft.write_e4e_checkpoint(tmp_path / "e.pt", seed=1)))
    kw = ft.tiny_e4e_kwargs()
    with pytest.raises(ArchLoadError) as e:
        build_model("e4e", {k: v for k, v in flat.items() if k != "latent_avg"}, **kw)
    assert e.value.missing == ["latent_avg"]
    with pytest.raises(ArchLoadError) as e:
        build_model("e4e", dict(flat, **{"encoder.styles.8.linear.weight": torch.zeros(16, 16)}), **kw)
    assert e.value.unexpected == ["encoder.styles.8.linear.weight"]
    with pytest.raises(ArchLoadError) as e:
        build_model("e4e", dict(flat, **{"encoder.latlayer1.weight": torch.zeros(64, 32, 1, 1)}), **kw)
    assert "encoder.latlayer1.weight" in e.value.reshaped
    # flatten keeps only the prefixes the official loader reads, and needs latent_avg
    obj = load_checkpoint(tmp_path / "e.pt")
    obj["state_dict"]["discriminator.x"] = torch.zeros(1)
    assert "discriminator.x" not in flatten_psp_checkpoint(obj)
    del obj["latent_avg"]
    with pytest.raises(ValueError, match="latent_avg"):
        flatten_psp_checkpoint(obj)
