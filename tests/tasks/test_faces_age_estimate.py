"""Apparent age (CC0 dlib-models age predictor, ONNX) of the bundled sample faces."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

from ganstudio import paths
from ganstudio.tasks.faces.age_estimate import (AGE_MODEL_SHA256, age_chip, estimate_ages,
                                                get_estimator, similarity)
from ganstudio.tasks.faces.detect import detect_faces


def test_bundled_model_is_the_cc0_file():
    p = paths.BUILTIN_MODELS / "faces" / "age_v1.onnx"
    assert hashlib.sha256(p.read_bytes()).hexdigest() == AGE_MODEL_SHA256


def test_sample_ages_are_plausible(astronaut, samples_dir):
    grace = np.asarray(Image.open(samples_dir / "grace_hopper.jpg").convert("RGB"))
    a = estimate_ages(astronaut, detect_faces(astronaut))
    g = estimate_ages(grace, detect_faces(grace))
    assert len(a) == 1 and 25 <= a[0] <= 55          # Eileen Collins, 30s-40s at the time
    assert len(g) == 1 and g[0] >= 65                # Grace Hopper, late 70s


def test_chip_and_similarity(astronaut):
    f = detect_faces(astronaut)[0]
    chip = age_chip(astronaut, f.eye_corners)
    assert chip.shape == (64, 64, 3) and chip.dtype == np.uint8 and chip.std() > 10
    src = np.array([[0, 0], [10, 0], [0, 10], [5, 5]], float)
    m = similarity(src, src * 2 + 3)
    assert np.allclose(m, [[2, 0, 3], [0, 2, 3]])
    # a batch of chips -> one age each, deterministic
    est = get_estimator()
    ages = est.predict_chips(np.stack([chip, chip]))
    assert ages.shape == (2,) and ages[0] == pytest.approx(ages[1])


def test_no_corners_no_age(astronaut):
    f = detect_faces(astronaut)[0]
    f.eye_corners = None
    assert estimate_ages(astronaut, [f]) == [None]
