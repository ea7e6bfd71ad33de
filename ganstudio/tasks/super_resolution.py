"""Super-resolution: Real-ESRGAN (or any spandrel SR model) through the shared tiling engine.

* Native model scales (x2 / x3 / x4) run as is; any other scale or a target size = the model,
  then a high-quality resample (area when shrinking, Lanczos when enlarging) to the exact size.
* ``mode="enhance"``: super-resolve then resample back to the input size (sharper, same size).
* Alpha: resized (bicubic, the default; what Real-ESRGAN does with ``alpha_upsampler != realesrgan``)
  or run through the network as grey -> 3 channels (``alpha="model"``); fully opaque alpha is
  just filled.
* 16-bit in -> 16-bit out (the network sees /65535 floats); colours are not shifted (RGB order kept,
  the output is not colour-managed: the ICC profile of the source applies to the result).
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np

from .base import Progress, Request, Result, TaskContext, TaskError, TaskInputs
from .device import physical_memory, precision_for_pixels, select_device
from .tiling import activation_bytes_per_pixel, auto_tile, install_cancel_hooks, job_budget, tiled_apply

DEFAULT_MODEL = "realesrgan.x4plus"
MAX_SCALE = 16.0


@dataclass(frozen=True)
class UpscaleRequest(Request):
    task = "super_resolution"

    model_id: str = DEFAULT_MODEL
    scale: float = 4.0            # output / input size; 0 = the model's own scale
                                  # (ignored when width/height are set or mode="enhance")
    width: int = 0                # target size; one of them 0 = keep the aspect ratio
    height: int = 0
    mode: str = "upscale"         # "upscale" | "enhance" (super-resolve, then back to input size)
    tile_size: int = 0            # 0 = ctx.tile_size, else automatic (tasks.tiling.auto_tile)
    tile_overlap: int = 16
    tile_pad: int = 16            # real context around each tile (cropped off); see docs/benchmarks/sr.md
    alpha: str = "resize"         # "resize" | "model"


def target_size(w: int, h: int, req: UpscaleRequest, model_scale: int = 4) -> tuple[int, int]:
    if req.mode == "enhance":
        return w, h
    if req.width > 0 and req.height > 0:
        return int(req.width), int(req.height)
    if req.width > 0:
        return int(req.width), max(1, round(h * req.width / w))
    if req.height > 0:
        return max(1, round(w * req.height / h)), int(req.height)
    scale = req.scale or model_scale
    if not (0 < scale <= MAX_SCALE):
        raise TaskError(f"scale must be between 0 and {MAX_SCALE:g} (got {req.scale:g})")
    return max(1, round(w * scale)), max(1, round(h * scale))


def resample(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """High-quality resize to (w, h): area when shrinking, Lanczos when enlarging. Keeps dtype."""
    import cv2

    w, h = size
    if img.shape[1] == w and img.shape[0] == h:
        return img
    shrink = w <= img.shape[1] and h <= img.shape[0]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4
    out = cv2.resize(img, (w, h), interpolation=interp)
    if out.ndim == 2 and img.ndim == 3:
        out = out[:, :, None]
    return out


def _check_memory(w: int, h: int, c: int, itemsize: int, s: int, tw: int, th: int) -> None:
    need = (w * s) * (h * s) * c * itemsize + tw * th * c * itemsize
    ram = physical_memory()
    if ram and need > 0.8 * ram:
        raise TaskError(f"the result ({w * s}x{h * s}) needs about {need / 2**30:.1f} GiB, more "
                        f"than this computer's memory ({ram / 2**30:.1f} GiB): choose a smaller "
                        "scale or target size")


def run(inputs: TaskInputs, request: UpscaleRequest,
        ctx: TaskContext) -> Generator[Progress, None, Result]:
    from ..models.loader import load_model
    from ..models.safeload import ModelLoadError
    from ..models.store import StoreError, default_store

    img = inputs.image
    if img is None:
        raise TaskError("no image to upscale")
    if img.dtype not in (np.uint8, np.uint16):
        raise TaskError(f"unsupported pixel type {img.dtype} (8 or 16 bit expected)")
    grey = img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (1, 2))
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 2, 3, 4):
        raise TaskError(f"unsupported image shape {img.shape}")
    h, w, c = img.shape
    if h < 1 or w < 1:
        raise TaskError("empty image")
    if request.mode not in ("upscale", "enhance"):
        raise TaskError(f"unknown mode {request.mode!r}")
    if request.alpha not in ("resize", "model"):
        raise TaskError(f"unknown alpha mode {request.alpha!r}")
    target_size(w, h, request)   # validate before loading anything
    t0 = time.perf_counter()

    yield Progress(0, 1, "Loading model")
    dev = select_device(ctx.device, ctx.half, ctx.threads,
                        precision=precision_for_pixels(ctx.precision, img.dtype))
    store = ctx.store or default_store()
    dev = dev.for_model(_allowed_precisions(store, request.model_id))
    try:
        lm = load_model(request.model_id, store, task="super_resolution", device=str(dev.device),
                        half=dev.half, channels_last=dev.channels_last)
    except (StoreError, ModelLoadError, KeyError) as exc:
        raise TaskError(str(exc).strip('"')) from None
    ctx.check_cancelled()
    install_cancel_hooks(lm.module)
    s = lm.scale
    tw, th = target_size(w, h, request, s)
    _check_memory(w, h, c, img.itemsize, s, tw, th)

    colour = img[:, :, :1] if grey else img[:, :, :3]
    alpha = img[:, :, -1] if c in (2, 4) else None
    if grey:
        colour = np.repeat(colour, 3, axis=2)
    tile = request.tile_size or ctx.tile_size
    if not tile:
        reserved = (w * s) * (h * s) * c * img.itemsize + tw * th * c * img.itemsize
        budget = job_budget(dev, int(getattr(ctx, "memory_limit_mb", 0) or 0) * 2**20, reserved)
        bpp = activation_bytes_per_pixel(lm.module, 3, dev, lm.multiple_of)
        tile = auto_tile(h, w, bytes_per_pixel=bpp, scale=s, channels=3, pad=request.tile_pad,
                         overlap=request.tile_overlap, budget=budget) or max(h, w)
    n_tiles = (math.ceil(max(0, h - tile) / max(1, tile - request.tile_overlap)) + 1) * \
        (math.ceil(max(0, w - tile) / max(1, tile - request.tile_overlap)) + 1)
    alpha_by_model = alpha is not None and request.alpha == "model" and not _opaque(alpha)
    total_guess = n_tiles * (2 if alpha_by_model else 1) + 1

    def progress_wrap(gen, offset):
        try:
            while True:
                p = next(gen)
                yield Progress(offset + p.step, max(total_guess, offset + p.total + 1), p.stage)
        except StopIteration as stop:
            return stop.value

    kw = dict(scale=s, tile=tile, overlap=request.tile_overlap, pad=request.tile_pad,
              multiple=lm.multiple_of, ctx=ctx, device=dev, log=ctx.log)
    up = yield from progress_wrap(tiled_apply(colour, lm.module, stage="Upscaling", **kw), 0)
    done = n_tiles
    if grey:
        import cv2

        up = cv2.cvtColor(up, cv2.COLOR_RGB2GRAY)[:, :, None]
    up_alpha = None
    if alpha is not None:
        if _opaque(alpha):
            up_alpha = np.full(up.shape[:2] + (1,), alpha.flat[0], img.dtype)
        elif alpha_by_model:
            a3 = np.repeat(alpha[:, :, None], 3, axis=2)
            ua = yield from progress_wrap(tiled_apply(a3, lm.module, stage="Upscaling alpha", **kw), done)
            up_alpha = ua[:, :, :1].copy()
            del ua
        else:
            import cv2

            up_alpha = cv2.resize(alpha, (w * s, h * s), interpolation=cv2.INTER_CUBIC)[:, :, None]
    ctx.check_cancelled()
    yield Progress(total_guess - 1, total_guess, "Resampling")
    if (tw, th) != (w * s, h * s):
        up = resample(up, (tw, th))
        if up_alpha is not None:
            up_alpha = resample(up_alpha, (tw, th))
    out = up if up_alpha is None else np.concatenate([up, up_alpha], axis=2)
    if img.ndim == 3 and inputs.image.ndim == 2:
        out = out[:, :, 0]
    elapsed = time.perf_counter() - t0
    yield Progress(total_guess, total_guess, "Done")
    label = "Enhanced detail" if request.mode == "enhance" else f"Upscaled x{tw / w:g}"
    return Result(out, name=f"{label} ({lm.id})", info={
        "task": "super_resolution", "model": lm.id, "model_scale": s, "mode": request.mode,
        "size": [tw, th], "input_size": [w, h], "tile": tile, "device": dev.name,
        "dtype": lm.dtype, "precision": dev.precision, "seconds": round(elapsed, 3), "request": request.to_dict()})


def _allowed_precisions(store, model_id: str) -> tuple[str, ...] | None:
    """The reduced precisions the catalog says this model keeps (None = not restricted)."""
    try:
        entry = store.entry(model_id)
    except Exception:  # noqa: BLE001 - a weights file or an unknown id: no catalog facts
        return None
    allowed = getattr(entry, "precisions", None)
    return tuple(allowed) if allowed is not None else None


def _opaque(alpha: np.ndarray) -> bool:
    full = 255 if alpha.dtype == np.uint8 else 65535
    return bool(alpha.min() == full)


from .registry import TaskSpec, register_task  # noqa: E402

SPEC = register_task(TaskSpec(
    name="super_resolution", title="Upscale", request_type=UpscaleRequest, run=run,
    default_models=(DEFAULT_MODEL,), ui="ganstudio.ui.tasks.upscale", cli="ganstudio.commands.upscale",
    description="Enlarge (or enhance detail) with a super-resolution model"))
