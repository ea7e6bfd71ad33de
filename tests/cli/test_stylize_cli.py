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


def test_trained_style_is_usable_from_the_cli_at_once(tmp_path, samples_dir, capsys):
    """`ganstudio train style` (2 steps) registers user.style-NAME; `stylize --model` runs it."""
    from ganstudio.models.store import default_store

    for d, seed in (("a", 0), ("b", 1)):
        (tmp_path / d).mkdir()
        rng = np.random.default_rng(seed)
        for i in range(2):
            Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / d / f"{i}.png")
    rc = main(["train", "style", "--photos", str(tmp_path / "a"), "--style", str(tmp_path / "b"),
               "--name", "CLI Demo Test", "--out", str(tmp_path / "run"), "--steps", "2", "--size", "64",
               "--ngf", "4", "--blocks", "5", "--threads", "1", "--device", "cpu", "--precision", "fp32",
               "--json"])
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0 and res["model_id"] == "user.style-cli-demo-test"
    try:
        src = tmp_path / "cat.png"
        Image.open(samples_dir / "chelsea.png").convert("RGB").resize((48, 40)).save(src)
        out = tmp_path / "styled.png"
        assert main(["stylize", str(src), "-o", str(out), "--model", res["model_id"], "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["ok"] and summary["files"][0]["model"] == res["model_id"]
        assert np.asarray(Image.open(out)).shape == (40, 48, 3)
    finally:
        default_store().remove(res["model_id"])
