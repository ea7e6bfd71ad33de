"""Brush, eraser, mask brush (doc.ai_mask for AI tasks) and label brush (LabelLayer class ids).

A mouse stroke is one undo step: history.begin() on press, core.brush.stroke() per mouse move
segment (it records the touched tiles and emits the dirty rect), history.end() on release.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen

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


class PaintTool(Tool):
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, kind: str) -> None:
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
        try:
            stroke(self._doc, self._layer, [(pos.x(), pos.y())], self._brush, target=self._target,
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
            self._doc.history.end()
        self._doc, self._last, self._layer, self._brush = None, None, None, None

    # -- overlay: brush outline -------------------------------------------------------------------------
    def overlay_rect(self, canvas: Canvas, pos: QPointF | None) -> QRect | None:
        if pos is None:
            return None
        c = canvas.doc_to_view(pos)
        r = int(self.settings.size * canvas.zoom / 2) + 3
        return QRect(int(c.x()) - r, int(c.y()) - r, 2 * r + 1, 2 * r + 1)

    def paint_overlay(self, painter: QPainter, canvas: Canvas) -> None:
        pos = canvas.hover_pos
        if pos is None:
            return
        c = canvas.doc_to_view(pos)
        r = max(1.0, self.settings.size * canvas.zoom / 2)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(0, 0, 0, 160), 1))
        painter.drawEllipse(c, r + 1, r + 1)
        painter.setPen(QPen(QColor(255, 255, 255, 220), 1))
        painter.drawEllipse(c, r, r)
        painter.restore()
