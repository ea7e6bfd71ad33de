"""The defects of issue #16, each driven through the real window and widgets."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtWidgets import QApplication

from ganstudio import paths
from ganstudio.core.document import Document
from ganstudio.core.layers import RasterLayer
from ganstudio.core.operations import crop, resample_image, resize_canvas
from ganstudio.core.selection import mask_bounds


def _settle(qtbot, n: int = 4) -> None:  # noqa: ANN001
    for _ in range(n):
        QApplication.processEvents()
        qtbot.wait(5)


def _image(canvas) -> np.ndarray:  # noqa: ANN001
    canvas.render_all_now()
    img = canvas.viewport().grab().toImage()
    img = img.convertToFormat(img.Format.Format_RGBA8888)
    a = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)
    return a[:, :img.width(), :3].astype(int)


def _checker_pixels(rgb: np.ndarray) -> int:
    light = np.abs(rgb - [207, 207, 207]).max(-1) < 6
    dark = np.abs(rgb - [154, 154, 154]).max(-1) < 6
    return int((light | dark).sum())


def _opaque_doc(w: int, h: int, rgb=(30, 120, 60)) -> Document:  # noqa: ANN001
    px = np.zeros((h, w, 4), np.uint8)
    px[..., :3] = rgb
    px[..., 3] = 255
    doc = Document(w, h, name="photo.jpg")
    doc.add_layer(RasterLayer("photo", px))
    doc.history.clear()
    doc.mark_modified(False)
    return doc


# -- canvas -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("zoom", [0.39, 1 / 3])
def test_no_dashed_line_along_the_edge_of_an_opaque_photo(window, qtbot, zoom) -> None:  # noqa: ANN001
    doc = _opaque_doc(2560, 1600)
    window.add_document(doc)
    _settle(qtbot)
    canvas = window.canvas
    canvas.set_zoom(zoom)
    assert doc.selection is None
    rgb = _image(canvas)
    # an opaque photo: no checkerboard (light / dark grey dashes) anywhere, edges included
    assert _checker_pixels(rgb) == 0


def _fits(canvas, doc) -> bool:  # noqa: ANN001
    r = canvas.doc_rect_to_view(doc.bounds)
    vp = canvas.viewport().rect()
    return vp.contains(r) and (r.width() >= vp.width() - 40 or r.height() >= vp.height() - 40
                               or canvas.zoom == 1.0)


def test_a_fitted_view_is_refitted_after_the_size_changes(window, qtbot) -> None:  # noqa: ANN001
    doc = _opaque_doc(300, 200)
    window.add_document(doc)
    _settle(qtbot)
    canvas = window.canvas
    canvas.fit()
    assert canvas.fit_view == "fit" and _fits(canvas, doc)
    before = canvas.zoom
    resample_image(doc, 4800, 3200)          # what Upscale x4 (twice) / Image size do
    _settle(qtbot)
    assert canvas.fit_view == "fit"
    assert _fits(canvas, doc), (canvas.zoom, canvas.doc_rect_to_view(doc.bounds))
    assert canvas.zoom == pytest.approx(before / 16, rel=0.03)
    assert float(window.status.zoom.text().rstrip("%")) == pytest.approx(canvas.zoom * 100, abs=0.6)
    doc.history.undo()
    _settle(qtbot)
    assert _fits(canvas, doc) and canvas.zoom == pytest.approx(before, rel=0.02)
    doc.set_selection(np.pad(np.full((100, 150), 255, np.uint8), ((50, 50), (75, 75))))
    crop(doc, mask_bounds(doc.selection))
    _settle(qtbot)
    assert (doc.width, doc.height) == (150, 100) and _fits(canvas, doc)


def test_a_zoomed_view_keeps_its_zoom_and_centre_after_a_resize(window, qtbot) -> None:  # noqa: ANN001
    doc = _opaque_doc(3000, 2000)
    window.add_document(doc)
    _settle(qtbot)
    canvas = window.canvas
    canvas.set_zoom(1.0)
    canvas.center_on(QPointF(2250, 500))     # right, upper part of the image
    assert not canvas.fit_view
    resize_canvas(doc, 6000, 4000, (0.0, 0.0))     # canvas size x2, image at the top-left
    _settle(qtbot)
    assert canvas.zoom == 1.0
    vp = canvas.viewport()
    centre = canvas.view_to_doc(QPoint(vp.width() // 2, vp.height() // 2))
    # the same relative place of the (larger) document is in the middle, not the top-left corner
    assert centre.x() == pytest.approx(4500, abs=12) and centre.y() == pytest.approx(1000, abs=12)


# -- modified marker ------------------------------------------------------------------------------------
def _tab_text(window) -> str:  # noqa: ANN001
    return window.tabs.tabText(window.tabs.currentIndex())


def test_undo_back_to_the_saved_state_removes_the_star(window, qtbot, make_doc) -> None:  # noqa: ANN001
    doc = make_doc()
    window.add_document(doc)
    assert not _tab_text(window).endswith("*")
    window.qactions["layer_new"].trigger()
    window.qactions["layer_new"].trigger()
    assert _tab_text(window).endswith("*") and "*" in window.windowTitle()
    window.qactions["edit_undo"].trigger()
    assert _tab_text(window).endswith("*")
    window.qactions["edit_undo"].trigger()            # back where it was opened
    assert not doc.modified and not _tab_text(window).endswith("*")
    assert "*" not in window.windowTitle()
    window.qactions["edit_redo"].trigger()
    assert doc.modified and _tab_text(window).endswith("*")
    doc.mark_modified(False)                          # saved here (what Save does)
    assert not _tab_text(window).endswith("*")
    window.qactions["edit_undo"].trigger()
    assert doc.modified and _tab_text(window).endswith("*")
    window.qactions["edit_redo"].trigger()
    assert not doc.modified and not _tab_text(window).endswith("*")
    # a new edit after an undo drops the saved state from the redo side for good
    window.qactions["edit_undo"].trigger()
    window.qactions["layer_new_label"].trigger()
    window.qactions["edit_undo"].trigger()
    assert doc.modified                                   # the saved state is gone from history


def test_a_recovered_document_stays_modified_after_undo(make_doc) -> None:  # noqa: ANN001
    doc = make_doc()
    doc.mark_modified(True)        # recovered from an autosave: not saved anywhere
    doc.new_raster_layer("x")
    assert doc.history.undo()
    assert doc.modified


# -- export dialog -------------------------------------------------------------------------------------
def _open_export(window, monkeypatch):  # noqa: ANN001, ANN202
    from ganstudio.ui.dialogs import export_dialog

    seen = {}

    def fake_exec(self):  # noqa: ANN001, ANN202
        seen["dlg"] = self
        seen["path"] = Path(self.path.text())
        return 0

    monkeypatch.setattr(export_dialog.ExportDialog, "exec", fake_exec)
    window.export_dialog()
    return seen


def test_export_never_proposes_the_install_folder(window, qtbot, monkeypatch) -> None:  # noqa: ANN001
    window.open_path(paths.SAMPLE_PHOTO)
    seen = _open_export(window, monkeypatch)
    proposed = seen["path"]
    root = Path(paths.ROOT).resolve()
    assert root not in proposed.resolve().parents, proposed
    assert os.access(proposed.parent, os.W_OK)
    assert proposed.name == "astronaut-edited.png"


@pytest.mark.skipif(os.name == "nt", reason="needs POSIX permissions")
def test_export_never_proposes_a_read_only_source_folder(window, qtbot, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    ro = tmp_path / "camera"
    ro.mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(ro / "shot.jpg")
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        window.open_path(ro / "shot.jpg")
        proposed = _open_export(window, monkeypatch)["path"]
        assert proposed.parent.resolve() != ro.resolve()
        assert os.access(proposed.parent, os.W_OK)
    finally:
        ro.chmod(stat.S_IRWXU)


def test_export_proposes_the_last_export_folder(window, qtbot, tmp_path, monkeypatch, make_doc) -> None:  # noqa: ANN001
    from ganstudio.ui.dialogs.export_dialog import ExportDialog

    window.add_document(make_doc())
    out = tmp_path / "exports"
    out.mkdir()
    dlg = ExportDialog(out / "first.png", window)
    dlg.path.setText(str(out / "first.png"))
    dlg.accept()                                       # remembers the folder
    doc = make_doc()
    doc.name = "second.png"
    window.add_document(doc)
    proposed = _open_export(window, monkeypatch)["path"]
    assert proposed.parent == out and proposed.name == "second.png"


def test_quality_is_disabled_and_looks_it_for_lossless_formats(window, qtbot, tmp_path) -> None:  # noqa: ANN001
    from ganstudio.ui.dialogs.export_dialog import ExportDialog
    from ganstudio.ui.theme import apply_dark_theme

    app = QApplication.instance()
    old_sheet, old_palette, old_style = app.styleSheet(), app.palette(), app.style().name()
    apply_dark_theme(app)                      # the look users see (its QSS colours sliders)
    try:
        dlg = ExportDialog(tmp_path / "x.jpg", window)
        dlg.show()
        qtbot.waitExposed(dlg)

        def active_colours(rgb: np.ndarray) -> tuple[int, int]:
            """(blue groove pixels, light handle pixels) of the theme's active slider."""
            blue = (np.abs(rgb - [0x4f, 0x7b, 0xd9]).max(-1) < 12).sum()
            handle = (np.abs(rgb - [0xc9, 0xcc, 0xd3]).max(-1) < 12).sum()
            return int(blue), int(handle)

        def handle_grab() -> np.ndarray:
            _settle(qtbot)
            img = dlg.quality.grab().toImage()
            img = img.convertToFormat(img.Format.Format_RGBA8888)
            a = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)
            return a[:, :img.width(), :3].astype(int)

        fmt = {dlg.format.itemData(i)[0]: i for i in range(dlg.format.count())}
        dlg.format.setCurrentIndex(fmt["JPEG"])
        assert dlg.quality.isEnabled() and dlg.quality_label.text() == "92"
        on = active_colours(handle_grab())
        assert on[0] > 10 and on[1] > 10
        for name in ("PNG", "TIFF", "BMP"):
            dlg.format.setCurrentIndex(fmt[name])
            assert not dlg.quality.isEnabled(), name
            assert dlg.quality_label.text() == "lossless"
            off = active_colours(handle_grab())
            assert off == (0, 0), f"{name}: the disabled slider looks active {off}"
        dlg.format.setCurrentIndex(fmt["WEBP"])
        assert dlg.quality.isEnabled()
        dlg.lossless.setChecked(True)
        assert not dlg.quality.isEnabled()
        dlg.close()
    finally:
        app.setStyleSheet(old_sheet)
        app.setPalette(old_palette)
        app.setStyle(old_style)


# -- status bar ------------------------------------------------------------------------------------------
DEVICE = re.compile(r"^(CPU · \d+ threads? · (bf16|fp32)|CUDA · .+ · (fp16|bf16|fp32)|"
                    r"Apple GPU \(MPS\) · (fp16|fp32))$")


def test_the_device_label_has_one_wording_and_never_says_auto(window) -> None:  # noqa: ANN001
    label = window.status.device
    assert DEVICE.match(label.text()), label.text()
    assert "auto" not in label.text().lower()
    for source in ("auto", "cpu", "CPU (2 threads) bf16", "CPU (1 threads) fp32", "cuda",
                   "CUDA: NVIDIA H200 fp16", "mps", "Apple MPS fp16"):
        window.status.set_device(source)
        assert DEVICE.match(label.text()), (source, label.text())
    window.status.set_device("CPU (2 threads) bf16")
    assert label.text() == "CPU · 2 threads · bf16"
    window.status.set_device("cpu")
    assert label.text().startswith("CPU · ") and "(" not in label.text()


# -- messages -----------------------------------------------------------------------------------------------
def test_unsupported_format_message_lists_ora(window, tmp_path) -> None:  # noqa: ANN001
    from ganstudio.core.io.formats import OPEN_FORMATS

    bad = tmp_path / "notes.xyz"
    bad.write_text("not an image")
    assert window.open_path(bad) is None
    title, msg = window.last_error
    for _name, _label, ext in OPEN_FORMATS:
        assert ext in msg, (ext, msg)
    assert ".ora" in msg and "OpenRaster" in msg


def test_truncated_jpeg_gets_a_plain_message(window, tmp_path, astronaut) -> None:  # noqa: ANN001
    import io

    buf = io.BytesIO()
    Image.fromarray(astronaut).save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[: len(data) // 3])
    assert window.open_path(p) is None
    _title, msg = window.last_error
    assert "damaged or incomplete" in msg and "cut.jpg" in msg
    for library_text in ("image file is truncated", "bytes not processed", "OSError", "Error"):
        assert library_text not in msg, msg


# -- removal UI, Filters menu, AI-mask colour ----------------------------------------------------------
def _all_actions(menu):  # noqa: ANN001, ANN202
    for a in menu.actions():
        yield a
        if a.menu() is not None:
            yield from _all_actions(a.menu())


def test_one_removal_ui_and_opencv_clears_the_ai_mask(window, qtbot, photo_doc) -> None:  # noqa: ANN001
    texts = [a.text().replace("&", "") for m in window.menus.values() for a in _all_actions(m)]
    assert not any("OpenCV" in t or t.startswith("Remove object") for t in texts), texts
    assert sum(1 for t in texts if t == "Remove") == 1
    window.add_document(photo_doc)
    mask = np.zeros((512, 512), np.uint8)
    mask[200:240, 220:280] = 255
    photo_doc.set_ai_mask(mask)
    ui = window.task_ui("inpaint")
    ui.show_options()
    panel = ui.panel
    panel.model.setCurrentIndex(panel.model.findData("opencv.telea"))
    assert panel.button.isEnabled()
    panel.button.click()
    qtbot.waitUntil(lambda: len(photo_doc.layers) == 2 and not window.pending_jobs(), timeout=30000)
    assert photo_doc.ai_mask is None or not photo_doc.ai_mask.any()   # no red blob left over
    assert photo_doc.layers[-1].provenance["model"] == "opencv.telea"


def test_filters_menu_keeps_ai_last_for_other_filters(window) -> None:  # noqa: ANN001
    blur = window.menu("Filters/Blur")
    window.menu("Filters/Adjustments")
    titles = [a.menu().title().replace("&", "") for a in window.menus["Filters"].actions()
              if a.menu() is not None]
    assert titles[-1] == "AI" and "Blur" in titles and "Adjustments" in titles
    assert window.menu("Filters/Blur") is blur                      # found again, not duplicated


def test_ai_mask_colour_is_settable_and_saved(window, qtbot, make_doc) -> None:  # noqa: ANN001
    from ganstudio.ui.preferences import MASK_COLOURS, Preferences

    doc = _opaque_doc(200, 150, rgb=(200, 30, 30))   # a red subject
    window.add_document(doc)
    m = np.zeros((150, 200), np.uint8)
    m[40:110, 50:150] = 255
    doc.set_ai_mask(m)
    canvas = window.canvas
    canvas.set_zoom(1.0)
    _settle(qtbot)

    def masked_colour() -> np.ndarray:
        rgb = _image(canvas)
        r = canvas.doc_rect_to_view(doc.bounds)
        return rgb[r.y() + 75, r.x() + 100]

    red = masked_colour()
    act = next(a for a in _all_actions(window.menus["View"]) if a.objectName() == "ai_mask_colour_cyan")
    act.trigger()
    _settle(qtbot)
    cyan = masked_colour()
    assert cyan[2] > red[2] + 60 and cyan[0] < red[0] - 60     # visibly not red any more
    assert Preferences.load().ai_mask_color == MASK_COLOURS["Cyan"]
    assert canvas.mask_tint == (0, 200, 230)
    # quick toggle from the Inpaint panel: next colour, and the swatch follows
    panel = window.task_ui("inpaint").panel
    panel.colour.click()
    assert window.preferences.ai_mask_color == MASK_COLOURS["Green"]
    assert panel.colour.text() == "Green"
    # Preferences dialog has the setting
    from ganstudio.ui.dialogs.preferences_dialog import PreferencesDialog

    dlg = PreferencesDialog(window.preferences, window)
    dlg.mask_colour.setCurrentIndex(dlg.mask_colour.findData(MASK_COLOURS["Magenta"]))
    window.apply_preferences(dlg.values())
    assert canvas.mask_tint == (230, 40, 230)
    assert panel.colour.text() == "Magenta"
    dlg.deleteLater()
