"""Decoding flat images: Pillow for 8-bit (and CMYK through its ICC profile, palettes, grey, 1-bit),
OpenCV / tifffile for 16-bit PNG and TIFF (Pillow truncates 16-bit RGB) and float TIFF; EXIF
orientation applied to the pixels and reset to 1; ICC and EXIF kept; straight RGBA out."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageCms

from .errors import CorruptFileError, ImageFileError, UnsupportedFormatError, _show
from .exif import _apply_orientation, _exif_from_tiff, exif_orientation, exif_with_orientation, normalize_exif
from .formats import (READ_FORMATS, _DECODE_ERRORS, _no_pillow_bomb_check, check_pixel_limit,
                      openable_formats_text, sniff_format)
from .pngchunks import decode_png_array, png_header


@dataclass
class DecodedImage:
    """Pixels (HxWx4 straight RGBA, uint8 or uint16) and what came with them."""

    pixels: np.ndarray
    format: str
    icc_profile: bytes | None = None
    exif: bytes | None = None
    has_alpha: bool = False
    dpi: tuple[float, float] | None = None
    orientation: int = 1
    notes: list[str] = field(default_factory=list)

    @property
    def bit_depth(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8


def _to_rgba(arr: np.ndarray) -> tuple[np.ndarray, bool]:
    """HxW / HxWx1..4 -> HxWx4 (same dtype) and whether a real alpha channel was present."""
    if arr.ndim == 3 and arr.shape[2] == 3:  # the common case, fast path (alpha = max value)
        return cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2RGBA), False
    if arr.ndim == 3 and arr.shape[2] == 4:
        return np.require(arr, requirements=["C", "W"]), True  # Pillow arrays are read-only
    if arr.ndim == 2:
        arr = arr[:, :, None]
    channels = arr.shape[2]
    full = np.iinfo(arr.dtype).max
    if channels == 1:
        rgb, alpha = np.repeat(arr, 3, axis=2), None
    elif channels == 2:
        rgb, alpha = np.repeat(arr[:, :, :1], 3, axis=2), arr[:, :, 1]
    elif channels == 3:
        rgb, alpha = arr, None
    else:
        rgb, alpha = arr[:, :, :3], arr[:, :, 3]
    out = np.empty(arr.shape[:2] + (4,), arr.dtype)
    out[:, :, :3] = rgb
    out[:, :, 3] = full if alpha is None else alpha
    return out, alpha is not None


def _float_to_u16(arr: np.ndarray) -> np.ndarray:
    arr = np.nan_to_num(arr.astype(np.float32))
    top = 1.0 if arr.size == 0 or float(arr.max()) <= 1.0 else float(arr.max())
    return np.clip(np.rint(arr / top * 65535.0), 0, 65535).astype(np.uint16)


_CV2_TIFF_ORIENTS: bool | None = None


def _cv2_applies_tiff_orientation() -> bool:
    """Whether cv2.imdecode applies the TIFF orientation tag itself (probed once with a 2x1 image)."""
    global _CV2_TIFF_ORIENTS
    if _CV2_TIFF_ORIENTS is None:
        import tifffile

        buf = io.BytesIO()
        tifffile.imwrite(buf, np.array([[1, 2]], np.uint16), extratags=[(274, "H", 1, 2, True)])
        arr = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_UNCHANGED)
        _CV2_TIFF_ORIENTS = arr is not None and int(arr.reshape(-1)[0]) == 2
    return _CV2_TIFF_ORIENTS


#: library messages that mean "the data stops early" (Pillow, libjpeg, libpng, zlib, OpenCV)
_TRUNCATED_SIGNS = ("truncated", "end of file", "premature end", "unexpected end", "not enough data",
                    "buffer is not large enough", "incomplete", "eof", "ran out of data")


def damaged(path: Any, fmt: str, exc: BaseException) -> CorruptFileError:
    """A CorruptFileError in plain words: the library's own text (``image file is truncated (13
    bytes not processed)``) stays in the exception chain and ``.detail``, not in the message."""
    text = f"{type(exc).__name__}: {exc}"
    low = text.lower()
    name = {"WEBP": "WebP"}.get(fmt, fmt)
    if isinstance(exc, EOFError) or any(sign in low for sign in _TRUNCATED_SIGNS):
        msg = (f"{_show(path)} is damaged or incomplete: the {name} data ends early (the file was "
               "probably cut off while it was copied or downloaded). Copy or download it again.")
    else:
        msg = (f"{_show(path)} is damaged or incomplete: its {name} data cannot be read. Try to "
               "open it in another program, or get the file again.")
    err = CorruptFileError(msg, path)
    err.detail = text  # type: ignore[attr-defined]
    return err


def _decode_16bit(data: bytes, fmt: str, path: Any) -> tuple[np.ndarray, bool]:
    """(array, orientation already applied)."""
    arr = decode_png_array(data) if fmt == "PNG" else None
    oriented = False
    if fmt == "TIFF":
        arr = decode_png_array(data)  # cv2.imdecode reads TIFF too (libtiff, every compression)
        oriented = arr is not None and _cv2_applies_tiff_orientation()
        if arr is None:
            try:
                import tifffile

                arr = tifffile.imread(io.BytesIO(data), key=0)
            except Exception as exc:  # noqa: BLE001
                raise damaged(path, "TIFF", exc) from exc
    if arr is None:
        raise damaged(path, fmt, ValueError("the data could not be decoded"))
    if arr.dtype.kind == "f":
        arr = _float_to_u16(arr)
    elif arr.dtype == np.uint32 or arr.dtype == np.int32:
        arr = (np.clip(arr, 0, None).astype(np.uint64) >> 16).astype(np.uint16)
    elif arr.dtype == np.int16:
        arr = (np.clip(arr, 0, None).astype(np.uint16) << 1)
    elif arr.dtype == np.uint8:
        arr = arr.astype(np.uint16) * 257
    return arr.astype(np.uint16, copy=False), oriented


def _pillow_to_array(im: Image.Image, fmt: str, icc: bytes | None, notes: list[str],
                     ) -> tuple[np.ndarray, bool, bytes | None]:
    """Pillow image (any mode) -> RGB or RGBA uint8 array, has_alpha, icc to keep."""
    mode = im.mode
    if mode == "CMYK":
        converted = None
        if icc:
            try:
                src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                dst = ImageCms.createProfile("sRGB")
                converted = ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
                icc = ImageCms.ImageCmsProfile(dst).tobytes()
                notes.append("converted from CMYK to sRGB through the embedded ICC profile")
            except (ImageCms.PyCMSError, OSError, ValueError) as exc:
                notes.append(f"the CMYK ICC profile could not be used ({exc}); naive conversion")
        if converted is None:
            converted = im.convert("RGB")
            icc = None
            if not notes:
                notes.append("converted from CMYK to RGB (no ICC profile: approximate colours)")
        return np.asarray(converted), False, icc
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
        notes.append("palette image expanded to RGB" + ("A" if has_alpha else ""))
        return np.asarray(im), has_alpha, icc
    if mode in ("RGBA", "LA", "La", "RGBa"):
        return np.asarray(im.convert("RGBA")), True, icc
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        arr = np.asarray(im)
        arr = (_float_to_u16(arr) if arr.dtype.kind == "f"
               else np.clip(arr, 0, 65535).astype(np.uint16))
        return arr, False, icc
    if mode == "RGB":
        return np.asarray(im), False, icc
    if mode == "1":
        notes.append("1-bit image expanded to 8-bit")
    return np.asarray(im.convert("RGB")), False, icc


def decode_image(data: bytes, path: str | os.PathLike[str] | None = None, *, allow_huge: bool = False,
                 max_pixels: int | None = None) -> DecodedImage:
    """Decode image file content (the format is sniffed, the extension of ``path`` is not used)."""
    if not data:
        raise CorruptFileError(f"{_show(path)} is empty (0 bytes): it is not an image.", path)
    fmt = sniff_format(data)
    if fmt == "ORA":
        raise UnsupportedFormatError(f"{_show(path)} is an OpenRaster project, not a flat image: "
                                     "open it as a project.", path)
    if fmt not in READ_FORMATS:
        raise UnsupportedFormatError(
            f"{_show(path)} is not in a format GAN Studio can open ({openable_formats_text()}).", path)
    header = png_header(data) if fmt == "PNG" else None
    if header is not None:  # size check before Pillow parses anything else
        check_pixel_limit(header[0], header[1], path, allow_huge=allow_huge, max_pixels=max_pixels)
    try:
        with _no_pillow_bomb_check():
            im = Image.open(io.BytesIO(data))
            width, height = im.size
    except _DECODE_ERRORS as exc:
        if fmt == "TIFF":  # e.g. float RGB (HDR exports): Pillow has no mode for it
            return _decode_tiff_fallback(data, path, allow_huge, max_pixels, exc)
        raise damaged(path, fmt, exc) from exc
    check_pixel_limit(width, height, path, allow_huge=allow_huge, max_pixels=max_pixels)

    notes: list[str] = []
    info = im.info
    icc = info.get("icc_profile") or None
    dpi = info.get("dpi")
    dpi = (float(dpi[0]), float(dpi[1])) if dpi and len(dpi) == 2 and dpi[0] and dpi[1] else None
    if fmt == "TIFF":
        exif = _exif_from_tiff(im)
    else:
        exif = normalize_exif(info.get("exif"))
        if exif is None and fmt != "BMP":
            with contextlib.suppress(Exception):
                e = im.getexif()
                exif = normalize_exif(e.tobytes()) if len(e) else None
    orientation = exif_orientation(exif)

    sixteen = pre_oriented = False
    if fmt == "PNG" and header is not None:
        sixteen = header[2] == 16
    elif fmt == "TIFF":
        bits = im.tag_v2.get(258, 8) if hasattr(im, "tag_v2") else 8
        bits = bits if isinstance(bits, tuple) else (bits,)
        sformat = im.tag_v2.get(339, 1) if hasattr(im, "tag_v2") else 1
        sformat = sformat[0] if isinstance(sformat, tuple) else sformat
        sixteen = max(int(b) for b in bits) > 8 and im.mode != "CMYK"
        sixteen = sixteen or sformat == 3

    try:
        if sixteen:
            arr, pre_oriented = _decode_16bit(data, fmt, path)
            has_alpha = arr.ndim == 3 and arr.shape[2] in (2, 4)
        else:
            if width * height > (Image.MAX_IMAGE_PIXELS or width * height):
                with _no_pillow_bomb_check():  # some plugins check again while loading
                    im.load()
            else:
                im.load()
            arr, has_alpha, icc = _pillow_to_array(im, fmt, icc, notes)
    except ImageFileError:
        raise
    except _DECODE_ERRORS as exc:
        raise damaged(path, fmt, exc) from exc
    except MemoryError as exc:
        raise ImageFileError(f"Not enough memory to open {_show(path)} ({width}x{height}).",
                             path) from exc
    rgba, real_alpha = _to_rgba(arr)
    has_alpha = has_alpha or real_alpha
    if orientation != 1:
        # Pillow's TIFF loader already applies the orientation tag (ImageOps.exif_transpose)
        # and so does OpenCV's for 16-bit TIFF (probed: see _cv2_applies_tiff_orientation)
        if not (fmt == "TIFF" and (not sixteen or pre_oriented)):
            rgba = _apply_orientation(rgba, orientation)
        exif = exif_with_orientation(exif, 1)
        notes.append(f"EXIF orientation {orientation} applied")
    return DecodedImage(rgba, fmt, icc, exif, has_alpha, dpi, orientation, notes)


def _decode_tiff_fallback(data: bytes, path: Any, allow_huge: bool, max_pixels: int | None,
                          pillow_error: Exception) -> DecodedImage:
    """TIFFs Pillow cannot open (float / 32-bit RGB ...): header via tifffile, pixels via OpenCV
    or tifffile, kept as 16-bit."""
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tf:
            page = tf.pages[0]
            height, width = int(page.imagelength), int(page.imagewidth)
            icc = page.tags[34675].value if 34675 in page.tags else None
            orientation = int(page.tags[274].value) if 274 in page.tags else 1
    except Exception as exc:  # noqa: BLE001 - any parse failure means a damaged file
        raise damaged(path, "TIFF", exc) from exc
    check_pixel_limit(width, height, path, allow_huge=allow_huge, max_pixels=max_pixels)
    arr, pre_oriented = _decode_16bit(data, "TIFF", path)
    rgba, has_alpha = _to_rgba(arr)
    notes = ["high-bit-depth TIFF converted to 16-bit"]
    if orientation != 1 and not pre_oriented and 1 <= orientation <= 8:
        rgba = _apply_orientation(rgba, orientation)
        notes.append(f"EXIF orientation {orientation} applied")
    return DecodedImage(rgba, "TIFF", bytes(icc) if icc else None, None, has_alpha, None,
                        orientation, notes)


def _read_file(path: str | os.PathLike[str]) -> bytes:
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError as exc:
        raise ImageFileError(f"{_show(p)} does not exist (looked in {p.parent}).", p) from exc
    except IsADirectoryError as exc:
        raise ImageFileError(f"{_show(p)} is a folder, not an image file.", p) from exc
    except PermissionError as exc:
        raise ImageFileError(f"{_show(p)} cannot be read: permission denied.", p) from exc
    except OSError as exc:
        raise ImageFileError(f"{_show(p)} cannot be read: {exc.strerror or exc}.", p) from exc


def read_image(path: str | os.PathLike[str], *, allow_huge: bool = False,
               max_pixels: int | None = None) -> DecodedImage:
    """Read and decode a file (see :func:`decode_image`)."""
    return decode_image(_read_file(path), path, allow_huge=allow_huge, max_pixels=max_pixels)


def read_image_array(path: str | os.PathLike[str], *, allow_huge: bool = False,
                     max_pixels: int | None = None,
                     ) -> tuple[np.ndarray, bytes | None, bytes | None]:
    """(pixels, icc_profile, exif) without a Document, for batch use.

    pixels: HxWx3 RGB when the image has no alpha channel, else HxWx4 straight RGBA; uint8, or
    uint16 for 16-bit sources. Orientation applied; EXIF orientation reset to 1.
    """
    dec = read_image(path, allow_huge=allow_huge, max_pixels=max_pixels)
    pixels = dec.pixels if dec.has_alpha else np.ascontiguousarray(dec.pixels[:, :, :3])
    return pixels, dec.icc_profile, dec.exif
