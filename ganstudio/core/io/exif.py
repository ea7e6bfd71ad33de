"""EXIF bytes: the APP1 convention, the orientation tag (read, patched in place), TIFF IFD0 tags,
and upright pixels for an orientation. Metadata only; no decoding here."""

from __future__ import annotations

import struct

import numpy as np
from PIL import Image

ORIENTATION_TAG = 0x0112


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
