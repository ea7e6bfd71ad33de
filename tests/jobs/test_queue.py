"""JobQueue: one job at a time, progress, cancel running, drop queued, failures, shutdown."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest

from ganstudio.jobs import JobQueue, JobState, LocalBackend
from ganstudio.tasks.base import Progress, Request, Result, TaskContext, TaskError, TaskInputs


def slow_task(inputs: TaskInputs, request: Request, ctx: TaskContext) -> Generator[Progress, None, Result]:
    gate: threading.Event | None = inputs.extra.get("gate")
    steps = inputs.extra.get("steps", 5)
    for i in range(steps):
        ctx.check_cancelled()
        if gate is not None and i == 1:
            gate.wait(5)
        yield Progress(i + 1, steps, f"step {i + 1}")
    return Result(image=inputs.image, info={"steps": steps})


def failing_task(inputs: TaskInputs, request: Request, ctx: TaskContext):  # noqa: ANN201
    yield Progress(0, 1)
    raise TaskError("the model is missing")


def crashing_task(inputs: TaskInputs, request: Request, ctx: TaskContext):  # noqa: ANN201
    yield Progress(0, 1)
    raise RuntimeError("boom")


@pytest.fixture
def queue() -> Generator[JobQueue, None, None]:
    q = JobQueue()
    yield q
    q.shutdown(timeout=5)
    assert not q.backend.threads()


def test_job_runs_to_result_with_progress(queue: JobQueue) -> None:
    seen: list[Progress] = []
    states: list[JobState] = []
    job = queue.submit("t", slow_task, TaskInputs(extra={"steps": 3}), Request())
    job.events.progress.connect(seen.append)
    job.events.state.connect(states.append)
    assert job.wait(5)
    assert job.state is JobState.FINISHED and job.progress == 1.0
    assert job.result.info == {"steps": 3}
    assert JobState.FINISHED in states


def test_cancel_running_stops_between_steps(queue: JobQueue) -> None:
    gate = threading.Event()
    job = queue.submit("t", slow_task, TaskInputs(extra={"gate": gate, "steps": 100}), Request())
    while job.state is not JobState.RUNNING:
        threading.Event().wait(0.005)
    queue.cancel(job)
    gate.set()
    assert job.wait(5)
    assert job.state is JobState.CANCELLED
    assert job.result is None
    assert job.last_progress is None or job.last_progress.step < 100


def test_one_job_at_a_time_and_drop_queued(queue: JobQueue) -> None:
    gate = threading.Event()
    first = queue.submit("a", slow_task, TaskInputs(extra={"gate": gate}), Request())
    second = queue.submit("b", slow_task, TaskInputs(), Request())
    third = queue.submit("c", slow_task, TaskInputs(), Request())
    while first.state is not JobState.RUNNING:
        threading.Event().wait(0.005)
    assert second.state is JobState.QUEUED and third.state is JobState.QUEUED
    queue.cancel(third)                     # a queued job is dropped
    assert third.state is JobState.CANCELLED
    gate.set()
    assert first.wait(5) and second.wait(5)
    assert first.state is second.state is JobState.FINISHED
    assert third.result is None


def test_drop_queued_leaves_running_job(queue: JobQueue) -> None:
    gate = threading.Event()
    first = queue.submit("a", slow_task, TaskInputs(extra={"gate": gate}), Request())
    others = [queue.submit(str(i), slow_task, TaskInputs(), Request()) for i in range(3)]
    while first.state is not JobState.RUNNING:
        threading.Event().wait(0.005)
    assert queue.drop_queued() == 3
    gate.set()
    assert first.wait(5) and first.state is JobState.FINISHED
    assert all(o.state is JobState.CANCELLED for o in others)


def test_failures_are_reported(queue: JobQueue) -> None:
    a = queue.submit("a", failing_task, TaskInputs(), Request())
    b = queue.submit("b", crashing_task, TaskInputs(), Request())
    assert a.wait(5) and b.wait(5)
    assert a.state is JobState.FAILED and a.error == "the model is missing"
    assert b.state is JobState.FAILED and "RuntimeError: boom" in b.error
    queue.clear_finished()
    assert queue.jobs == []


def test_shutdown_cancels_and_joins() -> None:
    q = JobQueue(LocalBackend(workers=1))
    gate = threading.Event()
    job = q.submit("a", slow_task, TaskInputs(extra={"gate": gate, "steps": 50}), Request())
    queued = q.submit("b", slow_task, TaskInputs(), Request())
    while job.state is not JobState.RUNNING:
        threading.Event().wait(0.005)
    gate.set()
    q.shutdown(timeout=5)
    assert job.state in (JobState.CANCELLED, JobState.FINISHED)
    assert queued.state is JobState.CANCELLED
    assert not q.backend.threads()
    with pytest.raises(RuntimeError):
        q.submit("c", slow_task, TaskInputs(), Request())
