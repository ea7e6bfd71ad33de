"""UI fixtures: a real MainWindow that is closed after the test; the test FAILS when top-level
widgets or threads are left behind."""

from __future__ import annotations

import gc
import threading
from collections.abc import Generator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QCoreApplication, QEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from ganstudio.core.document import Document  # noqa: E402
from ganstudio.core.layers import RasterLayer  # noqa: E402


def _live_top_levels() -> set[int]:
    return {id(w) for w in QApplication.topLevelWidgets()}


def _flush() -> None:
    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
    gc.collect()


@pytest.fixture
def window(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Generator:  # noqa: ANN001
    monkeypatch.setenv("GANSTUDIO_DATA", str(tmp_path / "user-data"))
    from ganstudio.ui.main_window import MainWindow

    _flush()
    before_widgets = _live_top_levels()
    before_threads = set(threading.enumerate())
    w = MainWindow()
    w.ask_before_close = False
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()
    w.deleteLater()
    del w
    _flush()
    leaked = [x for x in QApplication.topLevelWidgets()
              if id(x) not in before_widgets and isinstance(x, QWidget)]
    names = [f"{type(x).__name__}({x.objectName()!r}, visible={x.isVisible()})" for x in leaked]
    threads = [t for t in threading.enumerate() if t not in before_threads and t.is_alive()]
    assert not names, f"leaked top-level widgets: {names}"
    assert not threads, f"threads still running: {threads}"


def _make_doc(width: int = 200, height: int = 150, color=(255, 255, 255, 255)) -> Document:  # noqa: ANN001
    doc = Document(width, height, name="test")
    doc.add_layer(RasterLayer.blank("Background", width, height, fill=color))
    doc.history.clear()
    doc.mark_modified(False)
    return doc


@pytest.fixture
def make_doc():  # noqa: ANN201
    """make_doc(width=200, height=150, color=white) -> a one-layer Document, unmodified."""
    return _make_doc


@pytest.fixture
def photo_doc(astronaut: np.ndarray) -> Document:
    doc = Document(512, 512, name="astronaut")
    doc.add_layer(RasterLayer("photo", np.dstack([astronaut, np.full((512, 512), 255, np.uint8)])))
    doc.history.clear()
    doc.mark_modified(False)
    return doc
