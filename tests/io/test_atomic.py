"""Atomic saves: failures (disk full, permission denied) leave the old file byte-identical, no temp files."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest
from iohelpers import no_temp_files

from ganstudio.core.document import Document
from ganstudio.core.io import FileSaveError, atomic_write, export_image, load_ora, save_ora
from ganstudio.core.io import atomic as atomic_mod
from ganstudio.core.layers import RasterLayer


def _doc(value: int) -> Document:
    doc = Document(8, 8)
    doc.add_layer(RasterLayer.blank("a", 8, 8, fill=(value, 0, 0, 255)))
    return doc


def test_atomic_write_replaces_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    with atomic_write(target) as f:
        f.write(b"new contents")
        assert target.read_bytes() == b"old"  # not visible until the block ends
    assert target.read_bytes() == b"new contents"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert no_temp_files(tmp_path)


def test_atomic_write_error_in_block(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as f:
            f.write(b"partial")
            raise RuntimeError("encoder crashed")
    assert target.read_bytes() == b"old"
    assert no_temp_files(tmp_path)


def _enospc(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("where", ["replace", "fsync", "write"])
@pytest.mark.parametrize("kind", ["png", "jpg", "tif", "ora"])
def test_disk_full_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  rgba8: np.ndarray, where: str, kind: str) -> None:
    target = tmp_path / f"saved.{kind}"
    if kind == "ora":
        save_ora(_doc(10), target)
    else:
        export_image(rgba8, target)
    before = target.read_bytes()
    if where == "replace":
        monkeypatch.setattr(atomic_mod.os, "replace", _enospc)
    elif where == "fsync":
        monkeypatch.setattr(atomic_mod.os, "fsync", _enospc)
    else:
        real_fdopen = os.fdopen

        class Full:
            def __init__(self, f):
                self._f = f

            def write(self, data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            def __getattr__(self, name):
                return getattr(self._f, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self._f.close()

        monkeypatch.setattr(atomic_mod.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    doc = _doc(200)
    with pytest.raises(FileSaveError, match=rf"saved\.{kind}.*No space left on device.*unchanged") as info:
        if kind == "ora":
            save_ora(doc, target)
        else:
            export_image(doc, target)
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert no_temp_files(tmp_path)
    if kind == "ora":
        assert doc.path is None and load_ora(target).layers[0].pixels[0, 0, 0] == 10


def test_permission_denied_simulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     rgba8: np.ndarray) -> None:
    target = tmp_path / "locked.png"
    export_image(rgba8, target)
    before = target.read_bytes()

    def denied(*args: object, **kwargs: object):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(atomic_mod.tempfile, "mkstemp", denied)
    with pytest.raises(FileSaveError, match=r"locked\.png.*Permission denied"):
        export_image(rgba8[::-1].copy(), target)
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert no_temp_files(tmp_path)


def _make_read_only(folder: Path) -> tuple[object, object]:
    """(undo, reason) - chmod for normal users; root ignores modes, so chattr +i (immutable)."""
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return (lambda: folder.chmod(0o755)), "Permission denied"
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode:
        pytest.skip("running as root without a working chattr: cannot make a folder read-only")
    return (lambda: subprocess.run([chattr, "-i", str(folder)], check=True)), "not permitted"


def test_read_only_folder(tmp_path: Path, rgba8: np.ndarray) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    target = folder / "x.png"
    export_image(rgba8, target)
    before = target.read_bytes()
    undo, reason = _make_read_only(folder)
    try:
        with pytest.raises(FileSaveError, match=rf"x\.png.*{reason}.*unchanged"):
            export_image(rgba8[::-1].copy(), target)
        with pytest.raises(FileSaveError, match=reason):
            save_ora(_doc(1), folder / "p.ora")
    finally:
        undo()
    assert target.read_bytes() == before
    assert sorted(os.listdir(folder)) == ["x.png"]
