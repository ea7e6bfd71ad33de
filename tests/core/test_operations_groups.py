"""Merge down and flatten in documents with layer groups."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core.compositing import composite
from ganstudio.core.document import Document
from ganstudio.core.layers import RasterLayer
from ganstudio.core.operations import flatten, merge_down


def _layer(name: str, value: int, alpha: int = 255) -> RasterLayer:
    px = np.zeros((8, 8, 4), np.uint8)
    px[...] = (value, 255 - value, value // 2, alpha)
    return RasterLayer(name, px)


def _doc() -> tuple[Document, dict[str, RasterLayer]]:
    doc = Document(8, 8)
    lay = {n: _layer(n, v, a) for n, v, a in (("bg", 10, 255), ("a", 80, 128), ("b", 160, 128),
                                               ("top", 220, 90))}
    for n in ("bg", "a", "b", "top"):
        doc.add_layer(lay[n])
    doc.group_layers([lay["a"], lay["b"]], name="G")
    doc.history.clear()
    return doc, lay


def test_merge_down_keeps_the_result_in_the_group():
    doc, lay = _doc()
    group = lay["a"].parent
    before = composite(doc)
    merged = merge_down(doc, lay["b"])
    assert merged.parent is group and doc.children_of(group) == [merged]
    assert doc.children_of(None)[-1] is lay["top"]
    assert np.abs(composite(doc).astype(int) - before.astype(int)).max() <= 1
    doc.history.undo()
    assert doc.children_of(group) == [lay["a"], lay["b"]]


def test_merge_down_refuses_to_cross_a_group_edge():
    doc, lay = _doc()
    with pytest.raises(ValueError, match="another group"):
        merge_down(doc, lay["a"])        # the layer below (bg) is outside the group
    with pytest.raises(ValueError, match="another group"):
        merge_down(doc, lay["top"])      # the layer below (b) is inside the group


def test_flatten_removes_the_groups_in_one_step():
    doc, _lay = _doc()
    before = composite(doc)
    flat = flatten(doc)
    assert doc.children_of(None) == [flat] and not doc.groups() and doc.layers == [flat]
    assert np.array_equal(composite(doc), before)
    doc.history.undo()
    assert [n.name for n in doc.children_of(None)] == ["bg", "G", "top"]
