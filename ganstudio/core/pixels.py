"""Pixel depth helpers, written once: the bit depth of a document, 16 <-> 8 bit conversions.

* A document is 16-bit when any of its layers is (``RasterLayer.bit_depth``): composites, exports
  and projects of it are uint16, otherwise uint8.
* ``to_8bit``: uint16 -> uint8 rounded to nearest (``(v * 255 + 32767) // 65535``), the exact
  inverse of ``to_16bit`` (``v * 257``) for every 8-bit value. uint8 passes through unchanged.
numpy only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["layers_bit_depth", "document_bit_depth", "document_dtype", "dtype_for_bits", "to_8bit",
           "to_16bit", "to_dtype", "max_value"]


def layers_bit_depth(layers: Iterable[Any]) -> int:
    """16 when any layer is 16-bit (``layer.bit_depth == 16``), else 8."""
    return 16 if any(getattr(la, "bit_depth", 8) == 16 for la in layers) else 8


def document_bit_depth(doc: Any) -> int:
    """16 when any layer of ``doc`` is 16-bit, else 8."""
    return layers_bit_depth(doc.layers)


def dtype_for_bits(bits: int) -> type:
    if bits not in (8, 16):
        raise ValueError(f"bit depth must be 8 or 16, got {bits}")
    return np.uint16 if bits == 16 else np.uint8


def document_dtype(doc: Any) -> type:
    """np.uint16 for a 16-bit document, else np.uint8."""
    return dtype_for_bits(document_bit_depth(doc))


def max_value(dtype: Any) -> float:
    """255.0 for uint8, 65535.0 for uint16."""
    dt = np.dtype(dtype)
    if dt == np.uint8:
        return 255.0
    if dt == np.uint16:
        return 65535.0
    raise TypeError(f"unsupported pixel type {dt} (uint8 or uint16 expected)")


def to_8bit(arr: np.ndarray) -> np.ndarray:
    """uint16 -> uint8 (rounded to nearest); uint8 unchanged (same object)."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype != np.uint16:
        raise TypeError(f"to_8bit needs uint8 or uint16 pixels, got {arr.dtype}")
    return ((arr.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def to_16bit(arr: np.ndarray) -> np.ndarray:
    """uint8 -> uint16 (v * 257: 0 -> 0, 255 -> 65535); uint16 unchanged (same object)."""
    if arr.dtype == np.uint16:
        return arr
    if arr.dtype != np.uint8:
        raise TypeError(f"to_16bit needs uint8 or uint16 pixels, got {arr.dtype}")
    return arr.astype(np.uint16) * np.uint16(257)


def to_dtype(arr: np.ndarray, dtype: Any) -> np.ndarray:
    """``arr`` as uint8 or uint16 (``to_8bit`` / ``to_16bit``)."""
    return to_16bit(arr) if np.dtype(dtype) == np.uint16 else to_8bit(arr)
