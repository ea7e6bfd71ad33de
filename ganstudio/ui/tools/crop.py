"""Crop tool (C): drag a rectangle, adjust it with its eight handles or move it, Enter crops
(``core.operations.crop``: one undo step), Esc cancels. Aspect-ratio presets (free, the image's,
1:1, 4:3, 3:2, 16:9, 5:4 and their portrait forms) in the tool options; Shift while dragging
keeps the current ratio. Outside the rectangle is shaded, with rule-of-thirds guides inside."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from .base import Tool

if TYPE_CHECKING:
    from ..canvas_api import CanvasView as Canvas

#: (label, (w, h) ratio; None = free, "image" = the image's own)
ASPECTS: list[tuple[str, object]] = [
    ("Free", None), ("Image", "image"), ("1:1 (square)", (1, 1)), ("4:3", (4, 3)), ("3:4", (3, 4)),
    ("3:2", (3, 2)), ("2:3", (2, 3)), ("16:9", (16, 9)), ("9:16", (9, 16)), ("5:4", (5, 4)),
    ("4:5", (4, 5)),
]
HANDLE_PX = 7   # handle half size in view pixels


class CropTool(Tool):
    name, title, shortcut, icon = "crop", "Crop", "C", "crop"
    tooltip = "Drag the area to keep, adjust it with the handles; Enter crops, Esc cancels"
    cursor = Qt.CursorShape.CrossCursor
    interactive = True

    def __init__(self) -> None:
        self.rect: QRectF | None = None       # document coordinates
        self.aspect: object = None
        self._mode = ""                        # "new" | "move" | "h<i>" (a handle)
        self._start = QPointF()
        self._start_rect = QRectF()
        self._canvas: Canvas | None = None
        self._widget: QWidget | None = None

    def _same_document(self, canvas: Canvas) -> bool:
        """The rectangle belongs to the canvas it was drawn on (another tab: dropped)."""
        if self._canvas is not None and canvas.document is not self._canvas.document:
            self.rect = None
            self._mode = ""
            self._canvas = canvas
            self._sync_widget()
            return False
        return True

    # -- geometry ----------------------------------------------------------------------------------
    def ratio(self, canvas: Canvas | None = None) -> float | None:
        a = self.aspect
        if a is None:
            return None
        if a == "image":
            doc = (canvas or self._canvas).document if (canvas or self._canvas) else None
            return None if doc is None else doc.width / doc.height
        w, h = a  # type: ignore[misc]
        return w / h

    def crop_rect(self):  # noqa: ANN201
        """The integer core Rect the tool would crop to (None: no rectangle)."""
        from ganstudio.core.geometry import Rect

        if self.rect is None:
            return None
        r = self.rect.normalized()
        x0, y0 = int(round(r.left())), int(round(r.top()))
        x1, y1 = int(round(r.right())), int(round(r.bottom()))
        if x1 - x0 < 1 or y1 - y0 < 1:
            return None
        return Rect(x0, y0, x1 - x0, y1 - y0)

    def set_rect(self, canvas: Canvas, rect: QRectF | None) -> None:
        """Set the crop rectangle (document coordinates; clipped to the canvas)."""
        self._canvas = canvas
        self.rect = None if rect is None else self._clip(canvas, rect.normalized())
        self._sync_widget()
        canvas.viewport().update()

    @staticmethod
    def _clip(canvas: Canvas, r: QRectF) -> QRectF:
        doc = canvas.document
        return r.intersected(QRectF(0, 0, doc.width, doc.height))

    def _handles(self, canvas: Canvas) -> list[QPointF]:
        """Eight handle positions in view coordinates: corners then edge middles."""
        r = self.rect.normalized()  # type: ignore[union-attr]
        pts = [r.topLeft(), r.topRight(), r.bottomRight(), r.bottomLeft(),
               QPointF(r.center().x(), r.top()), QPointF(r.right(), r.center().y()),
               QPointF(r.center().x(), r.bottom()), QPointF(r.left(), r.center().y())]
        return [canvas.doc_to_view(p) for p in pts]

    def _hit(self, canvas: Canvas, pos: QPointF) -> str:
        if self.rect is None:
            return "new"
        v = canvas.doc_to_view(pos)
        for i, h in enumerate(self._handles(canvas)):
            if abs(h.x() - v.x()) <= HANDLE_PX + 2 and abs(h.y() - v.y()) <= HANDLE_PX + 2:
                return f"h{i}"
        return "move" if self.rect.normalized().contains(pos) else "new"

    # -- mouse -------------------------------------------------------------------------------------
    _CURSORS = {"h0": Qt.CursorShape.SizeFDiagCursor, "h2": Qt.CursorShape.SizeFDiagCursor,
                "h1": Qt.CursorShape.SizeBDiagCursor, "h3": Qt.CursorShape.SizeBDiagCursor,
                "h4": Qt.CursorShape.SizeVerCursor, "h6": Qt.CursorShape.SizeVerCursor,
                "h5": Qt.CursorShape.SizeHorCursor, "h7": Qt.CursorShape.SizeHorCursor,
                "move": Qt.CursorShape.SizeAllCursor, "new": Qt.CursorShape.CrossCursor}

    def hover_cursor(self, canvas: Canvas, pos: QPointF) -> Qt.CursorShape:
        """The cursor over ``pos``: resize over a handle, move inside, cross elsewhere."""
        if self._canvas is not None and canvas.document is not self._canvas.document:
            return Qt.CursorShape.CrossCursor
        return self._CURSORS[self._hit(canvas, pos)]

    def overlay_rect(self, canvas: Canvas, pos: QPointF | None) -> QRect | None:
        # called on every hover move: the cursor follows what a press would do there
        if pos is not None and pos == canvas.hover_pos and not self._mode:
            canvas.viewport().setCursor(self.hover_cursor(canvas, pos))
        return None

    def press(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        self._same_document(canvas)
        self._canvas = canvas
        self._mode = self._hit(canvas, pos)
        self._start = QPointF(pos)
        if self._mode == "new":
            self.rect = QRectF(pos, pos)
        self._start_rect = QRectF(self.rect.normalized()) if self.rect is not None else QRectF()

    def move(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        if not self._mode:
            return
        doc = canvas.document
        keep = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        ratio = self.ratio(canvas)
        if ratio is None and keep and self._start_rect.height() > 0 and self._mode != "new":
            ratio = self._start_rect.width() / self._start_rect.height()
        if ratio is None and keep and self._mode == "new":
            ratio = 1.0
        old = self._view_rect(canvas)
        if self._mode == "move":
            d = pos - self._start
            r = self._start_rect.translated(d)
            dx = min(0.0, doc.width - r.right()) + max(0.0, -r.left())
            dy = min(0.0, doc.height - r.bottom()) + max(0.0, -r.top())
            self.rect = r.translated(dx, dy)
        elif self._mode == "new":
            self.rect = self._drag_corner(canvas, self._start, pos, ratio)
        else:
            self.rect = self._drag_handle(canvas, int(self._mode[1:]), pos, ratio)
        self._sync_widget()
        self._repaint(canvas, old)

    def release(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        if not self._mode:
            return
        self.move(canvas, pos, event)
        self._mode = ""
        if self.crop_rect() is None:
            self.rect = None
        self._sync_widget()
        canvas.viewport().update()
        if self.rect is not None:
            r = self.crop_rect()
            self.message(f"Crop to {r.w}x{r.h} at ({r.x}, {r.y}): Enter to crop, Esc to cancel")

    def _drag_corner(self, canvas: Canvas, anchor: QPointF, pos: QPointF, ratio: float | None) -> QRectF:
        doc = canvas.document
        x = min(max(pos.x(), 0.0), float(doc.width))
        y = min(max(pos.y(), 0.0), float(doc.height))
        w, h = x - anchor.x(), y - anchor.y()
        if ratio is not None:
            # the larger extent wins, then shrink to fit the canvas
            aw, ah = abs(w), abs(h)
            if aw < ah * ratio:
                aw = ah * ratio
            else:
                ah = aw / ratio
            sx, sy = (1 if w >= 0 else -1), (1 if h >= 0 else -1)
            room_x = (doc.width - anchor.x()) if sx > 0 else anchor.x()
            room_y = (doc.height - anchor.y()) if sy > 0 else anchor.y()
            k = min(1.0, room_x / aw if aw else 1.0, room_y / ah if ah else 1.0)
            w, h = sx * aw * k, sy * ah * k
        return QRectF(anchor, QPointF(anchor.x() + w, anchor.y() + h)).normalized()

    def _drag_handle(self, canvas: Canvas, i: int, pos: QPointF, ratio: float | None) -> QRectF:
        r = QRectF(self._start_rect)
        if i < 4:   # corner: the opposite corner stays
            corners = [r.topLeft(), r.topRight(), r.bottomRight(), r.bottomLeft()]
            return self._drag_corner(canvas, corners[(i + 2) % 4], pos, ratio)
        doc = canvas.document
        x = min(max(pos.x(), 0.0), float(doc.width))
        y = min(max(pos.y(), 0.0), float(doc.height))
        left, top, right, bottom = r.left(), r.top(), r.right(), r.bottom()
        if i == 4:
            top = y
        elif i == 6:
            bottom = y
        elif i == 5:
            right = x
        else:
            left = x
        out = QRectF(QPointF(left, top), QPointF(right, bottom)).normalized()
        if ratio is not None:
            c = out.center()
            if i in (4, 6):
                w = out.height() * ratio
                out = QRectF(c.x() - w / 2, out.top(), w, out.height())
            else:
                h = out.width() / ratio
                out = QRectF(out.left(), c.y() - h / 2, out.width(), h)
            out = self._clip(canvas, out)
        return out

    # -- apply / cancel ----------------------------------------------------------------------------
    def commit(self, canvas: Canvas) -> bool:
        """Enter: crop the image to the rectangle (one undo step)."""
        from ganstudio.core.operations import crop

        if not self._same_document(canvas):
            return False
        r = self.crop_rect()
        if r is None:
            return False
        doc = canvas.document
        self.rect = None
        self._mode = ""
        self._sync_widget()
        if r == doc.bounds:
            canvas.viewport().update()
            return False
        try:
            crop(doc, r)
        except ValueError as exc:
            self.message(str(exc))
            return False
        self.message(f"Cropped to {r.w}x{r.h}")
        canvas.viewport().update()
        return True

    def cancel(self, canvas: Canvas) -> None:
        self.rect = None
        self._mode = ""
        self._sync_widget()
        canvas.viewport().update()

    # -- drawing -----------------------------------------------------------------------------------
    def _view_rect(self, canvas: Canvas) -> QRectF | None:
        if self.rect is None:
            return None
        a = canvas.doc_to_view(self.rect.normalized().topLeft())
        b = canvas.doc_to_view(self.rect.normalized().bottomRight())
        return QRectF(a, b)

    def _repaint(self, canvas: Canvas, old: QRectF | None) -> None:
        canvas.viewport().update()   # the shade covers the whole view

    def paint_overlay(self, painter: QPainter, canvas: Canvas) -> None:
        if self._canvas is not None and canvas.document is not self._canvas.document:
            return
        vr = self._view_rect(canvas)
        if vr is None:
            return
        painter.save()
        vp = QRectF(canvas.viewport().rect())
        shade = QColor(0, 0, 0, 140)
        # four bands around the rectangle (the area that will be cut away)
        painter.fillRect(QRectF(vp.left(), vp.top(), vp.width(), max(0.0, vr.top() - vp.top())), shade)
        below = max(0.0, vp.bottom() - vr.bottom())
        painter.fillRect(QRectF(vp.left(), vr.bottom(), vp.width(), below), shade)
        painter.fillRect(QRectF(vp.left(), vr.top(), max(0.0, vr.left() - vp.left()), vr.height()), shade)
        painter.fillRect(QRectF(vr.right(), vr.top(), max(0.0, vp.right() - vr.right()), vr.height()), shade)
        pen = QPen(QColor(255, 255, 255, 110), 1)
        painter.setPen(pen)
        for k in (1, 2):
            x = vr.left() + vr.width() * k / 3
            y = vr.top() + vr.height() * k / 3
            painter.drawLine(QPointF(x, vr.top()), QPointF(x, vr.bottom()))
            painter.drawLine(QPointF(vr.left(), y), QPointF(vr.right(), y))
        painter.setPen(QPen(QColor(255, 255, 255), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(vr)
        painter.setBrush(QColor(255, 255, 255))
        painter.setPen(QPen(QColor(0, 0, 0), 1))
        for h in self._handles(canvas):
            painter.drawRect(QRectF(h.x() - HANDLE_PX / 2, h.y() - HANDLE_PX / 2, HANDLE_PX, HANDLE_PX))
        r = self.crop_rect()
        if r is not None:
            text = f"{r.w} × {r.h}"
            fm = painter.fontMetrics()
            box = QRect(int(vr.left()), int(vr.bottom()) + 6, fm.horizontalAdvance(text) + 12,
                        fm.height() + 4)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 170))
            painter.drawRoundedRect(box, 3, 3)
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    # -- tool options ------------------------------------------------------------------------------
    def options_widget(self) -> QWidget:
        """Aspect-ratio presets, the size, Crop / Cancel (shown in Tool options)."""
        if self._widget is not None:
            return self._widget
        w = QWidget()
        w.setObjectName("crop_options")
        form = QFormLayout(w)
        form.setContentsMargins(0, 0, 0, 0)
        self.aspect_combo = QComboBox()
        self.aspect_combo.setObjectName("crop_aspect")
        for label, value in ASPECTS:
            self.aspect_combo.addItem(label, value)
        self.aspect_combo.currentIndexChanged.connect(self._aspect_chosen)
        form.addRow("Aspect", self.aspect_combo)
        self.size_label = QLabel("Drag over the image")
        form.addRow("Size", self.size_label)
        row = QHBoxLayout()
        self.apply_button = QPushButton("Crop")
        self.apply_button.setObjectName("crop_apply")
        self.apply_button.setToolTip("Crop to the rectangle (Enter)")
        self.apply_button.clicked.connect(lambda: self._canvas is not None and self.commit(self._canvas))
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Drop the rectangle (Esc)")
        self.cancel_button.clicked.connect(lambda: self._canvas is not None and self.cancel(self._canvas))
        row.addWidget(self.apply_button)
        row.addWidget(self.cancel_button)
        form.addRow(row)
        self._widget = w
        self._sync_widget()
        return w

    def _aspect_chosen(self, index: int) -> None:
        self.aspect = self.aspect_combo.itemData(index)
        if self.aspect is not None and isinstance(self.aspect, list):
            self.aspect = tuple(self.aspect)
        canvas = self._canvas
        ratio = self.ratio(canvas) if canvas is not None else None
        if canvas is None or self.rect is None or ratio is None:
            return
        # fit the current rectangle to the new ratio about its centre
        r = self.rect.normalized()
        c = r.center()
        w, h = r.width(), r.height()
        if w / max(h, 1e-9) > ratio:
            w = h * ratio
        else:
            h = w / ratio
        self.set_rect(canvas, QRectF(c.x() - w / 2, c.y() - h / 2, w, h))

    def _sync_widget(self) -> None:
        if self._widget is None:
            return
        r = self.crop_rect()
        self.size_label.setText("Drag over the image" if r is None
                                else f"{r.w} × {r.h} px at ({r.x}, {r.y})")
        self.apply_button.setEnabled(r is not None)
        self.cancel_button.setEnabled(r is not None)
