"""Inpainting ("Remove"): paint over an object, a wire or a blemish and it disappears.

Models (``InpaintRequest.model_id``):

* ``builtin.inpaint-compact`` - GAN Studio's own GSInpaint (archs/gsinpaint_arch.py), shipped in
  models/builtin/, works with zero downloads;
* ``lama.big-lama`` / ``lama.big-lama-iopaint`` - LaMa big-lama when installed in the model store
  (loaded safely by models/lama_checkpoint.py), or a path to a LaMa / GSInpaint weights file;
* ``opencv.telea`` / ``opencv.ns`` - classical OpenCV inpainting (delegates to tasks/opencv_inpaint.py).

Strategies (as IOPaint): ``crop`` (default) - images whose long side is at most ``crop_trigger`` are
processed whole; larger ones per mask region (bounding box + ``crop_margin``, shifted inward at the
edges), a region larger than ``resize_limit`` is downscaled for the network; ``resize`` - the whole
image is downscaled to ``resize_limit`` (long side), inpainted and upscaled; ``original`` - the
whole image at full size. In every case the network input is padded to the model's multiple.

Only masked pixels change (by default exactly the painted mask, binarised at 128): ``dilate``
grows the region on request, ``feather`` softens its edge INSIDE the region; every pixel outside
it is copied bit-exact from the input. Alpha is kept; uint8 and uint16 input.

Texture (``texture`` > 0, the default for the networks): the network fills the structure, then a
guided patch synthesis (tasks/texture_synthesis.py, PatchMatch) copies the fine texture of the
best-matching surroundings into the hole at the full resolution of the crop, so fills are not
smooth blobs and large holes filled at a reduced size get full-resolution detail back.
"""

from __future__ import annotations

import contextlib

import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .base import Progress, Request, Result, TaskContext, TaskError, TaskInputs
from .masked_crop import Box, bbox, crop_boxes, feather_weight, pad_to_multiple, prepare_mask, unpad

BUILTIN_ID = "builtin.inpaint-compact"
BUILTIN_FILE = "inpaint_compact.safetensors"
LAMA_IDS = ("lama.big-lama", "lama.big-lama-iopaint")
OPENCV_IDS = {"opencv.telea": "telea", "opencv.ns": "ns"}
STRATEGIES = ("crop", "resize", "original")
MIN_SIZE = 64  # networks see at least 64x64 (tiny images are padded)
# Peak CPU memory per network input pixel, measured by benchmarks/bench_inpaint.py (fp32, CPU).
BYTES_PER_PIXEL = {"builtin": 1100, "lama": 1200}


@dataclass(frozen=True)
class InpaintRequest(Request):
    model_id: str = BUILTIN_ID
    strategy: str = "crop"        # "crop" | "resize" | "original"
    crop_margin: int = 128        # context around each mask region (crop strategy)
    crop_trigger: int = 800       # crop only when the image's long side exceeds this
    resize_limit: int = 1280      # long side the network sees at most (resize; big crops)
    dilate: int = 0               # grow the mask by this many px first (brush edges, halos)
    feather: int = 0              # soft edge (px) of the composite, inside the (grown) mask
    texture: float = 0.9          # strength of the texture synthesised from the surroundings (0 = off)
    seed: int = 0

    task = "inpaint"


def model_choices(store: Any = None) -> list[dict[str, Any]]:
    """Models the UI / CLI offer: the built-in one, installed LaMa entries, OpenCV Telea / NS."""
    out = [{"id": BUILTIN_ID, "name": "Built-in (GSInpaint, offline)", "installed": True}]
    try:
        from ..models.store import default_store

        st = store or default_store()
        for s in st.list(task="inpaint"):
            if s.entry.id == BUILTIN_ID:
                out[0]["installed"] = bool(s.installed)
                continue
            out.append({"id": s.entry.id, "name": s.entry.name, "installed": bool(s.installed)})
    except Exception:  # noqa: BLE001 - catalog problems must not hide the offline choices
        pass
    out += [{"id": "opencv.telea", "name": "OpenCV Telea (classical)", "installed": True},
            {"id": "opencv.ns", "name": "OpenCV Navier-Stokes (classical)", "installed": True}]
    return out


# -------------------------------------------------------------------------------------------------
# models
class _Net:
    """A loaded network: ``predict(rgb float32 HxWx3 0..1, hole bool HxW) -> float32 HxWx3``."""

    def __init__(self, module, kind: str, multiple: int, dev, half: bool, name: str, lock=None,
                 info=None) -> None:
        self.module, self.kind, self.multiple, self.dev, self.half, self.name = \
            module, kind, multiple, dev, half, name
        self.lock = lock if lock is not None else threading.Lock()
        self.info = info     # tasks.device.DeviceInfo: bf16 autocast where the model allows it

    def predict(self, rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
        import torch

        img_p, size = pad_to_multiple(rgb, self.multiple, MIN_SIZE)
        hole_p, _ = pad_to_multiple(hole.astype(np.float32), self.multiple, MIN_SIZE)
        dtype = torch.float16 if self.half else torch.float32
        x = torch.from_numpy(np.ascontiguousarray(img_p.transpose(2, 0, 1)))[None]
        m = torch.from_numpy(np.ascontiguousarray(hole_p))[None, None]
        x = x.to(self.dev, dtype)
        m = (m > 0.5).to(self.dev, dtype)
        autocast = self.info.autocast() if self.info is not None else contextlib.nullcontext()
        with self.lock, torch.inference_mode(), autocast:
            y = self.module(x, m)
        y = y[0].float().clamp(0, 1).cpu().numpy().transpose(1, 2, 0)
        return unpad(y, size)


def _resolve(model_id: str, store: Any) -> tuple[str | Path, Any]:
    """(catalog id or weights file, store) of a model id or a weights file path."""
    p = Path(model_id)
    if p.suffix and p.is_file():
        return p, store
    from ..models.store import StoreError, default_store

    st = store or default_store()
    try:
        entry = st.entry(model_id)
    except (KeyError, StoreError) as exc:
        if model_id == BUILTIN_ID:  # catalog unavailable: the shipped file still works
            from .. import paths

            return paths.BUILTIN_MODELS / BUILTIN_FILE, st
        raise TaskError(f"unknown inpainting model {model_id!r}") from exc
    if entry.task != "inpaint":
        raise TaskError(f"{model_id} is a {entry.task} model, not an inpainting model")
    return model_id, st


def load_model(model_id: str, ctx: TaskContext, pixel_dtype: Any = np.uint8) -> _Net:
    """The network of ``model_id`` through the model platform (ganstudio.models.loader: one global
    cache with a memory budget; removing the model in the store frees it)."""
    from ..models.loader import load_model as load_weights
    from ..models.safeload import ModelLoadError
    from ..models.store import StoreError
    from .device import precision_for_pixels, select_device

    target, store = _resolve(model_id, ctx.store)
    info = select_device(ctx.device, ctx.half, ctx.threads,
                         precision=precision_for_pixels(getattr(ctx, "precision", "auto"), pixel_dtype))
    # reduced precision only for models measured to keep >= 45 dB against fp32 (their catalog
    # `precisions`; benchmarks/eval_precision.py); LaMa's FFC runs FFTs, which have no bf16 on CPU
    try:
        allowed = tuple(store.entry(target).precisions or ()) if isinstance(target, str) else ()
    except Exception:  # noqa: BLE001 - an unknown entry: fp32
        allowed = ()
    info = info.for_model(allowed)
    half = bool(info.half and info.type == "cuda")   # LaMa: the loader keeps fp32 (FFC)
    try:
        lm = load_weights(target, store, task="inpaint", device=str(info.device),
                          precision="fp16" if half else "fp32")
    except (ModelLoadError, StoreError) as exc:
        raise TaskError(str(exc)) from None
    kind = "builtin" if lm.arch == "gsinpaint" else "lama"
    return _Net(lm.module, kind, lm.multiple_of, info.device, lm.dtype == "float16", model_id, lm.lock,
                info=info if info.precision == "bf16" else None)


# -------------------------------------------------------------------------------------------------
# the task
def _validate(inputs: TaskInputs, request: InpaintRequest) -> tuple[np.ndarray, np.ndarray]:
    image, mask = inputs.image, inputs.mask
    if image is None:
        raise TaskError("No image to work on.")
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4) or image.dtype not in (np.uint8, np.uint16):
        raise TaskError(f"unsupported image {image.shape} {image.dtype} (RGB/RGBA, 8 or 16 bit)")
    if mask is None:
        raise TaskError("Paint over what to remove with the mask brush, or make a selection, first.")
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    if mask.shape != image.shape[:2]:
        raise TaskError(f"The mask is {mask.shape[1]}x{mask.shape[0]} but the image is "
                        f"{image.shape[1]}x{image.shape[0]}: they must be the same size.")
    if request.strategy not in STRATEGIES:
        raise TaskError(f"unknown strategy {request.strategy!r} (crop, resize or original)")
    return image, mask


def plan_regions(shape: tuple[int, int], hole: np.ndarray, request: InpaintRequest) -> list[tuple[Box, float]]:
    """(box, scale) pairs the network processes: scale < 1 means the box is downscaled first."""
    h, w = shape
    full: Box = (0, 0, w, h)
    long_side = max(h, w)
    if request.strategy == "original":
        return [(full, 1.0)]
    if request.strategy == "resize":
        return [(full, min(1.0, request.resize_limit / long_side))]
    if long_side <= request.crop_trigger:
        return [(full, 1.0)]
    out = []
    for b in crop_boxes(hole, max(0, int(request.crop_margin))):
        side = max(b[2] - b[0], b[3] - b[1])
        out.append((b, min(1.0, request.resize_limit / side)))
    return out


def _check_size(net: _Net, pixels: int) -> None:
    if net.dev.type != "cpu":
        return
    from .device import physical_memory

    need = pixels * BYTES_PER_PIXEL.get(net.kind, 2000)
    have = physical_memory()
    if have and need > 0.7 * have:
        raise TaskError(f"{pixels / 1e6:.1f} MP at original size needs about {need / 2**30:.0f} GiB with "
                        f"this model ({have / 2**30:.0f} GiB RAM): use the crop or resize strategy.")


def _predict(net: _Net, rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    from .device import free_memory, is_oom_error

    try:
        return net.predict(rgb, hole)
    except Exception as exc:  # noqa: BLE001
        if is_oom_error(exc):
            free_memory(net.dev)
            raise TaskError("Out of memory while inpainting: use the crop or resize strategy, a "
                            "smaller resize limit, or the CPU.") from None
        raise


def _to_float(rgb: np.ndarray) -> np.ndarray:
    scale = 65535.0 if rgb.dtype == np.uint16 else 255.0
    f = rgb.astype(np.float32) / scale
    return np.repeat(f, 3, axis=2) if f.shape[2] == 1 else f


def run(inputs: TaskInputs, request: InpaintRequest, ctx: TaskContext) -> Generator[Progress, None, Result]:
    t0 = time.perf_counter()
    image, mask = _validate(inputs, request)
    core = prepare_mask(mask, max(0, int(request.dilate)))
    if not core.any():
        return Result(image=np.array(image, copy=True), name="Remove (nothing to do)",
                      info={"model": request.model_id, "noop": True, "changed_pixels": 0,
                            "message": "The mask is empty: paint over what to remove first."})
    if request.model_id in OPENCV_IDS:
        return (yield from _run_opencv(np.asarray(inputs.image), core, request, ctx, t0))
    feather = max(0, int(request.feather))
    hole = core                   # the network fills exactly the region that may change
    weight = feather_weight(core, feather)
    texture = max(0.0, float(request.texture))
    h, w = image.shape[:2]
    plan = plan_regions((h, w), hole, request)
    total = len(plan) + 1
    yield Progress(0, total, "loading model")
    net = load_model(request.model_id, ctx, image.dtype)
    import torch

    torch.manual_seed(int(request.seed))
    n_rgb = 1 if image.shape[2] == 1 else 3
    rgb = image[..., :n_rgb]
    blended: list[tuple[Box, np.ndarray]] = []
    for i, (box, scale) in enumerate(plan):
        ctx.check_cancelled()
        x0, y0, x1, y1 = box
        crop = _to_float(rgb[y0:y1, x0:x1])
        crop_hole = hole[y0:y1, x0:x1] > 0
        if scale < 1.0:
            sw, sh = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
            small = cv2.resize(crop, (sw, sh), interpolation=cv2.INTER_AREA)
            small_hole = cv2.resize(crop_hole.astype(np.uint8) * 255, (sw, sh), interpolation=cv2.INTER_AREA) > 0
            _check_size(net, sw * sh)
            pred = _predict(net, small, small_hole)
            pred = np.clip(cv2.resize(pred, (x1 - x0, y1 - y0), interpolation=cv2.INTER_CUBIC), 0, 1)
        else:
            _check_size(net, crop.shape[0] * crop.shape[1])
            pred = _predict(net, crop, crop_hole)
        if texture > 0:
            from .texture_synthesis import transfer_texture

            ctx.check_cancelled()
            pred = transfer_texture(crop, pred, crop_hole, gain=texture, seed=int(request.seed) + i)
        blended.append((box, pred))
        yield Progress(i + 1, total, f"region {i + 1}/{len(plan)}" if len(plan) > 1 else "inpainting")
    ctx.check_cancelled()
    out = np.array(image, copy=True)
    maxv = 65535.0 if image.dtype == np.uint16 else 255.0
    for (x0, y0, x1, y1), pred in blended:
        wgt = weight[y0:y1, x0:x1]
        sel = wgt > 0
        if not sel.any():
            continue
        orig = _to_float(rgb[y0:y1, x0:x1])
        mixed = orig + (pred - orig) * wgt[..., None]
        if n_rgb == 1:
            mixed = mixed.mean(axis=2, keepdims=True)
        vals = np.clip(np.rint(mixed * maxv), 0, maxv).astype(image.dtype)
        region = out[y0:y1, x0:x1, :n_rgb]
        region[sel] = vals[sel]
    changed = bbox(weight > 0)
    info = {"model": request.model_id, "strategy": request.strategy, "regions": len(plan),
            "boxes": [list(b) for b, _ in plan], "scales": [round(s, 4) for _, s in plan],
            "bbox": list(changed) if changed else None, "seed": int(request.seed),
            "texture": texture, "device": str(net.dev),
            "precision": net.info.precision if net.info is not None else ("fp16" if net.half else "fp32"),
            "seconds": round(time.perf_counter() - t0, 3)}
    if np.asarray(inputs.image).ndim == 2:
        out = out[..., 0]
    return Result(image=out, name="Removed", info=info)


def _run_opencv(image, core, request: InpaintRequest, ctx: TaskContext, t0: float):
    from .opencv_inpaint import OpenCVInpaintRequest
    from .opencv_inpaint import run as cv_run

    res = yield from cv_run(TaskInputs(image=image, mask=core),
                            OpenCVInpaintRequest(method=OPENCV_IDS[request.model_id]), ctx)
    changed = bbox(core)
    info = {"model": request.model_id, "strategy": "crop", "regions": res.info.get("regions"),
            "bbox": list(changed) if changed else None, "seed": int(request.seed),
            "seconds": round(time.perf_counter() - t0, 3)}
    return Result(image=res.image, name=res.name, info=info)


def composite_weight(mask: np.ndarray, request: InpaintRequest) -> np.ndarray:
    """The float32 weight ``run`` composites with (1 = replaced, 0 = untouched); for layer alpha."""
    core = prepare_mask(mask, max(0, int(request.dilate)))
    if request.model_id in OPENCV_IDS:
        return (core > 0).astype(np.float32)
    return feather_weight(core, max(0, int(request.feather)))


from .registry import TaskSpec, register_task  # noqa: E402

SPEC = register_task(TaskSpec(
    name="inpaint", title="Remove", request_type=InpaintRequest, run=run,
    default_models=(BUILTIN_ID,), ui="ganstudio.ui.tasks.inpaint", cli="ganstudio.commands.inpaint",
    description="Remove what the mask covers and fill it plausibly (built-in, LaMa, OpenCV)"))
