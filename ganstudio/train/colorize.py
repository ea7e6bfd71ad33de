"""Training loop of the built-in colouriser (GSColorizer) - ``ganstudio train colorize``.

pix2pix-style conditional GAN, luma -> chroma: the generator (archs/colorizer_arch.py) sees the
BT.601 luma Y of a photo and predicts its chroma (Cb, Cr); the task recombines the prediction with
the photo's exact luma, so only colour is ever invented.

Data: the photo pool (``--data DIR``: the licensed photos fetched by
``bash ../shared/data/get_training_photos.sh DIR``; licences in ../shared/data/train_pool.tsv).
Every photo is kept in memory at long side ``load_side`` px (default 512); a sample is a random
square crop of 30-100 % of the short side resized to ``--patch`` px, randomly mirrored. Unreadable
or tiny files are skipped and counted. The hold-out set is the one of every built-in model
(``holdout_ids``: ``--holdout`` ids spread evenly over the sorted ids); it is never trained on
and is what benchmarks/eval_colorize.py measures. The run dir records it in ``holdout.json``.

Losses: L1 of the chroma (in [-1, 1] units, weight ``w_l1``); after ``--warmup-steps`` L1-only
steps, the non-saturating adversarial loss (``w_adv``, pix2pix's 1:100 ratio by default) of a
conditional spectral-norm PatchGAN that sees (Cb, Cr, Y) (archs/inpaint_patchgan_arch.py, 3 input
channels). Adam (G 2e-4, D 2e-4, betas 0.5/0.999 as pix2pix); an EMA of G is exported.

Precision: ``--precision auto`` runs the forward passes under bf16 autocast on CPUs with native
bf16 (AVX512_BF16 / AMX; measured 2-3x faster than fp32 on the project's AMD EPYC) and on CUDA;
weights, optimiser state and losses stay fp32.

Checkpoints (``ckpt.pt``, atomic) every ``--ckpt-minutes`` and at the end: G, EMA, D, both
optimisers, step, elapsed time and RNG states, so ``--resume`` continues where it stopped. A
preview (``previews/step_NNNNNN.jpg``: luma | prediction | truth of two held-out photos) is written
with every checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .data import (ProgressBar, atomic_torch_save, autocast_dtype, load_folder, random_crops,
                   split_folder)

ARCH = "gscolorizer"


@dataclass
class ColorizeConfig:
    data: str
    out: str
    minutes: float = 50.0
    steps: int = 0                 # 0 = until the time budget ends
    holdout: int = 7
    seed: int = 0
    batch: int = 8
    patch: int = 128
    base: int = 32
    mid_blocks: int = 2
    load_side: int = 512
    min_frac: float = 0.3
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    warmup_steps: int = 1500
    w_l1: float = 1.0
    w_adv: float = 0.01
    ema: float = 0.999
    precision: str = "auto"        # auto | fp32 | bf16
    ckpt_minutes: float = 3.0
    log_every: int = 50
    preview_side: int = 192
    threads: int = 1
    device: str = "cpu"
    extra: dict = field(default_factory=dict)


class ColorizeTrainer:
    def __init__(self, cfg: ColorizeConfig, log: Callable[[str], None] = print) -> None:
        import torch

        from ..archs.colorizer_arch import GSColorizer
        from ..archs.inpaint_patchgan_arch import InpaintPatchGAN

        self.cfg = cfg
        self.log = log
        self.out = Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        self.device = torch.device(cfg.device)
        self.amp = autocast_dtype(cfg.device, cfg.precision)
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        train_files, held_files = split_folder(cfg.data, cfg.holdout)
        train = load_folder(cfg.data, cfg.load_side, min_side=cfg.patch, paths=train_files)
        held = load_folder(cfg.data, cfg.load_side, min_side=32, paths=held_files)
        self.skipped = train.skipped + held.skipped
        if not train.images:
            raise ValueError(f"no usable training photos in {cfg.data} "
                             f"({len(self.skipped)} skipped)")
        self.images = train.images
        self.train_ids = train.ids
        self.holdout = held.ids
        self.held_images = held.images
        self.G = GSColorizer(cfg.base, cfg.mid_blocks).to(self.device)
        self.G_ema = GSColorizer(cfg.base, cfg.mid_blocks).to(self.device)
        self.G_ema.load_state_dict(self.G.state_dict())
        self.G_ema.requires_grad_(False)
        self.G_ema.eval()
        self.D = InpaintPatchGAN(in_ch=3).to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=(0.5, 0.999))
        self.step = 0
        self.elapsed = 0.0
        (self.out / "holdout.json").write_text(json.dumps(
            {"holdout": self.holdout, "train": self.train_ids, "data": str(cfg.data),
             "skipped": self.skipped}, indent=1))

    @property
    def ckpt_path(self) -> Path:
        return self.out / "ckpt.pt"

    def save(self) -> None:
        import torch

        atomic_torch_save({
            "G": self.G.state_dict(), "G_ema": self.G_ema.state_dict(), "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "step": self.step, "elapsed": self.elapsed, "torch_rng": torch.get_rng_state(),
            "np_rng": json.dumps(self.rng.bit_generator.state), "config": json.dumps(asdict(self.cfg)),
        }, self.ckpt_path)

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

    def _autocast(self):
        import contextlib

        import torch

        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp)

    def train_step(self) -> dict[str, float]:
        import torch
        import torch.nn.functional as F

        from ..archs.colorizer_arch import rgb_to_ycbcr

        cfg = self.cfg
        crops = random_crops(self.images, self.rng, cfg.batch, cfg.patch, cfg.min_frac)
        rgb = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(255).to(self.device)
        y, c_real = rgb_to_ycbcr(rgb)
        adv = cfg.w_adv > 0 and self.step >= cfg.warmup_steps
        with self._autocast():
            c_fake = self.G(y).float()
        l_l1 = (c_fake - c_real).abs().mean() * 2
        loss = cfg.w_l1 * l_l1
        logs = {"l1": l_l1.item()}
        if adv:
            self.D.requires_grad_(False)
            with self._autocast():
                logit_f, _ = self.D(c_fake + 0.5, y)
            l_adv = F.softplus(-logit_f.float()).mean()
            loss = loss + cfg.w_adv * l_adv
            logs["adv"] = l_adv.item()
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        if adv:
            self.D.requires_grad_(True)
            with self._autocast():
                logit_r, _ = self.D(c_real + 0.5, y)
                logit_f, _ = self.D(c_fake.detach() + 0.5, y)
            l_d = F.softplus(-logit_r.float()).mean() + F.softplus(logit_f.float()).mean()
            self.opt_d.zero_grad(set_to_none=True)
            l_d.backward()
            self.opt_d.step()
            logs["d"] = l_d.item()
        with torch.no_grad():
            for pe, p in zip(self.G_ema.parameters(), self.G.parameters()):
                pe.lerp_(p, 1 - cfg.ema)
        self.step += 1
        return logs

    def preview(self) -> Path | None:
        """luma | EMA prediction | truth for up to two held-out photos -> previews/step_N.jpg."""
        import torch

        from ..archs.colorizer_arch import rgb_to_ycbcr, ycbcr_to_rgb

        imgs = self.held_images[:2] or self.images[:2]
        rows = []
        s = self.cfg.preview_side
        for img in imgs:
            h, w = img.shape[:2]
            k = s / max(h, w)
            hh, ww = max(16, int(h * k) // 16 * 16), max(16, int(w * k) // 16 * 16)
            small = cv2.resize(img, (ww, hh), interpolation=cv2.INTER_AREA)
            rgb = torch.from_numpy(small).permute(2, 0, 1)[None].float().div(255).to(self.device)
            y, _ = rgb_to_ycbcr(rgb)
            with torch.no_grad(), self._autocast():
                c = self.G_ema(y).float()
            out = ycbcr_to_rgb(y, c).clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
            gray = np.repeat(y[0].permute(1, 2, 0).cpu().numpy(), 3, axis=2)
            row = np.concatenate([gray, out, small.astype(np.float32) / 255], axis=1)
            rows.append((row * 255 + 0.5).astype(np.uint8))
        if not rows:
            return None
        wmax = max(r.shape[1] for r in rows)
        grid = np.concatenate([np.pad(r, ((0, 0), (0, wmax - r.shape[1]), (0, 0))) for r in rows], axis=0)
        path = self.out / "previews" / f"step_{self.step:06d}.jpg"
        path.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        return path

    def fit(self, resume: bool = False, progress: ProgressBar | None = None,
            should_stop: Callable[[], bool] | None = None) -> dict:
        cfg = self.cfg
        if resume and self.ckpt_path.exists():
            self.load()
            self.log(f"resumed at step {self.step} ({self.elapsed / 60:.1f} min trained)")
        if self.skipped:
            self.log(f"skipped {len(self.skipped)} file(s): "
                     + ", ".join(f"{n} ({why})" for n, why in self.skipped[:5]))
        self.log(f"train photos {len(self.train_ids)}, holdout {self.holdout}, "
                 f"params G {sum(p.numel() for p in self.G.parameters())}, "
                 f"autocast {self.amp if self.amp is not None else 'off (fp32)'}, device {self.device}")
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
            if should_stop is not None and should_stop():
                break
            logs = self.train_step()
            self.elapsed = base_elapsed + time.monotonic() - start
            for k, v in logs.items():
                acc[k] = acc.get(k, 0.0) + v
            n += 1
            if progress is not None:
                progress.update(self.step, " ".join(f"{k}={v:.3f}" for k, v in logs.items()))
            if cfg.log_every and self.step % cfg.log_every == 0:
                msg = " ".join(f"{k}={v / n:.4f}" for k, v in acc.items())
                self.log(f"step {self.step} t={self.elapsed / 60:.1f}min "
                         f"{(time.monotonic() - t_log) / max(1, n):.3f}s/it {msg}")
                acc, n = {}, 0
                t_log = time.monotonic()
            if cfg.ckpt_minutes and time.monotonic() - last_ckpt >= cfg.ckpt_minutes * 60:
                self.save()
                self.preview()
                last_ckpt = time.monotonic()
        self.save()
        prev = self.preview()
        if progress is not None:
            progress.close()
        self.log(f"done: step {self.step}, {self.elapsed / 60:.1f} min trained; checkpoint {self.ckpt_path}")
        return {"step": self.step, "elapsed_s": round(self.elapsed, 1), "checkpoint": str(self.ckpt_path),
                "preview": str(prev) if prev else None, "skipped": len(self.skipped),
                "holdout": self.holdout}


def train(cfg: ColorizeConfig, resume: bool = False, log: Callable[[str], None] = print,
          progress: ProgressBar | None = None) -> dict:
    return ColorizeTrainer(cfg, log).fit(resume=resume, progress=progress)


def export(run_dir: str | Path, out_file: str | Path, half: bool = True, use_ema: bool = True) -> dict:
    """Write the (EMA) generator of a run as safetensors (config in the metadata)."""
    import torch
    from safetensors.torch import save_file

    state = torch.load(Path(run_dir) / "ckpt.pt", map_location="cpu", weights_only=True)
    cfg = json.loads(state["config"])
    dtype = torch.float16 if half else torch.float32
    sd = {k: v.detach().to(dtype).contiguous() for k, v in state["G_ema" if use_ema else "G"].items()}
    meta = {"arch": ARCH, "base": str(cfg["base"]), "mid_blocks": str(cfg["mid_blocks"]),
            "step": str(state["step"]), "elapsed_s": f"{state['elapsed']:.0f}",
            "dtype": "float16" if half else "float32"}
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_suffix(".tmp")
    save_file(sd, str(tmp), metadata=meta)
    os.replace(tmp, out_file)
    return {"file": str(out_file), "bytes": out_file.stat().st_size, **meta}


# --- CLI (discovered by commands/train.py: ``ganstudio train colorize`` / ``colorize-export``) -----

def register_cli(subparsers: argparse._SubParsersAction) -> None:
    q = subparsers.add_parser("colorize", help="train the built-in colouriser (GSColorizer)")
    q.add_argument("--data", required=True, help="folder of training photos")
    q.add_argument("--out", required=True, help="run folder (checkpoints, previews, holdout.json)")
    q.add_argument("--resume", action="store_true", help="continue from RUN_DIR/ckpt.pt")
    q.add_argument("--minutes", type=float, default=50.0, help="wall-clock budget of this session")
    q.add_argument("--steps", type=int, default=0, help="stop at this total step (0 = no limit)")
    q.add_argument("--holdout", type=int, default=7, help="photos held out for evaluation")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--batch", type=int, default=8)
    q.add_argument("--patch", type=int, default=128)
    q.add_argument("--base", type=int, default=32, help="generator width")
    q.add_argument("--mid-blocks", type=int, default=2)
    q.add_argument("--warmup-steps", type=int, default=1500, help="L1-only steps before the GAN loss")
    q.add_argument("--w-adv", type=float, default=0.01)
    q.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    q.add_argument("--ckpt-minutes", type=float, default=3.0)
    q.add_argument("--log-every", type=int, default=50)
    q.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    q.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    q.add_argument("--progress", action="store_true", help="show a progress bar (needs --steps)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(train_handler=_cli_train)

    e = subparsers.add_parser("colorize-export", help="export a colouriser run as safetensors")
    e.add_argument("--run", required=True)
    e.add_argument("-o", "--output", required=True)
    e.add_argument("--fp32", action="store_true", help="store fp32 weights (default fp16)")
    e.add_argument("--raw", action="store_true", help="export the raw generator, not the EMA")
    e.add_argument("--json", action="store_true")
    e.set_defaults(train_handler=_cli_export)


def _cli_train(args: argparse.Namespace) -> int:
    from .data import pick_device

    if not Path(args.data).is_dir():
        raise ValueError(f"--data {args.data} is not a folder")
    cfg = ColorizeConfig(
        data=args.data, out=args.out, minutes=args.minutes, steps=args.steps, holdout=args.holdout,
        seed=args.seed, batch=args.batch, patch=args.patch, base=args.base, mid_blocks=args.mid_blocks,
        warmup_steps=args.warmup_steps, w_adv=args.w_adv, precision=args.precision,
        ckpt_minutes=args.ckpt_minutes, log_every=args.log_every, threads=args.threads,
        device=pick_device(args.device))
    log = (lambda s: None) if args.json else (lambda s: print(s, flush=True))
    bar = ProgressBar(args.steps) if (args.progress and args.steps and not args.json) else None
    res = train(cfg, resume=args.resume, log=log, progress=bar)
    if args.json:
        print(json.dumps({"ok": True, **res}))
    return 0


def _cli_export(args: argparse.Namespace) -> int:
    if not (Path(args.run) / "ckpt.pt").exists():
        raise ValueError(f"no checkpoint in {args.run}")
    res = export(args.run, args.output, half=not args.fp32, use_ema=not args.raw)
    print(json.dumps({"ok": True, **res}) if args.json else f"wrote {res['file']} ({res['bytes']} bytes)")
    return 0
