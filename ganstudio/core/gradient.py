"""Gradients (the gradient tool of Krita / GIMP / Photoshop): linear and radial, foreground to
background or foreground to transparent, drawn from a start point to an end point.

    draw_gradient(doc, (10, 10), (200, 10), fg=(255, 0, 0), bg=(0, 0, 255))     # one undo step
    draw_gradient(doc, c, edge, fg=(0, 0, 0), bg=None, shape="radial")          # fg -> transparent

``gradient_t(rect, p0, p1, shape)`` is the position 0..1 of every pixel centre of ``rect``
(document coordinates): linear = projection on p0 -> p1 (clamped before p0 / after p1); radial =
distance from p0 divided by |p1 - p0|. The colours are interpolated premultiplied (fg -> bg, or fg
with its alpha going to 0) and composited source-over at ``opacity`` onto the active layer (8 or
16 bit; 8-bit results get an ordered dither of +-0.5 level so long ramps do not band). The
selection limits the gradient (soft selections scale it); outside the selection nothing changes.
``target="mask"``: the layer mask gets the grey levels of the colours (fg -> transparent: the
mask fades from the fg grey back to its current value). Label layers are refused (a gradient has
no class); locked layers raise PermissionError.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from .blend import maxval_of
from .document import Document
from .fill import grey_of
from .geometry import Rect, tile_rect
from .history import TileEdit
from .layers import Layer, RasterLayer

Shape = Literal["linear", "radial"]
SHAPES = ("linear", "radial")
BAND_PIXELS = 1 << 20

# 4x4 Bayer matrix, centred on 0 (-0.5 .. +0.5 of one level)
_BAYER = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32)
          + 0.5) / 16.0 - 0.5


def gradient_t(rect: Rect, p0: Sequence[float], p1: Sequence[float], shape: Shape = "linear",
               reverse: bool = False) -> np.ndarray:
    """Gradient position (float32 0..1, rect.h x rect.w) of the pixel centres of ``rect``."""
    if shape not in SHAPES:
        raise ValueError(f"unknown gradient shape {shape!r}; use one of {SHAPES}")
    x0, y0 = float(p0[0]), float(p0[1])
    dx, dy = float(p1[0]) - x0, float(p1[1]) - y0
    xs = (np.arange(rect.x, rect.right, dtype=np.float32) + 0.5 - x0)[None, :]
    ys = (np.arange(rect.y, rect.bottom, dtype=np.float32) + 0.5 - y0)[:, None]
    length2 = dx * dx + dy * dy
    if length2 <= 1e-12:
        t = np.zeros((rect.h, rect.w), np.float32)   # a click: everything is the end colour
        t[...] = 1.0
    elif shape == "linear":
        t = (xs * np.float32(dx / length2) + ys * np.float32(dy / length2)).astype(np.float32)
    else:
        t = np.sqrt(xs * xs + ys * ys) * np.float32(1.0 / np.sqrt(length2))
    np.clip(t, 0.0, 1.0, out=t)
    if reverse:
        t = 1.0 - t
    return t.astype(np.float32, copy=False)


def _rgba01(color: Sequence[float] | None) -> np.ndarray | None:
    if color is None:
        return None
    vals = [float(c) / 255.0 for c in color]
    if len(vals) == 3:
        vals.append(1.0)
    if len(vals) != 4:
        raise ValueError("colour must be RGB or RGBA (0..255)")
    return np.asarray(vals, np.float32)


def _edit_rect(doc: Document, layer: Layer) -> tuple[Rect, Rect] | None:
    """(document rect, layer rect) the gradient may change: the layer within the canvas and the
    selection's bounds."""
    r = layer.bounds.intersect(doc.bounds)
    if doc.selection is not None:
        sb = doc.selection_bounds()
        if sb is None:
            return None
        r = r.intersect(sb)
    if r.is_empty():
        return None
    return r, layer.to_layer_rect(r)


def plan_gradient(doc: Document, p0: Sequence[float], p1: Sequence[float], *,
                  fg: Sequence[float], bg: Sequence[float] | None = None, shape: Shape = "linear",
                  layer: Layer | None = None, opacity: float = 1.0, reverse: bool = False,
                  target: Literal["pixels", "mask"] = "pixels", dither: bool = True,
                  check: Callable[[float], None] | None = None) -> tuple[TileEdit, Rect] | None:
    """What :func:`draw_gradient` would change, computed without touching ``doc`` (which may be a
    private copy on a worker thread): ``(edit, layer rect)`` or None when the selection leaves
    nothing to paint. ``doc.history.apply_edit(layer, edit, label)`` records it.
    ``check(fraction)`` is called between tiles (raise in it to cancel)."""
    layer = doc.active_layer if layer is None else layer
    if layer is None:
        raise ValueError("no layer to draw the gradient on")
    if layer.locked or doc.is_locked(layer):
        raise PermissionError(f"layer “{layer.name}” is locked")
    if not isinstance(layer, RasterLayer):
        raise ValueError("gradients paint on raster layers (a label layer holds classes, not "
                         "colours)")
    if target == "mask" and layer.mask is None:
        raise ValueError(f"layer “{layer.name}” has no mask")
    c0 = _rgba01(fg)
    c1 = _rgba01(bg)
    assert c0 is not None
    if c1 is None:
        c1 = c0.copy()
        c1[3] = 0.0
    opacity = float(min(max(opacity, 0.0), 1.0))
    rects = _edit_rect(doc, layer)
    if rects is None:
        return None
    drect, lrect = rects
    arr = layer.mask if target == "mask" else layer.data
    edit = TileEdit(target, arr.shape)
    dx, dy = drect.x - lrect.x, drect.y - lrect.y          # layer -> document
    keys = list(lrect.tiles())
    for i, key in enumerate(keys):
        part = tile_rect(*key).intersect(lrect)            # layer coordinates, one tile
        band = part.translated(dx, dy)                     # the same pixels on the canvas
        cov: np.ndarray | float = opacity
        if doc.selection is not None:
            cov = np.multiply(doc.selection[band.slices()], opacity / 255.0, dtype=np.float32)
            if not cov.any():
                continue
        t = gradient_t(band, p0, p1, shape, reverse)
        before = arr[part.slices()]
        after = before.copy()
        if target == "mask":
            _mask_band(after, t, cov, c0, c1, fg, bg)
        else:
            _pixels_band(after, t, cov, c0, c1, dither, band)
        edit.add(part, before, after)
        if check is not None and (i % 8 == 7 or i == len(keys) - 1):
            check((i + 1) / len(keys))
    return edit, lrect


def draw_gradient(doc: Document, p0: Sequence[float], p1: Sequence[float], *,
                  fg: Sequence[float], bg: Sequence[float] | None = None, shape: Shape = "linear",
                  layer: Layer | None = None, opacity: float = 1.0, reverse: bool = False,
                  target: Literal["pixels", "mask"] = "pixels", dither: bool = True,
                  label: str = "Gradient") -> Rect | None:
    """Draw a gradient from ``p0`` (fg) to ``p1`` (bg, or transparent with ``bg=None``) on
    ``layer`` (default the active one); one undo step. Returns the changed rect (layer
    coordinates) or None when the selection leaves nothing to paint. (:func:`plan_gradient` +
    ``History.apply_edit``: the window computes the plan on a worker thread.)"""
    layer = doc.active_layer if layer is None else layer
    planned = plan_gradient(doc, p0, p1, fg=fg, bg=bg, shape=shape, layer=layer, opacity=opacity,
                            reverse=reverse, target=target, dither=dither)
    if planned is None:
        return None
    edit, lrect = planned
    assert layer is not None
    doc.history.apply_edit(layer, edit, label)
    return lrect


def _pixels_band(dst: np.ndarray, t: np.ndarray, cov: np.ndarray | float, c0: np.ndarray,
                 c1: np.ndarray, dither: bool, band: Rect) -> None:
    maxv = maxval_of(dst)
    noise: np.ndarray | float = 0.0
    if dither and dst.dtype == np.uint8:
        by = np.arange(band.y, band.bottom) % 4
        bx = np.arange(band.x, band.right) % 4
        noise = _BAYER[by[:, None], bx[None, :]]
    # the gradient's alpha, and its straight colour per channel (premultiplied interpolation;
    # with equal alphas or equal colours that is the plain straight interpolation)
    if c0[3] == c1[3]:
        a_s = np.full(t.shape, c0[3], np.float32) if np.ndim(cov) == 0 else np.multiply(cov, c0[3])
        if np.ndim(cov) == 0:
            a_s *= np.float32(cov)
    else:
        a_s = t * np.float32(c1[3] - c0[3])
        a_s += np.float32(c0[3])
        a_s *= cov
    straight = c0[3] == c1[3] or bool(np.all(c0[:3] == c1[:3]))
    if not straight:
        gal = t * np.float32(c1[3] - c0[3]) + np.float32(c0[3])
        ginv = np.zeros_like(gal)
        np.divide(1.0, gal, out=ginv, where=gal > 0)

    def colour(c: int) -> np.ndarray | float:
        if straight:
            if c0[c] == c1[c]:
                return float(c0[c])
            return t * np.float32(c1[c] - c0[c]) + np.float32(c0[c])
        pm = t * np.float32(c1[c] * c1[3] - c0[c] * c0[3]) + np.float32(c0[c] * c0[3])
        col = pm * ginv
        np.copyto(col, t * np.float32(c1[c] - c0[c]) + np.float32(c0[c]), where=gal <= 0)
        return col

    opaque = bool(dst[..., 3].min() == maxv)
    if opaque:
        # backdrop alpha 1: out = dst (1 - a) + a * colour, alpha stays
        keep = 1.0 - a_s
        for c in range(3):
            v = dst[..., c] * keep
            v += (a_s * np.float32(maxv)) * colour(c)
            v += noise
            v += 0.5
            np.clip(v, 0, maxv, out=v)
            dst[..., c] = v
        return
    ab = np.multiply(dst[..., 3], 1.0 / maxv, dtype=np.float32)
    keep = (1.0 - a_s) * ab
    out_a = keep + a_s
    inv = np.zeros_like(out_a)
    np.divide(1.0, out_a, out=inv, where=out_a > 0)
    empty = out_a <= 0
    for c in range(3):
        v = dst[..., c] * (keep * np.float32(1.0 / maxv))
        v += a_s * colour(c)
        v *= inv
        v *= maxv
        v += noise
        v += 0.5
        np.clip(v, 0, maxv, out=v)
        np.copyto(v, dst[..., c], where=empty, casting="unsafe")   # transparent pixels keep their colour
        dst[..., c] = v
    out_a *= maxv
    out_a += 0.5
    np.clip(out_a, 0, maxv, out=out_a)
    dst[..., 3] = out_a


def _mask_band(dst: np.ndarray, t: np.ndarray, cov: np.ndarray, c0: np.ndarray, c1: np.ndarray,
               fg: Sequence[float], bg: Sequence[float] | None) -> None:
    g0 = grey_of(fg) * 255.0
    g1 = grey_of(bg) * 255.0 if bg is not None else g0
    value = g0 + (g1 - g0) * t
    a = cov * (c0[3] + (c1[3] - c0[3]) * t)
    v = dst.astype(np.float32)
    v += (value - v) * a
    v += 0.5
    np.clip(v, 0, 255, out=v)
    dst[...] = v


__all__ = ["draw_gradient", "plan_gradient", "gradient_t", "SHAPES"]
