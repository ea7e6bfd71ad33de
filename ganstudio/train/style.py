"""Train your own style: ``ganstudio train style --photos DIR --style DIR --name NAME``.

Unpaired image-to-image translation photo -> style. Methods (``--method``):

* ``fastcut`` (default): FastCUT (Park et al. 2020, "Contrastive Learning for Unpaired
  Image-to-Image Translation"): ONE generator, one discriminator, and a PatchNCE loss that ties
  each patch of the output to the same patch of the input in the generator's own encoder
  features (5 layers, 256 sampled patches each, 2-layer MLP heads, temperature 0.07, weight 10);
  no identity NCE term, no inverse generator. Measured 2-3x more iterations per second than
  CycleGAN on the same generator (benchmarks in the model card / report).
* ``cut``: CUT (the same, plus the identity PatchNCE term on style images; weight 1 each).
* ``cyclegan``: CycleGAN (Zhu et al. 2017): two generators, two discriminators, cycle loss 10,
  identity 0.5 x 10.

Generator: the official CycleGAN ResnetGenerator of ``archs/cyclegan_arch.py`` (instance norm,
official parameter names; ``--ngf`` / ``--blocks``; 32 / 6 by default for CPU training), so the
result is an ordinary ``cyclegan_resnet`` model for the Style task. Discriminator: the
spectral-norm PatchGAN of ``archs/inpaint_patchgan_arch.py`` (3 input channels), LSGAN loss.
Adam 2e-4 (betas 0.5 / 0.999), constant rate.

Data: random square crops (50-100 % of the short side, resized to ``--size`` px, mirrored) of
every image of both folders (kept in memory at long side 2 x size). Broken, non-image and tiny
files are skipped and counted; a folder with fewer than ``MIN_IMAGES`` usable images is a clear
error. Gray / 16-bit / alpha images are read as 8-bit RGB.

Run folder (``--out``, default ``<user data>/training/style-<name>``): ``ckpt.pt`` every
``--ckpt-minutes`` (atomic; generator(s), discriminator(s), heads, optimisers, step, time, RNG
states: ``--resume`` continues), ``previews/step_NNNNNN.jpg`` every ``--preview-every`` steps
(photos | their stylised versions), ``run.json``. A text progress bar with rate and ETA goes to
stderr. At the end the photo -> style generator is written as safetensors (official keys) and
registered as the user model ``user.style-<name>`` (task ``style_transfer``, arch
``cyclegan_resnet``): it appears at once in the Style panel and in ``ganstudio stylize --model``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .data import (FolderImages, ProgressBar, atomic_torch_save, autocast_dtype, load_folder,
                   pick_device, random_crops)

METHODS = ("fastcut", "cut", "cyclegan")
MIN_IMAGES = 2
NCE_LAYERS = (0, 4, 7, 10, 14)   # input, 1st / 2nd downsampling conv, resnet blocks 1 and 5


def slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not s:
        raise ValueError(f"--name {name!r} needs at least one letter or digit")
    return s[:48]


def model_id_for(name: str) -> str:
    return f"user.style-{slug(name)}"


def default_run_dir(name: str) -> Path:
    from .. import paths

    return paths.user_data_dir() / "training" / f"style-{slug(name)}"


@dataclass
class StyleConfig:
    photos: str
    style: str
    name: str
    out: str = ""                  # "" = default_run_dir(name)
    method: str = "fastcut"
    steps: int = 3000              # total steps (0 = until the time budget ends)
    minutes: float = 0.0           # wall-clock budget of this session (0 = none)
    size: int = 256
    batch: int = 1
    ngf: int = 32
    n_blocks: int = 6
    ndf: int = 32
    lr: float = 2e-4
    lambda_nce: float = 10.0
    nce_t: float = 0.07
    num_patches: int = 256
    lambda_cycle: float = 10.0
    lambda_idt: float = 0.5
    seed: int = 0
    precision: str = "auto"        # auto | fp32 | bf16
    ckpt_minutes: float = 3.0
    preview_every: int = 250
    log_every: int = 50
    threads: int = 0               # 0 = torch's default
    device: str = "cpu"
    register: bool = True          # register the result as a user model at the end
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r} ({', '.join(METHODS)})")
        if self.size < 64 or self.size % 4:
            raise ValueError("--size must be a multiple of 4, at least 64")
        if self.n_blocks < 5:
            raise ValueError("--blocks must be at least 5 (PatchNCE uses resnet block 5)")
        if not self.out:
            self.out = str(default_run_dir(self.name))


def _load_domain(folder: str, what: str, size: int) -> FolderImages:
    if not Path(folder).is_dir():
        raise ValueError(f"--{what} {folder} is not a folder")
    imgs = load_folder(folder, long_side=2 * size, min_side=32)
    if len(imgs.images) < MIN_IMAGES:
        raise ValueError(f"--{what} {folder}: {len(imgs.images)} usable image(s), at least {MIN_IMAGES} "
                         f"needed ({len(imgs.skipped)} skipped: "
                         + (", ".join(f"{n} ({why})" for n, why in imgs.skipped[:5]) or "none") + ")")
    return imgs


def patch_nce(feat_q, feat_k, tau: float):
    """PatchNCE: each query patch's positive is the key at the same place, the other sampled
    patches of the same image are negatives. feat_*: (N, P, C), L2-normalised."""
    import torch
    import torch.nn.functional as F

    n, p, _ = feat_q.shape
    feat_k = feat_k.detach()
    l_pos = (feat_q * feat_k).sum(-1, keepdim=True)                   # N, P, 1
    l_neg = torch.bmm(feat_q, feat_k.transpose(1, 2))                 # N, P, P
    eye = torch.eye(p, dtype=torch.bool, device=feat_q.device)[None]
    l_neg = l_neg.masked_fill(eye, -10.0)
    logits = torch.cat([l_pos, l_neg], dim=2).flatten(0, 1) / tau
    target = torch.zeros(n * p, dtype=torch.long, device=feat_q.device)
    return F.cross_entropy(logits, target)


def _heads(channels: list[int], dim: int = 256):
    from torch import nn

    return nn.ModuleList(nn.Sequential(nn.Linear(c, dim), nn.ReLU(), nn.Linear(dim, dim)) for c in channels)


def encode(gen, x, layers=NCE_LAYERS):
    """Features of ``gen.model`` after each layer index in ``layers``."""
    feats = []
    h = x
    last = max(layers)
    for i, layer in enumerate(gen.model):
        h = layer(h)
        if i in layers:
            feats.append(h)
        if i == last:
            break
    return feats


class StyleTrainer:
    def __init__(self, cfg: StyleConfig, log: Callable[[str], None] = print) -> None:
        import torch

        from ..archs.cyclegan_arch import ResnetGenerator
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
        self.A = _load_domain(cfg.photos, "photos", cfg.size)
        self.B = _load_domain(cfg.style, "style", cfg.size)
        self.skipped = {"photos": self.A.skipped, "style": self.B.skipped}
        g_kw = dict(ngf=cfg.ngf, n_blocks=cfg.n_blocks, norm="instance")
        self.G = ResnetGenerator(**g_kw).to(self.device)
        self.D = InpaintPatchGAN(in_ch=3, base=cfg.ndf).to(self.device)
        params_g = list(self.G.parameters())
        params_d = list(self.D.parameters())
        self.H = None
        self.G_B = self.D_A = None
        if cfg.method in ("fastcut", "cut"):
            with torch.no_grad():
                chans = [f.shape[1] for f in encode(self.G, torch.zeros(1, 3, 64, 64, device=self.device))]
            self.H = _heads(chans).to(self.device)
            params_g += list(self.H.parameters())
        else:
            self.G_B = ResnetGenerator(**g_kw).to(self.device)
            self.D_A = InpaintPatchGAN(in_ch=3, base=cfg.ndf).to(self.device)
            params_g += list(self.G_B.parameters())
            params_d += list(self.D_A.parameters())
        self.opt_g = torch.optim.Adam(params_g, lr=cfg.lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(params_d, lr=cfg.lr, betas=(0.5, 0.999))
        self.step = 0
        self.elapsed = 0.0
        self.gen_kwargs = dict(input_nc=3, output_nc=3, **g_kw)
        # fixed preview inputs: centre crops of up to 3 photos
        self.preview_inputs = []
        for img in self.A.images[:3]:
            h, w = img.shape[:2]
            s = min(h, w)
            crop = img[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
            self.preview_inputs.append(cv2.resize(crop, (cfg.size, cfg.size), interpolation=cv2.INTER_AREA))

    # --- state -------------------------------------------------------------------------------
    @property
    def ckpt_path(self) -> Path:
        return self.out / "ckpt.pt"

    def _modules(self) -> dict:
        mods = {"G": self.G, "D": self.D}
        if self.H is not None:
            mods["H"] = self.H
        if self.G_B is not None:
            mods.update(G_B=self.G_B, D_A=self.D_A)
        return mods

    def save(self) -> None:
        import torch

        state = {k: m.state_dict() for k, m in self._modules().items()}
        state.update(opt_g=self.opt_g.state_dict(), opt_d=self.opt_d.state_dict(), step=self.step,
                     elapsed=self.elapsed, torch_rng=torch.get_rng_state(),
                     np_rng=json.dumps(self.rng.bit_generator.state), config=json.dumps(asdict(self.cfg)))
        atomic_torch_save(state, self.ckpt_path)

    def load(self) -> None:
        import torch

        state = torch.load(self.ckpt_path, map_location=self.device, weights_only=True)
        saved = json.loads(state["config"])
        for k in ("method", "ngf", "n_blocks", "ndf", "size"):
            if saved.get(k) != getattr(self.cfg, k):
                raise ValueError(f"the run in {self.out} was started with {k}={saved.get(k)!r}, "
                                 f"not {getattr(self.cfg, k)!r}; use the same settings or another --out")
        for k, m in self._modules().items():
            m.load_state_dict(state[k])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step = int(state["step"])
        self.elapsed = float(state["elapsed"])
        torch.set_rng_state(state["torch_rng"])
        self.rng.bit_generator.state = json.loads(state["np_rng"])

    def _autocast(self):
        import torch

        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp)

    def _batch(self, dom: FolderImages):
        import torch

        crops = random_crops(dom.images, self.rng, self.cfg.batch, self.cfg.size, min_frac=0.5)
        return torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(127.5).sub_(1).to(self.device)

    @staticmethod
    def _d(disc, x):
        import torch

        logits, _ = disc((x + 1) * 0.5, x.new_zeros((x.shape[0], 0, x.shape[2], x.shape[3])))
        return logits.float()

    def _nce(self, src, dst) -> "torch.Tensor":  # noqa: F821
        import torch
        import torch.nn.functional as F

        cfg = self.cfg
        feat_k = encode(self.G, src)
        feat_q = encode(self.G, dst)
        total = 0.0
        for fq, fk, head in zip(feat_q, feat_k, self.H):
            n, c, h, w = fk.shape
            p = min(cfg.num_patches, h * w)
            idx = torch.from_numpy(self.rng.permutation(h * w)[:p]).to(fk.device)
            sq = fq.flatten(2).transpose(1, 2)[:, idx].float()
            sk = fk.flatten(2).transpose(1, 2)[:, idx].float()
            q = F.normalize(head(sq), dim=-1)
            k = F.normalize(head(sk), dim=-1)
            total = total + patch_nce(q, k, cfg.nce_t)
        return total / len(self.H)

    # --- one step ----------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        import torch
        import torch.nn.functional as F

        cfg = self.cfg
        real_a = self._batch(self.A)
        real_b = self._batch(self.B)
        logs: dict[str, float] = {}
        if cfg.method in ("fastcut", "cut"):
            with self._autocast():
                if cfg.method == "cut":
                    both = self.G(torch.cat([real_a, real_b]))
                    fake_b, idt_b = both[:real_a.shape[0]], both[real_a.shape[0]:]
                else:
                    fake_b, idt_b = self.G(real_a), None
                # D
                self.D.requires_grad_(True)
                d_real = self._d(self.D, real_b)
                d_fake = self._d(self.D, fake_b.detach())
            l_d = 0.5 * (F.mse_loss(d_real, torch.ones_like(d_real)) + F.mse_loss(d_fake, torch.zeros_like(d_fake)))
            self.opt_d.zero_grad(set_to_none=True)
            l_d.backward()
            self.opt_d.step()
            # G
            self.D.requires_grad_(False)
            with self._autocast():
                d_fake = self._d(self.D, fake_b)
                l_gan = F.mse_loss(d_fake, torch.ones_like(d_fake))
                l_nce = self._nce(real_a, fake_b)
                loss = l_gan + cfg.lambda_nce * l_nce
                if idt_b is not None:
                    l_idt = self._nce(real_b, idt_b)
                    loss = l_gan + cfg.lambda_nce * 0.5 * (l_nce + l_idt)
                    logs["nce_idt"] = float(l_idt.detach())
            self.opt_g.zero_grad(set_to_none=True)
            loss.float().backward()
            self.opt_g.step()
            logs.update(d=l_d.item(), gan=l_gan.item(), nce=float(l_nce.detach()))
        else:
            with self._autocast():
                fake_b = self.G(real_a)
                fake_a = self.G_B(real_b)
                rec_a = self.G_B(fake_b)
                rec_b = self.G(fake_a)
                idt_a = self.G(real_b)
                idt_b = self.G_B(real_a)
                self.D.requires_grad_(False)
                self.D_A.requires_grad_(False)
                pb = self._d(self.D, fake_b)
                pa = self._d(self.D_A, fake_a)
                l_gan = F.mse_loss(pb, torch.ones_like(pb)) + F.mse_loss(pa, torch.ones_like(pa))
                l_cyc = (rec_a.float() - real_a).abs().mean() + (rec_b.float() - real_b).abs().mean()
                l_idt = (idt_a.float() - real_b).abs().mean() + (idt_b.float() - real_a).abs().mean()
                loss = l_gan + cfg.lambda_cycle * l_cyc + cfg.lambda_cycle * cfg.lambda_idt * l_idt
            self.opt_g.zero_grad(set_to_none=True)
            loss.float().backward()
            self.opt_g.step()
            self.D.requires_grad_(True)
            self.D_A.requires_grad_(True)
            with self._autocast():
                rb, fb = self._d(self.D, real_b), self._d(self.D, fake_b.detach())
                ra, fa = self._d(self.D_A, real_a), self._d(self.D_A, fake_a.detach())
            l_d = 0.5 * (F.mse_loss(rb, torch.ones_like(rb)) + F.mse_loss(fb, torch.zeros_like(fb))
                         + F.mse_loss(ra, torch.ones_like(ra)) + F.mse_loss(fa, torch.zeros_like(fa)))
            self.opt_d.zero_grad(set_to_none=True)
            l_d.backward()
            self.opt_d.step()
            logs.update(d=l_d.item(), gan=l_gan.item(), cyc=l_cyc.item())
        self.step += 1
        return logs

    # --- previews / export -------------------------------------------------------------------
    def stylise(self, rgb: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float().div(127.5).sub(1)
        self.G.eval()
        try:
            with torch.no_grad(), self._autocast():
                y = self.G(x.to(self.device)).float()
        finally:
            self.G.train()
        return ((y[0].permute(1, 2, 0).cpu().numpy() + 1) * 127.5).clip(0, 255).round().astype(np.uint8)

    def preview(self) -> Path | None:
        if not self.preview_inputs:
            return None
        top = np.concatenate(self.preview_inputs, axis=1)
        bottom = np.concatenate([self.stylise(p) for p in self.preview_inputs], axis=1)
        path = self.out / "previews" / f"step_{self.step:06d}.jpg"
        path.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(np.concatenate([top, bottom], 0), cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
        return path

    def export(self, out_file: str | Path | None = None) -> Path:
        from safetensors.torch import save_file

        out_file = Path(out_file) if out_file else self.out / f"{slug(self.cfg.name)}.safetensors"
        sd = {k: v.detach().float().cpu().contiguous() for k, v in self.G.state_dict().items()}
        meta = {"arch": "cyclegan_resnet", "arch_kwargs": json.dumps(self.gen_kwargs),
                "method": self.cfg.method, "step": str(self.step), "elapsed_s": f"{self.elapsed:.0f}",
                "name": self.cfg.name, "trained_by": "ganstudio train style"}
        tmp = out_file.with_suffix(".tmp")
        save_file(sd, str(tmp), metadata=meta)
        os.replace(tmp, out_file)
        return out_file

    # --- loop --------------------------------------------------------------------------------
    def fit(self, resume: bool = False, progress: ProgressBar | None = None,
            should_stop: Callable[[], bool] | None = None,
            on_progress: Callable[[int, int, dict, Path | None], None] | None = None) -> dict:
        cfg = self.cfg
        if resume and self.ckpt_path.exists():
            self.load()
            self.log(f"resumed at step {self.step} ({self.elapsed / 60:.1f} min trained)")
        n_skip = len(self.A.skipped) + len(self.B.skipped)
        self.log(f"{cfg.method}: {len(self.A.images)} photos, {len(self.B.images)} style images "
                 f"({n_skip} file(s) skipped), {cfg.size} px crops, batch {cfg.batch}, "
                 f"G ngf {cfg.ngf} blocks {cfg.n_blocks}, device {self.device}, "
                 f"autocast {self.amp if self.amp is not None else 'off (fp32)'}")
        start = time.monotonic()
        base_elapsed = self.elapsed
        last_ckpt = start
        budget = cfg.minutes * 60.0
        stopped = False
        acc: dict[str, float] = {}
        n = 0
        t_log = start
        while True:
            if cfg.steps and self.step >= cfg.steps:
                break
            if budget and time.monotonic() - start >= budget:
                break
            if should_stop is not None and should_stop():
                stopped = True
                break
            logs = self.train_step()
            self.elapsed = base_elapsed + time.monotonic() - start
            for k, v in logs.items():
                acc[k] = acc.get(k, 0.0) + v
            n += 1
            prev = None
            if cfg.preview_every and self.step % cfg.preview_every == 0:
                prev = self.preview()
            if progress is not None:
                progress.update(self.step, " ".join(f"{k}={v:.3f}" for k, v in logs.items()))
            if on_progress is not None:
                on_progress(self.step, cfg.steps, logs, prev)
            if cfg.log_every and self.step % cfg.log_every == 0:
                self.log(f"step {self.step} t={self.elapsed / 60:.1f}min "
                         f"{n / max(1e-9, time.monotonic() - t_log):.3f} it/s "
                         + " ".join(f"{k}={v / n:.4f}" for k, v in acc.items()))
                acc, n = {}, 0
                t_log = time.monotonic()
            if cfg.ckpt_minutes and time.monotonic() - last_ckpt >= cfg.ckpt_minutes * 60:
                self.save()
                last_ckpt = time.monotonic()
        self.save()
        prev = self.preview()
        if progress is not None:
            progress.close()
        finished = not stopped and (not cfg.steps or self.step >= cfg.steps)
        res = {"name": cfg.name, "method": cfg.method, "step": self.step, "steps": cfg.steps,
               "elapsed_s": round(self.elapsed, 1), "finished": finished, "run_dir": str(self.out),
               "checkpoint": str(self.ckpt_path), "preview": str(prev) if prev else None,
               "skipped": {"photos": len(self.A.skipped), "style": len(self.B.skipped)},
               "images": {"photos": len(self.A.images), "style": len(self.B.images)}}
        if not stopped:
            weights = self.export()
            res["weights"] = str(weights)
            if cfg.register:
                res["model_id"] = register_style(weights, cfg.name, self.gen_kwargs, cfg.method,
                                                 self.step)
        (self.out / "run.json").write_text(json.dumps(res, indent=1))
        self.log(f"{'done' if finished else 'stopped'}: step {self.step}, {self.elapsed / 60:.1f} min; "
                 + (f"model {res['model_id']}" if res.get("model_id") else f"checkpoint {self.ckpt_path}"))
        return res


def register_style(weights: str | Path, name: str, gen_kwargs: dict, method: str = "", steps: int = 0,
                   store=None) -> str:
    """Install ``weights`` as the user model ``user.style-<name>`` (task style_transfer, arch
    cyclegan_resnet) in the model store; an older version of the same name is replaced."""
    from ..models.store import default_store

    store = store or default_store()
    mid = model_id_for(name)
    store.import_file(weights, mid)
    facts = {"task": "style_transfer", "arch": "cyclegan_resnet", "arch_kwargs": dict(gen_kwargs),
             "name": f"{name} (your style)", "licence": "your own (trained with ganstudio train style)",
             "origin": f"ganstudio train style ({method}, {steps} steps)", "input": {"range": "-1..1"},
             "user_style": True}
    writer = getattr(store, "set_user_facts", None)        # platform API when it exists
    if callable(writer):
        writer(mid, facts)
    else:
        man = store.manifest(mid) or {}
        man.update(facts)
        p = store.model_dir(mid) / "manifest.json"
        tmp = p.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(man, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, p)
    return mid


def train(cfg: StyleConfig, resume: bool = False, log: Callable[[str], None] = print,
          progress: ProgressBar | None = None, should_stop: Callable[[], bool] | None = None,
          on_progress=None) -> dict:
    return StyleTrainer(cfg, log).fit(resume=resume, progress=progress, should_stop=should_stop,
                                      on_progress=on_progress)


# --- CLI (discovered by commands/train.py) -------------------------------------------------------

def register_cli(subparsers: argparse._SubParsersAction) -> None:
    q = subparsers.add_parser("style", help="train your own style (photos -> style images)",
                              description="Unpaired photo -> style training (FastCUT by default). "
                                          "The result is registered as the user model user.style-NAME.")
    q.add_argument("--photos", required=True, help="folder of photos (the content domain)")
    q.add_argument("--style", required=True, help="folder of images in the target style")
    q.add_argument("--name", required=True, help="name of the style (model id user.style-NAME)")
    q.add_argument("--out", default="", help="run folder (default: <user data>/training/style-NAME)")
    q.add_argument("--resume", action="store_true", help="continue the run in the run folder")
    q.add_argument("--method", choices=METHODS, default="fastcut")
    q.add_argument("--steps", type=int, default=3000, help="total steps (0 = until --minutes ends)")
    q.add_argument("--minutes", type=float, default=0.0, help="wall-clock budget of this session (0 = none)")
    q.add_argument("--size", type=int, default=256, help="crop size in px (default 256)")
    q.add_argument("--batch", type=int, default=1)
    q.add_argument("--ngf", type=int, default=32, help="generator width (official: 64)")
    q.add_argument("--blocks", type=int, default=6, help="resnet blocks (official: 9)")
    q.add_argument("--lambda-nce", type=float, default=10.0)
    q.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    q.add_argument("--ckpt-minutes", type=float, default=3.0)
    q.add_argument("--preview-every", type=int, default=250)
    q.add_argument("--log-every", type=int, default=50)
    q.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = all)")
    q.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--no-register", action="store_true", help="do not register the result as a model")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.add_argument("--progress-json", action="store_true",
                   help="one JSON line per step on stdout (the window's Train style dialog reads it)")
    q.add_argument("--json", action="store_true")
    q.set_defaults(train_handler=_cli_train)


STOP_FILE = "STOP"   # create RUN_DIR/STOP (or send SIGTERM / Ctrl+C): checkpoint and stop


def _stop_checker(run_dir: Path):
    """should_stop(): a STOP file in the run folder, SIGTERM or SIGINT. Stopping saves a
    checkpoint; ``--resume`` continues."""
    import signal

    flag = {"stop": False}
    stop_file = run_dir / STOP_FILE
    stop_file.unlink(missing_ok=True)

    def handler(signum, frame):  # noqa: ANN001
        flag["stop"] = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):   # not the main thread
            pass

    def should_stop() -> bool:
        return flag["stop"] or stop_file.exists()

    return should_stop


def _cli_train(args: argparse.Namespace) -> int:
    cfg = StyleConfig(
        photos=args.photos, style=args.style, name=args.name, out=args.out, method=args.method,
        steps=args.steps, minutes=args.minutes, size=args.size, batch=args.batch, ngf=args.ngf,
        n_blocks=args.blocks, lambda_nce=args.lambda_nce, precision=args.precision,
        ckpt_minutes=args.ckpt_minutes, preview_every=args.preview_every, log_every=args.log_every,
        threads=args.threads, device=pick_device(args.device), seed=args.seed,
        register=not args.no_register)
    if not cfg.steps and not cfg.minutes:
        raise ValueError("give --steps or --minutes")
    quiet = args.json or args.quiet or args.progress_json
    if args.progress_json:
        def log(s: str) -> None:
            print(json.dumps({"log": s}), flush=True)
    else:
        log = (lambda s: None) if args.json else (lambda s: print(s, flush=True))
    bar = None if quiet or not cfg.steps else ProgressBar(cfg.steps)
    first: dict = {}

    def on_progress(step: int, total: int, logs: dict, preview) -> None:  # noqa: ANN001
        if not args.progress_json:
            return
        if not first:
            first.update(step=step, t=time.monotonic())
        el = time.monotonic() - first["t"]
        rate = (step - first["step"]) / el if el > 0 and step > first["step"] else 0.0
        eta = (total - step) / rate if total and rate > 0 else None
        print(json.dumps({"step": step, "total": total, "it_s": round(rate, 4),
                          "eta_s": round(eta, 1) if eta is not None else None,
                          "losses": {k: round(v, 4) for k, v in logs.items()},
                          "preview": str(preview) if preview else None}), flush=True)

    res = train(cfg, resume=args.resume, log=log, progress=bar,
                should_stop=_stop_checker(Path(cfg.out)), on_progress=on_progress)
    if args.json or args.progress_json:
        print(json.dumps({"ok": True, "result": res} if args.progress_json else {"ok": True, **res}),
              flush=True)
    return 0
