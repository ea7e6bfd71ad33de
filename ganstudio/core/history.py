"""Undo/redo as commands. Pixel edits store only the 256x256 tiles they touched.

Usage::

    with doc.history.transaction("Brush stroke"):      # one undo step (nestable)
        with doc.edit_pixels(layer, rect) as px:       # snapshots touched tiles first
            px[...] = ...

``begin(label)`` / ``end()`` do the same for edits spread over many events (a mouse stroke).
Memory is bounded: when the stored commands exceed ``memory_limit`` bytes, the oldest steps are
dropped (the newest step is always kept).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
from psygnal import Signal, SignalGroup

from .geometry import Rect, tile_rect
from .snapshot import before_write

if TYPE_CHECKING:
    from .document import Document
    from .layers import Layer


def _layer_array(layer: Layer) -> np.ndarray:
    arr = getattr(layer, "pixels", None)
    return arr if arr is not None else layer.labels  # type: ignore[attr-defined]


#: Targets of tile commands. Layer targets: "pixels" (RasterLayer.pixels or LabelLayer.labels),
#: "labels" (same), "mask" (the layer mask). Document targets (owner = the Document):
#: "ai_mask" and "selection".
LAYER_TARGETS = ("pixels", "labels", "mask")
DOCUMENT_TARGETS = ("ai_mask", "selection")


def target_array(owner: Any, target: str) -> np.ndarray | None:
    """The array that a tile command of ``target`` on ``owner`` (layer or document) edits."""
    if target == "mask":
        return owner.mask
    if target in DOCUMENT_TARGETS:
        return getattr(owner, target)
    if target in ("pixels", "labels"):
        return _layer_array(owner)
    raise ValueError(f"unknown tile target {target!r}")


def notify_target(owner: Any, target: str, rect: Rect) -> None:
    """Emit the event that reports a change of ``rect`` (array coordinates) of ``target``."""
    if rect.is_empty():
        return
    if target == "mask":
        owner.events.mask_pixels.emit(rect)
    elif target == "ai_mask":
        owner.events.ai_mask.emit(rect)
    elif target == "selection":
        owner.events.selection.emit(rect)
    else:
        owner.notify_pixels(rect)


class Command:
    label = ""

    def undo(self, doc: Document) -> None:
        raise NotImplementedError

    def redo(self, doc: Document) -> None:
        raise NotImplementedError

    @property
    def nbytes(self) -> int:
        return 0

    def finalize(self) -> None:
        """Called once when the enclosing step closes."""


class CallbackCommand(Command):
    """A command given as two callables (structural edits: add/remove/move layer, attributes)."""

    def __init__(self, label: str, undo: Callable[[], None], redo: Callable[[], None],
                 nbytes: int = 0) -> None:
        self.label, self._undo, self._redo, self._nbytes = label, undo, redo, nbytes

    def undo(self, doc: Document) -> None:
        self._undo()

    def redo(self, doc: Document) -> None:
        self._redo()

    @property
    def nbytes(self) -> int:
        return self._nbytes


class TilesCommand(Command):
    """Old and new contents of the 256x256 tiles of one array touched by an edit.

    ``owner`` is a layer (targets "pixels"/"labels"/"mask") or the Document ("ai_mask",
    "selection"). Whole tiles are snapshotted before the edit; :meth:`finalize` drops the tiles
    that did not change and crops the others to the box of the changed pixels, so the memory
    of a step is at most 2 x (touched tiles), usually much less.
    """

    def __init__(self, owner: Any, target: str = "pixels") -> None:
        self.owner = owner
        self.layer = owner  # backwards-compatible name
        self.target = target
        self.label = "Edit pixels"
        self.before: dict[tuple[int, int], np.ndarray] = {}
        self.after: dict[tuple[int, int], np.ndarray] = {}
        # after finalize(): the changed box of each tile (array coordinates); before/after hold
        # exactly that box
        self.rects: dict[tuple[int, int], Rect] = {}
        arr = self._array()
        self.shape = arr.shape
        self.array_id = id(arr)

    def _array(self) -> np.ndarray:
        arr = target_array(self.owner, self.target)
        if arr is None:
            raise ValueError(f"{self.target} of {self.owner!r} does not exist")
        return arr

    def matches_current(self) -> bool:
        arr = target_array(self.owner, self.target)
        return arr is not None and id(arr) == self.array_id and arr.shape == self.shape

    def snapshot(self, rect: Rect) -> None:
        arr = self._array()
        bounds = Rect(0, 0, arr.shape[1], arr.shape[0])
        before_write(arr, rect)   # copy-on-write snapshots (saves in progress) keep the old tiles
        for key in rect.intersect(bounds).tiles():
            if key not in self.before:
                tr = tile_rect(*key).intersect(bounds)
                self.before[key] = arr[tr.slices()].copy()

    def finalize(self) -> None:
        """Keep, per touched tile, only the bounding box of the pixels that really changed."""
        if getattr(self, "prepared", False):
            return      # built from a TileEdit: before / after / rects are final already
        arr = self._array()
        bounds = Rect(0, 0, arr.shape[1], arr.shape[0])
        for key in list(self.before):
            tr = tile_rect(*key).intersect(bounds)
            tile = arr[tr.slices()]
            old = self.before[key]
            diff = tile != old
            if diff.ndim == 3:
                diff = diff.any(axis=2)
            rows = np.flatnonzero(diff.any(axis=1))
            if rows.size == 0:
                del self.before[key]  # untouched in the end: store nothing
                continue
            cols = np.flatnonzero(diff[rows[0]:rows[-1] + 1].any(axis=0))
            local = Rect.from_corners(int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
            box = local.translated(tr.x, tr.y)
            self.rects[key] = box
            if local != Rect(0, 0, tr.w, tr.h):
                self.before[key] = old[local.slices()].copy()
            self.after[key] = arr[box.slices()].copy()

    def _write(self, tiles: dict[tuple[int, int], np.ndarray]) -> None:
        arr = self._array()
        dirty = Rect(0, 0, 0, 0)
        for key, data in tiles.items():
            box = self.rects[key]
            before_write(arr, box)
            arr[box.slices()] = data
            dirty = dirty.union(box)
        notify_target(self.owner, self.target, dirty)

    def undo(self, doc: Document) -> None:
        self._write(self.before)

    def redo(self, doc: Document) -> None:
        self._write(self.after)

    def is_empty(self) -> bool:
        return not self.before

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.before.values()) + sum(a.nbytes for a in self.after.values())


class TileEdit:
    """A pixel edit prepared away from the live array (on a worker thread, from a copy): per touched
    256x256 tile (array coordinates of ``target``), the box of the pixels that change with their
    old and new values. :meth:`History.apply_edit` writes it into the live array and records it as
    one undo step without snapshotting, comparing or copying the tiles again (a 24 MP change then
    costs the GUI thread one write of the changed pixels).

    ``add(rect, before, after)``: old / new contents of ``rect`` (any size; split by tile here, only
    the changed box of each tile kept, unchanged tiles dropped). Regions must not share a tile.
    """

    def __init__(self, target: str = "pixels", shape: tuple[int, ...] | None = None) -> None:
        self.target = "pixels" if target == "labels" else target
        self.shape = shape
        self.rects: dict[tuple[int, int], Rect] = {}
        self.before: dict[tuple[int, int], np.ndarray] = {}
        self.after: dict[tuple[int, int], np.ndarray] = {}
        self.keys_seen: set[tuple[int, int]] = set()

    @staticmethod
    def _own(arr: np.ndarray, part: np.ndarray) -> np.ndarray:
        if part.shape == arr.shape and arr.flags.c_contiguous and arr.flags.owndata:
            return arr          # the caller's own tile-sized array: keep it, no copy
        return part.copy()

    def add(self, rect: Rect, before: np.ndarray, after: np.ndarray) -> None:
        if before.shape != after.shape or before.shape[:2] != (rect.h, rect.w):
            raise ValueError(f"before {before.shape} / after {after.shape} do not match {rect}")
        for key in rect.tiles():
            if key in self.keys_seen:
                raise ValueError(f"tile {key} was added already")
            self.keys_seen.add(key)
            part = tile_rect(*key).intersect(rect)
            local = part.translated(-rect.x, -rect.y)
            old, new = before[local.slices()], after[local.slices()]
            if (np.any(old[0] != new[0]) and np.any(old[-1] != new[-1])
                    and np.any(old[:, 0] != new[:, 0]) and np.any(old[:, -1] != new[:, -1])):
                box = Rect(0, 0, part.w, part.h)     # changes on all four borders: the whole tile
            else:
                diff = old != new
                if diff.ndim == 3:
                    diff = diff.any(axis=2)
                rows = np.flatnonzero(diff.any(axis=1))
                if rows.size == 0:
                    continue
                cols = np.flatnonzero(diff[rows[0]:rows[-1] + 1].any(axis=0))
                box = Rect.from_corners(int(cols[0]), int(rows[0]), int(cols[-1]) + 1,
                                        int(rows[-1]) + 1)
            if box == Rect(0, 0, part.w, part.h):
                self.before[key], self.after[key] = self._own(before, old), self._own(after, new)
            else:
                self.before[key] = old[box.slices()].copy()
                self.after[key] = new[box.slices()].copy()
            self.rects[key] = box.translated(part.x, part.y)

    @property
    def bounds(self) -> Rect | None:
        """The box of every changed pixel (array coordinates), None when nothing changes."""
        out: Rect | None = None
        for r in self.rects.values():
            out = r if out is None else out.union(r)
        return out

    def is_empty(self) -> bool:
        return not self.rects

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.before.values()) + sum(a.nbytes for a in self.after.values())


class Step(Command):
    """One undo step: an ordered list of commands."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.commands: list[Command] = []
        self.merge_key: Any = None  # set by History.push_mergeable
        self._tiles: dict[tuple[int, str], TilesCommand] = {}
        #: scratch space of tools working across several calls inside this step (brush strokes);
        #: dropped when the step closes.
        self.scratch: dict[Any, Any] = {}

    def tiles_for(self, owner: Any, target: str) -> TilesCommand:
        """The tile command of ``owner``'s ``target`` array in this step (created on first use).

        A new command starts when the array was replaced (other object or shape) since.
        """
        if target == "labels":
            target = "pixels"
        key = (id(owner), target)
        cmd = self._tiles.get(key)
        if cmd is None or not cmd.matches_current():
            cmd = TilesCommand(owner, target)
            self._tiles[key] = cmd
            self.commands.append(cmd)
        return cmd

    def finalize(self) -> None:
        for c in self.commands:
            c.finalize()
        self.commands = [c for c in self.commands
                         if not (isinstance(c, TilesCommand) and c.is_empty())]
        self._tiles.clear()
        self.scratch.clear()

    def undo(self, doc: Document) -> None:
        for c in reversed(self.commands):
            c.undo(doc)

    def redo(self, doc: Document) -> None:
        for c in self.commands:
            c.redo(doc)

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.commands)


class HistoryEvents(SignalGroup):
    changed = Signal()  # undo/redo stacks changed


#: clean-state marker: the saved state is the one with an empty undo stack
_EMPTY = object()


class History:
    def __init__(self, doc: Document, memory_limit: int = 1024 * 1024 * 1024) -> None:
        self.doc = doc
        self.memory_limit = memory_limit
        self.events = HistoryEvents()
        self._undo: list[Step] = []
        self._redo: list[Step] = []
        self._open: Step | None = None
        self._depth = 0
        self._replaying = False
        # The saved ("clean") state, as QUndoStack's clean index: the step on top of the undo stack
        # when the document was saved (_EMPTY: no step), None when no state reachable by undo /
        # redo is the saved one. Undoing or redoing back to it clears ``doc.modified``.
        self._clean: Any = _EMPTY
        self._dropped = False           # oldest steps were dropped (memory limit)

    # -- clean state ------------------------------------------------------------------------------
    def mark_clean(self) -> None:
        """The current state is the saved one (Document.mark_modified(False) calls this)."""
        self._clean = self._undo[-1] if self._undo else _EMPTY

    def mark_unclean(self) -> None:
        """No state in the history is the saved one (e.g. recovered or changed outside it)."""
        self._clean = None

    @property
    def is_clean(self) -> bool:
        return self._open is None and (self._undo[-1] if self._undo else _EMPTY) is self._clean

    def _sync_modified(self) -> None:
        """After undo / redo: modified unless back at the saved state."""
        setter = getattr(self.doc, "_set_modified", None)  # the owner may be a test double
        if setter is not None:
            setter(not self.is_clean)
        else:
            self.doc.mark_modified()

    def _mark_changed(self) -> None:
        setter = getattr(self.doc, "_set_modified", None)
        if setter is not None:
            setter(True)
        else:
            self.doc.mark_modified()

    # -- recording --------------------------------------------------------------------------------
    def begin(self, label: str) -> None:
        if self._depth == 0:
            self._open = Step(label)
        self._depth += 1

    def end(self) -> None:
        if self._depth == 0:
            raise RuntimeError("History.end() without begin()")
        self._depth -= 1
        if self._depth == 0:
            step, self._open = self._open, None
            assert step is not None
            step.finalize()
            if step.commands:
                self._undo.append(step)
                self._redo.clear()
                self._enforce_limit()
                self._bump()
                self._mark_changed()
            self.events.changed.emit()

    @contextmanager
    def transaction(self, label: str) -> Iterator[Step]:
        self.begin(label)
        try:
            assert self._open is not None
            yield self._open
        finally:
            self.end()

    @property
    def recording(self) -> bool:
        return not self._replaying

    def push(self, command: Command) -> None:
        """Record an already-applied command (its own step unless a transaction is open)."""
        if self._replaying:
            return
        with self.transaction(command.label) as step:
            step.commands.append(command)

    def push_mergeable(self, command: CallbackCommand, key: Any, *, merge: bool) -> None:
        """Record like ``push``. With ``merge=True``, when the newest undo step was recorded under the
        same ``key`` and nothing was undone or opened since, fold ``command`` into that step instead
        (its undo goes back to the first value, its redo to the newest): a slider drag is one step."""
        if self._replaying:
            return
        last = self._undo[-1] if self._undo else None
        if (merge and last is not None and last.merge_key == key and not self._redo
                and self._open is None):
            first = last.commands[0]
            assert isinstance(first, CallbackCommand)
            last.commands = [CallbackCommand(last.label, first._undo, command._redo)]
            if last is self._clean:      # the saved state was folded away
                self._clean = None
            self._bump()
            self._mark_changed()
            return
        self.push(command)
        if self._open is None and self._undo:
            self._undo[-1].merge_key = key

    @property
    def open_step(self) -> Step | None:
        """The step being recorded (inside begin/end or a transaction), else None."""
        return self._open

    def record_tiles(self, layer: Layer | Document, rect: Rect, target: str = "pixels") -> None:
        """Snapshot the tiles of ``rect`` (array coordinates) before they are modified.

        ``layer`` is the owner of the array: a layer, or the Document for "ai_mask"/"selection".
        """
        if self._replaying:
            return
        if self._open is None:
            raise RuntimeError("record_tiles() needs an open transaction")
        self._open.tiles_for(layer, target).snapshot(rect)

    def apply_edit(self, owner: Any, edit: TileEdit, label: str) -> Rect | None:
        """Write a prepared :class:`TileEdit` into ``owner``'s array (layer: "pixels" / "mask";
        document: "ai_mask" / "selection") and record it as one undo step (inside an open
        transaction: part of it). The caller makes sure the array still holds the edit's "before"
        values (e.g. the document's revision did not change since the edit was computed) and that
        the layer is not locked. Returns the changed box (array coordinates), None when empty."""
        arr = target_array(owner, edit.target)
        if arr is None:
            raise ValueError(f"{edit.target} of {owner!r} does not exist")
        if edit.shape is not None and tuple(arr.shape) != tuple(edit.shape):
            raise ValueError(f"the edit was made for shape {edit.shape}, the array is {arr.shape}")
        dirty = edit.bounds
        if dirty is None:
            return None
        cmd = TilesCommand(owner, edit.target)
        cmd.label = label
        cmd.prepared = True   # type: ignore[attr-defined]
        cmd.rects, cmd.before, cmd.after = dict(edit.rects), dict(edit.before), dict(edit.after)
        for key, box in cmd.rects.items():
            before_write(arr, box)
            arr[box.slices()] = cmd.after[key]
        if self._replaying:
            notify_target(owner, edit.target, dirty)
            return dirty
        with self.transaction(label) as step:
            step.commands.append(cmd)
        notify_target(owner, edit.target, dirty)
        return dirty

    # -- replay -----------------------------------------------------------------------------------
    def can_undo(self) -> bool:
        return bool(self._undo) and self._open is None

    def can_redo(self) -> bool:
        return bool(self._redo) and self._open is None

    @property
    def undo_label(self) -> str:
        return self._undo[-1].label if self._undo else ""

    @property
    def redo_label(self) -> str:
        return self._redo[-1].label if self._redo else ""

    @property
    def undo_labels(self) -> list[str]:
        """Labels of the undoable steps, oldest first (read-only view for the History panel)."""
        return [s.label for s in self._undo]

    @property
    def redo_labels(self) -> list[str]:
        """Labels of the redoable steps in redo order (the next redo first)."""
        return [s.label for s in reversed(self._redo)]

    @property
    def truncated(self) -> bool:
        """True when the oldest steps were dropped (memory limit): the first state is not the
        document as it was opened."""
        return self._dropped

    def go_to(self, index: int) -> bool:
        """Undo or redo until ``index`` steps are applied (0 = the oldest state kept, len(undo) +
        len(redo) = everything redone). Returns False when a step is being recorded."""
        total = len(self._undo) + len(self._redo)
        index = max(0, min(int(index), total))
        if self._open is not None:
            return False
        while len(self._undo) > index and self.undo():
            pass
        while len(self._undo) < index and self.redo():
            pass
        return True

    def undo(self) -> bool:
        if not self.can_undo():
            return False
        step = self._undo.pop()
        self._replay(step.undo)
        self._redo.append(step)
        self._bump()
        self._sync_modified()
        self.events.changed.emit()
        return True

    def redo(self) -> bool:
        if not self.can_redo():
            return False
        step = self._redo.pop()
        self._replay(step.redo)
        self._undo.append(step)
        self._bump()
        self._sync_modified()
        self.events.changed.emit()
        return True

    def _bump(self) -> None:
        bump = getattr(self.doc, "bump_revision", None)  # the owner may be a test double
        if bump is not None:
            bump()

    def _replay(self, fn: Callable[[Any], None]) -> None:
        self._replaying = True
        try:
            fn(self.doc)
        finally:
            self._replaying = False

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self._dropped = False
        self._clean = None if getattr(self.doc, "modified", False) else _EMPTY
        self.events.changed.emit()

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self._undo) + sum(s.nbytes for s in self._redo)

    def set_memory_limit(self, nbytes: int) -> None:
        """Change the bound (bytes); drops the oldest steps at once if they exceed it."""
        self.memory_limit = int(nbytes)
        if self._open is None:
            self._enforce_limit()
            self.events.changed.emit()

    def _enforce_limit(self) -> None:
        if self.nbytes > self.memory_limit:
            self._redo.clear()
        total = self.nbytes
        while len(self._undo) > 1 and total > self.memory_limit:
            dropped = self._undo.pop(0)
            self._dropped = True
            total -= dropped.nbytes
            # the state before the new bottom step is the one after ``dropped``
            if self._clean is _EMPTY:
                self._clean = None
            elif self._clean is dropped:
                self._clean = _EMPTY

    def __len__(self) -> int:
        return len(self._undo)
