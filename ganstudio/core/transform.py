"""Geometry transforms of the image and of one layer (Image menu, Layer > Transform), each one
undo step.

    rotate_image(doc, turns)        turns: 1 = 90° clockwise, -1 = 90° counter-clockwise, 2 = 180°
    flip_image(doc, axis)           axis: "horizontal" (mirror left-right) | "vertical"
    rotate_layer(doc, turns, layer=None)   flip_layer(doc, axis, layer=None)
    affine_transform_layer(doc, matrix, layer=None, *, method="bicubic") -> Rect
    transform_selection(doc, matrix, layer=None, *, method="bicubic") -> Rect   (selected pixels)
    prepare_transform(doc, matrix, layer, method=, selected=) -> Transformed   (no change; a worker)
    commit_transform(doc, transformed, label) -> Rect                          (one undo step)
    free_transform_matrix(center, scale_x, scale_y, angle_deg, translate) -> 2x3 matrix

The quarter turns and flips are exact (``np.rot90`` / reversed views, no resampling) and move
everything of the image: every layer (pixels, labels, masks, offsets, locked layers too, as crop
does), the selection and the AI mask. The layer variants turn the layer (pixels and mask) about
its own centre and refuse a locked layer (PermissionError).

``affine_transform_layer`` is the free transform (Ctrl+T): ``matrix`` (2x3, document coordinates,
source -> destination, pixel (i, j) covering [i, i+1) x [j, j+1)) is resampled with OpenCV in
premultiplied float32 (no dark fringes), 16-bit kept, the layer mask transformed with it (outside
the old bounds: hidden), a label layer by nearest neighbour (outside: its transparent class).
Shrinking by more than 2x is prefiltered with an area average so the result does not alias.
numpy + OpenCV only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .document import Document, LayerData
from .geometry import Rect
from .layers import LabelLayer, Layer

__all__ = ["rotate_image", "flip_image", "rotate_layer", "flip_layer", "affine_transform_layer",
           "transform_selection", "Transformed", "prepare_transform", "commit_transform",
           "free_transform_matrix", "rotate_array", "flip_array", "transformed_bounds"]

AXES = ("horizontal", "vertical")
_TURN_LABELS = {1: "Rotate 90° clockwise", 3: "Rotate 90° counter-clockwise", 2: "Rotate 180°"}


def _turns(turns: int) -> int:
    t = int(turns) % 4
    if t == 0:
        raise ValueError("rotation must be a quarter turn (1, 2 or -1)")
    return t


def rotate_array(a: np.ndarray, turns: int) -> np.ndarray:
    """``a`` (HxW or HxWxC) turned ``turns`` quarter turns clockwise (a fresh contiguous copy)."""
    return np.ascontiguousarray(np.rot90(a, k=-(int(turns) % 4), axes=(0, 1)))


def flip_array(a: np.ndarray, axis: str) -> np.ndarray:
    """``a`` mirrored left-right ("horizontal") or top-bottom ("vertical"), a fresh copy."""
    if axis not in AXES:
        raise ValueError(f"flip axis must be one of {AXES}, got {axis!r}")
    return np.ascontiguousarray(a[:, ::-1] if axis == "horizontal" else a[::-1])


def _rotated_rect(r: Rect, turns: int, w: int, h: int) -> tuple[int, int]:
    """New top-left of rect ``r`` of a ``w`` x ``h`` frame after ``turns`` clockwise turns."""
    if turns == 1:      # (x, y) -> (h - y, x)
        return h - r.bottom, r.x
    if turns == 3:      # (x, y) -> (y, w - x)
        return r.y, w - r.right
    return w - r.right, h - r.bottom


def _flipped_rect(r: Rect, axis: str, w: int, h: int) -> tuple[int, int]:
    return (w - r.right, r.y) if axis == "horizontal" else (r.x, h - r.bottom)


def _opt(a: np.ndarray | None, fn) -> np.ndarray | None:  # noqa: ANN001
    return None if a is None else fn(a)


# -- the whole image -------------------------------------------------------------------------------
def rotate_image(doc: Document, turns: int) -> None:
    """Turn the image by quarter turns (1 = 90° clockwise, -1 = counter-clockwise, 2 = 180°):
    every layer, mask, offset, the selection and the AI mask; 90° swaps the canvas size."""
    t = _turns(turns)
    w, h = doc.size
    layers = {}
    for la in doc.layers:
        layers[la] = LayerData(rotate_array(la.data, t), _opt(la.mask, lambda m: rotate_array(m, t)),
                               _rotated_rect(la.bounds, t, w, h))
    size = (h, w) if t % 2 else (w, h)
    if t == 2:
        transform = (float(w), float(h), -1.0, -1.0)   # (x, y) -> (w - x, h - y)
    elif size != (w, h):
        transform = None                               # not a scale + shift: jobs refuse
    else:
        transform = (0.0, 0.0, 0.0, 0.0)               # square image: a new frame all the same
    doc.replace_contents(_TURN_LABELS[t], size=size, layers=layers,
                         selection=_opt(doc.selection, lambda m: rotate_array(m, t)),
                         ai_mask=_opt(doc.ai_mask, lambda m: rotate_array(m, t)),
                         transform=transform)


def flip_image(doc: Document, axis: str) -> None:
    """Mirror the whole image left-right (``"horizontal"``) or top-bottom (``"vertical"``)."""
    w, h = doc.size
    layers = {la: LayerData(flip_array(la.data, axis), _opt(la.mask, lambda m: flip_array(m, axis)),
                            _flipped_rect(la.bounds, axis, w, h)) for la in doc.layers}
    transform = (float(w), 0.0, -1.0, 1.0) if axis == "horizontal" else (0.0, float(h), 1.0, -1.0)
    doc.replace_contents(f"Flip image {axis}ly", layers=layers,
                         selection=_opt(doc.selection, lambda m: flip_array(m, axis)),
                         ai_mask=_opt(doc.ai_mask, lambda m: flip_array(m, axis)),
                         transform=transform)


# -- one layer -------------------------------------------------------------------------------------
def _layer(doc: Document, layer: Layer | None) -> Layer:
    layer = doc.active_layer if layer is None else layer
    if layer is None:
        raise ValueError("there is no active layer to transform (select a layer, not a group)")
    doc.index_of(layer)
    if layer.locked or doc.is_locked(layer):
        raise PermissionError(f"layer “{layer.name}” is locked")
    return layer


def rotate_layer(doc: Document, turns: int, layer: Layer | None = None) -> None:
    """Turn one layer (pixels and mask) by quarter turns about its centre. One undo step."""
    layer = _layer(doc, layer)
    t = _turns(turns)
    b = layer.bounds
    cx2, cy2 = 2 * b.x + b.w, 2 * b.y + b.h            # twice the centre (integers)
    nw, nh = (b.h, b.w) if t % 2 else (b.w, b.h)
    offset = ((cx2 - nw) // 2, (cy2 - nh) // 2)
    doc.replace_contents(f"{_TURN_LABELS[t]} (layer)", layers={layer: LayerData(
        rotate_array(layer.data, t), _opt(layer.mask, lambda m: rotate_array(m, t)), offset)})


def flip_layer(doc: Document, axis: str, layer: Layer | None = None) -> None:
    """Mirror one layer (pixels and mask) in place. One undo step."""
    layer = _layer(doc, layer)
    doc.replace_contents(f"Flip layer {axis}ly", layers={layer: LayerData(
        flip_array(layer.data, axis), _opt(layer.mask, lambda m: flip_array(m, axis)))})


# -- free transform --------------------------------------------------------------------------------
def free_transform_matrix(center: tuple[float, float], scale_x: float = 1.0, scale_y: float = 1.0,
                          angle_deg: float = 0.0,
                          translate: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """2x3 matrix: scale about ``center``, rotate about it (degrees, clockwise on screen, y down),
    then move by ``translate``: ``T(center + translate) R(angle) S(sx, sy) T(-center)``."""
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    lin = np.array([[c, -s], [s, c]]) @ np.diag([float(scale_x), float(scale_y)])
    cx, cy = float(center[0]), float(center[1])
    t = np.array([cx + translate[0], cy + translate[1]]) - lin @ np.array([cx, cy])
    return np.hstack([lin, t[:, None]])


def transformed_bounds(rect: Rect, matrix: np.ndarray) -> Rect:
    """The integer rect covering ``rect`` (document coordinates) mapped by ``matrix``."""
    m = np.asarray(matrix, np.float64).reshape(2, 3)
    corners = np.array([[rect.x, rect.y], [rect.right, rect.y], [rect.x, rect.bottom],
                        [rect.right, rect.bottom]], np.float64)
    pts = corners @ m[:, :2].T + m[:, 2]
    x0, y0 = np.floor(pts.min(axis=0) + 1e-6)
    x1, y1 = np.ceil(pts.max(axis=0) - 1e-6)
    return Rect.from_corners(int(x0), int(y0), max(int(x1), int(x0) + 1), max(int(y1), int(y0) + 1))


_INTERP = {"bicubic": cv2.INTER_CUBIC, "bilinear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST}
MAX_PIXELS = 400_000_000


@dataclass
class Transformed:
    """A free transform computed but not applied yet (:func:`prepare_transform`); the heavy part
    can run on a worker thread, :func:`commit_transform` applies it on the GUI thread."""

    layer: Layer
    source: np.ndarray              # the layer array it was computed from
    data: np.ndarray
    mask: np.ndarray | None
    bounds: Rect                    # the layer's new document rect
    selection: np.ndarray | None = None
    moves_selection: bool = False


def prepare_transform(doc: Document, matrix: np.ndarray, layer: Layer | None = None, *,
                      method: str = "bicubic", selected: bool = False) -> Transformed:
    """Compute the free transform of ``layer`` (``selected``: of its selected pixels, see
    :func:`transform_selection`) without changing the document."""
    layer = _layer(doc, layer)
    m = _check_matrix(matrix, method)
    if selected and doc.selection is not None:
        return _prepare_selection(doc, m, layer, method)
    b = layer.bounds
    if np.allclose(m[:, :2], np.eye(2), atol=1e-9) and np.allclose(m[:, 2], np.round(m[:, 2]), atol=1e-6):
        dx, dy = int(round(m[0, 2])), int(round(m[1, 2]))
        return Transformed(layer, layer.data, layer.data, layer.mask, b.translated(dx, dy))
    nb, data, new_mask = _warp_layer(layer, layer.data, layer.mask, b, m, method)
    return Transformed(layer, layer.data, np.ascontiguousarray(data), new_mask, nb)


def commit_transform(doc: Document, t: Transformed, label: str = "Free transform") -> Rect:
    """Apply a :class:`Transformed` as one undo step (ValueError when the layer changed since)."""
    layer = t.layer
    if not doc.contains(layer) or layer.data is not t.source:
        raise ValueError(f"“{layer.name}” changed while it was being transformed; try again")
    _layer(doc, layer)
    ld = LayerData(t.data, t.mask, (t.bounds.x, t.bounds.y))
    if t.moves_selection:
        doc.replace_contents(label, layers={layer: ld}, selection=t.selection)
    else:
        doc.replace_contents(label, layers={layer: ld})
    return t.bounds


def affine_transform_layer(doc: Document, matrix: np.ndarray, layer: Layer | None = None, *,
                           method: str = "bicubic", label: str = "Free transform") -> Rect:
    """Resample ``layer`` through ``matrix`` (2x3, document coordinates, source -> destination).

    Returns the layer's new bounds. A pure whole-pixel move only changes the offset (exact).
    One undo step; locked layers raise PermissionError, a singular matrix ValueError."""
    return commit_transform(doc, prepare_transform(doc, matrix, layer, method=method), label)


def _check_matrix(matrix: np.ndarray, method: str) -> np.ndarray:
    if method not in _INTERP:
        raise ValueError(f"unknown resampling method {method!r}; use one of {tuple(_INTERP)}")
    m = np.asarray(matrix, np.float64).reshape(2, 3)
    if abs(np.linalg.det(m[:, :2])) < 1e-9:
        raise ValueError("the transform squashes the layer to nothing")
    return m


def _warp_layer(layer: Layer, src: np.ndarray, mask: np.ndarray | None, b: Rect, m: np.ndarray,
                method: str) -> tuple[Rect, np.ndarray, np.ndarray | None]:
    """Warp ``src`` (the layer's kind of array) lying at document rect ``b`` through ``m``:
    (new bounds, new array, new mask or None)."""
    lin = m[:, :2]
    nb = transformed_bounds(b, m)
    if nb.w * nb.h > MAX_PIXELS:
        raise ValueError(f"the transformed layer would be {nb.w}x{nb.h} pixels, too large")
    # source pixel coordinates -> destination pixel coordinates (pixel centres at i + 0.5)
    # dst = M (src + off + .5) - noff - .5
    to_src = np.array([[1, 0, b.x + 0.5], [0, 1, b.y + 0.5], [0, 0, 1]], np.float64)
    from_dst = np.array([[1, 0, -nb.x - 0.5], [0, 1, -nb.y - 0.5], [0, 0, 1]], np.float64)
    pm = from_dst @ np.vstack([m, [0, 0, 1]]) @ to_src
    label_layer = isinstance(layer, LabelLayer)
    if not label_layer and method != "nearest":
        # prefilter big reductions (the warp itself samples only 4x4 neighbours)
        fx = float(np.hypot(*lin[:, 0]))
        fy = float(np.hypot(*lin[:, 1]))
        if fx < 0.5 or fy < 0.5:
            sw = max(1, int(round(src.shape[1] * min(1.0, fx * 2))))
            sh = max(1, int(round(src.shape[0] * min(1.0, fy * 2))))
            kx, ky = sw / src.shape[1], sh / src.shape[0]
            premul = _premul_resize(src, (sw, sh))
            if mask is not None:
                mask = cv2.resize(mask, (sw, sh), interpolation=cv2.INTER_AREA)
            # pixel centres of the reduced source: u' + .5 = (u + .5) * k
            shrink = np.array([[1 / kx, 0, 0.5 / kx - 0.5], [0, 1 / ky, 0.5 / ky - 0.5], [0, 0, 1]])
            pm = pm @ shrink
        else:
            premul = _premultiply(src)
        data = _warp_rgba(premul, pm[:2], (nb.w, nb.h), _INTERP[method], src.dtype)
    elif label_layer:
        if layer.transparent_id is None:
            raise ValueError(f"label layer “{layer.name}” has no transparent class to fill around "
                             "the transformed labels with")
        data = cv2.warpAffine(src, pm[:2], (nb.w, nb.h), flags=cv2.INTER_NEAREST,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=int(layer.transparent_id))
    else:
        data = _warp_rgba(_premultiply(src), pm[:2], (nb.w, nb.h), cv2.INTER_NEAREST, src.dtype)
    new_mask = None
    if mask is not None:
        interp = cv2.INTER_NEAREST if (label_layer or method == "nearest") else cv2.INTER_LINEAR
        new_mask = cv2.warpAffine(mask, pm[:2], (nb.w, nb.h), flags=interp,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return nb, data, new_mask


def _warp_plane(plane: np.ndarray, m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A canvas-sized uint8 plane (selection) through ``m`` onto a canvas of ``size``."""
    pm = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]]) @ np.vstack([m, [0, 0, 1]]) \
        @ np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])
    return cv2.warpAffine(plane, pm[:2], size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def transform_selection(doc: Document, matrix: np.ndarray, layer: Layer | None = None, *,
                        method: str = "bicubic", label: str = "Free transform") -> Rect:
    """Free transform of the *selected* pixels of ``layer`` (Ctrl+T with a selection, as in
    Photoshop / Krita / GIMP): the selected part (soft edges partly) is lifted, resampled through
    ``matrix`` and composited over what stays; the selection moves with it. The layer grows to
    hold the result. One undo step; returns the layer's new bounds. Label layers move whole
    pixels (selected >= 50 %, nearest); a layer with a mask is refused (apply or delete it first)."""
    return commit_transform(doc, prepare_transform(doc, matrix, layer, method=method, selected=True),
                            label)


def _prepare_selection(doc: Document, m: np.ndarray, layer: Layer, method: str) -> Transformed:
    if layer.mask is not None:
        raise ValueError(f"“{layer.name}” has a layer mask: apply or delete it before transforming "
                         "a selection of it (or deselect to transform the whole layer)")
    from .operations import selection_in_layer

    b = layer.bounds
    cover = selection_in_layer(doc, layer)             # HxW uint8, the layer's own pixels
    if not cover.any():
        raise ValueError("the selection does not touch this layer")
    label_layer = isinstance(layer, LabelLayer)
    if label_layer:
        if layer.transparent_id is None:
            raise ValueError(f"label layer “{layer.name}” has no transparent class to leave behind")
        tid = layer.labels.dtype.type(layer.transparent_id)
        picked = cover >= 128
        lifted = np.where(picked, layer.labels, tid)
        stays = np.where(picked, tid, layer.labels)
    else:
        maxv = _maxv(layer.data.dtype)
        c = cover.astype(np.float32) * (1.0 / 255.0)
        a = layer.data[..., 3].astype(np.float32)
        lifted = layer.data.copy()
        lifted[..., 3] = np.clip(a * c + 0.5, 0, maxv).astype(layer.data.dtype)
        stays = layer.data.copy()
        stays[..., 3] = np.clip(a * (1.0 - c) + 0.5, 0, maxv).astype(layer.data.dtype)
    from .selection import mask_bounds

    box = mask_bounds(cover)                             # the lifted part only (layer coordinates)
    assert box is not None
    lifted = np.ascontiguousarray(lifted[box.slices()])
    nb, moved, _ = _warp_layer(layer, lifted, None, box.translated(b.x, b.y), m, method)
    out_rect = b.union(nb)
    if label_layer:
        canvas = np.full((out_rect.h, out_rect.w), tid, layer.labels.dtype)
        canvas[b.translated(-out_rect.x, -out_rect.y).slices()] = stays
        region = canvas[nb.translated(-out_rect.x, -out_rect.y).slices()]
        keep = moved != tid
        region[keep] = moved[keep]
    else:
        canvas = np.zeros((out_rect.h, out_rect.w, 4), layer.data.dtype)
        canvas[b.translated(-out_rect.x, -out_rect.y).slices()] = stays
        region = canvas[nb.translated(-out_rect.x, -out_rect.y).slices()]
        region[...] = _over(moved, region)
    sel = _warp_plane(doc.selection, m, (doc.width, doc.height))
    return Transformed(layer, layer.data, canvas, None, out_rect, sel if sel.any() else None, True)


def _over(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Porter-Duff "over" of straight RGBA arrays (same shape and dtype), in float32."""
    maxv = _maxv(top.dtype)
    ta = top[..., 3:4].astype(np.float32) / maxv
    ba = bottom[..., 3:4].astype(np.float32) / maxv
    oa = ta + ba * (1.0 - ta)
    rgb = top[..., :3].astype(np.float32) * ta + bottom[..., :3].astype(np.float32) * ba * (1.0 - ta)
    inv = np.zeros_like(oa)
    np.divide(1.0, oa, out=inv, where=oa > 1e-6)
    out = np.empty_like(top)
    out[..., :3] = np.clip(rgb * inv + 0.5, 0, maxv).astype(top.dtype)
    out[..., 3:4] = np.clip(oa * maxv + 0.5, 0, maxv).astype(top.dtype)
    return out


def _maxv(dtype: np.dtype) -> float:
    return 65535.0 if dtype == np.uint16 else 255.0


def _premultiply(px: np.ndarray) -> np.ndarray:
    f = px.astype(np.float32)
    a = f[..., 3:4] * (1.0 / _maxv(px.dtype))
    f[..., :3] *= a
    return f


def _premul_resize(px: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average reduction in premultiplied float32 (returned premultiplied, float32)."""
    return cv2.resize(_premultiply(px), size, interpolation=cv2.INTER_AREA)


def _warp_rgba(premul: np.ndarray, pm: np.ndarray, size: tuple[int, int], interp: int,
               dtype: np.dtype) -> np.ndarray:
    """Warp premultiplied float32 RGBA (in ``dtype`` units) and return straight ``dtype`` RGBA,
    in row bands (no full-size float temporaries beyond the source)."""
    f = premul
    maxv = _maxv(np.dtype(dtype))
    out = np.empty((size[1], size[0], 4), dtype)
    rows = max(1, (1 << 20) // max(1, size[0]))
    for y in range(0, size[1], rows):
        hh = min(rows, size[1] - y)
        shift = np.array([[0, 0, 0], [0, 0, -y]], np.float64)
        w = cv2.warpAffine(f, pm + shift, (size[0], hh), flags=interp,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
        a = np.clip(w[..., 3], 0.0, maxv)
        inv = np.zeros_like(a)
        np.divide(maxv, a, out=inv, where=a > 0.5)
        rgb = w[..., :3] * inv[..., None]
        band = out[y:y + hh]
        band[..., :3] = np.clip(rgb + 0.5, 0, maxv).astype(dtype)
        band[..., 3] = (a + 0.5).astype(dtype)
        band[a <= 0.5] = 0
    return out
