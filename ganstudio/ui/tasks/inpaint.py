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
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QColorDialog, QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton,
                               QSpinBox, QToolButton, QVBoxLayout, QWidget)

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
    """Options of the Remove tool + the Remove button. The main choices come first (model,
    texture, grow, feather, Remove); the crop strategy and its sizes are under "Advanced", so the
    button stays in sight in a short dock."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        hint = QLabel("Paint over what to remove with the mask brush (M) or select it, then "
                      f"Remove ({SHORTCUT}).")
        hint.setWordWrap(True)
        lay.addWidget(hint)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        lay.addLayout(form)
        self.model = QComboBox()
        self.model.setObjectName("inpaint_model")
        self.model.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model.setMinimumContentsLength(12)
        self.get_model = QPushButton("Get this model…")
        self.get_model.setObjectName("inpaint_get_model")
        self.get_model.setToolTip("Open the model manager on this model: download it, or import a "
                                  "file you downloaded elsewhere")
        self.get_model.setVisible(False)
        self.missing = QLabel("")
        self.missing.setObjectName("inpaint_missing")
        self.missing.setWordWrap(True)
        self.missing.setVisible(False)
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
        self.dilate.setToolTip("Grow the painted mask before filling (0 = only the painted pixels)")
        self.feather.setToolTip("Soft edge inside the region, blending the fill into the photo")
        form.addRow("Model", self.model)
        form.addRow(self.missing)
        form.addRow(self.get_model)
        form.addRow("Texture", self.texture)
        form.addRow("Grow mask by", self.dilate)
        form.addRow("Feather (inside)", self.feather)
        row = QHBoxLayout()
        self.show_region = QPushButton("Show change")
        self.show_region.setObjectName("inpaint_show_region")
        self.show_region.setCheckable(True)
        self.show_region.setToolTip("Outline the exact pixels Remove may change (nothing outside)")
        self.button = QPushButton("Remove")
        self.button.setObjectName("inpaint_remove")
        self.button.setDefault(True)
        row.addWidget(self.show_region)
        row.addWidget(self.button, 1)
        lay.addLayout(row)
        self.advanced = QToolButton()
        self.advanced.setObjectName("inpaint_advanced")
        self.advanced.setText("Advanced")
        self.advanced.setCheckable(True)
        self.advanced.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced.setAutoRaise(True)
        lay.addWidget(self.advanced)
        self.advanced_box = QWidget()
        adv = QFormLayout(self.advanced_box)
        adv.setContentsMargins(0, 0, 0, 0)
        adv.addRow("Strategy", self.strategy)
        adv.addRow("Crop margin", self.margin)
        adv.addRow("Resize limit", self.resize_limit)
        self.advanced_box.setVisible(False)
        lay.addWidget(self.advanced_box)
        self.advanced.toggled.connect(self._toggle_advanced)
        lay.addStretch(1)
        self.model.currentIndexChanged.connect(lambda _i: self._model_changed())
        self.refresh_models()

    def _toggle_advanced(self, on: bool) -> None:
        self.advanced_box.setVisible(on)
        self.advanced.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)

    @staticmethod
    def _spin(lo: int, hi: int, value: int, suffix: str) -> QSpinBox:
        s = QSpinBox()
        s.setRange(lo, hi)
        s.setValue(value)
        s.setSuffix(suffix)
        return s

    def refresh_models(self) -> None:
        """The model list; models that are not installed stay selectable and offer a way to get
        them (the model manager opened on that model) instead of being a dead entry."""
        current = self.model.currentData()
        self.model.blockSignals(True)
        self.model.clear()
        self._installed: dict[str, bool] = {}
        for c in inpaint_task.model_choices():
            label = c["name"] if c["installed"] else f"{c['name']} (not installed)"
            self.model.addItem(label, c["id"])
            self._installed[c["id"]] = bool(c["installed"])
        idx = self.model.findData(current) if current else 0
        self.model.setCurrentIndex(max(0, idx))
        self.model.blockSignals(False)
        self._model_changed()

    def model_installed(self) -> bool:
        return self._installed.get(self.model.currentData(), True)

    def _model_changed(self) -> None:
        missing = not self.model_installed()
        name = self.model.currentText().replace(" (not installed)", "")
        self.missing.setText(f"{name} is not installed yet: download it or import its file." if missing
                             else "")
        self.missing.setVisible(missing)
        self.get_model.setVisible(missing)
        self.button.setToolTip(f"Get {name} first (the button above)" if missing else
                               "Remove what the mask covers")
        self.model_state_changed()

    def model_state_changed(self) -> None:
        """Hook: the UI enables the Remove button from the document and the model."""

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
        self.panel.get_model.clicked.connect(lambda _c=False: self.get_model())
        self.panel.model_state_changed = lambda: self.refresh(window.document)  # type: ignore[method-assign]
        self.panel.show_region.toggled.connect(lambda _on: self.preview_region())
        for spin in (self.panel.dilate, self.panel.feather):
            spin.valueChanged.connect(lambda _v: self.preview_region())
        window.tools.tool_changed.connect(self._tool_changed)
        self._build_mask_colour(window)

    # -- AI-mask colour: Preferences, View > AI mask colour, the swatch in the panel ----------------
    def _build_mask_colour(self, window: WindowAPI) -> None:
        from PySide6.QtGui import QActionGroup

        from ..preferences import MASK_COLOURS

        menu = window.menu("View/AI mask colour")
        menu.setObjectName("menu_ai_mask_colour")
        group = QActionGroup(menu)
        self.colour_actions = {}
        for name, hexcol in MASK_COLOURS.items():
            act = menu.addAction(name)
            act.setObjectName(f"ai_mask_colour_{name.lower()}")
            act.setCheckable(True)
            act.setData(hexcol)
            group.addAction(act)
            act.triggered.connect(lambda _c=False, h=hexcol: self.set_mask_colour(h))
            self.colour_actions[hexcol] = act
        menu.addSeparator()
        custom = menu.addAction("Custom…")
        custom.setObjectName("ai_mask_colour_custom")
        custom.triggered.connect(lambda _c=False: self.pick_mask_colour())
        nxt = menu.addAction("Next colour")
        nxt.setObjectName("ai_mask_colour_next")
        nxt.setShortcut("Shift+M")
        nxt.setStatusTip("Switch the AI mask tint (visible on red subjects too)")
        nxt.triggered.connect(lambda _c=False: self.cycle_mask_colour())
        self.panel.colour = QToolButton()
        self.panel.colour.setObjectName("inpaint_mask_colour")
        self.panel.colour.setToolTip("Colour of the painted AI mask (click: next colour, Shift+M; "
                                     "View > AI mask colour; Preferences)")
        self.panel.colour.clicked.connect(lambda _c=False: self.cycle_mask_colour())
        row = QHBoxLayout()
        row.addWidget(QLabel("Mask colour"))
        row.addWidget(self.panel.colour, 1)
        lay = self.panel.layout()
        lay.insertLayout(lay.indexOf(self.panel.advanced), row)
        self._show_mask_colour(window.preferences.ai_mask_color)

    def set_mask_colour(self, hexcol: str) -> None:
        assert self.window is not None
        self.window.set_ai_mask_color(hexcol)      # preferences (saved) + every canvas + us

    def mask_colour_changed(self, hexcol: str) -> None:
        self._show_mask_colour(hexcol)

    def cycle_mask_colour(self) -> None:
        from ..preferences import MASK_COLOURS

        assert self.window is not None
        values = list(MASK_COLOURS.values())
        cur = self.window.preferences.ai_mask_color.lower()
        nxt = values[(values.index(cur) + 1) % len(values)] if cur in values else values[0]
        self.set_mask_colour(nxt)
        self.window.status_message(f"AI mask colour: {_colour_name(nxt)}")

    def pick_mask_colour(self) -> None:
        from PySide6.QtGui import QColor

        assert self.window is not None
        col = QColorDialog.getColor(QColor(self.window.preferences.ai_mask_color), self.panel,
                                    "AI mask colour")
        if col.isValid():
            self.set_mask_colour(col.name())

    def _show_mask_colour(self, hexcol: str) -> None:
        from PySide6.QtGui import QColor, QIcon, QPixmap

        pm = QPixmap(16, 16)
        pm.fill(QColor(hexcol))
        self.panel.colour.setIcon(QIcon(pm))
        self.panel.colour.setText(_colour_name(hexcol))
        self.panel.colour.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for h, act in self.colour_actions.items():
            act.setChecked(h == hexcol.lower())

    def get_model(self) -> None:
        """Open the model manager on the chosen (missing) model; the list refreshes afterwards."""
        from .model_manager import open_dialog

        assert self.window is not None
        mid = self.panel.model.currentData()
        dlg = open_dialog(self.window, select=mid)
        dlg.models_changed.connect(self.panel.refresh_models, Qt.ConnectionType.UniqueConnection)
        return dlg

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
        self.panel.button.setEnabled(self.enabled(doc) and self.panel.model_installed())

    def show_options(self) -> None:
        self.panel.refresh_models()
        self.dock.show()
        self.dock.raise_()

    def _tool_changed(self, name: str) -> None:
        # Picking the mask brush brings the Remove panel up (its tab to the front): paint, then
        # one click.
        if name == "mask" and not self.dock.isVisible():
            self.panel.refresh_models()
            self.dock.show()
            self.dock.raise_()

    def configure(self, doc: Any) -> InpaintRequest | None:
        if not self.panel.model_installed():
            assert self.window is not None
            self.window.show_error(TITLE, f"{self.panel.model.currentText()}: get it first with "
                                          "“Get this model…” in the Inpaint panel, or pick another "
                                          "model.")
            return None
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


def _colour_name(hexcol: str) -> str:
    from ..preferences import MASK_COLOURS

    return next((n for n, h in MASK_COLOURS.items() if h == hexcol.lower()), hexcol.lower())


def _short(model_id: str) -> str:
    return {"builtin.inpaint-compact": "built-in", "lama.big-lama": "LaMa",
            "lama.big-lama-iopaint": "LaMa", "opencv.telea": "Telea", "opencv.ns": "NS"}.get(
        model_id, model_id)


__all__ = ["InpaintPanel", "InpaintUI", "layer_result", "start"]
