"""File > New: canvas size and background."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QSpinBox, QWidget

PRESETS = [("1920 × 1080 (Full HD)", 1920, 1080), ("1024 × 1024", 1024, 1024),
           ("2048 × 2048", 2048, 2048), ("3840 × 2160 (4K)", 3840, 2160),
           ("A4 300 dpi (2480 × 3508)", 2480, 3508), ("512 × 512", 512, 512)]
BACKGROUNDS = [("White", (255, 255, 255, 255)), ("Black", (0, 0, 0, 255)),
               ("Transparent", (0, 0, 0, 0))]


class NewDocumentDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New image")
        form = QFormLayout(self)
        self.preset = QComboBox()
        self.preset.addItem("Custom", None)
        for label, w, h in PRESETS:
            self.preset.addItem(label, (w, h))
        self.preset.currentIndexChanged.connect(self._preset)
        self.width_ = QSpinBox()
        self.height_ = QSpinBox()
        for s in (self.width_, self.height_):
            s.setRange(1, 30000)
            s.setSuffix(" px")
        self.width_.setValue(1920)
        self.height_.setValue(1080)
        self.background = QComboBox()
        for label, color in BACKGROUNDS:
            self.background.addItem(label, color)
        form.addRow("Preset", self.preset)
        form.addRow("Width", self.width_)
        form.addRow("Height", self.height_)
        form.addRow("Background", self.background)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _preset(self, _i: int) -> None:
        size = self.preset.currentData()
        if size:
            self.width_.setValue(size[0])
            self.height_.setValue(size[1])

    def values(self) -> tuple[int, int, tuple[int, int, int, int]]:
        return self.width_.value(), self.height_.value(), self.background.currentData()
