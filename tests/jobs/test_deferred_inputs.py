"""Deferred job inputs: gather_inputs on a big region takes a copy-on-write snapshot on the GUI
thread and composites on the worker; the pixels are those of gather time, whatever is painted
meanwhile; a region snapshot composites exactly like the document (offsets, masks, groups)."""

from __future__ import annotations

import threading

import numpy as np

from ganstudio.core.compositing import composite
from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import BlendMode, RasterLayer
from ganstudio.core.snapshot import DocumentSnapshot, live_snapshots
from ganstudio.jobs.runner import LazyInputs, assemble, gather_inputs, prepare_result_layers
from ganstudio.tasks.base import Result, ResultLayer


def _doc(w: int = 1200, h: int = 900) -> Document:
    rng = np.random.default_rng(3)
    d = Document(w, h)
    px = rng.integers(0, 255, (h, w, 4), dtype=np.uint8)
    px[..., 3] = 255
    d.add_layer(RasterLayer("photo", px))
    top = RasterLayer("top", rng.integers(0, 255, (300, 400, 4), dtype=np.uint8), offset=(700, 500),
                      opacity=0.6, blend_mode=BlendMode.MULTIPLY,
                      mask=np.tile(np.arange(400, dtype=np.uint8)[None, :], (300, 1)))
    d.add_layer(top)
    d.history.clear()
    return d


def test_big_region_is_deferred_and_keeps_gather_time_pixels() -> None:
    doc = _doc()
    before = composite(doc)
    inputs, rect = gather_inputs(doc, "composite")
    assert isinstance(inputs, LazyInputs) and not inputs.resolved and rect == doc.bounds
    # the user paints over the whole top-left after the job was queued
    r = Rect(0, 0, 800, 600)
    with doc.edit_pixels(doc.layers[0], r, "paint") as px:   # yields the whole array
        px[r.slices()] = (1, 2, 3, 255)
    got: dict = {}
    t = threading.Thread(target=lambda: got.setdefault("img", assemble(inputs).image))
    t.start()
    t.join(60)
    assert inputs.resolved
    np.testing.assert_array_equal(got["img"], before)
    assert not np.array_equal(composite(doc), before)     # the document did change
    assert live_snapshots() == 0                           # the snapshot was released


def test_small_region_is_immediate_and_deferred_false_too() -> None:
    doc = _doc()
    small, _ = gather_inputs(doc, "composite", Rect(10, 10, 100, 100))
    assert not isinstance(small, LazyInputs)
    whole, _ = gather_inputs(doc, "composite", deferred=False)
    assert not isinstance(whole, LazyInputs)
    np.testing.assert_array_equal(whole.image, composite(doc))


def test_region_snapshot_composites_like_the_document() -> None:
    doc = _doc()
    for r in (Rect(650, 450, 500, 400), Rect(0, 0, 300, 200), Rect(900, 700, 300, 200)):
        with DocumentSnapshot(doc) as snap:
            view = snap.materialize(r, extras=False)
        np.testing.assert_array_equal(composite(view, r), composite(doc, r))
        lazy, _ = gather_inputs(doc, "active", r, deferred=True)
        eager, _ = gather_inputs(doc, "active", r, deferred=False)
        np.testing.assert_array_equal(lazy.image, eager.image)
    assert live_snapshots() == 0


def test_groups_survive_a_region_snapshot() -> None:
    doc = _doc()
    if not hasattr(doc, "group_layers"):
        return
    g = doc.group_layers([doc.layers[1]])
    g.opacity = 0.5
    r = Rect(600, 400, 600, 500)
    lazy, _ = gather_inputs(doc, "composite", r, deferred=True)
    np.testing.assert_array_equal(lazy.image, composite(doc, r))


def test_mask_is_cropped_at_once_and_released_jobs_free_the_snapshot() -> None:
    from ganstudio.jobs import Job

    doc = _doc()
    m = np.zeros((900, 1200), np.uint8)
    m[100:200, 100:300] = 255
    inputs, rect = gather_inputs(doc, "composite", mask=m)
    m[:] = 0                                    # the caller's mask changes later: not seen
    assert isinstance(inputs, LazyInputs) and int(inputs.mask.sum()) == 255 * 100 * 200
    assert live_snapshots() == 1
    job = Job("t", inputs=inputs)
    assert job.nbytes == inputs.mask.nbytes     # does not composite to count bytes
    job.release()                               # cancelled before it ran
    assert live_snapshots() == 0


def test_prepare_result_layers_makes_layer_pixels() -> None:
    rgb = np.full((40, 50, 3), 9, np.uint8)
    res = Result(rgb[:, ::-1], layers=[ResultLayer(np.full((5, 6), 200, np.uint8))])
    prepare_result_layers(res, want16=False)
    assert res.image.shape == (40, 50, 4) and res.image.flags.c_contiguous
    assert tuple(res.image[0, 0]) == (9, 9, 9, 255)
    assert res.layers[0].image.shape == (5, 6, 4) and res.layers[0].image[0, 0, 0] == 200
    res16 = Result(rgb.copy())
    prepare_result_layers(res16, want16=True)
    assert res16.image.dtype == np.uint16 and res16.image[0, 0, 0] == 9 * 257
