"""core.pixels: one helper for the document bit depth and for 16 <-> 8 bit conversion."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core.pixels import (
    document_bit_depth, document_dtype, dtype_for_bits, layers_bit_depth, max_value, to_8bit,
    to_16bit, to_dtype,
)


def test_round_trip_is_exact_for_every_8bit_value_and_rounds_to_nearest():
    v8 = np.arange(256, dtype=np.uint8)
    assert np.array_equal(to_8bit(to_16bit(v8)), v8)
    assert to_16bit(v8)[-1] == 65535 and to_16bit(v8)[1] == 257
    v16 = np.arange(65536, dtype=np.uint16)
    ref = np.clip(np.rint(v16.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)
    got = to_8bit(v16)
    assert np.abs(got.astype(int) - ref.astype(int)).max() == 0
    assert to_8bit(v8) is v8 and to_16bit(v16) is v16
    with pytest.raises(TypeError):
        to_8bit(np.zeros(3, np.float32))


def test_document_bit_depth():
    from ganstudio.core.document import Document
    from ganstudio.core.layers import RasterLayer

    doc = Document(4, 3)
    doc.add_layer(RasterLayer("a", np.zeros((3, 4, 4), np.uint8)))
    assert document_bit_depth(doc) == 8 and document_dtype(doc) is np.uint8
    doc.add_layer(RasterLayer("b", np.zeros((3, 4, 4), np.uint16)))
    assert document_bit_depth(doc) == 16 and document_dtype(doc) is np.uint16
    assert doc.new_raster_layer("c").pixels.dtype == np.uint16      # new layers follow the document
    assert layers_bit_depth([]) == 8 and dtype_for_bits(16) is np.uint16
    assert max_value(np.uint16) == 65535.0 and to_dtype(np.array([255], np.uint8), np.uint16)[0] == 65535
    with pytest.raises(ValueError):
        dtype_for_bits(12)
