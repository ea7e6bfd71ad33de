"""Filters > AI > Faces…: the Face panel (issue 9).

Find faces (works without any download: detection + FFHQ alignment), pick one (thumbnails) or all,
move sliders (smile, age, head turn, ...) with a live, throttled preview drawn over the canvas
(generator at 256 px; the encoder ran once per face when the faces were found), set a target age
(SAM) or make an age strip, then Apply: one undo step, one masked layer per face, provenance with
the model ids, the latent file and the slider values. Selecting such a layer later re-opens its
sliders where they were, and Apply then replaces that layer (non-destructive); View > Compare shows
before / after on it like any AI layer.

Runs as a task session (ganstudio.tasks.face_edit.FaceEditSession): "prepare" once per image,
"update" per slider move; the job queue keeps only the newest queued update.
No torch here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ganstudio.core.geometry import Rect
from ganstudio.jobs import Job
from ganstudio.tasks.base import TaskInputs
from ganstudio.tasks.face_edit import DEFAULT_AGE_MODEL, DEFAULT_MODEL, FaceEditRequest, slider_specs

from ..labeled_slider import LabeledSlider
from .base import TaskUI

if TYPE_CHECKING:
    from ganstudio.core.document import Document

log = logging.getLogger(__name__)
TITLE = "Faces"
SCALE = 10                  # slider ticks per unit
PREVIEW_DELAY_MS = 150      # throttle: the newest slider value after this pause is previewed
REFINE_STEPS = 150


def model_status(store: Any = None) -> dict[str, Any]:
    """Which face models are installed, their size and licence (for the panel's message)."""
    try:
        from ganstudio.models.store import default_store

        store = store or default_store()
    except Exception:  # noqa: BLE001
        return {"installed": {}, "missing": [DEFAULT_MODEL, DEFAULT_AGE_MODEL], "size": 0, "text": ""}
    installed: dict[str, bool] = {}
    size = 0
    lines = []
    for mid in (DEFAULT_MODEL, DEFAULT_AGE_MODEL):
        try:
            st = store.status(mid)
            e = st.entry
            ok = bool(st.installed)
            nbytes = int(getattr(e, "size", 0) or sum(getattr(f, "size", 0) or 0 for f in e.files))
            lic = e.licence + (" — NON-COMMERCIAL use only" if e.non_commercial else "")
            lines.append(f"{e.name}: {nbytes / 1e9:.2f} GB, {lic}")
        except Exception:  # noqa: BLE001 - not in the catalog (yet)
            ok, nbytes = False, 0
            lines.append(f"{mid}: not in the model catalog")
        installed[mid] = ok
        if not ok:
            size += nbytes
    missing = [m for m, ok in installed.items() if not ok]
    return {"installed": installed, "missing": missing, "size": size, "text": "\n".join(lines)}


def _qimage(rgb: np.ndarray) -> QImage:
    a = np.ascontiguousarray(rgb[..., :3])
    h, w = a.shape[:2]
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class FacePanel(QWidget):
    """The dock's contents; FaceUI drives it."""

    def __init__(self, ui: FaceUI, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ui = ui
        self.setObjectName("face_panel")
        lay = QVBoxLayout(self)
        self.models_label = QLabel()
        self.models_label.setWordWrap(True)
        self.models_label.setObjectName("face_models_label")
        lay.addWidget(self.models_label)
        self.download = QPushButton("Download face models…")
        self.download.setObjectName("face_download")
        self.download.clicked.connect(ui.download_models)
        lay.addWidget(self.download)

        row = QHBoxLayout()
        self.find = QPushButton("Find faces")
        self.find.setObjectName("face_find")
        self.find.clicked.connect(lambda: ui.find_faces())
        row.addWidget(self.find)
        self.all_faces = QCheckBox("All faces")
        self.all_faces.setChecked(True)
        self.all_faces.toggled.connect(lambda _on: ui.selection_changed())
        row.addWidget(self.all_faces)
        lay.addLayout(row)
        self.refine = QCheckBox("Refine identity when finding faces (PTI; slow on CPU)")
        self.refine.setObjectName("face_refine")
        self.refine.setToolTip("Tunes a copy of the generator on each face so that edits keep the "
                               f"person's likeness ({REFINE_STEPS} steps per face).")
        lay.addWidget(self.refine)
        self.faces = QListWidget()
        self.faces.setObjectName("face_list")
        self.faces.setViewMode(QListWidget.ViewMode.IconMode)
        self.faces.setIconSize(QSize(72, 72))
        self.faces.setMaximumHeight(112)
        self.faces.setMovement(QListWidget.Movement.Static)
        self.faces.currentRowChanged.connect(lambda _r: ui.face_clicked())
        lay.addWidget(self.faces)
        self.status = QLabel("Open a photo and press Find faces.")
        self.status.setWordWrap(True)
        self.status.setObjectName("face_status")
        lay.addWidget(self.status)

        box = QGroupBox("Sliders")
        form = QFormLayout(box)
        self.sliders: dict[str, LabeledSlider] = {}
        for name, label, lo, hi in slider_specs():
            s = LabeledSlider(int(lo * SCALE), int(hi * SCALE))
            s.setObjectName(f"face_slider_{name}")
            s.valueChanged.connect(lambda _v: ui.sliders_moved())
            self.sliders[name] = s
            form.addRow(label, s)
        lay.addWidget(box)

        age_box = QGroupBox("Age (SAM)")
        af = QFormLayout(age_box)
        self.use_age = QCheckBox("Show at target age")
        self.use_age.setObjectName("face_use_age")
        self.use_age.toggled.connect(lambda _on: ui.sliders_moved())
        af.addRow(self.use_age)
        self.age = LabeledSlider(0, 100)
        self.age.setObjectName("face_age")
        self.age.slider.setValue(50)
        self.age.valueChanged.connect(lambda _v: ui.sliders_moved() if self.use_age.isChecked() else None)
        af.addRow("Target age", self.age)
        self.apparent = QLabel("Apparent age: –")
        self.apparent.setObjectName("face_apparent_age")
        af.addRow(self.apparent)
        srow = QHBoxLayout()
        self.strip_ages = QLineEdit("10,30,50,70")
        self.strip_ages.setObjectName("face_strip_ages")
        srow.addWidget(self.strip_ages)
        self.strip = QPushButton("Age strip")
        self.strip.setObjectName("face_strip")
        self.strip.clicked.connect(lambda: ui.apply(strip=True))
        srow.addWidget(self.strip)
        af.addRow(srow)
        lay.addWidget(age_box)

        self.color_match = QCheckBox("Match colours")
        self.color_match.toggled.connect(lambda _on: ui.sliders_moved())
        lay.addWidget(self.color_match)
        brow = QHBoxLayout()
        self.reset = QPushButton("Reset")
        self.reset.setObjectName("face_reset")
        self.reset.clicked.connect(ui.reset)
        self.apply_btn = QPushButton("Apply")
        self.apply_btn.setObjectName("face_apply")
        self.apply_btn.clicked.connect(lambda: ui.apply())
        brow.addWidget(self.reset)
        brow.addWidget(self.apply_btn)
        lay.addLayout(brow)
        lay.addStretch(1)

    # values ------------------------------------------------------------------------------------
    def edits(self) -> tuple[tuple[str, float], ...]:
        return tuple((n, s.value() / SCALE) for n, s in self.sliders.items() if s.value() != 0)

    def set_edits(self, edits: dict[str, float]) -> None:
        for n, s in self.sliders.items():
            s.blockSignals(True)
            s.slider.blockSignals(True)
            s.slider.setValue(int(round(float(edits.get(n, 0.0)) * SCALE)))
            s.box.setValue(s.slider.value())
            s.slider.blockSignals(False)
            s.blockSignals(False)

    def set_age(self, age: float | None) -> None:
        for w in (self.use_age, self.age, self.age.slider):
            w.blockSignals(True)
        self.use_age.setChecked(age is not None)
        self.age.slider.setValue(int(round(age if age is not None else 50)))
        self.age.box.setValue(self.age.slider.value())
        for w in (self.use_age, self.age, self.age.slider):
            w.blockSignals(False)


class FaceUI(TaskUI):
    id = "face"
    task = "face_edit"
    title = TITLE
    menu = "Filters/AI"
    menu_text = "Faces…"
    action_name = "face_panel"
    status_tip = "Find faces and change them with sliders (smile, age, head turn...)"
    order = 60

    def __init__(self) -> None:
        super().__init__()
        self.panel: FacePanel | None = None
        self.dock: Any = None
        self.faces: list[dict[str, Any]] = []
        self.doc: Document | None = None
        self.session_key: str | None = None
        self.prepared = False
        self.prepare_job: Job | None = None
        self.edit_layer: Any = None            # a face layer being re-edited (Apply replaces it)
        self.applied_layers: dict[int, Any] = {}   # face index -> layer this session added
        self.per_face: dict[int, dict[str, Any]] = {}
        self.last_preview: Any = None
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.preview)
        self._watched: Any = None
        self._landing = False
        self.models: dict[str, Any] = {}

    # -- install ----------------------------------------------------------------------------------
    def build(self, window: Any) -> None:
        super().build(window)
        self.panel = FacePanel(self)
        self.dock = window.add_dock(self.panel, TITLE, "right", name="faces")
        self.dock.hide()
        self.refresh_models()
        window.document_changed.connect(self._document_changed)

    def trigger(self) -> None:  # type: ignore[override]
        """The menu action: show the panel (and find faces when none are known yet)."""
        assert self.window is not None and self.dock is not None
        self.dock.show()
        self.dock.raise_()
        doc = self.window.document
        if doc is not None and (self.doc is not doc or not self.faces) and self.prepare_job is None:
            self.find_faces()

    def refresh_models(self) -> dict[str, Any]:
        st = model_status()
        self.models = st
        if self.panel is not None:
            if st["missing"]:
                self.panel.models_label.setText(
                    "Editing and ageing need the face models (e4e + StyleGAN2 FFHQ, SAM), "
                    f"{st['size'] / 1e9:.2f} GB to download:\n{st['text']}\n"
                    "Finding and aligning faces works without them.")
                self.panel.download.setText(f"Download face models ({st['size'] / 1e9:.2f} GB)…")
                self.panel.download.show()
            else:
                self.panel.models_label.setText(st["text"])
                self.panel.download.hide()
        return st

    @property
    def models_ready(self) -> bool:
        return not self.models.get("installed") or self.models["installed"].get(DEFAULT_MODEL, False)

    def download_models(self) -> Any:
        """Open the model manager on the first missing face model and start its download."""
        assert self.window is not None
        from .model_manager import open_dialog

        st = self.refresh_models()
        dlg = open_dialog(self.window)
        for mid in st["missing"]:
            try:
                dlg.select(mid)
                dlg.start_download(mid)
                break
            except Exception as exc:  # noqa: BLE001 - not in the catalog
                log.warning("cannot download %s: %s", mid, exc)
        return dlg

    # -- documents ----------------------------------------------------------------------------------
    def _document_changed(self, doc: Any) -> None:
        if doc is not self.doc:
            self._close_session()
            self.faces = []
            self.doc = None
            if self.panel is not None:
                self.panel.faces.clear()
                self.panel.status.setText("Press Find faces." if doc is not None else
                                          "Open a photo and press Find faces.")
        if self._watched is not None:
            try:
                self._watched.events.active_layer.disconnect(self._active_layer_changed)
            except (TypeError, RuntimeError, ValueError):
                pass
            self._watched = None
        if doc is not None:
            doc.events.active_layer.connect(self._active_layer_changed)
            self._watched = doc

    def _active_layer_changed(self, layer: Any) -> None:
        if self._landing or layer is None or layer is self.edit_layer:
            return
        mine = [i for i, la in self.applied_layers.items() if la is layer]
        if mine and self.prepared and self.panel is not None:
            # a layer this session made: its sliders come back, the session is still warm
            prov = layer.provenance or {}
            self.panel.set_edits(prov.get("edits") or {})
            self.panel.set_age(prov.get("age"))
            if mine[0] < self.panel.faces.count():
                self.panel.faces.blockSignals(True)
                self.panel.faces.setCurrentRow(mine[0])
                self.panel.faces.blockSignals(False)
                self.panel.all_faces.setChecked(False)
            return
        prov = getattr(layer, "provenance", None) or {}
        if prov.get("task") == "face_edit" and isinstance(prov.get("face"), dict) and \
                self.window is not None and self.window.document is not None:
            self.reopen(layer)

    def _close_session(self) -> None:
        if self.session_key is not None and self.window is not None:
            try:
                self.window.job_queue.close_session(self.session_key)
            except Exception:  # noqa: BLE001
                pass
        self.session_key = None
        self.prepared = False
        self.edit_layer = None
        self.applied_layers = {}
        if self.window is not None:
            self.window.clear_preview()

    # -- jobs ---------------------------------------------------------------------------------------
    def _job(self, kind: str, request: FaceEditRequest, inputs: TaskInputs | None = None,
             mode: str = "") -> Job | None:
        assert self.window is not None
        doc = self.window.document
        if doc is None:
            return None
        placement = self.window.placement(doc.bounds, extra={"mode": mode or kind})
        placement.ui = self.id
        placement.retarget = "refuse"
        title = {"prepare": "Find faces", "update": "Face preview" if request.preview else "Face edit"}[kind]
        job = Job(title, inputs=inputs or TaskInputs(), request=request, task=self.task,
                  placement=placement, kind=kind, session=self.session_key)
        return self.window.run_job(job)

    def find_faces(self, restore_layer: Any = None) -> Job | None:
        """Prepare a session on the document's composite (detect, align, invert when the models
        are installed). ``restore_layer``: a face layer to re-edit (its own pixels left out)."""
        assert self.window is not None
        doc = self.window.document
        if doc is None:
            self.window.show_error(TITLE, "Open an image first.")
            return None
        from ganstudio.core.compositing import composite_layers

        self._close_session()
        self.refresh_models()
        self.doc = doc
        self.session_key = f"face:{doc.uid}:{id(self)}"
        layers = [la for la in doc.layers if la is not restore_layer]
        image = composite_layers(layers, doc.bounds)
        prov = getattr(restore_layer, "provenance", None) or {}
        refine = REFINE_STEPS if (self.panel is not None and self.panel.refine.isChecked()
                                  and self.models_ready) else 0
        req = FaceEditRequest(encode=self.models_ready, refine=refine,
                              restore=dict(prov["face"]) if restore_layer is not None else None)
        self.edit_layer = restore_layer
        if self.panel is not None:
            self.panel.status.setText("Finding faces…")
        self.prepare_job = self._job("prepare", req, TaskInputs(image=image))
        return self.prepare_job

    def reopen(self, layer: Any) -> Job | None:
        """Re-edit a face layer: its sliders come back where they were."""
        prov = layer.provenance
        if self.panel is not None:
            self.panel.set_edits(prov.get("edits") or {})
            self.panel.set_age(prov.get("age"))
            if self.dock is not None:
                self.dock.show()
        return self.find_faces(restore_layer=layer)

    def request(self, *, preview: bool, strip: bool = False) -> FaceEditRequest:
        assert self.panel is not None
        p = self.panel
        faces: tuple[int, ...] = ()
        if not p.all_faces.isChecked() and p.faces.currentRow() >= 0 and self.edit_layer is None:
            faces = (p.faces.currentRow(),)
        ages: tuple[float, ...] = ()
        if strip:
            try:
                ages = tuple(float(a) for a in p.strip_ages.text().split(",") if a.strip())
            except ValueError:
                ages = ()
        return FaceEditRequest(edits=p.edits(), faces=faces, preview=preview,
                               age=float(p.age.value()) if p.use_age.isChecked() and not strip else None,
                               strip=ages, color_match=p.color_match.isChecked())

    def sliders_moved(self) -> None:
        """Throttle: preview the newest values once the sliders rest for PREVIEW_DELAY_MS."""
        if self.prepared and self.window is not None and self.window.document is self.doc:
            self._timer.start()

    def preview(self) -> Job | None:
        if not self.prepared or self.session_key is None:
            return None
        if not self.models_ready:
            if self.panel is not None:
                self.panel.status.setText("Install the face models to preview edits.")
            return None
        return self._job("update", self.request(preview=True), mode="preview")

    def apply(self, doc: Any = None, result: Any = None, placement: Any = None, *,  # type: ignore[override]
              strip: bool = False) -> Any:
        """Without arguments (the Apply / Age strip buttons): submit the full-resolution update.
        With (doc, result, placement): the window landing a finished job (main thread)."""
        if doc is None:
            if not self.prepared or self.session_key is None:
                if self.window is not None:
                    self.window.show_error(TITLE, "Find faces first.")
                return None
            if not self.models_ready:
                self.window.show_error(TITLE, "The face models are not installed: use "
                                              "Download face models.")
                return None
            req = self.request(preview=False, strip=strip)
            if strip and not req.strip:
                self.window.show_error(TITLE, "Type the ages of the strip, e.g. 10,30,50,70.")
                return None
            self._timer.stop()
            return self._job("update", req, mode="strip" if strip else "apply")
        mode = placement.extra.get("mode", "")
        if mode == "prepare":
            self._prepared(result)
        elif mode == "preview":
            self._show_preview(result)
        else:
            self._land(doc, result, placement, strip=(mode == "strip"))
        return None

    def applied(self, job: Job, resolution: Any) -> None:
        mode = job.placement.extra.get("mode", "") if job.placement is not None else ""
        if mode not in ("preview", "prepare"):
            super().applied(job, resolution)
        if job is self.prepare_job:
            self.prepare_job = None

    def failed(self, job: Job) -> None:
        if job is self.prepare_job:
            self.prepare_job = None
        mode = job.placement.extra.get("mode", "") if job.placement is not None else ""
        if self.panel is not None:
            self.panel.status.setText(job.error or "Failed.")
        if mode == "prepare":
            self.faces = []
            self.panel.faces.clear() if self.panel is not None else None
        super().failed(job)

    # -- results ------------------------------------------------------------------------------------
    def _prepared(self, result: Any) -> None:
        self.prepared = True
        info = result.info if result is not None else {}
        self.faces = list(info.get("faces", []))
        thumbs = (result.artefacts or {}).get("thumbs", []) if result is not None else []
        p = self.panel
        if p is None:
            return
        p.faces.blockSignals(True)
        p.faces.clear()
        for i, f in enumerate(self.faces):
            item = QListWidgetItem(f"Face {i + 1}")
            if i < len(thumbs):
                item.setIcon(QIcon(QPixmap.fromImage(_qimage(thumbs[i]))))
            age = f.get("apparent_age")
            item.setToolTip(f"Face {i + 1}" + (f", apparent age {age:.0f}" if age is not None else ""))
            p.faces.addItem(item)
        p.faces.blockSignals(False)
        if self.faces:
            p.faces.setCurrentRow(0)
        n = len(self.faces)
        what = "re-editing this face layer" if self.edit_layer is not None else \
            f"{n} face{'s' if n != 1 else ''} found"
        p.status.setText(what + ("" if self.models_ready else
                                 " (alignment only: install the face models to edit)"))
        self._update_apparent()

    def _update_apparent(self) -> None:
        if self.panel is None:
            return
        row = max(self.panel.faces.currentRow(), 0)
        age = self.faces[row].get("apparent_age") if row < len(self.faces) else None
        self.panel.apparent.setText("Apparent age: –" if age is None else
                                    f"Apparent age: {age:.0f} (CC0 age estimator)")

    def face_clicked(self) -> None:
        if self.panel is None:
            return
        self._update_apparent()
        row = self.panel.faces.currentRow()
        if row >= 0 and self.panel.faces.count() > 1:
            self.panel.all_faces.blockSignals(True)
            self.panel.all_faces.setChecked(False)
            self.panel.all_faces.blockSignals(False)
        self.sliders_moved()

    def selection_changed(self) -> None:
        self.sliders_moved()

    def reset(self) -> None:
        if self.panel is None:
            return
        self.panel.set_edits({})
        self.panel.set_age(None)
        self._timer.stop()
        if self.window is not None:
            self.window.clear_preview()

    def _union_rgba(self, layers: list[Any]) -> tuple[Rect, np.ndarray] | None:
        if not layers:
            return None
        rect = Rect(*layers[0].rect)
        for la in layers[1:]:
            rect = rect.union(Rect(*la.rect))
        out = np.zeros((rect.h, rect.w, 4), np.uint8)
        for la in layers:
            x, y, w, h = la.rect
            img = la.image
            if img.dtype == np.uint16:
                img = (img >> 8).astype(np.uint8)
            sub = out[y - rect.y:y - rect.y + h, x - rect.x:x - rect.x + w]
            m = la.mask > 0
            sub[..., :3][m] = img[..., :3][m]
            sub[..., 3][m] = la.mask[m]
        return rect, out

    def _show_preview(self, result: Any) -> None:
        if self.window is None or result is None:
            return
        u = self._union_rgba(result.layers)
        self.last_preview = u
        if u is not None:
            self.window.show_preview(u[0], u[1])

    def _land(self, doc: Any, result: Any, placement: Any, *, strip: bool) -> None:
        """Apply / Age strip: one undo step (the window opened it), one masked layer per face;
        re-editing replaces that face's layer."""
        from ganstudio.jobs.runner import add_result_layers

        if self.window is not None:
            self.window.clear_preview()
        layers = list(result.layers)
        if not layers:
            return
        req = placement.request
        replace = {}
        if not strip:
            for k, la in enumerate(layers):
                idx = la.info.get("face", {}).get("index", k)
                old = self.edit_layer if self.edit_layer is not None else self.applied_layers.get(idx)
                if old is not None and old in doc.layers:
                    replace[k] = old
        added = []
        self._landing = True
        try:
            self._add_layers(doc, result, placement, layers, replace, req, added, strip)
        finally:
            self._landing = False

    def _add_layers(self, doc: Any, result: Any, placement: Any, layers: list, replace: dict,
                    req: Any, added: list, strip: bool) -> None:
        from ganstudio.jobs.runner import add_result_layers

        for k, la in enumerate(layers):
            from ganstudio.tasks.base import Result as _R

            one = _R(None, name=la.name, info=dict(result.info), layers=[la])
            old = replace.get(k)
            index = doc.layers.index(old) if old is not None else None
            where = doc.position_of(old) if old is not None else None   # (group, index) in the tree
            if old is not None:
                doc.remove_layer(old)
            new = add_result_layers(doc, one, placement.rect, req, index=index)
            if where is not None and new and doc.position_of(new[0]) != where:
                doc.move_node(new[0], *where)          # the edited face stays in its group
            added.extend(new)
            idx = la.info.get("face", {}).get("index", k)
            if not strip:
                if self.edit_layer is not None:
                    self.edit_layer = new[0] if new else None
                else:
                    self.applied_layers[idx] = new[0] if new else None
        if strip and added:
            first_age = layers[0].info.get("age")
            for lay, la in zip(added, layers):
                if la.info.get("age") != first_age:
                    doc.set_layer_attr(lay, "visible", False)
        if added:
            doc.active_layer = added[0] if strip else added[-1]


__all__ = ["FacePanel", "FaceUI", "model_status"]
