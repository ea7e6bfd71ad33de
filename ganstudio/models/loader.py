"""Turn a model id (or a weights file) into a ready torch module, via spandrel.

spandrel's ``ModelLoader().load_from_state_dict`` detects the architecture from the official key
names and loads them strictly; it covers every SR / restoration network in the catalog (RRDBNet,
SRVGGNetCompact, ...). ``LoadedModel`` adds what the tasks need: scale, size multiple, fp16 support,
and the ncnn graph's final bicubic resize for the animevideov3 x2/x3 entries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalog import ModelEntry
from .safeload import ModelLoadError


class WrongModelError(ModelLoadError):
    """The weights are not for the requested task / architecture."""


@dataclass
class LoadedModel:
    id: str
    module: Any                 # torch.nn.Module, eval mode, on its device
    scale: int                  # output / input size ratio of module(x)
    multiple_of: int            # input H, W must be multiples of this (pad, then crop)
    min_size: int
    supports_half: bool
    input_channels: int
    arch: str
    purpose: str
    entry: ModelEntry | None = None
    device: str = "cpu"
    dtype: str = "float32"

    def __call__(self, x):
        return self.module(x)


def _resize_wrapper(inner, scale_num: int, scale_den: int, mode: str):
    import torch
    import torch.nn.functional as F

    class ResizeAfter(torch.nn.Module):
        """The ncnn graph's final Interp: resize the x4 output to x`scale` (bicubic, half-pixel
        centres, no antialias: ncnn's Interp type 3 == torch bicubic, align_corners=False)."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x):
            h, w = x.shape[-2:]
            y = self.inner(x)   # x scale_den (4)
            return F.interpolate(y, size=(h * scale_num, w * scale_num),
                                 mode=mode, align_corners=False)

    return ResizeAfter()


def build_from_state_dict(sd: dict[str, Any], *, mid: str = "", entry: ModelEntry | None = None,
                          task: str | None = None):
    """spandrel descriptor -> LoadedModel (CPU, fp32). Raises WrongModelError for other tasks."""
    from spandrel import ImageModelDescriptor, ModelLoader

    sd = {k: (v.float() if v.is_floating_point() else v) for k, v in sd.items()}
    try:
        desc = ModelLoader().load_from_state_dict(sd)
    except Exception as exc:  # noqa: BLE001
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WrongModelError(f"{mid or 'weights'}: not a supported architecture or the weights do "
                              f"not fit it ({msg})") from None
    # spandrel renames keys and loads strictly, but silently ignores keys it does not know:
    # every tensor of the checkpoint must end up in the model (strict in both directions).
    model_sd = desc.model.state_dict()
    if len(model_sd) != len(sd) or sum(v.numel() for v in model_sd.values()) != sum(
            v.numel() for v in sd.values()):
        raise WrongModelError(f"{mid or 'weights'}: the checkpoint has {len(sd)} tensors but the "
                              f"{desc.architecture.name} network built from it has {len(model_sd)}: "
                              "unexpected or missing keys (strict loading)")
    if not isinstance(desc, ImageModelDescriptor):
        raise WrongModelError(f"{mid or 'weights'}: a {desc.architecture.name} model, not an image model")
    if task == "super_resolution" and desc.purpose not in ("SR",):
        raise WrongModelError(f"{mid or 'weights'}: a {desc.architecture.name} {desc.purpose} model, not a "
                              "super-resolution model")
    expected = {"rrdbnet": "ESRGAN", "srvggnet_compact": "Compact"}.get(entry.arch if entry else "")
    if expected and desc.architecture.id != expected:
        raise WrongModelError(f"{mid or 'weights'}: the catalog says {entry.arch} but the weights are a "
                              f"{desc.architecture.name}")
    module = desc.model.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    scale = int(desc.scale)
    mult = int(desc.size_requirements.multiple_of or 1)
    if entry is not None and entry.resize_after:
        if entry.scale >= scale or scale % 1:
            raise WrongModelError(f"{mid or 'weights'}: resize_after needs a network scale above {entry.scale}")
        module = _resize_wrapper(module, entry.scale, scale, entry.resize_after).eval()
        scale = entry.scale
    elif entry is not None and entry.scale != scale and entry.task == "super_resolution":
        raise WrongModelError(f"{mid or 'weights'}: the catalog says x{entry.scale} but the weights are x{scale}")
    return LoadedModel(id=mid, module=module, scale=scale, multiple_of=mult,
                       min_size=int(desc.size_requirements.minimum or 0),
                       supports_half=bool(desc.supports_half), input_channels=int(desc.input_channels),
                       arch=desc.architecture.id, purpose=desc.purpose, entry=entry)


_cache: OrderedDict[tuple, LoadedModel] = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 2


def load_model(id_or_path: str | Path, store=None, *, task: str | None = None,
               device: str = "cpu", half: bool = False, channels_last: bool = False) -> LoadedModel:
    """A model ready to run (cached: the last CACHE_SIZE loaded models stay in memory).

    ``id_or_path``: a catalog / imported id, or the path of a weights file."""
    import torch

    from .store import default_store

    store = store or default_store()
    p = Path(id_or_path)
    is_file = isinstance(id_or_path, Path) or (p.suffix != "" and p.is_file())
    if is_file:
        st = p.stat()
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns, device, half, channels_last, task)
    else:
        key = (str(id_or_path), str(store.root), device, half, channels_last, task)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    if is_file:
        sd = store.load_state_dict(p)
        entry, mid = None, p.name
    else:
        mid = str(id_or_path)
        entry = store.entry(mid)
        if task is not None and entry.task not in (task, "unknown"):
            raise WrongModelError(f"{mid} is a {entry.task} model, not a {task} model")
        sd = store.load_state_dict(mid)
    lm = build_from_state_dict(sd, mid=mid, entry=entry, task=task)
    del sd
    dev = torch.device(device)
    use_half = bool(half and lm.supports_half)
    lm.module.to(dev, dtype=torch.float16 if use_half else torch.float32)
    if channels_last:
        lm.module.to(memory_format=torch.channels_last)
    lm.device, lm.dtype = str(dev), "float16" if use_half else "float32"
    with _cache_lock:
        _cache[key] = lm
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return lm


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
