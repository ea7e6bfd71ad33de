"""Undo memory and brush speed: 100 brush strokes on a 24-megapixel (6000x4000) RGBA layer.

Each stroke is what the canvas does for a mouse drag: history.begin(), one ``stroke()`` call per
mouse-move segment (8 px apart), history.end(). Prints the undo memory after the 100 strokes
(vs. a full copy of the layer per stroke), stroke / segment times and undo / redo times.
Run: ``python benchmarks/bench_undo.py [--strokes N]``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time

import numpy as np

from ganstudio.core.brush import Brush, stroke
from ganstudio.core.document import Document
from ganstudio.core.geometry import TILE
from ganstudio.core.layers import RasterLayer

W, H = 6000, 4000


def drag_path(rng: np.random.Generator, length: float = 400.0, step: float = 8.0) -> list[tuple[float, float]]:
    x, y = rng.uniform(200, W - 200), rng.uniform(200, H - 200)
    angle = rng.uniform(0, 2 * math.pi)
    pts = [(x, y)]
    for _ in range(int(length / step)):
        angle += rng.normal(0, 0.15)
        x = min(max(x + step * math.cos(angle), 0), W - 1)
        y = min(max(y + step * math.sin(angle), 0), H - 1)
        pts.append((x, y))
    return pts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--strokes", type=int, default=100)
    ap.add_argument("--size", type=float, default=40.0)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    doc = Document(W, H, memory_limit=8 << 30)
    px = np.empty((H, W, 4), np.uint8)
    px[...] = (200, 180, 160, 255)
    layer = doc.add_layer(RasterLayer("photo", px))
    doc.history.clear()
    brush = Brush(size=args.size, hardness=0.6, opacity=0.8, color=(20, 40, 200))

    stroke_ms, segment_ms = [], []
    for _ in range(args.strokes):
        path = drag_path(rng)
        t0 = time.perf_counter()
        doc.history.begin("Brush stroke")
        for a, b in zip(path, path[1:]):
            t = time.perf_counter()
            stroke(doc, layer, [a, b], brush)
            segment_ms.append((time.perf_counter() - t) * 1000)
        doc.history.end()
        stroke_ms.append((time.perf_counter() - t0) * 1000)

    steps = doc.history._undo
    tiles = sum(len(c.before) for s in steps for c in s.commands if hasattr(c, "before"))
    mem = doc.history.nbytes
    t = time.perf_counter()
    doc.history.undo()
    undo_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    doc.history.redo()
    redo_ms = (time.perf_counter() - t) * 1000

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU cores, numpy {np.__version__}")
    print(f"layer {W}x{H} RGBA8 ({layer.pixels.nbytes / 2**20:.0f} MiB), brush size {args.size:g}, "
          f"{args.strokes} strokes of ~400 px, {len(segment_ms)} mouse-move segments")
    print(f"undo steps kept                     {len(steps)}")
    print(f"tiles stored (256x256, before+after) {tiles}  ({tiles / len(steps):.1f} per stroke)")
    print(f"undo memory after {args.strokes} strokes        {mem / 2**20:.1f} MiB "
          f"({mem / len(steps) / 2**20:.2f} MiB per stroke; a full layer copy is "
          f"{layer.pixels.nbytes / 2**20:.0f} MiB)")
    print(f"bytes per stored tile pair          {mem / max(tiles, 1) / (TILE * TILE * 4):.2f} x tile")
    print(f"stroke time (begin..end) median     {statistics.median(stroke_ms):.1f} ms")
    print(f"segment (one mouse move) median     {statistics.median(segment_ms):.2f} ms, "
          f"p95 {np.percentile(segment_ms, 95):.2f} ms")
    print(f"undo / redo of one stroke           {undo_ms:.1f} / {redo_ms:.1f} ms")


if __name__ == "__main__":
    main()
