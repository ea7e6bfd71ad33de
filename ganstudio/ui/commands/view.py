"""View menu: zoom, before/after compare, brush size, AI-mask colour.

A mixin of MainWindow (see ui/commands/__init__.py); the pixel work is core's."""

from __future__ import annotations





class ViewCommands:
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

    def set_ai_mask_color(self, hexcol: str) -> None:
        """The AI-mask tint (#rrggbb) of every canvas; saved in the preferences."""
        prefs = self.preferences  # type: ignore[attr-defined]
        prefs.ai_mask_color = hexcol.lower()
        prefs.save()
        for st in self._docs:  # type: ignore[attr-defined]
            st.canvas.set_mask_tint(prefs.ai_mask_rgb)
        for ui in getattr(self, "task_uis", {}).values():
            hook = getattr(ui, "mask_colour_changed", None)
            if hook is not None:
                hook(prefs.ai_mask_color)

    def change_brush_size(self, direction: int) -> None:
        s = self.tools.settings
        factor = 1.25 if direction > 0 else 0.8
        s.size = float(min(1000.0, max(1.0, round(s.size * factor) if s.size * factor >= 2
                                       else s.size + direction)))
        self.tools.changed()
        if self.canvas is not None:  # type: ignore[attr-defined]
            self.canvas.viewport().update()  # type: ignore[attr-defined]
        self.status_message(f"Brush size {s.size:.0f} px")  # type: ignore[attr-defined]
