"""``ganstudio colorize IN... -o OUT [--model ID]``: colourise gray photos (luminance kept exactly).

Inputs are image files or folders (searched recursively; the sub-folder layout is repeated under
OUT, as ``ganstudio upscale``). Gray, 16-bit and alpha images work (alpha kept, bit depth kept).
EXIF and ICC profiles are kept (ganstudio.core.io). A progress bar goes to stderr; ``--json``
prints a summary on stdout. ``--mask FILE`` (single input) colourises only where the mask is white.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from .device_args import add_device_arguments, task_context

DEFAULT_MODEL = "builtin.colorize"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "colorize", help="colourise gray photos (keeps their luminance)",
        description="Colourise images with the built-in GAN colouriser (offline). IN may be files "
                    "or folders (recursive); OUT is a folder, or a file name for a single input.")
    p.add_argument("inputs", nargs="+", metavar="IN", help="image files or folders (searched recursively)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output folder, or a file name when there is a single input image")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"colouriser id (`ganstudio models list`) or a weights file; default {DEFAULT_MODEL}")
    p.add_argument("--saturation", type=float, default=1.0, help="chroma multiplier (default 1)")
    p.add_argument("--work-size", type=int, default=384,
                   help="long side the network sees (0 = full size; default 384)")
    p.add_argument("--mask", default=None, help="only colourise where this mask is white (one input)")
    add_device_arguments(p)
    p.add_argument("--format", choices=["png", "jpg", "webp", "tiff", "bmp"],
                   help="output format (default: same as the input)")
    p.add_argument("--quality", type=int, default=95, help="JPEG / WebP quality")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(handler=run)


def run(args: Any) -> int:
    from ..core.io import ImageFileError, export_image, read_image_array
    from ..tasks.base import Cancelled, TaskError, TaskInputs, drive
    from ..tasks.colorize import ColorizeRequest
    from ..tasks.colorize import run as colorize
    from .errors import CliError
    from .inpaint import _mask_from_file
    from .upscale import collect

    pairs = collect(args.inputs, args.output, args.format)
    if not args.overwrite:
        existing = [d for _, d in pairs if d.exists()]
        if existing:
            raise CliError(f"{existing[0]} exists (use --overwrite)"
                           + (f" and {len(existing) - 1} more" if len(existing) > 1 else ""))
    mask = None
    if args.mask:
        if len(pairs) != 1:
            raise CliError("--mask works with a single input image")
        try:
            mask = _mask_from_file(read_image_array(args.mask)[0])
        except (ImageFileError, OSError) as exc:
            raise CliError(f"--mask: {exc}") from None
    if not 0 <= args.saturation <= 4:
        raise CliError("--saturation must be between 0 and 4")
    req = ColorizeRequest(model_id=args.model, work_size=args.work_size, saturation=args.saturation)
    ctx = task_context(args)
    from tqdm import tqdm

    t_all = time.perf_counter()
    files: list[dict[str, Any]] = []
    ok = True
    bar = tqdm(total=len(pairs), unit="file", file=sys.stderr, disable=args.quiet or args.json,
               dynamic_ncols=True)
    try:
        for src, dst in pairs:
            t0 = time.perf_counter()
            rec: dict[str, Any] = {"input": str(src), "output": str(dst)}
            bar.set_description(src.name[:30])
            try:
                arr, icc, exif = read_image_array(src)
                if mask is not None and mask.shape[:2] != arr.shape[:2]:
                    raise CliError(f"--mask is {mask.shape[1]}x{mask.shape[0]}, the image "
                                   f"{arr.shape[1]}x{arr.shape[0]}")
                res = drive(colorize(TaskInputs(image=arr, mask=mask), req, ctx))
                dst.parent.mkdir(parents=True, exist_ok=True)
                notes = export_image(res.image, dst, icc=icc, exif=exif, quality=args.quality)
                rec.update(ok=True, size=[int(arr.shape[1]), int(arr.shape[0])],
                           bit_depth=16 if res.image.dtype.itemsize == 2 else 8,
                           alpha=bool(res.image.shape[2] == 4), model=res.info.get("model"),
                           device=res.info.get("device"), seconds=round(time.perf_counter() - t0, 3),
                           notes=notes)
            except (TaskError, ImageFileError, OSError) as exc:
                ok = False
                rec.update(ok=False, error=str(exc))
                if len(pairs) == 1 or (isinstance(exc, TaskError) and not files
                                       and ("model" in str(exc) or "CUDA" in str(exc))):
                    bar.close()
                    raise CliError(str(exc)) from None
                if not args.json:
                    tqdm.write(f"{src}: error: {exc}", file=sys.stderr)
            except Cancelled:
                raise KeyboardInterrupt from None
            files.append(rec)
            bar.update(1)
    finally:
        bar.close()
    summary = {"ok": ok, "model": args.model, "count": len(files),
               "failed": sum(1 for f in files if not f.get("ok")),
               "seconds": round(time.perf_counter() - t_all, 3), "files": files}
    if args.json:
        print(json.dumps(summary, indent=1))
    elif not args.quiet:
        for f in files:
            if f.get("ok"):
                print(f"{f['input']} -> {f['output']} ({f['seconds']:.2f} s)")
    return 0 if ok else 1
