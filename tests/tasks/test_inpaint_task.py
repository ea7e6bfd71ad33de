"""Inpainting task: strategies' geometry, compositing, bad input, cancel, models."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ganstudio.tasks import inpaint as ip
from ganstudio.tasks.base import Cancelled, CancelToken, Progress, TaskContext, TaskError, TaskInputs, drive
from ganstudio.tasks.inpaint import InpaintRequest, plan_regions, run
from ganstudio.tasks.masked_crop import crop_boxes, feather_weight, pad_to_multiple, prepare_mask, shift_inside

CTX = TaskContext(device="cpu", threads=1)


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 200 / max(1, w), yy * 200 / max(1, h), (xx + yy) * 100 / max(1, h + w)], 2)
    return np.clip(base + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a != b
    return d.any(axis=2) if d.ndim == 3 else d


def _allowed(mask: np.ndarray, req: InpaintRequest) -> np.ndarray:
    return ip.composite_weight(mask, req) > 0


# --- geometry ------------------------------------------------------------------------------------
def test_shift_inside_keeps_size_and_bounds():
    assert shift_inside(-30, 70, 500) == (0, 100)
    assert shift_inside(450, 550, 500) == (400, 500)
    assert shift_inside(-10, 700, 500) == (0, 500)


def test_crop_boxes_in_bounds_shifted_inward_and_merged():
    m = np.zeros((1000, 1200), np.uint8)
    m[5:40, 3:30] = 255          # top-left corner: box shifted inward, keeps its full size
    m[950:1000, 1150:1200] = 255  # bottom-right corner
    m[500:510, 600:610] = 255
    m[500:510, 700:710] = 255     # close to the previous one: boxes overlap -> merged
    boxes = crop_boxes(m, 128)
    assert len(boxes) == 3
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= 1200 and 0 <= y0 < y1 <= 1000
    tl = [b for b in boxes if b[0] == 0 and b[1] == 0][0]
    assert (tl[2] - tl[0], tl[3] - tl[1]) == (27 + 256, 35 + 256)
    br = [b for b in boxes if b[2] == 1200 and b[3] == 1000][0]
    assert (br[2] - br[0], br[3] - br[1]) == (50 + 256, 50 + 256)
    mid = [b for b in boxes if b not in (tl, br)][0]
    assert mid == (600 - 128, 500 - 128, 710 + 128, 510 + 128)
    covered = np.zeros_like(m, bool)
    for x0, y0, x1, y1 in boxes:
        covered[y0:y1, x0:x1] = True
    assert covered[m > 0].all()


def test_plan_per_strategy():
    m = np.zeros((1500, 2000), np.uint8)
    m[100:200, 100:200] = 255
    m[1000:1400, 1200:1900] = 255
    crop = plan_regions(m.shape, m, InpaintRequest(strategy="crop"))
    assert len(crop) == 2 and all(s == 1.0 for _, s in crop)
    resize = plan_regions(m.shape, m, InpaintRequest(strategy="resize"))
    assert resize == [((0, 0, 2000, 1500), 1280 / 2000)]
    assert plan_regions(m.shape, m, InpaintRequest(strategy="original")) == [((0, 0, 2000, 1500), 1.0)]
    small = np.zeros((600, 700), np.uint8)
    small[10:20, 10:20] = 255  # under crop_trigger: whole image
    assert plan_regions(small.shape, small, InpaintRequest()) == [((0, 0, 700, 600), 1.0)]
    huge = np.zeros((3000, 4000), np.uint8)
    huge[100:2900, 100:3900] = 255  # a huge region is downscaled inside the crop strategy
    (box, s), = plan_regions(huge.shape, huge, InpaintRequest())
    assert s < 1.0 and max(box[2] - box[0], box[3] - box[1]) * s <= 1280 + 1


def test_pad_to_multiple_and_feather():
    a = np.arange(5 * 7 * 3, dtype=np.float32).reshape(5, 7, 3)
    p, size = pad_to_multiple(a, 8, 64)
    assert p.shape == (64, 64, 3) and size == (5, 7)
    assert np.array_equal(p[:5, :7], a)
    m = np.zeros((40, 40), np.uint8)
    m[15:25, 15:25] = 255
    w = feather_weight(m, 4)
    assert (w[m == 0] == 0).all()                        # the soft edge lies inside the mask
    assert w[20, 20] == 1 and 0 < w[15, 20] < w[17, 20] < 1
    assert np.array_equal(feather_weight(m, 0) > 0, m > 0)
    assert prepare_mask(np.full((3, 3), 100, np.uint8)).sum() == 0


# --- the task ------------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["crop", "resize", "original"])
def test_only_masked_and_near_masked_pixels_change(strategy):
    img = _photo(300, 900)  # long side > crop_trigger? no: use small trigger below
    m = np.zeros(img.shape[:2], np.uint8)
    m[5:40, 0:60] = 255            # touching the left edge
    cv2.circle(m, (700, 200), 30, 255, -1)
    cv2.line(m, (300, 290), (420, 299), 255, 5)  # touching the bottom edge
    req = InpaintRequest(strategy=strategy, crop_trigger=256, crop_margin=32, resize_limit=512)
    res = drive(run(TaskInputs(image=img, mask=m), req, CTX))
    assert res.image.shape == img.shape and res.image.dtype == img.dtype
    ch = _changed(res.image, img)
    allowed = _allowed(m, req)
    assert not (ch & ~allowed).any()
    assert ch[m > 0].mean() > 0.5  # the hole really changed
    if strategy == "crop":
        assert res.info["regions"] == 3
        for x0, y0, x1, y1 in res.info["boxes"]:
            assert 0 <= x0 < x1 <= 900 and 0 <= y0 < y1 <= 300
    assert res.info["bbox"] is not None


def test_alpha_and_16bit_kept():
    img8 = _photo(96, 80)
    img = np.concatenate([img8.astype(np.uint16) * 257, np.full((96, 80, 1), 40000, np.uint16)], 2)
    img[..., 3][:10] = 0
    m = np.zeros((96, 80), np.uint8)
    m[30:60, 20:50] = 255
    req = InpaintRequest()
    res = drive(run(TaskInputs(image=img, mask=m), req, CTX))
    assert res.image.dtype == np.uint16 and res.image.shape == img.shape
    assert np.array_equal(res.image[..., 3], img[..., 3])
    ch = _changed(res.image, img)
    assert not (ch & ~_allowed(m, req)).any() and ch[m > 0].any()
    assert not np.array_equal(res.image[40, 30, :3], img[40, 30, :3])


def test_empty_mask_is_a_noop_with_message():
    img = _photo(64, 64)
    res = drive(run(TaskInputs(image=img, mask=np.zeros((64, 64), np.uint8)), InpaintRequest(), CTX))
    assert res.info["noop"] is True and "empty" in res.info["message"]
    assert np.array_equal(res.image, img)
    faint = np.full((64, 64), 20, np.uint8)  # below the binarisation threshold
    assert drive(run(TaskInputs(image=img, mask=faint), InpaintRequest(), CTX)).info["noop"]


def test_bad_inputs_are_clear_task_errors():
    img = _photo(64, 64)
    with pytest.raises(TaskError, match="same size"):
        drive(run(TaskInputs(image=img, mask=np.zeros((32, 64), np.uint8)), InpaintRequest(), CTX))
    with pytest.raises(TaskError):
        drive(run(TaskInputs(image=img, mask=None), InpaintRequest(), CTX))
    with pytest.raises(TaskError, match="strategy"):
        drive(run(TaskInputs(image=img, mask=np.full((64, 64), 255, np.uint8)),
                  InpaintRequest(strategy="zoom"), CTX))
    with pytest.raises(TaskError, match="unknown inpainting model"):
        drive(run(TaskInputs(image=img, mask=np.full((64, 64), 255, np.uint8)),
                  InpaintRequest(model_id="nope.nothing"), CTX))


def test_lama_not_installed_is_a_clear_error(model_cache):
    img = _photo(32, 32)
    m = np.full((32, 32), 255, np.uint8)
    with pytest.raises(TaskError, match="not installed"):
        drive(run(TaskInputs(image=img, mask=m), InpaintRequest(model_id="lama.big-lama"), CTX))


def test_all_white_mask_and_tiny_images():
    for h, w in ((64, 64), (7, 5), (1, 1), (33, 17)):
        img = _photo(h, w)
        res = drive(run(TaskInputs(image=img, mask=np.full((h, w), 255, np.uint8)), InpaintRequest(), CTX))
        assert res.image.shape == img.shape and np.isfinite(res.image).all()
    img = _photo(20, 30)
    m = np.zeros((20, 30), np.uint8)
    m[5:10, 5:10] = 255
    res = drive(run(TaskInputs(image=img, mask=m), InpaintRequest(), CTX))
    assert not (_changed(res.image, img) & ~_allowed(m, InpaintRequest())).any()


def test_grayscale_and_opencv_models():
    img = _photo(80, 80)
    m = np.zeros((80, 80), np.uint8)
    m[20:40, 20:50] = 255
    for mid in ("opencv.telea", "opencv.ns"):
        req = InpaintRequest(model_id=mid)
        res = drive(run(TaskInputs(image=img, mask=m), req, CTX))
        ch = _changed(res.image, img)
        assert ch[m > 0].any() and not (ch & ~_allowed(m, req)).any()
        assert res.info["model"] == mid
    gray = img[..., 0]
    res = drive(run(TaskInputs(image=gray, mask=m), InpaintRequest(), CTX))
    assert res.image.shape == gray.shape


def test_cancel_between_regions_leaves_input_untouched():
    img = _photo(300, 1000)
    before = img.copy()
    m = np.zeros(img.shape[:2], np.uint8)
    for x in (100, 500, 900):
        cv2.circle(m, (x, 150), 20, 255, -1)
    token = CancelToken()
    ctx = TaskContext(device="cpu", threads=1, cancel=token)
    gen = run(TaskInputs(image=img, mask=m), InpaintRequest(crop_trigger=256, crop_margin=64), ctx)
    steps = []
    with pytest.raises(Cancelled):
        while True:
            p = next(gen)
            assert isinstance(p, Progress)
            steps.append(p)
            if p.step == 2:
                token.cancel()
    assert 2 <= len(steps) < 5
    assert np.array_equal(img, before)


def test_request_roundtrip():
    r = InpaintRequest(model_id="opencv.ns", strategy="resize", crop_margin=64, seed=3)
    d = r.to_dict()
    assert d["task"] == "inpaint"
    assert InpaintRequest.from_dict(d) == r
    ids = [c["id"] for c in ip.model_choices()]
    assert ids[0] == ip.BUILTIN_ID and "opencv.telea" in ids and "lama.big-lama" in ids


@pytest.mark.slow
def test_builtin_weights_beat_telea_in_hole_psnr():
    """A held-out-style sample: the sample photo (never in the training pool), seeded masks."""
    from ganstudio import paths
    from ganstudio.train.inpaint import psnr
    from ganstudio.train.inpaint_masks import object_mask, stroke_mask
    from PIL import Image

    img = np.asarray(Image.open(paths.SAMPLE_PHOTO).convert("RGB"))
    scores = {"builtin": [], "telea": []}
    for j in range(4):
        rng = np.random.default_rng(77 + j)
        m = stroke_mask(rng, 512, 512) if j % 2 == 0 else object_mask(rng, 512, 512)
        for name, mid in (("builtin", ip.BUILTIN_ID), ("telea", "opencv.telea")):
            req = InpaintRequest(model_id=mid, strategy="original", dilate=0, feather=0)
            out = drive(run(TaskInputs(image=img, mask=m), req, CTX)).image
            scores[name].append(psnr(out, img, m))
    assert np.mean(scores["builtin"]) > np.mean(scores["telea"])


def test_too_large_for_memory_is_a_clear_error(monkeypatch):
    img = _photo(64, 64)
    m = np.zeros((64, 64), np.uint8)
    m[10:20, 10:20] = 255
    monkeypatch.setitem(ip.BYTES_PER_PIXEL, "builtin", 10**12)
    with pytest.raises(TaskError, match="crop or resize"):
        drive(run(TaskInputs(image=img, mask=m), InpaintRequest(strategy="original"), CTX))
