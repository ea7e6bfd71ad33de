"""Does a model keep its quality in reduced precision? PSNR (8-bit) of bf16 / fp16 output against
the fp32 output of the same model on real photos (the bundled samples), per model.

    python benchmarks/eval_precision.py [--models ID ...] [--size 96] [--precisions bf16]

A model that stays >= 45 dB may run at that precision under "auto"; the others get
`precisions = [...]` without it in their catalog entry (tasks/device.py DeviceInfo.for_model).
Prints JSON lines, with the CPU model and whether its bf16 is native.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png")
SR_MODELS = ("realesrgan.x4plus", "realesrgan.x4plus-anime-6b", "realesrgan.animevideov3-x4",
             "realesrgan.animevideov3-x2", "realesrgan.animevideov3-x3")


def psnr8(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(SR_MODELS))
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--precisions", nargs="+", default=["bf16"])
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    from PIL import Image

    from ganstudio import paths
    from ganstudio.tasks.base import TaskContext, TaskInputs, drive
    from ganstudio.tasks.device import cpu_has_native_bf16, cpu_model_name
    from ganstudio.tasks.super_resolution import UpscaleRequest, run

    print(json.dumps({"cpu": cpu_model_name(), "native_bf16": cpu_has_native_bf16()}), flush=True)
    crops = []
    for name in PHOTOS:
        img = np.asarray(Image.open(paths.SAMPLES / name).convert("RGB"))
        y, x = (img.shape[0] - args.size) // 2, (img.shape[1] - args.size) // 2
        crops.append((name, np.ascontiguousarray(img[y:y + args.size, x:x + args.size])))
    for mid in args.models:
        for prec in args.precisions:
            scores, times = [], []
            for name, crop in crops:
                outs = {}
                for p in ("fp32", prec):
                    ctx = TaskContext(device="cpu", precision=p, threads=args.threads)
                    t0 = time.perf_counter()
                    outs[p] = drive(run(TaskInputs(crop), UpscaleRequest(model_id=mid, scale=0), ctx)).image
                    times.append((p, time.perf_counter() - t0))
                scores.append(psnr8(outs[prec], outs["fp32"]))
            print(json.dumps({"model": mid, "precision": prec, "psnr_vs_fp32_db_min": round(min(scores), 2),
                              "psnr_per_photo": {n: round(s, 2) for (n, _), s in zip(crops, scores)},
                              "keeps_quality": bool(min(scores) >= 45.0)}), flush=True)


if __name__ == "__main__":
    main()
