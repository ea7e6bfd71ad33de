"""`ganstudio scene` (public CLI contract): ids / colour PNGs, --palette, --size, --seed, --json,
--palettes, bad inputs (exit 2 with a clear message)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ganstudio.cli import main
from ganstudio.core import labels as L


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    import torch
    from safetensors.torch import save_file

    from ganstudio.archs.scene_compact_arch import SceneCompact

    torch.manual_seed(1)
    net = SceneCompact(label_nc=8, ngf=4, z_ch=4, widths=(4, 2, 1), hidden=8)
    with torch.no_grad():
        for b in net.blocks:
            b.noise_strength.fill_(0.5)
    p = tmp_path_factory.mktemp("m") / "scene_tiny.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(p))
    return str(p)


def _maps(tmp_path):
    land = L.load_palette("landscape")
    m = L.blank_landscape(60, 40)
    m[25:, 20:50] = land.by_name("sea").id
    ids, col = tmp_path / "ids.png", tmp_path / "col.png"
    L.write_label_png(ids, m)
    L.write_label_png(col, m, land, colors=True)
    return m, ids, col


def _json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_ids_and_colour_pngs_give_the_same_result(tmp_path, tiny_model, capsys):
    _, ids, col = _maps(tmp_path)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert main(["scene", str(ids), "-o", str(a), "--model", tiny_model, "--palette", "landscape",
                 "--work-size", "64", "--seed", "3", "--json", "--precision", "fp32"]) == 0
    ja = _json(capsys)
    assert ja["ok"] and ja["outputs"][0]["seed"] == 3 and ja["palette"] == "landscape"
    assert main(["scene", str(col), "-o", str(b), "--model", tiny_model, "--work-size", "64",
                 "--seed", "3", "--json", "--precision", "fp32"]) == 0          # palette found by colour
    jb = _json(capsys)
    assert jb["palette"] == "landscape"
    assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))
    assert Image.open(a).size == (60, 40)


def test_size_and_variations(tmp_path, tiny_model, capsys):
    _, ids, _ = _maps(tmp_path)
    out = tmp_path / "v.png"
    assert main(["scene", str(ids), "-o", str(out), "--model", tiny_model, "--size", "150x50",
                 "--variations", "2", "--work-size", "64", "--json"]) == 0
    j = _json(capsys)
    assert [o["seed"] for o in j["outputs"]] == [0, 1]
    assert Image.open(tmp_path / "v_1.png").size == (150, 50)
    assert (tmp_path / "v_2.png").exists()


def test_photo_and_mask_mix(tmp_path, tiny_model, capsys):
    m, ids, _ = _maps(tmp_path)
    photo = np.full((40, 60, 3), 77, np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    mask = np.zeros((40, 60), np.uint8)
    mask[:, 30:] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "mix.png"
    assert main(["scene", str(ids), "-o", str(out), "--model", tiny_model, "--photo",
                 str(tmp_path / "photo.png"), "--mask", str(tmp_path / "mask.png"), "--feather", "2",
                 "--work-size", "64", "--json"]) == 0
    res = np.asarray(Image.open(out))
    assert (res[:, :25] == 77).all()                      # untouched outside the mask + feather
    assert not (res[:, 35:] == 77).all()


def test_palettes_listing(capsys):
    assert main(["scene", "--palettes", "--json"]) == 0
    j = _json(capsys)
    names = {p["name"]: p for p in j["palettes"]}
    assert {"landscape", "ade20k", "coco", "cityscapes"} <= set(names)
    assert len(names["ade20k"]["classes"]) == 151 and len(names["coco"]["classes"]) == 183
    assert main(["scene", "--palettes"]) == 0
    assert "landscape" in capsys.readouterr().out


@pytest.mark.parametrize("case,needle", [
    ("unknown_id", "label ids not in the Landscape label set: 77"),
    ("bad_colour", "colours that match no class"),
    ("empty", "empty"),
    ("bad_size", "--size must be WxH"),
    ("missing", "no such file"),
])
def test_bad_inputs_exit_2_with_a_clear_message(tmp_path, tiny_model, capsys, case, needle):
    m, ids, col = _maps(tmp_path)
    args = ["scene", str(ids), "-o", str(tmp_path / "o.png"), "--model", tiny_model, "--json"]
    if case == "unknown_id":
        m2 = m.copy()
        m2[0, 0] = 77
        L.write_label_png(ids, m2)
        args += ["--palette", "landscape"]
    elif case == "bad_colour":
        rgb = np.asarray(Image.open(col)).copy()
        rgb[5, 5] = (1, 2, 3)
        Image.fromarray(rgb).save(col)
        args[1] = str(col)
        args += ["--palette", "landscape"]
    elif case == "empty":
        L.write_label_png(ids, np.zeros((20, 20), np.uint8))
    elif case == "bad_size":
        args += ["--size", "12by4"]
    elif case == "missing":
        args[1] = str(tmp_path / "nope.png")
    assert main(args) == 2
    err = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert err["ok"] is False and needle in err["error"]
