"""Scene painting: a label map -> a photographic scene (built-in SceneExemplar or SceneCompact,
SPADE / GauGAN).

Inputs: ``inputs.labels`` (HxW class ids of the label set ``request.palette``: the landscape
palette, ADE20K, COCO-Stuff ...), optional ``inputs.mask`` (255 = generate here: the result layer is
masked to it with a feathered edge; None = a whole new scene) and ``inputs.image`` (the photo, only
to size the result when ``width``/``height`` are 0 and no labels are given; never modified).

Steps: validate the ids (names the ones outside the set) -> unlabelled pixels take the nearest
painted class -> map the palette onto the model's label set (``core.labels.map_labels``: the
landscape palette's ``maps``) -> resize (nearest) to the model's working size (long side
``input.size`` of the catalog entry, multiple of the model's grid, any aspect ratio) -> one-hot
(SPADE: the official preprocessing, ``archs.spade_arch.spade_semantics``) -> generator (seeded noise
for the built-in models: ``seed``, ``seed + 1``, ... one result layer per variation; SceneExemplar
first builds the seed's collage of real photo texture from the exemplar bank in its weights) -> to the
output size: Real-ESRGAN (the super-resolution task) then resampling, or resampling alone.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import Progress, Request, Result, ResultLayer, TaskContext, TaskError, TaskInputs
from .registry import TaskSpec, register_task

DEFAULT_MODEL = "builtin.scene-exemplar"
MAX_OUTPUT_PIXELS = 64_000_000          # 8000 x 8000
MAX_VARIATIONS = 8


@dataclass(frozen=True)
class SceneRequest(Request):
    task = "scene"

    model_id: str = DEFAULT_MODEL
    palette: str = "landscape"     # label set of inputs.labels
    width: int = 0                 # output size; 0 = the label map's size
    height: int = 0
    seed: int = 0
    variations: int = 1            # results with seeds seed, seed+1, ... (noise models only)
    work_size: int = 0             # long side the model runs at (0 = the model's own, catalog input.size)
    upscale: str = "auto"          # "auto" | "resample" | "realesrgan" (or an SR model id)
    feather: float = 8.0           # px, edge of the masked result
    fill_unlabelled: bool = True   # unlabelled pixels take the nearest painted class


@dataclass
class SceneModel:
    id: str
    module: Any
    entry: Any
    kind: str          # "builtin" | "spade"
    labels: str        # label set name of the model's ids
    size: int          # default working long side
    multiple: int
    has_noise: bool
    licence: str
    non_commercial: bool


def model_label_set(entry: Any) -> str:
    conv = dict(getattr(entry, "input", {}) or {})
    if conv.get("labels"):
        return str(conv["labels"])
    ds = dict(getattr(entry, "arch_kwargs", {}) or {}).get("dataset")
    return str(ds or "builtin_scene")


def load_scene_model(model_id: str, ctx: TaskContext, device: str = "cpu") -> SceneModel:
    from ..models.errors import StoreError
    from ..models.loader import WrongModelError, load_model
    from ..models.safeload import ModelLoadError
    from ..models.store import default_store

    store = ctx.store or default_store()
    try:
        lm = load_model(model_id, store, task="scene", device=device, precision="fp32")
    except (StoreError, ModelLoadError, WrongModelError, KeyError, ValueError) as exc:
        raise TaskError(str(exc).strip('"')) from None
    entry = lm.entry
    arch = lm.arch or getattr(entry, "arch", "")
    conv = dict(getattr(entry, "input", {}) or {})
    mod = lm.module
    if arch == "spade":
        kind, has_noise = "spade", bool(getattr(mod, "use_vae", False))
        mult = int(getattr(mod, "multiple", 32))
    elif arch == "scene_compact":
        kind, has_noise, mult = "builtin", True, int(getattr(mod, "multiple", 16))
    elif arch == "scene_exemplar":
        kind, has_noise, mult = "exemplar", True, int(getattr(mod, "multiple", 4))
    else:
        raise TaskError(f"{model_id}: architecture {arch!r} is not a scene model "
                        "(spade, scene_compact, scene_exemplar)")
    if entry is not None:
        labels = model_label_set(entry)
    else:                                   # a weights file: what the arch detected
        labels = getattr(mod, "dataset", None) or "builtin_scene"
    default_size = 256 if kind == "spade" else 384
    if kind == "spade" and entry is None:
        default_size = max(mod.output_size())
    return SceneModel(model_id, mod, entry, kind, labels, int(conv.get("size", default_size)),
                      max(mult, int(conv.get("multiple_of", 1))), has_noise,
                      str(getattr(entry, "licence", "")), bool(getattr(entry, "non_commercial", False)))


def work_shape(h: int, w: int, long_side: int, multiple: int) -> tuple[int, int]:
    """(h, w) with the given long side, the label map's aspect ratio, multiples of ``multiple``."""
    if h >= w:
        wh = long_side
        ww = long_side * w / h
    else:
        ww = long_side
        wh = long_side * h / w
    return (max(multiple, int(round(wh / multiple)) * multiple),
            max(multiple, int(round(ww / multiple)) * multiple))


def fill_nearest(labels: np.ndarray, unlabelled: int) -> np.ndarray:
    """Unlabelled pixels take the class of the nearest labelled pixel."""
    import cv2

    hole = labels == unlabelled
    if not hole.any() or hole.all():
        return labels
    h, w = labels.shape
    s = min(1.0, 1024 / max(h, w))          # the nearest class is found on a <= 1024 px copy
    small = labels if s == 1.0 else cv2.resize(labels, (max(1, round(w * s)), max(1, round(h * s))),
                                               interpolation=cv2.INTER_NEAREST)
    sh = small == unlabelled
    if sh.all():
        return labels
    _, idx = cv2.distanceTransformWithLabels(sh.astype(np.uint8), cv2.DIST_L2, 5,
                                             labelType=cv2.DIST_LABEL_PIXEL)
    # idx: the label of the nearest zero (labelled) pixel; map those labels to their pixel values
    zy, zx = np.nonzero(~sh)
    lut = np.zeros(idx.max() + 1, labels.dtype)
    lut[idx[zy, zx]] = small[zy, zx]
    filled = lut[idx]
    if s != 1.0:
        filled = cv2.resize(filled, (w, h), interpolation=cv2.INTER_NEAREST)
    return np.where(hole, filled, labels)


def prepare_labels(labels: np.ndarray, palette: str, model_labels: str,
                   fill: bool = True) -> tuple[np.ndarray, dict[str, Any]]:
    """Validate, fill and map a painted label map onto a model's label set."""
    from ..core import labels as L

    if labels is None:
        raise TaskError("no label map: paint labels first (Scene panel), or give a label PNG")
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.size == 0 or min(labels.shape) < 1:
        raise TaskError(f"a label map is HxW class ids, got shape {labels.shape}")
    try:
        src = L.load_palette(palette)
        dst = L.load_palette(model_labels)
        L.validate_labels(labels, src)
    except L.LabelError as exc:
        raise TaskError(str(exc)) from None
    counts = L.class_counts(labels)
    un = src.unlabelled
    painted = {k: v for k, v in counts.items() if k != un}
    if not painted:
        raise TaskError("the label map is empty: every pixel is 'unlabelled'; paint some classes "
                        "(sky, mountain, water ...) first")
    info: dict[str, Any] = {"classes": {src.by_id(k).name: v for k, v in sorted(painted.items())}}
    if len(painted) == 1:
        info["note"] = f"one class only ({src.by_id(next(iter(painted))).name}): the whole scene is that class"
    if fill and un is not None and un in counts:
        labels = fill_nearest(labels, un)
    try:
        mapped = L.map_labels(labels, src, dst.name, dst)
    except L.LabelError as exc:
        raise TaskError(f"{exc} (model label set: {dst.title})") from None
    return mapped, info


def _resize_nearest(labels: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    import cv2

    h, w = hw
    if labels.shape == (h, w):
        return labels
    src = labels.astype(np.uint16) if labels.dtype != np.uint8 else labels
    return cv2.resize(src, (w, h), interpolation=cv2.INTER_NEAREST).astype(labels.dtype)


def _feather(mask: np.ndarray, radius: float) -> np.ndarray:
    """Soft edge: a smoothstep over +-``radius`` px of the signed distance to the mask's border
    (255 from ``radius`` inside, 0 from ``radius`` outside)."""
    import cv2

    m = (mask > 0).astype(np.uint8)
    if radius <= 0 or not m.any():
        return m * 255
    inside = cv2.distanceTransform(m, cv2.DIST_L2, 5)
    outside = cv2.distanceTransform(1 - m, cv2.DIST_L2, 5)
    d = np.where(m > 0, inside - 0.5, 0.5 - outside)       # signed distance to the border
    t = np.clip(0.5 + d / (2.0 * radius), 0.0, 1.0)
    return np.round(t * t * (3 - 2 * t) * 255).astype(np.uint8)


def _to_output(img: np.ndarray, size: tuple[int, int], request: SceneRequest, ctx: TaskContext,
               on_gpu: bool, info: dict[str, Any]) -> Generator[Progress, None, np.ndarray]:
    """Bring the generated image to (w, h): Real-ESRGAN where it helps, then resampling."""
    from .super_resolution import resample

    w, h = size
    scale = max(w / img.shape[1], h / img.shape[0])
    mode = request.upscale
    use_sr = scale >= 1.5 and (mode == "realesrgan" or mode.startswith("realesrgan.")
                               or (mode == "auto" and on_gpu))
    if use_sr:
        from . import super_resolution as sr

        sr_id = mode if mode.startswith("realesrgan.") else sr.DEFAULT_MODEL
        gen = sr.run(TaskInputs(image=img), sr.UpscaleRequest(model_id=sr_id, width=w, height=h), ctx)
        try:
            while True:
                p = next(gen)
                yield Progress(p.step, p.total, f"Upscaling ({sr_id}): {p.stage}")
        except StopIteration as stop:
            res = stop.value
        info["upscale"] = sr_id
        out = res.image[..., :3]
        return out if out.shape[:2] == (h, w) else resample(out, (w, h))
    info["upscale"] = "resample" if scale != 1 else "none"
    return resample(img, (w, h))


def run(inputs: TaskInputs, request: SceneRequest, ctx: TaskContext) -> Generator[Progress, None, Result]:
    import torch

    from .device import select_device

    t0 = time.perf_counter()
    labels = inputs.labels
    if labels is None:
        raise TaskError("no label map: paint labels first (Scene panel), or give a label PNG")
    lh, lw = np.asarray(labels).shape[:2] if np.asarray(labels).ndim >= 2 else (0, 0)
    W = int(request.width) or lw
    H = int(request.height) or lh
    if W < 1 or H < 1:
        raise TaskError(f"bad output size {W}x{H}")
    if W * H > MAX_OUTPUT_PIXELS:
        raise TaskError(f"output {W}x{H} is larger than the limit of {MAX_OUTPUT_PIXELS // 1_000_000} MP")
    nvar = int(request.variations)
    if not 1 <= nvar <= MAX_VARIATIONS:
        raise TaskError(f"variations must be 1..{MAX_VARIATIONS} (got {nvar})")
    if inputs.mask is not None and np.asarray(inputs.mask).shape != (lh, lw):
        raise TaskError(f"the mask is {np.asarray(inputs.mask).shape[::-1]}, the labels {lw}x{lh}")
    yield Progress(0, 3 + nvar, "Loading model")
    dev = select_device(ctx.device, ctx.half, ctx.threads, precision=getattr(ctx, "precision", "auto"))
    sm = load_scene_model(request.model_id, ctx, str(dev.device))
    entry_prec = tuple(getattr(sm.entry, "precisions", ()) or ()) if sm.entry is not None else ()
    dev = dev.for_model(entry_prec)
    ctx.check_cancelled()
    mapped, linfo = prepare_labels(labels, request.palette, sm.labels, request.fill_unlabelled)
    long_side = int(request.work_size) or sm.size
    if not 16 <= long_side <= 2048:
        raise TaskError(f"work_size must be 16..2048 (got {long_side})")
    wh, ww = work_shape(H, W, long_side, sm.multiple)
    small = _resize_nearest(mapped, (wh, ww))
    yield Progress(1, 3 + nvar, "Preparing labels")
    if sm.kind == "spade":
        from ..archs.spade_arch import LabelRangeError, spade_semantics

        ds = getattr(sm.module, "dataset", None) or sm.labels
        try:
            sem = spade_semantics(small, ds)
        except LabelRangeError as exc:
            raise TaskError(str(exc)) from None
        latent = (wh // sm.multiple, ww // sm.multiple)
    else:
        import torch.nn.functional as F

        nc = int(getattr(sm.module, "label_nc", 8))
        sem = F.one_hot(torch.from_numpy(small.astype(np.int64)).clamp(0, nc - 1), nc)
        sem = sem.permute(2, 0, 1)[None].float()
        latent = None
    sem = sem.to(dev.device)
    seeds = [int(request.seed) + i for i in range(nvar if sm.has_noise else 1)]
    mask = None if inputs.mask is None else np.asarray(inputs.mask)
    rect = None
    if mask is not None:
        ys, xs = np.nonzero(mask > 0)
        if ys.size == 0:
            raise TaskError("the mask is empty: paint where the scene should appear, or clear the mask "
                            "for a whole new scene")
    info: dict[str, Any] = {
        "task": "scene", "model": sm.id, "palette": request.palette, "model_labels": sm.labels,
        "work_size": [ww, wh], "size": [W, H], "device": dev.name,
        "precision": getattr(dev, "precision", "fp32"), "licence": sm.licence,
        "non_commercial": sm.non_commercial, "request": request.to_dict(), **linfo}
    if not sm.has_noise and nvar > 1:
        info["note_variations"] = f"{sm.id} has no noise/style input: one result"
    layers = []
    for i, seed in enumerate(seeds):
        ctx.check_cancelled()
        yield Progress(2 + i, 3 + nvar, f"Generating ({ww}x{wh})" + (f", seed {seed}" if sm.has_noise else ""))
        with torch.inference_mode(), dev.autocast():
            if sm.kind == "spade":
                y = sm.module(sem.to(next(sm.module.parameters()).dtype), latent_size=latent)
            elif sm.kind == "exemplar":     # the collage of this seed, then the refining generator
                g = torch.Generator(device="cpu").manual_seed(seed)
                noise = [t.to(dev.device) for t in sm.module.noise_for(sem.cpu(), g)]
                guide = sm.module.guide_for(small, seed).to(dev.device)
                y = sm.module(sem, guide, noise=noise)
            else:
                g = torch.Generator(device="cpu").manual_seed(seed)
                noise = [t.to(dev.device) for t in sm.module.noise_for(sem.cpu(), g)]
                y = sm.module(sem, noise=noise)
        img = ((y[0].float().permute(1, 2, 0).cpu().numpy() + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)
        ctx.check_cancelled()
        linfo_i: dict[str, Any] = {}
        out = yield from _to_output(img, (W, H), request, ctx, dev.type != "cpu", linfo_i)
        layer_info = {**info, **linfo_i, "seed": seed if sm.has_noise else None}
        name = f"Scene ({sm.id}" + (f", seed {seed})" if sm.has_noise else ")")
        if mask is not None:
            m = mask if mask.shape == (H, W) else _resize_nearest(mask, (H, W))
            fm = _feather(m, float(request.feather))
            ys, xs = np.nonzero(fm > 0)
            x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
            rect = (x0, y0, x1 - x0, y1 - y0)
            layers.append(ResultLayer(np.ascontiguousarray(out[y0:y1, x0:x1]), rect, name,
                                      np.ascontiguousarray(fm[y0:y1, x0:x1]), layer_info))
        else:
            layers.append(ResultLayer(out, None, name, None, layer_info))
    info["seconds"] = round(time.perf_counter() - t0, 3)
    for la in layers:
        la.info["seconds"] = info["seconds"]
    yield Progress(3 + nvar, 3 + nvar, "Done")
    first = layers[0]
    return Result(image=first.image if mask is None and len(layers) == 1 else None,
                  name=first.name, info={**info, "seed": first.info.get("seed")}, layers=layers)


SPEC = register_task(TaskSpec(
    name="scene", title="Scene painting", request_type=SceneRequest, run=run,
    default_models=(DEFAULT_MODEL, "builtin.scene-compact", "spade.ade20k", "spade.coco"),
    ui="ganstudio.ui.tasks.scene", cli="ganstudio.commands.scene",
    description="Paint a label map (sky, mountains, water ...) and turn it into a photographic "
                "scene (built-in model offline; SPADE / GauGAN ADE20K, COCO-Stuff, Cityscapes)"))
