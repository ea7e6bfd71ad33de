"""The style_transfer task: alpha / grey / 16-bit / tiny inputs, strength and keep-colours, tiled
vs whole (whole-image statistics), previews of a region, unknown CycleGAN layouts, thumbnails.

Tiny random CycleGANs (weights files) for the numerics; the real offline 26-style network on
small images where the real model matters (it converts once per session cache)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ganstudio.tasks.base import TaskContext, TaskError, TaskInputs, drive  # noqa: E402
from ganstudio.tasks.style_transfer import (StyleRequest, ThumbnailsRequest, run,  # noqa: E402
                                            run_thumbnails)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _sd(ngf=8, n_blocks=2, seed=0, **kw):
    from ganstudio.archs.cyclegan_arch import ResnetGenerator

    torch.manual_seed(seed)
    net = ResnetGenerator(ngf=ngf, n_blocks=n_blocks, **kw)
    sd = net.state_dict()
    for v in sd.values():
        if v.is_floating_point():
            v.normal_(0, 0.15)
    return {k: v.clone().contiguous() for k, v in sd.items()}


def _save(sd, path):
    from safetensors.torch import save_file

    save_file(sd, str(path))
    return str(path)


@pytest.fixture(scope="module")
def tiny_gan(tmp_path_factory) -> str:
    return _save(_sd(), tmp_path_factory.mktemp("gan") / "tiny_cyclegan.safetensors")


def _photo(h=72, w=96, seed=0, dtype=np.uint8):
    import cv2

    rng = np.random.default_rng(seed)
    base = rng.random((h // 8 + 1, w // 8 + 1, 3)).astype(np.float32)
    img = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    mv = 255 if dtype == np.uint8 else 65535
    return (np.clip(img, 0, 1) * mv + 0.5).astype(dtype)


def _run(img, ctx=None, mask=None, **kw):
    return drive(run(TaskInputs(image=img, mask=mask), StyleRequest(**kw), ctx or TaskContext(threads=1)))


def test_alpha_is_kept_and_result_restyled(tiny_gan):
    rgb = _photo()
    alpha = np.tile(np.linspace(0, 255, rgb.shape[1]).astype(np.uint8), (rgb.shape[0], 1))
    res = _run(np.dstack([rgb, alpha]), model_id=tiny_gan)
    assert res.image.shape == (72, 96, 4) and res.image.dtype == np.uint8
    assert np.array_equal(res.image[..., 3], alpha)
    assert np.abs(res.image[..., :3].astype(int) - rgb).mean() > 5
    assert res.info["task"] == "style_transfer" and res.info["kind"] == "style"


def test_grey_inputs(tiny_gan):
    grey = _photo()[..., 0]
    out = _run(grey, model_id=tiny_gan).image
    assert out.shape == (72, 96, 3)                            # stylised in colour
    kept = _run(grey, model_id=tiny_gan, keep_colors=True).image
    assert kept.shape == (72, 96)                              # keep colours: stays grey
    ga = np.dstack([grey, np.full_like(grey, 200)])            # grey + alpha
    out = _run(ga, model_id=tiny_gan, keep_colors=True).image
    assert out.shape == (72, 96, 2) and (out[..., 1] == 200).all()


def test_16_bit_in_16_bit_out(tiny_gan):
    img16 = _photo(dtype=np.uint16)
    out = _run(img16, model_id=tiny_gan).image
    assert out.dtype == np.uint16 and out.shape == img16.shape
    out8 = _run((img16 // 257).astype(np.uint8), model_id=tiny_gan).image
    assert np.abs(out.astype(np.float64) / 257 - out8).mean() < 1.5     # same look as 8-bit
    assert len(np.unique(out)) > len(np.unique(out8))                   # finer steps kept


@pytest.mark.parametrize("shape", [(1, 1, 3), (5, 7, 3), (3, 80, 4)])
def test_tiny_images(tiny_gan, shape):
    img = np.full(shape, 120, np.uint8)
    out = _run(img, model_id=tiny_gan).image
    assert out.shape == shape and out.dtype == np.uint8


def test_strength_and_keep_colours(tiny_gan):
    rgb = _photo(seed=2)
    full = _run(rgb, model_id=tiny_gan).image.astype(float)
    none = _run(rgb, model_id=tiny_gan, strength=0.0).image
    assert np.abs(none.astype(int) - rgb).max() <= 1                    # strength 0 = the photo
    half = _run(rgb, model_id=tiny_gan, strength=0.5).image.astype(float)
    assert np.abs(half - (rgb + 0.5 * (full - rgb))).max() <= 1.0
    kept = _run(rgb, model_id=tiny_gan, keep_colors=True).image.astype(float)
    # the chroma (RGB minus luma) is the photo's, the luma the stylised one
    y = np.array([0.299, 0.587, 0.114])
    chroma = lambda a: a - (a @ y)[..., None]   # noqa: E731
    inside = (kept > 1).all(2) & (kept < 254).all(2)                     # not clipped
    assert np.abs(chroma(kept) - chroma(rgb.astype(float)))[inside].max() <= 1.5
    assert np.abs((kept @ y) - (full @ y))[inside].max() <= 1.5
    with pytest.raises(TaskError, match="strength"):
        _run(rgb, model_id=tiny_gan, strength=1.5)


def test_tiled_equals_whole_with_whole_image_statistics(tiny_gan):
    rgb = _photo(120, 152, seed=4)
    whole = _run(rgb, model_id=tiny_gan, tile_size=0, work_size=0)
    tiled = _run(rgb, model_id=tiny_gan, tile_size=48, work_size=0, stats="exact")
    assert whole.info["stats"] == "whole image" and tiled.info["stats"] == "exact"
    assert tiled.info["tile"] == 48
    assert np.abs(tiled.image.astype(int) - whole.image.astype(int)).max() <= 1


@pytest.mark.slow
def test_tiled_equals_whole_real_26_style_network():
    rgb = _photo(96, 128, seed=5)
    whole = _run(rgb, model_id="stylelite.styles26", style_index=7, tile_size=0)
    tiled = _run(rgb, model_id="stylelite.styles26", style_index=7, tile_size=64, stats="exact")
    assert tiled.info["stats"] == "exact" and tiled.info["tile"] == 64
    d = np.abs(tiled.image.astype(int) - whole.image.astype(int))
    assert d.max() <= 2, d.max()
    assert np.abs(whole.image.astype(int) - rgb).mean() > 10            # really stylised


def test_preview_region_matches_the_whole_result():
    rgb = _photo(100, 140, seed=6)
    whole = _run(rgb, model_id="stylelite.styles26", style_index=2).image
    res = _run(rgb, model_id="stylelite.styles26", style_index=2, region=(30, 20, 70, 50))
    assert res.image.shape == (50, 70, 3) and res.info["stats"] == "given"
    assert np.abs(res.image.astype(int) - whole[20:70, 30:100].astype(int)).max() <= 2
    small = _run(rgb, model_id="stylelite.styles26", style_index=2, region=(30, 20, 70, 50),
                 preview_side=35)
    assert small.image.shape == (25, 35, 3) and small.info["preview_scale"] == 0.5
    with pytest.raises(TaskError, match="outside"):
        _run(rgb, model_id="stylelite.styles26", region=(500, 500, 10, 10))


def test_masked_result_layer(tiny_gan):
    mask = np.zeros((72, 96), np.uint8)
    mask[10:40, 20:60] = 255
    res = _run(_photo(), model_id=tiny_gan, mask=mask)
    (layer,) = res.output_layers()
    assert np.array_equal(layer.mask, mask)


def test_unknown_cyclegan_layouts_name_what_does_not_fit(tmp_path):
    mixed = _sd()
    k = next(k for k in mixed if k.startswith("model.11.conv_block."))
    mixed[k.replace("conv_block", "block")] = mixed.pop(k)
    with pytest.raises(TaskError, match="'conv_block' and 'block'"):
        _run(_photo(), model_id=_save(mixed, tmp_path / "mixed.safetensors"))
    gap = {k.replace("model.11.", "model.12.") if k.startswith("model.11.") else k: v
           for k, v in _sd(n_blocks=2).items()}
    with pytest.raises(TaskError, match=r"blocks at \[10, 12\]"):
        _run(_photo(), model_id=_save(gap, tmp_path / "gap.safetensors"))
    other = {"encoder.0.weight": torch.zeros(4, 3, 3, 3)}
    with pytest.raises(TaskError, match="model.1.weight.*encoder.0.weight"):
        _run(_photo(), model_id=_save(other, tmp_path / "other.safetensors"))
    missing = _sd()
    del missing["model.10.conv_block.5.weight"]
    with pytest.raises(TaskError, match="model.10.conv_block.5.weight"):
        _run(_photo(), model_id=_save(missing, tmp_path / "missing.safetensors"))


def test_corrupt_style_image(tmp_path):
    bad = tmp_path / "painting.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(TaskError, match="cannot read the style image"):
        _run(_photo(), model_id="stylelite.arbitrary", style_image=str(bad))
    with pytest.raises(TaskError, match="needs a style image"):
        _run(_photo(), model_id="stylelite.arbitrary")


def test_thumbnails_task_renders_and_reports(tiny_gan):
    items = (("stylelite.styles26", 0, ""), (tiny_gan, 0, ""), ("cyclegan.style_monet", 0, ""))
    seen = []
    res = drive(run_thumbnails(TaskInputs(image=_photo(120, 160)), ThumbnailsRequest(items=items, size=48),
                               TaskContext(threads=1)), seen.append)
    thumbs = res.artefacts["thumbnails"]
    assert thumbs["stylelite.styles26#0"].shape == (36, 48, 3)
    assert f"{tiny_gan}#0" in thumbs
    assert "not installed" in res.info["errors"]["cyclegan.style_monet#0"]   # listed, not a crash
    assert [p.stage for p in seen if p.preview is not None] == ["stylelite.styles26#0", f"{tiny_gan}#0"]
