"""Device selection shared by every task: auto | cuda[:N] | mps | cpu, fp16, threads, OOM detection."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .base import TaskError

_threads_set: int | None = None


@dataclass(frozen=True)
class DeviceInfo:
    device: Any            # torch.device
    half: bool             # run the model in fp16
    channels_last: bool    # NHWC memory format for the model and its inputs
    name: str              # human readable ("CUDA: NVIDIA H100", "CPU (2 threads)")

    @property
    def type(self) -> str:
        return self.device.type

    @property
    def dtype(self):
        import torch

        return torch.float16 if self.half else torch.float32


def default_threads() -> int:
    """Threads for CPU inference: GANSTUDIO_THREADS, else the CPUs this process may use."""
    env = os.environ.get("GANSTUDIO_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, n)


def configure_threads(threads: int = 0) -> int:
    """Set torch's intra-op threads (0 = default_threads()). Idempotent; returns the count."""
    global _threads_set
    import torch

    n = threads if threads > 0 else default_threads()
    if _threads_set != n:
        torch.set_num_threads(n)
        _threads_set = n
    return n


def mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def select_device(pref: str = "auto", half: bool | None = None, threads: int = 0) -> DeviceInfo:
    """Pick the device. ``half``: None = fp16 on CUDA (models that allow it), never on CPU/MPS
    (MPS fp16 is supported but slower / less accurate for these convnets in practice)."""
    import torch

    pref = (pref or "auto").lower()
    if pref == "auto":
        if torch.cuda.is_available():
            pref = "cuda"
        elif mps_available():
            pref = "mps"
        else:
            pref = "cpu"
    if pref.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TaskError("CUDA was requested but no CUDA GPU is available (use --device cpu)")
        dev = torch.device(pref)
        torch.backends.cudnn.benchmark = True
        use_half = True if half is None else bool(half)
        name = f"CUDA: {torch.cuda.get_device_name(dev)}"
        return DeviceInfo(dev, use_half, True, name + (" fp16" if use_half else ""))
    if pref == "mps":
        if not mps_available():
            raise TaskError("MPS (Apple GPU) was requested but is not available")
        return DeviceInfo(torch.device("mps"), bool(half), False, "Apple MPS")
    if pref != "cpu":
        raise TaskError(f"unknown device {pref!r} (auto, cpu, cuda, cuda:N, mps)")
    n = configure_threads(threads)
    # fp16 on CPU is slow and lossy: refused silently (half=True is treated as a hint).
    # channels_last measured on CPU in benchmarks/bench_sr.py (docs/benchmarks/sr.md).
    return DeviceInfo(torch.device("cpu"), False, CPU_CHANNELS_LAST, f"CPU ({n} threads)")


# Measured in benchmarks/bench_sr.py (docs/benchmarks/sr.md): channels_last lets oneDNN run the
# 3x3 convs of RRDBNet without layout reorders: x4plus 256x256 on 2 cores 33.2 s vs 40.7 s NCHW.
CPU_CHANNELS_LAST = True


def is_oom_error(exc: BaseException) -> bool:
    """True for out-of-memory errors of any backend (CUDA, MPS, CPU allocator, numpy)."""
    if isinstance(exc, MemoryError):
        return True
    try:
        import torch

        if isinstance(exc, torch.cuda.OutOfMemoryError):
            return True
    except (ImportError, AttributeError):
        pass
    msg = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in msg or "can't allocate memory" in msg or "failed to allocate" in msg
        or "cudnn_status_alloc_failed" in msg or "cublas_status_alloc_failed" in msg)


def free_memory(device: Any) -> None:
    import gc

    gc.collect()
    try:
        import torch

        if device.type == "cuda":
            torch.cuda.empty_cache()
        elif device.type == "mps":
            torch.mps.empty_cache()
    except Exception:  # noqa: BLE001
        pass


def physical_memory() -> int:
    """Bytes of RAM (0 if unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0
