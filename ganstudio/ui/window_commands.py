"""What the menu items do (File, Edit, Image, Layer, Select, View, Help), as a mixin of MainWindow.
The pixel work is core's (operations, selection, io); this module asks the user and reports errors."""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QMessageBox

from ganstudio import paths
from ganstudio.core.document import Document
from ganstudio.core.layers import LabelLayer, RasterLayer

from . import settings as settings_mod

log = logging.getLogger(__name__)
SAVE_FILTER = "OpenRaster project (*.ora)"


def guarded(title: str) -> Callable:
    """Report PermissionError (locked layer), file and value errors in a dialog, not a traceback."""

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(self, *args, **kwargs)
            except PermissionError as exc:
                self.show_error(title, str(exc))
            except (ValueError, OSError) as exc:
                log.debug(traceback.format_exc())
                self.show_error(title, str(exc))
            except Exception as exc:  # noqa: BLE001 - file layer errors etc.
                log.error("%s failed:\n%s", title, traceback.format_exc())
                self.show_error(title, str(exc))
            return None
        return wrapper
    return deco


class WindowCommands:
    # provided by MainWindow
    document: Document | None
    preferences: Any
    tools: Any
    qactions: dict[str, Any]

    # == File ===============================================================================================
    def new_document_dialog(self) -> Document | None:
        from .dialogs.new_document import NewDocumentDialog

        dlg = NewDocumentDialog(self)  # type: ignore[arg-type]
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return None
        w, h, bg = dlg.values()
        return self.new_document(w, h, bg)

    _untitled = 0

    def new_document(self, width: int = 1920, height: int = 1080,
                     background: tuple[int, int, int, int] = (255, 255, 255, 255)) -> Document:
        WindowCommands._untitled += 1
        doc = Document(width, height, name=f"Untitled-{WindowCommands._untitled}")
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

    def save(self) -> bool:
        doc = self.document
        if doc is None:
            return False
        if doc.path is not None and Path(doc.path).suffix.lower() == ".ora":
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
        from ganstudio.core.io import ImageFileError, save_ora

        try:
            save_ora(doc, path)
        except (ImageFileError, OSError) as exc:
            self.show_error("Save", str(exc))  # type: ignore[attr-defined]
            return False
        if doc.path is None or Path(doc.path) != path:
            doc.set_path(path)
        doc.mark_modified(False)
        settings_mod.add_recent_file(str(path.resolve()))
        self._refresh_recent()
        self.status_message(f"Saved {path.name}")  # type: ignore[attr-defined]
        return True

    def export_dialog(self) -> None:
        from .dialogs.export_dialog import ExportDialog

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

    # == Edit ===============================================================================================
    def undo(self) -> None:
        if self.document is not None:
            self.document.history.undo()

    def redo(self) -> None:
        if self.document is not None:
            self.document.history.redo()

    @guarded("Fill")
    def fill(self) -> None:
        from ganstudio.core.operations import fill_selection

        doc = self.document
        if doc is None or doc.active_layer is None:
            return
        layer = doc.active_layer
        value = int(self.tools.settings.label_id) if isinstance(layer, LabelLayer) \
            else tuple(self.tools.settings.color)
        fill_selection(doc, layer, value)

    @guarded("Clear")
    def clear(self) -> None:
        from ganstudio.core.operations import clear_selection

        doc = self.document
        if doc is not None and doc.active_layer is not None:
            clear_selection(doc, doc.active_layer)

    def preferences_dialog(self) -> None:
        from .dialogs.preferences_dialog import PreferencesDialog

        dlg = PreferencesDialog(self.preferences, self)  # type: ignore[arg-type]
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        self.apply_preferences(dlg.values())

    def apply_preferences(self, prefs: Any) -> None:
        self.preferences = prefs
        prefs.save()
        prefs.apply_environment()
        for st in self._docs:  # type: ignore[attr-defined]
            st.doc.history.memory_limit = int(prefs.undo_memory_mb) << 20
            if st.autosaver is not None:
                st.autosaver.interval_s = float(prefs.autosave_interval_s or st.autosaver.interval_s)
                if prefs.autosave_interval_s <= 0:
                    st.autosaver.close()
                    st.autosaver = None
            elif prefs.autosave_interval_s > 0:
                from ganstudio.core.autosave import Autosaver

                st.autosaver = Autosaver(st.doc, interval_s=prefs.autosave_interval_s)
        self.status.set_device(prefs.device)  # type: ignore[attr-defined]

    # == Image ==============================================================================================
    @guarded("Canvas size")
    def canvas_size_dialog(self) -> None:
        from ganstudio.core.operations import resize_canvas

        from .dialogs.canvas_size import CanvasSizeDialog

        doc = self.document
        if doc is None:
            return
        dlg = CanvasSizeDialog(doc.width, doc.height, self)  # type: ignore[arg-type]
        if dlg.exec() == QDialog.DialogCode.Accepted:
            w, h, anchor = dlg.values()
            if (w, h) != doc.size:
                resize_canvas(doc, w, h, anchor=anchor)

    @guarded("Image size")
    def image_size_dialog(self) -> None:
        from ganstudio.core.operations import resample_image

        from .dialogs.image_size import ImageSizeDialog

        doc = self.document
        if doc is None:
            return
        dlg = ImageSizeDialog(doc.width, doc.height, self)  # type: ignore[arg-type]
        if dlg.exec() == QDialog.DialogCode.Accepted:
            w, h, method = dlg.values()
            if (w, h) != doc.size:
                resample_image(doc, w, h, method)
                self.zoom_fit()

    @guarded("Crop")
    def crop_to_selection(self) -> None:
        from ganstudio.core.operations import crop

        doc = self.document
        if doc is None:
            return
        r = doc.selection_bounds()
        if r is not None:
            crop(doc, r)

    @guarded("Flatten")
    def flatten(self) -> None:
        from ganstudio.core.operations import flatten

        if self.document is not None:
            flatten(self.document)

    # == Layer ==============================================================================================
    @guarded("New layer")
    def new_layer(self) -> None:
        doc = self.document
        if doc is not None:
            n = sum(1 for la in doc.layers if la.name.startswith("Layer")) + 1
            doc.new_raster_layer(f"Layer {n}")

    @guarded("New label layer")
    def new_label_layer(self) -> None:
        from .palettes import DEFAULT_PALETTE

        doc = self.document
        if doc is None:
            return
        layer = LabelLayer("Labels", np.zeros((doc.height, doc.width), np.uint8), DEFAULT_PALETTE,
                           palette_name="default", opacity=0.6)
        doc.add_layer(layer, label="New label layer")
        self.tools.select("label")

    @guarded("Duplicate layer")
    def duplicate_layer(self) -> None:
        doc = self.document
        if doc is not None and doc.active_layer is not None:
            doc.duplicate_layer(doc.active_layer)

    @guarded("Delete layer")
    def delete_layer(self) -> None:
        doc = self.document
        if doc is not None and doc.active_layer is not None and len(doc.layers) > 1:
            doc.remove_layer(doc.active_layer)

    @guarded("Merge down")
    def merge_down(self) -> None:
        from ganstudio.core.operations import merge_down

        doc = self.document
        if doc is not None and doc.active_layer is not None:
            merge_down(doc, doc.active_layer)

    def _move_active(self, delta: int) -> None:
        doc = self.document
        if doc is not None and doc.active_layer is not None:
            doc.move_layer(doc.active_layer, doc.index_of(doc.active_layer) + delta)

    def raise_layer(self) -> None:
        self._move_active(+1)

    def lower_layer(self) -> None:
        self._move_active(-1)

    def _on_active_layer(self, operation: str, **kwargs: Any) -> None:
        """Run ``ganstudio.core.operations.<operation>(doc, active layer, **kwargs)``, if any."""
        from ganstudio.core import operations

        doc = self.document
        if doc is not None and doc.active_layer is not None:
            getattr(operations, operation)(doc, doc.active_layer, **kwargs)

    @guarded("Layer mask")
    def add_mask(self) -> None:
        self._on_active_layer("add_layer_mask")

    @guarded("Layer mask")
    def add_mask_from_selection(self) -> None:
        self._on_active_layer("add_layer_mask", from_selection=True)

    @guarded("Apply layer mask")
    def apply_mask(self) -> None:
        self._on_active_layer("apply_layer_mask")

    @guarded("Remove layer mask")
    def remove_mask(self) -> None:
        self._on_active_layer("remove_layer_mask")

    def layer_properties_dialog(self) -> None:
        from .dialogs.layer_properties import LayerPropertiesDialog

        doc = self.document
        layer = doc.active_layer if doc is not None else None
        if layer is None:
            return
        dlg = LayerPropertiesDialog(layer, self)  # type: ignore[arg-type]
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        with doc.history.transaction("Layer properties"):
            for attr, value in dlg.values().items():
                doc.set_layer_attr(layer, attr, value)

    # == Select =============================================================================================
    def select_all(self) -> None:
        from ganstudio.core.selection import select_all

        if self.document is not None:
            select_all(self.document)

    def select_none(self) -> None:
        from ganstudio.core.selection import select_none

        if self.document is not None:
            select_none(self.document)

    def select_invert(self) -> None:
        from ganstudio.core.selection import invert_selection

        if self.document is not None:
            invert_selection(self.document)

    def _ask_px(self, title: str, label: str, value: float = 5.0) -> float | None:
        v, ok = QInputDialog.getDouble(self, title, label, value, 0.5, 1000.0, 1)  # type: ignore[arg-type]
        return v if ok else None

    def select_feather(self) -> None:
        from ganstudio.core.selection import feather_selection

        if self.document is not None and self.document.selection is not None:
            r = self._ask_px("Feather selection", "Radius (pixels):")
            if r:
                feather_selection(self.document, r)

    def select_grow(self) -> None:
        from ganstudio.core.selection import grow_selection

        if self.document is not None and self.document.selection is not None:
            r = self._ask_px("Grow selection", "Grow by (pixels):")
            if r:
                grow_selection(self.document, int(round(r)))

    def select_shrink(self) -> None:
        from ganstudio.core.selection import shrink_selection

        if self.document is not None and self.document.selection is not None:
            r = self._ask_px("Shrink selection", "Shrink by (pixels):")
            if r:
                shrink_selection(self.document, int(round(r)))

    def selection_to_ai_mask(self) -> None:
        doc = self.document
        if doc is not None and doc.selection is not None:
            doc.set_ai_mask(doc.selection.copy(), label="Selection to AI mask")

    def clear_ai_mask(self) -> None:
        doc = self.document
        if doc is not None and getattr(doc, "ai_mask", None) is not None:
            doc.clear_ai_mask()

    # == View ===============================================================================================
    def zoom_in(self) -> None:
        if self.canvas is not None:  # type: ignore[attr-defined]
            self.canvas.zoom_in()  # type: ignore[attr-defined]

    def zoom_out(self) -> None:
        if self.canvas is not None:  # type: ignore[attr-defined]
            self.canvas.zoom_out()  # type: ignore[attr-defined]

    def zoom_fit(self) -> None:
        if self.canvas is not None:  # type: ignore[attr-defined]
            self.canvas.fit()  # type: ignore[attr-defined]

    def zoom_100(self) -> None:
        if self.canvas is not None:  # type: ignore[attr-defined]
            self.canvas.zoom_actual()  # type: ignore[attr-defined]

    def toggle_compare(self, on: bool) -> None:
        if on:
            self.qactions["compare_split"].setChecked(False)
        self._sync_compare()

    def toggle_split(self, on: bool) -> None:
        if on:
            self.qactions["compare_toggle"].setChecked(False)
        self._sync_compare()

    def _sync_compare(self) -> None:
        canvas = self.canvas  # type: ignore[attr-defined]
        doc = self.document
        layer = doc.active_layer if doc is not None else None
        if layer is None or not layer.provenance:
            mode = "off"
        elif self.qactions["compare_split"].isChecked():
            mode = "split"
        elif self.qactions["compare_toggle"].isChecked():
            mode = "before"
        else:
            mode = "off"
        for st in self._docs:  # type: ignore[attr-defined]
            if st.canvas is not canvas and st.canvas.compare_mode != "off":
                st.canvas.set_compare(None, "off")
        if canvas is not None and (canvas.compare_mode != mode or
                                   canvas._compare_layer is not (layer if mode != "off" else None)):
            canvas.set_compare(layer if mode != "off" else None, mode)

    def change_brush_size(self, direction: int) -> None:
        s = self.tools.settings
        factor = 1.25 if direction > 0 else 0.8
        s.size = float(min(1000.0, max(1.0, round(s.size * factor) if s.size * factor >= 2
                                       else s.size + direction)))
        self.tools.changed()
        if self.canvas is not None:  # type: ignore[attr-defined]
            self.canvas.viewport().update()  # type: ignore[attr-defined]
        self.status_message(f"Brush size {s.size:.0f} px")  # type: ignore[attr-defined]

    # == Help ===============================================================================================
    def shortcuts_dialog(self) -> None:
        from .dialogs.shortcuts_dialog import ShortcutsDialog

        ShortcutsDialog(list(self.qactions.values()), self).exec()  # type: ignore[arg-type]

    # == Recovery ===========================================================================================
    def offer_recovery(self) -> int:
        """At start-up: offer the autosaves left by a crashed session. Returns how many were opened."""
        try:
            from ganstudio.core.autosave import discard, find_recoverable, recover
        except ImportError:
            return 0
        entries = find_recoverable()
        if not entries:
            return 0
        names = "\n".join(f"• {e.title}" for e in entries[:10])
        box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved work",
                          f"GAN Studio did not close properly. Recover these images?\n\n{names}",
                          parent=self)  # type: ignore[arg-type]
        recover_btn = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
        discard_btn = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        opened = 0
        if box.clickedButton() is recover_btn:
            for e in entries:
                try:
                    doc = recover(e)
                except Exception as exc:  # noqa: BLE001
                    self.show_error("Recover", f"{e.title}: {exc}")  # type: ignore[attr-defined]
                    continue
                self.add_document(doc)  # type: ignore[attr-defined]
                discard(e)
                opened += 1
        elif box.clickedButton() is discard_btn:
            for e in entries:
                discard(e)
        return opened
