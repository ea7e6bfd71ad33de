"""Filters/AI > Remove object (OpenCV): inpaint the AI mask (or the selection) with cv2.inpaint,
as a job on a worker thread; the result lands as a new layer (one undo step)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox,
                               QWidget)

from ganstudio.core.geometry import Rect
from ganstudio.jobs.runner import add_result_layer, gather_inputs
from ganstudio.tasks import opencv_inpaint
from ganstudio.tasks.opencv_inpaint import OpenCVInpaintRequest

if TYPE_CHECKING:
    from ganstudio.jobs import Job

    from ..main_window import MainWindow

TITLE = "Remove object (OpenCV)"


class RemoveObjectDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        form = QFormLayout(self)
        info = QLabel("Fills the painted AI mask (or the selection) from its surroundings. "
                      "The result is a new layer.")
        info.setWordWrap(True)
        form.addRow(info)
        self.method = QComboBox()
        self.method.addItem("Telea (fast marching)", "telea")
        self.method.addItem("Navier-Stokes", "ns")
        self.radius = QSpinBox()
        self.radius.setRange(1, 50)
        self.radius.setValue(5)
        self.radius.setSuffix(" px")
        self.dilate = QSpinBox()
        self.dilate.setRange(0, 50)
        self.dilate.setValue(2)
        self.dilate.setSuffix(" px")
        form.addRow("Method", self.method)
        form.addRow("Radius", self.radius)
        form.addRow("Grow mask by", self.dilate)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Remove")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def request(self) -> OpenCVInpaintRequest:
        return OpenCVInpaintRequest(method=self.method.currentData(), radius=self.radius.value(),
                                    dilate=self.dilate.value())


def start(window: MainWindow, request: OpenCVInpaintRequest) -> Job | None:
    """Gather the mask's bounding region (plus context) and run the task through window.run_task."""
    doc = window.document
    if doc is None:
        return None
    mask = window.task_mask()
    if mask is None or not mask.any():
        window.show_error(TITLE, "Paint over the object with the mask brush (M) or select it first.")
        return None
    from ganstudio.core.selection import mask_bounds

    bounds = mask_bounds(mask)
    margin = max(32, 4 * request.radius + request.dilate)
    region = (bounds.expanded(margin) if bounds is not None else doc.bounds).intersect(doc.bounds)
    inputs, rect = gather_inputs(doc, source="composite", region=region, mask=mask)

    def apply(d, result) -> None:  # noqa: ANN001
        add_result_layer(d, result, rect, request, name=result.name)

    return window.run_task(TITLE, opencv_inpaint.run, inputs, request, apply)


def _open(window: MainWindow) -> None:
    if window.document is None:
        return
    dlg = RemoveObjectDialog(window)
    if dlg.exec() == QDialog.DialogCode.Accepted:
        start(window, dlg.request())


def install(window: MainWindow) -> None:
    act = window.menu("Filters/AI").addAction(TITLE + "…")
    act.setObjectName("task_remove_opencv")
    act.setStatusTip("Remove what the AI mask covers (classical inpainting, no model needed)")
    act.triggered.connect(lambda _c=False: _open(window))

    def enable(doc) -> None:  # noqa: ANN001
        act.setEnabled(doc is not None)

    window.document_changed.connect(enable)
    enable(window.document)


__all__ = ["install", "start", "Rect"]
