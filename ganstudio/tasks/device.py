"""Device selection shared by every task: auto | cuda[:N] | mps | cpu, fp16, threads, OOM detection."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from .base import TaskError

_threads_set: int | None = None


PRECISIONS = ("auto", "fp32", "bf16", "fp16")

# oneDNN's ISA names, lowest first (ONEDNN_MAX_CPU_ISA caps what oneDNN may use). bf16 convolutions
# are native from AVX512_CORE_BF16 on (AVX-512 BF16 instructions; AMX runs them faster still).
_ONEDNN_ISAS = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI",
                "AVX512_CORE_BF16", "AVX10_1_512", "AVX512_CORE_FP16", "AVX10_1_512_AMX",
                "AVX512_CORE_AMX", "AVX10_1_512_AMX_FP16", "AVX512_CORE_AMX_FP16")
_FIRST_BF16_ISA = _ONEDNN_ISAS.index("AVX512_CORE_BF16")


@dataclass(frozen=True)
class DeviceInfo:
    device: Any            # torch.device
    half: bool             # the model's weights are fp16 (CUDA / MPS)
    channels_last: bool    # NHWC memory format for the model and its inputs
    name: str              # human readable ("CUDA: NVIDIA H100 fp16", "CPU (2 threads) bf16")
    precision: str = "fp32"  # what runs: "fp32" | "bf16" (autocast) | "fp16"
    requested: str = "auto"  # what the user asked for: "auto" lets for_model() choose per model

    @property
    def type(self) -> str:
        return self.device.type

    @property
    def dtype(self):
        """dtype of the model's weights and its input tensors (bf16 autocast keeps fp32 weights)."""
        import torch

        return torch.float16 if self.half else torch.float32

    def autocast(self):
        """Context manager for forward passes: bf16 autocast where the precision is bf16 (weights
        stay fp32; convolutions and matmuls run in bf16), a no-op otherwise."""
        import contextlib

        import torch

        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def for_model(self, allowed: tuple[str, ...] | list[str] | None) -> DeviceInfo:
        """This device with the precision a model tolerates: ``allowed`` lists the reduced
        precisions the model was measured to keep (>= 45 dB vs fp32); anything else runs fp32.
        Only under "auto": an explicit --precision bf16 / fp16 stands (the user's choice)."""
        if allowed is None or self.precision == "fp32" or self.precision in allowed \
                or self.requested not in ("auto", ""):
            return self
        return dataclasses.replace(self, half=False, precision="fp32",
                                   name=self.name.rsplit(" ", 1)[0] + " fp32"
                                   if self.name.endswith((" bf16", " fp16")) else self.name)


def _cpu_flags() -> set[str]:
    """The CPU feature flags of /proc/cpuinfo (Linux; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def onednn_isa_allows_bf16() -> bool:
    """False when ONEDNN_MAX_CPU_ISA caps oneDNN below the first ISA with native bf16."""
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    if not isa or isa in ("ALL", "DEFAULT"):
        return True
    if isa not in _ONEDNN_ISAS:
        return True   # unknown name: oneDNN ignores it too
    return _ONEDNN_ISAS.index(isa) >= _FIRST_BF16_ISA


def cpu_has_native_bf16() -> bool:
    """True where this CPU runs bf16 convolutions natively (AVX512_BF16 or AMX), detected at run
    time: torch's own CPU probes, /proc/cpuinfo as a fallback, and ONEDNN_MAX_CPU_ISA respected.
    GANSTUDIO_CPU_BF16=0/1 overrides (tests, and users who know better)."""
    env = os.environ.get("GANSTUDIO_CPU_BF16", "").strip()
    if env in ("0", "1"):
        return env == "1"
    if not onednn_isa_allows_bf16():
        return False
    try:
        import torch

        probes = [getattr(torch.cpu, n, None) for n in ("_is_avx512_bf16_supported",
                                                          "_is_amx_tile_supported")]
        probes = [p for p in probes if p is not None]
        if probes:
            return any(bool(p()) for p in probes)
    except Exception:  # noqa: BLE001 - an old torch without the probes
        pass
    flags = _cpu_flags()
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def cpu_model_name() -> str:
    """The CPU's marketing name ("AMD EPYC 9R14", "Intel(R) Xeon(R) ..."), for benchmark tables."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def resolve_precision(precision: str, device_type: str, half: bool | None = None) -> str:
    """The precision that runs for a request: "auto" -> fp16 on CUDA, bf16 on CPUs with native
    bf16, fp32 elsewhere (MPS included). ``half`` (the old flag): True = fp16, False = fp32."""
    p = (precision or "auto").lower()
    if p not in PRECISIONS:
        raise TaskError(f"unknown precision {precision!r} (auto, fp32, bf16, fp16)")
    if p == "auto" and half is not None:
        p = "fp16" if half and device_type in ("cuda", "mps") else ("fp32" if not half else "auto")
    if p == "auto":
        if device_type == "cuda":
            return "fp16"
        if device_type == "cpu" and cpu_has_native_bf16():
            return "bf16"
        return "fp32"
    if p == "fp16" and device_type == "cpu":
        raise TaskError("fp16 runs on CUDA or MPS GPUs only; on the CPU use bf16 or fp32")
    return p


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


def precision_for_pixels(precision: str, pixel_dtype: Any) -> str:
    """"auto" keeps fp32 for 16-bit images: bf16 holds 8 significant bits and fp16 11, so the
    network's skip paths would round a 16-bit photo to about 8 bits. Explicit choices stand."""
    import numpy as np

    if (precision or "auto") == "auto" and np.dtype(pixel_dtype).itemsize > 1:
        return "fp32"
    return precision or "auto"


def select_device(pref: str = "auto", half: bool | None = None, threads: int = 0,
                  precision: str = "auto") -> DeviceInfo:
    """Pick the device and the precision it runs at (``resolve_precision``): "auto" = fp16 on CUDA,
    bf16 autocast on CPUs with native bf16 (AVX512_BF16 / AMX), fp32 elsewhere; "fp32" is exact."""
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
        prec = resolve_precision(precision, "cuda", half)
        if prec == "bf16" and not torch.cuda.is_bf16_supported():
            raise TaskError("this GPU has no bf16 support: use fp16 or fp32")
        name = f"CUDA: {torch.cuda.get_device_name(dev)} {prec}"
        return DeviceInfo(dev, prec == "fp16", True, name, prec, precision or "auto")
    if pref == "mps":
        if not mps_available():
            raise TaskError("MPS (Apple GPU) was requested but is not available")
        prec = resolve_precision(precision, "mps", half)
        return DeviceInfo(torch.device("mps"), prec == "fp16", False, f"Apple MPS {prec}", prec,
                          precision or "auto")
    if pref != "cpu":
        raise TaskError(f"unknown device {pref!r} (auto, cpu, cuda, cuda:N, mps)")
    n = configure_threads(threads)
    # half=True on the CPU (the old flag) is a hint only: fp16 is slow and lossy on CPUs.
    prec = resolve_precision(precision, "cpu", None if half else half)
    # channels_last measured on CPU in benchmarks/bench_sr.py (docs/benchmarks/sr.md).
    return DeviceInfo(torch.device("cpu"), False, CPU_CHANNELS_LAST, f"CPU ({n} threads) {prec}", prec,
                      precision or "auto")


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
