"""Scene panel (Filters > AI > Scene painting): paint a label map, Generate a photographic scene.

* Palette picker (landscape / ADE20K / COCO-Stuff / Cityscapes), class swatches with names and a
  search box; choosing a class selects the label brush with it.
* Tools for labels: the label brush (L, existing), the fill bucket (G, ``ui/tools/fill.py``: on a
  label layer it fills the 4-connected region of one class at the click with the current class;
  on a raster layer with the brush colour) and ``label_eraser`` (Shift+E: paints "unlabelled",
  registered here with ``window.tools.register``).
* The label layer: created on demand (palette of the picker), its opacity over the photo, show /
  hide. A painted layer switched to another palette is converted through the landscape palette's
  mapping when there is one (else a new label layer is added).
* Generate: model choice (licence shown plainly; non-commercial in red), seed, variations,
  "only where painted" (mix with the photo: the result is masked to the painted pixels with a
  feathered edge) or a whole new scene; progress + Cancel; the result lands as new layer(s) in one
  undo step (the label layer is hidden in the same step). Before / after: View > Compare.
* File > New from template > Blank landscape: a new document with sky over ground.

No torch here: the task (ganstudio.tasks.scene) imports it on the worker thread.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ganstudio.core import labels as L
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import LabelLayer
from ganstudio.tasks.base import TaskInputs
from ganstudio.tasks.scene import DEFAULT_MODEL, SceneRequest

from ..tools.paint import PaintTool
from .base import TaskUI

if TYPE_CHECKING:
    from ganstudio.core.document import Document

log = logging.getLogger(__name__)
TITLE = "Scene painting"
PALETTES = [("landscape", "Landscape"), ("ade20k", "ADE20K (150)"), ("coco", "COCO-Stuff (182)"),
            ("cityscapes", "Cityscapes (35)")]


# --- label tools ----------------------------------------------------------------------------------
def label_layer_of(doc: Document | None) -> LabelLayer | None:
    """The active layer if it is a label layer, else the topmost label layer."""
    if doc is None:
        return None
    if isinstance(doc.active_layer, LabelLayer):
        return doc.active_layer
    for la in reversed(doc.layers):
        if isinstance(la, LabelLayer):
            return la
    return None


def flood_fill_labels(doc: Document, layer: LabelLayer, x: int, y: int, value: int) -> Rect | None:
    """Fill the 4-connected region of the class under (x, y) (layer coordinates) with ``value``
    (one undo step; the selection limits it). Returns the changed rect, or None when nothing
    changed. The fill bucket's core (``core.fill.bucket_fill``) does the work."""
    from ganstudio.core.fill import bucket_fill

    lab = layer.labels
    h, w = lab.shape
    if not (0 <= x < w and 0 <= y < h) or int(lab[y, x]) == int(value):
        return None
    ox, oy = layer.offset
    return bucket_fill(doc, x + ox + 0.5, y + oy + 0.5, layer=layer, label_id=int(value),
                       contiguous=True, label="Fill labels")


class LabelEraserTool(PaintTool):
    """The label brush painting "unlabelled" (the layer's transparent id)."""

    def __init__(self) -> None:
        super().__init__("label")
        self.name = "label_eraser"
        self.title = "Label eraser"
        self.shortcut = "Shift+E"
        self.icon = "eraser"
        self.tooltip = "Erase labels (paint 'unlabelled') on a label layer"

    def _resolve(self, canvas: Any):  # noqa: ANN202
        res = super()._resolve(canvas)
        if res is None:
            return None
        layer, target, _ = res
        un = getattr(layer, "transparent_id", 0)
        return layer, target, int(0 if un is None else un)


# --- the panel ------------------------------------------------------------------------------------
def _swatch(color: tuple[int, int, int]) -> QIcon:
    pm = QPixmap(16, 16)
    pm.fill(QColor(*color))
    return QIcon(pm)


def scene_models() -> list[dict[str, Any]]:
    """The scene models of the catalog, the default first: id, name, licence, non_commercial."""
    out = []
    try:
        from ganstudio.models.catalog import default_catalog

        for e in default_catalog():
            if e.task == "scene":
                out.append({"id": e.id, "name": e.name, "licence": e.licence,
                            "non_commercial": bool(e.non_commercial), "builtin": e.builtin is not None,
                            "labels": dict(e.input or {}).get("labels", "")})
    except Exception:  # noqa: BLE001 - a broken catalog must not break the panel
        log.exception("scene models")
    if not any(m["id"] == DEFAULT_MODEL for m in out):
        out.append({"id": DEFAULT_MODEL, "name": "Built-in scene painter", "licence": "BSD-3-Clause",
                    "non_commercial": False, "builtin": True, "labels": "builtin_scene"})
    out.sort(key=lambda m: (m["id"] != DEFAULT_MODEL, not m["builtin"], m["id"]))   # the default first
    return out


class ScenePanel(QWidget):
    def __init__(self, ui: SceneUI) -> None:
        super().__init__()
        self.ui = ui
        self.setObjectName("scene_panel")
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.palette = QComboBox()
        for key, text in PALETTES:
            self.palette.addItem(text, key)
        self.palette.setObjectName("scene_palette")
        form.addRow("Palette", self.palette)
        lay.addLayout(form)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search classes…")
        self.search.setClearButtonEnabled(True)
        self.search.setObjectName("scene_search")
        lay.addWidget(self.search)
        self.classes = QListWidget()
        self.classes.setObjectName("scene_classes")
        self.classes.setMinimumHeight(160)
        lay.addWidget(self.classes, 1)
        tools = QHBoxLayout()
        self.btn_brush = QPushButton("Brush (L)")
        self.btn_fill = QPushButton("Fill (G)")
        self.btn_erase = QPushButton("Eraser (Shift+E)")
        for b in (self.btn_brush, self.btn_fill, self.btn_erase):
            tools.addWidget(b)
        lay.addLayout(tools)
        lf = QFormLayout()
        row = QHBoxLayout()
        self.add_layer = QPushButton("Add label layer")
        self.add_layer.setObjectName("scene_add_layer")
        self.show_labels = QCheckBox("Show")
        self.show_labels.setChecked(True)
        row.addWidget(self.add_layer)
        row.addWidget(self.show_labels)
        lf.addRow("Labels", row)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.setObjectName("scene_opacity")
        lf.addRow("Label opacity", self.opacity)
        self.model = QComboBox()
        self.model.setObjectName("scene_model")
        for m in scene_models():
            self.model.addItem(m["name"], m)
        lf.addRow("Model", self.model)
        self.licence = QLabel()
        self.licence.setWordWrap(True)
        self.licence.setObjectName("scene_licence")
        lf.addRow(self.licence)
        seed_row = QHBoxLayout()
        self.seed = QSpinBox()
        self.seed.setRange(0, 2_000_000_000)
        self.seed.setObjectName("scene_seed")
        self.new_seed = QPushButton("New seed")
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.new_seed)
        lf.addRow("Seed", seed_row)
        self.variations = QSpinBox()
        self.variations.setRange(1, 4)
        self.variations.setObjectName("scene_variations")
        lf.addRow("Variations", self.variations)
        self.only_painted = QCheckBox("Only where painted (mix with the photo)")
        self.only_painted.setObjectName("scene_only_painted")
        lf.addRow(self.only_painted)
        self.feather = QDoubleSpinBox()
        self.feather.setRange(0, 200)
        self.feather.setValue(8)
        self.feather.setSuffix(" px")
        lf.addRow("Feather", self.feather)
        lay.addLayout(lf)
        gen = QHBoxLayout()
        self.generate = QPushButton("Generate")
        self.generate.setObjectName("scene_generate")
        self.generate.setDefault(True)
        self.cancel = QPushButton("Cancel")
        self.cancel.setObjectName("scene_cancel")
        self.cancel.setEnabled(False)
        gen.addWidget(self.generate, 1)
        gen.addWidget(self.cancel)
        lay.addLayout(gen)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setObjectName("scene_progress")
        lay.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

        self.palette.currentIndexChanged.connect(lambda _i: ui.palette_changed())
        self.search.textChanged.connect(lambda _t: self.fill_classes())
        self.classes.currentItemChanged.connect(lambda item, _prev: ui.class_chosen(item))
        self.classes.itemClicked.connect(ui.class_chosen)
        self.btn_brush.clicked.connect(lambda: ui.select_tool("label"))
        self.btn_fill.clicked.connect(lambda: ui.select_tool("fill"))
        self.btn_erase.clicked.connect(lambda: ui.select_tool("label_eraser"))
        self.add_layer.clicked.connect(lambda: ui.ensure_label_layer(create=True))
        self.opacity.valueChanged.connect(lambda v: ui.set_label_opacity(v / 100.0))
        self.show_labels.toggled.connect(ui.set_labels_visible)
        self.model.currentIndexChanged.connect(lambda _i: self.update_licence())
        self.new_seed.clicked.connect(lambda: self.seed.setValue(random.randrange(0, 2_000_000_000)))
        self.generate.clicked.connect(lambda: ui.trigger())
        self.cancel.clicked.connect(ui.cancel_job)
        self.fill_classes()
        self.update_licence()

    @property
    def palette_name(self) -> str:
        return str(self.palette.currentData())

    def label_set(self) -> L.LabelSet:
        return L.load_palette(self.palette_name)

    def fill_classes(self) -> None:
        ls = self.label_set()
        keep = self.ui.current_label_id()
        self.classes.blockSignals(True)
        self.classes.clear()
        for c in ls.search(self.search.text()):
            if c.unused:
                continue
            item = QListWidgetItem(_swatch(c.color), f"{c.name}  ({c.id})")
            item.setData(Qt.ItemDataRole.UserRole, c.id)
            item.setToolTip(c.full_name or c.name)
            self.classes.addItem(item)
            if c.id == keep:
                self.classes.setCurrentItem(item)
        self.classes.blockSignals(False)

    def update_licence(self) -> None:
        m = self.model.currentData() or {}
        lic = m.get("licence", "")
        if m.get("non_commercial"):
            self.licence.setText(f"<span style='color:#ff6b6b'><b>Licence: {lic} — non-commercial use "
                                 "only</b></span> (download it in Models first)")
        else:
            self.licence.setText(f"Licence: {lic}" + (" — built in, works offline" if m.get("builtin") else ""))

    def request(self, doc: Document) -> SceneRequest:
        m = self.model.currentData() or {}
        return SceneRequest(model_id=m.get("id", DEFAULT_MODEL), palette=self.palette_name,
                            width=doc.width, height=doc.height, seed=int(self.seed.value()),
                            variations=int(self.variations.value()), feather=float(self.feather.value()))


class SceneUI(TaskUI):
    id = "scene"
    task = "scene"
    title = "Generate scene"
    menu = "Filters/AI"
    menu_text = "Generate scene"
    action_name = "task_scene_generate"
    shortcut = "Ctrl+Alt+G"
    status_tip = "Turn the painted label layer into a photographic scene (Scene panel)"
    retarget = "refuse"

    #: tests set this to skip reading the panel
    preset: SceneRequest | None = None

    def __init__(self) -> None:
        super().__init__()
        self.panel: ScenePanel | None = None
        self.dock = None
        self.job = None

    # -- install ----------------------------------------------------------------------------------
    def build(self, window: Any) -> None:
        super().build(window)
        self.panel = ScenePanel(self)
        self.dock = window.add_dock(self.panel, "Scene", "right", name="scene")
        act = self.add_action("Filters/AI", "Scene panel", self.show_panel, name="task_scene_panel")
        act.setEnabled(True)
        self.add_action("File/New from template", "Blank landscape", self.new_blank_landscape,
                        name="scene_new_landscape")
        for tool in (LabelEraserTool(),):      # the fill bucket (G) is a standard tool
            if tool.name not in window.tools.tools:
                window.tools.register(tool)
        bridge = getattr(window, "job_bridge", None)
        if bridge is not None:
            bridge.progress_changed.connect(self._progress)
            bridge.state_changed.connect(self._state)
        window.document_changed.connect(lambda _d: self.sync_from_layer())

    def enabled(self, doc: Document | None) -> bool:
        return True

    def refresh(self, doc: Document | None = None) -> None:
        for act in self.actions:
            act.setEnabled(True)

    def show_panel(self) -> None:
        if self.dock is not None:
            self.dock.show()
            self.dock.raise_()

    # -- labels -----------------------------------------------------------------------------------
    def current_label_id(self) -> int:
        return int(getattr(self.window.tools.settings, "label_id", 1)) if self.window is not None else 1

    def select_tool(self, name: str) -> None:
        assert self.window is not None
        self.ensure_label_layer(create=self.window.document is not None)
        if name in self.window.tools.tools:
            self.window.tools.select(name)

    def class_chosen(self, item: QListWidgetItem | None) -> None:
        if item is None or self.window is None:
            return
        self.window.tools.settings.label_id = int(item.data(Qt.ItemDataRole.UserRole))
        self.window.tools.changed()
        if self.window.document is not None:
            self.ensure_label_layer(create=True)
            cur = getattr(self.window.tools.current, "name", "")
            if cur not in ("label", "fill"):
                self.window.tools.select("label")

    def ensure_label_layer(self, create: bool = False) -> LabelLayer | None:
        assert self.window is not None
        doc = self.window.document
        if doc is None:
            return None
        layer = label_layer_of(doc)
        ls = self.panel.label_set() if self.panel is not None else L.load_palette("landscape")
        if layer is None and create:
            layer = LabelLayer("Labels", np.full((doc.height, doc.width), ls.unlabelled or 0, ls.dtype()),
                               ls.label_classes(), palette_name=ls.name,
                               transparent_id=ls.unlabelled, opacity=(self.panel.opacity.value() / 100.0
                                                                        if self.panel else 0.6))
            doc.add_layer(layer, label="New label layer")
        elif layer is not None and doc.active_layer is not layer:
            doc.active_layer = layer
        return layer

    def palette_changed(self) -> None:
        assert self.panel is not None
        self.panel.fill_classes()
        doc = self.window.document if self.window is not None else None
        layer = label_layer_of(doc)
        if doc is None or layer is None:
            return
        new = self.panel.label_set()
        if layer.palette_name == new.name:
            return
        old_name = layer.palette_name or "landscape"
        painted = bool(np.any(layer.labels != (layer.transparent_id or 0)))
        if not painted:
            layer.replace_data(np.full(layer.labels.shape, new.unlabelled or 0, new.dtype()), layer.mask)
            layer.palette_name = new.name
            layer.transparent_id = new.unlabelled
            layer.set_palette(new.label_classes())
            return
        try:
            src = L.load_palette(old_name)
            mapped = L.map_labels(layer.labels, src, new.name, new)
        except L.LabelError:
            # no mapping (e.g. ADE20K -> landscape): a new label layer for the new palette
            doc.set_layer_attr(layer, "visible", False)
            self.ensure_label_layer(create=True)
            self.window.status_message(f"{src.title} labels cannot be converted to {new.title}: "
                                       "a new label layer was added")
            return
        if mapped.dtype != layer.labels.dtype:
            layer.replace_data(mapped, layer.mask)
        else:
            with doc.edit_pixels(layer, None, "Convert labels", target="labels") as arr:
                arr[...] = mapped
        layer.palette_name = new.name
        layer.transparent_id = new.unlabelled
        layer.set_palette(new.label_classes())
        self.window.status_message(f"Labels converted to {new.title}")

    def sync_from_layer(self) -> None:
        if self.panel is None or self.window is None:
            return
        layer = label_layer_of(self.window.document)
        if layer is None:
            return
        i = self.panel.palette.findData(layer.palette_name)
        if i >= 0 and i != self.panel.palette.currentIndex():
            self.panel.palette.blockSignals(True)
            self.panel.palette.setCurrentIndex(i)
            self.panel.palette.blockSignals(False)
            self.panel.fill_classes()

    def set_label_opacity(self, value: float) -> None:
        doc = self.window.document if self.window is not None else None
        layer = label_layer_of(doc)
        if layer is not None:
            doc.set_layer_attr(layer, "opacity", float(value), merge=True)

    def set_labels_visible(self, on: bool) -> None:
        doc = self.window.document if self.window is not None else None
        layer = label_layer_of(doc)
        if layer is not None and layer.visible != on:
            doc.set_layer_attr(layer, "visible", bool(on))

    def new_blank_landscape(self) -> Document | None:
        """A new document: sky over grass on a label layer (palette: landscape), ready to paint."""
        assert self.window is not None
        new_doc = getattr(self.window, "new_document", None)
        if new_doc is None:
            return None
        doc = new_doc(1024, 640, (255, 255, 255, 255))
        land = L.load_palette("landscape")
        layer = LabelLayer("Labels", L.blank_landscape(doc.width, doc.height, land), land.label_classes(),
                           palette_name="landscape", transparent_id=land.unlabelled, opacity=1.0)
        doc.add_layer(layer, label="Blank landscape")
        doc.history.clear()
        if self.panel is not None:
            self.panel.palette.setCurrentIndex(self.panel.palette.findData("landscape"))
            self.panel.opacity.setValue(100)
        self.show_panel()
        return doc

    # -- run --------------------------------------------------------------------------------------
    def configure(self, doc: Document | None) -> SceneRequest | None:
        if self.preset is not None:
            return self.preset
        assert self.panel is not None and doc is not None
        return self.panel.request(doc)

    def gather(self, window: Any, request: SceneRequest):
        doc = window.document
        layer = label_layer_of(doc)
        if layer is None:
            window.show_error(TITLE, "Paint labels first: the Scene panel adds a label layer "
                                     "(or File > New from template > Blank landscape).")
            return None
        labels = np.full((doc.height, doc.width), layer.transparent_id or 0, layer.labels.dtype)
        ox, oy = (int(v) for v in layer.offset)
        inter = Rect(ox, oy, layer.width, layer.height).intersect(doc.bounds)
        if not inter.is_empty():
            labels[inter.slices()] = layer.labels[layer.to_layer_rect(inter).slices()]
        if layer.palette_name and request.palette != layer.palette_name:
            request = dataclasses.replace(request, palette=layer.palette_name)
        mask = None
        only = self.panel is not None and self.panel.only_painted.isChecked()
        if only:
            un = layer.transparent_id if layer.transparent_id is not None else 0
            mask = np.where(labels != un, 255, 0).astype(np.uint8)
            if not mask.any():
                window.show_error(TITLE, "Nothing is painted on the label layer yet.")
                return None
        inputs = TaskInputs(labels=labels, mask=mask)
        self._label_layer = layer
        return inputs, request, window.placement(doc.bounds)

    def job_title(self, request: SceneRequest) -> str:
        return f"Scene ({request.model_id})"

    def submit(self, request=None, **kw):  # noqa: ANN001, ANN201
        job = super().submit(request, **kw)
        self.job = job
        if job is not None and self.panel is not None:
            self.panel.cancel.setEnabled(True)
            self.panel.generate.setEnabled(False)
            self.panel.progress.setValue(0)
            self.panel.status.setText("Generating…")
        return job

    def cancel_job(self) -> None:
        if self.job is not None and self.window is not None:
            self.window.job_queue.cancel(self.job)

    def _progress(self, job: Any, progress: Any) -> None:
        if job is self.job and self.panel is not None:
            frac = getattr(progress, "fraction", 0.0)
            self.panel.progress.setValue(int(round(100 * float(frac))))
            self.panel.progress.setFormat(f"{getattr(progress, 'stage', '')} %p%")

    def _state(self, job: Any, state: Any) -> None:
        if job is not self.job or self.panel is None:
            return
        if getattr(state, "done", False):
            self.panel.cancel.setEnabled(False)
            self.panel.generate.setEnabled(True)
            self.panel.status.setText({"finished": "Done", "cancelled": "Cancelled",
                                       "failed": "Failed"}.get(getattr(state, "value", ""), ""))
            if getattr(state, "value", "") == "finished":
                self.panel.progress.setValue(100)

    def apply(self, doc: Document, result: Any, placement: Any) -> None:
        super().apply(doc, result, placement)
        layer = getattr(self, "_label_layer", None)
        if layer is not None and layer in doc.layers and layer.visible:
            doc.set_layer_attr(layer, "visible", False)       # same undo step as the new layer(s)
            if self.panel is not None:
                self.panel.show_labels.blockSignals(True)
                self.panel.show_labels.setChecked(False)
                self.panel.show_labels.blockSignals(False)


__all__ = ["SceneUI", "ScenePanel", "LabelEraserTool", "flood_fill_labels", "label_layer_of"]
