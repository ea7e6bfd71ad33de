"""Where the bundled data lives (resources/, models/) and the per-user folders.

The ONE place that locates data files. Every other module reaches resources/ and models/ through
the names below, never through a path built from ``__file__`` or the working directory
(tests/packaging/test_data_paths.py enforces it). Three layouts are supported:

* ``wheel``: an installed wheel or sdist. The build (packaging/build_backend/ganstudio_build.py)
  copies the repository's top-level ``resources/`` and ``models/`` into the package as
  ``ganstudio/_data/resources`` and ``ganstudio/_data/models``; found with importlib.resources.
* ``bundle``: the PyInstaller one-folder app (packaging/ganstudio.spec) puts them at the same
  place inside the bundle, ``<bundle>/_internal/ganstudio/_data/...`` (``sys._MEIPASS``).
* ``checkout``: a source checkout or an editable install: ``<repo>/resources`` and ``<repo>/models``.

Bundled data is read-only; write only under :func:`user_cache_dir` / :func:`user_data_dir`.
"""

from __future__ import annotations

import os
import sys
from importlib import resources as _ilr
from pathlib import Path

from platformdirs import PlatformDirs

APP = "GANStudio"
DATA_PACKAGE_DIR = "_data"  # ganstudio/_data in a wheel or bundle


def _as_dir(p: object) -> Path | None:
    # importlib.resources gives a real Path for a package installed on disk (pip always extracts
    # wheels; PyInstaller extracts data files next to the executable). A zip import is unsupported.
    if isinstance(p, Path) and p.is_dir():
        return p
    return None


def _locate() -> tuple[str, Path, Path]:
    """(layout, resources dir, models dir)."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        d = Path(frozen) / "ganstudio" / DATA_PACKAGE_DIR
        if d.is_dir():
            return "bundle", d / "resources", d / "models"
    try:
        d = _as_dir(_ilr.files("ganstudio").joinpath(DATA_PACKAGE_DIR))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - ganstudio is always importable here
        d = None
    if d is not None:
        return "wheel", d / "resources", d / "models"
    repo = Path(__file__).resolve().parent.parent
    return "checkout", repo / "resources", repo / "models"


LAYOUT, RESOURCES, MODELS_DIR = _locate()
#: Folder holding resources/ and models/ (the repository root in a checkout).
ROOT = RESOURCES.parent
SAMPLES = RESOURCES / "samples"
SAMPLE_PHOTO = SAMPLES / "astronaut.png"
ICONS = RESOURCES / "icons"
PALETTES = RESOURCES / "palettes"
CATALOG_DIR = MODELS_DIR / "catalog"
BUILTIN_MODELS = MODELS_DIR / "builtin"


#: The ganstudio package folder itself (what identifies an installation, e.g. for the warm worker).
PACKAGE_DIR = Path(__file__).resolve().parent


def install_dirs() -> list[Path]:
    """The application's own folders (never a place for user files): the data root, the folder
    holding the ganstudio package (site-packages or the checkout), the Python prefix and, in the
    bundle, the bundle's _internal folder."""
    out = [ROOT, PACKAGE_DIR.parent, Path(sys.prefix)]
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        out.append(Path(frozen))
    return [p.resolve() for p in out]


def resource(*parts: str) -> Path:
    """A file or folder under resources/, e.g. ``resource("palettes", "warm.json")``."""
    return RESOURCES.joinpath(*parts)


def model_file(*parts: str) -> Path:
    """A file or folder under models/, e.g. ``model_file("builtin", "inpaint_compact.safetensors")``."""
    return MODELS_DIR.joinpath(*parts)


def data_check() -> dict[str, object]:
    """What ``ganstudio info`` and the packaging smoke tests report about the bundled data."""
    return {
        "layout": LAYOUT,
        "resources": str(RESOURCES),
        "models": str(MODELS_DIR),
        "catalog_files": len(list(CATALOG_DIR.glob("*.toml"))) if CATALOG_DIR.is_dir() else 0,
        "builtin_weights": len(list(BUILTIN_MODELS.glob("*.safetensors"))) if BUILTIN_MODELS.is_dir() else 0,
        "sample_photo": SAMPLE_PHOTO.is_file(),
    }


_dirs = PlatformDirs(APP, appauthor=False)


def user_cache_dir() -> Path:
    """Model cache; GANSTUDIO_CACHE overrides (tests use a temporary folder). Never in the bundle."""
    return Path(os.environ.get("GANSTUDIO_CACHE") or _dirs.user_cache_dir)


def user_data_dir() -> Path:
    return Path(os.environ.get("GANSTUDIO_DATA") or _dirs.user_data_dir)


def recovery_dir() -> Path:
    return user_data_dir() / "recovery"
