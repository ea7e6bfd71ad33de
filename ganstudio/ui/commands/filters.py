"""Image > Adjustments (Levels, Curves, Hue / Saturation, Brightness / Contrast) and Filters >
Blur / Sharpen: open the live-preview dialogs (ui/dialogs/adjust_dialog.py); OK applies the core
operation (core.adjustments / core.filters: one undo step).

A mixin of MainWindow (see ui/commands/__init__.py)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from .guard import guarded


class FilterCommands:
    adjust_dialog: Any = None   # the open adjustment / filter dialog (window-modal), if any

    def _open_adjust(self, key: str) -> Any:
        from ganstudio.core.adjustments import _check_layer

        from ..dialogs.adjust_dialog import DIALOGS

        doc = self.document
        if doc is None:
            return None
        _check_layer(doc, doc.active_layer)      # label / locked / no layer: a clear message
        self._cancel_tool()                      # an unapplied crop / transform goes first
        if self.adjust_dialog is not None:       # one at a time (it holds the layer's original)
            self.adjust_dialog.reject()
        dlg = DIALOGS[key](self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        self.adjust_dialog = dlg
        dlg.finished.connect(lambda _r, d=dlg: setattr(self, "adjust_dialog", None)
                             if self.adjust_dialog is d else None)
        dlg.open()
        return dlg

    @guarded("Levels")
    def levels_dialog(self) -> Any:
        return self._open_adjust("levels")

    @guarded("Curves")
    def curves_dialog(self) -> Any:
        return self._open_adjust("curves")

    @guarded("Hue / Saturation")
    def hue_saturation_dialog(self) -> Any:
        return self._open_adjust("hue_saturation")

    @guarded("Brightness / Contrast")
    def brightness_contrast_dialog(self) -> Any:
        return self._open_adjust("brightness_contrast")

    @guarded("Gaussian blur")
    def gaussian_blur_dialog(self) -> Any:
        return self._open_adjust("gaussian_blur")

    @guarded("Unsharp mask")
    def unsharp_mask_dialog(self) -> Any:
        return self._open_adjust("unsharp_mask")
