"""Magic wand and Select > By colour: selections of similar colours (GIMP's fuzzy select /
select by colour, Krita's contiguous / similar colour selection, Photoshop's magic wand).

    mask = color_mask(doc, x, y, threshold=32, contiguous=True, sample_merged=False)
    select_color(doc, x, y, mode="add", threshold=32, contiguous=False)     # one undo step

The similarity is the fill bucket's (core/fill.py: largest channel difference in 8-bit units,
alpha premultiplied; antialiased edges as GIMP: full up to the threshold, 0 at 1.5 x threshold).
``contiguous=True`` is the magic wand (the 4-connected region through the clicked pixel),
``False`` selects every similar pixel (By colour). ``sample_merged`` compares the composite,
else the active layer (label layers: the class under the click, hard edges); layer offsets are
honoured and the mask covers the canvas. The new shape combines with the selection by ``mode``
(replace / add / subtract / intersect: core.selection.combine).
"""

from __future__ import annotations

import numpy as np

from .compositing import composite
from .document import Document
from .fill import similar_region
from .layers import LabelLayer, Layer
from .selection import Mode, apply_selection


def color_mask(doc: Document, x: float, y: float, *, threshold: float = 32.0,
               contiguous: bool = True, sample_merged: bool = False, antialias: bool = True,
               diagonal: bool = False, layer: Layer | None = None) -> np.ndarray | None:
    """HxW uint8 canvas mask (255 = selected) of the pixels similar to the one at document point
    (x, y); None when the point is outside what is sampled (the canvas, or the layer)."""
    layer = doc.active_layer if layer is None else layer
    px, py = int(np.floor(x)), int(np.floor(y))
    exact = False
    if sample_merged or layer is None:
        if not (0 <= px < doc.width and 0 <= py < doc.height):
            return None
        dtype = np.uint16 if any(getattr(la, "bit_depth", 8) == 16 for la in doc.layers) else np.uint8
        img, (ox, oy) = composite(doc, doc.bounds, dtype=dtype), (0, 0)
    elif isinstance(layer, LabelLayer):
        img, (ox, oy), exact = layer.labels, layer.offset, True
    else:
        img, (ox, oy) = layer.data, layer.offset
    found = similar_region(img, px - ox, py - oy, threshold, contiguous=contiguous,
                           antialias=antialias and not exact, diagonal=diagonal, exact=exact)
    if found is None:
        return None
    cov, rect = found
    out = np.zeros((doc.height, doc.width), np.uint8)
    doc_rect = rect.translated(ox, oy)
    inter = doc_rect.intersect(doc.bounds)
    if inter.is_empty():
        return out
    part = cov[inter.translated(-doc_rect.x, -doc_rect.y).slices()]
    out[inter.slices()] = np.rint(part * 255.0).astype(np.uint8)
    return out


def select_color(doc: Document, x: float, y: float, mode: Mode = "replace", *,
                 threshold: float = 32.0, contiguous: bool = True, sample_merged: bool = False,
                 antialias: bool = True, diagonal: bool = False, layer: Layer | None = None,
                 label: str | None = None) -> np.ndarray | None:
    """Magic wand (``contiguous=True``) / select by colour (``False``) at (x, y), combined with the
    selection by ``mode``; one undo step. Returns the new selection (None: nothing selected)."""
    mask = color_mask(doc, x, y, threshold=threshold, contiguous=contiguous,
                      sample_merged=sample_merged, antialias=antialias, diagonal=diagonal,
                      layer=layer)
    if mask is None:
        return doc.selection
    title = label or ("Magic wand" if contiguous else "Select by colour")
    return apply_selection(doc, mask, mode, label=title if mode == "replace" else f"{title} ({mode})")


__all__ = ["color_mask", "select_color"]
