"""Free transform tool (Layer > Transform > Free transform, Ctrl+T): the active layer in a box
with eight handles. Drag a handle to scale (the opposite side stays; Shift keeps the ratio),
drag outside the box to rotate (Shift: 15° steps), drag inside to move. The canvas shows the
transformed layer live (drawn by Qt from a preview image, the layer itself left out of the
rendered tiles); Enter applies ``core.transform.affine_transform_layer`` (premultiplied
resampling, 16-bit kept, the layer mask with it, one undo step), Esc cancels."""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen, QPolygonF, QTransform
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QPushButton, QWidget)

from .base import Tool

if TYPE_CHECKING:
    from ..canvas_api import CanvasView as Canvas

HANDLE_PX = 7
PREVIEW_MAX_SIDE = 2048   # the live preview image is at most this big (the result is full size)


class _Bridge(QObject):
    done = Signal(object)   # Transformed | Exception, from the worker thread


class TransformTool(Tool):
    name, title, shortcut, icon = "transform", "Free transform", "", "transform"
    tooltip = ("Scale (handles, Shift keeps the ratio), rotate (drag outside, Shift: 15° steps) "
               "or move the active layer; Enter applies, Esc cancels (Ctrl+T)")
    cursor = Qt.CursorShape.SizeAllCursor
    interactive = True

    selection_mode = False      # the box holds the selected pixels, not the whole layer
    selection_mode_applied = False
    applying = False            # the result is being computed on the worker thread
    SYNC_PIXELS = 2_000_000     # layers up to this size are resampled at once on Enter

    def __init__(self) -> None:
        self.layer: Any = None
        self._stay_image: QImage | None = None
        self._bridge = _Bridge()
        self._bridge.done.connect(self._prepared)
        self._thread: threading.Thread | None = None
        self._doc: Any = None
        self._canvas: Canvas | None = None
        self.sx = self.sy = 1.0
        self.angle = 0.0
        self.tx = self.ty = 0.0
        self.method = "bicubic"
        self._bounds = None             # the layer's doc Rect when the transform began
        self._image: QImage | None = None
        self._mode = ""
        self._start = QPointF()
        self._start_state: tuple = ()
        self._widget: QWidget | None = None
        self._listening = False

    # -- state -------------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.layer is not None

    def begin(self, canvas: Canvas) -> bool:
        """Put the active layer in the transform box (again: keep the current one)."""
        if not self._listening and self.manager is not None:
            self.manager.tool_changed.connect(self._tool_changed)
            self._listening = True
        doc = canvas.document
        layer = doc.active_layer
        if self.layer is not None and self.layer is layer and self._canvas is canvas:
            return True
        if self.layer is not None and self._canvas is not None:
            self.cancel(self._canvas)
        if layer is None:
            self.message("Select a layer to transform.")
            return False
        if layer.locked or doc.is_locked(layer):
            self.message(f"Layer “{layer.name}” is locked.")
            return False
        self.selection_mode = False
        self._stay_image = None
        if doc.selection is not None:
            if not self._begin_selection(doc, layer):
                return False
        else:
            self._bounds = layer.bounds
            self._image = self._preview_image(layer)
        self.layer, self._canvas = layer, canvas
        self._doc = doc
        doc.history.events.changed.connect(self._history_changed)   # undo / an edit: drop the box
        doc.events.active_layer.connect(self._history_changed)     # another layer chosen: too
        self.sx = self.sy = 1.0
        self.angle = self.tx = self.ty = 0.0
        if hasattr(canvas, "set_preview_hidden"):
            canvas.set_preview_hidden(layer)
        self._sync_widget()
        canvas.viewport().update()
        self.message("Free transform: drag handles to scale, outside to rotate, inside to move; "
                     "Enter applies, Esc cancels")
        return True

    def _begin_selection(self, doc: Any, layer: Any) -> bool:
        """Ctrl+T with a selection: the box holds the selected pixels (Photoshop / Krita)."""
        from ganstudio.core.operations import selection_in_layer
        from ganstudio.core.selection import mask_bounds

        if layer.mask is not None:
            self.message(f"“{layer.name}” has a layer mask: apply or delete it to transform a "
                         "selection of it, or deselect (Ctrl+Shift+A) to transform the whole layer.")
            return False
        cover = selection_in_layer(doc, layer)
        box = mask_bounds(cover)
        if box is None:
            self.message("The selection does not touch the active layer.")
            return False
        rgba = layer.rgba()
        if getattr(layer, "labels", None) is not None:
            c = (cover >= 128).astype(np.float32)
        else:
            c = cover.astype(np.float32) * (1.0 / 255.0)
        lifted = rgba[box.slices()].copy()
        lifted[..., 3] = (lifted[..., 3] * c[box.slices()] + 0.5).astype(rgba.dtype)
        stays = rgba.copy()
        stays[..., 3] = (stays[..., 3] * (1.0 - c) + 0.5).astype(rgba.dtype)
        self._image = self._to_qimage(lifted)
        self._stay_image = self._to_qimage(stays)
        self._bounds = box.translated(*layer.offset)
        self.selection_mode = True
        return True

    @staticmethod
    def _to_qimage(px: np.ndarray) -> QImage:
        import cv2

        from ganstudio.core.pixels import to_8bit

        px = to_8bit(px)
        h, w = px.shape[:2]
        k = min(1.0, PREVIEW_MAX_SIDE / max(w, h))
        if k < 1.0:
            px = cv2.resize(px, (max(1, int(w * k)), max(1, int(h * k))), interpolation=cv2.INTER_AREA)
        px = np.ascontiguousarray(px)
        hh, ww = px.shape[:2]
        return QImage(px.data, ww, hh, 4 * ww, QImage.Format.Format_RGBA8888).copy()

    @staticmethod
    def _preview_image(layer: Any) -> QImage:
        import cv2

        from ganstudio.core.pixels import to_8bit

        px = to_8bit(layer.rgba())
        h, w = px.shape[:2]
        k = min(1.0, PREVIEW_MAX_SIDE / max(w, h))
        if k < 1.0:
            px = cv2.resize(px, (max(1, int(w * k)), max(1, int(h * k))), interpolation=cv2.INTER_AREA)
        px = np.ascontiguousarray(px)
        mask = layer.effective_mask
        if mask is not None:
            if k < 1.0:
                mask = cv2.resize(mask, (px.shape[1], px.shape[0]), interpolation=cv2.INTER_AREA)
            px = px.copy()
            px[..., 3] = (px[..., 3].astype(np.uint16) * mask // 255).astype(np.uint8)
        hh, ww = px.shape[:2]
        return QImage(px.data, ww, hh, 4 * ww, QImage.Format.Format_RGBA8888).copy()

    def matrix(self) -> np.ndarray:
        """The 2x3 document-coordinate matrix of the current transform."""
        from ganstudio.core.transform import free_transform_matrix

        b = self._bounds
        c = (b.x + b.w / 2, b.y + b.h / 2)
        return free_transform_matrix(c, self.sx, self.sy, self.angle, (self.tx, self.ty))

    def set_transform(self, *, sx: float | None = None, sy: float | None = None,
                      angle: float | None = None, tx: float | None = None,
                      ty: float | None = None) -> None:
        if sx is not None:
            self.sx = float(sx)
        if sy is not None:
            self.sy = float(sy)
        if angle is not None:
            self.angle = float(angle)
        if tx is not None:
            self.tx = float(tx)
        if ty is not None:
            self.ty = float(ty)
        self._sync_widget()
        if self._canvas is not None:
            self._canvas.viewport().update()

    def _map(self, x: float, y: float) -> QPointF:
        m = self.matrix()
        return QPointF(m[0, 0] * x + m[0, 1] * y + m[0, 2], m[1, 0] * x + m[1, 1] * y + m[1, 2])

    def _corners_doc(self) -> list[QPointF]:
        b = self._bounds
        return [self._map(b.x, b.y), self._map(b.right, b.y), self._map(b.right, b.bottom),
                self._map(b.x, b.bottom)]

    def _handles_doc(self) -> list[QPointF]:
        c = self._corners_doc()
        mids = [(c[0] + c[1]) / 2, (c[1] + c[2]) / 2, (c[2] + c[3]) / 2, (c[3] + c[0]) / 2]
        return c + mids

    #: handle index -> (hx, hy) in the layer's own frame (-1 left/top, 1 right/bottom, 0 middle)
    _HANDLE_DIRS = [(-1, -1), (1, -1), (1, 1), (-1, 1), (0, -1), (1, 0), (0, 1), (-1, 0)]

    def _centre(self) -> QPointF:
        b = self._bounds
        return QPointF(b.x + b.w / 2 + self.tx, b.y + b.h / 2 + self.ty)

    def _to_local(self, p: QPointF) -> tuple[float, float]:
        """``p`` (document) in the box's rotated frame, relative to its centre (not scaled)."""
        c = self._centre()
        a = math.radians(self.angle)
        dx, dy = p.x() - c.x(), p.y() - c.y()
        return (math.cos(a) * dx + math.sin(a) * dy, -math.sin(a) * dx + math.cos(a) * dy)

    def _hit(self, canvas: Canvas, pos: QPointF) -> str:
        v = canvas.doc_to_view(pos)
        for i, h in enumerate(self._handles_doc()):
            hv = canvas.doc_to_view(h)
            if abs(hv.x() - v.x()) <= HANDLE_PX + 2 and abs(hv.y() - v.y()) <= HANDLE_PX + 2:
                return f"h{i}"
        poly = QPolygonF(self._corners_doc())
        return "move" if poly.containsPoint(pos, Qt.FillRule.OddEvenFill) else "rotate"

    # -- mouse -------------------------------------------------------------------------------------
    def hover_cursor(self, canvas: Canvas, pos: QPointF) -> Qt.CursorShape:
        """Resize over a handle, move inside the box, rotate (a pointing hand) outside it."""
        if not self.active or canvas is not self._canvas:
            return Qt.CursorShape.SizeAllCursor
        hit = self._hit(canvas, pos)
        if hit == "move":
            return Qt.CursorShape.SizeAllCursor
        if hit == "rotate":
            return Qt.CursorShape.PointingHandCursor
        hx, hy = self._HANDLE_DIRS[int(hit[1:])]
        # the handle's direction on screen (the box may be turned)
        a = math.radians(self.angle)
        dx, dy = hx * math.cos(a) - hy * math.sin(a), hx * math.sin(a) + hy * math.cos(a)
        ang = math.degrees(math.atan2(dy, dx)) % 180.0
        if ang < 22.5 or ang >= 157.5:
            return Qt.CursorShape.SizeHorCursor
        if ang < 67.5:
            return Qt.CursorShape.SizeFDiagCursor
        if ang < 112.5:
            return Qt.CursorShape.SizeVerCursor
        return Qt.CursorShape.SizeBDiagCursor

    def overlay_rect(self, canvas: Canvas, pos: QPointF | None) -> QRectF | None:
        # called on every hover move: the cursor follows what a press would do there
        if pos is not None and pos == canvas.hover_pos and not self._mode:
            canvas.viewport().setCursor(self.hover_cursor(canvas, pos))
        return None

    def press(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        if self.applying:
            return
        if not self.active or self._canvas is not canvas:
            if not self.begin(canvas):
                return
        self._mode = self._hit(canvas, pos)
        self._start = QPointF(pos)
        self._start_state = (self.sx, self.sy, self.angle, self.tx, self.ty)

    def move(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        if not self._mode or not self.active:
            return
        sx0, sy0, a0, tx0, ty0 = self._start_state
        keep = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if self._mode == "move":
            d = pos - self._start
            self.tx, self.ty = tx0 + d.x(), ty0 + d.y()
        elif self._mode == "rotate":
            self.sx, self.sy, self.angle, self.tx, self.ty = self._start_state
            c = self._centre()
            a_start = math.degrees(math.atan2(self._start.y() - c.y(), self._start.x() - c.x()))
            a_now = math.degrees(math.atan2(pos.y() - c.y(), pos.x() - c.x()))
            ang = a0 + (a_now - a_start)
            if keep:
                ang = round(ang / 15.0) * 15.0
            self.angle = (ang + 180.0) % 360.0 - 180.0
        else:
            self._scale_by_handle(int(self._mode[1:]), pos, keep)
        self._sync_widget()
        canvas.viewport().update()

    def _scale_by_handle(self, i: int, pos: QPointF, keep: bool) -> None:
        sx0, sy0, a0, tx0, ty0 = self._start_state
        self.sx, self.sy, self.angle, self.tx, self.ty = self._start_state
        b = self._bounds
        hx, hy = self._HANDLE_DIRS[i]
        w2, h2 = b.w / 2 * sx0, b.h / 2 * sy0            # signed half extents now
        ax, ay = -hx * w2, -hy * h2                        # the anchor (opposite side), local
        qx, qy = self._to_local(pos)
        sx, sy = sx0, sy0
        if hx:
            sx = (qx - ax) * hx / b.w if b.w else sx0
        if hy:
            sy = (qy - ay) * hy / b.h if b.h else sy0
        if keep:
            if hx and hy:
                k = max(abs(sx / sx0) if sx0 else 1.0, abs(sy / sy0) if sy0 else 1.0)
                sx = math.copysign(abs(sx0) * k, sx)
                sy = math.copysign(abs(sy0) * k, sy)
            elif hx:
                sy = sy0 * (sx / sx0 if sx0 else 1.0)
            else:
                sx = sx0 * (sy / sy0 if sy0 else 1.0)
        for v in (sx, sy):
            if abs(v) < 1e-3:
                return
        # new centre, local: the anchor + half the new extent towards the handle
        cx_l = ax + hx * b.w * sx / 2 if hx else 0.0
        cy_l = ay + hy * b.h * sy / 2 if hy else 0.0
        if keep and not hx:
            cx_l = 0.0
        if keep and not hy:
            cy_l = 0.0
        a = math.radians(a0)
        dx = math.cos(a) * cx_l - math.sin(a) * cy_l
        dy = math.sin(a) * cx_l + math.cos(a) * cy_l
        self.sx, self.sy = sx, sy
        self.tx, self.ty = tx0 + dx, ty0 + dy

    def release(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        if self._mode:
            self.move(canvas, pos, event)
        self._mode = ""

    # -- apply / cancel ----------------------------------------------------------------------------
    def is_identity(self) -> bool:
        return (self.sx, self.sy, self.angle, self.tx, self.ty) == (1.0, 1.0, 0.0, 0.0, 0.0)

    def commit(self, canvas: Canvas) -> bool:
        """Enter: resample the layer (or its selected pixels) through the transform, one undo
        step. Big layers are resampled on a worker thread while the preview stays on the canvas
        (``applying`` is True meanwhile); the result is applied when it is ready."""
        from ganstudio.core.transform import prepare_transform

        if not self.active or self.applying:
            return False
        layer, m, doc = self.layer, self.matrix(), canvas.document
        selection = self.selection_mode_applied = self.selection_mode
        if self.is_identity() or not doc.contains(layer):
            self._finish()
            return False
        if layer.width * layer.height <= self.SYNC_PIXELS:
            self._finish()
            try:
                t = prepare_transform(doc, m, layer, method=self.method, selected=selection)
            except (ValueError, PermissionError) as exc:
                self.message(str(exc))
                return False
            return self._apply(doc, t)
        self.applying = True
        self.message("Transforming…")
        self._sync_widget()
        bridge, method = self._bridge, self.method

        def run() -> None:
            try:
                res: Any = prepare_transform(doc, m, layer, method=method, selected=selection)
            except Exception as exc:  # noqa: BLE001 - reported on the GUI thread
                res = exc
            bridge.done.emit(res)

        self._thread = threading.Thread(target=run, name="free-transform", daemon=True)
        self._thread.start()
        return True

    def _prepared(self, res: Any) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        doc = self._doc
        self.applying = False
        self._finish()
        if doc is None:
            return
        if isinstance(res, Exception):
            self.message(str(res))
            return
        self._apply(doc, res)

    def _apply(self, doc: Any, t: Any) -> bool:
        from ganstudio.core.transform import commit_transform

        try:
            commit_transform(doc, t)
        except (ValueError, PermissionError) as exc:
            self.message(str(exc))
            return False
        self.message("Transformed")
        return True

    def wait_applied(self) -> None:
        """Block until a transform being computed on the worker is ready (tests, closing)."""
        t = self._thread
        if t is not None:
            t.join()

    def cancel(self, canvas: Canvas) -> None:
        if self.applying:
            return                  # the result is on its way; it is applied when ready
        self._finish()

    def _history_changed(self, *_: Any) -> None:
        if self.active and self._canvas is not None and not self.applying:
            self.message("Free transform cancelled: the image or the active layer changed.")
            self.cancel(self._canvas)

    def _finish(self) -> None:
        doc = getattr(self, "_doc", None)
        if doc is not None:
            doc.history.events.changed.disconnect(self._history_changed)
            doc.events.active_layer.disconnect(self._history_changed)
            self._doc = None
        canvas = self._canvas
        self.layer = None
        self._image = None
        self._stay_image = None
        self.selection_mode = False
        self._mode = ""
        self.sx = self.sy = 1.0
        self.angle = self.tx = self.ty = 0.0
        if canvas is not None:
            if hasattr(canvas, "set_preview_hidden"):
                canvas.set_preview_hidden(None)
            canvas.viewport().update()
        self._canvas = None
        self._sync_widget()

    def _tool_changed(self, name: str) -> None:
        if name != self.name and self.active and not self.applying:
            self.cancel(self._canvas)  # type: ignore[arg-type]

    # -- drawing -----------------------------------------------------------------------------------
    def paint_overlay(self, painter: QPainter, canvas: Canvas) -> None:
        if not self.active or canvas is not self._canvas or self._image is None:
            return
        b = self._bounds
        img = self._image
        m = self.matrix()
        z = canvas.zoom
        o = canvas.doc_to_view(QPointF(0, 0))
        # image pixel -> layer doc rect -> matrix -> view
        to_doc = QTransform(b.w / img.width(), 0, 0, b.h / img.height(), b.x, b.y)
        mt = QTransform(m[0, 0], m[1, 0], m[0, 1], m[1, 1], m[0, 2], m[1, 2])
        view = QTransform(z, 0, 0, z, o.x(), o.y())
        opacity = float(self.layer.opacity) if self.layer.visible else 0.0
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        if self._stay_image is not None:     # selection mode: what stays, where it is
            lb = self.layer.bounds
            st = self._stay_image
            painter.setTransform(QTransform(lb.w / st.width(), 0, 0, lb.h / st.height(), lb.x, lb.y) * view)
            painter.setOpacity(opacity)
            painter.drawImage(QPointF(0, 0), st)
        painter.setTransform(to_doc * mt * view)
        painter.setOpacity(opacity)
        painter.drawImage(QPointF(0, 0), img)
        painter.restore()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pts = [canvas.doc_to_view(p) for p in self._handles_doc()]
        painter.setPen(QPen(QColor(0, 0, 0), 3))
        painter.drawPolygon(QPolygonF(pts[:4]))
        painter.setPen(QPen(QColor(255, 255, 255), 1))
        painter.drawPolygon(QPolygonF(pts[:4]))
        painter.setBrush(QColor(255, 255, 255))
        painter.setPen(QPen(QColor(0, 0, 0), 1))
        for p in pts:
            painter.drawRect(QRectF(p.x() - HANDLE_PX / 2, p.y() - HANDLE_PX / 2, HANDLE_PX, HANDLE_PX))
        c = canvas.doc_to_view(self._centre())
        painter.drawEllipse(c, 3, 3)
        painter.restore()

    # -- tool options ------------------------------------------------------------------------------
    def options_widget(self) -> QWidget:
        if self._widget is not None:
            return self._widget
        w = QWidget()
        w.setObjectName("transform_options")
        form = QFormLayout(w)
        form.setContentsMargins(0, 0, 0, 0)

        def spin(lo: float, hi: float, suffix: str, decimals: int = 1) -> QDoubleSpinBox:
            s = QDoubleSpinBox()
            s.setRange(lo, hi)
            s.setDecimals(decimals)
            s.setSuffix(suffix)
            s.setKeyboardTracking(False)
            return s

        self.w_spin = spin(-10000, 10000, " %")
        self.h_spin = spin(-10000, 10000, " %")
        self.a_spin = spin(-180, 180, "°", 2)
        self.w_spin.valueChanged.connect(lambda v: self._from_widget(sx=v / 100))
        self.h_spin.valueChanged.connect(lambda v: self._from_widget(sy=v / 100))
        self.a_spin.valueChanged.connect(lambda v: self._from_widget(angle=v))
        form.addRow("Width", self.w_spin)
        form.addRow("Height", self.h_spin)
        form.addRow("Angle", self.a_spin)
        self.method_combo = QComboBox()
        for label, value in (("Bicubic", "bicubic"), ("Bilinear", "bilinear"), ("Nearest", "nearest")):
            self.method_combo.addItem(label, value)
        self.method_combo.currentIndexChanged.connect(
            lambda _i: setattr(self, "method", self.method_combo.currentData()))
        form.addRow("Resampling", self.method_combo)
        self.state_label = QLabel()
        self.state_label.setWordWrap(True)
        form.addRow(self.state_label)
        row = QHBoxLayout()
        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("transform_apply")
        self.apply_button.setToolTip("Apply the transform (Enter)")
        self.apply_button.clicked.connect(lambda: self._canvas is not None and self.commit(self._canvas))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Drop the transform (Esc)")
        self.cancel_button.clicked.connect(lambda: self._canvas is not None and self.cancel(self._canvas))
        row.addWidget(self.apply_button)
        row.addWidget(self.cancel_button)
        form.addRow(row)
        self._widget = w
        self._sync_widget()
        return w

    def _from_widget(self, **kw: float) -> None:
        if self._syncing or not self.active:
            return
        self.set_transform(**kw)

    _syncing = False

    def _sync_widget(self) -> None:
        if self._widget is None:
            return
        self._syncing = True
        try:
            for s, v in ((self.w_spin, self.sx * 100), (self.h_spin, self.sy * 100),
                         (self.a_spin, self.angle)):
                s.setValue(v)
                s.setEnabled(self.active)
        finally:
            self._syncing = False
        self.apply_button.setEnabled(self.active and not self.applying)
        self.cancel_button.setEnabled(self.active and not self.applying)
        self.state_label.setText(
            (f"The selection of “{self.layer.name}”" if self.selection_mode
             else f"“{self.layer.name}”")
            if self.active else "Click the image (or Ctrl+T) to transform the active layer "
                                "(with a selection: the selected pixels).")
