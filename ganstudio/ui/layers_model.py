"""A Qt item model adapting ``doc.layers`` (row 0 = the top layer, as in every editor).

Columns: 0 visibility, 1 lock, 2 thumbnail + name (editable: rename in place).
Rows can be dragged to reorder (``doc.move_layer``: undoable). Every change goes through
Document methods, so it is undoable and the canvas follows through ``doc.events``.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import (QAbstractItemModel, QByteArray, QMimeData, QModelIndex,
                            QPersistentModelIndex, Qt, QTimer)
from PySide6.QtGui import QColor, QPainter, QPixmap

from ganstudio.core.document import Document
from ganstudio.core.layers import Layer

from .signals import Connections
from .theme import icon
from .tile_cache import to_qimage

MIME = "application/x-ganstudio-layer-row"
THUMB = 40
COL_VISIBLE, COL_LOCK, COL_NAME = 0, 1, 2
Index = QModelIndex | QPersistentModelIndex


def layer_thumbnail(layer: Layer, size: int = THUMB) -> QPixmap:
    """A small checkerboard-backed picture of the layer."""
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


class LayersModel(QAbstractItemModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.doc: Document | None = None
        self._layers: list[Layer] = []  # top first
        self._thumbs: dict[int, QPixmap] = {}
        self._stale: set[int] = set()
        self._conns = Connections()
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setSingleShot(True)
        self._thumb_timer.setInterval(300)
        self._thumb_timer.timeout.connect(self._refresh_thumbs)

    # -- binding ----------------------------------------------------------------------------------------
    def set_document(self, doc: Document | None) -> None:
        self._disconnect()
        self.beginResetModel()
        self.doc = doc
        self._thumbs.clear()
        self._layers = list(reversed(doc.layers)) if doc is not None else []
        self.endResetModel()
        if doc is not None:
            self._conns.connect(doc.events.layers, self._on_layers)
            self._watch_layers()

    def _disconnect(self) -> None:
        self._conns.disconnect_all()

    def _watch_layers(self) -> None:
        self._conns.disconnect_all(keep=1)   # keep doc.events.layers
        for layer in self._layers:
            ev = layer.events
            for sig in (ev.name, ev.visible, ev.locked, ev.opacity, ev.blend_mode, ev.provenance):
                self._conns.connect(sig, self._attr_handler(layer))
            for sig in (ev.pixels, ev.mask):
                self._conns.connect(sig, self._pixels_handler(layer))

    def _attr_handler(self, layer: Layer):  # noqa: ANN202
        def changed(*_: Any) -> None:
            row = self.row_of(layer)
            if row >= 0:
                self.dataChanged.emit(self.index(row, 0), self.index(row, 2))
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
            layer = next((la for la in self._layers if la.uid == uid), None)
            if layer is not None:
                row = self.row_of(layer)
                self.dataChanged.emit(self.index(row, COL_NAME), self.index(row, COL_NAME),
                                      [Qt.ItemDataRole.DecorationRole])

    def _on_layers(self) -> None:
        self.beginResetModel()
        self._layers = list(reversed(self.doc.layers)) if self.doc is not None else []
        alive = {la.uid for la in self._layers}
        self._thumbs = {k: v for k, v in self._thumbs.items() if k in alive}
        self.endResetModel()
        self._watch_layers()

    def layer_at(self, row: int) -> Layer | None:
        return self._layers[row] if 0 <= row < len(self._layers) else None

    def row_of(self, layer: Layer | None) -> int:
        for i, la in enumerate(self._layers):
            if la is layer:
                return i
        return -1

    # -- model ------------------------------------------------------------------------------------------
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:
        if parent.isValid() or not (0 <= row < len(self._layers)) or not (0 <= column < 3):
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        return QModelIndex()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._layers)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 3

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        layer = self.layer_at(index.row()) if index.isValid() else None
        if layer is None:
            return None
        col = index.column()
        if col == COL_VISIBLE:
            if role == Qt.ItemDataRole.DecorationRole:
                return icon("eye" if layer.visible else "eye_off").pixmap(18, 18)
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Hide layer" if layer.visible else "Show layer"
        elif col == COL_LOCK:
            if role == Qt.ItemDataRole.DecorationRole:
                return icon("lock" if layer.locked else "unlock").pixmap(18, 18)
            if role == Qt.ItemDataRole.ToolTipRole:
                return "Unlock layer" if layer.locked else "Lock layer"
        else:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
                if role == Qt.ItemDataRole.DisplayRole:
                    extra = []
                    if layer.opacity < 1:
                        extra.append(f"{layer.opacity:.0%}")
                    if layer.blend_mode.value != "normal":
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
                tip = f"{layer.name} ({layer.kind}, {layer.width}×{layer.height})"
                if layer.provenance:
                    tip += f"\nAI layer: {layer.provenance.get('task', '')} " \
                           f"{layer.provenance.get('model', '')}"
                return tip
            if role == Qt.ItemDataRole.ForegroundRole and not layer.visible:
                return QColor("#7d818a")
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        layer = self.layer_at(index.row()) if index.isValid() else None
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
        if index.column() == COL_NAME:
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    # -- drag and drop reordering ------------------------------------------------------------------------
    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:  # noqa: N802
        data = QMimeData()
        rows = sorted({i.row() for i in indexes if i.isValid()})
        if rows:
            data.setData(MIME, QByteArray(str(rows[0]).encode()))
        return data

    def canDropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802
                        parent: Index) -> bool:
        return data.hasFormat(MIME)

    def dropMimeData(self, data: QMimeData, action: Qt.DropAction, row: int, column: int,  # noqa: N802
                     parent: Index) -> bool:
        if not data.hasFormat(MIME) or self.doc is None:
            return False
        src = int(bytes(data.data(MIME).data()).decode())
        if row < 0:
            row = parent.row() if parent.isValid() else len(self._layers)
        self.move_row(src, row)
        return False  # we moved it ourselves: the view must not remove the source row

    def move_row(self, src: int, dest_row: int) -> None:
        """Move the layer at view row ``src`` so that it lands before view row ``dest_row``."""
        layer = self.layer_at(src)
        if layer is None or self.doc is None:
            return
        n = len(self._layers)
        target = dest_row if dest_row <= src else dest_row - 1  # view row after removal
        target = max(0, min(n - 1, target))
        if target == src:
            return
        self.doc.move_layer(layer, n - 1 - target)  # view rows are top-first
