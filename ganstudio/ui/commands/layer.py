"""Layer menu: new layer / label layer / group, group / ungroup, duplicate / delete / merge,
order, layer masks, properties.

A mixin of MainWindow (see ui/commands/__init__.py); the work is core's (one undo step each).
The commands act on the selected node of the Layers panel (``doc.active_node``: a layer or a
group); Group layers takes every row selected in the panel."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtWidgets import QDialog

from ganstudio.core.layers import LabelLayer, Layer

from .guard import guarded


def _next_name(doc: Any, prefix: str, groups: bool) -> str:
    nodes = doc.groups() if groups else doc.layers
    return f"{prefix} {sum(1 for la in nodes if la.name.startswith(prefix)) + 1}"


class LayerCommands:
    def _active_node(self) -> Layer | None:
        doc = self.document
        return None if doc is None else doc.active_node

    @guarded("New layer")
    def new_layer(self) -> None:
        doc = self.document
        if doc is not None:
            doc.new_raster_layer(_next_name(doc, "Layer", groups=False))

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

    @guarded("New group")
    def new_group(self) -> None:
        doc = self.document
        if doc is not None:
            doc.new_group(_next_name(doc, "Group", groups=True))

    @guarded("Group layers")
    def group_layers(self) -> None:
        doc = self.document
        if doc is None:
            return
        panel = getattr(self, "layers_panel", None)
        nodes = panel.selected_nodes() if panel is not None and panel.doc is doc else []
        if not nodes and doc.active_node is not None:
            nodes = [doc.active_node]
        if nodes:
            doc.group_layers(nodes, name=_next_name(doc, "Group", groups=True))

    @guarded("Ungroup")
    def ungroup(self) -> None:
        doc, node = self.document, self._active_node()
        if doc is not None and node is not None and node.is_group:
            doc.ungroup(node)  # type: ignore[arg-type]

    @guarded("Merge group")
    def merge_group(self) -> None:
        doc, node = self.document, self._active_node()
        if doc is not None and node is not None and node.is_group:
            doc.merge_group(node)  # type: ignore[arg-type]

    @guarded("Duplicate layer")
    def duplicate_layer(self) -> None:
        doc, node = self.document, self._active_node()
        if doc is not None and node is not None:
            doc.duplicate_layer(node)

    @guarded("Delete layer")
    def delete_layer(self) -> None:
        doc, node = self.document, self._active_node()
        if doc is not None and node is not None and can_delete(doc, node):
            doc.remove_layer(node)

    @guarded("Merge down")
    def merge_down(self) -> None:
        from ganstudio.core.operations import merge_down

        doc, node = self.document, self._active_node()
        if doc is None or node is None:
            return
        if node.is_group:                      # Merge down on a group merges the group
            doc.merge_group(node)  # type: ignore[arg-type]
            return
        parent, pos = doc.position_of(node)
        below = doc.children_of(parent)[pos - 1] if pos > 0 else None
        if below is None or below.is_group:            # only into a layer of the same group
            return
        with doc.history.transaction(f"Merge down “{node.name}”"):
            merged = merge_down(doc, node)
            if doc.position_of(merged) != (parent, pos - 1):   # keep it where the lower layer was
                doc.move_node(merged, parent, pos - 1)

    def _move_active(self, delta: int) -> None:
        """One step up / down among the node's siblings; past the end of a group, out of it."""
        doc, node = self.document, self._active_node()
        if doc is None or node is None:
            return
        parent, pos = doc.position_of(node)
        n = len(doc.children_of(parent))
        if 0 <= pos + delta < n:
            doc.move_node(node, parent, pos + delta)
        elif parent is not None:
            grand, gpos = doc.position_of(parent)
            doc.move_node(node, grand, gpos + 1 if delta > 0 else gpos)

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
        layer = doc.active_node if doc is not None else None
        if layer is None:
            return
        dlg = LayerPropertiesDialog(layer, self)  # type: ignore[arg-type]
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        with doc.history.transaction("Layer properties"):
            for attr, value in dlg.values().items():
                doc.set_layer_attr(layer, attr, value)


def can_delete(doc: Any, node: Layer) -> bool:
    """A node may go when some paint layer stays (an empty group may always go)."""
    if node.is_group:
        inside = sum(1 for _ in node.leaves())  # type: ignore[attr-defined]
        return inside == 0 or len(doc.layers) > inside
    return len(doc.layers) > 1
