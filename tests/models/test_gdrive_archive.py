"""Google Drive's confirm flow, archive members and hash pinning, against a local server on 127.0.0.1
that mimics Drive (confirm page with confirm + uuid, then the file, Range resume, truncation)."""

from __future__ import annotations

import hashlib
import io
import stat
import tarfile
import zipfile

import pytest
from fileserver import FileServer

from ganstudio.models import gdrive
from ganstudio.models.archive import extract_member
from ganstudio.models.catalog import Catalog, CatalogError, gdrive_id, parse_catalog_text
from ganstudio.models.errors import ArchiveError
from ganstudio.models.store import DownloadError, HashMismatchError, ModelStore

PAYLOAD = bytes(range(256)) * 3000 + b"end"        # ~750 KiB
FID = "1cUv_reLE6k3604or78EranS7XzuVMWeO"


@pytest.fixture
def server(monkeypatch):
    s = FileServer()
    monkeypatch.setattr(gdrive, "DOWNLOAD_URL", f"{s.url}/download")
    yield s
    s.close()


def _store(tmp_path, text):
    return ModelStore(tmp_path / "store", catalog=Catalog(parse_catalog_text(text, "t.toml")))


def _entry(file_table: str, mid: str = "e4e.ffhq", extra: str = "") -> str:
    return f"""
[[model]]
id = "{mid}"
task = "face_edit"
arch = "e4e"
name = "test"
licence = "MIT"
origin = "https://example.org"
{extra}
files = [{file_table}]
"""


# -- Google Drive ---------------------------------------------------------------------------------
def test_drive_confirm_page_then_the_file(tmp_path, server):
    server.drive[FID] = PAYLOAD
    store = _store(tmp_path, _entry(f'{{ name = "e4e_ffhq_encode.pt", gdrive = "{FID}", size = {len(PAYLOAD)} }}'))
    p = store.download("e4e.ffhq", retries=0)
    assert p.read_bytes() == PAYLOAD
    first, second = server.requests[0][0], server.requests[1][0]
    assert first == f"/download?id={FID}&export=download"
    assert "confirm=t" in second and f"uuid={server.uuids[FID]}" in second and f"id={FID}" in second
    man = store.manifest("e4e.ffhq")
    assert man["hash_verified"] is False
    assert man["pinned_sha256"]["e4e_ffhq_encode.pt"] == hashlib.sha256(PAYLOAD).hexdigest()


def test_drive_url_forms_are_understood():
    for v in (FID, f"https://drive.google.com/file/d/{FID}/view?usp=sharing",
              f"https://drive.google.com/uc?id={FID}&export=download",
              f"https://drive.usercontent.google.com/download?id={FID}&export=download&confirm=t"):
        assert gdrive_id(v) == FID
    (e,) = parse_catalog_text(_entry(f'{{ name = "x.pt", url = "https://drive.google.com/file/d/{FID}/view" }}'))
    assert e.files[0].gdrive == FID


def test_drive_resume_with_range_after_a_cut(tmp_path, server):
    server.drive[FID] = PAYLOAD
    server.truncate[FID] = 1                      # the first file answer stops half-way
    store = _store(tmp_path, _entry(f'{{ name = "e4e_ffhq_encode.pt", gdrive = "{FID}", size = {len(PAYLOAD)} }}'))
    p = store.download("e4e.ffhq", retries=2, backoff=0.01)
    assert p.read_bytes() == PAYLOAD
    ranges = [r for _, r in server.requests if r]
    assert ranges and ranges[0] == f"bytes={len(PAYLOAD) // 2}-"    # resumed, not restarted


def test_drive_truncated_download_is_refused(tmp_path, server):
    server.drive[FID] = PAYLOAD
    server.truncate[FID] = 10
    store = _store(tmp_path, _entry(f'{{ name = "e4e_ffhq_encode.pt", gdrive = "{FID}" }}'))
    with pytest.raises(DownloadError, match="after 2 attempts.*connection closed"):
        store.download("e4e.ffhq", retries=1, backoff=0.01)
    assert not store.is_installed("e4e.ffhq")
    assert not (store.model_dir("e4e.ffhq") / "e4e_ffhq_encode.pt").exists()


def test_short_file_is_refused_by_its_size(tmp_path, server):
    server.drive[FID] = PAYLOAD[:1000]            # a complete answer, but not the whole file
    store = _store(tmp_path, _entry(f'{{ name = "e4e_ffhq_encode.pt", gdrive = "{FID}", size = {len(PAYLOAD)} }}'))
    with pytest.raises(HashMismatchError, match="size 1000 bytes"):
        store.download("e4e.ffhq", retries=0)
    assert not store.is_installed("e4e.ffhq")


def test_drive_quota_page_and_foreign_form_host_are_clear_errors(tmp_path, server):
    server.drive[FID] = PAYLOAD
    server.quota.add(FID)
    store = _store(tmp_path, _entry(f'{{ name = "e4e_ffhq_encode.pt", gdrive = "{FID}" }}'))
    with pytest.raises(DownloadError, match="quota"):
        store.download("e4e.ffhq", retries=0)
    server.quota.clear()
    server.action = "https://evil.example.com/download"
    with pytest.raises(DownloadError, match="unexpected host"):
        store.download("e4e.ffhq", retries=0)
    assert not store.is_installed("e4e.ffhq")


def test_a_web_page_instead_of_a_weights_file_is_refused(tmp_path, server):
    server.files["/w.pth"] = b"<html>please log in</html>"
    server.ctypes["/w.pth"] = "text/html; charset=utf-8"
    store = _store(tmp_path, _entry(f'{{ name = "w.pth", url = "{server.url}/w.pth" }}'))
    with pytest.raises(DownloadError, match="web page"):
        store.download("e4e.ffhq", retries=0)
    assert not store.is_installed("e4e.ffhq")
    server.ctypes.clear()
    assert store.download("e4e.ffhq", retries=0).read_bytes() == b"<html>please log in</html>"


def test_confirm_url_parser_on_old_style_link():
    page = ('<html><a id="uc-download-link" href="/uc?export=download&amp;confirm=AbCd&amp;id=XYZ">'
            'Download anyway</a></html>')
    assert gdrive.confirm_url(page, "https://drive.google.com/uc?id=XYZ") == \
        "https://drive.google.com/uc?export=download&confirm=AbCd&id=XYZ"
    with pytest.raises(DownloadError, match="web page instead"):
        gdrive.confirm_url("<html><title>Sign in</title></html>", "https://drive.google.com/uc?id=XYZ")


# -- hash pinning (plain-HTTP sources without a real hash) ---------------------------------------
def test_unverified_hash_is_pinned_at_first_download(tmp_path, server):
    server.files["/w.pth"] = PAYLOAD
    store = _store(tmp_path, _entry(f'{{ name = "w.pth", url = "{server.url}/w.pth", hash_verified = false }}'))
    store.download("e4e.ffhq", retries=0)
    f = store.entry("e4e.ffhq").files[0]
    assert not f.hash_verified and store.pinned(f) == hashlib.sha256(PAYLOAD).hexdigest()
    assert "pinned" in store.verify("e4e.ffhq").message
    store.remove("e4e.ffhq")
    server.files["/w.pth"] = PAYLOAD[:-1] + b"X"          # the upstream file changed
    with pytest.raises(HashMismatchError, match="differs from the .* first downloaded"):
        store.download("e4e.ffhq", retries=0)
    assert not store.is_installed("e4e.ffhq")
    assert store.forget_pin("e4e.ffhq") == 1                # the user accepts the new file
    assert store.download("e4e.ffhq", retries=0).read_bytes().endswith(b"X")


def test_import_of_an_unverified_file_respects_the_pin(tmp_path, server):
    server.files["/w.pth"] = PAYLOAD
    store = _store(tmp_path, _entry(f'{{ name = "w.pth", url = "{server.url}/w.pth" }}'))
    store.download("e4e.ffhq", retries=0)
    other = tmp_path / "w.pth"
    other.write_bytes(b"something else")
    with pytest.raises(HashMismatchError, match="first downloaded"):
        store.import_file(other, "e4e.ffhq")


# -- archive members ------------------------------------------------------------------------------
def _tar(members: dict[str, bytes], extra=None, mode="w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in members.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        for ti in extra or []:
            tf.addfile(ti)
    return buf.getvalue()


SPADE = {f"checkpoints/{n}_pretrained/latest_net_G.pth": (n.encode() * 5000) for n in ("coco", "ade20k", "cityscapes")}


def _spade_entries(url: str, size: int) -> str:
    out = ""
    for n in ("ade20k", "coco"):
        out += f"""
[[model]]
id = "spade.{n}"
task = "scene"
arch = "spade"
name = "SPADE {n}"
licence = "CC-BY-NC-SA-4.0"
non_commercial = true
origin = "https://github.com/NVlabs/SPADE"
licence_url = "https://creativecommons.org/licenses/by-nc-sa/4.0/"
files = [{{ name = "checkpoints.tar.gz", gdrive = "12gvlTbMvUcJewQlSEaZdeb2CdOB-b8kQ", size = {size}, member = "checkpoints/{n}_pretrained/latest_net_G.pth" }}]
"""
    return out


def test_archive_member_is_taken_and_the_archive_is_shared(tmp_path, server):
    data = _tar(SPADE)
    server.drive["12gvlTbMvUcJewQlSEaZdeb2CdOB-b8kQ"] = data
    store = _store(tmp_path, _spade_entries(server.url, len(data)))
    p = store.download("spade.ade20k", retries=0)
    assert p.name == "latest_net_G.pth" and p.read_bytes() == SPADE["checkpoints/ade20k_pretrained/latest_net_G.pth"]
    n = len(server.requests)
    q = store.download("spade.coco", retries=0)                  # same archive: no new download
    assert len(server.requests) == n and q.read_bytes().startswith(b"coco")
    archives = list((store.root / ".archives").iterdir())
    assert len(archives) == 1
    assert store.verify("spade.coco").ok
    store.remove("spade.ade20k")
    assert archives[0].exists()                                  # coco still uses it
    store.remove("spade.coco")
    assert not archives[0].exists()


def test_missing_member_is_a_clear_error(tmp_path):
    a = tmp_path / "a.tar.gz"
    a.write_bytes(_tar(SPADE))
    with pytest.raises(ArchiveError, match=r"no member 'latest_net_G\.pth'.*ade20k_pretrained/latest_net_G\.pth"):
        extract_member(a, "latest_net_G.pth", tmp_path / "out.pth")
    assert not (tmp_path / "out.pth").exists()


def test_links_devices_and_folders_are_refused(tmp_path):
    sym = tarfile.TarInfo("m/link.pth")
    sym.type, sym.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("m/hard.pth")
    hard.type, hard.linkname = tarfile.LNKTYPE, "m/real.pth"
    dev = tarfile.TarInfo("m/dev.pth")
    dev.type = tarfile.CHRTYPE
    folder = tarfile.TarInfo("m/dir.pth")
    folder.type = tarfile.DIRTYPE
    a = tmp_path / "a.tar"
    a.write_bytes(_tar({"m/real.pth": b"x"}, [sym, hard, dev, folder], mode="w"))
    for name, what in (("m/link.pth", "symlink"), ("m/hard.pth", "hard link"), ("m/dev.pth", "device"),
                       ("m/dir.pth", "folder")):
        with pytest.raises(ArchiveError, match=what):
            extract_member(a, name, tmp_path / "out.pth")
    assert extract_member(a, "./m/real.pth", tmp_path / "out.pth").read_bytes() == b"x"
    # zip: a symlink entry (S_IFLNK in the external attributes)
    z = tmp_path / "a.zip"
    with zipfile.ZipFile(z, "w") as zf:
        info = zipfile.ZipInfo("m/link.pth")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
        zf.writestr("m/ok.pth", b"ok")
    with pytest.raises(ArchiveError, match="not a regular file"):
        extract_member(z, "m/link.pth", tmp_path / "z.pth")
    assert extract_member(z, "m/ok.pth", tmp_path / "z.pth").read_bytes() == b"ok"


def test_path_traversal_names_never_match_or_escape(tmp_path):
    a = tmp_path / "evil.tar"
    a.write_bytes(_tar({"../outside.pth": b"evil", "/abs/x.pth": b"evil", "ok/../../up.pth": b"evil"}, mode="w"))
    dest = tmp_path / "model" / "w.pth"
    for member in ("outside.pth", "abs/x.pth", "up.pth"):
        with pytest.raises(ArchiveError, match="no member"):
            extract_member(a, member, dest)
    for member in ("../outside.pth", "/abs/x.pth"):
        with pytest.raises(ArchiveError, match="relative path"):
            extract_member(a, member, dest)
    assert not (tmp_path / "outside.pth").exists() and not dest.exists()
    with pytest.raises(CatalogError, match="relative path inside the archive"):
        parse_catalog_text(_entry('{ name = "c.tar.gz", url = "https://x.org/c.tar.gz", member = "../w.pth" }'))
    with pytest.raises(CatalogError, match="needs an archive"):
        parse_catalog_text(_entry('{ name = "c.pth", url = "https://x.org/c.pth", member = "w.pth" }'))


def test_size_limit_and_damaged_archives(tmp_path):
    a = tmp_path / "a.tar.gz"
    a.write_bytes(_tar({"big.pth": b"\0" * 100_000}))
    with pytest.raises(ArchiveError, match="over the limit"):
        extract_member(a, "big.pth", tmp_path / "o.pth", max_bytes=50_000)
    data = a.read_bytes()
    a.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError):
        extract_member(a, "big.pth", tmp_path / "o.pth")
    assert not (tmp_path / "o.pth").exists() and not (tmp_path / "o.pth.part").exists()
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.pth", b"\0" * 5_000_000)                 # compresses to ~5 KB
    with pytest.raises(ArchiveError, match="over the limit"):
        extract_member(z, "bomb.pth", tmp_path / "b.pth", max_bytes=1_000_000)
