"""Blend modes and compositing against scalar reference formulas (W3C Compositing Level 1)."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core.blend import NONSEPARABLE_FUNCTIONS, blend, blend_reference, blend_reference_rgb
from ganstudio.core.compositing import composite, composite_for_display, composite_layers
from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import BlendMode, LabelClass, LabelLayer, RasterLayer


def ref_composite(layers: list[tuple[np.ndarray, float, BlendMode, np.ndarray | None]],
                  background=None) -> np.ndarray:
    """Scalar float64 reference: straight RGBA floats of one pixel stack (bottom first)."""
    if background is None:
        cb, ab = [0.0, 0.0, 0.0], 0.0
    else:
        cb, ab = [v / 255 for v in background[:3]], 1.0
    for px, opacity, mode, mask in layers:
        cs = [v / 255 for v in px[:3]]
        a_s = px[3] / 255 * opacity * (1.0 if mask is None else mask / 255)
        ao = a_s + ab * (1 - a_s)
        co = []
        bl = blend_reference_rgb(mode, tuple(min(1.0, v) for v in cb), tuple(cs))
        for c in range(3):
            b = bl[c]
            cs2 = (1 - ab) * cs[c] + ab * b
            prem = a_s * cs2 + (1 - a_s) * ab * cb[c]
            co.append(prem / ao if ao > 0 else 0.0)
        cb, ab = co, ao
    return np.array([*cb, ab])


def doc_of(*layers, size=(3, 2)) -> Document:
    doc = Document(*size)
    for la in layers:
        doc.add_layer(la)
    return doc


@pytest.mark.parametrize("mode", [m for m in BlendMode if m not in NONSEPARABLE_FUNCTIONS])
def test_blend_functions_match_reference(mode: BlendMode) -> None:
    vals = np.array([0.0, 0.1, 0.25, 0.3, 0.5, 0.6, 0.75, 0.9, 1.0], np.float32)
    cb, cs = np.meshgrid(vals, vals)
    got = blend(mode, cb.copy(), cs.copy())
    want = np.vectorize(lambda b, s: blend_reference(mode, float(b), float(s)))(cb, cs)
    np.testing.assert_allclose(got, want, atol=2e-6)


def test_blend_reference_spot_values() -> None:
    assert blend_reference("multiply", 0.5, 0.5) == 0.25
    assert blend_reference("screen", 0.5, 0.5) == 0.75
    assert blend_reference("overlay", 0.25, 0.8) == pytest.approx(2 * 0.25 * 0.8)
    assert blend_reference("hard-light", 0.25, 0.8) == pytest.approx(0.25 + 0.6 - 0.25 * 0.6)
    assert blend_reference("soft-light", 0.16, 0.75) == pytest.approx(
        0.16 + 0.5 * (((16 * 0.16 - 12) * 0.16 + 4) * 0.16 - 0.16))
    assert blend_reference("add", 0.7, 0.6) == 1.0
    assert blend_reference("difference", 0.2, 0.7) == pytest.approx(0.5)


def test_half_alpha_red_over_half_alpha_blue_exact() -> None:
    blue = RasterLayer("b", np.array([[[0, 0, 255, 128]]], np.uint8))
    red = RasterLayer("r", np.array([[[255, 0, 0, 128]]], np.uint8))
    out = composite(doc_of(blue, red, size=(1, 1)))
    # ao = a + a(1-a), a = 128/255; R = a/ao ; B = a(1-a)/ao
    a = 128 / 255
    ao = a + a * (1 - a)
    want = np.round([255 * a / ao, 0, 255 * a * (1 - a) / ao, 255 * ao])
    assert out[0, 0].tolist() == want.astype(int).tolist() == [170, 0, 85, 192]


def test_transparent_garbage_colour_does_not_bleed() -> None:
    base = RasterLayer("base", np.full((2, 2, 4), (10, 20, 30, 255), np.uint8))
    garbage = np.zeros((2, 2, 4), np.uint8)
    garbage[..., :3] = (255, 0, 255)   # colour with alpha 0
    for mode in BlendMode:
        top = RasterLayer("g", garbage, blend_mode=mode)
        out = composite(doc_of(base, top, size=(2, 2)))
        assert (out == (10, 20, 30, 255)).all(), mode
    # and a transparent result has colour 0, whatever the inputs held
    out = composite(doc_of(RasterLayer("g", garbage), size=(2, 2)))
    assert (out == 0).all()


@pytest.mark.parametrize("mode", list(BlendMode))
def test_composite_matches_reference_for_every_mode(mode: BlendMode, rng) -> None:
    n = 64
    bottom = rng.integers(0, 256, (1, n, 4), dtype=np.uint8)
    top = rng.integers(0, 256, (1, n, 4), dtype=np.uint8)
    bottom[0, :8, 3] = 255
    top[0, 8:16, 3] = 255
    top[0, 16:20, 3] = 0
    mask = rng.integers(0, 256, (1, n), dtype=np.uint8)
    doc = doc_of(RasterLayer("b", bottom),
                 RasterLayer("t", top, blend_mode=mode, opacity=0.7, mask=mask), size=(n, 1))
    out16 = composite(doc, dtype=np.uint16).astype(np.float64) / 65535
    out8 = composite(doc)
    for i in range(n):
        want = ref_composite([(bottom[0, i], 1.0, BlendMode.NORMAL, None),
                              (top[0, i], 0.7, mode, float(mask[0, i]))])
        np.testing.assert_allclose(out16[0, i, 3], want[3], atol=2e-5)
        if want[3] * 255 >= 1:
            np.testing.assert_allclose(out16[0, i, :3], want[:3], atol=2e-4 / max(want[3], 1e-3))
            assert np.abs(out8[0, i].astype(int) - np.round(want * 255)).max() <= 1


def test_opacity_visibility_and_background() -> None:
    base = RasterLayer("base", np.full((1, 1, 4), (0, 0, 0, 255), np.uint8))
    white = RasterLayer("w", np.full((1, 1, 4), 255, np.uint8), opacity=0.5)
    doc = doc_of(base, white, size=(1, 1))
    assert composite(doc)[0, 0].tolist() == [128, 128, 128, 255]
    white.visible = False
    assert composite(doc)[0, 0].tolist() == [0, 0, 0, 255]
    base.visible = False
    assert composite(doc)[0, 0].tolist() == [0, 0, 0, 0]
    assert composite(doc, background=(255, 255, 255))[0, 0].tolist() == [255, 255, 255, 255]
    white.visible = True
    assert composite(doc, background=(0, 0, 255))[0, 0].tolist() == [128, 128, 255, 255]


def test_layer_mask_disabled_and_enabled() -> None:
    base = RasterLayer("base", np.zeros((1, 2, 4), np.uint8) + np.uint8([0, 0, 0, 255]))
    top = RasterLayer("t", np.full((1, 2, 4), 255, np.uint8), mask=np.array([[0, 255]], np.uint8))
    doc = doc_of(base, top, size=(2, 1))
    assert composite(doc)[0, :, 0].tolist() == [0, 255]
    top.set_mask_enabled(False)
    assert composite(doc)[0, :, 0].tolist() == [255, 255]


def test_offsets_partly_outside_and_rect_outside_canvas() -> None:
    doc = Document(4, 4)
    doc.add_layer(RasterLayer.blank("bg", 4, 4, fill=(0, 0, 0, 255)))
    doc.add_layer(RasterLayer.blank("sq", 3, 3, fill=(255, 0, 0, 255), offset=(2, -1)))
    out = composite(doc)
    red = out[..., 0] == 255
    want = np.zeros((4, 4), bool)
    want[0:2, 2:4] = True
    assert (red == want).all()
    # a sub-rect gives the same pixels as the full composite
    assert (composite(doc, Rect(1, 1, 3, 2)) == out[1:3, 1:4]).all()
    # a rect reaching past the canvas shows what lies there (layer parts off-canvas)
    wide = composite(doc, Rect(2, -1, 3, 1))
    assert wide[0].tolist() == [[255, 0, 0, 255]] * 3


def test_label_layer_through_palette() -> None:
    labels = np.array([[0, 1, 2]], np.uint8)
    pal = [LabelClass(1, "sky", (10, 20, 30)), LabelClass(2, "grass", (0, 200, 0))]
    doc = doc_of(RasterLayer.blank("bg", 3, 1, fill=(255, 255, 255, 255)),
                 LabelLayer("labels", labels, pal), size=(3, 1))
    out = composite(doc)
    assert out[0].tolist() == [[255, 255, 255, 255], [10, 20, 30, 255], [0, 200, 0, 255]]


def test_16bit_precision_kept(rng) -> None:
    px = rng.integers(0, 65536, (8, 8, 4), dtype=np.uint16)
    px[..., 3] = 65535
    doc = doc_of(RasterLayer("hi", px), size=(8, 8))
    out = composite(doc, dtype=np.uint16)
    assert out.dtype == np.uint16
    assert np.abs(out.astype(int) - px).max() <= 1
    # 8-bit output of the same is rounded
    out8 = composite(doc)
    assert np.abs(out8.astype(int) - np.round(px / 257)).max() <= 1
    # and a 50% layer over it keeps sub-8-bit steps
    half = np.zeros((8, 8, 4), np.uint16)
    half[..., 3] = 32768
    doc.add_layer(RasterLayer("half black", half))
    out = composite(doc, dtype=np.uint16).astype(np.int64)
    want = np.round(px[..., :3] * (1 - 32768 / 65535))
    assert np.abs(out[..., :3] - want).max() <= 2


def test_display_is_premultiplied() -> None:
    layer = RasterLayer("r", np.array([[[200, 100, 50, 128]]], np.uint8))
    doc = doc_of(layer, size=(1, 1))
    prem = composite_for_display(doc)
    assert prem.dtype == np.uint8
    assert prem[0, 0].tolist() == [round(200 * 128 / 255), round(100 * 128 / 255),
                                   round(50 * 128 / 255), 128]
    assert composite(doc)[0, 0].tolist() == [200, 100, 50, 128]


def test_opaque_top_layer_hides_layers_below(rng) -> None:
    below = RasterLayer("below", rng.integers(0, 256, (16, 16, 4), dtype=np.uint8),
                        blend_mode=BlendMode.DIFFERENCE)
    top_px = rng.integers(0, 256, (16, 16, 4), dtype=np.uint8)
    top_px[..., 3] = 255
    doc = doc_of(below, RasterLayer("top", top_px), size=(16, 16))
    assert (composite(doc) == top_px).all()


def test_banded_full_composite_equals_rects(rng, monkeypatch) -> None:
    import ganstudio.core.compositing as comp

    doc = Document(40, 30)
    doc.add_layer(RasterLayer("a", rng.integers(0, 256, (30, 40, 4), dtype=np.uint8)))
    doc.add_layer(RasterLayer("b", rng.integers(0, 256, (20, 50, 4), dtype=np.uint8),
                              blend_mode=BlendMode.SOFT_LIGHT, offset=(-5, 4), opacity=0.6))
    whole = composite(doc)
    monkeypatch.setattr(comp, "BAND_PIXELS", 100)  # many small bands
    assert (composite(doc) == whole).all()
    assert (composite_layers(doc.layers, Rect(7, 3, 11, 13)) == whole[3:16, 7:18]).all()


def test_invalid_dtype() -> None:
    with pytest.raises(ValueError):
        composite(Document(2, 2), dtype=np.float32)


def test_dirty_rect_of_24mp_document_allocates_only_rect_memory() -> None:
    import tracemalloc

    doc = Document(6000, 4000)
    for i, mode in enumerate([BlendMode.NORMAL, BlendMode.MULTIPLY, BlendMode.SOFT_LIGHT]):
        px = np.zeros((4000, 6000, 4), np.uint8)   # calloc: only the pages written get memory
        px[900:1600, 1900:2600] = (50 * i, 90, 200, 128 + 60 * i)
        doc.add_layer(RasterLayer(f"l{i}", px, blend_mode=mode))
    composite(doc, Rect(0, 0, 8, 8))
    tracemalloc.start()
    try:
        out = composite(doc, Rect(2000, 1000, 512, 512))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.shape == (512, 512, 4)
    assert peak < 80 * 512 * 512       # float32 planes of the rect only (one canvas plane: 96 MB)


def test_background_composites_leave_a_core_to_the_window(monkeypatch):
    """Off the main thread a big composite uses one thread fewer (issue 13, submit stall); the
    result is the same."""
    import threading

    from ganstudio.core import compositing as C
    from ganstudio.core.geometry import Rect
    from ganstudio.core.layers import RasterLayer

    monkeypatch.setattr(C, "THREADS", 2)
    seen: list[int] = []
    real = C.ThreadPoolExecutor

    def spy(n, **kw):  # noqa: ANN001, ANN202
        seen.append(n)
        return real(n, **kw)

    monkeypatch.setattr(C, "ThreadPoolExecutor", spy)
    rng = np.random.default_rng(0)
    layer = RasterLayer("a", rng.integers(0, 255, (1600, 1600, 4), dtype=np.uint8))
    rect = Rect(0, 0, 1600, 1600)
    main = C.composite_layers([layer], rect)
    assert seen == [2]
    out: list[np.ndarray] = []
    t = threading.Thread(target=lambda: out.append(C.composite_layers([layer], rect)))
    t.start()
    t.join()
    assert seen == [2] and np.array_equal(out[0], main)     # one thread: no pool at all
    assert C.composite_threads() == 2
