"""Document operations (Layer and Image menus), each one undo step.

    merge_down(doc, layer=None) -> RasterLayer          flatten(doc) -> RasterLayer
    crop(doc, rect)                                      resize_canvas(doc, w, h, anchor=(0.5, 0.5))
    resample_image(doc, w, h, method="lanczos")          (lanczos | bicubic | bilinear | nearest)
    add_layer_mask(doc, layer, fill=255, from_selection=False)
    remove_layer_mask(doc, layer)                        apply_layer_mask(doc, layer)
    fill_selection(doc, layer, color) -> Rect            clear_selection(doc, layer) -> Rect

Colours are RGB or RGBA tuples in 8-bit units (0..255), scaled for 16-bit layers; for a
LabelLayer, ``fill_selection`` takes a class id instead. ``layer=None`` means the active layer.
Pixel operations refuse locked layers (PermissionError); whole-image geometry operations (crop,
resize canvas, resample) apply to every layer, locked or not.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image

from .blend import erase_alpha, maxval_of, paint_over
from .compositing import LayerPass, composite, composite_passes
from .document import Document, LayerData
from .geometry import Rect
from .history import CallbackCommand
from .layers import BlendMode, LabelLayer, Layer, RasterLayer
from .pixels import dtype_for_bits, layers_bit_depth

BAND_ROWS_PIXELS = 1 << 20  # pixel work in bands of ~1 MP (no full-image float temporaries)

RESAMPLE_METHODS = ("lanczos", "bicubic", "bilinear", "nearest")
_PIL_FILTERS = {
    "lanczos": Image.Resampling.LANCZOS,
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
}


def _layer(doc: Document, layer: Layer | None) -> Layer:
    layer = doc.active_layer if layer is None else layer
    if layer is None:
        raise ValueError("no layer")
    doc.index_of(layer)
    return layer


def _check_unlocked(*layers: Layer) -> None:
    for la in layers:
        if la.locked:
            raise PermissionError(f"layer “{la.name}” is locked")


def _bit_depth(layers: Sequence[Layer]) -> type:
    return dtype_for_bits(layers_bit_depth(layers))


# -- merge / flatten --------------------------------------------------------------------------------
def merge_down(doc: Document, layer: Layer | None = None) -> RasterLayer:
    """Merge ``layer`` into the layer below it; the result is a RasterLayer in its place.

    The result keeps the lower layer's name, opacity, blend mode and visibility; the lower layer's
    mask is baked into its pixels, then ``layer`` is composited onto them with its own opacity,
    mode and mask (an invisible upper layer is dropped). The result covers both layers' bounds
    and is 16-bit if either was.
    """
    layer = _layer(doc, layer)
    index = doc.index_of(layer)
    if index == 0:
        raise ValueError("there is no layer below to merge into")
    lower = doc.layers[index - 1]
    if lower.parent is not layer.parent:
        raise ValueError(f"the layer below “{layer.name}” is in another group: merge within a group, "
                         "or merge the group first")
    _check_unlocked(layer, lower)
    rect = lower.bounds.union(layer.bounds) if layer.visible else lower.bounds
    passes = [LayerPass(lower, 1.0, BlendMode.NORMAL)]
    if layer.visible and layer.opacity > 0:
        passes.append(LayerPass.of(layer))
    pixels = composite_passes(passes, rect, dtype=_bit_depth([layer, lower]))
    attrs = lower.attributes()
    attrs.update(offset=(rect.x, rect.y), locked=False)
    merged = RasterLayer(attrs.pop("name"), pixels, **attrs)
    with doc.history.transaction(f"Merge down “{layer.name}”"):
        doc.remove_layer(layer)
        doc.replace_layer(lower, merged, activate=True)   # exactly where the lower layer was
    return merged


def flatten(doc: Document) -> RasterLayer:
    """Replace every layer by one canvas-sized layer holding the composite (transparency kept)."""
    visible = [la for la in doc.layers if la.visible]
    pixels = composite(doc, dtype=_bit_depth(visible))
    flat = RasterLayer("Background", pixels)
    with doc.history.transaction("Flatten image"):
        for node in list(reversed(doc.children_of(None))):   # top-level nodes: groups go whole
            doc.remove_layer(node)
        doc.add_layer(flat, parent=None, position=0, activate=True)
    return flat


# -- geometry ---------------------------------------------------------------------------------------
def crop(doc: Document, rect: Rect) -> None:
    """Crop the canvas to ``rect`` (clipped to the canvas). Layer pixels outside it are cut off;
    a layer entirely outside keeps its pixels (it just lies off the canvas)."""
    rect = rect.intersect(doc.bounds)
    if rect.is_empty():
        raise ValueError("crop rectangle does not overlap the canvas")
    layers: dict[Layer, LayerData] = {}
    for la in doc.layers:
        inter = la.bounds.intersect(rect)
        if inter.is_empty():
            ox, oy = la.offset
            layers[la] = LayerData(la.data, la.mask, (ox - rect.x, oy - rect.y))
            continue
        lr = la.to_layer_rect(inter)
        mask = None if la.mask is None else la.mask[lr.slices()].copy()
        layers[la] = LayerData(la.data[lr.slices()].copy(), mask, (inter.x - rect.x, inter.y - rect.y))

    def cut(m: np.ndarray | None) -> np.ndarray | None:
        return None if m is None else m[rect.slices()].copy()

    doc.replace_contents("Crop image", size=(rect.w, rect.h), layers=layers,
                         selection=cut(doc.selection), ai_mask=cut(doc.ai_mask),
                         transform=(-rect.x, -rect.y, 1, 1))


def resize_canvas(doc: Document, width: int, height: int,
                  anchor: tuple[float, float] = (0.5, 0.5)) -> None:
    """Change the canvas size; layers keep their pixels and shift by the anchor.

    ``anchor`` (0..1, 0..1) is the point of the old canvas that stays at the same relative place:
    (0, 0) keeps the top-left corner, (0.5, 0.5) centres, (1, 1) keeps the bottom-right corner.
    """
    width, height = int(width), int(height)
    if width <= 0 or height <= 0:
        raise ValueError(f"invalid canvas size {width}x{height}")
    dx = int(round((width - doc.width) * float(anchor[0])))
    dy = int(round((height - doc.height) * float(anchor[1])))
    layers = {la: LayerData(la.data, la.mask, (la.offset[0] + dx, la.offset[1] + dy))
              for la in doc.layers}

    def shift(m: np.ndarray | None) -> np.ndarray | None:
        if m is None:
            return None
        new = np.zeros((height, width), m.dtype)
        dst = Rect(dx, dy, m.shape[1], m.shape[0]).intersect(Rect(0, 0, width, height))
        if not dst.is_empty():
            new[dst.slices()] = m[dst.translated(-dx, -dy).slices()]
        return new

    doc.replace_contents("Resize canvas", size=(width, height), layers=layers,
                         selection=shift(doc.selection), ai_mask=shift(doc.ai_mask),
                         transform=(dx, dy, 1, 1))


def resample_image(doc: Document, width: int, height: int, method: str = "lanczos") -> None:
    """Scale the whole image to ``width`` x ``height``: every layer (pixels in premultiplied
    alpha, masks), offsets, the selection and the AI mask. Label layers always use nearest;
    16-bit layers stay 16-bit. ``method``: lanczos | bicubic | bilinear | nearest (antialiased
    when shrinking, except nearest)."""
    if method not in RESAMPLE_METHODS:
        raise ValueError(f"unknown resampling method {method!r}; use one of {RESAMPLE_METHODS}")
    width, height = int(width), int(height)
    if width <= 0 or height <= 0:
        raise ValueError(f"invalid image size {width}x{height}")
    sx, sy = width / doc.width, height / doc.height
    layers: dict[Layer, LayerData] = {}
    for la in doc.layers:
        size = (max(1, int(round(la.width * sx))), max(1, int(round(la.height * sy))))
        offset = (int(round(la.offset[0] * sx)), int(round(la.offset[1] * sy)))
        if isinstance(la, LabelLayer):
            data = resample_plane(la.labels, size, "nearest")
        else:
            data = resample_rgba(la.data, size, method)
        mask = None if la.mask is None else resample_plane(la.mask, size, method)
        layers[la] = LayerData(data, mask, offset)

    def scale(m: np.ndarray | None) -> np.ndarray | None:
        return None if m is None else resample_plane(m, (width, height), method)

    doc.replace_contents("Resample image", size=(width, height), layers=layers,
                         selection=scale(doc.selection), ai_mask=scale(doc.ai_mask),
                         transform=(0, 0, sx, sy))


def resample_plane(plane: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """Resize one HxW uint8/uint16 plane to ``size`` (w, h)."""
    if method == "nearest":
        return cv2.resize(plane, size, interpolation=cv2.INTER_NEAREST_EXACT)
    filt = _PIL_FILTERS[method]
    if plane.dtype == np.uint8:
        return np.asarray(Image.fromarray(np.ascontiguousarray(plane), "L").resize(size, filt)).copy()
    f = np.asarray(Image.fromarray(plane.astype(np.float32), "F").resize(size, filt))
    return _to_int(f, plane.dtype)


def resample_rgba(px: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    """Resize straight RGBA (uint8/uint16) in premultiplied alpha (no dark fringes)."""
    if method == "nearest":
        return cv2.resize(px, size, interpolation=cv2.INTER_NEAREST_EXACT)
    filt = _PIL_FILTERS[method]
    if px.dtype == np.uint8:
        # Pillow resizes RGBA in premultiplied form (RGBa) itself.
        return np.asarray(Image.fromarray(np.ascontiguousarray(px), "RGBA").resize(size, filt)).copy()
    maxv = maxval_of(px)
    a = np.multiply(px[..., 3], 1.0 / maxv, dtype=np.float32)

    def rs(plane: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(np.ascontiguousarray(plane), "F").resize(size, filt))

    a2 = np.clip(rs(a), 0.0, 1.0)
    inv = np.zeros_like(a2)
    np.divide(1.0, a2, out=inv, where=a2 > 0.5 / maxv)
    out = np.empty((size[1], size[0], 4), px.dtype)
    for c in range(3):
        prem = np.multiply(px[..., c], a, dtype=np.float32)
        out[..., c] = _to_int(rs(prem) * inv, px.dtype)
    out[..., 3] = _to_int(a2 * maxv, px.dtype)
    return out


def _to_int(f: np.ndarray, dtype: np.dtype) -> np.ndarray:
    maxv = 65535.0 if dtype == np.uint16 else 255.0
    t = np.add(f, 0.5, dtype=np.float32)
    np.clip(t, 0.0, maxv, out=t)
    return t.astype(dtype)


# -- layer masks ------------------------------------------------------------------------------------
def _set_mask_step(doc: Document, layer: Layer, mask: np.ndarray | None, label: str) -> None:
    old, old_enabled = layer.mask, layer.mask_enabled

    def apply(m: np.ndarray | None, enabled: bool) -> None:
        layer.set_mask(m)
        layer.set_mask_enabled(enabled)

    apply(mask, True)
    nbytes = (0 if old is None else old.nbytes) + (0 if mask is None else mask.nbytes)
    doc.history.push(CallbackCommand(label, lambda: apply(old, old_enabled), lambda: apply(mask, True),
                                     nbytes=nbytes))


def selection_in_layer(doc: Document, layer: Layer) -> np.ndarray:
    """The document selection mapped onto ``layer``'s pixels (HxW uint8; 0 outside the canvas).

    With no selection, everything on the canvas counts as selected."""
    out = np.zeros((layer.height, layer.width), np.uint8)
    inter = layer.bounds.intersect(doc.bounds)
    if not inter.is_empty():
        lr = layer.to_layer_rect(inter)
        out[lr.slices()] = 255 if doc.selection is None else doc.selection[inter.slices()]
    return out


def add_layer_mask(doc: Document, layer: Layer | None = None, *, fill: int = 255,
                   from_selection: bool = False) -> np.ndarray:
    """Give ``layer`` a mask (replacing any): filled with ``fill`` (255 shows all, 0 hides all)
    or made from the selection. One undo step; returns the new mask."""
    layer = _layer(doc, layer)
    _check_unlocked(layer)
    if from_selection:
        mask = selection_in_layer(doc, layer)
    else:
        mask = np.full((layer.height, layer.width), int(fill), np.uint8)
    _set_mask_step(doc, layer, mask, "Add layer mask")
    return mask


def remove_layer_mask(doc: Document, layer: Layer | None = None) -> None:
    """Delete ``layer``'s mask without applying it. One undo step."""
    layer = _layer(doc, layer)
    _check_unlocked(layer)
    if layer.mask is not None:
        _set_mask_step(doc, layer, None, "Delete layer mask")


def apply_layer_mask(doc: Document, layer: Layer | None = None) -> None:
    """Bake the mask into the layer (alpha x mask; label layers: hidden pixels become the
    transparent id) and delete the mask. One undo step."""
    layer = _layer(doc, layer)
    _check_unlocked(layer)
    mask = layer.mask
    if mask is None:
        return
    if isinstance(layer, LabelLayer):
        if layer.transparent_id is None:
            raise ValueError("this label layer has no transparent class to apply its mask with")
        data = np.where(mask >= 128, layer.labels, layer.labels.dtype.type(layer.transparent_id))
    else:
        data = layer.data.copy()
        for rows in _bands(layer.height, layer.width):
            alpha = np.multiply(data[rows, :, 3], mask[rows], dtype=np.float32)
            alpha *= 1.0 / 255.0
            alpha += 0.5
            data[rows, :, 3] = alpha
    doc.replace_contents("Apply layer mask", layers={layer: LayerData(data, None)})


# -- fill / delete ----------------------------------------------------------------------------------
def _bands(height: int, width: int) -> list[slice]:
    rows = max(1, BAND_ROWS_PIXELS // max(1, width))
    return [slice(y, min(height, y + rows)) for y in range(0, height, rows)]


def _edit_region(doc: Document, layer: Layer) -> tuple[Rect, np.ndarray | None] | None:
    """Layer-coordinate rect to edit and the selection coverage over it (None = everywhere)."""
    if doc.selection is None:
        return Rect(0, 0, layer.width, layer.height), None
    sb = doc.selection_bounds()
    inter = None if sb is None else sb.intersect(layer.bounds)
    if inter is None or inter.is_empty():
        return None
    return layer.to_layer_rect(inter), doc.selection[inter.slices()]


def _color01(color: Sequence[float]) -> tuple[float, float, float, float]:
    vals = [float(c) / 255.0 for c in color]
    if len(vals) == 3:
        vals.append(1.0)
    if len(vals) != 4:
        raise ValueError("colour must be RGB or RGBA")
    return vals[0], vals[1], vals[2], vals[3]


def fill_selection(doc: Document, layer: Layer | None, color: Sequence[float] | int,
                   label: str = "Fill") -> Rect | None:
    """Edit > Fill: paint ``color`` over the selection (soft edges blend), or the whole layer
    with no selection. Label layers: ``color`` is the class id (pixels selected >= 50%).
    Returns the changed rect (layer coordinates) or None when nothing is selected on the layer."""
    layer = _layer(doc, layer)
    region = _edit_region(doc, layer)
    if region is None:
        return None
    rect, sel = region
    with doc.edit_pixels(layer, rect, label) as arr:
        sub = arr[rect.slices()]
        if isinstance(layer, LabelLayer):
            value = int(color)  # type: ignore[arg-type]
            if sel is None:
                sub[...] = value
            else:
                sub[sel >= 128] = value
        else:
            col = _color01(color)  # type: ignore[arg-type]
            if sel is None and col[3] >= 1.0:
                maxv = maxval_of(sub)
                sub[...] = [int(round(c * maxv)) for c in col]
            else:
                for rows in _bands(rect.h, rect.w):
                    cov = 1.0 if sel is None else np.multiply(sel[rows], 1.0 / 255, dtype=np.float32)
                    paint_over(sub[rows], col, cov)
    return rect


def clear_selection(doc: Document, layer: Layer | None = None, label: str = "Delete") -> Rect | None:
    """Edit > Delete: make the selected pixels transparent (soft selections partly), or the whole
    layer with no selection. Label layers get the transparent id. Returns the changed rect."""
    layer = _layer(doc, layer)
    region = _edit_region(doc, layer)
    if region is None:
        return None
    rect, sel = region
    with doc.edit_pixels(layer, rect, label) as arr:
        sub = arr[rect.slices()]
        if isinstance(layer, LabelLayer):
            if layer.transparent_id is None:
                raise ValueError("this label layer has no transparent class")
            if sel is None:
                sub[...] = layer.transparent_id
            else:
                sub[sel >= 128] = layer.transparent_id
        elif sel is None:
            sub[...] = 0
        else:
            for rows in _bands(rect.h, rect.w):
                erase_alpha(sub[rows], np.multiply(sel[rows], 1.0 / 255, dtype=np.float32))
    return rect
