"""Scene painting benchmark: seconds per Generate at 256 / 512 / 1024 px output, peak memory.

Runs the real task (``ganstudio.tasks.scene.run``) on a synthetic landscape label map (sky, cloud,
mountain, lake, grass, tree) with the given model, ``--runs`` times per size after one warm-up,
and prints the median wall time and the process's peak RSS growth (``ru_maxrss``) per size.
``--upscale`` resample (default) or realesrgan (the model's output is brought to the size by the
super-resolution task first). SPADE: ``--model spade.ade20k`` once installed.

    python benchmarks/bench_scene.py [--model builtin.scene-compact] [--threads 2] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time

import numpy as np


def landscape(w: int, h: int) -> np.ndarray:
    from ganstudio.core import labels as L

    land = L.load_palette("landscape")
    ids = {n: land.by_name(n).id for n in ("sky", "cloud", "mountain", "lake", "grass", "tree")}
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    m = np.full((h, w), ids["sky"], np.uint8)
    m[(yy < 0.25) & (xx > 0.55)] = ids["cloud"]
    m[yy > 0.45 + 0.12 * np.sin(xx * 9)] = ids["mountain"]
    m[yy > 0.62] = ids["grass"]
    m[(yy > 0.68) & (xx > 0.3) & (xx < 0.85)] = ids["lake"]
    m[(yy > 0.6) & (xx < 0.18)] = ids["tree"]
    return m


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="builtin.scene-compact")
    ap.add_argument("--sizes", default="256,512,1024")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--upscale", default="resample")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    from ganstudio.tasks.base import TaskContext, TaskInputs, drive
    from ganstudio.tasks.scene import SceneRequest, run

    ctx = TaskContext(device="cpu", precision=a.precision, threads=a.threads)
    rows = []
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for s in (int(v) for v in a.sizes.split(",")):
        labels = landscape(s, s)
        req = SceneRequest(model_id=a.model, width=s, height=s, seed=1, upscale=a.upscale)
        drive(run(TaskInputs(labels=labels), req, ctx))          # warm-up (model load, caches)
        times = []
        info = {}
        for _ in range(a.runs):
            t = time.perf_counter()
            res = drive(run(TaskInputs(labels=labels), req, ctx))
            times.append(time.perf_counter() - t)
            info = res.output_layers()[0].info
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rows.append({"size": s, "median_s": round(statistics.median(times), 3),
                     "min_s": round(min(times), 3), "work_size": info.get("work_size"),
                     "upscale": info.get("upscale"), "peak_rss_mb": round(rss / 1024, 1),
                     "peak_rss_growth_mb": round((rss - base_rss) / 1024, 1)})
    meta = {"model": a.model, "cpu": cpu_name(), "cpus_allowed": len(os.sched_getaffinity(0)),
            "threads": a.threads or "all", "precision": a.precision, "runs": a.runs}
    if a.json:
        print(json.dumps({**meta, "rows": rows}))
        return
    print(json.dumps(meta))
    print("| output | model size | to output | median s | min s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['size']}x{r['size']} | {r['work_size'][0]}x{r['work_size'][1]} | {r['upscale']} | "
              f"{r['median_s']} | {r['min_s']} | {r['peak_rss_mb']} |")


if __name__ == "__main__":
    main()
