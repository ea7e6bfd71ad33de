"""TIFF writing with tifffile (8 or 16 bit, ICC, straight alpha) plus EXIF: descriptive IFD0 tags
through tifffile, the Exif / GPS sub-IFDs appended after the image and the placeholder entry patched
into their pointer tag (classic TIFF byte patching)."""

from __future__ import annotations

import io
import struct
from typing import Any

import numpy as np
from PIL import Image


_TIFF_ASCII_TAGS = (271, 272, 315, 33432)  # Make, Model, Artist, Copyright
_SUB_IFDS = {0x8769: 0x8768, 0x8825: 0x8824}  # Exif / GPS pointer -> placeholder tag written first


def encode_tiff(arr: np.ndarray, comp: str | None, icc: bytes | None, exif: bytes | None,
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


_encode_tiff_tifffile = encode_tiff   # old name
