"""The shared tiling engine: run an image model on overlapping tiles, blend without seams.

* Tiles of ``tile`` input pixels overlap by ``overlap`` pixels; each tile is fed with ``pad`` more
  pixels of real context on each side (cropped off again), so tile borders see what the whole
  image would show them.
* Overlaps are blended with raised-cosine (Hann) ramps whose two halves sum to exactly 1 (a
  partition of unity in x and in y), so the blend needs no weight buffer and leaves no seams.
* Inputs are padded to the model's size multiple with reflect padding, outputs cropped back.
* The output is written, band by band, into a preallocated uint8 / uint16 array; the only float
  buffer at output resolution is the current band of tile rows (``tile * scale`` rows).
* Out of memory -> start again with half the tile (down to ``min_tile``). Cancel is checked before
  every tile; Progress is yielded after every tile.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from .activation_memory import activation_bytes_per_pixel
from .base import Progress, TaskContext, TaskError
from .device import DeviceInfo, free_memory, is_oom_error

MIN_TILE = 32
_current = threading.local()   # the TaskContext of the tile running in this thread


def install_cancel_hooks(module: Any) -> None:
    """Make a torch module check for cancel inside a tile, between its layers, so cancelling a
    large tile takes one layer, not one tile. Installed once per module; the hooks read the
    context of the tile running in the current thread (a cached model may serve several jobs)."""
    if getattr(module, "_ganstudio_cancel_hooks", False):
        return

    def hook(_mod, _inputs):
        ctx = getattr(_current, "ctx", None)
        if ctx is not None:
            ctx.check_cancelled()

    for m in module.modules():
        if next(m.children(), None) is None:     # leaves: convs, activations
            m.register_forward_pre_hook(hook)
    module._ganstudio_cancel_hooks = True


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering [0, length) with at least ``overlap``."""
    if length <= tile:
        return [0]
    step = max(1, tile - overlap)
    n = math.ceil((length - tile) / step) + 1
    starts = [min(i * step, length - tile) for i in range(n)]
    return sorted(set(starts))


def _ramp(n: int) -> np.ndarray:
    """Raised-cosine rising ramp of n samples; ramp + ramp[::-1] == 1."""
    if n <= 0:
        return np.zeros(0, np.float32)
    x = (np.arange(n, dtype=np.float64) + 0.5) / n
    return (0.5 - 0.5 * np.cos(np.pi * x)).astype(np.float32)


def axis_weights(starts: list[int], tile: int, length: int, scale: int) -> list[np.ndarray]:
    """Per tile, its 1-D blend weights at output resolution; the weights of all tiles sum to 1.

    Each tile gets raised-cosine ramps over its overlap with the previous / next tile; the windows
    are then normalised by their sum, which also covers places where three tiles overlap (the
    last tile is aligned to the image end)."""
    raw = []
    total = np.zeros(length * scale, np.float64)
    for i, s in enumerate(starts):
        e = min(s + tile, length)
        w = np.ones((e - s) * scale, np.float64)
        if i > 0:
            ov = (min(starts[i - 1] + tile, length) - s) * scale
            if ov > 0:
                w[:ov] *= _ramp(ov)
        if i + 1 < len(starts):
            ov = (e - starts[i + 1]) * scale
            if ov > 0:
                w[len(w) - ov:] *= 1.0 - _ramp(ov)
        raw.append(w)
        total[s * scale: e * scale] += w
    return [(w / total[s * scale: s * scale + len(w)]).astype(np.float32)
            for s, w in zip(starts, raw, strict=True)]


def _max_value(dtype: np.dtype) -> float:
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    raise TaskError(f"unsupported pixel type {dtype} (uint8 or uint16 expected)")


def _run_tile(fn, arr: np.ndarray, maxval: float, multiple: int, dev: DeviceInfo | None) -> Any:
    """One tile through the model: HxWxC uint -> a float32 CPU tensor HxWxC (a view of the
    model's CHW output; scaled, 0..1)."""
    import torch
    import torch.nn.functional as F

    h, w = arr.shape[:2]
    t = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).unsqueeze(0)
    device = dev.device if dev is not None else torch.device("cpu")
    dtype = dev.dtype if dev is not None else torch.float32
    t = t.to(device=device, dtype=torch.float32).mul_(1.0 / maxval)
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if (ph < h and pw < w) else "replicate"
        t = F.pad(t, (0, pw, 0, ph), mode=mode)
    t = t.to(dtype)
    if dev is not None and dev.channels_last:
        t = t.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        with dev.autocast() if dev is not None else contextlib.nullcontext():
            y = fn(t)
        if not isinstance(y, torch.Tensor):
            y = y[0]
        # crop the padding off (exact also for x3 = x4 + resize, where out = in * scale)
        y = y[..., : (h * y.shape[-2]) // t.shape[-2], : (w * y.shape[-1]) // t.shape[-1]]
        y = y[0].to(device="cpu", dtype=torch.float32).clamp_(0.0, 1.0)
        return y.permute(1, 2, 0)


def tiled_apply(image: np.ndarray, fn: Callable[[Any], Any], *, scale: int, tile: int = 256,
                overlap: int = 16, pad: int = 8, multiple: int = 1, ctx: TaskContext | None = None,
                device: DeviceInfo | None = None, stage: str = "Processing",
                out: np.ndarray | None = None, min_tile: int = MIN_TILE,
                log: Callable[[str], None] | None = None) -> Generator[Progress, None, np.ndarray]:
    """Apply ``fn`` (NCHW tensor in 0..1 -> NCHW tensor, ``scale`` x larger) to ``image`` (HxWxC
    uint8/uint16) tile by tile. Generator: yields Progress per tile, returns the output array
    (HxW*scale, same dtype; written into ``out`` if given)."""
    if image.ndim != 3:
        raise TaskError("tiled_apply expects an HxWxC array")
    h, w, c = image.shape
    maxval = _max_value(image.dtype)
    oh, ow = h * scale, w * scale
    if out is None:
        try:
            out = np.empty((oh, ow, c), image.dtype)
        except MemoryError:
            raise TaskError(f"not enough memory for a {ow}x{oh} result "
                            f"({oh * ow * c * image.itemsize / 2**30:.1f} GiB)") from None
    elif out.shape != (oh, ow, c) or out.dtype != image.dtype:
        raise TaskError(f"output array must be {(oh, ow, c)} {image.dtype}")
    tile = int(tile) if tile and tile > 0 else max(h, w)
    tile = max(tile, min(min_tile, max(h, w)))
    while True:
        try:
            return (yield from _tiled_pass(image, fn, scale, tile, overlap, pad, multiple, ctx,
                                           device, stage, out, maxval))
        except TaskError:
            raise
        except Exception as exc:  # noqa: BLE001
            if not is_oom_error(exc):
                raise
            if device is not None:
                free_memory(device.device)
            new_tile = tile // 2
            if new_tile < min_tile:
                raise TaskError("out of memory even with the smallest tile "
                                f"({tile} px): close other programs or use the CPU") from None
            msg = f"out of memory with {tile} px tiles: retrying with {new_tile} px"
            if log:
                log(msg)
            if ctx is not None and ctx.log:
                ctx.log(msg)
            tile = new_tile
            yield Progress(0, 1, f"{stage}: {msg}")


def _tiled_pass(image, fn, scale, tile, overlap, pad, multiple, ctx, device, stage, out, maxval):
    import torch

    h, w, c = image.shape
    th, tw = min(tile, h), min(tile, w)
    ov = max(0, min(overlap, tile // 2))
    ys, xs = tile_starts(h, th, ov), tile_starts(w, tw, ov)
    total = len(ys) * len(xs)
    if total == 1:   # the whole image in one go (auto tiles, as ncnn does): no blend buffer
        if ctx is not None:
            ctx.check_cancelled()
        _current.ctx = ctx
        try:
            res = _run_tile(fn, image, maxval, multiple, device)
        finally:
            _current.ctx = None
        _store(out, res, maxval)
        yield Progress(1, 1, stage)
        return out
    wy, wx = axis_weights(ys, th, h, scale), axis_weights(xs, tw, w, scale)
    band_np = np.zeros((th * scale, w * scale, c), np.float32)
    band = torch.from_numpy(band_np)     # torch ops on it: multi-threaded, no temporaries
    step = 0
    for r, y0 in enumerate(ys):
        y1 = min(y0 + th, h)
        by0 = y0 * scale
        for q, x0 in enumerate(xs):
            if ctx is not None:
                ctx.check_cancelled()
            x1 = min(x0 + tw, w)
            # context padding from the real image (clipped at the image border)
            cy0, cy1 = max(0, y0 - pad), min(h, y1 + pad)
            cx0, cx1 = max(0, x0 - pad), min(w, x1 + pad)
            _current.ctx = ctx
            try:
                res = _run_tile(fn, image[cy0:cy1, cx0:cx1], maxval, multiple, device)
            finally:
                _current.ctx = None
            oy, ox = (y0 - cy0) * scale, (x0 - cx0) * scale
            res = res[oy:oy + (y1 - y0) * scale, ox:ox + (x1 - x0) * scale]
            wgt = torch.from_numpy(wy[r][:, None, None] * wx[q][None, :, None])
            with torch.inference_mode():
                band[: res.shape[0], x0 * scale: x1 * scale].addcmul_(res, wgt)
            step += 1
            yield Progress(step, total, stage)
        # rows up to the next tile row's start are final
        final_end = ys[r + 1] * scale if r + 1 < len(ys) else h * scale
        n_final = final_end - by0
        _store(out[by0:final_end], band[:n_final], maxval)
        row_end = y1 * scale
        keep = row_end - final_end
        if keep > 0:
            band[:keep] = band[n_final:n_final + keep].clone()
        band[max(keep, 0):] = 0.0
    return out


def _store(dst: np.ndarray, src: Any, maxval: float, rows: int = 256) -> None:
    """float 0..1 (an HxWxC tensor) -> uint, rounded half up, in chunks of rows (no full-size
    temporaries), with torch's multi-threaded kernels."""
    import torch

    as_int = torch.uint8 if dst.dtype == np.uint8 else torch.int32
    with torch.inference_mode():
        for i in range(0, src.shape[0], rows):
            chunk = src[i:i + rows] * maxval
            chunk.add_(0.5).clamp_(0, maxval)
            q = chunk.to(as_int)
            if dst.dtype == np.uint8:
                torch.from_numpy(dst[i:i + rows]).copy_(q)
            else:
                dst[i:i + rows] = q.numpy().astype(dst.dtype)


# == automatic tile size ===============================================================================
# Tiles cost twice: each one re-processes its context padding, and many small tiles run the
# convolutions on small arrays. So, as ncnn does, run the image whole when it fits, and otherwise
# use as few tiles as the memory budget allows, sized to divide the image evenly.

DEFAULT_JOB_MEMORY = int(1.6 * 2**30)   # peak bytes a job may use for its tiles by default: keeps a
                                        # 4000x3000 x4 upscale under 2 GB RSS (docs/benchmarks/sr.md)
def available_memory(device: DeviceInfo | None) -> int:
    """Bytes a job may still allocate on ``device``: free VRAM on CUDA, MemAvailable on the CPU."""
    if device is not None and device.type == "cuda":
        import torch

        free, _total = torch.cuda.mem_get_info(device.device)
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    from .device import physical_memory

    return physical_memory() // 2


def _even_tile(length: int, n: int, overlap: int) -> int:
    """Tile size that covers ``length`` with ``n`` tiles overlapping by ``overlap``."""
    return length if n <= 1 else math.ceil((length + (n - 1) * overlap) / n)


def auto_tile(h: int, w: int, *, bytes_per_pixel: float, scale: int, channels: int, pad: int,
              overlap: int, budget: int) -> int:
    """The largest tile (0 = the whole image) whose activations plus the float band of tile rows
    fit in ``budget`` bytes. Tile sizes divide the image evenly so no tile is mostly context.
    Context is real pixels, so a tile at the image border has it on its inner side only: with
    two tiles along an axis each has ``pad`` more pixels, with three or more the middle ones 2x."""
    def with_context(tile: int, length: int) -> int:
        if tile >= length:
            return length
        n = len(tile_starts(length, tile, min(overlap, tile // 2)))
        return tile + pad * (1 if n == 2 else 2)

    def cost(tile: int) -> float:
        th, tw = min(tile, h), min(tile, w)
        band = th * scale * w * scale * channels * 4
        return bytes_per_pixel * with_context(th, h) * with_context(tw, w) + band

    longest = max(h, w)
    if cost(longest) <= budget:
        return 0
    n = 2
    while True:
        tile = max(MIN_TILE, _even_tile(longest, n, overlap))
        if cost(tile) <= budget or tile <= MIN_TILE:
            return tile
        n += 1


def job_budget(device: DeviceInfo | None, limit: int = 0, reserved: int = 0) -> int:
    """Bytes for a job's tiles. CPU: the explicit ``limit`` (Preferences > job memory) or
    DEFAULT_JOB_MEMORY, less ``reserved`` (the result arrays, which live in the same RAM), never
    more than half of MemAvailable. CUDA: 80 % of the free VRAM (or ``limit`` if smaller); the
    result arrays live in host RAM."""
    free = available_memory(device)
    if device is not None and device.type == "cuda":
        cap = int(free * 0.8)
        return max(64 * 2**20, min(cap, limit) if limit and limit > 0 else cap)
    cap = limit if limit and limit > 0 else DEFAULT_JOB_MEMORY
    return max(64 * 2**20, min(cap - reserved, free // 2))
