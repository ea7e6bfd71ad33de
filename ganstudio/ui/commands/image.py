"""Image menu: canvas size, image size, crop (to selection, the crop tool), rotate / flip the
image; Layer > Transform: rotate / flip the active layer, free transform (the transform tool).

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

    # -- rotate / flip (core.transform: exact, one undo step each) -------------------------------
    @guarded("Rotate image")
    def rotate_image(self, turns: int) -> None:
        from ganstudio.core.transform import rotate_image

        if self.document is not None:
            self._cancel_tool()
            rotate_image(self.document, turns)

    def rotate_image_cw(self) -> None:
        self.rotate_image(1)

    def rotate_image_ccw(self) -> None:
        self.rotate_image(-1)

    def rotate_image_180(self) -> None:
        self.rotate_image(2)

    @guarded("Flip image")
    def flip_image(self, axis: str) -> None:
        from ganstudio.core.transform import flip_image

        if self.document is not None:
            self._cancel_tool()
            flip_image(self.document, axis)

    def flip_image_horizontal(self) -> None:
        self.flip_image("horizontal")

    def flip_image_vertical(self) -> None:
        self.flip_image("vertical")

    @guarded("Transform layer")
    def rotate_layer(self, turns: int) -> None:
        from ganstudio.core.transform import rotate_layer

        if self.document is not None:
            self._cancel_tool()
            rotate_layer(self.document, turns)

    def rotate_layer_cw(self) -> None:
        self.rotate_layer(1)

    def rotate_layer_ccw(self) -> None:
        self.rotate_layer(-1)

    def rotate_layer_180(self) -> None:
        self.rotate_layer(2)

    @guarded("Transform layer")
    def flip_layer(self, axis: str) -> None:
        from ganstudio.core.transform import flip_layer

        if self.document is not None:
            self._cancel_tool()
            flip_layer(self.document, axis)

    def flip_layer_horizontal(self) -> None:
        self.flip_layer("horizontal")

    def flip_layer_vertical(self) -> None:
        self.flip_layer("vertical")

    # -- interactive tools ---------------------------------------------------------------------
    def _cancel_tool(self) -> None:
        """An unapplied crop / free transform is dropped before the image changes under it."""
        canvas = self.canvas
        tool = self.tools.current
        if canvas is not None and tool is not None and getattr(tool, "interactive", False):
            tool.cancel(canvas)

    def crop_tool(self) -> None:
        if self.document is not None:
            self.tools.select("crop")
            if self.canvas is not None:
                self.canvas.setFocus()      # Enter / Esc go to the canvas

    @guarded("Free transform")
    def free_transform(self) -> None:
        """Ctrl+T: the transform tool on the active layer, or on its selected pixels when there is
        a selection (refused for locked layers / groups)."""
        doc = self.document
        if doc is None:
            return
        layer = doc.active_layer
        if layer is None:
            raise ValueError("Select a layer to transform (groups cannot be transformed yet).")
        if layer.locked or doc.is_locked(layer):
            raise PermissionError(f"layer “{layer.name}” is locked")
        if doc.selection is not None and layer.mask is not None:
            raise ValueError(f"“{layer.name}” has a layer mask: apply or delete it to transform a "
                             "selection of it, or deselect (Ctrl+Shift+A) to transform the whole layer.")
        self.tools.select("transform")
        tool = self.tools.current
        if self.canvas is not None and hasattr(tool, "begin"):
            tool.begin(self.canvas)
            self.canvas.setFocus()          # Enter applies, Esc cancels
