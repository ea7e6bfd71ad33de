"""#16: AI results previewed on the canvas before they are committed (Filters > AI > Preview results
before applying): Apply adds the layer in one undo step, Discard leaves the document as it was,
Variation runs the same request with the next seed; the Jobs panel's buttons drive it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import RasterLayer
from ganstudio.jobs import JobState
from ganstudio.jobs.runner import gather_inputs
from ganstudio.tasks.base import Progress, Request, Result
from ganstudio.tasks.registry import TaskSpec, register_task, unregister_task
from ganstudio.ui.tasks.base import TaskUI

REGION = Rect(10, 20, 48, 32)


@dataclass(frozen=True)
class SeedRequest(Request):
    task = "test_seeded"
    seed: int = 0


def seeded_run(inputs, request, ctx):  # noqa: ANN001, ANN201
    yield Progress(1, 1, "made")
    value = 10 * (request.seed + 1)
    return Result(np.full((REGION.h, REGION.w, 3), value, np.uint8), name=f"Seeded {request.seed}",
                  info={"model": "test", "seed": request.seed})


class SeededUI(TaskUI):
    id = task = "test_seeded"
    title = "Seeded"
    menu = None

    def configure(self, doc):  # noqa: ANN001, ANN201
        return SeedRequest()

    def gather(self, window, request):  # noqa: ANN001, ANN201
        inputs, rect = gather_inputs(window.document, source="composite", region=REGION)
        return inputs, request, window.placement(rect)


@pytest.fixture
def seeded(window):  # noqa: ANN001, ANN201
    register_task(TaskSpec(name="test_seeded", title="Seeded", request_type=SeedRequest, run=seeded_run))
    ui = SeededUI()
    ui.install(window)
    window.task_uis[ui.id] = ui
    yield ui
    window.task_uis.pop(ui.id, None)
    unregister_task("test_seeded")


def _doc() -> Document:
    doc = Document(120, 90, name="p")
    doc.add_layer(RasterLayer("bg", np.full((90, 120, 4), 200, np.uint8)))
    doc.history.clear()
    doc.mark_modified(False)
    return doc


def _wait_offered(window, qtbot, job) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: bool(job.done and job.data.get("handled")), timeout=20000)
    assert job.state is JobState.FINISHED


def test_preview_then_variation_then_apply_or_discard(window, qtbot, seeded) -> None:  # noqa: ANN001
    act = window.qactions["preview_ai_results"]
    assert act in window.menu("Filters/AI").actions() and act.isCheckable()
    act.setChecked(True)
    assert window.preview_ai_results
    doc = _doc()
    window.add_document(doc)
    canvas = window.canvas
    steps = len(doc.history)

    job = seeded.submit(SeedRequest(seed=3))
    _wait_offered(window, qtbot, job)
    # shown, not committed
    assert len(doc.layers) == 1 and len(doc.history) == steps and not doc.modified
    assert canvas.preview is not None and canvas.preview[0] == REGION
    assert canvas.preview[1].pixelColor(5, 5).red() == 40             # seed 3 -> value 40
    row = window.jobs_panel.rows[job.id]
    assert row.decide.isVisibleTo(row) and row.vary_btn.isVisibleTo(row)
    assert "preview" in row.bar.format()
    assert job.id in window.awaiting and not window.pending_jobs()

    # Variation: this one is discarded, the same request runs with seed 4
    row.vary_btn.click()
    assert job.data["decision"] == "discarded" and not row.decide.isVisibleTo(row)
    assert job.nbytes == 0                                             # its arrays are freed
    nxt = max(window.job_queue.jobs, key=lambda j: j.id)
    assert nxt is not job and nxt.request.seed == 4
    _wait_offered(window, qtbot, nxt)
    assert canvas.preview is not None and canvas.preview[1].pixelColor(5, 5).red() == 50
    assert len(doc.layers) == 1

    # Apply: one new layer with the previewed pixels, one undo step
    row2 = window.jobs_panel.rows[nxt.id]
    row2.apply_btn.click()
    assert canvas.preview is None
    assert len(doc.layers) == 2 and len(doc.history) == steps + 1
    layer = doc.active_layer
    assert layer.offset == (REGION.x, REGION.y) and tuple(layer.pixels[0, 0]) == (50, 50, 50, 255)
    assert layer.provenance["seed"] == 4
    assert row2.bar.format() == "applied" and nxt.nbytes == 0
    doc.history.undo()
    assert len(doc.layers) == 1

    # Discard: nothing lands
    third = seeded.submit(SeedRequest(seed=0))
    _wait_offered(window, qtbot, third)
    window.jobs_panel.rows[third.id].discard_btn.click()
    assert canvas.preview is None and len(doc.layers) == 1 and third.nbytes == 0
    assert window.jobs_panel.rows[third.id].bar.format() == "discarded"


def test_without_the_preview_option_results_land_at_once(window, qtbot, seeded) -> None:  # noqa: ANN001
    window.set_preview_ai_results(False)
    assert not window.qactions["preview_ai_results"].isChecked()
    doc = _doc()
    window.add_document(doc)
    job = seeded.submit(SeedRequest(seed=1))
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=20000)
    assert len(doc.layers) == 2 and tuple(doc.active_layer.pixels[0, 0]) == (20, 20, 20, 255)
    assert not window.awaiting and window.canvas.preview is None


def test_a_preview_whose_image_was_cropped_meanwhile_moves_or_is_refused(window, qtbot, seeded) -> None:  # noqa: ANN001
    """Apply checks the placement again: a crop made while the preview waited moves the result."""
    from ganstudio.core import operations as ops

    window.set_preview_ai_results(True)
    doc = _doc()
    window.add_document(doc)
    job = seeded.submit(SeedRequest(seed=0))
    _wait_offered(window, qtbot, job)
    ops.crop(doc, Rect(5, 5, 100, 80))
    assert window.apply_preview(job)
    assert doc.active_layer.offset == (REGION.x - 5, REGION.y - 5)
