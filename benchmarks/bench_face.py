"""Face benchmarks (issue 9): detection backends compared, alignment / paste, slider latency.

    python benchmarks/bench_face.py detect              # blazeface vs dlib on the sample photos
    python benchmarks/bench_face.py align               # FFHQ 1024 align + paste, round-trip PSNR
    python benchmarks/bench_face.py sliders [--threads 2] [--precision fp32 auto] [--repeat 3]

detect: faces found on astronaut, grace_hopper, both side by side, a 30 deg rotated astronaut,
two photos without a face (chelsea, coffee) and a 4000 x 3000 synthetic group photo with six
~64-110 px faces; median time of 3 runs (after one warm-up); for the rotated photo the landmark
error against the rotated landmarks of the upright photo.
sliders: FULL-SIZE random-weight networks of the official shapes (e4e IR-SE-50 encoder + StyleGAN2
1024 generator; real weights cost the same): encoder once per face, then the slider preview
(generator stopped at the 256 px block + paste) and the full 1024 apply (generator + paste), as
FaceEditSession.update runs them; peak RSS of the process.
Numbers go to stdout as JSON lines; docs/FACES.md records them. Run with `nice -n 5`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cpu() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _emit(**kw) -> None:
    kw.setdefault("cpu", _cpu())
    print(json.dumps(kw), flush=True)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _photos() -> dict[str, np.ndarray]:
    import cv2
    from PIL import Image

    from ganstudio import paths

    a = np.asarray(Image.open(paths.SAMPLES / "astronaut.png").convert("RGB"))
    g = np.asarray(Image.open(paths.SAMPLES / "grace_hopper.jpg").convert("RGB"))
    m = cv2.getRotationMatrix2D((256, 256), 30, 1.0)
    rng = np.random.default_rng(0)
    big = cv2.GaussianBlur(rng.integers(80, 170, (3000, 4000, 3)).astype(np.uint8), (0, 0), 4)
    face = a[40:240, 120:330]
    for k, (x, y) in enumerate([(300, 400), (1200, 500), (2500, 700), (3400, 2300), (800, 2400),
                                (2000, 1800)]):
        s = 120 + 40 * (k % 3)
        big[y:y + s, x:x + s] = cv2.resize(face, (s, s), interpolation=cv2.INTER_AREA)
    return {"astronaut": a, "grace_hopper": g,
            "group_2": np.ascontiguousarray(np.concatenate([a, g[:512]], axis=1)),
            "astronaut_rot30": cv2.warpAffine(a, m, (512, 512)),
            "chelsea_noface": np.asarray(Image.open(paths.SAMPLES / "chelsea.png").convert("RGB")),
            "coffee_noface": np.asarray(Image.open(paths.SAMPLES / "coffee.png").convert("RGB")),
            "group_6_4000x3000": big}, m


def bench_detect(args) -> None:
    from ganstudio.tasks.faces.detect import detect_faces, get_backend

    photos, m = _photos()
    expected = {"astronaut": 1, "grace_hopper": 1, "group_2": 2, "astronaut_rot30": 1,
                "chelsea_noface": 0, "coffee_noface": 0, "group_6_4000x3000": 6}
    for be in args.backends:
        try:
            get_backend(be)
        except Exception as exc:  # noqa: BLE001
            _emit(bench="detect", backend=be, error=str(exc))
            continue
        upright = None
        for name, img in photos.items():
            detect_faces(img, backend=be)                        # warm-up
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                faces = detect_faces(img, backend=be)
                times.append(time.perf_counter() - t)
            rec = {"bench": "detect", "backend": be, "photo": name,
                   "size": [int(img.shape[1]), int(img.shape[0])], "found": len(faces),
                   "expected": expected[name], "ms": round(1000 * statistics.median(times), 1)}
            if name == "astronaut" and faces:
                upright = faces[0].points5
            if name == "astronaut_rot30" and faces and upright is not None:
                want = upright @ m[:, :2].T + m[:, 2]
                err = np.linalg.norm(faces[0].points5 - want, axis=1)
                eye = np.linalg.norm(upright[1] - upright[0])
                rec["rot30_landmark_err_px"] = [round(float(e), 2) for e in err]
                rec["rot30_err_rel_eye_dist"] = round(float(err.max() / eye), 3)
            _emit(**rec)


def bench_align(args) -> None:
    from ganstudio.tasks.faces.align import align_face, ffhq_quad
    from ganstudio.tasks.faces.detect import detect_faces
    from ganstudio.tasks.faces.paste import composite, face_mask, paste_face

    photos, _ = _photos()
    for name in ("astronaut", "grace_hopper"):
        img = photos[name]
        f = detect_faces(img)[0]
        q = ffhq_quad(f.points5)
        for size in (256, 1024):
            t = time.perf_counter()
            a = align_face(img, q, size)
            ta = time.perf_counter() - t
            mask = face_mask(a, f.oval)
            t = time.perf_counter()
            p = paste_face(img.shape, a.pixels, a, mask)
            out = composite(img, [p])
            tp = time.perf_counter() - t
            x, y, w, h = p.rect
            sel = np.zeros(img.shape[:2], bool)
            sel[y:y + h, x:x + w] = p.alpha > 0.99
            d = out[sel].astype(float) - img[sel].astype(float)
            _emit(bench="align", photo=name, size=size, qsize=round(a.qsize, 1),
                  align_ms=round(ta * 1000, 1), paste_ms=round(tp * 1000, 1),
                  roundtrip_psnr_db=round(float(10 * np.log10(255 ** 2 / np.mean(d ** 2))), 2))


def bench_sliders(args) -> None:
    import torch

    from ganstudio.archs.e4e_arch import E4E
    from ganstudio.tasks.device import select_device
    from ganstudio.tasks.face_edit import FaceEditRequest, FaceEditSession, FaceModels, set_model_factory
    from ganstudio.tasks.base import TaskContext, TaskInputs, drive

    torch.manual_seed(0)
    t = time.perf_counter()
    e4e = E4E().eval()                 # official 1024 shapes, random weights
    build_s = time.perf_counter() - t
    nparams = sum(p.numel() for p in e4e.parameters())

    class Dirs:
        def __init__(self) -> None:
            self.d = {"smile": np.random.default_rng(0).standard_normal((1, 512)).astype(np.float32)}

        def has(self, n):
            return n in self.d

        def names(self):
            return list(self.d)

        def apply(self, w, edits):
            return w + sum(v * self.d[k] for k, v in edits.items())

    photos, _ = _photos()
    img = photos["astronaut"]
    for prec in args.precision:
        dev = select_device("cpu", precision=prec, threads=args.threads)
        set_model_factory(lambda req, ctx, age, dev=dev: FaceModels(e4e, dev=dev, directions=Dirs(),
                                                                     ids={"model": "random-1024"}))
        ctx = TaskContext(device="cpu", precision=prec, threads=args.threads)
        s = FaceEditSession()
        t = time.perf_counter()
        drive(s.prepare(TaskInputs(image=img), FaceEditRequest(), ctx))
        prep = time.perf_counter() - t
        prev, full, gen_prev, gen_full, cpu_prev, cpu_full = [], [], [], [], [], []
        for k in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            drive(s.update(FaceEditRequest(edits=(("smile", 0.5 + k),), preview=True), ctx))
            prev.append(time.perf_counter() - t)
            cpu_prev.append(time.process_time() - c)
            gen_prev.append(s.stats["generator_s"])
        for k in range(max(1, args.repeat - 1)):
            t, c = time.perf_counter(), time.process_time()
            drive(s.update(FaceEditRequest(edits=(("smile", 1.0 + k),)), ctx))
            full.append(time.perf_counter() - t)
            cpu_full.append(time.process_time() - c)
            gen_full.append(s.stats["generator_s"])
        _emit(bench="sliders", precision=dev.precision, threads=args.threads, params=nparams,
              build_s=round(build_s, 2), prepare_s=round(prep, 2),
              detect_s=round(s.stats.get("detect_s", 0), 3), encoder_s=round(s.stats.get("encoder_s", 0), 2),
              preview_s_median=round(statistics.median(prev), 3), preview_s_all=[round(x, 3) for x in prev],
              preview_generator_s=round(statistics.median(gen_prev), 3),
              apply_1024_s_median=round(statistics.median(full), 3),
              apply_generator_s=round(statistics.median(gen_full), 3),
              preview_cpu_s=round(statistics.median(cpu_prev), 3),
              apply_cpu_s=round(statistics.median(cpu_full), 3),
              load_avg=round(os.getloadavg()[0], 1), peak_rss_mb=round(_rss_mb(), 1))
        s.close()
    set_model_factory(None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("detect")
    d.add_argument("--backends", nargs="+", default=["blazeface", "dlib"])
    d.add_argument("--repeat", type=int, default=3)
    sub.add_parser("align")
    s = sub.add_parser("sliders")
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--precision", nargs="+", default=["fp32", "auto"])
    s.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    {"detect": bench_detect, "align": bench_align, "sliders": bench_sliders}[args.cmd](args)


if __name__ == "__main__":
    main()
