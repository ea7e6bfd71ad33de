"""Image > Image size: resample the whole image (keeps the aspect ratio when linked)."""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QSpinBox, QWidget)

METHODS = [("Lanczos (best for photos)", "lanczos"), ("Bicubic", "bicubic"),
           ("Bilinear", "bilinear"), ("Nearest neighbour (pixel art)", "nearest")]


class ImageSizeDialog(QDialog):
    def __init__(self, width: int, height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Image size")
        self._w0, self._h0 = width, height
        form = QFormLayout(self)
        self.width_ = QSpinBox()
        self.height_ = QSpinBox()
        for s, v in ((self.width_, width), (self.height_, height)):
            s.setRange(1, 60000)
            s.setSuffix(" px")
            s.setValue(v)
        self.link = QCheckBox("Keep aspect ratio")
        self.link.setChecked(True)
        self.method = QComboBox()
        for label, m in METHODS:
            self.method.addItem(label, m)
        self.width_.valueChanged.connect(self._w_changed)
        self.height_.valueChanged.connect(self._h_changed)
        form.addRow("Width", self.width_)
        form.addRow("Height", self.height_)
        form.addRow("", self.link)
        form.addRow("Resampling", self.method)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _w_changed(self, w: int) -> None:
        if self.link.isChecked():
            self.height_.blockSignals(True)
            self.height_.setValue(max(1, round(w * self._h0 / self._w0)))
            self.height_.blockSignals(False)

    def _h_changed(self, h: int) -> None:
        if self.link.isChecked():
            self.width_.blockSignals(True)
            self.width_.setValue(max(1, round(h * self._w0 / self._h0)))
            self.width_.blockSignals(False)

    def values(self) -> tuple[int, int, str]:
        return self.width_.value(), self.height_.value(), self.method.currentData()
