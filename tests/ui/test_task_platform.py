"""The task platform in the window: task UIs from the registry, jobs as data, results placed
after a placement check (re-targeted after a crop, refused when they no longer fit), previews on
the canvas, several result layers, and memory freed once results are applied."""

from __future__ import annotations

import gc
import threading
import tracemalloc
from dataclasses import dataclass

import numpy as np
import pytest

from ganstudio.core import operations as ops
from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import RasterLayer
from ganstudio.jobs import Job, JobState
from ganstudio.jobs.runner import gather_inputs
from ganstudio.models.testing import save_safetensors, srvgg_state_dict
from ganstudio.tasks.base import Progress, Request, Result, ResultLayer
from ganstudio.tasks.inpaint import InpaintRequest
from ganstudio.tasks.registry import TaskSpec, register_task, unregister_task
from ganstudio.tasks.super_resolution import UpscaleRequest
from ganstudio.ui.tasks import inpaint as inpaint_ui
from ganstudio.ui.tasks import upscale
from ganstudio.ui.tasks.base import TaskUI
from ganstudio.ui.window_api import WindowAPI

TELEA = InpaintRequest(model_id="opencv.telea", dilate=0, feather=0)


def _hold_first_progress(window):  # noqa: ANN001, ANN202
    """The next job pauses (worker thread) at its first progress until released."""
    reached, release = threading.Event(), threading.Event()

    def hold(p: Progress) -> None:
        if not reached.is_set():
            reached.set()
            release.wait(20)

    conn = []

    def added(job: Job) -> None:
        job.events.progress.connect(hold)
        window.job_bridge.added.disconnect(added)

    window.job_bridge.added.connect(added)
    conn.append(added)
    return reached, release


def _blob_doc(photo_doc: Document) -> Document:
    m = np.zeros((512, 512), np.uint8)
    m[300:330, 320:360] = 255
    photo_doc.set_ai_mask(m)
    photo_doc.history.clear()
    return photo_doc


def test_task_uis_come_from_the_registry_and_use_the_window_api(window) -> None:  # noqa: ANN001
    assert isinstance(window, WindowAPI)
    assert {"upscale", "enhance_detail", "inpaint", "model_manager"} <= set(window.task_uis)
    assert window.task_ui("inpaint").task == "inpaint"
    assert window.task_ui("upscale").retarget == "refuse"
    private = [k for k in vars(window) if k.startswith(("_inpaint", "_upscale", "_model_manager"))]
    assert private == []


def test_inpaint_result_is_retargeted_after_a_crop_while_it_runs(window, qtbot, photo_doc, astronaut) -> None:  # noqa: ANN001
    # control: the same job on an untouched copy
    control = Document(512, 512, name="control")
    control.add_layer(RasterLayer("photo", photo_doc.layers[0].pixels.copy()))
    window.add_document(_blob_doc(control))
    job = inpaint_ui.start(window, TELEA)
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=20000)
    want = control.layers[-1]
    window.add_document(_blob_doc(photo_doc))
    reached, release = _hold_first_progress(window)
    job = inpaint_ui.start(window, TELEA)
    assert reached.wait(20)
    ops.crop(photo_doc, Rect(100, 50, 400, 400))                # the user crops meanwhile
    release.set()
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=20000)
    assert job.state is JobState.FINISHED
    got = photo_doc.layers[-1]
    assert got.provenance["model"] == "opencv.telea"
    assert got.offset == (want.offset[0] - 100, want.offset[1] - 50)   # moved with the pixels
    assert np.array_equal(got.pixels, want.pixels)
    assert "cropped" in window.status.currentMessage()
    assert job.inputs is None and job.result is None              # freed once applied


def test_upscale_is_refused_after_a_crop_and_applied_after_crop_undo(window, qtbot, astronaut,
                                                                     tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "identity_x2.safetensors"
    save_safetensors(srvgg_state_dict(identity=True, upscale=2), path)
    photo_doc = Document(160, 120, name="small")
    photo_doc.add_layer(RasterLayer("photo", np.dstack([astronaut[:120, :160],
                                                        np.full((120, 160), 255, np.uint8)])))
    window.add_document(photo_doc)
    reached, release = _hold_first_progress(window)
    job = upscale.start_upscale(window, UpscaleRequest(model_id=str(path), scale=2))
    assert reached.wait(20)
    ops.crop(photo_doc, Rect(0, 0, 100, 80))                    # at the origin: same coordinates
    release.set()
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=60000)
    assert job.state is JobState.FINISHED
    assert photo_doc.size == (100, 80) and len(photo_doc.layers) == 1       # nothing misplaced
    assert window.last_error and "cropped" in window.last_error[1]
    assert job.result is None and job.data.get("refused")
    row = window.jobs_panel.rows[job.id]
    assert row.bar.format() == "not applied" and "cropped" in row.error.text()
    # crop then undo while it runs: the document is back in the frame the job was taken from
    photo_doc.history.undo()
    reached, release = _hold_first_progress(window)
    job = upscale.start_upscale(window, UpscaleRequest(model_id=str(path), scale=2))
    assert reached.wait(20)
    ops.crop(photo_doc, Rect(10, 10, 100, 80))
    photo_doc.history.undo()
    release.set()
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=60000)
    assert photo_doc.size == (320, 240) and len(photo_doc.layers) == 2


@dataclass(frozen=True)
class FacesRequest(Request):
    task = "test_faces"
    faces: int = 2


GATE = threading.Event()


def faces_run(inputs, request, ctx):  # noqa: ANN001, ANN201
    h, w = inputs.image.shape[:2]
    yield Progress(0, 2, "detecting", preview=np.full((8, 8, 3), 200, np.uint8), preview_rect=(4, 4, 16, 16))
    GATE.wait(20)
    layers = [ResultLayer(np.full((10, 12, 4), 50 * (i + 1), np.uint8), (10 * i, 5, 12, 10),
                          f"face {i + 1}", np.full((10, 12), 255, np.uint8), {"face": i})
              for i in range(request.faces)]
    yield Progress(1, 2, "decoding")
    return Result(None, name="Faces", info={"model": "test"}, layers=layers,
                  artefacts={"latents": np.zeros((request.faces, 18, 512), np.float32)})


class FacesUI(TaskUI):
    id = "test_faces"
    task = "test_faces"
    title = "Faces"
    menu = None

    def configure(self, doc):  # noqa: ANN001, ANN201
        return FacesRequest()

    def gather(self, window, request):  # noqa: ANN001, ANN201
        inputs, rect = gather_inputs(window.document, region=Rect(100, 100, 64, 64))
        return inputs, request, window.placement(rect)


@pytest.fixture
def faces_ui(window):  # noqa: ANN001, ANN201
    register_task(TaskSpec(name="test_faces", title="Faces", request_type=FacesRequest, run=faces_run))
    ui = FacesUI()
    window.task_uis[ui.id] = ui
    ui.install(window)
    GATE.clear()
    yield ui
    GATE.set()
    unregister_task("test_faces")


def test_previews_on_the_canvas_and_several_result_layers(window, qtbot, photo_doc, faces_ui) -> None:  # noqa: ANN001
    window.add_document(photo_doc)
    job = faces_ui.submit()
    qtbot.waitUntil(lambda: window.canvas.preview is not None, timeout=10000)
    rect, qimg = window.canvas.preview
    assert rect == Rect(104, 104, 16, 16) and (qimg.width(), qimg.height()) == (8, 8)
    window.canvas.render_all_now()
    window.canvas.repaint()                                     # paints with the overlay
    GATE.set()
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=10000)
    assert window.canvas.preview is None
    faces = photo_doc.layers[1:]
    assert [la.name for la in faces] == ["face 1", "face 2"]
    assert [la.offset for la in faces] == [(100, 105), (110, 105)]
    assert all(la.mask is not None for la in faces) and faces[1].provenance["face"] == 1
    assert len(photo_doc.history) == 1                          # both layers: one undo step
    photo_doc.history.undo()
    assert len(photo_doc.layers) == 1


@pytest.mark.slow
def test_memory_after_ten_finished_upscales_returns_to_baseline(window, qtbot, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "identity_x2.safetensors"
    save_safetensors(srvgg_state_dict(identity=True, upscale=2), path)
    req = UpscaleRequest(model_id=str(path), scale=2)

    def one(doc: Document) -> Job:
        job = upscale.start_upscale(window, req)
        qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=60000)
        assert job.state is JobState.FINISHED and doc.size == (512, 512)
        window.close_document(ask=False)                        # the document (and its undo) goes
        return job

    def fresh() -> Document:
        doc = Document(256, 256, name="m")
        doc.add_layer(RasterLayer("px", np.random.default_rng(0).integers(0, 255, (256, 256, 4), np.uint8)))
        window.add_document(doc)
        return doc

    one(fresh())                                                # warm-up: model, caches, widgets
    gc.collect()
    tracemalloc.start()
    try:
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        jobs = [one(fresh()) for _ in range(10)]
        qtbot.wait(50)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # one job held input (256 KB) + result (768 KB): ten kept would be ~10 MB
    assert after - base < 1_500_000, (base, after)
    assert all(j.nbytes == 0 for j in jobs) and len(window.job_queue.jobs) >= 11   # still listed
