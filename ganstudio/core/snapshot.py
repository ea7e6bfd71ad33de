"""Copy-on-write snapshots of a document, so saves and autosaves never stall the window.

``DocumentSnapshot(doc)`` is taken on the GUI thread and costs O(layers): it keeps *references* to
the layer arrays (pixels / labels, masks, selection, AI mask) and copies of the small things
(attributes, metadata, ICC, EXIF). The document keeps working on the same arrays; before any
in-place write, the core (``history.TilesCommand``, the only place that writes pixels in place)
calls :func:`before_write`, which copies the 256x256 tiles about to change into every live
snapshot that still needs them. A worker thread then calls :meth:`DocumentSnapshot.materialize`
to assemble a private Document from the saved tiles and the untouched live ones, and writes it.

Arrays that are *replaced* (resample, crop, undo of those) need nothing: the snapshot holds the
old array object, which nobody writes any more. Written by hand because no library offers
tile-granular copy-on-write over numpy arrays shared with a live editor.
"""

from __future__ import annotations

import json
import threading
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from .geometry import TILE, Rect, tile_rect

if TYPE_CHECKING:
    from .document import Document

_live: weakref.WeakSet[DocumentSnapshot] = weakref.WeakSet()
_live_lock = threading.Lock()


def before_write(array: np.ndarray, rect: Rect) -> None:
    """Called by the core right before ``array[rect]`` is written in place (any thread that edits
    the document: the GUI thread). Cheap when no snapshot is alive."""
    if not _live:
        return
    with _live_lock:
        snaps = list(_live)
    for snap in snaps:
        snap._preserve(array, rect)


class _Frozen:
    """One array as it was when the snapshot was taken: saved tiles + the live array."""

    __slots__ = ("array", "tiles", "lock")

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.tiles: dict[tuple[int, int], np.ndarray] = {}
        self.lock = threading.Lock()

    def preserve(self, rect: Rect) -> None:
        bounds = Rect(0, 0, self.array.shape[1], self.array.shape[0])
        rect = rect.intersect(bounds)
        if rect.is_empty():
            return
        with self.lock:
            for key in rect.tiles():
                if key not in self.tiles:
                    self.tiles[key] = self.array[tile_rect(*key).intersect(bounds).slices()].copy()

    def copy(self, rect: Rect | None = None) -> np.ndarray:
        """The array as frozen (``rect``: only that part, array coordinates, clipped), as a new
        contiguous array (on the calling, worker thread).

        Tile by tile under the lock, so a tile is either still untouched (read live) or already
        preserved (read the copy): never half-written."""
        a = self.array
        bounds = Rect(0, 0, a.shape[1], a.shape[0])
        rect = bounds if rect is None else rect.intersect(bounds)
        out = np.empty((rect.h, rect.w) + a.shape[2:], a.dtype)
        if rect.is_empty():
            return out
        # a row of tiles at a time: one copy per band when none of its tiles was preserved
        # (the usual case: 16 copies instead of 384 for a 24 MP layer, ~2x faster)
        by_row: dict[int, list[tuple[int, int]]] = {}
        for key in rect.tiles():
            by_row.setdefault(key[1], []).append(key)
        for keys in by_row.values():
            band = Rect(rect.x, tile_rect(*keys[0]).y, rect.w, TILE).intersect(rect)
            with self.lock:
                if not any(k in self.tiles for k in keys):
                    out[band.translated(-rect.x, -rect.y).slices()] = a[band.slices()]
                    continue
                for key in keys:
                    part = tile_rect(*key).intersect(bounds).intersect(rect)
                    if part.is_empty():
                        continue
                    dst = part.translated(-rect.x, -rect.y).slices()
                    saved = self.tiles.get(key)
                    if saved is not None:
                        tile = tile_rect(*key).intersect(bounds)
                        out[dst] = saved[part.translated(-tile.x, -tile.y).slices()]
                    else:
                        out[dst] = a[part.slices()]
        return out


class DocumentSnapshot:
    """A frozen, cheap view of ``doc`` for a background writer. Use as a context manager or call
    :meth:`release` when done (until then, edits copy the tiles they touch)."""

    def __init__(self, doc: Document, *, extras: bool = True) -> None:
        """``extras=False``: the selection and the AI mask are left out (job inputs)."""
        from .layers import LabelLayer

        self.revision = getattr(doc, "revision", 0)
        self.uid = getattr(doc, "uid", 0)          # with revision: names the state (autosave stamps)
        self.width, self.height, self.name = doc.width, doc.height, doc.name
        self._frozen: dict[int, _Frozen] = {}
        self._layers: list[dict[str, Any]] = []
        for layer in doc.layers:
            entry: dict[str, Any] = {"kind": "label" if isinstance(layer, LabelLayer) else "raster",
                                     "attrs": layer.attributes(), "active": layer is doc.active_layer,
                                     "data": self._freeze(layer.data),
                                     "mask": None if layer.mask is None else self._freeze(layer.mask)}
            if isinstance(layer, LabelLayer):
                entry["label"] = {"palette": list(layer.palette), "palette_name": layer.palette_name,
                                  "transparent_id": layer.transparent_id}
            self._layers.append(entry)
        # layer groups (core.document): the tree as data, leaves named by their doc.layers index
        struct = getattr(doc, "group_structure", None)
        self._groups = struct() if callable(struct) else None
        self._selection = None if doc.selection is None or not extras else self._freeze(doc.selection)
        ai = getattr(doc, "ai_mask", None) if extras else None
        self._ai_mask = None if ai is None else self._freeze(ai)
        self.icc_profile, self.exif = doc.icc_profile, doc.exif
        self.metadata = json.loads(json.dumps(doc.metadata, default=str))
        self.source_format = doc.source_format
        self.path = doc.path
        self._released = False
        with _live_lock:
            _live.add(self)

    def _freeze(self, array: np.ndarray) -> _Frozen:
        f = self._frozen.get(id(array))
        if f is None or f.array is not array:
            f = self._frozen[id(array)] = _Frozen(array)
        return f

    def _preserve(self, array: np.ndarray, rect: Rect) -> None:
        f = self._frozen.get(id(array))
        if f is not None and f.array is array and not self._released:
            f.preserve(rect)

    @property
    def preserved_bytes(self) -> int:
        """Memory held by tiles copied because the document changed after the snapshot."""
        return sum(t.nbytes for f in self._frozen.values() for t in list(f.tiles.values()))

    def materialize(self, rect: Rect | None = None, *, extras: bool = True,
                    layers: list[int] | None = None) -> Document:
        """A private Document equal to ``doc`` at snapshot time (call it on the worker thread).

        ``rect`` (document coordinates): only what is needed to composite that rect is copied:
        each layer is cropped to it (its offset moved along), so ``composite(copy, rect)`` equals
        ``composite(doc, rect)`` at snapshot time for a fraction of the memory. ``extras=False``
        leaves the selection and the AI mask out (job inputs do not need them). ``layers``: only
        these ``doc.layers`` indexes are copied (a tool that reads one layer; the copy then has no
        groups, so composite it only when every layer is in it)."""
        from .document import Document as Doc
        from .layers import LabelLayer, RasterLayer

        copy = Doc(self.width, self.height, name=self.name)
        for i, e in enumerate(self._layers):
            if layers is not None and i not in layers:
                continue
            attrs = dict(e["attrs"])
            name = attrs.pop("name")
            if rect is None:
                mask = None if e["mask"] is None else e["mask"].copy()
                data = e["data"].copy()
            else:
                ox, oy = attrs.get("offset", (0, 0))
                shape = e["data"].array.shape
                local = rect.translated(-ox, -oy).intersect(Rect(0, 0, shape[1], shape[0]))
                if local.is_empty():
                    # outside the rect: one transparent pixel just outside it (keeps the order)
                    local = Rect(0, 0, 1, 1)
                    data = np.zeros((1, 1) + shape[2:], e["data"].array.dtype)
                    mask = None if e["mask"] is None else np.zeros((1, 1), np.uint8)
                    attrs["offset"] = (rect.x - 1, rect.y - 1)
                else:
                    data = e["data"].copy(local)
                    mask = None if e["mask"] is None else e["mask"].copy(local)
                    attrs["offset"] = (ox + local.x, oy + local.y)
            if e["kind"] == "label":
                new = LabelLayer(name, data, e["label"]["palette"], palette_name=e["label"]["palette_name"],
                                 transparent_id=e["label"]["transparent_id"], mask=mask, **attrs)
            else:
                new = RasterLayer(name, data, mask=mask, **attrs)
            copy.layers.append(new)   # not through add_layer: no history, no listeners
            if e["active"]:
                copy._active = new  # noqa: SLF001 - private copy
        if self._groups and layers is None:
            copy.sync_tree()
            copy.apply_group_structure(self._groups)
        if extras:
            copy.selection = None if self._selection is None else self._selection.copy()
            if self._ai_mask is not None:
                copy.ai_mask = self._ai_mask.copy()  # type: ignore[attr-defined]
        copy.icc_profile, copy.exif = self.icc_profile, self.exif
        copy.metadata = json.loads(json.dumps(self.metadata))
        copy.source_format = self.source_format
        copy.path = self.path
        return copy

    def release(self) -> None:
        self._released = True
        with _live_lock:
            _live.discard(self)
        for f in self._frozen.values():
            with f.lock:
                f.tiles.clear()

    def __enter__(self) -> DocumentSnapshot:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def live_snapshots() -> int:
    """How many snapshots are alive (tests: none may leak)."""
    with _live_lock:
        return len(_live)


__all__ = ["DocumentSnapshot", "before_write", "live_snapshots"]
