"""Automatic landscape labeller: label maps for training the built-in scene model.

No learned model, no download: classical colour / texture / position cues on a photo resized to
``WORK_SIDE`` px, plus the photo's category tags from the pool's metadata (``train_pool.tsv``:
``landscape;sky;water;mountains;...``) which decide which classes may appear at all.

Classes (the built-in model's own label set, ``BUILTIN_CLASSES``):
0 other, 1 sky, 2 cloud, 3 mountain, 4 tree, 5 grass, 6 water, 7 ground.

Steps (each a few numpy / OpenCV operations):
1. Features: CIE Lab, HSV saturation, local texture (std of L in a 9x9 window, plus Sobel energy),
   excess green ``(2G - R - B)``.
2. Sky: flood from the top border over pixels that are smooth and close in colour to the top band
   (per-column scan from the top: sky continues while the pixel is sky-like; a column's sky ends at
   the first run of non-sky pixels). Only for photos tagged sky / clouds / landscape.
3. Cloud inside the sky: whitish-grey (low saturation, not blue) or textured parts of the sky.
4. Below the sky: water (tagged photos only): smooth pixels close in colour to the sky (reflection)
   or blue, in the lower part; vegetation: excess green or (for tagged photos) high texture,
   split into tree (textured / upper) and grass (smoother / lower); mountain (tagged photos): the
   non-vegetation band just under the sky line; the rest: ground.
5. Clean-up: 5x5 mode filter, components smaller than 0.3 % of the image merged into their
   neighbourhood's majority.

``label_photo(rgb, tags) -> HxW uint8`` at the input's size. Overlays for checking by eye:
``python -m ganstudio.train.scene_labeller --data DIR --tsv TSV --out DIR``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np

BUILTIN_CLASSES = ["other", "sky", "cloud", "mountain", "tree", "grass", "water", "ground"]
OTHER, SKY, CLOUD, MOUNTAIN, TREE, GRASS, WATER, GROUND = range(8)
# display colours of the overlays (same as the landscape palette's colours of these classes)
COLORS = np.array([(0, 0, 0), (6, 230, 230), (224, 224, 224), (143, 255, 140), (4, 200, 3),
                   (4, 250, 7), (61, 230, 250), (120, 120, 70)], np.uint8)
WORK_SIDE = 320

# photos of the pool used for the scene model (landscapes, skies, a few vegetation close-ups)
SCENE_IDS = ("M21 P07 P09 P21 P33 LA02 LA06 LA14 E05 E06 E09 E11 E16 E17 Q03 Q05 "
             "Q07 Q10 Q20 K06 E07 M24").split()
HOLDOUT_IDS = ("E09", "P33", "Q05")


def read_tags(tsv: str | Path) -> dict[str, set[str]]:
    tags: dict[str, set[str]] = {}
    with open(tsv, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            tags[row["id"]] = {t.strip().lower() for t in row["categories"].split(";") if t.strip()}
    return tags


def _local_std(x: np.ndarray, k: int) -> np.ndarray:
    m = cv2.blur(x, (k, k))
    m2 = cv2.blur(x * x, (k, k))
    return np.sqrt(np.maximum(m2 - m * m, 0))


def _mode_filter(lab: np.ndarray, n: int, k: int = 5) -> np.ndarray:
    votes = np.stack([cv2.blur((lab == c).astype(np.float32), (k, k)) for c in range(n)])
    return votes.argmax(0).astype(np.uint8)


def _merge_small(lab: np.ndarray, n: int, min_frac: float) -> np.ndarray:
    h, w = lab.shape
    min_area = max(4, int(min_frac * h * w))
    out = lab.copy()
    for c in range(n):
        num, comp, stats, _ = cv2.connectedComponentsWithStats((out == c).astype(np.uint8), 8)
        for i in range(1, num):
            if stats[i, cv2.CC_STAT_AREA] >= min_area:
                continue
            region = comp == i
            ring = cv2.dilate(region.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~region
            if ring.any():
                vals = np.bincount(out[ring], minlength=n)
                vals[c] = 0
                if vals.max() > 0:
                    out[region] = int(vals.argmax())
    return out


def label_photo(rgb: np.ndarray, tags: set[str] | None = None) -> np.ndarray:
    """Label map (BUILTIN_CLASSES ids, uint8) of an RGB uint8 photo, at the photo's size."""
    tags = set(tags or ())
    H, W = rgb.shape[:2]
    s = WORK_SIDE / max(H, W)
    img = cv2.resize(rgb, (max(8, round(W * s)), max(8, round(H * s))), interpolation=cv2.INTER_AREA)
    h, w = img.shape[:2]
    f = img.astype(np.float32) / 255.0
    lab = cv2.cvtColor(f, cv2.COLOR_RGB2LAB)          # L 0..100, a/b about -128..127
    L, A, B = lab[..., 0], lab[..., 1], lab[..., 2]
    hsv = cv2.cvtColor(f, cv2.COLOR_RGB2HSV)
    sat = hsv[..., 1]
    tex = _local_std(L, 9)
    gx = cv2.Sobel(L, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(L, cv2.CV_32F, 0, 1, ksize=3)
    edge = cv2.blur(np.sqrt(gx * gx + gy * gy), (7, 7))
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    exg = cv2.blur(g - np.maximum(r, b), (5, 5))   # green dominance (cyan skies are not green)
    yy = np.repeat((np.arange(h, dtype=np.float32) / max(1, h - 1))[:, None], w, 1)

    has_sky = bool(tags & {"sky", "clouds", "landscape", "sunbeams", "sunset"})
    has_water = bool(tags & {"water", "beach"})
    has_mount = bool(tags & {"mountains", "hills", "haze"})
    veg_tag = bool(tags & {"vegetation", "tree", "trees", "grass", "reeds", "leaves", "moss"})
    out = np.full((h, w), GROUND, np.uint8)

    # --- sky: a smooth boundary curve found by dynamic programming ---------------------------
    sky = np.zeros((h, w), bool)
    line = np.zeros(w, np.int32)
    horizon = None
    if has_water:
        # the strongest long horizontal edge in the middle band: the far shore / sea horizon
        rows = np.abs(cv2.Sobel(cv2.GaussianBlur(L, (0, 0), 1.5), cv2.CV_32F, 0, 1, ksize=3)).mean(1)
        lo, hi = int(0.15 * h), int(0.8 * h)
        horizon = lo + int(np.argmax(rows[lo:hi]))
    if has_sky:
        bottom = L[int(0.8 * h):]
        lb, lt = float(np.median(bottom)), float(np.percentile(L, 97))
        bright = np.clip((L - lb) / max(8.0, lt - lb), 0, 1)
        smooth = np.exp(-tex / 4.0)
        blue = np.clip((-B - 5) / 20.0, 0, 1) * np.clip(sat * 3, 0, 1)
        notgreen = np.clip(1 - exg / 0.04, 0, 1)
        # colour preference: closer to the top band than to the bottom band of the photo
        top = np.median(lab[: max(2, h // 10)].reshape(-1, 3), 0)
        bot = np.median(lab[int(0.85 * h):].reshape(-1, 3), 0)
        d_top = np.sqrt(((lab - top) ** 2).sum(-1))
        d_bot = np.sqrt(((lab - bot) ** 2).sum(-1))
        pref = d_bot / (d_top + d_bot + 1e-3)
        skyness = notgreen * np.clip(0.3 * bright + 0.25 * smooth + 0.3 * blue + 0.6 * pref - 0.2, 0, 1)
        only_sky = not (tags & {"landscape", "mountains", "hills", "water", "vegetation", "tree",
                                "road", "architecture", "castle", "field", "grass"})
        if only_sky:                                   # skies only: no ground at all
            skyness = np.ones_like(skyness)
        above = np.vstack([np.zeros((1, w), np.float32), np.cumsum(1 - skyness, 0)])   # cost sky above y
        below_c = np.cumsum(skyness[::-1], 0)[::-1]
        below = np.vstack([below_c, np.zeros((1, w), np.float32)])                      # cost ground from y
        cost = above + below                          # (h+1) x w: boundary at row y of column x
        if horizon is not None:
            cost[horizon + 2:] += h                   # sky never below the water horizon
        d = max(1, h // 100)
        acc = cost[:, 0].copy()
        back = np.zeros((h + 1, w), np.int32)
        ys = np.arange(h + 1)
        for x in range(1, w):
            best = np.full(h + 1, np.inf, np.float32)
            arg = np.zeros(h + 1, np.int32)
            for dy in range(-d, d + 1):
                src = np.clip(ys + dy, 0, h)
                cand = acc[src] + 1.0 * abs(dy)
                m = cand < best
                best[m] = cand[m]
                arg[m] = src[m]
            acc = best + cost[:, x]
            back[:, x] = arg
        y = int(np.argmin(acc))
        for x in range(w - 1, -1, -1):
            line[x] = y
            y = back[y, x]
        sky = (yy * (h - 1) < line[None, :])
        out[sky] = SKY
        # clouds: inside the sky, greyish white or textured, not clear blue
        clear_blue = (B < -12) & (sat > 0.25)
        whitish = (sat < 0.2) & (L > 40)
        tex_thr = max(2.0, float(np.percentile(tex[sky], 50)) * 1.5) if sky.any() else 3.0
        textured = tex > tex_thr
        cloud = sky & (whitish | textured) & ~clear_blue
        if not (tags & {"clouds", "sunbeams", "fog", "storm"}):
            cloud &= (sat < 0.12) & (L > 60)
        out[cloud] = CLOUD

    # --- below the sky -----------------------------------------------------------------------
    ground = ~sky
    sky_line = float(np.median(line)) / max(1, h) if has_sky else 0.0
    # vegetation
    veg = (exg > 0.025) & ground
    if veg_tag:
        veg |= ground & (tex > 6) & (exg > -0.03) & (L < 80)
    # water: smooth, close to the sky colour (reflection) or blue; needs a water tag
    water = np.zeros_like(ground)
    if has_water:
        sky_px = lab[sky] if sky.any() else lab[: max(2, h // 10)].reshape(-1, 3)
        sref = np.median(sky_px, 0)
        sd = np.sqrt(((lab - sref) ** 2).sum(-1))
        calm = tex < max(5.0, float(np.percentile(tex[ground], 40)) if ground.any() else 5.0)
        water = ground & calm & ((sd < 30) | ((B < -5) & (sat > 0.15))) & (exg < 0.025)
        water &= yy * (h - 1) >= (horizon if horizon is not None else sky_line * h)
        water = cv2.morphologyEx(water.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8)) > 0
        water &= ground & (exg < 0.03)
    # mountains: non-vegetation band below the sky line (tagged photos)
    mount = np.zeros_like(ground)
    if has_mount:
        below = yy * (h - 1) - line[None, :]
        depth = 0.45 * (h - line.mean()) if not (tags & {"dark", "haze"}) else 0.9 * h
        mount = ground & (below >= 0) & (below < depth) & ~water
        mount &= ~(veg & (exg > 0.05) & (yy > 0.6))
    out[ground] = OTHER if tags & {"architecture", "castle", "wooden-dock", "bridge-cables"} else GROUND
    out[mount] = MOUNTAIN
    tree_like = veg & ((tex > 7) | (yy < sky_line + 0.25)) & ~mount
    grass_like = veg & ~tree_like & ~mount
    out[tree_like] = TREE
    out[grass_like] = GRASS
    # mountains covered with vegetation stay mountain unless strongly green and textured
    out[mount & veg & (exg > 0.04) & (tex > 8)] = TREE
    out[water] = WATER
    if {"fog", "trees"} <= tags or ("tree" in tags and "landscape" not in tags):
        out[ground & ~water & ~mount] = TREE
    if not has_sky:
        # close-ups: vegetation photos are all vegetation, the rest is "other"
        out[~veg] = OTHER if not veg_tag else GRASS if "grass" in tags else TREE
    out = _mode_filter(out, len(BUILTIN_CLASSES), 5)
    out = _merge_small(out, len(BUILTIN_CLASSES), 0.003)
    return cv2.resize(out, (W, H), interpolation=cv2.INTER_NEAREST)


def overlay(rgb: np.ndarray, labels: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    col = COLORS[labels]
    return (rgb.astype(np.float32) * (1 - alpha) + col.astype(np.float32) * alpha).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    from .inpaint import list_photos, load_rgb, photo_id

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--tsv", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--side", type=int, default=384)
    a = ap.parse_args(argv)
    tags = read_tags(a.tsv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tiles = []
    for p in list_photos(Path(a.data)):
        pid = photo_id(p)
        if pid not in SCENE_IDS:
            continue
        rgb = load_rgb(p, a.side)
        lab = label_photo(rgb, tags.get(pid, set()))
        ov = overlay(rgb, lab)
        pair = np.concatenate([rgb, ov, COLORS[lab]], 1)
        cv2.putText(pair, pid, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 0, 0), 1)
        cv2.imwrite(str(out / f"{pid}.png"), cv2.cvtColor(pair, cv2.COLOR_RGB2BGR))
        th = cv2.resize(pair, (pair.shape[1] * 120 // pair.shape[0], 120))
        tiles.append(th)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
