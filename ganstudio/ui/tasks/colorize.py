"""Filters > Colourise…: give a gray photo (or the selection) colours; its luminance is kept.

Works on the active layer, or on the selection only (soft selections blend; pixels outside are
unchanged). The result lands as a new layer above (one undo step); hide it to compare.
No torch here: the task (ganstudio.tasks.colorize) imports it on the worker thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from ganstudio.core.geometry import Rect
from ganstudio.jobs.runner import gather_inputs
from ganstudio.tasks.colorize import BUILTIN_ID, ColorizeRequest, model_choices

from .base import TaskUI

if TYPE_CHECKING:
    from ganstudio.core.document import Document

TITLE = "Colourise"


class ColorizeDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, *, has_selection: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.setObjectName("colorize_dialog")
        form = QFormLayout(self)
        where = "the selection" if has_selection else "the active layer"
        info = QLabel(f"Predicts colours for {where} with a GAN colouriser and keeps the photo's "
                      "own luminance exactly. The result is a new layer.")
        info.setWordWrap(True)
        form.addRow(info)
        self.model = QComboBox()
        for m in model_choices():
            self.model.addItem(m["name"], m["id"])
        form.addRow("Model", self.model)
        self.saturation = QDoubleSpinBox()
        self.saturation.setRange(0.0, 4.0)
        self.saturation.setSingleStep(0.1)
        self.saturation.setValue(1.0)
        form.addRow("Saturation", self.saturation)
        self.work_size = QSpinBox()
        self.work_size.setRange(0, 2048)
        self.work_size.setSingleStep(64)
        self.work_size.setValue(384)
        self.work_size.setSpecialValueText("Full size")
        self.work_size.setSuffix(" px")
        self.work_size.setToolTip("Long side the network sees (colours are smooth; 384 is plenty)")
        form.addRow("Network size", self.work_size)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(TITLE)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def request(self) -> ColorizeRequest:
        return ColorizeRequest(model_id=self.model.currentData() or BUILTIN_ID,
                               work_size=int(self.work_size.value()),
                               saturation=float(self.saturation.value()))


def colorize_region(doc: Document) -> Rect:
    """The selection's bounding box, else the active layer's bounds (document coordinates)."""
    sel = getattr(doc, "selection", None)
    if sel is not None and np.any(sel):
        ys, xs = np.nonzero(sel)
        return Rect(int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
    la = doc.active_layer
    if la is not None and hasattr(la, "offset"):
        ox, oy = la.offset
        return Rect(int(ox), int(oy), int(la.width), int(la.height)).intersect(doc.bounds)
    return doc.bounds


class ColorizeUI(TaskUI):
    id = "colorize"
    task = "colorize"
    title = TITLE
    menu = "Filters"
    menu_text = "Colourise…"
    action_name = "task_colorize"
    status_tip = "Colourise a gray photo or the selection (keeps its luminance exactly)"
    retarget = "translate"

    #: tests set this to skip the dialog
    preset: ColorizeRequest | None = None

    def configure(self, doc: Document | None) -> ColorizeRequest | None:
        if self.preset is not None:
            return self.preset
        has_sel = doc is not None and getattr(doc, "selection", None) is not None and bool(np.any(doc.selection))
        dlg = ColorizeDialog(self.window if isinstance(self.window, QWidget) else None, has_selection=has_sel)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return None
        return dlg.request()

    def gather(self, window: Any, request: ColorizeRequest):
        doc = window.document
        rect = colorize_region(doc)
        if rect.is_empty():
            window.show_error(TITLE, "The active layer is outside the canvas.")
            return None
        sel = getattr(doc, "selection", None)
        mask = sel.copy() if sel is not None and np.any(sel) else None
        inputs, rect = gather_inputs(doc, source="active", region=rect, mask=mask)
        return inputs, request, window.placement(rect)


__all__ = ["ColorizeUI", "ColorizeDialog", "colorize_region"]
