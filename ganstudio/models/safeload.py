"""Safe loading of checkpoint files: nothing is ever unpickled in a way that can run code.

* ``.safetensors``: loaded with safetensors (no code at all). Preferred; converted weights use it.
* anything else (``.pth``, ``.pt``, ``.ckpt``, ``.bin``): the pickle's imports are listed first by
  reading its opcodes (nothing executed). If it imports from a module that can run code
  (``os``, ``subprocess``, ``builtins`` (eval/exec/getattr...), ``importlib``, NVIDIA's
  ``torch_utils.persistence`` / ``dnnlib`` which embed source code, ...) the file is refused with
  :class:`UnsafeCheckpointError`, without loading it.
  Otherwise it is loaded with ``torch.load(weights_only=True)`` - torch's restricted unpickler.
  Globals outside torch's allow-list that are plain data classes (Lightning / OmegaConf configs,
  ``pathlib`` paths, argparse Namespaces, ...) are mapped to **inert placeholders**: for each such
  name we register, via ``torch.serialization.safe_globals([(Placeholder, "module.Name")])``, a
  fresh class that only records its constructor arguments and state. The real module is never
  imported and none of its code runs; the tensors come out intact and the placeholders are dropped.
"""

from __future__ import annotations

import io
import pickletools
import zipfile
from pathlib import Path
from typing import Any

# Module roots whose presence in a pickle means it carries / runs code. Refused outright.
DANGEROUS_MODULE_ROOTS = {
    "os", "posix", "nt", "subprocess", "sys", "builtins", "__builtin__", "importlib", "runpy",
    "shutil", "socket", "pickle", "_pickle", "marshal", "types", "code", "codeop", "ctypes",
    "webbrowser", "pty", "commands", "popen2", "multiprocessing", "pdb", "bdb", "timeit",
    "dill", "cloudpickle", "joblib", "torch_utils", "dnnlib", "requests", "urllib", "http",
    "ftplib", "telnetlib", "smtplib", "zipimport", "pkgutil", "site", "setuptools", "pip",
}
# Individual callables that are dangerous even though their module is not.
DANGEROUS_NAMES = {"torch.load", "torch.hub.load", "torch.jit.load", "torch._C._jit_compile",
                   "numpy.load", "numpy.lib.npyio.load", "torch.serialization.load",
                   "torch.storage._load_from_bytes"}
# Harmless data helpers that torch's weights_only unpickler already allows (not placeholders).
_CODECS_OK = {"_codecs.encode"}


class ModelLoadError(Exception):
    """A weights file could not be loaded (corrupt, truncated, wrong format). Message is user-facing."""


class UnsafeCheckpointError(ModelLoadError):
    """The file is a pickle that would run code when loaded. It was not loaded."""


def pickle_globals(data: bytes, max_pickles: int = 6) -> list[str]:
    """The ``module.name`` globals a pickle stream imports, read from its opcodes (never executed).

    Handles GLOBAL / INST (protocol 0-3) and STACK_GLOBAL (protocol 4+, whose module and name are
    the two strings pushed before it, possibly fetched from the memo). Several pickles in a row
    (torch's legacy format) are scanned until the stream stops being a pickle.
    """
    found: list[str] = []
    stream = io.BytesIO(data)
    for _ in range(max_pickles):
        start = stream.tell()
        if start >= len(data):
            break
        strings: list[Any] = []
        memo: dict[int, Any] = {}
        try:
            for op, arg, _pos in pickletools.genops(stream):
                name = op.name
                if name in ("GLOBAL", "INST"):
                    mod, _, attr = str(arg).partition(" ")
                    found.append(f"{mod}.{attr}")
                elif name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE",
                              "SHORT_BINSTRING", "BINSTRING", "STRING"):
                    strings.append(arg)
                elif name == "MEMOIZE":
                    memo[len(memo)] = strings[-1] if strings else None
                elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
                    memo[int(arg)] = strings[-1] if strings else None
                elif name in ("BINGET", "LONG_BINGET", "GET"):
                    strings.append(memo.get(int(arg)))
                elif name == "STACK_GLOBAL":
                    mod, attr = (strings[-2], strings[-1]) if len(strings) >= 2 else ("?", "?")
                    found.append(f"{mod}.{attr}")
        except Exception:  # noqa: BLE001 - end of the pickle part of the file (raw tensor bytes)
            if stream.tell() == start:
                break
            break
    return found


def _pickle_bytes(path: Path) -> bytes:
    """The pickle part of a torch checkpoint (data.pkl of the zip format, or the legacy stream)."""
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.endswith("data.pkl")]
                if not names:
                    raise ModelLoadError(f"{path.name}: a zip file without a torch data.pkl "
                                         "(not a PyTorch checkpoint)")
                return zf.read(names[0])
        except zipfile.BadZipFile as exc:
            raise ModelLoadError(f"{path.name}: corrupt or truncated checkpoint ({exc})") from None
    with open(path, "rb") as fh:
        return fh.read(64 * 1024 * 1024)  # the legacy pickle parts come first


def is_dangerous(global_name: str) -> bool:
    root = global_name.split(".", 1)[0]
    if global_name in _CODECS_OK:
        return False
    if root in DANGEROUS_MODULE_ROOTS or global_name in DANGEROUS_NAMES:
        return True
    return "persistence" in global_name or "_reconstruct_persistent_obj" in global_name


def check_pickle(path: str | Path) -> list[str]:
    """Raise UnsafeCheckpointError if the checkpoint's pickle imports code; return its globals."""
    path = Path(path)
    names = pickle_globals(_pickle_bytes(path))
    bad = sorted({n for n in names if is_dangerous(n)})
    if bad:
        raise UnsafeCheckpointError(
            f"{path.name} is a pickle that carries code (it imports {', '.join(bad[:6])}); "
            "it was NOT loaded. Only use checkpoints from a source you trust, or convert them to "
            ".safetensors with a trusted tool.")
    return names


class InertPlaceholder:
    """Stand-in for a non-allow-listed class found in a checkpoint. Records data, runs nothing."""

    _ganstudio_placeholder_for = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs, self.state, self.items = args, kwargs, None, {}

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.items[key] = value

    def append(self, value: Any) -> None:
        self.items[len(self.items)] = value

    def extend(self, values: Any) -> None:
        for v in values:
            self.append(v)

    def __call__(self, *args: Any, **kwargs: Any) -> InertPlaceholder:
        return InertPlaceholder(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<inert placeholder for {self._ganstudio_placeholder_for}>"


def placeholder_class(name: str) -> type:
    """A fresh InertPlaceholder subclass standing for the global ``name`` (module.qualname)."""
    mod, _, qual = name.rpartition(".")
    cls = type(qual or "Placeholder", (InertPlaceholder,), {"_ganstudio_placeholder_for": name})
    cls.__module__ = mod or "__main__"
    return cls


def _torch_load(path: Path, extra_globals: list[str]) -> Any:
    import torch

    pairs = [(placeholder_class(n), n) for n in sorted(set(extra_globals))]
    mmap = zipfile.is_zipfile(path)
    try:
        with torch.serialization.safe_globals(pairs):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as exc:  # noqa: BLE001
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelLoadError(f"{path.name}: could not be loaded safely: {msg}") from None


def _allowed_by_torch(names: list[str]) -> set[str]:
    import torch

    allowed = set()
    try:
        from torch._weights_only_unpickler import _get_allowed_globals

        allowed |= set(_get_allowed_globals().keys())
    except Exception:  # noqa: BLE001 - private API moved: fall back to the common names
        pass
    allowed |= {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                "torch._utils._rebuild_parameter", "_codecs.encode"}
    allowed |= {f"torch.{t}" for t in dir(torch) if t.endswith("Storage")}
    return {n for n in names if n in allowed or n.startswith("torch.")}


def load_checkpoint(path: str | Path) -> Any:
    """Load any supported checkpoint safely; returns the object (dict of tensors for safetensors)."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"no such weights file: {path}")
    if path.stat().st_size == 0:
        raise ModelLoadError(f"{path.name} is empty (truncated download?)")
    with open(path, "rb") as fh:
        head = fh.read(16)
    if path.suffix == ".safetensors" or _looks_like_safetensors(head):
        return _load_safetensors(path)
    if path.suffix in (".param", ".onnx", ".pb"):
        raise ModelLoadError(f"{path.name}: not a torch checkpoint (convert it first)")
    if not (zipfile.is_zipfile(path) or head[:1] == b"\x80"):
        raise ModelLoadError(f"{path.name}: not a PyTorch or safetensors checkpoint "
                             "(or the file is truncated / corrupt)")
    names = check_pickle(path)
    unknown = [n for n in set(names) if n not in _allowed_by_torch(names)]
    return _torch_load(path, unknown)


def _looks_like_safetensors(head: bytes) -> bool:
    return len(head) >= 9 and head[8:9] == b"{"


def _load_safetensors(path: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # noqa: BLE001
        raise ModelLoadError(f"{path.name}: corrupt, truncated or tampered safetensors file "
                             f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


STATE_DICT_KEYS = ("params_ema", "params", "state_dict", "model_state_dict", "model", "g_ema",
                   "generator", "net_g", "net")


def extract_state_dict(obj: Any, key: str = "") -> dict[str, Any]:
    """The tensor dict inside a loaded checkpoint: ``key`` if given, else the usual wrappers."""
    import torch

    if key:
        if not isinstance(obj, dict) or key not in obj:
            have = list(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
            raise ModelLoadError(f"checkpoint has no '{key}' entry (has: {have})")
        obj = obj[key]
    elif isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for k in STATE_DICT_KEYS:
            if k in obj and isinstance(obj[k], dict):
                obj = obj[k]
                break
    if not isinstance(obj, dict):
        raise ModelLoadError(f"checkpoint holds a {type(obj).__name__}, not a state dict")
    sd = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not sd:
        raise ModelLoadError("checkpoint contains no tensors")
    return sd
