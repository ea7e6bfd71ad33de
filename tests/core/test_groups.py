"""Layer groups in the document: tree operations (one undo step each), doc.layers kept as the
paint layers, and group compositing (pass-through and isolated) against hand-computed pixels."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core.compositing import composite, composite_layers
from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import BlendMode, GroupLayer, RasterLayer


def solid(name: str, rgba, size=(2, 2), **attrs) -> RasterLayer:
    px = np.empty((size[1], size[0], 4), np.uint8)
    px[...] = rgba
    return RasterLayer(name, px, **attrs)


def names(nodes) -> list[str]:
    return [n.name for n in nodes]


def tree(doc: Document) -> list:
    def enc(n):
        return (n.name, [enc(c) for c in n.children]) if n.is_group else n.name
    return [enc(n) for n in doc.root.children]


@pytest.fixture
def doc() -> Document:
    d = Document(2, 2)
    for name in ("a", "b", "c", "d"):
        d.add_layer(solid(name, (0, 0, 0, 255)))
    d.history.clear()
    return d


# -- tree operations ---------------------------------------------------------------------------------
def test_group_layers_keeps_order_and_is_one_step(doc: Document) -> None:
    a, b, c, d = doc.layers
    steps = len(doc.history)
    g = doc.group_layers([c, b], name="G")
    assert len(doc.history) == steps + 1
    assert tree(doc) == ["a", ("G", ["b", "c"]), "d"]
    assert names(doc.layers) == ["a", "b", "c", "d"]      # doc.layers: paint layers, paint order
    assert doc.active_node is g and doc.active_layer is None
    assert doc.parent_of(b) is g and b.parent is g and doc.parent_of(g) is None
    assert doc.position_of(c) == (g, 1) and doc.depth_of(c) == 1
    assert doc.index_of(c) == 2 and doc.contains(g) and g not in doc.layers
    doc.history.undo()
    assert tree(doc) == ["a", "b", "c", "d"] and not doc.has_groups
    assert doc.active_layer is d
    doc.history.redo()
    assert tree(doc) == ["a", ("G", ["b", "c"]), "d"]


def test_group_layers_from_different_levels(doc: Document) -> None:
    a, b, c, d = doc.layers
    inner = doc.group_layers([b], name="inner")
    doc.group_layers([a, inner, d], name="outer")
    # the new group sits where the topmost picked node (d) was
    assert tree(doc) == ["c", ("outer", ["a", ("inner", ["b"]), "d"])]
    assert names(doc.layers) == ["c", "a", "b", "d"]


def test_new_group_goes_above_active_and_layers_go_inside(doc: Document) -> None:
    a, b, c, d = doc.layers
    doc.active_layer = b
    g = doc.new_group("G")
    assert tree(doc) == ["a", "b", ("G", []), "c", "d"]
    assert doc.active_node is g
    new = doc.new_raster_layer("n")                      # inside the selected group, on top
    assert tree(doc) == ["a", "b", ("G", ["n"]), "c", "d"]
    assert doc.parent_of(new) is g
    n2 = doc.new_raster_layer("n2")                      # above the active layer, same group
    assert tree(doc) == ["a", "b", ("G", ["n", "n2"]), "c", "d"]
    doc.history.undo()
    doc.history.undo()
    doc.history.undo()
    assert tree(doc) == ["a", "b", "c", "d"] and doc.active_layer is b
    assert n2 not in doc.layers


def test_move_node_into_out_of_and_within_groups(doc: Document) -> None:
    a, b, c, d = doc.layers
    g = doc.group_layers([b, c], name="G")
    doc.move_node(d, g, 0)                               # into the group, at the bottom
    assert tree(doc) == ["a", ("G", ["d", "b", "c"])]
    assert names(doc.layers) == ["a", "d", "b", "c"]
    doc.move_node(c, None, 0)                            # out, to the bottom of the top level
    assert tree(doc) == ["c", "a", ("G", ["d", "b"])]
    doc.move_node(d, g)                                  # within: to the top of the group
    assert tree(doc) == ["c", "a", ("G", ["b", "d"])]
    with pytest.raises(ValueError):
        doc.move_node(g, g)
    inner = doc.group_layers([b], name="inner")
    with pytest.raises(ValueError):
        doc.move_node(g, inner)                          # into its own descendant
    doc.history.undo()   # group inner
    doc.history.undo()
    doc.history.undo()
    doc.history.undo()
    assert tree(doc) == ["a", ("G", ["b", "c"]), "d"]


def test_move_layer_flat_index_crosses_groups(doc: Document) -> None:
    a, b, c, d = doc.layers
    g = doc.group_layers([b, c], name="G")
    doc.move_layer(d, 1)          # lands right below the layer now at index 1 (b, in G)
    assert names(doc.layers) == ["a", "d", "b", "c"] and d.parent is g
    doc.move_layer(a, 3)          # on top
    assert names(doc.layers) == ["d", "b", "c", "a"] and a.parent is None
    doc.move_layer(a, 2)          # below c: back into the group
    assert names(doc.layers) == ["d", "b", "a", "c"] and a.parent is g
    for _ in range(3):
        doc.history.undo()
    assert tree(doc) == ["a", ("G", ["b", "c"]), "d"]


def test_ungroup_restores_children_in_place(doc: Document) -> None:
    a, b, c, d = doc.layers
    g = doc.group_layers([b, c], name="G")
    g.opacity = 0.5
    steps = len(doc.history)
    kids = doc.ungroup(g)
    assert kids == [b, c] and len(doc.history) == steps + 1
    assert tree(doc) == ["a", "b", "c", "d"] and not doc.contains(g)
    assert doc.active_layer is c
    doc.history.undo()
    assert tree(doc) == ["a", ("G", ["b", "c"]), "d"] and doc.active_node is g


def test_duplicate_and_delete_group_with_children(doc: Document) -> None:
    a, b, c, d = doc.layers
    g = doc.group_layers([b, c], name="G")
    g.pass_through = False
    g.opacity = 0.25
    dup = doc.duplicate_layer(g)
    assert tree(doc) == ["a", ("G", ["b", "c"]), ("G copy", ["b", "c"]), "d"]
    assert dup.opacity == 0.25 and not dup.pass_through and len(doc.layers) == 6
    copy_b = dup.children[0]
    with doc.edit_pixels(copy_b) as px:
        px[...] = 255
    assert (b.pixels[..., 0] == 0).all()                 # the copy owns its pixels
    doc.remove_layer(g)
    assert tree(doc) == ["a", ("G copy", ["b", "c"]), "d"] and b not in doc.layers
    doc.history.undo()
    assert tree(doc) == ["a", ("G", ["b", "c"]), ("G copy", ["b", "c"]), "d"]
    doc.history.undo()
    doc.history.undo()
    assert tree(doc) == ["a", ("G", ["b", "c"]), "d"]


def test_locked_group_locks_its_layers(doc: Document) -> None:
    a, b, c, d = doc.layers
    g = doc.group_layers([b], name="G")
    doc.set_layer_attr(g, "locked", True)
    with pytest.raises(PermissionError):
        with doc.edit_pixels(b):
            pass
    doc.history.undo()
    with doc.edit_pixels(b) as px:
        px[0, 0] = 9


def test_group_attributes_undo_and_redraw_events(doc: Document) -> None:
    a, b, c, d = doc.layers
    g = doc.group_layers([b], name="G")
    seen: list[Rect] = []
    doc.events.region.connect(seen.append)
    doc.set_layer_attr(g, "pass_through", False)
    doc.set_layer_attr(g, "opacity", 0.5)
    doc.set_layer_attr(g, "blend_mode", BlendMode.MULTIPLY)
    doc.set_layer_attr(g, "visible", False)
    assert len(seen) == 4 and all(r == b.bounds for r in seen)
    for _ in range(4):
        doc.history.undo()
    assert g.pass_through and g.opacity == 1 and g.blend_mode is BlendMode.NORMAL and g.visible


def test_group_offset_moves_its_layers(doc: Document) -> None:
    a, b, c, d = doc.layers
    g = doc.group_layers([b, c], name="G")
    doc.set_layer_attr(g, "offset", (3, -1))
    assert b.offset == (3, -1) and c.offset == (3, -1) and g.bounds == Rect(3, -1, 2, 2)
    doc.history.undo()
    assert b.offset == (0, 0) and c.offset == (0, 0)


def test_group_structure_round_trip_on_a_copy(doc: Document) -> None:
    a, b, c, d = doc.layers
    g = doc.group_layers([b, c], name="G")
    doc.group_layers([c], name="inner")
    g.pass_through = False
    g.opacity = 0.5
    doc.active_node = g
    struct = doc.group_structure()
    copy = Document(2, 2)
    for la in doc.layers:                  # as snapshots do: straight into the list
        dup = la.duplicate()
        dup.name = la.name
        copy.layers.append(dup)
    copy.apply_group_structure(struct)
    assert tree(copy) == tree(doc) == ["a", ("G", ["b", ("inner", ["c"])]), "d"]
    cg = copy.root.children[1]
    assert cg.is_group and cg.name == "G" and not cg.pass_through and cg.opacity == 0.5
    assert names(cg.children)[1] == "inner" and copy.active_node is cg
    assert Document(2, 2).group_structure() is None


def test_sync_tree_takes_directly_appended_layers() -> None:
    doc = Document(1, 1)
    la = solid("x", (1, 2, 3, 255), (1, 1))
    doc.layers.append(la)                  # private copies do this
    assert composite(doc)[0, 0].tolist() == [1, 2, 3, 255]
    assert doc.root.children == [la] and doc.contains(la)


# -- compositing ---------------------------------------------------------------------------------------
def one(doc: Document) -> list[int]:
    return composite(doc)[0, 0].tolist()


def base_doc() -> tuple[Document, RasterLayer]:
    d = Document(1, 1)
    base = solid("base", (200, 200, 200, 255), (1, 1))
    d.add_layer(base)
    return d, base


def test_pass_through_group_composites_like_no_group(rng) -> None:
    flat = Document(8, 8)
    grouped = Document(8, 8)
    for i, mode in enumerate(("normal", "multiply", "screen", "hue", "color-burn")):
        px = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)
        flat.add_layer(RasterLayer(str(i), px, blend_mode=BlendMode(mode), opacity=0.8))
        grouped.add_layer(RasterLayer(str(i), px.copy(), blend_mode=BlendMode(mode), opacity=0.8))
    grouped.group_layers(grouped.layers[1:4], name="G")
    grouped.group_layers([grouped.layers[2]], name="inner")
    assert np.array_equal(composite(flat), composite(grouped))


def test_isolated_group_keeps_blend_modes_inside() -> None:
    d, base = base_doc()
    mult = solid("m", (128, 128, 128, 255), (1, 1), blend_mode=BlendMode.MULTIPLY)
    d.add_layer(mult)
    g = d.group_layers([mult])
    assert one(d) == [100, 100, 100, 255]          # pass-through: 200 * 128/255 = 100.4
    d.set_layer_attr(g, "pass_through", False)
    assert one(d) == [128, 128, 128, 255]          # isolated: multiply over nothing = itself
    d.set_layer_attr(g, "blend_mode", BlendMode.MULTIPLY)
    assert one(d) == [100, 100, 100, 255]          # ... and the group multiplies instead
    d.set_layer_attr(g, "visible", False)
    assert one(d) == [200, 200, 200, 255]


def test_isolated_group_opacity_applies_to_the_group_result() -> None:
    d = Document(1, 1)
    d.add_layer(solid("black", (0, 0, 0, 255), (1, 1)))
    red = d.add_layer(solid("red", (255, 0, 0, 255), (1, 1)))
    blue = d.add_layer(solid("blue", (0, 0, 255, 255), (1, 1)))
    g = d.group_layers([red, blue])
    d.set_layer_attr(g, "pass_through", False)
    d.set_layer_attr(g, "opacity", 0.5)
    assert one(d) == [0, 0, 128, 255]        # blue at 50 %; red is hidden by blue in the group
    # what flattening the group (opacity multiplied into each layer) would show instead
    red.opacity = blue.opacity = 0.5
    d.set_layer_attr(g, "opacity", 1.0)
    assert one(d) == [64, 0, 128, 255]


def test_pass_through_group_opacity_fades_against_the_backdrop() -> None:
    d, base = base_doc()
    mult = d.add_layer(solid("m", (128, 128, 128, 255), (1, 1), blend_mode=BlendMode.MULTIPLY))
    g = d.group_layers([mult])
    d.set_layer_attr(g, "opacity", 0.5)
    assert one(d) == [150, 150, 150, 255]    # 200 + 0.5 (100.4 - 200)


def test_nested_groups_and_partial_bounds() -> None:
    d = Document(3, 1)
    d.add_layer(solid("white", (255, 255, 255, 255), (3, 1)))
    small = d.add_layer(RasterLayer("small", np.full((1, 1, 4), (0, 0, 0, 255), np.uint8),
                                    offset=(1, 0)))
    inner = d.group_layers([small], name="inner")
    outer = d.group_layers([inner], name="outer")
    for g in (inner, outer):
        d.set_layer_attr(g, "pass_through", False)
    d.set_layer_attr(inner, "opacity", 0.5)
    d.set_layer_attr(outer, "opacity", 0.5)
    out = composite(d)
    assert out[0, 0].tolist() == [255, 255, 255, 255] and out[0, 2].tolist() == [255, 255, 255, 255]
    assert out[0, 1].tolist() == [191, 191, 191, 255]   # black at 25 % over white


def test_hidden_group_hides_nested_layers_and_empty_groups_draw_nothing() -> None:
    d, base = base_doc()
    top = d.add_layer(solid("t", (0, 0, 0, 255), (1, 1)))
    g = d.group_layers([top])
    d.new_group("empty")
    d.set_layer_attr(g, "visible", False)
    assert one(d) == [200, 200, 200, 255]


def test_composite_layers_subset_goes_through_groups() -> None:
    """The canvas' before/after view composites doc.layers minus one layer."""
    d, base = base_doc()
    mult = d.add_layer(solid("m", (128, 128, 128, 255), (1, 1), blend_mode=BlendMode.MULTIPLY))
    extra = d.add_layer(solid("x", (0, 0, 0, 128), (1, 1)))
    g = d.group_layers([mult, extra])
    d.set_layer_attr(g, "pass_through", False)
    rect = Rect(0, 0, 1, 1)
    assert composite_layers([la for la in d.layers if la is not extra], rect)[0, 0].tolist() == \
        [128, 128, 128, 255]
    assert np.array_equal(composite_layers(d.layers, rect), composite(d))


def test_merge_group_looks_the_same_and_is_one_step() -> None:
    d = Document(2, 1)
    d.add_layer(solid("bg", (30, 60, 90, 255), (2, 1)))
    a = d.add_layer(solid("a", (200, 10, 10, 255), (1, 1)))
    b = d.add_layer(RasterLayer("b", np.full((1, 1, 4), (10, 200, 10, 200), np.uint8),
                                offset=(1, 0), blend_mode=BlendMode.SCREEN))
    g = d.group_layers([a, b], name="G")
    d.set_layer_attr(g, "pass_through", False)
    d.set_layer_attr(g, "opacity", 0.6)
    d.set_layer_attr(g, "blend_mode", BlendMode.MULTIPLY)
    before = composite(d)
    steps = len(d.history)
    merged = d.merge_group(g)
    assert len(d.history) == steps + 1
    assert tree(d) == ["bg", "G"] and merged.opacity == 0.6
    assert merged.blend_mode is BlendMode.MULTIPLY and merged.bounds == Rect(0, 0, 2, 1)
    assert np.abs(composite(d).astype(int) - before).max() <= 1
    d.history.undo()
    assert tree(d) == ["bg", ("G", ["a", "b"])]
    with pytest.raises(ValueError):
        d.merge_group(d.new_group("empty"))


def test_group_rgba_is_its_isolated_composite() -> None:
    g = GroupLayer("g", [solid("a", (255, 0, 0, 255), (1, 1)),
                         solid("b", (0, 0, 255, 128), (1, 1))])
    assert g.rgba()[0, 0].tolist() == [127, 0, 128, 255]
    assert g.duplicate().name == "g copy" and names(g.duplicate().children) == ["a", "b"]


def test_replace_layer_keeps_the_place_in_its_group(doc: Document) -> None:
    a, b, c, d = doc.layers
    doc.group_layers([b, c], name="G")
    new = solid("new", (9, 9, 9, 255))
    steps = len(doc.history)
    doc.replace_layer(c, new)                  # c is the top of G
    assert tree(doc) == ["a", ("G", ["b", "new"]), "d"] and doc.active_layer is new
    assert len(doc.history) == steps + 1
    doc.history.undo()
    assert tree(doc) == ["a", ("G", ["b", "c"]), "d"]
