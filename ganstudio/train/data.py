"""Shared pieces of the training loops: robust image folders, checkpoints, a text progress bar.

``load_folder`` never crashes on a bad training folder: unreadable / broken files, files that are
not images and images smaller than ``min_side`` are skipped and counted; grayscale, 16-bit and
alpha images are converted to 8-bit RGB (alpha composited on white would invent colours, so it is
dropped). Photo ids, the deterministic hold-out split and the photo list are the ones of
``train/inpaint.py`` (the same 7 photos are held out by every built-in model).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .inpaint import IMAGE_EXTS, holdout_ids, photo_id

__all__ = ["IMAGE_EXTS", "holdout_ids", "photo_id", "FolderImages", "load_folder", "load_image_rgb",
           "list_images", "split_folder", "atomic_torch_save", "ProgressBar", "cpu_has_bf16",
           "autocast_dtype", "pick_device", "random_crops"]


@dataclass
class FolderImages:
    images: list[np.ndarray] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (file name, reason)

    @property
    def ids(self) -> list[str]:
        return [photo_id(p) for p in self.paths]


def list_images(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


def load_image_rgb(path: str | Path, long_side: int | None = None) -> np.ndarray:
    """8-bit RGB HxWx3 of any readable image (gray, 16-bit, alpha handled); ValueError if broken."""
    data = np.fromfile(str(path), np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None or img.size == 0:
        raise ValueError("cannot decode")
    if img.dtype == np.uint16:
        img = (img.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif img.dtype != np.uint8:
        f = img.astype(np.float32)
        if f.max() > 1.0:
            f = f / 255.0
        img = (np.clip(f, 0, 1) * 255 + 0.5).astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    elif img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    else:
        raise ValueError(f"unsupported channel count {img.shape[2]}")
    if long_side:
        h, w = img.shape[:2]
        s = long_side / max(h, w)
        if s < 1:
            img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img)


def load_folder(folder: str | Path, long_side: int | None = 512, min_side: int = 64,
                paths: list[Path] | None = None) -> FolderImages:
    out = FolderImages()
    for p in (list_images(folder) if paths is None else paths):
        try:
            img = load_image_rgb(p, long_side)
        except (ValueError, OSError, cv2.error) as exc:
            out.skipped.append((p.name, str(exc) or type(exc).__name__))
            continue
        if min(img.shape[:2]) < min_side:
            out.skipped.append((p.name, f"smaller than {min_side} px"))
            continue
        out.images.append(img)
        out.paths.append(p)
    return out


def split_folder(folder: str | Path, n_holdout: int) -> tuple[list[Path], list[Path]]:
    """(train, held-out) files: ``n_holdout`` ids spread evenly over the sorted ids."""
    files = sorted(list_images(folder), key=photo_id)
    held = set(holdout_ids([photo_id(p) for p in files], n_holdout))
    return [p for p in files if photo_id(p) not in held], [p for p in files if photo_id(p) in held]


def random_crops(images: list[np.ndarray], rng: np.random.Generator, batch: int, patch: int,
                 min_frac: float = 0.25, max_frac: float = 1.0) -> np.ndarray:
    """``batch`` random square crops (side ``min_frac..max_frac`` of the short side, at least
    ``patch``) resized to ``patch`` px, randomly mirrored. N x patch x patch x 3 uint8."""
    out = np.empty((batch, patch, patch, 3), np.uint8)
    for i in range(batch):
        img = images[int(rng.integers(len(images)))]
        h, w = img.shape[:2]
        short = min(h, w)
        lo = min(short, max(patch, int(short * min_frac)))
        hi = min(short, max(lo, int(short * max_frac)))
        side = int(rng.integers(lo, hi + 1))
        y = int(rng.integers(0, h - side + 1))
        x = int(rng.integers(0, w - side + 1))
        crop = img[y:y + side, x:x + side]
        if side != patch:
            interp = cv2.INTER_AREA if side > patch else cv2.INTER_LINEAR
            crop = cv2.resize(crop, (patch, patch), interpolation=interp)
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        out[i] = crop
    return out


def atomic_torch_save(obj, path: Path) -> None:
    import torch

    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def rng_state(rng: np.random.Generator) -> str:
    return json.dumps(rng.bit_generator.state)


def pick_device(name: str = "auto") -> str:
    """auto -> cuda | mps | cpu."""
    if name and name != "auto":
        return name
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def cpu_has_bf16() -> bool:
    """True when the CPU has native bf16 dot products (AVX512_BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast_dtype(device: str, precision: str):
    """torch dtype for autocast, or None for fp32. precision: auto | fp32 | bf16 | fp16."""
    import torch

    dev = torch.device(device).type
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16 if dev == "cuda" else None
    # auto (no fp16 for training: it would need loss scaling; GPUs without bf16 train in fp32)
    if dev == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if dev == "cpu" and cpu_has_bf16():
        return torch.bfloat16
    return None


class ProgressBar:
    """A one-line text progress bar with rate and ETA (``\\r`` on a terminal, lines otherwise)."""

    def __init__(self, total: int, stream=None, every_s: float = 1.0, width: int = 28) -> None:
        self.total = max(1, int(total))
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.width = width
        self.t0 = time.monotonic()
        self.start_step: int | None = None
        self.last = 0.0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    @staticmethod
    def fmt_time(s: float) -> str:
        s = max(0, int(s))
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"

    def text(self, step: int, extra: str = "") -> str:
        if self.start_step is None:
            self.start_step = step
        done = step - self.start_step
        el = time.monotonic() - self.t0
        rate = done / el if el > 0 and done > 0 else 0.0
        eta = (self.total - step) / rate if rate > 0 else float("nan")
        frac = min(1.0, step / self.total)
        fill = int(round(frac * self.width))
        eta_s = self.fmt_time(eta) if eta == eta else "--:--"
        return (f"[{'#' * fill}{'.' * (self.width - fill)}] {step}/{self.total} "
                f"{rate:.2f} it/s ETA {eta_s} {extra}").rstrip()

    def update(self, step: int, extra: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if self.start_step is None:
            self.start_step = step
        if not force and now - self.last < self.every_s and step < self.total:
            return
        self.last = now
        line = self.text(step, extra)
        if self.tty:
            self.stream.write("\r" + line + " " * 4)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
