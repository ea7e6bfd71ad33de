"""Edit menu: undo / redo, cut / copy / copy merged / paste / paste as new image, fill / clear,
preferences; File > Open as layers.

The clipboard: the copied pixels (``core.clipboard.Clip``: straight RGBA, 8 or 16 bit, where they
came from) stay in this process and go to the system clipboard as a QImage with alpha (plus a
private marker), so other programs can paste them and a paste of our own copy keeps 16 bits and
the position. A paste from another program (any image on the clipboard) lands centred in view.

A mixin of MainWindow (see ui/commands/__init__.py); the pixel work is core's."""

from __future__ import annotations

from typing import Any

import itertools
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QMimeData
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QDialog, QFileDialog

from ganstudio.core.layers import LabelLayer

from .guard import guarded

CLIP_MIME = "application/x-ganstudio-clip"
_tokens = itertools.count(1)
#: the last copy of this process: (token, Clip) — the system clipboard carries the token
_clip: tuple[bytes, object] | None = None


def clip_to_qimage(pixels: np.ndarray) -> QImage:
    """Straight RGBA uint8/uint16 -> QImage (RGBA8888, straight alpha; 16-bit rounded)."""
    from ganstudio.core.pixels import to_8bit

    px = np.ascontiguousarray(to_8bit(pixels))
    h, w = px.shape[:2]
    return QImage(px.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


def qimage_to_array(img: QImage) -> np.ndarray:
    """Any QImage -> straight RGBA uint8 HxWx4 (alpha kept)."""
    img = img.convertToFormat(QImage.Format.Format_RGBA8888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, :4 * w].reshape(h, w, 4).copy()



class EditCommands:
    def undo(self) -> None:
        if self.document is not None:
            self.document.history.undo()

    def redo(self) -> None:
        if self.document is not None:
            self.document.history.redo()

    # -- clipboard --------------------------------------------------------------------------------
    def _put_clip(self, clip) -> None:  # noqa: ANN001
        global _clip
        token = str(next(_tokens)).encode()
        _clip = (token, clip)
        mime = QMimeData()
        mime.setImageData(clip_to_qimage(clip.pixels))
        mime.setData(CLIP_MIME, QByteArray(token))
        QGuiApplication.clipboard().setMimeData(mime)

    def _copy(self, merged: bool, cut: bool = False) -> None:
        from ganstudio.core import clipboard as cb

        doc = self.document
        if doc is None:
            return
        if cut:
            clip = cb.cut_pixels(doc)
        else:
            clip = cb.copy_pixels(doc, merged=merged)
        if clip is None:
            self.status_message("Nothing selected on this layer to copy.")
            return
        self._put_clip(clip)
        what = "Cut" if cut else ("Copied merged" if merged else "Copied")
        self.status_message(f"{what} {clip.width}x{clip.height} px")

    @guarded("Copy")
    def copy(self) -> None:
        self._copy(False)

    @guarded("Copy merged")
    def copy_merged(self) -> None:
        self._copy(True)

    @guarded("Cut")
    def cut(self) -> None:
        self._copy(False, cut=True)

    def clipboard_clip(self):  # noqa: ANN201
        """(Clip, ours): our own last copy when the system clipboard still holds it, else a Clip
        of the clipboard's image (None when it holds no image)."""
        from ganstudio.core.clipboard import Clip

        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            return None, False
        if _clip is not None and mime.hasFormat(CLIP_MIME) and bytes(mime.data(CLIP_MIME)) == _clip[0]:
            return _clip[1], True
        if not mime.hasImage():
            return None, False
        img = mime.imageData()
        if not isinstance(img, QImage) or img.isNull():
            img = QGuiApplication.clipboard().image()
        if img is None or img.isNull():
            return None, False
        return Clip(qimage_to_array(img), (0, 0), "Pasted layer"), False

    def _view_rect(self):  # noqa: ANN202
        canvas = self.canvas
        if canvas is None:
            return None
        return canvas.view_rect_to_doc(canvas.viewport().rect())

    @guarded("Paste")
    def paste(self) -> None:
        """Paste as a new layer above the active one: our own copy at the place it came from when
        that place is in view, anything else centred in the view (GIMP / Krita)."""
        from ganstudio.core.clipboard import paste_as_layer
        from ganstudio.core.geometry import Rect

        clip, ours = self.clipboard_clip()
        if clip is None:
            self.status_message("The clipboard holds no image.")
            return
        doc = self.document
        if doc is None:
            self.paste_as_new_image()
            return
        view = self._view_rect() or doc.bounds
        at = clip.origin
        if not ours or Rect(at[0], at[1], clip.width, clip.height).intersect(view).is_empty():
            cx, cy = view.x + view.w // 2, view.y + view.h // 2
            at = (cx - clip.width // 2, cy - clip.height // 2)
        paste_as_layer(doc, clip, at=at)
        self.status_message(f"Pasted {clip.width}x{clip.height} px as a new layer")

    @guarded("Paste as new image")
    def paste_as_new_image(self) -> None:
        from ganstudio.core.clipboard import new_document_from

        clip, _ours = self.clipboard_clip()
        if clip is None:
            self.status_message("The clipboard holds no image.")
            return
        self.add_document(new_document_from(clip))

    # -- File > Open as layers -------------------------------------------------------------------
    def open_as_layers_dialog(self) -> None:
        from ganstudio.core.io import OPEN_FILTER
        from ganstudio.ui import settings as settings_mod

        if self.document is None:
            return
        start = settings_mod.settings().value("last_dir", str(Path.home()))
        files, _ = QFileDialog.getOpenFileNames(self, "Open as layers", str(start),  # type: ignore[arg-type]
                                                f"{OPEN_FILTER};;All files (*)")
        if files:
            self.open_as_layers(files)

    @guarded("Open as layers")
    def open_as_layers(self, files) -> list:  # noqa: ANN001
        """Each file becomes a layer of the current document (a project: its composite), centred
        on the canvas, 16 bits kept; one undo step for all of them."""
        from ganstudio.core.clipboard import add_layers
        from ganstudio.core.compositing import composite
        from ganstudio.core.io import open_document
        from ganstudio.core.pixels import document_dtype

        doc = self.document
        if doc is None:
            return []
        images = []
        for f in files:
            src = open_document(f)
            if len(src.layers) == 1 and src.layers[0].offset == (0, 0) and src.layers[0].mask is None \
                    and src.layers[0].opacity == 1 and not isinstance(src.layers[0], LabelLayer):
                px = src.layers[0].data
            else:
                px = composite(src, dtype=document_dtype(src))
            images.append((Path(f).stem, px))
        layers = add_layers(doc, images)
        self.status_message(f"Added {len(layers)} layer{'s' if len(layers) != 1 else ''}")
        return layers

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
        from ..dialogs.preferences_dialog import PreferencesDialog

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
        self.set_ai_mask_color(prefs.ai_mask_color)  # type: ignore[attr-defined]
