"""OpenRaster layer groups: nested <stack>s as Krita and GIMP write them open as GroupLayers
(opacity, visibility, composite-op, isolation, offsets) and round-trip with their structure;
the import notes list only what is really lost."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ganstudio.core.compositing import composite
from ganstudio.core.document import Document
from ganstudio.core.io.ora import load_ora, save_ora
from ganstudio.core.io.pngchunks import encode_png
from ganstudio.core.layers import BlendMode, GroupLayer, RasterLayer


def write_ora(path: Path, stack_xml: str, images: dict[str, np.ndarray]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), b"image/openraster", zipfile.ZIP_STORED)
        zf.writestr("stack.xml", stack_xml.encode(), zipfile.ZIP_DEFLATED)
        for name, arr in images.items():
            zf.writestr(name, encode_png(arr), zipfile.ZIP_STORED)


def solid(rgba, w=4, h=4) -> np.ndarray:
    a = np.empty((h, w, 4), np.uint8)
    a[...] = rgba
    return a


def tree(doc: Document) -> list:
    def enc(n):
        return (n.name, [enc(c) for c in n.children]) if n.is_group else n.name
    return [enc(n) for n in doc.root.children]


# Krita's stack save visitor: the root group is a <stack name="root" ... isolation="isolate">, each
# group a <stack> with name / opacity / visibility / composite-op / isolation ("auto" when the group
# is pass-through), selected="true" on the active node, ops it has no svg: name for as krita:<id>.
KRITA_STACK = """<?xml version="1.0" encoding="UTF-8"?>
<!-- written the way Krita's kis_open_raster_stack_save_visitor lays it out -->
<image version="0.0.1" w="4" h="4" xres="72" yres="72">
 <stack name="root" opacity="1" visibility="visible" composite-op="svg:src-over" isolation="isolate">
  <stack name="Shading" opacity="0.5" visibility="visible" composite-op="svg:multiply"
         isolation="isolate" selected="true">
   <stack name="Details" opacity="1" visibility="visible" composite-op="svg:src-over" isolation="auto">
    <layer name="Glow" src="data/layer4.png" x="0" y="0" opacity="1" visibility="visible"
           composite-op="krita:exclusion"/>
    <layer name="Tone" src="data/layer3.png" x="0" y="0" opacity="1" visibility="visible"
           composite-op="svg:luminosity"/>
   </stack>
   <layer name="Ink" src="data/layer2.png" x="0" y="0" opacity="1" visibility="visible"
          composite-op="krita:dodge"/>
  </stack>
  <stack name="Sketch" opacity="1" visibility="hidden" composite-op="svg:src-over" isolation="auto">
   <layer name="Pencil" src="data/layer5.png" x="0" y="0" opacity="1" visibility="visible"
          composite-op="svg:src-over"/>
  </stack>
  <layer name="Background" src="data/layer1.png" x="0" y="0" opacity="1" visibility="visible"
         composite-op="svg:src-over" edit-locked="true"/>
 </stack>
</image>"""


def krita_file(tmp_path: Path) -> Path:
    path = tmp_path / "krita.ora"
    write_ora(path, KRITA_STACK, {
        "data/layer1.png": solid((200, 200, 200, 255)),
        "data/layer2.png": solid((51, 51, 51, 255)),
        "data/layer3.png": solid((255, 0, 0, 255)),
        "data/layer4.png": solid((0, 0, 0, 0)),
        "data/layer5.png": solid((0, 0, 0, 255)),
        "mergedimage.png": solid((0, 0, 0, 255)),
    })
    return path


def test_open_krita_groups(tmp_path: Path) -> None:
    doc = load_ora(krita_file(tmp_path))
    assert tree(doc) == ["Background", ("Sketch", ["Pencil"]),
                         ("Shading", ["Ink", ("Details", ["Tone", "Glow"])])]
    bg, pencil, ink, tone, glow = doc.layers          # paint order
    shading, details = ink.parent, tone.parent
    sketch = pencil.parent
    assert isinstance(shading, GroupLayer) and not shading.pass_through
    assert shading.opacity == pytest.approx(0.5) and shading.blend_mode is BlendMode.MULTIPLY
    assert details.pass_through and details.parent is shading
    assert sketch.pass_through and not sketch.visible and pencil.visible
    assert ink.blend_mode is BlendMode.COLOR_DODGE and glow.blend_mode is BlendMode.EXCLUSION
    assert tone.blend_mode is BlendMode.LUMINOSITY and bg.locked
    assert doc.active_node is shading and doc.active_layer is None
    assert not doc.metadata.get("import_notes")       # groups and these modes are kept
    # the picture, by hand: inside the isolated group, Ink (0.2 grey) lands on nothing (itself);
    # Tone (luminosity of red = 0.3) over it: SetLum(grey 0.2, 0.3) = 0.3 grey; exclusion of a
    # transparent layer: nothing. Group: multiply 0.3 over 200/255 at 50 %:
    # 0.784 * (1 - 0.5) + 0.5 * 0.784 * 0.3 = 0.51 -> 130
    out = composite(doc)
    assert np.abs(out[0, 0].astype(int) - [130, 130, 130, 255]).max() <= 1


def test_krita_groups_round_trip(tmp_path: Path) -> None:
    doc = load_ora(krita_file(tmp_path))
    before = composite(doc)
    out = tmp_path / "again.ora"
    save_ora(doc, out)
    with zipfile.ZipFile(out) as zf:
        root = ET.fromstring(zf.read("stack.xml"))
    top = root.find("stack")
    groups = {el.get("name"): el for el in top.iter("stack")}
    assert groups["Shading"].get("isolation") == "isolate"
    assert groups["Shading"].get("composite-op") == "svg:multiply"
    assert groups["Shading"].get("selected") == "true"
    assert groups["Details"].get("isolation") == "auto"
    assert groups["Sketch"].get("visibility") == "hidden"
    assert [el.get("name") for el in groups["Details"]] == ["Glow", "Tone"]   # top first
    assert groups["Details"].find("layer").get("composite-op") == "svg:exclusion"
    srcs = [el.get("src") for el in top.iter("layer")]
    assert len(set(srcs)) == len(srcs) == 5
    again = load_ora(out)
    assert tree(again) == tree(doc)
    for a, b in zip(doc.walk_layers(), again.walk_layers()):
        assert a.attributes() == b.attributes()
    assert again.active_node.name == "Shading"
    np.testing.assert_array_equal(composite(again), before)


# GIMP's file-openraster plug-in: no root attributes, groups as <stack name opacity visibility
# composite-op> without isolation (GIMP groups are pass-through), layers with their own offsets.
GIMP_STACK = """<image w="6" h="3"><stack>\
<stack name="Group" opacity="0.5" visibility="visible" composite-op="svg:src-over">\
<layer src="data/001-000.png" name="Top" x="2" y="1" opacity="1.0" visibility="visible" composite-op="svg:multiply" />\
<stack name="Hidden" opacity="1.0" visibility="hidden" composite-op="svg:src-over">\
<layer src="data/001-001-000.png" name="Under" x="0" y="0" opacity="1.0" visibility="visible" composite-op="svg:src-over" />\
</stack>\
</stack>\
<stack name="Moved" x="3" y="1"><layer src="data/002-000.png" name="Dot" x="1" y="0" /></stack>\
<layer src="data/000.png" name="Background" x="0" y="0" opacity="1.0" visibility="visible" composite-op="svg:src-over" />\
</stack></image>"""


def test_open_gimp_groups_pass_through_and_offsets(tmp_path: Path) -> None:
    path = tmp_path / "gimp.ora"
    write_ora(path, GIMP_STACK, {
        "data/000.png": solid((200, 200, 200, 255), 6, 3),
        "data/001-000.png": solid((128, 128, 128, 255), 2, 2),
        "data/001-001-000.png": solid((255, 0, 0, 255), 6, 3),
        "data/002-000.png": solid((0, 0, 255, 255), 1, 1),
    })
    doc = load_ora(path)
    assert tree(doc) == ["Background", ("Moved", ["Dot"]), ("Group", [("Hidden", ["Under"]), "Top"])]
    bg, dot, under, top = doc.layers
    group = top.parent
    assert group.pass_through and group.opacity == pytest.approx(0.5)   # no isolation: pass-through
    assert top.offset == (2, 1) and dot.offset == (4, 1)              # stack x/y added in
    assert not under.parent.visible
    assert not doc.metadata.get("import_notes")
    out = composite(doc)
    # pass-through at 50 %: multiply 128 over 200 = 100.4, faded halfway back to 200 -> 150
    assert out[1, 2].tolist() == [150, 150, 150, 255] and out[0, 0].tolist() == [200, 200, 200, 255]
    assert out[1, 4].tolist() == [0, 0, 255, 255]                      # the dot, moved by its stack
    # written back: same tree, offsets absolute, the stack offset gone (nothing moves)
    save_ora(doc, tmp_path / "back.ora")
    again = load_ora(tmp_path / "back.ora")
    assert tree(again) == tree(doc) and again.layers[1].offset == (4, 1)
    np.testing.assert_array_equal(composite(again), out)


def test_notes_list_only_what_is_lost(tmp_path: Path) -> None:
    stack = """<image w="2" h="2"><stack>
<stack name="Odd" composite-op="krita:darker color" isolation="isolate">
  <layer name="PS soft" src="data/a.png" composite-op="krita:soft_light"/>
  <filter name="Blur" type="applications:krita:blur"/>
</stack>
<stack name="Plain"><layer name="dodge" src="data/a.png" composite-op="svg:color-dodge"/></stack>
</stack></image>"""
    path = tmp_path / "lossy.ora"
    write_ora(path, stack, {"data/a.png": solid((1, 2, 3, 255), 2, 2)})
    doc = load_ora(path)
    notes = doc.metadata["import_notes"]
    assert tree(doc) == [("Plain", ["dodge"]), ("Odd", ["PS soft"])]
    joined = " | ".join(notes)
    assert "group “Odd”: blend mode krita:darker color not supported" in joined
    assert "layer “PS soft”: blend mode krita:soft_light not supported" in joined
    assert "<filter> “Blur” element skipped" in joined
    assert len(notes) == 3
    assert "flattened" not in joined and "color-dodge" not in joined and "Plain" not in joined


def test_our_groups_round_trip_exactly(tmp_path: Path, rng) -> None:
    doc = Document(5, 4)
    base = doc.add_layer(RasterLayer("base", rng.integers(0, 256, (4, 5, 4), dtype=np.uint8)))
    a = doc.add_layer(RasterLayer("a", rng.integers(0, 256, (2, 3, 4), dtype=np.uint8),
                                  offset=(1, 1), blend_mode=BlendMode.HUE))
    b = doc.add_layer(RasterLayer("b", rng.integers(0, 256, (4, 5, 4), dtype=np.uint8),
                                  blend_mode=BlendMode.COLOR_BURN, opacity=0.7))
    g = doc.group_layers([a, b], name="G")
    doc.set_layer_attr(g, "pass_through", False)
    doc.set_layer_attr(g, "blend_mode", BlendMode.SATURATION)
    doc.set_layer_attr(g, "opacity", 0.8)
    doc.set_layer_attr(g, "locked", True)
    inner = doc.group_layers([b], name="inner")
    doc.set_layer_attr(inner, "visible", False)
    doc.new_group("empty")
    doc.active_node = base
    path = tmp_path / "ours.ora"
    save_ora(doc, path)
    again = load_ora(path)
    assert tree(again) == tree(doc) == ["base", ("G", ["a", ("inner", ["b", ("empty", [])])])]
    for x, y in zip(doc.walk_layers(), again.walk_layers()):
        assert x.attributes() == y.attributes() and x.kind == y.kind
        if not x.is_group:
            np.testing.assert_array_equal(x.pixels, y.pixels)
    assert again.active_layer.name == "base"
    np.testing.assert_array_equal(composite(again), composite(doc))
    with zipfile.ZipFile(path) as zf:
        merged = zf.read("mergedimage.png")
    assert merged                                   # written from the group-aware composite


def test_snapshot_save_keeps_groups(tmp_path: Path, rng) -> None:
    """Saves and autosaves write a copy-on-write snapshot: the groups must be in it."""
    from ganstudio.core.snapshot import DocumentSnapshot

    doc = Document(4, 4)
    a = doc.add_layer(RasterLayer("a", rng.integers(0, 256, (4, 4, 4), dtype=np.uint8)))
    b = doc.add_layer(RasterLayer("b", rng.integers(0, 256, (4, 4, 4), dtype=np.uint8),
                                  blend_mode=BlendMode.EXCLUSION))
    g = doc.group_layers([b], name="G")
    doc.set_layer_attr(g, "pass_through", False)
    doc.set_layer_attr(g, "opacity", 0.3)
    with DocumentSnapshot(doc) as snap:
        with doc.edit_pixels(a) as px:                 # edits after the snapshot are not saved
            px[...] = 0
        copy = snap.materialize()
    assert tree(copy) == ["a", ("G", ["b"])]
    save_ora(copy, tmp_path / "snap.ora", mark_saved=False)
    again = load_ora(tmp_path / "snap.ora")
    ag = again.root.children[1]
    assert ag.is_group and not ag.pass_through and ag.opacity == pytest.approx(0.3)
    assert again.layers[1].blend_mode is BlendMode.EXCLUSION
    assert (again.layers[0].pixels != 0).any()


def test_autosave_and_recovery_keep_groups(tmp_path: Path, rng) -> None:
    from ganstudio.core.autosave import Autosaver

    doc = Document(4, 4)
    doc.add_layer(RasterLayer("a", rng.integers(0, 256, (4, 4, 4), dtype=np.uint8)))
    b = doc.add_layer(RasterLayer("b", rng.integers(0, 256, (4, 4, 4), dtype=np.uint8)))
    g = doc.group_layers([b], name="G")
    doc.set_layer_attr(g, "visible", False)
    saver = Autosaver(doc, tmp_path / "rec", interval_s=0, background=False)
    assert saver.maybe_save()
    back = load_ora(saver.ora_path)             # what recover() opens after a crash
    assert tree(back) == ["a", ("G", ["b"])] and not back.root.children[1].visible
    saver.close()
