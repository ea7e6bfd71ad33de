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
#: the other offline networks, run through their real tasks (issue 15: every task gets the policy)
TASK_MODELS = ("builtin.inpaint-compact", "builtin.colorize", "builtin.scene-exemplar", "builtin.scene-compact",
               "cyclegan.vintagify")


def _scene_labels(index: int, size: int):
    """A landscape label map (sky, mountain, water, grass) with seeded wavy boundaries."""
    from ganstudio.core.labels import load_palette

    pal = load_palette("landscape")
    ids = {name: pal.by_name(name).id for name in ("sky", "mountain", "water", "grass")}
    rng = np.random.default_rng(index)
    x = np.arange(size)
    lab = np.full((size, size), ids["sky"], np.int32)
    ridge = (0.35 + 0.08 * np.sin(x / size * rng.uniform(4, 9) + rng.uniform(0, 6))) * size
    shore = (0.62 + 0.03 * np.sin(x / size * rng.uniform(2, 5))) * size
    grass = (0.82 + 0.04 * np.sin(x / size * rng.uniform(3, 7))) * size
    yy = np.arange(size)[:, None]
    lab[yy >= ridge[None, :]] = ids["mountain"]
    lab[yy >= shore[None, :]] = ids["water"]
    lab[yy >= grass[None, :]] = ids["grass"]
    return lab.astype(pal.dtype())


def run_model(mid: str, crop: np.ndarray, index: int, precision: str, threads: int) -> np.ndarray:
    """The model's output (RGB uint8) on ``crop`` through its task, at ``precision``."""
    from ganstudio.tasks.base import TaskContext, TaskInputs, drive

    ctx = TaskContext(device="cpu", precision=precision, threads=threads)
    if mid.startswith("realesrgan."):
        from ganstudio.tasks.super_resolution import UpscaleRequest, run
        return drive(run(TaskInputs(crop), UpscaleRequest(model_id=mid, scale=0), ctx)).image
    if mid == "builtin.inpaint-compact":
        from ganstudio.tasks.inpaint import InpaintRequest, run
        n = crop.shape[0]
        mask = np.zeros(crop.shape[:2], np.uint8)
        mask[n // 3: 2 * n // 3, n // 3: 2 * n // 3] = 255
        # texture=0: the network alone (texture synthesis is numpy and precision-free); only the
        # hole is compared (the rest is copied exactly and would inflate the PSNR)
        out = drive(run(TaskInputs(crop, mask=mask), InpaintRequest(model_id=mid, texture=0.0), ctx)).image
        return np.ascontiguousarray(out[n // 3: 2 * n // 3, n // 3: 2 * n // 3])
    if mid == "builtin.colorize":
        from ganstudio.tasks.colorize import ColorizeRequest, run
        gray = np.repeat(np.rint(crop @ np.array([0.299, 0.587, 0.114]))[..., None], 3, 2).astype(np.uint8)
        return drive(run(TaskInputs(gray), ColorizeRequest(model_id=mid, work_size=0), ctx)).image
    if mid in ("builtin.scene-compact", "builtin.scene-exemplar"):
        from ganstudio.tasks.scene import SceneRequest, run
        labels = _scene_labels(index, crop.shape[0])
        return drive(run(TaskInputs(None, labels=labels), SceneRequest(model_id=mid, seed=index), ctx)).image[..., :3]
    if mid.startswith("cyclegan.") or mid.startswith("stylelite."):
        from ganstudio.tasks.style_transfer import StyleRequest, run
        return drive(run(TaskInputs(crop), StyleRequest(model_id=mid, work_size=0), ctx)).image[..., :3]
    raise SystemExit(f"no runner for {mid}")


def psnr8(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=list(SR_MODELS + TASK_MODELS))
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--precisions", nargs="+", default=["bf16"])
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    from PIL import Image

    from ganstudio import paths
    from ganstudio.tasks.device import cpu_has_native_bf16, cpu_model_name

    print(json.dumps({"cpu": cpu_model_name(), "native_bf16": cpu_has_native_bf16()}), flush=True)
    crops = []
    for name in PHOTOS:
        img = np.asarray(Image.open(paths.SAMPLES / name).convert("RGB"))
        y, x = (img.shape[0] - args.size) // 2, (img.shape[1] - args.size) // 2
        crops.append((name, np.ascontiguousarray(img[y:y + args.size, x:x + args.size])))
    for mid in args.models:
        for prec in args.precisions:
            scores, times = [], []
            for i, (name, crop) in enumerate(crops):
                outs = {}
                for p in ("fp32", prec):
                    run_model(mid, crop, i, p, args.threads)          # warm-up (kernels, caches)
                    t0 = time.perf_counter()
                    outs[p] = run_model(mid, crop, i, p, args.threads)
                    times.append((p, time.perf_counter() - t0))
                scores.append(psnr8(outs[prec], outs["fp32"]))
            t32 = sum(t for p, t in times if p == "fp32")
            tlow = sum(t for p, t in times if p == prec)
            print(json.dumps({"model": mid, "precision": prec, "psnr_vs_fp32_db_min": round(min(scores), 2),
                              "psnr_per_photo": {n: round(s, 2) for (n, _), s in zip(crops, scores)},
                              "keeps_quality": bool(min(scores) >= 45.0),
                              "seconds_fp32": round(t32, 3), f"seconds_{prec}": round(tlow, 3),
                              "speed_up": round(t32 / tlow, 2) if tlow else None}), flush=True)


if __name__ == "__main__":
    main()
