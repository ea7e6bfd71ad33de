"""PySide6 6.12 on Python < 3.12 drops a reference of None on every void Qt call; importing
ganstudio.ui must make that harmless (see ganstudio/ui/qt_compat.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def test_many_void_qt_calls_do_not_kill_the_interpreter() -> None:
    code = textwrap.dedent("""
        import sys
        import ganstudio.ui
        from PySide6.QtCore import QCoreApplication
        from PySide6.QtWidgets import QApplication, QWidget
        app = QApplication([])
        w = QWidget()
        for _ in range(250_000):
            w.setEnabled(True)          # returns void
        for _ in range(50_000):
            QCoreApplication.processEvents()
        print("ok")
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
