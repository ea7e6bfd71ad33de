"""Layer / image operations: result pixels, one undo step each, exact undo / redo."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core import operations as ops
from ganstudio.core.compositing import composite
from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import BlendMode, LabelClass, LabelLayer, RasterLayer


def snapshot(doc: Document) -> dict:
    return {
        "size": doc.size,
        "layers": [(la.uid, la.name, la.offset, la.data.copy(), None if la.mask is None else la.mask.copy(),
                    la.opacity, la.blend_mode) for la in doc.layers],
        "selection": None if doc.selection is None else doc.selection.copy(),
        "ai_mask": None if doc.ai_mask is None else doc.ai_mask.copy(),
        "active": None if doc.active_layer is None else doc.active_layer.uid,
    }


def assert_same(a: dict, b: dict) -> None:
    assert a["size"] == b["size"]
    assert a["active"] == b["active"]
    assert len(a["layers"]) == len(b["layers"])
    for la, lb in zip(a["layers"], b["layers"]):
        assert la[:3] == lb[:3]
        assert la[3].dtype == lb[3].dtype and np.array_equal(la[3], lb[3])
        assert (la[4] is None) == (lb[4] is None)
        if la[4] is not None:
            assert np.array_equal(la[4], lb[4])
        assert la[5:] == lb[5:]
    for key in ("selection", "ai_mask"):
        assert (a[key] is None) == (b[key] is None)
        if a[key] is not None:
            assert np.array_equal(a[key], b[key])


def check_undo_redo(doc: Document, before: dict) -> None:
    """The last step undoes to ``before`` exactly and redoes to the current state exactly."""
    after = snapshot(doc)
    assert doc.history.undo()
    assert_same(snapshot(doc), before)
    assert doc.history.redo()
    assert_same(snapshot(doc), after)


@pytest.fixture
def doc(rng) -> Document:
    d = Document(40, 30)
    bg = rng.integers(0, 256, (30, 40, 4), dtype=np.uint8)
    bg[..., 3] = 255
    d.add_layer(RasterLayer("bg", bg))
    top = rng.integers(0, 256, (20, 25, 4), dtype=np.uint8)
    d.add_layer(RasterLayer("top", top, offset=(-5, 12), opacity=0.7, blend_mode=BlendMode.MULTIPLY,
                            mask=rng.integers(0, 256, (20, 25), dtype=np.uint8)))
    d.set_selection(np.pad(np.full((10, 10), 255, np.uint8), ((5, 15), (5, 25))))
    with d.edit_ai_mask(Rect(0, 0, 8, 8)) as m:
        m[:8, :8] = 255
    d.history.clear()
    return d


def test_merge_down_looks_the_same_and_undoes(doc: Document) -> None:
    before = snapshot(doc)
    view = composite(doc)
    merged = ops.merge_down(doc, doc.layers[1])
    assert len(doc.layers) == 1 and doc.layers[0] is merged and doc.active_layer is merged
    assert merged.bounds == Rect(-5, 0, 45, 32)
    assert np.abs(composite(doc).astype(int) - view).max() <= 1
    assert len(doc.history) == 1
    check_undo_redo(doc, before)


def test_merge_down_keeps_16bit_and_refuses_locked(doc: Document) -> None:
    doc.layers[0].locked = True
    with pytest.raises(PermissionError):
        ops.merge_down(doc, doc.layers[1])
    doc.layers[0].locked = False
    with pytest.raises(ValueError):
        ops.merge_down(doc, doc.layers[0])
    hi = RasterLayer.blank("hi", 40, 30, dtype=np.uint16, fill=(1000, 2000, 3000, 65535))
    doc.add_layer(hi)
    merged = ops.merge_down(doc, hi)
    assert merged.pixels.dtype == np.uint16
    assert merged.offset == (-5, 0)
    assert merged.pixels[0, 5].tolist() == [1000, 2000, 3000, 65535]


def test_flatten(doc: Document) -> None:
    before = snapshot(doc)
    view = composite(doc)
    flat = ops.flatten(doc)
    assert doc.layers == [flat] and flat.bounds == doc.bounds
    assert np.array_equal(flat.pixels, view)
    assert len(doc.history) == 1
    check_undo_redo(doc, before)


def test_crop(doc: Document) -> None:
    before = snapshot(doc)
    view = composite(doc)
    ops.crop(doc, Rect(3, 4, 20, 15))
    assert doc.size == (20, 15)
    assert np.array_equal(composite(doc), view[4:19, 3:23])
    assert doc.selection.shape == (15, 20) and doc.ai_mask.shape == (15, 20)
    assert np.array_equal(doc.selection, before["selection"][4:19, 3:23])
    top = doc.layers[1]
    assert top.offset == (0, 8) and top.width == 17 and top.height == 7
    assert len(doc.history) == 1
    check_undo_redo(doc, before)


def test_crop_outside_raises(doc: Document) -> None:
    with pytest.raises(ValueError):
        ops.crop(doc, Rect(100, 100, 5, 5))


def test_resize_canvas_keeps_pixels_shifts_offsets(doc: Document) -> None:
    before = snapshot(doc)
    view = composite(doc)
    ops.resize_canvas(doc, 60, 50, anchor=(0.5, 0.5))
    assert doc.size == (60, 50)
    assert doc.layers[0].offset == (10, 10) and doc.layers[1].offset == (5, 22)
    assert np.array_equal(doc.layers[0].pixels, before["layers"][0][3])
    assert np.array_equal(composite(doc)[10:40, 10:50], view)
    assert np.array_equal(doc.selection[10:40, 10:50], before["selection"])
    assert doc.ai_mask[10:18, 10:18].min() == 255 and doc.ai_mask.sum() == 64 * 255
    check_undo_redo(doc, before)
    # shrinking with the top-left anchor cuts the masks, keeps the layer pixels
    ops.resize_canvas(doc, 10, 10, anchor=(0, 0))
    assert doc.layers[0].width == 40 and doc.ai_mask.shape == (10, 10)
    assert doc.selection is None  # the selected area lies outside the smaller canvas


@pytest.mark.parametrize("method", ops.RESAMPLE_METHODS)
def test_resample_image(doc: Document, method: str) -> None:
    labels = np.zeros((30, 40), np.uint8)
    labels[10:20, 10:30] = 3
    doc.add_layer(LabelLayer("lab", labels, [LabelClass(3, "x", (1, 2, 3))]))
    hi = RasterLayer.blank("hi", 40, 30, dtype=np.uint16, fill=(40000, 20000, 100, 65535))
    doc.add_layer(hi)
    doc.history.clear()
    before = snapshot(doc)
    ops.resample_image(doc, 80, 60, method)
    assert doc.size == (80, 60)
    bg, top, lab, hi2 = doc.layers
    assert bg.pixels.shape == (60, 80, 4) and top.pixels.shape == (40, 50, 4) and top.offset == (-10, 24)
    assert top.mask.shape == (40, 50)
    assert lab.labels.shape == (60, 80) and set(np.unique(lab.labels)) == {0, 3}  # nearest for labels
    assert lab.labels[20:40, 20:60].min() == 3
    assert hi2.pixels.dtype == np.uint16 and np.abs(hi2.pixels[30, 40].astype(int) - [40000, 20000, 100, 65535]).max() <= 2
    assert doc.selection.shape == (60, 80) and doc.ai_mask.shape == (60, 80)
    assert len(doc.history) == 1
    check_undo_redo(doc, before)


def test_resample_no_dark_fringe_premultiplied() -> None:
    doc = Document(8, 1)
    px = np.zeros((1, 8, 4), np.uint8)
    px[0, :4] = (255, 255, 255, 255)   # white opaque next to transparent black
    doc.add_layer(RasterLayer("a", px))
    ops.resample_image(doc, 16, 1, "bicubic")
    out = doc.layers[0].pixels[0]
    visible = out[:, 3] > 8
    assert out[visible, :3].min() >= 250   # straight colour stays white at the soft edge


def test_resample_bad_method(doc: Document) -> None:
    with pytest.raises(ValueError):
        ops.resample_image(doc, 10, 10, "cubic-spline")


def test_layer_masks(doc: Document) -> None:
    bg = doc.layers[0]
    before = snapshot(doc)
    ops.add_layer_mask(doc, bg, fill=0)
    assert bg.mask.shape == (30, 40) and bg.mask.max() == 0
    check_undo_redo(doc, before)
    before = snapshot(doc)
    m = ops.add_layer_mask(doc, bg, from_selection=True)
    assert np.array_equal(m, doc.selection)
    check_undo_redo(doc, before)
    before = snapshot(doc)
    ops.remove_layer_mask(doc, bg)
    assert bg.mask is None
    check_undo_redo(doc, before)

    top = doc.layers[1]
    before = snapshot(doc)
    alpha, mask = top.pixels[..., 3].astype(int), top.mask.astype(int)
    ops.apply_layer_mask(doc, top)
    assert top.mask is None
    assert np.abs(top.pixels[..., 3] - alpha * mask / 255).max() <= 0.5 + 1e-9
    check_undo_redo(doc, before)


def test_add_mask_from_selection_with_offset_layer(doc: Document) -> None:
    top = doc.layers[1]           # at (-5, 12), 25x20
    m = ops.add_layer_mask(doc, top, from_selection=True)
    expect = np.zeros((20, 25), np.uint8)
    sel = doc.selection
    expect[0:18, 5:25] = sel[12:30, 0:20]
    assert np.array_equal(m, expect)


def test_fill_and_clear_selection(doc: Document) -> None:
    bg = doc.layers[0]
    before = snapshot(doc)
    rect = ops.fill_selection(doc, bg, (255, 0, 0))
    assert rect == Rect(5, 5, 10, 10)
    assert (bg.pixels[5:15, 5:15] == (255, 0, 0, 255)).all()
    outside = np.ones((30, 40), bool)
    outside[5:15, 5:15] = False
    assert np.array_equal(bg.pixels[outside], before["layers"][0][3][outside])
    assert len(doc.history) == 1
    check_undo_redo(doc, before)

    before = snapshot(doc)
    ops.clear_selection(doc, bg)
    assert (bg.pixels[5:15, 5:15, 3] == 0).all() and (bg.pixels[outside][:, 3] == 255).all()
    check_undo_redo(doc, before)


def test_fill_soft_selection_and_16bit() -> None:
    doc = Document(4, 1)
    layer = doc.add_layer(RasterLayer.blank("a", 4, 1, dtype=np.uint16, fill=(0, 0, 0, 65535)))
    doc.set_selection(np.array([[0, 255, 128, 0]], np.uint8))
    ops.fill_selection(doc, layer, (255, 255, 255, 255))
    assert layer.pixels[0, :, 0].tolist() == [0, 65535, round(65535 * 128 / 255), 0]
    ops.fill_selection(doc, layer, (0, 0, 0), label="black")
    ops.clear_selection(doc, layer)
    assert layer.pixels[0, :, 3].tolist() == [65535, 0, round(65535 * (1 - 128 / 255)), 65535]


def test_fill_without_selection_fills_layer_and_label_layers() -> None:
    doc = Document(3, 2)
    pal = [LabelClass(5, "five", (5, 5, 5))]
    lab = doc.add_layer(LabelLayer("lab", np.zeros((2, 3), np.uint8), pal))
    ops.fill_selection(doc, lab, 5)
    assert (lab.labels == 5).all()
    doc.set_selection(np.array([[255, 0, 0], [0, 0, 255]], np.uint8))
    ops.clear_selection(doc, lab)
    assert lab.labels.tolist() == [[0, 5, 5], [5, 5, 0]]
    lab.locked = True
    with pytest.raises(PermissionError):
        ops.fill_selection(doc, lab, 5)


def test_merge_label_layer_down_gives_raster() -> None:
    doc = Document(4, 2)
    pal = [LabelClass(1, "a", (9, 8, 7))]
    lab = doc.add_layer(LabelLayer("lab", np.array([[0, 1, 1, 0], [1, 0, 0, 1]], np.uint8), pal))
    top = doc.add_layer(RasterLayer.blank("top", 1, 1, fill=(255, 255, 255, 255), offset=(0, 0)))
    merged = ops.merge_down(doc, top)
    assert isinstance(merged, RasterLayer) and merged.name == "lab"
    assert merged.pixels[:, :, 3].tolist() == [[255, 255, 255, 0], [255, 0, 0, 255]]
    assert merged.pixels[0, 0].tolist() == [255, 255, 255, 255]
    assert merged.pixels[0, 1].tolist() == [9, 8, 7, 255]
    doc.history.undo()
    assert doc.layers == [lab, top]
