"""Selections: masks from shapes, combine modes, feather / grow / shrink / invert.

A selection is None (nothing selected: operations apply everywhere) or an HxW uint8 mask of the
canvas, 255 = selected, in-between = partly selected (antialiased / feathered edges).

Coordinates are continuous document coordinates: pixel (i, j) covers [i, i+1) x [j, j+1), so
the polygon (0, 0), (4, 0), (4, 4), (0, 4) selects exactly the 4x4 pixels at the origin.

Pure mask functions::

    rect_mask(w, h, rect)                       ellipse_mask(w, h, bbox, antialias=True)
    polygon_mask(w, h, points, antialias=True)  combine(current, new, mode)
    feather(mask, radius)   grow(mask, px)   shrink(mask, px)   invert(mask)   mask_bounds(mask)

Document functions (each one undo step)::

    apply_selection(doc, mask, mode="replace", label=None)
    select_rect / select_ellipse / select_polygon(doc, ..., mode="replace")
    select_all(doc)  select_none(doc)  invert_selection(doc)
    feather_selection(doc, radius)  grow_selection(doc, px)  shrink_selection(doc, px)
    selection_bounds(doc) -> Rect | None
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np

from .document import Document
from .geometry import Rect

Mode = Literal["replace", "add", "subtract", "intersect"]
MODES: tuple[str, ...] = ("replace", "add", "subtract", "intersect")


# -- shapes -----------------------------------------------------------------------------------------
def rect_mask(width: int, height: int, rect: Rect) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    r = rect.intersect(Rect(0, 0, width, height))
    if not r.is_empty():
        mask[r.slices()] = 255
    return mask


_SS = 4                    # antialiasing: supersampling factor per axis (16 coverage samples)
_BAND_ROWS = 64            # output rows rasterised per band (bounded temporaries)


def _raster_polygon(mask: np.ndarray, pts: np.ndarray, antialias: bool) -> None:
    """Fill the polygon ``pts`` (N x 2 float, document coordinates) into ``mask`` (255 = inside).

    Scanline rasteriser, non-zero winding rule (a self-crossing lasso stays filled). A sample is
    inside when its centre is: edges are half-open like Rect, so the polygon (0,0)-(4,0)-(4,4)-
    (0,4) covers exactly 4x4 pixels. With antialiasing the coverage of 4x4 samples per pixel is
    averaged. Only the polygon's bounding box is touched, in bands of rows.
    """
    h, w = mask.shape
    bounds = Rect.from_corners(int(np.floor(pts[:, 0].min())), int(np.floor(pts[:, 1].min())),
                               int(np.ceil(pts[:, 0].max())) + 1, int(np.ceil(pts[:, 1].max())) + 1)
    bounds = bounds.intersect(Rect(0, 0, w, h))
    if bounds.is_empty():
        return
    s = _SS if antialias else 1
    x0, y0 = pts[:, 0], pts[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    keep = y0 != y1                       # horizontal edges never cross a scanline
    x0, y0, x1, y1 = x0[keep], y0[keep], x1[keep], y1[keep]
    direction = np.where(y1 > y0, 1, -1).astype(np.int16)
    ylo, yhi = np.minimum(y0, y1), np.maximum(y0, y1)
    slope = (x1 - x0) / (y1 - y0)
    ws = bounds.w * s
    for top in range(bounds.y, bounds.bottom, _BAND_ROWS):
        band = Rect(bounds.x, top, bounds.w, min(_BAND_ROWS, bounds.bottom - top))
        ys = band.y + (np.arange(band.h * s) + 0.5) / s          # sample-row centres
        e = (ylo <= ys[-1]) & (yhi > ys[0])
        if not e.any():
            continue
        cross = (ys[:, None] >= ylo[e]) & (ys[:, None] < yhi[e])  # half-open in y
        rows, idx = np.nonzero(cross)
        xs = x0[e][idx] + (ys[rows] - y0[e][idx]) * slope[e][idx]
        # first sample whose centre is at or right of the crossing
        cols = np.ceil((xs - band.x) * s - 0.5).astype(np.int64)
        np.clip(cols, 0, ws, out=cols)
        dirs = direction[e][idx].astype(np.int32)
        order = np.lexsort((cols, rows))
        rows, cols, dirs = rows[order], cols[order], dirs[order]
        wind = np.cumsum(dirs)            # every sample row's crossings sum to 0
        before = wind - dirs
        starts = (before == 0) & (wind != 0)
        ends = (before != 0) & (wind == 0)
        _accumulate_spans(mask[band.slices()], rows[starts] // s, cols[starts], cols[ends], s)


def _accumulate_spans(dst: np.ndarray, prow: np.ndarray, a: np.ndarray, b: np.ndarray, s: int) -> None:
    """Add sample spans [a, b) (sample columns) of pixel rows ``prow`` to ``dst`` as coverage."""
    h, w = dst.shape
    count = np.zeros((h, w + 1), np.int32)   # samples covered per pixel (0 .. s*s)
    diff = np.zeros((h, w + 1), np.int32)    # full-pixel runs as a difference array
    pa, pb = a // s, b // s
    same = pa == pb
    np.add.at(count, (prow[same], pa[same]), (b - a)[same])
    o = ~same
    prow, a, b, pa, pb = prow[o], a[o], b[o], pa[o], pb[o]
    np.add.at(count, (prow, pa), s - a % s)
    np.add.at(count, (prow, pb), b % s)
    np.add.at(diff, (prow, pa + 1), s)
    np.add.at(diff, (prow, pb), -s)
    count += np.cumsum(diff, axis=1, dtype=np.int32)
    n = s * s
    cov = ((count[:, :w] * 255 + n // 2) // n).astype(np.uint8)
    np.maximum(dst, cov, out=dst)


def ellipse_mask(width: int, height: int, bbox: Rect | Sequence[float],
                 antialias: bool = True) -> np.ndarray:
    """Filled ellipse inscribed in ``bbox``: a Rect or (x0, y0, x1, y1) floats."""
    if isinstance(bbox, Rect):
        x0, y0, x1, y1 = float(bbox.x), float(bbox.y), float(bbox.right), float(bbox.bottom)
    else:
        x0, y0, x1, y1 = (float(v) for v in bbox)
    x0, x1 = min(x0, x1), max(x0, x1)
    y0, y1 = min(y0, y1), max(y0, y1)
    mask = np.zeros((height, width), np.uint8)
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        return mask
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    n = int(np.clip(2 * np.pi * max(rx, ry) / 2, 64, 8192))   # ~2 px chords
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    # vertices on a slightly larger ellipse so that the polygon's area equals the ellipse's
    k = np.sqrt(2 * np.pi / (n * np.sin(2 * np.pi / n)))
    pts = np.stack([cx + rx * k * np.cos(t), cy + ry * k * np.sin(t)], axis=1)
    _raster_polygon(mask, pts, antialias)
    return mask


def polygon_mask(width: int, height: int, points: Sequence[tuple[float, float]],
                 antialias: bool = True) -> np.ndarray:
    """Filled polygon (lasso) through ``points`` (document coordinates, closed automatically)."""
    mask = np.zeros((height, width), np.uint8)
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if len(pts) >= 3:
        _raster_polygon(mask, pts, antialias)
    return mask


# -- combining and refining -------------------------------------------------------------------------
def combine(current: np.ndarray | None, new: np.ndarray | None, mode: Mode = "replace") -> np.ndarray | None:
    """Combine a new shape mask with the current selection. None = empty selection."""
    if mode not in MODES:
        raise ValueError(f"unknown selection mode {mode!r}; use one of {MODES}")
    if mode == "replace":
        return None if new is None else new.copy()
    if mode == "add":
        if current is None:
            return None if new is None else new.copy()
        return current.copy() if new is None else np.maximum(current, new)
    if mode == "subtract":
        if current is None or new is None:
            return None if current is None else current.copy()
        return np.minimum(current, 255 - new)
    # intersect
    if current is None or new is None:
        return None
    return np.minimum(current, new)


def invert(mask: np.ndarray) -> np.ndarray:
    return 255 - mask


def feather(mask: np.ndarray, radius: float) -> np.ndarray:
    """Soften the edges: Gaussian blur with sigma = radius / 2 (the edge ramps over ~2 radius).
    Only the selection's bounding box grown by the blur reach is processed."""
    if radius <= 0:
        return mask.copy()
    bounds = mask_bounds(mask)
    if bounds is None:
        return mask.copy()
    sigma = radius / 2.0
    reach = int(np.ceil(3 * sigma)) + 1
    full = Rect(0, 0, mask.shape[1], mask.shape[0])
    region = bounds.expanded(reach).intersect(full)
    src = region.expanded(reach).intersect(full)   # context for the blur
    blurred = cv2.GaussianBlur(mask[src.slices()], (0, 0), sigmaX=sigma, sigmaY=sigma,
                               borderType=cv2.BORDER_REFLECT)
    out = mask.copy()
    out[region.slices()] = blurred[region.translated(-src.x, -src.y).slices()]
    return out


def _morph(mask: np.ndarray, px: int, op: int) -> np.ndarray:
    if px <= 0:
        return mask.copy()
    bounds = mask_bounds(mask) if op == cv2.MORPH_DILATE else None
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    full = Rect(0, 0, mask.shape[1], mask.shape[0])
    if op == cv2.MORPH_DILATE:
        if bounds is None:
            return mask.copy()
        region = bounds.expanded(px).intersect(full)
        out = mask.copy()
        out[region.slices()] = cv2.dilate(mask[region.slices()], kernel,
                                          borderType=cv2.BORDER_CONSTANT, borderValue=0)
        return out
    # erode: the canvas edge does not eat into the selection (replicate border)
    return cv2.erode(mask, kernel, borderType=cv2.BORDER_REPLICATE)


def grow(mask: np.ndarray, px: int) -> np.ndarray:
    """Expand the selection by ``px`` pixels (round structuring element)."""
    return _morph(mask, int(px), cv2.MORPH_DILATE)


def shrink(mask: np.ndarray, px: int) -> np.ndarray:
    """Contract the selection by ``px`` pixels."""
    return _morph(mask, int(px), cv2.MORPH_ERODE)


def mask_bounds(mask: np.ndarray | None) -> Rect | None:
    """Bounding Rect of the non-zero pixels, or None."""
    if mask is None:
        return None
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0]:rows[-1] + 1].any(axis=0))
    return Rect.from_corners(int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


# -- document-level ---------------------------------------------------------------------------------
_LABELS = {"replace": "Select", "add": "Add to selection", "subtract": "Subtract from selection",
           "intersect": "Intersect selection"}


def apply_selection(doc: Document, mask: np.ndarray | None, mode: Mode = "replace",
                    label: str | None = None) -> np.ndarray | None:
    """Combine ``mask`` with the document selection by ``mode``; one undo step. Returns the result."""
    if mask is not None and mask.shape != (doc.height, doc.width):
        raise ValueError(f"mask shape {mask.shape} != document {(doc.height, doc.width)}")
    result = combine(doc.selection, mask, mode)
    doc.set_selection(result, label or _LABELS[mode])
    return doc.selection


def select_rect(doc: Document, rect: Rect, mode: Mode = "replace") -> np.ndarray | None:
    return apply_selection(doc, rect_mask(doc.width, doc.height, rect), mode)


def select_ellipse(doc: Document, bbox: Rect | Sequence[float], mode: Mode = "replace",
                   antialias: bool = True) -> np.ndarray | None:
    return apply_selection(doc, ellipse_mask(doc.width, doc.height, bbox, antialias), mode)


def select_polygon(doc: Document, points: Sequence[tuple[float, float]], mode: Mode = "replace",
                   antialias: bool = True) -> np.ndarray | None:
    return apply_selection(doc, polygon_mask(doc.width, doc.height, points, antialias), mode)


def select_all(doc: Document) -> None:
    doc.set_selection(np.full((doc.height, doc.width), 255, np.uint8), "Select all")


def select_none(doc: Document) -> None:
    if doc.selection is not None:
        doc.set_selection(None, "Select none")


def invert_selection(doc: Document) -> None:
    current = doc.selection
    new = np.full((doc.height, doc.width), 255, np.uint8) if current is None else invert(current)
    doc.set_selection(new, "Invert selection")


def feather_selection(doc: Document, radius: float) -> None:
    if doc.selection is not None and radius > 0:
        doc.set_selection(feather(doc.selection, radius), "Feather selection")


def grow_selection(doc: Document, px: int) -> None:
    if doc.selection is not None and px > 0:
        doc.set_selection(grow(doc.selection, px), "Grow selection")


def shrink_selection(doc: Document, px: int) -> None:
    if doc.selection is not None and px > 0:
        doc.set_selection(shrink(doc.selection, px), "Shrink selection")


def selection_bounds(doc: Document) -> Rect | None:
    return mask_bounds(doc.selection)
