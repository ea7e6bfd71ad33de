"""User preferences (device, tiles, memory, cache, autosave), stored in QSettings."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ganstudio import paths
from ganstudio.tasks.base import TaskContext

from .settings import settings

DEVICES = ["auto", "cpu", "cuda", "mps"]
#: tints of the painted AI mask (View > AI mask colour, Preferences); red is the default
MASK_COLOURS = {"Red": "#e62828", "Cyan": "#00c8e6", "Green": "#28d23c", "Magenta": "#e628e6",
                "Yellow": "#f0dc1e"}


@dataclass
class Preferences:
    device: str = "auto"            # auto | cpu | cuda | mps
    tile_size: int = 0              # 0 = automatic (task default)
    undo_memory_mb: int = 1024      # bound of the undo history per document
    job_memory_mb: int = 0          # 0 = no limit; tasks may pick smaller tiles under it
    cache_dir: str = ""             # "" = default per-user model cache
    autosave_interval_s: int = 120  # 0 = autosave off
    ai_mask_color: str = "#e62828"  # tint of the painted AI mask (#rrggbb)

    @classmethod
    def load(cls) -> Preferences:
        s = settings()
        prefs = cls()
        for f in dataclasses.fields(cls):
            value = s.value(f"preferences/{f.name}")
            if value is None:
                continue
            try:
                setattr(prefs, f.name, type(getattr(prefs, f.name))(value))
            except (TypeError, ValueError):
                pass
        if prefs.device not in DEVICES:
            prefs.device = "auto"
        if not _is_hex_colour(prefs.ai_mask_color):
            prefs.ai_mask_color = MASK_COLOURS["Red"]
        prefs.ai_mask_color = prefs.ai_mask_color.lower()
        return prefs

    @property
    def ai_mask_rgb(self) -> tuple[int, int, int]:
        h = self.ai_mask_color.lstrip("#")
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)

    def save(self) -> None:
        s = settings()
        for f in dataclasses.fields(self):
            s.setValue(f"preferences/{f.name}", getattr(self, f.name))
        s.sync()

    @property
    def effective_cache_dir(self) -> str:
        return self.cache_dir or str(paths.user_cache_dir())

    def task_context(self) -> TaskContext:
        """A fresh TaskContext (own cancel token) for one job."""
        ctx = TaskContext(device=self.device, tile_size=int(self.tile_size))
        # Memory bound for tasks that size their tiles from it (0 = no limit).
        ctx.memory_limit_mb = int(self.job_memory_mb)  # type: ignore[attr-defined]
        return ctx

    def apply_environment(self) -> None:
        """Make the model store follow the chosen cache folder."""
        import os

        if self.cache_dir:
            os.environ["GANSTUDIO_CACHE"] = self.cache_dir


def _is_hex_colour(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 7 or not value.startswith("#"):
        return False
    try:
        int(value[1:], 16)
    except ValueError:
        return False
    return True
