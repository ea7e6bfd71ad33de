"""Turn a model id (or a weights file) into a ready torch module, for any architecture.

``load_model(id_or_path, store, task=, device=, precision=, component=)`` picks a backend from the
catalog's ``arch``:

* ``archs`` (the default): ``ganstudio.archs.registry.build_model(arch, state_dict, **arch_kwargs)``
  - every architecture registered in ``ganstudio/archs/*_arch.py``, loaded strictly (a missing,
  unexpected or reshaped tensor is a :class:`WrongModelError` naming it);
* ``spandrel`` for the super-resolution architectures it knows (``rrdbnet``, ``srvggnet_compact``,
  imported files of unknown architecture): spandrel detects the network from the official key
  names; we check that every tensor was used (strict in both directions);
* ``lama``: big-lama through ``models.lama_checkpoint`` (restricted unpickler, safetensors cache).

Multi-file models (a face bundle) name a component: ``load_model(id, component="encoder")`` builds
the component's ``arch`` from its file, ``state_dict_key`` and ``prefix``. Every result lives in the
global :data:`ganstudio.models.cache.model_cache` (RAM / VRAM budget; ``store.remove`` frees it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cache import model_cache
from .catalog import Component, ModelEntry
from .safeload import ModelLoadError

SPANDREL_ARCHS = {"rrdbnet", "srvggnet_compact", "auto", "unknown"}   # for bare / imported files
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


class WrongModelError(ModelLoadError):
    """The weights are not for the requested task / architecture."""


@dataclass
class LoadedModel:
    id: str
    module: Any                 # torch.nn.Module, eval mode, on its device
    scale: int = 1              # output / input size ratio of module(x)
    multiple_of: int = 1        # input H, W must be multiples of this (pad, then crop)
    min_size: int = 0
    supports_half: bool = True
    input_channels: int = 3
    arch: str = ""
    purpose: str = ""
    entry: ModelEntry | None = None
    device: str = "cpu"
    dtype: str = "float32"
    component: str = ""
    backend: str = ""
    input: dict[str, Any] = field(default_factory=dict)
    lock: Any = field(default_factory=threading.Lock, repr=False)  # serialise forward passes if needed

    def __call__(self, *args, **kwargs):
        return self.module(*args, **kwargs)


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
                       arch=desc.architecture.id, purpose=desc.purpose, entry=entry, backend="spandrel")


def build_from_registry(arch: str, sd: dict[str, Any] | None, *, mid: str = "",
                        entry: ModelEntry | None = None, component: Component | None = None,
                        arch_kwargs: dict | None = None) -> LoadedModel:
    """A registered architecture built from catalog kwargs and loaded strictly -> LoadedModel."""
    from ..archs.registry import ArchLoadError, UnknownArchError, build_model

    kwargs = dict(arch_kwargs if arch_kwargs is not None else
                  (component.arch_kwargs if component is not None else
                   (entry.arch_kwargs if entry is not None else {})))
    try:
        module = build_model(arch, sd, **kwargs)
    except (ArchLoadError, UnknownArchError) as exc:
        raise WrongModelError(f"{mid or 'weights'}: {exc}") from None
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    conv = dict(entry.input) if entry is not None else {}
    if component is not None:
        conv.update(component.input)
    mult = int(conv.get("multiple_of") or getattr(module, "MULTIPLE", 1) or 1)
    return LoadedModel(id=mid, module=module, scale=int(entry.scale if entry else 1), multiple_of=mult,
                       min_size=int(conv.get("min_size", 0)), supports_half=bool(conv.get("fp16", True)),
                       input_channels=int(conv.get("channels_in", 3)), arch=arch,
                       purpose=entry.task if entry else "", entry=entry,
                       component=component.name if component else "", backend="archs", input=conv)


def _lama_model(mid: str, path: Path, store, entry: ModelEntry | None) -> LoadedModel:
    from .lama_checkpoint import load_lama_model

    cache_dir = None
    if store is not None and entry is not None:
        cache_dir = store.model_dir(mid)
    elif store is not None and hasattr(store, "root"):
        cache_dir = Path(store.root) / "converted" / path.stem
    module = load_lama_model(path, cache_dir).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    conv = dict(entry.input) if entry is not None else {}
    return LoadedModel(id=mid, module=module, scale=1, multiple_of=int(conv.get("multiple_of", 8)),
                       supports_half=False,  # LaMa's FFC (FFT) runs in fp32 only
                       input_channels=3, arch="lama", purpose="inpaint", entry=entry, backend="lama",
                       input=conv)


def _file_kind(p: Path, task: str | None) -> str:
    """Architecture of a bare weights file: 'gsinpaint' / 'lama' for inpainting, else spandrel."""
    if task == "inpaint":
        if p.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(p), "pt") as f:
                keys = set(f.keys())
            return "gsinpaint" if "stem.weight" in keys else "lama"
        return "lama"
    return "auto"


def _precision(precision: str | None, half: bool | None, device: str, supports_half: bool) -> str:
    """torch dtype name of the weights."""
    if half is not None and precision in (None, "auto"):
        precision = "fp16" if half else "fp32"
    precision = precision or "auto"
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} ({', '.join(PRECISIONS)})")
    if precision == "auto":
        precision = "fp16" if device.startswith("cuda") and supports_half else "fp32"
    if precision == "fp16" and not supports_half:
        precision = "fp32"
    return _DTYPES[precision]


def _registered(arch: str) -> bool:
    from ..archs.registry import UnknownArchError, get_arch

    try:
        get_arch(arch)
        return True
    except UnknownArchError:
        return False


def _sr_facts(lm: LoadedModel, mid: str, entry: ModelEntry | None) -> LoadedModel:
    """Super-resolution facts of a registry-built network: its own scale, the catalog's scale
    (checked), and the ncnn graphs' final resize (``resize_after``)."""
    net_scale = int(getattr(lm.module, "scale", 0) or getattr(lm.module, "upscale", 0) or lm.scale)
    lm.multiple_of = max(lm.multiple_of, int(getattr(lm.module, "MULTIPLE", 1) or 1))
    if entry is not None and entry.resize_after:
        if entry.scale >= net_scale:
            raise WrongModelError(f"{mid}: resize_after needs a network scale above {entry.scale}")
        lm.module = _resize_wrapper(lm.module, entry.scale, net_scale, entry.resize_after).eval()
        lm.scale = entry.scale
    elif entry is not None and entry.scale != net_scale:
        raise WrongModelError(f"{mid}: the catalog says x{entry.scale} but the weights are x{net_scale}")
    else:
        lm.scale = net_scale
    lm.purpose = "SR"
    return lm


def _build(mid: str, path: Path | None, entry: ModelEntry | None, comp: Component | None,
           store, task: str | None, is_file: bool) -> LoadedModel:
    arch = (comp.arch if comp is not None else entry.arch) if entry is not None else _file_kind(path, task)
    imported = entry is not None and entry.source_file == "<imported>"
    if imported and task == "inpaint":
        arch = _file_kind(store.path(mid), task)     # an imported GSInpaint / LaMa file
    if comp is not None and not arch:
        raise WrongModelError(f"{mid}: component {comp.name!r} is a raw file ({comp.file}); read it "
                              f"with store.path_of({mid!r}, {comp.file!r})")
    if arch == "lama":
        p = path if is_file else store.path_of(mid, comp.file) if comp is not None else store.path(mid)
        return _lama_model(mid, p, store, entry)
    sd = (store.load_state_dict(path) if is_file else
          store.load_state_dict(mid, component=comp.name if comp is not None else None))
    # spandrel: bare files and imported files of any architecture it knows, and catalog archs that
    # no ganstudio/archs module registers; everything else goes through our strict registry.
    if comp is None and (imported or is_file) and arch in SPANDREL_ARCHS:
        from ..archs.registry import detect_arch

        found = detect_arch(sd)          # our own architectures first (no spandrel import)
        if found is not None:
            arch = found[0]
    use_spandrel = comp is None and (
        (imported or is_file) and arch in SPANDREL_ARCHS or not _registered(arch))
    if use_spandrel:
        lm = build_from_state_dict(sd, mid=mid, entry=None if imported else entry, task=task)
    else:
        lm = build_from_registry(arch, sd, mid=mid, entry=entry, component=comp,
                                 arch_kwargs=None if entry is not None and not imported else {})
        if (entry.task if entry is not None else task) == "super_resolution":
            lm = _sr_facts(lm, mid, None if imported else entry)
    del sd
    return lm


def load_model(id_or_path: str | Path, store=None, *, task: str | None = None, device: str = "cpu",
               precision: str = "auto", component: str | None = None, half: bool | None = None,
               channels_last: bool = False) -> LoadedModel:
    """A model ready to run, from the global cache when it is there.

    ``id_or_path``: a catalog / imported id, or the path of a weights file. ``precision``: "auto"
    (fp16 on CUDA where the model allows it, else fp32) | "fp32" | "bf16" | "fp16" (weights dtype;
    bf16 *autocast* with fp32 weights is the task's business: ``DeviceInfo.autocast()``).
    ``half``: legacy (True = "fp16"). ``component``: one part of a multi-file model.
    Raises WrongModelError / ModelLoadError / StoreError / KeyError (unknown id)."""
    from .store import default_store

    store = store or default_store()
    p = Path(id_or_path)
    is_file = isinstance(id_or_path, Path) or (p.suffix != "" and p.is_file())
    entry: ModelEntry | None = None
    comp: Component | None = None
    if is_file:
        st = p.stat()
        mid = str(p.resolve())
        stamp: tuple = (st.st_size, st.st_mtime_ns)
        name = p.name
    else:
        mid = name = str(id_or_path)
        entry = store.entry(mid)
        if task is not None and entry.task not in (task, "unknown"):
            raise WrongModelError(f"{mid} is a {entry.task} model, not a {task} model")
        if component:
            try:
                comp = entry.component(component)
            except KeyError as exc:
                raise WrongModelError(str(exc).strip('"')) from None
        elif entry.components:
            raise WrongModelError(f"{mid} has several parts; name one with component= "
                                  f"({', '.join(sorted(entry.components))})")
        stamp = (str(getattr(store, "root", "")),)
    dev = str(device)
    key = (mid, stamp, component or "", dev, precision, half, channels_last, task)

    def load() -> LoadedModel:
        import torch

        lm = _build(mid, p if is_file else None, entry, comp, store, task, is_file)
        lm.id = name
        dtype = _precision(precision, half, dev, lm.supports_half)
        lm.module.to(torch.device(dev), dtype=getattr(torch, dtype))
        if channels_last:
            lm.module.to(memory_format=torch.channels_last)
        lm.device, lm.dtype = str(torch.device(dev)), dtype
        return lm

    return model_cache.get_or_load(key, load, model_id=mid, device=dev)


def clear_cache() -> None:
    """Drop every loaded model (frees RAM and GPU memory)."""
    model_cache.clear()


def unload(model_id: str) -> int:
    """Drop every loaded instance of one model (all components, devices, dtypes)."""
    return model_cache.remove(model_id)
