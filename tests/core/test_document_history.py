"""Document model, events and history: tile undo, memory bound, AI mask."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core.document import Document, LayerData
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import RasterLayer


def make_doc(w: int = 600, h: int = 400, **kw) -> tuple[Document, RasterLayer]:
    doc = Document(w, h, **kw)
    layer = doc.add_layer(RasterLayer.blank("bg", w, h, fill=(10, 20, 30, 255)))
    doc.history.clear()
    return doc, layer


def test_layer_structure_steps_undo_redo() -> None:
    doc, bg = make_doc(20, 10)
    a = doc.new_raster_layer("a")
    b = doc.duplicate_layer(a)
    doc.move_layer(b, 0)
    doc.set_layer_attr(a, "opacity", 0.5)
    doc.set_layer_attr(a, "opacity", 0.4, merge=True)
    doc.remove_layer(bg)
    assert [la.name for la in doc.layers] == ["a copy", "a"]
    assert len(doc.history) == 5
    while doc.history.undo():
        pass
    assert doc.layers == [bg] and a.opacity == 1.0
    while doc.history.redo():
        pass
    assert [la.name for la in doc.layers] == ["a copy", "a"] and a.opacity == 0.4


def test_edit_pixels_stores_only_touched_tiles_and_restores_exactly(rng) -> None:
    doc, layer = make_doc(2000, 1500)
    before = layer.pixels.copy()
    with doc.edit_pixels(layer, Rect(300, 300, 10, 10), "dot") as px:
        px[300:310, 300:310] = rng.integers(100, 256, (10, 10, 4), dtype=np.uint8)
    step = doc.history._undo[-1]
    cmd = step.commands[0]
    assert list(cmd.rects) == [(1, 1)] and cmd.rects[(1, 1)] == Rect(300, 300, 10, 10)
    assert step.nbytes == 2 * 10 * 10 * 4     # the changed box of one tile, before + after
    after = layer.pixels.copy()
    doc.history.undo()
    assert np.array_equal(layer.pixels, before)
    doc.history.redo()
    assert np.array_equal(layer.pixels, after)


def test_edit_pixels_regions_snapshot_only_their_tiles() -> None:
    doc, layer = make_doc(2048, 2048)
    regions = [Rect(10, 10, 5, 5), Rect(2000, 2000, 5, 5)]
    with doc.edit_pixels(layer, Rect(0, 0, 2048, 2048), regions=regions) as px:
        assert len(doc.history.open_step.commands[0].before) == 2
        px[10:15, 10:15] = 0
        px[2000:2005, 2000:2005] = 0
    assert doc.history.nbytes == 2 * 2 * 5 * 5 * 4


def test_unchanged_edit_records_nothing() -> None:
    doc, layer = make_doc()
    with doc.edit_pixels(layer, Rect(0, 0, 100, 100)):
        pass
    assert len(doc.history) == 0


def test_memory_bound_drops_oldest_steps() -> None:
    step_bytes = 2 * 8 * 8 * 4
    doc, layer = make_doc(1024, 1024, memory_limit=3 * step_bytes + 100)
    for i in range(6):
        with doc.edit_pixels(layer, Rect(0, 0, 8, 8), f"edit {i}") as px:
            px[0:8, 0:8] = i
    assert len(doc.history) == 3
    assert doc.history.nbytes <= doc.history.memory_limit
    assert doc.history.undo_label == "edit 5"
    for _ in range(3):
        assert doc.history.undo()
    assert not doc.history.can_undo()
    assert layer.pixels[0, 0, 0] == 2          # state before "edit 3"
    doc.history.set_memory_limit(0)            # keeps at least the newest step
    assert len(doc.history) <= 1


def test_newest_step_kept_even_over_the_limit() -> None:
    doc, layer = make_doc(512, 512, memory_limit=10)
    with doc.edit_pixels(layer, Rect(0, 0, 512, 512)) as px:
        px[...] = 0
    assert len(doc.history) == 1


def test_events_translate_to_document_regions() -> None:
    doc = Document(100, 100)
    layer = doc.add_layer(RasterLayer.blank("a", 30, 30, offset=(10, 20)))
    layer.set_mask(np.full((30, 30), 255, np.uint8))
    regions = []
    doc.events.region.connect(regions.append)
    with doc.edit_pixels(layer, Rect(1, 2, 3, 4)) as px:
        px[2:6, 1:4] = 1
    assert regions[-1] == Rect(11, 22, 3, 4)
    with doc.edit_pixels(layer, Rect(5, 5, 2, 2), target="mask") as m:
        m[5:7, 5:7] = 0
    assert regions[-1] == Rect(15, 25, 2, 2)
    doc.history.undo()
    assert regions[-1] == Rect(15, 25, 2, 2)
    doc.history.undo()
    assert regions[-1] == Rect(11, 22, 3, 4)


def test_ai_mask_edit_set_clear() -> None:
    doc, _ = make_doc()
    rects = []
    doc.events.ai_mask.connect(rects.append)
    with doc.edit_ai_mask(Rect(10, 10, 20, 20), "paint") as m:
        m[10:30, 10:30] = 255
    assert doc.ai_mask.sum() == 400 * 255 and rects[-1] == Rect(10, 10, 20, 20)
    with doc.edit_ai_mask(Rect(100, 100, 5, 5)) as m:
        m[100:105, 100:105] = 255
    assert doc.history._undo[-1].nbytes == 2 * 5 * 5   # uint8 changed box, before + after
    doc.clear_ai_mask()
    assert doc.ai_mask is None
    doc.history.undo()
    assert doc.ai_mask.sum() == 425 * 255
    doc.history.undo()
    doc.history.undo()
    assert doc.ai_mask is None
    doc.set_ai_mask(np.full((400, 600), 255, np.uint8))
    assert doc.ai_mask.min() == 255
    with pytest.raises(ValueError):
        doc.set_ai_mask(np.zeros((3, 3), np.uint8))


def test_replace_contents_one_step_and_memory() -> None:
    doc, layer = make_doc(100, 50)
    old = layer.pixels
    new = np.zeros((20, 40, 4), np.uint8)
    sizes = []
    doc.events.size.connect(sizes.append)
    doc.replace_contents("shrink", size=(40, 20), layers={layer: LayerData(new, None, (0, 0))})
    assert doc.size == (40, 20) and layer.pixels is new and sizes == [(40, 20)]
    assert doc.history.nbytes == old.nbytes
    doc.history.undo()
    assert doc.size == (100, 50) and layer.pixels is old
    with pytest.raises(ValueError):
        doc.replace_contents("bad", size=(10, 10), selection=np.zeros((3, 3), np.uint8))


def test_locked_layer_edit_refused() -> None:
    doc, layer = make_doc()
    layer.locked = True
    with pytest.raises(PermissionError):
        with doc.edit_pixels(layer):
            pass
