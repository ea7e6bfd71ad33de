"""Converters: other weight formats -> torch tensors, cached as safetensors. A registry of hooks.

A converter is one function registered under a name (the catalog's ``converter``)::

    from ganstudio.models.converters import register_converter, ConversionError

    @register_converter("onnx")
    def convert(src_paths: list[Path], entry) -> dict[str, Tensor] | tuple[dict, dict]:
        ...   # official parameter names; optional second value: facts (JSON-able) about the graph

Converter modules live in this package (``ganstudio/models/converters/<name>.py``) and are found
by ``pkgutil`` (no list to edit). They import torch only inside functions and never execute code
from a model file (no unpickling of code, no ``torch.jit.load``). ``convert_cached`` runs a
converter once per set of source files and keeps the result as safetensors in the user cache;
the cache key covers the converter's name and version and each source file's sha256.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import pkgutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ConversionError", "ConverterSpec", "register_converter", "get_converter",
           "converter_names", "discover", "convert_cached", "run_converter"]


class ConversionError(ValueError):
    """The source files cannot be converted (wrong format, truncated, unsupported graph)."""


@dataclass(frozen=True)
class ConverterSpec:
    name: str
    fn: Callable[..., Any]
    version: int = 1
    module: str = ""


_REGISTRY: dict[str, ConverterSpec] = {}
_LOCK = threading.RLock()
_DISCOVERED = False
_ERRORS: dict[str, str] = {}


def register_converter(name: str, version: int = 1):
    """Decorator: register ``fn(src_paths, entry)`` under ``name``. Bump ``version`` when the
    output changes, so cached conversions are redone."""

    def deco(fn):
        mod = getattr(fn, "__module__", "") or ""
        with _LOCK:
            old = _REGISTRY.get(name)
            if old is not None and old.module != mod:
                raise ValueError(f"converter {name!r} is already registered by {old.module}")
            _REGISTRY[name] = ConverterSpec(name=name, fn=fn, version=int(version), module=mod)
        return fn

    return deco


def discover(force: bool = False) -> dict[str, str]:
    """Import every module of this package once; returns ``{module: error}`` of broken ones."""
    global _DISCOVERED
    with _LOCK:
        if _DISCOVERED and not force:
            return dict(_ERRORS)
        for info in pkgutil.iter_modules(__path__):
            modname = f"{__name__}.{info.name}"
            try:
                importlib.import_module(modname)
                _ERRORS.pop(modname, None)
            except Exception as exc:  # noqa: BLE001 - one broken converter must not hide the rest
                _ERRORS[modname] = f"{type(exc).__name__}: {exc}"
        _DISCOVERED = True
        return dict(_ERRORS)


def converter_names() -> list[str]:
    discover()
    return sorted(_REGISTRY)


def get_converter(name: str) -> ConverterSpec:
    spec = _REGISTRY.get(name)
    if spec is None:
        discover()
        spec = _REGISTRY.get(name)
    if spec is None:
        msg = f"unknown converter {name!r} (registered: {', '.join(sorted(_REGISTRY)) or 'none'})"
        if _ERRORS:
            msg += "; converter modules that failed to import: " + "; ".join(
                f"{m}: {e}" for m, e in sorted(_ERRORS.items()))
        raise ConversionError(msg)
    return spec


def run_converter(name: str, src_paths: Sequence[str | Path], entry: Any) -> tuple[dict[str, Any], dict]:
    """Run converter ``name``: ``(state dict of torch tensors, facts)``."""
    import numpy as np
    import torch

    spec = get_converter(name)
    out = spec.fn([Path(p) for p in src_paths], entry)
    facts: dict = {}
    if isinstance(out, tuple):
        out, facts = out[0], dict(out[1] or {})
    if not isinstance(out, dict) or not out:
        raise ConversionError(f"converter {name!r} returned no tensors")
    sd = {}
    for k, v in out.items():
        if isinstance(v, np.ndarray):
            v = torch.from_numpy(np.ascontiguousarray(v))
        if not isinstance(v, torch.Tensor):
            raise ConversionError(f"converter {name!r}: {k} is a {type(v).__name__}, not a tensor")
        sd[str(k)] = v
    return sd, facts


def _file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def cache_key(name: str, src_paths: Sequence[str | Path], hashes: Sequence[str] | None = None) -> str:
    spec = get_converter(name)
    h = hashlib.sha256(f"{name}:{spec.version}".encode())
    for i, p in enumerate(src_paths):
        h.update((hashes[i] if hashes and i < len(hashes) and hashes[i] else _file_sha(Path(p))).encode())
    return h.hexdigest()[:24]


def convert_cached(name: str, src_paths: Sequence[str | Path], entry: Any, cache_dir: str | Path,
                   *, hashes: Sequence[str] | None = None) -> tuple[Path, dict]:
    """Convert once; the safetensors result lives in ``cache_dir`` under a content key.

    ``hashes``: known sha256 of the sources (skips re-hashing). Returns (path, facts)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    cache_dir = Path(cache_dir)
    key = cache_key(name, src_paths, hashes)
    out = cache_dir / f"{name}-{key}.safetensors"
    if out.is_file():
        try:
            with safe_open(str(out), "pt") as f:
                meta = f.metadata() or {}
            return out, json.loads(meta.get("facts", "{}"))
        except Exception:  # noqa: BLE001 - a damaged cache file is redone
            out.unlink(missing_ok=True)
    sd, facts = run_converter(name, src_paths, entry)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".tmp{os.getpid()}")
    meta = {"converter": name, "sources": json.dumps([Path(p).name for p in src_paths]),
            "facts": json.dumps(facts)}
    save_file({k: v.contiguous() for k, v in sd.items()}, str(tmp), metadata=meta)
    os.replace(tmp, out)
    return out, facts
