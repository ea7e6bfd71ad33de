"""`ganstudio train style`: FastCUT / CUT / CycleGAN tiny runs, bad folders, resume, registration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ganstudio.train.style import StyleConfig, StyleTrainer, model_id_for, patch_nce, slug  # noqa: E402


def _folder(path: Path, n: int, seed: int, broken: int = 0) -> Path:
    from PIL import Image

    path.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (60, 76, 3), dtype=np.uint8)).save(path / f"i{i}.png")
    for i in range(broken):
        (path / f"bad{i}.jpg").write_bytes(b"\x00garbage")
    return path


def _cfg(tmp: Path, method: str, steps: int, **kw) -> StyleConfig:
    d = dict(photos=str(tmp / "a"), style=str(tmp / "b"), name="My Test", out=str(tmp / f"run_{method}"),
             method=method, steps=steps, size=64, ngf=4, n_blocks=5, ndf=8, num_patches=32,
             ckpt_minutes=0, preview_every=2, log_every=1, threads=1, device="cpu", precision="fp32")
    d.update(kw)
    return StyleConfig(**d)


@pytest.fixture
def domains(tmp_path: Path) -> Path:
    _folder(tmp_path / "a", 3, 0)
    _folder(tmp_path / "b", 2, 1, broken=2)
    return tmp_path


def test_patch_nce_prefers_matching_patches():
    torch.manual_seed(0)
    k = torch.nn.functional.normalize(torch.randn(1, 16, 8), dim=-1)
    same = patch_nce(k.clone(), k, 0.07)
    shuffled = patch_nce(k[:, torch.randperm(16)], k, 0.07)
    assert same < 0.05 < shuffled


@pytest.mark.parametrize("method", ["fastcut", "cut", "cyclegan"])
def test_methods_train_and_register_official_layout(domains, method, monkeypatch, tmp_path):
    monkeypatch.setenv("GANSTUDIO_CACHE", str(tmp_path / "cache"))
    t = StyleTrainer(_cfg(domains, method, 2), log=lambda s: None)
    res = t.fit()
    assert res["finished"] and res["step"] == 2 and res["skipped"] == {"photos": 0, "style": 2}
    assert Path(res["preview"]).is_file()
    assert res["model_id"] == model_id_for("My Test") == "user.style-my-test"
    from safetensors.torch import load_file

    from ganstudio.archs.cyclegan_arch import ResnetGenerator, detect
    from ganstudio.archs.registry import build_model

    sd = load_file(res["weights"])
    assert detect(sd) == {**ResnetGenerator(ngf=4, n_blocks=5).arch_kwargs}
    assert set(sd) == set(ResnetGenerator(ngf=4, n_blocks=5).state_dict())   # official keys only
    build_model("cyclegan_resnet", sd)                                         # strict load
    from ganstudio.models.loader import load_model
    from ganstudio.models.store import default_store

    st = default_store()
    assert st.entry(res["model_id"]).task == "style_transfer"
    assert res["model_id"] in [s.entry.id for s in st.list(task="style_transfer")]
    lm = load_model(res["model_id"], st, task="style_transfer")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert lm.module(x).shape == (1, 3, 32, 32)


def test_resume_continues_exactly(domains, tmp_path, monkeypatch):
    monkeypatch.setenv("GANSTUDIO_CACHE", str(tmp_path / "cache"))
    a = StyleTrainer(_cfg(domains, "fastcut", 3, register=False, out=str(tmp_path / "ra")), log=lambda s: None)
    a.fit()
    stop_after = {"n": 0}

    def should_stop() -> bool:
        stop_after["n"] += 1
        return stop_after["n"] > 1                          # one step, then "Stop"

    b = StyleTrainer(_cfg(domains, "fastcut", 3, register=False, out=str(tmp_path / "rb")), log=lambda s: None)
    res = b.fit(should_stop=should_stop)
    assert res["step"] == 1 and not res["finished"] and "weights" not in res
    b2 = StyleTrainer(_cfg(domains, "fastcut", 3, register=False, out=str(tmp_path / "rb")), log=lambda s: None)
    res = b2.fit(resume=True)
    assert res["finished"] and res["step"] == 3
    for (k, v), (_, w) in zip(a.G.state_dict().items(), b2.G.state_dict().items()):
        assert torch.allclose(v, w, atol=1e-6), k
    with pytest.raises(ValueError, match="ngf"):
        StyleTrainer(_cfg(domains, "fastcut", 3, ngf=8, out=str(tmp_path / "rb")), log=lambda s: None).fit(resume=True)


def test_bad_folders_are_clear_errors(tmp_path, capsys):
    from ganstudio.cli import main

    _folder(tmp_path / "a", 3, 0)
    _folder(tmp_path / "few", 1, 1, broken=3)
    with pytest.raises(ValueError, match="1 usable image.*3 skipped"):
        StyleTrainer(StyleConfig(photos=str(tmp_path / "a"), style=str(tmp_path / "few"), name="x",
                                 out=str(tmp_path / "o"), size=64), log=lambda s: None)
    rc = main(["train", "style", "--photos", str(tmp_path / "a"), "--style", str(tmp_path / "nope"),
               "--name", "x", "--out", str(tmp_path / "o2"), "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 2 and "not a folder" in out["error"]
    with pytest.raises(ValueError):
        slug("!!!")


def test_cli_progress_json(domains, tmp_path, capsys, monkeypatch):
    from ganstudio.cli import main

    monkeypatch.setenv("GANSTUDIO_CACHE", str(tmp_path / "cache"))
    rc = main(["train", "style", "--photos", str(domains / "a"), "--style", str(domains / "b"),
               "--name", "cli", "--out", str(tmp_path / "rc"), "--steps", "2", "--size", "64",
               "--ngf", "4", "--blocks", "5", "--threads", "1", "--device", "cpu", "--precision", "fp32",
               "--progress-json", "--no-register"])
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert rc == 0
    steps = [m for m in lines if "step" in m]
    assert [m["step"] for m in steps] == [1, 2] and steps[-1]["total"] == 2 and "eta_s" in steps[-1]
    assert lines[-1]["ok"] and lines[-1]["result"]["finished"] and "model_id" not in lines[-1]["result"]
