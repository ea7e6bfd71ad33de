"""Scene task: label validation / mapping, sizes, seeds, masks, SPADE path, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core import labels as L
from ganstudio.tasks.base import TaskContext, TaskError, TaskInputs, drive
from ganstudio.tasks.scene import SceneRequest, fill_nearest, prepare_labels, run, work_shape

CTX = dict(device="cpu", precision="fp32")


def _save(sd, path):
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    return str(path)


@pytest.fixture(scope="module")
def tiny_builtin(tmp_path_factory):
    import torch

    from ganstudio.archs.scene_compact_arch import SceneCompact

    torch.manual_seed(0)
    net = SceneCompact(label_nc=8, ngf=4, z_ch=4, widths=(4, 2, 1), hidden=8)
    with torch.no_grad():
        for b in net.blocks:
            b.noise_strength.fill_(0.5)         # the seed must matter
    return _save(net.state_dict(), tmp_path_factory.mktemp("scene") / "tiny_scene.safetensors")


@pytest.fixture(scope="module")
def tiny_spade(tmp_path_factory):
    import torch

    from ganstudio.archs.spade_arch import build

    torch.manual_seed(0)
    net = build(dataset="ade20k", ngf=1)
    return _save(net.state_dict(), tmp_path_factory.mktemp("spade") / "tiny_spade_ade.safetensors")


def _landscape(h=48, w=80):
    land = L.load_palette("landscape")
    m = L.blank_landscape(w, h, horizon=0.4)
    m[h // 2:, w // 3:] = land.by_name("lake").id
    m[: h // 5, : w // 4] = land.by_name("cloud").id
    return m


def _run(labels, model, mask=None, **kw):
    return drive(run(TaskInputs(labels=labels, mask=mask), SceneRequest(model_id=model, **kw),
                     TaskContext(**CTX)))


def test_whole_scene_any_size_and_aspect(tiny_builtin):
    m = _landscape()
    res = _run(m, tiny_builtin, width=200, height=90, work_size=64)
    (layer,) = res.output_layers()
    assert layer.image.shape == (90, 200, 3) and layer.image.dtype == np.uint8
    assert layer.rect is None and layer.mask is None
    assert res.info["work_size"] == [64, 28] and res.info["model_labels"] == "builtin_scene"
    assert res.info["classes"]["lake"] > 0 and layer.info["seed"] == 0
    assert layer.info["upscale"] == "resample"


def test_seeds_give_variations_and_are_reproducible(tiny_builtin):
    m = _landscape()
    a = _run(m, tiny_builtin, seed=5, variations=2, work_size=64).output_layers()
    b = _run(m, tiny_builtin, seed=5, work_size=64).output_layers()
    assert [la.info["seed"] for la in a] == [5, 6]
    assert np.array_equal(a[0].image, b[0].image)
    assert not np.array_equal(a[0].image, a[1].image)


def test_masked_result_is_cropped_and_feathered(tiny_builtin):
    m = _landscape(64, 64)
    mask = np.zeros((64, 64), np.uint8)
    mask[20:40, 10:30] = 255
    (layer,) = _run(m, tiny_builtin, mask=mask, feather=4, work_size=64).output_layers()
    x, y, w, h = layer.rect
    assert x < 10 and y < 20 and x + w > 30 and y + h > 40            # feather grows outwards
    assert layer.mask.shape == layer.image.shape[:2]
    inner = layer.mask[20 - y + 4: 40 - y - 4, 10 - x + 4: 30 - x - 4]
    assert (inner == 255).all() and layer.mask[0, 0] == 0
    assert 0 < layer.mask[20 - y, 20 - x] < 255                         # soft on the edge


def test_bad_labels_are_named():
    land = L.load_palette("landscape")
    m = _landscape()
    m[3, 4] = 99
    with pytest.raises(TaskError, match=r"99 \(1 px, first at x=4 y=3\)"):
        prepare_labels(m, "landscape", "builtin_scene")
    with pytest.raises(TaskError, match="empty"):
        prepare_labels(np.zeros((8, 8), np.uint8), "landscape", "builtin_scene")
    with pytest.raises(TaskError, match="no .*equivalent|no mapping"):
        prepare_labels(np.full((4, 4), 5, np.uint8), "ade20k", "builtin_scene")
    one, info = prepare_labels(np.full((4, 4), land.by_name("sky").id, np.uint8), "landscape", "builtin_scene")
    assert (one == 1).all() and "one class" in info["note"]


def test_unlabelled_takes_the_nearest_class():
    m = np.zeros((10, 10), np.uint8)
    m[:, :3] = 1
    m[:, 7:] = 6
    f = fill_nearest(m, 0)
    assert (f[:, :5] == 1).all() and (f[:, 5:] == 6).all()


def test_landscape_maps_to_ade_for_spade(tiny_spade):
    m = _landscape(64, 64)
    res = _run(m, tiny_spade, variations=3)
    layers = res.output_layers()
    assert len(layers) == 1                                       # SPADE has no noise input
    assert "no noise" in res.info["note_variations"]
    assert layers[0].image.shape == (64, 64, 3) and res.info["work_size"] == [256, 256]
    assert res.info["model_labels"] == "ade20k"
    ids, _ = prepare_labels(m, "landscape", "ade20k")
    assert set(np.unique(ids)) == {3, 10, 129}                    # sky, grass, lake (ADE ids)


def test_spade_aspect_ratio_uses_its_latent_grid(tiny_spade):
    res = _run(_landscape(40, 80), tiny_spade, work_size=128)
    assert res.info["work_size"] == [128, 64]
    assert res.output_layers()[0].image.shape == (40, 80, 3)


def test_checkpoint_for_another_label_set_is_refused(tiny_spade, tmp_path):
    from ganstudio.tasks.scene import load_scene_model

    sm = load_scene_model(tiny_spade, TaskContext(**CTX))
    assert sm.labels == "ade20k" and sm.kind == "spade"
    junk = tmp_path / "junk.safetensors"
    import torch

    _save({"fc.weight": torch.zeros(2, 2)}, junk)
    with pytest.raises(TaskError):
        load_scene_model(str(junk), TaskContext(**CTX))


def test_limits():
    with pytest.raises(TaskError, match="larger than the limit"):
        _run(_landscape(), "x", width=20000, height=20000)
    with pytest.raises(TaskError, match="variations"):
        _run(_landscape(), "x", variations=0)
    with pytest.raises(TaskError, match="no label map"):
        drive(run(TaskInputs(), SceneRequest(), TaskContext(**CTX)))
    assert work_shape(1000, 3000, 256, 16) == (80, 256)


def test_task_is_registered():
    from ganstudio.tasks.registry import get_task

    spec = get_task("scene")
    assert spec.request_type is SceneRequest and spec.ui == "ganstudio.ui.tasks.scene"
    r = SceneRequest(seed=7, palette="coco")
    assert SceneRequest.from_dict(r.to_dict()) == r


def test_odd_and_tiny_label_maps(tiny_builtin):
    land = L.load_palette("landscape")
    for shape in ((1, 1), (3, 7), (97, 13)):
        m = np.full(shape, land.by_name("sky").id, np.uint8)
        m[shape[0] // 2:] = land.by_name("sea").id
        (layer,) = _run(m, tiny_builtin, work_size=32).output_layers()
        assert layer.image.shape == (*shape, 3)


def test_spade_tarball_members_are_extracted_safely(tmp_path, tiny_spade):
    """The catalog's one-tarball layout: the member an entry needs comes out; a missing member or
    a path-traversal name is refused (the platform store's archive code)."""
    import io
    import tarfile

    from ganstudio.models.archive import extract_member
    from ganstudio.models.errors import ArchiveError

    tar = tmp_path / "checkpoints.tar.gz"
    payload = open(tiny_spade, "rb").read()
    with tarfile.open(tar, "w:gz") as tf:
        for name, data in (("ade20k_pretrained/latest_net_G.pth", payload), ("../evil.txt", b"x")):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    out = extract_member(tar, "ade20k_pretrained/latest_net_G.pth", tmp_path / "ade.pth")
    assert out.read_bytes() == payload
    with pytest.raises(ArchiveError):
        extract_member(tar, "coco_pretrained/latest_net_G.pth", tmp_path / "coco.pth")
    with pytest.raises(ArchiveError):
        extract_member(tar, "../evil.txt", tmp_path / "evil.txt")
    assert not (tmp_path.parent / "evil.txt").exists()
    from ganstudio.models.catalog import default_catalog

    cat = default_catalog()
    members = {cat.get(i).files[0].member for i in ("spade.ade20k", "spade.coco", "spade.cityscapes")}
    assert members == {f"{d}_pretrained/latest_net_G.pth" for d in ("ade20k", "coco", "cityscapes")}
    assert all(cat.get(i).non_commercial and cat.get(i).licence == "CC-BY-NC-SA-4.0"
               for i in ("spade.ade20k", "spade.coco", "spade.cityscapes"))
