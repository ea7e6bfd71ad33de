"""``ganstudio face``: find, edit and age faces (issue 9).

    ganstudio face detect IMAGE [--json]
    ganstudio face edit IMAGE -o OUT --edit smile=1.5 --edit age=-2 [--face N|all] [--model ID]
    ganstudio face age IMAGE -o OUT --age 70
    ganstudio face age IMAGE -o OUT --strip 10,30,50,70 [--strip-layout grid|photos]
    ganstudio face invert IMAGE --latent-out W.npy [--aligned]
    ganstudio face synth --latent W.npy -o OUT

Faces are numbered from 1, left to right (``face detect`` lists them). Everything outside each
face's paste region is written back unchanged (16-bit, ICC and EXIF kept). Detection works with no
download; editing needs the face models (``ganstudio models download face.e4e_ffhq``; ageing
``face.sam_ffhq_aging``) and fails with a message that names them when they are missing.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from .device_args import add_device_arguments, task_context


def _common(p: Any, *, models: bool = True) -> None:
    if models:
        p.add_argument("--model", default=None,
                       help="face model id (default face.e4e_ffhq) or a checkpoint file")
        add_device_arguments(p)
    else:
        p.add_argument("--device", default="auto", help="accepted for symmetry (detection runs on CPU)")
    p.add_argument("--detector", default="blazeface", choices=["blazeface", "dlib"],
                   help="face detector (dlib needs the optional faces-dlib extra)")
    p.add_argument("--min-face", type=int, default=40, help="smallest face to find, in px")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress messages")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("face", help="find, edit and age faces",
                              description="Face finding (offline), face sliders and ageing.")
    sub = p.add_subparsers(dest="face_command", metavar="ACTION", required=True)

    d = sub.add_parser("detect", help="list faces: boxes, 5 landmarks, scores")
    d.add_argument("image", metavar="IMAGE", help="the photo with the face(s)")
    d.add_argument("--no-age", action="store_true", help="do not estimate apparent ages")
    _common(d, models=False)
    d.set_defaults(handler=run_detect)

    e = sub.add_parser("edit", help="change faces with sliders (smile, age, yaw, ...)")
    e.add_argument("image", metavar="IMAGE", help="the photo with the face(s)")
    e.add_argument("-o", "--output", required=True, metavar="OUT", help="output image")
    e.add_argument("--edit", action="append", default=[], metavar="NAME=VALUE",
                   help="a slider value, repeatable: smile, age, yaw, gender, glasses, eyes_open, "
                        "beard, white_hair, lipstick")
    e.add_argument("--face", default="all", help="face number (from 1, see `face detect`) or all")
    e.add_argument("--color-match", action="store_true", help="match the face colours to the photo")
    e.add_argument("--feather", type=float, default=0.02, help="mask feather (fraction of the face)")
    e.add_argument("--refine", type=int, default=0, metavar="STEPS",
                   help="tune the generator on each face first (PTI, keeps the identity; slow on "
                        "CPU, e.g. 100-300 steps on a GPU); 0 = off")
    e.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    e.add_argument("--quality", type=int, default=95, help="JPEG / WebP quality (default 95)")
    _common(e)
    e.set_defaults(handler=run_edit)

    a = sub.add_parser("age", help="show faces at a target age (SAM) or as an age strip")
    a.add_argument("image", metavar="IMAGE", help="the photo with the face(s)")
    a.add_argument("-o", "--output", required=True, metavar="OUT", help="output image")
    g = a.add_mutually_exclusive_group(required=True)
    g.add_argument("--age", type=float, help="target age 0-100")
    g.add_argument("--strip", help="comma-separated ages, e.g. 10,30,50,70")
    a.add_argument("--strip-layout", choices=["grid", "photos"], default="grid",
                   help="grid: one image, a row per face and a column per age (aligned faces); "
                        "photos: one full photo per age (OUT-age10.png ...)")
    a.add_argument("--cell", type=int, default=512, help="face size in the strip grid, px")
    a.add_argument("--age-model", default=None, help="SAM model id (default face.sam_ffhq_aging)")
    a.add_argument("--edit", action="append", default=[], metavar="NAME=VALUE",
                   help="an extra edit applied with the ageing (repeatable), e.g. smile=0.5")
    a.add_argument("--face", default="all", help="which face: all (default) or its index (0 = largest)")
    a.add_argument("--color-match", action="store_true",
                   help="match the colours of the edited face to the photo")
    a.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    a.add_argument("--quality", type=int, default=95, help="JPEG / WebP quality (default 95)")
    _common(a)
    a.set_defaults(handler=run_age)

    i = sub.add_parser("invert", help="encode faces to W+ latents (float32 [n,18,512] .npy)")
    i.add_argument("image", metavar="IMAGE", help="the photo with the face(s)")
    i.add_argument("--latent-out", required=True, metavar="W.npy",
                   help="where to save the face's W+ latent (NumPy .npy)")
    i.add_argument("--aligned", action="store_true",
                   help="IMAGE is already an FFHQ-aligned face (256 or 1024): no detection")
    i.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    _common(i)
    i.set_defaults(handler=run_invert)

    s = sub.add_parser("synth", help="render W+ latents with the generator")
    s.add_argument("--latent", required=True, metavar="W.npy",
                   help="a W+ latent saved by `face invert --latent-out`")
    s.add_argument("-o", "--output", required=True, metavar="OUT", help="output image")
    s.add_argument("--bits", type=int, choices=[8, 16], default=None,
                   help="bits per channel (default 16 for PNG / TIFF, else 8)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    _common(s)
    s.set_defaults(handler=run_synth)


# ------------------------------------------------------------------------------------------------


def _read(path: str):
    from ..core.io import ImageFileError, read_image_array
    from .errors import CliError

    p = Path(path)
    if not p.is_file():
        raise CliError(f"no such file: {p}")
    try:
        return read_image_array(p, allow_huge=True)
    except (ImageFileError, OSError, ValueError) as exc:
        raise CliError(f"{p}: {exc}") from None


def _check_out(path: str, overwrite: bool) -> Path:
    from ..core.io.image_io import EXTENSIONS
    from .errors import CliError

    p = Path(path)
    if p.suffix.lower() not in EXTENSIONS:
        raise CliError(f"{p}: unknown image type (use one of {', '.join(sorted(EXTENSIONS))})")
    if p.exists() and not overwrite:
        raise CliError(f"{p} exists (use --overwrite)")
    return p


def _faces_arg(text: str) -> tuple[int, ...]:
    from .errors import CliError

    t = (text or "all").strip().lower()
    if t == "all":
        return ()
    try:
        nums = [int(x) for x in t.split(",") if x.strip()]
    except ValueError:
        raise CliError(f"--face takes a face number (from 1) or all, not {text!r}") from None
    if any(n < 1 for n in nums):
        raise CliError("faces are numbered from 1 (see `ganstudio face detect`)")
    return tuple(n - 1 for n in nums)


def _drive(gen: Any, quiet: bool) -> Any:
    from ..tasks.base import Cancelled, TaskError
    from .errors import CliError

    try:
        while True:
            try:
                p = next(gen)
            except StopIteration as stop:
                return stop.value
            if not quiet and p.stage:
                print(f"  {p.stage}", file=sys.stderr)
    except TaskError as exc:
        raise CliError(str(exc)) from None
    except Cancelled:
        raise KeyboardInterrupt from None


def _request(args: Any, **kw: Any):
    from ..tasks.face_edit import DEFAULT_AGE_MODEL, DEFAULT_MODEL, FaceEditRequest, parse_edits
    from .errors import CliError

    try:
        edits = parse_edits(getattr(args, "edit", []) or [])
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return FaceEditRequest(model_id=getattr(args, "model", None) or DEFAULT_MODEL,
                           age_model_id=getattr(args, "age_model", None) or DEFAULT_AGE_MODEL,
                           edits=edits, detector=args.detector, min_face=args.min_face,
                           color_match=getattr(args, "color_match", False),
                           feather=getattr(args, "feather", 0.02),
                           refine=int(getattr(args, "refine", 0) or 0), **kw)


def _export(arr: Any, path: Path, icc: Any, exif: Any, quality: int = 95) -> list[str]:
    from ..core.io import export_image

    path.parent.mkdir(parents=True, exist_ok=True)
    return export_image(arr, path, icc=icc, exif=exif, quality=quality)


def _emit(args: Any, summary: dict[str, Any], text: str) -> None:
    if args.json:
        print(json.dumps(summary, indent=1))
    elif not args.quiet:
        print(text)


# ------------------------------------------------------------------------------------------------


def run_detect(args: Any) -> int:
    from ..tasks.base import TaskError
    from ..tasks.faces.detect import detect_faces
    from .errors import CliError

    arr, _icc, _exif = _read(args.image)
    t0 = time.perf_counter()
    try:
        faces = detect_faces(arr, backend=args.detector, min_face=args.min_face)
    except TaskError as exc:
        raise CliError(str(exc)) from None
    dt = time.perf_counter() - t0
    ages: list[Any] = [None] * len(faces)
    if faces and not args.no_age:
        from ..tasks.faces.age_estimate import estimate_ages

        try:
            ages = estimate_ages(arr, faces)
        except TaskError:
            pass
    rows = []
    for n, (f, age) in enumerate(zip(faces, ages), 1):
        d = {"face": n, **f.to_dict()}
        if age is not None:
            d["apparent_age"] = age
        rows.append(d)
    h, w = arr.shape[:2]
    summary = {"ok": True, "image": args.image, "size": [w, h], "count": len(faces),
               "detector": args.detector, "seconds": round(dt, 3), "faces": rows}
    lines = [f"{args.image}: {len(faces)} face(s) ({dt * 1000:.0f} ms)"] if faces else \
        [f"{args.image}: no face found"]
    for r in rows:
        b = r["box"]
        lm = r["landmarks"]
        lines.append(f"  face {r['face']}: box {b[0]:.0f},{b[1]:.0f} - {b[2]:.0f},{b[3]:.0f}  "
                     f"score {r['score']:.2f}  eyes ({lm['eye_left'][0]:.1f}, {lm['eye_left'][1]:.1f}) "
                     f"({lm['eye_right'][0]:.1f}, {lm['eye_right'][1]:.1f})"
                     + (f"  apparent age {r['apparent_age']:.0f}" if "apparent_age" in r else ""))
    _emit(args, summary, "\n".join(lines))
    return 0


def _edit_like(args: Any, request: Any, out: Path, t0: float, what: str) -> int:
    from ..tasks.base import TaskInputs
    from ..tasks.face_edit import run

    arr, icc, exif = _read(args.image)
    ctx = task_context(args)
    result = _drive(run(TaskInputs(image=arr), request, ctx), args.quiet or args.json)
    notes = _export(result.image, out, icc, exif, args.quality)
    summary = {"ok": True, "input": args.image, "output": str(out), "faces": len(result.layers),
               "edits": request.edit_dict, "age": request.age, "model": result.info.get("model"),
               "seconds": round(time.perf_counter() - t0, 3), "notes": notes,
               "regions": [list(la.rect) for la in result.layers],
               "faces_found": result.info.get("faces_found", [])}
    _emit(args, summary, f"{args.image} -> {out} ({what}, {len(result.layers)} face(s), "
                         f"{summary['seconds']:.1f} s)")
    return 0


def run_edit(args: Any) -> int:
    from .errors import CliError

    t0 = time.perf_counter()
    out = _check_out(args.output, args.overwrite)
    req = _request(args, faces=_faces_arg(args.face))
    if not req.edits:
        raise CliError("give at least one --edit NAME=VALUE (e.g. --edit smile=1.5)")
    return _edit_like(args, req, out, t0, ", ".join(f"{k} {v:+g}" for k, v in req.edits))


def run_age(args: Any) -> int:
    import numpy as np

    from ..tasks.base import TaskInputs
    from ..tasks.face_edit import run, strip_grid
    from .errors import CliError

    t0 = time.perf_counter()
    out = _check_out(args.output, args.overwrite)
    faces = _faces_arg(args.face)
    if args.age is not None:
        if not 0 <= args.age <= 100:
            raise CliError("--age must be between 0 and 100")
        return _edit_like(args, _request(args, faces=faces, age=args.age), out, t0, f"age {args.age:g}")
    try:
        ages = [float(x) for x in args.strip.split(",") if x.strip()]
    except ValueError:
        raise CliError(f"--strip takes ages separated by commas, not {args.strip!r}") from None
    if not ages or any(not 0 <= a <= 100 for a in ages):
        raise CliError("--strip ages must be between 0 and 100")
    req = _request(args, faces=faces, strip=tuple(ages))
    arr, icc, exif = _read(args.image)
    result = _drive(run(TaskInputs(image=arr), req, task_context(args)), args.quiet or args.json)
    written = []
    if args.strip_layout == "grid":
        grid = strip_grid(result, cell=args.cell)
        dtype = np.uint16 if arr.dtype == np.uint16 else np.uint8
        mx = float(np.iinfo(dtype).max)
        _export((np.clip(grid, 0, 1) * mx + 0.5).astype(dtype), out, None, None, args.quality)
        written.append(str(out))
    else:
        from ..tasks.faces.paste import composite

        for age, pastes in result.artefacts["pastes"].items():
            p = out.with_name(f"{out.stem}-age{age:g}{out.suffix}")
            if p.exists() and not args.overwrite:
                raise CliError(f"{p} exists (use --overwrite)")
            _export(composite(arr, pastes), p, icc, exif, args.quality)
            written.append(str(p))
    n_faces = len(result.artefacts["faces_by_age"].get(ages[0], []))
    summary = {"ok": True, "input": args.image, "outputs": written, "ages": ages, "faces": n_faces,
               "layout": args.strip_layout, "seconds": round(time.perf_counter() - t0, 3)}
    _emit(args, summary, f"{args.image} -> {', '.join(written)} (ages {args.strip}, {n_faces} face(s))")
    return 0


def run_invert(args: Any) -> int:
    import numpy as np

    from ..tasks.base import TaskInputs
    from ..tasks.face_edit import FaceEditSession
    from .errors import CliError

    t0 = time.perf_counter()
    dst = Path(args.latent_out)
    if dst.suffix.lower() != ".npy":
        raise CliError("--latent-out must be a .npy file")
    if dst.exists() and not args.overwrite:
        raise CliError(f"{dst} exists (use --overwrite)")
    arr, _icc, _exif = _read(args.image)
    if args.aligned:
        h, w = arr.shape[:2]
        if h != w or h not in (256, 512, 1024):
            raise CliError(f"--aligned expects a square aligned face of 256 or 1024 px (got {w}x{h})")
    s = FaceEditSession()
    try:
        info = _drive(s.prepare(TaskInputs(image=arr), _request(args, aligned=args.aligned),
                                task_context(args)), args.quiet or args.json)
        lat = s.latents()
    finally:
        s.close()
    dst.parent.mkdir(parents=True, exist_ok=True)
    np.save(dst, lat.astype(np.float32))
    summary = {"ok": True, "input": args.image, "latent": str(dst), "shape": list(lat.shape),
               "dtype": "float32", "model": (info.info.get("model") if info else None),
               "faces": (info.info.get("faces") if info else []),
               "seconds": round(time.perf_counter() - t0, 3)}
    _emit(args, summary, f"{args.image} -> {dst} (W+ {tuple(lat.shape)})")
    return 0


def run_synth(args: Any) -> int:
    import numpy as np

    from ..tasks.base import TaskError
    from ..tasks.face_edit import get_models
    from .errors import CliError

    t0 = time.perf_counter()
    src = Path(args.latent)
    if not src.is_file():
        raise CliError(f"no such file: {src}")
    try:
        w = np.load(src, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise CliError(f"{src}: not a .npy array ({exc})") from None
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3 or not np.issubdtype(w.dtype, np.floating):
        raise CliError(f"{src}: expected float W+ [n, 18, 512], got {w.dtype} {list(w.shape)}")
    out = _check_out(args.output, args.overwrite)
    ctx = task_context(args)
    try:
        models = get_models(_request(args), ctx, need_age=False)
        if w.shape[1] != models.n_latent or w.shape[2] != models.decoder.style_dim:
            raise CliError(f"{src}: W+ {list(w.shape[1:])} does not fit this generator "
                           f"([{models.n_latent}, {models.decoder.style_dim}])")
        imgs = [models.decode(w[i:i + 1].astype(np.float32))[0] for i in range(len(w))]
    except TaskError as exc:
        raise CliError(str(exc)) from None
    bits = args.bits or (16 if out.suffix.lower() in (".png", ".tif", ".tiff") else 8)
    dtype = np.uint16 if bits == 16 else np.uint8
    mx = float(np.iinfo(dtype).max)
    written = []
    for i, img in enumerate(imgs):
        p = out if len(imgs) == 1 else out.with_name(f"{out.stem}-{i + 1:04d}{out.suffix}")
        _export((np.clip(img, 0, 1) * mx + 0.5).astype(dtype), p, None, None)
        written.append(str(p))
    summary = {"ok": True, "latent": str(src), "outputs": written, "bits": bits,
               "size": int(imgs[0].shape[0]), "seconds": round(time.perf_counter() - t0, 3)}
    _emit(args, summary, f"{src} -> {', '.join(written)} ({imgs[0].shape[0]} px, {bits}-bit)")
    return 0
