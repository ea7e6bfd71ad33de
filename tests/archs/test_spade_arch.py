"""SPADE generator: official key layout (strict), spectral-norm semantics, official preprocessing.

The key/shape lists in tests/archs/data/spade_*_keys.json were dumped from the official
NVlabs/SPADE SPADEGenerator (ngf 64, spectralspadesyncbatch3x3). Numerics against the official
code were checked outside CI (max |diff| 0.0 fp32, docs/SCENE.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ganstudio.archs import spade_arch as S

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("ds", ["ade20k", "coco", "cityscapes"])
def test_official_key_layout_is_exact(ds):
    want = json.loads((DATA / f"spade_{ds}_keys.json").read_text())["keys"]
    # build on the meta device: ~96 M parameters would take seconds and 400 MB
    with torch.device("meta"):
        g = S.build(dataset=ds, ngf=64)
    got = {k: list(v.shape) for k, v in g.state_dict().items()}
    assert got == want


def test_specific_official_shapes():
    with torch.device("meta"):
        sd = S.build(dataset="ade20k", ngf=64).state_dict()
    assert list(sd["fc.weight"].shape) == [1024, 151, 3, 3]
    assert list(sd["head_0.conv_0.weight_orig"].shape) == [1024, 1024, 3, 3]
    assert list(sd["head_0.conv_0.weight_u"].shape) == [1024]
    assert list(sd["head_0.conv_0.weight_v"].shape) == [9216]
    assert list(sd["head_0.norm_0.param_free_norm.running_mean"].shape) == [1024]
    assert list(sd["up_0.conv_s.weight_orig"].shape) == [512, 1024, 1, 1]
    assert "up_0.conv_s.bias" not in sd
    assert list(sd["conv_img.weight"].shape) == [3, 64, 3, 3]


def _random_sd(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for k, v in model.state_dict().items():
        if k.endswith("num_batches_tracked"):
            sd[k] = torch.tensor(7)
        elif k.endswith("running_var"):
            sd[k] = torch.rand(v.shape, generator=g) + 0.5
        elif k.endswith(("weight_u", "weight_v")):
            sd[k] = torch.nn.functional.normalize(torch.randn(v.shape, generator=g), dim=0)
        else:
            sd[k] = torch.randn(v.shape, generator=g) * 0.1
    return sd


def test_strict_loading_with_random_weights_and_registry():
    from ganstudio.archs.registry import ArchLoadError, build_model

    tiny = S.build(dataset="coco", ngf=4)
    sd = _random_sd(tiny)
    m = build_model("spade", sd, dataset="coco", ngf=4)
    assert torch.equal(m.state_dict()["head_0.conv_0.weight_orig"], sd["head_0.conv_0.weight_orig"])
    bad = dict(sd)
    bad.pop("head_0.conv_0.weight_v")
    with pytest.raises(ArchLoadError, match="weight_v"):
        build_model("spade", bad, dataset="coco", ngf=4)
    # a checkpoint for another label set: shapes differ -> named
    with pytest.raises(ValueError, match=r"184 input channels \(coco\).*another label set"):
        build_model("spade", sd, dataset="ade20k", ngf=4)
    with pytest.raises(ArchLoadError, match="fc.weight"):
        build_model("spade", sd, dataset="coco", ngf=8)            # reshaped tensors are named
    # detection from the keys
    from ganstudio.archs.registry import get_arch
    kw = get_arch("spade").detect(sd)
    assert kw["semantic_nc"] == 184 and kw["ngf"] == 4 and kw["dataset"] == "coco"
    assert kw["norm_G"] == "spectralspadesyncbatch3x3"


def test_spectral_norm_matches_torch_in_eval_and_train():
    torch.manual_seed(0)
    ref = torch.nn.utils.spectral_norm(torch.nn.Conv2d(5, 7, 3, padding=1))
    mine = S.SNConv2d(5, 7, 3, 1)
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(2, 5, 9, 9)
    ref.eval(); mine.eval()
    u0 = ref.weight_u.clone()
    assert torch.equal(ref(x), mine(x))
    assert torch.equal(mine.weight_u, u0)                        # eval: no power iteration
    # eval sigma is exactly u . W v with the stored vectors
    w = mine.weight_orig.reshape(7, -1)
    sigma = torch.dot(mine.weight_u, w @ mine.weight_v)
    assert torch.allclose(mine.normalized_weight(), mine.weight_orig / sigma)
    ref.train(); mine.train()
    assert torch.equal(ref(x), mine(x))                          # one power iteration each
    assert torch.equal(ref.weight_u, mine.weight_u) and torch.equal(ref.weight_v, mine.weight_v)
    assert not torch.equal(mine.weight_u, u0)


def test_forward_shapes_and_latent_override():
    g = S.build(dataset="ade20k", ngf=2).eval()
    g.load_state_dict(_random_sd(g))
    sem = S.spade_semantics(np.ones((256, 256), np.int64), "ade20k")
    with torch.no_grad():
        assert g(sem).shape == (1, 3, 256, 256)
        sem2 = S.spade_semantics(np.ones((128, 320), np.int64), "ade20k")
        y = g(sem2, latent_size=(4, 10))
    assert y.shape == (1, 3, 128, 320) and y.abs().max() <= 1
    c = S.build(dataset="cityscapes", ngf=2)
    assert (c.sh, c.sw) == (4, 8) and c.output_size() == (256, 512)


def test_official_preprocessing():
    lab = np.array([[0, 1, 150], [255, 3, 3]])
    ids = S.official_label_ids(lab, "ade20k")
    assert ids.tolist() == [[150, 0, 149], [149, 2, 2]]         # 0 -> don't care; 255 -> 150 - 1
    sem = S.spade_semantics(lab, "ade20k")
    assert sem.shape == (1, 151, 2, 3) and sem.sum(1).eq(1).all()
    assert sem[0, 150, 0, 0] == 1 and sem[0, 0, 0, 1] == 1
    coco = S.spade_semantics(np.array([[0, 181], [255, 255]]), "coco")
    assert coco.shape == (1, 184, 2, 2)
    assert coco[0, 182, 1, 0] == 1                               # 255 -> don't-care channel 182
    assert coco[0, 183].tolist() == [[1, 1], [1, 1]]             # instance edges (labels as instances)
    flat = S.spade_semantics(np.full((3, 3), 5), "coco")
    assert flat[0, 183].sum() == 0
    # the official shift makes raw 151 land on the don't-care channel too (the task refuses ids
    # outside the label set before this); 200 cannot be encoded at all
    assert S.official_label_ids(np.array([[151]]), "ade20k").tolist() == [[150]]
    with pytest.raises(S.LabelRangeError, match=r"\[200, 300\]"):
        S.official_label_ids(np.array([[151, 200, 300]]), "ade20k")
    with pytest.raises(S.LabelRangeError, match=r"\[255\]"):
        S.official_label_ids(np.array([[255]]), "cityscapes")   # no don't-care channel
    inst = np.array([[1, 2], [1, 1]])
    e = S.spade_semantics(np.zeros((2, 2), np.int64), "cityscapes", instances=inst)
    assert e.shape == (1, 36, 2, 2) and e[0, 35].tolist() == [[1, 1], [0, 1]]
