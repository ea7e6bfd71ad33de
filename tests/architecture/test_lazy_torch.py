"""The window and the CLI must start without importing torch (DESIGN.md section 2)."""

from __future__ import annotations

import subprocess
import sys

import pytest

MODULES = [
    "ganstudio.cli",
    "ganstudio.ui.app",
    "ganstudio.ui.main_window",
    "ganstudio.jobs.queue",
    "ganstudio.jobs.runner",
    "ganstudio.core.document",
    "ganstudio.core.io",
]


@pytest.mark.parametrize("module", MODULES)
def test_importing_does_not_load_torch(module: str) -> None:
    code = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        "from ganstudio.cli import build_parser\n"
        "build_parser()\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False", f"{module} (or the CLI parser) imported torch"


def test_task_uis_install_without_torch() -> None:
    """Building the whole main window, task menus included, keeps torch unloaded."""
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from ganstudio.ui.main_window import MainWindow\n"
        "w = MainWindow()\n"
        "print('torch' in sys.modules)\n"
        "w.close(); w.deleteLater()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin",
                              "GANSTUDIO_DATA": "/tmp/ganstudio-lazy-torch-test"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False", "building the window imported torch"
