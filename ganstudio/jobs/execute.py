"""Run one job where it is: the task is looked up by name in the task registry (or the job's own
``task_fn``), sparse inputs are assembled, sessions are prepared / updated. Shared by the local
backend (worker thread) and the child-process worker (jobs/process_worker.py)."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from ganstudio.tasks.base import Progress, TaskError, TaskInputs, TaskSession

from .runner import assemble

if TYPE_CHECKING:
    from .job import Job


def run_job(job: Job, sessions: dict[str, Any]) -> Generator[Progress, None, Any]:
    inputs = assemble(job.inputs if job.inputs is not None else TaskInputs())
    if job.task_fn is not None:
        return (yield from job.task_fn(inputs, job.request, job.ctx))
    from ganstudio.tasks.registry import get_task

    spec = get_task(job.task)
    if job.kind == "run":
        if spec.run is None:
            raise TaskError(f"task {job.task!r} runs only as a session")
        return (yield from spec.run(inputs, job.request, job.ctx))
    key = job.session or job.task
    if job.kind == "prepare":
        if spec.session is None:
            raise TaskError(f"task {job.task!r} has no session")
        old = sessions.pop(key, None)
        if old is not None:
            old.close()
        session: TaskSession = spec.session()
        sessions[key] = session
        try:
            return (yield from session.prepare(inputs, job.request, job.ctx))
        except BaseException:
            sessions.pop(key, None)  # a half-prepared session is never updated
            session.close()
            raise
    session = sessions.get(key)
    if session is None:
        raise TaskError(f"{spec.title}: the session was closed or never prepared")
    return (yield from session.update(job.request, job.ctx))


__all__ = ["run_job"]
