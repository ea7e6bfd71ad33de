"""A Job: one task run as data (task name, Request, input arrays, placement) plus its live state
(state, progress, result or error), observable with psygnal.

``Job.to_dict()`` / ``Job.from_dict()`` (and ``to_json`` / ``from_json``) round-trip everything a
backend needs to run it elsewhere (jobs/process_backend.py runs it in a child process); the task
function is found by name in the task registry. ``task_fn`` is an optional in-process override
(legacy ``window.run_task`` callers, tests); a job with one cannot be serialised.
"""

from __future__ import annotations

import enum
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from psygnal import Signal, SignalGroup

from ganstudio.tasks.base import CancelToken, Progress, Result, TaskContext, TaskInputs

from . import serialize
from .placement import Placement

_ids = itertools.count(1)

KINDS = ("run", "prepare", "update")


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
    def __init__(self, title: str, task_fn: Callable[..., Any] | None = None,
                 inputs: TaskInputs | None = None, request: Any = None,
                 ctx: TaskContext | None = None, *, task: str | None = None,
                 placement: Placement | None = None, kind: str = "run",
                 session: str | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"job kind must be one of {KINDS}")
        self.id = next(_ids)
        self.title = title
        self.task = task if task is not None else str(getattr(request, "task", "") or "")
        self.task_fn = task_fn
        self.inputs: TaskInputs | None = inputs if inputs is not None else TaskInputs()
        self.request = request
        self.ctx = ctx if ctx is not None else TaskContext()
        self.placement = placement
        if placement is not None:
            placement.request = request
        self.kind = kind
        self.session = session
        self.events = JobEvents()
        self.state = JobState.QUEUED
        self.progress = 0.0
        self.stage = ""
        self.last_progress: Progress | None = None
        self.error: str | None = None
        self.exception: BaseException | None = None
        self.result: Any = None
        self.superseded_by: int | None = None   # a newer update of the same session replaced it
        self.released = False
        self.started_at: float | None = None    # time.monotonic() when it started running
        self.finished_at: float | None = None   # ... and when it ended (any final state)
        self.data: dict[str, Any] = {}   # free slot for the caller (not serialised)
        self._done = threading.Event()

    @property
    def cancel_token(self) -> CancelToken:
        return self.ctx.cancel

    @property
    def done(self) -> bool:
        return self.state.done

    @property
    def serialisable(self) -> bool:
        return self.task_fn is None and bool(self.task)

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    # -- memory --------------------------------------------------------------------------------------
    def release(self) -> None:
        """Drop the input and result arrays (after the result was applied, or when it never will
        be): a finished 4x upscale would otherwise hold its images until "Clear finished"."""
        drop = getattr(self.inputs, "release", None)   # jobs.runner.LazyInputs: its snapshot
        if callable(drop):
            drop()
        self.inputs = None
        self.result = None
        if self.placement is not None:
            self.placement.mask = None
        if self.last_progress is not None and self.last_progress.preview is not None:
            p = self.last_progress
            self.last_progress = Progress(p.step, p.total, p.stage)
        self.released = True

    @property
    def nbytes(self) -> int:
        """Bytes of arrays this job holds (inputs, result, placement mask, preview)."""
        n = 0
        if self.inputs is not None and not getattr(self.inputs, "resolved", True):
            n += 0 if self.inputs.mask is None else int(self.inputs.mask.nbytes)  # not composited yet
        elif self.inputs is not None:
            for a in (self.inputs.image, self.inputs.mask, self.inputs.labels):
                n += 0 if a is None else int(a.nbytes)
        if isinstance(self.result, Result):
            n += self.result.nbytes
        if self.placement is not None:
            n += self.placement.nbytes
        if self.last_progress is not None and self.last_progress.preview is not None:
            n += int(self.last_progress.preview.nbytes)
        return n

    # -- as data --------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Everything needed to run the job elsewhere (arrays stay numpy arrays: use
        ``serialize.dumps`` / ``pack`` or :meth:`to_json`)."""
        if self.task_fn is not None:
            raise serialize.SerializeError(
                f"job {self.title!r} carries a Python function; only registered tasks serialise")
        inp = self.inputs or TaskInputs()
        return {
            "id": self.id, "title": self.title, "task": self.task, "kind": self.kind,
            "session": self.session,
            "request": None if self.request is None else self.request.to_dict(),
            "inputs": {"image": inp.image, "mask": inp.mask, "labels": inp.labels,
                       "extra": dict(inp.extra)},
            "placement": None if self.placement is None else self.placement.to_dict(),
            "context": self.ctx.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Job:
        from ganstudio.tasks.registry import get_task

        task = str(d["task"])
        spec = get_task(task)
        request = None if d.get("request") is None else spec.request_from_dict(d["request"])
        i = d.get("inputs") or {}
        inputs = TaskInputs(image=i.get("image"), mask=i.get("mask"), labels=i.get("labels"),
                            extra=dict(i.get("extra") or {}))
        placement = None if d.get("placement") is None else Placement.from_dict(d["placement"])
        job = cls(str(d.get("title", spec.title)), inputs=inputs, request=request,
                  ctx=TaskContext.from_dict(d.get("context") or {}), task=task,
                  placement=placement, kind=str(d.get("kind", "run")), session=d.get("session"))
        if "id" in d:
            job.id = int(d["id"])
        return job

    def to_json(self) -> str:
        return serialize.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes) -> Job:
        return cls.from_dict(serialize.loads(text))

    # -- called by the queue ------------------------------------------------------------------------
    def _set_state(self, state: JobState) -> None:
        if self.state is state:
            return
        self.state = state
        if state.done:
            if self.finished_at is None:
                self.finished_at = time.monotonic()
            self._done.set()
        self.events.state.emit(state)

    def _set_progress(self, p: Progress) -> None:
        self.last_progress = p
        self.progress = p.fraction
        self.stage = p.stage
        self.events.progress.emit(p)

    def __repr__(self) -> str:
        return f"<Job #{self.id} {self.title!r} {self.task} {self.state.value} {self.progress:.0%}>"


def result_to_dict(result: Result | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {"image": result.image, "name": result.name, "info": dict(result.info),
            "layers": [{"image": la.image, "rect": la.rect, "name": la.name, "mask": la.mask,
                        "info": dict(la.info)} for la in result.layers],
            "masks": dict(result.masks), "artefacts": dict(result.artefacts)}


def result_from_dict(d: dict[str, Any] | None) -> Result | None:
    from ganstudio.tasks.base import ResultLayer

    if d is None:
        return None
    layers = [ResultLayer(image=la["image"], rect=None if la.get("rect") is None else tuple(la["rect"]),
                          name=la.get("name", "AI result"), mask=la.get("mask"),
                          info=dict(la.get("info") or {})) for la in d.get("layers") or []]
    return Result(image=d.get("image"), name=d.get("name", "AI result"), info=dict(d.get("info") or {}),
                  layers=layers, masks=dict(d.get("masks") or {}),
                  artefacts=dict(d.get("artefacts") or {}))


def progress_to_dict(p: Progress) -> dict[str, Any]:
    return {"step": p.step, "total": p.total, "stage": p.stage, "preview": p.preview,
            "preview_rect": p.preview_rect}


def progress_from_dict(d: dict[str, Any]) -> Progress:
    r = d.get("preview_rect")
    return Progress(int(d["step"]), int(d["total"]), str(d.get("stage", "")), d.get("preview"),
                    None if r is None else tuple(int(v) for v in r))  # type: ignore[arg-type]
