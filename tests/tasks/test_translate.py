"""The translate task (pix2pix UnetGenerator): alpha / grey / 16-bit / tiny inputs, sizes, the
official (batch statistics + dropout, seeded) and eval modes, masks, wrong files."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ganstudio.tasks.base import TaskContext, TaskError, TaskInputs, drive  # noqa: E402
from ganstudio.tasks.translate import TranslateRequest, run  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def tiny_unet(tmp_path_factory) -> str:
    from safetensors.torch import save_file

    from ganstudio.archs.pix2pix_unet_arch import UnetGenerator

    torch.manual_seed(1)
    net = UnetGenerator(num_downs=6, ngf=4)   # one dropout block
    sd = net.state_dict()
    for k, v in sd.items():
        if v.is_floating_point() and "running_var" not in k:
            v.normal_(0, 0.3)
        elif "running_var" in k:
            v.uniform_(0.5, 2.0)
    p = tmp_path_factory.mktemp("unet") / "tiny_unet.safetensors"
    save_file({k: v.contiguous() for k, v in sd.items()}, str(p))
    return str(p)


def _photo(h=48, w=64, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    mv = 255 if dtype == np.uint8 else 65535
    return rng.integers(0, mv, (h, w, 3)).astype(dtype)


def _run(img, model, mask=None, **kw):
    return drive(run(TaskInputs(image=img, mask=mask), TranslateRequest(model_id=model, **kw),
                     TaskContext(threads=1)))


def test_rgb_result_size_and_info(tiny_unet):
    res = _run(_photo(), tiny_unet)
    assert res.image.shape == (48, 64, 3) and res.image.dtype == np.uint8
    assert res.info["work_size"] == [64, 64] and res.info["mode"] == "official"
    assert res.image.std() > 1                                   # not a constant image


def test_alpha_kept(tiny_unet):
    img = np.dstack([_photo(), np.tile(np.arange(64, dtype=np.uint8) * 4, (48, 1))])
    res = _run(img, tiny_unet)
    assert res.image.shape == (48, 64, 4) and np.array_equal(res.image[..., 3], img[..., 3])


def test_grey_and_16_bit(tiny_unet):
    grey = _photo()[..., 0]
    out = _run(grey, tiny_unet).image
    assert out.shape == (48, 64) and out.dtype == np.uint8     # grey in, grey out
    img16 = _photo(dtype=np.uint16)
    out16 = _run(img16, tiny_unet).image
    assert out16.dtype == np.uint16 and out16.shape == (48, 64, 3)
    out8 = _run((img16 // 257).astype(np.uint8), tiny_unet).image
    assert np.abs(out16.astype(float) / 257 - out8).mean() < 2


@pytest.mark.parametrize("shape", [(1, 1, 3), (3, 5, 3), (2, 70, 4)])
def test_tiny_images(tiny_unet, shape):
    out = _run(np.full(shape, 90, np.uint8), tiny_unet).image
    assert out.shape == shape


def test_sizes_and_modes(tiny_unet):
    img = _photo(seed=3)
    a = _run(img, tiny_unet, seed=5).image
    b = _run(img, tiny_unet, seed=5).image
    c = _run(img, tiny_unet, seed=6).image
    assert np.array_equal(a, b)                                  # official mode: seeded dropout
    assert not np.array_equal(a, c)
    e1 = _run(img, tiny_unet, mode="eval", seed=1).image
    e2 = _run(img, tiny_unet, mode="eval", seed=2).image
    assert np.array_equal(e1, e2) and not np.array_equal(e1, a)  # eval: no dropout, running stats
    big = _run(img, tiny_unet, size=128)
    assert big.info["work_size"] == [128, 128]
    with pytest.raises(TaskError, match="multiple of 64"):
        _run(img, tiny_unet, size=96)
    with pytest.raises(TaskError, match="unknown mode"):
        _run(img, tiny_unet, mode="train")


def test_mask_becomes_the_layer_mask(tiny_unet):
    mask = np.zeros((48, 64), np.uint8)
    mask[5:20, 10:30] = 255
    (layer,) = _run(_photo(), tiny_unet, mask=mask).output_layers()
    assert np.array_equal(layer.mask, mask)


def test_wrong_files_are_clear_errors(tiny_unet, tmp_path):
    from safetensors.torch import save_file

    from ganstudio.archs.cyclegan_arch import ResnetGenerator

    p = tmp_path / "cyclegan.safetensors"
    save_file({k: v.contiguous() for k, v in ResnetGenerator(ngf=4, n_blocks=1).state_dict().items()}, str(p))
    with pytest.raises(TaskError):
        _run(_photo(), str(p))
    with pytest.raises(TaskError, match="not installed|download"):
        _run(_photo(), "pix2pix.facades_label2photo")
