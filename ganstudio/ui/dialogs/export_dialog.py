"""File > Export: format, quality / lossless, flattened image or layered OpenRaster."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton,
                               QSlider, QWidget)
from PySide6.QtCore import Qt

FORMATS = [("PNG", ".png"), ("JPEG", ".jpg"), ("WEBP", ".webp"), ("TIFF", ".tif"), ("BMP", ".bmp"),
           ("ORA", ".ora")]


class ExportDialog(QDialog):
    def __init__(self, suggested: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setMinimumWidth(480)
        form = QFormLayout(self)
        self.format = QComboBox()
        for name, ext in FORMATS:
            label = "OpenRaster (layered, .ora)" if name == "ORA" else f"{name} ({ext})"
            self.format.addItem(label, (name, ext))
        row = QHBoxLayout()
        self.path = QLineEdit(str(suggested))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        wrap = QWidget()
        wrap.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        self.quality = QSlider(Qt.Orientation.Horizontal)
        self.quality.setRange(1, 100)
        self.quality.setValue(92)
        self.quality_label = QLabel("92")
        self.quality.valueChanged.connect(lambda v: self.quality_label.setText(str(v)))
        qrow = QHBoxLayout()
        qrow.setContentsMargins(0, 0, 0, 0)
        qrow.addWidget(self.quality, 1)
        qrow.addWidget(self.quality_label)
        self.qwrap = QWidget()
        self.qwrap.setLayout(qrow)
        self.lossless = QCheckBox("Lossless")
        self.flatten = QRadioButton("Flattened image (what you see)")
        self.layer_only = QRadioButton("Active layer only")
        self.layered = QRadioButton("Layered (OpenRaster: GIMP, Krita, MyPaint)")
        self.flatten.setChecked(True)
        form.addRow("Format", self.format)
        form.addRow("File", wrap)
        form.addRow("Quality", self.qwrap)
        form.addRow("", self.lossless)
        form.addRow("Content", self.flatten)
        form.addRow("", self.layer_only)
        form.addRow("", self.layered)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        ext = suggested.suffix.lower()
        idx = next((i for i, (_n, e) in enumerate(FORMATS) if e == ext or (ext == ".jpeg" and e == ".jpg")), 0)
        self.format.setCurrentIndex(idx)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.layered.toggled.connect(self._layered_toggled)
        self._format_changed(idx)

    def _format_changed(self, _i: int) -> None:
        name, ext = self.format.currentData()
        p = Path(self.path.text() or "untitled")
        self.path.setText(str(p.with_suffix(ext)))
        self.qwrap.setEnabled(name in ("JPEG", "WEBP"))
        self.lossless.setEnabled(name == "WEBP")
        is_ora = name == "ORA"
        self.layered.setEnabled(True)
        if is_ora != self.layered.isChecked():
            self.layered.blockSignals(True)
            if is_ora:
                self.layered.setChecked(True)
            else:
                self.flatten.setChecked(True)
            self.layered.blockSignals(False)
        self.flatten.setEnabled(not is_ora)
        self.layer_only.setEnabled(not is_ora)

    def _layered_toggled(self, on: bool) -> None:
        if on and self.format.currentData()[0] != "ORA":
            self.format.setCurrentIndex(len(FORMATS) - 1)

    def _browse(self) -> None:
        name, ext = self.format.currentData()
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text(), f"{name} (*{ext})")
        if path:
            self.path.setText(path)

    def values(self) -> dict[str, object]:
        name, _ext = self.format.currentData()
        return {"path": Path(self.path.text()), "format": name, "quality": self.quality.value(),
                "lossless": self.lossless.isChecked(), "layered": name == "ORA",
                "flatten": not self.layer_only.isChecked()}
