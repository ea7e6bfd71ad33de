"""`ganstudio info` and `ganstudio convert` through ganstudio.cli.main."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from ganstudio.cli import main
from ganstudio.core.io import export_image, load_ora, open_image, read_image_array


def _json(capsys: pytest.CaptureFixture[str]) -> dict:
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    return json.loads(out[0])


@pytest.fixture
def rgba16(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 65536, (9, 13, 4), dtype=np.uint16)


@pytest.fixture
def no_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError (fast tests)


def test_info_json(capsys: pytest.CaptureFixture[str], no_torch: None) -> None:
    assert main(["info", "--json"]) == 0
    info = _json(capsys)
    assert info["ok"] is True and info["ganstudio"]
    assert info["python"] == sys.version.split()[0]
    for pkg in ("numpy", "Pillow", "OpenCV", "PySide6"):
        assert info["packages"][pkg], pkg
    assert info["torch"]["installed"] is False and "torch" in info["torch"]["error"]
    for key in ("cache", "data", "recovery", "models", "catalog"):
        assert info["paths"][key]
    assert info["paths"]["recovery"].endswith("recovery")
    assert {"PNG", "JPEG", "WEBP", "TIFF", "BMP", "ORA"} <= set(info["formats"]["read"])
    assert ".ora" in info["formats"]["extensions"]


def test_info_text(capsys: pytest.CaptureFixture[str], no_torch: None) -> None:
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "GAN Studio" in out and "torch:" in out and "recovery" in out and "ORA" in out
    assert main(["info", "--no-torch", "--json"]) == 0
    assert _json(capsys)["torch"] == {"skipped": True}


@pytest.mark.slow
def test_info_with_real_torch(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    assert main(["info", "--json"]) == 0
    t = _json(capsys)["torch"]
    assert t["installed"] and t["version"] and isinstance(t["cuda"]["available"], bool)
    assert isinstance(t["mps"]["available"], bool)


def test_convert_between_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 astronaut: np.ndarray) -> None:
    src = tmp_path / "in put.png"
    export_image(astronaut, src)
    out = tmp_path / "out.jpg"
    assert main(["convert", str(src), str(out), "--quality", "80", "--json"]) == 0
    res = _json(capsys)
    assert res["ok"] and res["format"] == "JPEG" and (res["width"], res["height"]) == (512, 512)
    px, _, _ = read_image_array(out)
    assert np.abs(px.astype(int) - astronaut).mean() < 6
    webp = tmp_path / "out.webp"
    assert main(["convert", str(src), str(webp), "--lossless", "--json"]) == 0
    _json(capsys)
    np.testing.assert_array_equal(read_image_array(webp)[0], astronaut)
    assert main(["convert", str(src), str(tmp_path / "out.tif"), "--compression", "lzw"]) == 0
    assert "out.tif" in capsys.readouterr().out
    np.testing.assert_array_equal(read_image_array(tmp_path / "out.tif")[0], astronaut)


def test_convert_image_to_ora_and_back(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       rgba16: np.ndarray) -> None:
    src = tmp_path / "deep.png"
    export_image(rgba16, src)
    ora = tmp_path / "deep.ora"
    assert main(["convert", str(src), str(ora), "--json"]) == 0
    res = _json(capsys)
    assert res["format"] == "ORA" and res["bit_depth"] == 16 and res["layers"] == 1
    assert load_ora(ora).layers[0].name == "deep"
    back = tmp_path / "back.png"
    assert main(["convert", str(ora), str(back), "--json"]) == 0
    _json(capsys)
    np.testing.assert_array_equal(open_image(back).layers[0].pixels, rgba16)


def test_convert_explode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ganstudio.core.document import Document
    from ganstudio.core.io import save_ora
    from ganstudio.core.layers import RasterLayer

    doc = Document(10, 8)
    doc.add_layer(RasterLayer.blank("Back ground", 10, 8, fill=(0, 0, 255, 255)))
    doc.add_layer(RasterLayer.blank("top/evil", 3, 3, fill=(255, 0, 0, 255), offset=(4, 2)))
    save_ora(doc, tmp_path / "p.ora")
    folder = tmp_path / "layers"
    assert main(["convert", str(tmp_path / "p.ora"), str(folder), "--explode", "--json"]) == 0
    res = _json(capsys)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["00-Back ground.png", "01-top_evil.png", "layers.json"]
    assert len(res["files"]) == 3
    top = read_image_array(folder / "01-top_evil.png")[0]
    assert top.shape[:2] == (3, 3) and tuple(top[0, 0, :3]) == (255, 0, 0)
    manifest = json.loads((folder / "layers.json").read_text())
    assert manifest["layers"][1]["x"] == 4 and manifest["layers"][1]["name"] == "top/evil"


def test_convert_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"")
    assert main(["convert", str(bad), str(tmp_path / "x.jpg"), "--json"]) == 2
    res = _json(capsys)
    assert res["ok"] is False and "bad.png" in res["error"] and "empty" in res["error"]
    good = tmp_path / "good.png"
    export_image(np.zeros((4, 4, 3), np.uint8), good)
    assert main(["convert", str(good), str(tmp_path / "x.gif")]) == 2
    assert "unknown image format" in capsys.readouterr().err
    assert main(["convert", str(good), str(tmp_path / "x.jpg"), "--quality", "0"]) == 2
    assert "--quality" in capsys.readouterr().err
    assert main(["convert", str(tmp_path / "nope.png"), str(tmp_path / "x.png"), "--json"]) == 2
    assert "does not exist" in _json(capsys)["error"]
