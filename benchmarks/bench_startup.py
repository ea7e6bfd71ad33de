"""CLI start-up: whole-process wall time of small commands, in-process ("cold": imports torch each
time) against the warm worker (`ganstudio worker start`: commands forked from a process that has
torch and the task modules imported). Paired: the runs alternate cold / warm.

    python benchmarks/bench_startup.py [--runs 5] [--markdown docs/benchmarks/startup.md]

Target (issue 15): start-up under 2 s warm. The machine, the CPU and the load are printed with
the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ganstudio.tasks.device import cpu_model_name

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    return dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--markdown", type=Path, help="write the table here")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gs_startup_"))
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(work / "in64.png")
    mask = np.zeros((64, 64), np.uint8)
    mask[20:40, 20:40] = 255
    Image.fromarray(mask).save(work / "mask64.png")
    labels = np.full((64, 64), 1, np.uint8)        # landscape palette: sky over mountain over lake
    labels[30:] = 3
    labels[46:] = 14
    Image.fromarray(labels).save(work / "labels64.png")
    # a private copy of the package: an edit to the checkout while this runs would (rightly) make
    # the worker stale and every later command run in-process
    import shutil

    import ganstudio

    snap = work / "snap"
    shutil.copytree(Path(ganstudio.__file__).resolve().parent, snap / "ganstudio",
                    ignore=shutil.ignore_patterns("__pycache__", "_data"))
    for name in ("resources", "models"):
        (snap / name).symlink_to(ROOT / name)
    py = [sys.executable, "-m", "ganstudio"]
    env = {**os.environ, "GANSTUDIO_WORKER_SOCKET": str(work / "bench.sock"), "PYTHONPATH": str(snap)}
    env.pop("GANSTUDIO_NO_WORKER", None)
    cold_env = {**env, "GANSTUDIO_NO_WORKER": "1"}
    commands = {
        "`ganstudio info`": ["info"],
        "`upscale` 64 px, animevideov3-x4": ["upscale", "in64.png", "-o", "up.png", "--overwrite",
                                              "--model", "realesrgan.animevideov3-x4"],
        "`inpaint` 64 px, built-in": ["inpaint", "in64.png", "mask64.png", "-o", "in.png"],
        "`scene` 64 px, built-in": ["scene", "labels64.png", "-o", "scene.png", "--overwrite"],
    }
    torch_import = [timed([sys.executable, "-c", "import torch"], cold_env, work) for _ in range(args.runs)]
    start = subprocess.run([*py, "worker", "start", "--json"], env=env, cwd=work, capture_output=True, text=True)
    if start.returncode != 0:
        raise SystemExit(start.stderr)
    ready_s = json.loads(start.stdout)["ready_s"]
    rows = []
    try:
        for label, argv in commands.items():
            timed([*py, *argv], env, work)           # first warm run: page cache, conversion cache
            cold, warm = [], []
            for _ in range(args.runs):
                cold.append(timed([*py, *argv], cold_env, work))
                warm.append(timed([*py, *argv], env, work))
            rows.append((label, statistics.median(cold), statistics.median(warm)))
            print(f"{label}: cold median {rows[-1][1]:.2f} s, warm median {rows[-1][2]:.2f} s", flush=True)
    finally:
        subprocess.run([*py, "worker", "stop"], env=env, cwd=work, capture_output=True)
    load = os.getloadavg()
    head = (f"Measured {time.strftime('%Y-%m-%d')} on {cpu_model_name()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, load average {load[0]:.1f} while measuring; "
            f"medians of {args.runs} paired runs (cold and warm alternate), whole process wall time.\n"
            f"Command: `python benchmarks/bench_startup.py --runs {args.runs}`.")
    lines = ["# CLI start-up (benchmarks/bench_startup.py)", "", head, "",
             f"`python -c 'import torch'` alone: median {statistics.median(torch_import):.2f} s. "
             f"`ganstudio worker start` (import torch + every task and network module once): "
             f"{ready_s:.1f} s.", "",
             "| command | cold (in-process) | warm (worker) | target warm | met |", "|---|---|---|---|---|"]
    for label, c, w in rows:
        lines.append(f"| {label} | {c:.2f} s | {w:.2f} s | < 2 s | {'yes' if w < 2 else 'no'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text + _NOTES, encoding="utf-8")
    return 0


_NOTES = """
Cold = `GANSTUDIO_NO_WORKER=1`: a new Python imports torch (most of the time), the command, the
model, then runs. Warm = a worker started with `ganstudio worker start` forks the command: torch and
the modules are already imported; the model file is still read and the network built per command
(page cache), and the first forward pass still pays oneDNN's kernel set-up. The worker serves the
same user and installation only, and only when the import-time settings (threads, ISA, visible
devices) match; otherwise the command runs in-process.
"""


if __name__ == "__main__":
    sys.exit(main())
