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
from .fill import ASYNC_PIXELS, Similarity, similarity_form, start_job

if TYPE_CHECKING:
    from ..canvas_api import CanvasView as Canvas


class WandTool(Tool):
    name, title, shortcut, icon = "wand", "Magic wand", "W", "wand"
    tooltip = "Select the connected area of similar colour (Shift adds, Alt subtracts)"
    cursor = Qt.CursorShape.PointingHandCursor
    contiguous = True
    #: documents of at least this many pixels are selected on a worker thread (ToolJob)
    async_pixels = ASYNC_PIXELS

    def __init__(self) -> None:
        self.options = Similarity(contiguous=self.contiguous)
        self.widgets: dict[str, QWidget] = {}
        self.job = None           # the running ToolJob (ui/tools/fill.py), if any

    def options_widget(self) -> QWidget:
        w, self.widgets = similarity_form(self.options)
        w.setObjectName(f"{self.name}_options")
        return w

    def press(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        from ganstudio.core import selection as sel
        from ganstudio.core.selection_color import color_mask

        doc = canvas.document
        mode = self.mode_from(event, self.settings.select_mode)
        o = self.options
        feather = float(self.settings.feather)
        title = "Magic wand" if o.contiguous else "Select by colour"
        label = title if mode == "replace" else f"{title} ({mode})"
        layer = doc.active_layer
        merged = o.sample_merged or layer is None
        idx = None if merged else doc.layers.index(layer)
        kwargs = dict(threshold=o.threshold, contiguous=o.contiguous, sample_merged=merged,
                      antialias=o.antialias)
        x, y = pos.x(), pos.y()

        def compute(view, check):  # noqa: ANN001, ANN202
            # the new selection as a whole (shape, feather, combined with the current one), so
            # the GUI thread only sets it
            vl = layer if view is doc else (None if merged else view.layers[0])
            mask = color_mask(view, x, y, layer=vl, **kwargs)
            if mask is None:
                return False, None
            if check is not None:
                check(0.6)
            if feather > 0:
                mask = sel.feather(mask, feather)
            if check is not None:
                check(0.8)
            return True, sel.combine(view.selection, mask, mode)

        def apply(outcome):  # noqa: ANN001, ANN202
            found, result = outcome
            if not found:
                self.message("Click on the active layer (or turn on Sample merged).")
                return False
            doc.set_selection(result, label)
            canvas.viewport().update()
            return True

        start_job(self, canvas, "Selecting", compute, apply, pixels=doc.width * doc.height,
                  layers=None if merged else [idx], verb=title)

    def cancel(self, canvas: Canvas) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()


class ColorSelectTool(WandTool):
    name, title, shortcut, icon = "color_select", "Select by colour", "Shift+O", "color_select"
    tooltip = "Select every pixel of similar colour in the image (Shift adds, Alt subtracts)"
    contiguous = False


__all__ = ["WandTool", "ColorSelectTool"]
