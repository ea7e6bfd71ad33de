"""LaMa end to end: an official-layout big-lama.zip imported into the store, used by the task."""

from __future__ import annotations

import zipfile
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")


@pytest.mark.slow
def test_installed_lama_zip_inpaints_only_the_mask(tmp_path, model_cache):
    from spandrel.architectures.LaMa import LaMa

    from ganstudio.models.store import ModelStore
    from ganstudio.tasks.base import TaskContext, TaskInputs, drive
    from ganstudio.tasks.inpaint import InpaintRequest, composite_weight, model_choices, run

    torch.manual_seed(0)
    gen = {"generator." + k[len("model."):]: v.half() if v.is_floating_point() else v
           for k, v in LaMa(in_nc=4, out_nc=3).state_dict().items()}
    ckpt = tmp_path / "best.ckpt"
    torch.save({"state_dict": OrderedDict(gen), "epoch": 1}, ckpt)
    z = tmp_path / "big-lama.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("big-lama/config.yaml", "generator: {}\n")
        zf.write(ckpt, "big-lama/models/best.ckpt")
    store = ModelStore()
    assert store.import_file(z, "lama.big-lama") == "lama.big-lama"
    assert {c["id"]: c["installed"] for c in model_choices(store)}["lama.big-lama"] is True
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (70, 90, 3)).astype(np.uint8)
    m = np.zeros((70, 90), np.uint8)
    m[20:40, 30:60] = 255
    req = InpaintRequest(model_id="lama.big-lama")
    ctx = TaskContext(device="cpu", threads=1, store=store)
    res = drive(run(TaskInputs(image=img, mask=m), req, ctx))
    changed = (res.image != img).any(axis=2)
    assert changed[m > 0].any() and not (changed & ~(composite_weight(m, req) > 0)).any()
    assert (store.model_dir("lama.big-lama") / "lama_generator.safetensors").is_file()
