"""A result applied after the document changed is refused or re-targeted, never misplaced."""

from __future__ import annotations

import numpy as np

from ganstudio.core import operations as ops
from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import RasterLayer
from ganstudio.jobs import Placement, resolve


def _doc(w: int = 200, h: int = 150) -> Document:
    doc = Document(w, h)
    doc.add_layer(RasterLayer.blank("bg", w, h, fill=(10, 20, 30, 255)))
    return doc


def test_unchanged_document_places_at_the_rect() -> None:
    doc = _doc()
    p = Placement.of(doc, Rect(10, 20, 30, 40))
    res = resolve(p, doc)
    assert res.ok and res.rect == Rect(10, 20, 30, 40) and not res.changed and not res.retargeted


def test_paint_meanwhile_keeps_the_place_and_says_so() -> None:
    doc = _doc()
    p = Placement.of(doc, Rect(10, 20, 30, 40))
    with doc.edit_pixels(doc.layers[0], Rect(0, 0, 5, 5)) as px:
        px[...] = 0
    res = resolve(p, doc)
    assert res.ok and res.rect == Rect(10, 20, 30, 40) and res.changed


def test_crop_retargets_and_undo_restores_the_frame() -> None:
    doc = _doc()
    p = Placement.of(doc, Rect(50, 40, 30, 20))
    ops.crop(doc, Rect(20, 10, 150, 120))
    res = resolve(p, doc)
    assert res.ok and res.retargeted and res.rect == Rect(30, 30, 30, 20)   # moved with the pixels
    doc.history.undo()                                                      # crop undone
    res = resolve(p, doc)
    assert res.ok and not res.retargeted and res.rect == Rect(50, 40, 30, 20)
    doc.history.redo()
    assert resolve(p, doc).rect == Rect(30, 30, 30, 20)


def test_canvas_resize_then_crop_compose() -> None:
    doc = _doc()
    p = Placement.of(doc, Rect(50, 40, 30, 20))
    ops.resize_canvas(doc, 260, 190, anchor=(1.0, 1.0))     # everything moves by (+60, +40)
    ops.crop(doc, Rect(100, 0, 160, 190))                    # then by (-100, 0)
    assert resolve(p, doc).rect == Rect(10, 80, 30, 20)


def test_whole_canvas_results_and_resamples_are_refused() -> None:
    doc = _doc()
    whole = Placement.of(doc, retarget="refuse")
    region = Placement.of(doc, Rect(0, 0, 20, 20))
    ops.crop(doc, Rect(10, 10, 100, 100))
    res = resolve(whole, doc)
    assert not res.ok and "cropped" in res.reason
    assert resolve(region, doc).ok                        # partly still there: re-targeted
    doc.history.undo()
    assert resolve(whole, doc).ok                         # back to the frame it was taken from
    ops.resample_image(doc, 100, 75)
    res = resolve(region, doc)
    assert not res.ok and "resized" in res.reason


def test_area_cropped_away_closed_document_and_divergent_history_are_refused() -> None:
    doc = _doc()
    p = Placement.of(doc, Rect(0, 0, 20, 20))
    ops.crop(doc, Rect(100, 100, 50, 50))
    res = resolve(p, doc)
    assert not res.ok and "cropped away" in res.reason
    assert not resolve(p, None).ok and "closed" in resolve(p, None).reason
    assert not resolve(p, _doc()).ok                      # another document with the same size
    # undo the crop, crop elsewhere twice, undo once: a frame that never saw p's frame as ancestor
    doc.history.undo()
    q = Placement.of(doc, Rect(0, 0, 20, 20))
    ops.crop(doc, Rect(5, 5, 150, 100))
    doc.history.undo()
    ops.crop(doc, Rect(0, 0, 190, 140))
    assert resolve(q, doc).rect == Rect(0, 0, 20, 20)     # still derivable: (0, 0) crop


def test_unknown_geometry_change_is_refused() -> None:
    doc = _doc()
    p = Placement.of(doc, Rect(0, 0, 20, 20))
    layer = doc.layers[0]
    from ganstudio.core.document import LayerData

    doc.replace_contents("Odd", size=(120, 100), layers={layer: LayerData(np.zeros((100, 120, 4), np.uint8))})
    res = resolve(p, doc)
    assert not res.ok and "size changed" in res.reason


def test_whole_canvas_results_are_refused_even_for_a_crop_at_the_origin() -> None:
    doc = _doc()
    whole = Placement.of(doc, retarget="refuse")
    region = Placement.of(doc, Rect(0, 0, 20, 20))
    ops.crop(doc, Rect(0, 0, 100, 100))                 # transform is the identity, size is not
    assert not resolve(whole, doc).ok
    res = resolve(region, doc)
    assert res.ok and res.rect == Rect(0, 0, 20, 20)
