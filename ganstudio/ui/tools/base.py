"""Tool base class and the settings the tool options panel edits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QMouseEvent, QPainter

if TYPE_CHECKING:
    from ..canvas_api import CanvasView as Canvas


@dataclass
class ToolSettings:
    size: float = 24.0            # brush diameter, document pixels
    hardness: float = 0.8         # 0..1
    opacity: float = 1.0          # 0..1
    color: tuple[int, int, int, int] = (20, 20, 24, 255)
    mask_erase: bool = False      # mask brush removes instead of painting
    label_id: int = 1             # label brush class
    feather: float = 0.0          # selection feather radius (pixels)
    select_mode: str = "replace"  # replace | add | subtract | intersect
    edit_layer_mask: bool = False  # brush/eraser paint the active layer's mask


class Tool:
    name = "tool"
    title = "Tool"
    shortcut = ""
    icon = ""
    tooltip = ""
    cursor: Qt.CursorShape = Qt.CursorShape.CrossCursor
    manager: Any = None

    @property
    def settings(self) -> ToolSettings:
        return self.manager.settings

    def press(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None: ...

    def move(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None: ...

    def release(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None: ...

    def cancel(self, canvas: Canvas) -> None: ...

    def paint_overlay(self, painter: QPainter, canvas: Canvas) -> None: ...

    def overlay_rect(self, canvas: Canvas, pos: QPointF | None) -> QRect | None:
        """View rect of the hover overlay at ``pos`` (to repaint when the mouse moves)."""
        return None

    def message(self, text: str) -> None:
        if self.manager is not None:
            self.manager.message(text)

    @staticmethod
    def mode_from(event: QMouseEvent, default: str) -> str:
        mods = event.modifiers()
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        alt = bool(mods & Qt.KeyboardModifier.AltModifier)
        if shift and alt:
            return "intersect"
        if shift:
            return "add"
        if alt:
            return "subtract"
        return default
