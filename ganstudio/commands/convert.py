"""`ganstudio convert IN OUT`: between PNG, JPEG, WebP, TIFF, BMP and OpenRaster (.ora).

.ora in -> flattened image out (or, with --explode, a folder with one PNG per layer + layers.json);
image -> .ora project; image -> image (ICC, EXIF, 16 bits and alpha kept where the format allows).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "convert", help="convert between image formats and OpenRaster projects",
        description="Convert IN to OUT; formats from the content of IN and the extension of OUT "
                    "(.png .jpg .webp .tif .bmp .ora). A project (.ora) is flattened unless --explode.")
    p.add_argument("input", metavar="IN", help="image or .ora project to read")
    p.add_argument("output", metavar="OUT", help="file to write (or folder with --explode)")
    p.add_argument("--quality", type=int, default=92, metavar="N", help="JPEG/WebP quality 1-100 (92)")
    p.add_argument("--lossless", action="store_true", help="lossless WebP")
    p.add_argument("--compression", default=None,
                   help="PNG: zlib level 0-9; TIFF: deflate|lzw|packbits|jpeg|none")
    p.add_argument("--explode", action="store_true",
                   help="write OUT as a folder with one PNG per layer (and layers.json)")
    p.add_argument("--allow-huge", action="store_true",
                   help="open images over the decompression-bomb pixel limit")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run)


def _safe_filename(name: str) -> str:
    name = re.sub(r"[^\w\-. ]+", "_", name, flags=re.UNICODE).strip(" .")
    return name[:80] or "layer"


def _explode(doc: Any, folder: Path) -> list[str]:
    import numpy as np

    from ..core.io.atomic import write_bytes_atomic
    from ..core.io.pngchunks import encode_png

    folder.mkdir(parents=True, exist_ok=True)
    files, manifest = [], []
    for index, layer in enumerate(doc.layers):  # bottom first
        rgba = np.array(layer.rgba())
        mask = layer.effective_mask
        if mask is not None:
            a = rgba[:, :, 3].astype(np.uint32) * mask
            rgba[:, :, 3] = ((a + 127) // 255).astype(rgba.dtype)
        name = f"{index:02d}-{_safe_filename(layer.name)}.png"
        write_bytes_atomic(folder / name, encode_png(rgba, icc=doc.icc_profile))
        files.append(str(folder / name))
        x, y = layer.offset
        manifest.append({"file": name, "name": layer.name, "x": x, "y": y, "opacity": layer.opacity,
                         "visible": layer.visible, "blend_mode": layer.blend_mode.value,
                         "kind": layer.kind})
    manifest_doc = {"width": doc.width, "height": doc.height, "layers": manifest}
    write_bytes_atomic(folder / "layers.json", json.dumps(manifest_doc, indent=1).encode())
    files.append(str(folder / "layers.json"))
    return files


def run(args: argparse.Namespace) -> int:
    from .errors import CliError
    from ..core.io import ImageFileError, export_image, open_document, save_ora
    from ..core.io.image_io import format_for_path

    src, dst = Path(args.input), Path(args.output)
    if not 1 <= args.quality <= 100:
        raise CliError(f"--quality must be between 1 and 100, got {args.quality}")
    compression: Any = args.compression
    if compression is not None and compression.isdigit():
        compression = int(compression)
    notes: list[str] = []
    try:
        doc = open_document(src, allow_huge=args.allow_huge)
        if args.explode:
            files = _explode(doc, dst)
            fmt = "PNG layers"
        elif dst.suffix.lower() == ".ora":
            save_ora(doc, dst, mark_saved=False)
            files, fmt = [str(dst)], "ORA"
        else:
            fmt = format_for_path(dst)
            notes = export_image(doc, dst, quality=args.quality, lossless=args.lossless,
                                 compression=compression)
            files = [str(dst)]
    except ImageFileError as exc:
        raise CliError(str(exc)) from exc
    except ValueError as exc:
        raise CliError(f"cannot convert {src.name}: {exc}") from exc
    except OSError as exc:
        raise CliError(f"cannot write {dst}: {exc.strerror or exc}") from exc
    bit_depth = 16 if any(getattr(la, "bit_depth", 8) == 16 for la in doc.layers) else 8
    result = {"ok": True, "input": str(src), "output": str(dst), "format": fmt,
              "width": doc.width, "height": doc.height, "layers": len(doc.layers),
              "bit_depth": bit_depth, "files": files,
              "notes": list(doc.metadata.get("import_notes", [])) + notes}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{src} -> {dst} ({fmt}, {doc.width}x{doc.height}, {len(doc.layers)} layer(s), "
              f"{bit_depth}-bit)")
        for note in result["notes"]:
            print(f"  note: {note}")
    return 0
