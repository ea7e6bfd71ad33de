"""Fixtures for the file-format tests: tiny images with known content, an sRGB ICC profile."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import ImageCms


@pytest.fixture(scope="session")
def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.fixture
def rgba8(rng: np.random.Generator) -> np.ndarray:
    a = rng.integers(0, 256, (23, 37, 4), dtype=np.uint8)
    a[0, 0, 3] = 0
    a[1, 1, 3] = 255
    return a


@pytest.fixture
def rgba16(rng: np.random.Generator) -> np.ndarray:
    a = rng.integers(0, 65536, (19, 29, 4), dtype=np.uint16)
    a[0, 0, 3] = 0
    return a
