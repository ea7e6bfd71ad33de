"""Tiling for networks with instance-style normalisation (CycleGAN, Magenta style nets, pix2pix's
default BatchNorm-on-the-image): whole-image statistics, then tiles, so there are no seams.

Instance norm divides each channel by the statistics of the *whole* feature map. A tile normalised
with its own statistics looks different from its neighbour (seams, brightness jumps). Here every
normalisation layer (``ganstudio.archs.statnorm`` stats points) gets its statistics from outside:

* ``stats="exact"``: the true whole-image statistics, layer after layer: pass *i* runs the tiles up
  to stats point *i* (earlier points replay their already known whole-image values), sums the
  activations of each tile's own core region (float64) and stops there. Costs about
  ``points / 2`` network passes; the result equals the untiled run (to float rounding).
* ``stats="downscale"``: one pass on a downscaled copy (``stats_pixels``), whose statistics stand in
  for the full image's. Cheap; close but not equal to the untiled run (statistics depend on scale).
* ``stats="auto"``: exact (unless ``exact_budget`` caps the extra passes). Measured: the downscale
  estimate is NOT good enough to stand in silently (26-style net, 512 px photo, 192 px tiles,
  statistics from a 192x192 copy: mean |diff| 21/255 vs the untiled result; a Jacobi refinement
  of all points at once diverged on a random CycleGAN), so exact is the default, downscale a choice.

Then every tile runs with the statistics replayed. Tiles are aligned to the network's size multiple
(the image is reflect-padded to it first, as the untiled run does), each tile sees ``pad`` pixels of
real context (>= the network's receptive radius, so a core pixel sees what the whole image shows
it), overlaps are blended with raised-cosine weights, the output streams into a preallocated
uint8/uint16 array (memory: one band of tile rows in float32 + the network's activations of one
tile). Out of memory -> half the tile. Cancel is checked before every tile.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from .base import Progress, TaskContext, TaskError
from .device import free_memory, is_oom_error

STATS_MODES = ("auto", "exact", "downscale")
MIN_TILE = 32


class _StopForward(Exception):
    """Raised by the accumulate hook once its stats point has been summed (pass i ends there)."""


class StatsRecorder:
    """The hook installed on every stats point: capture, replay, or accumulate."""

    def __init__(self, points: list[Any], pairs: list[tuple[Any, Any]] = ()) -> None:
        self.points = points
        self.index = {id(p): i for i, p in enumerate(points)}
        # mean point -> its variance point (both from one pass: var = E[x^2] - E[x]^2)
        self.var_of = {self.index[id(a)]: self.index[id(b)] for a, b in pairs
                       if id(a) in self.index and id(b) in self.index}
        self.values: dict[int, Any] = {}        # point index -> (mean, var) or mean (CPU float32)
        self.mode = "capture"
        self.target = -1
        self.core: tuple[int, int, int, int, int, int] | None = None   # y0, y1, x0, x1, H, W (input px)
        self.acc: list[Any] = []
        self.order: list[int] = []              # point indices in call order (first capture)

    def __call__(self, layer: Any, x: Any, kind: str) -> Any:
        import torch

        from ganstudio.archs.statnorm import spatial_meanvar

        i = self.index[id(layer)]
        if self.mode == "capture":
            val = spatial_meanvar(x) if kind == "meanvar" else x.float().mean(dim=(2, 3), keepdim=True)
            self.values[i] = _detach(val)
            if i not in self.order:
                self.order.append(i)
            return val if kind == "meanvar" else val.to(x.dtype)
        if self.mode == "accumulate" and i == self.target:
            y0, y1, x0, x1, hh, ww = self.core
            ry, rx = x.shape[-2] / hh, x.shape[-1] / ww
            core = x[..., int(round(y0 * ry)):int(round(y1 * ry)), int(round(x0 * rx)):int(round(x1 * rx))]
            c = core.double()
            s1 = c.sum(dim=(0, 2, 3))
            s2 = (c * c).sum(dim=(0, 2, 3)) if kind == "meanvar" or i in self.var_of else None
            n = core.shape[0] * core.shape[2] * core.shape[3]
            self.acc.append((s1.cpu(), None if s2 is None else s2.cpu(), n, kind, x.shape[1]))
            raise _StopForward()
        if i not in self.values:
            raise TaskError("internal error: statistics of a normalisation layer are missing")
        val = self.values[i]
        dev = x.device
        if kind == "meanvar":
            return val[0].to(dev), val[1].to(dev)
        return val.to(device=dev, dtype=x.dtype)

    def finish_target(self) -> None:
        import torch

        s1 = sum(a[0] for a in self.acc)
        n = sum(a[2] for a in self.acc)
        kind, ch = self.acc[0][3], self.acc[0][4]
        mean = (s1 / n).float().view(1, ch, 1, 1)
        if kind == "meanvar":
            s2 = sum(a[1] for a in self.acc)
            var = (s2 / n - (s1 / n) ** 2).clamp_min(0).float().view(1, ch, 1, 1)
            self.values[self.target] = (mean, var)
        else:
            self.values[self.target] = mean
            j = self.var_of.get(self.target)
            if j is not None:
                s2 = sum(a[1] for a in self.acc)
                self.values[j] = (s2 / n - (s1 / n) ** 2).clamp_min(0).float().view(1, ch, 1, 1)
        self.acc = []


def _detach(v: Any) -> Any:
    if isinstance(v, tuple):
        return tuple(t.detach().float().cpu() for t in v)
    return v.detach().float().cpu()


def _max_value(dtype: np.dtype) -> float:
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    raise TaskError(f"unsupported pixel type {dtype} (uint8 or uint16 expected)")


def _to_tensor(arr: np.ndarray, maxval: float, device: Any, dtype: Any, channels_last: bool) -> Any:
    import torch

    t = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).unsqueeze(0)
    t = t.to(device=device, dtype=torch.float32).mul_(1.0 / maxval).to(dtype)
    if channels_last:
        t = t.contiguous(memory_format=torch.channels_last)
    return t


def _forward(fn: Callable, arr: np.ndarray, maxval: float, dev: Any) -> np.ndarray:
    import torch

    device = dev.device if dev is not None else torch.device("cpu")
    dtype = getattr(dev, "dtype", torch.float32) if dev is not None else torch.float32
    t = _to_tensor(arr, maxval, device, dtype, bool(getattr(dev, "channels_last", False)))
    with torch.inference_mode():
        y = fn(t)
    y = y.float().clamp(0.0, 1.0)
    return y[0].permute(1, 2, 0).cpu().numpy()


def aligned_starts(length: int, tile: int, overlap: int, multiple: int) -> list[int]:
    """Tile starts covering [0, length), all multiples of ``multiple`` (length and tile are)."""
    if length <= tile:
        return [0]
    step = max(multiple, ((tile - overlap) // multiple) * multiple)
    n = math.ceil((length - tile) / step) + 1
    return sorted({min(i * step, length - tile) for i in range(n)})


def _ramp(n: int) -> np.ndarray:
    x = (np.arange(n, dtype=np.float64) + 0.5) / n
    return 0.5 - 0.5 * np.cos(np.pi * x)


def _weights(starts: list[int], tile: int, length: int) -> list[np.ndarray]:
    total = np.zeros(length, np.float64)
    raw = []
    for i, s in enumerate(starts):
        e = min(s + tile, length)
        w = np.ones(e - s, np.float64)
        if i > 0:
            ov = min(starts[i - 1] + tile, length) - s
            if ov > 0:
                w[:ov] *= _ramp(ov)
        if i + 1 < len(starts):
            ov = e - starts[i + 1]
            if ov > 0:
                w[len(w) - ov:] *= 1.0 - _ramp(ov)
        raw.append(w)
        total[s:e] += w
    return [(w / total[s:s + len(w)]).astype(np.float32) for s, w in zip(starts, raw)]


def pad_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    """Reflect-pad bottom / right to a multiple (edge-pad when the image is too small to reflect)."""
    h, w = image.shape[:2]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not (ph or pw):
        return image
    mode = "reflect" if (ph < h and pw < w) else "edge"
    return np.pad(image, ((0, ph), (0, pw), (0, 0)), mode=mode)


def norm_tiled_apply(image: np.ndarray, fn: Callable[[Any], Any], module: Any, *, tile: int,
                     overlap: int = 32, pad: int = 96, multiple: int = 4, ctx: TaskContext | None = None,
                     device: Any = None, stage: str = "Stylising", stats: str = "auto",
                     stats_pixels: int = 0, exact_budget: float = 0.0,
                     info: dict | None = None, stats_image: np.ndarray | None = None
                     ) -> Generator[Progress, None, np.ndarray]:
    """Run ``fn`` (NCHW 0..1 -> NCHW 0..1, same size) over ``image`` (HxWxC uint8/uint16) with
    whole-image normalisation statistics for every stats point of ``module``. Generator: yields
    Progress, returns the output (same shape and dtype). ``info`` (a dict) receives the facts:
    tile, stats mode used, passes. ``stats_image``: take the statistics from this image instead
    (a downscaled copy of the whole photo when ``image`` is only a part of it: previews)."""
    from ganstudio.archs.statnorm import set_stats_hook, stats_points, uses_image_stats

    if stats not in STATS_MODES:
        raise TaskError(f"unknown statistics mode {stats!r} ({', '.join(STATS_MODES)})")
    if image.ndim != 3:
        raise TaskError("expected an HxWxC image")
    h0, w0, c = image.shape
    maxval = _max_value(image.dtype)
    m = max(1, int(multiple))
    img = pad_to_multiple(image, m)
    h, w = img.shape[:2]
    tile = max(MIN_TILE, int(tile)) if tile and tile > 0 else max(h, w)
    tile = max(m, (tile // m) * m)
    pad = int(math.ceil(pad / m) * m)
    info = info if info is not None else {}
    points = stats_points(module)
    needs_stats = uses_image_stats(module) and (max(h, w) > tile or stats_image is not None)
    while True:
        try:
            if not needs_stats:
                set_stats_hook(module, None)
                info.update(tile=min(tile, max(h, w)), stats="none" if max(h, w) > tile else "whole image",
                            passes=1)
                out = yield from _tiles(img, fn, tile, overlap, pad, m, ctx, device, stage, maxval)
                return out[:h0, :w0]
            pairs = module.mean_var_pairs() if hasattr(module, "mean_var_pairs") else []
            rec = StatsRecorder(points, pairs)
            set_stats_hook(module, rec)
            try:
                mode = stats
                n_pts = len(points)
                if stats_image is not None:
                    mode = "given"
                    rec.mode = "capture"
                    if ctx is not None:
                        ctx.check_cancelled()
                    _forward(fn, pad_to_multiple(stats_image, m), _max_value(stats_image.dtype), device)
                elif mode == "auto":
                    # exact unless the caller caps the extra passes (``exact_budget`` > 0: at most
                    # that many network passes' worth; exact costs about points / 2)
                    mode = "exact" if not exact_budget or n_pts / 2 <= exact_budget else "downscale"
                if mode == "given":
                    pass
                elif mode == "exact":
                    yield from _exact_stats(img, fn, rec, tile, pad, m, ctx, device, stage, maxval)
                else:
                    budget = stats_pixels or tile * tile
                    yield from _downscale_stats(img, fn, rec, budget, m, ctx, device, stage, maxval)
                rec.mode = "replay"
                info.update(tile=tile, stats=mode, stats_points=n_pts)
                out = yield from _tiles(img, fn, tile, overlap, pad, m, ctx, device, stage, maxval)
                return out[:h0, :w0]
            finally:
                set_stats_hook(module, None)
        except TaskError:
            raise
        except Exception as exc:  # noqa: BLE001
            if not is_oom_error(exc):
                raise
            if device is not None:
                free_memory(device.device)
            new = (tile // 2 // m) * m
            if new < MIN_TILE:
                raise TaskError("out of memory even with the smallest tile: close other programs "
                                "or use the CPU") from None
            if ctx is not None and ctx.log:
                ctx.log(f"out of memory with {tile} px tiles: retrying with {new} px")
            tile = new
            needs_stats = uses_image_stats(module) and (max(h, w) > tile or stats_image is not None)
            yield Progress(0, 1, f"{stage}: out of memory, retrying with {new} px tiles")


def _downscale_stats(img, fn, rec, budget, m, ctx, device, stage, maxval):
    import cv2

    h, w = img.shape[:2]
    s = min(1.0, math.sqrt(budget / float(h * w)))
    sh, sw = max(m, int(h * s) // m * m), max(m, int(w * s) // m * m)
    small = img if (sh, sw) == (h, w) else cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA)
    if small.ndim == 2:
        small = small[:, :, None]
    if ctx is not None:
        ctx.check_cancelled()
    yield Progress(0, 1, f"{stage}: whole-image statistics ({sw}x{sh})")
    rec.mode = "capture"
    _forward(fn, small, maxval, device)


def _core_tiles(h: int, w: int, tile: int, m: int) -> list[tuple[int, int, int, int]]:
    ys = list(range(0, h, tile))
    xs = list(range(0, w, tile))
    return [(y, min(y + tile, h), x, min(x + tile, w)) for y in ys for x in xs]


def _exact_stats(img, fn, rec, tile, pad, m, ctx, device, stage, maxval):
    """Pass i: run every tile up to stats point i and sum its core region there."""
    h, w = img.shape[:2]
    cores = _core_tiles(h, w, tile, m)
    # the first pass captures the call order on a tiny input (which points run, in which order)
    rec.mode = "capture"
    probe = img[: min(h, 4 * m * 8), : min(w, 4 * m * 8)]
    _forward(fn, probe, maxval, device)
    paired = set(rec.var_of.values())
    order = [i for i in rec.order if i not in paired]
    rec.values.clear()
    total = len(order) * len(cores)
    step = 0
    for target in order:
        rec.mode = "accumulate"
        rec.target = target
        for (y0, y1, x0, x1) in cores:
            if ctx is not None:
                ctx.check_cancelled()
            cy0, cy1 = max(0, y0 - pad), min(h, y1 + pad)
            cx0, cx1 = max(0, x0 - pad), min(w, x1 + pad)
            rec.core = (y0 - cy0, y1 - cy0, x0 - cx0, x1 - cx0, cy1 - cy0, cx1 - cx0)
            try:
                _forward(fn, img[cy0:cy1, cx0:cx1], maxval, device)
            except _StopForward:
                pass
            else:  # pragma: no cover - the point was not reached
                raise TaskError("internal error: a normalisation layer was not reached")
            step += 1
            if step % max(1, len(cores)) == 0 or len(cores) > 4:
                yield Progress(step, total + 1, f"{stage}: whole-image statistics "
                                                f"({order.index(target) + 1}/{len(order)})")
        rec.finish_target()


def _tiles(img, fn, tile, overlap, pad, m, ctx, device, stage, maxval) -> Generator[Progress, None, np.ndarray]:
    h, w, c = img.shape
    th, tw = min(tile, h), min(tile, w)
    ov = max(0, min(overlap, tile // 2))
    ys, xs = aligned_starts(h, th, ov, m), aligned_starts(w, tw, ov, m)
    wy, wx = _weights(ys, th, h), _weights(xs, tw, w)
    try:
        out = np.empty((h, w, c), img.dtype)
    except MemoryError:
        raise TaskError(f"not enough memory for a {w}x{h} result") from None
    band = np.zeros((th, w, c), np.float32)
    total = len(ys) * len(xs)
    step = 0
    for r, y0 in enumerate(ys):
        y1 = min(y0 + th, h)
        for q, x0 in enumerate(xs):
            if ctx is not None:
                ctx.check_cancelled()
            x1 = min(x0 + tw, w)
            cy0, cy1 = max(0, y0 - pad), min(h, y1 + pad)
            cx0, cx1 = max(0, x0 - pad), min(w, x1 + pad)
            res = _forward(fn, img[cy0:cy1, cx0:cx1], maxval, device)
            res = res[y0 - cy0:y0 - cy0 + (y1 - y0), x0 - cx0:x0 - cx0 + (x1 - x0)]
            band[: y1 - y0, x0:x1] += res * (wy[r][:, None, None] * wx[q][None, :, None])
            step += 1
            yield Progress(step, total, stage)
        final_end = ys[r + 1] if r + 1 < len(ys) else h
        n_final = final_end - y0
        _store(out[y0:final_end], band[:n_final], maxval)
        keep = y1 - final_end
        if keep > 0:
            band[:keep] = band[n_final:n_final + keep].copy()
        band[max(keep, 0):] = 0.0
    return out


def _store(dst: np.ndarray, src: np.ndarray, maxval: float, rows: int = 256) -> None:
    for i in range(0, src.shape[0], rows):
        chunk = src[i:i + rows] * maxval
        chunk += 0.5
        np.clip(chunk, 0, maxval, out=chunk)
        dst[i:i + rows] = chunk.astype(dst.dtype)
