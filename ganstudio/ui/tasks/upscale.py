"""Image > Upscale… (the document grows; every layer resampled and the AI result added as a new
layer, all in one undo step) and Filters/AI > Enhance detail (selection or active layer:
super-resolve then resample back to the same size, as a new layer). Two TaskUIs of the
super_resolution task.

No torch here: the task (ganstudio.tasks.super_resolution) imports it on the worker thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from ganstudio.core.geometry import Rect
from ganstudio.core.selection import mask_bounds
from ganstudio.jobs.runner import add_result_layer, gather_inputs
from ganstudio.tasks.base import Result
from ganstudio.tasks.super_resolution import DEFAULT_MODEL, UpscaleRequest

from .base import TaskUI

if TYPE_CHECKING:
    from ganstudio.jobs import Job

TITLE = "Upscale"
ENHANCE_TITLE = "Enhance detail"


def sr_models() -> list[tuple[str, str, bool, bool]]:
    """(id, label, usable now, non-commercial) of the super-resolution models, offline first."""
    from ganstudio.models.store import default_store

    out = []
    for st in default_store().list(task="super_resolution"):
        e = st.entry
        usable = st.installed or st.available_offline
        label = e.name + ("" if usable else "  (download in the model manager)")
        if e.non_commercial:
            label += "  [non-commercial]"
        out.append((e.id, label, usable, e.non_commercial))
    out.sort(key=lambda r: (not r[2], r[0] != DEFAULT_MODEL))
    return out


class UpscaleDialog(QDialog):
    def __init__(self, width: int, height: int, parent: QWidget | None = None, *,
                 enhance: bool = False, window: Any = None) -> None:
        super().__init__(parent)
        self._w, self._h, self._enhance, self._window = width, height, enhance, window
        self.setWindowTitle(ENHANCE_TITLE if enhance else TITLE + "…")
        form = QFormLayout(self)
        text = ("Super-resolves the selection (or the active layer) and resamples it back to the "
                "same size: sharper detail, as a new layer." if enhance else
                "Enlarges the whole image: every layer is resampled and the AI result is added as "
                "a new layer (one undo step). Compare before/after with View > Compare.")
        info = QLabel(text)
        info.setWordWrap(True)
        form.addRow(info)
        self.model = QComboBox()
        for mid, label, usable, _nc in sr_models():
            self.model.addItem(label, mid)
            if not usable:
                item = self.model.model().item(self.model.count() - 1)
                item.setEnabled(False)
        form.addRow("Model", self.model)
        self.scale = QComboBox()
        for s in ("2", "3", "4", "Custom"):
            self.scale.addItem(f"x{s}" if s != "Custom" else s, s)
        self.scale.setCurrentIndex(2)
        self.custom = QDoubleSpinBox()
        self.custom.setRange(1.0, 16.0)
        self.custom.setDecimals(2)
        self.custom.setValue(4.0)
        self.custom.setEnabled(False)
        self.size_label = QLabel()
        if not enhance:
            form.addRow("Scale", self.scale)
            form.addRow("Custom scale", self.custom)
            form.addRow("New size", self.size_label)
        self.tile = QSpinBox()
        self.tile.setRange(0, 2048)
        self.tile.setSingleStep(64)
        self.tile.setSpecialValueText("Automatic")
        prefs = getattr(window, "preferences", None)
        self.tile.setValue(int(getattr(prefs, "tile_size", 0) or 0))
        self.tile.setSuffix(" px")
        form.addRow("Tile size", self.tile)
        self.alpha_model = QCheckBox("Upscale transparency with the model (slower)")
        form.addRow(self.alpha_model)
        self.licence = QLabel()
        self.licence.setWordWrap(True)
        form.addRow(self.licence)
        if window is not None:
            manage = QPushButton("Model manager…")
            manage.clicked.connect(lambda: open_model_manager(window))
            form.addRow(manage)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(
            "Enhance" if enhance else "Upscale")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.scale.currentIndexChanged.connect(self._update)
        self.custom.valueChanged.connect(self._update)
        self.model.currentIndexChanged.connect(self._update)
        self._update()

    def scale_value(self) -> float:
        s = self.scale.currentData()
        return float(self.custom.value()) if s == "Custom" else float(s)

    def _update(self) -> None:
        self.custom.setEnabled(self.scale.currentData() == "Custom")
        s = self.scale_value()
        self.size_label.setText(f"{round(self._w * s)} × {round(self._h * s)} px")
        mid = self.model.currentData()
        try:
            from ganstudio.models.store import default_store

            e = default_store().entry(mid)
            txt = f"Licence: {e.licence}"
            if e.non_commercial:
                txt = f"<b style='color:#e05050'>NON-COMMERCIAL use only</b> ({e.licence})"
            self.licence.setText(txt)
        except (KeyError, TypeError):
            self.licence.setText("")

    def request(self) -> UpscaleRequest:
        return UpscaleRequest(model_id=self.model.currentData() or DEFAULT_MODEL,
                              scale=1.0 if self._enhance else self.scale_value(),
                              mode="enhance" if self._enhance else "upscale",
                              tile_size=self.tile.value(),
                              alpha="model" if self.alpha_model.isChecked() else "resize")


def apply_upscale(doc, result, request) -> None:  # noqa: ANN001
    """Grow the document to the result's size (every layer resampled) and add the result as a new
    layer: one undo step."""
    from ganstudio.core.operations import resample_image

    h, w = result.image.shape[:2]
    with doc.history.transaction(f"Upscale x{w / doc.width:g}"):
        resample_image(doc, w, h, "lanczos")
        add_result_layer(doc, result, Rect(0, 0, w, h), request, name=result.name)


def enhance_region(doc) -> Rect:  # noqa: ANN001
    """The selection's bounding box, else the active layer's bounds (document coordinates)."""
    sel = mask_bounds(doc.selection)
    if sel is not None:
        return sel
    la = doc.active_layer
    if la is not None and hasattr(la, "offset"):
        return la.bounds.intersect(doc.bounds)
    return doc.bounds


def clip_to_selection(result: Result, selection: np.ndarray | None) -> Result:
    """The result with its alpha limited by the selection (over the same rect)."""
    img = result.image
    if selection is None or img is None or img.ndim != 3 or img.shape[2] != 4:
        return result
    sel = selection.astype(np.uint16) * 257 if img.dtype == np.uint16 else selection
    img = img.copy()
    img[:, :, 3] = np.minimum(img[:, :, 3], sel)
    result.image = img
    return result


class UpscaleUI(TaskUI):
    """Image > Upscale…: the whole canvas grows (refused if the image is cropped or resized while
    the job runs: the result would not match the canvas any more)."""

    id = "upscale"
    task = "super_resolution"
    title = TITLE
    menu = "Image"
    menu_text = "Upscale…"
    action_name = "action_upscale"
    status_tip = "Enlarge the image with a super-resolution model (Real-ESRGAN, offline)"
    retarget = "refuse"
    enhance = False

    def configure(self, doc) -> UpscaleRequest | None:  # noqa: ANN001
        r = enhance_region(doc) if self.enhance else doc.bounds
        dlg = UpscaleDialog(r.w, r.h, self.window, enhance=self.enhance, window=self.window)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return None
        return dlg.request()

    def gather(self, window, request):  # noqa: ANN001, ANN201
        inputs, rect = gather_inputs(window.document, source="composite")
        return inputs, request, window.placement(rect)

    def apply(self, doc, result, placement) -> None:  # noqa: ANN001
        apply_upscale(doc, result, placement.request)


class EnhanceUI(UpscaleUI):
    """Filters/AI > Enhance detail…: the selection (or active layer) super-resolved and resampled
    back, as a new layer over it (follows a crop made while it runs)."""

    id = "enhance_detail"
    title = ENHANCE_TITLE
    menu = "Filters/AI"
    menu_text = "Enhance detail…"
    action_name = "action_enhance_detail"
    status_tip = "Super-resolve the selection or active layer and resample it back (new layer)"
    retarget = "translate"
    enhance = True

    def gather(self, window, request):  # noqa: ANN001, ANN201
        doc = window.document
        rect = enhance_region(doc)
        if rect.is_empty():
            window.show_error(ENHANCE_TITLE, "The active layer is outside the canvas.")
            return None
        inputs, rect = gather_inputs(doc, source="active", region=rect)
        sel = None
        if doc.selection is not None and doc.selection.any():
            sel = np.ascontiguousarray(doc.selection[rect.slices()])
        return inputs, request, window.placement(rect, mask=sel)

    def apply(self, doc, result, placement) -> None:  # noqa: ANN001
        clip_to_selection(result, placement.mask)
        add_result_layer(doc, result, placement.rect, placement.request, name=result.name)


def start_upscale(window, request: UpscaleRequest) -> Job | None:  # noqa: ANN001
    """Run Image > Upscale with ``request`` (no dialog)."""
    return window.task_ui("upscale").submit(request)


def start_enhance(window, request: UpscaleRequest) -> Job | None:  # noqa: ANN001
    """Run Filters/AI > Enhance detail with ``request`` (no dialog)."""
    return window.task_ui("enhance_detail").submit(request)


def open_model_manager(window) -> None:  # noqa: ANN001
    from .model_manager import open_dialog

    open_dialog(window)
