"""Resumable HTTP downloads of model files, and the checks of a file against the catalog.

``download_file(f, dest_dir, ...)`` fetches one catalog file (:class:`ModelFile`) into
``dest_dir/<name>``: it writes ``<name>.part``, resumes it with an HTTP ``Range`` request after an
interruption (a server that ignores the Range restarts from zero), retries timeouts, resets and
5xx / 429 answers with a growing pause, refuses a response that ends before its
``Content-Length``, checks what the catalog knows (size, sha256 or its prefix, md5) and renames
the file into place only when everything matches. Google Drive files (``gdrive``) go through the
virus-scan confirm page (:mod:`ganstudio.models.gdrive`). A web page where a weights file was
expected is refused. No torch.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import gdrive
from .catalog import ModelFile
from .errors import DownloadCancelled, DownloadError, HashMismatchError, is_cancelled

ProgressFn = Callable[[int, int], None]   # (bytes done, bytes total or 0)
CHUNK = 1 << 20
USER_AGENT = "GANStudio-model-store/1"


def sha256_file(path: Path, cancel: Any = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK * 4):
            h.update(chunk)
            if is_cancelled(cancel):
                raise DownloadCancelled("cancelled")
    return h.hexdigest()


def md5_file(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK * 4):
            h.update(chunk)
    return h.hexdigest()


def check_known_facts(path: Path, f: ModelFile, sha: str | None = None, pinned: str = "") -> str:
    """Check a file against what the catalog knows (size, sha256 or its prefix, md5) and, for a
    file without a verified hash, against the sha256 ``pinned`` at its first download.

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
    if f.md5 and md5_file(path) != f.md5:
        raise HashMismatchError(f"{f.name}: md5 mismatch: corrupt or tampered file, not installed")
    if pinned and not f.sha256 and sha != pinned:
        raise HashMismatchError(
            f"{f.name}: sha256 {sha[:16]}... differs from the {pinned[:16]}... recorded when this "
            "file was first downloaded (its hash is not verified by the catalog, so the first one "
            "seen is pinned): the file changed upstream or was tampered with; not installed. "
            "Forgetting the pin (ModelStore.forget_pin) accepts the new file deliberately")
    return sha


def _open(url: str, have: int, timeout: float):
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if have:
        req.add_header("Range", f"bytes={have}-")
    return urllib.request.urlopen(req, timeout=timeout)


def _open_file_response(f: ModelFile, have: int, timeout: float, state: dict):
    """Open the response that carries the file's bytes (following Drive's confirm page)."""
    if not f.gdrive:
        resp = _open(f.url, have, timeout)
        if gdrive.is_html(resp.headers.get("Content-Type")) and not f.name.endswith((".html", ".htm")):
            resp.close()
            raise DownloadError(f"{f.url} answered with a web page, not {f.name} (moved or behind a "
                                "login?); nothing installed")
        return resp
    url = state.get("confirmed") or gdrive.file_url(f.gdrive)
    resp = _open(url, have, timeout)
    for _ in range(2):
        if not gdrive.is_html(resp.headers.get("Content-Type")):
            return resp
        page = resp.read(gdrive.MAX_PAGE_BYTES)
        page_url = resp.geturl()
        resp.close()
        state["confirmed"] = url = gdrive.confirm_url(page, page_url)
        resp = _open(url, have, timeout)
    resp.close()
    raise DownloadError(f"Google Drive keeps answering {f.name} with a web page; nothing installed")


def download_file(f: ModelFile, dest_dir: Path, progress: ProgressFn | None = None, cancel: Any = None,
                  *, retries: int = 3, timeout: float = 30.0, backoff: float = 1.0,
                  pinned: str = "") -> tuple[Path, str]:
    """Download ``f`` to ``dest_dir/f.name``; returns (path, sha256). The .part survives a cancel
    or a failure and is resumed next time; a file that fails a check is deleted."""
    progress = progress or (lambda done, total: None)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / f.name
    part = dest_dir / (f.name + ".part")
    where = f"Google Drive file {f.gdrive}" if f.gdrive else f.url
    last_err = ""
    attempt = 0
    state: dict = {}
    while True:
        if is_cancelled(cancel):
            raise DownloadCancelled(f"download of {f.name} cancelled (partial file kept)")
        have = part.stat().st_size if part.exists() else 0
        if f.size and have == f.size:
            break
        if f.size and have > f.size:
            part.unlink()
            have = 0
        try:
            with _open_file_response(f, have, timeout, state) as resp:
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
                        if is_cancelled(cancel):
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
                raise DownloadError(f"{where}: HTTP {exc.code} {exc.reason}"
                                    + (" (file not found)" if exc.code == 404 else "")) from None
        except (DownloadCancelled, DownloadError):
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
            raise DownloadError(f"could not download {f.name} from {where} after {attempt} "
                                f"attempts: {last_err} (the partial file is kept for a resume)")
        deadline = time.monotonic() + backoff * attempt
        while time.monotonic() < deadline:
            if is_cancelled(cancel):
                raise DownloadCancelled(f"download of {f.name} cancelled (partial file kept)")
            time.sleep(0.05)
    try:
        sha = check_known_facts(part, f, pinned=pinned)
    except HashMismatchError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, final)
    return final, sha
