"""Random hole masks for training and evaluating inpainters (numpy + OpenCV, seeded).

Two families, as the issue asks:

* free-form brush strokes (a wire, a scribble, a blemish): random polylines with round joints,
  thickness 2-9 % of the patch side;
* object-shaped masks (a person, a sign, a bin): ellipses, random star-shaped polygons and smooth
  blobs covering roughly 4-30 % of the patch, sometimes with a brush margin around them.

All functions take a ``numpy.random.Generator`` so the evaluation masks are reproducible by seed.
Masks are HxW uint8, 255 = hole.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def stroke_mask(rng: np.random.Generator, h: int, w: int, max_strokes: int = 4) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    side = min(h, w)
    for _ in range(int(rng.integers(1, max_strokes + 1))):
        x, y = float(rng.uniform(0, w)), float(rng.uniform(0, h))
        thick = max(2, int(side * rng.uniform(0.02, 0.09)))
        angle = rng.uniform(0, 2 * math.pi)
        for _ in range(int(rng.integers(2, 8))):
            angle += rng.uniform(-1.2, 1.2)
            length = side * rng.uniform(0.08, 0.35)
            nx = float(np.clip(x + length * math.cos(angle), 0, w - 1))
            ny = float(np.clip(y + length * math.sin(angle), 0, h - 1))
            cv2.line(m, (int(x), int(y)), (int(nx), int(ny)), 255, thick, cv2.LINE_AA)
            cv2.circle(m, (int(nx), int(ny)), thick // 2, 255, -1, cv2.LINE_AA)
            x, y = nx, ny
    return np.where(m > 127, 255, 0).astype(np.uint8)


def object_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    side = min(h, w)
    area = rng.uniform(0.04, 0.30) * h * w
    r = math.sqrt(area / math.pi)
    cx, cy = rng.uniform(0.15 * w, 0.85 * w), rng.uniform(0.15 * h, 0.85 * h)
    kind = int(rng.integers(0, 3))
    if kind == 0:  # ellipse (upright-ish objects are taller than wide)
        aspect = rng.uniform(0.4, 1.6)
        ax, ay = r * math.sqrt(aspect), r / math.sqrt(aspect)
        cv2.ellipse(m, (int(cx), int(cy)), (max(2, int(ax)), max(2, int(ay))),
                    float(rng.uniform(0, 180)), 0, 360, 255, -1, cv2.LINE_AA)
    else:
        n = int(rng.integers(6, 14)) if kind == 1 else 48
        t = np.linspace(0, 2 * math.pi, n, endpoint=False)
        if kind == 1:  # star-shaped polygon
            rad = r * rng.uniform(0.6, 1.35, n)
        else:  # smooth blob: a few low-frequency harmonics on the radius
            rad = np.full(n, r)
            for k in range(1, 4):
                rad += r * rng.uniform(0, 0.25) * np.cos(k * t + rng.uniform(0, 2 * math.pi))
        pts = np.stack([cx + rad * np.cos(t), cy + rad * np.sin(t) * rng.uniform(0.7, 1.4)], 1)
        cv2.fillPoly(m, [pts.astype(np.int32)], 255, cv2.LINE_AA)
    if rng.random() < 0.5:  # the artist's brush overshoots the object a bit
        k = max(1, int(side * rng.uniform(0.01, 0.04)))
        m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    return np.where(m > 127, 255, 0).astype(np.uint8)


def random_mask(rng: np.random.Generator, h: int, w: int, max_ratio: float = 0.5) -> np.ndarray:
    """Strokes (45 %), an object shape (45 %) or both (10 %); never empty, at most ``max_ratio``."""
    for _ in range(20):
        u = rng.random()
        if u < 0.45:
            m = stroke_mask(rng, h, w)
        elif u < 0.9:
            m = object_mask(rng, h, w)
        else:
            m = np.maximum(stroke_mask(rng, h, w, 2), object_mask(rng, h, w))
        ratio = float((m > 0).mean())
        if 0.005 < ratio <= max_ratio:
            return m
    m = np.zeros((h, w), np.uint8)
    m[h // 4: h // 2, w // 4: w // 2] = 255
    return m
