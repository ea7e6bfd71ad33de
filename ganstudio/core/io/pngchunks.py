"""Small PNG helpers: read the header, list chunks, encode any bit depth with ICC / EXIF / dpi.

Pillow cannot write 16-bit RGB(A) PNGs, so PNGs are encoded with OpenCV (fast, 8 and 16 bit) and the
metadata chunks (iCCP, eXIf, pHYs) are inserted after IHDR, each with its CRC.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

import cv2
import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_header(data: bytes) -> tuple[int, int, int, int] | None:
    """(width, height, bit_depth, colour_type) from the IHDR chunk, or None if not a PNG header."""
    if len(data) < 33 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height, depth, ctype = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, ctype


def iter_chunks(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """(type, start of data, length) for each chunk; stops quietly at truncated data."""
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        yield ctype, pos + 8, length
        pos += 12 + length
        if ctype == b"IEND":
            return


def make_chunk(ctype: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(ctype + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", crc)


def strip_exif_header(exif: bytes) -> bytes:
    """EXIF as stored in PNG eXIf / WebP EXIF / TIFF: the TIFF structure without b"Exif\\0\\0"."""
    return exif[6:] if exif.startswith(b"Exif\x00\x00") else exif


def insert_chunks(png: bytes, chunks: list[bytes]) -> bytes:
    """Insert already-built chunks right after IHDR (before any PLTE / IDAT)."""
    if not chunks:
        return png
    ihdr_end = len(PNG_SIGNATURE) + 12 + 13
    return png[:ihdr_end] + b"".join(chunks) + png[ihdr_end:]


def metadata_chunks(icc: bytes | None = None, exif: bytes | None = None,
                    dpi: tuple[float, float] | None = None) -> list[bytes]:
    chunks = []
    if icc:
        chunks.append(make_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc)))
    if dpi:
        ppm = [max(1, round(float(d) / 0.0254)) for d in dpi]
        chunks.append(make_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    if exif:
        chunks.append(make_chunk(b"eXIf", strip_exif_header(exif)))
    return chunks


def encode_png(array: np.ndarray, *, level: int = 6, icc: bytes | None = None,
               exif: bytes | None = None, dpi: tuple[float, float] | None = None,
               buffer: bool = False) -> bytes:
    """Encode an HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA) uint8/uint16 array losslessly.

    ``buffer=True``: when no chunk has to be inserted, return a memoryview of OpenCV's buffer
    instead of copying it into ``bytes`` (a 24 MP layer is tens of MB copied while holding the
    GIL, which stalls the GUI thread during background saves)."""
    array = np.asarray(array)
    if array.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG needs uint8 or uint16 pixels, got {array.dtype}")
    if array.ndim == 3:
        if array.shape[2] == 3:
            array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
        elif array.shape[2] == 4:
            array = cv2.cvtColor(array, cv2.COLOR_RGBA2BGRA)
        elif array.shape[2] == 1:
            array = array[:, :, 0]
        else:
            raise ValueError(f"cannot write {array.shape[2]} channels to PNG")
    level = int(np.clip(level, 0, 9))
    params = [cv2.IMWRITE_PNG_COMPRESSION, level]
    if level <= 3 and hasattr(cv2, "IMWRITE_PNG_FILTER"):
        # fast levels: the SUB filter alone is ~2x faster than libpng's adaptive choice, ~2% larger
        params += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(array), params)
    if not ok:
        raise ValueError("OpenCV could not encode the PNG")
    chunks = metadata_chunks(icc, exif, dpi)
    if buffer and not chunks:
        return memoryview(np.ascontiguousarray(buf).reshape(-1))  # type: ignore[return-value]
    return insert_chunks(buf.tobytes(), chunks)


def decode_png_array(data: bytes) -> np.ndarray | None:
    """Decode with OpenCV: HxW, HxWx3 (RGB) or HxWx4 (RGBA), uint8 or uint16; None on failure."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        return None
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)
    return arr
