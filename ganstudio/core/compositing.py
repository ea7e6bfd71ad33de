"""Compositing of a document's layers (numpy + OpenCV), premultiplied alpha, W3C blend modes.

Public API::

    composite(doc, rect=None, *, dtype=np.uint8, background=None) -> HxWx4 straight-alpha RGBA
    composite_for_display(doc, rect=None, *, background=None) -> HxWx4 uint8 *premultiplied* RGBA
    composite_layers(layers, rect, *, dtype=np.uint8, background=None, premultiplied=False)
    composite_nodes(nodes, rect, ...)     a list of top-level nodes (layers and GroupLayers)

Layer groups (``GroupLayer``): a pass-through group (the default) adds its children to the
stack below it as if they were not grouped; with opacity < 1 the result inside the group's
bounds is then faded against the backdrop (``out = B + opacity (children over B - B)``). An
isolated group composites its children on their own (over transparency, same band) and blends
that result onto the backdrop with its opacity and blend mode, like one layer. Hidden groups
hide everything inside. ``composite(doc)`` follows ``doc.root``; ``composite_layers`` given
layers that sit in groups composites them through their groups (the document's tree, with the
layers not listed left out), so "the document without this layer" stays right.

``rect`` is in document coordinates (default: the whole canvas) and may reach outside the
canvas (layers are drawn wherever they are; nothing else is there). ``background`` is None
(transparent) or an RGB / RGBA tuple in 8-bit units (0..255) laid under every layer.

How: the rect is cut into row bands of about ``BAND_PIXELS`` pixels; each band is accumulated in
planar float32 (4 x h x w, premultiplied) so that every numpy / OpenCV operation runs on
contiguous planes. For each visible layer, only its intersection with the band is touched:
alpha = layer alpha x opacity x mask; normal mode is ``acc = src*a + acc*(1-a)``; other modes
mix the blended colour ``B(Cb, Cs)`` (blend.py) into the source by the backdrop alpha first.
Layers under the topmost normal, fully opaque, unmasked layer that covers the band are skipped.
Transparent source pixels contribute nothing, whatever colour they hold.

``composite_for_display`` skips the un-premultiply division: its output maps 1:1 to
``QImage.Format_RGBA8888_Premultiplied`` (the fastest format for QPainter). Draw the checkerboard
first, or pass ``background``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from .blend import BLEND_FUNCTIONS, NONSEPARABLE_FUNCTIONS
from .geometry import Rect
from .layers import BlendMode, GroupLayer, Layer

BAND_PIXELS = 1 << 19  # ~0.5 MP per band: planes stay in cache, temporaries stay small

_F32 = np.float32


@dataclass(frozen=True)
class LayerPass:
    """One layer as the compositor sees it (lets merge_down override opacity / mode)."""

    layer: Layer
    opacity: float
    mode: BlendMode
    use_mask: bool = True

    @classmethod
    def of(cls, layer: Layer) -> LayerPass:
        return cls(layer, layer.opacity, layer.blend_mode)


@dataclass(frozen=True)
class GroupPass:
    """A group that cannot be flattened into its parent's passes: isolated, or pass-through with
    opacity < 1. ``items`` are its children's passes; ``bounds`` the union of their layers."""

    group: Layer
    items: tuple
    isolated: bool
    opacity: float
    mode: BlendMode
    bounds: Rect


def _item_bounds(items: Sequence[LayerPass | GroupPass]) -> Rect:
    out: Rect | None = None
    for it in items:
        b = it.bounds if isinstance(it, GroupPass) else it.layer.bounds
        out = b if out is None else out.union(b)
    return out if out is not None else Rect(0, 0, 0, 0)


def build_passes(nodes: Sequence[Layer], include: set[int] | None = None
                 ) -> list[LayerPass | GroupPass]:
    """The compositor's program for ``nodes`` (bottom first): visible layers as LayerPass, groups
    spliced in (pass-through, opacity 1) or as GroupPass. ``include``: ids of the only leaf
    layers to draw (None: all)."""
    out: list[LayerPass | GroupPass] = []
    for node in nodes:
        if not node.visible or node.opacity <= 0:
            continue
        if node.is_group:
            items = build_passes(node.children, include)  # type: ignore[attr-defined]
            if not items:
                continue
            isolated = not node.pass_through  # type: ignore[attr-defined]
            if not isolated and node.opacity >= 1.0:
                out.extend(items)
            else:
                out.append(GroupPass(node, tuple(items), isolated, node.opacity, node.blend_mode,
                                     _item_bounds(items)))
        elif include is None or id(node) in include:
            out.append(LayerPass.of(node))
    return out


def _doc_nodes(doc) -> Sequence[Layer]:
    root = getattr(doc, "root", None)
    if root is None:
        return doc.layers
    sync = getattr(doc, "sync_tree", None)
    if sync is not None:
        sync()
    return root.children


def composite(doc, rect: Rect | None = None, *, dtype=np.uint8,
              background: Sequence[int] | None = None) -> np.ndarray:
    """Straight-alpha RGBA (HxWx4, uint8 or uint16) of ``rect`` (document coordinates)."""
    rect = doc.bounds if rect is None else rect
    return composite_nodes(_doc_nodes(doc), rect, dtype=dtype, background=background)


def composite_for_display(doc, rect: Rect | None = None, *,
                          background: Sequence[int] | None = None) -> np.ndarray:
    """Premultiplied uint8 RGBA of ``rect`` for the canvas (QImage Format_RGBA8888_Premultiplied)."""
    rect = doc.bounds if rect is None else rect
    return composite_nodes(_doc_nodes(doc), rect, dtype=np.uint8, background=background,
                           premultiplied=True)


def composite_nodes(nodes: Sequence[Layer], rect: Rect, *, dtype=np.uint8,
                    background: Sequence[int] | None = None, premultiplied: bool = False,
                    include: set[int] | None = None) -> np.ndarray:
    """Composite top-level ``nodes`` (layers and groups, bottom first) over ``rect``."""
    return composite_passes(build_passes(nodes, include), rect, dtype=dtype,
                            background=background, premultiplied=premultiplied)


def _tree_root(layers: Sequence[Layer]) -> GroupLayer | None:
    """The group tree the layers belong to when some of them sit inside a group, else None."""
    root = None
    nested = False
    for la in layers:
        p = la._parent  # noqa: SLF001 - core-internal tree link
        if p is None:
            return None if nested else root
        top = la
        while top._parent is not None:  # noqa: SLF001
            top = top._parent  # noqa: SLF001
        if p is not top:
            nested = True
        if root is None:
            root = top
        elif root is not top:
            return None
    return root if nested else None


def composite_layers(layers: Sequence[Layer], rect: Rect, *, dtype=np.uint8,
                     background: Sequence[int] | None = None,
                     premultiplied: bool = False) -> np.ndarray:
    """Composite ``layers`` (bottom first, document positions) over ``rect``; see module doc.

    Layers of one document that sit in groups are composited through their groups."""
    root = _tree_root(layers)
    if root is not None and isinstance(root, GroupLayer):
        return composite_nodes(root.children, rect, dtype=dtype, background=background,
                               premultiplied=premultiplied, include={id(la) for la in layers})
    passes = [LayerPass.of(la) for la in layers if la.visible and la.opacity > 0]
    return composite_passes(passes, rect, dtype=dtype, background=background,
                            premultiplied=premultiplied)


def composite_passes(passes: Sequence[LayerPass | GroupPass], rect: Rect, *, dtype=np.uint8,
                     background: Sequence[int] | None = None,
                     premultiplied: bool = False) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype not in (np.uint8, np.uint16):
        raise ValueError(f"composite dtype must be uint8 or uint16, got {dtype}")
    if rect.is_empty():
        return np.zeros((max(rect.h, 0), max(rect.w, 0), 4), dtype)
    out = np.empty((rect.h, rect.w, 4), dtype)
    bg = _background(background)
    rows = max(1, BAND_PIXELS // rect.w)

    def run(y: int) -> None:
        band = Rect(rect.x, rect.y + y, rect.w, min(rows, rect.h - y))
        _store(accumulate(passes, band, bg), out[y:y + band.h], premultiplied)

    starts = range(0, rect.h, rows)
    threads = composite_threads()
    if len(starts) >= 4 and threads > 1:
        # big composites (>= ~2 MP): bands in parallel, numpy / OpenCV release the GIL. The
        # threads live only for this call (no pool left running behind the UI's back).
        with ThreadPoolExecutor(threads, thread_name_prefix="composite") as pool:
            for _ in pool.map(run, starts):
                pass
    else:
        for y in starts:
            run(y)
    return out


#: worker threads for big composites (1 = no threads)
THREADS = min(4, os.cpu_count() or 1)


def composite_threads() -> int:
    """Threads for one big composite: ``THREADS`` on the main thread; one fewer from any other
    thread (a job's inputs, a save, an autosave), so background work leaves a core to the
    window's event loop (issue 13: on 2 cores the GUI thread queued ~23 ms for a core at submit)."""
    if threading.current_thread() is threading.main_thread():
        return THREADS
    return max(1, THREADS - 1)


# -- accumulation -----------------------------------------------------------------------------------
def _background(background: Sequence[int] | None) -> tuple[float, float, float, float] | None:
    if background is None:
        return None
    vals = [float(v) / 255.0 for v in background]
    if len(vals) == 3:
        vals.append(1.0)
    if len(vals) != 4:
        raise ValueError("background must be RGB or RGBA")
    a = vals[3]
    return vals[0] * a, vals[1] * a, vals[2] * a, a


def _maxval(arr: np.ndarray) -> float:
    return 65535.0 if arr.dtype == np.uint16 else 255.0


def _covers_opaque(p: LayerPass | GroupPass, rect: Rect) -> bool:
    """True when the layer alone hides everything below it inside ``rect``."""
    if isinstance(p, GroupPass):
        return False
    la = p.layer
    if p.mode is not BlendMode.NORMAL or p.opacity < 1.0 or (p.use_mask and la.effective_mask is not None):
        return False
    if rect.intersect(la.bounds) != rect:
        return False
    if hasattr(la, "pixels"):
        alpha = la.pixels[la.to_layer_rect(rect).slices()][..., 3]
        return bool(alpha.min() == _maxval(alpha))
    return bool(la.rgba(la.to_layer_rect(rect))[..., 3].min() == 255)


def accumulate(passes: Sequence[LayerPass | GroupPass], rect: Rect,
               bg: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """Premultiplied planar float32 (4, h, w) composite of ``passes`` over ``rect``."""
    acc = np.empty((4, rect.h, rect.w), _F32)
    start = 0
    for i in range(len(passes) - 1, -1, -1):
        if _covers_opaque(passes[i], rect):
            start = i
            break
    else:
        i = -1
    if i >= 0:
        la = passes[i].layer
        src = la.rgba(la.to_layer_rect(rect))
        k = 1.0 / _maxval(src)
        for c, plane in enumerate(cv2.split(src)[:3]):
            np.multiply(plane, k, out=acc[c], dtype=_F32)
        acc[3].fill(1.0)
        start = i + 1
    else:
        for c in range(4):
            acc[c].fill(0.0 if bg is None else bg[c])
    for p in passes[start:]:
        if isinstance(p, GroupPass):
            _apply_group(acc, rect, p)
        else:
            _apply(acc, rect, p)
    return acc


def _apply_group(acc: np.ndarray, rect: Rect, g: GroupPass) -> None:
    inter = rect.intersect(g.bounds)
    if inter.is_empty():
        return
    ys, xs = inter.translated(-rect.x, -rect.y).slices()
    view = acc[:, ys, xs]
    if not g.isolated:
        # pass-through with opacity < 1: children onto the backdrop, then fade against it
        before = view.copy()
        for p in g.items:
            if isinstance(p, GroupPass):
                _apply_group(acc, rect, p)
            else:
                _apply(acc, rect, p)
        view -= before
        view *= _F32(g.opacity)
        view += before
        return
    sub = accumulate(g.items, inter)          # premultiplied, isolated (over transparency)
    alpha = sub[3]
    a = np.multiply(alpha, g.opacity, dtype=_F32)
    if not a.any():
        return
    inv_a = np.zeros_like(alpha)
    np.divide(1.0, alpha, out=inv_a, where=alpha > 0)
    planes = [np.minimum(np.multiply(sub[c], inv_a, out=sub[c]), 1.0, out=sub[c])
              for c in range(3)]               # straight colour 0..1
    _blend_into(view, planes, a, g.mode, 1.0)


def _apply(acc: np.ndarray, rect: Rect, p: LayerPass) -> None:
    la = p.layer
    inter = rect.intersect(la.bounds)
    if inter.is_empty():
        return
    lr = la.to_layer_rect(inter)
    src = la.rgba(lr)
    planes = cv2.split(src)
    maxval = _maxval(src)
    mask = la.effective_mask if p.use_mask else None
    if mask is not None:
        a = np.multiply(planes[3], mask[lr.slices()], dtype=_F32)
        a *= _F32(p.opacity / (maxval * 255.0))
    else:
        a = np.multiply(planes[3], p.opacity / maxval, dtype=_F32)
    if not a.any():
        return
    ys, xs = inter.translated(-rect.x, -rect.y).slices()
    _blend_into(acc[:, ys, xs], planes, a, p.mode, maxval)


def _blend_into(view: np.ndarray, planes: Sequence[np.ndarray], a: np.ndarray, mode: BlendMode,
                maxval: float) -> None:
    """Source-over of one source onto ``view`` (premultiplied planar float32, 4 x h x w) with
    blend mode ``mode``: ``planes`` straight colour planes in 0..maxval, ``a`` the source alpha
    (0..1, opacity and mask included)."""
    inv = np.subtract(1.0, a, dtype=_F32)
    tmp = np.empty_like(a)
    if mode is BlendMode.NORMAL:
        ka = np.multiply(a, 1.0 / maxval, dtype=_F32)
        for c in range(3):
            dst = view[c]
            dst *= inv
            dst += np.multiply(planes[c], ka, out=tmp)
    elif mode in _PREMULTIPLIED_MODES:
        _apply_premultiplied(view, planes, a, inv, mode, maxval)
    elif mode in NONSEPARABLE_FUNCTIONS:
        ab = view[3]
        inv_ab = np.zeros_like(a)
        np.divide(1.0, ab, out=inv_ab, where=ab > 0)
        cb3 = np.empty((3,) + a.shape, _F32)
        cs3 = np.empty((3,) + a.shape, _F32)
        for c in range(3):
            np.multiply(view[c], inv_ab, out=cb3[c])
            np.minimum(cb3[c], 1.0, out=cb3[c])
            np.multiply(planes[c], 1.0 / maxval, out=cs3[c], dtype=_F32)
        b3 = NONSEPARABLE_FUNCTIONS[mode](cb3, cs3)
        for c in range(3):
            b = b3[c]
            b -= cs3[c]      # Cs' = Cs + ab (B - Cs)
            b *= ab
            b += cs3[c]
            b *= a
            dst = view[c]
            dst *= inv
            dst += b
    else:
        fn = BLEND_FUNCTIONS[mode]
        ab = view[3]
        inv_ab = np.zeros_like(a)
        np.divide(1.0, ab, out=inv_ab, where=ab > 0)
        cs = np.empty_like(a)
        for c in range(3):
            np.multiply(planes[c], 1.0 / maxval, out=cs, dtype=_F32)
            cb = np.multiply(view[c], inv_ab, out=tmp)
            np.minimum(cb, 1.0, out=cb)
            b = fn(cb, cs)
            b -= cs          # Cs' = Cs + ab (B - Cs)
            b *= ab
            b += cs
            b *= a           # premultiply by the source alpha
            dst = view[c]
            dst *= inv
            dst += b
    dst = view[3]
    dst *= inv
    dst += a


_PREMULTIPLIED_MODES = frozenset({BlendMode.MULTIPLY, BlendMode.SCREEN, BlendMode.DARKEN,
                                  BlendMode.LIGHTEN, BlendMode.DIFFERENCE, BlendMode.ADD,
                                  BlendMode.OVERLAY, BlendMode.HARD_LIGHT, BlendMode.EXCLUSION})


def _apply_premultiplied(view: np.ndarray, planes: Sequence[np.ndarray], a: np.ndarray,
                         inv: np.ndarray, mode: BlendMode, maxval: float) -> None:
    """Colour planes of the modes whose W3C formula has a closed premultiplied form (no division).

    With premultiplied cs = as*Cs and cb = ab*Cb, co = cs(1-ab) + cb(1-as) + as*ab*B(Cb, Cs):
    multiply  co = cb(1-as) + cs(1 - ab + cb)         screen  co = cs + cb - cs*cb
    darken    co = cs(1-ab) + cb(1-as) + min(as*cb, ab*cs)    (lighten: max)
    difference co = cs + cb - 2 min(as*cb, ab*cs)      exclusion co = cs + cb - 2 cs*cb
    add       co = cs(1-ab) + cb(1-as) + min(as*ab, as*cb + ab*cs)
    overlay   x = 2cb - ab:  co = cs(1-ab) + cb(1-as) + (2cs*cb if x <= 0 else x(as - cs) + ab*cs)
    hard-light y = 2cs - as: co = cs(1-ab) + cb(1-as) + (2cs*cb if y <= 0 else cb(as - y) + ab*y)
    Soft light needs the straight Cb (sqrt) and goes through the generic path.
    The alpha plane is updated by the caller.
    """
    ab = view[3]
    ka = np.multiply(a, 1.0 / maxval, dtype=_F32)
    cs = np.empty_like(a)
    t = np.empty_like(a)
    u = np.empty_like(a)
    one_m_ab = np.subtract(1.0, ab, dtype=_F32) if mode is not BlendMode.SCREEN else None
    aab = np.multiply(a, ab) if mode is BlendMode.ADD else None
    for c in range(3):
        np.multiply(planes[c], ka, out=cs)
        dst = view[c]
        if mode is BlendMode.MULTIPLY:
            np.add(dst, one_m_ab, out=t)
            t *= cs
            dst *= inv
            dst += t
        elif mode is BlendMode.SCREEN:
            np.multiply(cs, dst, out=t)
            dst += cs
            dst -= t
        elif mode is BlendMode.EXCLUSION:
            np.multiply(cs, dst, out=t)
            t *= 2.0
            dst += cs
            dst -= t
        elif mode is BlendMode.DIFFERENCE:
            np.multiply(dst, a, out=t)
            np.multiply(cs, ab, out=u)
            np.minimum(t, u, out=t)
            t *= 2.0
            dst += cs
            dst -= t
        elif mode is BlendMode.OVERLAY or mode is BlendMode.HARD_LIGHT:
            low = np.multiply(cs, dst)
            low *= 2.0
            if mode is BlendMode.OVERLAY:
                np.multiply(dst, 2.0, out=u)
                u -= ab                      # x = 2cb - ab
                np.subtract(a, cs, out=t)
                t *= u
                cond = u <= 0
                np.multiply(cs, ab, out=u)
                t += u                       # x(as - cs) + ab*cs
            else:
                np.multiply(cs, 2.0, out=u)
                u -= a                       # y = 2cs - as
                np.subtract(a, u, out=t)
                t *= dst
                cond = u <= 0
                u *= ab
                t += u                       # cb(as - y) + ab*y
            np.copyto(t, low, where=cond)
            dst *= inv
            dst += t
            np.multiply(cs, one_m_ab, out=u)
            dst += u
        else:  # darken, lighten, add
            np.multiply(dst, a, out=t)
            np.multiply(cs, ab, out=u)
            if mode is BlendMode.DARKEN:
                np.minimum(t, u, out=t)
            elif mode is BlendMode.LIGHTEN:
                np.maximum(t, u, out=t)
            else:
                t += u
                np.minimum(t, aab, out=t)
            dst *= inv
            dst += t
            np.multiply(cs, one_m_ab, out=u)
            dst += u


# -- output -----------------------------------------------------------------------------------------
def _store(acc: np.ndarray, out: np.ndarray, premultiplied: bool) -> None:
    maxval = _maxval(out)
    a = acc[3]
    planes = []
    if premultiplied:
        for c in range(3):
            planes.append(_quantize(acc[c], maxval, out.dtype))
    else:
        inv = np.zeros_like(a)
        np.divide(maxval, a, out=inv, where=a >= 0.5 / maxval)  # output alpha 0: colour 0
        for c in range(3):
            np.multiply(acc[c], inv, out=acc[c])   # the accumulator is not needed any more
            planes.append(_quantize(acc[c], 1.0, out.dtype))
    planes.append(_quantize(a, maxval, out.dtype))
    if out.flags.c_contiguous:
        cv2.merge(planes, dst=out)
    else:
        out[...] = cv2.merge(planes)


def _quantize(plane: np.ndarray, scale: float, dtype: np.dtype) -> np.ndarray:
    if dtype == np.uint8:
        return cv2.convertScaleAbs(plane, alpha=scale)  # rounds and saturates
    t = np.multiply(plane, scale, dtype=_F32)
    t += 0.5
    np.clip(t, 0.0, 65535.0, out=t)
    return t.astype(np.uint16)


def unpremultiply_planar(acc: np.ndarray, dtype=np.uint8) -> np.ndarray:
    """HxWx4 straight RGBA of a planar premultiplied float32 accumulator (see :func:`accumulate`).
    Overwrites ``acc``."""
    out = np.empty((acc.shape[1], acc.shape[2], 4), np.dtype(dtype))
    _store(acc, out, premultiplied=False)
    return out
