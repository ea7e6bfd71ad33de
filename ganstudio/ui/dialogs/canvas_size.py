"""Image > Canvas size: new width/height and where the old image sits (anchor)."""

from __future__ import annotations

from PySide6.QtWidgets import (QButtonGroup, QDialog, QDialogButtonBox, QFormLayout, QGridLayout,
                               QPushButton, QSpinBox, QWidget)


class CanvasSizeDialog(QDialog):
    def __init__(self, width: int, height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Canvas size")
        form = QFormLayout(self)
        self.width_ = QSpinBox()
        self.height_ = QSpinBox()
        for s, v in ((self.width_, width), (self.height_, height)):
            s.setRange(1, 60000)
            s.setSuffix(" px")
            s.setValue(v)
        form.addRow("Width", self.width_)
        form.addRow("Height", self.height_)
        grid = QGridLayout()
        self.anchor = QButtonGroup(self)
        for i in range(9):
            b = QPushButton("●" if i == 4 else "")
            b.setCheckable(True)
            b.setFixedSize(28, 28)
            b.setChecked(i == 4)
            self.anchor.addButton(b, i)
            grid.addWidget(b, i // 3, i % 3)
        self.anchor.idClicked.connect(self._mark)
        wrap = QWidget()
        wrap.setLayout(grid)
        form.addRow("Anchor", wrap)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _mark(self, i: int) -> None:
        for b in self.anchor.buttons():
            b.setText("●" if self.anchor.id(b) == i else "")

    def values(self) -> tuple[int, int, tuple[float, float]]:
        i = self.anchor.checkedId()
        return self.width_.value(), self.height_.value(), ((i % 3) / 2, (i // 3) / 2)
