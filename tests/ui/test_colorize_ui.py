"""Filters > Colourise… through the real window and job queue (tiny random model)."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.jobs.job import JobState
from ganstudio.tasks.colorize import ColorizeRequest, luma


@pytest.fixture
def tiny_model(tmp_path) -> str:  # noqa: ANN001
    import torch
    from safetensors.torch import save_file

    from ganstudio.archs.colorizer_arch import GSColorizer

    torch.manual_seed(2)
    net = GSColorizer(base=8, mid_blocks=1)
    with torch.no_grad():
        net.head[-1].weight.normal_(0, 0.5)
        net.head[-1].bias.copy_(torch.tensor([0.3, -0.2]))
    p = tmp_path / "tiny_col.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(p))
    return str(p)


def test_colourise_menu_and_selection_result(window, qtbot, photo_doc, tiny_model) -> None:  # noqa: ANN001
    texts = [a.text().replace("&", "") for a in window.menu("Filters").actions()]
    assert any(t.startswith("Colourise") for t in texts)
    ui = window.task_ui("colorize")
    assert ui is not None
    gray = photo_doc.layers[0].pixels.copy()
    gray[..., :3] = gray[..., :3].mean(2, keepdims=True).astype(np.uint8)
    photo_doc.layers[0].pixels[...] = gray
    window.add_document(photo_doc)
    sel = np.zeros((512, 512), np.uint8)
    sel[100:300, 50:250] = 255
    photo_doc.set_selection(sel)
    ui.preset = ColorizeRequest(model_id=tiny_model, work_size=128)
    n_before = len(photo_doc.layers)
    job = ui.trigger()
    assert job is not None
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=60000)
    assert job.state is JobState.FINISHED, job.error
    assert len(photo_doc.layers) == n_before + 1
    new = photo_doc.layers[-1]
    assert new.provenance.get("task") == "colorize"
    assert new.offset == (50, 100) and new.pixels.shape[:2] == (200, 200)
    px = new.pixels[..., :3].astype(np.float64)
    assert px.std(axis=2).max() > 5                                        # coloured
    src = gray[100:300, 50:250, 0].astype(np.float64)
    assert np.abs(luma(px / 255) * 255 - src).max() <= 0.5 + 1e-9         # luminance kept
