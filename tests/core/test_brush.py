"""Brush strokes: locality, opacity per stroke, selection clip, lock, targets, tile undo."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core.brush import Brush, dab_alpha, pick_color, stroke
from ganstudio.core.document import Document
from ganstudio.core.geometry import TILE, Rect
from ganstudio.core.layers import LabelClass, LabelLayer, RasterLayer


def white_doc(w: int = 200, h: int = 100, dtype=np.uint8) -> tuple[Document, RasterLayer]:
    doc = Document(w, h)
    maxv = 65535 if dtype == np.uint16 else 255
    layer = doc.add_layer(RasterLayer.blank("bg", w, h, dtype=dtype, fill=(maxv,) * 4))
    doc.history.clear()
    return doc, layer


def distance_to_segment(shape, p0, p1) -> np.ndarray:
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]] + 0.5
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    d = p1 - p0
    t = np.clip(((xs - p0[0]) * d[0] + (ys - p0[1]) * d[1]) / max(d @ d, 1e-12), 0, 1)
    return np.hypot(xs - (p0[0] + t * d[0]), ys - (p0[1] + t * d[1]))


def test_dab_profile() -> None:
    hard = dab_alpha(Brush(size=10, hardness=1.0), 5.0, 5.0, Rect(0, 0, 10, 10))
    assert hard[5, 5] == 1.0 and hard[5, 1] == 1.0 and 0.9 < hard[5, 0] < 1.0 and hard[0, 0] == 0.0
    soft = dab_alpha(Brush(size=20, hardness=0.0), 10.0, 10.0, Rect(0, 0, 20, 20))
    assert soft[10, 10] > 0.98 and 0 < soft[10, 15] < 1 and soft[10, 0] < 0.01
    assert soft[10, 12] > soft[10, 15] > soft[10, 18]       # monotonic falloff
    mid = dab_alpha(Brush(size=20, hardness=0.5), 10.0, 10.0, Rect(0, 0, 20, 20))
    assert mid[10, 14] == 1.0 and mid[10, 17] < 1.0


def test_stroke_changes_only_pixels_near_path() -> None:
    doc, layer = white_doc()
    before = layer.pixels.copy()
    brush = Brush(size=12, hardness=0.7, color=(255, 0, 0))
    rect = stroke(doc, layer, [(20.5, 30.5), (150.5, 60.5)], brush)
    changed = (layer.pixels != before).any(axis=2)
    dist = distance_to_segment(changed.shape, (20.5, 30.5), (150.5, 60.5))
    assert changed.any()
    assert not changed[dist > brush.radius + 1].any()
    assert changed[dist < brush.radius * 0.7].all()
    assert (layer.pixels[dist < brush.radius * 0.5] == (255, 0, 0, 255)).all()
    ys, xs = np.nonzero(changed)
    assert rect.intersect(Rect(xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)) \
        == Rect(xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
    assert len(doc.history) == 1
    doc.history.undo()
    assert np.array_equal(layer.pixels, before)
    doc.history.redo()
    assert changed.sum() == (layer.pixels != before).any(axis=2).sum()


def test_stroke_in_several_calls_is_one_step_and_opacity_does_not_build_up() -> None:
    doc, layer = white_doc()
    before = layer.pixels.copy()
    brush = Brush(size=16, hardness=1.0, opacity=0.5, color=(0, 0, 0))
    doc.history.begin("Brush stroke")
    stroke(doc, layer, [(20, 50), (100, 50)], brush)
    stroke(doc, layer, [(100, 50), (20, 50)], brush)       # back over itself
    stroke(doc, layer, [(20, 50), (60, 50), (60, 50)], brush)
    doc.history.end()
    assert len(doc.history) == 1 and doc.history.undo_label == "Brush stroke"
    core = layer.pixels[46:54, 30:90]
    assert np.abs(core[..., :3].astype(int) - 128).max() <= 1     # 50 % black on white, no more
    assert (core[..., 3] == 255).all()
    doc.history.undo()
    assert np.array_equal(layer.pixels, before)


def test_separate_strokes_do_accumulate() -> None:
    doc, layer = white_doc()
    brush = Brush(size=16, hardness=1.0, opacity=0.5, color=(0, 0, 0))
    stroke(doc, layer, [(50, 50)], brush)
    stroke(doc, layer, [(50, 50)], brush)
    assert len(doc.history) == 2
    assert abs(int(layer.pixels[50, 50, 0]) - 64) <= 1


def test_spacing_carries_over_between_calls() -> None:
    from ganstudio.core.brush import _StrokeState

    st = _StrokeState(Brush(size=10, spacing=0.5), None)   # step 5 px
    a = st.advance([(0, 0), (7, 0)])
    b = st.advance([(7, 0), (12, 0)])
    xs = [p[0] for p in a + b]
    assert xs == pytest.approx([0, 5, 10])


def test_stroke_respects_selection() -> None:
    doc, layer = white_doc()
    sel = np.zeros((100, 200), np.uint8)
    sel[:, :100] = 255
    sel[:, 100:110] = 128
    doc.set_selection(sel)
    stroke(doc, layer, [(50, 50), (180, 50)], Brush(size=10, hardness=1.0, color=(0, 0, 0)))
    assert layer.pixels[50, 60, 0] == 0
    assert abs(int(layer.pixels[50, 105, 0]) - 127) <= 1   # half-selected: half painted
    assert (layer.pixels[:, 110:] == 255).all()


def test_locked_layer_refused_and_untouched() -> None:
    doc, layer = white_doc()
    layer.locked = True
    with pytest.raises(PermissionError):
        stroke(doc, layer, [(10, 10), (50, 50)], Brush())
    assert (layer.pixels == 255).all() and len(doc.history) == 0


def test_erase_16bit_and_offset_layer() -> None:
    doc = Document(100, 100)
    layer = doc.add_layer(RasterLayer.blank("hi", 50, 50, dtype=np.uint16, fill=(1000, 2000, 3000, 65535),
                                            offset=(40, 40)))
    stroke(doc, layer, [(60.5, 60.5)], Brush(size=6, hardness=1.0, mode="erase", opacity=0.25))
    px = layer.pixels
    assert px.dtype == np.uint16
    assert px[20, 20].tolist() == [1000, 2000, 3000, round(65535 * 0.75)]
    assert px[0, 0, 3] == 65535 and px[20, 30, 3] == 65535
    stroke(doc, layer, [(60.5, 60.5)], Brush(size=6, hardness=1.0, color=(255, 255, 255), opacity=1.0))
    assert px[20, 20].tolist() == [65535, 65535, 65535, 65535]


def test_mask_and_ai_mask_targets() -> None:
    doc, layer = white_doc()
    layer.set_mask(np.full((100, 200), 255, np.uint8))
    stroke(doc, layer, [(30, 30), (60, 30)], Brush(size=8, hardness=1.0, mode="erase"), target="mask")
    assert layer.mask[30, 45] == 0 and layer.mask[60, 45] == 255
    assert (layer.pixels == 255).all()
    seen = []
    doc.events.ai_mask.connect(seen.append)
    assert doc.ai_mask is None
    rect = stroke(doc, None, [(100, 50)], Brush(size=10, hardness=1.0), target="ai_mask")
    assert doc.ai_mask is not None and doc.ai_mask[50, 100] == 255 and doc.ai_mask[0, 0] == 0
    assert seen and rect.intersect(Rect(95, 45, 10, 10)) == Rect(95, 45, 10, 10)
    doc.history.undo()
    assert doc.ai_mask is None
    doc.history.redo()
    assert doc.ai_mask[50, 100] == 255
    doc.history.undo()
    doc.history.undo()
    assert (layer.mask == 255).all()
    with pytest.raises(ValueError):
        stroke(doc, RasterLayer.blank("x", 4, 4), [(1, 1)], Brush(), target="mask")


def test_label_target() -> None:
    doc = Document(64, 64)
    lab = doc.add_layer(LabelLayer("lab", np.zeros((64, 64), np.uint8), [LabelClass(7, "tree", (0, 99, 0))]))
    stroke(doc, lab, [(10, 32), (50, 32)], Brush(size=9, hardness=0.2), target="labels", label_id=7)
    assert set(np.unique(lab.labels)) == {0, 7}
    assert lab.labels[32, 30] == 7 and lab.labels[10, 30] == 0
    stroke(doc, lab, [(30, 32)], Brush(size=5, mode="erase"), target="labels")
    assert lab.labels[32, 30] == 0 and lab.labels[32, 45] == 7
    with pytest.raises(ValueError):
        stroke(doc, lab, [(1, 1)], Brush(), target="labels")   # no label_id
    assert pick_color(doc, 45.5, 32.5) == (0, 99, 0, 255)


def test_small_stroke_on_large_layer_stores_few_tiles() -> None:
    doc = Document(4000, 3000)
    layer = doc.add_layer(RasterLayer.blank("big", 4000, 3000, fill=(255, 255, 255, 255)))
    doc.history.clear()
    doc.history.begin("Brush stroke")
    stroke(doc, layer, [(1000, 1000), (1100, 1040)], Brush(size=20))
    stroke(doc, layer, [(1100, 1040), (1300, 1000)], Brush(size=20))
    doc.history.end()
    tiles = {(x // TILE, y // TILE) for x in range(985, 1316, 8) for y in range(985, 1056, 8)}
    assert doc.history.nbytes <= 2 * len(tiles) * TILE * TILE * 4
    assert doc.history.nbytes < layer.pixels.nbytes / 20


def test_pick_color() -> None:
    doc, layer = white_doc(4, 4)
    top = doc.add_layer(RasterLayer.blank("top", 2, 2, fill=(255, 0, 0, 128), offset=(1, 1)))
    assert pick_color(doc, 1.2, 1.7) == (255, 127, 127, 255)
    assert pick_color(doc, 1.2, 1.7, sample="layer") == (255, 0, 0, 128)
    assert pick_color(doc, 0, 0, sample="layer", layer=top) == (0, 0, 0, 0)
    assert pick_color(doc, 0, 0, sample="layer", layer=layer) == (255, 255, 255, 255)
    assert pick_color(doc, -1, 0) == (0, 0, 0, 0)
    assert pick_color(doc, 1, 9) == (0, 0, 0, 0)


def test_stroke_redraw_regions_are_local() -> None:
    doc, layer = white_doc(2000, 1500)
    regions: list[Rect] = []
    doc.events.region.connect(regions.append)
    doc.history.begin("Brush stroke")
    for x in range(100, 400, 10):
        stroke(doc, layer, [(x, 300), (x + 10, 300)], Brush(size=20))
    doc.history.end()
    assert regions and all(r.w <= 40 and r.h <= 40 for r in regions)
    regions.clear()
    doc.history.undo()
    assert regions and all(r.w * r.h <= 2 * 256 * 256 for r in regions)


def test_dab_on_24mp_document_allocates_only_its_rect() -> None:
    import tracemalloc

    doc = Document(6000, 4000)
    layer = doc.add_layer(RasterLayer("big", np.zeros((4000, 6000, 4), np.uint8)))  # lazily mapped
    sel = np.zeros((4000, 6000), np.uint8)
    sel[1000:3000, 1000:5000] = 255
    doc.set_selection(sel)
    doc.history.clear()
    tracemalloc.start()
    try:
        doc.history.begin("Brush stroke")
        stroke(doc, layer, [(3000.5, 2000.5)], Brush(size=30))
        stroke(doc, layer, [(3000.5, 2000.5), (3050.5, 2010.5)], Brush(size=30))
        doc.history.end()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20            # a full-image temporary would be >= 24 MB
    assert layer.pixels[2000, 3000].tolist() == [0, 0, 0, 255]
    assert layer.pixels[2000, 3100].tolist() == [0, 0, 0, 0]
