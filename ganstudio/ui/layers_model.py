"""A Qt tree model adapting the document's layer tree (``doc.root``): row 0 = the top node of
its group, as in every editor; layer groups have their children as child rows.

Columns: 0 visibility, 1 lock, 2 thumbnail + name (editable: rename in place).
Rows can be dragged to reorder and into / out of groups (``doc.move_node``: undoable). Every
change goes through Document methods, so it is undoable and the canvas follows through
``doc.events``. Index internal ids are node uids.

The model serves the tree from its own mirror of the structure (``_kids``: parent uid -> child
uids, view order), never from the live document: ``doc.events.layers`` carries no detail, so on
each structural change the mirror is brought to the document's tree by row inserts, removes and
moves (``beginInsertRows`` / ``beginRemoveRows`` / ``beginMoveRows``), one row at a time, the mirror
always matching what the view was told. Selection, current row and expanded groups are
persistent indexes and follow; a model reset (every row rebuilt, the selection re-made) is kept
for a new document and as a safety net. ``structure_changed`` is emitted after each update.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import (QAbstractItemModel, QByteArray, QMimeData, QModelIndex,
                            QPersistentModelIndex, Qt, QTimer, Signal)
from PySide6.QtGui import QColor, QPainter, QPixmap

from ganstudio.core.document import Document
from ganstudio.core.layers import Layer

from .signals import Connections, safe_disconnect
from .theme import icon
from .tile_cache import to_qimage

MIME = "application/x-ganstudio-layer-row"
THUMB = 40
COL_VISIBLE, COL_LOCK, COL_NAME = 0, 1, 2
Index = QModelIndex | QPersistentModelIndex
Key = int | None   # a group's uid; None: the top level


class _Fallback(Exception):
    """The incremental update cannot express this change: reset the model instead."""


def group_icon(group: Layer, size: int = THUMB) -> QPixmap:
    """A folder drawn for a layer group (open when it has layers)."""
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QColor("#15161a"))
    p.setBrush(QColor("#c9a24a") if group.visible else QColor("#7d818a"))
    m = size // 8
    p.drawRoundedRect(m, size // 4, size // 3, size // 6, 2, 2)           # tab
    p.drawRoundedRect(m, size // 3, size - 2 * m, size // 2, 3, 3)        # body
    if not group.pass_through:  # type: ignore[attr-defined]
        p.setBrush(QColor("#15161a"))
        p.drawEllipse(size // 2 - 3, size // 3 + size // 4 - 3, 6, 6)    # isolated: a dot
    p.end()
    return pm


def layer_thumbnail(layer: Layer, size: int = THUMB) -> QPixmap:
    """A small checkerboard-backed picture of the layer (a folder for a group)."""
    if layer.is_group:
        return group_icon(layer, size)
    h, w = layer.height, layer.width
    step = max(1, int(max(h, w) / (size * 2)))  # stride first: cheap on 50 MP layers
    labels = getattr(layer, "labels", None)
    if labels is not None:  # palette lookup after striding: cheap on 50 MP label maps
        rgba = layer.lut()[labels[::step, ::step]]  # type: ignore[attr-defined]
    else:
        rgba = layer.rgba()[::step, ::step]
    if rgba.dtype != np.uint8:
        rgba = (rgba >> 8).astype(np.uint8)
    sh, sw = rgba.shape[:2]
    scale = size / max(sh, sw)
    tw, th = max(1, int(round(sw * scale))), max(1, int(round(sh * scale)))
    small = np.ascontiguousarray(cv2.resize(rgba, (tw, th), interpolation=cv2.INTER_AREA))
    img = to_qimage(small)
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    x0, y0 = (size - tw) // 2, (size - th) // 2
    for yy in range(0, th, 5):
        for xx in range(0, tw, 5):
            p.fillRect(x0 + xx, y0 + yy, min(5, tw - xx), min(5, th - yy),
                       QColor("#c8c8c8") if (xx // 5 + yy // 5) % 2 else QColor("#8e8e8e"))
    p.drawImage(x0, y0, img)
    p.setPen(QColor("#15161a"))
    p.drawRect(x0, y0, tw - 1, th - 1)
    p.end()
    return pm


_PIXMAPS: dict[str, QPixmap] = {}


def _small_icon(name: str) -> QPixmap:
    """The 18 px eye / lock pixmaps, rendered once (data() is called for every row on repaints)."""
    pm = _PIXMAPS.get(name)
    if pm is None:
        pm = _PIXMAPS[name] = icon(name).pixmap(18, 18)
    return pm


class LayersModel(QAbstractItemModel):
    #: after every structural update (incremental or reset): the panel re-expands groups
    structure_changed = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.doc: Document | None = None
        self._nodes: dict[int, Layer] = {}   # uid -> node (every node of the mirror)
        self._kids: dict[Key, list[int]] = {None: []}   # parent -> child uids, top first
        self._par: dict[int, Key] = {}       # uid -> parent key
        self._thumbs: dict[int, QPixmap] = {}
        self._stale: set[int] = set()
        self._conns = Connections()
        self._watched: dict[int, list[tuple[Any, Any]]] = {}   # uid -> its (signal, slot) pairs
        self._watched_node: dict[int, Layer] = {}   # uid -> the node those pairs belong to
        self.resets = 0                      # statistics (tests): full model resets
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setSingleShot(True)
        self._thumb_timer.setInterval(300)
        self._thumb_timer.timeout.connect(self._refresh_thumbs)

    # -- binding ----------------------------------------------------------------------------------------
    def set_document(self, doc: Document | None) -> None:
        self._disconnect()
        self.doc = doc
        self._thumbs.clear()
        self._reset()
        if doc is not None:
            self._conns.connect(doc.events.layers, self._on_layers)
            self._watch_layers()

    def _live_tree(self) -> tuple[dict[Key, list[int]], dict[int, Key], dict[int, Layer], list[int]]:
        """The document's tree now: (parent -> child uids top first, uid -> parent, uid -> node,
        uids in pre-order, parents before children)."""
        kids: dict[Key, list[int]] = {None: []}
        par: dict[int, Key] = {}
        nodes: dict[int, Layer] = {}
        order: list[int] = []
        if self.doc is None:
            return kids, par, nodes, order
        self.doc.sync_tree()

        def visit(group: Layer, key: Key) -> None:
            row = kids[key]
            for n in reversed(group.children):  # type: ignore[attr-defined]
                row.append(n.uid)
                par[n.uid] = key
                nodes[n.uid] = n
                order.append(n.uid)
                if n.is_group:
                    kids[n.uid] = []
                    visit(n, n.uid)

        visit(self.doc.root, None)
        return kids, par, nodes, order

    def _reset(self) -> None:
        self.beginResetModel()
        self._kids, self._par, self._nodes, _ = self._live_tree()
        self.endResetModel()
        self.resets += 1

    def _disconnect(self) -> None:
        self._conns.disconnect_all()
        for pairs in self._watched.values():
            for sig, slot in pairs:
                safe_disconnect(sig, slot)
        self._watched.clear()
        self._watched_node.clear()

    def _watch_layers(self) -> None:
        """Follow the attributes and pixels of every node: only nodes that came or went since the
        last call are (dis)connected (a structural change of a big document stays cheap)."""
        for uid in [u for u in self._watched
                    if self._nodes.get(u) is not self._watched_node.get(u)]:
            self._watched_node.pop(uid, None)
            for sig, slot in self._watched.pop(uid):
                safe_disconnect(sig, slot)
        for uid, layer in self._nodes.items():
            if uid in self._watched:
                continue
            ev = layer.events
            pairs = []
            attr = self._attr_handler(layer)
            for sig in (ev.name, ev.visible, ev.locked, ev.opacity, ev.blend_mode, ev.provenance,
                        ev.pass_through):
                pairs.append((sig, attr))
            if not layer.is_group:
                pix = self._pixels_handler(layer)
                pairs += [(ev.pixels, pix), (ev.mask, pix)]
            for sig, slot in pairs:
                sig.connect(slot, check_nargs=False, max_args=0)
            self._watched[uid] = pairs
            self._watched_node[uid] = layer

    def _attr_handler(self, layer: Layer):  # noqa: ANN202
        def changed(*_: Any) -> None:
            idx = self.index_for(layer, COL_VISIBLE)
            if idx.isValid():
                if layer.is_group:
                    self._thumbs.pop(layer.uid, None)
                self.dataChanged.emit(idx, idx.siblingAtColumn(COL_NAME))
        return changed

    def _pixels_handler(self, layer: Layer):  # noqa: ANN202
        def changed(*_: Any) -> None:
            self._stale.add(layer.uid)
            if not self._thumb_timer.isActive():
                self._thumb_timer.start()
        return changed

    def _refresh_thumbs(self) -> None:
        stale, self._stale = self._stale, set()
        for uid in stale:
            self._thumbs.pop(uid, None)
            layer = self._nodes.get(uid)
            if layer is not None:
                idx = self.index_for(layer, COL_NAME)
                if idx.isValid():
                    self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def _on_layers(self) -> None:
        kids, par, nodes, order = self._live_tree()
        try:
            self._update_rows(kids, par, nodes, order)
            if self._kids != kids or self._par != par:
                raise _Fallback("mirror differs from the document after the update")
        except _Fallback:
            self._reset()
        self._nodes = nodes
        self._thumbs = {k: v for k, v in self._thumbs.items() if k in self._nodes}
        self._watch_layers()
        self.structure_changed.emit()

    def _key_index(self, key: Key) -> QModelIndex:
        """The index of the mirrored group ``key`` (invalid: the top level)."""
        if key is None:
            return QModelIndex()
        parent = self._par[key]
        return self.createIndex(self._kids[parent].index(key), 0, key)

    def _update_rows(self, kids: dict[Key, list[int]], par: dict[int, Key], nodes: dict[int, Layer],
                     order: list[int]) -> None:
        """Bring the mirror to the tree (``_live_tree``) by single-row inserts / moves / removes.

        1. in pre-order of the new tree (so a node's new parent is already in place): a new node
           is inserted into its parent, a node whose parent changed is moved there (so the
           survivors leave a group about to be removed: ungroup);
        2. nodes gone from the tree are removed (the top-most one of a removed subtree);
        3. each parent's rows are put in order by moves within it."""
        for uid, node in nodes.items():          # a node replaced by another object, same uid
            old = self._nodes.get(uid)
            if old is not None and old is not node:
                self._nodes[uid] = node
                self._thumbs.pop(uid, None)
        where = {u: i for row in kids.values() for i, u in enumerate(row)}   # target rows
        for uid in order:
            key = par[uid]
            target = where[uid]
            if uid not in self._par:
                row = min(target, len(self._kids[key]))
                self.beginInsertRows(self._key_index(key), row, row)
                self._kids[key].insert(row, uid)
                self._par[uid] = key
                self._nodes[uid] = nodes[uid]
                if uid in kids:
                    self._kids[uid] = []
                self.endInsertRows()
            elif self._par[uid] != key:
                if (uid in kids) != (uid in self._kids):
                    raise _Fallback("a node became / stopped being a group")
                src_key = self._par[uid]
                src = self._kids[src_key]
                r = src.index(uid)
                dst = self._kids[key]
                row = min(target, len(dst))
                if not self.beginMoveRows(self._key_index(src_key), r, r, self._key_index(key), row):
                    raise _Fallback("move refused")
                src.pop(r)
                dst.insert(row, uid)
                self._par[uid] = key
                self.endMoveRows()
        for uid in list(self._par):
            if uid in par or uid not in self._par:
                continue
            top = uid
            while self._par[top] is not None and self._par[top] not in par:
                top = self._par[top]   # type: ignore[assignment]
            key = self._par[top]
            r = self._kids[key].index(top)
            self.beginRemoveRows(self._key_index(key), r, r)
            self._kids[key].pop(r)
            self._forget(top)
            self.endRemoveRows()
        for key, want in kids.items():
            cur = self._kids.get(key)
            if cur is None or len(cur) != len(want):
                raise _Fallback("rows differ after inserts and removes")
            for i, uid in enumerate(want):
                if cur[i] == uid:
                    continue
                j = cur.index(uid, i + 1)
                pidx = self._key_index(key)
                if not self.beginMoveRows(pidx, j, j, pidx, i):
                    raise _Fallback("move refused")
                cur.insert(i, cur.pop(j))
                self.endMoveRows()

    def _forget(self, uid: int) -> None:
        """Drop ``uid`` and what the mirror has below it."""
        for child in self._kids.pop(uid, []):
            self._forget(child)
        self._par.pop(uid, None)
        self._nodes.pop(uid, None)

    # -- tree navigation ---------------------------------------------------------------------------------
    def _children(self, group: Layer | None) -> list[Layer]:
        """Child nodes of ``group`` (None: the top level), top first (view order), as mirrored."""
        uids = self._kids.get(None if group is None else group.uid)
        if uids is None:
            return []
        return [self._nodes[u] for u in uids]

    def node_at(self, index: Index) -> Layer | None:
        if not index.isValid():
            return None
        return self._nodes.get(int(index.internalId()))

    def layer_at(self, row: int, parent: Index = QModelIndex()) -> Layer | None:
        """The node at ``row`` under ``parent`` (default: the top level)."""
        if parent.isValid():
            uids = self._kids.get(int(parent.internalId()))
        else:
            uids = self._kids.get(None)
        if uids is None or not 0 <= row < len(uids):
            return None
        return self._nodes.get(uids[row])

    def row_of(self, layer: Layer | None) -> int:
        """The row of ``layer`` among its siblings (top first); -1 when not shown."""
        if layer is None or self._nodes.get(layer.uid) is not layer:
            return -1
        return self._kids[self._par[layer.uid]].index(layer.uid)

    def index_for(self, layer: Layer | None, column: int = COL_NAME) -> QModelIndex:
        row = self.row_of(layer)
        if row < 0 or layer is None:
            return QModelIndex()
        return self.createIndex(row, column, layer.uid)

    # -- model ------------------------------------------------------------------------------------------
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:
        if not (0 <= column < 3):
            return QModelIndex()
        if parent.isValid() and parent.column() != 0:
            return QModelIndex()
        node = self.layer_at(row, parent)
        if node is None:
            return QModelIndex()
        return self.createIndex(row, column, node.uid)

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        key = self._par.get(int(index.internalId()))
        if key is None:
            return QModelIndex()
        return self._key_index(key)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        if parent.isValid():
            if parent.column() > 0:
                return 0
            return len(self._kids.get(int(parent.internalId()), ()))
        return len(self._kids[None])

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: N802
        return self.rowCount(parent) > 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 3

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        layer = self.node_at(index)
        if layer is None:
            return None
        col = index.column()
        what = "group" if layer.is_group else "layer"
        if col == COL_VISIBLE:
            if role == Qt.ItemDataRole.DecorationRole:
                return _small_icon("eye" if layer.visible else "eye_off")
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"Hide {what}" if layer.visible else f"Show {what}"
        elif col == COL_LOCK:
            if role == Qt.ItemDataRole.DecorationRole:
                return _small_icon("lock" if layer.locked else "unlock")
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"Unlock {what}" if layer.locked else f"Lock {what}"
        else:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
                if role == Qt.ItemDataRole.DisplayRole:
                    extra = []
                    if layer.is_group and layer.pass_through:  # type: ignore[attr-defined]
                        extra.append("Pass through")
                    elif layer.is_group:
                        mode = layer.blend_mode
                        extra.append("Isolated" + ("" if mode.value == "normal" else f", {mode.label}"))
                    if layer.opacity < 1:
                        extra.append(f"{layer.opacity:.0%}")
                    if not layer.is_group and layer.blend_mode.value != "normal":
                        extra.append(layer.blend_mode.label)
                    if layer.mask is not None:
                        extra.append("mask" if layer.mask_enabled else "mask off")
                    if layer.provenance:
                        extra.append("AI")
                    return layer.name + (f"\n{' · '.join(extra)}" if extra else "")
                return layer.name
            if role == Qt.ItemDataRole.DecorationRole:
                pm = self._thumbs.get(layer.uid)
                if pm is None:
                    pm = self._thumbs[layer.uid] = layer_thumbnail(layer)
                return pm
            if role == Qt.ItemDataRole.ToolTipRole:
                if layer.is_group:
                    n = sum(1 for _ in layer.leaves())  # type: ignore[attr-defined]
                    mode = ("pass-through" if layer.pass_through  # type: ignore[attr-defined]
                            else f"isolated, {layer.blend_mode.label}")
                    return f"{layer.name} (group of {n} layer{'s' if n != 1 else ''}, {mode})"
                tip = f"{layer.name} ({layer.kind}, {layer.width}×{layer.height})"
                if layer.provenance:
                    tip += f"\nAI layer: {layer.provenance.get('task', '')} " \
                           f"{layer.provenance.get('model', '')}"
                return tip
            if role == Qt.ItemDataRole.ForegroundRole and not layer.visible:
                return QColor("#7d818a")
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        layer = self.node_at(index)
        if layer is None or self.doc is None:
            return False
        if index.column() == COL_NAME and role == Qt.ItemDataRole.EditRole:
            name = str(value).strip()
            if name and name != layer.name:
                self.doc.set_layer_attr(layer, "name", name)
            return True
        return False

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if not index.isValid():
            return Qt.ItemFlag.ItemIsDropEnabled
        f = base | Qt.ItemFlag.ItemIsDragEnabled
        node = self.node_at(index)
        if node is not None and node.is_group:
            f |= Qt.ItemFlag.ItemIsDropEnabled          # drop onto a group: into it
        if index.column() == COL_NAME:
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    # -- drag and drop: reorder, into and out of groups ---------------------------------------------------
    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # noqa: N802
        data = QMimeData()
        uids: list[int] = []
        for i in indexes:
            node = self.node_at(i)
            if node is not None and node.uid not in uids:
                uids.append(node.uid)
        if uids:
            data.setData(MIME, QByteArray(",".join(map(str, uids)).encode()))
        return data

    def _dragged(self, data: QMimeData) -> list[Layer]:
        """The dragged nodes, bottom first, without those whose group is dragged too."""
        if not data.hasFormat(MIME) or self.doc is None:
            return []
        try:
            uids = [int(u) for u in bytes(data.data(MIME).data()).decode().split(",") if u]
        except ValueError:
            return []
        picked = [self._nodes[u] for u in uids if u in self._nodes]
        ids = {id(n) for n in picked}

        def covered(n: Layer) -> bool:
            p = n.parent
            while p is not None:
                if id(p) in ids:
                    return True
                p = p.parent
            return False

        order = {id(n): i for i, n in enumerate(self.doc.walk_layers())}
        return sorted((n for n in picked if not covered(n)), key=lambda n: order[id(n)])

    def _target(self, nodes: list[Layer], row: int, parent: Index
                ) -> tuple[Layer | None, Layer | None] | None:
        """(group or None for the top level, the node right below the drop point or None at the
        bottom) for a drop at ``row`` under ``parent``; None when it cannot go there (a group
        into itself)."""
        target = self.node_at(parent) if parent.isValid() else None
        if target is not None and not target.is_group:
            # dropped onto a layer: just above it, in its group
            row, target = self.row_of(target), target.parent
        group = target
        p = group
        while p is not None:                               # not into itself or its descendants
            if any(p is n for n in nodes):
                return None
            p = p.parent
        view = self._children(group)
        if row < 0:
            row = 0                                        # onto a group: on top inside it
        row = min(row, len(view))
        moved = {id(n) for n in nodes}
        below = [n for n in view[row:] if id(n) not in moved]
        return group, (below[0] if below else None)

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802
                        parent: Index) -> bool:
        nodes = self._dragged(data)
        return bool(nodes) and self._target(nodes, row, parent) is not None

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802
                     parent: Index) -> bool:
        nodes = self._dragged(data)
        if not nodes or self.doc is None:
            return False
        where = self._target(nodes, row, parent)
        if where is None:
            return False
        self._move_nodes(nodes, *where)
        return False  # we moved it ourselves: the view must not remove the source row

    def _move_nodes(self, nodes: list[Layer], group: Layer | None, anchor: Layer | None) -> None:
        """Move ``nodes`` (bottom first) into ``group``, right above ``anchor`` (None: at the
        bottom), keeping their order: one undo step."""
        doc = self.doc
        assert doc is not None
        label = f"Move {'layers' if len(nodes) > 1 else nodes[0].name}"
        with doc.history.transaction(label):
            for node in nodes:
                siblings = doc.children_of(group)        # bottom first, live
                if anchor is None:
                    pos = 0
                else:
                    a = next(i for i, n in enumerate(siblings) if n is anchor)
                    mine = next((i for i, n in enumerate(siblings) if n is node), None)
                    pos = a + 1 - (1 if mine is not None and mine < a else 0)
                doc.move_node(node, group, pos)  # type: ignore[arg-type]
                anchor = node

    def move_row(self, src: int, dest_row: int, parent: Index = QModelIndex()) -> None:
        """Move the node at view row ``src`` (under ``parent``) so that it lands before view row
        ``dest_row`` of the same parent."""
        node = self.layer_at(src, parent)
        if node is None or self.doc is None:
            return
        where = self._target([node], dest_row, parent)
        if where is not None:
            self._move_nodes([node], *where)
