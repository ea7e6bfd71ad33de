"""NVIDIA StyleGAN2-ADA network pickles: read with a reader that executes nothing, convert to the
rosinality names, refuse what cannot be read.

The pickles are built here the way NVIDIA's ``torch_utils.persistence`` writes them: every network
object reduces to ``torch_utils.persistence._reconstruct_persistent_obj(meta)`` with the module
source in ``meta["module_src"]``; tensors are plain-pickled torch Parameters (``_rebuild_parameter``,
``_rebuild_tensor_v2``, ``torch.storage._load_from_bytes``); layer attributes hold numpy scalars.
A fake ``torch_utils.persistence`` module (registered only while dumping, and for the control
experiment) shows that a normal ``pickle.loads`` of these bytes runs the embedded code.
"""

from __future__ import annotations

import collections
import os
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from ganstudio.archs.registry import build_model
from ganstudio.archs.stylegan2_arch import Generator
from ganstudio.models import face_testing as ft
from ganstudio.models.converters import ConversionError, run_converter
from ganstudio.models.converters.stylegan2_pkl import (PersistentObject, UnsafePickleError, convert_pkl,
                                                       convert_pkl_to_safetensors, read_network_pickle)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny networks: one thread is much faster than two on a shared, loaded 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

MALICIOUS_SRC = "open(__sentinel__, 'w').write('the embedded source ran')\n"


class _Persistent:
    """Pickles as NVIDIA's persistence wrapper does."""

    def __init__(self, class_name: str, params=None, buffers=None, modules=None, **attrs) -> None:
        self.class_name = class_name
        self.state = {"training": False, "_parameters": collections.OrderedDict(params or {}),
                      "_buffers": collections.OrderedDict(buffers or {}),
                      "_modules": collections.OrderedDict(modules or {}),
                      "_forward_hooks": collections.OrderedDict(), "_init_args": (),
                      "_init_kwargs": {}, **attrs}
        self.module_src = ""

    def __reduce__(self):
        meta = dict(type="class", version=4, module_src=self.module_src, class_name=self.class_name,
                    state=self.state)
        return (sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj, (meta,))


def _fake_persistence_module(sentinel: Path) -> dict[str, types.ModuleType]:
    """What a normal unpickle would import: it execs the embedded source (as NVIDIA's does)."""
    pkg = types.ModuleType("torch_utils")
    mod = types.ModuleType("torch_utils.persistence")

    def _reconstruct_persistent_obj(meta):
        exec(meta["module_src"], {"__sentinel__": str(sentinel)})  # noqa: S102 - the point of the test
        return meta["class_name"]

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    mod._reconstruct_persistent_obj = _reconstruct_persistent_obj
    pkg.persistence = mod
    return {"torch_utils": pkg, "torch_utils.persistence": mod}


def _P(t: torch.Tensor) -> torch.nn.Parameter:
    return torch.nn.Parameter(t.clone(), requires_grad=False)


def nvidia_generator(sd: dict, latent_avg: torch.Tensor, kw: dict, conv_clamp=None) -> _Persistent:
    """A StyleGAN2-ADA ``G_ema`` record holding the given rosinality weights under NVIDIA names."""
    size, w_dim, n_mlp = kw["size"], kw["style_dim"], kw["n_mlp"]
    flt = torch.tensor([1.0, 3.0, 3.0, 1.0])
    filt = (flt[:, None] * flt[None, :]) / 64.0
    fcs = {f"fc{i}": _Persistent("FullyConnectedLayer",
                                 params={"weight": _P(sd[f"style.{i + 1}.weight"]),
                                         "bias": _P(sd[f"style.{i + 1}.bias"])},
                                 activation="lrelu", weight_gain=np.float64(0.01 / np.sqrt(w_dim)),
                                 bias_gain=0.01)
           for i in range(n_mlp)}
    mapping = _Persistent("MappingNetwork", buffers={"w_avg": latent_avg.clone()}, modules=fcs,
                          z_dim=w_dim, c_dim=0, w_dim=w_dim, num_ws=2 * int(np.log2(size)) - 2,
                          num_layers=n_mlp, w_avg_beta=0.995)

    def affine(prefix):
        return _Persistent("FullyConnectedLayer",
                           params={"weight": _P(sd[f"{prefix}.modulation.weight"]),
                                   "bias": _P(sd[f"{prefix}.modulation.bias"])},
                           activation="linear", weight_gain=np.float64(1 / np.sqrt(w_dim)), bias_gain=1)

    def layer(dst, noise_idx, res, up):
        nc = sd[f"noises.noise_{noise_idx}"][0, 0]
        return _Persistent("SynthesisLayer",
                           params={"weight": _P(sd[f"{dst}.conv.weight"][0]),
                                   "noise_strength": _P(sd[f"{dst}.noise.weight"].reshape(())),
                                   "bias": _P(sd[f"{dst}.activate.bias"])},
                           buffers={"resample_filter": filt.clone(), "noise_const": nc.clone()},
                           modules={"affine": affine(f"{dst}.conv")}, resolution=res, up=up, use_noise=True,
                           activation="lrelu", conv_clamp=conv_clamp, padding=1,
                           act_gain=np.float64(np.sqrt(2)))

    def torgb(dst):
        return _Persistent("ToRGBLayer", params={"weight": _P(sd[f"{dst}.conv.weight"][0]),
                                                 "bias": _P(sd[f"{dst}.bias"].reshape(-1))},
                           modules={"affine": affine(f"{dst}.conv")}, conv_clamp=conv_clamp,
                           weight_gain=np.float64(1 / np.sqrt(sd[f"{dst}.conv.weight"].shape[2])))

    blocks = {"b4": _Persistent("SynthesisBlock", params={"const": _P(sd["input.input"][0])},
                                buffers={"resample_filter": filt.clone()},
                                modules={"conv1": layer("conv1", 0, 4, 1), "torgb": torgb("to_rgb1")},
                                in_channels=0, architecture="skip", resolution=4)}
    for k, lg in enumerate(range(3, int(np.log2(size)) + 1)):
        res = 2 ** lg
        blocks[f"b{res}"] = _Persistent(
            "SynthesisBlock", buffers={"resample_filter": filt.clone()},
            modules={"conv0": layer(f"convs.{2 * k}", 2 * k + 1, res, 2),
                     "conv1": layer(f"convs.{2 * k + 1}", 2 * k + 2, res, 1),
                     "torgb": torgb(f"to_rgbs.{k}")},
            in_channels=1, architecture="skip", resolution=res)
    synthesis = _Persistent("SynthesisNetwork", modules=blocks, w_dim=w_dim, img_resolution=size,
                            img_channels=3)
    g = _Persistent("Generator", modules={"synthesis": synthesis, "mapping": mapping}, z_dim=w_dim, c_dim=0,
                    w_dim=w_dim, img_resolution=size, img_channels=3)
    return g


def _all(obj):
    yield obj
    for sub in obj.state["_modules"].values():
        yield from _all(sub)


@pytest.fixture
def tiny():
    kw = ft.tiny_generator_kwargs()
    g = Generator(**kw).eval()
    sd = ft.seeded_state_dict(g, seed=21)
    g.load_state_dict(sd)
    latent_avg = torch.randn(kw["style_dim"]) * 0.3
    return kw, sd, latent_avg, g


def _dump(monkeypatch, sentinel: Path, top: dict, src: str = MALICIOUS_SRC) -> bytes:
    for name, mod in _fake_persistence_module(sentinel).items():
        monkeypatch.setitem(sys.modules, name, mod)
    for v in top.values():
        if isinstance(v, _Persistent):
            for o in _all(v):
                o.module_src = src
    data = pickle.dumps(top, protocol=4)
    for name in ("torch_utils.persistence", "torch_utils"):
        monkeypatch.delitem(sys.modules, name)
    return data


def test_normal_unpickling_would_run_the_embedded_code(tmp_path, monkeypatch, tiny):
    """Control experiment: these bytes are dangerous for pickle.load (the reason for the reader)."""
    kw, sd, avg, _ = tiny
    sentinel = tmp_path / "ran.txt"
    data = _dump(monkeypatch, sentinel, {"G_ema": nvidia_generator(sd, avg, kw)})
    for name, mod in _fake_persistence_module(sentinel).items():
        monkeypatch.setitem(sys.modules, name, mod)
    pickle.loads(data)
    assert sentinel.read_text() == "the embedded source ran"


def test_reader_runs_nothing_and_converts_exactly(tmp_path, monkeypatch, tiny):
    kw, sd, avg, g = tiny
    sentinel = tmp_path / "ran.txt"
    disc = _Persistent("Discriminator", params={"x": _P(torch.ones(2))})
    top = {"G": nvidia_generator(sd, avg, kw), "D": disc,
           "G_ema": nvidia_generator(sd, avg, kw), "augment_pipe": None,
           "training_set_kwargs": {"class_name": "training.dataset.ImageFolderDataset", "resolution": 32}}
    path = tmp_path / "network-snapshot-000100.pkl"
    path.write_bytes(_dump(monkeypatch, sentinel, top))
    # even with the malicious module importable, the reader never calls it
    for name, mod in _fake_persistence_module(sentinel).items():
        monkeypatch.setitem(sys.modules, name, mod)
    obj = read_network_pickle(path)
    assert isinstance(obj["G_ema"], PersistentObject) and obj["G_ema"].class_name == "Generator"
    assert obj["G_ema"].module_src_chars == len(MALICIOUS_SRC)
    out, facts = convert_pkl(path)
    assert not sentinel.exists()
    assert facts["arch_kwargs"] == {"size": 32, "style_dim": 16, "n_mlp": 2, "channel_multiplier": 2,
                                    "lr_mlp": 0.01, "conv_clamp": None, "max_channels": 16}
    assert torch.equal(out.pop("latent_avg"), avg)
    assert set(out) == set(sd)  # every key, both directions
    for k in sd:
        assert out[k].shape == sd[k].shape and torch.equal(out[k], sd[k]), k
    g2 = build_model("stylegan2", out, **facts["arch_kwargs"]).eval()
    w = torch.randn(2, 8, 16)
    with torch.no_grad():
        assert torch.equal(g2.synthesize(w), g.synthesize(w))
    # safetensors output + converter hook
    dst, facts2 = convert_pkl_to_safetensors(path, tmp_path / "ffhq.safetensors")
    from safetensors.torch import load_file

    assert torch.equal(load_file(str(dst))["style.1.weight"], sd["style.1.weight"])
    sd3, facts3 = run_converter("stylegan2_pkl", [path], types.SimpleNamespace(arch_kwargs={"size": 32}))
    assert facts3["arch_kwargs"]["size"] == 32 and "latent_avg" in sd3
    with pytest.raises(ConversionError, match="size"):
        run_converter("stylegan2_pkl", [path], types.SimpleNamespace(arch_kwargs={"size": 1024}))
    assert not sentinel.exists()


def test_conv_clamp_is_read_and_applied(tmp_path, monkeypatch, tiny):
    kw, sd, avg, g = tiny
    path = tmp_path / "clamped.pkl"
    g_ema = nvidia_generator(sd, avg, kw, conv_clamp=0.5)
    path.write_bytes(_dump(monkeypatch, tmp_path / "s", {"G_ema": g_ema}))
    out, facts = convert_pkl(path)
    assert facts["arch_kwargs"]["conv_clamp"] == 0.5 and float(out["conv_clamp"]) == 0.5
    g2 = build_model("stylegan2", out).eval()  # the clamp comes back from the file alone
    assert g2.conv1.conv_clamp == 0.5 and g2.to_rgbs[0].conv_clamp == 0.5
    w = torch.randn(1, 8, 16)
    with torch.no_grad():
        a, b = g2.synthesize(w), g.synthesize(w)
    assert not torch.allclose(a, b)  # the clamp is active with these weights
    # the last ToRGB adds a clamped term to an up-sampled (clamped) skip: bounded output
    assert a.abs().max() <= 0.5 * 4 + 1e-5


class _Evil:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


@pytest.mark.parametrize("payload", [
    lambda s: _Evil(os.system, f"touch {s}"),
    lambda s: _Evil(exec, f"open({str(s)!r}, 'w')"),
    lambda s: _Evil(eval, f"open({str(s)!r}, 'w')"),
    lambda s: _Evil(getattr, _Evil(__import__, "os"), "system"),
    lambda s: _Evil(__import__("subprocess").call, ["touch", str(s)]),
])
def test_code_carrying_globals_are_refused(tmp_path, monkeypatch, tiny, payload):
    kw, sd, avg, _ = tiny
    sentinel = tmp_path / "evil.txt"
    g = nvidia_generator(sd, avg, kw)
    g.state["_init_kwargs"] = {"hook": payload(sentinel)}
    path = tmp_path / "evil.pkl"
    path.write_bytes(_dump(monkeypatch, tmp_path / "s", {"G_ema": g}))
    with pytest.raises(UnsafePickleError, match="refused") as e:
        convert_pkl(path)
    assert "nothing from the file was run" in str(e.value) and path.name in str(e.value)
    assert not sentinel.exists()


def test_tensor_bytes_with_a_nested_payload_are_refused(tmp_path):
    sentinel = tmp_path / "nested.txt"
    inner = pickle.dumps(_Evil(os.system, f"touch {sentinel}"))

    class _Storage:
        def __reduce__(self):
            return (sys.modules["torch.storage"]._load_from_bytes, (inner,))

    path = tmp_path / "nested.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _Storage()}))
    with pytest.raises(UnsafePickleError):
        convert_pkl(path)
    assert not sentinel.exists()


def test_other_files_are_refused_clearly(tmp_path, monkeypatch, tiny):
    kw, sd, avg, _ = tiny
    zipped = tmp_path / "model.pt"
    torch.save({"g_ema": sd}, zipped)
    with pytest.raises(UnsafePickleError, match="zip checkpoint"):
        convert_pkl(zipped)
    (tmp_path / "x.pkl").write_bytes(b"not a pickle")
    with pytest.raises(UnsafePickleError, match="not a pickle"):
        convert_pkl(tmp_path / "x.pkl")
    trunc = tmp_path / "trunc.pkl"
    trunc.write_bytes(_dump(monkeypatch, tmp_path / "s", {"G_ema": nvidia_generator(sd, avg, kw)})[:5000])
    with pytest.raises(ConversionError):
        convert_pkl(trunc)
    # a StyleGAN3-like or conditional generator is refused by name
    g = nvidia_generator(sd, avg, kw)
    g.state["c_dim"] = 10
    cond = tmp_path / "cond.pkl"
    cond.write_bytes(_dump(monkeypatch, tmp_path / "s", {"G_ema": g}))
    with pytest.raises(ConversionError, match="conditional"):
        convert_pkl(cond)
    g = nvidia_generator(sd, avg, kw)
    g.state["_modules"]["synthesis"].state["_modules"]["b8"].state["architecture"] = "resnet"
    res = tmp_path / "resnet.pkl"
    res.write_bytes(_dump(monkeypatch, tmp_path / "s", {"G_ema": g}))
    with pytest.raises(ConversionError, match="resnet"):
        convert_pkl(res)
    nog = tmp_path / "nog.pkl"
    nog.write_bytes(pickle.dumps({"D": 1}))
    with pytest.raises(ConversionError, match="no G_ema"):
        convert_pkl(nog)


def test_safeload_refuses_the_same_pickle(tmp_path, monkeypatch, tiny):
    """The generic loader refuses NVIDIA pickles (they must go through this converter)."""
    from ganstudio.models.safeload import UnsafeCheckpointError, load_checkpoint

    kw, sd, avg, _ = tiny
    path = tmp_path / "ffhq.pkl"
    path.write_bytes(_dump(monkeypatch, tmp_path / "s", {"G_ema": nvidia_generator(sd, avg, kw)}))
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint(path)
