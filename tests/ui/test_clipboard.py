"""Edit > Cut / Copy / Copy merged / Paste / Paste as new image and File > Open as layers through
the real window: shortcuts, the system clipboard (QImage with alpha), soft selections, 16-bit,
locked layers refused with a message, one undo step each."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from ganstudio.core.document import Document
from ganstudio.core.layers import RasterLayer
from ganstudio.ui.commands.edit import clip_to_qimage, qimage_to_array


def key(window, k, mods=Qt.KeyboardModifier.ControlModifier) -> None:  # noqa: ANN001
    canvas = window.canvas
    canvas.setFocus()
    window.activateWindow()
    QTest.keyClick(canvas, k, mods)


def photo(w: int = 120, h: int = 90) -> np.ndarray:
    rng = np.random.default_rng(5)
    px = rng.integers(0, 255, (h, w, 4), dtype=np.uint8)
    px[..., 3] = 255
    return px


def test_copy_paste_keeps_place_soft_selection_and_system_clipboard(window, qtbot) -> None:  # noqa: ANN001
    doc = Document(120, 90)
    px = photo()
    doc.add_layer(RasterLayer("photo", px))
    doc.history.clear()
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    sel = np.zeros((90, 120), np.uint8)
    sel[10:40, 20:60] = 255
    sel[39, 20:60] = 128
    doc.set_selection(sel)
    key(window, Qt.Key.Key_C)                                  # Ctrl+C
    img = QGuiApplication.clipboard().image()
    assert (img.width(), img.height()) == (40, 30) and img.hasAlphaChannel()
    sys_px = qimage_to_array(img)
    assert np.array_equal(sys_px[:29, :, :3], px[10:39, 20:60, :3])
    assert sys_px[29, 0, 3] == 128                             # soft edge in the system copy too
    n = len(doc.history)
    key(window, Qt.Key.Key_V)                                  # Ctrl+V: a new layer, same place
    new = doc.active_layer
    assert new is doc.layers[-1] and new.name.endswith("(pasted)")
    assert new.offset == (20, 10) and new.data.shape == (30, 40, 4)
    assert len(doc.history) == n + 1
    assert window.qactions["edit_undo"].text() == "&Undo Paste"
    key(window, Qt.Key.Key_Z)
    assert len(doc.layers) == 1


def test_paste_from_another_program_lands_centred_in_view(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc(300, 200)
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    foreign = np.zeros((10, 20, 4), np.uint8)
    foreign[..., 1] = 200
    foreign[..., 3] = 100                                      # translucent: alpha must survive
    QGuiApplication.clipboard().setImage(clip_to_qimage(foreign))
    window.qactions["edit_paste"].trigger()
    layer = doc.active_layer
    view = canvas.view_rect_to_doc(canvas.viewport().rect())
    cx, cy = view.x + view.w // 2, view.y + view.h // 2
    assert layer.offset == (cx - 10, cy - 5)
    assert layer.data[0, 0, 3] == 100 and layer.data[0, 0, 1] == 200


def test_cut_copy_merged_and_paste_as_new_image(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc(60, 40, color=(255, 0, 0, 255))
    top = np.zeros((40, 60, 4), np.uint16)
    top[:, :30] = (0, 0, 65535, 65535)
    doc.add_layer(RasterLayer("blue16", top))
    doc.history.clear()
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    sel = np.zeros((40, 60), np.uint8)
    sel[:, 20:40] = 255
    doc.set_selection(sel)
    key(window, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    key(window, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    new_doc = window.document
    assert new_doc is not doc and new_doc.size == (20, 40)
    merged = new_doc.layers[0].data
    assert merged.dtype == np.uint16                           # our own copy keeps 16 bits
    assert tuple(merged[0, 0]) == (0, 0, 65535, 65535) and tuple(merged[0, 19]) == (65535, 0, 0, 65535)
    window.tabs.setCurrentWidget(canvas)
    assert window.document is doc
    n = len(doc.history)
    key(window, Qt.Key.Key_X)                                   # cut from the 16-bit layer
    assert len(doc.history) == n + 1 and doc.history.undo_label == "Cut"
    assert doc.layers[1].data[0, 25, 3] == 0 and doc.layers[1].data[0, 10, 3] == 65535
    # locked: refused with a message, nothing changes
    doc.history.undo()
    doc.layers[1].locked = True
    window.cut()
    assert window.last_error is not None and "locked" in window.last_error[1]
    assert doc.layers[1].data[0, 25, 3] == 65535


def test_open_as_layers_from_the_file_menu(window, qtbot, make_doc, tmp_path,  # noqa: ANN001
                                           monkeypatch) -> None:
    from PIL import Image

    a = tmp_path / "a.png"
    b = tmp_path / "b.png"
    Image.fromarray(np.full((20, 30, 3), 10, np.uint8)).save(a)
    Image.fromarray(np.full((10, 10, 4), 200, np.uint8), "RGBA").save(b)
    doc = make_doc(100, 80)
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a_, **k: ([str(a), str(b)], ""))
    act = window.qactions["file_open_layers"]
    assert act in window.menus["File"].actions() and act.isEnabled()
    act.trigger()
    assert [la.name for la in doc.layers] == ["Background", "a", "b"]
    assert doc.layers[1].offset == (35, 30) and doc.layers[1].data[0, 0, 3] == 255
    assert len(doc.history) == 1
    key(window, Qt.Key.Key_Z)
    assert len(doc.layers) == 1


def test_qimage_round_trip_keeps_alpha() -> None:
    px = np.zeros((3, 4, 4), np.uint8)
    px[..., 0] = 77
    px[..., 3] = np.arange(12).reshape(3, 4) * 20
    img = clip_to_qimage(px)
    assert img.format() == QImage.Format.Format_RGBA8888
    assert np.array_equal(qimage_to_array(img), px)
