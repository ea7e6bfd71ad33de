"""OpenRaster (.ora) projects: the GAN Studio project format, readable by GIMP, Krita and MyPaint.

Layout written by :func:`save_ora`::

    mimetype                      "image/openraster", first member, stored (uncompressed)
    stack.xml                     <image w h xres yres> <stack> <layer .../> ... (top layer first);
                                  layer groups as nested <stack name opacity visibility
                                  composite-op isolation> ("auto" = pass-through, "isolate")
    data/layer000.png ...         what GIMP/Krita show for each layer (8- or 16-bit RGBA PNG)
    data/layer000-*.png / .json   our exact data: raw pixels under a mask, the mask, label class ids,
                                  label palette (referenced by ganstudio:* attributes)
    mergedimage.png               the composite (with the ICC profile)
    Thumbnails/thumbnail.png      <= 256 px
    ganstudio/...                 document extras: selection, ai mask, ICC profile, EXIF, document.json

Our extra attributes live in the namespace ``https://ganstudio.org/ns/ora/1`` (prefix ``ganstudio``);
other programs ignore them. :func:`load_ora` also opens files written by GIMP and Krita (nested
stacks become layer groups with their opacity, visibility, blend mode and isolation; what could not
be kept is listed in ``doc.metadata["import_notes"]``) and refuses unsafe archives with
:class:`ProjectFileError`.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from .atomic import atomic_write
from .errors import ImageFileError, ImageTooLargeError, ProjectFileError, _show, save_error
from ..pixels import document_bit_depth, to_8bit
from .decode import decode_image
from .formats import check_pixel_limit
from .pngchunks import decode_png_array, encode_png, png_header

if TYPE_CHECKING:
    from ..document import Document
    from ..layers import Layer

MIMETYPE = "image/openraster"
NS = "https://ganstudio.org/ns/ora/1"
_G = "{%s}" % NS
ET.register_namespace("ganstudio", NS)

#: archive guards (declared sizes, checked before anything is decompressed)
MAX_XML_BYTES = 16 * 1024 * 1024
MAX_MEMBER_BYTES = 2 * 1024 ** 3
MAX_TOTAL_BYTES = 8 * 1024 ** 3
MAX_MEMBERS = 10_000
#: all layer images of one project together (PNG layers can compress ~1000:1, so declared sizes
#: alone do not bound memory); about 16 GB of RGBA8
MAX_TOTAL_PIXELS = 4_000_000_000
THUMBNAIL_SIZE = 256

_BLEND_TO_ORA = {
    "normal": "svg:src-over", "multiply": "svg:multiply", "screen": "svg:screen",
    "overlay": "svg:overlay", "darken": "svg:darken", "lighten": "svg:lighten",
    "soft-light": "svg:soft-light", "hard-light": "svg:hard-light", "add": "svg:plus",
    "difference": "svg:difference", "color-dodge": "svg:color-dodge",
    "color-burn": "svg:color-burn", "exclusion": "svg:exclusion", "hue": "svg:hue",
    "saturation": "svg:saturation", "color": "svg:color", "luminosity": "svg:luminosity",
}
_ORA_TO_BLEND = {v: k for k, v in _BLEND_TO_ORA.items()}
_ORA_TO_BLEND.update({
    "svg:add": "add", "svg:linear-dodge": "add", "svg:normal": "normal",
    # Krita writes "krita:<composite op id>" for ops the ORA list lacks (exclusion) and reads
    # these ids back (KoCompositeOpRegistry.h); its HSY hue/color/saturation/luminize use Rec. 601
    # luma like the W3C modes
    "krita:normal": "normal", "krita:multiply": "multiply", "krita:screen": "screen",
    "krita:overlay": "overlay", "krita:darken": "darken", "krita:lighten": "lighten",
    "krita:dodge": "color-dodge", "krita:burn": "color-burn", "krita:hard_light": "hard-light",
    "krita:soft_light_svg": "soft-light", "krita:add": "add", "krita:linear_dodge": "add",
    "krita:diff": "difference", "krita:exclusion": "exclusion", "krita:hue": "hue",
    "krita:saturation": "saturation", "krita:color": "color", "krita:luminize": "luminosity",
    # old Krita exports wrote these without a prefix
    "color-dodge": "color-dodge", "difference": "difference",
})
#: composite-ops some programs put on a group to say "pass-through"
_PASS_THROUGH_OPS = ("svg:pass-through", "mypaint:pass-through", "krita:pass through",
                     "gimp:pass-through")


# ---------------------------------------------------------------------------------------------
# saving
# ---------------------------------------------------------------------------------------------
def _b(value: bool) -> str:
    return "true" if value else "false"


def _json_safe(meta: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in meta.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        out[str(key)] = value
    return out


def _masked(rgba: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.array(rgba)
    a = out[:, :, 3].astype(np.uint32) * mask.astype(np.uint32)
    out[:, :, 3] = ((a + 127) // 255).astype(out.dtype)
    return out


def save_ora(doc: Document, path: str | os.PathLike[str], *, compress_level: int = 1,
             thumbnail: bool = True, workers: int | None = None, mark_saved: bool = True,
             saved_state: str | None = None) -> None:
    """Write ``doc`` as an OpenRaster project, atomically.

    compress_level: PNG zlib level (0..9; default 1: ~2.5x faster than 3-6 on photos, ~5% larger).
    ``workers``: threads that
    encode PNGs in parallel (default: up to 4). ``mark_saved``: set ``doc.path`` to ``path`` and clear
    ``doc.modified`` (False for autosave copies). ``saved_state``: an opaque stamp of the document
    state written (``core.autosave.state_stamp``), read back by :func:`read_saved_state` so that
    recovery can tell an autosave the user's save already contains. Raises FileSaveError (old
    file kept).
    """
    from ..compositing import composite
    from ..layers import LabelLayer, RasterLayer

    path = Path(path)
    sixteen = document_bit_depth(doc) == 16
    jobs: dict[str, Any] = {}          # arcname -> array (PNG) or bytes
    root = ET.Element("image", {"version": "0.0.5", "w": str(doc.width), "h": str(doc.height)})
    dpi = doc.metadata.get("dpi")
    xres, yres = (dpi if isinstance(dpi, (list, tuple)) and len(dpi) == 2 else (72, 72))
    root.set("xres", str(int(round(float(xres)))))
    root.set("yres", str(int(round(float(yres)))))
    stack = ET.SubElement(root, "stack")
    active = doc.active_layer

    index_of = {id(la): i for i, la in enumerate(doc.layers)}
    active_node = getattr(doc, "active_node", active)
    root_node = getattr(doc, "root", None)
    if root_node is not None:
        doc.sync_tree()

    def write_group(parent_el: ET.Element, group: Layer) -> None:
        el = ET.SubElement(parent_el, "stack")
        el.attrib.update({
            "name": group.name, "opacity": repr(float(group.opacity)),
            "visibility": "visible" if group.visible else "hidden",
            "composite-op": _BLEND_TO_ORA.get(group.blend_mode.value, "svg:src-over"),
            "isolation": "auto" if group.pass_through else "isolate",  # type: ignore[attr-defined]
            "edit-locked": _b(group.locked), "selected": _b(group is active_node),
        })
        if group.provenance:
            el.set(_G + "provenance", json.dumps(group.provenance, default=str))
        write_nodes(el, group.children)  # type: ignore[attr-defined]

    def write_nodes(parent_el: ET.Element, nodes: list[Layer]) -> None:
        for node in reversed(nodes):              # ORA lists the top layer first
            if node.is_group:
                write_group(parent_el, node)
            else:
                write_layer(parent_el, node, index_of[id(node)])

    def write_layer(parent_el: ET.Element, layer: Layer, index: int) -> None:
        base = f"data/layer{index:03d}"
        el = ET.SubElement(parent_el, "layer")
        x, y = layer.offset
        el.attrib.update({
            "name": layer.name, "src": base + ".png", "x": str(x), "y": str(y),
            "opacity": repr(float(layer.opacity)),
            "visibility": "visible" if layer.visible else "hidden",
            "composite-op": _BLEND_TO_ORA.get(layer.blend_mode.value, "svg:src-over"),
            "edit-locked": _b(layer.locked), "selected": _b(layer is active),
        })
        shown = layer.rgba()
        mask = layer.mask
        if mask is not None:
            jobs[base + "-mask.png"] = mask
            el.set(_G + "mask", base + "-mask.png")
            el.set(_G + "mask-enabled", _b(layer.mask_enabled))
            if layer.mask_enabled:
                shown = _masked(shown, mask)
        if isinstance(layer, LabelLayer):
            el.set(_G + "kind", "label")
            jobs[base + "-labels.png"] = layer.labels
            el.set(_G + "labels", base + "-labels.png")
            palette = {
                "palette_name": layer.palette_name, "transparent_id": layer.transparent_id,
                "classes": [{"id": c.id, "name": c.name, "color": list(c.color)} for c in layer.palette],
            }
            jobs[base + "-palette.json"] = json.dumps(palette, indent=1).encode()
            el.set(_G + "palette", base + "-palette.json")
        elif isinstance(layer, RasterLayer):
            if shown is not layer.pixels:
                jobs[base + "-pixels.png"] = layer.pixels
                el.set(_G + "pixels", base + "-pixels.png")
        else:
            raise ImageFileError(f"Cannot save layer “{layer.name}” of kind {layer.kind!r} to ORA.", path)
        jobs[base + ".png"] = shown
        if layer.provenance:
            el.set(_G + "provenance", json.dumps(layer.provenance, default=str))


    write_nodes(stack, root_node.children if root_node is not None else doc.layers)

    merged = composite(doc, dtype=np.uint16 if sixteen else np.uint8)
    jobs["mergedimage.png"] = (merged, doc.icc_profile)
    if thumbnail:
        h, w = merged.shape[:2]
        scale = min(1.0, THUMBNAIL_SIZE / max(w, h))
        small = to_8bit(merged)
        if scale < 1.0:
            small = cv2.resize(small, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=cv2.INTER_AREA)
        jobs["Thumbnails/thumbnail.png"] = small

    extras = {}
    if doc.selection is not None:
        jobs["ganstudio/selection.png"] = doc.selection
        extras["selection"] = "ganstudio/selection.png"
    ai_mask = getattr(doc, "ai_mask", None)
    if ai_mask is not None:
        jobs["ganstudio/ai-mask.png"] = np.asarray(ai_mask)
        extras["ai-mask"] = "ganstudio/ai-mask.png"
    if doc.icc_profile:
        jobs["ganstudio/profile.icc"] = bytes(doc.icc_profile)
        extras["icc"] = "ganstudio/profile.icc"
    if doc.exif:
        jobs["ganstudio/exif.bin"] = bytes(doc.exif)
        extras["exif"] = "ganstudio/exif.bin"
    document_json = {
        "format": "ganstudio-ora", "version": 1, "name": doc.name,
        "source_format": doc.source_format, "metadata": _json_safe(doc.metadata),
    }
    jobs["ganstudio/document.json"] = json.dumps(document_json, indent=1).encode()
    extras["document"] = "ganstudio/document.json"
    for key, value in extras.items():
        root.set(_G + key, value)
    if saved_state is not None:
        root.set(_G + "saved-state", str(saved_state))

    ET.indent(root)
    stack_xml = ET.tostring(root, encoding="UTF-8", xml_declaration=True)

    def encode(item: tuple[str, Any]) -> tuple[str, bytes]:
        name, value = item
        if isinstance(value, bytes):
            return name, value
        icc = None
        if isinstance(value, tuple):
            value, icc = value
        return name, encode_png(value, level=compress_level, icc=icc, buffer=True)  # no GIL-held copy

    n_workers = workers or min(4, os.cpu_count() or 1)
    if n_workers > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(n_workers) as pool:
            encoded = dict(pool.map(encode, jobs.items()))
    else:
        encoded = dict(map(encode, jobs.items()))

    try:
        with atomic_write(path) as f:
            with zipfile.ZipFile(f, "w") as zf:
                zf.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE.encode(), zipfile.ZIP_STORED)
                zf.writestr("stack.xml", stack_xml, zipfile.ZIP_DEFLATED)
                for name in sorted(encoded, key=lambda n: (not n.startswith("data/"), n)):
                    method = zipfile.ZIP_STORED if name.endswith(".png") else zipfile.ZIP_DEFLATED
                    zf.writestr(name, encoded[name], method)
    except OSError as exc:
        raise save_error(path, exc) from exc
    if mark_saved:
        doc.source_format = "ORA"
        doc.set_path(path)
        doc.mark_modified(False)


# ---------------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------------
def _safe_name(name: str, path: Path) -> str:
    """Normalised member name; ProjectFileError for absolute paths, drive letters, '..', backslashes."""
    bad = (not name or name.startswith(("/", "\\")) or "\\" in name or "\x00" in name
           or re.match(r"^[A-Za-z]:", name) is not None)
    norm = posixpath.normpath(name) if not bad else ""
    if bad or norm.startswith("../") or norm == ".." or norm.startswith("/"):
        raise ProjectFileError(
            f"{_show(path)} is unsafe: it refers to “{name}” outside the project "
            "(absolute path or '..'). It was not opened.", path)
    return norm


class _Archive:
    def __init__(self, zf: zipfile.ZipFile, path: Path, allow_huge: bool, max_pixels: int | None):
        self.zf, self.path, self.allow_huge, self.max_pixels = zf, path, allow_huge, max_pixels
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ProjectFileError(f"{_show(path)} has {len(infos)} files inside: too many.", path)
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.total_pixels = 0
        total = 0
        for info in infos:
            name = _safe_name(info.filename, path)
            if info.is_dir():
                continue
            limit = MAX_MEMBER_BYTES if not allow_huge else 8 * MAX_MEMBER_BYTES
            if info.file_size > limit:
                raise ProjectFileError(
                    f"{_show(path)} contains “{info.filename}” that would expand to "
                    f"{info.file_size / 1e9:.1f} GB: refused (possible zip bomb).", path)
            total += info.file_size
            self.members[name] = info
        if total > (MAX_TOTAL_BYTES if not allow_huge else 8 * MAX_TOTAL_BYTES):
            raise ProjectFileError(f"{_show(path)} would expand to {total / 1e9:.1f} GB: refused "
                                   "(possible zip bomb).", path)

    def read(self, name: str, what: str) -> bytes:
        norm = _safe_name(name, self.path)
        info = self.members.get(norm)
        if info is None:
            raise ProjectFileError(f"{_show(self.path)} is incomplete: {what} “{name}” is missing "
                                   "from the archive.", self.path)
        try:
            with self.zf.open(info) as f:
                data = f.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise ProjectFileError(f"{_show(self.path)} is damaged: {what} “{name}” cannot be read "
                                   f"({exc}).", self.path) from exc
        if len(data) > info.file_size:
            raise ProjectFileError(f"{_show(self.path)} is damaged: {what} “{name}” is larger than "
                                   "declared.", self.path)
        return data

    def image(self, name: str, what: str) -> np.ndarray:
        """Decode a member image: PNG with OpenCV (dimensions checked first), others generically."""
        data = self.read(name, what)
        header = png_header(data)
        try:
            if header is not None:
                check_pixel_limit(header[0], header[1], self.path, allow_huge=self.allow_huge,
                                  max_pixels=self.max_pixels)
                self.total_pixels += header[0] * header[1]
                if self.total_pixels > MAX_TOTAL_PIXELS and not self.allow_huge:
                    raise ProjectFileError(
                        f"{_show(self.path)}: its layers add up to more than "
                        f"{MAX_TOTAL_PIXELS / 1e9:.0f} gigapixels, which would not fit in memory "
                        "(possible decompression bomb). If you trust this file, open it with "
                        "allow_huge=True.", self.path)
                arr = decode_png_array(data)
                if arr is not None and arr.shape[:2] == (header[1], header[0]):
                    return arr
            dec = decode_image(data, self.path, allow_huge=self.allow_huge,
                               max_pixels=self.max_pixels)
            return dec.pixels
        except ImageFileError as exc:
            if isinstance(exc, (ImageTooLargeError, ProjectFileError)):
                raise
            raise ProjectFileError(f"{_show(self.path)} is damaged: {what} “{name}” is not a "
                                   f"readable image ({exc}).", self.path) from exc


def _rgba(arr: np.ndarray) -> np.ndarray:
    from .decode import _to_rgba

    return _to_rgba(arr)[0]


def _gray(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 3:
        arr = arr[:, :, 0]
    return np.ascontiguousarray(arr)


def _attr_float(el: ET.Element, name: str, default: float) -> float:
    try:
        value = float(el.get(name, default))
    except ValueError:
        return default
    return value if math.isfinite(value) else default


def _attr_int(el: ET.Element, name: str, default: int = 0) -> int:
    try:
        return int(round(float(el.get(name, default))))
    except (ValueError, OverflowError):
        return default


def _walk(stack: ET.Element, notes: list[str], inherited: dict) -> list[tuple[str, ET.Element, Any]]:
    """The items of a <stack>, top first: ("layer", element, inherited offsets) or ("group",
    element, its items). ORA stack offsets (x, y) move everything inside; our groups are where
    their layers are, so they are added to the layers' own offsets."""
    items: list[tuple[str, ET.Element, Any]] = []
    for child in stack:
        tag = child.tag.split("}")[-1] if isinstance(child.tag, str) else ""
        if tag == "layer":
            items.append(("layer", child, dict(inherited)))
        elif tag == "stack":
            sub = dict(x=inherited["x"] + _attr_int(child, "x"), y=inherited["y"] + _attr_int(child, "y"))
            items.append(("group", child, _walk(child, notes, sub)))
        elif tag:
            what = f" “{child.get('name')}”" if child.get("name") else ""
            notes.append(f"<{tag}>{what} element skipped (not supported)")
    return items


def _count_layers(items: list[tuple[str, ET.Element, Any]]) -> int:
    return sum(1 if kind == "layer" else _count_layers(payload) for kind, _, payload in items)


def load_ora(path: str | os.PathLike[str], *, allow_huge: bool = False,
             max_pixels: int | None = None) -> Document:
    """Open an OpenRaster project (ours, GIMP's, Krita's, MyPaint's) as an unmodified Document.

    Raises ProjectFileError (not a zip, unsafe paths, missing layer files, broken XML, zip bomb,
    damaged images), ImageTooLargeError (over the pixel limit; override with ``allow_huge=True``).
    """
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError as exc:
        raise ImageFileError(f"{_show(path)} does not exist (looked in {path.parent}).", path) from exc
    except PermissionError as exc:
        raise ImageFileError(f"{_show(path)} cannot be read: permission denied.", path) from exc
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ProjectFileError(f"{_show(path)} is not an OpenRaster project: it is not a valid zip "
                               f"archive ({exc}).", path) from exc
    with zf:
        return _load(_Archive(zf, path, allow_huge, max_pixels))


def _load(ar: _Archive) -> Document:
    from ..document import Document
    from ..layers import BlendMode, GroupLayer, LabelClass, LabelLayer, RasterLayer

    path = ar.path
    if "mimetype" in ar.members:
        mime = ar.read("mimetype", "file").strip()
        if mime != MIMETYPE.encode():
            raise ProjectFileError(f"{_show(path)} is not an OpenRaster project (mimetype "
                                   f"“{mime[:60].decode('latin-1')}”).", path)
    if "stack.xml" not in ar.members:
        raise ProjectFileError(f"{_show(path)} is not an OpenRaster project: stack.xml is missing.", path)
    if ar.members["stack.xml"].file_size > MAX_XML_BYTES:
        raise ProjectFileError(f"{_show(path)}: stack.xml is too large.", path)
    xml = ar.read("stack.xml", "file")
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        raise ProjectFileError(f"{_show(path)}: stack.xml declares a DOCTYPE/entities: refused.", path)
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ProjectFileError(f"{_show(path)} is damaged: stack.xml is not valid XML ({exc}).",
                               path) from exc
    if root.tag != "image":
        raise ProjectFileError(f"{_show(path)}: stack.xml has no <image> root element.", path)
    try:
        width, height = int(root.get("w", "")), int(root.get("h", ""))
    except ValueError as exc:
        raise ProjectFileError(f"{_show(path)}: stack.xml has no valid image size (w, h).", path) from exc
    check_pixel_limit(width, height, path, allow_huge=ar.allow_huge, max_pixels=ar.max_pixels)
    top = root.find("stack")
    if top is None:
        raise ProjectFileError(f"{_show(path)}: stack.xml has no <stack>.", path)

    notes: list[str] = []
    items = _walk(top, notes, dict(x=0, y=0))
    total = _count_layers(items)
    counter = [0]
    active: Layer | None = None

    def make_layer(el: ET.Element, inh: dict) -> Layer:
        number = counter[0]
        counter[0] += 1
        name = el.get("name") or f"Layer {total - number}"
        src = el.get("src")
        if not src:
            raise ProjectFileError(f"{_show(path)}: layer “{name}” has no src attribute.", path)
        op = el.get("composite-op", "svg:src-over")
        blend = _ORA_TO_BLEND.get(op)
        if blend is None:
            notes.append(f"layer “{name}”: blend mode {op} not supported, Normal used")
            blend = "normal"
        attrs: dict[str, Any] = dict(
            visible=el.get("visibility", "visible") != "hidden",
            opacity=min(1.0, max(0.0, _attr_float(el, "opacity", 1.0))),
            blend_mode=BlendMode(blend),
            locked=el.get("edit-locked", "false").lower() == "true",
            offset=(inh["x"] + _attr_int(el, "x"), inh["y"] + _attr_int(el, "y")),
        )
        prov = el.get(_G + "provenance")
        if prov:
            try:
                attrs["provenance"] = json.loads(prov)
            except ValueError:
                notes.append(f"layer “{name}”: unreadable provenance skipped")
        shown = ar.image(src, f"the image of layer “{name}”")
        if el.get(_G + "kind") == "label" and el.get(_G + "labels"):
            labels = _gray(ar.image(el.get(_G + "labels"), f"the labels of layer “{name}”"))
            try:
                pal = json.loads(ar.read(el.get(_G + "palette", ""), f"the palette of layer “{name}”"))
                palette = [LabelClass(int(c["id"]), str(c["name"]), tuple(int(v) for v in c["color"]))
                           for c in pal["classes"]]
            except (ValueError, KeyError, TypeError) as exc:
                raise ProjectFileError(f"{_show(path)} is damaged: the palette of layer “{name}” is "
                                       f"invalid ({exc}).", path) from exc
            layer: Layer = LabelLayer(name, labels, palette, palette_name=str(pal.get("palette_name", "")),
                                      transparent_id=pal.get("transparent_id", 0), **attrs)
        else:
            pixels = _rgba(shown)
            if el.get(_G + "pixels"):
                pixels = _rgba(ar.image(el.get(_G + "pixels"), f"the pixels of layer “{name}”"))
            layer = RasterLayer(name, pixels, **attrs)
        if el.get(_G + "mask"):
            mask = _gray(ar.image(el.get(_G + "mask"), f"the mask of layer “{name}”"))
            if mask.dtype != np.uint8:
                mask = to_8bit(mask)
            if mask.shape != (layer.height, layer.width):
                raise ProjectFileError(f"{_show(path)} is damaged: the mask of layer “{name}” does not "
                                       "match the layer size.", path)
            layer.set_mask(mask)
            layer.set_mask_enabled(el.get(_G + "mask-enabled", "true") == "true")
        return layer

    def make_group(el: ET.Element, children: list[Layer]) -> Layer:
        name = el.get("name") or "Group"
        op = el.get("composite-op", "svg:src-over")
        # "isolate" = isolated; "auto" (the default) = pass-through, as Krita writes and reads it
        pass_through = el.get("isolation", "auto").strip().lower() != "isolate"
        if op in _PASS_THROUGH_OPS:
            blend, pass_through = "normal", True
        else:
            blend = _ORA_TO_BLEND.get(op)
            if blend is None:
                notes.append(f"group “{name}”: blend mode {op} not supported, Normal used")
                blend = "normal"
        group = GroupLayer(name, children, pass_through=pass_through,
                           visible=el.get("visibility", "visible") != "hidden",
                           opacity=min(1.0, max(0.0, _attr_float(el, "opacity", 1.0))),
                           blend_mode=BlendMode(blend),
                           locked=el.get("edit-locked", "false").lower() == "true")
        prov = el.get(_G + "provenance")
        if prov:
            try:
                group.provenance = json.loads(prov)
            except ValueError:
                notes.append(f"group “{name}”: unreadable provenance skipped")
        return group

    def build(entries: list[tuple[str, ET.Element, Any]]) -> list[Layer]:
        nonlocal active
        nodes: list[Layer] = []
        for kind, el, payload in entries:            # top first
            node = make_layer(el, payload) if kind == "layer" else make_group(el, build(payload))
            if el.get("selected", "false").lower() == "true" and active is None:
                active = node
            nodes.append(node)
        return list(reversed(nodes))                 # bottom first

    top_nodes = build(items)

    doc = Document(width, height, name=path.name)
    for node in top_nodes:   # bottom first
        doc.add_layer(node, parent=None, position=len(doc.root.children), activate=False)
    doc.active_node = active if active is not None else (doc.layers[-1] if doc.layers else None)
    xres, yres = _attr_float(root, "xres", 0), _attr_float(root, "yres", 0)

    document_json: dict[str, Any] = {}
    if root.get(_G + "document"):
        try:
            document_json = json.loads(ar.read(root.get(_G + "document"), "file"))
        except ValueError:
            notes.append("ganstudio/document.json unreadable: document metadata skipped")
    if isinstance(document_json.get("metadata"), dict):
        doc.metadata.update(document_json["metadata"])
    if isinstance(doc.metadata.get("dpi"), list):
        doc.metadata["dpi"] = tuple(doc.metadata["dpi"])
    elif "dpi" not in doc.metadata and xres > 0 and yres > 0 and (xres, yres) != (72, 72):
        doc.metadata["dpi"] = (xres, yres)
    if root.get(_G + "icc"):
        doc.icc_profile = ar.read(root.get(_G + "icc"), "the ICC profile")
    if root.get(_G + "exif"):
        doc.exif = ar.read(root.get(_G + "exif"), "the EXIF data")
    if root.get(_G + "selection"):
        sel = _gray(ar.image(root.get(_G + "selection"), "the selection"))
        if sel.shape == (height, width):
            doc.selection = sel.astype(np.uint8, copy=False)
        else:
            notes.append("selection does not match the canvas size: dropped")
    if root.get(_G + "ai-mask"):
        ai = _gray(ar.image(root.get(_G + "ai-mask"), "the AI mask"))
        doc.ai_mask = ai  # type: ignore[attr-defined]
    if notes:
        doc.metadata["import_notes"] = list(doc.metadata.get("import_notes", [])) + notes
    doc.source_format = "ORA"
    doc.set_path(path)
    doc.history.clear()
    doc.mark_modified(False)
    return doc


def read_saved_state(path: str | os.PathLike[str]) -> str | None:
    """The ``saved_state`` stamp of a project written by :func:`save_ora` (None: not ours, no
    stamp, or the file is missing or unreadable; never raises for a bad file). Reads stack.xml
    only."""
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("stack.xml")
            if info.file_size > MAX_XML_BYTES:
                return None
            with zf.open(info) as f:
                root = ET.fromstring(f.read(MAX_XML_BYTES + 1))
    except (OSError, KeyError, zipfile.BadZipFile, EOFError, ValueError, ET.ParseError,
            NotImplementedError):
        return None
    value = root.get(_G + "saved-state")
    return value if value else None


def read_merged_image(path: str | os.PathLike[str], *, allow_huge: bool = False) -> np.ndarray:
    """mergedimage.png of a project as HxWx4 RGBA (for quick previews / convert without layers)."""
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ProjectFileError(f"{_show(path)} is not an OpenRaster project ({exc}).", path) from exc
    with zf:
        return _rgba(_Archive(zf, path, allow_huge, None).image("mergedimage.png", "the merged image"))


def is_ora(path: str | os.PathLike[str]) -> bool:
    """True when the file is a zip whose first member is the OpenRaster mimetype (or ends in .ora)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return Path(path).suffix.lower() == ".ora"
    return head.startswith(b"PK\x03\x04") and (b"mimetypeimage/openraster" in head
                                               or Path(path).suffix.lower() == ".ora")


__all__ = ["save_ora", "load_ora", "read_merged_image", "read_saved_state", "is_ora", "NS", "MIMETYPE"]
