"""What task UIs, panels, actions and tools may use of the main window: a Protocol.

Modules below the window (ui/tasks/*, ui/actions.py, ui/layers_panel.py, ui/tools/*) type their
``window`` argument with these Protocols instead of importing ``MainWindow`` (no import cycle, no
private attributes). ``MainWindow`` implements all of them; tests may pass a lighter object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:  # types only: none of these imports the window
    from PySide6.QtWidgets import QDockWidget, QMenu, QWidget

    from ganstudio.core.document import Document
    from ganstudio.core.geometry import Rect
    from ganstudio.jobs import Job, JobQueue
    from ganstudio.jobs.placement import Placement

    from .canvas_api import CanvasView as Canvas
    from .preferences import Preferences


@runtime_checkable
class ToolRegistry(Protocol):
    """``window.tools``: the canvas tools (ui/tools). ``register(tool)`` adds a task's own tool."""

    current: Any
    tools: dict[str, Any]

    def register(self, tool: Any) -> Any: ...

    def select(self, name: str) -> None: ...


@runtime_checkable
class WindowAPI(Protocol):
    """The window as task UIs see it (docs/UI.md, "Window API")."""

    # signals (Qt SignalInstance): document_changed(Document | None)
    document_changed: Any
    preferences: Preferences
    job_queue: JobQueue
    job_bridge: Any
    tools: ToolRegistry
    qactions: dict[str, Any]

    @property
    def document(self) -> Document | None: ...

    @property
    def documents(self) -> list[Document]: ...

    @property
    def canvas(self) -> Canvas | None: ...

    def document_by_id(self, doc_id: int) -> Document | None: ...

    def menu(self, path: str) -> QMenu: ...

    def add_dock(self, widget: QWidget, title: str, area: str = "right", *,
                 name: str | None = None) -> QDockWidget: ...

    def run_job(self, job: Job) -> Job: ...

    def placement(self, rect: Rect | None = None, **kw: Any) -> Placement: ...

    def task_mask(self) -> np.ndarray | None: ...

    def show_error(self, title: str, message: str) -> None: ...

    def status_message(self, text: str, timeout_ms: int = 5000) -> None: ...

    def show_preview(self, rect: Rect, image: np.ndarray) -> None: ...

    def clear_preview(self) -> None: ...

    def task_ui(self, ui_id: str) -> Any: ...


class ActionsHost(WindowAPI, Protocol):
    """What ui/actions.py and the docks call on the window besides the task API: the menu
    commands (ui/commands/*), document tabs and the dock registry."""

    menus: dict[str, Any]
    docks: dict[str, Any]
    recent_menu: Any
    panels_menu: Any
    main_toolbar: Any
    tools_toolbar: Any
    layers_panel: Any

    def __getattr__(self, name: str) -> Any: ...  # the command handlers (new_document, save, ...)


__all__ = ["ActionsHost", "ToolRegistry", "WindowAPI"]
