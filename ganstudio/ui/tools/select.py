"""Rectangle, ellipse and lasso selection. Shift adds, Alt subtracts, Shift+Alt intersects
(or the mode chosen in the tool options); the feather radius softens the new shape."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPolygonF

from ganstudio.core.geometry import Rect

from .base import Tool

if TYPE_CHECKING:
    from ..canvas_api import CanvasView as Canvas


class _ShapeSelect(Tool):
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self) -> None:
        self._start: QPointF | None = None
        self._end: QPointF | None = None
        self._mode = "replace"

    def press(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        self._start = self._end = pos
        self._mode = self.mode_from(event, self.settings.select_mode)
        canvas.viewport().update()

    def move(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        if self._start is None:
            return
        self._end = pos
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:  # square / circle
            d = max(abs(pos.x() - self._start.x()), abs(pos.y() - self._start.y()))
            self._end = QPointF(self._start.x() + (d if pos.x() >= self._start.x() else -d),
                                self._start.y() + (d if pos.y() >= self._start.y() else -d))
        canvas.viewport().update()

    def release(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        if self._start is None:
            return
        start, end = self._start, self._end or pos
        self._start = self._end = None
        canvas.viewport().update()
        doc = canvas.document
        x0, x1 = sorted((start.x(), end.x()))
        y0, y1 = sorted((start.y(), end.y()))
        rect = Rect.from_corners(int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1)))
        if rect.w < 1 or rect.h < 1:
            if self._mode == "replace" and doc.selection is not None:  # a click deselects
                doc.set_selection(None, label="Select none")
            return
        mask = self.shape_mask(doc, rect)
        apply_shape(doc, mask, self._mode, self.settings.feather, self.title)

    def cancel(self, canvas: Canvas) -> None:
        self._start = self._end = None
        canvas.viewport().update()

    def shape_mask(self, doc, rect: Rect):  # noqa: ANN001, ANN201
        raise NotImplementedError

    def _view_rect(self, canvas: Canvas) -> QRectF | None:
        if self._start is None or self._end is None:
            return None
        return QRectF(canvas.doc_to_view(self._start), canvas.doc_to_view(self._end)).normalized()

    def paint_overlay(self, painter: QPainter, canvas: Canvas) -> None:
        r = self._view_rect(canvas)
        if r is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(QColor(80, 140, 255, 40))
        for color, style in ((QColor(0, 0, 0), Qt.PenStyle.SolidLine),
                             (QColor(255, 255, 255), Qt.PenStyle.DashLine)):
            painter.setPen(QPen(color, 1, style))
            self.draw_shape(painter, r)
            painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.restore()

    def draw_shape(self, painter: QPainter, r: QRectF) -> None:
        painter.drawRect(r)


def apply_shape(doc, shape, mode: str, feather: float, title: str) -> None:  # noqa: ANN001
    """Combine a new shape mask with the document's selection and set it (one undo step)."""
    from ganstudio.core import selection as sel

    if feather > 0:
        shape = sel.feather(shape, feather)
    sel.apply_selection(doc, shape, mode, label=title if mode == "replace" else f"{title} ({mode})")


class RectSelectTool(_ShapeSelect):
    name, title, shortcut, icon = "rect_select", "Rectangle select", "R", "rect_select"
    tooltip = "Select a rectangle (Shift adds, Alt subtracts, Ctrl makes a square)"

    def shape_mask(self, doc, rect: Rect):  # noqa: ANN001, ANN201
        from ganstudio.core import selection as sel

        return sel.rect_mask(doc.width, doc.height, rect)


class EllipseSelectTool(_ShapeSelect):
    name, title, shortcut, icon = "ellipse_select", "Ellipse select", "", "ellipse_select"
    tooltip = "Select an ellipse (Shift adds, Alt subtracts, Ctrl makes a circle)"

    def shape_mask(self, doc, rect: Rect):  # noqa: ANN001, ANN201
        from ganstudio.core import selection as sel

        return sel.ellipse_mask(doc.width, doc.height, rect)

    def draw_shape(self, painter: QPainter, r: QRectF) -> None:
        painter.drawEllipse(r)


class LassoSelectTool(Tool):
    name, title, shortcut, icon = "lasso", "Lasso select", "", "lasso"
    tooltip = "Select a free-hand shape (Shift adds, Alt subtracts)"
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self) -> None:
        self._points: list[QPointF] = []
        self._mode = "replace"

    def press(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        self._points = [pos]
        self._mode = self.mode_from(event, self.settings.select_mode)

    def move(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        if self._points:
            self._points.append(pos)
            canvas.viewport().update()

    def release(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        from ganstudio.core import selection as sel

        pts, self._points = self._points + [pos], []
        canvas.viewport().update()
        doc = canvas.document
        if len(pts) < 3:
            if self._mode == "replace" and doc.selection is not None:
                doc.set_selection(None, label="Select none")
            return
        shape = sel.polygon_mask(doc.width, doc.height, [(p.x(), p.y()) for p in pts])
        apply_shape(doc, shape, self._mode, self.settings.feather, self.title)

    def cancel(self, canvas: Canvas) -> None:
        self._points = []
        canvas.viewport().update()

    def paint_overlay(self, painter: QPainter, canvas: Canvas) -> None:
        if len(self._points) < 2:
            return
        poly = QPolygonF([canvas.doc_to_view(p) for p in self._points])
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(0, 0, 0), 1))
        painter.drawPolyline(poly)
        painter.setPen(QPen(QColor(255, 255, 255), 1, Qt.PenStyle.DashLine))
        painter.drawPolyline(poly)
        painter.restore()
