"""The model manager dialog: installed / available models, size, licence (non-commercial flagged
plainly), download (or convert) with progress and cancel, import a file, verify, remove.

Reachable from Filters/AI > Model manager… and from the Upscale dialog. Downloads run on a
Python thread; progress reaches the dialog through a queued Qt signal. No torch at import.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
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
    if not n:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


class _Bridge(QObject):
    progress = Signal(int, int)
    finished = Signal(str, str)     # id, error ("" = ok; "cancelled")


class _Cancel:
    cancelled = False


class ModelManagerDialog(QDialog):
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
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
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
        self._cancel: _Cancel | None = None
        self._thread: threading.Thread | None = None
        self.last_message = ""
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
            size = st.size_on_disk if st.installed else e.size
            vals = [f"{e.name}\n{e.id}", e.task, status, _human(size), lic, source]
            for c, v in enumerate(vals):
                item = QTableWidgetItem(v)
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
        self.verify_btn.setEnabled(bool(st) and not busy)
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
        elif error:
            self.last_message = f"{mid}: {error}"
            self._error(error)
        else:
            self.last_message = f"{mid}: installed"
        self.refresh()

    def import_file(self, path: str | None = None) -> str | None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(
                self, "Import model weights", "",
                "Weights (*.safetensors *.pth *.pt *.ckpt *.bin);;All files (*)")
        if not path:
            return None
        try:
            mid = self.store.import_file(path)
        except Exception as exc:  # noqa: BLE001 - user-facing
            self._error(str(exc))
            return None
        self.last_message = f"imported as {mid}"
        self.refresh()
        self.select(mid)
        return mid

    def verify_selected(self) -> None:
        mid = self.selected_id()
        if not mid:
            return
        res = self.store.verify(mid)
        self.last_message = f"{mid}: {'OK' if res.ok else 'FAILED'}: {res.message}"
        if res.ok:
            QMessageBox.information(self, TITLE, self.last_message)
        else:
            self._error(self.last_message)

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

    def trigger(self) -> ModelManagerDialog:  # type: ignore[override]
        if self.dialog is None:
            self.dialog = ModelManagerDialog(self.window)
        self.dialog.refresh()
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog


def open_dialog(window) -> ModelManagerDialog:  # noqa: ANN001
    return window.task_ui("model_manager").trigger()
