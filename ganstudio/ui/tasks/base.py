"""TaskUI: the template every task UI follows (install, enable, gather, submit, apply).

A task UI is a subclass in a module of ``ganstudio/ui/tasks/``; the window finds it by itself
(``ui/tasks/__init__.py``), creates one instance and calls ``install(window)``::

    class StyleUI(TaskUI):
        id = "style"                      # unique; jobs name the UI that applies their result
        task = "style_transfer"           # TaskSpec name (ganstudio.tasks.registry)
        title = "Stylize"
        menu = "Filters/AI"               # where the action goes (None: no action; see build)

        def configure(self, doc):         # ask the user (dialog / dock panel) -> Request | None
            return StyleRequest(model_id="cyclegan.style_monet")

        def gather(self, window, request):  # document -> task inputs + where the result goes
            inputs, rect = gather_inputs(window.document, source="composite")
            return inputs, request, window.placement(rect)

``apply(doc, result, placement)`` runs on the main thread inside one undo step, only after the
window checked that the document still fits the placement (jobs/placement.py: refused or
re-targeted after a crop / resize); the default adds every output layer (Result.layers, or the
image) at ``placement.rect``. The window frees the job's inputs and result afterwards.

A TaskUI uses only the window Protocol (ui/window_api.py), never private window attributes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction, QKeySequence

from ganstudio.jobs import Job
from ganstudio.jobs.runner import add_result_layers

if TYPE_CHECKING:
    from ganstudio.core.document import Document
    from ganstudio.jobs.placement import Placement, Resolution
    from ganstudio.tasks.base import Request, Result, TaskInputs

    from ..window_api import WindowAPI

log = logging.getLogger(__name__)


class TaskUI:
    id: str = ""                 # unique id (default: ``task``)
    task: str = ""               # the TaskSpec this UI runs
    title: str = ""              # job title, menu text (+ "…" when ``dialog``), error titles
    menu: str | None = "Filters/AI"
    menu_text: str | None = None
    shortcut: str = ""
    status_tip: str = ""
    action_name: str = ""        # QAction objectName (tests, shortcuts dialog)
    order: int = 100             # install order among task UIs (smaller first)
    retarget: str = "translate"  # Placement.retarget: "refuse" for whole-canvas results
    needs_document: bool = True

    def __init__(self) -> None:
        self.window: WindowAPI | None = None
        self.actions: list[QAction] = []
        if not self.id:
            self.id = self.task or type(self).__name__.lower()

    # -- install ----------------------------------------------------------------------------------
    def install(self, window: WindowAPI) -> None:
        """Add menus / docks (``build``) and keep the actions enabled with ``enabled(doc)``."""
        self.window = window
        self.build(window)
        window.document_changed.connect(self.refresh)
        self.refresh(window.document)

    def build(self, window: WindowAPI) -> None:
        """Default: one menu action at ``menu`` that calls :meth:`trigger`."""
        if self.menu:
            self.add_action(self.menu, self.menu_text or self.title, self.trigger,
                            shortcut=self.shortcut, tip=self.status_tip, name=self.action_name)

    def add_action(self, menu_path: str, text: str, slot: Any, *, shortcut: str = "",
                   tip: str = "", name: str = "") -> QAction:
        assert self.window is not None
        act = self.window.menu(menu_path).addAction(text)
        if name:
            act.setObjectName(name)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setStatusTip(tip)
        act.triggered.connect(lambda _checked=False: slot())
        self.actions.append(act)
        return act

    # -- enable -----------------------------------------------------------------------------------
    def enabled(self, doc: Document | None) -> bool:
        return doc is not None or not self.needs_document

    def refresh(self, doc: Document | None = None) -> None:
        on = self.enabled(doc)
        for act in self.actions:
            act.setEnabled(on)

    # -- run --------------------------------------------------------------------------------------
    def trigger(self) -> Job | None:
        """The menu action: check, ask (``configure``), submit."""
        assert self.window is not None
        doc = self.window.document
        if self.needs_document and doc is None:
            self.window.show_error(self.title, "Open an image first.")
            return None
        request = self.configure(doc)
        if request is None:
            return None
        return self.submit(request)

    def configure(self, doc: Document | None) -> Request | None:
        """Ask the user for the request (a dialog, or read a dock panel); None = cancelled."""
        raise NotImplementedError

    def gather(self, window: WindowAPI, request: Request) -> tuple[TaskInputs, Request, Placement] | None:
        """Snapshot the document on the main thread: (inputs, request, placement), or None after
        telling the user why nothing can run (``window.show_error``)."""
        raise NotImplementedError

    def job_title(self, request: Request) -> str:
        return self.title

    def submit(self, request: Request | None = None, *, kind: str = "run",
               session: str | None = None) -> Job | None:
        """gather -> a Job (data: task, request, inputs, placement) -> the window's queue.

        Interactive tasks: ``kind="prepare"`` once then ``kind="update"`` per slider move with the
        same ``session`` key (queued updates are coalesced: latest wins); ``close_session(key)``."""
        assert self.window is not None
        if request is None:
            request = self.configure(self.window.document)
            if request is None:
                return None
        gathered = self.gather(self.window, request)
        if gathered is None:
            return None
        inputs, request, placement = gathered
        placement.ui = self.id
        placement.retarget = self.retarget
        job = Job(self.job_title(request), inputs=inputs, request=request, task=self.task,
                  placement=placement, kind=kind, session=session)
        return self.window.run_job(job)

    def close_session(self, key: str) -> None:
        assert self.window is not None
        self.window.job_queue.close_session(key)

    # -- results (main thread) ----------------------------------------------------------------------
    def apply(self, doc: Document, result: Result, placement: Placement) -> None:
        """Land the result (inside one undo step opened by the window). ``placement.rect`` is
        already re-targeted when the document moved."""
        add_result_layers(doc, result, placement.rect, placement.request)

    def applied(self, job: Job, resolution: Resolution) -> None:
        """After a successful apply: a status message (re-targeting is reported too)."""
        assert self.window is not None
        note = f" ({resolution.reason})" if resolution.retargeted else (
            " (the image was edited while it ran)" if resolution.changed else "")
        self.window.status_message(f"{job.title}: done{note}")

    def refused(self, job: Job, resolution: Resolution) -> None:
        assert self.window is not None
        self.window.show_error(job.title, f"The result was not added: {resolution.reason}.")

    def failed(self, job: Job) -> None:
        assert self.window is not None
        self.window.show_error(job.title, job.error or "The job failed.")


__all__ = ["TaskUI"]
