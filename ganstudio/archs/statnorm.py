"""Normalisation layers whose spatial statistics can be supplied from outside.

Instance norm (and BatchNorm in "batch statistics" mode with one image, as pix2pix's official
test.py runs it) normalise each channel with the mean / variance of the *whole* input. Run tile by
tile, each tile would see its own statistics and the result would show seams. These layers compute
exactly what torch's ``F.instance_norm`` / ``F.batch_norm`` compute, unless a *stats hook* is set
(``set_stats_hook(module, hook)``): then ``hook(layer, x, kind)`` returns the statistics to use.
``ganstudio.tasks.norm_tiling`` uses the hook to record whole-image statistics in one pass and to
replay them on every tile.

``kind`` is ``"meanvar"`` (the hook returns ``(mean, var)``, each N x C x 1 x 1) or ``"mean"``
(a single spatial mean, used by the ONNX graph module for its GlobalAveragePool / ReduceMean ops).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

StatsHook = Callable[[Any, torch.Tensor, str], Any]


class StatsPoint:
    """Mixin: a layer with spatial statistics that a hook may override."""

    stats_hook: StatsHook | None = None

    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.stats_hook is not None:
            return self.stats_hook(self, x, "meanvar")
        return spatial_meanvar(x)


def spatial_meanvar(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    xf = x.float()
    var, mean = torch.var_mean(xf, dim=(2, 3), keepdim=True, correction=0)
    return mean, var


def _apply(x: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, eps: float,
           weight: torch.Tensor | None, bias: torch.Tensor | None) -> torch.Tensor:
    inv = torch.rsqrt(var.float() + eps)
    scale = inv if weight is None else inv * weight.float().view(1, -1, 1, 1)
    shift = -mean.float() * scale
    if bias is not None:
        shift = shift + bias.float().view(1, -1, 1, 1)
    return (x.float() * scale + shift).to(x.dtype)


class StatInstanceNorm2d(nn.InstanceNorm2d, StatsPoint):
    """``nn.InstanceNorm2d`` (same parameter names; no running stats) with a stats hook."""

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = False) -> None:
        super().__init__(num_features, eps=eps, affine=affine, track_running_stats=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stats_hook is None:
            return F.instance_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        mean, var = self._stats(x)
        return _apply(x, mean, var, self.eps, self.weight, self.bias)


class StatBatchNorm2d(nn.BatchNorm2d, StatsPoint):
    """``nn.BatchNorm2d`` (same keys) for inference. ``batch_stats=True``: normalise with the
    statistics of the input (what a network left in train mode does: pix2pix's official test.py
    without --eval) without updating the running averages; ``False``: the running averages
    (``model.eval()``). With several images in a batch the statistics span the batch (as torch)."""

    batch_stats: bool = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.batch_stats:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                False, 0.0, self.eps)
        if self.stats_hook is None:
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        mean, var = self._stats(x)
        return _apply(x, mean, var, self.eps, self.weight, self.bias)

    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.stats_hook is not None:
            return self.stats_hook(self, x, "meanvar")
        xf = x.float()
        var, mean = torch.var_mean(xf, dim=(0, 2, 3), keepdim=True, correction=0)
        return mean, var


def stats_points(module: nn.Module) -> list[Any]:
    """Every layer of ``module`` whose statistics a hook can supply, in module order."""
    return [m for m in module.modules() if isinstance(m, StatsPoint)]


def set_stats_hook(module: nn.Module, hook: StatsHook | None) -> int:
    """Install ``hook`` on every stats point of ``module`` (None removes it); returns how many."""
    pts = stats_points(module)
    for p in pts:
        p.stats_hook = hook
    return len(pts)


def uses_image_stats(module: nn.Module) -> bool:
    """True when the output of ``module`` depends on whole-image statistics."""
    for m in stats_points(module):
        if isinstance(m, StatBatchNorm2d) and not m.batch_stats:
            continue
        return True
    return False
