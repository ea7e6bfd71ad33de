"""`ganstudio inpaint IMAGE MASK -o OUT` and the folder batch, with --json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganstudio.cli import main


def _write(tmp: Path, name: str, arr: np.ndarray) -> Path:
    p = tmp / name
    Image.fromarray(arr).save(p)
    return p


def _img(h=80, w=100, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    return np.clip(np.stack([xx * 2, yy * 2, xx + yy], 2) + rng.integers(0, 10, (h, w, 3)), 0, 255).astype(np.uint8)


def _mask(h=80, w=100):
    m = np.zeros((h, w), np.uint8)
    m[20:40, 30:60] = 255
    return m


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_single_file_json(tmp_path, capsys):
    img = _img()
    src = _write(tmp_path, "photo.png", img)
    msk = _write(tmp_path, "mask.png", _mask())
    out = tmp_path / "out.png"
    assert main(["inpaint", str(src), str(msk), "-o", str(out), "--json", "--device", "cpu"]) == 0
    rep = _json(capsys)
    assert rep["ok"] and rep["model"] == "builtin.inpaint-compact" and rep["noop"] is False
    res = np.asarray(Image.open(out).convert("RGB"))
    assert res.shape == img.shape
    changed = (res != img).any(axis=2)
    assert changed[25:35, 35:55].any() and not changed[:10].any() and not changed[:, :15].any()


def test_single_file_opencv_and_empty_mask(tmp_path, capsys):
    src = _write(tmp_path, "photo.png", _img())
    empty = _write(tmp_path, "empty.png", np.zeros((80, 100), np.uint8))
    assert main(["inpaint", str(src), str(empty), "-o", str(tmp_path / "o.png"), "--json"]) == 0
    rep = _json(capsys)
    assert rep["noop"] is True and "empty" in rep["message"]
    msk = _write(tmp_path, "m.png", _mask())
    assert main(["inpaint", str(src), str(msk), "-o", str(tmp_path / "t.png"), "--model", "opencv.telea",
                 "--strategy", "original", "--json"]) == 0
    assert _json(capsys)["model"] == "opencv.telea"


def test_errors_exit_2_with_json(tmp_path, capsys):
    src = _write(tmp_path, "photo.png", _img())
    small = _write(tmp_path, "small.png", np.zeros((10, 10), np.uint8) + 255)
    assert main(["inpaint", str(src), str(small), "-o", str(tmp_path / "o.png"), "--json"]) == 2
    rep = _json(capsys)
    assert rep["ok"] is False and "same size" in rep["error"]
    assert main(["inpaint", str(tmp_path / "missing.png"), str(small), "-o", str(tmp_path / "o.png")]) == 2


def test_folder_batch_pairs_by_stem(tmp_path, capsys):
    imgs, masks, out = tmp_path / "imgs", tmp_path / "masks", tmp_path / "out"
    imgs.mkdir()
    masks.mkdir()
    for i, name in enumerate(["a", "b", "c"]):
        _write(imgs, f"{name}.png", _img(seed=i))
    _write(masks, "a.png", _mask())
    rgba = np.zeros((80, 100, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[50:70, 10:30, 3] = 255  # white only where opaque
    _write(masks, "b_mask.png", rgba)
    rc = main(["inpaint", str(imgs), str(masks), "-o", str(out), "--json"])
    rep = _json(capsys)
    assert rc == 1 and rep["failed"] == 1  # c has no mask
    by = {Path(f["image"]).stem: f for f in rep["files"]}
    assert by["a"]["ok"] and by["b"]["ok"] and not by["c"]["ok"]
    assert "no mask" in by["c"]["error"]
    assert (out / "a.png").is_file() and (out / "b.png").is_file() and not (out / "c.png").exists()
    b_in = _img(seed=1)
    b_out = np.asarray(Image.open(out / "b.png").convert("RGB"))
    changed = (b_out != b_in).any(axis=2)
    assert changed[55:65, 15:25].any() and not changed[:40].any()


@pytest.mark.parametrize("bad", ["file_and_dir"])
def test_folder_needs_mask_folder(tmp_path, capsys, bad):
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    _write(imgs, "a.png", _img())
    m = _write(tmp_path, "m.png", _mask())
    assert main(["inpaint", str(imgs), str(m), "-o", str(tmp_path / "o"), "--json"]) == 2
    assert "folder" in _json(capsys)["error"]
