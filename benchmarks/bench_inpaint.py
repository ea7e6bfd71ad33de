"""Inpainting speed and peak memory: 2048x1536 photo, 10 % mask, per strategy and model.

    /work/venv/bin/python benchmarks/bench_inpaint.py [--photo PATH] [--threads 1] [--out docs/benchmarks/inpaint.md]

Models: the built-in GSInpaint (shipped weights), the LaMa big-lama architecture (spandrel's LaMa
with *random* weights - speed and memory only; converted to a temporary safetensors file so the
real loading path is used) and OpenCV Telea / NS (through the same task). Strategies: crop,
resize (long side 1280), original. Every configuration runs in a fresh subprocess (one warm-up on a
256x256 crop excluded from the timing) so ``ru_maxrss`` is that configuration's peak resident
memory; "baseline" is the same process having imported torch and loaded the photo, nothing else.
Mask: a person-sized ellipse, a wire across the top and two round objects grown until 10 % of
the pixels are covered - four separate regions, as the crop strategy expects.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
W, H = 2048, 1536


def make_photo(path: str | None) -> np.ndarray:
    if path:
        img = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    else:
        from PIL import Image

        from ganstudio import paths

        img = np.asarray(Image.open(paths.SAMPLE_PHOTO).convert("RGB"))
    h, w = img.shape[:2]
    s = max(W / w, H / h)
    img = cv2.resize(img, (max(W, round(w * s)), max(H, round(h * s))), interpolation=cv2.INTER_CUBIC)
    y, x = (img.shape[0] - H) // 2, (img.shape[1] - W) // 2
    return np.ascontiguousarray(img[y:y + H, x:x + W])


def make_mask(seed: int = 7, ratio: float = 0.10) -> np.ndarray:
    """A person-sized ellipse, a wire across the top and two round objects; grown to ``ratio``."""
    rng = np.random.default_rng(seed)
    m = np.zeros((H, W), np.uint8)
    cv2.ellipse(m, (450, 950), (170, 400), float(rng.uniform(-8, 8)), 0, 360, 255, -1)  # a person
    xs = np.linspace(1000, 2047, 12)
    ys = 200 + 40 * np.sin(xs / 300.0 + rng.uniform(0, 3))
    cv2.polylines(m, [np.stack([xs, ys], 1).astype(np.int32)], False, 255, 12)  # a wire
    r = 100
    while True:  # two round objects (a bin, a sign), grown until the mask covers ``ratio``
        mm = m.copy()
        cv2.circle(mm, (1250, 1250), r, 255, -1)
        cv2.circle(mm, (1800, 800), r, 255, -1)
        if (mm > 0).mean() >= ratio or r > 400:
            return mm
        r += 2


def _one(args: argparse.Namespace) -> dict:
    import torch

    from ganstudio.tasks.base import TaskContext, TaskInputs, drive
    from ganstudio.tasks.inpaint import InpaintRequest, run

    torch.set_num_threads(args.threads)
    img = make_photo(args.photo)
    mask = make_mask(args.seed)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if args.model == "baseline":
        return {"peak_rss": base}
    model = args.model
    if model == "lama-random":
        from safetensors.torch import save_file

        from ganstudio.models.lama_checkpoint import build_lama

        torch.manual_seed(0)
        sd = {k: v.contiguous() for k, v in build_lama().state_dict().items()}
        model = str(Path(args.tmp) / "lama_random.safetensors")
        save_file(sd, model)
        del sd
    ctx = TaskContext(device=args.device, threads=args.threads)
    req = InpaintRequest(model_id=model, strategy=args.strategy)
    warm = np.ascontiguousarray(img[:256, :256])
    wm = np.zeros((256, 256), np.uint8)
    wm[100:150, 100:150] = 255
    drive(run(TaskInputs(image=warm, mask=wm), InpaintRequest(model_id=model, strategy="original"), ctx))
    t0 = time.perf_counter()
    res = drive(run(TaskInputs(image=img, mask=mask), req, ctx))
    dt = time.perf_counter() - t0
    changed = (res.image != img).any(axis=2)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = {"seconds": round(dt, 2), "peak_rss": peak, "regions": res.info.get("regions"),
           "outside_changed": int((changed & ~(cv2.dilate(mask, np.ones((15, 15), np.uint8)) > 0)).sum())}
    if torch.cuda.is_available() and args.device != "cpu":
        out["cuda_peak"] = torch.cuda.max_memory_allocated()
    return out


CONFIGS = [("baseline", "-"), ("opencv.telea", "crop"), ("opencv.ns", "crop"),
           ("builtin.inpaint-compact", "crop"), ("builtin.inpaint-compact", "resize"),
           ("builtin.inpaint-compact", "original"),
           ("lama-random", "crop"), ("lama-random", "resize"), ("lama-random", "original")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photo", default="", help="any photo (default: the bundled sample, upscaled)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="")
    ap.add_argument("--only", default="", help="comma-separated model ids to run")
    ap.add_argument("--one", nargs=2, metavar=("MODEL", "STRATEGY"), help=argparse.SUPPRESS)
    ap.add_argument("--tmp", default="/tmp", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        a.model, a.strategy = a.one
        print(json.dumps(_one(a)))
        return 0
    mask = make_mask(a.seed)
    results = []
    for model, strategy in CONFIGS:
        if a.only and model not in a.only.split(",") and model != "baseline":
            continue
        cmd = [sys.executable, __file__, "--one", model, strategy, "--threads", str(a.threads),
               "--device", a.device, "--seed", str(a.seed)] + (["--photo", a.photo] if a.photo else [])
        p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if p.returncode != 0:
            print(p.stderr[-2000:], file=sys.stderr)
            results.append({"model": model, "strategy": strategy, "error": p.stderr.strip().splitlines()[-1]})
            continue
        r = json.loads(p.stdout.strip().splitlines()[-1])
        r.update(model=model, strategy=strategy)
        results.append(r)
        print(json.dumps(r), flush=True)
    cpu = platform.processor() or platform.machine()
    lines = [f"Photo {W}x{H}, mask {100 * (mask > 0).mean():.1f} % (seed {a.seed}), device {a.device}, "
             f"{a.threads} thread(s), {cpu}, torch threads={a.threads}.", "",
             "| model | strategy | time (s) | peak RSS (MiB) | regions |", "|---|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['strategy']} | error: {r['error']} | | |")
            continue
        lines.append(f"| {r['model']} | {r['strategy']} | {r.get('seconds', '-')} | "
                     f"{r['peak_rss'] / 2**20:.0f} | {r.get('regions', '-')} |")
    table = "\n".join(lines)
    print(table)
    if a.out:
        Path(a.out).write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
