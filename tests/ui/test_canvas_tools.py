"""Canvas + tools driven by real mouse / key events."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from ganstudio.core.geometry import Rect


def vp(canvas, x: float, y: float) -> QPoint:  # noqa: ANN001
    p = canvas.doc_to_view(QPointF(x, y))
    return QPoint(int(round(p.x())), int(round(p.y())))


def drag(canvas, points, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # noqa: ANN001
    view = canvas.viewport()
    QTest.mousePress(view, Qt.MouseButton.LeftButton, modifier, vp(canvas, *points[0]))
    for pt in points[1:]:
        QTest.mouseMove(view, vp(canvas, *pt))
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, modifier, vp(canvas, *points[-1]))


def test_brush_stroke_changes_pixels_and_ctrl_z_restores(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc()
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.set_zoom(2.0)
    layer = doc.active_layer
    before = layer.pixels.copy()
    QTest.keyClick(canvas, Qt.Key.Key_B)             # brush tool shortcut
    assert window.tools.current.name == "brush"
    window.tools.settings.color = (255, 0, 0, 255)
    window.tools.settings.size = 8
    window.tools.settings.hardness = 1.0
    drag(canvas, [(20, 20), (60, 40), (100, 60)])
    assert not np.array_equal(layer.pixels, before)
    assert tuple(layer.pixels[40, 60]) == (255, 0, 0, 255)
    assert doc.history.undo_label == "Brush stroke" and len(doc.history) == 1
    canvas.render_all_now()                          # repaint with the dirty tiles re-rendered
    canvas.setFocus()
    window.activateWindow()
    QTest.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(layer.pixels, before)
    QTest.keyClick(canvas, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert tuple(layer.pixels[40, 60]) == (255, 0, 0, 255)


def test_eraser_brackets_and_only_dirty_tiles_rerender(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc(2000, 1500)
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.set_zoom(1.0)
    canvas.render_all_now()
    renders = canvas._cache.renders
    assert renders > 0
    window.tools.select("eraser")
    size = window.tools.settings.size
    QTest.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert window.tools.settings.size > size
    QTest.keyClick(canvas, Qt.Key.Key_BracketLeft)
    QTest.keyClick(canvas, Qt.Key.Key_BracketLeft)
    assert window.tools.settings.size < size
    drag(canvas, [(10, 10), (40, 10)])
    assert doc.active_layer.pixels[10, 25, 3] < 255
    canvas.render_all_now()
    assert 0 < canvas._cache.renders - renders <= 2   # only the touched tile(s) re-rendered


def test_mask_brush_paints_ai_mask_with_overlay(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc()
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    QTest.keyClick(canvas, Qt.Key.Key_M)
    assert window.tools.current.name == "mask"
    window.tools.settings.size = 10
    drag(canvas, [(50, 50), (80, 50)])
    assert doc.ai_mask is not None and doc.ai_mask[50, 65] == 255
    assert np.array_equal(window.task_mask(), doc.ai_mask)
    tile = canvas._render_region(Rect(60, 45, 4, 4), "after")
    assert tile[2, 2, 0] > tile[2, 2, 1] + 60        # tinted red over white
    assert doc.active_layer.pixels[50, 65, 1] == 255  # the image itself is untouched
    window.qactions["select_clear_ai_mask"].trigger()
    assert doc.ai_mask is None


def test_rect_selection_add_subtract_and_ellipse_lasso(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc()
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    window.tools.select("rect_select")
    drag(canvas, [(10, 10), (50, 40)])
    assert doc.selection is not None and doc.selection[20, 20] == 255 and doc.selection[60, 60] == 0
    drag(canvas, [(100, 100), (120, 120)], Qt.KeyboardModifier.ShiftModifier)
    assert doc.selection[20, 20] == 255 and doc.selection[110, 110] == 255
    drag(canvas, [(15, 15), (25, 25)], Qt.KeyboardModifier.AltModifier)
    assert doc.selection[20, 20] == 0 and doc.selection[35, 35] == 255
    canvas.render_all_now()                               # outline path is built and drawn
    assert canvas._selection_path is not None and not canvas._selection_path.isEmpty()
    window.tools.select("ellipse_select")
    drag(canvas, [(100, 20), (160, 80)])
    assert doc.selection[50, 130] == 255 and doc.selection[21, 101] == 0
    window.tools.select("lasso")
    drag(canvas, [(10, 100), (60, 100), (60, 140), (10, 140)])
    assert doc.selection[120, 30] == 255 and doc.selection[50, 130] == 0


def test_picker_and_move_tool(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc(color=(10, 200, 30, 255))
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    QTest.keyClick(canvas, Qt.Key.Key_I)
    drag(canvas, [(30, 30)])
    assert window.tools.settings.color[:3] == (10, 200, 30)
    QTest.keyClick(canvas, Qt.Key.Key_V)
    drag(canvas, [(30, 30), (40, 35), (50, 45)])
    assert doc.active_layer.offset == (20, 15)
    assert len(doc.history) == 1
    doc.history.undo()
    assert doc.active_layer.offset == (0, 0)


def test_zoom_and_pan(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc(3000, 2000)
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.fit()
    fit = canvas.zoom
    assert fit < 1 and canvas.level >= 1
    window.qactions["view_100"].trigger()
    assert canvas.zoom == 1.0 and canvas.level == 0
    window.qactions["view_zoom_in"].trigger()
    assert canvas.zoom > 1.0
    window.qactions["view_zoom_out"].trigger()
    window.qactions["view_zoom_out"].trigger()
    assert canvas.zoom < 1.0
    canvas.set_zoom(1.0)
    h0 = canvas.horizontalScrollBar().value()
    view = canvas.viewport()
    QTest.mousePress(view, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 300))
    QTest.mouseMove(view, QPoint(200, 250))
    QTest.mouseRelease(view, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 250))
    assert canvas.horizontalScrollBar().value() == h0 + 100
    anchor = QPointF(100, 100)
    under = canvas.view_to_doc(anchor)
    canvas.set_zoom(2.0, anchor)
    after = canvas.view_to_doc(anchor)
    assert abs(after.x() - under.x()) < 1 and abs(after.y() - under.y()) < 1
    canvas.render_all_now()
    assert not canvas.pending
    assert window.status.zoom.text() == "200%"


def test_partial_tile_refresh_matches_a_full_render_when_zoomed_out(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc(3000, 2000, color=(30, 90, 200, 255))
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.fit()
    assert canvas.level >= 2
    canvas.render_all_now()
    window.tools.select("brush")
    window.tools.settings.size = 37
    window.tools.settings.color = (250, 250, 10, 255)
    drag(canvas, [(101, 203), (777, 333), (1501, 1207)])
    canvas.render_all_now()                           # dirty parts of the cached tiles re-rendered
    level = canvas.level
    partial = {k: t.array.copy() for k, t in canvas._cache._tiles.items() if k[1] == level}
    canvas._cache.clear()
    canvas.render_all_now()                           # everything rendered from scratch
    full = {k: t.array for k, t in canvas._cache._tiles.items() if k[1] == level}
    assert partial.keys() == full.keys() and partial
    for k in full:
        diff = np.abs(partial[k].astype(int) - full[k].astype(int)).max()
        assert diff <= 1, (k, diff)
