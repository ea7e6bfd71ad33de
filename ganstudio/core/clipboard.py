"""Cut / copy / paste of pixels (Edit menu) and opening files as layers, Qt-free.

    copy_pixels(doc, layer=None, merged=False) -> Clip | None   (nothing selected on it: None)
    cut_pixels(doc, layer=None) -> Clip | None                   (copy + Delete: one undo step)
    paste_as_layer(doc, clip, *, at=None, name=None) -> RasterLayer   (one undo step)
    new_document_from(clip, name=...) -> Document
    add_layers(doc, [(name, pixels)], centre=True) -> [RasterLayer]   (one undo step)

A :class:`Clip` is straight RGBA (uint8 or uint16, the source's depth kept) cropped to the
selection's bounds, its alpha multiplied by the selection (soft selections give soft edges, as in
GIMP / Krita / Photoshop) and, for a single layer, by the layer's enabled mask (what is seen is
what is copied); ``origin`` is where its top-left was in the document, so Paste puts it back at
the same position. A label layer is copied as its palette colours, a layer group as its
composite. ``merged`` copies the composite of every visible layer (Copy merged / Copy visible).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .document import Document
from .geometry import Rect
from .layers import LabelLayer, Layer, RasterLayer
from .pixels import to_dtype

__all__ = ["Clip", "copy_pixels", "cut_pixels", "paste_as_layer", "new_document_from", "add_layers"]


@dataclass
class Clip:
    pixels: np.ndarray                 # HxWx4 uint8 | uint16, straight alpha
    origin: tuple[int, int] = (0, 0)   # document position of the top-left when copied
    name: str = "Pasted layer"

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def _coverage(doc: Document, rect: Rect) -> np.ndarray | None:
    return None if doc.selection is None else doc.selection[rect.slices()]


def _scale_alpha(px: np.ndarray, cov: np.ndarray | None) -> np.ndarray:
    if cov is None:
        return px
    a = px[..., 3].astype(np.float32) * (cov.astype(np.float32) * (1.0 / 255.0))
    px[..., 3] = (a + 0.5).astype(px.dtype)
    return px


def copy_pixels(doc: Document, layer: Layer | None = None, *, merged: bool = False) -> Clip | None:
    """Copy the selected pixels of ``layer`` (default: the active layer) or, with ``merged``, of
    the composite. With no selection: the whole layer (or canvas). None when nothing is there."""
    from .compositing import composite

    if merged:
        rect = doc.bounds if doc.selection is None else doc.selection_bounds()
        if rect is None:
            return None
        px = composite(doc, rect, dtype=_doc_dtype(doc)).copy()
        return Clip(_scale_alpha(px, _coverage(doc, rect)), (rect.x, rect.y), "Pasted (merged)")
    layer = doc.active_node if layer is None else layer
    if layer is None:
        raise ValueError("there is no active layer to copy from (select a layer, or Copy merged)")
    if layer.is_group:
        return _copy_group(doc, layer)
    sb = layer.bounds if doc.selection is None else doc.selection_bounds()
    rect = None if sb is None else sb.intersect(layer.bounds)
    if doc.selection is not None and rect is not None:
        rect = rect.intersect(doc.bounds)
    if rect is None or rect.is_empty():
        return None
    lr = layer.to_layer_rect(rect)
    px = np.array(layer.rgba(lr), copy=True)
    mask = layer.effective_mask
    if mask is not None:
        px = _scale_alpha(px, mask[lr.slices()])
    return Clip(_scale_alpha(px, _coverage(doc, rect)), (rect.x, rect.y), f"{layer.name} (pasted)")


def _copy_group(doc: Document, group: Layer) -> Clip | None:
    """A layer group copies as its composite, as it shows (the group's opacity included)."""
    from .compositing import composite_layers
    from .pixels import layers_bit_depth

    leaves = [la for la in group.leaves()]  # type: ignore[attr-defined]
    gb = group.bounds
    sb = gb if doc.selection is None else doc.selection_bounds()
    rect = None if sb is None or gb.is_empty() else sb.intersect(gb)
    if rect is None or rect.is_empty():
        return None
    dtype = np.uint16 if layers_bit_depth(leaves) == 16 else np.uint8
    px = np.array(composite_layers(leaves, rect, dtype=dtype), copy=True)
    return Clip(_scale_alpha(px, _coverage(doc, rect)), (rect.x, rect.y), f"{group.name} (pasted)")


def _doc_dtype(doc: Document) -> type:
    from .pixels import document_dtype

    return document_dtype(doc)


def cut_pixels(doc: Document, layer: Layer | None = None) -> Clip | None:
    """Copy, then delete the selected pixels (soft selections partly): one undo step. A label
    layer's cut pixels become its transparent class."""
    from .operations import clear_selection

    layer = doc.active_layer if layer is None else layer
    if layer is None:
        raise ValueError("there is no active layer to cut from")
    if layer.locked or doc.is_locked(layer):
        raise PermissionError(f"layer “{layer.name}” is locked")
    if isinstance(layer, LabelLayer) and layer.transparent_id is None:
        raise ValueError(f"label layer “{layer.name}” has no transparent class to cut to")
    clip = copy_pixels(doc, layer)
    if clip is None:
        return None
    clear_selection(doc, layer, label="Cut")
    return clip


def paste_as_layer(doc: Document, clip: Clip, *, at: tuple[int, int] | None = None,
                   name: str | None = None) -> RasterLayer:
    """Add ``clip`` as a new layer above the active one (at ``at``, default its origin), active.
    One undo step."""
    x, y = clip.origin if at is None else at
    layer = RasterLayer(name or clip.name, np.ascontiguousarray(clip.pixels.copy()), offset=(int(x), int(y)))
    with doc.history.transaction("Paste"):
        doc.add_layer(layer, activate=True, label="Paste")   # above the active layer, in its group
    return layer


def new_document_from(clip: Clip, name: str = "Pasted image") -> Document:
    """A new document the size of ``clip`` holding it as its one layer (no undo history)."""
    doc = Document(clip.width, clip.height, name=name)
    with doc.history.transaction("Paste as new image"):
        doc.add_layer(RasterLayer("Background", clip.pixels.copy()), 0, activate=True)
    doc.history.clear()
    doc.mark_modified(True)
    return doc


def add_layers(doc: Document, images: Iterable[tuple[str, np.ndarray]], *,
               centre: bool = True) -> list[RasterLayer]:
    """Open as layers: each (name, RGBA or RGB pixels) becomes a layer above the active one,
    centred on the canvas (``centre``) or at the top-left; 16-bit kept. One undo step."""
    items = list(images)
    layers = []
    for name, px in items:
        px = np.asarray(px)
        if px.ndim == 2:
            px = np.repeat(px[..., None], 3, axis=2)
        if px.shape[2] == 3:
            full = np.full(px.shape[:2] + (1,), 65535 if px.dtype == np.uint16 else 255, px.dtype)
            px = np.concatenate([px, full], axis=2)
        if px.dtype not in (np.uint8, np.uint16):
            px = to_dtype(px.astype(np.uint16), np.uint8)
        h, w = px.shape[:2]
        off = ((doc.width - w) // 2, (doc.height - h) // 2) if centre else (0, 0)
        layers.append(RasterLayer(name, np.ascontiguousarray(px), offset=off))
    if not layers:
        return []
    label = "Open as layers" if len(layers) > 1 else f"Open as layer “{layers[0].name}”"
    with doc.history.transaction(label):
        for la in layers:
            doc.add_layer(la, activate=True)     # each above the previous one
    return layers
