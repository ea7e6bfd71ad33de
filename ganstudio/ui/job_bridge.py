"""Marshals the Qt-free JobQueue's psygnal events (emitted on worker threads) to the main thread.

Work that would stall the window is done here on the worker thread, before the event reaches
the GUI thread:

- progress: coalesced (the GUI thread only ever handles the newest Progress of a job: a task
  that reports faster than the window repaints never floods the event queue); previews are
  downscaled to at most ``PREVIEW_MAX_SIDE`` px and converted to contiguous straight RGBA uint8
  (what ``Canvas.show_preview`` draws, scaled into the preview rect anyway);
- results: when the job asks for it (``job.data["prepare_layers"]``: its TaskUI adds the output
  layers unchanged), every output image is converted to the document's layer format (RGBA,
  8/16-bit, contiguous) here, so the apply on the GUI thread only inserts the layer.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal

from ganstudio.jobs import Job, JobQueue, JobState
from ganstudio.tasks.base import Progress

log = logging.getLogger(__name__)

PREVIEW_MAX_SIDE = 1600


def display_preview(image: np.ndarray, max_side: int = PREVIEW_MAX_SIDE) -> np.ndarray:
    """``image`` (HxW, HxWx3|4, uint8/uint16/float) as contiguous straight RGBA uint8, its longest
    side at most ``max_side`` (INTER_AREA). Run on a worker thread."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[..., None]
    h, w = img.shape[:2]
    if max(h, w) > max_side and h > 0 and w > 0:
        import cv2

        s = max_side / float(max(h, w))
        size = (max(1, round(w * s)), max(1, round(h * s)))
        chans = img.shape[2]
        if chans in (1, 3, 4):
            img = cv2.resize(np.ascontiguousarray(img), size, interpolation=cv2.INTER_AREA)
        else:  # pragma: no cover - odd channel counts: nearest by slicing
            img = img[:: max(1, h // size[1]), :: max(1, w // size[0])]
        if img.ndim == 2:
            img = img[..., None]
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    if img.shape[2] == 3:
        img = np.concatenate([img, np.full(img.shape[:2] + (1,), 255, np.uint8)], axis=2)
    return np.ascontiguousarray(img[..., :4])


class JobBridge(QObject):
    added = Signal(object)             # Job
    state_changed = Signal(object, object)     # Job, JobState
    progress_changed = Signal(object, object)  # Job, Progress (coalesced: the newest only)
    removed = Signal(object)
    _progress_ready = Signal(object)   # Job: a newer Progress waits in _pending (worker -> GUI)
    decision_needed = Signal(object)   # Job: its result is shown as a preview (Apply / Discard)
    decision_made = Signal(object)     # Job: applied or discarded

    def __init__(self, queue: JobQueue, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self._pending: dict[int, Progress] = {}
        self._pending_lock = threading.Lock()
        self.progress_events = 0       # Progress objects the tasks sent
        self.progress_delivered = 0    # ... and how many reached the GUI thread (tests)
        self._progress_ready.connect(self._deliver_progress, Qt.ConnectionType.QueuedConnection)
        queue.events.added.connect(self._on_added)      # runs on the submitting (main) thread
        queue.events.removed.connect(self.removed.emit)

    def _on_added(self, job: Job) -> None:
        # Connected before the backend starts the job: no event can be missed. Emitting a Qt
        # signal from a worker thread to this main-thread object is a queued connection.
        job.events.state.connect(lambda state, j=job: self._on_state(j, state))
        job.events.progress.connect(lambda p, j=job: self._on_progress(j, p))
        self.added.emit(job)

    # -- worker thread -------------------------------------------------------------------------------
    def _on_state(self, job: Job, state: JobState) -> None:
        if state is JobState.FINISHED:
            self._prepare_result(job)
        self.state_changed.emit(job, state)

    def _on_progress(self, job: Job, p: Progress) -> None:
        self.progress_events += 1
        if p.preview is not None:
            t0 = time.perf_counter()
            try:
                p = Progress(p.step, p.total, p.stage, display_preview(p.preview), p.preview_rect)
            except Exception:  # noqa: BLE001 - a broken preview is dropped, never the job
                log.debug("preview dropped:", exc_info=True)
                p = Progress(p.step, p.total, p.stage)
            job.data["preview_prepare_ms"] = (time.perf_counter() - t0) * 1000
        with self._pending_lock:
            waiting = job.id in self._pending
            old = self._pending.get(job.id)
            if old is not None and old.preview is not None and p.preview is None:
                # keep the newest preview: a stage-only update must not hide it
                p = Progress(p.step, p.total, p.stage, old.preview, old.preview_rect)
            self._pending[job.id] = p
        if not waiting:
            self._progress_ready.emit(job)

    def _prepare_result(self, job: Job) -> None:
        if job.data.get("offer_preview") and job.result is not None:
            try:  # the image the window shows before the user applies it (#16)
                outs = job.result.output_layers()
                if len(outs) == 1 and outs[0].image is not None:
                    img = np.asarray(outs[0].image)
                    x, y = (0, 0) if outs[0].rect is None else (int(outs[0].rect[0]), int(outs[0].rect[1]))
                    job.data["preview_rect"] = (x, y, int(img.shape[1]), int(img.shape[0]))
                    job.data["preview_image"] = display_preview(img)
            except Exception:  # noqa: BLE001 - no preview: applied at once
                log.debug("no result preview", exc_info=True)
        want16 = job.data.get("prepare_layers")
        if want16 is None or job.result is None:
            return
        try:
            from ganstudio.jobs.runner import prepare_result_layers

            t0 = time.perf_counter()
            prepare_result_layers(job.result, bool(want16))
            job.data["result_prepare_ms"] = (time.perf_counter() - t0) * 1000
        except Exception:  # noqa: BLE001 - the GUI thread converts what is left
            log.warning("preparing the result of %s failed", job.title, exc_info=True)

    # -- GUI thread -----------------------------------------------------------------------------------
    def _deliver_progress(self, job: Job) -> None:
        with self._pending_lock:
            p = self._pending.pop(job.id, None)
        if p is not None:
            self.progress_delivered += 1
            self.progress_changed.emit(job, p)

    def close(self) -> None:
        try:
            self.queue.events.added.disconnect(self._on_added)
        except Exception:  # noqa: BLE001
            pass


__all__ = ["JobBridge", "display_preview", "PREVIEW_MAX_SIDE"]
