"""Canvas tools. Tools translate mouse input into core calls (core.brush / core.selection do the
pixel work); a ToolManager holds the current tool and the shared ToolSettings."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from .base import Tool, ToolSettings
from .misc import MoveTool, PickerTool
from .paint import PaintTool
from .select import EllipseSelectTool, LassoSelectTool, RectSelectTool


class ToolManager(QObject):
    tool_changed = Signal(str)
    settings_changed = Signal()

    def __init__(self, window=None) -> None:  # noqa: ANN001
        super().__init__()
        self.window = window
        self.settings = ToolSettings()
        self.tools: dict[str, Tool] = {}
        for tool in (PaintTool("brush"), PaintTool("eraser"), PaintTool("mask"), PaintTool("label"),
                     RectSelectTool(), EllipseSelectTool(), LassoSelectTool(), PickerTool(), MoveTool()):
            tool.manager = self
            self.tools[tool.name] = tool
        self.current: Tool | None = self.tools["brush"]

    def select(self, name: str) -> None:
        tool = self.tools[name]
        if tool is not self.current:
            self.current = tool
            self.tool_changed.emit(name)

    def changed(self) -> None:
        self.settings_changed.emit()

    def message(self, text: str) -> None:
        if self.window is not None:
            self.window.status_message(text)


__all__ = ["ToolManager", "Tool", "ToolSettings"]
