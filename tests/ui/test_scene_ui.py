"""Scene panel through the real window: palette / swatches / search, label tools (brush, fill,
eraser), template document, Generate (one undo step, provenance, label layer hidden), masked mix."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core import labels as L
from ganstudio.core.layers import LabelLayer
from ganstudio.jobs.job import JobState
from ganstudio.tasks.scene import SceneRequest


@pytest.fixture
def tiny_model(tmp_path) -> str:  # noqa: ANN001
    import torch
    from safetensors.torch import save_file

    from ganstudio.archs.scene_compact_arch import SceneCompact

    torch.manual_seed(3)
    net = SceneCompact(label_nc=8, ngf=4, z_ch=4, widths=(4, 2, 1), hidden=8)
    p = tmp_path / "tiny_scene.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(p))
    return str(p)


def test_panel_tools_and_palettes(window, qtbot, make_doc) -> None:  # noqa: ANN001
    ui = window.task_ui("scene")
    assert ui is not None and ui.panel is not None
    assert {"fill", "label_eraser"} <= set(window.tools.tools)   # the fill bucket fills labels too
    assert window.tools.tools["fill"].shortcut == "G"
    p = ui.panel
    assert [p.palette.itemData(i) for i in range(p.palette.count())][:3] == ["landscape", "ade20k", "coco"]
    p.search.setText("lake")
    assert [p.classes.item(i).text() for i in range(p.classes.count())] == ["lake  (14)"]
    p.search.setText("")
    doc = make_doc(120, 80)
    window.add_document(doc)
    # choosing a class adds a label layer and selects the label brush with that class
    tree = next(i for i in range(p.classes.count()) if p.classes.item(i).text().startswith("tree "))
    p.classes.setCurrentRow(tree)
    layer = doc.active_layer
    assert isinstance(layer, LabelLayer) and layer.palette_name == "landscape"
    assert window.tools.current.name == "label" and window.tools.settings.label_id == 6
    # fill bucket: whole (unlabelled) layer -> sky, one undo step
    from ganstudio.ui.tasks.scene import flood_fill_labels

    assert flood_fill_labels(doc, layer, 5, 5, 1) is not None
    assert (layer.labels == 1).all()
    doc.history.undo()
    assert (layer.labels == 0).all()
    doc.history.redo()
    # opacity slider
    p.opacity.setValue(30)
    assert layer.opacity == pytest.approx(0.3)
    # switching to ADE20K converts the painted ids through the landscape mapping (sky 1 -> 3)
    p.palette.setCurrentIndex(p.palette.findData("ade20k"))
    assert layer.palette_name == "ade20k" and (layer.labels == 3).all()


def test_generate_from_blank_landscape(window, qtbot, tiny_model) -> None:  # noqa: ANN001
    ui = window.task_ui("scene")
    doc = ui.new_blank_landscape()
    assert doc is window.document
    layer = next(la for la in doc.layers if isinstance(la, LabelLayer))
    land = L.load_palette("landscape")
    assert layer.labels[0, 0] == land.by_name("sky").id and layer.labels[-1, 0] == land.by_name("grass").id
    layer.labels[400:, 300:700] = land.by_name("lake").id
    ui.preset = SceneRequest(model_id=tiny_model, palette="landscape", width=doc.width,
                             height=doc.height, seed=4, work_size=64)
    n = len(doc.layers)
    job = ui.trigger()
    assert job is not None
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=60000)
    assert job.state is JobState.FINISHED, job.error
    assert len(doc.layers) == n + 1
    new = doc.layers[-1]
    assert new.provenance.get("task") == "scene" and new.provenance.get("seed") == 4
    assert new.pixels.shape[:2] == (doc.height, doc.width)
    assert not layer.visible                               # labels hidden in the same step
    doc.history.undo()                                     # one undo step removes both
    assert len(doc.layers) == n and layer.visible
    assert ui.panel.progress.value() == 100


def test_only_where_painted_gives_a_masked_layer(window, qtbot, make_doc, tiny_model) -> None:  # noqa: ANN001
    ui = window.task_ui("scene")
    doc = make_doc(96, 64)
    window.add_document(doc)
    layer = ui.ensure_label_layer(create=True)
    layer.labels[:, 48:] = 1                                # sky on the right half only
    ui.panel.only_painted.setChecked(True)
    ui.preset = SceneRequest(model_id=tiny_model, width=96, height=64, work_size=64, feather=2)
    job = ui.trigger()
    qtbot.waitUntil(lambda: job.done and not window.pending_jobs(), timeout=60000)
    assert job.state is JobState.FINISHED, job.error
    new = doc.layers[-1]
    assert new.mask is not None and new.offset[0] >= 40
    assert new.mask[:, -1].min() == 255
