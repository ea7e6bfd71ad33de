"""Select menu: all / none / invert, feather / grow / shrink, AI mask.

A mixin of MainWindow (see ui/commands/__init__.py); the pixel work is core's."""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog



class SelectCommands:
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
