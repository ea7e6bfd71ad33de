"""Cached per-tile rendering of a document for the canvas.

Tiles are 256x256 *image* pixels at a mip level L (one tile pixel = 2**L document pixels), stored
premultiplied RGBA (what QPainter draws fastest) in a bounded LRU. A region event marks the touched
tiles dirty (no re-render yet); the canvas re-renders only the dirty part of the tiles it draws.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

import cv2
import numpy as np
from PySide6.QtGui import QImage

from ganstudio.core.geometry import Rect

log = logging.getLogger(__name__)
TILE = 256
MAX_LEVEL = 7
BAND_PIXELS = 1 << 16  # document pixels composited per step (1-3 ms for 6 layers on 2 cores:
#                        a budgeted paint stops close to its deadline, #13)


def premultiply(rgba: np.ndarray) -> np.ndarray:
    """Straight uint8 RGBA -> premultiplied (in a new array)."""
    out = np.empty_like(rgba)
    a = rgba[..., 3:4].astype(np.uint16)
    out[..., :3] = ((rgba[..., :3].astype(np.uint16) * a + 127) // 255).astype(np.uint8)
    out[..., 3:] = rgba[..., 3:]
    return out


def qimage_array(width: int, height: int,
                 fmt: QImage.Format = QImage.Format.Format_RGBA8888_Premultiplied
                 ) -> tuple[QImage, np.ndarray]:
    """A QImage that owns its pixels and a writable HxWx4 numpy view of them.

    (Never wrap a numpy buffer with QImage(data, ...): the QImage must own its memory, or the
    Python buffer's lifetime / reference count is at the mercy of the binding.)
    """
    img = QImage(max(1, width), max(1, height), fmt)
    view = np.frombuffer(img.bits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    arr = view[:, : img.width() * 4].reshape(img.height(), img.width(), 4)
    return img, arr


def to_qimage(rgba: np.ndarray, fmt: QImage.Format = QImage.Format.Format_RGBA8888) -> QImage:
    """A copy of an HxWx4 uint8 array as a QImage."""
    h, w = rgba.shape[:2]
    img, arr = qimage_array(w, h, fmt)
    arr[...] = rgba
    return img


class Tile:
    __slots__ = ("array", "image", "dirty", "rect")

    def __init__(self, width: int, height: int, rect: Rect) -> None:
        self.image, self.array = qimage_array(width, height)
        self.array[...] = 0
        self.rect = rect          # document rect this tile covers
        self.dirty: Rect | None = None

    @property
    def nbytes(self) -> int:
        return self.array.nbytes


class TileCache:
    """``render(doc_rect, variant) -> premultiplied RGBA uint8`` does the compositing (core.compositing)."""

    def __init__(self, render: Callable[[Rect, str], np.ndarray], max_bytes: int = 384 << 20) -> None:
        self.render = render
        self.max_bytes = max_bytes
        self.bounds = Rect(0, 0, 0, 0)
        self._tiles: OrderedDict[tuple[str, int, int, int], Tile] = OrderedDict()
        self._bytes = 0
        self.renders = 0  # statistics (tests, benchmarks)
        self.band_s = 0.0  # running estimate of one full band's render time (seconds)

    # -- geometry ---------------------------------------------------------------------------------
    @staticmethod
    def tile_doc_rect(level: int, tx: int, ty: int) -> Rect:
        span = TILE << level
        return Rect(tx * span, ty * span, span, span)

    def tile_range(self, level: int, rect: Rect) -> tuple[range, range]:
        span = TILE << level
        r = rect.intersect(self.bounds)
        if r.is_empty():
            return range(0), range(0)
        return (range(r.x // span, (r.right - 1) // span + 1),
                range(r.y // span, (r.bottom - 1) // span + 1))

    # -- cache ------------------------------------------------------------------------------------
    def clear(self) -> None:
        self._tiles.clear()
        self._bytes = 0

    def set_bounds(self, bounds: Rect) -> None:
        if bounds != self.bounds:
            self.bounds = bounds
            self.clear()

    def invalidate(self, rect: Rect, variant: str | None = None) -> None:
        rect = rect.intersect(self.bounds)
        if rect.is_empty() or not self._tiles:
            return
        levels = {(k[0], k[1]) for k in self._tiles}
        for var, level in levels:
            if variant is not None and var != variant:
                continue
            xs, ys = self.tile_range(level, rect)
            for ty in ys:
                for tx in xs:
                    t = self._tiles.get((var, level, tx, ty))
                    if t is not None:
                        d = rect.intersect(t.rect)
                        t.dirty = d if t.dirty is None else t.dirty.union(d)

    def invalidate_variant(self, variant: str) -> None:
        for key in [k for k in self._tiles if k[0] == variant]:
            self._bytes -= self._tiles.pop(key).nbytes

    def cached(self, variant: str, level: int, tx: int, ty: int) -> Tile | None:
        return self._tiles.get((variant, level, tx, ty))

    def is_ready(self, variant: str, level: int, tx: int, ty: int) -> bool:
        t = self._tiles.get((variant, level, tx, ty))
        return t is not None and t.dirty is None

    def get(self, variant: str, level: int, tx: int, ty: int, deadline: float | None = None) -> Tile:
        """The tile, rendered (or its dirty part re-rendered) now.

        With a ``deadline`` (time.perf_counter() value) the work is done in row bands of about
        BAND_PIXELS document pixels and no band is started that would end after the deadline (by
        ``band_s``, the running estimate of a band's time): the tile is then returned still
        ``dirty`` (partly refreshed) and the caller paints again later. At least one band is
        always done, so every call makes progress.
        """
        key = (variant, level, tx, ty)
        t = self._tiles.get(key)
        if t is None:
            rect = self.tile_doc_rect(level, tx, ty).intersect(self.bounds)
            s = 1 << level
            t = Tile(-(-rect.w // s), -(-rect.h // s), rect)
            t.dirty = rect
            self._tiles[key] = t
            self._bytes += t.nbytes
            self._evict()
        else:
            self._tiles.move_to_end(key)
        if t.dirty is not None:
            self._refresh(t, level, variant, deadline)
        return t

    def _evict(self) -> None:
        while self._bytes > self.max_bytes and len(self._tiles) > 1:
            _, old = self._tiles.popitem(last=False)
            self._bytes -= old.nbytes

    def _render(self, rect: Rect, level: int, variant: str) -> np.ndarray:
        self.renders += 1
        pm = self.render(rect, variant)
        if level > 0:
            s = 1 << level
            w, h = -(-rect.w // s), -(-rect.h // s)
            pm = cv2.resize(pm, (w, h), interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(pm)

    def _refresh(self, t: Tile, level: int, variant: str, deadline: float | None = None) -> None:
        d = t.dirty
        assert d is not None
        s = 1 << level
        r = t.rect
        # Align the dirty part to whole tile pixels.
        x0 = r.x + ((d.x - r.x) // s) * s
        y0 = r.y + ((d.y - r.y) // s) * s
        x1 = min(r.right, r.x + -(-(d.right - r.x) // s) * s)
        y1 = min(r.bottom, r.y + -(-(d.bottom - r.y) // s) * s)
        if x1 <= x0 or y1 <= y0:
            t.dirty = None
            return
        rows = max(s, (BAND_PIXELS // max(1, x1 - x0)) // s * s)
        y = y0
        while y < y1:
            y_end = min(y1, y + rows)
            sub = Rect.from_corners(x0, y, x1, y_end)
            tb = time.perf_counter()
            part = self._render(sub, level, variant)
            if sub.w * sub.h >= BAND_PIXELS // 2:   # full bands only (not a brush dab's strip)
                dt = time.perf_counter() - tb
                self.band_s = dt if self.band_s == 0.0 else 0.5 * (self.band_s + dt)
            ox, oy = (x0 - r.x) // s, (y - r.y) // s
            h = min(part.shape[0], t.array.shape[0] - oy)
            w = min(part.shape[1], t.array.shape[1] - ox)
            t.array[oy:oy + h, ox:ox + w] = part[:h, :w]
            y = y_end
            if deadline is not None and y < y1 and time.perf_counter() + self.band_s > deadline:
                break
        if y >= y1:
            t.dirty = None
        else:  # what is left of the dirty rect: the rows below y (plus any part outside x0..x1)
            rest = Rect.from_corners(d.x, y, d.right, d.bottom)
            t.dirty = rest if not rest.is_empty() else None
