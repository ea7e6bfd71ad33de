"""JobQueue: submit jobs, run them on a Backend, cancel running / drop queued (Qt-free).

Sessions: jobs with the same ``session`` key run in submission order; submitting an ``update``
job cancels the session's updates still queued ("latest wins": ``superseded_by`` names the newer
job); ``close_session(key)`` closes the TaskSession after its queued jobs.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from psygnal import Signal, SignalGroup

from ganstudio.tasks.base import Cancelled, Progress, TaskContext, TaskError, TaskInputs

from .backend import Backend, LocalBackend
from .job import Job, JobState

log = logging.getLogger(__name__)


class QueueEvents(SignalGroup):
    added = Signal(object)    # Job
    removed = Signal(object)  # Job (cleared from the list)


class JobQueue:
    def __init__(self, backend: Backend | None = None) -> None:
        self.backend = backend if backend is not None else LocalBackend(workers=1)
        self.events = QueueEvents()
        self.jobs: list[Job] = []
        self._lock = threading.Lock()
        self._session_locks: dict[str, threading.Lock] = {}

    # -- public -----------------------------------------------------------------------------------
    def submit(self, title: str | Job, task_fn: Callable[..., Any] | None = None,
               inputs: TaskInputs | None = None, request: Any = None,
               ctx: TaskContext | None = None) -> Job:
        """``submit(job)``, or the legacy ``submit(title, task_fn, inputs, request, ctx)``."""
        job = title if isinstance(title, Job) else Job(title, task_fn, inputs, request, ctx)
        superseded: list[Job] = []
        with self._lock:
            if job.kind == "update" and job.session is not None:
                superseded = [j for j in self.jobs if j.session == job.session
                              and j.kind == "update" and j.state is JobState.QUEUED]
            self.jobs.append(job)
        for old in superseded:   # latest wins: a queued slider move is replaced by the newer one
            old.superseded_by = job.id
            self.cancel(old)
            old.release()
        self.events.added.emit(job)
        self.backend.start(lambda: self._execute(job))
        return job

    def close_session(self, key: str) -> None:
        """Drop the session's queued jobs and close it once its running job is done."""
        for j in list(self.jobs):
            if j.session == key and j.state is JobState.QUEUED:
                self.cancel(j)
        try:
            self.backend.start(lambda: self.backend.close_session(key))
        except RuntimeError:  # shut down: nothing left to close
            pass

    def release_finished(self) -> int:
        """Free the arrays of every finished job (``Job.release``); returns how many."""
        n = 0
        for j in list(self.jobs):
            if j.done and not j.released:
                j.release()
                n += 1
        return n

    def cancel(self, job: Job) -> None:
        """Running: set its cancel token (it stops at the next check). Queued: drop it."""
        with self._lock:
            state = job.state
            if state is JobState.QUEUED:
                job.cancel_token.cancel()
                job.error = None
                job._set_state(JobState.CANCELLED)
                job.release()
                return
        if state is JobState.RUNNING:
            job.cancel_token.cancel()

    def drop_queued(self) -> int:
        dropped = [j for j in list(self.jobs) if j.state is JobState.QUEUED]
        for j in dropped:
            self.cancel(j)
        return len(dropped)

    def cancel_all(self) -> None:
        for j in list(self.jobs):
            if not j.done:
                self.cancel(j)

    def clear_finished(self) -> None:
        with self._lock:
            gone = [j for j in self.jobs if j.done]
            self.jobs = [j for j in self.jobs if not j.done]
        for j in gone:
            j.release()
            self.events.removed.emit(j)

    def active(self) -> list[Job]:
        return [j for j in self.jobs if not j.done]

    def wait(self, job: Job, timeout: float | None = None) -> bool:
        return job.wait(timeout)

    def shutdown(self, timeout: float | None = 10.0) -> None:
        self.cancel_all()
        self.backend.shutdown(timeout)
        for j in self.jobs:  # never started: the backend dropped them
            if not j.done:
                j._set_state(JobState.CANCELLED)

    # -- worker side --------------------------------------------------------------------------------
    def _execute(self, job: Job) -> None:
        with self._lock:
            if job.state is not JobState.QUEUED:
                return  # dropped while queued
            job.state = JobState.RUNNING
            job.started_at = time.monotonic()
        job.events.state.emit(JobState.RUNNING)
        lock = self._session_lock(job.session) if job.session else None
        if lock is not None:
            lock.acquire()
        gen = None
        try:
            job.ctx.check_cancelled()
            gen = self.backend.execute(job)
            while True:
                try:
                    p = next(gen)
                except StopIteration as stop:
                    job.result = stop.value
                    break
                if isinstance(p, Progress):
                    job._set_progress(p)
                job.ctx.check_cancelled()
            job._set_progress(Progress(1, 1, "done"))
            job._set_state(JobState.FINISHED)
        except Cancelled:
            job._set_state(JobState.CANCELLED)
        except TaskError as exc:
            job.error, job.exception = str(exc), exc
            job._set_state(JobState.FAILED)
        except MemoryError as exc:
            job.error, job.exception = "Out of memory. Try a smaller region or tile size.", exc
            job._set_state(JobState.FAILED)
        except Exception as exc:  # noqa: BLE001 - reported to the user, never lost
            log.error("job %s failed:\n%s", job.title, traceback.format_exc())
            job.error, job.exception = f"{type(exc).__name__}: {exc}", exc
            job._set_state(JobState.FAILED)
        finally:
            if gen is not None:
                try:
                    gen.close()  # the task's own finally blocks run now, on this thread
                except Exception:  # noqa: BLE001
                    pass
            if lock is not None:
                lock.release()
            if job.state is not JobState.FINISHED:
                job.release()  # nothing will ever be applied: free the inputs now

    def _session_lock(self, key: str) -> threading.Lock:
        with self._lock:
            lock = self._session_locks.get(key)
            if lock is None:
                lock = self._session_locks[key] = threading.Lock()
            return lock
