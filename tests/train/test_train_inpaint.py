"""`ganstudio train inpaint`: a couple of steps on tiny data, checkpoints, exact resume, export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ganstudio.train.inpaint import TrainConfig, Trainer, export, holdout_ids, split_photos  # noqa: E402
from ganstudio.train.inpaint_masks import object_mask, random_mask, stroke_mask  # noqa: E402


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    from PIL import Image

    d = tmp_path / "photos"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i, name in enumerate(["A01_x.png", "A02_y.jpg", "B03_z.png", "C04_w.png"]):
        yy, xx = np.mgrid[0:72, 0:90]
        img = np.stack([xx * 2 + i * 20, yy * 3, (xx * yy) % 255], 2) + rng.integers(0, 20, (72, 90, 3))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(d / name)
    (d / "notes.txt").write_text("not a photo")
    return d


def _cfg(data: Path, out: Path, steps: int) -> TrainConfig:
    return TrainConfig(data=str(data), out=str(out), steps=steps, minutes=0, holdout=1, seed=3,
                       batch=2, patch=32, base=4, n_blocks=1, warmup_steps=1, ckpt_minutes=0,
                       log_every=1, threads=1, device="cpu")


def test_holdout_is_deterministic_and_excluded(tiny_data):
    ids = ["E01", "E05", "M19", "M20", "P16", "Q06", "Q07"]
    assert holdout_ids(ids, 2) == holdout_ids(list(reversed(ids)), 2) == ["E05", "Q06"]
    train, held = split_photos(tiny_data, 1)
    assert [p.stem for p in held] == ["B03_z"]
    assert len(train) == 3 and all(p.suffix != ".txt" for p in train)


def test_masks_are_binary_nonempty_and_seeded():
    for fn in (stroke_mask, object_mask, random_mask):
        a = fn(np.random.default_rng(5), 64, 80)
        b = fn(np.random.default_rng(5), 64, 80)
        assert a.shape == (64, 80) and a.dtype == np.uint8
        assert set(np.unique(a)) <= {0, 255} and a.any()
        assert np.array_equal(a, b)
    ratios = [(random_mask(np.random.default_rng(s), 64, 64) > 0).mean() for s in range(30)]
    assert max(ratios) <= 0.5


def test_two_steps_then_resume_equals_uninterrupted(tiny_data, tmp_path):
    logs: list[str] = []
    a = Trainer(_cfg(tiny_data, tmp_path / "a", 4), logs.append)
    a.fit()
    assert a.step == 4 and (tmp_path / "a" / "ckpt.pt").is_file()
    assert any("adv=" in line for line in logs)  # the adversarial phase ran
    b = Trainer(_cfg(tiny_data, tmp_path / "b", 2), logs.append)
    b.fit()
    assert b.step == 2
    c = Trainer(_cfg(tiny_data, tmp_path / "b", 4), logs.append)
    c.fit(resume=True)
    assert c.step == 4
    for name in ("G", "G_ema", "D"):
        sa, sc = getattr(a, name).state_dict(), getattr(c, name).state_dict()
        for k in sa:
            assert torch.equal(sa[k], sc[k]), (name, k)
    assert np.array_equal(a.rng.integers(0, 10**9, 4), c.rng.integers(0, 10**9, 4))
    assert (tmp_path / "b" / "holdout.json").is_file()
    # export: fp32 and fp16 safetensors that the task can load
    out = export(tmp_path / "b", tmp_path / "g.safetensors")
    assert out["step"] == "4" and Path(out["file"]).is_file()
    half = export(tmp_path / "b", tmp_path / "g16.safetensors", half=True)
    assert half["bytes"] < out["bytes"]
    from ganstudio.tasks.base import TaskContext, TaskInputs, drive
    from ganstudio.tasks.inpaint import InpaintRequest, run

    img = np.full((40, 40, 3), 128, np.uint8)
    m = np.zeros((40, 40), np.uint8)
    m[10:20, 10:20] = 255
    res = drive(run(TaskInputs(image=img, mask=m), InpaintRequest(model_id=str(tmp_path / "g16.safetensors")),
                    TaskContext(device="cpu", threads=1)))
    assert res.image.shape == img.shape


def test_cli_train_and_export(tiny_data, tmp_path, capsys):
    import json

    from ganstudio.cli import main

    rc = main(["train", "inpaint", "--data", str(tiny_data), "--out", str(tmp_path / "run"), "--steps", "1",
               "--batch", "1", "--patch", "32", "--base", "4", "--blocks", "1", "--holdout", "1",
               "--device", "cpu", "--json"])
    assert rc == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == 1
    rc = main(["train", "inpaint-export", "--run", str(tmp_path / "run"), "-o", str(tmp_path / "x.safetensors"),
               "--json"])
    assert rc == 0 and (tmp_path / "x.safetensors").is_file()
    assert main(["train", "inpaint", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "r2")]) == 2
