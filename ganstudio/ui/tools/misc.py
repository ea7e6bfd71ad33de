"""Colour picker (I) and move layer (V)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent

from .base import Tool

if TYPE_CHECKING:
    from ..canvas_api import CanvasView as Canvas


class PickerTool(Tool):
    name, title, shortcut, icon = "picker", "Colour picker", "I", "picker"
    tooltip = "Pick the brush colour from the image (Ctrl: from the active layer only)"
    cursor = Qt.CursorShape.CrossCursor

    def press(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        self._pick(canvas, pos, event)

    def move(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        self._pick(canvas, pos, event)

    def _pick(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        from ganstudio.core.brush import pick_color

        doc = canvas.document
        x, y = int(pos.x()), int(pos.y())
        if not (0 <= x < doc.width and 0 <= y < doc.height):
            return
        layer_only = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        rgba = pick_color(doc, pos.x(), pos.y(), sample="layer" if layer_only else "composite")
        if rgba[3] == 0:
            return
        self.settings.color = (rgba[0], rgba[1], rgba[2], 255)
        self.manager.changed()
        self.message(f"Picked colour #{rgba[0]:02x}{rgba[1]:02x}{rgba[2]:02x}")


class MoveTool(Tool):
    name, title, shortcut, icon = "move", "Move layer", "V", "move"
    tooltip = "Drag the active layer (one undo step per drag)"
    cursor = Qt.CursorShape.SizeAllCursor

    def __init__(self) -> None:
        self._layer = None
        self._start: QPointF | None = None
        self._origin = (0, 0)

    def press(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        layer = canvas.document.active_layer
        if layer is None:
            return
        if layer.locked:
            self.message(f"Layer “{layer.name}” is locked.")
            return
        self._layer, self._start, self._origin = layer, pos, layer.offset

    def move(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        if self._layer is None or self._start is None:
            return
        dx, dy = int(round(pos.x() - self._start.x())), int(round(pos.y() - self._start.y()))
        self._layer.offset = (self._origin[0] + dx, self._origin[1] + dy)  # live preview, no undo

    def release(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        if self._layer is None:
            return
        self.move(canvas, pos, event)
        layer, new = self._layer, self._layer.offset
        layer.offset = self._origin
        self._layer = self._start = None
        canvas.document.set_layer_attr(layer, "offset", new)  # one undo step

    def cancel(self, canvas: Canvas) -> None:
        if self._layer is not None:
            self._layer.offset = self._origin
        self._layer = self._start = None
