"""Task UIs: one module per task, each with ``install(window)``.

The main window imports every module named in ``TASK_UI_MODULES`` (a missing module is skipped
with a logged warning) and calls ``install(window)`` once, after the menus exist. See docs/UI.md.
"""

from __future__ import annotations

TASK_UI_MODULES = ["remove_opencv", "upscale", "model_manager", "inpaint"]
