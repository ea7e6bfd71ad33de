"""File menu: new, open (and recent files), save / save as (.ora), export.

A mixin of MainWindow (see ui/commands/__init__.py); the pixel work is core's."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from ganstudio import paths
from ganstudio.core.document import Document
from ganstudio.core.layers import RasterLayer

from .. import settings as settings_mod

log = logging.getLogger(__name__)

SAVE_FILTER = "OpenRaster project (*.ora)"


class FileCommands:
    # provided by MainWindow
    document: Document | None
    preferences: Any
    qactions: dict[str, Any]

    def new_document_dialog(self) -> Document | None:
        from ..dialogs.new_document import NewDocumentDialog

        dlg = NewDocumentDialog(self)  # type: ignore[arg-type]
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return None
        w, h, bg = dlg.values()
        return self.new_document(w, h, bg)

    _untitled = 0

    def new_document(self, width: int = 1920, height: int = 1080,
                     background: tuple[int, int, int, int] = (255, 255, 255, 255)) -> Document:
        FileCommands._untitled += 1
        doc = Document(width, height, name=f"Untitled-{FileCommands._untitled}")
        doc.add_layer(RasterLayer.blank("Background", width, height, fill=background))
        doc.history.clear()
        doc.mark_modified(False)
        self.add_document(doc)  # type: ignore[attr-defined]
        return doc

    def open_dialog(self) -> None:
        from ganstudio.core.io import OPEN_FILTER

        start = settings_mod.settings().value("last_dir", str(Path.home()))
        files, _ = QFileDialog.getOpenFileNames(self, "Open", str(start),  # type: ignore[arg-type]
                                                f"{OPEN_FILTER};;All files (*)")
        for f in files:
            self.open_path(f)

    def open_path(self, path: str | Path) -> Document | None:
        from ganstudio.core.io import ImageFileError, ImageTooLargeError, open_document

        path = Path(path)
        for st in self._docs:  # type: ignore[attr-defined]
            if st.doc.path is not None and Path(st.doc.path).resolve() == path.resolve():
                self.tabs.setCurrentWidget(st.canvas)  # type: ignore[attr-defined]
                return st.doc
        try:
            try:
                doc = open_document(path)
            except ImageTooLargeError as exc:
                answer = QMessageBox.question(
                    self, "Very large image",  # type: ignore[arg-type]
                    f"{exc}\n\nOpen it anyway?")
                if answer != QMessageBox.StandardButton.Yes:
                    return None
                doc = open_document(path, allow_huge=True)
        except (ImageFileError, OSError) as exc:
            self.show_error("Open", str(exc))  # type: ignore[attr-defined]
            return None
        self.add_document(doc)  # type: ignore[attr-defined]
        self._report_lossy_import(doc, path)
        s = settings_mod.settings()
        s.setValue("last_dir", str(path.parent))
        if path.resolve() != paths.SAMPLE_PHOTO.resolve():
            settings_mod.add_recent_file(str(path.resolve()))
            self._refresh_recent()
        self.status_message(f"Opened {path.name}")  # type: ignore[attr-defined]
        return doc

    def _refresh_recent(self) -> None:
        menu = self.recent_menu  # type: ignore[attr-defined]
        if menu is None:
            return
        menu.clear()
        files = settings_mod.recent_files()
        for f in files:
            act = menu.addAction(Path(f).name)
            act.setToolTip(f)
            act.setStatusTip(f)
            act.triggered.connect(lambda _c=False, p=f: self.open_path(p))
        if files:
            menu.addSeparator()
            menu.addAction("Clear recent files").triggered.connect(self._clear_recent)
        menu.setEnabled(bool(files))

    def _clear_recent(self) -> None:
        settings_mod.clear_recent_files()
        self._refresh_recent()

    def _report_lossy_import(self, doc: Document, path: Path) -> None:
        """An .ora written by GIMP / Krita that we could not read fully: say what was lost and
        mark the document, so that Ctrl+S asks before it overwrites the original."""
        notes = list(doc.metadata.get("import_notes") or [])
        if path.suffix.lower() != ".ora" or not notes:
            return
        doc.metadata["lossy_import"] = notes
        box = QMessageBox(QMessageBox.Icon.Warning, "Opened with changes",  # type: ignore[arg-type]
                          f"“{path.name}” uses features GAN Studio cannot keep:\n\n"
                          + "\n".join(f"• {n}" for n in notes[:12])
                          + "\n\nSaving over the original would lose them; Save asks first.",
                          QMessageBox.StandardButton.Ok, self)  # type: ignore[arg-type]
        box.setObjectName("lossy_import_box")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()   # window-modal, never blocks the event loop
        self.last_import_notes = notes

    def _confirm_lossy_overwrite(self, doc: Document) -> str:
        """"save_as" | "overwrite" | "cancel" for a document whose import lost something."""
        notes = doc.metadata.get("lossy_import")
        if not notes:
            return "overwrite"
        box = QMessageBox(QMessageBox.Icon.Warning, "Overwrite the original?",  # type: ignore[arg-type]
                          f"“{doc.name}” was opened with changes ({len(notes)}: "
                          f"{notes[0]}{' …' if len(notes) > 1 else ''}). Saving over it loses "
                          "what GAN Studio could not keep.", parent=self)  # type: ignore[arg-type]
        save_as = box.addButton("Save As…", QMessageBox.ButtonRole.AcceptRole)
        over = box.addButton("Overwrite anyway", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(save_as)
        box.exec()
        return "save_as" if box.clickedButton() is save_as else (
            "overwrite" if box.clickedButton() is over else "cancel")

    def save(self) -> bool:
        doc = self.document
        if doc is None:
            return False
        if doc.path is not None and Path(doc.path).suffix.lower() == ".ora":
            choice = self._confirm_lossy_overwrite(doc)
            if choice == "cancel":
                return False
            if choice == "save_as":
                return self.save_as()
            return self._save_to(doc, Path(doc.path))
        return self.save_as()

    def save_as(self) -> bool:
        doc = self.document
        if doc is None:
            return False
        base = Path(doc.path) if doc.path else Path(settings_mod.settings().value(
            "last_dir", str(Path.home()))) / doc.name
        path, _ = QFileDialog.getSaveFileName(self, "Save project as",  # type: ignore[arg-type]
                                              str(base.with_suffix(".ora")), SAVE_FILTER)
        if not path:
            return False
        path = Path(path)
        if path.suffix.lower() != ".ora":
            path = path.with_suffix(".ora")
        return self._save_to(doc, path)

    def _save_to(self, doc: Document, path: Path) -> bool:
        """Save ``doc`` as .ora without stalling the window: a copy-on-write snapshot (O(layers)
        here), the pixels copied and encoded on a worker thread while the event loop runs. The
        document is marked saved only if it did not change meanwhile. Any error is shown and
        leaves the document (and its recovery files) as they were."""
        import threading

        from PySide6.QtCore import QEventLoop, QTimer

        from ganstudio.core.autosave import background_workers, state_stamp
        from ganstudio.core.io import save_ora
        from ganstudio.core.snapshot import DocumentSnapshot

        if getattr(self, "_saving", False):
            self.status_message("A save is already running")  # type: ignore[attr-defined]
            return False
        self._saving = True
        snap = DocumentSnapshot(doc)
        outcome: dict = {}
        st = self._state_of(doc)  # type: ignore[attr-defined]
        saver = None if st is None else st.autosaver

        def work() -> None:
            try:
                copy = snap.materialize()
                save_ora(copy, path, mark_saved=False, workers=background_workers(),
                         saved_state=state_stamp(snap.uid, snap.revision))
            except BaseException as exc:  # noqa: BLE001 - shown to the user, never lost
                outcome["error"] = exc
                return
            finally:
                snap.release()
            if saver is not None:
                # at once, from this thread: the GUI thread may take many ms to see the save end,
                # and a crash in between must not leave recovery files older than the project
                saver.superseded(snap.revision)
            try:  # the recent-files list is an INI write + sync: here, not on the GUI thread
                settings_mod.add_recent_file(str(path.resolve()))
            except Exception:  # noqa: BLE001 - the save itself succeeded
                log.warning("could not update the recent files", exc_info=True)

        self.status_message(f"Saving {path.name}…", 0)  # type: ignore[attr-defined]
        worker = threading.Thread(target=work, name="ganstudio-save", daemon=True)
        worker.start()
        loop = QEventLoop()
        timer = QTimer()
        timer.setInterval(15)
        timer.timeout.connect(lambda: None if worker.is_alive() else loop.quit())
        timer.start()
        if worker.is_alive():
            loop.exec()
        timer.stop()
        worker.join()
        self._saving = False
        exc = outcome.get("error")
        if exc is not None:
            log.error("saving %s failed: %r", path, exc)
            self.show_error("Save", f"Could not save {path.name}: {exc}")  # type: ignore[attr-defined]
            return False
        if doc.path is None or Path(doc.path) != path:
            doc.set_path(path)
        doc.metadata.pop("lossy_import", None)
        doc.mark_modified(getattr(doc, "revision", 0) != snap.revision)
        if saver is not None:
            saver.saved(snap.revision)   # older recovery files went already; autosave resumes
        self._refresh_recent()
        self.status_message(f"Saved {path.name}")  # type: ignore[attr-defined]
        return True

    def export_dialog(self) -> None:
        from ..dialogs.export_dialog import ExportDialog

        doc = self.document
        st = self._current_state()  # type: ignore[attr-defined]
        if doc is None or st is None:
            return
        if st.export_path is not None:
            suggested = st.export_path
        else:
            folder = Path(doc.path).parent if doc.path else Path(
                settings_mod.settings().value("last_dir", str(Path.home())))
            stem = Path(doc.name).stem or "untitled"
            if doc.path and Path(doc.path).suffix.lower() != ".ora":
                stem += "-edited"
            suggested = folder / f"{stem}.png"
        dlg = ExportDialog(suggested, self)  # type: ignore[arg-type]
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        self.export_to(**dlg.values())

    def export_to(self, path: Path, format: str = "PNG", quality: int = 92, lossless: bool = False,
                  layered: bool = False, flatten: bool = True) -> bool:
        from ganstudio.core.io import ImageFileError, export_image, save_ora

        doc = self.document
        st = self._current_state()  # type: ignore[attr-defined]
        if doc is None:
            return False
        path = Path(path)
        try:
            if layered:
                save_ora(doc, path, mark_saved=False)
                notes: list[str] = []
            else:
                notes = export_image(doc, path, format=format, quality=quality, lossless=lossless,
                                     flatten=flatten) or []
        except (ImageFileError, OSError, ValueError) as exc:
            self.show_error("Export", str(exc))  # type: ignore[attr-defined]
            return False
        if st is not None:
            st.export_path = path
        self.status_message(f"Exported {path.name}" + (f" ({'; '.join(notes)})" if notes else ""))  # type: ignore[attr-defined]
        return True
