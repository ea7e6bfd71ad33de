"""Image-to-image translation with pix2pix UnetGenerators (labels -> photo, edges -> shoes, ...).

The official models are trained at 256 x 256 (``unet_256``: 8 stride-2 steps, so sides must be
multiples of 256). The image is resized to ``size`` x ``size`` (default: the catalog's ``input.size``,
256; any multiple of 256 works, the network is fully convolutional), translated, and resized back
to the input's size (Lanczos). Alpha is kept; 16-bit in -> 16-bit out.

``mode="official"`` (default) is what the official ``test.py`` does without ``--eval``: BatchNorm
normalises with the test image's own statistics and dropout stays on (``seed`` makes it
reproducible); ``mode="eval"`` uses the running averages and no dropout (``test.py --eval``).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np

from .base import Progress, Request, Result, ResultLayer, TaskContext, TaskError, TaskInputs
from .registry import TaskSpec, register_task

DEFAULT_MODEL = "pix2pix.facades_label2photo"
MODES = ("official", "eval")


@dataclass(frozen=True)
class TranslateRequest(Request):
    task = "translate"

    model_id: str = DEFAULT_MODEL
    size: int = 0                 # network input side; 0 = the model's (256)
    mode: str = "official"        # "official" (test.py default) | "eval" (test.py --eval)
    seed: int = 0                 # dropout noise of the official mode


def run(inputs: TaskInputs, request: TranslateRequest, ctx: TaskContext) -> Generator[Progress, None, Result]:
    import torch

    from ..archs.pix2pix_unet_arch import UnetGenerator, set_test_mode
    from ..archs.registry import ArchLoadError
    from ..models.errors import StoreError
    from ..models.loader import WrongModelError, build_from_registry, load_model
    from ..models.safeload import ModelLoadError
    from ..models.store import default_store
    from .device import select_device
    from .style_transfer import resize, split_channels

    if inputs.image is None:
        raise TaskError("no image to translate")
    if request.mode not in MODES:
        raise TaskError(f"unknown mode {request.mode!r} ({' or '.join(MODES)})")
    colour, alpha, grey = split_channels(inputs.image)
    h, w = colour.shape[:2]
    t0 = time.perf_counter()
    yield Progress(0, 3, "Loading model")
    dev = select_device(ctx.device, ctx.half, ctx.threads, precision="fp32")
    store = ctx.store or default_store()
    from pathlib import Path

    p = Path(request.model_id)
    try:
        if p.suffix and p.is_file():
            sd = store.load_state_dict(p)
            lm = build_from_registry("pix2pix_unet", sd, mid=p.name, arch_kwargs={})
            lm.module.to(dev.device)
            entry = None
        else:
            lm = load_model(request.model_id, store, task="translate", device=str(dev.device),
                            precision="fp32")
            entry = lm.entry
    except (StoreError, ModelLoadError, WrongModelError, ArchLoadError, KeyError) as exc:
        raise TaskError(str(exc).strip('"')) from None
    net = lm.module
    if not isinstance(net, UnetGenerator):
        raise TaskError(f"{request.model_id} is not a pix2pix UnetGenerator (use `stylize` for "
                        "CycleGAN models)")
    mult = net.multiple_of
    size = int(request.size) or int((entry.input.get("size") if entry is not None else 0) or mult)
    if size % mult or size <= 0:
        raise TaskError(f"size must be a positive multiple of {mult} for this network (got {size})")
    small = resize(colour, (size, size))
    maxval = 65535.0 if colour.dtype == np.uint16 else 255.0
    x = torch.from_numpy(np.ascontiguousarray(small.transpose(2, 0, 1))).float().div_(maxval)
    x = (x * 2 - 1)[None].to(dev.device)
    yield Progress(1, 3, "Translating")
    ctx.check_cancelled()
    with lm.lock:                 # the cached module's mode is shared: one run at a time
        set_test_mode(net, request.mode)
        devices = [dev.device] if dev.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            torch.manual_seed(int(request.seed))
            y = net(x)
        set_test_mode(net, "official")
    y = ((y.float().clamp(-1, 1) + 1) * 0.5 * maxval + 0.5)[0].permute(1, 2, 0).cpu().numpy()
    out = y.astype(colour.dtype)
    out = resize(out, (w, h))
    yield Progress(2, 3, "Resizing")
    if grey:
        import cv2

        out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[:, :, None]
    if alpha is not None:
        out = np.concatenate([out, alpha[:, :, None]], axis=2)
    if inputs.image.ndim == 2 and out.shape[2] == 1:
        out = out[:, :, 0]
    info = {"task": "translate", "model": lm.id, "mode": request.mode, "seed": int(request.seed),
            "work_size": [size, size], "size": [w, h], "device": dev.name,
            "licence": getattr(entry, "licence", ""), "seconds": round(time.perf_counter() - t0, 3),
            "request": request.to_dict()}
    yield Progress(3, 3, "Done")
    name = f"Translated: {entry.name if entry is not None else lm.id}"
    if inputs.mask is not None:
        return Result(out, name=name, info=info,
                      layers=[ResultLayer(out, None, name, np.ascontiguousarray(inputs.mask), dict(info))])
    return Result(out, name=name, info=info)


SPEC = register_task(TaskSpec(
    name="translate", title="Translate (pix2pix)", request_type=TranslateRequest, run=run,
    default_models=(DEFAULT_MODEL,), ui="ganstudio.ui.tasks.style", cli="ganstudio.commands.translate",
    description="pix2pix image-to-image translation (labels -> photo, edges -> shoes, ...)"))
