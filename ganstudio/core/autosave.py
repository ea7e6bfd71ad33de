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

Guarantees (docs/FILES.md): the snapshot is copy-on-write (``core.snapshot``: O(layers) on the
caller's thread, pixels read on the writer thread); the writer thread survives any exception
(logged, kept in ``last_error``, retried after ``RETRY_S`` with back-off); a recovered document
adopts its recovery files (``Autosaver(doc, adopt=entry)``), which stay until it is saved or
autosaved again; ``detach()`` stops an autosaver without removing its files (a failed save on
close, an exception), ``close()`` removes them (the user closed or saved the document);
``emergency_save_all()`` writes every pending autosave synchronously (the crash hook).
"""

from __future__ import annotations

import contextlib
import json
import logging
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
from .io.ora import load_ora, read_saved_state, save_ora
from .snapshot import DocumentSnapshot

if TYPE_CHECKING:
    from .document import Document

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 120.0
RETRY_S = 10.0          # first retry after a failed autosave; doubles up to the interval
SIDECAR_VERSION = 1

# Names this process in state stamps: a document state is (SESSION, doc.uid, doc.revision).
SESSION = uuid.uuid4().hex

_autosavers: list[Any] = []      # live Autosavers (weak by convention: close/detach removes them)
_autosavers_lock = threading.Lock()


@dataclass(frozen=True)
class RecoveryEntry:
    ora_path: Path
    json_path: Path
    original_path: Path | None
    title: str
    time: float          # seconds since the epoch of the autosave
    pid: int
    state: str | None = None   # state_stamp() of the autosaved document (None: older sidecars)

    @property
    def age_s(self) -> float:
        return max(0.0, time.time() - self.time)


def state_stamp(uid: int, revision: int) -> str:
    """An opaque name of one document state of this process: written into the recovery sidecar
    and (``save_ora(saved_state=...)``) into the user's saved project."""
    return f"{SESSION}:{int(uid)}:{int(revision)}"


def _parse_stamp(stamp: str | None) -> tuple[str, int, int] | None:
    try:
        session, uid, revision = str(stamp).split(":")
        return session, int(uid), int(revision)
    except (ValueError, TypeError):
        return None


def superseded(entry: RecoveryEntry) -> bool:
    """Whether the user's saved project already holds this autosave's state or a later one of
    the same document: the process died after the save had replaced the file but before it had
    removed its recovery files (a window the save thread keeps to microseconds, #13). Such an
    entry is older than the project and is not offered. Exact: both files carry state stamps
    (same process, same document, revision of the saved state >= that of the autosave)."""
    mine = _parse_stamp(entry.state)
    if mine is None or entry.original_path is None:
        return False
    saved = _parse_stamp(read_saved_state(entry.original_path))
    return saved is not None and saved[:2] == mine[:2] and saved[2] >= mine[2]


def background_workers() -> int:
    """PNG encoder threads for a write the user is not waiting for: one core is left to the GUI
    thread (1 on a 2-core machine, at most 4)."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


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
                 background: bool = True, adopt: RecoveryEntry | None = None) -> None:
        self.doc = doc
        self.interval_s = float(interval_s)
        self.compress_level = compress_level
        self.background = background
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        if adopt is not None:
            # a recovered document takes over its recovery files: they are replaced (atomically)
            # by its first autosave and removed only once it is saved / closed by the user
            self.recovery_dir = adopt.json_path.parent
            self.id = adopt.json_path.stem
            self.ora_path, self.json_path = adopt.ora_path, adopt.json_path
        else:
            self.recovery_dir = Path(recovery_dir) if recovery_dir is not None else paths.recovery_dir()
            self.id = f"autosave-{os.getpid()}-{uuid.uuid4().hex[:12]}"
            self.ora_path = self.recovery_dir / f"{self.id}.ora"
            self.json_path = self.recovery_dir / f"{self.id}.json"
        self.adopted = adopt is not None
        self._may_have_files = self.adopted   # set before each write: files may exist from then on
        self.last_save: float = time.monotonic()
        self.last_error: BaseException | None = None
        self.failures = 0
        self._retry_at: float | None = None
        self.saves = 0
        self._saved_revision: int | None = None   # the document revision the user last saved
        self._dirty = bool(doc.modified)
        self._closed = False
        self._signals: list[Any] = [doc.history.events.changed, doc.events.layers, doc.events.region,
                                    doc.events.selection, doc.events.size, doc.events.modified]
        for signal in self._signals:
            signal.connect(self._touch)
        with _autosavers_lock:
            _autosavers.append(self)

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
        if not self._dirty:
            return False
        due = self._retry_at if self._retry_at is not None else self.last_save + self.interval_s
        if now < due:
            return False
        return self.save_now(now, background=self.background)

    def save_now(self, now: float | None = None, *, background: bool = False) -> bool:
        """Autosave now (after a recovery, before a long GPU job). Synchronous by default: True when
        written. With ``background=True``, True once the writer thread started (see ``wait()``).
        The snapshot is copy-on-write: this thread pays O(layers), the writer copies the pixels."""
        if self._closed or self.busy:
            return False
        now = time.monotonic() if now is None else now
        self._dirty = False
        self.last_save = now
        snap = DocumentSnapshot(self.doc)
        if background:
            self._thread = threading.Thread(target=self._write, args=(snap, now),
                                            name="ganstudio-autosave", daemon=True)
            self._thread.start()
            return True
        return self._write(snap, now)

    def _write(self, snap: DocumentSnapshot, started: float | None = None) -> bool:
        """Write one autosave. Never raises: any failure is logged, kept and retried later."""
        started = time.monotonic() if started is None else started
        try:
            with self._lock:
                if self._closed:
                    return False
                copy = snap.materialize()
                snap.release()
                self.recovery_dir.mkdir(parents=True, exist_ok=True)
                self._may_have_files = True
                save_ora(copy, self.ora_path, compress_level=self.compress_level, thumbnail=True,
                         mark_saved=False, workers=background_workers())
                if self._stale(snap):
                    # the user saved a newer state meanwhile: this autosave is older than the file
                    with contextlib.suppress(FileNotFoundError):
                        self.ora_path.unlink()
                    return False
                sidecar = {
                    "version": SIDECAR_VERSION,
                    "original_path": None if copy.path is None else str(copy.path),
                    "title": copy.name, "time": time.time(), "pid": os.getpid(),
                    "ora": self.ora_path.name, "source_format": copy.source_format,
                    "state": state_stamp(snap.uid, snap.revision),
                }
                write_bytes_atomic(self.json_path, json.dumps(sidecar, indent=1).encode())
                if self._stale(snap):       # saved while the sidecar was being written
                    self._may_have_files = True
                    self._remove_files()
                    return False
        except BaseException as exc:  # noqa: BLE001 - the writer must survive anything
            snap.release()
            self._dirty = True
            self.last_error = exc
            self.failures += 1
            delay = min(self.interval_s, RETRY_S * 2 ** (self.failures - 1))
            self._retry_at = started + delay
            if isinstance(exc, (ImageFileError, OSError)):
                log.warning("autosave of %s failed (retry in %.0f s): %s", self.doc.name, delay, exc)
            else:
                log.exception("autosave of %s failed (retry in %.0f s)", self.doc.name, delay)
            if not isinstance(exc, Exception):   # KeyboardInterrupt / SystemExit: pass them on
                raise
            return False
        self.last_error = None
        self.failures = 0
        self._retry_at = None
        self.saves += 1
        return True

    def _stale(self, snap: DocumentSnapshot) -> bool:
        return self._saved_revision is not None and snap.revision <= self._saved_revision

    def superseded(self, revision: int) -> None:
        """The user's project file now holds the document as it was at ``revision``: recovery
        files of that state or older go at once. Safe from any thread; the save thread calls it
        right after the file is in place, so that a crash finds no recovery older than the
        project (and ``superseded(entry)`` catches the microseconds in between)."""
        self._saved_revision = max(int(revision), self._saved_revision or 0)
        self._may_have_files = True   # (no lock: a writer re-checks and drops a stale result)
        self._remove_files()

    def saved(self, revision: int | None = None) -> None:
        """The user saved the document (as it was at ``revision``): the recovery files are older
        than that file now, so they go at once (an autosave being written is dropped when it
        is not newer); changes made after that revision are autosaved again as usual."""
        self.superseded(int(revision if revision is not None else getattr(self.doc, "revision", 0)))
        self._dirty = bool(self.doc.modified)
        self._retry_at = None

    @property
    def status(self) -> str:
        """One line for the status bar: "" when all is well."""
        if self.last_error is None:
            return ""
        return f"Autosave failed ({self.failures}x): {self.last_error} — retrying"

    def _remove_files(self) -> None:
        if not self._may_have_files:   # the window's tick calls this every 10 s: no syscalls
            return
        for p in (self.json_path, self.ora_path):  # sidecar first: no entry without its project
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        self._may_have_files = False

    def _stop(self) -> None:
        self.wait()
        with self._lock:
            self._closed = True
        for signal in self._signals:
            with contextlib.suppress(Exception):
                signal.disconnect(self._touch)
        with _autosavers_lock:
            with contextlib.suppress(ValueError):
                _autosavers.remove(self)

    def close(self) -> None:
        """The user closed (or saved and closed) the document: stop and remove the recovery files."""
        if self._closed:
            return
        self._stop()
        self._remove_files()

    def detach(self) -> None:
        """Stop autosaving but KEEP the recovery files (a save that failed on close, a crash path):
        the next start offers them back."""
        if self._closed:
            return
        if self.pending:
            self._write(DocumentSnapshot(self.doc))
        self._stop()


def emergency_save_all() -> int:
    """Write every autosaver that has unsaved changes, synchronously (an unhandled exception, a
    signal before exit). Returns how many were written; never raises."""
    with _autosavers_lock:
        savers = list(_autosavers)
    n = 0
    for saver in savers:
        try:
            if saver._closed or not saver.doc.modified:
                continue
            saver.wait(5.0)
            if saver._write(DocumentSnapshot(saver.doc)):
                n += 1
        except Exception:  # noqa: BLE001
            log.exception("emergency autosave failed")
    return n


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
        state = data.get("state")
        return RecoveryEntry(ora, json_path, Path(original) if original else None,
                             str(data.get("title") or ora.stem), float(data.get("time", 0.0)),
                             int(data.get("pid", 0)), state if isinstance(state, str) else None)
    except (OSError, ValueError, TypeError):
        return None


def find_recoverable(recovery_dir: str | os.PathLike[str] | None = None) -> list[RecoveryEntry]:
    """Autosaves whose owner process is gone (crash), newest first. An entry the user's saved
    project already supersedes (see :func:`superseded`) is removed, not returned: its owner is
    gone and the project holds that state."""
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
        if superseded(entry):
            log.info("recovery %s is older than the saved %s: removed", entry.ora_path.name,
                     entry.original_path)
            discard(entry)
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
           "emergency_save_all", "state_stamp", "superseded", "SESSION", "DEFAULT_INTERVAL_S"]
