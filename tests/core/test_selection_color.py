"""Magic wand / select by colour (core/selection_color.py)."""

from __future__ import annotations

import numpy as np

from ganstudio.core.document import Document
from ganstudio.core.layers import LabelClass, LabelLayer, RasterLayer
from ganstudio.core.selection_color import color_mask, select_color


def _doc() -> Document:
    """30x10: three vertical bands red | blue | red, and a dark-red pixel in the first band."""
    px = np.zeros((10, 30, 4), np.uint8)
    px[..., 3] = 255
    px[:, :10, 0] = 255
    px[:, 10:20, 2] = 255
    px[:, 20:, 0] = 255
    px[2, 2, 0] = 230
    doc = Document(30, 10)
    doc.add_layer(RasterLayer("bg", px))
    doc.history.clear()
    return doc


def test_wand_selects_the_contiguous_band_only() -> None:
    doc = _doc()
    sel = select_color(doc, 5, 5, threshold=30, antialias=False)
    assert sel is not None and doc.history.undo_label == "Magic wand"
    assert (sel[:, :10] == 255).all()
    assert (sel[:, 10:] == 0).all()


def test_threshold_excludes_the_darker_pixel() -> None:
    doc = _doc()
    sel = select_color(doc, 5, 5, threshold=10, antialias=False)
    assert sel[2, 2] == 0 and sel[3, 3] == 255


def test_by_colour_selects_every_similar_pixel() -> None:
    doc = _doc()
    sel = select_color(doc, 5, 5, threshold=30, contiguous=False, antialias=False)
    assert doc.history.undo_label == "Select by colour"
    assert (sel[:, 20:] == 255).all() and (sel[:, 10:20] == 0).all()


def test_modes_combine_with_the_current_selection() -> None:
    doc = _doc()
    select_color(doc, 15, 5, threshold=30, antialias=False)               # blue band
    sel = select_color(doc, 5, 5, "add", threshold=30, antialias=False)   # + first red band
    assert (sel[:, :20] == 255).all() and (sel[:, 20:] == 0).all()
    sel = select_color(doc, 15, 5, "subtract", threshold=30, antialias=False)
    assert (sel[:, :10] == 255).all() and (sel[:, 10:] == 0).all()
    sel = select_color(doc, 5, 5, "intersect", threshold=30, contiguous=False, antialias=False)
    assert (sel[:, :10] == 255).all() and (sel[:, 20:] == 0).all()
    assert len(doc.history) == 3          # the intersection changed nothing: no step
    doc.history.undo()
    assert (doc.selection[:, :20] == 255).all()


def test_antialiased_edge_is_soft() -> None:
    px = np.zeros((1, 5, 4), np.uint8)
    px[..., 3] = 255
    px[0, :, 1] = [0, 0, 0, 30, 60]
    doc = Document(5, 1)
    doc.add_layer(RasterLayer("g", px))
    m = color_mask(doc, 0, 0, threshold=24, antialias=True)
    assert m[0, :3].tolist() == [255, 255, 255]
    assert 0 < m[0, 3] < 255 and m[0, 4] == 0


def test_layer_offset_and_sample_merged() -> None:
    doc = _doc()
    top = RasterLayer.blank("top", 10, 10, offset=(20, 0), fill=(0, 255, 0, 255))
    doc.add_layer(top)
    m = color_mask(doc, 25, 5, threshold=10)           # the active (green) layer at its offset
    assert (m[:, 20:] == 255).all() and (m[:, :20] == 0).all()
    m = color_mask(doc, 5, 5, threshold=10)            # outside the active layer: nothing
    assert m is None
    m = color_mask(doc, 5, 5, threshold=30, sample_merged=True, contiguous=False)
    assert (m[:, :10] == 255).all() and (m[:, 20:] == 0).all()   # red under green is hidden


def test_label_layer_selects_one_class_exactly() -> None:
    lab = np.zeros((6, 6), np.uint8)
    lab[:, 3:] = 1
    doc = Document(6, 6)
    doc.add_layer(LabelLayer("l", lab, [LabelClass(1, "a", (1, 2, 3))]))
    m = color_mask(doc, 4, 1, threshold=255)
    assert (m[:, 3:] == 255).all() and (m[:, :3] == 0).all()


def test_sixteen_bit_compares_in_8bit_units() -> None:
    px = np.zeros((1, 3, 4), np.uint16)
    px[..., 3] = 65535
    px[0, :, 0] = [0, 257 * 5, 257 * 50]
    doc = Document(3, 1)
    doc.add_layer(RasterLayer("a", px))
    m = color_mask(doc, 0, 0, threshold=10, antialias=False)
    assert m[0].tolist() == [255, 255, 0]
