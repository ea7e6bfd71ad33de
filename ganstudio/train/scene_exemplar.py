"""Training of the exemplar-guided built-in scene painter (``SceneExemplar``):
``ganstudio train scene --arch exemplar``.

Data: the same photos and automatic label maps as the compact model (``train.scene``), each cropped
to the bank's landscape frame (``scene_exemplar_bank.landscape_crop``, 256x384). These photos are
also the model's exemplar bank (shipped inside the weights file), except what ``BANK_SKIP``
lists (looked at by eye on collages: a macro shot of grass tiles into a fake lawn, a kite, a sun
flare, label errors).

A sample: photo ``k`` (class-balanced choice), its label map, and the guide collage of that label map
built from the *other* bank photos (``exclude={k}``: at use the painted map is new too). A random
``patch`` crop of all three, random horizontal flip.

Losses: hinge GAN from the 2-scale PatchGAN on [image, one-hot] (real: photo ``k``; fake: the
refined collage) + ``w_guide`` x L1(output, guide): the generator keeps the collage's real texture
and changes what the discriminator tells apart from a photo (seams between sources, the smooth
filled areas, light that does not match). No feature-matching or reconstruction loss against photo
``k``: its colours cannot be known from the labels. EMA of G (with warm-up) is exported.
Checkpoints and resume as ``train.scene``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from . import scene_labeller as SL
from .scene import SceneTrainConfig, SceneTrainer, one_hot

# (photo id, class id or None = every class) kept out of the exemplar bank
BANK_SKIP: tuple[tuple[str, int | None], ...] = (
    ("M24", None),                 # macro shot of grass blades: a fake lawn at landscape scale
    ("E05", None),                 # dark fog: its labels are a guess
    ("P21", None),                 # a kite in the middle of the sky
    ("M21", None),                 # beach grass stalks cross its sky and sea
    ("K06", SL.SKY),               # the castle's tower tips are labelled sky
    ("K06", SL.TREE),              # its "trees" hold pieces of the castle
    ("P07", SL.WATER),             # the dock fills most of its water box
    ("LA02", SL.SKY),              # its "sky" is the gaps between leaves: leaves float in skies
    ("LA14", SL.MOUNTAIN),         # the sun and its lens flare sit in the mountain band
    ("Q03", SL.MOUNTAIN),          # storm clouds labelled mountain
)

def bank_ids(train_ids: list[str]) -> list[str]:
    """The photo ids of the bank's entries, in order (whole photos in BANK_SKIP are left out)."""
    return [pid for pid in train_ids if (pid, None) not in BANK_SKIP]


def bank_from(images: list[np.ndarray], labels: list[np.ndarray], ids: list[str]
              ) -> tuple[np.ndarray, np.ndarray]:
    """Bank arrays (N, H, W, 3) / (N, H, W) from labelled photos; skipped classes become 'other'
    in the bank's labels only if a whole photo is not skipped (then it is left out)."""
    from ..archs.scene_exemplar_bank import landscape_crop

    out_i, out_l = [], []
    for img, lab, pid in zip(images, labels, ids):
        skip = {c for p, c in BANK_SKIP if p == pid}
        if None in skip:
            continue
        a, b = landscape_crop(img, lab)
        b = b.copy()
        for c in skip:
            b[b == c] = 255                   # no exemplar of that class here (255: not a class)
        out_i.append(a)
        out_l.append(b)
    return np.stack(out_i), np.stack(out_l)


class ExemplarSceneTrainer(SceneTrainer):
    def __init__(self, cfg: SceneTrainConfig, log: Callable[[str], None] = print) -> None:
        import torch

        from ..archs.scene_exemplar_arch import SceneExemplar
        from ..archs.scene_exemplar_bank import landscape_crop

        super().__init__(cfg, log)
        imgs, labs = self.sampler.images, self.sampler.labels
        frames = [landscape_crop(i, lb) for i, lb in zip(imgs, labs)]
        self.frames_img = np.stack([f[0] for f in frames])
        self.frames_lab = np.stack([f[1] for f in frames])
        bank_i, bank_l = bank_from(imgs, labs, self.train_ids)
        # photo index -> bank index (the bank skips whole photos listed in BANK_SKIP)
        kept = bank_ids(self.train_ids)
        self.bank_index = {i: kept.index(pid) for i, pid in enumerate(self.train_ids) if pid in kept}
        kw = dict(label_nc=self.n_classes, bank_size=len(bank_i))
        self.G = SceneExemplar(**kw).to(self.device)
        self.G.set_bank(bank_i, bank_l)
        self.G_ema = SceneExemplar(**kw).to(self.device)
        self.G_ema.load_state_dict(self.G.state_dict())
        self.G_ema.requires_grad_(False)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=(0.0, 0.9))
        # held-out previews at the bank's frame
        self.preview_frames = [landscape_crop(rgb, lab) for rgb, lab in self.preview_labels]
        self.log(f"exemplar bank: {len(bank_i)} photos ({bank_i.nbytes / 1e6:.1f} MB)")

    def load(self) -> None:
        """Resume: the weights, optimisers and RNG of the checkpoint; the exemplar bank is data, not
        learned, so it is always the one this code builds (``BANK_SKIP`` may have changed)."""
        import torch

        st = torch.load(self.ckpt_path, map_location=self.device, weights_only=True)
        for key in ("G", "G_ema"):
            for buf in ("bank_images", "bank_labels"):
                st[key][buf] = getattr(self.G, buf)
        self._resume_state(st)

    def sample(self, batch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = self.cfg.patch
        rng = self.rng
        imgs = np.empty((batch, p, p, 3), np.uint8)
        guides = np.empty((batch, p, p, 3), np.uint8)
        labs = np.empty((batch, p, p), np.uint8)
        for i in range(batch):
            k = int(rng.choice(len(self.frames_img), p=self.sampler.p))
            img, lab = self.frames_img[k], self.frames_lab[k]
            ex = frozenset({self.bank_index[k]}) if k in self.bank_index else frozenset()
            from ..archs.scene_exemplar_bank import compose

            guide = compose(lab, self.G.bank, rng, ex)
            h, w = lab.shape
            y = int(rng.integers(0, h - p + 1))
            x = int(rng.integers(0, w - p + 1))
            sl = (slice(y, y + p), slice(x, x + p))
            im, gd, lb = img[sl], guide[sl], lab[sl]
            if rng.random() < 0.5:
                im, gd, lb = im[:, ::-1], gd[:, ::-1], lb[:, ::-1]
            imgs[i], guides[i], labs[i] = im, gd, lb
        return imgs, guides, labs

    def train_step(self) -> dict[str, float]:
        import torch
        import torch.nn.functional as F

        cfg = self.cfg
        imgs, guides, labs = self.sample(cfg.batch)

        def t(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(a).permute(0, 3, 1, 2).float().div(127.5).sub(1).to(self.device)

        real, guide = t(imgs), t(guides)
        seg = one_hot(torch.from_numpy(labs), self.n_classes).to(self.device)
        amp = (torch.autocast(self.device.type, dtype=self.amp) if self.amp is not None
               else contextlib.nullcontext())
        self.D.requires_grad_(False)
        with amp:
            fake = self.G(seg, guide)
            out_f = self.D(fake, seg)
            l_adv = sum(-o[-1].float().mean() for o in out_f) / len(out_f)
            l_guide = F.l1_loss(fake.float(), guide)
            loss_g = l_adv + cfg.w_guide * l_guide
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self.D.requires_grad_(True)
        with amp:
            out_f = self.D(fake.detach(), seg)
            out_r = self.D(real, seg)
            l_d = sum(F.relu(1 + f[-1].float()).mean() + F.relu(1 - r[-1].float()).mean()
                      for f, r in zip(out_f, out_r)) / len(out_f)
        self.opt_d.zero_grad(set_to_none=True)
        l_d.backward()
        self.opt_d.step()
        decay = min(cfg.ema, (1 + self.ema_steps) / (10 + self.ema_steps))
        self.ema_steps += 1
        with torch.no_grad():
            for pe, p in zip(self.G_ema.parameters(), self.G.parameters()):
                pe.lerp_(p, 1 - decay)
        self.step += 1
        return {"adv": float(l_adv.detach()), "guide": float(l_guide.detach()), "d": float(l_d.detach())}

    def preview(self) -> None:
        import torch

        rows = []
        with torch.no_grad():
            for rgb, lab in self.preview_frames:
                seg = one_hot(torch.from_numpy(lab)[None], self.n_classes).to(self.device)
                cells = [rgb, SL.COLORS[lab]]
                for seed in range(2):
                    guide = self.G_ema.guide_for(lab, seed).to(self.device)
                    y = self.G_ema(seg, guide, generator=torch.Generator().manual_seed(seed))
                    for z in (guide, y):
                        cells.append(((z[0].permute(1, 2, 0).cpu().numpy() + 1) * 127.5)
                                     .clip(0, 255).astype(np.uint8))
                rows.append(np.concatenate(cells, 1))
        if rows:
            cv2.imwrite(str(Path(self.out) / "preview.png"),
                        cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))
