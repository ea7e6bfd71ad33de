"""Model manager dialog (issues #16, #13): Verify only for installed models, sizes shown (never
"?"), the Task column not cut, an offline download that says so (address to copy, import a file
downloaded elsewhere), and Verify / Import on a worker thread (the GUI keeps running)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLineEdit

from ganstudio.models import store as store_mod
from ganstudio.models.catalog import Catalog, parse_catalog_text
from ganstudio.models.store import ModelStore
from ganstudio.ui.tasks import model_manager as mm


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                      # nothing listens there: "connection refused", like offline
    return port


def _catalog(port: int) -> str:
    return f"""
[[model]]
id = "test.remote"
task = "super_resolution"
arch = "srvgg"
name = "Remote test model"
licence = "MIT"
origin = "https://example.invalid/remote"
files = [{{ name = "remote.pth", url = "http://127.0.0.1:{port}/remote.pth" }}]

[[model]]
id = "test.sized"
task = "super_resolution"
arch = "srvgg"
name = "Sized test model"
licence = "MIT"
origin = "https://example.invalid/sized"
size = 12345678
files = [{{ name = "sized.pth", url = "http://127.0.0.1:{port}/sized.pth" }}]
"""


class QuickStore(ModelStore):
    """No retries, no back-off: an unreachable server fails at once (no waiting in tests)."""

    def download(self, mid, progress=None, cancel=None, **kw):  # noqa: ANN001, ANN003, ANN201
        kw.update(retries=0, backoff=0.0, timeout=2.0)
        return super().download(mid, progress, cancel, **kw)


@pytest.fixture
def store(tmp_path: Path) -> QuickStore:
    return QuickStore(tmp_path / "store",
                      catalog=Catalog(parse_catalog_text(_catalog(_closed_port()), "t.toml")))


@pytest.fixture
def dialog(window, store, qtbot):  # noqa: ANN001, ANN201
    dlg = mm.ModelManagerDialog(window, store=store)
    dlg.show()
    qtbot.waitExposed(dlg)
    yield dlg
    if dlg._thread is not None:
        qtbot.waitUntil(lambda: dlg._thread is None, timeout=20000)
    dlg.close()
    dlg.deleteLater()


def _install_import(store: ModelStore, tmp_path: Path, nbytes: int = 4096) -> str:
    src = tmp_path / "remote.pth"
    src.write_bytes(bytes(range(256)) * (nbytes // 256))
    return store.import_file(src, "test.remote")


def test_verify_is_offered_only_for_installed_models(dialog, store, tmp_path) -> None:  # noqa: ANN001
    dialog.select("test.remote")
    assert dialog.selected_id() == "test.remote"
    assert not dialog.verify_btn.isEnabled()           # nothing to verify: not installed
    assert dialog.download_btn.isEnabled()
    assert dialog.verify_selected() is False            # and the slot refuses too
    _install_import(store, tmp_path)
    dialog.refresh()
    dialog.select("test.remote")
    assert dialog.verify_btn.isEnabled()
    assert not dialog.download_btn.isEnabled()


def test_sizes_are_shown_and_the_task_column_is_not_cut(dialog) -> None:  # noqa: ANN001
    sizes = {dialog.table.item(r, 0).data(256): dialog.table.item(r, 3).text()
             for r in range(dialog.table.rowCount())}
    assert "?" not in sizes.values()
    assert sizes["test.sized"] == "12.3 MB"
    assert sizes["test.remote"] == "not listed"
    assert "no size" in dialog.table.item(0, 3).toolTip() or dialog.table.item(1, 3).toolTip()
    fm = dialog.table.fontMetrics()
    widest = max(fm.horizontalAdvance(dialog.table.item(r, 1).text()) for r in range(dialog.table.rowCount()))
    assert dialog.table.columnWidth(1) >= widest + 4        # "super_resolution" in full


def test_real_catalog_sizes_never_show_a_question_mark(window, qtbot) -> None:  # noqa: ANN001
    dlg = mm.ModelManagerDialog(window)
    try:
        texts = [dlg.table.item(r, 3).text() for r in range(dlg.table.rowCount())]
        assert texts and "?" not in texts
        builtin = [r for r in range(dlg.table.rowCount())
                   if dlg.table.item(r, 0).data(256) == "builtin.inpaint-compact"][0]
        assert dlg.table.item(builtin, 3).text().endswith(("KB", "MB"))
        tasks = [dlg.table.item(r, 1).text() for r in range(dlg.table.rowCount())]
        assert "super_resolution" in tasks
        fm = dlg.table.fontMetrics()
        assert dlg.table.columnWidth(1) >= fm.horizontalAdvance("super_resolution")
    finally:
        dlg.close()
        dlg.deleteLater()


def test_offline_download_says_so_shows_the_address_and_offers_an_import(dialog, store, qtbot,  # noqa: ANN001
                                                                          tmp_path, monkeypatch) -> None:
    dialog.select("test.remote")
    dialog.download_btn.click()
    qtbot.waitUntil(lambda: dialog.offline_dialog is not None, timeout=20000)
    off = dialog.offline_dialog
    from PySide6.QtWidgets import QLabel

    text = " ".join(lbl.text() for lbl in off.findChildren(QLabel))
    assert "offline" in text
    assert "URLError" not in text.split("Details:")[0]      # the raw error is only a detail
    urls = [e.text() for e in off.findChildren(QLineEdit)]
    assert urls == [store.entry("test.remote").files[0].url]
    assert all(e.isReadOnly() for e in off.findChildren(QLineEdit))
    assert off.import_btn.text().startswith("Import a file you downloaded elsewhere")
    # import the file "downloaded elsewhere": it is checked and installed as that model
    src = tmp_path / "elsewhere.pth"
    src.write_bytes(b"\x00" * 2048)
    monkeypatch.setattr(mm.QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(src), "")))
    off.import_btn.click()
    qtbot.waitUntil(lambda: dialog._thread is None and store.is_installed("test.remote"), timeout=20000)
    assert dialog.last_message == "imported as test.remote"


def test_verify_runs_off_the_gui_thread_and_the_gui_keeps_ticking(dialog, store, qtbot, tmp_path,  # noqa: ANN001
                                                                  monkeypatch) -> None:
    _install_import(store, tmp_path, nbytes=8 << 20)
    dialog.refresh()
    dialog.select("test.remote")
    gui = threading.current_thread()
    hashed_on: list[threading.Thread] = []
    release = threading.Event()
    real_sha = store_mod.sha256_file

    def slow_sha(path, cancel=None):  # noqa: ANN001, ANN202 - a large file: hashing takes a while
        hashed_on.append(threading.current_thread())
        release.wait(5.0)
        return real_sha(path)

    monkeypatch.setattr(store_mod, "sha256_file", slow_sha)
    ticks = []
    beat = QTimer()
    beat.setInterval(5)
    beat.timeout.connect(lambda: ticks.append(1))
    beat.start()
    try:
        dialog.verify_btn.click()                 # returns at once: the hashing is on a thread
        assert dialog.is_busy() and dialog.progress.isVisible()
        assert not dialog.verify_btn.isEnabled() and not dialog.import_btn.isEnabled()
        qtbot.waitUntil(lambda: len(ticks) >= 5 and bool(hashed_on), timeout=5000)   # heartbeat alive
        release.set()
        qtbot.waitUntil(lambda: dialog._thread is None, timeout=20000)
    finally:
        beat.stop()
        release.set()
    assert hashed_on and all(t is not gui for t in hashed_on)
    assert dialog.last_message.startswith("test.remote: OK")
    assert not dialog.progress.isVisible()


def test_import_runs_off_the_gui_thread(dialog, store, qtbot, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    gui = threading.current_thread()
    ran_on: list[threading.Thread] = []
    real = store.import_file

    def spy(*a, **k):  # noqa: ANN002, ANN003, ANN202
        ran_on.append(threading.current_thread())
        return real(*a, **k)

    monkeypatch.setattr(store, "import_file", spy)
    src = tmp_path / "remote.pth"
    src.write_bytes(b"\x01" * 4096)
    changed = []
    dialog.models_changed.connect(lambda: changed.append(1))
    assert dialog.import_file(str(src), mid="test.remote") is True
    qtbot.waitUntil(lambda: dialog._thread is None, timeout=20000)
    assert ran_on and ran_on[0] is not gui
    assert store.is_installed("test.remote") and changed
    assert dialog.selected_id() == "test.remote"


def test_the_inpaint_panel_offers_to_get_lama(window, qtbot, photo_doc) -> None:  # noqa: ANN001
    window.add_document(photo_doc)
    ui = window.task_ui("inpaint")
    panel = ui.panel
    ui.show_options()
    i = panel.model.findData("lama.big-lama")
    assert i >= 0 and "(not installed)" in panel.model.itemText(i)
    panel.model.setCurrentIndex(i)
    assert panel.get_model.isVisibleTo(panel) and panel.missing.isVisibleTo(panel)
    assert not panel.button.isEnabled()                     # Remove needs the model first
    panel.get_model.click()
    dlg = ui.window.task_ui("model_manager").dialog
    assert dlg is not None and dlg.isVisible()
    assert dlg.selected_id() == "lama.big-lama"
    assert dlg.download_btn.isEnabled() and dlg.import_btn.isEnabled()
    # a built-in model brings Remove back
    panel.model.setCurrentIndex(panel.model.findData("builtin.inpaint-compact"))
    assert panel.button.isEnabled() and not panel.get_model.isVisibleTo(panel)
    dlg.close()
