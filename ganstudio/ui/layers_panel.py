"""Layers panel: the layer list (LayersModel in a QTreeView), opacity, blend mode, mask toggle and
buttons for the Layer menu's actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSize, Qt
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QHBoxLayout, QHeaderView,
                               QLabel, QSlider, QToolButton, QTreeView, QVBoxLayout, QWidget)

from ganstudio.core.document import Document
from ganstudio.core.layers import BlendMode, Layer

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
        for mode in BlendMode:
            self.blend.addItem(mode.label, mode.value)
        self.blend.setToolTip("Blend mode of the active layer")
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
        self.view.setRootIsDecorated(False)
        self.view.setIndentation(0)
        self.view.setIconSize(QSize(THUMB, THUMB))
        self.view.setUniformRowHeights(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
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
        self.model.modelReset.connect(self._select_active)
        layout.addWidget(self.view, 1)

        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        for name in ("layer_new", "layer_duplicate", "layer_merge_down", "layer_add_mask",
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
            for sig, fn in ((doc.events.active_layer, self._on_active),
                            (doc.events.layers, self._on_active),
                            (doc.history.events.changed, self._sync_controls)):
                self._doc_conns.connect(sig, fn)
        self._on_active()

    def _select_active(self) -> None:
        layer = self.doc.active_layer if self.doc is not None else None
        row = self.model.row_of(layer)
        sm = self.view.selectionModel()
        if row >= 0:
            idx = self.model.index(row, COL_NAME)
            if sm.currentIndex().row() != row:
                sm.setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                   | QItemSelectionModel.SelectionFlag.Rows)
        else:
            sm.clearSelection()

    def _on_active(self, *_: Any) -> None:
        self._select_active()
        self._sync_controls()

    def _sync_controls(self) -> None:
        layer = self.doc.active_layer if self.doc is not None else None
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
        self.blend.blockSignals(True)
        self.blend.setCurrentIndex(max(0, self.blend.findData(layer.blend_mode.value)))
        self.blend.blockSignals(False)
        self.mask_enabled.blockSignals(True)
        self.mask_enabled.setEnabled(layer.mask is not None)
        self.mask_enabled.setChecked(layer.mask is not None and layer.mask_enabled)
        self.mask_enabled.blockSignals(False)

    def _layer(self) -> Layer | None:
        return self.doc.active_layer if self.doc is not None else None

    # -- view -> document ------------------------------------------------------------------------------
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        layer = self.model.layer_at(current.row()) if current.isValid() else None
        if layer is not None and self.doc is not None and self.doc.active_layer is not layer:
            self.doc.active_layer = layer

    def _clicked(self, index: QModelIndex) -> None:
        layer = self.model.layer_at(index.row())
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
        if layer is not None and self.doc is not None:
            self.doc.set_layer_attr(layer, "blend_mode", BlendMode(self.blend.currentData()))

    def _mask_toggled(self, on: bool) -> None:
        layer = self._layer()
        if layer is not None and self.doc is not None and layer.mask is not None:
            self.doc.set_layer_attr(layer, "mask_enabled", on)
