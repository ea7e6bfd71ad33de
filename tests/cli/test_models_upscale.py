"""`ganstudio models ...` and `ganstudio upscale ...` end to end (in process)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageCms

from ganstudio.cli import main
from ganstudio.models.testing import save_safetensors, srvgg_state_dict


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def identity_model(tmp_path):
    p = tmp_path / "identity_x4.safetensors"
    save_safetensors(srvgg_state_dict(identity=True, upscale=4), p)
    return p


@pytest.fixture
def tree(tmp_path, astronaut):
    """in/a.jpg (EXIF + ICC), in/sub/b.png (RGBA), in/sub/deeper/c.png (16-bit), in/notes.txt"""
    root = tmp_path / "in"
    (root / "sub" / "deeper").mkdir(parents=True)
    exif = Image.Exif()
    exif[0x010F] = "GANStudioTestCam"      # Make
    exif[0x0131] = "test-software"         # Software
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(astronaut[:24, :32]).save(root / "a.jpg", quality=95, exif=exif, icc_profile=icc)
    rgba = np.dstack([astronaut[:20, :16], np.full((20, 16), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(root / "sub" / "b.png")
    import cv2

    deep = (astronaut[:12, :10].astype(np.uint16) * 257)[:, :, ::-1]
    cv2.imwrite(str(root / "sub" / "deeper" / "c.png"), deep)
    (root / "notes.txt").write_text("not an image")
    return root, icc


def test_upscale_folder_tree_json_exif_icc(capsys, tmp_path, tree, identity_model):
    root, icc = tree
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "upscale", str(root), "-o", str(out), "--model",
                             str(identity_model), "--scale", "2", "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["ok"] and summary["count"] == 3 and summary["failed"] == 0
    by_name = {f["input"].split("/")[-1]: f for f in summary["files"]}
    assert by_name["a.jpg"]["output_size"] == [64, 48] and by_name["a.jpg"]["input_size"] == [32, 24]
    assert all(f["seconds"] >= 0 and f["bytes"] > 0 for f in summary["files"])
    assert (out / "a.jpg").is_file()
    assert (out / "sub" / "b.png").is_file()
    assert (out / "sub" / "deeper" / "c.png").is_file()
    assert not (out / "notes.txt").exists()
    with Image.open(out / "a.jpg") as im:
        assert im.size == (64, 48)
        assert im.info.get("icc_profile") == icc
        assert im.getexif().get(0x010F) == "GANStudioTestCam"
    with Image.open(out / "sub" / "b.png") as im:
        assert im.mode == "RGBA" and im.size == (32, 40)
        assert abs(int(np.asarray(im)[:, :, 3].mean()) - 128) <= 1
    from ganstudio.core.io import read_image_array

    arr, _, _ = read_image_array(out / "sub" / "deeper" / "c.png")
    assert arr.dtype == np.uint16 and arr.shape[:2] == (24, 20)
    assert by_name["c.png"]["bit_depth"] == 16


def test_upscale_single_file_to_file_and_errors(capsys, tmp_path, tree, identity_model):
    root, _ = tree
    dst = tmp_path / "single.png"
    code, _, err = _run(capsys, "upscale", str(root / "a.jpg"), "-o", str(dst), "--model",
                        str(identity_model), "--quiet")
    assert code == 0, err
    with Image.open(dst) as im:
        assert im.size == (128, 96)
    code, _, err = _run(capsys, "upscale", str(root / "a.jpg"), "-o", str(dst), "--model",
                        str(identity_model))
    assert code == 2 and "exists" in err and "--overwrite" in err
    code, stdout, _ = _run(capsys, "upscale", str(tmp_path / "nope.png"), "-o", str(tmp_path / "o"),
                           "--json")
    assert code == 2 and json.loads(stdout)["ok"] is False
    code, _, err = _run(capsys, "upscale", str(root / "a.jpg"), "-o", str(tmp_path / "o2"),
                        "--model", "realesrgan.unknown")
    assert code == 2 and "unknown model id" in err
    code, _, err = _run(capsys, "upscale", str(root / "a.jpg"), "-o", str(tmp_path / "o3"),
                        "--model", str(identity_model), "--scale", "40")
    assert code == 2 and "--scale" in err


def test_upscale_enhance_keeps_size(capsys, tmp_path, tree, identity_model):
    root, _ = tree
    code, stdout, err = _run(capsys, "upscale", str(root / "sub" / "b.png"), "-o", str(tmp_path / "e"),
                             "--model", str(identity_model), "--enhance", "--json")
    assert code == 0, err
    assert json.loads(stdout)["files"][0]["output_size"] == [16, 20]


def test_models_list_download_verify_remove_import(capsys, model_cache, tmp_path, identity_model):
    code, stdout, _ = _run(capsys, "models", "list", "--json")
    assert code == 0
    data = json.loads(stdout)
    ids = {m["id"]: m for m in data["models"]}
    assert ids["realesrgan.x4plus"]["available_offline"] and not ids["realesrgan.x4plus"]["installed"]
    assert ids["realesrgan.x4plus-pth"]["kind"] == "download"
    code, stdout, _ = _run(capsys, "models", "list")
    assert "realesrgan.animevideov3-x2" in stdout and "BSD-3-Clause" in stdout

    code, stdout, _ = _run(capsys, "models", "download", "realesrgan.animevideov3-x4", "--json")
    assert code == 0 and json.loads(stdout)["models"][0]["ok"]
    code, stdout, _ = _run(capsys, "models", "verify", "--json")
    res = json.loads(stdout)
    assert code == 0 and res["ok"] and "realesrgan.animevideov3-x4" in [m["id"] for m in res["models"]]

    code, stdout, _ = _run(capsys, "models", "import", str(identity_model), "--json")
    assert code == 0
    imp = json.loads(stdout)
    assert imp["id"] == "user.identity_x4" and imp["task"] == "super_resolution"
    code, stdout, _ = _run(capsys, "models", "list", "--installed", "--json")
    installed = {m["id"] for m in json.loads(stdout)["models"]}
    assert {"realesrgan.animevideov3-x4", "user.identity_x4"} <= installed
    assert "realesrgan.x4plus" not in installed
    # tamper -> verify fails with exit 1
    p = model_cache / "models" / "user.identity_x4" / "identity_x4.safetensors"
    data = bytearray(p.read_bytes())
    data[-1] ^= 1
    p.write_bytes(bytes(data))
    code, stdout, _ = _run(capsys, "models", "verify", "user.identity_x4", "--json")
    assert code == 1 and not json.loads(stdout)["ok"]

    code, stdout, _ = _run(capsys, "models", "remove", "user.identity_x4", "realesrgan.animevideov3-x4",
                           "--json")
    assert code == 0 and all(m["removed"] for m in json.loads(stdout)["models"])
    code, _, err = _run(capsys, "models", "remove", "nope.nope")
    assert code == 2 and "unknown model id" in err


def test_models_download_offline_error_is_clear(capsys, model_cache):
    # no network in tests: a .pth download must fail cleanly, not hang (an unroutable URL is not
    # used; instead a catalog id whose server refuses quickly: 127.0.0.1 port 9 is closed)
    from ganstudio.models import store as store_mod
    from ganstudio.models.catalog import Catalog, parse_catalog_text

    text = """
[[model]]
id = "test.closed"
task = "super_resolution"
arch = "rrdbnet"
name = "x"
licence = "MIT"
origin = "https://example.org"
files = [{ name = "w.pth", url = "http://127.0.0.1:9/w.pth", size = 10 }]
"""
    st = store_mod.ModelStore(model_cache / "models", Catalog(parse_catalog_text(text)))
    store_mod._default_store = st
    try:
        code, stdout, _ = _run(capsys, "models", "download", "test.closed", "--retries", "0", "--json")
    finally:
        store_mod._default_store = None
    res = json.loads(stdout)
    assert code == 1 and not res["ok"] and "could not download" in res["models"][0]["error"]


@pytest.mark.slow
def test_default_offline_model_via_cli(capsys, tmp_path, tree, model_cache):
    root, _ = tree
    code, stdout, err = _run(capsys, "upscale", str(root / "sub" / "deeper" / "c.png"), "-o",
                             str(tmp_path / "real"), "--json")
    assert code == 0, err
    f = json.loads(stdout)["files"][0]
    assert f["model"] == "realesrgan.x4plus" and f["output_size"] == [40, 48]
