"""Selection shapes, combine modes, refinements and document-level undo."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core import selection as sel
from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect


def test_rect_mask_clipped() -> None:
    m = sel.rect_mask(10, 8, Rect(-2, 3, 5, 10))
    assert m.dtype == np.uint8 and m.shape == (8, 10)
    assert m[3:, :3].min() == 255 and m.sum() == 255 * 3 * 5


def test_polygon_pixel_exact_and_antialiased() -> None:
    square = [(1, 1), (5, 1), (5, 5), (1, 5)]
    m = sel.polygon_mask(8, 8, square)
    want = np.zeros((8, 8), np.uint8)
    want[1:5, 1:5] = 255
    assert np.array_equal(m, want)
    assert np.array_equal(sel.polygon_mask(8, 8, square, antialias=False), want)
    # half-pixel offsets: edge pixels half covered, corners a quarter
    m = sel.polygon_mask(8, 8, [(1.5, 1.5), (5.5, 1.5), (5.5, 5.5), (1.5, 5.5)])
    assert m[3, 3] == 255 and m[1, 3] == 128 and m[3, 5] == 128 and m[1, 1] == 64 and m[5, 5] == 64
    assert m[0].max() == 0 and m[:, 6].max() == 0
    # a triangle's antialiased area matches its true area
    tri = sel.polygon_mask(64, 64, [(2, 2), (60, 10), (20, 50)])
    area = abs((60 - 2) * (50 - 2) - (20 - 2) * (10 - 2)) / 2
    assert tri.sum() / 255 == pytest.approx(area, rel=0.01)
    assert len(np.unique(tri)) > 3   # soft edge values exist


def test_polygon_degenerate_and_outside() -> None:
    assert sel.polygon_mask(5, 5, [(0, 0), (3, 3)]).max() == 0
    assert sel.polygon_mask(5, 5, [(10, 10), (20, 10), (20, 20)]).max() == 0


def test_ellipse_area_and_symmetry() -> None:
    m = sel.ellipse_mask(200, 120, (10, 10, 190, 110))
    assert m.sum() / 255 == pytest.approx(np.pi * 90 * 50, rel=0.003)
    # mirror-symmetric around x = 100 (columns 10..189) up to one 4x4 sample
    assert np.abs(m[:, 10:190].astype(int) - m[:, 10:190][:, ::-1]).max() <= 16
    assert m[60, 100] == 255 and m[0, 0] == 0 and m[60, 5] == 0
    assert sel.ellipse_mask(20, 20, Rect(5, 5, 0, 4)).max() == 0
    hard = sel.ellipse_mask(50, 50, Rect(0, 0, 50, 50), antialias=False)
    assert set(np.unique(hard)) == {0, 255}


def test_combine_modes() -> None:
    a = np.array([[0, 255, 255, 100]], np.uint8)
    b = np.array([[255, 255, 0, 200]], np.uint8)
    assert sel.combine(a, b, "replace").tolist() == b.tolist()
    assert sel.combine(a, b, "add").tolist() == [[255, 255, 255, 200]]
    assert sel.combine(a, b, "subtract").tolist() == [[0, 0, 255, 55]]
    assert sel.combine(a, b, "intersect").tolist() == [[0, 255, 0, 100]]
    assert sel.combine(None, b, "add").tolist() == b.tolist()
    assert sel.combine(None, b, "subtract") is None
    assert sel.combine(None, b, "intersect") is None
    with pytest.raises(ValueError):
        sel.combine(a, b, "xor")  # type: ignore[arg-type]


def test_feather_grow_shrink_invert_bounds() -> None:
    m = sel.rect_mask(60, 60, Rect(20, 20, 20, 20))
    f = sel.feather(m, 6)
    assert f[30, 30] == 255 and f[5, 5] == 0
    assert 90 < f[30, 20] < 165           # edge at half
    assert f[30, 16] > 0 and f[30, 24] < 255
    assert abs(int(f.sum()) - int(m.sum())) < 0.01 * m.sum()   # blur keeps the mass
    g = sel.grow(m, 3)
    assert sel.mask_bounds(g) == Rect(17, 17, 26, 26)
    s = sel.shrink(m, 3)
    assert sel.mask_bounds(s) == Rect(23, 23, 14, 14)
    assert sel.shrink(np.full((10, 10), 255, np.uint8), 3).min() == 255  # canvas edge kept
    assert np.array_equal(sel.invert(sel.invert(m)), m)
    assert sel.mask_bounds(np.zeros((4, 4), np.uint8)) is None
    assert sel.mask_bounds(None) is None


def test_document_selection_steps() -> None:
    doc = Document(50, 40)
    sel.select_rect(doc, Rect(5, 5, 10, 10))
    sel.select_ellipse(doc, Rect(20, 5, 20, 20), mode="add")
    sel.select_polygon(doc, [(0, 0), (8, 0), (8, 8), (0, 8)], mode="subtract")
    assert len(doc.history) == 3
    assert doc.selection[6, 6] == 0 and doc.selection[10, 10] == 255 and doc.selection[15, 30] == 255
    assert sel.selection_bounds(doc) == Rect(5, 5, 35, 20)
    snapshot = doc.selection.copy()
    sel.invert_selection(doc)
    assert np.array_equal(doc.selection, 255 - snapshot)
    doc.history.undo()
    assert np.array_equal(doc.selection, snapshot)
    sel.feather_selection(doc, 2)
    sel.grow_selection(doc, 2)
    sel.shrink_selection(doc, 1)
    assert len(doc.history) == 6
    sel.select_none(doc)
    assert doc.selection is None
    doc.history.undo()
    assert doc.selection is not None
    sel.select_all(doc)
    assert doc.selection.min() == 255
    sel.apply_selection(doc, sel.rect_mask(50, 40, Rect(0, 0, 10, 10)), "intersect")
    assert sel.selection_bounds(doc) == Rect(0, 0, 10, 10)
    with pytest.raises(ValueError):
        sel.apply_selection(doc, np.zeros((3, 3), np.uint8))


def test_selection_event_emitted() -> None:
    doc = Document(10, 10)
    seen = []
    doc.events.selection.connect(seen.append)
    sel.select_rect(doc, Rect(1, 1, 2, 2))
    assert seen and isinstance(seen[-1], Rect)


def test_selection_change_stores_only_changed_tiles() -> None:
    doc = Document(2000, 1500)
    sel.select_rect(doc, Rect(100, 100, 1500, 1000))
    first = doc.selection.copy()
    rects = []
    doc.events.selection.connect(rects.append)
    sel.select_ellipse(doc, Rect(1700, 1200, 50, 40), mode="add")
    assert rects[-1].intersect(Rect(1700, 1200, 50, 40)) == rects[-1]
    assert doc.history._undo[-1].nbytes <= 2 * 50 * 40      # the changed box only
    added = doc.selection.copy()
    doc.history.undo()
    assert np.array_equal(doc.selection, first)
    doc.history.redo()
    assert np.array_equal(doc.selection, added)
    sel.select_none(doc)
    doc.history.undo()
    assert np.array_equal(doc.selection, added)
    for _ in range(3):
        doc.history.undo()
    assert doc.selection is None
    for _ in range(2):
        doc.history.redo()
    assert np.array_equal(doc.selection, added)
