"""Gradient tool (Shift+G, as GIMP / Krita; G is the fill bucket): drag from where the
foreground colour starts to where the gradient ends (core/gradient.py). Linear or radial,
foreground -> background or foreground -> transparent, reverse; Ctrl snaps the angle to 15°
steps; Esc cancels the drag. The selection limits it; "Paint the layer mask" draws it on the
layer mask. One drag = one undo step."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QColor, QIcon, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QCheckBox, QColorDialog, QComboBox, QFormLayout, QPushButton, QWidget

from .base import Tool
from .fill import ASYNC_PIXELS

if TYPE_CHECKING:
    from ..canvas_api import CanvasView as Canvas

SHAPES = [("Linear", "linear"), ("Radial", "radial")]
COLOURS = [("Foreground to background", "fg_bg"), ("Foreground to transparent", "fg_transparent")]


def _swatch(rgb: tuple[int, ...]) -> QIcon:
    pm = QPixmap(16, 16)
    pm.fill(QColor(*rgb[:3]))
    return QIcon(pm)


class GradientTool(Tool):
    name, title, shortcut, icon = "gradient", "Gradient", "Shift+G", "gradient"
    tooltip = "Drag to draw a gradient from the brush colour (Ctrl: 15° steps)"
    cursor = Qt.CursorShape.CrossCursor
    #: layers of at least this many pixels get the gradient computed on a worker thread
    async_pixels = ASYNC_PIXELS

    def __init__(self) -> None:
        self.shape = "linear"
        self.colours = "fg_bg"
        self.reverse = False
        self.background: tuple[int, int, int, int] = (255, 255, 255, 255)
        self._start: QPointF | None = None
        self._end: QPointF | None = None
        self.widgets: dict[str, QWidget] = {}
        self.job = None           # the running ToolJob (ui/tools/fill.py), if any

    # -- options ---------------------------------------------------------------------------------
    def options_widget(self) -> QWidget:
        w = QWidget()
        w.setObjectName("gradient_options")
        form = QFormLayout(w)
        form.setContentsMargins(0, 0, 0, 0)
        shape = QComboBox()
        shape.setObjectName("gradient_shape")
        for text, key in SHAPES:
            shape.addItem(text, key)
        shape.currentIndexChanged.connect(lambda _i: setattr(self, "shape", shape.currentData()))
        colours = QComboBox()
        colours.setObjectName("gradient_colours")
        for text, key in COLOURS:
            colours.addItem(text, key)
        colours.currentIndexChanged.connect(lambda _i: self._set_colours(colours.currentData()))
        bg = QPushButton()
        bg.setObjectName("gradient_background")
        bg.setToolTip("Background colour (where the gradient ends)")
        bg.clicked.connect(self._choose_background)
        reverse = QCheckBox("Reverse")
        reverse.setObjectName("gradient_reverse")
        reverse.toggled.connect(lambda v: setattr(self, "reverse", bool(v)))
        form.addRow("Shape", shape)
        form.addRow("Colours", colours)
        form.addRow("Background", bg)
        form.addRow("", reverse)
        self.widgets = {"shape": shape, "colours": colours, "background": bg, "reverse": reverse}
        self._show_background()
        return w

    def _set_colours(self, key: str) -> None:
        self.colours = key
        self._show_background()

    def set_background(self, rgba: tuple[int, ...]) -> None:
        self.background = (int(rgba[0]), int(rgba[1]), int(rgba[2]), 255)
        self._show_background()

    def _choose_background(self) -> None:
        c = QColorDialog.getColor(QColor(*self.background[:3]), self.widgets.get("background"),
                                  "Background colour")
        if c.isValid():
            self.set_background((c.red(), c.green(), c.blue()))

    def _show_background(self) -> None:
        btn = self.widgets.get("background")
        if isinstance(btn, QPushButton):
            btn.setIcon(_swatch(self.background))
            btn.setText(QColor(*self.background[:3]).name())
            btn.setEnabled(self.colours == "fg_bg")

    # -- input -----------------------------------------------------------------------------------
    def press(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        self._start = self._end = pos
        canvas.viewport().update()

    def move(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        if self._start is None:
            return
        self._end = self._constrain(pos, event)
        canvas.viewport().update()

    def _constrain(self, pos: QPointF, event: QMouseEvent) -> QPointF:
        if not event.modifiers() & Qt.KeyboardModifier.ControlModifier or self._start is None:
            return pos
        dx, dy = pos.x() - self._start.x(), pos.y() - self._start.y()
        length = math.hypot(dx, dy)
        angle = round(math.atan2(dy, dx) / math.radians(15)) * math.radians(15)
        return QPointF(self._start.x() + length * math.cos(angle),
                       self._start.y() + length * math.sin(angle))

    def release(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        from ganstudio.core import gradient as core_gradient

        from .fill import start_job

        if self._start is None:
            return
        start, end = self._start, self._constrain(pos, event)
        self._start = self._end = None
        canvas.viewport().update()
        doc = canvas.document
        layer = doc.active_layer
        if layer is None:
            self.message("No layer to draw on: select a layer (not a group).")
            return
        if math.hypot(end.x() - start.x(), end.y() - start.y()) < 1.0:
            self.message("Drag to draw a gradient.")
            return
        s = self.settings
        target = "mask" if (s.edit_layer_mask and layer.mask is not None) else "pixels"
        p0, p1 = (start.x(), start.y()), (end.x(), end.y())
        kwargs = dict(fg=s.color, bg=self.background if self.colours == "fg_bg" else None,
                      shape=self.shape, opacity=s.opacity, reverse=self.reverse, target=target)
        self.last_call = (p0, p1, kwargs)        # what was computed (tests, benchmarks)
        idx = doc.layers.index(layer)

        def compute(view, check):  # noqa: ANN001, ANN202
            vl = layer if view is doc else view.layers[0]
            return core_gradient.plan_gradient(view, p0, p1, layer=vl, check=check, **kwargs)

        def apply(planned):  # noqa: ANN001, ANN202
            if planned is None or planned[0].is_empty():
                self.message("Nothing selected on this layer.")
                return False
            if doc.is_locked(layer):
                raise PermissionError(f"layer “{layer.name}” is locked")
            doc.history.apply_edit(layer, planned[0], "Gradient")
            return True

        try:
            start_job(self, canvas, "Gradient", compute, apply,
                      pixels=layer.width * layer.height, layers=[idx])
        except (PermissionError, ValueError) as exc:
            self.message(str(exc)[:1].upper() + str(exc)[1:])

    def cancel(self, canvas: Canvas) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
        self._start = self._end = None
        canvas.viewport().update()

    # -- overlay ---------------------------------------------------------------------------------
    def paint_overlay(self, painter: QPainter, canvas: Canvas) -> None:
        if self._start is None or self._end is None:
            return
        a, b = canvas.doc_to_view(self._start), canvas.doc_to_view(self._end)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(0, 0, 0, 180), 3))
        painter.drawLine(a, b)
        painter.setPen(QPen(QColor(255, 255, 255), 1))
        painter.drawLine(a, b)
        if self.shape == "radial":
            r = math.hypot(b.x() - a.x(), b.y() - a.y())
            painter.setPen(QPen(QColor(255, 255, 255, 200), 1, Qt.PenStyle.DashLine))
            painter.drawEllipse(a, r, r)
        for p in (a, b):
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            painter.setBrush(QColor(255, 255, 255))
            painter.drawEllipse(p, 3.5, 3.5)
        painter.restore()

    def overlay_rect(self, canvas: Canvas, pos: QPointF | None) -> QRect | None:
        return None


__all__ = ["GradientTool"]
