"""The Style panel through the real window and job queue: menus, thumbnail grid (background job,
cached), choose a style + Apply (one undo step), masked on a selection, preview of the visible
area, before/after, any painting (corrupt file refused), a freshly trained style usable at once,
Translate (pix2pix). Small images: the offline models are real."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea

from ganstudio.core.document import Document
from ganstudio.core.layers import RasterLayer
from ganstudio.jobs.job import JobState
from ganstudio.ui.tasks import style as style_ui


@pytest.fixture
def small_doc(samples_dir) -> Document:  # noqa: ANN001
    rgb = np.asarray(Image.open(samples_dir / "chelsea.png").convert("RGB").resize((96, 64)))
    doc = Document(96, 64, name="cat")
    doc.add_layer(RasterLayer("photo", np.dstack([rgb, np.full((64, 96), 255, np.uint8)])))
    doc.history.clear()
    doc.mark_modified(False)
    return doc


@pytest.fixture(autouse=True)
def _small_thumbs(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(style_ui, "THUMB_RENDER", 40)


def _wait(qtbot, window, job, timeout=120000) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: job.done and job.data.get("handled", True) and not window.pending_jobs(),
                    timeout=timeout)


def test_menus_dock_and_thumbnail_grid(window, qtbot) -> None:  # noqa: ANN001
    texts = [a.text().replace("&", "") for a in window.menu("Filters").actions()]
    assert "Style transfer…" in texts
    assert any(a.text().replace("&", "") == "Style" for a in window.panels_menu.actions())
    ui = window.task_ui("style")
    assert ui is not None and isinstance(ui.dock.widget(), QScrollArea)
    assert not ui.dock.isVisible()                                   # hidden until asked for
    act = next(a for a in window.menu("Filters").actions() if a.text() == "Style transfer…")
    act.trigger()
    assert ui.dock.isVisible()
    p = ui.panel
    keys = set(p.choices)
    assert {"cyclegan.vintagify#0", "stylelite.styles26#0", "stylelite.styles26#25"} <= keys
    assert "cyclegan.style_monet#0" in keys                          # downloadable ones listed too
    monet = p.choices["cyclegan.style_monet#0"]
    assert not monet.usable and monet.licence == "BSD-2-Clause"
    assert "Licence: BSD-2-Clause" in p.item_for("cyclegan.style_monet#0").toolTip()
    assert "stylelite.arbitrary#0" not in keys and "stylelite.arbitrary_predict#0" not in keys
    job = ui.thumb_job
    assert job is not None                                           # rendering in the background
    qtbot.waitUntil(lambda: job.done, timeout=180000)
    assert job.state is JobState.FINISHED, job.error
    for key in ("cyclegan.vintagify#0", "stylelite.styles26#3"):
        path = style_ui.thumb_path(p.choices[key])
        assert path.is_file()
        assert not p.item_for(key).icon().isNull()
    assert not style_ui.thumb_path(monet).exists()
    assert ui.ensure_thumbnails() is None                            # all cached now
    # choosing a downloadable style shows its licence and the download button, Apply is off
    p.select("cyclegan.style_monet#0")
    assert p.download.isVisibleTo(p) and "BSD-2-Clause" in p.chosen.text()


def test_apply_one_undo_step_then_masked_on_selection(window, qtbot, small_doc) -> None:  # noqa: ANN001
    window.add_document(small_doc)
    ui = window.task_ui("style")
    ui.show_panel()
    p = ui.panel
    assert p.select("stylelite.styles26#4")
    p.strength.setValue(80)
    assert p.strength_label.text() == "80 %"
    assert p.apply_btn.isEnabled() and p.apply_btn.text() == "Apply as new layer"
    steps = len(small_doc.history._undo)
    before = small_doc.layers[0].pixels.copy()
    qtbot.mouseClick(p.apply_btn, Qt.MouseButton.LeftButton)
    job = ui.job
    assert job is not None
    _wait(qtbot, window, job)
    assert job.state is JobState.FINISHED, job.error
    assert len(small_doc.layers) == 2
    new = small_doc.layers[-1]
    assert new.provenance["task"] == "style_transfer" and new.provenance["model"] == "stylelite.styles26"
    assert new.provenance["request"]["style_index"] == 4 and new.provenance["strength"] == 0.8
    assert new.pixels.shape == (64, 96, 4) and new.mask is None
    assert np.abs(new.pixels[..., :3].astype(int) - before[..., :3]).mean() > 5
    assert len(small_doc.history._undo) == steps + 1                 # one undo step
    # before / after: the canvas without the style layer, no undo step
    qtbot.mouseClick(p.before, Qt.MouseButton.LeftButton)
    assert window.canvas.compare_mode == "before" and p.before.text() == "Show after"
    qtbot.mouseClick(p.before, Qt.MouseButton.LeftButton)
    assert window.canvas.compare_mode == "off"
    assert len(small_doc.history._undo) == steps + 1
    small_doc.history.undo()
    assert len(small_doc.layers) == 1
    # on a selection: only its box is stylised and the selection is the layer's mask
    sel = np.zeros((64, 96), np.uint8)
    sel[10:40, 30:70] = 255
    sel[10:20, 30:40] = 0
    small_doc.set_selection(sel)
    ui.refresh_buttons()
    assert p.apply_btn.text() == "Apply to the selection"
    p.keep_colors.setChecked(True)
    job = ui.trigger()
    _wait(qtbot, window, job)
    assert job.state is JobState.FINISHED, job.error
    new = small_doc.layers[-1]
    assert new.offset == (30, 10) and new.pixels.shape[:2] == (30, 40)
    assert np.array_equal(new.mask, sel[10:40, 30:70])
    assert new.provenance["keep_colors"] is True and new.provenance.get("stats") == "given"


def test_preview_of_the_visible_area(window, qtbot, small_doc) -> None:  # noqa: ANN001
    window.add_document(small_doc)
    ui = window.task_ui("style")
    ui.show_panel()
    ui.panel.select("cyclegan.vintagify#0")
    steps = len(small_doc.history._undo)
    job = ui.preview()
    assert job is not None and job.request.region
    _wait(qtbot, window, job)
    assert job.state is JobState.FINISHED, job.error
    prev = window.canvas.preview
    assert prev is not None
    rect, qimg = prev
    vis = ui.visible_rect()
    assert (rect.x, rect.y, rect.w, rect.h) == (vis.x, vis.y, vis.w, vis.h)
    assert not qimg.isNull()
    assert len(small_doc.layers) == 1 and len(small_doc.history._undo) == steps   # nothing recorded
    qtbot.mouseClick(ui.panel.clear_btn, Qt.MouseButton.LeftButton)
    assert window.canvas.preview is None


def test_any_painting(window, qtbot, small_doc, tmp_path, samples_dir) -> None:  # noqa: ANN001
    window.add_document(small_doc)
    ui = window.task_ui("style")
    ui.show_panel()
    bad = tmp_path / "painting.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert not ui.set_painting(str(bad))
    title, msg = window.last_error
    assert title == "Any painting" and "cannot read the style image painting.png" in msg
    assert "cannot read the style image" in ui.panel.status.text()
    assert style_ui.PAINTING_KEY not in ui.panel.choices
    assert not ui.set_painting(str(tmp_path / "nope.jpg"))
    assert "does not exist" in window.last_error[1]
    assert ui.set_painting(str(samples_dir / "coffee.png"))
    assert ui.panel.current_key() == style_ui.PAINTING_KEY
    assert ui.panel.painting_name.text() == "coffee.png"
    job = ui.trigger()
    _wait(qtbot, window, job)
    assert job.state is JobState.FINISHED, job.error
    new = small_doc.layers[-1]
    assert new.provenance["model"] == "stylelite.arbitrary" and new.provenance["kind"] == "arbitrary"
    assert new.provenance["style_image"].endswith("coffee.png")


def test_trained_style_is_usable_at_once(window, qtbot, small_doc, tmp_path) -> None:  # noqa: ANN001
    """`ganstudio train style` (2 steps here) -> the style is in the grid and applies at once."""
    from ganstudio.models.store import default_store
    from ganstudio.train.style import StyleConfig, StyleTrainer

    for d, seed in (("a", 0), ("b", 1)):
        (tmp_path / d).mkdir()
        rng = np.random.default_rng(seed)
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / d / f"{i}.png")
    cfg = StyleConfig(photos=str(tmp_path / "a"), style=str(tmp_path / "b"), name="Panel Test UI",
                      out=str(tmp_path / "run"), steps=2, size=64, ngf=4, n_blocks=5, ndf=8, num_patches=16,
                      ckpt_minutes=0, preview_every=0, log_every=0, threads=1, device="cpu", precision="fp32")
    res = StyleTrainer(cfg, log=lambda s: None).fit()
    mid = res["model_id"]
    assert mid == "user.style-panel-test-ui"
    try:
        window.add_document(small_doc)
        ui = window.task_ui("style")
        ui.show_panel()
        assert f"{mid}#0" not in ui.panel.choices          # the panel was built before training
        # the Train style dialog, when its run ends, refreshes the panel's grid
        from ganstudio.ui.tasks import train_style

        dlg = train_style.open_dialog(window)
        dlg._finished(res, "")
        assert "is ready" in dlg.eta.text()
        train_style.close_dialog(window)
        c = ui.panel.choices[f"{mid}#0"]
        assert c.usable and c.group == "yours"
        assert ui.panel.select(f"{mid}#0")
        assert "trained by you" in ui.panel.chosen.text()
        job = ui.trigger()
        _wait(qtbot, window, job)
        assert job.state is JobState.FINISHED, job.error
        assert small_doc.layers[-1].provenance["model"] == mid
        if ui.thumb_job is not None:
            qtbot.waitUntil(lambda: ui.thumb_job.done, timeout=120000)
    finally:
        default_store().remove(mid)


def test_translate_dialog_without_models(window, qtbot, small_doc) -> None:  # noqa: ANN001
    texts = [a.text().replace("&", "") for a in window.menu("Filters/AI").actions()]
    assert "Translate (pix2pix)…" in texts
    dlg = style_ui.TranslateDialog()
    qtbot.addWidget(dlg)
    ids = [dlg.model.itemData(i)["id"] for i in range(dlg.model.count())]
    assert "pix2pix.facades_label2photo" in ids
    assert "Licence" in dlg.licence.text()
    req = dlg.request()
    assert req.task == "translate" and req.mode == "official"
