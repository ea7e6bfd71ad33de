"""Whole-image normalisation statistics + aligned tiles (tasks.norm_tiling) on tiny CycleGANs."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ganstudio.archs.cyclegan_arch import ResnetGenerator  # noqa: E402
from ganstudio.archs.statnorm import stats_points  # noqa: E402
from ganstudio.tasks.base import Cancelled, TaskContext, TaskError, drive  # noqa: E402
from ganstudio.tasks.norm_tiling import aligned_starts, norm_tiled_apply  # noqa: E402

PAD = 40        # >= the receptive radius of a 2-block ResnetGenerator (31 px)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # 2 cores shared by many processes: one intra-op thread is far faster than two fighting
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    m = ResnetGenerator(ngf=8, n_blocks=2).eval()
    return m


def _fn(net):
    def fn(t):
        return (net(t * 2 - 1) + 1) * 0.5
    return fn


def _image(h=88, w=120, seed=0, dtype=np.uint8):
    rng = np.random.default_rng(seed)
    import cv2

    base = rng.random((h // 8 + 1, w // 8 + 1, 3)).astype(np.float32)
    img = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, 0.05, img.shape).astype(np.float32)
    mv = 255 if dtype == np.uint8 else 65535
    return (np.clip(img, 0, 1) * mv + 0.5).astype(dtype)


def _run(img, net, tile, stats="exact", **kw):
    info = {}
    out = drive(norm_tiled_apply(img, _fn(net), net, tile=tile, overlap=16, pad=PAD, multiple=4,
                                 stats=stats, info=info, **kw))
    return out, info


def test_aligned_starts_are_multiples_and_cover():
    st = aligned_starts(200, 64, 16, 4)
    assert all(s % 4 == 0 for s in st) and st[0] == 0 and st[-1] + 64 == 200
    assert all(b - a <= 64 - 16 for a, b in zip(st, st[1:]))


def test_exact_statistics_tiled_equals_whole(net):
    img = _image()
    whole, info_w = _run(img, net, tile=0)
    assert info_w["stats"] == "whole image"
    tiled, info = _run(img, net, tile=32, stats="exact")
    assert info["stats"] == "exact" and info["tile"] == 32
    d = np.abs(tiled.astype(int) - whole.astype(int))
    assert d.max() <= 1, d.max()            # float rounding only (uint8 steps)
    assert tiled.shape == img.shape and tiled.dtype == np.uint8
    assert all(p.stats_hook is None for p in stats_points(net))    # hooks removed


def test_naive_tiling_would_show_seams(net):
    """The reason for all this: tiles normalised with their own statistics differ a lot."""
    img = _image(seed=3)
    whole, _ = _run(img, net, tile=0)
    from ganstudio.tasks.tiling import tiled_apply

    naive = drive(tiled_apply(img, _fn(net), scale=1, tile=32, overlap=16, pad=PAD, multiple=4))
    exact, _ = _run(img, net, tile=32, stats="exact")
    err_naive = np.abs(naive.astype(int) - whole.astype(int)).mean()
    err_exact = np.abs(exact.astype(int) - whole.astype(int)).mean()
    assert err_naive > 5 * max(err_exact, 0.05)


def test_downscale_statistics_close_and_seamless(net):
    img = _image(96, 128, seed=5)
    whole, _ = _run(img, net, tile=0)
    fast, info = _run(img, net, tile=32, stats="downscale", stats_pixels=48 * 64)
    assert info["stats"] == "downscale"
    d = np.abs(fast.astype(int) - whole.astype(int))
    assert d.mean() < 40          # an estimate only (this is why "exact" is the default)


def test_given_statistics_make_a_crop_match_the_whole(net):
    """Preview of a visible area: statistics of the whole photo, pixels of the crop only."""
    img = _image(seed=7)
    whole, _ = _run(img, net, tile=0)
    crop = img[16:80, 24:104]
    part, info = _run(crop, net, tile=0, stats_image=img)
    assert info["stats"] == "given"
    inner = np.abs(part[PAD // 2:-PAD // 2, PAD // 2:-PAD // 2].astype(int)
                   - whole[16 + PAD // 2:80 - PAD // 2, 24 + PAD // 2:104 - PAD // 2].astype(int))
    own, _ = _run(crop, net, tile=0)     # statistics of the crop itself: visibly different
    own_err = np.abs(own.astype(int) - whole[16:80, 24:104].astype(int)).mean()
    assert inner.mean() < own_err


def test_16_bit_and_odd_sizes(net):
    img = _image(50, 71, seed=9, dtype=np.uint16)
    whole, _ = _run(img, net, tile=0)
    tiled, _ = _run(img, net, tile=32, stats="exact")
    assert tiled.dtype == np.uint16 and tiled.shape == (50, 71, 3)
    assert np.abs(tiled.astype(int) - whole.astype(int)).max() <= 300     # 16-bit steps of fp32 noise


def test_out_of_memory_halves_the_tile(net):
    img = _image(64, 128, seed=2)
    calls = []

    def fn(t):
        calls.append(t.shape[-1])
        if t.shape[-1] > 120:
            raise RuntimeError("CPU: not enough memory: you tried to allocate ... out of memory")
        return _fn(net)(t)

    info = {}
    out = drive(norm_tiled_apply(img, fn, net, tile=128, overlap=16, pad=8, multiple=4,
                                 stats="downscale", stats_pixels=32 * 64, info=info))
    assert info["tile"] == 64 and out.shape == img.shape


def test_cancel_between_tiles(net):
    ctx = TaskContext()
    ctx.cancel.cancel()
    with pytest.raises(Cancelled):
        drive(norm_tiled_apply(_image(), _fn(net), net, tile=32, pad=PAD, ctx=ctx, stats="downscale"))
    assert all(p.stats_hook is None for p in stats_points(net))


def test_bad_arguments():
    with pytest.raises(TaskError):
        drive(norm_tiled_apply(np.zeros((8, 8, 3), np.float32), lambda t: t, torch.nn.Identity(), tile=8))
    with pytest.raises(TaskError):
        drive(norm_tiled_apply(np.zeros((8, 8, 3), np.uint8), lambda t: t, torch.nn.Identity(), tile=8,
                               stats="magic"))
