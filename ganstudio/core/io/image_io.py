"""Open and export flat images: PNG, JPEG, WebP, TIFF, BMP.

Reading: the format is detected from the content (the extension does not matter); EXIF orientation is
applied to the pixels and reset to 1 in the kept EXIF; ICC profile and EXIF bytes are kept; alpha is
kept; 16-bit PNG / TIFF stay 16-bit (uint16, decoded with OpenCV since Pillow truncates 16-bit RGB);
CMYK is converted to RGB through its ICC profile when it has one; palette, grey, grey+alpha and 1-bit
images become RGB(A). A decompression-bomb guard refuses images over :data:`MAX_PIXELS` unless the
caller passes ``allow_huge=True``.

Conventions: EXIF bytes are kept as in a JPEG APP1 segment (``b"Exif\\0\\0"`` + TIFF structure);
pixels are straight-alpha RGBA.

Writing (:func:`export_image`) is atomic (see atomic.py).
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from .atomic import atomic_write
from .errors import (
    CorruptFileError,
    FileSaveError,
    ImageFileError,
    ImageTooLargeError,
    UnsupportedFormatError,
    _show,
    save_error,
)
from .pngchunks import decode_png_array, encode_png, png_header, strip_exif_header

if TYPE_CHECKING:
    from ..document import Document

#: Decompression-bomb guard: images with more pixels are refused unless ``allow_huge=True``.
MAX_PIXELS = 256_000_000

READ_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP")
WRITE_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP")
EXTENSIONS = {
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG",
    ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP", ".dib": "BMP",
}
ORIENTATION_TAG = 0x0112

_pillow_lock = threading.Lock()


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


# ---------------------------------------------------------------------------------------------
# format detection and guards
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# EXIF helpers
# ---------------------------------------------------------------------------------------------
def normalize_exif(exif: bytes | None) -> bytes | None:
    """EXIF bytes in the JPEG APP1 convention (b"Exif\\0\\0" + TIFF structure), or None."""
    if not exif:
        return None
    exif = bytes(exif)
    if exif.startswith(b"Exif\x00\x00"):
        return exif
    if exif[:4] in (b"II*\x00", b"MM\x00*"):
        return b"Exif\x00\x00" + exif
    return None


def exif_orientation(exif: bytes | None) -> int:
    """The orientation tag (1..8) of EXIF bytes, 1 when absent or unreadable."""
    pos = _find_orientation_entry(exif)
    if pos is None:
        return 1
    tiff, offset, endian = pos
    value = struct.unpack(endian + "H", tiff[offset + 8:offset + 10])[0]
    return value if 1 <= value <= 8 else 1


def exif_with_orientation(exif: bytes | None, orientation: int = 1) -> bytes | None:
    """Patch the orientation tag in place (everything else byte-identical, maker notes intact)."""
    exif = normalize_exif(exif)
    pos = _find_orientation_entry(exif)
    if exif is None or pos is None:
        return exif
    tiff, offset, endian = pos
    patched = bytearray(tiff)
    patched[offset + 8:offset + 10] = struct.pack(endian + "H", orientation)
    return b"Exif\x00\x00" + bytes(patched)


def _find_orientation_entry(exif: bytes | None) -> tuple[bytes, int, str] | None:
    exif = normalize_exif(exif)
    if exif is None:
        return None
    tiff = exif[6:]
    try:
        endian = "<" if tiff[:2] == b"II" else ">"
        (ifd,) = struct.unpack(endian + "I", tiff[4:8])
        (count,) = struct.unpack(endian + "H", tiff[ifd:ifd + 2])
        for i in range(count):
            entry = ifd + 2 + 12 * i
            tag, typ, n = struct.unpack(endian + "HHI", tiff[entry:entry + 8])
            if tag == ORIENTATION_TAG and typ == 3 and n == 1:
                return tiff, entry, endian
    except struct.error:
        return None
    return None


# TIFF files keep their EXIF-like tags in IFD0 next to structural ones: keep only the descriptive ones.
_TIFF_EXIF_TAGS = {270, 271, 272, 274, 282, 283, 296, 305, 306, 315, 33432, 0x8769, 0x8825}


def _exif_from_tiff(im: Image.Image) -> bytes | None:
    try:
        src = im.getexif()
        exif = Image.Exif()
        for tag in _TIFF_EXIF_TAGS:
            if tag in src:
                value = src.get_ifd(tag) if tag in (0x8769, 0x8825) else src[tag]
                if value not in ({}, None):
                    exif[tag] = value
        return normalize_exif(exif.tobytes()) if len(exif) else None
    except Exception:  # noqa: BLE001 - metadata is best effort, pixels matter
        return None


# ---------------------------------------------------------------------------------------------
# decoding
# ---------------------------------------------------------------------------------------------
def _apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate / flip so that the pixels are upright (EXIF orientation 1..8)."""
    if orientation == 2:
        arr = arr[:, ::-1]
    elif orientation == 3:
        arr = arr[::-1, ::-1]
    elif orientation == 4:
        arr = arr[::-1]
    elif orientation == 5:
        arr = arr.swapaxes(0, 1)
    elif orientation == 6:
        arr = np.rot90(arr, -1)
    elif orientation == 7:
        arr = arr.swapaxes(0, 1)[::-1, ::-1]
    elif orientation == 8:
        arr = np.rot90(arr, 1)
    return np.ascontiguousarray(arr)


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
                raise CorruptFileError(f"{_show(path)} is damaged or not a valid TIFF file ({exc}).",
                                       path) from exc
    if arr is None:
        raise CorruptFileError(f"{_show(path)} is damaged or truncated: its {fmt} data could not be "
                               "decoded.", path)
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
            f"{_show(path)} is not in a format GAN Studio can open (PNG, JPEG, WebP, TIFF, BMP).", path)
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
        raise CorruptFileError(f"{_show(path)} is damaged or not a valid {fmt} file ({exc}).",
                               path) from exc
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
        raise CorruptFileError(f"{_show(path)} is damaged or truncated ({exc}).", path) from exc
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
        raise CorruptFileError(f"{_show(path)} is damaged or not a valid TIFF file "
                               f"({pillow_error}; {exc}).", path) from exc
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


def open_image(path: str | os.PathLike[str], *, allow_huge: bool = False,
               max_pixels: int | None = None) -> Document:
    """Open a flat image as a Document with one RasterLayer named after the file.

    The document is unmodified, has an empty history, ``path`` set to the file, ``source_format``
    set ("PNG", ...), ``icc_profile`` / ``exif`` kept, and ``metadata`` with ``bit_depth``,
    ``has_alpha``, ``dpi`` (if known) and ``import_notes`` (what was converted).
    """
    from ..document import Document
    from ..layers import RasterLayer

    p = Path(path)
    dec = read_image(p, allow_huge=allow_huge, max_pixels=max_pixels)
    h, w = dec.pixels.shape[:2]
    doc = Document(w, h, name=p.name)
    doc.add_layer(RasterLayer(p.stem or p.name, dec.pixels))
    doc.icc_profile = dec.icc_profile
    doc.exif = dec.exif
    doc.source_format = dec.format
    doc.metadata.update(bit_depth=dec.bit_depth, has_alpha=dec.has_alpha, import_notes=list(dec.notes))
    if dec.dpi:
        doc.metadata["dpi"] = dec.dpi
    doc.set_path(p)
    doc.history.clear()
    doc.mark_modified(False)
    return doc


# ---------------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------------
def format_for_path(path: str | os.PathLike[str], format: str | None = None) -> str:
    if format:
        fmt = format.upper().lstrip(".")
        fmt = {"JPG": "JPEG", "TIF": "TIFF"}.get(fmt, fmt)
    else:
        fmt = EXTENSIONS.get(Path(path).suffix.lower(), "")
    if fmt not in WRITE_FORMATS:
        raise UnsupportedFormatError(
            f"Cannot export {_show(path)}: unknown image format "
            f"“{format or Path(path).suffix or '(no extension)'}” (use .png, .jpg, .webp, .tif or .bmp).",
            path)
    return fmt


def to_8bit(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    return ((arr.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _flatten_on(arr: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """Straight RGBA -> RGB composited over an opaque background colour (same dtype)."""
    full = float(np.iinfo(arr.dtype).max)
    a = arr[:, :, 3:4].astype(np.float32) / full
    bg = np.asarray(background, np.float32) * (full / 255.0)
    rgb = arr[:, :, :3].astype(np.float32) * a + bg * (1.0 - a)
    return np.clip(np.rint(rgb), 0, full).astype(arr.dtype)


def _source_pixels(source: Any, flatten: bool) -> tuple[np.ndarray, bytes | None, bytes | None, Any]:
    """(HxWx{3,4} array, doc icc, doc exif, dpi) from a Document or an array."""
    if isinstance(source, np.ndarray):
        arr = source
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.dtype not in (np.uint8, np.uint16):
            raise ValueError(f"export_image needs an HxW, HxWx3 or HxWx4 uint8/uint16 array, "
                             f"got {arr.shape} {arr.dtype}")
        return arr, None, None, None
    doc = source
    sixteen = any(getattr(layer, "bit_depth", 8) == 16 for layer in doc.layers)
    from ..compositing import composite

    layer = doc.active_layer
    if flatten or layer is None:
        arr = composite(doc, dtype=np.uint16 if sixteen else np.uint8)
    else:  # the active layer alone, its mask applied to its alpha
        arr = np.array(layer.rgba())
        mask = layer.effective_mask
        if mask is not None:
            arr[:, :, 3] = (arr[:, :, 3].astype(np.uint32) * mask // 255).astype(arr.dtype)
    return arr, doc.icc_profile, doc.exif, doc.metadata.get("dpi")


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
            return _encode_tiff_tifffile(arr, comp, icc, exif, dpi, notes)

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


_TIFF_ASCII_TAGS = (271, 272, 315, 33432)  # Make, Model, Artist, Copyright
_SUB_IFDS = {0x8769: 0x8768, 0x8825: 0x8824}  # Exif / GPS pointer -> placeholder tag written first


def _encode_tiff_tifffile(arr: np.ndarray, comp: str | None, icc: bytes | None, exif: bytes | None,
                          dpi: Any, notes: list[str]) -> bytes:
    """TIFF (8 or 16 bit) with ICC and EXIF: IFD0 tags via tifffile, Exif/GPS sub-IFDs appended."""
    import tifffile

    extratags: list[tuple] = []
    kwargs: dict[str, Any] = dict(photometric="rgb", compression=comp, metadata=None, software=False)
    if arr.shape[2] == 4:
        kwargs["extrasamples"] = (2,)  # unassociated (straight) alpha
    src = None
    if exif:
        try:
            src = Image.Exif()
            src.load(exif)
        except Exception:  # noqa: BLE001
            src = None
            notes.append("the EXIF data is unreadable: not written")
    if src is not None:
        for tag in _TIFF_ASCII_TAGS:
            if isinstance(src.get(tag), str):
                extratags.append((tag, "s", 0, src[tag], True))
        if isinstance(src.get(270), str):
            kwargs["description"] = src[270]
        if isinstance(src.get(305), str):
            kwargs["software"] = src[305]
        if isinstance(src.get(306), str):
            kwargs["datetime"] = src[306]
        orientation = src.get(274)
        if isinstance(orientation, int) and 1 <= orientation <= 8:
            extratags.append((274, "H", 1, orientation, True))
        for pointer, placeholder in _SUB_IFDS.items():
            if pointer in src and src.get_ifd(pointer):
                extratags.append((placeholder, "I", 1, 0, True))
    if icc:
        kwargs["iccprofile"] = icc
    if dpi:
        kwargs["resolution"] = (float(dpi[0]), float(dpi[1]))
        kwargs["resolutionunit"] = "INCH"
    out = io.BytesIO()
    tifffile.imwrite(out, arr, extratags=extratags, **kwargs)
    data = out.getvalue()
    if src is not None:
        for pointer, placeholder in _SUB_IFDS.items():
            if pointer in src and src.get_ifd(pointer):
                data = _append_sub_ifd(data, pointer, placeholder, dict(src.get_ifd(pointer)), notes)
    return data


def _append_sub_ifd(data: bytes, pointer: int, placeholder: int, tags: dict, notes: list[str]) -> bytes:
    """Append an EXIF sub-IFD at the end of a classic TIFF and turn the placeholder entry into its
    pointer tag (the placeholder code sorts right before the real one, so IFD order stays valid)."""
    try:
        import tifffile
        from PIL import TiffImagePlugin

        with tifffile.TiffFile(io.BytesIO(data)) as tf:
            tag = tf.pages[0].tags[placeholder]
            entry_pos = tag.offset
            little = tf.byteorder == "<"
        endian = "<" if little else ">"
        ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II" if little else b"MM")
        for k, v in tags.items():
            ifd[k] = v
        pad = len(data) & 1
        start = len(data) + pad
        blob = ifd.tobytes(start)
        patched = bytearray(data + b"\x00" * pad + blob)
        patched[entry_pos:entry_pos + 2] = struct.pack(endian + "H", pointer)
        patched[entry_pos + 2:entry_pos + 4] = struct.pack(endian + "H", 4)  # LONG (IFD offset)
        patched[entry_pos + 8:entry_pos + 12] = struct.pack(endian + "I", start)
        return bytes(patched)
    except Exception as exc:  # noqa: BLE001 - EXIF is best effort
        notes.append(f"part of the EXIF data could not be written to the TIFF ({exc})")
        return data


_UNSET: Any = object()


def export_image(source: Document | np.ndarray, path: str | os.PathLike[str], *,
                 format: str | None = None, quality: int = 92, lossless: bool = False,
                 compression: Any = None, icc: bytes | None = _UNSET, exif: bytes | None = _UNSET,
                 flatten: bool = True, subsampling: str | int | None = None,
                 progressive: bool = False, background: tuple[int, int, int] = (255, 255, 255),
                 keep_alpha: bool | None = None) -> list[str]:
    """Write a Document (flattened with core.compositing.composite) or an array to an image file.

    - format: "PNG" | "JPEG" | "WEBP" | "TIFF" | "BMP"; default from the extension.
    - quality (JPEG/WebP 1..100), lossless (WebP), compression (PNG: zlib level 0..9, default 6;
      TIFF: "deflate" (default) | "lzw" | "packbits" | "jpeg" | "none"), subsampling / progressive
      (JPEG: "4:4:4", "4:2:2", "4:2:0").
    - icc / exif: default the document's (None for arrays); pass None to write none.
    - alpha is written when some pixel is not opaque (``keep_alpha`` forces it on / off); JPEG and
      ``keep_alpha=False`` flatten on ``background``.
    - flatten=False exports the active layer alone (its mask applied) instead of the composite.
    16-bit documents stay 16-bit in PNG and TIFF. The write is atomic.
    Returns notes on what had to change (e.g. "16-bit pixels reduced to 8-bit").
    Raises UnsupportedFormatError, FileSaveError (disk full, permission denied: old file kept).
    """
    fmt = format_for_path(path, format)
    arr, doc_icc, doc_exif, dpi = _source_pixels(source, flatten)
    icc = doc_icc if icc is _UNSET else icc
    exif = doc_exif if exif is _UNSET else exif
    notes: list[str] = []
    data = encode_image(arr, fmt, quality=quality, lossless=lossless, compression=compression,
                        icc=icc, exif=exif, dpi=dpi, subsampling=subsampling, progressive=progressive,
                        background=background, keep_alpha=keep_alpha, notes=notes)
    try:
        with atomic_write(path) as f:
            f.write(data)
    except OSError as exc:
        raise save_error(path, exc) from exc
    return notes


__all__ = [
    "MAX_PIXELS", "READ_FORMATS", "WRITE_FORMATS", "EXTENSIONS", "DecodedImage", "sniff_format",
    "check_pixel_limit", "decode_image", "read_image", "read_image_array", "open_image",
    "export_image", "encode_image", "format_for_path", "normalize_exif", "exif_orientation",
    "exif_with_orientation", "to_8bit", "FileSaveError",
]
