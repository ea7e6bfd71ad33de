"""Issue 12: only the masked region changes (bit-exact outside for every strategy, model, pixel
type and option), the edge feather lies inside the mask, and fills carry real texture."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ganstudio.tasks import inpaint as ip
from ganstudio.tasks.base import TaskContext, TaskInputs, drive
from ganstudio.tasks.inpaint import InpaintRequest, run
from ganstudio.tasks.masked_crop import prepare_mask
from ganstudio.tasks.texture_synthesis import nearest_neighbour_field, transfer_texture

CTX = TaskContext(device="cpu", threads=1, precision="fp32")


def _textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A photo-like image: smooth gradient + fine grain + a few edges."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([60 + xx * 120 / w, 80 + yy * 100 / h, 120 + 0 * xx], 2)
    grain = cv2.GaussianBlur(rng.normal(0, 18, (h, w, 3)).astype(np.float32), (0, 0), 0.8)
    img = base + grain
    img[:, w // 3: w // 3 + 4] -= 60
    return np.clip(img, 0, 255).astype(np.uint8)


def _mask(h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    cv2.circle(m, (w // 2, h // 2), min(h, w) // 6, 255, -1)
    cv2.line(m, (5, h - 10), (w - 20, h // 3), 255, 7)
    m[0:12, 0:30] = 255                                    # touching the border
    m[h // 5, w // 5] = 128                                 # binarised at 128
    return m


def _region(mask: np.ndarray, req: InpaintRequest) -> np.ndarray:
    return prepare_mask(mask, max(0, req.dilate)) > 0


def _variants(img: np.ndarray) -> dict[str, np.ndarray]:
    alpha = np.full(img.shape[:2] + (1,), 200, np.uint8)
    return {"rgb8": img, "rgba8": np.concatenate([img, alpha], 2),
            "rgb16": img.astype(np.uint16) * 257 + 3,
            "rgba16": np.concatenate([img, alpha], 2).astype(np.uint16) * 257,
            "grey8": cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)}


@pytest.mark.parametrize("model", ["builtin.inpaint-compact", "opencv.telea", "opencv.ns"])
@pytest.mark.parametrize("strategy", ["crop", "resize", "original"])
def test_outside_the_region_is_bit_exact(model, strategy):
    img = _textured(180, 260)
    mask = _mask(180, 260)
    opts = [InpaintRequest(model_id=model, strategy=strategy, crop_trigger=100, resize_limit=128),
            InpaintRequest(model_id=model, strategy=strategy, crop_trigger=100, resize_limit=128,
                           feather=3, dilate=2)]
    for kind, px in _variants(img).items():
        for req in opts:
            out = drive(run(TaskInputs(image=px, mask=mask), req, CTX)).image
            assert out.dtype == px.dtype and out.shape == px.shape, kind
            outside = ~_region(mask, req)
            assert np.array_equal(out[outside], px[outside]), (kind, req.dilate)
            if px.ndim == 3 and px.shape[2] == 4:
                assert np.array_equal(out[..., 3], px[..., 3])          # alpha kept everywhere
            inside = _region(mask, req)
            assert (out[inside] != px[inside]).any()                    # and the hole did change


def test_default_changes_exactly_the_painted_pixels():
    req = InpaintRequest()
    assert req.dilate == 0 and req.feather == 0
    img = _textured(120, 160)
    mask = _mask(120, 160)
    out = drive(run(TaskInputs(image=img, mask=mask), req, CTX)).image
    changed = (out != img).any(axis=2)
    assert not changed[mask < 128].any()
    # the weight the window previews equals the pixels that may change
    assert np.array_equal(ip.composite_weight(mask, req) > 0, mask >= 128)


def test_feather_lies_inside_the_mask():
    req = InpaintRequest(feather=4)
    m = np.zeros((60, 60), np.uint8)
    m[10:50, 10:50] = 255
    w = ip.composite_weight(m, req)
    assert (w[m == 0] == 0).all() and w[30, 30] == 1 and 0 < w[10, 30] < 0.5


def _texture_ratio(out: np.ndarray, mask: np.ndarray) -> float:
    g = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float32)
    hp = np.abs(g - cv2.GaussianBlur(g, (0, 0), 1.5))
    hole = mask > 0
    ring = cv2.dilate(hole.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (31, 31))) > 0
    return float(hp[hole].mean() / hp[ring & ~hole].mean())


def test_fills_carry_the_texture_of_the_surroundings(astronaut):
    img = np.ascontiguousarray(astronaut[300:480, 300:500])       # the suit and the flag's texture
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.ellipse(mask, (100, 90), (40, 28), 20, 0, 360, 255, -1)
    smooth = drive(run(TaskInputs(image=img, mask=mask), InpaintRequest(texture=0), CTX)).image
    textured = drive(run(TaskInputs(image=img, mask=mask), InpaintRequest(), CTX)).image
    assert _texture_ratio(textured, mask) > max(0.6, 1.5 * _texture_ratio(smooth, mask))


def test_large_hole_is_not_a_flat_smear():
    img = _textured(900, 1000, seed=3)
    mask = np.zeros(img.shape[:2], np.uint8)
    mask[150:750, 200:800] = 255                                   # a 600 px hole
    req = InpaintRequest(strategy="resize", resize_limit=384)      # the network sees it at 1/2.6
    out = drive(run(TaskInputs(image=img, mask=mask), req, CTX)).image
    assert _texture_ratio(out, mask) > 0.5


def test_nearest_neighbour_field_finds_a_copied_patch():
    rng = np.random.default_rng(0)
    img = rng.random((60, 80, 3)).astype(np.float32)
    img[15:45, 45:75] = img[0:30, 0:30]          # the hole and its surroundings also exist 15, 45 away
    hole = np.zeros((60, 80), bool)
    hole[25:35, 55:65] = True
    sy, sx = nearest_neighbour_field(img, hole, patch=7, iters=6, seed=1)
    ys, xs = np.nonzero(hole)
    found = (sy[ys, xs] == ys - 15) & (sx[ys, xs] == xs - 45)
    assert found.mean() > 0.8


def test_transfer_texture_changes_only_the_hole():
    rng = np.random.default_rng(2)
    img = rng.random((50, 50, 3)).astype(np.float32)
    hole = np.zeros((50, 50), bool)
    hole[20:30, 20:30] = True
    fill = img.copy()
    fill[hole] = 0.5
    out = transfer_texture(img, fill, hole)
    assert np.array_equal(out[~hole], fill[~hole])
    assert out[hole].std() > 0.05
