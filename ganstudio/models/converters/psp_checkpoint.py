"""e4e / SAM / pSp checkpoints (``{"state_dict", "opts", "latent_avg"}``) -> one flat tensor dict.

The official files keep ``latent_avg`` next to ``state_dict``; our ``e4e`` / ``sam`` archs hold it
as a buffer so that the strict load checks it too. This converter flattens the checkpoint
(``ganstudio.archs.e4e_arch.flatten_psp_checkpoint``: the ``encoder.`` / ``pretrained_encoder.``
/ ``decoder.`` tensors + ``latent_avg``); the file is read with ``safeload`` (torch's
weights-only unpickler; ``opts`` is plain data). Catalog: ``converter = "psp_checkpoint"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import ConversionError, register_converter


@register_converter("psp_checkpoint")
def convert(src_paths: list[Path], entry: Any) -> tuple[dict, dict]:
    from ganstudio.archs.e4e_arch import flatten_psp_checkpoint
    from ganstudio.models.safeload import ModelLoadError, load_checkpoint

    pts = [Path(p) for p in src_paths if not str(p).endswith((".pkl", ".json", ".txt"))]
    if not pts:
        raise ConversionError("psp_checkpoint: no checkpoint file")
    try:
        obj = load_checkpoint(pts[0])
        sd = flatten_psp_checkpoint(obj)
    except (ModelLoadError, ValueError) as exc:
        raise ConversionError(f"{pts[0].name}: {exc}") from None
    prefixes = sorted({k.split(".", 1)[0] for k in sd if "." in k})
    facts: dict[str, Any] = {"prefixes": prefixes, "n_styles": int(sd["latent_avg"].shape[0])}
    opts = obj.get("opts") if isinstance(obj, dict) else None
    if isinstance(opts, dict):
        keep = ("encoder_type", "stylegan_size", "output_size", "input_nc", "start_from_latent_avg",
                "start_from_encoded_w_plus")
        facts["opts"] = {k: opts[k] for k in keep
                         if k in opts and isinstance(opts[k], (int, float, str, bool))}
    return sd, facts
