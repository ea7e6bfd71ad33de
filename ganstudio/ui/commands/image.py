"""Image menu: canvas size, image size, crop, flatten.

A mixin of MainWindow (see ui/commands/__init__.py); the pixel work is core's."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog

from .guard import guarded



class ImageCommands:
    @guarded("Canvas size")
    def canvas_size_dialog(self) -> None:
        from ganstudio.core.operations import resize_canvas

        from ..dialogs.canvas_size import CanvasSizeDialog

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

        from ..dialogs.image_size import ImageSizeDialog

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
