"""Sessions (prepare once, update many) and latest-wins coalescing of a session's queued updates."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pytest

from ganstudio.jobs import Job, JobQueue, JobState
from ganstudio.tasks.base import Progress, Request, Result, TaskInputs, TaskSession
from ganstudio.tasks.registry import TaskSpec, get_task, register_task, unregister_task


@dataclass(frozen=True)
class SliderRequest(Request):
    task = "test_slider"
    value: float = 0.0


GATE = threading.Event()
LOG: list[tuple[str, float]] = []


class SliderSession(TaskSession):
    def prepare(self, inputs, request, ctx):  # noqa: ANN001, ANN201
        self.base = inputs.image.astype(np.float32)       # the "aligned crop / latent" kept here
        LOG.append(("prepare", request.value))
        yield Progress(1, 1, "prepared")
        return None

    def update(self, request, ctx):  # noqa: ANN001, ANN201
        LOG.append(("update", request.value))
        if request.value == 1.0:
            GATE.wait(10)                                  # hold the worker: later moves queue up
        yield Progress(0, 1, "decoding", preview=np.zeros((2, 2, 3), np.uint8), preview_rect=(0, 0, 2, 2))
        out = np.clip(self.base + request.value, 0, 255).astype(np.uint8)
        return Result(out, name=f"v={request.value}", artefacts={"latent": np.full(4, request.value)})

    def close(self) -> None:
        LOG.append(("close", 0.0))
        super().close()


@pytest.fixture
def slider_task():  # noqa: ANN201
    spec = register_task(TaskSpec(name="test_slider", title="Slider", request_type=SliderRequest,
                                  session=SliderSession))
    LOG.clear()
    GATE.clear()
    yield spec
    unregister_task("test_slider")


def test_session_prepares_once_and_coalesces_updates(slider_task) -> None:  # noqa: ANN001
    assert get_task("test_slider") is slider_task
    q = JobQueue()
    try:
        img = np.full((4, 4, 3), 100, np.uint8)
        prep = q.submit(Job("prep", inputs=TaskInputs(img), request=SliderRequest(0), kind="prepare",
                            session="doc1/faces"))
        first = q.submit(Job("v1", request=SliderRequest(1.0), kind="update", session="doc1/faces"))
        while first.state is not JobState.RUNNING:
            threading.Event().wait(0.005)
        # the user keeps dragging: each move replaces the queued one
        moves = [q.submit(Job(f"v{v}", request=SliderRequest(v), kind="update", session="doc1/faces"))
                 for v in (2.0, 3.0, 4.0, 5.0)]
        other = q.submit(Job("other", request=SliderRequest(9.0), kind="update", session="doc2/faces"))
        assert [m.state for m in moves[:-1]] == [JobState.CANCELLED] * 3
        assert [m.superseded_by for m in moves[:-1]] == [moves[1].id, moves[2].id, moves[3].id]
        assert moves[-1].state is JobState.QUEUED
        assert other.state is JobState.QUEUED             # another session is not coalesced
        GATE.set()
        assert moves[-1].wait(10) and other.wait(10)
        assert prep.state is first.state is moves[-1].state is JobState.FINISHED
        assert other.state is JobState.FAILED and "never prepared" in other.error
        assert int(moves[-1].result.image[0, 0, 0]) == 105
        assert moves[-1].result.artefacts["latent"].tolist() == [5.0] * 4
        assert [e for e in LOG if e[0] != "close"] == [("prepare", 0), ("update", 1.0), ("update", 5.0)]
        assert all(m.inputs is None for m in moves[:-1])  # superseded jobs hold no arrays
        q.close_session("doc1/faces")
        deadline = threading.Event()
        for _ in range(200):
            if ("close", 0.0) in LOG:
                break
            deadline.wait(0.01)
        assert ("close", 0.0) in LOG
        after = q.submit(Job("late", request=SliderRequest(1.5), kind="update", session="doc1/faces"))
        assert after.wait(10) and after.state is JobState.FAILED
    finally:
        GATE.set()
        q.shutdown(timeout=5)


def test_finished_jobs_free_their_arrays_when_released_or_cleared() -> None:
    from ganstudio.tasks.opencv_inpaint import OpenCVInpaintRequest

    q = JobQueue()
    try:
        img = np.zeros((64, 64, 4), np.uint8)
        m = np.zeros((64, 64), np.uint8)
        m[10:20, 10:20] = 255
        jobs = [q.submit(Job("r", inputs=TaskInputs(img.copy(), m.copy()), request=OpenCVInpaintRequest()))
                for _ in range(3)]
        assert all(j.wait(10) for j in jobs)
        assert all(j.nbytes > 0 for j in jobs)
        assert q.release_finished() == 3
        assert all(j.nbytes == 0 and j.inputs is None and j.result is None for j in jobs)
        q.clear_finished()
        assert q.jobs == []
    finally:
        q.shutdown(timeout=5)
