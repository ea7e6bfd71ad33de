"""The device options every GPU-backed command shares: --device, --precision, --threads, --tile.

One place, so `upscale`, `inpaint`, `stylize`, `face`, `scene` ... spell and document them alike and
build their TaskContext the same way (no torch here: the task picks the device on first use).
"""

from __future__ import annotations

import argparse
from typing import Any

PRECISION_HELP = ("auto (default): fp16 on CUDA, bf16 on CPUs with native bf16 (AVX512_BF16 / AMX), "
                  "fp32 elsewhere; fp32: exact, bit-stable output; bf16; fp16 (CUDA / MPS)")


def add_device_arguments(p: argparse.ArgumentParser, *, tile: bool = False) -> None:
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto",
                   help=PRECISION_HELP)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = all available)")
    if tile:
        p.add_argument("--tile", type=int, default=0,
                       help="tile size in input pixels (0 = automatic: whole image when it fits)")


def task_context(args: Any, **extra: Any):
    """A TaskContext from the parsed device arguments (missing ones keep their defaults)."""
    from ..tasks.base import TaskContext

    return TaskContext(device=getattr(args, "device", "auto") or "auto",
                       precision=getattr(args, "precision", "auto") or "auto",
                       threads=int(getattr(args, "threads", 0) or 0),
                       tile_size=int(getattr(args, "tile", 0) or 0), **extra)
