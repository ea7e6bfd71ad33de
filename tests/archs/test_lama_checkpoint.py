"""LaMa big-lama: strict loading of official-format state dicts and safe reading of the files."""

from __future__ import annotations

import os
import sys
import types
import zipfile
from collections import OrderedDict
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from ganstudio.models import lama_checkpoint as lc  # noqa: E402
from ganstudio.models.safeload import ModelLoadError  # noqa: E402

# Sample keys / shapes of big-lama's generator (shared MODELS.md, section 2), prefix generator.model.
OFFICIAL_SHAPES = {
    "1.ffc.convl2l.weight": (64, 4, 7, 7),
    "1.bn_l.weight": (64,),
    "4.ffc.convl2l.weight": (128, 256, 3, 3),
    "4.ffc.convl2g.weight": (384, 256, 3, 3),
    "4.bn_g.running_mean": (384,),
    "5.conv1.ffc.convl2l.weight": (128, 128, 3, 3),
    "5.conv1.ffc.convl2g.weight": (384, 128, 3, 3),
    "5.conv1.ffc.convg2l.weight": (128, 384, 3, 3),
    "5.conv1.ffc.convg2g.conv1.0.weight": (192, 384, 1, 1),
    "5.conv1.ffc.convg2g.conv1.1.running_var": (192,),
    "5.conv1.ffc.convg2g.fu.conv_layer.weight": (384, 384, 1, 1),
    "5.conv1.ffc.convg2g.fu.bn.weight": (384,),
    "5.conv1.ffc.convg2g.conv2.weight": (384, 192, 1, 1),
    "22.conv2.ffc.convg2g.conv2.weight": (384, 192, 1, 1),
    "24.weight": (512, 256, 3, 3),
    "24.bias": (256,),
    "25.running_mean": (256,),
    "34.weight": (3, 64, 7, 7),
    "34.bias": (3,),
}


@pytest.fixture(scope="module")
def official_generator() -> dict:
    """A big-lama generator state dict with the official key names and real shapes, random values."""
    from spandrel.architectures.LaMa import LaMa

    with torch.device("meta"):  # shapes only, no slow initialisation
        shapes = {k: v.shape for k, v in LaMa(in_nc=4, out_nc=3).state_dict().items()}
    g = torch.Generator().manual_seed(0)
    sd = {}
    for k, s in shapes.items():
        assert k.startswith("model.model.")
        name = "generator.model." + k[len("model.model."):]
        if k.endswith("num_batches_tracked"):
            sd[name] = torch.randint(0, 5, s, generator=g)
        elif k.endswith("running_var"):
            sd[name] = torch.rand(s, generator=g) + 0.5
        else:
            sd[name] = torch.randn(s, generator=g) * 0.01
    return sd


@pytest.mark.slow
def test_official_shapes_match_models_md(official_generator):
    for k, shape in OFFICIAL_SHAPES.items():
        assert tuple(official_generator["generator.model." + k].shape) == shape, k
    n = sum(v.numel() for k, v in official_generator.items() if not k.endswith("num_batches_tracked"))
    assert 50_000_000 < n < 52_000_000  # ~204 MB fp32, like big-lama.pt
    assert sum(k.count(".ffc.convg2g.fu.conv_layer.weight") for k in official_generator) == 2 * 18 + 0


@pytest.mark.slow
def test_official_state_dict_loads_strictly(official_generator):
    sd = lc.to_spandrel_keys({**official_generator, "discriminator.model0.0.weight": torch.zeros(1)})
    assert len(sd) == len(official_generator)  # discriminator dropped, nothing else
    model = lc.build_lama(sd)  # strict=True
    got = model.state_dict()
    assert torch.equal(got["model.model.34.weight"], official_generator["generator.model.34.weight"])
    # a missing or reshaped key is refused
    bad = dict(sd)
    bad.pop("model.model.24.bias")
    with pytest.raises(RuntimeError):
        lc.build_lama(bad)


@pytest.mark.slow
def test_forward_runs_and_composites(official_generator):
    model = lc.build_lama(lc.to_spandrel_keys(official_generator))
    x = torch.rand(1, 3, 64, 64)
    m = torch.zeros(1, 1, 64, 64)
    m[..., 16:40, 20:44] = 1
    with torch.no_grad():
        y = model(x, m)
    assert y.shape == x.shape
    assert torch.equal(y[m.expand_as(y) == 0], x[m.expand_as(x) == 0])


def test_small_ffc_generator_with_official_names_loads_strictly():
    """Fast check of the key mapping: a small FFCResNetGenerator saved with Lightning names."""
    from spandrel.architectures.LaMa.__arch.LaMa import FFCResNetGenerator

    small = FFCResNetGenerator(4, 3, ngf=8, n_blocks=2)
    official = {"generator.model." + k[len("model."):]: torch.randn_like(v.float()).to(v.dtype)
                for k, v in small.state_dict().items()}
    assert tuple(official["generator.model.1.ffc.convl2l.weight"].shape) == (8, 4, 7, 7)
    sd = lc.to_spandrel_keys({**official, "discriminator.x": torch.zeros(1)})
    target = FFCResNetGenerator(4, 3, ngf=8, n_blocks=2)
    target.load_state_dict({k[len("model."):]: v for k, v in sd.items()}, strict=True)
    assert torch.equal(target.model[1].ffc.convl2l.weight, official["generator.model.1.ffc.convl2l.weight"])


def test_prefix_variants_are_recognised():
    t = torch.zeros(1)
    for prefix in ("generator.model.", "model.generator.model.", "model.model.", "model."):
        sd = lc.to_spandrel_keys({prefix + lc.ANCHOR[len("model."):]: t, prefix + "34.bias": t})
        assert set(sd) == {"model.model.1.ffc.convl2l.weight", "model.model.34.bias"}
    with pytest.raises(ModelLoadError):
        lc.to_spandrel_keys({"conv_first.weight": t})


# --- fake Lightning checkpoint with config objects and a code-running global -----------------------
class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _save_fake_lightning(path: Path, tensors: dict, marker: Path | None) -> None:
    """torch.save a Lightning-like dict with an OmegaConf-like DictConfig, and an os.system call
    when ``marker`` is given."""
    mod = types.ModuleType("omegaconf_fake.dictconfig")

    class DictConfig:  # an OmegaConf-like config object
        def __init__(self, content):
            self._content = content

    DictConfig.__module__ = mod.__name__
    DictConfig.__qualname__ = "DictConfig"
    mod.DictConfig = DictConfig
    parent = types.ModuleType("omegaconf_fake")
    parent.dictconfig = mod
    sys.modules["omegaconf_fake"] = parent
    sys.modules[mod.__name__] = mod
    try:
        obj = {
            "epoch": 39, "global_step": 1000, "pytorch-lightning_version": "1.2.9",
            "state_dict": OrderedDict(tensors),
            "hyper_parameters": DictConfig({"generator": {"kind": "ffc_resnet", "n_blocks": 18}}),
        }
        if marker is not None:
            obj["callbacks"] = {"evil": _Evil(str(marker))}
        torch.save(obj, path)
    finally:
        del sys.modules[mod.__name__]
        del sys.modules["omegaconf_fake"]


def test_fake_lightning_checkpoint_with_config_objects_loads_tensors(tmp_path):
    w = torch.randn(64, 4, 7, 7)
    tensors = {"generator.model.1.ffc.convl2l.weight": w,
               "generator.model.34.bias": torch.tensor([1.0, 2.0, 3.0]),
               "discriminator.model0.0.weight": torch.randn(2, 2)}
    ckpt = tmp_path / "best.ckpt"
    _save_fake_lightning(ckpt, tensors, None)
    obj, facts = lc.read_torch_zip(ckpt)
    assert "omegaconf_fake.dictconfig.DictConfig" in facts["placeholders"]
    assert isinstance(obj["hyper_parameters"], lc.Placeholder)
    assert torch.equal(obj["state_dict"]["generator.model.1.ffc.convl2l.weight"], w)
    sd, facts2 = lc.read_lama_file(ckpt)
    assert set(sd) == {"model.model.1.ffc.convl2l.weight", "model.model.34.bias"}
    assert torch.equal(sd["model.model.34.bias"], torch.tensor([1.0, 2.0, 3.0]))
    assert facts2["format"] == "lightning"


def test_lightning_checkpoint_carrying_code_is_refused_and_nothing_runs(tmp_path):
    from ganstudio.models.safeload import UnsafeCheckpointError, load_checkpoint

    marker = tmp_path / "pwned"
    ckpt = tmp_path / "best.ckpt"
    _save_fake_lightning(ckpt, {"generator.model.34.bias": torch.zeros(3)}, marker)
    with pytest.raises(UnsafeCheckpointError, match="carries code"):
        lc.read_torch_zip(ckpt)
    with pytest.raises(UnsafeCheckpointError, match="carries code"):
        lc.read_lama_file(ckpt)
    # the project's generic loader refuses it too
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(ckpt)
    assert not marker.exists()


@pytest.mark.slow
def test_official_zip_layout_converts_once_to_safetensors(tmp_path, official_generator):
    ckpt = tmp_path / "best.ckpt"
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in official_generator.items()}
    _save_fake_lightning(ckpt, half, None)
    z = tmp_path / "big-lama.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("big-lama/config.yaml", "generator:\n  kind: ffc_resnet\n")
        zf.write(ckpt, "big-lama/models/best.ckpt")
    ckpt.unlink()
    cache = tmp_path / "cache"
    out = lc.cached_generator(z, cache)
    assert out.suffix == ".safetensors"
    mtime = out.stat().st_mtime_ns
    assert lc.cached_generator(z, cache).stat().st_mtime_ns == mtime  # converted once
    model = lc.load_lama_model(z, cache)
    assert torch.equal(model.state_dict()["model.model.24.bias"],
                       official_generator["generator.model.24.bias"].half().float())


def test_torchscript_file_read_without_jit_load(tmp_path, monkeypatch):
    class Gen(torch.nn.Module):
        def __init__(self):
            super().__init__()
            ffc = torch.nn.Module()
            ffc.convl2l = torch.nn.Conv2d(4, 8, 3)
            blk = torch.nn.Module()
            blk.ffc = ffc
            blk.bn_l = torch.nn.BatchNorm2d(8)
            self.model = torch.nn.Sequential(torch.nn.ReflectionPad2d(1), blk)

        def forward(self, x):
            return self.model[1].bn_l(self.model[1].ffc.convl2l(self.model[0](x)))

    class Training(torch.nn.Module):  # like IOPaint's JIT wrapper around the training module
        def __init__(self):
            super().__init__()
            self.model = torch.nn.Module()
            self.model.generator = Gen()

        def forward(self, x):
            return self.model.generator(x)

    net = Training().eval()
    traced = torch.jit.trace(net, torch.rand(1, 4, 8, 8))
    pt = tmp_path / "big-lama.pt"
    traced.save(str(pt))

    def no_jit(*a, **k):
        raise AssertionError("torch.jit.load must not be used")

    monkeypatch.setattr(torch.jit, "load", no_jit)
    sd, facts = lc.read_lama_file(pt)
    assert facts["format"] == "torchscript"
    assert any(n.startswith("__torch__") for n in facts["placeholders"])
    ref = net.model.generator.state_dict()
    assert set(sd) == {"model." + k for k in ref}
    for k, v in ref.items():
        assert torch.equal(sd["model." + k], v)


def test_corrupt_files_are_clear_errors(tmp_path):
    p = tmp_path / "broken.ckpt"
    p.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises((ModelLoadError, zipfile.BadZipFile)):
        lc.read_lama_file(p)
    z = tmp_path / "empty.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ModelLoadError):
        lc.read_lama_file(z)
