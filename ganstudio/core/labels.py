"""Label sets (palettes) as data, label-map import/export, landscape -> model class mapping.

numpy + Pillow only. Label sets live in ``resources/palettes/<name>.json`` (format
``ganstudio-palette/1``, sources in resources/palettes/README.md)::

    {"format": "ganstudio-palette/1", "name": "ade20k", "title": "...", "description": "...",
     "unlabelled": 0,
     "classes": [{"id": 1, "name": "wall", "color": [120, 120, 120],
                  "full_name": "...", "unused": false, "maps": {"ade20k": 3, ...}}, ...]}

* ``load_palette(name_or_path) -> LabelSet`` (cached by name), ``palette_names()``,
  ``LabelSet.to_json()`` / ``save_palette`` (round trip), ``LabelSet.search(text)``.
* ``map_labels(labels, src, target)``: a painted map in ``src`` (e.g. the landscape palette) ->
  the ids of label set ``target`` through each class's ``maps[target]`` (identity when src is
  target).
* ``read_label_png(path, labelset=None, mode="auto")``: class ids from an 8/16-bit grey or a
  paletted PNG (the pixel values are the ids), or palette colours from an RGB(A) PNG
  (``labels_from_colors``: exact colour matches; colours that match no class raise LabelError
  naming them with counts and a position). Size limits: ``MAX_LABEL_PIXELS``.
* ``validate_labels(labels, labelset)``: ids outside the set raise LabelError naming them.
* ``colorize(labels, labelset)`` / ``write_label_png(path, labels, labelset=None, colors=False)``.
* ``instance_edges(instances)``: 1 where a 4-neighbour has another instance id (as SPADE's
  ``get_edges``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .. import paths
from .layers import LabelClass

FORMAT = "ganstudio-palette/1"
MAX_LABEL_PIXELS = 150_000_000         # a label map bigger than this is refused (decompression bombs)
MAX_LABEL_SIDE = 32768


class LabelError(ValueError):
    """A clear, user-facing problem with a label map or a label set."""


@dataclass(frozen=True)
class LabelInfo:
    id: int
    name: str
    color: tuple[int, int, int]
    full_name: str = ""
    unused: bool = False
    maps: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "name": self.name, "color": list(self.color)}
        if self.full_name:
            d["full_name"] = self.full_name
        if self.unused:
            d["unused"] = True
        if self.maps:
            d["maps"] = dict(self.maps)
        return d


@dataclass(frozen=True)
class LabelSet:
    name: str
    title: str
    classes: tuple[LabelInfo, ...]
    unlabelled: int | None = 0
    description: str = ""

    def __post_init__(self) -> None:
        ids = [c.id for c in self.classes]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise LabelError(f"label set {self.name}: duplicate ids {dup}")
        if any(not 0 <= i <= 65535 for i in ids):
            raise LabelError(f"label set {self.name}: ids must be 0..65535")

    # --- lookup -----------------------------------------------------------------------------
    @property
    def ids(self) -> list[int]:
        return [c.id for c in self.classes]

    @property
    def max_id(self) -> int:
        return max(self.ids) if self.classes else 0

    def by_id(self, cid: int) -> LabelInfo:
        for c in self.classes:
            if c.id == cid:
                return c
        raise KeyError(cid)

    def by_name(self, name: str) -> LabelInfo:
        key = name.strip().lower()
        for c in self.classes:
            if c.name.lower() == key:
                return c
        raise KeyError(name)

    def search(self, text: str) -> list[LabelInfo]:
        """Classes whose name or full name contains ``text`` (case-insensitive), name hits first."""
        t = text.strip().lower()
        if not t:
            return list(self.classes)
        first = [c for c in self.classes if t in c.name.lower()]
        rest = [c for c in self.classes if c not in first and t in c.full_name.lower()]
        return first + rest

    def color_lut(self) -> np.ndarray:
        """(max_id + 1, 3) uint8: colour per id (black for ids not in the set)."""
        lut = np.zeros((self.max_id + 1, 3), np.uint8)
        for c in self.classes:
            lut[c.id] = c.color
        return lut

    def label_classes(self) -> list[LabelClass]:
        """The palette of a core LabelLayer."""
        return [LabelClass(c.id, c.name, tuple(c.color)) for c in self.classes]

    def dtype(self) -> type:
        return np.uint8 if self.max_id <= 255 else np.uint16

    # --- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "name": self.name, "title": self.title,
                "description": self.description, "unlabelled": self.unlabelled,
                "classes": [c.to_dict() for c in self.classes]}

    def to_json(self) -> str:
        head = {k: v for k, v in self.to_dict().items() if k != "classes"}
        text = json.dumps(head, indent=1)[:-2] + ',\n "classes": [\n'
        text += ",\n".join("  " + json.dumps(c.to_dict()) for c in self.classes) + "\n ]\n}\n"
        return text

    @classmethod
    def from_dict(cls, d: dict[str, Any], name: str = "") -> LabelSet:
        if not isinstance(d, dict) or not isinstance(d.get("classes"), list):
            raise LabelError("a label set needs a 'classes' list")
        if d.get("format", FORMAT) != FORMAT:
            raise LabelError(f"unknown label set format {d.get('format')!r} (expected {FORMAT})")
        classes = []
        for i, c in enumerate(d["classes"]):
            try:
                col = tuple(int(v) for v in c["color"])
                if len(col) != 3 or any(not 0 <= v <= 255 for v in col):
                    raise ValueError
                classes.append(LabelInfo(int(c["id"]), str(c["name"]), col, str(c.get("full_name", "")),
                                         bool(c.get("unused", False)),
                                         {str(k): int(v) for k, v in (c.get("maps") or {}).items()}))
            except (KeyError, TypeError, ValueError) as exc:
                raise LabelError(f"class #{i} of the label set: needs id, name and an RGB colour") from exc
        un = d.get("unlabelled", 0)
        return cls(str(d.get("name") or name), str(d.get("title") or d.get("name") or name),
                   tuple(classes), None if un is None else int(un), str(d.get("description", "")))


def palette_dir() -> Path:
    return paths.PALETTES


def palette_names() -> list[str]:
    """Names of the bundled label sets (file stems of resources/palettes/*.json)."""
    return sorted(p.stem for p in palette_dir().glob("*.json"))


PICKER_PALETTES = ("landscape", "ade20k", "coco")
ALIASES = {"coco-stuff": "coco", "cocostuff": "coco", "coco_stuff": "coco", "ade": "ade20k",
           "ade20k-150": "ade20k", "cityscapes-35": "cityscapes", "builtin": "builtin_scene"}


@lru_cache(maxsize=32)
def _load_named(name: str) -> LabelSet:
    path = palette_dir() / f"{name}.json"
    if not path.is_file():
        raise LabelError(f"unknown palette {name!r} (known: {', '.join(palette_names())})")
    return load_palette_file(path)


def load_palette_file(path: str | Path) -> LabelSet:
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LabelError(f"cannot read label set {path}: {exc}") from exc
    return LabelSet.from_dict(d, Path(path).stem)


def load_palette(name_or_path: str | Path | LabelSet) -> LabelSet:
    if isinstance(name_or_path, LabelSet):
        return name_or_path
    s = str(name_or_path)
    if s.endswith(".json") or "/" in s or "\\" in s:
        return load_palette_file(s)
    key = s.strip().lower()
    return _load_named(ALIASES.get(key, key))


def save_palette(labelset: LabelSet, path: str | Path) -> None:
    Path(path).write_text(labelset.to_json(), encoding="utf-8")


# --- checks and mapping -----------------------------------------------------------------------
def _describe_ids(labels: np.ndarray, ids: np.ndarray, limit: int = 12) -> str:
    parts = []
    for v in ids[:limit]:
        ys, xs = np.nonzero(labels == v)
        parts.append(f"{int(v)} ({len(ys)} px, first at x={int(xs[0])} y={int(ys[0])})")
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(parts) + more


def validate_labels(labels: np.ndarray, labelset: LabelSet) -> None:
    """Raise LabelError naming every id of ``labels`` that is not a class of ``labelset``."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise LabelError(f"a label map is HxW class ids, got shape {labels.shape}")
    present = np.unique(labels)
    known = np.asarray(labelset.ids)
    bad = present[~np.isin(present, known)]
    if bad.size:
        raise LabelError(f"label ids not in the {labelset.title} label set: "
                         f"{_describe_ids(labels, bad)}")


def class_counts(labels: np.ndarray) -> dict[int, int]:
    vals, counts = np.unique(np.asarray(labels), return_counts=True)
    return {int(v): int(c) for v, c in zip(vals, counts)}


def mapping_table(src: LabelSet, target: str) -> dict[int, int]:
    """id in ``src`` -> id in label set ``target`` (from the classes' ``maps``)."""
    if src.name == target:
        return {c.id: c.id for c in src.classes}
    table = {c.id: c.maps[target] for c in src.classes if target in c.maps}
    if not table:
        raise LabelError(f"the {src.title} palette has no mapping onto {target!r} classes")
    return table


def map_labels(labels: np.ndarray, src: LabelSet, target: str, target_set: LabelSet | None = None) -> np.ndarray:
    """Translate a label map painted in ``src`` into the ids of ``target`` (uint16 if needed)."""
    labels = np.asarray(labels)
    validate_labels(labels, src)
    table = mapping_table(src, target)
    present = np.unique(labels)
    missing = [int(v) for v in present if int(v) not in table]
    if missing:
        names = ", ".join(f"{v} ({src.by_id(v).name})" for v in missing)
        raise LabelError(f"{src.title} classes with no {target} equivalent: {names}")
    size = max(int(present.max()) + 1, 1)
    lut = np.zeros(size, np.int64)
    for k, v in table.items():
        if k < size:
            lut[k] = v
    out = lut[labels]
    dtype = np.uint8 if out.max(initial=0) <= 255 else np.uint16
    if target_set is not None:
        validate_labels(out.astype(dtype), target_set)
    return out.astype(dtype)


# --- colours <-> ids --------------------------------------------------------------------------
def colorize(labels: np.ndarray, labelset: LabelSet) -> np.ndarray:
    """HxWx3 uint8 palette colours of a label map (ids outside the set: black)."""
    labels = np.asarray(labels)
    lut = labelset.color_lut()
    safe = np.where(labels <= labelset.max_id, labels, 0)
    out = lut[safe]
    out[labels > labelset.max_id] = 0
    return out


def _pack(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.uint32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def labels_from_colors(rgb: np.ndarray, labelset: LabelSet) -> np.ndarray:
    """Class ids of a palette-colour image (exact matches; alpha = 0 pixels -> unlabelled).

    A colour shared by several classes (e.g. ADE20K road / skyscraper) maps to the lowest id.
    Colours that match no class raise LabelError naming them (hex, pixel count, first position).
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
        raise LabelError(f"a palette-colour label map is HxWx3 RGB, got shape {rgb.shape}")
    if rgb.dtype == np.uint16:
        rgb = (rgb >> 8).astype(np.uint8)
    alpha = rgb[..., 3] if rgb.shape[2] == 4 else None
    key = _pack(rgb[..., :3])
    lookup: dict[int, int] = {}
    for c in sorted(labelset.classes, key=lambda c: c.id):
        lookup.setdefault(int(_pack(np.asarray(c.color, np.uint8)[None])[0]), c.id)
    uniq, inv = np.unique(key.ravel(), return_inverse=True)
    ids = np.array([lookup.get(int(u), -1) for u in uniq], np.int64)
    transparent = np.zeros(key.shape, bool) if alpha is None else alpha == 0
    bad_mask = (ids[inv].reshape(key.shape) < 0) & ~transparent
    if bad_mask.any():
        bad = np.unique(key[bad_mask])
        parts = []
        for b in bad[:10]:
            ys, xs = np.nonzero((key == b) & bad_mask)
            parts.append(f"#{int(b):06x} ({len(ys)} px, first at x={int(xs[0])} y={int(ys[0])})")
        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
        raise LabelError(f"colours that match no class of the {labelset.title} palette: "
                         + ", ".join(parts) + more + " (antialiased or JPEG-compressed maps do not work:"
                         " paint with hard edges and save as PNG)")
    out = ids[inv].reshape(key.shape)
    if alpha is not None and transparent.any():
        if labelset.unlabelled is None:
            raise LabelError("transparent pixels but the label set has no 'unlabelled' class")
        out[transparent] = labelset.unlabelled
    return out.astype(labelset.dtype())


# --- PNG I/O ----------------------------------------------------------------------------------
def _open_checked(path: str | Path):
    from PIL import Image

    try:
        im = Image.open(path)
    except FileNotFoundError:
        raise LabelError(f"no such file: {path}") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds
        raise LabelError(f"cannot read label map {path}: {exc}") from exc
    w, h = im.size
    if w < 1 or h < 1:
        raise LabelError(f"label map {path} is empty")
    if w * h > MAX_LABEL_PIXELS or max(w, h) > MAX_LABEL_SIDE:
        raise LabelError(f"label map {path} is {w}x{h}: larger than the limit of "
                         f"{MAX_LABEL_PIXELS // 1_000_000} MP / {MAX_LABEL_SIDE} px a side")
    return im


def read_label_png(path: str | Path, labelset: LabelSet | None = None, mode: str = "auto") -> np.ndarray:
    """Label map (HxW uint8/uint16) from a PNG.

    ``mode``: "ids" (pixel values are class ids: 8/16-bit grey, or the palette *indices* of a
    paletted PNG), "colors" (RGB(A) palette colours of ``labelset``), "auto" (grey / paletted ->
    ids, RGB -> colours; an RGB image whose three channels are equal is read as ids when no
    label set is given). With ``labelset`` the ids are validated.
    """
    im = _open_checked(path)
    try:
        im.load()
    except Exception as exc:  # noqa: BLE001
        raise LabelError(f"cannot decode label map {path}: {exc}") from exc
    if mode not in ("auto", "ids", "colors"):
        raise LabelError(f"mode must be auto, ids or colors, not {mode!r}")
    m = im.mode
    if mode == "colors" or (mode == "auto" and m in ("RGB", "RGBA", "LA")):
        arr = np.asarray(im.convert("RGBA") if m in ("RGBA", "LA", "P", "PA") else im.convert("RGB"))
        if labelset is None:
            if mode == "auto" and arr.ndim == 3 and (np.all(arr[..., 0] == arr[..., 1])
                                                   and np.all(arr[..., 1] == arr[..., 2])):
                return arr[..., 0].copy()
            raise LabelError(f"{path} is a colour image: name its palette (--palette landscape|ade20k|"
                             "coco) to read palette colours, or save the class ids as a grey PNG")
        return labels_from_colors(arr, labelset)
    if m == "P":
        arr = np.asarray(im)                   # palette indices = class ids
    elif m in ("L", "1"):
        arr = np.asarray(im.convert("L"))
    elif m in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im)
        if arr.min(initial=0) < 0 or arr.max(initial=0) > 65535:
            raise LabelError(f"{path}: class ids must be 0..65535")
        arr = arr.astype(np.uint16)
    elif m in ("RGB", "RGBA"):
        a = np.asarray(im.convert("RGB"))
        if not (np.all(a[..., 0] == a[..., 1]) and np.all(a[..., 1] == a[..., 2])):
            raise LabelError(f"{path} is a colour image, not class ids: use palette colours "
                             "(--palette) or a grey PNG of ids")
        arr = a[..., 0]
    else:
        raise LabelError(f"{path}: unsupported image mode {m} for a label map")
    arr = np.ascontiguousarray(arr)
    if arr.dtype not in (np.uint8, np.uint16):
        arr = arr.astype(np.uint16 if arr.max(initial=0) > 255 else np.uint8)
    if labelset is not None:
        validate_labels(arr, labelset)
    return arr


def write_label_png(path: str | Path, labels: np.ndarray, labelset: LabelSet | None = None,
                    colors: bool = False) -> None:
    """Class ids as an 8/16-bit grey PNG, or (``colors``) the palette colours as RGB."""
    from PIL import Image

    labels = np.asarray(labels)
    if colors:
        if labelset is None:
            raise LabelError("writing palette colours needs a label set")
        Image.fromarray(colorize(labels, labelset)).save(path)
    elif labels.dtype == np.uint16 or labels.max(initial=0) > 255:
        Image.fromarray(labels.astype(np.uint16)).save(path)
    else:
        Image.fromarray(labels.astype(np.uint8), mode="L").save(path)


def instance_edges(instances: np.ndarray) -> np.ndarray:
    """HxW uint8: 1 where a 4-neighbour has another instance id (SPADE's ``get_edges``)."""
    t = np.asarray(instances)
    e = np.zeros(t.shape, bool)
    dx = t[:, 1:] != t[:, :-1]
    dy = t[1:, :] != t[:-1, :]
    e[:, 1:] |= dx
    e[:, :-1] |= dx
    e[1:, :] |= dy
    e[:-1, :] |= dy
    return e.astype(np.uint8)


def blank_landscape(width: int, height: int, labelset: LabelSet | None = None,
                    horizon: float = 0.55) -> np.ndarray:
    """The "blank landscape" template: sky above ``horizon`` (fraction of the height), grass below."""
    ls = labelset or load_palette("landscape")
    sky, ground = ls.by_name("sky").id, ls.by_name("grass").id
    out = np.full((height, width), ground, ls.dtype())
    out[: max(0, min(height, round(height * horizon)))] = sky
    return out
