"""Fill bucket (G): click to flood-fill the region of similar colour (core/fill.py) with the brush
colour on a raster layer, with the current class on a label layer (the Scene panel's fill), or
the colour's grey level on the layer mask ("Paint the layer mask"). Options: threshold,
contiguous or every similar pixel, sample merged (what you see) or the layer, antialiased edge,
opacity; the selection limits the fill. One click = one undo step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QFormLayout, QWidget

from ..labeled_slider import LabeledSlider
from .base import Tool

if TYPE_CHECKING:
    from ..canvas_api import CanvasView as Canvas


#: whole-layer operations on more pixels than this show the busy cursor while they run
BUSY_PIXELS = 4_000_000


@contextmanager
def busy(pixels: int) -> Iterator[None]:
    """The wait cursor while a large fill / gradient runs on the GUI thread."""
    if pixels < BUSY_PIXELS:
        yield
        return
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


@dataclass
class Similarity:
    threshold: int = 32          # 0..255 (8-bit units)
    contiguous: bool = True
    sample_merged: bool = False
    antialias: bool = True


def similarity_form(opts: Similarity, parent: QWidget | None = None, *,
                    global_text: str = "Contiguous") -> tuple[QWidget, dict[str, QWidget]]:
    """The threshold / contiguous / sample merged / antialias rows shared by the bucket and the
    wand; edits write into ``opts``."""
    w = QWidget(parent)
    form = QFormLayout(w)
    form.setContentsMargins(0, 0, 0, 0)
    threshold = LabeledSlider(0, 255)
    threshold.setObjectName("similarity_threshold")
    threshold.setValue(opts.threshold)
    threshold.setToolTip("How different a colour may be and still count as similar (0: exactly "
                         "the clicked colour)")
    threshold.valueChanged.connect(lambda v: setattr(opts, "threshold", int(v)))
    contiguous = QCheckBox(global_text)
    contiguous.setObjectName("similarity_contiguous")
    contiguous.setChecked(opts.contiguous)
    contiguous.setToolTip("Only the connected area around the click (off: every similar pixel)")
    contiguous.toggled.connect(lambda v: setattr(opts, "contiguous", bool(v)))
    merged = QCheckBox("Sample merged")
    merged.setObjectName("similarity_merged")
    merged.setChecked(opts.sample_merged)
    merged.setToolTip("Compare the colours you see (all layers) instead of the active layer's")
    merged.toggled.connect(lambda v: setattr(opts, "sample_merged", bool(v)))
    antialias = QCheckBox("Antialiasing")
    antialias.setObjectName("similarity_antialias")
    antialias.setChecked(opts.antialias)
    antialias.setToolTip("Soft edge where the colours stop being similar")
    antialias.toggled.connect(lambda v: setattr(opts, "antialias", bool(v)))
    form.addRow("Threshold", threshold)
    form.addRow("", contiguous)
    form.addRow("", merged)
    form.addRow("", antialias)
    return w, {"threshold": threshold, "contiguous": contiguous, "merged": merged,
               "antialias": antialias}


class FillTool(Tool):
    name, title, shortcut, icon = "fill", "Fill bucket", "G", "fill"
    tooltip = ("Fill the area of similar colour with the brush colour (label layers: the current "
               "class)")
    cursor = Qt.CursorShape.PointingHandCursor

    def __init__(self) -> None:
        self.options = Similarity()
        self.widgets: dict[str, QWidget] = {}

    def options_widget(self) -> QWidget:
        w, self.widgets = similarity_form(self.options)
        w.setObjectName("fill_options")
        return w

    def press(self, canvas: Canvas, pos: QPointF, event: QMouseEvent) -> None:
        from ganstudio.core.fill import bucket_fill

        doc = canvas.document
        layer = doc.active_layer
        if layer is None:
            self.message("No layer to fill: select a layer (a group cannot be filled).")
            return
        if doc.is_locked(layer):
            self.message(f"Layer “{layer.name}” is locked.")
            return
        s, o = self.settings, self.options
        is_label = hasattr(layer, "labels")
        target = "mask" if (s.edit_layer_mask and layer.mask is not None and not is_label) else "pixels"
        try:
            with busy(layer.width * layer.height):
                rect = bucket_fill(doc, pos.x(), pos.y(), None if is_label else s.color, layer=layer,
                                   label_id=int(s.label_id) if is_label else None,
                                   threshold=o.threshold, contiguous=o.contiguous,
                                   sample_merged=o.sample_merged and not is_label,
                                   antialias=o.antialias, target=target, opacity=s.opacity,
                                   label="Fill labels" if is_label else "Fill")
        except (PermissionError, ValueError) as exc:
            self.message(str(exc))
            return
        if rect is None:
            self.message("Nothing to fill here (outside the layer or the selection).")


__all__ = ["FillTool", "Similarity", "similarity_form", "busy"]
