"""Blend modes of the W3C Compositing and Blending Level 1 spec, on float32 planes.

Separable modes (normal, multiply, screen, overlay, darken, lighten, color-dodge, color-burn,
hard-light, soft-light, difference, exclusion, and "add" = svg:plus clamped) work per colour
plane: ``BLEND_FUNCTIONS``. The non-separable ones (hue, saturation, color, luminosity) need the
three channels at once: ``NONSEPARABLE_FUNCTIONS`` take and return (3, ...) arrays, built on the
spec's Lum / ClipColor / SetLum / Sat / SetSat (Rec. 601 luma weights 0.3, 0.59, 0.11).

``B(Cb, Cs)`` takes the *straight* (non-premultiplied) backdrop colour ``Cb`` and source colour
``Cs``, both in 0..1, and returns the blended colour. The compositor (compositing.py) then mixes
it with the source by the backdrop alpha and composites "source-over" in premultiplied form::

    Cs' = (1 - ab) * Cs + ab * B(Cb, Cs)
    co  = as * Cs' + (1 - as) * cb          (cb premultiplied backdrop)
    ao  = as + (1 - as) * ab

Every function here works on one colour plane (any shape, float32) and may overwrite ``cb``
(the backdrop plane, a temporary of the caller) but never ``cs``. ``blend_reference`` is the
plain scalar formula of the spec, used by the tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .layers import BlendMode

BlendFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _multiply(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    return np.multiply(cb, cs, out=cb)


def _screen(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    # Cb + Cs - Cb*Cs
    prod = cb * cs
    cb += cs
    cb -= prod
    return cb


def _hard_light(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    # Cs <= 0.5: Multiply(Cb, 2Cs) ; else Screen(Cb, 2Cs - 1)
    low = cs <= 0.5
    s2 = cs * 2.0
    mult = cb * s2
    s2 -= 1.0                       # 2Cs - 1
    scr = cb + s2
    scr -= cb * s2
    return _select(low, mult, scr, cb)


def _overlay(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    # HardLight with the arguments swapped: Cb <= 0.5: 2CbCs ; else Screen(Cs, 2Cb - 1)
    low = cb <= 0.5
    b2 = cb * 2.0
    mult = b2 * cs
    b2 -= 1.0
    scr = b2 + cs
    scr -= b2 * cs
    return _select(low, mult, scr, cb)


def _soft_light(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    # Cs <= 0.5: Cb - (1 - 2Cs) Cb (1 - Cb)
    # else:      Cb + (2Cs - 1) (D(Cb) - Cb),  D = ((16Cb - 12)Cb + 4)Cb if Cb <= 0.25 else sqrt(Cb)
    s2m1 = cs * 2.0
    s2m1 -= 1.0                                     # 2Cs - 1   (negative where Cs < 0.5)
    one_minus = 1.0 - cb
    low = cb * one_minus                            # Cb (1 - Cb)
    low *= s2m1                                     # -(1-2Cs) Cb (1-Cb)
    d = np.sqrt(cb)
    dark = cb <= 0.25
    if dark.any():
        poly = cb * 16.0
        poly -= 12.0
        poly *= cb
        poly += 4.0
        poly *= cb
        np.copyto(d, poly, where=dark)
    d -= cb
    d *= s2m1                                       # (2Cs - 1)(D - Cb)
    sel = cs <= 0.5
    np.copyto(d, low, where=sel)
    cb += d
    return cb


def _darken(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    return np.minimum(cb, cs, out=cb)


def _lighten(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    return np.maximum(cb, cs, out=cb)


def _add(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    cb += cs
    return np.minimum(cb, 1.0, out=cb)


def _difference(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    cb -= cs
    return np.abs(cb, out=cb)


def _color_dodge(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    # Cb == 0: 0 ; Cs == 1: 1 ; else min(1, Cb / (1 - Cs))
    den = 1.0 - cs
    out = np.ones_like(cb)
    np.divide(cb, den, out=out, where=den > 0)
    np.minimum(out, 1.0, out=out)
    out[cb <= 0] = 0.0
    np.copyto(cb, out)
    return cb


def _color_burn(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    # Cb == 1: 1 ; Cs == 0: 0 ; else 1 - min(1, (1 - Cb) / Cs)
    inv_b = 1.0 - cb
    out = np.zeros_like(cb)
    np.divide(inv_b, cs, out=out, where=cs > 0)
    np.minimum(out, 1.0, out=out)
    np.subtract(1.0, out, out=out)
    out[cs <= 0] = 0.0
    out[cb >= 1] = 1.0
    np.copyto(cb, out)
    return cb


def _exclusion(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    # Cb + Cs - 2 Cb Cs
    prod = cb * cs
    prod *= 2.0
    cb += cs
    cb -= prod
    return cb


def _normal(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    np.copyto(cb, cs)
    return cb


def _select(cond: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.copyto(out, b)
    np.copyto(out, a, where=cond)
    return out


BLEND_FUNCTIONS: dict[BlendMode, BlendFn] = {
    BlendMode.NORMAL: _normal,
    BlendMode.MULTIPLY: _multiply,
    BlendMode.SCREEN: _screen,
    BlendMode.OVERLAY: _overlay,
    BlendMode.DARKEN: _darken,
    BlendMode.LIGHTEN: _lighten,
    BlendMode.SOFT_LIGHT: _soft_light,
    BlendMode.HARD_LIGHT: _hard_light,
    BlendMode.ADD: _add,
    BlendMode.DIFFERENCE: _difference,
    BlendMode.COLOR_DODGE: _color_dodge,
    BlendMode.COLOR_BURN: _color_burn,
    BlendMode.EXCLUSION: _exclusion,
}


# -- non-separable modes (W3C section 10.2): colours as (3, ...) float arrays ----------------------
LUMA = (0.3, 0.59, 0.11)


def lum(c: np.ndarray) -> np.ndarray:
    """Lum(C) = 0.3 R + 0.59 G + 0.11 B."""
    out = np.multiply(c[0], LUMA[0], dtype=np.float32)
    out += LUMA[1] * c[1]
    out += LUMA[2] * c[2]
    return out


def _min3(c: np.ndarray) -> np.ndarray:
    return np.minimum(np.minimum(c[0], c[1]), c[2])


def _max3(c: np.ndarray) -> np.ndarray:
    return np.maximum(np.maximum(c[0], c[1]), c[2])


def _clip_to(c: np.ndarray, lu: np.ndarray) -> np.ndarray:
    """ClipColor of ``c`` whose luminosity is ``lu`` (in place): C = L + (C - L) k with
    k = L / (L - min) where min < 0, k = (1 - L) / (max - L) where max > 1."""
    n = _min3(c)
    x = _max3(c)
    k = np.ones_like(lu)
    low = n < 0
    if low.any():
        den = lu - n
        np.divide(lu, den, out=k, where=low & (den > 0))
    high = x > 1
    if high.any():
        den = x - lu
        np.divide(1.0 - lu, den, out=k, where=high & (den > 0))
    if low.any() or high.any():
        for ck in c:
            ck -= lu
            ck *= k
            ck += lu
    return c


def clip_color(c: np.ndarray) -> np.ndarray:
    """ClipColor(C): bring C back into 0..1 keeping its luminosity (in place, returned)."""
    return _clip_to(c, lum(c))


def set_lum(c: np.ndarray, lu: np.ndarray) -> np.ndarray:
    """SetLum(C, l): shift C to luminosity l, then ClipColor (returns a new array). The weights
    sum to 1, so the shifted colour's Lum is l itself."""
    out = c + (lu - lum(c))
    return _clip_to(out, lu)


def sat(c: np.ndarray) -> np.ndarray:
    """Sat(C) = max(C) - min(C)."""
    return _max3(c) - _min3(c)


def set_sat(c: np.ndarray, s: np.ndarray) -> np.ndarray:
    """SetSat(C, s): Cmax -> s, Cmin -> 0, Cmid -> (Cmid - Cmin) s / (Cmax - Cmin); grey -> 0."""
    cmin = _min3(c)
    rng = _max3(c)
    rng -= cmin
    f = np.zeros_like(rng)
    np.divide(s, rng, out=f, where=rng > 0)
    out = c - cmin
    out *= f
    return out


def _hue(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    return set_lum(set_sat(cs, sat(cb)), lum(cb))


def _saturation(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    return set_lum(set_sat(cb, sat(cs)), lum(cb))


def _color(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    return set_lum(cs, lum(cb))


def _luminosity(cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    return set_lum(cb, lum(cs))


NONSEPARABLE_FUNCTIONS: dict[BlendMode, BlendFn] = {
    BlendMode.HUE: _hue,
    BlendMode.SATURATION: _saturation,
    BlendMode.COLOR: _color,
    BlendMode.LUMINOSITY: _luminosity,
}


def blend(mode: BlendMode | str, cb: np.ndarray, cs: np.ndarray) -> np.ndarray:
    """B(cb, cs) for straight colours in 0..1 (float32 arrays). ``cb`` may be overwritten.

    Separable modes take planes of any shape; non-separable ones (3, ...) RGB arrays."""
    mode = BlendMode(mode)
    fn = NONSEPARABLE_FUNCTIONS.get(mode)
    return fn(cb, cs) if fn is not None else BLEND_FUNCTIONS[mode](cb, cs)


def blend_reference(mode: BlendMode | str, cb: float, cs: float) -> float:
    """The W3C formula for one channel, in plain Python floats (reference for tests)."""
    mode = BlendMode(mode)
    if mode is BlendMode.NORMAL:
        return cs
    if mode is BlendMode.MULTIPLY:
        return cb * cs
    if mode is BlendMode.SCREEN:
        return cb + cs - cb * cs
    if mode is BlendMode.HARD_LIGHT:
        return cb * 2 * cs if cs <= 0.5 else blend_reference(BlendMode.SCREEN, cb, 2 * cs - 1)
    if mode is BlendMode.OVERLAY:
        return blend_reference(BlendMode.HARD_LIGHT, cs, cb)
    if mode is BlendMode.DARKEN:
        return min(cb, cs)
    if mode is BlendMode.LIGHTEN:
        return max(cb, cs)
    if mode is BlendMode.SOFT_LIGHT:
        if cs <= 0.5:
            return cb - (1 - 2 * cs) * cb * (1 - cb)
        d = ((16 * cb - 12) * cb + 4) * cb if cb <= 0.25 else math.sqrt(cb)
        return cb + (2 * cs - 1) * (d - cb)
    if mode is BlendMode.ADD:
        return min(1.0, cb + cs)
    if mode is BlendMode.DIFFERENCE:
        return abs(cb - cs)
    if mode is BlendMode.COLOR_DODGE:
        if cb == 0:
            return 0.0
        if cs == 1:
            return 1.0
        return min(1.0, cb / (1 - cs))
    if mode is BlendMode.COLOR_BURN:
        if cb == 1:
            return 1.0
        if cs == 0:
            return 0.0
        return 1 - min(1.0, (1 - cb) / cs)
    if mode is BlendMode.EXCLUSION:
        return cb + cs - 2 * cb * cs
    raise ValueError(f"{mode} is not a separable blend mode")


def blend_reference_rgb(mode: BlendMode | str, cb: tuple[float, float, float],
                        cs: tuple[float, float, float]) -> tuple[float, float, float]:
    """The W3C formula of any mode for one RGB colour, in plain Python floats (tests)."""
    mode = BlendMode(mode)
    if mode not in NONSEPARABLE_FUNCTIONS:
        return tuple(blend_reference(mode, b, s) for b, s in zip(cb, cs))  # type: ignore[return-value]

    def lum_(c):
        return 0.3 * c[0] + 0.59 * c[1] + 0.11 * c[2]

    def clip(c):
        lu, n, x = lum_(c), min(c), max(c)
        if n < 0:
            c = [lu + (v - lu) * lu / (lu - n) for v in c]
        if x > 1:
            c = [lu + (v - lu) * (1 - lu) / (x - lu) for v in c]
        return c

    def setlum(c, lu):
        d = lu - lum_(c)
        return clip([v + d for v in c])

    def sat_(c):
        return max(c) - min(c)

    def setsat(c, s):
        lo, hi = min(c), max(c)
        if hi > lo:
            return [(v - lo) * s / (hi - lo) for v in c]
        return [0.0, 0.0, 0.0]

    cb_, cs_ = list(cb), list(cs)
    if mode is BlendMode.HUE:
        out = setlum(setsat(cs_, sat_(cb_)), lum_(cb_))
    elif mode is BlendMode.SATURATION:
        out = setlum(setsat(cb_, sat_(cs_)), lum_(cb_))
    elif mode is BlendMode.COLOR:
        out = setlum(cs_, lum_(cb_))
    else:
        out = setlum(cb_, lum_(cs_))
    return tuple(out)  # type: ignore[return-value]


# -- painting a solid colour (fill, brush) ------------------------------------------------------------
def maxval_of(arr: np.ndarray) -> float:
    return 65535.0 if arr.dtype == np.uint16 else 255.0


def paint_over(src: np.ndarray, color: tuple[float, float, float, float], alpha: np.ndarray | float,
               out: np.ndarray | None = None) -> np.ndarray:
    """Source-over of a solid straight ``color`` (RGBA floats 0..1) onto straight RGBA ``src``.

    ``src`` is HxWx4 uint8/uint16; ``alpha`` (HxW float32 0..1, or a scalar) is the coverage,
    multiplied by the colour's own alpha. Result written to ``out`` (may be ``src``) and returned.
    """
    out = src if out is None else out
    maxv = maxval_of(src)
    a = np.multiply(alpha, color[3], dtype=np.float32)
    if a.ndim == 0:
        a = np.full(src.shape[:2], a, np.float32)
    ab = np.multiply(src[..., 3], 1.0 / maxv, dtype=np.float32)
    keep = np.subtract(1.0, a, dtype=np.float32)
    keep *= ab                                   # ab (1 - a): backdrop weight
    out_a = keep + a
    inv = np.zeros_like(out_a)
    np.divide(1.0, out_a, out=inv, where=out_a > 0)
    t = np.empty_like(a)
    for c in range(3):
        np.multiply(src[..., c], keep * (1.0 / maxv), out=t, dtype=np.float32)
        t += a * color[c]
        t *= inv
        t *= maxv
        t += 0.5
        np.clip(t, 0, maxv, out=t)
        out[..., c] = t
    out_a *= maxv
    out_a += 0.5
    np.clip(out_a, 0, maxv, out=out_a)
    out[..., 3] = out_a
    return out


def erase_alpha(src: np.ndarray, alpha: np.ndarray | float, out: np.ndarray | None = None) -> np.ndarray:
    """Reduce the alpha of straight RGBA ``src`` by coverage ``alpha`` (0..1): a' = a (1 - alpha)."""
    out = src if out is None else out
    if out is not src:
        out[..., :3] = src[..., :3]
    t = np.subtract(1.0, alpha, dtype=np.float32)
    t = t * src[..., 3]
    t += 0.5
    out[..., 3] = t
    return out


def mix_plane(src: np.ndarray, value: float, alpha: np.ndarray | float,
              out: np.ndarray | None = None) -> np.ndarray:
    """Move a single-channel mask ``src`` towards ``value`` (0..maxval) by ``alpha`` (0..1)."""
    out = src if out is None else out
    t = np.subtract(value, src, dtype=np.float32)
    t *= alpha
    t += src
    t += 0.5
    np.clip(t, 0, maxval_of(src), out=t)
    out[...] = t
    return out
