"""Open and export flat images: PNG, JPEG, WebP, TIFF, BMP (the public entry points).

Reading: the format is detected from the content (the extension does not matter); EXIF orientation is
applied to the pixels and reset to 1 in the kept EXIF; ICC profile and EXIF bytes are kept; alpha is
kept; 16-bit PNG / TIFF stay 16-bit (uint16, decoded with OpenCV since Pillow truncates 16-bit RGB);
CMYK is converted to RGB through its ICC profile when it has one; palette, grey, grey+alpha and 1-bit
images become RGB(A). A decompression-bomb guard refuses images over :data:`MAX_PIXELS` unless the
caller passes ``allow_huge=True``.

Conventions: EXIF bytes are kept as in a JPEG APP1 segment (``b"Exif\\0\\0"`` + TIFF structure);
pixels are straight-alpha RGBA.

Writing (:func:`export_image`) is atomic (see atomic.py).

One job per module; this one keeps the Document-level functions and re-exports the rest under
their old names: ``formats`` (sniffing, extensions, pixel limit), ``exif`` (EXIF bytes and
orientation), ``decode`` (decoders), ``encode`` (PNG / JPEG / WebP / BMP encoders), ``tiff_write``
(TIFF with EXIF sub-IFDs), ``core.pixels`` (bit depth, 16 <-> 8 bit).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..pixels import document_dtype, to_8bit
from .atomic import atomic_write
from .decode import (  # noqa: F401 - re-exported
    DecodedImage, _decode_16bit, _decode_tiff_fallback, _float_to_u16, _pillow_to_array, _read_file,
    _to_rgba, decode_image, read_image, read_image_array,
)
from .encode import _TIFF_COMPRESSION, _flatten_on, encode_image  # noqa: F401
from .errors import FileSaveError, save_error
from .exif import (  # noqa: F401
    ORIENTATION_TAG, _apply_orientation, _exif_from_tiff, _find_orientation_entry, exif_orientation,
    exif_with_orientation, normalize_exif,
)
from .formats import (  # noqa: F401
    _DECODE_ERRORS, EXTENSIONS, MAX_PIXELS, READ_FORMATS, WRITE_FORMATS, _no_pillow_bomb_check,
    check_pixel_limit, format_for_path, sniff_format,
)
from .tiff_write import _append_sub_ifd, _encode_tiff_tifffile, encode_tiff  # noqa: F401

if TYPE_CHECKING:
    from ..document import Document


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
    from ..compositing import composite

    layer = doc.active_layer
    if flatten or layer is None:
        arr = composite(doc, dtype=document_dtype(doc))
    else:  # the active layer alone, its mask applied to its alpha
        arr = np.array(layer.rgba())
        mask = layer.effective_mask
        if mask is not None:
            arr[:, :, 3] = (arr[:, :, 3].astype(np.uint32) * mask // 255).astype(arr.dtype)
    return arr, doc.icc_profile, doc.exif, doc.metadata.get("dpi")


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
