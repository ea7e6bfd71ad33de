"""pix2pix UnetGenerator (junyanz/pytorch-CycleGAN-and-pix2pix), official parameter names.

Nested skip blocks exactly as the official ``UnetSkipConnectionBlock`` (keys ``model.model.0.weight``,
``model.model.1.model.1.weight``, ``model.model.1.model.2.running_mean`` ...): ``num_downs`` stride-2
4x4 convs (8 = ``unet_256``, 7 = ``unet_128``), LeakyReLU(0.2) down, ReLU + ConvTranspose up,
BatchNorm (convs without bias) or InstanceNorm (convs with bias), dropout 0.5 in the
``num_downs - 5`` innermost ngf*8 blocks, tanh out; input [-1, 1], sides multiples of 2**num_downs.

Test-time behaviour (``set_test_mode``): the official ``test.py`` calls ``model.eval()`` only with
``--eval``. By default the network stays in train mode: BatchNorm normalises with the test image's
own statistics and dropout stays active (the paper's test-time noise): ``mode="official"``, the
default here too. ``mode="eval"``: running averages, no dropout (``test.py --eval``). The mode is
kept by our layers themselves, so the loader's ``.eval()`` does not change it.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .registry import ArchLoadError, register_arch
from .statnorm import StatBatchNorm2d, StatInstanceNorm2d

MODES = ("official", "eval")


class TestDropout(nn.Module):
    """Dropout whose on/off state is ours (``active``), not ``module.training``."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p
        self.active = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.p, training=self.active) if self.active else x


def _norm(kind: str, ch: int) -> nn.Module:
    if kind == "batch":
        m = StatBatchNorm2d(ch)
        m.batch_stats = True
        return m
    if kind == "instance":
        return StatInstanceNorm2d(ch, affine=False)
    raise ValueError(f"unknown norm {kind!r} (batch or instance)")


class UnetSkipConnectionBlock(nn.Module):
    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None,
                 submodule: nn.Module | None = None, outermost: bool = False, innermost: bool = False,
                 norm: str = "batch", use_dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        use_bias = norm == "instance"
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, 4, 2, 1, bias=use_bias)
        if outermost:
            layers = [downconv, submodule, nn.ReLU(True),
                      nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1), nn.Tanh()]
        elif innermost:
            layers = [nn.LeakyReLU(0.2, True), downconv, nn.ReLU(True),
                      nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1, bias=use_bias), _norm(norm, outer_nc)]
        else:
            layers = [nn.LeakyReLU(0.2, True), downconv, _norm(norm, inner_nc), submodule, nn.ReLU(True),
                      nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1, bias=use_bias),
                      _norm(norm, outer_nc)]
            if use_dropout:
                layers.append(TestDropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    input_range = (-1.0, 1.0)

    def __init__(self, input_nc: int = 3, output_nc: int = 3, num_downs: int = 8, ngf: int = 64,
                 norm: str = "batch", use_dropout: bool = True, mode: str = "official") -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError("num_downs must be >= 5")
        self.arch_kwargs = dict(input_nc=input_nc, output_nc=output_nc, num_downs=num_downs, ngf=ngf,
                                norm=norm, use_dropout=use_dropout)
        self.multiple_of = 2 ** num_downs
        b = UnetSkipConnectionBlock(ngf * 8, ngf * 8, norm=norm, innermost=True)
        for _ in range(num_downs - 5):
            b = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=b, norm=norm, use_dropout=use_dropout)
        b = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=b, norm=norm)
        b = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=b, norm=norm)
        b = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=b, norm=norm)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=b,
                                             outermost=True, norm=norm)
        self.mode = "official"
        set_test_mode(self, mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def set_test_mode(module: nn.Module, mode: str) -> None:
    """``"official"`` (BatchNorm on the image's own statistics, dropout on: official test.py
    without --eval) or ``"eval"`` (running averages, no dropout: ``--eval``)."""
    if mode not in MODES:
        raise ValueError(f"unknown test mode {mode!r} ({' or '.join(MODES)})")
    for m in module.modules():
        if isinstance(m, StatBatchNorm2d):
            m.batch_stats = mode == "official"
        elif isinstance(m, TestDropout):
            m.active = mode == "official"
    if isinstance(module, UnetGenerator):
        module.mode = mode


def detect(state_dict: dict[str, Any]) -> dict[str, Any] | None:
    sd = state_dict
    if sd and all(k.startswith("module.") for k in sd):
        sd = {k[7:]: v for k, v in sd.items()}
    w = sd.get("model.model.0.weight")
    if w is None or len(getattr(w, "shape", ())) != 4 or tuple(w.shape[2:]) != (4, 4):
        return None
    num_downs = 1                       # the outermost block
    prefix = "model.model.1."
    while prefix + "model.1.weight" in sd:   # each nested block's down conv
        num_downs += 1
        prefix += "model.3."
    norm = "batch" if "model.model.1.model.2.running_mean" in sd else "instance"
    # dropout changes no keys; the official pix2pix models are trained with it
    return dict(input_nc=int(w.shape[1]), ngf=int(w.shape[0]), num_downs=num_downs, norm=norm,
                output_nc=int(sd["model.model.3.weight"].shape[1]) if "model.model.3.weight" in sd else 3)


def convert(state_dict: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    sd = dict(state_dict)
    if sd and all(k.startswith("module.") for k in sd):
        sd = {k[7:]: v for k, v in sd.items()}
    if "model.model.0.weight" not in sd:
        raise ArchLoadError("pix2pix_unet", message=(
            "not a pix2pix UnetGenerator state dict: no 'model.model.0.weight'; its first keys are: "
            + (", ".join(list(sd)[:6]) or "no tensors")))
    if kwargs.get("norm", "batch") == "instance":
        sd = {k: v for k, v in sd.items()
              if k.rsplit(".", 1)[-1] not in ("running_mean", "running_var", "num_batches_tracked")}
    return sd


register_arch("pix2pix_unet", detect=detect, convert=convert)(UnetGenerator)
