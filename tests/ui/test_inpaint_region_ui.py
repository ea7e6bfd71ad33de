"""Issue 12 in the window: defaults change only the painted pixels, and the panel shows the exact
region before Remove."""

from __future__ import annotations

import numpy as np

from ganstudio.core.geometry import Rect


def test_panel_defaults_and_region_preview(window, make_doc):  # noqa: ANN001
    doc = make_doc(120, 90)
    window.add_document(doc)
    ui = window.task_ui("inpaint")
    req = ui.panel.request()
    assert req.dilate == 0 and req.feather == 0 and abs(req.texture - 0.9) < 1e-9
    with doc.edit_ai_mask(Rect(20, 20, 30, 25)) as m:
        m[20:45, 20:50] = 255
    w = ui.region_weight()
    assert np.array_equal(w > 0, doc.ai_mask > 127)          # exactly the painted pixels
    ui.panel.show_region.setChecked(True)
    assert "will change 750 px" in window.status.currentMessage()
    ui.panel.dilate.setValue(3)                               # grow: the preview follows
    assert (ui.region_weight() > 0).sum() > 750
    ui.panel.show_region.setChecked(False)
