"""Training iterations per second of ``ganstudio train style``: FastCUT vs CUT vs CycleGAN.

    .venv/bin/python benchmarks/bench_train_style.py --photos DIR --style DIR \
        [--size 256] [--ngf 32] [--blocks 6] [--steps 5] [--warmup 2] [--threads 1] \
        [--methods fastcut,cut,cyclegan] [--precisions bf16,fp32] [--device cpu] [--json out.json]

Each (method, precision) builds the real trainer (train/style.py) on the same folders and seed,
runs ``--warmup`` steps, then times ``--steps`` steps (wall clock, ``time.perf_counter``).
Report the CPU next to the numbers (``lscpu``); on a shared machine run it when nothing else
heavy runs, and compare methods within one run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ganstudio.train.style import StyleConfig, StyleTrainer  # noqa: E402


def bench(photos: str, style: str, method: str, precision: str, size: int, ngf: int, blocks: int,
          steps: int, warmup: int, threads: int, device: str) -> dict:
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        cfg = StyleConfig(photos=photos, style=style, name="bench", out=tmp, method=method, steps=0,
                          size=size, ngf=ngf, n_blocks=blocks, precision=precision, threads=threads,
                          device=device, register=False, ckpt_minutes=0, preview_every=0)
        t = StyleTrainer(cfg, log=lambda s: None)
        for _ in range(warmup):
            t.train_step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(steps):
            t.train_step()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
    return {"method": method, "precision": precision, "it_s": steps / dt, "s_per_it": dt / steps,
            "size": size, "ngf": ngf, "blocks": blocks, "threads": threads, "device": device}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", required=True)
    ap.add_argument("--style", required=True)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--ngf", type=int, default=32)
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--methods", default="fastcut,cut,cyclegan")
    ap.add_argument("--precisions", default="bf16,fp32")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    from ganstudio.tasks.device import cpu_model_name

    rows = []
    for prec in a.precisions.split(","):
        for m in a.methods.split(","):
            r = bench(a.photos, a.style, m, prec, a.size, a.ngf, a.blocks, a.steps, a.warmup,
                      a.threads, a.device)
            rows.append(r)
            print(f"{m:9s} {prec:5s} {r['it_s']:.3f} it/s ({r['s_per_it']:.2f} s/it)", flush=True)
    print(f"CPU: {cpu_model_name()}, {a.threads} thread(s); {a.size} px, ngf {a.ngf}, {a.blocks} blocks, batch 1")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
