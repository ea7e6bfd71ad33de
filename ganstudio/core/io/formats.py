"""Image formats: detection from the content, extensions, the decompression-bomb guard."""

from __future__ import annotations

import contextlib
import os
import struct
import threading
import warnings
from pathlib import Path

import cv2
from PIL import Image, UnidentifiedImageError

from .errors import CorruptFileError, ImageTooLargeError, UnsupportedFormatError, _show

#: Decompression-bomb guard: images with more pixels are refused unless ``allow_huge=True``.
MAX_PIXELS = 256_000_000

READ_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP")
WRITE_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP")
EXTENSIONS = {
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG",
    ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP", ".dib": "BMP",
}
#: every format GAN Studio opens: (name, display name, main extension). The flat images above plus
#: the OpenRaster project; messages that list formats are built from this (never by hand).
OPEN_FORMATS = (("PNG", "PNG", ".png"), ("JPEG", "JPEG", ".jpg"), ("WEBP", "WebP", ".webp"),
                ("TIFF", "TIFF", ".tif"), ("BMP", "BMP", ".bmp"),
                ("ORA", "OpenRaster project", ".ora"))


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def openable_formats_text() -> str:
    """"PNG (.png), JPEG (.jpg), WebP (.webp), TIFF (.tif), BMP (.bmp) or OpenRaster project (.ora)"."""
    return _listing([f"{label} ({ext})" for _n, label, ext in OPEN_FORMATS])


def exportable_extensions_text() -> str:
    """".png, .jpg, .webp, .tif or .bmp" (the flat formats export_image writes)."""
    return _listing([ext for name, _l, ext in OPEN_FORMATS if name in WRITE_FORMATS])
_pillow_lock = threading.Lock()


def sniff_format(data: bytes) -> str | None:
    """The format from the first bytes: PNG, JPEG, WEBP, TIFF, BMP, ORA (zip project) or None."""
    head = data[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[:2] == b"BM" and len(head) >= 18:
        return "BMP"
    if head.startswith(b"PK\x03\x04"):
        if b"mimetypeimage/openraster" in head:
            return "ORA"
        return "ZIP"
    return None


def check_pixel_limit(width: int, height: int, path: str | os.PathLike[str] | None, *,
                      allow_huge: bool = False, max_pixels: int | None = None) -> None:
    limit = MAX_PIXELS if max_pixels is None else int(max_pixels)
    if width <= 0 or height <= 0:
        raise CorruptFileError(f"{_show(path)} declares an invalid size {width}x{height}.", path)
    if not allow_huge and width * height > limit:
        raise ImageTooLargeError(path, width, height, limit)



@contextlib.contextmanager
def _no_pillow_bomb_check():
    """Pillow's own guard (~89 MP warning, ~179 MP error) is replaced by ours while we open a header."""
    with _pillow_lock:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error, EOFError,
                  IndexError, KeyError, TypeError, Image.DecompressionBombError, cv2.error)



def format_for_path(path: str | os.PathLike[str], format: str | None = None) -> str:
    if format:
        fmt = format.upper().lstrip(".")
        fmt = {"JPG": "JPEG", "TIF": "TIFF"}.get(fmt, fmt)
    else:
        fmt = EXTENSIONS.get(Path(path).suffix.lower(), "")
    if fmt not in WRITE_FORMATS:
        raise UnsupportedFormatError(
            f"Cannot export {_show(path)}: unknown image format "
            f"“{format or Path(path).suffix or '(no extension)'}” (use {exportable_extensions_text()}).",
            path)
    return fmt
