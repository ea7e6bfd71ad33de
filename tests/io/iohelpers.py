"""Helpers for the file-format tests (imported by the tests in this folder)."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

from PIL import Image


def make_exif(orientation: int | None = None, make: str = "GANStudioCam") -> bytes:
    exif = Image.Exif()
    exif[0x010F] = make                                   # Make
    exif[0x0110] = "Model 1"                              # Model
    if orientation is not None:
        exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"  # DateTimeOriginal
    return exif.tobytes()


def exif_dict(exif: bytes) -> tuple[dict, dict]:
    e = Image.Exif()
    e.load(exif)
    return dict(e), dict(e.get_ifd(0x8769))


def no_temp_files(folder: Path) -> bool:
    return not [n for n in os.listdir(folder) if n.startswith(".ganstudio-")]


def png_chunk(ctype: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(
        ">I", zlib.crc32(ctype + payload) & 0xFFFFFFFF)


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height RGB pixels (one small IDAT)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b""))
