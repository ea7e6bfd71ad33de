"""The frozen copy of a snapshotted array (core.snapshot._Frozen.copy): bands without preserved
tiles are copied whole, bands with some take those tiles from the saved copies; any rect."""

from __future__ import annotations

import numpy as np

from ganstudio.core.geometry import Rect
from ganstudio.core.snapshot import _Frozen


def test_copy_mixes_live_and_preserved_tiles_exactly():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (700, 900, 4), dtype=np.uint8)
    frozen_view = a.copy()                      # what the snapshot must return
    f = _Frozen(a)
    f.preserve(Rect(300, 260, 40, 30))          # tile (1, 1) saved, then overwritten live
    f.preserve(Rect(600, 520, 10, 10))          # tile (2, 2)
    a[256:512, 256:512] = 7
    a[512:700, 512:768] = 9
    assert np.array_equal(f.copy(), frozen_view)
    for r in (Rect(0, 0, 900, 700), Rect(123, 200, 500, 333), Rect(890, 690, 50, 50),
              Rect(256, 256, 256, 256), Rect(0, 600, 900, 100)):
        c = r.intersect(Rect(0, 0, 900, 700))
        assert np.array_equal(f.copy(r), frozen_view[c.slices()])
    assert f.copy(Rect(1000, 1000, 5, 5)).size == 0
