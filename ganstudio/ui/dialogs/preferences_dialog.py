"""Edit > Preferences: device, tile size, memory limits, model cache folder, autosave interval."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLineEdit, QPushButton, QSpinBox, QWidget)

from ..preferences import DEVICES, Preferences


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
        form.addRow("Autosave every", self.autosave)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Model cache folder", self.cache.text())
        if path:
            self.cache.setText(path)

    def values(self) -> Preferences:
        return dataclasses.replace(
            self._prefs, device=self.device.currentData(), tile_size=self.tile.value(),
            undo_memory_mb=self.undo.value(), job_memory_mb=self.job_mem.value(),
            cache_dir=self.cache.text().strip(), autosave_interval_s=self.autosave.value())
