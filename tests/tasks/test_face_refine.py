"""PTI-style identity refine on a tiny generator: loss goes down, the shared generator is untouched,
cancel works, progress is reported, GPU/CPU availability note."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganstudio.archs.stylegan2_arch import Generator
from ganstudio.models import face_testing as ft
from ganstudio.tasks.base import Cancelled, CancelToken
from ganstudio.tasks.faces.refine import (RefineConfig, laplacian_pyramid_l1, refine, refine_availability,
                                          refine_generator)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks: one thread is much faster than two on a shared, loaded 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def gen():
    torch.manual_seed(0)
    g = Generator(**ft.tiny_generator_kwargs()).eval()
    g.load_state_dict(ft.seeded_state_dict(g, 5))
    return g


def _target(g):
    """A 'photo' the pivot does not reproduce: another code through a perturbed generator."""
    torch.manual_seed(1)
    w = torch.randn(1, g.n_latent, 16)
    other = Generator(**ft.tiny_generator_kwargs()).eval()
    other.load_state_dict(ft.seeded_state_dict(other, 6))
    with torch.no_grad():
        return w, other.synthesize(w + 0.3 * torch.randn_like(w)).clamp(-1, 1)


def test_refine_reduces_the_loss_and_leaves_the_shared_generator_alone(gen):
    w, target = _target(gen)
    before = {k: v.clone() for k, v in gen.state_dict().items()}
    cfg = RefineConfig(steps=20, lr=5e-3, loss_size=32, preview_every=10, patience=100)
    steps = refine_generator(gen, w, target, config=cfg)
    progress = []
    while True:
        try:
            progress.append(next(steps))
        except StopIteration as stop:
            res = stop.value
            break
    assert [p.step for p in progress] == list(range(1, 21)) and progress[-1].total == 20
    assert progress[9].preview is not None and progress[9].preview.shape == (32, 32, 3)
    assert progress[0].preview is None
    assert res.loss_end < 0.7 * res.loss_start, (res.loss_start, res.loss_end)
    assert all(torch.equal(before[k], v) for k, v in gen.state_dict().items())  # untouched
    assert not any(p.requires_grad for p in res.generator.parameters())
    with torch.no_grad():
        err_before = (gen.synthesize(w) - target).pow(2).mean()
        err_after = (res.generator.synthesize(w) - target).pow(2).mean()
    assert err_after < err_before
    assert set(res.info()) >= {"refine_steps", "refine_loss_start", "refine_loss_end", "refine_seconds"}


def test_refine_accepts_numpy_target_and_mask(gen):
    w, target = _target(gen)
    img = ((target[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
    mask = np.zeros((32, 32), np.float32)
    mask[8:24, 8:24] = 1
    res = refine(gen, w[0].numpy(), img, mask=mask, config=RefineConfig(steps=3, loss_size=32))
    assert res.steps == 3 and np.isfinite(res.loss_end)


def test_cancel_stops_between_steps(gen):
    w, target = _target(gen)
    tok = CancelToken()
    steps = refine_generator(gen, w, target, config=RefineConfig(steps=50, loss_size=32), cancel=tok)
    next(steps)
    tok.cancel()
    with pytest.raises(Cancelled):
        next(steps)


def test_pyramid_loss_is_a_distance():
    a = torch.rand(1, 3, 32, 32)
    assert float(laplacian_pyramid_l1(a, a)) == 0.0
    b = a.clone()
    b[..., 10:12, 10:12] += 0.5  # a small detail change is seen in the fine bands
    assert float(laplacian_pyramid_l1(a, b)) > 0


def test_availability_note():
    on, note = refine_availability(torch.device("cuda"))
    assert on and "GPU" in note
    off, note = refine_availability(torch.device("cpu"))
    assert not off and "SLOW" in note
