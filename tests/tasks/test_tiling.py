"""The shared tiling engine: seamless blending, padding to a multiple, OOM retry, cancel, progress."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganstudio.tasks.base import Cancelled, CancelToken, TaskContext, TaskError, drive
from ganstudio.tasks.tiling import _ramp, axis_weights, tile_starts, tiled_apply


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny convs: OpenMP threads only add barrier overhead (30x slower on a busy 2-core CPU)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _psnr(a, b, peak=255.0):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(peak ** 2 / mse)


class RandomConvSR(torch.nn.Module):
    """A small fixed random conv network, x2: receptive field 11 px, so tiles really differ
    from the whole image near their borders unless the engine handles context and blending."""

    def __init__(self, scale=2, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.scale = scale
        self.convs = torch.nn.ModuleList([torch.nn.Conv2d(3, 8, 3, padding=1)] +
                                         [torch.nn.Conv2d(8, 8, 3, padding=1) for _ in range(3)] +
                                         [torch.nn.Conv2d(8, 3, 3, padding=1)])
        for c in self.convs:
            c.weight.data = torch.randn(c.weight.shape, generator=g) * 0.15
            c.bias.data.zero_()

    def forward(self, x):
        y = x
        for i, c in enumerate(self.convs):
            y = c(y)
            if i < len(self.convs) - 1:
                y = torch.nn.functional.leaky_relu(y, 0.2)
        y = torch.nn.functional.interpolate(y, scale_factor=self.scale, mode="bilinear")
        return torch.nn.functional.interpolate(x, scale_factor=self.scale, mode="nearest") + 0.5 * y


def test_tile_starts_and_weights_partition_of_unity():
    assert tile_starts(100, 128, 16) == [0]
    starts = tile_starts(300, 64, 16)
    assert starts[0] == 0 and starts[-1] == 300 - 64
    assert all(b - a <= 64 - 16 for a, b in zip(starts, starts[1:], strict=False))
    for scale in (1, 3):
        total = np.zeros(300 * scale)
        for s, w in zip(starts, axis_weights(starts, 64, 300, scale), strict=True):
            total[s * scale: s * scale + len(w)] += w
        np.testing.assert_allclose(total, 1.0, atol=1e-6)
    r = _ramp(10)
    np.testing.assert_allclose(r + r[::-1], 1.0, atol=1e-7)


def test_tiled_equals_untiled_on_the_astronaut_without_seams(astronaut):
    model = RandomConvSR().eval()
    img = astronaut[::2, ::2].copy()                     # 256x256 real photo (speed)
    whole = drive(tiled_apply(img, model, scale=2, tile=0))
    tiled = drive(tiled_apply(img, model, scale=2, tile=64, overlap=16, pad=8))
    assert tiled.shape == whole.shape == (512, 512, 3) and tiled.dtype == np.uint8
    assert _psnr(tiled, whole) >= 45.0
    # seam check: the difference image has no lines along the tile borders
    diff = np.abs(tiled.astype(np.int16) - whole.astype(np.int16)).max(axis=2).astype(np.float64)
    assert diff.mean(axis=0).max() < 0.5 and diff.mean(axis=1).max() < 0.5
    # without context padding the raised-cosine blend alone still keeps PSNR >= 45 dB
    raw = drive(tiled_apply(img, model, scale=2, tile=64, overlap=32, pad=0))
    assert _psnr(raw, whole) >= 45.0


def test_pads_to_the_model_multiple_and_crops_back():
    seen = []

    def fn(t):
        seen.append(tuple(t.shape[-2:]))
        assert t.shape[-2] % 8 == 0 and t.shape[-1] % 8 == 0
        return torch.nn.functional.interpolate(t, scale_factor=2, mode="nearest")

    img = (np.arange(37 * 29 * 3) % 251).astype(np.uint8).reshape(37, 29, 3)
    out = drive(tiled_apply(img, fn, scale=2, tile=0, multiple=8))
    assert out.shape == (74, 58, 3)
    np.testing.assert_array_equal(out[::2, ::2], img)   # nearest x2 -> exact
    assert seen == [(40, 32)]


def test_uint16_in_uint16_out():
    img = (np.linspace(0, 65535, 40 * 40 * 3).reshape(40, 40, 3)).astype(np.uint16)
    out = drive(tiled_apply(img, lambda t: torch.nn.functional.interpolate(t, scale_factor=2),
                            scale=2, tile=16, overlap=4))
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out[::2, ::2], img)


def test_oom_retries_with_half_the_tile():
    sizes = []

    def fn(t):
        sizes.append(t.shape[-1])
        if t.shape[-1] > 40:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return torch.nn.functional.interpolate(t, scale_factor=2, mode="nearest")

    img = np.random.default_rng(0).integers(0, 255, (100, 100, 3), dtype=np.uint8)
    logs = []
    stages = []
    out = drive(tiled_apply(img, fn, scale=2, tile=128, pad=0, log=logs.append),
                lambda p: stages.append(p.stage))
    np.testing.assert_array_equal(out[::2, ::2], img)
    assert sizes[:2] == [100, 64] and max(sizes[2:]) == 32
    assert any("retrying with 32 px" in m for m in logs)
    assert any("out of memory" in s for s in stages)


def test_oom_at_the_smallest_tile_is_a_clear_error():
    def fn(t):
        raise RuntimeError("CUDA out of memory")

    img = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(TaskError, match="out of memory"):
        drive(tiled_apply(img, fn, scale=2, tile=64))


def test_cancel_between_tiles_and_progress_per_tile():
    ctx = TaskContext(cancel=CancelToken())
    calls = []

    def fn(t):
        calls.append(1)
        return torch.nn.functional.interpolate(t, scale_factor=2)

    progress = []

    def on_progress(p):
        progress.append((p.step, p.total))
        if p.step == 2:
            ctx.cancel.cancel()

    img = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(Cancelled):
        drive(tiled_apply(img, fn, scale=2, tile=32, overlap=8, ctx=ctx), on_progress)
    assert len(calls) == 2 and progress[-1][0] == 2 and progress[-1][1] == 16


def test_other_errors_propagate():
    def fn(t):
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        drive(tiled_apply(np.zeros((8, 8, 3), np.uint8), fn, scale=2))
