"""Fill bucket (core/fill.py): similarity, contiguous / global, antialias, selection, offsets,
16-bit, label layers, layer masks, locked layers, one undo step."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core.document import Document
from ganstudio.core.fill import bucket_fill, difference_map, plan_fill, similar_region
from ganstudio.core.layers import LabelClass, LabelLayer, RasterLayer


def _two_halves(dtype=np.uint8) -> Document:  # noqa: ANN001
    """40x20: left half black, right half white, a white dot inside the black half, a black
    column at x=30 splitting the white half."""
    maxv = np.iinfo(dtype).max
    px = np.zeros((20, 40, 4), dtype)
    px[..., 3] = maxv
    px[:, 20:, :3] = maxv
    px[:, 30, :3] = 0
    px[5, 5, :3] = maxv
    doc = Document(40, 20)
    doc.add_layer(RasterLayer("bg", px))
    doc.history.clear()
    return doc


def test_contiguous_fill_stops_at_edges_and_is_one_undo_step() -> None:
    doc = _two_halves()
    before = doc.active_layer.pixels.copy()
    rect = bucket_fill(doc, 25.5, 10.5, (255, 0, 0), threshold=10, antialias=False)
    px = doc.active_layer.pixels
    assert rect is not None and (rect.x, rect.w) == (20, 10)
    assert tuple(px[10, 25]) == (255, 0, 0, 255)
    assert tuple(px[10, 35]) == (255, 255, 255, 255)      # behind the black column: not reached
    assert tuple(px[5, 5]) == (255, 255, 255, 255)        # the dot in the other half: untouched
    assert len(doc.history) == 1 and doc.history.undo_label == "Fill"
    doc.history.undo()
    assert np.array_equal(doc.active_layer.pixels, before)


def test_global_fill_reaches_every_similar_pixel() -> None:
    doc = _two_halves()
    bucket_fill(doc, 25, 10, (0, 0, 255), threshold=10, contiguous=False, antialias=False)
    px = doc.active_layer.pixels
    assert tuple(px[10, 35]) == (0, 0, 255, 255)
    assert tuple(px[5, 5]) == (0, 0, 255, 255)
    assert tuple(px[10, 30]) == (0, 0, 0, 255)            # black column kept


def test_threshold_and_gimp_antialias_ramp() -> None:
    px = np.zeros((1, 6, 4), np.uint8)
    px[..., 3] = 255
    px[0, :, 0] = [0, 10, 20, 30, 40, 100]                 # a red ramp
    diff = difference_map(px, px[0, 0])
    assert diff[0].tolist() == pytest.approx([0, 10, 20, 30, 40, 100])
    cov, rect = similar_region(px, 0, 0, threshold=20, antialias=False)
    assert rect.w == 3 and cov[0].tolist() == [1, 1, 1]
    cov, rect = similar_region(px, 0, 0, threshold=24, antialias=True)
    # GIMP: full up to the threshold, then 2 * (1.5 - d/t) down to 0 at 1.5 t: d=30 -> 0.5
    assert rect.w == 4
    assert cov[0].tolist() == pytest.approx([1.0, 1.0, 1.0, 0.5], abs=1 / 255)


def test_transparent_pixels_are_alike_whatever_their_rgb() -> None:
    px = np.zeros((4, 4, 4), np.uint8)
    px[:, :2, :3] = (255, 0, 0)      # invisible red
    px[:, 2:, :3] = (0, 255, 0)      # invisible green
    cov, rect = similar_region(px, 0, 0, threshold=0, antialias=False)
    assert rect.w == 4 and cov.all()


def test_selection_limits_the_fill_and_soft_selection_blends() -> None:
    doc = _two_halves()
    sel = np.zeros((20, 40), np.uint8)
    sel[:, 20:25] = 255
    sel[:, 25] = 128
    doc.set_selection(sel)
    bucket_fill(doc, 22, 10, (255, 0, 0), threshold=10, antialias=False)
    px = doc.active_layer.pixels
    assert tuple(px[10, 22]) == (255, 0, 0, 255)
    assert tuple(px[10, 26]) == (255, 255, 255, 255)
    assert px[10, 25, 0] == 255 and 120 <= px[10, 25, 1] <= 135    # half-way to red


def test_sample_merged_uses_the_composite_and_fills_the_active_layer_with_its_offset() -> None:
    doc = _two_halves()
    top = RasterLayer.blank("top", 20, 20, offset=(15, 0))         # transparent, covers x 15..35
    doc.add_layer(top)
    # sampling the (empty) layer: everything transparent is one region -> the whole layer
    bucket_fill(doc, 22, 10, (0, 255, 0), threshold=10, antialias=False)
    assert top.pixels[..., 3].all()
    doc.history.undo()
    # sampling the composite: only the white part between x=20 and the black column x=30
    rect = bucket_fill(doc, 22, 10, (0, 255, 0), threshold=10, antialias=False, sample_merged=True)
    assert rect is not None
    assert top.pixels[10, 22 - 15, 3] == 255 and tuple(top.pixels[10, 22 - 15, :3]) == (0, 255, 0)
    assert top.pixels[10, 18 - 15, 3] == 0      # black half of the composite: not filled
    assert top.pixels[10, 31 - 15, 3] == 0      # beyond the black column
    assert doc.layers[0].pixels[10, 22, 1] == 255 and doc.layers[0].pixels[10, 22, 0] == 255


def test_sixteen_bit_layer_keeps_its_depth_and_scales_the_colour() -> None:
    doc = _two_halves(np.uint16)
    bucket_fill(doc, 25, 10, (255, 128, 0), threshold=10, antialias=False)
    px = doc.active_layer.pixels
    assert px.dtype == np.uint16
    assert tuple(px[10, 25]) == (65535, 32896, 0, 65535)


def test_label_layer_fills_the_class_region_with_the_label() -> None:
    labels = np.zeros((10, 10), np.uint8)
    labels[:, 5] = 2
    pal = [LabelClass(1, "sky", (0, 0, 255)), LabelClass(2, "tree", (0, 255, 0)),
           LabelClass(3, "sea", (0, 0, 128))]
    doc = Document(10, 10)
    doc.add_layer(LabelLayer("labels", labels, pal))
    rect = bucket_fill(doc, 1, 1, label_id=3)
    lab = doc.active_layer.labels
    assert rect is not None and (lab[:, :5] == 3).all() and (lab[:, 5] == 2).all()
    assert (lab[:, 6:] == 0).all()
    with pytest.raises(ValueError):
        bucket_fill(doc, 1, 1, (255, 0, 0))        # a colour is not a class


def test_layer_mask_target_fills_grey_level() -> None:
    doc = _two_halves()
    layer = doc.active_layer
    layer.set_mask(np.full((20, 40), 255, np.uint8))
    bucket_fill(doc, 5, 5, (0, 0, 0), target="mask", threshold=0, antialias=False)
    assert (layer.mask == 0).all()                 # the mask was uniform: all of it
    assert layer.pixels[10, 25, 0] == 255          # pixels untouched


def test_locked_layer_is_refused() -> None:
    doc = _two_halves()
    doc.active_layer.locked = True
    with pytest.raises(PermissionError):
        bucket_fill(doc, 5, 5, (255, 0, 0))
    assert len(doc.history) == 0


def test_click_outside_the_layer_fills_nothing() -> None:
    doc = _two_halves()
    assert bucket_fill(doc, -3, 5, (255, 0, 0)) is None
    assert len(doc.history) == 0


# -- computed off the document (the window's worker thread), applied as one step -----------------

def _photo(w: int = 768, h: int = 600) -> Document:
    rng = np.random.default_rng(3)
    px = np.empty((h, w, 4), np.uint8)
    px[..., :3] = rng.integers(200, 230, (h, w, 3), dtype=np.uint8)
    px[..., 3] = 255
    px[250:520, 250:520, :3] = 20        # a dark block the fill goes around (covers tile (1, 1))
    doc = Document(w, h)
    doc.add_layer(RasterLayer("photo", px))
    doc.history.clear()
    return doc


def test_plan_fill_on_a_snapshot_equals_bucket_fill_and_is_one_cheap_step() -> None:
    from ganstudio.core.geometry import Rect
    from ganstudio.core.snapshot import DocumentSnapshot

    doc, ref = _photo(), _photo()
    before = doc.active_layer.pixels.copy()
    with DocumentSnapshot(doc) as snap:
        view = snap.materialize(layers=[0])               # what the worker thread reads
        edit, rect = plan_fill(view, 10, 10, (255, 0, 0), layer=view.layers[0], threshold=40)
    assert np.array_equal(doc.active_layer.pixels, before)   # planning changes nothing
    assert doc.history.apply_edit(doc.active_layer, edit, "Fill") is not None
    assert bucket_fill(ref, 10, 10, (255, 0, 0), threshold=40) == rect
    after = doc.active_layer.pixels.copy()
    assert np.array_equal(after, ref.active_layer.pixels)
    assert len(doc.history) == 1 and doc.history.undo_label == "Fill"
    # the tile inside the dark block did not change: nothing stored for it; the others whole
    assert (1, 1) not in edit.rects and edit.rects[(0, 0)] == Rect(0, 0, 256, 256)
    assert edit.rects[(2, 2)] == Rect(512, 512, 256, 88)
    assert doc.history.nbytes == edit.nbytes < 2 * before.nbytes
    doc.history.undo()
    assert np.array_equal(doc.active_layer.pixels, before)
    doc.history.redo()
    assert np.array_equal(doc.active_layer.pixels, after)


def test_plan_fill_check_cancels_and_reports_progress() -> None:
    doc = _photo()
    seen: list[float] = []

    class Stop(Exception):
        pass

    def check(f: float) -> None:
        seen.append(f)
        if f > 0.6:
            raise Stop

    with pytest.raises(Stop):
        plan_fill(doc, 10, 10, (255, 0, 0), check=check)
    assert seen and seen[0] == 0.5 and all(0 <= f <= 1 for f in seen)
    assert len(doc.history) == 0


def test_tile_edit_keeps_only_changed_boxes_and_refuses_overlaps() -> None:
    from ganstudio.core.geometry import Rect
    from ganstudio.core.history import TileEdit

    old = np.zeros((300, 600), np.uint8)
    new = old.copy()
    new[10:20, 30:40] = 7                                 # tile (0, 0): a 10x10 box
    new[260:300, 256:600] = 9                             # tiles (1, 1), (2, 1): whole rows
    edit = TileEdit("mask", old.shape)
    edit.add(Rect(0, 0, 600, 300), old, new)
    assert edit.rects[(0, 0)] == Rect(30, 10, 10, 10) and edit.after[(0, 0)].shape == (10, 10)
    assert (1, 0) not in edit.rects and (0, 1) not in edit.rects    # unchanged: dropped
    assert edit.rects[(1, 1)] == Rect(256, 260, 256, 40)
    assert edit.bounds == Rect(30, 10, 570, 290)
    with pytest.raises(ValueError):
        edit.add(Rect(0, 0, 10, 10), old[:10, :10], new[:10, :10])
    doc = Document(600, 300)
    layer = RasterLayer("l", np.zeros((300, 600, 4), np.uint8), mask=old.copy())
    doc.add_layer(layer)
    doc.history.clear()
    doc.history.apply_edit(layer, edit, "Mask")
    assert np.array_equal(layer.mask, new) and len(doc.history) == 1
    doc.history.undo()
    assert not layer.mask.any()
