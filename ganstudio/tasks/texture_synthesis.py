"""Guided patch synthesis: give an inpainted hole the fine texture of its surroundings.

A network (or a diffusion fill) reconstructs the *structure* of a hole well but smooths its fine
texture away: grass, bark, sand, noise and film grain become a blur. Content-aware fill's answer is
exemplar-based: find, for every hole pixel, a place in the known image whose neighbourhood looks
like the filled-in neighbourhood (a nearest-neighbour field, found with PatchMatch: random
initialisation, propagation of good offsets to neighbours, random search at shrinking radii;
Barnes et al. 2009), then copy what the fill lacks from there. Here only the high-frequency band
(image minus its Gaussian blur) is copied, on top of the fill, so the structure of the fill and
its colours stay and the texture comes from the photo itself.

numpy + OpenCV, vectorised over all hole pixels; the field is searched at a reduced resolution for
large holes and upsampled. Written by hand: OpenCV ships no PatchMatch (xphoto's inpainting is
shift-map based and not in opencv-python-headless), and no well-kept Python package provides one.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["nearest_neighbour_field", "transfer_texture", "highpass"]


def highpass(img: np.ndarray, sigma: float) -> np.ndarray:
    """``img`` minus its Gaussian blur (float32, same shape)."""
    blur = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    return img - blur


def _patch_cost(feat: np.ndarray, ty: np.ndarray, tx: np.ndarray, sy: np.ndarray, sx: np.ndarray,
                radius: int, step: int) -> np.ndarray:
    """Sum of squared differences between the patches centred at (ty, tx) and (sy, sx) of the
    padded feature image (sub-sampled by ``step`` inside the patch)."""
    cost = np.zeros(ty.shape[0], np.float32)
    for dy in range(-radius, radius + 1, step):
        for dx in range(-radius, radius + 1, step):
            d = feat[ty + dy, tx + dx] - feat[sy + dy, sx + dx]
            cost += np.einsum("ij,ij->i", d, d)
    return cost


def nearest_neighbour_field(guide: np.ndarray, hole: np.ndarray, *, patch: int = 7, iters: int = 4,
                            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """For every hole pixel, the centre of the best matching patch among the known pixels.

    ``guide``: HxWxC float32 (the image with the hole already filled: the target patches are
    compared with it); ``hole``: HxW bool. Sources are pixels whose whole patch is known. Returns
    (sy, sx), int32 arrays of shape HxW (valid where ``hole``)."""
    h, w = hole.shape
    r = patch // 2
    known_full = ~cv2.dilate(hole.astype(np.uint8), np.ones((patch, patch), np.uint8)).astype(bool)
    src_y, src_x = np.nonzero(known_full)
    sy_map = np.zeros((h, w), np.int32)
    sx_map = np.zeros((h, w), np.int32)
    ty, tx = np.nonzero(hole)
    if ty.size == 0:
        return sy_map, sx_map
    if src_y.size == 0:           # no fully known patch anywhere: copy from the nearest known pixel
        src_y, src_x = np.nonzero(~hole)
        if src_y.size == 0:
            return sy_map, sx_map
    # patches are compared on a blurred guide: the fill is smooth, so on raw pixels the best
    # matches would be the flattest places of the photo and the copied texture too weak
    low = cv2.GaussianBlur(guide.astype(np.float32), (0, 0), sigmaX=1.5, sigmaY=1.5)
    feat = np.pad(low, ((r, r), (r, r), (0, 0)), mode="reflect")
    valid = np.zeros((h, w), bool)
    valid[src_y, src_x] = True
    rng = np.random.default_rng(seed)
    step = 1 if patch <= 5 else 2

    # initialise: for half of the pixels the nearest fully-known pixel (coherent structure), for the
    # other half a random source (exploration); propagation spreads the good ones
    _, labels = cv2.distanceTransformWithLabels((~valid).astype(np.uint8), cv2.DIST_L2, 5,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    lab_y = np.zeros(labels.max() + 1, np.int32)
    lab_x = np.zeros(labels.max() + 1, np.int32)
    lab = labels[src_y, src_x]
    lab_y[lab], lab_x[lab] = src_y, src_x
    near_y, near_x = lab_y[labels[ty, tx]], lab_x[labels[ty, tx]]
    pick = rng.integers(0, src_y.size, ty.size)
    use_rand = rng.random(ty.size) < 0.5
    cy = np.where(use_rand, src_y[pick], near_y).astype(np.int32)
    cx = np.where(use_rand, src_x[pick], near_x).astype(np.int32)
    best = _patch_cost(feat, ty + r, tx + r, cy + r, cx + r, r, step)
    idx = np.full((h, w), -1, np.int64)
    idx[ty, tx] = np.arange(ty.size)
    search = max(8, max(h, w) // 2)

    def consider(ny: np.ndarray, nx: np.ndarray, sel: np.ndarray) -> None:
        nonlocal cy, cx, best
        ok = sel & (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        if not ok.any():
            return
        ii = np.flatnonzero(ok)
        ny_, nx_ = ny[ii], nx[ii]
        good = valid[ny_, nx_]
        ii, ny_, nx_ = ii[good], ny_[good], nx_[good]
        if ii.size == 0:
            return
        c = _patch_cost(feat, ty[ii] + r, tx[ii] + r, ny_ + r, nx_ + r, r, step)
        better = c < best[ii]
        jj = ii[better]
        cy[jj], cx[jj], best[jj] = ny_[better], nx_[better], c[better]

    for it in range(iters):
        # propagation (alternating scan direction): take a neighbour's offset, shifted by one pixel
        d = 1 if it % 2 == 0 else -1
        for oy, ox in ((0, d), (d, 0), (0, 2 * d), (2 * d, 0)):
            py, px = ty - oy, tx - ox
            inside = (py >= 0) & (py < h) & (px >= 0) & (px < w)
            nb = np.full(ty.size, -1, np.int64)
            nb[inside] = idx[py[inside], px[inside]]
            has = nb >= 0
            ny = np.where(has, cy[np.maximum(nb, 0)] + oy, 0)
            nx = np.where(has, cx[np.maximum(nb, 0)] + ox, 0)
            consider(ny.astype(np.int32), nx.astype(np.int32), has)
        # random search around the current best, radius halving
        rad = search
        while rad >= 1:
            ny = cy + rng.integers(-rad, rad + 1, ty.size)
            nx = cx + rng.integers(-rad, rad + 1, ty.size)
            consider(ny.astype(np.int32), nx.astype(np.int32), np.ones(ty.size, bool))
            rad //= 2
    sy_map[ty, tx], sx_map[ty, tx] = cy, cx
    return sy_map, sx_map


def transfer_texture(image: np.ndarray, fill: np.ndarray, hole: np.ndarray, *, sigma: float = 1.5,
                     gain: float = 1.0, patch: int = 5, iters: int = 4, max_side: int = 256,
                     seed: int = 0) -> np.ndarray:
    """``fill`` (HxWx3 float32 0..1, the network's completion; equal to ``image`` outside the hole)
    plus the high-frequency band of the best-matching known places, inside ``hole`` only.

    The field is searched on a copy scaled to ``max_side`` (long side) and upsampled; the texture
    itself is copied at full resolution. ``gain`` scales the copied band (1 = as strong as in the
    photo). Pixels outside the hole are returned unchanged."""
    h, w = hole.shape
    if not hole.any() or gain <= 0:
        return fill
    guide = np.where(hole[..., None], fill, image).astype(np.float32)
    s = min(1.0, max_side / float(max(h, w)))
    if s < 1.0:
        sw, sh = max(8, round(w * s)), max(8, round(h * s))
        g_small = cv2.resize(guide, (sw, sh), interpolation=cv2.INTER_AREA)
        hole_small = cv2.resize(hole.astype(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST) > 0
        hole_small |= cv2.resize(hole.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA) > 0.01
        sy, sx = nearest_neighbour_field(g_small, hole_small, patch=patch, iters=iters, seed=seed)
        # upsample the offsets (not the positions): full-res source = target + offset / s
        oy = cv2.resize((sy - np.arange(sh)[:, None]).astype(np.float32), (w, h),
                        interpolation=cv2.INTER_NEAREST) / s
        ox = cv2.resize((sx - np.arange(sw)[None, :]).astype(np.float32), (w, h),
                        interpolation=cv2.INTER_NEAREST) / s
        yy, xx = np.mgrid[0:h, 0:w]
        src_y = np.clip(np.rint(yy + oy), 0, h - 1).astype(np.int32)
        src_x = np.clip(np.rint(xx + ox), 0, w - 1).astype(np.int32)
    else:
        src_y, src_x = nearest_neighbour_field(guide, hole, patch=patch, iters=iters, seed=seed)
    # a source must be known at full resolution; otherwise take the nearest known pixel's band
    known = ~hole
    ty, tx = np.nonzero(hole)
    py, px = src_y[ty, tx], src_x[ty, tx]
    bad = ~known[py, px]
    if bad.any():
        _, labels = cv2.distanceTransformWithLabels(hole.astype(np.uint8), cv2.DIST_L2, 5,
                                                    labelType=cv2.DIST_LABEL_PIXEL)
        ky, kx = np.nonzero(known)
        lab_y = np.zeros(labels.max() + 1, np.int32)
        lab_x = np.zeros(labels.max() + 1, np.int32)
        lab = labels[ky, kx]
        lab_y[lab], lab_x[lab] = ky, kx
        py[bad], px[bad] = lab_y[labels[py[bad], px[bad]]], lab_x[labels[py[bad], px[bad]]]
    band = highpass(guide, sigma)
    copied = band[py, px]
    # match the texture strength of each hole to the ring of photo around it (content-aware
    # fill's local statistics): copies that came out weaker or stronger are rescaled, within 2x
    gains = _energy_match(band, copied, hole, ty, tx, gain)
    out = fill.astype(np.float32, copy=True)
    out[ty, tx] += gains[:, None] * copied
    return np.clip(out, 0.0, 1.0)


def _energy_match(band: np.ndarray, copied: np.ndarray, hole: np.ndarray, ty: np.ndarray,
                  tx: np.ndarray, gain: float, ring: int = 15) -> np.ndarray:
    """Per hole pixel: ``gain`` x (mean |band| in a ``ring`` px ring around its hole component) /
    (mean |copied band| in that component), clipped to [0.5, 2] x gain."""
    n, comp = cv2.connectedComponents(hole.astype(np.uint8), connectivity=8)
    mag_band = np.abs(band).mean(axis=2)
    mag_copy = np.abs(copied).mean(axis=1)
    lab = comp[ty, tx]
    out = np.full(ty.size, float(gain), np.float32)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring + 1, 2 * ring + 1))
    for c in range(1, n):
        sel = lab == c
        cm = (comp == c).astype(np.uint8)
        ys, xs = np.nonzero(cm)
        y0, y1 = max(0, ys.min() - ring), min(hole.shape[0], ys.max() + ring + 1)
        x0, x1 = max(0, xs.min() - ring), min(hole.shape[1], xs.max() + ring + 1)
        around = cv2.dilate(cm[y0:y1, x0:x1], kernel).astype(bool) & ~hole[y0:y1, x0:x1]
        if not around.any():
            continue
        e_ring = float(mag_band[y0:y1, x0:x1][around].mean())
        e_copy = float(mag_copy[sel].mean())
        if e_copy > 1e-6:
            out[sel] = gain * float(np.clip(e_ring / e_copy, 0.5, 2.0))
    return out
