"""The "adding a task" worked example of docs/ARCHITECTURE.md runs as written: its task file and
its UI file (executed as the modules they would be) give a new menu action whose job lands a
layer, and the job round-trips through JSON."""

from __future__ import annotations

import pathlib
import re
import sys
import types

import numpy as np
import pytest

from ganstudio.jobs import Job, JobState
from ganstudio.tasks.registry import get_task, unregister_task

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "ARCHITECTURE.md"


def _blocks() -> list[str]:
    text = DOC.read_text()
    part = text[text.index("### Worked example"):]
    return re.findall(r"```python\n(.*?)```", part, re.S)[:2]


def _load(name: str, package: str, code: str) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__package__ = package
    sys.modules[name] = mod
    exec(compile(code, f"<{name}>", "exec"), mod.__dict__)  # noqa: S102 - our own docs
    return mod


@pytest.fixture
def posterize():  # noqa: ANN201
    task_code, ui_code = _blocks()
    task = _load("ganstudio.tasks.posterize", "ganstudio.tasks", task_code)
    ui = _load("ganstudio.ui.tasks.posterize", "ganstudio.ui.tasks", ui_code)
    yield task, ui
    unregister_task("posterize")
    sys.modules.pop("ganstudio.tasks.posterize", None)
    sys.modules.pop("ganstudio.ui.tasks.posterize", None)


def test_the_worked_example_adds_a_working_task(window, qtbot, photo_doc, posterize) -> None:  # noqa: ANN001
    task, ui_mod = posterize
    assert get_task("posterize").request_type is task.PosterizeRequest
    ui = ui_mod.PosterizeUI()
    window.task_uis[ui.id] = ui
    ui.install(window)
    assert ui.actions and not ui.actions[0].isEnabled()          # no document yet
    window.add_document(photo_doc)
    assert ui.actions[0].isEnabled()
    ui.actions[0].trigger()                                      # the menu action
    qtbot.waitUntil(lambda: len(photo_doc.layers) == 2 and not window.pending_jobs(), timeout=10000)
    layer = photo_doc.layers[-1]
    assert layer.name == "Posterize (4)" and layer.provenance["task"] == "posterize"
    assert len(np.unique(layer.pixels[..., 0])) <= 4
    job = [j for j in window.job_queue.jobs if j.task == "posterize"][-1]
    assert job.state is JobState.FINISHED and job.inputs is None  # freed once applied
    again = Job.from_json(Job("p", inputs=None, request=task.PosterizeRequest(levels=3)).to_json())
    assert again.request == task.PosterizeRequest(levels=3)
