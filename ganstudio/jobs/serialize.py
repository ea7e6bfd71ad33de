"""Plain data <-> JSON (+ raw array buffers) for jobs: numpy arrays, Rects, tuples, dicts, lists,
numbers, strings, None.

Two forms:

* ``dumps(obj) -> str`` / ``loads(text)``: self-contained JSON, arrays inline as base64 (files,
  tests, a remote worker);
* ``pack(obj) -> (header: bytes, buffers: list[memoryview])`` / ``unpack(header, buffers)``: the
  JSON header refers to the arrays by index and their bytes travel separately, uncopied (the child
  process backend sends them with ``Connection.send_bytes``).

Nothing executable is ever decoded: only the tags below are understood, arrays are rebuilt from
dtype + shape + bytes (object dtypes are refused).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from ganstudio.core.geometry import Rect

_ARRAY, _RECT, _TUPLE, _BYTES, _DICT = "__ndarray__", "__rect__", "__tuple__", "__bytes__", "__dict__"


class SerializeError(TypeError):
    pass


def _encode(obj: Any, buffers: list | None) -> Any:
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise SerializeError("arrays of Python objects cannot be serialised")
        a = np.ascontiguousarray(obj)
        meta = {"dtype": a.dtype.str, "shape": list(a.shape)}
        if buffers is None:
            meta["data"] = base64.b64encode(a.tobytes()).decode("ascii")
        else:
            meta["buffer"] = len(buffers)
            buffers.append(memoryview(a).cast("B") if a.size else memoryview(b""))
        return {_ARRAY: meta}
    if isinstance(obj, Rect):
        return {_RECT: [obj.x, obj.y, obj.w, obj.h]}
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return {_BYTES: base64.b64encode(bytes(obj)).decode("ascii")}
    if isinstance(obj, tuple):
        return {_TUPLE: [_encode(v, buffers) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, buffers) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and not any(k.startswith("__") for k in obj):
            return {k: _encode(v, buffers) for k, v in obj.items()}
        return {_DICT: [[_encode(k, buffers), _encode(v, buffers)] for k, v in obj.items()]}
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return _encode(to_dict(), buffers)
    raise SerializeError(f"cannot serialise {type(obj).__name__}")


def _decode(obj: Any, buffers: list | None) -> Any:
    if isinstance(obj, list):
        return [_decode(v, buffers) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        (key, val), = obj.items()
        if key == _ARRAY:
            dtype = np.dtype(val["dtype"])
            if dtype.hasobject:
                raise SerializeError("arrays of Python objects cannot be deserialised")
            shape = tuple(int(s) for s in val["shape"])
            if "data" in val:
                raw: Any = base64.b64decode(val["data"])
            else:
                if buffers is None:
                    raise SerializeError("array buffer missing")
                raw = buffers[int(val["buffer"])]
            arr = np.frombuffer(raw, dtype=dtype) if len(raw) else np.zeros(0, dtype)
            return arr.reshape(shape).copy()  # writable, owns its memory
        if key == _RECT:
            return Rect(*(int(v) for v in val))
        if key == _TUPLE:
            return tuple(_decode(v, buffers) for v in val)
        if key == _BYTES:
            return base64.b64decode(val)
        if key == _DICT:
            return {_decode(k, buffers): _decode(v, buffers) for k, v in val}
    return {k: _decode(v, buffers) for k, v in obj.items()}


def to_plain(obj: Any) -> Any:
    """JSON-ready structure with arrays inline (base64)."""
    return _encode(obj, None)


def from_plain(obj: Any) -> Any:
    return _decode(obj, None)


def dumps(obj: Any) -> str:
    return json.dumps(_encode(obj, None), separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    return _decode(json.loads(text), None)


def pack(obj: Any) -> tuple[bytes, list[memoryview]]:
    buffers: list[memoryview] = []
    header = json.dumps(_encode(obj, buffers), separators=(",", ":")).encode("utf-8")
    return header, buffers


def unpack(header: bytes, buffers: list[Any]) -> Any:
    return _decode(json.loads(header.decode("utf-8")), list(buffers))


__all__ = ["SerializeError", "dumps", "from_plain", "loads", "pack", "to_plain", "unpack"]
