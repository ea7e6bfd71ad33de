"""Training loop of the built-in scene painter (SceneCompact) - ``ganstudio train scene``.

Data: the landscape / sky / vegetation photos of the pool (``scene_labeller.SCENE_IDS``, found in
``--data`` by their id prefix; with ``--all`` every photo of the folder) with label maps made by the
automatic labeller (``scene_labeller.label_photo``, category tags from ``--tsv``). Photos in
``scene_labeller.HOLDOUT_IDS`` are never trained on. The label maps are written to
``RUN_DIR/labels/`` (overlays to check by eye).

Batches: for each sample a photo (class-balanced: photo weight = its class fractions times
1/sqrt(global class fraction), so water / grass photos come more often), a random scale (long side ``long_min``..``long_max`` px), a random
``patch`` x ``patch`` crop of photo + labels (labels resized nearest), random horizontal flip.

Losses (as SPADE, with a cheap reconstruction term instead of the VGG loss): hinge GAN loss from a
2-scale PatchGAN on [image, one-hot]; discriminator feature matching (``w_fm``); L1 between 1/8
average-pooled fake and real (``w_low``: colours and layout follow the photo, texture is left to the
GAN). Adam (G ``lr_g``, D ``lr_d``; betas 0 / 0.9 as SPADE's TTUR). An EMA of G (decay
min(``ema``, (1 + t) / (10 + t)): a warm-up, so short runs do not keep the init) is exported.

Checkpoints (``ckpt.pt``, atomic) every ``--ckpt-minutes`` hold G, EMA, D, both optimisers, the
step, time and RNG states; ``--resume`` continues. Every checkpoint also writes
``RUN_DIR/preview.png`` (EMA generator on fixed held-out label maps).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from . import scene_labeller as SL
from .data import atomic_torch_save, pick_device, rng_state


@dataclass
class SceneTrainConfig:
    data: str
    out: str
    tsv: str = ""
    minutes: float = 60.0
    steps: int = 0
    seed: int = 0
    batch: int = 4
    patch: int = 128
    long_min: int = 256
    long_max: int = 512
    ngf: int = 16
    z_ch: int = 16
    lr_g: float = 2e-4
    lr_d: float = 4e-4
    w_fm: float = 10.0
    w_low: float = 5.0
    ema: float = 0.999
    ckpt_minutes: float = 4.0
    log_every: int = 25
    threads: int = 1
    device: str = "cpu"
    precision: str = "fp32"
    all_photos: bool = False
    arch: str = "compact"           # "compact" (SceneCompact) | "exemplar" (SceneExemplar + bank)
    w_guide: float = 2.0            # exemplar: L1 weight of the output against its guide collage


def scene_photos(data: Path, all_photos: bool = False) -> tuple[list[Path], list[Path]]:
    from .inpaint import list_photos, photo_id

    photos = list_photos(Path(data))
    if not all_photos:
        photos = [p for p in photos if photo_id(p) in SL.SCENE_IDS]
    held = set(SL.HOLDOUT_IDS)
    return [p for p in photos if photo_id(p) not in held], [p for p in photos if photo_id(p) in held]


def one_hot(labels, n: int):
    import torch
    import torch.nn.functional as F

    return F.one_hot(labels.long().clamp(0, n - 1), n).permute(0, 3, 1, 2).float()


class SceneSampler:
    def __init__(self, images: list[np.ndarray], labels: list[np.ndarray], cfg: SceneTrainConfig,
                 rng: np.random.Generator) -> None:
        self.images, self.labels, self.cfg, self.rng = images, labels, cfg, rng
        # class-balanced photo choice: photos showing rare classes (water, grass) come more often
        n = len(SL.BUILTIN_CLASSES)
        fr = np.stack([np.bincount(lb.ravel(), minlength=n) / lb.size for lb in labels])
        rarity = 1.0 / np.sqrt(fr.mean(0) + 1e-3)
        wts = fr @ rarity
        self.p = wts / wts.sum()

    def sample(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        p = self.cfg.patch
        imgs = np.empty((batch, p, p, 3), np.uint8)
        labs = np.empty((batch, p, p), np.uint8)
        for i in range(batch):
            k = int(self.rng.choice(len(self.images), p=self.p))
            img, lab = self.images[k], self.labels[k]
            h, w = img.shape[:2]
            side = int(self.rng.integers(self.cfg.long_min, self.cfg.long_max + 1))
            s = max(side / max(h, w), p / min(h, w))
            nw, nh = max(p, round(w * s)), max(p, round(h * s))
            im = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
            lb = cv2.resize(lab, (nw, nh), interpolation=cv2.INTER_NEAREST)
            y = int(self.rng.integers(0, nh - p + 1))
            x = int(self.rng.integers(0, nw - p + 1))
            im, lb = im[y:y + p, x:x + p], lb[y:y + p, x:x + p]
            if self.rng.random() < 0.5:
                im, lb = im[:, ::-1], lb[:, ::-1]
            imgs[i], labs[i] = im, lb
        return imgs, labs


class SceneTrainer:
    def __init__(self, cfg: SceneTrainConfig, log: Callable[[str], None] = print) -> None:
        import torch

        from ..archs.scene_compact_arch import SceneCompact, SceneMSDiscriminator
        from .inpaint import load_rgb, photo_id

        self.cfg, self.log = cfg, log
        self.out = Path(cfg.out)
        (self.out / "labels").mkdir(parents=True, exist_ok=True)
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        self.device = torch.device(cfg.device)
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        train, held = scene_photos(Path(cfg.data), cfg.all_photos)
        if not train:
            raise ValueError(f"no scene photos in {cfg.data} (ids {' '.join(SL.SCENE_IDS)}; or --all)")
        tags = SL.read_tags(cfg.tsv) if cfg.tsv else {}
        self.n_classes = len(SL.BUILTIN_CLASSES)
        imgs, labs = [], []
        for p in train:
            rgb = load_rgb(p, cfg.long_max)
            lab = SL.label_photo(rgb, tags.get(photo_id(p), set()))
            imgs.append(rgb)
            labs.append(lab)
            cv2.imwrite(str(self.out / "labels" / f"{photo_id(p)}.png"),
                        cv2.cvtColor(np.concatenate([rgb, SL.overlay(rgb, lab)], 1), cv2.COLOR_RGB2BGR))
        self.train_ids = [photo_id(p) for p in train]
        self.holdout = [photo_id(p) for p in held]
        # fixed preview label maps: the held-out photos' labels at 256 px
        self.preview_labels = []
        for p in held[:3]:
            rgb = load_rgb(p, 256)
            lab = SL.label_photo(rgb, tags.get(photo_id(p), set()))
            h, w = (lab.shape[0] // 16) * 16, (lab.shape[1] // 16) * 16
            self.preview_labels.append((rgb[:h, :w], lab[:h, :w]))
        self.sampler = SceneSampler(imgs, labs, cfg, self.rng)
        kw = dict(label_nc=self.n_classes, ngf=cfg.ngf, z_ch=cfg.z_ch)
        self.G = SceneCompact(**kw).to(self.device)
        self.G_ema = SceneCompact(**kw).to(self.device)
        self.G_ema.load_state_dict(self.G.state_dict())
        self.G_ema.requires_grad_(False)
        self.D = SceneMSDiscriminator(label_nc=self.n_classes).to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=(0.0, 0.9))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=(0.0, 0.9))
        self.step, self.elapsed = 0, 0.0
        self.ema_steps = 0
        from .data import autocast_dtype

        self.amp = autocast_dtype(cfg.device, cfg.precision)
        counts = np.bincount(np.concatenate([lb.ravel() for lb in labs]), minlength=self.n_classes)
        (self.out / "holdout.json").write_text(json.dumps({
            "holdout": self.holdout, "train": self.train_ids, "data": str(cfg.data),
            "class_fractions": {c: round(float(n) / counts.sum(), 4)
                                for c, n in zip(SL.BUILTIN_CLASSES, counts)}}, indent=1))

    @property
    def ckpt_path(self) -> Path:
        return self.out / "ckpt.pt"

    def save(self) -> None:
        import torch

        atomic_torch_save({
            "G": self.G.state_dict(), "G_ema": self.G_ema.state_dict(), "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "step": self.step, "elapsed": self.elapsed, "ema_steps": self.ema_steps, "torch_rng": torch.get_rng_state(),
            "np_rng": rng_state(self.rng), "config": json.dumps(asdict(self.cfg)),
            "classes": json.dumps(SL.BUILTIN_CLASSES)}, self.ckpt_path)
        self.preview()

    def load(self) -> None:
        import torch

        self._resume_state(torch.load(self.ckpt_path, map_location=self.device, weights_only=True))

    def _resume_state(self, st: dict) -> None:
        import torch

        self.G.load_state_dict(st["G"])
        self.G_ema.load_state_dict(st["G_ema"])
        self.D.load_state_dict(st["D"])
        self.opt_g.load_state_dict(st["opt_g"])
        self.opt_d.load_state_dict(st["opt_d"])
        self.step, self.elapsed = int(st["step"]), float(st["elapsed"])
        self.ema_steps = int(st.get("ema_steps", self.step))
        torch.set_rng_state(st["torch_rng"])
        self.rng.bit_generator.state = json.loads(st["np_rng"])

    def preview(self) -> None:
        import torch

        rows = []
        g = torch.Generator().manual_seed(1234)
        with torch.no_grad():
            for rgb, lab in self.preview_labels:
                seg = one_hot(torch.from_numpy(lab)[None], self.n_classes).to(self.device)
                cells = [rgb, SL.COLORS[lab]]
                for _ in range(2):
                    y = self.G_ema(seg, generator=g)
                    cells.append(((y[0].permute(1, 2, 0).cpu().numpy() + 1) * 127.5).clip(0, 255)
                                 .astype(np.uint8))
                row = np.concatenate([cv2.resize(c, (256 * c.shape[1] // c.shape[0], 256),
                                                 interpolation=cv2.INTER_NEAREST) for c in cells], 1)
                rows.append(row)
        if rows:
            wmax = max(r.shape[1] for r in rows)
            rows = [np.pad(r, ((0, 0), (0, wmax - r.shape[1]), (0, 0))) for r in rows]
            cv2.imwrite(str(self.out / "preview.png"), cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))

    def train_step(self) -> dict[str, float]:
        import contextlib

        import torch
        import torch.nn.functional as F

        cfg = self.cfg
        imgs, labs = self.sampler.sample(cfg.batch)
        real = torch.from_numpy(imgs).permute(0, 3, 1, 2).float().div(127.5).sub(1).to(self.device)
        seg = one_hot(torch.from_numpy(labs), self.n_classes).to(self.device)
        amp = (torch.autocast(self.device.type, dtype=self.amp) if self.amp is not None
               else contextlib.nullcontext())
        # generator
        self.D.requires_grad_(False)
        with amp:
            fake = self.G(seg)
            out_f = self.D(fake, seg)
            with torch.no_grad():
                out_r = self.D(real, seg)
            l_adv = sum(-o[-1].float().mean() for o in out_f) / len(out_f)
            l_fm = sum(F.l1_loss(a.float(), b.float().detach()) for of, orr in zip(out_f, out_r)
                       for a, b in zip(of[:-1], orr[:-1])) / len(out_f)
            l_low = F.l1_loss(F.avg_pool2d(fake.float(), 8), F.avg_pool2d(real, 8))
            loss_g = l_adv + cfg.w_fm * l_fm + cfg.w_low * l_low
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        # discriminator
        self.D.requires_grad_(True)
        with amp:
            out_f = self.D(fake.detach(), seg)
            out_r = self.D(real, seg)
            l_d = sum(F.relu(1 + f[-1].float()).mean() + F.relu(1 - r[-1].float()).mean()
                      for f, r in zip(out_f, out_r)) / len(out_f)
        self.opt_d.zero_grad(set_to_none=True)
        l_d.backward()
        self.opt_d.step()
        # EMA with a warm-up (short CPU runs: a plain 0.999 EMA would still remember the init)
        decay = min(cfg.ema, (1 + self.ema_steps) / (10 + self.ema_steps))
        self.ema_steps += 1
        with torch.no_grad():
            for pe, p in zip(self.G_ema.parameters(), self.G.parameters()):
                pe.lerp_(p, 1 - decay)
        self.step += 1
        return {k: float(v.detach()) for k, v in (("adv", l_adv), ("fm", l_fm), ("low", l_low), ("d", l_d))}

    def fit(self, resume: bool = False, reset_ema: bool = False, noise_floor: float = 0.0) -> dict:
        cfg = self.cfg
        if resume and self.ckpt_path.exists():
            self.load()
            self.log(f"resumed at step {self.step} ({self.elapsed / 60:.1f} min trained)")
        if noise_floor > 0:
            import torch

            with torch.no_grad():
                for blk in self.G.blocks:
                    ns = blk.noise_strength
                    ns.copy_(torch.where(ns.abs() < noise_floor, torch.full_like(ns, noise_floor), ns))
            self.log(f"noise strengths raised to >= {noise_floor} at step {self.step}")
        if reset_ema:
            self.G_ema.load_state_dict(self.G.state_dict())
            self.ema_steps = 0
            self.log(f"EMA restarted from G at step {self.step}")
        self.log(f"scene: train photos {len(self.train_ids)} {' '.join(self.train_ids)}; holdout "
                 f"{self.holdout}; G params {sum(p.numel() for p in self.G.parameters())}; "
                 f"precision {'fp32' if self.amp is None else str(self.amp)}")
        start = last_ckpt = t_log = time.monotonic()
        base = self.elapsed
        acc: dict[str, float] = {}
        n = 0
        while True:
            if cfg.steps and self.step >= cfg.steps:
                break
            if cfg.minutes and time.monotonic() - start >= cfg.minutes * 60:
                break
            logs = self.train_step()
            self.elapsed = base + time.monotonic() - start
            for k, v in logs.items():
                acc[k] = acc.get(k, 0.0) + v
            n += 1
            if cfg.log_every and self.step % cfg.log_every == 0:
                msg = " ".join(f"{k}={v / n:.4f}" for k, v in acc.items())
                self.log(f"step {self.step} t={self.elapsed / 60:.1f}min "
                         f"{(time.monotonic() - t_log) / max(1, n):.2f}s/it {msg}")
                acc, n, t_log = {}, 0, time.monotonic()
            if cfg.ckpt_minutes and time.monotonic() - last_ckpt >= cfg.ckpt_minutes * 60:
                self.save()
                last_ckpt = time.monotonic()
        self.save()
        self.log(f"done: step {self.step}, {self.elapsed / 60:.1f} min; checkpoint {self.ckpt_path}")
        return {"step": self.step, "elapsed_s": round(self.elapsed, 1), "checkpoint": str(self.ckpt_path)}


def train(cfg: SceneTrainConfig, resume: bool = False, log: Callable[[str], None] = print,
          reset_ema: bool = False, noise_floor: float = 0.0) -> dict:
    if cfg.arch == "exemplar":
        from .scene_exemplar import ExemplarSceneTrainer

        return ExemplarSceneTrainer(cfg, log).fit(resume=resume, reset_ema=reset_ema)
    if cfg.arch != "compact":
        raise ValueError(f"unknown scene architecture {cfg.arch!r} (compact, exemplar)")
    return SceneTrainer(cfg, log).fit(resume=resume, reset_ema=reset_ema, noise_floor=noise_floor)


def export(run_dir: str | Path, out_file: str | Path, half: bool = True, use_ema: bool = True) -> dict:
    """Write the (EMA) generator of a run as safetensors (config + classes in the metadata)."""
    import os

    import torch
    from safetensors.torch import save_file

    st = torch.load(Path(run_dir) / "ckpt.pt", map_location="cpu", weights_only=True)
    cfg = json.loads(st["config"])
    sd = st["G_ema" if use_ema else "G"]
    dtype = torch.float16 if half else torch.float32
    sd = {k: (v.detach().to(dtype) if v.is_floating_point() else v.detach()).contiguous()
          for k, v in sd.items()}
    arch = "scene_exemplar" if cfg.get("arch") == "exemplar" else "scene_compact"
    extra: dict[str, str] = {}
    if arch == "scene_exemplar":
        from .scene_exemplar import bank_ids

        held = json.loads((Path(run_dir) / "holdout.json").read_text())
        ids = bank_ids(held["train"])
        if len(ids) == sd["bank_labels"].shape[0]:
            extra = {"bank_ids": " ".join(ids)}
    meta = {"arch": arch, **extra, "label_nc": str(len(SL.BUILTIN_CLASSES)),
            "ngf": str(cfg["ngf"]), "z_ch": str(cfg["z_ch"]), "classes": st.get("classes", ""),
            "step": str(st["step"]), "elapsed_s": f"{st['elapsed']:.0f}",
            "dtype": "float16" if half else "float32"}
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_suffix(".tmp")
    save_file(sd, str(tmp), metadata=meta)
    os.replace(tmp, out_file)
    return {"file": str(out_file), "bytes": out_file.stat().st_size, **meta}


# --- CLI (discovered by commands/train.py: ``ganstudio train scene`` / ``scene-export``) ----------

def register_cli(subparsers: argparse._SubParsersAction) -> None:
    q = subparsers.add_parser("scene", help="train the built-in scene painter (SceneCompact)")
    q.add_argument("--data", required=True, help="folder of training photos (the photo pool)")
    q.add_argument("--tsv", default="", help="train_pool.tsv: category tags for the labeller")
    q.add_argument("--out", required=True, help="run folder (checkpoints, labels/, preview.png)")
    q.add_argument("--all", action="store_true", help="use every photo of --data, not the scene ids")
    q.add_argument("--resume", action="store_true", help="continue from RUN_DIR/ckpt.pt")
    q.add_argument("--reset-ema", action="store_true", help="restart the EMA generator from G")
    q.add_argument("--noise-floor", type=float, default=0.0,
                   help="raise the generator's per-channel noise strengths to at least this (resume)")
    q.add_argument("--minutes", type=float, default=60.0, help="wall-clock budget of this session")
    q.add_argument("--steps", type=int, default=0, help="stop at this total step (0 = no limit)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--batch", type=int, default=4)
    q.add_argument("--patch", type=int, default=128)
    q.add_argument("--ngf", type=int, default=16, help="generator width (compact)")
    q.add_argument("--arch", default="compact", choices=["compact", "exemplar"],
                   help="compact: SceneCompact; exemplar: SceneExemplar (refines a collage of real "
                        "photo texture from the exemplar bank it carries)")
    q.add_argument("--w-guide", type=float, default=2.0,
                   help="exemplar: L1 weight of the output against its guide collage")
    q.add_argument("--precision", default="fp32", choices=["auto", "fp32", "bf16"])
    q.add_argument("--ckpt-minutes", type=float, default=4.0)
    q.add_argument("--log-every", type=int, default=25)
    q.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    q.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    q.add_argument("--json", action="store_true")
    q.set_defaults(train_handler=_cli_train)

    e = subparsers.add_parser("scene-export", help="export a scene run as safetensors")
    e.add_argument("--run", required=True)
    e.add_argument("-o", "--output", required=True)
    e.add_argument("--fp32", action="store_true", help="store fp32 weights (default fp16)")
    e.add_argument("--raw", action="store_true", help="export the raw generator, not the EMA")
    e.add_argument("--json", action="store_true")
    e.set_defaults(train_handler=_cli_export)


def _cli_train(args: argparse.Namespace) -> int:
    if not Path(args.data).is_dir():
        raise ValueError(f"--data {args.data} is not a folder")
    if args.patch % 16:
        raise ValueError("--patch must be a multiple of 16")
    cfg = SceneTrainConfig(
        data=args.data, out=args.out, tsv=args.tsv, minutes=args.minutes, steps=args.steps,
        seed=args.seed, batch=args.batch, patch=args.patch, ngf=args.ngf, precision=args.precision,
        ckpt_minutes=args.ckpt_minutes, log_every=args.log_every, threads=args.threads,
        device=pick_device(args.device), all_photos=args.all, arch=args.arch, w_guide=args.w_guide)
    log = (lambda s: None) if args.json else (lambda s: print(s, flush=True))
    res = train(cfg, resume=args.resume, log=log, reset_ema=args.reset_ema, noise_floor=args.noise_floor)
    if args.json:
        print(json.dumps({"ok": True, **res}))
    return 0


def _cli_export(args: argparse.Namespace) -> int:
    if not (Path(args.run) / "ckpt.pt").exists():
        raise ValueError(f"no checkpoint in {args.run}")
    res = export(args.run, args.output, half=not args.fp32, use_ema=not args.raw)
    print(json.dumps({"ok": True, **res}) if args.json else f"wrote {res['file']} ({res['bytes']} bytes)")
    return 0
