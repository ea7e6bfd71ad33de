"""Filters/AI > Remove object (OpenCV): inpaint the AI mask (or the selection) with cv2.inpaint,
as a job on a worker thread; the result lands as a new layer (one undo step)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox,
                               QWidget)

from ganstudio.core.geometry import Rect
from ganstudio.jobs.runner import add_result_layer, gather_sparse, sparse_task
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
    _region, boxes = _work_boxes(mask, request)
    # Only the boxes are composited here (GUI thread); the task assembles them on the worker.
    inputs, rect = gather_sparse(doc, boxes, mask=mask)
    def apply(d, result) -> None:  # noqa: ANN001
        add_result_layer(d, result, rect, request, name=result.name)

    return window.run_task(TITLE, sparse_task(opencv_inpaint.run), inputs, request, apply)


def _work_boxes(mask: np.ndarray, request: OpenCVInpaintRequest) -> tuple[Rect, list[Rect]]:
    """The region to gather and the boxes inside it that the task reads (each mask component
    plus its context). Found on an 8x smaller mask, so that a 50 MP mask costs milliseconds on
    the GUI thread."""
    h, w = mask.shape
    margin = opencv_inpaint.context_margin(request) + 8
    f = 8 if min(h, w) >= 64 else 1
    small = mask if f == 1 else cv2.resize(mask, (w // f, h // f), interpolation=cv2.INTER_AREA)
    boxes = []
    for x0, y0, x1, y1 in opencv_inpaint.regions((small > 0).astype(np.uint8), margin // f + 2):
        r = Rect.from_corners(x0 * f, y0 * f, x1 * f + 2 * f, y1 * f + 2 * f).intersect(Rect(0, 0, w, h))
        if not r.is_empty():
            boxes.append(r)
    region = Rect(0, 0, 0, 0)
    for b in boxes:
        region = region.union(b)
    return region, boxes


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


__all__ = ["install", "start"]
