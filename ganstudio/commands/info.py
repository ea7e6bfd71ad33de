"""`ganstudio info`: versions, torch / CUDA / MPS devices, folders, supported formats."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "info", help="show versions, compute devices, folders and supported formats",
        description="Show GAN Studio, Python and library versions, torch devices (CUDA / MPS), "
                    "the model cache / data / recovery folders and the supported file formats.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-torch", action="store_true",
                   help="do not import torch (faster; devices are not listed)")
    p.set_defaults(handler=run)


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _torch_info() -> dict[str, Any]:
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - ImportError, or a broken install
        return {"installed": False, "error": f"{type(exc).__name__}: {exc}"}
    info: dict[str, Any] = {"installed": True, "version": str(torch.__version__)}
    cuda: dict[str, Any] = {"available": False, "version": getattr(torch.version, "cuda", None),
                            "devices": []}
    try:
        cuda["available"] = bool(torch.cuda.is_available())
        if cuda["available"]:
            for i in range(torch.cuda.device_count()):
                props = torch.cuda.get_device_properties(i)
                cuda["devices"].append({
                    "index": i, "name": props.name,
                    "memory_gib": round(props.total_memory / 1024 ** 3, 1),
                    "capability": f"{props.major}.{props.minor}",
                })
    except Exception as exc:  # noqa: BLE001
        cuda["error"] = str(exc)
    info["cuda"] = cuda
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    try:
        info["mps"] = {"available": bool(mps and mps.is_available()),
                       "built": bool(mps and mps.is_built())}
    except Exception:  # noqa: BLE001
        info["mps"] = {"available": False, "built": False}
    info["threads"] = torch.get_num_threads()
    return info


def collect(with_torch: bool = True) -> dict[str, Any]:
    from .. import __version__, paths
    from ..core.io import supported_formats

    packages = {
        "numpy": _version("numpy"), "Pillow": _version("pillow"),
        "OpenCV": _version("opencv-python-headless") or _version("opencv-python"),
        "PySide6": _version("PySide6-Essentials") or _version("PySide6"),
        "psygnal": _version("psygnal"), "tifffile": _version("tifffile"),
        "safetensors": _version("safetensors"), "spandrel": _version("spandrel"),
    }
    return {
        "ok": True,
        "ganstudio": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": packages,
        "torch": _torch_info() if with_torch else {"skipped": True},
        "paths": {
            "resources": str(paths.RESOURCES), "samples": str(paths.SAMPLES),
            "models": str(paths.MODELS_DIR), "catalog": str(paths.CATALOG_DIR),
            "builtin_models": str(paths.BUILTIN_MODELS), "cache": str(paths.user_cache_dir()),
            "data": str(paths.user_data_dir()), "recovery": str(paths.recovery_dir()),
        },
        "formats": supported_formats(),
    }


def run(args: argparse.Namespace) -> int:
    info = collect(with_torch=not getattr(args, "no_torch", False))
    if args.json:
        print(json.dumps(info))
        return 0
    lines = [f"GAN Studio {info['ganstudio']}  (Python {info['python']}, {info['platform']})", ""]
    lines.append("Packages:")
    for name, ver in info["packages"].items():
        lines.append(f"  {name:<12} {ver or 'not installed'}")
    t = info["torch"]
    lines.append("")
    if t.get("skipped"):
        lines.append("torch:        not checked (--no-torch)")
    elif not t["installed"]:
        lines.append(f"torch:        not available ({t['error']})")
    else:
        lines.append(f"torch:        {t['version']} ({t['threads']} CPU threads)")
        c = t["cuda"]
        lines.append(f"  CUDA:       {'yes' if c['available'] else 'no'}"
                     + (f" (CUDA {c['version']})" if c.get("version") else ""))
        for d in c["devices"]:
            lines.append(f"    cuda:{d['index']}  {d['name']}, {d['memory_gib']} GiB, "
                         f"compute {d['capability']}")
        lines.append(f"  MPS:        {'yes' if t['mps']['available'] else 'no'}")
    lines.append("")
    lines.append("Folders:")
    for name, value in info["paths"].items():
        lines.append(f"  {name:<15} {value}")
    lines.append("")
    f = info["formats"]
    lines.append(f"Open:   {', '.join(f['read'])}")
    lines.append(f"Save:   {', '.join(f['write'])}")
    print("\n".join(lines))
    return 0
