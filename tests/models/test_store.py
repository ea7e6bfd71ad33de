"""The model store: downloads against a local HTTP server on 127.0.0.1 (Range resume, retries,
hash checks, 404, slow server timeout, cancel), import, verify, remove, tamper detection."""

from __future__ import annotations

import hashlib
import http.server
import threading
import time

import pytest

from ganstudio.models.catalog import Catalog, parse_catalog_text
from ganstudio.models.safeload import ModelLoadError, UnsafeCheckpointError
from ganstudio.models.store import (
    DownloadCancelled,
    DownloadError,
    HashMismatchError,
    ModelStore,
    NotInstalledError,
    StoreError,
)
from ganstudio.models.testing import rrdbnet_state_dict, save_safetensors

PAYLOAD = bytes(range(256)) * 4096 + b"tail"          # ~1 MiB, not a multiple of the chunk size
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "TestServer/1"
    cut_first = False     # class-level switches set by tests
    slow = 0.0
    requests: list = []

    def log_message(self, *a):  # quiet
        pass

    def do_GET(self):  # noqa: N802
        Handler.requests.append((self.path, self.headers.get("Range")))
        if self.path.startswith("/missing"):
            self.send_error(404, "Not Found")
            return
        if Handler.slow:
            time.sleep(Handler.slow)
        body = PAYLOAD if not self.path.startswith("/wrong") else PAYLOAD[::-1]
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        part = body[start:]
        self.send_header("Content-Length", str(len(part)))
        self.end_headers()
        if Handler.cut_first and start == 0:
            Handler.cut_first = False
            self.wfile.write(part[: len(part) // 3])     # then drop the connection
            self.wfile.flush()
            self.close_connection = True
            return
        try:
            for i in range(0, len(part), 65536):
                self.wfile.write(part[i:i + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def server():
    Handler.cut_first, Handler.slow, Handler.requests = False, 0.0, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _store(tmp_path, base, sha=SHA, size=len(PAYLOAD), path="/w.pth", extra=""):
    text = f"""
[[model]]
id = "test.model"
task = "super_resolution"
arch = "rrdbnet"
name = "Test model"
scale = 4
licence = "MIT"
non_commercial = true
origin = "https://example.org"
files = [{{ name = "w.pth", url = "{base}{path}", size = {size}{', sha256 = "' + sha + '"' if sha else ''}{extra} }}]
"""
    return ModelStore(tmp_path / "cache", Catalog(parse_catalog_text(text, "test.toml")))


def test_download_success_with_progress(tmp_path, server):
    store = _store(tmp_path, server)
    seen = []
    p = store.download("test.model", progress=lambda d, t: seen.append((d, t)))
    assert p.read_bytes() == PAYLOAD
    assert store.is_installed("test.model") and store.installed() == ["test.model"]
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert not list(p.parent.glob("*.part"))
    assert store.verify("test.model").ok
    st = store.status("test.model")
    assert st.entry.non_commercial and st.size_on_disk >= len(PAYLOAD)


def test_resume_after_a_cut_connection(tmp_path, server):
    Handler.cut_first = True
    store = _store(tmp_path, server)
    p = store.download("test.model", backoff=0.01)
    assert p.read_bytes() == PAYLOAD
    ranges = [r for _, r in Handler.requests]
    assert ranges[0] is None and ranges[1] is not None and ranges[1].startswith("bytes=")
    assert int(ranges[1][6:].split("-")[0]) > 0          # resumed, not restarted


def test_resume_from_a_part_file(tmp_path, server):
    store = _store(tmp_path, server)
    d = store.model_dir("test.model")
    d.mkdir(parents=True)
    (d / "w.pth.part").write_bytes(PAYLOAD[:1000])
    store.download("test.model")
    assert Handler.requests[0][1] == "bytes=1000-"
    assert store.path("test.model").read_bytes() == PAYLOAD


def test_hash_mismatch_is_refused_and_not_installed(tmp_path, server):
    store = _store(tmp_path, server, path="/wrong.pth")
    with pytest.raises(HashMismatchError, match="sha256 mismatch"):
        store.download("test.model")
    assert not store.is_installed("test.model")
    d = store.model_dir("test.model")
    assert not (d / "w.pth").exists() and not (d / "w.pth.part").exists()


def test_prefix_and_md5_facts_are_checked(tmp_path, server):
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    store = _store(tmp_path, server, sha="", extra=f', sha256_prefix = "{SHA[:8]}", md5 = "{md5}"')
    store.download("test.model")
    assert store.verify("test.model").ok
    store2 = _store(tmp_path / "b", server, sha="", extra=', sha256_prefix = "00000000"')
    with pytest.raises(HashMismatchError, match="prefix"):
        store2.download("test.model")


def test_404_is_a_clear_error(tmp_path, server):
    store = _store(tmp_path, server, path="/missing.pth")
    with pytest.raises(DownloadError, match="404.*not found"):
        store.download("test.model", retries=3)
    assert len(Handler.requests) == 1                      # no pointless retries


def test_slow_server_times_out(tmp_path, server):
    Handler.slow = 1.0
    store = _store(tmp_path, server)
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match="timed out"):
        store.download("test.model", retries=1, timeout=0.2, backoff=0.01)
    assert time.monotonic() - t0 < 5
    assert not store.is_installed("test.model")


def test_cancel_keeps_the_part_and_a_later_download_resumes(tmp_path, server):
    store = _store(tmp_path, server)

    class Token:
        cancelled = False

    tok = Token()

    def progress(done, total):
        if done > 0:
            tok.cancelled = True

    with pytest.raises(DownloadCancelled):
        store.download("test.model", progress=progress, cancel=tok)
    d = store.model_dir("test.model")
    part = d / "w.pth.part"
    assert part.exists() and 0 < part.stat().st_size < len(PAYLOAD)
    assert not store.is_installed("test.model")
    store.download("test.model")
    assert store.path("test.model").read_bytes() == PAYLOAD


def test_not_installed_message(tmp_path, server):
    store = _store(tmp_path, server)
    with pytest.raises(NotInstalledError, match="ganstudio models download test.model"):
        store.path("test.model")


def test_import_verify_tamper_remove(tmp_path):
    store = ModelStore(tmp_path / "cache")
    src = tmp_path / "tiny_x4.safetensors"
    save_safetensors(rrdbnet_state_dict(), src)
    mid = store.import_file(src)
    assert mid == "user.tiny_x4"
    st = store.status(mid)
    assert st.installed and st.entry.task == "super_resolution" and st.entry.arch == "ESRGAN"
    assert mid in [s.entry.id for s in store.list()]
    assert "conv_first.weight" in store.load_state_dict(mid)
    assert store.verify(mid).ok
    # tamper with the cached file (same size, one byte of tensor data flipped)
    p = store.path(mid)
    data = bytearray(p.read_bytes())
    data[-3] ^= 0xFF
    p.write_bytes(bytes(data))
    res = store.verify(mid)
    assert not res.ok and "tampered" in res.message
    with pytest.raises(ModelLoadError, match="tampered"):
        store.load_state_dict(mid)
    assert store.remove(mid) and not store.is_installed(mid)
    assert store.remove(mid) is False


def test_import_refuses_code_pickles(tmp_path):
    import os

    import torch

    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    p = tmp_path / "evil.pth"
    torch.save({"w": torch.zeros(1), "e": Evil()}, p)
    store = ModelStore(tmp_path / "cache")
    with pytest.raises(UnsafeCheckpointError):
        store.import_file(p)
    assert store.user_ids() == []


def test_import_for_a_catalog_id_checks_the_facts(tmp_path, server):
    store = _store(tmp_path, server)
    bad = tmp_path / "w.pth"
    bad.write_bytes(PAYLOAD[:-1] + b"X")
    with pytest.raises(HashMismatchError):
        store.import_file(bad, "test.model")
    good = tmp_path / "good.pth"
    good.write_bytes(PAYLOAD)
    assert store.import_file(good, "test.model") == "test.model"
    assert store.path("test.model").read_bytes() == PAYLOAD
    with pytest.raises(StoreError, match="invalid model id"):
        store.model_dir("../etc")


def test_package_model_converts_on_first_use(tmp_path):
    store = ModelStore(tmp_path / "cache")
    mid = "realesrgan.animevideov3-x4"
    assert not store.is_installed(mid) and store.status(mid).available_offline
    assert store.verify(mid).ok                              # package present, not converted yet
    sd = store.load_state_dict(mid)
    assert store.is_installed(mid) and store.path(mid).suffix == ".safetensors"
    assert sd["body.34.weight"].shape == (48, 64, 3, 3)
    assert store.verify(mid).ok
    assert abs(store.path(mid).stat().st_size - store.entry(mid).size) < 1024  # catalog size right
