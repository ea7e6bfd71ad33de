"""A result apply sends several document events; the window updates its ~420 actions once for
them, at the end (issue 13: apply stall), and the actions are right afterwards."""

from __future__ import annotations

import numpy as np

from ganstudio.tasks.inpaint import InpaintRequest
from ganstudio.ui import main_window
from ganstudio.ui.tasks import inpaint as inpaint_ui


def test_one_action_update_per_apply(window, qtbot, photo_doc, monkeypatch) -> None:  # noqa: ANN001
    m = np.zeros((512, 512), np.uint8)
    m[300:330, 320:360] = 255
    photo_doc.set_ai_mask(m)
    photo_doc.history.clear()
    window.add_document(photo_doc)
    real = main_window.actions_mod.update
    calls: list[int] = []
    n_events: list[int] = []
    photo_doc.events.layers.connect(lambda *a: n_events.append(1))
    monkeypatch.setattr(main_window.actions_mod, "update", lambda w: (calls.append(1), real(w)))
    before = len(photo_doc.layers)
    job = inpaint_ui.start(window, InpaintRequest(model_id="opencv.telea", dilate=0, feather=0))
    calls.clear()
    qtbot.waitUntil(lambda: job.done and len(photo_doc.layers) == before + 1, timeout=20000)
    assert n_events, "the apply sent no layer event"
    assert len(calls) == 1, calls
    assert window.qactions["edit_undo"].isEnabled()
    assert window.qactions["layer_delete"].isEnabled() if "layer_delete" in window.qactions else True
    # outside a batch every change updates at once, as before
    calls.clear()
    window.qactions["edit_undo"].trigger()
    assert len(photo_doc.layers) == before and calls and window.qactions["edit_redo"].isEnabled()
