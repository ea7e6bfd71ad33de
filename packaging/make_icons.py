"""Renders the app icon (resources/icons/ganstudio.svg) into the freedesktop hicolor theme sizes:
resources/icons/hicolor/<N>x<N>/apps/io.github.ganstudio.GANStudio.png (+ scalable/apps/*.svg).

    .venv/bin/python packaging/make_icons.py          # write them
    .venv/bin/python packaging/make_icons.py --check  # exit 1 if any is missing or out of date

Qt's SVG renderer (QtSvg, part of PySide6-Essentials), offscreen; deterministic for one Qt version,
so --check compares pixels with a small tolerance, not bytes.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "icons" / "ganstudio.svg"
HICOLOR = ROOT / "resources" / "icons" / "hicolor"
APP_ID = "io.github.ganstudio.GANStudio"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def render(size: int):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - keeps Qt alive
    img = QImage(size, size, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    painter = QPainter(img)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(SVG)).render(painter)
    painter.end()
    return img


def main(check: bool) -> int:
    from PySide6.QtGui import QImage

    bad = []
    for n in SIZES:
        out = HICOLOR / f"{n}x{n}" / "apps" / f"{APP_ID}.png"
        img = render(n)
        if check:
            old = QImage(str(out))
            same = not old.isNull() and old.size() == img.size() and all(
                abs(a - b) <= 2 for a, b in zip(bytes(old.convertToFormat(img.format()).constBits()),
                                                 bytes(img.constBits())))
            if not same:
                bad.append(str(out.relative_to(ROOT)))
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        assert img.save(str(out), "PNG"), out
    scalable = HICOLOR / "scalable" / "apps" / f"{APP_ID}.svg"
    if check:
        if not scalable.is_file() or scalable.read_bytes() != SVG.read_bytes():
            bad.append(str(scalable.relative_to(ROOT)))
        if bad:
            print("out of date (run packaging/make_icons.py):", *bad, sep="\n  ")
        return 1 if bad else 0
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SVG, scalable)
    print(f"wrote {len(SIZES)} PNG sizes and the scalable SVG under {HICOLOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
