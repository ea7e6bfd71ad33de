"""runner: Document region -> TaskInputs, Result -> a new layer in one undo step with provenance."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import RasterLayer
from ganstudio.jobs.runner import add_result_layer, gather_inputs
from ganstudio.tasks.base import Result
from ganstudio.tasks.opencv_inpaint import OpenCVInpaintRequest


@pytest.fixture
def doc(astronaut: np.ndarray) -> Document:
    d = Document(512, 512)
    px = np.dstack([astronaut, np.full((512, 512), 255, np.uint8)])
    d.add_layer(RasterLayer("photo", px))
    top = RasterLayer.blank("top", 100, 100, fill=(255, 0, 0, 255), offset=(50, 60))
    d.add_layer(top)
    d.history.clear()
    return d


def test_gather_composite_and_active(doc: Document, astronaut: np.ndarray) -> None:
    mask = np.zeros((512, 512), np.uint8)
    mask[70:80, 70:80] = 255
    inputs, rect = gather_inputs(doc, "composite", Rect(40, 40, 100, 100), mask=mask)
    assert rect == Rect(40, 40, 100, 100)
    assert inputs.image.shape == (100, 100, 4)
    assert tuple(inputs.image[30, 30]) == (255, 0, 0, 255)    # the red layer at (70, 70)
    assert tuple(inputs.image[0, 0, :3]) == tuple(astronaut[40, 40])
    assert inputs.mask.shape == (100, 100) and inputs.mask[35, 35] == 255
    active, r2 = gather_inputs(doc, "active", Rect(0, 0, 200, 200))
    assert active.image[0, 0, 3] == 0 and tuple(active.image[100, 100]) == (255, 0, 0, 255)
    whole, r3 = gather_inputs(doc)
    assert r3 == doc.bounds and whole.mask is None
    with pytest.raises(ValueError):
        gather_inputs(doc, "composite", Rect(600, 600, 10, 10))
    with pytest.raises(ValueError):
        gather_inputs(doc, "composite", mask=np.zeros((5, 5), np.uint8))


def test_add_result_layer_is_one_undo_step_with_provenance(doc: Document) -> None:
    img = np.full((20, 30, 3), 7, np.uint8)
    req = OpenCVInpaintRequest(method="ns")
    layer = add_result_layer(doc, Result(img, "Removed", {"model": "opencv.ns", "regions": 1}),
                             Rect(5, 6, 30, 20), req)
    assert layer in doc.layers and layer.offset == (5, 6)
    assert layer.pixels.shape == (20, 30, 4) and layer.pixels[0, 0, 3] == 255
    p = layer.provenance
    assert p["task"] == "opencv_inpaint" and p["model"] == "opencv.ns"
    assert p["request"]["method"] == "ns" and p["regions"] == 1 and p["time"]
    assert len(doc.history) == 1
    doc.history.undo()
    assert layer not in doc.layers and len(doc.layers) == 2


def test_sparse_gather_assembles_on_the_worker_side(doc: Document) -> None:
    from ganstudio.jobs.runner import assemble, gather_sparse, sparse_task
    from ganstudio.tasks.base import TaskContext, drive

    mask = np.zeros((512, 512), np.uint8)
    mask[20:30, 20:30] = 255
    mask[300:310, 400:410] = 255
    boxes = [Rect(10, 10, 30, 30), Rect(390, 290, 30, 30)]
    sparse, rect = gather_sparse(doc, boxes, mask=mask)
    assert rect == Rect(10, 10, 410, 310) and sparse.image is None
    full = assemble(sparse)
    dense, _ = gather_inputs(doc, "composite", rect, mask=mask)
    assert full.image.shape == (310, 410, 4)
    for b in boxes:
        loc = b.translated(-rect.x, -rect.y).slices()
        assert np.array_equal(full.image[loc], dense.image[loc])
        assert np.array_equal(full.mask[loc], dense.mask[loc])
    assert full.image[200, 200, 3] == 0 and full.mask.sum() == dense.mask.sum()

    def task(inputs, request, ctx):  # noqa: ANN001, ANN202
        yield None
        return inputs.image.shape

    assert drive(sparse_task(task)(sparse, None, TaskContext())) == (310, 410, 4)
