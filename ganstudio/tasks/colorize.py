"""Colourise: a gray (or faded) photo gets plausible colours; its own luminance is kept exactly.

Model (``ColorizeRequest.model_id``): ``builtin.colorize`` - GAN Studio's own GSColorizer
(archs/colorizer_arch.py, a pix2pix-style conditional GAN trained by ``ganstudio train colorize``,
shipped in models/builtin/), any catalog / user entry with ``task = "colorize"``, or the path of a
GSColorizer ``.safetensors`` file.

How: luma Y = 0.299 R + 0.587 G + 0.114 B (BT.601, full range) of the input is computed in float64;
the network sees Y downscaled so that its long side is ``work_size`` px (chroma is smooth; the
result does not depend on the photo's pixel count) and predicts chroma (Cb, Cr); the chroma is
upscaled (bicubic) to the full size, multiplied by ``saturation`` and recombined with the
*original* full-resolution Y. Where the colour would leave the RGB cube the chroma of that pixel
is scaled down (never the luma), so ``Y(output) == Y(input)`` before rounding - after rounding to
8 / 16 bit it differs by at most half a quantisation step. A selection (``inputs.mask``, 255 =
colourise) blends per pixel between the input and the colourised image, which keeps the luma too
(it is linear); pixels outside the mask are copied bit-exact. Alpha is copied unchanged;
uint8 and uint16 images, RGB / RGBA / gray (HxW, HxWx1, HxWx2 gray+alpha).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .base import Progress, Request, Result, TaskContext, TaskError, TaskInputs

BUILTIN_ID = "builtin.colorize"
KR, KB = 0.299, 0.114          # the same BT.601 numbers as archs/colorizer_arch.py
KG = 1.0 - KR - KB
MULTIPLE = 16


@dataclass(frozen=True)
class ColorizeRequest(Request):
    model_id: str = BUILTIN_ID
    work_size: int = 384          # long side the network sees (0 = the image's own size)
    saturation: float = 1.0       # chroma multiplier (0 = gray, 1 = as predicted)

    task = "colorize"


# --- colour math (numpy; exact luma) -------------------------------------------------------------

def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of float RGB (..., 3)."""
    return rgb[..., 0] * KR + rgb[..., 1] * KG + rgb[..., 2] * KB


def chroma(rgb: np.ndarray) -> np.ndarray:
    """(Cb, Cr) centred on 0 of float RGB in [0, 1]: (..., 2)."""
    y = luma(rgb)
    return np.stack([(rgb[..., 2] - y) / (2 * (1 - KB)), (rgb[..., 0] - y) / (2 * (1 - KR))], -1)


def recombine(y: np.ndarray, cbcr: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] with luma exactly ``y`` (in [0, 1]): chroma is shrunk per pixel to fit the cube."""
    y = y.astype(np.float64)
    cb = cbcr[..., 0].astype(np.float64)
    cr = cbcr[..., 1].astype(np.float64)
    dr = 2 * (1 - KR) * cr
    db = 2 * (1 - KB) * cb
    dg = -(KR * dr + KB * db) / KG
    d = np.stack([dr, dg, db], -1)                         # RGB offset from gray; luma(d) == 0
    yy = y[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(d > 0, (1 - yy) / d, np.inf)          # room above, per channel
        down = np.where(d < 0, yy / -d, np.inf)             # room below
    t = np.minimum(1.0, np.minimum(up, down).min(-1))
    t = np.clip(np.nan_to_num(t, nan=0.0, posinf=1.0), 0.0, 1.0)
    return np.clip(yy + d * t[..., None], 0.0, 1.0)


# --- models --------------------------------------------------------------------------------------

def model_choices(store: Any = None) -> list[dict[str, Any]]:
    """Colourisers the UI / CLI offer (the built-in one first)."""
    out = [{"id": BUILTIN_ID, "name": "Built-in colouriser (GSColorizer, offline)", "installed": True}]
    try:
        from ..models.store import default_store

        st = store or default_store()
        for s in st.list(task="colorize"):
            if s.entry.id == BUILTIN_ID:
                out[0]["installed"] = bool(s.installed)
                continue
            out.append({"id": s.entry.id, "name": s.entry.name, "installed": bool(s.installed)})
    except Exception:  # noqa: BLE001 - catalog problems must not hide the built-in choice
        pass
    return out


def _load(model_id: str, store, dev):
    """(module, info) of a colouriser id or weights file."""
    from ..models.loader import WrongModelError, build_from_registry, load_model
    from ..models.safeload import ModelLoadError
    from ..models.store import StoreError

    try:
        p = Path(model_id)
        if p.suffix and p.is_file():
            sd = store.load_state_dict(p)
            lm = build_from_registry("gscolorizer", sd, mid=str(p), arch_kwargs={})
            lm.module.to(dev.device)
            return lm.module
        lm = load_model(model_id, store, task="colorize", device=str(dev.device), precision="fp32")
        return lm.module
    except (StoreError, ModelLoadError, WrongModelError, KeyError) as exc:
        raise TaskError(str(exc).strip('"')) from None


def _to_float(img: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, float]:
    """(RGB float64 HxWx3 in [0, 1], alpha or None, full-scale value)."""
    if img.dtype not in (np.uint8, np.uint16):
        raise TaskError(f"unsupported pixel type {img.dtype} (8 or 16 bit expected)")
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 2, 3, 4):
        raise TaskError(f"unsupported image shape {img.shape}")
    full = 255.0 if img.dtype == np.uint8 else 65535.0
    c = img.shape[2]
    colour = img[:, :, :1] if c in (1, 2) else img[:, :, :3]
    alpha = img[:, :, -1] if c in (2, 4) else None
    rgb = colour.astype(np.float64) / full
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    return rgb, alpha, full


def predict_chroma(module, y: np.ndarray, work_size: int, dev) -> np.ndarray:
    """Network chroma (H x W x 2, float32) for luma ``y`` (H x W in [0, 1])."""
    import torch

    h, w = y.shape
    side = max(h, w) if work_size <= 0 else work_size
    k = min(1.0, side / max(h, w)) if work_size > 0 else 1.0
    nh, nw = max(1, round(h * k)), max(1, round(w * k))
    small = cv2.resize(y.astype(np.float32), (nw, nh), interpolation=cv2.INTER_AREA) if (nh, nw) != (h, w) \
        else y.astype(np.float32)
    ph, pw = (-nh) % MULTIPLE, (-nw) % MULTIPLE
    if nh + ph < MULTIPLE * 2:
        ph += MULTIPLE
    if nw + pw < MULTIPLE * 2:
        pw += MULTIPLE
    padded = np.pad(small, ((0, ph), (0, pw)), mode="reflect" if min(nh, nw) > 1 else "edge")
    x = torch.from_numpy(np.ascontiguousarray(padded))[None, None].to(dev.device)
    with torch.inference_mode(), dev.autocast():
        c = module(x.to(torch.float32))
    c = c.float()[0, :, :nh, :nw].permute(1, 2, 0).cpu().numpy()
    if (nh, nw) != (h, w):
        c = cv2.resize(c, (w, h), interpolation=cv2.INTER_CUBIC)
    return c.astype(np.float32)


def run(inputs: TaskInputs, request: ColorizeRequest, ctx: TaskContext) -> Generator[Progress, None, Result]:
    from ..models.store import default_store
    from .device import precision_for_pixels, select_device

    img = inputs.image
    if img is None:
        raise TaskError("no image to colourise")
    if request.work_size < 0:
        raise TaskError("work_size must be >= 0")
    if not 0.0 <= request.saturation <= 4.0:
        raise TaskError("saturation must be between 0 and 4")
    rgb, alpha, full = _to_float(img)
    h, w = rgb.shape[:2]
    if h < 1 or w < 1:
        raise TaskError("empty image")
    mask = inputs.mask
    if mask is not None:
        if mask.shape[:2] != (h, w):
            raise TaskError(f"mask {mask.shape[:2]} does not match the image {(h, w)}")
        if not mask.any():
            raise TaskError("the selection is empty")
    t0 = time.perf_counter()
    yield Progress(0, 3, "Loading model")
    dev = select_device(ctx.device, ctx.half, ctx.threads,
                        precision=precision_for_pixels(getattr(ctx, "precision", "auto"), img.dtype))
    store = ctx.store or default_store()
    # reduced precision only where the catalog lists it as measured (>= 45 dB vs fp32,
    # benchmarks/eval_precision.py); a weights file or an unknown entry runs fp32
    try:
        allowed = tuple(store.entry(request.model_id).precisions or ())
    except Exception:  # noqa: BLE001
        allowed = ()
    dev = dev.for_model(allowed)
    module = _load(request.model_id, store, dev)
    ctx.check_cancelled()
    yield Progress(1, 3, "Colourising")
    y = luma(rgb)
    c = predict_chroma(module, y, request.work_size, dev) * float(request.saturation)
    ctx.check_cancelled()
    yield Progress(2, 3, "Recombining")
    out = recombine(y, c)
    if mask is not None:
        wgt = (mask.astype(np.float64) / 255.0)[..., None]
        out = out * wgt + rgb * (1 - wgt)
    dtype = img.dtype
    res = np.clip(np.rint(out * full), 0, full).astype(dtype)
    if mask is not None:                                    # outside the selection: bit-exact copy
        src = img if img.ndim == 3 else img[:, :, None]
        src_rgb = np.repeat(src[:, :, :1], 3, 2) if src.shape[2] in (1, 2) else src[:, :, :3]
        res = np.where((mask > 0)[..., None], res, src_rgb)
    if alpha is not None:
        res = np.concatenate([res, alpha[..., None]], axis=2)
    elapsed = time.perf_counter() - t0
    yield Progress(3, 3, "Done")
    return Result(image=res, name="Colourised", info={
        "task": "colorize", "model": request.model_id, "device": dev.name,
        "precision": getattr(dev, "precision", ""), "seconds": round(elapsed, 3),
        "request": request.to_dict()})


from .registry import TaskSpec, register_task  # noqa: E402

SPEC = register_task(TaskSpec(
    name="colorize", title="Colourise", request_type=ColorizeRequest, run=run,
    default_models=(BUILTIN_ID,), ui="ganstudio.ui.tasks.colorize", cli="ganstudio.commands.colorize",
    description="Colourise a gray photo (keeps its own luminance exactly)"))
