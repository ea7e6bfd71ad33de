"""Geometry for masked tasks (inpainting): crop boxes per mask region, resize, padding, feathering.

numpy + OpenCV only (no torch), shared by every masked task. Follows IOPaint's HD strategies:

* ``crop_boxes``: one box per connected mask component - its bounding box grown by ``margin`` on
  every side; a box that would leave the image is *shifted inward* (keeping its size where the
  image allows), then clipped. Overlapping boxes are merged so no pixel is inpainted twice.
* ``resize_long_side``: downscale so the long side is at most ``limit``.
* ``pad_to_multiple``: pad bottom/right to a multiple (and a minimum size) with symmetric padding,
  as LaMa's reference code does; ``unpad`` crops back.
* ``prepare_mask`` binarises (>127) and, on request, grows a mask; ``feather_weight`` turns it into
  a composite weight that is 0 outside the mask and rises to 1 within ``feather`` px inside it,
  so only masked pixels change.
"""

from __future__ import annotations

import cv2
import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (half-open)


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def prepare_mask(mask: np.ndarray, dilate: int = 0) -> np.ndarray:
    """HxW uint8 {0, 255}: ``mask > 127`` grown by ``dilate`` pixels."""
    m = (np.asarray(mask) > 127).astype(np.uint8) * 255
    if dilate > 0 and m.any():
        m = cv2.dilate(m, _disk(int(dilate)))
    return m


def feather_weight(mask: np.ndarray, feather: int) -> np.ndarray:
    """Float32 HxW composite weight that is exactly 0 outside ``mask`` (those pixels never change)
    and, inside it, rises smoothly from the edge to 1 over ``feather`` px (0 = a hard edge: the
    mask itself). The soft edge lies INSIDE the painted region, as an artist expects: masking a
    wire never touches the sky next to it (grow the mask first to extend the region)."""
    hole = np.asarray(mask) > 0
    if feather <= 0 or not hole.any():
        return hole.astype(np.float32)
    # distance (px) of every hole pixel to the nearest pixel outside it: 1 on the hole's edge
    dist = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5)
    w = np.clip(dist / float(feather + 1), 0.0, 1.0)
    w = w * w * (3 - 2 * w)  # smoothstep
    w[~hole] = 0.0
    return w.astype(np.float32)


def shift_inside(x0: int, x1: int, size: int) -> tuple[int, int]:
    """Move the span [x0, x1) inside [0, size) keeping its length when possible."""
    if x0 < 0:
        x1, x0 = x1 - x0, 0
    if x1 > size:
        x0, x1 = max(0, x0 - (x1 - size)), size
    return x0, x1


def merge_boxes(boxes: list[Box]) -> list[Box]:
    out = [list(b) for b in boxes]
    merged = True
    while merged:
        merged = False
        res: list[list[int]] = []
        for b in out:
            for o in res:
                if b[0] < o[2] and o[0] < b[2] and b[1] < o[3] and o[1] < b[3]:
                    o[:] = [min(o[0], b[0]), min(o[1], b[1]), max(o[2], b[2]), max(o[3], b[3])]
                    merged = True
                    break
            else:
                res.append(b)
        out = res
    return sorted((tuple(b) for b in out), key=lambda b: (b[1], b[0]))  # type: ignore[misc]


def crop_boxes(mask: np.ndarray, margin: int) -> list[Box]:
    """Boxes (x0, y0, x1, y1) around each connected component of ``mask`` + ``margin``, in bounds."""
    h, w = mask.shape[:2]
    n, _, stats, _ = cv2.connectedComponentsWithStats((np.asarray(mask) > 0).astype(np.uint8), connectivity=8)
    boxes: list[Box] = []
    for i in range(1, n):
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        x0, x1 = shift_inside(x - margin, x + bw + margin, w)
        y0, y1 = shift_inside(y - margin, y + bh + margin, h)
        boxes.append((x0, y0, x1, y1))
    return merge_boxes(boxes)


def bbox(mask: np.ndarray) -> Box | None:
    ys, xs = np.nonzero(np.asarray(mask))
    if ys.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def resize_long_side(image: np.ndarray, limit: int, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
    h, w = image.shape[:2]
    if max(h, w) <= limit:
        return image
    s = limit / max(h, w)
    return cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interpolation)


def pad_to_multiple(image: np.ndarray, multiple: int, min_size: int = 0) -> tuple[np.ndarray, tuple[int, int]]:
    """Pad bottom/right (symmetric) to a multiple of ``multiple`` and at least ``min_size``."""
    h, w = image.shape[:2]
    th = max(min_size, -(-h // multiple) * multiple)
    tw = max(min_size, -(-w // multiple) * multiple)
    th = -(-th // multiple) * multiple
    tw = -(-tw // multiple) * multiple
    if (th, tw) == (h, w):
        return image, (h, w)
    pad = [(0, th - h), (0, tw - w)] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, pad, mode="symmetric"), (h, w)


def unpad(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return image[: size[0], : size[1]]
