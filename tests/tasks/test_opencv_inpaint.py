"""Remove object (OpenCV): only masked pixels change, alpha kept, progress per region, cancel."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.tasks import opencv_inpaint
from ganstudio.tasks.base import Cancelled, Progress, TaskContext, TaskError, TaskInputs, drive
from ganstudio.tasks.opencv_inpaint import OpenCVInpaintRequest


def _mask(h: int, w: int, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    for x, y, bw, bh in boxes:
        m[y:y + bh, x:x + bw] = 255
    return m


@pytest.mark.parametrize("method", ["telea", "ns"])
def test_only_masked_pixels_change_and_object_is_removed(astronaut: np.ndarray, method: str) -> None:
    img = np.dstack([astronaut, np.full(astronaut.shape[:2], 200, np.uint8)])  # alpha 200
    # a dark "object" painted on the wall, then removed
    img[60:90, 40:70, :3] = 0
    m = _mask(512, 512, [(38, 58, 34, 34)])
    progress: list[Progress] = []
    res = drive(opencv_inpaint.run(TaskInputs(img, m), OpenCVInpaintRequest(method=method, radius=5),
                                   TaskContext()), progress.append)
    out = res.image
    assert out.shape == img.shape and out.dtype == img.dtype
    assert np.array_equal(out[m == 0], img[m == 0])           # outside the mask: untouched
    assert np.array_equal(out[..., 3], img[..., 3])           # alpha kept
    assert out[60:90, 40:70, :3].mean() > 100                 # the black square is gone
    assert progress[-1].step == progress[-1].total == 1
    assert res.info["model"] == f"opencv.{method}"


def test_regions_progress_and_cancel_between_regions(astronaut: np.ndarray) -> None:
    boxes = [(20 + 90 * i, 30 + 80 * j, 12, 12) for i in range(5) for j in range(5)]
    m = _mask(512, 512, boxes)
    ctx = TaskContext()
    gen = opencv_inpaint.run(TaskInputs(astronaut, m), OpenCVInpaintRequest(), ctx)
    first = next(gen)
    assert first.total == 25 and first.step == 0
    second = next(gen)
    assert second.step == 1
    ctx.cancel.cancel()
    with pytest.raises(Cancelled):
        next(gen)


def test_overlapping_crops_are_merged() -> None:
    m = _mask(100, 100, [(10, 10, 5, 5), (22, 10, 5, 5)])
    assert len(opencv_inpaint._regions(m, 8)) == 1
    assert len(opencv_inpaint._regions(m, 2)) == 2


def test_inputs_are_not_modified_and_16bit_works() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 65535, (64, 64, 3), dtype=np.uint16)
    m = _mask(64, 64, [(20, 20, 10, 10)])
    before = img.copy()
    res = drive(opencv_inpaint.run(TaskInputs(img, m), OpenCVInpaintRequest(dilate=1), TaskContext()))
    assert np.array_equal(img, before)
    assert res.image.dtype == np.uint16
    grown = np.zeros_like(m)
    grown[19:31, 19:31] = 255
    assert np.array_equal(res.image[grown == 0], img[grown == 0])


def test_errors_are_task_errors() -> None:
    img = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(TaskError, match="mask"):
        drive(opencv_inpaint.run(TaskInputs(img, None), OpenCVInpaintRequest(), TaskContext()))
    with pytest.raises(TaskError, match="mask"):
        drive(opencv_inpaint.run(TaskInputs(img, np.zeros((10, 10), np.uint8)),
                                 OpenCVInpaintRequest(), TaskContext()))
    with pytest.raises(TaskError, match="method"):
        drive(opencv_inpaint.run(TaskInputs(img, np.full((10, 10), 255, np.uint8)),
                                 OpenCVInpaintRequest(method="x"), TaskContext()))


def test_request_round_trip() -> None:
    r = OpenCVInpaintRequest(method="ns", radius=7)
    d = r.to_dict()
    assert d["task"] == "opencv_inpaint"
    assert OpenCVInpaintRequest.from_dict(d) == r
