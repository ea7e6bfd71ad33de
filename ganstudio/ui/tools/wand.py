"""Magic wand (W) and select by colour (Shift+O; also Select > By colour): click to select the
area of similar colour (core/selection_color.py); Shift adds, Alt subtracts, Shift+Alt
intersects (or the mode in the tool options), the feather radius softens it. One click = one
undo step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QWidget

from .base import Tool
from .fill import Similarity, similarity_form
from .select import apply_shape

if TYPE_CHECKING:
    from ..canvas_api import CanvasView as Canvas


class WandTool(Tool):
    name, title, shortcut, icon = "wand", "Magic wand", "W", "wand"
    tooltip = "Select the connected area of similar colour (Shift adds, Alt subtracts)"
    cursor = Qt.CursorShape.PointingHandCursor
    contiguous = True

    def __init__(self) -> None:
        self.options = Similarity(contiguous=self.contiguous)
        self.widgets: dict[str, QWidget] = {}

    def options_widget(self) -> QWidget:
        w, self.widgets = similarity_form(self.options)
        w.setObjectName(f"{self.name}_options")
        return w

    def press(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        from ganstudio.core.selection_color import color_mask

        doc = canvas.document
        mode = self.mode_from(event, self.settings.select_mode)
        o = self.options
        mask = color_mask(doc, pos.x(), pos.y(), threshold=o.threshold, contiguous=o.contiguous,
                          sample_merged=o.sample_merged or doc.active_layer is None,
                          antialias=o.antialias)
        if mask is None:
            self.message("Click on the active layer (or turn on Sample merged).")
            return
        title = "Magic wand" if o.contiguous else "Select by colour"
        apply_shape(doc, mask, mode, self.settings.feather, title)
        canvas.viewport().update()


class ColorSelectTool(WandTool):
    name, title, shortcut, icon = "color_select", "Select by colour", "Shift+O", "color_select"
    tooltip = "Select every pixel of similar colour in the image (Shift adds, Alt subtracts)"
    contiguous = False


__all__ = ["WandTool", "ColorSelectTool"]
