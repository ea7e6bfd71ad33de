"""``ganstudio inpaint``: remove what a mask covers.

    ganstudio inpaint IMAGE MASK -o OUT [--model ID] [--strategy crop|resize|original] [--json]
    ganstudio inpaint IMAGES_DIR MASKS_DIR -o OUT_DIR [...]

Masks: white (> 50 %) = remove; an alpha channel in the mask file counts (transparent = keep).
Folder batch pairs an image with the mask of the same file stem (``photo.jpg`` + ``photo.png``;
``photo_mask.png`` is accepted too). EXIF and ICC profiles are kept (ganstudio.core.io).
An empty mask leaves the image unchanged (reported as ``"noop": true``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from .device_args import add_device_arguments, task_context

DEFAULT_MODEL = "builtin.inpaint-compact"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "inpaint", help="remove objects: inpaint what a mask covers",
        description="Inpaint IMAGE where MASK is white, or every image of IMAGES_DIR with the mask "
                    "of the same name in MASKS_DIR.")
    p.add_argument("image", metavar="IMAGE|IMAGES_DIR",
                   help="the photo, or a folder of photos (each with its mask in MASKS_DIR)")
    p.add_argument("mask", metavar="MASK|MASKS_DIR",
                   help="mask image (white = remove), or a folder of masks named like the photos")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output image, or a folder for a folder of photos")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="builtin.inpaint-compact (default, offline), lama.big-lama, "
                        "lama.big-lama-iopaint, opencv.telea, opencv.ns, or a weights file")
    p.add_argument("--strategy", choices=["crop", "resize", "original"], default="crop",
                   help="crop (default): the network sees each masked region with --margin px of "
                        "context; resize: the whole image scaled to --resize-limit; original: full size")
    p.add_argument("--margin", type=int, default=128, help="context around each region (crop)")
    p.add_argument("--resize-limit", type=int, default=1280, help="long side the model sees at most")
    p.add_argument("--dilate", type=int, default=0,
                   help="grow the mask by N px first (default 0: only the painted pixels change)")
    p.add_argument("--feather", type=int, default=0,
                   help="soft edge in px, inside the (grown) mask (default 0: a hard edge)")
    p.add_argument("--texture", type=float, default=0.9,
                   help="strength of the texture copied from the surroundings into the fill "
                        "(0 = off, 1 = as strong as around the hole; default 0.9; networks only)")
    add_device_arguments(p)
    p.add_argument("--quality", type=int, default=95, help="JPEG / WebP quality")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(handler=run)


def _mask_from_file(arr):
    import numpy as np

    a = np.asarray(arr)
    if a.dtype == np.uint16:
        a = (a >> 8).astype(np.uint8)
    if a.ndim == 2:
        return a
    gray = a[..., :3].max(axis=2) if a.shape[2] >= 3 else a[..., 0]
    if a.shape[2] == 4:
        gray = (gray.astype(np.uint16) * a[..., 3] // 255).astype(np.uint8)
    return gray


def _pairs(image: Path, mask: Path, out: Path) -> list[tuple[Path, Path | None, Path]]:
    from .errors import CliError
    from ..core.io.image_io import EXTENSIONS

    if image.is_file():
        if not mask.is_file():
            raise CliError(f"mask {mask} is not a file")
        dst = out / image.name if out.is_dir() else out
        return [(image, mask, dst)]
    if not image.is_dir():
        raise CliError(f"{image} does not exist")
    if not mask.is_dir():
        raise CliError(f"{mask} must be a folder of masks when {image} is a folder")
    if out.exists() and not out.is_dir():
        raise CliError(f"-o {out} must be a folder for a folder of images")
    masks: dict[str, Path] = {}
    for m in sorted(mask.iterdir()):
        if m.is_file() and m.suffix.lower() in EXTENSIONS:
            stem = m.stem[:-5] if m.stem.endswith("_mask") else m.stem
            masks.setdefault(stem, m)
    pairs = []
    for f in sorted(image.iterdir()):
        if f.is_file() and f.suffix.lower() in EXTENSIONS:
            pairs.append((f, masks.get(f.stem), out / f.name))
    if not pairs:
        raise CliError(f"no images in {image}")
    return pairs


def run(args: Any) -> int:
    from .errors import CliError
    from ..core.io import ImageFileError, export_image, read_image_array
    from ..tasks.base import Cancelled, TaskError, TaskInputs, drive
    from ..tasks.inpaint import InpaintRequest
    from ..tasks.inpaint import run as inpaint

    pairs = _pairs(Path(args.image), Path(args.mask), Path(args.output))
    if len(pairs) > 1 or Path(args.image).is_dir():
        Path(args.output).mkdir(parents=True, exist_ok=True)
    request = InpaintRequest(model_id=args.model, strategy=args.strategy, crop_margin=args.margin,
                             resize_limit=args.resize_limit, dilate=args.dilate, feather=args.feather,
                             texture=args.texture)
    ctx = task_context(args)
    results: list[dict[str, Any]] = []
    failed = 0
    for src, msk, dst in pairs:
        rec: dict[str, Any] = {"image": str(src), "mask": str(msk) if msk else None, "output": str(dst)}
        t0 = time.perf_counter()
        try:
            if msk is None:
                raise TaskError(f"no mask named {src.stem}.* in {args.mask}")
            arr, icc, exif = read_image_array(src)
            marr, _, _ = read_image_array(msk)
            res = drive(inpaint(TaskInputs(image=arr, mask=_mask_from_file(marr)), request, ctx))
            dst.parent.mkdir(parents=True, exist_ok=True)
            notes = export_image(res.image, dst, icc=icc, exif=exif, quality=args.quality)
            rec.update(ok=True, width=int(arr.shape[1]), height=int(arr.shape[0]),
                       noop=bool(res.info.get("noop", False)), regions=res.info.get("regions", 0),
                       model=res.info.get("model"), seconds=round(time.perf_counter() - t0, 3))
            if res.info.get("message"):
                rec["message"] = res.info["message"]
            if notes:
                rec["notes"] = notes
        except (TaskError, ImageFileError) as exc:
            if len(pairs) == 1:
                raise CliError(str(exc)) from None
            rec.update(ok=False, error=str(exc))
            failed += 1
        except Cancelled:
            raise KeyboardInterrupt from None
        results.append(rec)
        if not args.json:
            if rec.get("ok"):
                extra = f" ({rec['message']})" if rec.get("message") else ""
                print(f"{src.name} -> {dst} [{rec['seconds']:.2f}s]{extra}", file=sys.stderr)
            else:
                print(f"{src.name}: error: {rec['error']}", file=sys.stderr)
    if args.json:
        summary = {"ok": failed == 0, "model": args.model, "strategy": args.strategy,
                   "files": results, "failed": failed}
        if len(pairs) == 1:
            summary.update(results[0])
        print(json.dumps(summary))
    return 1 if failed else 0
