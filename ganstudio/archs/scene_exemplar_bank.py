"""The exemplar bank of the built-in scene painter: real photo texture for each painted class.

Why a bank: a SPADE-style generator trained for an hour on a CPU from 19 photos learns layout and
average colours but no photographic texture (the first built-in model looked painted). GauGAN-class
texture needs days on GPUs; exemplar-guided synthesis (as in CoCosNet, Zhang et al. 2020: label map +
exemplar photo -> photo) gets real texture from photos instead. Here the exemplars ship inside the
model file (uint8 tensors in its safetensors, ~5 MB) and the refining generator
(``scene_exemplar_arch``) turns the collage into a coherent picture.

``compose(labels, bank, rng)`` builds the guide ("collage") for a label map of the model's classes:
* one *primary* photo is drawn first (seeded) among those that hold most of the painted classes,
  weighted by how much of each class they show; every class it has comes from it (coherent light
  and colour: sky and water of the same evening); the other classes come from other photos;
* a class region is filled from the source photo's bounding box of the same class: a cover crop
  (the largest scale at which the region's box fits inside the source box, so a thin band of trees
  takes a strip of a forest, not a squeezed forest), up to ``MAX_ANISOTROPY`` less magnification
  per axis, at most ``MAX_MAGNIFICATION``, mirror-wrapping only beyond that; a random horizontal
  flip and offset per class (variations), the vertical offset kept small (the top of the sky
  stays the top of a sky);
* source pixels of another class (a tree in the sky box) are replaced by a push-pull fill of the
  class's own pixels (smooth; the generator adds texture there);
* classes meet over a Gaussian edge of ``BOUNDARY_SIGMA`` px (each fill reaches a few px past its
  region, weights normalised), as a photo's anti-aliased edges do, instead of a cut-out seam.

Pure numpy + OpenCV, no torch: the training loop and the task use the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

BANK_H, BANK_W = 256, 384          # every exemplar is stored at this size (landscape crop)
MAX_ANISOTROPY = 1.6               # at most this x/y stretch ratio of a class's texture
MAX_MAGNIFICATION = 2.0            # a source pixel covers at most 2x2 target pixels
MIN_FRACTION = 0.02                # a photo counts as an exemplar of a class from 2 % of its area
BOUNDARY_SIGMA = 1.2               # px: classes blend over a Gaussian edge this wide (anti-aliasing)


def landscape_crop(rgb: np.ndarray, labels: np.ndarray, h: int = BANK_H, w: int = BANK_W
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Centre crop to the bank's aspect ratio, then resize (area for the photo, nearest for labels)."""
    ih, iw = labels.shape
    target = w / h
    if iw / ih > target:                      # too wide: crop the sides
        cw = int(round(ih * target))
        x0 = (iw - cw) // 2
        rgb, labels = rgb[:, x0:x0 + cw], labels[:, x0:x0 + cw]
    else:                                     # too tall: keep the lower part's horizon, crop evenly
        ch = int(round(iw / target))
        y0 = (ih - ch) // 2
        rgb, labels = rgb[y0:y0 + ch], labels[y0:y0 + ch]
    rgb = cv2.resize(np.ascontiguousarray(rgb), (w, h), interpolation=cv2.INTER_AREA)
    labels = cv2.resize(np.ascontiguousarray(labels), (w, h), interpolation=cv2.INTER_NEAREST)
    return rgb, labels


def push_pull_fill(img: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill the pixels where ``valid`` is False from the valid ones: a mask-weighted image pyramid
    (push: average down; pull: fill each level's holes from the coarser one). Smooth, no seams."""
    f = img.astype(np.float32)
    m = valid.astype(np.float32)
    levels = []
    cur, cm = f * m[..., None], m
    while True:
        levels.append((cur, cm))
        h, w = cm.shape
        if max(h, w) <= 2 or cm.min() > 0:
            break
        cur = cv2.resize(cur, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
        cm = cv2.resize(cm, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    cur, cm = levels[-1]
    est = cur / np.maximum(cm, 1e-6)[..., None]
    if cm.max() <= 0:
        return np.full_like(img, 127)
    est[cm <= 0] = est[cm > 0].mean(0)
    for cur, cm in reversed(levels[:-1]):
        h, w = cm.shape
        up = cv2.resize(est, (w, h), interpolation=cv2.INTER_LINEAR)
        wgt = np.clip(cm, 0, 1)[..., None]
        est = np.where(wgt > 1e-6, cur / np.maximum(cm, 1e-6)[..., None], 0) * wgt + up * (1 - wgt)
    return np.clip(est, 0, 255).astype(img.dtype)


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    ys = np.flatnonzero(mask.any(1))
    if ys.size == 0:
        return None
    xs = np.flatnonzero(mask.any(0))
    return int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1


def _reflect(u: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Mirror-wrap coordinates into [lo, hi - 1]."""
    span = max(hi - lo - 1, 1e-3)
    t = np.mod(u - lo, 2 * span)
    return lo + np.where(t > span, 2 * span - t, t)


@dataclass
class ExemplarBank:
    images: np.ndarray          # (N, BANK_H, BANK_W, 3) uint8, RGB
    labels: np.ndarray          # (N, BANK_H, BANK_W) uint8, the model's class ids
    n_classes: int
    fractions: np.ndarray = field(init=False)      # (N, n_classes)
    _filled: dict = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.shape[-1] != 3 or self.images.shape[:3] != self.labels.shape:
            raise ValueError(f"exemplar bank: images {self.images.shape} and labels "
                             f"{self.labels.shape} do not match")
        n = self.images.shape[0]
        fr = np.zeros((n, self.n_classes), np.float64)
        for i in range(n):
            fr[i] = np.bincount(self.labels[i].ravel(), minlength=self.n_classes)[:self.n_classes]
        self.fractions = fr / self.labels[0].size

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def filled(self, k: int, c: int) -> np.ndarray:
        """Exemplar ``k`` with every pixel not of class ``c`` filled from class ``c`` (cached)."""
        key = (k, c)
        out = self._filled.get(key)
        if out is None:
            out = push_pull_fill(self.images[k], self.labels[k] == c)
            if len(self._filled) > 64:
                self._filled.clear()
            self._filled[key] = out
        return out

    def candidates(self, c: int, exclude: frozenset[int] = frozenset()) -> np.ndarray:
        ok = self.fractions[:, c] >= MIN_FRACTION
        for k in exclude:
            if 0 <= k < len(ok):
                ok[k] = False
        return np.flatnonzero(ok)


def compose(labels: np.ndarray, bank: ExemplarBank, rng: np.random.Generator,
            exclude: frozenset[int] = frozenset()) -> np.ndarray:
    """The guide collage (HxWx3 uint8) for a label map of the bank's classes; ``exclude``: exemplar
    indices not to use (training: the photo itself)."""
    h, w = labels.shape
    acc = np.zeros((h, w, 3), np.float32)
    wsum = np.zeros((h, w), np.float32)
    margin = int(np.ceil(3 * BOUNDARY_SIGMA))
    present = [int(c) for c in np.unique(labels) if c < bank.n_classes]
    area = {c: float((labels == c).mean()) for c in present}
    # the primary photo: it shows the painted classes in similar amounts (coherent light)
    cand_all = [k for k in range(len(bank)) if k not in exclude]
    primary = None
    if cand_all:
        score = np.array([sum(min(bank.fractions[k, c], area[c]) for c in present) for k in cand_all])
        p = score ** 2 + 1e-9
        primary = int(cand_all[int(rng.choice(len(cand_all), p=p / p.sum()))])
    for c in present:
        mask = labels == c
        box = _bbox(mask)
        if box is None:
            continue
        if primary is not None and bank.fractions[primary, c] >= MIN_FRACTION:
            k = primary
        else:
            cand = bank.candidates(c, exclude)
            if cand.size == 0:                 # no exemplar of this class: a neutral grey
                a = _soft(mask, box, margin)
                y0, y1, x0, x1 = _grow(box, margin, h, w)
                acc[y0:y1, x0:x1] += 127 * a[..., None]
                wsum[y0:y1, x0:x1] += a
                continue
            wts = np.sqrt(bank.fractions[cand, c])
            k = int(cand[int(rng.choice(cand.size, p=wts / wts.sum()))])
        sbox = _bbox(bank.labels[k] == c)
        assert sbox is not None
        src = bank.filled(k, c)
        ry0, ry1, rx0, rx1 = box
        sy0, sy1, sx0, sx1 = sbox
        # source px per target px: the largest isotropic scale that covers the region without
        # leaving the source box (a cover crop), then up to MAX_ANISOTROPY less magnification per
        # axis, never more than MAX_MAGNIFICATION (beyond that the source is mirror-wrapped)
        fx, fy = (sx1 - sx0) / (rx1 - rx0), (sy1 - sy0) / (ry1 - ry0)
        s = min(fx, fy)
        sx_ = max(min(fx, s * MAX_ANISOTROPY), 1 / MAX_MAGNIFICATION)
        sy_ = max(min(fy, s * MAX_ANISOTROPY), 1 / MAX_MAGNIFICATION)
        flip = rng.random() < 0.5
        # a random offset only along an axis where the limited mapping does not fill the source box
        ox = float(rng.uniform(0, max(0.0, (sx1 - sx0) - sx_ * (rx1 - rx0)) + 1e-9))
        oy = float(rng.uniform(0, max(0.0, (sy1 - sy0) - sy_ * (ry1 - ry0)) + 1e-9)) * 0.25
        ey0, ey1, ex0, ex1 = _grow(box, margin, h, w)       # the box plus the blending margin
        xs = np.arange(ex0, ex1, dtype=np.float32)
        ys = np.arange(ey0, ey1, dtype=np.float32)
        u = (xs - rx0 + 0.5) * sx_ - 0.5
        if flip:
            u = (rx1 - rx0) * sx_ - 1 - u
        u = _reflect(sx0 + ox + u, sx0, sx1).astype(np.float32)
        v = _reflect(sy0 + oy + (ys - ry0 + 0.5) * sy_ - 0.5, sy0, sy1).astype(np.float32)
        mx, my = np.meshgrid(u, v)
        patch = cv2.remap(src, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        a = _soft(mask, box, margin)
        acc[ey0:ey1, ex0:ex1] += patch.astype(np.float32) * a[..., None]
        wsum[ey0:ey1, ex0:ex1] += a
    out = acc / np.maximum(wsum, 1e-6)[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _grow(box: tuple[int, int, int, int], m: int, h: int, w: int) -> tuple[int, int, int, int]:
    y0, y1, x0, x1 = box
    return max(0, y0 - m), min(h, y1 + m), max(0, x0 - m), min(w, x1 + m)


def _soft(mask: np.ndarray, box: tuple[int, int, int, int], m: int) -> np.ndarray:
    """The class's blending weight inside its grown box: the mask blurred by BOUNDARY_SIGMA
    (pixels deep inside a class keep weight 1, so its texture is not mixed there)."""
    h, w = mask.shape
    y0, y1, x0, x1 = _grow(box, m, h, w)
    sub = mask[y0:y1, x0:x1].astype(np.float32)
    if BOUNDARY_SIGMA <= 0:
        return sub
    return cv2.GaussianBlur(sub, (0, 0), BOUNDARY_SIGMA, borderType=cv2.BORDER_REPLICATE)
