"""The task registry: one :class:`TaskSpec` per task, found by name (``request.task``).

A task module in ``ganstudio/tasks/`` registers itself at import::

    SPEC = register_task(TaskSpec(name="style_transfer", title="Stylize", request_type=StyleRequest,
                                  run=run, default_models=("cyclegan.style_monet",),
                                  ui="ganstudio.ui.tasks.style", cli="ganstudio.commands.stylize"))

:func:`discover` imports every module of the ``ganstudio.tasks`` package (and its sub-packages)
once, so that no list of tasks is kept anywhere. Task modules import cheaply: no torch at import
time (tests/architecture checks it), so discovery never loads torch.

The window (ui/tasks), the CLI (commands) and the job runner (jobs) look tasks up here; ``ui`` and
``cli`` are module paths (strings), never imports, because tasks sit below them.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .base import Request

log = logging.getLogger(__name__)


class UnknownTask(KeyError):
    """No task of that name is registered."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown task"


@dataclass(frozen=True)
class TaskSpec:
    name: str                                   # == Request.task
    title: str
    request_type: type[Request]
    run: Callable[..., Any] | None = None       # generator fn (inputs, request, ctx) -> Result
    default_models: tuple[str, ...] = ()
    ui: str | None = None                       # module path of the task UI ("ganstudio.ui.tasks.x")
    cli: str | None = None                      # module path of the CLI command module
    session: type | None = None                 # TaskSession subclass for interactive tasks
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def request_from_dict(self, data: dict[str, Any]) -> Request:
        return self.request_type.from_dict(data)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a TaskSpec needs a name")
        if self.run is None and self.session is None:
            raise ValueError(f"task {self.name!r}: give run, session, or both")
        req_task = getattr(self.request_type, "task", None)
        if req_task not in (self.name, "base", None):
            raise ValueError(f"task {self.name!r}: its request type says task={req_task!r}")


_TASKS: dict[str, TaskSpec] = {}
_LOCK = threading.RLock()
_discovered = False
_failed: dict[str, str] = {}


def register_task(spec: TaskSpec) -> TaskSpec:
    """Register (or re-register, e.g. on module reload) ``spec``; returns it (``SPEC = ...``)."""
    with _LOCK:
        old = _TASKS.get(spec.name)
        if old is not None and old.run is not None and spec.run is not None and \
                getattr(old.run, "__module__", None) != getattr(spec.run, "__module__", None):
            raise ValueError(f"task {spec.name!r} is registered twice "
                             f"({old.run.__module__} and {spec.run.__module__})")
        _TASKS[spec.name] = spec
    return spec


def unregister_task(name: str) -> None:
    """Tests: remove a task registered by the test."""
    with _LOCK:
        _TASKS.pop(name, None)


def discover(package: str = "ganstudio.tasks") -> dict[str, str]:
    """Import every module of ``package`` (recursively) once so that their specs register.

    A module that fails to import is logged and skipped; returns {module: error} of failures."""
    global _discovered
    with _LOCK:
        if _discovered and package == "ganstudio.tasks":
            return dict(_failed)
        pkg = importlib.import_module(package)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=package + ".",
                                          onerror=lambda name: None):
            if info.name.rsplit(".", 1)[-1].startswith("_") or info.name.endswith(".registry"):
                continue
            try:
                importlib.import_module(info.name)
            except Exception:  # noqa: BLE001 - one broken task must not hide the others
                _failed[info.name] = traceback.format_exc()
                log.error("task module %s failed to import:\n%s", info.name, _failed[info.name])
        if package == "ganstudio.tasks":
            _discovered = True
        return dict(_failed)


def get_task(name: str) -> TaskSpec:
    """The spec of task ``name`` (discovering the task modules on first use)."""
    spec = _TASKS.get(name)
    if spec is None:
        discover()
        spec = _TASKS.get(name)
    if spec is None:
        raise UnknownTask(f"unknown task {name!r} (known: {', '.join(sorted(_TASKS)) or 'none'})")
    return spec


def spec_for(request: Any) -> TaskSpec:
    """The spec of a Request instance (``request.task``)."""
    return get_task(str(getattr(request, "task", "")))


def all_tasks() -> list[TaskSpec]:
    """Every registered task, sorted by name (after discovery)."""
    discover()
    with _LOCK:
        return [_TASKS[k] for k in sorted(_TASKS)]


def request_from_dict(data: dict[str, Any]) -> Request:
    """Rebuild a Request from ``Request.to_dict()`` output (its ``task`` key picks the type)."""
    return get_task(str(data.get("task", ""))).request_from_dict(data)


__all__ = ["TaskSpec", "UnknownTask", "all_tasks", "discover", "get_task", "register_task",
           "request_from_dict", "spec_for", "unregister_task"]
