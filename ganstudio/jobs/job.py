"""A Job: one task run (title, state, progress, result or error), observable with psygnal."""

from __future__ import annotations

import enum
import itertools
import threading
from collections.abc import Callable
from typing import Any

from psygnal import Signal, SignalGroup

from ganstudio.tasks.base import CancelToken, Progress, TaskContext, TaskInputs

_ids = itertools.count(1)


class JobState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        return self in (JobState.FINISHED, JobState.CANCELLED, JobState.FAILED)


class JobEvents(SignalGroup):
    """Emitted on the thread that changes the job (the worker thread while it runs)."""

    state = Signal(object)     # JobState
    progress = Signal(object)  # Progress


class Job:
    def __init__(self, title: str, task_fn: Callable[..., Any], inputs: TaskInputs, request: Any,
                 ctx: TaskContext | None = None) -> None:
        self.id = next(_ids)
        self.title = title
        self.task_fn = task_fn
        self.inputs = inputs
        self.request = request
        self.ctx = ctx if ctx is not None else TaskContext()
        self.events = JobEvents()
        self.state = JobState.QUEUED
        self.progress = 0.0
        self.stage = ""
        self.last_progress: Progress | None = None
        self.error: str | None = None
        self.exception: BaseException | None = None
        self.result: Any = None
        self.data: dict[str, Any] = {}   # free slot for the caller (e.g. the UI's apply callback)
        self._done = threading.Event()

    @property
    def cancel_token(self) -> CancelToken:
        return self.ctx.cancel

    @property
    def done(self) -> bool:
        return self.state.done

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    # -- called by the queue ------------------------------------------------------------------------
    def _set_state(self, state: JobState) -> None:
        if self.state is state:
            return
        self.state = state
        if state.done:
            self._done.set()
        self.events.state.emit(state)

    def _set_progress(self, p: Progress) -> None:
        self.last_progress = p
        self.progress = p.fraction
        self.stage = p.stage
        self.events.progress.emit(p)

    def __repr__(self) -> str:
        return f"<Job #{self.id} {self.title!r} {self.state.value} {self.progress:.0%}>"
