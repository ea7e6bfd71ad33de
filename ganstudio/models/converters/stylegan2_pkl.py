"""NVIDIA StyleGAN2-ADA network pickles (``ffhq.pkl``, ``network-snapshot-*.pkl``) -> rosinality
StyleGAN2 tensors, WITHOUT executing anything from the file.

Why a reader of our own: those pickles are written by ``torch_utils.persistence``: every network
class is stored as ``_reconstruct_persistent_obj(meta)`` where ``meta["module_src"]`` is the source
code of ``training/networks.py``, which a normal ``pickle.load`` would ``exec``. And the tensors are
pickled the plain-pickle way: ``torch.storage._load_from_bytes(b)`` = a nested ``torch.load``.

:class:`RestrictedUnpickler` resolves globals from a fixed table only:

* ``torch_utils.persistence._reconstruct_persistent_obj`` -> :class:`PersistentObject`, an inert
  record of ``class_name`` and the object's ``state`` (the embedded source is never compiled);
* ``torch._utils._rebuild_tensor(_v2)`` / ``_rebuild_parameter(_with_state)`` and
  ``torch.storage._load_from_bytes`` -> our own re-implementations: the nested legacy-format
  storage is parsed by a second restricted unpickler that allows only ``torch.<Type>Storage``
  names, its raw bytes are copied into a new tensor (``torch.frombuffer``);
* plain data: ``collections.OrderedDict``, ``dnnlib.util.EasyDict`` (-> a dict), numpy scalars
  and dtypes (decoded from their bytes), ``numpy`` arrays and ``copyreg._reconstructor`` (inert),
  torch dtypes.

Anything else (``builtins.exec``, ``os.system``, ``subprocess``, an unknown class ...) is refused
with :class:`UnsafePickleError` naming it; nothing has run at that point. Then ``G_ema``'s
parameters and buffers are collected from the records and renamed:

=====================================  ==============================================
NVIDIA (``G_ema``)                     rosinality
=====================================  ==============================================
mapping.fc{i}.weight / .bias           style.{i+1}.weight / .bias
mapping.w_avg                          latent_avg (the truncation centre)
synthesis.b4.const [C,4,4]             input.input [1,C,4,4]
synthesis.b4.conv1.*                   conv1.* (noise_const -> noises.noise_0)
synthesis.b4.torgb.*                   to_rgb1.*
synthesis.b{R}.conv0 / conv1 / torgb   convs.{2k} / convs.{2k+1} / to_rgbs.{k}, k = log2(R) - 3
  .weight [O,I,k,k]                    .conv.weight [1,O,I,k,k]
  .affine.weight / .bias               .conv.modulation.weight / .bias
  .bias [O]                            .activate.bias [O] (torgb: .bias [1,3,1,1])
  .noise_strength []                   .noise.weight [1]
  .noise_const [R,R]                   noises.noise_{2k+1} / noises.noise_{2k+2} [1,1,R,R]
  resample_filter                      checked == [1,3,3,1]; blur / upsample kernels rebuilt
=====================================  ==============================================

No flips or transposes are needed (NVIDIA's up-sampling conv is the same transposed conv
followed by the same FIR filter). Facts returned with the tensors: ``arch_kwargs`` for
``stylegan2`` (size, style_dim, n_mlp, channel_multiplier, lr_mlp, conv_clamp) read from the
pickle's own layer attributes. A clamp is also stored as the 0-d tensor ``conv_clamp`` next to
``latent_avg``, so the converted file alone rebuilds the network exactly (the arch's ``detect``
reads both extras, its ``convert`` drops them before the strict load). Only ``skip``-architecture, unconditional, RGB StyleGAN2 generators
are accepted (StyleGAN3, ``resnet``/``orig`` generators, conditional models are refused).
"""

from __future__ import annotations

import collections
import io
import math
import pickle
import struct
from pathlib import Path
from typing import Any

from . import ConversionError, register_converter

__all__ = ["UnsafePickleError", "RestrictedUnpickler", "PersistentObject", "read_network_pickle",
           "generator_tensors", "convert_pkl", "convert_pkl_to_safetensors", "convert"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
}
TORCH_DTYPES = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
                "uint8", "bool", "float", "double", "half", "long", "int"}


class UnsafePickleError(ConversionError):
    """The pickle asks for something the restricted reader does not allow. Nothing was run."""


# --------------------------------------------------------------------------- inert records
class PersistentObject:
    """What ``_reconstruct_persistent_obj(meta)`` stands for: class name + state, no code."""

    def __init__(self, meta: Any) -> None:
        meta = meta if isinstance(meta, dict) else {}
        self.class_name = str(meta.get("class_name", "?"))
        self.version = meta.get("version")
        self.kind = meta.get("type")
        src = meta.get("module_src")
        self.module_src_chars = len(src) if isinstance(src, str) else 0  # kept as text, never run
        st = meta.get("state")
        self.state: dict = dict(st) if isinstance(st, dict) else {}

    def __repr__(self) -> str:
        return f"<persistent {self.class_name} (inert)>"


class _Inert:
    """Stand-in for an allowed data class we do not need (numpy arrays, reconstructor results)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


class _InertDict(dict):
    """``dnnlib.util.EasyDict`` as a plain dict (its methods are never needed)."""

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.update(state)


class _NpDType:
    """``numpy.dtype(spec, align, copy)`` + BUILD(state): kept as data, resolved on use."""

    def __init__(self, spec: Any = "f8", *args: Any) -> None:
        self.spec = str(spec)
        self.order = "<"

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) > 1 and state[1] in ("<", ">", "|", "="):
            self.order = state[1]

    def resolve(self):
        import numpy as np

        if not self.spec or self.spec[0] not in "fiub" or not self.spec[1:].isdigit():
            raise UnsafePickleError(f"unsupported numpy scalar type {self.spec!r}")
        dt = np.dtype(self.spec)
        return dt.newbyteorder(self.order) if self.order in "<>" else dt


def _np_scalar(dtype: Any, data: Any = b"") -> Any:
    import numpy as np

    if not isinstance(dtype, _NpDType) or not isinstance(data, (bytes, bytearray)):
        return _Inert(dtype, data)
    dt = dtype.resolve()
    if len(data) != dt.itemsize:
        raise UnsafePickleError("corrupt numpy scalar in the pickle")
    return np.frombuffer(bytes(data), dtype=dt)[0].item()


def _reconstructor(cls: Any, base: Any, state: Any = None) -> Any:
    if cls is _InertDict:
        return _InertDict()
    return _Inert(state)


# --------------------------------------------------------------------------- tensors
class _LegacyStorageRef:
    def __init__(self, dtype: str, key: str, numel: int) -> None:
        self.dtype, self.key, self.numel = dtype, key, int(numel)
        self.tensor = None


class _StorageTypeMarker:
    def __init__(self, name: str) -> None:
        self.dtype = STORAGE_DTYPES[name]


class _LegacyStorageUnpickler(pickle.Unpickler):
    """The pickle inside ``_load_from_bytes``: only ``torch.<Type>Storage`` names + persistent ids."""

    def __init__(self, fh: io.BytesIO) -> None:
        super().__init__(fh)
        self.refs: dict[str, _LegacyStorageRef] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageTypeMarker(name)
        raise UnsafePickleError(f"the pickle's tensor data asks for {module}.{name}; refused "
                                "(only torch storage types are allowed there)")

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise UnsafePickleError("unexpected persistent id in the pickle's tensor data")
        marker, key, _location, numel = pid[1], str(pid[2]), pid[3], pid[4]
        if not isinstance(marker, _StorageTypeMarker):
            raise UnsafePickleError("unexpected storage type in the pickle's tensor data")
        if len(pid) > 5 and pid[5] is not None:
            raise UnsafePickleError("storage views are not supported")
        ref = self.refs.get(key)
        if ref is None:
            ref = self.refs[key] = _LegacyStorageRef(marker.dtype, key, numel)
        return ref


def _storage_from_bytes(data: Any) -> Any:
    """``torch.storage._load_from_bytes`` without torch.load: parse the legacy single-storage
    format (magic, protocol, sys_info, object, keys, then per key int64 count + raw bytes)."""
    import torch

    if not isinstance(data, (bytes, bytearray)):
        raise UnsafePickleError("tensor data in the pickle is not bytes")
    fh = io.BytesIO(bytes(data))
    try:
        magic = _LegacyStorageUnpickler(fh).load()
        if magic != LEGACY_MAGIC:
            raise UnsafePickleError("tensor data: not a torch legacy storage (bad magic number)")
        _LegacyStorageUnpickler(fh).load()  # protocol version
        sys_info = _LegacyStorageUnpickler(fh).load()
        if isinstance(sys_info, dict) and sys_info.get("little_endian") is False:
            raise UnsafePickleError("big-endian tensor data is not supported")
        up = _LegacyStorageUnpickler(fh)
        root = up.load()
        keys = _LegacyStorageUnpickler(fh).load()
    except UnsafePickleError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise UnsafePickleError(f"corrupt tensor data in the pickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(root, _LegacyStorageRef) or not isinstance(keys, list):
        raise UnsafePickleError("tensor data in the pickle is not a single storage")
    for key in keys:
        ref = up.refs.get(str(key))
        if ref is None:
            raise UnsafePickleError("tensor data: storage key without a record")
        (count,) = struct.unpack("<q", fh.read(8))
        dtype = getattr(torch, ref.dtype)
        itemsize = torch.empty((), dtype=dtype).element_size()
        raw = fh.read(count * itemsize)
        if count != ref.numel or len(raw) != count * itemsize:
            raise UnsafePickleError("truncated tensor data in the pickle")
        ref.tensor = torch.frombuffer(bytearray(raw), dtype=dtype) if count else torch.empty(0, dtype=dtype)
    if root.tensor is None:
        raise UnsafePickleError("tensor data: storage bytes missing")
    return root


def _rebuild_tensor(storage: Any, offset: int, size: Any, stride: Any, *rest: Any) -> Any:
    import torch

    if not isinstance(storage, _LegacyStorageRef) or storage.tensor is None:
        raise UnsafePickleError("a tensor in the pickle has no readable storage")
    flat = storage.tensor
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    need = int(offset) + sum((s - 1) * st for s, st in zip(size, stride)) + 1 if all(size) else 0
    if need > flat.numel():
        raise UnsafePickleError("a tensor in the pickle points outside its storage")
    return torch.as_strided(flat, size, stride, int(offset)).clone()


def _rebuild_parameter(data: Any, requires_grad: Any = False, backward_hooks: Any = None, *rest: Any) -> Any:
    return data


def _rebuild_parameter_with_state(data: Any, requires_grad: Any = False, backward_hooks: Any = None,
                                  state: Any = None) -> Any:
    return data


def _persistent(meta: Any) -> PersistentObject:
    return PersistentObject(meta)


def _torch_dtype(name: str) -> Any:
    import torch

    return getattr(torch, name)


_NUMPY_MODS = ("numpy.core.multiarray", "numpy._core.multiarray")
_ALLOWED: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _persistent,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("torch.storage", "_load_from_bytes"): _storage_from_bytes,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("dnnlib.util", "EasyDict"): _InertDict,
    ("dnnlib", "EasyDict"): _InertDict,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("builtins", "object"): object,
    ("numpy", "dtype"): _NpDType,
    ("numpy", "ndarray"): _Inert,
}
for _m in _NUMPY_MODS:
    _ALLOWED[(_m, "scalar")] = _np_scalar
    _ALLOWED[(_m, "_reconstruct")] = _Inert


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the names of :data:`_ALLOWED` (plus torch dtypes). It never
    imports a module and never calls anything outside this file's inert stand-ins."""

    def find_class(self, module: str, name: str) -> Any:
        fn = _ALLOWED.get((module, name))
        if fn is not None:
            return fn
        if module == "torch" and name in TORCH_DTYPES:
            return _torch_dtype(name)
        hint = ""
        if module.split(".")[0] in ("torch_utils", "dnnlib", "training", "legacy"):
            hint = " (NVIDIA code referenced outside the persistence mechanism)"
        raise UnsafePickleError(
            f"refused: the network pickle asks for {module}.{name}{hint}. Only StyleGAN2-ADA "
            "network pickles (persistence-wrapped classes, torch tensors, plain data) can be read; "
            "nothing from the file was run.")

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("refused: the pickle uses persistent ids (not a network pickle)")


def read_network_pickle(path: str | Path) -> Any:
    """The top-level object of a network pickle with every class as an inert record."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(2)
            fh.seek(0)
            if head[:1] != b"\x80":
                if head == b"PK":
                    raise UnsafePickleError(f"{path.name}: a torch zip checkpoint, "
                                            "not an NVIDIA network pickle")
                raise UnsafePickleError(f"{path.name}: not a pickle file")
            return RestrictedUnpickler(fh).load()
    except UnsafePickleError as exc:
        msg = str(exc)
        raise UnsafePickleError(msg if msg.startswith(path.name) else f"{path.name}: {msg}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, struct.error) as exc:
        raise ConversionError(f"{path.name}: corrupt or truncated network pickle "
                              f"({type(exc).__name__}: {exc})") from None


# --------------------------------------------------------------------------- renaming
def _module_tensors(obj: Any, prefix: str = "", out: dict | None = None,
                    records: dict | None = None) -> tuple[dict, dict]:
    import torch

    out = {} if out is None else out
    records = {} if records is None else records
    if not isinstance(obj, PersistentObject):
        raise ConversionError(f"{prefix or 'G_ema'} is not a network record")
    records[prefix.rstrip(".")] = obj
    st = obj.state
    for group in ("_parameters", "_buffers"):
        for name, t in (st.get(group) or {}).items():
            if t is None:
                continue
            if not isinstance(t, torch.Tensor):
                raise ConversionError(f"{prefix}{name} is not a tensor")
            out[prefix + name] = t
    for name, sub in (st.get("_modules") or {}).items():
        if sub is not None:
            _module_tensors(sub, f"{prefix}{name}.", out, records)
    return out, records


def generator_tensors(top: Any, key: str = "G_ema") -> tuple[dict, dict]:
    """``(NVIDIA-named tensors, {module path: record})`` of ``top[key]``."""
    if isinstance(top, dict) and key in top:
        g = top[key]
    elif isinstance(top, PersistentObject):
        g = top
    else:
        have = list(top)[:8] if isinstance(top, dict) else type(top).__name__
        raise ConversionError(f"the pickle has no {key} network (has: {have})")
    if not isinstance(g, PersistentObject) or g.class_name != "Generator":
        raise ConversionError(f"{key} is not a StyleGAN2-ADA Generator")
    return _module_tensors(g)


def _attr(rec: Any, name: str, default: Any = None) -> Any:
    return rec.state.get(name, default) if isinstance(rec, PersistentObject) else default


def convert_pkl(path: str | Path) -> tuple[dict, dict]:
    """Read ``path`` safely and return ``(rosinality state dict + "latent_avg", facts)``."""
    import torch

    from ganstudio.archs.stylegan2_arch import make_kernel

    name = Path(path).name
    top = read_network_pickle(path)
    nv, rec = generator_tensors(top)
    g = rec[""]
    syn, mapping = rec.get("synthesis"), rec.get("mapping")
    if syn is None or mapping is None:
        raise ConversionError(f"{name}: G_ema has no mapping/synthesis networks")
    if syn.class_name != "SynthesisNetwork" or any(k.startswith("synthesis.input.") for k in nv):
        raise ConversionError(f"{name}: not a StyleGAN2 synthesis network (StyleGAN3 or other "
                              f"generators are not supported; found {syn.class_name})")
    c_dim = int(_attr(g, "c_dim", 0) or 0)
    if c_dim or "mapping.embed.weight" in nv:
        raise ConversionError(f"{name}: conditional generators (c_dim={c_dim}) are not supported")
    z_dim, w_dim = int(_attr(g, "z_dim", 0)), int(_attr(g, "w_dim", 0))
    size = int(_attr(g, "img_resolution", 0))
    if int(_attr(g, "img_channels", 3)) != 3:
        raise ConversionError(f"{name}: only RGB generators are supported")
    if z_dim != w_dim:
        raise ConversionError(f"{name}: z_dim {z_dim} != w_dim {w_dim} "
                              "(the rosinality format needs them equal)")
    if size < 8 or size & (size - 1):
        raise ConversionError(f"{name}: unsupported resolution {size}")
    log2 = int(math.log2(size))
    n_mlp = int(_attr(mapping, "num_layers", 0))
    fc0 = rec.get("mapping.fc0")
    lr_mlp = float(_attr(fc0, "bias_gain", 0.01))
    ref_filter = make_kernel([1, 3, 3, 1])
    conv_clamp = None
    for path_, r in rec.items():
        if r.class_name in ("SynthesisBlock",) and _attr(r, "architecture", "skip") != "skip":
            raise ConversionError(f"{name}: {path_} uses the '{_attr(r, 'architecture')}' architecture; "
                                  "only 'skip' (StyleGAN2 config F) is supported")
        if r.class_name in ("SynthesisLayer", "ToRGBLayer"):
            c = _attr(r, "conv_clamp")
            if c is not None:
                conv_clamp = float(c) if conv_clamp is None else conv_clamp
                if float(c) != conv_clamp:
                    raise ConversionError(f"{name}: differing conv_clamp values are not supported")
        plain = _attr(r, "use_noise", True) and _attr(r, "activation", "lrelu") == "lrelu"
        if r.class_name == "SynthesisLayer" and not plain:
            raise ConversionError(f"{name}: {path_}: only lrelu layers with noise inputs are supported")
    for k, t in nv.items():
        if k.endswith("resample_filter") and not torch.allclose(t.float(), ref_filter, atol=1e-7):
            raise ConversionError(f"{name}: {k} is not the [1,3,3,1] filter")

    used: set[str] = set()

    def take(k: str):
        if k not in nv:
            raise ConversionError(f"{name}: G_ema lacks {k}")
        used.add(k)
        return nv[k].float()

    sd: dict[str, Any] = {}
    for i in range(n_mlp):
        sd[f"style.{i + 1}.weight"] = take(f"mapping.fc{i}.weight")
        sd[f"style.{i + 1}.bias"] = take(f"mapping.fc{i}.bias")
    if "mapping.w_avg" in nv:
        sd["latent_avg"] = take("mapping.w_avg")
    sd["input.input"] = take("synthesis.b4.const").unsqueeze(0)

    def layer(src: str, dst: str, noise_idx: int) -> None:
        sd[f"{dst}.conv.weight"] = take(f"{src}.weight").unsqueeze(0)
        sd[f"{dst}.conv.modulation.weight"] = take(f"{src}.affine.weight")
        sd[f"{dst}.conv.modulation.bias"] = take(f"{src}.affine.bias")
        sd[f"{dst}.noise.weight"] = take(f"{src}.noise_strength").reshape(1)
        sd[f"{dst}.activate.bias"] = take(f"{src}.bias")
        nc = take(f"{src}.noise_const")
        sd[f"noises.noise_{noise_idx}"] = nc.reshape(1, 1, *nc.shape)

    def torgb(src: str, dst: str) -> None:
        sd[f"{dst}.conv.weight"] = take(f"{src}.weight").unsqueeze(0)
        sd[f"{dst}.conv.modulation.weight"] = take(f"{src}.affine.weight")
        sd[f"{dst}.conv.modulation.bias"] = take(f"{src}.affine.bias")
        sd[f"{dst}.bias"] = take(f"{src}.bias").reshape(1, -1, 1, 1)

    layer("synthesis.b4.conv1", "conv1", 0)
    torgb("synthesis.b4.torgb", "to_rgb1")
    up_kernel = ref_filter * 4
    for res_log in range(3, log2 + 1):
        k = res_log - 3
        b = f"synthesis.b{2 ** res_log}"
        layer(f"{b}.conv0", f"convs.{2 * k}", 2 * k + 1)
        layer(f"{b}.conv1", f"convs.{2 * k + 1}", 2 * k + 2)
        torgb(f"{b}.torgb", f"to_rgbs.{k}")
        sd[f"convs.{2 * k}.conv.blur.kernel"] = up_kernel.clone()
        sd[f"to_rgbs.{k}.upsample.kernel"] = up_kernel.clone()
    left = sorted(k for k in nv if k not in used and not k.endswith("resample_filter"))
    if left:
        raise ConversionError(f"{name}: G_ema has tensors this converter does not know: "
                              f"{', '.join(left[:6])}")
    c64 = int(sd["convs.6.conv.weight"].shape[1]) if size >= 64 else 512
    cm = c64 / 256
    kwargs: dict[str, Any] = {"size": size, "style_dim": w_dim, "n_mlp": n_mlp,
                              "channel_multiplier": int(cm) if cm == int(cm) else cm,
                              "lr_mlp": lr_mlp, "conv_clamp": conv_clamp}
    c4 = int(sd["input.input"].shape[1])
    if c4 != 512:
        kwargs["max_channels"] = c4
    if conv_clamp is not None:  # read back by the stylegan2 arch's detect (catalog kwargs win)
        sd["conv_clamp"] = torch.tensor(conv_clamp, dtype=torch.float32)
    facts = {"arch": "stylegan2", "arch_kwargs": kwargs, "source_format": "stylegan2-ada network pickle",
             "embedded_source_chars": g.module_src_chars,
             "w_avg": "latent_avg" in sd}
    return sd, facts


def convert_pkl_to_safetensors(src: str | Path, dst: str | Path) -> tuple[Path, dict]:
    """Convert and save as safetensors (facts as JSON in the metadata). Returns (dst, facts)."""
    import json

    from safetensors.torch import save_file

    sd, facts = convert_pkl(src)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in sd.items()}, str(dst),
              metadata={"converter": "stylegan2_pkl", "facts": json.dumps(facts)})
    return dst, facts


@register_converter("stylegan2_pkl")
def convert(src_paths: list[Path], entry: Any) -> tuple[dict, dict]:
    """Converter hook: the first ``.pkl`` among ``src_paths``."""
    pkls = [Path(p) for p in src_paths if str(p).endswith(".pkl")] or [Path(p) for p in src_paths]
    if not pkls:
        raise ConversionError("stylegan2_pkl: no source file")
    sd, facts = convert_pkl(pkls[0])
    want = dict(getattr(entry, "arch_kwargs", None) or {})
    for k in ("size", "conv_clamp"):
        if k in want and facts["arch_kwargs"].get(k) != want[k]:
            raise ConversionError(f"{pkls[0].name}: the pickle has {k}={facts['arch_kwargs'].get(k)!r} but "
                                  f"the catalog entry says {want[k]!r}")
    return sd, facts
