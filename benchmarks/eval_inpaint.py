"""Quality of the built-in inpainter vs OpenCV Telea / Navier-Stokes on the held-out photos.

    /work/venv/bin/python benchmarks/eval_inpaint.py --data /work/data/photos/train \
        [--weights models/builtin/inpaint_compact.safetensors] [--holdout 7] [--side 512] \
        [--masks 4] [--seed 2024] [--json out.json]

Held-out photos: the same ``holdout_ids`` the training used (``ganstudio train inpaint --holdout 7``,
never trained on). Each photo is resized (INTER_AREA) to ``--side`` px on its long side; for each
one ``--masks`` masks are drawn with ``numpy.random.default_rng(seed + 100 * photo_index + j)``:
even j = free-form strokes (``stroke_mask``), odd j = an object shape (``object_mask``), both
from ganstudio/train/inpaint_masks.py. Every method runs through the real task
(``tasks.inpaint.run``, strategy ``original``, the task's defaults: exactly the mask is replaced;
OpenCV with the task's default radius 5). Metrics are computed only inside the hole: PSNR over
the hole pixels (RGB, 8-bit), SSIM (Gaussian 11x11, sigma 1.5) averaged over hole pixels, and the
texture ratio of issue 12 (mean |gray - GaussianBlur(gray, 1.5)| inside the hole / the same in a
15 px ring around it; the true photo's own ratio is reported as "truth"). The table gives the mean
PSNR / SSIM and the median texture ratio over all samples, per mask family and per photo. CPU,
1 thread, fp32, deterministic. ``builtin`` is the default (network + texture synthesis),
``smooth`` the network alone (``texture=0``). ``--prior`` adds the untrained network, i.e.
GSInpaint's push-pull prior alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ganstudio.tasks.base import TaskContext, TaskInputs, drive  # noqa: E402
from ganstudio.tasks.inpaint import InpaintRequest, run  # noqa: E402
from ganstudio.train.inpaint import load_rgb, psnr, split_photos, ssim  # noqa: E402
from ganstudio.train.inpaint_masks import object_mask, stroke_mask  # noqa: E402


def eval_samples(data: Path, holdout: int, side: int, n_masks: int, seed: int):
    _, held = split_photos(data, holdout)
    for pi, path in enumerate(held):
        img = load_rgb(path, side)
        h, w = img.shape[:2]
        for j in range(n_masks):
            rng = np.random.default_rng(seed + 100 * pi + j)
            kind = "strokes" if j % 2 == 0 else "object"
            m = stroke_mask(rng, h, w) if kind == "strokes" else object_mask(rng, h, w)
            yield path.stem, kind, img, m


def texture_ratio(out: np.ndarray, mask: np.ndarray, ring: int = 15) -> float:
    """Issue 12's texture measure: mean |high-pass| (gray minus its Gaussian blur, sigma 1.5)
    inside the hole / the same in a ``ring`` px ring around it."""
    import cv2

    g = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float32)
    hp = np.abs(g - cv2.GaussianBlur(g, (0, 0), 1.5))
    hole = mask > 0
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring + 1, 2 * ring + 1))
    around = (cv2.dilate(hole.astype(np.uint8), k) > 0) & ~hole
    return float(hp[hole].mean() / max(float(hp[around].mean()), 1e-6))


def evaluate(data: Path, methods: dict[str, tuple[str, float]], holdout: int = 7, side: int = 512,
             n_masks: int = 4, seed: int = 2024, threads: int = 1) -> dict:
    ctx = TaskContext(device="cpu", threads=threads, precision="fp32")
    rows = []
    for stem, kind, img, m in eval_samples(data, holdout, side, n_masks, seed):
        row = {"photo": stem, "mask": kind, "hole_ratio": round(float((m > 0).mean()), 4),
               "truth_texture": texture_ratio(img, m)}
        for name, (mid, texture) in methods.items():
            req = InpaintRequest(model_id=mid, strategy="original", texture=texture)
            out = drive(run(TaskInputs(image=img, mask=m), req, ctx)).image
            assert np.array_equal(out[m == 0], img[m == 0])          # outside: exactly 0 change
            row[f"{name}_psnr"] = psnr(out, img, m)
            row[f"{name}_ssim"] = ssim(out, img, m)
            row[f"{name}_texture"] = texture_ratio(out, m)
        rows.append(row)
    names = list(methods)
    groups = {"all": rows, "strokes": [r for r in rows if r["mask"] == "strokes"],
              "object": [r for r in rows if r["mask"] == "object"]}
    for stem in sorted({r["photo"] for r in rows}):
        groups[stem] = [r for r in rows if r["photo"] == stem]
    summary = {}
    for subset, sel in groups.items():
        summary[subset] = {"n": len(sel),
                           "truth": {"texture": round(float(np.median([r["truth_texture"] for r in sel])), 3)}}
        for name in names:
            summary[subset][name] = {
                "psnr": round(float(np.mean([r[f"{name}_psnr"] for r in sel])), 3),
                "ssim": round(float(np.mean([r[f"{name}_ssim"] for r in sel])), 4),
                "texture": round(float(np.median([r[f"{name}_texture"] for r in sel])), 3)}
    return {"summary": summary, "rows": rows}


def markdown(res: dict, methods: dict) -> str:
    lines = ["| samples | n | truth texture | " +
             " | ".join(f"{m} PSNR / SSIM / texture" for m in methods) + " |",
             "|---|---|---|" + "---|" * len(methods)]
    for subset, s in res["summary"].items():
        cells = " | ".join(f"{s[m]['psnr']:.2f} dB / {s[m]['ssim']:.3f} / {s[m]['texture']:.2f}"
                           for m in methods)
        lines.append(f"| {subset} | {s['n']} | {s['truth']['texture']:.2f} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/work/data/photos/train")
    ap.add_argument("--weights", default="builtin.inpaint-compact")
    ap.add_argument("--holdout", type=int, default=7)
    ap.add_argument("--side", type=int, default=512)
    ap.add_argument("--masks", type=int, default=4)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default="")
    ap.add_argument("--prior", action="store_true",
                    help="also score the untrained network (= its push-pull prior alone): ablation")
    a = ap.parse_args(argv)
    methods = {"builtin": (a.weights, 0.9), "smooth": (a.weights, 0.0), "telea": ("opencv.telea", 0.0),
               "ns": ("opencv.ns", 0.0)}
    if a.prior:
        import tempfile

        import torch
        from safetensors.torch import load_file, save_file

        from ganstudio.archs.gsinpaint_arch import GSInpaint, config_from_state_dict

        torch.manual_seed(0)
        from ganstudio import paths

        net = GSInpaint(**config_from_state_dict(load_file(str(paths.BUILTIN_MODELS / "inpaint_compact.safetensors"))))
        prior = Path(tempfile.mkdtemp()) / "prior.safetensors"
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(prior))
        methods["prior"] = (str(prior), 0.0)
    res = evaluate(Path(a.data), methods, a.holdout, a.side, a.masks, a.seed, a.threads)
    print(markdown(res, methods))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
