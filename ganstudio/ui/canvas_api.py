"""Protocols between the canvas and its tools, so that neither imports the other:

* tools (ui/tools/*) see the canvas as a :class:`CanvasView`;
* the canvas sees the tool manager as a :class:`ToolHost` and tools as :class:`CanvasTool`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PySide6.QtCore import QPointF, QRect, Qt
    from PySide6.QtGui import QMouseEvent, QPainter
    from PySide6.QtWidgets import QWidget

    from ganstudio.core.document import Document


@runtime_checkable
class CanvasView(Protocol):
    document: Document
    hover_pos: Any               # QPointF | None (document coordinates)

    @property
    def zoom(self) -> float: ...

    def viewport(self) -> QWidget: ...

    def doc_to_view(self, p: QPointF) -> QPointF: ...


@runtime_checkable
class CanvasTool(Protocol):
    name: str
    cursor: Qt.CursorShape

    def press(self, canvas: CanvasView, pos: QPointF, event: QMouseEvent) -> None: ...

    def move(self, canvas: CanvasView, pos: QPointF, event: QMouseEvent) -> None: ...

    def release(self, canvas: CanvasView, pos: QPointF, event: QMouseEvent) -> None: ...

    def cancel(self, canvas: CanvasView) -> None: ...

    def paint_overlay(self, painter: QPainter, canvas: CanvasView) -> None: ...

    def overlay_rect(self, canvas: CanvasView, pos: QPointF | None) -> QRect | None: ...


@runtime_checkable
class ToolHost(Protocol):
    current: CanvasTool | None


__all__ = ["CanvasTool", "CanvasView", "ToolHost"]
