"""Catalog parsing and validation (models/catalog/*.toml)."""

from __future__ import annotations

import pytest

from ganstudio.models.catalog import Catalog, CatalogError, default_catalog, parse_catalog_text

GOOD = """
[[model]]
id = "realesrgan.test"
task = "super_resolution"
arch = "rrdbnet"
name = "Test"
scale = 4
licence = "BSD-3-Clause"
origin = "https://example.org"
files = [{ name = "w.pth", url = "https://example.org/w.pth", size = 10 }]
"""


def test_shipped_catalog_parses_and_has_the_offline_models():
    cat = default_catalog()
    for mid in ("realesrgan.x4plus", "realesrgan.x4plus-anime-6b", "realesrgan.animevideov3-x2",
                "realesrgan.animevideov3-x3", "realesrgan.animevideov3-x4"):
        e = cat.get(mid)
        assert e.kind == "package" and e.offline and e.task == "super_resolution"
        assert e.package.converter == "ncnn" and len(e.package.sha256) == 2
    for mid in ("realesrgan.x4plus-pth", "realesrgan.x4plus-anime-6b-pth",
                "realesrgan.animevideov3-pth", "realesrgan.x2plus-pth", "realesrgan.general-x4v3-pth"):
        e = cat.get(mid)
        assert e.kind == "download"
        assert e.files[0].url.startswith("https://github.com/xinntao/Real-ESRGAN/releases/download/")
        assert not e.files[0].sha256          # never invented: only known facts recorded
        assert e.files[0].sha256_prefix
    assert cat.get("realesrgan.x4plus-pth").files[0].size == 67040989
    assert cat.get("realesrgan.animevideov3-x2").scale == 2
    assert cat.get("realesrgan.animevideov3-x2").resize_after == "bicubic"
    assert all(e.licence and e.origin for e in cat)
    assert cat.for_task("super_resolution")


def test_good_entry_parses():
    (e,) = parse_catalog_text(GOOD, "t.toml")
    assert e.id == "realesrgan.test" and e.size == 10 and e.kind == "download"
    assert e.to_dict()["files"][0]["name"] == "w.pth"


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.replace('task = "super_resolution"', 'task = "nope"'), "unknown task"),
    (lambda s: s.replace('id = "realesrgan.test"', 'id = "Bad ID"'), "id must look like"),
    (lambda s: s.replace('licence = "BSD-3-Clause"\n', ''), "missing required field 'licence'"),
    (lambda s: s.replace('scale = 4', 'scale = "4"'), "'scale' must be int"),
    (lambda s: s.replace('size = 10', 'size = 10, sha256 = "abc"'), "64 hex digits"),
    (lambda s: s.replace('url = "https', 'url = "ftp'), "url must be http"),
    (lambda s: s + 'colour = "red"\n', "unknown key"),
    (lambda s: s.replace('files = [', 'builtin = "builtin/x.safetensors"\nfiles = ['), "exactly one source"),
    (lambda s: s.replace('name = "w.pth"', 'name = "../w.pth"'), "plain file name"),
    (lambda s: s + "[[model\n", "not valid TOML"),
])
def test_bad_entries_are_rejected_clearly(edit, message):
    with pytest.raises(CatalogError, match=message) as ei:
        parse_catalog_text(edit(GOOD), "t.toml")
    assert "t.toml" in str(ei.value)


def test_package_source_validation():
    text = GOOD.replace('files = [{ name = "w.pth", url = "https://example.org/w.pth", size = 10 }]',
                        'package = { pypi = "p", module = "p", converter = "onnx", files = ["a.param", "a.bin"] }')
    with pytest.raises(CatalogError, match="unknown converter"):
        parse_catalog_text(text)
    text = text.replace('"onnx"', '"ncnn"').replace('["a.param", "a.bin"]', '["a.bin"]')
    with pytest.raises(CatalogError, match=r"\.param"):
        parse_catalog_text(text)


def test_duplicate_ids_and_unknown_lookup(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD)
    (tmp_path / "b.toml").write_text(GOOD)
    with pytest.raises(CatalogError, match="duplicate model id"):
        Catalog.load(tmp_path)
    (tmp_path / "b.toml").unlink()
    cat = Catalog.load(tmp_path)
    with pytest.raises(KeyError, match="did you mean"):
        cat.get("realesrgan.nope")
