"""The selection outline is traced inside the selection's box at the view's resolution: the same
shape at every zoom, far fewer points when zoomed out."""

from __future__ import annotations

import numpy as np

from ganstudio.ui.canvas import _outline_path, _outline_scale


def _points(path) -> int:  # noqa: ANN001
    return sum(len(poly) for poly in path.toSubpathPolygons())


def test_outline_scale_follows_the_zoom():
    assert _outline_scale(2.0) == 1.0 and _outline_scale(1.0) == 1.0
    assert _outline_scale(0.5) == 0.5 and _outline_scale(0.3) == 0.5 and _outline_scale(0.07) == 0.125


def test_outline_matches_the_selection_at_every_scale():
    sel = np.zeros((1200, 1600), np.uint8)
    sel[300:900, 400:1000] = 255
    yy, xx = np.mgrid[:1200, :1600]
    sel[(yy - 600) ** 2 + (xx - 1300) ** 2 < 150 ** 2] = 255      # a disc beside the square
    sel[1190:, 1590:] = 255                                       # touching the image corner
    full = _outline_path(sel, 1.0)
    box = full.boundingRect()
    assert (box.left(), box.top(), box.right(), box.bottom()) == (400, 300, 1599, 1199)
    for scale in (0.5, 0.125):
        small = _outline_path(sel, scale)
        b = small.boundingRect()
        tol = 1.0 / scale + 1
        assert abs(b.left() - 400) <= tol and abs(b.top() - 300) <= tol
        assert abs(b.right() - 1599) <= tol and abs(b.bottom() - 1199) <= tol
        assert _points(small) < _points(full)
        # the disc's outline stays round: its points lie on the circle within the tolerance
        assert len(small.toSubpathPolygons()) == len(full.toSubpathPolygons()) == 3


def test_empty_selection_has_no_outline():
    assert _outline_path(np.zeros((50, 60), np.uint8), 0.5).isEmpty()


def test_a_big_selection_is_traced_off_the_gui_thread(window, qtbot, make_doc):  # noqa: ANN001
    """The canvas draws at once, the outline arrives from a thread, and only the newest one."""
    from ganstudio.ui import canvas as canvas_mod

    doc = make_doc(1600, 1200)
    canvas = window.add_document(doc)
    old = canvas_mod.OUTLINE_SYNC_PIXELS
    canvas_mod.OUTLINE_SYNC_PIXELS = 1000
    try:
        sel = np.zeros((1200, 1600), np.uint8)
        sel[100:1100, 100:1500] = 255
        doc.set_selection(sel)
        canvas.viewport().repaint()                         # starts the trace, does not wait
        qtbot.waitUntil(lambda: canvas._selection_path is not None
                        and not canvas._selection_path.isEmpty(), timeout=10000)
        box = canvas._selection_path.boundingRect()
        assert abs(box.left() - 100) <= 9 and abs(box.right() - 1499) <= 9
        doc.set_selection(None)
        canvas.viewport().repaint()
        assert canvas._selection_path is None
    finally:
        canvas_mod.OUTLINE_SYNC_PIXELS = old
