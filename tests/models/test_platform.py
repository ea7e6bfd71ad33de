"""The model platform: generic load_model over the arch registry, one global cache with a memory
budget that frees on remove, multi-file models (components), converter hooks, precisions."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fileserver import FileServer  # noqa: E402

from ganstudio.archs import registry  # noqa: E402
from ganstudio.archs.registry import register_arch  # noqa: E402
from ganstudio.models import converters  # noqa: E402
from ganstudio.models.cache import ModelCache, model_cache, module_nbytes, parse_bytes  # noqa: E402
from ganstudio.models.catalog import Catalog, parse_catalog_text  # noqa: E402
from ganstudio.models.loader import WrongModelError, load_model  # noqa: E402
from ganstudio.models.store import ModelStore, NotInstalledError, StoreError  # noqa: E402
from ganstudio.models.testing import save_safetensors  # noqa: E402


class PlatNet(torch.nn.Module):
    """A tiny two-input-free conv net (test arch 'test_platnet')."""

    MULTIPLE = 2

    def __init__(self, ch: int = 4, depth: int = 1) -> None:
        super().__init__()
        self.head = torch.nn.Conv2d(3, ch, 3, padding=1)
        self.body = torch.nn.Sequential(*[torch.nn.Conv2d(ch, ch, 1) for _ in range(depth)])
        self.tail = torch.nn.Conv2d(ch, 3, 1)

    def forward(self, x):
        return self.tail(self.body(self.head(x)))


def _detect(sd):
    if "head.weight" not in sd:
        return None
    return {"ch": int(sd["head.weight"].shape[0]),
            "depth": len({k.split(".")[1] for k in sd if k.startswith("body.")})}


@pytest.fixture(scope="module", autouse=True)
def _archs():
    registry.discover()
    register_arch("test_platnet", detect=_detect)(PlatNet)
    yield
    registry._REGISTRY.pop("test_platnet", None)


@pytest.fixture(autouse=True)
def _clean_cache():
    model_cache.clear()
    yield
    model_cache.clear()


@pytest.fixture
def server():
    s = FileServer()
    yield s
    s.close()


def _sd(ch=4, depth=1, seed=0):
    torch.manual_seed(seed)
    return {k: v.clone() for k, v in PlatNet(ch, depth).state_dict().items()}


ENTRY = """
[[model]]
id = "test.platnet"
task = "style_transfer"
arch = "test_platnet"
name = "Platform test net"
arch_kwargs = {{ ch = 4, depth = 1 }}
input = {{ channels = "RGB", range = "0..1" {extra_input} }}
licence = "MIT"
origin = "https://example.org"
files = [{{ name = "platnet.safetensors", url = "https://example.org/platnet.safetensors" }}]
"""


def _store(tmp_path, text) -> ModelStore:
    return ModelStore(tmp_path / "store", catalog=Catalog(parse_catalog_text(text, "t.toml")))


def test_registry_arch_from_catalog_loads_strictly_and_is_cached(tmp_path):
    store = _store(tmp_path, ENTRY.format(extra_input=""))
    sd = _sd()
    f = tmp_path / "platnet.safetensors"
    save_safetensors(sd, f)
    store.import_file(f, "test.platnet")
    lm = load_model("test.platnet", store, task="style_transfer")
    assert isinstance(lm.module, PlatNet) and lm.backend == "archs" and lm.arch == "test_platnet"
    assert not lm.module.training and not any(p.requires_grad for p in lm.module.parameters())
    assert lm.multiple_of == 2 and lm.dtype == "float32" and lm.entry.id == "test.platnet"
    for k, v in lm.module.state_dict().items():
        assert torch.equal(v, sd[k])
    assert load_model("test.platnet", store, task="style_transfer") is lm      # one global cache
    assert "test.platnet" in model_cache.model_ids()
    with pytest.raises(WrongModelError, match="not a inpaint model|is a style_transfer model"):
        load_model("test.platnet", store, task="inpaint")


def test_weights_that_do_not_fit_the_catalog_kwargs_name_the_keys(tmp_path):
    store = _store(tmp_path, ENTRY.format(extra_input=""))
    f = tmp_path / "platnet.safetensors"
    save_safetensors(_sd(ch=4, depth=2), f)          # catalog says depth = 1
    store.import_file(f, "test.platnet")
    with pytest.raises(WrongModelError, match=r"unexpected key.*body\.1\.weight"):
        load_model("test.platnet", store)
    assert len(model_cache) == 0


def test_remove_frees_the_cached_model(tmp_path):
    store = _store(tmp_path, ENTRY.format(extra_input=""))
    f = tmp_path / "platnet.safetensors"
    save_safetensors(_sd(), f)
    store.import_file(f, "test.platnet")
    lm = load_model("test.platnet", store)
    ref = weakref.ref(lm.module)
    assert model_cache.stats()["bytes"]["ram"] == module_nbytes(lm.module) > 0
    del lm
    assert store.remove("test.platnet")
    assert len(model_cache) == 0 and model_cache.model_ids() == []
    gc.collect()
    assert ref() is None                      # nothing keeps the network alive: memory is back
    with pytest.raises(NotInstalledError):
        load_model("test.platnet", store)


def test_file_path_loads_and_unload_by_path(tmp_path):
    f = tmp_path / "inpaint_like.safetensors"
    from ganstudio.archs.gsinpaint_arch import GSInpaint

    net = GSInpaint(base=4, n_blocks=1)
    save_safetensors(net.state_dict(), f)
    lm = load_model(f, _store(tmp_path, ""), task="inpaint")
    assert lm.arch == "gsinpaint" and lm.multiple_of == 4 and lm.module.config["base"] == 4
    from ganstudio.models.loader import unload

    assert unload(str(f.resolve())) == 1 and len(model_cache) == 0


def test_precisions(tmp_path):
    store = _store(tmp_path, ENTRY.format(extra_input=", fp16 = false"))
    f = tmp_path / "platnet.safetensors"
    save_safetensors(_sd(), f)
    store.import_file(f, "test.platnet")
    assert load_model("test.platnet", store, precision="bf16").dtype == "bfloat16"
    assert next(load_model("test.platnet", store, precision="bf16").module.parameters()).dtype == torch.bfloat16
    # the catalog forbids fp16 for this model: it stays fp32
    assert load_model("test.platnet", store, precision="fp16").dtype == "float32"
    assert load_model("test.platnet", store, half=True).dtype == "float32"
    assert load_model("test.platnet", store, precision="auto").dtype == "float32"   # CPU
    with pytest.raises(ValueError, match="precision"):
        load_model("test.platnet", store, precision="int4")


# -- the global cache's budget ------------------------------------------------------------------
def test_cache_budget_evicts_least_recently_used():
    c = ModelCache(ram_budget=3 * 4096)
    nets = {i: torch.nn.Linear(32, 32, bias=False) for i in range(4)}     # 4096 bytes each
    assert module_nbytes(nets[0]) == 4096
    for i in range(3):
        c.put(("k", i), nets[i], model_id=f"m{i}")
    assert len(c) == 3
    c.get(("k", 0))                                  # 0 is now the most recent
    c.put(("k", 3), nets[3], model_id="m3")          # over budget: the LRU (1) goes
    assert set(c.model_ids()) == {"m0", "m2", "m3"} and c.evictions == 1
    big = torch.nn.Linear(128, 128, bias=False)      # 64 KiB > budget: kept alone (it is in use)
    c.put("big", big, model_id="big")
    assert c.model_ids() == ["big"] and c.stats()["bytes"]["ram"] == 65536
    assert c.remove("big") == 1 and len(c) == 0
    assert parse_bytes("4G") == 4 * 2**30 and parse_bytes("512M") == 512 * 2**20


def test_cache_loads_a_key_once_under_concurrency():
    import threading
    import time

    c = ModelCache()
    calls = []

    def load():
        calls.append(1)
        time.sleep(0.05)
        return torch.nn.Linear(2, 2)

    out = []
    ts = [threading.Thread(target=lambda: out.append(c.get_or_load("k", load, model_id="m")))
          for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(calls) == 1 and all(o is out[0] for o in out)


def test_env_budget(monkeypatch):
    monkeypatch.setenv("GANSTUDIO_MODEL_RAM", "1M")
    assert ModelCache().ram_budget == 2**20


@pytest.mark.gpu
def test_remove_gives_gpu_memory_back(tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    store = _store(tmp_path, ENTRY.format(extra_input="").replace("ch = 4", "ch = 512"))
    f = tmp_path / "platnet.safetensors"
    save_safetensors(_sd(ch=512), f)
    store.import_file(f, "test.platnet")
    torch.cuda.synchronize()
    before = torch.cuda.memory_reserved()
    lm = load_model("test.platnet", store, device="cuda")
    assert lm.device.startswith("cuda") and lm.dtype == "float16"   # auto on CUDA
    assert torch.cuda.memory_allocated() > 0
    del lm
    store.remove("test.platnet")
    assert torch.cuda.memory_allocated() == 0
    assert torch.cuda.memory_reserved() <= before


# -- multi-file models ----------------------------------------------------------------------------
BUNDLE = """
[[model]]
id = "test.bundle"
task = "face_edit"
arch = "bundle"
name = "Face bundle"
licence = "MIT"
origin = "https://example.org"
files = [
  {{ name = "e4e_like.pt", url = "{url}/e4e_like.pt" }},
  {{ name = "age.npy", url = "{url}/age.npy" }},
]
components = {{ encoder = {{ file = "e4e_like.pt", arch = "test_platnet", arch_kwargs = {{ ch = 4, depth = 1 }}, state_dict_key = "state_dict", prefix = "encoder." }}, decoder = {{ file = "e4e_like.pt", arch = "test_platnet", arch_kwargs = {{ ch = 2, depth = 2 }}, state_dict_key = "state_dict", prefix = "decoder." }}, directions_age = "age.npy" }}
"""


def test_multi_file_model_components(tmp_path, server):
    import io

    enc, dec = _sd(4, 1, seed=1), _sd(2, 2, seed=2)
    ckpt = {"state_dict": {**{f"encoder.{k}": v for k, v in enc.items()},
                           **{f"decoder.{k}": v for k, v in dec.items()}},
            "latent_avg": torch.zeros(18, 8), "opts": {"output_size": 1024}}
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    server.files["/e4e_like.pt"] = buf.getvalue()
    age = np.arange(18 * 8, dtype=np.float32).reshape(18, 8)
    b2 = io.BytesIO()
    np.save(b2, age)
    server.files["/age.npy"] = b2.getvalue()
    store = _store(tmp_path, BUNDLE.format(url=server.url))
    e = store.entry("test.bundle")
    assert set(e.components) == {"encoder", "decoder", "directions_age"} and not e.hash_verified
    with pytest.raises(NotInstalledError):
        store.path_of("test.bundle", "age.npy")
    store.download("test.bundle", retries=0)
    le = load_model("test.bundle", store, component="encoder")
    ld = load_model("test.bundle", store, component="decoder")
    assert le.module is not ld.module and le.component == "encoder"
    assert torch.equal(le.module.head.weight, enc["head.weight"])
    assert torch.equal(ld.module.body[1].weight, dec["body.1.weight"])
    p = store.path_of("test.bundle", "age.npy")
    assert np.array_equal(np.load(p, allow_pickle=False), age)
    with pytest.raises(StoreError, match="no file"):
        store.path_of("test.bundle", "nope.pt")
    with pytest.raises(WrongModelError, match="component="):
        load_model("test.bundle", store)
    with pytest.raises(WrongModelError, match="path_of"):
        load_model("test.bundle", store, component="directions_age")
    with pytest.raises(WrongModelError, match="no component 'mapper'"):
        load_model("test.bundle", store, component="mapper")
    assert store.load_state_dict("test.bundle", component="decoder").keys() == dec.keys()
    assert len(model_cache) == 2
    store.remove("test.bundle")          # both components freed
    assert len(model_cache) == 0


# -- converters -----------------------------------------------------------------------------------
def test_converter_hook_runs_once_and_is_cached_as_safetensors(tmp_path, server):
    calls = []

    @converters.register_converter("test_rawf32")
    def convert(src_paths, entry):
        calls.append([p.name for p in src_paths])
        raw = np.frombuffer(src_paths[0].read_bytes(), dtype="<f4")
        sd, off = {}, 0
        for k, v in _sd().items():
            sd[k] = torch.from_numpy(raw[off:off + v.numel()].copy()).reshape(v.shape)
            off += v.numel()
        return sd, {"values": int(raw.size)}

    try:
        ref = _sd(seed=5)
        server.files["/w.raw"] = np.concatenate([v.numpy().ravel() for v in ref.values()]).astype("<f4").tobytes()
        text = ENTRY.format(extra_input="").replace(
            'files = [{ name = "platnet.safetensors", url = "https://example.org/platnet.safetensors" }]',
            f'converter = "test_rawf32"\nfiles = [{{ name = "w.raw", url = "{server.url}/w.raw" }}]')
        store = _store(tmp_path, text)
        store.download("test.platnet", retries=0)
        lm = load_model("test.platnet", store)
        assert torch.equal(lm.module.tail.weight, ref["tail.weight"])
        model_cache.clear()
        load_model("test.platnet", store)
        assert calls == [["w.raw"]]              # converted once; the safetensors cache is reused
        cached = list((store.model_dir("test.platnet") / "converted").glob("test_rawf32-*.safetensors"))
        assert len(cached) == 1
        with pytest.raises(converters.ConversionError, match="unknown converter"):
            converters.get_converter("nope")
    finally:
        converters._REGISTRY.pop("test_rawf32", None)


def test_ncnn_is_a_registered_converter_and_old_import_works():
    from ganstudio.models import convert_ncnn
    from ganstudio.models.converters import ncnn

    assert "ncnn" in converters.converter_names()
    assert convert_ncnn.convert_files is ncnn.convert_files
    assert converters.get_converter("ncnn").fn is ncnn.convert_ncnn


def test_imported_and_bare_files_of_our_archs_are_detected(tmp_path):
    store = _store(tmp_path, "")
    sd = _sd(ch=3, depth=2, seed=9)
    f = tmp_path / "my_style.safetensors"
    save_safetensors(sd, f)
    mid = store.import_file(f)
    assert mid == "user.my_style" and store.manifest(mid)["arch"] == "test_platnet"
    lm = load_model(mid, store)
    assert lm.backend == "archs" and isinstance(lm.module, PlatNet) and len(lm.module.body) == 2
    assert torch.equal(lm.module.body[1].weight, sd["body.1.weight"])
    bare = load_model(f, store)
    assert bare.arch == "test_platnet" and bare.module is not lm.module
    store.remove(mid)
    assert model_cache.model_ids() == [str(f.resolve())]


def test_a_failed_load_is_not_cached_and_can_be_retried():
    c = ModelCache()

    def bad():
        raise RuntimeError("disk error")

    with pytest.raises(RuntimeError):
        c.get_or_load("k", bad, model_id="m")
    assert len(c) == 0 and c._loading == {}
    assert isinstance(c.get_or_load("k", lambda: torch.nn.Linear(1, 1), model_id="m"), torch.nn.Linear)
