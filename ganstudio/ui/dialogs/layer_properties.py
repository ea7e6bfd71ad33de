"""Layer > Properties: name, opacity, blend mode, visibility, lock (applied as one undo step);
for a layer group also pass-through / isolated."""

from __future__ import annotations

import json

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QLineEdit, QPlainTextEdit, QSpinBox, QWidget)

from ganstudio.core.layers import BLEND_MODE_MENU, BlendMode, Layer


class LayerPropertiesDialog(QDialog):
    def __init__(self, layer: Layer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.is_group = layer.is_group
        self.setWindowTitle("Group properties" if self.is_group else "Layer properties")
        form = QFormLayout(self)
        self.name = QLineEdit(layer.name)
        self.opacity = QSpinBox()
        self.opacity.setRange(0, 100)
        self.opacity.setSuffix(" %")
        self.opacity.setValue(int(round(layer.opacity * 100)))
        self.blend = QComboBox()
        for mode in BLEND_MODE_MENU:
            self.blend.addItem(mode.label, mode.value)
        self.blend.setCurrentIndex(self.blend.findData(layer.blend_mode.value))
        self.visible = QCheckBox("Visible")
        self.visible.setChecked(layer.visible)
        self.locked = QCheckBox("Locked")
        self.locked.setChecked(layer.locked)
        self.pass_through = QCheckBox("Pass through (the group's layers blend with what is below)")
        form.addRow("Name", self.name)
        form.addRow("Opacity", self.opacity)
        form.addRow("Blend mode", self.blend)
        if self.is_group:
            self.pass_through.setChecked(layer.pass_through)  # type: ignore[attr-defined]
            self.pass_through.setToolTip("Off: the group is composited on its own (isolated), "
                                         "then blended with its blend mode")
            self.pass_through.toggled.connect(lambda on: self.blend.setEnabled(not on))
            self.blend.setEnabled(not self.pass_through.isChecked())
            form.addRow("", self.pass_through)
        form.addRow("", self.visible)
        form.addRow("", self.locked)
        b = layer.bounds
        size = f"{b.w} × {b.h} at {(b.x, b.y)}"
        if self.is_group:
            size += f", {sum(1 for _ in layer.leaves())} layer(s)"  # type: ignore[attr-defined]
        form.addRow("Size", QLineEdit(size, readOnly=True))
        if layer.provenance:
            prov = QPlainTextEdit(json.dumps(layer.provenance, indent=1, default=str))
            prov.setReadOnly(True)
            prov.setMaximumHeight(140)
            form.addRow("AI provenance", prov)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict[str, object]:
        out: dict[str, object] = {
            "name": self.name.text().strip() or ("Group" if self.is_group else "Layer"),
            "opacity": self.opacity.value() / 100,
            "blend_mode": BlendMode(self.blend.currentData()), "visible": self.visible.isChecked(),
            "locked": self.locked.isChecked()}
        if self.is_group:
            out["pass_through"] = self.pass_through.isChecked()
        return out
