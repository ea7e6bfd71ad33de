"""Dock panels fit the window from 1280x720 up (issue #16): a task panel appears as a tab next to
Tool options, never squeezes Layers / Jobs, never grows the window, and every field and button of
every panel can be reached (the panel scrolls when its dock is short)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractSpinBox, QApplication,
                               QComboBox, QLineEdit, QScrollArea, QSlider, QWidget)

from ganstudio.ui.main_window import STANDARD_DOCKS

CONTROLS = (QAbstractButton, QComboBox, QAbstractSpinBox, QSlider, QLineEdit, QAbstractItemView)


def _settle(qtbot, window) -> None:  # noqa: ANN001
    for _ in range(4):
        QApplication.processEvents()
        qtbot.wait(10)


def _at_size(qtbot, window, w: int, h: int) -> None:  # noqa: ANN001
    window.showNormal()
    window.resize(w, h)
    _settle(qtbot, window)
    assert (window.width(), window.height()) == (w, h)


def _visible_area(window) -> QRect:  # noqa: ANN001
    """The window's client area above the status bar."""
    return QRect(0, 0, window.width(), window.statusBar().geometry().top())


def _task_docks(window) -> dict:  # noqa: ANN001
    docks = {k: d for k, d in window.docks.items() if k not in STANDARD_DOCKS}
    assert {"inpaint"} <= set(docks)
    return docks


def _reachable(panel_area: QScrollArea, widget: QWidget) -> bool:
    """The widget lies inside the scroll area's viewport, after scrolling to it."""
    panel_area.ensureWidgetVisible(widget, 0, 0)
    QApplication.processEvents()
    vp = panel_area.viewport()
    top_left = widget.mapTo(vp, QPoint(0, 0))
    r = QRect(top_left, widget.size())
    seen = vp.rect().intersected(r)
    # fully in view, or (Qt scrolls to the nearest edge) at least most of it with its centre
    return vp.rect().contains(r) or (vp.rect().contains(r.center())
                                     and seen.height() >= 0.6 * min(r.height(), vp.height()))


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_every_task_panel_fits_and_nothing_is_squeezed(window, qtbot, photo_doc, size) -> None:  # noqa: ANN001
    window.add_document(photo_doc)
    _at_size(qtbot, window, *size)
    layers, jobs = window.docks["layers"], window.docks["jobs"]
    base = {"layers": layers.height(), "jobs": jobs.height()}
    assert base["layers"] >= 200 and base["jobs"] >= 100
    for name, dock in _task_docks(window).items():
        dock.show()
        dock.raise_()
        _settle(qtbot, window)
        assert (window.width(), window.height()) == size, f"{name}: the window grew itself"
        assert dock.isVisible(), name
        area = _visible_area(window)
        for d in (dock, layers, jobs):
            g = QRect(d.mapTo(window, QPoint(0, 0)), d.size())
            assert area.contains(g), f"{name}: {d.objectName()} {g} runs outside {area}"
        # Layers and Jobs keep their room (the panel is a tab, not one more slice of the column)
        assert abs(layers.height() - base["layers"]) <= 2, f"{name} squeezed Layers"
        assert abs(jobs.height() - base["jobs"]) <= 2, f"{name} squeezed Jobs"
        scroll = dock.widget()
        assert isinstance(scroll, QScrollArea), f"{name}: a long panel must scroll"
        panel = scroll.widget()
        controls = [c for c in panel.findChildren(QWidget) if isinstance(c, CONTROLS)
                    and c.isVisibleTo(panel) and not isinstance(c.parent(), (QComboBox, QAbstractSpinBox))
                    and not isinstance(c.parent().parent(), QAbstractItemView)]
        assert controls, name
        for c in controls:
            assert _reachable(scroll, c), (f"{name}: {type(c).__name__} {c.objectName()!r} in "
                                           f"{c.parent().objectName()!r} unreachable: at "
                                           f"{c.mapTo(scroll.viewport(), QPoint(0, 0))} {c.size()}, "
                                           f"viewport {scroll.viewport().size()}")
            # nothing is cut at the right edge either
            right = c.mapTo(scroll.viewport(), QPoint(c.width(), 0)).x()
            assert right <= scroll.viewport().width() + 1, f"{name}: {c.objectName()!r} cut on the right"
        dock.hide()
        _settle(qtbot, window)
    # panels may start background jobs when shown (style thumbnails): not this test's business
    for job in window.job_queue.active():
        window.job_queue.cancel(job)
    qtbot.waitUntil(lambda: not window.job_queue.active(), timeout=120000)


def test_the_inpaint_panel_keeps_remove_in_sight_at_720p(window, qtbot, photo_doc) -> None:  # noqa: ANN001
    window.add_document(photo_doc)
    _at_size(qtbot, window, 1280, 720)
    window.tools.select("mask")            # brings the Remove panel up, in front
    _settle(qtbot, window)
    dock = window.docks["inpaint"]
    assert dock.isVisible()
    panel = window.task_ui("inpaint").panel
    vp = dock.widget().viewport()
    for w in (panel.model, panel.button):   # without scrolling
        r = QRect(w.mapTo(vp, QPoint(0, 0)), w.size())
        assert vp.rect().contains(r), f"{w.objectName()} needs scrolling at 720p"
    # the canvas keeps most of the width
    assert window.canvas.width() >= 0.6 * window.width()
