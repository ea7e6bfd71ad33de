"""Paste an edited aligned face back: inverse perspective warp + feathered face-only mask.

* ``face_mask(face, oval)``: the face outline (face-mesh oval, else an ellipse placed from the
  FFHQ geometry) filled in aligned space, eroded and Gaussian-feathered, zero outside the square.
* ``paste_face(image, edited, face, mask)``: warps the edited face and its mask back with the
  inverse of the alignment matrix (sub-pixel exact; area pre-reduction when the aligned face is
  much larger than the face in the photo) into the smallest rectangle that holds the mask.
* ``composite(image, pastes)``: the flattened result. Every pixel whose mask is 0 - everything
  outside each face's paste region - is copied bit-exactly from the input (16-bit kept).
* ``color_match``: optional mean / standard-deviation transfer inside the mask (per channel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .align import AlignedFace, _scale_matrix, _shift, _to_float

# Fallback face oval in aligned coordinates (fractions of the size), measured as the mean face-mesh
# oval of the bundled sample faces after FFHQ alignment (used when only 5 points are known).
_OVAL_CX, _OVAL_CY, _OVAL_RX, _OVAL_RY = 0.5, 0.585, 0.27, 0.31


@dataclass
class Paste:
    rect: tuple[int, int, int, int]     # x, y, w, h in image coordinates
    rgb: np.ndarray                     # [h, w, 3] float32 0..1
    alpha: np.ndarray                   # [h, w] float32 0..1 (0 = untouched)

    def layer_rgba(self, dtype: type = np.uint8) -> np.ndarray:
        """Straight-alpha RGBA of the paste rectangle (a masked layer)."""
        mx = 65535.0 if np.dtype(dtype) == np.uint16 else 255.0
        out = np.empty(self.rgb.shape[:2] + (4,), dtype)
        out[:, :, :3] = np.clip(self.rgb * mx + 0.5, 0, mx).astype(dtype)
        out[:, :, 3] = np.clip(self.alpha * mx + 0.5, 0, mx).astype(dtype)
        return out


def face_mask(face: AlignedFace, oval: np.ndarray | None = None, *, erode: float = 0.015,
              feather: float = 0.02) -> np.ndarray:
    """[S, S] float32 0..1 face-only mask in aligned space. ``oval``: outline in IMAGE
    coordinates (from the face mesh); None = an ellipse from the FFHQ geometry."""
    import cv2

    s = face.size
    ss = 4                                          # supersampled polygon fill
    canvas = np.zeros((s * ss, s * ss), np.uint8)
    if oval is not None and len(oval) >= 3:
        pts = face.from_image(np.asarray(oval, np.float64))
        poly = np.round((pts + 0.5) * ss * 16).astype(np.int32)   # 4 fractional bits
        cv2.fillPoly(canvas, [poly], 255, lineType=cv2.LINE_8, shift=4)
    else:
        c = (int(_OVAL_CX * s * ss), int(_OVAL_CY * s * ss))
        ax = (int(_OVAL_RX * s * ss), int(_OVAL_RY * s * ss))
        cv2.ellipse(canvas, c, ax, 0, 0, 360, 255, -1)
    m = cv2.resize(canvas, (s, s), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    e = int(round(erode * s))
    if e > 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * e + 1, 2 * e + 1))
        m = cv2.erode(m, k)
    sigma = feather * s
    if sigma > 0.3:
        m = cv2.GaussianBlur(m, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    # zero at the square's border so nothing outside the aligned square is ever touched
    b = max(1, int(round(0.01 * s)))
    ramp = np.clip(np.minimum(np.arange(s), np.arange(s)[::-1]) / b, 0, 1).astype(np.float32)
    m *= ramp[None, :] * ramp[:, None]
    m[m < 1e-3] = 0.0
    return m.astype(np.float32)


def color_match(edited: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-channel mean / std of ``edited`` matched to ``reference`` where mask > 0.5."""
    import cv2

    if reference.shape[:2] != edited.shape[:2]:
        reference = cv2.resize(reference, edited.shape[1::-1], interpolation=cv2.INTER_AREA)
    if mask.shape != edited.shape[:2]:
        mask = cv2.resize(mask, edited.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    sel = mask > 0.5
    if sel.sum() < 16:
        return edited
    e, r = edited[sel], reference[sel]
    mu_e, mu_r = e.mean(0), r.mean(0)
    sd_e, sd_r = e.std(0) + 1e-4, r.std(0) + 1e-4
    gain = np.clip(sd_r / sd_e, 0.5, 2.0)
    return np.clip((edited - mu_e) * gain + mu_r, 0.0, 1.0).astype(np.float32)


def paste_face(image_shape: tuple[int, ...], edited: np.ndarray, face: AlignedFace,
               mask: np.ndarray) -> Paste | None:
    """Warp ``edited`` ([S', S', 3] float 0..1, any S') and ``mask`` ([S'', S''] float) back into
    the image of shape ``image_shape``. None when the mask lands outside the image."""
    import cv2

    h, w = image_shape[:2]
    rgb_src = np.asarray(edited, np.float32)
    m_src = np.asarray(mask, np.float32)
    if rgb_src.ndim == 2:
        rgb_src = np.repeat(rgb_src[:, :, None], 3, axis=2)
    # Geometry of each source: aligned-at-size-S pixel centre -> image pixel centre
    h_img = face.matrix

    def src_matrix(n: int) -> np.ndarray:
        return h_img @ _scale_matrix(face.size / n)     # n-grid pc -> S-grid pc -> image

    # paste rectangle: the support of the mask, mapped to the image
    ys, xs = np.nonzero(m_src > 0)
    if len(xs) == 0:
        return None
    n_m = m_src.shape[0]
    corners = np.array([[xs.min() - 1, ys.min() - 1], [xs.max() + 1, ys.min() - 1],
                        [xs.max() + 1, ys.max() + 1], [xs.min() - 1, ys.max() + 1]], np.float64)
    hm = src_matrix(n_m)
    q = corners @ hm[:2, :2].T + hm[:2, 2]
    q = q / (corners @ hm[2, :2] + hm[2, 2])[:, None]
    x0 = max(int(np.floor(q[:, 0].min())) - 1, 0)
    y0 = max(int(np.floor(q[:, 1].min())) - 1, 0)
    x1 = min(int(np.ceil(q[:, 0].max())) + 2, w)
    y1 = min(int(np.ceil(q[:, 1].max())) + 2, h)
    if x1 <= x0 or y1 <= y0:
        return None
    rw, rh = x1 - x0, y1 - y0
    qsize = face.qsize

    def warp_back(src: np.ndarray, interp: int, border: int) -> np.ndarray:
        n = src.shape[0]
        r = qsize / n                                    # image px per source px
        if r < 0.5:                                      # source much denser: area-reduce first
            n2 = max(8, int(round(qsize * 2)))
            src = cv2.resize(src, (n2, n2), interpolation=cv2.INTER_AREA)
            n = n2
        hs = src_matrix(n)                                # source pc -> image pc
        dst_to_src = np.linalg.inv(hs) @ _shift(x0, y0)
        return cv2.warpPerspective(src, dst_to_src, (rw, rh), flags=interp | cv2.WARP_INVERSE_MAP,
                                   borderMode=border, borderValue=0)

    rgb = warp_back(rgb_src, cv2.INTER_CUBIC, cv2.BORDER_REPLICATE)
    alpha = warp_back(m_src, cv2.INTER_LINEAR, cv2.BORDER_CONSTANT)
    alpha = np.clip(alpha, 0.0, 1.0)
    alpha[alpha < 1e-3] = 0.0
    rgb = np.clip(rgb, 0.0, 1.0)
    nz_y, nz_x = np.nonzero(alpha > 0)
    if len(nz_x) == 0:
        return None
    # tighten to the support
    tx0, tx1, ty0, ty1 = nz_x.min(), nz_x.max() + 1, nz_y.min(), nz_y.max() + 1
    return Paste((x0 + int(tx0), y0 + int(ty0), int(tx1 - tx0), int(ty1 - ty0)),
                 np.ascontiguousarray(rgb[ty0:ty1, tx0:tx1]),
                 np.ascontiguousarray(alpha[ty0:ty1, tx0:tx1]))


def composite(image: np.ndarray, pastes: list[Paste]) -> np.ndarray:
    """The image with every paste blended in; pixels with alpha 0 are the input's, bit-exact.
    Keeps the input's dtype and channels (alpha of RGBA / gray inputs untouched)."""
    src = np.asarray(image)
    out = src.copy()
    gray = src.ndim == 2
    for p in pastes:
        x, y, w, h = p.rect
        region = out[y:y + h, x:x + w] if not gray else out[y:y + h, x:x + w, None]
        base = _to_float(region)
        a = p.alpha[:, :, None]
        blend = base * (1.0 - a) + p.rgb * a
        if gray:
            blend = blend @ np.array([0.299, 0.587, 0.114], np.float32)
            blend = blend[:, :, None]
        mx = 65535.0 if src.dtype == np.uint16 else 255.0
        if np.issubdtype(src.dtype, np.floating):
            vals = blend.astype(src.dtype)
        else:
            vals = np.clip(blend * mx + 0.5, 0, mx).astype(src.dtype)
        tgt = out[y:y + h, x:x + w] if not gray else out[y:y + h, x:x + w, None]
        sel = p.alpha > 0
        nc = vals.shape[2]
        view = tgt[:, :, :nc]
        view[sel] = vals[sel]
        tgt[:, :, :nc] = view
    return out
