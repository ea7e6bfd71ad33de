"""Style panel (Filters > Style transfer…, View > Panels > Style) and Filters/AI > Translate
(pix2pix)….

The panel:

* a grid of style thumbnails rendered from the sample photo: the offline styles (the 26-style
  network, vintagify), the user's trained styles (``user.style-*``) and the downloadable CycleGAN
  models (a placeholder until installed; "Download…" opens the model manager). Thumbnails are
  rendered by one background job (task ``style_thumbnails``) and cached as PNG files under the
  user cache folder (``thumbnails/style``), keyed by model, style, weights and photo: the GUI
  thread only loads small PNGs. The licence of the chosen style is shown (non-commercial in red).
* "Any painting…": any picture file as the style (Magenta arbitrary stylisation, offline); a
  corrupt or unreadable file is refused at once with a clear message.
* Strength, "keep the photo's colours" (luminance-only transfer).
* Preview: the visible area of the canvas stylised at the scale the screen shows, with the whole
  image's normalisation statistics (tasks/style_transfer.preview_region), drawn over the canvas
  (the document is not touched) until Clear / Apply.
* Apply as a new layer: one undo step; on a selection only the selection's bounding box is
  stylised and the selection becomes the new layer's mask. "Show before" hides the result
  through the canvas compare (View > Compare), without an undo step.

No torch here: the tasks import it on the worker thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ganstudio import paths
from ganstudio.core.geometry import Rect
from ganstudio.core.selection import mask_bounds
from ganstudio.jobs import Job
from ganstudio.jobs.runner import gather_inputs
from ganstudio.tasks.base import TaskInputs
from ganstudio.tasks.style_transfer import (ARBITRARY_MODEL, DEFAULT_MODEL, StyleRequest, ThumbnailsRequest,
                                            thumbnail_key)
from ganstudio.tasks.translate import DEFAULT_MODEL as TRANSLATE_DEFAULT
from ganstudio.tasks.translate import TranslateRequest

from .base import TaskUI

if TYPE_CHECKING:
    from ganstudio.core.document import Document

log = logging.getLogger(__name__)
TITLE = "Style transfer"
THUMB_RENDER = 160          # long side the sample photo is stylised at for a thumbnail
THUMB_ICON = 76             # icon size in the grid
THUMB_VERSION = 1           # bump when thumbnails must be rendered again
PAINTING_KEY = "painting"
PREVIEW_SIDE_MAX = 1024     # a preview never computes more than this many pixels per side


@dataclass
class StyleChoice:
    """One cell of the grid."""

    key: str                 # thumbnail key (model#index[@painting])
    model_id: str
    style_index: int
    name: str
    licence: str
    non_commercial: bool
    usable: bool             # installed or offline: runs now
    group: str               # "offline" | "yours" | "download" | "painting"
    style_image: str = ""
    stamp: str = ""          # changes when the weights change (cache key)


def _nc(entry: Any) -> bool:
    return bool(getattr(entry, "non_commercial", False))


def style_choices(store: Any = None) -> list[StyleChoice]:
    """Every style the grid shows: offline first, then the user's, then the downloadable ones."""
    from ganstudio.models.store import default_store

    store = store or default_store()
    out: list[StyleChoice] = []
    try:
        statuses = store.list(task="style_transfer")
    except Exception:  # noqa: BLE001 - a broken catalog must not break the panel
        log.exception("style models")
        statuses = []
    for st in statuses:
        e = st.entry
        kind = dict(getattr(e, "input", None) or {}).get("kind", "style")
        if kind in ("style_predictor", "arbitrary"):
            continue            # helpers / the "any painting" network (its own picker)
        usable = bool(st.installed or st.available_offline)
        pkg = getattr(e, "package", None)
        stamp = ",".join(getattr(pkg, "sha256", ()) or ()) if pkg is not None else ""
        if not stamp:
            man = store.manifest(e.id) or {}
            stamp = json.dumps({k: v.get("sha256", "") for k, v in (man.get("files") or {}).items()},
                               sort_keys=True) if man else ""
        user = e.id.startswith("user.") or bool((store.manifest(e.id) or {}).get("user_style"))
        group = "yours" if user else ("offline" if st.available_offline else
                                      ("download" if not usable else "installed"))
        if kind == "multistyle":
            n = int(dict(e.input).get("styles", 26))
            for i in range(n):
                out.append(StyleChoice(thumbnail_key(e.id, i), e.id, i, f"Style {i}", e.licence,
                                       _nc(e), usable, group, stamp=stamp))
        else:
            name = e.name.replace(" (offline)", "")
            out.append(StyleChoice(thumbnail_key(e.id, 0), e.id, 0, name, e.licence, _nc(e), usable,
                                   group, stamp=stamp))
    order = {"yours": 0, "offline": 1, "installed": 2, "download": 3}
    out.sort(key=lambda c: (order.get(c.group, 9), c.model_id != "cyclegan.vintagify",
                            c.model_id, c.style_index))
    return out


def thumb_dir() -> Path:
    return paths.user_cache_dir() / "thumbnails" / "style"


def thumb_path(choice: StyleChoice) -> Path:
    photo = paths.SAMPLE_PHOTO
    try:
        ps = photo.stat()
        pstamp = f"{ps.st_size}-{ps.st_mtime_ns}"
    except OSError:
        pstamp = ""
    raw = json.dumps([THUMB_VERSION, choice.key, choice.stamp, THUMB_RENDER, pstamp])
    h = hashlib.sha1(raw.encode()).hexdigest()[:16]
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in choice.key)[:60]
    return thumb_dir() / f"{safe}-{h}.png"


def sample_photo() -> np.ndarray:
    """The sample photo (RGB uint8) the thumbnails are rendered from."""
    from PIL import Image

    with Image.open(paths.SAMPLE_PHOTO) as im:
        return np.asarray(im.convert("RGB"))


def _qimage(arr: np.ndarray) -> QImage:
    a = np.asarray(arr)
    if a.dtype == np.uint16:
        a = (a >> 8).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    a = np.ascontiguousarray(a[:, :, :3])
    h, w = a.shape[:2]
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _icon_from_image(img: QImage, badge: str = "") -> QIcon:
    side = THUMB_ICON
    pm = QPixmap(side, side)
    pm.fill(QColor("#2b2b2b"))
    p = QPainter(pm)
    scaled = img.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                        Qt.TransformationMode.SmoothTransformation)
    p.drawImage((side - scaled.width()) // 2, (side - scaled.height()) // 2, scaled)
    if badge:
        _badge(p, badge, side)
    p.end()
    return QIcon(pm)


def _badge(p: QPainter, text: str, side: int) -> None:
    f = QFont()
    f.setPointSize(7)
    f.setBold(True)
    p.setFont(f)
    w = p.fontMetrics().horizontalAdvance(text) + 8
    p.fillRect(side - w, side - 15, w, 15, QColor(0, 0, 0, 170))
    p.setPen(QColor("#ffffff"))
    p.drawText(side - w + 4, side - 4, text)


def placeholder_icon(text: str) -> QIcon:
    side = THUMB_ICON
    pm = QPixmap(side, side)
    pm.fill(QColor("#3a3f47"))
    p = QPainter(pm)
    p.setPen(QColor("#c8c8c8"))
    f = QFont()
    f.setPointSize(8)
    p.setFont(f)
    p.drawText(pm.rect().adjusted(4, 4, -4, -4), int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), text)
    p.end()
    return QIcon(pm)


def read_painting(path: str) -> np.ndarray:
    """The painting's pixels (RGB uint8) or ValueError with a message a person can act on."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p} does not exist")
    try:
        with Image.open(p) as im:
            im = ImageOps.exif_transpose(im)
            im.draft("RGB", (512, 512))
            arr = np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValueError(f"cannot read the style image {p.name}: it is not a picture this program "
                         f"can open ({exc})") from None
    if min(arr.shape[:2]) < 8:
        raise ValueError(f"the style image {p.name} is too small ({arr.shape[1]}x{arr.shape[0]})")
    return arr


# --- the panel ------------------------------------------------------------------------------------
class StylePanel(QWidget):
    def __init__(self, ui: StyleUI) -> None:
        super().__init__()
        self.ui = ui
        self.setObjectName("style_panel")
        self.choices: dict[str, StyleChoice] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        intro = QLabel("Pick a style or any painting. Preview: the visible area. Apply: a new "
                       "layer (only the selection, if there is one).")
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.grid = QListWidget()
        self.grid.setObjectName("style_grid")
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(THUMB_ICON, THUMB_ICON))
        self.grid.setGridSize(QSize(THUMB_ICON + 14, THUMB_ICON + 40))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setWordWrap(True)
        self.grid.setUniformItemSizes(True)
        self.grid.setMinimumHeight(int(1.6 * (THUMB_ICON + 40)))
        self.grid.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        lay.addWidget(self.grid, 1)
        self.chosen = QLabel()
        self.chosen.setObjectName("style_chosen")
        self.chosen.setWordWrap(True)
        self.chosen.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.chosen)
        self.download = QPushButton("Download in the model manager…")
        self.download.setObjectName("style_download")
        self.download.setVisible(False)
        lay.addWidget(self.download)

        paint_row = QHBoxLayout()
        self.painting_btn = QPushButton("Any painting…")
        self.painting_btn.setObjectName("style_painting")
        self.painting_btn.setToolTip("Use any picture file as the style (offline)")
        self.painting_thumb = QLabel()
        self.painting_thumb.setFixedSize(40, 40)
        self.painting_thumb.setFrameShape(QFrame.Shape.StyledPanel)
        self.painting_name = QLabel("")
        self.painting_name.setWordWrap(True)
        paint_row.addWidget(self.painting_btn)
        paint_row.addWidget(self.painting_thumb)
        paint_row.addWidget(self.painting_name, 1)
        lay.addLayout(paint_row)

        form = QFormLayout()
        srow = QHBoxLayout()
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setObjectName("style_strength")
        self.strength.setRange(0, 100)
        self.strength.setValue(100)
        self.strength_label = QLabel("100 %")
        self.strength_label.setMinimumWidth(40)
        srow.addWidget(self.strength, 1)
        srow.addWidget(self.strength_label)
        form.addRow("Strength", srow)
        self.source = QComboBox()
        self.source.setObjectName("style_source")
        self.source.addItem("Visible image", "composite")
        self.source.addItem("Active layer", "active")
        form.addRow("Stylise", self.source)
        lay.addLayout(form)
        self.keep_colors = QCheckBox("Keep the photo's colours")
        self.keep_colors.setObjectName("style_keep_colors")
        self.keep_colors.setToolTip("Luminance-only transfer: brush strokes and texture, the photo's own colours")
        lay.addWidget(self.keep_colors)

        prow = QHBoxLayout()
        self.preview_btn = QPushButton("Preview")
        self.preview_btn.setObjectName("style_preview")
        self.preview_btn.setToolTip("Stylise the visible area of the canvas (the image is not changed)")
        self.clear_btn = QPushButton("Clear preview")
        self.clear_btn.setObjectName("style_clear_preview")
        prow.addWidget(self.preview_btn, 1)
        prow.addWidget(self.clear_btn, 1)
        lay.addLayout(prow)
        arow = QHBoxLayout()
        self.apply_btn = QPushButton("Apply as new layer")
        self.apply_btn.setObjectName("style_apply")
        self.apply_btn.setDefault(True)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setObjectName("style_cancel")
        self.cancel_btn.setEnabled(False)
        arow.addWidget(self.apply_btn, 1)
        arow.addWidget(self.cancel_btn)
        lay.addLayout(arow)
        self.before = QPushButton("Show before")
        self.before.setObjectName("style_before")
        self.before.setCheckable(True)
        self.before.setToolTip("Hide the style layer to compare (View > Compare: show before)")
        brow = QHBoxLayout()
        brow.addWidget(self.before, 1)
        self.manager_btn = QPushButton("Models…")
        brow.addWidget(self.manager_btn, 1)
        lay.addLayout(brow)
        self.progress = QProgressBar()
        self.progress.setObjectName("style_progress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        lay.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setObjectName("style_status")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.train_btn = QPushButton("Train your own style…")
        self.train_btn.setObjectName("style_train")
        lay.addWidget(self.train_btn)

        self.grid.currentItemChanged.connect(lambda _cur, _prev: self.update_chosen())
        self.strength.valueChanged.connect(lambda v: self.strength_label.setText(f"{v} %"))
        self.painting_btn.clicked.connect(ui.pick_painting)
        self.preview_btn.clicked.connect(ui.preview)
        self.clear_btn.clicked.connect(ui.clear_preview)
        self.apply_btn.clicked.connect(lambda: ui.trigger())
        self.cancel_btn.clicked.connect(ui.cancel_job)
        self.before.toggled.connect(ui.show_before)
        self.download.clicked.connect(ui.open_models)
        self.manager_btn.clicked.connect(ui.open_models)
        self.train_btn.clicked.connect(ui.open_training)
        self.fill()

    # -- the grid ---------------------------------------------------------------------------------
    def fill(self) -> None:
        keep = self.current_key()
        painting = self.choices.get(PAINTING_KEY)
        self.grid.blockSignals(True)
        self.grid.clear()
        self.choices = {}
        if painting is not None:
            self._add_item(painting, self.ui.painting_icon)
        for c in style_choices():
            icon = None
            p = thumb_path(c)
            if c.usable and p.is_file():
                img = QImage(str(p))
                if not img.isNull():
                    icon = _icon_from_image(img, "you" if c.group == "yours" else "")
            if icon is None:
                icon = placeholder_icon("rendering…" if c.usable else "download")
            self._add_item(c, icon)
        self.grid.blockSignals(False)
        if keep and keep in self.choices:
            self.select(keep)
        elif self.grid.count():
            self.grid.setCurrentRow(0 if painting is None else min(1, self.grid.count() - 1))
        self.update_chosen()

    def _add_item(self, c: StyleChoice, icon: QIcon | None) -> QListWidgetItem:
        short = c.name.split(" (")[0]
        item = QListWidgetItem(icon or QIcon(), short[:28])
        item.setData(Qt.ItemDataRole.UserRole, c.key)
        tip = f"{c.name}\n{c.model_id}\nLicence: {c.licence}"
        if c.non_commercial:
            tip += " (non-commercial use only)"
        if not c.usable:
            tip += "\nNot installed: download it in the model manager"
        item.setToolTip(tip)
        item.setSizeHint(QSize(THUMB_ICON + 12, THUMB_ICON + 38))
        if c.key == PAINTING_KEY:
            self.grid.insertItem(0, item)
        else:
            self.grid.addItem(item)
        self.choices[c.key] = c
        return item

    def item_for(self, key: str) -> QListWidgetItem | None:
        for i in range(self.grid.count()):
            it = self.grid.item(i)
            if it.data(Qt.ItemDataRole.UserRole) == key:
                return it
        return None

    def set_icon(self, key: str, icon: QIcon) -> None:
        it = self.item_for(key)
        if it is not None:
            it.setIcon(icon)

    def select(self, key: str) -> bool:
        it = self.item_for(key)
        if it is None:
            return False
        self.grid.setCurrentItem(it)
        self.grid.scrollToItem(it)
        return True

    def current_key(self) -> str:
        it = self.grid.currentItem()
        return str(it.data(Qt.ItemDataRole.UserRole)) if it is not None else ""

    def current(self) -> StyleChoice | None:
        return self.choices.get(self.current_key())

    def update_chosen(self) -> None:
        c = self.current()
        if c is None:
            self.chosen.setText("No style chosen")
            self.download.setVisible(False)
            return
        lic = c.licence or "unknown"
        if c.non_commercial:
            lic_html = (f"<span style='color:#ff6b6b'><b>Licence: {lic}: non-commercial use only"
                        "</b></span>")
        else:
            lic_html = f"Licence: {lic}"
        where = {"offline": "offline, no download", "yours": "trained by you",
                 "installed": "installed", "download": "<b>not installed</b>",
                 "painting": "any painting (offline)"}.get(c.group, "")
        self.chosen.setText(f"<b>{c.name}</b> ({c.model_id}"
                            + (f", --style {c.style_index}" if c.model_id == DEFAULT_MODEL else "")
                            + f")<br>{lic_html}; {where}")
        self.download.setVisible(not c.usable)
        self.ui.refresh_buttons()

    def request(self) -> StyleRequest | None:
        c = self.current()
        if c is None:
            return None
        return StyleRequest(model_id=c.model_id, style_index=c.style_index, style_image=c.style_image,
                            strength=self.strength.value() / 100.0,
                            keep_colors=self.keep_colors.isChecked())


class _CloseWatcher(QObject):
    """Cancels the thumbnail job when the window closes."""

    def __init__(self, ui: StyleUI, parent: QObject) -> None:
        super().__init__(parent)
        self.ui = ui

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Close:
            self.ui.stop_thumbnails()
        elif event.type() == QEvent.Type.Show and obj is self.ui.panel:
            self.ui.ensure_thumbnails()
        return False


class StyleUI(TaskUI):
    """The Style panel; its Apply runs the ``style_transfer`` task, its Preview the same task on
    the visible area (``StyleRequest.region``), its grid the ``style_thumbnails`` task."""

    id = "style"
    task = "style_transfer"
    title = TITLE
    menu = "Filters"
    menu_text = "Style transfer…"
    action_name = "task_style_transfer"
    status_tip = "Restyle the image: CycleGAN styles, 26 painting styles, any painting (Style panel)"
    retarget = "translate"

    #: tests set this to skip reading the panel
    preset: StyleRequest | None = None

    def __init__(self) -> None:
        super().__init__()
        self.panel: StylePanel | None = None
        self.dock: Any = None
        self.job: Job | None = None
        self.preview_job: Job | None = None
        self.thumb_job: Job | None = None
        self.painting_icon: QIcon | None = None
        self.last_layer: Any = None
        self._mode = "apply"

    # -- install ----------------------------------------------------------------------------------
    def build(self, window: Any) -> None:
        self.panel = StylePanel(self)
        scroll = QScrollArea()
        scroll.setObjectName("style_scroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.panel)
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(max(3 * (THUMB_ICON + 14) + 24, self.panel.minimumSizeHint().width()) + bar + 4)
        # left: the right column is shared by tool options / scene / layers / jobs; on the left the
        # panel gets the window's full height (all of it fits a 1280x720 window without scrolling)
        self.dock = window.add_dock(scroll, "Style", "left", name="style")
        self.dock.hide()
        self.add_action("Filters", "Style transfer…", self.show_panel, name="task_style_transfer",
                        tip=self.status_tip)
        bridge = getattr(window, "job_bridge", None)
        if bridge is not None:
            bridge.progress_changed.connect(self._progress)
            bridge.state_changed.connect(self._state)
        self._watcher = _CloseWatcher(self, self.panel)
        if isinstance(window, QObject):
            window.installEventFilter(self._watcher)
        self.panel.installEventFilter(self._watcher)

    def enabled(self, doc: Document | None) -> bool:
        return True          # the panel opens without a document (its buttons say what is missing)

    def refresh(self, doc: Document | None = None) -> None:
        for act in self.actions:
            act.setEnabled(True)
        self.refresh_buttons()

    def refresh_buttons(self) -> None:
        if self.panel is None:
            return
        doc = self.window.document if self.window is not None else None
        c = self.panel.current()
        runnable = doc is not None and c is not None and c.usable
        busy = self.job is not None and not self.job.done
        self.panel.apply_btn.setEnabled(runnable and not busy)
        self.panel.preview_btn.setEnabled(runnable)
        sel = doc is not None and doc.selection is not None and bool(np.any(doc.selection))
        self.panel.apply_btn.setText("Apply to the selection" if sel else "Apply as new layer")

    def show_panel(self) -> None:
        if self.dock is not None:
            self.dock.show()
            self.dock.raise_()
        self.ensure_thumbnails()

    # -- thumbnails (one background job, cached PNGs) ------------------------------------------------
    def ensure_thumbnails(self) -> Job | None:
        """Render the missing thumbnails of usable styles in one background job."""
        if self.panel is None or self.window is None:
            return None
        if self.thumb_job is not None and not self.thumb_job.done:
            return self.thumb_job
        missing = [c for c in self.panel.choices.values()
                   if c.usable and c.key != PAINTING_KEY and not thumb_path(c).is_file()]
        if not missing:
            return None
        try:
            photo = sample_photo()
        except OSError as exc:
            self.panel.status.setText(f"No sample photo for the thumbnails: {exc}")
            return None
        req = ThumbnailsRequest(items=tuple((c.model_id, c.style_index, c.style_image) for c in missing),
                                size=THUMB_RENDER)
        job = Job("Style thumbnails", inputs=TaskInputs(image=photo), request=req, task="style_thumbnails")
        job.ctx = self.window.preferences.task_context()
        self.thumb_job = job
        self.window.job_queue.submit(job)
        return job

    def stop_thumbnails(self) -> None:
        job = self.thumb_job
        if job is not None and not job.done and self.window is not None:
            self.window.job_queue.cancel(job)

    def _store_thumb(self, key: str, image: np.ndarray) -> None:
        assert self.panel is not None
        c = self.panel.choices.get(key)
        if c is None:
            return
        qimg = _qimage(image)
        p = thumb_path(c)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_suffix(".tmp.png")
            if qimg.save(str(tmp), "PNG"):
                tmp.replace(p)
        except OSError as exc:
            log.warning("cannot cache the thumbnail %s: %s", p, exc)
        self.panel.set_icon(key, _icon_from_image(qimg, "you" if c.group == "yours" else ""))

    # -- any painting ------------------------------------------------------------------------------
    def pick_painting(self) -> None:
        parent = self.window if isinstance(self.window, QWidget) else None
        path, _ = QFileDialog.getOpenFileName(parent, "Any painting as the style", "",
                                              "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp);;All files (*)")
        if path:
            self.set_painting(path)

    def set_painting(self, path: str) -> bool:
        """Use ``path`` as the style (checked now: a broken file is refused with a message)."""
        assert self.panel is not None
        try:
            arr = read_painting(path)
        except ValueError as exc:
            msg = str(exc)
            self.panel.status.setText(msg)
            if self.window is not None:
                self.window.show_error("Any painting", msg)
            return False
        qimg = _qimage(arr)
        self.painting_icon = _icon_from_image(qimg, "yours")
        self.panel.painting_thumb.setPixmap(QPixmap.fromImage(qimg).scaled(
            40, 40, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))
        name = Path(path).name
        self.panel.painting_name.setText(name)
        old = self.panel.item_for(PAINTING_KEY)
        if old is not None:
            self.panel.grid.takeItem(self.panel.grid.row(old))
        try:
            from ganstudio.models.store import default_store

            lic = default_store().entry(ARBITRARY_MODEL).licence
        except Exception:  # noqa: BLE001 - the licence line only
            lic = "Apache-2.0"
        c = StyleChoice(PAINTING_KEY, ARBITRARY_MODEL, 0, f"Painting: {name}", lic, False, True,
                        "painting", style_image=str(path))
        self.panel._add_item(c, self.painting_icon)
        self.panel.select(PAINTING_KEY)
        self.panel.status.setText(f"Style from {name} (the painting's own licence applies to it)")
        return True

    # -- run ---------------------------------------------------------------------------------------
    def configure(self, doc: Document | None) -> StyleRequest | None:
        if self.preset is not None:
            return self.preset
        assert self.panel is not None
        c = self.panel.current()
        if c is None:
            self.window.show_error(TITLE, "Choose a style in the Style panel first.")
            return None
        if not c.usable:
            self.window.show_error(TITLE, f"{c.name} is not installed: download it in the model "
                                          "manager first (the offline styles need no download).")
            return None
        return self.panel.request()

    def _source(self) -> str:
        return str(self.panel.source.currentData()) if self.panel is not None else "composite"

    def gather(self, window: Any, request: StyleRequest):
        doc = window.document
        if self._mode == "preview":
            return self._gather_preview(window, request)
        sel = doc.selection if doc.selection is not None and np.any(doc.selection) else None
        region = mask_bounds(sel) if sel is not None else None
        try:
            inputs, rect = gather_inputs(doc, source=self._source(), region=region, mask=sel)
        except ValueError as exc:
            window.show_error(TITLE, str(exc))
            return None
        if sel is not None and doc.width * doc.height > rect.w * rect.h:
            # whole-image statistics for the selection's box (same look as the whole image)
            inputs.extra["stats_image"] = self._stats_image(doc)
        return inputs, request, window.placement(rect)

    def _stats_image(self, doc: Document) -> np.ndarray:
        from ganstudio.core.compositing import composite

        img = composite(doc)[:, :, :3]
        s = min(1.0, 1024 / float(max(doc.width, doc.height)))
        if s < 1.0:
            import cv2

            img = cv2.resize(img, (max(1, round(doc.width * s)), max(1, round(doc.height * s))),
                             interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(img)

    def visible_rect(self) -> Rect | None:
        doc = self.window.document if self.window is not None else None
        if doc is None:
            return None
        canvas = self.window.canvas
        rect = doc.bounds
        to_doc = getattr(canvas, "view_rect_to_doc", None)
        if canvas is not None and callable(to_doc):
            try:
                rect = to_doc(canvas.viewport().rect()).intersect(doc.bounds)
            except Exception:  # noqa: BLE001
                rect = doc.bounds
        return None if rect.is_empty() else rect

    def _gather_preview(self, window: Any, request: StyleRequest):
        import dataclasses

        doc = window.document
        vis = self.visible_rect()
        if vis is None:
            window.show_error(TITLE, "Nothing of the image is visible.")
            return None
        inputs, rect = gather_inputs(doc, source=self._source())
        canvas = window.canvas
        zoom = float(getattr(canvas, "zoom", 1.0) or 1.0)
        side = int(min(PREVIEW_SIDE_MAX, max(32, round(max(vis.w, vis.h) * min(1.0, zoom)))))
        request = dataclasses.replace(request, region=(vis.x, vis.y, vis.w, vis.h), preview_side=side)
        placement = window.placement(rect)
        placement.extra["preview"] = [vis.x, vis.y, vis.w, vis.h]
        return inputs, request, placement

    def job_title(self, request: StyleRequest) -> str:
        what = "Painting style" if request.model_id == ARBITRARY_MODEL else request.model_id
        if request.model_id == DEFAULT_MODEL:
            what = f"Style {request.style_index}"
        return f"{'Style preview' if request.region else 'Style'}: {what}"

    def preview(self) -> Job | None:
        """Stylise the visible area and draw it over the canvas (the document is unchanged)."""
        if self.window is None or self.window.document is None:
            if self.window is not None:
                self.window.show_error(TITLE, "Open an image first.")
            return None
        if self.preview_job is not None and not self.preview_job.done:
            self.window.job_queue.cancel(self.preview_job)
        request = self.configure(self.window.document)
        if request is None:
            return None
        self._mode = "preview"
        try:
            job = self.submit(request)
        finally:
            self._mode = "apply"
        self.preview_job = job
        if job is not None and self.panel is not None:
            self.panel.status.setText("Preview of the visible area…")
        return job

    def clear_preview(self) -> None:
        if self.window is not None:
            self.window.clear_preview()

    def submit(self, request=None, **kw):  # noqa: ANN001, ANN201
        job = super().submit(request, **kw)
        if job is not None and self._mode != "preview":
            self.job = job
            if self.panel is not None:
                self.panel.cancel_btn.setEnabled(True)
                self.panel.progress.setValue(0)
                self.panel.status.setText("Stylising…")
                self.refresh_buttons()
        elif job is not None and self.panel is not None:
            self.panel.cancel_btn.setEnabled(True)
        return job

    def cancel_job(self) -> None:
        if self.window is None:
            return
        for job in (self.job, self.preview_job):
            if job is not None and not job.done:
                self.window.job_queue.cancel(job)

    def _progress(self, job: Any, progress: Any) -> None:
        if job is self.thumb_job:
            if progress.preview is not None and progress.stage:
                self._store_thumb(str(progress.stage), progress.preview)
            return
        if job in (self.job, self.preview_job) and job is not None and self.panel is not None:
            frac = float(getattr(progress, "fraction", 0.0))
            self.panel.progress.setValue(int(round(100 * frac)))
            self.panel.progress.setFormat(f"{getattr(progress, 'stage', '')} %p%")

    def _state(self, job: Any, state: Any) -> None:
        if job is self.thumb_job and getattr(state, "done", False):
            res = job.result
            if res is not None and self.panel is not None:
                for key, img in (res.artefacts.get("thumbnails") or {}).items():
                    if key in self.panel.choices and not thumb_path(self.panel.choices[key]).is_file():
                        self._store_thumb(key, img)
                for key, err in (res.info.get("errors") or {}).items():
                    it = self.panel.item_for(key)
                    if it is not None:
                        it.setToolTip(it.toolTip() + f"\nThumbnail failed: {err}")
            job.release()
            return
        if job not in (self.job, self.preview_job) or job is None or self.panel is None:
            return
        if getattr(state, "done", False):
            value = getattr(state, "value", "")
            others = [j for j in (self.job, self.preview_job) if j is not None and j is not job and not j.done]
            self.panel.cancel_btn.setEnabled(bool(others))
            text = {"finished": "Done", "cancelled": "Cancelled", "failed": f"Failed: {job.error or ''}"}
            prefix = "Preview" if job is self.preview_job else "Apply"
            self.panel.status.setText(f"{prefix}: {text.get(value, value)}")
            if value == "finished":
                self.panel.progress.setValue(100)
            if job is self.job:
                self.job = None
            self.refresh_buttons()

    def apply(self, doc: Document, result: Any, placement: Any) -> None:
        vis = placement.extra.get("preview")
        if vis is not None:           # a preview: drawn over the canvas, nothing recorded
            if self.window is not None and result.image is not None:
                self.window.show_preview(Rect(*vis), result.image)
            return
        if self.window is not None:
            self.window.clear_preview()
        from ganstudio.jobs.runner import add_result_layers

        added = add_result_layers(doc, result, placement.rect, placement.request)
        if added:
            doc.active_layer = added[-1]
            self.last_layer = added[-1]
        if self.panel is not None and self.panel.before.isChecked():
            self.panel.before.setChecked(False)

    def applied(self, job: Job, resolution: Any) -> None:
        vis = job.placement.extra.get("preview") if job.placement is not None else None
        if vis is not None:
            self.window.status_message(f"{job.title}: shown over the visible area (Clear preview "
                                       "removes it)")
            return
        super().applied(job, resolution)

    def show_before(self, on: bool) -> None:
        """Before / after: the canvas without the style layer (no undo step)."""
        if self.window is None:
            return
        doc = self.window.document
        layer = self.last_layer
        if on and (doc is None or layer is None or layer not in doc.layers):
            self.window.status_message("Apply a style first")
            if self.panel is not None:
                self.panel.before.blockSignals(True)
                self.panel.before.setChecked(False)
                self.panel.before.blockSignals(False)
            return
        if on and doc.active_layer is not layer:
            doc.active_layer = layer
        act = getattr(self.window, "qactions", {}).get("compare_toggle")
        if act is not None:
            act.setChecked(on)
        if self.panel is not None:
            self.panel.before.setText("Show after" if on else "Show before")

    def open_models(self) -> None:
        from .model_manager import open_dialog

        dlg = open_dialog(self.window)
        try:
            dlg.finished.connect(lambda _r: self._models_changed())
        except Exception:  # noqa: BLE001
            pass

    def _models_changed(self) -> None:
        if self.panel is not None:
            self.panel.fill()
            if self.panel.isVisible():
                self.ensure_thumbnails()

    def open_training(self) -> None:
        from .train_style import open_dialog

        open_dialog(self.window)

    def styles_changed(self) -> None:
        """A style was trained / installed: refill the grid (and render its thumbnail)."""
        self._models_changed()

    refresh_models = styles_changed       # what the Train style dialog calls when it is done


# --- Filters/AI > Translate (pix2pix)… -------------------------------------------------------------
def translate_models() -> list[dict[str, Any]]:
    from ganstudio.models.store import default_store

    out = []
    try:
        for st in default_store().list(task="translate"):
            e = st.entry
            out.append({"id": e.id, "name": e.name, "licence": e.licence, "non_commercial": _nc(e),
                        "usable": bool(st.installed or st.available_offline)})
    except Exception:  # noqa: BLE001
        log.exception("translate models")
    out.sort(key=lambda m: (not m["usable"], m["id"]))
    return out


class TranslateDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Translate (pix2pix)")
        self.setObjectName("translate_dialog")
        form = QFormLayout(self)
        info = QLabel("Image-to-image translation with a pix2pix model (labels to photo, edges to "
                      "shoes, ...). The network works at 256 px; the result is a new layer.")
        info.setWordWrap(True)
        form.addRow(info)
        self.model = QComboBox()
        for m in translate_models():
            label = m["name"] + ("" if m["usable"] else "  (download in the model manager)")
            self.model.addItem(label, m)
            if not m["usable"]:
                self.model.model().item(self.model.count() - 1).setEnabled(False)
        form.addRow("Model", self.model)
        self.licence = QLabel()
        self.licence.setWordWrap(True)
        form.addRow(self.licence)
        self.mode = QComboBox()
        self.mode.addItem("As the official test script (batch statistics, dropout)", "official")
        self.mode.addItem("Eval mode (running statistics, no dropout)", "eval")
        form.addRow("Mode", self.mode)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2_000_000_000)
        form.addRow("Seed", self.seed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Translate")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.model.currentIndexChanged.connect(lambda _i: self._licence())
        self._licence()
        usable = any(self.model.itemData(i)["usable"] for i in range(self.model.count()))
        buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(usable)
        if not usable:
            self.licence.setText(self.licence.text() + "<br>No pix2pix model is installed yet: "
                                 "download one in the model manager.")

    def _licence(self) -> None:
        m = self.model.currentData() or {}
        lic = m.get("licence", "")
        self.licence.setText(f"<span style='color:#ff6b6b'><b>Licence: {lic}: non-commercial use only"
                             "</b></span>" if m.get("non_commercial") else f"Licence: {lic}")

    def request(self) -> TranslateRequest:
        m = self.model.currentData() or {}
        return TranslateRequest(model_id=m.get("id", TRANSLATE_DEFAULT), mode=str(self.mode.currentData()),
                                seed=int(self.seed.value()))


class TranslateUI(TaskUI):
    id = "translate"
    task = "translate"
    title = "Translate (pix2pix)"
    menu = "Filters/AI"
    menu_text = "Translate (pix2pix)…"
    action_name = "task_translate"
    status_tip = "pix2pix image-to-image translation of the image or the selection (new layer)"
    retarget = "translate"

    #: tests set this to skip the dialog
    preset: TranslateRequest | None = None

    def configure(self, doc: Document | None) -> TranslateRequest | None:
        if self.preset is not None:
            return self.preset
        dlg = TranslateDialog(self.window if isinstance(self.window, QWidget) else None)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return None
        return dlg.request()

    def gather(self, window: Any, request: TranslateRequest):
        doc = window.document
        sel = doc.selection if doc.selection is not None and np.any(doc.selection) else None
        region = mask_bounds(sel) if sel is not None else None
        inputs, rect = gather_inputs(doc, source="composite", region=region, mask=sel)
        return inputs, request, window.placement(rect)


__all__ = ["StylePanel", "StyleUI", "TranslateUI", "TranslateDialog", "style_choices", "thumb_path",
           "read_painting"]
