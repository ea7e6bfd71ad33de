"""`ganstudio colorize IN... -o OUT [--model ID]`: single file, folder batch, 16-bit + alpha, --json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganstudio.cli import main


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    import torch
    from safetensors.torch import save_file

    from ganstudio.archs.colorizer_arch import GSColorizer

    torch.manual_seed(1)
    net = GSColorizer(base=8, mid_blocks=1)
    with torch.no_grad():
        net.head[-1].weight.normal_(0, 0.5)
        net.head[-1].bias.copy_(torch.tensor([0.3, 0.2]))
    p = tmp_path_factory.mktemp("cm") / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(p))
    return str(p)


def _gray(h=48, w=64, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    return np.clip(xx * 3 + yy + rng.integers(0, 20, (h, w)), 0, 255).astype(np.uint8)


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_single_gray_file_json(tmp_path, capsys, tiny_model):
    src = tmp_path / "old.png"
    g = _gray()
    Image.fromarray(g, "L").save(src)
    out = tmp_path / "col.png"
    rc = main(["colorize", str(src), "-o", str(out), "--model", tiny_model, "--json",
               "--device", "cpu", "--precision", "fp32"])
    assert rc == 0
    s = _json(capsys)
    assert s["ok"] and s["count"] == 1 and s["files"][0]["output"] == str(out)
    res = np.asarray(Image.open(out).convert("RGB")).astype(np.float64)
    assert res.std(axis=2).max() > 5                      # coloured
    y = res @ np.array([0.299, 0.587, 0.114])
    assert np.abs(y - g).max() <= 0.5 + 1e-9               # the luminance is the input's


def test_folder_batch_with_broken_file_and_16bit_alpha(tmp_path, capsys, tiny_model):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    Image.fromarray(_gray(seed=1), "L").save(d / "a.png")
    rgba16 = np.zeros((40, 30, 4), np.uint16)
    rgba16[..., :3] = (_gray(40, 30)[..., None].astype(np.uint16) * 257)
    rgba16[..., 3] = 40000
    import cv2

    cv2.imwrite(str(d / "sub" / "b.png"), cv2.cvtColor(rgba16, cv2.COLOR_RGBA2BGRA))
    (d / "broken.jpg").write_bytes(b"not a jpeg at all")
    out = tmp_path / "out"
    rc = main(["colorize", str(d), "-o", str(out), "--model", tiny_model, "--json", "--device", "cpu"])
    s = _json(capsys)
    assert rc == 1 and s["count"] == 3 and s["failed"] == 1
    by_name = {Path(f["input"]).name: f for f in s["files"]}
    assert not by_name["broken.jpg"]["ok"] and by_name["a.png"]["ok"]
    assert by_name["b.png"]["bit_depth"] == 16 and by_name["b.png"]["alpha"]
    back = cv2.imread(str(out / "sub" / "b.png"), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and (back[..., 3] == 40000).all()
    assert (out / "a.png").is_file()


def test_errors_are_clean(tmp_path, capsys, tiny_model):
    src = tmp_path / "x.png"
    Image.fromarray(_gray(), "L").save(src)
    rc = main(["colorize", str(src), "-o", str(tmp_path / "y.png"), "--model", "builtin.nope", "--json"])
    assert rc == 2 and _json(capsys)["ok"] is False
    rc = main(["colorize", str(tmp_path / "missing.png"), "-o", str(tmp_path / "z.png"), "--json"])
    assert rc == 2
