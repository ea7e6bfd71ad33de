"""File I/O benchmark: a 24 MP JPEG (open / export) and a 5-layer 6000x4000 OpenRaster project.

The images are photo-like (the bundled sample photos upscaled to 6000x4000 plus sensor-like noise),
not random bytes, so codec times resemble real photos. Reference: plain Pillow open+load / save of
the same JPEG, to show what our layer (format sniffing, orientation, metadata, Document, atomic
write) costs on top.

Run: ``python benchmarks/bench_io.py [--runs N] [--write-doc]`` (``--write-doc`` rewrites
docs/benchmarks/io.md with the measured table).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ganstudio import paths
from ganstudio.core.autosave import Autosaver, snapshot
from ganstudio.core.document import Document
from ganstudio.core.io import export_image, load_ora, open_image, save_ora
from ganstudio.core.layers import BlendMode, RasterLayer

W, H = 6000, 4000
ROOT = Path(__file__).resolve().parent.parent


def photo(name: str, w: int, h: int, seed: int) -> np.ndarray:
    """A sample photo resized to w x h (cubic) with mild Gaussian noise: realistic-ish content."""
    src = np.asarray(Image.open(paths.SAMPLES / name).convert("RGB"))
    big = cv2.resize(src, (w, h), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(seed).normal(0, 2.5, (h, w, 1)).astype(np.float32)
    return np.clip(big.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def rgba(rgb: np.ndarray, alpha: np.ndarray | int = 255) -> np.ndarray:
    out = np.empty(rgb.shape[:2] + (4,), np.uint8)
    out[..., :3] = rgb
    out[..., 3] = alpha
    return out


def build_project() -> Document:
    doc = Document(W, H)
    doc.add_layer(RasterLayer("photo", rgba(photo("astronaut.png", W, H, 1))))
    doc.add_layer(RasterLayer("inpaint result", rgba(photo("coffee.png", 2000, 1500, 2)),
                              offset=(2500, 1200), provenance={"task": "inpaint", "seed": 1}))
    strokes = np.zeros((H, W, 4), np.uint8)  # a paint layer: mostly transparent, a few strokes
    for i in range(40):
        y = 100 + i * 95
        cv2.line(strokes, (200, y), (W - 200, (y * 7) % H), (255, 60 + i * 4, 20, 255), 25)
    doc.add_layer(RasterLayer("paint", strokes, opacity=0.8))
    up = RasterLayer("upscaled", rgba(photo("chelsea.png", W, H, 3)), opacity=0.5,
                     blend_mode=BlendMode.SCREEN)
    mask = np.zeros((H, W), np.uint8)
    cv2.circle(mask, (W // 2, H // 2), 1500, 255, -1)
    up.set_mask(cv2.GaussianBlur(mask, (0, 0), 40))
    doc.add_layer(up)
    doc.add_layer(RasterLayer("multiply", rgba(photo("grace_hopper.jpg", W, H, 4)),
                              blend_mode=BlendMode.MULTIPLY, opacity=0.3))
    return doc


def timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write-doc", action="store_true", help="rewrite docs/benchmarks/io.md")
    args = ap.parse_args()
    rows: list[tuple[str, float, str]] = []

    with tempfile.TemporaryDirectory(prefix="bench-io-") as tmp:
        tmp_path = Path(tmp)
        # -- 24 MP JPEG --------------------------------------------------------------------------
        pixels = photo("astronaut.png", W, H, 0)
        jpg = tmp_path / "photo24mp.jpg"
        Image.fromarray(pixels).save(jpg, quality=92)
        size_mb = jpg.stat().st_size / 1e6

        def pil_open():  # what any numpy user pays: decode + array
            with Image.open(jpg) as im:
                return np.asarray(im)

        t_pil_open = timed(pil_open, args.runs)
        t_open = timed(lambda: open_image(jpg), args.runs)
        doc = open_image(jpg)
        out = tmp_path / "export.jpg"
        t_pil_save = timed(lambda: Image.fromarray(pixels).save(tmp_path / "pil.jpg", quality=92,
                                                                optimize=True), args.runs)
        t_save = timed(lambda: export_image(doc, out, quality=92), args.runs)
        rows += [
            (f"open 24 MP JPEG ({size_mb:.1f} MB) -> Document", t_open,
             f"Pillow open + np.asarray: {t_pil_open:.2f} s (x{t_open / t_pil_open:.2f})"),
            ("export 24 MP JPEG q92 (composite + encode + atomic write)", t_save,
             f"Pillow save alone: {t_pil_save:.2f} s (x{t_save / t_pil_save:.2f})"),
        ]
        png = tmp_path / "photo24mp.png"
        t_png_save = timed(lambda: export_image(doc, png), args.runs)
        t_png_open = timed(lambda: open_image(png), args.runs)
        rows += [(f"export 24 MP PNG ({png.stat().st_size / 1e6:.0f} MB, zlib 6)", t_png_save, ""),
                 ("open 24 MP PNG", t_png_open, "")]
        del doc

        # -- 5-layer 6000x4000 ORA --------------------------------------------------------------
        project = build_project()
        ora = tmp_path / "project.ora"
        t_ora_save = timed(lambda: save_ora(project, ora, mark_saved=False), args.runs)
        ora_mb = ora.stat().st_size / 1e6
        t_ora_load = timed(lambda: load_ora(ora), args.runs)
        t_snap = timed(lambda: snapshot(project), args.runs)
        saver = Autosaver(project, tmp_path / "recovery", interval_s=0, background=False)
        project.mark_modified(True)
        t_auto = timed(saver.save_now, args.runs)
        auto_mb = saver.ora_path.stat().st_size / 1e6
        saver.close()
        rows += [
            (f"save 5-layer 6000x4000 .ora ({ora_mb:.0f} MB, zlib 1, 4 threads)", t_ora_save, ""),
            ("open 5-layer 6000x4000 .ora", t_ora_load, ""),
            (f"autosave same project ({auto_mb:.0f} MB, zlib 1, 2 threads)", t_auto,
             "runs on a worker thread"),
            ("autosave part on the UI thread (snapshot copy)", t_snap, ""),
        ]

    cpu = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible"
    lines = ["| operation | median s | reference |", "|---|---:|---|"]
    lines += [f"| {name} | {t:.2f} | {ref} |" for name, t, ref in rows]
    table = "\n".join(lines)
    print(f"bench_io: {cpu}, runs={args.runs}")
    print(table)
    if args.write_doc:
        doc_path = ROOT / "docs" / "benchmarks" / "io.md"
        doc_path.parent.mkdir(parents=True, exist_ok=True)
        doc_path.write_text(
            "# File I/O benchmark\n\n"
            "Measured with `python benchmarks/bench_io.py --runs "
            f"{args.runs} --write-doc` on {cpu} (Python {platform.python_version()}), "
            f"{time.strftime('%Y-%m-%d')}.\n"
            "The machine was shared with other jobs: treat the figures as an upper bound.\n\n"
            "Content: the bundled sample photos resized to 6000x4000 with mild noise (not random "
            "bytes). The project has 5 layers: opaque photo, 2000x1500 inpaint result at an offset, "
            "mostly transparent paint strokes, a screen layer with a feathered mask, a multiply "
            "layer.\n\n" + table + "\n")
        print(f"wrote {doc_path}")


if __name__ == "__main__":
    main()
