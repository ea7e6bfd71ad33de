"""Face editing and age progression (issue 9): detect -> FFHQ-align -> invert (e4e) once per face,
then latent edits (InterFaceGAN / GANSpace) or SAM ageing -> StyleGAN2 -> paste back.

Interactive use is a :class:`FaceEditSession`:

* ``prepare(inputs, request, ctx)``: finds the faces on the full-resolution image, aligns each to
  1024 (and 256 for the encoder), runs the encoder ONCE per face and caches W+ (in memory and as a
  content-addressed .npy in the user data folder, so a layer can be re-edited later).
* ``update(request, ctx)``: edits -> generator -> paste, one masked layer per selected face. Only
  the generator runs (at 256 px for previews: the synthesis stops at the 256 px block of the skip
  architecture; full resolution on Apply). A SAM target age runs the SAM encoder once per (face,
  age) and caches that too.

``run`` (the one-shot task: CLI, batch) is prepare + one update; its Result has one layer per
face plus the flattened image (pixels outside every face's paste region are the input's, bit-exact).

The networks come from :class:`FaceModels`; the default factory loads the catalog bundle through
``ganstudio.models.loader.load_model``. Tests put tiny random-weight networks of the official
architectures in instead (``set_model_factory``): the code path is the same (256 encoder input,
generator output at its own size, 1024 for the FFHQ models).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import paths
from .base import Progress, Request, Result, ResultLayer, TaskContext, TaskError, TaskInputs, TaskSession

TASK = "face_edit"
DEFAULT_MODEL = "face.e4e_ffhq"              # e4e encoder + FFHQ StyleGAN2 decoder + directions
DEFAULT_AGE_MODEL = "face.sam_ffhq_aging"    # SAM
ENCODER_SIZE = 256
PREVIEW_SIZE = 256
SMALL_FACE = 128            # FFHQ crops smaller than this (image px) are flagged in the results

# Slider name -> (label, minimum, maximum). The edit math lives in tasks/faces/latent_edits.py.
SLIDERS: tuple[tuple[str, str, float, float], ...] = (
    ("smile", "Smile", -3.0, 3.0),
    ("age", "Age (look)", -5.0, 5.0),
    ("yaw", "Head turn", -3.0, 3.0),
    ("gender", "Gender", -3.0, 3.0),
    ("glasses", "Glasses", -3.0, 3.0),
    ("eyes_open", "Eyes open", -3.0, 3.0),
    ("beard", "Beard", -3.0, 3.0),
    ("white_hair", "White hair", -3.0, 3.0),
    ("lipstick", "Lipstick", -3.0, 3.0),
)
SLIDER_NAMES = tuple(s[0] for s in SLIDERS)


def slider_specs(model_id: str = DEFAULT_MODEL, store: Any = None) -> list[tuple[str, str, float, float]]:
    """(name, label, min, max) of the edits the face model's catalog entry declares (InterFaceGAN
    directions + GANSpace presets, tasks/faces/latent_edits.py); SLIDERS when it declares none."""
    try:
        from ..models.store import default_store
        from .faces.latent_edits import specs_from_entry

        specs = specs_from_entry((store or default_store()).entry(model_id))
        if specs:
            return [(sp.name, sp.label or sp.name, float(sp.minimum), float(sp.maximum)) for sp in specs]
    except Exception:  # noqa: BLE001 - not in the catalog (yet): the default sliders
        pass
    return list(SLIDERS)


def parse_edits(items: Iterable[str]) -> tuple[tuple[str, float], ...]:
    """["smile=1.5", "age=-2"] -> (("smile", 1.5), ("age", -2.0)); raises ValueError."""
    out: dict[str, float] = {}
    for it in items:
        name, sep, val = str(it).partition("=")
        name = name.strip().lower().replace("-", "_")
        if not sep or not name:
            raise ValueError(f"an edit is NAME=VALUE (e.g. smile=1.5), got {it!r}")
        try:
            out[name] = float(val)
        except ValueError:
            raise ValueError(f"edit {name!r}: {val!r} is not a number") from None
    return tuple(out.items())


@dataclass(frozen=True)
class FaceEditRequest(Request):
    task = TASK

    model_id: str = DEFAULT_MODEL
    edits: tuple[tuple[str, float], ...] = ()       # slider values ((name, value), ...)
    faces: tuple[int, ...] = ()                     # face indices to change; () = all
    age: float | None = None                        # SAM target age 0..100 (None = no ageing)
    age_model_id: str = DEFAULT_AGE_MODEL
    strip: tuple[float, ...] = ()                   # age strip: one result per age
    preview: bool = False                           # generator at 256 px
    color_match: bool = False
    feather: float = 0.02                           # mask feather, fraction of the face size
    detector: str = "blazeface"
    min_face: int = 40
    aligned: bool = False                           # the input IS an aligned face (no detection)
    restore: dict[str, Any] | None = None           # provenance of a face layer to re-edit
    refine: int = 0                                 # prepare: PTI identity refinement steps per
                                                    # face (0 = off; tasks/faces/refine.py)
    encode: bool = True                             # prepare: also invert (False: detect + align
                                                    # only, works without the face models)

    def __post_init__(self) -> None:
        # lists from JSON / the CLI become tuples (frozen and hashable)
        object.__setattr__(self, "edits", tuple((str(k), float(v)) for k, v in
                                                (self.edits.items() if isinstance(self.edits, dict)
                                                 else self.edits)))
        object.__setattr__(self, "faces", tuple(int(i) for i in self.faces))
        object.__setattr__(self, "strip", tuple(float(a) for a in self.strip))
        if self.age is not None:
            object.__setattr__(self, "age", float(self.age))

    @property
    def edit_dict(self) -> dict[str, float]:
        return {k: v for k, v in self.edits if v != 0.0}


# ---------------------------------------------------------------------------------------------
# networks


class FaceModels:
    """The networks a face session runs, already on their device.

    ``bundle``: an e4e-style module with ``encode(x [B,3,256,256] in -1..1) -> W+`` and a
    rosinality StyleGAN2 ``decoder``; ``sam``: optional module with ``encode_age(x, age)`` and its
    own ``decoder``; ``directions``: the edit directions object of tasks/faces/latent_edits.py
    (anything with ``apply(w [n,dim] numpy, {name: value}) -> w``), or None.
    """

    def __init__(self, bundle: Any, *, dev: Any, sam: Any = None, directions: Any = None,
                 ids: dict[str, str] | None = None) -> None:
        self.bundle = bundle
        self.sam = sam
        self.dev = dev
        self.directions = directions
        self.ids = dict(ids or {})
        self.lock = threading.Lock()

    @property
    def decoder(self) -> Any:
        """The StyleGAN2 generator (the bundle itself for a generator-only checkpoint)."""
        return getattr(self.bundle, "decoder", self.bundle)

    @property
    def size(self) -> int:
        return int(self.decoder.size)

    @property
    def n_latent(self) -> int:
        return int(self.decoder.n_latent)

    def _to_tensor(self, faces: np.ndarray):
        import torch

        x = torch.from_numpy(np.ascontiguousarray(faces.transpose(0, 3, 1, 2))).float()
        x = x * 2.0 - 1.0
        return x.to(self.dev.device)

    def encode(self, faces256: np.ndarray) -> np.ndarray:
        """[N,256,256,3] float 0..1 -> W+ [N, n_latent, dim] float32 (the encoder)."""
        import torch

        if not hasattr(self.bundle, "encode"):
            raise TaskError(f"{self.ids.get('model', 'this model')} is a generator only (no encoder): "
                            "it can render latents (face synth) but not invert faces")
        with self.lock, torch.inference_mode(), self.dev.autocast():
            w = self.bundle.encode(self._to_tensor(faces256))
        return w.float().cpu().numpy().astype(np.float32)

    def encode_age(self, faces256: np.ndarray, age: float) -> np.ndarray:
        import torch

        if self.sam is None:
            raise TaskError("ageing needs the SAM model")
        with self.lock, torch.inference_mode(), self.dev.autocast():
            w = self.sam.encode_age(self._to_tensor(faces256), float(age))
        return w.float().cpu().numpy().astype(np.float32)

    def decode(self, w: np.ndarray, max_size: int | None = None, *, age: bool = False,
               generator: Any = None) -> np.ndarray:
        """W+ [N, n, dim] -> [N, S, S, 3] float32 0..1, S = min(max_size, generator size).
        ``generator``: a face's PTI-refined generator copy instead of the shared one."""
        import torch

        gen = generator if generator is not None else \
            (self.sam.decoder if (age and self.sam is not None) else self.decoder)
        wt = torch.from_numpy(np.ascontiguousarray(w, np.float32)).to(self.dev.device)
        with self.lock, torch.inference_mode(), self.dev.autocast():
            img = synthesize(gen, wt, max_size)
        img = ((img.float().clamp(-1, 1) + 1.0) * 0.5).permute(0, 2, 3, 1).cpu().numpy()
        return np.ascontiguousarray(img, np.float32)

    def apply_edits(self, w: np.ndarray, edits: dict[str, float]) -> np.ndarray:
        if not edits:
            return w
        if self.directions is None:
            raise TaskError("this face model has no edit directions installed")
        unknown = [k for k in edits if not self.directions.has(k)]
        if unknown:
            raise TaskError(f"unknown edit {', '.join(unknown)} (known: {', '.join(self.directions.names())})")
        return np.stack([np.asarray(self.directions.apply(wi, edits), np.float32) for wi in w])


def synthesize(gen: Any, w: Any, max_size: int | None = None):
    """rosinality Generator on W+ with its stored noise; stops after the ``max_size`` block
    (the skip architecture's to_rgb sum at that resolution) when that is below the full size."""
    if max_size is None or max_size >= gen.size:
        return gen(w, input_is_latent=True, randomize_noise=False)[0]
    noise = [getattr(gen.noises, f"noise_{i}") for i in range(gen.num_layers)]
    out = gen.input(w)
    out = gen.conv1(out, w[:, 0], noise=noise[0])
    skip = gen.to_rgb1(out, w[:, 1])
    res, i = 4, 1
    for conv1, conv2, n1, n2, to_rgb in zip(gen.convs[::2], gen.convs[1::2], noise[1::2],
                                            noise[2::2], gen.to_rgbs):
        if res >= max_size:
            break
        out = conv1(out, w[:, i], noise=n1)
        out = conv2(out, w[:, i + 1], noise=n2)
        skip = to_rgb(out, w[:, i + 2], skip)
        i += 2
        res *= 2
    return skip


ModelFactory = Callable[[FaceEditRequest, TaskContext, bool], FaceModels]
_factory: ModelFactory | None = None
_models_cache: dict[tuple, FaceModels] = {}
_models_lock = threading.Lock()


def set_model_factory(factory: ModelFactory | None) -> None:
    """Tests / embedders: build FaceModels another way (None = the catalog loader)."""
    global _factory
    with _models_lock:
        _factory = factory
        _models_cache.clear()


def _not_installed(mid: str, store: Any) -> TaskError:
    try:
        e = store.entry(mid)
        size = getattr(e, "size", 0) or sum(getattr(f, "size", 0) or 0 for f in getattr(e, "files", ()))
        lic = getattr(e, "licence", "?")
        nc = " - NON-COMMERCIAL use only" if getattr(e, "non_commercial", False) else ""
        return TaskError(f"the face model {mid} is not installed ({size / 1e9:.2f} GB, licence {lic}{nc}): "
                         f"run `ganstudio models download {mid}` or use Download face models")
    except Exception:  # noqa: BLE001 - unknown id
        return TaskError(f"the face model {mid} is not installed (and not in the catalog): "
                         f"`ganstudio models list --task face_edit` lists the face models")


def _load_part(mid: str, store: Any, dev: Any, components: tuple[str, ...]) -> Any:
    """A module of a face bundle: a file path, a single-file id, or the first component found."""
    from ..models.loader import WrongModelError, load_model

    p = Path(mid)
    try:
        if p.suffix and p.is_file():
            return load_checkpoint_file(p, dev)
        last: Exception | None = None
        for comp in (None, *components):
            try:
                return load_model(mid, store, device=str(dev.device), precision="fp32",
                                  component=comp).module
            except WrongModelError as exc:
                last = exc
        raise TaskError(str(last))
    except TaskError:
        raise
    except KeyError:
        raise _not_installed(mid, store) from None
    except Exception as exc:  # noqa: BLE001 - NotInstalledError, ArchLoadError, unsafe pickle ...
        name = type(exc).__name__
        if name in ("NotInstalledError", "FileNotFoundError"):
            raise _not_installed(mid, store) from None
        raise TaskError(f"{mid}: {exc}") from exc


def load_checkpoint_file(path: Path, dev: Any) -> Any:
    """A face network from a local checkpoint file (``--model FILE``): an e4e or SAM checkpoint
    ({state_dict, opts, latent_avg}), a rosinality StyleGAN2 one ({g_ema, latent_avg}) or
    safetensors of either. Safe loading (a pickle that carries code is refused) and a strict load
    (a missing or reshaped tensor is named)."""
    from ..archs.registry import build_model
    from ..models.safeload import load_checkpoint

    obj = load_checkpoint(path)
    if not isinstance(obj, dict):
        raise TaskError(f"{path.name}: not a face checkpoint")
    sd = obj.get("state_dict", obj)
    keys = list(sd) if isinstance(sd, dict) else []
    if any(k.startswith("encoder.") for k in keys):
        from ..archs.e4e_arch import flatten_psp_checkpoint

        flat = flatten_psp_checkpoint(obj)
        arch = "sam" if any(k.startswith("pretrained_encoder.") for k in flat) else "e4e"
        module = build_model(arch, flat)
    elif "g_ema" in obj or "input.input" in keys:
        from ..archs.stylegan2_arch import read_rosinality_checkpoint

        gsd, _avg = read_rosinality_checkpoint(obj)
        module = build_model("stylegan2", gsd)
    else:
        raise TaskError(f"{path.name}: neither an e4e / SAM nor a StyleGAN2 checkpoint "
                        f"(keys: {', '.join(keys[:6])})")
    return module.eval().to(dev.device)


def _load_directions(mid: str, store: Any) -> Any:
    try:
        from .faces import latent_edits
    except ImportError:
        return None
    loader = getattr(latent_edits, "load_directions", None)
    if loader is None:
        return None
    try:
        return loader(mid, store)
    except Exception:  # noqa: BLE001 - edits unavailable, inversion / ageing still work
        return None


def default_factory(request: FaceEditRequest, ctx: TaskContext, need_age: bool) -> FaceModels:
    from ..models.store import default_store
    from .device import select_device

    store = ctx.store or default_store()
    dev = select_device(ctx.device, threads=ctx.threads, precision=ctx.precision)
    bundle = _load_part(request.model_id, store, dev, ("e4e", "encoder", "bundle"))
    sam = _load_part(request.age_model_id, store, dev, ("sam", "encoder")) if need_age else None
    return FaceModels(bundle, dev=dev, sam=sam, directions=_load_directions(request.model_id, store),
                      ids={"model": request.model_id, **({"age_model": request.age_model_id} if need_age else {})})


def get_models(request: FaceEditRequest, ctx: TaskContext, need_age: bool) -> FaceModels:
    key = (request.model_id, request.age_model_id if need_age else None, ctx.device, ctx.precision,
           id(ctx.store))
    with _models_lock:
        m = _models_cache.get(key)
        factory = _factory or default_factory
    if m is None:
        m = factory(request, ctx, need_age)
        with _models_lock:
            _models_cache[key] = m
    return m


# ---------------------------------------------------------------------------------------------
# per-face state


@dataclass
class FaceState:
    index: int
    face: Any                          # detect.Face (None for --aligned inputs)
    aligned: Any                       # align.AlignedFace at 1024 (from the full image)
    aligned256: Any                    # the encoder's input
    mask: np.ndarray                   # [1024, 1024] float32 face-only mask in aligned space
    w: np.ndarray | None               # cached W+ [n, dim] (None: not encoded yet)
    latent_file: str = ""
    apparent_age: float | None = None
    age_codes: OrderedDict = field(default_factory=OrderedDict)   # age -> W+ (SAM), LRU
    restored: dict[str, Any] | None = None                          # provenance re-opened
    generator: Any = None                                           # PTI-refined copy (or None)
    refine_info: dict[str, Any] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        d: dict[str, Any] = {"index": self.index, "quad": np.asarray(self.aligned.quad).tolist(),
                             "latent_file": self.latent_file, "apparent_age": self.apparent_age}
        q = float(self.aligned.qsize)
        if q < SMALL_FACE:
            d["warning"] = (f"small face ({q:.0f} px crop, upsampled to 1024): the edit will look "
                            "soft")
        if self.face is not None:
            d.update(self.face.to_dict())
            if self.face.oval is not None:
                d["oval"] = np.asarray(self.face.oval).tolist()
        elif self.restored:
            d.update({k: v for k, v in self.restored.items() if k not in d or not d[k]})
        return d


def latents_dir() -> Path:
    return paths.user_data_dir() / "face_latents"


def save_latent(w: np.ndarray, key: str) -> str:
    """Content-addressed .npy of a face's W+ in the user data folder; returns its path."""
    d = latents_dir()
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{key}.npy"
    if not p.exists():
        tmp = p.with_suffix(".tmp.npy")
        np.save(tmp, np.asarray(w, np.float32))
        tmp.replace(p)
    return str(p)


def _layer_name(i: int, edits: dict[str, float], age: float | None) -> str:
    parts = [f"{k} {v:+g}" for k, v in edits.items()]
    if age is not None:
        parts.insert(0, f"age {age:g}")
    return f"Face {i + 1}" + (f" ({', '.join(parts)})" if parts else "")


class FaceEditSession(TaskSession):
    """Interactive face editing: encoder once per face, generator per slider move."""

    def __init__(self) -> None:
        super().__init__()
        self.faces: list[FaceState] = []
        self.image_shape: tuple[int, ...] = ()
        self.image: np.ndarray | None = None
        self.models: FaceModels | None = None
        self.model_request: FaceEditRequest | None = None
        self.stats: dict[str, float] = {}

    # -- prepare ----------------------------------------------------------------------------
    def find_faces(self, image: np.ndarray, request: FaceEditRequest) -> list[Any]:
        from .faces.detect import detect_faces

        faces = detect_faces(image, backend=request.detector, min_face=request.min_face)
        if not faces:
            raise TaskError("No face found in the image (nothing was changed).")
        return faces

    def prepare(self, inputs: TaskInputs, request: FaceEditRequest,
                ctx: TaskContext) -> Generator[Progress, None, Result | None]:
        from .faces.age_estimate import estimate_ages
        from .faces.align import AlignedFace, align_face, ffhq_quad, quad_matrix, resize_aligned
        from .faces.paste import face_mask

        img = inputs.image
        if img is None or img.ndim not in (2, 3) or img.shape[0] < 8 or img.shape[1] < 8:
            raise TaskError("face editing needs an image")
        self.image = img
        self.image_shape = img.shape
        t0 = time.perf_counter()
        yield Progress(0, 3, "Finding faces")
        if request.aligned:
            h, w = img.shape[:2]
            if h != w:
                raise TaskError(f"--aligned expects a square aligned face (got {w}x{h})")
            quad = np.array([[0, 0], [0, h], [w, h], [w, 0]], np.float64) - 0.5
            faces: list[Any] = [None]
            quads = [quad]
        elif request.restore:
            quad = np.asarray(request.restore.get("quad"), np.float64)
            if quad.shape != (4, 2):
                raise TaskError("this face layer has no alignment to restore")
            faces, quads = [None], [quad]
        else:
            faces = self.find_faces(img, request)
            quads = [ffhq_quad(f.points5) for f in faces]
        self.stats["detect_s"] = time.perf_counter() - t0
        ctx.check_cancelled()
        try:
            ages = estimate_ages(img, [f for f in faces if f is not None]) if faces[0] is not None else [None]
        except TaskError:
            ages = [None] * len(faces)
        if request.encode:
            yield Progress(1, 3, "Loading face models")
            self.models = get_models(request, ctx, need_age=False)
        self.model_request = request
        total = len(faces)
        t1 = time.perf_counter()
        for i, (f, q) in enumerate(zip(faces, quads)):
            ctx.check_cancelled()
            yield Progress(1, 3, f"Encoding face {i + 1}/{total}")
            if request.aligned:
                from .faces.align import _to_float
                import cv2

                px = _to_float(img)
                a1024 = AlignedFace(cv2.resize(px, (1024, 1024), interpolation=cv2.INTER_CUBIC
                                               if px.shape[0] < 1024 else cv2.INTER_AREA)
                                    if px.shape[0] != 1024 else px,
                                    quad_matrix(q, 1024), q, 1024)
                a1024.pixels = np.clip(a1024.pixels, 0, 1).astype(np.float32)
            else:
                a1024 = align_face(img, q, 1024)
            a256 = resize_aligned(a1024, ENCODER_SIZE)
            oval = f.oval if f is not None else None
            if oval is None and request.restore and request.restore.get("oval"):
                oval = np.asarray(request.restore["oval"], np.float64)
            mask = face_mask(a1024, oval, feather=request.feather) if not request.aligned else \
                np.ones((1024, 1024), np.float32)
            w = None
            latent_file = ""
            if request.restore and request.restore.get("latent_file"):
                lf = Path(request.restore["latent_file"])
                if lf.is_file():
                    w = np.load(lf, allow_pickle=False).astype(np.float32)
                    latent_file = str(lf)
            fs = FaceState(i, f, a1024, a256, mask, w, latent_file, None)
            if w is None and request.encode:
                self._encode(fs)
            if request.refine > 0 and fs.w is not None:
                yield from self._refine(fs, request, ctx)
            age_est = ages[i] if i < len(ages) else None
            if request.restore:
                age_est = request.restore.get("apparent_age")
            fs.apparent_age = age_est
            fs.restored = dict(request.restore) if request.restore else None
            self.faces.append(fs)
        self.stats["encode_s"] = time.perf_counter() - t1
        self.prepared = True
        yield Progress(3, 3, "Ready")
        return Result(None, name="Faces",
                      info={"faces": [fs.info() for fs in self.faces],
                            "encoded": all(fs.w is not None for fs in self.faces),
                            **(self.models.ids if self.models else {})},
                      artefacts={"thumbs": [fs.aligned256.to_uint8() for fs in self.faces]})

    def _refine(self, fs: FaceState, request: FaceEditRequest, ctx: TaskContext) -> Generator:
        """Tune a copy of the generator on this face (PTI) so the edits keep its identity."""
        import cv2

        from .faces.refine import RefineConfig, refine_generator

        assert self.models is not None and fs.w is not None
        mask = cv2.resize(fs.mask, (ENCODER_SIZE, ENCODER_SIZE), interpolation=cv2.INTER_AREA)
        with self.models.lock:
            res = yield from refine_generator(self.models.decoder, fs.w[None], fs.aligned256.to_uint8(),
                                              config=RefineConfig(steps=int(request.refine)),
                                              mask=np.maximum(mask, 0.05), cancel=ctx.cancel,
                                              stage=f"Refining face {fs.index + 1}")
        fs.generator = res.generator
        fs.refine_info = res.info()

    def _encode(self, fs: FaceState) -> None:
        """Invert one face (once) and keep its W+ (memory + content-addressed latent file)."""
        assert self.models is not None
        t = time.perf_counter()
        fs.w = self.models.encode(fs.aligned256.pixels[None])[0]
        self.stats["encoder_s"] = time.perf_counter() - t
        key = hashlib.sha256(fs.aligned256.to_uint8().tobytes()
                             + str(self.models.ids.get("model", "")).encode()).hexdigest()[:24]
        try:
            fs.latent_file = save_latent(fs.w, key)
        except OSError:
            fs.latent_file = ""

    # -- update -------------------------------------------------------------------------------
    def _codes(self, fs: FaceState, request: FaceEditRequest, ctx: TaskContext,
               age: float | None) -> tuple[np.ndarray, bool]:
        if fs.w is None:                                  # prepared without the models
            if self.models is None or self.model_request is None or \
                    self.model_request.model_id != request.model_id:
                self.models = get_models(request, ctx, need_age=False)
                self.model_request = request
            self._encode(fs)
        if age is None:
            return fs.w, False
        if not 0 <= age <= 100:
            raise TaskError("the target age must be between 0 and 100")
        key = round(float(age), 1)
        if key in fs.age_codes:
            fs.age_codes.move_to_end(key)
            return fs.age_codes[key], True
        models = get_models(request, ctx, need_age=True)
        self.models = models
        self.model_request = request
        w = models.encode_age(fs.aligned256.pixels[None], key)[0]
        fs.age_codes[key] = w
        while len(fs.age_codes) > 16:
            fs.age_codes.popitem(last=False)
        return w, True

    def render(self, fs: FaceState, request: FaceEditRequest, ctx: TaskContext,
               age: float | None) -> tuple[Any, dict[str, Any], np.ndarray]:
        """One face: (Paste or None, info, generated aligned face)."""
        from .faces.paste import color_match, paste_face

        w, aged = self._codes(fs, request, ctx, age)
        assert self.models is not None
        edits = request.edit_dict
        w2 = self.models.apply_edits(w[None], edits)
        size = PREVIEW_SIZE if request.preview else None
        t = time.perf_counter()
        out = self.models.decode(w2, size, age=aged,
                                 generator=None if aged else fs.generator)[0]
        self.stats["generator_s"] = time.perf_counter() - t
        if request.color_match:
            out = color_match(out, fs.aligned.pixels, fs.mask)
        paste = paste_face(self.image_shape, out, fs.aligned, fs.mask)
        info = {"task": TASK, "face": fs.info(), "edits": edits, "age": age,
                "model": self.models.ids.get("model", request.model_id),
                "model_ids": dict(self.models.ids), "preview": request.preview,
                "generator_size": int(out.shape[0]), "latent_file": fs.latent_file,
                "color_match": request.color_match, "feather": request.feather,
                **({"refine": dict(fs.refine_info)} if fs.refine_info else {})}
        return paste, info, out

    def _selected(self, request: FaceEditRequest) -> list[FaceState]:
        if not request.faces:
            return list(self.faces)
        bad = [i for i in request.faces if not 0 <= i < len(self.faces)]
        if bad:
            raise TaskError(f"face {bad[0] + 1} does not exist (found {len(self.faces)})")
        return [self.faces[i] for i in request.faces]

    def update(self, request: FaceEditRequest, ctx: TaskContext) -> Generator[Progress, None, Result]:
        from .faces.paste import composite

        if not self.prepared or self.image is None:
            raise TaskError("the face session is not prepared")
        sel = self._selected(request)
        ages: list[float | None] = list(request.strip) if request.strip else [request.age]
        layers: list[ResultLayer] = []
        pastes_by_age: dict[Any, list] = {}
        faces_by_age: dict[Any, list] = {}
        n = len(sel) * len(ages)
        k = 0
        dtype = np.uint16 if self.image.dtype == np.uint16 else np.uint8
        for age in ages:
            for fs in sel:
                ctx.check_cancelled()
                yield Progress(k, n, f"Face {fs.index + 1}" + (f", age {age:g}" if age is not None else ""))
                paste, info, out = self.render(fs, request, ctx, age)
                faces_by_age.setdefault(age, []).append(out)
                k += 1
                if paste is None:
                    continue
                # the layer mask is 8-bit: the flattened image uses exactly that mask, so a pixel
                # changes in the image if and only if the layer shows there
                mask8 = np.clip(paste.alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)
                paste.alpha = mask8.astype(np.float32) / np.float32(255.0)
                pastes_by_age.setdefault(age, []).append(paste)
                rgba = paste.layer_rgba(dtype)
                rgba[:, :, 3] = np.iinfo(dtype).max
                name = _layer_name(fs.index, request.edit_dict, age)
                layers.append(ResultLayer(rgba, paste.rect, name, mask8, info))
        image = None
        if not request.preview and len(ages) == 1:
            image = composite(self.image, pastes_by_age.get(ages[0], []))
        yield Progress(n, n, "Done")
        return Result(image, name=layers[0].name if len(layers) == 1 else "Faces", layers=layers,
                      info={"task": TASK, **(self.models.ids if self.models else {}),
                            "faces": len(sel), "edits": request.edit_dict, "age": request.age,
                            "strip": list(request.strip), "timings": dict(self.stats)},
                      artefacts={"pastes": pastes_by_age, "faces_by_age": faces_by_age})

    def latents(self) -> np.ndarray:
        """W+ of every face [n_faces, n_latent, dim] float32 (``face invert``)."""
        return np.stack([fs.w for fs in self.faces]).astype(np.float32)

    def close(self) -> None:
        self.faces.clear()
        self.image = None
        super().close()


def run(inputs: TaskInputs, request: FaceEditRequest,
        ctx: TaskContext) -> Generator[Progress, None, Result]:
    """One-shot: prepare + one update (CLI / batch)."""
    s = FaceEditSession()
    try:
        yield from s.prepare(inputs, request, ctx)
        result = yield from s.update(request, ctx)
        result.info["faces_found"] = [fs.info() for fs in s.faces]
        return result
    finally:
        s.close()


def strip_grid(result: Result, cell: int = 512) -> np.ndarray:
    """The age strip as one image: a row per face, a column per age, aligned faces of ``cell``
    px (float32 0..1 -> HxWx3 float32)."""
    import cv2

    faces = result.artefacts.get("faces_by_age", {})
    ages = list(faces)
    if not ages:
        raise TaskError("no age strip in this result")
    rows = len(faces[ages[0]])
    grid = np.zeros((rows * cell, len(ages) * cell, 3), np.float32)
    for c, a in enumerate(ages):
        for r, img in enumerate(faces[a]):
            interp = cv2.INTER_AREA if img.shape[0] > cell else cv2.INTER_CUBIC
            grid[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = cv2.resize(img, (cell, cell),
                                                                                interpolation=interp)
    return grid


def _register() -> None:
    from .registry import TaskSpec, register_task

    register_task(TaskSpec(name=TASK, title="Face edit", request_type=FaceEditRequest, run=run,
                           default_models=(DEFAULT_MODEL, DEFAULT_AGE_MODEL),
                           ui="ganstudio.ui.tasks.face", cli="ganstudio.commands.face",
                           session=FaceEditSession,
                           description="Face sliders (e4e + InterFaceGAN/GANSpace) and SAM ageing, "
                                       "pasted back as one masked layer per face."))


try:
    _register()
except ImportError:  # pragma: no cover - registry not present in an old tree
    pass

__all__ = ["FaceEditRequest", "FaceEditSession", "FaceModels", "SLIDERS", "parse_edits", "run",
           "set_model_factory", "strip_grid", "synthesize"]
