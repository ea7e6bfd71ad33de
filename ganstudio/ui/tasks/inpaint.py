"""Filters/AI > Remove: inpaint the painted AI mask (or the selection) in one click.

* "Remove" (Shift+Backspace) runs ``ganstudio.tasks.inpaint`` with the options of the Inpaint
  panel (model: built-in / LaMa when installed / OpenCV Telea or NS; strategy crop / resize /
  original; margin, resize limit, grow, feather) as a job on a worker thread.
* The result lands as a new layer cropped to the changed area and placed over it; its alpha is the
  feathered composite weight, so hiding the layer shows "before" and showing it "after". Adding
  the layer and clearing the AI mask are one undo step. An empty mask shows a message instead.

torch is never imported here (the task imports it on the worker thread).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtWidgets import (QComboBox, QFormLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)

from ganstudio.core.geometry import Rect
from ganstudio.core.selection import mask_bounds
from ganstudio.jobs.runner import add_result_layer, gather_inputs
from ganstudio.tasks import inpaint as inpaint_task
from ganstudio.tasks.base import Result
from ganstudio.tasks.inpaint import InpaintRequest

from .base import TaskUI

if TYPE_CHECKING:
    from ganstudio.jobs import Job
    from ganstudio.jobs.placement import Placement

    from ..window_api import WindowAPI

TITLE = "Remove"
SHORTCUT = "Shift+Backspace"


class InpaintPanel(QWidget):
    """Options of the Remove tool (model, strategy, margins) + the Remove button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        hint = QLabel("Paint over what to remove with the mask brush (or select it), then Remove "
                      f"({SHORTCUT}).")
        hint.setWordWrap(True)
        lay.addWidget(hint)
        form = QFormLayout()
        lay.addLayout(form)
        self.model = QComboBox()
        self.model.setObjectName("inpaint_model")
        self.strategy = QComboBox()
        self.strategy.setObjectName("inpaint_strategy")
        for label, key in (("Crop around each region", "crop"), ("Resize (huge images)", "resize"),
                           ("Original size", "original")):
            self.strategy.addItem(label, key)
        self.margin = self._spin(0, 1024, 128, " px")
        self.resize_limit = self._spin(256, 8192, 1280, " px")
        self.dilate = self._spin(0, 64, 0, " px")      # 0: only the painted pixels change
        self.feather = self._spin(0, 64, 0, " px")     # a soft edge INSIDE the region
        self.texture = self._spin(0, 100, 90, " %")
        self.texture.setToolTip("Fine texture copied from the surroundings into the fill (0 = smooth)")
        form.addRow("Model", self.model)
        form.addRow("Strategy", self.strategy)
        form.addRow("Crop margin", self.margin)
        form.addRow("Resize limit", self.resize_limit)
        form.addRow("Grow mask by", self.dilate)
        form.addRow("Feather (inside)", self.feather)
        form.addRow("Texture", self.texture)
        self.show_region = QPushButton("Show what will change")
        self.show_region.setObjectName("inpaint_show_region")
        self.show_region.setCheckable(True)
        self.show_region.setToolTip("Outline the exact pixels Remove may change (nothing outside)")
        lay.addWidget(self.show_region)
        self.button = QPushButton("Remove")
        self.button.setObjectName("inpaint_remove")
        lay.addWidget(self.button)
        lay.addStretch(1)
        self.refresh_models()

    @staticmethod
    def _spin(lo: int, hi: int, value: int, suffix: str) -> QSpinBox:
        s = QSpinBox()
        s.setRange(lo, hi)
        s.setValue(value)
        s.setSuffix(suffix)
        return s

    def refresh_models(self) -> None:
        current = self.model.currentData()
        self.model.clear()
        for c in inpaint_task.model_choices():
            label = c["name"] if c["installed"] else f"{c['name']} (not installed)"
            self.model.addItem(label, c["id"])
            if not c["installed"]:
                item = self.model.model().item(self.model.count() - 1)  # type: ignore[attr-defined]
                if item is not None:
                    item.setEnabled(False)
        idx = self.model.findData(current) if current else 0
        self.model.setCurrentIndex(max(0, idx))

    def request(self) -> InpaintRequest:
        return InpaintRequest(model_id=self.model.currentData() or inpaint_task.BUILTIN_ID,
                              strategy=self.strategy.currentData(), crop_margin=self.margin.value(),
                              resize_limit=self.resize_limit.value(), dilate=self.dilate.value(),
                              feather=self.feather.value(), texture=self.texture.value() / 100.0)


def layer_result(result: Result, mask: np.ndarray, request: InpaintRequest) -> tuple[Result, Rect] | None:
    """The result cropped to the changed area, alpha = composite weight (x the image's alpha).

    Returns (result, rect relative to the task's region) or None when nothing changed."""
    box = result.info.get("bbox")
    if not box:
        return None
    x0, y0, x1, y1 = (int(v) for v in box)
    img = np.asarray(result.image)
    if img.ndim == 2:
        img = img[..., None]
    crop = img[y0:y1, x0:x1]
    maxv = 65535 if crop.dtype == np.uint16 else 255
    weight = inpaint_task.composite_weight(mask, request)[y0:y1, x0:x1]
    rgb = np.repeat(crop, 3, axis=2) if crop.shape[2] == 1 else crop[..., :3]
    alpha = weight * (crop[..., 3].astype(np.float32) / maxv if crop.shape[2] == 4 else 1.0)
    a = np.rint(alpha * maxv).astype(crop.dtype)[..., None]
    rgba = np.ascontiguousarray(np.concatenate([rgb, a], axis=2))
    info = dict(result.info)
    return Result(image=rgba, name=result.name, info=info), Rect(x0, y0, x1 - x0, y1 - y0)


class InpaintUI(TaskUI):
    """Filters/AI > Remove (+ the Inpaint dock): the only object-removal UI; its model list has
    the built-in network, LaMa when installed and OpenCV Telea / Navier-Stokes."""

    id = "inpaint"
    task = "inpaint"
    title = TITLE
    order = 50

    def build(self, window: WindowAPI) -> None:
        self.panel = InpaintPanel()
        self.dock = window.add_dock(self.panel, "Inpaint", name="inpaint")
        self.dock.hide()
        self.add_action("Filters/AI", TITLE, self.trigger, shortcut=SHORTCUT,
                        name="task_inpaint_remove",
                        tip="Remove what the AI mask (or the selection) covers and fill it plausibly")
        self.add_action("Filters/AI", "Inpaint options…", self.show_options, name="task_inpaint_options")
        self.panel.button.clicked.connect(lambda _c=False: self.trigger())
        self.panel.show_region.toggled.connect(lambda _on: self.preview_region())
        for spin in (self.panel.dilate, self.panel.feather):
            spin.valueChanged.connect(lambda _v: self.preview_region())
        window.tools.tool_changed.connect(self._tool_changed)

    def region_weight(self) -> np.ndarray | None:
        """The composite weight of the current mask and options: > 0 exactly where Remove may
        change pixels (the same function the task composites with)."""
        mask = self.window.task_mask()
        if mask is None or not np.any(np.asarray(mask) > 127):
            return None
        return inpaint_task.composite_weight(mask, self.panel.request())

    def preview_region(self) -> None:
        """Tint the pixels that will change (cyan, their weight as opacity) on the canvas."""
        if not self.panel.show_region.isChecked():
            self.window.clear_preview()
            return
        w = self.region_weight()
        if w is None:
            self.window.clear_preview()
            self.window.status_message("Paint a mask first: nothing would change")
            return
        bounds = mask_bounds((w > 0).astype(np.uint8) * 255)
        sub = w[bounds.slices()]
        tint = np.zeros(sub.shape + (4,), np.uint8)
        tint[..., 1], tint[..., 2] = 220, 255
        tint[..., 3] = np.round(40 + 150 * sub).astype(np.uint8) * (sub > 0)
        self.window.show_preview(bounds, tint)
        self.window.status_message(f"Remove will change {int((w > 0).sum()):,} px (nothing outside)")

    def refresh(self, doc: Any = None) -> None:
        super().refresh(doc)
        self.actions[1].setEnabled(True)           # options are always available
        self.panel.button.setEnabled(self.enabled(doc))

    def show_options(self) -> None:
        self.panel.refresh_models()
        self.dock.show()
        self.dock.raise_()

    def _tool_changed(self, name: str) -> None:
        # Picking the mask brush brings the Remove panel up: paint, then one click.
        if name == "mask" and not self.dock.isVisible():
            self.panel.refresh_models()
            self.dock.show()

    def configure(self, doc: Any) -> InpaintRequest:
        return self.panel.request()

    def job_title(self, request: InpaintRequest) -> str:
        return f"{TITLE} ({_short(request.model_id)})"

    def gather(self, window: WindowAPI, request: InpaintRequest):  # noqa: ANN201
        doc = window.document
        mask = window.task_mask()
        if mask is None or not np.any(np.asarray(mask) > 127):
            window.show_error(TITLE, "Paint over what to remove with the mask brush (M), or select "
                                     "it, then click Remove.")
            return None
        used_ai_mask = doc.ai_mask is not None and bool(np.any(doc.ai_mask))
        region = None
        if request.strategy == "crop":
            bounds = mask_bounds(mask)
            if bounds is not None:
                grow = request.crop_margin + request.dilate + request.feather
                region = bounds.expanded(grow).intersect(doc.bounds)
        inputs, rect = gather_inputs(doc, source="composite", region=region, mask=mask)
        return inputs, request, window.placement(rect, mask=inputs.mask,
                                                 extra={"used_ai_mask": used_ai_mask})

    def apply(self, doc: Any, result: Result, placement: Placement) -> None:
        request = placement.request
        if result.info.get("noop"):
            self.window.status_message(result.info.get("message", "Nothing to remove"))
            return
        placed = layer_result(result, placement.mask, request)
        if placed is None:
            self.window.status_message("Nothing changed")
            return
        res, sub = placed
        rect = placement.rect
        add_result_layer(doc, res, Rect(rect.x + sub.x, rect.y + sub.y, sub.w, sub.h), request,
                         name=f"Removed ({_short(request.model_id)})")
        if placement.extra.get("used_ai_mask") and doc.ai_mask is not None:
            doc.set_ai_mask(None, label="Clear AI mask")

    def applied(self, job: Any, resolution: Any) -> None:
        result_info = job.result.info if job.result is not None else {}
        note = f"; {resolution.reason}" if resolution.retargeted else ""
        if not result_info.get("noop"):
            self.window.status_message(f"{TITLE}: done in {result_info.get('seconds', 0):.1f}s "
                                       f"(hide the new layer to compare{note})")


def start(window: WindowAPI, request: InpaintRequest) -> Job | None:
    """Run Remove with ``request`` (no panel)."""
    return window.task_ui("inpaint").submit(request)


def _short(model_id: str) -> str:
    return {"builtin.inpaint-compact": "built-in", "lama.big-lama": "LaMa",
            "lama.big-lama-iopaint": "LaMa", "opencv.telea": "Telea", "opencv.ns": "NS"}.get(
        model_id, model_id)


__all__ = ["InpaintPanel", "InpaintUI", "layer_result", "start"]
