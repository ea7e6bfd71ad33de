"""`ganstudio stylize`: the offline CycleGAN (vintagify) and 'any painting' work with zero downloads."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from ganstudio.cli import main


def test_stylize_offline_models(tmp_path, samples_dir, capsys, model_cache):
    src = tmp_path / "cat.png"
    Image.open(samples_dir / "chelsea.png").convert("RGB").resize((96, 72)).save(src)
    ref = np.asarray(Image.open(src)).astype(float)
    for args in (["--model", "cyclegan.vintagify"],
                 ["--style-image", str(samples_dir / "coffee.png"), "--strength", "0.8"]):
        out = tmp_path / "out.png"
        assert main(["stylize", str(src), "-o", str(out), "--overwrite", "--json", *args]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["ok"]
        img = np.asarray(Image.open(out)).astype(float)
        assert img.shape == ref.shape and np.abs(img - ref).mean() > 5     # really restyled


def test_stylize_bad_style_image_is_a_clear_error(tmp_path, samples_dir, capsys, model_cache):
    bad = tmp_path / "painting.png"
    bad.write_bytes(b"not an image")
    src = tmp_path / "cat.png"
    Image.open(samples_dir / "chelsea.png").convert("RGB").resize((32, 32)).save(src)
    rc = main(["stylize", str(src), "-o", str(tmp_path / "o.png"), "--style-image", str(bad), "--json"])
    out = capsys.readouterr().out
    assert rc != 0 and "style image" in out
