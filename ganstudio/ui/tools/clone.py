"""Clone stamp (S) and healing brush (J), as in Photoshop / GIMP / Krita (core/clone.py).

Ctrl+click (or Alt+click) sets the source; then paint: the pixels at the same distance from the
source are copied under the brush (size, hardness, opacity of the tool options). "Aligned" keeps
that distance for every later stroke (the source follows); off, each stroke starts again at the
source point. "Sample merged" clones what you see (all layers) into the active layer, e.g. an
empty layer above the photo. Shift+click paints a straight line from the last stroke's end.

The healing brush clones the same way and, when the stroke ends, blends the painted area into its
surroundings (Poisson: the source's texture, the destination's colour and light). Its other mode,
"Inpainting model", needs no source: paint over a blemish and it is filled by the built-in
inpainting network as a background job (tasks/inpaint.py, through the Jobs panel; the result goes
into the layer as one undo step), or at once by OpenCV inpainting when the stroke is small.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QWidget

from .base import Tool
from .paint import LineMode

if TYPE_CHECKING:
    from ..canvas_api import CanvasView as Canvas

#: strokes covering at most this many pixels are healed at once with OpenCV (no job)
SMALL_HEAL_PIXELS = 48 * 48
HEAL_METHODS = [("Source texture (Poisson)", "poisson"), ("Inpainting model (no source)", "model")]


class CloneTool(LineMode, Tool):
    name, title, shortcut, icon = "clone", "Clone stamp", "S", "clone"
    tooltip = "Ctrl+click (or Alt+click) sets the source, then paint to copy it"
    cursor = Qt.CursorShape.CrossCursor
    heal = False

    def __init__(self) -> None:
        self._line_init()
        self.aligned = True
        self.sample_merged = False
        self.method = "poisson"
        self.source: QPointF | None = None
        self._source_doc: weakref.ref | None = None
        self.offset: tuple[float, float] | None = None   # source - destination (aligned)
        self._doc = None
        self._layer = None
        self._brush = None
        self._last: QPointF | None = None
        self._stroke_offset: tuple[float, float] = (0.0, 0.0)
        self._points: list[tuple[float, float]] = []      # model healing: the painted stroke
        self.widgets: dict[str, QWidget] = {}
        self.last_job = None

    # -- options ---------------------------------------------------------------------------------
    def options_widget(self) -> QWidget:
        w = QWidget()
        w.setObjectName(f"{self.name}_options")
        form = QFormLayout(w)
        form.setContentsMargins(0, 0, 0, 0)
        if self.heal:
            method = QComboBox()
            method.setObjectName("heal_method")
            for text, key in HEAL_METHODS:
                method.addItem(text, key)
            method.setToolTip("Poisson: clone from the source and blend it in; Inpainting model: "
                              "paint over a blemish, the AI fills it (no source needed)")
            method.currentIndexChanged.connect(lambda _i: setattr(self, "method", method.currentData()))
            form.addRow("Heal with", method)
            self.widgets["method"] = method
        aligned = QCheckBox("Aligned")
        aligned.setObjectName(f"{self.name}_aligned")
        aligned.setChecked(self.aligned)
        aligned.setToolTip("The source keeps its distance from the brush for every stroke")
        aligned.toggled.connect(self._set_aligned)
        merged = QCheckBox("Sample merged")
        merged.setObjectName(f"{self.name}_merged")
        merged.setToolTip("Copy what you see (all layers) instead of the active layer")
        merged.toggled.connect(lambda v: setattr(self, "sample_merged", bool(v)))
        form.addRow("", aligned)
        form.addRow("", merged)
        self.widgets.update(aligned=aligned, merged=merged)
        return w

    def _set_aligned(self, on: bool) -> None:
        self.aligned = bool(on)
        self.offset = None

    # -- source ----------------------------------------------------------------------------------
    def set_source(self, doc: Any, pos: QPointF) -> None:
        self.source = QPointF(pos)
        self._source_doc = weakref.ref(doc)
        self.offset = None
        self.message(f"Clone source set at {int(pos.x())}, {int(pos.y())}: now paint")

    def has_source(self, doc: Any) -> bool:
        return self.source is not None and self._source_doc is not None and self._source_doc() is doc

    def _uses_model(self) -> bool:
        return self.heal and self.method == "model"

    # -- input -----------------------------------------------------------------------------------
    def _make_brush(self):  # noqa: ANN202
        from ganstudio.core.brush import Brush

        s = self.settings
        return Brush(size=max(0.5, float(s.size)), hardness=float(s.hardness),
                     opacity=float(s.opacity))

    def press(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        from ganstudio.core.clone import clone_stroke

        doc = canvas.document
        mods = event.modifiers()
        if mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            self.set_source(doc, pos)
            canvas.viewport().update()
            return
        layer = doc.active_layer
        if layer is None:
            self.message("No layer to paint on: select a layer (not a group).")
            return
        if doc.is_locked(layer):
            self.message(f"Layer “{layer.name}” is locked.")
            return
        start = self.line_start(doc, event)
        first = start if start is not None else pos
        if self._uses_model() and not hasattr(layer, "pixels"):
            self.message("Healing with the inpainting model works on raster layers; the label "
                         "brush and fill edit label layers.")
            return
        self._doc, self._layer, self._last = doc, layer, pos
        self._brush = self._make_brush()
        if self._uses_model():
            self._points = [(first.x(), first.y()), (pos.x(), pos.y())]
            self._show_model_stroke(canvas)
            return
        if not self.has_source(doc):
            self._doc = self._layer = None
            self.message("Ctrl+click (or Alt+click) to set the clone source first.")
            return
        if self.aligned and self.offset is not None:
            off = self.offset
        else:
            off = (self.source.x() - first.x(), self.source.y() - first.y())
            if self.aligned:
                self.offset = off
        self._stroke_offset = off
        doc.history.begin("Heal" if self.heal else "Clone")
        try:
            pts = [(first.x(), first.y())] + ([(pos.x(), pos.y())] if start is not None else [])
            clone_stroke(doc, layer, pts, self._brush, off, sample_merged=self.sample_merged,
                         label="Heal" if self.heal else "Clone")
        except (PermissionError, ValueError) as exc:
            self._finish()
            self.message(str(exc))

    def move(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        from ganstudio.core.clone import clone_stroke

        if self._doc is None or self._last is None:
            return
        last, self._last = self._last, pos
        if self._uses_model():
            self._points.append((pos.x(), pos.y()))
            self._show_model_stroke(canvas)
            return
        clone_stroke(self._doc, self._layer, [(last.x(), last.y()), (pos.x(), pos.y())], self._brush,
                     self._stroke_offset, sample_merged=self.sample_merged,
                     label="Heal" if self.heal else "Clone")
        canvas.viewport().update()

    def release(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        if self._doc is not None and self._last is not None and pos != self._last:
            self.move(canvas, pos, event)
        if self._doc is not None and self._uses_model():
            doc, layer = self._doc, self._layer
            self.line_ended(doc, self._last)
            self._doc = self._layer = self._last = None
            self._heal_with_model(doc, layer)
            return
        if self._doc is not None and self.heal:
            from ganstudio.core.clone import heal_stroke

            try:
                heal_stroke(self._doc, self._layer)
            except (PermissionError, ValueError) as exc:
                self.message(str(exc))
        self._finish()

    def cancel(self, canvas: Canvas) -> None:
        if self._uses_model():
            self._points = []
            self._clear_preview()
            self._doc = self._layer = self._last = None
            return
        self._finish()

    def _finish(self) -> None:
        if self._doc is not None:
            self.line_ended(self._doc, self._last)
            self._doc.history.end()
        self._doc = self._layer = self._brush = self._last = None

    # -- healing with the inpainting model -------------------------------------------------------
    def _window(self) -> Any:
        return getattr(self.manager, "window", None)

    def _stroke_mask(self, doc: Any) -> np.ndarray:
        from ganstudio.core.clone import coverage_of

        return coverage_of(doc.width, doc.height, self._points, self._brush or self._make_brush())

    def _show_model_stroke(self, canvas: Canvas) -> None:
        from ganstudio.core.selection import mask_bounds

        win = self._window()
        if win is None:
            return
        m = self._stroke_mask(canvas.document)
        b = mask_bounds(m)
        if b is None:
            return
        tint = np.zeros((b.h, b.w, 4), np.uint8)
        tint[..., 0], tint[..., 1], tint[..., 2] = 80, 200, 255
        tint[..., 3] = (m[b.slices()].astype(np.uint16) * 150 // 255).astype(np.uint8)
        win.show_preview(b, tint)

    def _clear_preview(self) -> None:
        win = self._window()
        if win is not None:
            win.clear_preview()

    def _heal_with_model(self, doc: Any, layer: Any) -> None:
        from ganstudio.core.clone import heal_inpaint

        mask = self._stroke_mask(doc)
        self._points = []
        self._clear_preview()
        if doc.selection is not None:
            mask = (mask.astype(np.uint16) * doc.selection // 255).astype(np.uint8)
        painted = int(np.count_nonzero(mask))
        if painted == 0:
            return
        win = self._window()
        if painted <= SMALL_HEAL_PIXELS or win is None:
            try:
                heal_inpaint(doc, layer, mask)
            except (PermissionError, ValueError) as exc:
                self.message(str(exc))
            return
        try:
            self.last_job = submit_heal_job(win, doc, layer, mask, merged=self.sample_merged)
        except Exception as exc:  # noqa: BLE001 - no model, no job: heal with OpenCV instead
            self.message(f"Inpainting model unavailable ({exc}); healed with OpenCV instead.")
            heal_inpaint(doc, layer, mask)

    # -- overlay ---------------------------------------------------------------------------------
    def _source_view(self, canvas: Canvas) -> QPointF | None:
        if self._uses_model() or not self.has_source(canvas.document):
            return None
        pos = canvas.hover_pos
        off = self._stroke_offset if self._doc is not None else self.offset
        if pos is not None and off is not None:
            return canvas.doc_to_view(QPointF(pos.x() + off[0], pos.y() + off[1]))
        return canvas.doc_to_view(self.source)

    def overlay_rect(self, canvas: Canvas, pos: QPointF | None) -> QRect | None:
        if pos is None:
            return None
        c = canvas.doc_to_view(pos)
        r = int(self.settings.size * canvas.zoom / 2) + 3
        rect = QRect(int(c.x()) - r, int(c.y()) - r, 2 * r + 1, 2 * r + 1)
        off = self.offset if self._doc is None else self._stroke_offset
        if off is not None:
            s = canvas.doc_to_view(QPointF(pos.x() + off[0], pos.y() + off[1]))
            rect = rect.united(QRect(int(s.x()) - r, int(s.y()) - r, 2 * r + 1, 2 * r + 1))
        line = self.line_rect(canvas, pos)
        return rect.united(line) if line is not None else rect

    def paint_overlay(self, painter: QPainter, canvas: Canvas) -> None:
        pos = canvas.hover_pos
        line = self.line_preview(canvas) if self._doc is None else None
        if line is not None:
            self.draw_line_preview(painter, line)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        r = max(1.0, self.settings.size * canvas.zoom / 2)
        if pos is not None:
            c = canvas.doc_to_view(pos)
            painter.setPen(QPen(QColor(0, 0, 0, 160), 1))
            painter.drawEllipse(c, r + 1, r + 1)
            painter.setPen(QPen(QColor(255, 255, 255, 220), 1))
            painter.drawEllipse(c, r, r)
        src = self._source_view(canvas)
        if src is not None:
            painter.setPen(QPen(QColor(0, 0, 0, 200), 3))
            painter.drawLine(QPointF(src.x() - 6, src.y()), QPointF(src.x() + 6, src.y()))
            painter.drawLine(QPointF(src.x(), src.y() - 6), QPointF(src.x(), src.y() + 6))
            painter.setPen(QPen(QColor(255, 255, 255), 1))
            painter.drawLine(QPointF(src.x() - 6, src.y()), QPointF(src.x() + 6, src.y()))
            painter.drawLine(QPointF(src.x(), src.y() - 6), QPointF(src.x(), src.y() + 6))
            painter.setPen(QPen(QColor(255, 255, 255, 140), 1, Qt.PenStyle.DashLine))
            painter.drawEllipse(src, r, r)
        painter.restore()


class HealTool(CloneTool):
    name, title, shortcut, icon = "heal", "Healing brush", "J", "heal"
    tooltip = ("Ctrl+click (or Alt+click) sets the source, then paint: the copy is blended into "
               "its surroundings (or heal with the inpainting model, no source)")
    heal = True


def submit_heal_job(window: Any, doc: Any, layer: Any, mask: np.ndarray, *, merged: bool = False,
                    margin: int = 64) -> Any:
    """Run the built-in inpainting model over ``mask`` (HxW uint8 canvas mask) as a window job;
    its result is blended into ``layer`` by the task's composite weight (one undo step, after
    the window's placement check)."""
    from ganstudio.core.clone import blend_patch
    from ganstudio.core.selection import mask_bounds
    from ganstudio.jobs import Job
    from ganstudio.jobs.runner import gather_inputs
    from ganstudio.tasks.inpaint import BUILTIN_ID, InpaintRequest, composite_weight

    bounds = mask_bounds(mask)
    if bounds is None:
        return None
    region = bounds.expanded(margin).intersect(doc.bounds)
    request = InpaintRequest(model_id=BUILTIN_ID, strategy="crop", crop_margin=margin, feather=2)
    inputs, rect = gather_inputs(doc, source="composite" if merged else "active", region=region,
                                 mask=mask)
    placement = window.placement(rect, retarget="refuse", mask=inputs.mask)
    sub_mask = np.ascontiguousarray(mask[rect.slices()])
    uid = layer.uid

    def apply(target_doc: Any, result: Any) -> None:
        la = target_doc.layer_by_uid(uid)
        if la is None:
            window.status_message("Heal: the layer is gone; nothing changed")
            return
        img = np.asarray(result.image)
        weight = composite_weight(sub_mask, request)
        blend_patch(target_doc, la, rect, img, weight, label="Heal")

    job = Job("Heal (inpainting model)", inputs=inputs, request=request, task="inpaint",
              placement=placement)
    job.data["apply"] = apply
    return window.run_job(job)


__all__ = ["CloneTool", "HealTool", "submit_heal_job"]
