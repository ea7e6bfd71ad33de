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
    step: int
    total: int
    stage: str = ""
    preview: np.ndarray | None = None  # optional small RGB(A) preview of the result so far

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
class Result:
    """What a task returns: an image (same conventions as TaskInputs.image) plus facts about it.

    ``info`` ends up in the new layer's provenance (model id, seed, timings ...).
    """

    image: np.ndarray
    name: str = "AI result"
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaskContext:
    """Runtime facts a task needs. ``device``: "auto" | "cpu" | "cuda" | "cuda:N" | "mps"."""

    device: str = "auto"
    half: bool | None = None         # None = fp16 where the device and model allow it (CUDA)
    tile_size: int = 0               # 0 = task default / automatic
    threads: int = 0                 # 0 = leave torch's default
    cancel: CancelToken = field(default_factory=CancelToken)
    store: Any = None                # ganstudio.models.store.ModelStore (None = default store)
    log: Callable[[str], None] | None = None

    def check_cancelled(self) -> None:
        self.cancel.raise_if_cancelled()


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
