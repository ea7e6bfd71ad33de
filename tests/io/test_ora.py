"""OpenRaster projects: exact round-trips of everything we store, GIMP/Krita files, unsafe archives."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from iohelpers import make_exif, png_bomb

from ganstudio.core.compositing import composite
from ganstudio.core.document import Document
from ganstudio.core.io import ImageTooLargeError, ProjectFileError, load_ora, save_ora
from ganstudio.core.io import ora as ora_mod
from ganstudio.core.io.pngchunks import decode_png_array, encode_png
from ganstudio.core.layers import BlendMode, LabelClass, LabelLayer, RasterLayer

PALETTE = [LabelClass(1, "sky", (70, 130, 180)), LabelClass(2, "tree", (34, 139, 34)),
           LabelClass(300, "rock", (120, 120, 120))]


def _rich_doc(rng: np.random.Generator, srgb_icc: bytes) -> Document:
    doc = Document(40, 30)
    bg = RasterLayer("Background", rng.integers(0, 256, (30, 40, 4), dtype=np.uint8))
    ai = RasterLayer("Inpaint result", rng.integers(0, 256, (12, 50, 4), dtype=np.uint8),
                     offset=(-6, 25), opacity=0.4321, blend_mode=BlendMode.MULTIPLY, locked=True,
                     visible=False,
                     provenance={"task": "inpaint", "model": "lama.big", "seed": 7,
                                 "request": {"steps": 3, "mode": "crop"}, "time": "2024-01-01T00:00:00"})
    ai.set_mask(rng.integers(0, 256, (12, 50), dtype=np.uint8))
    off = RasterLayer("Disabled mask", rng.integers(0, 256, (30, 40, 4), dtype=np.uint8),
                      blend_mode=BlendMode.ADD, opacity=0.5)
    off.set_mask(np.full((30, 40), 9, np.uint8))
    off.set_mask_enabled(False)
    labels = LabelLayer("Scene", rng.choice([0, 1, 2, 300], (30, 40)).astype(np.uint16), PALETTE,
                        palette_name="ade20k", blend_mode=BlendMode.SCREEN)
    for layer in (bg, ai, off, labels):
        doc.add_layer(layer)
    for mode in (BlendMode.OVERLAY, BlendMode.DARKEN, BlendMode.LIGHTEN, BlendMode.SOFT_LIGHT,
                 BlendMode.HARD_LIGHT, BlendMode.DIFFERENCE):
        doc.add_layer(RasterLayer(mode.value, rng.integers(0, 256, (3, 4, 4), dtype=np.uint8),
                                  blend_mode=mode, offset=(50, -10)))  # outside the canvas
    doc.active_layer = ai
    sel = np.zeros((30, 40), np.uint8)
    sel[5:20, 3:30] = 255
    sel[6, 6] = 128
    doc.set_selection(sel)
    doc.ai_mask = (rng.random((30, 40)) > 0.7).astype(np.uint8) * 255
    doc.icc_profile = srgb_icc
    doc.exif = make_exif()
    doc.metadata.update(dpi=(300.0, 300.0), note="hello")
    return doc


def _assert_same_layers(a: Document, b: Document) -> None:
    assert len(a.layers) == len(b.layers)
    for la, lb in zip(a.layers, b.layers):
        assert type(la) is type(lb)
        assert la.attributes() == lb.attributes()
        if isinstance(la, LabelLayer):
            assert lb.labels.dtype == la.labels.dtype
            np.testing.assert_array_equal(lb.labels, la.labels)
            assert lb.palette == la.palette and lb.palette_name == la.palette_name
            assert lb.transparent_id == la.transparent_id
        else:
            assert lb.pixels.dtype == la.pixels.dtype
            np.testing.assert_array_equal(lb.pixels, la.pixels)
        if la.mask is None:
            assert lb.mask is None
        else:
            np.testing.assert_array_equal(lb.mask, la.mask)


def test_roundtrip_everything(tmp_path: Path, rng: np.random.Generator, srgb_icc: bytes) -> None:
    doc = _rich_doc(rng, srgb_icc)
    path = tmp_path / "project.ora"
    save_ora(doc, path)
    assert doc.path == path and not doc.modified and doc.source_format == "ORA"
    back = load_ora(path)
    _assert_same_layers(doc, back)
    assert back.size == doc.size
    assert back.active_layer is back.layers[1]
    np.testing.assert_array_equal(back.selection, doc.selection)
    np.testing.assert_array_equal(back.ai_mask, doc.ai_mask)
    assert back.icc_profile == srgb_icc and back.exif == doc.exif
    assert back.metadata["dpi"] == (300.0, 300.0) and back.metadata["note"] == "hello"
    assert not back.modified and not back.history.can_undo() and back.path == path
    # saving the loaded document again gives identical content
    save_ora(back, tmp_path / "again.ora")
    _assert_same_layers(doc, load_ora(tmp_path / "again.ora"))


def test_roundtrip_16bit(tmp_path: Path, rgba16: np.ndarray) -> None:
    doc = Document(rgba16.shape[1], rgba16.shape[0])
    doc.add_layer(RasterLayer("deep", rgba16, opacity=0.75))
    doc.add_layer(RasterLayer("deep2", rgba16[::-1].copy()))
    save_ora(doc, tmp_path / "deep.ora")
    back = load_ora(tmp_path / "deep.ora")
    _assert_same_layers(doc, back)
    with zipfile.ZipFile(tmp_path / "deep.ora") as zf:
        assert decode_png_array(zf.read("data/layer000.png")).dtype == np.uint16
        assert decode_png_array(zf.read("mergedimage.png")).dtype == np.uint16


def test_archive_layout_for_other_programs(tmp_path: Path, rng: np.random.Generator,
                                           srgb_icc: bytes) -> None:
    doc = _rich_doc(rng, srgb_icc)
    path = tmp_path / "layout.ora"
    save_ora(doc, path)
    with zipfile.ZipFile(path) as zf:
        first = zf.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert zf.read("mimetype") == b"image/openraster"
        assert first.header_offset == 0
        assert path.read_bytes()[30:38] == b"mimetype"  # right after the first local header
        import xml.etree.ElementTree as ET
        root = ET.fromstring(zf.read("stack.xml"))
        assert (root.get("w"), root.get("h"), root.get("xres")) == ("40", "30", "300")
        layers = root.find("stack").findall("layer")
        assert [el.get("name") for el in layers][-4:] == ["Scene", "Disabled mask", "Inpaint result",
                                                         "Background"]
        ai = layers[-2]
        assert ai.get("composite-op") == "svg:multiply" and ai.get("visibility") == "hidden"
        assert ai.get("edit-locked") == "true" and ai.get("selected") == "true"
        assert float(ai.get("opacity")) == pytest.approx(0.4321)
        assert (ai.get("x"), ai.get("y")) == ("-6", "25")
        ops = {el.get("name"): el.get("composite-op") for el in layers}
        assert ops["Disabled mask"] == "svg:plus" and ops["Scene"] == "svg:screen"
        assert ops["soft-light"] == "svg:soft-light" and ops["difference"] == "svg:difference"
        # what GIMP/Krita display: the label layer rendered, the mask applied
        shown = decode_png_array(zf.read(ai.get("src")))
        raw_px = doc.layers[1].pixels
        expect_a = (raw_px[:, :, 3].astype(int) * doc.layers[1].mask + 127) // 255
        np.testing.assert_array_equal(shown[:, :, 3], expect_a)
        scene = decode_png_array(zf.read(layers[-4].get("src")))
        np.testing.assert_array_equal(scene, doc.layers[3].rgba())
        merged = decode_png_array(zf.read("mergedimage.png"))
        np.testing.assert_array_equal(merged, composite(doc))
        assert b"iCCP" in zf.read("mergedimage.png")[:200]
        thumb = decode_png_array(zf.read("Thumbnails/thumbnail.png"))
        assert max(thumb.shape[:2]) <= 256
        assert json.loads(zf.read(layers[-4].get(f"{{{ora_mod.NS}}}palette")))["palette_name"] == "ade20k"


def test_thumbnail_is_scaled(tmp_path: Path) -> None:
    doc = Document(600, 300)
    doc.add_layer(RasterLayer.blank("a", 600, 300, fill=(1, 2, 3, 255)))
    save_ora(doc, tmp_path / "big.ora")
    with zipfile.ZipFile(tmp_path / "big.ora") as zf:
        assert decode_png_array(zf.read("Thumbnails/thumbnail.png")).shape == (128, 256, 4)


# -- files written by other programs -----------------------------------------------------------
def _write_zip(path: Path, members: dict[str, bytes], *, mimetype: bytes | None = b"image/openraster"
               ) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        if mimetype is not None:
            zf.writestr(zipfile.ZipInfo("mimetype"), mimetype, zipfile.ZIP_STORED)
        for name, data in members.items():
            zf.writestr(name, data, zipfile.ZIP_DEFLATED)


def _png(rgba: np.ndarray) -> bytes:
    return encode_png(rgba)


def test_open_gimp_style_ora(tmp_path: Path, rng: np.random.Generator) -> None:
    a = rng.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    b = rng.integers(0, 256, (5, 6, 4), dtype=np.uint8)
    c = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)
    d = rng.integers(0, 256, (4, 4, 4), dtype=np.uint8)
    stack = """<?xml version='1.0' encoding='UTF-8'?>
<image version="0.0.3" w="30" h="20">
  <stack>
    <stack name="Group &amp; co" x="2" y="3" opacity="0.5" visibility="visible" composite-op="svg:multiply"
           isolation="isolate">
      <layer name="in group" src="data/b.png" x="1" y="1" opacity="0.8" visibility="visible"
             composite-op="svg:screen"/>
      <stack name="hidden group" visibility="hidden">
        <layer name="deep" src="data/d.png"/>
      </stack>
    </stack>
    <layer name="off canvas" src="data/c.png" x="-50" y="500" visibility="hidden"
           composite-op="svg:color-dodge"/>
    <layer src="data/a.png"/>
  </stack>
</image>"""
    path = tmp_path / "gimp.ora"
    _write_zip(path, {"stack.xml": stack.encode(), "data/a.png": _png(a), "data/b.png": _png(b),
                      "data/c.png": _png(c), "data/d.png": _png(d),
                      "mergedimage.png": _png(a), "Thumbnails/thumbnail.png": _png(a)})
    doc = load_ora(path)
    names = [la.name for la in doc.layers]
    assert names == ["Layer 1", "off canvas", "deep", "in group"]  # bottom first
    bottom, off, deep, ingroup = doc.layers
    np.testing.assert_array_equal(bottom.pixels, a)
    assert bottom.opacity == 1.0 and bottom.visible and bottom.offset == (0, 0)
    assert off.offset == (-50, 500) and not off.visible and off.blend_mode is BlendMode.COLOR_DODGE
    # nested stacks are layer groups now (tests/io/test_ora_groups.py has the details)
    group = ingroup.parent
    assert group is not None and group.name == "Group & co" and not group.pass_through
    assert group.opacity == pytest.approx(0.5) and group.blend_mode is BlendMode.MULTIPLY
    assert ingroup.offset == (3, 4) and ingroup.opacity == pytest.approx(0.8)
    assert ingroup.blend_mode is BlendMode.SCREEN
    assert deep.visible and not deep.parent.visible and deep.parent.parent is group
    assert not doc.metadata.get("import_notes")   # nothing was lost
    assert doc.active_layer is ingroup  # none selected: the top layer


def test_open_krita_style_ora(tmp_path: Path, rng: np.random.Generator) -> None:
    deep = rng.integers(0, 65536, (10, 12, 4), dtype=np.uint16)
    flat = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)  # an RGB PNG without alpha
    stack = """<?xml version="1.0" encoding="UTF-8"?>
<image xres="150" yres="150" h="10" w="12" version="0.0.1">
 <stack name="root" opacity="1" visibility="visible">
  <layer x="0" y="0" name="Paint 16" src="data/layer2.png" composite-op="svg:overlay"
         opacity="0.6" visibility="visible" selected="true" edit-locked="true"/>
  <layer x="0" y="0" name="Background" src="data/layer1.png" composite-op="svg:src-over"
         opacity="1" visibility="visible"/>
 </stack>
</image>"""
    path = tmp_path / "krita.ora"
    _write_zip(path, {"stack.xml": stack.encode(), "data/layer1.png": _png(flat),
                      "data/layer2.png": _png(deep), "mergedimage.png": _png(flat)})
    doc = load_ora(path)
    bg, paint = doc.layers
    assert paint.pixels.dtype == np.uint16
    np.testing.assert_array_equal(paint.pixels, deep)
    assert paint.locked and paint.blend_mode is BlendMode.OVERLAY and paint.opacity == pytest.approx(0.6)
    assert doc.active_layer is paint
    np.testing.assert_array_equal(bg.pixels[:, :, :3], flat)
    assert (bg.pixels[:, :, 3] == 255).all()
    assert doc.metadata["dpi"] == (150.0, 150.0)


# -- unsafe / broken archives ---------------------------------------------------------------------
STACK_ONE = """<?xml version='1.0' encoding='UTF-8'?>
<image w="4" h="4"><stack><layer name="L" src="{src}"/></stack></image>"""


def _one_layer(path: Path, src: str, extra: dict[str, bytes] | None = None) -> None:
    members = {"stack.xml": STACK_ONE.format(src=src).encode(),
               "data/l.png": _png(np.zeros((4, 4, 4), np.uint8))}
    members.update(extra or {})
    _write_zip(path, members)


@pytest.mark.parametrize("src", ["../../etc/passwd", "/etc/passwd", "data/../../x.png",
                                 "C:/Windows/x.png", "..\\..\\x.png"])
def test_src_path_traversal_refused(tmp_path: Path, src: str) -> None:
    path = tmp_path / "evil.ora"
    _one_layer(path, src)
    with pytest.raises(ProjectFileError, match=r"evil\.ora.*unsafe"):
        load_ora(path)


def test_member_path_traversal_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil2.ora"
    _one_layer(path, "data/l.png", {"../outside.png": b"x"})
    with pytest.raises(ProjectFileError, match=r"unsafe.*\.\./outside\.png|outside\.png"):
        load_ora(path)
    path3 = tmp_path / "evil3.ora"
    _one_layer(path3, "data/l.png", {"/abs.png": b"x"})
    with pytest.raises(ProjectFileError, match="unsafe"):
        load_ora(path3)


def test_missing_layer_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.ora"
    _one_layer(path, "data/nothere.png")
    with pytest.raises(ProjectFileError, match=r"missing\.ora.*“data/nothere\.png” is missing"):
        load_ora(path)


def test_broken_xml_and_structure(tmp_path: Path) -> None:
    path = tmp_path / "broken.ora"
    _write_zip(path, {"stack.xml": b"<image w='4' h='4'><stack><layer name='x'"})
    with pytest.raises(ProjectFileError, match=r"broken\.ora.*not valid XML"):
        load_ora(path)
    _write_zip(path, {"data/l.png": b""})
    with pytest.raises(ProjectFileError, match="stack.xml is missing"):
        load_ora(path)
    _write_zip(path, {"stack.xml": b"<image><stack/></image>"})
    with pytest.raises(ProjectFileError, match="no valid image size"):
        load_ora(path)
    _write_zip(path, {"stack.xml": b"<image w='4' h='4'><stack><layer name='x'/></stack></image>"})
    with pytest.raises(ProjectFileError, match="has no src"):
        load_ora(path)
    bomb_xml = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]>'
                b"<image w='4' h='4'><stack/></image>")
    _write_zip(path, {"stack.xml": bomb_xml})
    with pytest.raises(ProjectFileError, match="DOCTYPE"):
        load_ora(path)
    _write_zip(path, {"stack.xml": STACK_ONE.format(src="x").encode()}, mimetype=b"application/zip")
    with pytest.raises(ProjectFileError, match="not an OpenRaster project"):
        load_ora(path)


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "fake.ora"
    path.write_bytes(b"\x89PNG\r\n\x1a\n not a zip at all")
    with pytest.raises(ProjectFileError, match=r"fake\.ora.*not a valid zip"):
        load_ora(path)
    empty = tmp_path / "empty.ora"
    empty.write_bytes(b"")
    with pytest.raises(ProjectFileError, match="not a valid zip"):
        load_ora(empty)


def test_damaged_layer_png(tmp_path: Path) -> None:
    path = tmp_path / "damaged.ora"
    good = _png(np.zeros((4, 4, 4), np.uint8))
    _one_layer(path, "data/bad.png", {"data/bad.png": good[:40]})
    with pytest.raises(ProjectFileError, match=r"damaged\.ora.*layer “L”"):
        load_ora(path)


def test_zip_bomb_declared_sizes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.ora"
    _one_layer(path, "data/l.png", {"data/filler.bin": b"\x00" * 3_000_000})  # ~3 KB on disk
    assert path.stat().st_size < 50_000
    monkeypatch.setattr(ora_mod, "MAX_MEMBER_BYTES", 1_000_000)
    with pytest.raises(ProjectFileError, match=r"bomb\.ora.*zip bomb"):
        load_ora(path)
    monkeypatch.setattr(ora_mod, "MAX_MEMBER_BYTES", 10_000_000)
    monkeypatch.setattr(ora_mod, "MAX_TOTAL_BYTES", 2_000_000)
    with pytest.raises(ProjectFileError, match="zip bomb"):
        load_ora(path)


def test_total_layer_pixels_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "many.ora"
    stack = ("<image w='4' h='4'><stack>"
             + "".join(f"<layer name='l{i}' src='data/l.png'/>" for i in range(5)) + "</stack></image>")
    _write_zip(path, {"stack.xml": stack.encode(), "data/l.png": _png(np.zeros((4, 4, 4), np.uint8))})
    monkeypatch.setattr(ora_mod, "MAX_TOTAL_PIXELS", 60)
    with pytest.raises(ProjectFileError, match=r"many\.ora.*add up.*allow_huge=True"):
        load_ora(path)
    assert len(load_ora(path, allow_huge=True).layers) == 5


def test_non_ascii_project_path(tmp_path: Path) -> None:
    doc = Document(5, 5)
    doc.add_layer(RasterLayer.blank("ü", 5, 5, fill=(1, 2, 3, 4)))
    path = tmp_path / "mes projets ★" / "проект 1.ora"
    path.parent.mkdir()
    save_ora(doc, path)
    back = load_ora(path)
    assert back.layers[0].name == "ü" and tuple(back.layers[0].pixels[0, 0]) == (1, 2, 3, 4)
    np.testing.assert_array_equal(ora_mod.read_merged_image(path), composite(doc))


def test_png_bomb_inside_ora(tmp_path: Path) -> None:
    path = tmp_path / "pngbomb.ora"
    _one_layer(path, "data/big.png", {"data/big.png": png_bomb(90_000, 90_000)})
    with pytest.raises(ImageTooLargeError, match="allow_huge=True"):
        load_ora(path)
    canvas = tmp_path / "canvas.ora"
    _write_zip(canvas, {"stack.xml": b"<image w='100000' h='100000'><stack/></image>"})
    with pytest.raises(ImageTooLargeError, match="100000x100000"):
        load_ora(canvas)
