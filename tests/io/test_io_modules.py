"""core/io is split into one-job modules; image_io keeps every old name (same objects)."""

from __future__ import annotations

import numpy as np

from ganstudio.core.io import decode, encode, exif, formats, image_io, tiff_write


def test_image_io_reexports_the_split_modules():
    assert image_io.decode_image is decode.decode_image and image_io.read_image is decode.read_image
    assert image_io.encode_image is encode.encode_image
    assert image_io.exif_orientation is exif.exif_orientation
    assert image_io.sniff_format is formats.sniff_format and image_io.MAX_PIXELS == formats.MAX_PIXELS
    assert image_io._encode_tiff_tifffile is tiff_write.encode_tiff
    for name in image_io.__all__:
        assert hasattr(image_io, name), name


def test_encode_decode_round_trip_through_the_modules():
    rng = np.random.default_rng(3)
    arr = rng.integers(0, 65536, (9, 7, 4), dtype=np.uint16)
    for fmt in ("PNG", "TIFF"):
        data = encode.encode_image(arr, fmt, keep_alpha=True)
        assert formats.sniff_format(data) == fmt
        dec = decode.decode_image(data)
        assert dec.bit_depth == 16 and np.array_equal(dec.pixels, arr)
    data = encode.encode_image(arr, "WEBP", lossless=True, keep_alpha=True)
    dec = decode.decode_image(data)
    assert dec.bit_depth == 8 and dec.pixels.dtype == np.uint8     # WebP is 8-bit: rounded down
    from ganstudio.core.pixels import to_8bit

    assert np.array_equal(dec.pixels, to_8bit(arr))
