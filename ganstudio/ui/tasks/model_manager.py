"""The model manager dialog: installed / available models, size, licence (non-commercial flagged
plainly), download (or convert) with progress and cancel, import a file, verify, remove.

Reachable from Filters/AI > Model manager…, the Upscale dialog and the task panels ("Get this
model…"). Downloads, Verify (hashing, loading) and Import (hashing, loading a checkpoint) run on a
Python thread, never on the GUI thread; progress and results reach the dialog through queued Qt
signals. An offline download says so, shows the address to copy and offers to import a file
downloaded elsewhere. No torch at import.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .base import TaskUI

TITLE = "Model manager"
COLUMNS = ["Model", "Task", "Status", "Size", "Licence", "Source"]


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def catalog_size(st: Any) -> int:
    """Bytes of a model: on disk when installed, else what the catalog lists (the entry's size,
    or the sum of its files' sizes); 0 when the catalog knows none."""
    e = st.entry
    if st.installed and st.size_on_disk:
        return int(st.size_on_disk)
    if e.size:
        return int(e.size)
    return int(sum(f.size for f in e.files))


def size_text(st: Any) -> str:
    n = catalog_size(st)
    return _human(n) if n else "not listed"


#: what an unreachable network looks like in urllib / socket errors (the message of DownloadError)
_OFFLINE_SIGNS = ("urlerror", "name resolution", "name or service not known", "nodename nor servname",
                  "network is unreachable", "no route to host", "connection refused",
                  "getaddrinfo", "no address associated", "timed out", "connectionreseterror",
                  "connection reset", "temporary failure", "errno 11001", "errno -2", "errno -3")


def is_offline_error(message: str) -> bool:
    low = message.lower()
    return any(sign in low for sign in _OFFLINE_SIGNS) and "http " not in low


def download_urls(entry: Any) -> list[str]:
    out = []
    for f in getattr(entry, "files", ()):
        if f.url:
            out.append(f.url)
        elif getattr(f, "gdrive", ""):
            out.append(f"https://drive.google.com/uc?id={f.gdrive}")
    return out


class _Bridge(QObject):
    progress = Signal(int, int)
    finished = Signal(str, str)     # id, error ("" = ok; "cancelled")
    work_done = Signal(str, str, object, object)   # kind, id, result, exception (None = ok)


class _Cancel:
    cancelled = False


class OfflineDialog(QDialog):
    """A download failed because the server cannot be reached: say so plainly, show the address
    to copy, and offer to import the file downloaded on another computer."""

    def __init__(self, manager: ModelManagerDialog, mid: str, error: str) -> None:
        super().__init__(manager)
        self.setObjectName("offline_dialog")
        self.setWindowTitle("No connection")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        entry = manager.store.entry(mid)
        lay = QVBoxLayout(self)
        head = QLabel(f"<b>{entry.name}</b> could not be downloaded: this computer seems to be "
                      "offline (or a firewall blocks the download server).")
        head.setWordWrap(True)
        lay.addWidget(head)
        how = QLabel("Download the file on a computer that is online, from the address below, "
                     "then import it here. GAN Studio checks it before using it.")
        how.setWordWrap(True)
        lay.addWidget(how)
        self.urls: list[QLineEdit] = []
        for url in download_urls(entry) or ["(no address in the catalog)"]:
            row = QHBoxLayout()
            edit = QLineEdit(url)
            edit.setReadOnly(True)
            edit.setObjectName("offline_url")
            edit.setCursorPosition(0)
            copy = QPushButton("Copy address")
            copy.clicked.connect(lambda _c=False, u=url: QApplication.clipboard().setText(u))
            row.addWidget(edit, 1)
            row.addWidget(copy)
            lay.addLayout(row)
            self.urls.append(edit)
        detail = QLabel(f"<span style='color:#8b8f98'>Details: {error}</span>")
        detail.setWordWrap(True)
        detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(detail)
        buttons = QHBoxLayout()
        self.import_btn = QPushButton("Import a file you downloaded elsewhere…")
        self.import_btn.setObjectName("offline_import")
        self.import_btn.clicked.connect(lambda _c=False: (self.accept(), manager.import_file(mid=mid)))
        retry = QPushButton("Try again")
        retry.clicked.connect(lambda _c=False: (self.accept(), manager.start_download(mid)))
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons.addWidget(self.import_btn)
        buttons.addStretch(1)
        buttons.addWidget(retry)
        buttons.addWidget(close)
        lay.addLayout(buttons)
        self.resize(620, self.sizeHint().height())


class ModelManagerDialog(QDialog):
    #: a model was installed, imported or removed (task panels refresh their model lists)
    models_changed = Signal()

    def __init__(self, parent: QWidget | None = None, store: Any = None) -> None:
        super().__init__(parent)
        from ganstudio.models.store import default_store

        self.store = store or default_store()
        self.setWindowTitle(TITLE)
        self.resize(900, 420)
        lay = QVBoxLayout(self)
        self.cache_label = QLabel(f"Model cache: {self.store.root}")
        self.cache_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.cache_label)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # Task never cut
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)   # long licences elide
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        lay.addWidget(self.table)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setOpenExternalLinks(True)
        lay.addWidget(self.details)
        prow = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel_btn = QPushButton("Cancel download")
        self.cancel_btn.setVisible(False)
        self.cancel_btn.clicked.connect(self.cancel_download)
        prow.addWidget(self.progress, 1)
        prow.addWidget(self.cancel_btn)
        lay.addLayout(prow)
        row = QHBoxLayout()
        self.download_btn = QPushButton("Download")
        self.import_btn = QPushButton("Import file…")
        self.verify_btn = QPushButton("Verify")
        self.remove_btn = QPushButton("Remove")
        close = QPushButton("Close")
        for b in (self.download_btn, self.import_btn, self.verify_btn, self.remove_btn):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(close)
        lay.addLayout(row)
        self.download_btn.clicked.connect(self.download_selected)
        self.import_btn.clicked.connect(self.import_file)
        self.verify_btn.clicked.connect(self.verify_selected)
        self.remove_btn.clicked.connect(self.remove_selected)
        close.clicked.connect(self.close)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self._bridge = _Bridge(self)
        self._bridge.progress.connect(self._on_progress)
        self._bridge.finished.connect(self._on_finished)
        self._bridge.work_done.connect(self._on_work_done)
        self._cancel: _Cancel | None = None
        self._thread: threading.Thread | None = None
        self.last_message = ""
        self.last_error = ""
        self.offline_dialog: OfflineDialog | None = None
        self.resize(1000, 460)
        self.refresh()

    # -- table ------------------------------------------------------------------------------------
    def refresh(self) -> None:
        current = self.selected_id()
        rows = self.store.list()
        self._rows = rows
        self.table.setRowCount(len(rows))
        for r, st in enumerate(rows):
            e = st.entry
            status = ("Installed" if st.installed else
                      "Offline (converted on first use)" if st.available_offline else "Not installed")
            lic = e.licence + ("  — NON-COMMERCIAL" if e.non_commercial else "")
            source = {"package": "bundled package", "download": "download",
                      "builtin": "built in"}.get(e.kind, "imported")
            size = size_text(st)
            size_tip = ("on disk" if st.installed else "download size (catalog)") if catalog_size(st) \
                else "The catalog lists no size for this model; the download shows it once the " \
                     "server reports it."
            vals = [f"{e.name}\n{e.id}", e.task, status, size, lic, source]
            tips = [f"{e.name} ({e.id})", e.task, status, size_tip, lic, source]
            for c, v in enumerate(vals):
                item = QTableWidgetItem(v)
                item.setToolTip(tips[c])
                item.setData(Qt.ItemDataRole.UserRole, e.id)
                if c == 4 and e.non_commercial:
                    item.setForeground(QColor("#e05050"))
                    f = QFont()
                    f.setBold(True)
                    item.setFont(f)
                if c == 2 and st.installed:
                    item.setForeground(QColor("#50b050"))
                self.table.setItem(r, c, item)
        self.table.resizeRowsToContents()
        if current:
            self.select(current)
        self._selection_changed()

    def select(self, mid: str) -> None:
        for r, st in enumerate(self._rows):
            if st.entry.id == mid:
                self.table.selectRow(r)
                return

    def selected_id(self) -> str | None:
        items = self.table.selectedItems() if hasattr(self, "_rows") else []
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def _status(self, mid: str):
        return next((s for s in self._rows if s.entry.id == mid), None)

    def _selection_changed(self) -> None:
        mid = self.selected_id()
        st = self._status(mid) if mid else None
        busy = self._thread is not None
        self.download_btn.setEnabled(bool(st) and not busy and not st.installed
                                     and st.entry.kind in ("download", "package"))
        if st is not None:
            self.download_btn.setText("Convert" if st.entry.kind == "package" else "Download")
        # Verify checks installed files; a model that is not installed has nothing to verify
        self.verify_btn.setEnabled(bool(st) and not busy and st.installed)
        self.remove_btn.setEnabled(bool(st) and not busy and st.installed and st.entry.kind != "builtin")
        self.import_btn.setEnabled(not busy)
        if st is None:
            self.details.setText("")
            return
        e = st.entry
        nc = ("<b style='color:#e05050'>Non-commercial licence: these weights may not be used "
              "for commercial work.</b><br>") if e.non_commercial else ""
        self.details.setText(f"{nc}<b>{e.name}</b> ({e.id}) — {e.arch}, x{e.scale}. "
                             f"Licence {e.licence}. Origin: <a href='{e.origin}'>{e.origin}</a>"
                             + (f"<br>{e.notes}" if e.notes else ""))

    # -- actions ----------------------------------------------------------------------------------
    def download_selected(self) -> None:
        mid = self.selected_id()
        if mid:
            self.start_download(mid)

    def start_download(self, mid: str) -> None:
        if self._thread is not None:
            return
        self._cancel = _Cancel()
        cancel, bridge, store = self._cancel, self._bridge, self.store

        def work() -> None:
            from ganstudio.models.store import DownloadCancelled

            try:
                store.download(mid, progress=lambda d, t: bridge.progress.emit(int(d), int(t)),
                               cancel=cancel)
                bridge.finished.emit(mid, "")
            except DownloadCancelled:
                bridge.finished.emit(mid, "cancelled")
            except Exception as exc:  # noqa: BLE001 - shown to the user
                bridge.finished.emit(mid, str(exc) or type(exc).__name__)

        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_btn.setVisible(True)
        self._thread = threading.Thread(target=work, name=f"download-{mid}", daemon=True)
        self._thread.start()
        self._selection_changed()

    def cancel_download(self) -> None:
        if self._cancel is not None:
            self._cancel.cancelled = True

    def is_busy(self) -> bool:
        return self._thread is not None

    def _on_progress(self, done: int, total: int) -> None:
        if total > 0:
            scale = 1024 if total > 2**31 - 1 else 1
            self.progress.setRange(0, total // scale)
            self.progress.setValue(done // scale)
            self.progress.setFormat(f"{_human(done)} / {_human(total)}  (%p%)")
        else:
            self.progress.setRange(0, 0)

    def _on_finished(self, mid: str, error: str) -> None:
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None
        self._cancel = None
        self.progress.setVisible(False)
        self.cancel_btn.setVisible(False)
        if error == "cancelled":
            self.last_message = f"{mid}: download cancelled (it resumes next time)"
        elif error and is_offline_error(error):
            self.last_message = f"{mid}: offline"
            self.last_error = error
            self.offline_dialog = OfflineDialog(self, mid, error)
            self.offline_dialog.open()
        elif error:
            self.last_message = f"{mid}: {error}"
            self._error(error)
        else:
            self.last_message = f"{mid}: installed"
            self.models_changed.emit()
        self.refresh()

    # -- work on a thread (verify, import): the GUI thread only starts it and shows the result ----
    def _run(self, kind: str, mid: str, busy_text: str, fn: Any) -> bool:
        if self._thread is not None:
            return False
        bridge = self._bridge

        def work() -> None:
            try:
                bridge.work_done.emit(kind, mid, fn(), None)
            except Exception as exc:  # noqa: BLE001 - shown to the user
                bridge.work_done.emit(kind, mid, None, exc)

        self.progress.setRange(0, 0)            # busy: hashing / loading has no byte count here
        self.progress.setFormat(busy_text)
        self.progress.setTextVisible(True)
        self.progress.setVisible(True)
        self._thread = threading.Thread(target=work, name=f"{kind}-{mid}", daemon=True)
        self._thread.start()
        self._selection_changed()
        return True

    def _on_work_done(self, kind: str, mid: str, result: Any, exc: Any) -> None:
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None
        self.progress.setVisible(False)
        if kind == "verify":
            if exc is not None:
                self.last_message = f"{mid}: FAILED: {exc}"
                self._error(self.last_message)
            else:
                self.last_message = f"{mid}: {'OK' if result.ok else 'FAILED'}: {result.message}"
                if result.ok:
                    box = QMessageBox(QMessageBox.Icon.Information, TITLE, self.last_message,
                                      QMessageBox.StandardButton.Ok, self)
                    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
                    box.open()
                else:
                    self._error(self.last_message)
        elif kind == "import":
            if exc is not None:
                self.last_message = f"import failed: {exc}"
                self._error(str(exc))
            else:
                self.last_message = f"imported as {result}"
                self.refresh()
                self.select(result)
                self.models_changed.emit()
        self.refresh()

    def import_file(self, path: str | None = None, *, mid: str | None = None) -> bool:
        """Import a weights file (for catalog model ``mid``: checked against its facts, else a new
        ``user.*`` model). Hashing and loading run on a thread; returns True when started."""
        if not path:
            what = self.store.entry(mid).name if mid else "model weights"
            names = [f.name for f in self.store.entry(mid).files] if mid else []
            filt = (f"{', '.join(names)} ({' '.join(names)});;" if names else "") + \
                "Weights (*.safetensors *.pth *.pt *.ckpt *.bin *.zip *.pkl);;All files (*)"
            path, _ = QFileDialog.getOpenFileName(self, f"Import {what}", "", filt)
        if not path:
            return False
        store = self.store
        return self._run("import", mid or "", f"Checking {path.rsplit('/', 1)[-1]}…",
                         lambda: store.import_file(path, mid))

    def verify_selected(self) -> bool:
        """Check the selected installed model (hashes, loading) on a thread."""
        mid = self.selected_id()
        st = self._status(mid) if mid else None
        if st is None or not st.installed:
            return False
        store = self.store
        return self._run("verify", mid, f"Verifying {mid}…", lambda: store.verify(mid))

    def remove_selected(self, confirm: bool = True) -> None:
        mid = self.selected_id()
        if not mid:
            return
        if confirm and QMessageBox.question(self, TITLE, f"Remove {mid} from the model cache?") \
                != QMessageBox.StandardButton.Yes:
            return
        try:
            self.store.remove(mid)
            from ganstudio.models.loader import clear_cache

            clear_cache()
        except Exception as exc:  # noqa: BLE001
            self._error(str(exc))
        self.refresh()
        self.models_changed.emit()

    def _error(self, msg: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, TITLE, msg, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802
        self.cancel_download()
        if self._thread is not None:
            self._thread.join(timeout=2)
        super().closeEvent(event)


class ModelManagerUI(TaskUI):
    """Filters/AI > Model manager… (not a task: it needs no document and submits no job)."""

    id = "model_manager"
    title = TITLE
    menu_text = "Model manager…"
    action_name = "action_model_manager"
    status_tip = "Installed and available AI models: download, import, verify, remove"
    needs_document = False
    order = 200

    def __init__(self) -> None:
        super().__init__()
        self.dialog: ModelManagerDialog | None = None

    def trigger(self, select: str | None = None) -> ModelManagerDialog:  # type: ignore[override]
        if self.dialog is None:
            self.dialog = ModelManagerDialog(self.window)
        self.dialog.refresh()
        if select:
            self.dialog.select(select)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog


def open_dialog(window, select: str | None = None) -> ModelManagerDialog:  # noqa: ANN001
    """The model manager (one per window), with ``select`` (a model id) selected."""
    return window.task_ui("model_manager").trigger(select)
