"""Image > Transform, Layer > Transform, the crop tool and free transform through the real window:
menus, mouse drags on the canvas, Enter / Esc, one undo step each."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import RasterLayer


def vp(canvas, x: float, y: float) -> QPoint:  # noqa: ANN001
    p = canvas.doc_to_view(QPointF(x, y))
    return QPoint(int(round(p.x())), int(round(p.y())))


def drag(canvas, points, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # noqa: ANN001
    view = canvas.viewport()
    QTest.mousePress(view, Qt.MouseButton.LeftButton, modifier, vp(canvas, *points[0]))
    for pt in points[1:]:
        QTest.mouseMove(view, vp(canvas, *pt))
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, modifier, vp(canvas, *points[-1]))


def hover(canvas, x: float, y: float) -> None:  # noqa: ANN001
    """A mouse move with no button held (QTest.mouseMove maps buttonless moves oddly offscreen)."""
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    local = QPointF(vp(canvas, x, y))
    ev = QMouseEvent(QMouseEvent.Type.MouseMove, local, canvas.viewport().mapToGlobal(local),
                     Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas.viewport(), ev)


def menu_action(window, menu: str, sub: str, name: str):  # noqa: ANN001, ANN201
    m = window.menus[menu]
    subm = next(a.menu() for a in m.actions() if a.menu() is not None
                and a.menu().title().replace("&", "") == sub)
    act = window.qactions[name]
    assert act in subm.actions()
    return act


def numbered_doc(w: int = 40, h: int = 30) -> Document:
    doc = Document(w, h, name="n")
    px = np.zeros((h, w, 4), np.uint8)
    px[..., 0] = np.arange(w)[None, :] * 5
    px[..., 1] = np.arange(h)[:, None] * 7
    px[..., 3] = 255
    doc.add_layer(RasterLayer("bg", px))
    doc.history.clear()
    return doc


def test_image_rotate_and_flip_from_the_menu(window, qtbot) -> None:  # noqa: ANN001
    doc = numbered_doc()
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    before = doc.layers[0].data.copy()
    menu_action(window, "Image", "Transform", "image_rotate_cw").trigger()
    assert doc.size == (30, 40)
    assert np.array_equal(doc.layers[0].data, np.rot90(before, -1))
    canvas.render_all_now()
    menu_action(window, "Image", "Transform", "image_flip_h").trigger()
    assert np.array_equal(doc.layers[0].data, np.rot90(before, -1)[:, ::-1])
    assert window.qactions["edit_undo"].text() == "&Undo Flip image horizontally"
    window.qactions["edit_undo"].trigger()
    window.qactions["edit_undo"].trigger()
    assert doc.size == (40, 30) and np.array_equal(doc.layers[0].data, before)


def test_layer_rotate_flip_and_locked_message(window, qtbot) -> None:  # noqa: ANN001
    doc = numbered_doc()
    small = np.zeros((4, 6, 4), np.uint8)
    small[..., 3] = 255
    small[0, 0] = (255, 255, 255, 255)
    layer = doc.add_layer(RasterLayer("small", small, offset=(10, 10)))
    doc.history.clear()
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    menu_action(window, "Layer", "Transform", "layer_rotate_180").trigger()
    assert tuple(layer.data[3, 5]) == (255, 255, 255, 255) and layer.offset == (10, 10)
    menu_action(window, "Layer", "Transform", "layer_flip_v").trigger()
    assert tuple(layer.data[0, 5]) == (255, 255, 255, 255)
    assert np.array_equal(doc.layers[0].data[..., 0], np.tile(np.arange(40) * 5, (30, 1)))  # bg untouched
    doc.set_layer_attr(layer, "locked", True)
    assert not window.qactions["layer_flip_h"].isEnabled()
    window.flip_layer_horizontal()
    assert window.last_error is not None and "locked" in window.last_error[1]


def test_crop_tool_drag_handles_enter_and_escape(window, qtbot) -> None:  # noqa: ANN001
    doc = numbered_doc(200, 150)
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.set_zoom(2.0)
    canvas.center_on(QPointF(100, 75))
    canvas.setFocus()
    QTest.keyClick(canvas, Qt.Key.Key_C)                      # the crop tool's shortcut
    tool = window.tools.current
    assert tool.name == "crop"
    assert window.tool_options.findChild(object, "crop_options").isVisible()
    drag(canvas, [(50, 40), (90, 70), (130, 100)])
    assert tool.crop_rect() == Rect(50, 40, 80, 60)
    canvas.render_all_now()                                   # overlay paints (shade + handles)
    shot = canvas.viewport().grab().toImage()
    inside, outside = vp(canvas, 90, 70), vp(canvas, 140, 70)
    px_in, px_out = shot.pixelColor(inside), shot.pixelColor(outside)
    src_in, src_out = doc.layers[0].data[70, 90], doc.layers[0].data[70, 140]
    assert px_in.red() == src_in[0]                            # kept area: as it is
    assert px_out.red() < src_out[0] * 0.6 + 2                 # cut-away area: shaded
    drag(canvas, [(130, 100), (140, 110)])                     # bottom-right handle
    assert tool.crop_rect() == Rect(50, 40, 90, 70)
    drag(canvas, [(90, 70), (80, 60)])                         # move inside
    assert tool.crop_rect() == Rect(40, 30, 90, 70)
    hover(canvas, 130, 100)                                    # the cursor says what a drag does
    assert canvas.viewport().cursor().shape() == Qt.CursorShape.SizeFDiagCursor
    hover(canvas, 85, 65)
    assert canvas.viewport().cursor().shape() == Qt.CursorShape.SizeAllCursor
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert tool.rect is None and doc.size == (200, 150)
    # aspect preset 1:1: the drag makes a square
    combo = tool.aspect_combo
    combo.setCurrentIndex(combo.findText("1:1 (square)"))
    drag(canvas, [(20, 20), (60, 40)])
    r = tool.crop_rect()
    assert r.w == r.h == 40
    before = doc.layers[0].data.copy()
    QTest.keyClick(canvas, Qt.Key.Key_Return)
    assert doc.size == (40, 40)
    assert np.array_equal(doc.layers[0].data, before[20:60, 20:60])
    assert doc.history.undo_label == "Crop image" and len(doc.history) == 1


def test_free_transform_scale_rotate_live_preview_enter_and_escape(window, qtbot) -> None:  # noqa: ANN001
    doc = Document(200, 160)
    doc.add_layer(RasterLayer.blank("bg", 200, 160, fill=(255, 255, 255, 255)))
    sq = np.zeros((20, 20, 4), np.uint16)
    sq[...] = (65535, 0, 0, 65535)
    mask = np.full((20, 20), 255, np.uint8)
    mask[:, :5] = 0
    layer = doc.add_layer(RasterLayer("red16", sq, offset=(90, 70), mask=mask))
    doc.history.clear()
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.set_zoom(2.0)
    canvas.center_on(QPointF(100, 80))
    canvas.setFocus()
    window.activateWindow()
    QTest.keyClick(canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    tool = window.tools.current
    assert tool.name == "transform" and tool.active and tool.layer is layer
    assert canvas.preview_hidden is layer                       # the tool draws it live
    hover(canvas, 150, 80)                                      # outside the box: rotate
    assert canvas.viewport().cursor().shape() == Qt.CursorShape.PointingHandCursor
    hover(canvas, 110, 80)                                      # the right edge handle
    assert canvas.viewport().cursor().shape() == Qt.CursorShape.SizeHorCursor
    # Esc cancels: nothing changed, the layer shows again
    drag(canvas, [(110, 90), (130, 110)])                       # bottom-right handle: scale
    assert tool.sx == pytest.approx(2.0) and tool.sy == pytest.approx(2.0)
    canvas.render_all_now()
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert not tool.active and canvas.preview_hidden is None and len(doc.history) == 0
    assert layer.bounds == Rect(90, 70, 20, 20)
    # scale with the handle (Shift keeps the ratio), then Enter applies one step
    window.qactions["layer_free_transform"].trigger()
    assert tool.active
    drag(canvas, [(110, 90), (140, 100)], Qt.KeyboardModifier.ShiftModifier)
    assert tool.sx == pytest.approx(tool.sy) and tool.sx == pytest.approx(2.5)
    canvas.render_all_now()
    QTest.keyClick(canvas, Qt.Key.Key_Return)
    assert not tool.active and len(doc.history) == 1 and doc.history.undo_label == "Free transform"
    assert layer.bounds == Rect(90, 70, 50, 50)               # the top-left corner stayed
    assert layer.data.dtype == np.uint16 and tuple(layer.data[25, 30]) == (65535, 0, 0, 65535)
    assert layer.mask.shape == (50, 50) and layer.mask[25, 5] == 0 and layer.mask[25, 40] == 255
    # rotate by dragging outside the box
    window.free_transform()
    c = (115, 95)
    drag(canvas, [(c[0] + 40, c[1]), (c[0], c[1] + 40)])       # a quarter turn clockwise
    assert tool.angle == pytest.approx(90.0, abs=1.0)
    tool.commit(canvas)
    assert layer.bounds.w == 50 and layer.bounds.h == 50
    assert layer.mask[5, 25] == 0                               # the hidden strip turned to the top
    window.qactions["edit_undo"].trigger()
    window.qactions["edit_undo"].trigger()
    assert layer.bounds == Rect(90, 70, 20, 20) and np.array_equal(layer.data, sq)


def test_my_shortcuts_are_unique_and_undo_cancels_a_free_transform(window, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtGui import QAction

    owners: dict[str, list[str]] = {}
    for a in window.findChildren(QAction):
        for k in a.shortcuts():
            owners.setdefault(k.toString(), []).append(a.objectName())
    for key_text in ("Ctrl+X", "Ctrl+C", "Ctrl+Shift+C", "Ctrl+V", "Ctrl+Alt+V", "Ctrl+Alt+O",
                     "Ctrl+T", "Ctrl+L", "Ctrl+M", "Ctrl+U", "C"):
        assert len(owners.get(key_text, [])) == 1, (key_text, owners.get(key_text))
    doc = numbered_doc()
    doc.add_layer(RasterLayer.blank("top", 10, 10, fill=(0, 0, 0, 255)))
    doc.history.clear()
    doc.add_layer(RasterLayer.blank("other", 4, 4))
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    doc.active_layer = doc.layers[1]
    window.free_transform()
    tool = window.tools.current
    assert tool.active and canvas.preview_hidden is doc.layers[1]
    window.qactions["edit_undo"].trigger()                     # the image changed: box dropped
    assert not tool.active and canvas.preview_hidden is None
    window.tools.select("brush")
    assert not tool.active


def test_crop_rectangle_stays_with_its_document(window, qtbot) -> None:  # noqa: ANN001
    a, b = numbered_doc(100, 80), numbered_doc(60, 50)
    ca = window.add_document(a)
    qtbot.waitExposed(ca)
    window.crop_tool()
    tool = window.tools.current
    assert tool.name == "crop"
    drag(ca, [(10, 10), (50, 40)])
    assert tool.crop_rect() is not None
    cb = window.add_document(b)
    qtbot.waitExposed(cb)
    cb.setFocus()
    QTest.keyClick(cb, Qt.Key.Key_Return)          # Enter on the other image: nothing cropped
    assert b.size == (60, 50) and a.size == (100, 80) and tool.rect is None


def test_free_transform_of_a_selection_moves_the_selected_pixels(window, qtbot) -> None:  # noqa: ANN001
    doc = Document(120, 90)
    px = np.zeros((90, 120, 4), np.uint8)
    px[...] = (0, 0, 255, 255)
    px[20:40, 20:40] = (255, 0, 0, 255)
    layer = doc.add_layer(RasterLayer("photo", px))
    sel = np.zeros((90, 120), np.uint8)
    sel[20:40, 20:40] = 255
    doc.set_selection(sel)
    doc.history.clear()
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.setFocus()
    window.activateWindow()
    QTest.keyClick(canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    tool = window.tools.current
    assert tool.active and tool.selection_mode and tool._bounds == Rect(20, 20, 20, 20)
    drag(canvas, [(30, 30), (60, 50), (80, 60)])               # drag inside: move by (50, 30)
    assert (tool.tx, tool.ty) == (50, 30)
    canvas.render_all_now()
    QTest.keyClick(canvas, Qt.Key.Key_Return)
    assert len(doc.history) == 1 and doc.history.undo_label == "Free transform"
    assert layer.data[30, 30, 3] == 0                           # a hole where it was
    assert tuple(layer.data[60, 80]) == (255, 0, 0, 255)        # the red square, moved
    assert tuple(layer.data[5, 5]) == (0, 0, 255, 255)
    assert doc.selection[60, 80] == 255 and doc.selection[30, 30] == 0
    # a masked layer with a selection: refused with a message
    window.qactions["edit_undo"].trigger()
    window.add_mask()
    window.free_transform()
    assert window.last_error is not None and "mask" in window.last_error[1]


def test_free_transform_of_a_big_layer_runs_on_a_worker(window, qtbot, monkeypatch) -> None:  # noqa: ANN001
    from ganstudio.core import transform as core_tf
    from ganstudio.ui.tools.transform import TransformTool

    monkeypatch.setattr(TransformTool, "SYNC_PIXELS", 0)       # every layer counts as big here
    doc = numbered_doc(80, 60)
    layer = doc.layers[0]
    before = layer.data.copy()
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    window.free_transform()
    tool = window.tools.current
    tool.set_transform(angle=30.0, sx=0.8, sy=0.8)
    m = tool.matrix()
    assert tool.commit(canvas) and tool.applying              # Enter: computing on the worker
    assert canvas.preview_hidden is layer                       # the preview stays meanwhile
    assert not tool.apply_button.isEnabled()
    tool.cancel(canvas)                                         # Esc cannot drop a result on its way
    qtbot.waitUntil(lambda: not tool.applying, timeout=20_000)
    assert not tool.active and canvas.preview_hidden is None and len(doc.history) == 1
    ref = Document(80, 60)
    ref_layer = ref.add_layer(RasterLayer("bg", before))
    core_tf.affine_transform_layer(ref, m, ref_layer)
    assert layer.bounds == ref_layer.bounds and np.array_equal(layer.data, ref_layer.data)
