"""pix2pix UnetGenerator: official nested key names, detection (unet_256 / unet_128), strict
loading, and the two test-time modes (official test.py default vs --eval)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from ganstudio.archs.pix2pix_unet_arch import UnetGenerator, detect, set_test_mode  # noqa: E402
from ganstudio.archs.registry import ArchLoadError, build_model  # noqa: E402


def _random_sd(seed: int = 0, **kw) -> dict:
    torch.manual_seed(seed)
    sd = UnetGenerator(**kw).state_dict()
    for k, v in sd.items():
        if k.endswith("running_var"):
            v.uniform_(0.5, 1.5)
        elif v.is_floating_point():
            v.normal_(0, 0.2)
    return {k: v.clone() for k, v in sd.items()}


def test_official_keys_unet_256():
    with torch.device("meta"):
        sd = UnetGenerator(num_downs=8, ngf=64).state_dict()
    assert tuple(sd["model.model.0.weight"].shape) == (64, 3, 4, 4)
    assert "model.model.0.bias" not in sd                      # BatchNorm: convs without bias
    assert tuple(sd["model.model.1.model.1.weight"].shape) == (128, 64, 4, 4)
    assert tuple(sd["model.model.1.model.2.running_mean"].shape) == (128,)
    assert tuple(sd["model.model.3.weight"].shape) == (128, 3, 4, 4)   # outermost ConvTranspose
    assert tuple(sd["model.model.3.bias"].shape) == (3,)
    inner = "model.model.1" + ".model.3" * 6
    assert tuple(sd[inner + ".model.1.weight"].shape) == (512, 512, 4, 4)   # innermost down conv
    assert tuple(sd[inner + ".model.4.running_var"].shape) == (512,)       # innermost up norm
    n = sum(v.numel() for k, v in sd.items() if "running" not in k and "num_batches" not in k)
    assert 54.4e6 < n < 54.42e6


@pytest.mark.parametrize("num_downs", [8, 7])
def test_detect_and_strict_load(num_downs):
    sd = _random_sd(num_downs, num_downs=num_downs, ngf=4)
    kw = detect(sd)
    assert kw["num_downs"] == num_downs and kw["ngf"] == 4 and kw["norm"] == "batch"
    net = build_model("pix2pix_unet", sd).eval()
    for k, v in net.state_dict().items():
        assert torch.equal(v, sd[k]), k


def test_missing_and_foreign_keys_are_refused():
    sd = _random_sd(1, num_downs=7, ngf=4)
    del sd["model.model.1.model.2.running_var"]
    with pytest.raises(ArchLoadError, match="running_var"):
        build_model("pix2pix_unet", sd)
    with pytest.raises(ArchLoadError, match="model.model.0.weight"):
        build_model("pix2pix_unet", {"net.0.weight": torch.zeros(4, 3, 4, 4)})


def _functional_eval(sd, x, num_downs, batch_stats):
    """Independent unet forward from the keys (recursive), BatchNorm as requested."""
    def bn(h, p):
        if batch_stats:
            return F.batch_norm(h, None, None, sd[p + ".weight"], sd[p + ".bias"], True)
        return F.batch_norm(h, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"],
                            sd[p + ".bias"], False)

    def block(h, p, level):
        if level == num_downs - 1:       # innermost
            d = F.conv2d(F.leaky_relu(h, 0.2), sd[p + ".model.1.weight"], stride=2, padding=1)
            u = F.conv_transpose2d(F.relu(d), sd[p + ".model.3.weight"], stride=2, padding=1)
            return torch.cat([h, bn(u, p + ".model.4")], 1)
        d = bn(F.conv2d(F.leaky_relu(h, 0.2), sd[p + ".model.1.weight"], stride=2, padding=1), p + ".model.2")
        s = block(d, p + ".model.3", level + 1)
        u = bn(F.conv_transpose2d(F.relu(s), sd[p + ".model.5.weight"], stride=2, padding=1), p + ".model.6")
        return torch.cat([h, u], 1)

    d = F.conv2d(x, sd["model.model.0.weight"], stride=2, padding=1)
    s = block(d, "model.model.1", 1)
    return torch.tanh(F.conv_transpose2d(F.relu(s), sd["model.model.3.weight"], sd["model.model.3.bias"],
                                         stride=2, padding=1))


def test_eval_mode_uses_running_stats_and_no_dropout():
    sd = _random_sd(2, num_downs=7, ngf=4)
    net = build_model("pix2pix_unet", sd, mode="eval").eval()
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        a, b = net(x), net(x)
        ref = _functional_eval(sd, x, 7, batch_stats=False)
    assert torch.equal(a, b)
    assert (a - ref).abs().max() <= 1e-5


def test_official_default_batch_stats_and_active_dropout():
    sd = _random_sd(3, num_downs=7, ngf=4)
    net = build_model("pix2pix_unet", sd).eval()      # .eval() must not change the official mode
    assert net.mode == "official"
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        torch.manual_seed(1)
        a = net(x)
        torch.manual_seed(1)
        a2 = net(x)
        torch.manual_seed(2)
        b = net(x)
        set_test_mode(net, "eval")
        e = net(x)
        # with the dropout layers off, the official mode is the functional batch-stats forward
        set_test_mode(net, "official")
        for m in net.modules():
            if type(m).__name__ == "TestDropout":
                m.active = False
        nodrop = net(x)
    assert torch.equal(a, a2)                     # seeded: reproducible
    assert not torch.equal(a, b)                  # dropout active
    assert (a - e).abs().max() > 1e-3             # batch statistics differ from running ones
    assert (nodrop - _functional_eval(sd, x, 7, batch_stats=True)).abs().max() <= 1e-5
