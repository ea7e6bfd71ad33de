"""Face models in the official checkpoint formats (tiny shapes): installed in a model store under the
catalog ids, the CLI commands work unchanged; bad checkpoints fail with clear messages."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ganstudio.cli import main  # noqa: E402
from ganstudio.tasks import face_edit  # noqa: E402
from ganstudio.tasks.base import TaskError  # noqa: E402
from ganstudio.tasks.face_edit import DEFAULT_AGE_MODEL, DEFAULT_MODEL, load_checkpoint_file  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    from ganstudio.models.face_testing import (tiny_e4e_kwargs, write_e4e_checkpoint,
                                               write_sam_checkpoint)

    d = tmp_path_factory.mktemp("facefiles")
    dim = tiny_e4e_kwargs()["style_dim"]
    n = 2 * int(np.log2(tiny_e4e_kwargs()["stylegan_size"])) - 2
    g = torch.Generator().manual_seed(3)
    out = {"e4e": write_e4e_checkpoint(d / "e4e_ffhq_encode.pt", seed=1),
           "sam": write_sam_checkpoint(d / "sam_ffhq_aging.pt", seed=2)}
    # official direction formats: [1, dim] InterFaceGAN, [1, n, dim] pose, GANSpace PCA dict
    for name in ("age", "smile"):
        torch.save(torch.randn(1, dim, generator=g), d / f"{name}.pt")
        out[name] = d / f"{name}.pt"
    torch.save(torch.randn(1, n, dim, generator=g), d / "pose.pt")
    comp = torch.randn(80, 1, dim, generator=g)
    comp = comp / comp.norm(dim=-1, keepdim=True)
    torch.save({"mean": torch.randn(1, dim, generator=g), "comp": comp,
                "std": torch.rand(80, generator=g) + 0.5}, d / "ffhq_pca.pt")
    out["pose"], out["pca"] = d / "pose.pt", d / "ffhq_pca.pt"
    return out


def _install(store, mid: str, paths: list[Path]) -> None:
    import shutil

    dst = store.model_dir(mid)
    dst.mkdir(parents=True, exist_ok=True)
    copied = []
    for p in paths:
        shutil.copy2(p, dst / p.name)
        copied.append(dst / p.name)
    store._record(mid, "download", copied)   # what a finished download writes


@pytest.fixture
def installed(files, tmp_path, monkeypatch):
    from ganstudio.models.store import default_store

    monkeypatch.setenv("GANSTUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GANSTUDIO_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GANSTUDIO_THREADS", "1")
    face_edit.set_model_factory(None)
    store = default_store()
    _install(store, DEFAULT_MODEL, [files["e4e"], files["age"], files["smile"], files["pose"],
                                    files["pca"]])
    _install(store, DEFAULT_AGE_MODEL, [files["sam"]])
    assert store.is_installed(DEFAULT_MODEL) and store.is_installed(DEFAULT_AGE_MODEL)
    yield store
    face_edit.set_model_factory(None)
    from ganstudio.models.loader import clear_cache

    clear_cache()


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_installed_catalog_models_run_the_same_commands(installed, samples_dir, tmp_path, capsys):
    photo = samples_dir / "astronaut.png"
    out = tmp_path / "edited.png"
    rc = main(["face", "edit", str(photo), "-o", str(out), "--edit", "smile=1.5", "--edit", "age=-2",
               "--edit", "glasses=1", "--device", "cpu", "--precision", "fp32", "--json"])
    assert rc == 0, capsys.readouterr()
    s = _json(capsys)
    assert s["model"] == DEFAULT_MODEL and s["faces"] == 1
    old = tmp_path / "old.png"
    assert main(["face", "age", str(photo), "-o", str(old), "--age", "70", "--device", "cpu",
                 "--precision", "fp32", "--json"]) == 0
    assert _json(capsys)["age"] == 70
    lat = tmp_path / "w.npy"
    assert main(["face", "invert", str(photo), "--latent-out", str(lat), "--json"]) == 0
    w = np.load(lat)
    assert w.dtype == np.float32 and w.ndim == 3 and w.shape[0] == 1
    assert _json(capsys)["shape"] == list(w.shape)
    assert main(["face", "synth", "--latent", str(lat), "-o", str(tmp_path / "s.png"), "--json"]) == 0
    assert _json(capsys)["bits"] == 16
    # an edit the catalog does not declare is refused by name
    assert main(["face", "edit", str(photo), "-o", str(tmp_path / "x.png"), "--edit", "wings=1",
                 "--json"]) == 2
    assert "unknown edit" in _json(capsys)["error"]


def test_catalog_sliders_come_from_the_entry(installed):
    names = [s[0] for s in face_edit.slider_specs()]
    assert {"smile", "age", "yaw", "glasses", "lipstick"} <= set(names)


def test_checkpoint_files_load_strictly_and_safely(files, tmp_path):
    from ganstudio.tasks.device import select_device

    dev = select_device("cpu", precision="fp32", threads=1)
    e4e = load_checkpoint_file(files["e4e"], dev)
    sam = load_checkpoint_file(files["sam"], dev)
    assert hasattr(e4e, "encode") and hasattr(sam, "encode_age")
    obj = torch.load(files["e4e"], weights_only=True)
    # a missing tensor is named
    missing = dict(obj, state_dict={k: v for k, v in obj["state_dict"].items()
                                    if k != "encoder.latlayer2.bias"})
    torch.save(missing, tmp_path / "missing.pt")
    with pytest.raises(Exception, match="encoder.latlayer2.bias"):
        load_checkpoint_file(tmp_path / "missing.pt", dev)
    # a reshaped tensor is named
    sd = dict(obj["state_dict"])
    sd["decoder.to_rgb1.bias"] = torch.zeros(1, 3, 2, 2)
    torch.save(dict(obj, state_dict=sd), tmp_path / "reshaped.pt")
    with pytest.raises(Exception, match="to_rgb1.bias"):
        load_checkpoint_file(tmp_path / "reshaped.pt", dev)
    # a truncated download
    data = files["e4e"].read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 3])
    with pytest.raises(Exception, match="truncated|corrupt|not a PyTorch"):
        load_checkpoint_file(tmp_path / "cut.pt", dev)
    # not a face checkpoint
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(TaskError, match="neither"):
        load_checkpoint_file(tmp_path / "other.pt", dev)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_pickle_that_carries_code_is_refused(tmp_path, samples_dir, capsys, monkeypatch):
    monkeypatch.setenv("GANSTUDIO_THREADS", "1")
    p = tmp_path / "evil.pt"
    with open(p, "wb") as fh:
        pickle.dump({"state_dict": {"encoder.x": _Evil()}}, fh, protocol=2)
    rc = main(["face", "edit", str(samples_dir / "astronaut.png"), "-o", str(tmp_path / "o.png"),
               "--edit", "smile=1", "--model", str(p), "--json"])
    assert rc == 2
    err = _json(capsys)["error"]
    assert "pwned" not in err and ("code" in err.lower() or "refus" in err.lower() or "unsafe" in err.lower())
