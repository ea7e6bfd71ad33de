"""Gradients (core/gradient.py): linear / radial, fg -> bg / fg -> transparent, selection,
offsets, 16-bit, layer masks, label and locked layers refused, one undo step."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.gradient import draw_gradient, gradient_t
from ganstudio.core.layers import LabelClass, LabelLayer, RasterLayer


def _doc(w: int = 101, h: int = 5, dtype=np.uint8, fill=(0, 0, 0, 0)) -> Document:  # noqa: ANN001
    doc = Document(w, h)
    doc.add_layer(RasterLayer.blank("bg", w, h, dtype=dtype, fill=fill))
    doc.history.clear()
    return doc


def test_linear_t_projects_and_clamps() -> None:
    t = gradient_t(Rect(0, 0, 11, 1), (0.5, 0.5), (10.5, 0.5))
    assert t[0].tolist() == pytest.approx([i / 10 for i in range(11)])
    t = gradient_t(Rect(-5, 0, 3, 1), (0.5, 0.5), (10.5, 0.5))
    assert t[0].tolist() == [0, 0, 0]                  # before the start: the start colour
    t = gradient_t(Rect(0, 0, 11, 1), (0.5, 0.5), (10.5, 0.5), reverse=True)
    assert t[0, 0] == pytest.approx(1.0)


def test_radial_t_is_the_distance_over_the_radius() -> None:
    t = gradient_t(Rect(0, 0, 21, 21), (10.5, 10.5), (20.5, 10.5), "radial")
    assert t[10, 10] == 0
    assert t[10, 15] == pytest.approx(0.5)
    assert t[15, 10] == pytest.approx(0.5)             # same distance up / down
    assert t[0, 0] == 1.0


def test_fg_to_bg_linear_on_an_opaque_layer_is_one_undo_step() -> None:
    doc = _doc(fill=(9, 9, 9, 255))
    before = doc.active_layer.pixels.copy()
    rect = draw_gradient(doc, (0.5, 2), (100.5, 2), fg=(255, 0, 0), bg=(0, 0, 255), dither=False)
    px = doc.active_layer.pixels
    assert rect == Rect(0, 0, 101, 5)
    assert tuple(px[2, 0]) == (255, 0, 0, 255)
    assert tuple(px[2, 100]) == (0, 0, 255, 255)
    assert abs(int(px[2, 50, 0]) - 128) <= 1 and abs(int(px[2, 50, 2]) - 128) <= 1
    assert np.all(np.diff(px[2, :, 0].astype(int)) <= 0)        # monotonic ramp
    assert len(doc.history) == 1 and doc.history.undo_label == "Gradient"
    doc.history.undo()
    assert np.array_equal(doc.active_layer.pixels, before)


def test_fg_to_transparent_fades_the_alpha_over_the_layer() -> None:
    doc = _doc()
    draw_gradient(doc, (0.5, 2), (100.5, 2), fg=(0, 255, 0), bg=None, dither=False)
    px = doc.active_layer.pixels
    assert px[2, 0, 3] == 255 and px[2, 100, 3] == 0
    assert abs(int(px[2, 50, 3]) - 128) <= 1
    assert tuple(px[2, 50, :3]) == (0, 255, 0)          # straight colour stays the fg


def test_fg_to_transparent_over_opaque_pixels_blends() -> None:
    doc = _doc(fill=(0, 0, 0, 255))
    draw_gradient(doc, (0.5, 2), (100.5, 2), fg=(255, 255, 255), bg=None, dither=False)
    px = doc.active_layer.pixels
    assert px[2, 0, 0] == 255 and px[2, 100, 0] == 0 and abs(int(px[2, 50, 0]) - 128) <= 1
    assert (px[..., 3] == 255).all()


def test_selection_limits_and_soft_selection_scales() -> None:
    doc = _doc(fill=(0, 0, 0, 255))
    sel = np.zeros((5, 101), np.uint8)
    sel[:, 10:20] = 255
    sel[:, 20] = 128
    doc.set_selection(sel)
    rect = draw_gradient(doc, (0.5, 2), (100.5, 2), fg=(200, 200, 200), bg=(200, 200, 200))
    px = doc.active_layer.pixels
    assert rect == Rect(10, 0, 11, 5)
    assert (px[:, :10, 0] == 0).all() and (px[:, 21:, 0] == 0).all()
    assert (px[:, 10:20, 0] == 200).all()
    assert 95 <= px[2, 20, 0] <= 105


def test_offset_layer_uses_document_coordinates() -> None:
    doc = Document(100, 4)
    layer = RasterLayer.blank("off", 50, 4, offset=(50, 0), fill=(0, 0, 0, 255))
    doc.add_layer(layer)
    draw_gradient(doc, (0, 0), (100, 0), fg=(0, 0, 0), bg=(200, 0, 0), dither=False)
    # layer column 0 is document x 50: half-way
    assert abs(int(layer.pixels[0, 0, 0]) - 101) <= 1
    assert abs(int(layer.pixels[0, 49, 0]) - 199) <= 1


def test_sixteen_bit_gradient_keeps_the_depth_and_fine_steps() -> None:
    doc = _doc(w=1001, h=1, dtype=np.uint16, fill=(0, 0, 0, 65535))
    draw_gradient(doc, (0.5, 0), (1000.5, 0), fg=(0, 0, 0), bg=(255, 255, 255))
    px = doc.active_layer.pixels
    assert px.dtype == np.uint16
    assert px[0, 0, 0] == 0 and px[0, 1000, 0] == 65535
    assert len(np.unique(px[0, :, 0])) > 900              # not quantised to 256 levels


def test_dither_keeps_the_mean_but_breaks_bands() -> None:
    doc = _doc(w=256, h=8, fill=(0, 0, 0, 255))
    draw_gradient(doc, (0, 0), (256 * 8, 0), fg=(0, 0, 0), bg=(255, 255, 255), dither=True)
    red = doc.active_layer.pixels[..., 0].astype(float)
    exact = (np.arange(256) + 0.5) / (256 * 8) * 255
    assert abs(red.mean() - exact.mean()) < 0.1
    assert len(np.unique(red[:, 100])) >= 1


def test_radial_on_layer_mask() -> None:
    doc = _doc(w=21, h=21, fill=(10, 10, 10, 255))
    layer = doc.active_layer
    layer.set_mask(np.zeros((21, 21), np.uint8))
    draw_gradient(doc, (10.5, 10.5), (20.5, 10.5), fg=(255, 255, 255), bg=(0, 0, 0),
                  shape="radial", target="mask")
    assert layer.mask[10, 10] == 255 and layer.mask[10, 20] == 0
    assert abs(int(layer.mask[10, 15]) - 128) <= 1
    assert (layer.pixels[..., 0] == 10).all()


def test_label_and_locked_layers_are_refused() -> None:
    doc = Document(4, 4)
    doc.add_layer(LabelLayer("l", np.zeros((4, 4), np.uint8), [LabelClass(1, "a", (1, 2, 3))]))
    with pytest.raises(ValueError, match="raster"):
        draw_gradient(doc, (0, 0), (4, 0), fg=(0, 0, 0))
    doc2 = _doc()
    doc2.active_layer.locked = True
    with pytest.raises(PermissionError):
        draw_gradient(doc2, (0, 0), (4, 0), fg=(0, 0, 0))
    assert len(doc.history) <= 1 and len(doc2.history) == 0


# -- computed off the document (the window's worker thread), applied as one step -----------------

def test_plan_gradient_on_a_snapshot_equals_draw_gradient() -> None:
    from ganstudio.core.gradient import plan_gradient
    from ganstudio.core.snapshot import DocumentSnapshot

    def make() -> Document:
        d = _doc(700, 300, fill=(40, 90, 200, 160))            # semi-transparent: blended alpha
        d.layers[0].pixels[:, 350:, 3] = 255                   # part opaque (other branch)
        sel = np.zeros((300, 700), np.uint8)
        sel[:, 20:680] = 255
        sel[:50] = 100
        d.set_selection(sel)
        d.history.clear()
        return d

    doc, ref = make(), make()
    before = doc.active_layer.pixels.copy()
    kw = dict(fg=(255, 0, 0), bg=(0, 0, 255, 128), shape="linear")
    with DocumentSnapshot(doc) as snap:
        view = snap.materialize(layers=[0])
        progress: list[float] = []
        edit, lrect = plan_gradient(view, (10, 10), (650, 250), layer=view.layers[0],
                                    check=progress.append, **kw)
    assert np.array_equal(doc.active_layer.pixels, before)
    assert progress and progress[-1] == 1.0
    doc.history.apply_edit(doc.active_layer, edit, "Gradient")
    assert draw_gradient(ref, (10, 10), (650, 250), **kw) == lrect
    assert np.array_equal(doc.active_layer.pixels, ref.active_layer.pixels)
    assert (doc.active_layer.pixels[50:, :20] == before[50:, :20]).all()   # outside the selection
    assert len(doc.history) == 1
    doc.history.undo()
    assert np.array_equal(doc.active_layer.pixels, before)


def test_plan_gradient_check_cancels_before_any_change() -> None:
    from ganstudio.core.gradient import plan_gradient

    doc = _doc(600, 600, fill=(0, 0, 0, 255))

    def stop(_f: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        plan_gradient(doc, (0, 0), (600, 0), fg=(255, 255, 255), check=stop)
    assert len(doc.history) == 0 and not doc.layers[0].pixels[..., :3].any()
