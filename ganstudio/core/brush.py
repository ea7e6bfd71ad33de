"""Round soft brushes, Qt-free: the canvas and the tests paint with the same code.

    brush = Brush(size=30, hardness=0.5, opacity=0.8, color=(255, 0, 0))
    doc.history.begin("Brush stroke")               # mouse press
    stroke(doc, layer, [(x0, y0), (x1, y1)], brush)  # each mouse move: the new points
    stroke(doc, layer, [(x1, y1), (x2, y2)], brush)
    doc.history.end()                                # mouse release: ONE undo step

Targets: ``"pixels"`` (RasterLayer RGBA, 8 or 16 bit: paint = source-over of the colour, erase =
lower alpha), ``"mask"`` (the layer mask: paint -> 255 shown, erase -> 0 hidden), ``"ai_mask"``
(``doc.ai_mask``, created on first use; paint -> 255, erase -> 0; ``layer`` is ignored),
``"labels"`` (LabelLayer: hard dabs set ``label_id``; erase sets the transparent id).

Points are continuous document coordinates (pixel (i, j) covers [i, i+1) x [j, j+1); a point at
(i + 0.5, j + 0.5) is that pixel's centre). Dabs are stamped along the polyline every
``spacing * size`` pixels; successive ``stroke`` calls inside one open history step continue the
same stroke (spacing carries over, the junction point is not stamped twice).

Opacity is per stroke, as in Photoshop: within one step, overlapping dabs keep the maximum dab
coverage, and each touched pixel is recomputed from its value before the stroke, so a stroke at
50 % opacity never goes above 50 % however often it crosses itself. The selection (if any) scales
the coverage. Memory: coverage and original values are kept per touched 256x256 tile while the
step is open; undo stores only the tiles that changed. Locked layers raise PermissionError.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .blend import erase_alpha, maxval_of, mix_plane, paint_over
from .compositing import composite
from .document import Document
from .geometry import Rect, tile_rect
from .layers import LabelLayer, Layer, RasterLayer

Target = Literal["pixels", "mask", "ai_mask", "labels"]
TARGETS = ("pixels", "mask", "ai_mask", "labels")
MIN_SPACING_PX = 0.5


@dataclass(frozen=True)
class Brush:
    """A round brush. ``size``: diameter in pixels; ``hardness`` 0 (soft) .. 1 (hard, antialiased
    edge); ``opacity`` 0..1 per stroke; ``color`` RGB or RGBA in 8-bit units (scaled for 16-bit
    layers); ``spacing``: dab distance as a fraction of the size; ``mode`` "paint" | "erase"."""

    size: float = 20.0
    hardness: float = 0.8
    opacity: float = 1.0
    color: tuple[int, ...] = (0, 0, 0, 255)
    spacing: float = 0.15
    mode: Literal["paint", "erase"] = "paint"

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise ValueError("brush size must be > 0")
        if self.mode not in ("paint", "erase"):
            raise ValueError(f"brush mode must be 'paint' or 'erase', not {self.mode!r}")
        if len(self.color) not in (3, 4):
            raise ValueError("brush colour must be RGB or RGBA")
        object.__setattr__(self, "hardness", float(min(max(self.hardness, 0.0), 1.0)))
        object.__setattr__(self, "opacity", float(min(max(self.opacity, 0.0), 1.0)))
        object.__setattr__(self, "color", tuple(int(c) for c in self.color))

    @property
    def radius(self) -> float:
        return self.size / 2.0

    @property
    def step(self) -> float:
        """Distance between dab centres in pixels."""
        return max(self.size * self.spacing, MIN_SPACING_PX)

    @property
    def color01(self) -> tuple[float, float, float, float]:
        c = [v / 255.0 for v in self.color]
        return (c[0], c[1], c[2], c[3] if len(c) == 4 else 1.0)


def dab_rect(brush: Brush, cx: float, cy: float) -> Rect:
    """Pixels a dab centred at (cx, cy) may touch (array coordinates, not clipped)."""
    r = brush.radius + 1.0
    return Rect.from_corners(math.floor(cx - r), math.floor(cy - r),
                             math.ceil(cx + r) + 1, math.ceil(cy + r) + 1)


def dab_alpha(brush: Brush, cx: float, cy: float, rect: Rect) -> np.ndarray:
    """Coverage (float32 0..1, shape rect.h x rect.w) of one dab over ``rect``.

    Hardness h keeps full coverage up to h * radius, then falls smoothly (smoothstep) to 0 at the
    radius; when that ramp would be under 1 px the edge is a 1-px antialiased ramp instead.
    """
    ys = (np.arange(rect.y, rect.bottom, dtype=np.float32) + 0.5 - cy)[:, None]
    xs = (np.arange(rect.x, rect.right, dtype=np.float32) + 0.5 - cx)[None, :]
    d = np.sqrt(xs * xs + ys * ys)
    r = brush.radius
    ramp = r * (1.0 - brush.hardness)
    if ramp >= 1.0:
        t = np.clip((r - d) / ramp, 0.0, 1.0)
        return (t * t * (3.0 - 2.0 * t)).astype(np.float32, copy=False)
    return np.clip(r + 0.5 - d, 0.0, 1.0).astype(np.float32, copy=False)


@dataclass
class _StrokeState:
    brush: Brush
    label_id: int | None
    last: tuple[float, float] | None = None
    carry: float = 0.0
    coverage: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    original: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)
    selection: np.ndarray | None = None
    selection_bounds: Rect | None = None

    def advance(self, points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
        """Dab centres for the next part of the polyline (spacing carried over)."""
        out: list[tuple[float, float]] = []
        pts = [(float(x), float(y)) for x, y in points]
        if not pts:
            return out
        step = self.brush.step
        if self.last is None:
            self.last = pts[0]
            self.carry = 0.0
            out.append(pts[0])
            pts = pts[1:]
        for p in pts:
            x0, y0 = self.last
            dx, dy = p[0] - x0, p[1] - y0
            seg = math.hypot(dx, dy)
            if seg == 0.0:
                continue
            t = step - self.carry
            while t <= seg + 1e-9:
                out.append((x0 + dx * t / seg, y0 + dy * t / seg))
                t += step
            self.carry = seg - (t - step)
            self.last = p
        return out


def _resolve(doc: Document, layer: Layer | None, target: str,
             label_id: int | None) -> tuple[Any, str, np.ndarray | None, tuple[int, int]]:
    """(owner, edit target, current array or None, document offset of the array)."""
    if target not in TARGETS:
        raise ValueError(f"unknown brush target {target!r}; use one of {TARGETS}")
    if target == "ai_mask":
        return doc, "ai_mask", doc.ai_mask, (0, 0)
    if layer is None:
        layer = doc.active_layer
    if layer is None:
        raise ValueError("no layer to paint on")
    if layer.locked:
        raise PermissionError(f"layer “{layer.name}” is locked")
    if target == "mask":
        if layer.mask is None:
            raise ValueError(f"layer “{layer.name}” has no mask")
        return layer, "mask", layer.mask, layer.offset
    if isinstance(layer, LabelLayer):
        return layer, "labels", layer.labels, layer.offset
    if target == "labels":
        raise ValueError("the labels target needs a LabelLayer")
    if not isinstance(layer, RasterLayer):
        raise ValueError(f"cannot paint on {layer!r}")
    return layer, "pixels", layer.pixels, layer.offset


def stroke(doc: Document, layer: Layer | None, points: Sequence[tuple[float, float]], brush: Brush,
           target: Target = "pixels", label_id: int | None = None, *,
           label: str = "Brush stroke") -> Rect:
    """Stamp dabs of ``brush`` along ``points`` (document coordinates) on ``target``.

    Returns the changed Rect in document coordinates (empty if nothing was painted). One undo
    step by itself, or part of the caller's open step (``doc.history.begin``/``end``).
    """
    owner, kind, array, offset = _resolve(doc, layer, target, label_id)
    if kind == "labels" and brush.mode == "paint" and label_id is None:
        raise ValueError("painting labels needs label_id")
    if kind == "labels" and brush.mode == "erase" and owner.transparent_id is None:
        raise ValueError("this label layer has no transparent class to erase to")
    shape = (doc.height, doc.width) if array is None else array.shape[:2]
    bounds = Rect(0, 0, shape[1], shape[0])

    with doc.history.transaction(label):
        step = doc.history.open_step
        key = ("brush", id(owner), kind)
        state = None if step is None else step.scratch.get(key)
        if state is None or state.brush != brush or state.label_id != label_id \
                or state.selection is not doc.selection:
            state = _StrokeState(brush, label_id, selection=doc.selection)
            # the selection's bounds: computed once per stroke (a full scan of the mask)
            state.selection_bounds = None if doc.selection is None else doc.selection_bounds()
            if step is not None:
                step.scratch[key] = state
        # selection in array coordinates: only dabs inside its bounds can paint
        limit = bounds
        if state.selection is not None:
            sb = state.selection_bounds
            limit = Rect(0, 0, 0, 0) if sb is None else bounds.intersect(sb.translated(-offset[0], -offset[1]))
        centres = [(x - offset[0], y - offset[1]) for x, y in state.advance(points)]
        rects = []
        for cx, cy in centres:
            r = dab_rect(brush, cx, cy).intersect(limit)
            if not r.is_empty():
                rects.append((cx, cy, r))
        if not rects:
            return Rect(0, 0, 0, 0)
        bbox = Rect(0, 0, 0, 0)
        for _, _, r in rects:
            bbox = bbox.union(r)
        regions = [r for _, _, r in rects]
        if kind == "ai_mask":
            ctx = doc.edit_ai_mask(bbox, label, regions=regions)
        else:
            ctx = doc.edit_pixels(owner, bbox, label, kind, regions=regions)
        with ctx as arr:
            _stamp(doc, state, arr, rects, kind, owner, offset)
    return bbox.translated(*offset)


def accumulate_coverage(state: Any, arr: np.ndarray,
                        rects: list[tuple[float, float, Rect]]) -> dict[tuple[int, int], Rect]:
    """Add the dabs ``rects`` to the stroke's per-tile coverage (max, so a stroke never builds up
    over itself) and keep each touched tile's original pixels the first time; returns the part of
    each tile the dabs touched. Shared by the brush and the clone / heal strokes (``state`` has
    ``brush``, ``coverage`` and ``original``)."""
    brush = state.brush
    bounds = Rect(0, 0, arr.shape[1], arr.shape[0])
    dirty: dict[tuple[int, int], Rect] = {}
    for cx, cy, r in rects:
        alpha = dab_alpha(brush, cx, cy, r)
        for key in r.tiles():
            tr = tile_rect(*key).intersect(bounds)
            part = r.intersect(tr)
            cov = state.coverage.get(key)
            if cov is None:
                cov = state.coverage[key] = np.zeros((tr.h, tr.w), np.float32)
                state.original[key] = arr[tr.slices()].copy()
            dst = cov[part.translated(-tr.x, -tr.y).slices()]
            np.maximum(dst, alpha[part.translated(-r.x, -r.y).slices()], out=dst)
            dirty[key] = dirty.get(key, Rect(0, 0, 0, 0)).union(part)
    return dirty


def _stamp(doc: Document, state: _StrokeState, arr: np.ndarray,
           rects: list[tuple[float, float, Rect]], kind: str, owner: Any,
           offset: tuple[int, int]) -> None:
    brush = state.brush
    bounds = Rect(0, 0, arr.shape[1], arr.shape[0])
    dirty = accumulate_coverage(state, arr, rects)
    sel = doc.selection
    for key, part in dirty.items():
        tr = tile_rect(*key).intersect(bounds)
        local = part.translated(-tr.x, -tr.y).slices()
        a = state.coverage[key][local] * np.float32(brush.opacity)
        if sel is not None:
            a *= _selection_coverage(sel, part.translated(*offset))
        orig = state.original[key][local]
        out = arr[part.slices()]
        if kind == "pixels":
            if brush.mode == "paint":
                paint_over(orig, brush.color01, a, out=out)
            else:
                erase_alpha(orig, a, out=out)
        elif kind in ("mask", "ai_mask"):
            mix_plane(orig, maxval_of(orig) if brush.mode == "paint" else 0.0, a, out=out)
        else:  # labels: hard dabs
            value = state.label_id if brush.mode == "paint" else owner.transparent_id
            np.copyto(out, orig)
            out[a >= 0.5] = value


def _selection_coverage(sel: np.ndarray, doc_rect: Rect) -> np.ndarray:
    """Selection (0..1 float32) over ``doc_rect``; 0 outside the canvas."""
    out = np.zeros((doc_rect.h, doc_rect.w), np.float32)
    inter = doc_rect.intersect(Rect(0, 0, sel.shape[1], sel.shape[0]))
    if not inter.is_empty():
        np.multiply(sel[inter.slices()], 1.0 / 255.0,
                    out=out[inter.translated(-doc_rect.x, -doc_rect.y).slices()], dtype=np.float32)
    return out


def pick_color(doc: Document, x: float, y: float, sample: Literal["composite", "layer"] = "composite",
               layer: Layer | None = None) -> tuple[int, int, int, int]:
    """Colour under document point (x, y) as 8-bit straight RGBA: of the composite, or of
    ``layer`` (default the active layer). Outside the canvas / layer: (0, 0, 0, 0)."""
    px, py = math.floor(x), math.floor(y)
    if sample == "composite":
        if doc.bounds.intersect(Rect(px, py, 1, 1)).is_empty():
            return (0, 0, 0, 0)
        v = composite(doc, Rect(px, py, 1, 1))[0, 0]
        return (int(v[0]), int(v[1]), int(v[2]), int(v[3]))
    if sample != "layer":
        raise ValueError(f"sample must be 'composite' or 'layer', not {sample!r}")
    layer = doc.active_layer if layer is None else layer
    if layer is None:
        return (0, 0, 0, 0)
    lx, ly = px - layer.offset[0], py - layer.offset[1]
    if not (0 <= lx < layer.width and 0 <= ly < layer.height):
        return (0, 0, 0, 0)
    v = layer.rgba(Rect(lx, ly, 1, 1))[0, 0]
    if v.dtype == np.uint16:
        v = (v.astype(np.uint32) * 255 + 32767) // 65535
    return (int(v[0]), int(v[1]), int(v[2]), int(v[3]))


__all__ = ["Brush", "stroke", "pick_color", "dab_alpha", "dab_rect", "TARGETS"]
