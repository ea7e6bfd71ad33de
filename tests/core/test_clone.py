"""Clone stamp and healing brush (core/clone.py)."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core.brush import Brush
from ganstudio.core.clone import (blend_patch, clone_stroke, coverage_of, heal_inpaint, heal_stroke,
                                  poisson_blend)
from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import LabelClass, LabelLayer, RasterLayer

HARD = Brush(size=8, hardness=1.0)


def _doc(dtype=np.uint8) -> Document:  # noqa: ANN001
    maxv = np.iinfo(dtype).max
    px = np.zeros((40, 80, 4), dtype)
    px[..., 3] = maxv
    px[:, :40, :3] = maxv // 2            # left: grey
    px[10:20, 10:20, :3] = (maxv, 0, 0)   # a red square on the grey
    doc = Document(80, 40)
    doc.add_layer(RasterLayer("bg", px))
    doc.history.clear()
    return doc


def _stroke(doc, pts, offset, brush=HARD, heal=False, **kw):  # noqa: ANN001, ANN202
    doc.history.begin("Heal" if heal else "Clone")
    clone_stroke(doc, None, pts[:1], brush, offset, **kw)
    for a, b in zip(pts, pts[1:]):
        clone_stroke(doc, None, [a, b], brush, offset, **kw)
    if heal:
        heal_stroke(doc)
    doc.history.end()


def test_clone_copies_the_source_and_is_one_undo_step() -> None:
    doc = _doc()
    before = doc.active_layer.pixels.copy()
    _stroke(doc, [(60.5, 15.5), (62.5, 15.5)], (-45, 0))      # source: the red square's centre
    px = doc.active_layer.pixels
    assert tuple(px[15, 60]) == (255, 0, 0, 255) and tuple(px[15, 62]) == (255, 0, 0, 255)
    assert tuple(px[15, 70]) == (0, 0, 0, 255)               # outside the dabs
    assert len(doc.history) == 1 and doc.history.undo_label == "Clone"
    doc.history.undo()
    assert np.array_equal(doc.active_layer.pixels, before)


def test_aligned_source_follows_the_stroke_and_never_clones_its_own_paint() -> None:
    doc = _doc()
    # offset +4: the source is 4 px right of the brush, inside what the stroke paints next;
    # the source must be the pixels as they were when the stroke began
    _stroke(doc, [(12.5, 15.5), (30.5, 15.5)], (4, 0), brush=Brush(size=4, hardness=1.0))
    px = doc.active_layer.pixels
    assert tuple(px[15, 13]) == (255, 0, 0, 255)            # source x=17: red
    assert tuple(px[15, 28]) == (127, 127, 127, 255)        # source x=32: grey, not red smeared


def test_selection_and_opacity_limit_the_clone() -> None:
    doc = _doc()
    sel = np.zeros((40, 80), np.uint8)
    sel[:, 55:61] = 255
    doc.set_selection(sel)
    _stroke(doc, [(58.5, 15.5), (63.5, 15.5)], (-45, 0), brush=Brush(size=6, hardness=1.0, opacity=0.5))
    px = doc.active_layer.pixels
    assert abs(int(px[15, 58, 0]) - 128) <= 1 and px[15, 58, 1] == 0
    assert tuple(px[15, 62]) == (0, 0, 0, 255)


def test_sample_merged_takes_the_composite_into_an_offset_layer() -> None:
    doc = _doc()
    top = RasterLayer.blank("top", 30, 40, offset=(50, 0))
    doc.add_layer(top)
    _stroke(doc, [(60.5, 15.5)], (-45, 0), sample_merged=True)
    assert tuple(top.pixels[15, 10]) == (255, 0, 0, 255)
    doc.history.undo()
    _stroke(doc, [(60.5, 15.5)], (-45, 0))                  # the layer itself: transparent there
    assert top.pixels[15, 10, 3] == 0


def test_sixteen_bit_clone() -> None:
    doc = _doc(np.uint16)
    _stroke(doc, [(60.5, 15.5)], (-45, 0))
    assert tuple(doc.active_layer.pixels[15, 60]) == (65535, 0, 0, 65535)


def test_label_layer_clones_class_ids() -> None:
    lab = np.zeros((20, 20), np.uint8)
    lab[2:8, 2:8] = 1
    doc = Document(20, 20)
    doc.add_layer(LabelLayer("l", lab, [LabelClass(1, "a", (1, 2, 3))]))
    _stroke(doc, [(14.5, 5.5)], (-10, 0), brush=Brush(size=4, hardness=1.0))
    assert doc.active_layer.labels[5, 14] == 1 and doc.active_layer.labels[15, 14] == 0


def test_locked_layer_refused() -> None:
    doc = _doc()
    doc.active_layer.locked = True
    with pytest.raises(PermissionError):
        clone_stroke(doc, None, [(5, 5)], HARD, (1, 1))


def test_poisson_blend_takes_the_border_colour_and_keeps_the_texture() -> None:
    rng = np.random.default_rng(0)
    texture = rng.normal(0, 10, (40, 40, 1)).astype(np.float32)
    src = 50 + texture                    # dark textured patch
    dst = np.full((40, 40, 1), 200, np.float32)
    region = np.zeros((40, 40), bool)
    region[10:30, 10:30] = True
    out = poisson_blend(src, dst, region)
    inner = out[12:28, 12:28, 0]
    assert abs(float(inner.mean()) - 200) < 3       # the surroundings' level, not 50
    corr = np.corrcoef(inner.ravel(), texture[12:28, 12:28, 0].ravel())[0, 1]
    assert corr > 0.95                              # the texture is kept
    assert np.array_equal(out[~region], dst[~region])


def test_healing_brush_matches_the_surroundings() -> None:
    doc = _doc()
    px = doc.active_layer.pixels
    px[:, 40:, :3] = 60                                  # right half: a darker grey
    noise = np.random.default_rng(1).integers(-12, 13, (40, 40, 1))
    px[:, :40, :3] = (127 + noise).astype(np.uint8)      # left half: textured grey
    doc.history.clear()
    before = doc.active_layer.pixels.copy()
    # clone the grey (127) area into the right half: healed, it takes the level of its border
    _stroke(doc, [(60.5, 30.5), (66.5, 30.5)], (-40, 0), brush=Brush(size=10, hardness=1.0),
            heal=True)
    area = px[28:33, 60:67, 0].astype(float)
    assert abs(area.mean() - 60) <= 4                     # a plain clone would be ~127
    assert area.std() > 3                                 # the texture came along
    assert len(doc.history) == 1 and doc.history.undo_label == "Heal"
    doc.history.undo()
    assert np.array_equal(doc.active_layer.pixels, before)


def test_coverage_and_blend_patch_for_model_healing() -> None:
    doc = _doc()
    cov = coverage_of(80, 40, [(60.5, 30.5), (70.5, 30.5)], Brush(size=6, hardness=1.0))
    assert cov[30, 65] == 255 and cov[10, 65] == 0
    patch = np.full((40, 80, 3), 77, np.uint8)
    r = blend_patch(doc, None, Rect(0, 0, 80, 40), patch, cov)
    assert r is not None and tuple(doc.active_layer.pixels[30, 65]) == (77, 77, 77, 255)
    assert tuple(doc.active_layer.pixels[10, 65]) == (0, 0, 0, 255)
    assert len(doc.history) == 1


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_heal_inpaint_fills_a_blemish_from_its_surroundings(dtype) -> None:  # noqa: ANN001
    maxv = np.iinfo(dtype).max
    px = np.zeros((30, 30, 4), dtype)
    px[..., 1] = maxv // 2
    px[..., 3] = maxv
    px[12:16, 12:16, :3] = (maxv, maxv, maxv)             # a white blemish on green
    doc = Document(30, 30)
    doc.add_layer(RasterLayer("a", px))
    doc.history.clear()
    mask = np.zeros((30, 30), np.uint8)
    mask[11:17, 11:17] = 255
    assert heal_inpaint(doc, None, mask) is not None
    out = doc.active_layer.pixels
    assert out.dtype == dtype
    assert int(out[13, 13, 0]) < maxv // 20 and abs(int(out[13, 13, 1]) - maxv // 2) < maxv // 20
    assert len(doc.history) == 1


def test_sample_merged_never_clones_the_strokes_own_paint() -> None:
    doc = _doc()
    top = RasterLayer.blank("top", 80, 40)
    doc.add_layer(top)
    # the source trails the brush by 8 px: with a live composite, the red painted at x=22 would be
    # copied again at x=30, 38 ... (a smear); the canvas as it was gives grey there
    _stroke(doc, [(22.5, 15.5), (40.5, 15.5)], (-8, 0), brush=Brush(size=4, hardness=1.0),
            sample_merged=True)
    assert tuple(top.pixels[15, 22]) == (255, 0, 0, 255)
    assert tuple(top.pixels[15, 30]) == (127, 127, 127, 255)
    assert tuple(top.pixels[15, 38]) == (127, 127, 127, 255)
