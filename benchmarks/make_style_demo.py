"""Build the offline demo domains for ``ganstudio train style`` (no downloads).

    .venv/bin/python benchmarks/make_style_demo.py --data /work/data/photos/train --out /work/scratch/style_demo

The photo pool's training photos (hold-out excluded) are split in two disjoint halves by sorted id
(even / odd): ``photos/`` = the even half as they are; ``style/`` = the odd half turned into a
strong, easy-to-recognise "poster cartoon" look (edge-preserving smoothing x3, k-means colour
quantisation to 6 colours per image, saturation x1.6, thick dark outlines from an adaptive
threshold). The two folders show different scenes: unpaired, as a real user's folders would be.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ganstudio.train.data import load_image_rgb, split_folder  # noqa: E402


def cartoon(rgb: np.ndarray, k: int = 6, seed: int = 0) -> np.ndarray:
    img = rgb.copy()
    for _ in range(3):
        img = cv2.bilateralFilter(img, 9, 60, 7)
    z = img.reshape(-1, 3).astype(np.float32)
    cv2.setRNGSeed(seed)
    _, lab, cen = cv2.kmeans(z, k, None, (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0),
                             2, cv2.KMEANS_PP_CENTERS)
    q = cen[lab.ravel()].reshape(img.shape).astype(np.uint8)
    hsv = cv2.cvtColor(q, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 1] = np.clip(hsv[..., 1] * 1.6, 0, 255)
    q = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
    gray = cv2.medianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), 7)
    edges = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 4)
    edges = cv2.erode(edges, np.ones((2, 2), np.uint8))
    return (q * (edges[..., None] > 0)).astype(np.uint8)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--side", type=int, default=512)
    a = ap.parse_args()
    train, _ = split_folder(a.data, 7)
    out = Path(a.out)
    (out / "photos").mkdir(parents=True, exist_ok=True)
    (out / "style").mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(train):
        rgb = load_image_rgb(p, a.side)
        if i % 2 == 0:
            cv2.imwrite(str(out / "photos" / f"{p.stem}.jpg"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        else:
            cv2.imwrite(str(out / "style" / f"{p.stem}_cartoon.png"),
                        cv2.cvtColor(cartoon(rgb, seed=i), cv2.COLOR_RGB2BGR))
    print(f"{out}: {len(list((out / 'photos').iterdir()))} photos, {len(list((out / 'style').iterdir()))} style images")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
