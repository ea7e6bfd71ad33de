"""Autosave into the recovery folder, crash recovery, clean shutdown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ganstudio import paths
from ganstudio.core.autosave import Autosaver, _read_entry, discard, find_recoverable, pid_alive, recover
from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.io import open_image
from ganstudio.core.layers import RasterLayer


def _doc() -> Document:
    doc = Document(16, 12)
    doc.add_layer(RasterLayer.blank("base", 16, 12, fill=(10, 20, 30, 255)))
    doc.history.clear()
    doc.mark_modified(False)
    return doc


def _paint(doc: Document, value: int) -> None:
    with doc.edit_pixels(doc.layers[0], Rect(0, 0, 4, 4)) as px:
        px[:4, :4] = (value, value, value, 255)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_saves_only_when_modified_and_due(tmp_path: Path) -> None:
    doc = _doc()
    saver = Autosaver(doc, tmp_path, interval_s=60, background=False)
    t0 = saver.last_save
    assert not saver.maybe_save(t0 + 120)          # nothing changed
    assert not list(tmp_path.iterdir())
    _paint(doc, 200)
    assert doc.modified and saver.pending
    assert not saver.maybe_save(t0 + 30)           # interval not reached
    assert saver.maybe_save(t0 + 61)
    assert saver.ora_path.is_file() and saver.json_path.is_file()
    side = json.loads(saver.json_path.read_text())
    assert side["pid"] == os.getpid() and side["title"] == doc.name and side["original_path"] is None
    assert side["ora"] == saver.ora_path.name and side["time"] > 0
    assert not saver.maybe_save(t0 + 500)          # no change since the last autosave
    _paint(doc, 100)
    assert not saver.maybe_save(t0 + 100)          # changed, but within interval of last save
    assert saver.maybe_save(t0 + 122)
    assert saver.saves == 2
    # not listed while this process (its owner) runs
    assert find_recoverable(tmp_path) == []
    saver.close()
    assert not list(tmp_path.iterdir())


def test_default_recovery_dir_from_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANSTUDIO_DATA", str(tmp_path / "data"))
    doc = _doc()
    saver = Autosaver(doc, interval_s=0, background=False)
    assert saver.recovery_dir == paths.recovery_dir() == tmp_path / "data" / "recovery"
    _paint(doc, 1)
    assert saver.maybe_save()
    assert saver.ora_path.parent == tmp_path / "data" / "recovery"
    saver.close()


def test_crash_recovery(tmp_path: Path, rgba8: np.ndarray) -> None:
    from ganstudio.core.io import export_image

    original = tmp_path / "photo.png"
    export_image(rgba8, original)
    doc = open_image(original)
    rec_dir = tmp_path / "recovery"
    saver = Autosaver(doc, rec_dir, interval_s=0, background=False)
    with doc.edit_pixels(doc.layers[0], Rect(0, 0, 2, 2)) as px:
        px[:2, :2] = (1, 2, 3, 4)
    assert saver.maybe_save()
    expected = doc.layers[0].pixels.copy()
    # simulate the crash: the owner pid in the sidecar is a process that is gone
    side = json.loads(saver.json_path.read_text())
    side["pid"] = _dead_pid()
    assert not pid_alive(side["pid"])
    saver.json_path.write_text(json.dumps(side))
    entries = find_recoverable(rec_dir)
    assert len(entries) == 1
    entry = entries[0]
    assert entry.original_path == original and entry.title == "photo.png" and entry.age_s < 60
    back = recover(entry)
    assert back.modified and back.path == original and back.name == "photo.png"
    assert back.source_format == "PNG"
    np.testing.assert_array_equal(back.layers[0].pixels, expected)
    discard(entry)
    assert find_recoverable(rec_dir) == [] and not list(rec_dir.iterdir())


def test_untitled_document_recovered_without_path(tmp_path: Path) -> None:
    doc = _doc()
    saver = Autosaver(doc, tmp_path, interval_s=0, background=False)
    _paint(doc, 9)
    assert saver.save_now()
    side = json.loads(saver.json_path.read_text())
    side["pid"] = _dead_pid()
    saver.json_path.write_text(json.dumps(side))
    (entry,) = find_recoverable(tmp_path)
    back = recover(entry)
    assert back.path is None and back.modified and back.name == "Untitled"
    assert back.layers[0].pixels[0, 0, 0] == 9


def test_user_save_and_clean_close_remove_files(tmp_path: Path) -> None:
    doc = _doc()
    saver = Autosaver(doc, tmp_path / "rec", interval_s=0, background=False)
    _paint(doc, 5)
    assert saver.maybe_save()
    doc.mark_modified(False)                      # the user saved the document
    assert not saver.maybe_save()
    assert not list((tmp_path / "rec").iterdir())
    _paint(doc, 6)
    assert saver.maybe_save()
    saver.close()
    assert not list((tmp_path / "rec").iterdir())
    _paint(doc, 7)
    assert not saver.maybe_save()                 # closed: never saves again


def test_failure_is_reported_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    doc = _doc()
    saver = Autosaver(doc, blocker, interval_s=0, background=False)
    _paint(doc, 3)
    assert not saver.maybe_save()
    assert isinstance(saver.last_error, OSError)
    assert saver.pending                          # will retry at the next tick


def test_broken_sidecars_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "junk.json").write_text("{not json")
    (tmp_path / "orphan.json").write_text(json.dumps({"pid": _dead_pid(), "ora": "gone.ora"}))
    assert find_recoverable(tmp_path) == []
    assert find_recoverable(tmp_path / "does-not-exist") == []


def test_background_autosave_uses_a_snapshot(tmp_path: Path) -> None:
    doc = _doc()
    saver = Autosaver(doc, tmp_path, interval_s=0)  # background=True: the UI's default
    _paint(doc, 50)
    assert saver.maybe_save()
    _paint(doc, 60)                               # the user keeps painting while it writes
    saver.wait(30)
    assert not saver.busy and saver.saves == 1 and saver.last_error is None
    from ganstudio.core.io import load_ora

    saved = load_ora(saver.ora_path)
    assert saved.layers[0].pixels[0, 0, 0] == 50  # the state at the time of maybe_save
    assert saver.pending                          # the newer change is due next time
    saver.close()
    assert not list(tmp_path.iterdir())


def test_a_user_save_drops_older_recovery_files_at_once(tmp_path: Path) -> None:
    """Issue 13: after Ctrl+S the recovery folder never offers a state older than the saved file
    (not even an autosave that was being written while the save ran)."""
    from ganstudio.core.geometry import Rect
    from ganstudio.core.snapshot import DocumentSnapshot

    doc = Document(64, 48)
    doc.add_layer(RasterLayer("a", np.zeros((48, 64, 4), np.uint8)))
    r = Rect(0, 0, 8, 8)
    with doc.edit_pixels(doc.layers[0], r) as px:
        px[r.slices()] = 9
    saver = Autosaver(doc, recovery_dir=tmp_path, background=False)
    assert saver.save_now() and saver.json_path.exists()
    in_flight = DocumentSnapshot(doc)          # an autosave that started before the save ended
    doc.mark_modified(False)
    saver.saved(doc.revision)                  # the window calls this when its save succeeded
    assert not saver.json_path.exists() and not saver.ora_path.exists()
    assert saver._write(in_flight) is False    # stale: dropped, nothing written
    assert not saver.json_path.exists() and not saver.ora_path.exists()
    with doc.edit_pixels(doc.layers[0], r) as px:   # newer changes are autosaved again
        px[r.slices()] = 10
    assert saver.pending and saver.save_now() and saver.json_path.exists()
    saver.close()


def test_recovery_older_than_the_saved_project_is_not_offered(tmp_path: Path) -> None:
    """A crash after Save put the project in place but before it removed the recovery files
    (the kill test found such a window, #13): the project stamps the state it holds, the sidecar
    the state it autosaved; an autosave the project already holds is removed, a newer one kept."""
    from ganstudio.core.autosave import state_stamp, superseded
    from ganstudio.core.io import load_ora, save_ora
    from ganstudio.core.io.ora import read_saved_state

    project = tmp_path / "project.ora"
    doc = _doc()
    save_ora(doc, project)
    rec = tmp_path / "rec"

    def crash_after_autosave(saver: Autosaver) -> None:
        side = json.loads(saver.json_path.read_text())
        side["pid"] = _dead_pid()
        saver.json_path.write_text(json.dumps(side))

    saver = Autosaver(doc, rec, interval_s=0, background=False)
    _paint(doc, 30)
    assert saver.save_now()
    autosaved_at = doc.revision
    _paint(doc, 32)
    # the user's save of a LATER state lands; the process dies before any recovery clean-up
    save_ora(doc, project, mark_saved=False, saved_state=state_stamp(doc.uid, doc.revision))
    assert read_saved_state(project) == state_stamp(doc.uid, doc.revision)
    crash_after_autosave(saver)
    entry = _read_entry(saver.json_path)
    assert entry is not None
    assert entry.state == state_stamp(doc.uid, autosaved_at)
    assert superseded(entry)
    assert find_recoverable(rec) == []
    assert not list(rec.iterdir())                   # removed: the project holds that state
    assert load_ora(project).layers[0].pixels[0, 0, 0] == 32

    # an autosave NEWER than the saved project is offered
    doc2 = _doc()
    doc2.path = project
    save_ora(doc2, project, mark_saved=False, saved_state=state_stamp(doc2.uid, doc2.revision))
    saver2 = Autosaver(doc2, rec, interval_s=0, background=False)
    _paint(doc2, 40)
    assert saver2.save_now()
    crash_after_autosave(saver2)
    (entry2,) = find_recoverable(rec)
    assert not superseded(entry2) and recover(entry2).layers[0].pixels[0, 0, 0] == 40
    # ... and so is one whose project was saved by ANOTHER document or process (no stamp match)
    save_ora(_doc(), project, mark_saved=False, saved_state=state_stamp(10 ** 6, 10 ** 6))
    assert find_recoverable(rec) == [entry2]
    project.write_bytes(b"not a zip")               # a damaged project: never hides recovery
    assert find_recoverable(rec) == [entry2]
