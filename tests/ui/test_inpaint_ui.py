"""Filters/AI > Remove: paint the AI mask, one click, a new layer from the built-in model."""

from __future__ import annotations

import numpy as np

from ganstudio.jobs.job import JobState


def _paint_object(doc) -> np.ndarray:  # noqa: ANN001
    mask = np.zeros((doc.height, doc.width), np.uint8)
    mask[200:260, 220:300] = 255
    doc.set_ai_mask(mask)
    return mask


def test_mask_brush_brings_up_the_remove_panel(window) -> None:  # noqa: ANN001
    dock = window.docks["inpaint"]
    assert not dock.isVisible()
    window.tools.select("mask")
    assert dock.isVisible()
    assert window.task_ui("inpaint").panel.button.text() == "Remove"


def test_remove_with_the_builtin_model_is_one_undo_step(window, qtbot, photo_doc) -> None:  # noqa: ANN001
    window.add_document(photo_doc)
    mask = _paint_object(photo_doc)
    before = photo_doc.layers[0].pixels.copy()
    steps = len(photo_doc.history)
    panel = window.task_ui("inpaint").panel
    assert panel.request().model_id == "builtin.inpaint-compact"
    jobs_before = set(window.job_queue.jobs) if hasattr(window.job_queue, "jobs") else set()
    panel.button.click()
    qtbot.waitUntil(lambda: len(photo_doc.layers) == 2 and not window.pending_jobs(), timeout=60000)
    job = [j for j in window.job_queue.jobs if j not in jobs_before][-1]
    assert job.state is JobState.FINISHED, job.error
    layer = photo_doc.layers[-1]
    assert layer.provenance["model"] == "builtin.inpaint-compact"
    assert photo_doc.ai_mask is None or not photo_doc.ai_mask.any()   # cleared after success
    assert np.array_equal(photo_doc.layers[0].pixels, before)          # source layer untouched
    # the new layer covers the hole and nothing far from it
    x, y = layer.offset
    assert x <= 220 and y <= 200 and x + layer.width >= 300 and y + layer.height >= 260
    from ganstudio.core.compositing import composite

    out = composite(photo_doc)
    far = np.ones_like(mask, bool)
    far[180:280, 200:320] = False
    assert np.array_equal(out[far][:, :3], before[far][:, :3])
    hole = out[200:260, 220:300, :3].astype(np.float32)
    assert hole.std() > 1.0  # filled with content, not a flat colour or a black hole
    assert len(photo_doc.history) == steps + 1
    photo_doc.history.undo()
    assert len(photo_doc.layers) == 1 and photo_doc.ai_mask is not None and photo_doc.ai_mask.any()


def test_remove_without_a_mask_explains_what_to_do(window, photo_doc, monkeypatch) -> None:  # noqa: ANN001
    window.add_document(photo_doc)
    shown = []
    monkeypatch.setattr(window, "show_error", lambda title, msg: shown.append((title, msg)))
    window.task_ui("inpaint").panel.button.click()
    assert shown and "mask brush" in shown[0][1]
    assert len(photo_doc.layers) == 1
