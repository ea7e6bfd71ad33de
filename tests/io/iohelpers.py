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


def _s15(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def cmyk_icc_profile(swap_rb: bool = True) -> bytes:
    """A small but valid ICC v2 CMYK printer profile (A2B0 lut16, 2-point grid, Lab PCS).

    Colours follow the naive CMYK -> RGB formula, with red and blue swapped when ``swap_rb`` so a
    test can tell "converted through the profile" from "converted naively".
    """
    import itertools

    import numpy as np
    from PIL import ImageCms

    corners = list(itertools.product([0, 1], repeat=4))  # C M Y K; the first input varies slowest
    rgb = []
    for c, m, y, k in corners:
        r, g, b = (round(255 * (1 - v) * (1 - k)) for v in (c, m, y))
        rgb.append([b, g, r] if swap_rb else [r, g, b])
    to_lab = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"),
                                     "RGB", "LAB")
    lab = np.asarray(ImageCms.applyTransform(
        Image.fromarray(np.array(rgb, np.uint8).reshape(1, -1, 3)), to_lab)).reshape(-1, 3).astype(int)
    clut = b""
    for l8, a8, b8 in lab:
        a, b = (v - 256 if v > 127 else v for v in (a8, b8))
        clut += struct.pack(">HHH", round(l8 * 100 / 255 * 652.8), (a + 128) * 256, (b + 128) * 256)
    identity = b"".join(_s15(1.0 if i == j else 0.0) for i in range(3) for j in range(3))
    a2b0 = (b"mft2" + b"\0" * 4 + bytes([4, 3, 2, 0]) + identity + struct.pack(">HH", 2, 2)
            + struct.pack(">HH", 0, 65535) * 4 + clut + struct.pack(">HH", 0, 65535) * 3)
    text = b"Test CMYK\0"
    desc = (b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * 8 + b"\0" * 3
            + b"\0" * 67)
    wtpt = b"XYZ " + b"\0" * 4 + _s15(0.9642) + _s15(1.0) + _s15(0.8249)
    cprt = b"text" + b"\0" * 4 + b"public domain\0"
    tags = [(b"desc", desc), (b"wtpt", wtpt), (b"cprt", cprt), (b"A2B0", a2b0)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for sig, body in tags:
        data += b"\0" * (-(offset + len(data)) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (struct.pack(">I", 128 + len(table) + len(data)) + b"lcms" + bytes([2, 0x10, 0, 0])
              + b"prtr" + b"CMYK" + b"Lab " + b"\0" * 12 + b"acsp" + b"APPL" + b"\0" * 24
              + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\0" * 48)
    assert len(header) == 128
    return header + table + data
