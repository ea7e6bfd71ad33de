"""Safe loading: code-carrying pickles refused (and not run), Lightning-style pickles loaded with
inert placeholders, corrupt / truncated / tampered files refused clearly, strict official keys."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from ganstudio.models.safeload import (
    ModelLoadError,
    UnsafeCheckpointError,
    extract_state_dict,
    load_checkpoint,
    pickle_globals,
)
from ganstudio.models.testing import rrdbnet_state_dict, save_safetensors

SETSTATE_CALLS = []


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class EvalEvil:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


class LightningLikeConfig:
    """A data class a training framework pickles next to the weights (like OmegaConf / AttributeDict)."""

    def __init__(self):
        self.lr = 0.001
        self.layers = [1, 2, 3]

    def __setstate__(self, state):  # must never run when loading
        SETSTATE_CALLS.append(state)
        self.__dict__.update(state)


def _tiny():
    return {"conv.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3), "conv.bias": torch.ones(2)}


@pytest.mark.parametrize("zip_format", [True, False])
def test_code_carrying_pickle_is_refused_and_not_run(tmp_path, zip_format):
    marker = tmp_path / "PWNED"
    p = tmp_path / "evil.pth"
    torch.save({"state_dict": _tiny(), "x": Evil(marker)}, p,
               _use_new_zipfile_serialization=zip_format)
    with pytest.raises(UnsafeCheckpointError, match="carries code.*os.system|carries code.*posix.system"):
        load_checkpoint(p)
    assert not marker.exists()


def test_plain_pickle_with_eval_is_refused(tmp_path):
    p = tmp_path / "evil.pt"
    with open(p, "wb") as fh:
        pickle.dump({"w": 1, "e": EvalEvil()}, fh, protocol=4)
    with pytest.raises(UnsafeCheckpointError, match="builtins.eval"):
        load_checkpoint(p)


def test_nvidia_style_persistent_pickle_is_refused(tmp_path):
    # What NVlabs' network pickles do: import torch_utils.persistence and rebuild a class from
    # embedded source code. Hand-written opcodes (protocol 2 GLOBAL) - nothing here is importable.
    p = tmp_path / "ffhq.pkl"
    p.write_bytes(b"\x80\x02ctorch_utils.persistence\n_reconstruct_persistent_obj\n"
                  b"}X\x04\x00\x00\x00codeX\x0b\x00\x00\x00print('hi')s\x85R.")
    assert "torch_utils.persistence._reconstruct_persistent_obj" in pickle_globals(p.read_bytes())
    with pytest.raises(UnsafeCheckpointError, match="torch_utils.persistence"):
        load_checkpoint(p)


def test_stack_global_protocol4_is_seen():
    data = pickle.dumps(Evil("x"), protocol=4)
    names = pickle_globals(data)
    assert any(n.endswith(".system") for n in names)


def test_lightning_style_checkpoint_loads_with_inert_placeholders(tmp_path):
    SETSTATE_CALLS.clear()
    p = tmp_path / "best.ckpt"
    cfg = LightningLikeConfig()
    torch.save({"state_dict": {f"generator.{k}": v for k, v in _tiny().items()},
                "hyper_parameters": cfg, "epoch": 3}, p)
    obj = load_checkpoint(p)
    hp = obj["hyper_parameters"]
    assert not isinstance(hp, LightningLikeConfig)       # a placeholder, not the real class
    assert "placeholder" in repr(hp)
    assert SETSTATE_CALLS == []                           # the real class' code never ran
    sd = extract_state_dict(obj, "state_dict")
    assert torch.equal(sd["generator.conv.weight"], _tiny()["conv.weight"])
    assert obj["epoch"] == 3


def test_truncated_and_garbage_files(tmp_path):
    p = tmp_path / "w.pth"
    torch.save(_tiny(), p)
    data = p.read_bytes()
    t = tmp_path / "trunc.pth"
    t.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="trunc.pth"):
        load_checkpoint(t)
    g = tmp_path / "garbage.pth"
    g.write_bytes(b"hello world, not weights")
    with pytest.raises(ModelLoadError, match="not a PyTorch or safetensors"):
        load_checkpoint(g)
    e = tmp_path / "empty.safetensors"
    e.write_bytes(b"")
    with pytest.raises(ModelLoadError, match="empty"):
        load_checkpoint(e)


def test_safetensors_corrupt_header_and_truncation(tmp_path):
    p = tmp_path / "w.safetensors"
    save_safetensors(_tiny(), p)
    assert torch.equal(load_checkpoint(p)["conv.bias"], torch.ones(2))
    data = bytearray(p.read_bytes())
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bytes(data[:8]) + b"{not json" + bytes(data[17:]))
    with pytest.raises(ModelLoadError, match="corrupt, truncated or tampered"):
        load_checkpoint(bad)
    short = tmp_path / "short.safetensors"
    short.write_bytes(bytes(data[:-5]))
    with pytest.raises(ModelLoadError, match="corrupt, truncated or tampered"):
        load_checkpoint(short)


def test_params_ema_is_preferred(tmp_path):
    p = tmp_path / "RealESRGAN.pth"
    sd = _tiny()
    torch.save({"params_ema": sd, "params": {k: v * 0 for k, v in sd.items()}}, p)
    out = extract_state_dict(load_checkpoint(p))
    assert torch.equal(out["conv.weight"], sd["conv.weight"])
    with pytest.raises(ModelLoadError, match="no 'nope' entry"):
        extract_state_dict(load_checkpoint(p), "nope")


def test_official_rrdbnet_names_round_trip_through_a_pth(tmp_path):
    from ganstudio.models.loader import build_from_state_dict

    p = tmp_path / "tiny_x4.pth"
    torch.save({"params_ema": rrdbnet_state_dict()}, p)
    lm = build_from_state_dict(extract_state_dict(load_checkpoint(p)), task="super_resolution")
    assert lm.scale == 4 and lm.arch == "ESRGAN"
