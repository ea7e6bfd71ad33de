"""Latent edits on StyleGAN2 W+ codes: InterFaceGAN directions and GANSpace components.

Both are CATALOG DATA (models/catalog/face.toml): each direction file is a component of the face
bundle whose ``arch_kwargs`` say what it is, so a new edit is a catalog edit::

    components.smile    = { file = "smile.pt", arch_kwargs = { kind = "interfacegan", edit = "smile",
                                                             label = "Smile", range = [-3.0, 3.0] } }
    components.ganspace = { file = "ffhq_pca.pt", arch_kwargs = { kind = "ganspace",
                            presets = { glasses = [12, 0, 4, 10.0], ... }, labels = { ... } } }

Math (as omertov/encoder4editing ``editings/``):

* InterFaceGAN: ``w' = w + factor * direction``; a [1, 512] direction broadcasts over the W+ rows,
  a [1, 18, 512] one (pose.pt) is per layer.
* GANSpace (``ffhq_pca.pt`` = ``{mean [1,512], comp [80,1,512], std [80]}``), preset
  ``(idx, start, end, strength)``: ``coord = <w[0] - mean, comp[idx]> / std[idx]``,
  ``delta = (strength - coord) * comp[idx] * std[idx]`` added to rows ``start:end``. The official
  code applies the preset fully; a slider value ``a`` here adds ``a * delta`` (``a = 1`` is exactly
  the official edit, 0 none, negative the opposite way).

Several edits at once: every delta is computed from the unedited code and the deltas are summed,
so the result does not depend on the order of the sliders. Edits are cheap (a few vector ops):
the encoder never runs again, only the generator (the face task caches W+ per face).

torch is imported inside the functions (task layer rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

__all__ = ["EditSpec", "EditDirections", "interfacegan_edit", "ganspace_coord", "ganspace_delta",
           "ganspace_edit", "specs_from_entry", "load_directions", "directions_from_files",
           "DirectionError"]


class DirectionError(ValueError):
    """A direction / PCA file or a preset does not fit (message names it)."""


@dataclass(frozen=True)
class EditSpec:
    """One named edit. ``kind``: "interfacegan" (``file`` holds the direction) or "ganspace"
    (``file`` holds the PCA; ``preset = (idx, start, end, strength)``)."""

    name: str
    kind: str
    file: str
    label: str = ""
    minimum: float = -3.0
    maximum: float = 3.0
    preset: tuple[int, int, int, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "kind": self.kind, "file": self.file, "label": self.label or self.name,
             "range": [self.minimum, self.maximum]}
        if self.preset is not None:
            d["preset"] = list(self.preset)
        return d


# --------------------------------------------------------------------------- math
def _as_torch(w: Any):
    import numpy as np
    import torch

    if isinstance(w, torch.Tensor):
        return w, None
    return torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32)), "numpy"


def _back(t: Any, kind: str | None):
    return t.detach().cpu().numpy() if kind == "numpy" else t


def interfacegan_edit(w: Any, direction: Any, factor: float) -> Any:
    """``w + factor * direction``; ``w`` [n, dim] or [B, n, dim]; direction [1,dim], [dim] or
    [1, n, dim] / [n, dim]. numpy in -> numpy out."""
    wt, kind = _as_torch(w)
    d = _as_torch(direction)[0].to(wt.dtype).to(wt.device)
    n, dim = wt.shape[-2], wt.shape[-1]
    if d.shape[-1] != dim:
        raise DirectionError(f"direction has {d.shape[-1]} features, the latent {dim}")
    if d.ndim == 3:
        d = d[0]
    if d.ndim == 2 and d.shape[0] not in (1, n):
        raise DirectionError(f"direction has {d.shape[0]} layers, the latent {n}")
    return _back(wt + float(factor) * d, kind)


def _pca_parts(pca: Mapping[str, Any]):
    try:
        mean, comp, std = pca["mean"], pca["comp"], pca["std"]
    except (KeyError, TypeError):
        raise DirectionError("a GANSpace PCA needs 'mean', 'comp' and 'std'") from None
    return _as_torch(mean)[0], _as_torch(comp)[0], _as_torch(std)[0]


def ganspace_coord(w: Any, pca: Mapping[str, Any], idx: int) -> Any:
    """Coordinate of the first W+ row along component ``idx``, in units of its std. [B] or 0-d."""
    wt, _ = _as_torch(w)
    mean, comp, std = _pca_parts(pca)
    first = wt[..., 0, :] - mean.reshape(-1).to(wt)
    return (first * comp[idx].reshape(-1).to(wt)).sum(-1) / std[idx].to(wt)


def ganspace_delta(w: Any, pca: Mapping[str, Any], idx: int, start: int, end: int, strength: float) -> Any:
    """The official GANSpace delta for one preset, as a tensor shaped like ``w`` (zero outside
    rows ``start:end``)."""
    import torch

    wt, _ = _as_torch(w)
    mean, comp, std = _pca_parts(pca)
    n = wt.shape[-2]
    if not (0 <= idx < comp.shape[0]):
        raise DirectionError(f"GANSpace component {idx} out of range (the PCA has {comp.shape[0]})")
    if not (0 <= start < end <= n):
        raise DirectionError(f"GANSpace layers {start}:{end} out of range for {n} W+ rows")
    coord = ganspace_coord(wt, pca, idx)                              # [B] or []
    direction = comp[idx].reshape(-1).to(wt) * std[idx].to(wt)        # [dim]
    delta_row = (float(strength) - coord)[..., None] * direction      # [B, dim] or [dim]
    out = torch.zeros_like(wt)
    out[..., start:end, :] = delta_row[..., None, :]
    return out


def ganspace_edit(w: Any, pca: Mapping[str, Any], idx: int, start: int, end: int, strength: float,
                  amount: float = 1.0) -> Any:
    """``w + amount * delta`` (``amount = 1``: the official edit). numpy in -> numpy out."""
    wt, kind = _as_torch(w)
    return _back(wt + float(amount) * ganspace_delta(wt, pca, idx, start, end, strength), kind)


# --------------------------------------------------------------------------- catalog data
def _range(v: Any, default: tuple[float, float]) -> tuple[float, float]:
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return float(v[0]), float(v[1])
    return default


def specs_from_entry(entry: Any) -> list[EditSpec]:
    """The edits a catalog entry declares through its components' ``arch_kwargs``."""
    specs: list[EditSpec] = []
    for cname, comp in (getattr(entry, "components", None) or {}).items():
        kw = dict(getattr(comp, "arch_kwargs", None) or {})
        kind = kw.get("kind", "")
        where = f"{getattr(entry, 'id', '?')}: component {cname}"
        if kind == "interfacegan":
            lo, hi = _range(kw.get("range"), (-3.0, 3.0))
            specs.append(EditSpec(name=str(kw.get("edit", cname)), kind=kind, file=comp.file,
                                  label=str(kw.get("label", "")), minimum=lo, maximum=hi))
        elif kind == "ganspace":
            labels = dict(kw.get("labels", {}) or {})
            ranges = dict(kw.get("ranges", {}) or {})
            for name, p in dict(kw.get("presets", {}) or {}).items():
                if not (isinstance(p, (list, tuple)) and len(p) == 4):
                    raise DirectionError(f"{where}: preset {name} must be [idx, start, end, strength]")
                lo, hi = _range(ranges.get(name), (-3.0, 3.0))
                specs.append(EditSpec(name=str(name), kind=kind, file=comp.file,
                                      label=str(labels.get(name, "")), minimum=lo, maximum=hi,
                                      preset=(int(p[0]), int(p[1]), int(p[2]), float(p[3]))))
        elif kind:
            raise DirectionError(f"{where}: unknown edit kind {kind!r} (interfacegan, ganspace)")
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DirectionError(f"{getattr(entry, 'id', '?')}: edit names declared twice: {dup}")
    return specs


@dataclass
class EditDirections:
    """Loaded edits of one face model: ``names()``, ``has(name)``, ``spec(name)``,
    ``apply(w, {name: value})``."""

    specs: dict[str, EditSpec]
    data: dict[str, Any] = field(default_factory=dict)   # file name -> tensor / PCA dict

    def names(self) -> list[str]:
        return list(self.specs)

    def has(self, name: str) -> bool:
        return name in self.specs

    def spec(self, name: str) -> EditSpec:
        try:
            return self.specs[name]
        except KeyError:
            raise DirectionError(f"unknown edit {name!r} (known: {', '.join(self.specs)})") from None

    def delta(self, w: Any, name: str, value: float) -> Any:
        """The change edit ``name`` at ``value`` makes to ``w`` (torch tensor like ``w``)."""
        wt, _ = _as_torch(w)
        s = self.spec(name)
        src = self.data.get(s.file)
        if src is None:
            raise DirectionError(f"edit {name}: its file {s.file} is not loaded")
        if s.kind == "interfacegan":
            return interfacegan_edit(wt, src, value) - wt
        idx, start, end, strength = s.preset  # type: ignore[misc]
        return float(value) * ganspace_delta(wt, src, idx, start, end, strength)

    def apply(self, w: Any, edits: Mapping[str, float]) -> Any:
        """All edits from the same unedited ``w`` (order-independent); numpy in -> numpy out."""
        wt, kind = _as_torch(w)
        out = wt.clone()
        for name, value in edits.items():
            if float(value) != 0.0:
                out = out + self.delta(wt, name, float(value))
        return _back(out, kind)


def _load_file(path: Path, kind: str) -> Any:
    import torch

    from ganstudio.models.safeload import load_checkpoint

    obj = load_checkpoint(path)
    if kind == "ganspace":
        if not isinstance(obj, dict) or not {"mean", "comp", "std"} <= set(obj):
            raise DirectionError(f"{path.name}: not a GANSpace PCA (needs mean, comp, std)")
        return {k: obj[k].float() for k in ("mean", "comp", "std")}
    if isinstance(obj, dict):
        tensors = [v for v in obj.values() if isinstance(v, torch.Tensor)]
        if len(tensors) != 1:
            raise DirectionError(f"{path.name}: expected one direction tensor")
        obj = tensors[0]
    if not isinstance(obj, torch.Tensor):
        raise DirectionError(f"{path.name}: not a direction tensor")
    return obj.float()


def directions_from_files(specs: list[EditSpec], files: Mapping[str, str | Path]) -> EditDirections:
    """Load the files the specs name (``files``: file name -> path). Edits whose file is absent
    are left out."""
    data: dict[str, Any] = {}
    keep: dict[str, EditSpec] = {}
    for s in specs:
        p = files.get(s.file)
        if p is None or not Path(p).is_file():
            continue
        if s.file not in data:
            data[s.file] = _load_file(Path(p), s.kind)
        keep[s.name] = s
    return EditDirections(keep, data)


def load_directions(model_id: str, store: Any = None) -> EditDirections | None:
    """The edits of an installed catalog model (``None`` when it declares none)."""
    if store is None:
        from ganstudio.models.store import default_store

        store = default_store()
    entry = store.entry(model_id)
    specs = specs_from_entry(entry)
    if not specs:
        return None
    files = {}
    for s in specs:
        try:
            files[s.file] = store.path_of(model_id, s.file)
        except Exception:  # noqa: BLE001 - not installed: that edit is unavailable
            continue
    return directions_from_files(specs, files)
