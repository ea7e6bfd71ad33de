"""`ganstudio train colorize`: tiny runs, hold-out, broken files skipped, exact resume, export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ganstudio.train.colorize import ColorizeConfig, ColorizeTrainer, export  # noqa: E402
from ganstudio.train.data import load_folder, split_folder  # noqa: E402


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    import cv2

    d = tmp_path / "photos"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i, name in enumerate(["A01_x.png", "A02_y.jpg", "B03_z.png", "C04_w.png"]):
        yy, xx = np.mgrid[0:72, 0:90]
        img = np.stack([xx * 2 + i * 20, yy * 3, (xx * yy) % 255], 2) + rng.integers(0, 20, (72, 90, 3))
        cv2.imwrite(str(d / name), np.clip(img, 0, 255).astype(np.uint8))
    g16 = (rng.random((70, 70)) * 65535).astype(np.uint16)             # 16-bit gray: usable
    cv2.imwrite(str(d / "D05_gray16.png"), g16)
    rgba = np.dstack([rng.integers(0, 255, (70, 80, 3)), np.full((70, 80), 9)]).astype(np.uint8)
    cv2.imwrite(str(d / "E06_alpha.png"), rgba)
    (d / "F07_broken.jpg").write_bytes(b"\xff\xd8 broken")
    cv2.imwrite(str(d / "G08_tiny.png"), np.zeros((8, 8, 3), np.uint8))
    (d / "notes.txt").write_text("not a photo")
    return d


def _cfg(data: Path, out: Path, steps: int, **kw) -> ColorizeConfig:
    base = dict(data=str(data), out=str(out), steps=steps, minutes=0, holdout=1, seed=3, batch=2,
                patch=32, base=8, mid_blocks=1, load_side=96, warmup_steps=1, ckpt_minutes=0,
                log_every=1, threads=1, device="cpu", precision="fp32")
    base.update(kw)
    return ColorizeConfig(**base)


def test_loader_skips_broken_and_tiny_and_reads_16bit_alpha(tiny_data):
    imgs = load_folder(tiny_data, long_side=96, min_side=32)
    names = [p.name for p in imgs.paths]
    assert "D05_gray16.png" in names and "E06_alpha.png" in names
    assert {n for n, _ in imgs.skipped} == {"F07_broken.jpg", "G08_tiny.png"}
    assert all(i.dtype == np.uint8 and i.ndim == 3 and i.shape[2] == 3 for i in imgs.images)
    train, held = split_folder(tiny_data, 2)
    assert len(held) == 2 and not set(train) & set(held)


def test_train_resume_is_exact_and_export_loads(tiny_data, tmp_path):
    a = ColorizeTrainer(_cfg(tiny_data, tmp_path / "a", 4), log=lambda s: None)
    res = a.fit()
    assert res["step"] == 4 and res["skipped"] == 2 and Path(res["preview"]).is_file()
    held = json.loads((tmp_path / "a" / "holdout.json").read_text())
    assert len(held["holdout"]) == 1 and held["holdout"][0] not in held["train"]
    b = ColorizeTrainer(_cfg(tiny_data, tmp_path / "b", 2), log=lambda s: None)
    b.fit()
    b2 = ColorizeTrainer(_cfg(tiny_data, tmp_path / "b", 4), log=lambda s: None)
    b2.fit(resume=True)
    assert b2.step == 4
    for (k, v), (_, w) in zip(a.G.state_dict().items(), b2.G.state_dict().items()):
        assert torch.equal(v, w), k                          # interrupted + resumed == straight run
    info = export(tmp_path / "a", tmp_path / "col.safetensors", half=True)
    assert info["arch"] == "gscolorizer" and info["dtype"] == "float16"
    from ganstudio.archs.registry import build_model
    from safetensors.torch import load_file

    net = build_model("gscolorizer", {k: v.float() for k, v in load_file(tmp_path / "col.safetensors").items()})
    assert net.stem.weight.shape[0] == 8


def test_cli_train_and_errors(tiny_data, tmp_path, capsys):
    from ganstudio.cli import main

    rc = main(["train", "colorize", "--data", str(tiny_data), "--out", str(tmp_path / "r"), "--steps", "2",
               "--batch", "1", "--patch", "32", "--base", "8", "--mid-blocks", "1", "--holdout", "1",
               "--warmup-steps", "1", "--device", "cpu", "--precision", "fp32", "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0 and out["ok"] and out["step"] == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.jpg").write_bytes(b"junk")
    rc = main(["train", "colorize", "--data", str(empty), "--out", str(tmp_path / "e"), "--steps", "1", "--json"])
    err = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 2 and not err["ok"] and "1 skipped" in err["error"]
    rc = main(["train", "colorize-export", "--run", str(tmp_path / "nothing"), "-o", str(tmp_path / "x.st"), "--json"])
    assert rc == 2


def test_train_subcommands_are_discovered():
    import argparse

    from ganstudio.commands import train as train_cmd

    p = argparse.ArgumentParser()
    train_cmd.register(p.add_subparsers(dest="command"))
    sub = next(a for a in p._subparsers._group_actions if a.dest == "command").choices["train"]
    names = set(next(a for a in sub._subparsers._group_actions).choices)
    assert {"inpaint", "inpaint-export", "colorize", "colorize-export", "style"} <= names
