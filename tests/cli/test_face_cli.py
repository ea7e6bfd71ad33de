"""`ganstudio face detect|edit|age|invert|synth` (public contract), with tiny random-weight models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tasks"))

from ganstudio.cli import main  # noqa: E402


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    pytest.importorskip("torch")
    from facestubs import install_tiny_models

    from ganstudio.tasks import face_edit

    monkeypatch.setenv("GANSTUDIO_DATA", str(tmp_path / "data"))
    install_tiny_models()
    yield
    face_edit.set_model_factory(None)


@pytest.fixture
def photo(samples_dir) -> Path:
    return samples_dir / "astronaut.png"


def test_detect_json(photo, capsys):
    assert main(["face", "detect", str(photo), "--json"]) == 0
    out = _json(capsys)
    assert out["ok"] and out["count"] == 1
    f = out["faces"][0]
    assert f["face"] == 1 and len(f["box"]) == 4 and 0.5 < f["score"] <= 1
    assert set(f["landmarks"]) == {"eye_left", "eye_right", "nose", "mouth_left", "mouth_right"}
    assert 20 < f["apparent_age"] < 60


def test_detect_no_face_and_missing_file(samples_dir, capsys, tmp_path):
    assert main(["face", "detect", str(samples_dir / "coffee.png"), "--json"]) == 0
    assert _json(capsys)["count"] == 0
    assert main(["face", "detect", str(tmp_path / "nope.png"), "--json"]) == 2
    assert "no such file" in _json(capsys)["error"]


def test_detect_cmyk_and_grayscale(tmp_path, photo, capsys):
    im = Image.open(photo).convert("RGB")
    im.convert("CMYK").save(tmp_path / "cmyk.jpg")
    im.convert("L").save(tmp_path / "gray.png")
    for name in ("cmyk.jpg", "gray.png"):
        assert main(["face", "detect", str(tmp_path / name), "--json", "--no-age"]) == 0
        assert _json(capsys)["count"] == 1, name


def test_edit_writes_image_changed_only_in_the_face(tiny, photo, tmp_path, capsys):
    out = tmp_path / "out.png"
    rc = main(["face", "edit", str(photo), "-o", str(out), "--edit", "smile=1.5", "--edit", "age=-2",
               "--face", "all", "--device", "cpu", "--precision", "fp32", "--json"])
    assert rc == 0
    s = _json(capsys)
    assert s["ok"] and s["faces"] == 1 and s["edits"] == {"smile": 1.5, "age": -2.0}
    src = np.asarray(Image.open(photo).convert("RGB"))
    dst = np.asarray(Image.open(out).convert("RGB"))
    x, y, w, h = s["regions"][0]
    outside = np.ones(src.shape[:2], bool)
    outside[y:y + h, x:x + w] = False
    assert np.array_equal(src[outside], dst[outside])
    assert not np.array_equal(src[~outside], dst[~outside])
    # existing output is refused without --overwrite
    assert main(["face", "edit", str(photo), "-o", str(out), "--edit", "smile=1", "--json"]) == 2
    assert "exists" in _json(capsys)["error"]


def test_edit_errors(tiny, photo, tmp_path, samples_dir, capsys):
    out = tmp_path / "o.png"
    assert main(["face", "edit", str(photo), "-o", str(out), "--json"]) == 2
    assert "--edit" in _json(capsys)["error"]
    assert main(["face", "edit", str(photo), "-o", str(out), "--edit", "smile", "--json"]) == 2
    assert "NAME=VALUE" in _json(capsys)["error"]
    assert main(["face", "edit", str(photo), "-o", str(out), "--edit", "smile=1", "--face", "3",
                 "--json"]) == 2
    assert "face 3" in _json(capsys)["error"]
    assert main(["face", "edit", str(samples_dir / "chelsea.png"), "-o", str(out), "--edit",
                 "smile=1", "--json"]) == 2
    assert "No face" in _json(capsys)["error"] and not out.exists()


@pytest.mark.slow
def test_age_and_strip(tiny, photo, tmp_path, capsys):
    out = tmp_path / "old.png"
    assert main(["face", "age", str(photo), "-o", str(out), "--age", "70", "--json",
                 "--device", "cpu"]) == 0
    assert _json(capsys)["age"] == 70 and out.is_file()
    strip = tmp_path / "strip.png"
    assert main(["face", "age", str(photo), "-o", str(strip), "--strip", "10,30,50,70", "--cell", "64",
                 "--json"]) == 0
    s = _json(capsys)
    assert s["ages"] == [10, 30, 50, 70] and s["faces"] == 1
    assert Image.open(strip).size == (256, 64)
    photos = tmp_path / "p.png"
    assert main(["face", "age", str(photo), "-o", str(photos), "--strip", "20,60",
                 "--strip-layout", "photos", "--json"]) == 0
    s = _json(capsys)
    assert [Path(p).name for p in s["outputs"]] == ["p-age20.png", "p-age60.png"]
    assert main(["face", "age", str(photo), "-o", str(tmp_path / "x.png"), "--age", "130",
                 "--json"]) == 2


def test_invert_then_synth_16bit(tiny, photo, tmp_path, capsys):
    lat = tmp_path / "w.npy"
    assert main(["face", "invert", str(photo), "--latent-out", str(lat), "--json"]) == 0
    s = _json(capsys)
    w = np.load(lat)
    assert w.dtype == np.float32 and w.shape == (1, 10, 32) and s["shape"] == [1, 10, 32]
    out = tmp_path / "synth.tif"
    assert main(["face", "synth", "--latent", str(lat), "-o", str(out), "--json"]) == 0
    s = _json(capsys)
    assert s["bits"] == 16
    import tifffile

    img = tifffile.imread(out)
    assert img.dtype == np.uint16 and img.shape == (64, 64, 3)
    # exact: the file holds the generator output quantised to 16 bits
    import torch

    from facestubs import tiny_nets

    with torch.inference_mode():
        ref = tiny_nets()[0].decoder(torch.from_numpy(w), input_is_latent=True, randomize_noise=False)[0]
    ref = ((ref.clamp(-1, 1) + 1) * 0.5)[0].permute(1, 2, 0).numpy()
    assert np.abs(img.astype(np.float64) / 65535 - ref).max() <= 0.5 / 65535 + 1e-6
    # a latent of the wrong shape is refused clearly
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((1, 18, 512), np.float32))
    assert main(["face", "synth", "--latent", str(bad), "-o", str(tmp_path / "b.png"), "--json"]) == 2
    assert "does not fit" in _json(capsys)["error"]


def test_invert_aligned(tiny, tmp_path, photo, capsys):
    from ganstudio.tasks.faces.align import align_face, ffhq_quad
    from ganstudio.tasks.faces.detect import detect_faces

    src = np.asarray(Image.open(photo).convert("RGB"))
    a = align_face(src, ffhq_quad(detect_faces(src)[0].points5), 256).to_uint8()
    p = tmp_path / "aligned.png"
    Image.fromarray(a).save(p)
    lat = tmp_path / "a.npy"
    assert main(["face", "invert", str(p), "--aligned", "--latent-out", str(lat), "--json"]) == 0
    assert np.load(lat).shape == (1, 10, 32)
    Image.fromarray(src[:300]).save(tmp_path / "wide.png")
    assert main(["face", "invert", str(tmp_path / "wide.png"), "--aligned", "--latent-out",
                 str(tmp_path / "b.npy"), "--json"]) == 2


def test_models_not_installed_message(photo, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GANSTUDIO_CACHE", str(tmp_path / "cache"))
    from ganstudio.tasks import face_edit

    face_edit.set_model_factory(None)
    rc = main(["face", "edit", str(photo), "-o", str(tmp_path / "o.png"), "--edit", "smile=1",
               "--json"])
    assert rc == 2
    err = _json(capsys)["error"]
    assert "not installed" in err and "face" in err


def test_cli_subprocess_detect_starts_without_torch(photo):
    code = ("import sys; from ganstudio.cli import main; rc = main(['face', 'detect', sys.argv[1], "
            "'--json', '--no-age']); assert 'torch' not in sys.modules, 'torch imported'; "
            "sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code, str(photo)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["count"] == 1
