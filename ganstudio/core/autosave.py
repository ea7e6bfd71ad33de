"""Autosave to a recovery folder and crash recovery (Qt-free; the UI drives it from a QTimer).

Usage in the UI::

    saver = Autosaver(doc)                  # one per open document
    timer.timeout.connect(saver.maybe_save) # e.g. every 10 s; saves at most every interval_s
                                            # (copies the layers, writes in a background thread)
    ...
    saver.close()                           # document closed normally: recovery files removed

    for entry in find_recoverable():        # at start-up: documents of processes that died
        doc = recover(entry)                # ask the user first; then
        discard(entry)                      # once the recovered document has its own Autosaver

Each autosave writes ``<id>.ora`` (an ordinary OpenRaster project) and then ``<id>.json``
({version, original_path, title, time, pid, ora}) atomically into the recovery folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import paths
from .io.atomic import write_bytes_atomic
from .io.errors import ImageFileError
from .io.ora import load_ora, save_ora

if TYPE_CHECKING:
    from .document import Document

DEFAULT_INTERVAL_S = 120.0
SIDECAR_VERSION = 1


@dataclass(frozen=True)
class RecoveryEntry:
    ora_path: Path
    json_path: Path
    original_path: Path | None
    title: str
    time: float          # seconds since the epoch of the autosave
    pid: int

    @property
    def age_s(self) -> float:
        return max(0.0, time.time() - self.time)


def snapshot(doc: Document) -> Document:
    """A private copy of what autosave writes (layers, masks, selection, metadata): taken on the
    caller's thread (a memory copy, fast), written on a background thread while the user works on."""
    from .document import Document as Doc
    from .layers import LabelLayer, RasterLayer

    copy = Doc(doc.width, doc.height, name=doc.name)
    for layer in doc.layers:
        attrs = layer.attributes()
        name = attrs.pop("name")
        mask = None if layer.mask is None else layer.mask.copy()
        if isinstance(layer, LabelLayer):
            new = LabelLayer(name, layer.labels.copy(), list(layer.palette),
                             palette_name=layer.palette_name, transparent_id=layer.transparent_id,
                             mask=mask, **attrs)
        else:
            new = RasterLayer(name, layer.pixels.copy(), mask=mask, **attrs)  # type: ignore[attr-defined]
        copy.layers.append(new)  # not through add_layer: no history, no events needed
        if layer is doc.active_layer:
            copy._active = new  # noqa: SLF001 - private copy, no listeners
    copy.selection = None if doc.selection is None else doc.selection.copy()
    ai_mask = getattr(doc, "ai_mask", None)
    if ai_mask is not None:
        copy.ai_mask = ai_mask.copy()  # type: ignore[attr-defined]
    copy.icc_profile, copy.exif = doc.icc_profile, doc.exif
    copy.metadata = json.loads(json.dumps(doc.metadata, default=str))
    copy.source_format = doc.source_format
    copy.path = doc.path
    return copy


class Autosaver:
    """Saves ``doc`` into the recovery folder when it changed since the last autosave and at least
    ``interval_s`` seconds passed (the first autosave: ``interval_s`` after creation).

    ``background=True`` (default): ``maybe_save`` copies the document (fast) and writes it on a
    worker thread, so the UI does not freeze on big projects; ``wait()`` joins that thread.
    """

    def __init__(self, doc: Document, recovery_dir: str | os.PathLike[str] | None = None,
                 interval_s: float = DEFAULT_INTERVAL_S, *, compress_level: int = 1,
                 background: bool = True) -> None:
        self.doc = doc
        self.recovery_dir = Path(recovery_dir) if recovery_dir is not None else paths.recovery_dir()
        self.interval_s = float(interval_s)
        self.compress_level = compress_level
        self.background = background
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.id = f"autosave-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.ora_path = self.recovery_dir / f"{self.id}.ora"
        self.json_path = self.recovery_dir / f"{self.id}.json"
        self.last_save: float = time.monotonic()
        self.last_error: Exception | None = None
        self.saves = 0
        self._dirty = bool(doc.modified)
        self._closed = False
        self._signals: list[Any] = [doc.history.events.changed, doc.events.layers, doc.events.region,
                                    doc.events.selection, doc.events.size, doc.events.modified]
        for signal in self._signals:
            signal.connect(self._touch)

    def _touch(self, *args: Any) -> None:
        self._dirty = True

    @property
    def pending(self) -> bool:
        """Changes not yet in the recovery folder."""
        return self._dirty and self.doc.modified

    @property
    def busy(self) -> bool:
        """A background autosave is being written."""
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a background autosave to finish."""
        if self._thread is not None:
            self._thread.join(timeout)

    def maybe_save(self, now: float | None = None) -> bool:
        """Autosave if due (``now``: time.monotonic() value, for tests). True when it saved.

        Never raises for file errors: they are kept in ``last_error`` (the UI may show them).
        When the document is no longer modified (the user saved), old recovery files are removed.
        """
        if self._closed or self.busy:
            return False
        now = time.monotonic() if now is None else now
        if not self.doc.modified:
            self._remove_files()
            return False
        if not self._dirty or now - self.last_save < self.interval_s:
            return False
        return self.save_now(now, background=self.background)

    def save_now(self, now: float | None = None, *, background: bool = False) -> bool:
        """Autosave now (e.g. before a long GPU job). Synchronous by default: True when written.
        With ``background=True``, True once the writer thread started (see ``wait()``)."""
        if self._closed or self.busy:
            return False
        now = time.monotonic() if now is None else now
        self._dirty = False
        self.last_save = now
        snap = snapshot(self.doc)
        if background:
            self._thread = threading.Thread(target=self._write, args=(snap,),
                                            name="ganstudio-autosave", daemon=True)
            self._thread.start()
            return True
        return self._write(snap)

    def _write(self, snap: Document) -> bool:
        with self._lock:
            if self._closed:
                return False
            try:
                self.recovery_dir.mkdir(parents=True, exist_ok=True)
                save_ora(snap, self.ora_path, compress_level=self.compress_level, thumbnail=True,
                         mark_saved=False, workers=2)
                sidecar = {
                    "version": SIDECAR_VERSION,
                    "original_path": None if snap.path is None else str(snap.path),
                    "title": snap.name, "time": time.time(), "pid": os.getpid(),
                    "ora": self.ora_path.name, "source_format": snap.source_format,
                }
                write_bytes_atomic(self.json_path, json.dumps(sidecar, indent=1).encode())
            except (ImageFileError, OSError) as exc:
                self._dirty = True
                self.last_error = exc
                return False
            self.last_error = None
            self.saves += 1
            return True

    def _remove_files(self) -> None:
        for p in (self.json_path, self.ora_path):  # sidecar first: no entry without its project
            with contextlib.suppress(FileNotFoundError):
                p.unlink()

    def close(self) -> None:
        """The document was closed normally: stop and remove the recovery files."""
        if self._closed:
            return
        self.wait()
        with self._lock:
            self._closed = True
        for signal in self._signals:
            with contextlib.suppress(Exception):
                signal.disconnect(self._touch)
        self._remove_files()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id is running (the owner of a recovery entry)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - Windows
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _read_entry(json_path: Path) -> RecoveryEntry | None:
    try:
        data = json.loads(json_path.read_text("utf-8"))
        ora = json_path.parent / Path(str(data.get("ora") or json_path.with_suffix(".ora").name)).name
        original = data.get("original_path")
        return RecoveryEntry(ora, json_path, Path(original) if original else None,
                             str(data.get("title") or ora.stem), float(data.get("time", 0.0)),
                             int(data.get("pid", 0)))
    except (OSError, ValueError, TypeError):
        return None


def find_recoverable(recovery_dir: str | os.PathLike[str] | None = None) -> list[RecoveryEntry]:
    """Autosaves whose owner process is gone (crash), newest first."""
    folder = Path(recovery_dir) if recovery_dir is not None else paths.recovery_dir()
    if not folder.is_dir():
        return []
    entries = []
    for json_path in folder.glob("*.json"):
        entry = _read_entry(json_path)
        if entry is None or not entry.ora_path.is_file():
            continue
        if entry.pid == os.getpid() or pid_alive(entry.pid):
            continue
        entries.append(entry)
    return sorted(entries, key=lambda e: e.time, reverse=True)


def recover(entry: RecoveryEntry) -> Document:
    """The autosaved document: modified, ``path`` set to the original file (None if never saved)."""
    doc = load_ora(entry.ora_path, allow_huge=True)
    try:
        sidecar = json.loads(entry.json_path.read_text("utf-8"))
    except (OSError, ValueError):
        sidecar = {}
    if entry.original_path is not None:
        doc.set_path(entry.original_path)
        fmt = sidecar.get("source_format")
        doc.source_format = fmt if isinstance(fmt, str) else None
    else:
        doc.path = None
        doc.source_format = None
        doc.events.path.emit(None)
    doc.name = entry.title
    doc.metadata["recovered_from"] = str(entry.ora_path)
    doc.mark_modified(True)
    return doc


def discard(entry: RecoveryEntry) -> None:
    """Delete a recovery entry's files."""
    for p in (entry.json_path, entry.ora_path):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


__all__ = ["Autosaver", "snapshot", "RecoveryEntry", "find_recoverable", "recover", "discard", "pid_alive",
           "DEFAULT_INTERVAL_S"]
