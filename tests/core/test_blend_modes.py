"""The blend modes added after the first ten, against values computed by hand from the W3C
"Compositing and Blending Level 1" formulas (section 10: color-dodge, color-burn, exclusion;
10.2 non-separable: Lum / ClipColor / SetLum / Sat / SetSat with luma 0.3, 0.59, 0.11)."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.core.blend import (NONSEPARABLE_FUNCTIONS, blend, blend_reference,
                                  blend_reference_rgb, clip_color, lum, sat, set_lum, set_sat)
from ganstudio.core.compositing import composite
from ganstudio.core.document import Document
from ganstudio.core.layers import BLEND_MODE_MENU, BlendMode, RasterLayer


@pytest.mark.parametrize("cb, cs, want", [
    (0.5, 0.5, 1.0),     # 0.5 / (1 - 0.5) = 1
    (0.2, 0.5, 0.4),     # 0.2 / 0.5
    (0.0, 0.9, 0.0),     # Cb == 0 -> 0
    (0.3, 1.0, 1.0),     # Cs == 1 -> 1
    (0.6, 0.5, 1.0),     # 1.2 clamped
    (0.0, 1.0, 0.0),     # Cb == 0 wins over Cs == 1
])
def test_color_dodge_by_hand(cb, cs, want) -> None:
    assert blend_reference("color-dodge", cb, cs) == pytest.approx(want)
    got = blend("color-dodge", np.array([cb], np.float32), np.array([cs], np.float32))
    assert got[0] == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("cb, cs, want", [
    (0.5, 0.5, 0.0),     # 1 - 0.5 / 0.5
    (0.8, 0.5, 0.6),     # 1 - 0.2 / 0.5
    (1.0, 0.0, 1.0),     # Cb == 1 -> 1 (wins over Cs == 0)
    (0.4, 0.0, 0.0),     # Cs == 0 -> 0
    (0.2, 0.5, 0.0),     # 1 - min(1, 1.6)
    (0.9, 1.0, 0.9),     # white source: no change
])
def test_color_burn_by_hand(cb, cs, want) -> None:
    assert blend_reference("color-burn", cb, cs) == pytest.approx(want)
    got = blend("color-burn", np.array([cb], np.float32), np.array([cs], np.float32))
    assert got[0] == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("cb, cs, want", [(0.5, 0.5, 0.5), (0.2, 0.6, 0.56), (1.0, 0.3, 0.7),
                                          (0.0, 0.3, 0.3)])
def test_exclusion_by_hand(cb, cs, want) -> None:
    assert blend_reference("exclusion", cb, cs) == pytest.approx(want)
    got = blend("exclusion", np.array([cb], np.float32), np.array([cs], np.float32))
    assert got[0] == pytest.approx(want, abs=1e-6)


def col(*v: float) -> np.ndarray:
    return np.array(v, np.float32).reshape(3, 1)


def test_lum_sat_setsat_clipcolor_by_hand() -> None:
    assert lum(col(1, 0, 0))[0] == pytest.approx(0.3)
    assert lum(col(0.2, 0.4, 0.6))[0] == pytest.approx(0.362)
    assert sat(col(0.2, 0.4, 0.6))[0] == pytest.approx(0.4)
    # SetSat: max -> s, min -> 0, mid scaled; a grey has no hue: all 0
    np.testing.assert_allclose(set_sat(col(0.2, 0.4, 0.6), np.float32([1.0]))[:, 0], [0, 0.5, 1])
    np.testing.assert_allclose(set_sat(col(0.3, 0.3, 0.3), np.float32([0.7]))[:, 0], [0, 0, 0])
    # ClipColor of (1.2, 0.2, 0.2) (L = 0.5, max 1.2): L + (C - L)(1 - L)/(max - L)
    np.testing.assert_allclose(clip_color(col(1.2, 0.2, 0.2))[:, 0], [1.0, 0.5 - 0.3 * 0.5 / 0.7,
                                                                       0.5 - 0.3 * 0.5 / 0.7],
                               atol=1e-6)
    # SetLum keeps the requested luminosity
    assert lum(set_lum(col(0.4, 0, 0), np.float32([0.362])))[0] == pytest.approx(0.362, abs=1e-6)


RED, GREY, BLUEISH = (1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.2, 0.4, 0.6)
K = 0.5 - 0.3 * 0.5 / 0.7   # 0.285714...: red brought to luminosity 0.5 then clipped


@pytest.mark.parametrize("mode, cb, cs, want", [
    # luminosity: the backdrop's hue + saturation with the source's luminosity
    ("luminosity", RED, GREY, (1.0, K, K)),
    # color: the source's hue + saturation with the backdrop's luminosity
    ("color", GREY, RED, (1.0, K, K)),
    # hue: SetLum(SetSat(red, Sat(Cb) = 0.4), Lum(Cb) = 0.362) = (0.4,0,0) + 0.242
    ("hue", BLUEISH, RED, (0.642, 0.242, 0.242)),
    # saturation of a grey source: no saturation left, luminosity of the backdrop
    ("saturation", BLUEISH, GREY, (0.362, 0.362, 0.362)),
    # saturation 1: SetSat(Cb, 1) = (0, .5, 1), lum 0.405 -> shifted by -0.043 -> clipped at 0
    ("saturation", BLUEISH, RED, (0.0, 0.362 + 0.095 * 0.362 / 0.405, 0.362 + 0.595 * 0.362 / 0.405)),
])
def test_non_separable_modes_by_hand(mode, cb, cs, want) -> None:
    assert blend_reference_rgb(mode, cb, cs) == pytest.approx(want, abs=1e-6)
    got = blend(mode, col(*cb), col(*cs))[:, 0]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_non_separable_vectorised_matches_scalar_reference(rng) -> None:
    cb = rng.random((3, 500)).astype(np.float32)
    cs = rng.random((3, 500)).astype(np.float32)
    cb[:, :20] = 0.5                       # greys (no saturation) in both
    cs[:, 20:40] = cs[0, 20:40]
    for mode in NONSEPARABLE_FUNCTIONS:
        got = blend(mode, cb.copy(), cs.copy())
        want = np.array([blend_reference_rgb(mode, tuple(cb[:, i]), tuple(cs[:, i]))
                         for i in range(cb.shape[1])]).T
        np.testing.assert_allclose(got, want, atol=1e-5, err_msg=str(mode))
        assert got.min() >= -1e-6 and got.max() <= 1 + 1e-6, mode


def px(*rgba: int) -> np.ndarray:
    return np.array(rgba, np.uint8).reshape(1, 1, 4)


def composite_two(bottom: np.ndarray, top: np.ndarray, mode: str, opacity: float = 1.0):
    doc = Document(1, 1)
    doc.add_layer(RasterLayer("b", bottom))
    doc.add_layer(RasterLayer("t", top, blend_mode=BlendMode(mode), opacity=opacity))
    return composite(doc)[0, 0].tolist()


def test_composited_document_pixels_by_hand() -> None:
    # 8-bit: 51 = 0.2, 102 = 0.4, 153 = 0.6
    assert composite_two(px(51, 102, 153, 255), px(255, 0, 0, 255), "hue") == \
        [round(0.642 * 255), round(0.242 * 255), round(0.242 * 255), 255]
    assert composite_two(px(255, 0, 0, 255), px(128, 128, 128, 255), "luminosity")[1] in (73, 74)
    assert composite_two(px(51, 204, 255, 255), px(128, 128, 128, 255), "color-dodge")[:3] == \
        [102, 255, 255]   # 0.2/0.498 -> 0.402; 0.8/0.498 > 1; Cb 1 -> 1
    assert composite_two(px(204, 51, 0, 255), px(128, 128, 128, 255), "color-burn")[:3] == [153, 0, 0]  # 1 - 0.2/0.502
    assert composite_two(px(51, 153, 255, 255), px(153, 153, 153, 255), "exclusion")[:3] == \
        [round((0.2 + 0.6 - 2 * 0.12) * 255), round((0.6 + 0.6 - 2 * 0.36) * 255), 102]
    # half opacity mixes B and the backdrop half and half: dodge white over 0.2 -> 1
    assert composite_two(px(51, 51, 51, 255), px(255, 255, 255, 255), "color-dodge", 0.5)[0] == 153
    # over a transparent backdrop every mode shows the source as it is (W3C: Cs' = Cs)
    for mode in ("color-dodge", "color-burn", "exclusion", "hue", "saturation", "color",
                 "luminosity"):
        assert composite_two(px(0, 0, 0, 0), px(10, 200, 30, 255), mode) == [10, 200, 30, 255]


def test_menu_lists_every_mode_once() -> None:
    assert sorted(BLEND_MODE_MENU, key=str) == sorted(BlendMode, key=str)
    assert len(set(BLEND_MODE_MENU)) == len(BlendMode) == 17
    assert BlendMode("color-dodge").label == "Color Dodge"
