"""Face finding, FFHQ alignment, inverse warp + paste on the bundled real faces (no torch)."""

from __future__ import annotations

import numpy as np
import pytest

from ganstudio.tasks.base import TaskError
from ganstudio.tasks.faces.align import align_face, ffhq_quad, quad_matrix, resize_aligned
from ganstudio.tasks.faces.detect import detect_faces, to_rgb8
from ganstudio.tasks.faces.paste import composite, face_mask, paste_face

cv2 = pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def grace(samples_dir) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(samples_dir / "grace_hopper.jpg").convert("RGB"))


def _psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    d = a.astype(np.float64) - b.astype(np.float64)
    return float(10 * np.log10(peak ** 2 / max(np.mean(d ** 2), 1e-12)))


def test_detects_the_sample_faces_with_plausible_landmarks(astronaut, grace):
    for img, eyes in ((astronaut, ((203, 101), (246, 103))), (grace, ((218, 192), (306, 187)))):
        faces = detect_faces(img)
        assert len(faces) == 1
        f = faces[0]
        assert f.score > 0.6 and f.landmarks.shape == (468, 2)
        assert np.abs(f.points5[:2] - np.array(eyes)).max() < 6
        # eyes above the nose above the mouth; mouth corners left/right of the nose
        assert f.points5[0, 0] < f.points5[1, 0]
        assert max(f.points5[:2, 1]) < f.points5[2, 1] < min(f.points5[3:, 1])
        assert f.points5[3, 0] < f.points5[2, 0] < f.points5[4, 0]
        d = f.to_dict()
        assert set(d["landmarks"]) == {"eye_left", "eye_right", "nose", "mouth_left", "mouth_right"}


def test_no_false_face_on_photos_without_one(samples_dir):
    from PIL import Image

    for name in ("chelsea.png", "coffee.png"):
        img = np.asarray(Image.open(samples_dir / name).convert("RGB"))
        assert detect_faces(img) == [], name
    assert detect_faces(np.full((300, 400, 3), 128, np.uint8)) == []


def test_rotated_face_is_still_aligned(astronaut):
    f0 = detect_faces(astronaut)[0]
    h, w = astronaut.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 30, 1.0)
    rot = cv2.warpAffine(astronaut, m, (w, h))
    faces = detect_faces(rot)
    assert len(faces) == 1
    want = f0.points5 @ m[:, :2].T + m[:, 2]
    assert np.abs(faces[0].points5 - want).max() < 4.0
    # the FFHQ quad turns with the face
    q = ffhq_quad(faces[0].points5)
    ang = np.degrees(np.arctan2(*(q[3] - q[0])[::-1]))
    assert abs(ang + 30) < 3


def test_small_faces_in_a_large_group_photo(astronaut, rng):
    face = astronaut[40:240, 120:330]                          # ~110 px face in a 210 px crop
    small = cv2.resize(face, (120, 114), interpolation=cv2.INTER_AREA)   # face ~64 px
    canvas = rng.integers(90, 160, (1200, 1800, 3)).astype(np.uint8)
    canvas = cv2.GaussianBlur(canvas, (0, 0), 3)
    spots = [(100, 150), (1500, 900), (800, 500)]
    for x, y in spots:
        canvas[y:y + 114, x:x + 120] = small
    faces = detect_faces(canvas, min_face=48)
    assert len(faces) == 3
    centres = sorted((round(f.points5[:2, 0].mean()), round(f.points5[:2, 1].mean())) for f in faces)
    for (cx, cy), (x, y) in zip(centres, sorted(spots)):
        assert x < cx < x + 120 and y < cy < y + 114


def test_gray_16bit_and_rgba_inputs(astronaut):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    assert len(detect_faces(gray)) == 1
    img16 = astronaut.astype(np.uint16) * 257
    f16 = detect_faces(img16)
    f8 = detect_faces(astronaut)
    assert len(f16) == 1 and np.abs(f16[0].points5 - f8[0].points5).max() < 0.5
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    assert len(detect_faces(rgba)) == 1
    assert to_rgb8(np.zeros((4, 4, 2), np.uint8)).shape == (4, 4, 3)
    with pytest.raises(TaskError):
        to_rgb8(np.zeros((4, 4, 5), np.uint8))


def test_large_photo_aligned_from_full_resolution(astronaut):
    big = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_CUBIC)
    f_small = detect_faces(astronaut)[0]
    f_big = detect_faces(big)[0]
    # landmarks found on the full-resolution image (not on a downscaled copy)
    assert np.abs(f_big.points5 - ((f_small.points5 + 0.5) * 4 - 0.5)).max() < 8
    a = align_face(big, ffhq_quad(f_big.points5), 1024)
    # the 1024 crop of the 4x photo is resampled from ~700 source px: sharper than 174 px
    b = align_face(astronaut, ffhq_quad(f_small.points5), 1024)
    lap = lambda x: float(np.abs(cv2.Laplacian(x.pixels, cv2.CV_32F)).mean())  # noqa: E731
    assert a.qsize > 600 and lap(a) >= lap(b) * 0.95


@pytest.mark.parametrize("name", ["astronaut", "grace"])
def test_round_trip_reproduces_face_and_leaves_outside_bit_exact(name, astronaut, grace):
    img = astronaut if name == "astronaut" else grace
    f = detect_faces(img)[0]
    af = align_face(img, ffhq_quad(f.points5), 1024)
    assert af.pixels.shape == (1024, 1024, 3) and af.pixels.dtype == np.float32
    # the FFHQ template: eyes level at ~48 % height, ~25 % apart from the centre
    eyes = af.from_image(f.points5[:2])
    assert abs(eyes[0, 1] - eyes[1, 1]) < 3 and 440 < eyes[0, 1] < 520
    mask = face_mask(af, f.oval)
    p = paste_face(img.shape, af.pixels, af, mask)
    out = composite(img, [p])
    x, y, w, h = p.rect
    inner = np.zeros(img.shape[:2], bool)
    inner[y:y + h, x:x + w] = p.alpha > 0.99
    assert inner.sum() > 3000
    assert _psnr(out[inner], img[inner]) >= 35.0
    # the raw inverse warp (before blending) also reproduces the face
    assert _psnr(np.clip(p.rgb[p.alpha > 0.99] * 255, 0, 255), img[inner]) >= 35.0
    untouched = np.ones(img.shape[:2], bool)
    untouched[y:y + h, x:x + w] = p.alpha == 0
    assert np.array_equal(out[untouched], img[untouched])
    # the paste region is the face, not the whole aligned square
    quad_area = af.qsize ** 2
    assert (p.alpha > 0).sum() < 0.6 * quad_area


def test_paste_of_an_edit_changes_only_the_face_region_16bit(astronaut):
    img = astronaut.astype(np.uint16) * 257
    f = detect_faces(img)[0]
    af = align_face(img, ffhq_quad(f.points5), 256)
    edited = 1.0 - af.pixels                                   # a drastic "edit"
    p = paste_face(img.shape, edited, af, face_mask(af, f.oval))
    out = composite(img, [p])
    assert out.dtype == np.uint16
    x, y, w, h = p.rect
    outside = np.ones(img.shape[:2], bool)
    outside[y:y + h, x:x + w] = p.alpha == 0
    assert np.array_equal(out[outside], img[outside])
    inside = np.zeros(img.shape[:2], bool)
    inside[y:y + h, x:x + w] = p.alpha > 0.99
    assert np.abs(out[inside].astype(int) - img[inside].astype(int)).mean() > 10000
    rgba = p.layer_rgba(np.uint16)
    assert rgba.shape == (h, w, 4) and rgba[..., 3].max() == 65535 and rgba[..., 3].min() == 0


def test_face_at_the_image_border_is_padded_and_pasted(astronaut):
    img = np.ascontiguousarray(astronaut[:, 190:])              # face cut off at the left edge
    faces = detect_faces(img)
    assert len(faces) == 1
    f = faces[0]
    q = ffhq_quad(f.points5)
    assert q[:, 0].min() < 0                                   # the quad leaves the image
    af = align_face(img, q, 256)
    assert np.isfinite(af.pixels).all()
    # the reflected padding is blurred: left columns smoother than the face
    p = paste_face(img.shape, af.pixels, af, face_mask(af, f.oval))
    x, y, w, h = p.rect
    assert x == 0 and x + w <= img.shape[1]
    out = composite(img, [p])
    untouched = np.ones(img.shape[:2], bool)
    untouched[y:y + h, x:x + w] = p.alpha == 0
    assert np.array_equal(out[untouched], img[untouched])


def test_geometry_helpers():
    quad = np.array([[10.0, 20.0], [10.0, 120.0], [110.0, 120.0], [110.0, 20.0]])
    m = quad_matrix(quad, 100)
    # aligned edges land on the quad corners
    pts = np.array([[-0.5, -0.5, 1], [99.5, 99.5, 1]]) @ m.T
    assert np.allclose(pts[:, :2] / pts[:, 2:], [[10, 20], [110, 120]])
    with pytest.raises(TaskError):
        ffhq_quad(np.zeros((5, 2)))
    with pytest.raises(TaskError):
        ffhq_quad(np.full((5, 2), np.nan))


def test_resize_aligned_keeps_geometry(astronaut):
    f = detect_faces(astronaut)[0]
    a = align_face(astronaut, ffhq_quad(f.points5), 1024)
    b = resize_aligned(a, 256)
    assert b.pixels.shape == (256, 256, 3)
    assert np.allclose(b.to_image(np.array([[-0.5, -0.5]])), a.to_image(np.array([[-0.5, -0.5]])))
    direct = align_face(astronaut, ffhq_quad(f.points5), 256)
    assert _psnr(b.pixels, direct.pixels, 1.0) > 30
