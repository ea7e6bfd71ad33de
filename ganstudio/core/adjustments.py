"""Colour adjustments (Image > Adjustments): Levels, Curves, Hue/Saturation, Brightness/Contrast.

Each adjustment is a frozen dataclass with ``apply(px) -> px``: straight-alpha RGBA uint8 / uint16
in, the same dtype out, alpha untouched (colour adjustments act on the colour of a pixel, not on
its coverage, so straight alpha is the right space; 16-bit layers are computed with 65536-entry
lookup tables or float32 and stay 16-bit).

Formulas (values normalised to 0..1):

* :class:`Levels` — GIMP's / Photoshop's levels (gimpoperationlevels.c):
  ``v = clamp((x - in_low) / (in_high - in_low)); v = v ** (1 / gamma);
  out = out_low + v * (out_high - out_low)``; the red / green / blue channel's levels first, then
  the master (RGB / "Value") levels, as GIMP maps them.
* :class:`Curves` — a natural cubic spline through the control points (Photoshop's and Krita's
  curves; flat beyond the first / last point, clamped to 0..1), per channel then master, as GIMP.
* :class:`HueSaturation` — GIMP's Hue-Saturation, master range (gimpoperationhuesaturation.c) in
  the HSL model: ``h += hue / 360`` (wrapped), ``s *= 1 + saturation / 100`` (clamped),
  lightness ``v = lightness / 200`` (GIMP halves the master value):
  ``l *= 1 + v`` for ``v < 0`` else ``l += (1 - l) * v``.
* :class:`BrightnessContrast` — GIMP's Brightness-Contrast (gimpoperationbrightnesscontrast.c):
  ``b = brightness / 200``; ``x *= 1 + b`` for ``b < 0`` else ``x += (1 - x) * b``; then
  ``x = (x - 0.5) * tan((contrast / 100 + 1) * pi / 4) + 0.5``, clamped.

Applying to a document: :func:`apply_adjustment` (one undo step, the active layer, limited to the
selection with soft edges: ``out = old + (new - old) * selection``), :func:`adjusted_layer_pixels`
(the same result without touching the document: live previews). Label layers are refused
(they hold class ids, not colours); locked layers raise PermissionError. numpy + OpenCV only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from .document import Document
from .geometry import Rect
from .layers import LabelLayer, Layer

__all__ = ["Adjustment", "LevelsChannel", "Levels", "Curves", "HueSaturation", "BrightnessContrast",
           "apply_adjustment", "adjusted_layer_pixels", "apply_precomputed", "apply_pixel_op",
           "pixel_op_region", "compute_pixel_op",
           "spline_curve", "rgb_to_hsl", "hsl_to_rgb"]

PixelFn = Callable[[np.ndarray], np.ndarray]


def _maxv(dtype: np.dtype) -> int:
    return 65535 if np.dtype(dtype) == np.uint16 else 255


def _grid(dtype: np.dtype) -> np.ndarray:
    """0..1 float64 values of every code of ``dtype`` (the input of a lookup table)."""
    n = _maxv(dtype) + 1
    return np.arange(n, dtype=np.float64) / (n - 1)


def _lut_from(fn: Callable[[np.ndarray], np.ndarray], dtype: np.dtype) -> np.ndarray:
    maxv = _maxv(dtype)
    v = np.clip(fn(_grid(dtype)), 0.0, 1.0)
    return np.floor(v * maxv + 0.5).astype(dtype)


def _apply_luts(px: np.ndarray, luts: list[np.ndarray]) -> np.ndarray:
    if px.dtype == np.uint8:
        # one OpenCV pass over the 4 interleaved channels (alpha: identity)
        table = np.stack([luts[0], luts[1], luts[2], np.arange(256, dtype=np.uint8)], axis=1)
        return cv2.LUT(np.ascontiguousarray(px), table.reshape(256, 1, 4))
    out = px.copy()
    for c in range(3):
        out[..., c] = np.take(luts[c], px[..., c])
    return out


class Adjustment:
    """Base: ``apply(px)`` on straight RGBA uint8/uint16; ``label`` names the undo step."""

    label = "Adjustment"

    def apply(self, px: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def is_identity(self) -> bool:
        return False


# -- levels ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LevelsChannel:
    """Levels of one channel, values 0..1 (GIMP's dialog shows them x255)."""

    in_low: float = 0.0
    in_high: float = 1.0
    gamma: float = 1.0
    out_low: float = 0.0
    out_high: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.in_low < self.in_high <= 1.0:
            raise ValueError("levels: input black must be below input white (both 0..1)")
        if not 0.0 <= self.out_low <= 1.0 or not 0.0 <= self.out_high <= 1.0:
            raise ValueError("levels: output values must be 0..1")
        if not 0.1 <= self.gamma <= 10.0:
            raise ValueError("levels: gamma must be 0.1..10")

    @property
    def is_identity(self) -> bool:
        return self == LevelsChannel()

    def map(self, x: np.ndarray) -> np.ndarray:
        v = np.clip((x - self.in_low) / (self.in_high - self.in_low), 0.0, 1.0)
        if self.gamma != 1.0:
            v = v ** (1.0 / self.gamma)
        return self.out_low + v * (self.out_high - self.out_low)


@dataclass(frozen=True)
class Levels(Adjustment):
    master: LevelsChannel = field(default_factory=LevelsChannel)
    red: LevelsChannel = field(default_factory=LevelsChannel)
    green: LevelsChannel = field(default_factory=LevelsChannel)
    blue: LevelsChannel = field(default_factory=LevelsChannel)
    label = "Levels"

    @property
    def is_identity(self) -> bool:
        return all(c.is_identity for c in (self.master, self.red, self.green, self.blue))

    def luts(self, dtype: np.dtype) -> list[np.ndarray]:
        return [_lut_from(lambda x, ch=ch: self.master.map(ch.map(x)), dtype)
                for ch in (self.red, self.green, self.blue)]

    def apply(self, px: np.ndarray) -> np.ndarray:
        return px.copy() if self.is_identity else _apply_luts(px, self.luts(px.dtype))


# -- curves ----------------------------------------------------------------------------------------
def spline_curve(points: tuple[tuple[float, float], ...] | list, x: np.ndarray) -> np.ndarray:
    """Natural cubic spline through ``points`` ((x, y) in 0..1, at least 2, distinct x) evaluated at
    ``x``; constant beyond the end points, clamped to 0..1."""
    pts = sorted((float(a), float(b)) for a, b in points)
    xs = np.array([p[0] for p in pts])
    ys = np.array([p[1] for p in pts])
    if len(xs) < 2 or np.any(np.diff(xs) <= 0):
        raise ValueError("curves need at least two points with different inputs")
    n = len(xs)
    h = np.diff(xs)
    # second derivatives M (natural: M0 = Mn-1 = 0), tridiagonal system
    m2 = np.zeros(n)
    if n > 2:
        a = np.zeros((n - 2, n - 2))
        rhs = np.empty(n - 2)
        for i in range(1, n - 1):
            r = i - 1
            a[r, r] = 2 * (h[i - 1] + h[i])
            if r > 0:
                a[r, r - 1] = h[i - 1]
            if r < n - 3:
                a[r, r + 1] = h[i]
            rhs[r] = 6 * ((ys[i + 1] - ys[i]) / h[i] - (ys[i] - ys[i - 1]) / h[i - 1])
        m2[1:-1] = np.linalg.solve(a, rhs)
    xq = np.clip(np.asarray(x, np.float64), xs[0], xs[-1])
    k = np.clip(np.searchsorted(xs, xq, side="right") - 1, 0, n - 2)
    t0, t1 = xs[k], xs[k + 1]
    hk = t1 - t0
    a_ = (t1 - xq) / hk
    b_ = (xq - t0) / hk
    y = (a_ * ys[k] + b_ * ys[k + 1]
         + ((a_ ** 3 - a_) * m2[k] + (b_ ** 3 - b_) * m2[k + 1]) * hk * hk / 6.0)
    return np.clip(y, 0.0, 1.0)


_IDENTITY_CURVE = ((0.0, 0.0), (1.0, 1.0))


@dataclass(frozen=True)
class Curves(Adjustment):
    """Control points per channel ((x, y) pairs in 0..1); the master curve applies after the
    channel's own curve."""

    master: tuple = _IDENTITY_CURVE
    red: tuple = _IDENTITY_CURVE
    green: tuple = _IDENTITY_CURVE
    blue: tuple = _IDENTITY_CURVE
    label = "Curves"

    def __post_init__(self) -> None:
        for name in ("master", "red", "green", "blue"):
            pts = tuple((float(a), float(b)) for a, b in getattr(self, name))
            spline_curve(pts, np.array([0.5]))   # validates
            object.__setattr__(self, name, pts)

    @property
    def is_identity(self) -> bool:
        return all(_is_identity_curve(getattr(self, n)) for n in ("master", "red", "green", "blue"))

    def luts(self, dtype: np.dtype) -> list[np.ndarray]:
        return [_lut_from(lambda x, c=c: spline_curve(self.master, spline_curve(c, x)), dtype)
                for c in (self.red, self.green, self.blue)]

    def apply(self, px: np.ndarray) -> np.ndarray:
        return px.copy() if self.is_identity else _apply_luts(px, self.luts(px.dtype))


def _is_identity_curve(pts: tuple) -> bool:
    return all(abs(a - b) < 1e-9 for a, b in pts) and pts[0][0] <= 0 and pts[-1][0] >= 1


# -- brightness / contrast -------------------------------------------------------------------------
@dataclass(frozen=True)
class BrightnessContrast(Adjustment):
    """brightness and contrast in -100..100 (GIMP's dialog: -127..127 scaled the same way)."""

    brightness: float = 0.0
    contrast: float = 0.0
    label = "Brightness-Contrast"

    def __post_init__(self) -> None:
        if not (-100 <= self.brightness <= 100 and -100 <= self.contrast <= 100):
            raise ValueError("brightness and contrast must be -100..100")

    @property
    def is_identity(self) -> bool:
        return self.brightness == 0 and self.contrast == 0

    def map(self, x: np.ndarray) -> np.ndarray:
        b = self.brightness / 200.0
        x = x * (1.0 + b) if b < 0 else x + (1.0 - x) * b
        slant = np.tan((self.contrast / 100.0 + 1.0) * np.pi / 4.0)
        return (x - 0.5) * slant + 0.5

    def apply(self, px: np.ndarray) -> np.ndarray:
        if self.is_identity:
            return px.copy()
        lut = _lut_from(self.map, px.dtype)
        return _apply_luts(px, [lut, lut, lut])


# -- hue / saturation (HSL) ------------------------------------------------------------------------
def rgb_to_hsl(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float32 RGB 0..1 (..., 3) -> h (0..1), s, l, as GIMP's gimp_rgb_to_hsl."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    mx = np.maximum(np.maximum(r, g), b)
    mn = np.minimum(np.minimum(r, g), b)
    l = (mx + mn) * 0.5
    d = mx - mn
    chroma = d > 1e-7
    denom = np.where(l <= 0.5, mx + mn, 2.0 - mx - mn)
    s = np.zeros_like(l)
    np.divide(d, denom, out=s, where=chroma & (denom > 1e-7))
    dd = np.where(chroma, d, 1.0)
    h = np.where(mx == r, (g - b) / dd, np.where(mx == g, 2.0 + (b - r) / dd, 4.0 + (r - g) / dd))
    h = np.where(chroma, h / 6.0, 0.0)
    h = h % 1.0
    return h.astype(np.float32), s.astype(np.float32), l.astype(np.float32)


def hsl_to_rgb(h: np.ndarray, s: np.ndarray, l: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_hsl` (float32 RGB 0..1)."""
    q = np.where(l <= 0.5, l * (1.0 + s), l + s - l * s)
    p = 2.0 * l - q

    def channel(t: np.ndarray) -> np.ndarray:
        t = t % 1.0
        return np.where(t < 1 / 6, p + (q - p) * 6.0 * t,
                        np.where(t < 0.5, q, np.where(t < 2 / 3, p + (q - p) * (2 / 3 - t) * 6.0, p)))

    out = np.stack([channel(h + 1 / 3), channel(h), channel(h - 1 / 3)], axis=-1)
    return out.astype(np.float32)


@dataclass(frozen=True)
class HueSaturation(Adjustment):
    """hue in degrees (-180..180), saturation and lightness in -100..100 (GIMP's master range)."""

    hue: float = 0.0
    saturation: float = 0.0
    lightness: float = 0.0
    label = "Hue-Saturation"

    def __post_init__(self) -> None:
        if not (-180 <= self.hue <= 180 and -100 <= self.saturation <= 100
                and -100 <= self.lightness <= 100):
            raise ValueError("hue must be -180..180, saturation and lightness -100..100")

    @property
    def is_identity(self) -> bool:
        return self.hue == 0 and self.saturation == 0 and self.lightness == 0

    def apply(self, px: np.ndarray) -> np.ndarray:
        if self.is_identity:
            return px.copy()
        maxv = float(_maxv(px.dtype))
        out = px.copy()
        rows = max(1, (1 << 20) // max(1, px.shape[1]))
        for y in range(0, px.shape[0], rows):
            band = np.ascontiguousarray(px[y:y + rows, :, :3], dtype=np.float32)
            band *= 1.0 / maxv
            # OpenCV's float HLS is the same HSL model as rgb_to_hsl (H in degrees, L, S 0..1)
            hls = cv2.cvtColor(band, cv2.COLOR_RGB2HLS)
            hls[..., 0] = (hls[..., 0] + self.hue) % 360.0
            sat = hls[..., 2]
            sat *= 1.0 + self.saturation / 100.0
            np.clip(sat, 0.0, 1.0, out=sat)
            v = self.lightness / 200.0
            lig = hls[..., 1]
            if v < 0:
                lig *= 1.0 + v
            elif v > 0:
                lig += (1.0 - lig) * v
            rgb = cv2.cvtColor(hls, cv2.COLOR_HLS2RGB)
            rgb *= maxv
            rgb += 0.5
            np.clip(rgb, 0, maxv, out=rgb)
            out[y:y + rows, :, :3] = rgb.astype(px.dtype)
        return out


# -- applying to a layer ---------------------------------------------------------------------------
def _check_layer(doc: Document, layer: Layer | None) -> Layer:
    layer = doc.active_layer if layer is None else layer
    if layer is None:
        raise ValueError("there is no active layer (select a layer, not a group)")
    doc.index_of(layer)
    if isinstance(layer, LabelLayer):
        raise ValueError(f"“{layer.name}” is a label layer: it holds class ids, not colours; "
                         "adjustments and filters work on raster layers")
    if layer.locked or doc.is_locked(layer):
        raise PermissionError(f"layer “{layer.name}” is locked")
    return layer


def pixel_op_region(doc: Document, layer: Layer) -> tuple[Rect, np.ndarray | None] | None:
    """(layer-coordinate rect to change, selection coverage over it as float32 0..1 or None for
    everywhere), or None when the selection does not touch the layer."""
    if doc.selection is None:
        return Rect(0, 0, layer.width, layer.height), None
    sb = doc.selection_bounds()
    inter = None if sb is None else sb.intersect(layer.bounds)
    if inter is None or inter.is_empty():
        return None
    cov = doc.selection[inter.slices()].astype(np.float32) * (1.0 / 255.0)
    return layer.to_layer_rect(inter), cov


def _blend(old: np.ndarray, new: np.ndarray, cov: np.ndarray | None) -> np.ndarray:
    """old + (new - old) * coverage, per pixel (all four channels), same dtype."""
    if cov is None:
        return new
    maxv = _maxv(old.dtype)
    f = old.astype(np.float32)
    f += (new.astype(np.float32) - f) * cov[..., None]
    return np.clip(f + 0.5, 0, maxv).astype(old.dtype)


def compute_pixel_op(doc: Document, layer: Layer, fn: PixelFn, margin: int = 0,
                     source: np.ndarray | None = None,
                     within: Rect | None = None) -> tuple[Rect, np.ndarray] | None:
    """(layer rect, new pixels of that rect) of ``fn`` applied to ``layer`` within the selection.

    ``fn`` gets the rect grown by ``margin`` pixels (neighbourhood filters read around the
    selection) and must return an array of the same shape. ``source``: the layer's pixels to
    read (default ``layer.data``). ``within`` (layer coordinates): compute only that part (a
    preview of the visible area); the result equals the same part of the whole computation."""
    region = pixel_op_region(doc, layer)
    if region is None:
        return None
    rect, cov = region
    if within is not None:
        part = rect.intersect(within)
        if part.is_empty():
            return None
        if cov is not None:
            cov = cov[part.translated(-rect.x, -rect.y).slices()]
        rect = part
    src = layer.data if source is None else source
    full = Rect(0, 0, layer.width, layer.height)
    grown = Rect(rect.x - margin, rect.y - margin, rect.w + 2 * margin, rect.h + 2 * margin).intersect(full)
    res = fn(src[grown.slices()])
    if res.shape != src[grown.slices()].shape or res.dtype != src.dtype:
        raise ValueError("pixel operation returned a different shape or type")
    inner = rect.translated(-grown.x, -grown.y)
    return rect, _blend(src[rect.slices()], res[inner.slices()], cov)


def apply_pixel_op(doc: Document, fn: PixelFn, label: str, layer: Layer | None = None, *,
                   margin: int = 0) -> Rect | None:
    """Replace the active layer's pixels by ``fn(pixels)`` within the selection (soft edges
    blend old and new): one undo step. Returns the changed rect (layer coordinates)."""
    layer = _check_layer(doc, layer)
    done = compute_pixel_op(doc, layer, fn, margin)
    if done is None:
        return None
    rect, new = done
    with doc.edit_pixels(layer, rect, label) as arr:
        arr[rect.slices()] = new
    return rect


def apply_adjustment(doc: Document, adjustment: Adjustment, layer: Layer | None = None) -> Rect | None:
    """Apply ``adjustment`` to the active layer (selection-limited, soft edges). One undo step;
    nothing is recorded for an identity adjustment."""
    layer = _check_layer(doc, layer)
    if adjustment.is_identity:
        return None
    return apply_pixel_op(doc, adjustment.apply, adjustment.label, layer)


def apply_precomputed(doc: Document, pixels: np.ndarray, label: str,
                      layer: Layer | None = None, *, rect: Rect | None = None) -> Rect | None:
    """Write a result computed beforehand (a live preview's, or one computed on a worker thread)
    as one undo step: ``pixels`` is a full layer array (:func:`adjusted_layer_pixels`; written
    over the selection's rect) or, with ``rect``, the new pixels of that layer rect
    (:func:`compute_pixel_op`)."""
    layer = _check_layer(doc, layer)
    if rect is None:
        if pixels.shape != layer.data.shape or pixels.dtype != layer.data.dtype:
            raise ValueError("the precomputed pixels do not fit the layer")
        region = pixel_op_region(doc, layer)
        if region is None:
            return None
        rect = region[0]
        new = pixels[rect.slices()]
    else:
        if pixels.shape[:2] != (rect.h, rect.w) or pixels.dtype != layer.data.dtype \
                or Rect(0, 0, layer.width, layer.height).intersect(rect) != rect:
            raise ValueError("the precomputed pixels do not fit the layer")
        new = pixels
    with doc.edit_pixels(layer, rect, label) as arr:
        arr[rect.slices()] = new
    return rect


def adjusted_layer_pixels(doc: Document, fn: PixelFn, layer: Layer | None = None, *,
                          margin: int = 0, source: np.ndarray | None = None) -> np.ndarray:
    """A full copy of the layer's pixels with ``fn`` applied as :func:`apply_pixel_op` would,
    the document untouched (live previews compute this off the GUI thread)."""
    layer = _check_layer(doc, layer)
    src = layer.data if source is None else source
    out = src.copy()
    done = compute_pixel_op(doc, layer, fn, margin, source=src)
    if done is not None:
        rect, new = done
        out[rect.slices()] = new
    return out
