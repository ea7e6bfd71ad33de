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
from .layers import BlendMode, GroupLayer, Layer, RasterLayer
from .pixels import dtype_for_bits, layers_bit_depth


class DocumentEvents(SignalGroup):
    layers = Signal()              # inserted / removed / moved / replaced / grouped
    active_layer = Signal(object)  # Layer | None (the active paint layer)
    active_node = Signal(object)   # Layer | GroupLayer | None (the selected node)
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
        self.layers: list[Layer] = []     # paint layers, bottom first (groups: see root)
        self.root = GroupLayer("")        # the layer tree; top-level nodes = root.children
        self.root._is_root = True  # type: ignore[attr-defined]
        self._leaf_ids: list[int] = []
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

    # -- layers and groups ------------------------------------------------------------------------
    # The tree is the truth: ``self.root`` is a GroupLayer (never drawn with attributes of its own)
    # whose children are the top-level nodes. ``self.layers`` lists its paint layers in paint order
    # (bottom first, groups left out) and is rebuilt in place after every structural change, so all
    # code that loops over ``doc.layers`` keeps seeing every pixel layer. Private copies that append
    # to ``layers`` directly (snapshots) are taken into the tree by ``sync_tree``.
    def _rebuild(self) -> None:
        self.layers[:] = list(self.root.leaves())
        self._leaf_ids = [id(la) for la in self.layers]

    def sync_tree(self) -> None:
        """Take layers added to / removed from ``doc.layers`` directly into the tree (cheap when
        nothing changed). Layers the tree does not know go on top of the top level."""
        if len(self._leaf_ids) == len(self.layers) and all(
                id(a) == b for a, b in zip(self.layers, self._leaf_ids)):
            return
        listed = list(self.layers)
        ids = {id(la) for la in listed}
        known = {id(la) for la in self.root.leaves()}
        for leaf in list(self.root.leaves()):
            if id(leaf) not in ids:
                leaf._parent._drop(leaf)  # noqa: SLF001
        if not any(n.is_group for n in self.root.children):
            for n in list(self.root.children):
                self.root._drop(n)  # noqa: SLF001
            for la in listed:
                self.root._adopt(la, len(self.root.children))  # noqa: SLF001
        else:
            for la in listed:
                if id(la) not in known:
                    self.root._adopt(la, len(self.root.children))  # noqa: SLF001
        self._rebuild()

    @property
    def active_node(self) -> Layer | None:
        """The selected node of the Layers panel: a layer or a GroupLayer (or None)."""
        return self._active

    @active_node.setter
    def active_node(self, node: Layer | None) -> None:
        if node is not None and not self.contains(node):
            raise ValueError("layer is not in this document")
        if node is not self._active:
            self._active = node
            self.events.active_node.emit(node)
            # also when it stays None (one group to another): listeners refresh what they show
            self.events.active_layer.emit(self.active_layer)

    @property
    def active_layer(self) -> Layer | None:
        """The active paint layer; None when nothing or a group is selected (see active_node)."""
        a = self._active
        return None if a is None or a.is_group else a

    @active_layer.setter
    def active_layer(self, layer: Layer | None) -> None:
        self.active_node = layer

    def contains(self, node: Layer) -> bool:
        """True when ``node`` (layer or group) is in this document's tree."""
        if node is self.root:
            return False
        self.sync_tree()
        top = node
        while top._parent is not None:  # noqa: SLF001
            top = top._parent  # noqa: SLF001
        return top is self.root

    def index_of(self, layer: Layer) -> int:
        """Position of a paint layer in ``doc.layers`` (groups have none: ValueError)."""
        for i, candidate in enumerate(self.layers):
            if candidate is layer:
                return i
        raise ValueError("layer is not in this document" if not layer.is_group
                         else f"“{layer.name}” is a layer group (use doc.position_of)")

    def layer_by_uid(self, uid: int) -> Layer | None:
        return next((la for la in self.root.walk() if la.uid == uid), None)

    # tree helpers
    def walk_layers(self) -> Iterator[Layer]:
        """Every node (layers and groups), depth first, bottom first, a group before its children."""
        self.sync_tree()
        return self.root.walk()

    def groups(self) -> list[GroupLayer]:
        return [n for n in self.walk_layers() if n.is_group]  # type: ignore[misc]

    @property
    def has_groups(self) -> bool:
        return any(n.is_group for n in self.root.children)

    def parent_of(self, node: Layer) -> GroupLayer | None:
        """The group holding ``node``; None at the top level. ValueError if not in the document."""
        if not self.contains(node):
            raise ValueError("layer is not in this document")
        return node.parent

    def children_of(self, group: GroupLayer | None = None) -> list[Layer]:
        """The nodes directly in ``group`` (None: the top level), bottom first."""
        return list((self.root if group is None else group).children)

    def position_of(self, node: Layer) -> tuple[GroupLayer | None, int]:
        """(parent group or None for the top level, index among its siblings, bottom first)."""
        if not self.contains(node):
            raise ValueError("layer is not in this document")
        par = node._parent  # noqa: SLF001
        assert par is not None
        return node.parent, _index_in(par.children, node)

    def depth_of(self, node: Layer) -> int:
        """0 for a top-level node, 1 inside a top-level group ..."""
        return self.root.depth_of(node)

    def is_locked(self, node: Layer) -> bool:
        """The node or a group above it is locked."""
        p: Layer | None = node
        while p is not None and p is not self.root:
            if p.locked:
                return True
            p = p._parent  # noqa: SLF001
        return False

    def _connect(self, layer: Layer) -> None:
        def region(*_: Any) -> None:
            self.events.region.emit(layer.bounds)

        if layer.is_group:
            pairs = [(sig, region) for sig in (layer.events.visible, layer.events.opacity,
                                                layer.events.blend_mode, layer.events.pass_through)]
            for sig, fn in pairs:
                sig.connect(fn, check_nargs=False, max_args=0)
            self._handlers[layer.uid] = pairs
            return

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
        for sig, fn in pairs:   # max_args given: psygnal skips inspecting the slot (~0.1 ms each)
            sig.connect(fn, check_nargs=False, max_args=1 if fn is pixels else 0)
        self._handlers[layer.uid] = pairs

    def _disconnect(self, layer: Layer) -> None:
        for sig, fn in self._handlers.pop(layer.uid, []):
            sig.disconnect(fn)

    @staticmethod
    def _subtree(node: Layer) -> list[Layer]:
        return [node] + (list(node.walk()) if node.is_group else [])  # type: ignore[attr-defined]

    def _attach(self, node: Layer, parent: GroupLayer, index: int) -> None:
        parent._adopt(node, max(0, min(index, len(parent.children))))  # noqa: SLF001
        for n in self._subtree(node):
            self._connect(n)
        self._rebuild()
        self.events.layers.emit()
        self.events.region.emit(node.bounds)

    def _detach(self, node: Layer) -> tuple[GroupLayer, int]:
        parent = node._parent  # noqa: SLF001
        assert parent is not None
        subtree = self._subtree(node)
        index = parent._drop(node)  # noqa: SLF001
        for n in subtree:
            self._disconnect(n)
        self._rebuild()
        if any(n is self._active for n in subtree):
            siblings = parent.children
            if siblings:
                new = siblings[min(index, len(siblings) - 1)]
            elif parent is not self.root:
                new = parent
            else:
                new = self.layers[-1] if self.layers else None
            self.active_node = new
        self.events.layers.emit()
        self.events.region.emit(node.bounds)
        return parent, index

    def _move(self, node: Layer, parent: GroupLayer, index: int) -> None:
        before = node.bounds
        node._parent._drop(node)  # noqa: SLF001
        parent._adopt(node, max(0, min(index, len(parent.children))))  # noqa: SLF001
        self._rebuild()
        self.events.layers.emit()
        self.events.region.emit(before.union(node.bounds))

    def _flat_position(self, index: int) -> tuple[GroupLayer, int]:
        """Where a layer inserted at ``doc.layers[index]`` goes in the tree: right below the layer
        now at ``index`` (in its group), or on top of the top level."""
        n = len(self.layers)
        index = max(0, min(index, n))
        if index < n:
            target = self.layers[index]
            par = target._parent  # noqa: SLF001
            assert par is not None
            return par, _index_in(par.children, target)
        return self.root, len(self.root.children)

    def _default_position(self) -> tuple[GroupLayer, int]:
        """Above the active layer in its group; inside the active group, on top; else on top."""
        a = self._active
        if a is None:
            return self.root, len(self.root.children)
        if a.is_group:
            return a, len(a.children)  # type: ignore[return-value]
        par = a._parent  # noqa: SLF001
        assert par is not None
        return par, _index_in(par.children, a) + 1

    def _group_arg(self, parent: GroupLayer | None) -> GroupLayer:
        if parent is None or parent is self.root:
            return self.root
        if not parent.is_group or not self.contains(parent):
            raise ValueError(f"{parent!r} is not a layer group of this document")
        return parent

    # legacy flat-index primitives
    def _insert(self, index: int, layer: Layer) -> None:
        par, pos = self._flat_position(index)
        self._attach(layer, par, pos)

    def _remove(self, layer: Layer) -> int:
        index = self.index_of(layer) if not layer.is_group else 0
        self._detach(layer)
        return index

    def add_layer(self, layer: Layer, index: int | None = None, *, activate: bool = True,
                  label: str | None = None, parent: Any = _KEEP,
                  position: int | None = None) -> Layer:
        """Insert ``layer`` (a layer or a GroupLayer with its children). One undo step.

        Where: ``parent`` and/or ``position`` given: into that group (None or ``doc.root``: the
        top level) at that index among its children (bottom first; default on top). Else ``index``
        (a position in ``doc.layers``): right below the layer now there, in its group, or on
        top. Else (default): above the active layer in its group, or on top inside the active
        group, or on top."""
        self.sync_tree()
        if parent is not _KEEP or position is not None:
            par = self._group_arg(None if parent is _KEEP else parent)
            pos = len(par.children) if position is None else max(0, min(position, len(par.children)))
        elif index is None:
            par, pos = self._default_position()
        else:
            par, pos = self._flat_position(index)
        previous_active = self._active

        def do() -> None:
            self._attach(layer, par, pos)
            if activate:
                self.active_node = layer

        def undo() -> None:
            self._detach(layer)
            if previous_active is not None and self.contains(previous_active):
                self.active_node = previous_active

        do()
        kind = "group" if layer.is_group else "layer"
        self.history.push(CallbackCommand(label or f"Add {kind} “{layer.name}”", undo, do,
                                          nbytes=_layer_nbytes(layer)))
        return layer

    def new_raster_layer(self, name: str = "Layer", **attrs: Any) -> RasterLayer:
        dtype = dtype_for_bits(layers_bit_depth(self.layers))
        layer = RasterLayer.blank(name, self._width, self._height, dtype=dtype, **attrs)
        self.add_layer(layer)
        return layer

    def remove_layer(self, layer: Layer) -> None:
        """Delete a layer, or a group with everything in it. One undo step."""
        if not self.contains(layer):
            raise ValueError("layer is not in this document")
        par = layer._parent  # noqa: SLF001
        assert par is not None
        pos = _index_in(par.children, layer)
        was_active = self._active
        inside = any(n is was_active for n in self._subtree(layer))

        def do() -> None:
            self._detach(layer)

        def undo() -> None:
            self._attach(layer, par, pos)
            if inside:
                self.active_node = was_active

        do()
        kind = "group" if layer.is_group else "layer"
        self.history.push(CallbackCommand(f"Delete {kind} “{layer.name}”", undo, do,
                                          nbytes=_layer_nbytes(layer)))

    def duplicate_layer(self, layer: Layer) -> Layer:
        """A copy right above ``layer`` (a group: with copies of everything in it)."""
        if not self.contains(layer):
            raise ValueError("layer is not in this document")
        par = layer._parent  # noqa: SLF001
        assert par is not None
        kind = "group" if layer.is_group else "layer"
        return self.add_layer(layer.duplicate(), parent=par,
                              position=_index_in(par.children, layer) + 1,
                              label=f"Duplicate {kind} “{layer.name}”")

    def replace_layer(self, old: Layer, new: Layer, *, label: str | None = None,
                      activate: bool = True) -> Layer:
        """Put ``new`` exactly where ``old`` is (same group, same place) and delete ``old``. One
        undo step. (``remove_layer`` + ``add_layer(index=...)`` can land in a neighbouring group
        when ``old`` was the top layer of its group.)"""
        if not self.contains(old):
            raise ValueError("layer is not in this document")
        par = old._parent  # noqa: SLF001
        assert par is not None
        pos = _index_in(par.children, old)
        with self.history.transaction(label or f"Replace layer “{old.name}”"):
            self.remove_layer(old)
            self.add_layer(new, parent=par, position=pos, activate=activate)
        return new

    def move_layer(self, layer: Layer, new_index: int) -> None:
        """Reorder: ``new_index`` is the position in ``doc.layers`` (bottom first) after the move;
        the layer lands right below the layer now there (in that layer's group), or on top."""
        old_index = self.index_of(layer)
        new_index = max(0, min(new_index, len(self.layers) - 1))
        if new_index == old_index:
            return
        par0 = layer._parent  # noqa: SLF001
        assert par0 is not None
        pos0 = par0._drop(layer)  # noqa: SLF001 - work out the target without the layer
        self._rebuild()
        par1, pos1 = self._flat_position(new_index)
        par0._adopt(layer, pos0)  # noqa: SLF001
        self._rebuild()
        self._move(layer, par1, pos1)
        self.history.push(CallbackCommand(f"Move layer “{layer.name}”",
                                          lambda: self._move(layer, par0, pos0),
                                          lambda: self._move(layer, par1, pos1)))

    def move_node(self, node: Layer, parent: GroupLayer | None = None,
                  index: int | None = None) -> None:
        """Move a layer or group into ``parent`` (None: the top level) at ``index`` among its
        children once ``node`` is taken out (bottom first; None: on top). One undo step."""
        if not self.contains(node):
            raise ValueError("layer is not in this document")
        par1 = self._group_arg(parent)
        if node.is_group and (par1 is node or any(n is par1 for n in node.walk())):  # type: ignore[attr-defined]
            raise ValueError("a group cannot be moved into itself")
        par0 = node._parent  # noqa: SLF001
        assert par0 is not None
        pos0 = _index_in(par0.children, node)
        n_after = len(par1.children) - (1 if par1 is par0 else 0)
        pos1 = n_after if index is None else max(0, min(index, n_after))
        if par1 is par0 and pos1 == pos0:
            return
        self._move(node, par1, pos1)
        kind = "group" if node.is_group else "layer"
        self.history.push(CallbackCommand(f"Move {kind} “{node.name}”",
                                          lambda: self._move(node, par0, pos0),
                                          lambda: self._move(node, par1, pos1)))

    def _select(self, node: Layer | None) -> None:
        """Change the active node as part of the open step (undo restores the previous one)."""
        old = self._active
        if old is node:
            return

        def to(n: Layer | None) -> None:
            self.active_node = n if (n is None or self.contains(n)) else None

        to(node)
        self.history.push(CallbackCommand("Select layer", lambda: to(old), lambda: to(node)))

    def new_group(self, name: str = "Group", *, parent: Any = _KEEP,
                  position: int | None = None, pass_through: bool = True,
                  activate: bool = True) -> GroupLayer:
        """An empty layer group (default: where a new layer would go; ``parent=None``: the top
        level). One undo step."""
        group = GroupLayer(name, pass_through=pass_through)
        if parent is _KEEP and position is None:
            par, pos = self._default_position()
            return self.add_layer(group, parent=par, position=pos, activate=activate,  # type: ignore[return-value]
                                  label=f"New group “{name}”")
        return self.add_layer(group, parent=parent, position=position, activate=activate,  # type: ignore[return-value]
                              label=f"New group “{name}”")

    def group_layers(self, nodes: Iterable[Layer] | None = None, name: str = "Group") -> GroupLayer:
        """Put ``nodes`` (default: the active node) into a new group placed where the topmost of
        them was; their order is kept. The group becomes active. One undo step."""
        picked = [self._active] if nodes is None else list(nodes)
        picked = [n for n in picked if n is not None]
        if not picked:
            raise ValueError("no layer to group")
        for n in picked:
            if not self.contains(n):
                raise ValueError("layer is not in this document")
        ids = {id(n) for n in picked}

        def covered(n: Layer) -> bool:   # an ancestor is picked too: it moves with it
            p = n._parent  # noqa: SLF001
            while p is not None:
                if id(p) in ids:
                    return True
                p = p._parent  # noqa: SLF001
            return False

        order = {id(n): i for i, n in enumerate(self.root.walk())}
        picked = sorted({id(n): n for n in picked if not covered(n)}.values(),
                        key=lambda n: order[id(n)])
        top = picked[-1]
        par = top._parent  # noqa: SLF001
        assert par is not None
        group = GroupLayer(name)
        with self.history.transaction(f"Group layers into “{name}”"):
            self.add_layer(group, parent=par, position=_index_in(par.children, top) + 1,
                           activate=True)
            for n in picked:
                self.move_node(n, group, len(group.children))
        return group

    def ungroup(self, group: GroupLayer) -> list[Layer]:
        """Move the group's children into its parent, where the group was, and delete the group
        (its own opacity / blend mode / visibility go with it, as in Krita and Photoshop).
        One undo step; returns the children."""
        if not group.is_group or not self.contains(group):
            raise ValueError("not a layer group of this document")
        par = group._parent  # noqa: SLF001
        assert par is not None
        pos = _index_in(par.children, group)
        kids = list(group.children)
        with self.history.transaction(f"Ungroup “{group.name}”"):
            for i, kid in enumerate(kids):
                self.move_node(kid, None if par is self.root else par, pos + i)
            self.remove_layer(group)
            if kids:
                self._select(kids[-1])
        return kids

    def merge_group(self, group: GroupLayer) -> RasterLayer:
        """Flatten a group into one raster layer in its place: its children composited on their
        own; the layer keeps the group's name, opacity, visibility and (isolated groups) blend
        mode, so an isolated group looks the same. One undo step."""
        from .compositing import composite_nodes

        if not group.is_group or not self.contains(group):
            raise ValueError("not a layer group of this document")
        rect = group.bounds
        if rect.is_empty():
            raise ValueError(f"group “{group.name}” is empty: nothing to merge")
        dtype = dtype_for_bits(layers_bit_depth(list(group.leaves())))
        pixels = composite_nodes(group.children, rect, dtype=dtype)
        mode = group.blend_mode if not group.pass_through else BlendMode.NORMAL
        merged = RasterLayer(group.name, pixels, visible=group.visible, opacity=group.opacity,
                             blend_mode=mode, offset=(rect.x, rect.y))
        par = group._parent  # noqa: SLF001
        assert par is not None
        pos = _index_in(par.children, group)
        with self.history.transaction(f"Merge group “{group.name}”"):
            self.remove_layer(group)
            self.add_layer(merged, parent=par, position=pos, activate=True)
        return merged

    # -- the tree for copies (snapshots, autosave) --------------------------------------------------
    def group_structure(self) -> list | None:
        """The group tree as JSON-able data (leaves = their index in ``doc.layers``), or None when
        there are no groups. Rebuild it on a copy with :meth:`apply_group_structure`."""
        self.sync_tree()
        if not self.has_groups:
            return None
        index = {id(la): i for i, la in enumerate(self.layers)}

        def enc(node: Layer) -> Any:
            if not node.is_group:
                return index[id(node)]
            a = node.attributes()
            d = {"name": a["name"], "visible": a["visible"], "opacity": a["opacity"],
                 "blend_mode": a["blend_mode"].value, "locked": a["locked"],
                 "pass_through": a["pass_through"]}
            if a.get("provenance"):
                d["provenance"] = a["provenance"]
            if node is self._active:
                d["active"] = True
            return {"group": d, "children": [enc(c) for c in node.children]}  # type: ignore[attr-defined]

        return [enc(n) for n in self.root.children]

    def apply_group_structure(self, struct: list | None) -> None:
        """Rebuild groups from :meth:`group_structure` over this document's ``layers`` (no undo:
        for private copies). Layers the data does not name stay on top of the top level."""
        if not struct:
            return
        self.sync_tree()
        leaves = list(self.layers)
        used: set[int] = set()
        for n in list(self.root.children):
            self.root._drop(n)  # noqa: SLF001

        def dec(item: Any, parent: GroupLayer) -> None:
            if isinstance(item, int):
                if 0 <= item < len(leaves) and item not in used:
                    used.add(item)
                    parent._adopt(leaves[item], len(parent.children))  # noqa: SLF001
                return
            if not isinstance(item, dict):
                return
            d = dict(item.get("group") or {})
            active = bool(d.pop("active", False))
            g = GroupLayer(str(d.pop("name", "Group")), **{
                k: v for k, v in d.items()
                if k in ("visible", "opacity", "blend_mode", "locked", "pass_through", "provenance")})
            parent._adopt(g, len(parent.children))  # noqa: SLF001
            self._connect(g)
            for c in item.get("children") or []:
                dec(c, g)
            if active:
                self._active = g

        for item in struct:
            dec(item, self.root)
        for i, la in enumerate(leaves):
            if i not in used:
                self.root._adopt(la, len(self.root.children))  # noqa: SLF001
        self._rebuild()
        self.events.layers.emit()

    def set_layer_attr(self, layer: Layer, attr: str, value: Any, *, merge: bool = False) -> None:
        """Set name/visible/opacity/blend_mode/locked/offset/mask_enabled (groups: also
        pass_through) as one undo step.

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
        if layer.locked or self.is_locked(layer):
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


def _index_in(nodes: list[Layer], node: Layer) -> int:
    for i, n in enumerate(nodes):
        if n is node:
            return i
    raise ValueError(f"{node!r} is not there")


def _layer_nbytes(layer: Layer) -> int:
    if layer.is_group:
        return sum(_layer_nbytes(la) for la in layer.leaves())  # type: ignore[attr-defined]
    arr = getattr(layer, "pixels", None)
    if arr is None:
        arr = getattr(layer, "labels", None)
    n = 0 if arr is None else arr.nbytes
    return n + (0 if layer.mask is None else layer.mask.nbytes)
