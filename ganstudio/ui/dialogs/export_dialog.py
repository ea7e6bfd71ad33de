"""File > Export: format, quality / lossless, flattened image or layered OpenRaster.

The proposed file goes to the last export folder, else the user's Pictures (or Documents, or home)
folder; never into the install folder or a folder that cannot be written (a read-only source's
folder). The Quality slider is only active for the formats that use it (JPEG, lossy WebP).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton,
                               QSlider, QWidget)
from PySide6.QtCore import QStandardPaths, Qt

#: formats whose encoder has a quality setting (WebP only when not lossless)
QUALITY_FORMATS = ("JPEG", "WEBP")
LAST_DIR_KEY = "export/last_dir"


def _install_dirs() -> list[Path]:
    from ganstudio import paths

    return paths.install_dirs()  # (data root, the package's parent, sys.prefix, the bundle)


def usable_folder(folder: Path) -> bool:
    """An existing, writable folder outside the application's own files."""
    try:
        f = folder.resolve()
    except OSError:
        return False
    if not f.is_dir() or not os.access(f, os.W_OK):
        return False
    return not any(f == d or d in f.parents for d in _install_dirs())


def default_export_folder() -> Path:
    """The last export folder (if still usable), else Pictures, Documents, home."""
    from ..settings import settings

    last = settings().value(LAST_DIR_KEY)
    candidates = [Path(str(last))] if last else []
    for loc in (QStandardPaths.StandardLocation.PicturesLocation,
                QStandardPaths.StandardLocation.DocumentsLocation):
        d = QStandardPaths.writableLocation(loc)
        if d:
            candidates.append(Path(d))
    candidates.append(Path.home())
    for c in candidates:
        if usable_folder(c):
            return c
    return Path.home()


def last_export_folder() -> Path | None:
    from ..settings import settings

    last = settings().value(LAST_DIR_KEY)
    return Path(str(last)) if last and usable_folder(Path(str(last))) else None


def proposed_path(suggested: Path, source: Path | None = None) -> Path:
    """``suggested``'s name in the last export folder; without one, in ``suggested``'s folder
    when it is usable and not simply the source image's folder; else Pictures / Documents / home."""
    folder = last_export_folder() or suggested.parent
    beside_source = source is not None and folder.resolve() == Path(source).resolve().parent
    if folder != last_export_folder() and (beside_source or not usable_folder(folder)):
        folder = default_export_folder()
    return folder / suggested.name

FORMATS = [("PNG", ".png"), ("JPEG", ".jpg"), ("WEBP", ".webp"), ("TIFF", ".tif"), ("BMP", ".bmp"),
           ("ORA", ".ora")]


class ExportDialog(QDialog):
    def __init__(self, suggested: Path, parent: QWidget | None = None, *,
                 source: Path | None = None) -> None:
        super().__init__(parent)
        if source is None:  # the window's active document: its file is the source
            doc = getattr(parent, "document", None)
            source = Path(doc.path) if doc is not None and getattr(doc, "path", None) else None
        suggested = proposed_path(Path(suggested), source)
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
        self.quality.valueChanged.connect(
            lambda v: self.quality_label.setText(str(v)) if self.quality.isEnabled() else None)
        qrow = QHBoxLayout()
        qrow.setContentsMargins(0, 0, 0, 0)
        qrow.addWidget(self.quality, 1)
        qrow.addWidget(self.quality_label)
        self.qwrap = QWidget()
        self.qwrap.setLayout(qrow)
        self.lossless = QCheckBox("Lossless")
        self.lossless.toggled.connect(lambda _on: self._update_quality())
        # a disabled slider must look disabled in the dark theme too (its QSS colours it)
        self.quality.setStyleSheet(
            "QSlider::handle:horizontal:disabled { background: #5a5d64; }"
            "QSlider::sub-page:horizontal:disabled { background: #45484f; }")
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
        self.lossless.setEnabled(name == "WEBP")
        self._update_quality()
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

    def quality_used(self) -> bool:
        name = self.format.currentData()[0]
        return name in QUALITY_FORMATS and not (name == "WEBP" and self.lossless.isChecked())

    def _update_quality(self) -> None:
        on = self.quality_used()
        name = self.format.currentData()[0]
        self.quality.setEnabled(on)
        self.quality_label.setEnabled(on)
        self.qwrap.setEnabled(on)
        self.quality_label.setText(str(self.quality.value()) if on else "lossless")
        self.qwrap.setToolTip("" if on else f"{'Lossless WebP' if name == 'WEBP' else name} has no "
                              "quality setting: it keeps every pixel")

    def accept(self) -> None:
        from ..settings import settings

        folder = Path(self.path.text()).parent
        if usable_folder(folder):
            s = settings()
            s.setValue(LAST_DIR_KEY, str(folder))
            s.sync()
        super().accept()

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
