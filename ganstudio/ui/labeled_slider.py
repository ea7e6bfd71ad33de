"""A horizontal slider with an editable value box (light: no extra imports at start-up)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QSlider, QSpinBox, QWidget


class LabeledSlider(QWidget):
    valueChanged = Signal(int)  # noqa: N815 - Qt naming

    def __init__(self, minimum: int, maximum: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.box = QSpinBox()
        self.box.setButtonSymbols(QSpinBox.ButtonSymbols.NoButtons)
        self.box.setFixedWidth(44)
        self.box.setAlignment(Qt.AlignmentFlag.AlignRight)
        for w in (self.slider, self.box):
            w.setRange(minimum, maximum)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.box)
        self.slider.valueChanged.connect(self._from_slider)
        self.box.valueChanged.connect(self._from_box)

    def _from_slider(self, v: int) -> None:
        if self.box.value() != v:
            self.box.blockSignals(True)
            self.box.setValue(v)
            self.box.blockSignals(False)
        self.valueChanged.emit(v)

    def _from_box(self, v: int) -> None:
        self.slider.setValue(v)  # emits through _from_slider

    def value(self) -> int:
        return self.slider.value()

    def setValue(self, v: int) -> None:  # noqa: N802
        self.slider.setValue(int(v))
        if self.box.value() != self.slider.value():
            self.box.blockSignals(True)
            self.box.setValue(self.slider.value())
            self.box.blockSignals(False)
