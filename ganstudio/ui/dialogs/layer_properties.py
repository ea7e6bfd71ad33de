"""Layer > Properties: name, opacity, blend mode, visibility, lock (applied as one undo step)."""

from __future__ import annotations

import json

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QLineEdit, QPlainTextEdit, QSpinBox, QWidget)

from ganstudio.core.layers import BlendMode, Layer


class LayerPropertiesDialog(QDialog):
    def __init__(self, layer: Layer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Layer properties")
        form = QFormLayout(self)
        self.name = QLineEdit(layer.name)
        self.opacity = QSpinBox()
        self.opacity.setRange(0, 100)
        self.opacity.setSuffix(" %")
        self.opacity.setValue(int(round(layer.opacity * 100)))
        self.blend = QComboBox()
        for mode in BlendMode:
            self.blend.addItem(mode.label, mode.value)
        self.blend.setCurrentIndex(self.blend.findData(layer.blend_mode.value))
        self.visible = QCheckBox("Visible")
        self.visible.setChecked(layer.visible)
        self.locked = QCheckBox("Locked")
        self.locked.setChecked(layer.locked)
        form.addRow("Name", self.name)
        form.addRow("Opacity", self.opacity)
        form.addRow("Blend mode", self.blend)
        form.addRow("", self.visible)
        form.addRow("", self.locked)
        form.addRow("Size", QLineEdit(f"{layer.width} × {layer.height} at {layer.offset}",
                                      readOnly=True))
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
        return {"name": self.name.text().strip() or "Layer", "opacity": self.opacity.value() / 100,
                "blend_mode": BlendMode(self.blend.currentData()), "visible": self.visible.isChecked(),
                "locked": self.locked.isChecked()}
