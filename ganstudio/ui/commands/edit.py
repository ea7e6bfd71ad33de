"""Edit menu: undo / redo, fill / clear, preferences.

A mixin of MainWindow (see ui/commands/__init__.py); the pixel work is core's."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDialog

from ganstudio.core.layers import LabelLayer

from .guard import guarded



class EditCommands:
    def undo(self) -> None:
        if self.document is not None:
            self.document.history.undo()

    def redo(self) -> None:
        if self.document is not None:
            self.document.history.redo()

    @guarded("Fill")
    def fill(self) -> None:
        from ganstudio.core.operations import fill_selection

        doc = self.document
        if doc is None or doc.active_layer is None:
            return
        layer = doc.active_layer
        value = int(self.tools.settings.label_id) if isinstance(layer, LabelLayer) \
            else tuple(self.tools.settings.color)
        fill_selection(doc, layer, value)

    @guarded("Clear")
    def clear(self) -> None:
        from ganstudio.core.operations import clear_selection

        doc = self.document
        if doc is not None and doc.active_layer is not None:
            clear_selection(doc, doc.active_layer)

    def preferences_dialog(self) -> None:
        from ..dialogs.preferences_dialog import PreferencesDialog

        dlg = PreferencesDialog(self.preferences, self)  # type: ignore[arg-type]
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        self.apply_preferences(dlg.values())

    def apply_preferences(self, prefs: Any) -> None:
        self.preferences = prefs
        prefs.save()
        prefs.apply_environment()
        for st in self._docs:  # type: ignore[attr-defined]
            st.doc.history.memory_limit = int(prefs.undo_memory_mb) << 20
            if st.autosaver is not None:
                st.autosaver.interval_s = float(prefs.autosave_interval_s or st.autosaver.interval_s)
                if prefs.autosave_interval_s <= 0:
                    st.autosaver.close()
                    st.autosaver = None
            elif prefs.autosave_interval_s > 0:
                from ganstudio.core.autosave import Autosaver

                st.autosaver = Autosaver(st.doc, interval_s=prefs.autosave_interval_s)
        self.status.set_device(prefs.device)  # type: ignore[attr-defined]
        self.set_ai_mask_color(prefs.ai_mask_color)  # type: ignore[attr-defined]
