"""Optional identity "refine": PTI-style tuning of a COPY of the StyleGAN2 generator on one face.

e4e's W+ code reconstructs a face only approximately (some identity is lost). Pivotal Tuning
(Roich et al. 2021) keeps the inverted code fixed as a pivot and fine-tunes the generator so that
``G(w_pivot)`` reproduces the photo; edits around the pivot then keep the identity. Here:

* the pivot is the encoder's W+ (no optimisation of w), the stored noise buffers stay fixed
  (``randomize_noise=False``), only a deep copy of the generator is tuned: the shared model is never
  touched, each face gets its own tuned generator;
* losses available offline (no LPIPS / VGG download): pixel L2 (PTI's L2 term, weight 1) plus a
  VGG-free perceptual proxy, the L1 distance between Laplacian pyramids (band-pass detail at 5
  scales, which tracks edges and textures the way a perceptual loss does), optionally weighted by
  a face mask; both at ``loss_size`` (area down-sampling of the 1024 output);
* Adam, lr 3e-4 (PTI's), ``steps`` (PTI uses ~350; default 300); every step checks the cancel
  token and yields a :class:`~ganstudio.tasks.base.Progress` (with a preview image every
  ``preview_every`` steps); stops early when the loss stops improving.

Cost: one generator forward + backward per step. On a GPU that is a few tens of ms at 1024 px; on a
CPU it is seconds per step (a 1024 FFHQ generator: many minutes for 300 steps), so
:func:`refine_availability` reports it as enabled by default on CUDA / MPS only and "slow" on CPU.
torch is imported inside the functions (task layer rule).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from ..base import Cancelled, Progress

__all__ = ["RefineConfig", "RefineResult", "refine_availability", "laplacian_pyramid_l1", "refine_loss",
           "refine_generator", "refine"]


@dataclass(frozen=True)
class RefineConfig:
    steps: int = 300
    lr: float = 3e-4
    l2_weight: float = 1.0
    pyramid_weight: float = 1.0
    pyramid_levels: int = 5
    loss_size: int = 256
    preview_every: int = 25
    patience: int = 60          # steps without a 0.5 % improvement of the best loss -> stop
    min_steps: int = 20


@dataclass
class RefineResult:
    generator: Any                         # tuned copy (eval, requires_grad False)
    steps: int
    loss_start: float
    loss_end: float
    seconds: float
    stopped_early: bool = False
    history: list[float] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        return {"refine_steps": self.steps, "refine_loss_start": round(self.loss_start, 6),
                "refine_loss_end": round(self.loss_end, 6), "refine_seconds": round(self.seconds, 2),
                "refine_stopped_early": self.stopped_early}


def refine_availability(device: Any) -> tuple[bool, str]:
    """``(enabled by default, note for the UI)``: on by default with a GPU, marked slow on CPU."""
    kind = getattr(device, "type", None) or str(device).split(":")[0]
    if kind in ("cuda", "mps", "xpu"):
        return True, "Refine identity (PTI generator tuning, ~300 steps on the GPU)"
    return False, ("Refine identity - SLOW on the CPU (generator tuning: several seconds per step, "
                   "many minutes per face)")


def _blur_down(x):
    import torch.nn.functional as F

    return F.avg_pool2d(x, 2)


def laplacian_pyramid_l1(a, b, levels: int = 5, weight=None):
    """Mean L1 distance between the Laplacian pyramids of ``a`` and ``b`` ([B,C,H,W]).

    Band ``k`` = image at scale k minus the up-sampled scale k+1; the last level is the residual
    low-pass. ``weight`` ([B,1,H,W], optional) is pooled along."""
    import torch.nn.functional as F

    loss = a.new_zeros(())
    for _ in range(max(1, levels) - 1):
        if min(a.shape[-2:]) < 4:
            break
        a2, b2 = _blur_down(a), _blur_down(b)
        la = a - F.interpolate(a2, size=a.shape[-2:], mode="bilinear", align_corners=False)
        lb = b - F.interpolate(b2, size=b.shape[-2:], mode="bilinear", align_corners=False)
        d = (la - lb).abs()
        loss = loss + ((d * weight).sum() / (weight.sum() * d.shape[1]).clamp_min(1e-8)
                       if weight is not None else d.mean())
        a, b = a2, b2
        if weight is not None:
            weight = _blur_down(weight)
    d = (a - b).abs()
    loss = loss + ((d * weight).sum() / (weight.sum() * d.shape[1]).clamp_min(1e-8)
                   if weight is not None else d.mean())
    return loss


def _resize(x, size: int):
    import torch.nn.functional as F

    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    if x.shape[-1] > size:
        return F.interpolate(x, size=(size, size), mode="area")
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def refine_loss(img, target, cfg: RefineConfig, mask=None):
    """L2 + Laplacian-pyramid L1 at ``cfg.loss_size`` (images in [-1, 1])."""
    a, b = _resize(img, cfg.loss_size), _resize(target, cfg.loss_size)
    w = _resize(mask, cfg.loss_size) if mask is not None else None
    if w is not None:
        l2 = (((a - b) ** 2) * w).sum() / (w.sum() * a.shape[1]).clamp_min(1e-8)
    else:
        l2 = ((a - b) ** 2).mean()
    return cfg.l2_weight * l2 + cfg.pyramid_weight * laplacian_pyramid_l1(a, b, cfg.pyramid_levels, w)


class _Adam:
    """Plain Adam (Kingma & Ba; torch.optim.Adam's defaults, no weight decay). Written out because
    constructing torch.optim.Adam imports torch._dynamo (seconds on a loaded CPU) for nothing."""

    def __init__(self, params: list, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        import torch

        self.params, self.lr, self.betas, self.eps, self.t = params, lr, betas, eps, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        import torch

        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v):
                if p.grad is None:
                    continue
                m.mul_(b1).add_(p.grad, alpha=1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                p.addcdiv_(m, (v / c2).sqrt_().add_(self.eps), value=-self.lr / c1)


def _is_cancelled(cancel: Any) -> bool:
    if cancel is None:
        return False
    if callable(cancel) and not hasattr(cancel, "cancelled"):
        return bool(cancel())
    return bool(getattr(cancel, "cancelled", False))


def _preview(img) -> Any:
    import numpy as np

    x = ((img[0].detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()
    return np.ascontiguousarray(x)


def refine_generator(generator: Any, wplus: Any, target: Any, *, config: RefineConfig | None = None,
                     mask: Any = None, cancel: Any = None, device: Any = None,
                     stage: str = "Refining identity") -> Generator[Progress, None, RefineResult]:
    """Tune a copy of ``generator`` so that ``G(wplus)`` matches ``target``.

    ``wplus`` [1, n_latent, dim] (or [n_latent, dim]), the pivot; ``target`` [1,3,H,W] in [-1, 1]
    (numpy HxWx3 uint8 / float 0..1 accepted), the aligned face; ``mask`` optional [1,1,H,W] / HxW
    weights. A generator function: yields Progress per step, returns :class:`RefineResult`; raises
    :class:`~ganstudio.tasks.base.Cancelled` when ``cancel`` is set (the shared generator is
    untouched either way)."""
    import numpy as np
    import torch

    cfg = config or RefineConfig()
    dev = torch.device(device) if device is not None else next(generator.parameters()).device
    w = torch.as_tensor(np.asarray(wplus, np.float32) if not isinstance(wplus, torch.Tensor) else wplus)
    w = (w if w.ndim == 3 else w.unsqueeze(0)).detach().float().to(dev)
    if isinstance(target, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(target)).float()
        if target.dtype == np.uint8:
            t = t / 255.0
        t = t.permute(2, 0, 1).unsqueeze(0) * 2 - 1 if t.ndim == 3 else t
    else:
        t = target.float()
    t = t.to(dev)
    m = None
    if mask is not None:
        m = mask.float() if isinstance(mask, torch.Tensor) else torch.as_tensor(np.asarray(mask, np.float32))
        while m.ndim < 4:
            m = m.unsqueeze(0)
        m = m.to(dev)

    g = copy.deepcopy(generator).to(dev).float()
    g.train()
    for p in g.parameters():
        p.requires_grad_(True)
    opt = _Adam([p for p in g.parameters()], lr=cfg.lr)
    t0 = time.perf_counter()
    history: list[float] = []
    best, since_best, stopped = float("inf"), 0, False
    step = 0
    with torch.enable_grad():
        for step in range(1, cfg.steps + 1):
            if _is_cancelled(cancel):
                raise Cancelled()
            img = g(w, input_is_latent=True, randomize_noise=False)[0]
            loss = refine_loss(img, t, cfg, m)
            opt.zero_grad()
            loss.backward()
            opt.step()
            val = float(loss.detach())
            history.append(val)
            if val < best * 0.995:
                best, since_best = val, 0
            else:
                since_best += 1
            preview = _preview(img) if cfg.preview_every and step % cfg.preview_every == 0 else None
            yield Progress(step, cfg.steps, stage, preview=preview)
            if step >= cfg.min_steps and since_best >= cfg.patience:
                stopped = True
                break
    g.eval()
    for p in g.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        final = float(refine_loss(g(w, input_is_latent=True, randomize_noise=False)[0], t, cfg, m))
    return RefineResult(generator=g, steps=step, loss_start=history[0] if history else final, loss_end=final,
                        seconds=time.perf_counter() - t0, stopped_early=stopped, history=history)


def refine(generator: Any, wplus: Any, target: Any, **kwargs: Any) -> RefineResult:
    """Non-generator convenience wrapper (drains the progress)."""
    gen = refine_generator(generator, wplus, target, **kwargs)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value
