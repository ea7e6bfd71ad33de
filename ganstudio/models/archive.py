"""Take one member out of a downloaded archive, safely.

A catalog file may be an archive (SPADE's ``checkpoints.tar.gz`` holds
``{coco,ade20k,cityscapes}_pretrained/latest_net_G.pth``); the entry names the ``member`` it needs.
:func:`extract_member` copies exactly that member to a destination file the caller chooses:

* the member name is matched after normalisation (``./`` prefixes); names that are absolute or
  climb out with ``..`` never match and the destination never comes from the archive, so nothing
  can be written outside the model's folder;
* only a regular file is taken: a symlink, hard link, device, FIFO or directory is refused;
* size limits: the member's declared size and the bytes actually written must stay below
  ``max_bytes`` (a lying zip header or a decompression bomb stops early), and for zip files the
  written byte count must equal the declared one;
* a missing member is an :class:`ArchiveError` naming the closest members that exist.
The copy goes to ``dest.part`` and is renamed when complete.
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ArchiveError, DownloadCancelled, is_cancelled

MAX_MEMBER_BYTES = 16 * 2**30
CHUNK = 1 << 20


def normalise(name: str) -> str | None:
    """Canonical member name, or None for names that are absolute or leave the archive root."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    norm = posixpath.normpath(name)
    if norm in (".", "") or norm.startswith("../") or norm == "..":
        return None
    return norm


def archive_kind(path: Path) -> str:
    if zipfile.is_zipfile(path):
        return "zip"
    try:
        if tarfile.is_tarfile(path):
            return "tar"
    except OSError:
        pass
    raise ArchiveError(f"{path.name} is not a tar or zip archive (or it is truncated)")


def _copy(src, dst: Path, limit: int, expected: int | None, cancel: Any,
          progress: Callable[[int, int], None] | None, name: str) -> int:
    part = dst.with_name(dst.name + ".part")
    done = 0
    try:
        with open(part, "wb") as out:
            while True:
                if is_cancelled(cancel):
                    raise DownloadCancelled(f"extraction of {name} cancelled")
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                done += len(chunk)
                if done > limit:
                    raise ArchiveError(f"{name}: more than {limit} bytes; refused (size limit)")
                if expected is not None and done > expected:
                    raise ArchiveError(f"{name}: more data than its header declares; refused")
                out.write(chunk)
                if progress:
                    progress(done, expected or 0)
            out.flush()
            os.fsync(out.fileno())
        if expected is not None and done != expected:
            raise ArchiveError(f"{name}: {done} bytes, its header declares {expected} (truncated archive)")
        os.replace(part, dst)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return done


def _missing(member: str, names: list[str], archive: Path) -> ArchiveError:
    base = posixpath.basename(member)
    close = [n for n in names if posixpath.basename(n) == base] or names[:10]
    hint = f"; it has: {', '.join(close[:10])}" + (" ..." if len(close) > 10 else "") if close else ""
    return ArchiveError(f"{archive.name} has no member {member!r}{hint}")


def extract_member(archive: str | Path, member: str, dest: str | Path, *,
                   max_bytes: int = MAX_MEMBER_BYTES, cancel: Any = None,
                   progress: Callable[[int, int], None] | None = None) -> Path:
    """Copy ``member`` of ``archive`` (.tar, .tar.gz/.tgz/.tar.bz2/.tar.xz, .zip) to ``dest``."""
    archive, dest = Path(archive), Path(dest)
    want = normalise(member)
    if want is None:
        raise ArchiveError(f"member {member!r} is not a relative path inside the archive")
    kind = archive_kind(archive)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if kind == "zip":
        with zipfile.ZipFile(archive) as zf:
            infos = [(normalise(i.filename.rstrip("/")), i) for i in zf.infolist()]
            hits = [i for n, i in infos if n == want]
            if not hits:
                raise _missing(want, [n for n, _ in infos if n], archive)
            if len(hits) > 1:
                raise ArchiveError(f"{archive.name} holds {member!r} {len(hits)} times; refused")
            info = hits[0]
            ftype = stat.S_IFMT(info.external_attr >> 16)    # 0: no Unix type recorded
            if info.is_dir() or (ftype and ftype != stat.S_IFREG):
                raise ArchiveError(f"{archive.name}: {member} is not a regular file "
                                   "(link, device or folder); refused")
            if info.file_size > max_bytes:
                raise ArchiveError(f"{archive.name}: {member} declares {info.file_size} bytes, over the "
                                   f"limit of {max_bytes}; refused")
            try:
                with zf.open(info) as src:
                    _copy(src, dest, max_bytes, info.file_size, cancel, progress, member)
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                if isinstance(exc, ArchiveError):
                    raise
                raise ArchiveError(f"{archive.name}: cannot read {member} ({exc})") from None
        return dest
    try:
        with tarfile.open(archive, mode="r:*") as tf:
            seen: list[str] = []
            for ti in tf:
                n = normalise(ti.name)
                if n != want:
                    if n and len(seen) < 10000:
                        seen.append(n)
                    continue
                if not ti.isreg():
                    what = ("symlink" if ti.issym() else "hard link" if ti.islnk() else
                            "device" if ti.isdev() else "folder" if ti.isdir() else "special file")
                    raise ArchiveError(f"{archive.name}: {member} is a {what}, not a regular file; refused")
                if ti.size > max_bytes:
                    raise ArchiveError(f"{archive.name}: {member} declares {ti.size} bytes, over the "
                                       f"limit of {max_bytes}; refused")
                src = tf.extractfile(ti)
                if src is None:
                    raise ArchiveError(f"{archive.name}: cannot read {member}")
                with src:
                    _copy(src, dest, max_bytes, ti.size, cancel, progress, member)
                return dest
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError(f"{archive.name}: damaged or truncated archive ({exc})") from None
    raise _missing(want, seen, archive)
