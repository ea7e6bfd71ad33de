"""Layers panel: the layer tree (LayersModel in a QTreeView: groups expand / collapse, rows drag
into and out of groups), opacity, blend mode (every mode; "Pass through" for groups), mask toggle
and buttons for the Layer menu's actions. The controls act on the selected node
(``doc.active_node``: a layer or a group)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSize, Qt
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView,
                               QLabel, QSlider, QToolButton, QTreeView, QVBoxLayout, QWidget)

from ganstudio.core.document import Document
from ganstudio.core.layers import BLEND_MODE_MENU, BlendMode, Layer

from .layers_model import COL_LOCK, COL_NAME, COL_VISIBLE, THUMB, LayersModel
from .signals import Connections

if TYPE_CHECKING:
    from .window_api import ActionsHost as MainWindow


class LayersPanel(QWidget):
    def __init__(self, window: MainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window_ = window
        self.doc: Document | None = None
        self.model = LayersModel(self)
        self._doc_conns = Connections()
        self._merge_opacity = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)

        row = QHBoxLayout()
        row.addWidget(QLabel("Blend"))
        self.blend = QComboBox()
        self._fill_blend(group=False)
        self.blend.setToolTip("Blend mode of the active layer or group")
        self.blend.currentIndexChanged.connect(self._blend_changed)
        row.addWidget(self.blend, 1)
        layout.addLayout(row)

        row = QHBoxLayout()
        row.addWidget(QLabel("Opacity"))
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("Opacity of the active layer")
        self.opacity.valueChanged.connect(self._opacity_changed)
        self.opacity.sliderPressed.connect(self._opacity_pressed)
        self.opacity.sliderReleased.connect(self._opacity_released)
        row.addWidget(self.opacity, 1)
        self.opacity_label = QLabel("100%")
        self.opacity_label.setMinimumWidth(36)
        row.addWidget(self.opacity_label)
        layout.addLayout(row)

        self.mask_enabled = QCheckBox("Layer mask enabled")
        self.mask_enabled.setToolTip("Turn the active layer's mask on or off")
        self.mask_enabled.toggled.connect(self._mask_toggled)
        layout.addWidget(self.mask_enabled)

        self.view = QTreeView()
        self.view.setModel(self.model)
        self.view.setHeaderHidden(True)
        self.view.setRootIsDecorated(True)
        self.view.setIndentation(14)
        self.view.setItemsExpandable(True)
        self.view.setExpandsOnDoubleClick(False)   # double click renames
        self.view.setIconSize(QSize(THUMB, THUMB))
        self.view.setUniformRowHeights(True)
        # Ctrl / Shift + click select several rows for Layer > Group layers (the current row is
        # the active node)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.view.setDragEnabled(True)
        self.view.setAcceptDrops(True)
        self.view.setDropIndicatorShown(True)
        self.view.setDefaultDropAction(Qt.DropAction.MoveAction)
        header = self.view.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(COL_VISIBLE, QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(COL_LOCK, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(COL_VISIBLE, 28)
        header.resizeSection(COL_LOCK, 28)
        self.view.clicked.connect(self._clicked)
        self.view.selectionModel().currentRowChanged.connect(self._current_changed)
        self.view.collapsed.connect(lambda i: self._expanded_changed(i, False))
        self.view.expanded.connect(lambda i: self._expanded_changed(i, True))
        self._collapsed: set[int] = set()           # uids of groups the user collapsed
        self._shown_active = 0                      # uid (no reference: documents must go)
        self.model.modelReset.connect(self._after_reset)
        # incremental updates (rows inserted / removed / moved): new groups come expanded; the
        # selection and expanded state of the other rows follow as persistent indexes
        self.model.structure_changed.connect(self._expand_groups)
        layout.addWidget(self.view, 1)

        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        for name in ("layer_new", "layer_new_group", "layer_duplicate", "layer_merge_down", "layer_add_mask",
                     "compare_toggle", "layer_delete"):
            act = window.qactions.get(name)
            if act is None:
                continue
            b = QToolButton()
            b.setDefaultAction(act)
            b.setAutoRaise(True)
            b.setIconSize(QSize(18, 18))
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.set_document(None)

    # -- document ------------------------------------------------------------------------------------
    def set_document(self, doc: Document | None) -> None:
        self._doc_conns.disconnect_all()
        self.doc = doc
        self.model.set_document(doc)
        if doc is not None:
            for sig, fn in ((doc.events.active_node, self._on_active),
                            (doc.events.layers, self._on_active),
                            (doc.history.events.changed, self._sync_controls)):
                self._doc_conns.connect(sig, fn)
        self._on_active()

    def _fill_blend(self, *, group: bool) -> None:
        self.blend.blockSignals(True)
        self.blend.clear()
        if group:
            self.blend.addItem("Pass through", PASS_THROUGH)
        for mode in BLEND_MODE_MENU:
            self.blend.addItem(mode.label, mode.value)
        self.blend.blockSignals(False)
        self._blend_for_group = group

    def _expanded_changed(self, index: QModelIndex, expanded: bool) -> None:
        node = self.model.node_at(index)
        if node is not None:
            (self._collapsed.discard if expanded else self._collapsed.add)(node.uid)

    def _after_reset(self) -> None:
        """Groups come back expanded unless the user collapsed them."""
        self._expand_groups()
        self._select_active()

    def _expand_groups(self) -> None:
        """Every group expanded unless the user collapsed it (a no-op for rows already so)."""
        if self.doc is not None:
            for node in self.doc.walk_layers():
                if node.is_group:
                    idx = self.model.index_for(node, 0)
                    if idx.isValid() and self.view.isExpanded(idx) == (node.uid in self._collapsed):
                        self.view.setExpanded(idx, node.uid not in self._collapsed)

    def _select_active(self) -> None:
        node = self.doc.active_node if self.doc is not None else None
        idx = self.model.index_for(node, COL_NAME)
        sm = self.view.selectionModel()
        if idx.isValid():
            fresh = node.uid != self._shown_active
            if fresh:                                  # newly active: expand the groups above
                p = idx.parent()
                while p.isValid():
                    self.view.setExpanded(p.siblingAtColumn(0), True)
                    p = p.parent()
            self._shown_active = node.uid
            if sm.currentIndex() != idx:
                # the view scrolls to (and so expands the groups above) a new current row: only
                # for a newly active node, not when a change elsewhere reset the model
                self.view.setAutoScroll(fresh)
                sm.setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                   | QItemSelectionModel.SelectionFlag.Rows)
                self.view.setAutoScroll(True)
        else:
            sm.clearSelection()

    def _on_active(self, *_: Any) -> None:
        self._select_active()
        self._sync_controls()

    def _sync_controls(self) -> None:
        layer = self._layer()
        for w in (self.opacity, self.blend, self.mask_enabled):
            w.setEnabled(layer is not None)
        if layer is None:
            self.opacity.blockSignals(True)
            self.opacity.setValue(100)
            self.opacity.blockSignals(False)
            self.opacity_label.setText("")
            return
        self.opacity.blockSignals(True)
        self.opacity.setValue(int(round(layer.opacity * 100)))
        self.opacity.blockSignals(False)
        self.opacity_label.setText(f"{layer.opacity:.0%}")
        if layer.is_group != self._blend_for_group:
            self._fill_blend(group=layer.is_group)
        self.blend.blockSignals(True)
        value = PASS_THROUGH if layer.is_group and layer.pass_through else layer.blend_mode.value  # type: ignore[attr-defined]
        self.blend.setCurrentIndex(max(0, self.blend.findData(value)))
        self.blend.blockSignals(False)
        self.mask_enabled.blockSignals(True)
        self.mask_enabled.setEnabled(layer.mask is not None)
        self.mask_enabled.setChecked(layer.mask is not None and layer.mask_enabled)
        self.mask_enabled.blockSignals(False)

    def selected_nodes(self) -> list[Layer]:
        """Every node whose row is selected (several with Ctrl / Shift + click)."""
        seen: dict[int, Layer] = {}
        for idx in self.view.selectionModel().selectedIndexes():
            node = self.model.node_at(idx)
            if node is not None:
                seen.setdefault(node.uid, node)
        return list(seen.values())

    def _layer(self) -> Layer | None:
        """The selected node: a layer or a group."""
        return self.doc.active_node if self.doc is not None else None

    # -- view -> document ------------------------------------------------------------------------------
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        node = self.model.node_at(current)
        if node is not None and self.doc is not None and self.doc.active_node is not node:
            self.doc.active_node = node

    def _clicked(self, index: QModelIndex) -> None:
        layer = self.model.node_at(index)
        if layer is None or self.doc is None:
            return
        if index.column() == COL_VISIBLE:
            self.doc.set_layer_attr(layer, "visible", not layer.visible)
        elif index.column() == COL_LOCK:
            self.doc.set_layer_attr(layer, "locked", not layer.locked)

    def _opacity_pressed(self) -> None:
        self._merge_opacity = False

    def _opacity_released(self) -> None:
        self._merge_opacity = False

    def _opacity_changed(self, value: int) -> None:
        layer = self._layer()
        if layer is None or self.doc is None:
            return
        # One undo step per drag: the first change of a drag opens a step, later ones merge in.
        self.doc.set_layer_attr(layer, "opacity", value / 100, merge=self._merge_opacity)
        self._merge_opacity = self.opacity.isSliderDown()
        self.opacity_label.setText(f"{value}%")

    def _blend_changed(self, _i: int) -> None:
        layer = self._layer()
        if layer is None or self.doc is None:
            return
        value = self.blend.currentData()
        if not layer.is_group:
            self.doc.set_layer_attr(layer, "blend_mode", BlendMode(value))
            return
        with self.doc.history.transaction("Group blend mode"):
            if value == PASS_THROUGH:
                self.doc.set_layer_attr(layer, "pass_through", True)
            else:
                self.doc.set_layer_attr(layer, "pass_through", False)
                self.doc.set_layer_attr(layer, "blend_mode", BlendMode(value))

    def _mask_toggled(self, on: bool) -> None:
        layer = self._layer()
        if layer is not None and self.doc is not None and layer.mask is not None:
            self.doc.set_layer_attr(layer, "mask_enabled", on)


#: the blend combo's entry for a pass-through group
PASS_THROUGH = "pass-through"
