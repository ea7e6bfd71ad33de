"""Image > Adjustments and Filters > Blur / Sharpen through the real window: the dialogs open from
the menus / shortcuts, the Preview checkbox shows the result on the canvas (computed off the GUI
thread), OK is one undo step equal to the core operation, Cancel restores the layer exactly."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from ganstudio.core import adjustments as adj
from ganstudio.core import filters as flt
from ganstudio.core.document import Document
from ganstudio.core.layers import LabelClass, LabelLayer, RasterLayer


def sub_action(window, menu: str, sub: str, name: str):  # noqa: ANN001, ANN201
    m = window.menus[menu]
    subm = next(a.menu() for a in m.actions() if a.menu() is not None
                and a.menu().title().replace("&", "") == sub)
    act = window.qactions[name]
    assert act in subm.actions() and act.isEnabled()
    return act


def photo_doc(dtype=np.uint8) -> Document:
    rng = np.random.default_rng(2)
    maxv = 65535 if dtype == np.uint16 else 255
    px = rng.integers(0, maxv, (60, 80, 4), dtype=np.int64).astype(dtype)
    px[..., 3] = maxv
    doc = Document(80, 60)
    doc.add_layer(RasterLayer("photo", px))
    doc.history.clear()
    return doc


def wait_preview(qtbot, dlg, n: int = 1) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: dlg.previews >= n, timeout=10_000)
    dlg.wait_preview()


def ok(qtbot, window, dlg) -> None:  # noqa: ANN001
    """Press OK and wait until the dialog is done (a whole computation runs on the worker)."""
    dlg.buttons.button(dlg.buttons.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: window.adjust_dialog is None, timeout=20_000)


def test_hue_saturation_preview_ok_is_one_step(window, qtbot) -> None:  # noqa: ANN001
    doc = photo_doc()
    layer = doc.layers[0]
    original = layer.data
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.setFocus()
    window.activateWindow()
    QTest.keyClick(canvas, Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier)   # Ctrl+U
    dlg = window.adjust_dialog
    assert dlg is not None and dlg.isVisible() and dlg.preview_box.isChecked()
    dlg.sliders["hue"].setValue(120)
    wait_preview(qtbot, dlg)
    want = adj.HueSaturation(hue=120).apply(original)
    assert np.array_equal(layer.data, want)                   # the canvas shows the preview
    assert len(doc.history) == 0                               # ... without a history step
    canvas.render_all_now()
    dlg.preview_box.setChecked(False)
    assert layer.data is original
    dlg.preview_box.setChecked(True)
    wait_preview(qtbot, dlg, 2)
    dlg.buttons.button(dlg.buttons.StandardButton.Ok).click()
    assert dlg.reused_preview                                  # committed, not computed again
    assert window.adjust_dialog is None
    assert len(doc.history) == 1 and doc.history.undo_label == "Hue-Saturation"
    assert np.array_equal(layer.data, want)
    window.qactions["edit_undo"].trigger()
    assert np.array_equal(layer.data, original)


def test_levels_cancel_restores_exactly_16bit_and_selection(window, qtbot) -> None:  # noqa: ANN001
    doc = photo_doc(np.uint16)
    layer = doc.layers[0]
    original = layer.data
    copy = original.copy()
    sel = np.zeros((60, 80), np.uint8)
    sel[10:30, 10:50] = 255
    doc.set_selection(sel)
    doc.history.clear()
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    sub_action(window, "Image", "Adjustments", "adjust_levels").trigger()
    dlg = window.adjust_dialog
    dlg.set_channel_levels("master", gamma=2.0)
    wait_preview(qtbot, dlg)
    assert layer.data is not original and layer.data.dtype == np.uint16
    assert np.array_equal(layer.data[0], copy[0])             # outside the selection: unchanged
    assert not np.array_equal(layer.data[20, 20:40], copy[20, 20:40])
    dlg.buttons.button(dlg.buttons.StandardButton.Cancel).click()
    assert layer.data is original and np.array_equal(layer.data, copy)
    assert len(doc.history) == 0
    # the same through OK: equals the core operation
    sub_action(window, "Image", "Adjustments", "adjust_levels").trigger()
    dlg = window.adjust_dialog
    dlg.preview_box.setChecked(False)
    dlg.channel.setCurrentIndex(dlg.channel.findData("red"))   # the form's own widgets
    dlg.in_low.setValue(25)
    dlg.in_high.setValue(230)
    assert dlg.histogram.marks == (25 / 255, 230 / 255)
    ok(qtbot, window, dlg)                                     # no preview shown: computed
    assert not dlg.reused_preview
    expected = adj.adjusted_layer_pixels(doc, adj.Levels(red=adj.LevelsChannel(25 / 255, 230 / 255)).apply,
                                         layer, source=copy)
    assert np.array_equal(layer.data, expected) and len(doc.history) == 1


def test_curves_editor_mouse_and_brightness_contrast(window, qtbot) -> None:  # noqa: ANN001
    doc = photo_doc()
    layer = doc.layers[0]
    original = layer.data.copy()
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.setFocus()
    window.activateWindow()
    QTest.keyClick(canvas, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)   # Ctrl+M
    dlg = window.adjust_dialog
    ed = dlg.editor
    w, h = ed.width() - 1, ed.height() - 1
    # click at (0.25, 0.25) on the diagonal, drag it up to (0.25, 0.5): a brightening curve
    QTest.mousePress(ed, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(int(0.25 * w), int(0.75 * h)))
    QTest.mouseMove(ed, QPoint(int(0.25 * w), int(0.5 * h)))
    QTest.mouseRelease(ed, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(int(0.25 * w), int(0.5 * h)))
    assert len(dlg.curves["master"]) == 3 and dlg.curves["master"][1][1] == pytest.approx(0.5, abs=0.01)
    wait_preview(qtbot, dlg)
    ok(qtbot, window, dlg)
    assert dlg.reused_preview
    assert layer.data[..., :3].astype(int).mean() > original[..., :3].astype(int).mean() + 10
    assert np.array_equal(layer.data[..., 3], original[..., 3])
    window.qactions["edit_undo"].trigger()
    sub_action(window, "Image", "Adjustments", "adjust_brightness_contrast").trigger()
    dlg = window.adjust_dialog
    dlg.sliders["brightness"].setValue(-100)
    ok(qtbot, window, dlg)
    assert np.array_equal(layer.data, adj.BrightnessContrast(brightness=-100).apply(original))


def test_blur_and_unsharp_from_the_filters_menu(window, qtbot) -> None:  # noqa: ANN001
    doc = photo_doc()
    layer = doc.layers[0]
    original = layer.data.copy()
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    sub_action(window, "Filters", "Blur", "filter_gaussian_blur").trigger()
    dlg = window.adjust_dialog
    dlg.sigma.setValue(3.0)
    wait_preview(qtbot, dlg)
    assert np.array_equal(layer.data, flt.gaussian_blur(original, 3.0))
    ok(qtbot, window, dlg)
    assert doc.history.undo_label == "Gaussian blur" and len(doc.history) == 1
    window.qactions["edit_undo"].trigger()
    assert np.array_equal(layer.data, original)
    sub_action(window, "Filters", "Sharpen", "filter_unsharp_mask").trigger()
    dlg = window.adjust_dialog
    dlg.amount.setValue(100)
    ok(qtbot, window, dlg)
    assert np.array_equal(layer.data, flt.unsharp_mask(original, 2.0, 1.0))


def test_adjustments_refuse_label_and_locked_layers(window, qtbot) -> None:  # noqa: ANN001
    doc = photo_doc()
    lab = doc.add_layer(LabelLayer("labels", np.zeros((60, 80), np.uint8), [LabelClass(1, "a", (1, 2, 3))]))
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    assert not window.qactions["adjust_levels"].isEnabled()
    window.levels_dialog()
    assert window.adjust_dialog is None and "label layer" in window.last_error[1]
    doc.active_layer = doc.layers[0]
    doc.set_layer_attr(doc.layers[0], "locked", True)
    window.gaussian_blur_dialog()
    assert window.adjust_dialog is None and "locked" in window.last_error[1]
    assert lab in doc.layers


def test_zoomed_in_preview_computes_the_visible_part_and_ok_the_whole(window, qtbot) -> None:  # noqa: ANN001
    rng = np.random.default_rng(4)
    px = rng.integers(0, 255, (600, 800, 4), dtype=np.uint8)
    px[..., 3] = 255
    doc = Document(800, 600)
    layer = doc.add_layer(RasterLayer("big", px))
    doc.history.clear()
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    qtbot.waitUntil(lambda: canvas.fit_view == "auto")       # the initial fit happened
    canvas.set_zoom(8.0)
    from PySide6.QtCore import QPointF

    canvas.center_on(QPointF(400, 300))
    view = canvas.view_rect_to_doc(canvas.viewport().rect())
    assert view.w < 400 and view.h < 300
    window.brightness_contrast_dialog()
    dlg = window.adjust_dialog
    dlg.sliders["brightness"].setValue(-100)
    wait_preview(qtbot, dlg)
    want = adj.BrightnessContrast(brightness=-100).apply(px)
    shown = layer.data
    part = dlg.preview_region                                             # what was in view
    assert part is not None and part.w < 800 and part.h < 600
    assert np.array_equal(shown[part.slices()], want[part.slices()])     # the visible part
    outside = np.ones((600, 800), bool)
    outside[part.slices()] = False
    assert np.array_equal(shown[outside], px[outside])                   # the rest: not computed
    assert shown is not px and px is not None
    ok(qtbot, window, dlg)
    assert not dlg.reused_preview                                         # the whole layer: computed
    assert np.array_equal(layer.data, want) and len(doc.history) == 1
