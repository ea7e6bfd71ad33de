"""One global cache of loaded models with a memory budget (RAM and VRAM); removing frees.

``model_cache`` holds every network the loader built (super-resolution, inpainting, the face
bundle's components, ...), keyed by what was loaded (model id or file, component, device, dtype).
Least recently used entries are evicted when the bytes of the models on one device exceed its
budget:

* RAM (``cpu`` and ``mps`` entries): ``GANSTUDIO_MODEL_RAM`` bytes (suffix K/M/G allowed), default
  40 % of physical memory;
* VRAM (per CUDA device): ``GANSTUDIO_MODEL_VRAM``, default 70 % of the device's memory.

An entry larger than the budget alone is kept (it is in use) but pushes every other one out.
``remove(model_id)`` drops every entry of that model, runs the garbage collector and returns CUDA's
cached blocks to the driver (``torch.cuda.empty_cache``), so the memory really goes back; the store
calls it when a model is removed. A task that still holds a module keeps it alive until it drops it.
No torch at import time.
"""

from __future__ import annotations

import gc
import os
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ModelCache", "CacheEntry", "model_cache", "module_nbytes", "parse_bytes"]


def parse_bytes(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text or "", re.I)
    if not m:
        raise ValueError(f"not a byte count: {text!r} (e.g. 4G, 512M, 1000000)")
    mult = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}[m.group(2).upper()]
    return int(float(m.group(1)) * mult)


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def module_nbytes(obj: Any) -> int:
    """Bytes of the tensors of a module (parameters + buffers, each storage counted once).
    Objects with a ``module`` attribute (LoadedModel) are measured through it."""
    mod = getattr(obj, "module", obj)
    seen: set[int] = set()
    total = 0
    tensors = []
    try:
        tensors = list(mod.parameters()) + list(mod.buffers())
    except AttributeError:
        if isinstance(obj, dict):
            tensors = [v for v in obj.values() if hasattr(v, "untyped_storage")]
    for t in tensors:
        try:
            st = t.untyped_storage()
            key = st.data_ptr()
            if key in seen:
                continue
            seen.add(key)
            total += st.nbytes()
        except Exception:  # noqa: BLE001 - meta tensors, odd subclasses
            total += t.numel() * t.element_size()
    return total


def _device_of(obj: Any) -> str:
    dev = getattr(obj, "device", None)
    if dev is None:
        mod = getattr(obj, "module", obj)
        try:
            dev = next(mod.parameters()).device
        except (AttributeError, StopIteration, TypeError):
            dev = "cpu"
    return str(dev)


def _pool(device: str) -> str:
    """Budget pool of a device: 'ram' (cpu, mps: unified memory) or 'cuda:N'."""
    if device.startswith("cuda"):
        return device if ":" in device else "cuda:0"
    return "ram"


@dataclass
class CacheEntry:
    key: Hashable
    value: Any
    model_id: str
    device: str
    nbytes: int
    pool: str = field(init=False)

    def __post_init__(self) -> None:
        self.pool = _pool(self.device)


class ModelCache:
    """Thread-safe LRU of loaded models with per-pool byte budgets."""

    def __init__(self, ram_budget: int | None = None, vram_budget: int | None = None) -> None:
        self._entries: OrderedDict[Hashable, CacheEntry] = OrderedDict()
        self._lock = threading.RLock()
        self._loading: dict[Hashable, threading.Lock] = {}
        self._ram_budget = ram_budget
        self._vram_budget = vram_budget
        self.evictions = 0

    # -- budgets ----------------------------------------------------------------------------------
    @property
    def ram_budget(self) -> int:
        if self._ram_budget is not None:
            return self._ram_budget
        env = os.environ.get("GANSTUDIO_MODEL_RAM")
        if env:
            return parse_bytes(env)
        phys = _physical_memory()
        return int(phys * 0.4) if phys else 8 * 2**30

    @ram_budget.setter
    def ram_budget(self, value: int | None) -> None:
        self._ram_budget = value
        self._evict()

    def vram_budget(self, pool: str) -> int:
        if self._vram_budget is not None:
            return self._vram_budget
        env = os.environ.get("GANSTUDIO_MODEL_VRAM")
        if env:
            return parse_bytes(env)
        try:
            import torch

            idx = int(pool.split(":", 1)[1]) if ":" in pool else 0
            return int(torch.cuda.get_device_properties(idx).total_memory * 0.7)
        except Exception:  # noqa: BLE001
            return 4 * 2**30

    def set_vram_budget(self, value: int | None) -> None:
        self._vram_budget = value
        self._evict()

    def budget(self, pool: str) -> int:
        return self.ram_budget if pool == "ram" else self.vram_budget(pool)

    # -- access -----------------------------------------------------------------------------------
    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            e = self._entries.get(key)
            if e is None:
                return None
            self._entries.move_to_end(key)
            return e.value

    def put(self, key: Hashable, value: Any, *, model_id: str, device: str | None = None,
            nbytes: int | None = None) -> Any:
        dev = device or _device_of(value)
        e = CacheEntry(key, value, str(model_id), str(dev),
                       module_nbytes(value) if nbytes is None else int(nbytes))
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = e
            self._evict(keep=key)
        return value

    def get_or_load(self, key: Hashable, load: Callable[[], Any], *, model_id: str,
                    device: str | None = None) -> Any:
        """The cached value, or ``load()`` once (concurrent callers of one key wait for it)."""
        v = self.get(key)
        if v is not None:
            return v
        with self._lock:
            lk = self._loading.setdefault(key, threading.Lock())
        try:
            with lk:
                v = self.get(key)
                if v is not None:
                    return v
                v = load()
                self.put(key, v, model_id=model_id, device=device)
                return v
        finally:
            with self._lock:
                if self._loading.get(key) is lk:
                    del self._loading[key]

    def _evict(self, keep: Hashable | None = None) -> int:
        """Drop LRU entries of every pool over budget (never ``keep``); returns how many."""
        dropped: list[CacheEntry] = []
        with self._lock:
            for pool in {e.pool for e in self._entries.values()}:
                budget = self.budget(pool)
                used = sum(e.nbytes for e in self._entries.values() if e.pool == pool)
                for k in [k for k, e in self._entries.items() if e.pool == pool]:
                    if used <= budget:
                        break
                    if k == keep:
                        continue
                    e = self._entries.pop(k)
                    used -= e.nbytes
                    dropped.append(e)
            self.evictions += len(dropped)
        n = len(dropped)
        if dropped:
            cuda = any(e.pool != "ram" for e in dropped)
            del dropped[:]
            _release(cuda)
        return n

    def remove(self, model_id: str) -> int:
        """Drop every entry of ``model_id`` and give the memory back (gc, CUDA cache).
        Returns how many entries were dropped."""
        with self._lock:
            keys = [k for k, e in self._entries.items() if e.model_id == str(model_id)]
            gone = [self._entries.pop(k) for k in keys]
        cuda = any(e.pool != "ram" for e in gone)
        n = len(gone)
        del gone
        _release(cuda)
        return n

    def clear(self) -> None:
        with self._lock:
            cuda = any(e.pool != "ram" for e in self._entries.values())
            self._entries.clear()
        _release(cuda)

    # -- facts ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def model_ids(self) -> list[str]:
        with self._lock:
            return sorted({e.model_id for e in self._entries.values()})

    def stats(self) -> dict[str, Any]:
        with self._lock:
            pools: dict[str, int] = {}
            for e in self._entries.values():
                pools[e.pool] = pools.get(e.pool, 0) + e.nbytes
            return {"entries": len(self._entries), "bytes": pools,
                    "budgets": {p: self.budget(p) for p in pools or {"ram": 0}},
                    "models": sorted({e.model_id for e in self._entries.values()}),
                    "evictions": self.evictions}


_libc: Any = None


def _malloc_trim() -> None:
    """Give freed heap pages back to the OS (glibc keeps them otherwise: measured, RSS stayed up)."""
    global _libc
    if not sys.platform.startswith("linux"):
        return
    try:
        if _libc is None:
            import ctypes

            _libc = ctypes.CDLL("libc.so.6")
        _libc.malloc_trim(0)
    except (OSError, AttributeError):
        _libc = False


def _release(cuda: bool) -> None:
    gc.collect()
    if _libc is not False:
        _malloc_trim()
    if not cuda:
        return
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
    except Exception:  # noqa: BLE001
        pass


model_cache = ModelCache()
