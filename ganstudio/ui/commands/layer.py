"""Layer menu: new / label / duplicate / delete / merge / order, layer masks, properties.

A mixin of MainWindow (see ui/commands/__init__.py); the pixel work is core's."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtWidgets import QDialog

from ganstudio.core.layers import LabelLayer

from .guard import guarded



class LayerCommands:
    @guarded("New layer")
    def new_layer(self) -> None:
        doc = self.document
        if doc is not None:
            n = sum(1 for la in doc.layers if la.name.startswith("Layer")) + 1
            doc.new_raster_layer(f"Layer {n}")

    @guarded("New label layer")
    def new_label_layer(self) -> None:
        from ..palettes import DEFAULT_PALETTE

        doc = self.document
        if doc is None:
            return
        layer = LabelLayer("Labels", np.zeros((doc.height, doc.width), np.uint8), DEFAULT_PALETTE,
                           palette_name="default", opacity=0.6)
        doc.add_layer(layer, label="New label layer")
        self.tools.select("label")

    @guarded("Duplicate layer")
    def duplicate_layer(self) -> None:
        doc = self.document
        if doc is not None and doc.active_layer is not None:
            doc.duplicate_layer(doc.active_layer)

    @guarded("Delete layer")
    def delete_layer(self) -> None:
        doc = self.document
        if doc is not None and doc.active_layer is not None and len(doc.layers) > 1:
            doc.remove_layer(doc.active_layer)

    @guarded("Merge down")
    def merge_down(self) -> None:
        from ganstudio.core.operations import merge_down

        doc = self.document
        if doc is not None and doc.active_layer is not None:
            merge_down(doc, doc.active_layer)

    def _move_active(self, delta: int) -> None:
        doc = self.document
        if doc is not None and doc.active_layer is not None:
            doc.move_layer(doc.active_layer, doc.index_of(doc.active_layer) + delta)

    def raise_layer(self) -> None:
        self._move_active(+1)

    def lower_layer(self) -> None:
        self._move_active(-1)

    def _on_active_layer(self, operation: str, **kwargs: Any) -> None:
        """Run ``ganstudio.core.operations.<operation>(doc, active layer, **kwargs)``, if any."""
        from ganstudio.core import operations

        doc = self.document
        if doc is not None and doc.active_layer is not None:
            getattr(operations, operation)(doc, doc.active_layer, **kwargs)

    @guarded("Layer mask")
    def add_mask(self) -> None:
        self._on_active_layer("add_layer_mask")

    @guarded("Layer mask")
    def add_mask_from_selection(self) -> None:
        self._on_active_layer("add_layer_mask", from_selection=True)

    @guarded("Apply layer mask")
    def apply_mask(self) -> None:
        self._on_active_layer("apply_layer_mask")

    @guarded("Remove layer mask")
    def remove_mask(self) -> None:
        self._on_active_layer("remove_layer_mask")

    def layer_properties_dialog(self) -> None:
        from ..dialogs.layer_properties import LayerPropertiesDialog

        doc = self.document
        layer = doc.active_layer if doc is not None else None
        if layer is None:
            return
        dlg = LayerPropertiesDialog(layer, self)  # type: ignore[arg-type]
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        with doc.history.transaction("Layer properties"):
            for attr, value in dlg.values().items():
                doc.set_layer_attr(layer, attr, value)
