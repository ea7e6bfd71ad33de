"""Checks for the install smoke tests (packaging/smoke_set.sh). Runs on the CI side with any Python
that has numpy + Pillow + OpenCV (the checkout's .venv); the app under test runs without it.

    python smoke_check.py images WORK SAMPLE_PHOTO      -> WORK/small.png, mask.png, gray.png
    python smoke_check.py info INFO.json CHECKOUT LAYOUT
    python smoke_check.py models MODELS.json
    python smoke_check.py size IMAGE W H
    python smoke_check.py inpaint SMALL MASK OUT
    python smoke_check.py colorize OUT
    python smoke_check.py changed SMALL OUT             (stylize: same size, visibly changed)
    python smoke_check.py scene LABELS OUT
    python smoke_check.py face FACE.json
    python smoke_check.py tasks TASKS.json
    python smoke_check.py worker STATUS.json
    python smoke_check.py screenshot SHOT.png SAMPLE_PHOTO
    python smoke_check.py no-checkout-reads STRACE_LOG CHECKOUT
    python smoke_check.py wheel DIST_DIR CHECKOUT
"""

from __future__ import annotations

import json
import os
import re
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


def fail(msg: str) -> None:
    print(f"SMOKE FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def load(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(np.float64)


def images(work: str, sample: str) -> None:
    w = Path(work)
    photo = Image.open(sample).convert("RGB")
    small = photo.crop((160, 60, 160 + 96, 60 + 96))  # the astronaut's face, 96x96
    small.save(w / "small.png")
    mask = np.zeros((96, 96), np.uint8)
    mask[36:60, 30:66] = 255
    Image.fromarray(mask).save(w / "mask.png")
    small.convert("L").convert("RGB").save(w / "gray.png")
    small.resize((48, 48), Image.LANCZOS).save(w / "tiny.png")  # x4plus is the slow one
    # a label map in the built-in scene palette: sky / mountain / grass with a pond
    labels = np.zeros((96, 96), np.uint8)
    labels[:40], labels[40:64], labels[64:] = 1, 3, 5
    labels[70:90, 10:40] = 6
    Image.fromarray(labels).save(w / "labels.png")
    print("inputs: small.png 96x96, tiny.png 48x48, mask.png, gray.png, labels.png")


def info(path: str, checkout: str, layout: str) -> None:
    d = json.loads(Path(path).read_text())
    if not d.get("ok"):
        fail(f"info not ok: {d}")
    ps = d.get("paths", {})
    for k in ("resources", "samples", "models", "catalog", "builtin_models"):
        p = Path(ps[k]).resolve()
        if not p.is_dir():
            fail(f"info: {k} {p} is not a folder")
        if Path(checkout).resolve() in [p, *p.parents]:
            fail(f"info: {k} {p} is inside the checkout {checkout}")
        if "_data" not in p.parts:
            fail(f"info: {k} {p} is not the installed ganstudio/_data")
    if not (d.get("torch") or {}).get("version"):  # torch must import in the installed app
        fail(f"info: torch is not importable: {d.get('torch')}")
    if layout == "bundle" and "_internal" not in Path(ps["resources"]).parts:
        fail(f"info: resources {ps['resources']} is not inside the bundle")
    print(f"info ok: data at {Path(ps['resources']).parent}, torch {d.get('torch', {}).get('version')}")


def models(path: str) -> None:
    d = json.loads(Path(path).read_text())
    rows = d.get("models") or []
    if not rows:
        fail("models list is empty")
    builtin = [r for r in rows if r.get("kind") == "builtin"]
    offline = [r for r in rows if r.get("available_offline")]
    if not builtin:
        fail("no built-in model in the catalog")
    bad = [r["id"] for r in builtin if not r.get("installed")]
    if bad:
        fail(f"built-in models not installed: {bad}")
    # SMOKE_KNOWN_MISSING="id ...": local runs only (CI never sets it), to see the rest of the set
    known = set(os.environ.get("SMOKE_KNOWN_MISSING", "").split())
    pkg = [r["id"] for r in rows if r.get("kind") == "package" and not r.get("available_offline")
           and r["id"] not in known]
    if pkg:
        fail(f"package models not available offline: {pkg}")
    print(f"models ok: {len(rows)} entries, {len(builtin)} built-in installed, {len(offline)} offline")


def size(path: str, w: str, h: str) -> None:
    im = Image.open(path)
    if im.size != (int(w), int(h)):
        fail(f"{path}: size {im.size}, expected {(int(w), int(h))}")
    a = load(path)
    if a.std() < 5:
        fail(f"{path}: flat image (std {a.std():.2f})")
    print(f"{Path(path).name} ok: {im.size[0]}x{im.size[1]}, std {a.std():.1f}")


def inpaint(small: str, mask: str, out: str) -> None:
    a, b = load(small), load(out)
    m = np.asarray(Image.open(mask).convert("L")) > 127
    if a.shape != b.shape:
        fail(f"inpaint: shape {b.shape} != {a.shape}")
    outside = np.abs(a - b)[~m].mean()
    inside = np.abs(a - b)[m].mean()
    if outside > 2.0 or inside < 1.0:
        fail(f"inpaint: change outside the mask {outside:.2f}, inside {inside:.2f}")
    print(f"inpaint ok: mean change inside the mask {inside:.1f}, outside {outside:.2f}")


def colorize(out: str) -> None:
    a = load(out)
    chroma = np.abs(a - a.mean(axis=2, keepdims=True)).mean()
    if chroma < 0.5:
        fail(f"colorize: output is still gray (chroma {chroma:.2f})")
    print(f"colorize ok: mean chroma {chroma:.1f}")


def changed(small: str, out: str) -> None:
    a, b = load(small), load(out)
    if a.shape != b.shape:
        fail(f"{out}: shape {b.shape} != {a.shape}")
    diff = np.abs(a - b).mean()
    if diff < 3.0 or b.std() < 5:
        fail(f"{out}: hardly changed (mean change {diff:.2f}, std {b.std():.1f})")
    print(f"{Path(out).name} ok: mean change {diff:.1f}")


def scene(labels: str, out: str) -> None:
    lab = np.asarray(Image.open(labels))
    b = load(out)
    if b.shape[:2] != lab.shape:
        fail(f"scene: shape {b.shape} != {lab.shape}")
    sky, grass = b[lab == 1].mean(axis=0), b[lab == 5].mean(axis=0)
    if b.std() < 5 or np.abs(sky - grass).sum() < 30:
        fail(f"scene: sky {sky.round()} and grass {grass.round()} are not told apart")
    print(f"scene ok: sky {sky.round().tolist()}, grass {grass.round().tolist()}")


def face(path: str) -> None:
    d = json.loads(Path(path).read_text())
    faces = d.get("faces") or []
    if not d.get("ok") or len(faces) != 1:
        fail(f"face detect: expected the astronaut's face, got {len(faces)}: {d}")
    x0, y0, x1, y1 = faces[0]["box"]
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if not (180 < cx < 270 and 80 < cy < 160):  # the face of resources/samples/astronaut.png
        fail(f"face detect: box {faces[0]['box']} is not on the face")
    print(f"face ok: box {[round(v) for v in faces[0]['box']]}, score {faces[0].get('score')}, "
          f"age {faces[0].get('apparent_age')}")


def tasks(path: str) -> None:
    d = json.loads(Path(path).read_text())
    names = {t["name"] for t in d.get("tasks") or []}
    need = {"super_resolution", "inpaint", "colorize", "style_transfer", "scene"}
    if not d.get("ok") or not need <= names:
        fail(f"tasks: {sorted(need - names)} not registered ({sorted(names)})")
    print(f"tasks ok: {len(names)} registered")


def worker(path: str) -> None:
    d = json.loads(Path(path).read_text())
    served = d.get("commands_served", d.get("served"))
    if not d.get("worker") or not served:
        fail(f"worker: not running or served no command: {d}")
    print(f"worker ok: {served} command(s) served")


def screenshot(shot: str, sample: str) -> None:
    import cv2

    img = cv2.imread(shot, cv2.IMREAD_COLOR)
    if img is None or img.shape[0] < 600 or img.shape[1] < 800:
        fail(f"screenshot {shot} missing or small")
    if img.std() < 20:
        fail("screenshot is blank")
    photo = cv2.imread(sample, cv2.IMREAD_COLOR)
    res = cv2.matchTemplate(img, photo[40:300, 120:380], cv2.TM_CCOEFF_NORMED)
    best = float(res.max())
    if best < 0.95:
        fail(f"sample photo not found in the screenshot (correlation {best:.3f})")
    print(f"screenshot ok: {img.shape[1]}x{img.shape[0]}, sample photo on screen (correlation {best:.3f})")


def no_checkout_reads(log: str, checkout: str) -> None:
    root = str(Path(checkout).resolve()).rstrip("/") + "/"
    hits = []
    for line in Path(log).read_text(errors="replace").splitlines():
        m = re.search(r'(?:open|openat|openat2|stat|newfstatat|statx|execve)\((?:AT_FDCWD, |\d+, )?"([^"]+)"', line)
        if not m or "ENOENT" in line:
            continue
        # the path as opened, and where it really is (a symlink into the checkout counts)
        if (m.group(1) + "/").startswith(root) or (os.path.realpath(m.group(1)) + "/").startswith(root):
            hits.append(line.strip())
    if hits:
        fail("files of the checkout were read:\n  " + "\n  ".join(hits[:20]))
    print(f"no reads from the checkout ({Path(log).name})")


def wheel(dist: str, checkout: str) -> None:
    sys.path.insert(0, str(Path(checkout) / "packaging" / "build_backend"))
    import ganstudio_build

    (whl,) = Path(dist).glob("ganstudio-*.whl")
    (sd,) = Path(dist).glob("ganstudio-*.tar.gz")
    names = set(zipfile.ZipFile(whl).namelist())
    data = ganstudio_build.data_files(checkout)
    missing = [d for d in data if f"ganstudio/_data/{d}" not in names]
    if missing:
        fail(f"not in the wheel: {missing[:10]}")
    with tarfile.open(sd) as tf:
        snames = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    missing = [d for d in data if d not in snames]
    if missing:
        fail(f"not in the sdist: {missing[:10]}")
    cat = [d for d in data if d.startswith("models/catalog/") and d.endswith(".toml")]
    wts = [d for d in data if d.startswith("models/builtin/")]
    print(f"wheel ok: {whl.name} {os.path.getsize(whl) / 1e6:.1f} MB, sdist {os.path.getsize(sd) / 1e6:.1f} MB; "
          f"{len(data)} data files ({len(cat)} catalog, {len(wts)} built-in model files)")


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    {"images": images, "info": info, "models": models, "size": size, "inpaint": inpaint,
     "colorize": colorize, "changed": changed, "scene": scene, "face": face, "tasks": tasks,
     "worker": worker, "screenshot": screenshot, "no-checkout-reads": no_checkout_reads,
     "wheel": wheel}[cmd](*args)
