"""Image > Upscale and Filters/AI > Enhance detail, driven through the real window and job queue."""

from __future__ import annotations

import numpy as np

from ganstudio.core.geometry import Rect
from ganstudio.core.layers import RasterLayer
from ganstudio.jobs.job import JobState
from ganstudio.models.testing import save_safetensors, srvgg_state_dict
from ganstudio.tasks.super_resolution import UpscaleRequest
from ganstudio.ui.tasks import upscale


def _identity_model(tmp_path) -> str:  # noqa: ANN001
    path = tmp_path / "identity_x4.safetensors"
    save_safetensors(srvgg_state_dict(identity=True, upscale=4), path)
    return str(path)


def test_menu_entries_exist(window) -> None:  # noqa: ANN001
    image_items = [a.text().replace("&", "") for a in window.menu("Image").actions()]
    ai_items = [a.text().replace("&", "") for a in window.menu("Filters/AI").actions()]
    assert any(t.startswith("Upscale") for t in image_items)
    assert any(t.startswith("Enhance detail") for t in ai_items)
    assert any(t.startswith("Model manager") for t in ai_items)


def test_upscale_grows_document_resamples_layers_and_is_one_undo_step(window, qtbot, photo_doc,
                                                                       tmp_path) -> None:  # noqa: ANN001
    top = RasterLayer.blank("sticker", 64, 32, fill=(255, 0, 0, 255), offset=(10, 20))
    photo_doc.add_layer(top)
    photo_doc.history.clear()
    window.add_document(photo_doc)
    before = [la.pixels.copy() for la in photo_doc.layers]
    job = upscale.start_upscale(window, UpscaleRequest(model_id=_identity_model(tmp_path), scale=2))
    assert job is not None
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=60000)
    assert job.state is JobState.FINISHED, job.error
    assert photo_doc.size == (1024, 1024)
    assert len(photo_doc.layers) == 3
    ai = photo_doc.layers[-1]
    assert ai.provenance.get("task") == "super_resolution"
    assert ai.pixels.shape == (1024, 1024, 4)
    # the sticker layer was resampled with the canvas (size and position doubled)
    sticker = photo_doc.layers[1]
    assert (sticker.width, sticker.height, sticker.offset) == (128, 64, (20, 40))
    # the identity model makes the AI layer a faithful x2 of the photo (colours not shifted)
    src = np.asarray(photo_doc.layers[0].pixels[..., :3], np.float32)
    assert np.abs(ai.pixels[..., :3].astype(np.float32) - src).mean() < 8.0
    assert len(photo_doc.history) == 1
    photo_doc.history.undo()
    assert photo_doc.size == (512, 512)
    assert len(photo_doc.layers) == 2
    for layer, px in zip(photo_doc.layers, before):
        assert np.array_equal(layer.pixels, px)


def test_enhance_detail_on_a_selection_keeps_size_and_adds_a_layer(window, qtbot, photo_doc,
                                                                    tmp_path) -> None:  # noqa: ANN001
    window.add_document(photo_doc)
    sel = np.zeros((512, 512), np.uint8)
    sel[100:200, 150:300] = 255
    photo_doc.set_selection(sel)
    assert upscale.enhance_region(photo_doc) == Rect(150, 100, 150, 100)
    steps = len(photo_doc.history)
    job = upscale.start_enhance(window, UpscaleRequest(model_id=_identity_model(tmp_path), mode="enhance"))
    assert job is not None
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=60000)
    assert job.state is JobState.FINISHED, job.error
    assert photo_doc.size == (512, 512)
    ai = photo_doc.layers[-1]
    assert (ai.width, ai.height, ai.offset) == (150, 100, (150, 100))
    assert len(photo_doc.history) == steps + 1
