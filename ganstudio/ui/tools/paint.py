"""Brush, eraser, mask brush (doc.ai_mask for AI tasks) and label brush (LabelLayer class ids).

A mouse stroke is one undo step: history.begin() on press, core.brush.stroke() per mouse move
segment (it records the touched tiles and emits the dirty rect), history.end() on release.

Straight lines (GIMP / Krita / Photoshop): Shift+click paints a line from where the previous
stroke of this tool ended (in the same document) to the click, as one undo step; holding Shift
while hovering shows the line. ``LineMode`` gives the same to other stroke tools (clone, heal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import weakref

from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QColor, QGuiApplication, QMouseEvent, QPainter, QPen

from .base import Tool

if TYPE_CHECKING:
    from ..canvas_api import CanvasView as Canvas

KINDS = {
    # name: (title, shortcut, icon, tooltip)
    "brush": ("Brush", "B", "brush", "Paint on the active layer"),
    "eraser": ("Eraser", "E", "eraser", "Erase to transparency on the active layer"),
    "mask": ("Mask brush", "M", "mask", "Paint the mask that AI tools work on (red overlay); "
                                        "Alt paints it away"),
    "label": ("Label brush", "L", "label", "Paint class labels on a label layer"),
}


def _shift(event: QMouseEvent | None = None) -> bool:
    mods = event.modifiers() if event is not None else QGuiApplication.queryKeyboardModifiers()
    return bool(mods & Qt.KeyboardModifier.ShiftModifier)


class LineMode:
    """Shift+click straight lines: remembers where the last stroke ended, per document."""

    def _line_init(self) -> None:
        self._line_doc: weakref.ref | None = None
        self._line_end: QPointF | None = None

    def line_start(self, doc: object, event: QMouseEvent) -> QPointF | None:
        """The start of a Shift+click line in ``doc``, or None (no Shift, or no stroke yet)."""
        if not _shift(event) or self._line_end is None or self._line_doc is None \
                or self._line_doc() is not doc:
            return None
        return QPointF(self._line_end)

    def line_ended(self, doc: object, pos: QPointF | None) -> None:
        if doc is not None and pos is not None:
            self._line_doc, self._line_end = weakref.ref(doc), QPointF(pos)

    def line_preview(self, canvas: Canvas) -> tuple[QPointF, QPointF] | None:
        """(start, end) in view coordinates of the line a Shift+click would paint now."""
        pos = canvas.hover_pos
        if pos is None or self._line_end is None or self._line_doc is None \
                or self._line_doc() is not canvas.document or not _shift():
            return None
        return canvas.doc_to_view(self._line_end), canvas.doc_to_view(pos)

    def line_rect(self, canvas: Canvas, pos: QPointF | None) -> QRect | None:
        if pos is None or self._line_end is None:
            return None
        a, b = canvas.doc_to_view(self._line_end), canvas.doc_to_view(pos)
        return QRect(int(min(a.x(), b.x())) - 2, int(min(a.y(), b.y())) - 2,
                     int(abs(a.x() - b.x())) + 5, int(abs(a.y() - b.y())) + 5)

    @staticmethod
    def draw_line_preview(painter: QPainter, line: tuple[QPointF, QPointF]) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(0, 0, 0, 170), 3))
        painter.drawLine(*line)
        painter.setPen(QPen(QColor(255, 255, 255, 230), 1, Qt.PenStyle.DashLine))
        painter.drawLine(*line)
        painter.restore()


class PaintTool(LineMode, Tool):
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, kind: str) -> None:
        self._line_init()
        self.name = kind
        self.title, self.shortcut, self.icon, self.tooltip = KINDS[kind]
        self._last: QPointF | None = None
        self._doc = None
        self._layer = None
        self._target = "pixels"
        self._brush = None
        self._label_id: int | None = None

    # -- what to paint ----------------------------------------------------------------------------------
    def _make_brush(self, event: QMouseEvent | None = None):  # noqa: ANN202
        from ganstudio.core.brush import Brush

        s = self.settings
        erase = self.name == "eraser" or (
            self.name == "mask" and (s.mask_erase or (event is not None and bool(
                event.modifiers() & Qt.KeyboardModifier.AltModifier))))
        color = s.color if self.name in ("brush", "eraser") else (255, 255, 255, 255)
        return Brush(size=max(0.5, float(s.size)), hardness=float(s.hardness),
                     opacity=float(s.opacity) if self.name != "label" else 1.0,
                     color=tuple(color), mode="erase" if erase else "paint")

    def _resolve(self, canvas: Canvas) -> tuple[object, str, int | None] | None:
        doc = canvas.document
        layer = doc.active_layer
        s = self.settings
        if self.name == "mask":
            return layer, "ai_mask", None
        if layer is None:
            self.message("No layer to paint on: add a layer first.")
            return None
        if layer.locked:
            self.message(f"Layer “{layer.name}” is locked.")
            return None
        if self.name == "label":
            if not hasattr(layer, "labels"):
                self.message("The label brush paints on a label layer: Layer > New label layer.")
                return None
            return layer, "labels", int(s.label_id)
        if not hasattr(layer, "pixels"):
            self.message("The brush paints on raster layers; use the label brush on label layers.")
            return None
        if s.edit_layer_mask and layer.mask is not None:
            return layer, "mask", None
        return layer, "pixels", None

    # -- input ------------------------------------------------------------------------------------------
    def press(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        from ganstudio.core.brush import stroke

        resolved = self._resolve(canvas)
        if resolved is None:
            return
        self._layer, self._target, self._label_id = resolved
        self._doc = canvas.document
        self._brush = self._make_brush(event)
        self._doc.history.begin({"brush": "Brush stroke", "eraser": "Erase", "mask": "Paint mask",
                                 "label": "Paint labels"}[self.name])
        self._last = pos
        start = self.line_start(self._doc, event)
        points = [(pos.x(), pos.y())] if start is None else [(start.x(), start.y()), (pos.x(), pos.y())]
        try:
            stroke(self._doc, self._layer, points, self._brush, target=self._target,
                   label_id=self._label_id)
        except (PermissionError, ValueError) as exc:
            self._finish()
            self.message(str(exc))

    def move(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        from ganstudio.core.brush import stroke

        if self._doc is None or self._last is None:
            return
        last, self._last = self._last, pos
        stroke(self._doc, self._layer, [(last.x(), last.y()), (pos.x(), pos.y())], self._brush,
               target=self._target, label_id=self._label_id)

    def release(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        if self._doc is not None and self._last is not None and pos != self._last:
            self.move(canvas, pos, event)
        self._finish()

    def cancel(self, canvas: Canvas) -> None:
        self._finish()

    def _finish(self) -> None:
        if self._doc is not None:
            self.line_ended(self._doc, self._last)
            self._doc.history.end()
        self._doc, self._last, self._layer, self._brush = None, None, None, None

    # -- overlay: brush outline -------------------------------------------------------------------------
    def overlay_rect(self, canvas: Canvas, pos: QPointF | None) -> QRect | None:
        if pos is None:
            return None
        c = canvas.doc_to_view(pos)
        r = int(self.settings.size * canvas.zoom / 2) + 3
        rect = QRect(int(c.x()) - r, int(c.y()) - r, 2 * r + 1, 2 * r + 1)
        line = self.line_rect(canvas, pos) if self._line_doc is not None \
            and self._line_doc() is canvas.document else None
        return rect.united(line) if line is not None else rect

    def paint_overlay(self, painter: QPainter, canvas: Canvas) -> None:
        pos = canvas.hover_pos
        if pos is None:
            return
        c = canvas.doc_to_view(pos)
        r = max(1.0, self.settings.size * canvas.zoom / 2)
        line = self.line_preview(canvas) if self._doc is None else None
        if line is not None:
            self.draw_line_preview(painter, line)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(0, 0, 0, 160), 1))
        painter.drawEllipse(c, r + 1, r + 1)
        painter.setPen(QPen(QColor(255, 255, 255, 220), 1))
        painter.drawEllipse(c, r, r)
        painter.restore()
