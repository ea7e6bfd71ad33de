"""Composite benchmark: a 6000x4000 document with 5 layers, mixed blend modes / opacity / mask.

Prints the median time of a full composite (uint8, straight alpha; uint16; display) and of a
512x512 dirty rect. Run: ``python benchmarks/bench_composite.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from ganstudio.core.compositing import composite, composite_for_display
from ganstudio.core.document import Document
from ganstudio.core.geometry import Rect
from ganstudio.core.layers import BlendMode, RasterLayer

W, H = 6000, 4000


def build_document(seed: int = 0) -> Document:
    rng = np.random.default_rng(seed)
    doc = Document(W, H)

    def noise(h: int, w: int, alpha: int | None) -> np.ndarray:
        # cheap structured content: a small random image tiled up (random bytes of 24 MP are slow)
        small = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 4), dtype=np.uint8)
        px = np.ascontiguousarray(np.repeat(np.repeat(small, 8, 0), 8, 1)[:h, :w])
        if alpha is not None:
            px[..., 3] = alpha
        return px

    doc.add_layer(RasterLayer("background", noise(H, W, 255)))
    doc.add_layer(RasterLayer("multiply", noise(H, W, None), blend_mode=BlendMode.MULTIPLY,
                              opacity=0.8))
    over = RasterLayer("screen, masked", noise(H - 500, W - 1000, 200), blend_mode=BlendMode.SCREEN,
                       offset=(700, 300))
    over.set_mask(noise(H - 500, W - 1000, None)[..., 0].copy())
    doc.add_layer(over)
    doc.add_layer(RasterLayer("overlay", noise(H, W, None), blend_mode=BlendMode.OVERLAY, opacity=0.6))
    doc.add_layer(RasterLayer("normal 50%", noise(H, W, None), opacity=0.5, offset=(-300, 200)))
    return doc


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rect-runs", type=int, default=30)
    args = ap.parse_args()
    doc = build_document()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, numpy "
          f"{np.__version__}")
    print(f"document {W}x{H}, layers: " + ", ".join(
        f"{la.name} ({la.blend_mode.value}, {la.opacity:.0%})" for la in doc.layers))
    dirty = Rect(2500, 1700, 512, 512)
    rows = [
        ("512x512 dirty rect, uint8", lambda: composite(doc, dirty), args.rect_runs),
        ("512x512 dirty rect, display (premultiplied)", lambda: composite_for_display(doc, dirty),
         args.rect_runs),
        ("512x512 dirty rect, uint16", lambda: composite(doc, dirty, dtype=np.uint16), args.rect_runs),
        ("full 6000x4000, uint8", lambda: composite(doc), args.runs),
        ("full 6000x4000, uint16", lambda: composite(doc, dtype=np.uint16), args.runs),
    ]
    print(f"{'case':48s} {'median ms':>10s}")
    for name, fn, runs in rows:
        print(f"{name:48s} {median_ms(fn, runs):10.1f}")


if __name__ == "__main__":
    main()
