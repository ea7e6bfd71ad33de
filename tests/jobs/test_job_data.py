"""Jobs are data: a Job round-trips through JSON, runs in a child process (spawn) from the
serialised job alone with the same result as in a thread, and cancels / fails there cleanly."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from ganstudio.core.geometry import Rect
from ganstudio.jobs import Job, JobQueue, JobState, Placement
from ganstudio.jobs import serialize
from ganstudio.jobs.job import result_from_dict, result_to_dict
from ganstudio.jobs.process_backend import ProcessBackend
from ganstudio.tasks.base import (Progress, Result, ResultLayer, TaskContext, TaskInputs, drive)
from ganstudio.tasks.inpaint import InpaintRequest
from ganstudio.tasks.opencv_inpaint import OpenCVInpaintRequest
from ganstudio.tasks.opencv_inpaint import run as cv_run
from ganstudio.tasks.super_resolution import UpscaleRequest


def _image(h: int = 48, w: int = 64, c: int = 4, dtype=np.uint8, seed: int = 0) -> np.ndarray:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    img = rng.integers(0, np.iinfo(dtype).max, (h, w, c), dtype=dtype)
    if c == 4:
        img[..., 3] = np.iinfo(dtype).max
    return img


def _mask(h: int = 48, w: int = 64) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[10:20, 20:40] = 255
    m[30:36, 5:12] = 255
    return m


@pytest.fixture(scope="module")
def proc_queue():  # noqa: ANN201 - one child process for the module (spawn costs ~1 s)
    q = JobQueue(ProcessBackend())
    yield q
    q.shutdown(timeout=10)
    assert not q.backend.threads()
    assert q.backend.pid is None


def test_job_round_trips_through_json() -> None:
    img16 = _image(dtype=np.uint16)
    req = InpaintRequest(model_id="opencv.ns", strategy="resize", crop_margin=7, dilate=3, feather=1)
    placement = Placement(doc_id=3, rect=Rect(5, 6, 64, 48), revision=12, frame=4, ui="inpaint",
                          retarget="translate", mask=_mask(), extra={"used_ai_mask": True})
    job = Job("Remove", inputs=TaskInputs(img16, _mask(), None, {"boxes": [(1, 2), (3, 4)]}),
              request=req, placement=placement, ctx=TaskContext(device="cpu", tile_size=96,
                                                                precision="bf16"))
    text = job.to_json()
    json.loads(text)                                  # plain JSON, nothing else
    back = Job.from_json(text)
    assert back.id == job.id and back.task == "inpaint" and back.kind == "run"
    assert back.request == req and type(back.request) is InpaintRequest
    assert back.inputs.image.dtype == np.uint16 and np.array_equal(back.inputs.image, img16)
    assert np.array_equal(back.inputs.mask, job.inputs.mask) and back.inputs.labels is None
    assert back.inputs.extra == {"boxes": [(1, 2), (3, 4)]}
    p = back.placement
    assert (p.doc_id, p.rect, p.revision, p.frame, p.ui, p.extra) == (3, Rect(5, 6, 64, 48), 12, 4,
                                                                     "inpaint", {"used_ai_mask": True})
    assert np.array_equal(p.mask, placement.mask) and p.request == req
    assert (back.ctx.device, back.ctx.tile_size, back.ctx.precision) == ("cpu", 96, "bf16")
    assert back.to_json() == text                     # stable: a second trip changes nothing


def test_results_with_several_layers_and_artefacts_round_trip() -> None:
    lat = np.arange(18 * 512, dtype=np.float32).reshape(18, 512)
    res = Result(image=None, name="Faces", info={"faces": 2},
                 layers=[ResultLayer(_image(8, 8), (1, 2, 8, 8), "face 1", _mask(8, 8), {"i": 0}),
                         ResultLayer(_image(6, 6, 3), (9, 9, 6, 6), "face 2")],
                 masks={"hole": _mask()}, artefacts={"latents": lat, "ids": [1, 2]})
    header, buffers = serialize.pack(result_to_dict(res))
    back = result_from_dict(serialize.unpack(header, [bytes(b) for b in buffers]))
    assert [la.name for la in back.layers] == ["face 1", "face 2"]
    assert back.layers[0].rect == (1, 2, 8, 8) and np.array_equal(back.layers[0].mask, _mask(8, 8))
    assert np.array_equal(back.artefacts["latents"], lat) and back.artefacts["ids"] == [1, 2]
    assert [la.name for la in back.output_layers()] == ["face 1", "face 2"]
    assert len(serialize.loads(serialize.dumps({"a": lat}))["a"]) == 18


def test_serializer_refuses_objects() -> None:
    with pytest.raises(serialize.SerializeError):
        serialize.dumps({"x": object()})
    with pytest.raises(serialize.SerializeError):
        serialize.dumps(np.array([object()]))
    with pytest.raises(serialize.SerializeError):
        serialize.loads('{"__ndarray__": {"dtype": "|O", "shape": [1], "data": ""}}')
    fn_job = Job("fn", lambda i, r, c: iter(()), TaskInputs(), OpenCVInpaintRequest())
    assert not fn_job.serialisable
    with pytest.raises(serialize.SerializeError):
        fn_job.to_json()


def test_process_backend_gives_the_same_opencv_result_as_local(proc_queue: JobQueue) -> None:
    img, m = _image(), _mask()
    req = OpenCVInpaintRequest(method="telea", radius=3)
    local_steps: list[Progress] = []
    local = drive(cv_run(TaskInputs(img.copy(), m.copy()), req, TaskContext()), local_steps.append)
    seen: list[Progress] = []
    job = Job("Remove", inputs=TaskInputs(img, m), request=req)
    job.events.progress.connect(seen.append)
    proc_queue.submit(job)
    assert job.wait(60) and job.state is JobState.FINISHED, job.error
    assert np.array_equal(job.result.image, local.image)
    assert job.result.info == local.info
    assert [(p.step, p.total, p.stage) for p in seen if p.stage != "done"] == \
        [(p.step, p.total, p.stage) for p in local_steps]             # progress streamed back
    assert proc_queue.backend.jobs_run >= 1
    assert proc_queue.backend.pid is not None and proc_queue.backend.pid != threading.get_native_id()


@pytest.mark.slow  # the child imports torch + spandrel (~15 s on 2 busy cores)
def test_process_backend_gives_the_same_sr_result_as_local(proc_queue: JobQueue, tmp_path) -> None:  # noqa: ANN001
    from ganstudio.models.testing import save_safetensors, srvgg_state_dict
    from ganstudio.tasks.super_resolution import run as sr_run

    path = tmp_path / "tiny_x2.safetensors"
    sd = srvgg_state_dict(upscale=2)
    save_safetensors(sd, path)
    img = _image(24, 32, 3)
    req = UpscaleRequest(model_id=str(path), scale=2)
    local = drive(sr_run(TaskInputs(img.copy()), req, TaskContext(device="cpu", threads=1)))
    job = proc_queue.submit(Job("Upscale", inputs=TaskInputs(img), request=req,
                                ctx=TaskContext(device="cpu", threads=1)))
    assert job.wait(120) and job.state is JobState.FINISHED, job.error
    assert job.result.image.shape == local.image.shape == (48, 64, 3)
    assert np.array_equal(job.result.image, local.image)


def test_process_backend_reports_task_errors_and_refuses_closures(proc_queue: JobQueue) -> None:
    job = proc_queue.submit(Job("Remove", inputs=TaskInputs(_image(), np.zeros((48, 64), np.uint8)),
                                request=OpenCVInpaintRequest()))
    assert job.wait(60) and job.state is JobState.FAILED
    assert "mask" in job.error                        # the TaskError text from the child
    fn = proc_queue.submit("fn", lambda i, r, c: iter(()), TaskInputs(), OpenCVInpaintRequest())
    assert fn.wait(10) and fn.state is JobState.FAILED and "cannot run in a worker" in fn.error
    ok = proc_queue.submit(Job("again", inputs=TaskInputs(_image(), _mask()),
                               request=OpenCVInpaintRequest()))
    assert ok.wait(60) and ok.state is JobState.FINISHED     # the child is still fine


def test_process_backend_cancel_stops_the_child_job(proc_queue: JobQueue) -> None:
    # many small regions: the child yields between each, so a cancel lands mid-way
    img = _image(400, 400)
    m = np.zeros((400, 400), np.uint8)
    for y in range(10, 390, 20):
        for x in range(10, 390, 20):
            m[y:y + 4, x:x + 4] = 255
    job = Job("Remove", inputs=TaskInputs(img, m), request=OpenCVInpaintRequest(radius=2, margin=1))
    started = threading.Event()
    job.events.progress.connect(lambda p: started.set() if p.step >= 1 else None)
    proc_queue.submit(job)
    assert started.wait(60)
    proc_queue.cancel(job)
    assert job.wait(60) and job.state is JobState.CANCELLED
    assert job.last_progress is None or job.last_progress.step < job.last_progress.total
    after = proc_queue.submit(Job("after", inputs=TaskInputs(_image(), _mask()),
                                  request=OpenCVInpaintRequest()))
    assert after.wait(60) and after.state is JobState.FINISHED   # the pipe was left clean
