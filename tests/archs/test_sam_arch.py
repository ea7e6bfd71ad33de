"""SAM: official checkpoint layout, strict loading, numerics vs the official SAM pSp code.

Golden: yuval-alaluf/SAM's own ``pSp`` (start_from_encoded_w_plus: codes = encoder(x4) +
pretrained_encoder(x4[:, :3]) + latent_avg) with the tiny widths of ``face_testing``, loading
``write_sam_checkpoint(seed=13)``; input ``torch.rand(1,3,64,64)`` (seed 7) + age channel 0.65.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ganstudio.archs.e4e_arch import flatten_psp_checkpoint
from ganstudio.archs.registry import ArchLoadError, build_model
from ganstudio.archs.sam_arch import SAM, age_input
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


def test_sam_layout():
    m = SAM(**ft.tiny_sam_kwargs())
    sd = m.state_dict()
    assert {k.split(".")[0] for k in sd} == {"encoder", "pretrained_encoder", "decoder", "latent_avg"}
    assert sd["encoder.input_layer.0.weight"].shape[1] == 4
    assert sd["pretrained_encoder.input_layer.0.weight"].shape[1] == 3
    assert sd["latent_avg"].shape == (8, 16)


def test_age_input():
    x = torch.zeros(2, 3, 8, 8)
    x4 = age_input(x, torch.tensor([20.0, 80.0]))
    assert x4.shape == (2, 4, 8, 8)
    assert torch.all(x4[0, 3] == 0.2) and torch.all(x4[1, 3] == 0.8)
    assert torch.all(age_input(x, 65)[:, 3] == 0.65)


def test_matches_official_golden(tmp_path):
    path = ft.write_sam_checkpoint(tmp_path / "sam_ffhq_aging.pt", seed=13)
    flat = flatten_psp_checkpoint(load_checkpoint(path))
    m = build_model("sam", flat).eval()
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(7)) * 2 - 1
    gold = np.load(DATA / "sam_official_tiny.npz")
    with torch.no_grad():
        codes = m.encode_age(x, 65)
        img = m.decode(codes)
    assert np.abs(codes.numpy() - gold["codes"]).max() <= 1e-4
    assert np.abs(img.numpy() - gold["img"]).max() <= 1e-4
    with torch.no_grad():  # the age channel matters
        assert (m.encode_age(x, 20) - codes).abs().max() > 1e-3


def test_strict_and_channel_checks(tmp_path):
    flat = flatten_psp_checkpoint(load_checkpoint(ft.write_sam_checkpoint(tmp_path / "s.pt", seed=2)))
    kw = ft.tiny_sam_kwargs()
    with pytest.raises(ArchLoadError) as e:
        build_model("sam", {k: v for k, v in flat.items() if not k.startswith("pretrained_encoder.")}, **kw)
    assert all(k.startswith("pretrained_encoder.") for k in e.value.missing) and e.value.missing
    bad = dict(flat, **{"encoder.input_layer.0.weight": torch.zeros(16, 3, 3, 3)})
    with pytest.raises(ArchLoadError) as e:
        build_model("sam", bad, **kw)
    assert "encoder.input_layer.0.weight" in e.value.reshaped
    m = build_model("sam", flat).eval()
    with pytest.raises(ValueError, match="4 input channels"):
        m.encode(torch.zeros(1, 3, 64, 64))
