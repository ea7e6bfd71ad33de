"""Remove with the OpenCV model (the one OpenCV removal UI: the Inpaint panel) through the job
queue: progress in the Jobs panel, cancel mid-way (document unchanged), result as a new layer in
one undo step; errors shown to the user (also through the legacy window.run_task)."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import Qt

from ganstudio.jobs import JobState
from ganstudio.tasks.base import Progress, TaskError
from ganstudio.tasks.inpaint import InpaintRequest
from ganstudio.tasks.opencv_inpaint import OpenCVInpaintRequest
from ganstudio.ui.tasks import inpaint as inpaint_ui

TELEA = InpaintRequest(model_id="opencv.telea", dilate=0, feather=0)


def paint_blobs(doc, n: int = 1) -> None:  # noqa: ANN001
    m = np.zeros((doc.height, doc.width), np.uint8)
    for i in range(n):
        x, y = 40 + (i % 6) * 75, 40 + (i // 6) * 75
        m[y:y + 20, x:x + 20] = 255
    doc.set_ai_mask(m)


def test_remove_object_job_adds_one_layer_in_one_undo_step(window, qtbot, photo_doc) -> None:  # noqa: ANN001
    window.add_document(photo_doc)
    paint_blobs(photo_doc, 2)
    steps_before = len(photo_doc.history)
    seen: list[Progress] = []
    window.job_bridge.progress_changed.connect(lambda job, p: seen.append(p))
    job = inpaint_ui.start(window, TELEA)
    assert job is not None
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=10000)
    assert job.state is JobState.FINISHED
    assert seen and seen[-1].fraction == 1.0
    row = window.jobs_panel.rows[job.id]
    assert row.bar.value() == 1000 and row.state.text() == "finished"
    assert len(photo_doc.layers) == 2
    layer = photo_doc.active_layer
    assert layer.provenance["task"] == "inpaint" and layer.provenance["model"] == "opencv.telea"
    assert len(photo_doc.history) == steps_before + 1
    # compare before/after is available for the AI layer
    assert window.qactions["compare_split"].isEnabled()
    window.qactions["compare_split"].setChecked(True)
    assert window.canvas.compare_mode == "split"
    window.canvas.render_all_now()
    window.qactions["compare_toggle"].setChecked(True)
    assert window.canvas.compare_mode == "before"
    before = window.canvas._render_region(photo_doc.bounds, "before")
    after = window.canvas._render_region(photo_doc.bounds, "after")
    assert not np.array_equal(before[40:60, 40:60], after[40:60, 40:60])
    window.qactions["compare_toggle"].setChecked(False)
    assert window.canvas.compare_mode == "off"
    photo_doc.history.undo()
    assert len(photo_doc.layers) == 1


def test_cancel_mid_way_from_the_jobs_panel_leaves_document_unchanged(window, qtbot, photo_doc) -> None:  # noqa: ANN001
    window.add_document(photo_doc)
    paint_blobs(photo_doc, 30)
    layers = list(photo_doc.layers)
    pixels = photo_doc.layers[0].pixels.copy()
    steps = len(photo_doc.history)
    release = threading.Event()
    reached = threading.Event()

    def hold(p: Progress) -> None:   # worker thread: pause after the first region
        if p.step == 1:
            reached.set()
            release.wait(10)

    window.job_bridge.added.connect(lambda job: job.events.progress.connect(hold))
    job = inpaint_ui.start(window, TELEA)
    assert reached.wait(10)
    qtbot.waitUntil(lambda: job.id in window.jobs_panel.rows)
    row = window.jobs_panel.rows[job.id]
    assert row.cancel.isEnabled()
    qtbot.mouseClick(row.cancel, Qt.MouseButton.LeftButton)   # the user's cancel
    release.set()
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=10000)
    assert job.state is JobState.CANCELLED
    assert 0 < job.progress < 1                                  # stopped mid-way
    assert photo_doc.layers == layers and np.array_equal(photo_doc.layers[0].pixels, pixels)
    assert len(photo_doc.history) == steps
    assert row.state.text() == "cancelled" and not row.cancel.isEnabled()


def test_errors_are_shown(window, qtbot, photo_doc) -> None:  # noqa: ANN001
    window.add_document(photo_doc)
    assert inpaint_ui.start(window, TELEA) is None   # no mask yet
    assert window.last_error and "mask" in window.last_error[1]

    def broken(inputs, request, ctx):  # noqa: ANN001, ANN202
        yield Progress(0, 1)
        raise TaskError("the model file is damaged")

    from ganstudio.tasks.base import TaskInputs

    job = window.run_task("Broken", broken, TaskInputs(), OpenCVInpaintRequest(),
                          lambda d, r: None)
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=10000)
    assert job.state is JobState.FAILED
    assert window.last_error == ("Broken", "the model file is damaged")
    row = window.jobs_panel.rows[job.id]
    assert row.error.text() == "the model file is damaged" and not row.error.isHidden()
    got = []
    job2 = window.run_task("Broken", broken, TaskInputs(), OpenCVInpaintRequest(),
                           lambda d, r: None, on_error=got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=10000)
    assert got == [job2]
    window.jobs_panel.clear.click()
    assert job.id not in window.jobs_panel.rows


def test_drop_queued_from_panel(window, qtbot, photo_doc) -> None:  # noqa: ANN001
    window.add_document(photo_doc)
    gate = threading.Event()
    from ganstudio.tasks.base import Result, TaskInputs

    def waits(inputs, request, ctx):  # noqa: ANN001, ANN202
        yield Progress(0, 1)
        gate.wait(10)
        return Result(np.zeros((2, 2, 4), np.uint8))

    first = window.run_task("A", waits, TaskInputs(), OpenCVInpaintRequest(), lambda d, r: None)
    second = window.run_task("B", waits, TaskInputs(), OpenCVInpaintRequest(), lambda d, r: None)
    qtbot.waitUntil(lambda: first.state is JobState.RUNNING)
    qtbot.waitUntil(lambda: window.jobs_panel.drop.isEnabled())
    window.jobs_panel.drop.click()
    assert second.state is JobState.CANCELLED
    gate.set()
    qtbot.waitUntil(lambda: first.done and not window.pending_jobs(), timeout=10000)
    assert first.state is JobState.FINISHED


def test_jobs_panel_shows_elapsed_time_and_eta(window, qtbot, photo_doc) -> None:  # noqa: ANN001
    """#16: elapsed time and an estimate of the time left in the Jobs panel (a fake clock)."""
    import re

    from ganstudio.tasks.base import Request, Result, TaskInputs
    from ganstudio.ui.jobs_panel import format_duration

    assert format_duration(7) == "0:07" and format_duration(65) == "1:05"
    assert format_duration(3723) == "1:02:03"
    window.add_document(photo_doc)
    now = [1000.0]
    window.jobs_panel.clock = lambda: now[0]
    gate = threading.Event()

    def slow(inputs, request, ctx):  # noqa: ANN001, ANN202
        yield Progress(1, 4, "quarter")
        while not gate.wait(0.02):
            ctx.check_cancelled()
        yield Progress(4, 4, "all")
        return Result(np.zeros((4, 4, 4), np.uint8))

    job = window.run_task("Slow", slow, TaskInputs(), Request(), lambda d, r: None)
    qtbot.waitUntil(lambda: job.id in window.jobs_panel.rows
                    and window.jobs_panel.rows[job.id].fraction == 0.25, timeout=10000)
    row = window.jobs_panel.rows[job.id]
    assert row.times.isVisibleTo(row) and row.times.text().startswith("0:00 elapsed")
    assert row.eta_s() is None                         # too early to estimate
    now[0] += 30.0
    window.jobs_panel._update_running_times()          # the panel's 1 s timer slot
    m = re.fullmatch(r"(\d+):(\d\d) elapsed · about (\d+):(\d\d) left", row.times.text())
    assert m, row.times.text()
    elapsed = int(m[1]) * 60 + int(m[2])
    left = int(m[3]) * 60 + int(m[4])
    assert 30 <= elapsed <= 31 and 89 <= left <= 93    # a quarter done in 30 s: 90 s to go
    assert window.jobs_panel._tick.isActive()          # elapsed moves on without progress
    gate.set()
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=10000)
    qtbot.waitUntil(lambda: row.times.text().startswith("took "), timeout=5000)
    took = row.times.text()
    now[0] += 100.0
    window.jobs_panel._update_running_times()
    row.update_times()
    assert row.times.text() == took                    # a finished job's time stays put
    assert row.eta_s() is None
