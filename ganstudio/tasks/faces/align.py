"""FFHQ alignment (NVlabs ffhq-dataset recipe) from the FULL-resolution image, and its exact inverse.

``ffhq_quad(points5)`` builds the oriented square of the FFHQ recipe from the eye centres and the
mouth corners. ``align_face(image, quad, size)`` resamples it to ``size`` x ``size``:

* the work region is the quad's bounding box plus a border of max(rint(0.1 qsize), 3) px, read
  from the full image (a 50 MP photo is never downscaled as a whole);
* where the quad leaves the image, the region is reflect-padded (at least rint(0.3 qsize)) and the
  padding is blurred (sigma 0.02 qsize) and faded to the median colour, as the recipe does, so the
  encoder sees FFHQ-like borders;
* resampling is anti-aliased: area-reduce to <= 2 source px per output px, bicubic warp at twice
  the output size, area-reduce to the output (the recipe's 4096 px transform + Lanczos, cheaper).

Geometry is one 3x3 matrix ``M`` that maps aligned pixel centres to image pixel centres (the
aligned square's edges land exactly on the quad). Paste-back (paste.py) inverts that same matrix,
so a round trip is sub-pixel exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..base import TaskError


@dataclass
class AlignedFace:
    pixels: np.ndarray      # [S, S, 3] float32 in 0..1 (16-bit precision kept)
    matrix: np.ndarray      # [3, 3]: aligned pixel centre -> image pixel centre (homogeneous)
    quad: np.ndarray        # [4, 2] image coordinates: top-left, bottom-left, bottom-right, top-right
    size: int

    @property
    def qsize(self) -> float:
        return quad_size(self.quad)

    def to_image(self, pts: np.ndarray) -> np.ndarray:
        return apply_h(self.matrix, pts)

    def from_image(self, pts: np.ndarray) -> np.ndarray:
        return apply_h(np.linalg.inv(self.matrix), pts)

    def to_uint8(self) -> np.ndarray:
        return (np.clip(self.pixels, 0, 1) * 255.0 + 0.5).astype(np.uint8)


def apply_h(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.asarray(pts, np.float64).reshape(-1, 2)
    q = p @ m[:, :2].T + m[:, 2]
    return (q[:, :2] / q[:, 2:3]).reshape(np.shape(pts))


def ffhq_quad(points5: np.ndarray) -> np.ndarray:
    """The FFHQ quad from [eye on image-left, eye on image-right, nose, mouth left, mouth right]."""
    p = np.asarray(points5, np.float64)
    if p.shape != (5, 2) or not np.isfinite(p).all():
        raise TaskError("alignment needs 5 finite landmark points")
    eye_left, eye_right = p[0], p[1]
    mouth_avg = (p[3] + p[4]) * 0.5
    eye_avg = (eye_left + eye_right) * 0.5
    eye_to_eye = eye_right - eye_left
    eye_to_mouth = mouth_avg - eye_avg
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    n = np.hypot(*x)
    if n < 1e-6:
        raise TaskError("degenerate landmarks (eyes and mouth coincide)")
    x /= n
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


def quad_size(quad: np.ndarray) -> float:
    q = np.asarray(quad, np.float64)
    return float((np.hypot(*(q[3] - q[0])) + np.hypot(*(q[2] - q[1]))) * 0.5)


def quad_matrix(quad: np.ndarray, size: int) -> np.ndarray:
    """3x3 map: aligned pixel centres (0..size-1) -> image pixel centres. The aligned square's
    edges (-0.5 and size-0.5) land on the quad's corners."""
    import cv2

    e = float(size)
    src = np.array([[0, 0], [0, e], [e, e], [e, 0]], np.float32) - 0.5
    return cv2.getPerspectiveTransform(src, np.asarray(quad, np.float32)).astype(np.float64)


def _to_float(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.shape[2] in (1, 2):
        a = np.repeat(a[:, :, :1], 3, axis=2)
    a = a[:, :, :3]
    if a.dtype == np.uint8:
        return a.astype(np.float32) * np.float32(1 / 255)
    if a.dtype == np.uint16:
        return a.astype(np.float32) * np.float32(1 / 65535)
    if np.issubdtype(a.dtype, np.floating):
        return a.astype(np.float32)
    raise TaskError(f"unsupported image type {a.dtype}")


def _scale_matrix(k: float) -> np.ndarray:
    """Pixel-centre map of a resize by factor k: x' = (x + 0.5) k - 0.5."""
    return np.array([[k, 0, 0.5 * k - 0.5], [0, k, 0.5 * k - 0.5], [0, 0, 1]], np.float64)


def _shift(dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], np.float64)


def align_face(image: np.ndarray, quad: np.ndarray, size: int = 1024, *,
               pad: bool = True) -> AlignedFace:
    """Resample the FFHQ quad of ``image`` (full resolution, any dtype) to ``size`` x ``size``."""
    import cv2

    quad = np.asarray(quad, np.float64)
    h, w = np.asarray(image).shape[:2]
    qsize = quad_size(quad)
    if qsize < 4:
        raise TaskError("the face is too small to align")
    border = max(int(np.rint(qsize * 0.1)), 3)
    x0 = int(np.floor(quad[:, 0].min())) - border
    y0 = int(np.floor(quad[:, 1].min())) - border
    x1 = int(np.ceil(quad[:, 0].max())) + border
    y1 = int(np.ceil(quad[:, 1].max())) + border
    need = (max(-x0, 0), max(-y0, 0), max(x1 - w, 0), max(y1 - h, 0))   # left top right bottom
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx1 <= cx0 or cy1 <= cy0:
        raise TaskError("the face lies outside the image")
    crop = _to_float(np.asarray(image)[cy0:cy1, cx0:cx1])
    ox, oy = cx0, cy0                                   # image coords of crop pixel (0, 0)
    if pad and max(need) > 0:
        p = max(int(np.rint(qsize * 0.3)), 1)
        pl, pt, pr, pb = (max(n, p) if n > 0 else 0 for n in need)
        ch, cw = crop.shape[:2]
        # numpy's reflect needs pad < size: repeat in steps
        while pl or pt or pr or pb:
            sl, st = min(pl, cw - 1), min(pt, ch - 1)
            sr, sb = min(pr, cw - 1), min(pb, ch - 1)
            if max(sl, st, sr, sb) <= 0:
                crop = np.pad(crop, ((pt, pb), (pl, pr), (0, 0)), mode="edge")
                ox, oy = ox - pl, oy - pt
                break
            crop = np.pad(crop, ((st, sb), (sl, sr), (0, 0)), mode="reflect")
            ox, oy = ox - sl, oy - st
            pl, pt, pr, pb = pl - sl, pt - st, pr - sr, pb - sb
            ch, cw = crop.shape[:2]
        ch, cw = crop.shape[:2]
        # signed fade weights as in the recipe: 1 at the padded canvas' edge, 0 at the image's
        # edge, negative inside (the blur fades in over the outer third of the padding)
        ix0, iy0 = -ox, -oy                               # image origin in canvas coords
        ix1, iy1 = ix0 + w, iy0 + h
        xs = np.arange(cw, dtype=np.float32)
        ys = np.arange(ch, dtype=np.float32)
        far = np.full(cw, -1e9, np.float32)
        fx = np.maximum(1.0 - xs / ix0 if ix0 > 0 else far,
                        1.0 - (cw - 1 - xs) / (cw - ix1) if ix1 < cw else far)
        far = np.full(ch, -1e9, np.float32)
        fy = np.maximum(1.0 - ys / iy0 if iy0 > 0 else far,
                        1.0 - (ch - 1 - ys) / (ch - iy1) if iy1 < ch else far)
        mask = np.maximum(fx[None, :], fy[:, None])[:, :, None].astype(np.float32)
        sigma = max(qsize * 0.02, 0.5)
        blurred = cv2.GaussianBlur(crop, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        crop = crop + (blurred - crop) * np.clip(mask * 3.0 + 1.0, 0.0, 1.0)
        med = np.median(crop.reshape(-1, 3), axis=0).astype(np.float32)
        crop = crop + (med - crop) * np.clip(mask, 0.0, 1.0)
        crop = crop.astype(np.float32)
    elif max(need) > 0:
        crop = cv2.copyMakeBorder(crop, need[1], need[3], need[0], need[2], cv2.BORDER_CONSTANT,
                                  value=(0, 0, 0))
        ox, oy = ox - need[0], oy - need[1]
    m_img = quad_matrix(quad, size)                      # aligned -> image
    m = _shift(-ox, -oy) @ m_img                         # aligned -> canvas
    r = qsize / size                                     # source px per output px
    if r > 2.0:                                          # anti-alias: area-reduce first
        k = 2.0 / r
        ch, cw = crop.shape[:2]
        nw, nh = max(1, int(round(cw * k))), max(1, int(round(ch * k)))
        crop = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA)
        m = np.diag([nw / cw, nh / ch, 1.0]) @ _shift(0.5, 0.5) @ m
        m = _shift(-0.5, -0.5) @ m
    if r > 1.0:                                          # warp at 2x, then area-reduce
        m2 = m @ _scale_matrix(0.5)                       # 2x-aligned -> canvas
        big = cv2.warpPerspective(crop, m2, (2 * size, 2 * size),
                                  flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                                  borderMode=cv2.BORDER_REPLICATE)
        out = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
    else:
        out = cv2.warpPerspective(crop, m, (size, size), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                                  borderMode=cv2.BORDER_REPLICATE)
    out = np.clip(out, 0.0, 1.0).astype(np.float32)
    return AlignedFace(pixels=out, matrix=m_img, quad=quad, size=size)


def resize_aligned(face: AlignedFace, size: int) -> AlignedFace:
    """The same face at another size (e.g. 1024 -> 256 for the encoder); geometry updated."""
    import cv2

    if size == face.size:
        return face
    interp = cv2.INTER_AREA if size < face.size else cv2.INTER_CUBIC
    px = cv2.resize(face.pixels, (size, size), interpolation=interp)
    return AlignedFace(np.clip(px, 0, 1).astype(np.float32), quad_matrix(face.quad, size),
                       face.quad, size)
