"""Where the project's bundled data lives (resources/, models/) and the per-user folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from platformdirs import PlatformDirs

APP = "GANStudio"


def _root() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller bundle
    return Path(frozen) if frozen else Path(__file__).resolve().parent.parent


ROOT = _root()
RESOURCES = ROOT / "resources"
SAMPLES = RESOURCES / "samples"
SAMPLE_PHOTO = SAMPLES / "astronaut.png"
MODELS_DIR = ROOT / "models"
CATALOG_DIR = MODELS_DIR / "catalog"
BUILTIN_MODELS = MODELS_DIR / "builtin"

_dirs = PlatformDirs(APP, appauthor=False)


def user_cache_dir() -> Path:
    """Model cache; GANSTUDIO_CACHE overrides (tests use a temporary folder)."""
    return Path(os.environ.get("GANSTUDIO_CACHE") or _dirs.user_cache_dir)


def user_data_dir() -> Path:
    return Path(os.environ.get("GANSTUDIO_DATA") or _dirs.user_data_dir)


def recovery_dir() -> Path:
    return user_data_dir() / "recovery"
