"""The task protocol shared by every GAN worker, the job queue, the GUI and the CLI.

A task is a generator function::

    def run(inputs: TaskInputs, request: SomeRequest, ctx: TaskContext) -> Generator[Progress, None, Result]

It yields Progress between units of work (tiles, steps), checks ``ctx.cancel`` between them
(``ctx.check_cancelled()`` raises Cancelled) and returns a Result. It must not modify its inputs.
Requests are frozen dataclasses that serialise to a dict (``to_dict``) so a remote backend, the CLI
and the GUI build the same object.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


class Cancelled(Exception):
    """Raised inside a task when its cancel token is set."""


class TaskError(Exception):
    """A clear, user-facing error from a task (bad input, wrong model, out of memory...)."""


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


@dataclass(frozen=True)
class Progress:
    """``preview``: optional RGB(A) image of the result so far; ``preview_rect``: where it goes,
    (x, y, w, h) relative to the job's region (None = the whole region, scaled to fit). The window
    draws it on the canvas while the job runs."""

    step: int
    total: int
    stage: str = ""
    preview: np.ndarray | None = None
    preview_rect: tuple[int, int, int, int] | None = None

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, self.step / self.total)


@dataclass
class TaskInputs:
    """Pixels handed to a task. ``image`` is HxWx3 or HxWx4, uint8 or uint16 (straight alpha).

    ``mask``: optional HxW uint8 (255 = the region to work on, e.g. the inpainting hole).
    ``labels``: optional HxW class-id map (scene painting).
    """

    image: np.ndarray | None = None
    mask: np.ndarray | None = None
    labels: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ResultLayer:
    """One output layer of a run. ``rect``: (x, y, w, h) relative to the job's region (None = at the
    region's top-left, the image's own size). ``mask``: optional HxW uint8 layer mask."""

    image: np.ndarray
    rect: tuple[int, int, int, int] | None = None
    name: str = "AI result"
    mask: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    """What a task returns: an image (same conventions as TaskInputs.image) plus facts about it.

    ``info`` ends up in the new layer's provenance (model id, seed, timings ...).
    ``layers``: several output layers (one per face ...); when empty, ``image`` is the one layer.
    ``image`` may be None when ``layers`` is given. ``masks``: named HxW uint8 masks;
    ``artefacts``: anything else a later step or session reuses (latents, landmarks ...); numpy
    arrays, numbers, strings, lists and dicts of them survive serialisation (jobs/serialize.py).
    """

    image: np.ndarray | None = None
    name: str = "AI result"
    info: dict[str, Any] = field(default_factory=dict)
    layers: list[ResultLayer] = field(default_factory=list)
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    artefacts: dict[str, Any] = field(default_factory=dict)

    def output_layers(self) -> list[ResultLayer]:
        """``layers``, or the single ``image`` as one ResultLayer."""
        if self.layers:
            return list(self.layers)
        if self.image is None:
            return []
        return [ResultLayer(self.image, None, self.name, None, dict(self.info))]

    @property
    def nbytes(self) -> int:
        n = 0 if self.image is None else int(self.image.nbytes)
        for la in self.layers:
            n += int(la.image.nbytes) + (0 if la.mask is None else int(la.mask.nbytes))
        n += sum(int(m.nbytes) for m in self.masks.values())
        n += sum(int(getattr(a, "nbytes", 0)) for a in self.artefacts.values())
        return n


@dataclass
class TaskContext:
    """Runtime facts a task needs. ``device``: "auto" | "cpu" | "cuda" | "cuda:N" | "mps"."""

    device: str = "auto"
    half: bool | None = None         # legacy: None = fp16 where allowed; prefer ``precision``
    tile_size: int = 0               # 0 = task default / automatic
    threads: int = 0                 # 0 = leave torch's default
    cancel: CancelToken = field(default_factory=CancelToken)
    store: Any = None                # ganstudio.models.store.ModelStore (None = default store)
    log: Callable[[str], None] | None = None
    precision: str = "auto"          # "auto" | "fp32" | "bf16" | "fp16" (tasks.device.select_device)

    def check_cancelled(self) -> None:
        self.cancel.raise_if_cancelled()

    def to_dict(self) -> dict[str, Any]:
        """The serialisable part (no cancel token, store object or log function)."""
        return {"device": self.device, "half": self.half, "tile_size": self.tile_size,
                "threads": self.threads, "precision": self.precision}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskContext:
        names = {"device", "half", "tile_size", "threads", "precision"}
        return cls(**{k: v for k, v in (data or {}).items() if k in names})


@dataclass(frozen=True)
class Request:
    """Base of every task request. Subclasses add their fields and set ``task``."""

    task = "base"  # class attribute, not a field

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["task"] = self.task
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Request:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class TaskSession:
    """An interactive task (face sliders): ``prepare`` once (detect, align, invert, cache latents),
    then ``update`` many times with new requests (generators, like ``run``), then ``close``.

    The job queue runs a session's prepare and updates in order on one worker and coalesces its
    queued updates ("latest wins": a queued update is replaced by a newer one). A session keeps
    state between calls, so it is never shared between documents.
    """

    def __init__(self) -> None:
        self.prepared = False
        self.closed = False

    def prepare(self, inputs: TaskInputs, request: Any,
                ctx: TaskContext) -> Generator[Progress, None, Result | None]:
        self.prepared = True
        return None
        yield  # pragma: no cover - makes this a generator

    def update(self, request: Any, ctx: TaskContext) -> Generator[Progress, None, Result]:
        raise NotImplementedError
        yield  # pragma: no cover

    def close(self) -> None:
        self.closed = True


class TaskFunction(Protocol):
    def __call__(self, inputs: TaskInputs, request: Any,
                 ctx: TaskContext) -> Generator[Progress, None, Result]: ...


def drive(gen: Generator[Progress, None, Result],
          on_progress: Callable[[Progress], None] | None = None) -> Result:
    """Run a task generator to completion synchronously (CLI, tests)."""
    while True:
        try:
            p = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(p)
