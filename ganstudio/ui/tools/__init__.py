"""Canvas tools. Tools translate mouse input into core calls (core.brush / core.selection do the
pixel work); a ToolManager holds the current tool and the shared ToolSettings.

Tool registry: ``register_tool(factory)`` adds a tool type for every window (a task module may
call it at import), ``window.tools.register(tool)`` adds a tool instance to one window (a task
UI's ``install``); the tool bar, the View > Tools menu and the shortcuts pick it up.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from .base import Tool, ToolSettings
from .clone import CloneTool, HealTool
from .crop import CropTool
from .fill import FillTool
from .gradient import GradientTool
from .misc import MoveTool, PickerTool
from .paint import PaintTool
from .select import EllipseSelectTool, LassoSelectTool, RectSelectTool
from .transform import TransformTool
from .wand import ColorSelectTool, WandTool

#: factories of the tools every window gets, in tool-bar order
_TOOL_FACTORIES: list[Callable[[], Tool]] = []


def register_tool(factory: Callable[[], Tool]) -> Callable[[], Tool]:
    """Add a tool type (a class or a zero-argument factory) to every new window."""
    if factory not in _TOOL_FACTORIES:
        _TOOL_FACTORIES.append(factory)
    return factory


def tool_factories() -> list[Callable[[], Tool]]:
    return list(_TOOL_FACTORIES)


for _f in (lambda: PaintTool("brush"), lambda: PaintTool("eraser"), lambda: PaintTool("mask"),
           lambda: PaintTool("label"), FillTool, GradientTool, CloneTool, HealTool,
           RectSelectTool, EllipseSelectTool, LassoSelectTool, WandTool, ColorSelectTool,
           PickerTool, MoveTool, CropTool, TransformTool):
    register_tool(_f)


class ToolManager(QObject):
    tool_changed = Signal(str)
    settings_changed = Signal()
    tool_added = Signal(object)   # Tool registered after the window was built

    def __init__(self, window=None) -> None:  # noqa: ANN001
        super().__init__()
        self.window = window
        self.settings = ToolSettings()
        self.tools: dict[str, Tool] = {}
        for factory in _TOOL_FACTORIES:
            self._add(factory())
        self.current: Tool | None = self.tools["brush"]

    def _add(self, tool: Tool) -> Tool:
        if tool.name in self.tools:
            raise ValueError(f"a tool named {tool.name!r} exists already")
        tool.manager = self
        self.tools[tool.name] = tool
        return tool

    def register(self, tool: Tool) -> Tool:
        """Add a tool to this window (task UIs); it appears in the tool bar and View > Tools."""
        self._add(tool)
        self.tool_added.emit(tool)
        return tool

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


__all__ = ["ToolManager", "Tool", "ToolSettings", "register_tool", "tool_factories"]
