"""Quality of the built-in colouriser vs plain baselines on the held-out photos.

    .venv/bin/python benchmarks/eval_colorize.py --data /work/data/photos/train \
        [--weights models/builtin/colorize_gs.safetensors] [--holdout 7] [--side 512] \
        [--work-size 384] [--precision fp32] [--json out.json]

Held-out photos: the same ``holdout_ids`` the training used (``ganstudio train colorize --holdout
7``; never trained on). Each photo is resized (INTER_AREA) to ``--side`` px on its long side and
converted to gray (BT.601 luma); every method gets only that gray image and must return colour
with the same luma (all methods here keep it exactly, so every difference is chroma).

Methods:
* ``model``: the real task (``tasks.colorize.run``) with the given weights;
* ``gray``: zero chroma (the gray input itself);
* ``mean``: the mean (Cb, Cr) of all training pixels, the same for every pixel;
* ``mean|Y``: the mean (Cb, Cr) of the training pixels of the same luma (32 bins) - a
  brightness-conditional colour prior (dark -> slightly blue, bright mid-tones -> warm ...).
Baseline statistics come from the training photos (at the same ``--side``).

Metrics per photo, then the mean over photos:
* PSNR (dB) of the RGB result vs the original colour photo (8-bit); the summary pools the MSE over
  photos (so a photo that is gray already - P16 - does not count as +infinity for ``gray``);
* chroma RMSE: RMS error of (Cb, Cr) in 8-bit units;
* CIEDE2000 (mean over pixels; sRGB D65 -> CIELAB via OpenCV float conversion);
* colourfulness (Hasler & Suesstrunk 2003) of the result; the ratio is mean / mean of the originals.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ganstudio.tasks.base import TaskContext, TaskInputs, drive  # noqa: E402
from ganstudio.tasks.colorize import ColorizeRequest, chroma, luma, recombine, run  # noqa: E402
from ganstudio.train.data import load_image_rgb, split_folder  # noqa: E402

BINS = 32


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005), per pixel. Lab in (L 0-100, a, b)."""
    L1, a1, b1 = (lab1[..., i].astype(np.float64) for i in range(3))
    L2, a2, b2 = (lab2[..., i].astype(np.float64) for i in range(3))
    C1 = np.hypot(a1, b1)
    C2 = np.hypot(a2, b2)
    Cm = (C1 + C2) / 2
    G = 0.5 * (1 - np.sqrt(Cm ** 7 / (Cm ** 7 + 25.0 ** 7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dLp = L2 - L1
    dCp = C2p - C1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(C1p * C2p == 0, 0, dh)
    dHp = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh / 2))
    Lm = (L1 + L2) / 2
    Cmp = (C1p + C2p) / 2
    hsum = h1p + h2p
    hm = np.where(np.abs(h1p - h2p) > 180, np.where(hsum < 360, hsum + 360, hsum - 360), hsum) / 2
    hm = np.where(C1p * C2p == 0, hsum, hm)
    T = (1 - 0.17 * np.cos(np.radians(hm - 30)) + 0.24 * np.cos(np.radians(2 * hm))
         + 0.32 * np.cos(np.radians(3 * hm + 6)) - 0.20 * np.cos(np.radians(4 * hm - 63)))
    dtheta = 30 * np.exp(-(((hm - 275) / 25) ** 2))
    Rc = 2 * np.sqrt(Cmp ** 7 / (Cmp ** 7 + 25.0 ** 7))
    Sl = 1 + 0.015 * (Lm - 50) ** 2 / np.sqrt(20 + (Lm - 50) ** 2)
    Sc = 1 + 0.045 * Cmp
    Sh = 1 + 0.015 * Cmp * T
    Rt = -np.sin(np.radians(2 * dtheta)) * Rc
    return np.sqrt((dLp / Sl) ** 2 + (dCp / Sc) ** 2 + (dHp / Sh) ** 2 + Rt * (dCp / Sc) * (dHp / Sh))


def to_lab(rgb8: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb8.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def colourfulness(rgb8: np.ndarray) -> float:
    r, g, b = (rgb8[..., i].astype(np.float64) for i in range(3))
    rg = r - g
    yb = 0.5 * (r + g) - b
    return float(math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean()))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return 99.0 if mse < 1e-10 else 10 * math.log10(255.0 ** 2 / mse)


def metrics(out8: np.ndarray, ref8: np.ndarray) -> dict[str, float]:
    c_out = chroma(out8.astype(np.float64) / 255) * 255
    c_ref = chroma(ref8.astype(np.float64) / 255) * 255
    cf_ref = colourfulness(ref8)
    cf = colourfulness(out8)
    mse = float(((out8.astype(np.float64) - ref8.astype(np.float64)) ** 2).mean())
    return {"psnr": psnr(out8, ref8), "mse": mse, "chroma_rmse": float(np.sqrt(((c_out - c_ref) ** 2).mean())),
            "de2000": float(ciede2000(to_lab(out8), to_lab(ref8)).mean()),
            "colourfulness": cf, "colourfulness_ratio": cf / cf_ref if cf_ref > 0 else float("nan")}


def baseline_stats(train_paths: list[Path], side: int) -> dict[str, np.ndarray]:
    s = np.zeros((BINS, 2))
    n = np.zeros(BINS)
    tot = np.zeros(2)
    cnt = 0
    for p in train_paths:
        try:
            rgb = load_image_rgb(p, side).astype(np.float64) / 255
        except ValueError:
            continue
        y = luma(rgb).ravel()
        c = chroma(rgb).reshape(-1, 2)
        idx = np.minimum((y * BINS).astype(int), BINS - 1)
        np.add.at(s, idx, c)
        np.add.at(n, idx, 1)
        tot += c.sum(0)
        cnt += len(y)
    mean = tot / max(cnt, 1)
    by_y = np.where(n[:, None] > 0, s / np.maximum(n, 1)[:, None], mean[None])
    return {"mean": mean, "by_y": by_y}


def to8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


def evaluate(data: Path, weights: str, holdout: int = 7, side: int = 512, work_size: int = 384,
             precision: str = "fp32", threads: int = 1) -> dict:
    train, held = split_folder(data, holdout)
    stats = baseline_stats(train, side)
    ctx = TaskContext(device="cpu", threads=threads, precision=precision)
    rows = []
    t_model = 0.0
    for p in held:
        ref = load_image_rgb(p, side)
        y = luma(ref.astype(np.float64) / 255)
        gray8 = np.repeat(to8(y)[..., None], 3, 2)
        yq = gray8[..., 0].astype(np.float64) / 255            # what every method sees
        outs = {}
        t0 = time.perf_counter()
        res = drive(run(TaskInputs(image=gray8), ColorizeRequest(model_id=weights, work_size=work_size), ctx))
        t_model += time.perf_counter() - t0
        outs["model"] = res.image
        outs["gray"] = gray8
        outs["mean"] = to8(recombine(yq, np.broadcast_to(stats["mean"], yq.shape + (2,))))
        idx = np.minimum((yq * BINS).astype(int), BINS - 1)
        outs["mean|Y"] = to8(recombine(yq, stats["by_y"][idx]))
        rows.append({"photo": p.stem, **{k: metrics(v, ref) for k, v in outs.items()},
                     "ref_colourfulness": colourfulness(ref)})
    methods = ["model", "gray", "mean", "mean|Y"]
    keys = ["chroma_rmse", "de2000", "colourfulness"]
    summary = {m: {k: float(np.mean([r[m][k] for r in rows])) for k in keys} for m in methods}
    ref_cf = float(np.mean([r["ref_colourfulness"] for r in rows]))
    for m in methods:   # pooled PSNR (mean MSE over photos: a gray photo's exact match is not +inf)
        summary[m]["psnr"] = 10 * math.log10(255.0 ** 2 / max(1e-10, np.mean([r[m]["mse"] for r in rows])))
        summary[m]["colourfulness_ratio"] = summary[m]["colourfulness"] / ref_cf if ref_cf else float("nan")
    summary["reference_colourfulness"] = ref_cf
    return {"photos": [r["photo"] for r in rows], "rows": rows, "summary": summary,
            "side": side, "work_size": work_size, "precision": precision, "weights": weights,
            "model_seconds_per_photo": t_model / max(1, len(rows))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--weights", default=str(ROOT / "models" / "builtin" / "colorize_gs.safetensors"))
    ap.add_argument("--holdout", type=int, default=7)
    ap.add_argument("--side", type=int, default=512)
    ap.add_argument("--work-size", type=int, default=384)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default="")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(a.threads)
    r = evaluate(Path(a.data), a.weights, a.holdout, a.side, a.work_size, a.precision, a.threads)
    s = r["summary"]
    print(f"held-out photos: {', '.join(r['photos'])} (long side {a.side}, network {a.work_size}, {a.precision})")
    print("| method | PSNR dB (higher better) | chroma RMSE (lower) | CIEDE2000 (lower) | colourfulness (ratio to truth) |")
    print("|---|---|---|---|---|")
    for m in ("model", "gray", "mean", "mean|Y"):
        v = s[m]
        print(f"| {m} | {v['psnr']:.2f} | {v['chroma_rmse']:.2f} | {v['de2000']:.2f} | "
              f"{v['colourfulness']:.1f} ({v['colourfulness_ratio']:.2f}) |")
    print(f"| (truth) | | | | {s['reference_colourfulness']:.1f} (1.00) |")
    print("\nper photo (PSNR dB / CIEDE2000): model vs best baseline")
    for row in r["rows"]:
        best = max(("gray", "mean", "mean|Y"), key=lambda m: row[m]["psnr"])
        print(f"  {row['photo']}: model {row['model']['psnr']:.2f} / {row['model']['de2000']:.2f}  "
              f"{best} {row[best]['psnr']:.2f} / {row[best]['de2000']:.2f}")
    print(f"model: {r['model_seconds_per_photo']:.2f} s per photo (task, CPU, {a.threads} thread)")
    if a.json:
        Path(a.json).write_text(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
