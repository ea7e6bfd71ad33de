"""Image > Upscale… (the document grows; every layer resampled and the AI result added as a new
layer, all in one undo step) and Filters/AI > Enhance detail (selection or active layer:
super-resolve then resample back to the same size, as a new layer).

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
from ganstudio.jobs.runner import add_result_layer, gather_inputs
from ganstudio.tasks import super_resolution
from ganstudio.tasks.super_resolution import DEFAULT_MODEL, UpscaleRequest

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


def start_upscale(window, request: UpscaleRequest) -> Job | None:  # noqa: ANN001
    doc = window.document
    if doc is None:
        return None
    inputs, _rect = gather_inputs(doc, source="composite")
    return window.run_task(TITLE, super_resolution.run, inputs, request,
                           lambda d, result: apply_upscale(d, result, request))


def enhance_region(doc) -> Rect:  # noqa: ANN001
    """The selection's bounding box, else the active layer's bounds (document coordinates)."""
    if doc.selection is not None and doc.selection.any():
        ys, xs = np.nonzero(doc.selection)
        return Rect(int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
                    int(ys.max() - ys.min() + 1))
    la = doc.active_layer
    if la is not None and hasattr(la, "offset"):
        ox, oy = la.offset
        return Rect(int(ox), int(oy), int(la.width), int(la.height)).intersect(doc.bounds)
    return doc.bounds


def apply_enhance(doc, result, rect: Rect, request, selection) -> None:  # noqa: ANN001
    img = result.image
    if selection is not None and img.ndim == 3 and img.shape[2] == 4:
        sel = selection[rect.slices()]
        if img.dtype == np.uint16:
            sel = sel.astype(np.uint16) * 257
        img = img.copy()
        img[:, :, 3] = np.minimum(img[:, :, 3], sel)
        result.image = img
    add_result_layer(doc, result, rect, request, name=result.name)


def start_enhance(window, request: UpscaleRequest) -> Job | None:  # noqa: ANN001
    doc = window.document
    if doc is None:
        return None
    rect = enhance_region(doc)
    if rect.is_empty():
        window.show_error(ENHANCE_TITLE, "The active layer is outside the canvas.")
        return None
    selection = None
    if doc.selection is not None and doc.selection.any():
        selection = doc.selection.copy()
    inputs, rect = gather_inputs(doc, source="active", region=rect)
    return window.run_task(ENHANCE_TITLE, super_resolution.run, inputs, request,
                           lambda d, result: apply_enhance(d, result, rect, request, selection))


def _open(window, enhance: bool) -> None:  # noqa: ANN001
    doc = window.document
    if doc is None:
        window.show_error(ENHANCE_TITLE if enhance else TITLE, "Open an image first.")
        return
    if enhance:
        r = enhance_region(doc)
        w, h = r.w, r.h
    else:
        w, h = doc.width, doc.height
    dlg = UpscaleDialog(w, h, window, enhance=enhance, window=window)
    if dlg.exec() == QDialog.DialogCode.Accepted:
        req = dlg.request()
        (start_enhance if enhance else start_upscale)(window, req)


def open_model_manager(window) -> None:  # noqa: ANN001
    from .model_manager import open_dialog

    open_dialog(window)


def install(window) -> None:  # noqa: ANN001
    act = window.menu("Image").addAction("Upscale…")
    act.setObjectName("action_upscale")
    act.setStatusTip("Enlarge the image with a super-resolution model (Real-ESRGAN, offline)")
    act.triggered.connect(lambda: _open(window, enhance=False))
    act2 = window.menu("Filters/AI").addAction("Enhance detail…")
    act2.setObjectName("action_enhance_detail")
    act2.setStatusTip("Super-resolve the selection or active layer and resample it back (new layer)")
    act2.triggered.connect(lambda: _open(window, enhance=True))
    window._upscale_actions = (act, act2)
    sig = getattr(window, "document_changed", None)
    if sig is not None:
        def _enable(doc) -> None:  # noqa: ANN001
            for a in (act, act2):
                a.setEnabled(doc is not None)
        sig.connect(_enable)
        _enable(window.document)
