"""Architecture registry: catalog ``arch`` + ``arch_kwargs`` -> a torch module, loaded strictly.

Every ``ganstudio/archs/<name>_arch.py`` registers its builder(s) at import time::

    from ganstudio.archs.registry import register_arch

    @register_arch("cyclegan_resnet",           # == catalog `arch`
                   detect=None,                 # optional: fn(state_dict) -> kwargs | None
                   convert=None)                # optional: fn(state_dict, kwargs) -> state_dict
    def build(**arch_kwargs) -> torch.nn.Module: ...

The registry finds every ``*_arch.py`` module of this package by itself (``pkgutil``) the first
time a name is looked up; there is no list to edit. ``build_model(name, state_dict, **kwargs)``
builds the network, converts the keys of the checkpoint (official names -> ours, when the arch
says so) and loads them STRICTLY: a missing, unexpected or reshaped tensor raises
:class:`ArchLoadError`, which names them.

This module imports torch only inside functions (it is imported by the model layer, which must not
load torch at import).
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping

__all__ = ["ArchSpec", "ArchLoadError", "UnknownArchError", "register_arch", "get_arch",
           "list_archs", "build_model", "load_strict", "check_state_dict", "discover",
           "discovery_errors", "detect_arch"]


class ArchLoadError(ValueError):
    """The weights do not fit the architecture (strict loading).

    ``missing``: keys the network has but the checkpoint lacks; ``unexpected``: keys of the
    checkpoint the network does not have; ``reshaped``: ``{key: (checkpoint shape, network shape)}``.
    """

    def __init__(self, arch: str, missing=(), unexpected=(), reshaped=None, message: str = "") -> None:
        self.arch = arch
        self.missing = list(missing)
        self.unexpected = list(unexpected)
        self.reshaped = dict(reshaped or {})
        if not message:
            parts = []
            if self.missing:
                parts.append(f"{len(self.missing)} missing key(s): {_short(self.missing)}")
            if self.unexpected:
                parts.append(f"{len(self.unexpected)} unexpected key(s): {_short(self.unexpected)}")
            if self.reshaped:
                items = [f"{k} {tuple(a)} vs {tuple(b)}" for k, (a, b) in self.reshaped.items()]
                parts.append(f"{len(self.reshaped)} reshaped tensor(s) (checkpoint vs network): "
                             f"{_short(items)}")
            message = "; ".join(parts) or "the weights do not fit"
        super().__init__(f"{arch}: the weights do not fit the architecture: {message}")


class UnknownArchError(KeyError):
    """No architecture of that name is registered."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else "unknown architecture"


def _short(items: list[str], n: int = 8) -> str:
    shown = ", ".join(items[:n])
    return shown + (f", ... (+{len(items) - n})" if len(items) > n else "")


@dataclass(frozen=True)
class ArchSpec:
    """One registered architecture."""

    name: str
    build: Callable[..., Any]                                   # (**arch_kwargs) -> nn.Module
    detect: Callable[[Mapping[str, Any]], dict | None] | None = None
    convert: Callable[[dict, dict], dict] | None = None
    module: str = ""                                            # defining module (for messages)

    def kwargs_for(self, state_dict: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> dict:
        """Constructor arguments: ``detect(state_dict)`` filled in under the given ones."""
        out: dict[str, Any] = {}
        if state_dict is not None and self.detect is not None:
            found = self.detect(state_dict)
            if found:
                out.update(found)
        out.update(kwargs)
        return out


_REGISTRY: dict[str, ArchSpec] = {}
_LOCK = threading.RLock()
_DISCOVERED = False
_ERRORS: dict[str, str] = {}


def register_arch(name: str, detect: Callable | None = None, convert: Callable | None = None):
    """Decorator: register ``fn(**arch_kwargs) -> nn.Module`` (or a Module class) under ``name``.

    Registering a name twice from two different modules is an error; re-registering from the same
    module (a reload) replaces the entry."""
    if not isinstance(name, str) or not name or name != name.strip():
        raise ValueError(f"architecture name must be a non-empty string, got {name!r}")

    def deco(fn):
        mod = getattr(fn, "__module__", "") or ""
        with _LOCK:
            old = _REGISTRY.get(name)
            if old is not None and old.module != mod:
                raise ValueError(f"architecture {name!r} is already registered by {old.module}")
            _REGISTRY[name] = ArchSpec(name=name, build=fn, detect=detect, convert=convert, module=mod)
        return fn

    return deco


def discover(force: bool = False) -> dict[str, str]:
    """Import every ``ganstudio.archs.*_arch`` module once (they register themselves).

    A module that fails to import does not stop the others; its error is kept and named when one
    of its architectures is asked for (``discovery_errors()``). Returns those errors."""
    global _DISCOVERED
    with _LOCK:
        if _DISCOVERED and not force:
            return dict(_ERRORS)
        import ganstudio.archs as pkg

        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.name.endswith("_arch"):
                continue
            modname = f"{pkg.__name__}.{info.name}"
            try:
                importlib.import_module(modname)
                _ERRORS.pop(modname, None)
            except Exception as exc:  # noqa: BLE001 - one broken arch file must not hide the rest
                _ERRORS[modname] = f"{type(exc).__name__}: {exc}"
        _DISCOVERED = True
        return dict(_ERRORS)


def discovery_errors() -> dict[str, str]:
    """``{module: error}`` for the ``*_arch.py`` modules that failed to import."""
    discover()
    return dict(_ERRORS)


def list_archs() -> list[str]:
    discover()
    return sorted(_REGISTRY)


def get_arch(name: str) -> ArchSpec:
    """The registered architecture ``name`` (discovers the arch modules first)."""
    spec = _REGISTRY.get(name)
    if spec is not None:
        return spec
    discover()
    spec = _REGISTRY.get(name)
    if spec is None:
        msg = f"unknown architecture {name!r} (registered: {', '.join(sorted(_REGISTRY)) or 'none'})"
        if _ERRORS:
            msg += "; arch modules that failed to import: " + "; ".join(
                f"{m}: {e}" for m, e in sorted(_ERRORS.items()))
        raise UnknownArchError(msg)
    return spec


def check_state_dict(module, state_dict: Mapping[str, Any], arch: str = "") -> None:
    """Raise :class:`ArchLoadError` unless ``state_dict`` has exactly the keys and shapes of
    ``module.state_dict()`` (BatchNorm's ``num_batches_tracked`` may be absent, as torch allows)."""
    own = module.state_dict()
    missing = [k for k in own if k not in state_dict and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state_dict if k not in own]
    reshaped = {}
    for k, v in own.items():
        if k in state_dict:
            sv = state_dict[k]
            shape = tuple(getattr(sv, "shape", ()))
            if shape != tuple(v.shape):
                reshaped[k] = (shape, tuple(v.shape))
    if missing or unexpected or reshaped:
        raise ArchLoadError(arch or type(module).__name__, missing, unexpected, reshaped)


def load_strict(module, state_dict: Mapping[str, Any], arch: str = ""):
    """Check, then ``module.load_state_dict(state_dict, strict=True)``; returns the module."""
    check_state_dict(module, state_dict, arch)
    try:
        module.load_state_dict(dict(state_dict), strict=True)
    except RuntimeError as exc:
        raise ArchLoadError(arch or type(module).__name__, message=str(exc).splitlines()[0]) from None
    return module


def build_model(name: str, state_dict: Mapping[str, Any] | None = None, **kwargs: Any):
    """Build architecture ``name`` with ``kwargs`` (filled in by its ``detect`` from the state dict)
    and, when a state dict is given, convert its keys (the arch's ``convert``) and load it strictly.

    Returns the module (train mode as built; the model layer puts it in eval mode)."""
    spec = get_arch(name)
    kw = spec.kwargs_for(state_dict, kwargs)
    try:
        module = spec.build(**kw)
    except TypeError as exc:
        raise ArchLoadError(name, message=f"cannot build it with {kw!r}: {exc}") from None
    if state_dict is not None:
        sd = dict(state_dict)
        if spec.convert is not None:
            sd = spec.convert(sd, kw)
        load_strict(module, sd, name)
    return module


def detect_arch(state_dict: Mapping[str, Any], candidates: list[str] | None = None) -> tuple[str, dict] | None:
    """``(name, kwargs)`` of the first registered architecture whose ``detect`` recognises the
    tensors AND whose network takes them strictly (after its ``convert``); None when none does.
    For files that come without a catalog entry (imports, paths on the command line)."""
    names = candidates if candidates is not None else list_archs()
    for name in names:
        spec = get_arch(name)
        if spec.detect is None:
            continue
        try:
            kw = spec.detect(state_dict)
        except Exception:  # noqa: BLE001 - a detector that trips over foreign keys: not this arch
            continue
        if kw is None:
            continue
        try:
            build_model(name, state_dict, **kw)
        except Exception:  # noqa: BLE001 - recognised by name, but the tensors do not fit
            continue
        return name, dict(kw)
    return None

