"""Dark Fusion theme and icons (SVG files in resources/icons, drawn for the dark palette)."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from ganstudio import paths

ICONS = paths.RESOURCES / "icons"


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    """The SVG icon, with dimmed pixmaps for the disabled state (light icons on a dark theme
    would otherwise look the same enabled or not)."""
    path = ICONS / f"{name}.svg"
    if not path.exists():
        return QIcon()
    ic = QIcon(str(path))
    for size in (16, 18, 20, 22, 24, 32, 40, 44, 48, 64):
        pm = ic.pixmap(QSize(size, size))
        if pm.isNull():
            continue
        dim = QPixmap(pm.size())
        dim.fill(Qt.GlobalColor.transparent)
        p = QPainter(dim)
        p.setOpacity(0.3)
        p.drawPixmap(0, 0, pm)
        p.end()
        ic.addPixmap(dim, QIcon.Mode.Disabled)
    return ic


def app_icon() -> QIcon:
    return icon("ganstudio")


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    p = QPalette()
    base, window, text = QColor("#26282c"), QColor("#303236"), QColor("#e3e5e8")
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, QColor("#2a2c31"))
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor("#1f2023"))
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, QColor("#383b40"))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor("#ff6b6b"))
    p.setColor(QPalette.ColorRole.Highlight, QColor("#3d5a99"))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    p.setColor(QPalette.ColorRole.Link, QColor("#6ea0ff"))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor("#80848c"))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#70737a"))
    app.setPalette(p)
    qss = paths.RESOURCES / "theme" / "dark.qss"
    if qss.exists():
        app.setStyleSheet(qss.read_text(encoding="utf-8").replace("%ICONS%", ICONS.as_posix()))
