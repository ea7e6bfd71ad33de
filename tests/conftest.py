"""Shared test setup. Qt runs offscreen; the model cache and user data go to temporary folders."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Before anything imports PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_session_tmp = Path(tempfile.mkdtemp(prefix="ganstudio-tests-"))
os.environ.setdefault("GANSTUDIO_CACHE", str(_session_tmp / "cache"))
os.environ.setdefault("GANSTUDIO_DATA", str(_session_tmp / "data"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ganstudio import paths  # noqa: E402


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return paths.SAMPLES


@pytest.fixture(scope="session")
def astronaut(samples_dir: Path) -> np.ndarray:
    """512x512 RGB uint8 real photo (public domain)."""
    from PIL import Image

    return np.asarray(Image.open(samples_dir / "astronaut.png").convert("RGB"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def model_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty per-test model cache folder."""
    cache = tmp_path / "model-cache"
    monkeypatch.setenv("GANSTUDIO_CACHE", str(cache))
    return cache
