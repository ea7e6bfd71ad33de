"""The Face panel through the real window and job queue (tiny random-weight e4e / SAM)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tasks"))

from ganstudio.jobs.job import JobState  # noqa: E402
from ganstudio.tasks.face_edit import DEFAULT_AGE_MODEL, DEFAULT_MODEL  # noqa: E402


@pytest.fixture
def tiny(monkeypatch):
    pytest.importorskip("torch")
    from facestubs import install_tiny_models

    from ganstudio.tasks import face_edit
    from ganstudio.ui.tasks import face as face_ui

    install_tiny_models()
    monkeypatch.setattr(face_ui, "model_status", lambda store=None: {
        "installed": {DEFAULT_MODEL: True, DEFAULT_AGE_MODEL: True}, "missing": [], "size": 0,
        "text": "tiny test models"})
    yield
    face_edit.set_model_factory(None)


def _wait(qtbot, window, job, timeout=60000):
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=timeout)
    assert job.state is JobState.FINISHED, job.error


def _panel(window):
    ui = window.task_ui("face")
    assert ui is not None
    return ui, ui.panel


def test_panel_sliders_preview_apply_undo_and_reopen(window, qtbot, photo_doc, tiny):
    window.add_document(photo_doc)
    ui, panel = _panel(window)
    texts = [a.text().replace("&", "") for a in window.menu("Filters/AI").actions()]
    assert "Faces…" in texts
    ui.refresh_models()
    ui.trigger()                                        # shows the dock and finds the faces
    assert ui.dock.isVisible()
    _wait(qtbot, window, ui.prepare_job or window.job_queue.jobs[-1])
    assert panel.faces.count() == 1 and not panel.faces.item(0).icon().isNull()
    assert "Apparent age" in panel.apparent.text() and "–" not in panel.apparent.text()
    n_layers = len(photo_doc.layers)
    # live preview: throttled, nothing lands in the document, no undo step
    panel.sliders["smile"].slider.setValue(15)
    panel.sliders["smile"].slider.setValue(20)
    qtbot.waitUntil(lambda: ui.last_preview is not None and not window.pending_jobs(), timeout=60000)
    rect, rgba = ui.last_preview
    assert rgba.shape == (rect.h, rect.w, 4) and rgba[..., 3].max() > 0
    assert len(photo_doc.layers) == n_layers and not photo_doc.history.can_undo()
    assert window.canvas.preview is not None
    # Apply: one undo step, one masked layer with provenance
    job = ui.apply()
    _wait(qtbot, window, job)
    assert len(photo_doc.layers) == n_layers + 1
    layer = photo_doc.layers[-1]
    prov = layer.provenance
    assert prov["task"] == "face_edit" and prov["edits"] == {"smile": 2.0}
    assert prov["model"] == DEFAULT_MODEL and prov["latent_file"] and prov["face"]["quad"]
    assert layer.mask is not None and layer.mask.max() == 255 and layer.mask.min() == 0
    assert window.canvas.preview is None
    photo_doc.history.undo()
    assert len(photo_doc.layers) == n_layers
    photo_doc.history.redo()
    layer = photo_doc.layers[-1]
    # while the session is warm: selecting the layer brings its sliders back
    ui.reset()
    photo_doc.active_layer = photo_doc.layers[0]
    photo_doc.active_layer = layer
    assert panel.sliders["smile"].value() == 20
    # later (a new session, e.g. after re-opening the file): the layer's provenance re-opens it
    ui._close_session()
    ui.reset()
    photo_doc.active_layer = photo_doc.layers[0]
    photo_doc.active_layer = layer
    assert panel.sliders["smile"].value() == 20
    _wait(qtbot, window, ui.prepare_job or window.job_queue.jobs[-1])
    assert ui.edit_layer is layer
    panel.sliders["smile"].slider.setValue(-10)
    job = ui.apply()
    _wait(qtbot, window, job)
    assert len(photo_doc.layers) == n_layers + 1        # replaced, not stacked
    assert photo_doc.layers[-1].provenance["edits"] == {"smile": -1.0}
    photo_doc.history.undo()
    assert photo_doc.layers[-1].provenance["edits"] == {"smile": 2.0}


def test_age_strip_lands_as_layers(window, qtbot, photo_doc, tiny):
    window.add_document(photo_doc)
    ui, panel = _panel(window)
    ui.refresh_models()
    ui.trigger()
    _wait(qtbot, window, ui.prepare_job or window.job_queue.jobs[-1])
    panel.strip_ages.setText("20,60")
    n = len(photo_doc.layers)
    job = ui.apply(strip=True)
    _wait(qtbot, window, job)
    added = photo_doc.layers[n:]
    assert [la.provenance["age"] for la in added] == [20.0, 60.0]
    assert added[0].visible and not added[1].visible
    photo_doc.history.undo()
    assert len(photo_doc.layers) == n


def test_without_models_the_panel_says_what_is_needed_and_still_finds_faces(window, qtbot, photo_doc,
                                                                           monkeypatch):
    from ganstudio.tasks import face_edit

    face_edit.set_model_factory(None)
    window.add_document(photo_doc)
    ui, panel = _panel(window)
    st = ui.refresh_models()
    assert st["missing"]
    assert "need the face models" in panel.models_label.text()
    assert not panel.download.isHidden() and "GB" in panel.download.text()
    ui.trigger()
    _wait(qtbot, window, ui.prepare_job or window.job_queue.jobs[-1])
    assert panel.faces.count() == 1                     # detection + alignment work offline
    assert "install the face models" in panel.status.text()
    assert ui.preview() is None
    n = len(photo_doc.layers)
    ui.apply()
    assert len(photo_doc.layers) == n
    assert "not installed" in (window.last_error or ("", ""))[1] if isinstance(window.last_error, tuple) \
        else "not installed" in str(window.last_error)


def test_no_face_message(window, qtbot, make_doc, tiny):
    doc = make_doc(300, 200, (120, 130, 140, 255))
    window.add_document(doc)
    ui, panel = _panel(window)
    ui.trigger()
    job = ui.prepare_job
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=60000)
    assert job.state is JobState.FAILED
    assert "No face" in panel.status.text()
    assert len(doc.layers) == 1
