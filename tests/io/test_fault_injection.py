"""Never lose an artist's work (issue 13): copy-on-write snapshots, an autosave thread that survives
any exception, recovery files kept until the recovered document is saved again, kill -9 during
saves, disk full / read-only recovery folders."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ganstudio.core.autosave as autosave_mod
from ganstudio.core.autosave import (Autosaver, emergency_save_all, find_recoverable, pid_alive,
                                     recover)
from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.io import load_ora, save_ora
from ganstudio.core.layers import RasterLayer
from ganstudio.core.snapshot import DocumentSnapshot, live_snapshots


def _doc(w: int = 300, h: int = 260, layers: int = 2) -> Document:
    doc = Document(w, h)
    rng = np.random.default_rng(7)
    for i in range(layers):
        px = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
        px[..., 3] = 255
        doc.add_layer(RasterLayer(f"layer {i}", px))
    doc.history.clear()
    doc.mark_modified(False)
    return doc


def _paint(doc: Document, layer: int, rect: Rect, value: int) -> None:
    with doc.edit_pixels(doc.layers[layer], rect) as px:
        px[rect.slices()] = (value, value, value, 255)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _as_crashed(saver: Autosaver) -> None:
    side = json.loads(saver.json_path.read_text())
    side["pid"] = _dead_pid()
    saver.json_path.write_text(json.dumps(side))


# == copy-on-write snapshots ===========================================================================

def test_snapshot_is_frozen_while_the_document_changes():
    doc = _doc()
    before = [la.pixels.copy() for la in doc.layers]
    snap = DocumentSnapshot(doc)
    _paint(doc, 0, Rect(10, 10, 40, 30), 9)           # in-place edits after the snapshot
    _paint(doc, 1, Rect(250, 200, 50, 60), 200)
    doc.history.undo()
    doc.history.redo()                                  # undo/redo write in place too
    doc.set_layer_attr(doc.layers[0], "opacity", 0.5)
    copy = snap.materialize()
    for la, ref in zip(copy.layers, before, strict=True):
        np.testing.assert_array_equal(la.pixels, ref)
    assert copy.layers[0].opacity == 1.0
    assert 0 < snap.preserved_bytes <= 2 * 4 * 256 * 256 * 4     # only the touched tiles were copied
    snap.release()
    assert live_snapshots() == 0
    # the live document did change
    assert (doc.layers[0].pixels[10:40, 10:50, :3] == 9).all()


def test_snapshot_costs_o_layers_on_the_calling_thread():
    import tracemalloc

    doc = _doc(2000, 1500, layers=5)
    tracemalloc.start()           # numpy reports its buffers to tracemalloc
    try:
        snap = DocumentSnapshot(doc)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    _paint(doc, 2, Rect(0, 0, 64, 64), 1)               # one tile copied, not the layer
    assert snap.preserved_bytes == 256 * 256 * 4
    snap.release()
    # no pixel copies: one layer alone is 12 MB; the snapshot's own bookkeeping is far below 1 MB
    assert peak < 1 << 20, peak


# == autosave thread ===================================================================================

def test_autosave_survives_any_exception_and_retries(tmp_path, monkeypatch):
    doc = _doc(40, 30)
    saver = Autosaver(doc, tmp_path / "rec", interval_s=120, background=False)
    _paint(doc, 0, Rect(0, 0, 8, 8), 3)
    real = autosave_mod.save_ora
    calls = {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("injected bug in the writer")
        return real(*a, **k)

    monkeypatch.setattr(autosave_mod, "save_ora", flaky)
    t = time.monotonic() + 200
    assert saver.maybe_save(t) is False                  # failed, did not raise
    assert isinstance(saver.last_error, RuntimeError) and saver.failures == 1
    assert "retrying" in saver.status and saver.pending
    assert saver.maybe_save(t + 1) is False              # back-off: not yet
    assert saver.maybe_save(t + autosave_mod.RETRY_S + 0.1) is True   # retried long before 120 s
    assert saver.last_error is None and saver.status == "" and saver.ora_path.is_file()
    saver.close()


def test_background_writer_thread_survives_an_exception(tmp_path, monkeypatch):
    doc = _doc(40, 30)
    saver = Autosaver(doc, tmp_path / "rec", interval_s=0, background=True)
    _paint(doc, 0, Rect(0, 0, 8, 8), 3)
    monkeypatch.setattr(autosave_mod, "save_ora", lambda *a, **k: (_ for _ in ()).throw(ValueError("boom")))
    assert saver.maybe_save() is True
    saver.wait()
    assert isinstance(saver.last_error, ValueError) and saver.pending
    monkeypatch.undo()
    saver._retry_at = None
    assert saver.maybe_save()
    saver.wait()
    assert saver.last_error is None and saver.ora_path.is_file()
    saver.close()


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_disk_full_or_read_only_keeps_the_previous_autosave(tmp_path, monkeypatch, err):
    doc = _doc(40, 30)
    saver = Autosaver(doc, tmp_path / "rec", interval_s=0, background=False)
    _paint(doc, 0, Rect(0, 0, 8, 8), 3)
    assert saver.maybe_save()
    good = saver.ora_path.read_bytes()
    _paint(doc, 0, Rect(0, 0, 8, 8), 99)

    def fail(*a, **k):
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(autosave_mod, "save_ora", fail)
    assert saver.maybe_save() is False
    assert isinstance(saver.last_error, OSError) and saver.last_error.errno == err
    assert saver.ora_path.read_bytes() == good           # the last good autosave is intact
    saver.close()


def test_read_only_recovery_folder(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    rec = tmp_path / "rec"
    rec.mkdir()
    rec.chmod(0o500)
    try:
        doc = _doc(20, 20)
        saver = Autosaver(doc, rec, interval_s=0, background=False)
        _paint(doc, 0, Rect(0, 0, 4, 4), 1)
        assert saver.maybe_save() is False and isinstance(saver.last_error, OSError)
    finally:
        rec.chmod(0o700)


# == recovery =========================================================================================

def test_recovered_document_keeps_its_files_until_saved(tmp_path):
    rec = tmp_path / "rec"
    doc = _doc(40, 30)
    saver = Autosaver(doc, rec, interval_s=0, background=False)
    _paint(doc, 0, Rect(0, 0, 8, 8), 42)
    assert saver.maybe_save()
    _as_crashed(saver)                                       # first crash
    (entry,) = find_recoverable(rec)
    back = recover(entry)
    adopted = Autosaver(back, interval_s=120, background=False, adopt=entry)
    assert entry.ora_path.is_file() and entry.json_path.is_file()   # not deleted on open
    assert adopted.save_now()                                  # autosave at once after recovery
    assert json.loads(entry.json_path.read_text())["pid"] == os.getpid()
    # a crash right after recovery: the work is still there
    _as_crashed(adopted)
    (again,) = find_recoverable(rec)
    np.testing.assert_array_equal(recover(again).layers[0].pixels[:8, :8, 0], 42)
    # saved by the user: the recovery files go
    out = tmp_path / "saved.ora"
    save_ora(back, out)
    assert not back.modified
    adopted.maybe_save()
    assert not entry.ora_path.exists() and not entry.json_path.exists()
    adopted.close()


def test_detach_keeps_recovery_files_and_emergency_save(tmp_path):
    rec = tmp_path / "rec"
    doc = _doc(40, 30)
    saver = Autosaver(doc, rec, interval_s=3600, background=False)
    _paint(doc, 0, Rect(0, 0, 8, 8), 5)
    assert emergency_save_all() >= 1                       # the crash hook writes at once
    assert saver.ora_path.is_file()
    _paint(doc, 0, Rect(0, 0, 8, 8), 6)
    saver.detach()                                          # e.g. save-on-close failed
    assert saver.ora_path.is_file() and saver.json_path.is_file()
    np.testing.assert_array_equal(load_ora(saver.ora_path).layers[0].pixels[:8, :8, 0], 6)


# == kill -9 in the middle of saves ====================================================================

_SAVER = r"""
import sys, numpy as np
from ganstudio.core.document import Document
from ganstudio.core.layers import RasterLayer
from ganstudio.core.io import save_ora
from ganstudio.core.autosave import Autosaver
from ganstudio.core.geometry import Rect
path, rec = sys.argv[1], sys.argv[2]
doc = Document(900, 700)
rng = np.random.default_rng(0)
for i in range(3):
    px = rng.integers(0, 256, (700, 900, 4), dtype=np.uint8); px[..., 3] = 255
    doc.add_layer(RasterLayer(f"l{i}", px))
saver = Autosaver(doc, rec, interval_s=0, background=False)
print("ready", flush=True)
v = 0
while True:
    v = (v + 1) % 250
    with doc.edit_pixels(doc.layers[0], Rect(0, 0, 16, 16)) as a:
        a[:16, :16] = v
    save_ora(doc, path, mark_saved=False)
    doc.mark_modified(True)
    saver.save_now()
"""


@pytest.mark.slow
def test_kill_9_at_random_points_of_save_and_autosave(tmp_path):
    path = tmp_path / "project.ora"
    rec = tmp_path / "rec"
    script = tmp_path / "saver.py"
    script.write_text(_SAVER)
    rng = np.random.default_rng(3)
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, str(script), str(path), str(rec)], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.3, 2.5)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not pid_alive(proc.pid)
        if path.exists():                                  # the project file: old or new, never torn
            doc = load_ora(path)
            assert len(doc.layers) == 3
        entries = find_recoverable(rec)                    # the autosave: offered, and it loads
        for e in entries:
            assert len(recover(e).layers) == 3
        leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]
        assert len(leftovers) <= 1                         # at most the temp file of the killed write


# == through the real window: save-on-close and the autosave thread ===================================

@pytest.fixture
def win(qtbot, tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("GANSTUDIO_DATA", str(tmp_path / "user-data"))
    from ganstudio.ui.main_window import MainWindow

    w = MainWindow(load_task_uis=False)
    w.ask_before_close = False
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.ask_before_close = False
    w.close()
    w.deleteLater()
    qtbot.wait(10)


def _open_project(win, tmp_path):  # noqa: ANN001, ANN202
    doc = _doc(layers=1)
    path = tmp_path / "project.ora"
    save_ora(doc, path)
    opened = win.open_path(path)
    assert opened is not None and not opened.modified
    return opened, path


def test_exception_in_save_on_close_keeps_the_window_the_document_and_its_recovery(
        win, tmp_path, monkeypatch, qtbot):  # noqa: ANN001
    import ganstudio.core.io as cio
    from PySide6.QtWidgets import QMessageBox

    doc, path = _open_project(win, tmp_path)
    original = path.read_bytes()
    _paint(doc, 0, Rect(10, 10, 50, 40), 77)
    assert doc.modified
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Save)

    def broken(*a, **k):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("injected bug in the encoder")

    monkeypatch.setattr(cio, "save_ora", broken)
    win.ask_before_close = True
    assert win.close() is False                       # the failed save cancels the close
    assert win.isVisible() and doc in win.documents and doc.modified
    assert "injected bug" in win.last_error[1]
    assert path.read_bytes() == original              # the project is untouched
    st = win._state_of(doc)
    saver = st.autosaver
    # the app then goes away without asking (quit, logout): the work is in the recovery folder
    win.close_document(st, ask=False)
    assert saver.ora_path.is_file() and saver.json_path.is_file()
    side = json.loads(saver.json_path.read_text())
    side["pid"] = _dead_pid()
    saver.json_path.write_text(json.dumps(side))
    entries = find_recoverable(saver.recovery_dir)
    assert [e.ora_path for e in entries] == [saver.ora_path]
    rec = recover(entries[0])
    assert tuple(rec.layers[0].pixels[20, 20]) == (77, 77, 77, 255)
    assert rec.path == path


def test_exception_in_the_autosave_thread_is_shown_and_autosave_resumes(win, tmp_path, monkeypatch,
                                                                         qtbot):  # noqa: ANN001
    doc, _path = _open_project(win, tmp_path)
    saver = win._state_of(doc).autosaver
    saver.interval_s = 0.05                           # due at once, retried after 0.05 s
    calls = {"n": 0}
    real = autosave_mod.save_ora

    def flaky(*a, **k):  # noqa: ANN002, ANN003, ANN202
        calls["n"] += 1
        if calls["n"] <= 2:
            raise KeyError("injected: not a file error")
        return real(*a, **k)

    monkeypatch.setattr(autosave_mod, "save_ora", flaky)
    _paint(doc, 0, Rect(0, 0, 30, 30), 201)
    for canvas_state in win._docs:
        canvas_state.canvas.last_input = 0.0          # the user is idle
    qtbot.wait(60)
    win._autosave_tick()
    saver.wait(20)
    assert isinstance(saver.last_error, KeyError) and saver.failures == 1
    assert not saver.ora_path.exists()
    qtbot.wait(80)
    win._autosave_tick()                              # the retry (fails once more) ...
    assert "Autosave failed" in win.status.currentMessage()   # ... and the failure is shown
    saver.wait(20)
    assert saver.failures == 2
    qtbot.wait(120)
    win._autosave_tick()                              # and then succeeds: the thread survived
    saver.wait(20)
    assert saver.last_error is None and saver.saves == 1 and calls["n"] == 3
    rec = load_ora(saver.ora_path)
    assert tuple(rec.layers[0].pixels[5, 5]) == (201, 201, 201, 255)
