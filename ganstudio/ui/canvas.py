"""The canvas: a scroll area drawing the document from cached tiles at the current zoom / mip level.

- Tiles of 256 px at mip level L (L chosen from zoom x devicePixelRatio), rendered on demand with a
  time budget per paint (the rest follows in the next paint; a coarser cached tile stands in).
- ``doc.events.region`` marks tiles dirty and repaints only that part of the view.
- Checkerboard under transparency (screen-space squares), AI-mask overlay (50 %, colour
  from Preferences / View > AI mask colour: ``set_mask_tint``),
  selection outline (black/white dashes), tool overlays (brush cursor, rubber bands).
- Zoom: wheel (zooms at the cursor, like Krita; Ctrl+wheel too; Shift+wheel scrolls), Ctrl +/-,
  fit, 100 %. Pan: space-drag, middle button, scroll bars, touchpad scrolling.
- Before/after compare of a layer: ``set_compare(layer, mode)`` with mode "off" | "before" | "split".
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (QBrush, QColor, QCursor, QImage, QKeyEvent, QMouseEvent, QPainter,
                           QPainterPath, QPaintEvent, QPen, QPixmap, QPolygonF, QResizeEvent,
                           QTransform, QWheelEvent)
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect

from .signals import Connections
from .tile_cache import MAX_LEVEL, TileCache, to_qimage

if TYPE_CHECKING:
    from ganstudio.core.layers import Layer

    from .canvas_api import ToolHost as ToolManager

log = logging.getLogger(__name__)

ZOOM_MIN, ZOOM_MAX = 1 / 64, 64.0
ZOOM_STEPS = [1 / 64, 1 / 48, 1 / 32, 1 / 24, 1 / 16, 1 / 12, 1 / 8, 1 / 6, 1 / 4, 1 / 3, 1 / 2, 2 / 3,
              1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0]
MASK_TINT = np.array([230, 40, 40], np.float32)
_INPUT_EVENTS = {QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease,
                 QEvent.Type.Wheel, QEvent.Type.KeyPress, QEvent.Type.KeyRelease,
                 QEvent.Type.TabletMove, QEvent.Type.TabletPress}


FRAME_BUDGET_S = 0.010   # a budgeted paint ends this long after the first invalidation it shows


def _shrink(rgba: np.ndarray, w: int, h: int) -> np.ndarray:
    """``rgba`` reduced to ``w`` x ``h``: Gaussian halvings (pyrDown) while it is over twice the
    size, then bilinear. ~2 ms for a 1600 px preview where INTER_AREA at a non-integer ratio took
    10-20 ms on this 2-core machine."""
    src = rgba
    while src.shape[1] >= 2 * w and src.shape[0] >= 2 * h:
        src = cv2.pyrDown(src)
    return np.ascontiguousarray(cv2.resize(src, (max(1, w), max(1, h)),
                                           interpolation=cv2.INTER_LINEAR))


class _Preview(Sequence):
    """``Canvas.preview``: (rect, QImage), the QImage made on first read of item 1."""

    __slots__ = ("_canvas", "_rect")

    def __init__(self, canvas: Canvas) -> None:
        self._canvas = canvas
        self._rect = canvas._preview_rect   # noqa: SLF001

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> Any:  # type: ignore[override]
        if i in (0, -2):
            return self._rect
        if i in (1, -1):
            return self._canvas._preview_image()   # noqa: SLF001
        raise IndexError(i)


def _checker_pixmap(size: int = 8) -> QPixmap:
    pm = QPixmap(size * 2, size * 2)
    pm.fill(QColor("#9a9a9a"))
    p = QPainter(pm)
    light = QColor("#cfcfcf")
    p.fillRect(0, 0, size, size, light)
    p.fillRect(size, size, size, size, light)
    p.end()
    return pm


class Canvas(QAbstractScrollArea):
    zoom_changed = Signal(float)
    cursor_moved = Signal(int, int)        # document pixel under the mouse (-1, -1: outside)
    compare_changed = Signal(str)
    _outline_ready = Signal(int, object, float)   # generation, QPainterPath, scale (from a thread)

    def __init__(self, document: Document, tools: ToolManager | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.tools = tools
        self.render_budget_s: float | None = 0.008  # None: render every visible tile in one paint
        # ... and it ends by frame_budget_s after the first change it shows (a result landing as a
        # layer: the apply, the Layers panel and the paint share one event-loop turn, #13)
        self.frame_budget_s = FRAME_BUDGET_S
        self._dirty_since = 0.0           # time.perf_counter() of the first invalidation unpainted
        self.defer_big_updates = True     # see _update_doc_rect
        self._deferred: QRect | None = None
        self._defer_scheduled = False
        self._zoom = 1.0
        self._space = False
        self._panning: QPointF | None = None
        self._tool_active = False
        self._hover: QPointF | None = None
        self._selection_path: QPainterPath | None = None
        self._selection_scale = 1.0       # resolution the outline was traced at (see _outline_scale)
        self._selection_dirty = True
        self._outline_generation = 0      # bumped per request; a late outline of an older one is dropped
        self._outline_busy = False
        self._outline_ready.connect(self._take_outline)
        self._compare_layer: Layer | None = None
        self._compare_mode = "off"
        self._preview_hidden: Layer | None = None   # a layer a tool draws itself (free transform)
        self._preview_rect: Rect | None = None        # a job preview: where (document coordinates)
        self._preview_src: np.ndarray | None = None   # ... its straight RGBA uint8 pixels
        self._preview_qimg: QImage | None = None      # ... as a QImage (made on first use)
        self._preview_scaled: tuple[np.ndarray, QSize, QImage] | None = None  # (source, size, image)
        self._split = 0.5
        self._dragging_split = False
        self._pending = False
        self._fitted = False
        # the zoom is automatic and kept when the document changes size: "auto" (the initial
        # view: 100 % if the image fits, else fit) or "fit" (Ctrl+0); "" = the user's zoom
        self._fit_view = ""
        self._doc_size = document.size
        self._mask_tint = MASK_TINT.copy()
        self.last_input = 0.0  # time.monotonic() of the last mouse / key / wheel event
        self._checker = QBrush(_checker_pixmap())
        self._cache = TileCache(self._render_region)
        self._cache.set_bounds(document.bounds)
        self._subscriptions = Connections()
        self._subscribe()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.viewport().setAutoFillBackground(False)
        self.setAcceptDrops(False)  # the main window takes drops
        self.horizontalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.setFrameShape(QAbstractScrollArea.Shape.NoFrame)
        self._update_scrollbars()

    # -- document events ------------------------------------------------------------------------------
    def _subscribe(self) -> None:
        ev = self.document.events
        for sig, fn in ((ev.region, self._on_region), (ev.size, self._on_size),
                        (ev.selection, self._on_selection), (ev.ai_mask, self._on_ai_mask)):
            self._subscriptions.connect(sig, fn)

    def detach(self) -> None:
        """Disconnect from the document (before the canvas is deleted)."""
        self._subscriptions.disconnect_all()
        self._cache.clear()

    def _on_region(self, rect: Rect) -> None:
        self._cache.invalidate(rect)
        self._update_doc_rect(rect)

    def _on_ai_mask(self, rect: Any = None) -> None:
        if isinstance(rect, Rect):
            self._on_region(rect)
        else:
            self._on_region(self.document.bounds)

    def _on_size(self, _size: Any) -> None:
        """The document changed size (upscale, image size, crop, canvas size, their undo): a view
        that was fit is fitted again; otherwise the zoom stays and the same part of the image
        (relative position) stays in the middle of the view, as Krita does."""
        old_w, old_h = self._doc_size
        rel = self._center_doc(old_w, old_h)
        rel = (rel[0] / max(1, old_w), rel[1] / max(1, old_h))
        self._doc_size = self.document.size
        self._cache.set_bounds(self.document.bounds)
        self._selection_dirty = True
        if self._fit_view == "fit":
            self.fit()
        elif self._fit_view:
            self._auto_fit()
        else:
            self._update_scrollbars()
            self.center_on(QPointF(rel[0] * self.document.width, rel[1] * self.document.height))
        self.viewport().update()

    def _center_doc(self, w: int, h: int) -> tuple[float, float]:
        """The document point at the middle of the view for a document of size ``w`` x ``h``."""
        vw, vh = self.viewport().width(), self.viewport().height()
        z = self._zoom
        ox = float((vw - int(w * z)) // 2) if w * z <= vw else -float(self.horizontalScrollBar().value())
        oy = float((vh - int(h * z)) // 2) if h * z <= vh else -float(self.verticalScrollBar().value())
        return (vw / 2 - ox) / z, (vh / 2 - oy) / z

    def center_on(self, doc_pt: QPointF) -> None:
        """Scroll so that ``doc_pt`` (document coordinates) is in the middle of the view."""
        z = self._zoom
        self.horizontalScrollBar().setValue(int(round(doc_pt.x() * z - self.viewport().width() / 2)))
        self.verticalScrollBar().setValue(int(round(doc_pt.y() * z - self.viewport().height() / 2)))

    def _on_selection(self, _rect: Any) -> None:
        self._selection_dirty = True
        self.viewport().update()

    def _update_doc_rect(self, rect: Rect) -> None:
        r = self.doc_rect_to_view(rect).adjusted(-2, -2, 2, 2)
        vp = self.viewport()
        if self.defer_big_updates and r.intersected(vp.rect()).width() * \
                r.intersected(vp.rect()).height() * 4 >= vp.width() * vp.height() > 0:
            # a big change (a new layer, an undo, a filter): repainted on the next event-loop
            # turn, so that the work that made it (a result landing, the Layers panel following)
            # and the first paint are not one long stall (#13); brush dabs repaint at once.
            # The frame budget still counts from the change, not from the deferred update.
            if not self._dirty_since:
                self._dirty_since = time.perf_counter()
            self._deferred = r if self._deferred is None else self._deferred.united(r)
            if not self._defer_scheduled:
                self._defer_scheduled = True
                QTimer.singleShot(1, self, self._flush_deferred)   # a timer (0 ms is a posted call in Qt 6: same turn)
            return
        if not self._dirty_since:
            self._dirty_since = time.perf_counter()
        vp.update(r)

    def _flush_deferred(self) -> None:
        self._defer_scheduled = False
        r, self._deferred = self._deferred, None
        if r is not None:
            if not self._dirty_since:
                self._dirty_since = time.perf_counter()
            self.viewport().update(r)

    # -- rendering ------------------------------------------------------------------------------------
    def _render_region(self, rect: Rect, variant: str) -> np.ndarray:
        """Premultiplied uint8 RGBA of ``rect``, with the AI-mask tint."""
        from ganstudio.core.compositing import composite_layers

        doc = self.document
        hidden = self._compare_layer if variant == "before" else None
        layers = [la for la in doc.layers if la is not hidden and la is not self._preview_hidden]
        pm = composite_layers(layers, rect, dtype=np.uint8, premultiplied=True)
        ai = getattr(doc, "ai_mask", None)
        if ai is not None:
            m = ai[rect.slices()]
            rows = np.flatnonzero(m.any(axis=1))
            if rows.size:
                m = m[rows[0]:rows[-1] + 1]
                cols = np.flatnonzero(m.any(axis=0))
                box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
                # "over" with a 50 % red in premultiplied space, on the masked box only
                w = (m[:, box[1]].astype(np.float32) * (0.5 / 255.0))[..., None]
                out = pm[box].astype(np.float32) * (1 - w)
                out[..., :3] += self._mask_tint * w
                out[..., 3:4] += 255.0 * w
                pm = np.array(pm, copy=True) if not pm.flags.writeable else pm
                pm[box] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
        return pm

    @property
    def mask_tint(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self._mask_tint)  # type: ignore[return-value]

    def set_mask_tint(self, rgb: tuple[int, int, int]) -> None:
        """Colour of the AI-mask overlay (50 % over the image); repaints what it covers."""
        tint = np.array(rgb[:3], np.float32)
        if np.array_equal(tint, self._mask_tint):
            return
        self._mask_tint = tint
        ai = getattr(self.document, "ai_mask", None)
        if ai is not None:
            from ganstudio.core.selection import mask_bounds

            box = mask_bounds(ai)
            if box is not None:
                self._on_region(box)

    @property
    def level(self) -> int:
        scale = self._zoom * self.devicePixelRatioF()
        if scale >= 1:
            return 0
        return max(0, min(MAX_LEVEL, int(math.floor(math.log2(1.0 / scale) + 1e-9))))

    @property
    def pending(self) -> bool:
        """True while visible tiles are still to be rendered."""
        return self._pending

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        t0 = time.perf_counter()
        p = QPainter(self.viewport())
        p.fillRect(event.rect(), QColor("#1e1f22"))
        doc = self.document
        # the image's rectangle rounded exactly as the tiles are (``_tile_target``): with the
        # floor/ceil of ``doc_rect_to_view`` a 1 px line of checkerboard showed along the right or
        # bottom edge at zooms like 39 % (a dashed, selection-like line on opaque photos)
        view_doc = self._image_view_rect()
        clip = event.rect().intersected(view_doc)
        self._pending = False
        if not clip.isEmpty():
            p.save()
            ox, oy = self._origin()
            p.setBrushOrigin(QPoint(int(round(ox)), int(round(oy))))
            p.fillRect(clip, self._checker)
            p.restore()
            visible = self.view_rect_to_doc(clip)
            if self._compare_mode == "split" and self._compare_layer is not None:
                sx = int(self.viewport().width() * self._split)
                left = clip.intersected(QRect(0, 0, sx, self.viewport().height()))
                right = clip.intersected(QRect(sx, 0, self.viewport().width() - sx,
                                               self.viewport().height()))
                if not left.isEmpty():
                    self._draw_tiles(p, "before", self.view_rect_to_doc(left), left, t0)
                if not right.isEmpty():
                    self._draw_tiles(p, "after", self.view_rect_to_doc(right), right, t0)
            else:
                variant = "before" if (self._compare_mode == "before"
                                       and self._compare_layer is not None) else "after"
                self._draw_tiles(p, variant, visible, clip, t0)
        self._draw_preview(p)
        self._draw_selection(p)
        self._draw_compare_ui(p)
        if self.tools is not None and self.tools.current is not None:
            self.tools.current.paint_overlay(p, self)
        p.end()
        self._dirty_since = 0.0
        if self._pending:
            vp = self.viewport()
            QTimer.singleShot(0, vp, vp.update)  # context object: dropped if the canvas goes

    # -- job previews (Progress.preview, drawn over the image while a job runs) ----------------------
    @property
    def preview(self) -> _Preview | None:
        """(rect, the preview as a QImage) while one is shown; the QImage is made only when item 1
        is read (``canvas.preview is not None`` stays cheap: it is asked on every apply)."""
        if self._preview_rect is None or self._preview_src is None:
            return None
        return _Preview(self)

    def _preview_image(self) -> QImage:
        if self._preview_qimg is None:
            assert self._preview_src is not None
            self._preview_qimg = to_qimage(self._preview_src)
        return self._preview_qimg

    def show_preview(self, rect: Rect, image: np.ndarray) -> None:
        """Draw ``image`` (HxWx3|4 uint8/uint16, straight alpha) scaled into ``rect`` (document
        coordinates) over the image until :meth:`clear_preview`; the document is not touched.

        A contiguous RGBA uint8 ``image`` is kept as it is, not copied (a job's 1600 px preview
        arrives several times a second; its full-size copy and QImage cost the GUI thread ms):
        do not write into it while it is shown."""
        img = np.asarray(image)
        if img.dtype == np.uint16:
            img = (img >> 8).astype(np.uint8)
        elif img.dtype != np.uint8:
            img = np.clip(img, 0, 255).astype(np.uint8)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        if img.shape[2] == 3:
            img = np.concatenate([img, np.full(img.shape[:2] + (1,), 255, np.uint8)], axis=2)
        img = np.ascontiguousarray(img[..., :4])
        old = self._preview_rect
        self._preview_rect = rect
        self._preview_src = img
        self._preview_qimg = None
        self._preview_scaled = None
        self._update_doc_rect(rect if old is None else rect.union(old))

    def clear_preview(self) -> None:
        if self._preview_rect is not None:
            rect = self._preview_rect
            self._preview_rect = self._preview_src = self._preview_qimg = None
            self._preview_scaled = None
            self._update_doc_rect(rect)

    def _draw_preview(self, p: QPainter) -> None:
        rect, src = self._preview_rect, self._preview_src
        if rect is None or src is None:
            return
        target = self.doc_rect_to_view(rect)
        h, w = src.shape[:2]
        if 0 < target.width() * target.height() <= w * h:
            # a downscale: done once per preview and view size (OpenCV, ~2 ms), not by QPainter
            # in every paint (a 1600 px preview smooth-scaled on each repaint cost the GUI thread
            # 5-25 ms: bench_ui "progress")
            cached = self._preview_scaled
            if cached is None or cached[0] is not src or cached[1] != target.size():
                scaled = to_qimage(_shrink(src, target.width(), target.height()))
                cached = self._preview_scaled = (src, target.size(), scaled)
            p.drawImage(target.topLeft(), cached[2])
            return
        p.save()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        p.drawImage(target, self._preview_image())
        p.restore()

    def _tile_target(self, level: int, tx: int, ty: int) -> QRect:
        r = TileCache.tile_doc_rect(level, tx, ty).intersect(self.document.bounds)
        ox, oy = self._origin()
        z = self._zoom
        x0, y0 = int(round(r.x * z + ox)), int(round(r.y * z + oy))
        x1, y1 = int(round(r.right * z + ox)), int(round(r.bottom * z + oy))
        return QRect(x0, y0, x1 - x0, y1 - y0)

    def _draw_tiles(self, p: QPainter, variant: str, visible: Rect, clip: QRect, t0: float) -> None:
        level = self.level
        cache = self._cache
        p.save()
        p.setClipRect(clip)
        smooth = self._zoom * self.devicePixelRatioF() * (1 << level) < 1.999
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        xs, ys = cache.tile_range(level, visible)
        budget = self.render_budget_s
        deadline = None if budget is None else t0 + budget
        since = self._dirty_since
        if deadline is not None and 0.0 < t0 - since < 0.05:   # what is left of this frame
            deadline = min(deadline, since + self.frame_budget_s)
        progressed = False  # every paint renders at least one tile: no livelock when drawing
        for ty in ys:       # the cached tiles alone takes the whole budget (a loaded machine)
            for tx in xs:
                target = self._tile_target(level, tx, ty)
                tile = cache.cached(variant, level, tx, ty)
                if tile is None or tile.dirty is not None:
                    if budget is None or not progressed or time.perf_counter() + cache.band_s < deadline:
                        progressed = True
                        if tile is None:
                            self._draw_stand_in(p, variant, level, tx, ty, target)
                        tile = cache.get(variant, level, tx, ty, deadline)
                    elif tile is None:
                        self._pending = True
                        self._draw_stand_in(p, variant, level, tx, ty, target)
                        continue
                    if tile.dirty is not None:
                        self._pending = True
                p.drawImage(target, tile.image)
        p.restore()

    def _draw_stand_in(self, p: QPainter, variant: str, level: int, tx: int, ty: int,
                       target: QRect) -> None:
        """Draw a coarser cached tile where this one is not rendered yet."""
        for up in range(1, 4):
            L = level + up
            coarse = self._cache.cached(variant, L, tx >> up, ty >> up) if L <= MAX_LEVEL else None
            if coarse is not None:
                tr = TileCache.tile_doc_rect(level, tx, ty).intersect(self.document.bounds)
                s = 1 << L
                src = QRectF((tr.x - coarse.rect.x) / s, (tr.y - coarse.rect.y) / s, tr.w / s, tr.h / s)
                p.drawImage(QRectF(target), coarse.image, src)
                return

    def _request_outline(self, sel: np.ndarray, scale: float) -> None:
        """Trace the selection outline now (small selections) or on a thread: the old outline
        (or none) stays on screen until the new one is ready; the GUI thread never traces a big
        one (QPainterPath is a plain value type, safe to build off the GUI thread)."""
        self._selection_dirty = False
        self._selection_scale = scale
        self._outline_generation += 1
        gen = self._outline_generation
        x, y, w, h = cv2.boundingRect(sel)
        if w * h * scale * scale <= OUTLINE_SYNC_PIXELS:
            self._selection_path = _outline_path(sel, scale)
            return
        import threading

        mask = sel.copy()           # the document may change the selection meanwhile

        def work() -> None:
            try:
                path = _outline_path(mask, scale)
            except Exception:  # noqa: BLE001 - an outline is cosmetic: log, keep the old one
                log.exception("selection outline")
                return
            self._outline_ready.emit(gen, path, scale)   # queued to the GUI thread

        threading.Thread(target=work, name="selection-outline", daemon=True).start()

    def _take_outline(self, gen: int, path: Any, scale: float) -> None:
        if gen != self._outline_generation:
            return                   # a newer selection / zoom asked for another one
        self._selection_path = path
        self.viewport().update()

    def _draw_selection(self, p: QPainter) -> None:
        sel = self.document.selection
        if sel is None:
            if self._selection_path is not None:
                self._selection_path = None
                self._outline_generation += 1      # an outline still being traced is dropped
            return
        scale = _outline_scale(self._zoom)
        if self._selection_dirty or self._selection_path is None or self._selection_scale != scale:
            self._request_outline(sel, scale)
        if self._selection_path is None:
            return
        ox, oy = self._origin()
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setTransform(QTransform(self._zoom, 0, 0, self._zoom, ox, oy))
        pen = QPen(QColor(0, 0, 0), 1)
        pen.setCosmetic(True)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(self._selection_path)
        pen = QPen(QColor(255, 255, 255), 1, Qt.PenStyle.CustomDashLine)
        pen.setDashPattern([4, 4])
        pen.setCosmetic(True)
        p.setPen(pen)
        p.drawPath(self._selection_path)
        p.restore()

    def _draw_compare_ui(self, p: QPainter) -> None:
        if self._compare_layer is None or self._compare_mode == "off":
            return
        vw, vh = self.viewport().width(), self.viewport().height()
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = p.font()
        font.setBold(True)
        p.setFont(font)
        if self._compare_mode == "split":
            sx = int(vw * self._split)
            p.setPen(QPen(QColor(255, 255, 255, 230), 2))
            p.drawLine(sx, 0, sx, vh)
            p.setBrush(QColor(255, 255, 255))
            p.drawEllipse(QPointF(sx, vh / 2), 7, 7)
            self._badge(p, QPoint(sx - 80, 12), "Before")
            self._badge(p, QPoint(sx + 12, 12), "After")
        else:
            self._badge(p, QPoint(12, 12), f"Before (without “{self._compare_layer.name}”)")
        p.restore()

    def _badge(self, p: QPainter, at: QPoint, text: str) -> None:
        fm = p.fontMetrics()
        r = QRect(at, fm.size(0, text)).adjusted(-6, -3, 6, 3)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 170))
        p.drawRoundedRect(r, 4, 4)
        p.setPen(QColor(255, 255, 255))
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)

    def render_all_now(self) -> None:
        """Render every visible tile (tests, screenshots)."""
        budget, self.render_budget_s = self.render_budget_s, None
        try:
            self.viewport().repaint()
        finally:
            self.render_budget_s = budget

    # -- coordinates ----------------------------------------------------------------------------------
    def _origin(self) -> tuple[float, float]:
        vw, vh = self.viewport().width(), self.viewport().height()
        w, h = self.document.width * self._zoom, self.document.height * self._zoom
        ox = float((vw - int(w)) // 2) if w <= vw else -float(self.horizontalScrollBar().value())
        oy = float((vh - int(h)) // 2) if h <= vh else -float(self.verticalScrollBar().value())
        return ox, oy

    def _image_view_rect(self) -> QRect:
        """The document's rectangle in viewport pixels, rounded like the tiles are drawn."""
        ox, oy = self._origin()
        z = self._zoom
        x0, y0 = int(round(ox)), int(round(oy))
        x1 = int(round(self.document.width * z + ox))
        y1 = int(round(self.document.height * z + oy))
        return QRect(x0, y0, x1 - x0, y1 - y0)

    def view_to_doc(self, pos: QPointF | QPoint) -> QPointF:
        ox, oy = self._origin()
        return QPointF((pos.x() - ox) / self._zoom, (pos.y() - oy) / self._zoom)

    def doc_to_view(self, pos: QPointF) -> QPointF:
        ox, oy = self._origin()
        return QPointF(pos.x() * self._zoom + ox, pos.y() * self._zoom + oy)

    def doc_rect_to_view(self, r: Rect) -> QRect:
        ox, oy = self._origin()
        z = self._zoom
        x0, y0 = math.floor(r.x * z + ox), math.floor(r.y * z + oy)
        x1, y1 = math.ceil(r.right * z + ox), math.ceil(r.bottom * z + oy)
        return QRect(x0, y0, x1 - x0, y1 - y0)

    def view_rect_to_doc(self, r: QRect) -> Rect:
        ox, oy = self._origin()
        z = self._zoom
        x0 = math.floor((r.x() - ox) / z)
        y0 = math.floor((r.y() - oy) / z)
        x1 = math.ceil((r.x() + r.width() - ox) / z)
        y1 = math.ceil((r.y() + r.height() - oy) / z)
        return Rect.from_corners(x0, y0, x1, y1).intersect(self.document.bounds)

    # -- zoom / scroll --------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self._zoom

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        zoom = float(min(ZOOM_MAX, max(ZOOM_MIN, zoom)))
        self._fit_view = ""
        if anchor is None:
            anchor = QPointF(self.viewport().width() / 2, self.viewport().height() / 2)
        doc_pt = self.view_to_doc(anchor)
        self._zoom = zoom
        self._update_scrollbars()
        w, h = self.document.width * zoom, self.document.height * zoom
        if w > self.viewport().width():
            self.horizontalScrollBar().setValue(int(round(doc_pt.x() * zoom - anchor.x())))
        if h > self.viewport().height():
            self.verticalScrollBar().setValue(int(round(doc_pt.y() * zoom - anchor.y())))
        self.viewport().update()
        self.zoom_changed.emit(zoom)

    def zoom_in(self) -> None:
        self.set_zoom(next((z for z in ZOOM_STEPS if z > self._zoom * 1.001), ZOOM_MAX))

    def zoom_out(self) -> None:
        self.set_zoom(next((z for z in reversed(ZOOM_STEPS) if z < self._zoom / 1.001), ZOOM_MIN))

    def zoom_actual(self) -> None:
        self.set_zoom(1.0)

    def fit(self) -> None:
        vw, vh = max(1, self.viewport().width() - 24), max(1, self.viewport().height() - 24)
        self.set_zoom(min(vw / self.document.width, vh / self.document.height))
        self._fitted = True
        self._fit_view = "fit"

    @property
    def fit_view(self) -> str:
        """"fit" (Ctrl+0) or "auto" (the initial view) while the zoom is automatic and kept when
        the document changes size (refitted); "" once the user zoomed."""
        return self._fit_view

    def _update_scrollbars(self) -> None:
        vw, vh = self.viewport().width(), self.viewport().height()
        w = int(math.ceil(self.document.width * self._zoom))
        h = int(math.ceil(self.document.height * self._zoom))
        hb, vb = self.horizontalScrollBar(), self.verticalScrollBar()
        hb.setRange(0, max(0, w - vw))
        hb.setPageStep(vw)
        hb.setSingleStep(max(1, vw // 20))
        vb.setRange(0, max(0, h - vh))
        vb.setPageStep(vh)
        vb.setSingleStep(max(1, vh // 20))

    def _scrolled(self, _v: int) -> None:
        self.viewport().update()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._update_scrollbars()

    def showEvent(self, event: Any) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._fitted:
            QTimer.singleShot(0, self, self._initial_fit)

    def _initial_fit(self) -> None:
        if self._fitted:
            return
        self._auto_fit()

    def _auto_fit(self) -> None:
        """100 % when the whole image fits the view, else fit it."""
        vw, vh = self.viewport().width(), self.viewport().height()
        if self.document.width <= vw - 24 and self.document.height <= vh - 24:
            self.set_zoom(1.0)
            self._fitted = True
        else:
            self.fit()
        self._fit_view = "auto"

    # -- a layer drawn by a tool (free transform preview) -------------------------------------------
    @property
    def preview_hidden(self) -> Layer | None:
        return self._preview_hidden

    def set_preview_hidden(self, layer: Layer | None) -> None:
        """Leave ``layer`` out of the rendered image (a tool draws it itself, e.g. transformed);
        None shows it again."""
        if layer is self._preview_hidden:
            return
        old, self._preview_hidden = self._preview_hidden, layer
        for la in (old, layer):
            if la is not None:
                self._on_region(la.bounds.intersect(self.document.bounds))

    # -- compare --------------------------------------------------------------------------------------
    @property
    def compare_mode(self) -> str:
        return self._compare_mode

    def set_compare(self, layer: Layer | None, mode: str) -> None:
        """mode: "off", "before" (the document without ``layer``) or "split" (before | after)."""
        if mode not in ("off", "before", "split"):
            raise ValueError(mode)
        if layer is None:
            mode = "off"
        if layer is not self._compare_layer:
            self._cache.invalidate_variant("before")
        self._compare_layer = layer if mode != "off" else None
        self._compare_mode = mode
        self.viewport().update()
        self.compare_changed.emit(mode)

    # -- input ----------------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        mods = event.modifiers()
        pixel = event.pixelDelta()
        angle = event.angleDelta()
        if mods & Qt.KeyboardModifier.ShiftModifier and not mods & Qt.KeyboardModifier.ControlModifier:
            d = angle.y() or angle.x()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - d)
        elif not pixel.isNull() and not mods & Qt.KeyboardModifier.ControlModifier:
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - pixel.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - pixel.y())
        else:
            steps = angle.y() / 120.0
            if steps:
                self.set_zoom(self._zoom * (2 ** (steps / 4)), event.position())
        event.accept()

    def _doc_pos(self, event: QMouseEvent) -> QPointF:
        return self.view_to_doc(event.position())

    def event(self, ev: Any) -> bool:  # noqa: D401
        if ev.type() in _INPUT_EVENTS:
            self.last_input = time.monotonic()
        return super().event(ev)

    def viewportEvent(self, ev: Any) -> bool:  # noqa: N802
        if ev.type() in _INPUT_EVENTS:
            self.last_input = time.monotonic()
        return super().viewportEvent(ev)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.setFocus()
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton and self._space):
            self._panning = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if event.button() == Qt.MouseButton.LeftButton and self._compare_mode == "split" \
                and abs(event.position().x() - self.viewport().width() * self._split) < 10:
            self._dragging_split = True
            return
        if event.button() == Qt.MouseButton.LeftButton and self.tools and self.tools.current:
            self._tool_active = True
            self.tools.current.press(self, self._doc_pos(event), event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._panning is not None:
            d = event.position() - self._panning
            self._panning = event.position()
            self.horizontalScrollBar().setValue(int(self.horizontalScrollBar().value() - d.x()))
            self.verticalScrollBar().setValue(int(self.verticalScrollBar().value() - d.y()))
            return
        if self._dragging_split:
            self._split = min(1.0, max(0.0, event.position().x() / max(1, self.viewport().width())))
            self.viewport().update()
            return
        pos = self._doc_pos(event)
        self._set_hover(pos)
        x, y = int(math.floor(pos.x())), int(math.floor(pos.y()))
        inside = 0 <= x < self.document.width and 0 <= y < self.document.height
        self.cursor_moved.emit(x if inside else -1, y if inside else -1)
        if self._tool_active and self.tools and self.tools.current:
            self.tools.current.move(self, pos, event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._panning is not None and event.button() in (Qt.MouseButton.MiddleButton,
                                                            Qt.MouseButton.LeftButton):
            self._panning = None
            self._update_cursor()
            return
        if self._dragging_split:
            self._dragging_split = False
            return
        if event.button() == Qt.MouseButton.LeftButton and self._tool_active:
            self._tool_active = False
            if self.tools and self.tools.current:
                self.tools.current.release(self, self._doc_pos(event), event)

    def leaveEvent(self, event: Any) -> None:  # noqa: N802
        self._set_hover(None)
        self.cursor_moved.emit(-1, -1)
        super().leaveEvent(event)

    def _set_hover(self, pos: QPointF | None) -> None:
        old = self._hover
        self._hover = pos
        if self.tools and self.tools.current:
            r = self.tools.current.overlay_rect(self, old)
            if r is not None:
                self.viewport().update(r)
            r = self.tools.current.overlay_rect(self, pos)
            if r is not None:
                self.viewport().update(r)

    @property
    def hover_pos(self) -> QPointF | None:
        return self._hover

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.tools and self.tools.current \
                and hasattr(self.tools.current, "commit"):
            self.tools.current.commit(self)   # crop / free transform: Enter applies
            return
        if event.key() == Qt.Key.Key_Escape and self.tools and self.tools.current:
            self.tools.current.cancel(self)
            self._tool_active = False
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._panning = None
            self._update_cursor()
            return
        super().keyReleaseEvent(event)

    def _update_cursor(self) -> None:
        if self.tools and self.tools.current:
            self.viewport().setCursor(QCursor(self.tools.current.cursor))
        else:
            self.viewport().unsetCursor()

    def tool_changed(self) -> None:
        self._tool_active = False
        self._update_cursor()
        self.viewport().update()


#: selections whose box holds more traced pixels than this get their outline on a thread (a
#: ragged magic-wand selection of a 24 MP photo: ~10^5 points, ~0.5 s of path building)
OUTLINE_SYNC_PIXELS = 1 << 20


def _outline_scale(zoom: float) -> float:
    """The resolution to trace the selection outline at: the view's, rounded up to a power of two
    (1 from 100 % up). A magic-wand selection of a 24 MP photo has ~10^5 contour points at full
    resolution, each one a Python object: at 7 % zoom the same outline traced at 1/8 looks the
    same and costs ~1/64 of it (measured in benchmarks/bench_tools.py)."""
    if zoom >= 1.0:
        return 1.0
    return float(2.0 ** math.ceil(math.log2(max(zoom, 1e-3))))


def _outline_path(sel: np.ndarray, scale: float = 1.0) -> QPainterPath:
    """Outline of a selection mask as a QPainterPath in document coordinates, traced inside the
    selection's bounding box at ``scale`` of the document resolution."""
    path = QPainterPath()
    x, y, w, h = cv2.boundingRect(sel)     # non-zero pixels only: small selections stay cheap
    if w == 0 or h == 0:
        return path
    crop = sel[y:y + h, x:x + w]
    if scale < 1.0:
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        crop = cv2.resize(crop, (sw, sh), interpolation=cv2.INTER_AREA)
        fx, fy = w / sw, h / sh
    else:
        fx = fy = 1.0
    m = np.zeros((crop.shape[0] + 2, crop.shape[1] + 2), np.uint8)   # a border: contours close
    m[1:-1, 1:-1] = crop >= 128
    contours, _ = cv2.findContours(m, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    for c in contours:
        pts = c.reshape(-1, 2).astype(np.float64) - 1.0
        pts[:, 0] = pts[:, 0] * fx + x
        pts[:, 1] = pts[:, 1] * fy + y
        if len(pts) < 2:      # a lone (traced) pixel: show its square rather than nothing
            path.addRect(QRectF(pts[0, 0], pts[0, 1], max(fx, 1.0), max(fy, 1.0)))
            continue
        poly = QPolygonF([QPointF(px, py) for px, py in pts.tolist()])
        poly.append(poly[0])
        path.addPolygon(poly)
    return path


__all__ = ["Canvas"]
