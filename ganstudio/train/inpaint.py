"""Training loop of the built-in inpainter (GSInpaint) - ``ganstudio train inpaint``.

Data: random patches from the photo pool (``--data DIR``; the licensed photos fetched by
../shared/data/get_training_photos.sh, licences in ../shared/data/train_pool.tsv). Each photo is
kept in memory with its long side at ``LOAD_SIDE`` px; a patch is a random square crop of
``patch / scale`` px (scale drawn from ``SCALES``) resized to ``--patch`` px, randomly flipped.
Holes: ``inpaint_masks.random_mask`` (free-form strokes and object-shaped masks).

Hold-out: ``holdout_ids(ids, n)`` picks ``n`` photos evenly from the sorted photo ids (the id is
the file stem up to the first ``_``, e.g. ``E01``); they are never used for training and are the
evaluation set of benchmarks/eval_inpaint.py. The run dir records them in ``holdout.json``.

Losses (generator): L1 in the hole (weight ``w_hole``) + L1 on known pixels (``w_valid``) +
L1 of image gradients near the hole (``w_grad``) + a 1/4-scale L1 term; after ``--warmup-steps``
reconstruction-only steps, a light non-saturating adversarial loss (``w_adv``) from a mask-aware
PatchGAN (fake only where the patch touches the hole) and discriminator feature matching
(``w_fm``). An exponential moving average of the generator is kept and is what gets exported.

Checkpoints (``ckpt.pt``, atomic replace) every ``--ckpt-minutes`` and at the end hold the
generator, EMA, discriminator, both optimisers, the step, elapsed time and the numpy / torch RNG
states, so ``--resume`` continues exactly (same weights as an uninterrupted run, on the same
device and thread count). Checkpoints are loaded with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .inpaint_masks import random_mask

LOAD_SIDE = 1024
SCALES = (1.0, 0.75, 0.5, 0.35)
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


@dataclass
class TrainConfig:
    data: str
    out: str
    minutes: float = 30.0
    steps: int = 0                 # 0 = until the time budget ends
    holdout: int = 7
    seed: int = 0
    batch: int = 8
    patch: int = 128
    base: int = 24
    n_blocks: int = 6
    lr_g: float = 5e-4
    lr_d: float = 2e-4
    warmup_steps: int = 1500
    w_hole: float = 1.0
    w_valid: float = 0.1
    w_grad: float = 0.5
    w_low: float = 0.5
    w_adv: float = 0.003
    w_fm: float = 0.1
    ema: float = 0.998
    ckpt_minutes: float = 3.0
    log_every: int = 50
    threads: int = 1
    device: str = "cpu"
    extra: dict = field(default_factory=dict)


def photo_id(path: Path) -> str:
    return path.stem.split("_")[0]


def list_photos(data: Path) -> list[Path]:
    files = sorted(p for p in Path(data).iterdir() if p.suffix.lower() in IMAGE_EXTS)
    return sorted(files, key=photo_id)


def holdout_ids(ids: list[str], n: int) -> list[str]:
    """``n`` ids spread evenly over the sorted list (deterministic, no RNG)."""
    ids = sorted(ids)
    if n <= 0 or not ids:
        return []
    n = min(n, len(ids) - 1) if len(ids) > 1 else 0
    return [ids[int((i + 0.5) * len(ids) / n)] for i in range(n)] if n else []


def split_photos(data: Path, n_holdout: int) -> tuple[list[Path], list[Path]]:
    photos = list_photos(data)
    held = set(holdout_ids([photo_id(p) for p in photos], n_holdout))
    return [p for p in photos if photo_id(p) not in held], [p for p in photos if photo_id(p) in held]


def load_rgb(path: Path, long_side: int | None = LOAD_SIDE) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot read {path}")
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if long_side:
        h, w = img.shape[:2]
        s = long_side / max(h, w)
        if s < 1:
            img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    return img


class PatchSampler:
    def __init__(self, images: list[np.ndarray], patch: int, rng: np.random.Generator) -> None:
        self.images = images
        self.patch = patch
        self.rng = rng

    def sample(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        p = self.patch
        imgs = np.empty((batch, p, p, 3), np.uint8)
        masks = np.empty((batch, p, p), np.uint8)
        for i in range(batch):
            img = self.images[int(self.rng.integers(len(self.images)))]
            h, w = img.shape[:2]
            scale = float(self.rng.choice(SCALES))
            side = min(h, w, max(p, int(round(p / scale))))
            y = int(self.rng.integers(0, h - side + 1))
            x = int(self.rng.integers(0, w - side + 1))
            crop = img[y:y + side, x:x + side]
            if side != p:
                crop = cv2.resize(crop, (p, p), interpolation=cv2.INTER_AREA)
            if self.rng.random() < 0.5:
                crop = crop[:, ::-1]
            imgs[i] = crop
            masks[i] = random_mask(self.rng, p, p)
        return imgs, masks


def _to_tensor(imgs: np.ndarray, masks: np.ndarray, device):
    import torch

    x = torch.from_numpy(np.ascontiguousarray(imgs)).permute(0, 3, 1, 2).float().div_(255).to(device)
    m = torch.from_numpy(masks).unsqueeze(1).float().div_(255).to(device)
    return x, m


def _atomic_save(obj, path: Path) -> None:
    import torch

    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _grad(t):
    return t[..., :, 1:] - t[..., :, :-1], t[..., 1:, :] - t[..., :-1, :]


class Trainer:
    def __init__(self, cfg: TrainConfig, log: Callable[[str], None] = print) -> None:
        import torch

        from ..archs.gsinpaint_arch import GSInpaint
        from ..archs.inpaint_patchgan_arch import InpaintPatchGAN

        self.cfg = cfg
        self.log = log
        self.out = Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        self.device = torch.device(cfg.device)
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        train, held = split_photos(Path(cfg.data), cfg.holdout)
        if not train:
            raise ValueError(f"no training photos in {cfg.data}")
        self.train_ids = [photo_id(p) for p in train]
        self.holdout = [photo_id(p) for p in held]
        self.sampler = PatchSampler([load_rgb(p) for p in train], cfg.patch, self.rng)
        self.G = GSInpaint(cfg.base, cfg.n_blocks).to(self.device)
        self.G_ema = GSInpaint(cfg.base, cfg.n_blocks).to(self.device)
        self.G_ema.load_state_dict(self.G.state_dict())
        self.G_ema.requires_grad_(False)
        self.D = InpaintPatchGAN().to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=(0.9, 0.99))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=(0.5, 0.99))
        self.step = 0
        self.elapsed = 0.0
        (self.out / "holdout.json").write_text(json.dumps(
            {"holdout": self.holdout, "train": self.train_ids, "data": str(cfg.data)}, indent=1))

    # --- checkpoints -----------------------------------------------------------------------
    @property
    def ckpt_path(self) -> Path:
        return self.out / "ckpt.pt"

    def save(self) -> None:
        import torch

        state = {
            "G": self.G.state_dict(), "G_ema": self.G_ema.state_dict(), "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "step": self.step, "elapsed": self.elapsed,
            "torch_rng": torch.get_rng_state(),
            "np_rng": json.dumps(self.rng.bit_generator.state),
            "config": json.dumps(asdict(self.cfg)),
        }
        _atomic_save(state, self.ckpt_path)

    def load(self) -> None:
        import torch

        state = torch.load(self.ckpt_path, map_location=self.device, weights_only=True)
        self.G.load_state_dict(state["G"])
        self.G_ema.load_state_dict(state["G_ema"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step = int(state["step"])
        self.elapsed = float(state["elapsed"])
        torch.set_rng_state(state["torch_rng"])
        self.rng.bit_generator.state = json.loads(state["np_rng"])

    # --- one step --------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        import torch
        import torch.nn.functional as F

        cfg = self.cfg
        imgs, masks = self.sampler.sample(cfg.batch)
        x, m = _to_tensor(imgs, masks, self.device)
        adv = self.step >= cfg.warmup_steps
        pred = self.G(x, m)
        comp = pred * m + x * (1 - m)
        hole_n = m.sum().clamp_min(1.0)
        l_hole = ((pred - x).abs() * m).sum() / (hole_n * 3)
        l_valid = ((pred - x).abs() * (1 - m)).mean()
        near = F.max_pool2d(m, 7, 1, 3)
        gx, gy = _grad(comp)
        tx, ty = _grad(x)
        l_grad = ((gx - tx).abs() * near[..., :, 1:]).sum() / (near.sum() * 3 + 1) + \
                 ((gy - ty).abs() * near[..., 1:, :]).sum() / (near.sum() * 3 + 1)
        l_low = (F.avg_pool2d(comp, 4) - F.avg_pool2d(x, 4)).abs().mean() / \
            F.avg_pool2d(m, 4).mean().clamp_min(1e-3)
        loss = cfg.w_hole * l_hole + cfg.w_valid * l_valid + cfg.w_grad * l_grad + cfg.w_low * l_low
        logs = {"hole": l_hole.item(), "grad": l_grad.item()}
        if adv:
            self.D.requires_grad_(False)
            logit_f, feat_f = self.D(comp, m)
            with torch.no_grad():
                _, feat_r = self.D(x, m)
            l_adv = F.softplus(-logit_f).mean()
            l_fm = sum((a - b).abs().mean() for a, b in zip(feat_f, feat_r)) / len(feat_r)
            loss = loss + cfg.w_adv * l_adv + cfg.w_fm * l_fm
            logs.update(adv=l_adv.item(), fm=float(l_fm.detach()))
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        if adv:
            self.D.requires_grad_(True)
            logit_r, _ = self.D(x, m)
            logit_f, _ = self.D(comp.detach(), m)
            mp = F.adaptive_max_pool2d(m, logit_f.shape[-2:])
            l_d = F.softplus(-logit_r).mean() + \
                (F.softplus(logit_f) * mp + F.softplus(-logit_f) * (1 - mp)).mean()
            self.opt_d.zero_grad(set_to_none=True)
            l_d.backward()
            self.opt_d.step()
            logs["d"] = l_d.item()
        with torch.no_grad():
            for pe, p in zip(self.G_ema.parameters(), self.G.parameters()):
                pe.lerp_(p, 1 - cfg.ema)
        self.step += 1
        logs["loss"] = loss.item()
        return logs

    # --- loop ------------------------------------------------------------------------------
    def fit(self, resume: bool = False) -> dict:
        cfg = self.cfg
        if resume and self.ckpt_path.exists():
            self.load()
            self.log(f"resumed at step {self.step} ({self.elapsed / 60:.1f} min trained)")
        self.log(f"train photos {len(self.train_ids)}, holdout {self.holdout}, "
                 f"params G {sum(p.numel() for p in self.G.parameters())}")
        start = time.monotonic()
        base_elapsed = self.elapsed
        last_ckpt = start
        budget = cfg.minutes * 60.0
        acc: dict[str, float] = {}
        n = 0
        t_log = start
        while True:
            if cfg.steps and self.step >= cfg.steps:
                break
            if budget and (time.monotonic() - start) >= budget:
                break
            logs = self.train_step()
            self.elapsed = base_elapsed + time.monotonic() - start
            for k, v in logs.items():
                acc[k] = acc.get(k, 0.0) + v
            n += 1
            if cfg.log_every and self.step % cfg.log_every == 0:
                msg = " ".join(f"{k}={v / n:.4f}" for k, v in acc.items())
                self.log(f"step {self.step} t={self.elapsed / 60:.1f}min "
                         f"{(time.monotonic() - t_log) / max(1, n):.2f}s/it {msg}")
                acc, n = {}, 0
                t_log = time.monotonic()
            if cfg.ckpt_minutes and time.monotonic() - last_ckpt >= cfg.ckpt_minutes * 60:
                self.save()
                last_ckpt = time.monotonic()
        self.save()
        self.log(f"done: step {self.step}, {self.elapsed / 60:.1f} min trained; checkpoint {self.ckpt_path}")
        return {"step": self.step, "elapsed_s": self.elapsed, "checkpoint": str(self.ckpt_path)}


def train(cfg: TrainConfig, resume: bool = False, log: Callable[[str], None] = print) -> dict:
    return Trainer(cfg, log).fit(resume=resume)


def export(run_dir: str | Path, out_file: str | Path, half: bool = False, use_ema: bool = True) -> dict:
    """Write the (EMA) generator of a run as safetensors with its config in the metadata."""
    import torch
    from safetensors.torch import save_file

    state = torch.load(Path(run_dir) / "ckpt.pt", map_location="cpu", weights_only=True)
    cfg = json.loads(state["config"])
    sd = state["G_ema" if use_ema else "G"]
    dtype = torch.float16 if half else torch.float32
    sd = {k: v.detach().to(dtype).contiguous() for k, v in sd.items()}
    meta = {"arch": "GSInpaint", "base": str(cfg["base"]), "n_blocks": str(cfg["n_blocks"]),
            "step": str(state["step"]), "elapsed_s": f"{state['elapsed']:.0f}",
            "dtype": "float16" if half else "float32"}
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_suffix(".tmp")
    save_file(sd, str(tmp), metadata=meta)
    os.replace(tmp, out_file)
    return {"file": str(out_file), "bytes": out_file.stat().st_size, **meta}


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    d = (a - b) ** 2
    if mask is not None:
        sel = mask > 0
        d = d[sel]
    mse = float(d.mean()) if d.size else 0.0
    return 99.0 if mse <= 1e-10 else 10 * math.log10(255.0 ** 2 / mse)


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SSIM (Wang et al. 2004, Gaussian 11x11 sigma 1.5) per pixel, averaged over RGB channels."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(t):
        return cv2.GaussianBlur(t, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mu_a, mu_b = blur(a), blur(b)
    saa = blur(a * a) - mu_a ** 2
    sbb = blur(b * b) - mu_b ** 2
    sab = blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * sab + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    return s.mean(axis=2) if s.ndim == 3 else s


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    s = ssim_map(a, b)
    return float(s[mask > 0].mean()) if mask is not None else float(s.mean())
