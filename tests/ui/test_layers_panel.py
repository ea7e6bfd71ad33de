"""Layers panel: reorder / opacity / visibility / blend / rename / lock change the document
(and so the composite), each undoable."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ganstudio.core.compositing import composite
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import RasterLayer
from ganstudio.ui.layers_model import COL_LOCK, COL_NAME, COL_VISIBLE


def px(doc, x: int = 5, y: int = 5) -> tuple:  # noqa: ANN001
    return tuple(int(v) for v in composite(doc, Rect(x, y, 1, 1))[0, 0])


def two_layer_doc(make_doc):  # noqa: ANN001, ANN201
    doc = make_doc(64, 48, color=(255, 0, 0, 255))
    doc.add_layer(RasterLayer.blank("blue", 64, 48, fill=(0, 0, 255, 255)))
    doc.history.clear()
    return doc


def click(view, index) -> None:  # noqa: ANN001
    rect = view.visualRect(index)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     rect.center())


def test_rows_are_top_first_with_thumbnails(window, make_doc) -> None:  # noqa: ANN001
    doc = two_layer_doc(make_doc)
    window.add_document(doc)
    model = window.layers_panel.model
    assert model.rowCount() == 2
    assert model.layer_at(0).name == "blue" and model.layer_at(1).name == "Background"
    thumb = model.data(model.index(0, COL_NAME), Qt.ItemDataRole.DecorationRole)
    assert not thumb.isNull()
    assert window.layers_panel.view.currentIndex().row() == 0   # the active layer is selected


def test_reorder_by_drag_and_drop_changes_composite(window, make_doc) -> None:  # noqa: ANN001
    doc = two_layer_doc(make_doc)
    window.add_document(doc)
    assert px(doc) == (0, 0, 255, 255)
    model = window.layers_panel.model
    mime = model.mimeData([model.index(1, COL_NAME)])          # drag the bottom (red) row ...
    model.dropMimeData(mime, Qt.DropAction.MoveAction, 0, 0, model.index(-1, -1))  # ... to the top
    assert [la.name for la in doc.layers] == ["blue", "Background"]
    assert px(doc) == (255, 0, 0, 255)
    assert model.layer_at(0).name == "Background"
    doc.history.undo()
    assert px(doc) == (0, 0, 255, 255)
    window.qactions["layer_lower"].trigger()                      # menu equivalent
    assert doc.layers[0].name == "blue"


def test_visibility_and_lock_toggles_by_click(window, make_doc, qtbot) -> None:  # noqa: ANN001
    doc = two_layer_doc(make_doc)
    window.add_document(doc)
    view = window.layers_panel.view
    model = window.layers_panel.model
    qtbot.waitExposed(view)
    click(view, model.index(0, COL_VISIBLE))
    assert not doc.layers[1].visible and px(doc) == (255, 0, 0, 255)
    click(view, model.index(0, COL_VISIBLE))
    assert doc.layers[1].visible and px(doc) == (0, 0, 255, 255)
    click(view, model.index(0, COL_LOCK))
    assert doc.layers[1].locked
    assert not window.qactions["edit_clear"].isEnabled()
    doc.history.undo()
    assert not doc.layers[1].locked


def test_opacity_slider_drag_is_one_undo_step(window, make_doc) -> None:  # noqa: ANN001
    doc = two_layer_doc(make_doc)
    window.add_document(doc)
    slider = window.layers_panel.opacity
    slider.setSliderDown(True)
    for v in (90, 70, 50):
        slider.setValue(v)
    slider.setSliderDown(False)
    assert doc.layers[1].opacity == 0.5
    r, g, b, a = px(doc)
    assert 120 <= r <= 135 and 120 <= b <= 135
    assert len(doc.history) == 1
    doc.history.undo()
    assert doc.layers[1].opacity == 1.0 and px(doc) == (0, 0, 255, 255)
    assert slider.value() == 100                         # the panel follows undo


def test_blend_mode_rename_and_mask_toggle(window, make_doc) -> None:  # noqa: ANN001
    doc = two_layer_doc(make_doc)
    window.add_document(doc)
    panel = window.layers_panel
    panel.blend.setCurrentIndex(panel.blend.findData("multiply"))
    assert doc.layers[1].blend_mode.value == "multiply"
    assert px(doc) == (0, 0, 0, 255)                      # red x blue
    model = panel.model
    assert model.setData(model.index(0, COL_NAME), "Sky", Qt.ItemDataRole.EditRole)
    assert doc.layers[1].name == "Sky"
    assert not panel.mask_enabled.isEnabled()
    window.qactions["layer_add_mask"].trigger()
    assert doc.layers[1].mask is not None and panel.mask_enabled.isChecked()
    with doc.edit_pixels(doc.layers[1], target="mask") as m:
        m[:] = 0
    assert px(doc) == (255, 0, 0, 255)                    # masked out
    panel.mask_enabled.setChecked(False)
    assert not doc.layers[1].mask_enabled and px(doc) == (0, 0, 0, 255)


def test_panel_buttons_add_duplicate_delete_merge(window, make_doc, qtbot) -> None:  # noqa: ANN001
    doc = two_layer_doc(make_doc)
    window.add_document(doc)
    window.qactions["layer_new"].trigger()
    assert len(doc.layers) == 3 and doc.active_layer.name.startswith("Layer")
    window.qactions["layer_duplicate"].trigger()
    assert len(doc.layers) == 4 and doc.active_layer.name.endswith("copy")
    window.qactions["layer_delete"].trigger()
    assert len(doc.layers) == 3
    doc.active_layer = doc.layers[1]
    window.qactions["layer_merge_down"].trigger()
    assert len(doc.layers) == 2
    assert px(doc)[3] == 255
    assert window.layers_panel.model.rowCount() == 2
