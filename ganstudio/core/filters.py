"""Ordinary filters (Filters > Blur / Sharpen): Gaussian blur and unsharp mask.

* :func:`gaussian_blur` — GIMP's Gaussian Blur (gegl:gaussian-blur): ``sigma`` is the standard
  deviation in pixels (GIMP's "Size X/Y"; Photoshop's "Radius" is used the same way), kernel out to
  3 sigma, edges clamped (GIMP's default "Clamp" abyss policy). Computed on **premultiplied**
  float32 RGBA and divided back, so transparent pixels' colours never bleed into the result
  (no dark halos around cut-outs).
* :func:`unsharp_mask` — Photoshop's / GIMP's Unsharp Mask:
  ``out = x + amount * (x - blur_sigma(x))`` per colour channel, where ``|x - blur|`` is at least
  ``threshold`` (in 8-bit levels, 0..255, as Photoshop's "Threshold"; GIMP's 0..1 x 255); the
  blurred colour comes from the premultiplied blur above, alpha is kept.

Both keep 16-bit pixels 16-bit. :func:`apply_filter` applies one to the active layer, limited to
the selection with soft edges, reading ``3 sigma`` around it: one undo step. numpy + OpenCV only.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .adjustments import _check_layer, adjusted_layer_pixels, apply_pixel_op
from .document import Document
from .geometry import Rect
from .layers import Layer

__all__ = ["GaussianBlur", "UnsharpMask", "gaussian_blur", "unsharp_mask", "apply_filter",
           "filtered_layer_pixels", "MAX_SIGMA"]

MAX_SIGMA = 500.0


def _maxv(dtype: np.dtype) -> float:
    return 65535.0 if np.dtype(dtype) == np.uint16 else 255.0


def _ksize(sigma_x: float, sigma_y: float) -> tuple[int, int]:
    """Kernel out to 3 sigma (odd sizes; 1 = no blur along that axis)."""
    kx = max(3, 2 * int(np.ceil(3 * sigma_x)) + 1) if sigma_x > 0 else 1
    ky = max(3, 2 * int(np.ceil(3 * sigma_y)) + 1) if sigma_y > 0 else 1
    return kx, ky


def _blur_plane_stack(f: np.ndarray, sigma_x: float, sigma_y: float) -> np.ndarray:
    return cv2.GaussianBlur(f, _ksize(sigma_x, sigma_y), sigmaX=max(sigma_x, 1e-6),
                            sigmaY=max(sigma_y, 1e-6), borderType=cv2.BORDER_REPLICATE)


def _opaque(px: np.ndarray) -> bool:
    return bool(px[..., 3].min(initial=int(_maxv(px.dtype))) == int(_maxv(px.dtype)))


def _premultiplied_blur(px: np.ndarray, sigma_x: float, sigma_y: float) -> tuple[np.ndarray, np.ndarray]:
    """(blurred straight RGB float32 in dtype units, blurred alpha float32 in dtype units)."""
    maxv = _maxv(px.dtype)
    if _opaque(px):   # premultiplying by 1 changes nothing: blur the colour directly
        rgb = _blur_plane_stack(np.ascontiguousarray(px[..., :3], dtype=np.float32), sigma_x, sigma_y)
        return rgb, np.full(px.shape[:2], maxv, np.float32)
    f = px.astype(np.float32)
    a = f[..., 3:4] * (1.0 / maxv)
    f[..., :3] *= a
    b = _blur_plane_stack(f, sigma_x, sigma_y)
    alpha = np.clip(b[..., 3], 0.0, maxv)
    inv = np.zeros_like(alpha)
    np.divide(maxv, alpha, out=inv, where=alpha > 1e-3)
    rgb = b[..., :3] * inv[..., None]
    return rgb, alpha


def gaussian_blur(px: np.ndarray, sigma: float, sigma_y: float | None = None) -> np.ndarray:
    """Gaussian blur of straight RGBA uint8/uint16 (premultiplied inside); same dtype out."""
    sx = float(sigma)
    sy = sx if sigma_y is None else float(sigma_y)
    if not (0 <= sx <= MAX_SIGMA and 0 <= sy <= MAX_SIGMA):
        raise ValueError(f"blur size must be 0..{MAX_SIGMA:g} px")
    if sx == 0 and sy == 0:
        return px.copy()
    maxv = _maxv(px.dtype)
    rgb, alpha = _premultiplied_blur(px, sx, sy)
    out = np.empty_like(px)
    out[..., :3] = np.clip(rgb + 0.5, 0, maxv).astype(px.dtype)
    out[..., 3] = np.clip(alpha + 0.5, 0, maxv).astype(px.dtype)
    return out


def unsharp_mask(px: np.ndarray, sigma: float, amount: float, threshold: float = 0.0) -> np.ndarray:
    """Unsharp mask: ``amount`` as a fraction (0.5 = Photoshop's 50 %), ``threshold`` in 8-bit
    levels (0..255); alpha unchanged."""
    if not 0 < float(sigma) <= MAX_SIGMA:
        raise ValueError(f"unsharp radius must be above 0 and at most {MAX_SIGMA:g} px")
    if not 0 <= float(amount) <= 10:
        raise ValueError("unsharp amount must be 0..1000 %")
    if not 0 <= float(threshold) <= 255:
        raise ValueError("unsharp threshold must be 0..255")
    maxv = _maxv(px.dtype)
    rgb_blur, _alpha = _premultiplied_blur(px, float(sigma), float(sigma))
    x = px[..., :3].astype(np.float32)
    diff = x - rgb_blur
    # pixels with no coverage keep their colour (their "blur" is undefined)
    diff[px[..., 3] == 0] = 0
    if threshold > 0:
        diff[np.abs(diff) < float(threshold) * (maxv / 255.0)] = 0
    out = px.copy()
    out[..., :3] = np.clip(x + float(amount) * diff + 0.5, 0, maxv).astype(px.dtype)
    return out


@dataclass(frozen=True)
class GaussianBlur:
    sigma: float = 2.0
    label = "Gaussian blur"

    def __post_init__(self) -> None:
        if not 0 <= self.sigma <= MAX_SIGMA:
            raise ValueError(f"blur size must be 0..{MAX_SIGMA:g} px")

    @property
    def is_identity(self) -> bool:
        return self.sigma == 0

    @property
    def margin(self) -> int:
        return int(np.ceil(3 * self.sigma)) + 1

    def apply(self, px: np.ndarray) -> np.ndarray:
        return gaussian_blur(px, self.sigma)


@dataclass(frozen=True)
class UnsharpMask:
    sigma: float = 2.0
    amount: float = 0.5
    threshold: float = 0.0
    label = "Unsharp mask"

    def __post_init__(self) -> None:
        unsharp_mask(np.zeros((1, 1, 4), np.uint8), self.sigma, self.amount, self.threshold)

    @property
    def is_identity(self) -> bool:
        return self.amount == 0

    @property
    def margin(self) -> int:
        return int(np.ceil(3 * self.sigma)) + 1

    def apply(self, px: np.ndarray) -> np.ndarray:
        return unsharp_mask(px, self.sigma, self.amount, self.threshold)


Filter = GaussianBlur | UnsharpMask


def apply_filter(doc: Document, flt: Filter, layer: Layer | None = None) -> Rect | None:
    """Apply ``flt`` to the active layer within the selection (soft edges). One undo step."""
    layer = _check_layer(doc, layer)
    if flt.is_identity:
        return None
    return apply_pixel_op(doc, flt.apply, flt.label, layer, margin=flt.margin)


def filtered_layer_pixels(doc: Document, flt: Filter, layer: Layer | None = None,
                          source: np.ndarray | None = None) -> np.ndarray:
    """The layer's pixels with ``flt`` applied (document untouched; live previews)."""
    return adjusted_layer_pixels(doc, flt.apply, layer, margin=flt.margin, source=source)
