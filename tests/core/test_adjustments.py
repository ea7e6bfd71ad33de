"""Adjustments: formulas against hand-computed GIMP / Photoshop values, 16-bit kept, alpha kept,
selection-limited with soft edges, one undo step, label / locked layers refused."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from ganstudio.core import adjustments as adj
from ganstudio.core.document import Document
from ganstudio.core.layers import LabelClass, LabelLayer, RasterLayer


def ramp(dtype=np.uint8) -> np.ndarray:
    maxv = 65535 if dtype == np.uint16 else 255
    v = np.linspace(0, maxv, 256).round().astype(dtype)
    px = np.zeros((1, 256, 4), dtype)
    px[0, :, 0] = v
    px[0, :, 1] = v[::-1]
    px[0, :, 2] = maxv // 2
    px[0, :, 3] = np.arange(256) % 7 * (maxv // 7)
    return px


def test_levels_formula() -> None:
    lv = adj.Levels(master=adj.LevelsChannel(in_low=0.2, in_high=0.8, gamma=2.0, out_low=0.1, out_high=0.9))
    px = ramp()
    out = lv.apply(px)
    x = px[0, :, 0] / 255.0
    v = np.clip((x - 0.2) / 0.6, 0, 1) ** 0.5
    want = np.floor((0.1 + v * 0.8) * 255 + 0.5)
    assert np.abs(out[0, :, 0].astype(int) - want).max() <= 1 and (out[0, :, 0] == want).mean() > 0.95
    assert np.array_equal(out[..., 3], px[..., 3])                 # alpha untouched
    # channel levels before master (GIMP's order): red in_high 0.5 then master gamma
    lv2 = adj.Levels(master=adj.LevelsChannel(gamma=0.5), red=adj.LevelsChannel(in_high=0.5))
    o2 = lv2.apply(px)
    want_r = np.floor(np.clip(px[0, :, 0] / 255 / 0.5, 0, 1) ** 2 * 255 + 0.5)
    assert np.array_equal(o2[0, :, 0], want_r.astype(np.uint8))
    assert np.array_equal(o2[0, :, 1], np.floor((px[0, :, 1] / 255) ** 2 * 255 + 0.5).astype(np.uint8))
    with pytest.raises(ValueError):
        adj.LevelsChannel(in_low=0.7, in_high=0.3)


def test_levels_16bit_kept_and_precise() -> None:
    px = ramp(np.uint16)
    out = adj.Levels(master=adj.LevelsChannel(gamma=2.2)).apply(px)
    assert out.dtype == np.uint16
    want = np.floor((px[0, :, 0] / 65535.0) ** (1 / 2.2) * 65535 + 0.5)
    assert np.array_equal(out[0, :, 0], want.astype(np.uint16))
    # 16-bit has more than 256 distinct output levels along a fine ramp
    fine = np.zeros((1, 4096, 4), np.uint16)
    fine[0, :, 0] = np.arange(4096) * 16
    assert len(np.unique(adj.Levels(master=adj.LevelsChannel(gamma=2.2)).apply(fine)[0, :, 0])) > 1000


def test_curves_spline_passes_through_points_and_is_natural() -> None:
    pts = ((0.0, 0.0), (0.25, 0.4), (0.75, 0.6), (1.0, 1.0))
    x = np.array([p[0] for p in pts])
    assert np.allclose(adj.spline_curve(pts, x), [p[1] for p in pts])
    # two points: a straight line; beyond the end points: flat
    assert np.allclose(adj.spline_curve(((0.2, 0.1), (0.8, 0.7)), np.array([0.0, 0.5, 1.0])), [0.1, 0.4, 0.7])
    # natural spline: second derivative zero at the ends (numerically)
    xs = np.linspace(0, 1, 10001)
    y = adj.spline_curve(pts, xs)
    d2 = np.diff(y, 2) / (xs[1] - xs[0]) ** 2
    assert abs(d2[0]) < 0.05 and abs(d2[-1]) < 0.05
    c = adj.Curves(master=pts)
    out = c.apply(ramp())
    v = ramp()[0, :, 0] / 255.0
    assert np.array_equal(out[0, :, 0], np.floor(adj.spline_curve(pts, v) * 255 + 0.5).astype(np.uint8))
    assert adj.Curves().is_identity and not c.is_identity
    with pytest.raises(ValueError):
        adj.Curves(master=((0.5, 0.5), (0.5, 0.7)))


def test_brightness_contrast_gimp_formula() -> None:
    px = ramp()
    bc = adj.BrightnessContrast(brightness=40, contrast=30)
    out = bc.apply(px)
    x = px[0, :, 0] / 255.0
    b = 0.2
    y = x + (1 - x) * b
    y = (y - 0.5) * np.tan((0.3 + 1) * np.pi / 4) + 0.5
    assert np.array_equal(out[0, :, 0], np.floor(np.clip(y, 0, 1) * 255 + 0.5).astype(np.uint8))
    dark = adj.BrightnessContrast(brightness=-100).apply(px)
    assert np.array_equal(dark[0, :, 0], np.floor(x * 0.5 * 255 + 0.5).astype(np.uint8))
    # full contrast: a threshold at mid-grey
    hard = adj.BrightnessContrast(contrast=100).apply(px)
    assert set(np.unique(hard[0, :, 0])) <= {0, 128, 255}


def test_hsl_round_trip_and_matches_colorsys() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.random((500, 3)).astype(np.float32)
    h, s, l = adj.rgb_to_hsl(rgb)
    for i in range(0, 500, 37):
        hh, ll, ss = colorsys.rgb_to_hls(*rgb[i].tolist())
        assert abs(hh - h[i]) < 1e-4 or abs(abs(hh - h[i]) - 1) < 1e-4
        assert abs(ll - l[i]) < 1e-5 and abs(ss - s[i]) < 1e-4
    assert np.allclose(adj.hsl_to_rgb(h, s, l), rgb, atol=1e-5)


def test_hue_saturation_gimp_master() -> None:
    px = np.array([[[255, 0, 0, 255], [100, 150, 200, 10], [128, 128, 128, 255]]], np.uint8)
    out = adj.HueSaturation(hue=120).apply(px)
    assert tuple(out[0, 0, :3]) == (0, 255, 0)                 # red +120° = green
    assert out[0, 1, 3] == 10                                  # alpha kept
    grey = adj.HueSaturation(saturation=-100).apply(px)
    r, g, b = (px[0, 1, :3] / 255.0).tolist()
    _h, l, _s = colorsys.rgb_to_hls(r, g, b)
    assert np.all(np.abs(grey[0, 1, :3].astype(int) - round(l * 255)) <= 1)
    light = adj.HueSaturation(lightness=100).apply(px)        # GIMP: v = 0.5, l += (1 - l) * v
    assert np.all(np.abs(light[0, 2, :3].astype(int) - round((0.502 + 0.498 * 0.5) * 255)) <= 1)
    assert adj.HueSaturation(hue=30).apply(px.astype(np.uint16) * 257).dtype == np.uint16
    with pytest.raises(ValueError):
        adj.HueSaturation(hue=400)


def make_doc() -> tuple[Document, RasterLayer]:
    doc = Document(8, 6)
    px = np.zeros((6, 8, 4), np.uint8)
    px[..., 0] = 100
    px[..., 3] = 255
    la = doc.add_layer(RasterLayer("a", px, offset=(0, 0)))
    doc.history.clear()
    return doc, la


def test_apply_one_step_selection_soft_edges() -> None:
    doc, la = make_doc()
    sel = np.zeros((6, 8), np.uint8)
    sel[1:3, 2:5] = 255
    sel[2, 4] = 128
    doc.set_selection(sel)
    doc.history.clear()
    before = la.data.copy()
    bc = adj.BrightnessContrast(brightness=-100)              # halves the colour
    preview = adj.adjusted_layer_pixels(doc, bc.apply)        # the same, document untouched
    assert np.array_equal(la.data, before)
    rect = adj.apply_adjustment(doc, bc)
    assert len(doc.history) == 1 and doc.history.undo_label == "Brightness-Contrast"
    assert rect is not None and (rect.w, rect.h) == (3, 2)
    assert la.data[1, 2, 0] == 50 and la.data[0, 0, 0] == 100
    assert la.data[2, 4, 0] == 75                              # half selected: half way
    assert np.array_equal(la.data, preview)
    doc.history.undo()
    assert np.array_equal(la.data, before)


def test_identity_records_nothing_and_refusals() -> None:
    doc, la = make_doc()
    assert adj.apply_adjustment(doc, adj.Levels()) is None and len(doc.history) == 0
    la.locked = True
    with pytest.raises(PermissionError):
        adj.apply_adjustment(doc, adj.HueSaturation(hue=10))
    lab = doc.add_layer(LabelLayer("l", np.zeros((6, 8), np.uint8), [LabelClass(1, "x", (1, 2, 3))]))
    with pytest.raises(ValueError, match="label layer"):
        adj.apply_adjustment(doc, adj.HueSaturation(hue=10), lab)


def test_apply_precomputed_writes_the_preview_as_one_step() -> None:
    doc, la = make_doc()
    sel = np.zeros((6, 8), np.uint8)
    sel[2:4, 1:3] = 200
    doc.set_selection(sel)
    doc.history.clear()
    before = la.data.copy()
    op = adj.Levels(master=adj.LevelsChannel(gamma=0.5))
    preview = adj.adjusted_layer_pixels(doc, op.apply)
    rect = adj.apply_precomputed(doc, preview, op.label)
    assert (rect.x, rect.y, rect.w, rect.h) == (1, 2, 2, 2) and len(doc.history) == 1
    assert np.array_equal(la.data, preview)
    doc.history.undo()
    assert np.array_equal(la.data, before)
    with pytest.raises(ValueError):
        adj.apply_precomputed(doc, preview[:2], op.label)


def test_hue_saturation_matches_the_reference_hsl_formula() -> None:
    # the fast path (OpenCV HLS) against the formula written out with rgb_to_hsl / hsl_to_rgb
    rng = np.random.default_rng(9)
    px = rng.integers(0, 255, (40, 50, 4), dtype=np.uint8)
    op = adj.HueSaturation(hue=-70, saturation=35, lightness=-40)
    h, s, l = adj.rgb_to_hsl(px[..., :3].astype(np.float32) / 255)
    h = (h - 70 / 360) % 1.0
    s = np.clip(s * 1.35, 0, 1)
    l = l * (1 - 0.2)
    want = np.clip(adj.hsl_to_rgb(h, s, l) * 255 + 0.5, 0, 255).astype(np.uint8)
    got = op.apply(px)
    assert np.abs(got[..., :3].astype(int) - want.astype(int)).max() <= 1
    assert np.array_equal(got[..., 3], px[..., 3])


def test_offset_layer_partly_off_canvas_uses_document_selection() -> None:
    doc = Document(10, 10)
    px = np.zeros((6, 6, 4), np.uint8)
    px[..., 0] = 200
    px[..., 3] = 255
    la = doc.add_layer(RasterLayer("off", px, offset=(7, -2)))     # covers x 7..12, y -2..3
    sel = np.zeros((10, 10), np.uint8)
    sel[0:2, 8:10] = 255                                            # doc (8..9, 0..1)
    doc.set_selection(sel)
    doc.history.clear()
    rect = adj.apply_adjustment(doc, adj.BrightnessContrast(brightness=-100), la)
    assert (rect.x, rect.y, rect.w, rect.h) == (1, 2, 2, 2)        # layer coordinates
    changed = np.argwhere(la.data[..., 0] != 200)
    assert {tuple(p) for p in changed} == {(2, 1), (2, 2), (3, 1), (3, 2)}
    assert la.data[2, 1, 0] == 100


def test_compute_within_a_part_equals_that_part_of_the_whole() -> None:
    from ganstudio.core import filters as flt
    from ganstudio.core.geometry import Rect

    rng = np.random.default_rng(11)
    doc = Document(40, 30)
    px = rng.integers(0, 255, (30, 40, 4), dtype=np.uint8)
    la = doc.add_layer(RasterLayer("a", px))
    sel = np.zeros((30, 40), np.uint8)
    sel[5:25, 5:35] = 255
    sel[5:25, 5] = 90
    doc.set_selection(sel)
    doc.history.clear()
    blur = flt.GaussianBlur(2.0)
    original = px.copy()
    rect, whole = adj.compute_pixel_op(doc, la, blur.apply, blur.margin)
    part_rect, part = adj.compute_pixel_op(doc, la, blur.apply, blur.margin, within=Rect(0, 0, 12, 12))
    assert part_rect == Rect(5, 5, 7, 7)
    assert np.array_equal(part, whole[:7, :7])
    assert adj.compute_pixel_op(doc, la, blur.apply, within=Rect(36, 0, 4, 4)) is None
    adj.apply_precomputed(doc, whole, "Gaussian blur", la, rect=rect)
    assert np.array_equal(la.data, flt.filtered_layer_pixels(doc, blur, la, source=original))
    assert len(doc.history) == 1
    with pytest.raises(ValueError):
        adj.apply_precomputed(doc, whole, "x", la, rect=Rect(30, 20, rect.w, rect.h))
