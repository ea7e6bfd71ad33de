"""Encoding RGB(A) uint8 / uint16 arrays to PNG, JPEG, WebP, TIFF and BMP bytes (ICC, EXIF, dpi),
with notes on what had to change (16 -> 8 bit, flattened transparency, dropped metadata)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from ..pixels import to_8bit
from .exif import normalize_exif
from .pngchunks import encode_png, strip_exif_header
from .tiff_write import encode_tiff


def _flatten_on(arr: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """Straight RGBA -> RGB composited over an opaque background colour (same dtype)."""
    full = float(np.iinfo(arr.dtype).max)
    a = arr[:, :, 3:4].astype(np.float32) / full
    bg = np.asarray(background, np.float32) * (full / 255.0)
    rgb = arr[:, :, :3].astype(np.float32) * a + bg * (1.0 - a)
    return np.clip(np.rint(rgb), 0, full).astype(arr.dtype)


_TIFF_COMPRESSION = {"lzw": "tiff_lzw", "packbits": "packbits", "jpeg": "jpeg"}


def encode_image(arr: np.ndarray, fmt: str, *, quality: int = 92, lossless: bool = False,
                 compression: Any = None, icc: bytes | None = None, exif: bytes | None = None,
                 dpi: Any = None, subsampling: str | int | None = None, progressive: bool = False,
                 background: tuple[int, int, int] = (255, 255, 255), keep_alpha: bool | None = None,
                 notes: list[str] | None = None) -> bytes:
    """Encode an RGB(A) uint8/uint16 array to file bytes in ``fmt``. ``notes`` collects what changed."""
    notes = [] if notes is None else notes
    exif = normalize_exif(exif)
    icc = icc or None
    full = np.iinfo(arr.dtype).max
    has_alpha = arr.shape[2] == 4
    if has_alpha and keep_alpha is None:
        has_alpha = bool((arr[:, :, 3] != full).any())
    elif keep_alpha is False:
        has_alpha = False
    if arr.shape[2] == 4 and not has_alpha:
        if bool((arr[:, :, 3] != full).any()):
            arr = _flatten_on(arr, background)
            notes.append("transparency flattened on the background colour")
        else:
            arr = arr[:, :, :3]
    quality = int(np.clip(quality, 1, 100))
    buf = io.BytesIO()

    if fmt == "PNG":
        level = 6 if compression is None else int(compression)
        return encode_png(arr, level=level, icc=icc, exif=exif, dpi=dpi)

    if fmt == "TIFF":
        comp = None if compression is None else str(compression).lower()
        comp = {None: "adobe_deflate", "deflate": "adobe_deflate", "zip": "adobe_deflate",
                "tiff_adobe_deflate": "adobe_deflate", "none": None, "raw": None}.get(comp, comp)
        if comp in (None, "adobe_deflate") or arr.dtype == np.uint16:
            if comp not in (None, "adobe_deflate"):
                notes.append(f"{compression} compression is not available for 16-bit TIFF: deflate used")
                comp = "adobe_deflate"
            return encode_tiff(arr, comp, icc, exif, dpi, notes)

    if arr.dtype == np.uint16:
        arr = to_8bit(arr)
        notes.append(f"16-bit pixels reduced to 8-bit ({fmt} is 8-bit)")
    if fmt in ("JPEG", "BMP") and has_alpha:
        arr = _flatten_on(arr, background)
        has_alpha = False
        notes.append(f"{fmt} has no (portable) transparency: flattened on the background colour")
    im = Image.fromarray(np.ascontiguousarray(arr), "RGBA" if arr.shape[2] == 4 else "RGB")
    params: dict[str, Any] = {}
    if icc:
        params["icc_profile"] = icc
    if dpi:
        params["dpi"] = tuple(dpi)
    if fmt == "JPEG":
        params.update(quality=quality, optimize=True, progressive=bool(progressive))
        if subsampling is not None:
            params["subsampling"] = subsampling
        if exif:
            params["exif"] = exif
    elif fmt == "WEBP":
        params.update(quality=quality, lossless=bool(lossless), method=4)
        if lossless:
            params["exact"] = True  # keep RGB under transparent pixels
        if exif:
            params["exif"] = strip_exif_header(exif)
    elif fmt == "TIFF":
        comp = _TIFF_COMPRESSION.get(str(compression).lower())
        if comp is None:
            raise ValueError(f"unknown TIFF compression {compression!r} "
                             "(deflate, lzw, packbits, jpeg, none)")
        if comp == "jpeg" and has_alpha:
            comp = "tiff_adobe_deflate"
            notes.append("JPEG compression cannot hold alpha in TIFF: deflate used")
        if comp:
            params["compression"] = comp
            if comp == "jpeg":
                params["quality"] = quality
        if exif:
            notes.append("EXIF is written to TIFF with deflate or no compression only: not written")
    elif fmt == "BMP":
        params.pop("icc_profile", None)
        if icc or exif:
            notes.append("BMP cannot hold the ICC profile / EXIF: not written")
    im.save(buf, fmt, **params)
    return buf.getvalue()
