"""Status bar: transient messages + zoom, document size, cursor position, AI device."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cursor = QLabel("")
        self.size_label = QLabel("")
        self.zoom = QLabel("")
        self.device = QLabel("Device: auto")
        self.cursor.setMinimumWidth(90)
        self.zoom.setMinimumWidth(60)
        self.cursor.setToolTip("Cursor position (document pixels)")
        self.size_label.setToolTip("Document size")
        self.zoom.setToolTip("Zoom")
        self.device.setToolTip("Device used by AI tools (Edit > Preferences)")
        for w in (self.cursor, self.size_label, self.zoom, self.device):
            self.addPermanentWidget(w)

    def set_cursor(self, x: int, y: int) -> None:
        self.cursor.setText("" if x < 0 else f"{x}, {y}")

    def set_zoom(self, zoom: float) -> None:
        self.zoom.setText(f"{zoom * 100:.0f}%" if zoom >= 0.1 else f"{zoom * 100:.1f}%")

    def set_size(self, width: int, height: int, layers: int) -> None:
        self.size_label.setText(f"{width} × {height} px · {layers} layer{'s' if layers != 1 else ''}"
                                if width else "")

    def set_device(self, device: str) -> None:
        self.device.setText(f"Device: {device}")
