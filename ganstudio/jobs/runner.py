"""Document <-> task arrays: gather a region into TaskInputs, turn a Result into a new layer."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import Layer, RasterLayer
from ganstudio.tasks.base import Result, ResultLayer, TaskInputs


def _active_region(doc: Document, rect: Rect) -> np.ndarray:
    """The active layer's straight RGBA over ``rect`` (document coordinates), transparent outside it."""
    layer = doc.active_layer
    if layer is None:
        raise ValueError("no active layer")
    out = None
    inter = rect.intersect(layer.bounds)
    src = layer.rgba(layer.to_layer_rect(inter)) if not inter.is_empty() else None
    dtype = src.dtype if src is not None else np.uint8
    out = np.zeros((rect.h, rect.w, 4), dtype)
    if src is not None:
        out[inter.translated(-rect.x, -rect.y).slices()] = src
    return out


DEFER_PIXELS = 1 << 20   # regions from 1 MP up are composited on the job's worker thread


class LazyInputs(TaskInputs):
    """TaskInputs whose ``image`` / ``labels`` are composited from a copy-on-write
    :class:`~ganstudio.core.snapshot.DocumentSnapshot` the first time they are read: on the job's
    worker thread (``execute.run_job`` -> ``assemble``), not on the GUI thread that submitted it.
    The pixels are those of the document when :func:`gather_inputs` was called, whatever the user
    paints meanwhile. Behaves as a TaskInputs everywhere (tests may read ``image`` at once)."""

    def __init__(self, snapshot: Any, source: str, rect: Rect, labels: bool, boxes: list[Rect] | None,
                 mask: np.ndarray | None, extra: dict[str, Any] | None = None) -> None:
        import threading

        self._snap = snapshot
        self._spec = (source, rect, labels, boxes)
        self._lock = threading.Lock()
        self._image: np.ndarray | None = None
        self._labels: np.ndarray | None = None
        self._resolved = False
        self.mask = mask
        self.extra = {} if extra is None else extra

    def resolve(self) -> None:
        """Composite now (idempotent, thread-safe); frees the snapshot."""
        with self._lock:
            if self._resolved:
                return
            source, rect, labels, boxes = self._spec
            snap = self._snap
            try:
                view = snap.materialize(rect, extras=False)
                inputs, _ = _gather_now(view, source, rect, None, labels=labels, boxes=boxes)
            finally:
                snap.release()
                self._snap = None
            self._image, self._labels = inputs.image, inputs.labels
            self._resolved = True

    @property
    def resolved(self) -> bool:
        return self._resolved

    def release(self) -> None:
        """Drop the snapshot without compositing (the job was cancelled before it ran)."""
        with self._lock:
            if self._snap is not None:
                self._snap.release()
                self._snap = None
            self._resolved = True

    @property  # type: ignore[override]
    def image(self) -> np.ndarray | None:
        self.resolve()
        return self._image

    @image.setter
    def image(self, value: np.ndarray | None) -> None:
        with self._lock:
            self._image, self._resolved = value, True
            if self._snap is not None:
                self._snap.release()
                self._snap = None

    @property  # type: ignore[override]
    def labels(self) -> np.ndarray | None:
        self.resolve()
        return self._labels

    @labels.setter
    def labels(self, value: np.ndarray | None) -> None:
        self.resolve()
        self._labels = value

    def __repr__(self) -> str:  # never composites just to print itself
        source, rect, _labels, _boxes = self._spec
        return f"<LazyInputs {source} {rect} {'resolved' if self._resolved else 'deferred'}>"

    def __del__(self) -> None:
        snap = getattr(self, "_snap", None)
        if snap is not None:
            snap.release()


def gather_inputs(doc: Document, source: str = "composite", region: Rect | None = None,
                  mask: np.ndarray | None = None, *, labels: bool = False,
                  boxes: list[Rect] | None = None,
                  deferred: bool | None = None) -> tuple[TaskInputs, Rect]:
    """Pixels of ``region`` (document coordinates, default the whole canvas) as TaskInputs.

    ``source``: "composite" (what the user sees) or "active" (the active layer only).
    ``mask``: HxW uint8 of the whole document (e.g. ``window.task_mask()``); cropped to the region.
    ``labels``: also pass the active LabelLayer's class ids (scene painting).
    ``boxes``: only these parts of the region (document coordinates) are read; the rest of the
    image is transparent and the rest of the mask 0. Masked tasks that work locally (crop to each mask component) use it
    to avoid compositing a large region on the GUI thread.
    ``deferred``: composite on first use of ``inputs.image`` (the job's worker thread) from a
    copy-on-write snapshot taken now (:class:`LazyInputs`); None = when the region is at least
    ``DEFER_PIXELS``. The mask is always cropped now (the placement uses it).
    """
    rect = doc.bounds if region is None else region.intersect(doc.bounds)
    if rect.is_empty():
        raise ValueError("the region is outside the canvas")
    if source not in ("composite", "active"):
        raise ValueError(f"unknown source {source!r}")
    if deferred is None:
        deferred = rect.w * rect.h >= DEFER_PIXELS
    if not deferred:
        return _gather_now(doc, source, rect, mask, labels=labels, boxes=boxes)
    if source == "active" and doc.active_layer is None:
        raise ValueError("no active layer")
    from ganstudio.core.snapshot import DocumentSnapshot

    m = _crop_mask(doc, rect, mask, boxes)
    return LazyInputs(DocumentSnapshot(doc, extras=False), source, rect, labels, boxes, m), rect


def _crop_mask(doc: Document, rect: Rect, mask: np.ndarray | None,
               boxes: list[Rect] | None) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.shape != (doc.height, doc.width):
        raise ValueError(f"mask shape {mask.shape} != document {(doc.height, doc.width)}")
    if boxes is not None:
        m = np.zeros((rect.h, rect.w), np.uint8)
        for b in boxes:
            b = b.intersect(rect)
            if not b.is_empty():
                m[b.translated(-rect.x, -rect.y).slices()] = mask[b.slices()]
        return m
    # a copy, never a view of the caller's array (the AI mask may be painted while the job runs)
    return np.array(mask[rect.slices()], dtype=np.uint8, order="C", copy=True)


def _gather_now(doc: Document, source: str, rect: Rect, mask: np.ndarray | None, *,
                labels: bool, boxes: list[Rect] | None) -> tuple[TaskInputs, Rect]:
    if source == "composite" and boxes is not None:
        from ganstudio.core.compositing import composite

        image = np.zeros((rect.h, rect.w, 4), np.uint8)
        for b in boxes:
            b = b.intersect(rect)
            if not b.is_empty():
                image[b.translated(-rect.x, -rect.y).slices()] = composite(doc, b)
    elif source == "composite":
        from ganstudio.core.compositing import composite

        image = composite(doc, rect)
    else:
        image = _active_region(doc, rect)
    m = _crop_mask(doc, rect, mask, boxes)
    lab = None
    if labels and doc.active_layer is not None and hasattr(doc.active_layer, "labels"):
        layer = doc.active_layer
        lab = np.zeros((rect.h, rect.w), layer.labels.dtype)  # type: ignore[attr-defined]
        inter = rect.intersect(layer.bounds)
        if not inter.is_empty():
            lab[inter.translated(-rect.x, -rect.y).slices()] = \
                layer.labels[layer.to_layer_rect(inter).slices()]  # type: ignore[attr-defined]
    return TaskInputs(image=np.ascontiguousarray(image), mask=m, labels=lab), rect


def gather_sparse(doc: Document, boxes: list[Rect], mask: np.ndarray | None = None,
                  source: str = "composite") -> tuple[TaskInputs, Rect]:
    """Like gather_inputs over the union of ``boxes``, but only the boxes are composited (on the
    calling, GUI thread) and the full-size arrays are assembled later on the worker thread by
    :func:`sparse_task` / :func:`assemble`. For masked tasks that work locally on large documents.
    """
    rect = Rect(0, 0, 0, 0)
    for b in boxes:
        rect = rect.union(b.intersect(doc.bounds))
    if rect.is_empty():
        raise ValueError("the region is outside the canvas")
    parts = []
    for b in boxes:
        b = b.intersect(rect)
        if b.is_empty():
            continue
        part, _ = gather_inputs(doc, source, b, deferred=False)
        m = None if mask is None else np.array(mask[b.slices()], dtype=np.uint8)
        parts.append((b.translated(-rect.x, -rect.y), part.image, m))
    return TaskInputs(extra={"sparse": parts, "size": (rect.h, rect.w),
                             "has_mask": mask is not None}), rect


def assemble(inputs: TaskInputs) -> TaskInputs:
    """Build the full arrays of a :func:`gather_sparse` result (transparent / 0 outside the boxes)."""
    if isinstance(inputs, LazyInputs):
        inputs.resolve()          # the deferred composite, on this (worker) thread
    parts = inputs.extra.get("sparse")
    if parts is None:
        return inputs
    h, w = inputs.extra["size"]
    dtype = parts[0][1].dtype if parts else np.uint8
    image = np.zeros((h, w, 4), dtype)
    mask = np.zeros((h, w), np.uint8) if inputs.extra.get("has_mask") else None
    for r, img, m in parts:
        image[r.slices()] = img
        if mask is not None and m is not None:
            mask[r.slices()] = m
    extra = {k: v for k, v in inputs.extra.items() if k not in ("sparse", "size", "has_mask")}
    return TaskInputs(image=image, mask=mask, labels=inputs.labels, extra=extra)


def sparse_task(task_fn: Any) -> Any:
    """Wrap a task so that it first assembles :func:`gather_sparse` inputs (on the worker thread)."""

    def run(inputs: TaskInputs, request: Any, ctx: Any):  # noqa: ANN202
        return (yield from task_fn(assemble(inputs), request, ctx))

    run.__name__ = getattr(task_fn, "__name__", "run")
    run.__qualname__ = f"sparse({getattr(task_fn, '__qualname__', 'task')})"
    return run


def wants_16bit(doc: Document) -> bool:
    """Whether new layers of ``doc`` are 16-bit (some layer is)."""
    return any(getattr(la, "bit_depth", 8) == 16 for la in doc.layers)


def _to_layer_pixels(image: np.ndarray, doc: Document) -> np.ndarray:
    return to_layer_pixels(image, wants_16bit(doc))


def prepare_result_layers(result: Result, want16: bool) -> None:
    """Convert every output image of ``result`` to the layer format in place (RGBA, 8- or 16-bit,
    contiguous; what :func:`add_result_layers` would do on the GUI thread). Call it on the job's
    worker thread: the apply then only inserts the layers (no full-size copy on the GUI thread)."""
    if not isinstance(result, Result):
        return
    if result.image is not None:
        result.image = to_layer_pixels(result.image, want16)
    for la in result.layers:
        la.image = to_layer_pixels(la.image, want16)
        if la.mask is not None:
            la.mask = np.ascontiguousarray(la.mask, dtype=np.uint8)


def to_layer_pixels(image: np.ndarray, want16: bool) -> np.ndarray:
    """A task image (HxW, HxWx3|4, uint8/uint16/float) as layer pixels: contiguous straight RGBA,
    uint16 when ``want16`` else uint8. Returns ``image`` itself when it already is."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.dtype == np.uint16 and not want16:
        image = (image.astype(np.uint32) * 255 + 32767) // 65535
        image = image.astype(np.uint8)
    elif image.dtype != np.uint16 and image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    elif image.dtype == np.uint8 and want16:
        image = image.astype(np.uint16) * 257
    if image.shape[2] == 3:
        alpha = np.full(image.shape[:2] + (1,), np.iinfo(image.dtype).max, image.dtype)
        image = np.concatenate([image, alpha], axis=2)
    return np.ascontiguousarray(image)


def provenance(result: Result, request: Any) -> dict[str, Any]:
    req = request.to_dict() if hasattr(request, "to_dict") else dict(request or {})
    info = dict(result.info)
    return {
        "task": req.get("task", getattr(request, "task", "")),
        "model": info.pop("model", req.get("model", "")),
        "request": req,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **info,
    }


def add_result_layer(doc: Document, result: Result, rect: Rect, request: Any, *,
                     name: str | None = None, index: int | None = None) -> Layer:
    """Add ``result.image`` as a new layer placed at ``rect`` (one undo step) and return it.

    A result larger than ``rect`` (e.g. an upscale of a region) is placed at ``rect``'s top-left;
    resizing the canvas is the caller's choice.
    """
    pixels = _to_layer_pixels(result.image, doc)
    layer = RasterLayer(name or result.name or "AI result", pixels, offset=(rect.x, rect.y),
                        provenance=provenance(result, request))
    doc.add_layer(layer, index=index, label=f"Add “{layer.name}”")
    return layer


def add_result_layers(doc: Document, result: Result, rect: Rect, request: Any, *,
                      index: int | None = None) -> list[Layer]:
    """Add every output layer of ``result`` (``Result.layers``, or its image) as new layers: each
    ``ResultLayer.rect`` is relative to ``rect`` (None: at ``rect``'s top-left), its mask becomes
    the layer mask; its ``info`` is added to the provenance. One undo step."""
    out: list[Layer] = []
    outputs = result.output_layers()
    if not outputs:
        return out
    with doc.history.transaction(f"Add “{outputs[0].name}”" if len(outputs) == 1 else
                                 f"Add {len(outputs)} layers"):
        for k, la in enumerate(outputs):
            out.append(_add_output_layer(doc, result, la, rect, request,
                                         None if index is None else index + k))
    return out


def _add_output_layer(doc: Document, result: Result, la: ResultLayer, rect: Rect, request: Any,
                      index: int | None) -> Layer:
    x, y = rect.x, rect.y
    if la.rect is not None:
        x, y = rect.x + int(la.rect[0]), rect.y + int(la.rect[1])
    pixels = _to_layer_pixels(la.image, doc)
    prov = provenance(Result(image=None, name=la.name, info={**result.info, **la.info}), request)
    mask = None if la.mask is None else np.ascontiguousarray(la.mask, dtype=np.uint8)
    layer = RasterLayer(la.name or result.name or "AI result", pixels, offset=(x, y),
                        provenance=prov, mask=mask)
    doc.add_layer(layer, index=index, label=f"Add “{layer.name}”")
    return layer
