"""The exemplar-guided built-in scene model: collage (every class from its own exemplars), push-pull
fill, the untrained generator returns its collage, strict loading of a file with its uint8 bank,
the scene task and CLI with it, and the training command end to end (train, resume, export)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from ganstudio.archs import scene_exemplar_bank as B
from ganstudio.core import labels as L
from ganstudio.tasks.base import TaskContext, TaskInputs, drive
from ganstudio.tasks.scene import SceneRequest, run

CTX = dict(device="cpu", precision="fp32")
# a distinct colour per (photo, class): every guide pixel tells where it came from
COLOURS = {(k, c): (20 + 30 * c, 40 + 60 * k, 200 - 20 * c) for k in range(3) for c in range(8)}


def _synthetic_bank(n_photos: int = 3, missing: int = 5) -> B.ExemplarBank:
    """Photos of horizontal class bands (sky over mountain over water ...); class ``missing`` in none."""
    h, w = B.BANK_H, B.BANK_W
    classes = [c for c in range(8) if c != missing]
    imgs = np.zeros((n_photos, h, w, 3), np.uint8)
    labs = np.zeros((n_photos, h, w), np.uint8)
    for k in range(n_photos):
        order = classes[k:] + classes[:k]
        bands = np.linspace(0, h, len(order) + 1).astype(int)
        for c, y0, y1 in zip(order, bands[:-1], bands[1:]):
            labs[k, y0:y1] = c
            imgs[k, y0:y1] = COLOURS[(k, c)]
    return B.ExemplarBank(imgs, labs, 8)


def _target(h: int = 96, w: int = 160) -> np.ndarray:
    t = np.full((h, w), 1, np.uint8)        # sky
    yy, xx = np.mgrid[:h, :w]
    t[yy > 40 + 10 * np.sin(xx / 9)] = 3    # mountain under a wavy line
    t[yy > 70] = 6                          # water
    t[(yy - 20) ** 2 + (xx - 40) ** 2 < 100] = 2   # a round cloud
    t[80:, 120:] = 5                        # a class no photo shows
    return t


def _inner(t: np.ndarray, c: int, r: int = 4) -> np.ndarray:
    """Pixels of class ``c`` at least ``r`` px from any other class (outside the blended edge)."""
    import cv2

    return cv2.erode((t == c).astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8),
                     borderType=cv2.BORDER_REPLICATE) > 0


def test_every_guide_pixel_comes_from_an_exemplar_of_its_class():
    bank = _synthetic_bank()
    t = _target()
    for seed in range(4):
        g = B.compose(t, bank, np.random.default_rng(seed))
        assert g.shape == (*t.shape, 3) and g.dtype == np.uint8
        for c in np.unique(t):
            px = {tuple(v) for v in g[_inner(t, int(c))].reshape(-1, 3)}
            if c == 5:
                assert px == {(127, 127, 127)}           # no exemplar: neutral grey, said in docs
                continue
            allowed = {COLOURS[(k, int(c))] for k in range(3)}
            # bilinear sampling inside one constant source region: exact colours, except where
            # the sampling point touches the push-pull fill (same class colour spread): allowed too
            assert px <= allowed, (c, px - allowed)


def test_exclude_keeps_a_photo_out_and_seeds_vary():
    bank = _synthetic_bank()
    t = _target()
    g = B.compose(t, bank, np.random.default_rng(0), exclude=frozenset({0, 1}))
    sky = {tuple(v) for v in g[_inner(t, 1)].reshape(-1, 3)}
    assert sky == {COLOURS[(2, 1)]}


def test_classes_meet_over_a_soft_edge():
    bank = _synthetic_bank()
    t = np.ones((64, 96), np.uint8)
    t[32:] = 6                                   # sky over water, one straight edge
    g = B.compose(t, bank, np.random.default_rng(0)).astype(int)
    top, bottom = g[20, 40], g[44, 40]
    edge = g[31:33, 40]
    assert (top != bottom).any()
    for px in edge:                              # the two rows at the edge are mixtures
        lo, hi = np.minimum(top, bottom), np.maximum(top, bottom)
        assert ((px >= lo) & (px <= hi)).all() and (px != top).any() and (px != bottom).any()
    outs = {B.compose(t, bank, np.random.default_rng(s)).tobytes() for s in range(6)}
    assert len(outs) > 1
    a = B.compose(t, bank, np.random.default_rng(3))
    assert np.array_equal(a, B.compose(t, bank, np.random.default_rng(3)))


def test_push_pull_fill_keeps_valid_pixels_and_stays_in_range():
    rng = np.random.default_rng(0)
    img = rng.integers(60, 200, (50, 70, 3)).astype(np.uint8)
    valid = np.zeros((50, 70), bool)
    valid[:20, :30] = True
    valid[40:, 50:] = True
    out = B.push_pull_fill(img, valid)
    assert np.array_equal(out[valid], img[valid])
    assert out[~valid].min() >= 60 and out[~valid].max() <= 200
    assert B.push_pull_fill(img, np.zeros((50, 70), bool)).shape == img.shape


def test_landscape_crop_any_aspect():
    for h, w in ((300, 1000), (1000, 300), (256, 384), (17, 23)):
        rgb = np.zeros((h, w, 3), np.uint8)
        lab = np.ones((h, w), np.uint8)
        a, b = B.landscape_crop(rgb, lab)
        assert a.shape == (B.BANK_H, B.BANK_W, 3) and b.shape == (B.BANK_H, B.BANK_W)


def _tiny_model(bank: B.ExemplarBank):
    import torch

    from ganstudio.archs.scene_exemplar_arch import SceneExemplar

    torch.manual_seed(0)
    net = SceneExemplar(label_nc=8, ch=(4, 8, 8), n_blocks=1, hidden=8, bank_size=len(bank))
    net.set_bank(bank.images, bank.labels)
    return net


def test_untrained_generator_returns_its_collage():
    import torch
    import torch.nn.functional as F

    bank = _synthetic_bank()
    net = _tiny_model(bank).eval()
    t = _target()
    guide = net.guide_for(t, seed=2)
    seg = F.one_hot(torch.from_numpy(t.astype(np.int64)), 8).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        y = net(seg, guide)
    to8 = lambda z: ((z[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255)  # noqa: E731
    assert np.abs(to8(y) - to8(guide)).max() <= 1.0
    with pytest.raises(ValueError, match="divisible by 4"):
        net(seg[..., :95, :], guide[..., :95, :])


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    import torch
    from safetensors.torch import save_file

    net = _tiny_model(_synthetic_bank())
    with torch.no_grad():
        net.conv_img.weight.normal_(0, 0.05)            # trained-looking: output != collage
        for b in [*net.blocks, net.out_block]:
            b.noise_strength.fill_(1.0)
    sd = {k: v.contiguous() for k, v in net.state_dict().items()}
    sd = {k: (v.half() if v.is_floating_point() else v) for k, v in sd.items()}
    p = tmp_path_factory.mktemp("ex") / "scene_exemplar_tiny.safetensors"
    save_file(sd, str(p))
    return str(p)


def test_file_with_uint8_bank_loads_strictly_by_detection(tiny_file):
    import torch
    from safetensors.torch import load_file

    from ganstudio.archs.registry import build_model, detect_arch

    sd = load_file(tiny_file)
    name, kw = detect_arch(sd)
    assert name == "scene_exemplar" and kw["bank_size"] == 3 and kw["ch"] == (4, 8, 8)
    net = build_model(name, sd, **kw)
    assert net.bank_labels.dtype == torch.uint8 and torch.equal(net.bank_images, sd["bank_images"])
    bad = dict(sd)
    bad.pop("blocks.0.conv_0.weight")
    assert detect_arch(bad) is None or detect_arch(bad)[0] != "scene_exemplar"


def _landscape(h=48, w=80):
    land = L.load_palette("landscape")
    m = L.blank_landscape(w, h, horizon=0.4)
    m[h // 2:, w // 3:] = land.by_name("lake").id
    return m


def test_scene_task_with_the_exemplar_model(tiny_file):
    m = _landscape()
    res = drive(run(TaskInputs(labels=m), SceneRequest(model_id=tiny_file, width=200, height=120,
                                                       seed=4, variations=2, work_size=96),
                    TaskContext(**CTX)))
    a, b = res.output_layers()
    assert a.image.shape == (120, 200, 3) and [a.info["seed"], b.info["seed"]] == [4, 5]
    assert not np.array_equal(a.image, b.image)
    again = drive(run(TaskInputs(labels=m), SceneRequest(model_id=tiny_file, width=200, height=120,
                                                         seed=4, work_size=96), TaskContext(**CTX)))
    assert np.array_equal(again.output_layers()[0].image, a.image)
    # the lake comes from the water exemplars: bluer than the sky's colour mix would be alone
    assert res.info["model_labels"] == "builtin_scene"


def test_builtin_default_is_the_exemplar_model_and_ships():
    from ganstudio.models.catalog import default_catalog
    from ganstudio.paths import model_file
    from ganstudio.tasks.scene import DEFAULT_MODEL

    assert DEFAULT_MODEL == "builtin.scene-exemplar"
    entry = default_catalog().get(DEFAULT_MODEL)
    f = model_file(entry.builtin)
    assert f.is_file() and f.stat().st_size <= 30_000_000


def _photos(folder, n=3):
    import cv2

    rng = np.random.default_rng(0)
    ids = []
    for i in range(n):
        h, w = 200, 300
        img = np.zeros((h, w, 3), np.uint8)
        img[:90] = np.linspace(120, 230, 90)[:, None, None] * np.array([0.5, 0.7, 1.0])   # blue sky
        img[90:140] = (90, 140, 60)                                                  # vegetation
        img[140:] = (40, 80, 160)                                                    # water
        img = np.clip(img + rng.normal(0, 6 if i else 10, img.shape), 0, 255).astype(np.uint8)
        pid = f"T{i:02d}"
        ids.append(pid)
        cv2.imwrite(str(folder / f"{pid}_photo.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    tsv = folder / "pool.tsv"
    with open(tsv, "w", newline="") as f:
        wr = csv.writer(f, delimiter="\t")
        wr.writerow(["id", "categories"])
        for pid in ids:
            wr.writerow([pid, "landscape;sky;water;vegetation"])
    return tsv


def test_train_resume_export_and_use(tmp_path, capsys):
    from ganstudio.cli import main

    data = tmp_path / "photos"
    data.mkdir()
    tsv = _photos(data)
    run_dir = tmp_path / "run"
    common = ["train", "scene", "--arch", "exemplar", "--data", str(data), "--tsv", str(tsv),
              "--out", str(run_dir), "--all", "--batch", "1", "--patch", "64", "--threads", "1",
              "--device", "cpu", "--json"]
    assert main([*common, "--steps", "2"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == 2
    assert main([*common, "--steps", "3", "--resume"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == 3
    assert (run_dir / "ckpt.pt").is_file() and (run_dir / "labels" / "T00.png").is_file()
    out = tmp_path / "m.safetensors"
    assert main(["train", "scene-export", "--run", str(run_dir), "-o", str(out), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert meta["arch"] == "scene_exemplar" and meta["step"] == "3"
    from safetensors.torch import load_file

    sd = load_file(str(out))
    assert sd["bank_images"].shape[0] == 3 and str(sd["bank_images"].dtype) == "torch.uint8"
    res = drive(run(TaskInputs(labels=_landscape()), SceneRequest(model_id=str(out), work_size=64),
                    TaskContext(**CTX)))
    assert res.output_layers()[0].image.shape == (48, 80, 3)
