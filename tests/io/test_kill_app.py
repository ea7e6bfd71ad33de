"""Kill the REAL app (issue 13): ``python -m ganstudio project.ora`` runs offscreen in a child
process, edits its document for real (``GANSTUDIO_TEST_EDITS``: edit n fills the active layer
with ``edit_colour(n)`` and sets ``metadata["test_edit"] = n``), saves with its own Ctrl+S
path every few edits and autosaves every 0.2 s (``GANSTUDIO_AUTOSAVE_S``); it is SIGKILLed at
seeded random moments. Afterwards:

- the project file is never torn: it loads, and its pixels are exactly the state its metadata
  names (one snapshot, never half of one), no older than the last save the app reported;
- the recovery files are found (``find_recoverable``) and load (``recover``) with a consistent
  state, never older than the saved project (a save removes older recovery files at once);
- a crash right after recovery loses nothing; a recovery folder that cannot be written is
  survived and autosaving resumes once it can be; SIGTERM writes the newest changes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ganstudio.core.autosave import discard, find_recoverable, pid_alive, recover
from ganstudio.core.document import Document
from ganstudio.core.io import load_ora, save_ora
from ganstudio.core.layers import RasterLayer
from ganstudio.ui.app import test_edit_colour as edit_colour

ROOT = Path(__file__).resolve().parents[2]
W, H = 320, 240
START_TIMEOUT = 180.0      # a cold start of the window on a loaded 2-core machine


class App:
    """The app in a child process; its stdout lines are collected by a reader thread."""

    def __init__(self, data: Path, files: list[Path], **env: str) -> None:
        full = dict(os.environ, QT_QPA_PLATFORM="offscreen", GANSTUDIO_DATA=str(data),
                    GANSTUDIO_CACHE=str(data / "cache"), GANSTUDIO_PRINT_READY="1",
                    OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **env)
        full.pop("GANSTUDIO_WORKER", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "ganstudio", *map(str, files)],
                                     cwd=ROOT, env=full, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.err: list[str] = []
        self._cv = threading.Condition()
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True).start()

    def _read(self, stream, into: list[str]) -> None:  # noqa: ANN001
        for line in stream:
            with self._cv:
                into.append(line.strip())
                self._cv.notify_all()

    def wait_for(self, pred, timeout: float) -> bool:  # noqa: ANN001
        end = time.monotonic() + timeout
        with self._cv:
            while not pred(self.lines):
                left = end - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return pred(self.lines)
                self._cv.wait(min(left, 0.2))
        return True

    def last(self, word: str) -> int:
        """The number of the last ``word n`` line (0 if none)."""
        with self._cv:
            nums = [int(x.split()[1]) for x in self.lines if x.startswith(word + " ")]
        return nums[-1] if nums else 0

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(60)
        assert not pid_alive(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill()

    def log(self) -> str:
        return "\n".join(self.lines[-20:] + ["--- stderr ---"] + self.err[-30:])


def _project(path: Path) -> None:
    doc = Document(W, H, name=path.name)
    doc.add_layer(RasterLayer("background", np.full((H, W, 4), 255, np.uint8)))
    doc.add_layer(RasterLayer("paint", np.zeros((H, W, 4), np.uint8)))
    doc.metadata["test_edit"] = 0
    save_ora(doc, path)


def _state(doc: Document) -> int:
    """The edit number the document holds; asserts its pixels are exactly that state's."""
    n = int(doc.metadata["test_edit"])
    assert [la.name for la in doc.layers] == ["background", "paint"]
    paint = doc.layers[1].pixels
    want = np.zeros(4, np.uint8) if n == 0 else np.array(edit_colour(n), np.uint8)
    assert paint.shape == (H, W, 4)
    assert (paint == want).all(), f"state {n}: pixels of another state (torn or mixed snapshot)"
    assert (doc.layers[0].pixels == 255).all()
    return n


def _start(data: Path, files: list[Path], **env: str) -> App:
    app = App(data, files, **env)
    if not app.wait_for(lambda ls: "ready" in ls, START_TIMEOUT):
        app.stop()
        pytest.fail(f"the app did not start:\n{app.log()}")
    return app


EDITING = {"GANSTUDIO_AUTOSAVE_S": "0.2", "GANSTUDIO_TEST_EDITS": "25",
           "GANSTUDIO_TEST_SAVE_EVERY": "4", "GANSTUDIO_RECOVERY": "later"}


@pytest.mark.slow
def test_sigkill_at_random_moments_never_tears_the_project_or_loses_the_recovery(tmp_path: Path) -> None:
    project = tmp_path / "project.ora"
    _project(project)
    rng = np.random.default_rng(13)
    saved_floor = 0
    recovered_runs = 0
    for it in range(4):
        data = tmp_path / f"data{it}"
        # odd runs save every 4th edit (Ctrl+S path) and autosave; even runs only autosave, so
        # their recovery entry must be there whenever they are killed
        saving = it % 2 == 1
        app = _start(data, [project], **{**EDITING, "GANSTUDIO_TEST_SAVE_EVERY": "4" if saving else "0"})
        try:
            def ready(ls: list[str]) -> bool:
                kinds = [x.split()[0] for x in ls if x.split()[0] in ("saved", "autosaved")]
                return "autosaved" in kinds and ("saved" in kinds or not saving)
            assert app.wait_for(ready, 120), f"no save / autosave:\n{app.log()}"
            time.sleep(float(rng.uniform(0.0, 0.6)))
        finally:
            app.kill()
        last_edit, last_saved = app.last("edit"), app.last("saved")
        # the project: old or new, never torn; at least the last completed save
        n = _state(load_ora(project))
        assert max(saved_floor, last_saved) <= n <= last_edit, (it, n, saved_floor, last_saved, last_edit,
                                                                " | ".join(app.lines))
        saved_floor = n
        # the recovery: when there is one (a save removes it, the next autosave writes it again)
        # it loads, is consistent, and is never older than the saved project
        entries = find_recoverable(data / "recovery")
        assert len(entries) <= 1, app.log()
        names = sorted(p.name for p in (data / "recovery").iterdir()) if (data / "recovery").is_dir() else []
        assert len([x for x in names if x.endswith(".tmp")]) <= 1
        assert len([p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]) <= 1
        if not saving:
            assert len(entries) == 1, app.log()
        if not entries:
            continue
        recovered_runs += 1
        rec = recover(entries[0])
        m = _state(rec)
        assert n <= m <= last_edit, (m, n, last_edit, app.log())
        assert rec.path == project and rec.modified
        assert {entries[0].ora_path.name, entries[0].json_path.name} <= set(names)
    assert recovered_runs >= 1          # the recovery path was exercised, not only the project


@pytest.mark.slow
def test_a_crash_right_after_recovery_loses_nothing(tmp_path: Path) -> None:
    project = tmp_path / "project.ora"
    _project(project)
    data = tmp_path / "data"
    app = _start(data, [project], **{**EDITING, "GANSTUDIO_TEST_SAVE_EVERY": "0"})
    try:
        assert app.wait_for(lambda ls: sum(x.startswith("autosaved") for x in ls) >= 2, 120), app.log()
    finally:
        app.kill()
    entries = find_recoverable(data / "recovery")
    assert len(entries) == 1
    m = _state(recover(entries[0]))
    assert m >= 1
    rng = np.random.default_rng(5)
    for _ in range(3):
        # recover (no dialog), no edits, the next regular autosave an hour away: only the
        # adopted recovery files (and the autosave right after recovery) protect the work; it is
        # killed at a random moment right after the recovery
        again = _start(data, [], GANSTUDIO_AUTOSAVE_S="3600", GANSTUDIO_RECOVERY="recover")
        assert again.wait_for(lambda ls: "recovery recover 1" in ls, 120), again.log()
        time.sleep(float(rng.uniform(0.0, 0.6)))
        again.kill()
        entries = find_recoverable(data / "recovery")
        assert len(entries) == 1, again.log()       # the adopted files: still there, still one
        doc = recover(entries[0])
        assert _state(doc) == m                      # the recovered work, intact
        assert doc.path == project
    assert _state(load_ora(project)) == 0            # recovery never wrote over the project


@pytest.mark.slow
def test_unwritable_recovery_folder_is_survived_and_autosave_resumes(tmp_path: Path) -> None:
    project = tmp_path / "project.ora"
    _project(project)
    data = tmp_path / "data"
    data.mkdir()
    blocker = data / "recovery"
    blocker.write_text("not a folder")     # mkdir / writes fail with an OSError (works as root too)
    app = _start(data, [project], **{**EDITING, "GANSTUDIO_TEST_SAVE_EVERY": "0"})
    try:
        assert app.wait_for(lambda ls: app.last("edit") >= 10, 120), app.log()
        # wait for an autosave attempt to have failed on the blocked folder (on a loaded machine
        # the first attempt can come later than the tenth edit)
        deadline = time.monotonic() + 120
        while not any("autosave of" in x and "failed" in x for x in app.err):
            assert time.monotonic() < deadline and app.proc.poll() is None, app.log()
            time.sleep(0.1)
        assert app.last("autosaved") == 0
        assert app.proc.poll() is None                       # still running, still editing
        blocker.unlink()                                     # the folder can be written again
        assert app.wait_for(lambda ls: app.last("autosaved") >= 1, 60), app.log()
        before = app.last("edit")
        assert app.wait_for(lambda ls: app.last("autosaved") >= 2 and app.last("edit") > before, 60)
    finally:
        app.kill()
    assert any("autosave of" in x and "failed" in x for x in app.err), app.log()
    entries = find_recoverable(data / "recovery")
    assert len(entries) == 1
    assert _state(recover(entries[0])) >= 10


@pytest.mark.slow
def test_sigterm_writes_the_newest_changes_and_keeps_them(tmp_path: Path) -> None:
    project = tmp_path / "project.ora"
    _project(project)
    data = tmp_path / "data"
    # autosave interval far away: only the SIGTERM handler can have written the recovery
    app = _start(data, [project], GANSTUDIO_AUTOSAVE_S="3600", GANSTUDIO_TEST_EDITS="25",
                 GANSTUDIO_RECOVERY="later")
    try:
        assert app.wait_for(lambda ls: app.last("edit") >= 5, 120), app.log()
    finally:
        app.kill(signal.SIGTERM)
    assert app.proc.returncode == 128 + signal.SIGTERM, app.log()
    last = app.last("edit")
    entries = find_recoverable(data / "recovery")
    assert len(entries) == 1, app.log()
    n = _state(recover(entries[0]))
    assert last <= n <= last + 1          # the newest edit (one more may have run unprinted)
    assert _state(load_ora(project)) == 0
    for e in entries:
        discard(e)
