"""Editable keyboard shortcuts (Help > Keyboard shortcuts): edit with the key editor, conflicts
shown and refused, saved in the settings, applied when the window starts, reset to defaults."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from ganstudio.ui.dialogs.shortcuts_dialog import ShortcutsDialog, saved_shortcuts


def _dialog(window):  # noqa: ANN001, ANN202
    return ShortcutsDialog(list(window.qactions.values()), window)


def _ok(dlg):  # noqa: ANN001, ANN202
    return dlg.buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_menu_opens_the_dialog_with_every_action(window, qtbot) -> None:  # noqa: ANN001
    seen = {}

    def check() -> None:
        dlg = QApplication.activeModalWidget()
        seen["dlg"] = isinstance(dlg, ShortcutsDialog)
        if isinstance(dlg, ShortcutsDialog):
            names = {a.objectName() for a in dlg.actions_list}
            seen["names"] = names
            dlg.reject()

    QTimer.singleShot(0, check)
    window.qactions["help_shortcuts"].trigger()
    assert seen.get("dlg") is True
    # standard actions, tools and task UI actions alike
    assert {"edit_undo", "tool_fill", "tool_wand", "task_inpaint_remove"} <= seen["names"]


def test_edit_by_keyboard_conflict_refused_then_saved_and_applied_at_start(window, qtbot) -> None:  # noqa: ANN001
    dlg = _dialog(window)
    qtbot.addWidget(dlg)
    dlg.show()
    ed = dlg.editor("tool_brush")
    assert ed.keySequence().toString() == "B"
    # press E in the editor: the eraser's key -> conflict, shown and OK refused
    ed.setFocus()
    QTest.keyClick(ed, Qt.Key.Key_E)
    assert dlg.keys[dlg.row_of("tool_brush")] == ["E"]
    assert "E is used by" in dlg.message.text() and "Brush" in dlg.message.text() \
        and "Eraser" in dlg.message.text()
    assert not _ok(dlg).isEnabled()
    dlg.accept()                                            # refused: nothing applied
    assert window.qactions["tool_brush"].shortcut().toString() == "B"
    # another key: no conflict, OK applies and saves
    ed.clear()
    QTest.keyClick(ed, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.AltModifier)
    assert dlg.keys[dlg.row_of("tool_brush")] == ["Ctrl+Alt+K"]
    assert _ok(dlg).isEnabled()
    QTest.mouseClick(_ok(dlg), Qt.MouseButton.LeftButton)
    assert window.qactions["tool_brush"].shortcut() == QKeySequence("Ctrl+Alt+K")
    assert window.qactions["tool_brush"].toolTip().startswith("Brush (Ctrl+Alt+K)")
    assert saved_shortcuts() == {"tool_brush": ["Ctrl+Alt+K"]}
    # the new key works on the canvas
    window.tools.select("eraser")
    from ganstudio.core.document import Document
    from ganstudio.core.layers import RasterLayer

    doc = Document(20, 20)
    doc.add_layer(RasterLayer.blank("a", 20, 20))
    canvas = window.add_document(doc)
    canvas.setFocus()
    window.activateWindow()
    QTest.keyClick(canvas, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.AltModifier)
    assert window.tools.current.name == "brush"
    # a window started later applies the saved shortcut
    from ganstudio.ui.main_window import MainWindow

    other = MainWindow(load_task_uis=False)
    try:
        assert other.qactions["tool_brush"].shortcut() == QKeySequence("Ctrl+Alt+K")
        assert other.qactions["tool_eraser"].shortcut() == QKeySequence("E")
    finally:
        other.ask_before_close = False
        other.close()
        other.deleteLater()


def test_remove_reset_and_reset_all(window, qtbot) -> None:  # noqa: ANN001
    dlg = _dialog(window)
    qtbot.addWidget(dlg)
    dlg.set_keys("edit_undo", [])                          # remove Ctrl+Z
    dlg.set_keys("tool_fill", ["F7"])
    dlg.apply()
    assert window.qactions["edit_undo"].shortcut().isEmpty()
    assert saved_shortcuts() == {"edit_undo": [], "tool_fill": ["F7"]}
    # Reset (the selected row) and Reset all, through the buttons
    dlg2 = _dialog(window)
    qtbot.addWidget(dlg2)
    dlg2.show()
    assert dlg2.editor("tool_fill").keySequence() == QKeySequence("F7")
    assert dlg2.table.item(dlg2.row_of("tool_fill"), 2).text() == "G"     # default column
    dlg2.table.selectRow(dlg2.row_of("tool_fill"))
    QTest.mouseClick(dlg2.reset_button, Qt.MouseButton.LeftButton)
    assert dlg2.keys[dlg2.row_of("tool_fill")] == ["G"]
    assert dlg2.keys[dlg2.row_of("edit_undo")] == []
    QTest.mouseClick(dlg2.reset_all_button, Qt.MouseButton.LeftButton)
    assert dlg2.keys[dlg2.row_of("edit_undo")] == ["Ctrl+Z"]
    dlg2.accept()
    assert window.qactions["edit_undo"].shortcut() == QKeySequence("Ctrl+Z")
    assert window.qactions["tool_fill"].shortcut() == QKeySequence("G")
    assert saved_shortcuts() == {}
    # alternates are kept: redo has Ctrl+Shift+Z and Ctrl+Y
    assert [s.toString() for s in window.qactions["edit_redo"].shortcuts()] == ["Ctrl+Shift+Z", "Ctrl+Y"]


def test_existing_conflicts_are_shown_but_do_not_block_other_edits(window, qtbot) -> None:  # noqa: ANN001
    window.qactions["tool_picker"].setShortcut(QKeySequence("W"))   # clashes with the wand
    dlg = _dialog(window)
    qtbot.addWidget(dlg)
    assert "W is used by" in dlg.message.text()
    assert _ok(dlg).isEnabled()                          # not introduced here
    dlg.set_keys("tool_fill", ["F8"])
    assert _ok(dlg).isEnabled()
    dlg.set_keys("tool_fill", ["W"])                     # joining the clash blocks
    assert not _ok(dlg).isEnabled()
    # Take over: the fill bucket keeps W, the picker and the wand lose it
    dlg.table.selectRow(dlg.row_of("tool_fill"))
    QTest.mouseClick(dlg.take_button, Qt.MouseButton.LeftButton)
    assert dlg.keys[dlg.row_of("tool_wand")] == [] and dlg.keys[dlg.row_of("tool_picker")] == []
    assert _ok(dlg).isEnabled() and "W is used by" not in dlg.message.text()
    dlg.search.setText("wand")
    visible = [dlg.table.item(r, 0).text() for r in range(dlg.table.rowCount())
               if not dlg.table.isRowHidden(r)]
    assert "Magic wand" in visible and "Brush" not in visible
