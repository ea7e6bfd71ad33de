"""History panel: the undo stack as a list; clicking a row goes back / forward to that state."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ganstudio.core.document import Document
from ganstudio.core.layers import RasterLayer


def _row_pos(panel, row: int):  # noqa: ANN001, ANN202
    return panel.list.visualItemRect(panel.list.item(row)).center()


def test_history_panel_lists_steps_and_clicking_undoes_and_redoes(window, qtbot, make_doc) -> None:  # noqa: ANN001
    # reachable from View > Panels
    toggle = window.docks["history"].toggleViewAction()
    assert toggle in window.panels_menu.actions()
    toggle.trigger()
    dock = window.docks["history"]
    dock.raise_()
    qtbot.waitUntil(dock.isVisible)
    panel = window.history_panel
    assert panel.rows() == [] and "No image" in panel.hint.text()
    doc = make_doc(40, 30)
    window.add_document(doc)
    layer = doc.active_layer
    states = [layer.pixels.copy()]
    for i, color in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        sel = np.zeros((30, 40), np.uint8)
        sel[:, i * 10:(i + 1) * 10] = 255
        doc.set_selection(sel)
        from ganstudio.core.operations import fill_selection

        fill_selection(doc, layer, color)
        states.append(layer.pixels.copy())
    assert panel.rows()[0] == "Open" and panel.rows()[-1] == "Fill"
    assert len(panel.rows()) == 7 and panel.current_row() == 6
    assert panel.list.item(6).font().bold()
    # click the row of the first fill: two fills and two selections undone
    QTest.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     _row_pos(panel, 2))
    assert np.array_equal(layer.pixels, states[1])
    assert panel.current_row() == 2 and len(doc.history) == 2
    assert panel.list.item(5).font().italic()             # to redo: greyed / italic
    assert window.qactions["edit_redo"].isEnabled()
    # forward again to the last state
    QTest.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     _row_pos(panel, 6))
    assert np.array_equal(layer.pixels, states[3])
    # the "Open" row: everything undone, the tab is clean again
    QTest.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     _row_pos(panel, 0))
    assert np.array_equal(layer.pixels, states[0]) and not doc.modified
    # Ctrl+Z / Ctrl+Shift+Z move the highlighted row too
    window.qactions["edit_redo"].trigger()
    assert panel.current_row() == 1
    # a new edit after undo drops the redo rows
    doc.set_selection(None)
    assert panel.rows() == ["Open", "Select", "Select"]
    assert not any(panel.list.item(i).font().italic() for i in range(panel.list.count()))


def test_history_panel_follows_the_active_tab(window, qtbot, make_doc) -> None:  # noqa: ANN001
    a = make_doc(20, 20)
    b = make_doc(20, 20)
    window.add_document(a)
    a.new_raster_layer("one")
    window.add_document(b)
    panel = window.history_panel
    assert panel.rows() == ["Open"]
    window.tabs.setCurrentIndex(0)
    assert panel.rows() == ["Open", "Add layer “one”"]


def test_history_go_to_and_labels_core() -> None:
    doc = Document(10, 10)
    doc.add_layer(RasterLayer.blank("a", 10, 10))
    doc.history.clear()
    for name in ("b", "c", "d"):
        doc.new_raster_layer(name)
    h = doc.history
    assert len(h.undo_labels) == 3 and h.redo_labels == []
    assert h.go_to(1) and len(doc.layers) == 2
    assert len(h.undo_labels) == 1 and len(h.redo_labels) == 2
    assert h.go_to(99) and len(doc.layers) == 4
    assert h.go_to(0) and len(doc.layers) == 1 and not h.truncated
    h.begin("stroke")
    assert not h.go_to(2)                                 # not while a step is recorded
    h.end()
    h.go_to(3)
    h.set_memory_limit(1)
    assert h.truncated and len(h.undo_labels) == 1
