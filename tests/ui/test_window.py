"""Window API for task UIs, files (open / drop / recent / save / export), prompts, settings."""

from __future__ import annotations

import os

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ganstudio import paths
from ganstudio.ui import settings as settings_mod


def test_window_api_for_task_uis(window, photo_doc) -> None:  # noqa: ANN001
    assert window.document is None and window.task_mask() is None
    ai = window.menu("Filters/AI")
    assert window.menu("Filters/AI") is ai
    assert window.menu("Filters/AI/Upscale").title() == "Upscale"
    assert any(a.objectName() == "task_inpaint_remove" for a in ai.actions())
    assert window.menu("Image") is window.menus["Image"]
    window.add_document(photo_doc)
    assert window.document is photo_doc
    sel = np.zeros((512, 512), np.uint8)
    sel[:10, :10] = 255
    photo_doc.set_selection(sel)
    assert window.task_mask() is photo_doc.selection
    m = np.zeros((512, 512), np.uint8)
    m[100:110, 100:110] = 255
    photo_doc.set_ai_mask(m)
    assert np.array_equal(window.task_mask(), m)      # the painted mask wins over the selection
    assert window.preferences.device == "auto"
    ctx = window.preferences.task_context()
    assert ctx.device == "auto" and not ctx.cancel.cancelled
    window.status_message("hello")
    assert window.statusBar().currentMessage() == "hello"
    window.show_error("Title", "Message")             # non-blocking
    assert window.last_error == ("Title", "Message")
    assert window.status.size_label.text().startswith("512 × 512")
    from ganstudio.ui.status_bar import device_label

    assert window.status.device.text() == device_label("auto")     # one wording, never "auto"


def test_open_files_drop_and_recent(window, tmp_path: Path, qtbot) -> None:  # noqa: ANN001
    from PIL import Image

    f1 = tmp_path / "one.png"
    Image.new("RGB", (40, 30), (200, 10, 10)).save(f1)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(f1))])
    ev = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                    Qt.KeyboardModifier.NoModifier)
    window.dropEvent(ev)
    assert window.document is not None and window.document.size == (40, 30)
    assert settings_mod.recent_files()[0] == str(f1.resolve())
    recent = [a for a in window.recent_menu.actions() if a.text() == "one.png"]
    assert recent
    window.close_document()
    recent[0].trigger()                               # File > Open Recent
    assert window.document is not None and window.document.name == "one.png"
    window.open_path(f1)                              # already open: just switches to it
    assert window.tabs.count() == 1
    window.open_path(tmp_path / "missing.png")
    assert window.last_error and window.last_error[0] == "Open"
    window.open_path(paths.SAMPLE_PHOTO)
    assert window.tabs.count() == 2 and window.document.size == (512, 512)


def test_save_export_and_unsaved_prompt(window, make_doc, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    doc = make_doc(32, 24)
    window.add_document(doc)
    window.qactions["select_all"].trigger()
    assert doc.modified and window.windowTitle().startswith("test *")
    target = tmp_path / "proj"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.qactions["file_save"].trigger()
    assert (tmp_path / "proj.ora").exists() and not doc.modified
    assert doc.path == tmp_path / "proj.ora"
    assert window.export_to(tmp_path / "out.jpg", format="JPEG", quality=80)
    assert (tmp_path / "out.jpg").stat().st_size > 0
    assert window.export_to(tmp_path / "layers.ora", layered=True)
    assert (tmp_path / "layers.ora").exists() and doc.path == tmp_path / "proj.ora"
    # unsaved changes: Cancel keeps the document, Discard closes it
    window.ask_before_close = True
    window.qactions["layer_new"].trigger()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    assert not window.close_document()
    assert window.document is doc
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    assert window.close_document()
    assert window.document is None
    window.ask_before_close = False


def test_preferences_and_window_state_in_qsettings(window, make_doc) -> None:  # noqa: ANN001
    import dataclasses

    doc = make_doc()
    window.add_document(doc)
    prefs = dataclasses.replace(window.preferences, device="cpu", undo_memory_mb=64,
                                autosave_interval_s=0, tile_size=512)
    window.apply_preferences(prefs)
    assert doc.history.memory_limit == 64 << 20
    assert window.status.device.text().startswith("CPU · ")          # "CPU · 2 threads · fp32"
    from ganstudio.ui.preferences import Preferences

    again = Preferences.load()
    assert again.device == "cpu" and again.tile_size == 512 and again.autosave_interval_s == 0
    assert window.preferences.task_context().tile_size == 512
    window.docks["jobs"].hide()
    window.save_window_state()
    s = settings_mod.settings()
    assert s.value("window/state") is not None and s.value("window/geometry") is not None


def test_autosave_and_recovery_prompt(window, make_doc, monkeypatch) -> None:  # noqa: ANN001
    from ganstudio.core.autosave import Autosaver, find_recoverable

    doc = make_doc(16, 16)
    doc.mark_modified(True)
    saver = Autosaver(doc, interval_s=0)
    assert saver.save_now()
    # make it look like a crashed process left it
    import json

    data = json.loads(saver.json_path.read_text())
    data["pid"] = 2 ** 22 + 12345
    saver.json_path.write_text(json.dumps(data))
    assert find_recoverable()

    def click_recover(box) -> int:  # noqa: ANN001
        next(b for b in box.buttons() if b.text() == "Recover").click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", click_recover)
    assert window.offer_recovery() == 1
    assert window.document is not None and window.document.modified
    # issue 13: the recovered document adopts its recovery files (kept until it is saved) and
    # autosaves at once: they now belong to this live process, so nothing is offered twice
    st = window._current_state()
    st.autosaver.wait()
    assert st.autosaver.adopted and saver.ora_path.is_file() and saver.json_path.is_file()
    assert json.loads(saver.json_path.read_text())["pid"] == os.getpid()
    assert not find_recoverable()


def test_new_document_and_tabs(window) -> None:  # noqa: ANN001
    a = window.new_document(300, 200)
    b = window.new_document(64, 64, (0, 0, 0, 0))
    assert window.tabs.count() == 2 and window.document is b
    assert not a.modified and a.layers[0].pixels[0, 0, 3] == 255
    window.tabs.setCurrentIndex(0)
    assert window.document is a
    assert window.layers_panel.doc is a
    window.tabs.tabCloseRequested.emit(0)
    assert window.documents == [b]


def test_autosave_tick_saves_only_when_idle(window, make_doc) -> None:  # noqa: ANN001
    import time

    doc = make_doc()
    canvas = window.add_document(doc)
    st = window._current_state()
    assert st.autosaver is not None
    st.autosaver.interval_s = 0
    window.qactions["select_all"].trigger()          # a change to autosave
    canvas.last_input = time.monotonic()             # the user is busy: no save
    window._autosave_tick()
    assert st.autosaver.saves == 0
    canvas.last_input = 0.0                          # idle
    window._autosave_tick()
    if hasattr(st.autosaver, "wait"):
        st.autosaver.wait()                          # it writes on its own thread
    assert st.autosaver.saves == 1 and st.autosaver.ora_path.exists()
    st.discarded = True                              # the user answered "Discard"
    window.close_document()                          # closed by the user: recovery files removed
    assert not st.autosaver.ora_path.exists()


def test_unsaved_document_closed_without_asking_keeps_its_recovery(window, make_doc) -> None:  # noqa: ANN001
    """Issue 13: every way out leaves a saved document or its recovery files."""
    doc = make_doc()
    window.add_document(doc)
    st = window._current_state()
    window.qactions["select_all"].trigger()
    assert doc.modified
    window.close_document(ask=False)
    assert st.autosaver.ora_path.exists() and st.autosaver.json_path.exists()


def test_failed_save_keeps_the_document_and_reports(window, make_doc, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import ganstudio.core.io as cio

    doc = make_doc()
    window.add_document(doc)
    window.qactions["select_all"].trigger()

    def broken(*a, **k):
        raise RuntimeError("injected encoder bug")

    monkeypatch.setattr(cio, "save_ora", broken)
    assert window._save_to(doc, tmp_path / "x.ora") is False
    assert doc.modified and "injected encoder bug" in window.last_error[1]
    assert not (tmp_path / "x.ora").exists()


def test_save_runs_off_the_gui_thread_and_edits_during_it_stay_unsaved(window, make_doc, tmp_path,
                                                                        monkeypatch) -> None:  # noqa: ANN001
    import threading

    import ganstudio.core.io as cio
    from ganstudio.core.geometry import Rect

    doc = make_doc()
    window.add_document(doc)
    window.qactions["select_all"].trigger()
    real = cio.save_ora
    seen = {}

    def slow(d, path, **k):
        seen["thread"] = threading.current_thread().name
        with doc.edit_pixels(doc.layers[0], Rect(0, 0, 4, 4)) as px:   # the user keeps painting
            px[:4, :4] = 7
        return real(d, path, **k)

    monkeypatch.setattr(cio, "save_ora", slow)
    out = tmp_path / "p.ora"
    before = doc.layers[0].pixels[:4, :4].copy()
    assert window._save_to(doc, out)
    assert seen["thread"] == "ganstudio-save"
    assert doc.modified                       # the edit made during the save is not in the file
    assert (before != 7).any()
    assert (cio.load_ora(out).layers[0].pixels[:4, :4] == before).all()   # the file: as at Ctrl+S


def test_lossy_ora_import_is_shown_and_save_asks(window, make_doc, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """Issue 13: a GIMP/Krita file we cannot keep fully is never overwritten silently."""
    import zipfile

    from ganstudio.core.io import save_ora

    src = tmp_path / "krita.ora"
    save_ora(make_doc(), src)
    with zipfile.ZipFile(src) as z:
        items = {n: z.read(n) for n in z.namelist()}
    stack = items["stack.xml"].decode()
    # wrap the layers in a group with a blend mode we do not support (as Krita writes them)
    i = stack.index("<layer")
    j = stack.rindex("</stack>")
    stack = stack[:i] + '<stack name="Group" composite-op="krita:darker-color">' + stack[i:j] + "</stack>" + stack[j:]
    items["stack.xml"] = stack.encode()
    with zipfile.ZipFile(src, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), items.pop("mimetype"))
        for n, b in items.items():
            z.writestr(n, b)
    original = src.read_bytes()
    doc = window.open_path(src)
    assert doc is not None and doc.metadata.get("lossy_import")
    assert window.last_import_notes
    window.qactions["select_all"].trigger()

    def cancel(box) -> int:  # noqa: ANN001
        next(b for b in box.buttons() if b.text() == "Cancel").click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", cancel)
    assert window.save() is False
    assert src.read_bytes() == original                   # the Krita file is untouched

    def overwrite(box) -> int:  # noqa: ANN001
        next(b for b in box.buttons() if b.text() == "Overwrite anyway").click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", overwrite)
    assert window.save() is True and not doc.modified and "lossy_import" not in doc.metadata
