"""Safe loading of LaMa (big-lama) weights: the official Lightning checkpoint and IOPaint's TorchScript.

Nothing from the file is ever executed:

* ``read_torch_zip(path)`` parses a PyTorch zip archive (``<root>/data.pkl`` + ``<root>/data/<key>``)
  with :class:`_RestrictedUnpickler`. Its ``find_class`` resolves only an allow-list of pure data
  constructors (``collections.OrderedDict``, torch's ``_rebuild_tensor_v2`` / ``_rebuild_parameter``
  re-implemented here, ``torch.*Storage`` dtype markers, ``torch.jit._pickle.build_*list``, a few
  builtin containers). A global that can run code (``os.system``, ``builtins.eval``, ``subprocess``,
  ``importlib`` ... see ``safeload.is_dangerous``) makes the whole file refused with
  ``UnsafeCheckpointError``, as the generic loader does. Every other global - OmegaConf
  ``DictConfig``, Lightning classes, ``__torch__.*`` TorchScript module classes - becomes an inert
  placeholder class that only records its arguments/state; the real module is never imported. Tensors are rebuilt from the raw storage bytes with ``torch.frombuffer``.
  The names of the globals that were neutralised are reported (``facts["placeholders"]``).
* The TorchScript file (IOPaint ``big-lama.pt``) is read the same way - **without**
  ``torch.jit.load`` (which would compile the archive's ``code/``): its ``data.pkl`` is a tree of
  ``__torch__`` module objects whose state dicts hold the parameters; they are collected by dotted
  attribute path. The ``code/`` folder is never read.
* ``big-lama.zip`` (the official download) holds ``big-lama/models/best.ckpt``; it is read from
  inside the outer zip. Legacy (non-zip) checkpoints go through ``torch.load(weights_only=True)``.

The generator tensors (``generator.model.*`` in the Lightning checkpoint, ``*.generator.model.*``
in the TorchScript file) are renamed to spandrel's LaMa keys (``model.model.*``), loaded with
``strict=True`` into spandrel's ``LaMa`` (FFCResNetGenerator: 18 FFC ResNet blocks, ratio 0.75,
Fourier units; the same parameter names as the official code), and cached as safetensors
(``convert_to_safetensors``), so the conversion runs once.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

from .safeload import (InertPlaceholder, ModelLoadError, UnsafeCheckpointError, is_dangerous,
                       placeholder_class)

SPANDREL_PREFIX = "model.model."
ANCHOR = "model.1.ffc.convl2l.weight"  # first FFC conv of every LaMa generator
CACHE_NAME = "lama_generator.safetensors"


# -------------------------------------------------------------------------------------------------
# restricted unpickling
Placeholder = InertPlaceholder  # the inert stand-in for any global outside the allow-list


class _StorageType:
    def __init__(self, name: str) -> None:
        self.name = name


_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
    "UntypedStorage": "uint8",
}


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    import torch

    if not isinstance(storage, torch.Tensor):
        raise ModelLoadError("checkpoint tensor without storage")
    if len(size) == 0:
        return storage[storage_offset].clone()
    return torch.as_strided(storage, tuple(size), tuple(stride), storage_offset)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *state):
    return data


def _identity_list(values, *args):
    return list(values)


def _restore_type_tag(value, type_str):
    return value


def _codecs_encode(obj, encoding="utf-8", *args):
    if encoding not in ("latin1", "latin-1", "utf-8", "utf8", "ascii"):
        return Placeholder(obj, encoding)
    return str(obj).encode(encoding)


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch.jit._pickle", "build_intlist"): _identity_list,
    ("torch.jit._pickle", "build_doublelist"): _identity_list,
    ("torch.jit._pickle", "build_boollist"): _identity_list,
    ("torch.jit._pickle", "build_tensorlist"): _identity_list,
    ("torch.jit._pickle", "build_genericlist"): _identity_list,
    ("torch.jit._pickle", "restore_type_tag"): _restore_type_tag,
    ("_codecs", "encode"): _codecs_encode,
    ("builtins", "set"): set, ("builtins", "frozenset"): frozenset, ("builtins", "list"): list,
    ("builtins", "dict"): dict, ("builtins", "tuple"): tuple, ("builtins", "int"): int,
    ("builtins", "float"): float, ("builtins", "bool"): bool, ("builtins", "str"): str,
    ("builtins", "bytes"): bytes, ("builtins", "complex"): complex,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, load_storage) -> None:
        super().__init__(io.BytesIO(data))
        self._load_storage = load_storage
        self.placeholders: dict[str, type] = {}

    def find_class(self, module: str, name: str) -> Any:  # noqa: D401 - pickle API
        fn = _ALLOWED.get((module, name))
        if fn is not None:
            return fn
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        full = f"{module}.{name}"
        if is_dangerous(full):
            raise UnsafeCheckpointError(
                f"refused: this checkpoint carries code ({full}); it was not loaded and nothing "
                "from it ran. Get the model from its official source.")
        cls = self.placeholders.get(full)
        if cls is None:
            cls = placeholder_class(full)
            self.placeholders[full] = cls
        return cls

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, stype, key, _location, _numel = pid[:5]
        name = stype.name if isinstance(stype, _StorageType) else "UntypedStorage"
        return self._load_storage(str(key), _STORAGE_DTYPES.get(name, "uint8"))


def _zip_root(zf: zipfile.ZipFile) -> str:
    names = [n for n in zf.namelist() if n.endswith("data.pkl") and n.count("/") == 1]
    if not names:
        raise ModelLoadError("not a PyTorch zip archive (no <root>/data.pkl)")
    return names[0].rsplit("/", 1)[0]


def read_torch_zip(source: str | Path | zipfile.ZipFile) -> tuple[Any, dict[str, Any]]:
    """Unpickle a PyTorch zip checkpoint with the restricted unpickler. Returns (object, facts)."""
    import torch

    zf = source if isinstance(source, zipfile.ZipFile) else zipfile.ZipFile(source)
    root = _zip_root(zf)
    cache: dict[str, Any] = {}

    def load_storage(key: str, dtype_name: str):
        if key not in cache:
            raw = bytearray(zf.read(f"{root}/data/{key}"))
            dtype = getattr(torch, dtype_name)
            cache[key] = (torch.frombuffer(raw, dtype=dtype) if raw
                          else torch.empty(0, dtype=dtype))
        return cache[key]

    up = _RestrictedUnpickler(zf.read(f"{root}/data.pkl"), load_storage)
    try:
        obj = up.load()
    except ModelLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - corrupt pickle
        raise ModelLoadError(f"corrupt checkpoint pickle ({type(exc).__name__}: {exc})") from None
    names = sorted(up.placeholders)
    facts = {"placeholders": names,
             "torchscript": any(n.startswith("__torch__") for n in names)}
    return obj, facts


def collect_tensors(obj: Any, prefix: str = "", out: dict | None = None, depth: int = 0) -> dict[str, Any]:
    """Every tensor reachable through dicts and placeholder states, by dotted path."""
    import torch

    out = {} if out is None else out
    if depth > 64:
        return out
    if isinstance(obj, torch.Tensor):
        out[prefix.rstrip(".")] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, str):
                collect_tensors(v, f"{prefix}{k}.", out, depth + 1)
    elif isinstance(obj, Placeholder):
        if isinstance(obj.state, dict):
            collect_tensors(obj.state, prefix, out, depth + 1)
        elif isinstance(obj.state, tuple):
            for s in obj.state:
                if isinstance(s, dict):
                    collect_tensors(s, prefix, out, depth + 1)
    return out


# -------------------------------------------------------------------------------------------------
# generator extraction
def to_spandrel_keys(tensors: dict[str, Any]) -> dict[str, Any]:
    """Keep the LaMa generator tensors and rename them ``model.model.<i>...`` (spandrel / official).

    Accepts ``generator.model.*`` (Lightning), ``model.generator.model.*`` (TorchScript of the
    training module), ``model.model.*`` (spandrel) or a bare ``model.*`` generator state dict.
    """
    anchors = [k for k in tensors if k == ANCHOR or k.endswith("." + ANCHOR)]
    if not anchors:
        raise ModelLoadError("not a LaMa checkpoint: no generator key '...model.1.ffc.convl2l.weight'")
    # prefer the generator (the training checkpoint may also hold e.g. a copy under another name)
    anchor = sorted(anchors, key=lambda k: (not k.endswith("generator." + ANCHOR), len(k)))[0]
    prefix = anchor[: -len(ANCHOR)] + "model."
    sd = {SPANDREL_PREFIX + k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    return sd


def read_lama_file(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Generator state dict (spandrel keys, contiguous tensors) + facts of any supported LaMa file."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"no such file: {path}")
    facts: dict[str, Any] = {"source": path.name}
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        tensors = load_file(str(path))
        facts["format"] = "safetensors"
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if any(n.endswith("data.pkl") and n.count("/") == 1 for n in names):
                obj, f = read_torch_zip(zf)
            else:  # the official big-lama.zip: big-lama/models/best.ckpt (+ config.yaml)
                ckpts = sorted(n for n in names if n.endswith(".ckpt"))
                if not ckpts:
                    raise ModelLoadError(f"{path.name}: no LaMa checkpoint (*.ckpt) inside the zip")
                best = [n for n in ckpts if n.endswith("best.ckpt")] or ckpts
                facts["member"] = best[0]
                with zf.open(best[0]) as inner, zipfile.ZipFile(io.BytesIO(inner.read())) as izf:
                    obj, f = read_torch_zip(izf)
        facts.update(f)
        facts["format"] = "torchscript" if f["torchscript"] else "lightning"
        if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
            tensors = collect_tensors(obj["state_dict"])
        else:
            tensors = collect_tensors(obj)
    else:  # legacy pickle: torch's own restricted loader (refuses unknown globals)
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelLoadError(f"{path.name}: legacy checkpoint could not be loaded safely "
                                 f"({str(exc).splitlines()[0] if str(exc) else exc!r})") from None
        facts["format"] = "legacy"
        tensors = collect_tensors(obj.get("state_dict", obj) if isinstance(obj, dict) else obj)
    sd = to_spandrel_keys(tensors)
    sd = {k: v.detach().clone().contiguous() for k, v in sd.items()}
    facts["tensors"] = len(sd)
    return sd, facts


def build_lama(state_dict: dict[str, Any] | None = None):
    """spandrel's LaMa (big-lama generator). With a state dict: loaded with strict=True."""
    from spandrel.architectures.LaMa import LaMa

    model = LaMa(in_nc=4, out_nc=3)
    if state_dict is not None:
        model.load_state_dict(state_dict, strict=True)
    return model.eval()


def convert_to_safetensors(src: str | Path, dst: str | Path) -> dict[str, Any]:
    """Read ``src`` safely, check it loads strictly, write the generator as safetensors (atomic)."""
    from safetensors.torch import save_file

    sd, facts = read_lama_file(src)
    build_lama(sd)  # raises on missing / unexpected keys or wrong shapes
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    meta = {"arch": "LaMa", "source": Path(src).name, "format": str(facts.get("format")),
            "neutralised": json.dumps(facts.get("placeholders", []))[:4000]}
    save_file(sd, str(tmp), metadata=meta)
    os.replace(tmp, dst)
    return facts


def cached_generator(src: str | Path, cache_dir: str | Path) -> Path:
    """The converted safetensors of ``src`` in ``cache_dir`` (converted once, redone if src changed)."""
    src = Path(src)
    cache_dir = Path(cache_dir)
    dst = cache_dir / CACHE_NAME
    stamp = cache_dir / (CACHE_NAME + ".json")
    st = src.stat()
    key = {"source": src.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if dst.is_file() and stamp.is_file():
        try:
            if json.loads(stamp.read_text()) == key:
                return dst
        except ValueError:
            pass
    if src.suffix == ".safetensors":
        return src
    convert_to_safetensors(src, dst)
    stamp.write_text(json.dumps(key))
    return dst


def load_lama_model(src: str | Path, cache_dir: str | Path | None = None):
    """An eval-mode spandrel LaMa with the weights of ``src`` (strict), via the safetensors cache."""
    from safetensors.torch import load_file

    src = Path(src)
    path = cached_generator(src, cache_dir) if cache_dir is not None else None
    if path is not None:
        sd = load_file(str(path))
        if not any(k.startswith(SPANDREL_PREFIX) for k in sd):
            sd = to_spandrel_keys(sd)
    else:
        sd, _ = read_lama_file(src)
    return build_lama(sd)
