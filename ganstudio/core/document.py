"""The Document: canvas size, ordered layers (bottom first), active layer, selection, metadata.

Every change made through Document methods is undoable (see history.py) and observable through
``doc.events``: ``layers`` (structure), ``active_layer``, ``selection``, ``size``, ``modified``,
``region`` (a Rect in document coordinates whose composite must be redrawn) and ``ai_mask``
(a Rect of the AI-task mask overlay that changed).

``doc.ai_mask`` is None or an HxW uint8 array (255 = the region AI tasks work on), painted with
the mask brush (brush.stroke(..., target="ai_mask")) through :meth:`Document.edit_ai_mask`.
Whole-document geometry changes (crop, resize canvas, resample: see operations.py) go through
:meth:`Document.replace_contents`, one undo step.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from psygnal import Signal, SignalGroup

from .geometry import Rect
from .history import CallbackCommand, History
from .layers import Layer, RasterLayer
from .pixels import dtype_for_bits, layers_bit_depth


class DocumentEvents(SignalGroup):
    layers = Signal()              # inserted / removed / moved / replaced
    active_layer = Signal(object)  # Layer | None
    selection = Signal(object)     # Rect (document coordinates) that changed
    size = Signal(tuple)           # (width, height)
    modified = Signal(bool)
    region = Signal(object)        # Rect of the composite to redraw
    path = Signal(object)
    ai_mask = Signal(object)       # Rect (document coordinates) of the AI mask that changed


_KEEP: Any = object()
_doc_ids = itertools.count(1)
_frame_ids = itertools.count(1)

#: (dx, dy, sx, sy): a point (x, y) of the old frame is at (x * sx + dx, y * sy + dy) in the new one
FrameTransform = tuple[float, float, float, float]


@dataclass
class LayerData:
    """New contents of one layer for :meth:`Document.replace_contents`."""

    data: np.ndarray                     # pixels (HxWx4) or labels (HxW)
    mask: np.ndarray | None = _KEEP      # _KEEP: unchanged (must still fit the new size)
    offset: tuple[int, int] | None = None


class Document:
    def __init__(self, width: int, height: int, *, name: str = "Untitled",
                 memory_limit: int | None = None) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"invalid canvas size {width}x{height}")
        self.events = DocumentEvents()
        self._width, self._height = int(width), int(height)
        self.layers: list[Layer] = []
        self._active: Layer | None = None
        # Selection: None = nothing selected (operations apply everywhere); else uint8 HxW, 255 = in.
        self.selection: np.ndarray | None = None
        # AI-task mask: None or uint8 HxW, 255 = region AI tasks work on (document coordinates).
        self.ai_mask: np.ndarray | None = None
        self.icc_profile: bytes | None = None
        self.exif: bytes | None = None
        self.metadata: dict[str, Any] = {}
        self.name = name
        self.path: Path | None = None
        self.source_format: str | None = None
        self._modified = False
        # Revision tracking (jobs place results with it, see jobs/placement.py):
        # ``uid`` names the document for the process; ``revision`` grows on every recorded step,
        # undo and redo; ``frame`` names the coordinate system (canvas size + layer placement):
        # a crop / canvas resize / resample makes a new frame whose transform from the previous one
        # is kept, and undoing it restores the previous frame id.
        self.uid = next(_doc_ids)
        self.revision = 0
        self.frame = next(_frame_ids)
        self._frames: dict[int, tuple[int, FrameTransform | None]] = {}
        self.history = History(self) if memory_limit is None else History(self, memory_limit)
        self._handlers: dict[int, list[tuple[Any, Any]]] = {}

    # -- basics -----------------------------------------------------------------------------------
    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def size(self) -> tuple[int, int]:
        return self._width, self._height

    @property
    def bounds(self) -> Rect:
        return Rect(0, 0, self._width, self._height)

    @property
    def modified(self) -> bool:
        return self._modified

    def mark_modified(self, value: bool = True) -> None:
        """Set from outside the history: False = saved now (undo / redo back to this state clear
        ``modified`` again), True = changed in a way the history cannot undo back to clean."""
        history = getattr(self, "history", None)
        if history is not None:
            history.mark_clean() if not value else history.mark_unclean()
        self._set_modified(value)

    def _set_modified(self, value: bool) -> None:
        if self._modified != value:
            self._modified = value
            self.events.modified.emit(value)

    def bump_revision(self) -> None:
        """Called by History after every recorded step, undo and redo."""
        self.revision += 1

    def frame_transform(self, frame: int) -> FrameTransform | None:
        """The transform from coordinates of ``frame`` (an earlier ``doc.frame``) to the current
        ones: identity when it is the current frame, the composition of the crops / resizes made
        since, or None when it cannot be known (``frame`` is not an ancestor of the current frame,
        e.g. after undoing past it and editing differently, or a geometry change of unknown kind)."""
        dx, dy, sx, sy = 0.0, 0.0, 1.0, 1.0
        cur = self.frame
        seen = 0
        while cur != frame:
            link = self._frames.get(cur)
            if link is None or link[1] is None or seen > 10_000:
                return None
            parent, (tx, ty, tsx, tsy) = link
            # t maps parent -> cur and (dx, dy, sx, sy) maps cur -> current: compose as A(t(p))
            dx, dy, sx, sy = tx * sx + dx, ty * sy + dy, sx * tsx, sy * tsy
            cur = parent
            seen += 1
        return dx, dy, sx, sy

    def set_path(self, path: str | Path | None) -> None:
        self.path = None if path is None else Path(path)
        if self.path is not None:
            self.name = self.path.name
        self.events.path.emit(self.path)

    def __repr__(self) -> str:
        return f"<Document {self.name!r} {self._width}x{self._height}, {len(self.layers)} layers>"

    # -- layers -----------------------------------------------------------------------------------
    @property
    def active_layer(self) -> Layer | None:
        return self._active

    @active_layer.setter
    def active_layer(self, layer: Layer | None) -> None:
        if layer is not None and layer not in self.layers:
            raise ValueError("layer is not in this document")
        if layer is not self._active:
            self._active = layer
            self.events.active_layer.emit(layer)

    def index_of(self, layer: Layer) -> int:
        for i, candidate in enumerate(self.layers):
            if candidate is layer:
                return i
        raise ValueError("layer is not in this document")

    def layer_by_uid(self, uid: int) -> Layer | None:
        return next((la for la in self.layers if la.uid == uid), None)

    def _connect(self, layer: Layer) -> None:
        def region(*_: Any) -> None:
            self.events.region.emit(layer.bounds)

        def pixels(rect: Rect) -> None:
            self.events.region.emit(rect.translated(*layer.offset))

        old_bounds = [layer.bounds]

        def moved(*_: Any) -> None:
            self.events.region.emit(old_bounds[0].union(layer.bounds))
            old_bounds[0] = layer.bounds

        pairs = [(layer.events.pixels, pixels), (layer.events.offset, moved),
                 (layer.events.mask_pixels, pixels)]
        for sig in (layer.events.visible, layer.events.opacity, layer.events.blend_mode,
                    layer.events.mask):
            pairs.append((sig, region))
        for sig, fn in pairs:
            sig.connect(fn)
        self._handlers[layer.uid] = pairs

    def _disconnect(self, layer: Layer) -> None:
        for sig, fn in self._handlers.pop(layer.uid, []):
            sig.disconnect(fn)

    def _insert(self, index: int, layer: Layer) -> None:
        self.layers.insert(index, layer)
        self._connect(layer)
        self.events.layers.emit()
        self.events.region.emit(layer.bounds)

    def _remove(self, layer: Layer) -> int:
        index = self.index_of(layer)
        del self.layers[index]
        self._disconnect(layer)
        if self._active is layer:
            self.active_layer = self.layers[min(index, len(self.layers) - 1)] if self.layers else None
        self.events.layers.emit()
        self.events.region.emit(layer.bounds)
        return index

    def add_layer(self, layer: Layer, index: int | None = None, *, activate: bool = True,
                  label: str | None = None) -> Layer:
        """Insert ``layer`` (default: above the active layer, else on top). One undo step."""
        if index is None:
            index = self.index_of(self._active) + 1 if self._active is not None else len(self.layers)
        index = max(0, min(index, len(self.layers)))
        previous_active = self._active

        def do() -> None:
            self._insert(index, layer)
            if activate:
                self.active_layer = layer

        def undo() -> None:
            self._remove(layer)
            if previous_active in self.layers:
                self.active_layer = previous_active

        do()
        self.history.push(CallbackCommand(label or f"Add layer “{layer.name}”", undo, do,
                                          nbytes=_layer_nbytes(layer)))
        return layer

    def new_raster_layer(self, name: str = "Layer", **attrs: Any) -> RasterLayer:
        dtype = dtype_for_bits(layers_bit_depth(self.layers))
        layer = RasterLayer.blank(name, self._width, self._height, dtype=dtype, **attrs)
        self.add_layer(layer)
        return layer

    def remove_layer(self, layer: Layer) -> None:
        index = self.index_of(layer)
        was_active = self._active is layer

        def do() -> None:
            self._remove(layer)

        def undo() -> None:
            self._insert(index, layer)
            if was_active:
                self.active_layer = layer

        do()
        self.history.push(CallbackCommand(f"Delete layer “{layer.name}”", undo, do,
                                          nbytes=_layer_nbytes(layer)))

    def duplicate_layer(self, layer: Layer) -> Layer:
        return self.add_layer(layer.duplicate(), self.index_of(layer) + 1,
                              label=f"Duplicate layer “{layer.name}”")

    def move_layer(self, layer: Layer, new_index: int) -> None:
        """Reorder: ``new_index`` is the position in the bottom-first list after the move."""
        old_index = self.index_of(layer)
        new_index = max(0, min(new_index, len(self.layers) - 1))
        if new_index == old_index:
            return

        def place(i: int) -> None:
            self.layers.remove(layer)
            self.layers.insert(i, layer)
            self.events.layers.emit()
            self.events.region.emit(layer.bounds)

        place(new_index)
        self.history.push(CallbackCommand(f"Move layer “{layer.name}”",
                                          lambda: place(old_index), lambda: place(new_index)))

    def set_layer_attr(self, layer: Layer, attr: str, value: Any, *, merge: bool = False) -> None:
        """Set name/visible/opacity/blend_mode/locked/offset/mask_enabled as one undo step.

        ``merge=True`` folds the change into the previous step when it changed the same attribute
        of the same layer (slider drags make one step).
        """
        old = getattr(layer, attr)
        if old == value:
            return
        setter = (layer.set_mask_enabled if attr == "mask_enabled"
                  else (lambda v: setattr(layer, attr, v)))
        setter(value)
        new = getattr(layer, attr)
        cmd = CallbackCommand(f"Layer {attr.replace('_', ' ')}", lambda: setter(old), lambda: setter(new))
        self.history.push_mergeable(cmd, (layer.uid, attr), merge=merge)

    # -- pixels -----------------------------------------------------------------------------------
    @contextmanager
    def edit_pixels(self, layer: Layer, rect: Rect | None = None, label: str = "Paint",
                    target: str = "pixels", *,
                    regions: Iterable[Rect] | None = None) -> Iterator[np.ndarray]:
        """Yield the writable array of ``layer`` (pixels, labels, or mask with target="mask").

        ``rect`` (layer coordinates) bounds what the caller will modify: its tiles are snapshotted
        for undo first and a pixels event (``mask_pixels`` for the mask) for it is emitted
        afterwards. ``regions`` (optional, inside ``rect``) narrows the snapshot to the tiles of
        those rects (a brush segment's dabs), so a long diagonal stroke does not copy its whole
        bounding box. Raises PermissionError if the layer is locked.
        """
        if layer.locked:
            raise PermissionError(f"layer “{layer.name}” is locked")
        full = Rect(0, 0, layer.width, layer.height)
        rect = full if rect is None else rect.intersect(full)
        if target == "labels":
            target = "pixels"
        if target == "mask":
            if layer.mask is None:
                raise ValueError("layer has no mask")
            array = layer.mask
        elif target == "pixels":
            array = layer.data
        else:
            raise ValueError(f"unknown edit target {target!r}")
        with self.history.transaction(label):
            for r in ([rect] if regions is None else regions):
                self.history.record_tiles(layer, r.intersect(rect), target)
            yield array
        if target == "mask":
            layer.events.mask_pixels.emit(rect)
        else:
            layer.notify_pixels(rect)

    # -- AI mask ----------------------------------------------------------------------------------
    def _apply_ai_mask(self, mask: np.ndarray | None) -> None:
        self.ai_mask = mask
        self.events.ai_mask.emit(self.bounds)

    @contextmanager
    def edit_ai_mask(self, rect: Rect | None = None, label: str = "Paint AI mask", *,
                     regions: Iterable[Rect] | None = None) -> Iterator[np.ndarray]:
        """Yield the writable AI mask (created empty if there is none), tile undo like edit_pixels.

        ``rect`` is in document coordinates; an ``ai_mask(rect)`` event follows the edit.
        """
        rect = self.bounds if rect is None else rect.intersect(self.bounds)
        with self.history.transaction(label):
            if self.ai_mask is None:
                created = np.zeros((self._height, self._width), np.uint8)
                self._apply_ai_mask(created)
                self.history.push(CallbackCommand(
                    "Create AI mask", lambda: self._apply_ai_mask(None),
                    lambda: self._apply_ai_mask(created), nbytes=created.nbytes))
            for r in ([rect] if regions is None else regions):
                self.history.record_tiles(self, r.intersect(rect), "ai_mask")
            yield self.ai_mask
        self.events.ai_mask.emit(rect)

    def set_ai_mask(self, mask: np.ndarray | None, label: str = "Set AI mask") -> None:
        """Replace the whole AI mask (HxW uint8, 255 = AI works here; None = none). Undoable."""
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (self._height, self._width):
                raise ValueError(f"AI mask shape {mask.shape} != document {(self._height, self._width)}")
            mask = np.ascontiguousarray(mask, dtype=np.uint8)
        old = self.ai_mask
        if old is None and mask is None:
            return
        self._apply_ai_mask(mask)
        self.history.push(CallbackCommand(
            label, lambda: self._apply_ai_mask(old), lambda: self._apply_ai_mask(mask),
            nbytes=(0 if old is None else old.nbytes) + (0 if mask is None else mask.nbytes)))

    def clear_ai_mask(self) -> None:
        """Remove the AI mask (one undo step)."""
        self.set_ai_mask(None, label="Clear AI mask")

    # -- selection --------------------------------------------------------------------------------
    def set_selection(self, mask: np.ndarray | None, label: str = "Select") -> None:
        """Replace the selection (uint8 HxW, 255 = selected; None = select nothing). Undoable.

        When a selection exists and a new one replaces it, the change is written into the
        current array and undo keeps only the changed tiles (like pixel edits); the selection
        event then carries the changed rect. From / to "nothing selected", the arrays are swapped.
        """
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (self._height, self._width):
                raise ValueError(f"selection shape {mask.shape} != document {(self._height, self._width)}")
            mask = np.ascontiguousarray(mask, dtype=np.uint8)
            if not mask.any():
                mask = None
        old = self.selection
        if old is not None and mask is not None:
            changed = _changed_rect(old, mask)
            if changed is None:
                return
        else:
            changed = None
        # small changes: tiles (before + after of the changed box); large ones: swap the arrays
        # (the step then holds one old array, less than two copies of most of the canvas)
        if old is not None and changed is not None and 2 * changed.w * changed.h <= old.size:
            with self.history.transaction(label):
                self.history.record_tiles(self, changed, "selection")
                old[changed.slices()] = mask[changed.slices()]
            self.events.selection.emit(changed)
            return

        def apply(m: np.ndarray | None) -> None:
            self.selection = m
            self.events.selection.emit(self.bounds)

        if old is None and mask is None:
            return
        apply(mask)
        nbytes = max(0 if old is None else old.nbytes, 0 if mask is None else mask.nbytes)
        self.history.push(CallbackCommand(label, lambda: apply(old), lambda: apply(mask), nbytes=nbytes))

    def selection_bounds(self) -> Rect | None:
        from .selection import mask_bounds  # the one bounding-box helper (selection imports us)

        return mask_bounds(self.selection)

    # -- whole-document replacement (crop, resize, resample: see operations.py) ----------------------
    def _set_size(self, width: int, height: int) -> None:
        self._width, self._height = int(width), int(height)
        self.events.size.emit((self._width, self._height))
        self.events.region.emit(self.bounds)

    def replace_contents(self, label: str, *, size: tuple[int, int] | None = None,
                         layers: Mapping[Layer, LayerData] | None = None,
                         selection: np.ndarray | None = _KEEP,
                         ai_mask: np.ndarray | None = _KEEP,
                         transform: FrameTransform | None = None) -> None:
        """Swap canvas size, layer arrays / masks / offsets, selection and AI mask: one undo step.

        Arrays are swapped by reference (the old ones are kept by the undo step), so the caller
        must hand over fresh arrays. Omitted items stay as they are.
        ``transform`` (dx, dy, sx, sy): how old document coordinates map to the new ones (crop:
        (-x, -y, 1, 1)); a size change or a transform makes a new coordinate frame (``frame``),
        and results of jobs started before are re-targeted with it (None with a size change:
        unknown, such results are refused).
        """
        layers = dict(layers or {})
        new_size = self.size if size is None else (int(size[0]), int(size[1]))
        if new_size[0] <= 0 or new_size[1] <= 0:
            raise ValueError(f"invalid canvas size {new_size[0]}x{new_size[1]}")
        old_state = self._capture(layers)
        new_layers = {}
        for layer, ld in layers.items():
            old_data, old_mask, old_offset = old_state["layers"][layer]
            mask = old_mask if ld.mask is _KEEP else ld.mask
            new_layers[layer] = (ld.data, mask, old_offset if ld.offset is None else ld.offset)
        new_frame = self.frame
        identity = transform is None or tuple(transform) == (0, 0, 1, 1)
        if new_size != self.size or not identity:
            new_frame = next(_frame_ids)
            self._frames[new_frame] = (self.frame, None if transform is None else
                                       tuple(float(v) for v in transform))  # type: ignore[assignment]
        old_state["frame"] = self.frame
        new_state = {
            "frame": new_frame,
            "size": new_size, "layers": new_layers,
            "selection": old_state["selection"] if selection is _KEEP else selection,
            "ai_mask": old_state["ai_mask"] if ai_mask is _KEEP else ai_mask,
        }
        for key in ("selection", "ai_mask"):
            m = new_state[key]
            if m is not None and m.shape != (new_size[1], new_size[0]):
                raise ValueError(f"{key} shape {m.shape} does not fit {new_size}")
        if new_state["selection"] is not None and not new_state["selection"].any():
            new_state["selection"] = None
        self._restore(new_state)

        def arrays(state: dict) -> dict[int, np.ndarray]:
            found = [a for d, m, _ in state["layers"].values() for a in (d, m)]
            found += [state["selection"], state["ai_mask"]]
            return {id(a): a for a in found if a is not None}

        # memory held by the step alone: the arrays of the state that is not live
        old_arrays, new_arrays = arrays(old_state), arrays(new_state)
        only_old = sum(a.nbytes for k, a in old_arrays.items() if k not in new_arrays)
        only_new = sum(a.nbytes for k, a in new_arrays.items() if k not in old_arrays)
        self.history.push(CallbackCommand(label, lambda: self._restore(old_state),
                                          lambda: self._restore(new_state),
                                          nbytes=max(only_old, only_new)))

    def _capture(self, layers: Iterable[Layer]) -> dict:
        return {
            "size": self.size,
            "layers": {la: (la.data, la.mask, la.offset) for la in layers},
            "selection": self.selection, "ai_mask": self.ai_mask,
        }

    def _restore(self, state: dict) -> None:
        old_bounds = self.bounds
        self.frame = state.get("frame", self.frame)
        if state["size"] != self.size:
            self._width, self._height = state["size"]
            self.events.size.emit(self.size)
        for layer, (data, mask, offset) in state["layers"].items():
            layer.replace_data(data, mask)
            layer.offset = offset
        self.selection = state["selection"]
        self.events.selection.emit(self.bounds)
        self._apply_ai_mask(state["ai_mask"])
        self.events.region.emit(self.bounds.union(old_bounds))


def _changed_rect(a: np.ndarray, b: np.ndarray) -> Rect | None:
    """Bounding rect of the pixels where two same-shaped 2-D arrays differ (row bands, no big
    temporaries), or None."""
    h, w = a.shape
    rows: list[int] = []
    x0, x1 = w, 0
    band = max(1, (1 << 20) // max(w, 1))
    for y in range(0, h, band):
        diff = a[y:y + band] != b[y:y + band]
        r = np.flatnonzero(diff.any(axis=1))
        if r.size:
            rows += [y + int(r[0]), y + int(r[-1])]
            c = np.flatnonzero(diff.any(axis=0))
            x0, x1 = min(x0, int(c[0])), max(x1, int(c[-1]) + 1)
    if not rows:
        return None
    return Rect.from_corners(x0, min(rows), x1, max(rows) + 1)


def _layer_nbytes(layer: Layer) -> int:
    arr = getattr(layer, "pixels", None)
    if arr is None:
        arr = getattr(layer, "labels", None)
    n = 0 if arr is None else arr.nbytes
    return n + (0 if layer.mask is None else layer.mask.nbytes)
