"""The Layers model follows structural changes with row inserts / removes / moves, not a model
reset (a reset re-made every row and the selection: ~25 ms on the GUI thread per apply, #13), and
its rows always match the document's tree: adds, removes, undo / redo, moves into and out of
groups, group / ungroup, a sequence of random edits (checked by Qt's QAbstractItemModelTester).

The canvas's first paint after such a change shares the frame with it: it ends by
``frame_budget_s`` after the invalidation (not ``render_budget_s`` after the paint began), and a
job preview is smooth-scaled once, not in every paint."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
from PySide6.QtCore import QModelIndex
from PySide6.QtTest import QAbstractItemModelTester

from ganstudio.core.layers import RasterLayer
from ganstudio.ui.layers_model import COL_NAME, LayersModel


class Recorder:
    """Counts the structural signals of a model."""

    def __init__(self, model: LayersModel) -> None:
        self.events: list[str] = []
        model.modelReset.connect(lambda: self.events.append("reset"))
        model.rowsInserted.connect(lambda *_: self.events.append("inserted"))
        model.rowsRemoved.connect(lambda *_: self.events.append("removed"))
        model.rowsMoved.connect(lambda *_: self.events.append("moved"))

    def take(self) -> list[str]:
        out, self.events = self.events, []
        return out


def model_tree(model: LayersModel, parent: QModelIndex = QModelIndex()) -> list:
    """The tree as the model shows it (through the Qt API), top first."""
    out = []
    for row in range(model.rowCount(parent)):
        idx = model.index(row, 0, parent)
        assert model.parent(idx) == parent
        node = model.node_at(idx)
        assert node is not None
        if node.is_group:
            out.append((node.name, model_tree(model, idx)))
        else:
            out.append(node.name)
    return out


def doc_tree(doc) -> list:  # noqa: ANN001
    def enc(n):  # noqa: ANN001, ANN202
        return (n.name, [enc(c) for c in reversed(n.children)]) if n.is_group else n.name
    return [enc(n) for n in reversed(doc.root.children)]


def layer(name: str) -> RasterLayer:
    return RasterLayer.blank(name, 16, 12, fill=(10, 20, 30, 255))


@pytest.fixture
def doc(make_doc):  # noqa: ANN001, ANN201
    d = make_doc(16, 12)
    for name in ("a", "b", "c"):
        d.add_layer(layer(name))
    d.history.clear()
    return d


@pytest.fixture
def bound(window, doc, qtbot):  # noqa: ANN001, ANN201
    window.add_document(doc)
    panel = window.layers_panel
    qtbot.waitExposed(panel.view)
    QAbstractItemModelTester(panel.model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    return panel, panel.model, Recorder(panel.model)


def current_node(panel):  # noqa: ANN001, ANN201
    return panel.model.node_at(panel.view.selectionModel().currentIndex())


def test_adding_a_layer_inserts_one_row_and_selects_it(bound, doc) -> None:  # noqa: ANN001
    panel, model, rec = bound
    resets = model.resets
    new = doc.add_layer(layer("new"))
    assert rec.take() == ["inserted"]
    assert model.resets == resets
    assert model_tree(model) == doc_tree(doc) == ["new", "c", "b", "a", "Background"]
    assert current_node(panel) is new
    assert [model.node_at(i) for i in panel.view.selectionModel().selectedRows(COL_NAME)] == [new]


def test_undo_of_an_add_removes_the_row_and_reselects(bound, doc) -> None:  # noqa: ANN001
    panel, model, rec = bound
    c = doc.active_node
    doc.add_layer(layer("new"))
    rec.take()
    doc.history.undo()
    assert rec.take() == ["removed"]
    assert model_tree(model) == doc_tree(doc) == ["c", "b", "a", "Background"]
    assert current_node(panel) is c
    doc.history.redo()
    assert rec.take() == ["inserted"]
    assert current_node(panel).name == "new"


def test_deleting_the_active_layer_removes_its_row(bound, doc) -> None:  # noqa: ANN001
    panel, model, rec = bound
    b = next(la for la in doc.layers if la.name == "b")
    doc.active_node = b
    doc.remove_layer(b)
    assert rec.take() == ["removed"]
    assert model_tree(model) == doc_tree(doc) == ["c", "a", "Background"]
    assert current_node(panel) is doc.active_node


def test_reorder_is_a_row_move(bound, doc) -> None:  # noqa: ANN001
    _panel, model, rec = bound
    a = next(la for la in doc.layers if la.name == "a")
    doc.move_node(a, None, len(doc.root.children) - 1)       # to the top
    assert rec.take() == ["moved"]
    assert model_tree(model) == doc_tree(doc) == ["a", "c", "b", "Background"]


def test_group_ungroup_and_moves_into_groups_keep_rows_expansion_and_selection(bound, doc) -> None:  # noqa: ANN001
    panel, model, rec = bound
    a, b, c = (next(la for la in doc.layers if la.name == n) for n in "abc")
    group = doc.group_layers([a, b], name="G")
    events = rec.take()
    assert "reset" not in events and "inserted" in events and "moved" in events
    assert model_tree(model) == doc_tree(doc) == ["c", ("G", ["b", "a"]), "Background"]
    gidx = model.index_for(group, 0)
    assert panel.view.isExpanded(gidx)                          # a new group comes expanded
    assert current_node(panel) is group
    # a layer dragged into the group (the panel's drop path), then out again
    model._move_nodes([c], group, b)   # noqa: SLF001 - what dropMimeData calls
    assert "reset" not in rec.take()
    assert model_tree(model) == doc_tree(doc) == [("G", ["c", "b", "a"]), "Background"]
    assert panel.view.isExpanded(model.index_for(group, 0))
    doc.history.undo()
    assert "reset" not in rec.take()
    assert model_tree(model) == doc_tree(doc) == ["c", ("G", ["b", "a"]), "Background"]
    # the user collapses the group: a change elsewhere keeps it collapsed
    panel.view.setExpanded(model.index_for(group, 0), False)
    doc.add_layer(layer("new"), parent=None)
    assert rec.take() == ["inserted"]
    assert not panel.view.isExpanded(model.index_for(group, 0))
    # the group moved below the background: still collapsed, still the same rows inside
    doc.move_node(group, None, 0)
    assert rec.take() == ["moved"]
    assert model_tree(model) == doc_tree(doc)
    assert not panel.view.isExpanded(model.index_for(group, 0))
    panel.view.setExpanded(model.index_for(group, 0), True)
    doc.ungroup(group)
    assert "reset" not in rec.take()
    assert model_tree(model) == doc_tree(doc)
    assert model.index_for(group, 0) == QModelIndex()
    doc.history.undo()                                          # the group comes back
    assert "reset" not in rec.take()
    assert model_tree(model) == doc_tree(doc)


def test_thumbnails_of_untouched_layers_are_kept(bound, doc) -> None:  # noqa: ANN001
    _panel, model, _rec = bound
    from PySide6.QtCore import Qt

    a = next(la for la in doc.layers if la.name == "a")
    pm = model.data(model.index_for(a, COL_NAME), Qt.ItemDataRole.DecorationRole)
    doc.add_layer(layer("new"))
    doc.history.undo()
    assert model.data(model.index_for(a, COL_NAME), Qt.ItemDataRole.DecorationRole) is pm


def test_random_edits_keep_the_model_equal_to_the_tree(bound, doc) -> None:  # noqa: ANN001
    panel, model, rec = bound
    rng = random.Random(7)
    for step in range(120):
        nodes = list(doc.walk_layers())
        groups = [n for n in nodes if n.is_group]
        op = rng.choice(["add", "remove", "move", "group", "ungroup", "undo", "undo", "redo",
                         "dup"])
        try:
            if op == "add":
                doc.add_layer(layer(f"n{step}"))
            elif op == "remove" and len(doc.layers) > 2:
                doc.remove_layer(rng.choice([n for n in nodes if n.parent is not None or
                                             n is not doc.layers[0]]))
            elif op == "move" and nodes:
                node = rng.choice(nodes)
                dest = rng.choice([None] + [g for g in groups if g is not node])
                try:
                    doc.move_node(node, dest, 0)
                except ValueError:
                    pass                          # into itself
            elif op == "group" and len(nodes) > 1:
                doc.group_layers(rng.sample([n for n in nodes if not n.is_group] or nodes, 2),
                                 name=f"G{step}")
            elif op == "ungroup" and groups:
                doc.ungroup(rng.choice(groups))
            elif op == "dup" and doc.active_layer is not None:
                doc.duplicate_layer(doc.active_layer)
            elif op == "undo":
                doc.history.undo()
            elif op == "redo":
                doc.history.redo()
        except ValueError:
            continue
        assert model_tree(model) == doc_tree(doc), (step, op)
        if doc.active_node is not None:
            assert current_node(panel) is doc.active_node, (step, op)
    assert "reset" not in rec.take()


# -- the canvas: the first paint after an apply stays within the frame -----------------------------------
class FakeClock:
    """``time`` for the canvas and the tile cache: perf_counter moves only when a band is rendered
    (by its band time) or the test says so, so budgets are checked exactly, on any machine load."""

    def __init__(self) -> None:
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s

    monotonic = staticmethod(time.monotonic)


def slow_canvas(window, make_doc, qtbot, monkeypatch, band_s: float):  # noqa: ANN001, ANN201
    from ganstudio.ui import canvas as canvas_module
    from ganstudio.ui import tile_cache as tile_cache_module

    doc = make_doc(2048, 1536)
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.set_zoom(1.0)
    canvas.render_all_now()
    clock = FakeClock()
    monkeypatch.setattr(canvas_module, "time", clock)
    monkeypatch.setattr(tile_cache_module, "time", clock)
    canvas._dirty_since = 0.0        # noqa: SLF001 - all painted: no change pending
    canvas._cache.band_s = 0.0       # noqa: SLF001 - no estimate yet (the real renders were fast)
    render = canvas._render_region   # noqa: SLF001

    def slow(rect, variant):  # noqa: ANN001, ANN202
        clock.sleep(band_s)
        return render(rect, variant)

    canvas._cache.render = slow      # noqa: SLF001
    return doc, canvas, clock


def test_first_paint_after_a_change_ends_within_the_frame(window, make_doc, qtbot, monkeypatch) -> None:  # noqa: ANN001
    doc, canvas, clock = slow_canvas(window, make_doc, qtbot, monkeypatch, band_s=0.004)
    # the render budget alone would allow 3 bands; 8 ms of the 10 ms frame are gone already
    canvas.frame_budget_s, canvas.render_budget_s = 0.010, 0.012
    cache = canvas._cache            # noqa: SLF001
    doc.events.region.emit(doc.bounds)   # what a new layer does (a big change: deferred) ...
    clock.sleep(0.008)                   # ... and the rest of the apply, in the same turn
    before = cache.renders
    canvas.viewport().repaint()
    # one band only (every paint makes progress); before: bands until 12 ms after the paint
    # began, as the deferred update forgot when the change was made
    assert cache.renders - before == 1, cache.renders - before
    assert canvas.pending
    # the next paints (no new change): the render budget from their own start, bands predicted
    canvas.render_budget_s = 0.030
    before = cache.renders
    t0 = clock.now
    canvas.viewport().repaint()
    bands = cache.renders - before
    assert 1 < bands <= 7, bands
    assert cache.band_s == pytest.approx(0.004)
    assert clock.now - t0 <= 0.030 + 1e-9      # no band was started that would end after it


def test_a_band_that_would_overrun_the_budget_is_not_started(window, make_doc, qtbot, monkeypatch) -> None:  # noqa: ANN001
    doc, canvas, clock = slow_canvas(window, make_doc, qtbot, monkeypatch, band_s=0.006)
    canvas.render_budget_s = 0.010
    cache = canvas._cache            # noqa: SLF001
    cache.band_s = 0.006
    doc.events.region.emit(doc.bounds)
    before = cache.renders
    canvas.viewport().repaint()
    # 6 ms + 6 ms would end at 12 ms > 10 ms: one band (before: a second band was started)
    assert cache.renders - before == 1


def test_job_preview_is_scaled_once_not_per_paint(window, make_doc, qtbot) -> None:  # noqa: ANN001
    from ganstudio.core.geometry import Rect

    doc = make_doc(3000, 2000)
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.fit()
    canvas.render_all_now()
    img = np.zeros((1000, 1500, 4), np.uint8)
    img[..., 0] = 255
    img[..., 3] = 255
    canvas.show_preview(Rect(0, 0, 3000, 2000), img)
    canvas.viewport().repaint()
    first = canvas._preview_scaled    # noqa: SLF001
    assert first is not None
    assert first[2].size() == canvas.doc_rect_to_view(Rect(0, 0, 3000, 2000)).size()
    canvas.viewport().repaint()
    assert canvas._preview_scaled is first   # noqa: SLF001
    grab = canvas.viewport().grab().toImage()
    c = canvas.doc_to_view(__import__("PySide6.QtCore", fromlist=["QPointF"]).QPointF(1500, 1000))
    assert grab.pixelColor(int(c.x()), int(c.y())).red() > 200   # the preview is drawn
    canvas.clear_preview()
    assert canvas._preview_scaled is None    # noqa: SLF001


def test_a_big_change_repaints_on_the_next_turn_a_small_one_at_once(window, make_doc, qtbot) -> None:  # noqa: ANN001
    from ganstudio.core.geometry import Rect

    doc = make_doc(2048, 1536)
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.fit()
    canvas.render_all_now()
    renders = canvas._cache.renders   # noqa: SLF001
    doc.add_layer(RasterLayer.blank("whole", 2048, 1536, fill=(0, 0, 255, 255)))  # all changes
    assert canvas._deferred is not None                # noqa: SLF001 - not in this turn
    qtbot.waitUntil(lambda: canvas._deferred is None and canvas._cache.renders > renders,  # noqa: SLF001
                    timeout=3000)
    canvas.render_all_now()
    doc.events.region.emit(Rect(10, 10, 8, 8))         # a brush dab: at once
    assert canvas._deferred is None                    # noqa: SLF001


def test_asking_whether_a_preview_is_shown_makes_no_image(window, make_doc, qtbot) -> None:  # noqa: ANN001
    from ganstudio.core.geometry import Rect

    doc = make_doc(400, 300)
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.show_preview(Rect(0, 0, 400, 300), np.full((300, 400, 4), 255, np.uint8))
    assert canvas.preview is not None
    assert canvas._preview_qimg is None                 # noqa: SLF001
    rect, qimg = canvas.preview
    assert rect == Rect(0, 0, 400, 300) and qimg.width() == 400
