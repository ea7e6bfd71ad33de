"""Dialogs of Image > Adjustments (Levels, Curves, Hue / Saturation, Brightness / Contrast) and
Filters > Blur / Sharpen (Gaussian blur, Unsharp mask), with a live preview on the canvas.

The preview (as GIMP's): while "Preview" is ticked the active layer *shows* the adjusted pixels.
Only the part of the layer in view is computed (``core.adjustments.compute_pixel_op(...,
within=)``, the same pixels the whole operation gives there), on a worker thread from the original
array, so the GUI never waits; changes are throttled and the newest settings win. The result is
written into a preview copy of the layer that the layer shows meanwhile, without a history step;
the canvas re-renders the touched tiles with its time budget. OK commits the preview when it
covers everything the operation changes (``apply_precomputed``: one undo step), else computes the
whole operation on the worker first (the dialog waits, the window does not); Cancel (or closing
the dialog) gives the layer its original array object back, so nothing changes, bit for bit.
The window's autosave pauses while a dialog is open.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFormLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout,
                               QWidget)

from ganstudio.core.geometry import Rect

from ..labeled_slider import LabeledSlider

THROTTLE_MS = 60


class _Bridge(QObject):
    done = Signal(int, object)   # generation, (rect, pixels) | None | an exception


class PreviewDialog(QDialog):
    """Base: subclasses build their controls in ``build(form)`` and return the operation (an
    object with ``apply``, ``label``, ``is_identity`` and optionally ``margin``) from ``op()``;
    they call ``self.changed()`` whenever a control changes."""

    title = "Adjust"
    kind = "adjustment"   # "adjustment" | "filter"

    def __init__(self, window: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent if parent is not None else window)
        self.setWindowTitle(self.title)
        self.setObjectName(f"{type(self).__name__}")
        self.window_ = window
        self.doc = window.document
        self.layer = self.doc.active_layer
        self._original = self.layer.data
        self._orig_mask = self.layer.mask
        self._buffer: np.ndarray | None = None   # the preview copy the layer shows
        self._written: Rect | None = None        # where the buffer differs from the original
        self._generation = 0
        self._shown = 0                 # generation now shown on the canvas (0: the original)
        self._shown_op: Any = None      # the operation whose result is shown
        self._shown_full = False        # ... and it covers all the operation changes
        self._jobs: dict[int, tuple[Any, bool]] = {}   # generation -> (operation, whole layer)
        self._thread: threading.Thread | None = None
        self._pending = False
        self._committing: Any = None    # the operation OK waits for
        self._closed = False
        self.previews = 0               # how many preview results were shown (tests)
        self.reused_preview = False
        self._bridge = _Bridge()
        self._bridge.done.connect(self._result)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(THROTTLE_MS)
        self._timer.timeout.connect(self._start_preview)
        self._autosave = getattr(window, "_autosave_timer", None)
        self._autosave_was_active = bool(self._autosave is not None and self._autosave.isActive())
        if self._autosave_was_active:
            self._autosave.stop()

        lay = QVBoxLayout(self)
        form = QFormLayout()
        lay.addLayout(form)
        self.build(form)
        bottom = QHBoxLayout()
        self.preview_box = QCheckBox("Preview")
        self.preview_box.setObjectName("preview")
        self.preview_box.setChecked(True)
        self.preview_box.toggled.connect(self._preview_toggled)
        self.reset_button = QPushButton("Reset")
        self.reset_button.clicked.connect(self.reset)
        self.busy = QLabel("")
        self.busy.setObjectName("emptyHint")
        bottom.addWidget(self.preview_box)
        bottom.addWidget(self.busy, 1)
        bottom.addWidget(self.reset_button)
        lay.addLayout(bottom)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        sel = self.doc.selection is not None
        note = QLabel(f"Layer “{self.layer.name}”" + (", inside the selection" if sel else ""))
        note.setObjectName("emptyHint")
        lay.insertWidget(0, note)

    # -- for subclasses ----------------------------------------------------------------------------
    def build(self, form: QFormLayout) -> None:
        raise NotImplementedError

    def op(self) -> Any:
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def changed(self, *_: Any) -> None:
        """A control changed: preview at most every THROTTLE_MS while it keeps changing (a
        throttle, not a debounce: a slider drag shows results during the drag)."""
        if hasattr(self, "preview_box") and self.preview_box.isChecked() and self._committing is None \
                and not self._timer.isActive():
            self._timer.start()

    # -- preview machinery -------------------------------------------------------------------------
    def visible_region(self) -> Rect | None:
        """The part of the layer in view (layer coordinates); None: the whole layer."""
        canvas = getattr(self.window_, "canvas", None)
        if canvas is None or canvas.document is not self.doc:
            return None
        view = canvas.view_rect_to_doc(canvas.viewport().rect())
        part = view.intersect(self.layer.bounds)
        if part.is_empty():
            return Rect(0, 0, 0, 0)
        r = self.layer.to_layer_rect(part)
        return None if (r.w, r.h) == (self.layer.width, self.layer.height) else r

    def _run(self, gen: int, op: Any, within: Rect | None, *, preview: bool = True) -> None:
        from ganstudio.core.adjustments import compute_pixel_op

        bridge, need_buffer = self._bridge, preview and self._buffer is None

        def run() -> None:
            try:
                res: Any = compute_pixel_op(self.doc, self.layer, op.apply,
                                            int(getattr(op, "margin", 0)), source=self._original,
                                            within=within)
                if res is not None and need_buffer:
                    res = (res[0], res[1], self._original.copy())   # the preview copy, once
            except Exception as exc:  # noqa: BLE001 - reported on the GUI thread
                res = exc
            bridge.done.emit(gen, res)

        self._thread = threading.Thread(target=run, name="adjust-preview", daemon=True)
        self._thread.start()

    def _start_preview(self) -> None:
        if self._closed or not self.preview_box.isChecked() or self._committing is not None:
            return
        if self._thread is not None:
            self._pending = True          # the newest settings run when this one ends
            return
        try:
            op = self.op()
        except ValueError as exc:
            self.busy.setText(str(exc))
            return
        self._generation += 1
        self._pending = False
        if op.is_identity:
            self._show_original()
            return
        within = self.visible_region()
        self.preview_region = within      # None: the whole layer
        self._jobs = {self._generation: (op, within is None)}
        self.busy.setText("Computing preview…")
        self._run(self._generation, op, within)

    def _result(self, gen: int, res: Any) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._closed:
            return
        self.busy.setText("")
        if self._committing is not None:
            self._commit_result(res)
            return
        if isinstance(res, Exception):
            self.busy.setText(f"Preview failed: {res}")
        elif gen == self._generation and self.preview_box.isChecked():
            self._show(res)
            op, whole = self._jobs.get(gen, (None, False))
            self._shown, self._shown_op, self._shown_full = gen, op, whole
            self.previews += 1
        if self._pending:
            self._pending = False
            self._start_preview()

    def _show(self, res: Any) -> None:
        layer = self.layer
        if res is None:                   # nothing of the operation's area is in view
            self._show_original()
            return
        rect, pixels = res[0], res[1]
        if len(res) > 2 and self._buffer is None:
            self._buffer = res[2]
        buf = self._buffer
        assert buf is not None
        dirty = rect if self._written is None else rect.union(self._written)
        if self._written is not None:
            buf[self._written.slices()] = self._original[self._written.slices()]
        buf[rect.slices()] = pixels
        self._written = rect
        if layer.data is not buf:
            layer.replace_data(buf, self._orig_mask)
        else:
            layer.notify_pixels(dirty)

    def _show_original(self) -> None:
        if self.layer.data is not self._original:
            self.layer.replace_data(self._original, self._orig_mask)
        self._shown, self._shown_op, self._shown_full = 0, None, False

    def _preview_toggled(self, on: bool) -> None:
        if on:
            self._start_preview()
        else:
            self._generation += 1
            self._show_original()

    def wait_preview(self) -> None:
        """Block until the running computation ends (tests, closing)."""
        t = self._thread
        if t is not None:
            t.join()

    def _stop(self) -> None:
        self._closed = True
        self._timer.stop()
        self.wait_preview()
        self._thread = None
        self._show_original()
        self._buffer = None
        if self._autosave_was_active and self._autosave is not None:
            self._autosave.start()
            self._autosave_was_active = False

    # -- OK / Cancel -------------------------------------------------------------------------------
    def accept(self) -> None:
        if self._committing is not None:
            return
        try:
            op = self.op()
        except ValueError as exc:
            self.window_.show_error(self.title, str(exc))
            return
        reuse = (self._shown and self._shown_full and self._shown_op == op and self._thread is None
                 and not self._pending and not op.is_identity)
        if reuse:
            shown = self.layer.data
            self._stop()
            self.reused_preview = True
            self._commit(lambda: self._apply_precomputed(shown, None, op.label))
            return
        if op.is_identity:
            self._stop()
            super().accept()
            return
        # compute the whole operation on the worker; the window stays responsive meanwhile
        self._committing = op
        self._timer.stop()
        self._pending = False
        for w in (self.buttons, self.preview_box, self.reset_button):
            w.setEnabled(False)
        self.busy.setText("Applying…")
        self.setCursor(Qt.CursorShape.BusyCursor)
        if self._thread is None:
            self._start_whole()
        # else: the running preview ends first (_result), then the whole computation starts

    _whole_started = False

    def _start_whole(self) -> None:
        self._whole_started = True
        self._generation += 1
        self._run(self._generation, self._committing, None, preview=False)

    def _commit_result(self, res: Any) -> None:
        if not self._whole_started:
            self._start_whole()
            return
        label = self._committing.label
        self._stop()
        if isinstance(res, Exception):
            self.window_.show_error(self.title, str(res))
            super().reject()
        elif res is None:                 # the selection does not touch the layer
            super().accept()
        else:
            self._commit(lambda: self._apply_precomputed(res[1], res[0], label))

    def _apply_precomputed(self, pixels: np.ndarray, rect: Rect | None, label: str) -> None:
        from ganstudio.core.adjustments import apply_precomputed

        apply_precomputed(self.doc, pixels, label, self.layer, rect=rect)

    def _commit(self, fn: Any) -> None:
        try:
            fn()
        except (ValueError, PermissionError) as exc:
            self.window_.show_error(self.title, str(exc))
        super().accept()

    def apply(self, op: Any) -> None:
        """Apply ``op`` with the core operation (synchronously; scripts and tests)."""
        if self.kind == "filter":
            from ganstudio.core.filters import apply_filter

            apply_filter(self.doc, op, self.layer)
        else:
            from ganstudio.core.adjustments import apply_adjustment

            apply_adjustment(self.doc, op, self.layer)

    def reject(self) -> None:
        self._stop()
        super().reject()

    def done(self, r: int) -> None:  # noqa: D401 - also when closed by the window manager
        if not self._closed:
            self._stop()
        super().done(r)


def _spin(lo: float, hi: float, value: float, decimals: int = 2, step: float = 0.1,
          suffix: str = "") -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setDecimals(decimals)
    s.setSingleStep(step)
    s.setValue(value)
    s.setSuffix(suffix)
    return s


# -- Levels ----------------------------------------------------------------------------------------
class Histogram(QWidget):
    """A small histogram of the layer (value = max(R, G, B) or one channel), square-root scaled."""

    def __init__(self, px: np.ndarray, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(256, 80)
        step = max(1, int(np.sqrt(px.shape[0] * px.shape[1] / 250_000)))
        sub = px[::step, ::step]
        maxv = 65535 if sub.dtype == np.uint16 else 255
        vis = sub[..., 3] > 0
        self.hists = {}
        for name, plane in (("rgb", sub[..., :3].max(axis=2)), ("red", sub[..., 0]),
                            ("green", sub[..., 1]), ("blue", sub[..., 2])):
            vals = (plane[vis].astype(np.int64) * 255 + maxv // 2) // maxv
            self.hists[name] = np.bincount(vals, minlength=256)[:256]
        self.channel = "rgb"
        self.marks: tuple[float, float] = (0.0, 1.0)   # input black / white (0..1)

    def paintEvent(self, _e: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#202226"))
        h = np.sqrt(self.hists[self.channel].astype(np.float64))
        top = float(np.percentile(h, 99.0)) or float(h.max()) or 1.0   # a spike does not flatten it
        h = np.minimum(h, top)
        w, ht = self.width(), self.height()
        path = QPainterPath(QPointF(0, ht))
        for i, v in enumerate(h):
            path.lineTo(QPointF(i * w / 255.0, ht - v / top * (ht - 4)))
        path.lineTo(QPointF(w, ht))
        color = {"rgb": QColor(200, 200, 200), "red": QColor(230, 80, 80), "green": QColor(80, 200, 90),
                 "blue": QColor(90, 130, 240)}[self.channel]
        p.fillPath(path, color)
        p.setPen(QPen(QColor(255, 210, 60), 1))
        for m in self.marks:          # the input black and white points
            x = m * (w - 1)
            p.drawLine(QPointF(x, 0), QPointF(x, ht))
        p.end()


class LevelsDialog(PreviewDialog):
    title = "Levels"

    def build(self, form: QFormLayout) -> None:
        from ganstudio.core.adjustments import LevelsChannel

        self.values = {c: LevelsChannel() for c in ("master", "red", "green", "blue")}
        self.channel = QComboBox()
        for label, key in (("RGB (value)", "master"), ("Red", "red"), ("Green", "green"), ("Blue", "blue")):
            self.channel.addItem(label, key)
        self.channel.currentIndexChanged.connect(self._channel_changed)
        form.addRow("Channel", self.channel)
        self.histogram = Histogram(self._original)
        form.addRow(self.histogram)
        self.in_low = QSpinBox()
        self.in_high = QSpinBox()
        self.out_low = QSpinBox()
        self.out_high = QSpinBox()
        for s, v in ((self.in_low, 0), (self.in_high, 255), (self.out_low, 0), (self.out_high, 255)):
            s.setRange(0, 255)
            s.setValue(v)
            s.valueChanged.connect(self._edited)
        self.gamma = _spin(0.1, 10.0, 1.0, 2, 0.05)
        self.gamma.valueChanged.connect(self._edited)
        row = QHBoxLayout()
        for w in (self.in_low, self.gamma, self.in_high):
            row.addWidget(w)
        form.addRow("Input (black, gamma, white)", row)
        row2 = QHBoxLayout()
        row2.addWidget(self.out_low)
        row2.addWidget(self.out_high)
        form.addRow("Output (black, white)", row2)
        self.auto_button = QPushButton("Auto")
        self.auto_button.setToolTip("Stretch each channel between its 0.1 % darkest and lightest pixels")
        self.auto_button.clicked.connect(self.auto)
        form.addRow("", self.auto_button)
        self._loading = False

    def _key(self) -> str:
        return self.channel.currentData()

    def _channel_changed(self, _i: int) -> None:
        v = self.values[self._key()]
        self._loading = True
        self.in_low.setValue(round(v.in_low * 255))
        self.in_high.setValue(round(v.in_high * 255))
        self.gamma.setValue(v.gamma)
        self.out_low.setValue(round(v.out_low * 255))
        self.out_high.setValue(round(v.out_high * 255))
        self._loading = False
        self.histogram.channel = "rgb" if self._key() == "master" else self._key()
        self.histogram.marks = (v.in_low, v.in_high)
        self.histogram.update()

    def _edited(self, *_: Any) -> None:
        from ganstudio.core.adjustments import LevelsChannel

        if self._loading:
            return
        lo, hi = self.in_low.value(), self.in_high.value()
        if hi <= lo:
            return
        self.values[self._key()] = LevelsChannel(lo / 255, hi / 255, self.gamma.value(),
                                                 self.out_low.value() / 255, self.out_high.value() / 255)
        self.histogram.marks = (lo / 255, hi / 255)
        self.histogram.update()
        self.changed()

    def set_channel_levels(self, key: str, **kw: float) -> None:
        """Set one channel's levels (0..1 values; the form follows)."""
        from dataclasses import replace

        self.values[key] = replace(self.values[key], **kw)
        self.channel.setCurrentIndex(self.channel.findData(key))
        self._channel_changed(0)
        self.changed()

    def auto(self) -> None:
        from ganstudio.core.adjustments import LevelsChannel

        maxv = 65535.0 if self._original.dtype == np.uint16 else 255.0
        sub = self._original[::4, ::4]
        vis = sub[..., 3] > 0
        for c, key in enumerate(("red", "green", "blue")):
            vals = sub[..., c][vis]
            if vals.size == 0:
                continue
            lo, hi = np.percentile(vals, [0.1, 99.9]) / maxv
            if hi - lo > 1e-3:
                self.values[key] = LevelsChannel(float(lo), float(hi))
        self._channel_changed(0)
        self.changed()

    def op(self) -> Any:
        from ganstudio.core.adjustments import Levels

        return Levels(**self.values)

    def reset(self) -> None:
        from ganstudio.core.adjustments import LevelsChannel

        self.values = {c: LevelsChannel() for c in self.values}
        self._channel_changed(0)
        self.changed()


# -- Curves ----------------------------------------------------------------------------------------
class CurveEditor(QWidget):
    """Click to add a point, drag to move it, drag it out sideways past a neighbour or
    right-click to remove it (the two end points stay)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(256, 256)
        self.points: list[tuple[float, float]] = [(0.0, 0.0), (1.0, 1.0)]
        self._drag: int | None = None
        self.setMouseTracking(True)

    def set_points(self, pts: list[tuple[float, float]]) -> None:
        self.points = sorted((float(a), float(b)) for a, b in pts)
        self.update()
        self.changed.emit()

    def _to_widget(self, x: float, y: float) -> QPointF:
        return QPointF(x * (self.width() - 1), (1 - y) * (self.height() - 1))

    def _from_widget(self, p: QPointF) -> tuple[float, float]:
        return (min(1.0, max(0.0, p.x() / max(1, self.width() - 1))),
                min(1.0, max(0.0, 1 - p.y() / max(1, self.height() - 1))))

    def _nearest(self, p: QPointF) -> int | None:
        for i, (x, y) in enumerate(self.points):
            q = self._to_widget(x, y)
            if abs(q.x() - p.x()) <= 8 and abs(q.y() - p.y()) <= 8:
                return i
        return None

    def mousePressEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        i = self._nearest(e.position())
        if e.button() == Qt.MouseButton.RightButton:
            if i is not None and 0 < i < len(self.points) - 1:
                del self.points[i]
                self.update()
                self.changed.emit()
            return
        if i is None:
            x, y = self._from_widget(e.position())
            if any(abs(x - px) < 0.01 for px, _ in self.points):
                return
            self.points.append((x, y))
            self.points.sort()
            i = next(k for k, pt in enumerate(self.points) if pt == (x, y))
            self.changed.emit()
        self._drag = i
        self.update()

    def mouseMoveEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if self._drag is None:
            return
        i = self._drag
        x, y = self._from_widget(e.position())
        lo = self.points[i - 1][0] + 0.005 if i > 0 else 0.0
        hi = self.points[i + 1][0] - 0.005 if i < len(self.points) - 1 else 1.0
        if i == 0:
            x = min(x, hi)
        elif i == len(self.points) - 1:
            x = max(x, lo)
        else:
            x = min(max(x, lo), hi)
        self.points[i] = (x, y)
        self.update()
        self.changed.emit()

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        self._drag = None

    def paintEvent(self, _e: QPaintEvent) -> None:  # noqa: N802
        from ganstudio.core.adjustments import spline_curve

        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("#202226"))
        p.setPen(QPen(QColor(70, 72, 78), 1))
        for k in range(1, 4):
            x = self.width() * k / 4
            y = self.height() * k / 4
            p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
            p.drawLine(QPointF(0, y), QPointF(self.width(), y))
        xs = np.linspace(0, 1, 128)
        ys = spline_curve(self.points, xs)
        path = QPainterPath(self._to_widget(xs[0], ys[0]))
        for x, y in zip(xs[1:], ys[1:]):
            path.lineTo(self._to_widget(float(x), float(y)))
        p.setPen(QPen(QColor(230, 230, 230), 2))
        p.drawPath(path)
        p.setBrush(QColor(255, 255, 255))
        p.setPen(QPen(QColor(0, 0, 0), 1))
        for x, y in self.points:
            q = self._to_widget(x, y)
            p.drawRect(QRectF(q.x() - 4, q.y() - 4, 8, 8))
        p.end()


class CurvesDialog(PreviewDialog):
    title = "Curves"

    def build(self, form: QFormLayout) -> None:
        self.curves = {c: [(0.0, 0.0), (1.0, 1.0)] for c in ("master", "red", "green", "blue")}
        self.channel = QComboBox()
        for label, key in (("RGB (value)", "master"), ("Red", "red"), ("Green", "green"), ("Blue", "blue")):
            self.channel.addItem(label, key)
        self.channel.currentIndexChanged.connect(self._channel_changed)
        form.addRow("Channel", self.channel)
        self.editor = CurveEditor()
        self.editor.changed.connect(self._edited)
        form.addRow(self.editor)
        hint = QLabel("Click to add a point, drag to move it, right-click to remove it.")
        hint.setObjectName("emptyHint")
        form.addRow(hint)

    def _channel_changed(self, _i: int) -> None:
        self.editor.blockSignals(True)
        self.editor.set_points(self.curves[self.channel.currentData()])
        self.editor.blockSignals(False)

    def _edited(self) -> None:
        self.curves[self.channel.currentData()] = list(self.editor.points)
        self.changed()

    def set_curve(self, key: str, points: list[tuple[float, float]]) -> None:
        self.channel.setCurrentIndex(self.channel.findData(key))
        self.editor.set_points(points)

    def op(self) -> Any:
        from ganstudio.core.adjustments import Curves

        return Curves(**{k: tuple(v) for k, v in self.curves.items()})

    def reset(self) -> None:
        self.curves = {c: [(0.0, 0.0), (1.0, 1.0)] for c in self.curves}
        self._channel_changed(0)
        self.changed()


# -- sliders ---------------------------------------------------------------------------------------
class _SliderDialog(PreviewDialog):
    #: (attribute, label, minimum, maximum, default)
    controls: tuple = ()

    def build(self, form: QFormLayout) -> None:
        self.sliders: dict[str, LabeledSlider] = {}
        for attr, label, lo, hi, default in self.controls:
            s = LabeledSlider(lo, hi)
            s.setObjectName(attr)
            s.setValue(default)
            s.valueChanged.connect(self.changed)
            form.addRow(label, s)
            self.sliders[attr] = s

    def reset(self) -> None:
        for attr, _label, _lo, _hi, default in self.controls:
            self.sliders[attr].setValue(default)
        self.changed()


class HueSaturationDialog(_SliderDialog):
    title = "Hue / Saturation"
    controls = (("hue", "Hue", -180, 180, 0), ("saturation", "Saturation", -100, 100, 0),
                ("lightness", "Lightness", -100, 100, 0))

    def op(self) -> Any:
        from ganstudio.core.adjustments import HueSaturation

        return HueSaturation(**{a: float(s.value()) for a, s in self.sliders.items()})


class BrightnessContrastDialog(_SliderDialog):
    title = "Brightness / Contrast"
    controls = (("brightness", "Brightness", -100, 100, 0), ("contrast", "Contrast", -100, 100, 0))

    def op(self) -> Any:
        from ganstudio.core.adjustments import BrightnessContrast

        return BrightnessContrast(**{a: float(s.value()) for a, s in self.sliders.items()})


# -- filters ---------------------------------------------------------------------------------------
class GaussianBlurDialog(PreviewDialog):
    title = "Gaussian blur"
    kind = "filter"

    def build(self, form: QFormLayout) -> None:
        self.sigma = _spin(0.0, 500.0, 2.0, 1, 0.5, " px")
        self.sigma.setObjectName("sigma")
        self.sigma.setToolTip("Standard deviation of the Gaussian (GIMP's Size, Photoshop's Radius)")
        self.sigma.valueChanged.connect(self.changed)
        form.addRow("Size", self.sigma)
        QTimer.singleShot(0, self, self.changed)   # preview the default at once

    def op(self) -> Any:
        from ganstudio.core.filters import GaussianBlur

        return GaussianBlur(self.sigma.value())

    def reset(self) -> None:
        self.sigma.setValue(2.0)


class UnsharpMaskDialog(PreviewDialog):
    title = "Unsharp mask"
    kind = "filter"

    def build(self, form: QFormLayout) -> None:
        self.sigma = _spin(0.1, 500.0, 2.0, 1, 0.5, " px")
        self.amount = _spin(0.0, 1000.0, 50.0, 0, 5.0, " %")
        self.threshold = QSpinBox()
        self.threshold.setRange(0, 255)
        for w, name in ((self.sigma, "sigma"), (self.amount, "amount"), (self.threshold, "threshold")):
            w.setObjectName(name)
            w.valueChanged.connect(self.changed)
        form.addRow("Radius", self.sigma)
        form.addRow("Amount", self.amount)
        form.addRow("Threshold", self.threshold)
        QTimer.singleShot(0, self, self.changed)

    def op(self) -> Any:
        from ganstudio.core.filters import UnsharpMask

        return UnsharpMask(self.sigma.value(), self.amount.value() / 100.0, float(self.threshold.value()))

    def reset(self) -> None:
        self.sigma.setValue(2.0)
        self.amount.setValue(50.0)
        self.threshold.setValue(0)


DIALOGS = {"levels": LevelsDialog, "curves": CurvesDialog, "hue_saturation": HueSaturationDialog,
           "brightness_contrast": BrightnessContrastDialog, "gaussian_blur": GaussianBlurDialog,
           "unsharp_mask": UnsharpMaskDialog}
