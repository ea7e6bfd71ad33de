"""`ganstudio stylize IN... -o OUT --model ID [--strength 0.8] [--keep-colors] [--tile N]`
`ganstudio stylize IN... -o OUT --style-image PAINTING [--strength ..]` (any painting as the style)

Inputs are image files or folders (recursive, layout repeated under OUT). Offline by default (the
26-style network; ``--style N`` picks one, ``--style 3:0.5,12:0.5`` blends). EXIF / ICC kept;
alpha kept; 16-bit stays 16-bit. ``--json`` prints a summary on stdout.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

from .device_args import add_device_arguments, task_context

DEFAULT_MODEL = "stylelite.styles26"
ARBITRARY_MODEL = "stylelite.arbitrary"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "stylize", help="apply a painting style (CycleGAN, 26 built-in styles, any painting)",
        description="Stylise images. Offline models: stylelite.styles26 (26 styles, --style N), "
                    "cyclegan.vintagify, and any painting with --style-image. CycleGAN downloads: "
                    "cyclegan.style_monet, ... (`ganstudio models list --task style_transfer`).")
    p.add_argument("inputs", nargs="+", metavar="IN", help="image files or folders (searched recursively)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output folder, or a file name when there is a single input image")
    p.add_argument("--model", default=None,
                   help=f"style model id or a CycleGAN weights file (default {DEFAULT_MODEL}; "
                        f"{ARBITRARY_MODEL} with --style-image)")
    p.add_argument("--style", default="0", help="26-style network: index 0-25 or a blend '3:0.5,12:0.5'")
    p.add_argument("--style-image", default="", metavar="PAINTING", help="any picture as the style")
    p.add_argument("--strength", type=float, default=1.0, help="0..1 (default 1)")
    p.add_argument("--keep-colors", action="store_true",
                   help="keep the photo's colours (luminance-only transfer)")
    p.add_argument("--work-size", type=int, default=-1,
                   help="long side the network runs at (0 = full resolution; default: the model's)")
    p.add_argument("--norm-stats", choices=["auto", "exact", "downscale"], default="auto",
                   help="instance-norm statistics of large tiled photos: exact (slower, equals the "
                        "untiled result) or from a downscaled copy (default auto)")
    add_device_arguments(p, tile=True)
    _common_output_args(p)
    p.set_defaults(handler=run)


def _common_output_args(p: Any) -> None:
    p.add_argument("--format", choices=["png", "jpg", "webp", "tiff", "bmp"],
                   help="output format (default: same as the input)")
    p.add_argument("--quality", type=int, default=95, help="JPEG / WebP quality")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print a JSON summary")


def parse_style(spec: str) -> tuple[int, tuple]:
    from .errors import CliError

    spec = (spec or "0").strip()
    if ":" not in spec and "," not in spec:
        try:
            return int(spec), ()
        except ValueError:
            raise CliError(f"bad --style {spec!r}: use e.g. 7 or 3:0.5,12:0.5") from None
    mix = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        idx, _, wt = part.partition(":")
        try:
            mix.append((int(idx), float(wt) if wt else 1.0))
        except ValueError:
            raise CliError(f"bad --style {spec!r}: use e.g. 7 or 3:0.5,12:0.5") from None
    return (mix[0][0] if mix else 0), tuple(mix)


def run_batch(args: Any, task_run: Callable, make_request: Callable[[Path], Any],
              label: str) -> int:
    """Shared by stylize / translate: files and folders in, one output per input, --json."""
    from ..core.io import ImageFileError, export_image, read_image_array
    from ..tasks.base import Cancelled, TaskError, TaskInputs
    from .errors import CliError
    from .upscale import collect

    fmt = args.format
    pairs = collect(args.inputs, args.output, fmt)
    if not args.overwrite:
        existing = [d for _, d in pairs if d.exists()]
        if existing:
            raise CliError(f"{existing[0]} exists (use --overwrite)"
                           + (f" and {len(existing) - 1} more" if len(existing) > 1 else ""))
    ctx = task_context(args)
    t_all = time.perf_counter()
    files: list[dict[str, Any]] = []
    ok = True
    from tqdm import tqdm

    bar = tqdm(total=len(pairs), unit="file", file=sys.stderr, disable=args.quiet or args.json,
               dynamic_ncols=True)
    try:
        for src, dst in pairs:
            t0 = time.perf_counter()
            rec: dict[str, Any] = {"input": str(src), "output": str(dst)}
            bar.set_description(src.name[:30])
            try:
                arr, icc, exif = read_image_array(src)
                req = make_request(src)
                gen = task_run(TaskInputs(image=arr), req, ctx)
                while True:
                    try:
                        p = next(gen)
                    except StopIteration as stop:
                        result = stop.value
                        break
                    # whole files in the count ("1/3"), this file's progress after it
                    bar.set_postfix_str(f"{p.fraction * 100:.0f}% {p.stage}", refresh=False)
                    bar.refresh()
                dst.parent.mkdir(parents=True, exist_ok=True)
                notes = export_image(result.image, dst, icc=icc, exif=exif, quality=args.quality)
                h, w = arr.shape[:2]
                info = result.info
                rec.update(ok=True, input_size=[w, h], output_size=list(result.image.shape[:2][::-1]),
                           bit_depth=16 if result.image.dtype.itemsize == 2 else 8,
                           channels=1 if result.image.ndim == 2 else int(result.image.shape[2]),
                           seconds=round(time.perf_counter() - t0, 3), bytes=dst.stat().st_size,
                           model=info.get("model"), device=info.get("device"), tile=info.get("tile"),
                           stats=info.get("stats"), notes=notes)
                for k in ("style_weights", "style_image", "mode", "seed", "work_size"):
                    if k in info:
                        rec[k] = info[k]
            except (TaskError, ImageFileError, OSError) as exc:
                ok = False
                rec.update(ok=False, error=str(exc))
                if not args.json:
                    tqdm.write(f"{src}: error: {exc}", file=sys.stderr)
                msg = str(exc)
                fatal = isinstance(exc, TaskError) and (
                    "model" in msg or "CUDA" in msg or "MPS" in msg or "style image" in msg
                    or "not installed" in msg or "download" in msg or "weights" in msg)
                if fatal and len(files) == 0 and len(pairs) == 1:
                    bar.close()
                    raise CliError(msg) from None
            except Cancelled:
                raise KeyboardInterrupt from None
            files.append(rec)
            bar.n = len(files)
            bar.refresh()
    finally:
        bar.close()
    summary = {"ok": ok, "command": label, "count": len(files),
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


def run(args: Any) -> int:
    from ..tasks.style_transfer import StyleRequest
    from ..tasks.style_transfer import run as stylize
    from .errors import CliError

    if not 0.0 <= args.strength <= 1.0:
        raise CliError("--strength must be between 0 and 1")
    model = args.model or (ARBITRARY_MODEL if args.style_image else DEFAULT_MODEL)
    if args.style_image:
        sp = Path(args.style_image)
        if not sp.is_file():
            raise CliError(f"no such style image: {sp}")
    index, mix = parse_style(args.style)

    def make(_src: Path) -> StyleRequest:
        return StyleRequest(model_id=model, style_index=index, style_mix=mix,
                            style_image=args.style_image, strength=args.strength,
                            keep_colors=args.keep_colors, tile_size=args.tile,
                            work_size=args.work_size, stats=args.norm_stats)

    return run_batch(args, stylize, make, "stylize")
