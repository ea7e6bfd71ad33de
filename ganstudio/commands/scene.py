"""``ganstudio scene LABELS.png -o OUT [--model ID] [--palette landscape|ade20k|coco] [--size WxH]
[--seed N] [--json]`` and ``ganstudio scene --palettes [--json]``.

LABELS: a class-id PNG (8/16-bit grey or paletted: pixel value = class id) or a palette-colour PNG
(RGB: the colours of ``--palette``; without ``--palette`` the label set whose colours match every
pixel is used). Ids are those of ``--palette``; default: ``landscape`` for the built-in model, the
model's own label set (ade20k / coco / cityscapes) for SPADE models. ``--photo`` + ``--mask`` put
the generated scene into a photo (only where the mask is white, feathered edge).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from .device_args import add_device_arguments, task_context

DEFAULT_MODEL = "builtin.scene-exemplar"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "scene", help="turn a painted label map (sky, mountains, water ...) into a photo",
        description="Scene painting (GauGAN-style). Offline: the built-in model "
                    f"({DEFAULT_MODEL}); downloads: spade.ade20k, spade.coco, spade.cityscapes "
                    "(CC BY-NC-SA 4.0, non-commercial). `ganstudio scene --palettes` lists the label sets.")
    p.add_argument("labels", nargs="?", metavar="LABELS.png", help="class-id or palette-colour PNG")
    p.add_argument("-o", "--output", metavar="OUT", help="output image (.png, .jpg, .webp, .tif)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"scene model id or weights file (default {DEFAULT_MODEL})")
    p.add_argument("--palette", default=None,
                   help="label set of LABELS: landscape | ade20k | coco | cityscapes | builtin | a .json file")
    p.add_argument("--size", default=None, metavar="WxH", help="output size (default: the label map's)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (built-in model; default 0)")
    p.add_argument("--variations", type=int, default=1,
                   help="write N results (seeds seed..seed+N-1) as OUT_1, OUT_2 ...")
    p.add_argument("--work-size", type=int, default=0, help="long side the model runs at (0 = the model's)")
    p.add_argument("--upscale", default="auto",
                   help="auto | resample | realesrgan | an SR model id: how the model's output reaches --size")
    p.add_argument("--photo", default=None, help="put the scene into this photo (with --mask)")
    p.add_argument("--mask", default=None, help="white = generate here (default with --photo: the painted pixels)")
    p.add_argument("--feather", type=float, default=8.0, help="soft edge of the masked result in px")
    p.add_argument("--palettes", action="store_true", help="list the label sets and their classes")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    add_device_arguments(p)
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(handler=run)


def _parse_size(text: str | None) -> tuple[int, int]:
    from .errors import CliError

    if not text:
        return 0, 0
    try:
        w, h = (int(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise CliError(f"--size must be WxH, e.g. 1024x768 (got {text!r})") from None
    if w < 1 or h < 1:
        raise CliError(f"--size must be positive (got {text!r})")
    return w, h


def list_palettes(as_json: bool) -> int:
    from ..core import labels as L

    sets = [L.load_palette(n) for n in L.palette_names()]
    if as_json:
        print(json.dumps({"ok": True, "palettes": [
            {"name": s.name, "title": s.title, "description": s.description, "unlabelled": s.unlabelled,
             "classes": [c.to_dict() for c in s.classes]} for s in sets]}))
        return 0
    for s in sets:
        print(f"{s.name}: {s.title} - {len(s.classes)} classes")
        line = "   "
        for c in s.classes:
            item = f" {c.id}={c.name}"
            if len(line) + len(item) > 100:
                print(line)
                line = "   "
            line += item
        print(line)
    return 0


def default_palette(model: str) -> str:
    """landscape for the built-in model, the model's own label set for catalog SPADE models."""
    try:
        from ..models.catalog import default_catalog

        cat = default_catalog()
        entry = cat.get(model) if model in cat else None
    except Exception:  # noqa: BLE001 - a file path or an unknown id: the task reports it
        entry = None
    if entry is None or getattr(entry, "arch", "") != "spade":
        return "landscape"
    from ..tasks.scene import model_label_set

    return model_label_set(entry)


def read_labels(path: str, palette: str | None, fallback: str) -> tuple[Any, str]:
    """(labels, palette name) from a PNG; RGB without --palette: the label set matching its colours."""
    import numpy as np
    from PIL import Image

    from ..core import labels as L
    from .errors import CliError

    try:
        if palette:
            ls = L.load_palette(palette)
            return L.read_label_png(path, ls), ls.name
        im = L._open_checked(path)
        if im.mode in ("RGB", "RGBA"):
            arr = np.asarray(im.convert("RGBA" if im.mode == "RGBA" else "RGB"))
            grey = np.all(arr[..., 0] == arr[..., 1]) and np.all(arr[..., 1] == arr[..., 2])
            if not grey:
                tried = [fallback] + [n for n in ("landscape", "ade20k", "coco", "cityscapes") if n != fallback]
                for name in tried:
                    try:
                        return L.labels_from_colors(arr, L.load_palette(name)), name
                    except L.LabelError:
                        continue
                # report against the default palette (names the unknown colours)
                L.labels_from_colors(arr, L.load_palette(fallback))
        return L.read_label_png(path, L.load_palette(fallback), mode="ids"), fallback
    except L.LabelError as exc:
        raise CliError(str(exc)) from None
    except (OSError, Image.DecompressionBombError) as exc:
        raise CliError(f"{path}: {exc}") from None


def run(args: Any) -> int:
    import numpy as np

    from ..tasks.base import Cancelled, TaskError, TaskInputs, drive
    from ..tasks.scene import SceneRequest
    from ..tasks.scene import run as scene
    from .errors import CliError

    if args.palettes:
        return list_palettes(args.json)
    if not args.labels:
        raise CliError("give a label map (LABELS.png) or --palettes")
    if not args.output:
        raise CliError("-o OUT is required")
    out = Path(args.output)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"):
        raise CliError(f"{out}: unknown output format (use .png, .jpg, .webp, .tif or .bmp)")
    n = int(args.variations)
    if n < 1:
        raise CliError("--variations must be at least 1")
    targets = [out] if n == 1 else [out.with_name(f"{out.stem}_{i + 1}{out.suffix}") for i in range(n)]
    if not args.overwrite:
        for t in targets:
            if t.exists():
                raise CliError(f"{t} exists (use --overwrite)")
    if not Path(args.labels).is_file():
        raise CliError(f"no such file: {args.labels}")
    labels, palette = read_labels(args.labels, args.palette, default_palette(args.model))
    w, h = _parse_size(args.size)
    photo = mask = None
    if args.photo:
        from ..core.io.decode import read_image_array

        try:
            photo = read_image_array(args.photo)[0]
        except Exception as exc:  # noqa: BLE001
            raise CliError(f"--photo: {exc}") from None
        if photo.dtype != np.uint8:
            photo = (photo // 257).astype(np.uint8)
        if photo.ndim == 2:
            photo = np.repeat(photo[:, :, None], 3, 2)
        photo = photo[..., :3]
        ph, pw = photo.shape[:2]
        if (w, h) not in ((0, 0), (pw, ph)):
            raise CliError("--size and --photo disagree: the result takes the photo's size")
        w, h = pw, ph
    if args.mask:
        from PIL import Image

        try:
            mask = np.asarray(Image.open(args.mask).convert("L"))
        except Exception as exc:  # noqa: BLE001
            raise CliError(f"--mask: {exc}") from None
        mask = np.where(mask >= 128, 255, 0).astype(np.uint8)
    elif photo is not None:
        from ..core import labels as L

        un = L.load_palette(palette).unlabelled
        mask = np.where(labels != un, 255, 0).astype(np.uint8)
    if mask is not None and mask.shape != labels.shape:
        import cv2

        mask = cv2.resize(mask, (labels.shape[1], labels.shape[0]), interpolation=cv2.INTER_NEAREST)
    req = SceneRequest(model_id=args.model, palette=palette, width=w, height=h, seed=args.seed,
                       variations=n, work_size=args.work_size, upscale=args.upscale, feather=args.feather)
    ctx = task_context(args)
    t0 = time.perf_counter()
    last = [""]

    def progress(p: Any) -> None:
        if not args.json and p.stage != last[0]:
            last[0] = p.stage
            print(f"  {p.stage}", file=sys.stderr, flush=True)

    try:
        res = drive(scene(TaskInputs(labels=labels, mask=mask), req, ctx), progress)
    except TaskError as exc:
        raise CliError(str(exc)) from None
    except Cancelled:
        raise CliError("cancelled") from None
    written = []
    for t, layer in zip(targets, res.output_layers()):
        img = layer.image
        if photo is not None or layer.rect is not None:
            base = photo if photo is not None else np.zeros((h or labels.shape[0], w or labels.shape[1], 3), np.uint8)
            full = base.copy()
            x, y, rw, rh = layer.rect if layer.rect is not None else (0, 0, img.shape[1], img.shape[0])
            a = (layer.mask.astype(np.float32)[..., None] / 255.0) if layer.mask is not None else 1.0
            region = full[y:y + rh, x:x + rw].astype(np.float32)
            full[y:y + rh, x:x + rw] = (img.astype(np.float32) * a + region * (1 - a)).round().astype(np.uint8)
            img = full
        _save(img, t)
        written.append({"file": str(t), "seed": layer.info.get("seed"), "size": [img.shape[1], img.shape[0]]})
    summary = {"ok": True, "model": res.info.get("model"), "palette": palette, "outputs": written,
               "seed": res.info.get("seed"), "work_size": res.info.get("work_size"),
               "upscale": res.output_layers()[0].info.get("upscale"), "licence": res.info.get("licence"),
               "non_commercial": res.info.get("non_commercial"), "classes": res.info.get("classes"),
               "seconds": round(time.perf_counter() - t0, 3)}
    if res.info.get("note"):
        summary["note"] = res.info["note"]
    if args.json:
        print(json.dumps(summary))
    else:
        for wr in written:
            print(f"wrote {wr['file']} ({wr['size'][0]}x{wr['size'][1]}, seed {wr['seed']})")
        if res.info.get("non_commercial"):
            print(f"note: {res.info.get('model')} is licensed {res.info.get('licence')} (non-commercial use only)")
    return 0


def _save(img: Any, path: Path) -> None:
    from PIL import Image

    from .errors import CliError

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        kw = {"quality": 95} if path.suffix.lower() in (".jpg", ".jpeg", ".webp") else {}
        Image.fromarray(img).save(tmp, **kw)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CliError(f"cannot write {path}: {exc}") from None
