"""Image / layer rotate and flip (exact), free transform (affine, premultiplied, 16-bit, masks),
clipboard (copy / cut / paste / open as layers): results, one undo step each, exact undo."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core import clipboard as clip
from ganstudio.core import transform as tf
from ganstudio.core.compositing import composite
from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import LabelClass, LabelLayer, RasterLayer


def state(doc: Document) -> tuple:
    return (doc.size, [(la.uid, la.offset, la.data.copy(), None if la.mask is None else la.mask.copy())
                       for la in doc.layers],
            None if doc.selection is None else doc.selection.copy(),
            None if doc.ai_mask is None else doc.ai_mask.copy())


def same(a: tuple, b: tuple) -> bool:
    if a[0] != b[0] or len(a[1]) != len(b[1]):
        return False
    for x, y in zip(a[1], b[1]):
        if x[0] != y[0] or x[1] != y[1] or x[2].dtype != y[2].dtype or not np.array_equal(x[2], y[2]):
            return False
        if (x[3] is None) != (y[3] is None) or (x[3] is not None and not np.array_equal(x[3], y[3])):
            return False
    for i in (2, 3):
        if (a[i] is None) != (b[i] is None) or (a[i] is not None and not np.array_equal(a[i], b[i])):
            return False
    return True


def rich_doc(dtype=np.uint8) -> Document:
    """6x4 canvas, a full background, an offset layer with a mask, a label layer, a selection and
    an AI mask, all with distinct values so any wrong mapping shows."""
    rng = np.random.default_rng(1)
    doc = Document(6, 4)
    maxv = 65535 if dtype == np.uint16 else 255
    bg = rng.integers(0, maxv, (4, 6, 4), dtype=np.int64).astype(dtype)
    bg[..., 3] = maxv
    doc.add_layer(RasterLayer("bg", bg))
    top = rng.integers(0, maxv, (2, 3, 4), dtype=np.int64).astype(dtype)
    mask = np.array([[255, 0, 128], [10, 20, 30]], np.uint8)
    doc.add_layer(RasterLayer("top", top, offset=(1, 1), mask=mask))
    labels = np.arange(24, dtype=np.uint8).reshape(4, 6) % 3
    palette = [LabelClass(1, "a", (255, 0, 0)), LabelClass(2, "b", (0, 0, 255))]
    doc.add_layer(LabelLayer("labels", labels, palette))
    sel = np.zeros((4, 6), np.uint8)
    sel[0, 0], sel[1, 4], sel[3, 5] = 255, 128, 7
    doc.set_selection(sel)
    ai = np.zeros((4, 6), np.uint8)
    ai[2, 1] = 200
    doc.set_ai_mask(ai)
    doc.history.clear()
    return doc


def doc_pixel_maps(doc: Document) -> list[np.ndarray]:
    """Every layer drawn onto a canvas-sized plane (layer pixels at their document position)."""
    out = []
    for la in doc.layers:
        d = la.data
        canvas = np.zeros((doc.height, doc.width) + d.shape[2:], d.dtype)
        m = np.zeros((doc.height, doc.width), np.int32) - 1
        r = la.bounds.intersect(doc.bounds)
        lr = la.to_layer_rect(r)
        canvas[r.slices()] = d[lr.slices()]
        if la.mask is not None:
            m[r.slices()] = la.mask[lr.slices()]
        out += [canvas, m]
    out += [doc.selection, doc.ai_mask]
    return out


@pytest.mark.parametrize("turns,fn", [(1, lambda a: np.rot90(a, -1)), (-1, lambda a: np.rot90(a, 1)),
                                      (2, lambda a: np.rot90(a, 2))])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_rotate_image_exact_everything_moves(turns, fn, dtype) -> None:
    doc = rich_doc(dtype)
    before = state(doc)
    maps = doc_pixel_maps(doc)
    tf.rotate_image(doc, turns)
    assert doc.size == ((4, 6) if turns in (1, -1) else (6, 4))
    for got, old in zip(doc_pixel_maps(doc), maps):
        assert np.array_equal(got, fn(old))
    assert doc.layers[0].data.dtype == dtype
    assert doc.layers[1].offset == {1: (1, 1), -1: (1, 2), 2: (2, 1)}[turns]
    assert len(doc.history) == 1
    doc.history.undo()
    assert same(state(doc), before)
    doc.history.redo()
    assert np.array_equal(doc_pixel_maps(doc)[0], fn(maps[0]))


@pytest.mark.parametrize("axis,fn", [("horizontal", lambda a: a[:, ::-1]), ("vertical", lambda a: a[::-1])])
def test_flip_image_exact(axis, fn) -> None:
    doc = rich_doc()
    before = state(doc)
    maps = doc_pixel_maps(doc)
    comp = composite(doc)
    tf.flip_image(doc, axis)
    for got, old in zip(doc_pixel_maps(doc), maps):
        assert np.array_equal(got, fn(old))
    assert np.array_equal(composite(doc), fn(comp))
    tf.flip_image(doc, axis)
    assert same(state(doc), before)            # twice = the original
    doc.history.undo()
    doc.history.undo()
    assert same(state(doc), before)


def test_rotate_image_jobs_refuse_old_frame() -> None:
    doc = Document(5, 5)
    doc.add_layer(RasterLayer("a", np.zeros((5, 5, 4), np.uint8)))
    frame = doc.frame
    tf.rotate_image(doc, 1)           # square: same size, a new frame all the same
    assert doc.frame != frame
    t = doc.frame_transform(frame)
    assert t is None or (t[2], t[3]) != (1.0, 1.0)
    doc.history.undo()
    assert doc.frame == frame


def test_rotate_and_flip_layer_about_its_centre() -> None:
    doc = rich_doc()
    top = doc.layers[1]
    data, mask = top.data.copy(), top.mask.copy()
    bg_before = doc.layers[0].data.copy()
    tf.rotate_layer(doc, 1, top)
    assert np.array_equal(top.data, np.rot90(data, -1)) and np.array_equal(top.mask, np.rot90(mask, -1))
    # 3x2 at (1, 1): centre (2.5, 2) -> 2x3 at (1.5 -> 1, 0.5 -> 0)... integer centre kept
    assert top.bounds.w == 2 and top.bounds.h == 3 and top.offset == (1, 0)
    assert np.array_equal(doc.layers[0].data, bg_before)        # only the layer turns
    tf.flip_layer(doc, "horizontal", top)
    assert np.array_equal(top.data, np.rot90(data, -1)[:, ::-1])
    assert len(doc.history) == 2
    doc.history.undo()
    doc.history.undo()
    assert np.array_equal(top.data, data) and top.offset == (1, 1) and np.array_equal(top.mask, mask)


def test_layer_transforms_refuse_locked() -> None:
    doc = rich_doc()
    doc.layers[1].locked = True
    for call in (lambda: tf.rotate_layer(doc, 1, doc.layers[1]),
                 lambda: tf.flip_layer(doc, "vertical", doc.layers[1]),
                 lambda: tf.affine_transform_layer(doc, tf.free_transform_matrix((0, 0), 2, 2),
                                                   doc.layers[1])):
        with pytest.raises(PermissionError, match="locked"):
            call()
    assert len(doc.history) == 0
    tf.rotate_image(doc, 2)                       # whole-image geometry moves locked layers too
    assert doc.layers[1].offset == (2, 1)
    with pytest.raises(ValueError):
        tf.flip_image(doc, "diagonal")


# -- free transform --------------------------------------------------------------------------------
def test_affine_integer_move_is_exact_offset_change() -> None:
    doc = rich_doc()
    top = doc.layers[1]
    data = top.data.copy()
    r = tf.affine_transform_layer(doc, np.array([[1, 0, 3], [0, 1, -2]], float), top)
    assert r == Rect(4, -1, 3, 2) and top.offset == (4, -1)
    assert np.array_equal(top.data, data)
    doc.history.undo()
    assert top.offset == (1, 1)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_affine_rotate_90_matches_rot90(dtype) -> None:
    rng = np.random.default_rng(3)
    maxv = 65535 if dtype == np.uint16 else 255
    px = rng.integers(0, maxv, (6, 10, 4), dtype=np.int64).astype(dtype)
    px[..., 3] = maxv
    mask = rng.integers(0, 255, (6, 10), dtype=np.uint8)
    doc = Document(20, 20)
    la = doc.add_layer(RasterLayer("a", px, offset=(4, 6), mask=mask))
    doc.history.clear()
    m = tf.free_transform_matrix((9, 9), 1, 1, 90)
    r = tf.affine_transform_layer(doc, m, la, method="bilinear")
    assert (r.w, r.h) == (6, 10)
    assert la.data.dtype == dtype
    diff = np.abs(la.data.astype(np.int64) - np.rot90(px, -1).astype(np.int64))
    assert diff.max() <= (1 if dtype == np.uint8 else 2)       # pixel centres land on centres
    assert np.abs(la.mask.astype(int) - np.rot90(mask, -1).astype(int)).max() <= 1
    assert len(doc.history) == 1
    doc.history.undo()
    assert np.array_equal(la.data, px) and la.offset == (4, 6) and np.array_equal(la.mask, mask)


def test_affine_scale_premultiplied_no_dark_fringe_and_mask() -> None:
    # a white opaque square on fully transparent *black* pixels: scaling must not darken its edge
    px = np.zeros((8, 8, 4), np.uint8)
    px[2:6, 2:6] = (255, 255, 255, 255)
    doc = Document(32, 32)
    la = doc.add_layer(RasterLayer("a", px, mask=np.full((8, 8), 255, np.uint8)))
    m = tf.free_transform_matrix((4, 4), 2.5, 2.5, 17)
    r = tf.affine_transform_layer(doc, m, la)
    out = la.data
    visible = out[..., 3] > 8
    assert visible.any()
    assert out[visible][:, :3].min() >= 250           # straight colour stays white at soft edges
    assert 0 < (out[..., 3] == 255).sum()
    assert la.mask.shape == out.shape[:2] and la.mask.max() == 255 and la.mask.min() == 0
    assert r.w > 20 and r.h > 20


def test_affine_big_reduction_is_averaged() -> None:
    # 1-px black/white stripes shrunk 8x: grey, not aliased stripes
    px = np.zeros((64, 64, 4), np.uint8)
    px[:, ::2, :3] = 255
    px[..., 3] = 255
    doc = Document(64, 64)
    la = doc.add_layer(RasterLayer("a", px))
    tf.affine_transform_layer(doc, tf.free_transform_matrix((32, 32), 1 / 8, 1 / 8), la)
    inner = la.data[2:-2, 2:-2, :3].astype(int)
    assert abs(inner.mean() - 127.5) < 6 and inner.std() < 12


def test_affine_label_layer_nearest_and_refusals() -> None:
    labels = np.array([[1, 2], [3, 4]], np.uint8)
    doc = Document(10, 10)
    la = doc.add_layer(LabelLayer("l", labels, [LabelClass(i, str(i), (i, i, i)) for i in range(1, 5)]))
    tf.affine_transform_layer(doc, tf.free_transform_matrix((1, 1), 2, 2), la)
    assert set(np.unique(la.labels)) <= {0, 1, 2, 3, 4}          # ids only, never blended
    assert la.labels.shape == (4, 4) and np.array_equal(la.labels[:2, :2], np.ones((2, 2)))
    with pytest.raises(ValueError, match="nothing"):
        tf.affine_transform_layer(doc, np.array([[0, 0, 0], [0, 0, 0]], float), la)


# -- clipboard -------------------------------------------------------------------------------------
def test_copy_soft_selection_mask_and_paste_same_place() -> None:
    doc = Document(8, 8)
    px = np.full((8, 8, 4), 200, np.uint8)
    px[..., 3] = 255
    mask = np.full((8, 8), 255, np.uint8)
    mask[3, 3] = 0
    base = doc.add_layer(RasterLayer("base", px, mask=mask))
    sel = np.zeros((8, 8), np.uint8)
    sel[2:5, 3:6] = 255
    sel[4, 5] = 128
    doc.set_selection(sel)
    c = clip.copy_pixels(doc)
    assert c.origin == (3, 2) and c.size == (3, 3)
    assert c.pixels[2, 2, 3] == 128                     # soft selection: half alpha
    assert c.pixels[1, 0, 3] == 0                       # hidden by the layer mask
    assert c.pixels[0, 0, 3] == 255 and tuple(c.pixels[0, 0, :3]) == (200, 200, 200)
    n = len(doc.history)
    new = clip.paste_as_layer(doc, c)
    assert len(doc.history) == n + 1 and doc.active_layer is new
    assert new.offset == (3, 2) and doc.index_of(new) == doc.index_of(base) + 1
    doc.history.undo()
    assert new not in doc.layers


def test_cut_is_one_step_and_respects_locks_and_16bit() -> None:
    doc = Document(4, 4)
    px = np.full((4, 4, 4), 40000, np.uint16)
    la = doc.add_layer(RasterLayer("a", px))
    doc.set_selection(np.pad(np.full((2, 2), 255, np.uint8), 1))
    n = len(doc.history)
    c = clip.cut_pixels(doc)
    assert c.pixels.dtype == np.uint16 and int(c.pixels[0, 0, 0]) == 40000
    assert len(doc.history) == n + 1
    assert la.data[1, 1, 3] == 0 and la.data[0, 0, 3] == 40000
    doc.history.undo()
    assert np.array_equal(la.data, px)
    la.locked = True
    with pytest.raises(PermissionError):
        clip.cut_pixels(doc)


def test_copy_merged_paste_new_image_and_open_as_layers() -> None:
    doc = Document(4, 4)
    doc.add_layer(RasterLayer("red", np.tile(np.array([255, 0, 0, 255], np.uint8), (4, 4, 1))))
    blue = np.zeros((4, 4, 4), np.uint8)
    blue[:2] = (0, 0, 255, 255)
    doc.add_layer(RasterLayer("blue", blue))
    c = clip.copy_pixels(doc, merged=True)
    assert tuple(c.pixels[0, 0]) == (0, 0, 255, 255) and tuple(c.pixels[3, 0]) == (255, 0, 0, 255)
    nd = clip.new_document_from(c)
    assert nd.size == (4, 4) and np.array_equal(composite(nd), c.pixels) and len(nd.history) == 0
    n = len(doc.history)
    added = clip.add_layers(doc, [("one", np.zeros((2, 2, 3), np.uint16)),
                                  ("two", np.zeros((6, 2, 4), np.uint8))])
    assert len(doc.history) == n + 1
    assert [la.name for la in doc.layers[-2:]] == ["one", "two"]
    assert added[0].offset == (1, 1) and added[0].data.dtype == np.uint16 and added[0].data[0, 0, 3] == 65535
    assert added[1].offset == (1, -1)
    doc.history.undo()
    assert len(doc.layers) == 2


def test_copy_from_offset_layer_off_canvas_and_label_layer() -> None:
    doc = Document(10, 10)
    px = np.zeros((6, 6, 4), np.uint8)
    px[..., 2] = 90
    px[..., 3] = 255
    doc.add_layer(RasterLayer("off", px, offset=(7, -2)))
    c = clip.copy_pixels(doc)                    # no selection: the whole layer, off-canvas too
    assert c.origin == (7, -2) and c.size == (6, 6)
    sel = np.zeros((10, 10), np.uint8)
    sel[0:5, 5:10] = 255
    doc.set_selection(sel)
    c = clip.copy_pixels(doc)                    # selection: only what is on the canvas
    assert c.origin == (7, 0) and c.size == (3, 4)
    lab = doc.add_layer(LabelLayer("l", np.full((10, 10), 1, np.uint8), [LabelClass(1, "a", (9, 8, 7))]))
    c = clip.copy_pixels(doc, lab)
    assert tuple(c.pixels[0, 0]) == (9, 8, 7, 255)
    clip.cut_pixels(doc, lab)
    assert lab.labels[0, 5] == 0 and lab.labels[6, 5] == 1    # cut to the transparent class


def test_transform_selection_moves_selected_pixels_and_the_selection() -> None:
    doc = Document(20, 20)
    px = np.zeros((20, 20, 4), np.uint8)
    px[...] = (0, 0, 255, 255)              # blue everywhere
    px[2:6, 2:6] = (255, 0, 0, 255)          # a red square
    la = doc.add_layer(RasterLayer("a", px))
    sel = np.zeros((20, 20), np.uint8)
    sel[2:6, 2:6] = 255
    doc.set_selection(sel)
    doc.history.clear()
    before = px.copy()
    # move the selected square by (10, 8) with a 90° turn about its centre: whole-pixel exact
    m = tf.free_transform_matrix((4, 4), 1, 1, 90, (10, 8))
    r = tf.transform_selection(doc, m, la, method="bilinear")
    assert r == Rect(0, 0, 20, 20) and len(doc.history) == 1
    assert la.data[3, 3, 3] == 0                             # the hole left behind
    assert tuple(la.data[12, 14]) == (255, 0, 0, 255)       # the square, moved
    assert tuple(la.data[0, 0]) == (0, 0, 255, 255)          # the rest untouched
    assert doc.selection[12, 14] == 255 and doc.selection[3, 3] == 0
    doc.history.undo()
    assert np.array_equal(la.data, before) and doc.selection[3, 3] == 255


def test_transform_selection_grows_the_layer_soft_edges_16bit_and_refusals() -> None:
    doc = Document(10, 10)
    px = np.zeros((10, 10, 4), np.uint16)
    px[...] = (65535, 65535, 65535, 65535)
    la = doc.add_layer(RasterLayer("w", px))
    sel = np.zeros((10, 10), np.uint8)
    sel[0:4, 0:4] = 128                                     # half selected
    doc.set_selection(sel)
    r = tf.transform_selection(doc, np.array([[1, 0, -3], [0, 1, 0]], float), la)
    assert r.x == -3 and r.w == 13 and la.data.dtype == np.uint16
    # what stays keeps half its alpha; the moved half lands over it (half over half = 3/4)
    assert abs(int(la.data[1, 3 + 0, 3]) - 65535 * 3 // 4) < 300     # doc x = 0: stays + moved
    assert abs(int(la.data[1, 3 + 2, 3]) - 65535 // 2) < 300         # doc x = 2: stays only
    assert int(la.data[6, 3 + 2, 3]) == 65535                        # unselected: untouched
    assert abs(int(la.data[1, 0, 3]) - 65535 // 2) < 300             # doc x = -3: moved only
    la2 = doc.add_layer(RasterLayer("m", np.zeros((10, 10, 4), np.uint8),
                                    mask=np.full((10, 10), 255, np.uint8)))
    with pytest.raises(ValueError, match="mask"):
        tf.transform_selection(doc, tf.free_transform_matrix((5, 5), 2, 2), la2)
    lab = doc.add_layer(LabelLayer("l", np.full((10, 10), 1, np.uint8), [LabelClass(1, "a", (1, 1, 1))]))
    doc.set_selection(np.pad(np.full((2, 2), 255, np.uint8), ((0, 8), (0, 8))))
    lab.labels[0:2, 0:2] = 1
    lab.labels[...] = 2
    lab.labels[0:2, 0:2] = 1
    tf.transform_selection(doc, np.array([[1, 0, 5], [0, 1, 5]], float), lab)
    assert lab.labels[0, 0] == 0 and lab.labels[5, 5] == 1 and lab.labels[9, 9] == 2


def test_copy_of_a_layer_group_is_its_composite() -> None:
    doc = Document(8, 8)
    a = doc.add_layer(RasterLayer("a", np.tile(np.array([255, 0, 0, 255], np.uint8), (8, 8, 1))))
    top = np.zeros((4, 4, 4), np.uint8)
    top[...] = (0, 255, 0, 255)
    b = doc.add_layer(RasterLayer("b", top, offset=(2, 2)))
    g = doc.group_layers([a, b])
    doc.active_node = g
    c = clip.copy_pixels(doc)
    assert c.size == (8, 8) and tuple(c.pixels[3, 3]) == (0, 255, 0, 255)
    assert tuple(c.pixels[0, 0]) == (255, 0, 0, 255)
    with pytest.raises(ValueError):
        clip.cut_pixels(doc)                      # a group has no pixels of its own to cut


def test_prepare_then_commit_and_a_layer_changed_meanwhile() -> None:
    doc = rich_doc()
    top = doc.layers[1]
    before = state(doc)
    t = tf.prepare_transform(doc, tf.free_transform_matrix((2.5, 2), 2, 2, 45), top)
    assert same(state(doc), before) and len(doc.history) == 0      # nothing changed yet
    r = tf.commit_transform(doc, t)
    assert top.bounds == r and len(doc.history) == 1
    t2 = tf.prepare_transform(doc, tf.free_transform_matrix((2.5, 2), 0.5, 0.5), top)
    doc.history.undo()                                              # the layer changed under it
    with pytest.raises(ValueError, match="changed"):
        tf.commit_transform(doc, t2)
    assert same(state(doc), before)
