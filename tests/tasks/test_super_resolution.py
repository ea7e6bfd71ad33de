"""Super-resolution task: scales, target sizes, enhance mode, alpha, 16-bit, colours, cancel, errors."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.models.store import ModelStore
from ganstudio.models.testing import rrdbnet_state_dict, save_safetensors, srvgg_state_dict
from ganstudio.tasks.base import Cancelled, CancelToken, TaskContext, TaskError, TaskInputs, drive
from ganstudio.tasks.super_resolution import UpscaleRequest, run, target_size


@pytest.fixture
def identity_x4(tmp_path):
    """A real SRVGGNetCompact checkpoint (official names) whose convs are zero: output == nearest x4."""
    p = tmp_path / "identity_x4.safetensors"
    save_safetensors(srvgg_state_dict(identity=True, upscale=4), p)
    return str(p)


@pytest.fixture
def tiny_x4(tmp_path):
    p = tmp_path / "tiny_rrdb_x4.safetensors"
    save_safetensors(rrdbnet_state_dict(num_feat=8), p)
    return str(p)


def _ctx(**kw):
    return TaskContext(device="cpu", **kw)


def test_native_x4_and_colours_not_shifted(identity_x4, astronaut):
    img = astronaut[:64, :80].copy()
    res = drive(run(TaskInputs(img), UpscaleRequest(model_id=identity_x4, scale=4), _ctx()))
    out = res.image
    assert out.shape == (256, 320, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[::4, ::4], img)        # exact: no colour shift, RGB order kept
    assert res.info["model_scale"] == 4 and res.info["size"] == [320, 256]


def test_any_scale_and_target_size(identity_x4, astronaut):
    img = astronaut[:50, :60].copy()
    out = drive(run(TaskInputs(img), UpscaleRequest(model_id=identity_x4, scale=2.5), _ctx())).image
    assert out.shape == (125, 150, 3)
    out = drive(run(TaskInputs(img), UpscaleRequest(model_id=identity_x4, width=200), _ctx())).image
    assert out.shape == (167, 200, 3)
    out = drive(run(TaskInputs(img), UpscaleRequest(model_id=identity_x4, width=100, height=90),
                    _ctx())).image
    assert out.shape == (90, 100, 3)
    # mean colour is preserved through model + resample
    assert np.abs(out.reshape(-1, 3).mean(0) - img.reshape(-1, 3).mean(0)).max() < 1.5
    assert target_size(10, 20, UpscaleRequest(scale=3)) == (30, 60)
    with pytest.raises(TaskError, match="scale"):
        target_size(10, 10, UpscaleRequest(scale=40))
    assert target_size(10, 20, UpscaleRequest(scale=0), model_scale=2) == (20, 40)


def test_enhance_detail_keeps_the_size(tiny_x4, astronaut):
    img = astronaut[100:148, 100:164].copy()
    res = drive(run(TaskInputs(img), UpscaleRequest(model_id=tiny_x4, mode="enhance"), _ctx()))
    assert res.image.shape == img.shape and res.name.startswith("Enhanced detail")


def test_alpha_resized_and_by_model(identity_x4, rng):
    rgb = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
    a = np.tile(np.linspace(0, 255, 20).astype(np.uint8), (24, 1))
    img = np.dstack([rgb, a])
    out = drive(run(TaskInputs(img), UpscaleRequest(model_id=identity_x4), _ctx())).image
    assert out.shape == (96, 80, 4)
    np.testing.assert_array_equal(out[::4, ::4, :3], rgb)
    assert abs(int(out[:, 0, 3].mean()) - 0) <= 3 and out[:, -1, 3].min() >= 250   # gradient kept
    assert np.all(np.diff(out[10, :, 3].astype(int)) >= -1)                      # monotonic
    out2 = drive(run(TaskInputs(img), UpscaleRequest(model_id=identity_x4, alpha="model"), _ctx())).image
    np.testing.assert_array_equal(out2[::4, ::4, 3], a)        # through the (identity) network
    opaque = np.dstack([rgb, np.full((24, 20), 255, np.uint8)])
    out3 = drive(run(TaskInputs(opaque), UpscaleRequest(model_id=identity_x4), _ctx())).image
    assert out3[:, :, 3].min() == 255


def test_16_bit_kept(identity_x4, rng):
    img = rng.integers(0, 65536, (16, 16, 3), dtype=np.uint16)
    out = drive(run(TaskInputs(img), UpscaleRequest(model_id=identity_x4), _ctx())).image
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out[::4, ::4], img)          # full 16-bit precision
    rgba = np.dstack([img, np.full((16, 16), 30000, np.uint16)])
    out = drive(run(TaskInputs(rgba), UpscaleRequest(model_id=identity_x4, scale=2), _ctx())).image
    assert out.dtype == np.uint16 and out.shape == (32, 32, 4) and np.all(out[:, :, 3] == 30000)


def test_grey_input(identity_x4, rng):
    img = rng.integers(0, 256, (10, 12), dtype=np.uint8)
    out = drive(run(TaskInputs(img), UpscaleRequest(model_id=identity_x4), _ctx())).image
    assert out.shape == (40, 48)
    np.testing.assert_array_equal(out[::4, ::4], img)


def test_cancel_mid_run(tiny_x4, astronaut):
    ctx = _ctx(cancel=CancelToken())
    seen = []

    def on_progress(p):
        seen.append(p.stage)
        if p.stage == "Upscaling" and p.step >= 1:
            ctx.cancel.cancel()

    img = astronaut[:96, :96].copy()
    with pytest.raises(Cancelled):
        drive(run(TaskInputs(img), UpscaleRequest(model_id=tiny_x4, tile_size=32), ctx), on_progress)
    assert seen.count("Upscaling") == 1


def test_tiled_run_matches_untiled(tiny_x4, astronaut):
    img = astronaut[200:264, 200:264].copy()
    a = drive(run(TaskInputs(img), UpscaleRequest(model_id=tiny_x4, tile_size=0), _ctx(tile_size=512))).image
    b = drive(run(TaskInputs(img), UpscaleRequest(model_id=tiny_x4, tile_size=40), _ctx())).image
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    assert mse == 0 or 10 * np.log10(255 ** 2 / mse) >= 45


def test_errors_are_clear(tmp_path, identity_x4, rng, monkeypatch):
    img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    with pytest.raises(TaskError, match="unknown model id"):
        drive(run(TaskInputs(img), UpscaleRequest(model_id="realesrgan.nope"), _ctx()))
    denoiser = tmp_path / "denoise_x1.safetensors"
    save_safetensors(rrdbnet_state_dict(scale=1), denoiser)
    with pytest.raises(TaskError, match="not a super-resolution model"):
        drive(run(TaskInputs(img), UpscaleRequest(model_id=str(denoiser)), _ctx()))
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage")
    with pytest.raises(TaskError, match="corrupt"):
        drive(run(TaskInputs(img), UpscaleRequest(model_id=str(bad)), _ctx()))
    with pytest.raises(TaskError, match="not installed"):
        drive(run(TaskInputs(img), UpscaleRequest(model_id="realesrgan.x4plus-pth"),
                  _ctx(store=ModelStore(tmp_path / "empty"))))
    with pytest.raises(TaskError, match="pixel type"):
        drive(run(TaskInputs(img.astype(np.float32)), UpscaleRequest(model_id=identity_x4), _ctx()))
    import ganstudio.tasks.super_resolution as sr

    monkeypatch.setattr(sr, "physical_memory", lambda: 1 << 20)
    with pytest.raises(TaskError, match="memory"):
        drive(run(TaskInputs(np.zeros((256, 256, 3), np.uint8)),
                  UpscaleRequest(model_id=identity_x4, scale=16), _ctx()))


def test_request_round_trip():
    r = UpscaleRequest(model_id="realesrgan.x4plus", scale=3.0, tile_size=128)
    d = r.to_dict()
    assert d["task"] == "super_resolution"
    assert UpscaleRequest.from_dict(d) == r


@pytest.mark.slow
def test_real_offline_x4plus_is_sharper_than_bicubic(astronaut, model_cache):
    """The default offline model (converted from the PyPI ncnn wheel) on a real photo crop."""
    import cv2

    hi = astronaut[140:204, 200:264].copy()                       # 64x64 ground truth
    lo = cv2.resize(hi, (16, 16), interpolation=cv2.INTER_AREA)
    res = drive(run(TaskInputs(lo), UpscaleRequest(), _ctx()))
    assert res.image.shape == (64, 64, 3) and res.info["model"] == "realesrgan.x4plus"
    bic = cv2.resize(lo, (64, 64), interpolation=cv2.INTER_CUBIC)

    def sharpness(x):
        return cv2.Laplacian(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var()

    assert sharpness(res.image) > 1.5 * sharpness(bic)
    assert np.abs(res.image.reshape(-1, 3).mean(0) - hi.reshape(-1, 3).mean(0)).max() < 8


@pytest.mark.gpu
def test_gpu_path_matches_cpu(tiny_x4, astronaut):
    """CUDA (fp16 by default) or MPS gives the CPU result (tiny model, real photo crop)."""
    import torch

    from ganstudio.tasks.device import mps_available

    dev = "cuda" if torch.cuda.is_available() else "mps" if mps_available() else None
    if dev is None:
        pytest.skip("no CUDA / MPS device")
    img = astronaut[:64, :64].copy()
    cpu = drive(run(TaskInputs(img), UpscaleRequest(model_id=tiny_x4), _ctx())).image
    res = drive(run(TaskInputs(img), UpscaleRequest(model_id=tiny_x4), TaskContext(device=dev)))
    assert res.info["dtype"] == ("float16" if dev == "cuda" else "float32")
    mse = np.mean((res.image.astype(float) - cpu.astype(float)) ** 2)
    assert mse == 0 or 10 * np.log10(255 ** 2 / mse) >= 40
