"""Clone stamp and healing brush (Krita / GIMP / Photoshop), Qt-free.

    offset = (src_x - x0, src_y - y0)            # source point minus the stroke's first point
    doc.history.begin("Clone")
    clone_stroke(doc, layer, [(x0, y0)], brush, offset)            # mouse press
    clone_stroke(doc, layer, [(x0, y0), (x1, y1)], brush, offset)  # each mouse move
    heal_stroke(doc, layer)                      # healing brush only: blend into the surroundings
    doc.history.end()                            # ONE undo step

``clone_stroke`` stamps the brush's dabs (core.brush: size, hardness, spacing, per-stroke opacity
with the maximum coverage of overlapping dabs) and composites the *source* pixels under each dab
- the pixel at ``dest + offset`` as it was when the stroke began, so a stroke never clones what it
has just painted - source-over onto the destination. ``sample_merged`` takes the source from the
composite of the canvas as it was when the stroke started (composited lazily, tile by tile, each
tile before the stroke first paints over it) instead of the layer itself. The selection
limits the stroke, layer offsets are honoured, 8 and 16-bit layers work; label layers clone class
ids (hard dabs, coverage >= 50 %); locked layers raise PermissionError.

``heal_stroke`` (the healing brush) then replaces the painted area by a Poisson blend: the source
texture plus the membrane (harmonic) interpolation of the colour difference along the area's
border, solved coarse-to-fine with Jacobi iterations (numpy + OpenCV resizes, any bit depth),
so the cloned texture takes the colour and lighting of its new surroundings. ``coverage_of`` and
``blend_patch`` serve the window's "heal with the inpainting model" mode (the painted area as a
mask for the inpainting job, then its result blended into the layer as one undo step).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .blend import maxval_of
from .brush import Brush, _StrokeState, dab_alpha, dab_rect
from .compositing import composite
from .document import Document
from .geometry import Rect, tile_rect
from .layers import LabelLayer, Layer, RasterLayer


@dataclass
class _CloneState(_StrokeState):
    offset: tuple[int, int] = (0, 0)
    #: sample merged: composite tiles (document tile key -> RGBA) as they were before the stroke
    #: touched them; composited lazily, each one before the layer under it is first written
    merged: dict | None = None
    doc: Document | None = None
    dtype: type = np.uint8
    layer_offset: tuple[int, int] = (0, 0)
    bbox: Rect = Rect(0, 0, 0, 0)            # everything painted so far (layer coordinates)


def _resolve(doc: Document, layer: Layer | None) -> Layer:
    layer = doc.active_layer if layer is None else layer
    if layer is None:
        raise ValueError("no layer to clone on")
    if layer.is_group:
        raise ValueError("the clone brush paints on a layer, not on a group")
    if layer.locked or doc.is_locked(layer):
        raise PermissionError(f"layer “{layer.name}” is locked")
    if not isinstance(layer, (RasterLayer, LabelLayer)):
        raise ValueError(f"cannot clone on {layer!r}")
    return layer


def _state(doc: Document, layer: Layer, brush: Brush, offset: tuple[int, int],
           sample_merged: bool) -> _CloneState:
    step = doc.history.open_step
    key = ("clone", id(layer))
    state = None if step is None else step.scratch.get(key)
    if state is None or state.brush != brush or state.offset != offset \
            or state.selection is not doc.selection:
        prev = state
        state = _CloneState(brush, None, selection=doc.selection, offset=offset,
                            layer_offset=layer.offset)
        if prev is not None:   # same stroke, new settings: keep what it already touched
            state.coverage, state.original, state.merged = prev.coverage, prev.original, prev.merged
            state.bbox = prev.bbox
        state.selection_bounds = None if doc.selection is None else doc.selection_bounds()
        if sample_merged and state.merged is None and isinstance(layer, RasterLayer):
            state.merged, state.doc, state.dtype = {}, doc, layer.pixels.dtype
        if step is not None:
            step.scratch[key] = state
    return state


def _original(state: _CloneState, arr: np.ndarray, rect: Rect) -> tuple[np.ndarray, np.ndarray]:
    """The layer's pixels of ``rect`` (layer coordinates) as they were before the stroke, and
    where they exist (inside the layer)."""
    shape = (rect.h, rect.w) + arr.shape[2:]
    out = np.zeros(shape, arr.dtype)
    valid = np.zeros((rect.h, rect.w), bool)
    bounds = Rect(0, 0, arr.shape[1], arr.shape[0])
    inter = rect.intersect(bounds)
    if inter.is_empty():
        return out, valid
    loc = inter.translated(-rect.x, -rect.y)
    out[loc.slices()] = arr[inter.slices()]
    valid[loc.slices()] = True
    for key in inter.tiles():
        orig = state.original.get(key)
        if orig is None:
            continue
        tr = tile_rect(*key).intersect(bounds)
        part = inter.intersect(tr)
        out[part.translated(-rect.x, -rect.y).slices()] = orig[part.translated(-tr.x, -tr.y).slices()]
    return out, valid


def _ensure_merged(state: _CloneState, doc_rect: Rect) -> None:
    """Composite the canvas tiles under ``doc_rect`` that are not cached yet (sample merged)."""
    if state.merged is None or state.doc is None:
        return
    bounds = state.doc.bounds
    for key in doc_rect.intersect(bounds).tiles():
        if key not in state.merged:
            state.merged[key] = composite(state.doc, tile_rect(*key).intersect(bounds),
                                          dtype=state.dtype)


def _source(state: _CloneState, arr: np.ndarray, rect: Rect) -> tuple[np.ndarray, np.ndarray]:
    """Source pixels for destination ``rect`` (layer coordinates) and where they exist."""
    dx, dy = state.offset
    if state.merged is None or state.doc is None:
        return _original(state, arr, rect.translated(dx, dy))
    ox, oy = state.layer_offset
    src = rect.translated(dx + ox, dy + oy)       # document coordinates
    out = np.zeros((rect.h, rect.w, 4), state.dtype)
    valid = np.zeros((rect.h, rect.w), bool)
    bounds = state.doc.bounds
    inter = src.intersect(bounds)
    if not inter.is_empty():
        _ensure_merged(state, inter)
        for key in inter.tiles():
            tr = tile_rect(*key).intersect(bounds)
            part = inter.intersect(tr)
            out[part.translated(-src.x, -src.y).slices()] = \
                state.merged[key][part.translated(-tr.x, -tr.y).slices()]
        valid[inter.translated(-src.x, -src.y).slices()] = True
    return out, valid


def _over(dst: np.ndarray, src: np.ndarray, a: np.ndarray, out: np.ndarray) -> None:
    """Source-over of straight RGBA ``src`` with coverage ``a`` onto straight RGBA ``dst``."""
    maxv = maxval_of(dst)
    sa = np.multiply(src[..., 3], 1.0 / maxv, dtype=np.float32) * a
    da = np.multiply(dst[..., 3], 1.0 / maxv, dtype=np.float32)
    keep = (1.0 - sa) * da
    oa = sa + keep
    inv = np.zeros_like(oa)
    np.divide(1.0, oa, out=inv, where=oa > 0)
    for c in range(3):
        v = (src[..., c].astype(np.float32) * sa + dst[..., c].astype(np.float32) * keep) * inv
        v += 0.5
        np.clip(v, 0, maxv, out=v)
        out[..., c] = np.where(oa > 0, v, dst[..., c])
    oa *= maxv
    oa += 0.5
    np.clip(oa, 0, maxv, out=oa)
    out[..., 3] = oa


def clone_stroke(doc: Document, layer: Layer | None, points: Sequence[tuple[float, float]],
                 brush: Brush, offset: tuple[float, float], *, sample_merged: bool = False,
                 label: str = "Clone") -> Rect:
    """Stamp the source at ``dest + offset`` along ``points`` (document coordinates). Returns the
    changed rect (document coordinates). One undo step, or part of the caller's open step."""
    layer = _resolve(doc, layer)
    off = (int(round(offset[0])), int(round(offset[1])))
    arr = layer.data
    bounds = Rect(0, 0, arr.shape[1], arr.shape[0])
    lx, ly = layer.offset
    with doc.history.transaction(label):
        state = _state(doc, layer, brush, off, sample_merged)
        limit = bounds
        if state.selection is not None:
            sb = state.selection_bounds
            limit = Rect(0, 0, 0, 0) if sb is None else bounds.intersect(sb.translated(-lx, -ly))
        rects = []
        for cx, cy in state.advance(points):
            r = dab_rect(brush, cx - lx, cy - ly).intersect(limit)
            if not r.is_empty():
                rects.append((cx - lx, cy - ly, r))
        if not rects:
            return Rect(0, 0, 0, 0)
        bbox = Rect(0, 0, 0, 0)
        for _, _, r in rects:
            bbox = bbox.union(r)
        state.bbox = state.bbox.union(bbox)
        with doc.edit_pixels(layer, bbox, label, regions=[r for _, _, r in rects]) as arr:
            _stamp(doc, state, arr, rects, isinstance(layer, LabelLayer), (lx, ly))
    return bbox.translated(lx, ly)


def _stamp(doc: Document, state: _CloneState, arr: np.ndarray,
           rects: list[tuple[float, float, Rect]], is_label: bool, offset: tuple[int, int]) -> None:
    from .brush import _selection_coverage, accumulate_coverage

    brush = state.brush
    bounds = Rect(0, 0, arr.shape[1], arr.shape[0])
    dirty = accumulate_coverage(state, arr, rects)
    sel = doc.selection
    # sample merged: the canvas under what is about to be written is composited first (as it
    # was before the stroke); then every source is read before anything is written, since a
    # dirty tile written below may be another one's source
    for part in dirty.values():
        _ensure_merged(state, part.translated(*offset))
    sources = {key: _source(state, arr, part) for key, part in dirty.items()}
    for key, part in dirty.items():
        tr = tile_rect(*key).intersect(bounds)
        local = part.translated(-tr.x, -tr.y).slices()
        a = state.coverage[key][local] * np.float32(brush.opacity)
        if sel is not None:
            a *= _selection_coverage(sel, part.translated(*offset))
        src, valid = sources[key]
        a[~valid] = 0.0
        orig = state.original[key][local]
        out = arr[part.slices()]
        if is_label:
            np.copyto(out, orig)
            take = a >= 0.5
            out[take] = src[take]
        else:
            _over(orig, src, a, out)


# -- healing --------------------------------------------------------------------------------------
def harmonic_fill(values: np.ndarray, known: np.ndarray, iterations: int = 60) -> np.ndarray:
    """Solve Laplace's equation for the unknown pixels of ``values`` (HxWxC float32), the
    ``known`` ones (HxW bool) being fixed: membrane interpolation, coarse-to-fine Jacobi."""
    h, w = known.shape
    vals = values.astype(np.float32, copy=True)
    if known.all():
        return vals
    if not known.any():
        vals[...] = 0.0
        return vals
    if min(h, w) > 8:
        k = known.astype(np.float32)
        ch, cw = (h + 1) // 2, (w + 1) // 2
        ksum = cv2.resize(k, (cw, ch), interpolation=cv2.INTER_AREA)
        vsum = cv2.resize(vals * k[..., None], (cw, ch), interpolation=cv2.INTER_AREA)
        if vsum.ndim == 2:
            vsum = vsum[..., None]
        ck = ksum > 0
        cvals = np.zeros_like(vsum)
        cvals[ck] = vsum[ck] / ksum[ck][:, None]
        coarse = harmonic_fill(cvals, ck, iterations)
        up = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
        if up.ndim == 2:
            up = up[..., None]
        vals[~known] = up[~known]
    else:
        vals[~known] = vals[known].mean(axis=0)
    kernel = np.array([[0, 0.25, 0], [0.25, 0, 0.25], [0, 0.25, 0]], np.float32)
    unknown = ~known
    for _ in range(iterations):
        avg = cv2.filter2D(vals, -1, kernel, borderType=cv2.BORDER_REPLICATE)
        if avg.ndim == 2:
            avg = avg[..., None]
        vals[unknown] = avg[unknown]
    return vals


def poisson_blend(source: np.ndarray, target: np.ndarray, region: np.ndarray) -> np.ndarray:
    """``source`` (HxWxC) placed over ``target`` inside ``region`` (HxW bool) with the border
    difference spread smoothly over it (Poisson image editing with the source gradients).
    Returns float32 HxWxC; outside ``region`` it equals ``target``."""
    src = source.astype(np.float32)
    dst = target.astype(np.float32)
    diff = harmonic_fill(dst - src, ~region)
    out = dst.copy()
    out[region] = src[region] + diff[region]
    return out


def heal_stroke(doc: Document, layer: Layer | None = None, *, label: str = "Heal") -> Rect | None:
    """The healing brush's finishing pass over the clone stroke open in ``doc.history`` (between
    ``begin`` and ``end``): the painted area is Poisson-blended into its surroundings. Returns the
    changed rect (document coordinates) or None when nothing was painted."""
    layer = _resolve(doc, layer)
    step = doc.history.open_step
    state = None if step is None else step.scratch.get(("clone", id(layer)))
    if state is None or state.bbox.is_empty():
        return None
    if isinstance(layer, LabelLayer):
        return state.bbox.translated(*layer.offset)    # class ids are not blended
    arr = layer.pixels
    bounds = Rect(0, 0, arr.shape[1], arr.shape[0])
    box = state.bbox.expanded(2).intersect(bounds)
    cov = np.zeros((box.h, box.w), np.float32)
    for key, c in state.coverage.items():
        tr = tile_rect(*key).intersect(bounds)
        part = tr.intersect(box)
        if not part.is_empty():
            cov[part.translated(-box.x, -box.y).slices()] = c[part.translated(-tr.x, -tr.y).slices()]
    a = cov * np.float32(state.brush.opacity)
    if state.selection is not None:
        from .brush import _selection_coverage

        a *= _selection_coverage(state.selection, box.translated(*layer.offset))
    src, valid = _source(state, arr, box)
    orig, _ = _original(state, arr, box)
    a[~valid] = 0.0
    region = a > 0
    if not region.any():
        return None
    healed = poisson_blend(src, orig, region)
    maxv = maxval_of(arr)
    out = orig.astype(np.float32)
    out += (healed - out) * a[..., None]
    np.clip(out + 0.5, 0, maxv, out=out)
    with doc.edit_pixels(layer, box, label) as px:
        px[box.slices()] = out.astype(arr.dtype)
    return box.translated(*layer.offset)


# -- heal with an inpainting model (the window runs the job) ----------------------------------------
def coverage_of(width: int, height: int, points: Sequence[tuple[float, float]],
                brush: Brush) -> np.ndarray:
    """HxW uint8 coverage (255 = fully painted) of a brush stroke along ``points``."""
    out = np.zeros((height, width), np.float32)
    state = _StrokeState(brush, None)
    bounds = Rect(0, 0, width, height)
    for cx, cy in state.advance(points):
        r = dab_rect(brush, cx, cy).intersect(bounds)
        if not r.is_empty():
            np.maximum(out[r.slices()], dab_alpha(brush, cx, cy, r), out=out[r.slices()])
    return np.rint(out * 255.0).astype(np.uint8)


def blend_patch(doc: Document, layer: Layer | None, rect: Rect, image: np.ndarray,
                weight: np.ndarray, *, label: str = "Heal") -> Rect | None:
    """Blend ``image`` (RGB / RGBA of ``rect``, document coordinates, same bit depth as the layer or
    8-bit) into ``layer`` by ``weight`` (float 0..1 or uint8, rect.h x rect.w); one undo step.
    The selection limits it. Returns the changed rect (layer coordinates) or None."""
    layer = _resolve(doc, layer)
    if not isinstance(layer, RasterLayer):
        raise ValueError("healing works on raster layers")
    inter = rect.intersect(layer.bounds).intersect(doc.bounds)
    if inter.is_empty():
        return None
    loc = inter.translated(-rect.x, -rect.y)
    img = np.asarray(image)[loc.slices()]
    wsrc = np.asarray(weight)
    w = wsrc[loc.slices()].astype(np.float32)
    if wsrc.dtype == np.uint8:
        w *= np.float32(1.0 / 255.0)
    if doc.selection is not None:
        w = w * np.multiply(doc.selection[inter.slices()], 1.0 / 255.0, dtype=np.float32)
    if not (w > 0).any():
        return None
    maxv = maxval_of(layer.pixels)
    scale = maxv / maxval_of(img) if img.dtype in (np.uint8, np.uint16) else 1.0
    lrect = layer.to_layer_rect(inter)
    with doc.edit_pixels(layer, lrect, label) as px:
        dst = px[lrect.slices()]
        cur = dst.astype(np.float32)
        new = cur.copy()
        new[..., :3] = img[..., :3].astype(np.float32) * scale
        if img.shape[2] == 4:
            new[..., 3] = img[..., 3].astype(np.float32) * scale
        cur += (new - cur) * w[..., None]
        np.clip(cur + 0.5, 0, maxv, out=cur)
        dst[...] = cur.astype(dst.dtype)
    return lrect


def heal_inpaint(doc: Document, layer: Layer | None, mask: np.ndarray, *, radius: int = 5,
                 label: str = "Heal") -> Rect | None:
    """Spot healing without a source: the masked area (HxW uint8 canvas mask, soft edges blend)
    of ``layer`` is filled from its surroundings with OpenCV's Telea inpainting (8-bit colour at
    once, 16-bit per channel); alpha is kept; one undo step. The fallback of the window's "heal
    with the inpainting model" for small strokes. Returns the changed rect (layer coordinates)."""
    from .selection import mask_bounds

    layer = _resolve(doc, layer)
    if not isinstance(layer, RasterLayer):
        raise ValueError("healing works on raster layers")
    b = mask_bounds(mask)
    if b is None:
        return None
    margin = max(16, 4 * radius)
    region = b.expanded(margin).intersect(layer.bounds).intersect(doc.bounds)
    if region.is_empty():
        return None
    lrect = layer.to_layer_rect(region)
    m = np.ascontiguousarray(mask[region.slices()])
    px = layer.pixels[lrect.slices()]
    hard = (m > 0).astype(np.uint8) * 255
    if px.dtype == np.uint8:
        rgb = cv2.inpaint(np.ascontiguousarray(px[..., :3]), hard, radius, cv2.INPAINT_TELEA)
    else:
        rgb = np.dstack([cv2.inpaint(np.ascontiguousarray(px[..., c]), hard, radius,
                                     cv2.INPAINT_TELEA) for c in range(3)])
    patch = px.copy()
    patch[..., :3] = rgb
    return blend_patch(doc, layer, region, patch, m, label=label)


__all__ = ["clone_stroke", "heal_stroke", "poisson_blend", "harmonic_fill", "coverage_of",
           "blend_patch", "heal_inpaint"]
