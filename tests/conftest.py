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


# -- process exit ------------------------------------------------------------------------------------
# The full suite (PySide6 widgets, QThreads, torch thread pools, pytest-qt's session QApplication)
# segfaulted in CPython's finalisation *after* every test had passed and the summary was printed
# (libpython, 2026-12-02: 1043 passed, then SIGSEGV, rc 139; never inside a test). Interpreter
# teardown destroys Qt wrappers and C-extension state in an arbitrary order; that is not behaviour
# of the app (which deletes its window while the QApplication lives: ui/app.py). So once pytest has
# reported, the process ends with its exit status without running that teardown. The threads
# still alive are listed first, for whoever wants to chase the teardown crash.
# GANSTUDIO_TEST_NORMAL_EXIT=1 keeps the normal exit.
@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus) -> None:  # noqa: ANN001
    session.config._ganstudio_exitstatus = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config) -> None:  # noqa: ANN001
    import sys
    import threading

    status = getattr(config, "_ganstudio_exitstatus", None)
    if status is None or os.environ.get("GANSTUDIO_TEST_NORMAL_EXIT") == "1":
        return
    alive = [t.name for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()]
    if alive:
        print(f"\n[conftest] threads alive at exit: {', '.join(sorted(alive))}", file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    os._exit(status)
