"""Every menu action: enabled / disabled sensibly, and triggering it does something (dialogs are
answered by patched static functions / exec so nothing blocks)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QColorDialog, QDialog, QFileDialog, QInputDialog, QMessageBox)

from ganstudio.core.layers import RasterLayer


@pytest.fixture
def no_dialogs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opened: list[str] = []

    def exec_(self) -> int:  # noqa: ANN001
        opened.append(type(self).__name__)
        return QDialog.DialogCode.Rejected.value

    monkeypatch.setattr(QDialog, "exec", exec_)
    monkeypatch.setattr(QMessageBox, "exec", exec_)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([], ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: "")
    monkeypatch.setattr(QInputDialog, "getDouble", lambda *a, **k: (3.0, True))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    monkeypatch.setattr(QMessageBox, "about", lambda *a, **k: opened.append("about"))
    monkeypatch.setattr(QColorDialog, "getColor", lambda *a, **k: QColor())
    return opened


def menu_actions(window) -> list:  # noqa: ANN001
    out = []

    def walk(menu) -> None:  # noqa: ANN001
        for a in menu.actions():
            if a.menu() is not None:
                walk(a.menu())
            elif not a.isSeparator():
                out.append(a)
    for m in window.menus.values():
        walk(m)
    return out


def test_enabled_states_follow_the_document(window, make_doc) -> None:  # noqa: ANN001
    a = window.qactions
    for name in ("file_save", "file_export", "edit_undo", "image_crop", "layer_new", "select_all",
                 "view_fit"):
        assert not a[name].isEnabled(), name
    for name in ("file_new", "file_open", "file_quit", "help_about", "edit_preferences"):
        assert a[name].isEnabled(), name
    doc = make_doc()
    window.add_document(doc)
    assert a["file_save"].isEnabled() and a["layer_new"].isEnabled()
    assert not a["image_crop"].isEnabled() and not a["select_none"].isEnabled()
    assert not a["layer_delete"].isEnabled()          # never delete the last layer
    assert not a["layer_merge_down"].isEnabled() and not a["image_flatten"].isEnabled()
    assert not a["compare_toggle"].isEnabled()        # not an AI layer
    a["select_all"].trigger()
    assert a["image_crop"].isEnabled() and a["select_none"].isEnabled()
    assert a["edit_undo"].isEnabled() and a["edit_undo"].text() == "&Undo Select all"
    a["layer_new"].trigger()
    assert a["layer_merge_down"].isEnabled() and a["image_flatten"].isEnabled()
    assert a["layer_delete"].isEnabled() and not a["layer_raise"].isEnabled()
    a["edit_undo"].trigger()
    assert a["edit_redo"].isEnabled() and a["edit_redo"].text().startswith("&Redo Add layer")


def test_each_action_does_what_it_says(window, make_doc, no_dialogs) -> None:  # noqa: ANN001
    a = window.qactions
    doc = make_doc(120, 90)
    window.add_document(doc)
    a["select_all"].trigger()
    assert doc.selection is not None
    a["select_none"].trigger()
    assert doc.selection is None
    a["select_invert"].trigger()
    assert doc.selection is not None and doc.selection.all()
    sel = np.zeros((90, 120), np.uint8)
    sel[10:50, 20:80] = 255
    doc.set_selection(sel)
    a["select_grow"].trigger()
    assert doc.selection[8, 20] == 255
    a["select_shrink"].trigger()
    a["select_feather"].trigger()
    assert 0 < doc.selection[10, 50] < 255
    a["select_to_ai_mask"].trigger()
    assert doc.ai_mask is not None
    a["select_clear_ai_mask"].trigger()
    assert doc.ai_mask is None
    window.tools.settings.color = (0, 255, 0, 255)
    a["edit_fill"].trigger()
    assert doc.active_layer.pixels[30, 50, 1] == 255 and doc.active_layer.pixels[30, 50, 0] < 50
    a["edit_clear"].trigger()
    assert doc.active_layer.pixels[30, 50, 3] < 255
    a["image_crop"].trigger()
    assert doc.size != (120, 90) and doc.width < 80 and doc.height < 60
    a["edit_undo"].trigger()
    assert doc.size == (120, 90)
    a["layer_new"].trigger()
    a["layer_add_mask"].trigger()
    assert doc.active_layer.mask is not None
    a["layer_apply_mask"].trigger()
    assert doc.active_layer.mask is None
    a["layer_add_mask"].trigger()
    a["layer_remove_mask"].trigger()
    assert doc.active_layer.mask is None
    doc.set_selection(sel)
    a["layer_mask_from_selection"].trigger()
    assert doc.active_layer.mask is not None and doc.active_layer.mask[30, 50] == 255
    a["layer_raise"].trigger()
    a["layer_lower"].trigger()
    a["layer_new_label"].trigger()
    assert hasattr(doc.active_layer, "labels") and window.tools.current.name == "label"
    a["edit_fill"].trigger()                         # fills the selection with the label id
    assert doc.active_layer.labels[30, 50] == window.tools.settings.label_id
    n = len(doc.layers)
    a["image_flatten"].trigger()
    assert len(doc.layers) == 1 < n
    a["file_save_as"].trigger()                       # dialog answered with "" = cancelled
    assert doc.path is None


def test_every_action_can_be_triggered(window, make_doc, no_dialogs) -> None:  # noqa: ANN001
    doc = make_doc(100, 80)
    window.add_document(doc)
    doc.add_layer(RasterLayer.blank("ai", 100, 80, fill=(1, 2, 3, 255),
                                    provenance={"task": "x", "model": "y"}))
    doc.set_selection(np.full((80, 100), 255, np.uint8))
    # ours (other task UIs' actions are tested by their authors: they may start downloads)
    ours = set(window.qactions.values())
    actions = [x for x in menu_actions(window)
               if (x in ours or x.objectName() == "task_inpaint_options"
                   or x.parent() is window.recent_menu)
               and x.objectName() not in ("file_quit", "file_close")]
    assert len(actions) > 45
    triggered = 0
    for act in actions:
        if act.isEnabled():
            act.trigger()
            triggered += 1
        if window.document is None:          # an action closed it: reopen for the rest
            window.add_document(make_doc(100, 80))
    assert triggered > 40
    assert {"NewDocumentDialog", "ExportDialog", "PreferencesDialog", "CanvasSizeDialog",
            "ImageSizeDialog", "LayerPropertiesDialog", "ShortcutsDialog", "about"} <= set(no_dialogs)
    assert window.docks["inpaint"].isVisible()      # Filters/AI > Inpaint options…
    assert window.last_error is None, window.last_error
    for _ in range(len(window.documents)):     # Paste as new image added one
        window.qactions["file_close"].trigger()
    assert window.document is None and not window.qactions["file_save"].isEnabled()
