"""The face catalog end to end with tiny files in the official formats: the REAL models/catalog/face.toml
with its sources pointed at a local 127.0.0.1 server -> download -> converters (psp_checkpoint,
stylegan2_pkl) -> strict load through load_model(component=...) -> catalog-declared edits."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path

import pytest
import torch

from ganstudio import paths
from ganstudio.models import face_testing as ft
from ganstudio.models.catalog import Catalog, parse_catalog_text
from ganstudio.models.loader import clear_cache, load_model
from ganstudio.models.store import ModelStore
from ganstudio.tasks.faces.latent_edits import load_directions


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
    clear_cache()


@pytest.fixture
def files_server(tmp_path):
    root = tmp_path / "srv"
    root.mkdir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a, **k) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _local_catalog(base: str) -> Catalog:
    text = (paths.CATALOG_DIR / "face.toml").read_text(encoding="utf-8")
    text = re.sub(r'url = "https://raw\.githubusercontent\.com/[^"]*/([^/"]+)"', rf'url = "{base}/\1"', text)
    text = re.sub(r'\{ name = "([^"]+)", gdrive = "[^"]+"', rf'{{ name = "\1", url = "{base}/\1"', text)
    text = re.sub(r'url = "https://nvlabs-fi-cdn[^"]*/ffhq\.pkl"', f'url = "{base}/ffhq.pkl"', text)
    text = re.sub(r', (size|sha256) = (\d+|"[0-9a-f]{64}")', "", text)   # tiny files, not the real ones
    assert "drive" not in text.split("[[model]]", 1)[1].replace("Google Drive", "")
    return Catalog(parse_catalog_text(text, "face.toml (local)"))


def _tiny_directions(root: Path, dim: int = 16, n: int = 8) -> None:
    g = torch.Generator().manual_seed(9)
    torch.save(torch.randn(1, dim, generator=g), root / "age.pt")
    torch.save(torch.randn(1, dim, generator=g), root / "smile.pt")
    torch.save(torch.randn(1, n, dim, generator=g), root / "pose.pt")
    comp = torch.randn(80, 1, dim, generator=g)
    torch.save({"mean": torch.randn(1, dim, generator=g), "comp": comp / comp.norm(dim=-1, keepdim=True),
                "std": torch.rand(80, generator=g) + 0.5}, root / "ffhq_pca.pt")


def test_e4e_bundle_downloads_converts_loads_and_edits(files_server, tmp_path):
    root, base = files_server
    ft.write_e4e_checkpoint(root / "e4e_ffhq_encode.pt", seed=31)
    _tiny_directions(root)
    store = ModelStore(tmp_path / "cache", _local_catalog(base))
    store.download("face.e4e_ffhq")
    bundle = load_model("face.e4e_ffhq", store, component="e4e").module
    assert type(bundle).__name__ == "E4E" and not bundle.training
    ref = torch.load(root / "e4e_ffhq_encode.pt", weights_only=True)
    assert torch.equal(bundle.latent_avg, ref["latent_avg"])  # flattened in by psp_checkpoint
    assert torch.equal(bundle.encoder.latlayer1.weight, ref["state_dict"]["encoder.latlayer1.weight"])
    dec = load_model("face.e4e_ffhq", store, component="decoder").module
    assert torch.equal(dec.input.input, ref["state_dict"]["decoder.input.input"])
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        w = bundle.encode(x)
        img = bundle.decode(w)
        assert torch.equal(dec.synthesize(w), img)
    dirs = load_directions("face.e4e_ffhq", store)
    assert {"age", "smile", "yaw", "glasses", "gender", "eyes_open"} <= set(dirs.names())
    edited = dirs.apply(w[0].numpy(), {"smile": 1.0, "yaw": -0.5, "glasses": 1.0})
    smile = torch.load(root / "smile.pt", weights_only=True)
    assert edited.shape == (8, 16)
    only_smile = dirs.apply(w[0].numpy(), {"smile": 2.0})
    assert abs(only_smile - (w[0].numpy() + 2.0 * smile.numpy())).max() < 1e-5


def test_sam_bundle_and_generators(files_server, tmp_path, monkeypatch):
    root, base = files_server
    ft.write_sam_checkpoint(root / "sam_ffhq_aging.pt", seed=32)
    ft.write_rosinality_checkpoint(root / "stylegan2-ffhq-config-f.pt", seed=33)
    store = ModelStore(tmp_path / "cache", _local_catalog(base))
    for mid in ("face.sam_ffhq_aging", "face.stylegan2_ffhq"):
        store.download(mid)
    sam = load_model("face.sam_ffhq_aging", store, component="sam").module
    with torch.no_grad():
        w = sam.encode_age(torch.rand(1, 3, 64, 64) * 2 - 1, 70)
    assert w.shape == (1, 8, 16)
    # the catalog's 1024 arch_kwargs win over detection: a tiny rosinality file does not fit them
    from ganstudio.models.loader import WrongModelError

    with pytest.raises((WrongModelError, Exception), match="do not fit|size"):
        load_model("face.stylegan2_ffhq", store)
    # the NVIDIA pickle goes through the restricted converter (tiny record built like NVIDIA's)
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_stylegan2_pkl import _dump, nvidia_generator

    kw = ft.tiny_generator_kwargs()
    from ganstudio.archs.stylegan2_arch import Generator

    g = Generator(**kw)
    sd = ft.seeded_state_dict(g, 34)
    (root / "ffhq.pkl").write_bytes(_dump(monkeypatch, tmp_path / "sentinel",
                                          {"G_ema": nvidia_generator(sd, torch.zeros(16), kw)}))
    store.download("face.stylegan2_ffhq_nvidia")
    from ganstudio.models.safeload import ModelLoadError

    with pytest.raises(ModelLoadError, match="size=32 but the catalog entry says 1024"):
        store.load_state_dict("face.stylegan2_ffhq_nvidia")   # the converter checks the catalog's facts
    # same file, an entry without fixed kwargs (what a user entry for another pickle looks like)
    text = (paths.CATALOG_DIR / "face.toml").read_text(encoding="utf-8")
    nv = text[text.index('id = "face.stylegan2_ffhq_nvidia"'):]
    nv = re.sub(r"arch_kwargs = \{[^}]*\}\n", "", nv)
    nv = re.sub(r'url = "https://nvlabs-fi-cdn[^"]*/ffhq\.pkl"', f'url = "{base}/ffhq.pkl"', nv)
    user = ModelStore(tmp_path / "cache2", Catalog(parse_catalog_text("[[model]]\n" + nv, "nv.toml")))
    user.download("face.stylegan2_ffhq_nvidia")
    sd2 = user.load_state_dict("face.stylegan2_ffhq_nvidia")
    gen = load_model("face.stylegan2_ffhq_nvidia", user).module    # kwargs detected from the file
    assert gen.size == 32 and gen.style_dim == 16
    assert not (tmp_path / "sentinel").exists()
    assert {k for k in sd2 if k not in ("latent_avg", "conv_clamp")} == set(sd)
    assert all(torch.equal(sd2[k], sd[k]) for k in sd)
