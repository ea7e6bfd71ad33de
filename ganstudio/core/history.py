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

from .geometry import TILE, Rect, tile_rect

if TYPE_CHECKING:
    from .document import Document
    from .layers import Layer


def _layer_array(layer: Layer) -> np.ndarray:
    arr = getattr(layer, "pixels", None)
    return arr if arr is not None else layer.labels  # type: ignore[attr-defined]


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
    """Old and new contents of the tiles of one layer array (pixels, labels or mask) touched by an edit."""

    def __init__(self, layer: Layer, target: str = "pixels") -> None:
        self.layer = layer
        self.target = target
        self.label = "Edit pixels"
        self.before: dict[tuple[int, int], np.ndarray] = {}
        self.after: dict[tuple[int, int], np.ndarray] = {}
        self.shape = self._array().shape

    def _array(self) -> np.ndarray:
        if self.target == "mask":
            assert self.layer.mask is not None
            return self.layer.mask
        return _layer_array(self.layer)

    def snapshot(self, rect: Rect) -> None:
        arr = self._array()
        bounds = Rect(0, 0, arr.shape[1], arr.shape[0])
        for key in rect.intersect(bounds).tiles():
            if key not in self.before:
                tr = tile_rect(*key).intersect(bounds)
                self.before[key] = arr[tr.slices()].copy()

    def finalize(self) -> None:
        arr = self._array()
        bounds = Rect(0, 0, arr.shape[1], arr.shape[0])
        for key in list(self.before):
            tile = arr[tile_rect(*key).intersect(bounds).slices()]
            if np.array_equal(tile, self.before[key]):
                del self.before[key]  # untouched in the end: store nothing
            else:
                self.after[key] = tile.copy()

    def _write(self, tiles: dict[tuple[int, int], np.ndarray]) -> None:
        arr = self._array()
        bounds = Rect(0, 0, arr.shape[1], arr.shape[0])
        dirty = Rect(0, 0, 0, 0)
        for key, data in tiles.items():
            tr = tile_rect(*key).intersect(bounds)
            arr[tr.slices()] = data
            dirty = dirty.union(tr)
        if self.target == "mask":
            self.layer.events.mask.emit()
        elif not dirty.is_empty():
            self.layer.notify_pixels(dirty)

    def undo(self, doc: Document) -> None:
        self._write(self.before)

    def redo(self, doc: Document) -> None:
        self._write(self.after)

    def is_empty(self) -> bool:
        return not self.before

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.before.values()) + sum(a.nbytes for a in self.after.values())


class Step(Command):
    """One undo step: an ordered list of commands."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.commands: list[Command] = []
        self._tiles: dict[tuple[int, str], TilesCommand] = {}

    def tiles_for(self, layer: Layer, target: str) -> TilesCommand:
        key = (layer.uid, target)
        cmd = self._tiles.get(key)
        if cmd is None or cmd.shape != cmd._array().shape:
            cmd = TilesCommand(layer, target)
            self._tiles[key] = cmd
            self.commands.append(cmd)
        return cmd

    def finalize(self) -> None:
        for c in self.commands:
            c.finalize()
        self.commands = [c for c in self.commands
                         if not (isinstance(c, TilesCommand) and c.is_empty())]
        self._tiles.clear()

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
                self.doc.mark_modified()
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

    def record_tiles(self, layer: Layer, rect: Rect, target: str = "pixels") -> None:
        """Snapshot the tiles of ``rect`` (layer coordinates) before they are modified."""
        if self._replaying:
            return
        if self._open is None:
            raise RuntimeError("record_tiles() needs an open transaction")
        self._open.tiles_for(layer, target).snapshot(rect)

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

    def undo(self) -> bool:
        if not self.can_undo():
            return False
        step = self._undo.pop()
        self._replay(step.undo)
        self._redo.append(step)
        self.doc.mark_modified()
        self.events.changed.emit()
        return True

    def redo(self) -> bool:
        if not self.can_redo():
            return False
        step = self._redo.pop()
        self._replay(step.redo)
        self._undo.append(step)
        self.doc.mark_modified()
        self.events.changed.emit()
        return True

    def _replay(self, fn: Callable[[Any], None]) -> None:
        self._replaying = True
        try:
            fn(self.doc)
        finally:
            self._replaying = False

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
        self.events.changed.emit()

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self._undo) + sum(s.nbytes for s in self._redo)

    def _enforce_limit(self) -> None:
        self._redo.clear() if self.nbytes > self.memory_limit else None
        while len(self._undo) > 1 and self.nbytes > self.memory_limit:
            self._undo.pop(0)

    def __len__(self) -> int:
        return len(self._undo)
