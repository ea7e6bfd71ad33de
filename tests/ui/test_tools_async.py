"""Fill bucket, gradient and magic wand on large layers: computed on a worker thread (ToolJob in
ui/tools/fill.py) from a copy-on-write snapshot, driven through the real canvas. The result equals
the synchronous core operation, is one undo step, the GUI thread keeps running meanwhile, Esc
cancels, and a result computed on pixels that changed since is never applied."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ganstudio.core import fill as core_fill
from ganstudio.core import gradient as core_gradient
from ganstudio.core.document import Document
from ganstudio.core.layers import RasterLayer
from ganstudio.core.snapshot import live_snapshots

NONE = Qt.KeyboardModifier.NoModifier


def vp(canvas, x: float, y: float) -> QPoint:  # noqa: ANN001
    p = canvas.doc_to_view(QPointF(x, y))
    return QPoint(int(round(p.x())), int(round(p.y())))


def click(canvas, x: float, y: float) -> None:  # noqa: ANN001
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, NONE, vp(canvas, x, y))


def drag(canvas, a, b) -> None:  # noqa: ANN001
    view = canvas.viewport()
    QTest.mousePress(view, Qt.MouseButton.LeftButton, NONE, vp(canvas, *a))
    QTest.mouseMove(view, vp(canvas, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2))
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, NONE, vp(canvas, *b))


def picture(w: int, h: int) -> np.ndarray:
    """A noisy light background with a dark block and a soft-ish ramp: fills get antialiased edges."""
    rng = np.random.default_rng(1)
    px = np.empty((h, w, 4), np.uint8)
    px[..., 0] = 200
    px[..., 1] = np.linspace(150, 230, w, dtype=np.float32)[None, :]
    px[..., 2] = rng.integers(170, 210, (h, w), dtype=np.uint8)
    px[..., 3] = 255
    px[h // 3: 2 * h // 3, w // 3: 2 * w // 3, :3] = 30
    return px


def make(w: int, h: int) -> Document:
    doc = Document(w, h, name="big")
    doc.add_layer(RasterLayer("photo", picture(w, h)))
    doc.history.clear()
    doc.mark_modified(False)
    return doc


def _open(window, qtbot, doc):  # noqa: ANN001, ANN202
    canvas = window.add_document(doc)
    qtbot.waitExposed(canvas)
    canvas.fit()
    canvas.setFocus()
    window.activateWindow()
    return canvas


def _async(window, name: str):  # noqa: ANN001, ANN202
    """Select tool ``name`` and make it use the worker thread whatever the image size."""
    window.tools.select(name)
    tool = window.tools.current
    tool.async_pixels = 0
    return tool


def _wait_done(qtbot, tool) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: tool.job is not None and not tool.job.running, timeout=60000)
    assert tool.job.wait(10)


def _gate(monkeypatch, module, name: str):  # noqa: ANN001, ANN202
    """Make ``module.name`` (a plan_* function) wait for the returned event before computing."""
    started, go = threading.Event(), threading.Event()
    orig = getattr(module, name)

    def gated(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        started.set()
        assert go.wait(30)
        return orig(*a, **kw)

    monkeypatch.setattr(module, name, gated)
    return started, go


def test_async_fill_equals_core_fill_one_undo_step_busy_ui(window, qtbot) -> None:  # noqa: ANN001
    doc = make(400, 300)
    canvas = _open(window, qtbot, doc)
    tool = _async(window, "fill")
    window.tools.settings.color = (220, 20, 60, 255)
    original = doc.active_layer.pixels.copy()
    click(canvas, 20, 20)
    job = tool.job
    assert job is not None and job.running
    # busy while it runs: cursor, progress bar + Cancel in the status bar, a message
    cur = QApplication.overrideCursor()
    assert cur is not None and cur.shape() == Qt.CursorShape.BusyCursor
    assert window.status.findChild(object, "tool_job_progress") is not None
    assert window.status.findChild(object, "tool_job_cancel") is not None
    assert "Esc cancels" in window.status.currentMessage()
    _wait_done(qtbot, tool)
    assert job.state == "applied"
    assert QApplication.overrideCursor() is None
    assert live_snapshots() == 0
    qtbot.waitUntil(lambda: window.status.findChild(object, "tool_job_progress") is None)
    # identical to the synchronous core operation with the same arguments
    ref = make(400, 300)
    x, y, color, kwargs = tool.last_call
    core_fill.bucket_fill(ref, x, y, color, **kwargs)
    after = doc.active_layer.pixels.copy()
    assert not np.array_equal(after, original)
    assert np.array_equal(after, ref.active_layer.pixels)
    assert len(doc.history) == 1 and doc.history.undo_label == "Fill"
    doc.history.undo()
    assert np.array_equal(doc.active_layer.pixels, original)
    doc.history.redo()
    assert np.array_equal(doc.active_layer.pixels, after)


def test_async_gradient_equals_core_gradient_one_undo_step(window, qtbot) -> None:  # noqa: ANN001
    doc = make(400, 300)
    sel = np.zeros((300, 400), np.uint8)
    sel[20:280, 30:390] = 255
    sel[100:140] = 128                                 # a soft part
    doc.set_selection(sel)
    doc.history.clear()
    canvas = _open(window, qtbot, doc)
    tool = _async(window, "gradient")
    window.tools.settings.color = (0, 0, 0, 255)
    tool.set_background((255, 255, 0))
    original = doc.active_layer.pixels.copy()
    drag(canvas, (20, 150), (380, 150))
    assert tool.job is not None and tool.job.running
    _wait_done(qtbot, tool)
    assert tool.job.state == "applied"
    ref = make(400, 300)
    ref.set_selection(sel)
    p0, p1, kwargs = tool.last_call
    core_gradient.draw_gradient(ref, p0, p1, **kwargs)
    after = doc.active_layer.pixels.copy()
    assert np.array_equal(after, ref.active_layer.pixels)
    assert (after[5, 5] == original[5, 5]).all()       # outside the selection: unchanged
    assert len(doc.history) == 1 and doc.history.undo_label == "Gradient"
    doc.history.undo()
    assert np.array_equal(doc.active_layer.pixels, original)


def test_gui_thread_keeps_ticking_during_a_large_fill(window, qtbot, monkeypatch) -> None:  # noqa: ANN001
    doc = make(1600, 1000)                              # 1.6 MP: the default worker path
    canvas = _open(window, qtbot, doc)
    window.tools.select("fill")
    tool = window.tools.current
    assert doc.active_layer.width * doc.active_layer.height >= tool.async_pixels
    ticks = [0]
    ticked = threading.Event()

    def beat() -> None:
        ticks[0] += 1
        if ticks[0] >= 5:
            ticked.set()

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(beat)
    orig = core_fill.plan_fill

    def plan_after_ticks(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        # the worker computes only once the GUI thread has ticked 5 times meanwhile: the test
        # cannot pass if the fill blocked the event loop
        assert ticked.wait(30), "the GUI thread did not run while the fill was computed"
        during[0] = ticks[0]
        return orig(*a, **kw)

    during = [0]
    monkeypatch.setattr(core_fill, "plan_fill", plan_after_ticks)
    timer.start()
    click(canvas, 30, 30)
    assert tool.job is not None and tool.job.running
    _wait_done(qtbot, tool)
    timer.stop()
    assert tool.job.state == "applied"
    assert during[0] >= 5 and ticks[0] > during[0]      # it kept ticking while the job ran
    assert tuple(doc.active_layer.pixels[30, 30]) == tuple(window.tools.settings.color)
    assert len(doc.history) == 1


def test_escape_cancels_and_leaves_the_layer_unchanged(window, qtbot, monkeypatch) -> None:  # noqa: ANN001
    doc = make(300, 200)
    canvas = _open(window, qtbot, doc)
    tool = _async(window, "fill")
    original = doc.active_layer.pixels.copy()
    started, go = _gate(monkeypatch, core_fill, "plan_fill")
    click(canvas, 20, 20)
    assert started.wait(30)
    assert tool.job.running
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert tool.job.state == "cancelled"
    go.set()
    assert tool.job.wait(30)
    qtbot.wait(100)                                    # any late apply would happen here
    assert np.array_equal(doc.active_layer.pixels, original)
    assert len(doc.history) == 0 and not doc.modified
    assert "cancelled" in window.status.currentMessage()
    assert QApplication.overrideCursor() is None and live_snapshots() == 0
    # the gradient: Esc cancels it too; the Cancel button in the status bar as well
    tool = _async(window, "gradient")
    started, go = _gate(monkeypatch, core_gradient, "plan_gradient")
    drag(canvas, (10, 100), (290, 100))
    assert started.wait(30) and tool.job.running
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert tool.job.state == "cancelled"
    go.set()
    assert tool.job.wait(30)
    started.clear()
    go.clear()
    drag(canvas, (10, 100), (290, 100))
    assert started.wait(30) and tool.job.running
    window.status.findChild(object, "tool_job_cancel").click()
    assert tool.job.state == "cancelled"
    go.set()
    assert tool.job.wait(30)
    qtbot.wait(100)
    assert np.array_equal(doc.active_layer.pixels, original) and len(doc.history) == 0


def test_stale_result_is_not_applied(window, qtbot, monkeypatch) -> None:  # noqa: ANN001
    doc = make(300, 200)
    canvas = _open(window, qtbot, doc)
    tool = _async(window, "fill")
    layer = doc.active_layer
    started, go = _gate(monkeypatch, core_fill, "plan_fill")
    click(canvas, 20, 20)
    assert started.wait(30) and tool.job.running
    # another edit while the fill is computed (over the area the fill would cover)
    with doc.edit_pixels(layer, None, "Paint") as px:
        px[10:30, 10:30] = (0, 0, 255, 255)
    edited = layer.pixels.copy()
    go.set()
    _wait_done(qtbot, tool)
    assert tool.job.state == "stale"
    assert np.array_equal(layer.pixels, edited)        # the fill never landed on changed pixels
    assert doc.history.undo_labels == ["Paint"]
    assert "changed" in window.status.currentMessage()
    # and an undo while it runs makes it stale as well
    started.clear()
    go.clear()
    click(canvas, 200, 20)
    assert started.wait(30) and tool.job.running
    doc.history.undo()
    go.set()
    _wait_done(qtbot, tool)
    assert tool.job.state == "stale"
    assert doc.history.undo_labels == [] and doc.history.redo_labels == ["Paint"]
    # a second click while a fill runs is refused (one job at a time), then works
    monkeypatch.undo()                                 # plan_fill without the gate
    click(canvas, 200, 20)
    _wait_done(qtbot, tool)
    assert tool.job.state == "applied" and doc.history.undo_label == "Fill"


def test_async_magic_wand_equals_sync_selection(window, qtbot) -> None:  # noqa: ANN001
    from ganstudio.core import selection as sel
    from ganstudio.core.selection_color import color_mask

    doc = make(400, 300)
    canvas = _open(window, qtbot, doc)
    tool = _async(window, "wand")
    window.tools.settings.feather = 2.0
    click(canvas, 20, 20)
    assert tool.job is not None and tool.job.running
    _wait_done(qtbot, tool)
    assert tool.job.state == "applied"
    ref = make(400, 300)
    pos = canvas.view_to_doc(QPointF(vp(canvas, 20, 20)))       # where the click landed
    expected = sel.feather(color_mask(ref, pos.x(), pos.y()), 2.0)
    assert doc.selection is not None and np.array_equal(doc.selection, expected)
    assert len(doc.history) == 1 and doc.history.undo_label == "Magic wand"


def test_closing_the_document_while_it_runs_stops_the_job(window, qtbot, monkeypatch) -> None:  # noqa: ANN001
    doc = make(300, 200)
    canvas = _open(window, qtbot, doc)
    tool = _async(window, "gradient")
    started, go = _gate(monkeypatch, core_gradient, "plan_gradient")
    drag(canvas, (10, 100), (290, 100))
    assert started.wait(30) and tool.job.running
    job = tool.job
    assert window.close_document(ask=False)
    qtbot.waitUntil(lambda: not job.running, timeout=10000)
    assert job.state == "closed"
    go.set()
    assert job.wait(30)
    assert QApplication.overrideCursor() is None and live_snapshots() == 0
    assert len(doc.history) == 0
    assert window.status.findChild(object, "tool_job_progress") is None


def test_async_fill_label_layer_layer_mask_and_sample_merged(window, qtbot) -> None:  # noqa: ANN001
    from ganstudio.core.layers import LabelClass, LabelLayer

    def build() -> Document:
        d = make(300, 200)
        labels = np.zeros((200, 300), np.uint8)
        labels[:, 150:] = 2
        d.add_layer(LabelLayer("labels", labels, [LabelClass(1, "sky", (0, 0, 255)),
                                                   LabelClass(2, "tree", (0, 200, 0))]))
        top = RasterLayer("top", np.zeros((120, 200, 4), np.uint8), offset=(40, 30),
                          mask=np.full((120, 200), 255, np.uint8))
        top.pixels[20:60, 20:60] = (10, 200, 10, 255)
        d.add_layer(top)
        d.history.clear()
        return d

    doc, ref = build(), build()
    canvas = _open(window, qtbot, doc)
    tool = _async(window, "fill")
    s = window.tools.settings
    # 1) the label layer: the class id
    doc.active_layer = doc.layers[1]
    s.label_id = 1
    click(canvas, 20, 20)
    _wait_done(qtbot, tool)
    x, y, color, kw = tool.last_call
    ref_layer = ref.layers[1]
    core_fill.bucket_fill(ref, x, y, color, layer=ref_layer, **kw)
    assert np.array_equal(doc.layers[1].labels, ref_layer.labels)
    assert doc.history.undo_label == "Fill labels"
    # 2) the offset layer, sampling the composite, into its layer mask
    top = doc.layers[2]
    doc.active_layer = top
    s.edit_layer_mask = True
    s.color = (0, 0, 0, 255)
    tool.options.sample_merged = True
    click(canvas, 70, 60)
    _wait_done(qtbot, tool)
    assert tool.job.state == "applied"
    x, y, color, kw = tool.last_call
    assert kw["target"] == "mask" and kw["sample_merged"]
    core_fill.bucket_fill(ref, x, y, color, layer=ref.layers[2], **kw)
    assert np.array_equal(top.mask, ref.layers[2].mask) and not top.mask.all()
    assert np.array_equal(top.pixels, ref.layers[2].pixels)
    assert len(doc.history) == 2
