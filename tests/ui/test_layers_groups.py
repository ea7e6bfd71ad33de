"""Layer groups in the window: the Layers panel shows the tree (expand / collapse), rows drag into
and out of groups, Layer > New group / Group layers (Ctrl+G) / Ungroup (Ctrl+Shift+G) / Merge
group, the blend combo lists every mode and "Pass through" for groups. Real widgets (pytest-qt)."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog

from ganstudio.core.compositing import composite
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import BLEND_MODE_MENU, BlendMode, RasterLayer
from ganstudio.ui.layers_model import COL_NAME, COL_VISIBLE


def px(doc, x: int = 5, y: int = 5) -> tuple:  # noqa: ANN001
    return tuple(int(v) for v in composite(doc, Rect(x, y, 1, 1))[0, 0])


def three_layer_doc(make_doc):  # noqa: ANN001, ANN201
    doc = make_doc(32, 24, color=(200, 200, 200, 255))            # "Background"
    doc.add_layer(RasterLayer.blank("grey", 32, 24, fill=(128, 128, 128, 255),
                                    blend_mode=BlendMode.MULTIPLY))
    doc.add_layer(RasterLayer.blank("top", 32, 24, fill=(0, 0, 0, 0)))
    doc.history.clear()
    return doc


def tree(doc) -> list:  # noqa: ANN001
    def enc(n):  # noqa: ANN001, ANN202
        return (n.name, [enc(c) for c in n.children]) if n.is_group else n.name
    return [enc(n) for n in doc.root.children]


def click(view, index, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # noqa: ANN001
    view.scrollTo(index)                      # the dock may be short: bring the row into view
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier,
                     view.visualRect(index).center())


def layer_menu_texts(window) -> list[str]:  # noqa: ANN001
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Layer")
    return [a.text() for a in menu.actions()]


def test_layer_menu_has_group_actions_with_standard_shortcuts(window) -> None:  # noqa: ANN001
    texts = layer_menu_texts(window)
    for t in ("New &group", "&Group layers", "&Ungroup", "Merge gro&up"):
        assert t in texts
    assert window.qactions["layer_group"].shortcut().toString() == "Ctrl+G"
    assert window.qactions["layer_ungroup"].shortcut().toString() == "Ctrl+Shift+G"


def test_group_with_ctrl_g_shows_a_tree_and_ungroup_restores(window, make_doc, qtbot) -> None:  # noqa: ANN001
    doc = three_layer_doc(make_doc)
    window.add_document(doc)
    panel, model, view = window.layers_panel, window.layers_panel.model, window.layers_panel.view
    qtbot.waitExposed(view)
    # select "grey" (row 1) then Ctrl+click "top" (row 0): two rows selected
    click(view, model.index(1, COL_NAME))
    assert doc.active_layer.name == "grey"
    click(view, model.index(0, COL_NAME), Qt.KeyboardModifier.ControlModifier)
    assert {n.name for n in panel.selected_nodes()} == {"grey", "top"}
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert tree(doc) == ["Background", ("Group 1", ["grey", "top"])]
    g = doc.root.children[1]
    assert doc.active_node is g and doc.active_layer is None
    # the view: a group row with two child rows, expanded, selected
    gi = model.index(0, 0)
    assert model.node_at(gi) is g and model.rowCount(gi) == 2 and view.isExpanded(gi)
    assert model.node_at(model.index(0, COL_NAME, gi)).name == "top"
    assert view.currentIndex().internalId() == g.uid
    assert "Pass through" in model.data(model.index(0, COL_NAME), Qt.ItemDataRole.DisplayRole)
    assert window.qactions["layer_ungroup"].isEnabled()
    QTest.keyClick(view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert tree(doc) == ["Background", "grey", "top"] and model.rowCount() == 3
    doc.history.undo()
    assert tree(doc) == ["Background", ("Group 1", ["grey", "top"])]


def test_collapse_survives_changes_and_new_group_from_menu(window, make_doc, qtbot) -> None:  # noqa: ANN001
    doc = three_layer_doc(make_doc)
    window.add_document(doc)
    model, view = window.layers_panel.model, window.layers_panel.view
    doc.active_layer = doc.layers[1]
    window.qactions["layer_new_group"].trigger()
    g = doc.active_node
    assert g.is_group and tree(doc) == ["Background", "grey", ("Group 1", []), "top"]
    window.qactions["layer_new"].trigger()                          # goes into the selected group
    assert tree(doc) == ["Background", "grey", ("Group 1", ["Layer 1"]), "top"]
    gi = model.index_for(g, 0)
    assert view.isExpanded(gi)
    view.collapse(gi)
    doc.add_layer(RasterLayer.blank("later", 32, 24), parent=None)   # a model reset
    assert not view.isExpanded(model.index_for(g, 0))
    doc.active_layer = g.children[0]                              # selecting inside opens it
    assert view.isExpanded(model.index_for(g, 0))


def test_drag_into_and_out_of_a_group_changes_the_composite(window, make_doc) -> None:  # noqa: ANN001
    doc = three_layer_doc(make_doc)
    window.add_document(doc)
    model = window.layers_panel.model
    bg, grey, top = doc.layers
    doc.active_layer = top
    window.qactions["layer_group"].trigger()                      # group "top" alone
    g = doc.active_node
    doc.set_layer_attr(g, "pass_through", False)
    assert px(doc) == (100, 100, 100, 255)                         # grey multiplies 200
    # drag "grey" (view row 1 of the top level) onto the group row: into it, on top
    mime = model.mimeData([model.index_for(grey, COL_NAME)])
    gi = model.index_for(g, COL_NAME)
    assert model.canDropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, gi)
    model.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, gi)
    assert tree(doc) == ["Background", ("Group 1", ["top", "grey"])]
    assert px(doc) == (128, 128, 128, 255)        # isolated: multiply over nothing is itself
    # a group cannot be dropped into itself
    gmime = model.mimeData([model.index_for(g, COL_NAME)])
    assert not model.canDropMimeData(gmime, Qt.DropAction.MoveAction, -1, -1, model.index_for(g, 0))
    # drag it back out, between rows of the top level (below the group = view row 1)
    mime = model.mimeData([model.index_for(grey, COL_NAME)])
    model.dropMimeData(mime, Qt.DropAction.MoveAction, 1, 0, QModelIndex())
    assert tree(doc) == ["Background", "grey", ("Group 1", ["top"])]
    assert px(doc) == (100, 100, 100, 255)
    doc.history.undo()
    doc.history.undo()
    assert tree(doc) == ["Background", "grey", ("Group 1", ["top"])]
    assert model.rowCount(model.index_for(g, 0)) == 1


def test_blend_combo_lists_every_mode_and_pass_through_for_groups(window, make_doc) -> None:  # noqa: ANN001
    doc = three_layer_doc(make_doc)
    window.add_document(doc)
    panel = window.layers_panel
    combo = panel.blend
    doc.active_layer = doc.layers[1]
    assert [combo.itemData(i) for i in range(combo.count())] == [m.value for m in BLEND_MODE_MENU]
    assert combo.count() == 17 and combo.currentData() == "multiply"
    grey = doc.layers[1]
    doc.active_layer = grey
    window.qactions["layer_group"].trigger()
    g = doc.active_node
    assert combo.itemText(0) == "Pass through" and combo.count() == 18
    assert combo.currentText() == "Pass through"
    assert px(doc) == (100, 100, 100, 255)
    steps = len(doc.history)
    combo.setCurrentIndex(combo.findData("normal"))               # isolated, normal
    assert not g.pass_through and g.blend_mode is BlendMode.NORMAL
    assert len(doc.history) == steps + 1
    assert px(doc) == (128, 128, 128, 255)
    combo.setCurrentIndex(combo.findData("luminosity"))
    assert g.blend_mode is BlendMode.LUMINOSITY
    combo.setCurrentIndex(0)
    assert g.pass_through and px(doc) == (100, 100, 100, 255)
    # group opacity from the slider, then back to a layer: the combo has no "Pass through"
    panel.opacity.setValue(50)
    assert g.opacity == 0.5 and px(doc) == (150, 150, 150, 255)
    doc.active_layer = doc.layers[0]
    assert combo.findData("pass-through") == -1 and combo.count() == 17


def test_visibility_click_on_a_group_row_and_merge_group(window, make_doc, qtbot) -> None:  # noqa: ANN001
    doc = three_layer_doc(make_doc)
    window.add_document(doc)
    model, view = window.layers_panel.model, window.layers_panel.view
    qtbot.waitExposed(view)
    doc.active_layer = doc.layers[1]
    window.qactions["layer_group"].trigger()
    g = doc.active_node
    click(view, model.index_for(g, COL_VISIBLE))
    assert not g.visible and px(doc) == (200, 200, 200, 255)
    doc.history.undo()
    assert g.visible
    doc.set_layer_attr(g, "pass_through", False)
    doc.set_layer_attr(g, "blend_mode", BlendMode.MULTIPLY)
    before = px(doc)
    assert window.qactions["layer_merge_group"].isEnabled()
    window.qactions["layer_merge_group"].trigger()
    assert tree(doc) == ["Background", "Group 1", "top"] and not doc.has_groups
    assert doc.active_layer.name == "Group 1" and px(doc) == before
    assert not window.qactions["layer_ungroup"].isEnabled()


def test_raise_lower_step_out_of_groups_and_delete_group(window, make_doc) -> None:  # noqa: ANN001
    doc = three_layer_doc(make_doc)
    window.add_document(doc)
    bg, grey, top = doc.layers
    doc.active_layer = grey
    window.qactions["layer_group"].trigger()
    doc.active_layer = grey
    window.qactions["layer_raise"].trigger()                       # top of its group: out, above it
    assert tree(doc) == ["Background", ("Group 1", []), "grey", "top"]
    window.qactions["layer_lower"].trigger()                       # back below: a sibling again
    assert tree(doc) == ["Background", "grey", ("Group 1", []), "top"]
    doc.move_node(grey, doc.root.children[2], 0)
    doc.active_node = doc.root.children[1]                          # the group
    assert window.qactions["layer_delete"].isEnabled()
    window.qactions["layer_delete"].trigger()
    assert tree(doc) == ["Background", "top"] and grey not in doc.layers
    doc.history.undo()
    assert tree(doc) == ["Background", ("Group 1", ["grey"]), "top"]


def test_group_properties_dialog(window, make_doc, monkeypatch) -> None:  # noqa: ANN001
    from ganstudio.ui.dialogs import layer_properties

    doc = three_layer_doc(make_doc)
    window.add_document(doc)
    doc.active_layer = doc.layers[1]
    window.qactions["layer_group"].trigger()
    g = doc.active_node

    def accept(dlg) -> int:  # noqa: ANN001
        assert dlg.is_group and dlg.pass_through.isChecked() and not dlg.blend.isEnabled()
        dlg.pass_through.setChecked(False)
        dlg.blend.setCurrentIndex(dlg.blend.findData("screen"))
        dlg.name.setText("Shading")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(layer_properties.LayerPropertiesDialog, "exec", accept)
    steps = len(doc.history)
    window.qactions["layer_properties"].trigger()
    assert g.name == "Shading" and not g.pass_through and g.blend_mode is BlendMode.SCREEN
    assert len(doc.history) == steps + 1
    view = window.layers_panel.view
    assert window.layers_panel.model.node_at(view.currentIndex()) is g
    view.selectionModel().select(view.currentIndex(), QItemSelectionModel.SelectionFlag.Select)


def test_merge_down_stays_inside_its_group(window, make_doc) -> None:  # noqa: ANN001
    doc = three_layer_doc(make_doc)
    window.add_document(doc)
    bg, grey, top = doc.layers
    doc.active_layer = grey
    window.qactions["layer_group"].trigger()
    doc.active_layer = grey                                   # bottom of its group
    assert not window.qactions["layer_merge_down"].isEnabled()
    window.qactions["layer_merge_down"].trigger()
    assert len(doc.layers) == 3                               # nothing merged across the group
    doc.active_layer = top                                    # above a group: not into it
    assert not window.qactions["layer_merge_down"].isEnabled()
    doc.move_node(top, grey.parent)                           # now grey's sibling
    doc.active_layer = top
    assert window.qactions["layer_merge_down"].isEnabled()


def test_ctrl_s_and_reopen_keep_the_groups(window, make_doc, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QFileDialog

    doc = three_layer_doc(make_doc)
    window.add_document(doc)
    doc.active_layer = doc.layers[1]
    window.qactions["layer_group"].trigger()
    g = doc.active_node
    window.layers_panel.blend.setCurrentIndex(window.layers_panel.blend.findData("normal"))
    path = tmp_path / "grouped.ora"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    window.qactions["file_save"].trigger()                       # no path yet: Save As
    assert path.exists() and not doc.modified
    window.close_document(ask=False)
    again = window.open_path(path)
    assert tree(again) == ["Background", ("Group 1", ["grey"]), "top"]
    ag = again.root.children[1]
    assert ag.name == g.name and not ag.pass_through and px(again) == (128, 128, 128, 255)
    assert not again.metadata.get("lossy_import")
    model = window.layers_panel.model
    assert model.rowCount(model.index_for(ag, 0)) == 1


def test_merge_down_at_the_top_of_a_group_stays_in_it(window, make_doc) -> None:  # noqa: ANN001
    doc = three_layer_doc(make_doc)
    window.add_document(doc)
    bg, grey, top = doc.layers
    g = doc.group_layers([bg, grey], name="G")                  # ["top" above the group]
    assert tree(doc) == [("G", ["Background", "grey"]), "top"]
    before = px(doc)
    doc.active_layer = grey
    steps = len(doc.history)
    window.qactions["layer_merge_down"].trigger()
    assert tree(doc) == [("G", ["Background"]), "top"] and doc.layers[0].parent is g
    assert len(doc.history) == steps + 1 and px(doc) == before
    doc.history.undo()
    assert tree(doc) == [("G", ["Background", "grey"]), "top"]


def test_canvas_redraws_when_a_group_changes(window, make_doc, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import QPointF

    doc = three_layer_doc(make_doc)
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.set_zoom(4.0)
    canvas.center_on(QPointF(16, 12))

    def shown() -> int:
        canvas.render_all_now()
        img = canvas.viewport().grab().toImage()
        return img.pixelColor(canvas.doc_to_view(QPointF(16.5, 12.5)).toPoint()).red()

    assert shown() == 100                                    # grey multiplies the 200 background
    doc.active_layer = doc.layers[1]
    window.qactions["layer_group"].trigger()
    g = doc.active_node
    assert shown() == 100                                    # pass-through: the same picture
    doc.set_layer_attr(g, "pass_through", False)
    assert shown() == 128                                    # isolated: the tile was re-rendered
    doc.set_layer_attr(g, "visible", False)
    assert shown() == 200
    doc.history.undo()
    doc.history.undo()
    assert shown() == 100


def test_drag_several_selected_rows_into_a_group_at_once(window, make_doc, qtbot) -> None:  # noqa: ANN001
    doc = three_layer_doc(make_doc)
    window.add_document(doc)
    panel, model, view = window.layers_panel, window.layers_panel.model, window.layers_panel.view
    qtbot.waitExposed(view)
    bg, grey, top = doc.layers
    doc.active_node = None
    g = doc.new_group("G", parent=None, position=0)               # at the bottom
    assert tree(doc) == [("G", []), "Background", "grey", "top"]
    click(view, model.index_for(top, COL_NAME))
    click(view, model.index_for(bg, COL_NAME), Qt.KeyboardModifier.ControlModifier)
    rows = [i for i in view.selectionModel().selectedIndexes() if i.column() == COL_NAME]
    mime = model.mimeData(rows)
    steps = len(doc.history)
    model.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, model.index_for(g, COL_NAME))
    assert tree(doc) == [("G", ["Background", "top"]), "grey"]     # order kept, one step
    assert len(doc.history) == steps + 1
    doc.history.undo()
    assert tree(doc) == [("G", []), "Background", "grey", "top"]
    assert {n.name for n in panel.selected_nodes()} <= {"Background", "top", "G"}
    assert [model.node_at(i).name for i in rows] == ["top", "Background"]

def test_painting_with_a_group_selected_changes_nothing(window, make_doc, qtbot) -> None:  # noqa: ANN001
    from PySide6.QtCore import QPoint, QPointF

    doc = three_layer_doc(make_doc)
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    doc.active_layer = doc.layers[1]
    window.qactions["layer_group"].trigger()
    assert doc.active_layer is None
    before = [la.pixels.copy() for la in doc.layers]
    steps = len(doc.history)
    window.tools.select("brush")
    view = canvas.viewport()

    def at(x: float, y: float) -> QPoint:
        p = canvas.doc_to_view(QPointF(x, y))
        return QPoint(int(p.x()), int(p.y()))

    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(8, 8))
    QTest.mouseMove(view, at(20, 14))
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(20, 14))
    assert all((a == b.pixels).all() for a, b in zip(before, doc.layers))
    assert len(doc.history) == steps and window.last_error is None
