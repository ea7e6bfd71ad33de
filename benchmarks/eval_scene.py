"""Measured quality of a scene model on the held-out photos' label maps (model card figures).

For each held-out photo (``scene_labeller.HOLDOUT_IDS``: never trained on) the automatic labeller
makes its label map; the model generates a scene from it at 384 px long side (seeds 0 and 1). Per
class present we compare the generated pixels with the real photo's pixels of the same class:

* ``dE``: CIE76 distance between the mean Lab colours (generated vs real);
* ``texture``: std of the high-pass image (L minus its Gaussian blur, sigma 2 px) inside the class,
  generated / real (1.0 = as much fine detail as the photo; 0 = flat colour);
* ``seed_diff``: mean |image(seed 0) - image(seed 1)| in 8-bit levels (how much variations differ);
* ``seam``: mean gradient magnitude of L on the class boundaries (3 px band) divided by the
  photo's; a collage of sources with unmatched light shows hard edges there (> 1).

``--collage-only`` (exemplar models): the exemplar collage alone, without the refining generator
(what the GAN adds is the difference between the two runs).

Also writes a contact sheet (photo | labels | seed 0 | seed 1) to ``--sheet``.

    python benchmarks/eval_scene.py --data /work/data/photos/train --tsv ../shared/data/train_pool.tsv
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np


def lab_of(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def highpass(rgb: np.ndarray) -> np.ndarray:
    L = lab_of(rgb)[..., 0]
    return L - cv2.GaussianBlur(L, (0, 0), 2.0)


def seam(rgb: np.ndarray, labels: np.ndarray) -> float:
    """Mean gradient magnitude of L in a 3 px band around the class boundaries."""
    L = lab_of(rgb)[..., 0]
    g = np.hypot(cv2.Sobel(L, cv2.CV_32F, 1, 0), cv2.Sobel(L, cv2.CV_32F, 0, 1))
    lab = labels.astype(np.uint8)
    edge = (cv2.dilate(lab, np.ones((3, 3), np.uint8)) != cv2.erode(lab, np.ones((3, 3), np.uint8)))
    return float(g[edge].mean()) if edge.any() else 0.0


def collage(model: str, labels: np.ndarray, seed: int, ctx) -> np.ndarray:  # noqa: ANN001
    """The exemplar collage of ``labels`` at their size (multiple of 4), resized back."""
    from ganstudio.tasks.scene import load_scene_model

    sm = load_scene_model(model, ctx)
    if sm.kind != "exemplar":
        raise SystemExit(f"{model} is not an exemplar model")
    h, w = labels.shape
    hh, ww = h // 4 * 4, w // 4 * 4
    small = cv2.resize(labels, (ww, hh), interpolation=cv2.INTER_NEAREST)
    g = sm.module.guide_for(small, seed)[0].permute(1, 2, 0).numpy()
    g = ((g + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_LINEAR)


def main() -> None:
    from ganstudio.tasks.base import TaskContext, TaskInputs, drive
    from ganstudio.tasks.scene import SceneRequest, run
    from ganstudio.train import scene_labeller as SL
    from ganstudio.train.inpaint import list_photos, load_rgb, photo_id

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--tsv", required=True)
    ap.add_argument("--model", default="builtin.scene-exemplar")
    ap.add_argument("--collage-only", action="store_true",
                    help="exemplar models: score the collage without the generator")
    ap.add_argument("--ids", default=",".join(SL.HOLDOUT_IDS))
    ap.add_argument("--sheet", default="")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    tags = SL.read_tags(a.tsv)
    ctx = TaskContext(device="cpu", precision="fp32")
    want = a.ids.split(",")
    per_class: dict[str, dict[str, list[float]]] = {}
    rows, sheet = [], []
    for p in list_photos(Path(a.data)):
        pid = photo_id(p)
        if pid not in want:
            continue
        real = load_rgb(p, 384)
        lab = SL.label_photo(real, tags.get(pid, set()))
        h, w = lab.shape
        if a.collage_only:
            g0, g1 = (collage(a.model, lab, seed, ctx) for seed in (0, 1))
        else:
            res = drive(run(TaskInputs(labels=lab), SceneRequest(model_id=a.model, palette="builtin_scene",
                                                                 variations=2, seed=0, work_size=384), ctx))
            g0, g1 = (la.image for la in res.output_layers())
        lr, lg = lab_of(real), lab_of(g0)
        hr, hg = highpass(real), highpass(g0)
        row = {"photo": pid, "size": [w, h],
               "seed_diff": round(float(np.abs(g0.astype(int) - g1.astype(int)).mean()), 2), "classes": {}}
        for cid, name in enumerate(SL.BUILTIN_CLASSES):
            m = lab == cid
            if m.sum() < 0.02 * m.size or name == "other":
                continue
            de = float(np.linalg.norm(lr[m].mean(0) - lg[m].mean(0)))
            tex = float(hg[m].std() / max(1e-6, hr[m].std()))
            row["classes"][name] = {"dE": round(de, 1), "texture": round(tex, 2),
                                    "fraction": round(float(m.mean()), 3)}
            d = per_class.setdefault(name, {"dE": [], "texture": []})
            d["dE"].append(de)
            d["texture"].append(tex)
        row["seam"] = round(seam(g0, lab) / max(1e-6, seam(real, lab)), 2)
        per_class.setdefault("_seam", {"dE": [], "texture": []})["dE"].append(row["seam"])
        rows.append(row)
        sheet.append(np.concatenate([real, SL.COLORS[lab], g0, g1], 1))
    seams = per_class.pop("_seam", {"dE": [0.0]})["dE"]
    summary = {c: {"n": len(v["dE"]), "dE": round(float(np.mean(v["dE"])), 1),
                   "texture": round(float(np.mean(v["texture"])), 2)} for c, v in per_class.items()}
    out = {"model": a.model, "collage_only": a.collage_only, "photos": rows, "per_class": summary,
           "seam": round(float(np.mean(seams)), 2)}
    if a.sheet and sheet:
        wmax = max(s.shape[1] for s in sheet)
        sheet = [np.pad(s, ((0, 0), (0, wmax - s.shape[1]), (0, 0))) for s in sheet]
        cv2.imwrite(a.sheet, cv2.cvtColor(np.concatenate(sheet, 0), cv2.COLOR_RGB2BGR))
    if a.json:
        print(json.dumps(out))
        return
    for r in rows:
        print(r["photo"], r["size"], "seed_diff", r["seed_diff"], json.dumps(r["classes"]))
    print("| class | n | mean dE (Lab) | texture gen/real |")
    print("|---|---|---|---|")
    for c, v in summary.items():
        print(f"| {c} | {v['n']} | {v['dE']} | {v['texture']} |")
    print("mean seam ratio (boundary gradient, generated / photo):", out["seam"])


if __name__ == "__main__":
    main()
