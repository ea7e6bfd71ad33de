"""Fill bucket: flood fill by colour similarity (Krita / GIMP / Photoshop "paint bucket").

    region = similar_region(image, x, y, threshold=32, contiguous=True, antialias=True)
    bucket_fill(doc, x, y, color=(255, 0, 0), threshold=32, contiguous=True,
                sample_merged=False, antialias=True)          # one undo step

Similarity (as GIMP's "composite" criterion): the largest difference over R, G, B (premultiplied by
alpha, so every fully transparent pixel is alike) and A, in 8-bit units (16-bit images are
compared at the same scale). ``threshold`` 0..255: a pixel belongs to the region when its
difference is at most the threshold. With ``antialias`` the edge is soft the way GIMP makes it:
coverage 1 up to the threshold, falling linearly to 0 at 1.5 x threshold. ``contiguous``: only
the 4-connected region through the seed (``diagonal=True``: 8-connected), found with OpenCV's
floodFill; otherwise every similar pixel of the image.

``sample_merged``: the region is found on the composite (what the user sees) instead of the
active layer; the fill still goes into the active layer (only inside its bounds; layer offsets
are honoured). The selection limits the fill (soft selections scale the coverage). Targets:
raster pixels (8 / 16 bit, source-over of the colour), the layer mask (``target="mask"``: the
colour's grey level), label layers (the class id; regions of one class, hard edges, pixels
selected >= 50 %). Locked layers raise PermissionError.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import cv2
import numpy as np

from .blend import maxval_of, paint_over
from .compositing import composite
from .document import Document
from .geometry import Rect, tile_rect
from .history import TileEdit
from .layers import LabelLayer, Layer, RasterLayer

BAND_PIXELS = 1 << 20  # difference maps are computed in bands of ~1 MP

Target = Literal["pixels", "mask"]


def _rows(h: int, w: int) -> list[slice]:
    step = max(1, BAND_PIXELS // max(1, w))
    return [slice(y, min(h, y + step)) for y in range(0, h, step)]


def difference_map(image: np.ndarray, seed: Sequence[float]) -> np.ndarray:
    """Per-pixel difference (float32, 8-bit units) of ``image`` to the ``seed`` value.

    ``image``: HxWx4 straight RGBA (uint8 / uint16) or HxW single channel (a mask); class maps
    are compared exactly by :func:`similar_region` instead (``exact=True``).
    """
    img = np.asarray(image)
    scale = 255.0 / maxval_of(img) if img.dtype in (np.uint8, np.uint16) else 1.0
    h, w = img.shape[:2]
    out = np.empty((h, w), np.float32)
    s = np.asarray(seed, np.float32) * np.float32(scale)
    if img.ndim == 2:
        for rows in _rows(h, w):
            d = np.multiply(img[rows], scale, dtype=np.float32)
            d -= s[0]
            np.abs(d, out=out[rows])
        return out
    sa = s[3] / 255.0
    for rows in _rows(h, w):
        band = img[rows]
        a = np.multiply(band[..., 3], scale / 255.0, dtype=np.float32)   # 0..1
        res = np.abs(a * 255.0 - s[3])
        for c in range(3):
            d = np.multiply(band[..., c], scale, dtype=np.float32)
            d *= a
            d -= s[c] * sa
            np.abs(d, out=d)
            np.maximum(res, d, out=res)
        out[rows] = res
    return out


def coverage_from_difference(diff: np.ndarray, threshold: float, antialias: bool) -> np.ndarray:
    """GIMP's selection value of a difference: hard (<= threshold) or antialiased."""
    t = float(threshold)
    if antialias and t > 0:
        cov = np.subtract(1.5, diff * np.float32(1.0 / t), dtype=np.float32)
        cov *= 2.0
        np.clip(cov, 0.0, 1.0, out=cov)
        return cov
    return (diff <= t).astype(np.float32)


def _coverage_lut(threshold: float, antialias: bool) -> np.ndarray:
    """Coverage (uint8) of every 8-bit difference 0..255."""
    d = np.arange(256, dtype=np.float32)
    return np.rint(coverage_from_difference(d, threshold, antialias) * 255.0).astype(np.uint8)


def _difference_u8(band: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """:func:`difference_map` of 8-bit pixels with OpenCV's saturating uint8 arithmetic (the
    premultiplied values rounded to whole levels), for speed on large images."""
    if band.ndim == 2:
        return cv2.absdiff(np.ascontiguousarray(band), np.full_like(band, int(seed[0])))
    chans = cv2.split(np.ascontiguousarray(band))
    a = chans[3]
    sa = float(seed[3]) / 255.0
    res = cv2.absdiff(a, np.full_like(a, int(seed[3])))
    for c in range(3):
        pm = cv2.multiply(chans[c], a, scale=1.0 / 255.0)
        ref = np.full_like(a, int(round(float(seed[c]) * sa)))
        cv2.max(res, cv2.absdiff(pm, ref), dst=res)
    return res


def similar_region(image: np.ndarray, x: int, y: int, threshold: float = 32.0, *,
                   contiguous: bool = True, antialias: bool = True, diagonal: bool = False,
                   exact: bool = False) -> tuple[np.ndarray, Rect] | None:
    """Coverage (float32 0..1, shape of the bounds) of the pixels like the one at (x, y).

    Returns ``(coverage, bounds)`` with ``bounds`` the region's box in ``image`` coordinates, or
    None when (x, y) is outside the image. ``exact``: the image is a class map (label layer):
    equal ids only, hard edges.
    """
    img = np.asarray(image)
    h, w = img.shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        return None
    # coverage as uint8 (0..255) over the image, computed in bands: a quarter of a float map
    cov8 = np.empty((h, w), np.uint8)
    seed = np.atleast_1d(img[y, x])
    lut = _coverage_lut(threshold, antialias) if img.dtype == np.uint8 else None
    for rows in _rows(h, w):
        if exact:
            cov8[rows] = (img[rows] == img[y, x]) * np.uint8(255)
        elif lut is not None:
            cv2.LUT(_difference_u8(img[rows], seed), lut, dst=cov8[rows])
        else:
            c = coverage_from_difference(difference_map(img[rows], seed), threshold, antialias)
            c *= 255.0
            c += 0.5
            cov8[rows] = c.astype(np.uint8)
    if not contiguous:
        from .selection import mask_bounds

        b = mask_bounds(cov8)
        assert b is not None    # the seed itself is always similar
        return np.multiply(cov8[b.slices()], 1.0 / 255.0, dtype=np.float32), b
    _, inside = cv2.threshold(cov8, 0, 1, cv2.THRESH_BINARY)
    ffmask = np.zeros((h + 2, w + 2), np.uint8)
    flags = (8 if diagonal else 4) | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
    _, _, _, (bx, by, bw, bh) = cv2.floodFill(inside, ffmask, (int(x), int(y)), 0, 0, 0, flags)
    b = Rect(int(bx), int(by), int(bw), int(bh))
    region = ffmask[1 + b.y:1 + b.bottom, 1 + b.x:1 + b.right]
    part = np.ascontiguousarray(cov8[b.slices()])
    part = cv2.bitwise_and(part, part, mask=region)       # only the connected pixels
    return np.multiply(part, 1.0 / 255.0, dtype=np.float32), b


def _sample_image(doc: Document, layer: Layer, sample_merged: bool,
                  target: str) -> tuple[np.ndarray, tuple[int, int], bool]:
    """(array to compare, its document origin, exact?)"""
    if isinstance(layer, LabelLayer):
        return layer.labels, layer.offset, True
    if sample_merged:
        dtype = np.uint16 if getattr(layer, "bit_depth", 8) == 16 else np.uint8
        return composite(doc, doc.bounds, dtype=dtype), (0, 0), False
    if target == "mask":
        return layer.mask, layer.offset, False
    return layer.pixels, layer.offset, False


def fill_coverage(doc: Document, x: float, y: float, *, layer: Layer | None = None,
                  threshold: float = 32.0, contiguous: bool = True, sample_merged: bool = False,
                  antialias: bool = True, diagonal: bool = False,
                  target: Target = "pixels") -> tuple[np.ndarray, Rect] | None:
    """The coverage a bucket click at document point (x, y) fills in ``layer`` (layer coordinates):
    ``(coverage float32, rect)`` clipped to the layer and scaled by the selection, or None."""
    layer = doc.active_layer if layer is None else layer
    if layer is None:
        raise ValueError("no layer to fill")
    img, (ox, oy), exact = _sample_image(doc, layer, sample_merged, target)
    if img is None:
        raise ValueError(f"layer “{layer.name}” has no mask")
    px, py = int(np.floor(x)) - ox, int(np.floor(y)) - oy
    found = similar_region(img, px, py, threshold, contiguous=contiguous,
                           antialias=antialias and not exact, diagonal=diagonal, exact=exact)
    if found is None:
        return None
    cov, rect = found
    doc_rect = rect.translated(ox, oy)
    lrect = doc_rect.intersect(layer.bounds)
    if lrect.is_empty():
        return None
    cov = cov[lrect.translated(-doc_rect.x, -doc_rect.y).slices()]
    if doc.selection is not None:
        sel_rect = lrect.intersect(doc.bounds)
        sel = np.zeros(cov.shape, np.float32)
        if not sel_rect.is_empty():
            np.multiply(doc.selection[sel_rect.slices()], 1.0 / 255.0, dtype=np.float32,
                        out=sel[sel_rect.translated(-lrect.x, -lrect.y).slices()])
        if exact:
            sel = (sel >= 0.5).astype(np.float32)
        cov = cov * sel
    local = layer.to_layer_rect(lrect)
    if doc.selection is None and lrect == doc_rect:
        return np.ascontiguousarray(cov), local        # the region's own box is tight already
    from .selection import mask_bounds

    b = mask_bounds(cov > 0)
    if b is None:
        return None
    return np.ascontiguousarray(cov[b.slices()]), b.translated(local.x, local.y)


def _color01(color: Sequence[float]) -> tuple[float, float, float, float]:
    vals = [float(c) / 255.0 for c in color]
    if len(vals) == 3:
        vals.append(1.0)
    if len(vals) != 4:
        raise ValueError("colour must be RGB or RGBA (0..255)")
    return vals[0], vals[1], vals[2], vals[3]


def grey_of(color: Sequence[float]) -> float:
    """Rec. 601 grey level (0..1) of an 8-bit RGB(A) colour (what a mask gets from a colour)."""
    r, g, b = (float(c) / 255.0 for c in color[:3])
    return 0.299 * r + 0.587 * g + 0.114 * b


def _check_fill(doc: Document, layer: Layer | None, color: Sequence[float] | None,
                label_id: int | None, target: str) -> tuple[Layer, str, bool]:
    layer = doc.active_layer if layer is None else layer
    if layer is None:
        raise ValueError("no layer to fill")
    if layer.is_group:
        raise ValueError("the fill paints on a layer, not on a group")
    if layer.locked or doc.is_locked(layer):
        raise PermissionError(f"layer “{layer.name}” is locked")
    is_label = isinstance(layer, LabelLayer)
    if is_label:
        if label_id is None:
            raise ValueError("filling a label layer needs a class id")
        target = "pixels"
    elif not isinstance(layer, RasterLayer):
        raise ValueError(f"cannot fill {layer!r}")
    elif color is None:
        raise ValueError("filling needs a colour")
    if target == "mask" and layer.mask is None:
        raise ValueError(f"layer “{layer.name}” has no mask")
    return layer, target, is_label


def _fill_into(sub: np.ndarray, cov: np.ndarray, *, is_label: bool, target: str,
               color: Sequence[float] | None, label_id: int | None, opacity: float) -> None:
    """Fill ``sub`` (a part of the layer's array) in place by ``cov`` (its coverage)."""
    if is_label:
        sub[cov >= 0.5] = int(label_id)  # type: ignore[arg-type]
        return
    if target == "mask":
        from .blend import mix_plane

        mix_plane(sub.copy(), grey_of(color) * 255.0, cov * opacity, out=sub)  # type: ignore[arg-type]
        return
    col = _color01(color)  # type: ignore[arg-type]
    solid = opacity >= 1.0 and col[3] >= 1.0
    value = np.array([int(round(c * maxval_of(sub))) for c in col], sub.dtype)
    for rows in _rows(sub.shape[0], sub.shape[1]):
        a = cov[rows] * np.float32(opacity)
        if solid:
            full = a >= 1.0
            if full.all():
                sub[rows] = value          # the usual flat area: no blending needed
                continue
            part = ~full & (a > 0)
            band = sub[rows]
            band[full] = value
            if part.any():
                px = band[part][None]      # only the soft edge is blended
                paint_over(px, col, a[part][None])
                band[part] = px[0]
            continue
        paint_over(sub[rows], col, a)


def plan_fill(doc: Document, x: float, y: float, color: Sequence[float] | None = None, *,
              layer: Layer | None = None, label_id: int | None = None, threshold: float = 32.0,
              contiguous: bool = True, sample_merged: bool = False, antialias: bool = True,
              diagonal: bool = False, target: Target = "pixels", opacity: float = 1.0,
              check: Callable[[float], None] | None = None) -> tuple[TileEdit, Rect] | None:
    """What :func:`bucket_fill` would change, computed without touching ``doc``: ``(edit, rect)``
    (a :class:`~.history.TileEdit` of the layer's array and the filled rect in layer
    coordinates), or None when nothing is filled. ``doc`` may be a private copy (a
    ``DocumentSnapshot.materialize()`` on a worker thread); ``doc.history.apply_edit(layer, edit,
    label)`` then records it on the live document. ``check(fraction)`` is called between steps
    (progress 0..1; raise in it to cancel)."""
    layer, target, is_label = _check_fill(doc, layer, color, label_id, target)
    found = fill_coverage(doc, x, y, layer=layer, threshold=threshold, contiguous=contiguous,
                          sample_merged=sample_merged, antialias=antialias, diagonal=diagonal,
                          target=target)
    if check is not None:
        check(0.5)
    if found is None:
        return None
    cov, rect = found
    opacity = float(min(max(opacity, 0.0), 1.0))
    arr = layer.mask if target == "mask" else layer.data
    edit = TileEdit("mask" if target == "mask" else "pixels", arr.shape)
    keys = list(rect.tiles())
    for i, key in enumerate(keys):
        part = tile_rect(*key).intersect(rect)
        before = arr[part.slices()]
        after = before.copy()
        c = cov[part.translated(-rect.x, -rect.y).slices()]
        if not c.any():
            continue
        _fill_into(after, c, is_label=is_label, target=target, color=color, label_id=label_id,
                   opacity=opacity)
        edit.add(part, before, after)
        if check is not None and (i % 16 == 15 or i == len(keys) - 1):
            check(0.5 + 0.5 * (i + 1) / len(keys))
    return edit, rect


def bucket_fill(doc: Document, x: float, y: float, color: Sequence[float] | None = None, *,
                layer: Layer | None = None, label_id: int | None = None, threshold: float = 32.0,
                contiguous: bool = True, sample_merged: bool = False, antialias: bool = True,
                diagonal: bool = False, target: Target = "pixels", opacity: float = 1.0,
                label: str = "Fill") -> Rect | None:
    """Flood fill at document point (x, y) of ``layer`` (default: the active one); one undo step.

    Raster layers get ``color`` (8-bit RGB / RGBA, scaled for 16-bit) at ``opacity``; the layer
    mask (``target="mask"``) the colour's grey level; label layers ``label_id``. Returns the
    changed rect (layer coordinates) or None when nothing was filled. (:func:`plan_fill` +
    ``History.apply_edit``: the window computes the plan on a worker thread.)
    """
    layer = doc.active_layer if layer is None else layer
    planned = plan_fill(doc, x, y, color, layer=layer, label_id=label_id, threshold=threshold,
                        contiguous=contiguous, sample_merged=sample_merged, antialias=antialias,
                        diagonal=diagonal, target=target, opacity=opacity)
    if planned is None:
        return None
    edit, rect = planned
    assert layer is not None
    doc.history.apply_edit(layer, edit, label)
    return rect


__all__ = ["bucket_fill", "plan_fill", "fill_coverage", "similar_region", "difference_map",
           "coverage_from_difference", "grey_of"]
