"""Task UIs: one module per task in this package, found by :func:`discover` (no list to edit).

A module is a task UI when it defines :class:`~ganstudio.ui.tasks.base.TaskUI` subclasses (each
with an ``id``/``task``: the window creates one instance of each and calls ``install(window)``)
or a module-level ``install(window)`` function (the older hook). Modules are installed in the
order of their ``ORDER`` attribute (default 100), then by name; a module that fails to import or
install is logged and skipped, the window still opens. See docs/UI.md.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import traceback
from dataclasses import dataclass
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

#: modules of this package that are helpers, not task UIs
NOT_TASK_UIS = frozenset({"base"})


@dataclass
class TaskUIModule:
    name: str
    module: ModuleType
    classes: list[type]          # TaskUI subclasses defined in the module
    install: Any                 # module-level install(window), or None


def module_names() -> list[str]:
    return sorted(i.name for i in pkgutil.iter_modules(__path__)
                  if not i.name.startswith("_") and i.name not in NOT_TASK_UIS)


def discover() -> list[TaskUIModule]:
    """Import every task UI module; returns them in install order."""
    from .base import TaskUI

    found: list[tuple[int, str, TaskUIModule]] = []
    for name in module_names():
        modname = f"{__name__}.{name}"
        try:
            module = importlib.import_module(modname)
        except Exception:  # noqa: BLE001 - one broken task UI must not stop the window
            log.error("task UI %s failed to import:\n%s", name, traceback.format_exc())
            continue
        classes = [c for _, c in inspect.getmembers(module, inspect.isclass)
                   if issubclass(c, TaskUI) and c is not TaskUI and c.__module__ == modname
                   and not getattr(c, "abstract", False) and (c.id or c.task)]
        classes.sort(key=lambda c: (getattr(c, "order", 100), c.__name__))
        install = getattr(module, "install", None)
        if not classes and not callable(install):
            continue
        found.append((int(getattr(module, "ORDER", 100)), name,
                      TaskUIModule(name, module, classes, install if callable(install) else None)))
    found.sort(key=lambda t: (t[0], t[1]))
    return [t[2] for t in found]


def __getattr__(name: str):  # noqa: ANN202 - backward compatibility
    if name == "TASK_UI_MODULES":
        return module_names()
    raise AttributeError(name)
