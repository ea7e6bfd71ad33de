"""`ganstudio upscale IN... -o OUT --model ID --scale N`: batch super-resolution.

Inputs are image files or folders (searched recursively; the sub-folder layout is repeated under
OUT). EXIF and ICC profiles are kept (ganstudio.core.io). A progress bar goes to stderr;
``--json`` prints a summary with per-file sizes and times on stdout.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from .device_args import add_device_arguments, task_context

DEFAULT_MODEL = "realesrgan.x4plus"   # offline (converted from the PyPI ncnn data wheel)
MAX_SCALE = 16.0                      # tasks.super_resolution.MAX_SCALE (no torch import here)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "upscale", help="enlarge images with a super-resolution model",
        description="Upscale images with Real-ESRGAN (offline by default). IN may be files or "
                    "folders (recursive); OUT is a folder, or a file name for a single input.")
    p.add_argument("inputs", nargs="+", metavar="IN",
                   help="image files or folders (searched recursively) to upscale")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output folder (the input layout is repeated under it), or a file name "
                        "when there is a single input image")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"model id (`ganstudio models list`) or a weights file; default {DEFAULT_MODEL}")
    p.add_argument("--scale", type=float, default=None,
                   help=f"output scale, more than 0 and at most {MAX_SCALE:g}: 2, 3 or 4 run the "
                        "model's native scales (x4 models: 4), other values are resampled from them "
                        "(default: the model's own scale)")
    p.add_argument("--width", type=int, default=0, help="target width (keeps the aspect ratio "
                   "unless --height is given too)")
    p.add_argument("--height", type=int, default=0, help="target height")
    p.add_argument("--enhance", action="store_true",
                   help="enhance detail: super-resolve then resample back to the input size")
    add_device_arguments(p, tile=True)
    p.add_argument("--alpha", choices=["resize", "model"], default="resize",
                   help="how an alpha channel is enlarged (default: resize)")
    p.add_argument("--format", choices=["png", "jpg", "webp", "tiff", "bmp"],
                   help="output format (default: same as the input)")
    p.add_argument("--quality", type=int, default=95, help="JPEG / WebP quality")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(handler=run)


def collect(inputs: list[str], output: str, fmt: str | None) -> list[tuple[Path, Path]]:
    """(input file, output file) pairs. Folders are searched recursively (layout kept)."""
    from .errors import CliError
    from ..core.io.image_io import EXTENSIONS

    out = Path(output)
    pairs: list[tuple[Path, Path]] = []
    files_only = all(Path(i).is_file() for i in inputs)
    single_file_out = (len(inputs) == 1 and files_only and out.suffix.lower() in EXTENSIONS
                       and not out.is_dir())

    def dest(rel: Path) -> Path:
        return rel.with_suffix("." + fmt) if fmt else rel

    for raw in inputs:
        src = Path(raw)
        if src.is_dir():
            found = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
            if not found:
                raise CliError(f"no images found in folder {src}")
            for p in found:
                rel = p.relative_to(src)
                pairs.append((p, out / src.resolve().name / dest(rel) if len(inputs) > 1 else out / dest(rel)))
        elif src.is_file():
            if src.suffix.lower() not in EXTENSIONS:
                raise CliError(f"{src}: not a supported image ({', '.join(sorted(EXTENSIONS))})")
            pairs.append((src, out if single_file_out else out / dest(Path(src.name))))
        else:
            raise CliError(f"no such file or folder: {src}")
    seen: dict[Path, Path] = {}
    for s, d in pairs:
        if d.resolve() == s.resolve():
            raise CliError(f"the output {d} would overwrite its input")
        if d.resolve() in seen:
            raise CliError(f"two inputs ({seen[d.resolve()]} and {s}) would write {d}")
        seen[d.resolve()] = s
    return pairs


def run(args: Any) -> int:
    from .errors import CliError
    from ..core.io import ImageFileError, export_image, read_image_array
    from ..tasks.base import Cancelled, TaskError, TaskInputs
    from ..tasks.super_resolution import UpscaleRequest
    from ..tasks.super_resolution import run as upscale

    fmt = {"jpg": "jpg"}.get(args.format, args.format)
    pairs = collect(args.inputs, args.output, fmt)
    if not args.overwrite:
        existing = [d for _, d in pairs if d.exists()]
        if existing:
            raise CliError(f"{existing[0]} exists (use --overwrite)"
                           + (f" and {len(existing) - 1} more" if len(existing) > 1 else ""))
    if args.scale is not None and not 0 < args.scale <= MAX_SCALE:
        raise CliError(f"--scale must be more than 0 and at most {MAX_SCALE:g} (got {args.scale:g}): "
                       "2, 3 or 4 use the model's native scales, other values are resampled; "
                       "leave it out for the model's own scale")
    ctx = task_context(args)
    t_all = time.perf_counter()
    files: list[dict[str, Any]] = []
    ok = True
    from ._progress import FileProgress

    bar = FileProgress(len(pairs), quiet=args.quiet, leave=not args.json)
    try:
        for src, dst in pairs:
            t0 = time.perf_counter()
            rec: dict[str, Any] = {"input": str(src), "output": str(dst)}
            bar.start(src.name)
            try:
                arr, icc, exif = read_image_array(src)
                scale = args.scale or 0.0          # 0 = the model's own scale
                req = UpscaleRequest(model_id=args.model, scale=scale, width=args.width,
                                     height=args.height, mode="enhance" if args.enhance else "upscale",
                                     tile_size=args.tile, alpha=args.alpha)
                gen = upscale(TaskInputs(image=arr), req, ctx)
                while True:
                    try:
                        p = next(gen)
                    except StopIteration as stop:
                        result = stop.value
                        break
                    bar.step(p.fraction, p.stage)
                dst.parent.mkdir(parents=True, exist_ok=True)
                notes = export_image(result.image, dst, icc=icc, exif=exif, quality=args.quality)
                h, w = arr.shape[:2]
                oh, ow = result.image.shape[:2]
                rec.update(ok=True, input_size=[w, h], output_size=[ow, oh],
                           bit_depth=16 if result.image.dtype.itemsize == 2 else 8,
                           seconds=round(time.perf_counter() - t0, 3), bytes=dst.stat().st_size,
                           model=result.info.get("model"), device=result.info.get("device"),
                           icc=icc is not None, exif=exif is not None, notes=notes)
            except (TaskError, ImageFileError, OSError) as exc:
                ok = False
                rec.update(ok=False, error=str(exc))
                if not args.json:
                    bar.write(f"{src}: error: {exc}")
                if isinstance(exc, TaskError) and ("model" in str(exc) or "CUDA" in str(exc)
                                                   or "MPS" in str(exc)) and len(files) == 0:
                    bar.close()
                    raise CliError(str(exc)) from None
            except Cancelled:
                raise KeyboardInterrupt from None
            files.append(rec)
            bar.done()
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
                print(f"{f['input']} -> {f['output']} ({f['output_size'][0]}x{f['output_size'][1]}, "
                      f"{f['seconds']:.1f} s)")
    return 0 if ok else 1
