"""Label sets as data, landscape -> model mapping, label-map PNG import (ids and colours)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ganstudio.core import labels as L


def test_bundled_label_sets_have_official_sizes_and_ids():
    ade = L.load_palette("ade20k")
    assert len(ade.classes) == 151 and ade.ids == list(range(151))
    assert ade.by_id(3).name == "sky" and ade.by_id(3).color == (6, 230, 230)
    assert ade.by_id(150).name == "flag" and ade.by_id(129).name == "lake"
    assert ade.by_id(22).full_name == "water"
    coco = L.load_palette("coco-stuff")          # alias
    assert coco.name == "coco" and len(coco.classes) == 183
    assert coco.by_id(0).name == "person" and coco.by_id(181).name == "wood"
    assert coco.by_id(156).name == "sky-other" and coco.by_id(156).color == (95, 219, 255)
    assert coco.by_id(255).name == "unlabeled" and coco.unlabelled == 255
    assert coco.by_id(11).unused                          # street sign: no annotations
    city = L.load_palette("cityscapes")
    assert len(city.classes) == 35 and city.by_id(7).name == "road" and city.by_id(23).color == (70, 130, 180)
    assert {"landscape", "ade20k", "coco", "cityscapes", "builtin_scene"} <= set(L.palette_names())


def test_landscape_maps_onto_every_model_label_set():
    land = L.load_palette("landscape")
    names = {c.name for c in land.classes}
    assert {"sky", "cloud", "mountain", "rock", "hill", "tree", "bush", "grass", "field", "flower",
            "water", "sea", "river", "lake", "sand", "snow", "road", "building"} <= names
    ade, coco, builtin = (L.load_palette(n) for n in ("ade20k", "coco", "builtin_scene"))
    for c in land.classes:
        for target, ls in (("ade20k", ade), ("coco", coco), ("builtin_scene", builtin)):
            assert c.maps[target] in ls.ids, (c.name, target)
    assert ade.by_id(land.by_name("sea").maps["ade20k"]).name == "sea"
    assert coco.by_id(land.by_name("cloud").maps["coco"]).name == "clouds"
    assert builtin.by_id(land.by_name("lake").maps["builtin_scene"]).name == "water"
    m = np.array([[land.by_name("sky").id, land.by_name("tree").id],
                  [land.by_name("sea").id, land.by_name("unlabelled").id]], np.uint8)
    assert L.map_labels(m, land, "ade20k").tolist() == [[3, 5], [27, 0]]
    assert L.map_labels(m, land, "coco").tolist() == [[156, 168], [154, 255]]


def test_palette_json_round_trip(tmp_path):
    for name in ("landscape", "ade20k", "coco", "cityscapes"):
        ls = L.load_palette(name)
        p = tmp_path / f"{name}.json"
        L.save_palette(ls, p)
        back = L.load_palette(p)
        assert back == ls
        assert [c.maps for c in back.classes] == [c.maps for c in ls.classes]
        assert json.loads(p.read_text())["format"] == L.FORMAT


def test_search_finds_by_name_then_full_name():
    ade = L.load_palette("ade20k")
    assert [c.name for c in ade.search("water")] == ["water", "waterfall"]
    hits = [c.name for c in ade.search("edifice")]            # only in "building, edifice"
    assert hits == ["building"]
    assert len(ade.search("")) == 151


def test_colour_png_round_trip_and_ids_png(tmp_path, rng):
    land = L.load_palette("landscape")
    labels = rng.choice(land.ids, size=(37, 53)).astype(np.uint8)
    p = tmp_path / "colours.png"
    L.write_label_png(p, labels, land, colors=True)
    assert np.array_equal(L.read_label_png(p, land), labels)
    q = tmp_path / "ids.png"
    L.write_label_png(q, labels)
    assert Image.open(q).mode == "L"
    assert np.array_equal(L.read_label_png(q, land), labels)
    # paletted PNG: the palette indices are the ids
    pim = Image.fromarray(labels, mode="P")
    pim.putpalette(L.load_palette("landscape").color_lut().ravel().tolist())
    pim.save(tmp_path / "p.png")
    assert np.array_equal(L.read_label_png(tmp_path / "p.png", mode="ids"), labels)
    # 16-bit ids
    big = np.array([[0, 300], [65535, 7]], np.uint16)
    L.write_label_png(tmp_path / "16.png", big)
    assert np.array_equal(L.read_label_png(tmp_path / "16.png"), big)


def test_unknown_colours_are_named(tmp_path):
    land = L.load_palette("landscape")
    rgb = L.colorize(L.blank_landscape(20, 10), land)
    rgb[2, 3] = (1, 2, 3)
    Image.fromarray(rgb).save(tmp_path / "x.png")
    with pytest.raises(L.LabelError, match=r"#010203 \(1 px, first at x=3 y=2\)"):
        L.read_label_png(tmp_path / "x.png", land)
    with pytest.raises(L.LabelError, match="name its palette"):
        L.read_label_png(tmp_path / "x.png")


def test_ids_outside_the_set_are_named():
    ade = L.load_palette("ade20k")
    m = np.zeros((4, 4), np.uint8)
    m[1, 2] = 151
    m[3, 3] = 200
    with pytest.raises(L.LabelError, match=r"151 \(1 px, first at x=2 y=1\), 200"):
        L.validate_labels(m, ade)


def test_transparent_pixels_become_unlabelled_and_size_limits(tmp_path, monkeypatch):
    land = L.load_palette("landscape")
    rgba = np.zeros((6, 6, 4), np.uint8)
    rgba[..., :3] = land.by_name("sky").color
    rgba[..., 3] = 255
    rgba[0, 0] = (9, 9, 9, 0)
    Image.fromarray(rgba).save(tmp_path / "a.png")
    out = L.read_label_png(tmp_path / "a.png", land)
    assert out[0, 0] == 0 and (out[1:] == 1).all()
    monkeypatch.setattr(L, "MAX_LABEL_PIXELS", 30)
    with pytest.raises(L.LabelError, match="larger than the limit"):
        L.read_label_png(tmp_path / "a.png", land)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(L.LabelError, match="cannot read"):
        L.read_label_png(tmp_path / "broken.png")


def test_duplicate_colours_map_to_the_lowest_id():
    ade = L.load_palette("ade20k")
    rgb = np.array([[[140, 140, 140]]], np.uint8)   # road (7) and skyscraper (49) share it
    assert L.labels_from_colors(rgb, ade)[0, 0] == 7


def test_instance_edges_match_the_official_definition():
    inst = np.array([[1, 1, 2], [1, 1, 2], [3, 3, 3]])
    e = L.instance_edges(inst)
    assert e.tolist() == [[0, 1, 1], [1, 1, 1], [1, 1, 1]]


def test_blank_landscape_template():
    land = L.load_palette("landscape")
    m = L.blank_landscape(8, 10, horizon=0.5)
    assert (m[:5] == land.by_name("sky").id).all() and (m[5:] == land.by_name("grass").id).all()


def test_bad_label_set_files(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"classes": [{"id": 1, "name": "a", "color": [1, 2, 3]},
                                         {"id": 1, "name": "b", "color": [1, 2, 4]}]}))
    with pytest.raises(L.LabelError, match="duplicate ids"):
        L.load_palette(p)
    with pytest.raises(L.LabelError, match="unknown palette"):
        L.load_palette("nope")
