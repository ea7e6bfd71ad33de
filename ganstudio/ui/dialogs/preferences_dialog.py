"""Edit > Preferences: device, tile size, memory limits, model cache folder, autosave interval,
AI-mask colour."""

from __future__ import annotations

import dataclasses

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QColorDialog, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLineEdit, QPushButton, QSpinBox, QWidget)

from ..preferences import DEVICES, MASK_COLOURS, Preferences


class PreferencesDialog(QDialog):
    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.setMinimumWidth(460)
        self._prefs = prefs
        form = QFormLayout(self)
        self.device = QComboBox()
        labels = {"auto": "Automatic (CUDA, then MPS, then CPU)", "cpu": "CPU", "cuda": "CUDA (NVIDIA)",
                  "mps": "MPS (Apple)"}
        for d in DEVICES:
            self.device.addItem(labels[d], d)
        self.device.setCurrentIndex(DEVICES.index(prefs.device) if prefs.device in DEVICES else 0)
        self.tile = QSpinBox()
        self.tile.setRange(0, 4096)
        self.tile.setSingleStep(64)
        self.tile.setSpecialValueText("Automatic")
        self.tile.setSuffix(" px")
        self.tile.setValue(prefs.tile_size)
        self.undo = QSpinBox()
        self.undo.setRange(16, 65536)
        self.undo.setSuffix(" MB")
        self.undo.setValue(prefs.undo_memory_mb)
        self.job_mem = QSpinBox()
        self.job_mem.setRange(0, 262144)
        self.job_mem.setSpecialValueText("No limit")
        self.job_mem.setSuffix(" MB")
        self.job_mem.setValue(prefs.job_memory_mb)
        self.cache = QLineEdit(prefs.cache_dir)
        self.cache.setPlaceholderText(prefs.effective_cache_dir)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.cache, 1)
        row.addWidget(browse)
        wrap = QWidget()
        wrap.setLayout(row)
        self.autosave = QSpinBox()
        self.autosave.setRange(0, 3600)
        self.autosave.setSpecialValueText("Off")
        self.autosave.setSuffix(" s")
        self.autosave.setValue(prefs.autosave_interval_s)
        form.addRow("AI device", self.device)
        form.addRow("Tile size", self.tile)
        form.addRow("Undo memory", self.undo)
        form.addRow("AI job memory", self.job_mem)
        form.addRow("Model cache", wrap)
        self.mask_colour = QComboBox()
        self.mask_colour.setObjectName("prefs_mask_colour")
        for name, hexcol in MASK_COLOURS.items():
            self.mask_colour.addItem(self._swatch(hexcol), name, hexcol)
        self.mask_colour.addItem("Custom…", "custom")
        self._set_mask_colour(prefs.ai_mask_color)
        self.mask_colour.activated.connect(self._mask_colour_chosen)
        form.addRow("Autosave every", self.autosave)
        form.addRow("AI mask colour", self.mask_colour)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    @staticmethod
    def _swatch(hexcol: str):  # noqa: ANN205
        from PySide6.QtGui import QIcon, QPixmap

        pm = QPixmap(14, 14)
        pm.fill(QColor(hexcol))
        return QIcon(pm)

    def _set_mask_colour(self, hexcol: str) -> None:
        hexcol = hexcol.lower()
        i = self.mask_colour.findData(hexcol)
        if i < 0:  # a custom colour: its own entry before "Custom…"
            i = self.mask_colour.count() - 1
            self.mask_colour.insertItem(i, self._swatch(hexcol), hexcol, hexcol)
        self.mask_colour.setCurrentIndex(i)

    def _mask_colour_chosen(self, index: int) -> None:
        if self.mask_colour.itemData(index) != "custom":
            return
        col = QColorDialog.getColor(QColor(self._prefs.ai_mask_color), self, "AI mask colour")
        self._set_mask_colour(col.name() if col.isValid() else self._prefs.ai_mask_color)

    def mask_colour_value(self) -> str:
        data = self.mask_colour.currentData()
        return data if isinstance(data, str) and data.startswith("#") else self._prefs.ai_mask_color

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Model cache folder", self.cache.text())
        if path:
            self.cache.setText(path)

    def values(self) -> Preferences:
        return dataclasses.replace(
            self._prefs, device=self.device.currentData(), tile_size=self.tile.value(),
            undo_memory_mb=self.undo.value(), job_memory_mb=self.job_mem.value(),
            cache_dir=self.cache.text().strip(), autosave_interval_s=self.autosave.value(),
            ai_mask_color=self.mask_colour_value())
