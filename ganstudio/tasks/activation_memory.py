"""How much memory a network's activations take per input pixel, measured, not guessed.

Automatic tiles (``tasks.tiling.auto_tile``) are as large as the job's memory budget allows, so
the estimate decides how many tiles an image needs and therefore how many context pixels are
computed twice. The old estimate (largest module output x 3) missed the tensors made outside
modules (``torch.cat`` of the dense blocks, ``F.interpolate`` of the upsampler) and over-counted
what is alive at once: 6 144 B/px for Real-ESRGAN x4plus in bf16, where the process's peak RSS
grew by 4 620 B/px (a 384 px tile: 665 MB, AMD EPYC, docs/benchmarks/sr.md).

The probe runs the network once on a small input under a ``TorchDispatchMode`` that sees every
ATen operation's outputs, including those of functional calls. Each output storage is counted
from its creation until its last reference goes (a weakref finalizer); the peak of that sum is
the activation memory of the probe. Views and in-place results reuse a storage and are not
counted twice. Not seen: library scratch buffers (oneDNN / cuDNN workspaces), hence the margin.

Written here because no library measures this on the CPU: ``torch.cuda`` keeps peak-memory
statistics for CUDA only, and the CPU allocator keeps none.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

MARGIN = 1.1      # scratch buffers of the convolution libraries, allocator rounding


def _peak_mode():  # noqa: ANN202 - a TorchDispatchMode subclass, made when torch is imported
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    class PeakTensorMemory(TorchDispatchMode):
        """Peak bytes of tensor storages alive at once while the mode is active."""

        def __init__(self) -> None:
            super().__init__()
            self._alive: dict[int, int] = {}
            self.current = 0
            self.peak = 0

        def _free(self, ptr: int) -> None:
            self.current -= self._alive.pop(ptr, 0)

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
            out = func(*args, **(kwargs or {}))
            for t in tree_flatten(out)[0]:
                if not isinstance(t, torch.Tensor):
                    continue
                storage = t.untyped_storage()
                ptr, size = storage.data_ptr(), storage.nbytes()
                if size == 0 or ptr in self._alive:   # a view or an in-place result
                    continue
                self._alive[ptr] = size
                self.current += size
                self.peak = max(self.peak, self.current)
                weakref.finalize(t, self._free, ptr)
            return out

    return PeakTensorMemory()


def activation_bytes_per_pixel(module: Any, in_channels: int, device: Any = None,
                               multiple: int = 1, probe: int = 32) -> float:
    """Bytes of activations per INPUT pixel of ``module`` at the precision that runs: the peak of
    the tensors alive at once during one forward pass on a ``probe`` x ``probe`` input (rounded up
    to ``multiple``), times MARGIN. Cached on the module per (channels, precision)."""
    key = (in_channels, getattr(device, "precision", "fp32"))
    cache = getattr(module, "_ganstudio_bpp", None)
    if cache is not None and key in cache:
        return cache[key]
    import torch

    m = max(1, multiple)
    side = max(probe, m) + (-max(probe, m)) % m
    dev = device.device if device is not None else torch.device("cpu")
    dtype = device.dtype if device is not None else torch.float32
    x = torch.zeros(1, in_channels, side, side, device=dev, dtype=dtype)
    if device is not None and device.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    mode = _peak_mode()
    autocast = device.autocast() if device is not None else contextlib.nullcontext()
    with torch.inference_mode(), autocast, mode:
        out = module(x)
        del out
    bpp = (mode.peak + x.untyped_storage().nbytes()) * MARGIN / float(side * side)
    try:
        module._ganstudio_bpp = {**(cache or {}), key: bpp}
    except Exception:  # noqa: BLE001 - a module that refuses attributes: just not cached
        pass
    return bpp


__all__ = ["activation_bytes_per_pixel", "MARGIN"]
