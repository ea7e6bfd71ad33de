"""Fill bucket (G): click to flood-fill the region of similar colour (core/fill.py) with the brush
colour on a raster layer, with the current class on a label layer (the Scene panel's fill), or
the colour's grey level on the layer mask ("Paint the layer mask"). Options: threshold,
contiguous or every similar pixel, sample merged (what you see) or the layer, antialiased edge,
opacity; the selection limits the fill. One click = one undo step."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QMouseEvent, QShortcut
from PySide6.QtWidgets import (QApplication, QCheckBox, QFormLayout, QProgressBar, QToolButton,
                               QWidget)

from ..labeled_slider import LabeledSlider
from .base import Tool

if TYPE_CHECKING:
    from ganstudio.core.document import Document

    from ..canvas_api import CanvasView as Canvas


#: whole-layer operations on more pixels than this show the busy cursor while they run
BUSY_PIXELS = 4_000_000
#: fill / gradient / wand on more pixels than this are computed on a worker thread (ToolJob)
ASYNC_PIXELS = 1_000_000


@contextmanager
def busy(pixels: int) -> Iterator[None]:
    """The wait cursor while a large fill / gradient runs on the GUI thread."""
    if pixels < BUSY_PIXELS:
        yield
        return
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


class JobCancelled(Exception):
    """Raised inside a ToolJob's compute (by its ``check``) when the job was cancelled."""


class ToolJob(QObject):
    """One tool operation (fill, gradient, magic wand) computed on a worker thread while the
    window stays responsive, then applied on the GUI thread as one undo step.

    ``compute(view, check)`` runs on the worker with ``view`` = a private Document made from a
    copy-on-write :class:`~ganstudio.core.snapshot.DocumentSnapshot` taken at start (``layers``:
    the ``doc.layers`` indexes it needs, None = all of them, for sample merged / the composite);
    ``check(fraction)`` reports progress and raises :class:`JobCancelled` once cancelled. Its
    return value goes to ``apply(result)`` on the GUI thread — only if the document did not change
    meanwhile (its revision, counted on every recorded step, undo and redo): a stale result is
    dropped with a message, and the job stops as soon as the document changes. While it runs:
    a busy cursor, a progress bar with a Cancel button in the status bar, Esc cancels.

    At most one job runs per window (:func:`running_job`)."""

    POLL_MS = 25
    finished = Signal(str)      # "applied" | "cancelled" | "stale" | "failed" | "empty"

    def __init__(self, tool: Tool, canvas: Canvas, title: str,
                 compute: Callable[[Document, Callable[[float], None]], Any],
                 apply: Callable[[Any], Any], *, layers: list[int] | None = None,
                 verb: str = "") -> None:
        super().__init__()          # kept by tool.job / _RUNNING; outlives a closed canvas safely
        self.tool, self.canvas, self.title = tool, canvas, title
        self.verb = verb or title
        self.doc: Document = canvas.document
        self._compute, self._apply, self._layers = compute, apply, layers
        self.state = "new"
        self.progress = 0.0
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._snap: Any = None
        self._widgets: list[QWidget] = []
        self._shortcut: QShortcut | None = None
        self._cursor = False
        self._timer = QTimer(self)
        self._timer.setInterval(self.POLL_MS)
        self._timer.timeout.connect(self._poll)
        self.revision = getattr(self.doc, "revision", 0)

    # -- life cycle ------------------------------------------------------------------------------
    def start(self) -> ToolJob:
        from ganstudio.core.snapshot import DocumentSnapshot

        self._snap = DocumentSnapshot(self.doc)       # O(layers): references + copy-on-write
        self.revision = getattr(self.doc, "revision", 0)
        self.state = "running"
        window = self._window()
        if window is not None:
            _RUNNING[id(window)] = self
        self._show_busy(window)
        self._thread = threading.Thread(target=self._work, name=f"ganstudio-{self.tool.name}",
                                        daemon=True)
        self._thread.start()
        self._timer.start()
        return self

    def _work(self) -> None:
        snap = self._snap
        try:
            view = snap.materialize(layers=self._layers)
            self.check(0.0)
            self._result = self._compute(view, self.check)
        except JobCancelled:
            pass
        except BaseException as exc:  # noqa: BLE001 - shown to the user, never lost
            self._error = exc
        finally:
            snap.release()            # before the apply: no copy-on-write of the tiles it writes
            self._done.set()

    def check(self, fraction: float) -> None:
        """Progress from the worker; raises JobCancelled once the job is cancelled."""
        self.progress = float(min(max(fraction, 0.0), 1.0))
        if self._cancel.is_set():
            raise JobCancelled

    def cancel(self, reason: str = "cancelled") -> None:
        """Stop the job (from the GUI thread); nothing is applied."""
        if self.state != "running":
            return
        self._cancel.set()
        self._finish(reason)

    @property
    def running(self) -> bool:
        return self.state == "running"

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker thread ended (tests, window close)."""
        t = self._thread
        if t is not None:
            t.join(timeout)
            return not t.is_alive()
        return True

    def _poll(self) -> None:
        if self.state != "running":
            return
        if not shiboken6.isValid(self.canvas):      # the document's tab was closed
            self._cancel.set()
            self._finish("closed")
            return
        if getattr(self.doc, "revision", 0) != self.revision:
            self._cancel.set()
            self._finish("stale")
            return
        if not self._done.is_set():
            bar = self._widgets[0] if self._widgets else None
            if isinstance(bar, QProgressBar):
                bar.setValue(int(round(self.progress * 100)))
            return
        if self.doc.history.open_step is not None:
            return            # a stroke is being recorded: its end bumps the revision (stale)
        if self._error is not None:
            self._finish("failed")
            return
        if self._cancel.is_set():
            self._finish("cancelled")
            return
        result, self._result = self._result, None
        try:
            outcome = self._apply(result)
        except (PermissionError, ValueError) as exc:
            self._error = exc
            self._finish("failed")
            return
        self._finish("applied" if outcome is not False else "empty")

    def _finish(self, state: str) -> None:
        self.state = state
        self._timer.stop()
        self._result = None
        if self._snap is not None:
            # a cancelled worker may still be reading: its result is dropped anyway, and edits
            # from now on need not copy their tiles into the snapshot
            self._snap.release()
        window = self._window()
        if window is not None and _RUNNING.get(id(window)) is self:
            del _RUNNING[id(window)]
        self._hide_busy(window)
        if state == "closed":
            pass
        elif state == "cancelled":
            self.tool.message(f"{self.verb} cancelled.")
        elif state == "stale":
            self.tool.message(f"{self.verb} not applied: the document changed while it was being "
                              "computed. Click again.")
        elif state == "failed":
            text = str(self._error) or type(self._error).__name__
            self.tool.message(text[:1].upper() + text[1:])
        elif state == "applied":
            if window is not None and hasattr(window, "status"):
                window.status.clearMessage()
        self.finished.emit(state)

    # -- busy indication -------------------------------------------------------------------------
    def _window(self) -> Any:
        mgr = getattr(self.tool, "manager", None)
        window = getattr(mgr, "window", None)
        return window if window is not None and shiboken6.isValid(window) else None

    def _show_busy(self, window: Any) -> None:
        QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        self._cursor = True
        bar_host = window.statusBar() if window is not None and hasattr(window, "statusBar") else None
        if bar_host is not None:
            bar = QProgressBar()
            bar.setObjectName("tool_job_progress")
            bar.setRange(0, 100)
            bar.setValue(0)
            bar.setMaximumWidth(140)
            bar.setFormat(f"{self.title} %p%")
            stop = QToolButton()
            stop.setObjectName("tool_job_cancel")
            stop.setText("Cancel")
            stop.setToolTip(f"Stop the {self.title.lower()} (Esc)")
            stop.clicked.connect(lambda: self.cancel())
            for i, w in enumerate((bar, stop)):
                bar_host.insertPermanentWidget(i, w)
            self._widgets = [bar, stop]
            bar_host.showMessage(f"{self.title}… (Esc cancels)", 0)
        if window is not None:
            sc = QShortcut(QKeySequence(Qt.Key.Key_Escape), window)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda: self.cancel())
            self._shortcut = sc

    def _hide_busy(self, window: Any) -> None:
        if self._cursor:
            QApplication.restoreOverrideCursor()
            self._cursor = False
        if self._shortcut is not None:
            if shiboken6.isValid(self._shortcut):
                self._shortcut.setEnabled(False)
                self._shortcut.deleteLater()
            self._shortcut = None
        bar_host = window.statusBar() if window is not None and hasattr(window, "statusBar") else None
        for w in self._widgets:
            if not shiboken6.isValid(w):
                continue
            if bar_host is not None:
                bar_host.removeWidget(w)
            w.hide()
            w.setObjectName("")        # gone for findChild at once (deleted later)
            w.deleteLater()
        self._widgets = []
        if bar_host is not None and bar_host.currentMessage().startswith(f"{self.title}…"):
            bar_host.clearMessage()


#: the job running in each window (id(window) -> ToolJob)
_RUNNING: dict[int, ToolJob] = {}


def running_job(tool: Tool) -> ToolJob | None:
    """The ToolJob running in ``tool``'s window, if any."""
    window = getattr(getattr(tool, "manager", None), "window", None)
    job = _RUNNING.get(id(window)) if window is not None else None
    return job if job is not None and job.running else None


def start_job(tool: Tool, canvas: Canvas, title: str, compute: Callable[..., Any],
              apply: Callable[[Any], Any], *, pixels: int, layers: list[int] | None,
              verb: str = "") -> ToolJob | None:
    """Run ``compute`` on a worker thread (``pixels`` >= the tool's ``async_pixels``) or here at
    once (small images: ``compute(doc, None)`` on the live document, then ``apply``). Returns the
    job, or None when it ran synchronously. One job per window: while one runs, a new one is
    refused with a message."""
    busy_job = running_job(tool)
    if busy_job is not None:
        tool.message(f"{busy_job.title} still running (Esc cancels).")
        return busy_job
    if pixels < getattr(tool, "async_pixels", ASYNC_PIXELS):
        apply(compute(canvas.document, None))
        return None
    job = ToolJob(tool, canvas, title, compute, apply, layers=layers, verb=verb)
    tool.job = job  # type: ignore[attr-defined]
    return job.start()


@dataclass
class Similarity:
    threshold: int = 32          # 0..255 (8-bit units)
    contiguous: bool = True
    sample_merged: bool = False
    antialias: bool = True


def similarity_form(opts: Similarity, parent: QWidget | None = None, *,
                    global_text: str = "Contiguous") -> tuple[QWidget, dict[str, QWidget]]:
    """The threshold / contiguous / sample merged / antialias rows shared by the bucket and the
    wand; edits write into ``opts``."""
    w = QWidget(parent)
    form = QFormLayout(w)
    form.setContentsMargins(0, 0, 0, 0)
    threshold = LabeledSlider(0, 255)
    threshold.setObjectName("similarity_threshold")
    threshold.setValue(opts.threshold)
    threshold.setToolTip("How different a colour may be and still count as similar (0: exactly "
                         "the clicked colour)")
    threshold.valueChanged.connect(lambda v: setattr(opts, "threshold", int(v)))
    contiguous = QCheckBox(global_text)
    contiguous.setObjectName("similarity_contiguous")
    contiguous.setChecked(opts.contiguous)
    contiguous.setToolTip("Only the connected area around the click (off: every similar pixel)")
    contiguous.toggled.connect(lambda v: setattr(opts, "contiguous", bool(v)))
    merged = QCheckBox("Sample merged")
    merged.setObjectName("similarity_merged")
    merged.setChecked(opts.sample_merged)
    merged.setToolTip("Compare the colours you see (all layers) instead of the active layer's")
    merged.toggled.connect(lambda v: setattr(opts, "sample_merged", bool(v)))
    antialias = QCheckBox("Antialiasing")
    antialias.setObjectName("similarity_antialias")
    antialias.setChecked(opts.antialias)
    antialias.setToolTip("Soft edge where the colours stop being similar")
    antialias.toggled.connect(lambda v: setattr(opts, "antialias", bool(v)))
    form.addRow("Threshold", threshold)
    form.addRow("", contiguous)
    form.addRow("", merged)
    form.addRow("", antialias)
    return w, {"threshold": threshold, "contiguous": contiguous, "merged": merged,
               "antialias": antialias}


class FillTool(Tool):
    name, title, shortcut, icon = "fill", "Fill bucket", "G", "fill"
    tooltip = ("Fill the area of similar colour with the brush colour (label layers: the current "
               "class)")
    cursor = Qt.CursorShape.PointingHandCursor
    #: layers of at least this many pixels are filled on a worker thread (ToolJob)
    async_pixels = ASYNC_PIXELS

    def __init__(self) -> None:
        self.options = Similarity()
        self.widgets: dict[str, QWidget] = {}
        self.job: ToolJob | None = None

    def options_widget(self) -> QWidget:
        w, self.widgets = similarity_form(self.options)
        w.setObjectName("fill_options")
        return w

    def press(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        from ganstudio.core import fill as core_fill

        doc = canvas.document
        layer = doc.active_layer
        if layer is None:
            self.message("No layer to fill: select a layer (a group cannot be filled).")
            return
        if doc.is_locked(layer):
            self.message(f"Layer “{layer.name}” is locked.")
            return
        s, o = self.settings, self.options
        is_label = hasattr(layer, "labels")
        target = "mask" if (s.edit_layer_mask and layer.mask is not None and not is_label) else "pixels"
        merged = o.sample_merged and not is_label
        idx = doc.layers.index(layer)
        label = "Fill labels" if is_label else "Fill"
        kwargs = dict(label_id=int(s.label_id) if is_label else None, threshold=o.threshold,
                      contiguous=o.contiguous, sample_merged=merged, antialias=o.antialias,
                      target=target, opacity=s.opacity)
        color = None if is_label else s.color
        x, y = pos.x(), pos.y()
        self.last_call = (x, y, color, kwargs)      # what was computed (tests, benchmarks)

        def compute(view, check):  # noqa: ANN001, ANN202
            vl = layer if view is doc else view.layers[idx if merged else 0]
            return core_fill.plan_fill(view, x, y, color, layer=vl, check=check, **kwargs)

        def apply(planned):  # noqa: ANN001, ANN202
            if planned is None or planned[0].is_empty():
                self.message("Nothing to fill here (outside the layer or the selection).")
                return False
            if doc.is_locked(layer):
                raise PermissionError(f"layer “{layer.name}” is locked")
            doc.history.apply_edit(layer, planned[0], label)
            return True

        pixels = doc.width * doc.height if merged else layer.width * layer.height
        try:
            start_job(self, canvas, "Filling", compute, apply, pixels=pixels,
                      layers=None if merged else [idx], verb="Fill")
        except (PermissionError, ValueError) as exc:
            self.message(str(exc))

    def cancel(self, canvas: Canvas) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()


__all__ = ["FillTool", "Similarity", "similarity_form", "busy", "ToolJob", "JobCancelled",
           "start_job", "running_job", "ASYNC_PIXELS"]
