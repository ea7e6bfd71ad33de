"""Fill bucket, gradient, Shift+click lines, clone stamp / healing brush and magic wand / select by
colour, driven through the real window (shortcuts, mouse on the canvas, tool options)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from ganstudio.core.layers import LabelClass, LabelLayer

SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier
NONE = Qt.KeyboardModifier.NoModifier


def vp(canvas, x: float, y: float) -> QPoint:  # noqa: ANN001
    p = canvas.doc_to_view(QPointF(x, y))
    return QPoint(int(round(p.x())), int(round(p.y())))


def click(canvas, x: float, y: float, modifier=NONE) -> None:  # noqa: ANN001
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, modifier, vp(canvas, x, y))


def drag(canvas, points, modifier=NONE) -> None:  # noqa: ANN001
    view = canvas.viewport()
    QTest.mousePress(view, Qt.MouseButton.LeftButton, modifier, vp(canvas, *points[0]))
    for pt in points[1:]:
        QTest.mouseMove(view, vp(canvas, *pt))
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, modifier, vp(canvas, *points[-1]))


def _open(window, qtbot, doc):  # noqa: ANN001, ANN202
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.set_zoom(2.0)
    canvas.center_on(QPointF(doc.width / 2, doc.height / 2))
    canvas.setFocus()
    window.activateWindow()
    return canvas


def _halves(make_doc):  # noqa: ANN001, ANN202
    doc = make_doc(120, 80)
    doc.active_layer.pixels[:, 60:, :3] = 0          # left white, right black
    doc.history.clear()
    return doc


def test_fill_bucket_g_fills_the_clicked_area_with_options(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = _halves(make_doc)
    canvas = _open(window, qtbot, doc)
    QTest.keyClick(canvas, Qt.Key.Key_G)
    assert window.tools.current.name == "fill"
    assert window.qactions["tool_fill"].isChecked()
    # its own options are in the tool options panel (and the colour row is shown)
    opts = window.tool_options
    threshold = opts.findChild(object, "similarity_threshold")
    assert threshold is not None and threshold.isVisibleTo(window.tool_options)
    assert window.tool_options.color.isVisibleTo(window.tool_options)
    window.tools.settings.color = (255, 0, 0, 255)
    click(canvas, 20, 20)
    px = doc.active_layer.pixels
    assert tuple(px[20, 20]) == (255, 0, 0, 255) and tuple(px[20, 100]) == (0, 0, 0, 255)
    assert doc.history.undo_label == "Fill" and len(doc.history) == 1
    QTest.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert tuple(doc.active_layer.pixels[20, 20]) == (255, 255, 255, 255)
    # not contiguous: every similar pixel; the selection limits it
    opts.findChild(object, "similarity_contiguous").setChecked(False)
    sel = np.zeros((80, 120), np.uint8)
    sel[:40] = 255
    doc.set_selection(sel)
    click(canvas, 100, 20)
    px = doc.active_layer.pixels
    assert tuple(px[20, 100]) == (255, 0, 0, 255) and tuple(px[60, 100]) == (0, 0, 0, 255)


def test_fill_bucket_on_label_layer_fills_the_class_and_refuses_locked(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc(60, 40)
    labels = np.zeros((40, 60), np.uint8)
    labels[:, 30:] = 2
    layer = LabelLayer("labels", labels, [LabelClass(1, "sky", (0, 0, 255)),
                                          LabelClass(2, "tree", (0, 200, 0))])
    doc.add_layer(layer)
    canvas = _open(window, qtbot, doc)
    window.tools.select("fill")
    window.tools.settings.label_id = 1
    window.tool_options.refresh()
    assert window.tool_options.palette.isVisibleTo(window.tool_options)   # the class palette
    click(canvas, 10, 10)
    assert (layer.labels[:, :30] == 1).all() and (layer.labels[:, 30:] == 2).all()
    assert doc.history.undo_label == "Fill labels"
    doc.set_layer_attr(layer, "locked", True)
    n = len(doc.history)
    click(canvas, 40, 10)
    assert (layer.labels[:, 30:] == 2).all() and len(doc.history) == n
    assert "locked" in window.status.currentMessage()


def test_gradient_shift_g_drag_draws_linear_and_radial(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc(120, 80)
    canvas = _open(window, qtbot, doc)
    QTest.keyClick(canvas, Qt.Key.Key_G, SHIFT)
    tool = window.tools.current
    assert tool.name == "gradient"
    window.tools.settings.color = (0, 0, 0, 255)
    tool.set_background((255, 255, 255))
    drag(canvas, [(10, 40), (60, 40), (110, 40)])
    red = doc.active_layer.pixels[40, :, 0].astype(int)
    assert red[5] <= 2 and red[115] >= 253 and 100 < red[60] < 155
    assert np.all(np.diff(red[12:108]) >= -1)
    assert doc.history.undo_label == "Gradient" and len(doc.history) == 1
    # radial, foreground to transparent, on a new layer
    window.tool_options.findChild(object, "gradient_shape").setCurrentIndex(1)
    window.tool_options.findChild(object, "gradient_colours").setCurrentIndex(1)
    top = doc.new_raster_layer("top")
    drag(canvas, [(60, 40), (80, 40)])
    assert top.pixels[40, 60, 3] >= 235 and top.pixels[40, 85, 3] == 0
    assert 100 < top.pixels[40, 70, 3] < 155 and top.pixels[30, 60, 3] > 100   # round


def test_shift_click_paints_a_straight_line_for_brush_eraser_mask(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc(120, 80)
    canvas = _open(window, qtbot, doc)
    QTest.keyClick(canvas, Qt.Key.Key_B)
    window.tools.settings.color = (0, 0, 255, 255)
    window.tools.settings.size = 4
    window.tools.settings.hardness = 1.0
    click(canvas, 10, 20)
    n = len(doc.history)
    click(canvas, 100, 60, SHIFT)
    px = doc.active_layer.pixels
    assert len(doc.history) == n + 1                    # the line is one step
    for t in (0.25, 0.5, 0.75):
        x, y = 10 + 90 * t, 20 + 40 * t
        assert tuple(px[int(y), int(x)]) == (0, 0, 255, 255)
    assert tuple(px[20, 100]) == (255, 255, 255, 255)   # not a box: only along the line
    # the next Shift+click continues from the end of that line
    click(canvas, 100, 10, SHIFT)
    assert tuple(doc.active_layer.pixels[35, 100]) == (0, 0, 255, 255)
    # eraser: its own last point; the first Shift+click of a tool is a plain dab
    QTest.keyClick(canvas, Qt.Key.Key_E)
    click(canvas, 20, 70, SHIFT)
    assert doc.active_layer.pixels[70, 20, 3] == 0 and doc.active_layer.pixels[70, 60, 3] == 255
    click(canvas, 100, 70, SHIFT)
    assert doc.active_layer.pixels[70, 60, 3] == 0
    # mask brush
    QTest.keyClick(canvas, Qt.Key.Key_M)
    click(canvas, 10, 5)
    click(canvas, 110, 5, SHIFT)
    assert doc.ai_mask is not None and doc.ai_mask[5, 60] == 255


def test_shift_click_line_with_the_label_brush(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc(80, 40)
    layer = LabelLayer("labels", np.zeros((40, 80), np.uint8), [LabelClass(3, "sea", (0, 0, 128))])
    doc.add_layer(layer)
    canvas = _open(window, qtbot, doc)
    QTest.keyClick(canvas, Qt.Key.Key_L)
    window.tools.settings.label_id = 3
    window.tools.settings.size = 3
    click(canvas, 5, 20)
    click(canvas, 75, 20, SHIFT)
    assert (layer.labels[20, 5:75] == 3).all()


def _textured(make_doc):  # noqa: ANN001, ANN202
    doc = make_doc(160, 80)
    px = doc.active_layer.pixels
    px[:, :, :3] = 90
    px[10:30, 10:30, :3] = (255, 0, 0)               # a red square to clone
    doc.history.clear()
    return doc


def test_clone_stamp_ctrl_click_source_then_paint_aligned(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = _textured(make_doc)
    canvas = _open(window, qtbot, doc)
    QTest.keyClick(canvas, Qt.Key.Key_S)
    tool = window.tools.current
    assert tool.name == "clone"
    window.tools.settings.size = 6
    window.tools.settings.hardness = 1.0
    window.tools.settings.opacity = 1.0
    click(canvas, 100, 20)                              # no source yet: nothing happens
    assert len(doc.history) == 0 and "source" in window.status.currentMessage()
    click(canvas, 20, 20, CTRL)                         # the source
    drag(canvas, [(100, 20), (104, 20)])
    px = doc.active_layer.pixels
    assert tuple(px[20, 100]) == (255, 0, 0, 255) and tuple(px[20, 104]) == (255, 0, 0, 255)
    assert doc.history.undo_label == "Clone" and len(doc.history) == 1
    # aligned: the next stroke keeps the distance (source 80 px to the left)
    click(canvas, 140, 60)
    assert tuple(doc.active_layer.pixels[60, 140]) == (90, 90, 90, 255)   # source (60,60): grey
    click(canvas, 100, 26)
    assert tuple(doc.active_layer.pixels[26, 100]) == (255, 0, 0, 255)
    # not aligned: every stroke starts at the source again
    window.tool_options.findChild(object, "clone_aligned").setChecked(False)
    click(canvas, 140, 60)
    assert tuple(doc.active_layer.pixels[60, 140]) == (255, 0, 0, 255)
    # Shift+click: a straight cloned line from the last stroke's end, one step
    n = len(doc.history)
    window.tool_options.findChild(object, "clone_aligned").setChecked(True)
    click(canvas, 20, 20, CTRL)
    click(canvas, 100, 70)
    click(canvas, 110, 70, SHIFT)
    assert len(doc.history) == n + 2
    assert tuple(doc.active_layer.pixels[70, 105]) == (255, 0, 0, 255)   # source (25, 20): red


def test_healing_brush_blends_into_the_surroundings(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc(160, 80)
    px = doc.active_layer.pixels
    rng = np.random.default_rng(3)
    px[:, :80, :3] = (140 + rng.integers(-15, 16, (80, 80, 1))).astype(np.uint8)
    px[:, 80:, :3] = 60
    doc.history.clear()
    canvas = _open(window, qtbot, doc)
    QTest.keyClick(canvas, Qt.Key.Key_J)
    assert window.tools.current.name == "heal"
    window.tools.settings.size = 10
    window.tools.settings.hardness = 1.0
    click(canvas, 30, 40, CTRL)
    drag(canvas, [(120, 40), (126, 40)])
    area = doc.active_layer.pixels[38:43, 120:127, 0].astype(float)
    assert abs(area.mean() - 60) < 6 and area.std() > 2    # dark like its border, textured
    assert doc.history.undo_label == "Heal" and len(doc.history) == 1


def test_heal_with_the_inpainting_model(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc(200, 120, color=(40, 120, 40, 255))
    doc.active_layer.pixels[50:54, 20:24, :3] = 255        # a small white blemish
    doc.active_layer.pixels[40:80, 100:160, :3] = 255      # a big white patch
    doc.history.clear()
    canvas = _open(window, qtbot, doc)
    window.tools.select("heal")
    tool = window.tools.current
    window.tool_options.findChild(object, "heal_method").setCurrentIndex(1)
    assert tool.method == "model"
    window.tools.settings.size = 10
    # a small stroke: healed at once (OpenCV), no source needed, one undo step
    drag(canvas, [(20, 52), (23, 52)])
    assert doc.history.undo_label == "Heal" and len(doc.history) == 1
    assert doc.active_layer.pixels[52, 21, 0] < 100
    # a big stroke: a background job with the built-in model, blended into the layer
    window.tools.settings.size = 50
    drag(canvas, [(110, 60), (130, 60), (150, 60)])
    job = tool.last_job
    assert job is not None and job.task == "inpaint"
    qtbot.waitUntil(lambda: job.data.get("handled", False), timeout=120_000)
    assert job.data.get("applied"), job.error
    assert doc.history.undo_label == "Heal (inpainting model)" and len(doc.history) == 2
    assert doc.active_layer.pixels[60, 130, 0] < 200       # the white patch is filled


def test_magic_wand_w_and_select_by_colour_with_modifiers(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc(120, 80)
    px = doc.active_layer.pixels
    px[:, 40:80, :3] = (0, 0, 255)                   # white | blue | white
    doc.history.clear()
    canvas = _open(window, qtbot, doc)
    QTest.keyClick(canvas, Qt.Key.Key_W)
    assert window.tools.current.name == "wand"
    click(canvas, 10, 10)
    sel = doc.selection
    assert sel is not None and (sel[:, :40] == 255).all() and (sel[:, 40:] == 0).all()
    assert doc.history.undo_label == "Magic wand"
    click(canvas, 60, 10, SHIFT)                     # Shift adds
    assert (doc.selection[:, :80] == 255).all() and (doc.selection[:, 80:] == 0).all()
    click(canvas, 10, 10, Qt.KeyboardModifier.AltModifier)   # Alt subtracts
    assert (doc.selection[:, :40] == 0).all() and (doc.selection[:, 40:80] == 255).all()
    # Select > By colour (Shift+O): every similar pixel, replacing the selection
    window.menus["Select"].actions()   # the tools are items of the Select menu
    window.qactions["tool_color_select"].trigger()
    assert window.tools.current.name == "color_select"
    click(canvas, 10, 10)
    assert (doc.selection[:, :40] == 255).all() and (doc.selection[:, 80:] == 255).all()
    assert (doc.selection[:, 40:80] == 0).all()
    assert doc.history.undo_label == "Select by colour"
    # the shared selection options: feather
    window.tools.settings.feather = 4.0
    click(canvas, 60, 10)
    assert 0 < doc.selection[40, 38] < 255
    # the menu item is in Select
    texts = [a.text().replace("&", "") for a in window.menus["Select"].actions()]
    assert "Select by colour" in texts and "Magic wand" in texts
