"""Filters: Gaussian blur in premultiplied alpha (no dark halos), against a direct convolution,
unsharp mask formula and threshold, 16-bit kept, selection-limited reading around the selection,
one undo step."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core import filters as flt
from ganstudio.core.document import Document
from ganstudio.core.layers import RasterLayer


def test_blur_matches_gaussian_convolution_on_opaque() -> None:
    px = np.zeros((1, 41, 4), np.uint8)
    px[0, 20, :3] = 255
    px[..., 3] = 255
    out = flt.gaussian_blur(px, 2.0, 0.0)
    k = np.exp(-(np.arange(-6, 7) ** 2) / (2 * 2.0 ** 2))
    k /= k.sum()
    want = np.zeros(41)
    want[14:27] = 255 * k
    assert np.abs(out[0, :, 0].astype(float) - want).max() <= 1.0
    assert np.all(out[..., 3] == 255)


def test_blur_premultiplied_no_dark_halo() -> None:
    # a white opaque disc on transparent BLACK pixels: the straight colour of the blurred edge
    # stays white (a straight-alpha blur would pull it towards black)
    px = np.zeros((32, 32, 4), np.uint8)
    yy, xx = np.mgrid[:32, :32]
    px[(yy - 16) ** 2 + (xx - 16) ** 2 < 64] = (255, 255, 255, 255)
    out = flt.gaussian_blur(px, 3.0)
    edge = (out[..., 3] > 5) & (out[..., 3] < 250)
    assert edge.sum() > 50
    assert out[edge][:, :3].min() >= 253
    assert out[16, 16, 3] > 240 and out[0, 0, 3] == 0


def test_blur_16bit_kept() -> None:
    px = np.zeros((9, 9, 4), np.uint16)
    px[4, 4] = 65535
    out = flt.gaussian_blur(px, 1.0)
    assert out.dtype == np.uint16 and 0 < out[4, 4, 3] < 65535 and out[3, 4, 3] > 256
    with pytest.raises(ValueError):
        flt.gaussian_blur(px, -1)


def test_unsharp_formula_and_threshold() -> None:
    px = np.zeros((1, 21, 4), np.uint8)
    px[0, :10, :3] = 100
    px[0, 10:, :3] = 150
    px[..., 3] = 255
    out = flt.unsharp_mask(px, 1.5, 1.0)
    blur = flt.gaussian_blur(px, 1.5)
    want = np.clip(px[0, :, 0].astype(float) * 2 - blur[0, :, 0], 0, 255)
    assert np.abs(out[0, :, 0].astype(float) - want).max() <= 1.0
    assert out[0, 9, 0] < 100 and out[0, 10, 0] > 150            # overshoot on both sides of the edge
    assert out[0, 0, 0] == 100 and np.all(out[..., 3] == 255)
    calm = flt.unsharp_mask(px, 1.5, 1.0, threshold=30)          # the edge step (<30 levels) is kept
    assert np.array_equal(calm[0, :, 0], px[0, :, 0])


def test_apply_filter_selection_reads_around_and_one_step() -> None:
    doc = Document(20, 10)
    px = np.zeros((10, 20, 4), np.uint8)
    px[:, 10:, :3] = 255
    px[..., 3] = 255
    la = doc.add_layer(RasterLayer("a", px))
    sel = np.zeros((10, 20), np.uint8)
    sel[:, 9:11] = 255
    doc.set_selection(sel)
    doc.history.clear()
    rect = flt.apply_filter(doc, flt.GaussianBlur(2.0))
    assert len(doc.history) == 1 and rect.w == 2
    assert 0 < la.data[5, 9, 0] < 128 < la.data[5, 10, 0] < 255   # blurred from outside pixels
    assert la.data[5, 8, 0] == 0 and la.data[5, 11, 0] == 255       # outside untouched
    prev = flt.filtered_layer_pixels(doc, flt.GaussianBlur(2.0))
    doc.history.undo()
    assert np.array_equal(la.data, px)
    assert flt.filtered_layer_pixels(doc, flt.UnsharpMask(1.0, 0.0)).tobytes() == px.tobytes()
    assert prev[5, 9, 0] > 0 and la.data[5, 9, 0] == 0


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_opaque_fast_path_equals_the_premultiplied_path(dtype) -> None:
    rng = np.random.default_rng(7)
    maxv = 65535 if dtype == np.uint16 else 255
    px = rng.integers(0, maxv, (30, 40, 4), dtype=np.int64).astype(dtype)
    px[..., 3] = maxv
    fast = flt.gaussian_blur(px, 2.5)
    almost = px.copy()
    almost[0, 0, 3] = maxv - 1                      # not opaque: the premultiplied float path
    slow = flt.gaussian_blur(almost, 2.5)
    tol = 1 if dtype == np.uint8 else 2
    assert np.abs(fast[5:, 5:].astype(int) - slow[5:, 5:].astype(int)).max() <= tol
    assert fast.dtype == dtype and np.all(fast[..., 3] == maxv)
